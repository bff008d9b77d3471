"""Fixtures of the sertl-speech tests."""

import traceback

import pytest


@pytest.fixture(scope="session")
def start_local_cluster():
    """A function ``start(**options)`` that returns ``LocalCluster(**options)``.

    distributed gives the thread of a new cluster's event loop a fixed 10 s to
    start and then fails on an ``AssertionError`` raised in
    ``LoopRunner._start_unlocked``; with every core busy (CI runs the suite on
    two workers of a two-core machine) that wait can run out. Such a failure
    starts the cluster once more; any other error propagates.
    """
    LocalCluster = pytest.importorskip("distributed").LocalCluster

    def start(**options):
        try:
            return LocalCluster(**options)
        except AssertionError as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            if not any(f.name == "_start_unlocked" for f in frames):
                raise
        return LocalCluster(**options)

    return start
