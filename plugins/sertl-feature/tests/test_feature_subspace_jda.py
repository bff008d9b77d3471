"""SubspaceAlignment and JDA: definitions, conventions, errors."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sertl_feature import JDA, SubspaceAlignment
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from sertl_core import DomainError


def _two_domains(seed=0, n=120, d=6):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    Xt = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 2.0
    return np.vstack([Xs, Xt]), np.r_[np.ones(n, int), -np.ones(n, int)]


def test_subspace_alignment_definition():
    X, sd = _two_domains()
    m = 3
    sa = SubspaceAlignment(n_components=m).fit(X, sample_domain=sd)
    Xs, Xt = X[sd > 0], X[sd < 0]
    Ps, Pt = sa.source_components_[0], sa.target_components_
    # Bases are the PCA subspaces of each domain, orthonormal.
    assert np.max(subspace_angles(Ps, PCA(m).fit(Xs).components_.T)) < 1e-8
    assert np.max(subspace_angles(Pt, PCA(m).fit(Xt).components_.T)) < 1e-8
    np.testing.assert_allclose(Pt.T @ Pt, np.eye(m), atol=1e-12)
    np.testing.assert_allclose(sa.alignments_[0], Ps.T @ Pt, atol=1e-12)
    Z = sa.fit_transform(X, sample_domain=sd)
    np.testing.assert_allclose(Z[sd > 0], (Xs - Xs.mean(0)) @ Ps @ Ps.T @ Pt)
    np.testing.assert_allclose(Z[sd < 0], (Xt - Xt.mean(0)) @ Pt)
    # Omitted sample_domain: target mapping.
    np.testing.assert_allclose(sa.transform(Xs), (Xs - Xt.mean(0)) @ Pt)


def test_subspace_alignment_several_sources():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 4))
    sd = np.repeat([1, 2, -1], 30)
    sa = SubspaceAlignment(n_components=2).fit(X, sample_domain=sd)
    assert sa.alignments_.shape == (2, 2, 2)
    with pytest.raises(DomainError, match=r"source domain id\(s\) \[3\]"):
        sa.transform(X[:1], sample_domain=[3])


def test_subspace_alignment_too_many_components():
    X, sd = _two_domains(d=6)
    with pytest.raises(ValueError, match="n_components=7 is larger than possible"):
        SubspaceAlignment(n_components=7).fit(X, sample_domain=sd)


def _bound_by_hand(blocks, gamma, delta):
    """Largest d passing Fernando et al.'s eigengap condition, written out."""
    lams = []
    for B_ in blocks:
        C = np.cov(B_.T, bias=True)
        lams.append(np.sort(np.linalg.eigvalsh(C))[::-1])
    lam = np.minimum(*lams)
    n = min(len(b) for b in blocks)
    B = max(((b - b.mean(0)) ** 2).sum(1).max() for b in blocks)
    best = 1
    for d in range(1, len(lam)):
        rhs = (1 + np.sqrt(np.log(2 / delta) / 2)) * 16 * d**1.5 * B
        if lam[d - 1] - lam[d] >= rhs / (gamma * np.sqrt(n)):
            best = d
    return best


@pytest.mark.parametrize("gamma", [1e2, 1e4, 1e6])
def test_subspace_alignment_bound_dimension(gamma):
    rng = np.random.default_rng(3)
    scales = np.array([6.0, 5.0, 4.0, 1.0, 0.5, 0.3, 0.2, 0.1])
    Xs = rng.normal(size=(300, 8)) * scales
    Xt = rng.normal(size=(200, 8)) * scales[::-1] + 1.0
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(300, int), -np.ones(200, int)]
    sa = SubspaceAlignment(gamma=gamma).fit(X, sample_domain=sd)
    assert sa.n_components_ == _bound_by_hand([Xs, Xt], gamma, 0.1)
    # Scale-free: rescaling every feature by the same factor keeps d.
    sa2 = SubspaceAlignment(gamma=gamma).fit(1e3 * X, sample_domain=sd)
    assert sa2.n_components_ == sa.n_components_


def test_subspace_alignment_bound_grows_with_tolerance():
    X, sd = _two_domains(n=400, d=6)
    dims = [
        SubspaceAlignment(gamma=g).fit(X, sample_domain=sd).n_components_
        for g in (1.0, 1e3, 1e9)
    ]
    assert dims[0] == 1  # the bound is vacuous at a tight tolerance
    assert dims == sorted(dims)
    assert dims[-1] > 1


def test_subspace_alignment_variance_fraction():
    rng = np.random.default_rng(4)
    Xs = rng.normal(size=(200, 5)) * [10.0, 1.0, 1.0, 0.1, 0.1]
    Xt = rng.normal(size=(200, 5)) * [10.0, 10.0, 1.0, 0.1, 0.1]
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(200, int), -np.ones(200, int)]
    # 90 %: one axis suffices for the source, the target needs two: max = 2.
    sa = SubspaceAlignment(n_components=0.9).fit(X, sample_domain=sd)
    assert sa.n_components_ == 2
    assert sa.transform(X).shape == (400, 2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_components": 1.5}, "'n_components' parameter"),
        ({"n_components": "mle"}, "'n_components' parameter"),
        ({"gamma": 0.0}, "'gamma' parameter"),
        ({"delta": 1.0}, "'delta' parameter"),
    ],
)
def test_subspace_alignment_bad_params(params, match):
    X, sd = _two_domains()
    with pytest.raises(ValueError, match=match):
        SubspaceAlignment(**params).fit(X, sample_domain=sd)


def _class_shift(seed=0, n=60):
    """Two classes; the target moves the classes apart differently."""
    rng = np.random.default_rng(seed)
    c = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    ys = np.repeat([0, 1], n)
    Xs = c[ys] + rng.normal(scale=0.7, size=(2 * n, 3))
    yt = np.repeat([0, 1], n)
    Xt = c[yt] @ np.diag([1.0, 1.0, 1.0]) + [0.0, 2.5, 1.0]
    Xt = Xt + rng.normal(scale=0.7, size=(2 * n, 3))
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(2 * n, int), -np.ones(2 * n, int)]
    y = np.r_[ys, -np.ones(2 * n, int)]
    return X, y, sd, yt


def test_jda_pseudo_labels_and_target_accuracy():
    X, y, sd, yt = _class_shift()
    jda = JDA(n_components=2, max_iter=10, kernel="linear").fit(X, y, sample_domain=sd)
    assert 1 <= jda.n_iter_ <= 10
    assert jda.pseudo_labels_.shape == yt.shape
    assert set(jda.classes_.tolist()) == {0, 1}
    Z = jda.transform(X)
    clf = KNeighborsClassifier(1).fit(Z[sd > 0], y[sd > 0])
    acc = (clf.predict(Z[sd < 0]) == yt).mean()
    assert acc > 0.9
    # The final pseudo-labels agree with the truth on this easy shift.
    assert (jda.pseudo_labels_ == yt).mean() > 0.9


def test_jda_first_round_is_tca():
    from sertl_feature import TCA

    X, y, sd, _ = _class_shift(seed=1)
    kw = {"n_components": 2, "kernel": "linear", "mu": 1.0}
    jda = JDA(max_iter=1, **kw).fit(X, y, sample_domain=sd)
    tca = TCA(**kw).fit(X, sample_domain=sd)
    assert np.max(subspace_angles(jda.transform(X), tca.transform(X))) < 1e-8


def test_jda_string_labels_few_shot_and_custom_estimator():
    X, y, sd, yt = _class_shift(seed=2)
    names = np.array(["calm", "angry"])
    ys = np.where(y >= 0, names[np.maximum(y, 0)], "-1")
    tgt = np.flatnonzero(sd < 0)
    ys[tgt[:4]] = names[yt[:4]]  # four labelled target rows
    jda = JDA(LogisticRegression(), n_components=2, solver="exact", kernel="rbf")
    jda.fit(X, ys, sample_domain=sd)
    assert set(jda.classes_.tolist()) == {"angry", "calm"}
    np.testing.assert_array_equal(jda.pseudo_labels_[:4], names[yt[:4]])
    assert set(jda.pseudo_labels_.tolist()) <= {"angry", "calm"}


def test_jda_requires_labels():
    X, y, sd, _ = _class_shift()
    with pytest.raises(ValueError, match="requires y to be passed"):
        JDA().fit(X, sample_domain=sd)


def test_jda_estimator_must_predict_the_classes():
    # a regressor's continuous predictions match no class: JDA used to go on
    # silently without class-conditional terms and cast them into
    # pseudo_labels_
    from sklearn.linear_model import LinearRegression

    X, y, sd, _ = _class_shift()
    with pytest.raises(ValueError, match=r"LinearRegression.*classes \[0, 1\]"):
        JDA(LinearRegression(), n_components=2).fit(X, y, sample_domain=sd)


def test_jda_uses_labelled_target_rows_even_when_none_is_unlabelled():
    # few-shot with every target row labelled: no pseudo-labels are needed,
    # but the true target labels still give the class-conditional terms, so
    # JDA is not TCA
    from sertl_feature import TCA

    from sertl_core.testing import make_domain_data

    X, y, sd, y_tgt = make_domain_data(n_per_domain=25, n_features=4, n_sources=1)
    labelled = y.copy()
    labelled[sd < 0] = y_tgt
    kw = {"n_components": 3, "gamma": 0.05, "solver": "exact"}
    jda = JDA(**kw, max_iter=1).fit(X, labelled, sample_domain=sd)
    tca = TCA(**kw).fit(X, labelled, sample_domain=sd)
    assert not np.allclose(jda.eigenvalues_, tca.eigenvalues_)
    # the true labels are its final labels: nothing was pseudo-labelled
    np.testing.assert_array_equal(jda.pseudo_labels_, y_tgt)


def test_subspace_alignment_dimension_capped_by_centred_rank():
    # Two rows per domain span one centred direction: a second axis would be
    # an arbitrary zero-variance eigenvector, so asking for it is an error.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(4, 5))
    sd = [1, 1, -1, -1]
    with pytest.raises(ValueError, match=r"at most 1 \(.*smallest domain - 1=1"):
        SubspaceAlignment(n_components=2).fit(X, sample_domain=sd)
    sa = SubspaceAlignment(n_components=1).fit(X, sample_domain=sd)
    d = X[3] - X[2]
    np.testing.assert_allclose(
        np.abs(sa.target_components_[:, 0]), np.abs(d) / np.linalg.norm(d)
    )
    # One row per domain: no direction at all, whatever the rule.
    for n_components in ("bound", 0.9, 1):
        with pytest.raises(ValueError, match="at least 2 rows in every domain"):
            SubspaceAlignment(n_components=n_components).fit(
                X[1:3], sample_domain=[1, -1]
            )


def test_subspace_alignment_dimension_capped_by_constant_features():
    # Two constant source features leave a centred source of rank 3: a fourth
    # or fifth axis would be an arbitrary direction of the null space, along
    # which a new source row varying in those features would get an
    # arbitrary coordinate; asking for it is an error and the rules stop at 3.
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(40, 5))
    Xs[:, 3], Xs[:, 4] = 1.0, -2.0
    X = np.vstack([Xs, rng.normal(size=(40, 5))])
    sd = np.r_[np.ones(40, int), -np.ones(40, int)]
    for n_components in (4, 5):
        with pytest.raises(
            ValueError, match=r"at most 3 \(the smallest rank of a centred domain"
        ):
            SubspaceAlignment(n_components=n_components).fit(X, sample_domain=sd)
    assert (
        SubspaceAlignment(n_components=0.999999).fit(X, sample_domain=sd).n_components_
        <= 3
    )
    sa = SubspaceAlignment(n_components=3).fit(X, sample_domain=sd)
    # the source axes span the varying features only
    np.testing.assert_allclose(sa.source_components_[0][3:], 0.0, atol=1e-12)
    # 20 features mixed from 20 others leave only rounding noise along 20
    # directions (eigenvalues far above eps**2 of the largest, as in sertl's
    # 316 functionals of rank about 277), which count as no axis either
    base = rng.normal(size=(200, 40))
    mixed = np.hstack([base, base[:, :20] @ rng.normal(size=(20, 20))])
    two = np.r_[np.ones(200, int), -np.ones(200, int)]
    with pytest.raises(ValueError, match=r"at most 40 \(the smallest rank"):
        SubspaceAlignment(n_components=41).fit(
            np.vstack([mixed, rng.normal(size=(200, 60))]), sample_domain=two
        )
    x_new = Xs[:2].copy()
    x_new[:, 3] += 1.0  # moves along a direction the source never varied in
    np.testing.assert_allclose(
        sa.transform(x_new, sample_domain=[1, 1]),
        sa.transform(Xs[:2], sample_domain=[1, 1]),
        atol=1e-12,
    )


def test_jda_refuses_regression_targets_by_name():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    from sertl_core import SourceOnly

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.round(np.tanh(X[:30, 0]) * 2) / 2, np.full(10, np.nan)]
    with pytest.raises(ValueError, match="JDA adapts the rows class by class"):
        make_pipeline(JDA(n_components=2), SourceOnly(Ridge())).fit(X, y)


def test_jda_refuses_sample_weight_and_says_where_the_weights_go():
    # JDA.fit(..., sample_weight=w) failed with Python's bare "unexpected
    # keyword argument", naming neither the reason nor the fix
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    from sertl_core import SourceOnly

    X, y, sd, _ = _class_shift()
    w = np.linspace(0.5, 1.5, len(y))
    jda = JDA(n_components=2)
    assert not has_fit_parameter(jda, "sample_weight")  # sklearn's tools pass none
    match = r"JDA takes no sample_weight.*clf__sample_weight=w"
    with pytest.raises(TypeError, match=match):
        jda.fit(X, y, sample_domain=sd, sample_weight=w)
    pipe = Pipeline([("jda", JDA(n_components=2)), ("clf", SourceOnly())])
    with pytest.raises(TypeError, match=match):
        pipe.fit(X, y, jda__sample_domain=sd, jda__sample_weight=w)
    # the weights train the final estimator, on the embedded rows
    pipe.fit(X, y, jda__sample_domain=sd, clf__sample_domain=sd, clf__sample_weight=w)
    unweighted = Pipeline([("jda", JDA(n_components=2)), ("clf", SourceOnly())]).fit(
        X, y, jda__sample_domain=sd, clf__sample_domain=sd
    )
    coef = pipe.named_steps["clf"].estimator_.coef_
    assert not np.allclose(coef, unweighted.named_steps["clf"].estimator_.coef_)
