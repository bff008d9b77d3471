import types
import warnings

import numpy as np
import pytest
from sertl_relational import (
    DEFAULT_COORDINATES,
    LabelRelationTransfer,
    canonical_emotion,
    emotion_coordinates,
)
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from sertl_core import DomainError, SertlWarning
from sertl_core.params import InvalidParameterError

# Emotions live on a 2-D (valence, arousal) plane plus noise dimensions; the
# target task has "calm", which the source never had.
_CENTRES = {k: 3.0 * np.asarray(v) for k, v in DEFAULT_COORDINATES.items()}


def _draw(rng, names, n, shift=0.0, noise=0.6, n_noise=4):
    X = np.vstack(
        [
            np.hstack(
                [rng.normal(_CENTRES[c], noise, (n, 2)), rng.normal(0, 1, (n, n_noise))]
            )
            for c in names
        ]
    )
    return X + shift, np.repeat(np.array(names), n)


def _task(seed=0, k=3, n_test=40):
    rng = np.random.default_rng(seed)
    src = ["anger", "boredom", "fear", "happiness", "neutral", "sadness"]
    tgt = ["anger", "calm", "happiness", "sadness"]
    Xs, ys = _draw(rng, src, 40)
    Xk, yk = _draw(rng, tgt, k, shift=0.3)
    Xte, yte = _draw(rng, tgt, n_test, shift=0.3)
    X = np.vstack([Xs, Xk, Xte])
    y = np.concatenate([ys, yk, np.full(len(yte), "-1")])
    sd = np.r_[np.ones(len(ys), int), -np.ones(len(yk) + len(yte), int)]
    return X, y, sd, Xte, yte


def _uar(y_true, y_pred):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y_true, y_pred)


def test_predicts_target_class_the_source_never_had():
    X, y, sd, Xte, yte = _task()
    clf = LabelRelationTransfer().fit(X, y, sample_domain=sd)
    assert clf.classes_.tolist() == ["anger", "calm", "happiness", "sadness"]
    pred = clf.predict(Xte)
    calm = yte == "calm"
    assert np.mean(pred[calm] == "calm") > 0.7
    assert _uar(yte, pred) > 0.8
    proba = clf.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_relation_is_learned_and_row_stochastic():
    X, y, sd, _, _ = _task()
    clf = LabelRelationTransfer(relation="both").fit(X, y, sample_domain=sd)
    rel = clf.relation_
    assert rel.shape == (4, 6)
    np.testing.assert_allclose(rel.sum(axis=1), 1.0)
    src = clf.source_classes_.tolist()
    # a shared class relates most to its namesake
    assert src[np.argmax(rel[0])] == "anger"
    # calm (positive valence, low arousal) relates to neutral/boredom/happiness,
    # never most to anger or fear
    assert src[np.argmax(rel[1])] in {"neutral", "boredom", "happiness"}
    np.testing.assert_allclose(clf.source_to_target_.sum(axis=1), 1.0)


def test_relation_beats_target_only_with_few_rows():
    scores_rel, scores_tgt = [], []
    for seed in range(3):
        X, y, sd, Xte, yte = _task(seed=seed, k=2)
        rel = LabelRelationTransfer().fit(X, y, sample_domain=sd)
        lab = (sd < 0) & (y != "-1")
        tgt = LogisticRegression(max_iter=1000).fit(X[lab], y[lab])
        scores_rel.append(_uar(yte, rel.predict(Xte)))
        scores_tgt.append(_uar(yte, tgt.predict(Xte)))
    assert np.mean(scores_rel) > np.mean(scores_tgt)


def test_zero_shot_through_coordinates():
    X, y, sd, Xte, yte = _task()
    keep = ~((sd < 0) & (y == "calm"))  # no labelled calm row at all
    # zero-shot rests on the schema prior alone: a narrower kernel than the
    # default (bandwidth=1, selected for the few-shot case) keeps calm's
    # prior on its neighbours; with bandwidth=1 this toy calm reads as happiness
    clf = LabelRelationTransfer(
        target_classes=["anger", "calm", "happiness", "sadness"],
        relation="both",
        bandwidth=0.5,
    ).fit(X[keep], y[keep], sample_domain=sd[keep])
    assert "calm" in clf.classes_.tolist()
    pred = clf.predict(Xte)
    assert np.mean(pred[yte == "calm"] == "calm") > 0.3


@pytest.mark.parametrize("features", ["input", "relation", "both"])
@pytest.mark.parametrize("relation", ["schema", "outputs", "both"])
def test_options_fit_and_predict(features, relation):
    X, y, sd, Xte, yte = _task()
    clf = LabelRelationTransfer(features=features, relation=relation, cv=2)
    pred = clf.fit(X, y, sample_domain=sd).predict(Xte)
    assert set(pred) <= set(clf.classes_)
    assert _uar(yte, pred) > 0.5


def test_source_weight_zero_is_target_only():
    X, y, sd, Xte, _ = _task()
    clf = LabelRelationTransfer(
        features="input", source_weight=0.0, self_training_rounds=0
    )
    clf.fit(X, y, sample_domain=sd)
    lab = (sd < 0) & (y != "-1")
    # the default estimator (C=0.1, selected on dev tasks) on the target rows
    ref = LogisticRegression(C=0.1, max_iter=1000).fit(X[lab], y[lab])
    np.testing.assert_array_equal(clf.predict(Xte), ref.predict(Xte))


def test_user_coordinates_and_aliases():
    X, y, sd, Xte, yte = _task()
    y = np.where(y == "anger", "Angry", y)
    coords = dict(DEFAULT_COORDINATES)
    coords["calm"] = (0.8, -0.6)
    clf = LabelRelationTransfer(coordinates=coords).fit(X, y, sample_domain=sd)
    assert "Angry" in clf.classes_.tolist()
    assert canonical_emotion("Angry") == "anger"
    np.testing.assert_allclose(emotion_coordinates(["calm"], coords), [[0.8, -0.6]])


def test_coordinates_take_any_mapping():
    # a read-only table (e.g. one kept as a module constant) works as a dict
    X, y, sd, Xte, _ = _task()
    coords = {**DEFAULT_COORDINATES, "calm": (0.8, -0.6)}
    frozen = types.MappingProxyType(coords)
    a = LabelRelationTransfer(coordinates=frozen, random_state=0)
    b = LabelRelationTransfer(coordinates=coords, random_state=0)
    a.fit(X, y, sample_domain=sd)
    b.fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))
    with pytest.raises(InvalidParameterError, match="'coordinates' parameter"):
        LabelRelationTransfer(coordinates=[("calm", (0.8, -0.6))]).fit(
            X, y, sample_domain=sd
        )


def test_schema_covers_every_canonical_emotion_of_sertl_speech():
    # the IEMOCAP reader emits frustration and excitement: both are placed
    speech = pytest.importorskip("sertl_speech")
    xy = emotion_coordinates(list(speech.EMOTIONS))
    assert np.all(np.isfinite(xy)), [
        e
        for e, row in zip(speech.EMOTIONS, xy, strict=True)
        if not np.isfinite(row).all()
    ]
    frustrated, excited = emotion_coordinates(["Frustrated", "excited"])
    assert frustrated[0] < 0 < frustrated[1]  # unpleasant, aroused
    assert excited[0] > 0 and excited[1] > 0  # pleasant, aroused


def test_emotion_coordinates_of_a_corpus_table_read_its_emotion_column():
    # a table was iterated by its column names: every row came back NaN,
    # silently, where sertl_speech.emotion_coordinates reads its emotion
    # column (NaN is also the unlabelled marker of regression targets)
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(
        {"file": ["a.wav", "b.wav", "c.wav"], "emotion": ["anger", "calm", "neutral"]}
    )
    expected = emotion_coordinates(["anger", "calm", "neutral"])
    np.testing.assert_array_equal(emotion_coordinates(table), expected)
    assert np.isfinite(expected).all()
    speech = pytest.importorskip("sertl_speech")
    np.testing.assert_array_equal(speech.emotion_coordinates(table), expected)
    with pytest.raises(ValueError, match=r"without an 'emotion' column.*'label'"):
        emotion_coordinates(table.rename(columns={"emotion": "label"}))
    with pytest.raises(ValueError, match=r"one label per row \(1-D\), got shape"):
        emotion_coordinates(np.array([["anger", "calm"], ["fear", "sadness"]]))


def test_errors():
    X, y, sd, _, _ = _task()
    with pytest.raises(TypeError, match="predict_proba"):
        LabelRelationTransfer(source_estimator=SVC()).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="not a pair of finite numbers"):
        LabelRelationTransfer(coordinates={"calm": (1.0,)}).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="not in target_classes"):
        LabelRelationTransfer(target_classes=["anger", "sadness"]).fit(
            X, y, sample_domain=sd
        )
    with pytest.raises(ValueError, match="fewer than two classes"):
        LabelRelationTransfer(target_classes=["anger"]).fit(
            X, np.where(sd < 0, "-1", y), sample_domain=sd
        )
    one = np.where((sd < 0) & (y != "-1") & (y != "calm"), "-1", y)
    with pytest.raises(ValueError, match="single class"):
        LabelRelationTransfer().fit(X, one, sample_domain=sd)
    # a class with neither labelled rows nor coordinates cannot be learned
    with pytest.raises(ValueError, match="got no training rows"):
        LabelRelationTransfer(target_classes=["anger", "sadness", "mystery"]).fit(
            X, np.where(sd < 0, "-1", y), sample_domain=sd
        )
    with pytest.raises(DomainError, match="No source rows"):
        LabelRelationTransfer().fit(X, y, sample_domain=-np.ones(len(y), int))
    with pytest.raises(ValueError, match="bandwidth"):
        LabelRelationTransfer(bandwidth=0.0).fit(X, y, sample_domain=sd)


def test_does_not_mutate_inputs():
    X, y, sd, _, _ = _task()
    X0, y0, sd0 = X.copy(), y.copy(), sd.copy()
    LabelRelationTransfer().fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(sd, sd0)


def test_weighted_resample_fallback_is_seeded_by_random_state():
    # KNeighborsClassifier takes no sample_weight, so the relabelled,
    # weighted source rows reach it through a weighted resample: its seed
    # must be random_state, or two identical fits disagree
    from sklearn.neighbors import KNeighborsClassifier

    X, y, sd, Xte, _ = _task(n_test=60)
    preds = [
        LabelRelationTransfer(KNeighborsClassifier(3), random_state=0)
        .fit(X, y, sample_domain=sd)
        .predict(Xte)
        for _ in range(3)
    ]
    for p in preds[1:]:
        np.testing.assert_array_equal(p, preds[0])


def test_source_weight_zero_missing_class_error_names_the_cause():
    # with source_weight=0 only labelled target rows train the classifier:
    # calm has coordinates, so the error must point at source_weight
    X, y, sd, _, _ = _task()
    y = np.where((sd < 0) & (y == "calm"), "-1", y)
    with pytest.raises(ValueError, match=r"\['calm'\].*source_weight=0"):
        LabelRelationTransfer(
            source_weight=0.0, target_classes=["anger", "calm", "happiness", "sadness"]
        ).fit(X, y, sample_domain=sd)


def test_narrow_bandwidth_prior_tends_to_the_nearest_class_not_uniform():
    # calm is far from every source class: with a narrow kernel every term
    # underflowed and the prior jumped to uniform; it must instead tend to
    # calm's nearest source class (happiness on this circumplex)
    X, y, sd, _, _ = _task()
    y = np.where((sd < 0) & (y == "calm"), "-1", y)
    tc = ["anger", "calm", "happiness", "sadness"]
    for bw in (0.2, 0.1):
        clf = LabelRelationTransfer(bandwidth=bw, target_classes=tc)
        clf.fit(X, y, sample_domain=sd)
        calm = clf.relation_prior_[1]
        assert clf.source_classes_[np.argmax(calm)] == "happiness"
        assert calm.max() > 0.9


def test_schema_relation_uses_the_rows_of_a_class_it_cannot_place():
    # "mystery" has labelled rows but no coordinates and no namesake in the
    # source: relation="schema" must relate it through its labelled rows,
    # not spread every source class over it uniformly
    X, y, sd, _, _ = _task(k=5)
    y = np.where(y == "calm", "mystery", y)
    with pytest.warns(
        SertlWarning, match=r"no coordinates for class\(es\) \['mystery'\]"
    ):
        clf = LabelRelationTransfer(self_training_rounds=0).fit(X, y, sample_domain=sd)
    row = clf.relation_[clf.classes_.tolist().index("mystery")]
    assert not np.allclose(row, 1.0 / row.size)
    lab = (sd < 0) & (y == "mystery")
    emp = clf.source_estimator_.predict_proba(X[lab]).mean(axis=0)
    np.testing.assert_allclose(row, emp / emp.sum())
    # the uniform prior is still what the schema says about it
    i = clf.classes_.tolist().index("mystery")
    np.testing.assert_allclose(clf.relation_prior_[i], 1.0 / row.size)


def test_target_class_with_coordinates_but_no_placed_source_class_is_refused():
    # integer source labels have no coordinates: a zero-shot "calm" has
    # nothing in the schema to relate it to and must be refused, not given
    # a uniform share of every source class
    X, y, sd, _, _ = _task()
    src = sd > 0
    codes = {c: i for i, c in enumerate(np.unique(y[src]))}
    y_mixed = np.full(len(y), "-1", dtype=object)
    y_mixed[src] = [str(codes[v]) for v in y[src]]
    y_mixed = y_mixed.astype(str)
    with pytest.raises(ValueError, match=r"\['calm'\] got no training rows"):
        LabelRelationTransfer(target_classes=["0", "calm"]).fit(
            X, y_mixed, sample_domain=sd
        )


def test_self_training_without_probabilities_is_skipped_with_a_warning():
    import warnings

    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    from sertl_core import SertlWarning

    X, y, sd, Xte, _ = _task()
    with pytest.warns(
        SertlWarning,  # one filter silences every sertl warning
        match=r"self_training_rounds=2 is skipped.*has no predict_proba.*"
        r"CalibratedClassifierCV\(SVC\(\), ensemble=False\).*self_training_rounds=0",
    ) as caught:
        skipped = LabelRelationTransfer(estimator=SVC(), random_state=0).fit(
            X, y, sample_domain=sd
        )
    assert caught[0].filename == __file__  # the line that called fit
    # skipping is the same model as asking for no self-training, said quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = LabelRelationTransfer(
            estimator=SVC(), self_training_rounds=0, random_state=0
        ).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(skipped.predict(Xte), plain.predict(Xte))
    # a probabilistic estimator self-trains, without the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = LabelRelationTransfer(
            estimator=CalibratedClassifierCV(SVC(), ensemble=False), random_state=0
        ).fit(X, y, sample_domain=sd)
    assert set(clf.predict(Xte)) <= {"anger", "calm", "happiness", "sadness"}


@pytest.mark.parametrize("relation", ["schema", "both", "outputs"])
def test_sample_weight_of_zero_removes_a_labelled_target_row(relation):
    # "both" and "outputs" estimate the relation from the labelled target
    # rows: a row of weight 0 must not move it either
    X, y, sd, Xte, _ = _task(seed=4, k=4)
    labelled_target = np.flatnonzero((sd < 0) & (y != "-1"))
    drop = labelled_target[0]
    w = np.ones(len(y))
    w[drop] = 0.0

    def tight():
        # both fits solved to a tight tolerance, so that what is compared is
        # how the weights enter, not where lbfgs stops (the default tol left
        # differences of 5e-4 with source_weight=3)
        return LabelRelationTransfer(
            LogisticRegression(C=0.3, tol=1e-10, max_iter=10000),
            source_estimator=LogisticRegression(tol=1e-10, max_iter=10000),
            relation=relation,
            random_state=0,
        )

    weighted = tight().fit(X, y, sample_domain=sd, sample_weight=w)
    keep = np.arange(len(y)) != drop
    removed = tight().fit(X[keep], y[keep], sample_domain=sd[keep])
    np.testing.assert_allclose(weighted.relation_, removed.relation_, atol=1e-12)
    np.testing.assert_allclose(
        weighted.predict_proba(Xte), removed.predict_proba(Xte), atol=1e-5
    )


def test_sample_weight_of_two_counts_a_labelled_target_row_twice():
    X, y, sd, _, _ = _task(seed=4, k=4)
    twice = np.flatnonzero((sd < 0) & (y != "-1"))[0]
    w = np.ones(len(y))
    w[twice] = 2.0
    model = LabelRelationTransfer(relation="outputs", random_state=0)
    weighted = clone(model).fit(X, y, sample_domain=sd, sample_weight=w)
    rows = np.r_[np.arange(len(y)), twice]
    repeated = clone(model).fit(X[rows], y[rows], sample_domain=sd[rows])
    np.testing.assert_allclose(weighted.relation_, repeated.relation_, atol=1e-12)


def test_sample_weight_trains_both_models_and_ones_change_nothing():
    X, y, sd, Xte, _ = _task(seed=2)
    plain = LabelRelationTransfer(random_state=0).fit(X, y, sample_domain=sd)
    ones = LabelRelationTransfer(random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=np.ones(len(y))
    )
    np.testing.assert_array_equal(ones.predict_proba(Xte), plain.predict_proba(Xte))
    w = np.where(y == "anger", 5.0, 1.0)  # heavier source and target anger rows
    heavy = LabelRelationTransfer(random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    src = sd > 0
    ref = LogisticRegression(max_iter=1000).fit(X[src], y[src], sample_weight=w[src])
    np.testing.assert_allclose(heavy.source_estimator_.coef_, ref.coef_)
    assert not np.allclose(heavy.predict_proba(Xte), plain.predict_proba(Xte))


def test_source_estimator_without_sample_weight_is_refused_with_weights():
    from sklearn.neighbors import KNeighborsClassifier

    X, y, sd, _, _ = _task()
    est = LabelRelationTransfer(source_estimator=KNeighborsClassifier())
    est.fit(X, y, sample_domain=sd)  # fine without weights
    with pytest.raises(TypeError, match="takes no sample_weight, so the source model"):
        est.fit(X, y, sample_domain=sd, sample_weight=np.full(len(y), 2.0))


def test_sample_weight_with_metadata_routing_enabled():
    # README: routing on is the recommended mode; the out-of-fold source
    # posteriors (cross_val_predict) must still get the caller's weights
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV

    X, y, sd, Xte, _ = _task(seed=2)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    off = LabelRelationTransfer(random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    with sklearn.config_context(enable_metadata_routing=True):
        on = LabelRelationTransfer(random_state=0).fit(
            X, y, sample_domain=sd, sample_weight=w
        )
        calibrated = LabelRelationTransfer(
            source_estimator=CalibratedClassifierCV(SVC(), ensemble=False),
            random_state=0,
        ).fit(X, y, sample_domain=sd, sample_weight=w)
    np.testing.assert_allclose(on.predict_proba(Xte), off.predict_proba(Xte))
    assert calibrated.classes_.tolist() == on.classes_.tolist()


def test_zero_sample_weight_on_every_labelled_target_row():
    # nothing to balance the source rows against: they weigh their relevance,
    # as without labelled target rows, whatever source_weight says
    X, y, sd, Xte, _ = _task(seed=4)
    w = np.where((sd < 0) & (y != "-1"), 0.0, 1.0)
    fits = [
        LabelRelationTransfer(source_weight=sw, random_state=0).fit(
            X, y, sample_domain=sd, sample_weight=w
        )
        for sw in (0.0, 1.0, 5.0)
    ]
    assert fits[0].classes_.tolist() == ["anger", "calm", "happiness", "sadness"]
    for other in fits[1:]:
        np.testing.assert_allclose(
            other.predict_proba(Xte), fits[0].predict_proba(Xte), atol=1e-8
        )


def test_zero_shot_predicts_with_the_dtype_of_the_labels():
    X, y, sd, Xte, _ = _task(seed=1)
    y = y.astype(object)
    tgt = sd < 0
    y_zero = np.where(tgt, "-1", y).astype(object)
    few = LabelRelationTransfer(random_state=0).fit(X, y, sample_domain=sd)
    zero = LabelRelationTransfer(
        target_classes=["anger", "calm", "happiness", "sadness"], random_state=0
    ).fit(X, y_zero, sample_domain=sd)
    assert few.predict(Xte).dtype == object
    assert zero.predict(Xte).dtype == object  # was '<U9'
    assert zero.classes_.dtype == object


@pytest.mark.parametrize("routing", [False, True])
def test_a_pipeline_source_estimator_takes_the_weights_through_its_last_step(routing):
    import sklearn
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, sd, _, _ = _task(seed=3)
    w = np.where(y == "anger", 4.0, 1.0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with sklearn.config_context(enable_metadata_routing=routing):
        est = LabelRelationTransfer(source_estimator=pipe, random_state=0)
        est.fit(X, y, sample_domain=sd, sample_weight=w)
    src = sd > 0
    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ref.fit(X[src], y[src], logisticregression__sample_weight=w[src])
    np.testing.assert_allclose(
        est.source_estimator_[-1].coef_, ref[-1].coef_, rtol=1e-6
    )


def test_source_classes_outside_the_schema_are_named_in_the_zero_shot_error():
    # integer source labels: the target emotions have coordinates, the
    # source classes do not, so nothing relates them
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.r_[np.repeat([0, 1, 2], 10), -np.ones(10, int)]
    sd = np.r_[np.ones(30, int), -np.ones(10, int)]
    clf = LabelRelationTransfer(target_classes=["anger", "calm"])
    match = r"no source class has coordinates \(\[0, 1, 2\].*'0': \(valence"
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, sample_domain=sd)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("one_source_class", r"source rows hold one class \('anger'\)"),
        ("zero_source_weights", r"sample_weight is 0 on every labelled source"),
        ("marker_in_target_classes", r"holds the unlabelled marker \(\[None\]\)"),
    ],
)
def test_source_and_target_class_mistakes_get_a_clear_error(change, match):
    X, y, sd, _, _ = _task()
    y = y.astype(object)
    kwargs, fit = {}, {}
    if change == "one_source_class":
        y[sd > 0] = "anger"
    elif change == "zero_source_weights":
        fit["sample_weight"] = np.where(sd > 0, 0.0, 1.0)
    else:
        kwargs["target_classes"] = ["anger", "calm", "happiness", "sadness", None]
    with pytest.raises(ValueError, match=match):
        LabelRelationTransfer(**kwargs).fit(X, y, sample_domain=sd, **fit)


def test_classes_the_schema_cannot_place_are_warned_about():
    # sertl-relational's aliases lacked "neu"/"ang"...: such classes silently
    # got no relation; now the aliases are sertl-speech's (sertl_core.emotions)
    # and a class still unknown is named
    from sertl_core import SertlWarning

    X, y, sd, _, _ = _task()
    codes = {"anger": "ANG", "sadness": "sad", "happiness": "hap", "neutral": "neu"}
    coded = np.array([codes.get(str(c), str(c)) for c in y], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        LabelRelationTransfer().fit(X, coded, sample_domain=sd)  # all placed
    odd = np.where(y == "sadness", "gloomy", y)
    with pytest.warns(
        SertlWarning, match=r"no coordinates for class\(es\) \['gloomy'\]"
    ):
        LabelRelationTransfer().fit(X, odd, sample_domain=sd)


def test_regression_targets_are_refused_by_name():
    from sertl_relational import ClassRelationAligner
    from sklearn.base import is_classifier, is_regressor
    from sklearn.linear_model import Ridge
    from sklearn.utils import get_tags

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.tanh(X[:30, 0]), np.full(10, np.nan)]
    sd = np.r_[np.ones(30, int), -np.ones(10, int)]
    est = LabelRelationTransfer(Ridge())
    # a classifier, not one with the regressor's tags (regressor_tags set)
    assert is_classifier(est)
    assert not is_regressor(est)
    assert get_tags(est).classifier_tags is not None
    assert get_tags(est).regressor_tags is None
    with pytest.raises(
        ValueError,
        match=r"LabelRelationTransfer learns from class.*estimator=Ridge\(\)",
    ):
        est.fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="ClassRelationAligner adapts the rows class"):
        ClassRelationAligner().fit(X, y, sample_domain=sd)


# -- spellings of one emotion and malformed coordinates ------------------------


def test_two_spellings_of_one_emotion_in_target_classes_are_refused():
    # zero-shot "anger" and "angry" got the same schema prior and the same
    # relabelled source rows: the classifier split them arbitrarily
    X, y, sd, _, _ = _task()
    y = y.astype(object)
    y[sd < 0] = None
    clf = LabelRelationTransfer(target_classes=["anger", "angry", "calm"])
    with pytest.raises(ValueError, match=r"names one emotion more than once"):
        clf.fit(X, y, sample_domain=sd)


def test_two_spellings_of_one_emotion_in_the_labels_are_warned_about():
    X, y, sd, _, _ = _task()
    y = y.astype(object)
    source_anger = np.flatnonzero((sd > 0) & (y == "anger"))
    y[source_anger[::2]] = "angry"  # a second corpus spells it differently
    with pytest.warns(SertlWarning, match=r"source rows spell one emotion.*'angry'"):
        LabelRelationTransfer().fit(X, y, sample_domain=sd)
    X, y, sd, _, _ = _task()
    y = y.astype(object)
    target_anger = np.flatnonzero((sd < 0) & (y == "anger"))
    y[target_anger[:1]] = "Anger"
    with pytest.warns(SertlWarning, match=r"target classes spell one emotion"):
        LabelRelationTransfer().fit(X, y, sample_domain=sd)


def test_target_classes_spelt_unlike_the_labels_get_a_hint():
    X, y, sd, _, _ = _task()
    tc = [c.capitalize() for c in np.unique(y[(sd < 0) & (y != "-1")])]
    clf = LabelRelationTransfer(target_classes=tc)
    with pytest.raises(ValueError, match=r"'calm' is spelt 'Calm' there"):
        clf.fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("value", ["ab", [[1.0, 2.0], [3.0]], object()])
def test_coordinates_that_are_no_numbers_get_the_pair_error(value):
    X, y, sd, _, _ = _task()
    clf = LabelRelationTransfer(coordinates={**DEFAULT_COORDINATES, "calm": value})
    with pytest.raises(ValueError, match=r"coordinates\['calm'\] = .* is not a pair"):
        clf.fit(X, y, sample_domain=sd)
