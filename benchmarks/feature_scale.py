"""Speed and peak memory of sertl-feature's TCA/CORAL/SA against skada's.

Each configuration runs in its own subprocess (fit + transform of all rows,
``fit_transform``); the child reports wall time and its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the Python
interpreter, numpy and the imports), plus the resident memory right after
the imports, so the cost of the method itself can be read off too.

Data: synthetic shifted domains, d=88 (eGeMAPS size), 4 classes; the target
is a rotated, rescaled and shifted copy of the source distribution.
Downstream check (2,000 + 2,000 rows, where exact and low-rank TCA both
run): SVC(rbf, C=1, class_weight="balanced") trained on adapted source rows,
UAR on target rows.

Run (inside the benchmark venv that holds skada and sertl installed with
``pip install --no-deps -e . -e plugins/sertl-feature``)::

    .venv-bench/bin/python benchmarks/feature_scale.py

Writes benchmarks/results/feature_scale.md.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import parse_parts, require, write_results  # noqa: E402

D = 88


def make_data(n, seed=0, d=D):
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=0.25, size=(4, d))
    ys = rng.integers(0, 4, size=n)
    yt = rng.integers(0, 4, size=n)
    mix = np.linalg.qr(rng.normal(size=(d, d)))[0]
    Xs = centers[ys] + rng.normal(size=(n, d))
    scale = np.linspace(0.5, 2.0, d)
    Xt = (
        (centers[yt] + rng.normal(size=(n, d))) @ (0.3 * mix + 0.7 * np.eye(d))
    ) * scale
    Xt += 1.0
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(n, int), -np.ones(n, int)]
    return X, sd, ys, yt


def make_method(name, params):
    if name.startswith("skada_"):
        import skada

        cls = {
            "skada_tca": skada.TransferComponentAnalysisAdapter,
            "skada_coral": skada.CORALAdapter,
            "skada_sa": skada.SubspaceAlignmentAdapter,
        }[name]
        return cls(**params)
    import sertl_feature

    return getattr(sertl_feature, name)(**params)


def child(spec):
    import numpy as np

    X, sd, ys, yt = make_data(spec["n"])
    method = make_method(spec["method"], spec["params"])
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    Z = method.fit_transform(X, sample_domain=sd)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        "base_mb": base_kb / 1024,
        "extra": {},
    }
    for attr in ("solver_", "rank_", "gamma_", "n_components_"):
        if hasattr(method, attr):
            v = getattr(method, attr)
            out["extra"][attr.rstrip("_")] = (
                v if v is None or isinstance(v, str) else float(v)
            )
    if spec.get("uar"):
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.svm import SVC

        n = spec["n"]
        clf = SVC(C=1.0, class_weight="balanced").fit(Z[:n], ys)
        out["uar"] = 100 * balanced_accuracy_score(yt, clf.predict(Z[n:]))
    assert np.all(np.isfinite(Z))
    print("RESULT " + json.dumps(out))


CONFIGS = [
    # (label, method, params, n per domain, timeout s, downstream UAR)
    (
        "TCA exact (rbf)",
        "TCA",
        {"n_components": 30, "solver": "exact"},
        2000,
        300,
        True,
    ),
    (
        "TCA lowrank (rbf, 1000 landmarks)",
        "TCA",
        {"n_components": 30, "solver": "lowrank", "random_state": 0},
        2000,
        300,
        True,
    ),
    (
        "TCA lowrank (rbf, 300 landmarks)",
        "TCA",
        {
            "n_components": 30,
            "solver": "lowrank",
            "n_landmarks": 300,
            "random_state": 0,
        },
        2000,
        300,
        True,
    ),
    ("skada TCA (rbf)", "skada_tca", {"n_components": 30}, 2000, 300, True),
    (
        "TCA auto (rbf)",
        "TCA",
        {"n_components": 30, "random_state": 0},
        5000,
        300,
        False,
    ),
    (
        "TCA auto (linear)",
        "TCA",
        {"n_components": 30, "kernel": "linear"},
        5000,
        300,
        False,
    ),
    ("skada TCA (rbf)", "skada_tca", {"n_components": 30}, 5000, 150, False),
    (
        "TCA lowrank (rbf, 1000 landmarks)",
        "TCA",
        {"n_components": 30, "solver": "lowrank", "random_state": 0},
        50000,
        300,
        False,
    ),
    ("CORAL", "CORAL", {}, 50000, 300, False),
    ("skada CORAL", "skada_coral", {}, 50000, 300, False),
    ("SubspaceAlignment", "SubspaceAlignment", {"n_components": 30}, 50000, 300, False),
    ("skada SA", "skada_sa", {"n_components": 30}, 50000, 300, False),
]


def _child_env():
    """Single-threaded BLAS for every method (see the results file)."""
    import os

    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def run_one(label, method, params, n, timeout, uar):
    spec = {"method": method, "params": params, "n": n, "uar": uar}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
        )
    except subprocess.TimeoutExpired:
        return {"label": label, "n": n, "status": f"> {timeout} s (killed)"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            res.update(label=label, n=n, status="ok")
            return res
    return {
        "label": label,
        "n": n,
        "status": f"failed after {time.perf_counter() - t0:.0f} s: {proc.stderr[-300:]}",
    }


def main():
    import numpy as np
    import scipy
    import sklearn

    rows = []
    for cfg in CONFIGS:
        res = run_one(*cfg)
        rows.append(res)
        print(json.dumps(res), flush=True)
    try:
        import skada

        skada_v = skada.__version__
    except Exception:  # noqa: BLE001 - version string only
        skada_v = "n/a"
    lines = [
        "# sertl-feature: TCA / CORAL / SA speed and peak memory",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared by about 8 engineers "
        "running their own jobs at the same time (load average 10+), so wall "
        "times are noisy (often 2-5x slower than on an idle machine). "
        "BLAS runs single-threaded in every child (OPENBLAS_NUM_THREADS=1, "
        "same for skada): on this oversubscribed machine multi-threaded "
        "OpenBLAS spin-waits, e.g. `scipy.linalg.eigh` of a 300 x 300 matrix "
        "took 4-10 s with 2 threads and 0.07-0.1 s with 1. "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, skada {skada_v}.",
        "",
        "Command: `.venv-bench/bin/python benchmarks/feature_scale.py`",
        "",
        "Synthetic shifted domains, d = 88, n rows per domain (source + target). "
        "Time = `fit_transform` of all rows. Peak = `ru_maxrss` of the child "
        "process (includes interpreter and imports); after-import = RSS before "
        "the fit. UAR: SVC(rbf, C=1, balanced) on adapted source, target rows.",
        "",
        "| method | n per domain | time (s) | peak RSS (MB) | after import (MB) | UAR (%) | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['label']} | {r['n']:,} | {r['status']} | | | | |")
            continue
        ex = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in r["extra"].items()
            if v is not None
        )
        uar = f"{r['uar']:.1f}" if "uar" in r else ""
        lines.append(
            f"| {r['label']} | {r['n']:,} | {r['wall_s']:.2f} | {r['peak_mb']:.0f} | "
            f"{r['base_mb']:.0f} | {uar} | {ex} |"
        )
    (HERE / "results").mkdir(exist_ok=True)
    write_results(HERE / "results" / "feature_scale.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
    else:
        parse_parts(__doc__)
        require("skada")
        main()
