"""Numerically safe linear algebra shared by the feature-transfer methods."""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = [
    "chunk_rows",
    "fix_signs",
    "median_heuristic_gamma",
    "rbf_kernel",
    "sym_power",
]

# Rows per block when a kernel block (rows x columns) is formed on the fly:
# about 4 million entries (32 MB in float64) per block.
_BLOCK_ENTRIES = 1 << 22


def fix_signs(V):
    """Flip each column so that its entry of largest magnitude is positive.

    An eigenvector is defined up to its sign, which LAPACK builds may choose
    differently; the convention makes fitted components, and so
    ``transform``, the same on every machine.

    Examples
    --------
    >>> import numpy as np
    >>> fix_signs(np.array([[1.0, -3.0], [-2.0, 1.0]])).tolist()
    [[-1.0, 3.0], [2.0, -1.0]]
    """
    rows = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[rows, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def sym_power(C, power, *, rtol=1e-12):
    """Power of a symmetric positive semi-definite matrix via ``eigh``.

    Eigenvalues below ``rtol * max(eigenvalue)`` (round-off, or true zeros of
    a singular matrix) count as zero: a positive power maps them to 0 and a
    negative power drops their directions (a pseudo-inverse power), so
    negative round-off never produces NaN and a direction in which the
    matrix has no variance is never amplified by ``1 / sqrt(rtol)``.

    Parameters
    ----------
    C : ndarray of shape (d, d)
        Symmetric positive semi-definite matrix (symmetrised here).
    power : float
        Exponent, e.g. ``0.5`` or ``-0.5``.
    rtol : float, default=1e-12
        Relative eigenvalue floor.

    Returns
    -------
    P : ndarray of shape (d, d)
        The symmetric matrix ``C ** power``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature._linalg import sym_power
    >>> sym_power(np.diag([4.0, 9.0]), 0.5).tolist()
    [[2.0, 0.0], [0.0, 3.0]]
    """
    C = 0.5 * (C + C.T)
    w, V = linalg.eigh(C)
    top = max(float(w[-1]), np.finfo(float).tiny)
    keep = w > rtol * top
    V, w = V[:, keep], w[keep]
    return (V * w**power) @ V.T


def chunk_rows(n_rows, n_cols):
    """Yield row slices so that a ``rows x n_cols`` block stays small.

    Parameters
    ----------
    n_rows : int
        Number of rows to cover.
    n_cols : int
        Width of the block formed for each slice.

    Yields
    ------
    rows : slice

    Examples
    --------
    >>> from sertl_feature._linalg import chunk_rows
    >>> [(s.start, s.stop) for s in chunk_rows(5, 1 << 21)]
    [(0, 2), (2, 4), (4, 5)]
    """
    step = max(1, _BLOCK_ENTRIES // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def rbf_kernel(X, Y, gamma, *, Y_sq=None):
    """Gaussian kernel ``exp(-gamma * ||x - y||^2)`` as a dense block.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
    gamma : float
        Inverse width.
    Y_sq : ndarray of shape (m,), default=None
        Precomputed squared norms of the rows of ``Y``.

    Returns
    -------
    K : ndarray of shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature._linalg import rbf_kernel
    >>> K = rbf_kernel(np.zeros((1, 2)), np.ones((1, 2)), 0.5)
    >>> bool(np.isclose(K[0, 0], np.exp(-1)))
    True
    """
    if Y_sq is None:
        Y_sq = np.einsum("ij,ij->i", Y, Y)
    X_sq = np.einsum("ij,ij->i", X, X)
    D = X @ Y.T
    D *= -2.0
    D += X_sq[:, None]
    D += Y_sq[None, :]
    np.maximum(D, 0.0, out=D)
    D *= -gamma
    np.exp(D, out=D)
    return D


def median_heuristic_gamma(X, *, max_rows=1000, random_state=None):
    """Inverse kernel width from the median heuristic.

    ``gamma = 1 / median(||x_i - x_j||^2)``, i.e. the Gaussian kernel
    ``exp(-||x - y||^2 / sigma^2)`` with ``sigma`` the median pairwise
    distance (the median heuristic of Gretton et al., 2012, in the
    ``exp(-d^2 / sigma^2)`` convention; the ``2 sigma^2`` convention halves
    gamma). The median is taken over the pairs of distinct rows (pairs at
    distance 0, duplicates, are left out: repeated rows would otherwise pull
    the width towards 0) among at most ``max_rows`` rows drawn at random
    (all rows when there are fewer), so the cost is bounded whatever the
    data size.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    max_rows : int, default=1000
        Rows used for the median.
    random_state : int, RandomState instance or None
        Seed of the row subsample (only used when ``n > max_rows``).

    Returns
    -------
    gamma : float
        Positive inverse width; ``1 / n_features`` when all rows coincide.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature._linalg import median_heuristic_gamma
    >>> median_heuristic_gamma(np.array([[0.0], [1.0], [3.0]]))
    0.25
    """
    from sklearn.utils import check_random_state

    n = X.shape[0]
    if n > max_rows:
        rng = check_random_state(random_state)
        X = X[rng.choice(n, size=max_rows, replace=False)]
    sq = np.einsum("ij,ij->i", X, X)
    D = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    iu = np.triu_indices(X.shape[0], k=1)
    d = np.maximum(D[iu], 0.0)
    d = d[d > 0]
    if d.size == 0:
        return 1.0 / max(1, X.shape[1])
    return float(1.0 / np.median(d))
