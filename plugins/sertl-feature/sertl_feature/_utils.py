"""Small helpers shared by the adapters of this plugin."""

from __future__ import annotations

import numpy as np

from sertl_core import DomainError

__all__ = ["check_source_ids"]


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
