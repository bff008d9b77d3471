"""Every adapter and transfer estimator that `sertl plugins` lists passes the kit."""

import json
import subprocess
import sys
import warnings

import pytest

from sertl_core.registry import PluginLoadWarning, Registry, make_plugin_manager
from sertl_core.testing import check_estimator


def _registered():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        reg = Registry(make_plugin_manager())
    return [e for kind in ("adapters", "estimators") for e in reg.entries(kind)]


def _cli_listing():
    out = subprocess.run(
        [sys.executable, "-m", "sertl_core.cli", "plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def test_cli_lists_the_registry():
    listing = _cli_listing()
    assert listing["failed_plugins"] == {}, listing["failed_plugins"]
    listed = {(c["kind"], c["name"]) for c in listing["classes"]}
    assert {(e.kind, e.name) for e in _registered()} <= listed


# KLIEP says when its width cross-validation keeps an edge of the candidate
# grid (sertl_instance.KernelWidthWarning, tested in the plugin), as it does on
# most of the kit's small data sets; so does the vote, which has KLIEP among
# its default members
_KLIEP_EDGE = pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")


@pytest.mark.slow
@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=_KLIEP_EDGE) if e.name in ("kliep", "vote") else e
        for e in _registered()
    ],
    ids=lambda e: f"{e.kind}-{e.name}",
)
def test_registered_class_passes_conformance_kit(entry):
    cls = entry.cls
    # a class may name checks that genuinely do not apply, each with a reason,
    # in _sertl_expected_failed_checks, which the kit reads itself
    instance = (
        cls._sertl_test_instance() if hasattr(cls, "_sertl_test_instance") else cls()
    )
    passed = check_estimator(instance)
    assert len(passed) > 30
