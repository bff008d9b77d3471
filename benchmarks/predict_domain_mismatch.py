"""Calibration of ``sertl predict``'s domain-mismatch note.

``predict_files`` notes a batch whose features (as the model's per-domain
standardisation receives them) do not match the target statistics that
standardisation holds, from ``MIN_MISMATCH_FILES`` (5) files: they lie far
from them, ``domain_shift`` (the mean over features of
``|batch mean - target mean| / target std``) above ``mismatch_threshold(n)``
(``0.25 + 1.2 / sqrt(n)``), or they gather too tightly around the target's
means, ``domain_spread`` (the median over features of the root-mean-square
of ``(x - target mean) / target std``) below ``spread_threshold(n)``
(``exp(-(0.145 + 0.8 / sqrt(n)))``).

Each of the four shared corpora (all their utterances, sertl-speech
functionals) is the target in turn: a ``DomainStandardScaler`` is fitted
with its files as target rows, as ``train_model`` does with the unlabelled
target files. Batches of n random files (1,000 per cell) are then drawn
from the target corpus itself (the files the statistics came from), from
held-out speakers of it (statistics fitted on half of its speakers, batches
from the other half: new people, same setup), from a single speaker of it,
and from each other corpus; two more rows per target, not used for the
calibration, draw a batch from one emotion of it, and from one emotion of
one speaker (the groups with at least n files). Each cell gives the median
shift and spread and how often the note would fire, and how often the shift
alone would (below 5 files the note is not given: the rate is what the
thresholds alone would do).

The spread's constants come from a rule stated in advance, run here again:
the least strict ``(base, noise)`` on a grid (lowest mean of ``base + noise /
sqrt(n)`` over n = 5, 10, 20) whose spread notes add at most 0.5 percentage
points to any own-corpus cell (itself, held-out speakers, one speaker) at
n = 5, 10 and 20. It is run on the four targets together (the shipped
constants) and leaving each target out in turn (chosen on three, reported on
the fourth).

Run from the repository root (features come from the benchmark cache)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/predict_domain_mismatch.py

Results: benchmarks/results/predict_domain_mismatch.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import load_features  # noqa: E402
from _report import command, parse_parts, threads, write_results  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "predict_domain_mismatch.md"
CORPORA = {
    "emodb": "EmoDB",
    "ravdess": "RAVDESS",
    "urdu": "URDU",
    "turev_db": "TurEV-DB",
}
SIZES = (1, 2, 3, 5, 10, 20)
DRAWS = 1000
CALIBRATION_SIZES = (5, 10, 20)
OWN = ("itself", "held-out speakers", "one speaker")
# the grid and the slack of the calibration rule (see the docstring)
GRID_BASE = np.round(np.arange(0.0, 0.6001, 0.005), 3)
GRID_NOISE = np.round(np.arange(0.0, 1.0001, 0.05), 2)
SLACK = 0.5


def target_stats(X):
    """A DomainStandardScaler's target statistics for ``X`` as target rows."""
    from sertl_core import DomainStandardScaler

    sd = -np.ones(len(X), dtype=np.int64)
    scaler = DomainStandardScaler().fit(X, sample_domain=sd)
    return scaler.target_mean_, scaler.target_scale_


def shifts(rng, X, n, mean, scale, groups=None):
    """Shift and spread of ``DRAWS`` random batches of ``n`` rows of ``X``.

    With ``groups``, each batch is drawn from one group (a speaker) with at
    least ``n`` rows (None: no such group). Returns an array (DRAWS, 2).
    """
    from sertl_experiments._predict import domain_shift, domain_spread

    if groups is not None:
        names, counts = np.unique(groups, return_counts=True)
        names = names[counts >= n]
        if not len(names):
            return None
    out = np.empty((DRAWS, 2))
    for k in range(DRAWS):
        rows = X if groups is None else X[groups == rng.choice(names)]
        batch = rows[rng.choice(len(rows), n, replace=False)]
        out[k] = domain_shift(batch, mean, scale), domain_spread(batch, mean, scale)
    return out


def sep(label):
    """', ' before a part of the target corpus, ' ' before 'itself'."""
    return " " if label == "itself" else ", "


def noted(v, n, base, noise):
    """Percent of batches noted, by shift or spread (with these constants)."""
    from sertl_experiments._predict import mismatch_threshold

    by_shift = v[:, 0] > mismatch_threshold(n)
    by_spread = v[:, 1] < np.exp(-(base + noise / np.sqrt(n)))
    return 100 * np.mean(by_shift | by_spread), 100 * np.mean(by_shift)


def calibrate(cells, targets):
    """The calibration rule: least strict (base, noise) within the slack."""
    best = None
    for noise in GRID_NOISE:
        for base in GRID_BASE:  # the smallest base within the slack
            if all(
                np.subtract(*noted(cells[t, label][n], n, base, noise)) <= SLACK
                for t in targets
                for label in OWN
                for n in CALIBRATION_SIZES
            ):
                mean = np.mean([base + noise / np.sqrt(n) for n in CALIBRATION_SIZES])
                if best is None or mean < best[0] - 1e-12:
                    best = (mean, float(base), float(noise))
                break
    return best[1], best[2]


def main():
    from sertl_experiments._predict import (
        MIN_MISMATCH_FILES,
        SPREAD_BASE,
        SPREAD_NOISE,
        mismatch_threshold,
        spread_threshold,
    )

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    # the rows not used in the calibration draw from their own generator, so
    # that the other rows keep the batches of the runs before them
    extra = np.random.default_rng(1)
    data = {c: load_features(c, emotions=None, progress=False) for c in CORPORA}
    limits = {n: mismatch_threshold(n) for n in SIZES}
    head = "| target corpus | batch of | " + " | ".join(
        f"n={n} (thresholds {limits[n]:.2f}, {spread_threshold(n):.2f})" for n in SIZES
    )
    lines = [
        "# `sertl predict`: calibration of the domain-mismatch note",
        "",
        f"Command: `{command()}`.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}; {threads()}.",
        "",
        "Statistics: `domain_shift` = mean over the 316 functionals of "
        "|batch mean - target mean| / target std, and `domain_spread` = median "
        "over them of the root-mean-square of (x - target mean) / target std "
        "over the files (the target statistics of a "
        "`DomainStandardScaler` fitted with the target corpus's files as target "
        f"rows). Note when the shift exceeds 0.25 + 1.2 / sqrt(n) or the spread "
        f"falls below exp(-({SPREAD_BASE:g} + {SPREAD_NOISE:g} / sqrt(n))), from "
        f"{MIN_MISMATCH_FILES} files. Corpora (all emotions): "
        + ", ".join(f"{name} {len(data[c][0])} files" for c, name in CORPORA.items())
        + f". {DRAWS} random batches per cell.",
        "",
        "Each cell: median shift, median spread / % of batches noted (% noted "
        f"by the shift alone) (for n < {MIN_MISMATCH_FILES} the note is not "
        "given; the rate is what the thresholds alone would do). The rows one "
        "emotion and one speaker, one emotion are not used in the calibration; "
        "'-': no group with n files.",
        "",
        head + " |",
        "|---|---|" + "---|" * len(SIZES),
    ]
    cells = {}
    names = set(CORPORA.values())
    for t, tname in CORPORA.items():
        X, _, spk, _ = data[t]
        mean, scale = target_stats(X)
        speakers = np.unique(spk)
        rng.shuffle(speakers)
        half = np.isin(spk, speakers[: len(speakers) // 2])
        mean_h, scale_h = target_stats(X[half])
        emo = data[t][1]
        spk_emo = np.char.add(spk, emo)
        cases = [
            (
                "itself",
                lambda n, X=X, m=mean, s=scale: shifts(rng, X, n, m, s),
            ),
            (
                "held-out speakers",
                lambda n, X=X[~half], m=mean_h, s=scale_h: shifts(rng, X, n, m, s),
            ),
            (
                "one speaker",
                lambda n, X=X, m=mean, s=scale, g=spk: shifts(rng, X, n, m, s, g),
            ),
            (
                "one emotion",
                lambda n, X=X, m=mean, s=scale, g=emo: shifts(extra, X, n, m, s, g),
            ),
            (
                "one speaker, one emotion",
                lambda n, X=X, m=mean, s=scale, g=spk_emo: shifts(extra, X, n, m, s, g),
            ),
        ]
        for o, oname in CORPORA.items():
            if o != t:
                cases.append(
                    (
                        oname,  # another corpus
                        lambda n, Z=data[o][0], m=mean, s=scale: shifts(
                            rng, Z, n, m, s
                        ),
                    )
                )
        for label, draw in cases:
            row = []
            for n in SIZES:
                v = cells.setdefault((t, label), {})[n] = draw(n)
                if v is None:
                    row.append("-")
                    continue
                both, alone = noted(v, n, SPREAD_BASE, SPREAD_NOISE)
                med = np.median(v, axis=0)
                row.append(f"{med[0]:.2f}, {med[1]:.2f} / {both:.1f} ({alone:.1f})")
            name = label if label in names else f"{tname}{sep(label)}{label}"
            lines.append(f"| {tname} | {name} | " + " | ".join(row) + " |")
            print(lines[-1], flush=True)
    lines += calibration_lines(cells, (SPREAD_BASE, SPREAD_NOISE))
    lines += [
        "",
        f"Wall time {time.perf_counter() - t0:.0f} s. A batch of n files of the "
        "target domain shifts by about 0.8 / sqrt(n) (the sampling noise of a "
        "mean); the threshold leaves 1.5 times that plus 0.25 for new speakers "
        "of the same setup. Its spread is about 1 (a few files scatter a little "
        "less than all of them).",
        "",
    ]
    write_results(OUT, "\n".join(lines))
    print("\n".join(lines))


def calibration_lines(cells, shipped):
    """The calibration rule on all four targets and leaving each out."""
    base, noise = calibrate(cells, list(CORPORA))
    same = (
        "the shipped constants"
        if (base, noise) == shipped
        else (f"NOT the shipped constants {shipped}")
    )
    lines = [
        "",
        "## Calibration of the spread's constants",
        "",
        f"Rule (see the script's docstring): the least strict (base, noise), "
        f"base in {GRID_BASE[0]:g}..{GRID_BASE[-1]:g}, noise in "
        f"{GRID_NOISE[0]:g}..{GRID_NOISE[-1]:g}, whose spread notes add at most "
        f"{SLACK:g} percentage points to any own-corpus cell ({', '.join(OWN)}) "
        f"at n = {', '.join(map(str, CALIBRATION_SIZES))}. On the four targets "
        f"together: base {base:g}, noise {noise:g} ({same}). Leaving each "
        "target out (chosen on the other three; the cells of the target left "
        "out, % noted with those constants (% by the shift alone) at n = "
        f"{', '.join(map(str, CALIBRATION_SIZES))}):",
        "",
        "| target left out | base, noise | "
        + " | ".join(f"{label}" for label in OWN)
        + " | other corpora |",
        "|---|---|" + "---|" * (len(OWN) + 1),
    ]
    for t, tname in CORPORA.items():
        b, s = calibrate(cells, [c for c in CORPORA if c != t])

        def rates(label, b=b, s=s, t=t):
            return "/".join(
                "{:.1f} ({:.1f})".format(*noted(cells[t, label][n], n, b, s))
                for n in CALIBRATION_SIZES
            )

        others = "; ".join(
            f"{name}: {rates(name)}" for c, name in CORPORA.items() if c != t
        )
        own = " | ".join(rates(label) for label in OWN)
        lines.append(f"| {tname} | {b:g}, {s:g} | {own} | {others} |")
    return lines


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
