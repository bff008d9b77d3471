"""Small helpers shared by the adapters of this plugin."""

from __future__ import annotations

import functools

import numpy as np

from sertl_core import DomainError

__all__ = ["check_source_ids", "domain_sizes", "refuse_overflow"]


def check_source_ids(sample_domain, known):
    """Refuse source domain ids that fit never saw.

    Target ids (negative) are always accepted: target rows share one map.

    Parameters
    ----------
    sample_domain : ndarray of int
        Domain ids at transform time.
    known : ndarray of int
        Source domain ids seen in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature._utils import check_source_ids
    >>> check_source_ids(np.array([1, -3]), np.array([1]))
    """
    ids = np.unique(sample_domain[sample_domain > 0])
    unknown = np.setdiff1d(ids, known)
    if unknown.size:
        raise DomainError(
            f"sample_domain holds source domain id(s) {unknown.tolist()} that "
            f"were not seen in fit (source ids seen: {np.asarray(known).tolist()}). "
            "Use the ids given at fit time, or omit sample_domain to treat "
            "every row as target data."
        )


def domain_sizes(sample_domain, estimator, purpose):
    """Rows of each source domain and of the target, each at least 2.

    CORAL and subspace alignment estimate second-order statistics of every
    domain on its own, which one row cannot give.

    Parameters
    ----------
    sample_domain : ndarray of int
        Domain ids of the fit's rows (positive source, negative target).
    estimator : str
        Name of the estimator, for the error message.
    purpose : str
        What the statistics are for, for the error message ("estimate its
        covariance").

    Returns
    -------
    source_domains : ndarray of int
        The source domain ids, sorted.
    sizes : dict of str to int
        Rows per domain, keyed ``"source ID"`` in that order, then
        ``"target"``.

    Raises
    ------
    ValueError
        When a domain has fewer than 2 rows; the message names it.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_feature._utils import domain_sizes
    >>> domain_sizes(np.array([1, 1, 2, 2, -1, -1]), "CORAL", "estimate it")
    (array([1, 2]), {'source 1': 2, 'source 2': 2, 'target': 2})
    >>> try:
    ...     domain_sizes(np.array([1, 1, 2, 2, -1]), "CORAL", "estimate its covariance")
    ... except ValueError as err:
    ...     print(err)
    CORAL needs at least 2 rows in every domain to estimate its covariance; \
the target domain has n_samples = 1. Pass more rows for that domain or merge it \
with another one.
    """
    ids, counts = np.unique(sample_domain[sample_domain > 0], return_counts=True)
    sizes = {f"source {dom}": int(n) for dom, n in zip(ids, counts, strict=True)}
    sizes["target"] = int(np.count_nonzero(sample_domain < 0))
    small = {k: v for k, v in sizes.items() if v < 2}
    if small:  # the target first: it is the one a user most often cut short
        which = "target" if "target" in small else next(iter(small))
        raise ValueError(
            f"{estimator} needs at least 2 rows in every domain to {purpose}; "
            f"the {which} domain has n_samples = {small[which]}. Pass more rows "
            "for that domain or merge it with another one."
        )
    return ids, sizes


def refuse_overflow(fit):
    """Turn a float64 overflow in ``fit(self, data)`` into a clear error.

    Rows of huge magnitude (``|x|`` around 1e80 for products of squares,
    1e150 to 1e200 for covariances and kernels) overflow in the squares,
    covariances or kernel products that the adapters form; without this
    guard the fit failed with LAPACK's "array must not contain infs or
    NaNs" after an overflow warning. The wrapped method runs under
    ``np.errstate(over="raise")`` (no user code runs inside it), and the
    resulting ``FloatingPointError`` becomes a ``ValueError`` that names the
    largest magnitude and the fix (rescale the features first).

    Parameters
    ----------
    fit : callable
        A method ``fit(self, data)`` whose ``data.X`` holds the rows.

    Returns
    -------
    wrapped : callable

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from sertl_feature._utils import refuse_overflow
    >>> class Square:
    ...     @refuse_overflow
    ...     def _fit(self, data):
    ...         return data.X * data.X
    >>> try:
    ...     Square()._fit(SimpleNamespace(X=np.array([[1e200]])))
    ... except ValueError as err:
    ...     print(str(err)[:62])
    Square cannot fit these rows: their magnitude (largest |x| = 1
    """

    @functools.wraps(fit)
    def wrapper(self, data):
        try:
            with np.errstate(over="raise"):
                return fit(self, data)
        except FloatingPointError as exc:
            name = type(self).__name__
            big = float(np.max(np.abs(data.X))) if np.size(data.X) else 0.0
            raise ValueError(
                f"{name} cannot fit these rows: their magnitude (largest |x| = "
                f"{big:.3g}) overflows float64 in the squares, covariances or "
                f"kernel products it forms ({exc}). Rescale the features "
                "first, e.g. put sertl_core.DomainStandardScaler (or "
                f"StandardScaler) before {name}."
            ) from exc

    return wrapper
