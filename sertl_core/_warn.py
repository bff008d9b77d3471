"""sertl's warning base class and the ``stacklevel`` helper of its warnings.

Kept apart from :mod:`sertl_core._domains` (which re-exports them), with no
import of numpy, scipy or scikit-learn: the registry, and so the ``sertl``
command's start-up (``sertl --help``), needs them before any of those.
"""

from __future__ import annotations

import os
import sys

__all__ = ["SertlWarning", "external_stacklevel"]


class SertlWarning(UserWarning):
    """Base class of the warnings sertl emits.

    Every warning of sertl and of its plugins derives from it, so one
    filter silences (or escalates) them all without touching other
    libraries' warnings.

    See Also
    --------
    NoTargetWarning : Fit saw no target rows.

    Examples
    --------
    >>> import warnings
    >>> from sertl_core import NoTargetWarning, SertlWarning
    >>> issubclass(NoTargetWarning, SertlWarning)
    True
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", SertlWarning)  # e.g. in a test suite
    ...     try:
    ...         warnings.warn("demo", NoTargetWarning)
    ...     except SertlWarning as exc:
    ...         print(type(exc).__name__)
    NoTargetWarning
    """


# sertl's own packages: a warning steps past all of them (a plugin's warning
# raised through, e.g., sertl-experiments' TransferVote still names the user's
# line); a third-party plugin names its package in ``packages``.
_FIRST_PARTY = (
    "sertl_core",
    "sertl_speech",
    "sertl_instance",
    "sertl_feature",
    "sertl_neural",
    "sertl_relational",
    "sertl_experiments",
)


def _module_code(module):
    """Return the folders and the files whose frames belong to ``module``.

    A package (a namespace package too, which has no ``__file__``) owns
    every folder of its ``__path__``; a module of a package owns its
    package's folders (its siblings); a top-level one-file module owns its own
    file only, not the folder it shares with, say, the user's script (or
    site-packages).
    """
    name = getattr(module, "__name__", "")
    parent = getattr(module, "__package__", None) or ""
    if not hasattr(module, "__path__") and parent and parent != name:
        module = sys.modules.get(parent, module)
    paths = getattr(module, "__path__", None)
    if paths is not None:
        return tuple(os.path.abspath(p) + os.sep for p in paths), ()
    file = getattr(module, "__file__", None)
    if not file:  # a built-in or an in-memory module: no frames to skip
        return (), ()
    return (), (file, os.path.abspath(file))


def external_stacklevel(*packages):
    """Return the ``stacklevel`` that makes a warning name the user's line.

    For ``warnings.warn(..., stacklevel=external_stacklevel(pkg))`` in a
    plugin: the count starts at the frame of the function that calls
    ``warnings.warn`` and steps past every frame in ``packages``, in
    sertl's own packages (sertl_core, e.g. ``TransferEstimator.fit``, and
    the first-party plugins, e.g. a vote that fits other methods) and in
    scikit-learn (its
    ``fit_transform``, ``set_output`` and parameter-validation wrappers,
    ``Pipeline``, and the joblib cache wrapper through which a ``Pipeline``
    fits its steps). So the warning names the line of the caller's code that
    started the call, whether it came through a function, an estimator's
    ``fit`` or a pipeline, whatever the depth.

    Parameters
    ----------
    *packages : module
        Top-level packages whose frames are skipped as well, usually the
        plugin's own (``sys.modules["my_plugin"]``): every folder of a
        package (a namespace package's too), the package of a submodule,
        and only the file of a plugin that is one top-level module (not
        the folder it shares with other code).

    Returns
    -------
    stacklevel : int
        At least 1 (the calling function itself, when nothing is skipped).

    Examples
    --------
    >>> import warnings
    >>> from sertl_core import SertlWarning, external_stacklevel
    >>> def plugin_function():
    ...     warnings.warn("careful", SertlWarning, stacklevel=external_stacklevel())
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     plugin_function()
    >>> caught[0].filename.startswith("<doctest")  # the caller's code
    True
    """
    import joblib
    import sklearn

    first_party = [sys.modules[n] for n in _FIRST_PARTY if n in sys.modules]
    # joblib: a Pipeline fits its steps through joblib.Memory's cache wrapper
    third_party = (sklearn, joblib)
    owned = [_module_code(m) for m in (*packages, *first_party, *third_party)]
    folders = tuple(f for dirs, _ in owned for f in dirs)
    files = {f for _, fs in owned for f in fs}
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(folders)
        or frame.f_code.co_filename in files
    ):
        frame = frame.f_back
        level += 1
    return level
