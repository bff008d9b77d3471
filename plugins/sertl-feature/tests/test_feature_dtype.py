"""float32 rows come back float32: computed in float64, cast at the end."""

import numpy as np
import pytest
from sertl_feature import CORAL, JDA, TCA, SubspaceAlignment
from sklearn.base import clone
from sklearn.utils import get_tags


def _data(seed=0, n=60, d=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, d))
    ys = np.repeat([0, 1, 2], n // 3)
    Xs = centres[ys] + rng.normal(size=(n, d))
    Xt = (centres[ys] + rng.normal(size=(n, d))) * 1.5 + 2.0
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(n, int)]
    sd = np.r_[np.ones(n // 2, int), np.full(n - n // 2, 2), -np.ones(n, int)]
    return X, y, sd


ADAPTERS = [
    CORAL(),
    CORAL(reg="auto"),
    CORAL(reg=0.1, center=False),
    TCA(n_components=3, random_state=0),
    TCA(kernel="linear", n_components=3),
    TCA(solver="lowrank", n_landmarks=30, n_components=3, random_state=0),
    SubspaceAlignment(n_components=3),
    SubspaceAlignment(),
    JDA(n_components=3, max_iter=3, random_state=0),
    JDA(kernel="linear", n_components=3, max_iter=3),
]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=repr)
def test_float32_in_float32_out_close_to_float64(adapter):
    X, y, sd = _data()
    X32 = X.astype(np.float32)
    a32 = clone(adapter).fit(X32, y, sample_domain=sd)
    a64 = clone(adapter).fit(X, y, sample_domain=sd)
    for kwargs in ({"sample_domain": sd}, {}):
        Z32 = a32.transform(X32, **kwargs)
        Z64 = a64.transform(X, **kwargs)
        assert Z32.dtype == np.float32
        assert Z64.dtype == np.float64
        # float32 rounding of the input (relative 6e-8) and of the output
        # move it by far less than this; a sign flip, a swapped component or
        # a changed pseudo-label would not
        scale = np.abs(Z64).max()
        np.testing.assert_allclose(Z32, Z64, rtol=1e-4, atol=1e-5 * scale)
    Zft = clone(adapter).fit_transform(X32, y, sample_domain=sd)
    assert Zft.dtype == np.float32
    np.testing.assert_array_equal(Zft, a32.transform(X32, sample_domain=sd))


@pytest.mark.parametrize("adapter", ADAPTERS, ids=repr)
def test_float32_fit_is_the_float64_fit_of_the_same_values(adapter):
    # the model is fitted in float64: float32 input gives the float64 output
    # of its (exactly representable) values, rounded once at the end
    X, y, sd = _data(seed=1)
    X32 = X.astype(np.float32)
    a32 = clone(adapter).fit(X32, y, sample_domain=sd)
    a64 = clone(adapter).fit(X32.astype(np.float64), y, sample_domain=sd)
    for kwargs in ({"sample_domain": sd}, {}):
        np.testing.assert_array_equal(
            a32.transform(X32, **kwargs),
            a64.transform(X32.astype(np.float64), **kwargs).astype(np.float32),
        )
    fitted = [v for k, v in vars(a32).items() if k.endswith("_") and k[0] != "_"]
    floats = [v for v in fitted if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    assert floats and all(v.dtype == np.float64 for v in floats)


def test_coral_target_rows_pass_unchanged_in_float32():
    X, y, sd = _data()
    X32 = X.astype(np.float32)
    coral = CORAL().fit(X32, sample_domain=sd)
    Xt32 = X32[sd < 0]
    Z = coral.transform(Xt32)
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z, Xt32)
    assert not np.shares_memory(Z, Xt32)  # never the caller's array


@pytest.mark.parametrize("adapter", ADAPTERS, ids=repr)
def test_tag_declares_float32(adapter):
    assert get_tags(adapter).transformer_tags.preserves_dtype == [
        "float64",
        "float32",
    ]


def test_other_dtypes_still_become_float64():
    X, y, sd = _data()
    coral = CORAL().fit(np.round(X).astype(np.int64), sample_domain=sd)
    assert coral.transform(np.round(X[:5]).astype(np.int32)).dtype == np.float64
    assert coral.transform(X[:5].astype(np.float16)).dtype == np.float64
