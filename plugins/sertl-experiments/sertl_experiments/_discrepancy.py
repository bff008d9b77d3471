"""Domain discrepancy measures: MMD and the proxy A-distance."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sertl_core.params import Interval, validate_params

__all__ = ["mmd_rbf", "proxy_a_distance"]


def _check_domains(X_source, X_target, who):
    """Both domains as float 2-D arrays of finite values and equal width."""
    out = []
    for name, X in (("X_source", X_source), ("X_target", X_target)):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(
                f"{who}: {name} must be 2-D (rows x features), got an array of "
                f"shape {X.shape}: reshape one feature to X.reshape(-1, 1), or "
                "one row to X.reshape(1, -1)."
            )
        if not np.isfinite(X).all():
            raise ValueError(
                f"{who}: {name} holds {int((~np.isfinite(X)).sum())} NaN or "
                "infinite value(s): impute or drop those rows first."
            )
        out.append(X)
    if out[0].shape[1] != out[1].shape[1]:
        raise ValueError(
            f"{who}: X_source has {out[0].shape[1]} features and X_target "
            f"{out[1].shape[1]}: both domains must be described by the same "
            "features."
        )
    return out


def _check_two_rows(Xs, Xt, who):
    """Refuse a domain of fewer than two rows (no distance to estimate)."""
    if Xs.shape[0] < 2 or Xt.shape[0] < 2:
        raise ValueError(
            f"{who} needs at least 2 rows in each domain, got "
            f"{Xs.shape[0]} source and {Xt.shape[0]} target rows."
        )


def _subsample_domains(X_source, X_target, n, random_state):
    """Return at most ``n`` random rows of each domain, source drawn first."""
    rng = np.random.default_rng(random_state)
    out = []
    for X in (X_source, X_target):
        if X.shape[0] > n:
            X = X[rng.choice(X.shape[0], n, replace=False)]
        out.append(X)
    return out


def _sq_dists(A, B):
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


# at least 2 rows of each domain are drawn: the estimates need two of each
_AT_LEAST_TWO = [Interval(Integral, 2, None, closed="left")]


@validate_params(
    {
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "max_samples": _AT_LEAST_TWO,
    }
)
def mmd_rbf(X_source, X_target, *, gamma=None, max_samples=1000, random_state=0):
    """Squared maximum mean discrepancy with an RBF kernel (unbiased estimate).

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        Source rows.
    X_target : array-like of shape (n_target, n_features)
        Target rows.
    gamma : float, default=None
        RBF width ``k(x, y) = exp(-gamma ||x - y||^2)``, greater than 0;
        ``None`` uses a median heuristic: ``gamma = 1 / median(||x - y||^2)``
        over the distinct pairs of the pooled (subsampled) rows, pairs at
        distance 0 (duplicate rows) left out of the median (1 when every
        distance is 0). This is twice the ``gamma`` of the heuristic of
        Gretton et al. [1]_ (Section 8), who set the kernel's ``sigma`` in
        ``exp(-||x - y||^2 / (2 sigma^2))`` to the median distance, i.e.
        ``gamma = 1 / (2 median(||x - y||)^2)``: the kernel here is
        narrower, and MMD^2 values differ from those computed with that
        convention. Pass ``gamma`` explicitly to use another convention.
    max_samples : int, default=1000
        Rows drawn at random from each domain (the estimate is quadratic);
        at least 2.
    random_state : int, default=0
        Seed of the subsampling.

    Returns
    -------
    mmd2 : float
        Unbiased MMD^2; about 0 for identical distributions.

    Raises
    ------
    ValueError
        Input that is not 2-D, holds NaN or infinite values, or whose
        domains have different numbers of features; fewer than 2 rows in
        a domain; ``gamma <= 0``; ``max_samples`` below 2.

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
    Xs, Xt = _check_domains(X_source, X_target, "mmd_rbf")
    _check_two_rows(Xs, Xt, "mmd_rbf")
    Xs, Xt = _subsample_domains(Xs, Xt, max_samples, random_state)
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


@validate_params({"max_samples": _AT_LEAST_TWO, "cv": _AT_LEAST_TWO})
def proxy_a_distance(X_source, X_target, *, max_samples=1000, cv=5, random_state=0):
    """Proxy A-distance from a cross-validated linear domain classifier.

    ``PAD = 2 (1 - 2 err)`` where ``err`` is the balanced cross-validated
    error of a logistic regression telling source from target rows; 0 means
    the domains cannot be told apart, 2 that they are separable. The
    classifier is fitted with ``class_weight="balanced"`` (each domain
    weighs as much as the other in the fit, as in the balanced error it is
    judged by), so that PAD does not depend on the ratio of the domains'
    sizes: an unweighted classifier leans to the larger domain, and PAD
    would fall towards 0 for two domains of unequal size even when they
    differ.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        Source rows.
    X_target : array-like of shape (n_target, n_features)
        Target rows.
    max_samples : int, default=1000
        Rows drawn at random from each domain; at least 2.
    cv : int, default=5
        Folds of the (stratified) cross-validation, at least 2; fewer when
        a domain has fewer rows than ``cv``.
    random_state : int, default=0
        Seed of subsampling and folds.

    Returns
    -------
    pad : float
        In [0, 2].

    Raises
    ------
    ValueError
        Input that is not 2-D, holds NaN or infinite values, or whose
        domains have different numbers of features; fewer than 2 rows in
        a domain; ``cv`` or ``max_samples`` below 2.

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
    Xs, Xt = _check_domains(X_source, X_target, "proxy_a_distance")
    _check_two_rows(Xs, Xt, "proxy_a_distance")
    Xs, Xt = _subsample_domains(Xs, Xt, max_samples, random_state)
    X = np.vstack([Xs, Xt])
    d = np.r_[np.zeros(len(Xs), dtype=int), np.ones(len(Xt), dtype=int)]
    folds = min(int(cv), len(Xs), len(Xt))
    clf = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"),
    )
    pred = cross_val_predict(
        clf, X, d, cv=StratifiedKFold(folds, shuffle=True, random_state=random_state)
    )
    err = 0.5 * (np.mean(pred[d == 0] != 0) + np.mean(pred[d == 1] != 1))
    return float(np.clip(2.0 * (1.0 - 2.0 * err), 0.0, 2.0))
