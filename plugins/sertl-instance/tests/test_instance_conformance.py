"""sertl_core.testing conformance of KMM and KLIEP."""

import pytest
from sertl_instance import KLIEP, KMM
from sklearn.linear_model import LogisticRegression

from sertl_core.testing import parametrize_with_checks


@parametrize_with_checks(
    [
        KMM(LogisticRegression(max_iter=200), random_state=0),
        KLIEP(LogisticRegression(max_iter=200), random_state=0),
    ]
)
def test_instance_conformance(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [KMM(LogisticRegression(max_iter=200), solver="apg", random_state=0)]
)
def test_instance_conformance_apg(estimator, check):
    check(estimator)
