"""Conformance checks for sertl estimators, ours and third-party.

One call runs scikit-learn's estimator checks plus sertl's transfer checks:

.. code-block:: python

    from sertl_core.testing import parametrize_with_checks

    @parametrize_with_checks([MyAdapter(), MyTransferEstimator()])
    def test_conformance(estimator, check):
        check(estimator)

or, outside pytest, :func:`check_estimator` runs them all and raises one
error listing every failure.

The sertl checks (:func:`sertl_checks`) verify that inputs (passed
read-only) are never mutated, that ``y``, ``sample_domain`` and
``sample_weight`` given as lists, pandas Series or strided views give the
output of plain arrays, that fitting changes no global state
(scikit-learn config, numpy's global RNG, Python's ``random``, logging,
``warnings.filters``, ``os.environ``; torch's global generator and
settings once torch is imported), that a user's global
``set_config(transform_output="pandas")`` changes no output
(:func:`check_global_pandas_output`), that unlabelled rows never become
classes and that a regression's rows labelled -1.0 (a real value there;
NaN marks unlabelled rows) reach the wrapped regressor, that both
metadata-routing modes of a plain Pipeline give the same result, that
clones and pickles behave like the original, that ``random_state`` makes
fits deterministic and that ``random_state=None`` follows numpy's global
generator (:func:`check_random_state_none_follows_numpy`), that bad domain
input gets a clear error, that an adapter's ``transform`` uses
``sample_domain`` as the adapter declares (``_transform_uses_domain``),
that a transfer estimator declaring that its prediction ignores
``sample_domain`` (``_predict_uses_domain = False``) predicts the same rows
alike as source and target rows and without domains
(:func:`check_predict_follows_sample_domain`), that a transfer estimator keeps the
``estimator`` and ``sampler`` parameters and that ``fit`` refuses a value
outside each ``_parameter_constraints`` constraint, whose keys must name
parameters (:func:`check_parameter_constraints`), that renaming the
domains (``{1: 3, 2: 7, -2: -5}``, the sources swapped) changes no output
(:func:`check_domain_id_invariance`), that shuffled training rows give the
same model (:func:`check_row_order_invariance`; a fit that legitimately
follows row order, mini-batch SGD or landmarks drawn by row position,
declares it) and that permuted rows at prediction time get their own
outputs (:func:`check_row_order_equivariance`). Adapters with sparse output are
checked as they are (outputs are compared densely and the Pipeline's final
``SourceOnly(LogisticRegression(max_iter=1000))`` takes sparse rows); an estimator whose
tags declare sparse input is also fitted on sparse ``X``.

A plugin's public functions, which no estimator check reaches, are checked
the same way by :func:`check_function_input_kinds`: their array arguments
given as each of :data:`INPUT_KINDS` (read-only, memory-mapped, strided,
pandas, lists) must give the output of plain arrays and stay unchanged:

.. code-block:: python

    from sertl_core.testing import (
        check_function_input_kinds,
        parametrize_with_input_kinds,
    )

    CASES = {"my_weights": (my_weights, {"X_source": Xs, "X_target": Xt})}

    @parametrize_with_input_kinds(CASES)
    def test_input_kinds(func, inputs, kind, tmp_path):
        check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools
import inspect
import logging
import os
import pickle
import random
import sys
import tempfile
import threading
import unittest
import warnings

import numpy as np
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as sklearn_checks
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._domains import DomainError, NoTargetWarning, is_unlabeled
from .base import DomainAdapter, TransferEstimator, _one_line
from .methods import SourceOnly
from .utils import sample_weight_keyword

__all__ = [
    "INPUT_KINDS",
    "as_input_kind",
    "check_docstring",
    "check_estimator",
    "check_function_input_kinds",
    "make_domain_data",
    "parametrize_with_checks",
    "parametrize_with_input_kinds",
    "sertl_checks",
]


class _Check:
    """A named check callable, so pytest ids and failure reports read well."""

    def __init__(self, func, name, *, quiet_no_target=True):
        self.func = func
        self.name = name
        self.quiet_no_target = quiet_no_target

    def __call__(self, estimator):
        with warnings.catch_warnings():
            if self.quiet_no_target:
                # sklearn's checks fit on labelled rows only; the self-target
                # fallback is expected there.
                warnings.simplefilter("ignore", NoTargetWarning)
            return self.func(estimator)

    def __repr__(self):
        return self.name


def _check_name(check):
    func = check.func if isinstance(check, functools.partial) else check
    return getattr(func, "__name__", repr(func))


def make_domain_data(
    n_per_domain=40, n_features=6, n_classes=3, n_sources=2, random_state=0
):
    """Make a small shifted multi-domain classification problem.

    Each class is a Gaussian blob; each domain shifts and scales all blobs
    differently. Target rows are labelled ``-1`` in ``y`` and their true
    labels are returned separately.

    Parameters
    ----------
    n_per_domain : int, default=40
        Rows per domain.
    n_features : int, default=6
        Number of features.
    n_classes : int, default=3
        Number of classes.
    n_sources : int, default=2
        Number of source domains (ids 1..n_sources); one target domain (-1).
    random_state : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
        Features of the source domains' rows, then the target domain's.
    y : ndarray of int of shape (n_rows,)
        Labels with ``-1`` on target rows.
    sample_domain : ndarray of int of shape (n_rows,)
        Domain ids: 1 to ``n_sources`` for source rows, -1 for target rows.
    y_target : ndarray of int
        True labels of the target rows.

    Examples
    --------
    >>> from sertl_core.testing import make_domain_data
    >>> X, y, sd, y_target = make_domain_data()
    >>> X.shape, sorted(set(sd.tolist()))
    ((120, 6), [-1, 1, 2])
    """
    rng = np.random.default_rng(random_state)
    centers = rng.normal(scale=3.0, size=(n_classes, n_features))
    Xs, ys, ds = [], [], []
    domains = list(range(1, n_sources + 1)) + [-1]
    for d in domains:
        shift = rng.normal(scale=1.5, size=n_features)
        scale = rng.uniform(0.6, 1.6, size=n_features)
        lab = np.arange(n_per_domain) % n_classes
        Xd = (
            centers[lab] + rng.normal(size=(n_per_domain, n_features))
        ) * scale + shift
        Xs.append(Xd)
        ys.append(lab)
        ds.append(np.full(n_per_domain, d))
    X = np.vstack(Xs)
    y_true = np.concatenate(ys)
    sd = np.concatenate(ds).astype(np.int64)
    y = np.where(sd < 0, -1, y_true)
    return X, y, sd, y_true[sd < 0]


def _regression(est):
    return isinstance(est, TransferEstimator) and est._is_regression()


def _label_variants(est, X, y):
    """The labels of make_domain_data in the forms ``est`` must accept.

    A regressor gets :func:`_regression_labels` of the rows ``X``; a
    classifier gets the class ids and the same classes as strings.
    """
    if _regression(est):
        return [_regression_labels(X, y)]
    return [y, np.where(y < 0, "-1", np.char.add("c", y.astype(str)))]


def _regression_labels(X, y):
    """Continuous labels in [-1, 1] for the rows of ``X``; NaN where ``y < 0``.

    A linear function of the rows, scaled so that the lowest and the highest
    tenth of the labelled rows are clipped to exactly -1.0 and 1.0, as on a
    bounded rating scale (valence): -1.0 is then a real label of some source
    rows, and only NaN marks an unlabelled row.
    """
    score = np.asarray(X, dtype=float) @ np.linspace(1.0, -0.5, X.shape[1])
    lo, hi = np.quantile(score[y >= 0], [0.1, 0.9])
    labels = np.clip(2 * (score - lo) / (hi - lo) - 1, -1.0, 1.0)
    return np.where(y < 0, np.nan, labels)


def _is_transfer(est):
    return isinstance(est, DomainAdapter | TransferEstimator)


def _pipeline(est):
    if isinstance(est, DomainAdapter):
        clf = SourceOnly(LogisticRegression(max_iter=1000))
        return Pipeline([("adapt", est), ("clf", clf)])
    return Pipeline([("clf", est)])


def _output(model, X):
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    return _dense(model.transform(X))


def _all_outputs(model, X, sample_domain=None):
    """Every output of a fitted model: transform, or predict and its scores.

    Checks that compare two fits compare all of them: two models can agree
    on every label and still differ in their probabilities.
    """
    if isinstance(model, DomainAdapter):
        return {"transform": _dense(model.transform(X, sample_domain=sample_domain))}
    if not hasattr(model, "predict"):
        return {"transform": _dense(model.transform(X))}
    outs = {"predict": np.asarray(model.predict(X))}
    for method in ("predict_proba", "decision_function"):
        try:
            score = getattr(model, method)
        except AttributeError:  # not offered by this model (available_if)
            continue
        outs[method] = np.asarray(score(X))
    return outs


def _dense(out):
    """An output as a dense array (a sparse matrix too, for comparisons)."""
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out)


def _accepts_sparse(est):
    """Whether ``est`` declares sparse input (scikit-learn's ``input_tags``)."""
    return bool(get_tags(est).input_tags.sparse)


def _sparsified(X):
    """``X`` as a CSR matrix with the small entries dropped (a real sparse input)."""
    return sparse.csr_matrix(np.where(np.abs(X) < 1.0, 0.0, X))


def _assert_ndim(out, ndim, method, est):
    """``out`` of ``est.method`` has ``ndim`` dimensions, or a clear failure."""
    shape = getattr(out, "shape", np.shape(out))
    what = "(n_rows, n_features_out)" if ndim == 2 else "(n_rows,)"
    assert len(shape) == ndim, (
        f"{type(est).__name__}.{method} must return a {ndim}-D array, got shape "
        f"{shape}: return shape {what}"
    )


def _fit_output(est, X, y, sd):
    est = clone(est)
    if isinstance(est, DomainAdapter):
        est.fit(X, y, sample_domain=sd)
        return est, _dense(est.transform(X, sample_domain=sd))
    est.fit(X, y, sample_domain=sd)
    return est, np.asarray(est.predict(X))


# -- the sertl checks -------------------------------------------------------


def check_docstring(obj, *, references=True):
    """Fail a public class or function whose docstring lacks what sertl asks.

    CONTRIBUTING.md asks of every public object a numpydoc docstring whose
    Examples section holds a doctest, and of every method a registry offers
    (adapters, transfer estimators, scorers, splitters) a References
    section citing the paper it implements. sertl's own packages are held
    to it by their tests; a plugin calls this on its classes (the test that
    ``sertl new-plugin`` writes does, for every class the plugin registers).
    Only the object's own docstring counts: a class without one would
    otherwise show its base class's (``DomainAdapter``'s) in ``help()``.

    Parameters
    ----------
    obj : class, function or estimator instance
        What to check; an instance is checked by its class.
    references : bool, default=True
        Also require a References section with a numbered citation
        (``.. [1] A. Author, "Title", Venue Year.``). False for an object
        that implements no paper (a corpus reader, a helper function).

    Raises
    ------
    AssertionError
        Naming the object, the missing part and the numpydoc heading to add.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler
    >>> from sertl_core.testing import check_docstring
    >>> check_docstring(DomainStandardScaler)
    >>> def helper():
    ...     '''Return one.'''
    ...     return 1
    >>> check_docstring(helper, references=False)
    Traceback (most recent call last):
    ...
    AssertionError: helper's docstring has no Examples section: ...
    """
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        obj = type(obj)
    name = getattr(obj, "__qualname__", repr(obj))
    own = obj.__doc__ if isinstance(obj.__doc__, str) else ""
    doc = inspect.cleandoc(own)
    needed = "Examples with a doctest" + (" and References" if references else "")
    assert doc.strip(), (
        f"{name} has no docstring of its own: write a numpydoc docstring (a "
        f"summary line, Parameters, {needed})"
    )
    sections = [
        (
            "Examples",
            ">>>",
            "a doctest: lines starting with '>>> ' and their expected output "
            "(pytest --doctest-modules runs it)",
        )
    ]
    if references:
        sections.append(
            (
                "References",
                ".. [1]",
                "the paper of the method: '.. [1] A. Author, \"Title\", Venue Year.'",
            )
        )
    for heading, marker, content in sections:
        rule = "-" * len(heading)
        assert f"{heading}\n{rule}" in doc, (
            f"{name}'s docstring has no {heading} section: add '{heading}' "
            f"underlined with '{rule}' and {content}"
        )
        assert marker in doc.split(f"{heading}\n{rule}", 1)[1], (
            f"{name}'s {heading} section lacks {content}"
        )


def check_registry_name(estimator):
    """The class has its own valid ``registry_name``.

    The rule is the registry's, documented in CONTRIBUTING.md ("Registry
    names"): a name it would skip (``my__shift``, ``memory``, ``model``,
    ``dss`` ...) fails here, with the reason and the fix. The name must be
    set in the class itself: a subclass that inherits its parent's would
    claim the parent's name in the registry.
    """
    from .registry import _name_problem

    cls = type(estimator)
    name = getattr(cls, "registry_name", None)
    problem = _name_problem(name)
    assert problem is None, (
        f"{cls.__name__}.registry_name {name!r} {problem} (the registry skips "
        "a class with such a name)"
    )
    owner = next(c for c in cls.__mro__ if "registry_name" in vars(c))
    assert owner is cls, (
        f"{cls.__name__} inherits registry_name {name!r} from {owner.__name__}: "
        f"set a registry_name of its own in {cls.__name__}, or the registry "
        "sees two classes claiming one name"
    )


def check_feature_names_out(estimator):
    """A fitted adapter names its output columns and offers ``set_output``.

    ``get_feature_names_out()`` returns one name per output column, so that
    ``Pipeline.get_feature_names_out`` and ``set_output(transform="pandas")``
    work through the adapter; scikit-learn's ``OneToOneFeatureMixin`` (an
    adapter that keeps the columns) or ``ClassNamePrefixFeaturesOutMixin``
    (one that makes new ones, with ``_n_features_out``) provide it.
    """
    if not isinstance(estimator, DomainAdapter):
        return
    name = type(estimator).__name__
    fix = (
        "list sklearn.base.OneToOneFeatureMixin (columns kept) or "
        "ClassNamePrefixFeaturesOutMixin (new columns; set _n_features_out in "
        f"_fit) first in the bases of {name}"
    )
    assert callable(getattr(estimator, "get_feature_names_out", None)), (
        f"{name} has no get_feature_names_out(): {fix}"
    )
    assert callable(getattr(estimator, "set_output", None)), (
        f"{name} has no set_output(): {fix}"
    )
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = _seeded(estimator).fit(X, y, sample_domain=sd)
    names = np.asarray(est.get_feature_names_out())
    out = est.transform(X[sd < 0], sample_domain=sd[sd < 0])
    _assert_ndim(out, 2, "transform", est)
    assert names.shape == (out.shape[1],), (
        f"{name}.get_feature_names_out() gave {names.shape[0]} names for "
        f"{out.shape[1]} output columns"
    )


def check_inputs_not_mutated(estimator):
    """fit, transform, predict, decision_function and score leave inputs unchanged.

    X, y, sample_domain and, when ``fit`` takes it, sample_weight are
    passed read-only (as joblib passes a large array to its workers, a
    memory map), so that a write into one fails, even one that puts the
    values back afterwards; they must also be equal before and after every
    call.
    """
    X, y, sd, _ = make_domain_data()
    y, *others = _label_variants(estimator, X, y)
    inputs = {"X": X, "y": y, "sample_domain": sd}
    if has_fit_parameter(estimator, "sample_weight"):
        inputs["sample_weight"] = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    _inputs_not_mutated(estimator, _calls_on_inputs, inputs)
    for ys in others:  # string labels with the string marker
        _inputs_not_mutated(
            estimator, _fit_on_inputs, {**inputs, "y": ys}, y_name="string y"
        )
    if _accepts_sparse(estimator):  # e.g. ``X.data /= scale`` on the caller's matrix
        Xs = _sparsified(X)
        parts = (Xs.data.copy(), Xs.indices.copy(), Xs.indptr.copy())
        for a in (Xs.data, Xs.indices, Xs.indptr):
            a.setflags(write=False)
        try:
            _calls_on_inputs(estimator, {**inputs, "X": Xs}, sparse_x=True)
        except ValueError as exc:
            if "read-only" not in str(exc):
                raise
            raise AssertionError(
                f"sparse X was modified in place (passed read-only: {exc})"
            ) from exc
        for a, b in zip((Xs.data, Xs.indices, Xs.indptr), parts, strict=True):
            np.testing.assert_array_equal(
                a, b, err_msg="sparse X was modified in place"
            )


def _fit_params(inputs):
    return {k: inputs[k] for k in ("sample_domain", "sample_weight") if k in inputs}


def _fit_on_inputs(estimator, inputs):
    clone(estimator).fit(inputs["X"], inputs["y"], **_fit_params(inputs))


def _calls_on_inputs(estimator, inputs, *, sparse_x=False):
    """fit, then every output method, on ``inputs``."""
    X, y, sd = inputs["X"], inputs["y"], inputs["sample_domain"]
    est = clone(estimator)
    est.fit(X, y, **_fit_params(inputs))
    if isinstance(est, DomainAdapter):
        est.transform(X, sample_domain=sd)
        est.transform(X)
        est.fit_transform(X, y, **_fit_params(inputs))
    elif sparse_x:
        _output(est, X)
    else:
        est.predict(X)
        est.predict(X, sample_domain=sd)
        if hasattr(est, "predict_proba"):
            est.predict_proba(X)
        if hasattr(est, "decision_function"):
            est.decision_function(X, sample_domain=sd)
        if hasattr(est, "score"):
            est.score(X, y, sample_domain=sd)


def _inputs_not_mutated(estimator, calls, inputs, *, y_name="y"):
    """Run ``calls`` on read-only ``inputs``; name the input it writes into."""
    names = {k: (y_name if k == "y" else k) for k in inputs}
    copies = {k: a.copy() for k, a in inputs.items()}
    read_only = {k: a.copy() for k, a in inputs.items()}
    for a in read_only.values():
        a.setflags(write=False)
    try:
        calls(estimator, read_only)
    except ValueError as exc:
        if "read-only" not in str(exc):
            raise
        # the same calls on writable inputs say which one is written
        writable = {k: a.copy() for k, a in inputs.items()}
        calls(estimator, writable)
        for k, a in writable.items():
            np.testing.assert_array_equal(
                a, copies[k], err_msg=f"{names[k]} was modified in place"
            )
        raise AssertionError(
            f"an input ({', '.join(names.values())}) was modified in place, "
            f"then put back: passed read-only, it gave {exc}"
        ) from exc
    for k, a in read_only.items():
        np.testing.assert_array_equal(
            a, copies[k], err_msg=f"{names[k]} was modified in place"
        )


INPUT_KINDS = ("read-only", "memmap", "strided", "pandas", "list")
"""The kinds of array :func:`as_input_kind` makes, as users pass them.

``"read-only"``, a read-only copy; ``"memmap"``, a read-only memory map
(as joblib's workers get a large array); ``"strided"``, a read-only view
that is not contiguous (``a[::2]``-like); ``"pandas"``, a Series with a
shuffled index (as ``train_test_split`` or a filtered table leaves it, so
that ``s[0]`` is no row position) or a DataFrame with named columns;
``"list"``, nested Python lists.
"""


def _pandas():
    """pandas, or a skip of the pandas kind where it is not installed."""
    try:
        import pandas as pd
    except ImportError:  # pandas is optional in sertl_core
        raise unittest.SkipTest(
            "the 'pandas' input kind needs pandas, which is not installed"
        ) from None
    return pd


def _is_pandas(obj):
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.Series | pd.DataFrame)


def as_input_kind(array, kind, tmp_path=None):
    """Return a copy of an array as one of the kinds of input users pass.

    Parameters
    ----------
    array : array-like
        The values; not modified.
    kind : {"read-only", "memmap", "strided", "pandas", "list"}
        One of :data:`INPUT_KINDS`. An object array cannot be memory-mapped:
        its ``"memmap"`` is a read-only copy. ``"pandas"`` takes one or two
        dimensions.
    tmp_path : path-like, default=None
        A folder for the ``"memmap"`` kind's file (pytest's ``tmp_path``);
        needed by that kind only.

    Returns
    -------
    converted : ndarray, memmap, pandas.Series, pandas.DataFrame or list
        The values of ``array`` as ``kind``.

    Raises
    ------
    unittest.SkipTest
        For ``"pandas"`` where pandas is not installed (pytest skips the
        test).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.testing import as_input_kind
    >>> a = np.arange(6.0).reshape(3, 2)
    >>> view = as_input_kind(a, "strided")
    >>> np.array_equal(view, a), view.flags.c_contiguous, view.flags.writeable
    (True, False, False)
    >>> as_input_kind(a[:, 0], "list")
    [0.0, 2.0, 4.0]
    """
    a = np.asarray(array)
    if kind == "memmap" and a.dtype.kind != "O":
        if tmp_path is None:
            raise ValueError("the 'memmap' kind needs tmp_path, a folder for its file")
        fd, path = tempfile.mkstemp(suffix=".npy", dir=tmp_path)
        os.close(fd)
        np.save(path, a, allow_pickle=False)
        return np.load(path, mmap_mode="r")
    if kind in ("read-only", "memmap"):
        b = a.copy()
        b.setflags(write=False)
        return b
    if kind == "strided":
        view = np.repeat(a, 2, axis=-1)[..., ::2]
        view.setflags(write=False)
        return view
    if kind == "pandas":
        pd = _pandas()
        if a.ndim == 2:
            return pd.DataFrame(a, columns=[f"f{j}" for j in range(a.shape[1])])
        if a.ndim != 1:
            raise ValueError(f"the 'pandas' kind takes 1 or 2 dimensions, not {a.ndim}")
        index = np.random.default_rng(0).permutation(len(a)) + 1000
        return pd.Series(a, index=index)
    if kind == "list":
        return a.tolist()
    raise ValueError(f"unknown input kind {kind!r}: one of {INPUT_KINDS}")


def _assert_same_output(expected, got, *, rtol=1e-7, atol=0.0, where="output"):
    """Compare nested outputs: dicts, lists and tuples item by item.

    Floats to ``rtol`` and ``atol`` (numpy's ``assert_allclose`` defaults
    unless given), everything else exactly.
    """
    if isinstance(expected, dict):
        assert expected.keys() == got.keys(), (
            f"{where}: other outputs ({sorted(got)} where {sorted(expected)})"
        )
        for k in expected:
            _assert_same_output(
                expected[k], got[k], rtol=rtol, atol=atol, where=f"{where} ({k})"
            )
    elif isinstance(expected, list | tuple):
        assert len(expected) == len(got), f"{where}: another length"
        for i, (u, v) in enumerate(zip(expected, got, strict=True)):
            _assert_same_output(u, v, rtol=rtol, atol=atol, where=f"{where}[{i}]")
    elif _is_pandas(expected):
        pd = sys.modules["pandas"]
        pd.testing.assert_frame_equal(
            pd.DataFrame(expected), pd.DataFrame(got), rtol=rtol, atol=atol
        )
    elif np.asarray(expected).dtype.kind in "fc":
        np.testing.assert_allclose(
            np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol, err_msg=where
        )
    else:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), where)


def _snapshot(value):
    return value.copy(deep=True) if _is_pandas(value) else copy.deepcopy(value)


def _assert_unchanged(value, before, msg):
    if _is_pandas(value):
        assert value.equals(before), msg
        return
    try:
        np.testing.assert_array_equal(np.asarray(value), np.asarray(before))
    except AssertionError as exc:
        raise AssertionError(msg) from exc


def check_function_input_kinds(
    func, inputs, *, tmp_path=None, kinds=INPUT_KINDS, rtol=1e-12, atol=0.0
):
    """Check that a function gives the same output for every kind of input.

    ``func(**inputs)`` runs on writable copies of the arrays, then with all
    of them converted to each kind by :func:`as_input_kind`; each run must
    give the output of the first (compared item by item through dicts,
    lists and tuples, floats to ``rtol`` and ``atol``, pandas objects with
    ``pandas.testing``) and leave every input as it was. Read-only kinds
    make a write into an input fail even where it puts the values back.
    Use it for the public functions of a plugin, which the estimator
    checks (:func:`sertl_checks`) do not reach.

    Parameters
    ----------
    func : callable
        Called with the inputs as keyword arguments; wrap it (a ``lambda``)
        to give the other arguments.
    inputs : dict of str to ndarray
        The array arguments, as plain arrays; not modified.
    tmp_path : path-like, default=None
        A folder for the ``"memmap"`` kind's files (pytest's ``tmp_path``);
        by default a temporary folder, removed at the end.
    kinds : sequence of str, default=INPUT_KINDS
        The kinds to check, of :data:`INPUT_KINDS`. Without pandas the
        ``"pandas"`` kind is skipped (and the check, if it was the only one).
    rtol : float, default=1e-12
        Relative tolerance for floating-point outputs (a solver that stops
        at a tolerance may round otherwise on another memory layout).
    atol : float, default=0.0
        Absolute tolerance for floating-point outputs.

    Raises
    ------
    AssertionError
        When an input kind raises, gives another output or is modified,
        or a plain array is modified.
    unittest.SkipTest
        When every kind asked for was skipped.

    See Also
    --------
    as_input_kind : Make one input of one kind.
    parametrize_with_input_kinds : One pytest test a case and kind.
    check_estimator : The conformance checks of an estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.testing import check_function_input_kinds
    >>> def centre(y):
    ...     y = np.asarray(y, dtype=float)
    ...     return y - y.mean()
    >>> check_function_input_kinds(centre, {"y": np.arange(5.0)})

    A function that writes into its input fails:

    >>> def centre_in_place(y):
    ...     y -= np.mean(y)
    ...     return y
    >>> check_function_input_kinds(centre_in_place, {"y": np.arange(5.0)})
    Traceback (most recent call last):
    ...
    AssertionError: y was modified in place (a plain array)
    """
    with contextlib.ExitStack() as stack:
        if tmp_path is None:
            tmp_path = stack.enter_context(
                tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
            )
        _check_function_input_kinds(func, inputs, tmp_path, kinds, rtol, atol)


def _check_function_input_kinds(func, inputs, tmp_path, kinds, rtol, atol):
    """:func:`check_function_input_kinds` with a folder for the memory maps."""
    plain = {k: np.array(a, copy=True) for k, a in inputs.items()}
    expected = func(**plain)
    for k, a in plain.items():
        try:
            np.testing.assert_array_equal(a, inputs[k])
        except AssertionError as exc:
            raise AssertionError(f"{k} was modified in place (a plain array)") from exc
        assert a.dtype == np.asarray(inputs[k]).dtype, f"{k} changed its dtype"
    ran, skips = 0, []
    for kind in kinds:
        try:
            given = {k: as_input_kind(a, kind, tmp_path) for k, a in inputs.items()}
        except unittest.SkipTest as exc:
            skips.append(str(exc))
            continue
        before = {k: _snapshot(v) for k, v in given.items()}
        names = ", ".join(given)
        try:
            got = func(**given)
        except Exception as exc:
            raise AssertionError(
                f"{names} given as {kind} raised {type(exc).__name__}: {exc} "
                "(plain arrays work)"
            ) from exc
        _assert_same_output(
            expected, got, rtol=rtol, atol=atol, where=f"output for {kind}"
        )
        for k, v in given.items():
            _assert_unchanged(v, before[k], f"{k} given as {kind} was modified")
        ran += 1
    if not ran and skips:
        raise unittest.SkipTest("; ".join(skips))


def parametrize_with_input_kinds(cases, *, kinds=INPUT_KINDS):
    """Pytest decorator giving each case with each kind of input.

    Parameters
    ----------
    cases : dict of str to (callable, dict)
        ``{name: (func, inputs)}``, as :func:`check_function_input_kinds`
        takes them: a function and its array arguments.
    kinds : sequence of str, default=INPUT_KINDS
        The kinds, of :data:`INPUT_KINDS`.

    Returns
    -------
    decorator : pytest.MarkDecorator
        Parametrizes ``(func, inputs, kind)``, with the ids ``name-kind``;
        the test calls :func:`check_function_input_kinds` with
        ``kinds=[kind]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.testing import (
    ...     check_function_input_kinds,
    ...     parametrize_with_input_kinds,
    ... )
    >>> CASES = {"cumsum": (np.cumsum, {"a": np.arange(4)})}
    >>> @parametrize_with_input_kinds(CASES)
    ... def test_input_kinds(func, inputs, kind, tmp_path):
    ...     check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])
    """
    import pytest

    return pytest.mark.parametrize(
        ("func", "inputs", "kind"),
        [
            pytest.param(*cases[name], kind, id=f"{name}-{kind}")
            for name in sorted(cases)
            for kind in kinds
        ],
    )


def _kind_outputs(model, X, sample_domain):
    """:func:`_all_outputs`, plus a transfer estimator's predict with domains."""
    outs = _all_outputs(model, X, sample_domain)
    if isinstance(model, TransferEstimator):
        outs["predict(sample_domain=...)"] = np.asarray(
            model.predict(X, sample_domain=sample_domain)
        )
    return outs


def check_array_like_inputs(estimator):
    """y, sample_domain and sample_weight of any common kind give the same model.

    Users pass these as lists, as columns of a table (a pandas Series,
    often with the shuffled index ``train_test_split`` leaves, so that
    ``s[0]`` is no row position) and as views that are not contiguous
    (``a[::2]``; read-only when taken from a memory map). Each kind, ``X``
    also a strided read-only view for the views, is fitted and predicted
    (transformed) with its own ``sample_domain``, and must give the output
    of plain arrays. Convert once, with ``np.asarray``, before indexing.
    """
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    inputs = {"y": y, "sample_domain": sd}
    if has_fit_parameter(estimator, "sample_weight"):
        inputs["sample_weight"] = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    est = _seeded(estimator)

    def outputs(X, given):
        model = clone(est).fit(X, given["y"], **_fit_params(given))
        return _kind_outputs(model, X, given["sample_domain"])

    expected = outputs(X, inputs)
    kinds = {
        "lists": (X, {k: as_input_kind(a, "list") for k, a in inputs.items()}),
        "strided read-only views": (
            as_input_kind(X, "strided"),
            {k: as_input_kind(a, "strided") for k, a in inputs.items()},
        ),
    }
    with contextlib.suppress(unittest.SkipTest):  # pandas is optional
        kinds["pandas Series with a shuffled index"] = (
            X,
            {k: as_input_kind(a, "pandas").rename(k) for k, a in inputs.items()},
        )
    given = ", ".join(inputs)
    for kind, (Xk, ik) in kinds.items():
        try:
            got = outputs(Xk, ik)
        except Exception as exc:
            what = f"X and {given}" if Xk is not X else given
            raise AssertionError(
                f"{what} given as {kind} raised {type(exc).__name__}: {exc} "
                "(plain arrays work): convert them with np.asarray (X with "
                "validate_data or check_array) before use"
            ) from exc
        what = f"X and {given}" if Xk is not X else given
        _assert_same_output(
            expected,
            got,
            where=f"{what} given as {kind} give another output than arrays",
        )


def check_no_global_state_change(estimator):
    """Fitting and predicting change no global state of the process.

    Checked: scikit-learn's config, numpy's global RNG, Python's ``random``,
    the root logger, ``warnings.filters`` and ``os.environ``; when torch is
    imported (by the estimator's first fit, say), also torch's global CPU
    generator and its process-wide settings (threads, deterministic
    algorithms, default dtype, grad mode, float32 matmul precision, cuDNN
    flags): a fit that calls ``torch.manual_seed(random_state)`` changes
    the caller's torch stream, so their own later draws (dropout, a
    DataLoader's shuffle) follow the estimator's seed; seed a
    ``torch.Generator`` of the fit's own, or fit inside
    ``torch.random.fork_rng()``. Every
    ``random_state`` parameter (nested ones too) is set to 0 first, so a
    wrapped estimator's own use of numpy's global RNG does not count.

    One fit runs first, unchecked: a library that the estimator imports on
    its first fit may change the process once, at import (torch's first
    optimizer step imports ``torch._dynamo``, which sets
    ``TORCHINDUCTOR_CACHE_DIR`` and a warnings filter), which is no defect
    of the estimator. The checked fits then run from a known state
    (``os.environ`` as the caller had it, sklearn's default config, numpy's
    global RNG and ``random`` seeded with two different seeds, a root
    logger without handlers at WARNING, one filter that ignores every
    warning), so a change that an earlier check or fit already made
    (``np.random.seed(0)``, ``random.seed(0)``, ``torch.manual_seed(0)``,
    ``sklearn.set_config(...)``, ``logging.basicConfig()``,
    ``warnings.simplefilter("ignore")``) is still seen; every write to
    ``os.environ`` during these fits counts, one that sets a variable to the
    value it already has too. The caller's state is restored (torch's
    generator as it was once torch is imported). A transfer estimator whose
    wrapped estimator draws from numpy's global RNG by itself, with no
    ``random_state`` to set (``SVR``, ``NuSVR``: libsvm's seed), is not
    held to those draws: during the checked fits, each call of the wrapped
    estimator's class's own ``fit``, ``predict``, ``decision_function``,
    ``transform`` or ``score`` puts numpy's global RNG back as it found it,
    so that a draw of the method's own is still caught.
    """
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    estimator = _seeded(estimator)
    wrapped_draws = _wrapped_draws_from_numpy_rng(estimator, X, y, sd)
    root = logging.getLogger()
    saved_rng = np.random.get_state()
    saved_random = random.getstate()
    saved_environ = dict(os.environ)
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_torch = _torch_saved()
    try:
        # the caller's warnings filters come back at the end
        with warnings.catch_warnings():
            # imports on first fit (and their side effects) happen here
            with sklearn.config_context(**_default_sklearn_config()):
                _output(clone(estimator).fit(X, y, sample_domain=sd), X)
            if saved_torch is None:  # torch imported by that fit: its state now
                saved_torch = _torch_saved()
            for seed in (1, 2):
                with sklearn.config_context(**_default_sklearn_config()):
                    np.random.seed(seed)
                    random.seed(seed)
                    _restore_environ(saved_environ)  # as before the first fit
                    for h in list(root.handlers):
                        root.removeHandler(h)
                    root.setLevel(logging.WARNING)
                    warnings.resetwarnings()
                    warnings.filterwarnings("ignore", module=".*")
                    filters = list(warnings.filters)
                    config = sklearn.get_config()
                    torch_before = _torch_global_state(seed)
                    rng_state = np.random.get_state()
                    random_state = random.getstate()
                    environ = dict(os.environ)
                    with _environ_writes() as written, _own_rng_draws(wrapped_draws):
                        est = clone(estimator).fit(X, y, sample_domain=sd)
                        _output(est, X)
                    _assert_torch_global_state(torch_before)
                    now = sklearn.get_config()
                    changed = {
                        k: (v, now.get(k)) for k, v in config.items() if now.get(k) != v
                    }
                    assert not changed, (
                        "sklearn's global config was changed (key: (before, after)): "
                        f"{changed}; use sklearn.config_context"
                    )
                    assert _same_rng_state(np.random.get_state(), rng_state), (
                        "numpy's global random state was used or changed "
                        "(use a local Generator)"
                    )
                    assert random.getstate() == random_state, (
                        "the state of Python's `random` module was used or changed "
                        "(use a local random.Random or numpy Generator)"
                    )
                    assert not root.handlers and root.level == logging.WARNING, (
                        "the root logger was reconfigured (handlers or level); "
                        "configure a named logger, not the root"
                    )
                    assert list(warnings.filters) == filters, (
                        "warnings.filters was changed (added: "
                        f"{[f for f in warnings.filters if f not in filters]}, "
                        f"removed: {[f for f in filters if f not in warnings.filters]}"
                        "); use warnings.catch_warnings() around a filter"
                    )
                    written |= {
                        k
                        for k in environ.keys() | os.environ.keys()
                        if environ.get(k) != os.environ.get(k)
                    }
                    changed_env = {
                        k: (environ.get(k), os.environ.get(k)) for k in sorted(written)
                    }
                    assert not changed_env, (
                        "os.environ was written (variable: (before, after)): "
                        f"{changed_env}; pass settings as arguments, or set a "
                        "child process's environment through its env="
                    )
    finally:
        np.random.set_state(saved_rng)
        random.setstate(saved_random)
        _torch_restore(saved_torch)
        _restore_environ(saved_environ)
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)


_WRAPPED_CALLS = (
    "fit",
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "score",
)


@contextlib.contextmanager
def _own_rng_draws(wrapped):
    """Within: ``wrapped``'s class puts numpy's global RNG back after each call.

    ``wrapped`` is the class of the estimator a transfer estimator wraps,
    when that estimator draws from numpy's global RNG by itself (see
    :func:`_wrapped_draws_from_numpy_rng`), else None (nothing is changed).
    Only the methods written as plain functions on the class or its bases
    are wrapped (never a descriptor such as ``available_if``, whose absence
    an estimator's output depends on), and each is put back on leaving.
    """
    if wrapped is None:
        yield
        return
    saved = {}
    for name in _WRAPPED_CALLS:
        if not isinstance(inspect.getattr_static(wrapped, name, None), type(_seeded)):
            continue
        saved[name] = wrapped.__dict__.get(name)
        setattr(wrapped, name, _restoring_rng(getattr(wrapped, name)))
    try:
        yield
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(wrapped, name)
            else:
                setattr(wrapped, name, method)


def _restoring_rng(method):
    """``method``, putting numpy's global RNG back as it found it."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        state = np.random.get_state()  # noqa: NPY002 - put back below
        try:
            return method(*args, **kwargs)
        finally:
            np.random.set_state(state)  # noqa: NPY002

    return call


def _same_rng_state(a, b):
    """Whether two ``np.random.get_state()`` tuples are the same state."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


def _wrapped_draws_from_numpy_rng(estimator, X, y, sample_domain):
    """The class a transfer estimator wraps, when it draws from numpy's global RNG.

    Fitted alone (its ``random_state`` parameters set, as by the check) on
    the labelled source rows, and predicting them. The class for an
    estimator that seeds itself from the global RNG with nothing to set
    (scikit-learn's ``SVR`` and ``NuSVR`` draw libsvm's seed so); None for
    any other, for an estimator that is no transfer estimator, and for one
    that cannot be fitted on these rows (the check then fails with its own
    error).
    """
    if not isinstance(estimator, TransferEstimator):
        return None
    inner = estimator._get_estimator()
    rows = (sample_domain > 0) & ~is_unlabeled(y, regression=_regression(estimator))
    saved = np.random.get_state()
    try:
        np.random.seed(0)
        before = np.random.get_state()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _output(clone(inner).fit(X[rows], y[rows]), X)
        return None if _same_rng_state(np.random.get_state(), before) else type(inner)
    except Exception:  # noqa: BLE001 - reported by the check itself
        return None
    finally:
        np.random.set_state(saved)


def check_global_pandas_output(estimator):
    """The user's ``set_config(transform_output="pandas")`` changes no result.

    Users often turn on pandas output for the whole session
    (``sklearn.set_config(transform_output="pandas")``, common in
    notebooks). Every scikit-learn transformer a method fits inside itself (a
    scaler of its own, a kernel approximation, a vote's adapters) then
    returns a DataFrame where the method's code may expect an array. Fitted
    and used under ``sklearn.config_context(transform_output="pandas")``,
    the estimator must give the outputs it gives under the default config
    (an adapter's ``transform`` as a DataFrame of the same values, as
    ``set_output`` promises). Call ``.set_output(transform="default")`` on
    a transformer used inside a method, or convert its output with
    ``np.asarray``.
    """
    pd = _pandas()
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = _seeded(estimator)
    fitted = clone(est).fit(X, y, sample_domain=sd)
    if isinstance(fitted, DomainAdapter) and sparse.issparse(
        fitted.transform(X, sample_domain=sd)
    ):
        return  # sparse output has no pandas form (scikit-learn refuses it)
    expected = _all_outputs(fitted, X, sd)
    name = type(estimator).__name__
    try:
        with sklearn.config_context(transform_output="pandas"):
            model = clone(est).fit(X, y, sample_domain=sd)
            got = _all_outputs(model, X, sd)
            if isinstance(model, DomainAdapter):
                out = model.transform(X, sample_domain=sd)
                assert isinstance(out, pd.DataFrame), (
                    f"{name}.transform returned {type(out).__name__}, not a "
                    "pandas DataFrame, under set_config(transform_output='pandas')"
                )
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(
            f"{name} raised {type(exc).__name__}: {exc} under "
            "sklearn.set_config(transform_output='pandas') (it works under the "
            "default config): a scikit-learn transformer used inside returns a "
            "DataFrame there; call .set_output(transform='default') on it or "
            "convert its output with np.asarray"
        ) from exc
    _assert_same_output(
        expected,
        got,
        where=f"{name} gives another output under "
        "sklearn.set_config(transform_output='pandas') than under the default",
    )


def _torch_settings(torch):
    """Torch's process-wide settings that a fit must leave as they were."""
    return {
        "torch.get_num_threads()": torch.get_num_threads(),
        "torch.are_deterministic_algorithms_enabled()": (
            torch.are_deterministic_algorithms_enabled()
        ),
        "torch.get_default_dtype()": torch.get_default_dtype(),
        "torch.is_grad_enabled()": torch.is_grad_enabled(),
        "torch.get_float32_matmul_precision()": (torch.get_float32_matmul_precision()),
        "torch.backends.cudnn.benchmark": torch.backends.cudnn.benchmark,
        "torch.backends.cudnn.deterministic": torch.backends.cudnn.deterministic,
    }


def _torch_saved():
    """The caller's torch CPU generator state, or None when torch is not imported."""
    torch = sys.modules.get("torch")
    return None if torch is None else torch.get_rng_state()


def _torch_restore(saved):
    """Give torch's global CPU generator the state :func:`_torch_saved` saved."""
    torch = sys.modules.get("torch")
    if torch is not None and saved is not None:
        torch.set_rng_state(saved)


def _torch_global_state(seed):
    """Seed torch's global CPU generator with ``seed``; return it and the settings.

    None when torch is not imported. The generator is given the state of a
    fresh ``torch.Generator`` seeded with ``seed`` (``torch.manual_seed``
    would also queue a seed for CUDA devices), so that a fit that seeds it
    itself, with a seed an earlier fit used too, is still seen.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
    return torch.get_rng_state(), _torch_settings(torch)


def _assert_torch_global_state(before):
    """Fail when torch's generator or settings differ from ``before``."""
    if before is None:  # torch not imported before this fit
        return
    torch = sys.modules["torch"]
    rng, settings = before
    now = _torch_settings(torch)
    changed = {k: (v, now[k]) for k, v in settings.items() if now[k] != v}
    assert not changed, (
        "torch's process-wide settings were changed (setting: (before, after)): "
        f"{changed}; set them inside a context manager that restores them, or "
        "leave them to the user"
    )
    assert torch.equal(rng, torch.get_rng_state()), (
        "torch's global random state was used or changed (torch.manual_seed, "
        "dropout or a DataLoader shuffle drawing from it): seed a "
        "torch.Generator of the fit's own, or fit inside "
        "torch.random.fork_rng()"
    )


def _restore_environ(saved):
    """Give ``os.environ`` back the variables and values of ``saved``."""
    for key in os.environ.keys() - saved.keys():
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


@contextlib.contextmanager
def _environ_writes():
    """Record the names of the variables written to ``os.environ`` in the block.

    A write counts even when it leaves the value as it was (an estimator that
    sets ``OMP_NUM_THREADS=1`` on every fit, when an earlier fit already
    did).
    """
    written: set[str] = set()
    environ = os.environ
    cls = type(environ)

    class Recording(cls):  # type: ignore[misc, valid-type]
        def __setitem__(self, key, value):
            written.add(key)
            super().__setitem__(key, value)

        def __delitem__(self, key):
            written.add(key)
            super().__delitem__(key)

    environ.__class__ = Recording
    try:
        yield written
    finally:
        environ.__class__ = cls


def _default_sklearn_config():
    """scikit-learn's default config (a new thread starts from it)."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(sklearn.get_config()))
    thread.start()
    thread.join()
    return box


def check_unlabeled_never_a_class(estimator):
    """Rows labelled -1 / '-1' never become a class, in a plain Pipeline too."""
    X, y, sd, _ = make_domain_data()
    if _regression(estimator):  # -1.0 is a label: see the next check
        model = _pipeline(clone(estimator)).fit(X, _label_variants(estimator, X, y)[0])
        assert np.all(np.isfinite(model.predict(X))), (
            "NaN targets reached the model: its predictions are not finite; "
            "keep the rows that sertl_core.is_unlabeled(y, regression=True) "
            "marks out of its fit"
        )
        return
    for labels in _label_variants(estimator, X, y):
        model = _pipeline(clone(estimator))
        model.fit(X, labels)  # domains inferred from the labels
        pred = model.predict(X)
        marker = "-1" if labels.dtype.kind == "U" else -1
        assert not np.any(pred == marker), "predicted the unlabelled marker as a class"
        classes = getattr(model[-1], "classes_", None)
        if classes is not None:
            assert marker not in set(np.asarray(classes).tolist()), (
                "the unlabelled marker became a class"
            )


class _LabelSpyRegressor(RegressorMixin, BaseEstimator):
    """Least squares that records the labels it was fitted on.

    The wrapped regressor of :func:`check_minus_one_is_a_regression_label`:
    ``y_seen_`` holds the labels that reached it (NaN ones too; only the
    finite rows are fitted).
    """

    def fit(self, X, y, sample_weight=None):
        X = validate_data(self, X, reset=True)
        self.y_seen_ = np.array(y, dtype=float)
        keep = np.isfinite(self.y_seen_)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight)
        A = np.hstack([X, np.ones((len(X), 1))])[keep] * np.sqrt(w[keep])[:, None]
        b = self.y_seen_[keep] * np.sqrt(w[keep])
        coef = np.linalg.lstsq(A, b, rcond=None)[0]
        self.coef_, self.intercept_ = coef[:-1], coef[-1]
        return self

    def predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False) @ self.coef_ + self.intercept_


def check_minus_one_is_a_regression_label(estimator):
    """In a regression, rows labelled -1.0 train the wrapped estimator.

    Only NaN marks an unlabelled row there: -1.0 is a real value (the low
    end of a valence scale). The ``estimator`` parameter is set to a
    regressor that records the labels it is fitted on, and the method is
    fitted twice, with ``sample_domain`` and in a plain Pipeline (domains
    inferred from the labels): on labels whose lowest source rows are
    exactly -1.0, and on the same labels with those rows at -0.999. The
    wrapped estimator must get no NaN and as many rows both times (a method
    that rescales the targets or resamples the rows, seeded, passes; one
    that drops the -1.0 rows as unlabelled does not). A method without an
    ``estimator`` parameter, or whose ``estimator_`` is not the fitted
    clone of it (an ensemble, say), is left to
    :func:`check_unlabeled_never_a_class` (finite predictions).
    """
    if not _regression(estimator) or "estimator" not in estimator.get_params():
        return
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    y_off = np.where(y == -1.0, -0.999, y)  # the same rows, no -1.0 among them
    name = type(estimator).__name__
    est = _seeded(estimator).set_params(estimator=_LabelSpyRegressor())
    for how in ("with sample_domain", "in a Pipeline without sample_domain"):
        seen = []
        for labels in (y, y_off):
            try:
                if how == "with sample_domain":
                    fitted = clone(est).fit(X, labels, sample_domain=sd)
                else:
                    fitted = _pipeline(clone(est)).fit(X, labels)[-1]
            except Exception as exc:
                raise AssertionError(
                    f"{name} with a plain least-squares regressor as estimator, "
                    f"fitted {how} on labels in [-1, 1] (NaN on target rows), "
                    f"raised {type(exc).__name__}: {str(exc).rstrip('.')}. If "
                    f"{name} cannot wrap such a regressor, name this check in "
                    "its _sertl_expected_failed_checks with the reason."
                ) from exc
            spy = getattr(fitted, "estimator_", None)
            if not isinstance(spy, _LabelSpyRegressor):
                return  # not observable here: the finite-predictions check stands
            assert not np.any(np.isnan(spy.y_seen_)), (
                f"{name} (fitted {how}) passed {int(np.isnan(spy.y_seen_).sum())} "
                "NaN labels to the estimator it wraps: NaN marks an unlabelled "
                "row; keep the rows that sertl_core.is_unlabeled(y, "
                "regression=True) marks out of its fit"
            )
            seen.append(spy.y_seen_.size)
        n_minus = int(np.sum(y[sd > 0] == -1.0))
        assert seen[0] == seen[1], (
            f"{name} (fitted {how}) dropped rows labelled -1.0: the estimator it "
            f"wraps got {seen[0]} rows when {n_minus} source rows are labelled "
            f"-1.0 and {seen[1]} when the same rows are labelled -0.999. In a "
            "regression -1.0 is a real value and only NaN marks an unlabelled "
            "row: find the unlabelled rows with sertl_core.is_unlabeled(y, "
            "regression=True), not with y == -1"
        )


def check_routing_modes(estimator):
    """A plain Pipeline gives the same result with metadata routing on and off.

    An adapter is followed by ``SourceOnly(LogisticRegression(max_iter=1000))``, which
    takes sparse rows too, so an adapter with sparse output is checked as
    it is. An estimator whose tags declare sparse input is also run on a
    CSR copy of the data.
    """
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    model = _pipeline(_seeded(estimator))
    params = {f"{name}__sample_domain": sd for name, _ in model.steps}
    inputs = [("dense X", X)]
    if _accepts_sparse(estimator):
        inputs.append(("sparse X", _sparsified(X)))
    for kind, Xi in inputs:
        off = _all_outputs(clone(model).fit(Xi, y, **params), Xi)
        with sklearn.config_context(enable_metadata_routing=True):
            on = _all_outputs(clone(model).fit(Xi, y, sample_domain=sd), Xi)
        _assert_same_output(
            off, on, where=f"routing on and off give different results ({kind})"
        )


def _seeded(estimator):
    est = clone(estimator)
    unset = {
        k: 0
        for k, v in est.get_params(deep=True).items()
        if (k == "random_state" or k.endswith("__random_state")) and v is None
    }
    return est.set_params(**unset) if unset else est


def check_clone_and_pickle(estimator):
    """Clones keep the parameters; a pickled fitted model gives the same output."""
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = _seeded(estimator)
    assert clone(est).get_params().keys() == est.get_params().keys()
    fitted, _ = _fit_output(est, X, y, sd)
    again = pickle.loads(pickle.dumps(fitted))
    # floats compared to rounding (as scikit-learn's own pickle check does):
    # a threaded predict_proba may sum in another order on each call
    _assert_same_output(
        _all_outputs(fitted, X, sd),
        _all_outputs(again, X, sd),
        where="a pickled copy gives another output",
    )
    copied = copy.deepcopy(fitted)
    assert type(copied) is type(fitted)


def check_random_state_determinism(estimator):
    """Two fits with the same ``random_state`` give the same output."""
    if "random_state" not in estimator.get_params():
        return
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = clone(estimator).set_params(random_state=0)
    a = _all_outputs(_fit_output(est, X, y, sd)[0], X, sd)
    b = _all_outputs(_fit_output(est, X, y, sd)[0], X, sd)
    _assert_same_output(a, b, where="random_state=0 is not deterministic")


def check_random_state_none_follows_numpy(estimator):
    """``random_state=None`` draws from numpy's global generator, as in scikit-learn.

    With ``random_state=None``, ``np.random.seed(0)`` before each of two
    fits must give the same output, as it does for scikit-learn's
    estimators (``check_random_state(None)`` is numpy's global
    ``RandomState``): a script seeded once at the top repeats. A fit that
    draws its randomness elsewhere when unseeded
    (``np.random.default_rng(None)``, ``torch.seed()``, the clock or the
    OS) differs from run to run whatever the script seeds. Estimators
    without a ``random_state`` parameter are skipped (scikit-learn's
    ``check_fit_idempotent`` fits them twice). numpy's global generator is
    given back as it was.
    """
    if "random_state" not in estimator.get_params():
        return
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = clone(estimator).set_params(random_state=None)
    saved = np.random.get_state()
    try:
        outs = []
        for _ in range(2):
            np.random.seed(0)
            outs.append(_all_outputs(_fit_output(est, X, y, sd)[0], X, sd))
    finally:
        np.random.set_state(saved)
    _assert_same_output(
        outs[0],
        outs[1],
        where=(
            "random_state=None does not follow numpy's global generator "
            "(np.random.seed(0) before each fit gave two models): when "
            "unseeded, draw from sklearn.utils.check_random_state(None), not "
            "from np.random.default_rng(None), torch.seed(), the clock or the OS"
        ),
    )


def _assert_refused(fit, word, accepted, *, ignore_case=False):
    """``fit()`` must raise a DomainError whose message mentions ``word``."""
    try:
        fit()
    except DomainError as exc:
        message = str(exc).lower() if ignore_case else str(exc)
        assert word in message, f"unclear message: {exc}"
    else:
        raise AssertionError(f"{accepted} was accepted")


def check_domain_errors(estimator):
    """Bad domain input gets a DomainError that says what is wrong.

    At ``fit``, and once fitted at ``transform`` (an adapter) or at
    ``predict`` and ``score`` (a transfer estimator): a ``sample_domain`` of
    the wrong length and one holding 0 are refused before any row is used.
    """
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = clone(estimator)
    bad = sd.copy()
    bad[0] = 0

    def refused(method, call):
        for domains, word, accepted in (
            (sd[:-1], "rows", "sample_domain of the wrong length"),
            (bad, "0", "sample_domain containing 0"),
        ):
            _assert_refused(
                functools.partial(call, domains), word, f"at {method}, {accepted}"
            )

    refused("fit", lambda d: clone(estimator).fit(X, y, sample_domain=d))
    fitted = _seeded(estimator).fit(X, y, sample_domain=sd)
    if isinstance(est, DomainAdapter):
        refused("transform", lambda d: fitted.transform(X, sample_domain=d))
    else:
        refused("predict", lambda d: fitted.predict(X, sample_domain=d))
        refused("score", lambda d: fitted.score(X, y, sample_domain=d))
    if getattr(est, "_needs_target", False):
        src = sd > 0
        _assert_refused(
            lambda: clone(estimator).fit(X[src], y[src], sample_domain=sd[src]),
            "target",
            "fit with an explicit sample_domain without target rows",
            ignore_case=True,
        )
    if isinstance(est, TransferEstimator):
        unl = y.copy()
        unl[0] = np.nan if _regression(est) else -1  # a source row without label
        _assert_refused(
            lambda: clone(estimator).fit(X, unl, sample_domain=sd),
            "unlabelled",
            "an unlabelled source row",
        )


def check_default_domain_is_target(estimator):
    """Without sample_domain at transform time, rows are treated as target.

    Checked on data with one target domain (``-1``), where
    ``transform(X)`` must equal ``transform(X, sample_domain=-1)``: the base
    ``transform`` passes ``-1`` for every row to ``_transform`` when
    ``sample_domain`` is omitted. Fitted on several target domains, an
    adapter may read omitted domains its own way by overriding
    ``transform`` (:class:`~sertl_core.DomainStandardScaler` pools its
    target domains' statistics), which this check does not see.
    """
    if not isinstance(estimator, DomainAdapter):
        return
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = clone(estimator).fit(X, y, sample_domain=sd)
    tgt = sd < 0
    np.testing.assert_allclose(
        _dense(est.transform(X[tgt])),
        _dense(est.transform(X[tgt], sample_domain=sd[tgt])),
        err_msg="transform(X) differs from transform(X, sample_domain=-1)",
    )


def check_multi_source_and_few_shot(estimator):
    """Several source domains and a few labelled target rows are accepted."""
    X, y, sd, y_tgt = make_domain_data(n_sources=2)
    y_few = y.copy()
    tgt = np.flatnonzero(sd < 0)
    y_few[tgt[:6]] = y_tgt[:6]
    y_few = _label_variants(estimator, X, y_few)[0]
    fitted, out = _fit_output(estimator, X, y_few, sd)
    assert out.shape[0] == X.shape[0], (
        f"output has {out.shape[0]} rows for {X.shape[0]} input rows"
    )
    if isinstance(fitted, TransferEstimator) and hasattr(fitted, "classes_"):
        assert -1 not in set(np.asarray(fitted.classes_).tolist()), (
            "the unlabelled marker -1 became a class with a few labelled "
            f"target rows: classes_={fitted.classes_}"
        )


def check_classifier_labels(estimator):
    """Binary and multiclass labels as ints, strings and objects round-trip.

    Replaces the part of sklearn's ``check_classifiers_classes`` that does not
    use ``-1`` as a class (``-1`` is the unlabelled marker, as in sklearn's
    own semi-supervised classifiers, which that check exempts by name).
    """
    if not isinstance(estimator, TransferEstimator) or estimator._is_regression():
        return
    X, y, sd, y_tgt = make_domain_data(n_classes=3)
    src, tgt = sd > 0, sd < 0
    for labels in (
        np.array([0, 1, 2]),
        np.array(["one", "two", "three"]),
        np.array(["one", "two", "three"], dtype=object),
        np.array([3, 7]),
        np.array(["no", "yes"]),
    ):
        k = labels.size
        keep = src & (y < k)
        yl = labels[y[keep]]
        marker = "-1" if labels.dtype.kind in "UO" else -1
        y_fit = np.concatenate([yl, np.full(tgt.sum(), marker, dtype=labels.dtype)])
        X_fit = np.vstack([X[keep], X[tgt]])
        sd_fit = np.concatenate([sd[keep], sd[tgt]])
        est = _seeded(estimator).fit(X_fit, y_fit, sample_domain=sd_fit)
        np.testing.assert_array_equal(
            np.sort(est.classes_),
            np.sort(np.unique(yl)),
            err_msg=f"classes_ should be the labelled classes {np.unique(yl)} "
            f"(the unlabelled marker {marker!r} is no class)",
        )
        pred = est.predict(X_fit)
        _assert_ndim(pred, 1, "predict", est)
        assert set(pred.tolist()) <= set(labels.tolist()), (
            f"predicted labels {set(pred.tolist())} outside {set(labels.tolist())}"
        )


def check_transform_follows_sample_domain(estimator):
    """``transform`` uses ``sample_domain`` as the adapter declares.

    An adapter declaring ``_transform_uses_domain = True`` must map the same
    rows differently as source and as target rows (one that ignores
    ``sample_domain`` would apply the source map to target rows in a
    Pipeline, or none at all); one declaring ``False`` must map them alike.
    An undeclared adapter (``None``) fails, with what its ``transform`` did.
    """
    if not isinstance(estimator, DomainAdapter):
        return
    declared = clone(estimator)._uses_domain_in_transform()
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = _seeded(estimator).fit(X, y, sample_domain=sd)
    rows = X[sd < 0]

    def output(domain):
        # each call on its own copy, its output copied: a transform that
        # writes into its input (check_inputs_not_mutated reports that) or
        # returns it must not make the two outputs differ or agree
        out = est.transform(rows.copy(), sample_domain=np.full(len(rows), domain))
        return np.array(_dense(out), copy=True)

    as_target = output(sd[sd < 0][0])
    as_source = output(sd[sd > 0][0])
    alike = as_target.shape == as_source.shape and np.allclose(as_target, as_source)
    name = type(estimator).__name__
    if declared is None:
        seen = (
            "gave different outputs for the same rows as source and as target "
            "rows (declare _transform_uses_domain = True)"
            if not alike
            else "mapped the same rows alike as source and as target rows "
            "(declare _transform_uses_domain = False)"
        )
        raise AssertionError(
            f"{name} does not declare whether transform uses sample_domain "
            f"(_transform_uses_domain is None); its transform {seen}."
        )
    if declared:
        assert not alike, (
            f"{name} declares that transform depends on sample_domain, but the "
            "same rows got the same output as source rows and as target rows: "
            "transform ignores sample_domain (or declare "
            "_transform_uses_domain = False)."
        )
    else:
        assert alike, (
            f"{name} declares one map for every domain "
            "(_transform_uses_domain = False), but the same rows got different "
            "outputs as source rows and as target rows."
        )


def _predictions(model, X, sample_domain):
    """``predict`` and its scores of a fitted transfer estimator, given the domains."""
    outs = {"predict": np.asarray(model.predict(X, sample_domain=sample_domain))}
    for method in ("predict_proba", "decision_function"):
        try:
            score = getattr(model, method)
        except AttributeError:  # not offered by this model (available_if)
            continue
        outs[method] = np.asarray(score(X, sample_domain=sample_domain))
    return outs


def check_predict_follows_sample_domain(estimator):
    """A prediction declared to ignore ``sample_domain`` does ignore it.

    A transfer estimator declaring ``_predict_uses_domain = False`` (or
    whose ``_uses_domain_in_predict()`` returns ``False``) must give the
    same rows the same ``predict``, ``predict_proba`` and
    ``decision_function`` as target rows, as source rows and without
    ``sample_domain``: sertl does not warn when such an estimator, frozen
    in a Pipeline (:class:`~sklearn.frozen.FrozenEstimator`), gets no
    ``sample_domain``, and a false declaration would hide that loss. An
    estimator declaring ``True`` or nothing (``None``, taken as ``True``)
    keeps the warning and is not checked.
    """
    if not isinstance(estimator, TransferEstimator):
        return
    if clone(estimator)._uses_domain_in_predict() is not False:
        return
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    est = _seeded(estimator).fit(X, y, sample_domain=sd)
    rows = X[sd < 0]
    n = len(rows)
    # each call on its own copy: a prediction that writes into its input
    # (check_inputs_not_mutated reports that) must not make them agree
    as_target = _predictions(est, rows.copy(), np.full(n, sd[sd < 0][0]))
    name = type(estimator).__name__
    for domain, given in ((sd[sd > 0][0], "as source rows"), (None, "without it")):
        _assert_same_output(
            as_target,
            _predictions(
                est, rows.copy(), None if domain is None else np.full(n, domain)
            ),
            where=f"{name} declares that its prediction ignores sample_domain "
            "(_predict_uses_domain = False), but the same rows got other outputs "
            f"as target rows and {given}: declare _predict_uses_domain = True "
            "(or leave it None), so that sertl warns where a Pipeline loses "
            "the domains",
        )


def check_transfer_parameters(estimator):
    """A transfer estimator takes ``estimator`` and ``sampler`` as parameters.

    scikit-learn reads the parameters from the ``__init__`` signature: a
    subclass that adds its own parameters but leaves ``sampler`` out of its
    signature (``super().__init__(estimator)``) refuses ``sampler=...`` and
    loses a sampler set on it when cloned.
    """
    if not isinstance(estimator, TransferEstimator):
        return
    params = estimator.get_params(deep=False)
    missing = [p for p in ("estimator", "sampler") if p not in params]
    name = type(estimator).__name__
    assert not missing, (
        f"{name}.__init__ lacks the parameter(s) {missing} of TransferEstimator, "
        "so clone and set_params lose them: write "
        "def __init__(self, estimator=None, *, sampler=None, ...) and call "
        "super().__init__(estimator, sampler=sampler)."
    )


def check_parameter_constraints(estimator):
    """``_parameter_constraints`` names parameters, and ``fit`` enforces it.

    Every key of the class's ``_parameter_constraints`` must be a parameter
    of ``get_params()`` or of a parent's ``__init__`` (a misspelt key checks
    nothing: a ``ValueError`` names it), and for each
    parameter with an :class:`~sertl_core.params.Interval` or
    :class:`~sertl_core.params.StrOptions` constraint, ``fit`` with a value
    outside them (a number past a bound, a string that is no option; a
    parameter whose constraints give no such value is not tried) must raise
    :class:`~sertl_core.params.InvalidParameterError` or another
    ``ValueError``/``TypeError`` naming the parameter: call
    ``self._validate_params()`` first thing in ``_fit``.
    """
    from .params import _check_estimator_constraint_keys, _invalid_value

    name = type(estimator).__name__
    constraints = getattr(estimator, "_parameter_constraints", None) or {}
    params = _check_estimator_constraint_keys(estimator)
    X, y, sd, _ = make_domain_data()
    y = _label_variants(estimator, X, y)[0]
    fix = "call self._validate_params() first thing in _fit"
    for param, allowed in constraints.items():
        bad = _invalid_value(allowed)
        if bad is None or param not in params:  # a parent's, left out
            continue
        est = _seeded(estimator).set_params(**{param: bad})
        call = f"{name}({param}={bad!r}).fit(X, y, sample_domain=sd)"
        try:
            est.fit(X, y, sample_domain=sd)
        except (ValueError, TypeError) as exc:
            assert param in str(exc), (
                f"{call} raised {type(exc).__name__} without naming the parameter "
                f"{param!r}: {exc}; {fix}, which says what is wrong"
            )
        except Exception as exc:
            raise AssertionError(
                f"{call} raised {type(exc).__name__}: {exc}, not the "
                f"InvalidParameterError of _parameter_constraints: {fix}"
            ) from exc
        else:
            raise AssertionError(
                f"{call} was accepted, though _parameter_constraints does not "
                f"allow {bad!r} for {param!r}: {fix}"
            )


# -- invariance to what must not matter: domain names, row order --------------

_DOMAIN_RENAMINGS = (
    {1: 3, 2: 7, -2: -5},  # other names, the same order
    {1: 2, 2: 1},  # the two sources swapped: another order
)
"""Renamings of :func:`check_domain_id_invariance`; unnamed ids keep theirs.

Target domain ``-1`` keeps its id: ``transform(X)`` without
``sample_domain`` maps rows as domain ``-1``.
"""

# Float noise allowed where only an order of summation changes: an iterative
# solver (lbfgs) or float32 network sums the rows in another order.
_ORDER_RTOL, _ORDER_ATOL = 1e-5, 1e-6


def _domain_id_data(estimator):
    """Rows of source domains 1, 2 and target domains -1 and -2, and a fit.

    Domain -2 has six labelled rows (few-shot), domain -1 none. An
    estimator that refuses a second target domain (a ``ValueError`` at
    fit) gets sources 1, 2 and target -1 only. Returns ``X``, ``y``,
    ``sample_domain`` and the fitted (seeded) estimator.
    """
    X, y, sd, _ = make_domain_data(n_sources=3)
    third = np.flatnonzero(sd == 3)
    y = y.copy()
    y[third[6:]] = -1  # unlabelled target rows but for six
    sd = np.where(sd == 3, -2, sd)
    y = _label_variants(estimator, X, y)[0]
    try:
        return X, y, sd, _seeded(estimator).fit(X, y, sample_domain=sd)
    except ValueError:  # one target domain only: the sources are renamed still
        X, y, sd, _ = make_domain_data(n_sources=2)
        y = _label_variants(estimator, X, y)[0]
        return X, y, sd, _seeded(estimator).fit(X, y, sample_domain=sd)


def _invariance_outputs(model, X, sample_domain):
    """Every output of a fitted model, with and without ``sample_domain``."""
    outs = _kind_outputs(model, X, sample_domain)
    if isinstance(model, DomainAdapter):
        outs["transform without sample_domain"] = _dense(model.transform(X))
    return outs


def check_domain_id_invariance(estimator):
    """Renaming the domains changes no output: ids are names, not values.

    The same rows are fitted with source domains ``1, 2`` and target
    domains ``-1, -2`` (six labelled rows in ``-2``), then with the ids
    renamed (``{1: 3, 2: 7, -2: -5}``, and the two sources swapped), and
    transformed or predicted with their renamed ``sample_domain`` (and
    without it): every output must be the same, floats up to the noise of
    another order of summation. Only the sign of an id has a meaning, and
    ``-1`` (the domain of rows given without ``sample_domain``) keeps its
    id. An estimator that treats id ``1`` as "the source", builds arrays
    indexed by the id, or lets the sorted order of the ids pick which domain
    gets what fails. One that refuses a second target domain is checked
    with target ``-1`` only.
    """
    X, y, sd, model = _domain_id_data(estimator)
    expected = _invariance_outputs(model, X, sd)
    for renaming in _DOMAIN_RENAMINGS:
        named = np.array([renaming.get(int(d), int(d)) for d in sd], dtype=np.int64)
        fitted = _seeded(estimator).fit(X, y, sample_domain=named)
        _assert_same_output(
            expected,
            _invariance_outputs(fitted, X, named),
            where=f"renaming the domain ids {renaming} in fit and at prediction "
            "changed the output: only the sign of an id may matter (look for "
            "an id compared with a constant, arrays indexed by id, or the "
            "sorted order of the ids deciding which domain gets what)",
            rtol=_ORDER_RTOL,
            atol=_ORDER_ATOL,
        )


def check_row_order_invariance(estimator):
    """Shuffled training rows give the same fitted model.

    The rows of fit are shuffled together with ``y``, ``sample_domain`` and
    ``sample_weight`` (where ``fit`` takes it); every output on the rows in
    their first order must be the same, floats up to the noise of another
    order of summation. A method whose fit legitimately depends on the
    order of the rows (mini-batch SGD, landmarks, centres or folds drawn by
    row position with ``random_state``, folds of consecutive rows) names
    this check in its ``_sertl_expected_failed_checks`` with the reason;
    :func:`check_row_order_equivariance` still applies to it. A transfer
    estimator whose wrapped estimator fails this by itself (``SVC``, whose
    solver stops at a tolerance reached along another path) is exempt, and
    so is one whose ``fit`` takes ``sample_weight`` around an estimator that
    does not (``KNeighborsRegressor``): the weights then reach it through a
    seeded weighted resample, which depends on the order of the rows.
    """
    X, y, sd, model = _domain_id_data(estimator)
    given = {"y": y, "sample_domain": sd}
    if has_fit_parameter(estimator, "sample_weight"):
        given["sample_weight"] = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
        model = _seeded(estimator).fit(X, **given)
    order = np.random.default_rng(1).permutation(len(y))
    shuffled = _seeded(estimator).fit(
        X[order], **{k: v[order] for k, v in given.items()}
    )
    _assert_same_output(
        _invariance_outputs(model, X, sd),
        _invariance_outputs(shuffled, X, sd),
        where="fitted on the same rows shuffled (with y, sample_domain and, where "
        "fit takes it, sample_weight), it gives another model: if the fit "
        "legitimately depends on row order, name check_row_order_invariance in "
        "_sertl_expected_failed_checks with the reason",
        rtol=_ORDER_RTOL,
        atol=_ORDER_ATOL,
    )


def check_row_order_equivariance(estimator):
    """Permuted rows at prediction time give the permuted output.

    ``transform``, ``predict``, ``predict_proba`` and ``decision_function``
    of the rows in another order (with their ``sample_domain``, and without
    it) must give each row the output it had: no state crosses rows at
    prediction time except statistics of a whole batch, which do not
    depend on its order (``DomainStandardScaler(target_stats="batch")``
    scales each target domain of a batch with that domain's statistics in
    the batch, and passes). This applies to stochastic estimators too.
    """
    X, y, sd, model = _domain_id_data(estimator)
    expected = _invariance_outputs(model, X, sd)
    order = np.random.default_rng(1).permutation(len(y))
    _assert_same_output(
        {k: v[order] for k, v in expected.items()},
        _invariance_outputs(model, X[order], sd[order]),
        where="the rows given in another order did not get the outputs they had "
        "(the outputs of a row must not depend on where it is in the batch)",
        rtol=_ORDER_RTOL,
        atol=_ORDER_ATOL,
    )


def _row_order_dependence(inner, regression):
    """Why ``inner`` alone gives another model on shuffled rows, or None.

    Fitted on the labelled source rows of :func:`make_domain_data` as they
    are and shuffled, compared by :func:`_all_outputs` on every row.
    """
    X, y, sd, _ = make_domain_data()
    rows = sd > 0
    X, y = X[rows], y[rows]
    if regression:
        y = _regression_labels(X, y)
    order = np.random.default_rng(1).permutation(len(y))
    inner = _seeded(inner)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = _all_outputs(clone(inner).fit(X, y), X)
            shuffled = _all_outputs(clone(inner).fit(X[order], y[order]), X)
    except Exception:  # noqa: BLE001 - reported by the check itself
        # a wrapped estimator that cannot be fitted on these rows exempts
        # nothing: the check then runs and fails with the estimator's own
        # error, instead of this probe breaking the collection of every check
        return None
    try:
        _assert_same_output(plain, shuffled, rtol=_ORDER_RTOL, atol=_ORDER_ATOL)
    except AssertionError:
        return (
            f"the wrapped {type(inner).__name__} alone gives another model on "
            "shuffled rows (its solver stops at a tolerance, reached along "
            "another path): the rows go to that estimator"
        )
    return None


def _resampled_for_weights(estimator, inner):
    """Why ``estimator``'s weighted fit is a resample of the rows, or None.

    The checks give weights to a ``fit`` that takes ``sample_weight``; a
    wrapped estimator that cannot take them (``KNeighborsRegressor``,
    ``KNeighborsClassifier``) is trained on a seeded weighted resample of
    the rows instead (:meth:`~sertl_core.TransferEstimator._fit_estimator`):
    a weight of 2 is then no repeated row, and the same draw picks other
    rows when the rows come in another order.
    """
    if not has_fit_parameter(estimator, "sample_weight"):
        return None
    if sample_weight_keyword(clone(inner)) is not None:
        return None
    return (
        f"the wrapped {type(inner).__name__} takes no sample_weight, so the "
        "weights reach it through a seeded weighted resample of the rows: a "
        "weight of 2 is no repeated row, and rows in another order are drawn "
        "otherwise"
    )


_SERTL_CHECKS = (
    check_classifier_labels,
    check_transfer_parameters,
    check_parameter_constraints,
    check_registry_name,
    check_inputs_not_mutated,
    check_array_like_inputs,
    check_no_global_state_change,
    check_global_pandas_output,
    check_unlabeled_never_a_class,
    check_minus_one_is_a_regression_label,
    check_routing_modes,
    check_clone_and_pickle,
    check_random_state_determinism,
    check_random_state_none_follows_numpy,
    check_domain_errors,
    check_default_domain_is_target,
    check_multi_source_and_few_shot,
    check_transform_follows_sample_domain,
    check_predict_follows_sample_domain,
    check_feature_names_out,
    check_domain_id_invariance,
    check_row_order_invariance,
    check_row_order_equivariance,
)


def sertl_checks(estimator, *, expected_failed_checks=None):
    """Yield ``(estimator, check)`` pairs of sertl's transfer checks.

    Parameters
    ----------
    estimator : estimator instance
        A :class:`~sertl_core.DomainAdapter` or
        :class:`~sertl_core.TransferEstimator`; other estimators get only the
        registry-name check.
    expected_failed_checks : dict of str to str, default=None
        Check names mapped to the reason they do not apply.

    Yields
    ------
    estimator : estimator instance
    check : callable
        ``check(estimator)`` raises on failure.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler
    >>> from sertl_core.testing import sertl_checks
    >>> for est, check in sertl_checks(DomainStandardScaler()):
    ...     check(est)
    """
    expected = expected_failed_checks or {}
    checks = _SERTL_CHECKS if _is_transfer(estimator) else (check_registry_name,)
    for func in checks:
        if func.__name__ in expected:
            continue
        yield estimator, _Check(func, func.__name__, quiet_no_target=False)


def _all_checks(estimator, expected, mark):
    for item in estimator_checks_generator(
        estimator, expected_failed_checks=expected, mark=mark
    ):
        if isinstance(item, tuple) and len(item) == 2:
            est, check = item
            yield est, _Check(check, _check_name(check))
        else:  # a pytest.param carrying an xfail mark
            yield None, item
    yield from sertl_checks(estimator, expected_failed_checks=expected)


_INAPPLICABLE_TO_TRANSFER_ESTIMATORS = {
    "check_classifiers_classes": (
        "uses -1 as a class, which is sertl's unlabelled marker (scikit-learn "
        "exempts its own semi-supervised classifiers by name); "
        "check_classifier_labels covers the other label types"
    ),
}


# checks a transfer estimator can pass only when the estimator it wraps does
_INHERITED_FROM_THE_WRAPPED_ESTIMATOR = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


def _failed_by_wrapped_estimator(estimator, known=()):
    """The checks that the wrapped estimator alone fails.

    A transfer estimator that takes ``sample_weight`` hands the weights to
    the estimator it wraps; when that estimator does not treat a weight of
    2 as a repeated row (``SVC``, for one), the wrapper cannot either. The
    check is run on the wrapped estimator itself, and only its own failure
    exempts the wrapper. So with :func:`check_row_order_invariance`: a
    wrapped estimator whose own fit depends on the order of the rows
    exempts the wrapper. A wrapped estimator that takes no weights at all
    (``KNeighborsRegressor``) is trained on a weighted resample of the rows
    (:func:`_resampled_for_weights`), which exempts the wrapper from all of
    these checks. Checks in ``known`` (already expected to fail) are not run.
    """
    if not isinstance(estimator, TransferEstimator):
        return {}
    inner = estimator._get_estimator()
    out = {}
    resampled = _resampled_for_weights(estimator, inner)
    if "check_row_order_invariance" not in known:
        reason = _row_order_dependence(inner, estimator._is_regression())
        if reason is None:
            reason = resampled
        if reason is not None:
            out["check_row_order_invariance"] = reason
    if resampled is not None:
        for name in _INHERITED_FROM_THE_WRAPPED_ESTIMATOR:
            if hasattr(sklearn_checks, name) and name not in known:
                out[name] = resampled
        return out
    if not has_fit_parameter(estimator, "sample_weight"):
        return out
    if not has_fit_parameter(inner, "sample_weight"):
        return out
    for name in _INHERITED_FROM_THE_WRAPPED_ESTIMATOR:
        check = getattr(sklearn_checks, name, None)
        if check is None or name in known:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check(type(inner).__name__, clone(inner))
        except unittest.SkipTest:
            continue
        except Exception as exc:  # the wrapped estimator fails it by itself
            out[name] = (
                f"the wrapped {type(inner).__name__} fails it by itself "
                f"({type(exc).__name__}): sample_weight goes to that estimator"
            )
    return out


def _expected(expected_failed_checks, estimator):
    """Every expected failure of ``estimator``: the caller's, its class's, the kit's.

    The caller's ``expected_failed_checks`` and the class attribute
    ``_sertl_expected_failed_checks`` are checked each on its own
    (:func:`_check_reasons`), so that a bad entry is reported where it is.
    """
    if callable(expected_failed_checks):
        expected = _reasons(
            expected_failed_checks(estimator), "what expected_failed_checks returned"
        )
    else:
        expected = _reasons(expected_failed_checks, "expected_failed_checks")
    _check_reasons(expected, "expected_failed_checks")
    if isinstance(estimator, TransferEstimator) and not estimator._is_regression():
        for k, v in _INAPPLICABLE_TO_TRANSFER_ESTIMATORS.items():
            expected.setdefault(k, v)
    # a class names the checks that do not apply to it, each with a reason
    source = f"{type(estimator).__name__}._sertl_expected_failed_checks"
    declared = _reasons(
        getattr(estimator, "_sertl_expected_failed_checks", None), source
    )
    _check_reasons(declared, source)
    wrapped = _failed_by_wrapped_estimator(estimator, known={**expected, **declared})
    for k, v in {**declared, **wrapped}.items():
        expected.setdefault(k, v)
    return expected


def parametrize_with_checks(estimators, *, expected_failed_checks=None):
    """Pytest decorator running sklearn's and sertl's checks on each estimator.

    Parameters
    ----------
    estimators : list of estimator instances
        The estimators to check.
    expected_failed_checks : dict or callable, default=None
        ``{check_name: reason}`` for checks that genuinely do not apply, or a
        callable ``estimator -> dict``. Those sklearn checks are marked xfail
        and those sertl checks are skipped; every entry needs a reason and
        must name a check of scikit-learn or sertl (a misspelt name raises
        a ``ValueError`` instead of exempting nothing).

    Returns
    -------
    decorator : pytest.MarkDecorator
        Parametrizes ``(estimator, check)``; the test calls ``check(estimator)``.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler
    >>> from sertl_core.testing import parametrize_with_checks
    >>> @parametrize_with_checks([DomainStandardScaler()])
    ... def test_conformance(estimator, check):
    ...     check(estimator)
    """
    import pytest

    params = []
    for est in estimators:
        if isinstance(est, type):
            raise TypeError(
                f"Pass estimator instances, not the class {est.__name__}: "
                f"use {est.__name__}()."
            )
        expected = _expected(expected_failed_checks, est)
        for e, check in _all_checks(est, expected, "xfail"):
            if isinstance(check, _Check):
                params.append(pytest.param(e, check, id=f"{_one_line(e)}-{check.name}"))
            else:  # keep sklearn's xfail mark, name it like the others
                e, func = check.values
                name = _check_name(func)
                params.append(
                    pytest.param(
                        e,
                        _Check(func, name),
                        marks=check.marks,
                        id=f"{_one_line(e)}-{name}",
                    )
                )
    return pytest.mark.parametrize(("estimator", "check"), params)


def _reasons(value, source):
    """Return ``value``, ``{check name: reason}`` or None, as a dict; refuse the rest.

    A list of names (no reasons) or a dict keyed by estimator class (meant
    per estimator) raised a bare ``ValueError`` or ``TypeError`` from deep
    inside the kit.
    """
    from collections.abc import Mapping

    if value is None:
        return {}
    bad = (
        None
        if not isinstance(value, Mapping)
        else next((k for k in value if not isinstance(k, str)), None)
    )
    if not isinstance(value, Mapping) or bad is not None:
        got = (
            f"a {type(value).__name__}"
            if bad is None
            else f"a dict with the key {bad!r}, not a check's name"
        )
        # the advice of a callable is for the dict passed itself (not for a
        # class attribute, nor for what the user's callable returned)
        per_estimator = (
            ""
            if source != "expected_failed_checks"
            else " To exempt some estimators only, pass expected_failed_checks "
            "a callable, e.g. lambda est: {'check_name': 'why'} if "
            "isinstance(est, MyAdapter) else {}."
        )
        raise TypeError(
            f"{source} must be a dict {{check name: reason}}; got {got}: every "
            f"entry needs its reason.{per_estimator}"
        )
    return dict(value)


def _check_reasons(expected, source):
    """Refuse entries without a reason and names that are no check at all.

    A misspelt name would exempt nothing: the check it meant still runs.
    ``source`` names where the entries come from in the message (the
    ``expected_failed_checks`` argument or a class's
    ``_sertl_expected_failed_checks``).
    """
    empty = [k for k, v in expected.items() if not str(v).strip()]
    if empty:
        raise ValueError(f"{source} entries need a reason: {empty} have none.")
    known = {f.__name__ for f in _SERTL_CHECKS} | {
        n for n in dir(sklearn_checks) if n.startswith("check_")
    }
    unknown = sorted(set(expected) - known)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hints.append(
                f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        raise ValueError(
            f"{source} names no check called {', '.join(hints)}: "
            "use the names of scikit-learn's checks (sklearn.utils."
            "estimator_checks) or sertl's (sertl_core.testing), as they appear "
            "in the test ids."
        )


def check_estimator(estimator, *, expected_failed_checks=None):
    """Run sklearn's and sertl's checks; raise once, listing every failure.

    Parameters
    ----------
    estimator : estimator instance
        The estimator to check.
    expected_failed_checks : dict of str to str, default=None
        ``{check_name: reason}`` for checks that genuinely do not apply; a
        name that is no check of scikit-learn or sertl raises a
        ``ValueError``.

    Returns
    -------
    passed : list of str
        Names of the checks that ran and passed.

    Raises
    ------
    AssertionError
        Listing each failed check with its error.

    Examples
    --------
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.testing import check_estimator
    >>> len(check_estimator(SourceOnly())) > 40
    True
    """
    expected = _expected(expected_failed_checks, estimator)
    passed, failed, skipped = [], [], []
    for est, check in _all_checks(estimator, expected, None):
        name = getattr(check, "name", "")
        if name in expected:
            continue
        try:
            check(est)
        except unittest.SkipTest as exc:
            skipped.append(f"{name}: {exc}")
        except Exception as exc:  # collect every failure, then report them all
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            passed.append(name)
    if failed:
        raise AssertionError(
            f"{type(estimator).__name__} failed {len(failed)} check(s):\n"
            + "\n".join(failed)
        )
    return passed
