"""Shared pytest fixtures for the core and every plugin's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent


def shared_corpora_root() -> Path | None:
    """Return the folder of the shared development corpora, or None.

    ``SERTL_CORPORA`` wins; otherwise ``../shared/corpora`` beside the
    repository (the layout of development machines and CI).
    """
    env = os.environ.get("SERTL_CORPORA")
    root = Path(env) if env else _REPO.parent / "shared" / "corpora"
    return root if root.is_dir() else None


@pytest.fixture(scope="session")
def corpora_root() -> Path:
    """Root of the real corpora; skips the test when they are not present."""
    root = shared_corpora_root()
    if root is None:
        pytest.skip(
            "real corpora not found: set SERTL_CORPORA or place ../shared/corpora "
            "beside the repository"
        )
    return root
