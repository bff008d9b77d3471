"""KMM refuses up front an exact kernel that would not fit in memory.

The memory available is lowered through ``sertl_core.utils.available_memory``
(the check's source), so nothing large is ever allocated here.
"""

import numpy as np
import pytest
import sertl_instance._kmm
from sertl_instance import KMM, kmm_weights
from sklearn.linear_model import LogisticRegression


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(size=(100, 3)), rng.normal(loc=0.5, size=(80, 3))


def _no_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the kernel was built before the memory check")

    monkeypatch.setattr(sertl_instance._kmm, "gaussian_kernel", refuse)


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


def test_exact_kernel_fits_when_the_estimate_fits_and_nystroem_needs_no_room(
    memory_available, rows
):
    Xs, Xt = rows
    memory_available(16 * 100 * 100)  # the "apg" estimate exactly
    w, info = kmm_weights(
        Xs, Xt, kernel_approx="exact", solver="apg", random_state=0, return_info=True
    )
    assert info["kernel"] == "exact" and info["status"] == "optimal"
    memory_available(0)  # the Nyström factor grows with the rows only
    w, info = kmm_weights(
        Xs, Xt, kernel_approx="nystroem", random_state=0, return_info=True
    )
    assert info["kernel"] == "nystroem" and w.shape == (100,)
