"""Edge cases of the instance-weighting estimators."""

import re

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


@pytest.mark.parametrize("sigmas", [[[0.5, 1.0], [2.0, 4.0]], np.ones((1, 3)), [[2.0]]])
@pytest.mark.parametrize("n_target", [1, 30])
def test_kliep_refuses_a_grid_of_widths_of_more_than_one_axis(sigmas, n_target):
    # a 2-D grid was flattened silently into one list of candidates (and
    # with one target row its largest entry was taken), so a user who meant
    # one width per feature got an isotropic kernel without a word
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40 + n_target, 3))
    y = np.r_[np.tile([0, 1], 20), -np.ones(n_target, int)]
    sd = np.r_[np.ones(40, int), -np.ones(n_target, int)]
    shape = re.escape(str(np.shape(sigmas)))
    match = rf"sigmas must be a 1-D list .* got an array of shape {shape}"
    with pytest.raises(ValueError, match=match):
        KLIEP(sigmas=sigmas).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match=match):
        kliep_weights(X[:40], X[40:], sigmas=sigmas)


def test_kliep_names_every_width_of_a_small_grid_to_pass_instead():
    # the flat list to pass instead was cut after three widths: for
    # [[0.5, 1.0], [2.0, 4.0]] it offered sigmas=[0.5, 1.0, 2.0], losing 4.0
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=re.escape("sigmas=[0.5, 1.0, 2.0, 4.0],")):
        kliep_weights(X[:30], X[30:], sigmas=[[0.5, 1.0], [2.0, 4.0]])
    ten = ", ".join(["1.0"] * 10)
    with pytest.raises(ValueError, match=re.escape(f"sigmas=[{ten}, ...],")):
        kliep_weights(X[:30], X[30:], sigmas=np.ones((2, 6)))
