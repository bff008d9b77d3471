"""Development-split selection of the few-shot self-training setting.

Only the 12 pool actors of each seed's split (benchmarks/neural_transfer.py
``_fewshot_split``) are read: per seed, 2 draws of 6 actors giving the k = 10
shots per class (their other rows are the unlabelled target rows) and 6 other
pool actors for evaluation. The test actors' rows are never used (the
scaler here is fitted on source + pool rows only)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_fewshot_dev.py all

``all`` runs every variant in one pass and applies the paired rule of
benchmarks/_selection.py: the setting in use (``SELF_TRAIN`` of
benchmarks/neural_transfer.py) stays unless another variant's development
UAR is higher on the 10 splits by an exact one-sided sign-flip test at
p < 0.05; the table goes to benchmarks/results/neural_fewshot_dev.md.
Without ``all`` (or with ``second``), the first (second) group of variants
of the original two-step selection is printed, as in neural_fewshot.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import parse_parts, write_results  # noqa: E402
from _selection import ALPHA, keep_unless_better  # noqa: E402
from neural_transfer import (  # noqa: E402
    FS_EPOCHS,
    FS_NET,
    PRETRAIN,
    SEEDS,
    SELF_TRAIN,
    SOURCE_WEIGHT,
    K,
    _fewshot_split,
    load,
    scaled,
    stack,
    uar,
)
from sertl_neural import FineTuneClassifier  # noqa: E402

VARIANTS = {
    "st thr0.7 w1 r2": {
        "pseudo_label_threshold": 0.7,
        "unlabeled_weight": 1.0,
        "self_training_rounds": 2,
    },
    "st thr0.9 w1 r2": {
        "pseudo_label_threshold": 0.9,
        "unlabeled_weight": 1.0,
        "self_training_rounds": 2,
    },
    "st thr0.7 w3 r2": {
        "pseudo_label_threshold": 0.7,
        "unlabeled_weight": 3.0,
        "self_training_rounds": 2,
    },
    "st thr0.9 w3 r2": {
        "pseudo_label_threshold": 0.9,
        "unlabeled_weight": 3.0,
        "self_training_rounds": 2,
    },
}
VARIANTS_2 = {
    "st thr0.9 w3 r4": {
        "pseudo_label_threshold": 0.9,
        "unlabeled_weight": 3.0,
        "self_training_rounds": 4,
    },
    "joint+st thr0.9 w3 r2": {
        "pseudo_label_threshold": 0.9,
        "unlabeled_weight": 3.0,
        "self_training_rounds": 2,
        "init_from": None,
    },
}


OUT = Path(__file__).resolve().parent / "results" / "neural_fewshot_dev.md"


def main(part="first"):
    variants = {
        "first": VARIANTS,
        "second": VARIANTS_2,
        "all": {**VARIANTS, **VARIANTS_2},
    }[part]
    torch.set_num_threads(1)
    Xs, ys, _, _ = load("emodb")
    Xt, yt, spk_t, _ = load("ravdess")
    res = {k: [] for k in ["source-only", "target-only", "rehearsal", *variants]}
    t0 = time.perf_counter()
    for seed in SEEDS:
        _, test = _fewshot_split(spk_t, yt, seed)
        pool_rows = np.flatnonzero(~test)
        pool = np.unique(spk_t[pool_rows])
        for d in (0, 1):
            rng = np.random.default_rng(1000 * seed + d)
            perm = rng.permutation(pool)
            shot_act, eval_act = perm[:6], perm[6:]
            Zs, Zp = scaled(Xs, Xt[pool_rows])
            yp, sp = yt[pool_rows], spk_t[pool_rows]
            in_shot = np.isin(sp, shot_act)
            shots = np.concatenate(
                [
                    rng.choice(np.flatnonzero(in_shot & (yp == c)), K, replace=False)
                    for c in np.unique(yp)
                ]
            )
            ev = np.isin(sp, eval_act)
            y_tr = np.full(len(yp), "-1", dtype=object)
            y_tr[shots] = yp[shots]
            # unlabelled target rows: the shot actors' other rows only
            keep = in_shot
            X, y, sd = stack(Zs, ys, Zp[keep], y_tr[keep].astype(str))
            src = FineTuneClassifier(
                **FS_NET, **PRETRAIN, finetune_epochs=0, random_state=seed
            ).fit(X, y, sample_domain=sd)
            kw = {"max_epochs": 0, "finetune_epochs": FS_EPOCHS, "random_state": seed}
            tgt = FineTuneClassifier(**{**FS_NET, "batch_size": 8}, **kw).fit(
                X, y, sample_domain=sd
            )
            models = {"source-only": src, "target-only": tgt}
            models["rehearsal"] = FineTuneClassifier(
                **FS_NET, init_from=src, finetune_source_weight=SOURCE_WEIGHT, **kw
            ).fit(X, y, sample_domain=sd)
            for name, v in variants.items():
                models[name] = FineTuneClassifier(
                    **FS_NET,
                    **{"init_from": src, **v},
                    finetune_source_weight=SOURCE_WEIGHT,
                    **kw,
                ).fit(X, y, sample_domain=sd)
            for name, m in models.items():
                res[name].append(uar(yp[ev], m.predict(Zp[ev])))
            print(
                seed,
                d,
                {k: round(v[-1], 1) for k, v in res.items()},
                f"{time.perf_counter() - t0:.0f}s",
                flush=True,
            )
    for k, v in res.items():
        print(f"{k}: {np.mean(v):.1f}")
    if part == "all":
        write(res, time.perf_counter() - t0)


def write(res, wall):
    """Apply the paired rule to the self-training variants and write the table."""
    (incumbent,) = [n for n, v in VARIANTS_2.items() if v == SELF_TRAIN]
    challengers = {n: res[n] for n in {**VARIANTS, **VARIANTS_2} if n != incumbent}
    best, tests = keep_unless_better((incumbent, res[incumbent]), challengers)
    lines = [
        "# Few-shot self-training setting: development splits",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/neural_fewshot_dev.py all` (from the repository root).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} shared CPU cores, torch "
        f"{torch.__version__} (1 thread), scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}; CPU only. Load average at the end "
        f"{os.getloadavg()[0]:.1f}. Wall time {wall:.0f} s.",
        "",
        "EmoDB -> RAVDESS, k = 10 per class. Per seed of neural_transfer.py's "
        "actor split, 2 draws among the 12 pool actors only: 6 actors give the "
        "shots (their other rows are the unlabelled target rows) and 6 others "
        "are scored; the test actors' rows are never read. UAR %; columns: "
        "seed/draw.",
        "",
        "| arm | " + " | ".join(f"{s}/{d}" for s in SEEDS for d in (0, 1)) + " | "
        "**mean** |",
        "|---|" + "---|" * (2 * len(SEEDS) + 1),
    ]
    for name, v in res.items():
        cells = " | ".join(f"{x:.1f}" for x in v)
        lines.append(f"| {name} | {cells} | **{np.mean(v):.1f}** |")
    lines += [
        "",
        f"Rule (benchmarks/_selection.py): the setting in use, {incumbent!r} "
        f"({SELF_TRAIN}), stays unless a variant is better on the 10 splits "
        f"by an exact one-sided paired sign-flip test at p < {ALPHA}.",
        "",
        "| challenger | mean difference | p |",
        "|---|---|---|",
        *(f"| {n} | {m:+.2f} | {p:.3f} |" for n, (m, p) in tests.items()),
        "",
        f"Chosen: **{best}** "
        f"({'setting in use kept' if best == incumbent else 'setting replaced'}).",
        "",
    ]
    write_results(OUT, "\n".join(lines))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    parts = parse_parts(__doc__, ("first", "second", "all"), ("first",))
    if len(parts) > 1:
        raise SystemExit("error: give one of first, second, all")
    main(parts[0])
