"""A saved model moved to another installation: what it records and what loading says."""

import sys
import warnings

import numpy as np
import pytest
import sklearn
import sklearn.base
from sertl_experiments import (
    ModelDependencyError,
    ModelVersionWarning,
    UntrustedModelError,
    load_model,
    save_model,
)
from sertl_experiments._cli import main
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _audio_pipeline():
    """A model from audio (its feature step needs no fit; the rest is fitted)."""
    from sertl_speech import AudioFeatures

    rng = np.random.default_rng(0)
    rest = make_pipeline(StandardScaler(), LogisticRegression())
    rest.fit(rng.normal(size=(20, 3)), ["anger", "sadness"] * 10)
    return make_pipeline(AudioFeatures("functionals"), *[s for _, s in rest.steps])


def _loaded_warnings(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, meta = load_model(path, **kwargs)
    return model, meta, caught


def test_the_file_records_the_installation_and_the_features(tmp_path):
    from sertl_speech._extract import FEATURES_VERSION
    from sertl_speech._features import feature_names

    path = save_model(_audio_pipeline(), tmp_path / "m.skops", metadata={"a": 1})
    _, meta, caught = _loaded_warnings(path)
    assert caught == []  # the same installation: nothing to say
    record = meta.pop("saved_with")
    assert meta == {"a": 1}
    versions = record["distributions"]
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["numpy"] == np.__version__
    assert {"sertl-core", "sertl-speech", "scipy", "skops"} <= set(versions)
    assert record["packages"]["sertl_speech"] == "sertl-speech"
    (features,) = record["features"]
    assert features["class"] == "sertl_speech._extract.AudioFeatures"
    assert features["version"] == FEATURES_VERSION
    assert features["feature_set"] == "functionals"
    assert features["sample_rate"] == 16000
    assert features["n_features"] == len(feature_names("functionals"))
    assert "librosa" in features["computed_with"]


def test_a_model_of_another_feature_version_warns_once_naming_both(
    tmp_path, monkeypatch
):
    # the features of a model trained on an older extractor would differ
    # silently from those the current one computes for new files
    import sertl_speech._extract as extract_mod

    now = extract_mod.FEATURES_VERSION
    with monkeypatch.context() as patch:
        patch.setattr(extract_mod, "FEATURES_VERSION", "0-old")
        path = save_model(_audio_pipeline(), tmp_path / "m.skops")
    _, _, caught = _loaded_warnings(path)
    assert [w.category for w in caught] == [ModelVersionWarning]
    text = str(caught[0].message)
    assert (
        f"sertl-speech's extractor version 0-old, this installation computes version {now}"
        in text
    )
    assert "Train and save the model again" in text


def test_another_scikit_learn_version_gives_one_warning_naming_both(
    tmp_path, monkeypatch
):
    # scikit-learn's own InconsistentVersionWarning came once per estimator
    # ("unpickle", three of them here), none naming the file
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    pipe.fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with monkeypatch.context() as patch:
        patch.setattr(sklearn.base, "__version__", "1.0.0")
        path = save_model(pipe, tmp_path / "old.skops")
    model, _, caught = _loaded_warnings(path)
    assert [w.category for w in caught] == [ModelVersionWarning]
    text = str(caught[0].message)
    assert f"scikit-learn 1.0.0 (here {sklearn.__version__})" in text
    assert "old.skops" in text and "pip install 'scikit-learn==1.0.0'" in text
    assert model.predict([[3.0]]).tolist() == [1]


@pytest.fixture
def without_sertl_feature(monkeypatch):
    """Make sertl_feature look not installed (its modules cannot be imported)."""

    def hide():
        for name in [m for m in sys.modules if m.split(".")[0] == "sertl_feature"]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "sertl_feature", None)  # import fails

    return hide


def test_a_model_whose_plugin_is_missing_names_the_distribution(
    tmp_path, without_sertl_feature, capsys
):
    pytest.importorskip("sertl_feature")
    from sertl_feature import CORAL

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = np.array(["anger", "sadness"] * 15)
    sd = np.r_[np.ones(20), -np.ones(10)].astype(int)
    pipe = make_pipeline(CORAL(), LogisticRegression())
    pipe.fit(X, y, coral__sample_domain=sd)
    path = save_model(pipe, tmp_path / "coral.skops")
    without_sertl_feature()
    with pytest.raises(ModelDependencyError, match="not installed here") as info:
        load_model(path)
    text = str(info.value)
    assert "sertl_feature._coral.CORAL comes from sertl-feature" in text
    assert "pip install 'sertl-feature==" in text
    assert "not trusted" not in text and "--trust" not in text
    assert isinstance(info.value, UntrustedModelError)  # callers already catch it
    # the command: one line, exit status 2
    assert main(["predict", str(path), "a.wav"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'sertl-feature==" in err[0]


def test_a_model_whose_third_party_plugin_was_uninstalled_says_so(
    tmp_path, monkeypatch, capsys
):
    # the plugin's README tells its users to trust its classes as the
    # package exports them; with the plugin uninstalled, that name could
    # not be matched to the file's and the refusal repeated "not trusted
    # ... passing these names in trusted=[...]" to a user who had
    pkg = tmp_path / "tplugin_gone"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ._impl import Shift\n")
    (pkg / "_impl.py").write_text(
        "from sklearn.base import BaseEstimator, TransformerMixin\n\n\n"
        "class Shift(TransformerMixin, BaseEstimator):\n"
        "    def fit(self, X, y=None):\n"
        "        self.n_features_in_ = len(X[0])\n"
        "        return self\n\n"
        "    def transform(self, X):\n"
        "        return X\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from tplugin_gone import Shift

    X = np.arange(12.0).reshape(6, 2)
    pipe = make_pipeline(Shift(), LogisticRegression()).fit(X, [0, 1] * 3)
    path = save_model(pipe, tmp_path / "m.skops")
    # uninstalled: its folder gone from the path, its modules forgotten
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    for name in ("tplugin_gone", "tplugin_gone._impl"):
        monkeypatch.delitem(sys.modules, name)
    for trusted in ["tplugin_gone.Shift"], ["tplugin_gone._impl.Shift"]:
        with pytest.raises(ModelDependencyError, match="not installed here") as info:
            load_model(path, trusted=trusted)
        text = str(info.value)
        assert "tplugin_gone._impl.Shift comes from tplugin_gone" in text
        assert "not trusted" not in text
    # not trusted (yet): the refusal says that trusting it will not be enough
    with pytest.raises(
        UntrustedModelError,
        match=r"tplugin_gone\._impl\.Shift \(not trusted as a ObjectNode; its "
        r"package tplugin_gone is not installed here\)",
    ):
        load_model(path)
    assert main(["predict", str(path), "a.wav", "--trust", "tplugin_gone.Shift"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "comes from tplugin_gone" in err[0]


def test_predict_refuses_a_model_saved_from_feature_rows_in_one_line(tmp_path, capsys):
    # a practitioner's own numeric pipeline, saved with save_model: its first
    # step has a transform, and `sertl predict` handed it file names (a
    # traceback: "could not convert string to float")
    from sertl_speech import sample_path

    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    pipe.fit(np.array([[0.0], [1.0], [2.0], [3.0]]), ["anger"] * 2 + ["sadness"] * 2)
    path = save_model(pipe, tmp_path / "rows.skops")
    audio = next(iter(sorted(sample_path("emodb").rglob("*.flac"))))
    assert main(["predict", str(path), str(audio)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "its first step, StandardScaler, takes numbers, not audio files" in err[0]
