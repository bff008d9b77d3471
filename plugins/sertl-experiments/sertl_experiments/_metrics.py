"""Classification metrics of SER with bootstrap confidence intervals.

A prediction that is none of the classes (a label the classifier learned
elsewhere, a marker of a failed row) is a wrong prediction: it lowers the
recall of its row's class, UAR, WA and macro-F1 alike, and the confusion
matrix counts it in an extra last column ("other").
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BOOTSTRAP_UNITS",
    "METRICS",
    "bootstrap_ci",
    "bootstrap_mean_ci",
    "bootstrap_replicates",
    "confusion",
    "score_all",
]

METRICS = ("uar", "wa", "macro_f1")
"""Metric names: unweighted average recall, weighted accuracy, macro-F1."""

BOOTSTRAP_UNITS = ("utterance", "speaker")
"""What a bootstrap resample draws: test utterances (within each class) or speakers."""

OTHER = "other"
"""Name of the confusion matrix's extra column: predictions outside the classes."""


def _encode(y_true, y_pred, labels):
    """Class indices of the rows; a prediction outside ``labels`` gets ``k``.

    Labels are matched by value, as scikit-learn matches them: ``1``,
    ``1.0`` and ``numpy.int64(1)`` are one class, ``1`` and ``"1"`` two. A
    true label outside ``labels`` is refused: the metrics would not know
    its class. So is a prediction that equals a label only as text (``1``
    against ``"1"``): labels and predictions of different types are almost
    surely a mistake, which would otherwise count every such prediction as
    wrong.
    """
    labels = _values(np.asarray(labels, dtype=object).ravel())
    k = len(labels)
    index: dict = {}
    for i, c in enumerate(labels):
        index.setdefault(c, i)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have one label per row each, got "
            f"{y_true.shape[0] if y_true.ndim else 0} and "
            f"{y_pred.shape[0] if y_pred.ndim else 0} rows."
        )
    true_values, pred_values = _values(y_true.ravel()), _values(y_pred.ravel())
    t = np.array([_lookup(index, v, -1) for v in true_values], dtype=np.int64)
    if (t < 0).any():
        bad = sorted({repr(v) for v, i in zip(true_values, t, strict=True) if i < 0})
        raise ValueError(
            f"y_true holds {', '.join(bad[:5])}, which "
            f"{'is' if len(bad) == 1 else 'are'} not in labels {labels}: list "
            "every true class in labels" + _type_hint(true_values, t, labels) + "."
        )
    p = np.array([_lookup(index, v, k) for v in pred_values], dtype=np.int64)
    hint = _type_hint(pred_values, np.where(p == k, -1, p), labels)
    if hint:
        raise ValueError(
            "y_pred holds predictions that equal a label only as text (labels "
            f"{labels}), so each would count as a wrong prediction" + hint + "."
        )
    return t, p, k


def _values(array):
    """Return the entries of a 1-D array as Python scalars (``numpy.str_``: str)."""
    return [v.item() if isinstance(v, np.generic) else v for v in array.tolist()]


def _lookup(index, value, default):
    """Index of ``value`` among the labels (by value), ``default`` when none."""
    try:
        return index.get(value, default)
    except TypeError:  # an unhashable value (a list) is none of the labels
        return default


def _type_hint(values, codes, labels):
    """Return a hint when values missing from ``labels`` match a label as text."""
    text = {str(c) for c in labels}
    clash = sorted(
        {
            repr(v)
            for v, i in zip(values, codes, strict=True)
            if i < 0 and str(v) in text
        }
    )
    if not clash:
        return ""
    return (
        f" ({', '.join(clash[:5])} equal a label only as text: labels are "
        "compared by value, as in scikit-learn; give y_true, y_pred and "
        "labels the same type, e.g. all str or all int)"
    )


def _full_confusion(t, p, k):
    """Confusion counts of shape (k, k + 1); the last column: outside ``labels``."""
    return np.bincount(t * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)


def confusion(y_true, y_pred, labels):
    """Return the confusion matrix (rows true, columns predicted).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels; every true label must be in ``labels``.
    labels : sequence
        Class order.

    Returns
    -------
    cm : ndarray of int of shape (n_labels, n_labels) or (n_labels, n_labels + 1)
        Counts of each (true, predicted) class. When some predictions are
        none of ``labels``, an extra last column ("other") counts them for
        the row of their true class, so that every row sums to its class's
        count.

    Raises
    ------
    ValueError
        When a true label is not in ``labels``.

    Examples
    --------
    >>> confusion(["a", "b", "b"], ["a", "a", "b"], ["a", "b"]).tolist()
    [[1, 0], [1, 1]]
    >>> confusion(["a", "b", "b"], ["a", "c", "b"], ["a", "b"]).tolist()
    [[1, 0, 0], [0, 1, 1]]
    """
    t, p, k = _encode(y_true, y_pred, labels)
    cm = _full_confusion(t, p, k)
    return cm if cm[:, k].any() else cm[:, :k]


def _from_confusions(cm):
    """Metrics of a stack of confusion matrices of shape (b, k, k + 1).

    The last column holds the predictions outside the classes: they count
    in their row's support (a wrong prediction) and in no class's precision.
    """
    cm = cm.astype(float)
    k = cm.shape[1]
    inside = cm[:, :, :k]
    tp = np.diagonal(inside, axis1=1, axis2=2)
    support = cm.sum(axis=2)
    predicted = inside.sum(axis=1)
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

    A prediction that is none of ``labels`` counts as a wrong prediction
    in every metric (as scikit-learn's ``balanced_accuracy_score`` and
    ``accuracy_score`` count it). Labels are compared by value, as in
    scikit-learn: the prediction ``1.0`` is the class ``1``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels; every true label must be in ``labels``.
    labels : sequence
        Class order.

    Returns
    -------
    scores : dict of str to float
        Keys ``uar``, ``wa``, ``macro_f1``; NaN for all three when there
        are no rows (no metric is defined then), as :func:`bootstrap_ci`
        gives NaN intervals, so that an empty test set reads as missing,
        not as a score of 0, in means and tables (pandas and the report
        skip NaN).

    Raises
    ------
    ValueError
        When a true label is not in ``labels``, or a prediction equals a
        label only as text (labels are compared by value).

    Examples
    --------
    >>> s = score_all(["a", "a", "b", "b"], ["a", "a", "a", "b"], ["a", "b"])
    >>> round(s["uar"], 3), round(s["wa"], 3)
    (0.75, 0.75)
    >>> score_all(["a", "a", "b", "b"], ["a", "c", "b", "b"], ["a", "b"])["uar"]
    0.75
    """
    t, p, k = _encode(y_true, y_pred, labels)
    if t.size == 0:
        return {m: float("nan") for m in METRICS}
    cm = _full_confusion(t, p, k)[None]
    return {m: float(v[0]) for m, v in _from_confusions(cm).items()}


def _speaker_names(groups):
    """Speaker ids as text; a missing id (None, NaN) is refused.

    As text, missing ids would all become one speaker called "None" or
    "nan", and the bootstrap would resample them as a single speaker.
    """
    raw = np.asarray(groups, dtype=object).ravel()
    missing = sum(1 for g in raw if g is None or (isinstance(g, float) and g != g))
    if missing:
        raise ValueError(
            f"groups holds {missing} missing speaker id(s) (None or NaN): a "
            "speaker bootstrap needs the speaker of every test row; drop "
            "those rows, give them their speakers, or resample utterances "
            "instead (groups=None)."
        )
    return np.asarray(groups).astype(str)


def _group_codes(groups, n):
    groups = _speaker_names(groups)
    if groups.shape != (n,):
        raise ValueError(
            f"groups must give the speaker of each of the {n} rows, got "
            f"{groups.shape[0] if groups.ndim else 0}."
        )
    names, codes = np.unique(groups, return_inverse=True)
    if names.size < 2:
        raise ValueError(
            "a speaker bootstrap resamples the speakers of the test rows and "
            f"needs at least 2 of them, got {names.size}"
            + (f" ({str(names[0])!r})" if names.size else "")
            + ": resample utterances instead (groups=None)."
        )
    return names.size, codes


def _check_n_boot(n_boot):
    """``n_boot`` as an int; a negative or non-integral count is refused."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer):
        raise ValueError(
            f"n_boot must be a whole number of bootstrap resamples (0 for no "
            f"interval), got {n_boot!r}: pass e.g. n_boot=1000."
        )
    if n_boot < 0:
        raise ValueError(
            f"n_boot must be at least 0 (the number of bootstrap resamples; 0 "
            f"gives NaN intervals), got {n_boot}: pass e.g. n_boot=1000."
        )
    return int(n_boot)


def _check_confidence(confidence):
    """Refuse a ``confidence`` outside (0, 1), e.g. a percentage."""
    ok = isinstance(confidence, int | float | np.integer | np.floating) and not (
        isinstance(confidence, bool)
    )
    if not ok or not 0 < confidence < 1:
        hint = (
            f" (a percentage? pass {confidence / 100:g})"
            if ok and 1 < confidence < 100
            else ""
        )
        raise ValueError(
            f"confidence must be a probability strictly between 0 and 1, got "
            f"{confidence!r}{hint}: pass e.g. confidence=0.95 for a 95 % "
            "interval."
        )


def _weight_chunks(true, k, n_boot, rng, codes=None, n_groups=0):
    """Yield stacks of resample counts of shape (b, n), ``n_boot`` rows in all.

    Entry ``[r, i]`` is how often row ``i`` is drawn in replicate ``r``.
    Without ``codes`` the resample keeps each class's row count (its rows
    drawn with replacement as many times as it has rows); with ``codes``
    (each row's speaker, ``0 .. n_groups - 1``) as many speakers are drawn
    with replacement as there are, each with all its rows. The one
    resampling of :func:`bootstrap_replicates` (:func:`bootstrap_mean_ci`
    couples the resamples of several sets, see :func:`_shared_stream`).
    """
    members = [np.flatnonzero(true == c) for c in range(k)]
    chunk = max(1, 2_000_000 // max(true.size, 1))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        if codes is not None:
            yield _draw_counts(rng, b, n_groups)[:, codes]
            continue
        weight = np.zeros((b, true.size), dtype=np.int64)
        for rows in members:
            if rows.size:
                weight[:, rows] = _draw_counts(rng, b, rows.size)
        yield weight


def _draw_counts(rng, b, m):
    """Return counts of shape (b, m): ``b`` resamples of ``m`` draws of ``m`` items."""
    draw = rng.integers(0, m, size=(b, m))
    code = np.arange(b)[:, None] * m + draw
    return np.bincount(code.ravel(), minlength=b * m).reshape(b, m)


def _confusion_cells(t, p, k):
    """One-hot confusion cells of the rows, shape (n, k * (k + 1))."""
    cells = np.zeros((t.size, k * (k + 1)))
    cells[np.arange(t.size), t * (k + 1) + p] = 1.0
    return cells


def bootstrap_replicates(
    y_true, y_pred, labels, *, n_boot=1000, random_state=0, groups=None
):
    """Return the metrics of ``n_boot`` bootstrap resamples of the test rows.

    Without ``groups`` the resample is stratified by class: each class's
    rows are drawn with replacement as many times as it has rows, so every
    replicate keeps the class counts of the test set (and UAR always
    averages the same classes). With ``groups`` (the speaker of each row)
    it is a cluster bootstrap: the speakers are drawn with replacement, as
    many as there are, each with all its rows; a replicate can then lack a
    class, whose recall is left out of its UAR and macro-F1
    (``classes_missing`` counts them).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels; every true label must be in ``labels``.
    labels : sequence
        Class order.
    n_boot : int, default=1000
        Number of bootstrap resamples (at least 0).
    random_state : int, default=0
        Seed of the resampling (``numpy.random.default_rng``).
    groups : array-like of shape (n_samples,), default=None
        Speaker of each row, for a speaker-level bootstrap; at least two.

    Returns
    -------
    replicates : dict of str to ndarray of shape (n_boot,)
        ``uar``, ``wa``, ``macro_f1`` of each replicate, and
        ``classes_missing``: how many of the classes of ``y_true`` each
        replicate lacks (always 0 without ``groups``).

    Raises
    ------
    ValueError
        A true label outside ``labels``, ``groups`` with fewer than two
        speakers, or a negative ``n_boot``.

    Examples
    --------
    >>> y = ["a"] * 4 + ["b"] * 2
    >>> p = ["a", "a", "a", "b", "b", "b"]
    >>> r = bootstrap_replicates(y, p, ["a", "b"], n_boot=5)
    >>> r["uar"].shape, int(r["classes_missing"].sum())
    ((5,), 0)
    """
    n_boot = _check_n_boot(n_boot)
    t, p, k = _encode(y_true, y_pred, labels)
    rng = np.random.default_rng(random_state)
    n_groups, codes = (0, None) if groups is None else _group_codes(groups, t.size)
    cells = _confusion_cells(t, p, k)
    out: dict[str, list] = {m: [] for m in (*METRICS, "classes_missing")}
    observed = np.bincount(t, minlength=k) > 0
    for weight in _weight_chunks(t, k, n_boot, rng, codes, n_groups):
        cm = (weight @ cells).reshape(-1, k, k + 1)
        for m, v in _from_confusions(cm).items():
            out[m].append(v)
        support = cm.sum(axis=2) > 0
        out["classes_missing"].append((observed & ~support).sum(axis=1))
    return {
        m: np.concatenate(v) if v else np.empty(0, dtype=float) for m, v in out.items()
    }


def _interval(values, confidence):
    if values.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1 - confidence) / 2
    return (
        float(np.quantile(values, alpha)),
        float(np.quantile(values, 1 - alpha)),
    )


def bootstrap_ci(
    y_true,
    y_pred,
    labels,
    *,
    n_boot=1000,
    confidence=0.95,
    random_state=0,
    groups=None,
):
    """Percentile bootstrap confidence intervals of UAR, WA and macro-F1.

    The test rows are resampled ``n_boot`` times (see
    :func:`bootstrap_replicates`: within each class by default, whole
    speakers with ``groups``); the interval is the central ``confidence``
    mass of the resampled metric.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels; every true label must be in ``labels``.
    labels : sequence
        Class order.
    n_boot : int, default=1000
        Number of bootstrap resamples; 0 returns NaN intervals.
    confidence : float, default=0.95
        Nominal coverage of the interval, strictly between 0 and 1 (0.95,
        not 95).
    random_state : int, default=0
        Seed of the resampling.
    groups : array-like of shape (n_samples,), default=None
        Speaker of each row: resample speakers (a cluster bootstrap)
        instead of utterances.

    Returns
    -------
    ci : dict of str to tuple of float
        ``{metric: (low, high)}``; NaN bounds without rows or resamples.

    Raises
    ------
    ValueError
        A true label outside ``labels``, ``groups`` with fewer than two
        speakers, a negative ``n_boot`` or ``confidence`` outside (0, 1).

    References
    ----------
    .. [1] B. Efron and R. Tibshirani, "An Introduction to the Bootstrap",
       Chapman & Hall, 1993.
    .. [2] A. C. Davison and D. V. Hinkley, "Bootstrap Methods and their
       Application", Cambridge University Press, 1997 (stratified and
       cluster resampling, Sections 3.7 and 3.8).

    Examples
    --------
    >>> y = ["a"] * 50 + ["b"] * 50
    >>> p = ["a"] * 40 + ["b"] * 10 + ["b"] * 45 + ["a"] * 5
    >>> lo, hi = bootstrap_ci(y, p, ["a", "b"], n_boot=200)["uar"]
    >>> lo < 0.85 < hi
    True
    >>> speakers = [f"s{i % 10}" for i in range(100)]
    >>> lo, hi = bootstrap_ci(y, p, ["a", "b"], n_boot=200, groups=speakers)["uar"]
    >>> lo < 0.85 < hi
    True
    """
    n_boot = _check_n_boot(n_boot)
    _check_confidence(confidence)
    if n_boot == 0 or np.asarray(y_true).size == 0:
        _encode(y_true, y_pred, labels)  # the same checks as with resamples
        return {m: (float("nan"), float("nan")) for m in METRICS}
    rep = bootstrap_replicates(
        y_true,
        y_pred,
        labels,
        n_boot=n_boot,
        random_state=random_state,
        groups=groups,
    )
    return {m: _interval(rep[m], confidence) for m in METRICS}


def bootstrap_mean_ci(
    samples, labels, *, n_boot=1000, confidence=0.95, random_state=None
):
    """Percentile bootstrap interval of a metric's mean over several test sets.

    For the mean over seeds of one method. The test sets are subsets of one
    pool of rows (the target corpus): ``rows`` names each set's rows in the
    pool. Each set is resampled as :func:`bootstrap_replicates` resamples
    it alone: its own rows within each class (as many draws per class as
    it has rows of the class) or, with ``groups``, its own speakers (as
    many draws as it has speakers, each with all its rows of the set). So
    every replicate scores every set on rows of its own, and no set is
    scored on an empty resample. The sets' draws are coupled so that rows
    (speakers) they share carry the same sampling noise: each replicate
    draws one stream of pool units (rows of a class, or speakers) uniformly
    with replacement, and a set takes the first draws of that stream that
    fall among its own units (a uniform draw from its units, the others
    skipped). Sets of the same rows therefore get the same resample (under
    the unlabelled protocol every seed tests on the whole target corpus),
    disjoint sets independent ones, and overlapping sets share the draws of
    their common units. The metric of each set is averaged over the sets;
    the interval is the central ``confidence`` mass of those averages.
    Resampling each set on its own would treat a method tested five times
    on the same rows as if tested on five corpora, and narrow the interval
    by about the square root of the number of sets. With one set it is
    that set's :func:`bootstrap_ci`.

    Parameters
    ----------
    samples : list of dict
        One per test set: ``y_true``, ``y_pred``, optionally ``rows`` (the
        rows' ids in the pool; default ``0 .. n-1``: every set the same
        rows), ``groups`` (the speaker of each row, by name, for a speaker
        bootstrap: for every set or none) and ``random_state``.
    labels : sequence
        Class order.
    n_boot : int, default=1000
        Number of bootstrap resamples; 0 returns NaN intervals.
    confidence : float, default=0.95
        Nominal coverage of the interval, strictly between 0 and 1.
    random_state : int, default=None
        Seed of the resampling; None takes the first set's
        ``random_state`` (0 without one).

    Returns
    -------
    ci : dict of str to tuple of float
        ``{metric: (low, high)}`` of the mean over the test sets.

    Raises
    ------
    ValueError
        A pool row with two different true labels (or speakers), ``rows``
        of another length than its set, ``groups`` for some sets only, a
        set without rows, a negative ``n_boot`` or ``confidence`` outside
        (0, 1).

    Examples
    --------
    >>> y = ["a"] * 30 + ["b"] * 30
    >>> one = {"y_true": y, "y_pred": ["a"] * 25 + ["b"] * 35, "random_state": 0}
    >>> two = {"y_true": y, "y_pred": ["a"] * 35 + ["b"] * 25, "random_state": 1}
    >>> bootstrap_mean_ci([one], ["a", "b"], n_boot=100) == bootstrap_ci(
    ...     one["y_true"], one["y_pred"], ["a", "b"], n_boot=100)
    True
    >>> lo, hi = bootstrap_mean_ci([one, two], ["a", "b"], n_boot=200)["uar"]
    >>> lo < 0.917 < hi  # the mean UAR of the two sets
    True
    """
    n_boot = _check_n_boot(n_boot)
    _check_confidence(confidence)
    if n_boot == 0 or not samples:
        return {m: (float("nan"), float("nan")) for m in METRICS}
    sets = []
    for i, s in enumerate(samples):
        t, p, k = _encode(s["y_true"], s["y_pred"], labels)
        if t.size == 0:
            raise ValueError(
                f"test set {i} has no rows: an empty test set has no metric "
                "to average; leave it out of samples."
            )
        rows = np.arange(t.size) if s.get("rows") is None else np.asarray(s["rows"])
        if rows.shape != t.shape:
            raise ValueError(
                f"rows names {rows.size} pool rows for a test set of {t.size} "
                "rows: give one id per row."
            )
        sets.append((rows.astype(np.int64), t, p))
    ids = np.unique(np.concatenate([rows for rows, _, _ in sets]))
    true = _pool_values(ids, [(rows, t) for rows, t, _ in sets], "true labels")
    with_groups = [s.get("groups") is not None for s in samples]
    if any(with_groups) and not all(with_groups):
        raise ValueError(
            "groups is given for some test sets only: give the speakers of "
            "every set for a speaker bootstrap, or of none."
        )
    pool_true = true.astype(np.int64)
    if all(with_groups):
        pairs = [
            (rows, _speaker_names(s["groups"]))
            for (rows, _, _), s in zip(sets, samples, strict=True)
        ]
        n_groups, codes = _group_codes(_pool_values(ids, pairs, "speakers"), ids.size)
        # one stratum: the speakers
        strata = [(n_groups, codes)]
    else:
        # one stratum per class present: its pool rows
        strata = []
        for c in range(k):
            members = np.flatnonzero(pool_true == c)
            if members.size:
                unit = np.full(ids.size, -1, dtype=np.int64)
                unit[members] = np.arange(members.size)
                strata.append((members.size, unit))
    seed = samples[0].get("random_state", 0) if random_state is None else random_state
    rng = np.random.default_rng(seed)
    # each set: its rows' confusion cells and, per stratum, the unit of each
    # of its rows (-1: another stratum), its units and how many it draws
    parts = []
    for rows, t, p in sets:
        pos = np.searchsorted(ids, rows)
        own = []
        for size, unit in strata:
            u = unit[pos]
            mask = np.zeros(size, dtype=bool)
            mask[u[u >= 0]] = True
            own.append((u, mask, int(mask.sum())))
        parts.append((_confusion_cells(t, p, k), own))
    total: dict[str, list] = {m: [] for m in METRICS}
    chunk = max(1, 2_000_000 // max(ids.size, 1))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        streams = [
            _shared_stream(rng, b, size, [own[i] for _, own in parts])
            for i, (size, _) in enumerate(strata)
        ]
        acc = {m: np.zeros(b) for m in METRICS}
        for cells, own in parts:
            weight = np.zeros((b, cells.shape[0]))
            for (size, _), stream, (u, mask, need) in zip(
                strata, streams, own, strict=True
            ):
                if need:
                    counts = _thin(stream, mask, need, b, size)
                    sel = u >= 0
                    weight[:, sel] = counts[:, u[sel]]
            cm = (weight @ cells).reshape(-1, k, k + 1)
            for m, v in _from_confusions(cm).items():
                acc[m] += v
        for m in METRICS:
            total[m].append(acc[m] / len(parts))
    return {m: _interval(np.concatenate(v), confidence) for m, v in total.items()}


def _shared_stream(rng, b, m, sets):
    """Draw ``b`` streams of units ``0 .. m - 1``, long enough for every set.

    ``sets`` holds each set's ``(_, mask, need)``: its units (a mask) and
    how many draws among them it takes. The stream of each replicate is
    drawn in blocks of ``m`` uniform draws with replacement, more blocks
    for the replicates in which some set has fewer than ``need`` draws
    among its units. Returns the blocks as ``(replicates, draws)`` pairs.
    The first block is the whole resample of a set of all ``m`` units.
    """
    first = rng.integers(0, m, size=(b, m))
    blocks = [(np.arange(b), first)]
    got = [mask[first].sum(axis=1) for _, mask, _ in sets]
    while True:
        short = np.zeros(b, dtype=bool)
        for g, (_, _, need) in zip(got, sets, strict=True):
            short |= g < need
        if not short.any():
            return blocks
        idx = np.flatnonzero(short)
        more = rng.integers(0, m, size=(idx.size, m))
        blocks.append((idx, more))
        for g, (_, mask, _) in zip(got, sets, strict=True):
            g[idx] += mask[more].sum(axis=1)


def _thin(blocks, mask, need, b, m):
    """Count, per replicate, its first ``need`` draws in ``mask``: shape (b, m)."""
    counts = np.zeros(b * m, dtype=np.int64)
    got = np.zeros(b, dtype=np.int64)
    for idx, draws in blocks:
        hit = mask[draws]
        rank = got[idx, None] + np.cumsum(hit, axis=1)
        take = hit & (rank <= need)
        code = idx[:, None] * m + draws
        counts += np.bincount(code[take], minlength=b * m)
        got[idx] += hit.sum(axis=1)
    return counts.reshape(b, m)


def _pool_values(ids, pairs, what):
    """One value per pool id from ``(rows, values)`` pairs, which must agree."""
    out = np.empty(ids.size, dtype=object)
    seen = np.zeros(ids.size, dtype=bool)
    for rows, values in pairs:
        pos = np.searchsorted(ids, rows)
        values = np.asarray(values, dtype=object)
        clash = seen[pos] & (out[pos] != values)
        if clash.any():
            raise ValueError(
                f"pool row {int(rows[np.flatnonzero(clash)[0]])} has two "
                f"different {what} in two test sets: rows must name the same "
                "rows of one pool in every set."
            )
        out[pos], seen[pos] = values, True
    return out
