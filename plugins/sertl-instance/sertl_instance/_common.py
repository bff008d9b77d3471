"""Shared pieces of the instance-weighting estimators."""

from __future__ import annotations

import functools
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from sertl_core import SertlWarning, external_stacklevel

__all__ = [
    "KernelWidthWarning",
    "SolverFailedError",
    "check_solver",
    "check_source_target",
    "cvxpy_solve",
    "one_blas_thread",
    "weight_diagnostics",
]


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


class KernelWidthWarning(SertlWarning):
    """KLIEP's cross-validation chose a kernel width at an edge of its grid.

    The likelihood cross-validation of :func:`kliep_weights` (and of
    :class:`KLIEP` with ``sigma=None``) can only choose among the candidate
    widths ``sigmas``. When it chooses the smallest or the largest one, the
    best width may lie beyond the grid; the message names the width chosen
    and the ``sigmas=`` that widens the grid on that side (or give
    ``sigma=`` to fix the width). The width is used as chosen.

    At the smallest width the message also gives the effective sample size
    of the weights: where target rows lie in regions with few source rows
    (corpora far apart in a high-dimensional feature space) the held-out
    likelihood keeps rising as the width shrinks, and narrower kernels put
    the weight on ever fewer source rows, so a smaller width is not
    necessarily a better one. Across the ordered pairs of EmoDB, RAVDESS,
    URDU and TurEV-DB (316 functionals each) the default grid's smallest
    width is the one chosen.

    See Also
    --------
    kliep_weights : Emits it.
    sertl_core.SertlWarning : Base class of sertl's warnings.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sertl_instance import KernelWidthWarning, kliep_weights
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(100, 2))
    >>> Xt = rng.normal(loc=0.5, scale=0.7, size=(80, 2))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", KernelWidthWarning)
    ...     w = kliep_weights(Xs, Xt, sigmas=[1.0, 2.0, 4.0], random_state=0)
    >>> message = str(caught[0].message)
    >>> print(message[:53])
    KLIEP: the likelihood cross-validation chose sigma=1,
    >>> "the smallest candidate width" in message
    True
    """


def one_blas_thread(func):
    """Run ``func`` with BLAS limited to one thread.

    For code whose work is thin matrix-vector products and small dense
    systems, where extra threads only add synchronisation (several times
    slower on a loaded machine).

    Parameters
    ----------
    func : callable

    Returns
    -------
    wrapped : callable
        ``func`` with the same name, docstring and signature.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from sertl_instance._common import one_blas_thread
    >>> @one_blas_thread
    ... def blas_threads():
    ...     return {i["num_threads"] for i in threadpool_info()
    ...             if i["user_api"] == "blas"}
    >>> blas_threads() <= {1}
    True
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


def check_source_target(X_source, X_target):
    """Validate the source and target rows of a weighting method.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
    X_target : array-like of shape (n_target, n_features)

    Returns
    -------
    Xs : ndarray of shape (n_source, n_features)
    Xt : ndarray of shape (n_target, n_features)
        Both as float64 arrays.

    Raises
    ------
    ValueError
        If the rows are not finite 2-d numbers, either array has no rows or
        the two have different numbers of features.

    Examples
    --------
    >>> from sertl_instance._common import check_source_target
    >>> Xs, Xt = check_source_target([[0, 1]], [[2, 3], [4, 5]])
    >>> Xs.dtype.name, Xt.shape
    ('float64', (2, 2))
    """
    arrays = []
    for name, X in (("X_source", X_source), ("X_target", X_target)):
        X = check_array(X, dtype=np.float64, input_name=name, ensure_min_samples=0)
        if X.shape[0] == 0:  # scikit-learn's message would not name the array
            raise ValueError(
                f"{name} has no rows (shape {X.shape}): weighting needs at "
                "least one source row and one target row. Check the domain "
                "assignment (source rows positive, target rows negative)."
            )
        arrays.append(X)
    Xs, Xt = arrays
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError(
            f"X_source has {Xs.shape[1]} features but X_target has "
            f"{Xt.shape[1]}: both must describe rows with the same features."
        )
    return Xs, Xt


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
    # built-in names match in any case, as cvxpy's names do ("APG", "Clarabel")
    if str(solver).lower() in _OWN or str(solver).lower() in owns:
        return str(solver).lower()
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
            stacklevel=external_stacklevel(),
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
