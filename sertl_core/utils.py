"""Helpers for the authors of sertl methods (plugins, ours and third parties').

The pieces that the core's own methods and the first-party plugins share
when they write a :class:`~sertl_core.DomainAdapter` or a
:class:`~sertl_core.TransferEstimator`: the statistics of standardisation,
the float32 tag, the way sample weights reach a wrapped estimator, row
selection, the kernel's offset guard and the up-front memory check. They
are public, so that a plugin
relies only on what the core promises: a release of the core may rename
anything private, never these without a deprecation.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from sklearn import get_config
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

__all__ = [
    "available_memory",
    "check_memory",
    "is_constant",
    "kernel_shift",
    "mean_scale",
    "preserve_float32",
    "sample_weight_keyword",
    "take_rows",
    "weights_through_sampler",
]

# deviations in this range have squares that neither underflow nor overflow
_SAFE_DEVIATION = (1e-100, 1e100)


def _column_std(X, center):
    """``X.std(axis=0)``, also where the squared deviations under- or overflow.

    A column whose largest deviation from ``center`` lies outside
    ``_SAFE_DEVIATION`` (features of magnitude 1e-160 or 1e160) is scaled
    by a power of two first and its deviation scaled back: both steps are
    exact, so the result is that of the ideal arithmetic. Other columns are
    computed as ``X.std(axis=0)``, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 1e-200], [3.0, 3e-200]])
    >>> X.std(axis=0).tolist()  # the squares of 1e-200 underflow to 0
    [1.0, 0.0]
    >>> _column_std(X, X.mean(axis=0)).tolist()
    [1.0, 1e-200]
    """
    with np.errstate(over="ignore"):
        dev = np.max(np.abs(X - center), axis=0)
    odd = (dev > 0) & np.isfinite(dev)
    odd &= (dev < _SAFE_DEVIATION[0]) | (dev > _SAFE_DEVIATION[1])
    if not odd.any():
        return X.std(axis=0)
    s = np.ones(X.shape[1])
    s[odd] = np.ldexp(1.0, -np.frexp(dev[odd])[1])
    return (X * s).std(axis=0) / s


def is_constant(scale, mean, n_rows):
    """Mask of the features whose deviation is no more than the rounding of the mean.

    ``scale`` and ``mean`` are the deviations and means of ``n_rows`` rows.
    numpy sums the rows of a column one after the other, so the mean of
    ``n_rows`` copies of ``c`` may be off by up to about ``n_rows eps |c|``,
    and every deviation from it with it: the bound is ``max(n_rows, 10) eps
    |mean|`` (0 for a mean of 0), relative to the feature's own magnitude
    and growing with the rows as scikit-learn's ``StandardScaler`` makes it.
    A feature that varies on a scale of 1e-15 is not constant; a constant
    0.1 over 1000 rows (deviation 1.4e-15, more than ``10 eps |mean|``) is.

    Parameters
    ----------
    scale : ndarray of shape (n_features,)
        Standard deviations of the features.
    mean : ndarray of shape (n_features,)
        Their means.
    n_rows : int
        Rows the statistics were computed from.

    Returns
    -------
    constant : ndarray of bool of shape (n_features,)
        True for a constant feature (its scale is then set to 1, as
        :func:`mean_scale` does).

    See Also
    --------
    mean_scale : The statistics, with this test applied.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.utils import is_constant
    >>> X = np.full((1000, 1), 0.1)
    >>> X.std(axis=0) > 0  # the rounding of the mean, taken for spread
    array([ True])
    >>> is_constant(X.std(axis=0), X.mean(axis=0), len(X))
    array([ True])
    >>> is_constant(np.array([1e-15]), np.array([0.0]), 1000)
    array([False])
    """
    return scale <= max(n_rows, 10) * np.finfo(float).eps * np.abs(mean)


def mean_scale(X, with_mean=True, with_std=True):
    """Float64 mean and standard deviation of ``X``; constant features get 1.

    A feature is constant when its deviation is no more than the rounding
    of its mean (:func:`is_constant`), a test relative to the feature's
    own magnitude: a feature that varies on a scale of 1e-15 (or 1e-200)
    is standardised like the same feature on a scale of 1. These are the
    statistics of :class:`~sertl_core.DomainStandardScaler` and
    :class:`~sertl_core.SourceStandardScaler`.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows of one domain (or of the rows to standardise together).
    with_mean : bool, default=True
        False: the mean returned is 0.
    with_std : bool, default=True
        False: the scale returned is 1.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Mean of each feature (zeros with ``with_mean=False``).
    scale : ndarray of shape (n_features,)
        Standard deviation of each feature, 1 for a constant one (ones with
        ``with_std=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.utils import mean_scale
    >>> mean, scale = mean_scale(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> mean.tolist(), scale.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    """
    X = X.astype(np.float64, copy=False)
    center = X.mean(axis=0)
    mean = center if with_mean else np.zeros(X.shape[1])
    if not with_std:
        return mean, np.ones(X.shape[1])
    scale = _column_std(X, center)
    scale[is_constant(scale, center, X.shape[0])] = 1.0
    return mean, scale


def preserve_float32(tags):
    """Declare float32 output for float32 input, so sklearn's checks test it.

    For a transformer that computes in float64 and returns rows in the
    dtype it was given, as scikit-learn's scalers do.

    Parameters
    ----------
    tags : sklearn.utils.Tags
        The tags of ``super().__sklearn_tags__()``; changed and returned.

    Returns
    -------
    sklearn.utils.Tags
        ``tags``, with ``transformer_tags.preserves_dtype`` set.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler
    >>> from sertl_core.utils import preserve_float32
    >>> tags = preserve_float32(DomainStandardScaler().__sklearn_tags__())
    >>> tags.transformer_tags.preserves_dtype
    ['float64', 'float32']
    """
    tags.transformer_tags.preserves_dtype = ["float64", "float32"]
    return tags


def sample_weight_keyword(est):
    """Name of the fit keyword that gives ``sample_weight`` to ``est``, or None.

    A :class:`~sklearn.pipeline.Pipeline` takes no ``sample_weight`` itself
    (``has_fit_parameter`` is False), but its final step often does: the
    weights then go to that step (``"<name>__sample_weight"``) instead of
    being replaced by a weighted resample. With metadata routing enabled the
    request is set on ``est``, which must be a private clone: the final step
    requests the weights and every other step that could take them does not.

    Parameters
    ----------
    est : estimator
        The (cloned) estimator a transfer method is about to fit.

    Returns
    -------
    str or None
        ``"sample_weight"``, ``"<last step>__sample_weight"``, or None when
        ``est`` cannot take weights (resample the rows instead).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sertl_core.utils import sample_weight_keyword
    >>> sample_weight_keyword(make_pipeline(StandardScaler(), LogisticRegression()))
    'logisticregression__sample_weight'
    >>> print(sample_weight_keyword(KNeighborsClassifier()))
    None
    """
    if has_fit_parameter(est, "sample_weight"):
        if get_config().get("enable_metadata_routing", False):
            _request_weights_inside(est)
        return "sample_weight"
    if not isinstance(est, Pipeline) or not est.steps:
        return None
    name, last = est.steps[-1]
    if (
        last is None
        or last == "passthrough"
        or not has_fit_parameter(last, "sample_weight")
    ):
        return None
    if not get_config().get("enable_metadata_routing", False):
        return f"{name}__sample_weight"
    for _, step in est.steps[:-1]:
        if (
            step is not None
            and step != "passthrough"
            and hasattr(step, "set_fit_request")
            and has_fit_parameter(step, "sample_weight")
        ):
            step.set_fit_request(sample_weight=False)
    last.set_fit_request(sample_weight=True)
    return "sample_weight"


def _request_weights_inside(est):
    """Under metadata routing, let the estimators that ``est`` wraps take the weights.

    A meta-estimator that takes ``sample_weight`` itself (e.g.
    ``CalibratedClassifierCV(SVC())``) also routes it to the estimator it
    wraps, and scikit-learn refuses to route weights to an estimator that has
    not requested them. The weights are meant for the classifier, so each
    wrapped estimator that accepts them requests them (``est`` is a private
    clone).
    """
    inner = getattr(est, "estimator", None)
    if (
        inner is None
        or not hasattr(inner, "set_fit_request")
        or not has_fit_parameter(inner, "sample_weight")
    ):
        return
    inner.set_fit_request(sample_weight=True)
    _request_weights_inside(inner)


def weights_through_sampler(sampler, sample_weight):
    """Return the weights of the rows a fitted ``sampler`` returned.

    They follow the rows through the sampler's ``sample_indices_``; a sampler
    without them (one that creates new rows, e.g. SMOTE) cannot carry the
    weights and is refused.

    Parameters
    ----------
    sampler : imbalanced-learn sampler
        Fitted (``fit_resample`` called).
    sample_weight : array-like of shape (n_rows,)
        The weights of the rows it was given.

    Returns
    -------
    ndarray of shape (n_resampled,)
        The weight of each row the sampler returned.

    Raises
    ------
    ValueError
        When ``sampler`` has no ``sample_indices_``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sertl_core.utils import weights_through_sampler
    >>> sampler = SimpleNamespace(sample_indices_=[0, 2, 2])  # as fit_resample sets
    >>> weights_through_sampler(sampler, [1.0, 2.0, 3.0]).tolist()
    [1.0, 3.0, 3.0]
    """
    idx = getattr(sampler, "sample_indices_", None)
    if idx is None:
        raise ValueError(
            f"{type(sampler).__name__} creates new rows, so the instance "
            "weights cannot follow them. Use a sampler that exposes "
            "sample_indices_ (e.g. RandomOverSampler, RandomUnderSampler) or "
            "sampler=None."
        )
    return np.asarray(sample_weight)[idx]


def take_rows(X, rows):
    """Select rows of an array, a sparse matrix, a DataFrame or a list.

    Parameters
    ----------
    X : array-like, sparse matrix, DataFrame or list
        Rows to select from (a list: one item per row, e.g. audio files).
        A scipy sparse matrix or array of a format without row indexing
        (COO, DIA, BSR) is converted to CSR first, as scikit-learn's
        cross-validation does (``sklearn.utils.indexable``).
    rows : ndarray of int or bool
        Indices or mask of the rows.

    Returns
    -------
    array-like, sparse matrix, DataFrame or list
        The rows, of the kind of ``X`` (CSR for a COO, DIA or BSR ``X``).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.utils import take_rows
    >>> take_rows(["a.wav", "b.wav", "c.wav"], np.array([2, 0]))
    ['c.wav', 'a.wav']
    >>> take_rows(np.eye(3), np.array([True, False, True])).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    >>> from scipy.sparse import coo_matrix
    >>> take_rows(coo_matrix(np.eye(3)), np.array([2, 0])).toarray().tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if isinstance(X, list):
        return [X[i] for i in rows]
    if not hasattr(X, "shape"):
        return np.asarray(X)[rows]
    if getattr(X, "format", None) in _NO_ROW_INDEXING and hasattr(X, "tocsr"):
        # a coo_matrix, dia and bsr formats take no X[rows] (TypeError,
        # NotImplementedError); a coo_array does from scipy 1.15 only
        X = X.tocsr()
    return X[rows]


# scipy sparse formats without row indexing, converted to CSR by take_rows
_NO_ROW_INDEXING = ("coo", "dia", "bsr")


# rows whose midpoint lies further from 0 than this many times their spread
# are centred on it before an RBF kernel is built
_OFFSET_RATIO = 1e3


def kernel_shift(*arrays):
    """Point to subtract from the rows before building an RBF kernel, or None.

    The RBF (Gaussian) kernel depends on the differences of rows only, but
    its squared distances ``|x|^2 + |y|^2 - 2 x.y`` lose ``(|x| /
    spread)^2`` times the machine precision: rows sharing a large offset (a
    feature of mean 1e8 that varies by about 1) got a TCA embedding 80 % to
    400 % off, and KMM weights 100 % off, those of the same rows without
    it. Rows whose midpoint (halfway between the smallest and the largest
    value of each feature) lies more than 1e3 times their largest spread
    from 0 are centred on that midpoint; for other rows the answer is None
    and they are used as given, bit for bit.

    Parameters
    ----------
    *arrays : ndarray of shape (n_rows_i, n_features)
        The rows the kernel compares (e.g. the source and the target rows),
        taken together.

    Returns
    -------
    shift : ndarray of shape (n_features,) or None
        The midpoint to subtract from every row, or None: use them as given.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.utils import kernel_shift
    >>> print(kernel_shift(np.array([[0.0, 1.0], [2.0, 3.0]])))
    None
    >>> kernel_shift(np.array([[1e8, 1.0]]), np.array([[1e8 + 2, 3.0]])).tolist()
    [100000001.0, 2.0]
    """
    hi = np.max([a.max(axis=0) for a in arrays], axis=0)
    lo = np.min([a.min(axis=0) for a in arrays], axis=0)
    mid = lo / 2 + hi / 2  # never overflows
    with np.errstate(over="ignore"):
        spread = float(np.max(hi - lo))
    if not np.isfinite(spread) or np.max(np.abs(mid)) <= _OFFSET_RATIO * spread:
        return None
    return mid


def _meminfo_available(path="/proc/meminfo"):
    """``MemAvailable`` of Linux's ``/proc/meminfo`` in bytes, or None."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file says kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available(root="/sys/fs/cgroup"):
    """Room left under a cgroup v2 memory limit (a container's), or None.

    ``memory.current`` counts the page cache of the files the cgroup has
    read (a corpus's recordings, a feature cache), which the kernel drops
    when an allocation needs the room; the cache it can drop first, the
    ``inactive_file`` of ``memory.stat``, is counted as room, as container
    runtimes do for their "working set". Without ``memory.stat`` nothing
    is added.
    """
    try:
        with open(os.path.join(root, "memory.max"), encoding="ascii") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(root, "memory.current"), encoding="ascii") as f:
            current = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        return max(int(limit) - current, 0) + _cgroup_inactive_file(root)
    except ValueError:
        return None


def _cgroup_inactive_file(root):
    """``inactive_file`` of a cgroup v2 ``memory.stat`` in bytes, 0 without it."""
    try:
        with open(os.path.join(root, "memory.stat"), encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "inactive_file":
                    return int(value)
    except (OSError, ValueError):
        return 0
    return 0


def _rlimit_available(statm="/proc/self/statm"):
    """Room left under the process's address-space limit (``ulimit -v``), or None.

    The limit counts the virtual size, so the room is the limit less the
    current virtual size (Linux's ``/proc/self/statm``; without it, None).
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    try:
        with open(statm, encoding="ascii") as f:
            pages = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(soft - pages * os.sysconf("SC_PAGE_SIZE"), 0)


def available_memory():
    """Return the memory a new allocation can take now without swapping, or None.

    On Linux the kernel's own estimate, ``MemAvailable`` of
    ``/proc/meminfo`` (free memory plus the page cache it can drop), or,
    when smaller, the room left under the memory limit of the process's
    cgroup (a container, a CI job; the page cache it can drop counted as
    room) or under its address-space limit
    (``ulimit -v``, as some clusters set). On other POSIX systems (macOS) the
    physical memory of the machine: no estimate of what is free, but a
    step that needs more than the whole machine is still caught. None where
    neither can be read (Windows): :func:`check_memory` then checks nothing.

    Returns
    -------
    n_bytes : int or None
        The estimate, or None when it is unknown.

    See Also
    --------
    check_memory : Refuse a step whose estimate exceeds this.

    Examples
    --------
    >>> from sertl_core.utils import available_memory
    >>> n = available_memory()
    >>> n is None or n >= 0
    True
    """
    if sys.platform.startswith("linux"):
        found = [_meminfo_available(), _cgroup_available(), _rlimit_available()]
        found = [v for v in found if v is not None]
        if found:
            return min(found)
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return None


# check_memory against the system's estimate never refuses a step this
# small: a false refusal of a step that would have run costs more than the
# allocation error it could save (tests of the methods' checks set it to 0)
_NEVER_REFUSED = 10**8


def _size(n_bytes):
    """``n_bytes`` for a message: ``"12.8 GB"``, ``"340 MB"``."""
    if n_bytes >= 10**9:
        return f"{n_bytes / 10**9:.1f} GB"
    return f"{n_bytes / 10**6:.3g} MB"


def check_memory(n_bytes, what, fix, *, available=None):
    """Refuse up front a step whose memory estimate exceeds the memory available.

    A method that builds arrays growing faster than its input (an
    ``n x n`` kernel, a landmark factor) calls this with its estimate of
    the peak before allocating anything. Without the check such a step
    fails minutes later, with numpy's allocation error deep inside the
    method, or is killed by the system after it has swapped; with it, the
    user gets one message naming the estimate and what to do instead.

    Parameters
    ----------
    n_bytes : int or float
        Estimated peak memory of the step, in bytes.
    what : str
        The step and why it needs that much, e.g. ``"TCA(solver='exact') on
        40,000 rows builds 40,000 x 40,000 kernel matrices"``.
    fix : str
        What to do instead: a parameter that avoids the allocation, or
        fewer rows.
    available : int or None, default=None
        Bytes available; None asks the system (:func:`available_memory`),
        and nothing is checked when the system cannot say. The system's
        figure is an estimate (swap, reclaimable kernel memory and the
        rest of a process's address space are not in it), so against it a
        step of 100 MB or less is never refused: were the memory really
        short, numpy's own allocation error would still say so.

    Raises
    ------
    MemoryError
        When ``n_bytes`` exceeds the memory available, with ``what``, the
        estimate, the memory available and ``fix``.

    See Also
    --------
    available_memory : The memory the check compares with.

    Examples
    --------
    >>> from sertl_core.utils import check_memory
    >>> check_memory(8 * 100**2, "a 100 x 100 kernel", "use fewer rows",
    ...              available=10**9)
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     check_memory(8 * 100_000**2, "a 100,000 x 100,000 kernel",
    ...                  "Use fewer rows.", available=16 * 10**9)
    ... except MemoryError as e:
    ...     print(e)
    a 100,000 x 100,000 kernel: about 80.0 GB of memory, more than the 16.0 GB
    available now. Use fewer rows.
    """
    if available is None:
        if n_bytes <= _NEVER_REFUSED:
            return
        available = available_memory()
    if available is None or n_bytes <= available:
        return
    raise MemoryError(
        f"{what}: about {_size(n_bytes)} of memory, more than the "
        f"{_size(available)} available now. {fix}"
    )
