"""Development-split selection of the few-shot self-training setting.

Only the 12 pool actors of each seed's split (benchmarks/neural_transfer.py
``_fewshot_split``) are read: per seed, 2 draws of 6 actors giving the k = 10
shots per class (their other rows are the unlabelled target rows) and 6 other
pool actors for evaluation. The test actors' rows are never used (the
scaler here is fitted on source + pool rows only)::

    .venv/bin/python benchmarks/neural_fewshot_dev.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from neural_transfer import (  # noqa: E402
    FS_EPOCHS,
    FS_NET,
    PRETRAIN,
    SEEDS,
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


def main(second=False):
    variants = VARIANTS_2 if second else VARIANTS
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


if __name__ == "__main__":
    main(second="second" in sys.argv[1:])
