"""sertl-instance: instance-weighting transfer, KMM and KLIEP, exact and fast.

Both methods re-weight the labelled source rows so that the weighted source
looks like the target corpus, then train the wrapped estimator with the
weights (:class:`KMM`, :class:`KLIEP`); :func:`kmm_weights` and
:func:`kliep_weights` compute the weights alone. Each convex program is
solved to its optimum, by cvxpy (reference path, any installed cvxpy
solver) or by a built-in solver that exploits its structure and stops on a
certified optimality bound.
"""

from ._common import KernelWidthWarning, SolverFailedError, weight_diagnostics
from ._kliep import KLIEP, kliep_weights
from ._kmm import KMM, kmm_weights

__all__ = [
    "KLIEP",
    "KMM",
    "KernelWidthWarning",
    "SolverFailedError",
    "kliep_weights",
    "kmm_weights",
    "weight_diagnostics",
]
