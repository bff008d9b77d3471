"""Accuracy of sertl's acoustic features against openSMILE eGeMAPSv02.

4 classes (anger, happiness, neutral, sadness), SVC(rbf, C=1,
class_weight="balanced"), unweighted average recall (UAR):

* within-corpus, leave-one-speaker-out, StandardScaler fitted in each
  training fold (and, as a variant, per-speaker z-normalisation);
* cross-corpus EmoDB <-> RAVDESS with per-domain standardisation
  (``sertl_core.DomainStandardScaler``).

Run (from the repository root)::

    .venv/bin/python benchmarks/speech_accuracy.py            # sertl features
    .venv-bench/bin/python benchmarks/speech_accuracy.py --egemaps   # + anchor

The eGeMAPS anchor needs ``opensmile`` (benchmark venv only). Results are
written to ``benchmarks/results/speech_accuracy.md`` when ``--write`` is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import CACHE, load_features  # noqa: E402
from _report import require, write_results  # noqa: E402
from sklearn.metrics import recall_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from sertl_core import DomainStandardScaler  # noqa: E402


def svc():
    return SVC(kernel="rbf", C=1.0, class_weight="balanced")


def uar(y, p):
    return 100.0 * recall_score(y, p, average="macro")


def speaker_z(X, speakers):
    Z = np.empty_like(X)
    for s in np.unique(speakers):
        m = speakers == s
        mu, sd = X[m].mean(0), X[m].std(0)
        Z[m] = (X[m] - mu) / np.where(sd > 1e-12, sd, 1.0)
    return Z


def loso(X, y, spk, per_speaker=False):
    if per_speaker:
        X = speaker_z(X, spk)
    pred = np.empty_like(y)
    for s in np.unique(spk):
        te = spk == s
        clf = make_pipeline(StandardScaler(), svc()).fit(X[~te], y[~te])
        pred[te] = clf.predict(X[te])
    return uar(y, pred)


def cross(Xs, ys, Xt, yt):
    X = np.vstack([Xs, Xt])
    d = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    Z = DomainStandardScaler().fit_transform(
        X, np.r_[ys, np.full(len(yt), "-1")], sample_domain=d
    )
    clf = svc().fit(Z[d > 0], ys)
    return uar(yt, clf.predict(Z[d < 0]))


def evaluate(data):
    (Xe, ye, se, _), (Xr, yr, sr, _) = data["emodb"], data["ravdess"]
    return {
        "EmoDB LOSO": loso(Xe, ye, se),
        "RAVDESS LOSO": loso(Xr, yr, sr),
        "EmoDB LOSO, per-speaker z": loso(Xe, ye, se, True),
        "RAVDESS LOSO, per-speaker z": loso(Xr, yr, sr, True),
        "EmoDB -> RAVDESS": cross(Xe, ye, Xr, yr),
        "RAVDESS -> EmoDB": cross(Xr, yr, Xe, ye),
    }


def egemaps(corpus):
    """eGeMAPSv02 functionals with opensmile, cached like load_features."""
    import opensmile
    from _data import DEFAULT_EMOTIONS, file_table

    rows = [r for r in file_table(corpus) if r[1] in DEFAULT_EMOTIONS]
    files, y, spk, g = (np.array(c) for c in zip(*rows, strict=True))
    spk = np.array([f"{corpus}:{s}" for s in spk])
    out = CACHE / f"egemaps-{corpus}.npz"
    if out.is_file():
        d = np.load(out, allow_pickle=True)
        if list(d["files"]) == list(files):
            return d["X"], y, spk, g
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    X = np.vstack([smile.process_file(f).to_numpy() for f in files])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(out, X=X, files=files)
    return X, y, spk, g


FLOORS = {
    "EmoDB LOSO": 76.0,
    "RAVDESS LOSO": 63.0,
    "EmoDB -> RAVDESS": 43.4,
    "RAVDESS -> EmoDB": 53.0,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--egemaps", action="store_true", help="also run the eGeMAPS anchor"
    )
    ap.add_argument("--feature-sets", nargs="+", default=["functionals", "mfcc_stats"])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.egemaps:
        require("opensmile")
    t0 = time.perf_counter()
    rows = {}
    for fs in args.feature_sets:
        ours = {c: load_features(c, fs) for c in ("emodb", "ravdess")}
        rows[f"sertl {fs} ({ours['emodb'][0].shape[1]} features)"] = evaluate(ours)
    if args.egemaps:
        ref = {c: egemaps(c) for c in ("emodb", "ravdess")}
        rows["openSMILE eGeMAPSv02 (88 features)"] = evaluate(ref)
    keys = list(next(iter(rows.values())))
    lines = ["| features | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[k]:.1f}" for k in keys) + " |")
    lines.append(
        "| floor (target) | "
        + " | ".join(f"{FLOORS[k]:.1f}" if k in FLOORS else "-" for k in keys)
        + " |"
    )
    table = "\n".join(lines)
    print(table)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.write:
        import sertl_speech  # noqa: F401
        import sklearn

        text = f"""# Speech feature accuracy (issue 3)

UAR (%), 4 classes (anger, happiness, neutral, sadness),
SVC(kernel="rbf", C=1, class_weight="balanced").
Within-corpus: leave-one-speaker-out, StandardScaler fitted on each training
fold ("per-speaker z": every speaker z-normalised with its own statistics
first, which needs speaker ids at test time and uses the test speaker's
unlabelled utterances, as `sertl_speech.SpeakerNormalizer` does).
Cross-corpus: train on all of one corpus, test on all of the other,
per-domain standardisation
(`sertl_core.DomainStandardScaler`, target statistics from the unlabelled
target features). EmoDB: 339 files / 10 speakers; RAVDESS: 672 files / 24
speakers.

{table}

Command: `.venv-bench/bin/python benchmarks/speech_accuracy.py --egemaps --write`
(the anchor needs opensmile, installed only in the benchmark venv).

Machine: {platform.machine()}, {platform.processor() or "cpu"}, {os.cpu_count()} cores shared;
Python {platform.python_version()}, numpy {np.__version__}, scikit-learn
{sklearn.__version__}.
"""
        out = Path(__file__).resolve().parent / "results" / "speech_accuracy.md"
        out.parent.mkdir(exist_ok=True)
        write_results(out, text)
        print("wrote", out)


if __name__ == "__main__":
    main()
