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
import pytest
import sertl_speech

from sertl_core.testing import (
    check_function_input_kinds,
    make_domain_data,
    parametrize_with_input_kinds,
)

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
    "map_emotions",
    "open_temporary",
    "remove_stale_temporaries",
    "replace_file",
    "sample_path",
    "select_emotions",
    "soundfile_path",
    "temporary_name",
}


def test_every_public_function_is_covered():
    names = {
        n for n in sertl_speech.__all__ if inspect.isfunction(getattr(sertl_speech, n))
    }
    covered = {case.split("/")[0] for case in CASES} | NO_ARRAYS
    assert names - covered == set(), "add these to CASES"


def test_an_input_of_no_known_kind_is_named_briefly():
    # the message names the kind and a short repr, not a million samples
    with pytest.raises(
        TypeError, match=r"got dict: \{'a': 0\.0, .*'d': 0\.0, \.\.\.\}$"
    ):
        _features({f"{c}": 0.0 for c in "abcdefghij"}, WAVES[1])


@parametrize_with_input_kinds(CASES)
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    func, inputs, kind, tmp_path
):
    check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])
