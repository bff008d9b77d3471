"""KMM and KLIEP refuse up front kernels that would not fit in memory.

The memory available is lowered through ``sertl_core.utils.available_memory``
(the check's source), so nothing large is ever allocated here.
"""

import numpy as np
import pytest
import sertl_instance._kliep
import sertl_instance._kmm
from sertl_instance import KLIEP, KMM, kliep_weights, kmm_weights
from sklearn.linear_model import LogisticRegression


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(size=(100, 3)), rng.normal(loc=0.5, size=(80, 3))


def _refuse(*args, **kwargs):
    raise AssertionError("the kernel was built before the memory check")


def _no_kernel(monkeypatch):
    monkeypatch.setattr(sertl_instance._kmm, "gaussian_kernel", _refuse)


@pytest.mark.parametrize(
    ("solver", "need"),
    [("apg", r"0\.16 MB"), ("cvxpy", r"2\.4 MB"), ("SCS", r"2\.4 MB")],
)
def test_exact_kernel_refuses_what_would_not_fit_before_building_it(
    monkeypatch, memory_available, rows, solver, need
):
    # before: at 20,000 source rows the 3.2 GB kernel was built and the
    # eigenvalue solver's copy then failed in numpy (MemoryError, after 73 s
    # under a 4 GB limit); cvxpy on the dense factor needs ~30 such matrices
    Xs, Xt = rows
    memory_available(8 * 100 * 100)  # room for one 100 x 100 kernel
    _no_kernel(monkeypatch)
    with pytest.raises(
        MemoryError,
        match=(
            rf"KMM with the exact kernel and solver='{solver}' on 100 source "
            rf"rows builds 100 x 100 matrices: about {need} of memory, more "
            r"than the 0\.08 MB available now\. Use kernel_approx='nystroem'"
        ),
    ):
        kmm_weights(Xs, Xt, kernel_approx="exact", solver=solver)


def test_estimator_refuses_too(monkeypatch, memory_available, rows):
    Xs, Xt = rows
    X = np.vstack([Xs, Xt])
    y = np.r_[np.arange(100) % 2, -np.ones(80, int)]
    memory_available(1000)
    _no_kernel(monkeypatch)
    with pytest.raises(MemoryError, match="Use kernel_approx='nystroem'"):
        KMM(LogisticRegression(), kernel_approx="exact").fit(X, y)


def test_exact_kernel_fits_when_the_estimate_fits(memory_available, rows):
    Xs, Xt = rows
    memory_available(16 * 100 * 100)  # the "apg" estimate exactly
    w, info = kmm_weights(
        Xs, Xt, kernel_approx="exact", solver="apg", random_state=0, return_info=True
    )
    assert info["kernel"] == "exact" and info["status"] == "optimal"


def test_nystroem_refuses_too_many_landmarks_before_drawing_them(
    monkeypatch, memory_available, rows
):
    Xs, Xt = rows
    memory_available(8 * 50 * 50)  # room for one landmark kernel, not four
    _no_kernel(monkeypatch)
    with pytest.raises(
        MemoryError,
        match=(
            r"KMM with n_landmarks=50 on 100 source rows builds 50 x 50 landmark "
            r"matrices: about 0\.08 MB .* Lower n_landmarks"
        ),
    ):
        kmm_weights(Xs, Xt, kernel_approx="nystroem", n_landmarks=50)
    monkeypatch.undo()
    memory_available(8 * 4 * 50 * 50)
    w, info = kmm_weights(
        Xs, Xt, kernel_approx="nystroem", n_landmarks=50, return_info=True
    )
    assert w.shape == (100,)
    assert info["rank"] < 50  # so the n_s x rank factor fits in that room too


def test_nystroem_refuses_a_factor_too_large_for_the_rows(memory_available):
    # the factor has as many columns as the spectrum's rank, not as landmarks
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(1000, 3)), rng.normal(loc=0.5, size=(200, 3))
    kw = {"kernel_approx": "nystroem", "n_landmarks": 10, "random_state": 0}
    _, info = kmm_weights(Xs, Xt, return_info=True, **kw)
    m, r = info["n_landmarks"], info["rank"]
    assert 4 * m * m < 1000 * r  # the factor, not the landmarks, is the peak
    memory_available(8 * 1000 * r - 1)
    with pytest.raises(
        MemoryError,
        match=rf"builds 1,000 x {r} kernel factor matrices: .* Lower n_landmarks",
    ):
        kmm_weights(Xs, Xt, **kw)


def test_kliep_refuses_too_many_centres_before_building_their_kernel(
    monkeypatch, memory_available, rows
):
    Xs, Xt = rows  # 100 source, 80 target rows: at most 80 centres
    need = 8 * ((3 * 80 + 100) * 80 + 3 * 80 * 80)
    memory_available(need - 1)
    monkeypatch.setattr(sertl_instance._kliep, "gaussian_kernel", _refuse)
    with pytest.raises(
        MemoryError,
        match=(
            r"KLIEP with n_centers=1000 on 100 source and 80 target rows builds "
            r"kernel matrices of 80 columns and 80 x 80 Newton systems: about "
            r"0\.371 MB .* Lower n_centers"
        ),
    ):
        kliep_weights(Xs, Xt, n_centers=1000, sigma=1.0)
    monkeypatch.undo()
    memory_available(need)
    w = kliep_weights(Xs, Xt, n_centers=1000, sigma=1.0, random_state=0)
    assert w.shape == (100,)


def test_kliep_estimator_refuses_too(memory_available, rows):
    Xs, Xt = rows
    X = np.vstack([Xs, Xt])
    y = np.r_[np.arange(100) % 2, -np.ones(80, int)]
    memory_available(1000)
    with pytest.raises(MemoryError, match="Lower n_centers"):
        KLIEP(LogisticRegression(), sigma=1.0).fit(X, y)
