"""Plugin manager and registry, with a fresh manager per test and fake entry points."""

import inspect
import json
import re
import sys
import threading
import types
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from sertl_core import DomainAdapter, hookimpl, hookspecs
from sertl_core.registry import (
    KINDS,
    PluginLoadWarning,
    Registry,
    RegistryError,
    make_plugin_manager,
)


class FakeAdapter(DomainAdapter):
    registry_name = "fake_adapter"

    def _fit(self, data):
        self.mean_ = data.X.mean(0)

    def _transform(self, X, sample_domain):
        return X - self.mean_


class OtherFakeAdapter(FakeAdapter):
    registry_name = "fake_adapter"


def _module(name, **hooks):
    mod = types.ModuleType(name)
    for key, value in hooks.items():
        setattr(mod, key, value)
    return mod


def _install_fake(monkeypatch, modules):
    """Register fake modules as entry points of the group 'sertl'."""
    eps = []
    for ep_name, mod in modules.items():
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
        eps.append(metadata.EntryPoint(ep_name, mod.__name__, "sertl"))
    real = metadata.entry_points

    def fake(**kw):
        if kw.get("group") == "sertl":
            return eps
        return real(**kw)

    monkeypatch.setattr("sertl_core.registry.metadata.entry_points", fake)


def _adapters_hook(*classes):
    @hookimpl
    def sertl_register_adapters():
        return list(classes)

    return sertl_register_adapters


def test_fake_entry_point_registers_class(monkeypatch):
    _install_fake(
        monkeypatch,
        {
            "fake": _module(
                "fake_plugin_mod", sertl_register_adapters=_adapters_hook(FakeAdapter)
            )
        },
    )
    reg = Registry(make_plugin_manager())
    assert reg.get("adapters", "fake_adapter") is FakeAdapter
    entry = next(e for e in reg.entries("adapters") if e.name == "fake_adapter")
    assert entry.plugin == "fake"
    assert entry.class_path.endswith("FakeAdapter")
    # the core registers through the same hooks, even with no installed entry point
    assert "domain_standard_scaler" in reg.names("adapters")
    assert reg.create("adapters", "fake_adapter").get_params() == {}


def test_duplicate_names_rejected_naming_both(monkeypatch):
    _install_fake(
        monkeypatch,
        {
            "one": _module(
                "fake_one", sertl_register_adapters=_adapters_hook(FakeAdapter)
            ),
            "two": _module(
                "fake_two", sertl_register_adapters=_adapters_hook(OtherFakeAdapter)
            ),
        },
    )
    clash = r"Duplicate adapter name 'fake_adapter'.*FakeAdapter.*'one'.*OtherFakeAdapter.*'two'"
    with pytest.warns(PluginLoadWarning, match=clash):
        reg = Registry(make_plugin_manager())
    # neither class wins the name silently; the name's error names both
    with pytest.raises(RegistryError, match=clash + ".*rename one registry_name"):
        reg.get("adapters", "fake_adapter")
    assert "fake_adapter" not in reg.names("adapters")
    assert set(reg.failures) >= {"one", "two"}
    # the other plugins still work
    assert reg.get("estimators", "source_only").__name__ == "SourceOnly"


def test_one_plugin_claiming_a_name_twice_is_not_told_to_uninstall_a_plugin(
    monkeypatch,
):
    # one hook listing a class twice made it "conflict with itself", and a
    # subclass that inherits its parent's name in the same plugin was told to
    # uninstall one of the plugins, without the inherited-name hint
    class Variant(FakeAdapter):  # forgot its own registry_name
        pass

    @hookimpl
    def sertl_register_estimators():
        return [GoodEstimator, GoodEstimator]

    _install_fake(
        monkeypatch,
        {
            "mine": _module(
                "fake_mine_twice",
                sertl_register_adapters=_adapters_hook(FakeAdapter, Variant),
                sertl_register_estimators=sertl_register_estimators,
            )
        },
    )
    clash = (
        r"Duplicate adapter name 'fake_adapter': \S+FakeAdapter from plugin 'mine' "
        r".* and \S+Variant from plugin 'mine' .*\. Neither is registered under "
        r"'fake_adapter': rename one registry_name \(\S*Variant inherits it: set "
        r"registry_name in the subclass itself\)$"
    )
    with pytest.warns(PluginLoadWarning, match=clash) as caught:
        reg = Registry(make_plugin_manager())
    # the class listed twice is registered once, without a word
    assert reg.get("estimators", "fake_good_estimator") is GoodEstimator
    assert len(caught) == 1
    assert "uninstall one of the plugins" not in reg.failures["mine"]
    with pytest.raises(RegistryError, match="Variant inherits it"):
        reg.get("adapters", "fake_adapter")


def test_one_class_under_two_kinds_is_told_to_use_one_hook(monkeypatch):
    class Both(FakeAdapter):
        registry_name = "fake_both"

        def predict(self, X):
            return X[:, 0]

    @hookimpl
    def sertl_register_estimators():
        return [Both]

    _install_fake(
        monkeypatch,
        {
            "mine": _module(
                "fake_mine_both",
                sertl_register_adapters=_adapters_hook(Both),
                sertl_register_estimators=sertl_register_estimators,
            )
        },
    )
    with pytest.warns(
        PluginLoadWarning,
        match=r"Duplicate name 'fake_both'.*: return \S+Both from one hook only$",
    ):
        reg = Registry(make_plugin_manager())
    assert "fake_both" not in reg.names("adapters") + reg.names("estimators")


def test_third_party_name_clashing_with_the_core_is_skipped(monkeypatch):
    from sertl_core import DomainStandardScaler, SourceOnly

    class MySourceOnly(GoodEstimator):
        registry_name = "source_only"

    class MyScaler(DomainStandardScaler):  # inherits registry_name
        pass

    @hookimpl
    def sertl_register_estimators():
        return [MySourceOnly]

    _install_fake(
        monkeypatch,
        {
            "mine": _module(
                "fake_mine",
                sertl_register_estimators=sertl_register_estimators,
                sertl_register_adapters=_adapters_hook(MyScaler),
            )
        },
    )
    with pytest.warns(PluginLoadWarning) as caught:
        reg = Registry(make_plugin_manager())
    # sertl's own names stay theirs: the built-ins work (sertl demo, every
    # default sertl run), the third-party classes are skipped and reported
    assert reg.get("estimators", "source_only") is SourceOnly
    assert reg.get("adapters", "domain_standard_scaler") is DomainStandardScaler
    messages = " | ".join(str(w.message) for w in caught)
    assert re.search(
        r"MySourceOnly claims the estimator name 'source_only', which "
        r"sertl-core's sertl_core\.methods\.SourceOnly has.*it is skipped",
        messages,
    )
    assert "MyScaler inherits it: set registry_name in the subclass" in messages
    assert "MySourceOnly inherits" not in messages  # its own name, not inherited
    assert "mine" in reg.failures and "core" not in reg.failures


def test_a_name_of_another_kind_is_answered_without_an_install_hint(monkeypatch):
    class Coral(FakeAdapter):  # a first-party name, installed as an adapter
        registry_name = "coral"

    _install_fake(
        monkeypatch,
        {"f": _module("fake_f", sertl_register_adapters=_adapters_hook(Coral))},
    )
    reg = Registry(make_plugin_manager())
    with pytest.raises(RegistryError) as info:
        reg.get("estimators", "coral")
    message = str(info.value)
    assert "'coral' is registered as adapter: get('adapters', 'coral')" in message
    assert "pip install" not in message  # it is installed


def test_warnings_as_errors_stop_the_caller_but_not_the_build(monkeypatch):
    @hookimpl
    def sertl_register_adapters():  # the missing return
        pass

    _install_fake(
        monkeypatch,
        {
            "bad": _module("fake_bad", sertl_register_adapters=sertl_register_adapters),
            "good": _module(
                "fake_good", sertl_register_adapters=_adapters_hook(FakeAdapter)
            ),
        },
    )
    reg = Registry(make_plugin_manager(), _deferred=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)
        with pytest.raises(PluginLoadWarning, match="returned None"):
            reg.names("adapters")
        # the first look-up raised once the whole registry was built: every
        # other plugin's classes are there, and later look-ups work
        assert "fake_adapter" in reg.names("adapters")
        assert reg.get("estimators", "source_only").__name__ == "SourceOnly"
    assert "bad" in reg.failures


def test_load_time_problems_stop_only_the_first_look_up_of_get_registry(monkeypatch):
    # a plugin that failed to import warned inside make_plugin_manager(),
    # before get_registry() cached anything: under an error filter every call
    # raised, and loaded the plugins again
    def unmarked():
        return []

    unmarked.__name__ = "sertl_register_estimators"
    hooks = _module(
        "fake_load_good",
        sertl_register_adapters=_adapters_hook(FakeAdapter),
        sertl_register_estimators=unmarked,  # no @hookimpl: a load-time problem
    )
    monkeypatch.setitem(sys.modules, hooks.__name__, hooks)
    loads = []

    def entry_points(**kw):
        if kw.get("group") != "sertl":
            return []
        loads.append(1)
        return [
            _ep("good", "fake_load_good", "sertl-good"),
            _ep("broken", "no_such_module_xyz.hooks", "sertl-broken"),
        ]

    monkeypatch.setattr("sertl_core.registry.metadata.entry_points", entry_points)
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    from sertl_core import get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)
        reg = get_registry()  # loads the plugins, warns about nothing yet
        with pytest.raises(PluginLoadWarning, match="'broken'.*could not be loaded"):
            reg.names("adapters")
        # built and cached: the later look-ups work, nothing is loaded again
        for _ in range(2):
            assert get_registry() is reg
            assert get_registry().get("adapters", "fake_adapter") is FakeAdapter
    assert loads == [1]
    assert "could not be loaded" in reg.failures["broken"]
    assert "lacks the @sertl_core.hookimpl" in reg.failures["good"]
    # without the filter each problem is warned once, at the first look-up
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    reg = get_registry()
    with pytest.warns(PluginLoadWarning) as caught:
        reg.names("adapters")
    assert sorted(
        re.match(r"sertl plugin '(\w+)'", str(w.message))[1] for w in caught
    ) == [
        "broken",
        "good",
    ]
    assert {w.filename for w in caught} == {__file__}
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)
        reg.names("adapters")
        Registry(reg.plugin_manager)  # the manager's problems are warned once


def test_unknown_name_lists_available_and_distribution(monkeypatch):
    _install_fake(monkeypatch, {})
    reg = Registry(make_plugin_manager())
    with pytest.raises(
        RegistryError,
        match=r"No adapter named 'coral'.*domain_standard_scaler.*pip install sertl-feature",
    ):
        reg.get("adapters", "coral")
    with pytest.raises(RegistryError, match=r"registered as estimator: get\('estim"):
        reg.get("adapters", "source_only")
    with pytest.raises(
        RegistryError, match=r"Unknown kind 'adaptors'; .*Did you mean 'adapters'\?$"
    ):
        reg.get("adaptors", "x")
    with pytest.raises(RegistryError, match=r"Did you mean 'estimators'\?$"):
        reg.names("estimator")
    with pytest.raises(
        RegistryError, match=r"Cannot create 'source_only'.*SourceOnly takes: estimator"
    ):
        reg.create("estimators", "source_only", nonsense=1)
    with pytest.raises(RegistryError, match=r"No corpus named 'emodbb'\."):
        reg.get("corpora", "emodbb")


def test_broken_plugin_is_skipped_with_warning(monkeypatch):
    _install_fake(
        monkeypatch,
        {
            "good": _module(
                "fake_good", sertl_register_adapters=_adapters_hook(FakeAdapter)
            )
        },
    )
    eps = metadata.entry_points(group="sertl") + [
        metadata.EntryPoint("broken", "no_such_module_xyz.hooks", "sertl")
    ]
    monkeypatch.setattr("sertl_core.registry.metadata.entry_points", lambda **kw: eps)
    with pytest.warns(
        PluginLoadWarning, match="'broken'.*could not be loaded.*No module named"
    ):
        pm = make_plugin_manager()
    reg = Registry(pm)
    assert "fake_adapter" in reg.names("adapters")
    assert "broken" in reg.failures


class GoodEstimator:
    registry_name = "fake_good_estimator"

    def fit(self, X, y):
        return self

    def predict(self, X):
        return X[:, 0]


def _raise_import_error():
    from fake_plugin_internals import Missing  # noqa: F401

    return []


@pytest.mark.parametrize(
    ("result", "match"),
    [
        (
            lambda: "notalist",
            r"sertl_register_estimators\(\) must return a list.*got str",
        ),
        (
            lambda: [42, GoodEstimator],
            "registered 42 as estimators, which is not a class",
        ),
        (
            lambda: [type("NoName", (), {}), GoodEstimator],
            "NoName needs a class attribute registry_name",
        ),
        (
            lambda: [type("BadName", (), {"registry_name": "Bad Name"}), GoodEstimator],
            "BadName needs a class attribute registry_name.*'Bad Name'",
        ),
        (
            _raise_import_error,
            # the plugin's own line that raised, not importlib's
            r"sertl_register_estimators\(\) raised ModuleNotFoundError: No module "
            r"named 'fake_plugin_internals' \(at \S+test_core_registry\.py:\d+, in "
            r"_raise_import_error\); its estimators are skipped",
        ),
        (
            lambda: None,  # a hook body without its return statement
            r"sertl_register_estimators\(\) returned None.*must return a list of "
            r"classes \(\[\] when it has none\)",
        ),
    ],
    ids=[
        "not-a-list",
        "not-a-class",
        "no-name",
        "bad-name",
        "hook-raises",
        "returns-none",
    ],
)
def test_malformed_registrations_are_reported_and_spare_the_others(
    monkeypatch, result, match
):
    @hookimpl
    def sertl_register_estimators():
        return result()

    _install_fake(
        monkeypatch,
        {
            "bad": _module(
                "fake_bad", sertl_register_estimators=sertl_register_estimators
            ),
            "good": _module(
                "fake_good", sertl_register_adapters=_adapters_hook(FakeAdapter)
            ),
        },
    )
    with pytest.warns(PluginLoadWarning, match=r"sertl plugin 'bad'.*" + match):
        reg = Registry(make_plugin_manager())
    assert re.search(match, reg.failures["bad"])
    assert reg.get("adapters", "fake_adapter") is FakeAdapter  # another plugin
    assert "source_only" in reg.names("estimators")  # the core
    if "not a class" in match or "registry_name" in match:
        # only the malformed class is skipped, not the plugin's good ones
        assert reg.get("estimators", "fake_good_estimator") is GoodEstimator


@pytest.mark.parametrize(
    ("kind", "cls", "match"),
    [
        (
            "adapters",
            GoodEstimator,
            r"GoodEstimator was registered as adapters \('fake_good_estimator'\) but "
            r"has no transform\(\): adapters need fit\(\) and transform\(\); it "
            r"looks like one of the estimators: return it from "
            r"sertl_register_estimators\(\); it is skipped",
        ),
        (
            "estimators",
            FakeAdapter,
            r"FakeAdapter was registered as estimators \('fake_adapter'\) but has no "
            r"predict\(\): estimators need fit\(\) and predict\(\); it looks like "
            r"one of the adapters: return it from sertl_register_adapters\(\)",
        ),
        (
            "splitters",
            FakeAdapter,
            r"registered as splitters \('fake_adapter'\) but has no split\(\)",
        ),
        (
            # every class is callable (type.__call__ builds an instance): a
            # class without a __call__ of its own is no scorer
            "scorers",
            type("NotAScorer", (), {"registry_name": "fake_not_a_scorer"}),
            r"NotAScorer was registered as scorers \('fake_not_a_scorer'\) but "
            r"has no __call__\(\): scorers need __call__\(\); it is skipped",
        ),
        (
            "scorers",
            FakeAdapter,
            r"FakeAdapter was registered as scorers \('fake_adapter'\) but has no "
            r"__call__\(\).*it looks like one of the adapters",
        ),
    ],
    ids=[
        "estimator-as-adapter",
        "adapter-as-estimator",
        "adapter-as-splitter",
        "plain-class-as-scorer",
        "adapter-as-scorer",
    ],
)
def test_class_registered_under_the_wrong_kind_is_skipped(
    monkeypatch, kind, cls, match
):
    hook_name = KINDS[kind]

    def impl():
        return [cls]

    impl.__name__ = hook_name
    _install_fake(
        monkeypatch, {"mixed": _module("fake_mixed", **{hook_name: hookimpl(impl)})}
    )
    with pytest.warns(PluginLoadWarning, match=r"sertl plugin 'mixed'.*" + match):
        reg = Registry(make_plugin_manager())
    assert cls.registry_name not in reg.names(kind)
    assert re.search(match, reg.failures["mixed"])


@pytest.mark.parametrize(
    ("impl", "error", "line"),
    [
        ("X = 1\nundefined_name\n", "NameError: name 'undefined_name'", 2),
        ("import numpy\nimport no_such_dep_xyz\n", "No module named", 2),
        ("class X\n    pass\n", "SyntaxError", 1),
    ],
)
def test_plugin_that_fails_to_import_is_reported_at_the_authors_line(
    tmp_path, monkeypatch, impl, error, line
):
    # a hook that raised was named with its file and line, a plugin module
    # that raised on import only with the exception: in a plugin of many
    # modules its author had to import each to find the line
    pkg = tmp_path / "brokenplug_imp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ._impl import X\n")
    (pkg / "_impl.py").write_text(impl)
    (pkg / "hooks.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_eps(monkeypatch, [_ep("brokenplug", "brokenplug_imp.hooks", "sertl-bp")])
    with pytest.warns(PluginLoadWarning, match="could not be loaded"):
        pm = make_plugin_manager()
    problem = Registry(pm).failures["brokenplug"]
    assert error in problem
    assert f"(at {pkg / '_impl.py'}:{line}" in problem


def test_plugin_whose_module_does_not_exist_is_reported_without_a_place(
    monkeypatch,
):
    # no line of the plugin's raised: importlib's own line is no help
    _fake_eps(monkeypatch, [_ep("gone", "no_such_plugin_xyz.hooks", "sertl-gone")])
    with pytest.warns(PluginLoadWarning, match="could not be loaded"):
        pm = make_plugin_manager()
    assert (
        Registry(pm)
        .failures["gone"]
        .endswith("ModuleNotFoundError: No module named 'no_such_plugin_xyz'")
    )


def _commands_hook_with_a_parser_argument():
    @hookimpl
    def sertl_add_commands(parser):
        parser.add_parser("never")

    return sertl_add_commands


def _wrapper_that_returns():
    # a parameter with a default is not passed by pluggy: not the problem
    @hookimpl(wrapper=True)
    def sertl_register_adapters(extra=None):
        return [FakeAdapter]

    return sertl_register_adapters


@pytest.mark.parametrize(
    ("hook", "match"),
    [
        (
            _commands_hook_with_a_parser_argument,
            r"sertl_add_commands\(parser\) has parameters that the hook "
            r"sertl_core\.hookspecs\.sertl_add_commands\(subparsers\) lacks.*"
            r"write def sertl_add_commands\(subparsers\) \(at .*test_core_registry",
        ),
        (
            _wrapper_that_returns,
            r"sertl_register_adapters is marked as a hook wrapper but does not "
            r"yield.*plain @sertl_core\.hookimpl function \(at .*test_core_registry",
        ),
    ],
)
def test_hook_that_pluggy_refuses_is_named_with_its_fix(monkeypatch, hook, match):
    # pluggy refuses the whole plugin for such a hook, with a message of
    # three lines in its own terms (and the argument's name it wants
    # nowhere): an author who called the hook's argument `parser` lost
    # every class and command of the plugin
    func = hook()
    mod = _module("fake_refused_hooks", **{func.__name__: func})
    _install_fake(monkeypatch, {"refused": mod})
    with pytest.warns(PluginLoadWarning, match="refused"):
        pm = make_plugin_manager()
    problem = Registry(pm).failures["refused"]
    assert re.search(match, problem), problem
    assert "\n" not in problem


def _ep(name, value, dist):
    """An entry point of the group 'sertl' from the distribution ``dist``."""
    ep = metadata.EntryPoint(name, value, "sertl")
    return ep._for(types.SimpleNamespace(name=dist)) if dist else ep


def _fake_eps(monkeypatch, eps):
    monkeypatch.setattr(
        "sertl_core.registry.metadata.entry_points",
        lambda **kw: eps if kw.get("group") == "sertl" else [],
    )


@pytest.mark.parametrize("third_party_first", [True, False])
def test_entry_point_name_taken_by_another_distribution(monkeypatch, third_party_first):
    first_party = _module(
        "fake_feature_hooks", sertl_register_adapters=_adapters_hook(FakeAdapter)
    )
    third = _module(
        "fake_clash_hooks", sertl_register_adapters=_adapters_hook(OtherFakeAdapter)
    )
    for mod in (first_party, third):
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    eps = [
        _ep("feature", "fake_feature_hooks", "sertl-feature"),
        _ep("feature", "fake_clash_hooks", "sertl-clash"),
    ]
    _fake_eps(monkeypatch, eps[::-1] if third_party_first else eps)
    with pytest.warns(
        PluginLoadWarning,
        match=r"'feature \(sertl-clash\)'.*entry point feature = 'fake_clash_hooks' "
        r"is skipped: the plugin name 'feature' is already taken by "
        r"'fake_feature_hooks' \(sertl-feature\); rename the entry point",
    ):
        reg = Registry(make_plugin_manager())
    # the sertl distribution keeps its name, whatever the order on sys.path
    assert reg.get("adapters", "fake_adapter") is FakeAdapter
    assert "feature (sertl-clash)" in reg.failures


def test_same_entry_point_listed_twice_is_loaded_once(monkeypatch):
    mod = _module("fake_twice", sertl_register_adapters=_adapters_hook(FakeAdapter))
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    _fake_eps(monkeypatch, [_ep("twice", "fake_twice", "sertl-twice")] * 2)
    reg = Registry(make_plugin_manager())  # no warning (an error in this suite)
    assert reg.failures == {}
    assert reg.get("adapters", "fake_adapter") is FakeAdapter


def test_two_entry_points_naming_one_module_are_named_with_the_fix(monkeypatch):
    # pluggy's "Plugin already registered under a different name" came with
    # a repr of every registered plugin
    mod = _module("fake_renamed", sertl_register_adapters=_adapters_hook(FakeAdapter))
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    _fake_eps(
        monkeypatch,
        [
            _ep("rev", "fake_renamed", "sertl-rev"),
            _ep("rev_old", "fake_renamed", "sertl-rev"),
        ],
    )
    message = (
        r"sertl plugin 'rev_old' \(sertl-rev\): its entry point rev_old = "
        r"'fake_renamed' names the same module as the entry point of plugin 'rev' "
        r"\(sertl-rev\), which is loaded once, as 'rev'; 'rev_old' is skipped: "
        r"remove one of the two entry points \(a stale one left by a rename, "
        r"say\) from the \[project.entry-points.sertl\] table"
    )
    with pytest.warns(PluginLoadWarning, match=message) as caught:
        reg = Registry(make_plugin_manager())
    assert "already registered" not in str(caught[0].message)
    assert reg.get("adapters", "fake_adapter") is FakeAdapter  # once, as 'rev'
    assert set(reg.failures) == {"rev_old"}


def _unmarked_sertl_register_adapters():
    return [FakeAdapter]


@hookimpl
def _misspelt():
    return [FakeAdapter]


@pytest.mark.parametrize(
    ("hooks", "match"),
    [
        (
            {"sertl_register_adapters": _unmarked_sertl_register_adapters},
            "sertl_register_adapters lacks the @sertl_core.hookimpl decorator, so "
            "pluggy ignores it",
        ),
        (
            {"sertl_register_adaptors": _misspelt},
            r"sertl_register_adaptors is not a sertl hook \(did you mean "
            r"sertl_register_adapters\?\), so it is never called",
        ),
        (
            {"helper": lambda: None},
            "the entry point's 'fake_ignored' is a module without any sertl hook.*"
            "point the entry point at the module that holds the hooks",
        ),
    ],
    ids=["no-hookimpl-marker", "misspelt-hook", "no-hooks"],
)
def test_hooks_pluggy_would_ignore_are_reported(monkeypatch, hooks, match):
    _install_fake(monkeypatch, {"ignored": _module("fake_ignored", **hooks)})
    with pytest.warns(PluginLoadWarning, match=r"sertl plugin 'ignored'.*" + match):
        reg = Registry(make_plugin_manager())
    assert re.search(match, reg.failures["ignored"])
    assert "fake_adapter" not in reg.names("adapters")


def test_unknown_name_of_an_installed_but_broken_plugin(monkeypatch):
    _fake_eps(
        monkeypatch, [_ep("feature", "no_such_module_xyz.hooks", "sertl-feature")]
    )
    with pytest.warns(
        PluginLoadWarning, match="'feature' .sertl-feature.: could not be loaded"
    ):
        reg = Registry(make_plugin_manager())
    with pytest.raises(
        RegistryError,
        match=r"'coral' is provided by sertl-feature, which is installed but its "
        r"plugin 'feature' has a problem: could not be loaded .*No module named",
    ):
        reg.get("adapters", "coral")
    # a name no sertl distribution provides points at the plugins with problems
    with pytest.raises(
        RegistryError,
        match=r"No adapter named 'my_method'.*Plugins with a problem, which may "
        r"provide it: 'feature' \(sertl-feature\)",
    ):
        reg.get("adapters", "my_method")


def test_cli_plugins_lists_the_others_and_names_a_malformed_plugin(monkeypatch, capsys):
    @hookimpl
    def sertl_register_adapters():
        return FakeAdapter  # a class, not a list of classes

    _install_fake(
        monkeypatch,
        {
            "bad": _module(
                "fake_cli_bad", sertl_register_adapters=sertl_register_adapters
            )
        },
    )
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    from sertl_core.cli import main

    assert main(["plugins"]) == 0
    captured = capsys.readouterr()
    assert "domain_standard_scaler" in captured.out
    assert (
        "sertl: plugin 'bad': sertl_register_adapters() must return a list of "
        "classes, got type; its adapters are skipped"
    ) in captured.err
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "must return a list" in out["failed_plugins"]["bad"]


def test_each_kind_hook_and_add_commands(monkeypatch):
    from sertl_core.registry import _REQUIRED_METHODS

    def _method(self, *args, **kwargs):
        return self

    classes = {
        kind: type(
            f"C_{kind}",
            (),
            {
                "registry_name": f"fake_{kind}",
                **{m: _method for m in _REQUIRED_METHODS[kind]},
            },
        )
        for kind in KINDS
    }
    hooks = {}
    for kind, hook_name in KINDS.items():

        def impl(cls=classes[kind]):
            return [cls]

        impl.__name__ = hook_name
        hooks[hook_name] = hookimpl(impl)

    @hookimpl
    def sertl_add_commands(subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.set_defaults(func=lambda args: print("hello from plugin") or 0)

    hooks["sertl_add_commands"] = sertl_add_commands
    _install_fake(monkeypatch, {"all": _module("fake_all", **hooks)})
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    reg = Registry(make_plugin_manager())
    for kind in KINDS:
        assert reg.get(kind, f"fake_{kind}") is classes[kind]
    from sertl_core import cli

    monkeypatch.setattr("sertl_core.registry._REGISTRY", reg)
    assert cli.main(["hello"]) == 0


def test_every_hook_is_documented_and_tested():
    """Meta-test: each hookspec has a numpydoc docstring, is named in the
    contributor guide and exercised by a test in this file."""
    specs = [
        n
        for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
        if n.startswith("sertl_")
    ]
    assert set(KINDS.values()) <= set(specs)
    guide = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    this = Path(__file__).read_text()
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Returns" in doc or "Parameters" in doc, (
            f"{name} lacks a numpydoc docstring"
        )
        assert name in guide, f"{name} is not documented in CONTRIBUTING.md"
        tested = name in this or name in KINDS.values()
        assert tested, f"{name} has no test"


def test_cli_plugins_json(capsys):
    from sertl_core.cli import main

    assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {(c["kind"], c["name"]) for c in out["classes"]}
    assert ("estimators", "source_only") in names
    row = next(c for c in out["classes"] if c["name"] == "source_only")
    assert row["class"] == "sertl_core.methods.SourceOnly"
    assert row["distribution"] == "sertl-core"


@pytest.mark.parametrize("where", ["loading the plugins", "a core command"])
def test_cli_ctrl_c_gives_a_message_and_130_not_a_traceback(monkeypatch, capsys, where):
    # Ctrl-C in the second or two sertl spends importing the plugins (or in
    # a command of the core's own) raised KeyboardInterrupt out of main: a
    # traceback of the imports instead of one line and exit status 130
    from sertl_core import cli

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    if where == "loading the plugins":
        monkeypatch.setattr(cli, "build_parser", interrupted)
    else:
        monkeypatch.setattr(cli, "_cmd_plugins", interrupted)
    try:
        code = cli.main(["plugins"])
    except KeyboardInterrupt:  # would end the test session, not fail the test
        pytest.fail("KeyboardInterrupt went out of sertl's main (a traceback)")
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers are set in the main thread only",
)
def test_cli_sigterm_stops_a_command_and_main_restores_the_handlers(
    monkeypatch, capsys
):
    # SIGTERM (a job's time limit) ended a command at once, its cleanup not
    # run; it now stops it as Ctrl-C does, with 128 + 15, and a Python
    # caller of main gets its own handlers back (nohup's ignored SIGHUP kept)
    import signal

    from sertl_core import cli

    hup = getattr(signal, "SIGHUP", None)
    mine = lambda *_: None  # noqa: E731 - a caller's own handler
    old_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    old_hup = signal.signal(hup, signal.SIG_IGN) if hup is not None else None
    seen, cleaned = [], []

    def command(args):
        term = signal.getsignal(signal.SIGTERM)
        seen.append(term)
        if hup is not None:
            seen.append(signal.getsignal(hup))
        if term in (signal.SIG_DFL, signal.SIG_IGN, None):
            return 0  # not handled: a real SIGTERM would end the test session
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            cleaned.append(True)
        return 0

    monkeypatch.setattr(cli, "_cmd_plugins", command)
    try:
        try:
            code = cli.main(["plugins"])
        except KeyboardInterrupt:  # would end the test session, not fail it
            pytest.fail("the stop went out of sertl's main (a traceback)")
        first_cleaned = list(cleaned)  # the command's finally ran
        after = [signal.getsignal(signal.SIGTERM)]
        if hup is not None:
            after.append(signal.getsignal(hup))
        signal.signal(signal.SIGTERM, mine)
        assert cli.main(["plugins"]) == 0  # a handler of the caller's: kept
        assert seen[-2 if hup is not None else -1] is mine
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if hup is not None:
            signal.signal(hup, old_hup)
    assert code == 143 and first_cleaned == [True]
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["sertl plugins: stopped by SIGTERM."]
    assert after == [signal.SIG_DFL, signal.SIG_IGN][: len(after)]
    if hup is not None:
        assert seen[1] is signal.SIG_IGN  # nohup: a closed terminal is no stop


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread()
    or not hasattr(__import__("os"), "fork"),
    reason="signal handlers are set in the main thread only; no fork",
)
def test_cli_sigterm_ends_a_forked_child_as_by_default():
    # a child made by fork in a command (multiprocessing's default on Linux)
    # inherited the handler: its parent's Process.terminate() or a Pool's
    # shutdown (SIGTERM) gave a StoppedBySignal traceback and exit status 1
    import os
    import signal
    import time

    from sertl_core.cli import stop_signals

    with stop_signals() as handled:
        if signal.SIGTERM not in handled:
            pytest.skip("SIGTERM has a handler of the test runner's")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            try:
                os.close(read)
                os.write(write, b"up")
                time.sleep(60)
            except BaseException:
                os._exit(1)
            os._exit(0)
        os.close(write)
        assert os.read(read, 2) == b"up"  # the child runs, in the block
        os.close(read)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers are set in the main thread only",
)
def test_cli_a_stop_while_the_handlers_are_put_back_leaves_none_set(monkeypatch):
    # signal.signal runs the handlers of signals that came in meanwhile
    # before it changes one: a SIGTERM as the command ended was raised from
    # the first restore, and the block's handlers stayed set for good
    import signal

    from sertl_core import cli

    before = {s: signal.getsignal(s) for s in cli._STOP_SIGNALS}
    real = signal.signal
    came = []

    def signal_with_a_pending_stop(signum, handler):
        if handler is before.get(signum) and not came:
            came.append(signum)  # a SIGTERM arrived as the block ended
            raise cli.StoppedBySignal(signal.SIGTERM)
        return real(signum, handler)

    monkeypatch.setattr(signal, "signal", signal_with_a_pending_stop)
    try:
        with pytest.raises(cli.StoppedBySignal):
            with cli.stop_signals() as handled:
                if not handled:
                    pytest.skip("the test runner handles SIGTERM and SIGHUP")
        after = {s: signal.getsignal(s) for s in cli._STOP_SIGNALS}
    finally:
        monkeypatch.undo()
        for signum, handler in before.items():
            signal.signal(signum, handler)
    assert came and after == before


def test_cli_main_outside_the_main_thread_sets_no_handler(capsys):
    # Python sets signal handlers in the main thread only (ValueError
    # elsewhere): a command run from another thread runs unchanged
    import signal

    from sertl_core.cli import main

    before = signal.getsignal(signal.SIGTERM)
    codes = []
    worker = threading.Thread(target=lambda: codes.append(main(["plugins", "--json"])))
    worker.start()
    worker.join()
    assert codes == [0]
    assert '"source_only"' in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is before


def test_cli_shows_a_command_warning_as_one_warning_line():
    # a warning a command lets through to the terminal (sertl run's feature
    # cache that cannot be written) was shown in Python's form, the console
    # script's "bin/sertl:6: AudioFeaturesWarning: ..." and its source line
    # "sys.exit(main())": it now reads as the commands' own warning lines
    import subprocess

    code = (
        "import sys, warnings\n"
        "from sertl_core import cli\n"
        "from sertl_core.base import SertlWarning\n"
        "def command(args):\n"
        "    warnings.warn('cannot write the cache in /x', SertlWarning)\n"
        "cli._cmd_plugins = command\n"
        "code = cli.main(['plugins'])\n"
        "warnings.warn('after the command', UserWarning)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "warning: SertlWarning: cannot write the cache in /x"
    # the format is the command's only: Python's is back once main returns
    assert lines[1:] == ["<string>:8: UserWarning: after the command"]


def test_cli_new_plugin_bad_name(tmp_path, capsys):
    from sertl_core.cli import main

    assert main(["new-plugin", "Bad Name!", "-d", str(tmp_path)]) == 2
    assert "Invalid plugin name" in capsys.readouterr().err
    assert main(["new-plugin", "ok", "-d", str(tmp_path)]) == 0
    assert main(["new-plugin", "ok", "-d", str(tmp_path)]) == 2
    assert "pass --force" in capsys.readouterr().err


def test_new_plugin_force_keeps_the_users_own_files(tmp_path, capsys):
    from sertl_core.cli import main

    assert main(["new-plugin", "mine", "-d", str(tmp_path)]) == 0
    root = tmp_path / "sertl-mine"
    own = root / "sertl_mine" / "my_method.py"
    own.write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    hooks = root / "sertl_mine" / "hooks.py"
    written = hooks.read_text()
    hooks.write_text("# edited\n")
    assert main(["new-plugin", "mine", "-d", str(tmp_path), "--force"]) == 0
    # the template's files are rewritten, the rest (modules, .git) kept:
    # --force removed the whole folder before
    assert hooks.read_text() == written
    assert own.read_text() == "x = 1\n"
    assert (root / ".git" / "HEAD").exists()


def test_new_plugin_names_a_bad_directory_without_a_traceback(tmp_path, capsys):
    from sertl_core.cli import main

    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["new-plugin", "mine", "-d", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    # a missing folder is created, as for any output folder
    assert main(["new-plugin", "mine", "-d", str(tmp_path / "a" / "b")]) == 0
    assert (tmp_path / "a" / "b" / "sertl-mine" / "pyproject.toml").exists()
    # one that cannot be created: the reason, not a traceback
    assert main(["new-plugin", "mine", "-d", str(afile / "sub")]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err or "cannot write the plugin into" in err


@pytest.mark.parametrize(
    "name", ["core", "speech", "feature", "sertl-neural", "experiments"]
)
def test_new_plugin_refuses_the_names_of_sertl_distributions(tmp_path, name, capsys):
    from sertl_core._template import write_plugin
    from sertl_core.cli import main

    dist = "sertl-" + name.removeprefix("sertl-")
    with pytest.raises(
        ValueError, match=f"would make the package {dist}, a distribution"
    ):
        write_plugin(name, tmp_path)
    assert main(["new-plugin", name, "-d", str(tmp_path)]) == 2
    assert "installing it would replace that package" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_new_plugin_package_works_in_process(tmp_path, monkeypatch):
    """The generated package imports, registers and passes the kit (fast path)."""
    from sertl_core._template import write_plugin
    from sertl_core.testing import check_estimator

    root = write_plugin("tmpl_check", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    import importlib

    pkg = importlib.import_module("sertl_tmpl_check")
    hooks = importlib.import_module("sertl_tmpl_check.hooks")
    _install_fake(monkeypatch, {"tmpl_check": hooks})
    reg = Registry(make_plugin_manager())
    cls = reg.get("adapters", "tmpl_check_mean_shift")
    assert cls is pkg.MeanShiftAdapter
    assert len(check_estimator(cls())) > 40
    X = np.r_[np.zeros((3, 1)), np.ones((3, 1)) * 4]
    out = cls().fit_transform(X, sample_domain=[1, 1, 1, -1, -1, -1])
    np.testing.assert_allclose(out[:3], 4.0)
    sd = [1, 1, 1, -1, -1, -1]
    # numpy scalars are numbers too (np.int64 is no int, np.float32 no float)
    for strength in (np.int64(1), np.float32(0.5), 2):
        cls(strength=strength).fit(X, sample_domain=sd)
    for strength in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(
            ValueError, match="'strength' parameter of MeanShiftAdapter"
        ):
            cls(strength=strength).fit(X, sample_domain=sd)


def test_new_plugin_test_names_an_entry_point_clash(tmp_path, monkeypatch):
    """The generated test_registered says why its plugin was skipped.

    An entry-point name that another distribution already uses is recorded
    under "NAME (DISTRIBUTION)"; the test must report that problem, not
    fail on a bare "name not registered" assertion.
    """
    import importlib
    import importlib.util

    from sertl_core._template import write_plugin

    root = write_plugin("tmpl_clash", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    importlib.import_module("sertl_tmpl_clash.hooks")
    other = _module(
        "fake_other_clash", sertl_register_adapters=_adapters_hook(FakeAdapter)
    )
    monkeypatch.setitem(sys.modules, other.__name__, other)
    _fake_eps(
        monkeypatch,
        [
            _ep("tmpl_clash", "fake_other_clash", "another-dist"),
            _ep("tmpl_clash", "sertl_tmpl_clash.hooks", "sertl-tmpl-clash"),
        ],
    )
    path = root / "tests" / "test_tmpl_clash_conformance.py"
    spec = importlib.util.spec_from_file_location("_tmpl_clash_test", path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    with (
        pytest.warns(PluginLoadWarning),
        pytest.raises(
            AssertionError, match=r"already taken by 'fake_other_clash'.*rename"
        ),
    ):
        generated.test_registered()


def test_refused_hook_is_quoted_as_written(monkeypatch):
    # the report quoted sertl_register_scorers(extra, args, options) for
    # (extra, *args, **options): stars, defaults kept, annotations left out
    @hookimpl
    def sertl_register_scorers(extra: int, *args, flag=None, **options):
        return []

    _install_fake(
        monkeypatch,
        {
            "written": _module(
                "fake_written", sertl_register_scorers=sertl_register_scorers
            )
        },
    )
    with pytest.warns(PluginLoadWarning, match="refuses the plugin"):
        pm = make_plugin_manager()
    problem = Registry(pm).failures["written"]
    assert (
        "sertl_register_scorers(extra, *args, flag=None, **options) has parameters"
        in problem
    ), problem


def test_refused_hook_is_told_from_one_pluggy_accepts_with_star_args(monkeypatch):
    # pluggy ignores *args and **kwargs: sertl_add_commands(subparsers,
    # **options) registers, and the refusal is sertl_register_scorers(extra);
    # the report named the first as the culprit with a wrong fix
    @hookimpl
    def sertl_add_commands(subparsers, *args, **options):
        pass

    @hookimpl
    def sertl_register_scorers(extra):
        return []

    mod = _module(
        "fake_star_hooks",
        sertl_add_commands=sertl_add_commands,
        sertl_register_scorers=sertl_register_scorers,
    )
    _install_fake(monkeypatch, {"starred": mod})
    with pytest.warns(PluginLoadWarning, match="refuses the plugin"):
        pm = make_plugin_manager()
    problem = Registry(pm).failures["starred"]
    assert re.search(
        r"sertl_register_scorers\(extra\) has parameters that the hook "
        r"sertl_core\.hookspecs\.sertl_register_scorers\(\) lacks.*"
        r"write def sertl_register_scorers\(\) \(at .*test_core_registry",
        problem,
    ), problem
    assert "sertl_add_commands" not in problem


def test_new_plugin_next_steps_bring_pytest_into_the_plugins_environment(
    tmp_path, capsys
):
    """The printed and the README's steps work in a fresh venv.

    A fresh venv has no pytest (the package lists it in its ``test`` extra
    only), and a ``pytest`` of another environment on PATH cannot import
    sertl_core: the steps install the extra and run ``python -m pytest``.
    """
    import shlex

    from sertl_core.cli import main

    parent = tmp_path / "my plugins"  # a space: the printed paths are quoted
    assert main(["new-plugin", "mine", "-d", str(parent)]) == 0
    root = parent / "sertl-mine"
    line = capsys.readouterr().out.splitlines()[-1]
    install, test = (
        shlex.split(part) for part in line.removeprefix("Next: ").split(" && ")
    )
    assert install == ["pip", "install", "-e", f"{root}[test]"]
    assert test == ["python", "-m", "pytest", str(root)]
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^test = \["pytest\b', pyproject, re.M)
    readme = (root / "README.md").read_text()
    assert "pip install -e '.[test]'" in readme
    assert "    python -m pytest " in readme
    assert not re.search(r"^    pytest\b", readme, re.M)


def test_new_plugin_package_passes_ruff_as_its_author_runs_it(tmp_path):
    """``ruff check`` and ``ruff format --check`` with ruff's defaults pass.

    The author of a new plugin lints it with no configuration of their own
    yet; the template must not start them on a warning (RUF012 on a
    mutable class attribute without ``ClassVar``).
    """
    import shutil
    import subprocess

    from sertl_core._template import write_plugin

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or (
        shutil.which("ruff")
    )
    if ruff is None:
        pytest.skip("ruff is not installed (the [test] extra and make lint install it)")
    root = write_plugin("linted", tmp_path)
    for args in (["check", "--isolated"], ["format", "--isolated", "--check"]):
        done = subprocess.run(
            # in the package's folder, as its author runs it (run here,
            # ruff would take sertl_core for a first-party package)
            [ruff, *args, "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_new_plugin_test_holds_registered_classes_to_their_docstrings(
    tmp_path, monkeypatch
):
    """The generated test_documented fails a registered class without a paper.

    CONTRIBUTING asks every method for an Examples doctest and a References
    section; sertl's own tests check its packages, and nothing checked a
    plugin's: its classes registered and passed the kit without a docstring.
    """
    import importlib
    import importlib.util

    from sertl_core._template import write_plugin

    root = write_plugin("tmpl_doc", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    hooks = importlib.import_module("sertl_tmpl_doc.hooks")
    _install_fake(monkeypatch, {"tmpl_doc": hooks})
    path = root / "tests" / "test_tmpl_doc_conformance.py"
    spec = importlib.util.spec_from_file_location("_tmpl_doc_test", path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    generated.test_documented()  # the template's own adapter is documented
    adapter = importlib.import_module("sertl_tmpl_doc").MeanShiftAdapter
    doc = adapter.__doc__
    monkeypatch.setattr(adapter, "__doc__", doc.split("    References")[0])
    with pytest.raises(AssertionError, match="MeanShiftAdapter's docstring has no "):
        generated.test_documented()
    monkeypatch.setattr(adapter, "__doc__", None)
    with pytest.raises(AssertionError, match="MeanShiftAdapter has no docstring"):
        generated.test_documented()


def test_new_plugin_readme_names_files_that_exist(tmp_path):
    """Every path the generated README points to is in the package."""
    import re

    from sertl_core._template import write_plugin

    root = write_plugin("readme_check", tmp_path)
    readme = (root / "README.md").read_text()
    named = re.findall(r"`([\w/]+\.py)`", readme)
    assert "tests/test_readme_check_conformance.py" in named
    for rel in named:
        hits = list(root.rglob(Path(rel).name))
        assert hits, f"README names {rel}, which the package lacks"


@pytest.mark.slow
def test_new_plugin_installs_and_passes_its_own_tests(tmp_path):
    """sertl new-plugin -> pip install -> sertl plugins -> its own pytest.

    The plugin is installed into a private folder put on PYTHONPATH of the
    subprocesses only: installing it into the shared environment would show
    it, half installed, to the tests that other xdist workers run meanwhile.
    """
    import os
    import subprocess

    py = sys.executable
    bindir = Path(py).parent
    sertl = str(bindir / "sertl")
    # the caller's PYTHONPATH stays behind the plugin's folder: where the
    # sertl under test is on it (a checkout beside an installed sertl), the
    # template written and the core its tests import are that sertl's
    given = os.environ.get("PYTHONPATH")
    site = tmp_path / "site"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), given])),
    }
    subprocess.run(
        [sertl, "new-plugin", "slowcheck", "-d", str(tmp_path)], check=True, env=env
    )
    root = tmp_path / "sertl-slowcheck"
    subprocess.run(
        [
            py,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(root),
        ],
        check=True,
    )
    out = subprocess.run(
        [sertl, "plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    rows = json.loads(out.stdout)["classes"]
    row = next(r for r in rows if r["name"] == "slowcheck_mean_shift")
    assert row["distribution"] == "sertl-slowcheck"
    res = subprocess.run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " passed" in res.stdout
    # nothing was installed into the shared environment
    listed = subprocess.run(
        [sertl, "plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": given or ""},
    )
    assert "slowcheck" not in listed.stdout


def test_broken_add_commands_does_not_break_cli(monkeypatch, capsys):
    @hookimpl
    def sertl_add_commands(subparsers):
        raise RuntimeError("boom")

    _install_fake(
        monkeypatch,
        {"noisy": _module("fake_noisy", sertl_add_commands=sertl_add_commands)},
    )
    monkeypatch.setattr(
        "sertl_core.registry._REGISTRY", Registry(make_plugin_manager())
    )
    from sertl_core.cli import main

    assert main(["plugins", "--kind", "estimators"]) == 0
    captured = capsys.readouterr()
    assert re.search(
        r"plugin 'noisy': sertl_add_commands\(\) raised RuntimeError: boom \(at "
        r"\S+test_core_registry\.py:\d+, in sertl_add_commands\); its commands "
        "are unavailable",
        captured.err,
    )
    assert "source_only" in captured.out


def test_plugin_commands_cannot_take_a_name_and_are_listed_when_they_fail(
    monkeypatch, capsys
):
    from sertl_core.cli import _product

    def command(name, text):
        def add(subparsers):
            # sertl's own commands write their output to _product() (what
            # their work prints goes to stderr); a third-party plugin's
            # command prints it as ever
            p = subparsers.add_parser(name)
            p.set_defaults(func=lambda args: print(text, file=_product()) or 0)

        return add

    def third_party(name, text):
        def add(subparsers):
            p = subparsers.add_parser(name)
            p.set_defaults(func=lambda args: print(text) or 0)

        return add

    @hookimpl
    def first_party_commands(subparsers):
        command("grid", "first-party grid")(subparsers)
        command("demo", "first-party demo")(subparsers)

    first_party_commands.__name__ = "sertl_add_commands"

    @hookimpl
    def sertl_add_commands(subparsers):  # sorts first: "aaa" < "experiments"
        command("mine", "mine")(subparsers)
        command("grid", "taken over")(subparsers)

    @hookimpl
    def no_func_commands(subparsers):
        subparsers.add_parser("nofunc")
        third_party("theirs", "their output")(subparsers)

    no_func_commands.__name__ = "sertl_add_commands"
    _install_fake(
        monkeypatch,
        {
            "aaa": _module("fake_aaa", sertl_add_commands=sertl_add_commands),
            "experiments": _module(
                "fake_experiments", sertl_add_commands=first_party_commands
            ),
            "zzz": _module("fake_zzz", sertl_add_commands=no_func_commands),
        },
    )
    reg = Registry(make_plugin_manager())
    reg._dists["experiments"] = "sertl-experiments"  # as if installed
    monkeypatch.setattr("sertl_core.registry._REGISTRY", reg)
    from sertl_core.cli import main

    assert main(["grid"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "first-party grid\n"
    assert (
        "plugin 'aaa': sertl_add_commands() raised ValueError: the command 'grid' "
        "belongs to plugin 'experiments'" in captured.err
    )
    assert "aaa" in reg.failures and "experiments" not in reg.failures
    # the failing hook's other command is taken back; the others stay
    assert main(["demo"]) == 0 and "first-party demo" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["mine"])
    assert "invalid choice: 'mine'" in capsys.readouterr().err
    assert main(["nofunc"]) == 2
    assert (
        "the command 'nofunc' of plugin 'zzz' does not say what to run"
        in capsys.readouterr().err
    )
    assert main(["theirs"]) == 0
    assert capsys.readouterr().out == "their output\n"
    assert main(["plugins", "--kind", "estimators"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == ["KIND", "NAME", "CLASS", "PLUGIN", "DISTRIBUTION"]


def test_cli_stops_quietly_when_the_reader_closes_the_pipe():
    # `sertl predict ... --json | head`: the reader exits early; sertl must
    # not print a BrokenPipeError traceback
    import subprocess
    import sys

    code = """
import argparse, sys
from sertl_core import cli

def build():
    p = argparse.ArgumentParser(prog="sertl")
    sub = p.add_subparsers()
    s = sub.add_parser("spam")
    s.set_defaults(func=spam)
    return p

def spam(args):  # a command of sertl's: its output to cli._product()
    for _ in range(int(sys.argv[1])):
        print("x" * 100, file=cli._product())
    return 0

cli.build_parser = build
sys.exit(cli.main(["spam"]))
"""
    # many lines: the pipe breaks while printing; one line: it breaks only
    # when the buffered output is flushed (which Python does at exit)
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for n in (200000, 1):
        with subprocess.Popen(  # closes its stderr pipe (ResourceWarning)
            [sys.executable, "-c", code, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as proc:
            proc.stdout.close()
            err = proc.stderr.read().decode()
            assert proc.wait(timeout=60) == 1, err
        assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_cli_unknown_option_is_reported_by_its_command(capsys):
    from sertl_core.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["plugins", "--frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: sertl plugins" in err
    assert "sertl plugins: error: unrecognized arguments: --frobnicate" in err


def test_load_time_and_hook_time_problems_are_recorded_and_warned_alike():
    # One plugin, two problems: an unmarked hook (found by make_plugin_manager)
    # and a hook without its return (found by Registry when it calls it).
    # Both are reported the one same way: a warning naming the plugin, and
    # one failures entry that joins them in the order they were found.
    class TwoProblems:
        def sertl_register_estimators(self):
            return []

        @hookimpl
        def sertl_register_adapters(self):
            return None

    prefix = "sertl plugin 'two' (unknown distribution): "
    with pytest.warns(PluginLoadWarning) as load:
        pm = make_plugin_manager(load_entrypoints=False, plugins={"two": TwoProblems()})
    with pytest.warns(PluginLoadWarning) as call:
        reg = Registry(pm)
    (load_msg,) = [str(w.message) for w in load]
    (call_msg,) = [str(w.message) for w in call]
    assert load_msg.startswith(prefix + "sertl_register_estimators lacks")
    assert call_msg.startswith(prefix + "sertl_register_adapters() returned None")
    assert reg.failures["two"] == (
        load_msg.removeprefix(prefix) + "; " + call_msg.removeprefix(prefix)
    )
    assert pm.sertl_failures["two"] == load_msg.removeprefix(prefix)
    # both warnings point at the test, the caller of the two public entry points
    assert {w.filename for w in [*load, *call]} == {__file__}


def test_the_cli_calls_the_registration_hooks_only_when_a_command_looks_up(
    monkeypatch, capsys
):
    # listing the plugins' subcommands (sertl --help, sertl predict) must not
    # import every plugin's classes; the first look-up calls the hooks once
    calls = []

    @hookimpl
    def sertl_register_adapters():
        calls.append("adapters")
        return []

    @hookimpl
    def sertl_register_estimators():
        raise RuntimeError("broken hook")

    _install_fake(
        monkeypatch,
        {
            "lazy": _module(
                "fake_lazy",
                sertl_register_adapters=sertl_register_adapters,
                sertl_register_estimators=sertl_register_estimators,
            )
        },
    )
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    from sertl_core import get_registry
    from sertl_core.cli import build_parser, main

    build_parser()
    assert calls == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a command stays quiet about plugins
        assert main(["plugins", "--json"]) == 0
    assert calls == ["adapters"]
    assert (
        "broken hook" in json.loads(capsys.readouterr().out)["failed_plugins"]["lazy"]
    )
    get_registry().names("adapters")
    assert calls == ["adapters"]  # built once
    # outside the CLI the failure warns at the first look-up, where it happens
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    reg = get_registry()
    with pytest.warns(PluginLoadWarning, match="'lazy'.*broken hook"):
        reg.names("estimators")


def test_threads_that_look_up_while_the_hooks_run_wait_for_the_whole_registry(
    monkeypatch,
):
    import threading
    import time

    from sertl_core.registry import _REQUIRED_METHODS

    cls = type(
        "SlowAdapter",
        (),
        {
            "registry_name": "slow_adapter",
            **{m: lambda self, *a, **k: self for m in _REQUIRED_METHODS["adapters"]},
        },
    )
    started = threading.Event()

    @hookimpl
    def sertl_register_adapters():
        started.set()
        time.sleep(0.3)  # importing a plugin's classes takes a while
        return [cls]

    _install_fake(
        monkeypatch,
        {"slow": _module("fake_slow", sertl_register_adapters=sertl_register_adapters)},
    )
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    from sertl_core import get_registry

    reg = get_registry()
    seen = {}

    def look(i):
        seen[i] = "slow_adapter" in reg.names("adapters")

    first = threading.Thread(target=look, args=(0,))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=look, args=(i,)) for i in (1, 2, 3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert seen == {0: True, 1: True, 2: True, 3: True}


# -- one name, one class: across kinds, and names that can never work ---------


class FakeEstimator(GoodEstimator):
    registry_name = "fake_estimator"


def _named(base, name):
    return type(f"Named_{name}", (base,), {"registry_name": name})


def _estimators_hook(*classes):
    @hookimpl
    def sertl_register_estimators():
        return list(classes)

    return sertl_register_estimators


@pytest.mark.parametrize(
    ("owner_dist", "name"),
    [("sertl-core", "source_only"), ("sertl-instance", "kmm")],
)
def test_a_third_party_class_cannot_take_a_sertl_name_of_another_kind(
    monkeypatch, capsys, owner_dist, name
):
    # an adapter named "kmm" beside sertl-instance's estimator "kmm": sertl grid
    # --methods kmm ran the adapter and --param kmm__B=... failed against it
    from sertl_core.methods import SourceOnly

    class FirstPartyKMM(SourceOnly):
        registry_name = "kmm"

    @hookimpl
    def sertl_register_estimators():
        return [FirstPartyKMM]

    first = _module(
        "fake_instance_hooks", sertl_register_estimators=sertl_register_estimators
    )
    third = _module(
        "fake_shift_hooks",
        sertl_register_adapters=_adapters_hook(_named(FakeAdapter, name)),
    )
    for mod in (first, third):
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    _fake_eps(
        monkeypatch,
        [
            _ep("instance", "fake_instance_hooks", "sertl-instance"),
            _ep("shift", "fake_shift_hooks", "sertl-shift"),
        ],
    )
    owner = SourceOnly if name == "source_only" else FirstPartyKMM
    taken = (
        rf"plugin 'shift' \(sertl-shift\): \S+Named_{name} claims the adapter "
        rf"name '{name}', which {owner_dist}'s \S+{owner.__qualname__} has as its "
        r"estimator name \(registry names are unique across kinds.*\); sertl's own "
        "names stay theirs, so it is skipped: give it a registry_name of its own"
    )
    with pytest.warns(PluginLoadWarning, match="sertl " + taken):
        reg = Registry(make_plugin_manager())
    assert reg.get("estimators", name) is owner
    assert name not in reg.names("adapters")
    with pytest.raises(RegistryError, match=rf"'{name}' is registered as estimator"):
        reg.get("adapters", name)
    assert "shift" in reg.failures and "instance" not in reg.failures
    # `sertl plugins` lists sertl's class only, and the skipped one on stderr
    monkeypatch.setattr("sertl_core.registry._REGISTRY", reg)
    from sertl_core.cli import main

    assert main(["plugins"]) == 0
    captured = capsys.readouterr()
    rows = [line.split()[:2] for line in captured.out.splitlines()]
    assert rows.count(["estimators", name]) == 1 and ["adapters", name] not in rows
    assert re.search("sertl: " + taken, captured.err)


def test_two_third_party_classes_of_different_kinds_cannot_share_a_name(monkeypatch):
    _install_fake(
        monkeypatch,
        {
            "one": _module(
                "fake_one",
                sertl_register_adapters=_adapters_hook(_named(FakeAdapter, "shared")),
            ),
            "two": _module(
                "fake_two",
                sertl_register_estimators=_estimators_hook(
                    _named(GoodEstimator, "shared")
                ),
            ),
        },
    )
    clash = (
        r"Duplicate name 'shared': \S+Named_shared \(adapter\) from plugin 'one' "
        r"\(no distribution\) and \S+Named_shared \(estimator\) from plugin 'two' "
        r"\(no distribution\)\. Neither is registered under 'shared' \(registry "
        r"names are unique across kinds: sertl grid --methods NAME .*\): rename "
        "one registry_name or uninstall one of the plugins"
    )
    with pytest.warns(PluginLoadWarning, match=clash):
        reg = Registry(make_plugin_manager())
    assert re.search(clash, reg.failures["one"]) and re.search(
        clash, reg.failures["two"]
    )
    for kind in ("adapters", "estimators"):
        assert "shared" not in reg.names(kind)
        with pytest.raises(RegistryError, match=clash):
            reg.get(kind, "shared")
    with pytest.raises(RegistryError, match=r"No scorer named 'shared'\."):
        reg.get("scorers", "shared")


# names scikit-learn's Pipeline refuses as step names, read from its signature
_PIPELINE_PARAMETERS = list(inspect.signature(Pipeline).parameters)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        *[
            (p, r"is a parameter of scikit-learn's Pipeline")
            for p in _PIPELINE_PARAMETERS
        ],
        (
            "my__shift",
            r"contains '__', read by scikit-learn as STEP__PARAMETER \(set_params, grid search\), so a Pipeline refuses it",
        ),
        ("scale", "names a step of the pipelines that sertl run and sertl grid build"),
        ("model", "names a step of the pipelines"),
        ("classifier", "names a step of the pipelines"),
        ("features", "names a step of the pipelines"),
        ("adapt1", r"names a step .*adapt1, adapt2 \.\.\."),
        ("adapt12", "names a step of the pipelines"),
        (
            "dss",
            r"is a method name that sertl grid and sertl run resolve themselves \('dss'",
        ),
        ("no_adaptation", "is a method name that sertl grid and sertl run resolve"),
        ("none", "is a method name that sertl grid and sertl run resolve"),
        ("passthrough", "is a method name that sertl grid and sertl run resolve"),
    ],
)
def test_names_that_can_never_name_a_method_are_refused_at_registration(
    monkeypatch, name, why
):
    from sertl_core.testing import check_registry_name

    cls = _named(FakeAdapter, name)
    _install_fake(
        monkeypatch,
        {
            "odd": _module(
                "fake_odd", sertl_register_adapters=_adapters_hook(cls, FakeAdapter)
            )
        },
    )
    message = (
        rf"sertl plugin 'odd' \(unknown distribution\): \S+Named_{name} has the "
        rf"registry_name '{name}', which {why}.*give the class another "
        "registry_name.*; it is skipped"
    )
    with pytest.warns(PluginLoadWarning, match=message):
        reg = Registry(make_plugin_manager())
    assert name not in reg.names("adapters")
    assert reg.get("adapters", "fake_adapter") is FakeAdapter  # its other class
    # the conformance kit says the same, why and how to fix it
    with pytest.raises(
        AssertionError, match=rf"registry_name '{name}' {why}.*another registry_name"
    ):
        check_registry_name(cls())


@pytest.mark.parametrize("name", ["memory", "steps", "my__shift"])
def test_the_pipeline_really_refuses_those_names(name):
    # the premise of the rule above: every `sertl run` cell failed on them
    from sertl_core import DomainStandardScaler, SourceOnly

    X = np.random.default_rng(0).normal(size=(20, 2))
    pipe = Pipeline([(name, DomainStandardScaler()), ("model", SourceOnly())])
    with pytest.raises(
        ValueError, match="conflict with constructor arguments|must not contain __"
    ):
        pipe.fit(X, np.r_[[0, 1] * 5, [-1] * 10])


def _hookimpl_plugin(option, hook="sertl_register_adapters"):
    """A plugin object whose ``hook`` is marked ``@hookimpl(option=True)``."""

    if option in ("wrapper", "hookwrapper"):

        def impl(self, *args, **kwargs):
            result = yield
            return result

    else:

        def impl(self, *args, **kwargs):
            return [FakeAdapter]

    impl.__name__ = hook
    return type("Marked", (), {hook: hookimpl(**{option: True})(impl)})()


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper"])
def test_hook_wrappers_are_refused_with_the_reason(monkeypatch, option):
    # a wrapper's generator was reported as "must return a list of classes,
    # got generator", and wrapper=True was otherwise ignored without a word
    class Plain:
        @hookimpl
        def sertl_register_estimators(self):
            return [FakeEstimator]

    with pytest.warns(
        PluginLoadWarning,
        match=rf"sertl plugin 'wrapping' .*: sertl_register_adapters is marked "
        rf"@hookimpl\({option}=True\), and sertl does not support hook wrappers: it "
        "calls each plugin's hook on its own, so that a failing plugin is skipped "
        r"and named without stopping the others.*it is not called: return your "
        r"classes .* from a plain @sertl_core\.hookimpl function",
    ):
        pm = make_plugin_manager(
            load_entrypoints=False,
            plugins={"wrapping": _hookimpl_plugin(option), "plain": Plain()},
        )
    reg = Registry(pm)  # no "got generator" on top: the wrapper is not called
    assert "generator" not in reg.failures["wrapping"]
    assert reg.get("estimators", "fake_estimator") is FakeEstimator
    assert "fake_adapter" not in reg.names("adapters")
    assert "plain" not in reg.failures


@pytest.mark.parametrize("option", ["tryfirst", "trylast"])
def test_ordering_marks_are_reported_as_without_effect(option):
    with pytest.warns(
        PluginLoadWarning,
        match=rf"sertl_register_adapters is marked @hookimpl\({option}=True\), which "
        rf"has no effect in sertl: .*; remove {option}=True",
    ):
        pm = make_plugin_manager(
            load_entrypoints=False, plugins={"ordered": _hookimpl_plugin(option)}
        )
    reg = Registry(pm)
    assert reg.get("adapters", "fake_adapter") is FakeAdapter  # still called


def test_a_command_hook_wrapper_adds_no_command_and_is_reported(monkeypatch, capsys):
    with pytest.warns(PluginLoadWarning, match="does not support hook wrappers"):
        pm = make_plugin_manager(
            load_entrypoints=False,
            plugins={"wrapping": _hookimpl_plugin("wrapper", "sertl_add_commands")},
        )
    monkeypatch.setattr("sertl_core.registry._REGISTRY", Registry(pm))
    from sertl_core.cli import build_parser

    parser = build_parser()
    assert set(parser.get_default("_command_parsers")) == {
        "plugins",
        "corpora",
        "new-plugin",
    }
    assert (
        "sertl_add_commands is marked @hookimpl(wrapper=True)"
        in (pm.sertl_failures["wrapping"])
    )


def test_a_hook_error_names_the_plugin_line_that_raised(monkeypatch, tmp_path):
    # "raised RuntimeError: boom in hook" did not say where: the innermost
    # frame of the plugin's own package is named (a class module it imports)
    pkg = tmp_path / "fake_located_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_methods.py").write_text(
        "import os\n\nraise RuntimeError('boom in module')\n"
    )
    (pkg / "hooks.py").write_text(
        "from sertl_core import hookimpl\n\n\n@hookimpl\ndef sertl_register_adapters():\n"
        "    from ._methods import Method\n\n    return [Method]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in [m for m in sys.modules if m.startswith("fake_located_plugin")]:
        monkeypatch.delitem(sys.modules, mod)
    import importlib

    hooks = importlib.import_module("fake_located_plugin.hooks")
    _install_fake(monkeypatch, {"located": hooks})
    with pytest.warns(
        PluginLoadWarning,
        match=r"sertl_register_adapters\(\) raised RuntimeError: boom in module \(at "
        + re.escape(str(pkg / "_methods.py"))
        + r":3, in <module>\); its adapters are skipped",
    ):
        Registry(make_plugin_manager()).names("adapters")


def test_a_failing_command_hook_is_printed_once_with_its_distribution(
    monkeypatch, capsys
):
    @hookimpl
    def sertl_add_commands(subparsers):
        subparsers.add_parser("corpora")  # taken, as "run" by sertl-experiments

    mod = _module("fake_runner_hooks", sertl_add_commands=sertl_add_commands)
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    _fake_eps(monkeypatch, [_ep("runner", "fake_runner_hooks", "sertl-runner")])
    monkeypatch.setattr(
        "sertl_core.registry._REGISTRY", Registry(make_plugin_manager())
    )
    from sertl_core.cli import main

    line = (
        r"sertl: plugin 'runner' \(sertl-runner\): sertl_add_commands\(\) raised "
        r"ValueError: the command 'corpora' belongs to plugin 'core'.*\(at "
        r"\S+test_core_registry\.py:\d+, in sertl_add_commands\); its commands are "
        "unavailable"
    )
    for argv in (["plugins"], ["corpora"]):
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert len(re.findall(line, err)) == 1, (argv, err)
        assert err.count("sertl_add_commands() raised") == 1, (argv, err)


def test_plugins_strict_fails_when_a_plugin_has_a_problem(monkeypatch, capsys):
    from sertl_core.cli import build_parser, main

    _install_fake(monkeypatch, {})
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    assert main(["plugins", "--strict"]) == 0  # nothing wrong
    capsys.readouterr()
    eps = metadata.entry_points(group="sertl") + [
        _ep("broken", "no_such_module_xyz.hooks", "sertl-broken")
    ]
    _fake_eps(monkeypatch, eps)
    monkeypatch.setattr("sertl_core.registry._REGISTRY", None)
    assert main(["plugins"]) == 0  # listing is not failing, without --strict
    assert "'broken' (sertl-broken): could not be loaded" in capsys.readouterr().err
    assert main(["plugins", "--strict"]) == 1
    assert "'broken' (sertl-broken): could not be loaded" in capsys.readouterr().err
    assert main(["plugins", "--strict", "--json"]) == 1
    assert "broken" in json.loads(capsys.readouterr().out)["failed_plugins"]
    text = build_parser().get_default("_command_parsers")["plugins"].format_help()
    assert re.search(
        r"--strict\s+exit with status 1 when a plugin failed to load", text
    )


def test_commands_of_a_missing_plugin_name_the_distribution(monkeypatch, capsys):
    # sertl-core alone: no entry point but the core's
    _install_fake(monkeypatch, {})
    monkeypatch.setattr(
        "sertl_core.registry._REGISTRY", Registry(make_plugin_manager())
    )
    from sertl_core.cli import main

    for command in (["run", "exp.toml"], ["grid"], ["demo"], ["predict", "m.skops"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert (
            f"sertl: the command {command[0]!r} is provided by sertl-experiments: "
            "pip install sertl-experiments." in err
        )
        assert "invalid choice" not in err
    # sertl --help says which commands are missing and where they come from
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "commands of sertl's plugins that are not available: run, grid, predict, "
        "demo: provided by sertl-experiments: pip install sertl-experiments."
    ) in help_text
    # any other unknown command keeps argparse's own message
    with pytest.raises(SystemExit):
        main(["nonsense"])
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_commands_of_an_installed_but_broken_plugin_name_its_problem(
    monkeypatch, capsys
):
    _fake_eps(
        monkeypatch,
        [_ep("experiments", "no_such_module_xyz.hooks", "sertl-experiments")],
    )
    with pytest.warns(PluginLoadWarning, match="could not be loaded"):
        reg = Registry(make_plugin_manager())
    monkeypatch.setattr("sertl_core.registry._REGISTRY", reg)
    from sertl_core.cli import main

    assert main(["run", "exp.toml"]) == 2
    assert re.search(
        r"the command 'run' is provided by sertl-experiments, which is installed "
        r"but its plugin 'experiments' has a problem: could not be loaded",
        capsys.readouterr().err,
    )


def test_vote_is_answered_with_its_distribution(monkeypatch):
    _install_fake(monkeypatch, {})
    reg = Registry(make_plugin_manager())
    with pytest.raises(
        RegistryError,
        match=r"'vote' is provided by sertl-experiments: pip install sertl-experiments",
    ):
        reg.get("estimators", "vote")


def test_known_providers_list_every_name_and_command_of_sertls_plugins(monkeypatch):
    # the install hints of a name or command that is not there come from two
    # tables; every first-party plugin installed here must be in them, so
    # that a new name cannot be forgotten
    from sertl_core.cli import build_parser
    from sertl_core.registry import (
        _FIRST_PARTY,
        _KNOWN_COMMANDS,
        _KNOWN_PROVIDERS,
    )

    reg = Registry(make_plugin_manager())
    assert not reg.failures, reg.failures
    registered: dict[str, set] = {}
    for entry in reg.entries():
        if entry.distribution in _FIRST_PARTY and entry.distribution != "sertl-core":
            registered.setdefault(entry.distribution, set()).add(entry.name)
    if not registered:
        # vacuous without a plugin; with one installed, it must register
        for dist in sorted(_FIRST_PARTY - {"sertl-core"}):
            try:
                metadata.distribution(dist)
            except metadata.PackageNotFoundError:
                continue
            pytest.fail(f"{dist} is installed but registers nothing")
        pytest.skip("no first-party plugin is installed: nothing to compare")
    for dist, names in registered.items():
        assert names == set(_KNOWN_PROVIDERS.get(dist, [])), dist
    for dist in set(_KNOWN_PROVIDERS) - set(registered):
        assert dist not in reg._dists.values(), f"{dist} registers nothing"

    monkeypatch.setattr("sertl_core.registry._REGISTRY", reg)
    parser = build_parser()
    commands: dict[str, set] = {}
    for command, sub in parser.get_default("_command_parsers").items():
        plugin = sub.get_default("_sertl_plugin")
        dist = reg.distribution(plugin) if plugin else "sertl-core"
        if dist in _FIRST_PARTY and dist != "sertl-core":
            commands.setdefault(dist, set()).add(command)
    for dist in set(commands) | set(_KNOWN_COMMANDS):
        if dist in reg._dists.values():
            assert commands.get(dist, set()) == set(_KNOWN_COMMANDS.get(dist, [])), dist
