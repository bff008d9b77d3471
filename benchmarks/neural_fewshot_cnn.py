"""Few-shot EmoDB -> RAVDESS with the log-mel CNN (issue #6, second network family).

The functionals MLP of ``benchmarks/neural_transfer.py fewshot`` gains
nothing from an EmoDB pretraining over 40 labelled RAVDESS utterances: the
hand-made functionals already carry what EmoDB could teach. A network that
learns its own features from log-mel frames is the case where the issue's
mechanism (pretrain on a source, fine-tune on k target utterances) is
expected to matter. This script measures it with the same protocol:

* the same actor split and shots as the MLP table (``_fewshot_split``: per
  seed 12 pool actors give k = 10 utterances per class, the other 12 actors
  are the test speakers);
* arms: source-only (pretrained on EmoDB's labelled rows), target-only (a
  random start trained on the k rows alone), fine-tuned (the source model's
  weights, trained on the k rows) in two pre-declared variants; every arm
  the same network, input standardisation per corpus and per mel band
  (``standardize="domain"``) and fine-tuning epochs;
* the variant is chosen on development splits that never read a test
  actor (per seed, 2 draws of 6 pool actors giving the shots and 6 other
  pool actors for evaluation), then the test actors are scored once.

The pretrained model of a seed is fitted on EmoDB's labelled rows plus the
seed's pool actors' rows, unlabelled (they only set the target domain's
standardisation statistics); development and test arms of the seed start
from it. Log-mel sequences are cut or NaN-padded to 300 frames (3 s).

Run from the repository root (about 30-40 minutes on 2 CPU cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_fewshot_cnn.py --n-jobs 2

Results: benchmarks/results/neural_fewshot_cnn.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sertl_neural import FineTuneClassifier
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import load_features  # noqa: E402
from _report import write_results  # noqa: E402
from neural_transfer import SEEDS, K, _fewshot_split  # noqa: E402

FRAMES = 300
RESULTS = Path(__file__).resolve().parent / "results" / "neural_fewshot_cnn.md"
# The CNN of benchmarks/neural_speed.py and neural_padding.py, fixed before
# this run; the input is standardised per corpus and mel band inside the
# estimator.
CNN = {
    "network": "cnn",
    "conv_channels": (16, 32),
    "hidden_layer_sizes": (64,),
    "class_weight": "balanced",
    "standardize": "domain",
    "device": "cpu",
}
PRETRAIN = {
    "max_epochs": 40,
    "early_stopping": True,
    "n_iter_no_change": 8,
    "finetune_epochs": 0,
}
FT_EPOCHS = 60
# Pre-declared fine-tuning variants (chosen between on the development
# splits): every layer trained, or the convolutions kept as pretrained and
# the dense block and head trained.
VARIANTS = {
    "fine-tuned, all layers": {"freeze": "none"},
    "fine-tuned, convolutions frozen": {"freeze": 1},
}


def uar(y, p):
    return 100.0 * balanced_accuracy_score(y, p)


def arrays():
    from sertl_speech import pad_sequences

    out = {}
    for corpus in ("emodb", "ravdess"):
        seqs, y, spk, _ = load_features(corpus, feature_set="logmel")
        X, _ = pad_sequences(list(seqs), max_frames=FRAMES, value=np.nan)
        out[corpus] = (X.astype(np.float32), y, spk)
    return out


def _fit(X, y, sd, **params):
    return FineTuneClassifier(**CNN, **params).fit(X, y, sample_domain=sd)


def _stack(Xs, ys, Xt, yt_train):
    X = np.concatenate([Xs, Xt])
    y = np.r_[ys, yt_train].astype(str)
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    return X, y, sd


def _arms(src, Xs, ys, Xt, yt_train, seed):
    """Target-only and the fine-tuned variants on the given target rows."""
    X, y, sd = _stack(Xs, ys, Xt, yt_train)
    kw = {"max_epochs": 0, "finetune_epochs": FT_EPOCHS, "batch_size": 8}
    models = {"target-only": _fit(X, y, sd, random_state=seed, **kw)}
    for name, v in VARIANTS.items():
        models[name] = _fit(X, y, sd, init_from=src, random_state=seed, **kw, **v)
    return models


def run_seed(data, seed):
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    Xs, ys, _ = data["emodb"]
    Xt, yt, spk = data["ravdess"]
    shots, test = _fewshot_split(spk, yt, seed)
    pool_rows = np.flatnonzero(~test)
    none = np.full(len(pool_rows), "-1", dtype=object)
    X, y, sd = _stack(Xs, ys, Xt[pool_rows], none)
    src = _fit(X, y, sd, random_state=seed, **PRETRAIN)
    dev = []
    pool = np.unique(spk[pool_rows])
    for d in (0, 1):
        rng = np.random.default_rng(1000 * seed + d)
        perm = rng.permutation(pool)
        shot_act, eval_act = perm[:6], perm[6:]
        yp, sp = yt[pool_rows], spk[pool_rows]
        in_shot = np.isin(sp, shot_act)
        dshots = np.concatenate(
            [
                rng.choice(np.flatnonzero(in_shot & (yp == c)), K, replace=False)
                for c in np.unique(yp)
            ]
        )
        y_tr = np.full(len(yp), "-1", dtype=object)
        y_tr[dshots] = yp[dshots]
        keep = pool_rows[in_shot]  # the shot actors' rows (others unlabelled)
        models = _arms(src, Xs, ys, Xt[keep], y_tr[in_shot], seed)
        ev = pool_rows[np.isin(sp, eval_act)]
        row = {"source-only": uar(yt[ev], src.predict(Xt[ev]))}
        row.update({k: uar(yt[ev], m.predict(Xt[ev])) for k, m in models.items()})
        dev.append(row)
    y_tr = np.full(len(yt), "-1", dtype=object)
    y_tr[shots] = yt[shots]
    models = _arms(src, Xs, ys, Xt[pool_rows], y_tr[pool_rows], seed)
    te = np.flatnonzero(test)
    result = {"source-only": uar(yt[te], src.predict(Xt[te]))}
    result.update({k: uar(yt[te], m.predict(Xt[te])) for k, m in models.items()})
    hist = src.history_
    epochs = len(hist["pretrain"] if isinstance(hist, dict) else hist)
    print(
        seed,
        {k: round(v, 1) for k, v in result.items()},
        f"{time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return dev, result, epochs, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    data = arrays()
    out = Parallel(n_jobs=args.n_jobs)(delayed(run_seed)(data, s) for s in SEEDS)
    arms = ["source-only", "target-only", *VARIANTS]
    dev = {a: [r[a] for o in out for r in o[0]] for a in arms}
    test = {a: [o[1][a] for o in out] for a in arms}
    chosen = max(VARIANTS, key=lambda v: np.mean(dev[v]))
    lines = [
        "# Few-shot EmoDB -> RAVDESS with the log-mel CNN",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_fewshot_cnn.py"
        f" --n-jobs {args.n_jobs}` (from the repository root).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {args.n_jobs} "
        f"worker(s) of 1 torch thread; torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}. Wall time "
        f"{time.perf_counter() - t0:.0f} s.",
        "",
        "Network of every arm: `FineTuneClassifier(network='cnn', "
        "conv_channels=(16, 32), hidden_layer_sizes=(64,), class_weight='balanced', "
        "standardize='domain')` on log-mel sequences (64 bands, cut or NaN-padded "
        f"to {FRAMES} frames). Source-only: pretrained on EmoDB's 339 utterances "
        f"(up to {PRETRAIN['max_epochs']} epochs, early stopping on 10 % of them, "
        f"patience {PRETRAIN['n_iter_no_change']}; epochs run per seed: "
        f"{[o[2] for o in out]}). Target-only: random start, {FT_EPOCHS} epochs on "
        "the k labelled rows (batch 8). Fine-tuned: `init_from=<the source-only "
        f"model>`, the same {FT_EPOCHS} epochs on the k rows; variants "
        f"{VARIANTS}. k = {K} per class, 4 classes (anger, happiness, neutral, "
        "sadness), the same actor split and shots as benchmarks/results/"
        "neural_fewshot.md; UAR (%) on the test actors.",
        "",
        "## Development splits (pool actors only; 2 draws per seed)",
        "",
        "| arm | mean UAR % | per split |",
        "|---|---|---|",
    ]
    for a in arms:
        cells = ", ".join(f"{x:.1f}" for x in dev[a])
        lines.append(f"| {a} | **{np.mean(dev[a]):.1f}** | {cells} |")
    lines += ["", f"Chosen variant (best development mean): **{chosen}**.", ""]
    lines += [
        "## Test actors (shots from the 12 pool actors, UAR on the other 12)",
        "",
        "| arm | mean UAR % | " + " | ".join(f"seed {s}" for s in SEEDS) + " |",
        "|---|---|" + "---|" * len(SEEDS),
    ]
    for a in arms:
        cells = " | ".join(f"{x:.1f}" for x in test[a])
        lines.append(f"| {a} | **{np.mean(test[a]):.1f}** | {cells} |")
    best = max(np.mean(test["source-only"]), np.mean(test["target-only"]))
    margin = np.mean(test[chosen]) - best
    dev_best = max(np.mean(dev["source-only"]), np.mean(dev["target-only"]))
    lines += [
        "",
        f"Chosen fine-tuning ({chosen}) minus the better of source-only and "
        f"target-only: **{margin:+.1f} UAR points** on the test actors "
        f"(target >= +5.0: {'met' if margin >= 5 else 'NOT met'}); "
        f"{np.mean(dev[chosen]) - dev_best:+.1f} on the development splits.",
        "",
    ]
    write_results(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
