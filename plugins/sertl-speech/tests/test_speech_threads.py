"""One fitted AudioFeatures shared by several threads (a service, a pool)."""

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from sertl_speech import AudioFeatures, FeatureExtractionError
from sertl_speech._cache import FeatureCache

_T = np.arange(16000) / 16000


def _waves(n_good, n_short, f0=120.0):
    """``n_good`` one-second tones, then ``n_short`` inputs too short to use."""
    good = [0.1 * np.sin(2 * np.pi * (f0 + 10 * i) * _T) for i in range(n_good)]
    return good + [np.full(400, 0.1) for _ in range(n_short)]


def test_transform_with_report_returns_the_calls_own_reports():
    feats = AudioFeatures("mfcc_stats", errors="nan").fit(_waves(1, 0))
    X, report = feats.transform_with_report(_waves(2, 1))
    expected = AudioFeatures("mfcc_stats", errors="nan").fit_transform(_waves(2, 1))
    np.testing.assert_array_equal(X, expected)
    assert report["failed"]["index"].tolist() == [2]
    assert report["failed"]["reason"].tolist() == ["too_short"]
    assert report["notes"].empty and report["n_cache_hits"] == 0
    # it writes no report attribute: another thread's would be overwritten
    assert not any(hasattr(feats, a) for a in ("failed_", "notes_", "n_cache_hits_"))


@pytest.mark.parametrize("errors", ["warn", "raise"])
def test_transform_with_report_can_leave_the_reporting_to_its_caller(errors):
    # sertl-experiments' predict_files reports each file's failure and notes
    # itself: it called AudioFeatures' private _extract_reported for that,
    # which the public method now offers (warn=False: no warning, no raise)
    feats = AudioFeatures("mfcc_stats", errors=errors).fit(_waves(1, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, report = feats.transform_with_report(_waves(2, 1), warn=False)
    assert np.isnan(X[2]).all() and not np.isnan(X[:2]).any()
    assert report["failed"]["reason"].tolist() == ["too_short"]
    with pytest.raises(FeatureExtractionError if errors == "raise" else Warning):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            feats.transform_with_report(_waves(2, 1))


def test_transform_with_report_in_threads_gives_each_its_own_failures():
    feats = AudioFeatures("mfcc_stats", errors="nan").fit(_waves(1, 0))
    batches = [_waves(1, k) for k in range(1, 7)]
    serial = [feats.transform_with_report(b) for b in batches]
    start = threading.Barrier(len(batches))
    got = [None] * len(batches)

    def work(i):
        start.wait()
        for _ in range(3):
            got[i] = feats.transform_with_report(batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (X, report), (X1, _), k in zip(got, serial, range(1, 7), strict=True):
        np.testing.assert_array_equal(X, X1)
        assert report["failed"]["index"].tolist() == list(range(1, 1 + k))


class _SwitchingFeatures(AudioFeatures):
    """Runs another thread's call when ``errors`` is read after a report.

    ``errors`` is read right before a call with failures raises: the moment
    at which another thread's call, run to its end, used to replace the
    ``failed_`` table that the raised error then carried.
    """

    @property
    def errors(self):
        if self.switch is not None and hasattr(self, "failed_"):
            switch, self.switch = self.switch, None
            other = threading.Thread(target=switch)
            other.start()
            other.join()
        return self._errors

    @errors.setter
    def errors(self, value):
        self._errors = value

    switch = None


def test_the_raised_error_carries_its_own_calls_failures():
    feats = _SwitchingFeatures("mfcc_stats", errors="raise").fit(_waves(1, 0))
    mine, theirs = _waves(1, 1), _waves(1, 3)
    raised = []

    def other_call():
        with pytest.raises(FeatureExtractionError) as info:
            feats.transform(theirs)
        raised.append(info.value)

    feats.switch = other_call
    with pytest.raises(FeatureExtractionError) as info:
        feats.transform(mine)
    assert feats.switch is None and len(raised) == 1  # the other call ran
    assert raised[0].failed["index"].tolist() == [1, 2, 3]
    assert info.value.failed["index"].tolist() == [1]  # had [1, 2, 3]


def test_another_threads_marker_finished_while_read_is_no_crash(tmp_path, monkeypatch):
    # recover_crashes read a marker of another thread of this process, that
    # thread finished its file (removing the marker) before the check that
    # the marker is this process's, and the healthy file got a crash record:
    # retried alone in a separate process on the next call, and failed for
    # good if that retry went wrong for any reason
    config = {"feature_set": "demo"}
    reading, decoding = FeatureCache(tmp_path, config), FeatureCache(tmp_path, config)
    key = "ab" * 16
    decoding.mark("take.wav", key)
    real = Path.read_text

    def read_while_the_other_thread_finishes(path, *args, **kwargs):
        text = real(path, *args, **kwargs)
        if path == decoding._marker:
            done = threading.Thread(target=decoding.unmark)
            done.start()
            done.join()
        return text

    monkeypatch.setattr(Path, "read_text", read_while_the_other_thread_finishes)
    assert reading.recover_crashes() == []
    assert reading.crash_record(key) is None
    decoding.unmark()
    assert not decoding._marker.exists()
