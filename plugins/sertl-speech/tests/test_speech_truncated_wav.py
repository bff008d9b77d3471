"""Truncated WAV files: read as far as they go, noted, never served from the cache.

A WAV file cut short (an interrupted copy or download) keeps a header whose
data chunk claims more bytes than the file holds; libsndfile reads the
samples present without a word. The header is parsed by sertl-speech itself.
"""

import re
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import AudioFeatures, AudioFeaturesWarning, load_audio
from sertl_speech._audio import _wav_truncation_note
from sertl_speech._cache import FeatureCache, content_key

SR = 16000

# (name, soundfile.write options): a plain RIFF file, WAVE_FORMAT_EXTENSIBLE,
# big-endian RIFX, RF64 (its data size in the ds64 chunk) and float samples
# (a fact and a PEAK chunk before the data)
LAYOUTS = [
    ("riff", {"subtype": "PCM_16"}),
    ("wavex", {"format": "WAVEX", "subtype": "PCM_16"}),
    ("rifx", {"format": "WAV", "subtype": "PCM_16", "endian": "BIG"}),
    ("rf64", {"format": "RF64", "subtype": "PCM_16"}),
    ("float", {"subtype": "FLOAT"}),
]


def tone(dur=1.0, amp=0.1, f0=220.0):
    t = np.arange(int(dur * SR)) / SR
    return amp * np.sin(2 * np.pi * f0 * t)


def _write(path, y=None, **options):
    sf.write(path, tone() if y is None else y, SR, **options)
    return path


def _cut(path, fraction=0.5):
    """Keep the first ``fraction`` of the file's bytes, as an interrupted copy."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _chunk(chunk_id, body):
    """A little-endian RIFF chunk, with its pad byte when ``body`` is odd-sized."""
    return chunk_id + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)


def _odd_chunked_wav(path, samples):
    """Write an 8-bit mono WAV with odd-sized chunks, and a LIST chunk after the data.

    A 3-byte private chunk before ``fmt ``, an odd-sized ``data`` chunk (each
    followed by its pad byte) and a LIST chunk holding an odd-sized title.
    """
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = (
        _chunk(b"junk", b"abc")
        + _chunk(b"fmt ", fmt)
        + _chunk(b"data", samples.tobytes())
        + _chunk(b"LIST", b"INFO" + _chunk(b"INAM", b"takes"))
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    return path


# -- the header check -----------------------------------------------------------


@pytest.mark.parametrize(("layout", "options"), LAYOUTS)
def test_a_truncated_wav_is_read_with_a_note_saying_so(tmp_path, layout, options):
    path = _cut(_write(tmp_path / f"{layout}.wav", **options))
    bytes_per_second = 4 * SR if layout == "float" else 2 * SR
    with pytest.warns(
        AudioFeaturesWarning,
        match=rf"^truncated: the WAV header says the audio is {bytes_per_second} "
        r"bytes \(1\.00 s\), but the file holds \d+ \(0\.50 s\): it was cut short "
        r".*copy the file again from its source, or re-export it",
    ):
        y = load_audio(path)
    # still read: the samples present are real audio
    assert abs(y.size - SR // 2) < 100
    assert np.isfinite(y).all() and np.abs(y).max() > 0.05


@pytest.mark.parametrize(("layout", "options"), LAYOUTS)
def test_a_complete_wav_gets_no_note(tmp_path, layout, options):
    path = _write(tmp_path / f"{layout}.wav", **options)
    assert _wav_truncation_note(str(path)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_audio(path).size == SR


def test_odd_sized_chunks_pad_bytes_and_a_list_chunk_after_the_data_give_no_note(
    tmp_path,
):
    samples = (128 + 60 * np.sin(2 * np.pi * 200 * np.arange(1601) / 8000)).astype(
        np.uint8
    )
    path = _odd_chunked_wav(tmp_path / "odd.wav", samples)
    # a valid file: libsndfile reads every sample of it
    read, sr = sf.read(path, dtype="int16")
    assert sr == 8000 and read.size == 1601
    assert _wav_truncation_note(str(path)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(path)
    # the same file cut inside its data chunk is noted
    data = path.read_bytes()
    cut = tmp_path / "odd_cut.wav"
    cut.write_bytes(data[: data.index(b"data") + 8 + 800])
    assert re.match(
        r"truncated: the WAV header says the audio is 1601 bytes \(0\.20 s\), but "
        r"the file holds 800 \(0\.10 s\)",
        _wav_truncation_note(str(cut)),
    )
    # cut inside the LIST chunk after the data: every sample is there
    cut.write_bytes(data[:-6])
    assert _wav_truncation_note(str(cut)) is None


def test_a_streamed_wav_of_unknown_size_and_files_of_other_names_get_no_note(tmp_path):
    path = _write(tmp_path / "stream.wav")
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[4:8] = data[at + 4 : at + 8] = b"\xff\xff\xff\xff"  # sizes never written
    path.write_bytes(bytes(data))
    assert _wav_truncation_note(str(path)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_audio(path).size == SR
    # only WAV files are checked (by extension): FLAC, OGG ... frame their audio
    cut = _cut(_write(tmp_path / "cut.wav"))
    renamed = cut.rename(tmp_path / "cut.aiff")
    assert _wav_truncation_note(str(renamed)) is None


def test_a_truncated_wav_that_fails_says_it_is_truncated(tmp_path):
    path = _cut(_write(tmp_path / "short.wav", tone(dur=0.15)), 1 / 3)
    ext = AudioFeatures("mfcc_stats", errors="nan")
    X = ext.fit_transform([str(path)])
    assert np.isnan(X).all() and ext.notes_.empty
    assert ext.failed_["reason"].tolist() == ["too_short"]
    assert re.search(
        r"shorter than min_duration=0\.1 s; .*; also truncated: the WAV header says the "
        r"audio is 4800 bytes \(0\.15 s\)",
        ext.failed_["message"][0],
    )


# -- AudioFeatures: notes_, the warning, the cache ----------------------------------


@pytest.mark.parametrize("errors", ["warn", "nan", "raise"])
def test_audio_features_note_a_truncated_wav_and_give_its_features(tmp_path, errors):
    good = _write(tmp_path / "good.wav")
    cut = _cut(_write(tmp_path / "cut.wav"))
    ext = AudioFeatures("mfcc_stats", errors=errors)
    with pytest.warns(
        AudioFeaturesWarning,
        match=r"^1 of 2 inputs look truncated \(their WAV header gives more audio "
        r"than the file holds\); first: .*cut\.wav \(input 1\): truncated: the WAV "
        r"header says the audio is 32000 bytes \(1\.00 s\), but the file holds "
        r"\d+ \(0\.50 s\).*re-export it.*\. Their features describe only the audio "
        r"present \(these inputs are not failures, not in failed_; notes_ lists them\)",
    ):
        X = ext.fit_transform([str(good), str(cut)])
    assert np.isfinite(X).all() and ext.failed_.empty
    assert ext.notes_[["index", "kind"]].values.tolist() == [[1, "truncated"]]
    assert ext.notes_["item"][0] == str(cut)
    assert ext.notes_["note"][0].startswith("truncated: the WAV header says")
    # the features of the half that is there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = AudioFeatures("mfcc_stats").fit_transform([sf.read(cut)[0]])
    np.testing.assert_allclose(X[1], half[0], rtol=1e-5, atol=1e-6)


def test_a_truncated_wav_is_never_read_from_the_cache(tmp_path):
    good = _write(tmp_path / "good.wav")
    cut = _cut(_write(tmp_path / "cut.wav"))
    ext = AudioFeatures("mfcc_stats", cache_dir=tmp_path / "cache")
    # an entry of the cut file, as a version that did not note truncation
    # wrote it: it must not hide the note
    cache = FeatureCache(tmp_path / "cache", ext.feature_config())
    cache.put(content_key(str(cut)), np.zeros(335))
    for call in range(2):  # the second call reads good.wav from the cache
        with pytest.warns(AudioFeaturesWarning, match=r"1 of 2 inputs look truncated"):
            X = ext.fit_transform([str(good), str(cut)])
        assert ext.n_cache_hits_ == call
        assert ext.notes_["kind"].tolist() == ["truncated"]
        assert np.isfinite(X).all() and np.abs(X[1]).max() > 0  # not the entry


def test_two_kinds_of_note_on_one_file_give_one_warning_each(tmp_path):
    # a float WAV in PCM units, cut short: both notes, in notes_ and warnings
    path = _cut(_write(tmp_path / "both.wav", tone(amp=20000.0), subtype="FLOAT"))
    ext = AudioFeatures("mfcc_stats")
    with pytest.warns(AudioFeaturesWarning) as caught:
        ext.fit_transform([str(path), tone()])
    texts = [str(w.message) for w in caught]
    assert len(texts) == 2
    assert texts[0].startswith("1 of 2 inputs look like PCM sample values")
    assert texts[1].startswith("1 of 2 inputs look truncated")
    assert sorted(ext.notes_["kind"]) == ["pcm_scale", "truncated"]
    assert set(ext.notes_["index"]) == {0}


@pytest.mark.parametrize("size", [0x7FFFF000, 0x7FFFFFFF])
def test_the_placeholder_sizes_of_tools_writing_to_a_pipe_give_no_note(tmp_path, size):
    # sox writing to a pipe leaves 0x7ffff000 as the data size: a complete
    # file was called truncated (and never cached)
    path = _write(tmp_path / "piped.wav")
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", size)
    path.write_bytes(bytes(data))
    assert _wav_truncation_note(str(path)) is None
    # a real size that the file does not hold is still noted
    data[at + 4 : at + 8] = struct.pack("<I", 4 * SR)
    path.write_bytes(bytes(data))
    assert _wav_truncation_note(str(path)).startswith("truncated: ")
