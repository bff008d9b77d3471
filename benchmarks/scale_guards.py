"""Explicit (non-default) paths at scale: refused up front, or time and memory.

The default paths are measured by ``scale_defaults.py``. This script runs
the settings a user picks by hand that grow faster than the rows: the exact
kernels of TCA, JDA and KMM, cvxpy as KMM's and KLIEP's solver, and many
Nyström landmarks or KLIEP centres. Each runs in a fresh subprocess under
an address-space limit (``--limit-gb``, as ``ulimit -v``) and a timeout,
one BLAS thread, on the synthetic data of ``scale_defaults.py``. A run
either finishes (wall seconds of ``fit`` and the peak resident memory of
the process, imports included), or is refused by the up-front memory check
(``sertl_core.utils.check_memory``: the seconds until the refusal and the
start of its message), or fails otherwise (its last line), or times out.

Peak memory comes from :mod:`resource` (Linux and macOS; not on Windows).

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale_guards.py \
        --n 2000 20000 --limit-gb 4 --timeout 120 --write

writes ``benchmarks/results/scale_guards.md``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_defaults import CHILD as DEFAULTS_CHILD  # noqa: E402
from scale_defaults import (  # noqa: E402
    arguments,
    measure,
    measured,
    report,
    run_child,
)

# (name, construction code): run in the child with the data in X, y, sd
METHODS = [
    ("TCA(solver='exact')", "from sertl_feature import TCA; m = TCA(solver='exact')"),
    ("JDA(solver='exact')", "from sertl_feature import JDA; m = JDA(solver='exact')"),
    (
        "TCA(n_landmarks=5000)",
        "from sertl_feature import TCA; m = TCA(n_landmarks=5000, random_state=0)",
    ),
    (
        "KMM(kernel_approx='exact')",
        "from sertl_instance import KMM; "
        "m = KMM(LR(max_iter=500), kernel_approx='exact', random_state=0)",
    ),
    (
        "KMM(kernel_approx='exact', solver='cvxpy')",
        "from sertl_instance import KMM; m = KMM(LR(max_iter=500), "
        "kernel_approx='exact', solver='cvxpy', random_state=0)",
    ),
    (
        "KMM(solver='cvxpy')",
        "from sertl_instance import KMM; "
        "m = KMM(LR(max_iter=500), solver='cvxpy', random_state=0)",
    ),
    (
        "KLIEP(n_centers=20000)",
        "from sertl_instance import KLIEP; "
        "m = KLIEP(LR(max_iter=500), n_centers=20000, random_state=0)",
    ),
    (
        "KLIEP(solver='cvxpy')",
        "from sertl_instance import KLIEP; "
        "m = KLIEP(LR(max_iter=500), solver='cvxpy', random_state=0)",
    ),
]

# the child of scale_defaults.py, with the fit's MemoryError reported
CHILD = (
    "import resource, sys\n"
    "_gb = float(sys.argv[4])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (int(_gb * 2**30), int(_gb * 2**30)))\n"
    + DEFAULTS_CHILD.replace(
        "t = time.perf_counter()\nif hasattr",
        "t = time.perf_counter()\ntry:\n  if hasattr",
    ).replace(
        "    m.fit_transform(X, y, sample_domain=sd)\nelse:\n"
        "    m.fit(X, y, sample_domain=sd)\n",
        "    m.fit_transform(X, y, sample_domain=sd)\n  else:\n"
        "    m.fit(X, y, sample_domain=sd)\n"
        "except MemoryError as e:\n"
        "  print(json.dumps({'refused': time.perf_counter() - t, 'message': str(e)}))\n"
        "  sys.exit(0)\n",
    )
)


def run_one(code, n, d, limit_gb, timeout):
    result = run_child(CHILD, [str(n), str(d), code, str(limit_gb)], timeout)
    if isinstance(result, dict) and "refused" in result:
        message = result["message"]
        if "available now" not in message:  # numpy's, not the check's
            return f"failed after {result['refused']:.1f} s: MemoryError {message}"
        return f"refused in {result['refused']:.1f} s: {message[:150]} ..."
    return measured(result)


def main(argv=None):
    parser = arguments(__doc__, [2000, 20000], 120)
    parser.add_argument("--limit-gb", type=float, default=4.0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = measure(
        METHODS,
        args.n,
        lambda code, n: run_one(code, n, args.d, args.limit_gb, args.timeout),
    )
    intro = (
        f"Synthetic data of `scale_defaults.py`: {args.d} features, 4 classes, "
        "one source and one target domain of n rows each. Each setting in a "
        f"fresh process under an address-space limit of {args.limit_gb:g} GiB "
        f"(`ulimit -v`) and a timeout of {args.timeout} s, one BLAS thread; wall "
        "seconds of fit and peak resident memory of the whole process (imports "
        "included, about 200-300 MB), or the refusal of the up-front memory "
        "check (`sertl_core.utils.check_memory`, which counts the room under "
        "the limit) with the start of its message."
    )
    title = "Explicit paths at scale: refused up front, or time and peak memory"
    options = f" --limit-gb {args.limit_gb:g} --timeout {args.timeout}"
    report(
        "scale_guards",
        title,
        intro,
        "setting",
        args.n,
        rows,
        start,
        options,
        args.write,
    )


if __name__ == "__main__":
    main()
