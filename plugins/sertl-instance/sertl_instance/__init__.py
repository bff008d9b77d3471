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

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
