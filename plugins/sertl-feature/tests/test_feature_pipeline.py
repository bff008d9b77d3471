"""Grid search over the feature adapters inside a plain sklearn Pipeline."""

import numpy as np
import sklearn
from sertl_feature import CORAL, JDA, TCA, SubspaceAlignment
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from sertl_core import DomainStandardScaler, SourceOnly


def _problem(seed=0, n=40):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0] * 5, [3.0] + [0.0] * 4, [0.0, 3.0, 0, 0, 0]])
    ys = np.repeat([0, 1, 2], n)
    Xs = centers[ys] + rng.normal(scale=0.8, size=(3 * n, 5))
    Xt = 1.5 * (centers[ys] + rng.normal(scale=0.8, size=(3 * n, 5))) + 2.0
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(3 * n, int)]
    sd = np.r_[np.ones(3 * n, int), -np.ones(3 * n, int)]
    return X, y, sd


def _pipe():
    return Pipeline(
        [
            ("scale", DomainStandardScaler()),
            ("adapt", TCA(random_state=0)),
            ("clf", SourceOnly(SVC())),
        ]
    )


GRID = [
    {
        "adapt": [TCA(random_state=0)],
        "adapt__n_components": [2, 4],
        "adapt__mu": [0.1, 1.0],
        "adapt__gamma": [None, 0.1],
    },
    {"adapt": [CORAL()], "adapt__reg": [0.1, 1.0]},
    {"adapt": [SubspaceAlignment()], "adapt__n_components": [2, 3]},
    {"adapt": [JDA(max_iter=2)], "adapt__n_components": [2]},
    {"adapt": ["passthrough"]},
]


def _check_search(search, X, sd):
    n_cand = 8 + 2 + 2 + 1 + 1
    assert len(search.cv_results_["params"]) == n_cand
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    pred = search.predict(X[sd < 0])
    assert set(pred.tolist()) <= {0, 1, 2}


def test_grid_search_routing_off_labels_carry_the_domains():
    X, y, sd = _problem()
    search = GridSearchCV(_pipe(), GRID, cv=2).fit(X, y)
    _check_search(search, X, sd)


def test_grid_search_routing_off_explicit_sample_domain():
    X, y, sd = _problem(seed=1)
    # two source domains: the labels alone would infer one, so only the
    # explicit sample_domain can give the scaler a second source
    sd = np.where(np.arange(len(sd)) % 2 & (sd > 0), 2, sd)
    search = GridSearchCV(_pipe(), GRID[:1], cv=2)
    search.fit(
        X, y, scale__sample_domain=sd, adapt__sample_domain=sd, clf__sample_domain=sd
    )
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_["scale"].domains_.tolist() == [-1, 1, 2]


def test_grid_search_routing_on():
    X, y, sd = _problem(seed=2)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(_pipe(), GRID, cv=2).fit(X, y, sample_domain=sd)
        _check_search(search, X, sd)
