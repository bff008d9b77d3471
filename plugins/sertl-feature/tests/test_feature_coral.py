"""CORAL: exact covariance matching, several domains, conventions."""

import numpy as np
import pytest
from sertl_feature import CORAL
from sklearn.covariance import ledoit_wolf

from sertl_core import DomainError


def _domains(seed=0, n=300, d=5, n_sources=1):
    rng = np.random.default_rng(seed)
    blocks, ids = [], []
    for k in range(n_sources):
        mix = rng.normal(size=(d, d))
        blocks.append(rng.normal(size=(n, d)) @ mix + rng.normal(size=d))
        ids.append(np.full(n, k + 1))
    mix = rng.normal(size=(d, d)) * 2.0
    blocks.append(rng.normal(size=(n, d)) @ mix - 3.0)
    ids.append(np.full(n, -1))
    return np.vstack(blocks), np.concatenate(ids)


@pytest.mark.parametrize("reg", [1.0, 0.1, 1e-6])
def test_coral_source_covariance_equals_regularised_target(reg):
    X, sd = _domains()
    coral = CORAL(reg=reg).fit(X, sample_domain=sd)
    Xs, Xt = X[sd > 0], X[sd < 0]
    d = X.shape[1]
    Cs = np.cov(Xs, rowvar=False) + reg * np.eye(d)  # independent estimate
    Ct = np.cov(Xt, rowvar=False) + reg * np.eye(d)
    A = coral.transforms_[0]
    np.testing.assert_allclose(A.T @ Cs @ A, Ct, rtol=0, atol=1e-8)
    # Same identity read on the transformed rows: cov(Xs A) + reg A^T A = Ct.
    Zs = coral.transform(Xs, sample_domain=sd[sd > 0])
    np.testing.assert_allclose(
        np.cov(Zs, rowvar=False) + reg * A.T @ A, Ct, rtol=0, atol=1e-8
    )
    # Means matched too (center=True).
    np.testing.assert_allclose(Zs.mean(axis=0), Xt.mean(axis=0), atol=1e-10)


def test_coral_auto_reg_matches_ledoit_wolf_target():
    X, sd = _domains(seed=1)
    coral = CORAL(reg="auto").fit(X, sample_domain=sd)
    Cs, _ = ledoit_wolf(X[sd > 0])
    Ct, _ = ledoit_wolf(X[sd < 0])
    A = coral.transforms_[0]
    np.testing.assert_allclose(A.T @ Cs @ A, Ct, rtol=0, atol=1e-8)


def test_coral_several_source_domains_each_aligned_target_unchanged():
    X, sd = _domains(seed=2, n_sources=3)
    reg = 0.5
    coral = CORAL(reg=reg).fit(X, sample_domain=sd)
    Z = coral.fit_transform(X, sample_domain=sd)
    d = X.shape[1]
    Ct = np.cov(X[sd < 0], rowvar=False) + reg * np.eye(d)
    assert coral.source_domains_.tolist() == [1, 2, 3]
    for i, dom in enumerate(coral.source_domains_):
        Cs = np.cov(X[sd == dom], rowvar=False) + reg * np.eye(d)
        A = coral.transforms_[i]
        np.testing.assert_allclose(A.T @ Cs @ A, Ct, atol=1e-8)
        np.testing.assert_allclose(
            np.cov(Z[sd == dom], rowvar=False) + reg * A.T @ A, Ct, atol=1e-8
        )
    np.testing.assert_array_equal(Z[sd < 0], X[sd < 0])
    # Without sample_domain rows are target data: unchanged.
    np.testing.assert_array_equal(coral.transform(X[:5]), X[:5])


def test_coral_center_false_is_the_paper_map():
    X, sd = _domains(seed=3)
    coral = CORAL(center=False).fit(X, sample_domain=sd)
    Xs = X[sd > 0]
    np.testing.assert_allclose(
        coral.transform(Xs, sample_domain=np.ones(len(Xs), int)),
        Xs @ coral.transforms_[0],
    )


def test_coral_singular_covariance_without_reg_is_finite():
    rng = np.random.default_rng(4)
    Xs = rng.normal(size=(3, 6))  # fewer rows than features: singular
    Xt = rng.normal(size=(50, 6))
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(3, int), -np.ones(50, int)]
    Z = CORAL(reg=0.0).fit_transform(X, sample_domain=sd)
    assert np.all(np.isfinite(Z))


def test_coral_unknown_source_domain_is_an_error():
    X, sd = _domains()
    coral = CORAL().fit(X, sample_domain=sd)
    with pytest.raises(DomainError, match=r"source domain id\(s\) \[7\]"):
        coral.transform(X[:2], sample_domain=[7, -1])


def test_coral_bad_reg_is_an_error():
    X, sd = _domains()
    with pytest.raises(ValueError, match="'reg' parameter"):
        CORAL(reg=-1.0).fit(X, sample_domain=sd)


def test_coral_does_not_mutate_input():
    X, sd = _domains()
    X0 = X.copy()
    CORAL().fit_transform(X, sample_domain=sd)
    np.testing.assert_array_equal(X, X0)


def test_coral_without_reg_drops_the_directions_a_source_lacks():
    # a feature constant in the source: its null direction is dropped by the
    # (pseudo-inverse) whitening, not amplified by 1 / sqrt(1e-12)
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(50, 4))
    Xs[:, 0] = 0.1
    Xt = rng.normal(size=(50, 4)) * 2 + 1
    sd = np.r_[np.ones(50, int), -np.ones(50, int)]
    coral = CORAL(reg=0).fit(np.vstack([Xs, Xt]), sample_domain=sd)
    new = rng.normal(size=(5, 4))
    new[:, 0] = 0.101  # held-out source rows, a hair off the constant
    Z = coral.transform(new, sample_domain=np.ones(5, int))
    assert np.abs(Z).max() < 20  # the target's scale (std 2, mean 1)
    # where the source has variance, the map still matches the covariances
    Zs = coral.transform(Xs, sample_domain=np.ones(50, int))
    assert np.abs(Zs).max() < 20


def test_coral_refuses_a_domain_of_one_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(51, 4)) * 1e6
    for reg in (0.0, "auto", 1.0):
        with pytest.raises(ValueError, match="the target domain has n_samples = 1"):
            CORAL(reg=reg).fit(X, sample_domain=np.r_[np.ones(50, int), -1])
    sd = np.r_[1, np.full(25, 2), -np.ones(25, int)]
    with pytest.raises(ValueError, match="the source 1 domain has n_samples = 1"):
        CORAL().fit(X, sample_domain=sd)
