"""Every public object documents itself: an Examples doctest, and a paper for each method.

The project's standard (CONTRIBUTING.md): numpydoc docstrings with an
Examples section that runs as a doctest on every public object, and a
References section citing the paper for every method a registry offers.
These tests find the objects by ``__all__`` and by the registry, so a new
public class or a new plugin is checked without being listed here.
"""

import importlib
import importlib.util
import inspect

import pytest

from sertl_core import get_registry
from sertl_core._domains import _FIRST_PARTY
from sertl_core.testing import check_docstring

# every first-party package, and the core's public submodules
PACKAGES = [
    *_FIRST_PARTY,
    "sertl_core.model_selection",
    "sertl_core.params",
    "sertl_core.registry",
    "sertl_core.testing",
    "sertl_core.utils",
]


def _public(package):
    if importlib.util.find_spec(package) is None:  # a plugin that is not installed
        return []
    # one that is installed and does not import (a missing dependency) fails
    mod = importlib.import_module(package)
    out = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out.append(pytest.param(obj, id=f"{package}.{name}"))
    return out


PUBLIC = [p for pkg in PACKAGES for p in _public(pkg)]
METHOD_KINDS = ("adapters", "estimators", "scorers", "splitters")
METHODS = [
    pytest.param(cls, id=f"{kind}:{name}")
    for kind in METHOD_KINDS
    for name in get_registry().names(kind)
    for cls in [get_registry().get(kind, name)]
]


def test_the_checks_find_objects():
    # guards against a silent import failure that would make the tests below
    # vacuous: every first-party package that is installed shows its objects
    installed = installed_first_party()
    for package in installed:
        assert any(p.id.startswith(f"{package}.") for p in PUBLIC), package
    names = {p.id.split(":")[1] for p in METHODS}
    assert {"source_only", "domain_standard_scaler"} <= names
    if "sertl_feature" in installed:
        assert {"coral", "tca"} <= names
    if "sertl_instance" in installed:
        assert "kmm" in names
    skip_count_unless_every_plugin(installed)
    assert len(PUBLIC) > 50


def installed_first_party():
    """The first-party packages installed here (the core at least)."""
    return [p for p in _FIRST_PARTY if importlib.util.find_spec(p) is not None]


def skip_count_unless_every_plugin(installed):
    """Skip a count check that holds only with every first-party plugin."""
    if len(installed) < len(_FIRST_PARTY):
        pytest.skip(
            "the count covers every first-party plugin; not installed: "
            + ", ".join(sorted(set(_FIRST_PARTY) - set(installed)))
        )


@pytest.mark.parametrize("obj", PUBLIC)
def test_public_object_has_examples_doctest(obj):
    # the conformance kit's check, which third-party plugins run too
    check_docstring(obj, references=False)


@pytest.mark.parametrize("cls", METHODS)
def test_registered_method_cites_a_paper(cls):
    check_docstring(cls)
