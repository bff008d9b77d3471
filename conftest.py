"""Shared pytest fixtures for the core and every plugin's tests."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from sertl_core._domains import _FIRST_PARTY

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


@pytest.fixture
def memory_available(monkeypatch):
    """Set what ``sertl_core.utils.available_memory`` answers, for this test.

    The up-front memory checks of the methods are tested on small inputs
    with little memory "available", never by allocating gigabytes. Set with
    ``raising=False``: on a core without the check the fit runs, and a test
    fails on its own assertion.
    """
    import sertl_core.utils

    def set_to(n_bytes):
        monkeypatch.setattr(
            sertl_core.utils, "available_memory", lambda: n_bytes, raising=False
        )
        # small inputs: their steps are under the size never refused
        monkeypatch.setattr(sertl_core.utils, "_NEVER_REFUSED", 0, raising=False)

    return set_to


# ---------------------------------------------------------------------------
# File permissions: tests of files this user may not read or reach

_NOBODY = 65534


def _as_unprivileged(fn):
    """Return ``fn()`` as a user whom file permissions bind.

    ``fn`` returns something JSON can carry. Not root: called here. Root (a
    container, CI): called in a forked child that first switches to the
    ``nobody`` uid (the modules ``fn`` needs are imported by the parent
    beforehand, so the child reads no file of the environment, which that
    user may not be allowed to).
    """
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgid(_NOBODY)
            os.setuid(_NOBODY)
            out = json.dumps({"ok": fn()})
            code = 0
        except BaseException as exc:  # reported to the parent, which fails
            out = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        with os.fdopen(write_end, "w") as fh:
            fh.write(out)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "error" not in result, result.get("error")
    return result["ok"]


@pytest.fixture
def as_unprivileged():
    """Return a function that runs ``fn()`` as a user whom file permissions bind.

    See :func:`_as_unprivileged`; POSIX only (``os.geteuid``, ``os.fork``).
    """
    return _as_unprivileged


@pytest.fixture
def open_dir():
    """Yield a folder every user may reach (``tmp_path`` is its owner's only)."""
    path = Path(tempfile.mkdtemp(prefix="sertl-access-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


# ---------------------------------------------------------------------------
# Doctests that need another plugin or an optional extra

# a requirement whose import name is not its distribution name
_IMPORT_NAMES = {
    "scikit-learn": ("sklearn",),
    "imbalanced-learn": ("imblearn",),
    "dask": ("dask", "distributed"),  # dask[distributed]
}


def _import_names(requirement):
    """Return the modules a requirement (``"dask[distributed]>=2024.1"``) gives."""
    name = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip()).group(0).lower()
    return _IMPORT_NAMES.get(name, (name.replace("-", "_").replace(".", "_"),))


@functools.cache
def _optional_modules(package):
    """Modules a first-party ``package`` may use only when they are installed.

    The other first-party packages (each plugin is installed on its own) and
    the modules of the distribution's extras other than ``test``. Read once
    per package from the installed metadata (each doctest asked again).
    """
    out = set(_FIRST_PARTY) - {package}
    try:
        requires = importlib.metadata.requires(package.replace("_", "-")) or []
    except importlib.metadata.PackageNotFoundError:
        return frozenset(out)
    for req in requires:
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        if extra and extra.group(1) != "test":
            out.update(_import_names(req.split(";")[0]))
    return frozenset(out)


def _doctest_imports(dtest):
    """Return the top-level names of the modules a doctest's examples import."""
    names = set()
    for example in dtest.examples:
        try:
            tree = ast.parse(example.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def pytest_collection_modifyitems(config, items):
    """Skip a doctest that imports an optional package which is not installed.

    Optional: another first-party plugin, or a module of one of the
    distribution's extras (``sertl-relational[torch]``). A module that is
    neither (a required dependency, or one used without being declared)
    still fails the doctest: that is a packaging defect, not a choice of the
    user's.
    """
    for item in items:
        dtest = getattr(item, "dtest", None)
        if dtest is None or not dtest.name:
            continue
        package = dtest.name.split(".")[0]
        if package not in _FIRST_PARTY:
            continue
        optional = _optional_modules(package)
        missing = sorted(
            name
            for name in _doctest_imports(dtest) & optional
            if importlib.util.find_spec(name) is None
        )
        if missing:
            hint = ", ".join(
                n.replace("_", "-") if n in _FIRST_PARTY else n for n in missing
            )
            item.add_marker(
                pytest.mark.skip(
                    reason=f"the example needs {hint}, which is not installed "
                    f"(optional for {package.replace('_', '-')})"
                )
            )
