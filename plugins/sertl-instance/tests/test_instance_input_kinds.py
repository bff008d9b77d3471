"""The public functions take the inputs users have and leave them unchanged.

Source and target rows and weights are given read-only (a memory map, as
joblib's workers get them), as non-contiguous read-only views, as pandas
objects and as lists: the result must be that of plain arrays. KMM and
KLIEP are checked by the conformance kit.
"""

import inspect

import numpy as np
import pytest
import sertl_instance

from sertl_core.testing import (
    check_function_input_kinds,
    make_domain_data,
    parametrize_with_input_kinds,
)

X, _, SD, _ = make_domain_data(n_per_domain=20, n_features=4)
XS, XT = X[SD > 0], X[SD < 0]

CASES = {
    "kmm_weights": (
        lambda a, b: sertl_instance.kmm_weights(a, b, random_state=0),
        {"a": XS, "b": XT},
    ),
    "kliep_weights": (
        lambda a, b: sertl_instance.kliep_weights(
            a, b, n_centers=20, cv=2, random_state=0
        ),
        {"a": XS, "b": XT},
    ),
    "weight_diagnostics": (
        sertl_instance.weight_diagnostics,
        {"w": np.random.default_rng(0).uniform(0.1, 3.0, 40)},
    ),
}


def test_every_public_function_is_covered():
    names = {
        n
        for n in sertl_instance.__all__
        if inspect.isfunction(getattr(sertl_instance, n))
    }
    assert "kmm_weights" in names
    assert names - set(CASES) == set(), "add these to CASES"


@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
@parametrize_with_input_kinds(CASES)
def test_inputs_of_any_kind_give_the_same_result_and_stay_unchanged(
    func, inputs, kind, tmp_path
):
    # the solvers stop at a tolerance: another memory layout (a DataFrame's
    # columns) takes other rounding on the way
    check_function_input_kinds(
        func, inputs, tmp_path=tmp_path, kinds=[kind], rtol=1e-6, atol=1e-12
    )
