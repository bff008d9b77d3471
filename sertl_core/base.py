"""Base classes: :class:`DomainAdapter` and :class:`TransferEstimator`.

Both follow the template-method pattern: the public ``fit``/``transform``/
``predict`` validate the data and the domains once, with the same errors for
every method, then call the private ``_fit``/``_transform`` that a subclass
writes. A subclass never re-validates and never sees an unlabelled row as a
class.
"""

from __future__ import annotations

import copy
import functools
import sys
import warnings
from typing import ClassVar

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    TransformerMixin,
    clone,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline
from sklearn.utils import (
    ClassifierTags,
    RegressorTags,
    Tags,
    TargetTags,
    TransformerTags,
    check_random_state,
    get_tags,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._domains import (
    UNLABELED,
    DomainData,
    DomainError,
    SertlWarning,
    UnlabeledRowsWarning,
    _check_labels,
    _continuous_labels,
    as_target_domain,
    check_sample_domain,
    external_stacklevel,
    is_unlabeled,
    resolve_domains,
)
from .params import ParamValidationMixin
from .utils import sample_weight_keyword, weights_through_sampler

__all__ = ["DomainAdapter", "SampleWeightMixin", "TransferEstimator"]


class _InputPolicy:
    """What the shared input validation of sertl estimators lets through."""

    # the method that reads sample_domain after fit and what it does to rows
    # given without it, for the FrozenEstimator warning
    _frozen_request: ClassVar[tuple[str, str]] = (
        "transform",
        "mapped every row as target data (source rows included)",
    )

    def _warn_if_frozen_missed_domains(self):
        """Warn when a Pipeline's ``sample_domain`` stopped at a FrozenEstimator.

        See :func:`_warn_if_frozen_missed_metadata`; called wherever a fitted
        estimator reads rows given without ``sample_domain``.
        """
        request, effect = self._frozen_request
        _warn_if_frozen_missed_metadata(self, request=request, effect=effect)

    def _ensure_all_finite(self):
        """``ensure_all_finite`` of ``validate_data`` for ``X``.

        ``True`` (the default) rejects NaN and infinity. A subclass that
        gives NaN a meaning returns ``"allow-nan"`` and checks where NaN may
        appear itself (sertl-neural's convolutional networks read all-NaN
        frames of a log-mel sequence as padding, say).
        """
        return True

    def _accept_sparse(self):
        """``accept_sparse`` of ``validate_data`` for ``X``.

        ``False`` (the default) refuses scipy sparse input with
        scikit-learn's error. A subclass whose ``_fit``/``_transform`` (or
        ``_predict_input``) handle sparse rows returns the formats it takes,
        e.g. ``("csr", "csc")`` (row masks index both; other formats are
        converted to the first), and the ``input_tags.sparse`` tag follows.
        The self-target fallback of ``fit`` (:class:`NoTargetWarning`) stacks
        sparse rows with :func:`scipy.sparse.vstack`.
        """
        return False

    def _validate_X(self, X, *, reset):
        """``validate_data`` for ``X`` under this input policy.

        ``fit`` and the methods that use the fitted model read ``X`` through
        here, so they accept (and refuse) the same input: float64 or float32
        (other dtypes become float64), the sparse formats of
        :meth:`_accept_sparse`, the finiteness of :meth:`_ensure_all_finite`.
        """
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            accept_sparse=self._accept_sparse(),
            ensure_all_finite=self._ensure_all_finite(),
        )

    def _validate_fitted_X(self, X, sample_domain, keep_none=False):
        """Check the fit, validate ``X`` against it and resolve the rows' domains.

        Returns ``X`` and ``sample_domain`` as int64, all ``-1`` (target)
        when ``sample_domain`` is None; with ``keep_none`` an omitted
        ``sample_domain`` stays None, for a model that passes it on to
        others, which read None as "target rows" (e.g. the pooled target
        statistics of DomainStandardScaler) and ``-1`` as domain -1 itself.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if sample_domain is None:
            self._warn_if_frozen_missed_domains()
        if keep_none and sample_domain is None:
            return X, None
        return X, as_target_domain(sample_domain, X.shape[0])

    def _set_input_tags(self, tags):
        """Declare the input this policy lets through in ``tags``."""
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = bool(self._accept_sparse())
        return tags


def _tags_of(est):
    """Return scikit-learn's tags of ``est``, defaults for an estimator without any.

    :func:`sklearn.utils.get_tags` raises ``AttributeError`` (scikit-learn
    1.8 and later) for an estimator without ``__sklearn_tags__``: an
    old-style one that implements ``fit``, ``predict``, ``get_params`` and
    ``set_params`` without inheriting ``sklearn.base.BaseEstimator``, or
    one whose mixins all call ``super().__sklearn_tags__()``. Such an
    estimator gets the tags scikit-learn 1.6 and 1.7 gave it: the
    defaults, with the task of its legacy ``_estimator_type`` attribute
    (``"classifier"``, ``"regressor"``, ...) where it has one, else that of
    scikit-learn's ``ClassifierMixin`` or ``RegressorMixin`` among its
    bases, else none.

    Parameters
    ----------
    est : estimator instance
        The estimator, typically the one a meta-estimator wraps.

    Returns
    -------
    tags : sklearn.utils.Tags
        Its tags.
    """
    if hasattr(est, "__sklearn_tags__"):
        try:
            return get_tags(est)
        except AttributeError as exc:
            # the mixins-only case: every __sklearn_tags__ calls super()'s
            if "__sklearn_tags__" not in str(exc):
                raise
    kind = getattr(est, "_estimator_type", None)
    if not isinstance(kind, str):
        # scikit-learn's mixins name the task by their class alone since
        # _estimator_type left them (1.8)
        mixins = {"classifier": ClassifierMixin, "regressor": RegressorMixin}
        kind = next((k for k, m in mixins.items() if isinstance(est, m)), None)
    return Tags(
        estimator_type=kind,
        target_tags=TargetTags(required=kind in ("classifier", "regressor")),
        transformer_tags=TransformerTags() if kind == "transformer" else None,
        classifier_tags=ClassifierTags() if kind == "classifier" else None,
        regressor_tags=RegressorTags() if kind == "regressor" else None,
    )


def _is_regressor(est):
    """:func:`sklearn.base.is_regressor` that accepts an estimator without tags."""
    return _tags_of(est).estimator_type == "regressor"


def _estimator_type(est):
    """Return the ``estimator_type`` tag of ``est``, or None.

    None for a Pipeline's ``None`` or string step and for an object without
    a task in its tags (a duck-typed estimator without the legacy
    ``_estimator_type``, see :func:`_tags_of`), whose task is then read from
    elsewhere (its labels, its methods).
    """
    if est is None or isinstance(est, str):
        return None
    try:
        return _tags_of(est).estimator_type
    except (AttributeError, TypeError):
        return None


def _may_learn_classes(est):
    """Return whether fitting ``est`` (a pipeline step) may learn classes from ``y``.

    A classifier by its tags, or an estimator that predicts and is not known
    to fit no classes. The tags count because ``predict`` may be hidden until
    fit: an unfitted ``StackingClassifier`` without ``final_estimator`` has
    none. A clusterer, an outlier detector or a density estimator ignores
    ``y``, and for a regressor ``-1`` is a target value (its unlabelled
    marker is ``NaN``, which it refuses by itself); an estimator without
    tags may be a classifier.
    """
    if est is None or isinstance(est, str):
        return False
    kind = _estimator_type(est)
    if kind is not None:
        return kind == "classifier"
    return hasattr(est, "predict") or hasattr(est, "fit_predict")


@functools.cache
def _passes_y_through():
    """Return the meta-estimator classes that fit their inner estimator on raw ``y``.

    Such a wrapper neither encodes nor splits the classes: a transfer
    estimator inside it still sees the unlabelled marker and keeps those rows
    out of its classes. Pipelines, scikit-learn's searches (the common base
    of ``GridSearchCV`` and ``RandomizedSearchCV``: the halving searches and
    third-party searches built on it as well) and feature selectors (``RFE``,
    ``RFECV``), which select columns of ``X`` only.
    """
    from sklearn.feature_selection import SelectorMixin
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    search = next(c for c in GridSearchCV.__mro__ if issubclass(RandomizedSearchCV, c))
    return Pipeline, search, SelectorMixin


def _inner_estimator(est):
    """Return the estimator a pass-through wrapper fits (last step, ``estimator``)."""
    if isinstance(est, Pipeline):
        return est.steps[-1][1] if est.steps else None
    return getattr(est, "estimator", None)


def _learner_of_unlabelled(est):
    """Return the estimator that would learn the unlabelled marker when fitting ``est``.

    Returned with the transfer estimators among its parameters
    (:func:`_transfer_estimators_in`), as ``(learner, transfers)``, or
    ``None`` when no estimator does: ``est`` is a transfer estimator, a
    semi-supervised estimator (scikit-learn's read ``-1`` as "unlabelled"
    too), a frozen estimator (its ``fit`` learns nothing), learns no classes
    (a regressor, a clusterer, a transformer), or passes ``y`` unchanged to
    one of these (:func:`_passes_y_through`). Any other classifier is the
    answer, a scikit-learn meta-estimator around a transfer estimator
    included (``CalibratedClassifierCV(SourceOnly(SVC()))``): it gets ``y``
    first and encodes, splits or counts the classes before the transfer
    estimator sees them. A third-party wrapper around a transfer estimator
    is trusted to hand ``y`` on unchanged.
    """
    from sklearn.frozen import FrozenEstimator

    for _ in range(100):  # bounded: wrappers nest a few levels at most
        if (
            not _may_learn_classes(est)
            or isinstance(est, (TransferEstimator, FrozenEstimator))
            or type(est).__module__.startswith("sklearn.semi_supervised")
        ):
            return None
        if not isinstance(est, _passes_y_through()):
            # scikit-learn's own meta-estimators are known to encode, split
            # or count the classes first; a third-party wrapper around a
            # transfer estimator may well hand y on unchanged, so it gets
            # the benefit of the doubt rather than a false alarm
            transfers = _transfer_estimators_in(est)
            if transfers and not type(est).__module__.startswith("sklearn."):
                return None
            return est, transfers
        est = _inner_estimator(est)
    return None


def _transfer_estimators_in(est):
    """Return the transfer estimators among the (nested) parameters of ``est``."""
    try:
        params = est.get_params(deep=True)
    except (AttributeError, TypeError):
        return []
    found = {id(v): v for v in params.values() if isinstance(v, TransferEstimator)}
    return list(found.values())


def _one_line(est):
    """Return ``repr(est)`` on one line (scikit-learn wraps long reprs)."""
    return " ".join(repr(est).split())


def _wrapper_moved_inside(wrapper, transfer):
    """Return the repr of ``transfer`` around ``wrapper``, the fix for the reverse.

    ``CalibratedClassifierCV(SourceOnly(SVC()))`` gives
    ``SourceOnly(CalibratedClassifierCV(SVC()))``; for ``VotingClassifier``,
    the members that are ``transfer`` become its inner estimator. Returns a
    string with class names only (``"SourceOnly(CalibratedClassifierCV(...))"``)
    when the transfer estimator sits deeper than the wrapper's own
    parameters.
    """
    outline = f"{type(transfer).__name__}({type(wrapper).__name__}(...))"
    try:
        inner = transfer.get_params(deep=False)["estimator"]
        if inner is None:
            inner = transfer._get_estimator()
        moved = {}
        for key, value in wrapper.get_params(deep=False).items():
            if value is transfer:
                moved[key] = clone(inner)
            elif isinstance(value, list) and any(
                isinstance(m, tuple) and len(m) == 2 and m[1] is transfer for m in value
            ):
                moved[key] = [
                    (m[0], clone(inner)) if m[1] is transfer else m for m in value
                ]
        if not moved:
            return outline
        moved_wrapper = clone(wrapper).set_params(**moved)
        return _one_line(clone(transfer).set_params(estimator=moved_wrapper))
    except (AttributeError, KeyError, RuntimeError, TypeError, ValueError):
        return outline  # a wrapper clone or set_params refuse: names only


def _unlabelled_rows_message(name, last, learner, transfers, n_unlabelled):
    """Return the :class:`UnlabeledRowsWarning` message for step ``(name, last)``.

    ``learner`` and ``transfers`` are what :func:`_learner_of_unlabelled`
    found.
    """
    if not transfers:
        return (
            f"The last step of this Pipeline, {name!r} ({_one_line(last)}), is "
            f"fitted on the {n_unlabelled} unlabelled rows as well, with "
            "the unlabelled marker (-1) as one more class, so it will "
            "predict that marker for target rows. Wrap it so that it "
            f"trains on the labelled rows only: ({name!r}, "
            f"SourceOnly({_one_line(last)})) with sertl_core.SourceOnly, or use "
            "a transfer estimator (e.g. KMM) as the last step."
        )
    wrapper = type(learner).__name__
    transfer = type(transfers[0]).__name__
    fix = (
        _wrapper_moved_inside(learner, transfers[0])
        if len(transfers) == 1
        else f"{transfer}({wrapper}(...))"
    )
    return (
        f"The last step of this Pipeline, {name!r} ({_one_line(last)}), wraps "
        f"the transfer estimator {transfer} in {wrapper}, which gets y before "
        f"the transfer estimator does: {wrapper} takes its classes from all the "
        f"rows, the unlabelled marker (-1) of the {n_unlabelled} unlabelled "
        "rows included, and may encode or split the labels so that the "
        "transfer estimator cannot tell those rows apart; it will then "
        f"predict that marker for target rows. Put {wrapper} inside the "
        f"transfer estimator instead: {fix}."
    )


def _enclosing_pipelines(methods, frame):
    """Yield the Pipelines whose ``methods`` run above ``frame``, nearest first.

    The one way sertl finds the Pipeline that called it: walk up the caller
    frames to those of a :class:`~sklearn.pipeline.Pipeline` method named in
    ``methods`` (``"_fit"``, which fits the steps before the last;
    ``"predict"`` ...). Yields ``(pipeline, method, frame)``, the frame of
    that method call. Only frames of the running thread are seen: a step
    run by a joblib worker finds nothing (see :class:`UnlabeledRowsWarning`).
    """
    for _ in range(100):  # bounded: a pipeline is at most a few frames up
        if frame is None:
            return
        if frame.f_code.co_name in methods:
            owner = frame.f_locals.get("self")
            if isinstance(owner, Pipeline) and owner.steps:
                yield owner, frame.f_code.co_name, frame
        frame = frame.f_back


def _warn_if_pipeline_learns_unlabelled(n_unlabelled):
    """Warn when an enclosing Pipeline's last step would fit the unlabelled rows.

    An adapter is fitted by ``Pipeline._fit`` (the steps before the last);
    the same ``y`` then reaches the last step. Walk up the caller frames to
    the nearest pipeline that fits this adapter as an intermediate step and
    ends in a classifier, or in a plain regressor (which would get the NaN
    of the unlabelled rows); a transformer or clusterer at its end learns
    nothing from ``y`` (and may be a step of an outer pipeline), so the walk
    goes on. Nothing is found (and nothing said) outside a pipeline.
    """
    for owner, _, _ in _enclosing_pipelines(("_fit",), sys._getframe(2)):
        name, last = owner.steps[-1]
        if _plain_regressor(last):
            warnings.warn(
                f"The last step of this Pipeline, {name!r} ({_one_line(last)}), "
                f"is a regressor fitted on every row, the {n_unlabelled} "
                "unlabelled (NaN) target rows included: it will refuse them "
                "(scikit-learn's 'Input y contains NaN') or learn from them. "
                f"Wrap it so that it trains on the labelled rows only: "
                f"({name!r}, SourceOnly({_one_line(last)})) with "
                "sertl_core.SourceOnly, or use a transfer estimator (e.g. KMM) "
                "as the last step.",
                UnlabeledRowsWarning,
                stacklevel=external_stacklevel(),
            )
            return
        if _may_learn_classes(last):
            found = _learner_of_unlabelled(last)
            if found is not None:
                warnings.warn(
                    _unlabelled_rows_message(name, last, *found, n_unlabelled),
                    UnlabeledRowsWarning,
                    stacklevel=external_stacklevel(),
                )
            return


def _frame_labels_unlabelled(frame):
    """Return how many rows of the ``y`` a fit frame got hold the unlabelled marker.

    ``frame`` is a meta-estimator's ``fit`` (its ``y``) or scikit-learn's
    ``cross_val_predict``, which encodes ``y`` in place for probabilities and
    keeps the original labels in its label encoder (``le.classes_``, counted
    as 1 when the marker is among them; 0 without an encoder, as for
    ``method="predict"``). 0 for anything unreadable.
    """
    local = frame.f_locals
    y = local.get("y")
    if frame.f_code.co_name == "cross_val_predict":  # no encoder: y unchanged
        y = getattr(local.get("le"), "classes_", [])
    try:
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iufOUS":  # -1.0 counts too
            return 0
        return int(np.count_nonzero(is_unlabeled(y)))
    except (TypeError, ValueError):
        return 0


def _check_not_permuted_across_domains(estimator, regression=None):
    """Refuse a fit on labels that ``permutation_test_score`` shuffled across domains.

    Without ``groups``, scikit-learn's ``permutation_test_score`` permutes
    ``y`` over all the rows (with metadata routing on it cannot take
    ``groups`` at all): the unlabelled marker of the target rows moves onto
    source rows and labels onto target rows, so every permuted fit mixes
    the domains (or, with ``sample_domain``, fails on unlabelled source
    rows). Found by walking up the caller frames (same thread only: in a
    joblib worker the permuted fits go unchecked) to scikit-learn's
    ``_permutation_test_score``; its ``y`` is compared with the one the
    user passed, one frame further up.

    ``regression`` is the caller's task (None: read from the labels, where
    continuous values are regression targets): only ``NaN`` marks an
    unlabelled regression target, so a valence of exactly -1.0 (a clipped
    rating) that the permutation moves is a value moving, not the marker.
    """
    frame, found = sys._getframe(2), {}
    # bounded: a few pipelines, wrappers and joblib's frames at most
    for _ in range(200):
        if frame is None:
            break
        name = frame.f_code.co_name
        if name in ("_permutation_test_score", "permutation_test_score"):
            if frame.f_globals.get("__name__", "").startswith("sklearn."):
                found.setdefault(name, frame)
        if len(found) == 2:
            break
        frame = frame.f_back
    if len(found) < 2:
        return
    frame, outer = found["_permutation_test_score"], found["permutation_test_score"]
    if outer.f_locals.get("groups") is not None:
        return  # permuted within the user's groups (e.g. groups=sample_domain)
    try:
        given_y = np.asarray(outer.f_locals.get("y"))
        if regression is None:
            regression = given_y.ndim == 1 and _continuous_labels(given_y)
        permuted = is_unlabeled(
            np.asarray(frame.f_locals.get("y")), regression=regression
        )
        given = is_unlabeled(given_y, regression=regression)
    except (TypeError, ValueError):
        return
    if permuted.shape != given.shape or np.array_equal(permuted, given):
        return  # the unpermuted score, or labels without the marker
    routing = get_config()["enable_metadata_routing"]
    raise DomainError(
        f"permutation_test_score shuffled y over all the rows before "
        f"{type(estimator).__name__} saw it, so the unlabelled marker "
        f"({'NaN' if regression else '-1'}) of "
        f"{int(given.sum())} target row(s) moved onto rows that were "
        "labelled: each permuted fit would mix source and target rows. "
        "Permute within the domains instead: pass groups=sample_domain "
        "(with metadata routing off; the domains also as fit parameters of "
        "the steps that take them, e.g. params={'adapt__sample_domain': sd})."
        + (
            " With metadata routing on, scikit-learn's permutation_test_score "
            "takes no groups and always permutes over all the rows: turn "
            "routing off for it (sklearn.config_context("
            "enable_metadata_routing=False))."
            if routing
            else ""
        )
    )


def _warn_if_wrapper_learns_unlabelled(transfer, sample_domain=None):
    """Warn when a scikit-learn meta-estimator fits ``transfer`` on encoded labels.

    A transfer estimator fitted directly by ``BaggingClassifier``,
    ``CalibratedClassifierCV``, ``StackingClassifier``, ... (not as the last
    step of a Pipeline, which an adapter before it warns about, see
    :func:`_warn_if_pipeline_learns_unlabelled`): the wrapper took its
    classes from every row, the unlabelled marker included, and may have
    encoded or split the labels so that ``transfer`` cannot tell those rows
    apart; without ``sample_domain`` it then learns them as a class, and
    the wrapper predicts the marker. ``cross_val_predict`` with a
    probability method encodes the labels the same way. Walks up the
    caller frames (same thread only) to the nearest ``fit`` of an estimator:
    a transfer estimator or a wrapper that hands ``y`` on unchanged
    (:func:`_learner_of_unlabelled`) is no culprit.

    ``cross_val_predict`` with target rows given by ``sample_domain`` is an
    error instead: the encoded marker is a class label on those rows, which
    sertl would otherwise refuse as labelled target rows of a class no source
    row has (or, for a method that takes target-only classes, learn from).
    """
    frame = sys._getframe(2)
    culprit, transfers, culprit_frame = None, [], None
    for _ in range(200):  # bounded: a few wrappers and joblib's frames at most
        if frame is None:
            break
        name = frame.f_code.co_name
        if name == "cross_val_predict" and frame.f_globals.get(
            "__name__", ""
        ).startswith("sklearn."):
            # it encodes y before any wrapper below it sees it: the culprit
            # when its encoder took the marker, whatever was found below
            if _frame_labels_unlabelled(frame):
                culprit, culprit_frame = "cross_val_predict", frame
            break
        owner = frame.f_locals.get("self") if name == "fit" else None
        if owner is not None and owner is not transfer:
            if culprit is None and isinstance(owner, TransferEstimator):
                return  # it hands on only what it chose: no wrapper's doing
            if (
                culprit is None
                and isinstance(owner, BaseEstimator)
                and not isinstance(owner, Pipeline)
            ):
                # a search or a selector hands y on unchanged: a wrapper
                # above it may still encode it, so the walk goes on
                found = _learner_of_unlabelled(owner)
                if found is not None and found[0] is owner and found[1]:
                    culprit, transfers = found
            if owner is culprit:
                # the wrapper's outermost fit frame holds the caller's y (an
                # inner one, as StackingClassifier's, may hold it encoded)
                culprit_frame = frame
            elif culprit is not None and isinstance(owner, Pipeline):
                if any(_uses_any_adapter(step) for _, step in owner.steps[:-1]):
                    return  # the adapter fitted before the wrapper warned already
        frame = frame.f_back
    if culprit is None:
        return
    n_unlabelled = _frame_labels_unlabelled(culprit_frame)
    if not n_unlabelled:
        return
    transfer_name = type(transfer).__name__
    if culprit == "cross_val_predict":
        sd = np.asarray(sample_domain if sample_domain is not None else [])
        # an invalid sample_domain is left to the validation that follows
        n_target = int(np.count_nonzero(sd < 0)) if sd.dtype.kind in "iuf" else 0
        if n_target:
            raise DomainError(
                f"cross_val_predict with a probability method label-encodes y "
                f"before {transfer_name} sees it: the unlabelled marker (-1) "
                "became one more class, so the "
                f"{n_target} target row(s) (sample_domain < 0) of this training "
                "fold arrive as labelled rows of a class no source row has. "
                "scikit-learn encodes y for every probability method and "
                "sertl cannot undo it (it also predicts the held-out rows "
                "without their sample_domain). Use method='predict', or "
                "cross_validate(..., return_estimator=True, "
                "return_indices=True) and call each fold's "
                "estimator.predict_proba(X[test], sample_domain=sd[test])."
            )
        warnings.warn(
            f"cross_val_predict with a probability method encodes y before "
            f"{transfer_name} sees it: the unlabelled marker (-1) becomes one "
            "more class, so the unlabelled rows are learnt as a class and get "
            "a column of their own. Use method='predict', or cross_validate "
            "with a scorer of sertl_core.model_selection.",
            UnlabeledRowsWarning,
            stacklevel=external_stacklevel(),
        )
        return
    wrapper = type(culprit).__name__
    # the wrapper fits a clone: name the fix with the user's own parameter
    fix = (
        _wrapper_moved_inside(culprit, transfers[0])
        if len(transfers) == 1
        else f"{transfer_name}({wrapper}(...))"
    )
    warnings.warn(
        f"{wrapper} fits the transfer estimator {transfer_name} on y after "
        f"taking its classes from all the rows, the unlabelled marker (-1) of "
        f"the {n_unlabelled} unlabelled rows included, and may encode or "
        f"split the labels so that {transfer_name} cannot tell those rows "
        f"apart; it will then predict that marker for target rows. Put "
        f"{wrapper} inside the transfer estimator instead: "
        f"{fix}.",
        UnlabeledRowsWarning,
        stacklevel=external_stacklevel(),
    )


def _uses_any_adapter(step):
    """Whether a Pipeline step is, or nests, a :class:`DomainAdapter`."""
    if isinstance(step, DomainAdapter):
        return True
    try:
        params = step.get_params(deep=True).values()
    except (AttributeError, TypeError):
        return False
    return any(isinstance(v, DomainAdapter) for v in params)


def _plain_regressor(est):
    """Whether ``est`` is a regressor that is not, nor wraps, a transfer estimator."""
    if isinstance(est, TransferEstimator) or _estimator_type(est) != "regressor":
        return False
    return not _transfer_estimators_in(est)


def _pipeline_task():
    """Return the task of the Pipeline that fits the calling adapter.

    True when the last step of the nearest enclosing pipeline that ends in
    a regressor or a classifier is a regressor (``-1`` is then a target
    value, ``NaN`` the unlabelled marker), False for a classifier, None
    outside such a pipeline: the adapter then reads the task from ``y``
    (see :func:`sertl_core._domains.resolve_domains`). A pipeline that ends
    in a transformer may be a step of an outer one, so the walk goes on.
    A last step that learns from class labels only but wraps a regressor
    (``TransferVote(Ridge())``, whose tags say classifier) raises its own
    refusal here, before the adapter reads regression targets as classes.
    """
    for owner, _, _ in _enclosing_pipelines(("_fit",), sys._getframe(1)):
        last = owner.steps[-1][1]
        kind = _estimator_type(last)
        if kind in ("regressor", "classifier"):
            if isinstance(last, TransferEstimator):
                last._check_estimator_task()
            return kind == "regressor"
    return None


_PREDICTING = ("predict", "predict_proba", "predict_log_proba", "decision_function")

# what a transfer estimator's prediction runs through: a subclass that
# overrides one of these is not covered by an inherited _predict_uses_domain
_PREDICTION_PATH = (*_PREDICTING, "_prepare", "_predict_input")


def _uses_domain(step):
    """Whether a Pipeline step (or an adapter nested in it) maps rows by domain.

    True for a :class:`DomainAdapter` whose ``transform`` uses
    ``sample_domain`` (or that does not declare it), found as the step
    itself or among its nested parameters (a nested Pipeline,
    ``ColumnTransformer``, ``FeatureUnion``).
    """
    if step is None or isinstance(step, str):
        return False
    found = [step]
    try:
        found.extend(step.get_params(deep=True).values())
    except (AttributeError, TypeError):
        pass
    return any(
        isinstance(est, DomainAdapter) and est._uses_domain_in_transform() is not False
        for est in found
    )


def _pipeline_call_with_domains(methods, frame):
    """Return ``(pipeline, method)`` of a routing-off call that got ``sample_domain``.

    The nearest call of a Pipeline method in ``methods`` above ``frame``
    (:func:`_enclosing_pipelines`), when metadata routing is off and that
    call got ``sample_domain`` among its ``**params``, which scikit-learn
    then hands to the last step alone (``predict``) or to no step
    (``score``); None otherwise.
    """
    if get_config().get("enable_metadata_routing", False):
        return None
    for owner, method, call in _enclosing_pipelines(methods, frame):
        params = call.f_locals.get("params")
        if isinstance(params, dict) and params.get("sample_domain") is not None:
            return owner, method
        return None
    return None


def _warn_if_domains_skip_steps(sample_domain):
    """Warn when ``sample_domain`` reached only the last step of a Pipeline.

    With metadata routing off, ``Pipeline.predict(X, sample_domain=sd)``
    (and ``predict_proba``, ``predict_log_proba``) passes the keyword to its
    last step alone: the steps before it transform every row as target data.
    Called by a transfer estimator's prediction methods when they get
    ``sample_domain``, this finds (with the frames walk of
    :func:`_enclosing_pipelines`) the nearest Pipeline predicting above them
    and warns when that call got ``sample_domain`` (its ``**params``) and an
    earlier step maps rows by their domain (:func:`_uses_domain`). Silent
    with routing on, where the Pipeline routes ``sample_domain`` to every
    step that requests it, outside a pipeline, and for the domains a
    transfer estimator passes on to the estimators it combines.
    """
    if sample_domain is None:
        return
    found = _pipeline_call_with_domains(_PREDICTING, sys._getframe(1))
    if found is None:  # no pipeline, routing on, or it was not given the domains
        return
    owner, method = found
    name, last = owner.steps[-1]
    users = [n for n, step in owner.steps[:-1] if _uses_domain(step)]
    if users:
        warnings.warn(
            f"sample_domain reached only the last step of this Pipeline, "
            f"{name!r} ({type(last).__name__}): with scikit-learn's metadata "
            f"routing off, Pipeline.{method}(X, sample_domain=...) passes it "
            f"to the last step alone, so the earlier step(s) {users}, which "
            "map rows by their domain, treated every row as target data "
            "and the result mixes two readings of the domains. Enable "
            "routing (sklearn.set_config(enable_metadata_routing=True)), "
            "and the Pipeline gives sample_domain to every step that "
            "requests it; or call the steps yourself, passing "
            f"sample_domain to {users} and to {name!r}.",
            SertlWarning,
            stacklevel=external_stacklevel(),
        )


def _warn_if_score_dropped_domains():
    """Warn when ``Pipeline.score`` dropped the ``sample_domain`` it was given.

    With metadata routing off, scikit-learn's ``Pipeline.score`` passes
    ``sample_weight`` alone to its last step and nothing to the steps before
    it, so ``pipe.score(X, y, sample_domain=sd)`` scores as if no domain
    had been given. Called by a transfer estimator's ``score`` when it got
    no ``sample_domain``: finds the nearest ``Pipeline.score`` above it and
    warns when that call got one.
    """
    if _pipeline_call_with_domains(("score",), sys._getframe(2)) is None:
        return
    warnings.warn(
        "Pipeline.score(X, y, sample_domain=...) with scikit-learn's metadata "
        "routing off passes sample_domain to no step: every step treated every "
        "row as target data, and the score is over every labelled row. Enable "
        "routing (sklearn.set_config(enable_metadata_routing=True)), and the "
        "Pipeline gives sample_domain to every step that requests it; or "
        "score the labelled target rows with "
        "sertl_core.model_selection.TargetScorer()(pipe, X, y, "
        "sample_domain=sd), which hands the domains to the steps itself.",
        SertlWarning,
        stacklevel=external_stacklevel(),
    )


_PIPELINE_METHODS = (
    "fit",
    "fit_transform",
    "transform",
    "score",
    "score_samples",
    *_PREDICTING,
)


def _holds(container, est):
    """Return whether ``est`` is among the nested parameters of ``container``."""
    try:
        params = container.get_params(deep=True)
    except (AttributeError, TypeError):
        return False
    return any(value is est for value in params.values())


def _frozen_steps_of(pipeline, est):
    """Yield ``(name, frozen)`` per FrozenEstimator of ``pipeline`` holding ``est``.

    A FrozenEstimator around ``est`` itself, or around a fitted estimator
    that holds it (a Pipeline of transfer steps, frozen whole). ``name`` is
    the step's name when the FrozenEstimator is a step of ``pipeline``
    itself, None when it sits deeper (a nested Pipeline, ``FeatureUnion``
    or ``ColumnTransformer``).
    """
    from sklearn.frozen import FrozenEstimator

    direct = {id(step): name for name, step in pipeline.steps}
    try:
        found = pipeline.get_params(deep=True).values()
    except (AttributeError, TypeError):
        return
    seen = set()
    for frozen in found:
        if (
            isinstance(frozen, FrozenEstimator)
            and id(frozen) not in seen
            and (frozen.estimator is est or _holds(frozen.estimator, est))
        ):
            seen.add(id(frozen))
            yield direct.get(id(frozen)), frozen


def _warn_if_frozen_missed_metadata(
    est,
    *,
    key="sample_domain",
    request="transform",
    effect="mapped every row as target data (source rows included)",
    category=None,
):
    """Warn when a Pipeline's metadata ``key`` stopped at a FrozenEstimator.

    scikit-learn's :class:`~sklearn.frozen.FrozenEstimator` forwards
    ``transform`` and ``predict`` to the estimator it wraps but not that
    estimator's default metadata requests, so a Pipeline never hands it
    ``key`` (``sample_domain``, SpeakerNormalizer's ``speaker``): with
    routing on, ``pipe.predict(X, sample_domain=sd)`` gives the domains to
    the other steps only (and raises "not routed to any object" when no
    other step takes them); with routing off,
    ``frozenestimator__sample_domain=sd`` reaches the no-op ``fit`` alone.
    The same holds for ``est`` inside a fitted Pipeline frozen whole. The
    frozen ``est`` then does what ``effect`` says, silently. Called by
    ``est``'s ``request`` method (``transform``, or ``predict`` for a
    transfer estimator) when it got no ``key``: finds (frames walk of
    :func:`_enclosing_pipelines`) a Pipeline call that got ``key`` for a
    FrozenEstimator holding ``est`` and warns (``category``, default
    :class:`SertlWarning`) with the fix. Silent when ``est`` asked for no
    ``key`` (``set_transform_request(sample_domain=False)``). Returns
    whether it warned.
    """
    routing = get_config().get("enable_metadata_routing", False)
    name = type(est).__name__
    setter = f"set_{request}_request({key}=True)"
    for owner, method, call in _enclosing_pipelines(
        _PIPELINE_METHODS, sys._getframe(1)
    ):
        params = call.f_locals.get("params")
        if not isinstance(params, dict) or not any(
            str(k).endswith(key) and v is not None for k, v in params.items()
        ):
            continue  # this call carried no such metadata: nothing was lost
        for step_name, frozen in _frozen_steps_of(owner, est):
            passed = key if routing else f"{step_name}__{key}"
            if params.get(passed) is None:
                continue
            if routing and not est.get_metadata_routing().consumes(request, [key]):
                return False  # the user turned the request off: not wanted
            whole = frozen.estimator is not est
            why = (
                f"scikit-learn's FrozenEstimator does not pass on the default "
                f"request for {key} of the estimator it wraps"
                if routing
                else f"with metadata routing off, a Pipeline gives {passed} to "
                f"the FrozenEstimator's fit (a no-op) and never to {request}"
            )
            if whole:
                # the same words for every step of the frozen container, so
                # that the warnings filter shows them once
                held = type(frozen.estimator).__name__
                message = (
                    f"Pipeline.{method}(..., {passed}=...) did not reach the "
                    f"steps of the frozen {held}: {why}, so its steps ran "
                    f"without {key} (sertl's steps then take every row as "
                    "target data). A FrozenEstimator around a whole "
                    f"{held} can take no metadata: freeze its fitted steps one "
                    "by one instead, calling set_transform_request(sample_domain="
                    "True) (an adapter) or set_predict_request(sample_domain="
                    "True) (a transfer estimator) on each before wrapping it; or "
                    f"call the fitted {held} itself with {key}=..."
                )
            else:
                if routing:
                    fix = (
                        f"call {setter} on the {name} before wrapping it "
                        f"(FrozenEstimator(est.{setter})): the FrozenEstimator "
                        f"then routes {key} to it"
                    )
                else:
                    fix = (
                        "enable metadata routing (sklearn.set_config("
                        f"enable_metadata_routing=True)), pass {key}=... to the "
                        f"Pipeline and call {setter} on the {name} before "
                        "wrapping it in FrozenEstimator"
                    )
                message = (
                    f"Pipeline.{method}(..., {passed}=...) did not reach the "
                    f"frozen {name}: {why}, so {name} {effect}. To keep the "
                    f"{name} frozen, {fix}; or call it outside the Pipeline, "
                    f"{request}(X, {key}=...), and hand its output to the "
                    "remaining steps (e.g. Z = adapter.transform(X, "
                    "sample_domain=sd), then fit the remaining steps on Z)."
                )
            warnings.warn(
                message,
                category or SertlWarning,
                stacklevel=external_stacklevel(),
            )
            return True
    return False


def _refuse_fit_params(adapter, fit_params):
    """Refuse keyword arguments an adapter's ``fit`` does not take, with the fix.

    Python's own "unexpected keyword argument" said neither why an adapter
    takes no ``sample_weight`` nor where the weights go instead.

    Parameters
    ----------
    adapter : DomainAdapter
        The adapter being fitted, named in the message.
    fit_params : dict
        Keyword arguments beyond ``X``, ``y`` and ``sample_domain``.

    Raises
    ------
    TypeError
        When ``fit_params`` is not empty.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler
    >>> _refuse_fit_params(DomainStandardScaler(), {})
    >>> try:
    ...     _refuse_fit_params(DomainStandardScaler(), {"speaker": [1, 2]})
    ... except TypeError as err:
    ...     print(err)
    DomainStandardScaler.fit got an unexpected keyword argument 'speaker': an \
adapter's fit takes only X, y and sample_domain.
    """
    if not fit_params:
        return
    name = type(adapter).__name__
    names = ", ".join(repr(k) for k in sorted(fit_params))
    plural = "s" if len(fit_params) > 1 else ""
    message = (
        f"{name}.fit got an unexpected keyword argument{plural} {names}: an "
        "adapter's fit takes only X, y and sample_domain."
    )
    if "sample_weight" in fit_params:
        message += (
            f" {name} takes no sample_weight: an adapter fits its statistics or "
            "map on the rows as given, and weighting only part of that fit "
            "(say a pseudo-label classifier but not the domain statistics) "
            "would be a half-weighted fit. Give the weights to the final "
            "transfer estimator, which trains on the weighted rows: "
            "pipe.fit(X, y, clf__sample_weight=w) with metadata routing off, "
            "or, with it on, the step that requests them "
            "(clf.set_fit_request(sample_weight=True))."
        )
    raise TypeError(message)


class DomainAdapter(
    _InputPolicy, ParamValidationMixin, TransformerMixin, BaseEstimator
):
    """Base class of transformers that move features between domains.

    Subclasses write ``_fit(data)`` and ``_transform(X, sample_domain)``
    (``data``, a :class:`sertl_core.DomainData`, holds ``X``, ``y``,
    ``sample_domain`` and the ``labeled``, ``source`` and ``target`` row
    masks); the public methods here validate ``X``, ``y`` and
    ``sample_domain`` with the sertl conventions (the README's
    "Conventions"; :func:`sertl_core.infer_sample_domain`):

    * ``fit(X, y=None, *, sample_domain=None)``: positive domain ids are
      source, negative ids target; without ``sample_domain`` labelled rows
      are source and rows labelled ``-1`` target.
    * ``transform(X, *, sample_domain=None)``: without ``sample_domain``
      every row is treated as target data (deployment on new speech).
    * ``fit_transform`` transforms the training rows with the domains used
      in fit, so source rows get the source mapping inside a Pipeline.

    ``sample_domain`` is requested by default for ``fit`` and ``transform``
    when scikit-learn's metadata routing is on, and is passed as
    ``step__sample_domain=...`` when it is off.

    Class attributes a subclass may override:

    ``registry_name``
        Short name in the plugin registry.
    ``_needs_source``, ``_needs_target``, ``_needs_labels``
        What ``fit`` requires (an error or the self-target fallback otherwise).
    ``_transform_uses_domain``
        ``True`` when ``transform`` maps a row according to its
        ``sample_domain`` (per-domain statistics, a map for the source
        rows), ``False`` when every domain gets the same map (a shared
        embedding), ``None`` (the default) when undeclared, which the
        conformance kit refuses; it checks a declaration against what
        ``transform`` does (``check_transform_follows_sample_domain``).
        Override ``_uses_domain_in_transform`` when parameters decide.
    ``_accept_sparse()``
        The scipy sparse formats ``X`` may come in (``False``, the default:
        dense only); ``_fit`` and ``_transform`` then receive those formats.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import DomainAdapter
    >>> class Centerer(DomainAdapter):
    ...     '''Subtract the mean of each row's own domain.'''
    ...     _transform_uses_domain = True
    ...     def _fit(self, data):
    ...         self.target_mean_ = data.X[data.target].mean(axis=0)
    ...         self.source_mean_ = data.X[data.source].mean(axis=0)
    ...     def _transform(self, X, sample_domain):
    ...         means = np.where((sample_domain > 0)[:, None],
    ...                          self.source_mean_, self.target_mean_)
    ...         return X - means
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> Centerer().fit_transform(X, [0, 1, -1, -1]).ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """

    registry_name: ClassVar[str | None] = None
    _needs_source: ClassVar[bool] = True
    _needs_target: ClassVar[bool] = True
    _needs_labels: ClassVar[bool] = False
    _transform_uses_domain: ClassVar[bool | None] = None

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__transform = {"sample_domain": True}

    def _uses_domain_in_transform(self):
        """Return whether ``transform`` uses ``sample_domain`` (None: undeclared)."""
        return self._transform_uses_domain

    def _warn_if_frozen_missed_domains(self):
        # an adapter that maps every domain alike (TCA, JDA, ...) loses
        # nothing without sample_domain: no warning, and no frame walk
        if self._uses_domain_in_transform() is not False:
            super()._warn_if_frozen_missed_domains()

    def _fit(self, data: DomainData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _fit(data).")

    def _transform(self, X, sample_domain):  # pragma: no cover - abstract
        raise NotImplementedError(
            f"{type(self).__name__} must implement _transform(X, sample_domain)."
        )

    def _validate_fit(self, X, y, sample_domain):
        X = self._validate_X(X, reset=True)
        # the task of an enclosing Pipeline's last step, else read from y
        task = None if y is None else _pipeline_task()
        if y is not None:
            _check_not_permuted_across_domains(self, task)
        data = resolve_domains(
            X,
            y,
            sample_domain,
            needs_source=self._needs_source,
            needs_target=self._needs_target,
            needs_labels=self._needs_labels,
            regression=task,
            min_classes=1,
        )
        if self._needs_labels:
            self._check_class_labels(task, data.y[data.labeled])
        if y is not None and not data.labeled[: data.n_input_rows].all():
            _warn_if_pipeline_learns_unlabelled(
                int((~data.labeled[: data.n_input_rows]).sum())
            )
        return data

    def _check_class_labels(self, task, y):
        """Refuse regression targets for an adapter that needs class labels.

        ``task`` is the enclosing Pipeline's (True: it ends in a regressor,
        False: in a classifier), None outside one. Continuous labels are
        regression targets in any case: a classifier cannot learn them either.
        """
        why = None
        if task:
            why = "the Pipeline that fits it ends in a regressor"
        elif _continuous_labels(y):
            why = "y holds continuous values (regression targets)"
        if why is not None:
            # a Pipeline that ends in a classifier cannot learn them either
            last = (
                ", and a regressor last, e.g. SourceOnly(Ridge())"
                if task is False
                else ""
            )
            raise ValueError(
                f"{type(self).__name__} adapts the rows class by class and needs "
                f"class labels, but {why}. For regression targets (arousal, "
                "valence) use a label-free adapter, e.g. DomainStandardScaler, "
                f"CORAL or TCA{last}."
            )
        check_classification_targets(y)

    def fit(self, X, y=None, *, sample_domain=None, **fit_params):
        """Fit the adapter on source and target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all domains.
        y : array-like of shape (n_samples,), default=None
            Labels; ``-1`` (``"-1"`` for strings) marks unlabelled rows,
            ``NaN`` for regression targets, which the adapter recognises by
            the last step of the Pipeline that fits it (a regressor) or,
            outside one, by their continuous values (see
            :func:`sertl_core.infer_sample_domain`).
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
            Inferred from ``y`` when omitted.
        **fit_params : dict
            Refused with a ``TypeError`` that says what to do instead: an
            adapter takes no other fit parameter. ``sample_weight`` in
            particular belongs to the final transfer estimator of a
            Pipeline, which trains on the weighted rows (an adapter fits its
            statistics or map on the rows as given).

        Returns
        -------
        self : object
            The fitted adapter.
        """
        _refuse_fit_params(self, fit_params)
        self._fit(self._validate_fit(X, y, sample_domain))
        return self

    def transform(self, X, *, sample_domain=None):
        """Map rows into the adapted space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to transform.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            Transformed rows.

        Notes
        -----
        Without ``sample_domain``, ``_transform`` receives ``-1`` for every
        row: the rows are mapped as rows of target domain ``-1``, which is
        the target for an adapter fitted on one target domain. An adapter
        fitted on several target domains (``-1``, ``-2`` ...) maps them as
        domain ``-1`` too, unless it overrides ``transform`` to handle
        ``sample_domain=None`` itself before calling the base's:
        :class:`~sertl_core.DomainStandardScaler` does, and scales such rows
        with the pooled statistics of all its target domains, so for it
        ``transform(X)`` and ``transform(X, sample_domain=-1)`` differ when
        fit saw more than one target domain.
        """
        return self._checked_transform(X, sample_domain)

    def _checked_transform(self, X, sample_domain):
        return self._transform(*self._validate_fitted_X(X, sample_domain))

    def fit_transform(self, X, y=None, *, sample_domain=None, **fit_params):
        """Fit, then transform the training rows with their own domains.

        When fit saw no target rows and used the rows as their own target
        (see :class:`NoTargetWarning`), the rows are transformed as target
        rows, as ``transform`` without ``sample_domain`` does, so
        ``fit_transform(X)`` equals ``fit(X).transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all domains.
        y : array-like of shape (n_samples,), default=None
            Labels; ``-1`` (``"-1"`` for strings) marks unlabelled rows.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
        **fit_params : dict
            Refused, as by :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            Transformed training rows.
        """
        _refuse_fit_params(self, fit_params)
        data = self._validate_fit(X, y, sample_domain)
        self._fit(data)
        n = data.n_input_rows
        if data.X.shape[0] > n:  # self-target fallback: the copies are the target
            return self._transform(data.X[n:], data.sample_domain[n:])
        return self._transform(data.X[:n], data.sample_domain[:n])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._needs_labels
        return self._set_input_tags(tags)


def _default_estimator():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _estimator_has(attr):
    """Whether the fitted (or, before fit, the given) estimator has ``attr``."""

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self._get_estimator(), attr)

    return check


def _check_user_weights(sample_weight, n_rows):
    """Return the caller's ``sample_weight`` as float64 (None for none or all ones)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per row of X ({n_rows}), "
            f"got shape {w.shape}."
        )
    try:
        w = w.astype(np.float64)  # a copy: the caller's array is never touched
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sample_weight must be numbers, got dtype {w.dtype}: {exc}"
        ) from None
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValueError(
            "sample_weight must be finite and non-negative; rows "
            f"{np.flatnonzero(bad)[:10].tolist()} have {w[bad][:10].tolist()}."
        )
    # all ones weigh nothing: fit exactly as without weights
    return None if np.all(w == 1.0) else w


def _weighted_resample(y, w, rng, *, classifier, name):
    """Row indices of a weighted resample that keeps every weighted class.

    The fallback of :meth:`TransferEstimator._fit_resampled` for an
    estimator ``name`` whose ``fit`` takes no ``sample_weight``: ``len(y)``
    rows drawn with replacement, each with probability ``w / w.sum()``. For
    a classifier, a class with positive total weight whose rows were all
    missed by the draw (tiny weights) would vanish from the estimator's
    ``classes_``; each such class then takes one drawn position from the
    class most over-represented relative to its weight, filled with the
    class's highest-weight row. The draw, hence the result, depends only on
    ``rng``; a draw that misses no class is left as it is. A class whose
    every row has weight 0 cannot be drawn: it is left out with a
    :class:`SertlWarning`, and fewer than two classes of positive weight
    raise a ``ValueError``.
    """
    n = w.shape[0]
    idx = rng.choice(n, size=n, replace=True, p=w / w.sum())
    if not classifier:
        return idx
    if y.ndim != 1:  # multi-output labels: no class repair
        if np.unique(y[idx]).size < 2:
            raise ValueError(
                f"{name}.fit takes no sample_weight and the weighted resample "
                "kept fewer than two classes. Use an estimator that accepts "
                "sample_weight or smooth the weights."
            )
        return idx
    classes, code = np.unique(y, return_inverse=True)
    class_weight = np.bincount(code, weights=w, minlength=classes.size)
    weighted = class_weight > 0
    unweighted = classes[~weighted].tolist()
    if weighted.sum() < 2:
        raise ValueError(
            f"{name}.fit takes no sample_weight, so it is trained on a weighted "
            f"resample of its rows, and fewer than two classes have a positive "
            f"weight (positive: {classes[weighted].tolist()}; weight 0 on every "
            f"row: {unweighted}). Use an estimator that accepts sample_weight, "
            "or give positive weight to rows of at least two classes."
        )
    if unweighted:
        warnings.warn(
            f"{name}.fit takes no sample_weight, so it is trained on a weighted "
            f"resample of its rows, and class(es) {unweighted} have weight 0 on "
            f"every row: the resample leaves them out and {name} will never "
            "predict them. Use an estimator that accepts sample_weight (it then "
            "still knows every class), or give these rows a positive weight.",
            SertlWarning,
            stacklevel=external_stacklevel(),
        )
    counts = np.bincount(code[idx], minlength=classes.size)
    expected = n * class_weight / class_weight.sum()
    for k in np.flatnonzero(weighted & (counts == 0)):
        # n >= number of classes, so a class missed by the draw leaves
        # another with at least two drawn positions to give one up
        donor = int(np.argmax(np.where(counts > 1, counts - expected, -np.inf)))
        positions = np.flatnonzero(code[idx] == donor)
        copies = np.bincount(idx, minlength=n)[idx[positions]]
        # the last position of the donor's most repeated row: no distinct
        # row leaves the resample when one was drawn twice
        pos = positions[len(positions) - 1 - int(np.argmax(copies[::-1]))]
        members = np.flatnonzero(code == k)
        idx[pos] = members[int(np.argmax(w[members]))]
        counts[donor] -= 1
        counts[k] += 1
    return idx


class TransferEstimator(
    _InputPolicy, ParamValidationMixin, MetaEstimatorMixin, BaseEstimator
):
    """Base class of meta-estimators that train a plain estimator with transfer.

    A transfer estimator wraps any scikit-learn estimator (``estimator=``),
    fits it on the labelled rows with its transfer strategy (instance
    weights, pretraining then fine-tuning, auxiliary tasks, ...) and
    predicts like the wrapped estimator. Unlabelled rows never reach the
    wrapped estimator as a class.

    Subclasses write ``_fit(data)`` (``data``: a
    :class:`sertl_core.DomainData`; ``data.weights(rows)`` gives the weights
    of the rows that train the wrapped estimator), which must call
    :meth:`_fit_estimator` (or set ``estimator_`` and ``classes_``
    themselves), and may override ``_predict_input(X, sample_domain)`` to
    map rows before the wrapped estimator sees them. A subclass with its own
    parameters repeats ``estimator`` and ``sampler`` in its ``__init__``
    (``def __init__(self, estimator=None, *, sampler=None, alpha=1.0)``,
    then ``super().__init__(estimator, sampler=sampler)``): scikit-learn
    reads the parameters from the signature, so a parameter missing there
    is lost by ``clone`` and refused by ``set_params``. Sparse input is
    refused unless ``_accept_sparse()`` returns the formats ``_fit`` and
    ``_predict_input`` handle.

    Class attributes a subclass may override:

    ``registry_name``
        Short name in the plugin registry.
    ``_predict_uses_domain``
        ``True`` when a prediction depends on the rows' ``sample_domain``
        (``_predict_input`` maps a row by its domain, e.g. with per-domain
        statistics), ``False`` when it ignores it (instance weighting,
        source-only training: the wrapped estimator gets the rows as they
        are), ``None`` (the default) when undeclared, taken as ``True``. A
        fitted estimator frozen in a Pipeline
        (:class:`~sklearn.frozen.FrozenEstimator`) gets no ``sample_domain``
        there and predicts every row as target data: sertl warns about that
        unless the declaration is ``False``, so declare ``False`` only for a
        prediction that the domains cannot change (the conformance kit
        checks it, ``check_predict_follows_sample_domain``). The declaration
        covers the class that makes it: a subclass overriding
        ``_predict_input`` or a prediction method declares again (else it
        is undeclared). Override ``_uses_domain_in_predict`` when
        parameters decide.

    Parameters
    ----------
    estimator : estimator object, default=None
        The estimator to train; ``None`` means
        ``LogisticRegression(max_iter=1000)``. The task and the input it
        takes come from its scikit-learn tags; an old-style estimator
        without tags (no ``sklearn.base.BaseEstimator``, no
        ``__sklearn_tags__``) gets scikit-learn's default tags, its task
        read from a legacy ``_estimator_type`` attribute or from
        scikit-learn's ``ClassifierMixin`` or ``RegressorMixin`` among its
        bases (otherwise no task: ``is_classifier`` is false and
        scikit-learn's tools split folds without stratification; inherit
        ``ClassifierMixin, BaseEstimator`` to make it a classifier).
    sampler : imbalanced-learn sampler, default=None
        Resampler (``fit_resample``) applied to the labelled training rows
        before the wrapped estimator is fitted. imbalanced-learn's samplers
        balance classes: a regressor refuses them, all but
        ``FunctionSampler(validate=False)``, which runs your own function
        on the rows whatever the target.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted wrapped estimator.
    classes_ : ndarray
        Class labels (classification only).
    n_features_in_ : int
        Number of features seen in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0], [0.5], [5.5]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> SourceOnly().fit(X, y).predict([[0.2], [5.8]]).tolist()
    [0, 1]
    """

    registry_name: ClassVar[str | None] = None
    _needs_target: ClassVar[bool] = True
    _allow_target_only_labels: ClassVar[bool] = False
    # True for a method that learns from class labels only (its estimator
    # must be a classifier): fit (and _validate_params) refuses a regressor
    # with the alternatives, and the tags say "classifier" whatever the
    # estimator, so that scikit-learn's tools (is_classifier, check_cv's
    # stratified folds, scorers) treat the method as the classifier it is
    _classification_only: ClassVar[bool] = False
    _frozen_request = (
        "predict",
        "predicted every row as target data (source rows included)",
    )
    _predict_uses_domain: ClassVar[bool | None] = None

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__predict = {"sample_domain": True}
    __metadata_request__predict_proba = {"sample_domain": True}
    __metadata_request__predict_log_proba = {"sample_domain": True}
    __metadata_request__decision_function = {"sample_domain": True}
    __metadata_request__score = {"sample_domain": True}

    def __init__(self, estimator=None, *, sampler=None):
        self.estimator = estimator
        self.sampler = sampler

    def _uses_domain_in_predict(self):
        """Return whether a prediction uses ``sample_domain`` (None: undeclared).

        ``_predict_uses_domain``, where it covers this class: a declaration
        holds for the prediction path of the class that makes it, so a
        subclass that rewrites that path (its own ``_predict_input``, say)
        without declaring again is undeclared (None), not ``False``.
        """
        declared = self._predict_uses_domain
        if declared is False:
            for klass in type(self).__mro__:
                if "_predict_uses_domain" in vars(klass):
                    break
                if any(name in vars(klass) for name in _PREDICTION_PATH):
                    return None
        return declared

    def _warn_if_frozen_missed_domains(self):
        # a method whose prediction ignores the domains (instance weighting,
        # source-only training) loses nothing without sample_domain: no
        # warning, and no frame walk
        if self._uses_domain_in_predict() is not False:
            super()._warn_if_frozen_missed_domains()

    # -- template ---------------------------------------------------------
    def _fit(self, data: DomainData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _fit(data).")

    def _predict_input(self, X, sample_domain):
        """Rows as the wrapped estimator sees them at predict time."""
        return X

    def _wrapped_input(self, X):
        """``X`` as the wrapped estimator gets it: with the caller's column names.

        Input is validated to an array, but a method that passes the
        caller's columns on unchanged (one that keeps the identity
        ``_predict_input``: instance weighting, source-only training) hands
        them to the wrapped estimator as a pandas DataFrame with the names
        fit saw, as scikit-learn's meta-estimators pass their input on. A
        wrapped pipeline may then select columns by name (``ColumnTransformer``)
        and the wrapped estimator has ``feature_names_in_``. Rows of a method
        that maps them (an embedding, added columns) stay an array.
        """
        names = getattr(self, "feature_names_in_", None)
        if (
            names is None
            or type(self)._predict_input is not TransferEstimator._predict_input
            or sparse.issparse(X)
            or np.ndim(X) != 2
            or X.shape[1] != len(names)
        ):
            return X
        pd = sys.modules.get("pandas")  # names came from a DataFrame: imported
        if pd is None:
            return X
        return pd.DataFrame(X, columns=names, copy=False)

    def _get_estimator(self):
        return _default_estimator() if self.estimator is None else self.estimator

    def set_params(self, **params):
        """Set the parameters of this estimator (scikit-learn's ``set_params``).

        ``estimator__<param>`` needs an estimator given in the constructor:
        ``estimator=None`` stands for a default created at fit, which has no
        parameters to set before, so such a key raises with the fix. The
        same holds for any other parameter whose None stands for an object
        built at fit (``sampler``, a method's ``source_estimator`` ...).

        Parameters
        ----------
        **params : dict
            Estimator parameters, nested ones as ``step__param``.

        Returns
        -------
        self : estimator instance
            The estimator, with its parameters set.
        """
        own = self.get_params(deep=False)
        for key in sorted(params):
            name, nested, _ = key.partition("__")
            if not nested or name not in own:
                continue  # a plain parameter, or one scikit-learn refuses
            if params.get(name, own[name]) is not None:
                continue
            default = (
                f"its default ({type(self._get_estimator()).__name__}, created at fit)"
                if name == "estimator"
                else "a default created at fit, or none"
            )
            raise ValueError(
                f"Cannot set {key!r}: {type(self).__name__} has {name}=None, "
                f"which stands for {default}, so there is no {name} to set it "
                f"on. Pass the {name} to tune explicitly ({name}=..., or "
                f"{name!r} in the same parameter grid)."
            )
        return super().set_params(**params)

    def _is_regression(self):
        return _is_regressor(self._get_estimator())

    def _check_estimator_task(self):
        """Refuse a regressor for a method that learns from class labels only."""
        if self._classification_only and self._is_regression():
            name = type(self).__name__
            raise ValueError(
                f"{name} learns from class labels and has no regression form, "
                f"but its parameter estimator={_one_line(self._get_estimator())} "
                "is a regressor. For regression targets (arousal, valence) use "
                "a transfer method that wraps any estimator (SourceOnly, KMM, "
                "KLIEP), after label-free adapters if needed (CORAL, TCA); or "
                f"give {name} a classifier: estimator=None (the default) or "
                "any scikit-learn classifier, e.g. estimator=SVC()."
            )

    def _check_class_targets(self, y):
        """Refuse continuous labels for a method that fits a classifier.

        ``y`` holds the labelled rows. Regression targets (arousal, valence)
        given to a classifier used to meet scikit-learn's bare "Unknown label
        type: continuous", which names neither the method nor what to use;
        the message still starts with it, as scikit-learn's checks expect.
        """
        if _continuous_labels(np.asarray(y)):
            name = type(self).__name__
            why = (
                "but y holds continuous values (regression targets such as "
                "arousal or valence)"
            )
            if self._classification_only:
                raise ValueError(
                    f"Unknown label type: continuous. {name} learns from class "
                    f"labels and has no regression form, {why}. For regression "
                    "targets use a transfer method that wraps any estimator with "
                    "a regressor (SourceOnly(Ridge()), KMM(Ridge()), "
                    "KLIEP(Ridge())), after label-free adapters if needed (CORAL, "
                    f"TCA); give {name} class labels."
                )
            est = self._get_estimator()
            given = (
                f"estimator=None, which stands for {_one_line(est)}"
                if self.estimator is None
                else f"estimator={_one_line(est)}"
            )
            raise ValueError(
                f"Unknown label type: continuous. {name} fits its estimator as "
                f"a classifier ({given}), {why}, "
                "which a classifier cannot learn. For regression targets wrap a "
                f"regressor: {name}(Ridge()), {name}(SVR()); for classification "
                "give class labels (whole numbers or strings)."
            )
        check_classification_targets(y)

    def _validate_params(self):
        """Check the parameters and, for a class-only method, the estimator's task."""
        super()._validate_params()
        self._check_estimator_task()

    def fit(self, X, y, *, sample_domain=None):
        """Fit the wrapped estimator with transfer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all domains.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (``"-1"`` for strings, ``NaN`` for regression)
            marks unlabelled rows.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
            Inferred from ``y`` when omitted (labelled rows are source).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_domains(X, y, sample_domain, None)

    def _fit_domains(self, X, y, sample_domain, sample_weight):
        """Validate the inputs, resolve the domains and call ``_fit``."""
        _check_not_permuted_across_domains(self, self._is_regression())
        _warn_if_wrapper_learns_unlabelled(self, sample_domain)
        X = self._validate_X(X, reset=True)
        self._check_estimator_task()
        regression = self._is_regression()
        if regression and _is_imblearn(getattr(self, "sampler", None)):
            # imbalanced-learn said "Maybe you are trying to fit a classifier",
            # about a transfer estimator wrapping a regressor, after the
            # method's own work (KMM's weights)
            raise ValueError(
                f"sampler={_one_line(self.sampler)} balances classes "
                "(imbalanced-learn's samplers take class labels), but "
                f"{type(self).__name__} wraps a regressor, estimator="
                f"{_one_line(self._get_estimator())}: regression targets "
                "(arousal, valence) have no classes to balance. Drop the "
                "sampler, or weigh the rows with fit(..., sample_weight=w)."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: pass the labels of the source rows (and -1 for "
                "unlabelled target rows, NaN for a regressor)."
            )
        weights = _check_user_weights(sample_weight, X.shape[0])
        data = resolve_domains(
            X,
            _column_or_1d(y),
            sample_domain,
            needs_target=self._needs_target,
            needs_labels=True,
            regression=regression,
            allow_target_only_labels=self._allow_target_only_labels,
            min_classes=1 if regression else 2,
            sample_weight=weights,
        )
        if not regression:
            self._check_class_targets(data.y[data.labeled])
        elif sample_domain is None and not self._needs_target:
            _warn_if_minus_one_trains_regressor(data.y, type(self).__name__)
        w = data.sample_weight
        if w is not None and not np.any(w[data.labeled] > 0):
            raise ValueError(
                "sample_weight is zero for every labelled row, so nothing "
                "would train the estimator: give the labelled rows positive "
                "weights."
            )
        self._fit(data)
        return self

    def _fit_estimator(self, X, y, sample_weight=None, *, random_state=None):
        """Fit a clone of the wrapped estimator on labelled rows.

        Applies the sampler, passes ``sample_weight`` when the estimator takes
        it (for a :class:`~sklearn.pipeline.Pipeline`, to its final step when
        that step takes it), and otherwise resamples rows in proportion to the
        weights (a classifier's resample keeps a row of every class of positive
        weight; a class of weight 0 on every row is left out with a warning).

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            Labelled training rows only.
        y : ndarray of shape (n_rows,)
            Their labels (no unlabelled marker).
        sample_weight : ndarray of shape (n_rows,), default=None
            Non-negative instance weights.
        random_state : int, RandomState instance or None, default=None
            Seed of the weighted resampling fallback. None seeds it with 0
            when the method has no ``random_state`` parameter (the user could
            not seed it otherwise), so that such a fit is repeatable.

        Returns
        -------
        estimator : estimator object
            The fitted clone, also stored as ``estimator_``.
        """
        if self.sampler is not None:
            if not hasattr(self.sampler, "fit_resample"):
                raise TypeError(
                    f"sampler={self.sampler!r} has no fit_resample method: pass an "
                    "imbalanced-learn sampler (e.g. RandomOverSampler())."
                )
            sampler = clone(self.sampler)
            X_res, y_res = sampler.fit_resample(X, y)
            if sample_weight is not None:
                sample_weight = weights_through_sampler(sampler, sample_weight)
            X, y = X_res, y_res
        return self._fit_resampled(X, y, sample_weight, random_state=random_state)

    def _fit_resampled(self, X, y, sample_weight=None, *, random_state=None):
        """Fit a clone of the wrapped estimator on rows already resampled.

        :meth:`_fit_estimator` after its sampler step, for a subclass that
        runs ``sampler`` itself (seeded, say): the weights reach the
        estimator, a :class:`~sklearn.pipeline.Pipeline`'s final step, or a
        weighted resample of the rows, exactly as there. Same parameters and
        return value as :meth:`_fit_estimator`.
        """
        if np.any(is_unlabeled(y, regression=self._is_regression())):
            raise AssertionError("unlabelled rows must never reach the estimator")
        est = clone(self._get_estimator())
        if sample_weight is not None and not np.any(np.asarray(sample_weight) > 0):
            raise ValueError(
                f"Every row that trains {type(est).__name__} has weight 0 (the "
                "caller's sample_weight times the method's own weights), so "
                "nothing would train it: give positive sample_weight to some of "
                "the labelled rows the method trains on (SourceOnly: the "
                "labelled source rows, unless use_target_labels=True)."
            )
        weight_kw = None if sample_weight is None else sample_weight_keyword(est)
        if sample_weight is None:
            est.fit(self._wrapped_input(X), y)
        elif weight_kw is not None:
            est.fit(self._wrapped_input(X), y, **{weight_kw: sample_weight})
        else:
            if random_state is None and "random_state" not in self.get_params(
                deep=False
            ):
                random_state = 0  # no parameter to seed it: a repeatable fit
            idx = _weighted_resample(
                y,
                np.asarray(sample_weight, dtype=float),
                check_random_state(random_state),
                classifier=not _is_regressor(est),
                name=type(est).__name__,
            )
            est.fit(self._wrapped_input(X[idx]), y[idx])
        self.estimator_ = est
        if hasattr(est, "classes_"):
            self.classes_ = est.classes_
        return est

    # -- prediction -------------------------------------------------------
    def _prepare(self, X, sample_domain):
        X = self._predict_input(*self._validate_fitted_X(X, sample_domain))
        return self._wrapped_input(X)

    def predict(self, X, *, sample_domain=None):
        """Predict with the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels (never the unlabelled marker).
        """
        _warn_if_domains_skip_steps(sample_domain)
        X = self._prepare(X, sample_domain)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X, *, sample_domain=None):
        """Class probabilities from the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        _warn_if_domains_skip_steps(sample_domain)
        X = self._prepare(X, sample_domain)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X, *, sample_domain=None):
        """Log class probabilities from the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log probabilities, columns in the order of ``classes_``.
        """
        _warn_if_domains_skip_steps(sample_domain)
        X = self._prepare(X, sample_domain)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X, *, sample_domain=None):
        """Decision scores from the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        scores : ndarray
            The wrapped estimator's decision function.
        """
        _warn_if_domains_skip_steps(sample_domain)
        X = self._prepare(X, sample_domain)
        return self.estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None, *, sample_domain=None):
        """Accuracy (classifiers) or R² (regressors) on the labelled rows.

        Unlabelled rows in ``y`` are ignored: ``-1``/``"-1"`` for a
        classifier, ``NaN`` for a regressor (whose ``-1.0`` is a value, scored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        score : float
            The score on the labelled rows.
        """
        if sample_domain is None:
            _warn_if_score_dropped_domains()
        # the checks of fit and predict, before the rows are masked (a wrong
        # length got numpy's "boolean index did not match")
        n = _n_rows(X)
        y = _check_labels(_column_or_1d(y), n, regression=self._is_regression())
        if sample_domain is not None:
            sample_domain = check_sample_domain(sample_domain, n)
        sample_weight = _check_user_weights(sample_weight, n)
        keep = ~is_unlabeled(y, regression=self._is_regression())
        if not keep.any():
            raise ValueError(
                "score() got no labelled rows: every label is the unlabelled "
                "marker. Use a label-free scorer from sertl_core.model_selection."
            )
        if hasattr(X, "iloc"):
            Xk = X.iloc[np.flatnonzero(keep)]
        elif sparse.issparse(X):  # COO and DIA matrices cannot be indexed by row
            Xk = X.tocsr()[np.flatnonzero(keep)]
        else:
            Xk = np.asarray(X)[keep]
        sd = None if sample_domain is None else np.asarray(sample_domain)[keep]
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        pred = self.predict(Xk, sample_domain=sd)
        if self._is_regression():
            return r2_score(y[keep], pred, sample_weight=sw)
        return accuracy_score(y[keep], pred, sample_weight=sw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # an old-style estimator without tags gets the defaults (_tags_of)
        sub = _tags_of(self._get_estimator())
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        if tags.classifier_tags is not None:
            # y must be 1-D (_check_labels): no multi-label targets, whatever
            # the wrapped classifier takes (KNeighborsClassifier, forests)
            tags.classifier_tags.multi_label = False
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        if self._classification_only:
            # a classifier whatever it wraps: a regressor is refused at fit,
            # and tags copied from it made is_regressor(self) true, so that
            # cross_val_score split the classes with unstratified KFold
            tags.estimator_type = "classifier"
            tags.regressor_tags = None
            if tags.classifier_tags is None:
                tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return self._set_input_tags(tags)


def _is_imblearn(sampler):
    """Whether ``sampler`` is an imbalanced-learn sampler that takes class labels.

    Every one does but ``FunctionSampler(validate=False)``, which runs the
    user's own function on the rows, whatever the target (a regressor's
    outlier filter).
    """
    if sampler is None or not type(sampler).__module__.startswith("imblearn."):
        return False
    # told by name: the core does not import imbalanced-learn (not a dependency)
    function_sampler = any(
        cls.__name__ == "FunctionSampler" and cls.__module__.startswith("imblearn.")
        for cls in type(sampler).__mro__
    )
    return not (function_sampler and getattr(sampler, "validate", True) is False)


def _warn_if_minus_one_trains_regressor(y, name):
    """Warn when whole-number regression targets seem to mark rows with -1.

    For a regressor only NaN marks an unlabelled row and -1 is a value. A
    ``y`` of whole numbers holding -1 and no NaN, given without
    ``sample_domain`` to a method that needs no target rows (``SourceOnly``),
    is what sertl's class-label convention writes for unlabelled target rows
    (the README's quick start): those rows would train the regressor as
    source rows with the value -1, silently. Continuous values (a valence
    clipped at -1.0 among others) say nothing.
    """
    if y.ndim != 1 or y.dtype.kind not in "iuf":
        return
    values = y.astype(float)
    n = int((values == UNLABELED).sum())
    if not n or np.isnan(values).any() or not np.all(values == np.round(values)):
        return
    warnings.warn(
        f"{name} wraps a regressor, for which only NaN marks an unlabelled "
        f"row, and y holds {n} row(s) labelled -1 among whole-number labels "
        "and no NaN: they train the regressor as labelled source rows with "
        "the value -1. If they are unlabelled target rows, mark them NaN "
        "(y = y.astype(float); y[y == -1] = np.nan); if -1 is a value of "
        "your scale, pass sample_domain (positive ids for these source "
        "rows), which also silences this warning.",
        SertlWarning,
        stacklevel=external_stacklevel(),
    )


def _n_rows(X):
    """Return the number of rows of ``X``.

    The first dimension of arrays, sparse matrices and tables (``len`` is
    ambiguous for a sparse matrix); ``len`` of a list.
    """
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _column_or_1d(y):
    from sklearn.utils.validation import column_or_1d

    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=True)
    return y


class SampleWeightMixin:
    """Give a :class:`TransferEstimator` a ``fit`` that takes ``sample_weight``.

    List it before ``TransferEstimator`` in the bases of a method whose
    ``_fit`` applies the caller's weights: it reads them with
    ``data.weights(rows, method_weights)``, which multiplies them with the
    method's own weights of the rows that train the wrapped estimator (or
    returns the method's weights alone when the caller gave none). Only such
    a method declares ``sample_weight`` in ``fit``: scikit-learn tools
    (``GridSearchCV``, ``cross_validate``, ``Pipeline`` with metadata
    routing) pass weights to an estimator whose ``fit`` takes them, so a
    method that would ignore them must not offer the parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sertl_core import SourceOnly
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [1.5], [2.5]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> w = np.array([1.0, 1.0, 1.0, 5.0, 1.0, 1.0])
    >>> clf = SourceOnly(LogisticRegression()).fit(X, y, sample_weight=w)
    >>> clf.predict([[1.4]]).tolist()  # the heavy row pulls the boundary left
    [1]
    """

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        """Fit the wrapped estimator with transfer and the caller's weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all domains.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (``"-1"`` for strings, ``NaN`` for regression)
            marks unlabelled rows.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
            Inferred from ``y`` when omitted (labelled rows are source).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. A labelled row that trains the
            wrapped estimator weighs its weight times the weight the method
            gives it (its importance weight, say); a row of weight 0 does
            not train it. The weights of rows that only describe a domain
            (unlabelled target rows) are not used. All ones is the same as
            None. The wrapped estimator gets the weights through its own
            ``sample_weight`` or, without one, by a weighted resample (seeded
            with the method's ``random_state``; a method without one seeds
            it with 0, so that its fit is repeatable).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_domains(X, y, sample_domain, sample_weight)
