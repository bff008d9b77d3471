"""The fast solvers land on the cvxpy optimum of the same programs."""

import re
import warnings

import numpy as np
import pytest
from sertl_instance import (
    KernelWidthWarning,
    SolverFailedError,
    kliep_weights,
    kmm_weights,
)
from sertl_instance._kernels import gaussian_kernel, kernel_row_sums, median_heuristic
from sertl_instance._kliep import _fit_kliep
from sertl_instance._kmm import _exact_factor, _solve_cvxpy_kmm
from sertl_instance._solvers import (
    _weighted_band_root,
    box_band_lp,
    project_box_band,
    solve_kliep_newton,
    solve_kmm_apg,
    solve_kmm_newton,
)
from sklearn.exceptions import ConvergenceWarning


def _shift(ns, nt, d=5, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(ns, d))
    Xt = rng.normal(size=(nt, d)) * 0.7 + 0.6
    return Xs, Xt


def _kkt_kmm(b, K, kappa, B, lo, hi, tol):
    """KKT of the box + band QP: g + nu = 0 on free rows, >= on 0, <= on B."""
    g = K @ b - kappa
    s = b.sum()
    free = (b > 1e-6 * B) & (b < B * (1 - 1e-6))
    nu = -np.median(g[free]) if free.any() else 0.0
    if s < hi - 1e-6 * hi and s > lo + 1e-6 * max(lo, 1):
        assert abs(nu) <= tol * np.abs(g).max()
    r = g + nu
    scale = np.abs(kappa).max()
    assert np.abs(r[free]).max() <= tol * scale
    assert (r[b <= 1e-6 * B] >= -tol * scale).all()
    assert (r[b >= B * (1 - 1e-6)] <= tol * scale).all()
    assert b.min() >= 0 and b.max() <= B * (1 + 1e-12)
    assert lo - 1e-6 * hi <= s <= hi * (1 + 1e-9)


@pytest.mark.parametrize(("ns", "nt", "B"), [(150, 120, 1000.0), (400, 300, 3.0)])
def test_kmm_apg_matches_cvxpy_and_kkt(ns, nt, B):
    Xs, Xt = _shift(ns, nt)
    sigma = median_heuristic(np.vstack([Xs, Xt]))
    K = gaussian_kernel(Xs, Xs, sigma)
    kappa = ns / nt * kernel_row_sums(Xs, Xt, sigma)
    eps = (np.sqrt(ns) - 1) / np.sqrt(ns)
    lo, hi = ns * (1 - eps), ns * (1 + eps)
    fast = solve_kmm_apg(kappa, B, lo, hi, K=K, tol=1e-10)
    assert fast.status == "optimal"
    b_cvx, status, _ = _solve_cvxpy_kmm(_exact_factor(K), kappa, B, lo, hi, "CLARABEL")
    f_cvx = 0.5 * b_cvx @ K @ b_cvx - kappa @ b_cvx
    assert status == "optimal"
    assert abs(fast.objective - f_cvx) <= 1e-4 * abs(f_cvx)
    # the certified gap bounds the distance to the optimum
    assert fast.objective - f_cvx <= fast.gap + 1e-6 * abs(f_cvx)
    _kkt_kmm(fast.x, K, kappa, B, lo, hi, 1e-3)
    if B < 10:
        assert fast.x.max() <= B + 1e-12  # the bound binds and is respected


def test_kmm_apg_on_factor_matches_cvxpy():
    Xs, Xt = _shift(300, 300, d=8, seed=1)
    w_fast, i_fast = kmm_weights(
        Xs,
        Xt,
        kernel_approx="nystroem",
        solver="apg",
        random_state=0,
        return_info=True,
        tol=1e-10,
    )
    w_cvx, i_cvx = kmm_weights(
        Xs,
        Xt,
        kernel_approx="nystroem",
        solver="clarabel",
        random_state=0,
        return_info=True,
    )
    assert i_fast["rank"] == i_cvx["rank"] < 300
    assert abs(i_fast["objective"] - i_cvx["objective"]) <= 1e-4 * abs(
        i_cvx["objective"]
    )


@pytest.mark.parametrize(
    ("B", "eps"),
    [(1000.0, None), (2.0, None), (1000.0, 0.01), (1.5, 0.3)],
    ids=["paper", "bound-binds", "band-tight", "bound-and-band"],
)
def test_kmm_newton_matches_apg_cvxpy_and_kkt(B, eps):
    """The dual Newton solver reaches the optimum of the Nyström program."""
    Xs, Xt = _shift(350, 250, d=6, seed=5)
    common = dict(
        B=B, eps=eps, kernel_approx="nystroem", random_state=0, return_info=True
    )
    w_new, i_new = kmm_weights(Xs, Xt, solver="newton", tol=1e-12, **common)
    w_apg, i_apg = kmm_weights(Xs, Xt, solver="apg", tol=1e-10, **common)
    w_cvx, i_cvx = kmm_weights(Xs, Xt, solver="clarabel", **common)
    assert i_new["solver"] == "newton" and i_new["status"] == "optimal"
    assert i_new["rank"] == i_apg["rank"] == i_cvx["rank"] < 350
    f_new, f_apg, f_cvx = (i["objective"] for i in (i_new, i_apg, i_cvx))
    assert abs(f_new - f_cvx) <= 1e-6 * abs(f_cvx)
    assert f_new <= f_apg + 1e-7 * abs(f_apg)
    # the certified gap bounds the distance to the optimum
    assert f_new - min(f_cvx, f_apg) <= i_new["gap"] + 1e-7 * abs(f_cvx)
    # strongly convex program: a unique minimiser
    assert np.abs(w_new - w_cvx).max() <= 1e-3 * max(1.0, w_cvx.max())
    ns = Xs.shape[0]
    e = i_new["eps"]
    assert w_new.min() >= 0 and w_new.max() <= B
    assert ns * (1 - e) * (1 - 1e-12) <= w_new.sum() <= ns * (1 + e) * (1 + 1e-12)
    if B < 10:
        assert w_new.max() == B  # the bound binds and is met exactly


def test_kmm_newton_kkt_on_explicit_factor():
    rng = np.random.default_rng(7)
    n, r = 300, 12
    Z = rng.normal(size=(n, r))
    d = rng.uniform(0.05, 1.0, n)
    kappa = Z @ rng.normal(size=r) * 3 + rng.normal(size=n)
    B, lo, hi = 4.0, 100.0, 150.0
    res = solve_kmm_newton(kappa, B, lo, hi, Z=Z, d=d, tol=1e-14)
    assert res.status == "optimal" and res.n_iter < 50
    _kkt_kmm(res.x, Z @ Z.T + np.diag(d), kappa, B, lo, hi, 1e-6)
    apg = solve_kmm_apg(kappa, B, lo, hi, Z=Z, d=d, tol=1e-12, max_iter=100000)
    assert abs(res.objective - apg.objective) <= 1e-8 * abs(apg.objective)


def test_weighted_band_root_is_exact():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(1, 40))
        q = rng.normal(scale=3, size=n)
        d = rng.uniform(0.1, 2.0, n)
        B = float(rng.uniform(0.5, 3.0))
        target = float(rng.uniform(0, n * B))
        nu = _weighted_band_root(q, d, B, target)
        assert np.clip((q - nu) / d, 0, B).sum() == pytest.approx(target, abs=1e-9)


def test_kmm_rank_follows_spectrum():
    Xs, Xt = _shift(400, 400, d=3, seed=2)
    _, coarse = kmm_weights(
        Xs,
        Xt,
        kernel_approx="nystroem",
        rank_tol=1e-2,
        random_state=0,
        return_info=True,
    )
    _, fine = kmm_weights(
        Xs,
        Xt,
        kernel_approx="nystroem",
        rank_tol=1e-4,
        random_state=0,
        return_info=True,
    )
    assert coarse["rank"] < fine["rank"]
    assert coarse["spectrum_resolved"]


def test_projection_and_lp():
    rng = np.random.default_rng(0)
    v = rng.normal(scale=3, size=50)
    for lo, hi in [(0.0, 5.0), (60.0, 80.0), (0.0, 1e9)]:
        x = project_box_band(v, 4.0, lo, hi)
        assert lo - 1e-9 <= x.sum() <= hi + 1e-9
        assert x.min() >= 0 and x.max() <= 4.0
        # optimality of the projection: no feasible random point is closer
        for _ in range(50):
            y = project_box_band(x + rng.normal(scale=0.5, size=50), 4.0, lo, hi)
            assert np.sum((x - v) ** 2) <= np.sum((y - v) ** 2) + 1e-9
        s = box_band_lp(v, 4.0, lo, hi)
        assert lo - 1e-9 <= s.sum() <= hi + 1e-9
        for _ in range(50):
            y = project_box_band(rng.uniform(0, 4, 50), 4.0, lo, hi)
            assert v @ s <= v @ y + 1e-9


def test_kliep_newton_matches_cvxpy():
    Xs, Xt = _shift(400, 300, seed=3)
    sigma = median_heuristic(np.vstack([Xs, Xt]))
    centers = Xt[:100]
    A = gaussian_kernel(Xt, centers, sigma)
    c = gaussian_kernel(Xs, centers, sigma).mean(axis=0)
    res = solve_kliep_newton(A, c, tol=1e-10)
    assert res.status == "optimal"
    _, f_cvx, status, *_ = _fit_kliep(Xs, Xt, centers, sigma, "CLARABEL", 1e-9)
    assert status == "optimal"
    assert abs(res.objective - f_cvx) <= 1e-4 * abs(f_cvx)
    assert res.objective >= f_cvx - 1e-6  # and it is no worse
    assert abs(c @ res.x - 1) < 1e-9 and res.x.min() >= 0
    # KKT: gradient of f equals the multiplier on the support, below it off it
    grad = A.T @ (1 / (A @ res.x)) / A.shape[0]
    nu = grad[res.x > 1e-6 * res.x.max()] / c[res.x > 1e-6 * res.x.max()]
    assert np.allclose(nu, 1.0, atol=1e-4)
    assert (grad / c <= 1 + 1e-4).all()


def test_kliep_cvxpy_solution_is_certified_and_warns_when_far():
    # An accurate cvxpy solve carries the same certified gap as Newton's
    # (small, silent); a narrow kernel in 2-D makes Clarabel stop 0.19 nats
    # short of the optimum with the status "optimal".
    Xs, Xt = _shift(400, 300, seed=3)
    sigma = median_heuristic(np.vstack([Xs, Xt]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        *_, gap, _ = _fit_kliep(Xs, Xt, Xt[:100], sigma, "CLARABEL", 1e-9)
    assert 0.0 <= gap < 1e-5
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(150, 2)), rng.normal(loc=0.5, size=(100, 2))
    narrow = 0.1 * median_heuristic(np.vstack([Xs, Xt]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, f_cvx, _, _, gap, _ = _fit_kliep(Xs, Xt, Xt, narrow, "CLARABEL", 1e-9)
    res = solve_kliep_newton(
        gaussian_kernel(Xt, Xt, narrow),
        gaussian_kernel(Xs, Xt, narrow).mean(axis=0),
        tol=1e-10,
    )
    assert res.objective - f_cvx > 0.1  # the premise: Clarabel fell short
    assert res.objective - f_cvx <= gap + 1e-9  # and the bound holds
    far = [w for w in caught if "certified only to within" in str(w.message)]
    assert len(far) == 1 and issubclass(far[0].category, ConvergenceWarning)
    assert "(status 'optimal')" in str(far[0].message)
    assert "solver='newton'" in str(far[0].message)


def test_kliep_lcv_picks_a_width_from_target_only():
    Xs, Xt = _shift(300, 200, d=2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelWidthWarning)  # inside: silent
        w, info = kliep_weights(
            Xs, Xt, sigmas=[0.05, 0.5, 1.0, 50.0], random_state=0, return_info=True
        )
    assert set(info["cv_scores"]) == {0.05, 0.5, 1.0, 50.0}
    assert info["sigma"] == max(info["cv_scores"], key=info["cv_scores"].get)
    assert info["sigma"] in (0.5, 1.0)
    assert abs(w.mean() - 1) < 1e-8


def test_kliep_warns_when_the_default_grid_keeps_its_smallest_width():
    Xs, Xt = _shift(200, 150, d=3, seed=6)
    with pytest.warns(KernelWidthWarning, match="smallest candidate") as rec:
        w, info = kliep_weights(Xs, Xt, random_state=0, return_info=True)
    scores = info["cv_scores"]
    # the warning changes nothing: the best-scoring width is kept
    assert info["sigma"] == max(scores, key=scores.get) == min(scores)
    assert abs(w.mean() - 1) < 1e-8
    (warning,) = rec
    message = str(warning.message)
    lo = info["sigma"]
    assert f"sigma={lo:.4g}" in message
    assert "0.25 to 4 times the median distance" in message
    # it suggests widths below the grid, and it points at the caller
    assert f"sigmas=, e.g. {lo / 4:.3g} and {lo / 2:.3g}" in message
    # and the effective sample size of the weights it returns, since a
    # narrower width concentrates them
    ess = 100 * info["effective_sample_ratio"]
    assert f"effective sample size (now {ess:.0f} %)" in message
    assert warning.filename == __file__


def _fake_lcv(peak):
    """Held-out score that peaks at ``peak`` (the real one favours small widths)."""

    def score(Xs, Xt, sigma, splits, solver, tol):
        return -np.inf if peak is None else -abs(np.log(sigma / peak))

    return score


@pytest.mark.parametrize(
    ("peak", "chosen", "match"),
    [
        (0.1, 0.5, "the smallest candidate width .* e.g. 0.125 and 0.25"),
        (50.0, 4.0, "the largest candidate width .* e.g. 8 and 16"),
        (None, 4.0, "no candidate width could be fitted .* the largest, sigma=4"),
        (1.0, 1.0, None),
        (1.9, 2.0, None),
    ],
)
def test_kliep_warns_exactly_when_the_width_is_at_an_edge(
    monkeypatch, peak, chosen, match
):
    import sertl_instance._kliep as kliep_module

    monkeypatch.setattr(kliep_module, "_lcv_score", _fake_lcv(peak))
    Xs, Xt = _shift(80, 60, d=2, seed=7)
    grid = [2.0, 0.5, 4.0, 1.0]  # any order: the edges are the min and max
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        _, info = kliep_weights(Xs, Xt, sigmas=grid, random_state=0, return_info=True)
    assert info["sigma"] == chosen
    caught = [r for r in rec if issubclass(r.category, KernelWidthWarning)]
    if match is None:
        assert caught == []
    else:
        assert len(caught) == 1
        assert re.search(match, str(caught[0].message))


def test_kliep_one_distinct_candidate_width_is_no_grid_to_warn_about():
    Xs, Xt = _shift(80, 60, d=2, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelWidthWarning)
        _, info = kliep_weights(
            Xs, Xt, sigmas=[1.0, 1.0], random_state=0, return_info=True
        )
    assert info["sigma"] == 1.0 and len(info["cv_scores"]) == 1


def test_errors_are_clear():
    Xs, Xt = _shift(50, 40)
    with pytest.raises(ValueError, match="infeasible"):
        kmm_weights(Xs, Xt, B=0.01, eps=0.1)
    with pytest.raises(ValueError, match="Unknown solver='nope'"):
        kmm_weights(Xs, Xt, solver="nope")
    with pytest.raises(ValueError, match="same features"):
        kmm_weights(Xs, Xt[:, :2])
    with pytest.raises(ValueError, match="solver='newton' works on the Nyström"):
        kmm_weights(Xs, Xt, solver="newton", kernel_approx="exact")
    with pytest.raises(ValueError, match="at least cv=5 target rows"):
        kliep_weights(Xs, Xt[:3])
    with pytest.raises(ValueError, match="positive widths"):
        kliep_weights(Xs, Xt, sigmas=[-1.0, 1.0])


def test_solver_failure_is_a_clear_error(monkeypatch):
    import cvxpy as cp

    def fail(self, *args, **kwargs):
        raise cp.error.SolverError("boom")

    monkeypatch.setattr(cp.Problem, "solve", fail)
    Xs, Xt = _shift(30, 30)
    with pytest.raises(SolverFailedError, match="KMM: cvxpy solver CLARABEL failed"):
        kmm_weights(Xs, Xt, solver="cvxpy")
    with pytest.raises(SolverFailedError, match="KLIEP: cvxpy solver SCS failed"):
        kliep_weights(Xs, Xt, sigma=1.0, solver="scs")


def test_kliep_width_cross_validation_survives_an_infeasible_width_with_cvxpy():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(60, 3))
    Xt = rng.normal(0.5, size=(50, 3))
    kw = {"sigmas": [0.01, 1.0], "n_centers": 10, "random_state": 0}
    # 0.01 cannot be fitted, so the largest width wins, with a warning
    with pytest.warns(KernelWidthWarning, match="sigma=1, the largest"):
        w_newton = kliep_weights(Xs, Xt, solver="newton", **kw)
    with pytest.warns(KernelWidthWarning, match="sigma=1, the largest"):
        w_cvxpy = kliep_weights(Xs, Xt, solver="cvxpy", **kw)
    np.testing.assert_allclose(w_cvxpy, w_newton, rtol=1e-3, atol=1e-4)


@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
def test_kliep_lcv_scores_every_width_on_the_same_folds():
    # two widths a hair apart must get (almost) the same held-out score:
    # drawing new folds and centres for each width would add split noise
    Xs, Xt = _shift(200, 120, d=3, seed=5)
    s = 1.0
    _, info = kliep_weights(
        Xs, Xt, sigmas=[s, s * (1 + 1e-9)], random_state=0, return_info=True
    )
    a, b = info["cv_scores"].values()
    assert abs(a - b) < 1e-6


@pytest.mark.parametrize("solver", ["newton", "cvxpy"])
def test_kliep_width_below_source_reach_raises(solver):
    # every source kernel value underflows: the ratio is unbounded, and the
    # built-in solver used to return all-zero weights with status 'optimal'
    Xs, Xt = _shift(30, 20, d=2, seed=0)
    with pytest.raises(SolverFailedError, match="larger sigma"):
        kliep_weights(Xs, Xt + 10.0, sigma=1e-2, solver=solver)


@pytest.mark.parametrize("name", ["APG", "Newton", "AUTO", "CVXPY"])
def test_built_in_solver_names_match_in_any_case(name):
    # cvxpy's names already did ("clarabel" -> "CLARABEL")
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(30, 2)), rng.normal(0.5, 1, size=(20, 2))
    fit = kliep_weights if name == "Newton" else kmm_weights
    w_upper = fit(Xs, Xt, solver=name, random_state=0, **_width(Xs))
    w_lower = fit(Xs, Xt, solver=name.lower(), random_state=0, **_width(Xs))
    np.testing.assert_array_equal(w_upper, w_lower)
    with pytest.raises(ValueError, match=r"Unknown solver='APGX'"):
        kmm_weights(Xs, Xt, solver="APGX")


def _width(X):
    return {"sigma": float(median_heuristic(X, random_state=0))}


def test_no_edge_warning_when_every_width_scores_the_same():
    # identical rows: every candidate width has the same likelihood, so the
    # smallest is kept by the tie and says nothing about the grid's edge
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelWidthWarning)
        w, info = kliep_weights(np.ones((10, 2)), np.ones((6, 2)), return_info=True)
    np.testing.assert_allclose(w, 1.0)
    # a real shift still warns at the edge (the grid's smallest width wins)
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(60, 8)), rng.normal(2.0, 1, size=(40, 8))
    with pytest.warns(KernelWidthWarning, match="smallest candidate"):
        kliep_weights(Xs, Xt, random_state=0)
