"""Plugin manager and the name -> class registry.

Plugins are found through the entry-point group ``sertl``; the core's own
methods register through the same hooks (entry point ``core``). The registry
maps each class's ``registry_name`` to the class, per kind.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata

import pluggy

from . import hookspecs
from ._warn import _FIRST_PARTY as _FIRST_PARTY_PACKAGES
from ._warn import SertlWarning, external_stacklevel

__all__ = [
    "KINDS",
    "PluginLoadWarning",
    "Registry",
    "RegistryEntry",
    "RegistryError",
    "get_registry",
    "is_step_name",
    "make_plugin_manager",
]

ENTRY_POINT_GROUP = "sertl"

KINDS = {
    "adapters": "sertl_register_adapters",
    "estimators": "sertl_register_estimators",
    "scorers": "sertl_register_scorers",
    "splitters": "sertl_register_splitters",
    "corpora": "sertl_register_corpora",
    "features": "sertl_register_features",
}
"""Registry kinds and the hook that fills each."""

_SINGULAR = {"corpora": "corpus"}

# What each kind's classes must offer (see the hook specifications): a class
# registered under the wrong kind is skipped with a message, not found later
# by a Pipeline that calls a method the class lacks.
_REQUIRED_METHODS = {
    "adapters": ("fit", "transform"),
    "estimators": ("fit", "predict"),
    "scorers": ("__call__",),
    "splitters": ("split",),
    "corpora": ("read",),
    "features": ("fit", "transform"),
}


_ACROSS_KINDS = (
    "registry names are unique across kinds: sertl grid --methods NAME and "
    "sertl run's params = { NAME = ... } name a class whatever its kind"
)


def _has_method(cls, name):
    """Whether ``cls`` offers a callable ``name`` of its own or of a base class.

    ``object`` is left out of the search: every class inherits its
    ``__init__``, ``__eq__`` ..., and ``getattr(cls, "__call__")`` finds
    the metaclass's ``type.__call__``, which would let any class pass for a
    scorer.
    """
    if not any(name in vars(c) for c in cls.__mro__ if c is not object):
        return False
    return callable(getattr(cls, name, None))


def _singular(kind):
    """``"adapters"`` -> ``"adapter"``, ``"corpora"`` -> ``"corpus"``."""
    return _SINGULAR.get(kind, kind[:-1])


# Names provided by the first-party distributions, to answer "unknown name"
# with the package to install (tests/test_core_registry.py checks it against
# the installed plugins' registrations).
_KNOWN_PROVIDERS = {
    "sertl-experiments": ["vote"],
    "sertl-instance": ["kmm", "kliep"],
    "sertl-feature": ["tca", "coral", "subspace_alignment", "jda"],
    "sertl-neural": ["finetune", "multitask", "dann", "autoencoder"],
    "sertl-relational": ["label_relation", "class_relation"],
    "sertl-speech": [
        "audio_features",
        "speaker_normalizer",
        "emodb",
        "ravdess",
        "savee",
        "tess",
        "crema_d",
        "emovo",
        "urdu",
        "turev_db",
        "iemocap",
        "csv",
        "folders",
    ],
}

# The ``sertl`` commands of the first-party distributions, to answer a
# command that is not there with the package to install (checked like the
# table above).
_KNOWN_COMMANDS = {
    "sertl-experiments": ["run", "grid", "predict", "demo"],
}

_FIRST_PARTY = {name.replace("_", "-") for name in _FIRST_PARTY_PACKAGES}
"""Distributions of the sertl project; ``sertl new-plugin`` refuses their names."""

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# The registry-name rule (CONTRIBUTING.md, "Registry names", documents it):
# besides the pattern above, the names below can never name a method, because
# a Pipeline or sertl's own commands give them a meaning of their own.
_STEP_NAMES = ("scale", "model", "classifier", "features")
"""Steps that ``sertl run`` and ``sertl grid`` name themselves."""

_ADAPT_SLOT = re.compile(r"adapt[0-9]+")
"""The adapter slots ``adapt1``, ``adapt2`` ... of ``sertl grid``'s template."""


def is_step_name(name):
    """Whether ``name`` is a step name of the pipelines sertl's commands build.

    ``sertl run`` and ``sertl grid`` name their pipelines' steps ``scale``,
    ``model``, ``classifier`` and ``features``, and grid search's adapter
    slots ``adapt1``, ``adapt2`` ...; a method of such a registry name would
    collide with one of them, so the registry refuses it (CONTRIBUTING.md,
    "Registry names"). Tools that build pipelines of registered methods use
    this to tell a step from a method.

    Parameters
    ----------
    name : object
        A candidate name.

    Returns
    -------
    step : bool
        True for a step name, False otherwise (non-strings included).

    Examples
    --------
    >>> from sertl_core.registry import is_step_name
    >>> [is_step_name(n) for n in ("model", "adapt2", "coral", "adaptive", None)]
    [True, True, False, False, False]
    """
    return isinstance(name, str) and (
        name in _STEP_NAMES or _ADAPT_SLOT.fullmatch(name) is not None
    )


_SPECIAL_METHODS = {
    "no_adaptation": "the no-adaptation baseline",
    "none": "no adaptation, or no adapter",
    "dss": "per-domain standardisation",
    "passthrough": "no step at all",
}
"""Method names that ``sertl grid`` and ``sertl run`` resolve themselves."""


def _pipeline_parameters():
    """Return the constructor parameters of scikit-learn's Pipeline."""
    from sklearn.pipeline import Pipeline

    return tuple(inspect.signature(Pipeline).parameters)


def _name_problem(name):
    """Say why ``name`` cannot be a registry name, or return None when it can.

    The one implementation of the registry-name rule that CONTRIBUTING.md
    ("Registry names") documents: the registry skips a class whose name
    breaks it (:class:`PluginLoadWarning`) and
    :func:`sertl_core.testing.check_registry_name` fails it. (That a name is
    unique across kinds is the registry's to check.)

    Parameters
    ----------
    name : object
        A class's ``registry_name``.

    Returns
    -------
    problem : str or None
        What is wrong and what to do, to follow "registry_name NAME".
    """
    fix = "give the class another registry_name"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return (
            "is not a short lowercase name matching [a-z][a-z0-9_]* (letters, "
            f"digits and underscores, starting with a letter): {fix}, e.g. "
            "'my_shift'"
        )
    if "__" in name:
        return (
            "contains '__', read by scikit-learn as STEP__PARAMETER "
            "(set_params, grid search), so a Pipeline refuses it as a step "
            f"name: {fix} with single underscores, e.g. "
            f"{re.sub('_+', '_', name).strip('_')!r}"
        )
    if name in _pipeline_parameters():
        return (
            "is a parameter of scikit-learn's Pipeline "
            f"({', '.join(_pipeline_parameters())}), so a Pipeline refuses a "
            'step of that name ("Estimator names conflict with constructor '
            f"arguments\"): {fix}, e.g. 'my_{name}'"
        )
    if is_step_name(name):
        return (
            "names a step of the pipelines that sertl run and sertl grid build "
            f"({', '.join(_STEP_NAMES)}, and adapt1, adapt2 ... for grid "
            "search's adapter slots), so a method of that name would collide "
            f"with that step: {fix}, e.g. 'my_{name}'"
        )
    if name in _SPECIAL_METHODS:
        return (
            f"is a method name that sertl grid and sertl run resolve "
            f"themselves ({name!r}: {_SPECIAL_METHODS[name]}), so one of them "
            f"would not run this class under it: {fix}, e.g. 'my_{name}'"
        )
    return None


def _is_first_party(distribution):
    """Whether ``distribution`` is one of the sertl project's own."""
    if not distribution:
        return False
    return re.sub(r"[-_.]+", "-", distribution).lower() in _FIRST_PARTY


class RegistryError(LookupError):
    """An unknown, duplicate or malformed registry name.

    For an unknown name the message lists the available names of that kind
    and, for a name of a known sertl plugin that is not installed, the
    distribution to install.

    Examples
    --------
    >>> from sertl_core import RegistryError, get_registry
    >>> try:
    ...     get_registry().get("adapters", "no_such_method")
    ... except RegistryError as exc:
    ...     print(str(exc).split(".")[0])
    No adapter named 'no_such_method'
    """


class PluginLoadWarning(SertlWarning):
    """A plugin could not be loaded or registered something malformed.

    The message names the plugin (its entry-point name), its distribution
    and what to fix. Only that plugin's faulty part is skipped: a plugin
    that fails to import, a hook that raises or returns something other
    than a list of classes (None too: a missing ``return``), a hook
    wrapper (not supported), a class without a valid ``registry_name``
    (see CONTRIBUTING.md, "Registry names"); the other plugins still work.
    Two classes that claim the same name, of any kinds, are both withheld
    under it (``Registry.get`` then names both), unless one of them is
    sertl's own, which keeps it. ``sertl plugins`` and
    :attr:`Registry.failures` list every such problem.

    Examples
    --------
    >>> import warnings
    >>> from sertl_core import hookimpl
    >>> from sertl_core.registry import (
    ...     PluginLoadWarning, Registry, make_plugin_manager)
    >>> class Broken:
    ...     @hookimpl
    ...     def sertl_register_adapters(self):
    ...         return "not a list"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", PluginLoadWarning)
    ...     reg = Registry(make_plugin_manager(
    ...         load_entrypoints=False, plugins={"broken": Broken()}))
    >>> "domain_standard_scaler" in reg.names("adapters")  # the others work
    True
    >>> print(reg.failures["broken"].split(";")[0])
    sertl_register_adapters() must return a list of classes, got str
    """


@dataclass(frozen=True)
class RegistryEntry:
    """One registered class.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    name : str
        The class's ``registry_name``.
    cls : type
        The class.
    plugin : str
        Name of the plugin (entry point) that registered it.
    distribution : str or None
        The installed distribution that provides the plugin.

    Examples
    --------
    >>> from sertl_core import get_registry
    >>> entries = get_registry().entries("adapters")
    >>> (entry,) = [e for e in entries if e.name == "domain_standard_scaler"]
    >>> entry.kind, entry.cls.__name__, entry.distribution
    ('adapters', 'DomainStandardScaler', 'sertl-core')
    """

    kind: str
    name: str
    cls: type
    plugin: str
    distribution: str | None

    @property
    def class_path(self) -> str:
        """``module.QualName`` of the class."""
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


def make_plugin_manager(*, load_entrypoints=True, plugins=None, warn=True):
    """Create a fresh plugin manager with the sertl hook specifications.

    Parameters
    ----------
    load_entrypoints : bool, default=True
        Load every installed plugin of the entry-point group ``sertl``. A
        plugin that fails to import, or whose entry-point name another
        distribution already uses, is skipped with a
        :class:`PluginLoadWarning` naming it and the error; a loaded plugin
        whose hooks pluggy would silently ignore (a function without the
        ``@hookimpl`` marker, a misspelt hook name, a module without hooks)
        is reported the same way, and so is a hook marked with an
        ``@hookimpl`` option that sertl does not honour (a hook wrapper,
        which is not called, or ``tryfirst`` / ``trylast``).
    plugins : dict of str to module or object, default=None
        Extra plugins to register under the given names (e.g. in tests).
    warn : bool, default=True
        Warn about the plugins' problems here. False leaves the warnings to
        the :class:`Registry` built on the manager, which gives them with
        the problems of the registration hooks when it is built (at its
        first look-up for :func:`get_registry`), so that a warnings filter
        turning them into errors stops that look-up once, after the
        registry is built and cached, and never the loading of the plugins.
        The problems are recorded in ``pm.sertl_failures`` either way.

    Returns
    -------
    pm : pluggy.PluginManager
        The manager; ``pm.sertl_distributions`` maps plugin names to their
        distributions and ``pm.sertl_failures`` the plugins with a problem
        to its description.

    Examples
    --------
    >>> from sertl_core.registry import make_plugin_manager
    >>> pm = make_plugin_manager(load_entrypoints=False)
    >>> pm.get_plugin("core") is not None
    True
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    distributions: dict[str, str | None] = {}
    failures: dict[str, str] = {}
    values: dict[str, str] = {}

    pending: list[tuple[str, str]] = []

    def fail(name, problem):
        _record_failure(failures, name, problem)
        pending.append((name, problem))

    if load_entrypoints:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            dist = ep.dist.name if ep.dist is not None else None
            if ep.name in values:
                if ep.value != values[ep.name]:  # not the same plugin seen twice
                    key = f"{ep.name} ({dist or 'unknown distribution'})"
                    distributions[key] = dist
                    fail(
                        key,
                        f"its entry point {ep.name} = {ep.value!r} is skipped: "
                        f"the plugin name {ep.name!r} is already taken by "
                        f"{values[ep.name]!r} "
                        f"({distributions.get(ep.name) or 'unknown distribution'}); "
                        "rename the entry point in the [project.entry-points.sertl] "
                        "table of one of the two pyproject.toml files",
                    )
                continue
            values[ep.name] = ep.value
            distributions[ep.name] = dist
            try:
                plugin = ep.load()
                owner = pm.get_name(plugin)
                if owner is None:
                    pm.register(plugin, name=ep.name)
            except pluggy.PluginValidationError as exc:  # a hook pluggy refuses
                fail(ep.name, _refused_hook(pm, plugin, exc))
                continue
            except Exception as exc:  # a broken plugin must not break the others
                fail(
                    ep.name,
                    f"could not be loaded from {ep.value!r} and is skipped: "
                    + _import_failed(ep.value, exc),
                )
                continue
            if owner is not None:  # pluggy refuses a module under two names
                fail(
                    ep.name,
                    f"its entry point {ep.name} = {ep.value!r} names the same "
                    f"module as the entry point of plugin {owner!r} "
                    f"({distributions.get(owner) or 'unknown distribution'}), "
                    f"which is loaded once, as {owner!r}; {ep.name!r} is "
                    "skipped: remove one of the two entry points (a stale one "
                    "left by a rename, say) from the [project.entry-points.sertl] "
                    "table of its pyproject.toml",
                )
                continue
            for problem in _ignored_hooks(pm, plugin, ep.value):
                fail(ep.name, problem)
    if pm.get_plugin("core") is None:
        # Running from a source tree without the package installed.
        pm.register(importlib.import_module("sertl_core._builtins"), name="core")
        distributions["core"] = "sertl-core"
    for name, plugin in (plugins or {}).items():
        pm.register(plugin, name=name)
        distributions.setdefault(name, None)
        for problem in _ignored_hooks(pm, plugin, None):
            fail(name, problem)
    pm.sertl_distributions = distributions  # type: ignore[attr-defined]
    pm.sertl_failures = failures  # type: ignore[attr-defined]
    if warn:
        _warn_failures(pending, distributions)
        pending = []
    # what the Registry built on this manager warns about with its own
    pm.sertl_unwarned = pending  # type: ignore[attr-defined]
    return pm


def _record_failure(failures, plugin, problem):
    """Record a faulty plugin's ``problem`` in ``failures``.

    The one record of a plugin problem, whether found while loading the
    plugins (:func:`make_plugin_manager`) or while calling their hooks
    (:class:`Registry`): the problems of one plugin are joined with "; ".
    """
    old = failures.get(plugin)
    failures[plugin] = f"{old}; {problem}" if old else problem


def _warn_failures(problems, distributions):
    """Warn about each ``(plugin, problem)``, once everything is loaded.

    A :class:`PluginLoadWarning` names the plugin and its distribution
    (looked up in ``distributions``) at the line of the caller's code that
    loaded the plugins or looked a name up. The warnings come after the
    whole registry is built, so that a warnings filter turning them into
    errors stops the caller, not the build: the other plugins stay
    registered.
    """
    for plugin, problem in problems:
        dist = distributions.get(plugin)
        warnings.warn(
            f"sertl plugin {plugin!r} ({dist or 'unknown distribution'}): {problem}",
            PluginLoadWarning,
            stacklevel=external_stacklevel(),
        )


def _ignored_hooks(pm, plugin, ep_value):
    """Describe what pluggy would silently ignore in a registered plugin.

    A function named like a hook but not marked ``@hookimpl``, a marked
    function whose name is no sertl hook (a typo), and a plugin module that
    implements no hook at all (an entry point naming the package instead of
    its hooks module, say) register nothing without a word from pluggy.
    """
    specs = sorted(n for n in dir(hookspecs) if n.startswith("sertl_"))
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                problems.extend(_option_problems(caller.name, impl))
        if not caller.has_spec():
            close = difflib.get_close_matches(caller.name, specs, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                f"{caller.name} is not a sertl hook{hint}, so it is never "
                f"called; the hooks are {', '.join(specs)}"
            )
    unmarked = [
        name
        for name in specs
        if callable(getattr(plugin, name, None))
        and pm.parse_hookimpl_opts(plugin, name) is None
    ]
    for name in unmarked:
        problems.append(
            f"{name} lacks the @sertl_core.hookimpl decorator, so pluggy ignores "
            "it: decorate it with @sertl_core.hookimpl"
        )
    if not unmarked and not pm.get_hookcallers(plugin):
        where = f"the entry point's {ep_value!r}" if ep_value else "the plugin"
        kind = "module" if inspect.ismodule(plugin) else "object"
        problems.append(
            f"{where} is a {kind} without any sertl hook (functions marked "
            "@sertl_core.hookimpl and named as in sertl_core.hookspecs), so it "
            "registers nothing: point the entry point at the module that "
            "holds the hooks, e.g. 'sertl_mymethods.hooks'"
        )
    return problems


_WRAPPER_OPTIONS = ("wrapper", "hookwrapper")
_ORDER_OPTIONS = ("tryfirst", "trylast")


def _option_problems(hook_name, impl):
    """Describe the ``@hookimpl`` options of ``impl`` that sertl does not honour.

    sertl calls each plugin's hook on its own (:func:`_plain_hookimpls`), not
    through pluggy's hook caller, so that a plugin whose hook raises or
    returns something malformed is skipped and named while the others still
    register. A hook wrapper (``wrapper=True``, ``hookwrapper=True``) has then
    no other results to wrap: it is not called. ``tryfirst`` and ``trylast``
    change nothing: the registry is the same whatever the order (a name two
    plugins claim is withheld from both), and sertl's own plugins add their
    commands first.
    """
    problems = []
    for option in _WRAPPER_OPTIONS:
        if getattr(impl, option, False):
            problems.append(
                f"{hook_name} is marked @hookimpl({option}=True), and sertl does "
                "not support hook wrappers: it calls each plugin's hook on its "
                "own, so that a failing plugin is skipped and named without "
                "stopping the others, and a wrapper would have no other "
                "results to wrap; it is not called: return your classes (or "
                "add your commands) from a plain @sertl_core.hookimpl function"
            )
    for option in _ORDER_OPTIONS:
        if getattr(impl, option, False):
            problems.append(
                f"{hook_name} is marked @hookimpl({option}=True), which has no "
                "effect in sertl: each plugin's hook is called on its own and "
                "the order changes nothing (a name two plugins claim is "
                "withheld from both, whichever comes first; sertl's own "
                f"plugins add their commands first); remove {option}=True"
            )
    return problems


def _plain_hookimpls(pm, hook_name):
    """``(plugin name, hook implementation)`` of every plain ``hook_name``.

    The implementations sertl calls one by one, each in its own ``try``:
    hook wrappers are left out (:func:`make_plugin_manager` reports them,
    see :func:`_option_problems`).
    """
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        if any(getattr(impl, option, False) for option in _WRAPPER_OPTIONS):
            continue
        yield pm.get_name(impl.plugin) or repr(impl.plugin), impl


def _hook_raised(hook_name, exc, impl):
    """Say ``"HOOK() raised TYPE: MESSAGE (at FILE:LINE, in FUNCTION)"``.

    The place is the innermost frame of the traceback in the plugin's own
    code: the file of the hook function or any module of the top-level
    package that holds it (a class module the hook imports, say), so that
    the author sees which of their lines raised, not a line of importlib or
    sertl.
    """
    function = inspect.unwrap(impl.function)
    own_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    top = sys.modules.get((getattr(function, "__module__", None) or "").split(".")[0])
    top_file = getattr(top, "__file__", None)
    # a package: every module in its folder is the plugin's own code
    root = (
        os.path.dirname(os.path.abspath(top_file)) + os.sep
        if top_file and hasattr(top, "__path__")
        else None
    )
    at = _raised_at(exc, own_file, root)
    return f"{hook_name}() raised {type(exc).__name__}: {exc}{at}"


def _refused_hook(pm, plugin, exc):
    """Say which hook of ``plugin`` pluggy refused to register, and the fix.

    pluggy refuses the whole plugin for a hook whose parameters the
    hookspec does not have (it passes the arguments by name:
    ``sertl_add_commands(parser)`` for ``(subparsers)``) or one marked as a
    wrapper that is no generator; its own message spans lines and names
    none of sertl's rules.
    """
    for name in sorted(n for n in dir(hookspecs) if n.startswith("sertl_")):
        opts = pm.parse_hookimpl_opts(plugin, name)
        if opts is None:
            continue
        function = inspect.unwrap(getattr(plugin, name))
        code = getattr(function, "__code__", None)
        at = (
            f" (at {code.co_filename}:{code.co_firstlineno}, in {name})" if code else ""
        )
        wanted = list(inspect.signature(getattr(hookspecs, name)).parameters)
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # not introspectable: pluggy's words
            continue
        given = [_written(p) for p in params]  # as the author wrote them
        # pluggy passes the positional parameters without a default, by name;
        # it ignores *args, **kwargs and keyword-only ones
        positional = (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        required = {
            p.name
            for p in params
            if p.kind in positional and p.default is inspect.Parameter.empty
        }
        if required - set(wanted):
            return (
                f"{name}({', '.join(given)}) has parameters that the hook "
                f"sertl_core.hookspecs.{name}({', '.join(wanted)}) lacks, and "
                "pluggy passes the arguments by name, so it refuses the plugin: "
                f"write def {name}({', '.join(wanted)}){at}"
            )
        wrapper = any(opts.get(option) for option in _WRAPPER_OPTIONS)
        if wrapper and not inspect.isgeneratorfunction(function):
            return (
                f"{name} is marked as a hook wrapper but does not yield, so "
                "pluggy refuses the plugin; sertl does not support hook "
                "wrappers: return your classes (or add your commands) from a "
                f"plain @sertl_core.hookimpl function{at}"
            )
    return "pluggy refused it: " + "; ".join(str(exc).splitlines())


def _written(parameter):
    """Return a parameter as its author wrote it, without its annotation.

    ``*args``, ``**options`` and ``extra=None`` keep their stars and default,
    so that a refused hook is quoted as it stands in the plugin's file.
    """
    return str(parameter.replace(annotation=inspect.Parameter.empty))


def _import_failed(ep_value, exc):
    """Say ``"TYPE: MESSAGE (at FILE:LINE, in FUNCTION)"`` for a failed import.

    The place is the innermost frame in the top-level package the entry
    point names (found without importing it), as for a hook that raised
    (:func:`_hook_raised`): the author's line that raised, the ``import``
    of a missing dependency, or the line a SyntaxError could not compile.
    """
    import importlib.util

    top = ep_value.split(":")[0].split(".")[0].strip()
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # a name no finder takes
        spec = None
    folders = list(getattr(spec, "submodule_search_locations", None) or [])
    origin = getattr(spec, "origin", None)
    root = os.path.abspath(folders[0]) + os.sep if folders else None
    # no frame of the plugin's (its module does not exist): no place, rather
    # than a line of importlib's
    at = _raised_at(exc, None if folders else origin, root, fallback=False)
    return f"{type(exc).__name__}: {exc}{at}"


def _raised_at(exc, own_file, root, *, fallback=True):
    """``" (at FILE:LINE, in FUNCTION)"`` of the innermost frame of the plugin's.

    A frame is the plugin's when its file is ``own_file`` or lies in the
    folder ``root``; without one, the innermost frame (``""`` when
    ``fallback`` is False). A SyntaxError gives the file and line it could
    not compile, which no frame holds.
    """
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f" (at {exc.filename}:{exc.lineno})"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [
        f
        for f in frames
        if f.filename == own_file
        or (root is not None and os.path.abspath(f.filename).startswith(root))
    ]
    where = (ours or (frames if fallback else []))[-1:]
    return "".join(f" (at {f.filename}:{f.lineno}, in {f.name})" for f in where)


def _ep_key(ep):
    # The core first, so its names win the error message on a clash; on an
    # entry-point name two distributions share, a first-party one wins.
    dist = ep.dist.name if ep.dist is not None else ""
    return (ep.name != "core", ep.name, not _is_first_party(dist), dist)


class Registry:
    """Name -> class map of every registered plugin class, by kind.

    A faulty plugin never breaks the others: a hook that raises or returns
    something other than a list of classes, or a class without a valid
    ``registry_name``, is skipped with a :class:`PluginLoadWarning` naming the
    plugin, and recorded in ``failures``. A name names one class, whatever
    its kind (the rule is in CONTRIBUTING.md, "Registry names"): two classes
    that claim the same name, of one kind or of two, are both withheld under
    it, and :meth:`get` then raises a :class:`RegistryError` naming both
    classes and their plugins; when one of them is sertl's own, it keeps the
    name and the other is skipped.

    Parameters
    ----------
    plugin_manager : pluggy.PluginManager, default=None
        Manager built by :func:`make_plugin_manager`; a new one loading the
        installed entry points when None.

    Attributes
    ----------
    failures : dict of str to str
        Plugins with a problem (failed to load, a hook that raised or
        returned something malformed, a duplicate name), with its
        description.

    Examples
    --------
    >>> from sertl_core.registry import Registry, make_plugin_manager
    >>> reg = Registry(make_plugin_manager(load_entrypoints=False))
    >>> reg.get("adapters", "domain_standard_scaler").__name__
    'DomainStandardScaler'
    """

    def __init__(self, plugin_manager=None, *, _deferred=False):
        pm = plugin_manager if plugin_manager is not None else make_plugin_manager()
        self._pm = pm
        self._failures = dict(getattr(pm, "sertl_failures", {}))
        self._dists = dict(getattr(pm, "sertl_distributions", {}))
        self._entries: dict[str, dict[str, RegistryEntry]] = {k: {} for k in KINDS}
        # every valid claim of each name, whatever its kind: a name names one
        # class (sertl grid --methods NAME and sertl run's params = { NAME =
        # ... } look a name up as adapter or as estimator)
        self._claims: dict[str, list[RegistryEntry]] = {}
        # names two or more classes claim: withheld, with the message for get()
        self._conflicts: dict[str, list[RegistryEntry]] = {}
        # get_registry() defers the hook calls to the first look-up: they
        # import every plugin's classes (torch for sertl-neural), which the
        # `sertl` command does not need to list the plugins' subcommands
        self._built = False
        self._building = False  # a hook that looks a name up sees what is there
        # problems to warn about: the manager's that it left unwarned
        # (make_plugin_manager(warn=False)), taken once, then the hooks'
        self._pending: list[tuple[str, str]] = list(getattr(pm, "sertl_unwarned", ()))
        if self._pending:
            pm.sertl_unwarned = []
        self._lock = threading.RLock()
        if not _deferred:
            self._build()

    @property
    def failures(self):
        """Plugins with a problem, with its description (dict of str to str)."""
        self._build()
        return self._failures

    def _build(self):
        """Call every plugin's registration hooks, once."""
        if self._built:
            return
        # another thread waits for the whole registry; the building thread
        # itself (a hook that looks a name up) goes on with what is there
        with self._lock:
            if self._built or self._building:
                return
            self._building = True
            try:
                self._call_hooks()
            finally:
                self._built, self._building = True, False
            pending, self._pending = self._pending, []
            _warn_failures(pending, self._dists)

    def _call_hooks(self):
        pm = self._pm
        for kind, hook_name in KINDS.items():
            for plugin_name, impl in _plain_hookimpls(pm, hook_name):
                try:
                    result = impl.function()
                except Exception as exc:  # one broken hook must not break the others
                    self._fail(
                        plugin_name,
                        f"{_hook_raised(hook_name, exc, impl)}; its {kind} are skipped",
                    )
                    continue
                if result is None:  # a hook body without its return, typically
                    self._fail(
                        plugin_name,
                        f"{hook_name}() returned None: it must return a list of "
                        "classes ([] when it has none); add the missing return",
                    )
                    continue
                if not isinstance(result, list | tuple):
                    self._fail(
                        plugin_name,
                        f"{hook_name}() must return a list of classes, got "
                        f"{type(result).__name__}; its {kind} are skipped",
                    )
                    continue
                for cls in result:
                    self._add(kind, cls, plugin_name, self._dists.get(plugin_name))
        for name, entries in list(self._conflicts.items()):
            ours = [e for e in entries if _is_first_party(e.distribution)]
            if len(ours) == 1:
                # a sertl name stays sertl's, whatever the kind of the class
                # that claims it: a third-party class (often a subclass that
                # inherits its parent's registry_name) never takes a built-in
                # method away
                del self._conflicts[name]
                self._entries[ours[0].kind][name] = ours[0]
                for e in entries:
                    if e is not ours[0]:
                        self._fail(e.plugin, self._taken_message(e, ours[0]))
                continue
            message = self._conflict_message(name, entries)
            for plugin in dict.fromkeys(e.plugin for e in entries):
                self._fail(plugin, message)

    def _fail(self, plugin, problem, *, warn=True):
        """Record a plugin problem; with ``warn``, warn once the build is done.

        ``warn=False`` is for a problem found outside the registry (the
        CLI's command hook), which its finder reports itself; it is still
        listed in :attr:`failures` and by ``sertl plugins``.
        """
        _record_failure(self._failures, plugin, problem)
        if warn:
            self._pending.append((plugin, problem))

    @staticmethod
    def _inherited(entry):
        """``" (Cls inherits it: ...)"`` when ``entry`` claims a parent's name."""
        if "registry_name" in vars(entry.cls):
            return ""
        return (
            f" ({entry.cls.__qualname__} inherits it: set registry_name in the "
            "subclass itself)"
        )

    @staticmethod
    def _taken_message(entry, owner):
        why = Registry._inherited(entry)
        has = (
            "has"
            if owner.kind == entry.kind
            else f"has as its {_singular(owner.kind)} name ({_ACROSS_KINDS})"
        )
        return (
            f"{entry.class_path} claims the {_singular(entry.kind)} name "
            f"{entry.name!r}, which {owner.distribution}'s {owner.class_path} "
            f"{has}; sertl's own names stay theirs, so it is skipped: give it a "
            f"registry_name of its own{why}"
        )

    def _add(self, kind, cls, plugin, dist):
        if not isinstance(cls, type):
            self._fail(
                plugin,
                f"registered {cls!r} as {kind}, which is not a class (hooks "
                "return lists of classes); it is skipped",
            )
            return
        name = getattr(cls, "registry_name", None)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            self._fail(
                plugin,
                f"{cls.__module__}.{cls.__qualname__} needs a class attribute "
                "registry_name: a short lowercase name matching [a-z][a-z0-9_]*, "
                f"got {name!r}; it is skipped",
            )
            return
        problem = _name_problem(name)
        if problem is not None:
            self._fail(
                plugin,
                f"{cls.__module__}.{cls.__qualname__} has the registry_name "
                f"{name!r}, which {problem}; it is skipped",
            )
            return
        missing = [m for m in _REQUIRED_METHODS[kind] if not _has_method(cls, m)]
        if missing:
            needs = " and ".join(f"{m}()" for m in _REQUIRED_METHODS[kind])
            hint = next(
                (
                    f"; it looks like one of the {other}: return it from "
                    f"{KINDS[other]}()"
                    for other in ("estimators", "adapters")
                    if other != kind
                    and all(_has_method(cls, m) for m in _REQUIRED_METHODS[other])
                ),
                "",
            )
            self._fail(
                plugin,
                f"{cls.__module__}.{cls.__qualname__} was registered as "
                f"{kind} ({name!r}) but has no "
                + " and no ".join(f"{m}()" for m in missing)
                + f": {kind} need {needs}{hint}; it is skipped",
            )
            return
        entry = RegistryEntry(kind, name, cls, plugin, dist)
        claims = self._claims.setdefault(name, [])
        if entry in claims:  # one hook listed the class twice: it is one class
            return
        claims.append(entry)
        if len(claims) == 1:
            # a hook that looks a name up while the others run sees it
            self._entries[kind][name] = entry
            return
        # withheld, of every kind, until _call_hooks settles the clash
        for e in claims:
            self._entries[e.kind].pop(name, None)
        self._conflicts[name] = claims

    @staticmethod
    def _conflict_message(name, entries):
        kinds = list(dict.fromkeys(e.kind for e in entries))
        one_kind = len(kinds) == 1
        claims = " and ".join(
            e.class_path
            + ("" if one_kind else f" ({_singular(e.kind)})")
            + f" from plugin {e.plugin!r} ({e.distribution or 'no distribution'})"
            for e in entries
        )
        what = f"{_singular(kinds[0])} name" if one_kind else "name"
        across = "" if one_kind else f" ({_ACROSS_KINDS})"
        classes = list(dict.fromkeys(e.cls for e in entries))
        fixes = [
            f"return {c.__module__}.{c.__qualname__} from one hook only"
            for c in classes
            if sum(e.cls is c for e in entries) > 1
        ]
        if len(classes) > 1:
            fixes.append(
                "rename one registry_name"
                + "".join(dict.fromkeys(Registry._inherited(e) for e in entries))
            )
        if len({e.plugin for e in entries}) > 1:
            fixes.append("uninstall one of the plugins")
        return (
            f"Duplicate {what} {name!r}: {claims}. Neither is registered under "
            f"{name!r}{across}: {' or '.join(fixes)}"
        )

    def entries(self, kind=None):
        """Return the registered entries, optionally of one kind.

        Parameters
        ----------
        kind : str, default=None
            One of :data:`KINDS`; all kinds when None.

        Returns
        -------
        entries : list of RegistryEntry
            Sorted by kind and name.
        """
        self._build()
        kinds = [self._check_kind(kind)] if kind is not None else list(KINDS)
        return [e for k in kinds for _, e in sorted(self._entries[k].items())]

    def names(self, kind):
        """Return the registered names of one kind, sorted.

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.

        Returns
        -------
        names : list of str
            The registry names of ``kind``, sorted.
        """
        self._build()
        return sorted(self._entries[self._check_kind(kind)])

    def get(self, kind, name):
        """Return the class registered under ``name``.

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.
        name : str
            The registry name.

        Returns
        -------
        cls : type
            The registered class.

        Raises
        ------
        RegistryError
            Unknown name, with the available names and, for a first-party
            name, the distribution that provides it.
        """
        self._build()
        kind = self._check_kind(kind)
        try:
            return self._entries[kind][name].cls
        except KeyError:
            pass
        clash = self._conflicts.get(name, [])
        if any(e.kind == kind for e in clash):
            raise RegistryError(self._conflict_message(name, clash) + ".")
        available = ", ".join(self.names(kind)) or "none"
        for other in KINDS:
            if other != kind and name in self._entries[other]:
                raise RegistryError(
                    f"No {_singular(kind)} named {name!r}: {name!r} is registered "
                    f"as {_singular(other)}: get({other!r}, {name!r}). Available "
                    f"{kind}: {available}."
                )
        hint = self.missing_hint(name)
        raise RegistryError(
            f"No {_singular(kind)} named {name!r}. Available {kind}: {available}."
            + (f" {hint}" if hint else "")
        )

    def missing_hint(self, name, *, command=False):
        """Say where a name that no class has may come from.

        The end of the "unknown name" message of :meth:`get`, for a command
        that looks names up its own way (``sertl grid --methods``): the
        distribution to install for a name of sertl's own plugins, or the
        installed plugins with a problem, which may be the ones that
        provide it.

        Parameters
        ----------
        name : str
            The name nothing is registered under.
        command : bool, default=False
            ``name`` is a ``sertl`` command (``run``) rather than a class's
            registry name. The answer then needs no plugin's classes (the
            registration hooks are not called).

        Returns
        -------
        hint : str
            One or more sentences; empty when there is nothing to say.

        Examples
        --------
        >>> from sertl_core.registry import Registry, make_plugin_manager
        >>> reg = Registry(make_plugin_manager(load_entrypoints=False))
        >>> reg.missing_hint("coral")
        "'coral' is provided by sertl-feature: pip install sertl-feature."
        >>> reg.missing_hint("run", command=True).split(":")[0]
        "the command 'run' is provided by sertl-experiments"
        >>> reg.missing_hint("my_method")
        ''
        """
        # a command's plugin failed to load or to add its commands: both are
        # recorded before the registration hooks run
        failures = self._failures if command else self.failures
        what = f"the command {name!r}" if command else repr(name)
        table = _KNOWN_COMMANDS if command else _KNOWN_PROVIDERS
        for dist, provided in table.items():
            if name in provided:
                return f"{what} is provided by {self._provider_status(dist, failures)}."
        if not failures:
            return ""
        return (
            "Plugins with a problem, which may provide it: "
            + "; ".join(
                f"{p!r} ({self._dists.get(p) or 'unknown distribution'}): {err}"
                for p, err in failures.items()
            )
            + "."
        )

    def _provider_status(self, dist, failures):
        """Return ``DIST: pip install DIST``, or why the installed ``dist`` fails."""
        failed = {self._dists.get(p): p for p in failures}
        if dist in failed:
            plugin = failed[dist]
            return (
                f"{dist}, which is installed but its plugin {plugin!r} has a "
                f"problem: {failures[plugin]}"
            )
        return f"{dist}: pip install {dist}"

    def missing_commands(self, present):
        """Say which commands of sertl's own plugins are not in ``present``.

        For ``sertl --help``: the commands a first-party distribution would
        add, with the distribution to install (or its plugin's problem).

        Parameters
        ----------
        present : collection of str
            The commands the ``sertl`` parser has.

        Returns
        -------
        notes : list of str
            One sentence per distribution with missing commands.

        Examples
        --------
        >>> from sertl_core.registry import Registry, make_plugin_manager
        >>> reg = Registry(make_plugin_manager(load_entrypoints=False))
        >>> note = reg.missing_commands(["plugins", "corpora", "new-plugin"])[0]
        >>> note.split(": ")[:2]
        ['run, grid, predict, demo', 'provided by sertl-experiments']
        """
        notes = []
        for dist, commands in _KNOWN_COMMANDS.items():
            missing = [c for c in commands if c not in present]
            if missing:
                status = self._provider_status(dist, self._failures)
                notes.append(f"{', '.join(missing)}: provided by {status}.")
        return notes

    def distribution(self, plugin):
        """Return the distribution that provides ``plugin``, or None.

        Parameters
        ----------
        plugin : str
            A plugin (entry-point) name, e.g. a key of ``failures``.

        Returns
        -------
        distribution : str or None
            The installed distribution's name; None when unknown.

        Examples
        --------
        >>> from sertl_core.registry import Registry, make_plugin_manager
        >>> Registry(make_plugin_manager(load_entrypoints=False)).distribution("core")
        'sertl-core'
        """
        return self._dists.get(plugin)

    def create(self, kind, name, **params):
        """Instantiate the class registered under ``name`` with ``params``.

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.
        name : str
            The registry name.
        **params : dict
            Constructor parameters.

        Returns
        -------
        instance : object
            A new instance of the registered class.
        """
        cls = self.get(kind, name)
        try:
            return cls(**params)
        except TypeError as exc:
            takes = [
                p.name
                for p in inspect.signature(cls).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            hint = f" {cls.__name__} takes: {', '.join(takes)}." if takes else ""
            raise RegistryError(
                f"Cannot create {name!r} ({cls.__name__}) with {sorted(params)}: "
                f"{exc}.{hint}"
            ) from exc

    @staticmethod
    def _check_kind(kind):
        if kind not in KINDS:
            close = difflib.get_close_matches(str(kind), KINDS, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RegistryError(
                f"Unknown kind {kind!r}; kinds are {sorted(KINDS)} (plural, "
                f"e.g. get('adapters', 'coral')).{hint}"
            )
        return kind

    @property
    def plugin_manager(self):
        """The underlying pluggy plugin manager."""
        return self._pm


_REGISTRY: Registry | None = None


def get_registry(*, refresh=False):
    """Return the registry of installed plugins, built once and cached.

    The plugins are loaded at the first call; their classes are imported
    (the registration hooks called) at the first look-up, so that the
    ``sertl`` command lists the plugins' subcommands without importing,
    say, torch for sertl-neural. Every plugin problem, whether found while
    loading the plugins (an import error, a taken entry-point name, an
    unmarked hook) or while calling their hooks, is warned once, at that
    first look-up, after the registry is built and cached: under a filter
    that turns :class:`PluginLoadWarning` into an error only that look-up
    raises, and the later ones work without loading the plugins again.

    Parameters
    ----------
    refresh : bool, default=False
        Rebuild it (after installing a plugin in the running process).

    Returns
    -------
    registry : Registry
        The cached registry (a new one when ``refresh`` is True).

    Examples
    --------
    >>> from sertl_core import get_registry
    >>> "source_only" in get_registry().names("estimators")
    True
    """
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = Registry(make_plugin_manager(warn=False), _deferred=True)
    return _REGISTRY
