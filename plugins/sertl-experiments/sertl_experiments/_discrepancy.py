"""Domain discrepancy measures: MMD and the proxy A-distance."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["mmd_rbf", "proxy_a_distance"]


def _subsample_domains(X_source, X_target, n, random_state):
    """Return at most ``n`` random rows of each domain, source drawn first."""
    rng = np.random.default_rng(random_state)
    out = []
    for X in (X_source, X_target):
        X = np.asarray(X, dtype=float)
        if X.shape[0] > n:
            X = X[rng.choice(X.shape[0], n, replace=False)]
        out.append(X)
    return out


def _sq_dists(A, B):
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


def mmd_rbf(X_source, X_target, *, gamma=None, max_samples=1000, random_state=0):
    """Squared maximum mean discrepancy with an RBF kernel (unbiased estimate).

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        Source rows.
    X_target : array-like of shape (n_target, n_features)
        Target rows.
    gamma : float, default=None
        RBF width ``k(x, y) = exp(-gamma ||x - y||^2)``; ``None`` uses the
        median heuristic, ``1 / median(||x - y||^2)`` over the pooled rows.
    max_samples : int, default=1000
        Rows drawn at random from each domain (the estimate is quadratic).
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    mmd2 : float
        Unbiased MMD^2; about 0 for identical distributions.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf and
       A. Smola, "A kernel two-sample test", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    >>> mmd_rbf(A, B) < mmd_rbf(A, B + 2.0)
    True
    """
    Xs, Xt = _subsample_domains(X_source, X_target, max_samples, random_state)
    if Xs.shape[0] < 2 or Xt.shape[0] < 2:
        raise ValueError("mmd_rbf needs at least 2 rows in each domain.")
    Dss, Dtt, Dst = _sq_dists(Xs, Xs), _sq_dists(Xt, Xt), _sq_dists(Xs, Xt)
    if gamma is None:
        pooled = np.concatenate(
            [
                Dss[np.triu_indices_from(Dss, 1)],
                Dtt[np.triu_indices_from(Dtt, 1)],
                Dst.ravel(),
            ]
        )
        med = np.median(pooled[pooled > 0]) if np.any(pooled > 0) else 1.0
        gamma = 1.0 / med
    Kss, Ktt, Kst = np.exp(-gamma * Dss), np.exp(-gamma * Dtt), np.exp(-gamma * Dst)
    m, n = Xs.shape[0], Xt.shape[0]
    term_s = (Kss.sum() - np.trace(Kss)) / (m * (m - 1))
    term_t = (Ktt.sum() - np.trace(Ktt)) / (n * (n - 1))
    return float(term_s + term_t - 2.0 * Kst.mean())


def proxy_a_distance(X_source, X_target, *, max_samples=1000, cv=5, random_state=0):
    """Proxy A-distance from a cross-validated linear domain classifier.

    ``PAD = 2 (1 - 2 err)`` where ``err`` is the balanced cross-validated
    error of a logistic regression telling source from target rows; 0 means
    the domains cannot be told apart, 2 that they are separable.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        Source rows.
    X_target : array-like of shape (n_target, n_features)
        Target rows.
    max_samples : int, default=1000
        Rows drawn at random from each domain.
    cv : int, default=5
        Folds of the cross-validation.
    random_state : int, default=0
        Seed of subsampling and folds.

    Returns
    -------
    pad : float
        In [0, 2].

    References
    ----------
    .. [1] S. Ben-David, J. Blitzer, K. Crammer and F. Pereira, "Analysis of
       representations for domain adaptation", NIPS 2006.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    >>> proxy_a_distance(A, B) < proxy_a_distance(A, B + 3.0)
    True
    """
    Xs, Xt = _subsample_domains(X_source, X_target, max_samples, random_state)
    X = np.vstack([Xs, Xt])
    d = np.r_[np.zeros(len(Xs), dtype=int), np.ones(len(Xt), dtype=int)]
    folds = min(cv, len(Xs), len(Xt))
    if folds < 2:
        raise ValueError("proxy_a_distance needs at least 2 rows in each domain.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    pred = cross_val_predict(
        clf, X, d, cv=StratifiedKFold(folds, shuffle=True, random_state=random_state)
    )
    err = 0.5 * (np.mean(pred[d == 0] != 0) + np.mean(pred[d == 1] != 1))
    return float(np.clip(2.0 * (1.0 - 2.0 * err), 0.0, 2.0))
