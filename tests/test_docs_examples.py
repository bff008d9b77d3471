"""The runnable scripts of ``examples/`` run and print what they promise."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_dimensional_regression_example_runs():
    pytest.importorskip("sertl_speech")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "dimensional_regression.py")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cccs = [float(v) for v in re.findall(r"target CCC (-?\d\.\d{3})", done.stdout)]
    assert len(cccs) == 3, done.stdout  # two adapters and the selected pipeline
    assert all(-1.0 <= c <= 1.0 for c in cccs)
    assert "selected {'adapt': " in done.stdout
