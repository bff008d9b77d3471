"""sklearn's estimator checks and sertl's transfer checks on every adapter."""

import sklearn
from sertl_feature import CORAL, JDA, TCA, SubspaceAlignment

from sertl_core.testing import parametrize_with_checks

ESTIMATORS = [
    TCA(),
    TCA(kernel="linear"),
    TCA(solver="lowrank", n_landmarks=20),
    CORAL(),
    CORAL(reg=1.0, center=False),
    SubspaceAlignment(),
    JDA(),
    JDA(kernel="linear", max_iter=3),
]


@parametrize_with_checks(ESTIMATORS)
def test_feature_conformance(estimator, check):
    check(estimator)


def test_import_leaves_sklearn_config_unchanged():
    before = sklearn.get_config()
    import importlib

    import sertl_feature

    importlib.reload(sertl_feature)
    assert sklearn.get_config() == before
