"""The caller's sample_weight in transfer estimators (SampleWeightMixin)."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC
from sklearn.utils.validation import has_fit_parameter

from sertl_core import (
    NoTargetWarning,
    SampleWeightMixin,
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
    assert search.best_estimator_.estimator_.fit_status_ == 0


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
