"""Per-speaker z-normalisation of acoustic features."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sertl_core import SertlWarning, external_stacklevel, is_unlabeled
from sertl_core.base import _warn_if_frozen_missed_metadata
from sertl_core.params import Interval, ParamValidationMixin, StrOptions
from sertl_core.utils import preserve_float32

__all__ = ["MissingSpeakerWarning", "SpeakerConfoundWarning", "SpeakerNormalizer"]


class SpeakerConfoundWarning(SertlWarning):
    """Most training rows belong to speakers heard with a single emotion.

    Normalising such a speaker with its own statistics removes the emotion
    along with the voice; per-speaker normalisation then hurts.

    Examples
    --------
    >>> import pytest, numpy as np
    >>> from sertl_speech import SpeakerConfoundWarning, SpeakerNormalizer
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0]])
    >>> with pytest.warns(SpeakerConfoundWarning, match="single emotion"):
    ...     _ = SpeakerNormalizer().fit(X, ["sad", "sad", "happy", "happy"],
    ...                                 speaker=["a", "a", "b", "b"])
    """


class MissingSpeakerWarning(SertlWarning):
    """``transform`` got no speaker ids from a normaliser fitted per speaker.

    :class:`SpeakerNormalizer` then scales every row with the pooled training
    statistics, so a model trained on rows normalised per speaker is applied
    to, or scored on, rows normalised globally: in a grid search or
    ``cross_val_score`` with metadata routing off (scikit-learn's default),
    where ``speaker`` reaches ``fit`` but never ``transform``, its scores are
    those of another preprocessing. Turn routing on
    (``sklearn.set_config(enable_metadata_routing=True)``) and pass
    ``speaker=ids`` to the search's ``fit`` or the pipeline's ``predict``.

    Examples
    --------
    >>> import pytest, numpy as np
    >>> from sertl_speech import MissingSpeakerWarning, SpeakerNormalizer
    >>> X = np.array([[0.0], [2.0], [5.0], [9.0]])
    >>> norm = SpeakerNormalizer().fit(X, speaker=["a", "a", "b", "b"])
    >>> with pytest.warns(MissingSpeakerWarning, match="no speaker ids"):
    ...     _ = norm.transform(X)
    """


def _speaker_ids(speaker, n_rows):
    arr = np.asarray(speaker, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(
            f"speaker has {arr.size} values but X has {n_rows} rows: pass one "
            "speaker id per row (e.g. table['corpus'] + ':' + table['speaker'])."
        )
    # pandas.isna also catches pd.NA (nullable "string" columns), NaT and
    # numpy float scalars of any width, which str() would turn into an id
    import pandas as pd

    missing = np.flatnonzero(pd.isna(arr)).tolist()
    if missing:
        raise ValueError(
            f"speaker has missing ids (None or NaN) at rows {missing[:10]}: give every "
            "row an id (use one shared id such as 'unknown' for rows without one)."
        )
    return np.array([str(s) for s in arr], dtype=object)


def _refuse_fit_params(norm, fit_params):
    """Refuse keywords SpeakerNormalizer's fit does not take, with the fix.

    Python's own "unexpected keyword argument" did not say that the
    normaliser groups rows by speaker, not by domain, nor what to pass: a
    user who treats it as the domain adapter it is registered next to passes
    ``norm__sample_domain=d``.

    Examples
    --------
    >>> _refuse_fit_params(SpeakerNormalizer(), {})
    >>> try:
    ...     _refuse_fit_params(SpeakerNormalizer(), {"sample_domain": [1, -1]})
    ... except TypeError as err:
    ...     print(str(err)[:70])
    SpeakerNormalizer.fit got an unexpected keyword argument 'sample_domai
    """
    if not fit_params:
        return
    name = type(norm).__name__
    keys = sorted(fit_params)
    message = (
        f"{name}.fit got an unexpected keyword argument"
        f"{'s' * (len(keys) > 1)} {', '.join(map(repr, keys))}: it "
        "takes only X, y and speaker. It normalises each speaker with that "
        "speaker's own statistics, so it needs the speaker id of each row: "
        "pass speaker=ids (in a Pipeline with metadata routing off "
        "pipe.fit(X, y, STEP__speaker=ids), with routing on "
        "pipe.fit(X, y, speaker=ids))."
    )
    if "sample_domain" in fit_params:
        message += (
            f" {name} does not use sample_domain: to standardise each corpus "
            "(domain) with its own statistics use "
            "sertl_core.DomainStandardScaler, which takes it."
        )
    raise TypeError(message)


class SpeakerNormalizer(
    ParamValidationMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Standardise the features of each speaker with that speaker's statistics.

    Each speaker's rows are centred on the speaker's mean and scaled by the
    speaker's standard deviation (z-normalisation per speaker). This removes
    voice- and recording-specific offsets that carry no emotion, and is one
    of the most effective cheap steps of cross-corpus speech emotion
    recognition when speaker ids are known.

    The speaker ids are metadata passed like ``sample_domain``:

    * metadata routing off (the default): ``norm.fit(X, speaker=ids)``, and
      in a Pipeline ``pipe.fit(X, y, norm__speaker=ids)``;
    * metadata routing on: ``pipe.fit(X, y, speaker=ids)`` and
      ``pipe.predict(X, speaker=ids)``; ``speaker`` is requested by default
      for ``fit`` and ``transform``.

    Ids are compared as strings; ids must be unique across corpora (e.g.
    ``corpus + ":" + speaker``).

    Behaviour in every case:

    * speakers seen in ``fit`` with at least ``min_samples`` rows are
      scaled with their own fitted statistics;
    * speakers not seen in ``fit`` (a new corpus, new test speakers) are
      scaled with the statistics of their own rows in the transformed batch
      (``unseen="batch"``, the usual protocol: each test speaker's
      recordings are normalised together) or with the pooled training
      statistics (``unseen="global"``);
    * a speaker with fewer than ``min_samples`` rows (in ``fit``, or in the
      batch when unseen) has no reliable statistics: it is scaled with the
      pooled training statistics, never divided by a zero variance;
    * when ``fit`` gets labels ``y`` and more than half of the labelled rows
      belong to speakers heard with a single emotion, it warns
      (:class:`SpeakerConfoundWarning`): centring those speakers removes
      the emotion itself (e.g. corpora cut from broadcasts, where a guest
      has one mood);
    * without ``speaker`` in ``fit`` all rows are one group: the estimator
      is a plain standard scaler fitted on the training batch; without
      ``speaker`` in ``transform`` every row is scaled with the pooled
      training statistics. After a ``fit`` with speaker ids that is another
      preprocessing than the one the next step was trained on, so
      ``transform`` warns (:class:`MissingSpeakerWarning`): this is what a
      plain ``predict`` of a Pipeline, ``GridSearchCV`` or
      ``cross_val_score`` do with routing off, which pass ``speaker`` to
      ``fit`` only. Turn routing on and pass ``speaker`` to them;
    * the statistics are computed in float64; float32 rows are returned as
      float32, as scikit-learn's scalers do.

    With several source domains (corpora) nothing is pooled across speakers,
    but the speaker ids must differ across corpora: two corpora that number
    their speakers alike would be normalised as shared speakers, silently.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre each speaker.
    with_std : bool, default=True
        Scale each speaker to unit variance (zero variances are left as 1).
    unseen : {"batch", "global"}, default="batch"
        Statistics for speakers not seen in fit.
    min_samples : int, default=2
        Fewest rows a speaker needs to get its own statistics.

    Attributes
    ----------
    speakers_ : ndarray of str of shape (n_speakers,)
        Speakers with their own statistics, sorted.
    small_speakers_ : ndarray of str
        Speakers seen in ``fit`` with fewer than ``min_samples`` rows,
        sorted: their rows are scaled with the pooled training statistics
        (also in a later batch, where they are not unseen speakers).
    mean_ : ndarray of shape (n_speakers, n_features)
        Mean of each speaker in ``speakers_``.
    scale_ : ndarray of shape (n_speakers, n_features)
        Standard deviation of each speaker (1 where it is zero).
    global_mean_ : ndarray of shape (n_features,)
        Mean of all training rows.
    global_scale_ : ndarray of shape (n_features,)
        Standard deviation of all training rows.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names seen in fit, when X had them.

    See Also
    --------
    sertl_core.DomainStandardScaler : Per-domain (per-corpus) standardisation.
    sklearn.preprocessing.StandardScaler : One set of statistics for all rows.

    References
    ----------
    .. [1] B. Schuller, B. Vlasenko, F. Eyben, M. Wöllmer, A. Stuhlsatz,
       A. Wendemuth and G. Rigoll, "Cross-corpus acoustic emotion
       recognition: variances and strategies", IEEE Transactions on
       Affective Computing 1(2), 119-131, 2010.
    .. [2] C. Busso, A. Metallinou and S. S. Narayanan, "Iterative feature
       normalization for emotional speech detection", ICASSP 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech import SpeakerNormalizer
    >>> X = np.array([[1.0], [3.0], [10.0], [14.0]])
    >>> spk = ["anna", "anna", "ben", "ben"]
    >>> norm = SpeakerNormalizer().fit(X, speaker=spk)
    >>> norm.transform(X, speaker=spk).ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]

    A new speaker is normalised with the statistics of its own rows:

    >>> norm.transform([[100.0], [104.0]], speaker=["cleo", "cleo"]).ravel().tolist()
    [-1.0, 1.0]

    In a Pipeline with metadata routing off, pass ``step__speaker`` to fit:

    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.svm import SVC
    >>> y = ["sad", "angry", "sad", "angry"]
    >>> pipe = Pipeline([("norm", SpeakerNormalizer()), ("clf", SVC())])
    >>> pipe.fit(X, y, norm__speaker=spk).named_steps["norm"].speakers_.tolist()
    ['anna', 'ben']

    With metadata routing on, ``speaker`` reaches ``transform`` at predict time:

    >>> import sklearn
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe = pipe.fit(X, y, speaker=spk)
    ...     pipe.predict([[100.0], [104.0]], speaker=["cleo", "cleo"]).tolist()
    ['sad', 'angry']
    """

    registry_name = "speaker_normalizer"
    _sertl_auto_candidate = False

    __metadata_request__fit = {"speaker": True}
    __metadata_request__transform = {"speaker": True}

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "unseen": [StrOptions({"batch", "global"})],
        "min_samples": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, with_mean=True, with_std=True, unseen="batch", min_samples=2):
        self.with_mean = with_mean
        self.with_std = with_std
        self.unseen = unseen
        self.min_samples = min_samples

    def _group_stats(self, X, inverse, n_groups):
        counts = np.bincount(inverse, minlength=n_groups).astype(float)
        means = np.zeros((n_groups, X.shape[1]))
        np.add.at(means, inverse, X)
        means /= np.maximum(counts, 1.0)[:, None]
        if self.with_std:
            sq = np.zeros_like(means)
            np.add.at(sq, inverse, (X - means[inverse]) ** 2)
            scales = self._safe_scale(
                np.sqrt(sq / np.maximum(counts, 1.0)[:, None]), means, counts
            )
        else:
            scales = np.ones_like(means)
        return means, scales, counts

    @staticmethod
    def _safe_scale(scale, mean, counts):
        # constant: no more deviation than the rounding of the mean (relative,
        # so that a feature varying on a scale of 1e-15 is still standardised).
        # The means are sums taken row after row (np.add.at), whose rounding
        # grows with the rows summed: about n eps |mean| for n rows, as
        # scikit-learn's StandardScaler allows (a constant 0.1 over 1000 rows
        # of one speaker deviates by 3e-16 from its computed mean)
        rows = np.maximum(np.asarray(counts, dtype=float), 10.0)[:, None]
        tiny = rows * np.finfo(float).eps * np.abs(mean)
        scale = scale.copy()
        scale[scale <= tiny] = 1.0
        return scale

    def fit(self, X, y=None, *, speaker=None, **fit_params):
        """Learn each speaker's mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,), default=None
            Labels; not used for the statistics, only to warn when most
            labelled rows belong to single-emotion speakers (``-1`` /
            ``"-1"`` rows are unlabelled).
        speaker : array-like of shape (n_samples,), default=None
            Speaker id of each row. Without it, all rows are one group.
        **fit_params : dict
            Not taken: any keyword (``sample_domain``, ``sample_weight``)
            raises a TypeError that says what to pass instead.

        Returns
        -------
        self : SpeakerNormalizer
            The fitted normaliser.
        """
        _refuse_fit_params(self, fit_params)
        self._validate_params()
        X = validate_data(self, X, reset=True, dtype=[np.float64, np.float32])
        X = X.astype(np.float64, copy=False)  # statistics in float64
        n = X.shape[0]
        ids = _speaker_ids(speaker, n) if speaker is not None else None
        gm, gs, _ = self._group_stats(X, np.zeros(n, dtype=np.intp), 1)
        self.global_mean_, self.global_scale_ = gm[0], gs[0]
        if ids is None:
            self.speakers_ = np.array([], dtype=object)
            self.small_speakers_ = np.array([], dtype=object)
            self.mean_ = np.zeros((0, X.shape[1]))
            self.scale_ = np.ones((0, X.shape[1]))
            return self
        names, inverse = np.unique(ids, return_inverse=True)
        if y is not None:
            self._warn_confound(np.asarray(y), inverse, names)
        means, scales, counts = self._group_stats(X, inverse, names.size)
        own = counts >= self.min_samples
        self.speakers_ = names[own]
        self.small_speakers_ = names[~own]
        self.mean_ = means[own]
        self.scale_ = scales[own]
        return self

    @staticmethod
    def _warn_confound(y, inverse, names):
        if y.ndim != 1 or y.shape[0] != inverse.shape[0]:
            return
        labeled = ~np.asarray(is_unlabeled(y), dtype=bool)
        if labeled.sum() == 0:
            return
        yl = y[labeled].astype(str)
        il = inverse[labeled]
        single = [k for k in np.unique(il) if np.unique(yl[il == k]).size == 1]
        share = np.isin(il, single).mean()
        if share > 0.5 and np.unique(yl).size > 1:
            shown = ", ".join(str(names[k]) for k in single[:10])
            warnings.warn(
                f"{share:.0%} of the labelled rows belong to speakers heard with a "
                f"single emotion ({shown}{' ...' if len(single) > 10 else ''}). "
                "Per-speaker normalisation removes the emotion of such speakers; "
                "use per-domain standardisation (sertl_core.DomainStandardScaler) "
                "for this data.",
                SpeakerConfoundWarning,
                stacklevel=external_stacklevel(),
            )

    def transform(self, X, *, speaker=None):
        """Standardise each row with the statistics of its speaker.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        speaker : array-like of shape (n_samples,), default=None
            Speaker id of each row. Without it, every row is scaled with the
            pooled training statistics, with a :class:`MissingSpeakerWarning`
            when ``fit`` had speaker ids.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Normalised features.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        dtype = X.dtype  # float32 rows come back float32
        X = X.astype(np.float64, copy=False)
        n = X.shape[0]
        # rows without speaker ids, or of no known speaker: the pooled statistics
        mean, scale = self.global_mean_, self.global_scale_
        fitted_per_speaker = self.speakers_.size or len(
            getattr(self, "small_speakers_", ())
        )
        # a Pipeline given speaker ids that a FrozenEstimator around this
        # normaliser kept from it: that warning, with its own fix, replaces
        # the general one below
        frozen_missed = speaker is None and _warn_if_frozen_missed_metadata(
            self,
            key="speaker",
            effect="scaled every row with the pooled training statistics, "
            "not per speaker",
            category=MissingSpeakerWarning,
        )
        if speaker is None and fitted_per_speaker and not frozen_missed:
            warnings.warn(
                "SpeakerNormalizer was fitted with per-speaker statistics, but "
                "transform got no speaker ids: every row is scaled with the "
                "pooled training statistics, not the per-speaker ones the next "
                "step was trained on (what GridSearchCV, cross_val_score and a "
                "Pipeline's predict do with metadata routing off). Turn routing "
                "on with sklearn.set_config(enable_metadata_routing=True) and "
                "pass speaker=... to fit, predict or score (or call "
                "transform(X, speaker=...)); a normaliser wrapped in "
                "FrozenEstimator needs set_transform_request(speaker=True) "
                "before it is wrapped.",
                MissingSpeakerWarning,
                stacklevel=external_stacklevel(),
            )
        if speaker is not None:
            ids = _speaker_ids(speaker, n)
            names, inverse = np.unique(ids, return_inverse=True)
            pos = (
                np.searchsorted(self.speakers_, names) if self.speakers_.size else None
            )
            # one row of statistics per speaker of X, then one gather (a mask
            # per speaker was a pass over every row for each of them)
            mean = np.tile(self.global_mean_, (names.size, 1))
            scale = np.tile(self.global_scale_, (names.size, 1))
            unseen = []
            small = set(getattr(self, "small_speakers_", ()))
            for k, name in enumerate(names):
                if (
                    pos is not None
                    and pos[k] < self.speakers_.size
                    and self.speakers_[pos[k]] == name
                ):
                    mean[k] = self.mean_[pos[k]]
                    scale[k] = self.scale_[pos[k]]
                elif name not in small:  # small speakers keep the pooled stats
                    unseen.append(k)
            if unseen and self.unseen == "batch":
                batch_mean, batch_scale, counts = self._group_stats(
                    X, inverse, names.size
                )
                for k in unseen:
                    if counts[k] >= self.min_samples:
                        mean[k] = batch_mean[k]
                        scale[k] = batch_scale[k]
            mean, scale = mean[inverse], scale[inverse]
        if not self.with_mean:
            mean = 0.0
        if not self.with_std:
            scale = 1.0
        return ((X - mean) / scale).astype(dtype, copy=False)

    def fit_transform(self, X, y=None, *, speaker=None, **fit_params):
        """Fit, then normalise the training rows with their speakers' statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,), default=None
            Labels, used only to warn about speakers heard with a single
            emotion (:class:`SpeakerConfoundWarning`).
        speaker : array-like of shape (n_samples,), default=None
            Speaker id of each row.
        **fit_params : dict
            Not taken, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Normalised features.
        """
        _refuse_fit_params(self, fit_params)
        return self.fit(X, y, speaker=speaker).transform(X, speaker=speaker)

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())
