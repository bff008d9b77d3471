"""sertl_core.testing conformance (sklearn checks + sertl transfer checks)."""

import pytest
import torch
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

from sertl_core.testing import parametrize_with_checks

_SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 15, "lr": 1e-2, "random_state": 0}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny networks: threads only add contention on shared CI machines.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


_WHY = (
    "reconstruct='source' maps source rows (reconstructed) and target rows "
    "(unchanged) differently by design (Deng et al. 2013): fit_transform "
    "transforms the training rows with their fit domains, labelled rows being "
    "source there, while transform() without sample_domain treats rows as target"
)
_SOURCE_ONLY_MAP = {
    "check_transformer_general": _WHY,
    "check_transformer_data_not_an_array": _WHY,
}


@parametrize_with_checks(
    [
        FineTuneClassifier(**_SMALL, finetune_epochs=5),
        MultiTaskClassifier(**_SMALL),
        DANNClassifier(**_SMALL),
        AutoencoderAdapter(
            hidden_layer_sizes=(8,), n_components=4, max_epochs=3, random_state=0
        ),
        MultiTaskClassifier(**_SMALL, task_weighting="uncertainty"),
        AutoencoderAdapter(
            hidden_layer_sizes=(8,),
            n_components=4,
            max_epochs=3,
            output="reconstruction",
            reconstruct="source",
            random_state=0,
        ),
    ],
    expected_failed_checks=lambda est: (
        _SOURCE_ONLY_MAP.copy()
        if getattr(est, "reconstruct", "all") == "source"
        else (
            {
                "check_classifier_labels": (
                    "the kit fits labelled source rows only, without sample_domain, so "
                    "the core's NoTargetWarning fires for methods with _needs_target=True "
                    "and the kit runs its own checks with warnings as errors (core fix "
                    "requested: quiet NoTargetWarning there or pass a target domain)"
                )
            }
            if getattr(type(est), "_needs_target", False) and hasattr(est, "predict")
            else {}
        )
    ),
)
def test_neural_conformance(estimator, check):
    check(estimator)
