"""Optional Dask scale-out: an existing scheduler or a local cluster."""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
from contextlib import contextmanager

from ._data import ExperimentError

__all__ = ["dask_client"]

# Seconds a connection to --scheduler may take, the handshake included: a
# server that accepts and never answers hangs distributed's own timeout.
_CONNECT_TIMEOUT_S = 20.0

_VALID = "a Dask scheduler's address looks like tcp://HOST:8786"

# Loggers that report, while a client or cluster is closed under running
# tasks (an interrupt) or after its scheduler is gone, that its work was
# cancelled: raised to ERROR only while closing (CRITICAL for the client's).
_CLOSING_LOGGERS = (
    "distributed.client",
    "distributed.worker.state_machine",
    "distributed.worker",
    "distributed.nanny",
    "distributed.scheduler",
    "distributed.core",
)


@contextmanager
def dask_client(scheduler=None, workers=None):
    """Connect to a Dask scheduler or start a local cluster, for the block.

    Without either argument nothing is started and ``None`` is yielded:
    work stays in-process.

    Parameters
    ----------
    scheduler : str, default=None
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    workers : int, default=None
        Start a ``LocalCluster`` with this many single-threaded worker
        processes (its dashboard on a free port).

    Yields
    ------
    client : distributed.Client or None
        Also the default client, so ``joblib.parallel_config(backend="dask")``
        uses it.

    Raises
    ------
    ExperimentError
        A malformed ``scheduler`` address, or no Dask scheduler answering
        there within 20 seconds.

    Examples
    --------
    >>> with dask_client() as client:
    ...     print(client)
    None
    >>> try:
    ...     with dask_client("http://127.0.0.1:8787"):
    ...         pass
    ... except ExperimentError as err:
    ...     print(str(err).split(";")[0])
    --scheduler: 'http://127.0.0.1:8787' is a web address (a dashboard's?)
    """
    if workers is not None and workers < 1:
        raise ExperimentError(f"--workers must be >= 1, got {workers}.")
    if scheduler is None and not workers:
        yield None
        return
    if scheduler is not None and workers:
        raise ExperimentError(
            "give either --scheduler ADDRESS or --workers N, not both."
        )
    if scheduler is not None:
        _check_address(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ExperimentError(
            "--scheduler/--workers need Dask's distributed package, which could "
            f"not be imported ({exc}): pip install 'sertl-experiments[dask]' "
            "(or update dask and distributed together)."
        ) from exc
    if scheduler is not None:
        client = _connect(Client, scheduler, _CONNECT_TIMEOUT_S)
        try:
            yield client
        finally:
            # a client still trying to reach a scheduler that is gone logs
            # the end of its attempts as an error: the run says it already
            with _quiet_closing():
                client.close()
        return
    # distributed's Nanny writes its workers' environment (thread limits,
    # PYTHONHASHSEED, ...) into this process's os.environ, the cluster draws
    # from Python's `random` and adds handlers to its loggers: all undone at
    # the end, so that the caller's process is left as it was
    stages = _ProcessState()
    try:
        cluster = _start_local_cluster(LocalCluster, workers)
        try:
            client = Client(cluster)
        except BaseException:
            with _quiet_closing():
                cluster.close()
            raise
        stages.started()
        interrupted = False
        try:
            yield client
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if interrupted:
                # the workers are stopped under running cells: each says so,
                # in its own process, which ends with the cluster
                _quiet_workers(client)
            stages.closing()
            with _quiet_closing():
                client.close()
                cluster.close()
    finally:
        stages.restore()


# How often a local cluster is started when its event loop is slow to come up
_LOOP_START_TRIES = 2


def _start_local_cluster(cluster_cls, workers, **options):
    """Start a ``LocalCluster``, once more if its event loop was slow to start.

    distributed waits a fixed 10 seconds for the thread of a new cluster's
    event loop to start, then fails on an assertion; on a machine whose
    cores are all busy that wait can run out. Such a failure is tried
    again; a second one becomes an :class:`ExperimentError` that says so.
    The cluster of a failed start is closed before the next try (or the
    error). Other errors propagate unchanged. ``options`` replace the keyword
    arguments given to ``cluster_cls`` (the tests start in-process clusters
    this way).
    """
    # ":0": a free port, so that a dashboard (or any server) on 8787 is no
    # reason for a warning
    kwargs = dict(threads_per_worker=1, processes=True, dashboard_address=":0")
    kwargs.update(options)
    attempt = 1
    while True:
        before = _clusters(cluster_cls)
        try:
            return cluster_cls(n_workers=workers, **kwargs)
        except (KeyboardInterrupt, SystemExit):
            # Ctrl-C or a stop signal (StoppedBySignal) while it starts
            _close_half_started(_clusters(cluster_cls) - before)
            raise
        except AssertionError as exc:
            if not _loop_start_timed_out(exc):
                raise
            # the cluster whose loop did not come up is never handed back:
            # closed here (as far as it goes) and left out of distributed's
            # exit hook, which would fail on it after the command's message
            _close_half_started(_clusters(cluster_cls) - before)
            if attempt >= _LOOP_START_TRIES:
                raise ExperimentError(
                    "--workers: the local Dask cluster did not start: its event "
                    "loop did not come up within distributed's 10 s, "
                    f"{attempt} times; this machine's cores are busy. Try again "
                    "when it is less loaded, or run without --workers (in this "
                    "process)."
                ) from exc
        attempt += 1
        logging.getLogger(__name__).warning(
            "the local Dask cluster's event loop was slow to start (machine "
            "busy?); starting it again"
        )


def _clusters(cluster_cls):
    """Return the clusters of ``cluster_cls``'s kind that exist now (a set).

    distributed lists every ``SpecCluster`` (``LocalCluster`` is one) from
    the start of its construction, to close those still open at exit; an
    empty set for a class without that list.
    """
    return set(getattr(cluster_cls, "_instances", ()))


def _close_half_started(clusters):
    """Close clusters whose start was interrupted, and keep them from exit.

    A ``LocalCluster`` stopped in its constructor (Ctrl-C, SIGTERM) is never
    handed back, so nothing closes it, and at exit distributed's own hook
    closes it and fails on workers that never started (``AssertionError:
    Status.init``), printing a traceback after the command's one-line
    message. Each is closed here, as far as it goes (its scheduler, the
    workers that started; its loop thread stopped), the failure of that
    assertion kept to a debug log line, and is then left out of
    distributed's exit hook (``shutdown_on_close``), also when a second
    interrupt stops this closing.
    """
    for cluster in clusters:
        try:
            with _quiet_closing():
                cluster.close(timeout=10)
        except Exception as exc:  # noqa: BLE001 - a half-started cluster's close
            logging.getLogger(__name__).debug(
                "closing a local cluster whose start was interrupted: %s: %s",
                type(exc).__name__,
                exc,
            )
        finally:
            cluster.shutdown_on_close = False


def _loop_start_timed_out(exc):
    """Whether ``exc`` is distributed's failed wait for its event loop to start."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_start_unlocked":
            return True
        tb = tb.tb_next
    return False


class _ProcessState:
    """What a local cluster does to this process, undone by :meth:`restore`.

    ``started()`` is called once the cluster has started, ``closing()``
    just before it is closed, ``restore()`` at the end of the block.

    - ``os.environ``: what it holds at ``started()``, against the snapshot
      taken here, is what distributed wrote. At the end each of those
      variables is removed or given back its old value, but only while it
      still holds distributed's value (a change the caller made inside the
      block stays).
    - Python's ``random``: the draws of the start are undone at
      ``started()``; from then until the end the ``distributed`` modules
      draw from a private generator (the scheduler picks workers at random
      in this process), so that the caller's stream of draws goes on as if
      no cluster ran; the draws of the closing are undone at the end. The
      caller's own draws inside the block are kept. A ``distributed``
      module first imported inside the block still draws from the shared
      generator.
    - The handlers added to the ``distributed`` loggers are removed.
    """

    def __init__(self):
        self._environ = dict(os.environ)
        self._rng = random.getstate()  # given back at the end
        self._handlers = {n: list(lg.handlers) for n, lg in _distributed_loggers()}
        self._written: dict[str, str | None] = {}  # distributed's; None: removed
        self._swapped: list[tuple[object, str, object]] = []  # module, name, was
        self._started = False

    def started(self):
        self._started = True
        self._note_environ_writes()
        random.setstate(self._rng)
        self._swapped = _private_random()

    def closing(self):
        self._rng = random.getstate()

    def restore(self):
        if not self._started:  # a cluster that failed to start: all was its own
            self._note_environ_writes()
        for module, name, original in reversed(self._swapped):
            setattr(module, name, original)
        for key, value in self._written.items():
            if os.environ.get(key) != value:
                continue  # changed since by the caller: theirs to keep
            if key in self._environ:
                os.environ[key] = self._environ[key]
            else:
                os.environ.pop(key, None)
        random.setstate(self._rng)
        for name, logger in _distributed_loggers():
            before = self._handlers.get(name, [])
            for handler in list(logger.handlers):
                if handler not in before:
                    logger.removeHandler(handler)

    def _note_environ_writes(self):
        now = dict(os.environ)
        for key in now.keys() | self._environ.keys():
            if now.get(key) != self._environ.get(key):
                self._written[key] = now.get(key)


def _private_random():
    """Point the loaded ``distributed`` modules at a private ``random.Random``.

    Both ``import random`` and ``from random import randint`` are covered.
    Returns the ``(module, name, original)`` triples to put back.
    """
    private = random.Random(int.from_bytes(os.urandom(8), "little"))
    shared = random._inst  # the generator behind the module-level functions
    swapped = []
    for name, module in list(sys.modules.items()):
        if module is None or not (
            name == "distributed" or name.startswith("distributed.")
        ):
            continue
        for attr, value in list(vars(module).items()):
            if value is random:
                swapped.append((module, attr, value))
                setattr(module, attr, private)
            elif getattr(value, "__self__", None) is shared and hasattr(
                private, getattr(value, "__name__", "")
            ):
                swapped.append((module, attr, value))
                setattr(module, attr, getattr(private, value.__name__))
    return swapped


def _distributed_loggers():
    """``(name, logger)`` of the ``distributed`` logger and those below it."""
    return [
        (name, lg)
        for name, lg in list(logging.Logger.manager.loggerDict.items())
        if isinstance(lg, logging.Logger)
        and (name == "distributed" or name.startswith("distributed."))
    ]


def _check_address(scheduler):
    """Refuse a ``--scheduler`` value that cannot be a scheduler's address."""
    text = scheduler.strip() if isinstance(scheduler, str) else ""
    if not text:
        raise ExperimentError(f"--scheduler: no address given; {_VALID}.")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        raise ExperimentError(
            f"--scheduler: {scheduler!r} is a web address (a dashboard's?); "
            f"{_VALID} (the scheduler's port, by default 8786, not the "
            "dashboard's 8787)."
        )
    if scheme not in ("tcp", "tls", "ucx", "ws", "wss"):
        raise ExperimentError(
            f"--scheduler: {scheduler!r} is not the address of a scheduler that "
            f"this process can reach over a network ({scheme}://); {_VALID}."
        )
    host, colon, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExperimentError(
            f"--scheduler: {scheduler!r} is not HOST:PORT; {_VALID} "
            "(host name or IP address, then the scheduler's port)."
        )


def _connect(client_cls, scheduler, timeout):
    """Connect to ``scheduler`` within ``timeout`` seconds, or raise.

    The connection is made in a daemon thread: distributed's own timeout
    does not bound a handshake with a server that accepts and never answers.
    A client that connects after the deadline is closed at once.
    """
    lock = threading.Lock()
    state = {"client": None, "error": None, "gave_up": False}

    def connect():
        try:
            client = client_cls(scheduler, timeout=f"{timeout}s")
        except Exception as exc:  # reported to the waiting thread below
            _close_unfinished_client(client_cls, exc)
            with lock:
                state["error"] = exc
            return
        with lock:
            late = state["gave_up"]
            state["client"] = client
        if late:
            client.close()

    thread = threading.Thread(target=connect, name="sertl-dask-connect", daemon=True)
    thread.start()
    # a little longer than distributed's own timeout, which reports a
    # refused or unreachable address better than this deadline can
    thread.join(timeout + max(1.0, timeout / 4))
    with lock:
        state["gave_up"] = state["client"] is None and state["error"] is None
        client, error = state["client"], state["error"]
    if client is not None:
        return client
    if error is None:
        raise ExperimentError(
            f"--scheduler: nothing at {scheduler!r} answered as a Dask scheduler "
            f"within {timeout:g} s; {_VALID} (start one with `dask scheduler`)."
        )
    if isinstance(error, OSError):  # refused, unreachable, timed out
        raise ExperimentError(
            f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} "
            f"({type(error).__name__}: {_first_line(error)}); {_VALID} "
            "(start one with `dask scheduler`)."
        )
    raise ExperimentError(
        f"--scheduler: the server at {scheduler!r} does not answer as a Dask "
        f"scheduler ({type(error).__name__}); {_VALID}."
    )


def _close_unfinished_client(client_cls, exc):
    """Close the client whose constructor raised ``exc``, in this thread.

    A client that failed to connect (a server that is no scheduler) can be
    left half open. Left to the garbage collector, its ``__del__`` closes it
    whenever a collection happens to run; when that is inside distributed's
    ``LoopRunner`` start, which holds a lock shared by all clients and
    clusters while it creates a thread, the close waits for that same lock
    and the process hangs (seen: a local cluster started after a refused
    ``--scheduler``). Closed here, it leaves nothing for ``__del__`` to do.
    """
    tb = exc.__traceback__
    while tb is not None:
        unfinished = tb.tb_frame.f_locals.get("self")
        if isinstance(unfinished, client_cls):
            try:
                unfinished.close()
            except Exception:  # the connection error is what is reported
                logging.getLogger(__name__).debug(
                    "closing the client that failed to connect", exc_info=True
                )
            return
        tb = tb.tb_next


def _first_line(exc, limit=200):
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quiet_workers(client):
    """Silence the workers' warnings about the cells cancelled by closing."""
    try:
        client.run(_raise_levels, _CLOSING_LOGGERS, logging.ERROR)
    except (OSError, TimeoutError, RuntimeError) as exc:
        # a worker that is already gone prints nothing anyway
        logging.getLogger(__name__).debug("could not quiet the workers: %s", exc)


def _raise_levels(names, level):
    """Raise the level of the named loggers (in a worker that is closing)."""
    for name in names:
        logging.getLogger(name).setLevel(level)


@contextmanager
def _quiet_closing():
    """Raise the distributed loggers' levels for the block, then restore them."""
    loggers = [logging.getLogger(n) for n in _CLOSING_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        quiet = logging.CRITICAL if lg.name == "distributed.client" else logging.ERROR
        lg.setLevel(max(lg.getEffectiveLevel(), quiet))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
