"""Plugin manager and the name -> class registry.

Plugins are found through the entry-point group ``sertl``; the core's own
methods register through the same hooks (entry point ``core``). The registry
maps each class's ``registry_name`` to the class, per kind.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from ._domains import SertlWarning

__all__ = [
    "KINDS",
    "PluginLoadWarning",
    "Registry",
    "RegistryEntry",
    "RegistryError",
    "get_registry",
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


def _singular(kind):
    """``"adapters"`` -> ``"adapter"``, ``"corpora"`` -> ``"corpus"``."""
    return _SINGULAR.get(kind, kind[:-1])


# Names provided by the first-party distributions, to answer "unknown name"
# with the package to install.
_KNOWN_PROVIDERS = {
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

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


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
    """A plugin's entry point could not be loaded; the others still work."""


@dataclass(frozen=True)
class RegistryEntry:
    """One registered class.

    Attributes
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


@dataclass
class _Loaded:
    pm: pluggy.PluginManager
    distributions: dict[str, str | None] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def make_plugin_manager(*, load_entrypoints=True, plugins=None):
    """Create a fresh plugin manager with the sertl hook specifications.

    Parameters
    ----------
    load_entrypoints : bool, default=True
        Load every installed plugin of the entry-point group ``sertl``. A
        plugin that fails to import is skipped with a
        :class:`PluginLoadWarning` naming it and the error.
    plugins : dict of str to module or object, default=None
        Extra plugins to register under the given names (e.g. in tests).

    Returns
    -------
    pm : pluggy.PluginManager
        The manager; ``pm.sertl_distributions`` maps plugin names to their
        distributions and ``pm.sertl_failures`` the failed plugins to errors.

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
    if load_entrypoints:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            if pm.get_plugin(ep.name) is not None:
                continue
            dist = ep.dist.name if ep.dist is not None else None
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the others
                failures[ep.name] = f"{type(exc).__name__}: {exc}"
                warnings.warn(
                    f"sertl plugin {ep.name!r} ({dist or 'unknown distribution'}, "
                    f"{ep.value}) could not be loaded and is skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            distributions[ep.name] = dist
    if pm.get_plugin("core") is None:
        # Running from a source tree without the package installed.
        pm.register(importlib.import_module("sertl_core._builtins"), name="core")
        distributions["core"] = "sertl-core"
    for name, plugin in (plugins or {}).items():
        pm.register(plugin, name=name)
        distributions.setdefault(name, None)
    pm.sertl_distributions = distributions  # type: ignore[attr-defined]
    pm.sertl_failures = failures  # type: ignore[attr-defined]
    return pm


def _ep_key(ep):
    # The core first, so its names win the error message on a clash.
    return (ep.name != "core", ep.name)


class Registry:
    """Name -> class map of every registered plugin class, by kind.

    Parameters
    ----------
    plugin_manager : pluggy.PluginManager, default=None
        Manager built by :func:`make_plugin_manager`; a new one loading the
        installed entry points when None.

    Attributes
    ----------
    failures : dict of str to str
        Plugins that failed to load, with the error.

    Examples
    --------
    >>> from sertl_core.registry import Registry, make_plugin_manager
    >>> reg = Registry(make_plugin_manager(load_entrypoints=False))
    >>> reg.get("adapters", "domain_standard_scaler").__name__
    'DomainStandardScaler'
    """

    def __init__(self, plugin_manager=None):
        pm = plugin_manager if plugin_manager is not None else make_plugin_manager()
        self._pm = pm
        self.failures = dict(getattr(pm, "sertl_failures", {}))
        dists = getattr(pm, "sertl_distributions", {})
        self._entries: dict[str, dict[str, RegistryEntry]] = {k: {} for k in KINDS}
        for kind, hook_name in KINDS.items():
            hook = getattr(pm.hook, hook_name)
            for impl in hook.get_hookimpls():
                plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
                result = impl.function()
                if result is None:
                    continue
                if not isinstance(result, list | tuple):
                    raise RegistryError(
                        f"Plugin {plugin_name!r}: {hook_name}() must return a list "
                        f"of classes, got {type(result).__name__}."
                    )
                for cls in result:
                    self._add(kind, cls, plugin_name, dists.get(plugin_name))

    def _add(self, kind, cls, plugin, dist):
        if not isinstance(cls, type):
            raise RegistryError(
                f"Plugin {plugin!r} registered {cls!r} as {kind}, which is not a "
                "class: hooks return lists of classes."
            )
        name = getattr(cls, "registry_name", None)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise RegistryError(
                f"{cls.__module__}.{cls.__qualname__} (plugin {plugin!r}) needs a "
                "class attribute registry_name: a short lowercase name "
                f"matching [a-z][a-z0-9_]*, got {name!r}."
            )
        seen = self._entries[kind].get(name)
        if seen is not None:
            raise RegistryError(
                f"Duplicate {_singular(kind)} name {name!r}: "
                f"{seen.class_path} from plugin {seen.plugin!r} "
                f"({seen.distribution or 'no distribution'}) and "
                f"{cls.__module__}.{cls.__qualname__} from plugin {plugin!r} "
                f"({dist or 'no distribution'}). Rename one registry_name or "
                "uninstall one of the plugins."
            )
        self._entries[kind][name] = RegistryEntry(kind, name, cls, plugin, dist)

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
        """
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

        Raises
        ------
        RegistryError
            Unknown name, with the available names and, for a first-party
            name, the distribution that provides it.
        """
        kind = self._check_kind(kind)
        try:
            return self._entries[kind][name].cls
        except KeyError:
            pass
        available = ", ".join(self.names(kind)) or "none"
        hint = ""
        for dist, provided in _KNOWN_PROVIDERS.items():
            if name in provided:
                hint = f" {name!r} is provided by {dist}: pip install {dist}."
        for other in KINDS:
            if other != kind and name in self._entries[other]:
                hint += f" {name!r} is registered as {other}, not {kind}."
        raise RegistryError(
            f"No {_singular(kind)} named {name!r}. Available {kind}: {available}.{hint}"
        )

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
        """
        cls = self.get(kind, name)
        try:
            return cls(**params)
        except TypeError as exc:
            raise RegistryError(
                f"Cannot create {name!r} ({cls.__name__}) with {sorted(params)}: {exc}."
            ) from exc

    @staticmethod
    def _check_kind(kind):
        if kind not in KINDS:
            raise RegistryError(f"Unknown kind {kind!r}; kinds are {sorted(KINDS)}.")
        return kind

    @property
    def plugin_manager(self):
        """The underlying pluggy plugin manager."""
        return self._pm


_REGISTRY: Registry | None = None


def get_registry(*, refresh=False):
    """Return the registry of installed plugins, built once and cached.

    Parameters
    ----------
    refresh : bool, default=False
        Rebuild it (after installing a plugin in the running process).

    Returns
    -------
    registry : Registry

    Examples
    --------
    >>> from sertl_core import get_registry
    >>> "source_only" in get_registry().names("estimators")
    True
    """
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = Registry(make_plugin_manager())
    return _REGISTRY
