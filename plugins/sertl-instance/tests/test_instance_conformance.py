"""sertl_core.testing conformance of KMM and KLIEP."""

import pytest
from sertl_instance import KLIEP, KMM
from sklearn.linear_model import LogisticRegression

from sertl_core.testing import parametrize_with_checks


# KLIEP's width cross-validation keeps an edge of its grid on most of the
# checks' small data sets; its KernelWidthWarning is tested on its own
@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")
@parametrize_with_checks(
    [
        KMM(LogisticRegression(max_iter=200), random_state=0),
        # few centres and folds keep the width cross-validation in every
        # check while the suite stays fast
        KLIEP(LogisticRegression(max_iter=200), n_centers=20, cv=2, random_state=0),
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
