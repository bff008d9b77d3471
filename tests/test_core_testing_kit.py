"""The conformance kit catches the defects its checks promise to catch."""

import logging

import numpy as np
import pytest
import sklearn
from sklearn.base import clone

from sertl_core import DomainAdapter, SourceOnly, TransferEstimator
from sertl_core.testing import (
    check_classifier_labels,
    check_clone_and_pickle,
    check_inputs_not_mutated,
    check_multi_source_and_few_shot,
    check_no_global_state_change,
    check_random_state_determinism,
    check_routing_modes,
    check_transform_follows_sample_domain,
    check_unlabeled_never_a_class,
)


class _Centerer(DomainAdapter):
    registry_name = "kit_centerer"

    def _fit(self, data):
        self.mean_ = data.X[data.target].mean(axis=0)

    def _transform(self, X, sample_domain):
        return X - self.mean_


class _MutatesX(_Centerer):
    def _transform(self, X, sample_domain):
        X -= self.mean_
        return X


class _SeedsGlobalRNG(_Centerer):
    def _fit(self, data):
        super()._fit(data)
        np.random.seed(0)  # noqa: NPY002 - the defect under test


class _SetsConfig(_Centerer):
    def _fit(self, data):
        super()._fit(data)
        sklearn.set_config(assume_finite=True)


class _ConfiguresRootLogger(_Centerer):
    def _fit(self, data):
        super()._fit(data)
        logging.basicConfig(level=logging.INFO)


class _MinusOneIsAClass(TransferEstimator):
    registry_name = "kit_minus_one"

    def _fit(self, data):
        self.estimator_ = clone(self._get_estimator()).fit(data.X, data.y)
        self.classes_ = self.estimator_.classes_


def test_kit_passes_a_correct_adapter():
    for check in (check_inputs_not_mutated, check_no_global_state_change):
        check(_Centerer())


def test_kit_catches_x_mutated_in_transform():
    with pytest.raises(AssertionError, match="X was modified in place"):
        check_inputs_not_mutated(_MutatesX())


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (_SeedsGlobalRNG(), "numpy's global random state"),
        (_SetsConfig(), "sklearn's global config was changed.*assume_finite"),
        (_ConfiguresRootLogger(), "root logger was reconfigured"),
    ],
    ids=["np.random.seed", "set_config", "logging.basicConfig"],
)
def test_kit_global_state_change_is_caught_after_an_earlier_fit(estimator, match):
    # An earlier check or fit (as in parametrize_with_checks) already made the
    # change, so the state before this check equals the state after the fit.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    rng = np.random.get_state()  # noqa: NPY002
    try:
        with sklearn.config_context():
            X = np.random.default_rng(0).normal(size=(20, 3))
            clone(estimator).fit(X, np.r_[np.zeros(10), -np.ones(10)].astype(int))
            with pytest.raises(AssertionError, match=match):
                check_no_global_state_change(estimator)
    finally:
        np.random.set_state(rng)  # noqa: NPY002
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)


def test_kit_global_state_check_restores_callers_state():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    rng = np.random.get_state()  # noqa: NPY002
    config = sklearn.get_config()
    check_no_global_state_change(_Centerer())
    assert sklearn.get_config() == config
    assert list(root.handlers) == handlers and root.level == level
    after = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(after[1], rng[1]) and after[2:] == rng[2:]


def test_kit_catches_minus_one_as_a_class_with_clear_messages():
    est = _MinusOneIsAClass()
    with pytest.raises(AssertionError, match="unlabelled marker"):
        check_unlabeled_never_a_class(est)
    with pytest.raises(AssertionError, match="classes_ should be the labelled"):
        check_classifier_labels(est)
    with pytest.raises(AssertionError, match="-1 became a class"):
        check_multi_source_and_few_shot(est)


class _JitteryScores(SourceOnly):
    """Same labels every fit, but probabilities that ignore random_state."""

    registry_name = "kit_jittery_scores"

    def __init__(self, estimator=None, *, random_state=None):
        super().__init__(estimator)
        self.random_state = random_state

    def _fit(self, data):
        super()._fit(data)
        self.jitter_ = np.random.default_rng().uniform(0, 1e-3)  # the defect

    def predict_proba(self, X, *, sample_domain=None):
        proba = super().predict_proba(X, sample_domain=sample_domain)
        return (proba + self.jitter_) / (1 + proba.shape[1] * self.jitter_)


def test_kit_compares_scores_not_only_labels():
    from sklearn.linear_model import LogisticRegression

    est = _JitteryScores(LogisticRegression())
    with pytest.raises(AssertionError, match=r"not deterministic \(predict_proba\)"):
        check_random_state_determinism(est)
    with pytest.raises(AssertionError, match=r"routing on and off .*\(predict_proba\)"):
        check_routing_modes(est)
    # a pickled copy keeps the jitter it was fitted with: that check passes
    check_clone_and_pickle(est)


def test_kit_allows_rounding_differences_between_calls():
    # a threaded forest sums its trees in thread order: predict_proba can
    # differ in the last bit from one call to the next
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=7, n_jobs=2, random_state=0
    )
    check_clone_and_pickle(SourceOnly(forest))


class _PerDomainCenterer(_Centerer):
    """Centres source and target rows on their own means."""

    _transform_uses_domain = True

    def _fit(self, data):
        super()._fit(data)
        self.source_mean_ = data.X[data.source].mean(axis=0)

    def _transform(self, X, sample_domain):
        means = np.where((sample_domain > 0)[:, None], self.source_mean_, self.mean_)
        return X - means


class _ForgetsTheDomain(_PerDomainCenterer):
    """Declares per-domain centring but applies the target mean to every row."""

    def _transform(self, X, sample_domain):
        return X - self.mean_


def test_kit_checks_the_declared_use_of_sample_domain():
    check_transform_follows_sample_domain(_PerDomainCenterer())
    with pytest.raises(AssertionError, match="transform ignores sample_domain"):
        check_transform_follows_sample_domain(_ForgetsTheDomain())
    one_map = type(
        "_MisDeclared", (_PerDomainCenterer,), {"_transform_uses_domain": False}
    )
    with pytest.raises(AssertionError, match="declares one map for every domain"):
        check_transform_follows_sample_domain(one_map())
    check_transform_follows_sample_domain(_Centerer())  # undeclared: not checked


class _SparseCenterer(_Centerer):
    """Returns its output as a sparse matrix."""

    def _transform(self, X, sample_domain):
        from scipy import sparse

        return sparse.csr_matrix(super()._transform(X, sample_domain))


def test_kit_compares_sparse_outputs():
    check_clone_and_pickle(_SparseCenterer())
