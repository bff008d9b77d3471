import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import SVC
from sklearn.utils import get_tags

from sertl_core import (
    DomainAdapter,
    DomainError,
    DomainStandardScaler,
    SertlWarning,
    SourceOnly,
    SourceStandardScaler,
    TransferEstimator,
)
from sertl_core.testing import make_domain_data, parametrize_with_checks


def _expected(est):
    if isinstance(est, DomainStandardScaler) and est.target_stats == "batch":
        return {
            "check_methods_subset_invariance": (
                "target_stats='batch' standardises each batch with its own "
                "statistics: a subset is scaled differently by design"
            ),
        }
    return {}


@parametrize_with_checks(
    [
        SourceOnly(),
        SourceOnly(SVC()),
        SourceOnly(Ridge()),
        SourceOnly(use_target_labels=True),
        DomainStandardScaler(),
        DomainStandardScaler(with_std=False),
        DomainStandardScaler(target_stats="batch"),
        SourceStandardScaler(),
        SourceStandardScaler(with_std=False),
    ],
    expected_failed_checks=_expected,
)
def test_conformance(estimator, check):
    check(estimator)


def test_domain_standard_scaler_statistics():
    X, y, sd, _ = make_domain_data()
    scaler = DomainStandardScaler().fit(X, y, sample_domain=sd)
    Xt = scaler.transform(X, sample_domain=sd)
    for d in np.unique(sd):
        np.testing.assert_allclose(Xt[sd == d].mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(Xt[sd == d].std(0), 1, atol=1e-12)
    # without sample_domain: pooled statistics of the target domains
    np.testing.assert_allclose(scaler.transform(X[sd < 0]).mean(0), 0, atol=1e-12)
    assert scaler.get_feature_names_out().tolist() == [f"x{i}" for i in range(6)]


def test_scaler_pooled_target_statistics_for_two_targets():
    rng = np.random.default_rng(0)
    X = np.vstack(
        [
            rng.normal(0, 1, (20, 2)),
            rng.normal(5, 1, (20, 2)),
            rng.normal(-5, 2, (20, 2)),
        ]
    )
    sd = np.repeat([1, -1, -2], 20)
    scaler = DomainStandardScaler().fit(X, sample_domain=sd)
    np.testing.assert_allclose(scaler.target_mean_, X[20:].mean(0))
    np.testing.assert_allclose(scaler.transform(X[20:]).mean(0), 0, atol=1e-12)


def test_source_only_ignores_target_labels_unless_asked():
    X, y, sd, y_t = make_domain_data()
    y_few = y.copy()
    y_few[sd < 0] = y_t
    a = SourceOnly().fit(X, y_few, sample_domain=sd)
    b = SourceOnly().fit(X[sd > 0], y[sd > 0])
    np.testing.assert_allclose(a.estimator_.coef_, b.estimator_.coef_)
    c = SourceOnly(use_target_labels=True).fit(X, y_few, sample_domain=sd)
    assert not np.allclose(a.estimator_.coef_, c.estimator_.coef_)


def test_source_only_sampler_balances_training_rows():
    imblearn = pytest.importorskip("imblearn")
    X, y, sd, _ = make_domain_data()
    keep = ~((y == 2) & (np.arange(y.size) % 4 != 0))  # make class 2 rare
    X, y = X[keep], y[keep]
    clf = SourceOnly(
        sampler=imblearn.over_sampling.RandomOverSampler(random_state=0)
    ).fit(X, y)
    assert clf.classes_.tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="no fit_resample method"):
        SourceOnly(sampler=LogisticRegression()).fit(X, y)


def test_source_only_sampler_that_is_not_an_estimator_is_named():
    X, y, _, _ = make_domain_data()
    with pytest.raises(TypeError, match="sampler='smote' has no fit_resample"):
        SourceOnly(sampler="smote").fit(X, y)


def test_estimator_without_sample_weight_resamples():
    from sklearn.neighbors import KNeighborsClassifier

    from sertl_core import TransferEstimator

    class Weighted(TransferEstimator):
        registry_name = "weighted_test"

        def __init__(self, estimator=None, *, sampler=None, random_state=None):
            super().__init__(estimator, sampler=sampler)
            self.random_state = random_state

        def _fit(self, data):
            rows = data.labeled
            w = np.where(data.y[rows] == 0, 0.0, 1.0)  # drop class 0 by weight
            self._fit_estimator(
                data.X[rows], data.y[rows], w, random_state=self.random_state
            )

    X, y, sd, _ = make_domain_data()
    with pytest.warns(SertlWarning, match=r"class\(es\) \[0\] have weight 0"):
        est = Weighted(KNeighborsClassifier(1), random_state=0).fit(X, y)
    assert 0 not in est.classes_
    est = Weighted(LogisticRegression(), random_state=0).fit(X, y)
    assert 0 in est.classes_  # weights passed as sample_weight; class still known


class _RecordsWeights(LogisticRegression):
    """LogisticRegression that records the sample_weight it was fitted with."""

    def fit(self, X, y, sample_weight=None):
        self.seen_weight_ = None if sample_weight is None else np.array(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)


class _Weighted(TransferEstimator):
    """Fits its estimator on the labelled rows with fixed, uneven weights."""

    registry_name = "weighted_test"

    def _fit(self, data):
        rows = data.labeled
        w = np.linspace(0.5, 2.0, rows.sum())
        self._fit_estimator(data.X[rows], data.y[rows], w, random_state=0)


@pytest.mark.parametrize("routing", [False, True])
def test_meta_estimator_passes_weights_to_the_estimator_it_wraps(routing):
    # CalibratedClassifierCV takes sample_weight and, under metadata routing,
    # routes it on only to an estimator that requested it: sertl requests it
    # on its private clone, so weighted transfer works with probabilities
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV

    X, y, sd, _ = make_domain_data()
    calibrated = CalibratedClassifierCV(_RecordsWeights(), cv=2)
    with sklearn.config_context(enable_metadata_routing=routing):
        est = _Weighted(calibrated).fit(X, y, sample_domain=sd)
    inner = est.estimator_.calibrated_classifiers_[0].estimator
    assert inner.seen_weight_ is not None
    assert len(np.unique(inner.seen_weight_)) > 1  # the uneven weights
    assert est.predict_proba(X).shape[0] == X.shape[0]


@pytest.mark.parametrize("routing", [False, True])
def test_pipeline_estimator_gets_weights_in_its_final_step(routing):
    # A Pipeline has no sample_weight in its fit signature, but its final
    # step may: the weights go there, not into a weighted resample.
    import sklearn
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, sd, _ = make_domain_data()
    pipe = make_pipeline(StandardScaler(), _RecordsWeights())
    with sklearn.config_context(enable_metadata_routing=routing):
        est = _Weighted(pipe).fit(X, y, sample_domain=sd)
    seen = est.estimator_[-1].seen_weight_
    n_lab = int((sd > 0).sum())
    np.testing.assert_allclose(seen, np.linspace(0.5, 2.0, n_lab))
    assert not hasattr(pipe[-1], "seen_weight_")  # the user's pipeline untouched


def test_score_ignores_unlabelled_rows():
    X, y, sd, _ = make_domain_data()
    clf = SourceOnly().fit(X, y)
    src = sd > 0
    assert clf.score(X, y) == pytest.approx(clf.score(X[src], y[src]))
    with pytest.raises(ValueError, match="no labelled rows"):
        clf.score(X[~src], y[~src])


def test_omitted_domains_are_domain_minus_one_unless_transform_pools_them():
    # the documented contract (DomainAdapter.transform, CONTRIBUTING.md): the
    # base passes -1 for every row; DomainStandardScaler overrides transform
    # and pools its target domains' statistics
    class Seen(DomainAdapter):
        registry_name = "seen_domains"
        _transform_uses_domain = True

        def _fit(self, data):
            pass

        def _transform(self, X, sample_domain):
            self.seen_ = sample_domain
            return X

    X, y, sd, _ = make_domain_data()
    two = sd.copy()
    two[np.flatnonzero(sd < 0)[::2]] = -2  # two target corpora
    rows = X[:5] + 100
    seen = Seen().fit(X, y, sample_domain=two)
    seen.transform(rows)
    assert seen.seen_.tolist() == [-1] * 5
    scaler = DomainStandardScaler().fit(X, y, sample_domain=two)
    pooled = (rows - X[two < 0].mean(axis=0)) / X[two < 0].std(axis=0)
    np.testing.assert_allclose(scaler.transform(rows), pooled)
    assert not np.allclose(
        scaler.transform(rows), scaler.transform(rows, sample_domain=np.full(5, -1))
    )


def _zero_first(sd):
    sd = sd.copy()
    sd[0] = 0
    return sd


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (
            lambda y, sd: {"y": y, "sample_domain": sd[:-1]},
            DomainError,
            r"`sample_domain` has 119 entries but X has 120 rows",
        ),
        (
            lambda y, sd: {"y": y, "sample_domain": -1},
            DomainError,
            r"`sample_domain` must be a 1-D array of domain ids, got shape \(\)",
        ),
        (
            lambda y, sd: {"y": y, "sample_domain": _zero_first(sd)},
            DomainError,
            r"`sample_domain` contains 0, which is not a domain",
        ),
        (
            lambda y, sd: {"y": y, "sample_weight": np.ones(len(y) - 1)},
            ValueError,
            r"sample_weight must be 1-D with one weight per row of X \(120\), got "
            r"shape \(119,\)",
        ),
        (
            lambda y, sd: {"y": y[:-1], "sample_domain": sd},
            ValueError,
            r"X has 120 rows but y has 119 labels: pass one label per row",
        ),
    ],
    ids=["domain-length", "domain-scalar", "domain-zero", "weight-length", "y-length"],
)
def test_score_validates_its_inputs_as_fit_and_predict_do(bad, error, match):
    # score masked the unlabelled rows first: a wrong length got numpy's
    # "boolean index did not match" IndexError
    X, y, sd, _ = make_domain_data()
    clf = SourceOnly().fit(X, y, sample_domain=sd)
    with pytest.raises(error, match=match):
        clf.score(X, **bad(y, sd))


def test_source_scaler_keeps_target_rows_out_of_the_statistics():
    X = np.array([[0.0], [2.0], [100.0], [300.0]])
    sc = SourceStandardScaler().fit(X, sample_domain=[1, 1, -1, -1])
    assert sc.mean_.tolist() == [1.0]
    assert sc.transform([[1.0]]).tolist() == [[0.0]]
    # two source domains are pooled
    sc2 = SourceStandardScaler().fit(X, sample_domain=[1, 2, 2, -1])
    np.testing.assert_allclose(sc2.mean_, X[:3].mean(0))


def test_source_only_takes_sparse_rows_when_its_estimator_does():
    from scipy import sparse
    from sklearn.naive_bayes import GaussianNB
    from sklearn.svm import LinearSVC
    from sklearn.utils import get_tags

    X, y, sd, y_t = make_domain_data()  # y: -1 on the target rows
    dense = SourceOnly(LinearSVC()).fit(X, y, sample_domain=sd)
    sp = SourceOnly(LinearSVC()).fit(sparse.csr_matrix(X), y, sample_domain=sd)
    assert get_tags(sp).input_tags.sparse
    np.testing.assert_array_equal(sp.predict(sparse.csc_matrix(X)), dense.predict(X))
    y_true = y.copy()
    y_true[sd < 0] = y_t
    # score indexes the labelled rows of any sparse format (COO too)
    assert sp.score(sparse.coo_matrix(X), y_true) == pytest.approx(
        dense.score(X, y_true)
    )
    assert sp.score(sparse.csr_matrix(X), y) == pytest.approx(dense.score(X, y))
    # an estimator without sparse support: sparse rows get sklearn's clear error
    assert not get_tags(SourceOnly(GaussianNB())).input_tags.sparse
    with pytest.raises(TypeError, match="Sparse data was passed"):
        SourceOnly(GaussianNB()).fit(sparse.csr_matrix(X), y)


def test_pipeline_of_a_sparse_output_adapter_and_source_only():
    from scipy import sparse
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, sd, y_t = make_domain_data()
    to_sparse = FunctionTransformer(sparse.csr_matrix, accept_sparse=True)
    pipe = Pipeline([("sp", to_sparse), ("clf", SourceOnly(LogisticRegression()))])
    pipe.fit(X, y)
    ref = SourceOnly(LogisticRegression()).fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_one_class_error_says_minus_one_is_the_unlabelled_marker():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(
        ValueError,
        match=r"Only 1 class\(es\).*\[1\].*The 2 row\(s\) marked unlabelled "
        r"\(-1, '-1' or None\) are target rows, not a class",
    ):
        SourceOnly().fit(X, [1, 1, -1, -1])
    with pytest.raises(ValueError, match=r"Only 1 class\(es\)") as err:
        SourceOnly().fit(X, [1, 1, 1, 1])
    assert "marked unlabelled" not in str(err.value)


@pytest.mark.parametrize(
    "scaler",
    [
        DomainStandardScaler(),
        DomainStandardScaler(target_stats="batch"),
        DomainStandardScaler(with_mean=False),
        SourceStandardScaler(),
    ],
    ids=repr,
)
def test_scalers_preserve_float32(scaler):
    # as sklearn's StandardScaler: float32 rows come back float32, computed
    # from the same float64 statistics as float64 rows
    X, y, sd, _ = make_domain_data()
    X32 = X.astype(np.float32)
    fitted = clone(scaler).fit(X32, y, sample_domain=sd)
    assert fitted.mean_.dtype == np.float64
    ref = clone(scaler).fit(X, y, sample_domain=sd)
    outputs = {
        "fit_transform": (
            clone(scaler).fit_transform(X32, y, sample_domain=sd),
            ref.transform(X, sample_domain=sd),
        ),
        "transform with sample_domain": (
            fitted.transform(X32, sample_domain=sd),
            ref.transform(X, sample_domain=sd),
        ),
        "transform as target": (fitted.transform(X32), ref.transform(X)),
    }
    for method, (got, expected) in outputs.items():
        assert got.dtype == np.float32, method
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=method)
    # float64 input still gives float64
    assert ref.transform(X, sample_domain=sd).dtype == np.float64


def test_scalers_declare_that_they_preserve_float32():
    # the tag makes sklearn's check_transformer_preserve_dtypes test float32
    for scaler in (DomainStandardScaler(), SourceStandardScaler()):
        assert get_tags(scaler).transformer_tags.preserves_dtype == [
            "float64",
            "float32",
        ]


def test_nested_estimator_parameter_needs_an_explicit_estimator():
    from sklearn.model_selection import GridSearchCV

    from sertl_core.model_selection import (
        ImportanceWeightedScorer,
        SourceTargetShuffleSplit,
    )

    with pytest.raises(ValueError, match="Cannot set 'estimator__C': SourceOnly has"):
        SourceOnly().set_params(estimator__C=0.1)
    # any parameter whose None is built at fit: an AttributeError before
    with pytest.raises(
        ValueError,
        match=r"Cannot set 'sampler__k': SourceOnly has sampler=None.*Pass the "
        r"sampler to tune",
    ):
        SourceOnly().set_params(sampler__k=3)
    # with the estimator given (in the same call, as a grid point does)
    clf = SourceOnly().set_params(estimator=LogisticRegression(), estimator__C=0.1)
    assert clf.estimator.C == 0.1
    X, y, sd, _ = make_domain_data(n_per_domain=40, random_state=0)
    search = GridSearchCV(
        SourceOnly(),
        {"estimator__C": [0.1, 1.0]},
        cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
        scoring=ImportanceWeightedScorer(),
        error_score="raise",
    )
    with pytest.raises(ValueError, match="there is no estimator to set it on"):
        search.fit(X, y, groups=sd)


def test_batch_statistics_refuse_a_single_row_and_warn_below_the_minimum():
    X, y, sd, _ = make_domain_data()
    scaler = DomainStandardScaler(target_stats="batch").fit(X, y, sample_domain=sd)
    tgt = X[sd < 0]
    assert DomainStandardScaler.min_batch_rows == 10
    # one row has no spread: every feature would be 0
    with pytest.raises(ValueError, match=r"are a single row.*target_stats='fit'"):
        scaler.transform(tgt[:1])
    with pytest.raises(ValueError, match="the rows of domain -2 are a single row"):
        scaler.transform(tgt[:11], sample_domain=[-1] * 10 + [-2])
    # below the documented minimum: a warning naming it
    with pytest.warns(SertlWarning, match=r"only 9 rows, fewer than 10"):
        scaler.transform(tgt[:9])
    with pytest.warns(SertlWarning, match=r"domain -3 are only 2 rows"):
        scaler.transform(tgt[:12], sample_domain=[-1] * 10 + [-3] * 2)
    # enough rows: silent (warnings are errors in this suite); the fitted
    # statistics of target_stats="fit" have no minimum, nor has a scaler
    # that neither centres nor scales
    scaler.transform(tgt[:10])
    scaler.transform(X[:1], sample_domain=sd[:1])  # a source row: fitted stats
    DomainStandardScaler().fit(X, y, sample_domain=sd).transform(tgt[:1])
    plain = DomainStandardScaler(with_mean=False, with_std=False, target_stats="batch")
    np.testing.assert_array_equal(plain.fit(X, y).transform(tgt[:1]), tgt[:1])


def test_a_domain_of_one_row_in_fit_warns():
    # a one-row target domain was fitted silently: mean = the row, scale 1,
    # so new target rows came out as x - row
    X, y, sd, _ = make_domain_data()
    sd = sd.copy()
    one = np.flatnonzero(sd < 0)[0]
    sd[one] = -7
    with pytest.warns(SertlWarning, match=r"domain\(s\) \[-7\] have a single row"):
        DomainStandardScaler().fit(X, y, sample_domain=sd)
    with pytest.warns(SertlWarning, match=r"target_stats='batch' scales its rows"):
        DomainStandardScaler().fit(X, y, sample_domain=sd)
    src = np.flatnonzero(sd > 0)[0]
    sd[src] = 9
    with pytest.warns(SertlWarning, match=r"\[9\] have a single row.*more rows"):
        DomainStandardScaler(target_stats="batch").fit(X, y, sample_domain=sd)
    # silent where the one-row statistics are never used or are no statistics
    sd[src] = 1
    DomainStandardScaler(target_stats="batch").fit(X, y, sample_domain=sd)
    DomainStandardScaler(with_mean=False, with_std=False).fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("scaler", [DomainStandardScaler(), SourceStandardScaler()])
@pytest.mark.parametrize("factor", [1e-15, 1e-200])
def test_scalers_standardise_features_of_any_magnitude(scaler, factor):
    # a feature was "constant" when its deviation was below 2.2e-15 in
    # absolute terms: features varying on a scale of 1e-15 came out
    # unscaled (x - mean, about 1e-15) instead of standardised
    X, y, sd, _ = make_domain_data()
    ref = clone(scaler).fit(X, y, sample_domain=sd).transform(X, sample_domain=sd)
    got = clone(scaler).fit(X * factor, y, sample_domain=sd)
    Z = got.transform(X * factor, sample_domain=sd)
    np.testing.assert_allclose(Z, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scaler", [DomainStandardScaler, SourceStandardScaler])
def test_a_constant_feature_far_from_zero_is_left_unscaled(scaler):
    # with with_mean=False the rounding of a large constant's deviation
    # (4.7e-10 at 1e6 + 0.1) was taken for spread: the feature came out
    # divided by it, about 2e15
    X, y, sd, _ = make_domain_data()
    X = X.copy()
    X[:, 0] = 1e6 + 0.1
    fitted = scaler(with_mean=False).fit(X, y, sample_domain=sd)
    Z = fitted.transform(X, sample_domain=sd)
    np.testing.assert_array_equal(Z[:, 0], X[:, 0])
    np.testing.assert_array_equal(fitted.scale_[..., 0], 1.0)


@pytest.mark.parametrize("scaler", [DomainStandardScaler(), SourceStandardScaler()])
def test_scalers_standardise_huge_features_without_overflow(scaler):
    # the squared deviations of features of magnitude 1e200 overflowed: a
    # RuntimeWarning, then every such feature came out 0 (x / inf)
    X, y, sd, _ = make_domain_data()
    ref = clone(scaler).fit(X, y, sample_domain=sd).transform(X, sample_domain=sd)
    got = clone(scaler).fit(X * 1e200, y, sample_domain=sd)
    Z = got.transform(X * 1e200, sample_domain=sd)
    np.testing.assert_allclose(Z, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_adapters_refuse_fit_parameters_with_the_fix(method):
    # Python's bare "got an unexpected keyword argument 'sample_weight'"
    # said neither why an adapter takes no weights nor where they go
    X, y, sd, _ = make_domain_data()
    fit = getattr(DomainStandardScaler(), method)
    w = np.ones(len(y))
    with pytest.raises(
        TypeError,
        match=r"DomainStandardScaler takes no sample_weight.*clf__sample_weight=w",
    ):
        fit(X, y, sample_domain=sd, sample_weight=w)
    with pytest.raises(
        TypeError,
        match=r"arguments 'groups', 'speaker': an adapter's fit takes only X, y",
    ):
        fit(X, y, sample_domain=sd, speaker=w, groups=w)


@pytest.mark.parametrize("scaler", [DomainStandardScaler, SourceStandardScaler])
@pytest.mark.parametrize("with_mean", [True, False])
@pytest.mark.parametrize("value", [0.1, 1 / 3, 2.7e-5])
def test_a_constant_feature_over_many_rows_stays_constant(scaler, with_mean, value):
    # the mean of 1000 rows of 0.1 is off by 1.4e-15 (numpy sums the rows
    # one after the other), more than 10 eps |mean|: the constant feature
    # was taken for spread and came out +-1 (or 0.1 / 1.4e-15), not as given
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    X[:, 0] = value
    sd = np.r_[np.ones(1000, int), -np.ones(1000, int)]
    fitted = scaler(with_mean=with_mean).fit(X, sample_domain=sd)
    np.testing.assert_array_equal(fitted.scale_[..., 0], 1.0)
    Z = fitted.transform(X, sample_domain=sd)
    np.testing.assert_allclose(Z[:, 0], 0.0 if with_mean else value, atol=1e-12)


class _OldStyleClassifier:
    """A third-party classifier from before scikit-learn's tags.

    ``fit``, ``predict``, ``get_params`` and ``set_params``, but no
    ``BaseEstimator``: no ``__sklearn_tags__``.
    """

    def __init__(self, C=1.0):
        self.C = C

    def get_params(self, deep=True):
        return {"C": self.C}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _model(self):
        return LogisticRegression(C=self.C, max_iter=1000)

    def fit(self, X, y):
        self.model_ = self._model().fit(X, y)
        if hasattr(self.model_, "classes_"):
            self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


class _OldStyleRegressor(_OldStyleClassifier):
    """An old-style regressor, naming its task the legacy way."""

    _estimator_type = "regressor"

    def _model(self):
        return Ridge(alpha=self.C)


def test_a_wrapped_estimator_without_tags_gets_the_default_tags():
    # get_tags on the transfer estimator, and its fit (is_regressor), raised
    # scikit-learn's AttributeError "... Make sure to inherit from
    # BaseEstimator", about an estimator the user could not change
    from sklearn.base import is_classifier, is_regressor

    X, y, sd, _ = make_domain_data(n_sources=1)
    clf = SourceOnly(_OldStyleClassifier())
    tags = get_tags(clf)
    # scikit-learn's defaults: no task is known, the labels are required
    assert tags.estimator_type is None and tags.classifier_tags is None
    assert tags.target_tags.required and not tags.input_tags.sparse
    assert not is_classifier(clf) and not is_regressor(clf)
    expected = SourceOnly(LogisticRegression(max_iter=1000)).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(
        clf.fit(X, y, sample_domain=sd).predict(X), expected.predict(X)
    )
    # its fit takes no sample_weight: the weighted resample fallback
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    weighted = clone(clf).fit(X, y, sample_domain=sd, sample_weight=w)
    assert weighted.classes_.tolist() == expected.classes_.tolist()
    # the legacy _estimator_type names the task, as scikit-learn 1.6-1.7 read it
    typed = type("_Typed", (_OldStyleClassifier,), {"_estimator_type": "classifier"})
    assert is_classifier(SourceOnly(typed()))
    assert get_tags(SourceOnly(typed())).classifier_tags is not None
    reg = SourceOnly(_OldStyleRegressor())
    assert is_regressor(reg)
    target = np.where(y >= 0, X[:, 0], np.nan)  # NaN: unlabelled target rows
    got = reg.fit(X, target, sample_domain=sd).predict(X)
    ridge = SourceOnly(Ridge()).fit(X, target, sample_domain=sd)
    np.testing.assert_allclose(got, ridge.predict(X))


def test_an_estimator_whose_tags_fail_otherwise_keeps_its_error():
    # only a missing __sklearn_tags__ gets the defaults: another error in an
    # estimator's own tags is not hidden
    class _BrokenTags(_OldStyleClassifier):
        def __sklearn_tags__(self):
            raise AttributeError("'_BrokenTags' has no attribute 'threshold_'")

    with pytest.raises(AttributeError, match="no attribute 'threshold_'"):
        get_tags(SourceOnly(_BrokenTags()))


def test_a_wrapped_estimator_with_mixins_but_no_base_estimator_keeps_its_task():
    # ClassifierMixin without BaseEstimator: every __sklearn_tags__ of its
    # MRO calls super()'s, so get_tags fails; the mixin has named the task
    # by its class alone since scikit-learn 1.8 (no _estimator_type), and
    # the default tags made such a classifier taskless (no stratified folds)
    from sklearn.base import (
        ClassifierMixin,
        RegressorMixin,
        is_classifier,
        is_regressor,
    )

    X, y, sd, _ = make_domain_data(n_sources=1)
    classifier = type("_MixinClassifier", (ClassifierMixin, _OldStyleClassifier), {})
    clf = SourceOnly(classifier())
    assert is_classifier(clf) and get_tags(clf).classifier_tags is not None
    expected = SourceOnly(LogisticRegression(max_iter=1000)).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(
        clf.fit(X, y, sample_domain=sd).predict(X), expected.predict(X)
    )
    # a Ridge inside, no legacy _estimator_type: the mixin alone names it
    regressor = type(
        "_MixinRegressor",
        (RegressorMixin, _OldStyleClassifier),
        {"_model": _OldStyleRegressor._model},
    )
    assert not hasattr(regressor, "_estimator_type")
    assert is_regressor(SourceOnly(regressor()))
