"""KMM and KLIEP on features of extreme scale (squared distances under/overflow).

The median-heuristic width makes both methods scale invariant; rows spread
over ~1e-160 (or ~1e+160) are worked on in units rescaled by a power of two,
so the weights equal those of the unscaled rows, and ordinary rows are used
exactly as given.
"""

import numpy as np
import pytest
from sertl_instance import (
    KLIEP,
    KMM,
    KernelWidthWarning,
    SolverFailedError,
    kliep_weights,
    kmm_weights,
)
from sertl_instance._kmm import _kernel_scale
from sklearn.neighbors import KNeighborsClassifier

# KLIEP's default grid may end at its smallest width on these small sets
pytestmark = pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")

TINY, HUGE = 2.0**-530, 2.0**530  # ~3e-160 and ~4e+159, exact to apply


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), rng.normal(loc=0.5, size=(40, 3))


KMM_CASES = [
    pytest.param({}, id="exact-cvxpy"),
    pytest.param({"solver": "apg"}, id="exact-apg"),
    pytest.param({"kernel_approx": "nystroem"}, id="nystroem-newton"),
]


@pytest.mark.parametrize("kw", KMM_CASES)
@pytest.mark.parametrize("factor", [TINY, HUGE])
def test_kmm_weights_of_rescaled_rows_are_those_of_the_rows(rows, kw, factor):
    # before: cvxpy's "'Constant' object has no attribute 'id'", the
    # eigen-solver's "Eigenvalues did not converge", or NaN weights (Nyström)
    Xs, Xt = rows
    w, info = kmm_weights(Xs, Xt, random_state=0, return_info=True, **kw)
    ws, info_s = kmm_weights(
        Xs * factor, Xt * factor, random_state=0, return_info=True, **kw
    )
    np.testing.assert_array_equal(ws, w)
    assert info_s["sigma"] == info["sigma"] * factor  # in the caller's units
    assert info_s["status"] == "optimal"


@pytest.mark.parametrize("kw", KMM_CASES)
def test_kmm_weights_of_rows_of_1e_minus_160(rows, kw):
    Xs, Xt = rows
    w = kmm_weights(Xs, Xt, random_state=0, **kw)
    ws = kmm_weights(Xs * 1e-160, Xt * 1e-160, random_state=0, **kw)
    assert np.all(np.isfinite(ws))
    np.testing.assert_allclose(ws, w, rtol=1e-6, atol=1e-6)


def test_a_given_width_is_in_the_callers_units(rows):
    Xs, Xt = rows
    w = kmm_weights(Xs, Xt, sigma=0.7)
    np.testing.assert_array_equal(
        kmm_weights(Xs * TINY, Xt * TINY, sigma=0.7 * TINY), w
    )
    w = kliep_weights(Xs, Xt, sigma=0.7, random_state=0)
    ws = kliep_weights(Xs * TINY, Xt * TINY, sigma=0.7 * TINY, random_state=0)
    np.testing.assert_array_equal(ws, w)
    grid = np.array([0.3, 1.0, 3.0])
    w, info = kliep_weights(Xs, Xt, sigmas=grid, random_state=0, return_info=True)
    ws, info_s = kliep_weights(
        Xs * TINY, Xt * TINY, sigmas=grid * TINY, random_state=0, return_info=True
    )
    np.testing.assert_array_equal(ws, w)
    assert list(info_s["cv_scores"]) == list(grid * TINY)
    assert list(info_s["cv_scores"].values()) == list(info["cv_scores"].values())


@pytest.mark.parametrize("factor", [TINY, HUGE])
def test_kliep_weights_of_rescaled_rows_are_those_of_the_rows(rows, factor):
    # before: a SolverFailedError blaming sigma (tiny rows), or "sigmas must
    # be a non-empty list of positive widths, got [inf ...]" (huge rows)
    Xs, Xt = rows
    w, info = kliep_weights(Xs, Xt, random_state=0, return_info=True)
    ws, info_s = kliep_weights(
        Xs * factor, Xt * factor, random_state=0, return_info=True
    )
    np.testing.assert_array_equal(ws, w)
    assert info_s["sigma"] == info["sigma"] * factor
    assert list(info_s["cv_scores"]) == [s * factor for s in info["cv_scores"]]
    np.testing.assert_array_equal(info_s["centers"], info["centers"] * factor)
    ws = kliep_weights(Xs * 1e-160, Xt * 1e-160, random_state=0)
    np.testing.assert_allclose(ws, w, rtol=1e-6, atol=1e-6)


def test_kliep_messages_name_widths_in_the_callers_units(rows):
    Xs, Xt = rows
    with pytest.raises(SolverFailedError, match=r"with sigma=1e-163 the kernel"):
        kliep_weights(Xs * 1e-160, Xt * 1e-160, sigma=1e-163)
    with pytest.warns(
        KernelWidthWarning,
        match=r"chose sigma=1e-16[01], the (smallest|largest) candidate width "
        r"\(the candidates run from 1e-161 to 1e-160\)",
    ):
        kliep_weights(Xs * 1e-160, Xt * 1e-160, sigmas=[1e-161, 1e-160], random_state=0)


@pytest.mark.parametrize("method", [KMM, KLIEP])
def test_fit_on_rows_of_extreme_scale(method):
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(60, 2))
    Xt = rng.normal(loc=1.0, size=(40, 2))
    X = np.vstack([Xs, Xt])
    y = np.r_[(Xs[:, 0] > 0).astype(int), -np.ones(40, int)]
    ref = method(KNeighborsClassifier(), random_state=0).fit(X, y)
    for factor in (TINY, 1e-160):
        est = method(KNeighborsClassifier(), random_state=0).fit(X * factor, y)
        np.testing.assert_allclose(est.weights_, ref.weights_, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(est.predict(Xt * factor), ref.predict(Xt))
    # one target row: KLIEP takes the median width without cross-validation
    one = np.r_[y[:60], -1]
    ref = method(KNeighborsClassifier(), random_state=0).fit(X[:61], one)
    est = method(KNeighborsClassifier(), random_state=0).fit(X[:61] * TINY, one)
    np.testing.assert_array_equal(est.weights_, ref.weights_)


@pytest.mark.parametrize("spread", [1e-90, 1e-3, 1.0, 1e3, 1e90])
def test_ordinary_rows_are_used_as_given(rows, spread):
    # scale 1.0: kmm_weights and kliep_weights take the rows bit for bit
    Xs, Xt = rows
    Xs = Xs / np.ptp(np.vstack((Xs, Xt))) * spread
    assert _kernel_scale(Xs, Xt) == 1.0
    assert _kernel_scale(np.zeros((3, 2)), np.zeros((2, 2))) == 1.0


def test_kmm_with_a_resampled_estimator_keeps_a_far_class():
    # class 2 sits far from the target: KMM gives it weights ~3e-4 of the
    # others', and a KNeighborsClassifier (no sample_weight) trained on a
    # weighted resample used to lose it from classes_
    rng = np.random.default_rng(0)
    Xs = np.r_[rng.normal(size=(40, 2)), rng.normal(loc=8, size=(5, 2))]
    ys = np.r_[(Xs[:40, 0] > 0).astype(int), np.full(5, 2)]
    Xt = rng.normal(size=(40, 2))
    X = np.r_[Xs, Xt]
    y = np.r_[ys, -np.ones(40, int)]
    clf = KMM(KNeighborsClassifier(), random_state=0).fit(X, y)
    assert clf.weights_[40:].max() < 1e-3 * clf.weights_[:40].mean()
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(Xt).shape == (40, 3)


def _on_a_grid(X):
    """``X`` rounded to multiples of 2**-12: ``X + 1e8`` is then exact."""
    return np.round(X * 2.0**12) / 2.0**12


@pytest.mark.parametrize("kw", KMM_CASES)
@pytest.mark.parametrize("offset", [1e8, -(2.0**40)])
def test_kmm_weights_of_rows_sharing_a_large_offset(rows, kw, offset):
    # the squared distances |x|^2 + |y|^2 - 2 x.y of rows around 1e8 lost
    # all their digits: the weights came out 100 % off (at 1e6, 0.3 %)
    Xs, Xt = map(_on_a_grid, rows)
    ref = kmm_weights(Xs, Xt, random_state=0, **kw)
    got = kmm_weights(Xs + offset, Xt + offset, random_state=0, **kw)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * ref.max())


@pytest.mark.parametrize("offset", [1e8, -(2.0**40)])
def test_kliep_weights_of_rows_sharing_a_large_offset(rows, offset):
    # as for KMM: 86 % off at 1e8; the centres are the caller's rows
    Xs, Xt = map(_on_a_grid, rows)
    ref, info = kliep_weights(Xs, Xt, random_state=0, return_info=True)
    got, moved = kliep_weights(
        Xs + offset, Xt + offset, random_state=0, return_info=True
    )
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * ref.max())
    assert moved["sigma"] == pytest.approx(info["sigma"], rel=1e-9)
    np.testing.assert_array_equal(moved["centers"], info["centers"] + offset)


def test_kliep_with_one_target_row_sharing_a_large_offset(rows):
    Xs, Xt = map(_on_a_grid, rows)
    X = np.vstack([Xs, Xt[:1]])
    y = np.r_[np.tile([0, 1], 30), -1]
    sd = np.r_[np.ones(60, int), -1]
    ref = KLIEP(random_state=0).fit(X, y, sample_domain=sd)
    got = KLIEP(random_state=0).fit(X + 1e8, y, sample_domain=sd)
    assert got.sigma_ == pytest.approx(ref.sigma_, rel=1e-9)
    np.testing.assert_allclose(got.weights_, ref.weights_, rtol=1e-6)
