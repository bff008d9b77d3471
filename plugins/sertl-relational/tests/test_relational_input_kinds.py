"""The public functions take the label arrays users have and leave them unchanged.

Labels are given read-only (a memory map), as non-contiguous read-only
views, as pandas Series with a shuffled index and as lists: the result must
be that of plain arrays. The estimators are checked by the conformance kit.
"""

import inspect

import numpy as np
import pandas as pd
import pytest
import sertl_relational

EMOTIONS = np.array(["anger", "sadness", "neutral", "happiness", "fear"] * 4)

CASES = {
    "emotion_coordinates": (sertl_relational.emotion_coordinates, {"labels": EMOTIONS}),
    "emotion_coordinates/object": (
        sertl_relational.emotion_coordinates,
        {"labels": EMOTIONS.astype(object)},
    ),
}

# public names that take no arrays (canonical_emotion maps one label; RKDLoss
# is a torch module, tested in test_relational_rkd)
NO_ARRAYS = {"canonical_emotion"}


def test_every_public_function_is_covered():
    names = {
        n
        for n in sertl_relational.__all__
        if inspect.isfunction(getattr(sertl_relational, n))
    }
    covered = {case.split("/")[0] for case in CASES} | NO_ARRAYS
    assert names - covered == set(), "add these to CASES"


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
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12)
    else:
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def _snapshot(v):
    return v.copy(deep=True) if isinstance(v, pd.Series | pd.DataFrame) else list(v)


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
