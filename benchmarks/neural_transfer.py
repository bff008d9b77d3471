"""sertl-neural accuracy targets on EmoDB <-> RAVDESS (4 classes, UAR).

Run from the repository root (the features come from benchmarks/_data.py and
are cached)::

    .venv/bin/python benchmarks/neural_transfer.py            # all parts
    .venv/bin/python benchmarks/neural_transfer.py fewshot    # one part

Parts
-----
fewshot   EmoDB -> RAVDESS, k = 10 labelled target utterances per class from
          12 RAVDESS actors, tested on the 12 other actors; 5 seeds.
          source-only vs target-only vs fine-tuning (same MLP).
multitask emotion + gender vs emotion alone, EmoDB <-> RAVDESS, 5 seeds.
adapt     DANN and AutoencoderAdapter (+SVC) vs source-only, EmoDB <-> RAVDESS.

Every method sees the same features: the speech plugin's functional set,
standardised per domain (DomainStandardScaler fitted on source rows and all
target rows, unlabelled). Hyper-parameters are fixed below and were not
tuned on the test speakers. Torch runs with one thread (the machine is a
shared 2-core box). Results: benchmarks/results/neural_<part>.md.
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
from sklearn.metrics import balanced_accuracy_score
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import load_features  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402
from sertl_neural import (  # noqa: E402
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

from sertl_core import DomainStandardScaler  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
MT_SEEDS = tuple(range(10))  # single- vs multi-task differ by less than the seed noise
K = 10
NET = {
    "hidden_layer_sizes": (256, 128),
    "dropout": 0.3,
    "lr": 1e-3,
    "weight_decay": 1e-3,
    "batch_size": 32,
    "class_weight": "balanced",
    "device": "cpu",
}
PRETRAIN = {"max_epochs": 60, "early_stopping": True, "n_iter_no_change": 10}
OUT = (
    Path(__file__).resolve().parent / "results" / "neural_transfer.md"
)  # parts: neural_<part>.md


def uar(y, p):
    return 100.0 * balanced_accuracy_score(y, p)


def load(name):
    X, y, spk, g = load_features(name)
    return X.astype(np.float64), y, spk, g


def scaled(Xs, Xt):
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    Z = DomainStandardScaler().fit_transform(X, sample_domain=sd)
    return Z[: len(Xs)], Z[len(Xs) :]


def stack(Zs, ys, Zt, yt_train):
    X = np.vstack([Zs, Zt])
    y = np.r_[ys, yt_train]
    sd = np.r_[np.ones(len(Zs), int), -np.ones(len(Zt), int)]
    return X, y, sd


# Few-shot network: chosen on development splits that never touch the test
# actors (drawn among the pool actors of _fewshot_split): a narrower,
# strongly regularised MLP. AdamW's decoupled weight decay of 1.0 at lr 1e-3
# shrinks the weights by 0.1 % per step.
FS_NET = {**NET, "hidden_layer_sizes": (128,), "dropout": 0.5, "weight_decay": 1.0}
FS_EPOCHS = 60
# target-only with as many optimiser steps as the rehearsal arm (40 rows in
# batches of 8 vs 379 rows in batches of 32): a budget check for fairness
FS_EPOCHS_LONG = 150
SOURCE_WEIGHT = 1 / 3  # rehearsal: the k target rows weigh 3x the source rows
# semi-supervised fine-tuning: self-training on the unlabelled rows of the
# pool actors (never the test actors); chosen on the development splits of
# benchmarks/neural_fewshot_dev.py among thresholds 0.7/0.9, weights 1/3,
# 2 or 4 rounds, from the pretrained model or a random start
SELF_TRAIN = {
    "pseudo_label_threshold": 0.9,
    "unlabeled_weight": 3.0,
    "self_training_rounds": 4,
}
ST_ARM = "fine-tuned MLP + source rehearsal + self-training (unlabelled pool rows)"


FEWSHOT_NOTES = [
    "### How the setting was chosen (development splits, no test actor)",
    "",
    "For each seed, only the 12 pool actors were used: 2 draws per seed of 6 actors "
    "giving the 10 shots per class and 6 other pool actors for evaluation (10 "
    "development splits; the test actors' labels were never read). Mean development "
    "UAR %, plain PyTorch re-implementation of the arms unless marked:",
    "",
    "| variant | source-only | target-only | transfer arm(s) |",
    "|---|---|---|---|",
    "| (256, 128), dropout 0.3, wd 1e-3 (previous setting) | 49.7 | 52.5 | "
    "fine-tune 53.0; lr 1e-4 51.7; head only 47.2; L2-SP 0.01/0.1 52.3/51.5; "
    "joint (target x1) 53.1; source -> joint 53.6 |",
    "| (128,), dropout 0.5, wd 1.0 | 49.1 | 51.5 | joint (target x3) 55.8; "
    "source -> joint (x3) 53.3 |",
    "| (128, 64) / (256,) / (128,) wd 3 / (128,) + mixup | 49.6 / 50.3 / 49.3 / 47.6 | "
    "51.8 / 51.7 / 51.6 / 51.1 | joint (x3) 54.8 / 54.2 / 53.7 / 54.0 |",
    "| **(128,), dropout 0.5, wd 1.0, FineTuneClassifier (product)** | 49.2 | 51.7 | "
    "joint 54.1; **source -> joint (rehearsal 1/3) 54.1** |",
    "| per-speaker standardisation, (256, 128) | 52.9 | 58.9 | fine-tune 59.6; "
    "joint + fine-tune 60.3 |",
    "| logistic regression C = 0.01 (reference) | 51.9 | 52.3 | joint 56.4 |",
    "",
    "The table above was measured before the per-domain scaler was restricted to "
    "the source and pool actors (it then also saw the test actors' rows, "
    "unlabelled); the test table in this file uses the restricted scaler.",
    "",
    "#### Semi-supervised fine-tuning (self-training, `pseudo_label_threshold`)",
    "",
    "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_fewshot_dev.py all` "
    "(table and rule in `benchmarks/results/neural_fewshot_dev.md`): 10 "
    "development splits of the same scheme (2 draws of 6 shot / 6 evaluation "
    "actors among the 12 pool actors per seed); the scaler is fitted on the source "
    "and the pool actors only; the unlabelled rows of the transfer arm are the "
    "shot actors' other rows (never the evaluation actors'). All arms: the network "
    "above, rehearsal 1/3, 60 epochs per round. Mean development UAR % (features "
    "version 5): source-only 53.5, target-only 55.4, fine-tuned + rehearsal 58.0; "
    "+ self-training (threshold / unlabelled weight / rounds) 0.7/1/2 57.4, "
    "0.9/1/2 56.9, 0.7/3/2 58.3, 0.9/3/2 57.8, **0.9/3/4 56.9** (the setting in "
    "use, chosen by the best mean on earlier features and kept by the paired rule "
    "of benchmarks/_selection.py: no variant is better at p < 0.05), joint from a "
    "random start + 0.9/3/2 57.2. Self-training adds nothing over rehearsal: -1.1 "
    "on the development splits (0.9/3/4 56.9 vs 58.0; the best variant, 0.7/3/2, "
    "+0.3) and {d_st:+.1f} on the test actors ({st:.1f} vs {ft:.1f}, above); on "
    "target-only (no source) {d_st_to:+.1f} on the test actors ({st_to:.1f} vs "
    "{to:.1f}, above): the confident "
    "pseudo-labels of a 40-utterance model are too often wrong, and a wrong "
    "confident label is reinforced by later rounds.",
    "",
    "### Why the +5 target is not met",
    "",
    "The source is small (EmoDB: 339 utterances of 10 speakers in these 4 classes) "
    "and, even after per-domain standardisation, about 10 UAR points below "
    "target-only training on just 40 RAVDESS utterances from 12 actors. The "
    "source then adds little that 40 in-domain utterances do not already give: "
    "every variant above (freezing, lower fine-tuning learning rate, L2-SP "
    "towards the pretrained weights, mixup, strong weight decay, joint training "
    "with up-weighted target rows, rehearsal, per-speaker standardisation, a "
    "linear model, and self-training on the pool actors' unlabelled rows) lands "
    "0-4 points above the better baseline on the development splits and -1.2 to "
    "+0.9 on the test actors (rehearsal -0.5, self-training -1.2, joint training "
    "+0.9), whose shots come from twice as many actors (which "
    "helps target-only most). A larger source of the same kind does not help "
    "either: pooling EmoDB, URDU and TurEV-DB (2,066 utterances of 3 languages, "
    "each its own per-domain standardised source domain) gives -0.1 on the "
    "development splits and +0.2 on the test actors "
    "(`benchmarks/neural_fewshot_pooled.py`, "
    "`benchmarks/results/neural_fewshot_pooled.md`). What these acted corpora "
    "share with RAVDESS is already in 40 RAVDESS utterances; a +5 gain would "
    "need a source closer to the target (English, the same recording style) or "
    "a representation learnt from far more speech than these corpora hold.",
    "",
]


def _fewshot_split(spk_t, yt, seed):
    """Pool actors (shots drawn there) and test actors, as in the table."""
    rng = np.random.default_rng(seed)
    actors = np.unique(spk_t)
    pool = rng.permutation(actors)[: len(actors) // 2]
    in_pool = np.isin(spk_t, pool)
    shots = np.concatenate(
        [
            rng.choice(np.flatnonzero(in_pool & (yt == c)), K, replace=False)
            for c in np.unique(yt)
        ]
    )
    return shots, ~in_pool


def few_shot(lines):
    Xs, ys, _, _ = load("emodb")
    Xt, yt, spk_t, _ = load("ravdess")
    rows = {
        "source-only MLP": [],
        "target-only MLP": [],
        f"target-only MLP, {FS_EPOCHS_LONG} epochs": [],
        "fine-tuned MLP (target rows only)": [],
        "**fine-tuned MLP + source rehearsal**": [],
        "joint source + target MLP (no pretraining)": [],
        ST_ARM: [],
        "target-only MLP + self-training (unlabelled pool rows)": [],
        "source-only SVC": [],
        "target-only SVC": [],
    }
    t0 = time.perf_counter()
    for seed in SEEDS:
        shots, test = _fewshot_split(spk_t, yt, seed)
        # per-domain standardisation fitted on the source and the pool
        # actors' rows only (the test actors' rows are used for evaluation only)
        pool = ~test
        scaler = DomainStandardScaler().fit(
            np.vstack([Xs, Xt[pool]]),
            sample_domain=np.r_[np.ones(len(Xs), int), -np.ones(int(pool.sum()), int)],
        )
        Zs = scaler.transform(Xs, sample_domain=np.ones(len(Xs), int))
        Zt = scaler.transform(Xt, sample_domain=-np.ones(len(Xt), int))
        y_train = np.full(len(yt), "-1", dtype=object)
        y_train[shots] = yt[shots]
        # training rows: source + pool actors (k labelled, the rest unlabelled)
        X, y, sd = stack(Zs, ys, Zt[pool], y_train[pool].astype(str))
        # every arm: the same network, preprocessing and fine-tuning epochs
        src = FineTuneClassifier(
            **FS_NET, **PRETRAIN, finetune_epochs=0, random_state=seed
        ).fit(X, y, sample_domain=sd)
        ft_kw = {"max_epochs": 0, "finetune_epochs": FS_EPOCHS, "random_state": seed}
        ft = FineTuneClassifier(
            **{**FS_NET, "batch_size": 8}, init_from=src, **ft_kw
        ).fit(X, y, sample_domain=sd)
        ft_reh = FineTuneClassifier(
            **FS_NET, init_from=src, finetune_source_weight=SOURCE_WEIGHT, **ft_kw
        ).fit(X, y, sample_domain=sd)
        joint = FineTuneClassifier(
            **FS_NET, finetune_source_weight=SOURCE_WEIGHT, **ft_kw
        ).fit(X, y, sample_domain=sd)
        tgt_only = FineTuneClassifier(**{**FS_NET, "batch_size": 8}, **ft_kw).fit(
            X, y, sample_domain=sd
        )
        tgt_long = FineTuneClassifier(
            **{**FS_NET, "batch_size": 8},
            **{**ft_kw, "finetune_epochs": FS_EPOCHS_LONG},
        ).fit(X, y, sample_domain=sd)
        ft_st = FineTuneClassifier(
            **FS_NET,
            init_from=src,
            finetune_source_weight=SOURCE_WEIGHT,
            **SELF_TRAIN,
            **ft_kw,
        ).fit(X, y, sample_domain=sd)
        # target-only + self-training: random start, no source term
        # (max_epochs=0, finetune_source_weight=0: the source rows are unused)
        tgt_st = FineTuneClassifier(
            **{**FS_NET, "batch_size": 8}, **SELF_TRAIN, **ft_kw
        ).fit(X, y, sample_domain=sd)
        svc_s = SVC(C=1.0, class_weight="balanced").fit(Zs, ys)
        svc_t = SVC(C=1.0, class_weight="balanced").fit(Zt[shots], yt[shots])
        Zte, yte = Zt[test], yt[test]
        for name, model in zip(
            rows,
            (src, tgt_only, tgt_long, ft, ft_reh, joint, ft_st, tgt_st, svc_s, svc_t),
            strict=True,
        ):
            rows[name].append(uar(yte, model.predict(Zte)))
        print(seed, {k: round(v[-1], 1) for k, v in rows.items()}, flush=True)
    lines += [
        "## Few-shot EmoDB -> RAVDESS (k = 10 per class, 4 classes)",
        "",
        f"Target: {K} labelled utterances per class drawn from 12 RAVDESS actors; "
        "UAR on the other 12 actors (disjoint speakers); seeds "
        f"{list(SEEDS)} (each seed draws the actor split and the shots). "
        f"Wall time {time.perf_counter() - t0:.0f} s.",
        "",
        "| method | " + " | ".join(f"seed {s}" for s in SEEDS) + " | mean UAR % |",
        "|---|" + "---|" * (len(SEEDS) + 1),
    ]
    for name, v in rows.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{x:.1f}" for x in v)
            + f" | **{np.mean(v):.1f}** |"
        )
    ft = np.mean(rows["**fine-tuned MLP + source rehearsal**"])
    best_base = max(
        np.mean(rows[k])
        for k in (
            "source-only MLP",
            "target-only MLP",
            f"target-only MLP, {FS_EPOCHS_LONG} epochs",
        )
    )
    margin = ft - best_base
    margin_st = np.mean(rows[ST_ARM]) - best_base
    figures = {
        "st": np.mean(rows[ST_ARM]),
        "ft": ft,
        "st_to": np.mean(
            rows["target-only MLP + self-training (unlabelled pool rows)"]
        ),
        "to": np.mean(rows["target-only MLP"]),
    }
    figures["d_st"] = figures["st"] - figures["ft"]
    figures["d_st_to"] = figures["st_to"] - figures["to"]
    lines += [
        "",
        "Fine-tuning (with source rehearsal, the setting chosen on the development "
        "splits) minus the best of source-only and the two target-only arms (same "
        "MLP): "
        f"**{margin:+.1f} UAR points** "
        f"(target >= +5.0: {'met' if margin >= 5 else 'NOT met'}). "
        "Semi-supervised fine-tuning (the same arm plus self-training on the pool "
        f"actors' unlabelled rows, {SELF_TRAIN}) minus the same baselines: "
        f"**{margin_st:+.1f} UAR points** "
        f"(target >= +5.0: {'met' if margin_st >= 5 else 'NOT met'}).",
        "",
        f"Network of every MLP arm: `FineTuneClassifier(hidden_layer_sizes=(128,), "
        f"dropout=0.5, weight_decay=1.0, class_weight='balanced', lr=1e-3)`. "
        "Source-only: pretraining only (early stopping on 10 % of the source rows). "
        f"Target-only: random start, {FS_EPOCHS} epochs on the k target rows "
        "(batch 8). Fine-tuned: `init_from=<the source-only model>`, "
        f"{FS_EPOCHS} epochs on the k rows (batch 8); + source rehearsal: the same "
        f"start and epochs with `finetune_source_weight=1/3` (the source rows stay in "
        "the loss with a third of the target rows' weight, each domain class-balanced; "
        "batch 32). Joint: the rehearsal loss from a random start (`max_epochs=0`). "
        "Self-training arms: the same arms plus `pseudo_label_threshold=0.9, "
        "unlabeled_weight=3, self_training_rounds=4` (chosen on the development "
        "splits below; the test split was run once with it), their unlabelled rows "
        "being the 12 pool actors' non-shot rows, never the test actors'. "
        "Target-only + self-training is reported for transparency only: the "
        "issue's target-only baseline uses the k labelled utterances alone.",
        "",
        # the test-actor figures of the fixed notes come from this run's table
        *[n.format(**figures) if "{d_st" in n else n for n in FEWSHOT_NOTES],
    ]


PAIRS = (("emodb", "ravdess"), ("ravdess", "emodb"))

# Settings chosen by benchmarks/neural_dev.py on the development pairs (every
# ordered pair of the four corpora except EmoDB <-> RAVDESS); see
# benchmarks/results/neural_dev_multitask.md and neural_dev_adapt.md.
MT_SETTING: dict = {"task_layers": {"gender": 1}}
MT_SETTING_NAME = (
    "gender head on the first trunk block (Sogaard & Goldberg 2016), weight 1.0"
)
AE_SETTING: dict = {"output": "reconstruction"}
AE_SETTING_NAME = "reconstruction of all rows through the target decoder (shared AE)"
AE_BASE = {
    "hidden_layer_sizes": (256,),
    "n_components": 128,
    "noise": 0.3,
    "max_epochs": 40,
    "weight_decay": 1e-4,
    "device": "cpu",
}


def _pair_data(src_name, tgt_name):
    Xs, ys, _, gs = load(src_name)
    Xt, yt, _, gt = load(tgt_name)
    Zs, Zt = scaled(Xs, Xt)
    X, y, sd = stack(Zs, ys, Zt, np.full(len(yt), "-1"))
    return X, y, sd, Zs, ys, Zt, yt, np.r_[gs, gt]


def multitask(lines, cache):
    rows = []
    t0 = time.perf_counter()
    for src_name, tgt_name in PAIRS:
        X, y, sd, Zs, ys, Zt, yt, gender = _pair_data(src_name, tgt_name)
        single, multi = [], []
        for seed in MT_SEEDS:
            kw = {**NET, **PRETRAIN, "random_state": seed}
            st = MultiTaskClassifier(**kw).fit(X, y, sample_domain=sd)
            mt = MultiTaskClassifier(**kw, **MT_SETTING).fit(
                X, y, sample_domain=sd, aux={"gender": gender}
            )
            single.append(uar(yt, st.predict(Zt)))
            multi.append(uar(yt, mt.predict(Zt)))
            cache[(src_name, tgt_name, seed)] = single[-1]
            print(
                src_name,
                tgt_name,
                seed,
                round(single[-1], 1),
                round(multi[-1], 1),
                flush=True,
            )
        rows.append((f"{src_name} -> {tgt_name}", single, multi))
    lines += [
        "## Multi-task (emotion + gender) vs single-task",
        "",
        "Same MLP and training; the multi-task model has a gender head trained on the "
        "gender of all source and target rows (target emotions unlabelled). "
        f"Multi-task setting: {MT_SETTING_NAME} "
        f"(`MultiTaskClassifier(**{MT_SETTING})`), "
        "chosen by benchmarks/neural_dev.py on the 10 development pairs (every "
        "ordered pair of EmoDB, RAVDESS, URDU and TurEV-DB except EmoDB <-> RAVDESS; "
        "table in benchmarks/results/neural_dev_multitask.md), never on these pairs. "
        f"Seeds {list(MT_SEEDS)}. Wall time {time.perf_counter() - t0:.0f} s.",
        "",
        "| pair | single-task UAR % | multi-task UAR % | difference |",
        "|---|---|---|---|",
    ]
    diffs = []
    for name, s, m in rows:
        diffs.append(np.mean(m) - np.mean(s))
        lines.append(
            f"| {name} | {np.mean(s):.1f} ± {np.std(s):.1f} | {np.mean(m):.1f} ± "
            f"{np.std(m):.1f} | {diffs[-1]:+.1f} |"
        )
    ok = np.mean(diffs) >= 0
    # seed-level paired differences (same seed, same pair): their spread says
    # how far the mean difference is from noise
    paired = np.concatenate([np.subtract(m, s) for _, s, m in rows])
    half = 1.96 * paired.std(ddof=1) / np.sqrt(paired.size)
    lines += [
        "",
        f"Mean difference {np.mean(diffs):+.1f} points (target >= 0: "
        f"{'met' if ok else 'NOT met'}). Over the {paired.size} paired runs (same "
        f"pair and seed) the difference is {paired.mean():+.2f} +- {half:.2f} "
        "points (normal 95 % interval of the mean); "
        f"{int((paired > 0).sum())} runs favour multi-task, "
        f"{int((paired < 0).sum())} single-task.",
        "",
    ]


def adapt(lines, cache):
    rows = []
    t0 = time.perf_counter()
    for src_name, tgt_name in PAIRS:
        X, y, sd, Zs, ys, Zt, yt, _ = _pair_data(src_name, tgt_name)
        res = {
            "source-only MLP": [],
            "DANN": [],
            "source-only SVC": [],
            "autoencoder + SVC": [],
        }
        for seed in SEEDS:
            key = (src_name, tgt_name, seed)
            if key not in cache:
                so = MultiTaskClassifier(**NET, **PRETRAIN, random_state=seed)
                cache[key] = uar(yt, so.fit(X, y, sample_domain=sd).predict(Zt))
            res["source-only MLP"].append(cache[key])
            dann = DANNClassifier(
                **NET, **PRETRAIN, adaptation_weight=0.3, random_state=seed
            )
            res["DANN"].append(uar(yt, dann.fit(X, y, sample_domain=sd).predict(Zt)))
            res["source-only SVC"].append(
                uar(yt, SVC(class_weight="balanced").fit(Zs, ys).predict(Zt))
            )
            ae = AutoencoderAdapter(**AE_BASE, **AE_SETTING, random_state=seed)
            A = ae.fit_transform(X, sample_domain=sd)
            svc = SVC(class_weight="balanced").fit(A[sd > 0], ys)
            res["autoencoder + SVC"].append(uar(yt, svc.predict(A[sd < 0])))
            print(
                src_name,
                tgt_name,
                seed,
                {k: round(v[-1], 1) for k, v in res.items()},
                flush=True,
            )
        rows.append((f"{src_name} -> {tgt_name}", res))
    lines += [
        "## DANN and autoencoder adapter vs source-only (after per-domain standardisation)",
        "",
        "Unlabelled target. DANN: `DANNClassifier(adaptation_weight=0.3)` with the same MLP "
        "and training as the source-only MLP (`MultiTaskClassifier` without auxiliary tasks). "
        f"Autoencoder: `AutoencoderAdapter(**{AE_BASE}, **{AE_SETTING})` "
        f"({AE_SETTING_NAME}), then `SVC(class_weight='balanced')` "
        "on the transformed source rows, against the same SVC on the standardised "
        "features. The autoencoder setting was chosen by benchmarks/neural_dev.py on "
        "the 10 development pairs (every ordered pair of EmoDB, RAVDESS, URDU and "
        "TurEV-DB except EmoDB <-> RAVDESS; table in "
        "benchmarks/results/neural_dev_adapt.md), never on these pairs. "
        f"Seeds {list(SEEDS)}; wall time "
        f"{time.perf_counter() - t0:.0f} s.",
        "",
        "| pair | source-only MLP | DANN | source-only SVC | autoencoder + SVC |",
        "|---|---|---|---|---|",
    ]
    means = {k: [] for k in rows[0][1]}
    for name, res in rows:
        cells = []
        for k, v in res.items():
            means[k].append(np.mean(v))
            cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{np.mean(v):.1f}**" for v in means.values())
        + " |"
    )
    d_dann = np.mean(means["DANN"]) - np.mean(means["source-only MLP"])
    d_ae = np.mean(means["autoencoder + SVC"]) - np.mean(means["source-only SVC"])
    lines += [
        "",
        f"DANN minus source-only MLP: {d_dann:+.1f} points "
        f"({'met' if d_dann >= 0 else 'NOT met'}); autoencoder + SVC minus SVC: "
        f"{d_ae:+.1f} points ({'met' if d_ae >= 0 else 'NOT met'}).",
        "",
    ]


def main(parts):
    torch.set_num_threads(1)
    lines = [
        "# sertl-neural: transfer accuracy on EmoDB <-> RAVDESS",
        "",
        f"Command: `.venv/bin/python benchmarks/neural_transfer.py {' '.join(parts)}`".rstrip()
        + " (from the repository root).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} shared CPU cores, torch {torch.__version__} "
        f"(1 thread), skorch {__import__('skorch').__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}. Every arm "
        "runs on the CPU (GPU timings: neural_speed_gpu.md). Load average at the "
        "start "
        f"{os.getloadavg()[0]:.1f} (the machine is shared by several engineers): "
        "wall times are upper bounds.",
        "",
        "Features: sertl-speech functionals (316 per utterance) through "
        "benchmarks/_data.py; 4 classes (anger, happiness, neutral, sadness); metric "
        "UAR (balanced accuracy) on the target corpus. MLP of the multi-task, "
        "DANN and source-only arms (the few-shot network is given in its section): "
        f"{NET['hidden_layer_sizes']}, dropout {NET['dropout']}, AdamW lr {NET['lr']}, "
        f"weight decay {NET['weight_decay']}, balanced class weights; source training up to "
        f"{PRETRAIN['max_epochs']} epochs with early stopping (10 % of the source rows, "
        f"patience {PRETRAIN['n_iter_no_change']}).",
        "",
    ]
    cache = {}
    for part, func in (
        ("fewshot", few_shot),
        ("multitask", multitask),
        ("adapt", adapt),
    ):
        if part not in parts:
            continue
        body = []
        func(body) if part == "fewshot" else func(body, cache)
        head = [
            ln.replace(
                "neural_transfer.py " + " ".join(parts), "neural_transfer.py " + part
            )
            for ln in lines
        ]
        out = OUT.parent / f"neural_{part}.md"
        out.parent.mkdir(exist_ok=True)
        write_results(out, "\n".join(head + body) + "\n")
        print("\n".join(body), flush=True)


if __name__ == "__main__":
    parts = ("fewshot", "multitask", "adapt")
    main(parse_parts(__doc__, parts, parts))
