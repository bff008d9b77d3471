"""AudioFeatures' on-disk cache and its per-file failure reports."""

import copy
import os
import pickle
import shutil
import signal
import stat
import warnings

import numpy as np
import pytest
import sertl_speech._extract as extract_mod
import soundfile as sf
from sertl_speech import AudioFeatures, AudioFeaturesWarning, FeatureExtractionError

SR = 16000


def tone(f0=150.0, dur=0.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur * SR)) / SR
    y = 0.2 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)
    return y.astype(np.float32)


@pytest.fixture
def files(tmp_path):
    out = []
    for i in range(4):
        p = tmp_path / f"good{i}.wav"
        sf.write(p, tone(120 + 30 * i, seed=i), SR)
        out.append(str(p))
    return out


@pytest.fixture
def bad_files(tmp_path):
    """One file for each failure type, name -> (path, expected reason)."""
    bad = {}
    p = tmp_path / "corrupt.wav"
    p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    bad["corrupt"] = (p, "unreadable")
    p = tmp_path / "zero_bytes.wav"
    p.write_bytes(b"")
    bad["zero_bytes"] = (p, "empty")
    p = tmp_path / "no_samples.wav"
    sf.write(p, np.zeros(0, np.float32), SR)
    bad["no_samples"] = (p, "empty")
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(SR, np.float32), SR)
    bad["silent"] = (p, "silent")
    p = tmp_path / "short.wav"
    sf.write(p, tone(dur=0.03), SR)
    bad["short"] = (p, "too_short")
    p = tmp_path / "nan.wav"
    y = tone()
    y[100:200] = np.nan
    sf.write(p, y, SR, subtype="FLOAT")
    bad["nan"] = (p, "nan")
    p = tmp_path / "text.flac"
    p.write_text("this is not audio")
    bad["text"] = (p, "unreadable")
    bad["missing"] = (tmp_path / "missing.wav", "missing")
    return bad


def test_every_failure_type_is_reported_and_never_aborts(files, bad_files):
    names = list(bad_files)
    inputs = [files[0], *[str(bad_files[n][0]) for n in names], files[1]]
    ext = AudioFeatures(errors="nan")
    X = ext.fit_transform(inputs)
    assert np.isfinite(X[[0, -1]]).all()
    assert np.isnan(X[1:-1]).all()
    rep = ext.failed_
    assert rep["index"].tolist() == list(range(1, len(names) + 1))
    assert rep["reason"].tolist() == [bad_files[n][1] for n in names]
    assert rep["item"].tolist() == [str(bad_files[n][0]) for n in names]
    assert all(rep["message"].str.len() > 0)


def test_bad_waveforms_are_reported():
    y = tone()
    y_nan = y.copy()
    y_nan[5] = np.nan
    ext = AudioFeatures(errors="nan")
    X = ext.fit_transform([y, np.zeros(SR), y[:100], y_nan, np.array([]), y])
    assert ext.failed_["reason"].tolist() == ["silent", "too_short", "nan", "empty"]
    assert np.isfinite(X[[0, 5]]).all() and np.isnan(X[1:5]).all()


def test_warn_policy(files, bad_files):
    with pytest.warns(AudioFeaturesWarning, match=r"1 of 2 inputs.*silent.*failed_"):
        X = AudioFeatures().fit_transform([files[0], str(bad_files["silent"][0])])
    assert np.isnan(X[1]).all()


def test_raise_policy_keeps_finished_work(files, bad_files, tmp_path):
    cache = tmp_path / "cache"
    inputs = [files[0], str(bad_files["corrupt"][0]), files[1]]
    ext = AudioFeatures(errors="raise", cache_dir=cache)
    with pytest.raises(FeatureExtractionError, match="unreadable") as info:
        ext.fit_transform(inputs)
    assert info.value.failed["index"].tolist() == [1]
    ext2 = AudioFeatures(cache_dir=cache)
    ext2.fit_transform(files[:2])
    assert ext2.n_cache_hits_ == 2


def test_raise_policy_reports_nan_waveforms_as_it_reports_nan_files(bad_files):
    # a waveform with NaN samples raised a plain ValueError from fit, a file
    # with NaN samples a FeatureExtractionError after the batch
    good, bad = tone(), tone()
    bad[5], bad[9] = np.nan, np.inf
    ext = AudioFeatures(errors="raise")
    with pytest.raises(FeatureExtractionError, match=r"1 of 3 inputs.*'nan'") as wave:
        ext.fit_transform([good, bad, good])
    with pytest.raises(FeatureExtractionError, match=r"1 of 2 inputs.*'nan'") as file:
        ext.fit_transform([str(bad_files["nan"][0]), good])
    for err, index in ((wave.value, 1), (file.value, 0)):
        assert err.failed["index"].tolist() == [index]
        assert err.failed["reason"].tolist() == ["nan"]
        message = err.failed["message"].iloc[0]
        assert "samples are NaN or infinite; repair or re-export" in message
    assert "2 of 8000 samples are NaN or infinite" in str(wave.value)
    # fit alone refuses the waveform the same way, and fills failed_
    with pytest.raises(FeatureExtractionError, match="nan") as fitted:
        ext.fit([good, bad])
    assert ext.failed_.equals(fitted.value.failed)


def test_logmel_failed_rows_are_empty(files, bad_files):
    seqs = AudioFeatures("logmel", errors="nan").fit_transform(
        [files[0], str(bad_files["silent"][0])]
    )
    assert seqs[0].shape[1] == 64 and seqs[1].shape == (0, 64)


def test_cache_hit_miss_and_identical_values(files, tmp_path):
    cache = tmp_path / "cache"
    first = AudioFeatures(cache_dir=cache)
    X1 = first.fit_transform(files)
    assert first.n_cache_hits_ == 0
    second = AudioFeatures(cache_dir=cache)
    X2 = second.fit_transform(files)
    assert second.n_cache_hits_ == len(files)
    np.testing.assert_array_equal(X1, X2)
    # keyed by content: a renamed copy hits
    copy = tmp_path / "renamed.wav"
    shutil.copy(files[0], copy)
    third = AudioFeatures(cache_dir=cache)
    np.testing.assert_array_equal(third.fit_transform([str(copy)]), X1[:1])
    assert third.n_cache_hits_ == 1


def test_cache_invalidation(files, tmp_path):
    cache = tmp_path / "cache"
    AudioFeatures(cache_dir=cache).fit_transform(files)
    # new content under the same name misses
    sf.write(files[0], tone(300.0, seed=9), SR)
    ext = AudioFeatures(cache_dir=cache)
    X = ext.fit_transform(files)
    assert ext.n_cache_hits_ == len(files) - 1
    np.testing.assert_array_equal(X[0], AudioFeatures().fit_transform(files[:1])[0])
    # another configuration misses
    for params in ({"feature_set": "mfcc_stats"}, {"min_duration": 0.2}):
        ext = AudioFeatures(cache_dir=cache, **params)
        ext.fit_transform(files)
        assert ext.n_cache_hits_ == 0
    # waveforms are cached too, keyed by samples and rate
    w = [tone(seed=3)]
    AudioFeatures(cache_dir=cache).fit_transform(w)
    ext = AudioFeatures(cache_dir=cache, sample_rate=8000)
    ext.fit_transform(w)
    assert ext.n_cache_hits_ == 0


def test_upgrading_a_library_that_computes_the_features_misses(
    files, tmp_path, monkeypatch
):
    from importlib import metadata

    cache = tmp_path / "cache"
    AudioFeatures(cache_dir=cache).fit_transform(files)
    same = AudioFeatures(cache_dir=cache)
    same.fit_transform(files)
    assert same.n_cache_hits_ == len(files)
    real = metadata.version

    def upgraded(name):
        return "999.0" if name == "librosa" else real(name)

    monkeypatch.setattr(metadata, "version", upgraded)
    ext = AudioFeatures(cache_dir=cache)
    ext.fit_transform(files)
    assert ext.n_cache_hits_ == 0
    assert ext.feature_config()["versions"]["librosa"] == "999.0"


def test_features_cached_by_the_previous_feature_version_miss(
    files, tmp_path, monkeypatch
):
    # an older version's entries hold other numbers (version 4 read the HNR
    # at whole lags; version 5 halved shimmer and floored log-mel energies
    # absolutely): they must not be served
    cache = tmp_path / "cache"
    with monkeypatch.context() as patch:
        patch.setattr(extract_mod, "FEATURES_VERSION", "4")
        AudioFeatures(cache_dir=cache).fit_transform(files)
    ext = AudioFeatures(cache_dir=cache)
    ext.fit_transform(files)
    assert ext.n_cache_hits_ == 0
    assert ext.feature_config()["version"] != "4"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cache_files_get_the_mode_the_umask_allows(files, tmp_path, umask):
    # entries were 0600 (tempfile.mkstemp): a cache_dir shared by a group
    # never hit for the other users
    cache = tmp_path / "cache"
    previous = os.umask(umask)
    try:
        AudioFeatures(cache_dir=cache).fit_transform(files[:2])
    finally:
        os.umask(previous)
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert sorted(p.suffix for p in written) == [".json", ".npy", ".npy"]
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p


def test_replaced_file_with_its_old_modification_time_misses(files, tmp_path):
    # cp -p, rsync -a and tar restore the old mtime on a file with new bytes
    # of the same size: the in-process memo must not reuse the old hash
    ext = AudioFeatures("mfcc_stats", cache_dir=tmp_path / "cache")
    old = ext.fit_transform(files[:1])
    st = os.stat(files[0])
    sf.write(files[0], tone(330.0, seed=7), SR)  # same length, same size
    assert os.stat(files[0]).st_size == st.st_size
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    new = ext.transform(files[:1])
    assert ext.n_cache_hits_ == 0
    assert not np.allclose(new, old)


def test_file_rewritten_while_extracted_is_not_cached(files, tmp_path, monkeypatch):
    # the key is the file's bytes before extraction; a file rewritten before
    # it is read (a corpus being copied or edited during the run) gives the
    # features of its new bytes, which were cached under the old bytes' key:
    # every copy of the old audio then got the new audio's features
    cache = tmp_path / "cache"
    pristine = tmp_path / "pristine.wav"
    shutil.copy(files[0], pristine)
    real = extract_mod._extract_one

    def rewritten_first(item, *args):
        sf.write(item, tone(330.0, seed=7), SR)
        return real(item, *args)

    monkeypatch.setattr(extract_mod, "_extract_one", rewritten_first)
    ext = AudioFeatures("mfcc_stats", cache_dir=cache)
    new = ext.fit_transform(files[:1])
    monkeypatch.setattr(extract_mod, "_extract_one", real)
    # the features returned are those of the bytes read, as without a cache
    np.testing.assert_array_equal(
        new, AudioFeatures("mfcc_stats").fit_transform(files[:1])
    )
    ext = AudioFeatures("mfcc_stats", cache_dir=cache)
    old = ext.fit_transform([str(pristine)])
    assert ext.n_cache_hits_ == 0
    np.testing.assert_array_equal(
        old, AudioFeatures("mfcc_stats").fit_transform([str(pristine)])
    )
    # the file's current bytes are cached on the next call as usual
    ext.fit_transform(files[:1])
    assert ext.n_cache_hits_ == 0
    ext.fit_transform(files[:1])
    assert ext.n_cache_hits_ == 1


def test_damaged_cache_entry_is_a_miss(files, tmp_path):
    cache = tmp_path / "cache"
    X = AudioFeatures(cache_dir=cache).fit_transform(files[:1])
    (entry,) = [p for p in cache.rglob("*.npy")]
    entry.write_bytes(b"garbage")
    ext = AudioFeatures(cache_dir=cache)
    np.testing.assert_array_equal(ext.fit_transform(files[:1]), X)
    assert ext.n_cache_hits_ == 0


@pytest.mark.parametrize(
    ("feature_set", "wrong"),
    [
        ("mfcc_stats", np.arange(3.0)),  # loads, wrong length (a traceback before)
        ("mfcc_stats", np.zeros((2, 335))),  # wrong number of axes
        ("mfcc_stats", np.arange(335)),  # integers: not features
        ("mfcc_stats", np.full(335, np.nan)),  # NaN rows are never cached
        ("logmel", np.zeros((5, 3), np.float32)),  # wrong number of mel bands
    ],
)
def test_cache_entry_of_the_wrong_shape_is_a_miss_and_overwritten(
    files, tmp_path, feature_set, wrong
):
    cache = tmp_path / "cache"
    X = AudioFeatures(feature_set, cache_dir=cache).fit_transform(files[:2])
    entry = sorted(cache.rglob("*.npy"))[0]
    np.save(entry, wrong)
    ext = AudioFeatures(feature_set, cache_dir=cache)
    again = ext.fit_transform(files[:2])
    assert ext.n_cache_hits_ == 1 and ext.failed_.empty
    for a, b in zip(again, X, strict=True):
        np.testing.assert_array_equal(a, b)
    # recomputed and overwritten: the next call reads both from the cache
    ext.fit_transform(files[:2])
    assert ext.n_cache_hits_ == 2
    shapes = {np.load(p).shape for p in cache.rglob("*.npy")}
    assert shapes == {np.asarray(x).shape for x in X}


def test_interrupted_run_resumes(files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real = extract_mod.extract
    calls = []

    def flaky(y, feature_set):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(y, feature_set)

    monkeypatch.setattr(extract_mod, "extract", flaky)
    with pytest.raises(KeyboardInterrupt):
        AudioFeatures(cache_dir=cache).fit_transform(files)
    monkeypatch.setattr(extract_mod, "extract", real)
    ext = AudioFeatures(cache_dir=cache)
    X = ext.fit_transform(files)
    assert ext.n_cache_hits_ == 2
    np.testing.assert_array_equal(X, AudioFeatures().fit_transform(files))
    assert not list(cache.rglob(".tmp-*"))


def test_unexpected_extractor_error_is_reported(files, monkeypatch):
    def boom(y, feature_set):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(extract_mod, "extract", boom)
    ext = AudioFeatures(errors="nan")
    X = ext.fit_transform(files[:2])
    assert np.isnan(X).all()
    assert ext.failed_["reason"].tolist() == ["failed", "failed"]
    assert ext.failed_["message"].str.contains("RuntimeError: kaboom").all()


def _cache_warnings(record):
    return [w for w in record if issubclass(w.category, AudioFeaturesWarning)]


@pytest.mark.parametrize("errors", ["warn", "nan", "raise"])
def test_cache_folder_that_cannot_be_created_falls_back_to_uncached(
    files, tmp_path, errors
):
    # a saved model's cache_dir from another machine: here a path under a
    # regular file, which cannot be created even by root
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    cache = blocker / "cache"
    ext = AudioFeatures(cache_dir=cache, errors=errors)
    for _ in range(2):  # one warning per call, every call
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            X = ext.fit_transform(files[:2])
        (w,) = _cache_warnings(record)
        msg = str(w.message)
        assert str(cache) in msg and "could not be used" in msg
        assert "set_params(cache_dir=" in msg and "cache_dir=None" in msg
        np.testing.assert_array_equal(X, AudioFeatures().fit_transform(files[:2]))
        assert ext.n_cache_hits_ == 0 and ext.failed_.empty
    assert blocker.read_text() == "a file"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="needs a POSIX user other than root: chmod does not restrict root "
    "(test_cache_folder_that_cannot_be_created_falls_back_to_uncached covers "
    "the same fallback for every user)",
)
def test_cache_folder_without_permission_falls_back_to_uncached(files, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        ext = AudioFeatures(cache_dir=locked / "cache")
        with pytest.warns(AudioFeaturesWarning, match="could not be used"):
            X = ext.fit_transform(files[:2])
    finally:
        locked.chmod(0o700)
    np.testing.assert_array_equal(X, AudioFeatures().fit_transform(files[:2]))


def test_cache_that_cannot_be_read_falls_back_to_uncached(files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    AudioFeatures(cache_dir=cache).fit_transform(files[:1])

    def denied(self, key, **kwargs):
        raise PermissionError(13, "Permission denied", str(self.folder))

    monkeypatch.setattr(extract_mod.FeatureCache, "get", denied)
    ext = AudioFeatures(cache_dir=cache)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        X = ext.fit_transform(files)
    (w,) = _cache_warnings(record)
    assert "Permission denied" in str(w.message)
    np.testing.assert_array_equal(X, AudioFeatures().fit_transform(files))
    assert ext.n_cache_hits_ == 0


def test_call_reports_are_left_out_of_the_saved_state(files, bad_files):
    ext = AudioFeatures(errors="nan")
    X = ext.fit_transform(files[:1] + [str(bad_files["missing"][0])])
    # the caller still reads the report of the call it just made
    assert ext.failed_["reason"].tolist() == ["missing"]
    state = ext.__getstate__()
    assert "failed_" not in state and "n_cache_hits_" not in state
    assert "failed_" in vars(ext) and ext.n_cache_hits_ == 0  # self unchanged
    for other in (pickle.loads(pickle.dumps(ext)), copy.deepcopy(ext)):
        assert not hasattr(other, "failed_")
        assert other.get_params() == ext.get_params()
        np.testing.assert_array_equal(
            other.transform(files[:1] + [str(bad_files["missing"][0])]), X
        )
        assert other.failed_["reason"].tolist() == ["missing"]


def test_a_folder_named_like_audio_is_not_called_missing(files, tmp_path):
    folder = tmp_path / "take.flac"
    folder.mkdir()
    ext = AudioFeatures("mfcc_stats", errors="nan")
    X = ext.fit_transform([files[0], str(folder), str(tmp_path / "gone.wav")])
    assert np.isfinite(X[0]).all() and np.isnan(X[1:]).all()
    assert ext.failed_[["item", "reason", "message"]].values.tolist() == [
        [str(folder), "unreadable", f"is a directory, not an audio file: {folder}"],
        [str(tmp_path / "gone.wav"), "missing", f"no such file: {tmp_path}/gone.wav"],
    ]


# -- a process that dies while decoding, or while writing the cache -------------

_KILLER = """
import json, os, sys
import sertl_speech._extract as ex
from sertl_speech import AudioFeatures

TARGET = sys.argv[2]  # a value: the retry's worker process has another argv
real_load, real_chunk = ex.load_audio, ex._extract_chunk

def load_audio(path, **kw):
    if path == TARGET:
        if os.environ.get("KILLED_LOG"):  # the processes it ended, one a line
            with open(os.environ["KILLED_LOG"], "a") as log:
                log.write(f"{os.getpid()}\\n")
        os._exit(3)  # as a segfault in the decoder or the OOM killer would
    return real_load(path, **kw)

def chunk(entries, *args):  # the same decoder in a worker process
    ex.load_audio = load_audio
    return real_chunk(entries, *args)

ex.load_audio, ex._extract_chunk = load_audio, chunk
ext = AudioFeatures("mfcc_stats", cache_dir=sys.argv[1], errors="nan")
ext.fit_transform(sys.argv[2:])
print(json.dumps(ext.failed_[["item", "message"]].values.tolist()))
"""

_HANGS = """
import sys, time
import sertl_speech._extract as ex
from sertl_speech import AudioFeatures

real = ex.load_audio

def load_audio(path, **kw):
    if path == sys.argv[2]:
        time.sleep(600)  # the test kills the process here, as kill -9 would
    return real(path, **kw)

ex.load_audio = load_audio
AudioFeatures("mfcc_stats", cache_dir=sys.argv[1]).fit_transform(sys.argv[3:])
"""


def _dead_pid():
    """The pid of a process that has ended."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_file_that_kills_the_process_is_skipped_after_one_retry(files, tmp_path):
    # with n_jobs=1 a decoder crash ends the whole process: each resumed call
    # decoded the same file first and died again, never getting past it
    import json
    import subprocess
    import sys

    cache = tmp_path / "cache"
    killer, *rest = files[1:]

    def run():
        return subprocess.run(
            [sys.executable, "-c", _KILLER, str(cache), killer, *rest],
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = run()
    assert first.returncode == 3, first.stderr
    assert len(list(cache.rglob(".decoding-*.json"))) == 1  # left by the crash
    # the next call tries it once more alone, in a worker that it kills too
    second = run()
    assert second.returncode == 0, second.stderr
    ((item, message),) = json.loads(second.stdout)
    assert item == killer
    assert "decoding it ended an earlier run (process " in message
    assert "it ended the separate process that tried it again alone too" in message
    assert "so it is skipped and the run goes on" in message
    (record,) = cache.rglob("*.crashed.json")
    assert json.loads(record.read_text())["confirmed"] is True
    assert f"To try it again, delete {record} " in message
    assert not list(cache.rglob(".decoding-*.json"))
    # confirmed: reported on every call, not tried again (here the decoder
    # would read it: a retry would give it features)
    ext = AudioFeatures("mfcc_stats", cache_dir=cache)
    with pytest.warns(AudioFeaturesWarning, match="1 of 4 inputs gave no features"):
        X = ext.fit_transform(files)
    assert ext.failed_["item"].tolist() == [killer]
    assert ext.failed_["reason"].tolist() == ["failed"]
    assert ext.failed_["message"].tolist() == [message]
    assert ext.n_cache_hits_ == 2  # files[2:], decoded by the earlier runs
    assert np.isnan(X[1]).all() and np.isfinite(np.delete(X, 1, axis=0)).all()
    # deleting the record, as the message says, tries the file again
    record.unlink()
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="raise")
    np.testing.assert_array_equal(
        ext.fit_transform(files), AudioFeatures("mfcc_stats").fit_transform(files)
    )


def test_a_crasher_given_twice_is_retried_once_for_both(files, tmp_path):
    # each copy of a blamed file was retried alone: a real crasher ended two
    # processes, and each copy's verdict was its own
    import json
    import subprocess
    import sys

    cache = tmp_path / "cache"
    log = tmp_path / "killed.log"
    killer, *rest = files[1:]
    env = {**os.environ, "KILLED_LOG": str(log)}

    def run():
        return subprocess.run(
            [sys.executable, "-c", _KILLER, str(cache), killer, *rest, killer],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )

    first = run()
    assert first.returncode == 3, first.stderr
    assert len(log.read_text().split()) == 1  # the run itself
    second = run()
    assert second.returncode == 0, second.stderr
    assert len(log.read_text().split()) == 2  # one retry, in its own process
    failed = json.loads(second.stdout)
    assert [item for item, _ in failed] == [killer, killer]
    assert failed[0][1] == failed[1][1]
    assert "it ended the separate process that tried it again" in failed[0][1]
    (record,) = cache.rglob("*.crashed.json")
    assert json.loads(record.read_text())["confirmed"] is True


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 (POSIX signals)")
def test_a_healthy_file_being_decoded_when_the_run_was_killed_is_not_blamed(
    files, tmp_path
):
    # a run ended from outside (kill -9, the OOM killer, a power loss) while
    # it decoded a healthy file left its marker: the file was reported as
    # failed, and skipped, on every later run (one file fewer in the results)
    import json
    import signal
    import subprocess
    import sys
    import time

    cache = tmp_path / "cache"
    healthy = files[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", _HANGS, str(cache), healthy, *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def marked():
        for marker in cache.rglob(".decoding-*.json"):
            try:
                return json.loads(marker.read_text())["file"] == healthy
            except FileNotFoundError:  # removed meanwhile: the next file's
                continue
        return False

    try:
        deadline = time.monotonic() + 300
        while not marked():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the file was never decoded"
            time.sleep(0.01)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="raise")
    X = ext.fit_transform(files)
    assert ext.failed_.empty
    np.testing.assert_allclose(X, AudioFeatures("mfcc_stats").fit_transform(files))
    assert ext.n_cache_hits_ == 2  # the two files decoded before the kill
    # its record and the marker are gone, its features cached
    assert not list(cache.rglob("*.crashed.json"))
    assert not list(cache.rglob(".decoding-*.json"))
    ext.fit_transform(files)
    assert ext.n_cache_hits_ == 4 and ext.failed_.empty


def _gone_marker(folder, file):
    """Write the crash marker that a process decoding ``file`` left as it died."""
    import json

    from sertl_speech._cache import content_key, temporary_name

    pid = _dead_pid()
    name = temporary_name(".decoding-", ".json").replace(f"-{os.getpid()}-", f"-{pid}-")
    info = {"file": file, "key": content_key(file), "pid": pid}
    (folder / name).write_text(json.dumps(info))
    return folder / name


def _never_decoded_here(monkeypatch, file):
    """Make decoding ``file`` in this process fail the test; return the real loader.

    A blamed file is retried in a process of its own: decoded in the
    caller's, a real crasher would end the caller.
    """
    real_load = extract_mod.load_audio

    def not_here(path, **kw):
        if path == file:
            raise AssertionError("decoded in the caller's process")
        return real_load(path, **kw)

    monkeypatch.setattr(extract_mod, "load_audio", not_here)
    return real_load


@pytest.mark.parametrize("retry", ["decodes", "dies", "cannot run"])
def test_a_marker_in_a_read_only_cache_retries_its_file_alone(
    files, tmp_path, monkeypatch, retry
):
    # a stale marker in a folder that cannot be written was never turned
    # into a record: recover_crashes' OSError became the warning "could not
    # be written", and the file was decoded again in the caller's process
    import errno
    from concurrent.futures.process import BrokenProcessPool

    from sertl_speech._cache import FeatureCache

    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="nan")
    folder = FeatureCache(cache, ext.feature_config()).folder
    marker = _gone_marker(folder, files[1])
    expected = AudioFeatures("mfcc_stats").fit_transform(files[1:2])[0]

    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(FeatureCache, "_atomic_write", staticmethod(read_only))
    _never_decoded_here(monkeypatch, files[1])
    if retry == "dies":

        def dying(entry, args):
            assert entry[1] == files[1]
            raise BrokenProcessPool("a worker was terminated abruptly")

        monkeypatch.setattr(extract_mod, "_decode_alone", dying)
    if retry == "cannot run":  # no verdict: the warning said "no crash"

        def cannot_run(entry, args):
            raise RuntimeError("no process could be started")

        monkeypatch.setattr(extract_mod, "_decode_alone", cannot_run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = ext.fit_transform(files)
    said = [str(w.message) for w in caught]
    lost = [m for m in said if "could not be turned into a crash record" in m]
    assert len(lost) == 1, said
    assert f"the feature cache folder {str(folder)!r} cannot be written" in lost[0]
    assert f"crash marker {marker.name} left there by process " in lost[0]
    assert f"while decoding {files[1]}, " in lost[0]
    assert "make the folder writable, or delete the marker" in lost[0]
    assert marker.exists() and not list(cache.rglob("*.crashed.json"))
    assert np.isfinite(np.delete(X, 1, axis=0)).all()
    if retry == "decodes":
        assert "(no crash: its result is returned)" in lost[0]
        assert ext.failed_.empty and np.isfinite(X[1]).all()
        np.testing.assert_allclose(X[1], expected)
    elif retry == "cannot run":
        assert "no crash" not in lost[0] and "was tried again" not in lost[0]
        assert "could not be tried again in a separate process (failed_ " in lost[0]
        assert "so it is skipped this time, and will be on every call" in lost[0]
        assert ext.failed_["item"].tolist() == [files[1]]
        message = ext.failed_["message"].iloc[0]
        assert "(RuntimeError: no process could be started)" in message
        assert np.isnan(X[1]).all()
    else:
        assert "it ended that process too, and is reported in failed_" in lost[0]
        assert ext.failed_["item"].tolist() == [files[1]]
        message = ext.failed_["message"].iloc[0]
        assert f"Its crash marker {marker} could not be turned into a " in message
        assert "make the cache folder writable, or delete the marker" in message
        assert np.isnan(X[1]).all()


@pytest.mark.filterwarnings("ignore:Loky-backed parallel loops:UserWarning")
def test_a_blamed_file_is_retried_apart_where_joblib_runs_tasks_in_the_caller(
    files, tmp_path, monkeypatch
):
    # in a thread of joblib's threading backend (GridSearchCV under
    # parallel_config(backend="threading")), joblib runs a loky loop in the
    # calling process (with a UserWarning): the retry "alone, in a separate
    # process" must not decode the blamed file in the caller, which a real
    # crasher ends; its own process is started there too
    from joblib import Parallel, delayed
    from sertl_speech._cache import FeatureCache

    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="raise")
    folder = FeatureCache(cache, ext.feature_config()).folder
    _gone_marker(folder, files[1])
    here = []
    real_load = extract_mod.load_audio

    def load_audio(path, **kw):
        here.append((os.getpid(), path))
        return real_load(path, **kw)

    monkeypatch.setattr(extract_mod, "load_audio", load_audio)
    (X,) = Parallel(n_jobs=2, backend="threading")(
        delayed(ext.fit_transform)(files) for _ in range(1)
    )
    assert (os.getpid(), files[1]) not in here  # never decoded in this process
    assert ext.failed_.empty
    monkeypatch.setattr(extract_mod, "load_audio", real_load)
    np.testing.assert_allclose(X, AudioFeatures("mfcc_stats").fit_transform(files))
    assert not list(cache.rglob("*.crashed.json"))  # no crash: record removed


def test_a_worker_of_the_shared_executor_that_dies_blames_no_retried_file(
    files, tmp_path, monkeypatch
):
    # the retry alone ran in joblib's shared, reused loky executor: a worker
    # of another thread's call that died then (or before) broke it, and the
    # file retried was confirmed as a crasher, skipped on every later call,
    # although its own decode never died
    from joblib.externals.loky.process_executor import TerminatedWorkerError
    from joblib.externals.loky.reusable_executor import _ReusablePoolExecutor
    from sertl_speech._cache import FeatureCache

    def broken(self, *args, **kwargs):  # every task of the shared executor
        raise TerminatedWorkerError("a worker of another call was terminated")

    monkeypatch.setattr(_ReusablePoolExecutor, "submit", broken)
    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="raise")
    folder = FeatureCache(cache, ext.feature_config()).folder
    _gone_marker(folder, files[1])
    real_load = _never_decoded_here(monkeypatch, files[1])
    X = ext.fit_transform(files)
    assert ext.failed_.empty
    monkeypatch.setattr(extract_mod, "load_audio", real_load)
    np.testing.assert_allclose(X, AudioFeatures("mfcc_stats").fit_transform(files))
    assert not list(cache.rglob("*.crashed.json"))  # no crash: record removed
    assert not list(cache.rglob(".decoding-*.json"))


class _EndsTheProcessWhenUnpickled:
    """Ends the process that unpickles it: a retry process dying at start-up."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_a_retry_process_that_dies_before_decoding_blames_no_file(
    files, tmp_path, monkeypatch
):
    # the retry's process died while it started (an import failing in it,
    # the memory limit before decoding began): that BrokenExecutor confirmed
    # the file as a crasher, skipped on every later call, although it was
    # never decoded there
    import json

    from sertl_speech._cache import FeatureCache

    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="nan")
    folder = FeatureCache(cache, ext.feature_config()).folder
    _gone_marker(folder, files[1])
    real_load = _never_decoded_here(monkeypatch, files[1])
    # the retry's task carries the decoder: unpickling it ends that process
    monkeypatch.setattr(extract_mod, "_extract_chunk", _EndsTheProcessWhenUnpickled())
    X = ext.fit_transform(files)
    assert ext.failed_["item"].tolist() == [files[1]]
    message = ext.failed_["message"].iloc[0]
    assert message.startswith(
        "it ended an earlier run, and could not be tried again in a separate "
        "process (the process ended before it began decoding the file ("
    )
    assert "which is no verdict on the file); it is skipped this time and " in message
    assert "it ended the separate process" not in message
    assert np.isnan(X[1]).all() and np.isfinite(np.delete(X, 1, axis=0)).all()
    (record,) = cache.rglob("*.crashed.json")
    assert json.loads(record.read_text()).get("confirmed") is not True
    # no verdict: the next call tries it alone again, and it decodes
    monkeypatch.undo()
    assert extract_mod.load_audio is real_load
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="raise")
    np.testing.assert_allclose(
        ext.fit_transform(files), AudioFeatures("mfcc_stats").fit_transform(files)
    )
    assert not list(cache.rglob("*.crashed.json"))


def test_a_retry_process_that_dies_importing_the_decoder_blames_no_file(
    files, tmp_path, monkeypatch
):
    # the flag "began decoding" was written before the libraries that decode
    # (soundfile, soxr, librosa: imported on first use) were imported in the
    # retry's process: a death while importing them (the memory limit at
    # start, a broken numba) confirmed the file as a crasher
    import json

    import librosa  # noqa: F401  # this process keeps the real one
    from sertl_speech._cache import FeatureCache

    broken = tmp_path / "broken"
    (broken / "librosa").mkdir(parents=True)
    (broken / "librosa" / "__init__.py").write_text("import os\nos._exit(3)\n")
    monkeypatch.syspath_prepend(str(broken))  # the retry's process gets it
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(broken), os.environ.get("PYTHONPATH", "")])
    )
    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="nan")
    folder = FeatureCache(cache, ext.feature_config()).folder
    _gone_marker(folder, files[1])
    _never_decoded_here(monkeypatch, files[1])
    X = ext.fit_transform(files)
    assert ext.failed_["item"].tolist() == [files[1]]
    message = ext.failed_["message"].iloc[0]
    assert "(the process ended before it began decoding the file (" in message
    assert "it ended the separate process" not in message
    assert np.isnan(X[1]).all() and np.isfinite(np.delete(X, 1, axis=0)).all()
    (record,) = cache.rglob("*.crashed.json")
    assert json.loads(record.read_text()).get("confirmed") is not True


def test_the_retry_starts_no_process_under_joblib_multiprocessing_0(
    files, tmp_path, monkeypatch
):
    # JOBLIB_MULTIPROCESSING=0 (an environment without child processes, where
    # joblib runs every loop in the caller) did not stop the retry of a
    # blamed file from starting one
    from joblib.externals import loky
    from sertl_speech._cache import FeatureCache

    cache = tmp_path / "cache"
    ext = AudioFeatures("mfcc_stats", cache_dir=cache, errors="nan")
    folder = FeatureCache(cache, ext.feature_config()).folder
    _gone_marker(folder, files[1])
    _never_decoded_here(monkeypatch, files[1])  # nor in this process
    started = []
    real_init = loky.ProcessPoolExecutor.__init__

    def spy(self, *args, **kwargs):
        started.append(args)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(loky.ProcessPoolExecutor, "__init__", spy)
    monkeypatch.setenv("JOBLIB_MULTIPROCESSING", "0")
    X = ext.fit_transform(files)
    assert started == []
    assert ext.failed_["item"].tolist() == [files[1]]
    message = ext.failed_["message"].iloc[0]
    assert "(JOBLIB_MULTIPROCESSING=0 is set, which allows no child process" in message
    assert "it is skipped on every call while that is set: unset " in message
    assert np.isnan(X[1]).all() and np.isfinite(np.delete(X, 1, axis=0)).all()
    assert ext.n_cache_hits_ == 0  # the others decoded here, and cached
    # unset, the next call tries it alone and decodes it
    monkeypatch.delenv("JOBLIB_MULTIPROCESSING")
    X = ext.fit_transform(files)
    assert ext.failed_.empty and len(started) == 1
    assert not list(cache.rglob("*.crashed.json"))


def test_ctrl_c_while_decoding_blames_no_file(files, tmp_path, monkeypatch):
    # Ctrl-C is no crash of the file being decoded: it is decoded next time
    cache = tmp_path / "cache"
    real = extract_mod.load_audio

    def interrupted(path, **kw):
        if path == files[1]:
            raise KeyboardInterrupt
        return real(path, **kw)

    monkeypatch.setattr(extract_mod, "load_audio", interrupted)
    with pytest.raises(KeyboardInterrupt):
        AudioFeatures(cache_dir=cache).fit_transform(files)
    assert not list(cache.rglob(".decoding-*")) and not list(cache.rglob(".tmp-*"))
    monkeypatch.setattr(extract_mod, "load_audio", real)
    ext = AudioFeatures(cache_dir=cache, errors="raise")
    ext.fit_transform(files)
    assert ext.n_cache_hits_ == 1 and ext.failed_.empty


def test_only_markers_of_gone_processes_of_this_machine_blame_a_file(
    files, tmp_path, monkeypatch
):
    import json

    from sertl_speech._cache import FeatureCache, content_key, temporary_name

    cache = tmp_path / "cache"
    ext = AudioFeatures(cache_dir=cache)
    folder = FeatureCache(cache, ext.feature_config()).folder
    own = f"-{os.getpid()}-"

    def marker(i, pid, host=None):
        name = temporary_name(".decoding-", ".json").replace(own, f"-{pid}-")
        if host is not None:
            name = f".decoding-{host}-" + name.split("-", 2)[2]
        info = {"file": files[i], "key": content_key(files[i]), "pid": pid}
        (folder / name).write_text(json.dumps(info))
        return folder / name

    live = marker(0, os.getppid())  # a process that runs (this one's parent)
    other_host = marker(1, _dead_pid(), host="0" * 8)  # cannot be looked at
    dead = marker(2, _dead_pid())
    # a blamed file is tried again alone in a worker process (see above)
    alone = []
    real = extract_mod._decode_alone

    def recording(entry, args):
        alone.append(entry[1])
        return real(entry, args)

    monkeypatch.setattr(extract_mod, "_decode_alone", recording)
    X = ext.fit_transform(files)
    assert alone == [files[2]]
    assert ext.failed_.empty and np.isfinite(X).all()
    assert live.exists() and other_host.exists() and not dead.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 (POSIX signals)")
def test_temporary_files_of_killed_writers_are_removed(files, tmp_path):
    # a process killed between creating a cache entry's temporary file and
    # renaming it left a hidden .tmp-* file there for good
    import signal
    import subprocess
    import sys

    from sertl_speech._cache import FeatureCache

    cache = tmp_path / "cache"
    script = (
        "import os, signal, sys\n"
        "from sertl_speech import AudioFeatures\n"
        "from sertl_speech._cache import FeatureCache\n"
        "cache = FeatureCache(sys.argv[1], AudioFeatures().feature_config())\n"
        "os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)\n"
        "cache.put('ab' * 16, [1.0])\n"
    )
    ext = AudioFeatures(cache_dir=cache)
    FeatureCache(cache, ext.feature_config())  # the folder, as a first run makes it
    proc = subprocess.run(
        [sys.executable, "-c", script, str(cache)], capture_output=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (stale,) = cache.rglob(".tmp-*")
    ext.fit_transform(files[:1])
    assert not stale.exists()


def test_temporary_files_of_live_or_unknown_writers_stay(tmp_path):
    from sertl_speech._cache import (
        open_temporary,
        remove_stale_temporaries,
        temporary_name,
    )

    name = temporary_name(".tmp-", ".npy")
    _, host, _, rest = name.split("-", 3)
    dead = f".tmp-{host}-{_dead_pid()}-{rest}"
    # a user's files, one of the naming before writers were named, another
    # machine's, a live process's (this one's parent), another suffix's
    keep = [
        ".tmp-notes.npy",
        ".tmp-0123456789abcdef.npy",
        f".tmp-00000000-{_dead_pid()}-{rest}",
        f".tmp-{host}-{os.getppid()}-{rest}",
        f".tmp-{host}-{_dead_pid()}-{rest}.bak",
    ]
    for k in [dead, *keep]:
        (tmp_path / k).write_bytes(b"")
    assert remove_stale_temporaries(tmp_path, ".tmp-", [".npy"]) == [tmp_path / dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)
    # this process's own: stale unless it is being written now (another
    # thread's, or an earlier process's given the same pid)
    with open_temporary(tmp_path, ".tmp-", ".npy") as (fd, writing):
        os.close(fd)
        assert remove_stale_temporaries(tmp_path, ".tmp-", [".npy"]) == []
    assert remove_stale_temporaries(tmp_path, ".tmp-", [".npy"]) == [writing]


def test_a_sweep_while_a_temporary_file_is_created_leaves_it(tmp_path, monkeypatch):
    # another thread's first sweep of the folder could run between the
    # creation of this process's temporary file and its listing as being
    # written: the file of this pid, not listed, was taken for an earlier
    # process's and removed, and the entry's rename then failed
    import sertl_speech._cache as cache_mod

    real_open = cache_mod.os.open
    swept = []

    def open_then_sweep(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if os.path.basename(path).startswith(".tmp-"):
            swept.extend(
                cache_mod.remove_stale_temporaries(tmp_path, ".tmp-", [".npy"])
            )
        return fd

    monkeypatch.setattr(cache_mod.os, "open", open_then_sweep)
    target = tmp_path / "entry.npy"
    cache_mod.FeatureCache._atomic_write(target, b"data")
    monkeypatch.undo()
    assert swept == []
    assert target.read_bytes() == b"data"


def test_a_container_with_this_host_name_but_other_process_ids_is_another_writer(
    tmp_path, monkeypatch
):
    # containers that share a host name (--network host) but not their
    # process ids: a pid that is gone here may be a live writer there, so
    # their files get a tag of their own and are never swept from here
    from sertl_speech import _cache

    real = _cache._host_tag()
    real_readlink = os.readlink

    def other_space(path, *args, **kwargs):
        if str(path) == "/proc/self/ns/pid":
            return "pid:[no-such-namespace]"
        return real_readlink(path, *args, **kwargs)

    if not os.path.exists("/proc/self/ns/pid"):
        pytest.skip("no process-id namespaces on this system (Linux only)")
    _cache._host_tag.cache_clear()
    monkeypatch.setattr(_cache.os, "readlink", other_space)
    try:
        theirs = _cache._host_tag()
    finally:
        monkeypatch.undo()
        _cache._host_tag.cache_clear()
    assert theirs != real == _cache._host_tag()
    rest = _cache.temporary_name(".tmp-", ".npy").split("-", 3)[3]
    name = f".tmp-{theirs}-{_dead_pid()}-{rest}"
    (tmp_path / name).write_bytes(b"")
    assert _cache.remove_stale_temporaries(tmp_path, ".tmp-", [".npy"]) == []
    assert (tmp_path / name).exists()


def test_markers_read_the_process_start_time_once(files, tmp_path, monkeypatch):
    # every decoded file re-read /proc/self/stat for the start time that
    # tells this process from a later one given the same pid
    import json

    import sertl_speech._cache as cache_mod

    reads = []
    real = cache_mod._process_start

    def counting(pid):
        reads.append(pid)
        return real(pid)

    monkeypatch.setattr(cache_mod, "_process_start", counting)
    monkeypatch.setattr(cache_mod, "_STARTED", {}, raising=False)
    cache = cache_mod.FeatureCache(tmp_path / "cache", {"feature_set": "demo"})
    for file in files:
        cache.mark(file, cache_mod.content_key(file))
        info = json.loads(cache._marker.read_text())
        assert info["file"] == file and info["pid"] == os.getpid()
        assert info["started"] == real(os.getpid())
    cache.unmark()
    assert reads == [os.getpid()]
    assert not list((tmp_path / "cache").rglob(".decoding-*"))


# -- Windows: processes asked about through its API, not os.kill ------------------


@pytest.fixture
def windows_processes(monkeypatch):
    """Make ``_cache`` look at processes as on Windows; return its process table.

    The table maps a pid to what the Windows API would say of it,
    ``(alive, creation time)``; a pid not in it names no process. On
    Windows ``os.kill(pid, 0)`` ends the process: it must not be called.
    """
    from sertl_speech import _cache

    table: dict[int, tuple] = {}
    killed = []
    monkeypatch.setattr(_cache, "_WINDOWS", True, raising=False)
    monkeypatch.setattr(
        _cache,
        "_windows_process",
        lambda pid: table.get(pid, (False, None)),
        raising=False,
    )
    # as Windows' os.kill "succeeds": it terminated the process
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    yield table
    assert killed == [], "os.kill on Windows ends the process it is given"


def test_windows_crash_markers_of_gone_processes_become_records(
    files, tmp_path, windows_processes
):
    # on Windows no marker was ever taken for a gone process's: a file whose
    # decoder crashed the run (n_jobs=1) was decoded first by every resumed
    # run, which it crashed again, and the markers piled up
    import json

    from sertl_speech._cache import FeatureCache, content_key, temporary_name

    cache = FeatureCache(tmp_path / "cache", {"feature_set": "demo"})
    own = f"-{os.getpid()}-"

    def marker(i, pid, started):
        name = temporary_name(".decoding-", ".json").replace(own, f"-{pid}-")
        key = content_key(files[i])
        info = {"file": files[i], "key": key, "pid": pid, "started": started}
        (cache.folder / name).write_text(json.dumps(info))
        return cache.folder / name

    windows_processes.update({1004: (True, 7), 1008: (True, 9), 1012: (None, None)})
    gone = marker(0, 1000, 5)  # no process has the pid any more
    live = marker(1, 1004, 7)  # runs, created when the marker says
    reused = marker(2, 1008, 8)  # the pid of a later process
    unknown = marker(3, 1012, 3)  # cannot be asked about
    found = cache.recover_crashes()
    assert sorted(f["file"] for f in found) == [files[0], files[2]]
    assert not gone.exists() and not reused.exists()
    assert live.exists() and unknown.exists()
    assert cache.crash_record(content_key(files[0])) is not None


def test_windows_temporary_files_of_gone_writers_are_removed(
    tmp_path, windows_processes
):
    from sertl_speech._cache import remove_stale_temporaries, temporary_name

    _, host, _, rest = temporary_name(".tmp-", ".npy").split("-", 3)
    windows_processes[2004] = (True, 1)
    gone, live = f".tmp-{host}-2000-{rest}", f".tmp-{host}-2004-{rest}"
    for name in (gone, live):
        (tmp_path / name).write_bytes(b"")
    assert remove_stale_temporaries(tmp_path, ".tmp-", [".npy"]) == [tmp_path / gone]
    assert (tmp_path / live).exists()


@pytest.mark.skipif(os.name != "nt", reason="the Windows API (kernel32)")
def test_windows_api_tells_a_running_process_from_a_gone_one():
    from sertl_speech._cache import _windows_process

    alive, created = _windows_process(os.getpid())
    assert alive is True and isinstance(created, int) and created > 0
    assert _windows_process(_dead_pid()) == (False, None)


def _replace_refused(monkeypatch, times):
    """Make ``os.replace`` refuse the first ``times`` calls, as Windows does.

    Windows raises PermissionError (WinError 5) while another process holds
    the target open. Returns the list of the calls made.
    """
    real, calls = os.replace, []

    def replace(src, dst, **kw):
        calls.append(dst)
        if len(calls) <= times:
            raise PermissionError(13, "Access is denied", str(dst))
        return real(src, dst, **kw)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_windows_cache_entry_held_open_by_another_reader_is_replaced(
    tmp_path, windows_processes, monkeypatch
):
    # on Windows a cache entry read by another process at that moment (or
    # opened by a virus scanner) cannot be replaced: the put failed with
    # PermissionError, and transform stopped caching for the rest of the call
    # with a warning to free space or pick a writable folder
    from sertl_speech._cache import FeatureCache

    cache = FeatureCache(tmp_path / "cache", {"feature_set": "demo"})
    calls = _replace_refused(monkeypatch, 2)
    cache.put("ab" * 16, np.arange(3.0))
    assert len(calls) == 3
    np.testing.assert_array_equal(cache.get("ab" * 16), np.arange(3.0))
    assert not list(cache.folder.rglob(".tmp-*"))


def test_windows_file_held_open_for_good_fails_saying_so(
    tmp_path, windows_processes, monkeypatch
):
    from sertl_speech import _cache

    monkeypatch.setattr(_cache, "_REPLACE_PATIENCE_S", 0.05, raising=False)
    cache = _cache.FeatureCache(tmp_path / "cache", {"feature_set": "demo"})
    _replace_refused(monkeypatch, 10**6)
    with pytest.raises(PermissionError, match="another program holds open") as err:
        cache.put("ab" * 16, np.arange(3.0))
    assert err.value.filename == str(cache.folder / "ab" / f"{'ab' * 16}.npy")
    assert not list(cache.folder.rglob(".tmp-*"))  # the new file is removed


def _new_and_old(monkeypatch, tmp_path, name, patience_s):
    """A new file to replace ``name`` with, both written, and the wait set."""
    from sertl_speech import _cache

    monkeypatch.setattr(_cache, "_REPLACE_PATIENCE_S", patience_s, raising=False)
    old = tmp_path / name
    new = old.with_name("new" + old.suffix)
    new.write_bytes(b"new")
    old.write_bytes(b"old")
    return new, old


def test_windows_read_only_target_fails_at_once_saying_so(
    tmp_path, windows_processes, monkeypatch
):
    # a model or cache file with the read-only attribute: Windows refuses the
    # replace as for a file held open; it waited two seconds and then said
    # "another program holds open", whatever held it
    from sertl_speech import _cache

    new, old = _new_and_old(monkeypatch, tmp_path, "model.skops", patience_s=0.5)
    old.chmod(0o444)  # on Windows: the read-only attribute
    calls = _replace_refused(monkeypatch, 10**6)
    with pytest.raises(PermissionError, match="the file is read-only") as err:
        _cache.replace_file(new, old)
    assert len(calls) == 1  # no waiting: it stays read-only
    assert f'attrib -r "{old}"' in str(err.value)
    assert err.value.filename == str(old)
    assert old.read_bytes() == b"old"


def test_windows_refusal_of_a_writable_file_names_both_causes(
    tmp_path, windows_processes, monkeypatch
):
    # not read-only: held open by another program, or the folder's
    # permissions (which cannot be told apart cheaply): the message says both
    from sertl_speech import _cache

    new, old = _new_and_old(monkeypatch, tmp_path, "entry.npy", patience_s=0.05)
    calls = _replace_refused(monkeypatch, 10**6)
    with pytest.raises(PermissionError, match="another program holds open") as err:
        _cache.replace_file(new, old)
    assert len(calls) > 1  # waited for the other program
    assert f"your permissions on {tmp_path} do not let you" in str(err.value)


def test_a_refused_replace_on_posix_is_not_tried_again(tmp_path, monkeypatch):
    # POSIX replaces an open file: a PermissionError there is the folder's
    # permissions, which waiting does not change
    from sertl_speech._cache import FeatureCache

    cache = FeatureCache(tmp_path / "cache", {"feature_set": "demo"})
    calls = _replace_refused(monkeypatch, 1)
    with pytest.raises(PermissionError, match="Access is denied"):
        cache.put("ab" * 16, np.arange(3.0))
    assert len(calls) == 1
