import numpy as np
from sertl_experiments import SourceStandardScaler

from sertl_core.testing import parametrize_with_checks


@parametrize_with_checks([SourceStandardScaler()])
def test_conformance(estimator, check):
    check(estimator)


def test_target_rows_do_not_leak_into_the_statistics():
    X = np.array([[0.0], [2.0], [100.0], [300.0]])
    sc = SourceStandardScaler().fit(X, sample_domain=[1, 1, -1, -1])
    assert sc.mean_.tolist() == [1.0]
    assert sc.transform([[1.0]]).tolist() == [[0.0]]
