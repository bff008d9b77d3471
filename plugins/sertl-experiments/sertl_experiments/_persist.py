"""Safe model persistence with skops (never bare pickle)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np

__all__ = ["TRUSTED_PACKAGES", "UntrustedModelError", "load_model", "save_model"]

TRUSTED_PACKAGES = (
    "sertl_core",
    "sertl_speech",
    "sertl_instance",
    "sertl_feature",
    "sertl_relational",
    "sertl_neural",
    "sertl_experiments",
    "sklearn",
    "numpy",
    "scipy.sparse",
)
"""Packages whose classes :func:`load_model` may trust, under its rules.

A type in a model file is trusted when the way the file rebuilds it cannot
run anything but building it (see :func:`load_model`): scikit-learn and
sertl estimators (and a fitted model's state objects) restored from their
attributes, numpy arrays, scalars and dtypes, scipy.sparse matrices, plain
containers, :mod:`pathlib` paths, numpy's ufuncs and scikit-learn's
``check_array`` only as HistGradientBoosting stores it (bound by
:func:`functools.partial` to its exact keywords, as a FunctionTransformer's
``func``). A class counts only at the place it is
defined (a scikit-learn module that imports ``subprocess.Popen`` does not
make it trusted), and never from a package's test helpers, build tools,
bundled third-party code or dataset downloaders. Anything else (a
third-party plugin's class, another function) must be trusted by the
caller, by name.
"""

# The packages whose classes may be restored from their attributes.
_CLASS_PACKAGES = tuple(
    p for p in TRUSTED_PACKAGES if p.startswith(("sertl_", "sklearn"))
)

# sertl's own packages: every module of theirs may be imported for the check
_FIRST_PARTY = tuple(p for p in TRUSTED_PACKAGES if p.startswith("sertl_"))

# Subpackages never trusted: test helpers, build tools, vendored third-party
# code, dataset downloaders and callbacks (which open files and sockets).
_UNTRUSTED_MODULES = re.compile(
    r"(^|\.)(_?testing|tests?|conftest|_test_common|_mocking|estimator_checks"
    r"|__main__|_build_utils|__check_build|_min_dependencies|experimental"
    r"|_examples|_pyinstaller|_configtool)(\.|$)"
    r"|^numpy\.(distutils|f2py|typing)(\.|$)"
    r"|^sklearn\.(externals|datasets|callback)(\.|$)"
)
_BUILTIN_TYPES = frozenset(
    f"builtins.{t}"
    for t in ("str", "int", "float", "bool", "complex", "bytes", "NoneType")
    + ("list", "tuple", "dict", "set", "frozenset", "slice")
)
# What each kind of skops node may name: skops builds several of them by
# calling the named type with data from the file (a list node calls it with
# the items, an array node with the array, a reduce node with stored
# arguments), so each is held to the types it exists for.
_CONTAINERS = {
    "DictNode": {
        "builtins.dict",
        "collections.OrderedDict",
        "sklearn.utils._bunch.Bunch",
    },
    "DefaultDictNode": {"collections.defaultdict"},
    "ListNode": {"builtins.list"},
    "SetNode": {"builtins.set", "builtins.frozenset"},
    "TupleNode": {"builtins.tuple"},
    "BytesNode": {"builtins.bytes"},
    "BytearrayNode": {"builtins.bytearray"},
    "SliceNode": {"builtins.slice"},
    "ConstructorFromReduceNode": {
        f"pathlib.{c}"
        for c in ("Path", "PosixPath", "WindowsPath", "PurePath")
        + ("PurePosixPath", "PureWindowsPath")
    },
    "RandomStateNode": {"numpy.random.mtrand.RandomState"},
    "RandomGeneratorNode": {"numpy.random._generator.Generator"},
    "MaskedArrayNode": {"numpy.ma.core.MaskedArray"},
}
_REDUCE_CONSTRUCTORS = re.compile(
    r"sklearn\.tree\._tree\.Tree|sklearn\._loss\.(loss|link)\.\w+"
    r"|sklearn\._loss\._loss\.Cy\w+"  # the compiled losses of gradient boosting
    r"|sklearn\.ensemble\._hist_gradient_boosting\.binning\._BinMapper"
)
# Classes that are no estimator but hold a fitted scikit-learn model's state
# (restored from their attributes): calibrators, distance metrics, trees of
# neighbour searches, the trees of HistGradientBoosting (whose stored nodes
# load_model checks before and after building them), the solver state of a
# fitted MLPClassifier/MLPRegressor (its _optimizer: numbers, strings and
# lists of arrays, no stored callable).
_STATE_CLASSES = re.compile(
    r"sklearn\.calibration\._CalibratedClassifier"
    r"|sklearn\.neural_network\._stochastic_optimizers\.(SGD|Adam)Optimizer"
    r"|sklearn\.metrics\._dist_metrics\.\w+"
    r"|sklearn\.neighbors\._(kd_tree|ball_tree)\.\w+"
    r"|sklearn\._loss\.(loss|link)\.\w+"
    r"|sklearn\.ensemble\._hist_gradient_boosting\.predictor\.TreePredictor"
)
_NO_IMPORT = frozenset({"JsonNode", "CachedNode"})  # the name is not used
_MAX_TREE_READINGS = 4096
"""Most ways a decision tree's parts may be read (ids shared by several nodes)."""
_MAX_EXPANSION = 20
"""How many times its stored size a model file's entries may inflate to."""
_EXPANSION_ALLOWANCE = 64 * 2**20
"""Bytes of inflated entries allowed whatever the file's size (64 MiB)."""
_FUNCTIONS = frozenset(
    {"FunctionNode", "MethodNode", "PartialNode", "OperatorFuncNode"}
)
# The one function a scikit-learn model stores and calls on its input that is
# trusted without being named, and only in the form and place it is stored
# (_check_placements): HistGradientBoosting's column transformer (categorical
# features) converts its numerical columns with check_array, bound by
# functools.partial to exactly these keywords (scikit-learn's _preprocess_X),
# held as the func of a FunctionTransformer without kw_args.
_CHECK_ARRAY = "sklearn.utils.validation.check_array"
_PARTIAL = "functools.partial"
_FUNCTION_TRANSFORMER = (
    "sklearn.preprocessing._function_transformer.FunctionTransformer"
)
_TRUSTED_FUNCTIONS = {
    "FunctionNode": frozenset({_CHECK_ARRAY}),
    "PartialNode": frozenset({_PARTIAL}),
}
_HGB_CHECK_KEYWORDS = ("dtype", "ensure_all_finite")
"""The keywords HistGradientBoosting binds check_array to: ``[float64]``, False."""
# Where scikit-learn stores the objects of sklearn._loss (a loss object is
# called with the arrays it is given and loops over them in compiled code):
# attribute name -> (what it may hold, what may hold it; None: an
# estimator). Gradient boosting's _loss, a linear model's _base_loss, a
# HistGradientBoosting model's loss parameter (a loss object is allowed
# there), and a loss object's compiled loss, link and intervals.
_LOSS_OBJECT = re.compile(r"sklearn\._loss\.loss\.\w+")
_LOSS_PLACES = {
    "_loss": (_LOSS_OBJECT, None),
    "_base_loss": (_LOSS_OBJECT, None),
    "loss": (
        _LOSS_OBJECT,
        re.compile(
            r"sklearn\.ensemble\._hist_gradient_boosting\.gradient_boosting"
            r"\.HistGradientBoosting(Classifier|Regressor)"
        ),
    ),
    "closs": (re.compile(r"sklearn\._loss\._loss\.Cy\w+"), _LOSS_OBJECT),
    "link": (re.compile(r"sklearn\._loss\.link\.\w+"), _LOSS_OBJECT),
    "interval_y_true": (re.compile(r"sklearn\._loss\.link\.Interval"), _LOSS_OBJECT),
    "interval_y_pred": (re.compile(r"sklearn\._loss\.link\.Interval"), _LOSS_OBJECT),
}


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
    >>> try:
    ...     load_model(p)
    ... except UntrustedModelError as err:
    ...     print(str(err).split(": ", 1)[1].split(". ")[0])
    collections.Counter (not trusted as a DictNode)
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
        method, feature configuration). :func:`load_model` returns it with
        one more key, ``"saved_with"``: what this installation is (see
        Notes).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Notes
    -----
    The file also records the installation that wrote it, for
    :func:`load_model` to diagnose a model moved to another one: the
    versions of Python, sertl-core, scikit-learn, numpy, scipy, skops and
    of the distributions of the model's classes (torch and skorch for
    neural models), and for each feature extractor its feature version,
    feature set, sample rate settings, number of features and the versions
    of the libraries that compute them. :func:`load_model` names the
    distribution to install when a class is missing, and warns once
    (:class:`~sertl_experiments.ModelVersionWarning`) when a version that
    can change the predictions differs.

    Examples
    --------
    >>> import numpy as np, sklearn, tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sertl_experiments import load_model, save_model
    >>> clf = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.skops"
    >>> _ = save_model(clf, p, metadata={"note": "demo"})
    >>> model, meta = load_model(p)
    >>> meta["note"], model.predict([[0.9]]).tolist()
    ('demo', [1])
    >>> meta["saved_with"]["distributions"]["scikit-learn"] == sklearn.__version__
    True
    """
    import json

    sio = _import_skops()

    from ._provenance import SAVED_WITH, saved_with

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": "sertl-model/1",
        "model": model,
        "metadata": dict(metadata or {}),
        # one JSON string: load_model reads it from the schema, as data,
        # before anything is built
        SAVED_WITH: json.dumps(saved_with(model)),
    }

    def dump(fh):
        with _cycles_set_aside(model):
            sio.dump(payload, fh)

    _write_whole(path, dump)
    return path


def _write_whole(path, write):
    """Write a file through ``write(fh)`` into a new file, then rename it to ``path``.

    An interrupted or failing write (Ctrl-C, a full disk) leaves the earlier
    file, or none, never a torn one that looks finished. The new file is
    this write's own (O_EXCL: a link planted at a fixed ``PATH.part`` would
    have been followed and its target overwritten; two runs writing one
    folder never share it), of the mode ``open()`` gives (0o666 less the
    umask), and its name is short: as long as ``path``'s it would fail near
    255 characters. The name carries the writer's host and process id
    (``.sertl-<host>-<pid>-<16 hex>.part``): one left by a killed process
    is removed by the next run (:func:`remove_stale_parts`). No
    ``*.json``, ``*.png`` or ``*.skops`` pattern of the outputs matches it.
    Used for saved models and every output of ``sertl run``. On Windows,
    which cannot replace a file another program holds open (a model being
    loaded by ``sertl predict``, a report open in a viewer that locks it),
    the rename is tried again for two seconds, then fails saying so (see
    :func:`sertl_speech.replace_file`).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _write_whole(target, lambda fh: fh.write(b"done"))
    >>> target.read_bytes(), [p.name for p in target.parent.iterdir()]
    (b'done', ['a.txt'])
    """
    from sertl_speech import open_temporary, replace_file

    path = Path(path)
    with open_temporary(path.parent, TEMPORARY_PREFIX, ".part") as (fd, tmp):
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            replace_file(tmp, path)  # on Windows, waits while path is open
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno and exc.filename is None:
                exc.filename = str(path)  # a full disk's error names no file
            raise


TEMPORARY_PREFIX = ".sertl-"
"""Start of the name of :func:`_write_whole`'s temporary files."""


def remove_stale_parts(folder):
    """Remove the temporary files of :func:`_write_whole` whose writer is gone.

    A process killed while it writes (``kill -9``, the memory limit) leaves
    its ``.sertl-<host>-<pid>-<16 hex>.part`` file behind. Only such names
    are looked at, and of those only the ones whose process ended on this
    machine: a live run's file, or another machine's, stays (see
    :func:`sertl_speech.remove_stale_temporaries`).

    Parameters
    ----------
    folder : path-like
        Folder to sweep (not its sub-folders).

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".sertl-notes.part").write_text("mine")
    >>> remove_stale_parts(folder), [p.name for p in folder.iterdir()]
    ([], ['.sertl-notes.part'])
    """
    from sertl_speech import remove_stale_temporaries

    return remove_stale_temporaries(folder, TEMPORARY_PREFIX, (".part",))


_REQUESTS_KEY = "_sertl_metadata_requests"
"""Key under which a saved estimator's state carries its routing requests."""

_SETTER = re.compile(r"set_(\w+)_request")


def _object_states(root):
    """Yield ``(obj, obj.__dict__)`` for every object reachable from ``root``.

    The walk follows containers (dict values, lists, tuples, sets) and
    instance dictionaries, visiting each object once; classes are skipped.
    """
    seen, stack = set(), [root]
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
        if isinstance(obj, np.ndarray):  # estimators can sit in object arrays
            if obj.dtype == object:
                stack.extend(np.asarray(obj).ravel().tolist())
            continue
        state = getattr(obj, "__dict__", None)
        if not isinstance(state, dict) or isinstance(obj, type):
            continue
        yield obj, state
        stack.extend(state.values())


def _plain_requests(obj, request):
    """Return the routing requests of ``obj`` as ``{method: {param: alias}}``.

    ``request`` is the estimator's own
    :class:`~sklearn.utils.metadata_routing.MetadataRequest`; each method
    that ``obj`` has a ``set_<method>_request`` setter for contributes the
    public ``requests`` mapping of its method request (values: an alias
    string, True, False or None), so the result holds builtins only.
    """
    out = {}
    for name in sorted(dir(type(obj))):
        match = _SETTER.fullmatch(name)
        if match is None:
            continue
        requests = getattr(request, match.group(1), None)
        if requests is None:
            continue
        plain = dict(requests.requests)
        if plain:
            out[match.group(1)] = plain
    return out


def _is_own_method(obj, key, value):
    """Whether ``value``, stored as ``obj.key``, is ``obj``'s own ``key`` method.

    A bound method of ``obj`` itself whose function is the one its class
    defines under ``key``: what the attribute lookup finds without the
    stored entry. scikit-learn leaves one behind (HistGradientBoosting
    fitted with early stopping on a scorer restores ``_raw_predict`` by
    assigning the bound method to the instance).
    """
    return (
        isinstance(value, types.MethodType)
        and value.__self__ is obj
        and value.__func__ is _class_attribute(type(obj), key)
    )


@contextlib.contextmanager
def _cycles_set_aside(model):
    """Take out of the model, while it is saved, the cycles skops cannot write.

    skops follows a reference from an object back to itself until Python's
    recursion limit. Two such references are changed in the estimators'
    states while the model is written:

    - ``est.set_fit_request(sample_weight=True)`` (set by the user, or by
      sertl-core on the classifier that instance weighting such as KMM or
      KLIEP trains) stores a request object that points back at the
      estimator. It is replaced by its requests in plain form
      (``{method: {param: alias}}``, aliases being a string, True, False or
      None) under a sertl-private key, and :func:`load_model` sets them
      again through the public ``set_<method>_request`` methods.
    - An instance entry that repeats the class's own method
      (:func:`_is_own_method`) is left out: the lookup finds the same method
      without it, and :func:`load_model` refuses a stored attribute that
      hides a method.

    Afterwards, whether writing succeeded or failed, every changed instance
    dictionary gets back exactly its former content and key order.

    Parameters
    ----------
    model : object
        The object graph about to be written; its instance dictionaries are
        changed only inside the ``with`` block.

    Yields
    ------
    None
        While the cycles are out.
    """
    held = []
    try:
        for obj, state in _object_states(model):
            own = [k for k, v in state.items() if _is_own_method(obj, k, v)]
            request = state.get("_metadata_request")
            if not own and request is None:
                continue
            held.append((state, dict(state)))
            for key in own:
                del state[key]
            if request is not None:
                del state["_metadata_request"]
                state[_REQUESTS_KEY] = _plain_requests(obj, request)
        yield
    finally:
        for state, original in held:
            state.clear()
            state.update(original)


def _restore_routing_requests(model):
    """Set again the routing requests that :func:`save_model` stored as data.

    Each estimator whose state carries the sertl-private key loses that key
    and gets its requests back through the public ``set_<method>_request``
    methods, inside ``sklearn.config_context(enable_metadata_routing=True)``
    so that the global configuration is left as it was. Files written
    before the requests were stored carry no such key and load unchanged;
    the class-level requests of the estimators need nothing.

    Parameters
    ----------
    model : object
        The freshly loaded object graph (changed in place).
    """
    import sklearn

    pending = []
    for obj, state in _object_states(model):
        if _REQUESTS_KEY in state:
            pending.append((obj, state.pop(_REQUESTS_KEY)))
    if not pending:
        return
    for obj, requests in pending:  # all checked before any setter runs
        _check_stored_requests(obj, requests)
    lost = []
    with sklearn.config_context(enable_metadata_routing=True):
        for obj, requests in pending:
            for method, params in requests.items():
                setter = getattr(obj, f"set_{method}_request", None)
                accepted = (
                    set(inspect.signature(setter).parameters) if setter else set()
                )
                known = {k: v for k, v in params.items() if k in accepted}
                lost += [
                    f"{type(obj).__name__}.{method}({k}={v!r})"
                    for k, v in params.items()
                    if k not in accepted
                ]
                if known:
                    setter(**known)
    if lost:
        warnings.warn(
            "The model file holds metadata-routing requests that this "
            f"scikit-learn version cannot set: {', '.join(lost)}. Set them "
            "again with the estimators' set_<method>_request methods if you "
            "route metadata into them.",
            UserWarning,
            stacklevel=3,
        )


def _check_stored_requests(obj, requests):
    """Refuse stored routing requests that are no plain data for a real setter.

    They come from the file: only ``{method: {param: alias}}`` with string
    names and aliases that are a string, True, False or None may be set, and
    only through the class's own ``set_<method>_request`` (scikit-learn's
    descriptor), never through an attribute the file gave the instance.
    """
    bad = None
    if not isinstance(requests, dict):
        bad = "they are not a table"
    for method, params in requests.items() if bad is None else ():
        if not isinstance(method, str):
            bad = f"{method!r} is no method name"
            break
        name = f"set_{method}_request"
        # scikit-learn's setter, on the class; a method this version lacks is
        # skipped later with a warning (a file from another version)
        static = inspect.getattr_static(type(obj), name, None)
        if name in getattr(obj, "__dict__", {}) or (
            static is not None and type(static).__name__ != "RequestMethod"
        ):
            bad = f"{type(obj).__name__} has no method {name!r} of its own"
        elif not isinstance(params, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | bool))
            for k, v in params.items()
        ):
            bad = f"the requests of {name!r} are not names and aliases"
        if bad:
            break
    if bad:
        raise UntrustedModelError(
            f"The model file's stored metadata-routing requests are not plain "
            f"requests ({bad}): it was not written by save_model, or altered."
        )


# Fitted attributes that name the method a model calls at predict time
# (StackingClassifier, FixedThresholdClassifier): read from the file, they
# could make predict call fit.
_PREDICTION_METHODS = {"predict", "predict_proba", "predict_log_proba"}
_METHOD_ATTRIBUTES = {
    "stack_method_": _PREDICTION_METHODS | {"decision_function"},
    "response_method": _PREDICTION_METHODS | {"auto", "decision_function"},
    "chain_method_": _PREDICTION_METHODS | {"decision_function"},
}


# Parameters whose stored value would choose where this process writes
# (feature cache, pipeline memory) or how many processes, or which cluster,
# it uses while predicting.
_RESET_PARAMS = ("cache_dir", "memory", "n_jobs", "client")


def _neutralise_loaded_model(model):
    """Refuse stored method names; drop the folders a model would write to.

    A loaded model's feature cache (``cache_dir``) and pipeline ``memory``
    name folders chosen by whoever wrote the file, and its ``n_jobs`` (and
    a Dask ``client``) the processes predicting starts: all are reset to
    None (set them again with ``set_params`` for a cache or parallelism of
    your own).
    """
    for obj, state in _object_states(model):
        for attr, allowed in _METHOD_ATTRIBUTES.items():
            values = state.get(attr)
            if values is None:
                continue
            # fail closed: a plain string, or a list or tuple of them (an array,
            # a numpy string or a set is no form scikit-learn stores)
            values = [values] if type(values) is str else values
            if type(values) not in (list, tuple):
                bad = [values]
            else:
                bad = [
                    v
                    for v in values
                    if v is not None and not (type(v) is str and v in allowed)
                ]
            if bad:
                raise UntrustedModelError(
                    f"The model file's {type(obj).__name__}.{attr} names "
                    f"{bad!r}, not a prediction method: it was not written by "
                    "save_model from a fitted model, or altered."
                )
        get_params = getattr(obj, "get_params", None)
        if get_params is None or isinstance(obj, type):
            continue
        params = get_params(deep=False)
        reset = {k: None for k in _RESET_PARAMS if params.get(k) is not None}
        if reset:
            obj.set_params(**reset)


def _class_attribute(cls, name):
    """Return what ``name`` finds on ``cls`` for its instances (its MRO), or None."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _is_method_like(attr):
    """Whether a class attribute is a method an instance attribute would hide.

    A function, a static or class method, a method descriptor,
    scikit-learn's ``available_if`` descriptor, a builtin or a class:
    anything callable or bound on access that is no data descriptor (a
    property, which an instance attribute cannot hide). Plain values (a
    class-level default) are not.
    """
    kind = type(attr)
    if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
        return False
    return callable(attr) or hasattr(kind, "__get__")


def _hides_class_attribute(obj, key, value):
    """Whether the stored attribute ``key`` hides what ``obj``'s class defines.

    A method hides on any object. On scikit-learn's loss and link objects a
    class-level value hides too (no honest one stores any): the compiled
    code sizes its buffers by them (``is_multiclass``). On a class that
    forwards unknown attributes (``__getattr__``, e.g. FrozenEstimator's
    ``predict``) a stored callable that is no constructor parameter hides
    the method it would forward to.
    """
    cls = type(obj)
    found = _class_attribute(cls, key)
    if _is_method_like(found):
        return True
    if found is not None and cls.__module__.startswith("sklearn._loss"):
        return True
    if found is None and callable(value) and _class_attribute(cls, "__getattr__"):
        params = getattr(cls, "_get_param_names", None)
        try:
            return key not in (params() if params else ())
        except (TypeError, ValueError, RuntimeError):
            return True
    return False


def _is_hgb_partial_object(func):
    """Whether ``func`` is HistGradientBoosting's check_array partial, as built."""
    from sklearn.utils import check_array

    return (
        type(func) is functools.partial
        and func.func is check_array
        and func.args == ()
        and not vars(func)
        and sorted(func.keywords) == sorted(_HGB_CHECK_KEYWORDS)
        and type(func.keywords["dtype"]) is list
        and func.keywords["dtype"] == [np.float64]
        and func.keywords["ensure_all_finite"] is False
    )


# Functions a file names (numpy's ufuncs hold a __dict__ of their own): not
# built from stored attributes.
_FUNCTION_TYPES = (np.ufunc, types.FunctionType, types.BuiltinFunctionType)
_MAX_DTYPE_SIZE = 1024
"""Most bytes an element of a dtype stored as an attribute may take."""
_MAX_ARRAY_ITEM = 65536
"""Most bytes an element of a stored array may take (a label of 16,384
characters): a model allocates arrays of its stored elements' type for the
rows it is given (a file of 60 KB with classes of 30 MB each asked for 8 GiB
when predicting 300 rows)."""


def _stored_dtype_size(key, value):
    """Bytes an element of ``value`` takes, if it is a stored dtype, else None.

    A numpy dtype, or any dtype spec (a string, a list or dict of fields) as
    the ``dtype`` attribute (an encoder's), which the model allocates its
    output with.
    """
    if not (isinstance(value, np.dtype) or key == "dtype"):
        return None
    try:  # a dtype attribute may be a spec of any form: a list or dict of fields
        return np.dtype(value).itemsize
    except (TypeError, ValueError, KeyError, IndexError):
        return None  # no dtype: the model fails on it


def _check_loaded_callables(payload, extra):
    """Refuse hidden methods and stored callables that a model calls unsafely.

    skops restores a stored attribute into the object's ``__dict__``, where
    one named like a method of the object's class hides that method (a
    column transformer whose ``transform`` is a stored function hands the
    trees rows of any width): every object built is refused such an
    attribute. A FunctionTransformer calls its ``func`` and
    ``inverse_func`` with the stored ``kw_args``: each must be None, a
    numpy ufunc, HistGradientBoosting's check_array partial (as ``func``,
    without ``kw_args``), or a function or object whose name the caller
    trusts. A stored dtype (an encoder's) may not take more than
    :data:`_MAX_DTYPE_SIZE` bytes an element. Nothing here calls anything
    the file stored.
    """
    from sklearn.preprocessing import FunctionTransformer

    for obj, state in _object_states(payload):
        for key, value in state.items():
            size = _stored_dtype_size(key, value)
            if size is not None and size > _MAX_DTYPE_SIZE:
                raise UntrustedModelError(
                    f"The model file's {_printable(type(obj).__name__)}.{key} is a "
                    f"dtype of {size} bytes an element: transforming would allocate "
                    "that much for each value it is given."
                )
            if (
                type(key) is str
                and not isinstance(obj, _FUNCTION_TYPES)  # not built from a state
                and _hides_class_attribute(obj, key, value)
            ):
                raise UntrustedModelError(
                    f"The model file's {_printable(type(obj).__name__)} stores an "
                    f"attribute {_printable(key)!r}, which would hide what its class "
                    "defines under that name (a method, called instead of it, or "
                    "a loss's class-level value): it was not written by "
                    "save_model, or altered."
                )
        if not isinstance(obj, FunctionTransformer):
            continue
        for attr in ("func", "inverse_func"):
            func = state.get(attr)
            if (
                func is None
                or (type(func) is np.ufunc and getattr(np, func.__name__, None) is func)
                or _qualified(func) in extra
            ):
                continue
            if attr == "func" and _is_hgb_partial_object(func):
                if not state.get("kw_args"):
                    continue
                why = "with kw_args, which override its keywords"
            else:
                why = "which it calls with the stored kw_args"
            raise UntrustedModelError(
                f"The model file's FunctionTransformer has its {attr} "
                f"{_printable(_qualified(func))}, {why}: trusted there are None, "
                "numpy's ufuncs and the check_array partial HistGradientBoosting "
                "stores (without kw_args). Load it only if you trust its author, "
                "passing that name in trusted=[...] (command line: --trust NAME)."
            )


_NEIGHBOUR_TREES = re.compile(
    r"sklearn\.neighbors\._(kd_tree\.KDTree|ball_tree\.BallTree)(32|64)?"
)


def _type_name(value):
    """``module.qualname`` of the type of ``value``."""
    return _qualified(type(value))


def _qualified(obj):
    """``module.qualname`` of a function or class, else of the type of ``obj``."""
    named = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{named.__module__}.{named.__qualname__}"


def _check_loaded_trees(model):
    """Check the loaded trees against their models; rebuild neighbour searches.

    A decision tree's splits name features by index, read in compiled code
    without bounds: each tree must have as many features as its own model,
    and as the model that hands it rows unchecked (a forest or gradient
    boosting gives its trees the rows it was given, IsolationForest and
    bagging the columns of each tree's subset; gradient boosting also
    writes one column per tree of a stage). Other models holding trees
    (a chain, a vote, AdaBoost) call them with their own input checks.
    HistGradientBoosting models and their trees are checked as
    :func:`_hist_boosting_fault` says (each tree against the rows and the
    categorical features its model gives it). A forest or gradient boosting
    model without ``estimators_`` (unfitted, as the template of a
    meta-estimator) holds no trees its predict reads: nothing to check.
    A k-d or ball tree of a nearest-neighbour model is rebuilt from the
    points it stores, with its leaf size, metric and weights: its stored
    index arrays, which queries follow without bounds, are not used (for a
    file save_model wrote, the rebuilt tree is the saved one, built again
    the same way), and building it checks the metric against the points.
    """
    # scikit-learn's public classes only (its private modules change between
    # versions); its compiled trees are known by the name they are defined at
    from sklearn import ensemble

    forests = (
        ensemble.RandomForestClassifier,
        ensemble.RandomForestRegressor,
        ensemble.ExtraTreesClassifier,
        ensemble.ExtraTreesRegressor,
        ensemble.RandomTreesEmbedding,
    )
    boosting = (ensemble.GradientBoostingClassifier, ensemble.GradientBoostingRegressor)
    hist = (
        ensemble.HistGradientBoostingClassifier,
        ensemble.HistGradientBoostingRegressor,
    )

    def is_tree(value):
        return _type_name(value) == "sklearn.tree._tree.Tree"

    def fault(obj, state):
        name = type(obj).__name__
        if _type_name(obj) == _TREE_PREDICTOR:  # wherever it is
            if sorted(state) != sorted(_PREDICTOR_PARTS):
                return f"a HistGradientBoosting tree holds {sorted(map(str, state))}"
            why = _predictor_fault(*(state[part] for part in _PREDICTOR_PARTS))
            return f"a HistGradientBoosting tree is malformed: {why}" if why else None
        if _type_name(obj) == _BIN_MAPPER and "n_bins_non_missing_" in state:
            counts = state["n_bins_non_missing_"]
            why, _ = _bin_mapper_fault(obj, len(counts))
            return f"a bin mapper {why}" if why else None
        if isinstance(obj, hist):
            return _hist_boosting_fault(name, state)
        for value in state.values():
            if is_tree(value) and (why := _built_tree_fault(value)):
                return f"a tree of {name}: {why}"
        tree, width = state.get("tree_"), state.get("n_features_in_")
        if is_tree(tree) and tree.n_features != width:
            return f"{name} of {width} features holds a tree of {tree.n_features}"
        if "estimators_features_" in state:  # bagging, IsolationForest
            subsets = state["estimators_features_"]
            expected = [len(f) for f in subsets]
        elif isinstance(obj, forests + boosting):
            if "estimators_" not in state:
                # unfitted: the template a meta-estimator keeps as its
                # parameter (SourceOnly(RandomForestClassifier()) of sertl
                # run); predicting reads estimators_, so it reads no tree
                return None
            if type(width) is not int:
                return f"{name} does not say how many features it takes"
            expected = None
        else:
            return None
        members = np.asarray(state.get("estimators_", []), dtype=object)
        if isinstance(obj, boosting):
            per_stage = state.get("n_trees_per_iteration_")
            if members.ndim != 2 or members.shape[1] != per_stage:
                return (
                    f"{name} has stages of {members.shape[1:]} trees for "
                    f"{per_stage} output columns"
                )
        members = members.ravel().tolist()
        if expected is not None and len(expected) != len(members):
            return f"{name} has {len(members)} trees and {len(expected)} subsets"
        for k, member in enumerate(members):
            if not is_tree(getattr(member, "tree_", None)):
                continue
            given = width if expected is None else expected[k]
            if getattr(member, "n_features_in_", None) != given:
                return (
                    f"{name} gives its tree {k} {given} features, the tree "
                    f"takes {getattr(member, 'n_features_in_', None)}"
                )
        return None

    def refuse(bad):
        raise UntrustedModelError(
            f"The model file's trees do not fit their models: {bad}; "
            "scikit-learn's compiled code would read outside them while "
            "predicting."
        )

    boosted = []  # gradient boosting models, probed once all is checked
    for obj, state in _object_states(model):
        try:
            bad = fault(obj, state)
        except (TypeError, ValueError, IndexError) as exc:
            bad = f"{type(obj).__name__}'s trees do not read ({exc})"
        if bad:
            refuse(bad)
        if isinstance(obj, boosting) and "estimators_" in state:
            boosted.append((obj, state))
        for key, value in state.items():
            if _NEIGHBOUR_TREES.fullmatch(_type_name(value)):
                packed = value.__getstate__()
                state[key] = type(value)(
                    np.asarray(value.data),
                    leaf_size=packed[4],
                    metric=packed[11],
                    sample_weight=packed[12],
                )
    # Gradient boosting adds each stage's trees into the columns of its
    # initial predictions (from init_, the loss and its link) in compiled
    # code that writes one column per tree of a stage without bounds. Once
    # every part is checked, one row of zeros tells the columns it starts
    # from (init_ is an estimator of the file, checked above).
    for obj, state in boosted:
        per_stage = np.asarray(state["estimators_"], dtype=object).shape[1]
        try:
            start = obj._raw_predict_init(np.zeros((1, state["n_features_in_"])))
            bad = (
                None
                if isinstance(start, np.ndarray) and start.shape == (1, per_stage)
                else f"its initial predictions have shape {np.shape(start)} for "
                f"stages of {per_stage} trees"
            )
        except Exception as exc:  # noqa: BLE001 - any failure refuses the file
            bad = f"its initial predictions fail ({type(exc).__name__}: {exc})"
        if bad:
            refuse(f"{type(obj).__name__}: {bad}")


def _import_skops_without_estimator_walk():
    """Import ``skops.io`` without its walk over every scikit-learn module.

    For the ``sertl predict`` process only (never called by the library).
    At import, skops lists scikit-learn's estimators to build its default
    trusted types; that walk imports every scikit-learn subpackage, and
    through scikit-learn's bundled array-API shim also PyTorch when it is
    installed: about 3.5 of the 7 s of a ``sertl predict`` on two files
    here, for a model without a single torch object. :func:`load_model`
    never relies on skops' defaults (it checks every type in the file
    itself, under :data:`TRUSTED_PACKAGES`, and hands skops the full list),
    so an empty default list accepts and refuses exactly the same files.

    The cost is that skops, in this process, trusts no scikit-learn type
    by default: a process that also calls ``skops.io.load`` itself must
    not call this. Does nothing when ``skops.io`` is already imported.
    ``sklearn.utils.all_estimators`` is put back before this returns.
    """
    if "skops.io" in sys.modules:
        return
    import sklearn.utils

    walk = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    try:
        import skops.io  # noqa: F401
    finally:
        sklearn.utils.all_estimators = walk


# The parts of a module name under which scikit-learn's ``all_estimators``
# takes no class (a name with a private part, ``._``, neither): skops' import
# need not import these packages to walk them. ``sklearn.externals`` holds
# the array-API shim for PyTorch, which imports torch.
_WALK_SKIPPED = frozenset(
    {"tests", "externals", "setup", "conftest", "experimental", "estimator_checks"}
)


def _import_skops():
    """Import and return ``skops.io``, its walk over scikit-learn pruned.

    At import, skops builds its default trusted types from
    ``sklearn.utils.all_estimators()``, whose walk (``pkgutil.walk_packages``)
    imports every scikit-learn package to look inside it, those it then
    ignores included: ``sklearn.externals.array_api_compat.torch`` imports
    PyTorch (2-3 s) for a model without a single torch object, and the
    private packages and tests take about a second more. While skops is
    imported here, that walk does not enter a package whose name has a
    private part or one of :data:`_WALK_SKIPPED`: ``all_estimators`` takes
    no class from any module below one, so its list, and skops' defaults,
    are the same (at most shorter, never longer, should scikit-learn change
    its rules), only found without those imports. Nothing else changes: the
    walk of ``all_estimators`` is back before this returns, and the types a
    file may hold are still checked by :func:`load_model` itself. When
    scikit-learn's ``all_estimators`` does not walk through ``pkgutil`` as
    1.6-1.9 do, skops is imported as it is.

    Returns
    -------
    module
        ``skops.io``.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import pkgutil

    import sklearn.utils

    names = getattr(sklearn.utils.all_estimators, "__globals__", {})
    if names.get("pkgutil") is not pkgutil:
        import skops.io

        return skops.io
    names["pkgutil"] = _PrunedPkgutil()
    try:
        import skops.io
    finally:
        names["pkgutil"] = pkgutil
    return skops.io


class _PrunedPkgutil:
    """:mod:`pkgutil` whose ``walk_packages`` does not enter skipped packages.

    The walk is :func:`pkgutil.walk_packages`'s, but a package with a private
    part in its name or one of :data:`_WALK_SKIPPED` is reported without
    being imported or entered. Every other attribute is :mod:`pkgutil`'s.
    """

    def __getattr__(self, name):
        import pkgutil

        return getattr(pkgutil, name)

    @staticmethod
    def walk_packages(path=None, prefix="", onerror=None):
        """Walk like :func:`pkgutil.walk_packages`, skipped packages not entered.

        Parameters
        ----------
        path : list of str, default=None
            Folders to look in (``sys.path`` when None).
        prefix : str, default=""
            Prefix of every module name yielded.
        onerror : callable, default=None
            Called with a package's name when importing it fails.

        Yields
        ------
        info : pkgutil.ModuleInfo
        """
        import importlib
        import pkgutil

        seen = set()

        def walk(path, prefix):
            for info in pkgutil.iter_modules(path, prefix):
                yield info
                parts = info.name.split(".")
                if not info.ispkg or "._" in info.name or _WALK_SKIPPED & set(parts):
                    continue
                try:
                    importlib.import_module(info.name)
                except ImportError:
                    if onerror is not None:
                        onerror(info.name)
                    continue
                except Exception:
                    if onerror is None:
                        raise
                    onerror(info.name)
                    continue
                found = getattr(sys.modules[info.name], "__path__", None) or []
                fresh = [p for p in found if p not in seen]
                seen.update(fresh)
                yield from walk(fresh, info.name + ".")

        yield from walk(path, prefix)


def _defined_class(name, packages=TRUSTED_PACKAGES):
    """Return the class ``name`` names where it is defined in ``packages``, or None.

    Only modules of those packages are imported (never their test helpers,
    build tools or downloaders), and the class must be found at the place
    it is defined: a module that merely imports a class gives None.
    """
    module, _, attr = name.rpartition(".")
    if not _in_packages(module, packages) or _UNTRUSTED_MODULES.search(module):
        return None
    # outside sertl's own packages, only a module that importing the
    # package's public modules imports: a private module the file names is
    # never imported for it (build helpers and example scripts run code at
    # import); sertl's own modules are imported themselves
    _import_public_part(module)
    obj = getattr(sys.modules.get(module), attr, None)
    if not isinstance(obj, type):
        return None
    if f"{obj.__module__}.{obj.__qualname__}" != name:
        return None  # imported into that module from elsewhere
    return obj


def _in_packages(module, packages):
    """Whether the dotted ``module`` is one of ``packages`` or inside one."""
    return any(module == p or module.startswith(p + ".") for p in packages)


def _import_public_part(module):
    """Import the public modules of a dotted path (up to its first private part).

    ``sklearn.svm._classes`` imports ``sklearn.svm``, which imports its
    private module itself. A module of sertl's own packages is imported
    itself, private or not. Nothing outside :data:`TRUSTED_PACKAGES` and
    nothing that ``_UNTRUSTED_MODULES`` names is imported.
    """
    import importlib

    if module in sys.modules or _UNTRUSTED_MODULES.search(module):
        return
    if _in_packages(module, _FIRST_PARTY):
        # sertl's own modules, private ones included: a plugin's package may
        # import its classes on first use (sertl_neural defers torch), so
        # the module that defines one is not imported with the package
        name = module
    else:
        public = []
        for part in module.split("."):
            if part.startswith("_"):
                break
            public.append(part)
        name = ".".join(public)
    if not _in_packages(name, TRUSTED_PACKAGES):
        return
    try:
        importlib.import_module(name)
    except ImportError:
        return


def _numpy_type(name):
    """Return the numpy scalar or dtype class ``name`` names, or None."""
    cls = _defined_class(name, ("numpy",))
    return cls if cls is not None and issubclass(cls, np.generic | np.dtype) else None


def _estimator_class(name):
    """Return the scikit-learn or sertl estimator class ``name`` names, or None."""
    from sklearn.base import BaseEstimator

    cls = _defined_class(name, _CLASS_PACKAGES)
    return cls if cls is not None and issubclass(cls, BaseEstimator) else None


def _refusal(loader, name, extra):
    """Why a node of the model file may not be built, or None when it may."""
    import scipy.sparse as sp

    if name in extra or loader in _NO_IMPORT:
        return None  # trusted by name, or the name is never imported
    if loader in _CONTAINERS:
        ok = name in _CONTAINERS[loader]
    elif loader == "ObjectNode":  # built empty, then given its attributes
        # an estimator, or a model's state object: not any class of these
        # packages (their helpers call what they hold: a stored callable)
        ok = _estimator_class(name) is not None or (
            bool(_STATE_CLASSES.fullmatch(name))
            and _defined_class(name, ("sklearn",)) is not None
        )
    elif loader == "TypeNode":  # a class handed back, which a model may call
        ok = name in _BUILTIN_TYPES or _numpy_type(name) is not None
    elif loader in ("NdArrayNode", "DTypeNode"):
        ok = name == "numpy.ndarray" or _numpy_type(name) is not None
    elif loader == "SparseMatrixNode":
        cls = _defined_class(name, ("scipy.sparse",))
        ok = cls is not None and issubclass(cls, sp.spmatrix | sp.sparray)
    elif loader in ("ReduceNode", "TreeNode", "LossNode"):
        # called with stored arguments: a class of scikit-learn's defined
        # where the name says, not any callable a module of it imports
        ok = (
            bool(_REDUCE_CONSTRUCTORS.fullmatch(name))
            and _defined_class(name, ("sklearn",)) is not None
        )
    elif loader in _FUNCTIONS:
        if name in _TRUSTED_FUNCTIONS.get(loader, ()):
            return None
        module, _, attr = name.rpartition(".")
        if module == "numpy" and isinstance(getattr(np, attr, None), np.ufunc):
            return None  # a ufunc computes; it runs nothing else
        return "a function or method, trusted by name only"
    else:
        return f"an unknown kind of skops node ({loader})"
    return None if ok else f"not trusted as a {loader}"


def _read_schema(archive, size):
    """Return the schema of an open skops archive, read as data.

    The archive's entries must not declare more bytes than
    :data:`_MAX_EXPANSION` times the file's ``size`` (plus
    :data:`_EXPANSION_ALLOWANCE`): :func:`save_model` stores them
    uncompressed, and a small file that inflates to gigabytes (a zip bomb)
    is refused before anything is read. Each array's ``.npy`` header is read
    too: it must be one numpy's ``save`` writes (version 1.0 or 2.0), of
    elements of at most :data:`_MAX_ARRAY_ITEM` bytes.
    """
    import json

    declared = sum(info.file_size for info in archive.infolist())
    if declared > _MAX_EXPANSION * size + _EXPANSION_ALLOWANCE:
        raise UntrustedModelError(
            f"its entries inflate to {declared} bytes from a file of {size}: far "
            "more than a model written by save_model (stored uncompressed) "
            "holds, as in a zip bomb"
        )
    for info in archive.infolist():
        if info.filename.endswith(".npy"):
            with archive.open(info) as entry:
                try:  # save_model's arrays have version 1.0 or 2.0 headers
                    read = {
                        (1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0,
                    }[np.lib.format.read_magic(entry)]
                    header = read(entry)
                except (KeyError, ValueError, TypeError, SyntaxError) as exc:
                    raise UntrustedModelError(
                        f"its array {_printable(info.filename)!r} has no header "
                        f"numpy's save writes ({type(exc).__name__})"
                    ) from None
            if header[2].itemsize > _MAX_ARRAY_ITEM:
                raise UntrustedModelError(
                    f"its array {_printable(info.filename)!r} has elements of "
                    f"{header[2].itemsize} bytes: predicting would allocate that "
                    "much for each row (at most "
                    f"{_MAX_ARRAY_ITEM} bytes an element are loaded)"
                )
    return json.loads(archive.read("schema.json"))


def _printable(text, keep=""):
    r"""Return ``text`` with each unprintable character as its escape sequence.

    Names and labels read from a model file end up in messages and tables
    printed on a terminal: a control character (ESC, BEL) is shown as
    ``\x1b``, not sent. Characters in ``keep`` (e.g. a newline) stay.
    """
    return "".join(
        ch
        if ch.isprintable() or ch in keep
        else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )


def _schema_nodes(schema):
    """Every node (dict) of a skops schema, and the nodes of each ``__id__``.

    skops builds one node of an ``__id__`` and hands that object to every
    other node of the id (a ``CachedNode`` names one explicitly). Files
    skops writes can hold different nodes of one id, so which one is built
    is not read from the schema here: ``by_id`` lists every distinct
    candidate, and checks that must hold whatever is built hold for each.
    """
    nodes, by_id, stack = [], {}, [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            nodes.append(node)
            if "__id__" in node and node.get("__loader__") != "CachedNode":
                same = by_id.setdefault(node["__id__"], [])
                if not any(other == node for other in same):
                    same.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return nodes, by_id


def _node_candidates(node, by_id):
    """Return the nodes skops may build in place of ``node``.

    The node itself and every other node of its ``__id__`` (all of them for
    a ``CachedNode``), as :func:`_schema_nodes` lists them.
    """
    if not isinstance(node, dict):
        raise ValueError("a node is no node")
    candidates = list(by_id.get(node.get("__id__"), []))
    if node.get("__loader__") != "CachedNode" and node not in candidates:
        candidates.append(node)
    if not candidates:
        raise ValueError("a node refers to nothing")
    return candidates


def _stored_values(node, by_id, archive):
    """Every value a JSON or numpy-array node may be built as, read as data.

    The node's own value and that of every other node of its ``__id__``
    (all of them for a ``CachedNode``).
    """
    import io
    import json

    values = []
    for cand in _node_candidates(node, by_id):
        if cand.get("__loader__") == "JsonNode":
            values.append(json.loads(cand["content"]))
        elif cand.get("__loader__") == "NdArrayNode" and cand.get("type") == "numpy":
            with archive.open(cand["file"]) as fh:
                values.append(np.load(io.BytesIO(fh.read()), allow_pickle=False))
        else:
            raise ValueError(
                f"expected a number or an array, got a {cand.get('__loader__')}"
            )
    return values


def _node_name(node):
    """``module.class`` a schema node names (``None.None`` for none)."""
    node = node or {}
    return f"{node.get('__module__')}.{node.get('__class__')}"


def _placed_nodes(schema):
    """Yield ``(node, holder, key)`` for every node of a skops schema.

    ``holder`` is the object node whose attribute ``key`` the node is (its
    content a dict node whose table holds the node under ``key``), or the
    partial node whose ``key`` (``func``, ``args``, ...) it is; None, with
    ``key`` None, for a node anywhere else (an item of a list, a tuple, a
    dict, a node's own parts).
    """
    stack = [(schema, ())]
    while stack:
        node, trail = stack.pop()
        if isinstance(node, list):
            stack.extend((item, ()) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        holder, key = None, None
        if len(trail) == 3:
            (outer, k1), (table, k2), (_, key) = trail
            if not (
                outer.get("__loader__") == "ObjectNode"
                and (k1, k2) == ("content", "content")
                and table.get("__loader__") == "DictNode"
            ):
                key = None
            holder = outer if key is not None else None
        if holder is None and len(trail) >= 2:
            (outer, k1), (_, k2) = trail[-2:]
            if outer.get("__loader__") == "PartialNode" and k1 == "content":
                holder, key = outer, k2
        yield node, holder, key
        for k, value in node.items():
            stack.append((value, (*trail[-2:], (node, k))))


def _is_hgb_partial(node, by_id):
    """Whether a partial node is exactly HistGradientBoosting's check_array partial.

    ``functools.partial(check_array, dtype=[numpy.float64],
    ensure_all_finite=False)`` with no positional argument and no
    namespace, whichever node of an id skops builds for each part.
    """

    def only(part, loader, name=None):
        try:
            cands = _node_candidates(part, by_id)
        except ValueError:
            return None
        if all(
            c.get("__loader__") == loader and (name is None or _node_name(c) == name)
            for c in cands
        ):
            return cands
        return None

    def empty(part, loader, name):
        cands = only(part, loader, name)
        return cands is not None and all(c.get("content") in ([], {}) for c in cands)

    def keyword_table(cand):
        table = cand.get("content")
        if not isinstance(table, dict) or sorted(table) != sorted(_HGB_CHECK_KEYWORDS):
            return False
        # skops pairs the keys with their types, dropping keys without one
        key_types = only(cand.get("key_types"), "ListNode", "builtins.list") or [{}]
        lists = only(table["dtype"], "ListNode", "builtins.list") or [{}]
        flags = only(table["ensure_all_finite"], "JsonNode") or [{}]
        return (
            all(
                isinstance(types.get("content"), list)
                and len(types["content"]) == len(table)
                and all(only(t, "TypeNode", "builtins.str") for t in types["content"])
                for types in key_types
            )
            and all(
                isinstance(items := dtype.get("content"), list)
                and len(items) == 1
                and only(items[0], "TypeNode", "numpy.float64") is not None
                for dtype in lists
            )
            and all(flag.get("content") == "false" for flag in flags)
        )

    content = node.get("content")
    if node.get("__loader__") != "PartialNode" or not isinstance(content, dict):
        return False
    if sorted(content) != ["args", "func", "kwds", "namespace"]:
        return False
    kwds = only(content["kwds"], "DictNode", "builtins.dict")
    return bool(
        only(content["func"], "FunctionNode", _CHECK_ARRAY)
        and empty(content["args"], "TupleNode", "builtins.tuple")
        # the partial's __dict__: None until something reads it, else empty
        and (
            empty(content["namespace"], "DictNode", "builtins.dict")
            or all(
                n.get("content") == "null"
                for n in only(content["namespace"], "JsonNode") or [{}]
            )
        )
        and kwds
        and all(keyword_table(c) for c in kwds)
    )


def _check_placements(schema, by_id, extra):
    """Refuse trusted callables stored in a form or a place scikit-learn does not.

    Checked before anything is built, for each node and every node skops
    may build in its place (several nodes can share an id): a
    ``functools.partial`` must be HistGradientBoosting's own
    (:func:`_is_hgb_partial`) held as the ``func`` of a FunctionTransformer,
    and ``check_array`` the ``func`` of such a partial, unless the caller
    trusts them by name; an object of ``sklearn._loss`` (a loss object is
    called with the arrays it is given, looping over them in compiled code)
    must sit where scikit-learn stores one (:data:`_LOSS_PLACES`), unless
    the caller trusts its class by name.
    """
    for node, holder, key in _placed_nodes(schema):
        if "__loader__" not in node:
            continue
        try:
            cands = _node_candidates(node, by_id)
        except ValueError:
            continue  # skops refuses a node that refers to nothing
        where = (
            f"{_node_name(holder)}.{key}"
            if holder is not None
            else "inside a container"
        )
        for cand in cands:
            name, loader = _node_name(cand), cand.get("__loader__")
            bad = None
            if loader == "PartialNode" and _PARTIAL not in extra:
                if not _is_hgb_partial(cand, by_id):
                    bad = (
                        "a functools.partial other than the check_array one "
                        "HistGradientBoosting stores"
                    )
                elif (_node_name(holder), key) != (_FUNCTION_TRANSFORMER, "func"):
                    bad = f"HistGradientBoosting's check_array partial as {where}"
                if bad:
                    bad += (
                        " (a partial binds stored arguments; trust "
                        f"{_PARTIAL} to load it)"
                    )
            elif (
                name == _CHECK_ARRAY and loader == "FunctionNode" and name not in extra
            ):
                if key != "func" or not _is_hgb_partial(holder, by_id):
                    bad = (
                        f"{_CHECK_ARRAY} as {where}: it is trusted only as "
                        "HistGradientBoosting stores it (bound by its partial), "
                        f"else trust {_CHECK_ARRAY} to load it"
                    )
            elif name.startswith("sklearn._loss.") and name not in extra:
                held, holders = _LOSS_PLACES.get(key, (None, None))
                if not (
                    holder is not None
                    and holder.get("__loader__") == "ObjectNode"
                    and held is not None
                    and held.fullmatch(name)
                    and (
                        _estimator_class(_node_name(holder)) is not None
                        if holders is None
                        else holders.fullmatch(_node_name(holder))
                    )
                ):
                    bad = (
                        f"the loss object {name} as {where}, where scikit-learn "
                        "stores none (a model would call it with arrays of the "
                        f"file's choosing); trust {name} to load it"
                    )
            if bad:
                raise UntrustedModelError(f"it holds {_printable(bad)}")


def _combination_fault(parts, check):
    """First fault ``check`` finds in a combination of a tree's stored parts.

    ``parts`` lists, for each argument of ``check``, every value skops may
    build that part from (several nodes can share an id); each combination
    is checked, up to ``_MAX_TREE_READINGS`` of them.
    """
    import itertools
    import math

    if math.prod(len(part) for part in parts) > _MAX_TREE_READINGS:
        return "its parts are stored under ids shared by many other objects"
    for combination in itertools.product(*parts):
        bad = check(*combination)
        if bad:
            return bad
    return None


def _refuse_tree(kind, bad):
    """Raise the refusal of a malformed stored tree."""
    raise UntrustedModelError(
        f"{kind} of the file is malformed: {bad}; scikit-learn would follow it "
        "outside the tree's memory while predicting"
    )


def _check_decision_trees(nodes, by_id, archive):
    """Refuse a scikit-learn decision tree whose stored nodes point outside it.

    scikit-learn rebuilds a tree from its node array without checking the
    child and feature indices it holds, and predicting follows them in
    compiled code: an index past the end reads (or crashes on) memory outside
    the tree. Every ``sklearn.tree._tree.Tree`` of the file is checked before
    anything is built, for every value skops may build each part from:
    ``n_outputs`` class counts, at most as many nodes in use as stored, each
    node a leaf (both children -1) or a split whose children come after it
    (no cycle) and inside the nodes in use, on a feature the tree has. The
    trees built are checked again after loading (:func:`_check_loaded_trees`).
    """
    for node in nodes:
        if (node.get("__module__"), node.get("__class__")) != (
            "sklearn.tree._tree",
            "Tree",
        ):
            continue
        bad = None
        try:
            args = node["__reduce__"]["args"]["content"]
            state = node["content"]["content"]
            parts = [
                _stored_values(part, by_id, archive)
                for part in (*args, state["node_count"], state["nodes"])
            ]
            bad = _combination_fault(parts, _tree_fault)
        except (KeyError, TypeError, ValueError) as exc:
            bad = f"its stored state does not read ({type(exc).__name__}: {exc})"
        if bad:
            _refuse_tree("a decision tree", bad)


def _built_tree_fault(tree):
    """Return what is wrong with a decision tree as loaded, or None."""
    if not 1 <= tree.node_count <= tree.capacity:
        return f"it claims {tree.node_count} nodes in use and stores {tree.capacity}"
    stored = tree.__getstate__()["nodes"]  # the nodes in use, now in bounds
    return _tree_fault(
        int(tree.n_features),
        np.asarray(tree.n_classes),
        int(tree.n_outputs),
        int(tree.node_count),
        stored,
    )


def _tree_fault(n_features, n_classes, n_outputs, count, stored):
    """Return what is wrong with a decision tree's stored state, or None."""
    if not all(type(v) is int for v in (n_features, n_outputs, count)):
        return "its sizes are not whole numbers"
    n_classes = np.asarray(n_classes)
    if n_classes.dtype.kind not in "iu" or n_classes.shape != (n_outputs,):
        return f"it gives no class count for each of its {n_outputs} outputs"
    if n_features < 1 or n_outputs < 1 or (n_classes < 1).any():
        return "it has no feature, output or class"
    fields = ("left_child", "right_child", "feature")
    if stored.ndim != 1 or not all(f in (stored.dtype.names or ()) for f in fields):
        return "its nodes are no node array"
    if not 1 <= count <= stored.shape[0]:
        return f"it claims {count} nodes in use and stores {stored.shape[0]}"
    used = stored[:count]
    left, right, feature = (used[f].astype(np.int64) for f in fields)
    leaf = left == -1
    leaf_child, far_child, far_feature = _link_faults(
        leaf, left, right, -1, feature, n_features
    )
    if leaf_child.any():
        return "a leaf has a child"
    if far_child.any():
        return "a split's children are not nodes after it"
    if far_feature.any():
        return f"a split is on a feature outside its {n_features}"
    return None


def _link_faults(leaf, left, right, none, feature, n_features=None):
    """Masks of the nodes of a tree whose links or feature point outside it.

    For nodes flagged ``leaf`` (children ``none``) or splits, with children
    ``left`` and ``right`` and split features ``feature`` (int64 arrays of
    the same length): the leaves with a child, the splits whose children are
    not nodes after them among these, and the splits on a feature outside
    ``n_features`` (only a negative one when None).
    """
    count = leaf.shape[0]
    index = np.arange(count)
    split = ~leaf
    leaf_child = leaf & ((left != none) | (right != none))
    inside = (left > index) & (left < count) & (right > index) & (right < count)
    too_far = (
        feature < 0 if n_features is None else (feature < 0) | (feature >= n_features)
    )
    return leaf_child, split & ~inside, split & too_far


_TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
_BIN_MAPPER = "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper"
_PREDICTOR_PARTS = ("nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets")
"""The attributes of a HistGradientBoosting tree (TreePredictor), all it holds."""
_PREDICTOR_RECORD = np.dtype(
    [
        ("value", np.float64),
        ("count", np.uint32),
        ("feature_idx", np.intp),
        ("num_threshold", np.float64),
        ("missing_go_to_left", np.uint8),
        ("left", np.uint32),
        ("right", np.uint32),
        ("gain", np.float64),
        ("depth", np.uint32),
        ("is_leaf", np.uint8),
        ("bin_threshold", np.uint8),
        ("is_categorical", np.uint8),
        ("bitset_idx", np.uint32),
    ]
)
"""The node record of a HistGradientBoosting tree, as scikit-learn lays it out.

scikit-learn's ``PREDICTOR_RECORD_DTYPE``, written out here since it is
defined in a private module: packed fields, in this order. Its compiled
prediction reads the nodes through a struct of exactly this layout, and
TreePredictor casts nodes of any other record type to it field by field in
order, whatever their names: a file must store this very type, so that the
fields checked by name are the ones prediction reads. A scikit-learn whose
record differs gets its models refused (a test compares this type with a
freshly fitted model's).
"""


def _check_hist_predictors(nodes, by_id, archive):
    """Refuse a HistGradientBoosting tree whose stored nodes point outside it.

    scikit-learn's HistGradientBoosting models predict by following the
    child, feature and bitset indices stored in their trees' node records
    (``TreePredictor.nodes``) in compiled code, without bounds: an index past
    the end reads (or crashes on) memory outside the tree, the row or the
    category bitsets. Every TreePredictor of the file is checked before
    anything is built, for every table of attributes and every value skops
    may build each part from (ids shared by several nodes included): its
    three attributes and no other, nodes of scikit-learn's record type, each
    a leaf or a split into two nodes after it (every node but the root the
    child of exactly one split), on a feature of non-negative index and,
    when categorical, with a bitset its tree holds (rows of 8 words, as many
    binned as raw). How many features there are, and which are categorical,
    is the model's: checked once it is built (:func:`_hist_boosting_fault`).
    """
    for node in nodes:
        if (_node_name(node), node.get("__loader__")) != (
            _TREE_PREDICTOR,
            "ObjectNode",
        ):
            continue
        bad = None
        try:
            for table in _stored_tables(node, by_id):
                if sorted(table) != sorted(_PREDICTOR_PARTS):
                    bad = f"it holds the attributes {sorted(map(str, table))}"
                    break
                parts = [
                    _stored_values(table[part], by_id, archive)
                    for part in _PREDICTOR_PARTS
                ]
                bad = _combination_fault(parts, _predictor_fault)
                if bad:
                    break
        except (KeyError, TypeError, ValueError) as exc:
            bad = f"its stored state does not read ({type(exc).__name__}: {exc})"
        if bad:
            _refuse_tree("a HistGradientBoosting tree", bad)


def _stored_tables(node, by_id):
    """Every table of attributes (name to node) an object node may be given.

    skops gives an object node the attributes its content node builds, or
    the node built first of the same ``__id__`` (:func:`_node_candidates`):
    each candidate must be a dict node, and all of them are returned.
    """
    tables = []
    for cand in _node_candidates(node["content"], by_id):
        content = cand.get("content")
        if cand.get("__loader__") != "DictNode" or not isinstance(content, dict):
            raise ValueError("its attributes are not stored as a table")
        tables.append(content)
    return tables


def _predictor_fault(stored, binned, raw, n_features=None, categorical=None):
    """Return what is wrong with a HistGradientBoosting tree's state, or None.

    Parameters
    ----------
    stored : object
        The tree's nodes (``TreePredictor.nodes``), read from the file.
    binned, raw : object
        Its category bitsets (``binned_left_cat_bitsets``,
        ``raw_left_cat_bitsets``), one row of 8 words per categorical split.
    n_features : int, default=None
        How many columns the rows its model hands it have; None before the
        model is built (only negative feature indices are refused then).
    categorical : ndarray of bool, default=None
        For each of those columns, whether the model's bin mapper knows its
        categories (a categorical split looks the column's known categories
        up by it); None before the model is built.

    Returns
    -------
    fault : str or None
        What is wrong, naming the node, the index and its limit.
    """

    def first(bad):
        return int(np.flatnonzero(bad)[0])

    bad = _record_fault(stored)
    if bad:
        return bad
    count = stored.shape[0]
    if count < 1:
        return "it has no node"
    for kind, bitsets in (("binned", binned), ("raw", raw)):
        if type(bitsets) is not np.ndarray:
            return f"its {kind} category bitsets are a {_type_name(bitsets)}"
        if bitsets.dtype != np.uint32:
            return (
                f"its {kind} category bitsets are of dtype {bitsets.dtype}, not "
                "unsigned 32-bit words"
            )
        if bitsets.ndim != 2 or bitsets.shape[1] != 8:
            return (
                f"its {kind} category bitsets ({bitsets.shape}) are not rows of 8 "
                "unsigned 32-bit words"
            )
        if not bitsets.flags.c_contiguous:  # read as rows of C order
            return f"its {kind} category bitsets are not stored in C order"
    if binned.shape != raw.shape:
        return (
            f"it holds {binned.shape[0]} binned and {raw.shape[0]} raw category bitsets"
        )
    leaf_flag, cat_flag = stored["is_leaf"], stored["is_categorical"]
    bad = (leaf_flag > 1) | (cat_flag > 1)
    if bad.any():
        i = first(bad)
        return f"node {i} is flagged leaf {leaf_flag[i]}, categorical {cat_flag[i]}"
    leaf, index = leaf_flag == 1, np.arange(count)
    left, right, feature = (
        stored[f].astype(np.int64) for f in ("left", "right", "feature_idx")
    )
    # scikit-learn leaves its leaves' children at 0
    leaf_child, far_child, far_feature = _link_faults(
        leaf, left, right, 0, feature, n_features
    )
    if leaf_child.any():
        i = first(leaf_child)
        return f"node {i} is a leaf with children {left[i]} and {right[i]}"
    split = ~leaf
    if far_child.any():
        i = first(far_child)
        return (
            f"node {i} splits into nodes {left[i]} and {right[i]}: a split's "
            f"children are nodes after it, below {count}"
        )
    # a tree, as scikit-learn grows it: a node shared by several splits (a
    # lattice) multiplies the paths that partial dependence walks
    parents = np.bincount(np.concatenate([left[split], right[split]]), minlength=count)
    bad = parents != (index > 0)
    if bad.any():
        i = first(bad)
        return (
            f"node {i} is the child of {parents[i]} splits (the root of none, "
            "every other node of one)"
        )
    if far_feature.any():
        i = first(far_feature)
        limit = (
            "a negative index"
            if n_features is None
            else f"outside the {n_features} features of its model"
        )
        return f"node {i} splits on feature {feature[i]}, {limit}"
    on_categories = split & (cat_flag == 1)
    bitset = stored["bitset_idx"].astype(np.int64)
    bad = on_categories & (bitset >= raw.shape[0])
    if bad.any():
        i = first(bad)
        return (
            f"categorical node {i} reads category bitset {bitset[i]}, past the "
            f"{raw.shape[0]} its tree holds"
        )
    if categorical is not None:
        bad = on_categories.copy()
        bad[on_categories] = ~categorical[feature[on_categories]]
        if bad.any():
            i = first(bad)
            return (
                f"categorical node {i} splits on feature {feature[i]}, whose "
                "categories its model does not know"
            )
    return None


def _record_fault(stored):
    """Say how ``stored`` differs from a 1-D array of :data:`_PREDICTOR_RECORD`."""
    if type(stored) is not np.ndarray:
        return f"its nodes are a {_type_name(stored)}, not an array"
    if stored.ndim != 1:
        return f"its nodes are a {stored.ndim}-D array, not 1-D"
    found, expected = stored.dtype, _PREDICTOR_RECORD
    if found.names != expected.names:
        return (
            f"its node records have the fields {found.names or ()}, not "
            f"scikit-learn's {expected.names}"
        )
    for field in expected.names:
        if found.fields[field][0] != expected.fields[field][0]:
            return (
                f"its node records store {field} as {found.fields[field][0]}, "
                f"not as scikit-learn's {expected.fields[field][0]}"
            )
    if found != expected:
        return "its node records are laid out otherwise than scikit-learn's"
    return None


def _hist_boosting_fault(name, state):
    """Return what is wrong with a loaded HistGradientBoosting model, or None.

    Its predict hands every tree the rows that its column transformer (with
    categorical features) or its own input check (as many columns as
    ``n_features_in_``) gives, with the known-category bitsets its bin
    mapper builds, and adds tree ``k`` of each iteration to column ``k`` of
    a prediction laid out like ``_baseline_prediction``. The trees' feature
    indices are read against those rows and categorical splits against the
    bin mapper's categorical features; a model stored in the middle of
    fitting (``_in_fit``) would read the rows given to predict as binned
    data, without its input check. A model without trees (unfitted, as the
    template of a meta-estimator) has nothing to check.
    """
    if "_predictors" not in state:
        return None
    width = state.get("n_features_in_")
    if type(width) is not int or width < 1:
        return f"{name} does not say how many features it takes"
    if "_in_fit" in state:
        return (
            f"{name} is stored in the middle of fitting (_in_fit): its trees "
            "would read the rows given to predict as binned, unchecked"
        )
    per_stage = state.get("n_trees_per_iteration_")
    if type(per_stage) is not int or per_stage < 1:
        return f"{name} does not say how many trees an iteration has"
    baseline = state.get("_baseline_prediction")
    if not (
        type(baseline) is np.ndarray
        and baseline.shape == (1, per_stage)
        and baseline.dtype.kind == "f"
    ):
        shape = getattr(baseline, "shape", type(baseline).__name__)
        return (
            f"{name}'s baseline prediction has the shape {shape}, not (1, "
            f"{per_stage}): a number for each tree of an iteration"
        )
    stages = state.get("_predictors")
    if type(stages) is not list or not all(type(s) is list for s in stages):
        return f"{name}'s trees are not a list of iterations"
    for i, stage in enumerate(stages):
        if len(stage) != per_stage:
            return (
                f"{name}'s iteration {i} has {len(stage)} trees for {per_stage} "
                "output columns"
            )
    bad, categorical = _bin_mapper_fault(state.get("_bin_mapper"), width)
    if bad:
        return f"{name}'s bin mapper {bad}"
    transformer = state.get("_preprocessor")  # None: predict checks the width
    bad = None if transformer is None else _column_transformer_fault(transformer, width)
    if bad:
        return f"{name}'s column transformer {bad}"
    for i, stage in enumerate(stages):
        for k, tree in enumerate(stage):
            if _type_name(tree) != _TREE_PREDICTOR:
                return f"{name}'s tree {k} of iteration {i} is a {_type_name(tree)}"
            held = vars(tree)
            bad = _predictor_fault(
                *(held.get(part) for part in _PREDICTOR_PARTS), width, categorical
            )
            if bad:
                return f"{name}'s tree {k} of iteration {i} is malformed: {bad}"
    return None


def _bin_mapper_fault(mapper, width):
    """Check the bin mapper of a HistGradientBoosting model of ``width`` features.

    Predicting builds, for each feature the mapper flags categorical
    (``is_categorical_``, one flag per feature), a row of known-category bits
    from its known categories (``bin_thresholds_``: whole numbers, the bits
    of a 256-bit set), and maps each feature to its row; a categorical split
    of a tree reads the row of its feature. Binning (while fitting) reads
    each column's flag and thresholds, as many as ``n_bins_non_missing_``
    counts.

    Returns
    -------
    fault : str or None
        What is wrong, or None.
    categorical : ndarray of bool or None
        For each feature, whether it is categorical; None with a fault.
    """
    if _type_name(mapper) != _BIN_MAPPER:
        return f"is a {_type_name(mapper)}", None
    state = vars(mapper)
    flags = state.get("is_categorical_")
    if not _is_vector(flags, np.uint8, width):
        return f"does not flag each of the {width} features categorical or not", None
    if (flags > 1).any():
        return f"flags feature {int(np.argmax(flags > 1))} neither 0 nor 1", None
    thresholds = state.get("bin_thresholds_")
    if type(thresholds) is not list or len(thresholds) != width:
        return f"does not hold the bin thresholds of each of the {width} features", None
    for f, values in enumerate(thresholds):
        if not _is_vector(values, np.float64):
            return f"holds no 1-D float thresholds for feature {f}", None
        if flags[f] and not (
            np.isfinite(values).all()
            and (values == np.round(values)).all()
            and ((values >= 0) & (values <= 255)).all()
        ):
            return (
                f"gives feature {f} known categories other than whole numbers "
                "from 0 to 255",
                None,
            )
    counts = state.get("n_bins_non_missing_")
    if not _is_vector(counts, np.uint32, width):
        return f"does not count the bins of each of the {width} features", None
    missing = state.get("missing_values_bin_idx_")
    if not (isinstance(missing, int | np.integer) and 0 <= missing <= 255):
        return "gives missing values no bin from 0 to 255", None
    return None, flags == 1


def _is_vector(value, dtype, size=None):
    """Whether ``value`` is a 1-D numpy array of ``dtype`` (and ``size``)."""
    return (
        type(value) is np.ndarray
        and value.ndim == 1
        and value.dtype == dtype
        and (size is None or value.shape[0] == size)
    )


def _column_transformer_fault(transformer, width):
    """Return what is wrong with a HistGradientBoosting model's column transformer.

    With categorical features, the model's trees read the rows its column
    transformer gives, checking their width no further: the transformer must
    give as many columns as its model's trees read. It is checked as the
    model builds it: a ColumnTransformer of ``width`` input features,
    without weights, whose fitted parts (``transformers_``) are an
    OrdinalEncoder and a FunctionTransformer converting with check_array (or
    nothing), each giving as many columns as it is handed, and the dropped
    remainder; the parts select their columns by masks of ``width`` (by
    position for arrays), and the same columns by name for data frames
    (``_transformer_to_input_indices``), ``width`` columns in all.
    """
    import functools

    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
    from sklearn.utils import check_array

    if type(transformer) is not ColumnTransformer:
        return f"is a {_type_name(transformer)}"
    state = vars(transformer)
    taken = state.get("n_features_in_")
    if type(taken) is not int or taken != width:
        return f"takes {taken!r} features, its model {width}"
    if state.get("transformer_weights"):
        return "weighs its parts"
    parts = state.get("transformers_")
    by_name = state.get("_transformer_to_input_indices")  # read for data frames
    if type(parts) is not list or type(by_name) is not dict:
        return "holds no fitted parts"
    given = 0
    for part in parts:
        if type(part) is not tuple or len(part) != 3:
            return "holds a part that is no (name, transformer, columns)"
        label, step, columns = part
        if isinstance(step, str):
            if step != "drop":
                return f"has its part {label!r} {step!r}"
            continue
        if type(step) is FunctionTransformer:
            # no function (passes its columns on), or check_array with
            # keywords only: it gives back the columns it is handed
            func = vars(step).get("func")
            inner = func.func if type(func) is functools.partial else func
            if func is not None and inner is not check_array:
                return f"has its part {label!r} call {_qualified(inner)}"
            if getattr(func, "args", ()) or vars(step).get("kw_args"):
                return (
                    f"has its part {label!r} call check_array on stored arguments, "
                    "not on its columns alone"
                )
        elif type(step) is not OrdinalEncoder:
            return f"has its part {label!r} a {_type_name(step)}"
        if not _is_vector(columns, bool, width):
            return f"does not select the columns of its part {label!r} by a mask"
        if np.flatnonzero(columns).tolist() != by_name.get(label):
            return f"selects other columns for its part {label!r} by name"
        given += int(columns.sum())
    if given != width:
        return f"gives {given} columns, its model's trees read {width}"
    return None


@functools.cache
def _skops_protocol():
    """Return the file protocol the installed skops writes (and the check reads).

    Older protocols name some types elsewhere than in ``__module__`` and
    ``__class__`` (a protocol-0 function node), which the check reads.
    """
    import io
    import json
    import zipfile

    sio = _import_skops()

    with zipfile.ZipFile(io.BytesIO(sio.dumps(None))) as archive:
        return json.loads(archive.read("schema.json")).get("protocol")


def _file_types(nodes):
    """``(loader, type name)`` of the schema's ``nodes`` (:func:`_schema_nodes`)."""
    return sorted(
        {
            (str(node["__loader__"]), f"{node['__module__']}.{node['__class__']}")
            for node in nodes
            if "__loader__" in node and "__module__" in node and "__class__" in node
        }
    )


def _trusted_names(trusted):
    """Return the caller's trusted names, each with what it stands for.

    A plugin exports its classes from its package (``my_plugin.MyAdapter``)
    while the file names them where they are defined
    (``my_plugin._adapters.MyAdapter``). The caller names what they trust,
    so importing it is theirs to ask for; a name that does not import is
    kept as given (it may still match a type of the file).
    """
    import importlib

    names = set()
    for name in trusted or []:
        name = str(name)
        names.add(name)
        module, _, attr = name.rpartition(".")
        if not module:
            continue
        try:
            obj = getattr(importlib.import_module(module), attr)
        except Exception:  # any failure of the caller's module
            # (missing, a relative name, an error in its code): only the name
            # as given is trusted, and the check reports what stays untrusted
            continue
        defined = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if all(isinstance(part, str) for part in defined):
            names.add(".".join(defined))
    return names


def load_model(path, *, trusted=None):
    """Load a model saved by :func:`save_model`, refusing untrusted types.

    Every type in the file is checked against :data:`TRUSTED_PACKAGES` and
    the caller's ``trusted`` list before anything is constructed; skops
    never runs pickle's arbitrary code paths. The check reads the file's
    schema itself and holds each kind of skops node to the types it
    exists for, since skops builds several of them by *calling* the named
    type with data from the file: list, dict, set and tuple nodes name the
    builtin containers; array, dtype, random-state and sparse nodes numpy's
    and scipy.sparse's own types; a reduce node (called with stored
    arguments) only :mod:`pathlib` paths and scikit-learn's tree and loss
    objects; an object node (built empty, then given its attributes) a
    scikit-learn or sertl estimator or a fitted model's state object; a
    type node builtin or numpy types. A class counts only where it is
    defined, outside test helpers, build tools, vendored code, dataset
    downloaders and ``__main__`` modules (never imported). Functions and
    methods (numpy's ufuncs excepted, and scikit-learn's ``check_array``
    in the one form and place HistGradientBoosting stores it: see
    :func:`_check_placements`), other ``functools.partial`` objects, loss
    objects outside the attributes scikit-learn keeps them in, and unknown
    kinds of node must be trusted by name; a FunctionTransformer may call
    only None, a ufunc, that partial or a trusted name; no stored attribute
    may hide a method of its class, nor a stored dtype take over 1024 bytes
    an element; and the stored
    routing requests must be plain names and aliases for the class's own
    ``set_<method>_request``. Only public modules of the trusted packages,
    and any module of sertl's own packages (which may import their classes
    on first use), are imported for the check. Fitted attributes that name
    the method a model calls at predict time (``stack_method_``,
    ``response_method``) must name a prediction method. Decision trees are
    checked before anything is built (children after their node and inside
    the tree, splits on features it has) and after (as many features as
    their model gives them); so are the trees of HistGradientBoosting models
    (before: children after their node and inside the tree, categorical
    splits on bitsets it holds; after: splits on features of the rows their
    model hands them, categorical ones on features its bin mapper knows
    categories of, and a column transformer giving rows of that width); k-d
    and ball trees are built again from their points; a file inflating to
    far more than it holds, one of another skops protocol and
    a neural recipe that does not match its weights are refused. The
    loaded model's ``cache_dir``, ``memory``, ``n_jobs`` and
    ``client`` parameters are reset to None, so that predicting writes
    nowhere and starts no processes the file chose; set them again with
    ``set_params`` for a cache or parallelism of your own.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :func:`save_model`.
    trusted : list of str, default=None
        Extra fully qualified type names to trust, e.g. the classes of a
        third-party plugin: ``"my_plugin.MyAdapter"``. A name may be the
        one its package exports (``my_plugin.MyAdapter``) or where the class
        is defined (``my_plugin._adapters.MyAdapter``, the name the refusal
        message gives): an exported name is imported to find the class it
        stands for, since a class counts only where it is defined.

    Returns
    -------
    model : estimator
        The fitted model.
    metadata : dict
        The metadata saved with it, and under ``"saved_with"`` what
        :func:`save_model` recorded of the installation that wrote it
        (absent from files written before it was recorded).

    Raises
    ------
    ModelDependencyError
        The file needs a class this installation lacks (a plugin that is
        not installed, a class not in this version of its package): the
        message names the distribution to install, with the version the
        model was saved with.
    UntrustedModelError
        The file holds a type that is not trusted (the message lists them
        with the reason), is no skops file, or does not build.
    FileNotFoundError
        ``path`` does not exist.
    IsADirectoryError
        ``path`` is a folder (the message names the ``.skops`` files in it).

    Warns
    -----
    ModelVersionWarning
        Once, when the model was saved by versions that can change its
        predictions: scikit-learn's (in place of scikit-learn's own
        ``InconsistentVersionWarning`` for each estimator), those of the
        sertl distributions and of torch its classes come from, and the
        feature version of its feature extractor (whose numbers then
        differ from those it was trained on).

    Examples
    --------
    A model whose metadata holds a type outside :data:`TRUSTED_PACKAGES`
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
    from sklearn.exceptions import InconsistentVersionWarning

    from ._provenance import (
        SAVED_WITH,
        ModelDependencyError,
        _mapping,
        missing_types,
        package_installed,
        read_saved_with,
        sklearn_versions,
        version_differences,
        warn_differences,
    )
    from ._selection import _recorded

    sio = _import_skops()

    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.skops") if p.is_file())
        hint = (
            f"; it holds {', '.join(found[:5])}{' ...' if len(found) > 5 else ''}"
            if found
            else ""
        )
        raise IsADirectoryError(
            f"Model file {str(path)!r} is a folder{hint}: give the model file "
            "itself (.skops, e.g. OUTPUT/model.skops from `sertl demo`, "
            "OUTPUT/models/*.skops from `sertl run`)."
        )
    if not path.is_file():
        raise FileNotFoundError(f"Model file {str(path)!r} does not exist.")
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            schema = _read_schema(archive, path.stat().st_size)  # once, as data
            if schema.get("protocol") != _skops_protocol():
                raise UntrustedModelError(
                    f"it was written with skops file protocol "
                    f"{_printable(schema.get('protocol'))}; this installation "
                    f"reads protocol {_skops_protocol()} only (its type check "
                    "reads that protocol's schema). Save the model again with "
                    "this installation"
                )
            nodes, by_id = _schema_nodes(schema)  # walked once
            types = _file_types(nodes)
            record = read_saved_with(schema)
            file_sklearn = sklearn_versions(nodes)
            _check_decision_trees(nodes, by_id, archive)
            _check_hist_predictors(nodes, by_id, archive)
    except UntrustedModelError as exc:
        raise UntrustedModelError(f"{str(path)!r} is refused: {exc}.") from exc
    except Exception as exc:
        raise UntrustedModelError(
            f"{str(path)!r} is not a skops model file ({type(exc).__name__}: {exc}). "
            "Models are written by `sertl grid --save` or `sertl run` with "
            "save_models = true."
        ) from exc
    extra = _trusted_names(trusted)
    for _, name in types:  # public modules first: the order of names is free
        _import_public_part(name.rpartition(".")[0])
    # a class of a package that is not installed (a plugin), or not in this
    # version of it, is named with what to install, not as untrusted; so is
    # one of a package the caller trusts a name of (a third-party plugin's
    # class trusted as its package exports it, which cannot be matched to
    # the file's name while the plugin is not installed)
    caller_packages = {str(name).split(".")[0] for name in trusted or []}
    missing = missing_types(
        types,
        record,
        lambda m: (
            (_in_packages(m, TRUSTED_PACKAGES) and not _UNTRUSTED_MODULES.search(m))
            or (
                m.split(".")[0] in caller_packages
                and not package_installed(m.split(".")[0])
            )
        ),
    )
    if missing:
        listed = _printable("; ".join(missing[name] for name in sorted(missing)))
        raise ModelDependencyError(
            f"{str(path)!r} needs what this installation lacks: {listed}."
        )
    refused = {}
    for loader, name in types:
        why = _refusal(loader, name, extra)
        if why is not None:
            top = name.split(".")[0]
            if not package_installed(top):  # trusting it is not enough
                why += f"; its package {top} is not installed here"
            refused.setdefault(name, why)
    if refused:
        # names read from the file: shown, control characters escaped
        listed = _printable(
            ", ".join(f"{name} ({why})" for name, why in sorted(refused.items()))
        )
        raise UntrustedModelError(
            f"{str(path)!r} contains types that are not trusted: {listed}. "
            "Load it only if you trust its author, passing these names in "
            "trusted=[...] (command line: --trust NAME, once per type or "
            "comma-separated)."
        )
    try:
        _check_placements(schema, by_id, extra)
    except UntrustedModelError as exc:
        raise UntrustedModelError(f"{str(path)!r} is refused: {exc}.") from exc
    try:
        # the names of nodes that import nothing are not handed to skops
        names = {name for loader, name in types if loader not in _NO_IMPORT}
        with _recorded() as raised:
            payload = sio.load(path, trusted=sorted(names))
        for category, text in raised:
            # scikit-learn warns once per estimator of another version (as
            # if unpickled): ModelVersionWarning below says it once
            if not issubclass(category, InconsistentVersionWarning):
                _warn_again(text, category)
        # before any method of what it built is called
        _check_loaded_callables(payload, extra)
        if isinstance(payload, dict) and "model" in payload:
            _restore_routing_requests(payload["model"])
            _neutralise_loaded_model(payload["model"])
            # the metadata too: a model stored there is as callable
            _check_loaded_trees(payload)
    except UntrustedModelError:
        raise
    except ImportError as exc:  # a type trusted by name, not installed
        dist = _mapping(record, "packages").get(str(exc.name).split(".")[0])
        hint = f" (the distribution {dist}: pip install '{dist}')" if dist else ""
        raise ModelDependencyError(
            _printable(
                f"{str(path)!r} needs the module {exc.name!r}, which is not "
                f"installed here{hint}."
            )
        ) from exc
    except Exception as exc:  # trusted types whose stored state does not build
        raise UntrustedModelError(
            f"{str(path)!r} cannot be loaded: {type(exc).__name__}: {exc}. It may "
            "be damaged, or written with other versions of scikit-learn or "
            "sertl than these; save the model again with this installation."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != "sertl-model/1":
        raise UntrustedModelError(
            f"{str(path)!r} is a skops file but not a sertl model (no sertl-model/1 "
            "payload)."
        )
    metadata = payload["metadata"]
    if record is not None and isinstance(metadata, dict):
        metadata = {**metadata, SAVED_WITH: record}
    warn_differences(
        path, *version_differences(record, payload["model"], file_sklearn), 2
    )
    return payload["model"], metadata


def _warn_again(text, category):
    """Warn ``text`` again as ``category`` (a warning recorded while loading)."""
    try:
        warnings.warn(text, category, stacklevel=3)
    except TypeError:  # a category whose constructor takes other arguments
        warnings.warn(f"{category.__name__}: {text}", UserWarning, stacklevel=3)
