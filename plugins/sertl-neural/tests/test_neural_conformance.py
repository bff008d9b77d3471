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


@parametrize_with_checks(
    [
        FineTuneClassifier(**_SMALL, finetune_epochs=5),
        MultiTaskClassifier(**_SMALL),
        DANNClassifier(**_SMALL),
        AutoencoderAdapter(
            hidden_layer_sizes=(8,), n_components=4, max_epochs=3, random_state=0
        ),
    ],
    expected_failed_checks=lambda est: (
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
    ),
)
def test_neural_conformance(estimator, check):
    check(estimator)
