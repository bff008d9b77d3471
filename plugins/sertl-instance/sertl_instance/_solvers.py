"""Structure-exploiting solvers for the KMM and KLIEP convex programs.

KMM (Huang et al., 2006) is the quadratic program::

    minimise    f(b) = 1/2 b' K b - kappa' b
    subject to  0 <= b_i <= B,   lo <= sum(b) <= hi

with ``K = Z Z'`` given by a factor ``Z`` (n x r) or a dense ``K``. The
feasible set is a box plus one linear band, so the Euclidean projection is a
one-dimensional root search (here exact, by sorting the breakpoints) and
every gradient costs O(n r). :func:`solve_kmm_apg` runs accelerated
projected gradient (FISTA) with adaptive restart and stops on a certified
bound: the Frank-Wolfe duality gap ``max_s grad f(b)'(b - s)`` over the
feasible set is an upper bound on ``f(b) - f*``.

KLIEP (Sugiyama et al., 2008) is the concave program::

    maximise    mean_j log((A alpha)_j)
    subject to  c' alpha = 1,   alpha >= 0

With ``beta = c * alpha`` it becomes a maximum-likelihood mixture-weight
problem on the simplex. :func:`solve_kliep_newton` runs a log-barrier
Newton method (a few dozen Newton steps of size ``n_centers``) and stops on
the certified bound ``f* - f(beta) <= log(max_l grad_l f(beta))``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._common import one_blas_thread

__all__ = [
    "SolverResult",
    "box_band_lp",
    "project_box_band",
    "solve_kliep_newton",
    "solve_kmm_apg",
    "solve_kmm_newton",
]


@dataclass
class SolverResult:
    """Solution of one convex program and how it was reached."""

    x: np.ndarray
    objective: float
    status: str
    n_iter: int
    gap: float
    solver: str
    time_s: float
    extra: dict = field(default_factory=dict)


def _band_root(v, B, target):
    """Return tau with ``sum(clip(v - tau, 0, B)) == target`` (exact)."""
    n = v.shape[0]
    vs = np.sort(v)
    S = np.concatenate(([0.0], np.cumsum(vs)))
    bp = np.concatenate((vs - B, vs))  # breakpoints of the piecewise-linear sum
    bp.sort()
    lo_idx = np.searchsorted(vs, bp, side="right")  # rows with v <= tau are 0
    hi_idx = np.searchsorted(vs, bp + B, side="left")  # rows with v >= tau+B at B
    h = B * (n - hi_idx) + (S[hi_idx] - S[lo_idx]) - bp * (hi_idx - lo_idx)
    # h is non-increasing in tau; find the segment holding the target
    k = int(np.searchsorted(-h, -target, side="left"))
    if k == 0:
        return bp[0] - (target - h[0]) / max(n, 1)
    if k >= bp.shape[0]:
        return bp[-1]
    h0, h1 = h[k - 1], h[k]
    t0, t1 = bp[k - 1], bp[k]
    if h0 == h1:
        return t0
    return t0 + (h0 - target) * (t1 - t0) / (h0 - h1)


def project_box_band(v, B, lo, hi):
    """Euclidean projection onto ``{0 <= x <= B, lo <= sum(x) <= hi}``.

    Parameters
    ----------
    v : ndarray of shape (n,)
        Point to project.
    B : float
        Upper bound of each coordinate.
    lo, hi : float
        Bounds of the sum, ``0 <= lo <= hi <= n B``.

    Returns
    -------
    x : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._solvers import project_box_band
    >>> project_box_band(np.array([3.0, 1.0, -1.0]), 10.0, 0.0, 2.0).tolist()
    [2.0, 0.0, 0.0]
    """
    x = np.clip(v, 0.0, B)
    s = x.sum()
    if s > hi:
        tau = _band_root(v, B, hi)
    elif s < lo:
        tau = _band_root(v, B, lo)
    else:
        return x
    return np.clip(v - tau, 0.0, B)


def box_band_lp(g, B, lo, hi):
    """Minimise ``g' s`` over ``{0 <= s <= B, lo <= sum(s) <= hi}`` (greedy).

    Parameters
    ----------
    g : ndarray of shape (n,)
    B, lo, hi : float

    Returns
    -------
    s : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._solvers import box_band_lp
    >>> box_band_lp(np.array([-1.0, 2.0, -3.0]), 1.0, 0.0, 1.5).tolist()
    [0.5, 0.0, 1.0]
    """
    order = np.argsort(g, kind="stable")
    n_neg = int(np.count_nonzero(g < 0))
    total = min(max(B * n_neg, lo), hi)
    s = np.zeros_like(g)
    full = int(total // B) if B > 0 else 0
    full = min(full, g.shape[0])
    s[order[:full]] = B
    rest = total - full * B
    if full < g.shape[0] and rest > 0:
        s[order[full]] = rest
    return s


def _kmm_ops(Z, K, d):
    if K is not None:

        def hess(b):
            return K @ b

    elif d is None:

        def hess(b):
            return Z @ (Z.T @ b)

    else:

        def hess(b):
            return Z @ (Z.T @ b) + d * b

    return hess


def _lipschitz(Z, K, d):
    if K is not None:
        return float(np.linalg.eigvalsh(K)[-1])
    # largest eigenvalue of Z Z' == largest of the small Z' Z
    lam = float(np.linalg.eigvalsh(Z.T @ Z)[-1])
    return lam + (float(np.max(d)) if d is not None else 0.0)


@one_blas_thread
def solve_kmm_apg(
    kappa,
    B,
    lo,
    hi,
    *,
    Z=None,
    K=None,
    d=None,
    tol=1e-8,
    max_iter=20000,
    check_every=10,
    x0=None,
):
    """Solve the KMM quadratic program by accelerated projected gradient.

    BLAS runs single-threaded: the work is thin matrix-vector products,
    where extra threads only add synchronisation (several times slower on a
    loaded machine).

    Parameters
    ----------
    kappa : ndarray of shape (n,)
        Linear term.
    B : float
        Upper bound of each weight.
    lo, hi : float
        Bounds of ``sum(b)``.
    Z : ndarray of shape (n, r), default=None
        Factor with ``K = Z Z'`` (give ``Z`` or ``K``).
    K : ndarray of shape (n, n), default=None
        Dense kernel matrix.
    d : ndarray of shape (n,), default=None
        Non-negative diagonal added to ``Z Z'`` (``K = Z Z' + diag(d)``;
        only with ``Z``).
    tol : float, default=1e-8
        Stop when the Frank-Wolfe duality gap (a certified bound on
        ``f(b) - f*``) is at most ``tol * max(1, |f(b)|)``, or when the KKT
        residual (the gradient mapping ``L (b - P(b - grad f(b) / L))``,
        zero exactly at the optimum) is at most ``tol * max|kappa|``.
    max_iter : int, default=20000
        Iteration budget; the status is ``"max_iter"`` when it runs out.
    check_every : int, default=10
        How often the gap is computed.
    x0 : ndarray of shape (n,), default=None
        Starting point (projected first); default all ones.

    Returns
    -------
    result : SolverResult
        ``gap`` is the certified bound on ``f(b) - f*``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._solvers import solve_kmm_apg
    >>> K = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> res = solve_kmm_apg(np.array([2.0, 3.0]), 10.0, 0.0, 10.0, K=K)
    >>> np.round(res.x, 6).tolist(), res.status
    ([1.0, 3.0], 'optimal')
    """
    t_start = time.perf_counter()
    if (Z is None) == (K is None):
        raise ValueError("give exactly one of Z (a factor) or K (a dense kernel)")
    hess = _kmm_ops(Z, K, d)
    n = kappa.shape[0]
    L = max(_lipschitz(Z, K, d), 1e-12) * (1 + 1e-9)
    x = project_box_band(np.ones(n) if x0 is None else np.asarray(x0, float), B, lo, hi)
    Hx = hess(x)
    y, Hy = x.copy(), Hx.copy()
    t = 1.0
    status = "max_iter"
    gap = np.inf
    fx = 0.5 * x @ Hx - kappa @ x
    kscale = max(float(np.max(np.abs(kappa))), 1e-300)
    kkt = np.inf
    criterion = None
    it = 0
    for it in range(1, max_iter + 1):
        grad_y = Hy - kappa
        x_new = project_box_band(y - grad_y / L, B, lo, hi)
        Hx_new = hess(x_new)
        # adaptive restart (O'Donoghue & Candes, 2015): momentum off when the
        # step points uphill
        if grad_y @ (x_new - x) > 0:
            t = 1.0
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        beta = (t - 1) / t_new
        y = x_new + beta * (x_new - x)
        Hy = Hx_new + beta * (Hx_new - Hx)
        x, Hx, t = x_new, Hx_new, t_new
        if it % check_every == 0 or it == max_iter:
            g = Hx - kappa
            fx = 0.5 * x @ Hx - kappa @ x
            s = box_band_lp(g, B, lo, hi)
            gap = float(g @ (x - s))
            if gap <= tol * max(1.0, abs(fx)):
                status = "optimal"
                criterion = "duality_gap"
                break
            # KKT residual: the gradient mapping L (x - P(x - g / L)) is zero
            # exactly at the optimum
            kkt = L * float(np.max(np.abs(x - project_box_band(x - g / L, B, lo, hi))))
            if kkt <= tol * kscale:
                status = "optimal"
                criterion = "kkt_residual"
                break
    fx = float(0.5 * x @ Hx - kappa @ x)
    return SolverResult(
        x=x,
        objective=fx,
        status=status,
        n_iter=it,
        gap=max(gap, 0.0),
        solver="apg",
        time_s=time.perf_counter() - t_start,
        extra={"lipschitz": L, "kkt_residual": kkt / kscale, "criterion": criterion},
    )


def _weighted_band_root(q, d, B, target):
    """Return nu with ``sum(clip((q - nu) / d, 0, B)) == target`` (exact).

    The sum is continuous, piecewise linear and non-increasing in ``nu``
    with breakpoints ``q_i - B d_i`` (row ``i`` leaves ``B``) and ``q_i``
    (row ``i`` reaches 0); it is evaluated at every breakpoint from sorted
    suffix sums and the segment holding ``target`` is interpolated.
    """
    n = q.shape[0]
    inv = 1.0 / d
    qi = q * inv
    a = q - B * d

    def suffix(keys):
        order = np.argsort(keys, kind="stable")
        ks = keys[order]
        s1 = np.concatenate((np.cumsum(qi[order][::-1])[::-1], [0.0]))
        s0 = np.concatenate((np.cumsum(inv[order][::-1])[::-1], [0.0]))
        return ks, s1, s0

    cs, c1, c0 = suffix(q)
    as_, a1, a0 = suffix(a)
    bp = np.sort(np.concatenate((a, q)))
    ic = np.searchsorted(cs, bp, side="right")  # rows with q_i > nu
    ia = np.searchsorted(as_, bp, side="left")  # rows with a_i >= nu (at B)
    h = B * (n - ia) + (c1[ic] - a1[ia]) - bp * (c0[ic] - a0[ia])
    k = int(np.searchsorted(-h, -target, side="left"))
    if k == 0:
        return float(bp[0] - (target - h[0]) / max(float(inv.sum()), 1e-300))
    if k >= bp.shape[0]:
        return float(bp[-1])
    h0, h1, t0, t1 = h[k - 1], h[k], bp[k - 1], bp[k]
    if h0 == h1:
        return float(t0)
    return float(t0 + (h0 - target) * (t1 - t0) / (h0 - h1))


def _kmm_dual_primal(y, Z, d, kappa, B, lo, hi):
    """Minimiser over the box and band of ``1/2 b'Db - (kappa - Zy)'b``."""
    q = kappa - Z @ y
    b = np.clip(q / d, 0.0, B)
    s = float(b.sum())
    nu = 0.0
    if s > hi:
        nu = _weighted_band_root(q, d, B, hi)
    elif s < lo:
        nu = _weighted_band_root(q, d, B, lo)
    if nu != 0.0:
        b = np.clip((q - nu) / d, 0.0, B)
    return b, nu, q


@one_blas_thread
def solve_kmm_newton(kappa, B, lo, hi, *, Z, d, tol=1e-8, max_iter=100, y0=None):
    """Solve KMM with ``K = Z Z' + diag(d)`` by semismooth Newton on its dual.

    With ``u = Z' b`` and its multiplier ``y`` (``r`` numbers, the rank of
    the factor), the dual function is::

        g(y) = -1/2 ||y||^2 + min_{b in C} 1/2 b' D b - (kappa - Z y)' b

    over the box-and-band set ``C``; for ``D = diag(d) > 0`` the inner
    minimiser ``b(y) = clip((kappa - Z y - nu) / d, 0, B)`` is closed-form
    up to the band multiplier ``nu`` (one exact root search). ``g`` is
    strongly concave and its gradient ``Z' b(y) - y`` is piecewise smooth,
    so a Newton step solves one ``r x r`` system ``(I + Z_F' D_F^-1 Z_F) dy
    = Z' b - y`` (rows ``F`` strictly inside the box, projected on the band
    when it binds), with an Armijo line search on ``g``. Every ``b(y)`` is
    feasible and the duality gap ``f(b(y)) - g(y) = 1/2 ||Z' b(y) - y||^2``
    certifies how far ``f(b(y))`` is from the optimum. BLAS runs
    single-threaded (``r x r`` systems and thin products).

    Parameters
    ----------
    kappa : ndarray of shape (n,)
        Linear term.
    B : float
        Upper bound of each weight.
    lo, hi : float
        Bounds of ``sum(b)``.
    Z : ndarray of shape (n, r)
        Low-rank factor.
    d : ndarray of shape (n,)
        Positive diagonal.
    tol : float, default=1e-8
        Stop when the gap is at most ``tol * max(1, |f(b)|)``.
    max_iter : int, default=100
        Budget of Newton steps.
    y0 : ndarray of shape (r,), default=None
        Starting dual point (default zero); ``Z' b*`` is the optimum.

    Returns
    -------
    result : SolverResult
        ``gap`` is the certified bound on ``f(b) - f*``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._solvers import solve_kmm_newton
    >>> Z = np.array([[1.0], [1.0], [0.0]])
    >>> res = solve_kmm_newton(np.array([2.0, 1.0, 1.0]), 10.0, 0.0, 10.0,
    ...                        Z=Z, d=np.ones(3), tol=1e-12)
    >>> np.round(res.x, 6).tolist(), res.status
    ([1.0, 0.0, 1.0], 'optimal')
    """
    t_start = time.perf_counter()
    n, r = Z.shape
    d = np.asarray(d, dtype=float)
    if np.any(d <= 0):
        raise ValueError("the diagonal d must be positive")
    inv_d = 1.0 / d
    y = np.zeros(r) if y0 is None else np.array(y0, dtype=float)
    b, nu, q = _kmm_dual_primal(y, Z, d, kappa, B, lo, hi)
    g = -0.5 * y @ y + 0.5 * b @ (d * b) - q @ b
    status = "max_iter"
    gap = np.inf
    f = np.inf
    n_ls = 0
    it = 0
    eye = np.eye(r)
    for it in range(1, max_iter + 1):  # noqa: B007 - it is n_iter
        u = Z.T @ b
        res = y - u
        gap = 0.5 * float(res @ res)
        f = float(0.5 * u @ u + 0.5 * b @ (d * b) - kappa @ b)
        if gap <= tol * max(1.0, abs(f)):
            status = "optimal"
            break
        free = (b > 0.0) & (b < B)
        Zf = Z[free]
        sf = inv_d[free]
        M = eye + (Zf * sf[:, None]).T @ Zf
        if nu != 0.0 and sf.size:  # the band binds: stay on it
            w = Zf.T @ sf
            M -= np.outer(w, w) / float(sf.sum())
        try:
            dy = -np.linalg.solve(M, res)
        except np.linalg.LinAlgError:
            dy = -res
        slope = -float(res @ dy)  # directional derivative of g (> 0)
        if slope <= 0:
            dy, slope = -res, float(res @ res)
        t = 1.0
        while True:
            n_ls += 1
            y_new = y + t * dy
            b_new, nu_new, q_new = _kmm_dual_primal(y_new, Z, d, kappa, B, lo, hi)
            g_new = -0.5 * y_new @ y_new + 0.5 * b_new @ (d * b_new) - q_new @ b_new
            if g_new >= g + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:
                break
        if t < 1e-12:
            status = "stalled"
            break
        y, b, nu, q, g = y_new, b_new, nu_new, q_new, g_new
    return SolverResult(
        x=b,
        objective=f,
        status=status,
        n_iter=it,
        gap=max(gap, 0.0),
        solver="newton",
        time_s=time.perf_counter() - t_start,
        extra={"dual": y, "band_multiplier": nu, "line_search_steps": n_ls},
    )


@one_blas_thread
def solve_kliep_newton(A, c, *, tol=1e-9, max_newton=200):
    """Maximise ``mean(log(A alpha))`` s.t. ``c' alpha = 1, alpha >= 0``.

    BLAS runs single-threaded (small dense systems, where threads only add
    synchronisation).

    Parameters
    ----------
    A : ndarray of shape (n_target, n_centers)
        Kernel values between target rows and the centres (non-negative).
    c : ndarray of shape (n_centers,)
        Mean kernel value of each centre over the source rows (positive).
    tol : float, default=1e-9
        Stop when the certified bound ``f* - f <= log(max grad)`` is at most
        ``tol * max(1, |f|)``.
    max_newton : int, default=200
        Budget of Newton steps.

    Returns
    -------
    result : SolverResult
        ``x`` is ``alpha``; ``objective`` is ``mean(log(A alpha))``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._solvers import solve_kliep_newton
    >>> A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> res = solve_kliep_newton(A, np.array([1.0, 1.0]))
    >>> np.round(res.x, 5).tolist()
    [0.66667, 0.33333]
    """
    t_start = time.perf_counter()
    n, m = A.shape
    Ac = A / c[None, :]  # beta = c * alpha lives on the simplex
    beta = np.full(m, 1.0 / m)
    v = Ac @ beta
    if np.any(v <= 0):
        raise FloatingPointError(
            "KLIEP: a target row has zero kernel value with every centre; "
            "increase the kernel width sigma."
        )
    # primal-dual interior point for  min -f(beta)  s.t. 1'beta = 1, beta >= 0
    W = Ac / v[:, None]
    grad = W.mean(axis=0)  # gradient of f
    z = np.full(m, 1.0)
    nu = float(np.mean(z + grad))  # dual of the equality
    status = "max_iter"
    gap = np.inf
    f = float(np.mean(np.log(v)))
    k = 0
    for k in range(1, max_newton + 1):  # noqa: B007 - k is n_iter
        gap = float(np.log(max(grad.max(), 1.0)))  # f* - f <= log max grad
        if gap <= tol * max(1.0, abs(f)):
            status = "optimal"
            break
        mu = float(beta @ z) / m
        sigma_c = 0.1
        r_d = -grad - z + nu
        r_c = beta * z - sigma_c * mu
        H = (W.T @ W) / n
        H[np.diag_indices(m)] += z / beta
        KKT = np.empty((m + 1, m + 1))
        KKT[:m, :m] = H
        KKT[:m, m] = 1.0
        KKT[m, :m] = 1.0
        KKT[m, m] = 0.0
        rhs = np.concatenate((-r_d - r_c / beta, [0.0]))
        try:
            sol = np.linalg.solve(KKT, rhs)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(KKT, rhs, rcond=None)[0]
        d_beta, d_nu = sol[:m], sol[m]
        d_z = -(r_c + z * d_beta) / beta
        step = 1.0
        for vec, dvec in ((beta, d_beta), (z, d_z)):
            neg = dvec < 0
            if np.any(neg):
                step = min(step, 0.995 * float(np.min(-vec[neg] / dvec[neg])))
        # backtrack until the model rows stay positive and the residual drops
        res0 = np.linalg.norm(r_d) + np.linalg.norm(beta * z)
        while step > 1e-12:
            b_new = beta + step * d_beta
            v_new = Ac @ b_new
            if np.all(v_new > 0):
                W_new = Ac / v_new[:, None]
                g_new = W_new.mean(axis=0)
                z_new = z + step * d_z
                nu_new = nu + step * d_nu
                res = np.linalg.norm(-g_new - z_new + nu_new) + np.linalg.norm(
                    b_new * z_new
                )
                if res <= (1 - 1e-4 * step) * res0 or step < 1e-3:
                    break
            step *= 0.5
        if step <= 1e-12:
            status = "stalled"
            break
        beta, z, nu, v, W, grad = b_new, z_new, nu_new, v_new, W_new, g_new
        beta /= beta.sum()  # guard against drift of the equality
        v = Ac @ beta
        W = Ac / v[:, None]
        grad = W.mean(axis=0)
        f = float(np.mean(np.log(v)))
    alpha = beta / c
    return SolverResult(
        x=alpha,
        objective=f,
        status=status,
        n_iter=k,
        gap=gap,
        solver="newton",
        time_s=time.perf_counter() - t_start,
    )
