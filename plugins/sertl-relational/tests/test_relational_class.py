import numpy as np
import pytest
from sertl_relational import ClassRelationAligner
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import Pipeline

from sertl_core import DomainError, DomainStandardScaler, SertlWarning, SourceOnly


def _rotation(deg, d):
    t = np.radians(deg)
    R = np.eye(d)
    R[:2, :2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    return R


def _problem(deg=40, d=5, n=40, seed=0, shift=2.0, noise=0.5):
    rng = np.random.default_rng(seed)
    C = np.zeros((4, d))
    C[:, :2] = [[6.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -5.0]]
    Xs = np.vstack([rng.normal(c, noise, (n, d)) for c in C])
    Xt = (
        np.vstack([rng.normal(c, noise, (n, d)) for c in C]) @ _rotation(deg, d) + shift
    )
    y = np.repeat(np.arange(4), n)
    return Xs, y, Xt, y.copy()


def _fit_data(Xs, ys, Xt):
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(Xt), int)]
    sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    return X, y, sd


def test_standardize_takes_the_neural_estimators_spelling_of_per_domain():
    # standardize=True is per domain here but pooled in sertl-neural, where
    # per domain is spelled "domain": that spelling was refused here
    # (InvalidParameterError), so a config could not say the same thing the
    # same way for both plugins
    Xs, ys, Xt, _ = _problem(deg=40)
    X, y, sd = _fit_data(Xs, ys, Xt)
    kw = dict(strength=1.0, random_state=0)
    ref = ClassRelationAligner(standardize=True, **kw).fit(X, y, sample_domain=sd)
    got = ClassRelationAligner(standardize="domain", **kw).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(got.transform(Xt), ref.transform(Xt))
    np.testing.assert_array_equal(got.scale_, ref.scale_)
    with pytest.raises(ValueError, match="standardize"):
        ClassRelationAligner(standardize="pooled").fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("mapping", ["orthogonal", "affine"])
def test_recovers_rotated_class_structure(mapping):
    Xs, ys, Xt, yt = _problem(deg=90)
    X, y, sd = _fit_data(Xs, ys, Xt)
    # strength="auto" draws bootstrap resamples: seeded, so the test does
    # not depend on numpy's global generator (1 state in ~150 failed it)
    aligner = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping=mapping,
        graph_weight=10.0,
        shrinkage=0.0,
        random_state=0,
    )
    aligner.fit(X, y, sample_domain=sd)
    Zt = aligner.transform(Xt)
    for k in range(4):
        err = np.linalg.norm(Zt[yt == k].mean(0) - aligner.source_centroids_[k])
        assert err < 1.0


def test_beats_per_domain_standardisation_on_rotation():
    Xs, ys, Xt, yt = _problem(deg=60)
    X, y, sd = _fit_data(Xs, ys, Xt)
    scores = {}
    for name, adapter in {
        "dss": DomainStandardScaler(),
        "crel": ClassRelationAligner(graph_weight=10.0, shrinkage=0.0, strength=1.0),
    }.items():
        Z = adapter.fit_transform(X, y, sample_domain=sd)
        clf = SourceOnly().fit(Z[sd > 0], y[sd > 0])
        scores[name] = balanced_accuracy_score(yt, clf.predict(adapter.transform(Xt)))
    assert scores["crel"] > scores["dss"] + 0.2
    assert scores["crel"] > 0.95


@pytest.mark.parametrize("mapping", ["orthogonal", "affine", "translation"])
def test_identity_when_domains_agree(mapping):
    Xs, ys, _, _ = _problem(noise=0.1)
    X, y, sd = _fit_data(Xs, ys, Xs)
    # in the LDA subspace the k-means clusters are the classes; in the full
    # standardised space the pure-noise dimensions of this toy problem weigh
    # as much as the informative ones, so clusters need not equal classes
    aligner = ClassRelationAligner(mapping=mapping, subspace="lda", random_state=0).fit(
        X, y, sample_domain=sd
    )
    np.testing.assert_allclose(
        aligner.transform(Xs),
        aligner.transform(Xs, sample_domain=np.ones(len(Xs), int)),
        atol=1e-6,
    )


def test_matching_uses_relation_graph():
    Xs, ys, Xt, _ = _problem(deg=180)
    X, y, sd = _fit_data(Xs, ys, Xt)
    no_graph = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping="orthogonal",
        graph_weight=0.0,
        shrinkage=0.0,
        random_state=0,
    ).fit(X, y, sample_domain=sd)
    graph = ClassRelationAligner(
        standardize=False,
        subspace="full",
        mapping="orthogonal",
        graph_weight=100.0,
        shrinkage=0.0,
        random_state=0,
    ).fit(X, y, sample_domain=sd)

    def err(a):
        Zt = a.transform(Xt)
        return max(
            np.linalg.norm(Zt[ys == k].mean(0) - a.source_centroids_[k])
            for k in range(4)
        )

    assert err(graph) < 1.0 < err(no_graph)


@pytest.mark.parametrize("mapping", ["orthogonal", "affine", "translation"])
def test_strength_zero_is_per_domain_standardisation(mapping):
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner(mapping=mapping, strength=0.0).fit_transform(
        X, y, sample_domain=sd
    )
    b = DomainStandardScaler().fit_transform(X, y, sample_domain=sd)
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_several_source_and_target_domains():
    Xs, ys, Xt, _ = _problem()
    X = np.vstack([Xs, Xs + 1.0, Xt, Xt * 2.0])
    y = np.r_[ys, ys, -np.ones(2 * len(Xt), int)]
    sd = np.repeat([1, 2, -1, -2], len(Xs))
    a = ClassRelationAligner().fit(X, y, sample_domain=sd)
    assert sorted(a.maps_) == [-2, -1]
    Z = a.transform(X, sample_domain=sd)
    assert Z.shape == X.shape
    assert a.get_feature_names_out().shape == (X.shape[1],)


def test_errors():
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner().fit(X, y, sample_domain=sd)
    with pytest.raises(DomainError, match="not seen in fit"):
        a.transform(Xt, sample_domain=-3 * np.ones(len(Xt), int))
    with pytest.raises(DomainError, match="No target rows"):
        ClassRelationAligner().fit(Xs, ys, sample_domain=np.ones(len(Xs), int))
    with pytest.raises(ValueError, match="mapping"):
        ClassRelationAligner(mapping="rigid").fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="requires y"):
        ClassRelationAligner().fit(X, sample_domain=sd)


@pytest.mark.parametrize("strength", [1.0, "auto"])
def test_one_source_class_warns_and_standardises(strength):
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs[ys == 2], ys[ys == 2], Xt)
    with pytest.warns(
        SertlWarning, match=r"one labelled source class \(2\).*at least two"
    ):
        a = ClassRelationAligner(strength=strength, random_state=0).fit(
            X, y, sample_domain=sd
        )
    b = DomainStandardScaler().fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(
        a.transform(X, sample_domain=sd), b.transform(X, sample_domain=sd), atol=1e-10
    )


@pytest.mark.parametrize("confidence", ["bootstrap", "procrustes"])
def test_auto_strength_trusts_a_clear_structure(confidence):
    Xs, ys, Xt, yt = _problem(deg=90, noise=0.3)
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner(
        standardize=False,
        mapping="orthogonal",
        graph_weight=10.0,
        shrinkage=0.0,
        strength="auto",
        confidence=confidence,
        random_state=0,
    ).fit(X, y, sample_domain=sd)
    assert 0.9 < a.strength_[-1] <= 1.0
    assert a.confidence_[-1] == a.strength_[-1]
    Zt = a.transform(Xt)
    for k in range(4):
        assert np.linalg.norm(Zt[yt == k].mean(0) - a.source_centroids_[k]) < 1.0


def test_auto_bootstrap_shrinks_more_without_class_structure():
    # structureless target rows: the clusters, their matching and the map
    # vary with the resample, so the map is shrunk towards the identity
    # much more than for a target that has the source's class structure
    rng = np.random.default_rng(1)
    Xs, ys, Xt_clear, _ = _problem(d=5, deg=60)
    Xt = rng.normal(size=(160, 5))
    kw = dict(standardize=False, graph_weight=10.0, shrinkage=0.0)
    kw.update(strength="auto", random_state=0)
    conf = {}
    for name, T in {"noise": Xt, "clear": Xt_clear}.items():
        X, y, sd = _fit_data(Xs, ys, T)
        conf[name] = (
            ClassRelationAligner(**kw).fit(X, y, sample_domain=sd).strength_[-1]
        )
    assert conf["noise"] < conf["clear"] - 0.3
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    kw.pop("random_state")
    kw["strength"] = a.strength_[-1]
    b = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(a.transform(Xt), b.transform(Xt), atol=1e-10)


def test_auto_bootstrap_is_deterministic_under_random_state():
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    kw = dict(strength="auto", n_bootstrap=4, random_state=3)
    a = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    b = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    assert a.strength_ == b.strength_
    assert (
        a.confidence_
        and not ClassRelationAligner(strength=1.0)
        .fit(X, y, sample_domain=sd)
        .confidence_
    )


def test_procrustes_agreement_statistic():
    from sertl_relational._class_relation import _procrustes_agreement

    rng = np.random.default_rng(0)
    C = rng.normal(size=(4, 6))
    w = np.array([0.1, 0.2, 0.3, 0.4])
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    # congruent up to rotation, scale and shift: perfect agreement
    assert _procrustes_agreement(C, 2.5 * C @ Q + 1.0, w) == pytest.approx(1.0)
    # equals the definition through the d x d cross-product
    D = rng.normal(size=(4, 6))
    A = (C - w @ C) * np.sqrt(w)[:, None]
    B = (D - w @ D) * np.sqrt(w)[:, None]
    ref = np.linalg.svd(A.T @ B, compute_uv=False).sum() ** 2
    ref /= np.sum(A**2) * np.sum(B**2)
    assert _procrustes_agreement(C, D, w) == pytest.approx(ref)
    assert _procrustes_agreement(np.ones((4, 6)), D, w) == 0.0


def test_auto_strength_errors():
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    with pytest.raises(ValueError, match="strength"):
        ClassRelationAligner(strength="always").fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="strength"):
        ClassRelationAligner(strength=1.5).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="confidence"):
        ClassRelationAligner(strength="auto", confidence="silhouette").fit(
            X, y, sample_domain=sd
        )
    with pytest.raises(ValueError, match="n_bootstrap"):
        ClassRelationAligner(strength="auto", n_bootstrap=1).fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("confidence", ["bootstrap", "procrustes"])
@pytest.mark.parametrize("n_target", [1, 2, 3])
def test_auto_strength_is_zero_with_fewer_target_rows_than_classes(
    confidence, n_target
):
    # 4 classes cannot be found among 1-3 target rows: the empty clusters are
    # filled in from the source centroids, so neither confidence may trust
    # the map (a single row used to give the bootstrap zero variance and
    # strength 1, and the Procrustes agreement of the filled-in centroids
    # was near 1)
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt[:: len(Xt) // n_target][:n_target])
    a = ClassRelationAligner(confidence=confidence, random_state=0).fit(
        X, y, sample_domain=sd
    )
    assert a.confidence_[-1] == 0.0
    assert a.strength_[-1] == 0.0
    if n_target == 1:  # the reference scaler says what a one-row domain gets
        with pytest.warns(SertlWarning, match=r"domain\(s\) \[-1\] have a single row"):
            b = DomainStandardScaler().fit(X, y, sample_domain=sd)
    else:
        b = DomainStandardScaler().fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(
        a.transform(X, sample_domain=sd), b.transform(X, sample_domain=sd), atol=1e-10
    )


def test_unfitted_target_domain_error_says_what_to_pass():
    # fitted on target domain -2 only: an explicit id -1 has no map; rows
    # without sample_domain are mapped as domain -2, so the error may advise
    # omitting it (and doing so works)
    Xs, ys, Xt, _ = _problem()
    X, y, sd = _fit_data(Xs, ys, Xt)
    sd = np.where(sd < 0, -2, sd)
    a = ClassRelationAligner(strength=1.0).fit(X, y, sample_domain=sd)
    with pytest.raises(
        DomainError, match=r"domain id\(s\) \[-1\].*fitted target ids \[-2\]"
    ) as err:
        a.transform(Xt, sample_domain=np.full(len(Xt), -1))
    assert "omit sample_domain to treat every row as target" in str(err.value)
    np.testing.assert_array_equal(
        a.transform(Xt), a.transform(Xt, sample_domain=np.full(len(Xt), -2))
    )
    with pytest.raises(DomainError, match="not seen in fit"):
        a.transform(Xt, sample_domain=np.full(len(Xt), 3))


def test_without_sample_domain_uses_the_single_target_domain_of_fit():
    # fit with target id -2 (not -1): rows without sample_domain are target
    # rows, so they take domain -2's statistics and map, as with the other
    # adapters (this raised "not seen in fit" before)
    Xs, ys, Xt, _ = _problem(deg=90)
    X, y, sd = _fit_data(Xs, ys, Xt)
    sd = np.where(sd < 0, -2, 1)
    a = ClassRelationAligner(graph_weight=10.0, shrinkage=0.0, random_state=0)
    a.fit(X, y, sample_domain=sd)
    Zt = a.transform(Xt)
    np.testing.assert_array_equal(
        Zt, a.transform(Xt, sample_domain=np.full(len(Xt), -2))
    )
    np.testing.assert_array_equal(a.target_mean_, a.mean_[0])
    assert a.target_strength_ == a.strength_[-2] > 0.5
    # the map did something: not only per-domain standardisation
    plain = (Xt - a.mean_[0]) / a.scale_[0]
    assert np.abs(Zt - plain).max() > 0.5


def test_pipeline_predict_without_routing_after_fit_with_target_id_minus_2():
    Xs, ys, Xt, yt = _problem(deg=90)
    X, y, sd = _fit_data(Xs, ys, Xt)
    sd = np.where(sd < 0, -2, 1)
    pipe = Pipeline(
        [
            (
                "align",
                ClassRelationAligner(
                    standardize=False, graph_weight=10.0, shrinkage=0.0, random_state=0
                ),
            ),
            ("clf", SourceOnly(LogisticRegression())),
        ]
    )
    pipe.fit(X, y, align__sample_domain=sd, clf__sample_domain=sd)
    pred = pipe.predict(Xt)  # routing off: no sample_domain reaches transform
    align, clf = pipe.named_steps["align"], pipe.named_steps["clf"]
    expected = clf.predict(align.transform(Xt, sample_domain=np.full(len(Xt), -2)))
    np.testing.assert_array_equal(pred, expected)
    assert balanced_accuracy_score(yt, pred) > 0.9


@pytest.mark.parametrize("standardize", [True, False])
def test_without_sample_domain_pools_several_target_domains(standardize):
    # two target domains: rows without sample_domain are standardised with
    # the pooled target statistics and mapped with a map fitted on the pooled
    # target rows, i.e. as one aligner fitted with a single target id would
    Xs, ys, Xt, _ = _problem(deg=90)
    half = len(Xt) // 2
    Xt2 = Xt.copy()
    Xt2[half:] = Xt2[half:] * 1.5 - 1.0  # the second domain differs
    X = np.vstack([Xs, Xt2])
    y = np.r_[ys, -np.ones(len(Xt2), int)]
    sd = np.r_[np.ones(len(Xs), int), -np.ones(half, int), -2 * np.ones(half, int)]
    params = dict(standardize=standardize, strength=1.0, graph_weight=1.0)
    multi = ClassRelationAligner(**params).fit(X, y, sample_domain=sd)
    merged = ClassRelationAligner(**params).fit(X, y, sample_domain=np.sign(sd))
    rng = np.random.default_rng(1)
    Xnew = Xt2[rng.choice(len(Xt2), 30, replace=False)]
    np.testing.assert_allclose(
        multi.transform(Xnew), merged.transform(Xnew), rtol=1e-12, atol=1e-12
    )
    pooled = Xt2.mean(axis=0) if standardize else np.zeros(X.shape[1])
    np.testing.assert_allclose(multi.target_mean_, pooled, atol=1e-12)
    # neither target domain's own map: the pooled rows are a third "domain"
    for dom in (-1, -2):
        assert not np.allclose(
            multi.transform(Xnew),
            multi.transform(Xnew, sample_domain=np.full(len(Xnew), dom)),
        )
    # explicit ids keep their own maps and unknown ids are still refused
    with pytest.raises(DomainError, match=r"\[-3\] that were not seen in fit"):
        multi.transform(Xnew, sample_domain=np.full(len(Xnew), -3))


def test_pooled_target_with_strength_zero_is_domain_standard_scaler():
    Xs, ys, Xt, _ = _problem()
    X = np.vstack([Xs, Xt, Xt * 2.0 + 1.0])
    y = np.r_[ys, -np.ones(2 * len(Xt), int)]
    sd = np.repeat([1, -1, -2], len(Xs))
    a = ClassRelationAligner(strength=0.0).fit(X, y, sample_domain=sd)
    b = DomainStandardScaler().fit(X, y, sample_domain=sd)  # pools the targets
    np.testing.assert_allclose(a.transform(Xt), b.transform(Xt), atol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        dict(strength=1.0),
        dict(subspace="lda", mapping="affine", shrinkage=0.3, strength=0.7),
        dict(random_state=0),  # strength="auto": bootstrap
    ],
)
def test_float32_rows_stay_float32(params):
    Xs, ys, Xt, _ = _problem(deg=90)
    X, y, sd = _fit_data(Xs, ys, Xt)
    X32 = X.astype(np.float32)
    a32 = ClassRelationAligner(**params).fit(X32, y, sample_domain=sd)
    a64 = ClassRelationAligner(**params).fit(X, y, sample_domain=sd)
    # statistics and maps are fitted in float64: on the float32 values
    # upcast, float64 input gives the same numbers before the final cast
    X32up = X32.astype(np.float64)
    up = ClassRelationAligner(**params).fit(X32up, y, sample_domain=sd)
    for kwargs in ({"sample_domain": sd}, {}):
        Z32 = a32.transform(X32, **kwargs)
        Z64 = a64.transform(X, **kwargs)
        assert Z32.dtype == np.float32
        scale = np.abs(Z64).max()
        np.testing.assert_allclose(Z32, Z64, rtol=1e-4, atol=1e-5 * scale)
        Zup = up.transform(X32up, **kwargs)
        assert Zup.dtype == np.float64
        np.testing.assert_array_equal(Z32, Zup.astype(np.float32))
    assert a32.fit_transform(X32, y, sample_domain=sd).dtype == np.float32
    assert a32.mean_.dtype == a32.maps_[-1][1].dtype == np.float64


def test_lda_subspace_with_too_few_rows_per_class_says_what_to_do():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(6, 5))
    ys = np.array([0, 1, 2, 0, 1, 2])
    X = np.vstack([Xs, rng.normal(size=(30, 5))])
    y = np.r_[ys, -np.ones(30, int)]
    with pytest.raises(
        ValueError, match=r"smallest source class has 2 row.*subspace='full'"
    ):
        ClassRelationAligner(subspace="lda").fit(X, y)
    assert ClassRelationAligner(subspace="full").fit(X, y).transform(X).shape == (36, 5)


def test_a_target_domains_map_does_not_depend_on_the_other_target_domains():
    # strength="auto" resamples each target domain from a generator of its
    # own: adding domain -2 to the fit leaves domain -1's map as it was
    Xs, ys, Xt, _ = _problem(n=12, noise=1.5)
    _, _, Xt2, _ = _problem(n=12, noise=1.5, seed=1, deg=-30)
    X = np.vstack([Xs, Xt2, Xt])
    y = np.r_[ys, -np.ones(2 * len(Xt), int)]
    sd = np.repeat([1, -2, -1], len(Xs))
    alone = sd != -2
    kw = dict(strength="auto", random_state=0)
    both = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    one = ClassRelationAligner(**kw).fit(X[alone], y[alone], sample_domain=sd[alone])
    assert both.strength_[-1] == one.strength_[-1]
    rows = sd == -1
    np.testing.assert_array_equal(
        both.transform(X[rows], sample_domain=sd[rows]),
        one.transform(X[rows], sample_domain=sd[rows]),
    )


def test_default_orthogonal_map_is_a_rotation_and_plain_procrustes_may_reflect():
    # a target that is the source's mirror image: Schönemann's solution
    # (shrinkage=0) reflects it back, the default shrinkage keeps a rotation
    Xs, ys, _, _ = _problem(n=30, noise=0.3)
    mirror = np.eye(Xs.shape[1])
    mirror[1, 1] = -1.0
    X, y, sd = _fit_data(Xs, ys, Xs @ mirror)
    kw = dict(standardize=False, graph_weight=10.0, strength=1.0)
    plain = ClassRelationAligner(shrinkage=0.0, **kw).fit(X, y, sample_domain=sd)
    default = ClassRelationAligner(**kw).fit(X, y, sample_domain=sd)
    assert np.linalg.det(plain.maps_[-1][1]) == pytest.approx(-1.0)
    assert np.linalg.det(default.maps_[-1][1]) == pytest.approx(1.0)


def test_lda_maps_act_on_the_projected_coordinates_as_documented():
    Xs, ys, Xt, _ = _problem(deg=30)
    X, y, sd = _fit_data(Xs, ys, Xt)
    a = ClassRelationAligner(subspace="lda", strength=1.0).fit(X, y, sample_domain=sd)
    d, k = X.shape[1], a.classes_.size
    assert a.projection_.shape == (d, k - 1)
    assert a.target_centroids_[-1].shape == (k, k - 1)
    z = (Xt - a.target_mean_) / a.target_scale_
    u = z @ a.projection_
    center, W, offset = a.maps_[-1]
    mapped = z + ((u - center) @ W + offset - u) @ np.linalg.pinv(a.projection_)
    np.testing.assert_allclose(a.transform(Xt), mapped, atol=1e-10)


def test_features_of_tiny_magnitude_are_standardised_too():
    # a feature was "constant" when its deviation was below 2.2e-15 in
    # absolute terms, so rows of magnitude 1e-15 were left unscaled and
    # the map came out about 1e-15 (the same rows at scale 1: about 1)
    Xs, ys, Xt, _ = _problem(deg=40)
    X, y, sd = _fit_data(Xs, ys, Xt)
    est = ClassRelationAligner(random_state=0)
    ref = est.fit(X, y, sample_domain=sd).transform(X, sample_domain=sd)
    tiny = est.fit(X * 1e-15, y, sample_domain=sd)
    np.testing.assert_allclose(
        tiny.transform(X * 1e-15, sample_domain=sd), ref, rtol=1e-7, atol=1e-7
    )


def test_a_constant_feature_over_many_rows_is_not_standardised():
    # the rounding of the mean of 1000 rows of 0.1 (1.4e-15, more than
    # 10 eps |mean|) was taken for spread: the constant feature got a scale
    # of 1.4e-15 instead of 1
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    X[:, 0] = 0.1
    y = np.r_[np.tile([0, 1], 500), -np.ones(1000, int)]
    sd = np.r_[np.ones(1000, int), -np.ones(1000, int)]
    est = ClassRelationAligner(random_state=0).fit(X, y, sample_domain=sd)
    assert est.target_scale_[0] == 1.0
