"""Shared pieces of the instance-weighting estimators."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["SolverFailedError", "check_solver", "cvxpy_solve", "weight_diagnostics"]


class SolverFailedError(RuntimeError):
    """A convex solver did not return an optimal solution.

    The message names the solver and its status and says what to try
    (another ``solver=``, the built-in ``solver="apg"``/``"newton"``, or a
    larger ``max_iter``).

    See Also
    --------
    kmm_weights, kliep_weights : Raise it when a cvxpy solver fails.

    Examples
    --------
    An infeasible program (as KMM's constraints can be for a too small
    ``B``) ends with a status other than optimal:

    >>> import cvxpy as cp
    >>> from sertl_instance._common import SolverFailedError, cvxpy_solve
    >>> x = cp.Variable()
    >>> problem = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    >>> try:
    ...     cvxpy_solve(problem, "cvxpy", "KMM")
    ... except SolverFailedError as err:
    ...     print(str(err).split(". ")[0])
    KMM: cvxpy solver CLARABEL ended with status 'infeasible', not 'optimal'
    >>> issubclass(SolverFailedError, RuntimeError)
    True
    """


_OWN = {"auto", "cvxpy"}


def check_solver(solver, own):
    """Validate ``solver`` and return it upper-cased for cvxpy names.

    Parameters
    ----------
    solver : str
        ``"auto"``, the built-in first-order/Newton solver name ``own``,
        ``"cvxpy"`` (cvxpy's default, Clarabel) or any solver installed in
        cvxpy (e.g. ``"CLARABEL"``, ``"SCS"``).
    own : str or tuple of str
        Name(s) of the built-in solver(s).

    Returns
    -------
    solver : str

    Examples
    --------
    >>> from sertl_instance._common import check_solver
    >>> check_solver("clarabel", "apg")
    'CLARABEL'
    """
    owns = (own,) if isinstance(own, str) else tuple(own)
    if solver in _OWN or solver in owns:
        return solver
    import cvxpy as cp

    installed = cp.installed_solvers()
    if str(solver).upper() in installed:
        return str(solver).upper()
    raise ValueError(
        f"Unknown solver={solver!r}. Use 'auto', "
        f"{', '.join(repr(o) for o in owns)} (built-in, fast), "
        f"'cvxpy' (cvxpy's default) or one of the installed cvxpy solvers "
        f"{sorted(installed)}."
    )


def cvxpy_solve(problem, solver, what):
    """Solve a cvxpy problem and turn every failure into a clear error.

    Parameters
    ----------
    problem : cvxpy.Problem
    solver : str
        ``"cvxpy"`` for cvxpy's choice (Clarabel) or a cvxpy solver name.
    what : str
        Name of the method, for the messages.

    Returns
    -------
    status : str
        ``"optimal"`` or ``"optimal_inaccurate"`` (the latter with a
        ``ConvergenceWarning``).
    """
    import cvxpy as cp

    name = "CLARABEL" if solver == "cvxpy" else solver
    try:
        problem.solve(solver=name)
    except cp.error.SolverError as exc:
        raise SolverFailedError(
            f"{what}: cvxpy solver {name} failed ({exc}). Try another solver, "
            "e.g. solver='CLARABEL' or 'SCS', or the built-in solver."
        ) from exc
    status = problem.status
    if status == cp.OPTIMAL_INACCURATE:
        warnings.warn(
            f"{what}: cvxpy solver {name} returned an inaccurate solution; "
            "check diagnostics_ or use another solver.",
            ConvergenceWarning,
            stacklevel=3,
        )
    elif status != cp.OPTIMAL:
        hint = (
            "Check the constraints (B and eps)"
            if what == "KMM"
            else "A kernel width far below the distances between rows leaves "
            "no feasible ratio: try a larger sigma"
        )
        raise SolverFailedError(
            f"{what}: cvxpy solver {name} ended with status {status!r}, not "
            f"'optimal'. {hint}, or another solver."
        )
    return status


def weight_diagnostics(w):
    """Effective sample size and weight summary.

    Parameters
    ----------
    w : ndarray of shape (n,)
        Non-negative weights.

    Returns
    -------
    diag : dict
        ``effective_sample_size`` ((sum w)^2 / sum w^2, Kish), its ratio
        to ``n``, ``max_weight``, ``mean_weight`` and ``n_zero`` (weights
        below 1e-8 times the largest).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_instance._common import weight_diagnostics
    >>> weight_diagnostics(np.array([1.0, 1.0, 0.0, 2.0]))["effective_sample_size"]
    2.6666666666666665
    """
    w = np.asarray(w, dtype=float)
    s2 = float(np.sum(w * w))
    ess = float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0
    wmax = float(w.max()) if w.size else 0.0
    return {
        "effective_sample_size": ess,
        "effective_sample_ratio": ess / max(w.size, 1),
        "max_weight": wmax,
        "mean_weight": float(w.mean()) if w.size else 0.0,
        "n_zero": int(np.count_nonzero(w <= 1e-8 * max(wmax, 1e-300))),
    }
