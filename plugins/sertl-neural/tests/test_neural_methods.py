"""Behaviour of the sertl-neural estimators (small networks, few epochs, CPU)."""

import copy
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
import torch
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)
from sertl_neural._dann import _DANNLoss, ganin_lambda
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sertl_core import (
    DomainError,
    DomainStandardScaler,
    NoTargetWarning,
    Registry,
    SourceOnly,
)
from sertl_core.params import InvalidParameterError
from sertl_core.testing import make_domain_data

SMALL = {"hidden_layer_sizes": (16, 8), "max_epochs": 10, "lr": 1e-2, "random_state": 0}


def _trunk_weights(model):
    return [p.detach().clone() for p in model.module_.trunk.parameters()]


# -- fine-tuning ---------------------------------------------------------


def test_finetune_freeze_all_but_head_keeps_trunk(few_shot):
    X, y, sd, _, _ = few_shot
    base = FineTuneClassifier(**SMALL, finetune_epochs=0).fit(X, y, sample_domain=sd)
    frozen = FineTuneClassifier(**SMALL, finetune_epochs=5, freeze="all_but_head")
    frozen.fit(X, y, sample_domain=sd)
    for a, b in zip(_trunk_weights(base), _trunk_weights(frozen), strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.equal(base.module_.heads[0].weight, frozen.module_.heads[0].weight)
    assert frozen.n_finetune_rows_ == 12 and len(frozen.history_["finetune"]) == 5


def test_finetune_without_labelled_target_rows_says_nothing_was_fine_tuned(few_shot):
    # without sample_domain the labelled target rows are read as source rows:
    # fine-tuning had nothing to train on and was skipped without a word
    from sertl_core import SertlWarning

    X, y, sd, _, _ = few_shot
    clf = FineTuneClassifier(**SMALL, finetune_epochs=3)
    with pytest.warns(SertlWarning, match="finetune_epochs=3 but no labelled target"):
        clf.fit(X, y)
    assert clf.n_finetune_rows_ == 0
    # with the domains the rows are fine-tuned on, and nothing is said; nor
    # about a source-only model (finetune_epochs=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SertlWarning)
        assert clf.fit(X, y, sample_domain=sd).n_finetune_rows_ == 12
        FineTuneClassifier(**SMALL, finetune_epochs=0).fit(X, y)


def test_finetune_freeze_last_k_blocks(few_shot):
    X, y, sd, _, _ = few_shot
    base = FineTuneClassifier(**SMALL, finetune_epochs=0).fit(X, y, sample_domain=sd)
    ft = FineTuneClassifier(**SMALL, finetune_epochs=5, freeze=1).fit(
        X, y, sample_domain=sd
    )
    b0, b1 = base.module_.trunk.blocks, ft.module_.trunk.blocks
    torch.testing.assert_close(b0[0][0].weight, b1[0][0].weight)  # frozen
    assert not torch.equal(b0[1][0].weight, b1[1][0].weight)  # trained
    assert ft.n_trainable_blocks_ == 1


def test_discriminative_learning_rates():
    X, y, sd, _ = make_domain_data(n_per_domain=20)
    clf = FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd)
    clf.set_params(lr_decay=0.5)
    groups = clf._finetune_groups(clf.module_, 1.0)
    assert [g[1]["lr"] for g in groups] == [0.25, 0.5]
    assert [g[0] for g in groups] == ["trunk.blocks.0.*", "trunk.blocks.1.*"]


def test_finetune_beats_source_only_on_shifted_target():
    # Source: classes differ along x0 + x1; target: along -x0 + x1, so the
    # source boundary is at chance on the target.
    rng = np.random.default_rng(0)
    n = 150
    ys, yt = rng.integers(0, 2, n), rng.integers(0, 2, n)
    Xs = rng.normal(size=(n, 4)) + np.c_[3 * ys, 3 * ys, np.zeros((n, 2))]
    Xt = rng.normal(size=(n, 4)) + np.c_[-3 * yt, 3 * yt, np.zeros((n, 2))]
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(n, int), -np.ones(n, int)]
    y = np.r_[ys, np.full(n, -1)]
    y[n : n + 20] = yt[:20]
    test = slice(n + 20, None)
    kw = {**SMALL, "max_epochs": 30}
    src = FineTuneClassifier(**kw, finetune_epochs=0).fit(X, y, sample_domain=sd)
    ft = FineTuneClassifier(**kw, finetune_epochs=40).fit(X, y, sample_domain=sd)
    acc_src = (src.predict(X[test]) == yt[20:]).mean()
    acc_ft = (ft.predict(X[test]) == yt[20:]).mean()
    assert acc_src < 0.65 and acc_ft > 0.75 and acc_ft - acc_src > 0.2


def test_rehearsal_weights_are_class_balanced_per_domain(monkeypatch, few_shot):
    X, y, sd, tgt, _ = few_shot
    seen = []
    orig = FineTuneClassifier._train

    def spy(self, module, X_, y_, loss_fn, **kw):
        seen.append(np.array(y_))
        return orig(self, module, X_, y_, loss_fn, **kw)

    monkeypatch.setattr(FineTuneClassifier, "_train", spy)
    clf = FineTuneClassifier(
        **SMALL, finetune_source_weight=0.25, class_weight="balanced"
    ).fit(X, y, sample_domain=sd)
    y_ft = seen[-1]
    n_t = clf.n_finetune_rows_
    assert y_ft.shape == (n_t + int((sd > 0).sum()), 2)
    cls, w = y_ft[:, 0].astype(int), y_ft[:, 1]
    tw, sw = w[:n_t], w[n_t:]
    assert sw.sum() / tw.sum() == pytest.approx(0.25, rel=1e-5)
    for part, c in ((tw, cls[:n_t]), (sw, cls[n_t:])):
        per_class = [part[c == k].sum() for k in np.unique(c)]
        np.testing.assert_allclose(per_class, per_class[0], rtol=1e-5)
    # joint training from a random start: max_epochs=0 plus rehearsal
    joint = FineTuneClassifier(
        **{**SMALL, "max_epochs": 0}, finetune_epochs=5, finetune_source_weight=1.0
    ).fit(X, y, sample_domain=sd)
    assert joint.history_["pretrain"] == [] and len(joint.history_["finetune"]) == 5
    # without finetune_epochs, max_epochs=0 would train nothing at all
    with pytest.raises(ValueError, match="nothing would be trained.*finetune_epochs"):
        FineTuneClassifier(**{**SMALL, "max_epochs": 0}).fit(X, y, sample_domain=sd)


def test_self_training_pseudo_labels_unlabeled_target_rows(monkeypatch, few_shot):
    X, y, sd, tgt, _ = few_shot
    seen = []
    orig = FineTuneClassifier._train

    def spy(self, module, X_, y_, loss_fn, **kw):
        seen.append((np.array(X_), np.array(y_)))
        return orig(self, module, X_, y_, loss_fn, **kw)

    monkeypatch.setattr(FineTuneClassifier, "_train", spy)
    clf = FineTuneClassifier(
        **SMALL,
        finetune_source_weight=0.5,
        class_weight="balanced",
        pseudo_label_threshold=0.5,
        unlabeled_weight=2.0,
        self_training_rounds=2,
    ).fit(X, y, sample_domain=sd)
    n_unl = int(((sd < 0) & (y == -1)).sum())
    assert len(clf.n_pseudo_labeled_) == 2
    assert all(0 < n <= n_unl for n in clf.n_pseudo_labeled_)
    assert len(clf.history_["self_training"]) == 2 * SMALL["max_epochs"]
    # last round: pseudo-labelled rows first, then labelled target, then source
    Xr, yr = seen[-1]
    n_p, n_t, n_s = clf.n_pseudo_labeled_[-1], clf.n_finetune_rows_, int((sd > 0).sum())
    assert yr.shape == (n_p + n_t + n_s, 2)
    w = yr[:, 1]
    wp, wt, ws = w[:n_p].sum(), w[n_p : n_p + n_t].sum(), w[n_p + n_t :].sum()
    assert wp / wt == pytest.approx(2.0, rel=1e-5)
    assert ws / wt == pytest.approx(0.5, rel=1e-5)
    # the pseudo-labelled rows are unlabelled target rows (scaled), never source
    Xu = clf._scaled(X[(sd < 0) & (y == -1)]).astype(np.float32)
    assert all(np.any(np.all(np.isclose(Xu, row), axis=1)) for row in Xr[:n_p])
    # default: unlabelled rows are ignored
    plain = FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd)
    assert plain.n_pseudo_labeled_ == [] and "self_training" not in plain.history_


def test_self_training_keeps_a_good_source_model_on_a_shifted_target():
    # Source boundary along x0, target shifted in x0 by a constant but the
    # clusters stay separated. Self-training refits on the confident target
    # rows; that is no promise of a gain (over twelve draws of this toy it
    # moved the target accuracy a few points either way, and by -1 point on
    # the few-shot benchmark), but it must keep a good source model good.
    rng = np.random.default_rng(1)
    n = 150
    ys, yt = rng.integers(0, 2, n), rng.integers(0, 2, n)
    Xs = rng.normal(size=(n, 2)) + np.c_[4 * ys, np.zeros(n)]
    Xt = rng.normal(size=(n, 2)) + np.c_[4 * yt + 1.5, 2 * yt]
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(n, int), -np.ones(n, int)]
    y = np.r_[ys, np.full(n, -1)]
    kw = {**SMALL, "max_epochs": 20, "standardize": False}
    src = FineTuneClassifier(**kw).fit(X, y, sample_domain=sd)
    st = FineTuneClassifier(
        **kw, pseudo_label_threshold=0.8, self_training_rounds=2
    ).fit(X, y, sample_domain=sd)
    acc_src = (src.predict(Xt) == yt).mean()
    acc_st = (st.predict(Xt) == yt).mean()
    assert st.n_pseudo_labeled_[0] > 0
    assert acc_src > 0.7
    assert acc_st >= acc_src - 0.05


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pseudo_label_threshold": 0.0}, "pseudo_label_threshold"),
        ({"pseudo_label_threshold": 1.5}, "pseudo_label_threshold"),
        ({"unlabeled_weight": -1.0}, "unlabeled_weight"),
        ({"self_training_rounds": 0}, "self_training_rounds"),
    ],
)
def test_self_training_parameter_errors(params, match, few_shot):
    X, y, sd, _, _ = few_shot
    with pytest.raises(ValueError, match=match):
        FineTuneClassifier(**SMALL, **params).fit(X, y, sample_domain=sd)


def test_init_from_multitask_model(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    mt = MultiTaskClassifier(**SMALL).fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    ft = FineTuneClassifier(
        init_from=mt, max_epochs=0, finetune_epochs=0, random_state=0
    )
    ft.fit(X, y, sample_domain=sd)
    for a, b in zip(_trunk_weights(mt), _trunk_weights(ft), strict=True):
        torch.testing.assert_close(a, b)
    assert ft.trunk_spec_ == mt.trunk_spec_
    # Same emotion classes: the head is carried over as well.
    torch.testing.assert_close(ft.module_.heads[0].weight, mt.module_.heads[0].weight)
    # init_from is not modified by fine-tuning.
    before = _trunk_weights(mt)
    FineTuneClassifier(init_from=mt, max_epochs=2, random_state=0).fit(
        X, y, sample_domain=sd
    )
    for a, b in zip(before, _trunk_weights(mt), strict=True):
        torch.testing.assert_close(a, b)


def test_init_from_errors(few_shot):
    X, y, sd, _, _ = few_shot
    with pytest.raises(ValueError, match="not fitted"):
        FineTuneClassifier(init_from=FineTuneClassifier()).fit(X, y, sample_domain=sd)
    with pytest.raises(TypeError, match="init_from must be a fitted sertl-neural"):
        FineTuneClassifier(init_from=LogisticRegression()).fit(X, y, sample_domain=sd)
    other = FineTuneClassifier(**SMALL).fit(X[:, :3], y, sample_domain=sd)
    with pytest.raises(ValueError, match="fitted on 3 features but X has 6"):
        FineTuneClassifier(init_from=other).fit(X, y, sample_domain=sd)


def test_distill_loss_hook_is_called_with_embeddings(few_shot):
    X, y, sd, _, _ = few_shot
    calls = []

    def mse(student, teacher):
        calls.append((tuple(student.shape), teacher.requires_grad))
        return ((student - teacher) ** 2).mean()

    plain = FineTuneClassifier(**SMALL, finetune_epochs=5).fit(X, y, sample_domain=sd)
    distilled = FineTuneClassifier(
        **SMALL, finetune_epochs=5, distill_loss=mse, distill_weight=10.0
    ).fit(X, y, sample_domain=sd)
    assert calls and all(shape[1] == 8 and not grad for shape, grad in calls)
    assert not np.allclose(plain.embed(X), distilled.embed(X))
    with pytest.raises(InvalidParameterError, match="distill_loss"):
        FineTuneClassifier(distill_loss="rkd").fit(X, y, sample_domain=sd)


def test_sampler_and_class_weight(few_shot):
    from imblearn.over_sampling import RandomOverSampler

    X, y, sd, _, _ = few_shot
    clf = FineTuneClassifier(
        **SMALL, sampler=RandomOverSampler(), class_weight="balanced"
    )
    assert clf.fit(X, y, sample_domain=sd).predict(X).shape == (X.shape[0],)
    with pytest.raises(ValueError, match="not among the labelled classes"):
        FineTuneClassifier(**SMALL, class_weight={7: 2.0}).fit(X, y, sample_domain=sd)


def test_estimator_on_embeddings(few_shot):
    X, y, sd, tgt, y_tgt = few_shot
    clf = FineTuneClassifier(LogisticRegression(), **SMALL).fit(X, y, sample_domain=sd)
    assert isinstance(clf.estimator_, LogisticRegression)
    assert clf.estimator_.n_features_in_ == 8
    assert hasattr(clf, "decision_function")
    assert set(clf.predict(X[tgt]).tolist()) <= set(y_tgt.tolist())


# -- multi-task ------------------------------------------------------------


def test_multitask_missing_labels_and_dataframe(few_shot):
    pd = pytest.importorskip("pandas")
    X, y, sd, _, _ = few_shot
    n = X.shape[0]
    gender = np.tile(["f", "m"], n // 2).astype(object)
    gender[::5] = None  # unknown for some rows
    corpus = np.where(sd > 0, "emodb", "ravdess")  # -1 would read as "unknown"
    aux = pd.DataFrame({"gender": gender, "corpus": corpus})
    mt = MultiTaskClassifier(**SMALL, task_weights={"corpus": 0.5})
    mt.fit(X, y, sample_domain=sd, aux=aux)
    assert mt.tasks_ == ["emotion", "gender", "corpus"]
    assert set(mt.predict_task(X, "gender").tolist()) <= {"f", "m"}
    assert set(mt.predict_task(X, "corpus").tolist()) <= {"emodb", "ravdess"}
    assert -1 not in mt.classes_


def test_multitask_errors(few_shot):
    X, y, sd, _, _ = few_shot
    mt = MultiTaskClassifier(**SMALL)
    with pytest.raises(ValueError, match="has 3 labels but X has"):
        mt.fit(X, y, sample_domain=sd, aux={"gender": ["f", "m", "f"]})
    with pytest.raises(ValueError, match="must not contain 'emotion'"):
        mt.fit(X, y, sample_domain=sd, aux={"emotion": y})
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['arousal'\]"):
        MultiTaskClassifier(**SMALL, task_weights={"arousal": 1.0}).fit(
            X, y, sample_domain=sd
        )
    with pytest.raises(ValueError, match="fewer than two classes"):
        mt.fit(X, y, sample_domain=sd, aux={"gender": np.full(X.shape[0], "f")})
    with pytest.raises(TypeError, match="aux must be a dict"):
        mt.fit(X, y, sample_domain=sd, aux=[1, 2])
    fitted = mt.fit(X, y, sample_domain=sd)
    with pytest.raises(
        ValueError,
        match=r"Unknown task 'gender': this model was fitted on the tasks "
        r"\['emotion'\] .*: pass one of them, or fit with aux=",
    ):
        fitted.predict_task(X, "gender")


def test_multitask_aux_routed_through_pipeline(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile([0, 1], X.shape[0] // 2)
    pipe = Pipeline(
        [("scale", DomainStandardScaler()), ("mt", MultiTaskClassifier(**SMALL))]
    )
    off = pipe.fit(
        X, y, scale__sample_domain=sd, mt__sample_domain=sd, mt__aux={"g": gender}
    )
    assert off[-1].tasks_ == ["emotion", "g"]
    with sklearn.config_context(enable_metadata_routing=True):
        on = sklearn.base.clone(pipe).fit(X, y, sample_domain=sd, aux={"g": gender})
        np.testing.assert_array_equal(on.predict(X), off.predict(X))


def test_multitask_uncertainty_weighting_learns_log_vars(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    fixed = MultiTaskClassifier(**SMALL).fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    unc = MultiTaskClassifier(**SMALL, task_weighting="uncertainty").fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    assert not hasattr(fixed, "task_log_vars_")
    assert fixed.module_.log_vars is None
    assert list(unc.task_log_vars_) == ["emotion", "gender"]
    lv = np.array(list(unc.task_log_vars_.values()))
    assert np.all(np.isfinite(lv)) and np.any(lv != 0.0)  # trained, from zero
    # the learned variances travel with the model
    again = pickle.loads(pickle.dumps(unc))
    np.testing.assert_allclose(
        again.module_.log_vars.detach().cpu().numpy(),
        unc.module_.log_vars.detach().cpu().numpy(),
    )
    np.testing.assert_array_equal(again.predict_proba(X), unc.predict_proba(X))


def test_uncertainty_loss_formula():
    from sertl_neural._base import masked_cross_entropy
    from sertl_neural._multitask import _MultiTaskLoss

    torch.manual_seed(0)
    logits = [torch.randn(6, 3), torch.randn(6, 2)]
    y = torch.tensor([[0, 1], [1, -1], [2, 0], [0, 1], [1, 0], [2, -1]])
    s = torch.tensor([0.5, -0.3])
    loss = _MultiTaskLoss([1.0, 2.0], [None, None], s)(logits, y, None, True)
    ce = [masked_cross_entropy(logits[t], y[:, t]) for t in range(2)]
    expected = sum(
        w * (torch.exp(-s[t]) * ce[t] + 0.5 * s[t]) for t, w in enumerate([1.0, 2.0])
    )
    torch.testing.assert_close(loss, expected)
    # a task without labels in the batch adds no term (no drift of its s_t)
    y_none = y.clone()
    y_none[:, 1] = -1
    loss = _MultiTaskLoss([1.0, 2.0], [None, None], s)(logits, y_none, None, True)
    torch.testing.assert_close(loss, torch.exp(-s[0]) * ce[0] + 0.5 * s[0])


@pytest.mark.parametrize("opposed", [False, True])
def test_gradient_similarity_gates_auxiliary_trunk_gradient(opposed, tiny_mlp_spec):
    from sertl_neural._multitask import _MultiTaskLoss
    from sertl_neural._nets import ClassifierNet, build_trunk

    spec = tiny_mlp_spec
    torch.manual_seed(0)
    x = torch.randn(8, 4)
    y = torch.tensor([0, 1] * 4)
    # the auxiliary task copies the emotion task (same labels, same head): its
    # trunk gradient equals the emotion one, or its opposite when reversed
    net = ClassifierNet(
        build_trunk(spec), [2, 2], reversed_heads=[1] if opposed else []
    )
    net.heads[1].load_state_dict(net.heads[0].state_dict())
    Y = torch.stack([y, y], dim=1)
    first = net.trunk.blocks[0][0].weight
    main = _MultiTaskLoss([1.0, 0.0], [None, None])(net(x), Y, None, True)
    (g_main,) = torch.autograd.grad(main, [first])
    gate = _MultiTaskLoss([1.0, 2.0], [None, None], module=net)
    gate(net(x), Y, None, True).backward()
    expected = g_main if opposed else 3.0 * g_main
    torch.testing.assert_close(first.grad, expected)
    assert net.heads[1].weight.grad.abs().sum() > 0  # the head always learns
    assert (gate.n_seen, gate.n_used) == (1, 0 if opposed else 1)


def test_multitask_gradient_similarity_fit(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    mt = MultiTaskClassifier(**SMALL, task_weighting="gradient_similarity")
    mt.fit(X, y, sample_domain=sd, aux={"gender": gender})
    assert 0.0 <= mt.aux_gradient_share_ <= 1.0
    assert mt.predict(X).shape == (X.shape[0],)
    again = pickle.loads(pickle.dumps(mt))
    np.testing.assert_array_equal(again.predict_proba(X), mt.predict_proba(X))


def test_multitask_task_layers_share_lower_blocks_only(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    mt = MultiTaskClassifier(**SMALL, task_layers={"gender": 1}).fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    net = mt.module_
    assert net.heads[1].in_features == SMALL["hidden_layer_sizes"][0]
    assert net.heads[0].in_features == SMALL["hidden_layer_sizes"][-1]
    # the gender loss reaches block 1 but not block 2
    net.train()
    net.zero_grad()
    Xt = torch.as_tensor(mt._scaled(X), device=mt.device_)
    net(Xt)[1].sum().backward()
    assert net.trunk.blocks[0][0].weight.grad.abs().sum() > 0
    assert net.trunk.blocks[1][0].weight.grad is None
    net.eval()
    assert set(mt.predict_task(X, "gender").tolist()) <= {"f", "m"}
    again = pickle.loads(pickle.dumps(mt))
    np.testing.assert_array_equal(again.predict_proba(X), mt.predict_proba(X))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"task_layers": {"emotion": 1}}, ValueError, "not auxiliary tasks"),
        ({"task_layers": {"gender": 3}}, ValueError, "use 1 to 2"),
        ({"task_layers": {"gender": 0}}, ValueError, "use 1 to 2"),
        ({"task_layers": {"gender": 1.0}}, TypeError, "must be an int"),
        (
            {"task_layers": {"gender": 1}, "task_weighting": "gradient_similarity"},
            ValueError,
            r"cannot be combined with task_weighting='gradient_similarity', .*: "
            r"use task_weighting='fixed' or 'uncertainty', or task_layers=None",
        ),
        ({"task_layers": [1]}, ValueError, "task_layers"),
    ],
)
def test_multitask_task_layers_errors(params, error, match, few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    with pytest.raises(error, match=match):
        MultiTaskClassifier(**SMALL, **params).fit(
            X, y, sample_domain=sd, aux={"gender": gender}
        )


def test_multitask_task_layers_needs_mlp():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 10, 8))
    y = np.repeat([0, 1], 8)
    with pytest.raises(
        ValueError,
        match=r"needs network='mlp', got network='cnn': use network='mlp', or "
        r"leave task_layers=None",
    ):
        MultiTaskClassifier(
            network="cnn", max_epochs=1, task_layers={"g": 1}, random_state=0
        ).fit(X, y, aux={"g": np.tile([0, 1], 8)})


def test_multitask_adversarial_task_reverses_trunk_gradient():
    from sertl_neural._nets import ClassifierNet, build_trunk

    spec = {
        "network": "mlp",
        "n_features": 4,
        "hidden_layer_sizes": (5,),
        "dropout": 0.0,
    }
    x = torch.randn(8, 4)
    grads = []
    for reversed_heads in ((), (1,)):
        torch.manual_seed(0)
        net = ClassifierNet(build_trunk(spec), [3, 2], reversed_heads=reversed_heads)
        net(x)[1].sum().backward()  # the auxiliary head only
        grads.append(
            (net.trunk.blocks[0][0].weight.grad.clone(), net.heads[1].weight.grad)
        )
    torch.testing.assert_close(grads[1][0], -grads[0][0])  # trunk: reversed
    torch.testing.assert_close(grads[1][1], grads[0][1])  # head: unchanged


def test_multitask_adversarial_tasks_fit_and_errors(few_shot):
    X, y, sd, _, _ = few_shot
    gender = np.tile(["f", "m"], X.shape[0] // 2)
    adv = MultiTaskClassifier(**SMALL, adversarial_tasks=["gender"]).fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    assert adv.module_.recipe["reversed_heads"] == [1]
    assert set(adv.predict_task(X, "gender").tolist()) <= {"f", "m"}
    again = pickle.loads(pickle.dumps(adv))
    assert again.module_.recipe["reversed_heads"] == [1]
    np.testing.assert_array_equal(again.predict(X), adv.predict(X))
    for bad in (["emotion"], ["age"]):
        with pytest.raises(ValueError, match="not auxiliary tasks"):
            MultiTaskClassifier(**SMALL, adversarial_tasks=bad).fit(
                X, y, sample_domain=sd, aux={"gender": gender}
            )
    with pytest.raises(ValueError, match="adversarial_tasks"):
        MultiTaskClassifier(**SMALL, adversarial_tasks="gender").fit(
            X, y, sample_domain=sd, aux={"gender": gender}
        )
    with pytest.raises(ValueError, match="task_weighting"):
        MultiTaskClassifier(**SMALL, task_weighting="gradnorm").fit(
            X, y, sample_domain=sd, aux={"gender": gender}
        )


# -- DANN ------------------------------------------------------------------


def test_dann_schedule_and_prediction():
    X, y, sd, y_tgt = make_domain_data(n_per_domain=50, n_sources=1)
    clf = DANNClassifier(**SMALL, adaptation_weight=0.3).fit(X, y, sample_domain=sd)
    p = (SMALL["max_epochs"] - 1) / SMALL["max_epochs"]
    assert clf.module_.grl.lambd == pytest.approx(0.3 * ganin_lambda(p))
    assert -1 not in clf.classes_
    assert (clf.predict(X[sd < 0]) == y_tgt).mean() > 0.5
    const = DANNClassifier(**SMALL, schedule="constant", adaptation_weight=0.3)
    assert const.fit(X, y, sample_domain=sd).module_.grl.lambd == pytest.approx(0.3)


@pytest.mark.parametrize("n_src, n_tgt", [(50, 50), (90, 10), (20, 200)])
def test_dann_domain_loss_gives_each_domain_half_whatever_the_sizes(n_src, n_tgt):
    # Ganin et al. weigh the two domains' mean losses equally (batches of as
    # many source as target examples): adaptation_weight must not shrink on
    # a small source with a large target (it was scaled by 2 n_src / N)
    gen = torch.Generator().manual_seed(0)
    n = n_src + n_tgt
    logits = torch.randn(n, 3, generator=gen)
    dom_logits = torch.randn(n, generator=gen)
    is_target = torch.tensor([0] * n_src + [1] * n_tgt)
    y = torch.stack([torch.tensor([1] * n_src + [-1] * n_tgt), is_target], 1)
    loss = _DANNLoss(None, n_src / n_tgt)
    dom = loss((logits, dom_logits), y, None, True) - loss(
        (logits, dom_logits), y, None, False
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        dom_logits, is_target.float(), reduction="none"
    )
    expected = 0.5 * (bce[:n_src].mean() + bce[n_src:].mean())
    assert float(dom) == pytest.approx(float(expected), rel=1e-5)
    # row weights of 2 give the unweighted loss to the last bit
    y_w = torch.cat([y.float(), torch.full((n, 1), 2.0)], 1)
    weighted = _DANNLoss(None, n_src / n_tgt, row_weighted=True)
    assert float(weighted((logits, dom_logits), y_w, None, True)) == float(
        loss((logits, dom_logits), y, None, True)
    )


@pytest.fixture
def float64_default():
    # a caller's scientific code may run with torch's default dtype float64
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DANNClassifier(**SMALL),
        lambda: FineTuneClassifier(**SMALL),
        lambda: MultiTaskClassifier(**SMALL, task_weighting="uncertainty"),
        lambda: AutoencoderAdapter(
            hidden_layer_sizes=(8,), n_components=3, max_epochs=3, random_state=0
        ),
    ],
    ids=["dann", "finetune", "multitask", "autoencoder"],
)
def test_networks_train_and_load_under_a_float64_default_dtype(float64_default, make):
    # the networks are built in float32, the dtype their inputs are cast to
    # ("mat1 and mat2 must have the same dtype" before)
    X, y, sd, _ = make_domain_data(n_per_domain=30, n_sources=1)
    est = make().fit(X, y, sample_domain=sd)
    out = est.transform if isinstance(est, AutoencoderAdapter) else est.predict_proba
    loaded = pickle.loads(pickle.dumps(est))
    assert all(p.dtype == torch.float32 for p in loaded.module_.parameters())
    np.testing.assert_array_equal(
        (
            loaded.transform
            if isinstance(est, AutoencoderAdapter)
            else loaded.predict_proba
        )(X),
        out(X),
    )
    assert torch.get_default_dtype() == torch.float64


# -- autoencoder -------------------------------------------------------------


def test_autoencoder_outputs_and_names():
    X, y, sd, _ = make_domain_data(n_per_domain=20)
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(8,), n_components=3, max_epochs=3, random_state=0
    ).fit(X, sample_domain=sd)
    assert ae.transform(X).shape == (X.shape[0], 3)
    assert ae.get_feature_names_out().tolist() == [
        f"autoencoderadapter{i}" for i in range(3)
    ]
    assert len(ae.module_.decoders) == 2
    rec = AutoencoderAdapter(
        output="reconstruction",
        mode="pooled",
        noise=0.3,
        noise_type="masking",
        max_epochs=3,
        random_state=0,
    )
    assert rec.fit_transform(X, sample_domain=sd).shape == X.shape
    assert len(rec.module_.decoders) == 1
    assert rec.get_feature_names_out().tolist() == [f"x{i}" for i in range(6)]
    with pytest.raises(ValueError, match="would zero every input"):
        AutoencoderAdapter(noise=1.0, noise_type="masking").fit(X, sample_domain=sd)


def test_autoencoder_concat_output():
    X, y, sd, _ = make_domain_data(n_per_domain=20)
    kw = {"hidden_layer_sizes": (8,), "n_components": 3, "max_epochs": 3}
    code = AutoencoderAdapter(**kw, random_state=0).fit(X, sample_domain=sd)
    cat = AutoencoderAdapter(**kw, output="concat", random_state=0)
    Z = cat.fit_transform(X, sample_domain=sd)
    d = X.shape[1]
    assert Z.shape == (X.shape[0], d + 3)
    # the input part is the standardised input, the code part the same code
    np.testing.assert_allclose(Z[:, :d], (X - X.mean(0)) / X.std(0), atol=1e-5)
    c = code.transform(X)
    corr = [abs(np.corrcoef(c[:, j], Z[:, d + j])[0, 1]) for j in range(3)]
    np.testing.assert_allclose(corr, 1.0, atol=1e-6)
    # code_weight sets the code's share of the total variance
    assert Z[:, d:].var(axis=0).sum() == pytest.approx(d, rel=1e-6)
    half = AutoencoderAdapter(**kw, output="concat", code_weight=0.5, random_state=0)
    Zh = half.fit_transform(X, sample_domain=sd)
    assert Zh[:, d:].var(axis=0).sum() == pytest.approx(d / 2, rel=1e-6)
    assert cat.get_feature_names_out().tolist() == [f"x{i}" for i in range(d)] + [
        f"autoencoderadapter{i}" for i in range(3)
    ]
    with pytest.raises(ValueError, match="code_weight"):
        AutoencoderAdapter(output="concat", code_weight=0).fit(X, sample_domain=sd)


@pytest.mark.parametrize("output", ["code", "reconstruction", "concat"])
def test_autoencoder_keeps_float32_and_matches_float64(output):
    X, y, sd, _ = make_domain_data(n_per_domain=20)
    X32 = X.astype(np.float32)
    kw = {"hidden_layer_sizes": (8,), "n_components": 3, "max_epochs": 3}
    ae = AutoencoderAdapter(**kw, output=output, random_state=0)
    ae.fit(X32, sample_domain=sd)
    Z32 = ae.transform(X32, sample_domain=sd)
    assert Z32.dtype == np.float32
    # the same fitted network on the same values given as float64
    Z64 = ae.transform(X32.astype(np.float64), sample_domain=sd)
    assert Z64.dtype == np.float64
    np.testing.assert_allclose(Z32, Z64, rtol=1e-5, atol=1e-5)
    assert ae.transform(X.astype(int), sample_domain=sd).dtype == np.float64


def test_autoencoder_reconstructs_source_rows_only():
    X, y, sd, _ = make_domain_data(n_per_domain=20)
    kw = {
        "hidden_layer_sizes": (8,),
        "n_components": 3,
        "max_epochs": 3,
        "output": "reconstruction",
        "random_state": 0,
    }
    every = AutoencoderAdapter(**kw).fit(X, sample_domain=sd)
    src_only = AutoencoderAdapter(**kw, reconstruct="source", target_weight=1.0)
    X_before = X.copy()
    Z = src_only.fit_transform(X, sample_domain=sd)
    np.testing.assert_array_equal(X, X_before)
    scaled = (X - X.mean(0)) / X.std(0)
    tgt = sd < 0
    # target rows: their standardised input; source rows: reconstructions
    np.testing.assert_allclose(Z[tgt], scaled[tgt], atol=1e-5)
    assert np.abs(Z[~tgt] - scaled[~tgt]).max() > 1e-2
    same = AutoencoderAdapter(**{**kw, "target_weight": 1.0}).fit(X, sample_domain=sd)
    np.testing.assert_allclose(Z[~tgt], same.transform(X[~tgt], sample_domain=sd[~tgt]))
    # without sample_domain every row is target data: returned unchanged
    np.testing.assert_allclose(src_only.transform(X), scaled, atol=1e-5)
    assert every.transform(X).shape == X.shape
    with pytest.raises(ValueError, match="reconstruct"):
        AutoencoderAdapter(reconstruct="target").fit(X, sample_domain=sd)


def test_autoencoder_reduces_reconstruction_error():
    X, y, sd, _ = make_domain_data(n_per_domain=40)
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(16,), n_components=4, max_epochs=30, lr=1e-2, random_state=0
    ).fit(X, sample_domain=sd)
    losses = [row["train_loss"] for row in ae.history_]
    assert losses[-1] < 0.6 * losses[0]
    pipe = Pipeline([("ae", ae), ("clf", SourceOnly())])
    assert pipe.fit(X, y).predict(X).shape == (X.shape[0],)


# -- log-mel sequences ------------------------------------------------------


SMALL_CONV = {
    "conv_channels": (4,),
    "hidden_layer_sizes": (8,),
    "rnn_hidden": 6,
    "max_epochs": 5,
    "random_state": 0,
}


@pytest.mark.parametrize("network", ["cnn", "crnn"])
def test_conv_networks_on_3d_logmel(network):
    rng = np.random.default_rng(0)
    n, frames, mels = 24, 12, 8
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, frames, mels)).astype(np.float32)
    X[y == 1, :, :4] += 2.0
    sd = np.tile([1, 1, -1], n // 3)
    kw = {"network": network, **SMALL_CONV}
    clf = FineTuneClassifier(**kw, finetune_epochs=2).fit(X, y, sample_domain=sd)
    assert clf.input_shape_ == (frames, mels) and clf.n_features_in_ == frames * mels
    assert clf.predict_proba(X).shape == (n, 2)
    # flattened rows with n_mels give the same model
    flat = FineTuneClassifier(**kw, finetune_epochs=2, n_mels=mels)
    flat.fit(X.reshape(n, -1), y, sample_domain=sd)
    np.testing.assert_allclose(
        flat.predict_proba(X.reshape(n, -1)), clf.predict_proba(X)
    )
    with pytest.raises(ValueError, match="pad or crop"):
        clf.predict(X[:, :, :4].repeat(2, axis=1))
    # a model fitted on flattened rows knows its shape too: 3-D input of the
    # same size but another frames x mels was read as the fitted shape
    reshaped = X.reshape(n, frames * 2, mels // 2)
    with pytest.raises(ValueError, match=r"frames x mels \(24, 4\) but the model "):
        flat.predict(reshaped)
    with pytest.raises(ValueError, match="needs log-mel sequences"):
        FineTuneClassifier(network=network).fit(X.reshape(n, -1), y, sample_domain=sd)
    with pytest.raises(ValueError, match="not a multiple of n_mels=5"):
        FineTuneClassifier(network=network, n_mels=5).fit(
            X.reshape(n, -1)[:, :-2], y, sample_domain=sd
        )


def _padded_toy(n=24, frames=12, mels=8, seed=0):
    """Variable-length log-mel-like sequences padded with NaN at their end."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    lengths = rng.integers(3, frames + 1, size=n)
    X = np.full((n, frames, mels), np.nan)
    for i, k in enumerate(lengths):
        X[i, :k] = rng.normal(size=(k, mels)) + 2.0 * y[i] * (np.arange(mels) < 4)
    return X, y, lengths


@pytest.mark.parametrize("network", ["cnn", "crnn"])
@pytest.mark.parametrize("frames", [9, 10])  # odd and even lengths
def test_conv_trunk_ignores_nan_padding_exactly(network, frames):
    from sertl_neural._nets import ConvTrunk

    kw = {"recurrent": network == "crnn", "rnn_hidden": 5}
    # no dense block: the embedding is the pooled output itself
    short = ConvTrunk((frames, 6), (3, 4), (), 0.0, **kw).eval()
    long = ConvTrunk((frames + 7, 6), (3, 4), (), 0.0, **kw).eval()
    long.load_state_dict(short.state_dict())
    x = torch.randn(2, frames, 6)
    padded = torch.cat([x, torch.full((2, 7, 6), float("nan"))], dim=1)
    with torch.no_grad():
        expected = short(x.reshape(2, -1))
        got = long(padded.reshape(2, -1))
        zero_padded = long(torch.nan_to_num(padded).reshape(2, -1))
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(zero_padded, expected)  # zeros alone would leak


@pytest.mark.parametrize("network", ["cnn", "crnn"])
def test_estimators_take_nan_padded_logmel(network):
    from sertl_neural._nets import ConvTrunk

    X, y, lengths = _padded_toy()
    sd = np.tile([1, 1, -1], len(y) // 3)
    # the exact comparison below runs on the CPU
    kw = {"network": network, **SMALL_CONV, "device": "cpu"}
    clf = FineTuneClassifier(**kw).fit(X, y, sample_domain=sd)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    # standardisation statistics come from the real frames only
    assert clf.input_mean_[0] == pytest.approx(np.nanmean(X))
    # the embedding of a padded row is the network's on the unpadded row
    i = int(np.argmin(lengths))
    k = int(lengths[i])
    short = ConvTrunk(
        (k, 8), (4,), (8,), 0.0, recurrent=network == "crnn", rnn_hidden=6
    )
    short.load_state_dict(clf.module_.trunk.state_dict())
    with torch.no_grad():
        row = torch.as_tensor(clf._scaled(X[i : i + 1].reshape(1, -1))[:, : k * 8])
        expected = short.eval()(row).numpy()
    np.testing.assert_allclose(clf.embed(X[i : i + 1]), expected, rtol=1e-5, atol=1e-6)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    assert MultiTaskClassifier(**kw).fit(X, y, sample_domain=sd).embed(X).shape == (
        len(y),
        8,
    )
    assert DANNClassifier(**kw).fit(X, y, sample_domain=sd).predict(X).shape == (
        len(y),
    )


def test_nan_outside_whole_padding_frames_is_refused():
    X, y, _ = _padded_toy()
    sd = np.tile([1, 1, -1], len(y) // 3)
    kw = {"network": "cnn", "conv_channels": (2,), "max_epochs": 1}
    partial = X.copy()
    partial[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN inside a frame \(row 0\)"):
        FineTuneClassifier(**kw).fit(partial, y, sample_domain=sd)
    empty = X.copy()
    empty[5] = np.nan
    with pytest.raises(ValueError, match="row 5 of X is padding only"):
        FineTuneClassifier(**kw).fit(empty, y, sample_domain=sd)
    clf = FineTuneClassifier(**kw).fit(X, y, sample_domain=sd)
    with pytest.raises(ValueError, match="NaN inside a frame"):
        clf.predict(partial)
    # functional features (MLP) keep scikit-learn's finite-input check
    with pytest.raises(ValueError, match="contains NaN"):
        FineTuneClassifier(max_epochs=1).fit(X.reshape(len(y), -1), y, sample_domain=sd)


def _affine_shift_toy(n=120, seed=0):
    """Two classes; the target corpus is the source scaled by 3 and moved by 10."""
    rng = np.random.default_rng(seed)
    ys, yt = rng.integers(0, 2, n), rng.integers(0, 2, n)
    Xs = rng.normal(size=(n, 4)) + np.c_[3.0 * ys, np.zeros((n, 3))]
    Xt = 3.0 * (rng.normal(size=(n, 4)) + np.c_[3.0 * yt, np.zeros((n, 3))]) + 10.0
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, np.full(n, -1)]
    sd = np.r_[np.ones(n, int), -2 * np.ones(n, int)]
    return X, y, sd, Xt, yt


def test_standardize_domain_scales_each_domain_with_its_own_statistics():
    X, y, sd, Xt, yt = _affine_shift_toy()
    kw = {**SMALL, "max_epochs": 20}
    per_domain = FineTuneClassifier(**kw, standardize="domain").fit(
        X, y, sample_domain=sd
    )
    expected = DomainStandardScaler().fit_transform(X, sample_domain=sd)
    np.testing.assert_allclose(
        per_domain._scaled(X, sd), expected.astype(np.float32), rtol=1e-6
    )
    # without sample_domain the rows are target rows (fitted domain -2)
    assert (per_domain.predict(Xt) == yt).mean() > 0.9
    np.testing.assert_array_equal(
        per_domain.predict_proba(Xt),
        per_domain.predict_proba(Xt, sample_domain=np.full(len(yt), -2)),
    )
    assert per_domain.embed(Xt).shape == (len(yt), SMALL["hidden_layer_sizes"][-1])
    assert not hasattr(per_domain, "input_mean_")
    again = pickle.loads(pickle.dumps(per_domain))
    np.testing.assert_array_equal(again.predict(Xt), per_domain.predict(Xt))
    with pytest.raises(ValueError, match="standardize"):
        AutoencoderAdapter(standardize="domain").fit(X, sample_domain=sd)


@pytest.mark.parametrize("network", ["cnn", "crnn"])
def test_standardize_domain_on_logmel_uses_the_real_frames_per_mel_band(network):
    X, y, _ = _padded_toy(n=48)
    sd = np.tile([1, -1], 24)
    X[sd < 0] = 2.0 * X[sd < 0] - 6.0  # another corpus: gain and level
    y = np.where(sd > 0, y, -1)
    kw = {
        "network": network,
        "conv_channels": (4,),
        "hidden_layer_sizes": (8,),
        "max_epochs": 2,
        "random_state": 0,
        "standardize": "domain",
    }
    clf = FineTuneClassifier(**kw).fit(X, y, sample_domain=sd)
    Z = clf._scaled(X.reshape(48, -1), sd).reshape(X.shape)
    assert np.array_equal(np.isnan(Z), np.isnan(X))  # padding stays padding
    for d in (1, -1):
        frames = Z[sd == d].reshape(-1, X.shape[2])
        frames = frames[~np.isnan(frames).all(axis=1)]
        np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-4)
    assert np.all(np.isfinite(clf.predict_proba(X[sd < 0])))


@pytest.mark.parametrize(
    "cls", [FineTuneClassifier, MultiTaskClassifier, DANNClassifier]
)
@pytest.mark.parametrize("network", ["mlp", "cnn"])
def test_standardize_domain_under_a_global_pandas_output_config(cls, network):
    # sklearn.set_config(transform_output="pandas") made the inner
    # DomainStandardScaler return a DataFrame, which skorch took for named
    # inputs: fit raised "forward() got an unexpected keyword argument 'x0'"
    if network == "mlp":
        X, y, sd = make_domain_data(n_per_domain=12, n_features=4)[:3]
        kw = {"hidden_layer_sizes": (8,)}
    else:
        X, y, _ = _padded_toy(n=24)
        sd = np.tile([1, -1], 12)
        y = np.where(sd > 0, y, -1)
        kw = {"network": "cnn", "conv_channels": (2,), "hidden_layer_sizes": (4,)}
    kw.update(max_epochs=2, random_state=0, standardize="domain")
    expected = cls(**kw).fit(X, y, sample_domain=sd).predict_proba(X)
    with sklearn.config_context(transform_output="pandas"):
        clf = cls(**kw).fit(X, y, sample_domain=sd)
        got = clf.predict_proba(X)
        got_sd = clf.predict_proba(X, sample_domain=sd)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_sd, clf.predict_proba(X, sample_domain=sd))


def test_standardize_domain_explicit_target_ids_keep_their_own_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = np.arange(90) % 2
    X[y == 1, 0] += 2
    sd = np.repeat([1, -1, -2], 30)
    X[sd == -1] = 3 * X[sd == -1] + 5
    clf = FineTuneClassifier(**SMALL, standardize="domain").fit(
        X, np.where(sd < 0, -1, y), sample_domain=sd
    )
    A = X[sd == -1][:3]
    alone = clf.predict_proba(A, sample_domain=[-1, -1, -1])
    mixed = clf.predict_proba(np.vstack([A, X[:1]]), sample_domain=[-1, -1, -1, 1])
    np.testing.assert_allclose(mixed[:3], alone, rtol=1e-6)  # domain -1's own
    # omitted: target rows, scaled with the pooled statistics of -1 and -2
    pooled = clf.domain_scaler_.target_mean_
    np.testing.assert_allclose(
        clf._scaled(A), ((A - pooled) / clf.domain_scaler_.target_scale_), rtol=1e-5
    )
    assert not np.allclose(clf.predict_proba(A), alone)
    only_minus_two = FineTuneClassifier(**SMALL, standardize="domain").fit(
        X[sd != -1],
        np.where(sd[sd != -1] < 0, -1, y[sd != -1]),
        sample_domain=sd[sd != -1],
    )
    with pytest.raises(ValueError, match="-1"):
        only_minus_two.predict(A, sample_domain=[-1, -1, -1])


def test_fine_tuning_a_conv_model_keeps_its_log_mel_input_handling():
    X, y, _ = _padded_toy(n=36, frames=10, mels=6)
    sd = np.tile([1, 1, -1], 12)
    kw = {"max_epochs": 2, "random_state": 0, "device": "cpu"}
    src = FineTuneClassifier(network="cnn", conv_channels=(3,), **kw).fit(
        X, y, sample_domain=sd
    )
    # network is left at its default ("mlp"): init_from's trunk decides
    ft = FineTuneClassifier(init_from=src, standardize="domain", **kw)
    ft.fit(X, y, sample_domain=sd)
    assert ft.domain_scaler_.n_features_in_ == 6  # per mel band, not per column
    assert np.all(np.isfinite(ft.predict_proba(X)))
    flat = FineTuneClassifier(init_from=src, **kw).fit(
        X.reshape(36, -1), y, sample_domain=sd
    )
    assert flat.predict(X.reshape(36, -1)).shape == (36,)


def test_clones_share_a_pretrained_init_from(few_shot):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y, sd, _, _ = few_shot
    src = FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd)
    ft = FineTuneClassifier(**{**SMALL, "lr": 3e-3}, init_from=src)
    twin = clone(ft)
    assert twin.init_from is src and twin.get_params()["lr"] == 3e-3
    # the rest is scikit-learn's clone, metadata requests included
    with sklearn.config_context(enable_metadata_routing=True):
        quiet = clone(ft).set_fit_request(sample_domain=False)
        requests = clone(quiet).get_metadata_routing().fit.requests
    assert requests["sample_domain"] is False
    # each split fits a clone: it must fine-tune from the fitted model
    scores = cross_val_score(ft, X, y, cv=2, params={"sample_domain": sd})
    assert scores.shape == (2,) and np.all(np.isfinite(scores))


def test_sampler_that_cannot_take_nan_padding_gets_a_clear_error():
    SMOTE = pytest.importorskip("imblearn.over_sampling").SMOTE
    X, y, _ = _padded_toy()
    sd = np.tile([1, 1, -1], len(y) // 3)
    clf = FineTuneClassifier(network="cnn", conv_channels=(2,), max_epochs=1)
    with pytest.raises(ValueError, match="cannot take NaN-padded log-mel rows"):
        clf.set_params(sampler=SMOTE(k_neighbors=2)).fit(X, y, sample_domain=sd)


def test_multitask_and_dann_accept_3d():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(18, 6, 4))
    y = np.tile([0, 1, -1], 6)
    kw = {
        "network": "cnn",
        "conv_channels": (3,),
        "hidden_layer_sizes": (),
        "max_epochs": 2,
        "random_state": 0,
    }
    assert MultiTaskClassifier(**kw).fit(X, y).embed(X).shape == (18, 3)
    assert DANNClassifier(**kw).fit(X, y).predict(X).shape == (18,)


# -- engineering: determinism, global state, persistence, device, progress --


@pytest.mark.parametrize(
    "cls", [FineTuneClassifier, MultiTaskClassifier, DANNClassifier]
)
def test_deterministic_and_no_global_rng_change(cls, few_shot):
    X, y, sd, _, _ = few_shot
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = cls(**SMALL).fit(X, y, sample_domain=sd).predict_proba(X)
    b = cls(**SMALL).fit(X, y, sample_domain=sd).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    c = cls(**{**SMALL, "random_state": 1}).fit(X, y, sample_domain=sd).predict_proba(X)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("cls", [FineTuneClassifier, MultiTaskClassifier])
def test_early_stopping_with_fewer_training_rows_than_classes(cls):
    # 6 classes x 2 rows, 60 % held out: the 5 training rows cannot hold
    # every class, so the split must not be stratified (it used to raise)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3))
    y = np.r_[np.repeat(np.arange(6), 2), [-1] * 4]  # + 4 unlabelled target rows
    sd = np.r_[np.ones(12, dtype=int), -np.ones(4, dtype=int)]
    clf = cls(
        hidden_layer_sizes=(4,),
        max_epochs=2,
        early_stopping=True,
        validation_fraction=0.6,
        random_state=0,
    ).fit(X, y, sample_domain=sd)
    history = clf.history_["pretrain"] if cls is FineTuneClassifier else clf.history_
    assert len(history) == 2 and all("valid_loss" in row for row in history)


def test_refit_drops_attributes_of_the_earlier_configuration(few_shot):
    X, y, sd, _, _ = few_shot
    aux = {"c": sd > 0}
    mt = MultiTaskClassifier(**SMALL, task_weighting="uncertainty")
    mt.fit(X, y, sample_domain=sd, aux=aux)
    mt.set_params(task_weighting="gradient_similarity").fit(
        X, y, sample_domain=sd, aux=aux
    )
    assert not hasattr(mt, "task_log_vars_") and hasattr(mt, "aux_gradient_share_")
    mt.set_params(task_weighting="fixed").fit(X, y, sample_domain=sd, aux=aux)
    assert not hasattr(mt, "aux_gradient_share_")
    ft = FineTuneClassifier(**SMALL, finetune_epochs=1).fit(X, y, sample_domain=sd)
    assert ft.n_trainable_blocks_ == 2
    ft.set_params(finetune_epochs=0).fit(X, y, sample_domain=sd)  # source only
    assert not hasattr(ft, "n_trainable_blocks_")


def test_pickle_and_skops_round_trip(few_shot):
    sio = pytest.importorskip("skops.io")
    X, y, sd, _, _ = few_shot
    models = [
        FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd),
        MultiTaskClassifier(**SMALL).fit(X, y, sample_domain=sd, aux={"c": sd > 0}),
        DANNClassifier(**SMALL).fit(X, y, sample_domain=sd),
    ]
    for model in models:
        expected = model.predict_proba(X)
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(again.predict_proba(X), expected)
        blob = sio.dumps(model)
        loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)
        assert isinstance(model.module_, torch.nn.Module)  # the original is untouched
    ae = AutoencoderAdapter(max_epochs=2, random_state=0).fit(X, sample_domain=sd)
    blob = sio.dumps(ae)
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))


def test_loading_a_model_leaves_the_global_torch_generator_alone(few_shot):
    # rebuilding the network draws initial weights that the saved ones
    # replace: unpickling, deepcopy and skops loading must not consume the
    # caller's random stream
    sio = pytest.importorskip("skops.io")
    X, y, sd, _, _ = few_shot
    model = FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd)
    pickled, skopsed = pickle.dumps(model), sio.dumps(model)
    loads = {
        "pickle": lambda: pickle.loads(pickled),
        "deepcopy": lambda: copy.deepcopy(model),
        "skops": lambda: sio.loads(
            skopsed, trusted=sio.get_untrusted_types(data=skopsed)
        ),
    }
    for how, load in loads.items():
        torch.manual_seed(123)
        before = torch.get_rng_state().clone()
        again = load()
        assert torch.equal(before, torch.get_rng_state()), how
        np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_a_search_over_frozen_pretrained_models(few_shot):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import GridSearchCV

    X, y, sd, _, _ = few_shot
    sources = [
        FineTuneClassifier(**{**SMALL, "random_state": seed}).fit(
            X, y, sample_domain=sd
        )
        for seed in (0, 1)
    ]
    ft = FineTuneClassifier(**{**SMALL, "max_epochs": 0, "finetune_epochs": 1})
    # a search clones every value of its grid: a bare fitted model arrives
    # unfitted, and the message says what to do
    search = GridSearchCV(ft, {"init_from": sources}, cv=2, error_score="raise")
    with pytest.raises(ValueError, match=r"FrozenEstimator\(model\)"):
        search.fit(X, y, sample_domain=sd)
    frozen = [FrozenEstimator(src) for src in sources]
    search = GridSearchCV(ft, {"init_from": frozen}, cv=2, error_score="raise")
    with warnings.catch_warnings():
        # cv=2 splits by row order: one training fold holds target rows but
        # none of the labelled ones, which it says (nothing to fine-tune on)
        warnings.filterwarnings("ignore", ".*nothing was fine-tuned")
        search.fit(X, y, sample_domain=sd)
    assert search.best_params_["init_from"] in frozen
    best = search.best_estimator_
    # the fine-tuned trunk started from the chosen frozen model's
    direct = FineTuneClassifier(
        **{**SMALL, "max_epochs": 0, "finetune_epochs": 1},
        init_from=search.best_params_["init_from"].estimator,
    ).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(best.predict_proba(X), direct.predict_proba(X))


def test_device_errors_and_auto(few_shot):
    X, y, sd, _, _ = few_shot
    with pytest.raises(ValueError, match="is not supported: use 'auto'"):
        FineTuneClassifier(**SMALL, device="tpu").fit(X, y, sample_domain=sd)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="PyTorch sees no CUDA device"):
            FineTuneClassifier(**SMALL, device="cuda").fit(X, y, sample_domain=sd)
        assert FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd).device_ == "cpu"


def test_model_trained_on_a_gpu_loads_on_the_cpu_where_none_is_seen(
    few_shot, monkeypatch
):
    X, y, sd, _, _ = few_shot
    clf = FineTuneClassifier(**SMALL, device="cpu").fit(X, y, sample_domain=sd)
    expected = clf.predict_proba(X)
    clf.device_ = "cuda:0"  # as saved by a model trained on a GPU
    blob = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    again = pickle.loads(blob)
    assert again.device_ == "cpu"
    assert not next(again.module_.parameters()).is_cuda
    np.testing.assert_allclose(again.predict_proba(X), expected, rtol=1e-6)


@pytest.mark.gpu
def test_gpu_training_matches_interface(few_shot):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y, sd, _, _ = few_shot
    clf = DANNClassifier(**SMALL, device="cuda").fit(X, y, sample_domain=sd)
    assert clf.device_ == "cuda"
    # a copy loaded where the GPU exists goes back onto it: identical output
    again = pickle.loads(pickle.dumps(clf))
    assert again.device_ == "cuda"
    assert next(again.module_.parameters()).is_cuda
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_verbose_controls_progress(few_shot, capsys):
    X, y, sd, _, _ = few_shot
    FineTuneClassifier(**{**SMALL, "max_epochs": 2}, verbose=0).fit(
        X, y, sample_domain=sd
    )
    assert capsys.readouterr().out == ""
    FineTuneClassifier(**{**SMALL, "max_epochs": 2}, verbose=1).fit(
        X, y, sample_domain=sd
    )
    assert "train_loss" in capsys.readouterr().out


def test_registered_under_fixed_names():
    reg = Registry()  # fresh, built from the installed entry points
    assert reg.get("estimators", "finetune") is FineTuneClassifier
    assert reg.get("estimators", "multitask") is MultiTaskClassifier
    assert reg.get("estimators", "dann") is DANNClassifier
    assert reg.get("adapters", "autoencoder") is AutoencoderAdapter


def test_the_cli_the_registry_and_the_classes_import_torch_only_to_fit():
    # sertl --help and sertl predict load every plugin's hooks, which import
    # this package, and every look-up in the registry (sertl run with any
    # method) imports the classes: torch (seconds, plus its warning filters
    # and loggers) comes only when a network is built
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from sertl_core.cli import build_parser\n"
        "build_parser()\n"
        "import sertl_neural\n"
        "assert 'sertl_neural.hooks' in sys.modules, 'the plugin was not loaded'\n"
        "assert 'torch' not in sys.modules, 'torch imported for the help'\n"
        "assert set(sertl_neural.__all__) <= set(dir(sertl_neural))\n"
        "from sertl_core import get_registry\n"
        "assert get_registry().get('estimators', 'dann').__name__ == 'DANNClassifier'\n"
        "from sertl_neural import DANNClassifier\n"
        "assert 'torch' not in sys.modules, 'torch imported by the registry'\n"
        "assert DANNClassifier.__module__ == 'sertl_neural._dann'\n"
        "X = np.random.default_rng(0).normal(size=(40, 3))\n"
        "y = np.r_[np.tile([0, 1], 10), -np.ones(20, int)]\n"
        "sd = np.r_[np.ones(20, int), -np.ones(20, int)]\n"
        "clf = DANNClassifier(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)\n"
        "clf.fit(X, y, sample_domain=sd)\n"
        "assert 'torch' in sys.modules\n"
        "try:\n"
        "    sertl_neural.NoSuchClass\n"
        "except AttributeError as exc:\n"
        "    assert 'NoSuchClass' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("as_list", [True, False])
@pytest.mark.parametrize("cls", [FineTuneClassifier, MultiTaskClassifier])
def test_unpadded_logmel_sequences_get_the_padding_fix(cls, as_list):
    # AudioFeatures(feature_set="logmel") gives one (frames, mels) array per
    # file; passed as they come, numpy's "inhomogeneous shape" error said
    # nothing of what to do
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(k, 4)) for k in (3, 5, 8, 3)]
    X = seqs if as_list else np.array(seqs + [None], dtype=object)[:-1]
    with pytest.raises(
        ValueError,
        match=r"4 log-mel sequences of different "
        r"lengths \(3 to 8 frames\).*pad_sequences",
    ):
        cls(network="cnn", **SMALL_CONV).fit(X, [0, 1, 0, 1])


def test_multitask_nullable_integer_aux_keeps_integer_classes(few_shot):
    import pandas as pd

    X, y, sd, _, _ = few_shot
    gender = pd.array(np.tile([0, 1], X.shape[0] // 2), dtype="Int64")
    gender[::5] = pd.NA  # unknown labels
    mt = MultiTaskClassifier(**SMALL).fit(
        X, y, sample_domain=sd, aux=pd.DataFrame({"gender": gender})
    )
    # numpy read the nullable column as floats: classes 0.0, 1.0
    assert mt.task_classes_["gender"].dtype.kind == "i"
    np.testing.assert_array_equal(mt.task_classes_["gender"], [0, 1])
    assert mt.predict_task(X[:3], "gender").dtype.kind == "i"


@pytest.mark.parametrize("container", ["numpy", "series", "boolean"])
def test_multitask_boolean_aux_keeps_boolean_classes(few_shot, container):
    # a pandas bool column came back as the integers 0 and 1
    import pandas as pd

    X, y, sd, _, _ = few_shot
    male = np.tile([False, True], X.shape[0] // 2)
    labels = {
        "numpy": male,
        "series": pd.Series(male),
        "boolean": pd.array(male, dtype="boolean"),
    }[container]
    mt = MultiTaskClassifier(**SMALL).fit(X, y, sample_domain=sd, aux={"male": labels})
    assert mt.task_classes_["male"].dtype == bool
    assert mt.predict_task(X[:3], "male").dtype == bool


def test_multitask_aux_of_mixed_label_types_names_the_task(few_shot):
    X, y, sd, _, _ = few_shot
    mixed = np.array([1, "a"] * (X.shape[0] // 2), dtype=object)
    with pytest.raises(
        ValueError, match=r"aux\['speaker'\] mixes label types \(int, str\)"
    ):
        MultiTaskClassifier(**SMALL).fit(X, y, sample_domain=sd, aux={"speaker": mixed})


def test_multitask_continuous_aux_is_refused_not_learnt_as_classes(few_shot):
    # an arousal column as an auxiliary task was fitted as one class per
    # distinct value (a softmax over ~every row), silently
    X, y, sd, _, _ = few_shot
    arousal = np.linspace(-0.93, 0.87, X.shape[0])
    arousal[::5] = np.nan  # unknown rows
    with pytest.raises(
        ValueError,
        match=r"aux\['arousal'\] holds continuous values.*classification head.*"
        r"\(\d+ here\).*np\.where\(np\.isnan\(v\), -1",
    ):
        MultiTaskClassifier(**SMALL).fit(
            X, y, sample_domain=sd, aux={"arousal": arousal}
        )
    # binned as the message says, the task is learnt with two classes
    high = np.where(np.isnan(arousal), -1, (arousal > 0).astype(int))
    mt = MultiTaskClassifier(**SMALL).fit(X, y, sample_domain=sd, aux={"arousal": high})
    np.testing.assert_array_equal(mt.task_classes_["arousal"], [0, 1])
    # whole-number floats are class labels, as before
    mt = MultiTaskClassifier(**SMALL).fit(
        X, y, sample_domain=sd, aux={"arousal": high.astype(float)}
    )
    np.testing.assert_array_equal(mt.task_classes_["arousal"], [0.0, 1.0])


def test_domain_standardisation_without_target_rows_warns_once_in_fit():
    # the core scaler's own warning came at every predict and spoke of
    # target_stats, which this estimator does not expose
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), np.repeat(["a", "b"], 20)
    mt = MultiTaskClassifier(**SMALL, standardize="domain")
    with pytest.warns(NoTargetWarning, match=r"standardize='domain'\) got no target"):
        mt.fit(X, y, sample_domain=np.ones(40, int))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mt.predict(X[:5]).shape == (5,)


@pytest.mark.parametrize(
    "cls", [FineTuneClassifier, DANNClassifier, MultiTaskClassifier]
)
def test_a_regressor_is_refused_with_the_alternatives(cls):
    from sklearn.base import is_classifier, is_regressor
    from sklearn.linear_model import Ridge
    from sklearn.utils import get_tags

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    y = np.r_[np.tanh(X[:20, 0]), np.full(10, np.nan)]
    est = cls(estimator=Ridge(), max_epochs=1)
    # a classifier whatever it wraps (its tags were the regressor's)
    assert is_classifier(est)
    assert not is_regressor(est)
    assert get_tags(est).regressor_tags is None
    with pytest.raises(
        ValueError,
        match=rf"{cls.__name__} learns from class labels.*parameter "
        r"estimator=Ridge\(\) is a regressor",
    ):
        est.fit(X, y)


@pytest.mark.parametrize("network", ["mlp", "cnn"])
def test_domain_standardize_names_its_own_fix_for_an_unseen_domain(network):
    # the scaler's own error suggested target_stats='batch', a parameter the
    # neural estimators do not have
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4, 3)) if network == "cnn" else rng.normal(size=(24, 6))
    y = np.tile([0, 1], 12)
    sd = np.where(np.arange(24) < 16, 1, -1)
    y = np.where(sd < 0, -1, y)
    clf = FineTuneClassifier(
        network=network,
        conv_channels=(2,),
        hidden_layer_sizes=(4,),
        max_epochs=1,
        finetune_epochs=0,
        standardize="domain",
        random_state=0,
    ).fit(X, y, sample_domain=sd)
    with pytest.raises(DomainError, match=r"standardize='domain'\) did not see") as err:
        clf.predict(X, sample_domain=np.full(24, -7))
    assert "target_stats" not in str(err.value)
    assert clf.predict(X, sample_domain=sd).shape == (24,)


def test_neural_head_and_conv_channels_errors_say_how_to_fix_them():
    from sertl_neural._base import NeuralHead

    with pytest.raises(
        ValueError, match=r"classes=None and y is None: pass classes=\[\.\.\.\]"
    ):
        NeuralHead().fit(np.zeros((2, 2)))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 10, 8))
    y = np.r_[np.repeat([0, 1], 6), -np.ones(4, int)]
    with pytest.raises(
        ValueError,
        match=r"conv_channels must not be empty, got \(\): give at least one "
        r"positive integer, e.g\. conv_channels=\(32,\)",
    ):
        FineTuneClassifier(
            network="cnn", conv_channels=(), max_epochs=1, random_state=0
        ).fit(X, y)


def test_autoencoder_standardises_features_of_tiny_magnitude():
    # standardize=True took a feature for constant when its deviation was
    # below 1e-12 in absolute terms: features varying on a scale of 1e-13
    # reached the network unscaled (about 1e-13) and the code came out
    # 0.58 off that of the same features on a scale of 1
    X, y, sd, _ = make_domain_data()
    kw = {"hidden_layer_sizes": (8,), "n_components": 3, "max_epochs": 3}
    ref = AutoencoderAdapter(**kw, random_state=0).fit(X, y, sample_domain=sd)
    tiny = AutoencoderAdapter(**kw, random_state=0).fit(X * 1e-13, y, sample_domain=sd)
    np.testing.assert_allclose(tiny.input_scale_, ref.input_scale_ * 1e-13)
    np.testing.assert_allclose(
        tiny.transform(X * 1e-13, sample_domain=sd),
        ref.transform(X, sample_domain=sd),
        atol=1e-5,
    )


def test_a_constant_feature_far_from_zero_keeps_a_unit_scale():
    # the rounding of a constant's deviation (4.7e-10 at 1e6 + 0.1) passed
    # the absolute 1e-12 test for spread: the feature was divided by it
    X, y, sd, _ = make_domain_data()
    X = X.copy()
    X[:, 0] = 1e6 + 0.1
    kw = {"hidden_layer_sizes": (8,), "n_components": 3, "max_epochs": 1}
    ae = AutoencoderAdapter(**kw, random_state=0).fit(X, y, sample_domain=sd)
    assert ae.input_scale_[0] == 1.0


def test_a_constant_feature_over_many_rows_keeps_a_unit_scale():
    # the rounding of the mean of 1000 rows of 0.1 (1.4e-15, more than
    # 10 eps |mean|) was taken for spread: the feature was divided by it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    X[:, 0] = 0.1
    y = np.r_[np.tile([0, 1], 250), -np.ones(500, int)]
    sd = np.r_[np.ones(500, int), -np.ones(500, int)]
    kw = {"hidden_layer_sizes": (4,), "n_components": 2, "max_epochs": 1}
    ae = AutoencoderAdapter(**kw, random_state=0).fit(X, y, sample_domain=sd)
    assert ae.input_scale_[0] == 1.0
