"""Where a warning of sertl-speech points: the user's line."""

from __future__ import annotations

import os
import sys

import sklearn

import sertl_core

# Frames skipped on the way out: this package, sertl's core and
# scikit-learn (its wrappers of transform and fit, Pipeline and the like).
_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__], sertl_core, sklearn)
)


def user_stacklevel():
    """Return the ``stacklevel`` of the first frame outside these libraries.

    For the function that calls ``warnings.warn``: the count starts at its
    own frame. A reader reached through ``load_corpus``, a transformer
    reached through ``fit_transform`` or a ``Pipeline``: the warning names
    the line of the user's code that started the call, whatever the depth.

    Examples
    --------
    >>> import warnings
    >>> from sertl_speech._stack import user_stacklevel
    >>> def library_function():
    ...     warnings.warn("careful", UserWarning, stacklevel=user_stacklevel())
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     library_function()
    >>> caught[0].filename.startswith("<doctest")  # the caller's code
    True
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back
        level += 1
    return level
