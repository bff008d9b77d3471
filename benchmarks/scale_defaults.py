"""Time and peak memory of the default paths on large synthetic data.

Every method runs with its defaults (the classifier a LogisticRegression
where one is needed) in a fresh subprocess, one BLAS thread, on synthetic
data: 4 classes of Gaussian rows (88 features) in one source domain and a
target domain that is scaled by 1.5, mixed and shifted. Reported: wall
seconds of ``fit`` (``fit_transform`` for adapters) and the peak resident
memory of the whole process (imports included).

Peak memory comes from :mod:`resource` (Linux and macOS; not on Windows).

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale_defaults.py \
        --n 5000 20000 --write

writes ``benchmarks/results/scale_defaults.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_results  # noqa: E402

# (name, construction code): run in the child with the data in X, y, sd
METHODS = [
    (
        "DomainStandardScaler",
        "from sertl_core import DomainStandardScaler as M; m = M()",
    ),
    ("CORAL", "from sertl_feature import CORAL as M; m = M()"),
    ("SubspaceAlignment", "from sertl_feature import SubspaceAlignment as M; m = M()"),
    ("TCA (solver='auto')", "from sertl_feature import TCA as M; m = M()"),
    ("JDA (1-NN pseudo-labels)", "from sertl_feature import JDA as M; m = M()"),
    (
        "JDA(estimator=LogisticRegression())",
        "from sertl_feature import JDA as M; m = M(estimator=LR(max_iter=500))",
    ),
    (
        "KMM",
        "from sertl_instance import KMM as M; m = M(LR(max_iter=500), random_state=0)",
    ),
    (
        "KLIEP",
        "from sertl_instance import KLIEP as M; m = M(LR(max_iter=500), random_state=0)",
    ),
    (
        "ClassRelationAligner",
        "from sertl_relational import ClassRelationAligner as M; m = M(random_state=0)",
    ),
    (
        "TransferVote()",
        "from sertl_experiments import TransferVote as M; "
        "m = M(LR(max_iter=500), random_state=0)",
    ),
]

CHILD = """
import json, resource, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression as LR
n, d, code = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
means = rng.normal(0, 0.12, size=(4, d))
ys = rng.integers(0, 4, n)
yt = rng.integers(0, 4, n)
A = np.eye(d) + 0.2 * rng.normal(0, 1, (d, d)) / np.sqrt(d)
Xs = means[ys] + rng.normal(0, 1, (n, d))
Xt = (means[yt] + rng.normal(0, 1, (n, d))) @ A * 1.5 + 1.0
X = np.vstack([Xs, Xt])
y = np.r_[ys, np.full(n, -1)]
sd = np.r_[np.ones(n, int), -np.ones(n, int)]
exec(code)
warnings.simplefilter("ignore")
t = time.perf_counter()
if hasattr(m, "transform"):
    m.fit_transform(X, y, sample_domain=sd)
else:
    m.fit(X, y, sample_domain=sd)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
if sys.platform == "darwin":  # bytes on macOS
    peak /= 1024
print(json.dumps({"wall": wall, "peak_mb": peak}))
"""


def run_child(child, argv, timeout):
    """Run ``child`` in a fresh process with one BLAS thread.

    Returns the JSON object of its last output line, or a note (a string)
    when it timed out or failed.
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["MKL_NUM_THREADS"] = "1"
    try:
        done = subprocess.run(
            [sys.executable, "-c", child, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return "failed: " + last[:120]
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured(result):
    """A table cell: the child's wall time and peak memory, or its note."""
    if isinstance(result, str):
        return result
    return f"{result['wall']:.1f} s, {result['peak_mb']:.0f} MB"


def machine_line(start):
    """The results' line on the machine, the versions and the wall time."""
    import numpy
    import scipy
    import sklearn

    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}. Wall time "
        f"{time.perf_counter() - start:.0f} s."
    )


def run_one(code, n, d, timeout):
    return measured(run_child(CHILD, [str(n), str(d), code], timeout))


def measure(methods, ns, run):
    """Rows of the table: each method's cell at each n, printed as they come."""
    rows = []
    for name, code in methods:
        cells = [run(code, n) for n in ns]
        rows.append((name, cells))
        print(name, *cells, sep=" | ", flush=True)
    return rows


def report(name, title, intro, column, ns, rows, start, options, write):
    """Print the results; with ``write``, save them as results/<name>.md."""
    head = " | ".join(f"{n:,} + {n:,} rows" for n in ns)
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        f"| {column} | {head} |",
        "|---|" + "---|" * len(ns),
        *[f"| {method} | {' | '.join(cells)} |" for method, cells in rows],
        "",
        machine_line(start),
        "",
        f"Reproduce: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/{name}.py "
        f"--n {' '.join(map(str, ns))}{options} --write`",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if write:
        write_results(Path(__file__).parent / "results" / f"{name}.md", text)


def arguments(doc, n, timeout):
    """The options of the scale scripts: --n, --d, --timeout and --write."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=n)
    parser.add_argument("--d", type=int, default=88)
    parser.add_argument("--timeout", type=int, default=timeout)
    parser.add_argument("--write", action="store_true")
    return parser


def main(argv=None):
    args = arguments(__doc__, [5000, 20000], 900).parse_args(argv)
    start = time.perf_counter()
    rows = measure(
        METHODS, args.n, lambda code, n: run_one(code, n, args.d, args.timeout)
    )
    intro = (
        f"Synthetic data (`benchmarks/scale_defaults.py`): {args.d} features, 4 "
        "classes, one source and one target domain of n rows each (the target "
        "scaled by 1.5, mixed and shifted). Each method with its defaults (a "
        "LogisticRegression as classifier where one is needed), in a fresh "
        "process with one BLAS thread; wall seconds of fit (fit_transform for "
        "adapters), peak resident memory of the whole process (imports "
        "included, about 200-300 MB)."
    )
    title = "Default paths at scale: time and peak memory"
    report(
        "scale_defaults", title, intro, "method", args.n, rows, start, "", args.write
    )


if __name__ == "__main__":
    main()
