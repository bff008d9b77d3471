"""Fine-tuning: pretrain on the source, fine-tune on a few labelled target rows."""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np

from sertl_core import DomainData, SertlWarning, external_stacklevel
from sertl_core.params import Interval, StrOptions

from ._base import (
    _NETWORK_CONSTRAINTS,
    _TRAINING_CONSTRAINTS,
    NeuralTransferEstimator,
    build_classifier_trunk,
    class_weights,
    masked_cross_entropy,
    with_row_weights,
)
from ._lazy import torch

__all__ = ["FineTuneClassifier"]


class _ClassifierLoss:
    """Cross-entropy of the main head, plus an optional distillation term."""

    def __init__(self, weight, teacher=None, distill_loss=None, distill_weight=0.0):
        self.weight = weight
        self.teacher = teacher
        self.distill_loss = distill_loss
        self.distill_weight = distill_weight

    def __call__(self, outputs, y, X, training):
        if y.ndim == 2:  # (class index, row weight): weighted rows
            idx, row_w = y[:, 0].long(), y[:, 1]
            if self.weight is not None:  # class weights fold into row weights
                row_w = row_w * self.weight[idx]
            ce = torch.nn.functional.cross_entropy(outputs[0], idx, reduction="none")
            loss = (ce * row_w).sum() / row_w.sum().clamp_min(1e-12)
        else:
            loss = masked_cross_entropy(outputs[0], y, self.weight)
        if self.teacher is not None and training:
            with torch.no_grad():
                teacher_emb = self.teacher(X)[-1]
            loss = loss + self.distill_weight * self.distill_loss(
                outputs[-1], teacher_emb
            )
        return loss


def check_init_from(init_from, n_features, input_shape=None):
    """Validate a pretrained sertl neural model given as ``init_from``.

    ``input_shape`` is the ``(frames, n_mels)`` of 3-D ``X``, None for 2-D.
    """
    from ._base import NeuralTransferEstimator

    if not isinstance(init_from, NeuralTransferEstimator):
        raise TypeError(
            "init_from must be a fitted sertl-neural classifier (FineTuneClassifier, "
            f"MultiTaskClassifier or DANNClassifier), or one wrapped in "
            f"sklearn.frozen.FrozenEstimator, got {type(init_from).__name__}."
        )
    if not hasattr(init_from, "module_"):
        raise ValueError(
            f"init_from={type(init_from).__name__}(...) is not fitted: fit it first "
            "(e.g. on gender labels or on another corpus), then pass it. A fitted "
            "model put in a search's parameter grid (or passed through clone()) "
            "arrives here as an unfitted copy: give it as "
            "FrozenEstimator(model) (sklearn.frozen), which clone keeps fitted, "
            "or set init_from on the estimator before the search."
        )
    if init_from.n_features_in_ != n_features:
        raise ValueError(
            f"init_from was fitted on {init_from.n_features_in_} features but X has "
            f"{n_features}: use the same feature set for both models."
        )
    fitted_shape = init_from.trunk_spec_.get("input_shape")
    if (
        input_shape is not None
        and fitted_shape is not None
        and tuple(fitted_shape) != tuple(input_shape)
    ):
        raise ValueError(
            f"init_from was fitted on log-mel sequences of frames x mels "
            f"{tuple(fitted_shape)} but X has {tuple(input_shape)}: pad or crop "
            "the sequences to the pretrained model's shape."
        )


class FineTuneClassifier(NeuralTransferEstimator):
    """Pretrain a network on labelled source rows, then fine-tune it on the target.

    Parameter transfer for few-shot adaptation: the network (an MLP on
    functional features, or a CNN/CRNN on log-mel sequences) is trained on
    the labelled source rows, then trained further on the labelled target
    rows (``y`` not ``-1`` where ``sample_domain < 0``) with a freezing
    policy and discriminative learning rates. With ``init_from`` it starts
    from the trunk of any fitted sertl-neural model instead of a random
    initialisation (model-based transfer, e.g. from a gender model or from a
    model of another corpus). Unlabelled target rows are ignored unless
    ``pseudo_label_threshold`` turns on self-training; without labelled
    target rows (and without self-training) the result is the pretrained
    (source-only) network.

    With several source domains their labelled rows are pooled for pretraining
    and rehearsal; ``standardize="domain"`` scales each domain with its own
    statistics.

    Parameters
    ----------
    estimator : estimator object, default=None
        ``None``: predict with the network's softmax head. A scikit-learn
        classifier: fitted on the fine-tuned network's embeddings of all
        labelled rows and used for prediction.
    sampler : imbalanced-learn sampler, default=None
        Resampler applied to the source rows before pretraining, to the
        labelled target rows before fine-tuning and to the embeddings an
        ``estimator`` is trained on; the rehearsed source rows and the
        parts of self-training are not resampled (``class_weight`` balances
        each part within itself).
    network : {"mlp", "cnn", "crnn"}, default="mlp"
        ``"mlp"`` for functional features (2-D ``X``); ``"cnn"`` (global
        pooling) or ``"crnn"`` (GRU over time) for log-mel sequences given
        as a 3-D array ``(n_samples, frames, n_mels)``, padded to a common
        number of frames (or flattened rows with ``n_mels``). Pad with NaN
        at the end (``sertl_speech.pad_sequences(seqs, value=np.nan)``):
        frames that are NaN in every mel band are left out of the network's
        pooling, so an utterance's prediction does not depend on how much
        padding follows it.
    hidden_layer_sizes : tuple of int, default=(128, 64)
        Fully connected blocks of the trunk; the last one is the embedding.
    conv_channels : tuple of int, default=(16, 32)
        Convolution blocks (CNN/CRNN only).
    rnn_hidden : int, default=64
        GRU width (CRNN only).
    n_mels : int or None, default=None
        Mel bands of flattened 2-D log-mel input (CNN/CRNN); not needed for
        3-D input.
    dropout : float, default=0.2
        Dropout after each fully connected block.
    freeze : {"none", "all_but_head"} or int, default="none"
        Fine-tuning policy: train everything, only the head, or the head and
        the last ``k`` trunk blocks. Blocks are the trunk's layers with
        weights (a fully connected, convolution or GRU block; the CNN's
        global pooling is none); a ``k`` larger than their number raises.
        Frozen blocks keep their pretrained weights exactly (no gradient,
        no weight decay).
    lr_decay : float, default=1.0
        Discriminative learning rates while fine-tuning: the head uses
        ``finetune_lr``, the trunk block ``i`` blocks below the head
        ``finetune_lr * lr_decay**i`` (Howard & Ruder use ``1 / 2.6``).
    init_from : fitted sertl-neural classifier, default=None
        Start from this model's trunk (its architecture replaces
        ``network``/``hidden_layer_sizes``); its head is kept when it has
        the same classes. The input is standardised with this estimator's
        own statistics. To search over several pretrained models in a
        parameter grid, wrap each in ``sklearn.frozen.FrozenEstimator``
        (a search clones the grid's values, and only a frozen model stays
        fitted through clone).
    distill_loss : callable, default=None
        ``loss(student_embeddings, teacher_embeddings) -> torch scalar``
        added, times ``distill_weight``, to the fine-tuning loss; the teacher
        is the frozen pretrained network on the same batch (e.g.
        ``sertl_relational.RKDLoss()``).
    distill_weight : float, default=1.0
        Weight of the distillation term.
    max_epochs : int, default=50
        Pretraining epochs on the labelled source rows (0: no pretraining,
        which with a random start and ``finetune_epochs`` set gives the
        target-only baseline).
    finetune_epochs : int, default=None
        Fine-tuning epochs (None: ``max_epochs``, which ``max_epochs=0``
        refuses, as nothing would train; 0: source-only).
    batch_size : int, default=32
        Mini-batch size.
    lr : float, default=1e-3
        AdamW learning rate of pretraining.
    finetune_lr : float, default=None
        Learning rate of the head while fine-tuning (None: ``lr``).
    finetune_source_weight : float, default=0.0
        Rehearsal (joint fine-tuning): the labelled source rows stay in the
        fine-tuning loss with this total weight relative to the target rows
        (0: classic fine-tuning on target rows only; 1: both domains weigh
        the same; ``1/3``: the target weighs three times the source). With
        ``class_weight="balanced"`` each domain is class-balanced on its
        own. It guards the few-shot model against forgetting the source
        and against over-fitting the few target rows. With
        ``max_epochs=0`` the fine-tuning phase starts from a random
        network, which is joint training on source and up-weighted target
        rows; in the EmoDB -> RAVDESS few-shot benchmark (10 utterances per
        class) this was the best-performing setting on the development
        splits, with a strongly regularised network (see the README).
    pseudo_label_threshold : float in (0, 1] or None, default=None
        Self-training [4]_ on the unlabelled target rows: after fine-tuning,
        the rows whose largest softmax probability reaches this threshold
        take the predicted class as a pseudo-label, and the network is
        fine-tuned again (``finetune_epochs``, ``finetune_lr``, the same
        ``freeze``) on them, the labelled target rows and, with
        ``finetune_source_weight``, the source rows. Runs also without
        labelled target rows (then from the pretrained network). None:
        unlabelled rows are not used. This is round-based, thresholded
        self-training after Lee's pseudo-labels [4]_, not his exact
        procedure: Lee relabels every unlabelled row at each weight update
        and ramps the unlabelled loss's weight up over training, whereas
        here the rows are labelled once per round, only the confident ones
        are kept, and their weight (``unlabeled_weight``) is constant; a
        threshold keeps wrong labels of a few-shot model out of the loss.
    unlabeled_weight : float, default=1.0
        Total loss weight of the pseudo-labelled rows relative to the
        labelled target rows (each part class-balanced on its own with
        ``class_weight="balanced"``).
    self_training_rounds : int, default=1
        Rounds of pseudo-labelling and fine-tuning; each round labels the
        unlabelled rows anew with the current network, and the rounds stop
        early when no row reaches ``pseudo_label_threshold``.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    class_weight : {"balanced"}, dict or None, default=None
        Weight the loss inversely to class frequency in each phase, or with
        a ``{label: weight}`` dict (classes it leaves out weigh 1; keys of
        classes absent from ``y``, as in a cross-validation split, are
        ignored, as in scikit-learn).
    standardize : bool or "domain", default=True
        Standardise inputs with the statistics of all training rows
        (``True``), not at all (``False``), or each domain with its own
        (``"domain"``, a :class:`~sertl_core.DomainStandardScaler` fitted in
        ``fit`` and kept as ``domain_scaler_``; per feature for the MLP, per
        mel band over the real frames for the CNN/CRNN). With ``"domain"``,
        rows at prediction are scaled with their ``sample_domain``'s
        statistics, or, without it, with the target rows' of fit: the usual
        per-corpus normalisation of cross-corpus SER, inside the network's
        estimator, where log-mel sequences cannot go through a 2-D scaler.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of each phase's labelled rows
        (stratified by class, before ``sampler`` runs, so no copy of a
        training row is scored) and stop when their loss has not improved
        for ``n_iter_no_change`` epochs, keeping the best weights.
        Pretraining holds out source rows, fine-tuning target rows (with
        ``finetune_source_weight`` also source rows, each domain on its
        own and weighted as in training), self-training rows of each part.
        The labelled source and target rows held out are the same in every
        phase that stops early, and such a phase trains on none of them
        (the pseudo-labelled rows are drawn anew each round); every class
        keeps a training row in each phase. A phase trains without early
        stopping when it has fewer than 10 such rows (fine-tuning: target
        rows) or when ``validation_fraction`` of them rounds to no row or
        leaves fewer than 2 to train;
        ``history_`` then has no ``valid_loss`` for that phase, and the
        phase trains on all its rows, those that pretraining held out
        included (no later phase validates on them).
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping.
    device : str or None, default="auto"
        ``"auto"`` or None (CUDA when available, else CPU), ``"cpu"`` or
        ``"cuda[:i]"``.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, shuffling, dropout, the validation split
        and ``sampler`` (whose own ``random_state`` it replaces). Fits are
        deterministic on the CPU; on a GPU cuDNN may not be.
        ``None`` draws the seed from numpy's global generator, as
        scikit-learn's estimators do (``np.random.seed(k)`` before the fit
        makes it repeatable).
    verbose : int, default=0
        Print skorch's per-epoch progress table when > 0.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fine-tuned network (a trunk and one head), on ``device_``.
    trunk_spec_ : dict
        Architecture of the trunk.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    estimator_ : estimator object
        The network's own head (a fitted
        ``sertl_neural._base.NeuralHead``) or the fitted ``estimator``.
    history_ : dict
        Per-epoch losses and durations of ``"pretrain"`` and ``"finetune"``
        (and of ``"self_training"``, every round's epochs in a row, with
        ``pseudo_label_threshold``).
    n_finetune_rows_ : int
        Labelled target rows used for fine-tuning (with ``sample_weight``,
        those of positive weight).
    n_trainable_blocks_ : int
        Trunk blocks trained while fine-tuning (set only when the model was
        fine-tuned).
    n_pseudo_labeled_ : list of int
        Unlabelled target rows pseudo-labelled in each self-training round
        (empty without ``pseudo_label_threshold``; rows of ``sample_weight``
        0 are never pseudo-labelled).
    input_shape_ : tuple of int
        ``(frames, n_mels)`` when fitted on 3-D input.
    n_features_in_ : int
        Number of (flattened) input features.
    input_mean_ : ndarray of shape (n_features,)
        Mean subtracted from every input feature before the network (zeros
        with ``standardize=False``; one value for the whole log-mel image
        on 3-D input). Not set with ``standardize="domain"``.
    input_scale_ : ndarray of shape (n_features,)
        Standard deviation each input feature is divided by (ones with
        ``standardize=False``; constant features get 1). Not set with
        ``standardize="domain"``.
    domain_scaler_ : DomainStandardScaler
        The per-domain scaler of the inputs (set only with
        ``standardize="domain"``, in place of ``input_mean_`` and
        ``input_scale_``).
    device_ : str
        Device used for training and prediction. A pickled or skops-loaded
        copy goes back onto it where PyTorch sees that device, else onto the
        CPU.

    See Also
    --------
    MultiTaskClassifier : Shared trunk trained with auxiliary tasks.
    DANNClassifier : Adversarial training for unlabelled targets.

    References
    ----------
    .. [1] J. Yosinski, J. Clune, Y. Bengio and H. Lipson, "How transferable
       are features in deep neural networks?", NeurIPS 2014.
    .. [2] J. Howard and S. Ruder, "Universal language model fine-tuning for
       text classification", ACL 2018 (discriminative fine-tuning).
    .. [3] Z. Zhao et al., "Exploring deep spectrum representations via
       attention-based recurrent and convolutional neural networks for
       speech emotion recognition", IEEE Access 7, 2019 (model-based transfer).
    .. [4] D.-H. Lee, "Pseudo-label: the simple and efficient semi-supervised
       learning method for deep neural networks", ICML 2013 Workshop on
       Challenges in Representation Learning (self-training).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural import FineTuneClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)); X[:, 0] += np.repeat([0, 3], 30)
    >>> y = np.repeat([0, 1], 30)
    >>> sd = np.where(np.arange(60) % 3 == 0, -1, 1)   # every third row target
    >>> clf = FineTuneClassifier(hidden_layer_sizes=(8,), max_epochs=5,
    ...                          finetune_epochs=3, random_state=0)
    >>> clf.fit(X, y, sample_domain=sd).predict(X[:2]).shape
    (2,)
    """

    registry_name = "finetune"
    _sertl_auto_candidate = False

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [object, None],
        **_NETWORK_CONSTRAINTS,
        **_TRAINING_CONSTRAINTS,
        "freeze": [
            StrOptions({"none", "all_but_head"}),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
        "lr_decay": [Interval(numbers.Real, 0, 1, closed="right")],
        "init_from": [object, None],
        "distill_loss": [callable, None],
        "distill_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "finetune_epochs": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "finetune_lr": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "finetune_source_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "pseudo_label_threshold": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "unlabeled_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "self_training_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        sampler=None,
        network="mlp",
        hidden_layer_sizes=(128, 64),
        conv_channels=(16, 32),
        rnn_hidden=64,
        n_mels=None,
        dropout=0.2,
        freeze="none",
        lr_decay=1.0,
        init_from=None,
        distill_loss=None,
        distill_weight=1.0,
        max_epochs=50,
        finetune_epochs=None,
        batch_size=32,
        lr=1e-3,
        finetune_lr=None,
        finetune_source_weight=0.0,
        pseudo_label_threshold=None,
        unlabeled_weight=1.0,
        self_training_rounds=1,
        weight_decay=1e-4,
        class_weight=None,
        standardize=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(estimator, sampler=sampler)
        self.network = network
        self.hidden_layer_sizes = hidden_layer_sizes
        self.conv_channels = conv_channels
        self.rnn_hidden = rnn_hidden
        self.n_mels = n_mels
        self.dropout = dropout
        self.freeze = freeze
        self.lr_decay = lr_decay
        self.init_from = init_from
        self.distill_loss = distill_loss
        self.distill_weight = distill_weight
        self.max_epochs = max_epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.finetune_source_weight = finetune_source_weight
        self.pseudo_label_threshold = pseudo_label_threshold
        self.unlabeled_weight = unlabeled_weight
        self.self_training_rounds = self_training_rounds
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        """Pretrain on the labelled source rows, then fine-tune on the target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, frames, n_mels)
            Rows of all domains: functional features (2-D) or padded log-mel
            sequences (3-D, for ``network="cnn"`` or ``"crnn"``).
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (``"-1"`` for strings) marks unlabelled rows.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
            Inferred from ``y`` when omitted (labelled rows are source).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. It multiplies the loss weight
            the row gets in every phase: pretraining (labelled source rows),
            fine-tuning (labelled target rows), rehearsal (source rows, with
            ``finetune_source_weight``) and self-training (pseudo-labelled
            rows, with ``unlabeled_weight``). Each phase's loss is a
            weighted mean; ``class_weight="balanced"`` counts the classes by
            weight, as scikit-learn does; ``finetune_source_weight`` and
            ``unlabeled_weight`` stay the total shares of their parts, and
            the weights divide each share among its rows. The validation
            loss of early stopping weighs the held-out rows the same way. A
            row of weight 0 is left out of training, of the held-out rows
            and of pseudo-labelling. An ``estimator`` trained on the
            embeddings gets the weights through its own ``sample_weight``
            (with a ``sampler``, they follow the rows through its
            ``sample_indices_``). The input standardisation uses every row
            as given (it describes the domains). All ones is the same fit
            as None; a weight of 2 is not the same as a repeated row
            (mini-batch training draws a repeated row twice).

        Returns
        -------
        self : FineTuneClassifier
            The fitted estimator.
        """
        return super().fit(
            X, y, sample_domain=sample_domain, sample_weight=sample_weight
        )

    def __sklearn_clone__(self):
        # A pretrained init_from is data, not a setting: clones share it (fit
        # only reads it) instead of getting an unfitted copy, so GridSearchCV
        # and cross_val_score can fine-tune from it. scikit-learn's own clone
        # does the rest (parameters, metadata requests).
        new = super().__sklearn_clone__()
        new.init_from = self.init_from
        return new

    def _build(self, n_features, n_classes):
        from ._nets import ClassifierNet

        if self.init_from is None:
            spec, trunk = build_classifier_trunk(self, n_features)
            return spec, ClassifierNet(trunk, [n_classes])
        src = self._pretrained()
        check_init_from(src, n_features, getattr(self, "input_shape_", None))
        if hasattr(src, "input_shape_"):
            self.input_shape_ = src.input_shape_
        trunk = copy.deepcopy(src.module_.trunk).to("cpu")
        module = ClassifierNet(trunk, [n_classes])
        if np.array_equal(np.asarray(src.classes_), self.classes_):
            module.heads[0].load_state_dict(src.module_.heads[0].state_dict())
        return dict(src.trunk_spec_), module

    def _row_weights(self, y_idx, n_cls, sample_weight=None):
        """Per-row loss weights: ``class_weight`` times the caller's weights.

        Ones without either; with ``sample_weight``, ``"balanced"`` counts
        the classes by those weights.
        """
        w = class_weights(
            y_idx, n_cls, self.class_weight, "cpu", self.classes_, sample_weight
        )
        if w is None:
            rw = np.ones(len(y_idx))
        else:
            rw = w.numpy().astype(np.float64)[y_idx]
        return rw if sample_weight is None else rw * sample_weight

    @staticmethod
    def _weighted_blocks(module):
        """``(index, block)`` of the trunk blocks that have weights.

        The unit of ``freeze`` and ``lr_decay``: a parameter-free block (the
        global pooling of the CNN) is no layer to freeze or to train.
        """
        blocks = list(module.trunk.blocks) if hasattr(module.trunk, "blocks") else []
        return [
            (i, b) for i, b in enumerate(blocks) if any(True for _ in b.parameters())
        ]

    def _check_freeze(self, module):
        """Raise when ``freeze=k`` asks for more trunk blocks than there are."""
        n = len(self._weighted_blocks(module))
        if isinstance(self.freeze, numbers.Integral) and int(self.freeze) > n:
            raise ValueError(
                f"freeze={self.freeze} asks to fine-tune the last {self.freeze} "
                f"trunk blocks, but the trunk has {n} block(s) with weights "
                f"(network={self.trunk_spec_['network']!r}, hidden_layer_sizes="
                f"{tuple(self.trunk_spec_['hidden_layer_sizes'])}): use an int "
                f"from 0 to {n}, or freeze='none' to fine-tune every block."
            )

    def _finetune_groups(self, module, lr):
        """Freeze trunk blocks and return skorch param groups with their lrs."""
        blocks = self._weighted_blocks(module)
        n = len(blocks)
        if self.freeze == "none":
            k = n
        elif self.freeze == "all_but_head":
            k = 0
        else:
            k = min(int(self.freeze), n)
        groups = []
        for j, (i, block) in enumerate(blocks):
            trainable = j >= n - k
            for p in block.parameters():
                p.requires_grad_(trainable)
            if trainable:
                depth = n - j
                groups.append(
                    (f"trunk.blocks.{i}.*", {"lr": lr * self.lr_decay**depth})
                )
        self.n_trainable_blocks_ = k
        return groups

    def _weighted_rows(self, parts):
        """Rows and ``(class index, row weight)`` targets of weighted parts.

        Each part ``(X, y_idx, total, sample_weight)`` gets the total weight
        ``total`` and is class-balanced within itself by ``class_weight``;
        within a part, rows weigh in proportion to the caller's
        ``sample_weight`` (None: equally). Empty parts are left out.
        """
        n_cls = self.classes_.size
        X_parts, y_parts, w_parts = [], [], []
        for Xp, yp, total, sw in parts:
            if len(yp) == 0:
                continue
            rw = self._row_weights(yp, n_cls, sw)
            X_parts.append(Xp)
            y_parts.append(yp)
            w_parts.append(total * rw / rw.sum())
        n_rows = sum(len(yp) for yp in y_parts)
        yr = with_row_weights(np.concatenate(y_parts), np.concatenate(w_parts) * n_rows)
        return np.concatenate(X_parts), yr

    def _head_proba(self, module, Xs):
        """Softmax of the main head on already scaled rows (eval mode, in chunks)."""
        # the softmax runs on each chunk's logits where the network ran
        return self._forward(module, Xs, lambda out: (torch.softmax(out[0], dim=1),))[0]

    def _finetune(self, module, X, y, loss_fn, *, lr, max_epochs, valid):
        """One fine-tuning phase: ``freeze`` and ``lr_decay`` applied, then undone.

        The trunk blocks that ``freeze`` keeps fixed are trained no further
        and the others get their discriminative learning rates
        (:meth:`_finetune_groups`); every parameter is trainable again
        afterwards. Returns the phase's epoch history.
        """
        groups = self._finetune_groups(module, lr)
        history = self._train(
            module,
            X,
            y,
            loss_fn,
            lr=lr,
            max_epochs=max_epochs,
            valid=valid,
            param_groups=groups,
        )
        for p in module.parameters():
            p.requires_grad_(True)
        return history

    def _self_train(self, module, Xs, y_idx, masks, data, epochs, lr, seed, history):
        """Pseudo-label confident unlabelled target rows and fine-tune again.

        ``masks`` are the labelled source, labelled target and unlabelled
        target rows that train (with the caller's weights: those of
        positive weight); ``data.weights`` gives their caller's weights.
        """
        src, tgt, unl = masks
        Xu = Xs[unl]
        wu = data.weights(unl)
        history["self_training"] = []
        for r in range(int(self.self_training_rounds)):
            proba = self._head_proba(module, Xu)
            keep = proba.max(axis=1) >= self.pseudo_label_threshold
            self.n_pseudo_labeled_.append(int(keep.sum()))
            if not keep.any():
                break
            # each part (labelled target, pseudo-labelled target, source) has
            # a fixed total weight and is class-balanced within itself; the
            # last item seeds the part's early-stopping hold-out
            parts = [
                (
                    Xu[keep],
                    proba[keep].argmax(axis=1),
                    self.unlabeled_weight,
                    seed + 2 + r,
                    None if wu is None else wu[keep],
                )
            ]
            if tgt.any():
                parts.append((Xs[tgt], y_idx[tgt], 1.0, seed + 1, data.weights(tgt)))
            if self.finetune_source_weight > 0 and src.any():
                parts.append(
                    (
                        Xs[src],
                        y_idx[src],
                        self.finetune_source_weight,
                        seed,
                        data.weights(src),
                    )
                )
            # early stopping holds out rows of each part (stratified by
            # class); the labelled rows held out are those that pretraining
            # (source, seed) and fine-tuning (target, seed + 1) held out, so
            # no validation row was trained on in an earlier phase
            train_parts, valid_parts = [], []
            for Xp, yp, total, part_seed, wp in parts:
                Xp, yp, wp, held = self._split_off(Xp, yp, part_seed, wp)
                train_parts.append((Xp, yp, total, wp))
                if held is not None:
                    valid_parts.append((*held[:2], total, held[2]))
            Xr, yr = self._weighted_rows(train_parts)
            if not np.any(yr[:, 1] > 0):
                break
            valid = self._weighted_rows(valid_parts) if valid_parts else None
            history["self_training"] += self._finetune(
                module,
                Xr,
                yr,
                _ClassifierLoss(None),
                lr=lr,
                max_epochs=epochs,
                valid=valid,
            )

    def _fit(self, data: DomainData) -> None:
        y_idx = self._start(data)
        self.__dict__.pop("n_trainable_blocks_", None)  # set only when fine-tuning
        if self.distill_loss is not None and not callable(self.distill_loss):
            raise TypeError("distill_loss must be a callable loss(student, teacher).")
        seed = self._draw_seed()
        Xs = self._scaled(data.X, data.sample_domain)
        src = data.labeled & data.source
        tgt = data.labeled & data.target
        unl = data.target & ~data.labeled
        if data.sample_weight is not None:
            # a row of weight 0 is absent: it neither trains nor validates
            positive = data.sample_weight > 0
            src, tgt, unl = src & positive, tgt & positive, unl & positive
        n_cls = self.classes_.size
        if self.max_epochs == 0 and self.finetune_epochs is None:
            # finetune_epochs=None follows max_epochs: neither phase would
            # train, and a random (or init_from's) network would be returned
            raise ValueError(
                "FineTuneClassifier(max_epochs=0) skips pretraining, and "
                "finetune_epochs=None takes max_epochs, so nothing would be "
                "trained. Set finetune_epochs (e.g. finetune_epochs=50) for "
                "target-only or joint training from a random start or from "
                "init_from; finetune_epochs=0 keeps the network as it starts."
            )
        ft_epochs = (
            self.max_epochs if self.finetune_epochs is None else self.finetune_epochs
        )
        ft_lr = self.lr if self.finetune_lr is None else self.finetune_lr
        history: dict[str, list] = {"pretrain": [], "finetune": []}
        self_training = (
            self.pseudo_label_threshold is not None and unl.any() and ft_epochs > 0
        )
        with self._seeded(seed):
            self.trunk_spec_, module = self._build(data.X.shape[1], n_cls)
            self._check_freeze(module)
            module.to(device=self.device_, dtype=torch.float32)
            # early stopping holds out source rows before the sampler runs, so
            # that no copy of a training row is in the validation set
            Xp, yp, wp, valid = self._split_off(
                Xs[src], y_idx[src], seed, data.weights(src)
            )
            Xp, yp, w, valid = self._phase_rows(Xp, yp, wp, valid, seed)
            history["pretrain"] = self._train(
                module,
                Xp,
                yp,
                _ClassifierLoss(w),
                lr=self.lr,
                max_epochs=self.max_epochs,
                valid=valid,
            )
            self.n_finetune_rows_ = int(tgt.sum())
            if (
                self.finetune_epochs
                and data.target.any()
                and not tgt.any()
                and not self_training
            ):
                # target rows, none labelled: e.g. few-shot rows whose
                # domains were not given (a fit without target rows at all,
                # as scikit-learn's checks do, is plain source training)
                warnings.warn(
                    f"{type(self).__name__}: finetune_epochs="
                    f"{self.finetune_epochs} but no labelled target rows, so "
                    "nothing was fine-tuned: the model is the network pretrained "
                    "on the source rows. Give the labelled target rows negative "
                    "sample_domain ids (without sample_domain every labelled row "
                    "is a source row), or set finetune_epochs=0 for a source-only "
                    "model.",
                    SertlWarning,
                    stacklevel=external_stacklevel(),
                )
            if tgt.any() and ft_epochs > 0:
                teacher = None
                if self.distill_loss is not None:
                    teacher = copy.deepcopy(module).eval()
                    for p in teacher.parameters():
                        p.requires_grad_(False)
                rehearse = self.finetune_source_weight > 0 and src.any()
                # early stopping needs held-out target rows; with rehearsal the
                # source rows are held out on their own as well, so that both
                # domains are in the validation set. They are the source rows
                # pretraining held out (same seed); they stay out of training
                # also when too few target rows leave this phase without
                # early stopping but self-training validates on them later
                Xt, yt, wt, valid = self._split_off(
                    Xs[tgt], y_idx[tgt], seed + 1, data.weights(tgt)
                )
                X_src, y_src, w_src, valid_src = (
                    Xs[src],
                    y_idx[src],
                    data.weights(src),
                    None,
                )
                if rehearse and (valid is not None or self_training):
                    X_src, y_src, w_src, valid_src = self._split_off(
                        X_src, y_src, seed, w_src
                    )
                if rehearse:
                    # rehearsal (joint fine-tuning): the source rows keep a
                    # share of the loss; class weights are computed within
                    # each domain and folded into the row weights, so each
                    # domain is class-balanced on its own.
                    Xt, yt, wt = self._resample(Xt, yt, seed, wt)
                    fsw = self.finetune_source_weight
                    Xt, yt = self._weighted_rows(
                        [(Xt, yt, 1.0, wt), (X_src, y_src, fsw, w_src)]
                    )
                    if valid is not None:
                        held = [(*valid[:2], 1.0, valid[2])]
                        if valid_src is not None:
                            held.append((*valid_src[:2], fsw, valid_src[2]))
                        valid = self._weighted_rows(held)
                    w = None
                else:
                    Xt, yt, w, valid = self._phase_rows(Xt, yt, wt, valid, seed)
                loss = _ClassifierLoss(
                    w, teacher, self.distill_loss, float(self.distill_weight)
                )
                history["finetune"] = self._finetune(
                    module,
                    Xt,
                    yt,
                    loss,
                    lr=ft_lr,
                    max_epochs=ft_epochs,
                    valid=valid,
                )
            self.n_pseudo_labeled_: list[int] = []
            if self_training:
                self._self_train(
                    module,
                    Xs,
                    y_idx,
                    (src, tgt, unl),
                    data,
                    ft_epochs,
                    ft_lr,
                    seed,
                    history,
                )
        self.module_ = module.eval()
        self._finish(data, history, seed)

    def _phase_rows(self, X, y_idx, sample_weight, held, seed):
        """Training rows, targets, class weights and validation of one domain.

        Resamples the training rows with ``sampler`` and computes the class
        weights on them. Without the caller's weights the targets are class
        indices; with them, ``(class index, weight)`` pairs, for the
        training rows and the held-out rows alike, so that the early
        stopping loss is weighted too (``"balanced"`` then counts classes
        by weight).
        """
        X, y_idx, sw = self._resample(X, y_idx, seed, sample_weight)
        w = class_weights(
            y_idx,
            self.classes_.size,
            self.class_weight,
            self.device_,
            self.classes_,
            sw,
        )
        if sw is None:
            return X, y_idx, w, None if held is None else held[:2]
        if held is not None:
            held = (held[0], with_row_weights(held[1], held[2]))
        return X, with_row_weights(y_idx, sw), w, held

    def _split_off(self, X, y_idx, seed, sample_weight=None):
        """Training rows, their weights and the held-out ``(X, y, weights)``.

        Returns ``(X, y_idx, sample_weight, held)``: the training rows, the
        caller's weights of them (None without weights) and the rows held
        out for early stopping with theirs (None when nothing is held out).
        The split does not depend on the weights.
        """
        split = self._valid_split(len(y_idx), y_idx, seed)
        if split is None:
            return X, y_idx, sample_weight, None
        tr, va = split
        sw = sample_weight
        sw_tr, sw_va = (None, None) if sw is None else (sw[tr], sw[va])
        return X[tr], y_idx[tr], sw_tr, (X[va], y_idx[va], sw_va)
