"""Label-space transfer benchmark: EmoDB (7 classes) -> TurEV-DB (4 classes).

TurEV-DB labels anger, calm, happiness and sadness; EmoDB has no calm. For
each seed, two TurEV-DB speakers provide k=5 labelled utterances per class
and the other four speakers are the test set (speaker-disjoint). All
TurEV-DB rows are available unlabelled (transductive). Every method sees
the same per-speaker standardised features (sertl_speech.SpeakerNormalizer:
each speaker of either corpus centred and scaled with its own rows, the
target's unlabelled rows included), the scaling selected on the
development tasks (``relational_defaults.py label_scaling``); rows marked
"(per-domain)" use the benchmark's earlier per-domain standardisation
(sertl_core.DomainStandardScaler) and are reported for information; the
best-baseline figure of the target takes the best baseline row of either
scaling.

Methods
-------
target_only_lr / target_only_svc
    LogisticRegression / SVC(rbf) trained on the k*4 labelled target rows.
    Every baseline's final model has the C that the development tasks chose
    for it (``BASELINE_C``); rows marked "(C=1)" are scikit-learn's default.
finetune_last_layer
    MLPClassifier trained on EmoDB; its last layer replaced by a logistic
    regression trained on the penultimate (hidden) activations of the k*4
    target rows.
finetune_posteriors
    Logistic regression on the source MLP's 7 posteriors of the k*4 rows.
label_relation
    sertl_relational.LabelRelationTransfer() with its defaults (selected on
    development tasks only: relation="schema", features="both", two rounds
    of class-balanced self-training on the unlabelled TurEV-DB rows, target
    classifier LogisticRegression(C=0.1), source model
    LogisticRegression(C=1)).
label_relation_before_recheck
    LabelRelationTransfer(prior_strength=5, source_weight=1): the defaults
    before ``relational_defaults.py label_recheck`` (version-4 features)
    moved those two to 50 and 3.
label_relation_previous_defaults
    LabelRelationTransfer(relation="both", self_training_rounds=0,
    prior_strength=5, source_weight=1): the defaults before the structural
    options were selected (with the current C=0.1 target classifier, like
    the rows below).
label_relation_schema_no_self_training
    LabelRelationTransfer(self_training_rounds=0): the class relation from
    the arousal/valence coordinates alone, without self-training.
label_relation_both_self_training
    LabelRelationTransfer(relation="both"): schema prior shrunk with the
    labelled rows, with self-training.

Run from the repository root::

    .venv/bin/python benchmarks/relational_label_space.py

Results: benchmarks/results/relational_label_space.md
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402
from sertl_relational import LabelRelationTransfer  # noqa: E402
from sertl_speech import SpeakerNormalizer  # noqa: E402

from sertl_core import DomainStandardScaler  # noqa: E402

K = 5
SEEDS = range(5)
TARGET_CLASSES = ("anger", "calm", "happiness", "sadness")
OUT = Path(__file__).resolve().parent / "results" / "relational_label_space.md"
# C of each baseline's final model, selected on the development tasks
# (`relational_defaults.py label_baselines`, results in
# benchmarks/results/relational_defaults_label_baselines.md), as the C of
# LabelRelationTransfer's classifier was: both sides get the same selection
BASELINE_C = {
    "target_only_lr": 0.03,
    "target_only_svc": 1.0,
    "finetune_last_layer": 0.1,
    "finetune_posteriors": 0.03,
}


def _mlp(seed):
    return MLPClassifier(
        hidden_layer_sizes=(128,),
        alpha=1e-2,
        max_iter=300,
        early_stopping=False,
        random_state=seed,
    )


def _hidden(mlp, X):
    return np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)


def baseline_scores(seed, Zs, ys, Zk, yk, Zte, yte, C):
    """UAR of the four baselines with regularisation ``C`` (their final model).

    target_only_lr / target_only_svc: LogisticRegression(C) / SVC(rbf, C) on
    the k target rows; finetune_last_layer / finetune_posteriors: a
    LogisticRegression(C) head on the source MLP's hidden layer / log
    posteriors of those rows. Shared with the dev selection of ``C``
    (``relational_defaults.py label_baselines``).
    """

    def uar(pred):
        return balanced_accuracy_score(yte, pred)

    out = {
        "target_only_lr": uar(
            LogisticRegression(C=C, max_iter=1000).fit(Zk, yk).predict(Zte)
        ),
        "target_only_svc": uar(
            SVC(C=C, class_weight="balanced").fit(Zk, yk).predict(Zte)
        ),
    }
    mlp = _mlp(seed).fit(Zs, ys)
    head = LogisticRegression(C=C, max_iter=1000).fit(_hidden(mlp, Zk), yk)
    out["finetune_last_layer"] = uar(head.predict(_hidden(mlp, Zte)))

    def logp(Z):
        return np.log(mlp.predict_proba(Z) + 1e-6)

    head = LogisticRegression(C=C, max_iter=1000).fit(logp(Zk), yk)
    out["finetune_posteriors"] = uar(head.predict(logp(Zte)))
    return out


def run_seed(seed, Xs, ys, Xt, yt, spk_t, spk_s):
    """Every arm under per-speaker scaling, the main arms also per-domain."""
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    speakers = np.r_[np.asarray(spk_s, dtype=str), np.asarray(spk_t, dtype=str)]
    out = _run_scaled(
        seed, SpeakerNormalizer().fit_transform(X, speaker=speakers), sd, ys, yt, spk_t
    )
    # the earlier scaling, for information: the default and the baselines
    per_domain = _run_scaled(
        seed,
        DomainStandardScaler().fit_transform(X, sample_domain=sd),
        sd,
        ys,
        yt,
        spk_t,
        variants=False,
    )
    out.update({f"{k} (per-domain)": v for k, v in per_domain.items()})
    return out


def _run_scaled(seed, Z, sd, ys, yt, spk_t, variants=True):
    """UAR of the arms on the scaled rows ``Z`` (source rows first)."""
    rng = np.random.default_rng(seed)
    speakers = np.unique(spk_t)
    pool_spk = rng.choice(speakers, size=2, replace=False)
    pool = np.isin(spk_t, pool_spk)
    lab_idx = np.concatenate(
        [
            rng.choice(np.flatnonzero(pool & (yt == c)), size=K, replace=False)
            for c in TARGET_CLASSES
        ]
    )
    test = ~pool
    Zs, Zt = Z[sd > 0], Z[sd < 0]
    Zk, yk = Zt[lab_idx], yt[lab_idx]
    Zte, yte = Zt[test], yt[test]

    def uar(pred):
        return balanced_accuracy_score(yte, pred)

    by_c = {
        c: baseline_scores(seed, Zs, ys, Zk, yk, Zte, yte, c)
        for c in {1.0, *BASELINE_C.values()}
    }
    out = {arm: by_c[c][arm] for arm, c in BASELINE_C.items()}
    if variants:
        # scikit-learn's C=1 too, where the dev selection chose another C
        out.update(
            {
                f"{arm} (C=1)": by_c[1.0][arm]
                for arm, c in BASELINE_C.items()
                if c != 1.0
            }
        )

    # transfer estimators: source rows + labelled target rows + unlabelled rest
    y_fit = np.full(len(Zt), "-1", dtype=object)
    y_fit[lab_idx] = yk
    Xf = np.vstack([Zs, Zt])
    yf = np.concatenate([ys.astype(object), y_fit]).astype(str)
    arms = {
        "label_relation": LabelRelationTransfer(),
        "label_relation_before_recheck": LabelRelationTransfer(
            prior_strength=5.0, source_weight=1.0
        ),
        "label_relation_previous_defaults": LabelRelationTransfer(
            relation="both",
            self_training_rounds=0,
            prior_strength=5.0,
            source_weight=1.0,
        ),
        "label_relation_schema_no_self_training": LabelRelationTransfer(
            self_training_rounds=0
        ),
        "label_relation_both_self_training": LabelRelationTransfer(relation="both"),
    }
    for name, est in arms.items():
        if variants or name == "label_relation":
            out[name] = uar(est.fit(Xf, yf, sample_domain=sd).predict(Zte))
    return out


def main():
    t0 = time.time()
    Xs, ys, spk_s, _ = _data.load_features("emodb", emotions=None)
    Xt, yt, spk_t, _ = _data.load_features("turev_db", emotions=TARGET_CLASSES)
    rows = []
    for s in SEEDS:
        rows.append(run_seed(s, Xs, ys, Xt, yt, spk_t, spk_s))
        print(s, {k: round(100 * v, 1) for k, v in rows[-1].items()}, flush=True)
    names = list(rows[0])
    mean = {n: 100 * np.mean([r[n] for r in rows]) for n in names}
    std = {n: 100 * np.std([r[n] for r in rows]) for n in names}
    elapsed = time.time() - t0
    for n in names:
        print(
            f"{n:22s} {mean[n]:5.1f} ± {std[n]:4.1f}  ",
            " ".join(f"{100 * r[n]:5.1f}" for r in rows),
        )
    # the best of every baseline row, dev-selected C and C=1 alike
    best_tgt = max(mean[n] for n in names if n.startswith("target_only"))
    best_ft = max(mean[n] for n in names if n.startswith("finetune"))
    lines = [
        "# Label-space transfer: EmoDB (7 classes) -> TurEV-DB (anger, calm, "
        "happiness, sadness)",
        "",
        "calm is unseen in the source. k = 5 labelled TurEV-DB utterances per "
        "class from 2 speakers; test = the other 4 speakers; 5 seeds (speaker "
        "draw and utterance draw). Features: sertl-speech `functionals` "
        f"({Xs.shape[1]} dims) via `benchmarks/_data.py`, per-speaker "
        "standardised for every method (`sertl_speech.SpeakerNormalizer`, each "
        "speaker of either corpus with its own rows, the target's unlabelled "
        "rows included: the scaling selected on the development tasks, "
        "`relational_defaults.py label_scaling`); rows marked (per-domain) use "
        "the earlier per-domain standardisation, for information. Metric: UAR "
        "(balanced accuracy) on the test speakers.",
        "",
        "| method | mean UAR % | std | per seed |",
        "|---|---|---|---|",
    ]
    for n in names:
        lines.append(
            f"| {n} | {mean[n]:.1f} | {std[n]:.1f} | "
            + ", ".join(f"{100 * r[n]:.1f}" for r in rows)
            + " |"
        )
    ours = mean["label_relation"]
    lines += [
        "",
        f"Target (issue #7): label_relation >= best target-only + 5 "
        f"({best_tgt:.1f} + 5 = {best_tgt + 5:.1f}) and > best fine-tuning "
        f"({best_ft:.1f}): label_relation (defaults) = {ours:.1f} -> "
        f"{'MET' if ours >= best_tgt + 5 and ours > best_ft else 'NOT MET'}; "
        f"5 points above fine-tuning too: "
        f"{'yes' if ours >= best_ft + 5 else 'no'}.",
        "",
        "Selection: the defaults of LabelRelationTransfer were selected on "
        "development tasks that do not involve TurEV-DB: prior_strength, "
        "bandwidth, source_weight on EmoDB -> RAVDESS anger/calm/happiness/"
        "sadness (`benchmarks/relational_defaults.py label`, "
        "`benchmarks/results/relational_defaults_label.md`), then relation, "
        "features and self-training on that task and RAVDESS -> EmoDB "
        "anger/boredom/happiness/sadness (`benchmarks/relational_defaults.py "
        "label_options`, `benchmarks/results/relational_defaults_label_options"
        ".md`), then the C of the two logistic regressions on those two tasks "
        "(`benchmarks/relational_defaults.py label_regularisation`, "
        "`benchmarks/results/relational_defaults_label_regularisation.md`); "
        "on the version-4 features the three stages were repeated in order on "
        "both tasks with the paired rule of benchmarks/_selection.py "
        "(`benchmarks/relational_defaults.py label_recheck`, "
        "`benchmarks/results/relational_defaults_label_recheck.md`), which "
        "moved prior_strength 5 -> 50 and source_weight 1 -> 3 (and, rerun on "
        "the version-6 features, the target classifier's C 0.3 -> 0.1); then "
        "the features' scaling for every arm, per-domain or per-speaker, on "
        "the same tasks with the same rule (`benchmarks/relational_defaults.py "
        "label_scaling`, `benchmarks/results/relational_defaults_label_scaling"
        ".md`: per-speaker for the method). The target's "
        "best baseline is the best baseline row of either scaling. "
        "This test pair was held out of all these selections and this "
        "benchmark was run once with the selected defaults; the other "
        "label_relation rows are for information, not selected here. "
        "(An earlier version had tuned "
        "prior_strength on this pair: 5 gave 35.4, 20 gave 37.7; those "
        "figures are superseded.)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python "
        f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}. Wall time {elapsed:.0f} s.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/relational_label_space.py`",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_results(OUT, "\n".join(lines) + "\n")
    print(f"wrote {OUT} ({elapsed:.0f} s)")


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
