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
from sertl_neural import (  # noqa: E402
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

from sertl_core import DomainStandardScaler  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
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


def few_shot(lines):
    Xs, ys, _, _ = load("emodb")
    Xt, yt, spk_t, _ = load("ravdess")
    Zs, Zt = scaled(Xs, Xt)
    actors = np.unique(spk_t)
    rows = {
        "source-only MLP": [],
        "target-only MLP": [],
        "fine-tuned MLP": [],
        "fine-tuned MLP + source rehearsal": [],
        "source-only SVC": [],
        "target-only SVC": [],
    }
    t0 = time.perf_counter()
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        pool = rng.permutation(actors)[: len(actors) // 2]
        in_pool = np.isin(spk_t, pool)
        shots = np.concatenate(
            [
                rng.choice(np.flatnonzero(in_pool & (yt == c)), K, replace=False)
                for c in np.unique(yt)
            ]
        )
        test = ~in_pool
        y_train = np.full(len(yt), "-1", dtype=object)
        y_train[shots] = yt[shots]
        X, y, sd = stack(Zs, ys, Zt, y_train.astype(str))
        src = FineTuneClassifier(
            **NET, **PRETRAIN, finetune_epochs=0, random_state=seed
        )
        src.fit(X, y, sample_domain=sd)
        ft = FineTuneClassifier(
            **{**NET, "batch_size": 8},
            init_from=src,
            max_epochs=0,
            finetune_epochs=60,
            random_state=seed,
        ).fit(X, y, sample_domain=sd)
        ft_reh = FineTuneClassifier(
            **{**NET, "batch_size": 8},
            init_from=src,
            max_epochs=0,
            finetune_epochs=60,
            finetune_source_weight=1.0,
            random_state=seed,
        ).fit(X, y, sample_domain=sd)
        tgt_only = FineTuneClassifier(
            **{**NET, "batch_size": 8},
            max_epochs=0,
            finetune_epochs=60,
            random_state=seed,
        ).fit(X, y, sample_domain=sd)
        svc_s = SVC(C=1.0, class_weight="balanced").fit(Zs, ys)
        svc_t = SVC(C=1.0, class_weight="balanced").fit(Zt[shots], yt[shots])
        Zte, yte = Zt[test], yt[test]
        rows["source-only MLP"].append(uar(yte, src.predict(Zte)))
        rows["fine-tuned MLP"].append(uar(yte, ft.predict(Zte)))
        rows["fine-tuned MLP + source rehearsal"].append(uar(yte, ft_reh.predict(Zte)))
        rows["target-only MLP"].append(uar(yte, tgt_only.predict(Zte)))
        rows["source-only SVC"].append(uar(yte, svc_s.predict(Zte)))
        rows["target-only SVC"].append(uar(yte, svc_t.predict(Zte)))
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
    ft, so, to = (
        np.mean(rows[k])
        for k in ("fine-tuned MLP", "source-only MLP", "target-only MLP")
    )
    margin = min(ft - so, ft - to)
    lines += [
        "",
        f"Fine-tuning minus the better of source-only and target-only (same MLP): "
        f"**{margin:+.1f} UAR points** (target >= +5.0: {'met' if margin >= 5 else 'NOT met'}).",
        "",
        "Fine-tuning: `FineTuneClassifier(init_from=<the source-only model>, max_epochs=0, "
        "finetune_epochs=60, batch_size=8)`: the same fine-tuning settings as target-only; "
        "target-only: `FineTuneClassifier(max_epochs=0, finetune_epochs=60, batch_size=8)` "
        "(random start, the same k utterances).",
        "",
    ]


PAIRS = (("emodb", "ravdess"), ("ravdess", "emodb"))


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
        for seed in SEEDS:
            kw = {**NET, **PRETRAIN, "random_state": seed}
            st = MultiTaskClassifier(**kw).fit(X, y, sample_domain=sd)
            mt = MultiTaskClassifier(**kw).fit(
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
        f"Seeds {list(SEEDS)}. Wall time {time.perf_counter() - t0:.0f} s.",
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
    lines += [
        "",
        f"Mean difference {np.mean(diffs):+.1f} points (target >= 0: "
        f"{'met' if ok else 'NOT met'}).",
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
            ae = AutoencoderAdapter(
                hidden_layer_sizes=(256,),
                n_components=128,
                noise=0.3,
                max_epochs=40,
                weight_decay=1e-4,
                device="cpu",
                random_state=seed,
            )
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
        "Autoencoder: `AutoencoderAdapter(hidden_layer_sizes=(256,), n_components=128, "
        "noise=0.3, max_epochs=40)` (shared hidden layer, source and target decoders), then "
        "`SVC(class_weight='balanced')` on the source codes, against the same SVC on the "
        f"standardised features. Seeds {list(SEEDS)}; wall time "
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
        f"Machine: {platform.machine()}, 2 shared CPU cores, torch {torch.__version__} "
        f"(1 thread), skorch {__import__('skorch').__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}. No GPU was "
        "available in this session: CPU only.",
        "",
        "Features: sertl-speech functionals (316 per utterance) through "
        "benchmarks/_data.py; 4 classes (anger, happiness, neutral, sadness); metric "
        "UAR (balanced accuracy) on the target corpus. MLP everywhere: "
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
        out.write_text("\n".join(head + body) + "\n")
        print("\n".join(body), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["fewshot", "multitask", "adapt"])
