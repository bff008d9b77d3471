"""Lazy exports for a package's ``__init__`` (PEP 562); imports no numpy."""

from __future__ import annotations

import importlib


def lazy_exports(namespace, where, *, submodules=()):
    """Make a package import its public names on first use (PEP 562).

    Every ``sertl`` command loads the entry point of every installed plugin,
    ``sertl --help`` too, so a plugin package whose ``__init__`` imports its
    estimators (and with them numpy, scipy and scikit-learn: about a second)
    slows every command down. Listing the names instead, and importing each
    module when one of its names is first asked for, keeps
    ``from package import Name`` and ``package.Name`` working.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``. A name is stored there once imported,
        so later look-ups do not come back here.
    where : dict of str to str
        Public name -> module that defines it, relative to the package
        (``"._tca"``) or absolute (``"sertl_core"``).
    submodules : sequence of str, default=()
        Submodules that stay reachable as attributes of the package after a
        plain ``import package`` (as when ``__init__`` imported them).

    Returns
    -------
    getattr_ : callable
        The module's ``__getattr__``.
    dir_ : callable
        The module's ``__dir__``: the names set so far and ``__all__``.

    Examples
    --------
    In a plugin's ``__init__.py``:

    >>> from sertl_core import lazy_exports
    >>> namespace = {"__name__": "json", "__all__": ["dumps"]}
    >>> getattr_, dir_ = lazy_exports(namespace, {"dumps": "json"})
    >>> getattr_("dumps").__name__, "dumps" in namespace
    ('dumps', True)
    >>> getattr_("loads")
    Traceback (most recent call last):
    ...
    AttributeError: module 'json' has no attribute 'loads'

    where a package writes
    ``__getattr__, __dir__ = lazy_exports(globals(), _WHERE)``.
    """
    package = namespace["__name__"]

    def getattr_(name):
        if name in where:
            module = importlib.import_module(where[name], package)
            value = getattr(module, name)
            namespace[name] = value
            return value
        if name in submodules:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_():
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return getattr_, dir_
