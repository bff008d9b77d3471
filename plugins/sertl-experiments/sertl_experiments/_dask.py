"""Optional Dask scale-out: an existing scheduler or a local cluster."""

from __future__ import annotations

from contextlib import contextmanager

from ._data import ExperimentError

__all__ = ["dask_client"]


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
        processes.

    Yields
    ------
    client : distributed.Client or None
        Also the default client, so ``joblib.parallel_config(backend="dask")``
        uses it.

    Examples
    --------
    >>> with dask_client() as client:
    ...     print(client)
    None
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
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExperimentError(
            "--scheduler/--workers need Dask: pip install 'sertl-experiments[dask]'."
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ExperimentError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler!r}: {exc}"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        raise ExperimentError(f"--workers must be >= 1, got {workers}.")
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
