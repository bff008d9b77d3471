import operator

import numpy as np
import pytest
import skops.io as sio
from sertl_experiments import UntrustedModelError, load_model, save_model
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from sertl_core import DomainStandardScaler, SourceOnly


def _fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, "anger", "sadness").astype(object)
    y[30:] = "-1"
    sd = np.r_[np.ones(30, int), -np.ones(10, int)]
    pipe = Pipeline([("scale", DomainStandardScaler()), ("model", SourceOnly(SVC()))])
    return pipe.fit(X, y, scale__sample_domain=sd, model__sample_domain=sd), X


def test_round_trip_keeps_predictions_and_metadata(tmp_path):
    pipe, X = _fitted()
    path = save_model(
        pipe, tmp_path / "m.skops", metadata={"classes": ["anger", "sadness"]}
    )
    model, meta = load_model(path)
    assert meta == {"classes": ["anger", "sadness"]}
    np.testing.assert_array_equal(model.predict(X), pipe.predict(X))
    # a skops file, not a pickle
    assert path.read_bytes()[:2] == b"PK"


def test_neural_models_load_without_extra_trust(tmp_path):
    # sertl-neural stores its networks as plain data (recipe + numpy weights),
    # so its first-party classes are on the trusted list like the others.
    neural = pytest.importorskip("sertl_neural")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "anger", "sadness")
    y[30:] = "-1"
    clf = neural.FineTuneClassifier(
        hidden_layer_sizes=(8,), max_epochs=2, random_state=0, verbose=0
    ).fit(X, y)
    model, _ = load_model(save_model(clf, tmp_path / "neural.skops"))
    assert type(model).__module__.startswith("sertl_neural")
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))


def test_untrusted_types_are_refused_then_trusted_explicitly(tmp_path):
    bad = FunctionTransformer(func=operator.attrgetter("real"))
    path = save_model(bad, tmp_path / "bad.skops")
    untrusted = [t for t in sio.get_untrusted_types(file=path) if "attrgetter" in t]
    assert untrusted
    with pytest.raises(
        UntrustedModelError, match=r"contains types that are not trusted: .*attrgetter"
    ):
        load_model(path)
    model, _ = load_model(path, trusted=untrusted)
    assert isinstance(model, FunctionTransformer)


def test_not_a_model_file(tmp_path):
    p = tmp_path / "x.skops"
    p.write_bytes(b"not a zip")
    with pytest.raises(UntrustedModelError, match="is not a skops model file"):
        load_model(p)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.skops")
    sio.dump({"a": 1}, tmp_path / "other.skops")
    with pytest.raises(UntrustedModelError, match="not a sertl model"):
        load_model(tmp_path / "other.skops")


def test_predict_files_reports_bad_files_without_changing_the_model():
    from sertl_experiments import predict_files
    from sertl_speech import AudioFeatures, load_sample
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = load_sample("emodb", emotions=["anger", "sadness"])
    model = make_pipeline(
        AudioFeatures("mfcc_stats", errors="raise"),
        StandardScaler(),
        LogisticRegression(),
    ).fit(list(table["file"][:4]), list(table["emotion"][:4]))
    rows = predict_files(model, [table["file"].iloc[4], "missing.wav"])
    assert rows[0]["emotion"] in {"anger", "sadness"}
    assert rows[1]["emotion"] is None and rows[1]["error"].startswith("missing")
    # the caller's fitted feature step keeps its own error policy
    assert model[0].get_params()["errors"] == "raise"
