import numpy as np
import pytest
from sertl_relational import ClassRelationAligner
from sklearn.metrics import balanced_accuracy_score

from sertl_core import DomainError, DomainStandardScaler, SourceOnly


def _rotation(deg, d):
    t = np.radians(deg)
    R = np.eye(d)
    R[:2, :2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    return R


def _problem(deg=40, d=5, n=40, seed=0, shift=2.0, noise=0.5):
    rng = np.random.default_rng(seed)
    C = np.zeros((4, d))
    C[:, :2] = [[6.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -5.0]]
    Xs = np.vstack([rng.normal(c, noise, (n, d)) for c in C])
    Xt = (
        np.vstack([rng.normal(c, noise, (n, d)) for c in C]) @ _rotation(deg, d) + shift
    )
    y = np.repeat(np.arange(4), n)
    return Xs, y, Xt, y.copy()


def _fit_data(Xs, ys, Xt):
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(Xt), int)]
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    return X, y, sd


@pytest.mark.parametrize("mapping", ["orthogonal", "affine"])
def test_recovers_rotated_class_structure(mapping):
    Xs, ys, Xt, yt = _problem(deg=90)
    X, y, sd = _fit_data(Xs, ys, Xt)
    aligner = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping=mapping,
        graph_weight=10.0,
        shrinkage=0.0,
    )
    aligner.fit(X, y, sample_domain=sd)
    Zt = aligner.transform(Xt)
    for k in range(4):
        err = np.linalg.norm(Zt[yt == k].mean(0) - aligner.source_centroids_[k])
        assert err < 1.0


def test_beats_per_domain_standardisation_on_rotation():
    Xs, ys, Xt, yt = _problem(deg=60)
    X, y, sd = _fit_data(Xs, ys, Xt)
    scores = {}
    for name, adapter in {
        "dss": DomainStandardScaler(),
        "crel": ClassRelationAligner(graph_weight=10.0, shrinkage=0.0),
    }.items():
        Z = adapter.fit_transform(X, y, sample_domain=sd)
        clf = SourceOnly().fit(Z[sd > 0], y[sd > 0])
        scores[name] = balanced_accuracy_score(yt, clf.predict(adapter.transform(Xt)))
    assert scores["crel"] > scores["dss"] + 0.2
    assert scores["crel"] > 0.95


@pytest.mark.parametrize("mapping", ["orthogonal", "affine", "translation"])
def test_identity_when_domains_agree(mapping):
    Xs, ys, _, _ = _problem(noise=0.1)
    X, y, sd = _fit_data(Xs, ys, Xs)
    # in the LDA subspace the k-means clusters are the classes; in the full
    # standardised space the pure-noise dimensions of this toy problem weigh
    # as much as the informative ones, so clusters need not equal classes
    aligner = ClassRelationAligner(mapping=mapping, subspace="lda").fit(
        X, y, sample_domain=sd
    )
    np.testing.assert_allclose(
        aligner.transform(Xs),
        aligner.transform(Xs, sample_domain=np.ones(len(Xs), int)),
        atol=1e-6,
    )


def test_matching_uses_relation_graph():
    Xs, ys, Xt, _ = _problem(deg=180)
    X, y, sd = _fit_data(Xs, ys, Xt)
    no_graph = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping="orthogonal",
        graph_weight=0.0,
        shrinkage=0.0,
    ).fit(X, y, sample_domain=sd)
    graph = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping="orthogonal",
        graph_weight=100.0,
        shrinkage=0.0,
    ).fit(X, y, sample_domain=sd)

    def err(a):
        Zt = a.transform(Xt)
        return max(
            np.linalg.norm(Zt[ys == k].mean(0) - a.source_centroids_[k])
            for k in range(4)
        )

    assert err(graph) < 1.0 < err(no_graph)


@pytest.mark.parametrize("mapping", ["orthogonal", "affine", "translation"])
def test_strength_zero_is_per_domain_standardisation(mapping):
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner(mapping=mapping, strength=0.0).fit_transform(
        X, y, sample_domain=sd
    )
    b = DomainStandardScaler().fit_transform(X, y, sample_domain=sd)
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_several_source_and_target_domains():
    Xs, ys, Xt, _ = _problem()
    X = np.vstack([Xs, Xs + 1.0, Xt, Xt * 2.0])
    y = np.r_[ys, ys, -np.ones(2 * len(Xt), int)]
    sd = np.repeat([1, 2, -1, -2], len(Xs))
    a = ClassRelationAligner().fit(X, y, sample_domain=sd)
    assert sorted(a.maps_) == [-2, -1]
    Z = a.transform(X, sample_domain=sd)
    assert Z.shape == X.shape
    assert a.get_feature_names_out().shape == (X.shape[1],)


def test_errors():
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner().fit(X, y, sample_domain=sd)
    with pytest.raises(DomainError, match="not seen in fit"):
        a.transform(Xt, sample_domain=-3 * np.ones(len(Xt), int))
    with pytest.raises(DomainError, match="No target rows"):
        ClassRelationAligner().fit(Xs, ys, sample_domain=np.ones(len(Xs), int))
    with pytest.raises(ValueError, match="mapping"):
        ClassRelationAligner(mapping="rigid").fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="requires y"):
        ClassRelationAligner().fit(X, sample_domain=sd)
