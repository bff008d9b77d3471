"""sertl_core.testing conformance (sklearn checks + sertl transfer checks)."""

import pytest
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

from sertl_core.testing import parametrize_with_checks

_SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 15, "lr": 1e-2, "random_state": 0}


@parametrize_with_checks(
    [
        FineTuneClassifier(**_SMALL, finetune_epochs=5),
        FineTuneClassifier(**_SMALL, standardize="domain"),
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
)
# the checks fit FineTuneClassifier(finetune_epochs=5) on rows with unlabelled
# target rows and no labelled ones, where it rightly says that nothing was
# fine-tuned (test_neural_methods tests that warning)
@pytest.mark.filterwarnings("ignore:.*nothing was fine-tuned")
def test_neural_conformance(estimator, check):
    check(estimator)
