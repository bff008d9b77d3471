"""sertl-instance: instance-weighting transfer, KMM and KLIEP, exact and fast.

Both methods re-weight the labelled source rows so that the weighted source
looks like the target corpus, then train the wrapped estimator with the
weights (:class:`KMM`, :class:`KLIEP`); :func:`kmm_weights` and
:func:`kliep_weights` compute the weights alone. Each convex program is
solved to its optimum, by cvxpy (reference path, any installed cvxpy
solver) or by a built-in solver that exploits its structure and stops on a
certified optimality bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
    from ._common import KernelWidthWarning, SolverFailedError, weight_diagnostics
    from ._kliep import KLIEP, kliep_weights
    from ._kmm import KMM, kmm_weights

# Imported on first use (PEP 562), not with the package: the plugin's
# entry point ``sertl_instance.hooks`` imports the package for every ``sertl``
# command (``sertl --help`` too), and these modules import numpy, scipy
# and scikit-learn (about a second). As in sertl_neural.
_WHERE = {
    "KernelWidthWarning": "._common",
    "SolverFailedError": "._common",
    "weight_diagnostics": "._common",
    "KLIEP": "._kliep",
    "kliep_weights": "._kliep",
    "KMM": "._kmm",
    "kmm_weights": "._kmm",
}

__all__ = [
    "KLIEP",
    "KMM",
    "KernelWidthWarning",
    "SolverFailedError",
    "kliep_weights",
    "kmm_weights",
    "weight_diagnostics",
]


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
