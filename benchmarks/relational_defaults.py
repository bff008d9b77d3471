"""Clean selection of the sertl-relational defaults (no test data in selection).

Part ``label`` (LabelRelationTransfer)
    Development task that does not involve TurEV-DB (the test corpus of
    ``relational_label_space.py``): source EmoDB (7 classes) -> target
    RAVDESS with anger, calm, happiness, sadness (calm unseen in EmoDB).
    Same protocol as the test benchmark: per seed, 2 target speakers give
    k=5 labelled utterances per class, the other speakers are the test set;
    5 seeds; per-domain standardised features; UAR. A grid over
    ``prior_strength`` x ``bandwidth`` x ``source_weight`` (the defaults the
    first version had tuned on the test pair) is scored; the best mean UAR
    becomes the default.

Part ``class`` (ClassRelationAligner)
    Nested leave-one-target-corpus-out selection over the 12 ordered pairs
    of EmoDB, RAVDESS, URDU, TurEV-DB (protocol of
    ``relational_class_alignment.py``). For each target corpus T, the
    candidate with the best mean UAR over the 9 pairs whose target is *not*
    T is chosen and scored on the 3 pairs with target T. The 12 held-out
    scores are averaged and compared with DomainStandardScaler measured in
    the same run. The product default is the candidate selected most often.

Run from the repository root::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python benchmarks/relational_defaults.py [label|label_options|class]

Results: benchmarks/results/relational_defaults_label.md and
benchmarks/results/relational_defaults_class.md
"""

from __future__ import annotations

import collections
import itertools
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from sertl_relational import ClassRelationAligner, LabelRelationTransfer  # noqa: E402

from sertl_core import DomainStandardScaler  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MACHINE = (
    f"Machine: {platform.machine()}, 2 CPU cores (shared with other jobs), "
    f"Python {platform.python_version()}, numpy {np.__version__}, "
    f"scikit-learn {sklearn.__version__}; OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1."
)


def _footer(part, elapsed):
    return [
        f"{MACHINE} Wall time {elapsed:.0f} s.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python "
        f"benchmarks/relational_defaults.py {part}`",
    ]


def _write(name, lines):
    out = RESULTS / name
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}")


# ---------------------------------------------------------------- label part
K = 5
SEEDS = range(5)
DEV_CLASSES = ("anger", "calm", "happiness", "sadness")
PRIOR_STRENGTH = (2.0, 5.0, 10.0, 20.0, 50.0)
BANDWIDTH = (0.3, 0.5, 1.0)
SOURCE_WEIGHT = (0.3, 1.0, 3.0)


def _label_split(seed, yt, spk_t):
    rng = np.random.default_rng(seed)
    pool_spk = rng.choice(np.unique(spk_t), size=2, replace=False)
    pool = np.isin(spk_t, pool_spk)
    lab_idx = np.concatenate(
        [
            rng.choice(np.flatnonzero(pool & (yt == c)), size=K, replace=False)
            for c in DEV_CLASSES
        ]
    )
    return lab_idx, ~pool


def label_part():
    t0 = time.time()
    Xs, ys, _, _ = _data.load_features("emodb", emotions=None)
    Xt, yt, spk_t, _ = _data.load_features("ravdess", emotions=DEV_CLASSES)
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    Z = DomainStandardScaler().fit_transform(X, sample_domain=sd)
    Zt = Z[len(Xs) :]
    grid = list(itertools.product(PRIOR_STRENGTH, BANDWIDTH, SOURCE_WEIGHT))
    scores = {g: [] for g in grid}
    base = []
    for seed in SEEDS:
        lab_idx, test = _label_split(seed, yt, spk_t)
        Zk, yk = Zt[lab_idx], yt[lab_idx]
        Zte, yte = Zt[test], yt[test]
        base.append(
            balanced_accuracy_score(
                yte, LogisticRegression(max_iter=1000).fit(Zk, yk).predict(Zte)
            )
        )
        y_fit = np.full(len(Zt), "-1", dtype=object)
        y_fit[lab_idx] = yk
        yf = np.concatenate([ys.astype(object), y_fit]).astype(str)
        for ps, bw, sw in grid:
            est = LabelRelationTransfer(
                prior_strength=ps, bandwidth=bw, source_weight=sw
            ).fit(Z, yf, sample_domain=sd)
            scores[(ps, bw, sw)].append(balanced_accuracy_score(yte, est.predict(Zte)))
        print(f"seed {seed} done ({time.time() - t0:.0f} s)", flush=True)
    mean = {g: 100 * np.mean(v) for g, v in scores.items()}
    best = max(grid, key=lambda g: mean[g])
    elapsed = time.time() - t0
    lines = [
        "# LabelRelationTransfer defaults, selected on a development task",
        "",
        "Development task (TurEV-DB, the test corpus of "
        "`relational_label_space.py`, is not used): source EmoDB (7 classes) "
        "-> target RAVDESS anger, calm, happiness, sadness (calm unseen in "
        "EmoDB). Per seed: 2 RAVDESS speakers give k = 5 labelled utterances "
        "per class, the other 22 speakers are the test set; 5 seeds; "
        "per-domain standardised `functionals`; UAR on the test speakers.",
        "",
        f"target_only_lr (reference): {100 * np.mean(base):.1f} "
        f"(std {100 * np.std(base):.1f})",
        "",
        "| prior_strength | bandwidth | source_weight | mean UAR % | std |",
        "|---|---|---|---|---|",
    ]
    for g in sorted(grid, key=lambda g: -mean[g]):
        mark = " **(selected)**" if g == best else ""
        lines.append(
            f"| {g[0]:g} | {g[1]:g} | {g[2]:g} | {mean[g]:.1f}{mark} | "
            f"{100 * np.std(scores[g]):.1f} |"
        )
    lines += [
        "",
        f"Selected (best mean dev UAR): prior_strength={best[0]:g}, "
        f"bandwidth={best[1]:g}, source_weight={best[2]:g}; these are the "
        "defaults of `LabelRelationTransfer`. The other defaults (relation="
        "'both', features='both', LogisticRegression models, cv=5, no "
        "self-training) are not tuned here.",
        "",
        *_footer("label", elapsed),
    ]
    _write("relational_defaults_label.md", lines)


# ------------------------------------------------- label part, structure
# dev tasks that do not use TurEV-DB: (source, target, target classes); the
# target of each has one class the source never had
DEV_TASKS = (
    ("emodb", "ravdess", ("anger", "calm", "happiness", "sadness")),
    ("ravdess", "emodb", ("anger", "boredom", "happiness", "sadness")),
)
STRUCTURE = {
    f"relation={rel}/features={feat}/self_training={st}": dict(
        relation=rel, features=feat, self_training_rounds=st
    )
    for rel, feat, st in itertools.product(
        ("both", "schema"), ("both", "input", "relation"), (0, 2)
    )
}


def label_options_part():
    """Structural options of LabelRelationTransfer on two dev tasks.

    The numeric defaults (prior_strength, bandwidth, source_weight) stay as
    selected by ``label``; here relation source x features x self-training
    are compared, mean UAR over both dev tasks and 5 seeds; best mean wins.
    """
    t0 = time.time()
    base = {task[:2]: [] for task in DEV_TASKS}
    per_task = {(g, task[:2]): [] for g in STRUCTURE for task in DEV_TASKS}
    for src, tgt, classes in DEV_TASKS:
        Xs, ys, _, _ = _data.load_features(src, emotions=None)
        Xt, yt, spk_t, _ = _data.load_features(tgt, emotions=classes)
        X = np.vstack([Xs, Xt])
        sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
        Z = DomainStandardScaler().fit_transform(X, sample_domain=sd)
        Zt = Z[len(Xs) :]
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            pool = np.isin(spk_t, rng.choice(np.unique(spk_t), 2, replace=False))
            lab_idx = np.concatenate(
                [
                    rng.choice(np.flatnonzero(pool & (yt == c)), K, replace=False)
                    for c in classes
                ]
            )
            Zte, yte = Zt[~pool], yt[~pool]
            base[(src, tgt)].append(
                balanced_accuracy_score(
                    yte,
                    LogisticRegression(max_iter=1000)
                    .fit(Zt[lab_idx], yt[lab_idx])
                    .predict(Zte),
                )
            )
            y_fit = np.full(len(Zt), "-1", dtype=object)
            y_fit[lab_idx] = yt[lab_idx]
            yf = np.concatenate([ys.astype(object), y_fit]).astype(str)
            for g, params in STRUCTURE.items():
                est = LabelRelationTransfer(**params).fit(Z, yf, sample_domain=sd)
                u = balanced_accuracy_score(yte, est.predict(Zte))
                per_task[(g, (src, tgt))].append(u)
            print(f"{src}->{tgt} seed {seed} ({time.time() - t0:.0f} s)", flush=True)
    tasks = [t[:2] for t in DEV_TASKS]
    mean = {
        g: 100 * np.mean([np.mean(per_task[(g, t)]) for t in tasks]) for g in STRUCTURE
    }
    best = max(STRUCTURE, key=lambda g: mean[g])
    elapsed = time.time() - t0
    lines = [
        "# LabelRelationTransfer structural options, selected on dev tasks",
        "",
        "Development tasks only (TurEV-DB, the test corpus of "
        "`relational_label_space.py`, is not used): "
        + "; ".join(f"{s} (all classes) -> {t} {'/'.join(c)}" for s, t, c in DEV_TASKS)
        + " (calm unseen in EmoDB; boredom unseen in RAVDESS). Protocol of "
        "the test benchmark: per seed 2 target speakers give k = 5 labelled "
        "utterances per class, the other speakers are the test set; 5 seeds; "
        "per-domain standardised `functionals`; UAR. prior_strength=5, "
        "bandwidth=1, source_weight=1 (selected by the `label` part). Rule: "
        "best mean over the two dev tasks.",
        "",
        "target_only_lr (reference): "
        + ", ".join(f"{s}->{t} {100 * np.mean(base[(s, t)]):.1f}" for s, t in tasks),
        "",
        "| candidate | "
        + " | ".join(f"{s}->{t}" for s, t in tasks)
        + " | mean UAR % |",
        "|---|" + "---|" * (len(tasks) + 1),
    ]
    for g in sorted(STRUCTURE, key=lambda g: -mean[g]):
        mark = " **(selected)**" if g == best else ""
        lines.append(
            f"| {g} | "
            + " | ".join(f"{100 * np.mean(per_task[(g, t)]):.1f}" for t in tasks)
            + f" | {mean[g]:.1f}{mark} |"
        )
    lines += [
        "",
        f"Selected (best dev mean): {best}.",
        "",
        *_footer("label_options", elapsed),
    ]
    _write("relational_defaults_label_options.md", lines)


# ---------------------------------------------------------------- class part
CORPORA = ("emodb", "ravdess", "urdu", "turev_db")
C4 = ("anger", "happiness", "neutral", "sadness")
C3 = ("anger", "happiness", "sadness")


def _class_candidates():
    out = {}
    for subspace, gw in itertools.product(("lda", "full"), (0.0, 1.0)):
        maps = [("affine", s) for s in (0.1, 0.3, 1.0)]
        maps += [("orthogonal", s) for s in (0.1, 0.3, 1.0)]
        maps += [("translation", 0.3)]  # shrinkage unused by translation
        for mapping, shr in maps:
            params = dict(
                subspace=subspace, graph_weight=gw, mapping=mapping, shrinkage=shr
            )
            name = (
                f"{subspace}/{mapping}"
                + ("" if mapping == "translation" else f"/shr={shr:g}")
                + f"/gw={gw:g}"
            )
            out[name] = params
            # conservative variants: the map shrunk towards the identity by a
            # data-driven confidence (strength="auto")
            for conf in ("bootstrap", "procrustes"):
                out[f"{name}/auto-{conf}"] = dict(
                    params, strength="auto", confidence=conf, random_state=0
                )
    # no alignment at all (strength=0 is per-domain standardisation)
    out["strength=0 (no alignment)"] = dict(strength=0.0)
    return out


def class_part():
    t0 = time.time()
    data = {c: _data.load_features(c, emotions=None) for c in CORPORA}
    pairs = list(itertools.permutations(CORPORA, 2))
    cands = _class_candidates()
    res = {m: [] for m in ["DomainStandardScaler", *cands]}
    for s, t in pairs:
        classes = C3 if "turev_db" in (s, t) else C4
        Xs, ys = (a[np.isin(data[s][1], classes)] for a in data[s][:2])
        Xt, yt = (a[np.isin(data[t][1], classes)] for a in data[t][:2])
        X = np.vstack([Xs, Xt])
        y = np.r_[ys, np.full(len(yt), "-1")]
        sd = np.r_[np.ones(len(ys), int), -np.ones(len(yt), int)]
        for name in res:
            make = (
                DomainStandardScaler()
                if name == "DomainStandardScaler"
                else ClassRelationAligner(**cands[name])
            )
            Z = make.fit_transform(X, y, sample_domain=sd)
            clf = SVC(C=1.0, class_weight="balanced").fit(Z[sd > 0], ys)
            res[name].append(balanced_accuracy_score(yt, clf.predict(Z[sd < 0])))
        print(f"{s} -> {t} done ({time.time() - t0:.0f} s)", flush=True)
    R = {m: 100 * np.asarray(v) for m, v in res.items()}
    targets = np.array([t for _, t in pairs])
    nested = np.zeros(len(pairs))
    chosen = {}
    for T in CORPORA:
        inner = targets != T
        pick = max(cands, key=lambda m: R[m][inner].mean())
        chosen[T] = pick
        nested[~inner] = R[pick][~inner]
    counts = collections.Counter(chosen.values())
    top = max(counts.values())
    # most often selected; ties broken by the mean over all 12 pairs
    default = max((m for m in counts if counts[m] == top), key=lambda m: R[m].mean())
    base = R["DomainStandardScaler"]
    elapsed = time.time() - t0
    lines = [
        "# ClassRelationAligner: nested leave-one-target-corpus-out selection",
        "",
        "12 ordered pairs of EmoDB, RAVDESS, URDU, TurEV-DB (protocol of "
        "`relational_class_alignment.py`: source labelled, target unlabelled, "
        "SVC(rbf, C=1, balanced) on the adapted source rows, UAR on the target; "
        "classes anger, happiness, neutral, sadness, or anger, happiness, "
        "sadness with TurEV-DB). "
        f"{len(cands)} candidates: subspace lda/full x graph_weight 0/1 x "
        "(affine or orthogonal with shrinkage 0.1/0.3/1, or translation) x "
        "strength (1, or 'auto' with confidence 'bootstrap' or 'procrustes': "
        "the map shrunk towards the identity by a data-driven confidence), "
        "plus strength=0 (no alignment, equal to per-domain "
        "standardisation). For "
        "each target corpus T the candidate with the best mean UAR over the 9 "
        "pairs whose target is not T is selected, then scored on the 3 pairs "
        "with target T (never seen in its selection).",
        "",
        "| held-out target | selected candidate | inner mean (9 pairs) | "
        "held-out mean (3 pairs) | DomainStandardScaler (same 3 pairs) |",
        "|---|---|---|---|---|",
    ]
    for T in CORPORA:
        m = targets == T
        lines.append(
            f"| {T} | {chosen[T]} | {R[chosen[T]][~m].mean():.1f} | "
            f"{nested[m].mean():.1f} | {base[m].mean():.1f} |"
        )
    met = nested.mean() >= base.mean()
    lines += [
        "",
        "| source -> target | DomainStandardScaler | nested selection |",
        "|---|---|---|",
    ]
    for i, (s, t) in enumerate(pairs):
        lines.append(f"| {s} -> {t} | {base[i]:.1f} | {nested[i]:.1f} |")
    lines += [
        f"| **mean** | **{base.mean():.1f}** | **{nested.mean():.1f}** |",
        "",
        f"Target (issue #7) under nested selection: mean UAR {nested.mean():.1f} "
        f"vs DomainStandardScaler {base.mean():.1f} in the same run -> "
        f"{'MET' if met else 'NOT MET'} (difference "
        f"{nested.mean() - base.mean():+.1f}).",
        "",
        f"Product default = the candidate selected most often ({top} of 4 "
        f"folds; ties broken by the 12-pair mean): **{default}** "
        f"(12-pair mean {R[default].mean():.1f}, not a held-out figure).",
        "",
        "All candidates, 12-pair mean (for information only; picking from "
        "this column would be selection on the test pairs):",
        "",
        "| candidate | 12-pair mean UAR % |",
        "|---|---|",
    ]
    for m in sorted(res, key=lambda m: -R[m].mean()):
        lines.append(f"| {m} | {R[m].mean():.1f} |")
    lines += [
        "",
        *_footer("class", elapsed),
    ]
    _write("relational_defaults_class.md", lines)


if __name__ == "__main__":
    parts = sys.argv[1:] or ["label", "class"]
    for p in parts:
        {
            "label": label_part,
            "label_options": label_options_part,
            "class": class_part,
        }[p]()
