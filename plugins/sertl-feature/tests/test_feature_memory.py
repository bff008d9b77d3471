"""TCA and JDA refuse up front a solve that would not fit in memory.

The memory available is lowered through ``sertl_core.utils.available_memory``
(the check's source), so nothing large is ever allocated here.
"""

import numpy as np
import pytest
from sertl_feature import JDA, TCA
from sertl_feature._tca import _KernelEmbedding


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 4)), rng.normal(loc=1.0, size=(40, 4))])
    y = np.r_[rng.integers(0, 2, 60), -np.ones(40, int)]
    sd = np.r_[np.ones(60, int), -np.ones(40, int)]
    return X, y, sd


def _no_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the kernel was built before the memory check")

    monkeypatch.setattr(_KernelEmbedding, "_kernel_block", refuse)
    monkeypatch.setattr(_KernelEmbedding, "_kernel_features", refuse)


@pytest.mark.parametrize("cls", [TCA, JDA])
def test_exact_solver_refuses_what_would_not_fit_before_building_the_kernel(
    monkeypatch, memory_available, data, cls
):
    # before: at 20,000 + 20,000 rows numpy's "Unable to allocate 11.9 GiB
    # for an array with shape (40000, 40000)" inside rbf_kernel, or, where
    # that allocation succeeds, the system killing the process minutes later
    X, y, sd = data
    n = X.shape[0]
    memory_available(8 * n * n)  # room for one n x n kernel, not five
    _no_kernel(monkeypatch)
    with pytest.raises(
        MemoryError,
        match=(
            rf"{cls.__name__} with the exact solver on 100 rows builds 100 x 100 "
            r"kernel matrices: about 0\.4 MB of memory, more than the 0\.08 MB "
            r"available now\. Use solver='lowrank'"
        ),
    ):
        cls(solver="exact").fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("cls", [TCA, JDA])
def test_exact_solver_fits_when_the_estimate_fits(memory_available, data, cls):
    X, y, sd = data
    n = X.shape[0]
    memory_available(8 * 5 * n * n)  # the estimate: five n x n matrices
    est = cls(solver="exact", n_components=2).fit(X, y, sample_domain=sd)
    assert est.solver_ == "exact"
    assert est.transform(X).shape == (n, 2)


@pytest.mark.parametrize("cls", [TCA, JDA])
def test_lowrank_solver_refuses_too_many_landmarks(
    monkeypatch, memory_available, data, cls
):
    X, y, sd = data
    n, m = X.shape[0], 50
    need = 8 * (n * m + 5 * m * m)  # k(X, landmarks) and five m x m matrices
    memory_available(8 * n * m)
    _no_kernel(monkeypatch)
    with pytest.raises(
        MemoryError,
        match=(
            rf"{cls.__name__} with the low-rank solver on 100 rows and "
            r"n_landmarks=50 builds a 100 x 50 kernel factor: .* Lower "
            r"n_landmarks, or fit on fewer rows\."
        ),
    ):
        cls(solver="lowrank", n_landmarks=m).fit(X, y, sample_domain=sd)
    monkeypatch.undo()
    memory_available(need)
    est = cls(solver="lowrank", n_landmarks=m, n_components=2, random_state=0)
    assert est.fit(X, y, sample_domain=sd).transform(X).shape == (n, 2)


def test_linear_factor_needs_no_check(memory_available, data):
    # the linear kernel's factor is X itself: nothing grows past the input
    X, y, sd = data
    memory_available(0)
    est = TCA(kernel="linear", n_components=2).fit(X, y, sample_domain=sd)
    assert est.solver_ == "lowrank"
