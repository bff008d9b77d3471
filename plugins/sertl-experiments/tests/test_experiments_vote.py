"""TransferVote: a vote of transfer methods, each training a copy of one classifier."""

import importlib.util

import numpy as np
import pytest
from sertl_experiments import TransferVote
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from sertl_core import DomainStandardScaler, SourceOnly, get_registry
from sertl_core.testing import check_row_order_invariance, parametrize_with_checks

LR = LogisticRegression(max_iter=200)


def _ignore_kernel_width_warning(test):
    """Ignore the KernelWidthWarning of the KMM and KLIEP members, if any.

    sertl-instance is optional here: a warning filter that names a module
    which is not installed stops pytest itself (INTERNALERROR), not the test.
    """
    if importlib.util.find_spec("sertl_instance") is None:
        return test
    return pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")(test)


def _skip_without_a_default_member():
    # TransferVote() votes with the installed unsupervised methods: sertl-feature's,
    # sertl-instance's, sertl-relational's (optional plugins of sertl-experiments)
    plugins = ("sertl_feature", "sertl_instance", "sertl_relational")
    if all(importlib.util.find_spec(p) is None for p in plugins):
        pytest.skip(
            "the default vote needs sertl-feature, sertl-instance or "
            "sertl-relational; none is installed"
        )


@parametrize_with_checks(
    [
        TransferVote(LR, methods=[DomainStandardScaler(), "source_only"]),
        TransferVote(
            LR, methods=["source_standard_scaler", "source_only"], voting="soft"
        ),
        TransferVote(
            LR, methods=[("dss", DomainStandardScaler()), ("plain", "source_only")]
        ),
    ]
)
def test_vote_conformance(estimator, check):
    check(estimator)


@pytest.mark.slow
@_ignore_kernel_width_warning
@parametrize_with_checks([TransferVote(LR)])
def test_vote_of_every_installed_method_conformance(estimator, check):
    _skip_without_a_default_member()
    check(estimator)


@_ignore_kernel_width_warning
def test_a_vote_depends_on_row_order_only_when_a_member_does():
    # the class declared check_row_order_invariance for every vote, so the
    # kit never checked one whose members' fits do not depend on row order
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    plain = TransferVote(LR, methods=["coral", "kmm"])
    declared = plain._sertl_expected_failed_checks
    assert "check_row_order_invariance" not in declared
    assert "check_sample_weight_equivalence_on_dense_data" in declared
    check_row_order_invariance(plain)
    ordered = TransferVote(LR, methods=["coral", ("w", "kliep")])
    reason = ordered._sertl_expected_failed_checks["check_row_order_invariance"]
    assert reason.startswith(
        "a vote's fit depends on row order as its members' fits do: member "
        "'w' (KLIEP): the folds of the likelihood cross-validation"
    )
    # the default members include KLIEP: declared, as before
    default = TransferVote(LR)._sertl_expected_failed_checks
    assert "member 'kliep' (KLIEP)" in default["check_row_order_invariance"]
    # members that do not resolve declare nothing: fit says what is wrong
    unknown = TransferVote(LR, methods=["no_such_method"])
    assert "check_row_order_invariance" not in unknown._sertl_expected_failed_checks


def _task(seed=0, n_source=90, n_target=60):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_source, 4))
    ys = np.array(["anger", "calm", "joy"])[
        np.digitize(Xs[:, 0] + 0.5 * Xs[:, 1], [-0.5, 0.5])
    ]
    Xt = 1.5 * rng.normal(size=(n_target, 4)) + 0.7
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, ["-1"] * n_target]
    sd = np.r_[np.ones(n_source, int), -np.ones(n_target, int)]
    return X, y, sd, Xt


def test_registered_as_vote():
    assert get_registry().get("estimators", "vote") is TransferVote


def test_hard_vote_is_the_majority_and_a_tie_goes_to_the_first_member():
    pytest.importorskip("sertl_feature")
    X, y, sd, Xt = _task()
    vote = TransferVote(
        SVC(), methods=["coral", "domain_standard_scaler", "source_only"]
    ).fit(X, y, sample_domain=sd)
    assert vote.methods_ == ["coral", "domain_standard_scaler", "source_only"]
    # the members as a user would build them by hand
    from sertl_feature import CORAL

    by_hand = [
        make_pipeline(CORAL(), SourceOnly(SVC())),
        make_pipeline(DomainStandardScaler(), SourceOnly(SVC())),
        SourceOnly(SVC()),
    ]
    fit_kw = [
        {"coral__sample_domain": sd, "sourceonly__sample_domain": sd},
        {"domainstandardscaler__sample_domain": sd, "sourceonly__sample_domain": sd},
        {"sample_domain": sd},
    ]
    pred = np.array(
        [m.fit(X, y, **kw).predict(Xt) for m, kw in zip(by_hand, fit_kw, strict=True)]
    )
    expected = []
    for column in pred.T:
        labels, counts = np.unique(column, return_counts=True)
        winners = set(labels[counts == counts.max()])
        expected.append(next(p for p in column if p in winners))
    np.testing.assert_array_equal(vote.predict(Xt), expected)
    assert any(len(set(c)) > 1 for c in pred.T)  # the members do disagree


class _Fixed:
    """A fitted member that always answers the same labels."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def predict(self, X, sample_domain=None):
        return self.labels


def test_a_tie_goes_to_the_member_listed_first():
    X, y, sd, _ = _task(seed=9)
    vote = TransferVote(SVC(), methods=["source_only"]).fit(X, y, sample_domain=sd)
    vote.members_ = [
        ("a", None, _Fixed(["joy", "anger", "calm", "calm", "joy"])),
        ("b", None, _Fixed(["calm", "calm", "anger", "joy", "joy"])),
        ("c", None, _Fixed(["anger", "calm", "joy", "anger", "anger"])),
    ]
    #  row 0: three-way tie -> a; row 1: calm 2-1; row 2: tie -> a;
    #  row 3: tie -> a; row 4: joy 2-1
    expected = ["joy", "calm", "calm", "calm", "joy"]
    np.testing.assert_array_equal(vote.predict(X[:5]), expected)
    vote.members_ = vote.members_[::-1]  # the order decides the ties only
    np.testing.assert_array_equal(
        vote.predict(X[:5]), ["anger", "calm", "joy", "anger", "joy"]
    )


def test_soft_vote_averages_the_members_probabilities():
    pytest.importorskip("sertl_feature")
    X, y, sd, Xt = _task(seed=1)
    vote = TransferVote(LR, methods=["coral", "source_only"], voting="soft")
    vote.fit(X, y, sample_domain=sd)
    members = [
        m.predict_proba(Xt if a is None else a.transform(Xt))
        for _, a, m in vote.members_
    ]
    proba = vote.predict_proba(Xt)
    np.testing.assert_allclose(proba, np.mean(members, axis=0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(vote.predict(Xt), vote.classes_[proba.argmax(1)])
    np.testing.assert_allclose(vote.predict_log_proba(Xt), np.log(proba))


def test_one_member_is_that_method():
    pytest.importorskip("sertl_feature")
    X, y, sd, Xt = _task(seed=2)
    from sertl_feature import CORAL

    vote = TransferVote(SVC(), methods=[CORAL(reg=0.5)]).fit(X, y, sample_domain=sd)
    alone = make_pipeline(CORAL(reg=0.5), SourceOnly(SVC())).fit(
        X, y, coral__sample_domain=sd, sourceonly__sample_domain=sd
    )
    np.testing.assert_array_equal(vote.predict(Xt), alone.predict(Xt))
    assert vote.methods_ == ["coral"]


def test_a_transfer_estimator_member_trains_a_copy_of_the_estimator():
    pytest.importorskip("sertl_instance")
    X, y, sd, Xt = _task(seed=3)
    from sertl_instance import KMM

    template = KMM(LogisticRegression(C=1e-3), random_state=0)
    vote = TransferVote(SVC(), methods=[template]).fit(X, y, sample_domain=sd)
    (_, adapter, model) = vote.members_[0]
    assert adapter is None and isinstance(model.estimator_, SVC)
    assert isinstance(template.estimator, LogisticRegression)  # not changed
    assert not hasattr(template, "weights_")  # the template is not fitted


def test_keeps_the_unlabelled_marker_where_votingclassifier_cannot():
    pytest.importorskip("sertl_feature")
    X, y, sd, Xt = _task(seed=4)
    vote = TransferVote(SVC(), methods=["coral", "source_only"]).fit(
        X, y, sample_domain=sd
    )
    assert list(vote.classes_) == ["anger", "calm", "joy"]
    assert "-1" not in set(vote.predict(X))


@_ignore_kernel_width_warning
def test_default_methods_are_the_auto_candidates():
    _skip_without_a_default_member()
    from sertl_experiments import default_candidates

    X, y, sd, Xt = _task(seed=5)
    vote = TransferVote(SVC()).fit(X, y, sample_domain=sd)
    auto = [r.name.removeprefix("dss+") for r in default_candidates()[2:]]
    assert vote.methods_ == auto
    assert "vote" not in vote.methods_
    assert vote.predict(Xt).shape == (Xt.shape[0],)


def test_prediction_only_methods_follow_the_voting_mode():
    X, y, sd, _ = _task(seed=6)
    hard = TransferVote(LR, methods=["source_only"]).fit(X, y, sample_domain=sd)
    assert not hasattr(hard, "predict_proba")
    assert not hasattr(hard, "decision_function")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'") as e:
        hard.predict_proba(X)
    assert "voting='soft' only" in str(e.value.__cause__)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"methods": ["corall"]}, ValueError, "'corall' is no installed adapter"),
        ({"methods": []}, ValueError, "methods is empty"),
        ({"methods": [SVC()]}, TypeError, "neither a registry name nor a sertl"),
        (
            {"estimator": SVC(), "methods": ["source_only"], "voting": "soft"},
            ValueError,
            "has no predict_proba: use voting='hard'",
        ),
        ({"methods": ["source_only"], "voting": "mean"}, ValueError, "voting"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(kwargs, error, match):
    X, y, sd, _ = _task(seed=7)
    with pytest.raises(error, match=match):
        TransferVote(**kwargs).fit(X, y, sample_domain=sd)


def test_a_regressor_is_refused():
    from sklearn.base import is_classifier, is_regressor
    from sklearn.utils import get_tags

    X, _, sd, _ = _task(seed=7)
    y = np.r_[X[:90, 0], np.full(60, np.nan)]  # NaN marks the unlabelled rows
    vote = TransferVote(LinearRegression(), methods=["source_only"])
    # a classifier whatever it wraps (its tags were the regressor's)
    assert is_classifier(vote)
    assert not is_regressor(vote)
    assert get_tags(vote).regressor_tags is None
    with pytest.raises(
        ValueError,
        match=r"TransferVote learns from class labels.*parameter "
        r"estimator=LinearRegression\(\) is a regressor.*give TransferVote a classifier",
    ):
        vote.fit(X, y, sample_domain=sd)


def test_saved_and_loaded_with_skops(tmp_path):
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_experiments import load_model, save_model

    X, y, sd, Xt = _task(seed=8)
    pipe = make_pipeline(
        DomainStandardScaler(), TransferVote(SVC(), methods=["coral", "kmm"])
    )
    pipe.fit(
        X, y, domainstandardscaler__sample_domain=sd, transfervote__sample_domain=sd
    )
    path = tmp_path / "vote.skops"
    save_model(pipe, path)
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.predict(Xt), pipe.predict(Xt))


def test_random_state_seeds_every_member_or_leaves_their_own():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    import warnings

    from sertl_instance import KMM, KernelWidthWarning

    X, y, sd, Xt = _task(seed=10)
    own = TransferVote(SVC(), methods=[KMM(random_state=5), "coral"]).fit(
        X, y, sample_domain=sd
    )
    assert own.members_[0][2].random_state == 5
    seeded = TransferVote(
        SVC(), methods=[KMM(random_state=5), "coral"], random_state=3
    ).fit(X, y, sample_domain=sd)
    assert seeded.members_[0][2].random_state == 3
    again = TransferVote(
        SVC(), methods=[KMM(random_state=5), "coral"], random_state=3
    ).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(seeded.predict(Xt), again.predict(Xt))
    drawn = TransferVote(
        SVC(), methods=["kmm", "kliep"], random_state=np.random.RandomState(0)
    )
    with warnings.catch_warnings():  # KLIEP may say its width is at a grid edge
        warnings.simplefilter("ignore", KernelWidthWarning)
        drawn.fit(X, y, sample_domain=sd)
    seeds = [m.random_state for _, _, m in drawn.members_]
    assert all(isinstance(s, int) for s in seeds) and seeds[0] != seeds[1]


def test_a_failing_member_is_named():
    pytest.importorskip("sertl_feature")
    from sertl_feature import SubspaceAlignment

    X, y, sd, _ = _task(seed=11)
    vote = TransferVote(SVC(), methods=["coral", SubspaceAlignment(n_components=10)])
    with pytest.raises(ValueError, match="^TransferVote member 2 of 2") as e:
        vote.fit(X, y, sample_domain=sd)
    # the member's own message follows, and its exception is the cause
    assert "'subspace_alignment') failed to fit: n_components=10" in str(e.value)
    assert isinstance(e.value.__cause__, ValueError)


def test_a_registered_step_that_is_no_transfer_method_is_refused():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_speech")
    X, y, sd, _ = _task(seed=12)
    vote = TransferVote(SVC(), methods=["coral", "speaker_normalizer"])
    with pytest.raises(ValueError, match="'speaker_normalizer' .* cannot be a member"):
        vote.fit(X, y, sample_domain=sd)


@pytest.mark.parametrize(
    ("method", "classifier", "match"),
    [
        # a misspelt member stops the run as a misspelt adapter does
        (
            {"params": {"vote": {"methods": ["corall"]}}},
            "svc",
            r"params vote: .*corall",
        ),
        # the scored model uses the plain SVC, which has no probabilities
        (
            {"params": {"vote": {"voting": "soft"}}},
            "svc",
            r"params vote: voting='soft' .*\[classifier\] name",
        ),
        # a hard vote gives no probabilities to score
        (
            {"scorers": ["prediction_entropy"]},
            "svc",
            r"v scorers: prediction_entropy needs class probabilities, "
            r"but v has no predict_proba \(predict_proba is available with "
            r"voting='soft' only",
        ),
        (
            {
                "params": {"vote": {"methods": ["coral"]}},
                "grid": {"vote__voting": ["soft", "hard"]},
                "scorers": ["deep_embedded_validation"],
            },
            "logreg",
            r"v at grid point \{'vote__voting': 'hard'\} has no predict_proba",
        ),
    ],
)
def test_sertl_run_refuses_a_vote_it_cannot_fit_or_score_before_any_cell(
    synthetic_config, synthetic_data, method, classifier, match
):
    pytest.importorskip("sertl_feature")
    from sertl_experiments import ConfigError
    from sertl_experiments._runner import run_experiment

    cfg = synthetic_config(
        methods=[{"name": "v", "estimator": "vote", **method}],
        classifier={"name": classifier},
    )
    with pytest.raises(ConfigError, match=match):
        run_experiment(cfg, data=synthetic_data, progress=False, log=lambda *_: None)
    assert not list(cfg.output.glob("cells/*.json"))


def test_a_members_warning_names_the_line_that_fits_the_vote():
    pytest.importorskip("sertl_instance")
    import warnings

    from sertl_instance import KernelWidthWarning

    X, y, sd, _ = _task(seed=11)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        TransferVote(SVC(), methods=["kliep"]).fit(X, y, sample_domain=sd)
    caught = [w for w in rec if issubclass(w.category, KernelWidthWarning)]
    assert caught, "KLIEP kept an inner width here: pick data at a grid edge"
    assert {w.filename for w in caught} == {__file__}


def test_random_state_reaches_estimators_nested_in_the_classifier():
    pytest.importorskip("sertl_feature")
    from sklearn.calibration import CalibratedClassifierCV

    X, y, sd, _ = _task(seed=12)
    clf = CalibratedClassifierCV(SVC(), ensemble=False)
    vote = TransferVote(
        clf, methods=["coral", "source_only"], voting="soft", random_state=3
    ).fit(X, y, sample_domain=sd)
    for _, _, model in vote.members_:
        assert model.estimator.estimator.random_state == 3  # the nested SVC
    assert clf.estimator.random_state is None  # the user's object is not touched


def test_evaluate_reports_a_hard_vote_that_a_probability_scorer_cannot_score():
    pytest.importorskip("sertl_feature")
    from sertl_experiments import Recipe, evaluate

    X, y, sd, _ = _task(seed=13)
    vote = Recipe("vote", estimator="vote", params={"vote": {"methods": ["coral"]}})
    res, _ = evaluate(
        [vote], X, y, sd, scorers=["prediction_entropy", "reverse_validation"]
    )
    assert np.isnan(res[0]["scores"]["prediction_entropy"])
    assert np.isfinite(res[0]["scores"]["reverse_validation"])
    assert any("no predict_proba" in e for e in res[0]["errors"])


def test_members_that_learn_different_classes_are_refused():
    class WithoutFirstClass(SourceOnly):
        """A member that never learns the first source class."""

        def _fit(self, data):
            rows = data.labeled & data.source
            first = np.unique(data.y[rows])[0]
            keep = rows & (data.y != first)
            self._fit_estimator(data.X[keep], data.y[keep])

    X, y, sd, _ = _task(seed=14)
    vote = TransferVote(SVC(), methods=["source_only", WithoutFirstClass()])
    with pytest.raises(
        ValueError,
        match=r"members learned different classes, .*: 'source_only-1' learned "
        r"\['anger', 'calm', 'joy'\], 'source_only-2' learned \['calm', 'joy'\]\. "
        r"Every method must keep",
    ):
        vote.fit(X, y, sample_domain=sd)


def test_no_installed_method_to_vote_with_is_refused(monkeypatch):
    import sertl_experiments._vote as vote_module

    monkeypatch.setattr(vote_module, "is_auto_candidate", lambda name, cls: False)
    X, y, sd, _ = _task(seed=15)
    with pytest.raises(ValueError, match="found no installed unsupervised method"):
        TransferVote(SVC()).fit(X, y, sample_domain=sd)


def test_sample_weight_reaches_every_member():
    pytest.importorskip("sertl_instance")
    from sertl_instance import KMM

    X, y, sd, _ = _task(seed=5)
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    vote = TransferVote(
        LogisticRegression(),
        methods=[DomainStandardScaler(), KMM(LogisticRegression(), random_state=0)],
    ).fit(X, y, sample_domain=sd, sample_weight=w)
    (_, adapter, model), (_, _, kmm) = vote.members_
    src = sd > 0
    ref = LogisticRegression().fit(
        adapter.transform(X[src], sample_domain=sd[src]), y[src], sample_weight=w[src]
    )
    np.testing.assert_allclose(model.estimator_.coef_, ref.coef_)
    alone = KMM(LogisticRegression(), random_state=0).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    np.testing.assert_allclose(kmm.sample_weight_, alone.sample_weight_)


def test_a_member_that_takes_no_sample_weight_is_named():
    from sertl_core import TransferEstimator

    class Unweighted(TransferEstimator):
        def _fit(self, data):
            rows = data.labeled & data.source
            self._fit_estimator(data.X[rows], data.y[rows])

    X, y, sd, _ = _task()
    vote = TransferVote(LogisticRegression(), methods=["source_only", Unweighted()])
    vote.fit(X, y, sample_domain=sd)  # without weights the member is fine
    with pytest.raises(TypeError, match=r"member 2 of 2.*Unweighted takes no sample_w"):
        vote.fit(X, y, sample_domain=sd, sample_weight=np.full(len(y), 2.0))


# -- members by name: get_params / set_params / clone / GridSearchCV ---------


def test_deep_get_params_lists_each_member_and_its_parameters_by_name():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_feature import CORAL
    from sertl_instance import KMM

    coral, kmm = CORAL(reg=0.5), KMM(B=7.0)
    vote = TransferVote(SVC(), methods=[("c", coral), ("k", kmm)])
    deep = vote.get_params(deep=True)
    assert deep["c"] is coral and deep["k"] is kmm
    assert deep["c__reg"] == 0.5 and deep["k__B"] == 7.0
    assert {f"k__{p}" for p in kmm.get_params()} <= set(deep)
    assert deep["estimator__C"] == 1.0  # the vote's own nested parameters stay
    shallow = vote.get_params(deep=False)
    assert set(shallow) == {"estimator", "sampler", "methods", "voting", "random_state"}
    assert set(shallow) < set(deep)


def test_unnamed_members_are_named_as_make_pipeline_names_steps():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_feature import CORAL

    vote = TransferVote(SVC(), methods=["coral", CORAL(reg=0.5), "source_only"])
    deep = vote.get_params()
    members = [k for k in deep if "__" not in k and k not in vote.get_params(False)]
    assert members == ["coral-1", "coral-2", "source_only"]
    # a member given by registry name shows the parameters it is created with
    assert deep["coral-1"] == "coral" and deep["coral-1__reg"] == CORAL().reg
    assert deep["coral-2__reg"] == 0.5
    X, y, sd, _ = _task(seed=16)
    assert vote.fit(X, y, sample_domain=sd).methods_ == members
    # methods=None: the auto members under their registry names
    auto = TransferVote(SVC())
    assert "kmm" in auto.get_params() and "kmm__B" in auto.get_params()


def test_set_params_sets_a_members_parameter_and_replaces_a_member():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_feature import CORAL, TCA
    from sertl_instance import KMM

    kmm = KMM(random_state=0)
    methods = [("c", "coral"), ("k", kmm)]
    vote = TransferVote(SVC(), methods=methods)
    assert vote.set_params(k__B=5.0, c__reg=2.0, estimator__C=3.0) is vote
    assert kmm.B == 5.0  # the member itself, as Pipeline.set_params does
    assert vote.get_params()["k__B"] == 5.0 and vote.estimator.C == 3.0
    # a member given by registry name is created from the registry first
    (name, coral), _ = vote.methods
    assert name == "c" and isinstance(coral, CORAL) and coral.reg == 2.0
    assert methods[0] == ("c", "coral")  # the caller's list is not changed
    tca = TCA(n_components=2)
    vote.set_params(c=tca)
    assert vote.methods[0] == ("c", tca) and vote.get_params()["c"] is tca
    assert vote.get_params()["c__n_components"] == 2
    # replacing and setting the replacement in one call
    vote.set_params(k=KMM(random_state=1), k__B=9.0)
    assert vote.methods[1][1].B == 9.0 and vote.methods[1][1].random_state == 1
    X, y, sd, _ = _task(seed=17)
    vote.fit(X, y, sample_domain=sd)
    assert vote.methods_ == ["c", "k"]
    assert vote.members_[0][1].n_components == 2 and vote.members_[1][2].B == 9.0


def test_replacing_an_unnamed_member_keeps_every_members_name():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_feature import CORAL

    vote = TransferVote(SVC(), methods=["coral", CORAL(reg=0.5), "source_only"])
    vote.set_params(**{"coral-1": DomainStandardScaler()})
    X, y, sd, _ = _task(seed=18)
    vote.fit(X, y, sample_domain=sd)
    assert vote.methods_ == ["coral-1", "coral-2", "source_only"]
    assert isinstance(vote.members_[0][1], DomainStandardScaler)
    assert vote.members_[1][1].reg == 0.5
    # methods=None becomes the list it stood for, with the member set
    auto = TransferVote(SVC())
    names = [k for k in auto.get_params() if "__" not in k][5:]
    auto.set_params(kmm__B=3.0)
    assert [k for k in auto.get_params() if "__" not in k][5:] == names
    kmm = auto.methods[names.index("kmm")]
    assert kmm[0] == "kmm" and kmm[1].B == 3.0
    assert [m for m in auto.methods if m is not kmm] == [n for n in names if n != "kmm"]


def test_clone_copies_the_members_and_keeps_their_names():
    pytest.importorskip("sertl_instance")
    from sertl_instance import KMM
    from sklearn.base import clone

    kmm = KMM(B=4.0)
    vote = TransferVote(SVC(), methods=[("plain", "source_only"), ("k", kmm)])
    copy = clone(vote)
    assert copy.methods[0] == ("plain", "source_only")
    assert copy.methods[1][0] == "k" and copy.methods[1][1] is not kmm
    assert copy.get_params()["k__B"] == 4.0
    copy.set_params(k__B=8.0)
    assert kmm.B == 4.0  # the original member is not the clone's


def test_grid_search_over_a_members_parameter_fits_that_member_with_it():
    pytest.importorskip("sertl_instance")
    from sertl_instance import KMM
    from sklearn.model_selection import GridSearchCV

    from sertl_core.model_selection import SourceTargetShuffleSplit

    X, y, sd, _ = _task(seed=19)
    vote = TransferVote(
        LogisticRegression(),
        methods=[("dss", "domain_standard_scaler"), ("k", KMM(random_state=0))],
    )

    def fitted_b(est, X, y):
        """Score a candidate by minus the B its fitted KMM member used."""
        return -est.members_[1][2].B

    search = GridSearchCV(
        vote,
        {"k__B": [20.0, 1.0, 1.5]},
        cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
        scoring=fitted_b,
    )
    search.fit(X, y, groups=sd, sample_domain=sd)
    # every candidate's fitted member had the candidate's value
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], [-20, -1, -1.5]
    )
    assert search.best_params_ == {"k__B": 1.0}
    best = search.best_estimator_.members_[1][2]
    assert best.B == 1.0 and best.weights_.max() <= 1.0 + 1e-6  # B bounds them
    loose = clone_with(vote, k__B=20.0).fit(X, y, sample_domain=sd)
    assert loose.members_[1][2].weights_.max() > 1.5  # so the bound mattered
    assert vote.get_params()["k__B"] == KMM().B  # the searched vote is untouched


def clone_with(est, **params):
    """A clone of ``est`` with ``params`` set."""
    from sklearn.base import clone

    return clone(est).set_params(**params)


@pytest.mark.parametrize(
    ("methods", "match"),
    [
        (
            [("a", "coral"), ("a", "source_only")],
            r"names must be unique, but 'a' names 2 members",
        ),
        # an unnamed member takes its registry name, which a pair may clash with
        (
            [("coral", DomainStandardScaler()), "coral"],
            r"names must be unique, but 'coral'.*\(name, method\) pair",
        ),
        ([("my__coral", "coral")], r"'my__coral' contains '__'.*'my_coral'"),
        ([("voting", "coral")], r"'voting' is also a parameter of TransferVote"),
        ([("coral",)], r"\('coral',\) is no \(name, method\) pair"),
        ([(1, "coral")], r"\(1, 'coral'\) is no \(name, method\) pair"),
        ([("", "coral")], r"is no \(name, method\) pair: .*non-empty str"),
    ],
)
def test_bad_member_names_are_refused_at_fit_with_the_fix(methods, match):
    X, y, sd, _ = _task(seed=7)
    vote = TransferVote(SVC(), methods=methods)
    vote.get_params()  # as in scikit-learn, the names are checked at fit
    with pytest.raises(ValueError, match=match):
        vote.fit(X, y, sample_domain=sd)


def test_set_params_refuses_what_names_no_parameter_or_member():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_instance import KMM

    vote = TransferVote(SVC(), methods=[("c", "coral"), ("k", KMM())])
    with pytest.raises(
        ValueError, match=r"Invalid parameter 'kmm' .*members: 'c', 'k'"
    ):
        vote.set_params(kmm__B=5.0)
    with pytest.raises(ValueError, match=r"Invalid parameter 'Bee' for estimator KMM"):
        vote.set_params(k__Bee=5.0)
    bad = TransferVote(SVC(), methods=[("x", "corall")])
    with pytest.raises(ValueError, match=r"'corall' is no installed adapter"):
        bad.set_params(x__reg=1.0)


def test_a_bad_member_parameter_is_refused_before_any_member_fits():
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_instance import KMM

    X, y, sd, _ = _task(seed=7)
    vote = TransferVote(
        SVC(), methods=[("c", "coral"), ("k", KMM())], random_state=0
    ).set_params(k__B=-1.0)
    with pytest.raises(ValueError, match=r"member 2 of 2 \('k'\): The 'B' param"):
        vote.fit(X, y, sample_domain=sd)
    assert not hasattr(vote, "members_")


def _old_form(case):
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_feature import CORAL
    from sertl_instance import KMM

    return {
        "strings": lambda: TransferVote(
            SVC(), methods=["coral", "domain_standard_scaler", "source_only"]
        ),
        "duplicates": lambda: TransferVote(
            SVC(),
            methods=[
                "coral",
                CORAL(reg=0.5),
                KMM(LogisticRegression(), B=5.0, random_state=0),
                "source_only",
            ],
        ),
        "soft": lambda: TransferVote(
            LogisticRegression(),
            methods=["coral", DomainStandardScaler(), "kmm"],
            voting="soft",
            random_state=0,
        ),
    }[case]()


@pytest.mark.parametrize("case", ["strings", "duplicates", "soft"])
def test_the_unnamed_form_predicts_as_the_named_form(case):
    # Unnamed members (registry names, instances, duplicates) get automatic
    # names; naming them by hand changes nothing else. That the vote itself
    # is right is test_hard_vote_is_the_majority_and_a_tie_goes_to_the_first_member's concern.
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    X, y, sd, Xt = _task(seed=20)
    old = _old_form(case).fit(X, y, sample_domain=sd)
    named = _old_form(case)
    named.set_params(methods=[(f"m{i}", m) for i, m in enumerate(named.methods)])
    named.fit(X, y, sample_domain=sd)
    assert named.methods_ == [f"m{i}" for i in range(len(old.methods_))]
    np.testing.assert_array_equal(named.predict(Xt), old.predict(Xt))
    if case == "soft":
        np.testing.assert_array_equal(named.predict_proba(Xt), old.predict_proba(Xt))
    if case == "duplicates":
        assert old.methods_ == ["coral-1", "coral-2", "kmm", "source_only"]


def test_named_members_are_saved_and_loaded_with_skops(tmp_path):
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    from sertl_experiments import load_model, save_model
    from sertl_instance import KMM

    X, y, sd, Xt = _task(seed=8)
    vote = TransferVote(
        SVC(), methods=[("c", "coral"), ("k", KMM(random_state=0))]
    ).set_params(k__B=3.0)
    vote.fit(X, y, sample_domain=sd)
    path = tmp_path / "named.skops"
    save_model(vote, path)
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.predict(Xt), vote.predict(Xt))
    assert loaded.get_params()["k__B"] == 3.0 and loaded.methods_ == ["c", "k"]


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ({"vote__kmm__B": [1.0, 50.0]}, None),
        (
            {"vote__kmm__B": [1.0, -5.0]},
            r"v grid vote__kmm__B: TransferVote member 2 of 2 \('kmm'\): The 'B'",
        ),
        ({"vote__kmn__B": [1.0]}, r"v grid vote__kmn__B: Invalid parameter 'kmn'"),
    ],
)
def test_sertl_run_searches_a_members_parameter(
    synthetic_config, synthetic_data, grid, match
):
    pytest.importorskip("sertl_feature")
    pytest.importorskip("sertl_instance")
    import pandas as pd
    from sertl_experiments import ConfigError
    from sertl_experiments._runner import run_experiment

    method = {
        "name": "v",
        "estimator": "vote",
        "params": {"vote": {"methods": ["coral", "kmm"]}},
        "grid": grid,
    }
    cfg = synthetic_config(methods=[method], protocol={"bootstrap": 20})
    if match is not None:
        with pytest.raises(ConfigError, match=match):
            run_experiment(
                cfg, data=synthetic_data, progress=False, log=lambda *_: None
            )
        assert not list(cfg.output.glob("cells/*.json"))
        return
    run_experiment(cfg, data=synthetic_data, progress=False, log=lambda *_: None)
    df = pd.read_csv(cfg.output / "results.csv")
    assert (df["status"] == "ok").all()
    assert df["best_params"].str.fullmatch(r"vote__kmm__B=(1\.0|50\.0)").all()


def test_set_params_of_the_vote_creates_no_registry_member(monkeypatch):
    # a grid over the vote's own parameters must not build every member
    # named by registry (BaseEstimator.set_params calls get_params(deep=True))
    import sertl_experiments._vote as vote_module

    vote = TransferVote(LogisticRegression(), methods=["coral", "source_only"])
    made = []
    real = vote_module._resolve
    monkeypatch.setattr(
        vote_module, "_resolve", lambda m, reg: made.append(m) or real(m, reg)
    )
    vote.set_params(voting="soft", estimator__C=0.5, methods=["coral"])
    assert made == []
    assert (vote.voting, vote.estimator.C, vote.methods) == ("soft", 0.5, ["coral"])


def test_default_members_leave_out_a_method_named_like_a_vote_parameter(monkeypatch):
    # methods=None took an adapter registered as "voting"; set_params(
    # voting__alpha=...) then failed with "'str' object has no attribute
    # 'set_params'"
    from sertl_core import SertlWarning, hookimpl
    from sertl_core.registry import Registry, make_plugin_manager

    def adapter(name):
        body = {"registry_name": name, "_sertl_auto_candidate": True}
        return type(f"Fake_{name}", (DomainStandardScaler,), body)

    class Plugin:
        @hookimpl
        def sertl_register_adapters(self):
            return [adapter("voting"), adapter("plain_shift")]

    registry = Registry(
        make_plugin_manager(load_entrypoints=False, plugins={"fake": Plugin()})
    )
    monkeypatch.setattr("sertl_core.registry._REGISTRY", registry)
    X, y, sd, _ = _task(seed=3)
    vote = TransferVote(LogisticRegression())
    params = vote.get_params()
    assert "plain_shift__with_std" in params and "voting__with_std" not in params
    with pytest.warns(
        SertlWarning,
        match=r"TransferVote\(methods=None\) leaves out the installed method\(s\) "
        r"'voting': a member's name must not be a parameter of TransferVote "
        r"\(estimator, methods, random_state, sampler, voting\).*name it in "
        r"methods as a \(name, method\) pair, e\.g\. methods=\[\('voting_method', "
        r"'voting'\), \.\.\.\]",
    ) as caught:
        vote.fit(X, y, sample_domain=sd)
    assert caught[0].filename == __file__  # the line that fits the vote
    assert vote.methods_ == ["plain_shift"]
    with pytest.raises(
        ValueError,
        match=r"Invalid parameter 'voting__alpha' for TransferVote: 'voting' is a "
        r"parameter of TransferVote \(voting='hard'\), which has no parameters of "
        r"its own, and no member is named 'voting'.*members: 'plain_shift'\.",
    ):
        vote.set_params(voting__alpha=0.5)
    # the fix the warning gives works, and the method is a member then
    named = TransferVote(
        LogisticRegression(), methods=[("voting_method", "voting"), "plain_shift"]
    )
    named.set_params(voting_method__with_std=False)
    named.fit(X, y, sample_domain=sd)
    assert named.methods_ == ["voting_method", "plain_shift"]
    assert named.members_[0][1].with_std is False


def _two_sources_two_targets(target_ids, seed=3):
    """Sources 5 and 9, two shifted unlabelled targets; X of the second target."""
    rng = np.random.default_rng(seed)
    blocks, labels, domains = [], [], []
    for dom, shift in [(5, 0.0), (9, 0.4), (target_ids[0], 1.0), (target_ids[1], -1.2)]:
        Xd = rng.normal(size=(40, 4)) * (1.0 + abs(shift)) + shift
        blocks.append(Xd)
        labels.append(
            np.where(Xd[:, 0] > shift, "anger", "calm") if dom > 0 else ["-1"] * 40
        )
        domains.append(np.full(40, dom))
    return np.vstack(blocks), np.concatenate(labels), np.concatenate(domains)


@pytest.mark.parametrize("target_ids", [(-2, -3), (-1, -2)])
@pytest.mark.parametrize("voting", ["hard", "soft"])
def test_predict_without_sample_domain_calls_the_members_without_it(target_ids, voting):
    # an omitted sample_domain means "target rows" (DomainStandardScaler: the
    # pooled statistics of every target of fit), not target domain -1: with
    # targets -2/-3 the vote used to raise a DomainError about id -1, with
    # targets -1/-2 it used to scale with domain -1's statistics alone
    X, y, sd = _two_sources_two_targets(target_ids)
    Xt = X[sd == target_ids[1]]
    vote = TransferVote(
        LR, methods=[DomainStandardScaler(), "source_only"], voting=voting
    ).fit(X, y, sample_domain=sd)
    alone = make_pipeline(DomainStandardScaler(), SourceOnly(LR)).fit(
        X,
        y,
        domainstandardscaler__sample_domain=sd,
        sourceonly__sample_domain=sd,
    )
    one = TransferVote(LR, methods=[DomainStandardScaler()], voting=voting).fit(
        X, y, sample_domain=sd
    )
    np.testing.assert_array_equal(one.predict(Xt), alone.predict(Xt))
    _, scaler, model = vote.members_[0]
    pooled = model.predict(scaler.transform(Xt))
    np.testing.assert_array_equal(one.predict(Xt), pooled)
    if target_ids[0] == -1:  # domain -1's own statistics differ from the pool
        first = model.predict(scaler.transform(Xt, sample_domain=np.full(40, -1)))
        assert not np.array_equal(pooled, first)
    votes = np.array(
        [
            model.predict(Xt if a is None else a.transform(Xt))
            for _, a, model in vote.members_
        ]
    )
    if voting == "soft":
        np.testing.assert_allclose(
            one.predict_proba(Xt), alone.predict_proba(Xt), rtol=1e-12
        )
        expected = np.mean(
            [
                m.predict_proba(Xt if a is None else a.transform(Xt))
                for _, a, m in vote.members_
            ],
            axis=0,
        )
        np.testing.assert_allclose(vote.predict_proba(Xt), expected, rtol=1e-12)
    else:
        np.testing.assert_array_equal(vote.predict(Xt), votes[0])  # tie: first
