import re
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.pipeline import Pipeline

from sertl_core import DomainError, DomainStandardScaler, SertlWarning, SourceOnly
from sertl_core.model_selection import (
    DeepEmbeddedValidationScorer,
    ImportanceWeightedScorer,
    LeaveOneDomainOut,
    PredictionEntropyScorer,
    ReverseValidationScorer,
    SourceTargetShuffleSplit,
    TargetLabelSplit,
    TargetScorer,
)
from sertl_core.testing import make_domain_data


def test_leave_one_domain_out():
    X, y, sd, _ = make_domain_data(n_sources=3)
    cv = LeaveOneDomainOut()
    splits = list(cv.split(X, y, sample_domain=sd))
    assert len(splits) == cv.get_n_splits(X, y, sample_domain=sd) == 3
    for (train, test), d in zip(splits, [1, 2, 3], strict=True):
        assert set(sd[test]) == {d} and d not in set(sd[train])
    # routing off: the domains come in through groups
    assert [t.tolist() for _, t in cv.split(X, y, groups=sd)] == [
        t.tolist() for _, t in splits
    ]
    assert (
        len(list(LeaveOneDomainOut(domains="all").split(X, y, sample_domain=sd))) == 4
    )
    with pytest.raises(DomainError, match="at least 2 source domains"):
        list(cv.split(X, y))  # inferred from y: one source only
    with pytest.raises(DomainError, match="needs the domains"):
        cv.get_n_splits(X)  # X alone carries no domains


def test_leave_one_domain_out_under_routing():
    # With routing, the held-out corpus keeps its source id: TargetScorer
    # says so and names the way out; a plain scorer scores every fold.
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y, sd, _ = make_domain_data(n_sources=3)
    keep = sd > 0
    X, y, sd = X[keep], y[keep], sd[keep]
    # batch statistics: the held-out corpus is never seen in fit
    scaler = DomainStandardScaler(target_stats="batch")
    pipe = Pipeline([("s", scaler), ("m", SourceOnly(SVC()))])
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_val_score(
            pipe,
            X,
            y,
            cv=LeaveOneDomainOut(),
            scoring="balanced_accuracy",
            params={"sample_domain": sd},
        )
        assert scores.shape == (3,) and np.all(np.isfinite(scores))
        with pytest.raises(DomainError, match="scoring='balanced_accuracy'"):
            cross_val_score(
                pipe,
                X,
                y,
                cv=LeaveOneDomainOut(),
                scoring=TargetScorer(),
                params={"sample_domain": sd},
                error_score="raise",
            )


def test_leave_one_domain_out_under_routing_names_a_regression_scorer():
    # for a regressor the way out is a regression string scorer: the
    # message named scoring='balanced_accuracy', which refuses continuous y
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score

    X, _, sd, _ = make_domain_data(n_sources=3)
    keep = sd > 0
    X, sd = X[keep], sd[keep]
    y = np.tanh(X[:, 0])  # valence
    pipe = Pipeline(
        [
            ("s", DomainStandardScaler(target_stats="batch")),
            ("m", SourceOnly(Ridge())),
        ]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(DomainError, match=r"e\.g\. scoring='r2'\)"):
            cross_val_score(
                pipe,
                X,
                y,
                cv=LeaveOneDomainOut(),
                scoring=TargetScorer(metric="ccc"),
                params={"sample_domain": sd},
                error_score="raise",
            )
        scores = cross_val_score(
            pipe,
            X,
            y,
            cv=LeaveOneDomainOut(),
            scoring="r2",
            params={"sample_domain": sd},
        )
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_target_label_split_takes_list_and_series_labels():
    pd = pytest.importorskip("pandas")
    X, y, sd, y_t = make_domain_data()
    y_few = y.copy()
    y_few[np.flatnonzero(sd < 0)[:12]] = y_t[:12]
    cv = TargetLabelSplit(2, random_state=0)
    expected = [t.tolist() for _, t in cv.split(X, y_few, sample_domain=sd)]
    series = pd.Series(y_few, index=np.arange(1000, 1000 + y_few.size))
    for labels in (y_few.tolist(), series):
        got = [t.tolist() for _, t in cv.split(X, labels, sample_domain=sd)]
        assert got == expected


def test_target_label_split_keeps_unlabelled_target_in_training():
    X, y, sd, y_t = make_domain_data()
    y_few = y.copy()
    tgt = np.flatnonzero(sd < 0)
    y_few[tgt[:12]] = y_t[:12]
    for train, test in TargetLabelSplit(3, random_state=0).split(
        X, y_few, sample_domain=sd
    ):
        assert set(test) <= set(tgt[:12])
        assert set(tgt[12:]) <= set(train)
        assert set(np.flatnonzero(sd > 0)) <= set(train)
        assert set(y_few[test]) == {0, 1, 2}  # stratified
    with pytest.raises(DomainError, match="needs labelled target rows"):
        list(TargetLabelSplit().split(X, y, sample_domain=sd))
    with pytest.raises(ValueError, match="'test_size' parameter of TargetLabelSplit"):
        list(TargetLabelSplit(test_size=2).split(X, y_few, sample_domain=sd))


def test_source_target_shuffle_split():
    X, y, sd, _ = make_domain_data()
    tgt = set(np.flatnonzero(sd < 0))
    for train, test in SourceTargetShuffleSplit(
        3, test_size=0.25, random_state=0
    ).split(X, y, groups=sd):
        assert tgt <= set(train) and tgt <= set(test)
        src_test = set(test) - tgt
        assert len(src_test) == 20 and not (src_test & set(train))
    with pytest.raises(DomainError, match="no target rows"):
        list(SourceTargetShuffleSplit().split(X[sd > 0], y[sd > 0], groups=sd[sd > 0]))
    with pytest.raises(DomainError, match="needs the domains"):
        list(SourceTargetShuffleSplit().split(X))


@pytest.mark.parametrize(
    "scorer",
    [
        ImportanceWeightedScorer(),
        ReverseValidationScorer(),
        DeepEmbeddedValidationScorer(),
    ],
    ids=lambda s: type(s).__name__,
)
def test_label_free_selection_never_reads_few_shot_target_labels(scorer):
    # Routing off: the scorer infers the domains from y, so a labelled target
    # row in a test fold would count as a source row and be scored. The
    # splitter keeps labelled target rows out of the test folds.
    from sklearn.model_selection import cross_validate

    X, y, sd, y_tgt = make_domain_data(n_per_domain=30, random_state=3)
    tgt = np.flatnonzero(sd < 0)
    y[tgt[:10]] = y_tgt[:10]
    y_wrong = y.copy()
    y_wrong[tgt[:10]] = (y_tgt[:10] + 1) % 3
    cv = SourceTargetShuffleSplit(3, random_state=0)
    for train, test in cv.split(X, y, groups=sd):
        assert set(tgt[:10]) <= set(train) and not set(tgt[:10]) & set(test)
    est = SourceOnly(LogisticRegression())  # never trains on target labels
    scores = [
        cross_validate(
            est,
            X,
            labels,
            cv=cv,
            scoring=scorer,
            groups=sd,
            params={"sample_domain": sd},
        )["test_score"]
        for labels in (y, y_wrong)
    ]
    np.testing.assert_allclose(scores[0], scores[1])
    with pytest.raises(DomainError, match="every target row is labelled"):
        all_labelled = y.copy()
        all_labelled[tgt] = y_tgt
        list(cv.split(X, all_labelled, groups=sd))


def test_target_label_split_takes_a_column_y_and_keeps_training_rows():
    X, y, sd, y_tgt = make_domain_data(n_per_domain=20, random_state=0)
    y2 = y.copy()
    y2[sd < 0] = y_tgt
    cv = TargetLabelSplit(2, random_state=0)
    flat = [t.tolist() for _, t in cv.split(X, y2, sample_domain=sd)]
    column = [t.tolist() for _, t in cv.split(X, y2.reshape(-1, 1), sample_domain=sd)]
    assert flat == column
    # unstratified, a large test_size still leaves a labelled target row to train on
    y3 = y.copy()
    tgt = np.flatnonzero(sd < 0)
    y3[tgt[:2]] = [0, 1]
    for train, test in TargetLabelSplit(
        2, test_size=0.75, stratify=False, random_state=0
    ).split(X, y3, sample_domain=sd):
        assert len(test) == 1 and np.isin(tgt[:2], train).sum() == 1


def test_importance_weighted_metric_must_take_weights():
    X, y, sd, _ = make_domain_data()
    est = SourceOnly().fit(X, y, sample_domain=sd)
    with pytest.raises(TypeError, match="must take sample_weight"):
        ImportanceWeightedScorer(metric=lambda a, b: float(np.mean(a == b)))(
            est, X, y, sample_domain=sd
        )
    weighted = ImportanceWeightedScorer(
        metric=lambda a, b, sample_weight=None: float(
            np.average(a == b, weights=sample_weight)
        )
    )
    assert 0.0 <= weighted(est, X, y, sample_domain=sd) <= 1.0


def _shift_problem(seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(300, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(size=(150, 3))
    yt = (Xt[:, 0] > 0).astype(int)
    Xt = Xt * 2.5 + 3.0
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(150, int)]
    sd = np.r_[np.ones(300, int), -np.ones(150, int)]
    return X, y, sd, yt


def test_target_scorer_uses_labelled_target_rows_only():
    X, y, sd, yt = _shift_problem()
    clf = SourceOnly().fit(X, y)
    y_all = y.copy()
    y_all[sd < 0] = yt
    tgt = sd < 0
    expected = np.mean([(clf.predict(X[tgt])[yt == c] == c).mean() for c in (0, 1)])
    assert TargetScorer()(clf, X, y_all, sample_domain=sd) == pytest.approx(expected)
    assert TargetScorer("accuracy")(clf, X, y_all, sample_domain=sd) == pytest.approx(
        (clf.predict(X[tgt]) == yt).mean()
    )
    with pytest.raises(DomainError, match="no labelled target rows"):
        TargetScorer()(clf, X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="Unknown metric"):
        TargetScorer("nope")(clf, X, y_all, sample_domain=sd)


def _models(X, y, sd):
    good = Pipeline([("a", DomainStandardScaler()), ("c", SourceOnly())]).fit(
        X, y, a__sample_domain=sd
    )
    bad = Pipeline([("a", "passthrough"), ("c", SourceOnly())]).fit(X, y)
    return good, bad


def _true_uar(model, X, sd, yt):
    p = model.predict(X[sd < 0])
    return np.mean([(p[yt == c] == c).mean() for c in np.unique(yt)])


@pytest.mark.parametrize(
    "scorer",
    [
        ImportanceWeightedScorer(),
        DeepEmbeddedValidationScorer(),
        ReverseValidationScorer(),
        PredictionEntropyScorer(),
    ],
)
def test_label_free_scorers_return_finite_scores_in_both_modes(scorer):
    X, y, sd, yt = _shift_problem()
    good, _ = _models(X, y, sd)
    off = scorer(good, X, y)
    with sklearn.config_context(enable_metadata_routing=True):
        on = scorer(good, X, y, sample_domain=sd)
    assert np.isfinite(off) and np.isfinite(on)
    if isinstance(scorer, PredictionEntropyScorer | ReverseValidationScorer):
        # these predict target rows only, which are target rows in both modes
        assert off == pytest.approx(on)


def test_reverse_validation_ranks_adaptation_above_none_on_a_scale_shift():
    X, y, sd, yt = _shift_problem()
    good, bad = _models(X, y, sd)
    assert _true_uar(good, X, sd, yt) > _true_uar(bad, X, sd, yt)
    rv = ReverseValidationScorer()
    assert rv(good, X, y) > rv(bad, X, y)


def test_importance_weights_follow_the_target_density():
    from sertl_core.model_selection import _density_ratio

    rng = np.random.default_rng(0)
    Zs = rng.normal(size=(500, 1))
    Zt = rng.normal(loc=1.0, size=(500, 1))
    w = _density_ratio(Zs, Zt)
    # a logistic domain classifier gives weights monotone in z, rising towards the target
    order = np.argsort(Zs[:, 0])
    assert np.all(np.diff(w[order]) >= -1e-12)
    assert w[order][-50:].mean() > 3 * w[order][:50].mean()
    assert w.mean() == pytest.approx(1.0)


def test_scorers_need_source_and_target_rows():
    X, y, sd, yt = _shift_problem()
    good, _ = _models(X, y, sd)
    src = sd > 0
    for scorer in (
        ImportanceWeightedScorer(),
        DeepEmbeddedValidationScorer(),
        ReverseValidationScorer(),
    ):
        with pytest.raises(DomainError, match="SourceTargetShuffleSplit"):
            scorer(good, X[src], y[src])
    with pytest.raises(TypeError, match="no predict_proba"):
        from sklearn.svm import SVC

        PredictionEntropyScorer()(SourceOnly(SVC()).fit(X, y), X, y)
    with pytest.raises(ValueError, match="loss must be"):
        DeepEmbeddedValidationScorer(loss="hinge")(good, X, y)


def test_scorer_requests_sample_domain_under_routing():
    for scorer in (
        TargetScorer(),
        PredictionEntropyScorer(),
        ImportanceWeightedScorer(),
    ):
        assert scorer.get_metadata_routing().score.requests == {
            "sample_domain": True,
            "sample_weight": None,  # raise if passed, as scikit-learn's scorers
        }
    assert "TargetScorer(metric='uar')" == repr(TargetScorer())
    scorer = TargetScorer().set_score_request(sample_weight=True)
    assert repr(scorer) == "TargetScorer(metric='uar')"
    assert scorer.get_metadata_routing().score.requests["sample_weight"] is True


def test_scorers_do_not_drop_sample_weight_silently_under_routing():
    # the weights trained the model but never reached the domain-aware
    # scorers: they requested sample_domain only, so routing dropped them
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import cross_validate

    X, y, sd, y_t = _shift_problem()
    y_all = y.copy()
    y_all[sd < 0] = y_t
    w = np.random.default_rng(0).uniform(0.1, 2.0, size=len(y))
    cv = TargetLabelSplit(n_splits=2, random_state=0)
    est = SourceOnly(LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=True):
        est = est.set_fit_request(sample_weight=True)
        params = {"sample_domain": sd, "sample_weight": w}
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            cross_validate(est, X, y_all, cv=cv, scoring=TargetScorer(), params=params)
        weighted, plain = (
            cross_validate(
                est,
                X,
                y_all,
                cv=cv,
                scoring=TargetScorer().set_score_request(sample_weight=request),
                params=params,
            )["test_score"]
            for request in (True, False)
        )
    assert not np.allclose(weighted, plain)
    # the weighted score is the metric with the scored rows' weights
    model = SourceOnly(LogisticRegression()).fit(X, y, sample_domain=sd)
    tgt = sd < 0
    expected = balanced_accuracy_score(y_t, model.predict(X[tgt]), sample_weight=w[tgt])
    got = TargetScorer()(model, X, y_all, sample_domain=sd, sample_weight=w)
    assert got == pytest.approx(expected)
    # entropy: a weighted mean; zero weight everywhere is refused
    e = PredictionEntropyScorer()
    assert e(model, X, y, sample_domain=sd, sample_weight=np.ones(len(y))) == (
        pytest.approx(e(model, X, y, sample_domain=sd))
    )
    with pytest.raises(ValueError, match="zero on every target row"):
        e(model, X, y, sample_domain=sd, sample_weight=np.where(sd < 0, 0.0, 1.0))
    for scorer in (ReverseValidationScorer(), DeepEmbeddedValidationScorer()):
        with pytest.raises(ValueError, match=r"set_score_request\(sample_weight=False"):
            scorer(model, X, y, sample_domain=sd, sample_weight=w)
    with pytest.raises(ValueError, match="one weight per row"):
        TargetScorer()(model, X, y_all, sample_domain=sd, sample_weight=w[:3])
    with pytest.raises(ValueError, match="finite and non-negative"):
        TargetScorer()(model, X, y_all, sample_domain=sd, sample_weight=-w)
    unweighted = TargetScorer(metric=lambda y_true, y_pred: 0.0)
    with pytest.raises(TypeError, match=r"TargetScorer got sample_weight, so its"):
        unweighted(model, X, y_all, sample_domain=sd, sample_weight=w)


def test_entropy_prefers_confident_models():
    X, y, sd, _ = _shift_problem()
    sharp = SourceOnly(LogisticRegression(C=100)).fit(X, y)
    flat = SourceOnly(LogisticRegression(C=1e-4)).fit(X, y)
    s = PredictionEntropyScorer()
    assert s(sharp, X, y) > s(flat, X, y)


def test_scorers_pass_row_domains_to_per_domain_steps_under_routing():
    from sklearn.metrics import balanced_accuracy_score

    from sertl_core.model_selection import _density_ratio

    X, y, sd, yt = _shift_problem()
    good, _ = _models(X, y, sd)
    src = sd > 0
    # held-out source rows must be scaled with the source statistics
    Z = good[0].transform(X[src], sample_domain=sd[src])
    expected_pred = good[-1].predict(Z)
    w = _density_ratio(X[src], X[~src])
    expected = balanced_accuracy_score(y[src], expected_pred, sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        got = ImportanceWeightedScorer()(good, X, y, sample_domain=sd)
    assert got == pytest.approx(expected)
    # a plain sklearn Pipeline that consumes no sample_domain still scores
    plain = Pipeline([("c", LogisticRegression())]).fit(X[src], y[src])
    with sklearn.config_context(enable_metadata_routing=True):
        assert 0 <= ImportanceWeightedScorer()(plain, X, y, sample_domain=sd) <= 1


def test_dev_applies_the_control_variate_to_raw_importance_weights():
    # You et al. 2019, eq. (6): eta = -Cov(wL, w) / Var(w) and
    # risk = mean(wL) + eta * mean(w) - eta, with w = p_t / p_s unnormalised;
    # weights rescaled to mean 1 would make the control variate vanish.
    from sertl_core.model_selection import _density_ratio

    X, y, sd, _ = _shift_problem(seed=1)
    clf = SourceOnly().fit(X, y)
    src, tgt = sd > 0, sd < 0
    w = _density_ratio(X[src], X[tgt], normalize=False)
    assert abs(w.mean() - 1.0) > 1e-3  # the raw weights' mean is not exactly 1
    loss = (clf.predict(X[src]) != y[src]).astype(float)
    wl = w * loss
    eta = -np.cov(wl, w, ddof=1)[0, 1] / np.var(w, ddof=1)
    expected = -(wl.mean() + eta * w.mean() - eta)
    # a strong shift: a tenth of the rows' worth of weight, and a warning
    with pytest.warns(SertlWarning, match=r"leave 29\.2 effective rows of the 300"):
        got = DeepEmbeddedValidationScorer(loss="zero_one")(clf, X, y)
    assert got == pytest.approx(expected)
    w_norm = _density_ratio(X[src], X[tgt])
    assert got != pytest.approx(-(w_norm * loss).mean())


def test_source_target_shuffle_split_keeps_source_rows_on_both_sides():
    X = np.zeros((7, 1))
    y = np.array([0, 1, -1, -1, -1, -1, -1])
    for train, test in SourceTargetShuffleSplit(3, test_size=0.9, random_state=0).split(
        X, y
    ):
        assert len(set(train) & {0, 1}) == 1 and len(set(test) & {0, 1}) == 1
    for n_src in (0, 1):
        y_few = np.r_[np.zeros(n_src, int), -np.ones(5, int)]
        with pytest.raises(DomainError, match="needs at least 2 source rows"):
            list(SourceTargetShuffleSplit().split(np.zeros((y_few.size, 1)), y_few))


def test_leave_one_domain_out_all_needs_two_domains():
    with pytest.raises(DomainError, match="needs at least 2 domains"):
        list(LeaveOneDomainOut("all").split(np.zeros((3, 1)), groups=[1, 1, 1]))


def test_prediction_entropy_refuses_a_fold_without_target_rows():
    # Scoring the source rows in their place would measure confidence on the
    # training distribution: a fold mean mixing both ranks candidates on
    # different quantities.
    X, y, sd, _ = make_domain_data()
    clf = SourceOnly().fit(X, y, sample_domain=sd)
    src = sd > 0
    scorer = PredictionEntropyScorer()
    with pytest.raises(DomainError, match=f"no target rows among the {src.sum()} rows"):
        scorer(clf, X[src], y[src])  # domains inferred from y: all source
    with pytest.raises(DomainError, match="SourceTargetShuffleSplit"):
        scorer(clf, X[src], y[src], sample_domain=sd[src])
    # target rows present: only they are scored, whatever the source rows are
    tgt = np.flatnonzero(~src)
    mixed = np.r_[np.flatnonzero(src)[:5], tgt]
    assert scorer(clf, X[mixed], y[mixed]) == pytest.approx(scorer(clf, X[tgt], None))


def test_prediction_entropy_fold_without_target_rows_is_an_error_score():
    # A plain KFold over source rows followed by target rows: the folds that
    # hold source rows only score error_score, not a source entropy.
    from sklearn.model_selection import KFold, cross_val_score

    X, y, sd, _ = make_domain_data()
    order = np.argsort(-sd, kind="stable")  # source rows first
    X, y = X[order], y[order]
    cv = KFold(3)
    has_target = np.array([np.any(y[test] == -1) for _, test in cv.split(X)])
    assert not has_target.all() and has_target.any()
    with pytest.warns(UserWarning, match="Scoring failed"):
        scores = cross_val_score(
            SourceOnly(),
            X,
            y,
            cv=cv,
            scoring=PredictionEntropyScorer(),
            error_score=np.nan,
        )
    np.testing.assert_array_equal(np.isfinite(scores), has_target)


def test_shuffled_splitters_hold_out_test_size_and_count_their_splits():
    X = np.zeros((9, 1))
    # labelled target rows: class 0 x4, class 1 x2, class 2 x1 (stays in training)
    y = np.array([0, 1, 0, 0, 0, 0, 1, 1, 2])
    sd = np.array([1, 1, -1, -1, -1, -1, -1, -1, -1])
    cv = TargetLabelSplit(4, test_size=0.5, random_state=0)
    assert cv.get_n_splits() == 4
    with pytest.warns(SertlWarning, match=r"class\(es\) \[2\] have a single"):
        splits = list(cv.split(X, y, sample_domain=sd))
    for train, test in splits:
        assert sorted(y[test].tolist()) == [0, 0, 1]  # round(0.5 * n), at least 1
        assert 8 in train
    flat = TargetLabelSplit(3, test_size=0.99, stratify=False, random_state=0)
    for _, test in flat.split(X, y, sample_domain=sd):
        assert test.size == 6  # all but one labelled target row
    shuffle = SourceTargetShuffleSplit(2, test_size=0.01, random_state=0)
    assert shuffle.get_n_splits() == 2
    y_st = np.array([0, 1, 0, 1, -1, -1])
    for train, test in shuffle.split(np.zeros((6, 1)), y_st):
        # round(0.01 * 4) is 0: still one source row held out, three trained on
        assert (
            len(set(test) & {0, 1, 2, 3}) == 1 and len(set(train) & {0, 1, 2, 3}) == 3
        )
    with pytest.raises(
        ValueError, match="'test_size' parameter of SourceTargetShuffleSplit"
    ):
        list(SourceTargetShuffleSplit(test_size=0).split(np.zeros((6, 1)), y_st))


def test_dev_with_weights_equal_to_rounding_is_the_plain_weighted_risk():
    # After a per-domain scaler fitted on the same rows the domain classifier
    # finds nothing: the raw weights differ only by rounding, and dividing
    # the covariance by a variance of ~1e-31 gave scores of order 1e9.
    from sklearn.metrics import log_loss

    from sertl_core.model_selection import _density_ratio

    X, y, sd, _ = _shift_problem()
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("clf", SourceOnly(LogisticRegression()))]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y, sample_domain=sd)
        got = DeepEmbeddedValidationScorer()(pipe, X, y, sample_domain=sd)
        Z = pipe[:-1].transform(X, sample_domain=sd)
    src = sd > 0
    w = _density_ratio(Z[src], Z[~src], normalize=False)
    assert np.ptp(w) < 1e-9 * w.mean()  # the situation of the defect
    proba = pipe[-1].predict_proba(Z[src])
    plain = w.mean() * log_loss(y[src], proba, labels=pipe[-1].classes_)
    assert got == pytest.approx(-plain, rel=1e-6)


def test_importance_weights_of_non_numeric_input_come_from_the_feature_steps():
    # Input that is not numeric (audio paths, say) is weighted on what the
    # pipeline's steps before its first domain adapter compute from it.
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import FunctionTransformer

    from sertl_core.model_selection import _density_ratio

    X, y, sd, _ = _shift_problem()
    names = np.array([";".join(f"{v:.17g}" for v in row) for row in X], dtype=object)

    def parse(rows):
        return np.array([[float(v) for v in r.split(";")] for r in np.ravel(rows)])

    pipe = Pipeline(
        [
            ("features", FunctionTransformer(parse)),
            ("adapt", DomainStandardScaler()),
            ("clf", SourceOnly(LogisticRegression())),
        ]
    )
    src = sd > 0
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(names, y, sample_domain=sd)
        got = ImportanceWeightedScorer()(pipe, names, y, sample_domain=sd)
        pred = pipe.predict(names[src], sample_domain=sd[src])
    w = _density_ratio(X[src], X[~src])
    assert got == pytest.approx(balanced_accuracy_score(y[src], pred, sample_weight=w))
    plain = SourceOnly(LogisticRegression()).fit(X, y)
    with pytest.raises(TypeError, match="X is not numeric.*AudioFeatures"):
        ImportanceWeightedScorer()(plain, names, y)


def _assert_label_free_scores_as_dense(clf, X, Xs, y, sd):
    """Each label-free scorer gives ``clf`` on ``Xs`` (sparse) its score on ``X``."""
    for scorer in (
        ReverseValidationScorer(),
        ImportanceWeightedScorer(),
        PredictionEntropyScorer(),
        DeepEmbeddedValidationScorer(),
    ):
        expected = scorer(clf, X, y, sample_domain=sd)
        assert scorer(clf, Xs, y, sample_domain=sd) == pytest.approx(expected)


def test_splitters_and_label_free_scorers_take_sparse_input():
    # SourceOnly fits a sparse X when its estimator does; the splitters and
    # scorers count its rows as scikit-learn's do and score it like dense X
    import scipy.sparse as sparse

    X, y, sd, y_target = make_domain_data(n_per_domain=40, random_state=0)
    Xs = sparse.csr_matrix(X)
    clf = SourceOnly(LogisticRegression()).fit(Xs, y, sample_domain=sd)
    few = y.copy()
    few[np.flatnonzero(sd < 0)[:10]] = y_target[:10]  # for TargetLabelSplit
    for cv, labels in (
        (LeaveOneDomainOut(domains="all"), y),
        (SourceTargetShuffleSplit(n_splits=2, random_state=0), y),
        (TargetLabelSplit(n_splits=2, random_state=0), few),
    ):
        dense = [t.tolist() for _, t in cv.split(X, labels, sample_domain=sd)]
        assert [t.tolist() for _, t in cv.split(Xs, labels, sample_domain=sd)] == dense
    _assert_label_free_scores_as_dense(clf, X, Xs, y, sd)


@pytest.mark.parametrize("fmt", ["coo_matrix", "dia_matrix", "bsr_matrix"])
def test_label_free_scorers_take_sparse_formats_without_row_indexing(fmt):
    # take_rows indexed X[rows]: a COO, DIA or BSR matrix raised TypeError
    # ("'coo_matrix' object is not subscriptable") or NotImplementedError
    import scipy.sparse as sparse

    from sertl_core.utils import take_rows

    X, y, sd, _ = make_domain_data(n_per_domain=40, random_state=0)
    with warnings.catch_warnings():  # a DIA matrix of a dense X is inefficient
        warnings.simplefilter("ignore", sparse.SparseEfficiencyWarning)
        Xs = getattr(sparse, fmt)(X)
    rows = np.flatnonzero(sd < 0)[::-3]
    assert np.array_equal(take_rows(Xs, rows).toarray(), X[rows])
    assert np.array_equal(take_rows(Xs, sd > 0).toarray(), X[sd > 0])
    clf = SourceOnly(LogisticRegression()).fit(
        sparse.csr_matrix(X), y, sample_domain=sd
    )
    _assert_label_free_scores_as_dense(clf, X, Xs, y, sd)


def _three_corpora():
    """Three labelled corpora, each with its own strong shift."""
    rng = np.random.default_rng(0)
    Xs, ys, sds = [], [], []
    for d, (mu, sc) in enumerate([(0.0, 1.0), (6.0, 0.5), (-5.0, 3.0)], start=1):
        y = rng.integers(0, 3, 60)
        Xs.append((rng.normal(size=(60, 4)) + 1.5 * y[:, None]) * sc + mu)
        ys.append(y)
        sds.append(np.full(60, d))
    return np.vstack(Xs), np.concatenate(ys), np.concatenate(sds)


def test_leave_one_domain_out_with_fitted_target_statistics_warns():
    from sklearn.model_selection import GridSearchCV

    from sertl_core import NoTargetWarning

    X, y, sd = _three_corpora()
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("clf", SourceOnly())])

    def search(adapt):
        return GridSearchCV(
            pipe,
            {"adapt": [adapt]},
            cv=LeaveOneDomainOut(),
            scoring="balanced_accuracy",
            error_score="raise",
        ).fit(X, y, sample_domain=sd)

    with sklearn.config_context(enable_metadata_routing=True):
        # the held-out corpus is scaled with the training corpora's statistics
        with pytest.warns(
            NoTargetWarning,
            match=r"domain ids \[\d, \d\] only.*given without sample_domain.*"
            r"target_stats='batch'",
        ):
            fitted = search(DomainStandardScaler())
        # with the batch statistics the documented protocol works, silently
        batch = search(DomainStandardScaler(target_stats="batch"))
    assert batch.best_score_ > fitted.best_score_ + 0.2
    assert batch.best_score_ > 0.8


def test_domain_scaler_stays_silent_in_the_normal_cases():
    # fitted with target rows: rows without sample_domain, and rows of the
    # domains seen in fit, take fitted statistics without any warning
    X, y, sd, _ = make_domain_data()
    scaler = DomainStandardScaler().fit(X, y, sample_domain=sd)
    scaler.transform(X[sd < 0])
    scaler.transform(X, sample_domain=sd)
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("clf", SourceOnly())])
    pipe.fit(X, y).predict(X[sd < 0])
    # source ids only in fit, but only source rows transformed: silent too
    src = sd > 0
    only_source = DomainStandardScaler().fit(X[src], sample_domain=sd[src])
    only_source.transform(X[src], sample_domain=sd[src])


def test_prediction_entropy_names_calibration_inside_the_transfer_estimator():
    from sklearn.svm import SVC

    X, y, sd, _ = _shift_problem()
    clf = SourceOnly(SVC(C=10)).fit(X, y)
    with pytest.raises(
        TypeError,
        match=re.escape(
            "SourceOnly(CalibratedClassifierCV(SVC(C=10), ensemble=False))"
        ),
    ):
        PredictionEntropyScorer()(clf, X, y)
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("model", SourceOnly(SVC()))])
    with pytest.raises(
        TypeError,
        match=r"last step 'model' SourceOnly\(CalibratedClassifierCV\(SVC\(\), "
        r"ensemble=False\)\), with .*inside the transfer estimator SourceOnly, not "
        "around it",
    ):
        PredictionEntropyScorer()(pipe.fit(X, y), X, y)


def _valence_problem():
    """Source rows with valence labels in [-1, 1], some exactly -1.0; NaN target."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.clip(np.tanh(X[:, 0]) * 1.3, -1.0, 1.0)
    y[:8] = -1.0  # real labels of the most negative valence
    sd = np.r_[np.ones(40, int), -np.ones(20, int)]
    y_unl = y.copy()
    y_unl[sd < 0] = np.nan
    return X, y, y_unl, sd


def test_splitters_read_minus_one_as_a_regression_value():
    from sklearn.linear_model import Ridge

    X, y, y_unl, sd = _valence_problem()
    # without sample_domain the domains come from y: NaN rows are the target,
    # rows labelled -1.0 are source rows (their label is a value)
    train, test = next(
        SourceTargetShuffleSplit(n_splits=1, random_state=0).split(X, y_unl)
    )
    assert set(np.flatnonzero(sd < 0)) <= set(test)
    assert len(set(test) & set(np.flatnonzero(sd > 0))) == 8  # 0.2 of 40 sources
    # few labelled target rows, some at -1.0: all are held-out candidates,
    # drawn at random (continuous targets have no classes to stratify by)
    y_few = y.copy()
    y_few[40:] = -1.0
    y_few[50:] = np.nan
    tests = [
        t
        for _, t in TargetLabelSplit(n_splits=4, random_state=0).split(
            X, y_few, sample_domain=sd
        )
    ]
    assert all(len(t) == 5 and set(t) <= set(range(40, 50)) for t in tests)
    # the scorers take a regressor's labels the same way
    model = SourceOnly(Ridge()).fit(X[sd > 0], y[sd > 0])
    score = TargetScorer(metric=lambda a, b: -np.mean((a - b) ** 2))
    expected = -np.mean((model.predict(X[40:50]) - y_few[40:50]) ** 2)
    assert score(model, X, y_few, sample_domain=sd) == pytest.approx(expected)
    assert score(model, X[40:60], y_few[40:60]) == pytest.approx(expected)


def _valence_models():
    """A useful and a useless regressor on a valence problem with a NaN target."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = np.clip(np.tanh(X[:, 0] + 0.5 * X[:, 1]) * 1.2, -1.0, 1.0)
    sd = np.r_[np.ones(80, int), -np.ones(40, int)]
    y_unl = np.where(sd < 0, np.nan, y)
    good = SourceOnly(Ridge(alpha=1.0)).fit(X, y_unl)
    useless = SourceOnly(Ridge(alpha=1e6)).fit(X, y_unl)
    return X, y, y_unl, sd, good, useless


@pytest.mark.parametrize(
    "scorer",
    [
        ReverseValidationScorer(metric="r2"),
        ReverseValidationScorer(metric="ccc"),
        DeepEmbeddedValidationScorer(loss="squared_error"),
        ImportanceWeightedScorer(metric="neg_mean_squared_error"),
    ],
    ids=repr,
)
def test_label_free_scorers_rank_regressors_the_right_way(scorer):
    X, y, y_unl, sd, good, useless = _valence_models()
    # the reverse model of a regressor gets NaN, not -1.0, on the source
    # rows it must treat as unlabelled (it trained on them as valence -1.0)
    assert scorer(good, X, y_unl) > scorer(useless, X, y_unl)
    assert scorer(good, X, y_unl, sample_domain=sd) > scorer(
        useless, X, y_unl, sample_domain=sd
    )


def test_scorers_refuse_a_metric_of_the_other_task():
    X, y, y_unl, sd, good, _ = _valence_models()
    y_few = y_unl.copy()
    y_few[80:90] = y[80:90]
    with pytest.raises(ValueError, match="model is a regressor. Pass a regression"):
        TargetScorer()(good, X, y_few, sample_domain=sd)
    with pytest.raises(ValueError, match="'r2', 'ccc'"):
        ImportanceWeightedScorer()(good, X, y_unl)
    with pytest.raises(ValueError, match="use loss='squared_error'"):
        DeepEmbeddedValidationScorer()(good, X, y_unl)
    with pytest.raises(TypeError, match="entropy of class probabilities"):
        PredictionEntropyScorer()(good, X, y_unl)
    Xc, yc, sdc, _ = make_domain_data()
    clf = SourceOnly().fit(Xc, yc)
    with pytest.raises(ValueError, match="model is a classifier. Pass a class metric"):
        ImportanceWeightedScorer(metric="r2")(clf, Xc, yc)
    with pytest.raises(ValueError, match="use loss='log_loss' or 'zero_one'"):
        DeepEmbeddedValidationScorer(loss="squared_error")(clf, Xc, yc)
    assert TargetScorer("r2")(good, X, y_few, sample_domain=sd) == pytest.approx(
        r2_score(y[80:90], good.predict(X[80:90]))
    )


def test_concordance_correlation_weights_count_like_repeated_rows():
    from sertl_core.model_selection import concordance_correlation

    rng = np.random.default_rng(0)
    y, p = rng.normal(size=12), rng.normal(size=12)
    w = rng.integers(1, 4, size=12)
    repeated = concordance_correlation(np.repeat(y, w), np.repeat(p, w))
    assert concordance_correlation(y, p, sample_weight=w) == pytest.approx(repeated)
    # a shift or a change of scale costs agreement; a perfect copy does not
    assert concordance_correlation(y, y) == pytest.approx(1.0)
    assert concordance_correlation(y, y + 1.0) < 1.0
    assert concordance_correlation(y, 2 * y) < 1.0
    assert -1.0 <= concordance_correlation(y, p) <= 1.0


def test_splitters_warn_when_whole_number_labels_hold_nan_and_minus_one():
    from sertl_core import SertlWarning

    X = np.zeros((12, 1))
    y = np.array([-1.0, 0, 1, 0, 1, -1, 0, 1, np.nan, -1, 0, 1])
    sd = np.r_[np.ones(6, int), -np.ones(6, int)]
    with pytest.warns(SertlWarning, match="read as class labels: the 3 row"):
        list(TargetLabelSplit(n_splits=1, random_state=0).split(X, y, sample_domain=sd))
    # LeaveOneDomainOut splits by sample_domain alone: nothing to warn about
    sd2 = np.r_[np.ones(6, int), 2 * np.ones(6, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(LeaveOneDomainOut().split(X, y, sample_domain=sd2))


def test_reverse_validation_does_not_reward_a_constant_regressor():
    from sklearn.dummy import DummyRegressor

    X, y, y_unl, sd, good, _ = _valence_models()
    constant = SourceOnly(DummyRegressor()).fit(X, y_unl)
    for metric in ("neg_mean_squared_error", "r2", "ccc"):
        scorer = ReverseValidationScorer(metric=metric)
        assert scorer(good, X, y_unl) > scorer(constant, X, y_unl)


def test_regression_scorers_take_a_one_column_y():
    X, y, y_unl, sd, good, _ = _valence_models()
    y_few = y_unl.copy()
    y_few[80:90] = y[80:90]
    for scorer, labels in [
        (DeepEmbeddedValidationScorer(loss="squared_error"), y_unl),
        (ImportanceWeightedScorer(metric="ccc"), y_unl),
        (ReverseValidationScorer(metric="ccc"), y_unl),
        (TargetScorer(metric="ccc"), y_few),
    ]:
        column = scorer(good, X, labels[:, None], sample_domain=sd)
        assert column == pytest.approx(scorer(good, X, labels, sample_domain=sd))


def test_scorers_still_score_an_estimator_without_sklearn_tags():
    class DuckClassifier:  # predict only: no tags, no BaseEstimator
        def predict(self, X):
            return (np.asarray(X)[:, 0] > 0).astype(int)

    Xc, yc, sdc, ytc = make_domain_data()
    y_all = yc.copy()
    y_all[sdc < 0] = ytc
    got = TargetScorer()(DuckClassifier(), Xc, y_all, sample_domain=sdc)
    # the UAR of its predictions on the target rows, as for any classifier
    tgt = sdc < 0
    pred = DuckClassifier().predict(Xc[tgt])
    assert got == pytest.approx(balanced_accuracy_score(y_all[tgt], pred))
    assert got != pytest.approx(
        balanced_accuracy_score(y_all, DuckClassifier().predict(Xc))
    )


def test_concordance_correlation_edge_cases():
    from sertl_core.model_selection import concordance_correlation

    assert concordance_correlation([0.1 + 0.2] * 3, [0.3] * 3) == 1.0
    assert concordance_correlation([0.3] * 3, [0.5] * 3) == pytest.approx(0.0)
    assert concordance_correlation([[0.1], [0.5]], [0.1, 0.5]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        concordance_correlation([0.1, 0.5], [0.1, 0.5, 0.2])
    with pytest.raises(ValueError, match="weights sum to zero"):
        concordance_correlation([0.1, 0.5], [0.2, 0.4], sample_weight=[0, 0])
    # a NaN would otherwise come back as a NaN score, silently
    with pytest.raises(ValueError, match=r"y_pred holds 1 NaN or infinite"):
        concordance_correlation([0.1, 0.5, 0.2], [0.2, np.nan, 0.1])
    with pytest.raises(ValueError, match=r"y_true holds 1 NaN or infinite"):
        concordance_correlation([np.inf, 0.5], [0.2, 0.4])
    with pytest.raises(ValueError, match=r"sample_weight holds 1 NaN"):
        concordance_correlation([0.1, 0.5], [0.2, 0.4], sample_weight=[1, np.nan])


def test_concordance_correlation_scores_one_dimension_at_a_time():
    # arousal and valence as two columns were pooled into one coefficient,
    # silently; a 1-D truth against 2-D predictions met numpy's "Axis must
    # be specified when shapes of a and weights differ"
    from sertl_core.model_selection import concordance_correlation

    rng = np.random.default_rng(0)
    Y = rng.normal(size=(20, 2))
    P = np.column_stack([Y[:, 0], -Y[:, 1]])  # arousal right, valence reversed
    match = r"y_true has shape \(20, 2\).*one series \(one dimension"
    with pytest.raises(ValueError, match=match):
        concordance_correlation(Y, P)
    with pytest.raises(ValueError, match=r"y_pred has shape \(20, 2\)"):
        concordance_correlation(Y[:, 0], P, sample_weight=np.ones(20))
    per_column = [concordance_correlation(Y[:, k], P[:, k]) for k in range(2)]
    assert per_column[0] == pytest.approx(1.0)
    assert per_column[1] < 0


def test_importance_weights_that_leave_few_rows_are_warned_about():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(200, 20))
    Xt = rng.normal(size=(100, 20)) + 1.0  # 1 sd on every feature: separable
    X = np.vstack([Xs, Xt])
    y = np.r_[(Xs[:, 0] > 0).astype(int), -np.ones(100, int)]
    clf = SourceOnly().fit(X, y)
    for scorer in (ImportanceWeightedScorer(), DeepEmbeddedValidationScorer()):
        with pytest.warns(SertlWarning, match=r"effective rows of the 200 held-out"):
            scorer(clf, X, y)
    # a mild shift keeps most rows: silent
    Xm = np.vstack([Xs, rng.normal(size=(100, 20)) + 0.05])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImportanceWeightedScorer()(SourceOnly().fit(Xm, y), Xm, y)


def test_reverse_validation_scores_a_one_class_model_as_predicting_that_class():
    from sklearn.dummy import DummyClassifier

    X, y, sd, _ = make_domain_data()
    good = SourceOnly().fit(X, y)
    constant = SourceOnly(DummyClassifier()).fit(X, y)

    # a metric of negative values: a fixed 0.0 would rank the constant first
    def neg_error(t, p):
        return -np.mean(t != p)

    scorer = ReverseValidationScorer(metric=neg_error)
    assert scorer(good, X, y) > scorer(constant, X, y)
    k = np.unique(y[y >= 0]).size
    assert ReverseValidationScorer()(constant, X, y) == pytest.approx(1 / k)


def test_reverse_validation_says_which_pseudo_class_broke_the_reverse_fit():
    # a calibrated SVC whose target predictions put one row in a class: the
    # reverse fit's inner folds then hold one class, and sklearn's message
    # ("got 1 class") said nothing of the pseudo-labels behind it
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    ys = np.repeat([0, 1, 2], 20)
    Xs = rng.normal(size=(60, 2)) + np.c_[4.0 * ys, np.zeros(60)]
    Xt = np.c_[rng.normal(scale=0.5, size=20), rng.normal(size=20)]
    Xt[-1, 0] = 8.0  # the one target row near class 2
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(20, int)]
    model = SourceOnly(CalibratedClassifierCV(SVC(), ensemble=False)).fit(X, y)
    assert np.unique(model.predict(Xt), return_counts=True)[1].min() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn's fold warning
        with pytest.raises(ValueError, match=r"pseudo-labels .*0: 19, 2: 1\)"):
            ReverseValidationScorer()(model, X, y)


def _two_corpora_problem(seed=0):
    # two source corpora recorded very differently (scale 1 around 0, scale
    # 10 around 20) and one target corpus (scale 3 around -5); the class is
    # the sign of the first standardised feature in every corpus
    rng = np.random.default_rng(seed)
    blocks, labels = [], []
    for n, scale, shift in ((60, 1.0, 0.0), (60, 10.0, 20.0), (80, 3.0, -5.0)):
        z = rng.normal(size=(n, 2))
        blocks.append(z * scale + shift)
        labels.append((z[:, 0] > 0).astype(int))
    X = np.vstack(blocks)
    y = np.r_[labels[0], labels[1], -np.ones(80, int)]
    sd = np.r_[np.ones(60, int), np.full(60, 2), -np.ones(80, int)]
    return X, y, sd


class _DomainRecordingSourceOnly(SourceOnly):
    """SourceOnly that records the sample_domain each fit and predict gets."""

    seen: list = []  # reset by each test that reads it

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        type(self).seen.append(("fit", sample_domain))
        return super().fit(
            X, y, sample_domain=sample_domain, sample_weight=sample_weight
        )

    def predict(self, X, *, sample_domain=None):
        type(self).seen.append(("predict", sample_domain))
        return super().predict(X, sample_domain=sample_domain)


def test_reverse_validation_keeps_source_corpora_apart_in_the_reverse_fit():
    # The reverse model used to be refitted without sample_domain: its
    # DomainStandardScaler pooled the held-out rows of both source corpora
    # into one target domain (scores near chance). With the domains swapped
    # (-sample_domain) each corpus is standardised with its own statistics.
    X, y, sd = _two_corpora_problem()
    pipe = Pipeline(
        [("s", DomainStandardScaler()), ("c", SourceOnly(LogisticRegression()))]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y, sample_domain=sd)
        score = ReverseValidationScorer()(pipe, X, y, sample_domain=sd)
        # what the reverse fit without domains gave
        src, tgt = np.flatnonzero(sd > 0), np.flatnonzero(sd < 0)
        rows = np.r_[tgt, src]
        yr = np.r_[pipe.predict(X[tgt], sample_domain=sd[tgt]), -np.ones(src.size, int)]
        pooled = clone(pipe).fit(X[rows], yr)
        pooled_uar = balanced_accuracy_score(y[src], pooled.predict(X[src]))
    assert pooled_uar < 0.65  # the two corpora standardised together
    assert score > 0.9


def test_reverse_validation_fits_the_reverse_model_on_swapped_domains():
    X, y, sd = _two_corpora_problem()
    est = _DomainRecordingSourceOnly()
    est.fit(X, y, sample_domain=sd)
    src, tgt = np.flatnonzero(sd > 0), np.flatnonzero(sd < 0)
    # a sertl estimator takes sample_domain itself: routing on or off
    for routing in (False, True):
        _DomainRecordingSourceOnly.seen = []
        with sklearn.config_context(enable_metadata_routing=routing):
            ReverseValidationScorer()(est, X, y, sample_domain=sd)
        (_, fwd), (_, fit), (_, rev) = _DomainRecordingSourceOnly.seen
        np.testing.assert_array_equal(fwd, sd[tgt])
        np.testing.assert_array_equal(fit, np.r_[-sd[tgt], -sd[src]])
        np.testing.assert_array_equal(rev, -sd[src])  # targets of the reverse model
    # through a Pipeline: routed when routing is on
    pipe = Pipeline(
        [("s", DomainStandardScaler()), ("c", _DomainRecordingSourceOnly())]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y, sample_domain=sd)
        _DomainRecordingSourceOnly.seen = []
        ReverseValidationScorer()(pipe, X, y, sample_domain=sd)
    assert set(np.unique(_DomainRecordingSourceOnly.seen[1][1])) == {-2, -1, 1}
    # without sample_domain nothing changes: the domains come from y
    _DomainRecordingSourceOnly.seen = []
    ReverseValidationScorer()(est, X, y)
    assert [d for _, d in _DomainRecordingSourceOnly.seen] == [None, None, None]
    # a Pipeline none of whose steps consumes sample_domain refits without it
    from sklearn.preprocessing import StandardScaler

    with sklearn.config_context(enable_metadata_routing=True):
        blind = SourceOnly().set_fit_request(sample_domain=False)
        blind.set_predict_request(sample_domain=False)
        plain = Pipeline([("s", StandardScaler()), ("c", blind)]).fit(X, y)
        routed = ReverseValidationScorer()(plain, X, y, sample_domain=sd)
    assert routed == pytest.approx(ReverseValidationScorer()(plain, X, y))


def test_reverse_validation_of_one_source_domain_is_unchanged():
    # One source and one target domain: the swapped domains are those the
    # reverse fit inferred from its labels before, so the score is the same.
    X, y, sd, _ = _shift_problem()
    clf = SourceOnly().fit(X, y, sample_domain=sd)
    src, tgt = np.flatnonzero(sd > 0), np.flatnonzero(sd < 0)
    rows = np.r_[tgt, src]
    yr = np.r_[clf.predict(X[tgt]), -np.ones(src.size, int)]
    before = balanced_accuracy_score(
        y[src], clone(clf).fit(X[rows], yr).predict(X[src])
    )
    assert ReverseValidationScorer()(clf, X, y, sample_domain=sd) == pytest.approx(
        before
    )
    assert ReverseValidationScorer()(clf, X, y) == pytest.approx(before)


def _imbalanced_corpora_labels():
    # per source domain, very different class proportions; target unlabelled
    counts = {1: (30, 10, 5), 2: (8, 24, 3)}
    y, sd = [], []
    for d, per_class in counts.items():
        for c, n in enumerate(per_class):
            y += [c] * n
            sd += [d] * n
    y = np.r_[y, -np.ones(20, int)]
    sd = np.r_[sd, -np.ones(20, int)]
    return y, sd


def test_source_target_shuffle_split_stratifies_within_each_source_domain():
    y, sd = _imbalanced_corpora_labels()
    X = np.zeros((y.size, 1))
    src = np.flatnonzero(sd > 0)
    for test_size in (0.2, 0.25, 0.5, 0.9):
        k = max(1, round(test_size * src.size))
        frac = k / src.size
        cv = SourceTargetShuffleSplit(5, test_size=test_size, random_state=0)
        for train, test in cv.split(X, y, sample_domain=sd):
            held = np.setdiff1d(test, np.flatnonzero(sd < 0))
            assert held.size == k  # the held-out count rule is unchanged
            assert not set(held) & set(train)
            for d in (1, 2):
                for c in (0, 1, 2):
                    n_dc = np.sum((sd == d) & (y == c))
                    got = np.sum((sd[held] == d) & (y[held] == c))
                    # its share rounded (less than a row off); at 0.9 the
                    # pairs that must keep a training row pass their
                    # remainder on (a row off at most)
                    off = abs(got - frac * n_dc)
                    if test_size < 0.9:
                        assert off < 1, (test_size, d, c, got)
                    else:
                        assert off <= 1 + 1e-9, (test_size, d, c, got)
                    assert got < n_dc  # each pair keeps rows in training
    # unstratified draws stray from the proportions
    flat = SourceTargetShuffleSplit(20, stratify=False, random_state=0)
    strays = [
        abs(np.sum((sd[t] == 2) & (y[t] == 1)) - 0.2 * 24)
        for _, t in flat.split(X, y, sample_domain=sd)
    ]
    assert max(strays) >= 1


def test_source_target_shuffle_split_unstratified_splits_are_the_old_ones():
    X, y, sd, _ = make_domain_data(n_sources=3)
    src, tgt = np.flatnonzero(sd > 0), np.flatnonzero(sd < 0)
    for seed in (0, 3):
        # the draws before stratify existed: one permutation of the source rows
        rng = np.random.RandomState(seed)
        k = round(0.3 * src.size)
        expected = []
        for _ in range(4):
            perm = rng.permutation(src)
            expected.append(
                (
                    np.r_[np.sort(perm[k:]), tgt].tolist(),
                    np.r_[np.sort(perm[:k]), tgt].tolist(),
                )
            )
        cv = SourceTargetShuffleSplit(
            4, test_size=0.3, stratify=False, random_state=seed
        )
        got = [(tr.tolist(), te.tolist()) for tr, te in cv.split(X, y, groups=sd)]
        assert got == expected
        # regression targets and a y-less split have no classes: drawn alike
        stratified = SourceTargetShuffleSplit(4, test_size=0.3, random_state=seed)
        y_reg = np.where(sd > 0, np.linspace(-1.0, 1.0, sd.size) + 0.01, np.nan)
        for kwargs in ({"y": y_reg, "groups": sd}, {"sample_domain": sd}):
            got = [
                (tr.tolist(), te.tolist()) for tr, te in stratified.split(X, **kwargs)
            ]
            assert got == expected
        assert stratified.get_n_splits() == 4


def test_source_target_shuffle_split_keeps_a_single_row_class_in_training():
    # (domain 2, class 2) has one row: stratification cannot split it, so it
    # stays in training and the held-out rows come from the other pairs
    y = np.r_[[0] * 10, [1] * 10, [0] * 10, [1] * 9, [2], -np.ones(5, int)]
    sd = np.r_[[1] * 20, [2] * 20, -np.ones(5, int)]
    X = np.zeros((y.size, 1))
    lone = 39
    assert y[lone] == 2 and sd[lone] == 2
    cv = SourceTargetShuffleSplit(10, test_size=0.5, random_state=0)
    for train, test in cv.split(X, y, sample_domain=sd):
        assert lone in train and lone not in test
        assert np.sum(test < 40) == 20
    again = [t.tolist() for _, t in cv.split(X, y, sample_domain=sd)]
    assert again == [t.tolist() for _, t in cv.split(X, y, sample_domain=sd)]


def test_source_target_shuffle_split_stratifies_labels_that_do_not_sort():
    # object labels of mixed types cannot be sorted: strata are found in
    # order of appearance (1 and "1" are two classes), not by np.unique
    y = np.array(["a", 1, "1", "a", 1, "1", "a", 1, "1", -1, -1], dtype=object)
    sd = np.r_[np.ones(9, int), -np.ones(2, int)]
    X = np.zeros((11, 1))
    cv = SourceTargetShuffleSplit(3, test_size=1 / 3, random_state=0)
    for _, test in cv.split(X, y, sample_domain=sd):
        held = [y[i] for i in test if sd[i] > 0]
        assert sorted(map(repr, held)) == ["'1'", "'a'", "1"]  # one of each class


class _RefusesItsDomains(SourceOnly):
    """A model whose own fit raises a TypeError naming sample_domain."""

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        if sample_domain is not None and np.any(sample_domain == -2):
            raise TypeError("sample_domain -2 is not a domain this model takes")
        return super().fit(X, y, sample_domain=sample_domain)


def test_reverse_validation_does_not_retry_a_models_own_type_error_without_domains():
    # only scikit-learn's refusal of a routed Pipeline that no step asks for
    # sample_domain is retried without it; a model's own TypeError is raised
    # (a silent refit without domains would pool the source corpora again)
    X, y, sd = _two_corpora_problem()
    est = _RefusesItsDomains().fit(X, y, sample_domain=sd)
    with pytest.raises(TypeError, match="not a domain this model takes"):
        ReverseValidationScorer()(est, X, y, sample_domain=sd)


def test_target_label_split_warns_about_classes_no_fold_tests():
    # 4 labelled "anger", 1 "sadness", 1 "happiness": the single rows stay in
    # training, every test fold holds anger alone, and a UAR over it rewards
    # a model that predicts anger everywhere
    y = np.array(["x"] * 6 + ["anger"] * 4 + ["sadness", "happiness"] + ["-1"] * 4)
    sd = np.r_[np.ones(6, int), -np.ones(10, int)]
    X = np.zeros((16, 1))
    cv = TargetLabelSplit(3, random_state=0)
    with pytest.warns(SertlWarning, match=r"\['happiness', 'sadness'\] have a single"):
        tests = [test for _, test in cv.split(X, y, sample_domain=sd)]
    assert all(set(y[t]) == {"anger"} for t in tests)
    y_one = np.where(np.isin(y, ["sadness", "happiness"]), "anger", y)
    with pytest.warns(SertlWarning, match="hold one class.*that class's recall"):
        list(cv.split(X, y_one, sample_domain=sd))
    # two rows of every class: no warning
    y_two = np.array(["x"] * 6 + ["anger"] * 4 + ["sadness"] * 2 + ["-1"] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        list(cv.split(X, y_two, sample_domain=sd))


def test_target_label_split_says_to_pass_groups_when_routing_is_off():
    # labelled target rows whose domains the splitter never got are read as
    # source rows: the error names groups=sample_domain, not only "label them"
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, -1, -1])
    X = np.zeros((10, 1))
    with pytest.raises(DomainError, match=r"groups=sample_domain\s+with it off"):
        next(TargetLabelSplit(2, random_state=0).split(X, y))


@pytest.mark.parametrize("cls", [SourceTargetShuffleSplit, TargetLabelSplit])
@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"n_splits": 0},
            r"'n_splits' parameter .* int in the range \[1, inf\)\. Got 0 ",
        ),
        ({"n_splits": -1}, r"'n_splits' parameter .* \[1, inf\)\. Got -1 "),
        ({"n_splits": 2.5}, r"'n_splits' parameter .* \[1, inf\)\. Got 2.5 "),
        ({"test_size": "0.5"}, r"'test_size' parameter .* \(0.0, 1.0\)\. Got '0.5' "),
        ({"test_size": 3}, r"'test_size' parameter .* \(0.0, 1.0\)\. Got 3 "),
    ],
)
def test_shuffled_splitters_refuse_parameters_that_cannot_split(cls, params, match):
    # n_splits=0 yielded no split at all, 2.5 and "0.5" raw TypeErrors
    from sertl_core.params import InvalidParameterError

    X, y, sd, y_t = make_domain_data()
    y = y.copy()
    tgt = np.flatnonzero(sd < 0)
    y[tgt[:12]] = y_t[:12]
    cv = cls(**params, random_state=0)
    with pytest.raises(InvalidParameterError, match=match):
        list(cv.split(X, y, sample_domain=sd))
    with pytest.raises(InvalidParameterError, match=match):
        cv.get_n_splits()


def test_leave_one_domain_out_counts_splits_only_where_it_splits():
    # get_n_splits said 1 where split refuses the domains
    X, y, sd, _ = make_domain_data()
    labelled = y != -1
    with pytest.raises(DomainError, match="needs at least 2 source domains"):
        list(LeaveOneDomainOut().split(X[labelled], y[labelled]))
    with pytest.raises(DomainError, match="needs at least 2 source domains"):
        LeaveOneDomainOut().get_n_splits(X[labelled], y[labelled])
    one = np.ones(len(X), dtype=int)
    with pytest.raises(DomainError, match=r"domains='all'\) needs at least 2"):
        LeaveOneDomainOut(domains="all").get_n_splits(X, sample_domain=one)
    assert LeaveOneDomainOut(domains="all").get_n_splits(X, sample_domain=sd) == len(
        list(LeaveOneDomainOut(domains="all").split(X, sample_domain=sd))
    )


def test_concordance_correlation_refuses_empty_input_and_negative_weights():
    from sertl_core.model_selection import concordance_correlation

    with pytest.raises(ValueError, match="y_true and y_pred are empty"):
        concordance_correlation([], [])
    with pytest.raises(ValueError, match=r"1 negative weight\(s\)"):
        concordance_correlation([0.1, 0.5, -0.3], [0.2, 0.4, 0.0], [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="the weights sum to zero: give at least"):
        concordance_correlation([0.1, 0.5], [0.2, 0.4], [0.0, 0.0])


def test_target_label_split_documents_that_speakers_are_shared():
    doc = " ".join(TargetLabelSplit.__doc__.split())
    assert "split by row (utterance), not by speaker" in doc
    assert "optimistic for methods that learn from the target labels" in doc
    assert "GroupShuffleSplit" in doc


def test_scorer_errors_say_what_was_wrong_and_how_to_fix_it():
    from sklearn.svm import SVC

    X, y, sd, yt = _shift_problem()
    clf = SourceOnly().fit(X, y)
    with pytest.raises(ValueError, match=r"y is None: call it with the labels"):
        TargetScorer()(clf, X, None, sample_domain=sd)
    y_all = y.copy()
    y_all[sd < 0] = yt
    w = np.ones(X.shape[0])
    w[[3, 7]] = [-1.0, np.nan]
    with pytest.raises(
        ValueError,
        match=r"non-negative; rows \[3, 7\] have \[-1.0, nan\]: give every row",
    ):
        TargetScorer()(clf, X, y_all, sample_domain=sd, sample_weight=w)
    svc = SourceOnly(SVC()).fit(X, y)
    with pytest.raises(
        TypeError,
        match=r"loss='log_loss'\) scores class probabilities, but SourceOnly has no "
        r"predict_proba: use loss='zero_one'",
    ):
        DeepEmbeddedValidationScorer(loss="log_loss")(svc, X, y, sample_domain=sd)


@pytest.mark.parametrize("routing", [False, True])
def test_curve_displays_take_sertl_scorers_and_name_their_axis(routing):
    # ValidationCurveDisplay labels its axis with scoring.__name__: a sertl
    # scorer without one raised AttributeError before the curve was drawn
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.model_selection import ValidationCurveDisplay

    X, y, sd, _ = _shift_problem()
    clf = SourceOnly(LogisticRegression())
    pipe = Pipeline([("a", DomainStandardScaler()), ("c", clf)])
    cv = SourceTargetShuffleSplit(n_splits=2, random_state=0)
    if routing:
        given = {"fit_params": {"sample_domain": sd}}
    else:
        given = {"groups": sd, "fit_params": {"a__sample_domain": sd}}
    with sklearn.config_context(enable_metadata_routing=routing):
        display = ValidationCurveDisplay.from_estimator(
            pipe,
            X,
            y,
            param_name="c__estimator__C",
            param_range=[0.1, 1.0],
            cv=cv,
            scoring=ReverseValidationScorer(),
            **given,
        )
    try:
        assert display.ax_.get_ylabel() == "Reverse validation uar"
        assert np.isfinite(display.test_scores).all()
    finally:
        plt.close(display.figure_)
    assert TargetScorer("ccc").__name__ == "target_ccc"
    assert PredictionEntropyScorer().__name__ == "prediction_entropy"


@pytest.mark.parametrize("routing", [False, True])
def test_permutation_test_score_across_domains_is_refused_with_the_fix(routing):
    # without groups the permutation moves the unlabelled marker onto source
    # rows: routing on failed with "N source row(s) are unlabelled", routing
    # off fitted every permutation on a silent mix of source and target rows
    from sklearn.model_selection import permutation_test_score

    X, y, sd, _ = _shift_problem()
    pipe = Pipeline([("a", DomainStandardScaler()), ("c", SourceOnly())])
    cv = SourceTargetShuffleSplit(n_splits=2, random_state=0)
    given = {"sample_domain": sd} if routing else {}
    # with routing the splitter sees the permuted y first, else the adapter
    match = "permutation_test_score shuffled y over all the rows before "
    match += "SourceTargetShuffleSplit" if routing else "DomainStandardScaler"
    match += ".*pass groups=sample_domain" + (".*turn routing off" if routing else "")
    with sklearn.config_context(enable_metadata_routing=routing):
        with pytest.raises(DomainError, match=match):
            permutation_test_score(
                pipe,
                X,
                y,
                cv=cv,
                scoring=ReverseValidationScorer(),
                n_permutations=2,
                random_state=0,
                params=given,
            )
    # the fix the message gives: permuted within the domains, routing off
    score, perms, _ = permutation_test_score(
        pipe,
        X,
        y,
        groups=sd,
        cv=cv,
        scoring=ReverseValidationScorer(),
        n_permutations=2,
        random_state=0,
        params={"a__sample_domain": sd, "c__sample_domain": sd},
    )
    assert np.isfinite(score) and np.isfinite(perms).all()


@pytest.mark.parametrize("adapter", [False, True])
def test_permutation_test_score_of_valence_moving_minus_one_is_not_refused(adapter):
    # valence ratings clipped to [-1, 1]: the permutation moves the values
    # -1.0 between rows, which the check read as the unlabelled marker and
    # refused every permuted fit ("the unlabelled marker (-1) of 13 target
    # row(s) moved"), though only NaN marks an unlabelled regression target
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, permutation_test_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.clip(0.8 * X[:, 0] + rng.normal(scale=0.3, size=60), -1.0, 1.0)
    assert (y == -1.0).sum() > 1 and np.isnan(y).sum() == 0
    sd = np.where(np.arange(60) < 40, 1, -1)
    model = SourceOnly(Ridge())
    params = {"sample_domain": sd}
    if adapter:
        model = Pipeline([("a", DomainStandardScaler()), ("r", model)])
        params = {"a__sample_domain": sd, "r__sample_domain": sd}
    cv = KFold(3, shuffle=True, random_state=0)
    kwargs = {"cv": cv, "n_permutations": 3, "random_state": 0}
    score, perms, _ = permutation_test_score(model, X, y, params=params, **kwargs)
    assert np.isfinite(score) and np.isfinite(perms).all()
    # NaN, the marker of an unlabelled regression target, still moves: refused
    y_unl = np.where(sd < 0, np.nan, y)
    with pytest.raises(DomainError, match=r"shuffled y .* marker \(NaN\) of 20 "):
        permutation_test_score(model, X, y_unl, params=params, **kwargs)


def test_target_scorer_refuses_corpus_names_as_domains_with_the_fix():
    # string domain ids reached a numpy comparison: UFuncTypeError 'less'
    X, y, sd, yt = _shift_problem()
    clf = SourceOnly().fit(X, y)
    y_all = np.where(sd < 0, np.r_[np.zeros(300, int), yt], y)
    names = np.where(sd < 0, "urdu", "emodb")
    with pytest.raises(DomainError, match="must hold integer domain ids.*domains_from"):
        TargetScorer()(clf, X, y_all, sample_domain=names)
    with pytest.raises(
        DomainError, match="`sample_domain` has 2 entries but X has 450"
    ):
        TargetScorer()(clf, X, y_all, sample_domain=sd[:2])


@pytest.mark.parametrize(
    "cv",
    [
        LeaveOneDomainOut(),
        SourceTargetShuffleSplit(random_state=0),
        TargetLabelSplit(random_state=0),
    ],
)
def test_splitters_refuse_speaker_ids_given_as_groups(cv):
    # routing off, groups=speakers: LeaveOneDomainOut held out one speaker
    # at a time, the unlabelled target rows among "source domains", silently;
    # the others said the rows labelled -1 were missing ("no target rows")
    X, y, sd, _ = _shift_problem()
    speakers = np.arange(len(y)) % 7 + 1
    match = (
        rf"^{type(cv).__name__}: 150 unlabelled row\(s\) .* carry source ids "
        r".* in groups \(used as sample_domain\).*not other groups such as speaker"
    )
    with pytest.raises(DomainError, match=match):
        next(cv.split(X, y, groups=speakers))
    with pytest.raises(DomainError, match=r"in sample_domain, \[1\].*negative ids"):
        next(cv.split(X, y, sample_domain=np.ones_like(sd)))
