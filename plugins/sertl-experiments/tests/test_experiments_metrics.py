import numpy as np
import pytest
from sertl_experiments import bootstrap_ci, mmd_rbf, proxy_a_distance, score_all
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score


def test_scores_match_sklearn():
    rng = np.random.default_rng(0)
    labels = ["anger", "happiness", "neutral", "sadness"]
    y = rng.choice(labels, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.choice(labels, 200))
    s = score_all(y, p, labels)
    assert s["uar"] == pytest.approx(balanced_accuracy_score(y, p))
    assert s["wa"] == pytest.approx(accuracy_score(y, p))
    assert s["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))


def test_bootstrap_interval_brackets_the_estimate_and_shrinks():
    rng = np.random.default_rng(1)
    labels = ["a", "b", "c"]
    small_y = rng.choice(labels, 60)
    small_p = np.where(rng.random(60) < 0.7, small_y, "a")
    big_y = np.tile(small_y, 10)
    big_p = np.tile(small_p, 10)
    lo1, hi1 = bootstrap_ci(small_y, small_p, labels, n_boot=500)["uar"]
    lo2, hi2 = bootstrap_ci(big_y, big_p, labels, n_boot=500)["uar"]
    point = score_all(small_y, small_p, labels)["uar"]
    assert lo1 <= point <= hi1
    assert lo2 <= point <= hi2
    assert (hi2 - lo2) < (hi1 - lo1)
    assert all(
        np.isnan(v) for v in bootstrap_ci(small_y, small_p, labels, n_boot=0)["uar"]
    )


def test_discrepancy_measures_grow_with_shift():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(150, 4)), rng.normal(size=(150, 4))
    assert abs(mmd_rbf(A, B)) < 0.05
    assert mmd_rbf(A, B + 1.0) > 0.1
    assert proxy_a_distance(A, B) < 0.6
    assert proxy_a_distance(A, B + 3.0) > 1.5
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd_rbf(A[:1], B)
