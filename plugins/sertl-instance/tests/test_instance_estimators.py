"""KMM and KLIEP as transfer estimators: weights, domains, composition."""

import warnings

import numpy as np
import pytest
import sklearn
from sertl_instance import KLIEP, KMM, KernelWidthWarning, kmm_weights
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from sertl_core import DomainStandardScaler, SertlWarning, get_registry
from sertl_core.model_selection import TargetLabelSplit, TargetScorer


def _data(seed=0, n_src=(80,), n_tgt=60, d=4):
    """Covariate shift: same labelling rule, target sits right of the source."""
    rng = np.random.default_rng(seed)
    Xs, ys, sd = [], [], []
    for k, n in enumerate(n_src, start=1):
        X = rng.normal(size=(n, d)) + 0.3 * k
        Xs.append(X)
        ys.append((X[:, 0] + 0.5 * X[:, 1] > 0.5).astype(int))
        sd.append(np.full(n, k))
    Xt = rng.normal(size=(n_tgt, d)) * 0.6 + 1.0
    yt = (Xt[:, 0] + 0.5 * Xt[:, 1] > 0.5).astype(int)
    X = np.vstack([*Xs, Xt])
    y = np.concatenate([*ys, -np.ones(n_tgt, int)])
    sd = np.concatenate([*sd, -np.ones(n_tgt, int)])
    return X, y, sd, yt


# the edge of KLIEP's width grid is not what these tests are about
_ignore_width_edge = pytest.mark.filterwarnings(
    "ignore::sertl_instance.KernelWidthWarning"
)


@_ignore_width_edge
@pytest.mark.parametrize("Est", [KMM, KLIEP])
def test_weights_follow_source_rows_and_favour_target_region(Est):
    X, y, sd, _ = _data()
    # shuffle so that source rows are not first: weights_ follow X's order
    perm = np.random.default_rng(1).permutation(X.shape[0])
    X, y, sd = X[perm], y[perm], sd[perm]
    clf = Est(SVC(), random_state=0).fit(X, y, sample_domain=sd)
    Xs = X[sd > 0]
    assert clf.weights_.shape == (Xs.shape[0],)
    near = np.linalg.norm(Xs - 1.0, axis=1) < np.median(
        np.linalg.norm(Xs - 1.0, axis=1)
    )
    assert clf.weights_[near].mean() > clf.weights_[~near].mean()
    d = clf.diagnostics_
    assert d["status"] == "optimal"
    assert 0 < clf.effective_sample_size_ <= Xs.shape[0]
    assert d["max_weight"] == clf.weights_.max()
    assert np.isclose(d["mean_weight"], clf.weights_.mean())
    assert np.isfinite(clf.objective_)
    assert set(clf.predict(X[sd < 0]).tolist()) <= {0, 1}


def test_kmm_respects_bound_and_band():
    X, y, sd, _ = _data()
    clf = KMM(SVC(), B=2.0, eps=0.1, random_state=0).fit(X, y, sample_domain=sd)
    n = (sd > 0).sum()
    assert clf.weights_.max() <= 2.0 + 1e-9
    assert n * 0.9 - 1e-6 <= clf.weights_.sum() <= n * 1.1 + 1e-6
    # same weights as the public function on the same rows
    w = kmm_weights(X[sd > 0], X[sd < 0], B=2.0, eps=0.1, random_state=0)
    np.testing.assert_allclose(clf.weights_, w, atol=1e-6)
    # the estimator trains on weights of mean 1 unless told otherwise
    np.testing.assert_allclose(clf.sample_weight_, w / w.mean(), atol=1e-6)
    raw = KMM(SVC(), B=2.0, eps=0.1, normalize_weights=False, random_state=0)
    raw.fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(raw.sample_weight_, w, atol=1e-6)


@_ignore_width_edge
@pytest.mark.parametrize("Est", [KMM, KLIEP])
def test_multi_source_and_few_shot_target_weight(Est):
    X, y, sd, yt = _data(n_src=(50, 40))
    tgt = np.flatnonzero(sd < 0)
    y_few = y.copy()
    y_few[tgt[:8]] = yt[:8]
    clf = Est(SVC(), target_weight=3.0, random_state=0).fit(X, y_few, sample_domain=sd)
    assert clf.weights_.shape == (90,)
    np.testing.assert_array_equal(clf.sample_weight_[90:], np.full(8, 3.0))
    w_fit = clf.weights_ / clf.weights_.mean() if Est is KMM else clf.weights_
    np.testing.assert_allclose(clf.sample_weight_[:90], w_fit, rtol=1e-12)
    assert clf.estimator_.n_features_in_ == X.shape[1]


def test_estimator_without_sample_weight_uses_weighted_resample():
    X, y, sd, _ = _data()
    clf = KMM(KNeighborsClassifier(3), random_state=0).fit(X, y, sample_domain=sd)
    again = KMM(KNeighborsClassifier(3), random_state=0).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(clf.predict(X), again.predict(X))


def test_kliep_single_target_row_width_is_seeded_by_random_state():
    # one target row: no likelihood cross-validation, the width is the
    # median heuristic, which subsamples above 1,000 rows and must use
    # random_state like every other random draw of KLIEP
    X, y, sd, _ = _data(n_src=(1200,), n_tgt=1)
    widths = {
        KLIEP(random_state=0).fit(X, y, sample_domain=sd).sigma_ for _ in range(3)
    }
    assert len(widths) == 1
    # with candidate widths given, the largest (the smoothest ratio)
    few = KLIEP(sigmas=[0.5, 2.0, 1.0]).fit(X, y, sample_domain=sd)
    assert few.sigma_ == 2.0


def test_bad_parameters_get_clear_errors():
    X, y, sd, _ = _data()
    with pytest.raises(ValueError, match="'B' parameter of KMM must be a float"):
        KMM(B=-1.0).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="Unknown solver='magic'"):
        KMM(solver="magic").fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="KMM constraints are infeasible"):
        KMM(B=0.01, eps=0.5).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="'cv' parameter of KLIEP"):
        KLIEP(cv=1).fit(X, y, sample_domain=sd)


def test_registered_under_fixed_names():
    reg = get_registry()
    assert reg.get("estimators", "kmm") is KMM
    assert reg.get("estimators", "kliep") is KLIEP


def test_grid_search_over_width_and_bound_after_domain_scaler():
    X, y, sd, _ = _data()
    pipe = Pipeline(
        [("scale", DomainStandardScaler()), ("kmm", KMM(SVC(), random_state=0))]
    )
    grid = GridSearchCV(
        pipe, {"kmm__sigma": [0.5, 2.0], "kmm__B": [2.0, 1000.0]}, cv=3
    ).fit(X, y)  # routing off: target rows are the ones labelled -1
    assert grid.best_params_["kmm__sigma"] in (0.5, 2.0)
    assert len(grid.cv_results_["params"]) == 4
    assert set(grid.predict(X[sd < 0]).tolist()) <= {0, 1}


@_ignore_width_edge  # as an error it would drop the sigma=None candidate
def test_grid_search_routing_on_few_shot_target_scoring():
    X, y, sd, yt = _data(n_src=(50, 40))
    tgt = np.flatnonzero(sd < 0)
    y_few = y.copy()
    y_few[tgt[:20]] = yt[:20]
    pipe = Pipeline(
        [("scale", DomainStandardScaler()), ("w", KLIEP(SVC(), random_state=0))]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        grid = GridSearchCV(
            pipe,
            {
                "w__sigma": [None, 1.0],
                "w": [KLIEP(SVC(), random_state=0), KMM(SVC(), random_state=0)],
            },
            cv=TargetLabelSplit(n_splits=2, random_state=0),
            scoring=TargetScorer(),
        ).fit(X, y_few, sample_domain=sd)
        pred = grid.predict(X[sd < 0])  # no sample_domain: target rows
    assert set(pred.tolist()) <= {0, 1}
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_kliep_estimator_warns_at_the_grid_edge_and_not_with_a_fixed_width():
    X, y, sd, _ = _data()
    with pytest.warns(KernelWidthWarning, match="smallest candidate") as rec:
        clf = KLIEP(SVC(), random_state=0).fit(X, y, sample_domain=sd)
    scores = clf.diagnostics_["cv_scores"]
    assert clf.sigma_ == min(scores) == max(scores, key=scores.get)
    (warning,) = [w for w in rec if issubclass(w.category, KernelWidthWarning)]
    assert f"sigma={clf.sigma_:.4g}" in str(warning.message)
    # it points at the line that calls fit, not inside sertl-instance
    assert warning.filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelWidthWarning)
        KLIEP(SVC(), sigma=clf.sigma_, random_state=0).fit(X, y, sample_domain=sd)


@_ignore_width_edge
@pytest.mark.parametrize("Est", [KMM, KLIEP])
def test_callers_sample_weight_multiplies_the_importance_weights(Est):
    X, y, sd, _ = _data()
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 2.0, size=len(y))
    w[:5] = 0.0  # five source rows that must not train the classifier
    plain = Est(LogisticRegression(), random_state=0).fit(X, y, sample_domain=sd)
    weighted = Est(LogisticRegression(), random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    # the matching itself does not see the caller's weights
    np.testing.assert_allclose(weighted.weights_, plain.weights_)
    src = sd > 0
    np.testing.assert_allclose(weighted.sample_weight_, plain.sample_weight_ * w[src])
    ref = LogisticRegression().fit(
        X[src], y[src], sample_weight=weighted.sample_weight_
    )
    np.testing.assert_allclose(weighted.estimator_.coef_, ref.coef_)
    ones = Est(LogisticRegression(), random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=np.ones(len(y))
    )
    np.testing.assert_array_equal(ones.estimator_.coef_, plain.estimator_.coef_)


@pytest.mark.parametrize(("method", "sigma"), [(KMM, 5.0), (KLIEP, 2.0)])
def test_weights_resting_on_a_few_source_rows_are_warned_about(method, sigma):
    # domains that barely overlap: the classifier learned from a handful of
    # the 600 source rows, and only diagnostics_ said so
    rng = np.random.default_rng(0)
    n, d = 600, 20
    X = np.vstack([rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.5 + 2.5])
    y = np.r_[rng.integers(0, 3, n), np.full(n, -1)]
    sd = np.r_[np.ones(n, int), -np.ones(n, int)]
    est = method(LogisticRegression(max_iter=300), sigma=sigma, random_state=0)
    with pytest.warns(
        SertlWarning, match=r"leave \d+\.\d effective source rows of 600"
    ):
        est.fit(X, y, sample_domain=sd)
    assert est.effective_sample_size_ < 0.02 * n
    # overlapping domains keep most rows, and no warning
    X_near = np.vstack([X[:n], rng.normal(size=(n, d)) + 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        near = method(LogisticRegression(max_iter=300), sigma=sigma, random_state=0)
        near.fit(X_near, y, sample_domain=sd)
    assert near.effective_sample_size_ > 0.2 * n
