"""A noise-aware rule for choosing a default on development tasks.

The earlier rule of the selection benchmarks (the highest mean over the
development tasks wins) decided on differences of a few tenths of a point
while single tasks moved by 10 points or more, and flipped two of five
sertl-feature decisions after a small feature fix (features version 3 -> 4,
benchmarks/results/feature_defaults.md). The rule here keeps the incumbent
(the current default) unless a challenger is better on the same tasks by a
paired test:

* for each challenger, the per-task differences ``challenger - incumbent``;
* the exact one-sided sign-flip (randomisation) p-value of their mean: the
  share of the ``2 ** n`` sign assignments whose mean is at least the
  observed one (Fisher's paired randomisation test; no normality assumed);
* a challenger with ``p < alpha`` is eligible; the eligible challenger with
  the highest mean wins, otherwise the incumbent stays.

Fixed before its first run (2026-11-27): ``alpha = 0.05``, one-sided,
exact enumeration (10 tasks: 1,024 assignments).
"""

from __future__ import annotations

import itertools

import numpy as np

ALPHA = 0.05


def sign_flip_p(diffs):
    """Exact one-sided sign-flip p-value that the mean of ``diffs`` is above 0.

    >>> sign_flip_p([1.0, 2.0, 3.0])  # only the all-positive assignment ties
    0.125
    >>> sign_flip_p([0.0, 0.0])  # no difference: every assignment ties
    1.0
    """
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or d.size == 0 or d.size > 20:
        raise ValueError(f"need 1 to 20 paired differences, got shape {d.shape}")
    observed = d.mean()
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
    means = signs @ d / d.size
    # a tolerance so that ties in floating point count as ties
    return float(np.mean(means >= observed - 1e-12))


def keep_unless_better(incumbent, challengers, alpha=ALPHA):
    """Apply the rule; return ``(winner, {challenger: (mean diff, p)})``.

    ``incumbent`` is ``(label, per-task scores)``; ``challengers`` maps a
    label to its per-task scores on the same tasks, in the same order.

    >>> keep_unless_better(("a", [40, 50, 60]), {"b": [41, 51, 61]})[0]
    'a'
    >>> tasks = range(10)
    >>> keep_unless_better(("a", [50.0] * 10), {"b": [51.0 + t for t in tasks]})[0]
    'b'
    """
    label, base = incumbent
    base = np.asarray(base, dtype=float)
    tests = {}
    for name, scores in challengers.items():
        diffs = np.asarray(scores, dtype=float) - base
        if diffs.shape != base.shape:
            raise ValueError(f"{name!r}: {diffs.shape} scores, {base.shape} expected")
        tests[name] = (float(diffs.mean()), sign_flip_p(diffs))
    eligible = [n for n, (m, p) in tests.items() if p < alpha and m > 0]
    winner = max(eligible, key=lambda n: tests[n][0]) if eligible else label
    return winner, tests
