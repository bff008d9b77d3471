"""The public functions take the inputs users have and leave them unchanged.

Emotion labels, speaker ids, features and waveforms are given read-only (a
memory map, as joblib's workers get them), as non-contiguous read-only
views, as pandas objects (a Series with the shuffled index
``train_test_split`` leaves) and as lists: the result must be that of plain
arrays. The conformance kit checks the estimators with ``X``, ``y`` and
``sample_domain``; ``speaker`` and waveforms of several lengths are checked
here.
"""

import inspect

import numpy as np
import pandas as pd
import pytest
import sertl_speech

from sertl_core.testing import make_domain_data

EMOTIONS = np.array(["anger", "sadness", "neutral", "happiness", "fear"] * 4)
X, Y, _, _ = make_domain_data(n_per_domain=20, n_features=4)
SPEAKERS = np.array([f"s{i % 5}" for i in range(len(Y))], dtype=object)
_rng = np.random.default_rng(0)
SEQ = [_rng.normal(size=(n, 3)) for n in (5, 8, 3)]
WAVES = [_rng.normal(scale=0.1, size=n) for n in (1600, 1200)]


def _normalize(X, y, speaker, **params):
    norm = sertl_speech.SpeakerNormalizer(**params).fit(X, y, speaker=speaker)
    new = np.char.add("new", np.asarray(speaker, dtype=str))
    return {
        "transform": norm.transform(X, speaker=speaker),
        "fit_transform": sertl_speech.SpeakerNormalizer(**params).fit_transform(
            X, y, speaker=speaker
        ),
        "unseen speakers": norm.transform(X, speaker=new),
    }


def _features(a, b):
    step = sertl_speech.AudioFeatures(
        "mfcc_stats", sample_rate=8000, min_duration=0, silence_threshold=0
    )
    return step.fit_transform([a, b])


CASES = {
    "emotion_coordinates": (sertl_speech.emotion_coordinates, {"emotions": EMOTIONS}),
    "to_binary_arousal": (sertl_speech.to_binary_arousal, {"emotions": EMOTIONS}),
    "to_binary_valence": (sertl_speech.to_binary_valence, {"emotions": EMOTIONS}),
    "shared_classes": (
        lambda a, b: sertl_speech.shared_classes(a, b),
        {"a": EMOTIONS, "b": EMOTIONS[:7]},
    ),
    "pad_sequences": (
        lambda a, b, c: sertl_speech.pad_sequences([a, b, c]),
        {"a": SEQ[0], "b": SEQ[1], "c": SEQ[2]},
    ),
    "pad_sequences/floor": (
        lambda a, b, c: sertl_speech.pad_sequences([a, b, c], value="floor"),
        {"a": SEQ[0], "b": SEQ[1], "c": SEQ[2]},
    ),
    "pad_sequences/truncated": (
        lambda a, b, c: sertl_speech.pad_sequences([a, b, c], max_frames=4),
        {"a": SEQ[0], "b": SEQ[1], "c": SEQ[2]},
    ),
    "SpeakerNormalizer": (_normalize, {"X": X, "y": Y, "speaker": SPEAKERS}),
    "SpeakerNormalizer/int speakers": (
        lambda X, y, speaker: _normalize(X, y, speaker, unseen="global"),
        {"X": X, "y": Y, "speaker": np.arange(len(Y)) % 5},
    ),
    "AudioFeatures/waveforms": (_features, {"a": WAVES[0], "b": WAVES[1]}),
}

# public names that take no arrays: paths, corpus names, tables (the table
# functions' tests check that they leave the table as it is), one label
NO_ARRAYS = {
    "canonical_emotion",
    "get_reader_class",
    "load_audio",
    "load_corpus",
    "load_sample",
    "sample_path",
    "select_emotions",
}


def test_every_public_function_is_covered():
    names = {
        n for n in sertl_speech.__all__ if inspect.isfunction(getattr(sertl_speech, n))
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


def test_an_input_of_no_known_kind_is_named_briefly():
    # the message names the kind and a short repr, not a million samples
    with pytest.raises(
        TypeError, match=r"got dict: \{'a': 0\.0, .*'d': 0\.0, \.\.\.\}$"
    ):
        _features({f"{c}": 0.0 for c in "abcdefghij"}, WAVES[1])
