"""A plain sklearn Pipeline and GridSearchCV in both metadata-routing modes."""

import re
import subprocess
import sys
import warnings
from importlib import metadata

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.ensemble import (
    BaggingClassifier,
    IsolationForest,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.feature_selection import RFE
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC

from sertl_core import (
    DomainError,
    DomainStandardScaler,
    SourceOnly,
    UnlabeledRowsWarning,
)
from sertl_core.model_selection import (
    LeaveOneDomainOut,
    PredictionEntropyScorer,
    SourceTargetShuffleSplit,
    TargetLabelSplit,
    TargetScorer,
)
from sertl_core.testing import make_domain_data


def _data():
    X, y, sd, y_t = make_domain_data(n_per_domain=60, n_sources=1)
    return X, y, sd, y_t


def _pipe():
    return Pipeline([("adapt", DomainStandardScaler()), ("clf", SourceOnly(SVC()))])


GRID = {
    "adapt": [
        "passthrough",
        DomainStandardScaler(),
        DomainStandardScaler(target_stats="batch"),
        StandardScaler(),
    ]
}


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_across_methods_predicts_real_classes(routing):
    X, y, sd, y_t = _data()
    gs = GridSearchCV(
        _pipe(),
        GRID,
        cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
        scoring=PredictionEntropyScorer(),
        error_score="raise",
    )
    gs.set_params(estimator__clf__estimator=LogisticRegression())
    if routing:
        with sklearn.config_context(enable_metadata_routing=True):
            gs.fit(X, y, sample_domain=sd)
    else:
        # Routing off: one source and one target travel through any step via
        # the labels alone (-1 = target); StandardScaler takes no sample_domain.
        gs.fit(X, y, groups=sd)
    assert len(gs.cv_results_["params"]) == 4
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    pred = gs.predict(X[sd < 0])
    assert set(pred.tolist()) <= {0, 1, 2}
    assert sklearn.get_config()["enable_metadata_routing"] is False


def test_routing_modes_give_the_same_search():
    X, y, sd, y_t = _data()
    y_few = y.copy()
    tgt = np.flatnonzero(sd < 0)
    y_few[tgt[:30]] = y_t[:30]

    grid = {
        "adapt": [
            "passthrough",
            DomainStandardScaler(),
            DomainStandardScaler(target_stats="batch"),
        ]
    }

    def search():
        return GridSearchCV(
            _pipe(),
            grid,
            cv=TargetLabelSplit(3, random_state=0),
            scoring=TargetScorer(),
            error_score="raise",
        )

    off = search().fit(
        X, y_few, groups=sd, adapt__sample_domain=sd, clf__sample_domain=sd
    )
    with sklearn.config_context(enable_metadata_routing=True):
        on = search().fit(X, y_few, sample_domain=sd)
    np.testing.assert_allclose(
        off.cv_results_["mean_test_score"], on.cv_results_["mean_test_score"]
    )


def test_per_domain_scaling_helps_on_shifted_target():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(200, 4))
    ys = (Xs[:, 0] + Xs[:, 1] > 0).astype(int)
    Xt = rng.normal(size=(200, 4))
    y_t = (Xt[:, 0] + Xt[:, 1] > 0).astype(int)
    Xt = Xt * 3 + 4
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(200, int)]
    tgt = np.r_[np.zeros(200, bool), np.ones(200, bool)]
    base = Pipeline([("adapt", "passthrough"), ("clf", SourceOnly(SVC()))]).fit(X, y)
    adapted = _pipe().fit(X, y)
    uar = lambda m: np.mean(
        [(m.predict(X[tgt])[y_t == c] == c).mean() for c in np.unique(y_t)]
    )  # noqa: E731
    assert uar(adapted) > uar(base)


def test_cross_val_score_with_inferred_domains():
    X, y, sd, _ = _data()
    pipe = _pipe().set_params(clf__estimator=LogisticRegression())
    scores = cross_val_score(pipe, X, y, cv=3, scoring=PredictionEntropyScorer())
    assert scores.shape == (3,) and np.all(scores <= 0)


def test_inputs_unchanged_after_fit():
    X, y, sd, _ = _data()
    copies = X.copy(), y.copy(), sd.copy()
    _pipe().fit(X, y, adapt__sample_domain=sd, clf__sample_domain=sd).predict(X)
    for a, b in zip((X, y, sd), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_import_changes_no_global_state():
    code = """
import logging, warnings, json, importlib
import numpy as np, sklearn
from importlib import metadata
# Third-party dependencies may touch warning filters when imported (torch
# does); import them first so only sertl's own import is measured.
for dep in ("scipy.special", "scipy.sparse", "sklearn.pipeline", "pandas", "torch", "skorch",
            "librosa", "cvxpy", "soundfile", "joblib", "matplotlib", "skops.io", "tqdm"):
    try:
        importlib.import_module(dep)
    except ImportError:
        pass
before = (sklearn.get_config(), np.random.get_state()[1].sum(), len(logging.getLogger().handlers),
          logging.getLogger().level, len(warnings.filters))
import sertl_core, sertl_core.testing, sertl_core.model_selection, sertl_core.cli
mods, broken = [], []
for ep in metadata.entry_points(group="sertl"):
    try:
        mods.append(ep.load())
    except ImportError as exc:  # installed but not importable: a broken install
        broken.append(f"{ep.name}: {exc!r}")
from sertl_core import get_registry
get_registry()  # not inside catch_warnings: that would undo a filter change
after = (sklearn.get_config(), np.random.get_state()[1].sum(), len(logging.getLogger().handlers),
         logging.getLogger().level, len(warnings.filters))
diff = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
print(json.dumps({"same": before == after, "diff": diff, "n": len(mods), "broken": broken}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["same"], out.stdout + out.stderr
    # every installed plugin was imported, so its import was measured too
    assert result["broken"] == []
    n_installed = len(metadata.entry_points(group="sertl"))
    assert result["n"] == n_installed >= 1


def test_user_pipeline_with_sample_weight_still_works_after_import():
    # skada turns global routing on at import, which breaks this user code.
    import sertl_core  # noqa: F401

    X, y, sd, _ = _data()
    src = sd > 0
    assert not sklearn.get_config()["enable_metadata_routing"]
    w = np.random.default_rng(0).uniform(0.1, 5.0, src.sum())
    pipe = Pipeline([("lr", LogisticRegression())])
    pipe.fit(X[src], y[src], lr__sample_weight=w)
    # the weights reached the step, as without sertl
    ref = LogisticRegression().fit(X[src], y[src], sample_weight=w)
    unweighted = LogisticRegression().fit(X[src], y[src])
    np.testing.assert_allclose(pipe["lr"].coef_, ref.coef_)
    assert not np.allclose(ref.coef_, unweighted.coef_)


def _unlabelled_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.r_[rng.integers(0, 2, 40), -np.ones(20, int)]
    return X, y


def _unlabelled_row_warnings(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [w for w in caught if issubclass(w.category, UnlabeledRowsWarning)]


def test_plain_classifier_after_an_adapter_is_told_to_use_source_only():
    # DESIGN: an unlabelled row must never reach a base estimator as a class;
    # a plain Pipeline cannot stop that, so the adapter says how to fix it
    X, y = _unlabelled_data()
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("svc", SVC())])
    caught = _unlabelled_row_warnings(lambda: pipe.fit(X, y))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'svc' (SVC())" in message and "20 unlabelled rows" in message
    assert "SourceOnly(SVC())" in message
    assert caught[0].filename == __file__  # names the user's line, not joblib's
    assert -1 in pipe.classes_  # what the warning is about


def test_plain_regressor_after_an_adapter_is_told_to_use_source_only():
    from sklearn.linear_model import Ridge

    X, _ = _unlabelled_data()
    y = np.r_[np.tanh(X[:40, 0]), np.full(20, np.nan)]
    y[:3] = -1.0  # values: not counted as unlabelled
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("reg", Ridge())])

    def fit():
        with pytest.raises(ValueError, match="contains NaN"):
            pipe.fit(X, y)

    caught = _unlabelled_row_warnings(fit)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'reg' (Ridge())" in message and "the 20 unlabelled (NaN)" in message
    assert "SourceOnly(Ridge())" in message
    assert caught[0].filename == __file__
    # wrapped as advised: silent, and fitted on the 40 labelled rows
    fixed = Pipeline([("adapt", DomainStandardScaler()), ("reg", SourceOnly(Ridge()))])
    assert _unlabelled_row_warnings(lambda: fixed.fit(X, y)) == []


@pytest.mark.parametrize(
    "last",
    [
        SourceOnly(SVC()),
        Pipeline([("scale", StandardScaler()), ("clf", SourceOnly(SVC()))]),
        GridSearchCV(SourceOnly(LogisticRegression()), {"estimator__C": [1.0]}),
        GridSearchCV(
            Pipeline([("scale", StandardScaler()), ("clf", SourceOnly(SVC()))]),
            {"clf__estimator__C": [1.0]},
        ),
        SelfTrainingClassifier(LogisticRegression()),
        SelfTrainingClassifier(SourceOnly(LogisticRegression())),
        # wrappers inside the transfer estimator, as the warning advises
        SourceOnly(CalibratedClassifierCV(LogisticRegression())),
        SourceOnly(VotingClassifier([("lr", LogisticRegression()), ("svc", SVC())])),
        # a feature selector fits its estimator on y as it is
        RFE(
            SourceOnly(LogisticRegression()),
            n_features_to_select=2,
            importance_getter="estimator_.coef_",
        ),
        # a frozen estimator learns nothing in fit
        FrozenEstimator(SourceOnly(LogisticRegression()).fit(*_unlabelled_data())),
        # these learn no class: they ignore y, or (a regressor) read -1 as a
        # target value
        KMeans(n_clusters=2, n_init=1, random_state=0),
        IsolationForest(random_state=0),
        GaussianMixture(n_components=2, random_state=0),
        Ridge(),
    ],
    ids=[
        "source_only",
        "pipeline_ending_in_source_only",
        "search",
        "search_over_pipeline",
        "semi_supervised",
        "semi_supervised_around_source_only",
        "calibrated_inside_source_only",
        "voting_inside_source_only",
        "feature_selector",
        "frozen",
        "clusterer",
        "outlier_detector",
        "density_estimator",
        "regressor",
    ],
)
def test_last_steps_that_learn_no_class_minus_one_are_not_warned_about(last):
    X, y = _unlabelled_data()
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("last", last)])
    assert _unlabelled_row_warnings(lambda: pipe.fit(X, y)) == []


def test_unlabelled_rows_warning_reaches_through_a_feature_pipeline():
    X, y = _unlabelled_data()
    features = Pipeline(
        [("scale", StandardScaler()), ("adapt", DomainStandardScaler())]
    )
    outer = Pipeline([("features", features), ("lr", LogisticRegression())])
    caught = _unlabelled_row_warnings(lambda: outer.fit(X, y))
    assert caught and "'lr' (LogisticRegression())" in str(caught[0].message)
    # the feature pipeline alone hands y to no classifier
    assert _unlabelled_row_warnings(lambda: features.fit(X, y)) == []


def test_no_unlabelled_rows_warning_without_unlabelled_rows_or_pipeline():
    X, y = _unlabelled_data()
    labelled = Pipeline([("adapt", DomainStandardScaler()), ("svc", SVC())])
    assert _unlabelled_row_warnings(lambda: labelled.fit(X[:40], y[:40])) == []
    assert _unlabelled_row_warnings(lambda: DomainStandardScaler().fit(X, y)) == []


def test_clusterer_inside_a_feature_pipeline_still_warns_for_the_outer_classifier():
    X, y = _unlabelled_data()
    features = Pipeline(
        [("adapt", DomainStandardScaler()), ("km", KMeans(n_clusters=3, n_init=1))]
    )
    outer = Pipeline([("features", features), ("lr", LogisticRegression())])
    caught = _unlabelled_row_warnings(lambda: outer.fit(X, y))
    assert caught and "'lr' (LogisticRegression())" in str(caught[0].message)


def _lr():
    return LogisticRegression()


# (wrapper around a transfer estimator, the fix the warning names)
WRAPPERS = {
    "calibrated": (
        CalibratedClassifierCV(SourceOnly(_lr())),
        SourceOnly(CalibratedClassifierCV(_lr())),
    ),
    "bagging": (
        BaggingClassifier(SourceOnly(_lr()), n_estimators=3, random_state=0),
        SourceOnly(BaggingClassifier(_lr(), n_estimators=3, random_state=0)),
    ),
    "one_vs_rest": (
        OneVsRestClassifier(SourceOnly(_lr())),
        SourceOnly(OneVsRestClassifier(_lr())),
    ),
    "one_vs_one": (
        OneVsOneClassifier(SourceOnly(_lr())),
        SourceOnly(OneVsOneClassifier(_lr())),
    ),
    "voting_member": (
        VotingClassifier([("so", SourceOnly(_lr())), ("svc", SVC())]),
        SourceOnly(VotingClassifier([("so", _lr()), ("svc", SVC())])),
    ),
    # no final_estimator: predict is hidden until fit, the tags still tell
    "stacking_member": (
        StackingClassifier([("so", SourceOnly(_lr())), ("svc", SVC())]),
        SourceOnly(StackingClassifier([("so", _lr()), ("svc", SVC())])),
    ),
    "stacking_final_estimator": (
        StackingClassifier([("svc", SVC())], final_estimator=SourceOnly(_lr())),
        SourceOnly(StackingClassifier([("svc", SVC())], final_estimator=_lr())),
    ),
    # a search hands y on unchanged: the wrapper inside it is the culprit
    "calibrated_in_search": (
        GridSearchCV(CalibratedClassifierCV(SourceOnly(_lr())), {"cv": [3]}),
        SourceOnly(CalibratedClassifierCV(_lr())),
    ),
    "bagging_in_pipeline": (
        Pipeline(
            [
                ("scale", StandardScaler()),
                ("bag", BaggingClassifier(SourceOnly(_lr()), n_estimators=3)),
            ]
        ),
        SourceOnly(BaggingClassifier(_lr(), n_estimators=3)),
    ),
}


@pytest.mark.parametrize(("wrapper", "fix"), WRAPPERS.values(), ids=WRAPPERS.keys())
def test_meta_estimator_around_a_transfer_estimator_is_told_to_go_inside(wrapper, fix):
    # the wrapper takes its classes from y before the transfer estimator can
    # keep the unlabelled rows out: -1 becomes a class
    X, y = _unlabelled_data()
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("clf", wrapper)])
    name = type(fix.estimator).__name__
    fix_repr = " ".join(repr(fix).split())
    match = (
        rf"wraps the transfer estimator SourceOnly in {name}, .*20 unlabelled "
        rf"rows.*Put {name} inside the transfer estimator instead: "
        + re.escape(fix_repr)
    )
    with pytest.warns(UnlabeledRowsWarning, match=match) as record:
        pipe.fit(X, y)
    assert [w.filename for w in record] == [__file__]  # the user's line
    assert -1 in pipe.classes_  # what the warning is about
    # the fix it names keeps -1 out of the classes, without a warning
    fixed = Pipeline([("adapt", DomainStandardScaler()), ("clf", fix)])
    assert _unlabelled_row_warnings(lambda: fixed.fit(X, y)) == []
    assert fixed.classes_.tolist() == [0, 1]


# scikit-learn's wrappers fitted directly, not as a Pipeline step
TOP_LEVEL = {k: WRAPPERS[k] for k in ("calibrated", "bagging", "voting_member")}
TOP_LEVEL["stacking_final_estimator"] = WRAPPERS["stacking_final_estimator"]


@pytest.mark.parametrize(("wrapper", "fix"), TOP_LEVEL.values(), ids=TOP_LEVEL.keys())
def test_meta_estimator_fitted_directly_is_told_to_go_inside(wrapper, fix):
    # without a Pipeline no adapter is there to warn: BaggingClassifier(
    # SourceOnly(...)).fit(X, y) predicted -1 for most target rows silently
    X, y = _unlabelled_data()
    wrapper = clone(wrapper)
    name = type(fix.estimator).__name__
    match = (
        rf"^{name} fits the transfer estimator SourceOnly on y .*the 20 "
        rf"unlabelled rows.*Put {name} inside the transfer estimator instead: "
        + re.escape(" ".join(repr(fix).split()))
    )
    with pytest.warns(UnlabeledRowsWarning, match=match) as record:
        wrapper.fit(X, y)
    assert {w.filename for w in record} == {__file__}  # the user's line
    assert -1 in wrapper.classes_  # what the warning is about
    fixed = clone(fix)
    assert _unlabelled_row_warnings(lambda: fixed.fit(X, y)) == []
    assert fixed.classes_.tolist() == [0, 1]


def test_meta_estimator_in_a_pipeline_with_an_adapter_is_warned_about_once():
    # the adapter warns about the Pipeline's last step; the transfer
    # estimator inside the wrapper says nothing more
    X, y = _unlabelled_data()
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("clf", WRAPPERS["bagging"][0])]
    )
    caught = _unlabelled_row_warnings(lambda: clone(pipe).fit(X, y))
    assert len(caught) == 1
    assert "The last step of this Pipeline" in str(caught[0].message)
    # without an adapter, the wrapper is the one named
    bare = Pipeline([("scale", StandardScaler()), ("clf", WRAPPERS["bagging"][0])])
    caught = _unlabelled_row_warnings(lambda: clone(bare).fit(X, y))
    assert caught and all("BaggingClassifier fits" in str(w.message) for w in caught)


def test_wrappers_that_hand_y_on_stay_quiet_when_fitted_directly():
    X, y = _unlabelled_data()
    search = GridSearchCV(SourceOnly(_lr()), {"estimator__C": [0.1, 1.0]}, cv=2)
    for est in (search, SourceOnly(CalibratedClassifierCV(_lr()))):
        assert _unlabelled_row_warnings(lambda e=est: clone(e).fit(X, y)) == []
    # every row labelled: the wrapper learns no marker, nothing to warn about
    bagging = WRAPPERS["bagging"][0]
    assert _unlabelled_row_warnings(lambda: clone(bagging).fit(X[:40], y[:40])) == []


def test_cross_val_predict_probabilities_warn_about_the_encoded_marker():
    # cross_val_predict encodes y for a probability method: -1 became class
    # 0 of the encoded labels, learnt from the unlabelled rows, silently
    from sklearn.model_selection import KFold, cross_val_predict

    X, y = _unlabelled_data()
    cv = KFold(3, shuffle=True, random_state=0)
    with pytest.warns(UnlabeledRowsWarning, match="^cross_val_predict with a probab"):
        proba = cross_val_predict(
            SourceOnly(_lr()), X, y, cv=cv, method="predict_proba"
        )
    assert proba.shape[1] == 3  # a column for -1: what the warning is about
    quiet = _unlabelled_row_warnings(
        lambda: cross_val_predict(SourceOnly(_lr()), X, y, cv=cv)
    )
    assert quiet == []


@pytest.mark.parametrize("routing", [False, True])
def test_cross_val_predict_probabilities_with_target_domains_say_why_they_fail(
    routing,
):
    # with sample_domain, the encoded marker is a class label on the target
    # rows: sertl refused them as "Labelled target rows carry class(es) [0]
    # that no source row has", rows the user never labelled
    from sklearn.model_selection import cross_val_predict

    X, y = _unlabelled_data()
    sd = np.where(y == -1, -1, np.where(np.arange(len(y)) % 2, 1, 2))
    params = {"sample_domain": sd}
    given = {"params": params} if routing else {"groups": sd, "params": params}
    cv = LeaveOneDomainOut(domains="all")
    with sklearn.config_context(enable_metadata_routing=routing):
        with (
            warnings.catch_warnings(),
            pytest.raises(DomainError) as caught,
        ):
            # the fold that holds the target out trains on no target row:
            # it gets the warning about the encoded marker, as without domains
            warnings.simplefilter("ignore", UnlabeledRowsWarning)
            # and scikit-learn's own about its 2 of the 3 encoded classes
            warnings.simplefilter("ignore", RuntimeWarning)
            cross_val_predict(
                SourceOnly(_lr()), X, y, cv=cv, method="predict_proba", **given
            )
    message = str(caught.value)
    assert message.startswith("cross_val_predict with a probability method")
    assert f"the {int((sd < 0).sum())} target row(s)" in message
    assert "Use method='predict', or cross_validate(" in message
    # method="predict" does not encode y: the same folds predict
    with sklearn.config_context(enable_metadata_routing=routing):
        pred = cross_val_predict(SourceOnly(_lr()), X, y, cv=cv, **given)
    assert pred.shape == y.shape


def test_wrapper_around_a_deeper_transfer_estimator_is_named_by_class():
    X, y = _unlabelled_data()
    inner = Pipeline([("scale", StandardScaler()), ("so", SourceOnly(_lr()))])
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("clf", OneVsRestClassifier(inner))]
    )
    match = r"instead: SourceOnly\(OneVsRestClassifier\(\.\.\.\)\)\.$"
    with pytest.warns(UnlabeledRowsWarning, match=match):
        pipe.fit(X, y)


class _HandsYOn(ClassifierMixin, BaseEstimator):
    """A third-party wrapper that fits a clone of its model on y as given."""

    def __init__(self, model=None):
        self.model = model

    def fit(self, X, y):
        self.model_ = clone(self.model).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_third_party_wrapper_around_a_transfer_estimator_is_trusted():
    # scikit-learn's wrappers are known to encode or split y first; a
    # third-party one may hand it on unchanged, as this one does, so a
    # warning would be a false alarm (and an error under filterwarnings)
    X, y = _unlabelled_data()
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("clf", _HandsYOn(SourceOnly(_lr())))]
    )
    assert _unlabelled_row_warnings(lambda: pipe.fit(X, y)) == []
    assert -1 not in pipe.classes_
    # around a plain classifier it learns -1, and is warned about
    bare = Pipeline([("adapt", DomainStandardScaler()), ("clf", _HandsYOn(_lr()))])
    with pytest.warns(UnlabeledRowsWarning, match=r"'clf' \(_HandsYOn"):
        bare.fit(X, y)
    assert -1 in bare.classes_


class _BuildsItsOwn(ClassifierMixin, BaseEstimator):
    """A third-party classifier whose fit builds a transfer estimator itself."""

    def fit(self, X, y):
        self.model_ = SourceOnly(_lr()).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_wrapper_above_a_search_or_through_cross_val_predict_is_still_found():
    # the walk stopped at the first wrapper that hands y on (a search), so a
    # scikit-learn wrapper above it went unnoticed; cross_val_predict above
    # a found wrapper was skipped; float labels were never counted
    from sklearn.ensemble import BaggingClassifier
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict

    X, y = _unlabelled_data()
    search = GridSearchCV(SourceOnly(_lr()), {"estimator__C": [1.0]}, cv=2)
    with pytest.warns(UnlabeledRowsWarning, match=r"^BaggingClassifier fits the"):
        BaggingClassifier(search, n_estimators=2, random_state=0).fit(X, y)
    cv = KFold(3, shuffle=True, random_state=0)
    bag = BaggingClassifier(SourceOnly(_lr()), n_estimators=2, random_state=0)
    with pytest.warns(UnlabeledRowsWarning, match="^cross_val_predict with a probab"):
        cross_val_predict(bag, X, y, cv=cv, method="predict_proba")
    with pytest.warns(UnlabeledRowsWarning, match=r"^BaggingClassifier fits the"):
        bag.fit(X, y.astype(float))
    # a classifier that builds its own transfer estimator hands y on as given
    assert _unlabelled_row_warnings(lambda: _BuildsItsOwn().fit(X, y)) == []


def test_plain_stacking_classifier_is_warned_about_before_it_has_predict():
    X, y = _unlabelled_data()
    stack = StackingClassifier([("lr", _lr()), ("svc", SVC())])
    assert not hasattr(stack, "predict")  # no final_estimator until fit
    pipe = Pipeline([("adapt", DomainStandardScaler()), ("stack", stack)])
    with pytest.warns(UnlabeledRowsWarning, match=r"'stack' \(StackingClassifier"):
        pipe.fit(X, y)
    assert -1 in pipe.classes_


def test_unlabelled_rows_warning_reaches_through_a_sequential_feature_union():
    # in the same process the frame walk finds the pipeline; with n_jobs=2 the
    # adapter is fitted in a worker and cannot (UnlabeledRowsWarning's Notes)
    X, y = _unlabelled_data()
    union = FeatureUnion([("adapt", DomainStandardScaler()), ("raw", "passthrough")])
    pipe = Pipeline([("features", union), ("lr", _lr())])
    with pytest.warns(UnlabeledRowsWarning, match=r"'lr' \(LogisticRegression\(\)\)"):
        pipe.fit(X, y)


def test_wrapped_estimator_gets_the_callers_column_names():
    # a DataFrame reached the wrapped estimator as an array: a wrapped
    # ColumnTransformer could not select columns by name
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    from sertl_core import TransferEstimator

    X, y, sd, _ = make_domain_data(n_per_domain=20, n_features=4)
    Xdf = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    inner = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), ["f0", "f2"])]),
        LogisticRegression(),
    )
    model = SourceOnly(inner).fit(Xdf, y, sample_domain=sd)
    assert list(model.estimator_.feature_names_in_) == list(Xdf.columns)
    np.testing.assert_array_equal(
        model.predict(Xdf), SourceOnly(inner).fit(Xdf, y).predict(Xdf)
    )
    # without the names (a plain array) the wrapped estimator gets an array
    plain = SourceOnly(LogisticRegression()).fit(X, y, sample_domain=sd)
    assert not hasattr(plain.estimator_, "feature_names_in_")

    class Shifted(TransferEstimator):
        """Maps the rows before the wrapped estimator: it keeps an array."""

        def _fit(self, data):
            rows = data.labeled
            self._fit_estimator(data.X[rows] + 1.0, data.y[rows])

        def _predict_input(self, X, sample_domain):
            return X + 1.0

    mapped = Shifted(LogisticRegression()).fit(Xdf, y, sample_domain=sd)
    assert not hasattr(mapped.estimator_, "feature_names_in_")
    assert mapped.predict(Xdf).shape == (len(Xdf),)


def test_sample_domain_given_to_a_pipeline_without_routing_is_warned_about():
    from sertl_core import SertlWarning

    X, y, sd, _ = _data()
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("clf", SourceOnly(LogisticRegression()))]
    )
    with sklearn.config_context(enable_metadata_routing=False):
        pipe.fit(X, y, adapt__sample_domain=sd)
        # scikit-learn passes it to the last step alone: 'adapt' treated
        # every row as target data
        for method in ("predict", "predict_proba", "predict_log_proba"):
            with pytest.warns(
                SertlWarning,
                match=rf"reached only the last step of this Pipeline, 'clf' "
                rf"\(SourceOnly\).*Pipeline\.{method}\(X, sample_domain=\.\.\.\).*"
                r"\['adapt'\].*sklearn.set_config\(enable_metadata_routing=True\).*"
                "call the steps yourself",
            ) as rec:
                getattr(pipe, method)(X, sample_domain=sd)
            assert rec[0].filename == __file__
        # an adapter nested in an earlier step counts too
        nested = Pipeline(
            [
                ("prep", Pipeline([("s", StandardScaler()), ("a", _pipe()[0])])),
                ("clf", SourceOnly(SVC())),
            ]
        ).fit(X, y)
        with pytest.warns(SertlWarning, match=r"step\(s\) \['prep'\]"):
            nested.predict(X, sample_domain=sd)


def test_sample_domain_reaching_every_step_that_uses_it_is_not_warned_about():
    from sertl_core import SertlWarning

    X, y, sd, _ = _data()
    # any SertlWarning fails the test, whatever pytest's own warning filters
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        with sklearn.config_context(enable_metadata_routing=False):
            # no earlier step maps rows by their domain
            plain = Pipeline([("s", StandardScaler()), ("clf", SourceOnly(SVC()))])
            plain.fit(X, y).predict(X, sample_domain=sd)
            # the steps called one by one, or no sample_domain at all
            pipe = _pipe().fit(X, y, adapt__sample_domain=sd)
            Z = pipe["adapt"].transform(X, sample_domain=sd)
            pipe["clf"].predict(Z, sample_domain=sd)
            pipe.predict(X)
        with sklearn.config_context(enable_metadata_routing=True):
            pipe = _pipe().fit(X, y, sample_domain=sd)
            pipe.predict(X, sample_domain=sd)


class _TargetDomainsInside(SourceOnly):
    """A last step that passes domains of its own to the estimators it combines."""

    def predict(self, X, *, sample_domain=None):
        sd = -np.ones(len(X), dtype=int) if sample_domain is None else sample_domain
        return super().predict(X, sample_domain=sd)


def test_domains_a_last_step_passes_on_itself_are_not_warned_about():
    # as sertl-experiments' TransferVote does: the pipeline got no domains
    X, y, sd, _ = _data()
    pipe = Pipeline(
        [("adapt", DomainStandardScaler()), ("vote", _TargetDomainsInside(SVC()))]
    )
    from sertl_core import SertlWarning

    # any SertlWarning fails the test, whatever pytest's own warning filters
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        with sklearn.config_context(enable_metadata_routing=False):
            pipe.fit(X, y, adapt__sample_domain=sd).predict(X)


def test_pipeline_score_that_drops_sample_domain_is_warned_about():
    from sertl_core import SertlWarning
    from sertl_core.model_selection import TargetScorer
    from sertl_core.testing import make_domain_data

    X, y, sd, yt = make_domain_data()
    pipe = Pipeline([("scale", DomainStandardScaler()), ("clf", SourceOnly())])
    pipe.fit(X, y, scale__sample_domain=sd)
    y_all = y.copy()
    y_all[sd < 0] = yt
    # routing off: scikit-learn hands sample_domain to no step
    with pytest.warns(SertlWarning, match="passes sample_domain to no step") as rec:
        dropped = pipe.score(X, y_all, sample_domain=sd)
    assert rec[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pipe.score(X, y_all) == dropped  # what the warning is about
        TargetScorer()(pipe, X, y_all, sample_domain=sd)
        with sklearn.config_context(enable_metadata_routing=True):
            routed = Pipeline(
                [("scale", DomainStandardScaler()), ("clf", SourceOnly())]
            )
            routed.fit(X, y, sample_domain=sd)
            assert routed.score(X, y_all, sample_domain=sd) > dropped


def test_frozen_adapter_that_misses_the_pipelines_domains_is_warned_about():
    from sertl_core import SertlWarning

    X, y, sd, _ = _data()
    adapter = DomainStandardScaler().fit(X, y, sample_domain=sd)
    expected = adapter.transform(X, sample_domain=sd)
    with sklearn.config_context(enable_metadata_routing=True):
        # FrozenEstimator does not forward the adapter's default request:
        # the Pipeline gives sample_domain to SourceOnly alone, and the
        # frozen adapter scales the source rows with target statistics
        pipe = Pipeline(
            [("adapt", FrozenEstimator(adapter)), ("clf", SourceOnly(SVC()))]
        )
        for call in (
            lambda: pipe.fit(X, y, sample_domain=sd),
            lambda: pipe.predict(X, sample_domain=sd),
            # a search fits the same Pipeline, and a nested one counts too
            lambda: GridSearchCV(pipe, {"clf__estimator__C": [1.0]}, cv=2).fit(
                X, y, sample_domain=sd
            ),
            lambda: Pipeline(
                [
                    ("prep", Pipeline([("a", FrozenEstimator(adapter))])),
                    ("clf", SourceOnly(SVC())),
                ]
            ).fit(X, y, sample_domain=sd),
        ):
            with pytest.warns(
                SertlWarning,
                match=r"sample_domain=\.\.\.\) did not reach the frozen "
                r"DomainStandardScaler: scikit-learn's FrozenEstimator does not "
                r"pass on.*every row as target data.*"
                r"set_transform_request\(sample_domain=True\)",
            ) as rec:
                call()
            assert rec[0].filename == __file__
        # the documented fix: the request set on the instance is forwarded
        adapter.set_transform_request(sample_domain=True)
        fixed = Pipeline(
            [("adapt", FrozenEstimator(adapter)), ("clf", SourceOnly(SVC()))]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", SertlWarning)
            fixed.fit(X, y, sample_domain=sd)
            fixed.predict(X, sample_domain=sd)
            np.testing.assert_allclose(
                fixed[:-1].transform(X, sample_domain=sd), expected
            )
            # no domains given, or the request turned off: nothing to say
            fixed.predict(X)
            adapter.set_transform_request(sample_domain=False)
            Pipeline(
                [("adapt", FrozenEstimator(adapter)), ("clf", SourceOnly(SVC()))]
            ).fit(X, y, sample_domain=sd)
    with sklearn.config_context(enable_metadata_routing=False):
        pipe = Pipeline(
            [("adapt", FrozenEstimator(clone(adapter))), ("clf", SourceOnly(SVC()))]
        )
        pipe.steps[0][1].estimator.fit(X, y, sample_domain=sd)
        with pytest.warns(
            SertlWarning,
            match=r"adapt__sample_domain=\.\.\.\) did not reach the frozen "
            r"DomainStandardScaler: with metadata routing off.*never to "
            r"transform.*enable metadata routing",
        ):
            pipe.fit(X, y, adapt__sample_domain=sd, clf__sample_domain=sd)


def test_frozen_adapter_that_maps_every_domain_alike_is_not_warned_about():
    # SourceStandardScaler (as TCA, JDA) maps every row with the same map:
    # the domains a FrozenEstimator drops change nothing, yet the frozen
    # adapter was said to have "mapped every row as target data"
    from sertl_core import SertlWarning, SourceStandardScaler

    X, y, sd, _ = _data()
    adapter = SourceStandardScaler().fit(X, y, sample_domain=sd)
    assert adapter._uses_domain_in_transform() is False
    expected = adapter.transform(X, sample_domain=sd)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        with sklearn.config_context(enable_metadata_routing=True):
            pipe = Pipeline(
                [("adapt", FrozenEstimator(adapter)), ("clf", SourceOnly(SVC()))]
            )
            pipe.fit(X, y, sample_domain=sd)
            pipe.predict(X, sample_domain=sd)
            np.testing.assert_array_equal(pipe[:-1].transform(X), expected)
        pipe = Pipeline(
            [("adapt", FrozenEstimator(adapter)), ("clf", SourceOnly(SVC()))]
        )
        pipe.fit(X, y, adapt__sample_domain=sd, clf__sample_domain=sd)


class _SourceRowsShifted(SourceOnly):
    """A transfer estimator whose predictions depend on ``sample_domain``."""

    def _predict_input(self, X, sample_domain):
        return X + 3.0 * (sample_domain > 0)[:, None]


def test_frozen_transfer_estimator_or_pipeline_that_misses_the_domains_is_warned_about():
    # the adapter's warning did not cover a frozen fitted transfer estimator,
    # nor a fitted Pipeline frozen whole: with routing on and another step
    # taking sample_domain, they predicted every row as target data silently
    from sertl_core import SertlWarning

    X, y, sd, _ = _data()
    adapt = DomainStandardScaler().fit(X, y, sample_domain=sd)
    Z = adapt.transform(X, sample_domain=sd)
    model = _SourceRowsShifted(LogisticRegression()).fit(Z, y, sample_domain=sd)
    expected = model.predict_proba(Z, sample_domain=sd)
    assert not np.allclose(model.predict_proba(Z), expected)  # the domains matter
    inner = Pipeline([("adapt", DomainStandardScaler()), ("clf", clone(model))]).fit(
        X, y, adapt__sample_domain=sd, clf__sample_domain=sd
    )
    inner_expected = inner[-1].predict_proba(
        inner[0].transform(X, sample_domain=sd), sample_domain=sd
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("adapt", adapt), ("clf", FrozenEstimator(model))])
        with pytest.warns(
            SertlWarning,
            match=r"sample_domain=\.\.\.\) did not reach the frozen _SourceRowsShifted:"
            r".*predicted every row as target data.*"
            r"set_predict_request\(sample_domain=True\) on the _SourceRowsShifted "
            r"before wrapping it",
        ) as rec:
            got = pipe.predict_proba(X, sample_domain=sd)
        assert rec[0].filename == __file__
        assert not np.allclose(got, expected)
        with pytest.warns(
            SertlWarning,
            match=r"did not reach the steps of the frozen Pipeline:.*freeze its "
            r"fitted steps one by one",
        ):
            Pipeline([("adapt", adapt), ("model", FrozenEstimator(inner))]).predict(
                X, sample_domain=sd
            )
        # the documented fixes: the request set before freezing, the steps
        # frozen one by one
        fixed = Pipeline(
            [
                ("adapt", adapt),
                (
                    "clf",
                    FrozenEstimator(
                        clone(model)
                        .fit(Z, y, sample_domain=sd)
                        .set_predict_request(sample_domain=True)
                    ),
                ),
            ]
        )
        one_by_one = Pipeline(
            [
                (
                    n,
                    FrozenEstimator(
                        step.set_transform_request(sample_domain=True)
                        if n == "adapt"
                        else step.set_predict_request(sample_domain=True)
                    ),
                )
                for n, step in inner.steps
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", SertlWarning)
            np.testing.assert_allclose(
                fixed.predict_proba(X, sample_domain=sd), expected
            )
            np.testing.assert_allclose(
                one_by_one.predict_proba(X, sample_domain=sd), inner_expected
            )
    with sklearn.config_context(enable_metadata_routing=False):
        # routing off, the last step gets predict's keywords: nothing lost
        pipe = Pipeline([("prep", "passthrough"), ("clf", FrozenEstimator(model))])
        with warnings.catch_warnings():
            warnings.simplefilter("error", SertlWarning)
            np.testing.assert_allclose(
                pipe.predict_proba(Z, sample_domain=sd), expected
            )


def test_threshold_tuning_goes_inside_the_transfer_estimator():
    from sklearn.model_selection import (
        FixedThresholdClassifier,
        TunedThresholdClassifierCV,
    )

    X, y, sd, _ = _data()
    # binary labels (classes 0 and 1), -1 on the unlabelled target rows
    keep = (y == -1) | (y < 2)
    X, y = X[keep], y[keep]
    assert set(np.unique(y).tolist()) == {-1, 0, 1}
    # around it, scikit-learn reads the marker as a third class (README)
    for outside in (
        TunedThresholdClassifierCV(SourceOnly(LogisticRegression()), cv=3),
        FixedThresholdClassifier(SourceOnly(LogisticRegression())),
    ):
        with pytest.raises(ValueError, match="Only binary classification"):
            outside.fit(X, y)
    # inside, the documented fix: tuned on the labelled rows, real classes out
    clf = SourceOnly(
        TunedThresholdClassifierCV(LogisticRegression(), scoring="balanced_accuracy")
    ).fit(X, y)
    assert set(clf.predict(X).tolist()) <= {0, 1}
    assert clf.estimator_.best_threshold_ is not None
