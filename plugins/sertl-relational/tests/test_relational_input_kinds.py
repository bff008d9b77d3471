"""The public functions take the label arrays users have and leave them unchanged.

Labels are given read-only (a memory map), as non-contiguous read-only
views, as pandas Series with a shuffled index and as lists: the result must
be that of plain arrays. The estimators are checked by the conformance kit.
"""

import inspect

import numpy as np
import sertl_relational

from sertl_core.testing import check_function_input_kinds, parametrize_with_input_kinds

EMOTIONS = np.array(["anger", "sadness", "neutral", "happiness", "fear"] * 4)

CASES = {
    "emotion_coordinates": (sertl_relational.emotion_coordinates, {"labels": EMOTIONS}),
    "emotion_coordinates/object": (
        sertl_relational.emotion_coordinates,
        {"labels": EMOTIONS.astype(object)},
    ),
}

# public names that take no arrays (canonical_emotion maps one label; RKDLoss
# is a torch module, tested in test_relational_rkd)
NO_ARRAYS = {"canonical_emotion"}


def test_every_public_function_is_covered():
    names = {
        n
        for n in sertl_relational.__all__
        if inspect.isfunction(getattr(sertl_relational, n))
    }
    covered = {case.split("/")[0] for case in CASES} | NO_ARRAYS
    assert names - covered == set(), "add these to CASES"


@parametrize_with_input_kinds(CASES)
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    func, inputs, kind, tmp_path
):
    check_function_input_kinds(func, inputs, tmp_path=tmp_path, kinds=[kind])
