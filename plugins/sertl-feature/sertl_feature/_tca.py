"""TCA (Pan et al. 2011) and JDA (Long et al. 2013) as symmetric eigenproblems.

Both learn one kernel embedding ``z(x) = sum_i k(x, x_i) w_i`` of all rows
(source and target alike) from::

    max_W  tr(W^T K H K W)  s.t.  W^T (K M K + mu I) W = I

whose solution is the leading eigenvectors of ``(K M K + mu I)^-1 K H K``:
the symmetric pair ``(K H K, K M K + mu I)`` is handed to
``scipy.linalg.eigh`` (never a symmetric solver on the non-symmetric product).
``M`` is a sum of rank-one MMD matrices ``e e^T``: one for TCA (source
against target means), one per class added for JDA.

Two solvers:

``exact``
    Forms the ``n x n`` kernel and solves the ``n x n`` pair. Memory and
    time ``O(n^2)`` and ``O(n^3)``: for a few thousand rows.
``lowrank``
    Uses a factor ``K ~= Phi Phi^T`` with ``Phi`` of shape ``(n, r)`` and
    never forms the ``n x n`` kernel. Because the optimal ``W`` lies in the
    range of ``K``, writing ``W = Phi a`` turns the problem into an
    ``r x r`` pair: ``Phi^T H Phi`` against
    ``Phi^T M Phi + mu (Phi^T Phi)^-1``, and ``Phi^T M Phi = D D^T`` with
    ``D = Phi^T E`` (one column per rank-one MMD term). Memory ``O(n r)``,
    time ``O(n r^2)``. For the linear kernel ``Phi = X`` is exact (rank at
    most ``n_features``). For the RBF kernel ``Phi`` is the Nyström feature
    map on ``n_landmarks`` rows drawn at random; its rank is the number of
    eigenvalues of the landmark kernel above ``1e-8`` times the largest.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import ClassNamePrefixFeaturesOutMixin, clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_random_state

from sertl_core import DomainAdapter
from sertl_core.params import Interval, StrOptions
from sertl_core.utils import check_memory, kernel_shift, preserve_float32

from ._linalg import (
    chunk_rows,
    fix_signs,
    median_heuristic_gamma,
    rbf_kernel,
)
from ._subspace import RANK_HINT, resolve_n_components
from ._utils import refuse_overflow

__all__ = ["JDA", "TCA"]

EXACT_MAX_ROWS = 2000
"""``solver="auto"`` uses the exact solver up to this many training rows."""

# float64 n x n matrices alive at once in the exact solver: the kernel, its
# symmetrised copy, K @ K, the outer product and their difference (measured:
# 4.9 n^2 at 4,000 and 4.75 n^2 at 10,000 rows, imports aside)
_EXACT_MATRICES = 5
# the low-rank solver holds k(X, landmarks) and a few landmark-sized matrices
_LANDMARK_MATRICES = 5

_NYSTROM_RTOL = 1e-8
_FACTOR_RTOL = 1e-10


class _KernelEmbedding(ClassNamePrefixFeaturesOutMixin, DomainAdapter):
    """Shared machinery of TCA and JDA (not public)."""

    _transform_uses_domain = False

    @property
    def _sertl_expected_failed_checks(self):
        """The conformance checks that do not apply to this configuration."""
        if self.solver == "lowrank" and self.kernel == "rbf":
            return {
                "check_row_order_invariance": (
                    "solver='lowrank' draws its n_landmarks Nystrom landmarks "
                    "with random_state by row position, so the same rows in "
                    "another order get other landmarks and another factor"
                ),
            }
        return {}

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "kernel": [StrOptions({"linear", "rbf"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "mu": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions({"auto", "exact", "lowrank"})],
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    # -- kernel ------------------------------------------------------------
    def _kernel_block(self, X, Y, Y_sq=None):
        if self.kernel == "linear":
            return X @ Y.T
        return rbf_kernel(X, Y, self.gamma_, Y_sq=Y_sq)

    def _setup(self, X, rng):
        n = X.shape[0]
        if self.kernel == "rbf":
            self.gamma_ = (
                float(self.gamma)
                if self.gamma is not None
                else median_heuristic_gamma(X, random_state=rng)
            )
        else:
            self.gamma_ = None
        solver = self.solver
        if solver == "auto":
            exact = self.kernel == "rbf" and n <= EXACT_MAX_ROWS
            solver = "exact" if exact else "lowrank"
        self.solver_ = solver

    # -- low-rank factor -----------------------------------------------------
    def _factor_basis(self, X, rng):
        """Rows and projection of the feature map ``phi(x) = k(x, R) @ P``."""
        if self.kernel == "linear":
            return None, None
        n = X.shape[0]
        r0 = min(self.n_landmarks, n)
        idx = np.sort(rng.choice(n, size=r0, replace=False)) if r0 < n else None
        R = X.copy() if idx is None else X[idx]  # never the caller's array
        Kmm = rbf_kernel(R, R, self.gamma_)
        s, U = linalg.eigh(0.5 * (Kmm + Kmm.T))
        keep = s > _NYSTROM_RTOL * s[-1]
        return np.ascontiguousarray(R), U[:, keep] / np.sqrt(s[keep])

    def _kernel_features(self, X, R):
        """``F = k(X, R)`` block by block (``X`` itself for the linear factor)."""
        if R is None:
            return X
        out = np.empty((X.shape[0], R.shape[0]))
        R_sq = np.einsum("ij,ij->i", R, R)
        for rows in chunk_rows(X.shape[0], R.shape[0]):
            out[rows] = rbf_kernel(X[rows], R, self.gamma_, Y_sq=R_sq)
        return out

    def _check_memory(self, n):
        """Refuse up front a solve on ``n`` rows that would not fit in memory."""
        name = type(self).__name__
        if self.solver_ == "exact":
            check_memory(
                8 * _EXACT_MATRICES * n * n,
                f"{name} with the exact solver on {n:,} rows builds {n:,} x "
                f"{n:,} kernel matrices",
                "Use solver='lowrank' (a Nystrom factor on n_landmarks rows, "
                "memory proportional to the rows; solver='auto' picks it above "
                f"{EXACT_MAX_ROWS:,} rows), or fit on fewer rows.",
            )
        elif self.kernel == "rbf":
            m = min(self.n_landmarks, n)
            check_memory(
                8 * (n * m + _LANDMARK_MATRICES * m * m),
                f"{name} with the low-rank solver on {n:,} rows and "
                f"n_landmarks={self.n_landmarks} builds a {n:,} x {m:,} kernel "
                "factor",
                "Lower n_landmarks, or fit on fewer rows.",
            )

    # -- solvers -------------------------------------------------------------
    def _prepare(self, X, rng, n_rows):
        """Precompute what every solve needs; returns a solver state dict.

        ``n_rows`` is the caller's row count, which bounds the number of
        components: without target rows ``X`` holds each row twice, and
        the copies add no direction (``n_rows - 1`` is the limit, not
        ``X.shape[0] - 1``).
        """
        n = X.shape[0]
        lim = n_rows - 1
        self._check_memory(n)
        if self.solver_ == "exact":
            K = self._kernel_block(X, X)
            K = 0.5 * (K + K.T)
            k1 = K.sum(axis=1)
            A = K @ K - np.outer(k1, k1) / n
            _check_kernel_spread(np.trace(K), k1.sum(), n, self)
            if self.kernel == "linear":
                # a linear kernel spans no more directions than the centred X
                # (as the low-rank solver reports): further components are
                # noise, or of zero variance (a constant column)
                rank = _centred_rank(X)
                what = f"rank of the centred X = {rank}, n_rows - 1 = {lim}"
                hint = RANK_HINT if rank < min(X.shape[1], lim) else ""
                return {
                    "K": K,
                    "A": A,
                    "n_max": min(rank, lim),
                    "what": what,
                    "hint": hint,
                }
            what = f"n_rows - 1 = {lim}"
            return {"K": K, "A": A, "n_max": lim, "what": what, "hint": ""}
        R, P = self._factor_basis(X, rng)
        # Phi = F @ P is never formed: only F (n x landmarks) and small
        # landmark-sized products are.
        Phi = self._kernel_features(X, R)
        G = Phi.T @ Phi
        if P is not None:
            G = P.T @ G @ P
        g, Q = linalg.eigh(0.5 * (G + G.T))
        col_sum = Phi.sum(axis=0)
        total = col_sum if P is None else col_sum @ P
        _check_kernel_spread(float(np.clip(g, 0, None).sum()), total @ total, n, self)
        keep = g > _FACTOR_RTOL * max(g[-1], np.finfo(float).tiny)
        g, Q = g[keep], Q[:, keep]
        # Basis scaled so that the ridge term becomes mu * I (well conditioned):
        # W = Phi a with a = Q diag(sqrt(g)) u  =>  Phi^T Phi -> diag(g^2) etc.
        T = Q * np.sqrt(g)
        if P is not None:
            T = P @ T
        s = col_sum @ T
        A = np.diag(g**2) - np.outer(s, s) / n
        rank = int(g.size)
        if R is None:  # linear: the centred X spans at most this many
            # from the d x d centred Gram matrix, not an SVD of the n rows
            gc = linalg.eigvalsh(G - np.outer(col_sum, col_sum) / n)
            top = max(float(gc[-1]), np.finfo(float).tiny)
            rank = min(rank, int(np.sum(gc > _FACTOR_RTOL * top)))
        what = (
            f"rank of the kernel factor = {rank}, n_rows - 1 = {lim}"
            if R is not None
            else f"rank of the centred X = {rank}, n_rows - 1 = {lim}"
        )
        return {
            "Phi": Phi,
            "T": T,
            "A": A,
            "R": R,
            "P": P,
            "rank": rank,
            "n_max": min(rank, lim),
            "what": what,
            # linear: the rank of the rows, not their number, is the limit
            "hint": RANK_HINT if R is None and rank < min(X.shape[1], lim) else "",
        }

    def _solve(self, state, E, m):
        """Leading ``m`` generalized eigenvectors; returns (projection, values)."""
        A = state["A"]
        if self.solver_ == "exact":
            C = state["K"] @ E
        else:
            C = state["T"].T @ (state["Phi"].T @ E)
        U, lam = whitened_eigh(A, C, self.mu, m)
        V = U if self.solver_ == "exact" else state["T"] @ U
        return fix_signs(V), lam

    def _embed_train(self, state, V):
        if self.solver_ == "exact":
            return state["K"] @ V
        return state["Phi"] @ V

    def _store(self, X, state, V, lam):
        if self.solver_ == "exact":
            # a copy: a caller changing X after fit must not change transform
            self.kernel_rows_ = np.array(X, dtype=np.float64, order="C", copy=True)
            self.projection_ = V
            self.rank_ = None
        else:
            self.kernel_rows_ = state["R"]
            self.projection_ = V
            self.rank_ = state["rank"]
        self.eigenvalues_ = lam
        self.n_components_ = V.shape[1]
        self._n_features_out = V.shape[1]

    def _n_components(self, state):
        return resolve_n_components(
            self.n_components, state["n_max"], state["what"], hint=state["hint"]
        )

    @refuse_overflow  # not the whole _fit: JDA's estimator runs there
    def _start_fit(self, data):
        """Validate, choose kernel width and solver, precompute the solve.

        Returns the training rows as float64, the solver state and the
        number of components.
        """
        self._validate_params()
        n_rows = data.n_input_rows
        if n_rows < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 rows to find a shared "
                f"embedding; got n_samples = {n_rows}."
            )
        X = data.X.astype(np.float64, copy=False)
        # the RBF kernel of rows sharing a large offset is computed on the
        # rows centred on their midpoint (the same kernel, without the
        # cancellation); None for ordinary rows, used as given
        self.kernel_shift_ = kernel_shift(X) if self.kernel == "rbf" else None
        if self.kernel_shift_ is not None:
            X = X - self.kernel_shift_
        rng = check_random_state(self.random_state)
        self._setup(X, rng)
        state = self._prepare(X, rng, n_rows)
        return X, state, self._n_components(state)

    def _transform(self, X, sample_domain):
        # One shared embedding for every row, whatever its domain, computed
        # in float64 and returned in X's dtype (float32 rows stay float32).
        dtype = X.dtype
        X = X.astype(np.float64, copy=False)
        R = self.kernel_rows_
        if R is None:
            return (X @ self.projection_).astype(dtype, copy=False)
        # models fitted before kernel_shift_ existed have none
        shift = getattr(self, "kernel_shift_", None)
        if shift is not None:
            X = X - shift
        out = np.empty((X.shape[0], self.projection_.shape[1]))
        R_sq = np.einsum("ij,ij->i", R, R) if self.kernel == "rbf" else None
        for rows in chunk_rows(X.shape[0], R.shape[0]):
            out[rows] = self._kernel_block(X[rows], R, R_sq) @ self.projection_
        return out.astype(dtype, copy=False)

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())


def _centred_rank(X):
    """Rank of ``X`` with its column means removed (what a kernel embedding sees)."""
    return int(np.linalg.matrix_rank(X - X.mean(axis=0)))


def _check_kernel_spread(trace, total, n, est):
    """Refuse a kernel matrix without variance across the rows.

    ``trace`` is ``trace(K)`` and ``total`` the sum of its entries, so that
    ``trace - total / n`` is the trace of the centred kernel: the total
    variance any embedding can have. Near zero, every row gets the same
    embedding (an RBF width so small that every kernel value is about 1,
    or rows that are all identical).
    """
    spread = trace - total / n
    if spread <= 1e-10 * max(abs(trace), np.finfo(float).tiny):
        name = type(est).__name__
        if est.kernel == "rbf" and est.gamma is not None:
            width = (
                f", or gamma={est.gamma_:.3g} is so small at this feature scale "
                "that every kernel value is about 1: then use gamma=None (the "
                "median heuristic, which adapts to the data) or a larger gamma"
            )
        else:  # the median heuristic (or the linear kernel) adapts to any
            # scale but the one where the squares underflow to 0
            what = "distances" if est.kernel == "rbf" else "products"
            offset = (
                ""
                if est.kernel == "rbf"
                else ", or share an offset so much larger than their "
                "differences (a feature of mean 1e8 that varies by about 1) "
                "that the products lose those to rounding"
            )
            width = (
                ", or they differ by so little that their squared "
                f"{what} underflow float64 (features of magnitude 1e-160 or "
                f"less){offset}: then rescale the features, e.g. put "
                f"sertl_core.DomainStandardScaler before {name}"
            )
        raise ValueError(
            f"{name} found no variance in the kernel matrix across the "
            f"{n} rows (centred trace {spread:.2e} against trace {trace:.2e}), "
            f"so every row would get the same embedding: either the rows are "
            f"all identical{width}."
        )


def whitened_eigh(A, C, mu, m):
    """Leading eigenpairs of the symmetric pair ``(A, mu I + C C^T)``.

    ``B = mu I + C C^T`` (``C`` thin: one column per rank-one MMD term) has
    the closed-form symmetric inverse square root
    ``B^-1/2 = mu^-1/2 I + Q diag((mu + s^2)^-1/2 - mu^-1/2) Q^T`` from the
    thin SVD ``C = Q diag(s) R^T``, so the pair becomes the standard
    symmetric problem ``B^-1/2 A B^-1/2 v = lam v`` (LAPACK ``syevr`` on the
    leading ``m`` eigenpairs) and ``w = B^-1/2 v`` satisfies
    ``w^T B w = 1``, ``w^T A w = lam``.

    Parameters
    ----------
    A : ndarray of shape (r, r)
        Symmetric positive semi-definite matrix.
    C : ndarray of shape (r, J)
        Factor of the positive semi-definite part of ``B``.
    mu : float
        Positive ridge.
    m : int
        Number of eigenpairs.

    Returns
    -------
    W : ndarray of shape (r, m)
        Eigenvectors, ``W^T B W = I``, by decreasing eigenvalue.
    lam : ndarray of shape (m,)
        Eigenvalues, decreasing.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import linalg
    >>> from sertl_feature._tca import whitened_eigh
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(6, 6)); A = F @ F.T; C = rng.normal(size=(6, 2))
    >>> W, lam = whitened_eigh(A, C, 0.5, 2)
    >>> ref = linalg.eigh(A, 0.5 * np.eye(6) + C @ C.T, eigvals_only=True)[::-1][:2]
    >>> bool(np.allclose(lam, ref))
    True
    """
    r = A.shape[0]
    Q, sv, _ = linalg.svd(C, full_matrices=False)
    keep = sv > np.finfo(float).eps * max(sv[0] if sv.size else 0.0, 1.0) * r
    Q, sv = Q[:, keep], sv[keep]
    a = 1.0 / np.sqrt(mu)
    d = 1.0 / np.sqrt(mu + sv**2) - a

    def inv_root(M):  # B^-1/2 @ M
        return a * M + Q @ (d[:, None] * (Q.T @ M))

    S = inv_root(inv_root(A).T)
    S = 0.5 * (S + S.T)
    # LAPACK's syevr with an index range can fail, or return fewer pairs, on
    # a nearly degenerate spectrum: then the full solution is taken
    try:
        lam, V = linalg.eigh(S, subset_by_index=[r - m, r - 1], driver="evr")
        ranged = lam.size == m
    except linalg.LinAlgError:
        ranged = False
    if not ranged:
        lam, V = linalg.eigh(S)
        lam, V = lam[r - m :], V[:, r - m :]
    return inv_root(V[:, ::-1]), lam[::-1]


def _domain_mmd_vector(source, target):
    e = np.zeros(source.shape[0])
    e[source] = 1.0 / source.sum()
    e[target] = -1.0 / target.sum()
    return e


_SHARED_DOC = """
    Parameters
    ----------
    n_components : int or None, default=None
        Dimension of the embedding; None means ``min(30, max)``. The maximum
        is ``n_rows - 1`` for the exact solver and the rank of the kernel
        factor (at most ``n_features`` for the linear kernel) for the
        low-rank solver; asking for more is an error.
    kernel : {"rbf", "linear"}, default=%(kernel)r
        Kernel of the embedding.
    gamma : float > 0 or None, default=None
        Inverse width of the RBF kernel ``exp(-gamma ||x - y||^2)``. None
        uses the median heuristic ``1 / median ||x_i - x_j||^2`` over the
        pairs of distinct rows among at most 1,000 training rows (all rows
        below that; pairs of duplicate rows, at distance 0, are left out),
        stored in ``gamma_``;
        it was kept against the ``1 / (2 median)`` convention on development
        corpus pairs with EmoDB <-> RAVDESS held out, which found no
        significant difference (benchmarks/results/feature_defaults.md).
        Ignored by the linear kernel.
    mu : float > 0, default=1.0
        Weight of the ridge term ``mu tr(W^T W)``, which also makes the
        problem well posed. It is absolute, weighed against kernel values:
        with the RBF kernel (values in (0, 1]) the default suits any feature
        scale; with the linear kernel it assumes features on a unit scale
        (put ``DomainStandardScaler`` first), since features 1000 times
        smaller shrink the MMD term a million times against ``mu``.
    solver : {"auto", "exact", "lowrank"}, default="auto"
        ``"exact"`` forms the ``n x n`` kernel: about ``40 n^2`` bytes at
        its peak (1.6 GB at 6,400 rows, 64 GB at 40,000) and ``O(n^3)``
        time; ``"lowrank"`` works on a factor of rank ``r`` in ``O(n r)``
        memory (exact for the linear kernel, Nyström for RBF). ``"auto"``:
        the linear kernel always uses the (exact) factor, RBF the exact
        solver up to 2,000 training rows and the Nyström factor above. A
        fit whose estimated peak exceeds the memory available is refused
        up front with a ``MemoryError`` that gives the estimate
        (:func:`sertl_core.utils.check_memory`).
    n_landmarks : int, default=1000
        Landmark rows of the Nyström factor (RBF kernel, low-rank solver);
        the rank is the number of eigenvalues of their kernel above ``1e-8``
        times the largest (``rank_``). The factor takes ``8 n m`` bytes for
        ``m = min(n_landmarks, n)`` (320 MB at 40,000 rows and the
        default).
    random_state : int, RandomState instance or None, default=None
        Seed of the landmark draw and of the median-heuristic subsample.
"""

_SHARED_ATTRS = """
    Attributes
    ----------
    n_components_ : int
        Dimension of the embedding.
    gamma_ : float or None
        Inverse RBF width used (None for the linear kernel).
    solver_ : str
        Solver used, ``"exact"`` or ``"lowrank"``.
    rank_ : int or None
        Rank of the low-rank factor (None with the exact solver).
    kernel_rows_ : ndarray of shape (n_kernel_rows, n_features) or None
        Rows the kernel is evaluated against at transform time: the training
        rows (exact), the landmarks (Nyström) or None (linear factor), minus
        ``kernel_shift_`` when it is set.
    kernel_shift_ : ndarray of shape (n_features,) or None
        Point subtracted from every row before the RBF kernel is computed,
        set only when the training rows share an offset more than 1e3 times
        their spread (their midpoint), where the squared distances would
        lose their digits; None otherwise (and for the linear kernel).
    projection_ : ndarray of shape (n_kernel_rows or n_features, n_components)
        Maps kernel values (or raw features) to the embedding. Each column's
        entry of largest magnitude is positive, so the components' signs do
        not depend on the eigensolver.
    eigenvalues_ : ndarray of shape (n_components,)
        Generalized eigenvalues (variance over MMD + ridge), descending;
        ``n`` times the variance of each component over the training rows.
    n_features_in_ : int
        Number of features seen in fit.
"""


class TCA(_KernelEmbedding):
    __doc__ = (
        """Transfer component analysis: a kernel embedding with small MMD.

    TCA (Pan et al., 2011) learns ``n_components`` directions in a kernel
    feature space that keep the variance of the data while making the means
    of the source and target domains close (small maximum mean
    discrepancy). With several source domains (or target domains), the MMD
    term compares all source rows with all target rows, pooled: the
    embedding does not bring the source domains closer to each other.

    ``transform`` maps every row, source or target, with the same
    embedding ``z(x) = k(x, .) W``: ``sample_domain`` does not change the
    output. Kernels and eigenproblems are computed in float64; float32 rows
    are embedded as float32, as scikit-learn's transformers do. The
    objective of the paper is invariant to the scale of each component;
    here ``W^T (K L K + mu I) W = I`` (the normalisation of the generalized
    eigenvectors), so component ``j`` has variance ``eigenvalues_[j] / n``
    over the training rows: components that keep more variance per unit of
    MMD weigh more downstream. (Whitening the
    components instead, as the constraint ``W^T K H K W = I`` would,
    gives noisy components the same weight and lost 8.5 UAR points on
    average over TCA and JDA on the development corpus pairs,
    benchmarks/results/feature_defaults.md.)
"""
        + _SHARED_DOC % {"kernel": "rbf"}
        + _SHARED_ATTRS
        + """
    See Also
    --------
    JDA : Also aligns the class-conditional distributions.
    CORAL : Align covariances, keep the input features.

    Notes
    -----
    The exact solver hands the symmetric pair ``(K H K, K L K + mu I)`` to
    ``scipy.linalg.eigh``; the low-rank solver the ``r x r`` pair obtained
    with ``K ~= Phi Phi^T`` (see the module docstring). The MMD matrix
    ``L = e e^T`` (``e = 1/n_s`` on source rows, ``-1/n_t`` on target rows)
    is rank one, so ``K L K = (K e)(K e)^T`` costs ``O(n r)``.

    References
    ----------
    .. [1] S. J. Pan, I. W. Tsang, J. T. Kwok and Q. Yang, "Domain adaptation
       via transfer component analysis", IEEE Transactions on Neural
       Networks 22(2), 2011.
    .. [2] C. Williams and M. Seeger, "Using the Nyström method to speed up
       kernel machines", NIPS 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature import TCA
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(50, 4)), rng.normal(size=(50, 4)) + 2])
    >>> sd = np.r_[np.ones(50, int), -np.ones(50, int)]
    >>> tca = TCA(n_components=2, random_state=0).fit(X, sample_domain=sd)
    >>> tca.solver_, tca.transform(X).shape
    ('exact', (100, 2))
    >>> tca.get_feature_names_out().tolist()
    ['tca0', 'tca1']
    """
    )

    registry_name = "tca"

    def __init__(
        self,
        *,
        n_components=None,
        kernel="rbf",
        gamma=None,
        mu=1.0,
        solver="auto",
        n_landmarks=1000,
        random_state=None,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.mu = mu
        self.solver = solver
        self.n_landmarks = n_landmarks
        self.random_state = random_state

    def _fit(self, data):
        X, state, m = self._start_fit(data)
        E = _domain_mmd_vector(data.source, data.target)[:, None]
        V, lam = self._solve(state, E, m)
        self._store(X, state, V, lam)


class JDA(_KernelEmbedding):
    __doc__ = (
        """Joint distribution adaptation: align marginals and class conditionals.

    JDA (Long et al., 2013) extends TCA with one MMD term per class between
    the labelled source rows of that class and the target rows predicted as
    that class. It iterates ``max_iter`` times: embed, train ``estimator``
    on the labelled rows in the embedding, predict pseudo-labels for the
    unlabelled target rows, re-solve with the class-conditional terms.
    Labelled target rows (few-shot) keep their true labels. Here the
    kernelised form of the paper is solved (regulariser ``mu tr(W^T W)``
    on the kernel coefficients), with the same solvers as :class:`TCA`.
    The default kernel is RBF, as for :class:`TCA`. ``kernel="linear"`` is
    this kernelised problem with a linear kernel; its ridge acts on the
    kernel coefficients, not on the paper's primal ``d x k`` projection, so
    it is close to but not the paper's linear form. The default was chosen
    on development corpus pairs with EmoDB <-> RAVDESS held out, where the
    linear kernel scored far below both the RBF form and per-domain
    standardisation alone (benchmarks/results/feature_defaults.md).

    ``transform`` maps every row, source or target, with the same
    embedding; ``sample_domain`` does not change the output. Computed in
    float64; float32 rows are embedded as float32.

    With several source domains (or target domains), the marginal and the
    class-conditional MMD terms compare all the source rows with all the target
    rows, pooled, as in :class:`TCA`, and the pseudo-label classifier is
    trained on the labelled rows of every source domain together.

    Parameters
    ----------
    estimator : classifier or None, default=None
        Base classifier that gives the pseudo-labels; None means the 1-NN
        classifier of the paper. Cloned at every iteration. Each round of
        the 1-NN compares every target row with every source row, so its
        time grows with their product: 24 s at 20,000 + 20,000 rows of 88
        features, 13.5 s with ``LogisticRegression()``
        (``benchmarks/results/scale_defaults.md``); for large data a linear
        classifier is faster.
    max_iter : int, default=10
        Number of pseudo-label rounds (``T = 10`` in the paper); stops
        earlier when the pseudo-labels no longer change."""
        + _SHARED_DOC.split("----------", 1)[1] % {"kernel": "rbf"}
        + _SHARED_ATTRS
        + """    classes_ : ndarray of shape (n_classes,)
        Classes of the labelled rows.
    pseudo_labels_ : ndarray of shape (n_target_rows,)
        Final labels of the training target rows (pseudo-labels for the
        unlabelled ones, true labels for the labelled ones).
    n_iter_ : int
        Pseudo-label rounds run.

    See Also
    --------
    TCA : Marginal alignment only.

    Notes
    -----
    ``fit`` takes no ``sample_weight``, as no adapter does (a ``TypeError``
    says where the weights go). A weight would have to act on every part
    of the fit to mean anything: on the pseudo-label classifier, but also
    on the means of the marginal and class-conditional MMD terms and on the
    variance the embedding keeps. Weighting the classifier alone would be
    a half-weighted fit, so the parameter is not offered; in a Pipeline
    give the weights to the final transfer estimator
    (``clf__sample_weight=w``, or with metadata routing on the step that
    requests them), which trains on the embedded rows with them.

    References
    ----------
    .. [1] M. Long, J. Wang, G. Ding, J. Sun and P. S. Yu, "Transfer feature
       learning with joint distribution adaptation", ICCV 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature import JDA
    >>> rng = np.random.default_rng(0)
    >>> Xs = np.vstack([rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 3])
    >>> X = np.vstack([Xs, Xs + 1.0])
    >>> y = np.r_[np.zeros(30, int), np.ones(30, int), -np.ones(60, int)]
    >>> jda = JDA(n_components=2).fit(X, y)
    >>> jda.transform(X).shape, jda.n_iter_ >= 1
    ((120, 2), True)
    """
    )

    registry_name = "jda"
    _needs_labels = True

    _parameter_constraints: dict = {
        **_KernelEmbedding._parameter_constraints,
        "estimator": [object, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        max_iter=10,
        n_components=None,
        kernel="rbf",
        gamma=None,
        mu=1.0,
        solver="auto",
        n_landmarks=1000,
        random_state=None,
    ):
        self.estimator = estimator
        self.max_iter = max_iter
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.mu = mu
        self.solver = solver
        self.n_landmarks = n_landmarks
        self.random_state = random_state

    def _validate_fit(self, X, y, sample_domain):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: JDA aligns class-conditional distributions, so pass the "
                "labels of the source rows (and -1 for unlabelled target rows)."
            )
        return super()._validate_fit(X, y, sample_domain)

    def _fit(self, data):
        X, state, m = self._start_fit(data)
        src, tgt, lab = data.source, data.target, data.labeled
        y = data.y
        self.classes_ = np.unique(y[lab])
        train = lab  # labelled rows (source, and few-shot target rows)
        unl_t = tgt & ~lab
        labels = np.empty(X.shape[0], dtype=object)
        labels[lab] = y[lab]
        e0 = _domain_mmd_vector(src, tgt)

        def mmd_columns():
            # marginal term, then one term per class with rows on both sides
            # (labelled target rows by their true labels from the start)
            cols = [e0]
            for c in self.classes_:
                s_c = src & lab & (labels == c)
                t_c = tgt & (labels == c)
                if s_c.any() and t_c.any():
                    cols.append(_domain_mmd_vector(s_c, t_c))
            return np.column_stack(cols)

        E = mmd_columns()
        est = (
            KNeighborsClassifier(n_neighbors=1)
            if self.estimator is None
            else self.estimator
        )
        previous = None
        for it in range(self.max_iter):
            V, lam = self._solve(state, E, m)
            self.n_iter_ = it + 1
            if not unl_t.any():
                break
            Z = self._embed_train(state, V)
            clf = clone(est).fit(Z[train], y[train])
            pred = clf.predict(Z[unl_t])
            foreign = ~np.isin(pred, self.classes_)
            if foreign.any():
                raise ValueError(
                    f"JDA's estimator {type(clf).__name__} predicted labels "
                    f"(e.g. {pred[foreign][0]!r}) that are not among the classes "
                    f"{self.classes_.tolist()} of the labelled rows: the "
                    "pseudo-labels must be classes. Pass a classifier, e.g. "
                    "KNeighborsClassifier(n_neighbors=1) (the default)."
                )
            if previous is not None and np.array_equal(pred, previous):
                break
            previous = pred
            labels[unl_t] = pred
            E = mmd_columns()
        self.pseudo_labels_ = labels[tgt].astype(y.dtype)
        self._store(X, state, V, lam)
