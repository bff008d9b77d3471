"""Edge cases of the instance-weighting estimators."""

import numpy as np
import pytest
from sertl_instance import KLIEP, kliep_weights, kmm_weights


def _one_target_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(21, 3))
    y = np.r_[np.tile([0, 1], 10), -1]
    sd = np.r_[np.ones(20, int), -1]
    return X, y, sd


@pytest.mark.parametrize("sigmas", [[], [-1.0, 2.0], [np.nan, 1.0]])
def test_kliep_checks_sigmas_with_a_single_target_row(sigmas):
    # with one target row KLIEP took max(sigmas) unchecked: [] crashed in
    # numpy ("zero-size array to reduction operation"), and a negative or
    # NaN candidate refused with more target rows was accepted
    X, y, sd = _one_target_row()
    with pytest.raises(ValueError, match="sigmas must be a non-empty list of positive"):
        KLIEP(sigmas=sigmas).fit(X, y, sample_domain=sd)


def test_kliep_single_target_row_still_takes_the_largest_valid_width():
    X, y, sd = _one_target_row()
    assert KLIEP(sigmas=[0.5, 3.0]).fit(X, y, sample_domain=sd).sigma_ == 3.0


@pytest.mark.parametrize("func", [kmm_weights, kliep_weights])
@pytest.mark.parametrize("empty", ["X_source", "X_target"])
def test_weights_of_an_empty_side_name_the_empty_array(func, empty):
    # scikit-learn's "Found array with 0 sample(s)" named neither array
    X = np.random.default_rng(0).normal(size=(10, 3))
    arrays = {"X_source": X, "X_target": X, empty: X[:0]}
    with pytest.raises(ValueError, match=rf"^{empty} has no rows \(shape \(0, 3\)\)"):
        func(arrays["X_source"], arrays["X_target"], sigma=1.0)
