"""The caller's sample_weight in transfer estimators (SampleWeightMixin)."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils.validation import has_fit_parameter

from sertl_core import (
    NoTargetWarning,
    SampleWeightMixin,
    SertlWarning,
    SourceOnly,
    TransferEstimator,
)
from sertl_core.model_selection import SourceTargetShuffleSplit


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = np.r_[(X[:60, 0] > 0).astype(int), -np.ones(20, int)]
    w = rng.uniform(0.2, 3.0, size=80)
    return X, y, w


def test_weights_reach_the_wrapped_estimator(data):
    X, y, w = data
    clf = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)
    ref = LogisticRegression().fit(X[:60], y[:60], sample_weight=w[:60])
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_)
    plain = SourceOnly(LogisticRegression()).fit(X, y)
    assert not np.allclose(clf.estimator_.coef_, plain.estimator_.coef_)


def test_all_ones_and_unlabelled_weights_change_nothing(data):
    X, y, w = data
    plain = SourceOnly(LogisticRegression()).fit(X, y).estimator_.coef_
    ones = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=np.ones(80))
    np.testing.assert_array_equal(ones.estimator_.coef_, plain)
    only_target = np.r_[np.ones(60), w[60:]]  # unlabelled rows train nothing
    other = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=only_target)
    np.testing.assert_allclose(other.estimator_.coef_, plain)


def test_zero_weight_is_a_removed_row(data):
    X, y, _ = data
    w = np.ones(80)
    w[:10] = 0.0
    clf = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)
    ref = LogisticRegression().fit(X[10:60], y[10:60])
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-5)


class _RowRecorder(ClassifierMixin, BaseEstimator):
    """A classifier without sample_weight that keeps its training rows."""

    def fit(self, X, y):
        self.X_ = np.asarray(X)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_estimator_without_weights_gets_a_weighted_resample(data):
    X, y, _ = data
    w = np.ones(80)
    w[:30] = 0.0  # these source rows must never be drawn
    assert not has_fit_parameter(_RowRecorder(), "sample_weight")
    clf = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    drawn = {tuple(row) for row in clf.estimator_.X_}
    assert drawn.isdisjoint({tuple(row) for row in X[:30]})
    assert drawn <= {tuple(row) for row in X[30:60]}
    assert len(clf.estimator_.X_) == 60  # a resample the size of the labelled rows


def test_the_callers_weights_are_not_modified(data):
    X, y, w = data
    before = w.copy()
    SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(w, before)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.ones(79), r"one weight per row of X \(80\), got shape \(79,\)"),
        (np.ones((80, 1)), r"got shape \(80, 1\)"),
        (
            np.r_[-1.0, np.ones(79)],
            r"finite and non-negative; rows \[0\] have \[-1.0\]",
        ),
        (np.r_[np.ones(5), np.nan, np.ones(74)], r"rows \[5\] have \[nan\]"),
        (np.array(["a"] * 80), "sample_weight must be numbers"),
        (np.r_[np.zeros(60), np.ones(20)], "zero for every labelled row"),
    ],
)
def test_bad_weights_are_refused_with_the_fix(data, weights, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        SourceOnly(LogisticRegression()).fit(X, y, sample_weight=weights)


def test_only_methods_that_apply_weights_offer_them():
    class Ignores(TransferEstimator):
        def _fit(self, data):
            self._fit_estimator(data.X[data.labeled], data.y[data.labeled])

    assert has_fit_parameter(SourceOnly(), "sample_weight")
    assert not has_fit_parameter(Ignores(), "sample_weight")


def test_self_target_copies_repeat_the_weights():
    seen = {}

    class Recorder(SampleWeightMixin, TransferEstimator):
        def _fit(self, data):
            seen["weights"] = data.sample_weight
            seen["rows"] = data.X.shape[0]
            rows = data.labeled & data.source
            self._fit_estimator(data.X[rows], data.y[rows], data.weights(rows))

    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    w = np.arange(1.0, 7.0)
    with pytest.warns(NoTargetWarning):
        Recorder(LogisticRegression()).fit(X, y, sample_weight=w)
    assert seen["rows"] == 12
    np.testing.assert_array_equal(seen["weights"], np.r_[w, w])


def test_method_weights_multiply_the_callers():
    class Halves(SampleWeightMixin, TransferEstimator):
        def _fit(self, data):
            rows = np.flatnonzero(data.labeled)
            self.used_ = data.weights(rows, np.full(rows.size, 0.5))
            self._fit_estimator(data.X[rows], data.y[rows], self.used_)

    X = np.arange(8.0).reshape(4, 2)
    y = np.array([0, 1, 0, 1])
    sd = np.array([1, 1, -1, -1])
    w = np.array([2.0, 4.0, 6.0, 8.0])
    clf = Halves(LogisticRegression()).fit(X, y, sample_domain=sd, sample_weight=w)
    np.testing.assert_allclose(clf.used_, w / 2)
    clf = Halves(LogisticRegression()).fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(clf.used_, 0.5)


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_passes_weights(data, routing):
    X, y, w = data
    est = SourceOnly(SVC())
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            est.set_fit_request(sample_weight=True)
            est.set_score_request(sample_weight=False)
        search = GridSearchCV(
            est, {"estimator__C": [0.1, 1.0]}, cv=SourceTargetShuffleSplit(n_splits=2)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unscored folds
            search.fit(X, y, sample_weight=w)
    # the refitted SVC is the one fitted on the labelled rows with their
    # weights, not an unweighted one
    best = search.best_estimator_.estimator_
    C = search.best_params_["estimator__C"]
    ref = SVC(C=C).fit(X[:60], y[:60], sample_weight=w[:60])
    unweighted = SVC(C=C).fit(X[:60], y[:60])
    np.testing.assert_allclose(best.dual_coef_, ref.dual_coef_)
    np.testing.assert_array_equal(best.support_, ref.support_)
    assert ref.dual_coef_.shape != unweighted.dual_coef_.shape or not np.allclose(
        ref.dual_coef_, unweighted.dual_coef_
    ), "the weights should change this fit"


def test_weighted_resample_of_a_method_without_random_state_is_repeatable(data):
    # SourceOnly has no random_state to seed the resample with: it must not
    # draw from (and move) numpy's global generator, and two fits must agree
    X, y, w = data
    before = np.random.get_state()  # noqa: NPY002
    first = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    after = np.random.get_state()  # noqa: NPY002
    assert after[2] == before[2]
    np.testing.assert_array_equal(after[1], before[1])
    second = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(first.estimator_.X_, second.estimator_.X_)


@pytest.mark.parametrize("estimator", [LogisticRegression(), _RowRecorder()])
def test_zero_weight_on_every_row_that_trains_is_refused_with_the_fix(estimator):
    # labelled target rows keep a positive weight, but SourceOnly trains on
    # the labelled source rows only (the resample divided by a zero sum)
    X = np.arange(16.0).reshape(8, 2)
    y = np.array([0, 1, 0, 1, 0, 1, -1, -1])
    sd = np.array([1, 1, 1, 1, -1, -1, -1, -1])
    w = np.r_[np.zeros(4), np.ones(4)]
    with pytest.raises(ValueError, match="Every row that trains .* has weight 0"):
        SourceOnly(estimator).fit(X, y, sample_domain=sd, sample_weight=w)
    SourceOnly(estimator, use_target_labels=True).fit(
        X, y, sample_domain=sd, sample_weight=w
    )


class _RowRecorderRegressor(RegressorMixin, BaseEstimator):
    """A regressor without sample_weight that keeps its training rows."""

    def fit(self, X, y):
        self.X_ = np.asarray(X)
        return self

    def predict(self, X):
        return np.zeros(len(X))


def _tiny_class_data(labels):
    # 4 classes of 15 labelled source rows; the last two have weights 1e-12
    # relative to the others, so a plain weighted draw never picks them
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    code = np.arange(60) % 4
    y = np.r_[np.asarray(labels, dtype=object)[code], [-1] * 20]
    if isinstance(labels[0], str):
        y = np.where(y == -1, "-1", y).astype(str)
    else:
        y = y.astype(int)
    w = np.r_[np.where(code >= 2, 1e-12, 1.0), np.ones(20)]
    return X, y, w, code


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], ["anger", "calm", "joy", "sad"]])
def test_weighted_resample_keeps_every_class_of_positive_weight(labels):
    # without the repair classes 2 and 3 vanished from classes_, and
    # predict_proba had fewer columns than the classes the user passed
    X, y, w, code = _tiny_class_data(labels)
    clf = SourceOnly(KNeighborsClassifier(3)).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert clf.predict_proba(X[60:]).shape == (20, 4)
    rec = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    assert len(rec.estimator_.X_) == 60  # the total row count is kept
    drawn = {tuple(row) for row in rec.estimator_.X_}
    for k in (2, 3):  # one row of each tiny class, the first of equal weight
        first = X[:60][code == k][0]
        assert tuple(first) in drawn
    again = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(rec.estimator_.X_, again.estimator_.X_)


def test_weighted_resample_takes_the_highest_weight_row_of_a_missed_class(data):
    X, y, _ = data
    w = np.ones(80)
    ones = np.flatnonzero(y[:60] == 1)
    w[ones] = 1e-12
    w[ones[3]] = 3e-12  # the row of class 1 to keep
    rec = SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    drawn = rec.estimator_.X_
    assert len(drawn) == 60
    in_class_1 = [any(np.array_equal(row, X[i]) for i in ones) for row in drawn]
    assert sum(in_class_1) == 1
    assert any(np.array_equal(row, X[ones[3]]) for row in drawn)


@pytest.mark.parametrize("estimator", [_RowRecorder(), _RowRecorderRegressor()])
def test_a_draw_that_misses_no_class_is_the_plain_weighted_draw(data, estimator):
    # the repair only touches a draw that missed a class: any other fit (and
    # every regression, whose values are no classes) draws exactly as before
    X, y, w = data
    yr = np.where(y == -1, np.nan, X[:, 1])  # NaN: unlabelled regression rows
    w = w.copy()
    w[:20] = 1e-12  # regression: these rows stay (almost surely) out
    target = yr if isinstance(estimator, RegressorMixin) else y
    fitted = SourceOnly(estimator).fit(X, target, sample_weight=w)
    p = w[:60] / w[:60].sum()
    idx = check_random_state(0).choice(60, size=60, replace=True, p=p)
    np.testing.assert_array_equal(fitted.estimator_.X_, X[:60][idx])


def test_a_class_of_zero_weight_is_dropped_with_a_warning():
    X, y, w, code = _tiny_class_data([0, 1, 2, 3])
    w[:60][code == 3] = 0.0  # no weighted resample can draw class 3
    with pytest.warns(
        SertlWarning,
        match=r"class\(es\) \[3\] have weight 0 on every row.*Use an estimator "
        "that accepts sample_weight",
    ):
        clf = SourceOnly(KNeighborsClassifier(3)).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])  # 2 kept, tiny
    ref = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(ref.classes_, [0, 1, 2, 3])  # weights taken


def test_fewer_than_two_classes_of_positive_weight_is_refused(data):
    X, y, _ = data
    w = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(
        ValueError,
        match=r"fewer than two classes have a positive weight \(positive: \[0\]; "
        r"weight 0 on every row: \[1\]\)\. Use an estimator that accepts "
        "sample_weight",
    ):
        SourceOnly(_RowRecorder()).fit(X, y, sample_weight=w)
    SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)  # weights taken
