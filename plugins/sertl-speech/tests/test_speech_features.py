"""AudioFeatures: feature sets, names, inputs, determinism, parallel runs."""

import warnings
from collections import OrderedDict
from types import MappingProxyType

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import AudioFeatures, pad_sequences
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sertl_core import get_registry

SR = 16000


def voice(f0=150.0, dur=1.0, sr=SR, seed=0, n_harm=12):
    """A vowel-like harmonic signal with a slow F0 glide and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur * sr)) / sr
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, n_harm + 1) if k * f0 < sr / 2)
    env = 0.5 - 0.4 * np.cos(2 * np.pi * t / dur)
    y = 0.1 * env * y + 0.002 * rng.standard_normal(t.size)
    return y.astype(np.float32)


@pytest.fixture
def wav_files(tmp_path):
    paths = []
    for i, f0 in enumerate((110.0, 180.0, 240.0)):
        p = tmp_path / f"v{i}.wav"
        sf.write(p, voice(f0, seed=i), SR)
        paths.append(str(p))
    return paths


@pytest.mark.parametrize(
    ("feature_set", "n_features"), [("functionals", 316), ("mfcc_stats", 335)]
)
def test_functional_sets_shape_names_finite(wav_files, feature_set, n_features):
    ext = AudioFeatures(feature_set).fit(wav_files)
    X = ext.transform(wav_files)
    names = ext.get_feature_names_out()
    assert X.shape == (3, n_features)
    assert len(names) == n_features == len(set(names))
    assert np.isfinite(X).all()
    assert ext.failed_.empty
    assert list(ext.feature_names_out_) == list(names)


def test_f0_follows_the_signal(wav_files):
    ext = AudioFeatures()
    X = ext.fit_transform(wav_files)
    names = list(ext.get_feature_names_out())
    st = X[:, names.index("F0semitoneFrom27.5Hz_sma3nz_pctl50")]
    hz = 27.5 * 2 ** (st / 12)
    np.testing.assert_allclose(hz, [110.0, 180.0, 240.0], rtol=0.04)
    voiced = X[:, names.index("voicedRatio")]
    assert (voiced > 0.6).all()


def test_h1_a3_is_minus_the_f3_level_as_documented(wav_files):
    # both take A3 as the F3 level (as eGeMAPS does): the docstring tells
    # users which six columns repeat six others
    ext = AudioFeatures()
    X = ext.fit_transform(wav_files)
    names = list(ext.get_feature_names_out())

    def col(lld, stat):
        return X[:, names.index(f"{lld}_sma3nz_{stat}")]

    h1a3, f3 = "logRelF0-H1-A3", "F3amplitudeLogRelF0"
    assert np.abs(col(h1a3, "mean")).min() > 1.0  # not trivially zero
    for a, b in (("mean", "mean"), ("pctl50", "pctl50"), ("pctl20", "pctl80")):
        np.testing.assert_allclose(col(h1a3, a), -col(f3, b), atol=1e-9)
    for stat in ("stddev", "pctlrange20_80"):
        np.testing.assert_allclose(col(h1a3, stat), col(f3, stat), atol=1e-9)


def test_shimmer_is_the_level_change_in_db():
    # a vowel whose amplitude grows by 2 % every 10 ms frame changes its
    # level by 20 log10(1.02) = 0.172 dB per frame (it came out halved)
    t = np.arange(SR) / SR
    y = sum(np.sin(2 * np.pi * 150.0 * k * t) / k for k in range(1, 8))
    y = (0.01 * 1.02 ** (t / 0.01) * y).astype(np.float32)
    ext = AudioFeatures()
    x = ext.fit_transform([y])[0]
    names = list(ext.get_feature_names_out())
    shimmer = x[names.index("shimmerLocaldB_sma3nz_pctl50")]
    assert shimmer == pytest.approx(20 * np.log10(1.02), rel=0.1)


@pytest.mark.parametrize("feature_set", ["functionals", "mfcc_stats", "logmel"])
def test_a_gain_leaves_the_cepstral_shape_unchanged(feature_set):
    # a clean vowel leaves the mel bands near 8 kHz almost empty (as in
    # resampled corpora); an absolute log floor was hit there more often the
    # quieter the recording, which moved MFCC 1-12 with the gain
    t = np.arange(SR) / SR  # no noise: the top bands get only leakage
    y = sum(np.sin(2 * np.pi * 160.0 * k * t) / k for k in range(1, 12))
    y = (0.1 * y).astype(np.float32)
    ext = AudioFeatures(feature_set=feature_set)
    loud, quiet = ext.fit_transform([y, np.float32(0.01) * y])
    if feature_set == "logmel":
        # every band moves by the same log(1e-4): the shape is unchanged
        np.testing.assert_allclose(quiet - loud, np.log(1e-4), atol=1e-3)
        return
    names = list(ext.get_feature_names_out())
    ceps = [
        i
        for i, n in enumerate(names)
        if n.startswith("mfcc") and not n.startswith(("mfcc0", "mfcc_d", "mfccd"))
    ]
    assert len(ceps) > 30
    np.testing.assert_allclose(quiet[ceps], loud[ceps], rtol=1e-3, atol=1e-3)


def test_a_frame_without_a_formant_takes_its_level_at_the_files_mean_formant(
    monkeypatch,
):
    # F3 not found on every other voiced frame: the level is read where the
    # frequency column puts it (the file's mean F3), not at 1000 Hz
    from sertl_speech import _features

    formants = _features._formants

    def mean_filled(power, gain, n_formants=3):
        ff, fb = formants(power, gain, n_formants)
        ff[:, 2] = np.nanmean(ff[:, 2])
        return ff, fb

    def half_missing(power, gain, n_formants=3):
        ff, fb = mean_filled(power, gain, n_formants)
        ff[::2, 2] = np.nan
        return ff, fb

    y = voice(140.0)
    monkeypatch.setattr(_features, "_formants", mean_filled)
    filled = AudioFeatures().fit_transform([y])[0]
    monkeypatch.setattr(_features, "_formants", half_missing)
    missing = AudioFeatures().fit_transform([y])[0]
    np.testing.assert_allclose(missing, filled, rtol=1e-6, atol=1e-6)


def test_noise_is_mostly_unvoiced():
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal(SR).astype(np.float32)
    ext = AudioFeatures()
    x = ext.fit_transform([noise])[0]
    names = list(ext.get_feature_names_out())
    assert x[names.index("voicedRatio")] < 0.2


def harmonic(f0, noise=0.0):
    """One second of ten harmonics of ``f0``, exactly periodic, plus white noise."""
    t = np.arange(SR) / SR
    y = sum((0.3 / k) * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 11))
    y = y + noise * np.random.default_rng(0).standard_normal(SR)
    return y.astype(np.float32)


def test_hnr_of_a_periodic_signal_does_not_depend_on_its_period():
    # read at the nearest whole lag of the 8 kHz signal, a clean harmonic
    # signal got about 60 dB when 8000 / F0 is a whole number (160, 200 Hz)
    # and 17-22 dB when not (158, 255 Hz)
    f0s = (120.0, 158.0, 160.0, 200.0, 205.0, 255.0)
    ext = AudioFeatures().fit([harmonic(160.0)])
    col = list(ext.get_feature_names_out()).index("HNRdBACF_sma3nz_mean")
    X = ext.transform([harmonic(f0) for f0 in f0s] + [harmonic(205.0, noise=0.03)])
    clean, noisy = X[:-1, col], X[-1, col]
    assert clean.min() > 50.0, dict(zip(f0s, clean.round(1), strict=True))
    assert clean.max() - clean.min() < 5.0, dict(zip(f0s, clean.round(1), strict=True))
    # noise still lowers it: about 22 dB at this noise level
    assert 15.0 < noisy < 30.0


@pytest.mark.parametrize("feature_set", ["functionals", "mfcc_stats", "logmel"])
def test_a_constant_offset_changes_no_feature(feature_set):
    # a DC offset of 1 % of full scale (as in many URDU files) moved most
    # functionals by more than 10 % and changed predictions
    y = voice(160.0)
    ext = AudioFeatures(feature_set=feature_set)
    clean, shifted = ext.fit_transform([y, y + np.float32(0.01)])
    np.testing.assert_allclose(shifted, clean, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("feature_set", ["functionals", "mfcc_stats", "logmel"])
def test_frames_in_blocks_give_the_same_numbers(monkeypatch, feature_set):
    # long recordings are analysed in blocks of frames to bound their memory;
    # blocks of 7 frames (many, with a ragged last one) change nothing that
    # matters (a recording of up to one block, 60 s, is computed in one go)
    import sertl_speech._features as features

    y = np.concatenate([voice(140.0, dur=0.7, seed=3), voice(220.0, dur=0.6)])
    whole = features.extract(y, feature_set)
    assert features._n_frames(y.size) > 10 * 7
    monkeypatch.setattr(features, "_BLOCK_FRAMES", 7)
    blocks = features.extract(y, feature_set)
    if feature_set == "logmel":  # FFTs and element-wise steps: the very same numbers
        np.testing.assert_array_equal(blocks, whole)
    else:
        # spectral descriptors go through float32 matrix products, whose
        # rounding may depend on the number of rows: equal to float32 precision
        np.testing.assert_allclose(blocks, whole, rtol=1e-4, atol=1e-5)


def test_a_constant_signal_is_silent_not_voiced():
    ext = AudioFeatures(errors="nan")
    x = ext.fit_transform([np.full(SR, 0.3, dtype=np.float32)])
    assert np.isnan(x).all()
    assert ext.failed_["reason"].tolist() == ["silent"]
    assert "constant offset of 0.3 removed" in ext.failed_["message"].iloc[0]


def test_deterministic_and_input_types_agree(wav_files):
    ext = AudioFeatures()
    a = ext.fit_transform(wav_files)
    b = ext.transform(np.array(wav_files))
    waves = [sf.read(p, dtype="float32")[0] for p in wav_files]
    c = ext.transform(waves)
    d = ext.transform(np.stack(waves))
    import pandas as pd

    e = ext.transform(pd.DataFrame({"file": wav_files}))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a, d, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a, e)


def test_any_sample_rate_and_format(tmp_path):
    y16 = voice(200.0)
    import soxr

    y48 = soxr.resample(y16, SR, 48000).astype(np.float32)
    stereo = np.stack([y48, y48], axis=1)
    p16, p48 = tmp_path / "a.flac", tmp_path / "b.wav"
    sf.write(p16, y16, SR)
    sf.write(p48, stereo, 48000, subtype="FLOAT")
    ext = AudioFeatures()
    X = ext.fit_transform([str(p16), str(p48)])
    names = list(ext.get_feature_names_out())
    i = names.index("F0semitoneFrom27.5Hz_sma3nz_mean")
    assert abs(X[0, i] - X[1, i]) < 0.3  # semitones
    # waveform mode honours sample_rate
    Xw = AudioFeatures(sample_rate=48000).fit_transform([y48])
    assert abs(Xw[0, i] - X[0, i]) < 0.3


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_32", "PCM_U8"])
def test_integer_pcm_waveforms_match_their_file(tmp_path, subtype):
    # scipy.io.wavfile.read and soundfile(dtype="int16") give integer PCM
    path = tmp_path / "pcm.wav"
    sf.write(path, voice(180.0), SR, subtype=subtype)
    dtype = {"PCM_16": "int16", "PCM_32": "int32", "PCM_U8": "int16"}[subtype]
    pcm, _ = sf.read(path, dtype=dtype)
    if subtype == "PCM_U8":
        pcm = ((pcm.astype(np.int32) >> 8) + 128).astype(np.uint8)
    ext = AudioFeatures("mfcc_stats", errors="raise")
    from_file = ext.fit_transform([str(path)])
    np.testing.assert_allclose(ext.transform([pcm]), from_file, rtol=1e-4, atol=1e-3)


def test_channels_first_waveform_is_mixed_to_mono():
    y = voice(180.0)
    ext = AudioFeatures("mfcc_stats", errors="raise")
    mono = ext.fit_transform([y])
    for stereo in (np.stack([y, y], axis=1), np.stack([y, y])):  # soundfile, librosa
        np.testing.assert_allclose(ext.transform([stereo]), mono, rtol=1e-5, atol=1e-5)


def test_logmel_sequences_and_padding(wav_files):
    ext = AudioFeatures("logmel")
    seqs = ext.fit_transform(wav_files)
    assert seqs.dtype == object and seqs.shape == (3,)
    assert all(s.dtype == np.float32 and s.shape == (98, 64) for s in seqs)
    assert len(ext.get_feature_names_out()) == 64
    X, lengths = pad_sequences(list(seqs) + [seqs[0][:10]])
    assert X.shape == (4, 98, 64)
    assert lengths.tolist() == [98, 98, 98, 10]
    assert (X[3, 10:] == 0).all()
    X2, l2 = pad_sequences(seqs, max_frames=50)
    assert X2.shape == (3, 50, 64) and l2.tolist() == [50, 50, 50]
    with pytest.raises(ValueError, match="same n_features"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
    # "floor": padded frames are the sequence's own silence level per band,
    # not 0.0 (a loud frame in the log domain)
    short = seqs[0][:10]
    X3, _ = pad_sequences([seqs[1], short], value="floor")
    np.testing.assert_array_equal(
        X3[1, 10:], np.broadcast_to(short.min(axis=0), (88, 64))
    )
    np.testing.assert_array_equal(X3[1, :10], short)
    np.testing.assert_array_equal(X3[0], seqs[1])
    with pytest.raises(ValueError, match="number or 'floor'"):
        pad_sequences([short], value="silence")


def test_an_iterator_of_paths_is_read_once(wav_files, tmp_path):
    # fit used to consume a generator (Path.glob) and transform found nothing
    expected = AudioFeatures().fit_transform(sorted(wav_files))
    X = AudioFeatures().fit_transform(sorted(tmp_path.glob("v*.wav")))
    np.testing.assert_array_equal(X, expected)
    X = AudioFeatures().fit_transform(p for p in sorted(tmp_path.glob("v*.wav")))
    np.testing.assert_array_equal(X, expected)
    pipe = make_pipeline(AudioFeatures(), StandardScaler())
    Z = pipe.fit_transform(iter(sorted(wav_files)))
    np.testing.assert_allclose(Z, StandardScaler().fit_transform(expected))
    # fit, then transform of the same iterator: used up, and said so
    used = iter(wav_files)
    ext = AudioFeatures(errors="raise").fit(used)
    with pytest.raises(ValueError, match=r"no inputs.*read once.*pass a list"):
        ext.transform(used)


def test_pipeline_and_clone(wav_files):
    pipe = make_pipeline(AudioFeatures(), StandardScaler())
    Z = pipe.fit_transform(wav_files)
    assert Z.shape == (3, 316)
    ext = AudioFeatures("mfcc_stats", n_jobs=2)
    assert clone(ext).get_params() == ext.get_params()


def test_registered():
    reg = get_registry()
    assert reg.get("features", "audio_features") is AudioFeatures


@pytest.mark.parametrize(
    ("X", "err", "match"),
    [
        ("one.wav", TypeError, r"wrap it in a list"),
        (np.zeros(100), ValueError, r"Reshape your data"),
        ([1.5, 2.5], TypeError, r"file path \(str\) or a 1-D waveform"),
        ([], ValueError, r"no inputs"),
    ],
)
def test_bad_input_errors(X, err, match):
    with pytest.raises(err, match=match):
        AudioFeatures().fit_transform(X)


def test_bad_params():
    with pytest.raises(ValueError, match="feature_set"):
        AudioFeatures("egemaps").fit([voice()])
    with pytest.raises(ValueError, match="errors"):
        AudioFeatures(errors="ignore").fit([voice()])


def test_parallel_joblib_matches_serial(wav_files):
    import joblib

    files = wav_files * 3
    serial = AudioFeatures().fit_transform(files)
    with joblib.parallel_config(backend="threading"):
        par = AudioFeatures(n_jobs=2).fit_transform(files)
    np.testing.assert_array_equal(serial, par)


@pytest.mark.slow
def test_parallel_loky_processes(wav_files):
    files = wav_files * 3
    serial = AudioFeatures().fit_transform(files)
    par = AudioFeatures(n_jobs=2).fit_transform(files)
    # loky's workers run BLAS on one thread, this process on several: the
    # mel filterbank's sums may be added in another order (measured here:
    # differences up to 4e-7 in loudness and MFCC columns), so equal to
    # rounding, not bit for bit
    np.testing.assert_allclose(serial, par, rtol=1e-6, atol=1e-6)


def test_progress_bar(wav_files, capsys):
    AudioFeatures(progress=True).fit_transform(wav_files)
    assert "audio features" in capsys.readouterr().err


@pytest.fixture(scope="module")
def dask_client(start_local_cluster):
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = start_local_cluster(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        )
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_client_and_backend(wav_files, tmp_path, dask_client):
    serial = AudioFeatures().fit_transform(wav_files)
    bad = str(tmp_path / "missing.wav")
    ext = AudioFeatures(client=dask_client, errors="nan")
    X = ext.fit_transform([*wav_files, bad])
    np.testing.assert_array_equal(X[:3], serial)
    assert np.isnan(X[3]).all()
    assert ext.failed_["reason"].tolist() == ["missing"]
    assert clone(ext).client is dask_client  # shared, not copied
    import joblib

    with joblib.parallel_config(backend="dask"):
        Xb = AudioFeatures(n_jobs=-1).fit_transform(wav_files)
    np.testing.assert_array_equal(Xb, serial)


def test_shipped_sample_real_speech():
    from sertl_speech import load_sample

    table = load_sample("emodb")
    table = table.groupby("gender").head(4)
    ext = AudioFeatures()
    X = ext.fit_transform(table)
    assert ext.failed_.empty and np.isfinite(X).all()
    names = list(ext.get_feature_names_out())
    f0 = X[:, names.index("F0semitoneFrom27.5Hz_sma3nz_mean")]
    female = (table["gender"] == "female").to_numpy()
    assert f0[female].mean() > f0[~female].mean() + 3  # semitones
    voiced = X[:, names.index("voicedRatio")]
    assert ((voiced > 0.2) & (voiced < 0.95)).all()


def test_a_single_column_of_paths_is_a_list_of_files(wav_files):
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    table = pd.DataFrame({"path": wav_files, "emotion": ["a", "b", "c"]})
    expected = AudioFeatures("mfcc_stats").fit_transform(wav_files)
    np.testing.assert_array_equal(
        AudioFeatures("mfcc_stats").fit_transform(table[["path"]]), expected
    )
    columns = ColumnTransformer([("audio", AudioFeatures("mfcc_stats"), ["path"])])
    np.testing.assert_array_equal(columns.fit_transform(table), expected)
    with pytest.raises(ValueError, match="a column named 'file'"):
        AudioFeatures("mfcc_stats").fit_transform(table)


def test_a_single_column_of_waveforms_is_a_list_of_waveforms():
    # a column of arrays gave numpy's "setting an array element with a sequence"
    import pandas as pd

    waves = [voice(140.0), voice(220.0, dur=0.5)]
    expected = AudioFeatures("mfcc_stats").fit_transform(waves)
    table = pd.DataFrame({"audio": waves, "name": ["a", "b"]})
    np.testing.assert_array_equal(
        AudioFeatures("mfcc_stats").fit_transform(table[["audio"]]), expected
    )
    with pytest.raises(ValueError, match=r"one column holding a waveform.*to_list"):
        AudioFeatures("mfcc_stats").fit_transform(table)


@pytest.mark.parametrize("kind", [dict, OrderedDict, MappingProxyType])
def test_a_mapping_is_refused_not_read_as_its_keys(wav_files, kind):
    # iterating a dict gives its keys: {"utt1": path} was read as file "utt1"
    inputs = kind({f"utt{i}": p for i, p in enumerate(wav_files)})
    with pytest.raises(
        TypeError, match=rf"got a {kind.__name__} \(a mapping\).*list\(d\.values"
    ):
        AudioFeatures().fit_transform(inputs)


def test_logmel_refuses_table_output_clearly(wav_files):
    import sklearn

    with sklearn.config_context(transform_output="pandas"):
        with pytest.raises(ValueError, match=r"set_output\(transform='default'\)"):
            AudioFeatures("logmel").fit_transform(wav_files)
        seqs = (
            AudioFeatures("logmel")
            .set_output(transform="default")
            .fit_transform(wav_files)
        )
        assert seqs.shape == (3,) and seqs[0].shape[1] == 64
        table = AudioFeatures("mfcc_stats").fit_transform(wav_files)
        assert list(table.columns[:1]) == [
            AudioFeatures("mfcc_stats").get_feature_names_out()[0]
        ]


def test_table_with_a_missing_path_names_the_row(wav_files):
    # a merged corpus table can hold NaN in 'file': say which row, instead of
    # os.fspath's bare "expected str, bytes or os.PathLike object, not float"
    import pandas as pd

    table = pd.DataFrame({"file": [wav_files[0], None, wav_files[2]]})
    with pytest.raises(ValueError, match=r"positions \[1\] have no path.*'file'"):
        AudioFeatures("mfcc_stats").fit_transform(table)
    # the same check serves a Series and a plain list
    for column in (table["file"], [wav_files[0], float("nan"), pd.NA]):
        with pytest.raises(ValueError, match=r"positions \[1(, 2)?\] have no path"):
            AudioFeatures("mfcc_stats").fit_transform(column)
    X = AudioFeatures("mfcc_stats").fit_transform(table.dropna())
    assert X.shape == (2, 335)
    assert np.isfinite(X).all()


def test_a_cache_that_cannot_be_written_costs_no_features(
    wav_files, tmp_path, monkeypatch
):
    from sertl_speech._cache import FeatureCache
    from sertl_speech._extract import AudioFeaturesWarning

    expected = AudioFeatures().fit_transform(wav_files)
    writes = []

    def full_disk(self, key, value):
        writes.append(key)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FeatureCache, "put", full_disk)
    ext = AudioFeatures(cache_dir=tmp_path / "cache")
    with pytest.warns(AudioFeaturesWarning, match="could not be written.*No space"):
        X = ext.fit_transform(wav_files)
    np.testing.assert_array_equal(X, expected)  # every extracted row is returned
    assert len(writes) == 1  # it stops trying after the first failure
    assert ext.failed_.empty


@pytest.mark.slow
def test_n_jobs_beyond_the_inputs_starts_no_more_workers(wav_files):
    # loky sized its pool to n_jobs: a huge one failed every file with
    # "OverflowError: Python int too large to convert to C int" (and sertl run
    # then said that no file of the corpus gave features)
    serial = AudioFeatures().fit_transform(wav_files)
    par = AudioFeatures(n_jobs=10**15).fit_transform(wav_files)
    np.testing.assert_allclose(serial, par, rtol=1e-6, atol=1e-6)
