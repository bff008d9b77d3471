"""Development selection for the sertl-neural multi-task and autoencoder options.

The test pairs of ``benchmarks/neural_transfer.py`` are EmoDB <-> RAVDESS;
this script never runs them. It compares candidate settings on every other
ordered pair of the shared corpora (URDU and TurEV-DB as source or target;
TurEV-DB pairs use the 3 classes it shares with the others) and decides by
the paired rule of benchmarks/_selection.py: the setting in use (the one
``benchmarks/neural_transfer.py`` runs) stays unless a candidate is better
on the development pairs by an exact one-sided sign-flip test (p < 0.05).
Results written before 2026-11-27 (afternoon) used the earlier rule, the
best mean over the pairs. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_dev.py multitask
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_dev.py adapt

Results: benchmarks/results/neural_dev_<part>.md. Same features, scaling,
network and training as the test benchmark (imported from it).
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
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import load_features  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402
from _selection import ALPHA, keep_unless_better  # noqa: E402
from neural_transfer import (  # noqa: E402
    AE_BASE,
    AE_SETTING,
    MT_SETTING,
    NET,
    PRETRAIN,
    scaled,
    stack,
    uar,
)
from sertl_neural import AutoencoderAdapter, MultiTaskClassifier  # noqa: E402

CORPORA = ("emodb", "ravdess", "urdu", "turev_db")
TEST = {("emodb", "ravdess"), ("ravdess", "emodb")}
FOUR = ("anger", "happiness", "neutral", "sadness")
THREE = ("anger", "happiness", "sadness")  # TurEV-DB has no neutral
DEV_PAIRS = tuple(
    (s, t) for s in CORPORA for t in CORPORA if s != t and (s, t) not in TEST
)
MT_SEEDS = (0, 1, 2, 3, 4)
AE_SEEDS = (0, 1)
OUT = Path(__file__).resolve().parent / "results"

# Multi-task candidates: MultiTaskClassifier keyword arguments (gender task)
MT_CANDIDATES = {
    "gender weight 1.0 (previous default)": {},
    "gender weight 0.3": {"task_weights": {"gender": 0.3}},
    "uncertainty weighting (Kendall et al. 2018)": {"task_weighting": "uncertainty"},
    "gradient-similarity gating (Du et al. 2018)": {
        "task_weighting": "gradient_similarity"
    },
    "gender head on the first trunk block (Sogaard & Goldberg 2016), weight 1.0": {
        "task_layers": {"gender": 1}
    },
    "gender head on the first trunk block, weight 0.3": {
        "task_layers": {"gender": 1},
        "task_weights": {"gender": 0.3},
    },
    "adversarial gender head (gradient reversal), weight 1.0": {
        "adversarial_tasks": ["gender"]
    },
    "adversarial gender head (gradient reversal), weight 0.3": {
        "adversarial_tasks": ["gender"],
        "task_weights": {"gender": 0.3},
    },
}

AE_CANDIDATES = {
    "concat, code weight 1.0 (previous default)": {
        "output": "concat",
        "code_weight": 1.0,
    },
    "concat, code weight 0.25": {"output": "concat", "code_weight": 0.25},
    "reconstruction of all rows (shared AE, target decoder)": {
        "output": "reconstruction",
    },
    "reconstruction of source rows, AE on target (Deng et al. 2013)": {
        "output": "reconstruction",
        "reconstruct": "source",
        "target_weight": 1.0,
    },
    "reconstruction of source rows, shared AE": {
        "output": "reconstruction",
        "reconstruct": "source",
    },
}


def _load(name, emotions):
    X, y, _, g = load_features(name, emotions=emotions)
    g = np.where(np.isin(g, ["female", "male"]), g, "-1").astype(object)
    return X.astype(np.float64), y, g


def pair_data(src, tgt):
    emotions = THREE if "turev_db" in (src, tgt) else FOUR
    Xs, ys, gs = _load(src, emotions)
    Xt, yt, gt = _load(tgt, emotions)
    Zs, Zt = scaled(Xs, Xt)
    X, y, sd = stack(Zs, ys, Zt, np.full(len(yt), "-1"))
    return X, y, sd, Zs, ys, Zt, yt, np.r_[gs, gt]


def _in_use(cands, setting):
    """The candidate whose keyword arguments are the setting in use."""
    (name,) = [n for n, kw in cands.items() if kw == setting]
    return name


def _table(title, baseline, cands, rows, seeds, t0, extra, incumbent):
    """Markdown table of differences to the baseline, and the paired rule's choice.

    ``incumbent`` is the candidate in use; the others challenge it on the
    per-pair mean UAR (benchmarks/_selection.py).
    """
    lines = [
        f"# sertl-neural development selection: {title}",
        "",
        f"Command: `.venv/bin/python benchmarks/neural_dev.py {extra}` (from the "
        "repository root).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} shared CPU cores, torch {torch.__version__} "
        f"(1 thread), scikit-learn {sklearn.__version__}, Python "
        f"{platform.python_version()}; CPU only. Load average at the end "
        f"{os.getloadavg()[0]:.1f}. Wall time {time.perf_counter() - t0:.0f} s.",
        "",
        "Development pairs: every ordered pair of EmoDB, RAVDESS, URDU and TurEV-DB "
        "except EmoDB <-> RAVDESS (the test pairs, never run here); 4 classes, 3 "
        "(anger, happiness, sadness) with TurEV-DB. Features and per-domain "
        "standardisation as in benchmarks/neural_transfer.py. Seeds "
        f"{list(seeds)}. Cells: mean UAR of the candidate minus the {baseline} "
        "(UAR points); last column: mean over the pairs. Rule (benchmarks/"
        f"_selection.py): the setting in use, {incumbent!r}, stays unless a "
        "candidate's per-pair mean UAR is higher by an exact one-sided paired "
        f"sign-flip test at p < {ALPHA}.",
        "",
        "| candidate | "
        + " | ".join(f"{s}->{t}" for s, t in DEV_PAIRS)
        + " | **mean** |",
        "|---|" + "---|" * (len(DEV_PAIRS) + 1),
    ]
    base = rows[baseline]
    lines.append(
        f"| {baseline} (UAR %) | "
        + " | ".join(f"{np.mean(base[p]):.1f}" for p in DEV_PAIRS)
        + f" | {np.mean([np.mean(base[p]) for p in DEV_PAIRS]):.1f} |"
    )
    means = {}
    for name in cands:
        d = [np.mean(rows[name][p]) - np.mean(base[p]) for p in DEV_PAIRS]
        means[name] = float(np.mean(d))
        lines.append(
            f"| {name} | "
            + " | ".join(f"{x:+.1f}" for x in d)
            + f" | **{means[name]:+.2f}** |"
        )
    per_pair = {n: [np.mean(rows[n][p]) for p in DEV_PAIRS] for n in cands}
    challengers = {n: v for n, v in per_pair.items() if n != incumbent}
    best, tests = keep_unless_better((incumbent, per_pair[incumbent]), challengers)
    lines += ["", "| challenger of the setting in use | mean difference | p |"]
    lines += ["|---|---|---|"]
    lines += [f"| {n} | {m:+.2f} | {p:.3f} |" for n, (m, p) in tests.items()]
    kept = "kept" if best == incumbent else "replaced"
    lines += ["", f"Chosen: **{best}** (setting in use {kept}).", ""]
    return lines


def multitask():
    t0 = time.perf_counter()
    base = "single-task MLP"
    rows = {base: {}, **{n: {} for n in MT_CANDIDATES}}
    for pair in DEV_PAIRS:
        X, y, sd, _, _, Zt, yt, gender = pair_data(*pair)
        for name in rows:
            rows[name][pair] = []
        for seed in MT_SEEDS:
            kw = {**NET, **PRETRAIN, "random_state": seed}
            st = MultiTaskClassifier(**kw).fit(X, y, sample_domain=sd)
            rows[base][pair].append(uar(yt, st.predict(Zt)))
            for name, extra in MT_CANDIDATES.items():
                mt = MultiTaskClassifier(**kw, **extra).fit(
                    X, y, sample_domain=sd, aux={"gender": gender}
                )
                rows[name][pair].append(uar(yt, mt.predict(Zt)))
            print(
                pair,
                seed,
                {k: round(v[pair][-1], 1) for k, v in rows.items()},
                flush=True,
            )
    lines = _table(
        "multi-task (emotion + gender) vs single-task",
        base,
        MT_CANDIDATES,
        rows,
        MT_SEEDS,
        t0,
        "multitask",
        _in_use(MT_CANDIDATES, MT_SETTING),
    )
    lines += [
        "Gender labels: all source and target rows of EmoDB, RAVDESS and URDU; "
        "TurEV-DB has none (its rows carry only the emotion or nothing). Network "
        f"and training: {NET}, {PRETRAIN}.",
        "",
    ]
    return lines


def adapt():
    t0 = time.perf_counter()
    base = "source-only SVC"
    rows = {base: {}, **{n: {} for n in AE_CANDIDATES}}
    for pair in DEV_PAIRS:
        X, y, sd, Zs, ys, Zt, yt, _ = pair_data(*pair)
        rows[base][pair] = [
            uar(yt, SVC(class_weight="balanced").fit(Zs, ys).predict(Zt))
        ]
        for name, extra in AE_CANDIDATES.items():
            rows[name][pair] = []
            for seed in AE_SEEDS:
                ae = AutoencoderAdapter(**AE_BASE, **extra, random_state=seed)
                A = ae.fit_transform(X, sample_domain=sd)
                svc = SVC(class_weight="balanced").fit(A[sd > 0], ys)
                rows[name][pair].append(uar(yt, svc.predict(A[sd < 0])))
        print(
            pair, {k: round(np.mean(v[pair]), 1) for k, v in rows.items()}, flush=True
        )
    lines = _table(
        "autoencoder adapter + SVC vs SVC (source-only)",
        base,
        AE_CANDIDATES,
        rows,
        AE_SEEDS,
        t0,
        "adapt",
        _in_use(AE_CANDIDATES, AE_SETTING),
    )
    lines += [
        f"Autoencoder: `AutoencoderAdapter(**{AE_BASE}, **candidate)` fitted on the "
        "standardised source and (unlabelled) target rows, then "
        "`SVC(class_weight='balanced')` on the transformed source rows, evaluated "
        "on the transformed target rows (the SVC is deterministic: one run).",
        "",
    ]
    return lines


def main(parts):
    torch.set_num_threads(1)
    for part in parts:
        lines = {"multitask": multitask, "adapt": adapt}[part]()
        write_results(OUT / f"neural_dev_{part}.md", "\n".join(lines) + "\n")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(parse_parts(__doc__, ("multitask", "adapt"), ("multitask", "adapt")))
