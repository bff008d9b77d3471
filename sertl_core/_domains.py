"""The ``sample_domain`` and unlabelled-row conventions, and their validation.

Every sertl estimator reads domains and labels through this module, so the
rules live in one place:

* ``sample_domain`` is a 1-D integer array aligned with the rows of ``X``.
  Positive values are source domains (1, 2, ...), negative values target
  domains (-1, -2, ...); 0 is not a domain.
* A row is unlabelled when :func:`is_unlabeled` says so: ``-1`` for numeric
  classification labels (scikit-learn's semi-supervised convention), the
  string ``"-1"`` for string labels (what numpy produces when a string label
  array is concatenated with ``-1``), ``None``/``-1``/``"-1"`` in object
  arrays, and ``NaN`` in float labels. For regression targets only ``NaN``
  marks an unlabelled row: ``-1`` is a target value.
* Classification or regression: a transfer estimator knows from the
  estimator it wraps (a regressor reads only ``NaN`` as unlabelled). An
  adapter does not know the task, so it takes it from the last step of the
  Pipeline that fits it (a regressor or a classifier) and otherwise from the
  labels: float labels whose labelled values are ``"continuous"`` (as
  :func:`sklearn.utils.multiclass.type_of_target` says: not all whole
  numbers) are regression targets, anything else class labels. When ``y``
  holds both ``NaN`` and ``-1``, no ``sample_domain`` was given and the task
  was read from the labels, that reading is a guess and a
  :class:`SertlWarning` says which rows were taken as target rows; an
  explicit ``sample_domain`` removes the ambiguity.
* Without ``sample_domain``, labelled rows are source (domain 1) and
  unlabelled rows are target (domain -1).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse

# defined where the registry (the ``sertl`` command's start) imports them
# without numpy; re-exported here, where they were defined before
from ._warn import _FIRST_PARTY, SertlWarning, external_stacklevel  # noqa: F401

__all__ = [
    "UNLABELED",
    "DomainError",
    "check_known_domains",
    "check_sample_domain",
    "external_stacklevel",
    "NoTargetWarning",
    "SertlWarning",
    "domains_from_names",
    "infer_sample_domain",
    "is_unlabeled",
    "source_mask",
    "target_mask",
]

UNLABELED = -1
"""Marker of an unlabelled row for numeric labels (``"-1"`` for string labels)."""


class UnlabeledRowsWarning(SertlWarning):
    """A Pipeline's last step would learn the unlabelled marker as a class.

    In a plain :class:`~sklearn.pipeline.Pipeline` every step gets the same
    ``y``. An adapter needs the unlabelled target rows, but a plain
    classifier after it (``SVC()``) then fits them too, ``-1`` (or ``"-1"``)
    being one more class, and predicts ``-1`` for many target rows. A
    sertl adapter warns when it is fitted inside a pipeline whose last step
    is such an estimator; wrap that step in
    :class:`~sertl_core.SourceOnly` (or use a transfer estimator), which
    trains on the labelled rows only.

    A transfer estimator inside a scikit-learn meta-estimator that gets ``y``
    first is warned about too: ``CalibratedClassifierCV``,
    ``BaggingClassifier``, ``OneVsRestClassifier``, ``OneVsOneClassifier``,
    ``VotingClassifier`` or ``StackingClassifier`` around
    ``SourceOnly(...)`` take their classes from all the rows (several encode
    or split the labels before the transfer estimator sees them), so put the
    meta-estimator inside instead: ``SourceOnly(CalibratedClassifierCV(SVC()))``.
    The transfer estimator says so itself when such a meta-estimator fits it
    outside a Pipeline (``BaggingClassifier(SourceOnly(SVC())).fit(X, y)``),
    or in a Pipeline without an adapter before it; so does scikit-learn's
    ``cross_val_predict`` with a probability method, which encodes ``y``
    (``-1`` becomes one more class) before the transfer estimator sees it.
    Wrappers that hand ``y`` on unchanged stay quiet: a nested ``Pipeline``,
    ``GridSearchCV`` and the other searches, ``RFE``/``RFECV``, and the
    semi-supervised ``SelfTrainingClassifier``, which reads ``-1`` as
    unlabelled itself.

    See Also
    --------
    SertlWarning : Base class of sertl's warnings.

    Notes
    -----
    The adapter finds the pipeline (the transfer estimator its wrapper) by
    walking up its callers' frames, so it warns only when it is fitted in
    the process that runs the pipeline's (the wrapper's) ``fit``, in the
    same thread. An adapter fitted by a joblib worker, a
    process (``FeatureUnion(..., n_jobs=2)``,
    ``ColumnTransformer(..., n_jobs=2)``) or a thread of the ``"threading"``
    backend, cannot see the pipeline and says nothing: check the last step
    yourself there, or fit once with ``n_jobs=None`` to see the warning.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sertl_core import DomainStandardScaler, SourceOnly, UnlabeledRowsWarning
    >>> X = np.array([[0.0], [1.0], [4.0], [5.0], [9.0], [10.0]])
    >>> y = np.array([0, 1, 0, 1, -1, -1])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = make_pipeline(DomainStandardScaler(), LogisticRegression()).fit(X, y)
    >>> caught[0].category is UnlabeledRowsWarning
    True
    >>> pipe = make_pipeline(DomainStandardScaler(), SourceOnly(LogisticRegression()))
    >>> pipe.fit(X, y).classes_.tolist()  # no warning: -1 is not a class
    [0, 1]
    """


class NoTargetWarning(SertlWarning):
    """Fit saw no target rows (or no source rows), so the rows double as both.

    Emitted by a method that needs target data when ``fit`` gets neither
    ``sample_domain`` nor unlabelled rows (``-1``, ``NaN`` for regression
    targets), as in scikit-learn's own estimator checks or a plain
    ``fit(X, y)`` on source data, and by one that needs source data when
    ``fit`` gets no labelled row (``y`` None or every row unlabelled). The
    method then learns (about) no shift. Pass ``sample_domain``, add the
    unlabelled target rows or label the source rows to adapt for real.
    :class:`~sertl_core.DomainStandardScaler` also emits it at transform
    time when it scales target rows with the statistics of a fit that saw
    no target rows.

    See Also
    --------
    SertlWarning : Base class of sertl's warnings.

    Examples
    --------
    A minimal adapter that needs target rows, fitted without any:

    >>> import warnings
    >>> import numpy as np
    >>> from sertl_core import DomainAdapter, NoTargetWarning
    >>> class MeanShift(DomainAdapter):
    ...     _needs_target = True
    ...     def _fit(self, data):
    ...         src, tgt = data.X[data.source], data.X[data.target]
    ...         self.shift_ = tgt.mean(0) - src.mean(0)
    ...         return self
    ...     def _transform(self, X, sample_domain):
    ...         return X + np.outer(sample_domain > 0, self.shift_)
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     shift = MeanShift().fit(X).shift_
    >>> [w.category.__name__ for w in caught], shift.tolist()
    (['NoTargetWarning'], [0.0, 0.0])
    """


class DomainError(ValueError):
    """Raised when ``sample_domain`` or the labels break the sertl conventions.

    The message says what is wrong and how to fix it: a domain id of 0 or
    a non-integer, lengths that differ from ``X``, a missing source or
    target side, unlabelled source rows, classes seen only in the target,
    or a domain at predict time that fit never saw. It is a
    ``ValueError``, so code that catches scikit-learn's input errors
    catches it too.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import DomainError, DomainStandardScaler
    >>> X = np.zeros((4, 2))
    >>> try:
    ...     DomainStandardScaler().fit(X, sample_domain=[1, 1, 0, -1])
    ... except DomainError as exc:
    ...     print(str(exc).split(",")[0])
    `sample_domain` contains 0
    """


def _is_pandas_missing(value):
    """Whether ``value`` is pandas' missing scalar (``pd.NA``, ``pd.NaT``).

    pandas' nullable dtypes (``"string"``, ``"Int64"`` with NA, labels read
    by ``read_csv(...).convert_dtypes()``) hold ``pd.NA`` where a label is
    missing; ``np.asarray`` keeps it as an object. Recognised by type, so
    that the core does not import pandas.
    """
    kind = type(value)
    return kind.__module__.startswith("pandas") and kind.__name__ in {
        "NAType",
        "NaTType",
    }


def is_unlabeled(y, *, regression=False):
    """Return a boolean mask of the unlabelled entries of ``y``.

    This is the one place that decides what "unlabelled" means in sertl.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, with unlabelled rows marked as described below.
    regression : bool, default=False
        If True, ``y`` holds regression targets and only ``NaN`` marks an
        unlabelled row (``-1`` is a valid target value then).

    Returns
    -------
    mask : ndarray of bool of shape (n_samples,)
        True where the row is unlabelled: ``-1`` or ``NaN`` for numeric
        labels, ``"-1"`` for string labels, ``None``, ``-1``, ``"-1"``,
        ``NaN`` or pandas' ``pd.NA`` / ``pd.NaT`` in object arrays (a pandas
        ``"string"`` or nullable integer column with missing labels).

    Examples
    --------
    >>> from sertl_core import is_unlabeled
    >>> is_unlabeled([0, 2, -1]).tolist()
    [False, False, True]
    >>> is_unlabeled(["anger", "-1"]).tolist()
    [False, True]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.dtype.kind == "f":
        nan = np.isnan(y)
        return nan if regression else (nan | (y == UNLABELED))
    if y.dtype.kind in "iu":
        if regression:
            return np.zeros(y.shape[0], dtype=bool)
        return y == UNLABELED
    if y.dtype.kind == "b":
        return np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind in "US":
        return y.astype(str) == str(UNLABELED)
    out = np.zeros(y.shape[0], dtype=bool)
    for i, v in enumerate(y):
        if v is None or _is_pandas_missing(v):
            out[i] = True
        elif isinstance(v, str):
            out[i] = (not regression) and v == str(UNLABELED)
        elif isinstance(v, numbers.Real):
            out[i] = bool(np.isnan(v)) or ((not regression) and v == UNLABELED)
    return out


def infer_sample_domain(y, *, regression=False):
    """Build ``sample_domain`` from the labels: labelled rows source, the rest target.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, unlabelled rows marked as in :func:`is_unlabeled`.
    regression : bool, default=False
        ``y`` holds regression targets: only NaN marks an unlabelled row.

    Returns
    -------
    sample_domain : ndarray of int of shape (n_samples,)
        ``1`` for labelled rows and ``-1`` for unlabelled rows.

    Examples
    --------
    >>> from sertl_core import infer_sample_domain
    >>> infer_sample_domain([3, 1, -1, -1]).tolist()
    [1, 1, -1, -1]
    """
    return np.where(is_unlabeled(y, regression=regression), -1, 1).astype(np.int64)


def source_mask(sample_domain):
    """Return True for the rows of source domains (positive ids).

    Parameters
    ----------
    sample_domain : array-like of int
        Domain ids.

    Returns
    -------
    mask : ndarray of bool of shape (n_samples,)
        True where ``sample_domain`` is positive.

    Examples
    --------
    >>> from sertl_core import source_mask
    >>> source_mask([1, 2, -1]).tolist()
    [True, True, False]
    """
    return np.asarray(sample_domain) > 0


def target_mask(sample_domain):
    """Return True for the rows of target domains (negative ids).

    Parameters
    ----------
    sample_domain : array-like of int
        Domain ids.

    Returns
    -------
    mask : ndarray of bool of shape (n_samples,)
        True where ``sample_domain`` is negative.

    Examples
    --------
    >>> from sertl_core import target_mask
    >>> target_mask([1, 2, -1]).tolist()
    [False, False, True]
    """
    return np.asarray(sample_domain) < 0


def _missing_name(value):
    """Whether a corpus name is missing (None, a float NaN, ``pd.NA``)."""
    if value is None or _is_pandas_missing(value):
        return True
    return isinstance(value, float) and value != value


def _domain_id(value):
    """Whether ``value`` is a domain id: a non-zero integer (not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return False
    return float(value).is_integer() and value != 0


def domains_from_names(names, targets=None, *, mapping=None):
    """Build ``sample_domain`` from per-row domain (corpus) names.

    Parameters
    ----------
    names : array-like of str of shape (n_samples,)
        The domain of each row, e.g. the corpus name.
    targets : str or sequence of str, default=None
        The names that are target domains; every other name is a source.
        Names are compared as ``str`` writes them, so a single number names
        one target (``targets=2`` for rows named 1, 2, ...).
        Required unless ``mapping`` is given.
    mapping : dict of str to int, default=None
        The name-to-id mapping that an earlier call returned: the rows are
        numbered with it instead, so that tables built apart (the training
        rows and later test rows, a table that lacks one of the corpora)
        give each corpus the same id. Without it the ids follow the order
        in which the names first appear, which differs between such
        tables. A name the mapping lacks is refused. Not together with
        ``targets``, which the mapping already holds.

    Returns
    -------
    sample_domain : ndarray of int of shape (n_samples,)
        Sources numbered 1, 2, ... and targets -1, -2, ... in order of first
        appearance (or as ``mapping`` numbers them).
    mapping : dict
        Name to domain id.

    Raises
    ------
    DomainError
        When a name is missing (None, NaN), a target does not occur in
        ``names``, or ``mapping`` lacks a name or holds an id that is not
        a non-zero integer.

    Examples
    --------
    >>> from sertl_core import domains_from_names
    >>> sd, mapping = domains_from_names(["emodb", "ravdess", "emodb"], "ravdess")
    >>> sd.tolist(), mapping
    ([1, -1, 1], {'emodb': 1, 'ravdess': -1})
    >>> train, mapping = domains_from_names(["emodb", "urdu", "ravdess"], "ravdess")
    >>> domains_from_names(["urdu", "ravdess"], mapping=mapping)[0].tolist()
    [2, -1]
    """
    values = list(np.asarray(names, dtype=object).ravel())
    missing = [i for i, v in enumerate(values) if _missing_name(v)]
    if missing:
        raise DomainError(
            f"`names` has {len(missing)} missing value(s) (None or NaN) at rows "
            f"{missing[:10]}: every row needs the name of its domain (corpus). "
            "Fill them in or drop those rows."
        )
    names = np.asarray([str(v) for v in values], dtype=str)
    present = list(dict.fromkeys(names.tolist()))
    if mapping is not None:
        if targets is not None:
            raise TypeError(
                "domains_from_names takes targets or mapping, not both: the "
                "mapping of an earlier call already says which names are "
                "targets (its negative ids)."
            )
        ids = {str(k): v for k, v in dict(mapping).items()}
        for name, v in ids.items():
            if not _domain_id(v):
                raise DomainError(
                    f"mapping[{name!r}] = {v!r} is not a domain id: ids are "
                    "non-zero integers, positive for a source (1, 2, ...) and "
                    "negative for a target (-1, -2, ...). Pass the mapping an "
                    "earlier domains_from_names call returned, or give "
                    f"{name!r} such an id."
                )
        unknown = [n for n in present if n not in ids]
        if unknown:
            raise DomainError(
                f"Domain name(s) {unknown} are not in `mapping` (its names: "
                f"{list(ids)}). Give each a domain id in the mapping: a new "
                "positive id for a source, a negative one for a target."
            )
        mapping = {k: int(v) for k, v in ids.items()}
        return np.array([mapping[n] for n in names], dtype=np.int64), mapping
    if targets is None:
        raise TypeError(
            "domains_from_names needs targets (the names that are target "
            "domains) or mapping (the mapping an earlier call returned)."
        )
    if isinstance(targets, str) or np.isscalar(targets):
        targets = [targets]  # one name; numbers name rows as str() writes them
    targets = [str(t) for t in targets]
    missing_targets = [t for t in targets if t not in present]
    if missing_targets:
        raise DomainError(
            f"Target domain(s) {missing_targets} do not occur in `names` "
            f"(present: {present}). Check the spelling of `targets`."
        )
    mapping = {}
    n_src = n_tgt = 0
    for name in present:
        if name in targets:
            n_tgt += 1
            mapping[name] = -n_tgt
        else:
            n_src += 1
            mapping[name] = n_src
    sd = np.array([mapping[n] for n in names], dtype=np.int64)
    return sd, mapping


@dataclass(frozen=True)
class DomainData:
    """Validated training data, as a subclass's ``_fit(data)`` receives it.

    :class:`DomainAdapter` and :class:`TransferEstimator` validate ``X``,
    ``y``, ``sample_domain`` and ``sample_weight`` with the sertl
    conventions in their public ``fit``, then call the ``_fit(data)`` that
    a subclass (a plugin's method) writes with one of these. A plugin
    reads it; it builds none. Each parameter is kept as the attribute of
    that name.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_rows, n_features)
        Sparse only for an estimator whose ``_accept_sparse()`` allows it.
    y : ndarray or None
        Labels with unlabelled rows kept (marked) or None.
    sample_domain : ndarray of int
        Domain id of each row: positive for source, negative for target.
    labeled : ndarray of bool
        Rows whose label may be used for training.
    n_input_rows : int
        Rows the caller passed. Smaller than ``X.shape[0]`` (half of it)
        only when fit saw no target rows and appended a copy of the data as
        the target (see :class:`NoTargetWarning`).
    sample_weight : ndarray of float of shape (n_rows,) or None, default=None
        The caller's weights of the rows (the copies of the fallback above
        repeat them), or None when fit got none or all ones. Read them with
        :meth:`weights`.

    See Also
    --------
    DomainAdapter : Its ``_fit(data)`` gets one.
    TransferEstimator : Its ``_fit(data)`` gets one.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import DomainAdapter, DomainData
    >>> class Shift(DomainAdapter):
    ...     '''Move the target rows onto the mean of the labelled source rows.'''
    ...     _transform_uses_domain = False
    ...     def _fit(self, data: DomainData) -> None:
    ...         source = data.X[data.source & data.labeled].mean(axis=0)
    ...         self.shift_ = source - data.X[data.target].mean(axis=0)
    ...     def _transform(self, X, sample_domain):
    ...         return X + self.shift_
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> Shift().fit(X, [0, 1, -1, -1]).transform([[11.0]]).tolist()
    [[1.0]]
    """

    X: np.ndarray
    y: np.ndarray | None
    sample_domain: np.ndarray
    labeled: np.ndarray
    n_input_rows: int
    sample_weight: np.ndarray | None = None

    def weights(self, rows, method_weights=None):
        """Training weights of ``rows``: the caller's times the method's.

        Parameters
        ----------
        rows : ndarray of bool or int
            Mask or indices of the rows that train the wrapped estimator.
        method_weights : ndarray of shape (n_selected,), default=None
            The method's own weights of those rows (e.g. importance weights).

        Returns
        -------
        weights : ndarray of shape (n_selected,) or None
            None when neither the caller nor the method weighs the rows, so
            the estimator is fitted exactly as without weights.
        """
        if self.sample_weight is None:
            return method_weights
        user = self.sample_weight[rows]
        return user if method_weights is None else user * method_weights

    @property
    def source(self):
        """Mask of source rows."""
        return self.sample_domain > 0

    @property
    def target(self):
        """Mask of target rows."""
        return self.sample_domain < 0


def check_sample_domain(sample_domain, n_samples, *, name="sample_domain"):
    """Validate a given ``sample_domain`` array and return it as int64.

    Parameters
    ----------
    sample_domain : array-like of int
        Domain ids, positive for source, negative for target.
    n_samples : int
        Number of rows of ``X`` it must align with.
    name : str, default="sample_domain"
        Name used in error messages.

    Returns
    -------
    sample_domain : ndarray of int64 of shape (n_samples,)
        The domain ids, checked.

    Raises
    ------
    DomainError
        When ``sample_domain`` is not 1-D, does not have ``n_samples``
        entries, is boolean, holds non-integer values, or contains 0.

    Examples
    --------
    >>> from sertl_core import check_sample_domain
    >>> check_sample_domain([1, -1], 2).tolist()
    [1, -1]
    """
    sd = np.asarray(sample_domain)
    if sd.ndim != 1:
        raise DomainError(
            f"`{name}` must be a 1-D array of domain ids, got shape {sd.shape}."
        )
    if sd.shape[0] != n_samples:
        raise DomainError(
            f"`{name}` has {sd.shape[0]} entries but X has {n_samples} rows: "
            "pass one domain id per row."
        )
    if sd.dtype.kind == "b":
        raise DomainError(
            f"`{name}` is boolean (e.g. `sd > 0`), but it holds domain ids: "
            "positive ids (1, 2, ...) for source domains and negative ids "
            "(-1, -2, ...) for target domains. Convert a source mask with "
            "np.where(mask, 1, -1), or build the ids from corpus names with "
            "sertl_core.domains_from_names(names, targets)."
        )
    if sd.dtype.kind == "f":
        if not np.all(np.isfinite(sd)) or not np.all(sd == np.round(sd)):
            raise DomainError(
                f"`{name}` must hold integer domain ids (positive source, "
                "negative target); it has non-integer or non-finite values."
            )
    elif sd.dtype.kind not in "iu":
        raise DomainError(
            f"`{name}` must hold integer domain ids, got dtype {sd.dtype}. "
            "Use `sertl_core.domains_from_names(names, targets)` to build it "
            "from corpus names."
        )
    sd = sd.astype(np.int64)
    if np.any(sd == 0):
        raise DomainError(
            f"`{name}` contains 0, which is not a domain: use positive ids "
            "(1, 2, ...) for source domains and negative ids (-1, -2, ...) for "
            "target domains."
        )
    return sd


def _check_labels(y, n_samples, *, regression):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D (one label per row), got shape {y.shape}. "
            "Multi-output targets are not supported."
        )
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} rows but y has {y.shape[0]} labels: pass one "
            "label per row (-1 or '-1' for unlabelled target rows)."
        )
    if regression and y.dtype.kind not in "fiub":
        raise ValueError(
            f"Unknown label type: regression targets must be numeric, got dtype "
            f"{y.dtype}. Mark unlabelled rows with NaN."
        )
    return y


def _check_sortable_labels(y):
    """Refuse class labels of several types that cannot be ordered together.

    ``np.unique`` (and every scikit-learn classifier) sorts the classes; a
    label array mixing, say, strings and numbers fails there with a bare
    comparison error.
    """
    try:
        np.unique(y)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in y.tolist()})
        raise ValueError(
            f"The class labels mix types ({', '.join(kinds)}), which cannot be "
            "sorted into one list of classes. Give every label the same type, "
            "e.g. y.astype(str)."
        ) from None


def _continuous_labels(y):
    """Whether the labelled values of ``y`` are continuous regression targets.

    True for float labels whose non-NaN values
    :func:`~sklearn.utils.multiclass.type_of_target` calls ``"continuous"``
    (not all whole numbers); False for anything else (integers, strings,
    whole-number floats, no labelled value).
    """
    from sklearn.utils.multiclass import type_of_target

    if y.dtype.kind != "f":
        return False
    values = y[~np.isnan(y)]
    return values.size > 0 and type_of_target(values) == "continuous"


def _warn_guessed_task(y, regression):
    """Warn that the task of ``y`` (NaN and -1 both present) was guessed."""
    n_nan = int(np.isnan(y).sum())
    n_minus = int((y == UNLABELED).sum())
    if regression:
        reading = (
            "its labelled values are continuous, so it was read as regression "
            f"targets: the {n_nan} NaN row(s) are unlabelled target rows and "
            f"the {n_minus} row(s) equal to -1 are labelled source rows (-1 is "
            "a target value)"
        )
    else:
        reading = (
            "its labelled values are whole numbers, so it was read as class "
            f"labels: the {n_nan} NaN row(s) and the {n_minus} row(s) labelled "
            "-1 are all unlabelled target rows (a regression target of -1 "
            "would be read as unlabelled too)"
        )
    warnings.warn(
        "y holds both NaN and -1 and no sample_domain was given, so which rows "
        f"are target rows had to be guessed from y: {reading}. Pass "
        "sample_domain (positive ids for the source rows, negative ids for "
        "the target rows) to remove the ambiguity, or fit the adapter in a "
        "Pipeline whose last step is the regressor or classifier, which "
        "settles the task.",
        SertlWarning,
        stacklevel=external_stacklevel(),
    )


def resolve_domains(
    X,
    y,
    sample_domain,
    *,
    needs_source=True,
    needs_target=True,
    needs_labels=True,
    regression=False,
    allow_target_only_labels=False,
    min_classes=2,
    sample_weight=None,
):
    """Validate labels and domains together and return a :class:`DomainData`.

    ``X`` must already be validated (finite 2-D array). This function applies
    the sertl rules: infer ``sample_domain`` from ``y`` when it is not given;
    source rows must be labelled; labels seen only in target rows are refused
    unless allowed; a classification needs at least ``min_classes`` classes.

    When ``sample_domain`` was not given and the data has no target rows (no
    unlabelled row) or no source rows (``y`` is None), as inside
    scikit-learn's estimator checks or in ``fit(X, y)`` on labelled data
    alone, the rows are used twice, once as source and once as an unlabelled
    target copy, and a :class:`NoTargetWarning` says so: the method then
    learns no shift. With an explicit ``sample_domain`` a missing side is an
    error.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : array-like or None
    sample_domain : array-like of int or None
    needs_source : bool, default=True
        Whether the method needs source rows at fit time.
    needs_target : bool, default=True
        Whether the method needs target rows at fit time.
    needs_labels : bool, default=True
        Whether the method needs labelled (source) rows.
    regression : bool or None, default=False
        Labels are regression targets (only NaN marks unlabelled rows).
        None: the task is unknown (an adapter outside a Pipeline that
        settles it): continuous float labels are regression targets, any
        other labels class labels, with a :class:`SertlWarning` when
        ``sample_domain`` is None and ``y`` holds both NaN and -1 (the
        reading is then a guess).
    allow_target_only_labels : bool, default=False
        Accept classes that occur in labelled target rows only.
    min_classes : int, default=2
        Minimum number of distinct labelled classes (classification only).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        The caller's validated weights of the rows, stored as
        ``data.sample_weight`` (repeated for the target copy of the rows).

    Returns
    -------
    data : DomainData

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core._domains import resolve_domains
    >>> X = np.zeros((4, 2))
    >>> data = resolve_domains(X, [0, 1, -1, -1], None)
    >>> data.sample_domain.tolist(), data.labeled.tolist()
    ([1, 1, -1, -1], [True, True, False, False])
    """
    n = X.shape[0]
    given = sample_domain is not None
    needs_source = needs_source or needs_labels
    if needs_labels and y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None: "
            "call fit(X, y) with labelled source rows (and sample_domain=... "
            "when the target has labelled rows)."
        )
    if y is not None:
        y = _check_labels(y, n, regression=bool(regression))
        if regression is None:
            regression = _continuous_labels(y)
            guessed = y.dtype.kind == "f" and not given
            if guessed and (y == UNLABELED).any() and np.isnan(y).any():
                _warn_guessed_task(y, regression)
        unl = is_unlabeled(y, regression=regression)
    else:
        unl = np.ones(n, dtype=bool)
    if given:
        sd = check_sample_domain(sample_domain, n)
    elif y is None:
        sd = np.full(n, -1, dtype=np.int64)
    else:  # labelled rows source, unlabelled rows target
        sd = infer_sample_domain(y, regression=regression)

    src = sd > 0
    if needs_labels:
        if not src.any():
            raise DomainError(
                "No source rows: every row is in a target domain (negative "
                "sample_domain) or unlabelled. Give the labelled training "
                "corpora positive domain ids (1, 2, ...) and labels."
            )
        bad = src & unl
        if bad.any():
            marker = "NaN" if regression else "-1, '-1' or NaN"
            hint = ""
            if not regression and y is not None and _continuous_labels(y):
                hint = (
                    " The other labels are continuous values: if they are "
                    "regression targets (arousal, valence), the estimator must "
                    "be a regressor (e.g. SourceOnly(Ridge())), for which only "
                    "NaN marks an unlabelled row and -1.0 is a value; a "
                    "classifier reads -1 as the unlabelled marker."
                )
            raise DomainError(
                f"{int(bad.sum())} source row(s) are unlabelled (label {marker}). "
                "Source rows must be labelled: label them, drop them, or give "
                f"them a negative (target) domain id.{hint}"
            )
    missing_src = needs_source and not src.any()
    missing_tgt = needs_target and not (sd < 0).any()
    if given and missing_src:
        raise DomainError(
            "No source rows: sample_domain has no positive ids, but this method "
            "compares source and target domains. Give the source rows positive "
            "domain ids (1, 2, ...)."
        )
    if given and missing_tgt:
        raise DomainError(
            "No target rows: sample_domain has no negative ids, but this "
            "method adapts to a target domain. Include the (unlabelled) "
            "target rows with negative domain ids, e.g. -1."
        )
    if missing_src or missing_tgt:
        warnings.warn(
            _no_side_message(missing_src, y is None, bool(regression)),
            NoTargetWarning,
            stacklevel=external_stacklevel(),
        )
        X = _stack_rows(X)
        sd = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
        if y is not None:
            y = np.concatenate([y, y])
        if sample_weight is not None:
            sample_weight = np.concatenate([sample_weight, sample_weight])
        unl = np.concatenate([unl, np.ones(n, dtype=bool)])

    labeled = ~unl
    if y is not None and not regression and needs_labels:
        _check_sortable_labels(y[labeled])
        src_classes = np.unique(y[(sd > 0) & labeled])
        tgt_classes = np.unique(y[(sd < 0) & labeled])
        extra = np.setdiff1d(tgt_classes, src_classes)
        if extra.size and not allow_target_only_labels:
            raise DomainError(
                f"Labelled target rows carry class(es) {extra.tolist()} that no "
                "source row has. This method predicts source classes only: "
                "drop those rows, relabel them, or use a label-space transfer "
                "method (e.g. sertl-relational's LabelRelationTransfer)."
            )
        n_classes = np.unique(y[labeled]).size
        if n_classes < min_classes:
            marker = (
                f" The {int(unl[:n].sum())} row(s) marked unlabelled (-1, '-1' "
                "or None) are target rows, not a class (sertl's convention, "
                "as in scikit-learn's semi-supervised estimators); if -1 is a "
                "real class in your data, map it to another label."
                if unl[:n].any()
                else ""
            )
            raise ValueError(
                f"Only {n_classes} class(es) among the labelled rows "
                f"({np.unique(y[labeled]).tolist()}); a classifier needs at "
                f"least {min_classes}. Check the labels or the domain "
                f"assignment.{marker}"
            )
    return DomainData(
        X=X,
        y=y,
        sample_domain=sd,
        labeled=labeled,
        n_input_rows=n,
        sample_weight=sample_weight,
    )


def _no_side_message(missing_source, no_labels, regression):
    """Return the :class:`NoTargetWarning` message of the self-target fallback."""
    if missing_source:
        why = "y is None" if no_labels else "every row is unlabelled"
        return (
            f"fit saw no source rows (no sample_domain, and {why}), so the "
            "rows are used as both source and target and no shift is learned. "
            "Source rows are the labelled rows: pass y with the labels of the "
            "source rows, or pass sample_domain with positive ids (1, 2, ...) "
            "for the source rows and negative ids for the target rows."
        )
    marker = "NaN" if regression else "the label -1 ('-1' for string labels)"
    return (
        "fit saw no target rows (no sample_domain, and no unlabelled rows), "
        "so the rows are used as both source and target and no shift is "
        f"learned. Mark the target rows with {marker} or pass sample_domain "
        "with positive source and negative target ids."
    )


def _stack_rows(X):
    """``X`` on top of itself, dense or scipy sparse (in its own format)."""
    if sparse.issparse(X):
        return sparse.vstack([X, X], format=X.format)
    return np.concatenate([X, X], axis=0)


def check_known_domains(sample_domain, known, *, fallback_target=False):
    """Raise a clear error for domain ids not seen during fit.

    Parameters
    ----------
    sample_domain : ndarray of int
        Domain ids at transform/predict time.
    known : array-like of int
        Domain ids seen at fit time.
    fallback_target : bool, default=False
        If True, unseen *target* ids are allowed (the caller handles them).

    Returns
    -------
    unknown : ndarray of int
        The unseen ids that were allowed (empty unless ``fallback_target``).

    Examples
    --------
    >>> from sertl_core import check_known_domains
    >>> check_known_domains([1, -1], [1, -1]).tolist()
    []
    """
    ids = np.unique(np.asarray(sample_domain))
    unknown = np.setdiff1d(ids, np.asarray(known))
    if fallback_target:
        bad = unknown[unknown > 0]
    else:
        bad = unknown
    if bad.size:
        known = np.asarray(known)
        # Rows without sample_domain are target data for every adapter (the
        # fitted target domain, or the fitted target domains pooled), so
        # omitting it is a way out whichever target ids were fitted.
        targets = known[known < 0].tolist()
        advice = (
            f"e.g. the fitted target ids {targets}, " if targets else ""
        ) + "or omit sample_domain to treat every row as target data"
        raise DomainError(
            f"sample_domain holds domain id(s) {bad.tolist()} that were not seen "
            f"in fit (seen: {known.tolist()}). Use the ids given at fit time, "
            f"{advice}."
        )
    return unknown


def as_target_domain(sample_domain, n_samples):
    """Return ``sample_domain`` validated, or all ``-1`` (target) when None.

    For the ``transform`` or ``predict`` of a method: rows given without
    ``sample_domain`` are target rows (deployment on new speech).

    Parameters
    ----------
    sample_domain : array-like of int or None
        The rows' domain ids as the caller gave them.
    n_samples : int
        Rows of ``X``.

    Returns
    -------
    sample_domain : ndarray of int64
        Checked by :func:`check_sample_domain`, or ``n_samples`` times -1.

    Examples
    --------
    >>> from sertl_core import as_target_domain
    >>> as_target_domain(None, 2).tolist()
    [-1, -1]
    """
    if sample_domain is None:
        return np.full(n_samples, -1, dtype=np.int64)
    return check_sample_domain(sample_domain, n_samples)
