"""scikit-learn / sertl conformance of AudioFeatures in its waveform mode.

The checks feed 2-D numeric arrays; AudioFeatures reads each row as one
waveform. ``sample_rate=100``, ``min_duration=0`` and ``silence_threshold=0``
make the checks' short rows (a few to a few hundred values, some all zero)
valid signals, and ``errors="raise"`` turns invalid rows (NaN, inf) into the
ValueError the checks expect. File-path input is covered by the other tests.
"""

import numpy as np
import pytest
from sertl_speech import AudioFeatures

from sertl_core.testing import parametrize_with_checks

_LENGTH_FREE = (
    "inputs are signals of any length (files, or one waveform per row): the "
    "number of samples is not a fixed feature count, so there is no "
    "n_features_in_ to record or enforce"
)

EXPECTED_FAILED = {
    "check_n_features_in": _LENGTH_FREE,
    "check_n_features_in_after_fitting": _LENGTH_FREE,
    "check_estimators_dtypes": (
        "int64 rows are refused (no PCM format is 64-bit, and scaled by 2**63 "
        "speech read as silence); the check's float32, float64 and int32 rows "
        "are covered by test_waveform_rows_of_every_pcm_and_float_dtype"
    ),
    "check_dict_unchanged": (
        "transform records the per-input failure report of its last call in "
        "failed_ and n_cache_hits_ (issue 3 asks for a per-file report); "
        "nothing that changes later outputs is modified"
    ),
}


@parametrize_with_checks(
    [
        AudioFeatures(
            sample_rate=100, min_duration=0, silence_threshold=0, errors="raise"
        ),
        AudioFeatures(
            "mfcc_stats",
            sample_rate=100,
            min_duration=0,
            silence_threshold=0,
            errors="raise",
        ),
    ],
    expected_failed_checks=EXPECTED_FAILED,
)
def test_conformance(estimator, check):
    check(estimator)


@pytest.mark.parametrize("feature_set", ["functionals", "mfcc_stats"])
def test_waveform_rows_of_every_pcm_and_float_dtype(feature_set):
    # what check_estimators_dtypes fits and transforms, but for its int64 rows
    rng = np.random.RandomState(0)
    rows = 3 * rng.uniform(size=(20, 5)).astype(np.float32)
    ext = AudioFeatures(
        feature_set, sample_rate=100, min_duration=0, silence_threshold=0
    )
    for dtype in (np.float32, np.float64, np.int32, np.int16):
        X = ext.fit(rows.astype(dtype)).transform(rows.astype(dtype))
        assert X.shape == (20, len(ext.get_feature_names_out()))
    with pytest.raises(ValueError, match="int64 samples, which no PCM format uses"):
        AudioFeatures(
            feature_set, sample_rate=100, min_duration=0, errors="raise"
        ).fit_transform(rows.astype(np.int64))
