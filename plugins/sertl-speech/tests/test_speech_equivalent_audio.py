"""The same recording in another container, encoding, channel layout or rate.

A real utterance of the shipped sample (16 kHz, 16-bit FLAC) is written as
every lossless encoding libsndfile offers here and as identical channels:
each holds the same 16-bit values exactly (an integer sample becomes a
float by a division by a power of two, exact in float32, and the mean of
identical channels is the channel), so the extractor gets bit-identical
samples and every feature must be equal, not close; a difference would be a
decoding or mixing defect.

Across sample rates the signal differs by the resampler (soxr), so the
tolerance is that of resampling a band-limited signal twice (16 kHz -> r
-> 16 kHz, soxr VHQ then HQ): measured at most 0.0012 dB on the log-mel
bands and 0.053 % of ``|value| + 1`` on the MFCC statistics at the rates
tested; the bounds (0.01 dB, 0.5 %) leave a factor of about 8-10.
Functionals are left out there: their voicing and formant picks are
per-frame decisions, and a decision that flips on a resampling difference
moves a percentile by a step (not a defect of the input handling).
"""

import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy.signal import butter, sosfiltfilt
from sertl_speech import AudioFeatures, sample_path


@pytest.fixture(scope="module")
def utterance():
    """The int16 samples and rate of one shipped EmoDB utterance."""
    path = sorted((sample_path("emodb") / "wav").glob("*.flac"))[0]
    y, sr = sf.read(path, dtype="int16")
    assert sr == 16000
    return y, sr


# (format, subtype, file name, channels): the same 16-bit values in each
_LOSSLESS = [
    ("WAV", "PCM_16", "pcm16.wav", 1),
    ("WAV", "PCM_24", "pcm24.wav", 1),
    ("WAV", "PCM_32", "pcm32.wav", 1),
    ("WAV", "FLOAT", "float32.wav", 1),
    ("WAV", "DOUBLE", "float64.wav", 1),
    ("RF64", "PCM_16", "rf64.rf64", 1),
    ("FLAC", "PCM_16", "flac16.flac", 1),
    ("FLAC", "PCM_24", "flac24.flac", 1),
    ("AIFF", "PCM_16", "aiff.aiff", 1),
    ("WAV", "PCM_16", "UPPER CASE.WAV", 1),
    ("FLAC", "PCM_16", "flac named.wav", 1),  # read by content, not name
    ("WAV", "PCM_16", "stereo.wav", 2),
    ("WAV", "FLOAT", "six_channels.wav", 6),
]


@pytest.mark.parametrize("feature_set", ["functionals", "mfcc_stats", "logmel"])
def test_lossless_encodings_and_identical_channels_give_equal_features(
    tmp_path, utterance, feature_set
):
    y, sr = utterance
    paths = []
    for fmt, subtype, name, channels in _LOSSLESS:
        data = y if channels == 1 else np.repeat(y[:, None], channels, axis=1)
        if subtype in ("FLOAT", "DOUBLE"):
            data = data / 32768.0  # written as float: the same values
        sf.write(tmp_path / name, data, sr, format=fmt, subtype=subtype)
        paths.append(str(tmp_path / name))
    ext = AudioFeatures(feature_set)
    X = ext.fit_transform([*paths, y, y / 32768.0])  # the arrays too
    assert ext.failed_.empty and ext.notes_.empty
    names = [p[2] for p in _LOSSLESS] + ["int16", "float"]
    for name, x in zip(names, X, strict=True):
        np.testing.assert_array_equal(x, X[0], err_msg=name)


@pytest.mark.parametrize("rate", [12345, 22050, 44100, 48000, 96000])
def test_a_band_limited_signal_at_another_rate_gives_close_features(
    tmp_path, utterance, rate
):
    y, sr = utterance
    # band-limited well inside every rate's band (12345 Hz: 6.2 kHz)
    y = sosfiltfilt(butter(10, 3500, fs=sr, output="sos"), y / 32768.0)
    at_16k = tmp_path / "16k.wav"
    sf.write(at_16k, y, sr, subtype="FLOAT")
    other = tmp_path / f"{rate}.wav"
    sf.write(other, soxr.resample(y, sr, rate, "VHQ"), rate, subtype="FLOAT")
    logmel = AudioFeatures("logmel").fit_transform([str(at_16k), str(other)])
    assert logmel[0].shape == logmel[1].shape
    assert np.abs(logmel[1] - logmel[0]).max() < 0.01  # dB
    stats = AudioFeatures("mfcc_stats").fit_transform([str(at_16k), str(other)])
    rel = np.abs(stats[1] - stats[0]) / (np.abs(stats[0]) + 1)
    assert rel.max() < 0.005
