"""Choose KMM/KLIEP weight-use defaults on a pair that is NOT the reported one.

The downstream UAR reported in ``instance_benchmark.md`` is EmoDB <-> RAVDESS.
Defaults that change how the weights reach the classifier are chosen here on
URDU <-> TurEV-DB (the three shared classes anger, happiness, sadness), never
on the reported pair's target labels. Run from the repository root::

    .venv-bench/bin/python benchmarks/instance_defaults.py

Writes ``benchmarks/results/instance_defaults.md``. Compared, with the same
weights: raw QP/KLIEP weights, weights rescaled to mean 1 over the source
rows (so the classifier's C keeps its meaning), and weights rescaled to mean
1 within each source class (the class balance the classifier's
``class_weight="balanced"`` sets is kept). skada's KMM and KLIEP (same width
grid) are the anchors. Seeds 0-2 of our landmark / centre draws show the noise.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import parse_parts, require, write_results  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from instance_benchmark import skada_kmm  # noqa: E402
from sertl_instance import kliep_weights, kmm_weights  # noqa: E402
from sertl_instance._kernels import median_heuristic  # noqa: E402

LINES: list[str] = []
EMOTIONS = ("anger", "happiness", "sadness")


def out(s=""):
    print(s, flush=True)
    LINES.append(s)


def normalise(w, y, how):
    w = np.asarray(w, float)
    if how == "raw":
        return w
    if how == "mean":
        return w / w.mean()
    v = w.copy()
    for c in np.unique(y):
        m = y == c
        v[m] = w[m] / max(w[m].mean(), 1e-300)
    return v


def main():
    from _data import load_features
    from skada import KLIEPReweightAdapter
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.svm import SVC

    from sertl_core import DomainStandardScaler

    t0 = time.perf_counter()
    out(
        "# sertl-instance: choosing how weights reach the classifier (URDU <-> TurEV-DB)"
    )
    out()
    out(
        f"Command: `.venv-bench/bin/python benchmarks/instance_defaults.py`; machine "
        f"{platform.machine()}, {os.cpu_count()} cores shared (load at start "
        f"{os.getloadavg()[0]:.1f}); BLAS limited to 1 thread. Classes {EMOTIONS}; "
        "SVC(C=1, rbf, class_weight='balanced') after per-domain standardisation; "
        "UAR in %. Seeds = random_state of our landmarks / centres / folds."
    )
    out()
    data = {c: load_features(c, emotions=EMOTIONS)[:2] for c in ("urdu", "turev_db")}
    hows = ("raw", "mean", "class")
    rows = {}
    for s, t in (("urdu", "turev_db"), ("turev_db", "urdu")):
        Xs, ys = data[s]
        Xt, yt = data[t]
        X = np.vstack([Xs, Xt])
        sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
        Z = DomainStandardScaler().fit_transform(X, sample_domain=sd)
        Zs, Zt = Z[sd > 0], Z[sd < 0]

        def uar(w, Zs=Zs, ys=ys, Zt=Zt, yt=yt):
            clf = SVC(C=1.0, class_weight="balanced").fit(Zs, ys, sample_weight=w)
            return 100 * balanced_accuracy_score(yt, clf.predict(Zt))

        r = {"none": uar(None)}
        sigma = median_heuristic(Z, random_state=0)
        w = skada_kmm(Zs, Zt, sigma, 1000.0, None)
        for h in hows:
            r[f"skada KMM {h}"] = uar(normalise(w, ys, h))
        gammas = [1 / (2 * (sigma * f) ** 2) for f in (0.25, 0.5, 0.75, 1, 1.5, 2, 4)]
        a = KLIEPReweightAdapter(gamma=gammas, random_state=0).fit(Z, sample_domain=sd)
        w = np.asarray(a.compute_weights(Z, sample_domain=sd), float)[sd > 0]
        for h in hows:
            r[f"skada KLIEP {h}"] = uar(normalise(w, ys, h))
        for seed in range(3):
            wk, info = kmm_weights(Zs, Zt, random_state=seed, return_info=True)
            wl, il = kliep_weights(Zs, Zt, random_state=seed, return_info=True)
            for h in hows:
                r[f"sertl KMM {h} seed{seed}"] = uar(normalise(wk, ys, h))
                r[f"sertl KLIEP {h} seed{seed}"] = uar(normalise(wl, ys, h))
            r[f"kmm mean weight seed{seed}"] = float(wk.mean())
            r[f"KLIEP LCV width / median seed{seed}"] = il["sigma"] / sigma
            r[f"KLIEP LCV ESS ratio seed{seed}"] = il["effective_sample_ratio"]
            # alternatives for KLIEP's width and weight use (label-free)
            wm, im = kliep_weights(
                Zs, Zt, sigma=sigma, random_state=seed, return_info=True
            )
            r[f"sertl KLIEP median width seed{seed}"] = uar(wm)
            r[f"KLIEP median-width ESS ratio seed{seed}"] = im["effective_sample_ratio"]
            r[f"sertl KLIEP LCV flattened w^0.5 seed{seed}"] = uar(
                normalise(np.sqrt(wl), ys, "mean")
            )
        rows[(s, t)] = r
    keys = list(next(iter(rows.values())))
    out("| variant | urdu -> turev_db | turev_db -> urdu | mean |")
    out("|---|---|---|---|")
    for k in keys:
        v = [rows[p][k] for p in rows]
        out(f"| {k} | {v[0]:.2f} | {v[1]:.2f} | {np.mean(v):.2f} |")
    out()
    out("Means over seeds 0-2 (sertl):")
    out()
    out("| variant | urdu -> turev_db | turev_db -> urdu | mean |")
    out("|---|---|---|---|")
    variants = [f"sertl {m} {h}" for m in ("KMM", "KLIEP") for h in hows]
    variants += ["sertl KLIEP median width", "sertl KLIEP LCV flattened w^0.5"]
    for k in variants:
        v = [np.mean([rows[p][f"{k} seed{s}"] for s in range(3)]) for p in rows]
        out(f"| {k} | {v[0]:.2f} | {v[1]:.2f} | {np.mean(v):.2f} |")
    out()
    out(
        "Decision (label-free defaults, this pair only): KMM trains on its weights "
        "rescaled to mean 1 over the source rows (`normalize_weights=True`), chosen by "
        "principle (SVC's C scales with the weights); here raw, mean-1 and class-wise "
        "mean-1 weights are within 0.3 UAR points of one another, i.e. no evidence "
        "either way. KLIEP keeps its likelihood cross-validated width and its mean-1 "
        "weights: every alternative tried (median-heuristic width, flattened w^0.5, "
        "class-wise rescaling) is lower here. Differences below ~2 points are within "
        "the test-set noise (300 and 1,327 target rows)."
    )
    out()
    out(
        f"Total time {time.perf_counter() - t0:.0f} s; load at end {os.getloadavg()[0]:.1f}."
    )
    write_results(HERE / "results" / "instance_defaults.md", "\n".join(LINES) + "\n")


if __name__ == "__main__":
    parse_parts(__doc__)
    require("skada")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
