"""Subspace alignment (Fernando, Habrard, Sebban and Tuytelaars, ICCV 2013)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import ClassNamePrefixFeaturesOutMixin

from sertl_core import DomainAdapter
from sertl_core.params import Interval, RealNotInt, StrOptions
from sertl_core.utils import preserve_float32

from ._linalg import fix_signs
from ._utils import check_source_ids, domain_sizes, refuse_overflow

__all__ = ["SubspaceAlignment"]

DEFAULT_N_COMPONENTS = 30
"""TCA/JDA components when ``n_components=None`` (capped by what the data allows)."""


RANK_HINT = (
    " The rows span fewer directions than there are features: look for "
    "constant or collinear features, and for features on scales so far apart "
    "(1e-8 next to 1e8) that the smaller ones vanish in rounding; "
    "standardising the features (e.g. sertl_core.DomainStandardScaler first) "
    "brings those back."
)
"""Said when the rank of the rows, not their number, limits the components."""


def resolve_n_components(
    n_components, n_max, what, *, default=DEFAULT_N_COMPONENTS, hint=""
):
    """Return the number of components, or a clear error when too many.

    Parameters
    ----------
    n_components : int or None
        Requested number; None means ``min(default, n_max)``.
    n_max : int
        The largest number the fitted data allows.
    what : str
        Why ``n_max`` is the limit, for the error message.
    default : int, default=DEFAULT_N_COMPONENTS
        Number used when ``n_components`` is None (capped at ``n_max``).
    hint : str, default=""
        Appended to the error (e.g. :data:`RANK_HINT`).

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
        return max(1, min(int(default), n_max))
    if n_components > n_max:
        raise ValueError(
            f"n_components={n_components} is larger than possible for this "
            f"data: at most {n_max} ({what}). Pass n_components <= {n_max}." + hint
        )
    return int(n_components)


def variance_dimension(eigenvalues, fraction):
    """Smallest number of leading components keeping ``fraction`` of the variance.

    The cumulative-percentage-of-variance rule (Jolliffe, 2002, Sec. 6.1.1).

    Parameters
    ----------
    eigenvalues : array-like of shape (n,)
        Covariance eigenvalues (any order; negatives from round-off count as 0).
    fraction : float in (0, 1]
        Fraction of the total variance to keep.

    Returns
    -------
    d : int
        At least 1, at most the number of eigenvalues.

    Examples
    --------
    >>> from sertl_feature._subspace import variance_dimension
    >>> variance_dimension([6.0, 3.0, 1.0], 0.9)
    2
    """
    w = np.sort(np.maximum(np.asarray(eigenvalues, dtype=float), 0.0))[::-1]
    total = w.sum()
    if total <= 0:
        return 1
    cum = np.cumsum(w) / total
    d = int(np.searchsorted(cum, fraction * (1 - 1e-12)) + 1)
    return min(max(d, 1), w.size)


def stability_dimension(eigenvalues, n_rows, max_sq_norm, *, gamma=1e5, delta=0.1):
    """Subspace dimension from the consistency bound of Fernando et al. (2013).

    Their theorem bounds, with probability ``1 - delta``, the deviation of
    the empirical alignment ``M`` from its population value by ``gamma`` as
    soon as the eigenvalue gap of both domains is large enough::

        lam_d - lam_(d+1) >= (1 + sqrt(ln(2 / delta) / 2))
                             * 16 d^(3/2) B / (gamma sqrt(n_min))

    with ``lam_j`` the ``j``-th largest covariance eigenvalue, taken as the
    smallest over the domains, and ``n_min`` the smallest domain size. The
    paper states ``B`` as a bound on the data; here it is the largest
    squared norm of a centred row, the same unit as the eigenvalues, so the
    rule does not change when all features are rescaled (our reading, made
    so that the rule is scale-free). The dimension is the largest ``d``
    that satisfies the condition, and 1 when none does.

    Parameters
    ----------
    eigenvalues : list of array-like
        Covariance eigenvalues (divisor ``n``) of each domain, any order.
    n_rows : int
        Rows of the smallest domain (``n_min``).
    max_sq_norm : float
        ``B``: the largest squared norm of a centred row over all domains.
    gamma : float, default=1e5
        Tolerance on the deviation of ``M``.
    delta : float, default=0.1
        Confidence parameter.

    Returns
    -------
    d : int

    Examples
    --------
    >>> from sertl_feature._subspace import stability_dimension
    >>> stability_dimension([[9.0, 1.0, 0.5, 0.4]], 1000, 20.0, gamma=1e3)
    2
    >>> stability_dimension([[9.0, 1.0, 0.5, 0.4]], 1000, 20.0, gamma=1.0)
    1
    """
    lam = np.min(
        [
            np.sort(np.maximum(np.asarray(w, dtype=float), 0.0))[::-1]
            for w in eigenvalues
        ],
        axis=0,
    )
    d = np.arange(1, lam.size)
    if d.size == 0:
        return 1
    rhs = (1.0 + np.sqrt(np.log(2.0 / delta) / 2.0)) * 16.0 * d**1.5
    gap = lam[:-1] - lam[1:]
    with np.errstate(over="ignore"):
        bound = rhs * max_sq_norm / (gamma * np.sqrt(n_rows))
    if np.all(np.isfinite(bound)):
        ok = np.nonzero(gap >= bound)[0]
    else:  # B near the float64 limit (|x| ~ 1e153): the same test in units of B
        ok = np.nonzero(gap / max_sq_norm >= rhs / (gamma * np.sqrt(n_rows)))[0]
    return int(d[ok[-1]]) if ok.size else 1


def _spectrum(X):
    """Mean, covariance eigenvalues (descending, divisor n), axes, max sq. norm."""
    mean = X.mean(axis=0)
    Xc = X - mean
    w, V = linalg.eigh(Xc.T @ Xc / X.shape[0])
    w, V = np.maximum(w[::-1], 0.0), V[:, ::-1]
    sq = float(np.einsum("ij,ij->i", Xc, Xc).max()) if X.shape[0] else 0.0
    # Sign convention: the largest-magnitude loading of each axis is positive.
    return mean, w, fix_signs(V), sq


def _covariance_rank(w, shape):
    """Numerical rank of a centred domain from its covariance eigenvalues ``w``.

    The axes are eigenvectors of the covariance (``Xc.T @ Xc / n``), whose
    eigenvalues are resolved only to about ``max(n, d) * eps`` of the
    largest: below that an axis is rounding noise (a constant or collinear
    feature; numpy's ``matrix_rank`` threshold, on the eigenvalues that
    :func:`_spectrum` computes, not on singular values). Never above
    ``n - 1``.
    """
    n, d = shape
    if n < 2 or w.size == 0 or w[0] <= 0:
        return 0
    tol = w[0] * max(n, d) * np.finfo(float).eps
    return int(min(np.count_nonzero(w > tol), n - 1))


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

    Bases and maps are computed in float64; float32 rows are returned as
    float32, as scikit-learn's ``PCA`` does.

    With several source domains each has its own mean, basis and alignment,
    never pooled with another; several target domains are pooled into one
    target basis.

    Parameters
    ----------
    n_components : int, float in (0, 1) or "bound", default="bound"
        Dimension of the subspaces (one for all domains).

        * ``"bound"``: the largest dimension allowed by the consistency
          bound of Fernando et al. (2013) on the eigenvalue gaps of all
          domains, with tolerance ``gamma`` and confidence ``delta`` (see
          :func:`stability_dimension`; 1 when no dimension passes). The
          paper then tunes ``d`` below this maximum by cross-validation on
          labelled source data; this unsupervised adapter keeps the maximum.
          Chosen as the default on development corpus pairs (EmoDB <->
          RAVDESS held out), benchmarks/results/feature_defaults.md.
        * float in (0, 1): the smallest dimension that keeps this fraction
          of the variance in every domain (cumulative-variance rule).
        * int: that dimension.

        The dimension is at most the smallest rank of a centred domain
        (at most ``n_features`` and its row count minus one, less with
        constant or collinear features: further principal axes would be
        arbitrary directions of zero variance); an explicit int above that
        is an error.
    gamma : float > 0, default=1e5
        Tolerance of the bound (deviation of the alignment matrix ``M``
        allowed); larger values allow larger dimensions. Only used with
        ``n_components="bound"``.
    delta : float in (0, 1), default=0.1
        Confidence parameter of the bound (it holds with probability
        ``1 - delta``). Only used with ``n_components="bound"``.

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

    Notes
    -----
    With ``n_components`` equal to ``n_features`` the map is a rotation of
    each (centred) domain, the same one for all: a downstream model that is
    invariant to rotations sees no adaptation at all. The bound keeps only
    the dimensions whose principal axes are estimated stably.

    References
    ----------
    .. [1] B. Fernando, A. Habrard, M. Sebban and T. Tuytelaars,
       "Unsupervised visual domain adaptation using subspace alignment",
       ICCV 2013.
    .. [2] I. T. Jolliffe, "Principal Component Analysis", 2nd ed.,
       Springer, 2002, Sec. 6.1.1 (cumulative percentage of variance).

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
    >>> SubspaceAlignment(n_components=0.9).fit(X, sample_domain=sd).n_components_
    4
    >>> SubspaceAlignment().fit(X, sample_domain=sd).n_components_  # the bound
    4
    """

    registry_name = "subspace_alignment"
    _transform_uses_domain = True

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"bound"}),
        ],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, n_components="bound", gamma=1e5, delta=0.1):
        self.n_components = n_components
        self.gamma = gamma
        self.delta = delta

    @refuse_overflow
    def _fit(self, data):
        self._validate_params()
        X = data.X.astype(np.float64, copy=False)
        sd = data.sample_domain
        self.source_domains_, sizes = domain_sizes(
            sd, "SubspaceAlignment", "estimate its principal axes"
        )
        blocks = [X[sd == dom] for dom in self.source_domains_] + [X[data.target]]
        spectra = [_spectrum(b) for b in blocks]
        # A centred domain spans as many directions as its rank (at most
        # n - 1 rows, fewer with constant or collinear features): further
        # axes are arbitrary eigenvectors of a zero eigenvalue, and a new row
        # varying along them would get an arbitrary coordinate.
        n_max = min(
            _covariance_rank(sp[1], b.shape)
            for sp, b in zip(spectra, blocks, strict=True)
        )
        smallest = min(sizes.values())
        what = (
            f"the smallest rank of a centred domain (n_features={X.shape[1]}, "
            f"rows of the smallest domain - 1={smallest - 1}, less with "
            "constant or collinear features)"
        )
        if isinstance(self.n_components, str):
            m = stability_dimension(
                [w for _, w, _, _ in spectra],
                smallest,
                max(sq for *_, sq in spectra),
                gamma=self.gamma,
                delta=self.delta,
            )
            m = resolve_n_components(None, n_max, what, default=m)
        elif isinstance(self.n_components, Integral):
            # the rank, not the number of rows or features, is the limit
            short = n_max < min(X.shape[1], smallest - 1)
            m = resolve_n_components(
                int(self.n_components), n_max, what, hint=RANK_HINT if short else ""
            )
        else:
            m = max(variance_dimension(w, self.n_components) for _, w, _, _ in spectra)
            m = resolve_n_components(None, n_max, what, default=m)
        self.target_mean_ = spectra[-1][0]
        self.target_components_ = np.ascontiguousarray(spectra[-1][2][:, :m])
        comps = [np.ascontiguousarray(V[:, :m]) for _, _, V, _ in spectra[:-1]]
        self.source_means_ = np.array([mu for mu, *_ in spectra[:-1]])
        self.source_components_ = np.array(comps)
        self.alignments_ = np.array([P.T @ self.target_components_ for P in comps])
        self.n_components_ = m
        self._n_features_out = m

    def _transform(self, X, sample_domain):
        dtype = X.dtype  # float32 rows come back float32
        X = X.astype(np.float64, copy=False)
        check_source_ids(sample_domain, self.source_domains_)
        out = (X - self.target_mean_) @ self.target_components_
        for i, dom in enumerate(self.source_domains_):
            rows = sample_domain == dom
            if rows.any():
                P = self.source_components_[i] @ self.alignments_[i]
                out[rows] = (X[rows] - self.source_means_[i]) @ P
        return out.astype(dtype, copy=False)

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())
