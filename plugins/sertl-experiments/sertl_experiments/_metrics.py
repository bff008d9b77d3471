"""Classification metrics of SER with bootstrap confidence intervals."""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "bootstrap_ci", "confusion", "score_all"]

METRICS = ("uar", "wa", "macro_f1")
"""Metric names: unweighted average recall, weighted accuracy, macro-F1."""


def confusion(y_true, y_pred, labels):
    """Return the confusion matrix (rows true, columns predicted).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence
        Class order; predictions outside ``labels`` are counted nowhere.

    Returns
    -------
    cm : ndarray of int of shape (n_labels, n_labels)

    Examples
    --------
    >>> confusion(["a", "b", "b"], ["a", "a", "b"], ["a", "b"]).tolist()
    [[1, 0], [1, 1]]
    """
    t, p, k = _encode(y_true, y_pred, labels)
    ok = (t >= 0) & (p >= 0)
    return np.bincount(t[ok] * k + p[ok], minlength=k * k).reshape(k, k)


def _encode(y_true, y_pred, labels):
    labels = [str(c) for c in labels]
    index = {c: i for i, c in enumerate(labels)}
    t = np.array([index.get(str(v), -1) for v in np.asarray(y_true)], dtype=np.int64)
    p = np.array([index.get(str(v), -1) for v in np.asarray(y_pred)], dtype=np.int64)
    return t, p, len(labels)


def _from_confusions(cm):
    """Metrics of a stack of confusion matrices of shape (b, k, k)."""
    cm = cm.astype(float)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    support = cm.sum(axis=2)
    predicted = cm.sum(axis=1)
    present = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / np.where(present, support, 1), 0.0)
        precision = np.where(
            predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0
        )
        denom = precision + recall
        f1 = np.where(
            denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0
        )
    n_present = np.maximum(present.sum(axis=1), 1)
    total = np.maximum(cm.sum(axis=(1, 2)), 1)
    return {
        "uar": (recall * present).sum(axis=1) / n_present,
        "wa": tp.sum(axis=1) / total,
        "macro_f1": (f1 * present).sum(axis=1) / n_present,
    }


def score_all(y_true, y_pred, labels):
    """Return UAR, WA and macro-F1 (over the classes present in ``y_true``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence
        Class order.

    Returns
    -------
    scores : dict of str to float
        Keys ``uar``, ``wa``, ``macro_f1``.

    Examples
    --------
    >>> s = score_all(["a", "a", "b", "b"], ["a", "a", "a", "b"], ["a", "b"])
    >>> round(s["uar"], 3), round(s["wa"], 3)
    (0.75, 0.75)
    """
    cm = confusion(y_true, y_pred, labels)[None]
    return {k: float(v[0]) for k, v in _from_confusions(cm).items()}


def bootstrap_ci(
    y_true, y_pred, labels, *, n_boot=1000, confidence=0.95, random_state=0
):
    """Percentile bootstrap confidence intervals of UAR, WA and macro-F1.

    Test rows are resampled with replacement ``n_boot`` times; the interval
    is the central ``confidence`` mass of the resampled metric.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence
        Class order.
    n_boot : int, default=1000
        Number of bootstrap resamples; 0 returns NaN intervals.
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, default=0
        Seed of the resampling.

    Returns
    -------
    ci : dict of str to tuple of float
        ``{metric: (low, high)}``.

    References
    ----------
    .. [1] B. Efron and R. Tibshirani, "An Introduction to the Bootstrap",
       Chapman & Hall, 1993.

    Examples
    --------
    >>> y = ["a"] * 50 + ["b"] * 50
    >>> p = ["a"] * 40 + ["b"] * 10 + ["b"] * 45 + ["a"] * 5
    >>> lo, hi = bootstrap_ci(y, p, ["a", "b"], n_boot=200)["uar"]
    >>> lo < 0.85 < hi
    True
    """
    t, p, k = _encode(y_true, y_pred, labels)
    n = t.size
    if n_boot <= 0 or n == 0:
        return {m: (float("nan"), float("nan")) for m in METRICS}
    rng = np.random.default_rng(random_state)
    out = {m: [] for m in METRICS}
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        tt, pp = t[idx], p[idx]
        ok = (tt >= 0) & (pp >= 0)
        code = (np.arange(b)[:, None] * k * k + tt * k + pp)[ok]
        cm = np.bincount(code, minlength=b * k * k).reshape(b, k, k)
        for m, v in _from_confusions(cm).items():
            out[m].append(v)
    alpha = (1 - confidence) / 2
    return {
        m: (
            float(np.quantile(np.concatenate(v), alpha)),
            float(np.quantile(np.concatenate(v), 1 - alpha)),
        )
        for m, v in out.items()
    }
