"""sertl_core.testing conformance of KMM and KLIEP."""

import pytest
from sertl_instance import KLIEP, KMM
from sklearn.linear_model import LogisticRegression

from sertl_core.testing import parametrize_with_checks

# sertl_core.testing's check_classifier_labels fits source rows only without
# sample_domain, so the core's NoTargetWarning fallback fires while that check
# turns sertl warnings into errors; every transfer estimator that needs target
# rows fails it. Reported to the core; remove once the kit silences it.
_KIT_BUG = {
    "check_classifier_labels": (
        "kit issue: fits without target rows while NoTargetWarning is an error"
    )
}


@parametrize_with_checks(
    [
        KMM(LogisticRegression(max_iter=200), random_state=0),
        KLIEP(LogisticRegression(max_iter=200), random_state=0),
    ],
    expected_failed_checks=_KIT_BUG,
)
def test_instance_conformance(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [KMM(LogisticRegression(max_iter=200), solver="apg", random_state=0)],
    expected_failed_checks=_KIT_BUG,
)
def test_instance_conformance_apg(estimator, check):
    check(estimator)
