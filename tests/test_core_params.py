"""sertl_core.params: public parameter validation, and no private sklearn imports."""

import ast
import re
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator

from sertl_core import DomainAdapter, TransferEstimator
from sertl_core.params import (
    Interval,
    InvalidParameterError,
    ParamValidationMixin,
    RealNotInt,
    StrOptions,
    check_params,
    validate_params,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        (
            Interval(Integral, 1, None, closed="left"),
            [1, 7, np.int64(3)],
            [0, 1.0, "1"],
        ),
        (Interval(Real, 0, 1, closed="neither"), [0.5, np.float32(0.1)], [0, 1, -0.1]),
        (Interval(Real, 0, 1, closed="both"), [0, 1, 0.25], [1.01, float("nan")]),
        (Interval(Real, None, 0, closed="right"), [-1e9, 0], [1e-9, -np.inf]),
        (Interval(Real, 0, None, closed="left"), [0, 1e300], [np.inf]),
        (Interval(RealNotInt, 0, 1, closed="right"), [1.0, 0.5], [1, 0.0]),
    ],
)
def test_interval_membership(interval, inside, outside):
    assert all(interval.is_satisfied_by(v) for v in inside)
    assert not any(interval.is_satisfied_by(v) for v in outside)


def test_interval_describes_itself_as_scikit_learn_does():
    assert str(Interval(Real, 0, None, closed="left")) == (
        "a float in the range [0.0, inf)"
    )
    assert str(Interval(Integral, 2, 5, closed="neither")) == (
        "an int in the range (2, 5)"
    )
    assert str(Interval(Real, None, 1, closed="both")) == (
        "a float in the range (-inf, 1.0]"
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((str, 0, 1), {"closed": "left"}, "Interval type must be"),
        ((Real, 0, 1), {"closed": "open"}, "closed must be one of"),
        ((Integral, 0.5, 1), {"closed": "left"}, "left bound must be an int"),
        ((Real, 2, 1), {"closed": "both"}, "right bound 1 is below left 2"),
    ],
)
def test_interval_refuses_a_malformed_range(args, kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Interval(*args, **kwargs)


def test_str_options():
    opts = StrOptions({"rbf", "linear"})
    assert opts.is_satisfied_by("rbf")
    assert not opts.is_satisfied_by("poly")
    assert not opts.is_satisfied_by(None)
    assert str(opts) == "a str among {'linear', 'rbf'}"
    with pytest.raises(ValueError, match="non-empty set of strings"):
        StrOptions(set())


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ("array-like", [[1, 2], np.zeros(3), (1,)], ["abc", 3, None]),
        ("sparse matrix", [sparse.csr_matrix((2, 2))], [np.zeros((2, 2))]),
        ("boolean", [True, np.bool_(False)], [1, "yes"]),
        ("random_state", [None, 0, np.random.RandomState(0)], [1.5, True, "x"]),
        ("verbose", [0, 2, False], [0.5, "loud"]),
        ("nan", [float("nan"), np.nan], [0.0, 1]),
        (callable, [len, lambda x: x], [3, "f"]),
        (None, [None], [0, ""]),
        (dict, [{}, {"a": 1}], [[], None]),
    ],
)
def test_named_and_type_constraints(constraint, good, bad):
    for value in good:
        check_params({"p": value}, {"p": [constraint]}, "f")
    for value in bad:
        with pytest.raises(InvalidParameterError, match="The 'p' parameter of f"):
            check_params({"p": value}, {"p": [constraint]}, "f")


def test_error_names_every_allowed_form_and_the_value():
    constraints = {
        "reg": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), None]
    }
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "The 'reg' parameter of CORAL must be a float in the range [0.0, inf), "
            "a str among {'auto'} or None. Got -1 instead."
        ),
    ):
        check_params({"reg": -1}, constraints, "CORAL")


def test_error_is_a_value_error_and_a_type_error():
    for kind in (ValueError, TypeError):
        with pytest.raises(kind):
            check_params({"k": "two"}, {"k": [int]}, "f")


def test_unconstrained_and_no_validation_parameters_are_not_checked():
    check_params({"free": object(), "raw": "anything"}, {"raw": "no_validation"}, "f")


def test_unknown_constraint_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown constraint 'int-like'"):
        check_params({"k": 1}, {"k": ["int-like"]}, "f")
    with pytest.raises(ValueError, match="must be a list or 'no_validation'"):
        check_params({"k": 1}, {"k": "boolean"}, "f")


def test_validate_params_decorator_checks_positional_keyword_and_defaults():
    @validate_params({"n": [Interval(Integral, 1, None, closed="left")]})
    def repeat(word, n=2):
        """Repeat."""
        return word * n

    assert repeat("a", 3) == "aaa"
    assert repeat(word="b") == "bb"
    assert repeat.__doc__ == "Repeat."
    with pytest.raises(InvalidParameterError, match="'n' parameter of .*repeat"):
        repeat("a", 0)
    with pytest.raises(InvalidParameterError, match="Got 2.0 instead"):
        repeat("a", n=2.0)


def test_validate_params_refuses_constraints_of_absent_parameters():
    with pytest.raises(ValueError, match=r"\['m'\], which are not parameters"):

        @validate_params({"m": [int]})
        def f(n):
            return n


def test_a_constraint_key_that_is_no_parameter_is_refused():
    # a misspelt key switched the validation of the parameter it meant off
    class Typo(ParamValidationMixin, BaseEstimator):
        _parameter_constraints = {"strenght": [Interval(Real, 0, None, closed="left")]}

        def __init__(self, strength=1.0):
            self.strength = strength

    with pytest.raises(
        ValueError,
        match=r"Typo\._parameter_constraints names 'strenght' \(did you mean "
        r"'strength'\?\), which is not a parameter of Typo \(its parameters: "
        r"strength\), so nothing is checked for it: spell each key as the "
        r"__init__ parameter it constrains, or remove it",
    ):
        Typo(strength=-5)._validate_params()
    with pytest.raises(
        ValueError, match=r"The constraints of f names 'kk' \(did you mean 'k'\?\)"
    ):
        check_params({"k": 1}, {"kk": [int]}, "f")


def test_mixin_checks_get_params_of_the_estimator():
    class Shrink(ParamValidationMixin, BaseEstimator):
        _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}

        def __init__(self, alpha=1.0):
            self.alpha = alpha

    Shrink(alpha=0)._validate_params()
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of Shrink"):
        Shrink(alpha=-0.1)._validate_params()


def test_core_bases_validate_with_the_public_module():
    # the method resolution must reach sertl's check, not scikit-learn's private
    # one (TransferEstimator adds its estimator-task check, then calls super)
    for base in (DomainAdapter, TransferEstimator):
        mro = base.__mro__[1:] if "_validate_params" in vars(base) else base.__mro__
        owner = next(k for k in mro if "_validate_params" in vars(k))
        assert owner is ParamValidationMixin


def _first_party_sources():
    dirs = [ROOT / "sertl_core", *sorted((ROOT / "plugins").glob("sertl-*/sertl_*"))]
    return [p for d in dirs for p in sorted(d.rglob("*.py"))]


def _private_sklearn_imports(path, root=ROOT):
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sklearn"
        ):
            parts = node.module.split(".")
            names = [a.name for a in node.names]
            if any(p.startswith("_") for p in parts) or any(
                n.startswith("_") for n in names
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sklearn") and any(
                    p.startswith("_") for p in alias.name.split(".")
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_first_party_code_imports_only_public_scikit_learn():
    # DESIGN.md: libraries that import sklearn's private modules broke on
    # sklearn upgrades; sertl uses public APIs only
    sources = _first_party_sources()
    assert len(sources) > 40, "the source scan found too few files"
    private = [hit for path in sources for hit in _private_sklearn_imports(path)]
    assert private == []


def test_the_private_import_scan_detects_one(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sklearn.utils._param_validation import Interval\n"
        "from sklearn.utils.validation import _num_samples\n"
        "import sklearn.utils._testing\n"
    )
    hits = _private_sklearn_imports(bad, root=tmp_path)
    assert hits == ["bad.py:1", "bad.py:2", "bad.py:3"]


@pytest.mark.parametrize(
    ("constraint", "bad", "match"),
    [
        # numpy.random.RandomState takes seeds in [0, 2**32 - 1] only: a
        # seed outside must be refused here, naming the parameter, not by
        # numpy's "Seed must be between 0 and 2**32 - 1" deep inside fit
        (
            "random_state",
            -1,
            "must be an int in the range [0, 4294967295], an instance of "
            "'numpy.random.mtrand.RandomState' or None. Got -1 instead.",
        ),
        ("random_state", 2**32, "Got 4294967296 instead."),
        (
            "verbose",
            -1,
            "must be an int in the range [0, inf), an instance of 'bool' or an "
            f"instance of 'numpy.{np.bool_.__name__}'. Got -1 instead.",
        ),
    ],
)
def test_random_state_and_verbose_take_scikit_learns_ranges(constraint, bad, match):
    for good in (None, 0, 2**32 - 1, np.int64(7), np.random.RandomState(0)):
        check_params({"random_state": good}, {"random_state": ["random_state"]}, "f")
    with pytest.raises(InvalidParameterError, match=re.escape(match)):
        check_params({"p": bad}, {"p": [constraint]}, "f")


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (
            "boolean",
            f"an instance of 'bool' or an instance of 'numpy.{np.bool_.__name__}'",
        ),
        ("sparse matrix", "a sparse array or matrix"),
        ("nan", "numpy.nan"),
        (BaseEstimator, "an instance of 'sklearn.base.BaseEstimator'"),
        (Real, "an instance of 'float'"),
    ],
)
def test_named_and_type_constraints_read_as_scikit_learns(constraint, text):
    # tests written against scikit-learn's messages (match=...) keep passing
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(f"The 'p' parameter of f must be {text}. Got 'x' instead."),
    ):
        check_params({"p": "x"}, {"p": [constraint]}, "f")


def test_interval_refuses_a_nan_bound_of_any_float_type():
    for nan in (float("nan"), np.float32("nan")):
        with pytest.raises(TypeError, match="left bound must be a float or None"):
            Interval(Real, nan, 1, closed="both")
