"""Calibration of ``sertl predict``'s domain-mismatch note.

``predict_files`` notes a batch whose features (as the model's per-domain
standardisation receives them) lie far from the target statistics that
standardisation holds: ``domain_shift`` (the mean over features of
``|batch mean - target mean| / target std``) above ``mismatch_threshold(n)``
(``0.25 + 1.2 / sqrt(n)``), from ``MIN_MISMATCH_FILES`` (5) files.

Each of the four shared corpora (all their utterances, sertl-speech
functionals) is the target in turn: a ``DomainStandardScaler`` is fitted
with its files as target rows, as ``train_model`` does with the unlabelled
target files. Batches of n random files (1,000 per cell) are then drawn
from the target corpus itself (the files the statistics came from), from
held-out speakers of it (statistics fitted on half of its speakers, batches
from the other half: new people, same setup), from a single speaker of it,
and from each other corpus. Each cell gives the median shift and how often
the note would fire (below 5 files the note is not given: the rate is what
the threshold alone would do).

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


def target_stats(X):
    """A DomainStandardScaler's target statistics for ``X`` as target rows."""
    from sertl_core import DomainStandardScaler

    sd = -np.ones(len(X), dtype=np.int64)
    scaler = DomainStandardScaler().fit(X, sample_domain=sd)
    return scaler.target_mean_, scaler.target_scale_


def shifts(rng, X, n, mean, scale, groups=None):
    """Shift of ``DRAWS`` random batches of ``n`` rows of ``X``.

    With ``groups``, each batch is drawn from one group (a speaker) with at
    least ``n`` rows.
    """
    from sertl_experiments._predict import domain_shift

    if groups is not None:
        names, counts = np.unique(groups, return_counts=True)
        names = names[counts >= n]
    out = np.empty(DRAWS)
    for k in range(DRAWS):
        rows = X if groups is None else X[groups == rng.choice(names)]
        out[k] = domain_shift(
            rows[rng.choice(len(rows), n, replace=False)], mean, scale
        )
    return out


def main():
    from sertl_experiments._predict import (
        MIN_MISMATCH_FILES,
        mismatch_threshold,
    )

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    data = {c: load_features(c, emotions=None, progress=False) for c in CORPORA}
    limits = {n: mismatch_threshold(n) for n in SIZES}
    head = "| target corpus | batch of | " + " | ".join(
        f"n={n} (threshold {limits[n]:.2f})" for n in SIZES
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
        "Statistic: `domain_shift` = mean over the 316 functionals of "
        "|batch mean - target mean| / target std (the target statistics of a "
        "`DomainStandardScaler` fitted with the target corpus's files as target "
        f"rows). Note when it exceeds 0.25 + 1.2 / sqrt(n), from "
        f"{MIN_MISMATCH_FILES} files. Corpora (all emotions): "
        + ", ".join(f"{name} {len(data[c][0])} files" for c, name in CORPORA.items())
        + f". {DRAWS} random batches per cell.",
        "",
        "Each cell: median shift / % of batches above the threshold (for n < "
        f"{MIN_MISMATCH_FILES} the note is not given; the rate is what the "
        "threshold alone would do).",
        "",
        head + " |",
        "|---|---|" + "---|" * len(SIZES),
    ]
    for t, tname in CORPORA.items():
        X, _, spk, _ = data[t]
        mean, scale = target_stats(X)
        speakers = np.unique(spk)
        rng.shuffle(speakers)
        half = np.isin(spk, speakers[: len(speakers) // 2])
        mean_h, scale_h = target_stats(X[half])
        cases = [
            (
                f"{tname} itself",
                lambda n, X=X, m=mean, s=scale: shifts(rng, X, n, m, s),
            ),
            (
                f"{tname}, held-out speakers",
                lambda n, X=X[~half], m=mean_h, s=scale_h: shifts(rng, X, n, m, s),
            ),
            (
                f"{tname}, one speaker",
                lambda n, X=X, m=mean, s=scale, g=spk: shifts(rng, X, n, m, s, g),
            ),
        ]
        for o, oname in CORPORA.items():
            if o != t:
                cases.append(
                    (
                        oname,
                        lambda n, Z=data[o][0], m=mean, s=scale: shifts(
                            rng, Z, n, m, s
                        ),
                    )
                )
        for label, draw in cases:
            cells = []
            for n in SIZES:
                v = draw(n)
                cells.append(f"{np.median(v):.2f} / {100 * np.mean(v > limits[n]):.1f}")
            lines.append(f"| {tname} | {label} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    lines += [
        "",
        f"Wall time {time.perf_counter() - t0:.0f} s. A batch of n files of the "
        "target domain shifts by about 0.8 / sqrt(n) (the sampling noise of a "
        "mean); the threshold leaves 1.5 times that plus 0.25 for new speakers "
        "of the same setup.",
        "",
    ]
    write_results(OUT, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
