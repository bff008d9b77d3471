"""Start-up latency of the ``sertl`` command, before and after a change.

Wall time of whole commands, each in a fresh process (``python -m
sertl_core.cli ...``, what the console script runs), median and minimum of
``--repeat`` runs, the runs of the trees interleaved so that the load of a
shared machine falls on both alike:

* ``sertl --help``;
* ``sertl run bad.toml``: an experiment file with a key that does not exist
  (exit status 2, one error line);
* ``sertl plugins``: the registry, every plugin's classes imported;
* ``sertl predict model.skops a.flac``: a small model (MFCC statistics, a
  scaler and a logistic regression fitted on six files of the EmoDB sample
  shipped with sertl-speech, made by this script) labels one file;
* ``load_model`` from Python: a library caller's first ``import
  sertl_experiments`` and ``load_model`` of the same model, and whether
  that imported torch.

Each tree is a sertl checkout (its root and its ``plugins/*`` folders go on
``PYTHONPATH``, ahead of any installed copy), run with this interpreter.
Without ``--before`` only this checkout is measured. To compare with an
older commit::

    git worktree add /tmp/old-latency 8f15bd7
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python \\
        benchmarks/cli_latency.py --before /tmp/old-latency
    git worktree remove /tmp/old-latency

Results: benchmarks/results/cli_latency.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import REPO, command, threads, write_results  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "cli_latency.md"

_MAKE_MODEL = """
import shutil, sys
from sertl_experiments import save_model
from sertl_speech import AudioFeatures, load_sample
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

table = load_sample("emodb", emotions=["anger", "sadness"])
model = make_pipeline(
    AudioFeatures("mfcc_stats"), StandardScaler(), LogisticRegression()
).fit(list(table["file"][:6]), list(table["emotion"][:6]))
save_model(model, sys.argv[1], metadata={"classes": list(model.classes_)})
shutil.copy(table["file"][7], sys.argv[2])
"""

_LOAD_MODEL = """
import json, sys, time
t0 = time.perf_counter()
from sertl_experiments import load_model
t1 = time.perf_counter()
load_model(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "torch": "torch" in sys.modules}))
"""


def tree_env(tree):
    """The environment that runs ``tree``'s sertl: its folders on PYTHONPATH."""
    tree = Path(tree).resolve()
    paths = [tree, *sorted(p for p in (tree / "plugins").glob("sertl-*") if p.is_dir())]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(map(str, paths))
    return env


def commit_of(tree):
    """The short commit of ``tree`` (and '+changes' when it has uncommitted ones)."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(tree), *args], capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + (
        " + uncommitted changes" if dirty else ""
    )


def timed(args, env, cwd, expect):
    """Wall seconds of one run of ``python args``; check its exit status."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    if done.returncode != expect:
        raise SystemExit(
            f"error: {' '.join(args[:4])} exited with {done.returncode}, not "
            f"{expect}:\n{done.stderr[-2000:]}"
        )
    return seconds, done.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--before", help="an older sertl checkout to compare with")
    ap.add_argument("--repeat", type=int, default=7, help="runs of each command")
    opts = ap.parse_args(argv)
    trees = {"after": REPO}
    if opts.before:
        trees = {"before": Path(opts.before).resolve(), "after": REPO}
    with tempfile.TemporaryDirectory(prefix="sertl-cli-latency-") as folder:
        measure(opts, trees, Path(folder))


def measure(opts, trees, work):
    """Time the commands of every tree in ``work``; write the results file."""
    model, audio = work / "model.skops", work / "a.flac"
    bad = work / "bad.toml"
    with open(bad, "w", encoding="utf-8") as fh:  # the command's input
        fh.write('name = "x"\nno_such_key = 1\n')
    subprocess.run(
        [sys.executable, "-c", _MAKE_MODEL, str(model), str(audio)],
        env=tree_env(REPO),
        check=True,
    )
    cli = ["-m", "sertl_core.cli"]
    cases = {
        "`sertl --help`": ([*cli, "--help"], 0),
        "`sertl run bad.toml` (config error)": ([*cli, "run", str(bad)], 2),
        "`sertl plugins`": ([*cli, "plugins"], 0),
        "`sertl predict model.skops a.flac`": (
            [*cli, "predict", str(model), str(audio)],
            0,
        ),
        "`python -c pass` (interpreter alone)": (["-c", "pass"], 0),
    }
    times = {(c, t): [] for c in cases for t in trees}
    library = {t: [] for t in trees}
    envs = {t: tree_env(path) for t, path in trees.items()}
    for _ in range(opts.repeat):
        for case, (args, expect) in cases.items():
            for t in trees:  # interleaved: the same load falls on both trees
                times[case, t].append(timed(args, envs[t], work, expect)[0])
        for t in trees:
            _, out = timed(["-c", _LOAD_MODEL, str(model)], envs[t], work, 0)
            library[t].append(json.loads(out))

    import numpy as np
    import sklearn

    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        load = "n/a"
    names = list(trees)
    head = " | ".join(f"{t}: median s (min)" for t in names)
    lines = [
        "# `sertl` command: start-up latency",
        "",
        f"Command: `{command()}`.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared; load "
        f"average {load} at the end), Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; {threads()}.",
        "",
        "Trees: "
        + "; ".join(f"{t} = {commit_of(path)}" for t, path in trees.items())
        + f". {opts.repeat} fresh processes per command and tree, interleaved; "
        "wall time of the whole process (interpreter start included).",
        "",
        f"| command | {head} |" + (" speed-up |" if len(names) == 2 else ""),
        "|---|" + "---|" * (len(names) + (len(names) == 2)),
    ]

    def cell(values):
        return f"{statistics.median(values):.2f} ({min(values):.2f})"

    for case in cases:
        row = f"| {case} | " + " | ".join(cell(times[case, t]) for t in names) + " |"
        if len(names) == 2:
            ratio = statistics.median(times[case, names[0]]) / statistics.median(
                times[case, names[1]]
            )
            row += f" {ratio:.1f}x |"
        lines.append(row)
    lines += [
        "",
        "`load_model` from Python (in-process `perf_counter`: first "
        "`from sertl_experiments import load_model`, then the load, which "
        "imports skops):",
        "",
        "| tree | import s, median | `load_model` s, median | torch imported |",
        "|---|---|---|---|",
    ]
    for t in names:
        runs = library[t]
        imp = statistics.median(r["import"] for r in runs)
        ld = statistics.median(r["load"] for r in runs)
        torch = sum(r["torch"] for r in runs)
        lines.append(f"| {t} | {imp:.2f} | {ld:.2f} | {torch} of {len(runs)} runs |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_results(OUT, text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
