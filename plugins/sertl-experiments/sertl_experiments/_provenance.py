"""What a saved model records of the installation that wrote it, and the checks on it.

:func:`~sertl_experiments.save_model` stores beside the model the versions
of the distributions its classes come from (sertl's, scikit-learn's, torch's
for neural models), and the settings and version of every feature
extractor in it. :func:`~sertl_experiments.load_model` reads them before
anything is built, to name the distribution to install when a class is
missing, and compares them with this installation afterwards: one
:class:`ModelVersionWarning` names each difference that can change the
model's predictions.
"""

from __future__ import annotations

import functools
import json
import platform
import re
import sys
import warnings

from sertl_core import SertlWarning

from ._persist import UntrustedModelError

__all__ = ["ModelDependencyError", "ModelVersionWarning"]

SAVED_WITH = "saved_with"
"""Key of the payload (and of the metadata :func:`load_model` returns)."""

# always recorded: what every model's numbers and its file go through
_ALWAYS = ("sertl_core", "sklearn", "numpy", "scipy", "skops")
# recorded beside the packages of a neural model's classes: they compute it
_NEURAL = {"sertl_neural": ("torch", "skorch"), "sertl_relational": ("torch",)}
# whose differences load_model warns about (numpy and scipy follow scikit-learn)
_COMPARED = re.compile(r"sertl-.*|scikit-learn|torch|skorch")


class ModelVersionWarning(SertlWarning):
    """A loaded model was saved by other versions than this installation's.

    Emitted once by :func:`~sertl_experiments.load_model` (and so by
    ``sertl predict``), naming each difference that can change the model's
    predictions: scikit-learn's version (in place of scikit-learn's own
    ``InconsistentVersionWarning``, one per estimator), those of the sertl
    distributions and of torch the model's classes come from, and the
    version of the features its extractor computes (a model fed features
    of another version than it was trained on predicts from other numbers
    without any error). The fix is in the message: train and save the model
    again with this installation, or install the versions it names.

    Examples
    --------
    >>> import warnings
    >>> from sertl_experiments import ModelVersionWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("saved with scikit-learn 1.7.0", ModelVersionWarning)
    >>> caught[0].category.__name__
    'ModelVersionWarning'
    """


def _distribution_of(package):
    """Return the distribution that installs the top-level ``package``, or None."""
    found = _installed_packages().get(package)
    if found:
        return found
    if package.startswith("sertl_"):
        return package.replace("_", "-")
    return None


def package_installed(package):
    """Whether the top-level ``package`` can be imported here, without importing it.

    Parameters
    ----------
    package : str
        A top-level package name, as a model file names it.

    Returns
    -------
    bool
        False for a name no finder knows (a plugin that was uninstalled)
        and for one that is no module name at all.
    """
    import importlib.util

    if sys.modules.get(package) is not None:
        return True
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # "", a name with a dot's part missing
        return False


@functools.cache
def _installed_packages():
    """``{top-level package: distribution}`` of this installation (read once)."""
    from importlib import metadata

    return {
        package: names[0]
        for package, names in metadata.packages_distributions().items()
        if names
    }


def _version(distribution):
    """Return the installed version of ``distribution``, or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _feature_steps(model):
    """Yield ``(qualified class name, step)`` for the feature extractors in ``model``.

    A feature extractor is an object whose class describes its features
    with a ``feature_config`` method (sertl-speech's
    :meth:`sertl_speech.AudioFeatures.feature_config`).
    """
    from ._persist import _object_states

    for obj, _ in _object_states(model):
        if callable(getattr(type(obj), "feature_config", None)):
            yield f"{type(obj).__module__}.{type(obj).__qualname__}", obj


def _describe_features(name, step):
    """Return what a saved model records of its feature extractor ``step``."""
    config = step.feature_config()
    out = {"class": name, "version": config.get("version")}
    for key in ("feature_set", "sample_rate", "min_duration", "silence_threshold"):
        value = getattr(step, key, config.get(key))
        if isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
    if "target_sr" in config:
        out["resampled_to"] = config["target_sr"]
    try:
        out["n_features"] = len(step.get_feature_names_out())
    except Exception:  # noqa: BLE001  # a feature set without fixed columns
        out["n_features"] = None
    out["computed_with"] = dict(config.get("versions") or {})
    return out


def saved_with(model):
    """Return the description of this installation that is saved with ``model``.

    Parameters
    ----------
    model : estimator
        The model about to be saved.

    Returns
    -------
    dict
        ``python`` (its version), ``distributions`` (``{name: version}`` of
        sertl-core, scikit-learn, numpy, scipy, skops, and of the
        distributions of the model's classes, with torch and skorch for
        neural models), ``packages`` (``{top-level package: distribution}``
        of the model's classes, to name what to install where one is
        missing) and ``features`` (for each feature extractor: its class,
        feature version, feature set, sample rate settings, number of
        features and the versions of the libraries that compute them).
        Only strings, numbers, None, lists and dicts: it is stored as JSON.
    """
    from ._persist import _object_states

    packages = {type(obj).__module__.split(".")[0] for obj, _ in _object_states(model)}
    packages |= set(_ALWAYS)
    for package, extra in _NEURAL.items():
        if package in packages:
            packages |= set(extra)
    owners = {}
    for package in sorted(packages):
        dist = _distribution_of(package)
        if dist is not None and _version(dist) is not None:
            owners[package] = dist
    return {
        "python": platform.python_version(),
        "distributions": {d: _version(d) for d in sorted(set(owners.values()))},
        "packages": owners,
        "features": [_describe_features(n, s) for n, s in _feature_steps(model)],
    }


def read_saved_with(schema):
    """Return the ``saved_with`` record of a model file's schema, read as data.

    Parameters
    ----------
    schema : dict
        The file's ``schema.json``, parsed.

    Returns
    -------
    dict or None
        The record :func:`saved_with` wrote (stored as one JSON string), or
        None for a file written before it was recorded, or one whose record
        is not that JSON.
    """
    content = schema.get("content")
    node = content.get(SAVED_WITH) if isinstance(content, dict) else None
    if not isinstance(node, dict) or node.get("__loader__") != "JsonNode":
        return None
    try:
        record = json.loads(json.loads(node["content"]))
    except (KeyError, TypeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _mapping(record, key):
    value = (record or {}).get(key)
    return value if isinstance(value, dict) else {}


class ModelDependencyError(UntrustedModelError):
    """A model file needs a distribution (or a version of one) not installed here.

    Raised by :func:`~sertl_experiments.load_model` before anything in the
    file is built (and so by ``sertl predict``, as one line), naming each
    missing class, the distribution that provides it, the version the model
    was saved with where the file records it, and what to install. The file
    itself may be fine: this installation lacks a part of it. A subclass of
    :class:`~sertl_experiments.UntrustedModelError`, which callers of
    :func:`~sertl_experiments.load_model` already catch.

    Examples
    --------
    >>> from sertl_experiments import ModelDependencyError, UntrustedModelError
    >>> issubclass(ModelDependencyError, UntrustedModelError)
    True
    """


def missing_types(types, record, in_trusted):
    """Return ``{type name: why}`` for the classes of a model file not installed here.

    Parameters
    ----------
    types : list of (str, str)
        The file's ``(loader, type name)`` pairs.
    record : dict or None
        The file's ``saved_with`` record (:func:`read_saved_with`).
    in_trusted : callable
        ``in_trusted(module)``: whether the check may look at (and has
        imported, where it imports) the module. Only those modules are
        considered; the others are left to the trust check.

    Returns
    -------
    dict
        For each missing type, a sentence naming its distribution and what
        to install.
    """
    import importlib

    packages, versions = _mapping(record, "packages"), _mapping(record, "distributions")
    out = {}
    for loader, name in types:
        module, _, attr = name.rpartition(".")
        if loader in ("JsonNode", "CachedNode") or name in out or not module:
            continue
        if not in_trusted(module):
            continue
        top = module.split(".")[0]
        dist = packages.get(top) or _distribution_of(top) or top
        dist = str(dist)
        saved = versions.get(dist)
        pin = f"{dist}=={saved}" if isinstance(saved, str) else dist
        with_saved = f" {saved}" if isinstance(saved, str) else ""
        if not package_installed(top):  # nothing of it to import
            out[name] = (
                f"{name} comes from {dist}{with_saved}, which is not "
                f"installed here: pip install '{pin}'"
            )
            continue
        if top.startswith("sertl_") and module not in sys.modules:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                if exc.name is not None and exc.name.split(".")[0] == top:
                    out[name] = (
                        f"{name} comes from {dist}{with_saved}, which is not "
                        f"installed here: pip install '{pin}'"
                    )
                else:
                    out[name] = (
                        f"{name} comes from {dist}, installed here but it does "
                        f"not import ({type(exc).__name__}: {exc}): install what "
                        f"it needs (pip install '{dist}' installs its dependencies)"
                    )
                continue
        found = sys.modules.get(module)
        if found is not None and not hasattr(found, attr):
            here = _version(dist) or "(unknown version)"
            then = with_saved or " (another version)"
            out[name] = (
                f"{name} is not in {dist} {here} installed here; the model was "
                f"saved with {dist}{then}: pip install '{pin}', or train and "
                "save the model again with this installation"
            )
    return out


def sklearn_versions(nodes):
    """Return the scikit-learn versions a model file's estimators record, as a set.

    scikit-learn stores its version in each estimator's state
    (``_sklearn_version``); read from the schema's ``nodes`` as data.
    """
    found = set()
    for node in nodes:
        content = node.get("content")
        if node.get("__loader__") != "DictNode" or not isinstance(content, dict):
            continue
        entry = content.get("_sklearn_version")
        if isinstance(entry, dict) and entry.get("__loader__") == "JsonNode":
            try:
                value = json.loads(entry["content"])
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(value, str):
                found.add(value)
    return found


def version_differences(record, model, file_sklearn):
    """Describe what differs between a model's saving installation and this one.

    Parameters
    ----------
    record : dict or None
        The file's ``saved_with`` record.
    model : estimator
        The loaded model (its feature extractors give this installation's
        feature versions).
    file_sklearn : set of str
        scikit-learn versions the file's estimators record
        (:func:`sklearn_versions`), for files without a record.

    Returns
    -------
    differences : list of str
        One phrase per difference, the feature versions first.
    pins : list of str
        ``name==version`` of the distributions to install to use the model
        as saved.
    """
    import sklearn

    differences, pins = [], []
    steps = dict(_feature_steps(model))
    for saved in (record or {}).get("features") or []:
        if not isinstance(saved, dict):
            continue
        step = steps.get(saved.get("class"))
        if step is None:
            continue
        now = step.feature_config().get("version")
        if saved.get("version") != now:
            owner = str(saved.get("class")).split(".")[0]
            dist = _distribution_of(owner) or owner
            computed = saved.get("computed_with")
            was = computed.get(dist) if isinstance(computed, dict) else None
            differences.append(
                f"its features are those of {dist}'s extractor version "
                f"{saved.get('version')}, this installation computes version "
                f"{now}: their numbers differ, so the model would predict from "
                "features it was not trained on"
            )
            if isinstance(was, str) and was != _version(dist):
                pins.append(f"{dist}=={was}")
    versions = _mapping(record, "distributions")
    file_sklearn = set(file_sklearn)
    if isinstance(versions.get("scikit-learn"), str):
        file_sklearn.add(versions["scikit-learn"])
    other = sorted(v for v in file_sklearn if v != sklearn.__version__)
    if other:
        differences.append(
            f"scikit-learn {' and '.join(other)} (here {sklearn.__version__})"
        )
        pins.append(f"scikit-learn=={other[0]}")
    for dist, saved in sorted(versions.items()):
        if dist == "scikit-learn" or not _COMPARED.fullmatch(str(dist)):
            continue
        now = _version(dist)
        if isinstance(saved, str) and now is not None and saved != now:
            differences.append(f"{dist} {saved} (here {now})")
            pins.append(f"{dist}=={saved}")
    return differences, pins


def warn_differences(path, differences, pins, stacklevel):
    """Emit the one :class:`ModelVersionWarning` of a loaded model, if any."""
    if not differences:
        return
    from ._persist import _printable

    install = f" (pip install {' '.join(repr(p) for p in pins)})" if pins else ""
    warnings.warn(
        _printable(
            f"{str(path)!r} was saved by other versions than this "
            f"installation's: {'; '.join(differences)}. Train and save the "
            "model again with this installation, or use it where the versions "
            f"it was saved with are installed{install}."
        ),
        ModelVersionWarning,
        stacklevel=stacklevel + 1,
    )
