"""Every public function, splitter and scorer of the core takes the inputs users have.

``sample_domain``, labels with the ``-1`` marker, ``sample_weight`` and
groups are given read-only (a memory map, as joblib's workers get them),
as non-contiguous read-only views, as pandas Series with a shuffled index
and as lists: the result must be that of plain arrays and the inputs must
be left unchanged. The estimators are checked by the conformance kit
(``check_inputs_not_mutated``, ``check_array_like_inputs``).
"""

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import BaseCrossValidator

import sertl_core
from sertl_core import SourceOnly, model_selection
from sertl_core.testing import make_domain_data

X, Y, SD, Y_TARGET = make_domain_data(n_per_domain=20, n_features=4)
Y_FEW = Y.copy()
Y_FEW[np.flatnonzero(SD < 0)[:8]] = Y_TARGET[:8]
Y_STR = np.where(Y < 0, "-1", np.char.add("c", Y.astype(str)))
Y_REG = np.where(Y < 0, np.nan, X[:, 0])
W = np.random.default_rng(0).uniform(0.5, 1.5, len(Y))
SPEAKERS = np.array([f"s{i % 7}" for i in range(len(Y))], dtype=object)
NAMES = np.array(["emodb"] * 10 + ["ravdess"] * 10 + ["tess"] * 5, dtype=object)
CLF = SourceOnly(LogisticRegression()).fit(X, Y, sample_domain=SD)
REG = SourceOnly(Ridge()).fit(X, Y_REG, sample_domain=SD)


def _splits(cv, y):
    def call(X, y, groups, sample_domain):
        folds = cv.split(X, y, groups, sample_domain=sample_domain)
        n = cv.get_n_splits(X, y, groups, sample_domain=sample_domain)
        return [n] + [list(fold) for fold in folds]

    return call, {"X": X, "y": y, "groups": SPEAKERS, "sample_domain": SD}


def _scores(scorer, model, y, weights=True):
    def call(X, y, sample_domain, sample_weight=None):
        kw = {} if sample_weight is None else {"sample_weight": sample_weight}
        return scorer(model, X, y, sample_domain=sample_domain, **kw)

    inputs = {"X": X, "y": y, "sample_domain": SD}
    return call, {**inputs, "sample_weight": W} if weights else inputs


ms = model_selection
CASES = {
    "check_known_domains": (
        lambda sd, known: sertl_core.check_known_domains(sd, known),
        {"sd": SD, "known": np.array([1, 2, -1])},
    ),
    "check_sample_domain": (
        lambda sd: sertl_core.check_sample_domain(sd, len(SD)),
        {"sd": SD},
    ),
    "domains_from_names": (
        lambda names, targets: sertl_core.domains_from_names(names, targets),
        {"names": NAMES, "targets": np.array(["tess"], dtype=object)},
    ),
    "infer_sample_domain": (sertl_core.infer_sample_domain, {"y": Y}),
    "infer_sample_domain/str": (sertl_core.infer_sample_domain, {"y": Y_STR}),
    "infer_sample_domain/regression": (
        lambda y: sertl_core.infer_sample_domain(y, regression=True),
        {"y": Y_REG},
    ),
    "is_unlabeled": (sertl_core.is_unlabeled, {"y": Y}),
    "is_unlabeled/str": (sertl_core.is_unlabeled, {"y": Y_STR}),
    "source_mask": (sertl_core.source_mask, {"sample_domain": SD}),
    "target_mask": (sertl_core.target_mask, {"sample_domain": SD}),
    "concordance_correlation": (
        ms.concordance_correlation,
        {"y_true": X[:, 0], "y_pred": X[:, 1], "sample_weight": W},
    ),
    "LeaveOneDomainOut": _splits(ms.LeaveOneDomainOut(domains="all"), Y),
    "SourceTargetShuffleSplit": _splits(
        ms.SourceTargetShuffleSplit(n_splits=2, random_state=0), Y
    ),
    "TargetLabelSplit": _splits(ms.TargetLabelSplit(n_splits=2, random_state=0), Y_FEW),
    "TargetScorer": _scores(ms.TargetScorer(), CLF, Y_FEW),
    "PredictionEntropyScorer": _scores(ms.PredictionEntropyScorer(), CLF, Y),
    "ImportanceWeightedScorer": _scores(ms.ImportanceWeightedScorer(), CLF, Y),
    "ImportanceWeightedScorer/regression": _scores(
        ms.ImportanceWeightedScorer(metric="ccc"), REG, Y_REG
    ),
    "DeepEmbeddedValidationScorer": _scores(
        ms.DeepEmbeddedValidationScorer(), CLF, Y, weights=False
    ),
    "ReverseValidationScorer": _scores(
        ms.ReverseValidationScorer(), CLF, Y, weights=False
    ),
}

# public names that take no arrays (or are checked elsewhere)
NO_ARRAYS = {
    "external_stacklevel",
    "get_registry",
    "make_plugin_manager",
    "DomainAwareScorer",  # the base class of the scorers above
}


def _strided(a):
    wide = np.repeat(a, 2, axis=a.ndim - 1)
    view = wide[:, ::2] if a.ndim == 2 else wide[::2]
    view.setflags(write=False)
    return view


def _memmap(a, path):
    np.save(path, a, allow_pickle=False)
    return np.load(path, mmap_mode="r")


def _series(a):
    if a.ndim == 2:
        return pd.DataFrame(a)
    index = np.random.default_rng(0).permutation(len(a)) + 1000
    return pd.Series(a, index=index)


KINDS = ["read-only", "memmap", "strided", "pandas", "list"]


def _as_kind(a, kind, path):
    if kind == "read-only":
        b = a.copy()
        b.setflags(write=False)
        return b
    if kind == "memmap":
        if a.dtype.kind == "O":
            return _as_kind(a, "read-only", path)
        return _memmap(a, path)
    if kind == "strided":
        return _strided(a)
    if kind == "pandas":
        return _series(a)
    return a.tolist()


def _same(a, b):
    if isinstance(a, list | tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
        return
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(b, a, rtol=1e-12)
    else:
        np.testing.assert_array_equal(b, a)


def _snapshot(v):
    return v.copy(deep=True) if isinstance(v, pd.Series | pd.DataFrame) else list(v)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    case, kind, tmp_path
):
    func, inputs = CASES[case]
    plain = {k: a.copy() for k, a in inputs.items()}
    expected = func(**plain)
    for k, a in plain.items():  # ordinary arrays: not written either
        np.testing.assert_array_equal(a, inputs[k], err_msg=f"{k} was modified")
        assert a.dtype == inputs[k].dtype
    given = {k: _as_kind(a, kind, tmp_path / f"{k}.npy") for k, a in inputs.items()}
    before = {k: _snapshot(v) for k, v in given.items()}
    _same(expected, func(**given))
    for k, v in given.items():
        if isinstance(v, pd.Series | pd.DataFrame):
            assert v.equals(before[k]), f"{k} was modified"
        else:
            _same(before[k], list(v))


def test_every_public_callable_is_covered():
    # a new public function, splitter or scorer must join CASES (or NO_ARRAYS)
    kinds = (model_selection.DomainAwareScorer, BaseCrossValidator)
    names = {
        name
        for module in (sertl_core, model_selection)
        for name in module.__all__
        if inspect.isfunction(obj := getattr(module, name))
        or (inspect.isclass(obj) and issubclass(obj, kinds))
    }
    assert {"infer_sample_domain", "TargetScorer", "LeaveOneDomainOut"} <= names
    covered = {case.split("/")[0] for case in CASES} | NO_ARRAYS
    assert names - covered == set(), "add these to CASES"
