"""Shared helpers for writing the benchmarks' results files.

* :func:`write_results` writes ``benchmarks/results/<name>.md`` and keeps the
  hand-written section of the file it replaces: everything from the first
  line starting with ``### Notes (added by hand`` to the end of the file is
  appended, unchanged, after the newly generated text.
* :func:`parse_parts` is the command line of the scripts without options:
  ``--help`` prints the docstring (and never starts a run), unknown arguments
  are refused.
* :func:`require` stops with a clear message when an anchor (skada, adapt,
  opensmile, ...) is not installed, before any long computation.
* :func:`command` is the command line that reproduces the current run.

Importing this module also makes a missing corpus or anchor end the script
with a one-line message instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTES_HEADING = "### Notes (added by hand"
_NOTES = re.compile(r"^" + re.escape(NOTES_HEADING), re.MULTILINE)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
ANCHORS = ("skada", "adapt", "opensmile", "cvxopt")
BENCH_HINT = (
    "the anchors are installed only in the benchmark venv: run `make "
    "bench-install`, then `.venv-bench/bin/python benchmarks/<script>.py`"
)


class MissingInput(SystemExit):
    """A corpus or an anchor the benchmark needs is not there.

    A ``SystemExit`` with a message: Python prints the message (no traceback)
    and the script exits with status 1.
    """


def hand_notes(text):
    """The hand-written section of a results file ('' when it has none)."""
    m = _NOTES.search(text)
    return text[m.start() :] if m else ""


def merge_notes(new_text, old_text):
    """``new_text`` followed by the hand-written notes of ``old_text``.

    Generated text that has a notes section of its own is kept as it is.

    >>> merge_notes("# T\\n\\n| a |\\n", "# T\\n\\n| b |\\n\\n### Notes (added by hand)\\n\\n- x\\n")
    '# T\\n\\n| a |\\n\\n### Notes (added by hand)\\n\\n- x\\n'
    >>> merge_notes("# T\\n", "# T (no notes)\\n")
    '# T\\n'
    """
    body = new_text if new_text.endswith("\n") else new_text + "\n"
    notes = hand_notes(old_text)
    if not notes or hand_notes(body):
        return body
    return body + ("" if body.endswith("\n\n") else "\n") + notes


def write_results(path, text):
    """Write a results file, keeping the hand-written notes of the old one."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(merge_notes(text, old), encoding="utf-8")
    return path


def parse_parts(doc, parts=(), default=(), argv=None):
    """Command line of a script without options, optionally with parts.

    Returns the list of parts (``default`` when none is given); ``--help``
    prints ``doc`` and exits; an unknown argument is an error (exit 2).
    """
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if parts:
        ap.add_argument(
            "parts",
            nargs="*",
            metavar="PART",
            help=f"one or more of: {', '.join(parts)} (default: {' '.join(default)})",
        )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    chosen = list(getattr(args, "parts", None) or default)
    bad = [p for p in chosen if p not in parts]
    if bad:
        ap.error(f"unknown part(s) {', '.join(bad)}; choose from {', '.join(parts)}")
    return chosen


def require(*modules, hint=BENCH_HINT):
    """Import ``modules`` now, or stop with ``hint`` if one is missing."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingInput(
            f"error: {', '.join(missing)} not installed in {sys.prefix}; {hint}"
        )


def command(script=None, argv=None):
    """The command line of this run: thread settings, interpreter, arguments.

    The interpreter is written relative to the repository when it lives in it
    (``.venv/bin/python``), else as ``python``.
    """
    script = Path(script or sys.argv[0]).resolve()
    try:
        script_s = str(script.relative_to(REPO))
    except ValueError:
        script_s = str(script)
    exe = Path(sys.executable)
    try:
        exe_s = str(exe.absolute().relative_to(REPO))
    except ValueError:
        exe_s = "python"
    env = [f"{v}={os.environ[v]}" for v in THREAD_VARS if v in os.environ]
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join([*env, exe_s, script_s, *map(shlex.quote, args)])


def threads():
    """The BLAS/OpenMP thread settings of this run, for the machine line."""
    got = [f"{v}={os.environ[v]}" for v in THREAD_VARS if v in os.environ]
    return " ".join(got) if got else "thread variables unset"


def _excepthook(kind, exc, tb, _default=sys.excepthook):
    if isinstance(exc, ModuleNotFoundError) and exc.name in ANCHORS:
        print(
            f"error: {exc.name} not installed in {sys.prefix}; {BENCH_HINT}",
            file=sys.stderr,
        )
        return
    _default(kind, exc, tb)


sys.excepthook = _excepthook
