"""Subspace alignment (Fernando, Habrard, Sebban and Tuytelaars, ICCV 2013)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import linalg
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils._param_validation import Interval

from sertl_core import DomainAdapter

from ._utils import check_source_ids

__all__ = ["SubspaceAlignment"]

DEFAULT_N_COMPONENTS = 30
"""Components used when ``n_components=None`` (capped by what the data allows)."""


def resolve_n_components(n_components, n_max, what):
    """Return the number of components, or a clear error when too many.

    Parameters
    ----------
    n_components : int or None
        Requested number; None means ``min(DEFAULT_N_COMPONENTS, n_max)``.
    n_max : int
        The largest number the fitted data allows.
    what : str
        Why ``n_max`` is the limit, for the error message.

    Returns
    -------
    n : int

    Examples
    --------
    >>> from sertl_feature._subspace import resolve_n_components
    >>> resolve_n_components(None, 5, "n_features")
    5
    """
    if n_max < 1:
        raise ValueError(
            f"No component can be extracted: {what} is {n_max}. Pass data with "
            "more rows or non-constant features."
        )
    if n_components is None:
        return min(DEFAULT_N_COMPONENTS, n_max)
    if n_components > n_max:
        raise ValueError(
            f"n_components={n_components} is larger than possible for this "
            f"data: at most {n_max} ({what}). Pass n_components <= {n_max}."
        )
    return int(n_components)


def _principal_axes(X, n_components):
    """Leading principal axes (d x m) of the centred rows, deterministic sign."""
    Xc = X - X.mean(axis=0)
    d = X.shape[1]
    w, V = linalg.eigh(Xc.T @ Xc, subset_by_index=[d - n_components, d - 1])
    V = V[:, ::-1]
    # Sign convention: the largest-magnitude loading of each axis is positive.
    signs = np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


class SubspaceAlignment(ClassNamePrefixFeaturesOutMixin, DomainAdapter):
    """Subspace alignment: map the source PCA basis onto the target's.

    Each domain is centred with its own mean and described by its leading
    ``n_components`` principal axes (``P_s`` for a source domain, ``P_t``
    for the pooled target rows). The alignment ``M_s = P_s.T @ P_t`` is the
    closed-form minimiser of ``||P_s M - P_t||_F`` (Fernando et al., 2013).

    What ``transform`` does to each row:

    * source rows of source domain ``s``: ``(x - m_s) @ P_s @ M_s``, the
      source coordinates expressed in the aligned target subspace. Every
      source domain seen in fit has its own basis and alignment; an unseen
      source id is an error.
    * target rows (negative ``sample_domain``, and every row when
      ``sample_domain`` is omitted): ``(x - m_t) @ P_t``, projected onto the
      target's own subspace. Several target domains share one pooled basis.

    Parameters
    ----------
    n_components : int or None, default=None
        Dimension of the subspaces; None means ``min(30, max)``, where the
        maximum is ``n_features`` and the row count of the smallest domain.
        Fernando et al. choose it with a stability bound; here it is a
        hyper-parameter to grid-search.

    Attributes
    ----------
    n_components_ : int
        Dimension used.
    source_domains_ : ndarray of int of shape (n_source_domains,)
        Source domain ids seen in fit.
    source_means_ : ndarray of shape (n_source_domains, n_features)
        Mean of each source domain.
    source_components_ : ndarray of shape (n_source_domains, n_features, n_components)
        Principal axes ``P_s`` of each source domain (columns).
    alignments_ : ndarray of shape (n_source_domains, n_components, n_components)
        ``M_s = P_s.T @ P_t``.
    target_mean_ : ndarray of shape (n_features,)
        Mean of the pooled target rows.
    target_components_ : ndarray of shape (n_features, n_components)
        Principal axes ``P_t`` of the pooled target rows.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    CORAL : Align the full covariances instead of principal subspaces.
    TCA : Learn one shared kernel embedding.

    References
    ----------
    .. [1] B. Fernando, A. Habrard, M. Sebban and T. Tuytelaars,
       "Unsupervised visual domain adaptation using subspace alignment",
       ICCV 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature import SubspaceAlignment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5))
    >>> sd = np.r_[np.ones(30, int), -np.ones(30, int)]
    >>> sa = SubspaceAlignment(n_components=2).fit(X, sample_domain=sd)
    >>> sa.transform(X[:3]).shape
    (3, 2)
    >>> sa.get_feature_names_out().tolist()
    ['subspacealignment0', 'subspacealignment1']
    """

    registry_name = "subspace_alignment"

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, n_components=None):
        self.n_components = n_components

    def _fit(self, data):
        self._validate_params()
        X = data.X.astype(np.float64, copy=False)
        sd = data.sample_domain
        ids = np.unique(sd)
        smallest = min(int((sd == i).sum()) for i in ids[ids > 0])
        smallest = min(smallest, int(data.target.sum()))
        n_max = min(X.shape[1], smallest)
        m = resolve_n_components(
            self.n_components,
            n_max,
            f"min(n_features={X.shape[1]}, rows of the smallest domain={smallest})",
        )
        Xt = X[data.target]
        self.target_mean_ = Xt.mean(axis=0)
        self.target_components_ = _principal_axes(Xt, m)
        self.source_domains_ = ids[ids > 0]
        means, comps, aligns = [], [], []
        for dom in self.source_domains_:
            Xs = X[sd == dom]
            P = _principal_axes(Xs, m)
            means.append(Xs.mean(axis=0))
            comps.append(P)
            aligns.append(P.T @ self.target_components_)
        self.source_means_ = np.array(means)
        self.source_components_ = np.array(comps)
        self.alignments_ = np.array(aligns)
        self.n_components_ = m
        self._n_features_out = m

    def _transform(self, X, sample_domain):
        X = X.astype(np.float64, copy=False)
        check_source_ids(sample_domain, self.source_domains_)
        out = (X - self.target_mean_) @ self.target_components_
        for i, dom in enumerate(self.source_domains_):
            rows = sample_domain == dom
            if rows.any():
                P = self.source_components_[i] @ self.alignments_[i]
                out[rows] = (X[rows] - self.source_means_[i]) @ P
        return out
