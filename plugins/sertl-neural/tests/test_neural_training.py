"""Training loop of sertl-neural: early stopping, freezing, modes, global state.

Small networks and few epochs; ``fits`` records what every skorch fit saw
(training rows, held-out rows, the net and its optimizer).
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)
from sertl_neural._base import class_weights, loaded_device, resolve_device
from sertl_neural._nets import ClassifierNet, build_trunk

SMALL = {"hidden_layer_sizes": (16, 8), "max_epochs": 3, "lr": 1e-2, "random_state": 0}


def _keys(rows):
    return {r.tobytes() for r in np.asarray(rows, dtype=np.float32)}


# -- early stopping: what is held out --------------------------------------


def test_early_stopping_holds_out_rows_before_the_sampler_copies_them(few_shot, fits):
    from imblearn.over_sampling import RandomOverSampler

    X, y, sd, *_ = few_shot
    # an imbalanced source: the oversampler copies rows of class 2
    keep = ~((sd > 0) & (y == 2) & (np.arange(len(y)) % 4 != 0))
    FineTuneClassifier(
        **SMALL,
        finetune_epochs=0,
        sampler=RandomOverSampler(),
        early_stopping=True,
        validation_fraction=0.2,
    ).fit(X[keep], y[keep], sample_domain=sd[keep])
    (pretrain,) = fits
    train = _keys(pretrain["X"])
    assert len(train) < len(pretrain["X"])  # the sampler did copy rows
    X_valid = pretrain["valid"][0]
    assert len(X_valid) == round(0.2 * int((keep & (sd > 0)).sum()))
    # no held-out row (nor a copy of one) is a training row
    assert not _keys(X_valid) & train


def test_rehearsal_early_stopping_holds_out_rows_of_both_domains(few_shot, fits):
    X, y, sd, *_ = few_shot
    clf = FineTuneClassifier(
        **SMALL,
        finetune_epochs=2,
        finetune_source_weight=0.5,
        class_weight="balanced",
        early_stopping=True,
        validation_fraction=0.25,
    ).fit(X, y, sample_domain=sd)
    finetune = fits[1]
    X_valid, y_valid = finetune["valid"]
    is_tgt = np.array(
        [r.tobytes() in _keys(clf._scaled(X[(sd < 0) & (y >= 0)])) for r in X_valid]
    )
    n_t, n_s = clf.n_finetune_rows_, int((sd > 0).sum())
    assert is_tgt.sum() == round(0.25 * n_t)
    assert (~is_tgt).sum() == round(0.25 * n_s)
    # weighted as in training: the source rows weigh 0.5 x the target rows
    w = y_valid[:, 1]
    assert w[~is_tgt].sum() / w[is_tgt].sum() == pytest.approx(0.5, rel=1e-5)
    assert not _keys(X_valid) & _keys(finetune["X"])


def test_dann_early_stopping_keeps_every_unlabelled_row_in_training(few_shot, fits):
    X, y, sd, *_ = few_shot
    DANNClassifier(**SMALL, early_stopping=True, validation_fraction=0.2).fit(
        X, y, sample_domain=sd
    )
    (rec,) = fits
    y_valid = rec["valid"][1]
    assert np.all(y_valid[:, 0] >= 0)  # held-out rows carry an emotion label
    # every unlabelled target row trains the domain discriminator
    assert int((rec["y"][:, 0] < 0).sum()) == int((y == -1).sum())
    # each domain held out on its own: 20 % of 60 source, of 12 target rows
    assert int((y_valid[:, 1] == 0).sum()) == 12
    assert int((y_valid[:, 1] == 1).sum()) == 2


def test_multitask_early_stopping_holds_out_emotion_labelled_rows(few_shot, fits):
    X, y, sd, *_ = few_shot
    gender = np.tile([0, 1], len(y) // 2)  # known for every row
    MultiTaskClassifier(**SMALL, early_stopping=True, validation_fraction=0.2).fit(
        X, y, sample_domain=sd, aux={"gender": gender}
    )
    (rec,) = fits
    assert np.all(rec["valid"][1][:, 0] >= 0)
    # rows with a gender label only always train (the gender head)
    assert int((rec["y"][:, 0] < 0).sum()) == int((y == -1).sum())


def test_early_stopping_leaves_every_class_a_training_row():
    clf = FineTuneClassifier(early_stopping=True)
    one = np.r_[np.zeros(9, int), 1]  # class 1 has a single row
    for seed in range(40):  # an unstratified split would hold it out 1 in 10
        train, valid = clf._valid_split(10, one, seed)
        assert 9 in train and valid.size == 1
    # a stratified split of an extreme fraction would hold out both rows of 0
    two = np.r_[0, 0, np.ones(18, int)]
    clf.set_params(validation_fraction=0.9)
    for seed in range(10):
        train, valid = clf._valid_split(20, two, seed)
        assert np.isin([0, 1], train).any() and valid.size == 18
        assert np.intersect1d(train, valid).size == 0
        assert np.union1d(train, valid).size == 20


def test_a_rare_target_class_is_not_held_out_of_fine_tuning(few_shot, fits):
    X, y, sd, *_ = few_shot
    y = y.copy()
    tgt = np.flatnonzero((sd < 0) & (y >= 0))
    y[tgt[:10]] = 0
    y[tgt[1]] = 1  # 10 labelled target rows: nine of class 0, one of class 1
    y[tgt[10:]] = -1
    clf = FineTuneClassifier(
        **{**SMALL, "random_state": 18},  # a seed that held out the class-1 row
        finetune_epochs=6,
        class_weight="balanced",
        early_stopping=True,
        n_iter_no_change=2,
    ).fit(X, y, sample_domain=sd)
    finetune = fits[1]
    assert 1 in finetune["y"].tolist()  # the class-1 row trains
    assert finetune["valid"][1].tolist() == [0]
    # its class weight is not 0, so the validation loss is a number and
    # early stopping works
    losses = [row["valid_loss"] for row in clf.history_["finetune"]]
    assert np.all(np.isfinite(losses))


def test_every_phase_validates_on_rows_no_phase_trains_on(few_shot, fits):
    X, y, sd, *_ = few_shot
    clf = FineTuneClassifier(
        **SMALL,
        finetune_epochs=2,
        finetune_source_weight=0.5,
        pseudo_label_threshold=1e-6,  # every unlabelled row
        self_training_rounds=2,
        early_stopping=True,
        validation_fraction=0.25,
    ).fit(X, y, sample_domain=sd)
    assert len(fits) == 4  # pretraining, fine-tuning, two self-training rounds
    Xs = clf._scaled(X, sd)
    src, tgt = _keys(Xs[sd > 0]), _keys(Xs[(sd < 0) & (y >= 0)])
    trained = set().union(*(_keys(rec["X"]) for rec in fits))
    held = [_keys(rec["valid"][0]) for rec in fits]
    # one hold-out of each labelled domain for the whole fit, never trained on
    assert held[0] == held[1] & src == held[2] & src == held[3] & src
    assert held[1] & tgt == held[2] & tgt == held[3] & tgt
    assert len(held[0]) == 15 and len(held[1] & tgt) == 3
    assert not (held[0] | (held[1] & tgt)) & trained


@pytest.mark.parametrize("self_training", [False, True])
def test_rehearsal_without_target_validation(few_shot, fits, self_training):
    X, y, sd, *_ = few_shot
    y = y.copy()
    y[np.flatnonzero((sd < 0) & (y >= 0))[6:]] = -1  # 6 labelled target rows
    kw = {"pseudo_label_threshold": 1e-6} if self_training else {}
    clf = FineTuneClassifier(
        **SMALL,
        finetune_epochs=1,
        finetune_source_weight=0.5,
        early_stopping=True,
        validation_fraction=0.25,
        **kw,
    ).fit(X, y, sample_domain=sd)
    pretrain, finetune = fits[:2]
    assert finetune["valid"] is None  # too few target rows to hold out
    held = _keys(pretrain["valid"][0])
    rehearsed = _keys(finetune["X"]) & _keys(clf._scaled(X[sd > 0], sd[sd > 0]))
    if self_training:  # self-training validates on them: they stay out
        assert held <= _keys(fits[2]["valid"][0])
        assert not held & rehearsed
    else:  # no phase validates on them: they rehearse
        assert held <= rehearsed


def test_autoencoder_without_target_holds_out_a_row_with_its_copy(fits):
    from sertl_core import NoTargetWarning

    X = np.random.default_rng(0).normal(size=(60, 5))
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(4,), n_components=2, max_epochs=2, early_stopping=True
    )
    with pytest.warns(NoTargetWarning):  # every row is also used as the target
        ae.set_params(random_state=0).fit(X)
    (rec,) = fits
    X_valid, Y_valid = rec["valid"]
    assert len(X_valid) == 12  # 6 rows and their 6 copies
    assert not _keys(X_valid) & _keys(rec["X"])
    assert sorted(Y_valid[:, -1].tolist()) == [0.0] * 6 + [1.0] * 6  # both decoders


def test_early_stopping_restores_the_best_epoch(fits):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = rng.integers(0, 2, 200)  # noise: the validation loss soon rises
    sd = np.r_[np.ones(150, int), -np.ones(50, int)]
    y[150:] = -1
    clf = FineTuneClassifier(
        hidden_layer_sizes=(64,),
        dropout=0.0,
        lr=3e-2,
        max_epochs=100,
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.2,
        random_state=0,
    ).fit(X, y, sample_domain=sd)
    losses = [row["valid_loss"] for row in clf.history_["pretrain"]]
    assert len(losses) < 100 and losses[-1] > min(losses)
    X_valid, y_valid = fits[0]["valid"]  # 30 rows: one validation batch
    with torch.no_grad():
        logits = clf.module_(torch.as_tensor(X_valid, device=clf.device_))[0].cpu()
    loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y_valid))
    assert float(loss) == pytest.approx(min(losses), rel=1e-5)


# -- freezing and the optimizer ---------------------------------------------


def _logmel_few_shot():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(36, 4, 6))
    sd = np.tile([1, 1, -1], 12)
    y = np.tile([0, 1, 0], 12)
    y[2::3] = np.tile([0, 1], 6)  # labelled target rows of both classes
    X[y == 1, :, :3] += 1.0
    return X, y, sd


def test_freeze_counts_the_trunk_blocks_with_weights():
    X, y, sd = _logmel_few_shot()
    kw = {
        "network": "cnn",
        "conv_channels": (2,),
        "hidden_layer_sizes": (4,),
        "max_epochs": 2,
        "finetune_epochs": 2,
        "lr": 1e-2,
        "random_state": 0,
    }
    base = FineTuneClassifier(**{**kw, "finetune_epochs": 0}).fit(
        X, y, sample_domain=sd
    )
    # blocks: conv (0), global pooling (1, no weights), fully connected (2)
    conv = lambda m: m.module_.trunk.blocks[0][0].weight  # noqa: E731
    fc = lambda m: m.module_.trunk.blocks[2][0].weight  # noqa: E731
    one = FineTuneClassifier(**kw, freeze=1).fit(X, y, sample_domain=sd)
    torch.testing.assert_close(conv(one), conv(base))
    assert not torch.equal(fc(one), fc(base))
    two = FineTuneClassifier(**kw, freeze=2).fit(X, y, sample_domain=sd)
    assert not torch.equal(conv(two), conv(base))  # freeze=2: the conv trains too
    assert (one.n_trainable_blocks_, two.n_trainable_blocks_) == (1, 2)
    two.set_params(lr_decay=0.5)
    assert two._finetune_groups(two.module_, 1.0) == [
        ("trunk.blocks.0.*", {"lr": 0.25}),
        ("trunk.blocks.2.*", {"lr": 0.5}),
    ]
    with pytest.raises(
        ValueError,
        match=r"freeze=3 asks to fine-tune the last 3 trunk blocks, but the trunk "
        r"has 2 block\(s\) with weights .*use an int from 0 to 2",
    ):
        FineTuneClassifier(**kw, freeze=3).fit(X, y, sample_domain=sd)


def test_freeze_larger_than_the_mlp_trunk_is_refused(few_shot):
    X, y, sd, *_ = few_shot
    with pytest.raises(ValueError, match=r"freeze=3 .* hidden_layer_sizes=\(16, 8\)"):
        FineTuneClassifier(**SMALL, freeze=3).fit(X, y, sample_domain=sd)


def test_finetune_optimizer_gets_the_discriminative_param_groups(few_shot, fits):
    X, y, sd, *_ = few_shot
    clf = FineTuneClassifier(
        **SMALL, freeze=1, lr_decay=0.5, finetune_lr=0.1, finetune_epochs=1
    ).fit(X, y, sample_domain=sd)
    opt = fits[1]["net"].optimizer_
    groups = [(g["lr"], {id(p) for p in g["params"]}) for g in opt.param_groups]
    net = clf.module_
    ids = lambda m: {id(p) for p in m.parameters()}  # noqa: E731
    assert (0.05, ids(net.trunk.blocks[1])) in groups  # one block below the head
    (default,) = [g for lr, g in groups if lr == 0.1]  # head (+ frozen block 0)
    assert ids(net.heads) <= default
    assert all(p.requires_grad for p in net.parameters())  # unfrozen after fit


def test_uncertainty_log_vars_are_not_weight_decayed(few_shot, fits):
    X, y, sd, *_ = few_shot
    gender = np.tile([0, 1], len(y) // 2)
    mt = MultiTaskClassifier(
        **SMALL, task_weighting="uncertainty", weight_decay=0.5
    ).fit(X, y, sample_domain=sd, aux={"gender": gender})
    decay = {
        id(p): g["weight_decay"]
        for g in fits[0]["net"].optimizer_.param_groups
        for p in g["params"]
    }
    assert decay[id(mt.module_.log_vars)] == 0.0
    assert decay[id(mt.module_.heads[0].weight)] == 0.5


# -- train / eval mode ----------------------------------------------------------


def test_dropout_trains_in_every_phase_and_is_off_at_prediction(few_shot, monkeypatch):
    X, y, sd, *_ = few_shot
    seen = []
    orig = torch.nn.Dropout.forward

    def spy(self, x):
        seen.append((torch.is_grad_enabled(), self.training))
        return orig(self, x)

    monkeypatch.setattr(torch.nn.Dropout, "forward", spy)
    clf = FineTuneClassifier(
        **SMALL,
        dropout=0.5,
        finetune_epochs=2,
        early_stopping=True,
        pseudo_label_threshold=0.3,
        self_training_rounds=2,
        distill_loss=lambda s, t: ((s - t) ** 2).mean(),
    ).fit(X, y, sample_domain=sd)
    assert clf.n_pseudo_labeled_[0] > 0 and len(clf.history_["self_training"]) > 0
    # gradient steps (pretraining, fine-tuning, self-training) run in train
    # mode; validation, pseudo-labelling, the teacher and prediction in eval
    assert any(grad for grad, _ in seen)
    assert all(grad == training for grad, training in seen)
    seen.clear()
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    assert seen and not any(training for _, training in seen)
    assert not clf.module_.training


def test_pseudo_labels_are_computed_in_chunks(few_shot, monkeypatch):
    import sertl_neural._base as base_module

    X, y, sd, *_ = few_shot
    clf = FineTuneClassifier(**SMALL).fit(X, y, sample_domain=sd)
    Xs = clf._scaled(X)
    whole = clf._head_proba(clf.module_, Xs)
    monkeypatch.setattr(base_module, "_INFERENCE_BATCH", 7)
    sizes = []
    hook = clf.module_.register_forward_hook(lambda m, i, o: sizes.append(len(i[0])))
    chunked = clf._head_proba(clf.module_, Xs)
    hook.remove()
    assert sizes == [7] * (len(Xs) // 7) + [len(Xs) % 7]
    np.testing.assert_allclose(chunked, whole, rtol=1e-6)
    np.testing.assert_allclose(whole, clf.predict_proba(X), rtol=1e-5)


def test_autoencoder_outputs_are_computed_in_chunks(few_shot, monkeypatch):
    import sertl_neural._base as base_module

    X, _, sd, *_ = few_shot
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(8,), n_components=3, max_epochs=2, random_state=0
    ).fit(X, sample_domain=sd)
    recon, code = ae._outputs(ae.module_, X)
    assert recon.shape == (len(X), 2, X.shape[1]) and code.shape == (len(X), 3)
    monkeypatch.setattr(base_module, "_INFERENCE_BATCH", 7)
    sizes = []
    hook = ae.module_.register_forward_hook(lambda m, i, o: sizes.append(len(i[0])))
    recon_c, code_c = ae._outputs(ae.module_, X)
    hook.remove()
    assert sizes == [7] * (len(X) // 7) + [len(X) % 7]
    # rows stay in order across chunks, decoders on the second axis
    np.testing.assert_allclose(recon_c, recon, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(code_c, code, rtol=1e-5, atol=1e-6)


# -- model-based transfer ------------------------------------------------------


def test_init_from_a_model_of_another_label_set(few_shot):
    X, y, sd, *_ = few_shot
    gender = np.tile(["f", "m"], len(y) // 2)
    src = FineTuneClassifier(**SMALL, finetune_epochs=0).fit(
        X, gender, sample_domain=sd
    )
    before = [p.detach().clone() for p in src.module_.parameters()]
    expected = src.predict_proba(X)
    copied = FineTuneClassifier(
        init_from=src, max_epochs=0, finetune_epochs=0, random_state=0
    ).fit(X, y, sample_domain=sd)
    assert copied.module_.heads[0].out_features == 3  # a new head for 3 emotions
    for a, b in zip(
        src.module_.trunk.parameters(), copied.module_.trunk.parameters(), strict=True
    ):
        torch.testing.assert_close(a, b)
        assert a.data_ptr() != b.data_ptr()  # copied, not shared
    tuned = FineTuneClassifier(init_from=src, **{**SMALL, "random_state": 1}).fit(
        X, y, sample_domain=sd
    )
    assert not torch.equal(
        tuned.module_.trunk.blocks[0][0].weight, src.module_.trunk.blocks[0][0].weight
    )
    for a, b in zip(before, src.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b)  # the pretrained model is untouched
    np.testing.assert_array_equal(src.predict_proba(X), expected)


def test_init_from_with_another_log_mel_shape_is_refused():
    X, y, sd = _logmel_few_shot()
    kw = {"conv_channels": (2,), "hidden_layer_sizes": (4,), "max_epochs": 1}
    src = FineTuneClassifier(network="cnn", **kw).fit(X, y, sample_domain=sd)
    with pytest.raises(
        ValueError,
        match=r"init_from was fitted on log-mel sequences of frames x mels \(4, 6\) "
        r"but X has \(6, 4\): pad or crop",
    ):
        FineTuneClassifier(init_from=src, max_epochs=1).fit(
            X.reshape(36, 6, 4), y, sample_domain=sd
        )
    # flattened rows take the pretrained model's shape
    flat = FineTuneClassifier(init_from=src, max_epochs=1).fit(
        X.reshape(36, -1), y, sample_domain=sd
    )
    assert flat.predict(X.reshape(36, -1)).shape == (36,)


# -- input and parameter errors -------------------------------------------------


def test_mlp_refuses_3d_log_mel_input(few_shot):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5, 4))
    X[:, 4] = np.nan  # padding, as pad_sequences writes it
    y = np.tile([0, 1, -1], 4)
    with pytest.raises(
        ValueError,
        match=r"X is 3-D \(12, 5, 4\).* network='mlp', which takes 2-D functional "
        r"features .*pass network='cnn' or 'crnn'",
    ):
        FineTuneClassifier(max_epochs=1).fit(X, y)
    flat = FineTuneClassifier(max_epochs=1).fit(X[:, :4, 0], y)  # an MLP model
    with pytest.raises(ValueError, match="init_from's network is 'mlp'.*give a CNN"):
        FineTuneClassifier(init_from=flat, max_epochs=1).fit(X[:, :4, :1], y)
    X2, y2, sd2, *_ = few_shot
    mlp = FineTuneClassifier(**SMALL).fit(X2, y2, sample_domain=sd2)
    with pytest.raises(ValueError, match=r"X is 3-D \(120, 3, 2\)"):
        mlp.predict(X2.reshape(-1, 3, 2))


def test_multitask_task_weights_and_unlabelled_task_errors(few_shot):
    X, y, sd, *_ = few_shot
    gender = np.tile([0, 1], len(y) // 2)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="task_weights must be finite and non-neg"):
            MultiTaskClassifier(**SMALL, task_weights={"gender": bad}).fit(
                X, y, sample_domain=sd, aux={"gender": gender}
            )
    with pytest.raises(ValueError, match=r"aux\['gender'\] has no labelled row"):
        MultiTaskClassifier(**SMALL).fit(
            X, y, sample_domain=sd, aux={"gender": np.full(len(y), -1)}
        )


def test_class_weight_dict_ignores_classes_absent_from_the_fit(few_shot):
    X, y, sd, *_ = few_shot
    m = y != 2  # class 2 absent from this fit, as in a cross-validation split
    cw = {0: 1.0, 1: 3.0, 2: 5.0}
    clf = FineTuneClassifier(**SMALL, class_weight=cw).fit(
        X[m], y[m], sample_domain=sd[m]
    )
    assert clf.classes_.tolist() == [0, 1]
    assert class_weights(None, 2, cw, "cpu", clf.classes_).tolist() == [1.0, 3.0]
    # a key naming no class while a class has no weight: most likely a typo
    with pytest.raises(
        ValueError,
        match=r"names class\(es\) \['2'\] that are not among the labelled classes "
        r"\[0, 1\], and leaves class\(es\) \[1\] without a weight",
    ):
        FineTuneClassifier(**SMALL, class_weight={0: 1.0, 2: 5.0}).fit(
            X[m], y[m], sample_domain=sd[m]
        )


# -- persistence, device, global state --------------------------------------


def test_a_torch_module_as_distill_loss_pickles(few_shot):
    X, y, sd, *_ = few_shot
    clf = FineTuneClassifier(
        **SMALL, finetune_epochs=2, distill_loss=torch.nn.MSELoss()
    ).fit(X, y, sample_domain=sd)
    again = pickle.loads(pickle.dumps(clf))
    assert isinstance(again.distill_loss, torch.nn.MSELoss)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_device_none_means_auto(few_shot, monkeypatch):
    X, y, sd, *_ = few_shot
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    clf = FineTuneClassifier(**SMALL, device=None).fit(X, y, sample_domain=sd)
    assert clf.device_ == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None) == resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert loaded_device("cuda:0") == "cuda:0"
    assert loaded_device("cuda:3") == "cpu"  # a GPU this machine does not have
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == "cpu"
    assert loaded_device("cuda") == "cpu"


def test_fit_leaves_torch_global_settings_alone(few_shot):
    X, y, sd, *_ = few_shot

    def settings():
        return (
            torch.get_num_threads(),
            torch.are_deterministic_algorithms_enabled(),
            torch.get_default_dtype(),
            torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic,
            torch.is_grad_enabled(),
        )

    before = settings()
    rng_state = torch.get_rng_state()
    # the whole state, position included: the key array alone changes only
    # when a draw regenerates it, so it missed most draws and caught one
    # only after np.random.seed (an earlier test's), which made this test
    # fail by test order. Seeded fits: random_state=None takes one draw
    # from numpy's global generator by design (test_neural_seed_none)
    np_state = np.random.get_state()  # noqa: NPY002
    FineTuneClassifier(**SMALL, early_stopping=True, finetune_epochs=1).fit(
        X, y, sample_domain=sd
    )
    AutoencoderAdapter(
        hidden_layer_sizes=(4,), n_components=2, max_epochs=1, random_state=0
    ).fit(X, sample_domain=sd)
    assert settings() == before
    assert torch.equal(rng_state, torch.get_rng_state())
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(np_state[1], after[1])
    assert np_state[2:] == after[2:], "numpy's global generator was drawn from"


def test_importing_leaves_the_global_generators_and_settings_alone():
    code = (
        "import numpy as np, torch\n"
        "np.random.seed(1); torch.manual_seed(1)\n"
        "a = (np.random.get_state()[1].copy(), torch.get_rng_state(),\n"
        "     torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())\n"
        "import sertl_neural, sertl_neural.hooks\n"
        "b = (np.random.get_state()[1], torch.get_rng_state(),\n"
        "     torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())\n"
        "assert (a[0] == b[0]).all() and torch.equal(a[1], b[1]), 'RNG changed'\n"
        "assert a[2:] == b[2:], 'settings changed'\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_sampler_before_an_estimator_on_embeddings_is_seeded(few_shot):
    from imblearn.over_sampling import RandomOverSampler
    from sklearn.linear_model import LogisticRegression

    X, y, sd, *_ = few_shot
    keep = ~((sd > 0) & (y == 2) & (np.arange(len(y)) % 4 != 0))  # imbalanced
    X, y, sd = X[keep], y[keep], sd[keep]
    np_state = np.random.get_state()[1].copy()
    kw = {**SMALL, "sampler": RandomOverSampler()}
    a = FineTuneClassifier(LogisticRegression(), **kw).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    b = FineTuneClassifier(LogisticRegression(), **kw).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert isinstance(a.estimator_, LogisticRegression)


def test_dann_domain_head_learns_while_the_trunk_gets_the_reversed_gradient(
    tiny_mlp_spec,
):
    spec = tiny_mlp_spec
    torch.manual_seed(0)
    net = ClassifierNet(build_trunk(spec), [2], domain_hidden=3)
    net.grl.lambd = 0.5
    x = torch.randn(6, 4)
    net(x)[1].sum().backward()  # the domain logit only
    g_trunk = net.trunk.blocks[0][0].weight.grad.clone()
    g_head = net.domain_head[0].weight.grad.clone()
    net.zero_grad()
    net.domain_head(net.trunk(x)).sum().backward()  # the same, not reversed
    torch.testing.assert_close(g_trunk, -0.5 * net.trunk.blocks[0][0].weight.grad)
    torch.testing.assert_close(g_head, net.domain_head[0].weight.grad)


@pytest.mark.gpu
def test_gpu_model_of_device_none_loads_on_a_cpu_only_machine(few_shot, monkeypatch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y, sd, *_ = few_shot
    cuda_rng = torch.cuda.get_rng_state()
    clf = FineTuneClassifier(**SMALL, device=None, early_stopping=True).fit(
        X, y, sample_domain=sd
    )
    assert torch.equal(cuda_rng, torch.cuda.get_rng_state())
    assert clf.device_ == "cuda" and next(clf.module_.parameters()).is_cuda
    expected = clf.predict_proba(X)
    blob = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    again = pickle.loads(blob)
    assert again.device_ == "cpu"
    assert not next(again.module_.parameters()).is_cuda
    np.testing.assert_allclose(again.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
