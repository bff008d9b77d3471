"""The no-adaptation scaler: statistics of the source rows only."""

from __future__ import annotations

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from sertl_core import DomainAdapter

__all__ = ["SourceStandardScaler"]


class SourceStandardScaler(OneToOneFeatureMixin, DomainAdapter):
    """Standardise every row with the mean and scale of the labelled source rows.

    The "no adaptation" preprocessing of cross-corpus SER: the scaler
    sees only the training corpus, exactly as a model trained on the
    source would be deployed. Unlike a plain ``StandardScaler`` in a
    Pipeline, unlabelled target rows passed to ``fit`` do not leak into
    the statistics.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the source rows.
    scale_ : ndarray of shape (n_features,)
        Standard deviation of the source rows (zeros replaced by 1).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    sertl_core.DomainStandardScaler : Each domain with its own statistics.

    References
    ----------
    .. [1] B. Schuller, B. Vlasenko, F. Eyben, M. Wöllmer, A. Stuhlsatz,
       A. Wendemuth and G. Rigoll, "Cross-corpus acoustic emotion
       recognition: variances and strategies", IEEE Transactions on
       Affective Computing 1(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import SourceStandardScaler
    >>> X = np.array([[0.0], [2.0], [10.0]])
    >>> SourceStandardScaler().fit_transform(X, [0, 1, -1]).ravel().tolist()
    [-1.0, 1.0, 9.0]
    """

    registry_name = "source_standard_scaler"
    _needs_target = False

    def _fit(self, data):
        X = data.X[data.source].astype(np.float64, copy=False)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale <= 10 * np.finfo(float).eps * np.maximum(1, np.abs(self.mean_))] = (
            1.0
        )
        self.scale_ = scale

    def _transform(self, X, sample_domain):
        return (X.astype(np.float64, copy=False) - self.mean_) / self.scale_
