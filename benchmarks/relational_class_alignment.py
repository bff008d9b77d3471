"""Unsupervised class-relation alignment over the 12 ordered corpus pairs.

Source: one labelled corpus; target: another, unlabelled. Corpora: EmoDB,
RAVDESS, URDU, TurEV-DB (shared classes: anger, happiness, neutral, sadness;
anger, happiness, sadness for pairs with TurEV-DB). Every adapter is fitted
on the labelled source rows and the unlabelled target rows, then an
SVC(rbf, C=1, class_weight="balanced") is trained on the adapted source rows
and scored (UAR) on the adapted target rows. All methods run in the same
run on the same features (sertl-speech ``functionals`` via
``benchmarks/_data.py``).

Run from the repository root::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python benchmarks/relational_class_alignment.py

Results: benchmarks/results/relational_class_alignment.md
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import balanced_accuracy_score
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402
from sertl_relational import ClassRelationAligner  # noqa: E402

from sertl_core import DomainStandardScaler  # noqa: E402

CORPORA = ("emodb", "ravdess", "urdu", "turev_db")
C4 = ("anger", "happiness", "neutral", "sadness")
C3 = ("anger", "happiness", "sadness")
OUT = Path(__file__).resolve().parent / "results" / "relational_class_alignment.md"

METHODS = {
    "DomainStandardScaler": DomainStandardScaler,
    "ClassRelationAligner(random_state=0) [default: full/orthogonal, "
    "strength='auto' (bootstrap)]": lambda: ClassRelationAligner(random_state=0),
    "ClassRelationAligner(strength=1) [previous default]": lambda: ClassRelationAligner(
        strength=1.0
    ),
    "ClassRelationAligner(subspace='lda', mapping='affine', shrinkage=0.3, "
    "graph_weight=1, strength=1) [first default]": lambda: ClassRelationAligner(
        subspace="lda", mapping="affine", shrinkage=0.3, graph_weight=1.0, strength=1.0
    ),
    "ClassRelationAligner(mapping='translation', strength=1)": lambda: (
        ClassRelationAligner(mapping="translation", strength=1.0)
    ),
}
DEFAULT = next(iter(m for m in METHODS if "[default" in m))


def main():
    t0 = time.time()
    data = {c: _data.load_features(c, emotions=None) for c in CORPORA}
    pairs = list(itertools.permutations(CORPORA, 2))
    res = {m: [] for m in METHODS}
    for s, t in pairs:
        classes = C3 if "turev_db" in (s, t) else C4
        Xs, ys = (a[np.isin(data[s][1], classes)] for a in data[s][:2])
        Xt, yt = (a[np.isin(data[t][1], classes)] for a in data[t][:2])
        X = np.vstack([Xs, Xt])
        y = np.r_[ys, np.full(len(yt), "-1")]
        sd = np.r_[np.ones(len(ys), int), -np.ones(len(yt), int)]
        for name, make in METHODS.items():
            Z = make().fit_transform(X, y, sample_domain=sd)
            clf = SVC(C=1.0, class_weight="balanced").fit(Z[sd > 0], ys)
            res[name].append(balanced_accuracy_score(yt, clf.predict(Z[sd < 0])))
        print(
            s, "->", t, " ".join(f"{100 * res[m][-1]:.1f}" for m in METHODS), flush=True
        )
    elapsed = time.time() - t0
    base = 100 * np.mean(res["DomainStandardScaler"])
    lines = [
        "# Unsupervised class-relation alignment, 12 ordered corpus pairs",
        "",
        "Source labelled, target unlabelled; SVC(rbf, C=1, balanced) on the "
        "adapted source rows; UAR on the target. Classes: anger, happiness, "
        "neutral, sadness (anger, happiness, sadness with TurEV-DB). Features: "
        f"sertl-speech `functionals` ({data['emodb'][0].shape[1]} dims).",
        "",
        "| source -> target | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    for i, (s, t) in enumerate(pairs):
        lines.append(
            f"| {s} -> {t} | "
            + " | ".join(f"{100 * res[m][i]:.1f}" for m in METHODS)
            + " |"
        )
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{100 * np.mean(res[m]):.1f}**" for m in METHODS)
        + " |"
    )
    ours = 100 * np.mean(res[DEFAULT])
    lines += [
        "",
        f"Default ClassRelationAligner vs DomainStandardScaler, 12-pair mean "
        f"in the same run: {ours:.1f} vs {base:.1f}. This is NOT a held-out "
        "figure: the default is the configuration that the nested "
        "leave-one-target-corpus-out selection in "
        "`benchmarks/relational_defaults.py class`, which used these pairs, "
        "named on the version-3 features (selected most often, ties broken "
        "by the 12-pair mean). On later feature versions that rule names "
        "other candidates, chosen on these pairs (which, and in how many "
        "folds, is in that results file), and the default was not changed "
        "(notes of "
        "`benchmarks/results/relational_defaults_class.md`). The honest "
        "figure for the issue #7 target is the nested one, in that file.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}. Wall time {elapsed:.0f} s.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/relational_class_alignment.py`",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_results(OUT, "\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
