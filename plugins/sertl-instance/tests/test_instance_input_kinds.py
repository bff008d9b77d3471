"""The public functions take the inputs users have and leave them unchanged.

Source and target rows and weights are given read-only (a memory map, as
joblib's workers get them), as non-contiguous read-only views, as pandas
objects and as lists: the result must be that of plain arrays. KMM and
KLIEP are checked by the conformance kit.
"""

import inspect

import numpy as np
import pandas as pd
import pytest
import sertl_instance

from sertl_core.testing import make_domain_data

X, _, SD, _ = make_domain_data(n_per_domain=20, n_features=4)
XS, XT = X[SD > 0], X[SD < 0]

CASES = {
    "kmm_weights": (
        lambda a, b: sertl_instance.kmm_weights(a, b, random_state=0),
        {"a": XS, "b": XT},
    ),
    "kliep_weights": (
        lambda a, b: sertl_instance.kliep_weights(
            a, b, n_centers=20, cv=2, random_state=0
        ),
        {"a": XS, "b": XT},
    ),
    "weight_diagnostics": (
        sertl_instance.weight_diagnostics,
        {"w": np.random.default_rng(0).uniform(0.1, 3.0, 40)},
    ),
}


def test_every_public_function_is_covered():
    names = {
        n
        for n in sertl_instance.__all__
        if inspect.isfunction(getattr(sertl_instance, n))
    }
    assert "kmm_weights" in names
    assert names - set(CASES) == set(), "add these to CASES"


KINDS = ["read-only", "memmap", "strided", "pandas", "list"]


def _as_kind(a, kind, path):
    if kind == "memmap" and a.dtype.kind != "O":
        np.save(path, a, allow_pickle=False)
        return np.load(path, mmap_mode="r")
    if kind in ("read-only", "memmap"):
        b = a.copy()
        b.setflags(write=False)
        return b
    if kind == "strided":
        wide = np.repeat(a, 2, axis=a.ndim - 1)
        view = wide[:, ::2] if a.ndim == 2 else wide[::2]
        view.setflags(write=False)
        return view
    if kind == "pandas":
        if a.ndim == 2:
            return pd.DataFrame(a, columns=[f"f{j}" for j in range(a.shape[1])])
        index = np.random.default_rng(0).permutation(len(a)) + 1000
        return pd.Series(a, index=index)
    return a.tolist()


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
    elif np.asarray(a).dtype.kind == "f":
        # the solvers stop at a tolerance: another memory layout (a DataFrame's
        # columns) takes other rounding on the way
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-12)
    else:
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def _snapshot(v):
    return v.copy(deep=True) if isinstance(v, pd.Series | pd.DataFrame) else list(v)


@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    case, kind, tmp_path
):
    func, inputs = CASES[case]
    plain = {k: a.copy() for k, a in inputs.items()}
    expected = func(**plain)
    for k, a in plain.items():
        np.testing.assert_array_equal(a, inputs[k], err_msg=f"{k} was modified")
    given = {k: _as_kind(a, kind, tmp_path / f"{k}.npy") for k, a in inputs.items()}
    before = {k: _snapshot(v) for k, v in given.items()}
    _same(expected, func(**given))
    for k, v in given.items():
        if isinstance(v, pd.Series | pd.DataFrame):
            assert v.equals(before[k]), f"{k} was modified"
        else:
            _same(before[k], list(v))
