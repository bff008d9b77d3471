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
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import BaseCrossValidator

import sertl_core
from sertl_core import SourceOnly, model_selection
from sertl_core.testing import (
    check_function_input_kinds,
    make_domain_data,
    parametrize_with_input_kinds,
)

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
    "as_target_domain": (
        lambda sd: sertl_core.as_target_domain(sd, len(SD)),
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


# the scorers' models were fitted on arrays: a DataFrame's named columns get
# scikit-learn's notice, and must still give the same scores
@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")
@parametrize_with_input_kinds(CASES)
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    func, inputs, kind, tmp_path
):
    check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])


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
