"""``sertl predict --new-domain`` on corpora the model was never adapted to.

A deployable dss model (per-domain standardisation + SVC, ``train_model``)
is trained on labelled EmoDB and unlabelled RAVDESS (4 classes: anger,
happiness, neutral, sadness), then labels the utterances of URDU (same 4
classes) and TurEV-DB (anger, happiness, sadness; calm is not a class of the
model) with ``predict_files``: as audio of the model's target corpus (the
default: RAVDESS's statistics) and with ``new_domain=True`` (the statistics
of the new corpus's files themselves). RAVDESS itself is labelled too, for
reference. Metric: UAR over the corpus's classes that the model knows; the
share of the most frequent answer shows a collapse onto one class.

Run from the repository root (features come from the benchmark cache)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/predict_new_domain.py

Results: benchmarks/results/predict_new_domain.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import CACHE, DEFAULT_EMOTIONS, file_table  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "predict_new_domain.md"


def files_of(corpus, emotions=DEFAULT_EMOTIONS):
    rows = [r for r in file_table(corpus) if r[1] in emotions]
    return [r[0] for r in rows], np.array([r[1] for r in rows])


def main():
    from sertl_experiments import Recipe, predict_files, train_model
    from sertl_experiments._config import FeatureSpec

    t0 = time.perf_counter()
    features = FeatureSpec(cache_dir=CACHE / "features", n_jobs=2)
    src, ys = files_of("emodb")
    tgt, yt = files_of("ravdess")
    model, skipped = train_model(Recipe("dss"), src, list(ys), tgt, features=features)
    lines = [
        "# `sertl predict --new-domain`: corpora the model was not adapted to",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/predict_new_domain.py`.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, scikit-learn {sklearn.__version__}.",
        "",
        "Model: `train_model(Recipe('dss'), EmoDB files, labels, RAVDESS files)` "
        "(sertl-speech functionals, per-domain standardisation, SVC with "
        f"probabilities; {len(src)} labelled EmoDB and {len(tgt)} unlabelled RAVDESS "
        f"utterances of anger, happiness, neutral and sadness; {len(skipped)} "
        "files without features).",
        "",
        "| corpus labelled | files | default: UAR % | default: most frequent answer "
        "| `new_domain=True`: UAR % | `new_domain=True`: most frequent answer |",
        "|---|---|---|---|---|---|",
    ]
    cases = [
        ("RAVDESS (the model's target corpus)", "ravdess", DEFAULT_EMOTIONS),
        ("URDU", "urdu", DEFAULT_EMOTIONS),
        (
            "TurEV-DB (anger, happiness, sadness)",
            "turev_db",
            ("anger", "happiness", "sadness"),
        ),
    ]
    for label, corpus, emotions in cases:
        files, y = files_of(corpus, emotions)
        cells = []
        for new_domain in (False, True):
            rows = predict_files(model, files, new_domain=new_domain)
            pred = np.array([r["emotion"] or "" for r in rows])
            ok = pred != ""
            uar = 100 * balanced_accuracy_score(y[ok], pred[ok])
            values, counts = np.unique(pred[ok], return_counts=True)
            top = f"{values[counts.argmax()]} {100 * counts.max() / ok.sum():.0f} %"
            cells += [f"{uar:.1f}", top]
            print(label, new_domain, cells[-2:], flush=True)
        lines.append(f"| {label} | {len(files)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Wall time {time.perf_counter() - t0:.0f} s. Chance is 25 % for RAVDESS and "
        "URDU and 33.3 % for TurEV-DB, whose UAR is over its 3 classes (an answer "
        "of neutral, a class TurEV-DB lacks, counts as wrong). RAVDESS is labelled "
        "alike both ways: its files are the statistics the model already has.",
        "",
    ]
    write_results(OUT, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
