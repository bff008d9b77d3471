"""``dask_client(workers=N)`` leaves the caller's process as it found it."""

import pytest

pytest.importorskip("distributed")

# what distributed's Nanny writes into the parent's os.environ for its workers
_NANNY_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MALLOC_TRIM_THRESHOLD_",
    "PYTHONHASHSEED",
    "__DASK_PARENT_PID",
)


def _handlers():
    import logging

    return {
        name: list(lg.handlers)
        for name, lg in list(logging.Logger.manager.loggerDict.items())
        if isinstance(lg, logging.Logger) and name.startswith("distributed")
    }


def test_local_cluster_leaves_environ_random_and_loggers_as_they_were(monkeypatch):
    import os
    import random
    import subprocess
    import sys

    from sertl_experiments import dask_client

    # a caller without thread limits, whose PYTHONHASHSEED distributed changes
    # ("0" -> "6640") and whose __DASK_PARENT_PID it overwrites
    for key in _NANNY_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("__DASK_PARENT_PID", "1")
    monkeypatch.delenv("SERTL_TEST_MINE", raising=False)
    before = dict(os.environ)
    random.seed(12345)
    rng = random.getstate()
    handlers = _handlers()

    with dask_client(workers=1) as client:
        assert client.submit(sum, [1, 2]).result() == 3  # draws from `random`
        assert os.environ.get("MKL_NUM_THREADS") == "1"  # for the workers
        # the caller's own changes inside the block are theirs to keep
        os.environ["OMP_NUM_THREADS"] = "4"
        os.environ["SERTL_TEST_MINE"] = "yes"

    after = dict(os.environ)
    assert after.pop("OMP_NUM_THREADS") == "4"
    assert after.pop("SERTL_TEST_MINE") == "yes"
    assert after == before
    assert random.getstate() == rng
    # no DequeHandler left on distributed.scheduler, distributed.nanny, ...
    assert {n: h for n, h in _handlers().items() if h} == {
        n: h for n, h in handlers.items() if h
    }
    # a subprocess started afterwards (a joblib/loky worker) runs unlimited
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; print(os.environ.get('MKL_NUM_THREADS'),"
            " os.environ.get('PYTHONHASHSEED'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert seen == ["None", "0"]
