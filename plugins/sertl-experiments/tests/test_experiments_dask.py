import json
import os
import signal

import numpy as np
import pandas as pd
import pytest
from sertl_experiments._dask import _start_local_cluster

pytest.importorskip("distributed")


def test_local_cluster_runs_features_and_cells(
    synthetic_config, synthetic_data, tmp_path
):
    from joblib import parallel_config
    from sertl_experiments import FeatureSpec
    from sertl_experiments._dask import dask_client
    from sertl_experiments._data import extract_features
    from sertl_experiments._recipes import Recipe
    from sertl_experiments._runner import run_experiment
    from sertl_experiments._selection import search
    from sertl_speech import load_sample

    files = list(load_sample("emodb")["file"][:4])
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        X, failed = extract_features(
            files, FeatureSpec(n_jobs=2), client=client, progress=False
        )
        assert X.shape[0] == 4 and np.isfinite(X).all() and not failed
        # cells of the matrix run as Dask tasks
        cfg = synthetic_config(methods=[{"name": "dss"}])
        res = run_experiment(
            cfg, data=synthetic_data, client=client, progress=False, log=lambda *_: None
        )
        assert res.n_computed == 4
        assert (pd.read_csv(cfg.output / "results.csv")["status"] == "ok").all()
        # GridSearchCV through joblib's Dask backend
        a, b = synthetic_data["a"], synthetic_data["b"]
        Xg = np.vstack([a.X, b.X])
        y = np.r_[a.y, np.full(len(b.y), "-1")]
        sd = np.r_[np.ones(len(a.y), int), -np.ones(len(b.y), int)]
        with parallel_config(backend="dask"):
            gs, names = search(
                [Recipe("no_adaptation", scaling="source"), Recipe("dss")],
                Xg,
                y,
                sd,
                n_jobs=-1,
            )
        assert names[gs.best_index_] in {"no_adaptation", "dss"}
        assert np.isfinite(gs.cv_results_["mean_test_importance_weighted"]).all()


def test_no_cluster_by_default():
    from sertl_experiments._dask import dask_client

    with dask_client() as client:
        assert client is None


def test_both_options_refused():
    from sertl_experiments._dask import dask_client
    from sertl_experiments._data import ExperimentError

    with (
        pytest.raises(ExperimentError, match="either --scheduler"),
        dask_client("tcp://127.0.0.1:1", 2),
    ):
        pass


def _killing_saver(victim):
    """A model saver whose ``victim`` (source, method) kills its worker process.

    The saver travels inside each cell's task, so the cell dies in whatever
    worker computes it; a class defined here is shipped by value. In the
    test's own process (no worker) it never kills.
    """
    import os

    from sertl_experiments._runner import _ModelSaver

    main = os.getpid()

    class KillingSaver(_ModelSaver):
        def why_not(self, recipe):
            if os.getpid() != main and (self.source, self.method) == victim:
                os._exit(1)  # as an out-of-memory kill or a segfault would
            return super().why_not(recipe)

    return KillingSaver


def test_cell_whose_worker_dies_is_a_failed_cell(
    synthetic_config, synthetic_data, monkeypatch
):
    pytest.importorskip("sertl_feature")
    import threading

    import dask
    from sertl_experiments import _runner
    from sertl_experiments._dask import dask_client

    monkeypatch.setattr(_runner, "_ModelSaver", _killing_saver(("a", "dss")))
    cfg = synthetic_config(
        methods=[{"name": "dss"}, {"name": "coral", "adapter": "coral"}],
        save_models=True,
    )
    lines, outcome = [], {}

    def run(client):
        outcome["result"] = run_experiment_quiet(
            cfg, synthetic_data, client, lines.append
        )

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        dask_client(workers=2) as client,
    ):
        # joblib's Dask backend waited forever for a cell whose worker died
        runner = threading.Thread(target=run, args=(client,), daemon=True)
        runner.start()
        runner.join(120)
        assert not runner.is_alive(), "the run hangs on the cell whose worker died"
    res = outcome["result"]
    df = res.results.set_index(["source", "target", "method"])
    assert len(df) == 4  # a -> b, b -> a; dss, coral
    failed = df.loc[("a", "b", "dss")]
    assert failed["status"] == "error"
    assert "the Dask worker computing it (tcp://" in failed["error"]
    assert "died, out of memory, killed or crashed" in failed["error"]
    assert "KilledWorker" in failed["error"]
    others = df.drop(index=("a", "b", "dss"))
    assert (others["status"] == "ok").all()
    assert any("cell a__b__dss__seed0 failed" in line for line in lines)
    assert "Cells that failed" in res.report.read_text()
    cell = cfg.output / "cells" / "a__b__dss__seed0.json"
    assert '"status": "error"' in cell.read_text()
    # a rerun computes the failed cell again, and only it
    monkeypatch.undo()
    again = run_experiment_quiet(cfg, synthetic_data, None, lines.append)
    assert (again.n_computed, again.n_reused) == (1, 5)
    assert (again.results["status"] == "ok").all()


def run_experiment_quiet(cfg, data, client, log):
    from sertl_experiments._runner import run_experiment

    return run_experiment(cfg, data=data, client=client, progress=False, log=log)


def test_cluster_without_workers_stops_the_run_with_a_hint(
    synthetic_config, synthetic_data, monkeypatch
):
    from distributed import Client, LocalCluster
    from sertl_experiments import _runner
    from sertl_experiments._data import ExperimentError

    monkeypatch.setattr(_runner, "_DASK_CHECK_S", 0.2)
    monkeypatch.setattr(_runner, "_DASK_NO_WORKERS_S", 1.0)
    cfg = synthetic_config(methods=[{"name": "dss"}])
    with (
        _start_local_cluster(
            LocalCluster, 0, processes=False, protocol="tcp", dashboard_address=":0"
        ) as cluster,
        Client(cluster.scheduler_address) as client,  # as with --scheduler
        pytest.raises(ExperimentError, match="no workers") as err,
    ):
        run_experiment_quiet(cfg, synthetic_data, client, lambda *_: None)
    msg = str(err.value)
    assert "4 of 4 cells left to compute" in msg
    assert "dask worker tcp://" in msg
    # a --fresh run rerun as it was would delete the cells it kept
    assert "rerun the command to resume (without --fresh, which deletes them)" in msg
    assert str(cfg.output / "cells") in msg


@pytest.mark.parametrize(
    ("address", "match"),
    [
        ("nonsense", r"--scheduler: 'nonsense' is not HOST:PORT"),
        ("", r"--scheduler: no address given"),
        ("tcp://10.0.0.5", r"--scheduler: 'tcp://10.0.0.5' is not HOST:PORT"),
        ("tcp://10.0.0.5:99999", r"is not HOST:PORT"),
        ("inproc://x", r"--scheduler: 'inproc://x' is not the address of a sched"),
        ("http://127.0.0.1:8787", r"--scheduler: 'http://127.0.0.1:8787' is a web"),
        ("https://example.org:8787/status", r"is a web address"),
    ],
)
def test_malformed_scheduler_address_is_refused(address, match):
    from sertl_experiments._dask import dask_client
    from sertl_experiments._data import ExperimentError

    with pytest.raises(ExperimentError, match=match) as err, dask_client(address):
        pass
    assert "tcp://HOST:8786" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.fixture
def tcp_server():
    """Start a TCP server on a free local port that sends ``reply`` (or nothing).

    Yields a function ``start(reply) -> "tcp://127.0.0.1:PORT"``; every
    socket is closed at the end.
    """
    import socket
    import threading

    opened = []

    def start(reply):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        opened.append(srv)

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:  # closed at the end of the test
                    return
                opened.append(conn)
                if reply:
                    conn.sendall(reply)

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{srv.getsockname()[1]}"

    yield start
    for sock in reversed(opened):
        sock.close()


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (None, r"nothing at 'tcp://127\.0\.0\.1:\d+' answered as a Dask scheduler"),
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4,
            r"the server at 'tcp://127\.0\.0\.1:\d+' does not answer as a Dask",
        ),
    ],
    ids=["silent", "garbage"],
)
def test_server_that_is_no_scheduler_is_refused_in_time(
    tcp_server, monkeypatch, reply, match
):
    import time

    from sertl_experiments import _dask
    from sertl_experiments._data import ExperimentError

    # distributed's own timeout does not bound a silent server's handshake
    monkeypatch.setattr(_dask, "_CONNECT_TIMEOUT_S", 2.0)
    address = tcp_server(reply)
    before = {id(c) for c in _clients()}
    started = time.monotonic()
    with pytest.raises(ExperimentError, match=match) as err, _dask.dask_client(address):
        pass
    assert time.monotonic() - started < 10
    assert "tcp://HOST:8786" in str(err.value)
    if reply:
        # the client that failed is closed now, not by the garbage collector
        # at some later moment (inside a cluster's start, that hung the
        # process: distributed's loop lock is taken twice)
        left_open = [c for c in _clients() if id(c) not in before]
        assert [c.status for c in left_open if c.status != "closed"] == []


def _clients():
    import gc

    from distributed import Client

    # type(), not isinstance(): isinstance reads __class__, which some lazy
    # module objects of other libraries answer with a deprecation warning
    return [o for o in gc.get_objects() if type(o) is Client]


def test_local_cluster_dashboard_takes_a_free_port():
    import socket
    import warnings

    from sertl_experiments._dask import dask_client

    # a server on 8787 (another cluster's dashboard) is no reason for a warning
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 8787))
        busy.listen(1)
    except OSError:
        busy.close()  # 8787 is taken already: the case under test
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with dask_client(workers=1) as client:
                link = client.dashboard_link
                assert link.startswith("http://") and ":8787/" not in link
    finally:
        busy.close()


def test_interrupt_closes_the_local_cluster_quietly(capfd):
    import logging
    import time

    from sertl_experiments._dask import _CLOSING_LOGGERS, dask_client

    levels = {name: logging.getLogger(name).level for name in _CLOSING_LOGGERS}
    with pytest.raises(KeyboardInterrupt), dask_client(workers=1) as client:
        fut = client.submit(time.sleep, 30, pure=False)
        deadline = time.monotonic() + 20
        while not any(client.processing().values()):
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
        time.sleep(0.3)  # the worker is executing it
        raise KeyboardInterrupt  # as Ctrl-C during the cells
    assert fut.status != "finished"
    # the worker, in its own process, said nothing of the task it dropped
    assert "Async instruction" not in capfd.readouterr().err
    # and this process's loggers are as they were
    assert {n: logging.getLogger(n).level for n in _CLOSING_LOGGERS} == levels


# A stop signal while the local cluster starts: its worker's start sends
# SIGTERM to the process and stalls, so the signal comes in the middle of
# LocalCluster's constructor, however loaded the machine
_STOPPED_WHILE_STARTING = """
import asyncio, os, signal, sys
from distributed import Nanny

start = Nanny.start_unsafe


async def stalled(self):
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(2)
    return await start(self)


Nanny.start_unsafe = stalled
from sertl_core.cli import StoppedBySignal, stop_signals
from sertl_experiments import dask_client

try:
    with stop_signals(), dask_client(workers=1):
        print("the cluster started", flush=True)
except StoppedBySignal as stop:
    print(f"sertl run: {stop}.", file=sys.stderr)
    sys.exit(stop.exit_code)
"""


@pytest.mark.skipif(
    not hasattr(signal, "SIGTERM") or os.name != "posix",
    reason="sends SIGTERM to its own process",
)
def test_stop_while_the_local_cluster_starts_exits_without_traceback(tmp_path):
    # Ctrl-C or SIGTERM during `--workers N`'s cluster start: the command
    # said its one line, then distributed's exit hook closed the cluster the
    # constructor never handed back and printed an AssertionError traceback
    import subprocess
    import sys

    from distributed import Nanny

    if not hasattr(Nanny, "start_unsafe"):
        pytest.skip("this distributed's Nanny has no start_unsafe to stall")
    done = subprocess.run(
        [sys.executable, "-c", _STOPPED_WHILE_STARTING],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 143, done.stderr
    assert done.stdout == ""  # stopped before the block began
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "sertl run: stopped by SIGTERM."
    assert not any(tmp_path.iterdir())  # no worker folder left behind


def _held_cell(task):
    """A stand-in for ``run_cell``: marks its start, then waits for ``go``."""
    import time
    from pathlib import Path

    started, go = map(Path, task)
    started.touch()
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"status": "ok", "cell": started.name}


def test_workers_that_join_take_cells_before_any_cell_finishes(tmp_path, monkeypatch):
    import threading
    import time
    from pathlib import Path

    from distributed import Client, LocalCluster
    from sertl_experiments import _runner

    monkeypatch.setattr(_runner, "_DASK_CHECK_S", 0.1)
    monkeypatch.setattr(_runner, "run_cell", _held_cell)
    go = tmp_path / "go"
    tasks = [
        (Path(f"c{i}.json"), (str(tmp_path / f"started-{i}"), str(go)))
        for i in range(4)
    ]
    finished, errors = [], []

    def started():
        return sorted(p.name for p in tmp_path.glob("started-*"))

    def wait_for(condition, what, timeout):
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what}; started: {started()}"
            time.sleep(0.05)

    def run(client):
        try:
            _runner._execute_dask(
                tasks,
                client,
                lambda i, cell: finished.append((i, cell)),
                n_done=lambda: len(finished),
            )
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    with (
        _start_local_cluster(
            LocalCluster, 0, processes=False, protocol="tcp", dashboard_address=":0"
        ) as cluster,
        Client(cluster.scheduler_address) as client,  # as with --scheduler
    ):
        runner = threading.Thread(target=run, args=(client,), daemon=True)
        runner.start()
        try:
            # no workers: one cell is submitted, and waits
            time.sleep(0.5)
            assert started() == []
            cluster.scale(3)
            wait_for(
                lambda: len(client.nthreads()) == 3, "the workers never joined", 10
            )
            # each worker that joined takes a cell while the first still runs
            wait_for(
                lambda: len(started()) == 3,
                "the workers that joined took no cell",
                5,
            )
            time.sleep(0.5)  # several health checks: no more than one per thread
            assert len(started()) == 3 and finished == []
        finally:
            go.touch()
            runner.join(30)
        assert not runner.is_alive() and not errors
    assert sorted(i for i, _ in finished) == [0, 1, 2, 3]
    assert started() == [f"started-{i}" for i in range(4)]


_CLUSTER_AFTER_A_REFUSED_SCHEDULER = """
import gc, socket, threading
from distributed import LocalCluster
from distributed.utils import LoopRunner
from sertl_experiments import _dask
from sertl_experiments._data import ExperimentError

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)

def serve():
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        conn.sendall(b"HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n" * 4)

threading.Thread(target=serve, daemon=True).start()
_dask._CONNECT_TIMEOUT_S = 2.0
gc.disable()  # the failed client is not collected before the cluster starts
try:
    with _dask.dask_client(f"tcp://127.0.0.1:{srv.getsockname()[1]}"):
        pass
except ExperimentError:
    print("refused", flush=True)
start = LoopRunner._start_unlocked

def start_unlocked(self):
    gc.collect()  # a collection that runs while distributed holds its lock
    return start(self)

LoopRunner._start_unlocked = start_unlocked
with LocalCluster(n_workers=0, processes=False, dashboard_address=None):
    print("cluster started", flush=True)
"""


def test_a_refused_scheduler_does_not_hang_a_cluster_started_later():
    # a half-open client left to the garbage collector was closed inside a
    # later cluster's start, where distributed holds the lock that close needs
    import subprocess
    import sys

    try:
        done = subprocess.run(
            [sys.executable, "-c", _CLUSTER_AFTER_A_REFUSED_SCHEDULER],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the cluster's start hung: {exc.stdout!r}")
    assert done.stdout.split() == ["refused", "cluster", "started"], done.stderr


@pytest.mark.slow  # about 11 s: a local cluster of two worker processes
def test_grid_gathers_the_warnings_of_its_dask_workers(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    # sertl grid --workers N: the fits ran in the workers' processes, which
    # printed their ConvergenceWarning there; the grid's summary on stderr,
    # which lists the in-process fits' warnings, had none of them (only the
    # refit of the chosen candidate, in this process, could warn: here it
    # converges). The workers now send them back, as sertl run's cells do.
    # Two workers: with one single-threaded worker joblib's Dask backend
    # runs every fit in this process
    from sertl_experiments import _runner
    from sertl_experiments._cli import main

    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (synthetic_data, []))
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[corpora.a]\nreader = "emodb"\nroot = "sample"\n'
        '[corpora.b]\nreader = "ravdess"\nroot = "sample"\n'
        '[matrix]\nsources = ["a"]\ntargets = ["b"]\n'
        "[protocol]\nseeds = [0]\nselection_splits = 2\n"
        '[classifier]\nname = "logreg"\n'
        '[[methods]]\nname = "dss"\ngrid = { classifier__max_iter = [1000, 1] }\n'
    )
    assert main(["grid", str(exp), "--json", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    (entry,) = json.loads(captured.out)
    chosen = entry["candidates"][entry["best_index"]]["params"]
    assert chosen == {"classifier__max_iter": 1000}, entry  # its refit converges
    lines = [ln for ln in captured.err.splitlines() if "ConvergenceWarning" in ln]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("warning: during the search: ConvergenceWarning: ")
    assert lines[0].endswith("(e.g. a -> b seed 0)")


def test_warnings_of_a_category_the_caller_cannot_import_keep_its_name():
    import warnings

    from sertl_experiments._selection import _raise_worker_warnings

    class Events:
        def get_events(self, topic):
            assert topic == "t"
            msg = [
                ["sklearn.exceptions", "ConvergenceWarning", "set max_iter"],
                ["worker_only_module", "OddWarning", "odd"],
            ]
            return ((0.0, msg), (1.0, msg[:1]))

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _raise_worker_warnings(Events(), "t")
    assert [(w.category, str(w.message)) for w in record] == [
        (ConvergenceWarning, "set max_iter"),
        (UserWarning, "OddWarning: odd"),
    ]


def test_search_on_a_client_returns_a_plain_fitted_pipeline():
    # search(client=...) fits a recording Pipeline subclass on the workers;
    # the chosen model handed back is the plain Pipeline a search without
    # client returns, fitted, with the same predictions
    from sertl_experiments import dask_client
    from sertl_experiments._recipes import Recipe
    from sertl_experiments._selection import search
    from sklearn.pipeline import Pipeline

    from sertl_core.testing import make_domain_data

    X, y, sd, _ = make_domain_data(n_per_domain=30, n_features=4)
    recipes = [Recipe("dss")]
    alone, _ = search(recipes, X, y, sd)
    # (dask_client, as sertl grid: an in-process worker would leave its log
    # handlers on distributed's loggers for the tests after this one)
    with dask_client(workers=1) as client:
        on_client, _ = search(recipes, X, y, sd, client=client, n_jobs=-1)
    assert type(on_client.best_estimator_) is Pipeline
    np.testing.assert_array_equal(
        on_client.best_estimator_.predict(X), alone.best_estimator_.predict(X)
    )
