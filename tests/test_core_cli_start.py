"""The ``sertl`` command's start: what it imports, and Ctrl-C while it imports.

Each test runs the command in a fresh interpreter, as the console script
does (``from sertl_core.cli import main``), since what a process imports,
and the signal handling of its first second, cannot be seen in this one.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

posix_only = pytest.mark.skipif(
    os.name != "posix", reason="sends SIGINT to a child process (POSIX signals)"
)

# The console script's code, with an import hook that stops the first import
# of scikit-learn (the core's estimators: a second or more of the start) and
# says so on stderr (where the command sends what its work prints): the test
# sends SIGINT exactly there, however loaded the machine. Python installs its
# Ctrl-C handler at start unless SIGINT is ignored (a background job of a
# non-interactive shell): set it as a terminal's Ctrl-C finds it.
_STALLED_START = """
import signal, sys, time

signal.signal(signal.SIGINT, signal.default_int_handler)


class StallSklearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn":
            sys.meta_path.remove(self)
            print("importing sklearn", file=sys.stderr, flush=True)
            time.sleep(120)  # Ctrl-C comes here
        return None


sys.meta_path.insert(0, StallSklearn())
from sertl_core.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _wait_for_line(proc, timeout):
    """Return the child's first stderr line, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            return proc.stderr.readline()
        if proc.poll() is not None:
            break
    proc.kill()
    _, err = proc.communicate(timeout=60)
    pytest.fail(f"the command never reached the import of sklearn: {err}")


@posix_only
def test_ctrl_c_while_the_command_imports_exits_130_without_traceback(tmp_path):
    # Ctrl-C in the first second of a `sertl` command printed a traceback of
    # the scikit-learn import (importing sertl_core imported it, before
    # main() and its handler ran) and exited with status 1. `sertl plugins`
    # imports sklearn whatever is installed (the core's own estimators)
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALLED_START, "plugins"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert _wait_for_line(proc, timeout=120) == "importing sklearn\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted" in err and len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def test_importing_the_command_imports_no_numerical_library():
    # the console script's `from sertl_core.cli import main` imported
    # scikit-learn, scipy and numpy (a second or more) before main() ran
    code = (
        "import json, sys\n"
        "from sertl_core.cli import main\n"
        "import sertl_core\n"
        "heavy = ('numpy', 'scipy', 'sklearn', 'pandas', 'torch')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_package_still_gives_its_public_names_and_submodules():
    # sertl_core imports its estimators on first use: every name of
    # __all__ and the submodules a plain `import sertl_core` used to load
    # are still there, as the same objects
    code = (
        "import json, sertl_core\n"
        "from sertl_core.methods import SourceOnly\n"
        "missing = [n for n in sertl_core.__all__ if not hasattr(sertl_core, n)]\n"
        "same = sertl_core.SourceOnly is SourceOnly\n"
        "subs = [sertl_core.base.__name__, sertl_core._domains.__name__]\n"
        "print(json.dumps([missing, same, subs]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    missing, same, subs = json.loads(done.stdout)
    assert missing == [] and same
    assert subs == ["sertl_core.base", "sertl_core._domains"]
    import sertl_core

    assert set(sertl_core.__all__) <= set(dir(sertl_core))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        sertl_core.nothing_here  # noqa: B018
