"""KL importance estimation procedure (Sugiyama et al., 2008), exact and fast."""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from sertl_core import SampleWeightMixin, TransferEstimator, external_stacklevel
from sertl_core.params import Interval, validate_params
from sertl_core.utils import check_memory

from ._common import (
    KernelWidthWarning,
    SolverFailedError,
    check_solver,
    check_source_target,
    cvxpy_solve,
    weight_diagnostics,
)
from ._kernels import gaussian_kernel, median_heuristic
from ._kmm import _fit_weighted, _kernel_units
from ._solvers import solve_kliep_newton

__all__ = ["KLIEP", "kliep_weights"]

_DEFAULT_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
# Relative certified gap above which a cvxpy solution is reported as far
# from the optimum: well above an interior-point solver's own accuracy
# (about 1e-8), so an accurate solve never warns.
_CVXPY_GAP = 1e-4


def _solve(A, c, solver, tol):
    """Return (alpha, mean log objective, status, n_iter, gap)."""
    if solver == "newton":
        res = solve_kliep_newton(A, c, tol=tol)
        if res.status != "optimal":
            warnings.warn(
                f"KLIEP: the Newton solver stopped with status {res.status!r} "
                f"and a certified gap of {res.gap:.3g}.",
                ConvergenceWarning,
                stacklevel=external_stacklevel(),
            )
        return res.x, res.objective, res.status, res.n_iter, res.gap
    import cvxpy as cp

    alpha = cp.Variable(A.shape[1], nonneg=True)
    prob = cp.Problem(
        cp.Maximize(cp.sum(cp.log(A @ alpha)) / A.shape[0]), [c @ alpha == 1]
    )
    status = cvxpy_solve(prob, solver, "KLIEP")
    a = np.maximum(np.asarray(alpha.value, dtype=float), 0.0)
    a /= c @ a  # exact feasibility
    v = A @ a
    if not np.all(v > 0):
        return a, -np.inf, status, None, np.inf
    obj = float(np.mean(np.log(v)))
    # The bound the Newton solver stops on holds for any feasible point:
    # f* - f <= log max_j (grad_j / c_j). A solver status says nothing of
    # the weights themselves (Clarabel can call a point 0.5 nats short of
    # the optimum "optimal_inaccurate"), so the gap certifies them.
    gap = float(np.log(max(float(np.max((A / v[:, None]).mean(axis=0) / c)), 1.0)))
    if gap > _CVXPY_GAP * max(1.0, abs(obj)):
        warnings.warn(
            f"KLIEP: the cvxpy solver's solution (status {status!r}) is "
            f"certified only to within {gap:.3g} of the optimal mean log "
            "density ratio, so its weights may be far from KLIEP's. Use "
            "solver='newton' (the built-in solver, certified to tol), or "
            "another cvxpy solver.",
            ConvergenceWarning,
            stacklevel=external_stacklevel(),
        )
    return a, obj, status, None, gap


def _check_centers_memory(ns, nt, n_centers):
    """Refuse up front more kernel centres than memory holds.

    The program holds the target rows' kernel against the centres three
    times (the kernel, its scaled copy, the Newton weights), the source
    rows' once, and the ``m x m`` Hessian, KKT matrix and the solver's copy.
    """
    m = min(n_centers, nt)
    check_memory(
        8 * ((3 * nt + ns) * m + 3 * m * m),
        f"KLIEP with n_centers={n_centers} on {ns:,} source and {nt:,} target "
        f"rows builds kernel matrices of {m:,} columns and {m:,} x {m:,} Newton "
        "systems",
        "Lower n_centers (the default, 300, keeps the memory proportional to "
        "the rows), or fewer rows.",
    )


def _fit_kliep(Xs, Xt_fit, centers, sigma, solver, tol, scale=1.0):
    """Solve KLIEP; return alpha, objective, status, n_iter, gap, K(Xs, centers).

    ``scale`` is the factor the rows were multiplied by (``_kernel_scale``):
    an error names ``sigma / scale``, the width in the caller's units.
    """
    A = gaussian_kernel(Xt_fit, centers, sigma)
    Ks = gaussian_kernel(Xs, centers, sigma)
    c_raw = Ks.mean(axis=0)
    c = np.maximum(c_raw, 1e-300)
    alpha, *rest = _solve(A, c, solver, tol)
    # The floor keeps the program finite, but a centre whose kernel values
    # underflow on every source row leaves the ratio unbounded there: the
    # optimum then puts its mass where no source row is, and the source
    # weights lose the normalisation mean_i w(x_i) = 1 (all zero at worst).
    src_mean = float(c_raw @ alpha)
    if not np.isfinite(src_mean) or abs(src_mean - 1.0) > 1e-6:
        raise SolverFailedError(
            f"KLIEP: with sigma={sigma / scale:.4g} the kernel values of some centres "
            "underflow on every source row, so the ratio is unbounded and the "
            f"source weights have mean {src_mean:.3g} instead of 1. A kernel "
            "width far below the distances between rows leaves no feasible "
            "ratio: try a larger sigma."
        )
    return (alpha, *rest, Ks)


def _flat_grid(sigmas, shown=10):
    """``sigmas`` as one flat list for a message, cut after ``shown`` widths."""
    flat = np.ravel(sigmas).tolist()
    return str(flat) if len(flat) <= shown else f"{str(flat[:shown])[:-1]}, ...]"


def _check_sigmas(sigmas):
    """Return the candidate widths as a 1-d float array, or raise.

    Parameters
    ----------
    sigmas : array-like of float
        Candidate kernel widths.

    Returns
    -------
    sigmas : ndarray of shape (n_candidates,)

    Raises
    ------
    ValueError
        When ``sigmas`` is not one-dimensional (a grid of several axes would
        have to be read as one list, or as one width per feature, which the
        isotropic kernel does not have), is empty or holds a width that is
        not a finite positive number.

    Examples
    --------
    >>> from sertl_instance._kliep import _check_sigmas
    >>> _check_sigmas([1, 2.5])
    array([1. , 2.5])
    """
    sigmas = np.asarray(sigmas, dtype=float)
    if sigmas.ndim != 1:
        raise ValueError(
            f"sigmas must be a 1-D list of candidate kernel widths, got an "
            f"array of shape {sigmas.shape}. KLIEP's Gaussian kernel has one "
            "width for all features, so there is no width per feature or per "
            "axis: pass the candidates as a flat list, e.g. "
            f"sigmas={_flat_grid(sigmas)}, and rescale the features "
            "(e.g. DomainStandardScaler first) if they need different widths."
        )
    if sigmas.size == 0 or np.any(~np.isfinite(sigmas)) or np.any(sigmas <= 0):
        raise ValueError(
            f"sigmas must be a non-empty list of positive widths, got {sigmas}."
        )
    return sigmas


def _lcv_splits(nt, n_centers, cv, rng):
    """Folds and centres of the likelihood CV, drawn once for every width."""
    folds = np.array_split(rng.permutation(nt), cv)
    splits = []
    for k in range(cv):
        train = np.concatenate([folds[j] for j in range(cv) if j != k])
        centers = rng.choice(train, min(n_centers, train.size), replace=False)
        splits.append((train, folds[k], centers))
    return splits


def _lcv_score(Xs, Xt, sigma, splits, solver, tol):
    """Mean held-out log importance of target rows (likelihood CV)."""
    scores = []
    for train, test, idx in splits:
        centers = Xt[idx]
        try:
            alpha, *_ = _fit_kliep(Xs, Xt[train], centers, sigma, solver, tol)
        except (FloatingPointError, SolverFailedError):
            return -np.inf  # this width cannot be fitted: it loses the vote
        w = gaussian_kernel(Xt[test], centers, sigma) @ alpha
        if np.any(w <= 0):
            return -np.inf
        scores.append(float(np.mean(np.log(w))))
    return float(np.mean(scores))


def _warn_if_at_edge(sigma, sigmas, cv_scores, median=None, ess_ratio=None):
    """Warn when the width kept is the smallest or the largest candidate.

    ``median`` is the median heuristic when ``sigmas`` is the default grid;
    ``ess_ratio`` the effective sample size of the weights at ``sigma`` as a
    fraction of the source rows.
    """
    lo, hi = float(np.min(sigmas)), float(np.max(sigmas))
    if lo == hi:  # one distinct width: no grid to widen
        return
    scores = np.array(list(cv_scores.values()), dtype=float)
    if np.isfinite(scores).all() and np.ptp(scores) <= 1e-12 * max(
        1.0, np.abs(scores).max()
    ):
        return  # every width scores the same (e.g. identical rows): no edge
    if median is None:
        grid = f"the candidates run from {lo:.3g} to {hi:.3g}"
    else:
        grid = (
            f"the default candidates, {min(_DEFAULT_FACTORS):g} to "
            f"{max(_DEFAULT_FACTORS):g} times the median distance between rows "
            f"({median:.3g}), run from {lo:.3g} to {hi:.3g}"
        )
    if not np.isfinite(cv_scores[sigma]):
        message = (
            "KLIEP: no candidate width could be fitted on every fold of the "
            f"likelihood cross-validation ({grid}), so the largest, "
            f"sigma={sigma:.4g}, is used. Add larger widths to sigmas=, e.g. "
            f"{2 * hi:.3g} and {4 * hi:.3g}, or give sigma= to fix the width."
        )
    elif sigma == lo:
        ess = "" if ess_ratio is None else f" (now {100 * ess_ratio:.0f} %)"
        message = (
            f"KLIEP: the likelihood cross-validation chose sigma={sigma:.4g}, "
            f"the smallest candidate width ({grid}); its score may keep rising "
            "at smaller widths, as it does where target rows lie in regions "
            "with few source rows (e.g. corpora far apart in a high-dimensional "
            "feature space), and narrower kernels then put the weight on ever "
            f"fewer source rows: check the effective sample size{ess}. "
            f"To search further add smaller widths to sigmas=, e.g. "
            f"{lo / 4:.3g} and {lo / 2:.3g}; to keep a width give sigma=."
        )
    elif sigma == hi:
        message = (
            f"KLIEP: the likelihood cross-validation chose sigma={sigma:.4g}, "
            f"the largest candidate width ({grid}); the best width may be "
            f"larger. Add larger widths to sigmas=, e.g. {2 * hi:.3g} and "
            f"{4 * hi:.3g}, or give sigma= to fix the width."
        )
    else:
        return
    # the caller of kliep_weights or of KLIEP.fit, whichever the user called
    warnings.warn(
        message,
        KernelWidthWarning,
        stacklevel=external_stacklevel(),
    )


_KLIEP_PARAMS = {
    "sigma": [Interval(Real, 0, None, closed="neither"), None],
    "sigmas": ["array-like", None],
    "n_centers": [Interval(Integral, 1, None, closed="left")],
    "cv": [Interval(Integral, 2, None, closed="left")],
    "solver": [str],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
}


@validate_params(
    {
        "X_source": ["array-like"],
        "X_target": ["array-like"],
        **_KLIEP_PARAMS,
        "return_info": ["boolean"],
    }
)
def kliep_weights(
    X_source,
    X_target,
    *,
    sigma=None,
    sigmas=None,
    n_centers=300,
    cv=5,
    solver="auto",
    tol=1e-9,
    random_state=None,
    return_info=False,
):
    r"""KLIEP importance weights ``p_target(x) / p_source(x)`` of the source rows.

    The density ratio is modelled as ``w(x) = sum_l alpha_l k(x, c_l)``
    with Gaussian kernels centred on ``n_centers`` target rows, and
    ``alpha`` maximises the target log-likelihood (Sugiyama et al.)::

        maximise    mean_j log w(x'_j)
        subject to  mean_i w(x_i) = 1,   alpha >= 0

    a concave program solved to its optimum by cvxpy or by the built-in
    log-barrier Newton method (``"newton"``), which stops on the certified
    bound ``f* - f <= log(max_l grad_l)``. When ``sigma`` is None the width
    is chosen by KLIEP's own likelihood cross-validation: the target rows
    (unlabelled; no label is used) are split into ``cv`` folds and the
    width with the best mean held-out ``log w`` wins; a
    :class:`KernelWidthWarning` says so when it is the smallest or the
    largest candidate (the best width may then lie beyond the grid).

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        Source rows to weight.
    X_target : array-like of shape (n_target, n_features)
        Target rows.
    sigma : float or None, default=None
        Kernel width; ``None`` selects it by likelihood cross-validation.
    sigmas : array-like of float of shape (n_candidates,), default=None
        Candidate widths; ``None`` is the median heuristic (median distance
        between rows of source and target pooled) times 0.25, 0.5, 0.75, 1,
        1.5, 2 and 4. When no candidate gets a finite cross-validated
        likelihood, the largest is used. The kernel has one width for all
        features, so an array of more than one axis is refused.
    n_centers : int, default=300
        Number of kernel centres, target rows drawn at random (all target
        rows when there are fewer). The paper uses 100; 300 was chosen on
        10 development corpus pairs (``benchmarks/instance_kliep_dev.py``),
        where it and 100 were level within noise. ``m`` centres take about
        ``8 ((3 n_t + n_s) m + 3 m^2)`` bytes (190 MB at 20,000 + 20,000
        rows and the default); a fit whose estimate exceeds the memory
        available is refused up front with a ``MemoryError``
        (:func:`sertl_core.utils.check_memory`).
    cv : int, default=5
        Folds of the likelihood cross-validation.
    solver : str, default="auto"
        ``"newton"`` (built-in), ``"cvxpy"`` (Clarabel) or an installed
        cvxpy solver with exponential-cone support; ``"auto"`` is
        ``"newton"``.
    tol : float, default=1e-9
        Certified relative tolerance of ``"newton"``.
    random_state : int, RandomState instance or None, default=None
        Seed of the centres, the folds and the median-heuristic subsample.
    return_info : bool, default=False
        Also return a dict of diagnostics.

    Returns
    -------
    weights : ndarray of shape (n_source,)
        ``w(x_i)`` for the source rows, in their order (mean 1).
    info : dict
        Only with ``return_info=True``: ``sigma``, ``cv_scores`` (width to
        held-out log-likelihood), ``objective`` (mean target ``log w``),
        ``solver``, ``status``, ``n_iter``, ``gap`` (a certified bound on
        how far ``objective`` is below the optimum, for either solver; a
        cvxpy solution with a gap above 1e-4 relative warns), ``alpha``,
        ``centers``, ``time_s`` and the weight summary (effective sample
        size, max and mean weight).

    Raises
    ------
    ValueError
        For an unknown solver or too few target rows for ``cv`` folds.
    SolverFailedError
        If a cvxpy solver does not reach an optimal solution.

    Warns
    -----
    KernelWidthWarning
        When the cross-validation keeps the smallest or the largest of
        several candidate widths (the largest also when none could be
        fitted): the message names the width and the ``sigmas=`` that
        widens the grid. The width is used as chosen.

    See Also
    --------
    KLIEP : Transfer estimator that trains a classifier with these weights.
    kmm_weights : Kernel mean matching weights.

    References
    ----------
    .. [1] M. Sugiyama, S. Nakajima, H. Kashima, P. von Bünau and
       M. Kawanabe, "Direct importance estimation with model selection and
       its application to covariate shift adaptation", NIPS 20, 2007.
    .. [2] M. Sugiyama, T. Suzuki, S. Nakajima, H. Kashima, P. von Bünau and
       M. Kawanabe, "Direct importance estimation for covariate shift
       adaptation", Annals of the Institute of Statistical Mathematics
       60(4), 2008.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sertl_instance import KernelWidthWarning, kliep_weights
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(200, 1))
    >>> Xt = rng.normal(loc=1.0, scale=0.5, size=(100, 1))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     w, info = kliep_weights(Xs, Xt, random_state=0, return_info=True)
    >>> caught[0].category is KernelWidthWarning  # the smallest width wins here
    True
    >>> round(float(w.mean()), 6), info["status"]
    (1.0, 'optimal')
    >>> bool(w[Xs[:, 0] > 0.5].mean() > w[Xs[:, 0] < -0.5].mean())
    True
    """
    t0 = time.perf_counter()
    Xs, Xt = check_source_target(X_source, X_target)
    solver = check_solver(solver, "newton")
    if solver == "auto":
        solver = "newton"
    # rows spread over ~1e-160 (or ~1e+160) work in rescaled units, where
    # their squared distances stay representable, and rows sharing a large
    # offset are centred; ordinary rows are used as given (scale 1.0).
    # Widths are rescaled alike and reported in the caller's units.
    Xt_given = Xt
    Xs, Xt, scale = _kernel_units(Xs, Xt)
    if sigma is not None:
        sigma = sigma * scale
    _check_centers_memory(Xs.shape[0], Xt.shape[0], n_centers)
    rng = check_random_state(random_state)
    cv_scores = {}
    med = None
    if sigma is None:
        given = sigmas is not None  # in the caller's units
        if sigmas is None:
            med = median_heuristic(np.vstack((Xs, Xt)), random_state=rng)
            sigmas = [med * f for f in _DEFAULT_FACTORS]
        sigmas = _check_sigmas(sigmas)
        if given and scale != 1.0:
            sigmas = sigmas * scale
        if sigmas.size == 1:
            sigma = float(sigmas[0])
        else:
            if Xt.shape[0] < cv:
                raise ValueError(
                    f"KLIEP likelihood cross-validation needs at least cv={cv} "
                    f"target rows, got {Xt.shape[0]}. Give sigma= or lower cv."
                )
            # every width is scored on the same folds and centres
            splits = _lcv_splits(Xt.shape[0], n_centers, cv, rng)
            for s in sigmas:
                cv_scores[float(s)] = _lcv_score(Xs, Xt, s, splits, solver, tol)
            best = max(cv_scores, key=cv_scores.get)
            if not np.isfinite(cv_scores[best]):
                best = float(np.max(sigmas))
            sigma = best
    idx = rng.choice(Xt.shape[0], min(n_centers, Xt.shape[0]), replace=False)
    centers = Xt[idx]
    alpha, obj, status, n_iter, gap, Ks = _fit_kliep(
        Xs, Xt, centers, sigma, solver, tol, scale
    )
    w = Ks @ alpha  # the source kernel the program was solved with
    centers = Xt_given[idx]  # the caller's rows, whatever units the fit used
    if scale != 1.0:  # widths back in the caller's units (exact)
        sigma = float(sigma) / scale
        med = None if med is None else med / scale
        if cv_scores:
            sigmas = sigmas / scale
            cv_scores = {key / scale: score for key, score in cv_scores.items()}
    diagnostics = weight_diagnostics(w)
    if cv_scores:
        _warn_if_at_edge(
            sigma,
            sigmas,
            cv_scores,
            median=med,
            ess_ratio=diagnostics["effective_sample_ratio"],
        )
    info = {
        "sigma": float(sigma),
        "cv_scores": cv_scores,
        "objective": obj,
        "solver": solver,
        "status": status,
        "n_iter": n_iter,
        "gap": gap,
        "alpha": alpha,
        "centers": centers,
        "time_s": time.perf_counter() - t0,
    }
    info.update(diagnostics)
    return (w, info) if return_info else w


class KLIEP(SampleWeightMixin, TransferEstimator):
    """KLIEP: train the wrapped estimator on importance-weighted source rows.

    At fit the density ratio ``p_target / p_source`` is estimated by
    :func:`kliep_weights` from the source rows (all positive domains
    pooled) and the target rows (all negative domains pooled; their labels
    are never used for the weights), with the kernel width chosen by
    KLIEP's likelihood cross-validation on the target rows. The wrapped
    estimator is trained on the labelled source rows with these weights
    and on the labelled target rows, if any, with weight ``target_weight``
    (importance 1: they come from the target distribution). Weights go
    through ``sample_weight``, or a weighted resample for estimators
    without it.

    With several source domains their rows are pooled and weighted together
    against the pooled target rows: a source domain that lies far from the
    target can end up with little weight as a whole.

    Parameters
    ----------
    estimator : estimator object, default=None
        The estimator to train; ``None`` means
        ``LogisticRegression(max_iter=1000)``.
    sampler : imbalanced-learn sampler, default=None
        Resampler applied to the labelled training rows (imbalanced-learn's
        samplers balance classes: a regressor refuses them, all but
        ``FunctionSampler(validate=False)``).
    sigma : float or None, default=None
        Kernel width; ``None`` selects it by likelihood cross-validation.
    sigmas : array-like of float of shape (n_candidates,), default=None
        Candidate widths for the cross-validation (one axis: the kernel has
        one width for all features); ``None`` is the median
        heuristic times 0.25, 0.5, 0.75, 1, 1.5, 2 and 4. With a single
        target row there is nothing to cross-validate: the width is then the
        largest candidate (the smoothest ratio), or the median heuristic
        itself when ``sigmas`` is None.
    n_centers : int, default=300
        Number of kernel centres (target rows drawn at random); see
        :func:`kliep_weights`.
    cv : int, default=5
        Folds of the likelihood cross-validation; with fewer target rows
        than ``cv``, one fold per target row (at least 2).
    solver : str, default="auto"
        ``"newton"`` (built-in, the ``"auto"`` choice), ``"cvxpy"`` or an
        installed cvxpy solver name.
    tol : float, default=1e-9
        Certified relative tolerance of ``"newton"``.
    target_weight : float, default=1.0
        Weight of labelled target rows in the wrapped estimator's fit.
    random_state : int, RandomState instance or None, default=None
        Seed of the centres, folds, width subsample and resampling.

    Attributes
    ----------
    weights_ : ndarray of shape (n_source_rows,)
        Importance weight of each source row (``sample_domain > 0``), in
        the order the rows appear in ``X``; their mean is 1.
    sample_weight_ : ndarray of shape (n_train_rows,)
        Weights the wrapped estimator was trained with: ``weights_`` then
        ``target_weight`` for each labelled target row, times the
        ``sample_weight`` given to ``fit`` (the caller's weights do not
        enter the density-ratio fit itself).
    sigma_ : float
        The kernel width used.
    effective_sample_size_ : float
        Kish's ``(sum w)^2 / sum w^2`` of ``weights_``; ``fit`` warns
        (:class:`~sertl_core.SertlWarning`) when it is below 2 % of the
        source rows (source and target barely overlap).
    objective_ : float
        Mean target log-importance at the optimum.
    n_iter_ : int
        Newton steps of the final solve (1 for cvxpy).
    diagnostics_ : dict
        Everything :func:`kliep_weights` reports.
    estimator_ : estimator object
        The fitted wrapped estimator.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers).
    n_features_in_ : int
        Number of features seen in fit.

    Warns
    -----
    KernelWidthWarning
        At fit, when the cross-validation keeps the smallest or the largest
        candidate width (see :func:`kliep_weights`).
    sertl_core.SertlWarning
        At fit, when Kish's effective sample size of the weights is below
        2 % of the source rows (source and target barely overlap).

    See Also
    --------
    kliep_weights : The weights alone.
    KMM : Kernel mean matching.

    References
    ----------
    .. [1] M. Sugiyama, S. Nakajima, H. Kashima, P. von Bünau and
       M. Kawanabe, "Direct importance estimation with model selection and
       its application to covariate shift adaptation", NIPS 20, 2007.
    .. [2] M. Sugiyama, T. Suzuki, S. Nakajima, H. Kashima, P. von Bünau and
       M. Kawanabe, "Direct importance estimation for covariate shift
       adaptation", Annals of the Institute of Statistical Mathematics
       60(4), 2008.
    .. [3] A. Hassan, R. Damper and M. Niranjan, "On acoustic emotion
       recognition: compensating for covariate shift", IEEE Transactions on
       Audio, Speech, and Language Processing 21(7), 2013.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from sertl_instance import KLIEP, KernelWidthWarning
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(60, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(loc=1.0, size=(40, 2))
    >>> X = np.vstack([Xs, Xt]); y = np.concatenate([ys, -np.ones(40, int)])
    >>> with warnings.catch_warnings():  # it keeps the smallest width here
    ...     warnings.simplefilter("ignore", KernelWidthWarning)
    ...     clf = KLIEP(SVC(), random_state=0).fit(X, y)
    >>> clf.weights_.shape, round(float(clf.weights_.mean()), 6)
    ((60,), 1.0)
    """

    registry_name = "kliep"
    # weights train the estimator; prediction ignores the domains
    _predict_uses_domain = False
    _sertl_expected_failed_checks = {
        "check_sample_weight_equivalence_on_dense_data": (
            "scikit-learn's check sets cv to explicit splits of the training "
            "rows, and KLIEP's cv is the number of folds of its likelihood "
            "cross-validation over the target rows (an int), so the fit is "
            "refused before any comparison. With target rows the weights are "
            "fitted on the rows as given: a repeated source row moves the "
            "density-ratio fit, a sample_weight of 2 only the final "
            "estimator's training weight"
        ),
        "check_row_order_invariance": (
            "the folds of the likelihood cross-validation and the kernel "
            "centres are drawn with random_state by position among the target "
            "rows, so the same rows in another order get other folds and "
            "centres (as with shuffled rows under another seed)"
        ),
    }

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [object, None],
        **_KLIEP_PARAMS,
        "target_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        sampler=None,
        sigma=None,
        sigmas=None,
        n_centers=300,
        cv=5,
        solver="auto",
        tol=1e-9,
        target_weight=1.0,
        random_state=None,
    ):
        super().__init__(estimator, sampler=sampler)
        self.sigma = sigma
        self.sigmas = sigmas
        self.n_centers = n_centers
        self.cv = cv
        self.solver = solver
        self.tol = tol
        self.target_weight = target_weight
        self.random_state = random_state

    def _weights(self, Xs, Xt):
        sigma, cv = self.sigma, self.cv
        if sigma is None and Xt.shape[0] < cv:
            cv = max(2, Xt.shape[0])
        if sigma is None and Xt.shape[0] < 2:  # nothing to cross-validate
            if self.sigmas is None:
                # in the units kliep_weights would use (rescaled where the
                # distances would underflow, centred on a large offset)
                Xs_k, Xt_k, scale = _kernel_units(Xs, Xt)
                pool = np.vstack((Xs_k, Xt_k))
                sigma = median_heuristic(pool, random_state=self.random_state)
                sigma /= scale
            else:  # checked as kliep_weights checks them with more rows
                sigma = float(np.max(_check_sigmas(self.sigmas)))
        return kliep_weights(
            Xs,
            Xt,
            sigma=sigma,
            sigmas=self.sigmas,
            n_centers=self.n_centers,
            cv=cv,
            solver=self.solver,
            tol=self.tol,
            random_state=self.random_state,
            return_info=True,
        )

    def _fit(self, data):
        self._validate_params()
        _fit_weighted(self, data)
        self.sigma_ = self.diagnostics_["sigma"]
