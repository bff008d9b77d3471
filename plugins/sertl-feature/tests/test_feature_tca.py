"""TCA: exact solve against an independent dense solve, low-rank path, MMD."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sertl_feature import TCA
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import rbf_kernel


def _shifted(seed=0, ns=40, nt=30, d=4):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(ns, d))
    Xt = rng.normal(size=(nt, d)) @ np.diag(np.linspace(0.5, 2.0, d)) + 1.5
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(ns, int), -np.ones(nt, int)]
    return X, sd


def _naive_tca(K, sd, mu, m):
    """Pan et al. 2011 written out densely: eig of (KLK + mu I)^-1 KHK."""
    n = K.shape[0]
    e = np.where(sd > 0, 1.0 / (sd > 0).sum(), -1.0 / (sd < 0).sum())
    L = np.outer(e, e)
    H = np.eye(n) - np.ones((n, n)) / n
    M = np.linalg.solve(K @ L @ K + mu * np.eye(n), K @ H @ K)
    w, V = np.linalg.eig(M)
    top = np.argsort(-w.real)[:m]
    return w.real[top], V[:, top].real


def _mmd2(A, B):
    """Biased squared MMD with a median-heuristic RBF kernel."""
    Z = np.vstack([A, B])
    d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    gamma = 1.0 / np.median(d2[np.triu_indices(len(Z), 1)])
    Kz = np.exp(-gamma * d2)
    na = len(A)
    return Kz[:na, :na].mean() + Kz[na:, na:].mean() - 2 * Kz[:na, na:].mean()


@pytest.mark.parametrize("mu", [0.1, 1.0, 10.0])
def test_exact_rbf_tca_matches_naive_dense_solve(mu):
    X, sd = _shifted()
    m = 3
    tca = TCA(n_components=m, mu=mu, solver="exact").fit(X, sample_domain=sd)
    K = rbf_kernel(X, gamma=tca.gamma_)
    lam, W = _naive_tca(K, sd, mu, m)
    assert np.max(subspace_angles(tca.projection_, W)) < 1e-6
    np.testing.assert_allclose(tca.eigenvalues_, lam, rtol=1e-6)


def test_linear_tca_factored_solver_matches_naive_dense_solve():
    X, sd = _shifted(seed=1, d=6)
    m = 3
    tca = TCA(n_components=m, kernel="linear", mu=1.0).fit(X, sample_domain=sd)
    assert tca.solver_ == "lowrank" and tca.rank_ == 6
    K = X @ X.T
    lam, W = _naive_tca(K, sd, 1.0, m)
    np.testing.assert_allclose(tca.eigenvalues_, lam, rtol=1e-6)
    # The embeddings of the training rows span the same space.
    assert np.max(subspace_angles(tca.transform(X), K @ W)) < 1e-6
    exact = TCA(n_components=m, kernel="linear", solver="exact").fit(
        X, sample_domain=sd
    )
    assert np.max(subspace_angles(exact.transform(X), K @ W)) < 1e-6


def test_nystroem_with_all_rows_as_landmarks_matches_exact():
    X, sd = _shifted(seed=2)
    kw = {"n_components": 3, "gamma": 0.3}
    exact = TCA(solver="exact", **kw).fit(X, sample_domain=sd)
    low = TCA(solver="lowrank", n_landmarks=1000, **kw).fit(X, sample_domain=sd)
    angles = subspace_angles(exact.transform(X), low.transform(X))
    assert np.max(angles) < 1e-3


def test_tca_reduces_mmd_between_domains():
    X, sd = _shifted(seed=3, ns=80, nt=80)
    m = 2
    for solver in ("exact", "lowrank"):
        tca = TCA(n_components=m, solver=solver, n_landmarks=60, random_state=0)
        Z = tca.fit_transform(X, sample_domain=sd)
        P = PCA(n_components=m).fit_transform(X)
        mmd_tca = _mmd2(Z[sd > 0], Z[sd < 0])
        assert mmd_tca < 0.5 * _mmd2(X[sd > 0], X[sd < 0])
        assert mmd_tca < 0.5 * _mmd2(P[sd > 0], P[sd < 0])


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_tca_component_variance_is_eigenvalue_and_shared_map(solver):
    X, sd = _shifted(seed=4)
    tca = TCA(n_components=3, solver=solver).fit(X, sample_domain=sd)
    Z = tca.fit_transform(X, sample_domain=sd)
    np.testing.assert_allclose(Z.var(axis=0) * len(X), tca.eigenvalues_, rtol=1e-6)
    # The embedding ignores sample_domain (one map for every row).
    np.testing.assert_allclose(Z, tca.transform(X), atol=1e-10)


def test_tca_default_gamma_is_median_heuristic():
    X, sd = _shifted(seed=5)
    tca = TCA(n_components=2).fit(X, sample_domain=sd)
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)[np.triu_indices(len(X), 1)]
    assert tca.gamma_ == pytest.approx(1.0 / np.median(d2))


def test_lowrank_rank_comes_from_the_spectrum_and_is_deterministic():
    X, sd = _shifted(seed=6, ns=200, nt=200)
    a = TCA(n_components=2, solver="lowrank", n_landmarks=50, random_state=3)
    b = TCA(n_components=2, solver="lowrank", n_landmarks=50, random_state=3)
    Za = a.fit_transform(X, sample_domain=sd)
    Zb = b.fit_transform(X, sample_domain=sd)
    np.testing.assert_array_equal(Za, Zb)
    assert 1 <= a.rank_ <= 50
    assert a.kernel_rows_.shape == (50, X.shape[1])


def test_lowrank_linear_memory_never_forms_n_by_n(monkeypatch):
    """The low-rank path only forms blocks against the landmarks."""
    import sertl_feature._tca as tca_mod

    X, sd = _shifted(seed=7, ns=600, nt=600)
    seen = []
    orig = tca_mod.rbf_kernel

    def spy(A, B, gamma, **kw):
        seen.append(B.shape[0])
        return orig(A, B, gamma, **kw)

    monkeypatch.setattr(tca_mod, "rbf_kernel", spy)
    TCA(n_components=2, solver="lowrank", n_landmarks=40).fit_transform(
        X, sample_domain=sd
    )
    assert seen and max(seen) == 40


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_components": 71, "solver": "exact"}, "n_components=71 is larger than"),
        ({"n_components": 5, "kernel": "linear"}, r"at most 4 \(rank of the centred X"),
        (
            {"n_components": 5, "kernel": "linear", "solver": "exact"},
            r"at most 4 \(rank of the centred X = 4, n_rows - 1 = 69\)",
        ),
        ({"mu": 0.0}, "'mu' parameter"),
        ({"kernel": "poly"}, "'kernel' parameter"),
        ({"solver": "dense"}, "'solver' parameter"),
    ],
)
def test_tca_bad_parameters(params, match):
    X, sd = _shifted()
    with pytest.raises(ValueError, match=match):
        TCA(**params).fit(X, sample_domain=sd)


def test_tca_float32_and_new_rows():
    X, sd = _shifted(seed=8)
    tca = TCA(n_components=2, random_state=0).fit(
        X.astype(np.float32), sample_domain=sd
    )
    out = tca.transform(np.ones((3, X.shape[1])))
    assert out.shape == (3, 2) and out.dtype == np.float64


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_fitted_model_keeps_no_reference_to_the_callers_array(solver):
    X, sd = _shifted()
    X = np.ascontiguousarray(X, dtype=np.float64)
    tca = TCA(n_components=2, solver=solver, n_landmarks=500).fit(X, sample_domain=sd)
    new = X[:5].copy()
    before = tca.transform(new)
    X *= 10.0  # the caller reuses its buffer
    np.testing.assert_array_equal(tca.transform(new), before)


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_components_do_not_depend_on_the_eigensolvers_sign_choice(solver, monkeypatch):
    # an eigenvector's sign is arbitrary (LAPACK builds differ); the fitted
    # map must not be: flipping what the solver returns changes nothing
    import sertl_feature._tca as tca_mod

    X, sd = _shifted()
    kw = {"n_components": 3, "solver": solver, "n_landmarks": 500}
    ref = TCA(**kw).fit(X, sample_domain=sd).transform(X)
    real = tca_mod.whitened_eigh

    def flipped(*args):
        U, lam = real(*args)
        return U * np.array([-1.0, 1.0, -1.0]), lam

    monkeypatch.setattr(tca_mod, "whitened_eigh", flipped)
    got = TCA(**kw).fit(X, sample_domain=sd).transform(X)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_tca_gives_the_components_asked_for_on_a_near_identity_kernel(solver):
    # a kernel close to the identity (a large gamma) has a nearly degenerate
    # spectrum, on which LAPACK's ranged solver returned fewer pairs or none
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    X[300:, 0] += 3
    sd = np.r_[np.ones(300, int), -np.ones(300, int)]
    tca = TCA(n_components=3, gamma=1e8, solver=solver, n_landmarks=100)
    Z = tca.fit(X, sample_domain=sd).transform(X)
    assert Z.shape == (600, 3) and tca.n_components_ == 3
    assert len(tca.get_feature_names_out()) == 3


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_tca_refuses_a_kernel_without_variance(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    sd = np.r_[np.ones(100, int), -np.ones(100, int)]
    with pytest.raises(ValueError, match=r"no variance in the kernel.*gamma=1e-12"):
        TCA(n_components=2, gamma=1e-12, solver=solver).fit(X, sample_domain=sd)
    with pytest.raises(ValueError, match="the rows are all identical"):
        TCA(n_components=2, solver=solver).fit(
            np.ones((20, 3)), sample_domain=np.r_[np.ones(10, int), -np.ones(10, int)]
        )


@pytest.mark.parametrize("solver", ["exact", "lowrank"])
def test_linear_tca_counts_the_rank_of_the_centred_rows(solver):
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(100, 6)), np.full((100, 1), 100.0)])
    sd = np.r_[np.ones(50, int), -np.ones(50, int)]
    with pytest.raises(ValueError, match="at most 6 .rank of the centred X = 6"):
        TCA(n_components=7, kernel="linear", solver=solver).fit(X, sample_domain=sd)
    Z = TCA(kernel="linear", solver=solver).fit(X, sample_domain=sd).transform(X)
    assert Z.shape[1] == 6 and Z.var(axis=0).min() > 1e-3
