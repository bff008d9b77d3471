"""Safe model persistence with skops (never bare pickle)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

__all__ = ["TRUSTED_PATTERNS", "UntrustedModelError", "load_model", "save_model"]

TRUSTED_PATTERNS = (
    r"sertl_core\.[\w.]+",
    r"sertl_speech\.[\w.]+",
    r"sertl_instance\.[\w.]+",
    r"sertl_feature\.[\w.]+",
    r"sertl_relational\.[\w.]+",
    r"sertl_neural\.[\w.]+",
    r"sertl_experiments\.[\w.]+",
    r"sklearn\.[\w.]+",
    r"numpy\.[\w.]+",
    r"scipy\.sparse\.[\w.]+",
    r"builtins\.(dict|list|tuple|set|frozenset|str|int|float|bool|bytes|slice|NoneType|type)",
    r"collections\.(OrderedDict|defaultdict)",
    # a path parameter given as a pathlib object (AudioFeatures(cache_dir=...));
    # building one runs no code beyond joining its parts
    r"pathlib\.(Pure)?(Posix|Windows)?Path",
)
"""Type names (full regular expressions) that :func:`load_model` trusts.

The classes of sertl's first-party distributions, scikit-learn, numpy
arrays and scalars, plain containers and :mod:`pathlib` paths. Anything
else (a third-party plugin's class, a function) must be trusted explicitly
by the caller.
"""


class UntrustedModelError(ValueError):
    """The model file holds types that are not on the trusted list.

    Raised by :func:`load_model` before anything in the file is
    constructed; also for files that are not sertl models.

    Examples
    --------
    >>> import collections, pathlib, tempfile
    >>> from sertl_experiments import UntrustedModelError, load_model, save_model
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.skops"
    >>> _ = save_model(collections.Counter("aab"), p)
    >>> try:  # doctest: +ELLIPSIS
    ...     load_model(p)
    ... except UntrustedModelError as err:
    ...     print(err)
    '...m.skops' contains types that are not trusted: collections.Counter. Load ...
    """


def save_model(model, path, *, metadata=None):
    """Save a fitted model with skops, together with its metadata.

    Parameters
    ----------
    model : estimator
        Fitted model, typically the Pipeline ``AudioFeatures -> adapters ->
        transfer estimator`` built by :func:`sertl_experiments.train_model`.
    path : str or pathlib.Path
        Destination file (``.skops`` by convention).
    metadata : dict, default=None
        JSON-like information stored beside the model (classes, corpora,
        method, feature configuration).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sertl_experiments import load_model, save_model
    >>> clf = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.skops"
    >>> _ = save_model(clf, p, metadata={"note": "demo"})
    >>> model, meta = load_model(p)
    >>> meta["note"], model.predict([[0.9]]).tolist()
    ('demo', [1])
    """
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": "sertl-model/1",
        "model": model,
        "metadata": dict(metadata or {}),
    }
    tmp = path.with_name(path.name + ".part")
    with _routing_requests_set_aside(model):
        sio.dump(payload, tmp)
    tmp.replace(path)
    return path


@contextlib.contextmanager
def _routing_requests_set_aside(model):
    """Take the estimators' own metadata-routing requests out while saving.

    ``est.set_fit_request(sample_weight=True)`` (sertl-core asks for it on
    the classifier that instance weighting such as KMM or KLIEP trains)
    stores a request object on the estimator that points back at the
    estimator; skops follows that cycle until Python's recursion limit. The
    requests only route metadata into ``fit`` and are set again whenever the
    model is fitted, so the file goes without them; the caller's model gets
    them back as soon as it is written.
    """
    held, seen, stack = [], set(), [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
            continue
        state = getattr(obj, "__dict__", None)
        if not isinstance(state, dict) or isinstance(obj, type):
            continue
        if "_metadata_request" in state:
            held.append((state, state.pop("_metadata_request")))
        stack.extend(state.values())
    try:
        yield
    finally:
        for state, request in held:
            state["_metadata_request"] = request


def _is_trusted(name, patterns):
    return any(re.fullmatch(p, name) for p in patterns)


def load_model(path, *, trusted=None):
    """Load a model saved by :func:`save_model`, refusing untrusted types.

    Every type in the file is checked against :data:`TRUSTED_PATTERNS` and
    the caller's ``trusted`` list before anything is constructed; skops
    never runs pickle's arbitrary code paths.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :func:`save_model`.
    trusted : list of str, default=None
        Extra fully qualified type names to trust (e.g. the class of a
        third-party plugin: ``"my_plugin.MyAdapter"``).

    Returns
    -------
    model : estimator
        The fitted model.
    metadata : dict
        The metadata saved with it.

    Raises
    ------
    UntrustedModelError
        The file holds a type that is not trusted; the message lists them.
    FileNotFoundError
        ``path`` does not exist.

    Examples
    --------
    A model whose metadata holds a type outside :data:`TRUSTED_PATTERNS`
    loads only when the caller trusts that type:

    >>> import collections, pathlib, tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sertl_experiments import UntrustedModelError, load_model, save_model
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["anger", "sadness"] * 10)
    >>> X = rng.normal(size=(20, 2)) + (y == "anger")[:, None] * 3
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> _ = save_model(pipe, p, metadata={"support": collections.Counter(y)})
    >>> try:
    ...     load_model(p)
    ... except UntrustedModelError:
    ...     print("refused")
    refused
    >>> model, meta = load_model(p, trusted=["collections.Counter"])
    >>> model.predict([[3.0, 3.0], [0.0, 0.0]]).tolist(), meta["support"]["anger"]
    (['anger', 'sadness'], 10)
    """
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {str(path)!r} does not exist.")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise UntrustedModelError(
            f"{str(path)!r} is not a skops model file ({type(exc).__name__}: {exc}). "
            "Models are written by `sertl grid --save` or `sertl run` with "
            "save_models = true."
        ) from exc
    extra = list(trusted or [])
    bad = [t for t in untrusted if not (_is_trusted(t, TRUSTED_PATTERNS) or t in extra)]
    if bad:
        raise UntrustedModelError(
            f"{str(path)!r} contains types that are not trusted: {', '.join(bad)}. "
            "Load it only if you trust its author, passing trusted=[...] "
            "(command line: --trust TYPE)."
        )
    payload = sio.load(path, trusted=[t for t in untrusted])
    if not isinstance(payload, dict) or payload.get("format") != "sertl-model/1":
        raise UntrustedModelError(
            f"{str(path)!r} is a skops file but not a sertl model (no sertl-model/1 "
            "payload)."
        )
    return payload["model"], payload["metadata"]
