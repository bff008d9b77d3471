"""Awkward audio: each mistake is named, with what to do, and no feature moves.

A stereo array passed whole, float signals in PCM units, channels that cancel
in the mix, NaN samples and files libsndfile cannot decode.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from joblib import parallel_config
from sertl_speech import AudioError, AudioFeatures, AudioFeaturesWarning, load_audio
from sertl_speech._audio import check_waveform

SR = 16000


def tone(f0=200.0, dur=1.0, amp=0.1, sr=SR):
    t = np.arange(int(dur * sr)) / sr
    return amp * np.sin(2 * np.pi * f0 * t)


# -- one multi-channel waveform passed as the whole input ---------------------


@pytest.mark.parametrize("n_channels", [2, 6])
def test_one_multichannel_array_is_refused_with_the_fix(n_channels):
    y = np.stack([tone(200.0 + 50 * k) for k in range(n_channels)], axis=1)
    assert y.shape == (SR, n_channels)  # as soundfile.read returns a file
    fix = rf"one waveform with {n_channels} channels.*Pass \[y\].*y\.T"
    with pytest.raises(ValueError, match=fix):
        AudioFeatures("mfcc_stats").transform(y)
    with pytest.raises(ValueError, match=fix):
        AudioFeatures("mfcc_stats").fit(y)
    X = AudioFeatures("mfcc_stats").fit_transform([y])  # the fix given
    assert X.shape == (1, 335) and np.isfinite(X).all()


def test_batches_of_equal_length_waveforms_are_still_rows():
    batch = np.stack([tone(f0) for f0 in (150.0, 200.0, 250.0)])
    ext = AudioFeatures("mfcc_stats")
    X = ext.fit_transform(batch)
    assert X.shape == (3, 335) and np.isfinite(X).all()
    np.testing.assert_array_equal(X, ext.fit_transform(list(batch)))
    # rows long enough for min_duration are waveforms, whatever their number
    short = AudioFeatures("mfcc_stats", sample_rate=20, min_duration=0.1)
    assert short.fit_transform(np.full((50, 2), 0.1) * [1, -1]).shape == (50, 335)


# -- float signals in PCM units -----------------------------------------------


@pytest.mark.parametrize("errors", ["warn", "nan", "raise"])
def test_float_pcm_values_warn_but_still_give_features(errors):
    good = tone()
    pcm = tone(amp=20000.0)  # int16 values cast to float, not divided
    ext = AudioFeatures("mfcc_stats", errors=errors)
    with pytest.warns(
        AudioFeaturesWarning,
        match=r"1 of 2 inputs look like PCM.*input 1\).*peak 20000.*divide by "
        r"32768 \(16-bit\).*pass the integer array",
    ):
        X = ext.fit_transform([good, pcm])
    assert np.isfinite(X).all() and ext.failed_.empty  # a note, not a failure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = AudioFeatures("mfcc_stats").fit_transform([pcm])
    np.testing.assert_array_equal(X[1], alone[0])  # computed as given


def test_float_pcm_values_are_noted_from_parallel_workers():
    with (
        parallel_config(backend="threading"),
        pytest.warns(AudioFeaturesWarning, match=r"2 of 3 inputs look like PCM"),
    ):
        AudioFeatures("mfcc_stats", n_jobs=2).fit_transform(
            [tone(amp=3000.0), tone(), tone(amp=-30000.0)]
        )


def test_full_scale_float_audio_is_not_noted(tmp_path):
    hot = np.clip(tone(amp=1.5), -1.2, 1.2)  # clipped float audio above 1.0
    path = tmp_path / "hot.wav"
    sf.write(path, hot, SR, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AudioFeatures("mfcc_stats").fit_transform([hot, tone(), str(path)])
        check_waveform((20000 * tone(amp=1.0)).astype(np.int16), SR)  # scaled


def test_float_file_in_pcm_units_warns(tmp_path):
    path = tmp_path / "float_in_int16_units.wav"
    sf.write(path, tone(amp=20000.0), SR, subtype="FLOAT")
    with pytest.warns(AudioFeaturesWarning, match=r"peak 20000.*re-export it scaled"):
        y = load_audio(path)
    assert np.isfinite(y).all()
    with pytest.warns(AudioFeaturesWarning, match=r"1 of 1 inputs look like PCM"):
        AudioFeatures("mfcc_stats").fit_transform([str(path)])


def test_pcm_scale_inputs_are_listed_in_notes_and_never_cached(tmp_path):
    path = tmp_path / "float_in_int16_units.wav"
    sf.write(path, tone(amp=20000.0), SR, subtype="FLOAT")
    good = tmp_path / "good.wav"
    sf.write(good, tone(), SR)
    ext = AudioFeatures("mfcc_stats", cache_dir=tmp_path / "cache")
    for call in range(2):  # the second call reads good.wav from the cache
        with pytest.warns(AudioFeaturesWarning, match=r"1 of 2 inputs look like PCM"):
            X = ext.fit_transform([str(good), str(path)])
        assert ext.n_cache_hits_ == call
        assert ext.notes_[["index", "kind"]].values.tolist() == [[1, "pcm_scale"]]
        assert ext.notes_["item"][0].endswith("float_in_int16_units.wav")
        assert re.search(r"peak 20000.*re-export it scaled", ext.notes_["note"][0])
        assert np.isfinite(X).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ext.transform([str(good)])
    assert ext.notes_.empty
    assert list(ext.notes_.columns) == ["index", "item", "kind", "note"]
    assert "notes_" not in ext.__getstate__()  # a report, not saved state


# -- waveforms are at sample_rate ---------------------------------------------


def test_the_sample_rate_of_arrays_is_documented_with_its_setting():
    doc = re.sub(r"\s+", " ", AudioFeatures.__doc__)
    assert "Every waveform array must be at this rate" in doc
    assert "set_params(<step>__sample_rate=48000)" in doc
    readme = Path(__file__).parents[1] / "README.md"
    text = re.sub(r"\s+", " ", readme.read_text(encoding="utf-8"))
    assert "set_params(<step>__sample_rate=48000)" in text


# -- channels that cancel in the mix ------------------------------------------


def test_out_of_phase_channels_are_named_not_just_silent(tmp_path):
    y = tone()
    stereo = np.stack([y, -y], axis=1)
    path = tmp_path / "inverted.wav"
    sf.write(path, (stereo * 32768).astype(np.int16), SR)  # exact -1 * left
    fix = r"channels cancel when averaged \(out of phase\); pass one channel"
    with pytest.raises(AudioError, match=r"silent: peak amplitude 0.*" + fix) as err:
        load_audio(path)
    assert "y[:, 0]" in err.value.message and "pan=mono" in err.value.message
    ext = AudioFeatures("mfcc_stats", errors="nan")
    ext.fit_transform([stereo, stereo.T, (stereo * 16000).astype(np.int16)])
    assert ext.failed_["reason"].tolist() == ["silent"] * 3
    messages = ext.failed_["message"].tolist()
    assert all(re.search(fix, m) for m in messages), messages
    assert "(y[:, 0])" in messages[0] and "(y[0])" in messages[1]


def test_silent_channels_are_only_silent(tmp_path):
    path = tmp_path / "silent_stereo.wav"
    sf.write(path, np.zeros((SR, 2)), SR)
    with pytest.raises(AudioError, match=r"silent: peak amplitude 0") as err:
        load_audio(path)
    assert "cancel" not in err.value.message
    with pytest.raises(AudioError, match=r"silent") as err:
        check_waveform(np.zeros((SR, 2)), SR)
    assert "cancel" not in err.value.message


# -- messages that say what to do ---------------------------------------------


def test_too_short_gives_the_samples_and_how_to_accept_it(tmp_path):
    # 1599 samples at 16 kHz were "0.100 s is shorter than min_duration=0.1 s"
    path = tmp_path / "clip.wav"
    sf.write(path, tone(dur=1)[:1599], SR, subtype="PCM_16")
    ext = AudioFeatures("mfcc_stats", errors="nan")
    ext.fit_transform([str(path), tone(dur=1)[:1599]])
    assert ext.failed_["reason"].tolist() == ["too_short"] * 2
    for message in ext.failed_["message"]:
        assert message.startswith(
            "0.09994 s (1599 samples at 16000 Hz) is shorter than min_duration=0.1 s; "
        ), message
        assert "lower min_duration" in message
    with pytest.raises(AudioError, match=r"\(1 samples at 8000 Hz\)"):
        check_waveform(np.ones(1), 8000)


def test_a_file_of_a_header_only_and_a_silent_one_say_what_to_do(tmp_path):
    header = tmp_path / "header_only.wav"
    sf.write(header, np.zeros(0), SR, subtype="PCM_16")  # 44 bytes, 0 frames
    mono = tmp_path / "muted.wav"
    sf.write(mono, np.zeros(SR), SR, subtype="PCM_16")
    stereo = tmp_path / "muted_stereo.flac"
    sf.write(stereo, np.zeros((SR, 2)), SR, subtype="PCM_16")
    ext = AudioFeatures("mfcc_stats", errors="nan")
    ext.fit_transform([str(header), str(mono), str(stereo), np.zeros(SR)])
    reasons = ext.failed_["reason"].tolist()
    assert reasons == ["empty", "silent", "silent", "silent"]
    messages = ext.failed_["message"].tolist()
    assert messages[0].startswith("the file holds no audio samples, only a header")
    assert "record or export it again" in messages[0]
    for message in messages[1:]:
        assert message.endswith("or pass silence_threshold=0 to accept it"), message
        assert message.count("silence_threshold=0") == 1
    with pytest.raises(AudioError, match=r"^empty: the signal has no samples; pass"):
        check_waveform(np.zeros(0), SR)


def test_nan_samples_say_how_to_fix():
    y = tone()
    y[[3, 7]] = [np.nan, np.inf]
    with pytest.raises(
        AudioError, match=r"2 of 16000 samples are NaN or infinite; repair or re-export"
    ):
        check_waveform(y, SR)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integer_samples_are_refused_with_the_fix(dtype):
    # numpy's default integer: scaled by 2**63, 16-bit speech was "silent"
    pcm = np.round(16000 * np.abs(tone(150.0, amp=1.0))).astype(dtype)
    with pytest.raises(AudioError, match=r"has u?int64 samples, which no PCM format"):
        check_waveform(pcm, SR)
    ext = AudioFeatures("mfcc_stats", errors="nan")
    X = ext.fit_transform([pcm, pcm.astype(np.int16)])
    assert np.isnan(X[0]).all() and np.isfinite(X[1]).all()
    assert ext.failed_["reason"].tolist() == ["failed"]
    assert re.search(
        r"y\.astype\(np\.int16\).*float samples in \[-1, 1\]",
        ext.failed_["message"].iloc[0],
    )


def test_a_file_that_is_not_audio_names_its_path_once_and_the_fix(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")
    with pytest.raises(
        AudioError,
        match=r"unreadable: cannot decode .*Format not recognised; it is not audio "
        r"that libsndfile reads \(WAV, FLAC, OGG, MP3, AIFF.*convert it, e\.g\. with "
        r"ffmpeg",
    ) as err:
        load_audio(path)
    assert str(err.value).count(str(path)) == 1


def test_a_damaged_file_says_how_to_fix(tmp_path, monkeypatch):
    path = tmp_path / "damaged.flac"
    sf.write(path, tone(), SR)

    def lost_sync(*args, **kwargs):
        raise RuntimeError("Error : flac decoder lost sync.")

    # the file opens, then decoding fails part-way (files are read in blocks)
    monkeypatch.setattr(sf.SoundFile, "blocks", lost_sync)
    with pytest.raises(
        AudioError,
        match=r"cannot decode .*damaged\.flac: RuntimeError: flac decoder lost "
        r"sync; the file is truncated or damaged.*re-export it.*ffmpeg",
    ):
        load_audio(path)


@pytest.mark.parametrize(
    ("channels", "sr", "subtype"),
    [
        (2, 44100, "PCM_16"),
        (1, 16000, "PCM_16"),
        (6, 48000, "FLOAT"),
        (1, 22050, "PCM_24"),
        (2, 44100, "VORBIS"),
        (2, 44100, "MPEG_LAYER_III"),
        (1, 8000, "GSM610"),  # a WAV libsndfile cannot seek in
    ],
)
def test_a_file_read_in_blocks_is_the_file_read_whole(
    tmp_path, monkeypatch, channels, sr, subtype
):
    # long files are mixed to mono block by block (their samples in every
    # channel never held at once); the signal must be the whole read's mix
    # (MP3 too, which libsndfile 1.2.2 decodes wrongly over several reads)
    import sertl_speech._audio as audio

    t = np.arange(int(1.3 * sr)) / sr
    # pure tones, one per channel: the MP3 that several reads decode wrongly
    y = np.column_stack(
        [
            0.2 / (c + 1) * np.sin(2 * np.pi * (200 + 100 * c) * t)
            for c in range(channels)
        ]
    )
    fmt = {"PCM_24": "FLAC", "VORBIS": "OGG", "MPEG_LAYER_III": "MP3"}.get(
        subtype, "WAV"
    )
    if subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt} {subtype}")
    path = tmp_path / f"f.{fmt.lower()}"
    sf.write(path, (y + 0.02).astype(np.float32), sr, subtype=subtype)  # a DC offset
    whole, file_sr = sf.read(path, dtype="float32", always_2d=True)
    expected = check_waveform(whole.mean(axis=1), file_sr)
    monkeypatch.setattr(audio, "_READ_BLOCK", 1000)  # many blocks, a ragged last
    np.testing.assert_array_equal(load_audio(path), expected)


# -- file names that are not valid in the file system encoding ----------------


def _latin1_named_corpus(tmp_path):
    """A TurEV-DB tree whose word has a Latin-1 byte, as an archive unpacks it."""
    import os

    if os.name == "nt" or os.fsencode("\udcfd") != b"\xfd":
        pytest.skip("needs a POSIX file system encoding with surrogate escapes")
    folder = os.path.join(os.fsencode(tmp_path), b"Angry")
    os.mkdir(folder)
    name = os.path.join(folder, b"1157_kz_a\xe7\xfdk.wav")  # "açık" in Latin-1
    try:
        with open(name, "wb") as fh:
            sf.write(fh, tone(dur=0.5), SR, format="WAV")
    except OSError:  # e.g. macOS, whose file systems refuse such names
        pytest.skip("this file system refuses names that are not UTF-8")
    return name


def test_a_name_not_valid_in_the_file_system_encoding_is_read(tmp_path):
    import os

    from sertl_speech import load_corpus

    name = _latin1_named_corpus(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not be opened" warning
        table = load_corpus("turev_db", tmp_path)
    assert table["file"].tolist() == [os.fsdecode(name)]
    assert table["duration"].tolist() == [0.5]
    plain = tmp_path / "plain.wav"  # the same bytes under an ASCII name
    plain.write_bytes(Path(os.fsdecode(name)).read_bytes())
    ref = AudioFeatures("mfcc_stats").fit_transform([plain])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the table's str paths, and the bytes os.listdir(bytes) gives
        X = AudioFeatures("mfcc_stats", errors="raise").fit_transform(
            [*table["file"], name]
        )
    np.testing.assert_array_equal(X, np.vstack([ref, ref]))
    assert load_audio(name).shape == (SR // 2,)


# -- a joblib worker that dies --------------------------------------------------


class _WorkerDied(RuntimeError):
    """Stands for joblib's TerminatedWorkerError in the threading backend."""


def test_a_single_chunk_runs_in_a_worker_not_in_the_caller(monkeypatch):
    # the pool is sized to the chunks, but never to one worker: joblib runs
    # n_jobs=1 in the calling process (here: thread), where an input run
    # alone after its worker died would take the caller down with it
    import threading

    import sertl_speech._extract as ex

    caller, ran_in_caller = threading.current_thread(), []
    real = ex._extract_chunk

    def recording(chunk, *args):
        ran_in_caller.append(threading.current_thread() is caller)
        return real(chunk, *args)

    monkeypatch.setattr(ex, "_extract_chunk", recording)
    with parallel_config(backend="threading"):
        X = AudioFeatures("mfcc_stats", n_jobs=2).fit_transform([tone(dur=0.5)])
    assert ran_in_caller == [False]
    assert np.isfinite(X).all()


@pytest.mark.parametrize("killers", [[7], [2, 29]])
def test_a_dead_joblib_worker_loses_no_finished_input(monkeypatch, killers):
    import sertl_speech._extract as ex

    calls = []
    real = ex._extract_chunk

    def dying(chunk, *args):
        calls.append(len(chunk))
        # an input that crashes its decoder takes the whole worker down, and
        # with it every input of its task: joblib then ends the whole call
        if any(i in killers for i, _ in chunk):
            raise _WorkerDied("A worker process was terminated abruptly")
        return real(chunk, *args)

    monkeypatch.setattr(ex, "_extract_chunk", dying)
    waves = [tone(f0=150.0 + 5 * k, dur=0.5) for k in range(40)]
    with parallel_config(backend="threading"):
        feats = AudioFeatures("mfcc_stats", n_jobs=2, errors="nan")
        X = feats.fit_transform(waves)
    # only the killers are reported; their task neighbours were run again
    assert feats.failed_["index"].tolist() == killers
    assert set(feats.failed_["reason"]) == {"failed"}
    assert feats.failed_["message"].str.contains("_WorkerDied").all()
    assert np.isfinite(X).all(axis=1).tolist() == [k not in killers for k in range(40)]
    assert max(calls) == 5  # the first pass ran tasks of 40 // (4 * 2) inputs
    monkeypatch.setattr(ex, "_extract_chunk", real)
    np.testing.assert_allclose(
        X[0], AudioFeatures("mfcc_stats").fit_transform(waves[:1])[0]
    )
