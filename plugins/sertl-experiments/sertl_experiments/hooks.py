"""Registration of sertl-experiments through the sertl hooks."""

from __future__ import annotations

from sertl_core import hookimpl


@hookimpl
def sertl_add_commands(subparsers):
    """Add ``run``, ``grid``, ``predict`` and ``demo`` to the ``sertl`` command."""
    from ._cli import add_commands

    add_commands(subparsers)


@hookimpl
def sertl_register_estimators():
    """Register :class:`~sertl_experiments.TransferVote` (``vote``)."""
    from ._vote import TransferVote

    return [TransferVote]
