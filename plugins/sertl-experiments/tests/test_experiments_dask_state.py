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
    expected = [random.random() for _ in range(3)]  # a run without a cluster
    random.seed(12345)
    drawn = [random.random()]
    handlers = _handlers()

    with dask_client(workers=1) as client:
        # the scheduler, in this process, picks a worker at random to gather
        # from: a draw that must not shift the caller's own stream
        assert client.submit(sum, [1, 2]).result() == 3
        drawn.append(random.random())  # the caller's draw inside: kept
        assert client.submit(sum, [3, 4]).result() == 7
        assert os.environ.get("MKL_NUM_THREADS") == "1"  # for the workers
        # the caller's own changes inside the block are theirs to keep
        os.environ["OMP_NUM_THREADS"] = "4"
        os.environ["SERTL_TEST_MINE"] = "yes"

    after = dict(os.environ)
    assert after.pop("OMP_NUM_THREADS") == "4"
    assert after.pop("SERTL_TEST_MINE") == "yes"
    assert after == before
    drawn.append(random.random())
    assert drawn == expected
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


def test_distributed_draws_from_its_own_generator_only_inside_the_block():
    import random

    import distributed.utils_comm
    from sertl_experiments import dask_client

    shared = distributed.utils_comm.random
    with dask_client(workers=1):
        inside = distributed.utils_comm.random
    assert shared is random and inside is not random
    assert isinstance(inside, random.Random)
    assert distributed.utils_comm.random is random  # put back


def test_a_slow_event_loop_start_is_tried_again_then_explained(monkeypatch, caplog):
    import distributed.utils
    from sertl_experiments import ExperimentError, dask_client

    real = distributed.utils.LoopRunner._start_unlocked
    failures = {"left": 1}

    def _start_unlocked(self):  # as distributed's own after its 10 s wait
        if failures["left"]:
            failures["left"] -= 1
            raise AssertionError
        return real(self)

    monkeypatch.setattr(
        distributed.utils.LoopRunner, "_start_unlocked", _start_unlocked
    )
    with caplog.at_level("WARNING", logger="sertl_experiments._dask"):
        with dask_client(workers=1) as client:
            assert client.submit(sum, [1, 2]).result() == 3
    assert "slow to start" in caplog.text

    failures["left"] = 2
    with pytest.raises(ExperimentError, match="did not come up within .* 2 times"):
        with dask_client(workers=1):
            pass  # pragma: no cover


def test_other_assertion_errors_of_the_cluster_are_not_retried(monkeypatch):
    import distributed
    from sertl_experiments import dask_client

    calls = []

    class Broken:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            raise AssertionError("something else")

    monkeypatch.setattr(distributed, "LocalCluster", Broken)
    with pytest.raises(AssertionError, match="something else"):
        with dask_client(workers=1):
            pass  # pragma: no cover
    assert len(calls) == 1


def test_a_cluster_whose_event_loop_was_slow_to_start_is_closed(monkeypatch):
    # the half-built cluster of each failed start was left to distributed's
    # exit hook, which closes it at exit and fails on its workers that never
    # started (a traceback after the command's message)
    import distributed
    import distributed.utils
    from sertl_experiments import ExperimentError, dask_client

    def _start_unlocked(self):  # as distributed's own after its 10 s wait
        raise AssertionError

    monkeypatch.setattr(
        distributed.utils.LoopRunner, "_start_unlocked", _start_unlocked
    )
    before = set(distributed.LocalCluster._instances)
    with pytest.raises(ExperimentError, match="did not come up") as excinfo:
        with dask_client(workers=1):
            pass  # pragma: no cover
    # the error's traceback keeps the last half-built cluster alive to look at
    started = set(distributed.LocalCluster._instances) - before
    assert started, excinfo.value
    assert not any(c.shutdown_on_close for c in started)
