"""A frozen transfer estimator warns of lost domains only when it predicts by them.

scikit-learn's ``FrozenEstimator`` does not pass a Pipeline's
``sample_domain`` on to the fitted estimator it holds (see
``test_frozen_transfer_estimator_or_pipeline_that_misses_the_domains_is_warned_about``
in ``test_core_composition.py``). The warning said so for every transfer
estimator, also for those whose prediction ignores the domains (SourceOnly,
KMM, KLIEP ...), which lose nothing: each first-party class now declares
what its prediction does with them (``_predict_uses_domain``).
"""

import warnings

import numpy as np
import pytest
import sklearn
from sertl_experiments import TransferVote
from sertl_instance import KLIEP, KMM
from sertl_neural import DANNClassifier, FineTuneClassifier, MultiTaskClassifier
from sertl_relational import LabelRelationTransfer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sertl_core import DomainStandardScaler, SertlWarning, SourceOnly
from sertl_core.testing import check_predict_follows_sample_domain, make_domain_data

_LOST = "did not reach the frozen"


def _fast(est):
    """``est`` with few epochs, where it trains a network."""
    if "max_epochs" in est.get_params():
        est.set_params(max_epochs=3)
    return est


# each first-party transfer estimator, and whether its prediction uses the
# rows' sample_domain (read from its predict path, see each class)
CASES = [
    (SourceOnly(LogisticRegression()), False),
    (KMM(LogisticRegression()), False),
    (KLIEP(LogisticRegression(), random_state=0), False),
    (LabelRelationTransfer(LogisticRegression()), False),
    (_fast(DANNClassifier(random_state=0)), False),
    (_fast(FineTuneClassifier(random_state=0)), False),
    (_fast(MultiTaskClassifier(random_state=0)), False),
    # standardize="domain" scales each row with its own domain's statistics
    (_fast(DANNClassifier(standardize="domain", random_state=0)), True),
    # a vote uses the domains when one of its members does
    (TransferVote(LogisticRegression(), methods=["tca", "kmm"]), False),
    (TransferVote(LogisticRegression(), methods=["tca", "coral"]), True),
]
IDS = [
    "source_only",
    "kmm",
    "kliep",
    "label_relation",
    "dann",
    "finetune",
    "multitask",
    "dann_standardize_domain",
    "vote_tca_kmm",
    "vote_tca_coral",
]


@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
@pytest.mark.parametrize(("est", "uses"), CASES, ids=IDS)
def test_frozen_transfer_estimator_warns_only_when_its_prediction_uses_the_domains(
    est, uses
):
    X, y, sd, _ = make_domain_data(n_per_domain=60, n_sources=1)
    adapt = DomainStandardScaler().fit(X, y, sample_domain=sd)
    Z = adapt.transform(X, sample_domain=sd)
    model = est.fit(Z, y, sample_domain=sd)
    assert model._uses_domain_in_predict() is uses
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("adapt", adapt), ("clf", FrozenEstimator(model))])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SertlWarning)
            got = pipe.predict(X, sample_domain=sd)
    lost = [
        str(w.message)
        for w in caught
        if issubclass(w.category, SertlWarning) and _LOST in str(w.message)
    ]
    if uses:
        (message,) = lost
        assert f"did not reach the frozen {type(est).__name__}: " in message
        assert "predicted every row as target data" in message
    else:
        # a false alarm before: the prediction is the one with the domains
        assert lost == []
        np.testing.assert_array_equal(got, model.predict(Z, sample_domain=sd))


@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
@pytest.mark.parametrize(
    "est",
    [est for est, uses in CASES if not uses],
    ids=[i for i, (_, u) in zip(IDS, CASES, strict=True) if not u],
)
def test_a_declaration_that_the_prediction_ignores_the_domains_is_true(est):
    # the kit's check passes on every first-party class declaring False
    check_predict_follows_sample_domain(est)
