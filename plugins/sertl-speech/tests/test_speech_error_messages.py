"""Bad input to sertl-speech gets an error that names it and says the fix."""

import numpy as np
import pytest
from sertl_speech import (
    AudioFeatures,
    get_reader_class,
    pad_sequences,
    shared_classes,
)


def test_pad_sequences_errors_name_the_function_and_the_fix():
    with pytest.raises(
        ValueError, match=r"^pad_sequences: sequences is empty; give at least one"
    ):
        pad_sequences([])
    with pytest.raises(
        ValueError,
        match=r"^pad_sequences: every sequence must be 2-D .*got shapes \[\(3,\)\]\. "
        r".*s\.reshape\(-1, 1\)",
    ):
        pad_sequences([np.ones(3)])
    with pytest.raises(
        ValueError,
        match=r"^pad_sequences: value must be a number or 'floor', got 'silence': "
        r"pad with e\.g\. value=0\.0",
    ):
        pad_sequences([np.ones((2, 3))], value="silence")


def test_audio_features_names_itself_and_the_shape_of_an_array_it_cannot_read():
    with pytest.raises(
        ValueError,
        match=r"^AudioFeatures expects waveforms, got a 3-D array of shape "
        r"\(2, 3, 400\): pass a 2-D array with one mono waveform per row",
    ):
        AudioFeatures().fit_transform(np.zeros((2, 3, 400)))
    with pytest.raises(
        ValueError,
        match=r"^AudioFeatures expects a 1-D array \(or list\) of file paths or "
        r"waveforms, got an array of shape \(1, 1, 1\): pass the paths as one column",
    ):
        AudioFeatures().fit_transform(np.array([[["a.wav"]]]))


def test_a_waveform_of_text_is_reported_with_the_fix():
    step = AudioFeatures("mfcc_stats", sample_rate=8000, min_duration=0)
    with pytest.warns(
        UserWarning,
        match=r"failed: waveform has non-numeric dtype object: give the samples "
        r"as numbers \(floats in \[-1, 1\] or PCM integers\)",
    ):
        step.fit_transform([np.array(["a"] * 1600, dtype=object)])


def test_a_reader_name_of_the_wrong_type_is_shown_with_examples():
    with pytest.raises(
        TypeError,
        match=r"must be a str, such as 'emodb' or 'csv', got int 3; `sertl corpora`",
    ):
        get_reader_class(3)


def test_shared_classes_of_nothing_and_features_of_a_number_say_what_to_pass():
    with pytest.raises(
        ValueError,
        match=r"^shared_classes needs at least one corpus: pass reader names, .*"
        r"e\.g\. shared_classes\('emodb', 'ravdess'\)\.$",
    ):
        shared_classes()
    with pytest.raises(
        TypeError,
        match=r"got int 5, which is not a list: pass e\.g\. \['a\.wav', 'b\.wav'\]",
    ):
        AudioFeatures().fit_transform(5)


def test_a_list_of_numbers_is_not_taken_for_waveforms():
    # list(np.zeros(n)) gave n NaN rows and a "0-D waveform" warning: numpy
    # scalars passed the array-like test meant for Series of samples
    with pytest.raises(TypeError, match=r"^each input must be a file path \(str\)"):
        AudioFeatures().fit_transform(list(np.zeros(2000)))
