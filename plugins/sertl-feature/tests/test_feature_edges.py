"""Edge cases of the feature adapters: overflow, underflow, no target rows."""

import warnings

import numpy as np
import pytest
from sertl_feature import CORAL, JDA, TCA, SubspaceAlignment
from sklearn.base import clone

from sertl_core import NoTargetWarning


def _data(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 4)) * scale
    sd = np.r_[np.ones(20, int), -np.ones(20, int)]
    y = np.r_[np.tile([0, 1], 10), -np.ones(20, int)]
    return X, y, sd


@pytest.mark.parametrize(
    "adapter, scale",
    [
        (TCA(n_components=2), 1e200),
        (TCA(n_components=2, solver="lowrank"), 1e200),
        (TCA(n_components=2, kernel="linear"), 1e80),
        (JDA(n_components=2), 1e200),
        (CORAL(), 1e200),
        (CORAL(reg="auto"), 1e200),
        (SubspaceAlignment(), 1e200),
    ],
    ids=repr,
)
def test_huge_rows_get_a_clear_error_not_a_lapack_one(adapter, scale):
    # was: an overflow RuntimeWarning, then scipy's "array must not
    # contain infs or NaNs" (or sklearn's "Input contains NaN")
    X, y, sd = _data(scale)
    name = type(adapter).__name__
    with pytest.raises(ValueError, match=rf"{name} cannot fit.*overflows float64"):
        adapter.fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("adapter", [TCA(n_components=2), CORAL(), SubspaceAlignment()])
def test_the_overflow_guard_leaves_ordinary_rows_alone(adapter):
    X, y, sd = _data(1e3)
    Z = adapter.fit(X, y, sample_domain=sd).transform(X, sample_domain=sd)
    assert np.isfinite(Z).all()


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_underflowing_rows_are_not_told_to_use_gamma_none(kernel):
    # with gamma=None the message used to advise gamma=None (rbf), or
    # offered a one-sided "either" (linear)
    X, y, sd = _data(1e-200)
    with pytest.raises(ValueError, match=r"underflow float64.*DomainStandardScaler"):
        TCA(n_components=2, kernel=kernel).fit(X, sample_domain=sd)


@pytest.mark.parametrize("Est", [TCA, JDA])
@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_without_target_rows_the_limit_counts_the_callers_rows(Est, kernel):
    # without target rows fit holds each row twice: 3 rows allowed 5
    # components (the last 3 of zero variance) under the RBF kernel
    X = np.random.default_rng(0).normal(size=(3, 4))
    y = np.array([0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoTargetWarning)
        with pytest.raises(ValueError, match=r"at most 2 .*n_rows - 1 = 2\)"):
            Est(n_components=4, kernel=kernel).fit(X, y)
        est = Est(kernel=kernel).fit(X, y)
    assert est.n_components_ == 2
    assert est.eigenvalues_.min() > 1e-8


def test_the_subspace_bound_does_not_change_with_huge_features():
    # at |x| ~ 1e153 the bound's right-hand side rhs * B overflowed to inf
    # (B, the largest squared norm, is near the float64 limit), so the
    # "scale-free" rule silently fell to one component
    X, _, sd = _data()
    unit = SubspaceAlignment().fit(X, sample_domain=sd).n_components_
    huge = SubspaceAlignment().fit(X * 1e153, sample_domain=sd).n_components_
    assert unit == huge == 3


@pytest.mark.parametrize(
    "adapter",
    [
        TCA(n_components=2),
        TCA(n_components=2, solver="lowrank", n_landmarks=25, random_state=0),
        JDA(n_components=2),
    ],
    ids=repr,
)
@pytest.mark.parametrize("offset", [1e8, -(2.0**40)])
def test_rbf_embedding_of_rows_sharing_a_large_offset(adapter, offset):
    # the squared distances |x|^2 + |y|^2 - 2 x.y of rows around 1e8 lost
    # their digits: the embedding came out 80 % to 400 % off that of the
    # same rows without the offset (1e-4 at 1e6), silently
    X, y, sd = _data()
    X = np.round(X * 2.0**12) / 2.0**12  # X + offset is then exact
    new = X[:5] + 0.25
    ref = clone(adapter).fit(X, y, sample_domain=sd)
    got = clone(adapter).fit(X + offset, y, sample_domain=sd)
    Z = ref.transform(X, sample_domain=sd)
    np.testing.assert_allclose(
        got.transform(X + offset, sample_domain=sd), Z, atol=1e-8 * np.abs(Z).max()
    )
    np.testing.assert_allclose(
        got.transform(new + offset), ref.transform(new), atol=1e-8 * np.abs(Z).max()
    )
    assert ref.kernel_shift_ is None  # ordinary rows are used as given


def test_linear_kernel_names_a_large_offset_as_a_cause():
    # the linear kernel is not translation invariant (its ridge acts on the
    # uncentred Gram matrix), so such rows are refused; the message named
    # only identical rows and underflow, neither of which was the cause
    X, y, sd = _data()
    with pytest.raises(ValueError, match=r"share an offset so much larger.*Scaler"):
        TCA(n_components=2, kernel="linear").fit(X + 1e8, sample_domain=sd)


@pytest.mark.parametrize("factor", [1e-100, 1e-140, 1e80, 1e120])
def test_coral_auto_is_scale_equivariant_at_extreme_magnitudes(factor):
    # Ledoit-Wolf's fourth powers underflowed below ~1e-77: the map came
    # out 25 % off at 1e-100, silently; above ~1e77 they overflowed and the
    # fit was refused although reg=1.0 fitted the same rows
    X, y, sd = _data()
    ref = CORAL(reg="auto").fit(X, sample_domain=sd).transform(X, sample_domain=sd)
    coral = CORAL(reg="auto").fit(X * factor, sample_domain=sd)
    Z = coral.transform(X * factor, sample_domain=sd) / factor
    np.testing.assert_allclose(Z, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "adapter",
    [
        SubspaceAlignment(n_components=3),
        TCA(n_components=3, kernel="linear"),
        JDA(n_components=3, kernel="linear"),
    ],
    ids=repr,
)
def test_too_many_components_on_features_of_scales_far_apart_says_why(adapter):
    # features of 1e-8 next to 1e8 vanish in rounding, so the rows span
    # fewer directions than they have features; the error named only
    # constant or collinear features, which these rows do not have
    X, y, sd = _data()
    X = X * np.array([1e-8, 1.0, 1e8, 1e-4])
    with pytest.raises(ValueError, match=r"at most 1 .*scales so far apart.*Scaler"):
        adapter.fit(X, y, sample_domain=sd)
    # the limit given by the rows alone gets no such hint
    X, y, sd = _data()
    with pytest.raises(ValueError, match=r"at most 4 \(.*<= 4\.$"):
        clone(adapter).set_params(n_components=5).fit(X, y, sample_domain=sd)
