"""Declarative parameter validation for sertl estimators and functions.

scikit-learn validates estimator parameters against a class attribute
``_parameter_constraints``, but the constraint classes live in its private
module ``sklearn.utils._param_validation``, which may change in any release.
sertl depends on public scikit-learn APIs only, so this module gives the same
declarative style as a public, stable part of ``sertl-core``, for the
built-in methods and for third-party plugins:

- :class:`Interval` and :class:`StrOptions` describe numeric ranges and
  string options; the strings ``"array-like"``, ``"sparse matrix"``,
  ``"boolean"``, ``"random_state"``, ``"verbose"`` and ``"nan"``, the builtin
  ``callable``, ``None`` and any class (checked with ``isinstance``) are
  constraints too. A parameter whose constraint is ``"no_validation"`` is not
  checked.
- :class:`ParamValidationMixin` gives an estimator ``_validate_params()``,
  which checks ``get_params(deep=False)`` against ``_parameter_constraints``
  (``DomainAdapter`` and ``TransferEstimator`` already include it); call it
  at the start of ``fit``.
- :func:`validate_params` checks the arguments of a public function.

A value that satisfies none of its constraints raises
:class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``) with
scikit-learn's wording: ``The 'reg' parameter of CORAL must be a float in the
range [0.0, inf) or a str among {'auto'}. Got -1 instead.``

Examples
--------
>>> from numbers import Real
>>> from sklearn.base import BaseEstimator
>>> from sertl_core.params import Interval, ParamValidationMixin, StrOptions
>>> class Shrink(ParamValidationMixin, BaseEstimator):
...     _parameter_constraints = {
...         "reg": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
...     }
...     def __init__(self, reg="auto"):
...         self.reg = reg
...     def fit(self, X, y=None):
...         self._validate_params()
...         return self
>>> Shrink(reg=0.5).fit([[0.0]]).reg
0.5
>>> Shrink(reg=-1).fit([[0.0]])
Traceback (most recent call last):
...
sertl_core.params.InvalidParameterError: The 'reg' parameter of Shrink must be \
a float in the range [0.0, inf) or a str among {'auto'}. Got -1 instead.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from numbers import Integral, Real

import numpy as np
from scipy import sparse

__all__ = [
    "InvalidParameterError",
    "Interval",
    "ParamValidationMixin",
    "RealNotInt",
    "StrOptions",
    "check_params",
    "validate_params",
]

_NO_VALIDATION = "no_validation"


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value that none of its constraints allows.

    It is both a ``ValueError`` and a ``TypeError``, as scikit-learn's own
    parameter error, so ``except ValueError`` catches a wrong range and a
    wrong type alike.

    Examples
    --------
    >>> from sertl_core.params import InvalidParameterError, check_params
    >>> try:
    ...     check_params({"cv": "five"}, {"cv": [int]}, "KLIEP")
    ... except ValueError as exc:
    ...     print(exc)
    The 'cv' parameter of KLIEP must be an instance of 'int'. Got 'five' instead.
    """


class RealNotInt(Real):
    """Abstract type of real numbers that are not integers (``float``, ``np.floating``).

    Use it as the type of an :class:`Interval` that must refuse ``1`` but
    accept ``1.0``, e.g. a fraction whose integer values mean a count.

    Examples
    --------
    >>> from sertl_core.params import RealNotInt
    >>> isinstance(0.5, RealNotInt), isinstance(1, RealNotInt)
    (True, False)
    """


RealNotInt.register(float)
RealNotInt.register(np.floating)


_TYPE_NAMES = {Integral: "an int", Real: "a float", RealNotInt: "a float"}


class Interval:
    """A range of numbers of one type.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real, RealNotInt}
        The type the value must have. ``Real`` accepts ints and floats
        (and their numpy scalars); ``RealNotInt`` only floats.
    left, right : float, int or None
        The bounds; ``None`` means unbounded on that side.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the range.

    Notes
    -----
    Two differences from scikit-learn's private ``Interval``: a ``bool`` is
    never in a range (``True`` is no count of folds), and an unbounded side
    never holds infinity, whatever ``closed`` says:
    ``Interval(Real, 0, None, closed="both")`` refuses ``inf`` and reads
    ``[0.0, inf)``. Give ``math.inf`` as the bound to accept it.

    Examples
    --------
    >>> from numbers import Integral
    >>> from sertl_core.params import Interval
    >>> folds = Interval(Integral, 2, None, closed="left")
    >>> folds.is_satisfied_by(5), folds.is_satisfied_by(1), folds.is_satisfied_by(5.0)
    (True, False, False)
    >>> str(folds)
    'an int in the range [2, inf)'
    """

    def __init__(self, type, left, right, *, closed):
        if type not in _TYPE_NAMES:
            raise ValueError(
                f"Interval type must be numbers.Integral, numbers.Real or "
                f"RealNotInt, got {type!r}."
            )
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(
                "Interval closed must be one of 'left', 'right', 'both', "
                f"'neither', got {closed!r}."
            )
        for side, bound in (("left", left), ("right", right)):
            if bound is None:
                continue
            ok = (
                isinstance(bound, Integral)
                if type is Integral
                else isinstance(bound, Real)
            )
            # bound != bound: NaN of any float type (np.float32 is no float)
            if not ok or bound != bound:
                raise TypeError(
                    f"Interval {side} bound must be {_TYPE_NAMES[type]} or None, "
                    f"got {bound!r}."
                )
        if left is not None and right is not None and right < left:
            raise ValueError(f"Interval right bound {right} is below left {left}.")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def __contains__(self, value):
        # an unbounded side is open at infinity: inf is not "in [0, inf)"
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        left_closed = self.left is not None and self.closed in ("left", "both")
        right_closed = self.right is not None and self.closed in ("right", "both")
        above_left = value >= left if left_closed else value > left
        below_right = value <= right if right_closed else value < right
        return bool(above_left and below_right)

    def is_satisfied_by(self, value):
        """Return whether ``value`` has the type and lies in the range (bools never).

        Parameters
        ----------
        value : object
            The value to check.

        Returns
        -------
        satisfied : bool
            True when ``value`` is an instance of the interval's type (a bool
            never is) and lies in the interval.
        """
        if not isinstance(value, self.type) or isinstance(value, bool | np.bool_):
            return False
        return value in self

    def __str__(self):
        def fmt(bound, inf):
            if bound is None:
                return inf
            return f"{float(bound)}" if self.type is not Integral else f"{bound}"

        lb = "[" if self.closed in ("left", "both") else "("
        rb = "]" if self.closed in ("right", "both") else ")"
        lo, hi = fmt(self.left, "-inf"), fmt(self.right, "inf")
        if self.left is None:
            lb = "("
        if self.right is None:
            rb = ")"
        return f"{_TYPE_NAMES[self.type]} in the range {lb}{lo}, {hi}{rb}"

    def __repr__(self):
        return (
            f"Interval({self.type.__name__}, {self.left!r}, {self.right!r}, "
            f"closed={self.closed!r})"
        )


class StrOptions:
    """A string among fixed options.

    Parameters
    ----------
    options : set of str
        The allowed strings.

    Examples
    --------
    >>> from sertl_core.params import StrOptions
    >>> kernel = StrOptions({"linear", "rbf"})
    >>> kernel.is_satisfied_by("rbf"), kernel.is_satisfied_by("poly")
    (True, False)
    >>> str(kernel)
    "a str among {'linear', 'rbf'}"
    """

    def __init__(self, options):
        options = set(options)
        if not options or not all(isinstance(o, str) for o in options):
            raise ValueError(
                f"StrOptions needs a non-empty set of strings, got {options!r}."
            )
        self.options = options

    def is_satisfied_by(self, value):
        """Return whether ``value`` is one of the options.

        Parameters
        ----------
        value : object
            The value to check.

        Returns
        -------
        satisfied : bool
            True when ``value`` is a string among the options.
        """
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"

    def __repr__(self):
        return f"StrOptions({sorted(self.options)!r})"


def _is_array_like(value):
    if isinstance(value, str | bytes):
        return False
    return any(hasattr(value, a) for a in ("__len__", "shape", "__array__"))


def _type_name(t):
    """Name a type as scikit-learn's messages do ('float', 'numpy.bool')."""
    if t is Real:
        return "float"
    if t is Integral:
        return "int"
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


# the seeds numpy.random.RandomState accepts, as scikit-learn's "random_state"
_SEEDS = Interval(Integral, 0, 2**32 - 1, closed="both")
_NON_NEGATIVE_INTS = Interval(Integral, 0, None, closed="left")
_BOOLS = (
    f"an instance of {_type_name(bool)!r} or an instance of {_type_name(np.bool_)!r}"
)


def _is_random_state(value):
    return (
        value is None
        or _SEEDS.is_satisfied_by(value)
        or isinstance(value, np.random.RandomState)
    )


_NAMED = {
    "array-like": (_is_array_like, "an array-like"),
    "sparse matrix": (sparse.issparse, "a sparse array or matrix"),
    "boolean": (lambda v: isinstance(v, bool | np.bool_), _BOOLS),
    "random_state": (
        _is_random_state,
        f"{_SEEDS}, an instance of {_type_name(np.random.RandomState)!r} or None",
    ),
    "verbose": (
        lambda v: (
            isinstance(v, bool | np.bool_) or _NON_NEGATIVE_INTS.is_satisfied_by(v)
        ),
        f"{_NON_NEGATIVE_INTS}, {_BOOLS}",
    ),
    "nan": (
        lambda v: isinstance(v, Real) and not isinstance(v, Integral) and v != v,
        "numpy.nan",
    ),
}


def _satisfied(constraint, value):
    if constraint is None:
        return value is None
    if isinstance(constraint, Interval | StrOptions):
        return constraint.is_satisfied_by(value)
    if isinstance(constraint, str):
        return _NAMED[constraint][0](value)
    if constraint is callable:
        return callable(value)
    return isinstance(value, constraint)


def _describe(constraint):
    if constraint is None:
        return "None"
    if isinstance(constraint, Interval | StrOptions):
        return str(constraint)
    if isinstance(constraint, str):
        return _NAMED[constraint][1]
    if constraint is callable:
        return "a callable"
    return f"an instance of {_type_name(constraint)!r}"


def _check_constraint(constraint, where):
    if constraint is None or isinstance(constraint, Interval | StrOptions):
        return
    if constraint is callable or isinstance(constraint, type):
        return
    if isinstance(constraint, str) and constraint in _NAMED:
        return
    raise ValueError(
        f"Unknown constraint {constraint!r} for {where}. Use Interval, "
        f"StrOptions, None, callable, a class, or one of {sorted(_NAMED)}."
    )


def _invalid_value(constraints):
    """Return a value that satisfies none of ``constraints``, or None.

    Made from the :class:`Interval` and :class:`StrOptions` among them (a
    number just outside a bound, the bound itself when it is open, a string
    that is no option), so that a test can check that a parameter is
    validated; a value that another constraint of the list allows is not
    returned.
    """
    if isinstance(constraints, str):  # "no_validation"
        return None
    constraints = list(constraints)
    candidates: list[object] = []
    for c in constraints:
        if isinstance(c, StrOptions):
            candidates.append("_".join(["not", *sorted(c.options)]))
        elif isinstance(c, Interval):
            cast = int if c.type is Integral else float
            for bound, step, closed in (
                (c.left, -1, ("left", "both")),
                (c.right, 1, ("right", "both")),
            ):
                if bound is not None and math.isfinite(bound):
                    candidates.append(cast(bound) + step)
                    if c.closed not in closed:
                        candidates.append(cast(bound))
    return next(
        (v for v in candidates if not any(_satisfied(c, v) for c in constraints)),
        None,
    )


def _check_constraint_keys(params, constraints, caller, where, *, shown=None):
    """Refuse a constraint for a name that is not a parameter.

    A misspelt key (``"strenght"``) would switch the validation of the
    parameter it meant off without a word. ``shown`` (``params`` when None)
    are the parameters the message lists.
    """
    unknown = [name for name in constraints if name not in params]
    if not unknown:
        return
    shown = [str(p) for p in (params if shown is None else shown)]
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, shown, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    are = "is not a parameter" if len(unknown) == 1 else "are not parameters"
    raise ValueError(
        f"{where} names {', '.join(hints)}, which {are} of "
        f"{caller} (its parameters: {', '.join(shown) or 'none'}), "
        "so nothing is checked for it: spell each key as the __init__ "
        "parameter it constrains, or remove it."
    )


def check_params(
    params: Mapping, constraints: Mapping[str, Iterable | str], caller: str
) -> None:
    """Check parameter values against their constraints.

    Parameters
    ----------
    params : mapping of str to object
        The values, e.g. ``estimator.get_params(deep=False)``. Names without
        a constraint are not checked.
    constraints : mapping of str to list of constraints or "no_validation"
        For each parameter, the constraints of which one must hold.
    caller : str
        The class or function named in the error message.

    Raises
    ------
    InvalidParameterError
        When a value satisfies none of its constraints; the message names
        the parameter, the caller, what is allowed and the value given.
    ValueError
        When ``constraints`` names a parameter that is not in ``params``
        (a misspelt key would check nothing).

    Examples
    --------
    >>> from numbers import Integral
    >>> from sertl_core.params import Interval, check_params
    >>> check_params({"k": 3}, {"k": [Interval(Integral, 1, None, closed="left")]}, "f")
    >>> check_params({"k": 0}, {"k": [Interval(Integral, 1, None, closed="left")]}, "f")
    Traceback (most recent call last):
    ...
    sertl_core.params.InvalidParameterError: The 'k' parameter of f must be an \
int in the range [1, inf). Got 0 instead.
    """
    _check_constraint_keys(params, constraints, caller, f"The constraints of {caller}")
    _check_values(params, constraints, caller)


@functools.cache
def _parents_parameters(cls):
    """Return the ``__init__`` parameters of the base classes of ``cls``.

    A subclass may leave a parent's parameter out of its signature (as
    scikit-learn allows); the parent's constraint for it, inherited with
    ``_parameter_constraints``, then checks nothing, and is no typo.
    Read only when a key names no parameter of the estimator itself.
    """
    names = set()
    for base in cls.__mro__[1:]:
        init = vars(base).get("__init__")
        if base is object or init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # an __init__ written in C
            continue
        names.update(
            p.name
            for p in parameters
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
    return frozenset(names)  # cached per class: not to be changed


def _check_estimator_constraint_keys(estimator):
    """Refuse a key of ``_parameter_constraints`` that names no parameter.

    A parameter of the estimator or of one of its parents' ``__init__``
    (see :func:`_parents_parameters`); used by ``_validate_params`` and by
    the conformance kit (:func:`sertl_core.testing.check_parameter_constraints`).
    """
    cls = type(estimator)
    params = estimator.get_params(deep=False)
    constraints = getattr(estimator, "_parameter_constraints", None) or {}
    if all(k in params for k in constraints):  # every fit: no signature read
        return params
    parents = {k: None for k in constraints if k in _parents_parameters(cls)}
    _check_constraint_keys(
        {**params, **parents},
        constraints,
        cls.__name__,
        f"{cls.__name__}._parameter_constraints",
        shown=params,
    )
    return params


def _check_values(params, constraints, caller):
    """Raise :class:`InvalidParameterError` for a value no constraint allows."""
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None or allowed == _NO_VALIDATION:
            continue
        if isinstance(allowed, str):
            raise ValueError(
                f"The constraints of {name!r} in {caller} must be a list or "
                f"'no_validation', got {allowed!r}."
            )
        allowed = list(allowed)
        for c in allowed:
            _check_constraint(c, f"{name!r} of {caller}")
        if any(_satisfied(c, value) for c in allowed):
            continue
        texts = [_describe(c) for c in allowed]
        text = (
            texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
        )
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must be {text}. Got {value!r} instead."
        )


class ParamValidationMixin:
    """Give an estimator ``_validate_params()`` for its ``_parameter_constraints``.

    ``_validate_params()`` checks ``get_params(deep=False)`` with
    :func:`check_params`; call it at the start of ``fit``.
    :class:`~sertl_core.DomainAdapter` and
    :class:`~sertl_core.TransferEstimator` include this mixin; list it before
    ``BaseEstimator`` in the bases of any other estimator.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from sertl_core.params import ParamValidationMixin, StrOptions
    >>> class Mode(ParamValidationMixin, BaseEstimator):
    ...     _parameter_constraints = {"mode": [StrOptions({"fast", "exact"})]}
    ...     def __init__(self, mode="exact"):
    ...         self.mode = mode
    >>> Mode(mode="fast")._validate_params()
    >>> Mode(mode="slow")._validate_params()
    Traceback (most recent call last):
    ...
    sertl_core.params.InvalidParameterError: The 'mode' parameter of Mode must be \
a str among {'exact', 'fast'}. Got 'slow' instead.
    """

    _parameter_constraints: dict = {}

    def _validate_params(self):
        params = _check_estimator_constraint_keys(self)
        _check_values(params, self._parameter_constraints, type(self).__name__)


def validate_params(constraints: Mapping[str, Iterable]) -> Callable:
    """Decorate a function so that its arguments are checked at each call.

    Parameters
    ----------
    constraints : mapping of str to list of constraints
        Constraints of the function's parameters, by name; parameters not
        named are not checked.

    Returns
    -------
    decorator : callable
        It returns the function wrapped (``functools.wraps``), raising
        :class:`InvalidParameterError` for an argument that satisfies none of
        its constraints.

    Examples
    --------
    >>> from numbers import Real
    >>> from sertl_core.params import Interval, validate_params
    >>> @validate_params({"B": [Interval(Real, 0, None, closed="neither")]})
    ... def bound(B=1000.0):
    ...     return B
    >>> bound(B=2)
    2
    >>> bound(B=0)
    Traceback (most recent call last):
    ...
    sertl_core.params.InvalidParameterError: The 'B' parameter of bound must be \
a float in the range (0.0, inf). Got 0 instead.
    """

    def decorator(func):
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise ValueError(
                f"validate_params got constraints for {sorted(unknown)}, which "
                f"are not parameters of {func.__qualname__}."
            )

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_params(bound.arguments, constraints, func.__qualname__)
            return func(*args, **kwargs)

        return wrapper

    return decorator
