"""The domain-mismatch note of predict_files and `sertl predict`."""

import json
from pathlib import Path

import numpy as np
import pytest
from sertl_experiments._cli import main
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sertl_core import DomainStandardScaler, SourceOnly


class _Lookup(TransformerMixin, BaseEstimator):
    """A feature step that maps a name to a stored row (no audio)."""

    def __init__(self, table=None):
        self.table = table

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.array([self.table[x] for x in X])


def _dss_model(Xs, Xt):
    """Per-domain scaling and a source-only logistic regression, fitted.

    Source rows ``Xs`` are labelled by their first feature (anger above 5,
    sadness below); target rows ``Xt`` are unlabelled.
    """
    X = np.r_[Xs, Xt]
    y = np.r_[np.where(Xs[:, 0] > 5, "anger", "sadness"), np.full(len(Xt), "-1")]
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    return Pipeline(
        [("scale", DomainStandardScaler()), ("model", SourceOnly(LogisticRegression()))]
    ).fit(X, y, scale__sample_domain=sd, model__sample_domain=sd)


@pytest.fixture(scope="module")
def synthetic_model():
    """A dss-like model on 20 features, its target N(0, 1), and a feature table."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(120, 20)) * 2 + 5  # the source: another setup
    rest = _dss_model(Xs, rng.normal(size=(120, 20)))
    table = {f"t{i}.wav": row for i, row in enumerate(rng.normal(size=(40, 20)))}
    # the same kind of files from another setup: every feature 3 SDs off
    table |= {f"s{i}.wav": row + 3 for i, row in enumerate(rng.normal(size=(40, 20)))}
    model = Pipeline([("features", _Lookup(table)), *rest.steps])
    return model


def test_a_shifted_batch_gets_one_note_and_the_same_labels(synthetic_model):
    from sertl_experiments import predict_files
    from sertl_experiments._predict import (
        MIN_MISMATCH_FILES,
        domain_shift,
        mismatch_threshold,
    )

    model = synthetic_model
    own = [f"t{i}.wav" for i in range(20)]
    other = [f"s{i}.wav" for i in range(20)]
    rows = predict_files(model, own)
    assert rows.notes == []
    assert all(r["warnings"] == [] for r in rows)
    rows = predict_files(model, other)
    [note] = rows.notes
    assert note.startswith("domain mismatch: these 20 files")
    X = model[0].transform(other)
    scaler = model.named_steps["scale"]
    shift = domain_shift(X, scaler.target_mean_, scaler.target_scale_)
    assert shift > 2.5
    assert f"lie {shift:.2f} of the target's" in note
    assert f"threshold {mismatch_threshold(20):.2f} for 20 files" in note
    assert "--new-domain" in note and "sertl run" in note
    # the labels are the model's own, and the rows a plain list's
    assert [r["emotion"] for r in rows] == list(model.predict(other))
    assert json.loads(json.dumps(rows)) == [dict(r) for r in rows]
    # fewer files than MIN_MISMATCH_FILES: the shift is noise, no note
    assert predict_files(model, other[: MIN_MISMATCH_FILES - 1]).notes == []
    assert len(predict_files(model, other[:MIN_MISMATCH_FILES]).notes) == 1
    # with new_domain the files get their own statistics: nothing to say
    assert predict_files(model, other, new_domain=True).notes == []


def test_no_note_without_a_per_domain_scaler_with_target_statistics(
    synthetic_model,
):
    import copy

    from sertl_experiments import predict_files

    other = [f"s{i}.wav" for i in range(20)]
    batch = copy.deepcopy(synthetic_model).set_params(scale__target_stats="batch")
    assert predict_files(batch, other).notes == []
    plain = Pipeline([("features", synthetic_model[0]), ("model", synthetic_model[-1])])
    assert predict_files(plain, other).notes == []


def test_copies_of_one_file_count_once_and_nested_pipelines_are_searched(
    synthetic_model,
):
    from sertl_experiments import predict_files
    from sertl_experiments._predict import MIN_MISMATCH_FILES

    model = synthetic_model
    # copies of one shifted file are one file: below the minimum, no note
    assert predict_files(model, ["s0.wav"] * 2 * MIN_MISMATCH_FILES).notes == []
    other = [f"s{i}.wav" for i in range(MIN_MISMATCH_FILES)]
    [note] = predict_files(model, other + other).notes
    assert note.startswith(f"domain mismatch: these {MIN_MISMATCH_FILES} distinct")
    # a scaler after a nested Pipeline of other steps is still found
    features, scale, clf = model.steps
    nested = Pipeline(
        [features, ("prep", Pipeline([("keep", "passthrough")])), scale, clf]
    )
    assert len(predict_files(nested, other).notes) == 1


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory):
    """A dss model EmoDB -> RAVDESS on half the shipped sample, saved.

    Six files of each emotion per corpus (24 of 48): the tests predict 12
    files of each, and the features of all 96 files took most of the
    fixture's time.
    """
    from sertl_experiments import Recipe, save_model, train_model
    from sertl_speech import load_sample

    src, tgt = (load_sample(c).groupby("emotion").head(6) for c in ("emodb", "ravdess"))
    model, _ = train_model(
        Recipe("dss"), list(src["file"]), list(src["emotion"]), list(tgt["file"])
    )
    path = tmp_path_factory.mktemp("model") / "dss.skops"
    save_model(model, path)
    return model, path, list(src["file"]), list(tgt["file"])


def test_real_speech_of_another_corpus_gets_the_note(sample_model, capsys):
    from sertl_experiments import predict_files

    model, path, emodb, ravdess = sample_model
    # the model's target corpus: no note
    assert predict_files(model, ravdess[:12]).notes == []
    rows = predict_files(model, emodb[:12])
    [note] = rows.notes
    assert note.startswith("domain mismatch: these 12 files")
    # the same note in the JSON of `sertl predict`, which stays one object
    assert main(["predict", str(path), *emodb[:12], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["notes"] == [note]
    assert [r["emotion"] for r in out["predictions"]] == [r["emotion"] for r in rows]
    # in the table's run, on stderr, once
    assert main(["predict", str(path), *emodb[:12]]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("domain mismatch") == 1
    assert Path(emodb[0]).name in captured.out
    assert main(["predict", str(path), *ravdess[:12], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []


@pytest.fixture(scope="module")
def wide_target_model():
    """A dss-like model whose target mixes two setups (every feature at -2 or 2).

    The target's mean is about 0 and its spread about sqrt(5) per feature;
    the table holds files of the target (drawn like its rows) and files of a
    third setup at 0 with spread 1: inside the target's mean band, narrower.
    """
    rng = np.random.default_rng(1)

    def mixture(n):
        return rng.normal(size=(n, 20)) + rng.choice([-2.0, 2.0], size=(n, 1))

    rest = _dss_model(rng.normal(size=(120, 20)) * 2 + 5, mixture(240))
    table = {f"t{i}.wav": row for i, row in enumerate(mixture(40))}
    table |= {f"n{i}.wav": row for i, row in enumerate(rng.normal(size=(40, 20)))}
    return Pipeline([("features", _Lookup(table)), *rest.steps])


def test_a_narrow_batch_inside_a_wide_target_gets_the_note(wide_target_model):
    from sertl_experiments import predict_files
    from sertl_experiments._predict import (
        MIN_MISMATCH_FILES,
        domain_shift,
        domain_spread,
        mismatch_threshold,
        spread_threshold,
    )

    model = wide_target_model
    scaler = model.named_steps["scale"]
    own = [f"t{i}.wav" for i in range(20)]
    narrow = [f"n{i}.wav" for i in range(20)]
    X = model[0].transform(narrow)
    # the shift alone does not see it: the batch sits inside the mean band
    shift = domain_shift(X, scaler.target_mean_, scaler.target_scale_)
    assert shift < mismatch_threshold(MIN_MISMATCH_FILES)
    spread = domain_spread(X, scaler.target_mean_, scaler.target_scale_)
    assert spread < 0.6 < spread_threshold(20)
    [note] = predict_files(model, narrow).notes
    assert note.startswith("domain mismatch: these 20 files")
    assert "gather too tightly around the target's means" in note
    assert f"scatters {spread:.2f} of the target's" in note
    assert f"threshold {spread_threshold(20):.2f} for 20 files" in note
    assert "--new-domain" in note
    # from MIN_MISMATCH_FILES files, as the shift's note
    assert len(predict_files(model, narrow[:MIN_MISMATCH_FILES]).notes) == 1
    assert predict_files(model, narrow[: MIN_MISMATCH_FILES - 1]).notes == []
    assert predict_files(model, narrow, new_domain=True).notes == []
    # the wide target's own files scatter like it: no note
    assert predict_files(model, own).notes == []
    assert predict_files(model, own[:MIN_MISMATCH_FILES]).notes == []
    ratio = domain_spread(
        model[0].transform(own), scaler.target_mean_, scaler.target_scale_
    )
    assert 0.8 < ratio < 1.25


def test_domain_spread_leaves_out_constant_features():
    from sertl_experiments._predict import domain_spread

    X = np.array([[0.0, 1.0, 3.0], [0.0, -1.0, -3.0]])
    mean, scale = np.zeros(3), np.ones(3)
    # the first feature equals the mean in every file: left out, not 0
    assert domain_spread(X, mean, scale) == 2.0
    assert domain_spread(X[:, :1], mean[:1], scale[:1]) == 1.0
    # zero spreads count as 1, as the scaler stores them
    assert domain_spread(X, mean, [1.0, 0.0, 3.0]) == 1.0
