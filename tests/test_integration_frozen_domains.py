"""A frozen transfer estimator warns of lost domains only when it predicts by them.

scikit-learn's ``FrozenEstimator`` does not pass a Pipeline's
``sample_domain`` on to the fitted estimator it holds (see
``test_frozen_transfer_estimator_or_pipeline_that_misses_the_domains_is_warned_about``
in ``test_core_composition.py``). The warning said so for every transfer
estimator, also for those whose prediction ignores the domains (SourceOnly,
KMM, KLIEP ...), which lose nothing: each first-party class now declares
what its prediction does with them (``_predict_uses_domain``).
"""

import contextlib
import importlib.util
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sertl_core import DomainStandardScaler, SertlWarning, SourceOnly
from sertl_core.testing import check_predict_follows_sample_domain, make_domain_data

_LOST = "did not reach the frozen"


def _require(package):
    """The plugin ``package``; the test is skipped where it is not installed."""
    return pytest.importorskip(package, reason=f"{package} not installed")


def _plugin(package, name):
    """``name`` of the plugin ``package`` (see :func:`_require`)."""
    return getattr(_require(package), name)


def _neural(name, **params):
    """A network of ``sertl_neural`` with few epochs."""
    return lambda: _plugin("sertl_neural", name)(max_epochs=3, random_state=0, **params)


def _vote(*methods):
    def make():
        _require("sertl_feature")  # the members: tca, coral
        _require("sertl_instance")  # kmm
        return _plugin("sertl_experiments", "TransferVote")(
            LogisticRegression(), methods=list(methods)
        )

    return make


# each first-party transfer estimator (made in the test, so that a missing
# plugin skips its cases only), and whether its prediction uses the rows'
# sample_domain (read from its predict path, see each class)
CASES = {
    "source_only": (lambda: SourceOnly(LogisticRegression()), False),
    "kmm": (lambda: _plugin("sertl_instance", "KMM")(LogisticRegression()), False),
    "kliep": (
        lambda: _plugin("sertl_instance", "KLIEP")(
            LogisticRegression(), random_state=0
        ),
        False,
    ),
    "label_relation": (
        lambda: _plugin("sertl_relational", "LabelRelationTransfer")(
            LogisticRegression()
        ),
        False,
    ),
    "dann": (_neural("DANNClassifier"), False),
    "finetune": (_neural("FineTuneClassifier"), False),
    "multitask": (_neural("MultiTaskClassifier"), False),
    # standardize="domain" scales each row with its own domain's statistics
    "dann_standardize_domain": (
        _neural("DANNClassifier", standardize="domain"),
        True,
    ),
    # a vote uses the domains when one of its members does
    "vote_tca_kmm": (_vote("tca", "kmm"), False),
    "vote_tca_coral": (_vote("tca", "coral"), True),
}


@contextlib.contextmanager
def _quiet_kernel_width():
    """Ignore KLIEP's KernelWidthWarning (its grid's edge on this small data)."""
    with warnings.catch_warnings():
        if importlib.util.find_spec("sertl_instance") is not None:
            from sertl_instance import KernelWidthWarning

            warnings.simplefilter("ignore", KernelWidthWarning)
        yield


@pytest.mark.parametrize(("make", "uses"), CASES.values(), ids=CASES)
def test_frozen_transfer_estimator_warns_only_when_its_prediction_uses_the_domains(
    make, uses
):
    est = make()
    X, y, sd, _ = make_domain_data(n_per_domain=60, n_sources=1)
    adapt = DomainStandardScaler().fit(X, y, sample_domain=sd)
    Z = adapt.transform(X, sample_domain=sd)
    with _quiet_kernel_width():
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


_IGNORING = {name: make for name, (make, uses) in CASES.items() if not uses}


@pytest.mark.parametrize("make", _IGNORING.values(), ids=_IGNORING)
def test_a_declaration_that_the_prediction_ignores_the_domains_is_true(make):
    # the kit's check passes on every first-party class declaring False
    est = make()
    with _quiet_kernel_width():
        check_predict_follows_sample_domain(est)
