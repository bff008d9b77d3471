"""The caller's ``sample_weight`` in the neural estimators.

Small networks and few epochs on CPU; ``fits`` records what every skorch fit
saw (training rows and targets, held-out rows and targets).
"""

import numpy as np
import pytest
import sklearn
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)
from sertl_neural._base import class_weights, weighted_cross_entropy
from sertl_neural._dann import _DANNLoss
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import has_fit_parameter

from sertl_core.testing import make_domain_data

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 4, "lr": 1e-2, "random_state": 0}
GENDER = np.where(np.arange(120) % 2 == 0, "f", "m")


@pytest.fixture
def lr_weights(monkeypatch):
    """Record the sample_weight of every LogisticRegression.fit (None if none)."""
    seen = []
    orig = LogisticRegression.fit

    def spy(self, X, y, sample_weight=None):
        seen.append(None if sample_weight is None else np.asarray(sample_weight))
        return orig(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    return seen


def _row_index(clf, X, sd):
    """Map each scaled training row (as bytes) to its row of ``X``."""
    Xs = clf._scaled(X, sd)
    index = {r.tobytes(): i for i, r in enumerate(Xs)}
    assert len(index) == len(Xs)  # every row is distinct
    return lambda rows: np.array([index[r.tobytes()] for r in rows])


def _weights(n, seed=0, zeros=()):
    w = np.random.default_rng(seed).uniform(0.3, 3.0, size=n)
    w[list(zeros)] = 0.0
    return w


def _params(clf):
    return [p.detach().cpu().numpy() for p in clf.module_.parameters()]


# every path that weights reach, for the bit-for-bit and the smoke tests
CASES = [
    pytest.param(FineTuneClassifier(**SMALL, finetune_epochs=3), {}, id="finetune"),
    pytest.param(
        FineTuneClassifier(
            **SMALL,
            finetune_epochs=3,
            finetune_source_weight=0.5,
            pseudo_label_threshold=0.5,
            class_weight="balanced",
            early_stopping=True,
            n_iter_no_change=2,
        ),
        {},
        id="finetune-rehearsal-selftraining-es",
    ),
    pytest.param(
        FineTuneClassifier(
            LogisticRegression(),
            sampler=RandomOverSampler(),
            **SMALL,
            finetune_epochs=2,
            early_stopping=True,
        ),
        {},
        id="finetune-sampler-estimator",
    ),
    pytest.param(
        MultiTaskClassifier(**SMALL, class_weight="balanced", early_stopping=True),
        {"aux": {"gender": GENDER}},
        id="multitask",
    ),
    pytest.param(
        MultiTaskClassifier(**SMALL, task_weighting="gradient_similarity"),
        {"aux": {"gender": GENDER}},
        id="multitask-gated",
    ),
    pytest.param(
        MultiTaskClassifier(**SMALL, task_weighting="uncertainty"),
        {"aux": {"gender": GENDER}},
        id="multitask-uncertainty",
    ),
    pytest.param(
        DANNClassifier(**SMALL, class_weight="balanced", early_stopping=True),
        {},
        id="dann",
    ),
]


@pytest.mark.parametrize(("est", "kw"), CASES)
def test_all_ones_is_bit_for_bit_the_fit_without_weights(few_shot, est, kw):
    X, y, sd, _, _ = few_shot
    plain = sklearn.clone(est).fit(X, y, sample_domain=sd, **kw)
    ones = sklearn.clone(est).fit(
        X, y, sample_domain=sd, sample_weight=[1] * len(y), **kw
    )
    assert np.array_equal(
        plain.predict_proba(X, sample_domain=sd),
        ones.predict_proba(X, sample_domain=sd),
    )
    for a, b in zip(_params(plain), _params(ones), strict=True):
        assert np.array_equal(a, b)


# every case whose whole fit is scale-invariant: the losses are weighted means
# and "balanced" class weights do not depend on the scale of the weights (an
# estimator= trained on the embeddings is not: its regularisation is fixed
# while a weighted loss grows with the weights)
SCALE_FREE = [c for c in CASES if c.id != "finetune-sampler-estimator"]
# torch's own mean of a loss (the unweighted path) and sum(w l) / sum(w) can
# round the last bit apart: the tasks' losses that uncertainty weighting
# combines (DANN's domain loss takes sum(l) / n, which a constant weight
# reproduces exactly)
NOT_BIT_FOR_BIT = {"multitask-uncertainty": ""}


@pytest.mark.parametrize(("est", "kw"), SCALE_FREE)
def test_constant_weights_are_bit_for_bit_the_fit_without_weights(
    few_shot, request, est, kw
):
    # all ones never reach _fit (the core drops them); a constant 2.0 takes
    # the weighted path of every phase and must still give the same fit
    X, y, sd, _, _ = few_shot
    plain = sklearn.clone(est).fit(X, y, sample_domain=sd, **kw)
    twos = sklearn.clone(est).fit(
        X, y, sample_domain=sd, sample_weight=np.full(len(y), 2.0), **kw
    )
    case = request.node.callspec.id
    proba = (
        plain.predict_proba(X, sample_domain=sd),
        twos.predict_proba(X, sample_domain=sd),
    )
    if case == "multitask-uncertainty":
        np.testing.assert_allclose(*proba, rtol=0, atol=1e-6)
    else:
        assert np.array_equal(*proba)
    rounded = NOT_BIT_FOR_BIT.get(case)
    for (name, a), b in zip(
        plain.module_.named_parameters(), _params(twos), strict=True
    ):
        a = a.detach().cpu().numpy()
        if rounded is not None and name.startswith(rounded):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        else:
            assert np.array_equal(a, b), name


@pytest.mark.parametrize(("est", "kw"), CASES)
def test_weighted_fit_runs_and_leaves_the_callers_array_alone(few_shot, est, kw):
    X, y, sd, _, _ = few_shot
    w = _weights(len(y), zeros=range(5))
    w.setflags(write=False)  # a read-only array is fine: it is never written
    before = w.copy()
    clf = sklearn.clone(est).fit(X, y, sample_domain=sd, sample_weight=w, **kw)
    proba = clf.predict_proba(X, sample_domain=sd)
    assert np.isfinite(proba).all()
    assert np.array_equal(w, before)
    plain = sklearn.clone(est).fit(X, y, sample_domain=sd, **kw)
    # the weights change the fit
    assert not np.array_equal(proba, plain.predict_proba(X, sample_domain=sd))


def _mislabelled_source():
    """Source rows of class 0 mostly relabelled 1; their mask and clean rows."""
    X, y, sd, y_tgt = make_domain_data(n_per_domain=60, n_sources=1, random_state=3)
    src = np.flatnonzero(sd > 0)
    zero = src[y[src] == 0]
    wrong = zero[:14]  # 14 of the 20 rows of class 0 say class 1
    y_bad = y.copy()
    y_bad[wrong] = 1
    return X, y_bad, sd, wrong, zero[14:], y_tgt


@pytest.mark.parametrize(
    ("est", "kw"),
    [
        pytest.param(FineTuneClassifier(finetune_epochs=0), {}, id="pretraining"),
        pytest.param(MultiTaskClassifier(), {"aux": {"gender": GENDER}}, id="mt"),
        pytest.param(DANNClassifier(), {}, id="dann"),
    ],
)
def test_zero_weight_on_wrong_labels_keeps_predictions_right(est, kw):
    X, y_bad, sd, wrong, _, y_tgt = _mislabelled_source()
    est = est.set_params(hidden_layer_sizes=(16,), max_epochs=30, lr=1e-2)
    est.set_params(random_state=0)
    w = np.ones(len(y_bad))
    w[wrong] = 0.0
    tgt = sd < 0
    tgt0 = X[tgt][y_tgt == 0]  # target rows of class 0
    heard = sklearn.clone(est).fit(X, y_bad, sample_domain=sd, **kw)
    ignored = sklearn.clone(est).fit(X, y_bad, sample_domain=sd, sample_weight=w, **kw)
    # with weight 1 the wrong labels win class 0's region
    assert (heard.predict(X[wrong], sample_domain=sd[wrong]) == 1).mean() > 0.9
    # with weight 0 they are as good as absent
    assert (ignored.predict(X[wrong], sample_domain=sd[wrong]) == 0).mean() > 0.9
    assert (ignored.predict(tgt0) == 0).mean() > 0.9
    assert (heard.predict(tgt0) == 0).mean() <= 0.6
    assert (ignored.predict(X[tgt]) == y_tgt).mean() > 0.9


def test_zero_weight_on_wrong_target_labels_keeps_fine_tuning_right():
    X, y, sd, y_tgt = make_domain_data(n_per_domain=60, n_sources=1, random_state=3)
    tgt = np.flatnonzero(sd < 0)
    y_few = y.copy()
    y_few[tgt[:45]] = y_tgt[:45]
    zero = tgt[:45][y_tgt[:45] == 0]
    wrong = zero[: int(0.7 * zero.size)]
    y_few[wrong] = 1
    w = np.ones(len(y))
    w[wrong] = 0.0
    # no pretraining: fine-tuning on the labelled target rows alone decides
    est = FineTuneClassifier(
        hidden_layer_sizes=(16,), max_epochs=0, finetune_epochs=40, lr=1e-2,
        random_state=0,
    )  # fmt: skip
    heard = sklearn.clone(est).fit(X, y_few, sample_domain=sd)
    ignored = sklearn.clone(est).fit(X, y_few, sample_domain=sd, sample_weight=w)
    assert (heard.predict(X[wrong]) == 1).mean() > 0.9
    assert (ignored.predict(X[wrong]) == 0).mean() > 0.9
    assert (ignored.predict(X[tgt[45:]]) == y_tgt[45:]).mean() > 0.9


def test_weights_reach_pretraining_and_fine_tuning(few_shot, fits):
    X, y, sd, tgt, _ = few_shot
    w = _weights(len(y), zeros=[0, 1, tgt[0]])
    clf = FineTuneClassifier(**SMALL, finetune_epochs=2).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    rows = _row_index(clf, X, sd)
    pretrain, finetune = fits
    for rec, domain in ((pretrain, sd > 0), (finetune, sd < 0)):
        idx = rows(rec["X"])
        assert domain[idx].all()
        # (class index, the caller's weight) of every training row
        assert rec["y"].shape == (len(idx), 2)
        np.testing.assert_array_equal(rec["y"][:, 0], y[idx])
        np.testing.assert_allclose(rec["y"][:, 1], w[idx], rtol=1e-6)
    # the rows of weight 0 are absent from every phase
    seen = np.concatenate([rows(r["X"]) for r in fits])
    assert not np.isin([0, 1, tgt[0]], seen).any()
    assert clf.n_finetune_rows_ == 11  # 12 labelled target rows, one weighs 0


def test_weights_reach_rehearsal_and_self_training(few_shot, fits):
    X, y, sd, tgt, _ = few_shot
    unl = tgt[12:]
    w = _weights(len(y), seed=1, zeros=[unl[0]])
    fsw, uw = 0.5, 2.0
    clf = FineTuneClassifier(
        **SMALL,
        finetune_epochs=2,
        finetune_source_weight=fsw,
        pseudo_label_threshold=0.0 + 1e-9,  # every unlabelled row is taken
        unlabeled_weight=uw,
    ).fit(X, y, sample_domain=sd, sample_weight=w)
    rows = _row_index(clf, X, sd)
    _, rehearsal, self_training = fits
    idx = rows(rehearsal["X"])
    rw = rehearsal["y"][:, 1].astype(np.float64)
    src, tl = sd[idx] > 0, sd[idx] < 0
    # within each domain the rows weigh in proportion to the caller's weights
    for part in (src, tl):
        np.testing.assert_allclose(rw[part] / w[idx][part], (rw / w[idx])[part][0])
    # the domains keep the total shares finetune_source_weight gives them
    np.testing.assert_allclose(rw[src].sum() / rw[tl].sum(), fsw, rtol=1e-5)
    idx = rows(self_training["X"])
    rw = self_training["y"][:, 1].astype(np.float64)
    pseudo = np.isin(idx, unl)
    assert clf.n_pseudo_labeled_ == [unl.size - 1]  # the row of weight 0 is not
    assert unl[0] not in idx
    np.testing.assert_allclose(rw[pseudo] / w[idx][pseudo], (rw / w[idx])[pseudo][0])
    np.testing.assert_allclose(
        rw[pseudo].sum() / rw[np.isin(idx, tgt[:12])].sum(), uw, rtol=1e-5
    )


def test_weights_reach_the_estimator_on_the_embeddings(few_shot, lr_weights):
    X, y, sd, _, _ = few_shot
    w = _weights(len(y), seed=2)
    seen = lr_weights
    lab = y != -1
    FineTuneClassifier(LogisticRegression(), **SMALL, finetune_epochs=1).fit(
        X, y, sample_domain=sd, sample_weight=w
    )
    np.testing.assert_array_equal(seen[-1], w[lab])
    # through a sampler, the weights follow the copied rows
    FineTuneClassifier(
        LogisticRegression(), sampler=RandomOverSampler(), **SMALL, finetune_epochs=1
    ).fit(X, y, sample_domain=sd, sample_weight=w)
    assert seen[-1].size >= lab.sum()
    assert set(np.round(seen[-1], 12)) <= set(np.round(w[lab], 12))


@pytest.mark.parametrize(
    ("est", "kw"),
    [
        pytest.param(FineTuneClassifier(finetune_source_weight=1.0), {}, id="ft"),
        pytest.param(MultiTaskClassifier(), {"aux": {"gender": GENDER}}, id="mt"),
        pytest.param(DANNClassifier(), {}, id="dann"),
    ],
)
def test_weighted_early_stopping_ignores_zero_weight_rows(few_shot, fits, est, kw):
    X, y, sd, tgt, _ = few_shot
    src = np.flatnonzero(sd > 0)
    zeros = np.concatenate([src[::3], tgt[:12:4]])  # a third of the labelled rows
    w = _weights(len(y), seed=3, zeros=zeros)
    est = est.set_params(**SMALL, early_stopping=True, validation_fraction=0.3)
    clf = est.fit(X, y, sample_domain=sd, sample_weight=w, **kw)
    rows = _row_index(clf, X, sd)
    held = [r["valid"] for r in fits if r["valid"] is not None]
    assert held  # early stopping ran
    for Xv, yv in held:
        idx = rows(Xv)
        assert (w[idx] > 0).all()  # no row of weight 0 is held out
        # the held-out rows carry their weights into the validation loss (in
        # proportion, within each domain)
        ratio = yv[:, -1].astype(np.float64) / w[idx]
        for domain in (sd[idx] > 0, sd[idx] < 0):
            if domain.any():
                np.testing.assert_allclose(ratio[domain], ratio[domain][0], rtol=1e-5)


def test_weighted_losses_weigh_each_row():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 0.0]])
    target = torch.tensor([0, 0, -1, 1])
    cw = torch.tensor([1.0, 3.0])
    rw = torch.tensor([2.0, 0.0, 5.0, 1.0])
    got = weighted_cross_entropy(logits, target, cw, rw)
    # the row of weight 0 and the unlabelled row are as good as absent
    keep = torch.tensor([0, 3])
    ce = torch.nn.functional.cross_entropy(logits[keep], target[keep], reduction="none")
    want = (ce * torch.tensor([2.0 * 1.0, 1.0 * 3.0])).sum() / 5.0
    torch.testing.assert_close(got, want)
    # DANN: a row of weight 0 changes neither the emotion nor the domain loss
    loss = _DANNLoss(None, torch.tensor(1.0), row_weighted=True)
    outputs = (logits, torch.tensor([0.3, -2.0, 0.5, 1.0]))
    y = torch.tensor([[0, 0, 1.0], [0, 1, 0.0], [-1, 1, 1.0], [1, 0, 1.0]])
    y_other = y.clone()
    y_other[1, :2] = torch.tensor([1, 0])  # another label and domain, weight 0
    torch.testing.assert_close(
        loss(outputs, y, None, True), loss(outputs, y_other, None, True)
    )
    # "balanced" counts classes by weight
    w = class_weights(np.array([0, 0, 1, -1]), 2, "balanced", "cpu",
                      sample_weight=np.array([1.0, 3.0, 2.0, 9.0]))  # fmt: skip
    np.testing.assert_allclose(w.numpy(), [6 / (2 * 4), 6 / (2 * 2)])


def _cv_data():
    X, y, sd, y_tgt = make_domain_data(n_per_domain=40, n_sources=1, random_state=5)
    tgt = np.flatnonzero(sd < 0)
    y = y.copy()
    y[tgt[:15]] = y_tgt[:15]
    return X, y, sd, _weights(len(y), seed=4, zeros=range(3))


def _same_fit(a, b, X, sd):
    assert np.array_equal(
        a.predict_proba(X, sample_domain=sd), b.predict_proba(X, sample_domain=sd)
    )


@pytest.mark.parametrize("routing", [False, True])
def test_cross_validate_passes_the_weights_of_each_fold(routing):
    X, y, sd, w = _cv_data()
    est = FineTuneClassifier(**SMALL, finetune_epochs=2)
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            est.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=True
            )
        res = cross_validate(
            est,
            X,
            y,
            cv=cv,
            params={"sample_weight": w, "sample_domain": sd},
            return_estimator=True,
            return_indices=True,
        )
    for fitted, train in zip(res["estimator"], res["indices"]["train"], strict=True):
        direct = FineTuneClassifier(**SMALL, finetune_epochs=2).fit(
            X[train], y[train], sample_domain=sd[train], sample_weight=w[train]
        )
        _same_fit(fitted, direct, X, sd)
    unweighted = FineTuneClassifier(**SMALL, finetune_epochs=2).fit(
        X[train], y[train], sample_domain=sd[train]
    )
    assert not np.array_equal(
        fitted.predict_proba(X, sample_domain=sd),
        unweighted.predict_proba(X, sample_domain=sd),
    )


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_refits_with_the_weights(routing):
    X, y, sd, w = _cv_data()
    est = DANNClassifier(**SMALL)
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            est.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=False
            )
        grid = GridSearchCV(
            est, {"lr": [1e-2, 3e-2]}, cv=KFold(2, shuffle=True, random_state=0)
        ).fit(X, y, sample_weight=w, sample_domain=sd)
    direct = sklearn.clone(est).set_params(**grid.best_params_)
    direct.fit(X, y, sample_domain=sd, sample_weight=w)
    _same_fit(grid.best_estimator_, direct, X, sd)


def test_bad_weights_get_the_cores_errors(few_shot):
    X, y, sd, _, _ = few_shot
    clf = FineTuneClassifier(**SMALL)
    with pytest.raises(ValueError, match="one weight per row of X"):
        clf.fit(X, y, sample_domain=sd, sample_weight=np.ones(len(y) - 1))
    w = np.ones(len(y))
    w[3] = -1.0
    with pytest.raises(ValueError, match="finite and non-negative"):
        MultiTaskClassifier(**SMALL).fit(X, y, sample_weight=w)
    w[3] = np.nan
    with pytest.raises(ValueError, match="finite and non-negative"):
        DANNClassifier(**SMALL).fit(X, y, sample_domain=sd, sample_weight=w)
    zero_labelled = np.where(y == -1, 1.0, 0.0)
    with pytest.raises(ValueError, match="zero for every labelled row"):
        clf.fit(X, y, sample_domain=sd, sample_weight=zero_labelled)


def test_weights_and_samplers_that_cannot_carry_them_are_refused(few_shot):
    X, y, sd, _, _ = few_shot
    w = _weights(len(y))
    with pytest.raises(
        ValueError,
        match=r"SMOTE creates new rows.*Or balance the classes without a sampler: "
        r'FineTuneClassifier\(class_weight="balanced"\) weighs them in the loss '
        r"and keeps your sample_weight\.",
    ):
        FineTuneClassifier(sampler=SMOTE(k_neighbors=2), **SMALL).fit(
            X, y, sample_domain=sd, sample_weight=w
        )
    with pytest.raises(ValueError, match="SMOTE creates new rows"):
        FineTuneClassifier(
            LogisticRegression(), sampler=SMOTE(k_neighbors=2), **SMALL
        ).fit(X, y, sample_domain=sd, sample_weight=w)


@pytest.mark.parametrize(
    ("cls", "name", "why"),
    [
        (DANNClassifier, "dann", "its network trains on the labelled and unlabelled"),
        (MultiTaskClassifier, "multitask", "resampling would separate rows"),
    ],
)
def test_a_sampler_where_none_is_taken_points_to_class_weight(few_shot, cls, name, why):
    # scikit-learn's "must be None" said what was refused, not what to do
    X, y, sd, _, _ = few_shot
    with pytest.raises(
        ValueError,
        match=rf"{cls.__name__} takes no sampler \({why}.*\); got "
        r"sampler=RandomOverSampler\(\)\. To balance the classes, pass "
        rf'class_weight="balanced" .* in a sertl run experiment params = \{{ {name} '
        r'= \{ class_weight = "balanced" \} \}\. Weights of your own go to '
        r"fit\(X, y, sample_weight=w\)\.",
    ):
        cls(sampler=RandomOverSampler(), **SMALL).fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("sampler", [None, RandomOverSampler()], ids=["", "sampler"])
def test_weights_reach_the_final_step_of_a_pipeline_on_the_embeddings(
    few_shot, lr_weights, sampler
):
    # the same route as without the network: the final step takes the
    # weights, so an identity step in front changes nothing at all
    X, y, sd, _, _ = few_shot
    w = _weights(len(y), seed=5)
    seen = lr_weights
    pipe = make_pipeline(FunctionTransformer(), LogisticRegression())
    kw = {"sampler": sampler, **SMALL, "finetune_epochs": 1}
    piped = FineTuneClassifier(pipe, **kw).fit(X, y, sample_domain=sd, sample_weight=w)
    assert seen[-1] is not None
    bare = FineTuneClassifier(LogisticRegression(), **kw)
    bare.fit(X, y, sample_domain=sd, sample_weight=w)
    np.testing.assert_array_equal(seen[-1], seen[-2])
    _same_fit(piped, bare, X, sd)
    unweighted = FineTuneClassifier(pipe, **kw).fit(X, y, sample_domain=sd)
    assert seen[-1] is None
    assert not np.array_equal(
        piped.predict_proba(X, sample_domain=sd),
        unweighted.predict_proba(X, sample_domain=sd),
    )


@pytest.mark.parametrize("sampler", [None, RandomOverSampler()], ids=["", "sampler"])
def test_an_estimator_without_weights_gets_a_weighted_resample(few_shot, sampler):
    # KNeighborsClassifier.fit takes no sample_weight: the core resamples the
    # (resampled) embeddings in proportion to the weights, so rows of weight 0
    # are never among its training rows
    X, y, sd, _, _ = few_shot
    lab = np.flatnonzero(y != -1)
    zeros = lab[::4]
    w = _weights(len(y), seed=6, zeros=zeros)
    est = FineTuneClassifier(
        KNeighborsClassifier(), sampler=sampler, **SMALL, finetune_epochs=1
    )
    clf = sklearn.clone(est).fit(X, y, sample_domain=sd, sample_weight=w)
    emb = clf.embed(X, sample_domain=sd)
    trained = {r.tobytes() for r in clf.estimator_._fit_X}
    assert not any(emb[i].tobytes() in trained for i in zeros)
    assert len(trained) > 1
    again = sklearn.clone(est).fit(X, y, sample_domain=sd, sample_weight=w)
    np.testing.assert_array_equal(clf.estimator_._fit_X, again.estimator_._fit_X)
    # without weights every labelled row trains it
    plain = sklearn.clone(est).fit(X, y, sample_domain=sd)
    emb = plain.embed(X, sample_domain=sd)
    trained = {r.tobytes() for r in plain.estimator_._fit_X}
    assert all(emb[i].tobytes() in trained for i in lab)


def test_autoencoder_offers_no_sample_weight():
    # scikit-learn's tools hand weights to every fit that declares them; the
    # adapter would not apply them, so it must not declare them
    assert not has_fit_parameter(AutoencoderAdapter(), "sample_weight")
    for cls in (FineTuneClassifier, MultiTaskClassifier, DANNClassifier):
        assert has_fit_parameter(cls(), "sample_weight")


@pytest.mark.parametrize("cls", [MultiTaskClassifier, DANNClassifier])
def test_weighted_resample_for_the_estimator_follows_random_state(few_shot, cls):
    # KNeighborsClassifier.fit takes no sample_weight: the core resamples the
    # embeddings by weight, seeded from random_state (it drew from numpy's
    # global generator, so two fits with random_state=0 differed)
    X, y, sd, _, _ = few_shot
    w = _weights(len(y), seed=7)
    est = cls(KNeighborsClassifier(3), **SMALL)
    fitted = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        before = np.random.get_state()
        clf = sklearn.clone(est).fit(X, y, sample_domain=sd, sample_weight=w)
        after = np.random.get_state()
        assert after[2] == before[2]  # no draw from the global generator
        np.testing.assert_array_equal(after[1], before[1])
        fitted.append(clf.estimator_._fit_X)
    np.testing.assert_array_equal(*fitted)
