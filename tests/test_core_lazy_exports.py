"""The lazy exports (PEP 562) of sertl-core and of each first-party plugin."""

import importlib

import pytest

PACKAGES = [
    "sertl_core",
    "sertl_speech",
    "sertl_feature",
    "sertl_instance",
    "sertl_neural",
    "sertl_relational",
    "sertl_experiments",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves_and_an_unknown_one_is_named(name):
    package = pytest.importorskip(name)
    for public in package.__all__:
        assert getattr(package, public) is not None, public
        assert public in dir(package)
    with pytest.raises(
        AttributeError, match=rf"module '{name}' has no attribute 'nope'"
    ):
        package.nope  # noqa: B018 - the attribute access is the test


def test_a_name_is_imported_once_and_stored(monkeypatch):
    from sertl_core import _lazy, lazy_exports

    seen = []
    real = importlib.import_module
    monkeypatch.setattr(
        _lazy.importlib,
        "import_module",
        lambda module, package=None: seen.append(module) or real(module, package),
    )
    namespace = {"__name__": "json", "__all__": ["dumps"]}
    getattr_, dir_ = lazy_exports(namespace, {"dumps": "json"})
    assert getattr_("dumps") is namespace["dumps"]
    assert seen == ["json"] and "dumps" in dir_()


def test_core_submodules_stay_attributes_after_a_plain_import():
    import sertl_core

    assert sertl_core.base.TransferEstimator is sertl_core.TransferEstimator
    assert sertl_core.methods.SourceOnly is sertl_core.SourceOnly
