"""The public functions take the inputs users have and leave them unchanged.

Arrays (features, labels with the ``"-1"`` marker, domains, speakers, file
paths) are given read-only (a memory map, as joblib's workers get them), as
non-contiguous read-only views, as pandas objects (a Series with the
shuffled index ``train_test_split`` or a filtered table leaves) and as
lists: the result must be that of plain arrays. TransferVote is checked by
the conformance kit.
"""

import inspect

import numpy as np
import pytest
import sertl_experiments as se

from sertl_core.testing import (
    INPUT_KINDS,
    check_function_input_kinds,
    make_domain_data,
    parametrize_with_input_kinds,
)

X, Y, SD, _ = make_domain_data(n_per_domain=20, n_features=4)
CLASSES = np.array(["anger", "neutral", "sadness"], dtype=object)
Y_STR = np.where(Y < 0, "-1", CLASSES[np.maximum(Y, 0)]).astype(object)
SPEAKERS = np.array([f"s{i % 9}" for i in range(len(Y))], dtype=object)
_rng = np.random.default_rng(0)
TRUE = CLASSES[_rng.integers(0, 3, 60)]
PRED = np.where(_rng.uniform(size=60) < 0.7, TRUE, CLASSES[_rng.integers(0, 3, 60)])
GROUPS = np.array([f"s{i % 6}" for i in range(60)], dtype=object)
RECIPES = [
    se.Recipe("none", scaling="source"),
    se.Recipe("dss"),
    se.Recipe("spk", scaling="speaker"),
]


def _evaluate(X, y, sample_domain, speakers):
    results, best = se.evaluate(RECIPES, X, y, sample_domain, speakers, n_splits=2)
    return [[r["scores"][k] for k in sorted(r["scores"])] for r in results], best


CASES = {
    "confusion": (se.confusion, {"y_true": TRUE, "y_pred": PRED, "labels": CLASSES}),
    "score_all": (se.score_all, {"y_true": TRUE, "y_pred": PRED, "labels": CLASSES}),
    "bootstrap_ci": (
        lambda y_true, y_pred, labels, groups: se.bootstrap_ci(
            y_true, y_pred, labels, n_boot=50, groups=groups
        ),
        {"y_true": TRUE, "y_pred": PRED, "labels": CLASSES, "groups": GROUPS},
    ),
    "mmd_rbf": (
        lambda a, b: se.mmd_rbf(a, b, max_samples=30),
        {"a": X[SD > 0], "b": X[SD < 0]},
    ),
    "proxy_a_distance": (
        lambda a, b: se.proxy_a_distance(a, b, cv=2, max_samples=30),
        {"a": X[SD > 0], "b": X[SD < 0]},
    ),
    "evaluate": (
        _evaluate,
        {"X": X, "y": Y_STR, "sample_domain": SD, "speakers": SPEAKERS},
    ),
}
# and predict_files, whose audio model is a fixture (not made at collection):
# test_predict_files_takes_files_of_any_kind

# public names that take no arrays, or only paths and configurations (their
# tests cover them), or classes the conformance kit checks
NO_ARRAYS = {
    "dask_client",
    "default_candidates",
    "load_config",
    "load_model",
    "make_classifier",
    "parse_config",
    "run_experiment",
    "save_model",
    "train_model",  # lists of files and labels, as predict_files
}


@parametrize_with_input_kinds(CASES)
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    func, inputs, kind, tmp_path
):
    check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_predict_files_takes_files_of_any_kind(small_audio_model, kind, tmp_path):
    model, files = small_audio_model
    files = np.array(files, dtype=object)

    def labels_and_errors(files):
        return [(r["emotion"], r["error"]) for r in se.predict_files(model, files)]

    check_function_input_kinds(
        labels_and_errors, {"files": files}, tmp_path=tmp_path, kinds=[kind]
    )


def test_every_public_function_is_covered():
    names = {n for n in se.__all__ if inspect.isfunction(getattr(se, n))}
    assert {"evaluate", "bootstrap_ci", "predict_files"} <= names
    covered = {*CASES, "predict_files"}  # the last in its own test, above
    assert names - covered - NO_ARRAYS == set(), "add these to CASES"
