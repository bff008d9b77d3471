"""Warnings of sertl-speech name the line of the user's code that caused them."""

import warnings

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import (
    AudioFeatures,
    AudioFeaturesWarning,
    CorpusWarning,
    EmoDB,
    SpeakerConfoundWarning,
    SpeakerNormalizer,
    load_corpus,
)
from sklearn.pipeline import make_pipeline


@pytest.fixture
def emodb_root(tmp_path):
    """A tiny EmoDB layout: one good file, one badly named, one unreadable."""
    wav = tmp_path / "wav"
    wav.mkdir()
    t = np.arange(16000) / 16000
    sf.write(wav / "03a01Wa.wav", 0.1 * np.sin(2 * np.pi * 200 * t), 16000)
    sf.write(wav / "not_emodb.wav", 0.1 * np.sin(2 * np.pi * 200 * t), 16000)
    (wav / "03a01Fa.wav").write_bytes(b"not audio")
    return tmp_path


def _caught(call, category):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        call()
    found = [w for w in rec if issubclass(w.category, category)]
    assert found, f"no {category.__name__} was emitted"
    return found


def test_corpus_warnings_point_at_the_callers_line(emodb_root):
    csv = emodb_root / "table.csv"
    csv.write_text(
        "file,emotion,speaker\n"
        "wav/03a01Wa.wav,anger,a\n"
        "wav/03a01Fa.wav,anger,b\n"
        "missing.wav,anger,c\n"
    )
    calls = {
        "reader": lambda: EmoDB().read(emodb_root),
        "load_corpus": lambda: load_corpus("emodb", emodb_root),
        # the csv and folders readers finish through a shared helper, whose
        # warnings pointed inside load_corpus before
        "csv": lambda: load_corpus("csv", csv),
    }
    for name, call in calls.items():
        for w in _caught(call, CorpusWarning):
            assert w.filename == __file__, (name, w.filename, str(w.message))


def test_feature_and_normaliser_warnings_point_at_the_callers_line(emodb_root):
    files = [str(emodb_root / "wav" / "03a01Wa.wav")]
    files.append(str(emodb_root / "wav" / "03a01Fa.wav"))
    # through sklearn's fit_transform and set_output wrappers, and a Pipeline
    for call in (
        lambda: AudioFeatures(errors="warn").fit_transform(files),
        lambda: make_pipeline(AudioFeatures(errors="warn")).fit_transform(files),
    ):
        (w,) = _caught(call, AudioFeaturesWarning)
        assert w.filename == __file__, w.filename
    X = np.random.default_rng(0).normal(size=(40, 3))
    speaker = np.repeat(["a", "b", "c", "d"], 10)
    y = np.repeat(["x", "y", "x", "y"], 10)  # every speaker has one emotion
    (w,) = _caught(
        lambda: SpeakerNormalizer().fit(X, y, speaker=speaker), SpeakerConfoundWarning
    )
    assert w.filename == __file__
