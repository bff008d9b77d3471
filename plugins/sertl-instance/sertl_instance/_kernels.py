"""Gaussian kernels, the median heuristic and a spectrum-ranked Nyström factor.

Everything here works in row chunks so that no ``n x n`` matrix is built
unless the caller asks for the exact kernel.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state

__all__ = [
    "LowRankFactor",
    "gaussian_kernel",
    "kernel_row_sums",
    "median_heuristic",
    "nystroem_factor",
]

_CHUNK_BYTES = 64 * 2**20  # working memory of one kernel block


def _chunk_rows(n_cols):
    return max(1, int(_CHUNK_BYTES // (8 * max(1, n_cols))))


def gaussian_kernel(X, Y, sigma):
    """Gaussian kernel matrix ``exp(-||x - y||^2 / (2 sigma^2))``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
    sigma : float
        Kernel width (> 0).

    Returns
    -------
    K : ndarray of shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._kernels import gaussian_kernel
    >>> gaussian_kernel(np.zeros((1, 2)), np.ones((1, 2)), 1.0).round(4).tolist()
    [[0.3679]]
    """
    D = euclidean_distances(X, Y, squared=True)
    np.maximum(D, 0.0, out=D)
    D *= -1.0 / (2.0 * sigma * sigma)
    np.exp(D, out=D)
    return D


def kernel_row_sums(X, Y, sigma):
    """Row sums ``K(X, Y) @ 1`` computed block by block (memory O(chunk)).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
    sigma : float
        Kernel width.

    Returns
    -------
    sums : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._kernels import kernel_row_sums
    >>> kernel_row_sums(np.zeros((2, 1)), np.zeros((3, 1)), 1.0).tolist()
    [3.0, 3.0]
    """
    out = np.empty(X.shape[0])
    step = _chunk_rows(Y.shape[0])
    for start in range(0, X.shape[0], step):
        out[start : start + step] = gaussian_kernel(
            X[start : start + step], Y, sigma
        ).sum(axis=1)
    return out


def median_heuristic(X, *, max_rows=1000, random_state=None):
    """Median of the pairwise Euclidean distances between distinct rows.

    The rows are subsampled to at most ``max_rows`` (uniformly, with
    ``random_state``) so that the cost stays O(max_rows^2 d). This is the
    usual data-driven default of the Gaussian kernel width
    (Gretton et al., 2012).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Rows (typically source and target pooled).
    max_rows : int, default=1000
        Subsample size.
    random_state : int, RandomState instance or None, default=None
        Seed of the subsample.

    Returns
    -------
    sigma : float
        The median distance; 1.0 when every row is identical.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._kernels import median_heuristic
    >>> float(median_heuristic(np.array([[0.0], [1.0], [3.0]])))
    2.0
    """
    X = np.asarray(X, dtype=float)
    if X.shape[0] > max_rows:
        rng = check_random_state(random_state)
        X = X[rng.choice(X.shape[0], max_rows, replace=False)]
    D = euclidean_distances(X, X)
    iu = np.triu_indices(X.shape[0], k=1)
    d = D[iu]
    d = d[d > 0]
    if d.size == 0:
        return 1.0
    return float(np.median(d))


class LowRankFactor:
    """Nyström factor ``k(x, y) ~ z(x) . z(y)`` with a spectrum-chosen rank.

    ``z(x) = k(x, L) U_r diag(lambda_r)^(-1/2)`` where ``L`` are the
    landmarks and ``(lambda, U)`` the eigenpairs of ``k(L, L)``; the rank
    ``r`` keeps every eigenvalue above ``rank_tol * lambda_max``.

    Parameters
    ----------
    landmarks : ndarray of shape (m, d)
    sigma : float
    rank_tol : float
    max_rank : int or None
    """

    def __init__(self, landmarks, sigma, rank_tol, max_rank=None):
        self.landmarks = landmarks
        self.sigma = float(sigma)
        Kmm = gaussian_kernel(landmarks, landmarks, self.sigma)
        lam, U = np.linalg.eigh(Kmm)
        lam, U = lam[::-1], U[:, ::-1]
        keep = lam > rank_tol * lam[0]
        r = int(keep.sum())
        if max_rank is not None:
            r = min(r, int(max_rank))
        r = max(r, 1)
        self.eigenvalues = lam
        self.rank = r
        # the spectrum is "resolved" when the threshold, not the number of
        # landmarks or the cap, decided the rank
        self.resolved = r < landmarks.shape[0] and (max_rank is None or r < max_rank)
        self.projection = U[:, :r] / np.sqrt(lam[:r])

    def transform(self, X):
        """Features ``z(X)`` of shape (n, rank), computed block by block."""
        out = np.empty((X.shape[0], self.rank))
        step = _chunk_rows(self.landmarks.shape[0])
        for start in range(0, X.shape[0], step):
            Kb = gaussian_kernel(X[start : start + step], self.landmarks, self.sigma)
            out[start : start + step] = Kb @ self.projection
        return out

    def transform_sum(self, X):
        """``z(X).sum(axis=0)`` without storing ``z(X)``."""
        acc = np.zeros(self.landmarks.shape[0])
        step = _chunk_rows(self.landmarks.shape[0])
        for start in range(0, X.shape[0], step):
            acc += gaussian_kernel(
                X[start : start + step], self.landmarks, self.sigma
            ).sum(axis=0)
        return acc @ self.projection


def nystroem_factor(
    X_pool, sigma, *, n_landmarks=1000, rank_tol=1e-6, max_rank=None, random_state=None
):
    """Build a :class:`LowRankFactor` from landmarks drawn from ``X_pool``.

    Parameters
    ----------
    X_pool : ndarray of shape (n, d)
        Rows the landmarks are drawn from (source and target pooled).
    sigma : float
        Kernel width.
    n_landmarks : int, default=1000
        Number of landmarks (all rows when ``n <= n_landmarks``).
    rank_tol : float, default=1e-6
        Relative eigenvalue threshold that decides the rank.
    max_rank : int or None, default=None
        Upper bound on the rank.
    random_state : int, RandomState instance or None, default=None
        Seed of the landmark draw.

    Returns
    -------
    factor : LowRankFactor

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._kernels import nystroem_factor, gaussian_kernel
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> f = nystroem_factor(X, 1.0, rank_tol=1e-12)
    >>> Z = f.transform(X)
    >>> bool(np.allclose(Z @ Z.T, gaussian_kernel(X, X, 1.0), atol=1e-6))
    True
    """
    rng = check_random_state(random_state)
    n = X_pool.shape[0]
    if n <= n_landmarks:
        L = X_pool
    else:
        L = X_pool[np.sort(rng.choice(n, n_landmarks, replace=False))]
    return LowRankFactor(L, sigma, rank_tol, max_rank)
