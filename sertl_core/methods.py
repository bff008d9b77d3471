"""Built-in methods: the no-transfer baseline and per-domain standardisation."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._domains import (
    DomainData,
    DomainError,
    NoTargetWarning,
    SertlWarning,
    check_known_domains,
    external_stacklevel,
)
from .base import DomainAdapter, SampleWeightMixin, TransferEstimator, _tags_of
from .params import StrOptions
from .utils import mean_scale, preserve_float32

__all__ = ["DomainStandardScaler", "SourceOnly", "SourceStandardScaler"]


def _standardize(X, mean, scale):
    """``(X - mean) / scale`` computed in float64, returned in ``X``'s dtype.

    The statistics stay float64 and float32 rows come back float32, as with
    scikit-learn's scalers (tag ``preserves_dtype``).
    """
    return ((X.astype(np.float64, copy=False) - mean) / scale).astype(
        X.dtype, copy=False
    )


class SourceOnly(SampleWeightMixin, TransferEstimator):
    """No-transfer baseline: train the wrapped estimator on labelled source rows.

    Target rows are ignored (their labels too, unless
    ``use_target_labels=True``, which gives the "source + target" baseline of
    few-shot adaptation). It is the reference every transfer method must beat,
    and the final step that keeps unlabelled target rows away from a plain
    classifier in a Pipeline. It takes scipy sparse rows (CSR or CSC) when
    the wrapped estimator does, e.g. after an adapter with sparse output.

    With several source domains (positive ids) their labelled rows are
    pooled into one training set: the wrapped estimator does not see which
    corpus a row comes from.

    Parameters
    ----------
    estimator : estimator object, default=None
        The estimator to train; ``None`` means
        ``LogisticRegression(max_iter=1000)``.
    sampler : imbalanced-learn sampler, default=None
        Resampler applied to the labelled training rows (imbalanced-learn's
        samplers balance classes: a regressor refuses them, all but
        ``FunctionSampler(validate=False)``).
    use_target_labels : bool, default=False
        Also train on the labelled target rows (few-shot baseline).

    Attributes
    ----------
    estimator_ : estimator object
        The fitted wrapped estimator.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    DomainStandardScaler : Per-domain standardisation, the cheapest adapter.

    References
    ----------
    .. [1] S. J. Pan and Q. Yang, "A survey on transfer learning", IEEE
       Transactions on Knowledge and Data Engineering 22(10), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from sertl_core import SourceOnly
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0], [3.0]])
    >>> y = np.array(["sad", "sad", "angry", "angry", "-1"])
    >>> clf = SourceOnly(SVC()).fit(X, y)
    >>> clf.classes_.tolist()
    ['angry', 'sad']
    """

    registry_name = "source_only"
    # the wrapped estimator gets the rows as they are, whatever their domain
    _predict_uses_domain = False
    _sertl_auto_candidate = False
    _needs_target = False

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [object, None],
        "use_target_labels": ["boolean"],
    }

    def __init__(self, estimator=None, *, sampler=None, use_target_labels=False):
        super().__init__(estimator, sampler=sampler)
        self.use_target_labels = use_target_labels

    def _accept_sparse(self):
        # the rows go to the wrapped estimator as they are: sparse rows when
        # it takes them (row masks index CSR and CSC)
        if _tags_of(self._get_estimator()).input_tags.sparse:
            return ("csr", "csc")
        return False

    def _fit(self, data: DomainData) -> None:
        self._validate_params()
        rows = data.labeled if self.use_target_labels else (data.labeled & data.source)
        assert data.y is not None  # TransferEstimator.fit requires labels
        self._fit_estimator(data.X[rows], data.y[rows], data.weights(rows))


class DomainStandardScaler(OneToOneFeatureMixin, DomainAdapter):
    """Standardise each domain with its own mean and standard deviation.

    Per-domain (per-corpus) standardisation removes the first- and
    second-order differences between corpora (microphone, room, loudness,
    speaker population). It is the strongest cheap baseline of cross-corpus
    SER. At ``transform`` time each row is scaled with the statistics of its
    own domain; without ``sample_domain`` every row is target data and is
    scaled with the pooled statistics of the target domain(s) seen in fit
    (``target_stats="fit"``) or with the statistics of the batch itself
    (``target_stats="batch"``, e.g. a new corpus seen only at deployment).
    The statistics are computed in float64; float32 rows are returned as
    float32, as scikit-learn's scalers do.

    A domain with a single row in fit has that row as its mean and no
    spread: its rows come out as ``x - row``, not standardised. Fit warns
    (:class:`~sertl_core.SertlWarning`), naming the domain (a target
    domain only with ``target_stats="fit"``: with ``"batch"`` its rows are
    scaled with the statistics of the batch).

    Fitted without target rows (no negative ``sample_domain`` and no
    unlabelled row), the rows of fit double as the target, as with the other
    adapters (see :class:`~sertl_core.NoTargetWarning`): with
    ``target_stats="fit"`` target rows, given without ``sample_domain`` or
    with a negative id, are scaled with the pooled statistics of all the
    rows of fit, so no shift is removed. When ``sample_domain`` was not
    given, fit warns with :class:`~sertl_core.NoTargetWarning`; with an
    explicit ``sample_domain`` that has source ids only, fit is silent, the
    source rows are scaled per domain, and target rows take the same
    fallback, for which ``transform`` warns
    (:class:`~sertl_core.NoTargetWarning`, as in leave-one-domain-out).
    ``target_stats="batch"`` needs no target rows in fit.

    With several source domains (positive ids) each is standardised with its
    own statistics, never pooled with another; so is each target domain given
    with its own id.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre each domain.
    with_std : bool, default=True
        Scale each domain to unit variance.
    target_stats : {"fit", "batch"}, default="fit"
        Statistics for target rows at transform time: those learned in fit,
        or those of the transformed batch, each target domain of the batch
        with its own (also used for target domain ids not seen in fit). With
        ``"fit"``, target domain ids not seen in fit are refused, unless fit
        saw no target rows at all: they are then scaled like rows given
        without ``sample_domain``, with the statistics of all the rows of
        fit, and transform warns (:class:`~sertl_core.NoTargetWarning`)
        unless fit already did. Use ``"batch"`` to test on a domain that fit
        never sees, as in leave-one-domain-out
        (:class:`~sertl_core.model_selection.LeaveOneDomainOut`). With
        ``"batch"``, a target domain of a single row is refused (it has no
        spread: every feature would be 0) and one of fewer than
        :attr:`min_batch_rows` rows warns: the mean and spread of so few
        utterances follow what they say and feel more than how they were
        recorded.

    Attributes
    ----------
    domains_ : ndarray of int of shape (n_domains,)
        Domain ids seen in fit.
    mean_ : ndarray of shape (n_domains, n_features)
        Mean of each domain (zeros when ``with_mean=False``).
    scale_ : ndarray of shape (n_domains, n_features)
        Standard deviation of each domain (ones when ``with_std=False``;
        zero variances are replaced by 1).
    target_mean_ : ndarray of shape (n_features,)
        Pooled mean of the target rows seen in fit (of all the rows of fit
        when it saw no target rows).
    target_scale_ : ndarray of shape (n_features,)
        Pooled standard deviation of the target rows seen in fit (of all the
        rows of fit when it saw no target rows).
    n_features_in_ : int
        Number of features seen in fit.
    min_batch_rows : int
        Class attribute, 10: with ``target_stats="batch"``, a target domain
        transformed with fewer rows than this warns.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : One set of statistics for all rows.

    References
    ----------
    .. [1] B. Schuller, B. Vlasenko, F. Eyben, M. Wöllmer, A. Stuhlsatz,
       A. Wendemuth and G. Rigoll, "Cross-corpus acoustic emotion
       recognition: variances and strategies", IEEE Transactions on
       Affective Computing 1(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import DomainStandardScaler
    >>> X = np.array([[0.0], [2.0], [10.0], [14.0]])
    >>> sd = np.array([1, 1, -1, -1])
    >>> DomainStandardScaler().fit_transform(X, sample_domain=sd).ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    >>> DomainStandardScaler().fit(X, sample_domain=sd).transform([[12.0]]).tolist()
    [[0.0]]
    """

    registry_name = "domain_standard_scaler"
    min_batch_rows = 10
    _sertl_auto_candidate = False
    _transform_uses_domain = True
    _needs_source = False
    _needs_target = False

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "target_stats": [StrOptions({"fit", "batch"})],
    }

    def __init__(self, *, with_mean=True, with_std=True, target_stats="fit"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.target_stats = target_stats

    def _stats(self, X):
        return mean_scale(X, self.with_mean, self.with_std)

    def _validate_fit(self, X, y, sample_domain):
        data = super()._validate_fit(X, y, sample_domain)
        # transform warns about the fallback below unless fit already did
        self._fallback_warned = (
            sample_domain is None
            and self.target_stats == "fit"
            and not data.target.any()
        )
        if self._fallback_warned:
            # the core's self-target fallback (resolve_domains) applies to
            # methods that need target rows; this scaler needs them only for
            # the target statistics, and takes all the rows of fit instead
            warnings.warn(
                "DomainStandardScaler saw no target rows in fit (no "
                "sample_domain and no unlabelled rows), so the rows of fit "
                "double as the target: target rows at transform time are "
                "scaled with the statistics of all the rows of fit and no "
                "shift is removed. Mark target rows unlabelled (the label -1, "
                "NaN for regression targets), pass sample_domain with "
                "negative target ids, or set target_stats='batch' to scale "
                "target rows with their own statistics.",
                NoTargetWarning,
                stacklevel=external_stacklevel(),
            )
        return data

    def _warn_fallback(self, rows):
        """Warn that target ``rows`` get the statistics of a fit without target rows.

        Silent when fit already said so (it had no ``sample_domain``).
        """
        if getattr(self, "_fallback_warned", False):
            return
        warnings.warn(
            f"DomainStandardScaler saw no target rows in fit (domain ids "
            f"{self.domains_.tolist()} only), so {rows} are scaled with the "
            "pooled statistics of all the rows of fit, not with statistics of "
            "their own domain: its shift is not removed (in leave-one-domain-"
            "out, down to chance-level scores). Set target_stats='batch' to "
            "scale target rows with the statistics of their own domain in "
            "the batch, or fit with that domain's unlabelled rows (negative "
            "sample_domain ids).",
            NoTargetWarning,
            stacklevel=external_stacklevel(),
        )

    def _batch_stats(self, X, rows):
        """Statistics of a batch of target ``rows`` (``target_stats="batch"``).

        A single row is refused (no spread: every feature would be 0); fewer
        than :attr:`min_batch_rows` rows warn.
        """
        n = X.shape[0]
        if (self.with_mean or self.with_std) and n < 2:
            raise ValueError(
                f"DomainStandardScaler(target_stats='batch') scales target rows "
                f"with the statistics of the batch, but {rows} are a single "
                "row: its mean is the row itself and its spread 0, so every "
                "feature would come out 0. Transform the rows of a target "
                f"domain together (at least {self.min_batch_rows}), or use "
                "target_stats='fit' to scale them with the target statistics "
                "learned in fit."
            )
        if (self.with_mean or self.with_std) and n < self.min_batch_rows:
            warnings.warn(
                f"DomainStandardScaler(target_stats='batch'): {rows} are only "
                f"{n} rows, fewer than {self.min_batch_rows}: the mean and "
                "spread of so few utterances follow what they say and feel "
                "more than how they were recorded, so the scaled features are "
                "unreliable. Transform more rows of the domain at once, or use "
                "target_stats='fit'.",
                SertlWarning,
                stacklevel=external_stacklevel(),
            )
        return self._stats(X)

    def _warn_single_rows(self, ids):
        """Warn that the domains ``ids`` have a single row in fit.

        Such a domain's mean is its row and its spread 0 (replaced by 1), so
        its rows come out as ``x - row``: centred on one utterance, not
        standardised.
        """
        if ids.size == 0:
            return
        target = (ids < 0).any()
        warnings.warn(
            f"DomainStandardScaler: domain(s) {ids.tolist()} have a single row "
            "in fit, so their mean is that row and their spread 0: their rows "
            "are only shifted by that one utterance (x - row), not "
            "standardised. Give each domain more rows (at least "
            f"{self.min_batch_rows}), or give the row the id of a domain it "
            "belongs with"
            + (
                "; for a target domain, target_stats='batch' scales its rows "
                "with the statistics of the batch they are transformed in, "
                "and rows transformed without sample_domain get the pooled "
                "statistics of all the target rows of fit"
                if target
                else ""
            )
            + ".",
            SertlWarning,
            stacklevel=external_stacklevel(),
        )

    def _fit(self, data: DomainData) -> None:
        self._validate_params()
        X = data.X
        sd = data.sample_domain
        self.domains_, counts = np.unique(sd, return_counts=True)
        single = self.domains_[counts == 1]
        if self.target_stats == "batch":  # target rows use the batch's own
            single = single[single > 0]
        if self.with_mean or self.with_std:
            self._warn_single_rows(single)
        stats = [self._stats(X[sd == d]) for d in self.domains_]
        self.mean_ = np.array([m for m, _ in stats])
        self.scale_ = np.array([s for _, s in stats])
        tgt = sd < 0
        # No target rows in fit: target rows at transform fall back to all rows.
        self.target_mean_, self.target_scale_ = self._stats(X[tgt] if tgt.any() else X)

    def transform(self, X, *, sample_domain=None):
        """Standardise rows with the statistics of their domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to transform.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Domain of each row. Omitted, every row is target data, scaled
            with the pooled target statistics of fit (``target_stats="fit"``)
            or with the batch's own (``target_stats="batch"``).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Standardised rows.
        """
        if sample_domain is not None:
            return self._checked_transform(X, sample_domain)
        X, _ = self._validate_fitted_X(X, None)
        if self.target_stats == "batch":
            mean, scale = self._batch_stats(X, "the rows (target data)")
        else:
            if not (self.domains_ < 0).any():
                self._warn_fallback("the rows, given without sample_domain,")
            mean, scale = self.target_mean_, self.target_scale_
        return _standardize(X, mean, scale)

    def _transform(self, X, sample_domain):
        out = np.empty_like(X)  # float32 rows stay float32
        batch = self.target_stats == "batch"
        # fitted without target rows, the rows of fit are the target: any
        # target id is scaled as rows without sample_domain are
        self_target = not (self.domains_ < 0).any()
        try:
            check_known_domains(
                sample_domain, self.domains_, fallback_target=batch or self_target
            )
        except DomainError as exc:
            if batch or not (np.asarray(sample_domain) < 0).any():
                raise
            raise DomainError(
                f"{exc} To scale a target domain that fit never saw with its "
                "own statistics, set target_stats='batch'."
            ) from None
        if self_target and not batch and (sample_domain < 0).any():
            ids = np.unique(sample_domain[sample_domain < 0]).tolist()
            self._warn_fallback(f"the rows of target domain id(s) {ids}")
        for d in np.unique(sample_domain):
            rows = sample_domain == d
            if d < 0 and batch:
                mean, scale = self._batch_stats(X[rows], f"the rows of domain {d}")
            elif d < 0 and self_target:
                mean, scale = self.target_mean_, self.target_scale_
            else:
                i = int(np.searchsorted(self.domains_, d))
                mean, scale = self.mean_[i], self.scale_[i]
            out[rows] = _standardize(X[rows], mean, scale)
        return out

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())


class SourceStandardScaler(OneToOneFeatureMixin, DomainAdapter):
    """Standardise every row with the statistics of the source rows only.

    The "no adaptation" preprocessing of cross-corpus SER: the scaler sees
    only the training corpora, as a model trained on the source would be
    deployed. Unlike a plain ``StandardScaler`` in a Pipeline, unlabelled
    target rows passed to ``fit`` do not leak into the statistics. Several
    source domains are pooled. The statistics are computed in float64;
    float32 rows are returned as float32, as scikit-learn's scalers do.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre with the source mean.
    with_std : bool, default=True
        Scale with the source standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the source rows (zeros when ``with_mean=False``).
    scale_ : ndarray of shape (n_features,)
        Standard deviation of the source rows (zero deviations replaced by 1;
        ones when ``with_std=False``).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    DomainStandardScaler : Each domain with its own statistics.

    References
    ----------
    .. [1] B. Schuller, B. Vlasenko, F. Eyben, M. Wöllmer, A. Stuhlsatz,
       A. Wendemuth and G. Rigoll, "Cross-corpus acoustic emotion
       recognition: variances and strategies", IEEE Transactions on
       Affective Computing 1(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceStandardScaler
    >>> X = np.array([[0.0], [2.0], [10.0]])
    >>> SourceStandardScaler().fit_transform(X, [0, 1, -1]).ravel().tolist()
    [-1.0, 1.0, 9.0]
    """

    registry_name = "source_standard_scaler"
    _sertl_auto_candidate = False
    _transform_uses_domain = False
    _needs_target = False

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _fit(self, data: DomainData) -> None:
        self._validate_params()
        X = data.X[data.source]
        self.mean_, self.scale_ = mean_scale(X, self.with_mean, self.with_std)

    def _transform(self, X, sample_domain):
        return _standardize(X, self.mean_, self.scale_)

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())
