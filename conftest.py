"""Shared pytest fixtures for the core and every plugin's tests."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import os
import re
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
