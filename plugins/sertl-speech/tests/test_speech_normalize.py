"""SpeakerNormalizer: statistics, edge cases, routing modes, conformance."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sertl_speech import MissingSpeakerWarning, SpeakerNormalizer
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sertl_core import SourceOnly
from sertl_core.testing import parametrize_with_checks


@parametrize_with_checks(
    [SpeakerNormalizer(), SpeakerNormalizer(unseen="global", min_samples=3)]
)
def test_conformance(estimator, check):
    check(estimator)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    spk = np.repeat(np.array(["a", "b", "c"]), 20)
    offset = {"a": 0.0, "b": 5.0, "c": -3.0}
    scale = {"a": 1.0, "b": 3.0, "c": 0.5}
    X = rng.normal(size=(60, 4))
    X = (
        X * np.array([scale[s] for s in spk])[:, None]
        + np.array([offset[s] for s in spk])[:, None]
    )
    return X, spk


def test_each_speaker_is_standardised():
    X, spk = _data()
    X0 = X.copy()
    out = SpeakerNormalizer().fit_transform(X, speaker=spk)
    np.testing.assert_array_equal(X, X0)  # input untouched
    for s in "abc":
        np.testing.assert_allclose(out[spk == s].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(out[spk == s].std(axis=0), 1, atol=1e-12)
    norm = SpeakerNormalizer().fit(X, speaker=list(spk))
    assert norm.speakers_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(norm.transform(X, speaker=spk), out)
    np.testing.assert_allclose(norm.mean_[1], X[spk == "b"].mean(axis=0))


def test_unseen_speakers_batch_or_global():
    X, spk = _data()
    norm = SpeakerNormalizer().fit(X[spk != "c"], speaker=spk[spk != "c"])
    new = X[spk == "c"]
    out = norm.transform(new, speaker=["c"] * len(new))
    np.testing.assert_allclose(out, StandardScaler().fit_transform(new), atol=1e-12)
    glob = SpeakerNormalizer(unseen="global").fit(
        X[spk != "c"], speaker=spk[spk != "c"]
    )
    expected = (new - X[spk != "c"].mean(axis=0)) / X[spk != "c"].std(axis=0)
    np.testing.assert_allclose(glob.transform(new, speaker=["c"] * len(new)), expected)


def test_single_row_speakers_use_global_statistics():
    X, spk = _data()
    Xs = np.vstack([X, [[7.0, 7.0, 7.0, 7.0]]])
    spks = np.append(spk, "solo")
    norm = SpeakerNormalizer().fit(Xs, speaker=spks)
    assert "solo" not in norm.speakers_.tolist()
    out = norm.transform(Xs, speaker=spks)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(
        out[-1], (Xs[-1] - norm.global_mean_) / norm.global_scale_
    )
    # an unseen speaker with one row in the batch: global statistics too
    one = norm.transform([[1.0, 2.0, 3.0, 4.0]], speaker=["new"])
    np.testing.assert_allclose(
        one[0], ([1.0, 2.0, 3.0, 4.0] - norm.global_mean_) / norm.global_scale_
    )
    # constant feature of a speaker: no division by zero
    Xc = X.copy()
    Xc[spk == "a", 0] = 3.0
    out = SpeakerNormalizer().fit_transform(Xc, speaker=spk)
    np.testing.assert_allclose(out[spk == "a", 0], 0.0)


def test_without_speaker_ids_it_is_a_standard_scaler():
    X, spk = _data()
    norm = SpeakerNormalizer().fit(X)
    assert norm.speakers_.size == 0
    np.testing.assert_allclose(norm.transform(X), StandardScaler().fit_transform(X))
    # fitted per speaker, transform without ids: pooled training statistics,
    # with a warning (MissingSpeakerWarning, see the test below)
    norm = SpeakerNormalizer().fit(X, speaker=spk)
    with pytest.warns(MissingSpeakerWarning):
        out = norm.transform(X[:5])
    np.testing.assert_allclose(out, StandardScaler().fit(X).transform(X[:5]))


def _speaker_data():
    """Six speakers far apart, two classes that differ within each speaker."""
    rng = np.random.default_rng(0)
    spk = np.repeat([f"s{i}" for i in range(6)], 20)
    y = np.tile(np.repeat(["a", "b"], 10), 6)
    X = rng.normal(0, 5, (6, 4))[np.repeat(np.arange(6), 20)]
    X = X + rng.normal(0, 1, (120, 4))
    X[:, 0] += (y == "b") * 2.0
    return X, y, spk


def test_transform_without_ids_after_a_per_speaker_fit_warns():
    # with routing off, GridSearchCV passes norm__speaker to fit only: the SVC
    # was trained on per-speaker rows and scored on globally normalised ones
    # (0.63 against 0.875 with routing on), without a word
    from sklearn.model_selection import LeaveOneGroupOut
    from sklearn.svm import SVC

    X, y, spk = _speaker_data()
    pipe = Pipeline([("norm", SpeakerNormalizer()), ("clf", SVC())])
    search = GridSearchCV(pipe, {"clf__C": [1.0]}, cv=LeaveOneGroupOut())
    with pytest.warns(MissingSpeakerWarning, match="fitted with per-speaker") as rec:
        search.fit(X, y, norm__speaker=spk, groups=spk)
    message = str(rec[0].message)
    assert "transform got no speaker ids" in message
    assert "sklearn.set_config(enable_metadata_routing=True)" in message
    assert "speaker=..." in message
    assert rec[0].filename == __file__  # the user's line
    # routed ids reach transform: no warning, and the per-speaker score
    with (
        sklearn.config_context(enable_metadata_routing=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error", MissingSpeakerWarning)
        routed = clone(search).fit(X, y, speaker=spk, groups=spk)
    assert routed.best_score_ > search.best_score_ + 0.1
    # a normaliser fitted without ids is a plain scaler: nothing to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingSpeakerWarning)
        SpeakerNormalizer().fit(X).transform(X)


def test_frozen_normalizer_that_misses_the_pipelines_speakers_is_told_the_fix():
    # a fitted SpeakerNormalizer in FrozenEstimator gets no speaker ids from a
    # Pipeline; the general warning's advice (routing on, speaker=...) then
    # ends in scikit-learn's "not routed to any object": the fix is the
    # request set before freezing
    from sklearn.frozen import FrozenEstimator

    X, y, spk = _speaker_data()
    norm = SpeakerNormalizer().fit(X, speaker=spk)
    pipe = Pipeline([("norm", FrozenEstimator(norm)), ("clf", LogisticRegression())])
    with pytest.warns(
        MissingSpeakerWarning,
        match=r"norm__speaker=\.\.\.\) did not reach the frozen SpeakerNormalizer:"
        r".*never to transform.*pooled training statistics, not per speaker.*"
        r"set_transform_request\(speaker=True\)",
    ) as rec:
        pipe.fit(X, y, norm__speaker=spk)
    assert len(rec) == 1  # one warning, not the general one as well
    assert rec[0].filename == __file__
    expected = (
        LogisticRegression()
        .fit(norm.transform(X, speaker=spk), y)
        .predict_proba(norm.transform(X, speaker=spk))
    )
    with sklearn.config_context(enable_metadata_routing=True):
        fixed = Pipeline(
            [
                ("norm", FrozenEstimator(norm.set_transform_request(speaker=True))),
                ("clf", LogisticRegression()),
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", MissingSpeakerWarning)
            fixed.fit(X, y, speaker=spk)
            got = fixed.predict_proba(X, speaker=spk)
    np.testing.assert_allclose(got, expected)


def test_with_mean_and_with_std_off():
    X, spk = _data()
    only_scale = SpeakerNormalizer(with_mean=False).fit_transform(X, speaker=spk)
    np.testing.assert_allclose(
        only_scale[spk == "b"], X[spk == "b"] / X[spk == "b"].std(axis=0)
    )
    only_centre = SpeakerNormalizer(with_std=False).fit_transform(X, speaker=spk)
    np.testing.assert_allclose(
        only_centre[spk == "b"], X[spk == "b"] - X[spk == "b"].mean(axis=0)
    )


def test_bad_speaker_input():
    X, spk = _data()
    with pytest.raises(ValueError, match="speaker has 59 values but X has 60 rows"):
        SpeakerNormalizer().fit(X, speaker=spk[:-1])
    bad = spk.astype(object)
    bad[3] = None
    with pytest.raises(ValueError, match=r"missing ids \(None or NaN\) at rows \[3\]"):
        SpeakerNormalizer().fit(X, speaker=bad)
    norm = SpeakerNormalizer().fit(X, speaker=spk)
    with pytest.raises(ValueError, match=r"missing ids \(None or NaN\) at rows \[3\]"):
        norm.transform(X, speaker=bad)
    with pytest.raises(ValueError, match="speaker has 2 values but X has 60 rows"):
        norm.transform(X, speaker=["a", "b"])
    with pytest.raises(ValueError, match="unseen"):
        SpeakerNormalizer(unseen="nope").fit(X, speaker=spk)
    with pytest.raises(ValueError, match="min_samples"):
        SpeakerNormalizer(min_samples=0).fit(X, speaker=spk)


@pytest.mark.parametrize(
    "missing",
    [pd.NA, pd.NaT, np.float32("nan")],
    ids=["pd.NA", "NaT", "float32-nan"],
)
def test_missing_speaker_ids_of_any_kind_are_refused(missing):
    # a nullable pandas "string" column holds pd.NA, which str() would turn
    # into one speaker "<NA>" pooling every row without an id
    X, spk = _data()
    bad = spk.astype(object)
    bad[[3, 7]] = missing
    with pytest.raises(
        ValueError, match=r"missing ids \(None or NaN\) at rows \[3, 7\]"
    ):
        SpeakerNormalizer().fit(X, speaker=bad)
    nullable = pd.Series(spk, dtype="string")
    nullable[5] = pd.NA
    with pytest.raises(ValueError, match=r"at rows \[5\]"):
        SpeakerNormalizer().fit(X, speaker=nullable)


def _labels(X, spk):
    # the class is visible only after per-speaker normalisation
    rng = np.random.default_rng(1)
    y = np.where(rng.random(len(X)) > 0.5, "hi", "lo")
    X = X.copy()
    X[:, 0] += np.where(y == "hi", 1.0, -1.0)
    return X, y


def test_pipeline_routing_off_and_on_agree():
    X, spk = _data()
    X, y = _labels(X, spk)
    pipe = Pipeline([("norm", SpeakerNormalizer()), ("clf", LogisticRegression())])
    off = clone(pipe).fit(X, y, norm__speaker=spk)
    np.testing.assert_array_equal(off.named_steps["norm"].speakers_, ["a", "b", "c"])
    with sklearn.config_context(enable_metadata_routing=True):
        on = clone(pipe).fit(X, y, speaker=spk)
        pred_on = on.predict(X, speaker=spk)
        # GridSearchCV routes speaker to every fold (routing on)
        grid = GridSearchCV(pipe, {"norm__unseen": ["batch", "global"]}, cv=3)
        grid.fit(X, y, speaker=spk)
        assert grid.best_estimator_.named_steps["norm"].speakers_.size == 3
    np.testing.assert_allclose(off[-1].coef_, on[-1].coef_)
    Z = off.named_steps["norm"].transform(X, speaker=spk)
    np.testing.assert_array_equal(off[-1].predict(Z), pred_on)
    assert not sklearn.get_config()["enable_metadata_routing"]


def test_pipeline_with_transfer_estimator_routing_on():
    X, spk = _data()
    X, y = _labels(X, spk)
    sd = np.where(spk == "c", -1, 1)
    y_unl = np.where(sd < 0, "-1", y)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [("norm", SpeakerNormalizer()), ("clf", SourceOnly(LogisticRegression()))]
        )
        pipe.fit(X, y_unl, speaker=spk, sample_domain=sd)
        pred = pipe.predict(X[sd < 0], speaker=spk[sd < 0])
    # speaker reached the normalizer in fit and in predict, and the transfer
    # estimator learnt from the labelled rows only: the two steps by hand
    norm = SpeakerNormalizer().fit(X, speaker=spk)
    clf = SourceOnly(LogisticRegression()).fit(
        norm.transform(X, speaker=spk), y_unl, sample_domain=sd
    )
    assert pipe["norm"].speakers_.tolist() == ["a", "b", "c"]
    assert pipe["clf"].classes_.tolist() == ["hi", "lo"]
    np.testing.assert_allclose(
        pipe["clf"].estimator_.coef_, clf.estimator_.coef_, rtol=1e-10
    )
    expected = clf.predict(norm.transform(X[sd < 0], speaker=spk[sd < 0]))
    np.testing.assert_array_equal(pred, expected)


def test_metadata_requested_by_default():
    routing = SpeakerNormalizer().get_metadata_routing()
    assert routing.fit.requests == {"speaker": True}
    assert routing.transform.requests == {"speaker": True}
    assert SpeakerNormalizer.registry_name == "speaker_normalizer"


def test_warns_when_speakers_carry_one_emotion():
    from sertl_speech import SpeakerConfoundWarning

    X, spk = _data()
    y = np.where(spk == "a", "anger", "sadness")  # every speaker has one emotion
    with pytest.warns(
        SpeakerConfoundWarning, match=r"100% of the labelled rows.*a, b, c"
    ):
        SpeakerNormalizer().fit(X, y, speaker=spk)
    y_mixed = np.tile(["anger", "sadness"], 30)
    y_unl = np.where(spk == "c", "-1", y_mixed)  # unlabelled rows are ignored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpeakerNormalizer().fit(X, y_unl, speaker=spk)


def test_speaker_too_small_in_fit_keeps_the_pooled_statistics_later():
    X = np.array([[0.0], [2.0], [10.0], [14.0], [100.0]])
    norm = SpeakerNormalizer().fit(X, speaker=["a", "a", "b", "b", "c"])
    assert norm.small_speakers_.tolist() == ["c"]
    out = norm.transform([[100.0], [104.0]], speaker=["c", "c"])
    pooled = (np.array([[100.0], [104.0]]) - norm.global_mean_) / norm.global_scale_
    np.testing.assert_allclose(out, pooled)
    # a speaker unseen in fit still gets its own batch statistics
    np.testing.assert_allclose(
        norm.transform([[100.0], [104.0]], speaker=["d", "d"]).ravel(), [-1.0, 1.0]
    )


def _transform(norm, X, **kwargs):
    """``norm.transform``; without ``speaker`` it warns (it was fitted per speaker)."""
    if "speaker" in kwargs:
        return norm.transform(X, **kwargs)
    with pytest.warns(MissingSpeakerWarning):
        return norm.transform(X)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"unseen": "global", "min_samples": 3},
        {"with_mean": False},
        {"with_std": False},
    ],
)
def test_float32_rows_stay_float32(params):
    X, spk = _data()
    X = X * 1e3 + 5e3  # a large offset: float32 statistics would lose digits
    X32 = X.astype(np.float32)
    new = np.r_[spk[:30], np.repeat(["d"], 30)]  # seen and unseen speakers
    norm32 = SpeakerNormalizer(**params).fit(X32, speaker=spk)
    norm64 = SpeakerNormalizer(**params).fit(X, speaker=spk)
    assert norm32.mean_.dtype == norm32.global_scale_.dtype == np.float64
    for kwargs in ({"speaker": spk}, {"speaker": new}, {}):
        Z32 = _transform(norm32, X32, **kwargs)
        Z64 = _transform(norm64, X, **kwargs)
        assert Z32.dtype == np.float32
        np.testing.assert_allclose(Z32, Z64, rtol=1e-4, atol=1e-4 * np.abs(Z64).max())
        # computed in float64 on the float32 values, rounded once at the end
        exact = SpeakerNormalizer(**params).fit(X32.astype(np.float64), speaker=spk)
        np.testing.assert_array_equal(
            Z32, _transform(exact, X32.astype(np.float64), **kwargs).astype(np.float32)
        )
    out = SpeakerNormalizer(**params).fit_transform(X32, speaker=spk)
    assert out.dtype == np.float32


def test_float32_tag_and_other_dtypes():
    from sklearn.utils import get_tags

    tags = get_tags(SpeakerNormalizer())
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]
    X, spk = _data()
    Xi = np.round(X * 10).astype(np.int64)
    out = SpeakerNormalizer().fit(Xi, speaker=spk).transform(Xi, speaker=spk)
    assert out.dtype == np.float64


def test_features_of_tiny_magnitude_are_standardised_too():
    # a feature was "constant" when its deviation was below 2.2e-15 in
    # absolute terms, so features varying on a scale of 1e-15 came out
    # unscaled (x - mean, about 1e-15) instead of standardised
    X, spk = _data()
    ref = SpeakerNormalizer().fit_transform(X, speaker=spk)
    tiny = SpeakerNormalizer().fit_transform(X * 1e-15, speaker=spk)
    np.testing.assert_allclose(tiny, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("value", [1e-3, 0.1, 1.1, 123.456])
def test_a_constant_feature_of_many_rows_per_speaker_comes_out_zero(value):
    # the means are sums taken row after row, whose rounding grows with the
    # speaker's rows: past about a thousand rows a constant feature deviated
    # from its computed mean by more than 10 eps |mean|, was taken for a
    # varying one, and came out +-1 instead of 0
    rng = np.random.default_rng(0)
    n = 20_000
    X = np.c_[np.full(n, value), rng.normal(size=n)]
    spk = np.repeat(["anna", "ben"], n // 2)
    out = SpeakerNormalizer().fit_transform(X, speaker=spk)
    assert np.abs(out[:, 0]).max() < 1e-6
    ref = StandardScaler().fit(X[: n // 2, 1:]).transform(X[: n // 2, 1:])
    np.testing.assert_allclose(out[: n // 2, 1:], ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("through", ["fit", "fit_transform", "pipeline"])
def test_sample_domain_is_refused_with_what_to_pass_instead(through):
    # SpeakerNormalizer is registered among the adapters but groups rows by
    # speaker: a norm__sample_domain used to end in Python's bare "fit() got
    # an unexpected keyword argument"
    from sklearn.svm import SVC

    X = np.array([[0.0], [1.0], [5.0], [6.0]])
    y = ["sad", "happy", "sad", "happy"]
    sd = [1, 1, -1, -1]
    norm = SpeakerNormalizer()
    match = (
        r"SpeakerNormalizer\.fit got an unexpected keyword argument "
        r"'sample_domain'.*speaker=ids.*STEP__speaker=ids.*"
        r"does not use sample_domain.*DomainStandardScaler"
    )
    with pytest.raises(TypeError, match=match):
        if through == "fit":
            norm.fit(X, y, sample_domain=sd)
        elif through == "fit_transform":
            norm.fit_transform(X, y, sample_domain=sd)
        else:
            Pipeline([("norm", norm), ("clf", SVC())]).fit(X, y, norm__sample_domain=sd)
    assert not hasattr(norm, "speakers_")


def test_refusing_other_keywords_keeps_the_routing_requests():
    # the **fit_params that refuse sample_domain add no metadata request:
    # with routing on, a Pipeline still gives speaker to the normaliser and
    # sample_domain to the steps that ask for it
    from sklearn.svm import SVC

    X = np.array([[0.0], [1.0], [5.0], [6.0], [2.0], [3.0]])
    y = np.array(["sad", "happy", "sad", "happy", "-1", "-1"], dtype=object)
    sd = [1, 1, 1, 1, -1, -1]
    spk = ["a", "a", "b", "b", "c", "c"]
    with pytest.raises(TypeError, match="takes only X, y and speaker"):
        SpeakerNormalizer().fit(X, sample_weight=np.ones(6))
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("norm", SpeakerNormalizer()), ("clf", SourceOnly(SVC()))])
        pipe.fit(X, y, sample_domain=sd, speaker=spk)
        assert pipe.named_steps["norm"].speakers_.tolist() == ["a", "b", "c"]
