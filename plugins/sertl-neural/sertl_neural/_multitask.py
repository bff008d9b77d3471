"""Multi-task learning: a shared trunk with one head per task."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.utils.multiclass import type_of_target

from sertl_core import DomainData, is_unlabeled
from sertl_core.params import StrOptions

from ._base import (
    _NETWORK_CONSTRAINTS,
    _TRAINING_CONSTRAINTS,
    NeuralTransferEstimator,
    build_classifier_trunk,
    class_weights,
    split_row_weights,
    weighted_cross_entropy,
    with_row_weights,
)
from ._lazy import torch

__all__ = ["MultiTaskClassifier"]


def _labels_array(labels):
    """One task's labels as an array; pandas' missing values stay missing.

    numpy turns a nullable integer column (``Int64`` with ``pd.NA``) into
    floats, so its labels would come back as 0.0, 1.0: such a column is read
    as objects, the integers kept and each missing value None.
    """
    if hasattr(labels, "to_numpy") and getattr(labels.dtype, "kind", "O") in "iub":
        return labels.to_numpy(dtype=object, na_value=None)
    return np.asarray(labels)


def _aux_columns(aux, n_rows):
    """``aux`` as an ordered dict ``{task: 1-D array}`` with validated lengths."""
    if aux is None:
        return {}
    if hasattr(aux, "columns"):  # pandas DataFrame (sliced by CV splitters)
        cols = {str(c): _labels_array(aux[c]) for c in aux.columns}
    elif isinstance(aux, Mapping):
        cols = {str(k): _labels_array(v) for k, v in aux.items()}
    else:
        raise TypeError(
            "aux must be a dict {task_name: labels} or a pandas DataFrame with "
            f"one column per auxiliary task, got {type(aux).__name__}."
        )
    for name, col in cols.items():
        if name == "emotion":
            raise ValueError(
                "aux must not contain 'emotion': the emotion labels are y; "
                "aux holds the auxiliary tasks (e.g. gender, speaker, corpus)."
            )
        if col.ndim != 1:
            raise ValueError(
                f"aux[{name!r}] must be 1-D (one label per row), got shape {col.shape}."
            )
        if col.shape[0] != n_rows:
            raise ValueError(
                f"aux[{name!r}] has {col.shape[0]} labels but X has {n_rows} rows: "
                "give one label per row (-1, '-1' or None where unknown)."
            )
    return cols


def _cosine(grads_a, grads_b):
    """Cosine between two gradients given as lists of tensors (None: zero)."""
    dot = na = nb = 0.0
    for a, b in zip(grads_a, grads_b, strict=True):
        if a is not None:
            na += float((a * a).sum())
        if b is not None:
            nb += float((b * b).sum())
        if a is not None and b is not None:
            dot += float((a * b).sum())
    if na <= 0.0 or nb <= 0.0:
        return 0.0
    return dot / (na**0.5 * nb**0.5)


class _MultiTaskLoss:
    """Weighted sum of the task losses.

    ``y`` holds one column of class indices per task (``-1``: unknown); with
    ``row_weighted``, a last column of row weights (the caller's
    ``sample_weight``) that weighs every task's cross-entropy of the row.
    """

    def __init__(
        self,
        task_weights,
        class_weights_,
        log_vars=None,
        module=None,
        row_weighted=False,
    ):
        self.task_weights = task_weights
        self.class_weights = class_weights_
        self.log_vars = log_vars  # uncertainty weighting (Kendall et al.)
        self.module = module  # gradient-similarity gating (Du et al.)
        self.row_weighted = row_weighted
        self.n_used = 0  # auxiliary terms that reached the trunk
        self.n_seen = 0

    def _ce(self, logits, y, t, rw):
        """Cross-entropy of task ``t`` over its labelled rows (row-weighted)."""
        return weighted_cross_entropy(logits, y[:, t], self.class_weights[t], rw)

    def _gated(self, outputs, y, rw):
        """Gradient-similarity gating of the auxiliary tasks (Du et al.).

        An auxiliary task trains the shared trunk only on batches where its
        trunk gradient has a positive cosine with the emotion gradient; its
        own head always learns.
        """
        trunk = [p for p in self.module.trunk.parameters() if p.requires_grad]
        w0 = self.task_weights[0]
        main = w0 * self._ce(outputs[0], y, 0, rw)
        loss = main
        g_main = torch.autograd.grad(main, trunk, retain_graph=True, allow_unused=True)
        emb = outputs[-1]
        for t in range(1, len(self.task_weights)):
            w = self.task_weights[t]
            if w <= 0 or not bool((y[:, t] >= 0).any()):
                continue
            ce = self._ce(outputs[t], y, t, rw)
            g_aux = torch.autograd.grad(ce, trunk, retain_graph=True, allow_unused=True)
            self.n_seen += 1
            if _cosine(g_main, g_aux) > 0.0:
                self.n_used += 1
                loss = loss + w * ce
            else:  # the head learns from a detached embedding: trunk untouched
                head_out = self.module.heads[t](emb.detach())
                loss = loss + w * self._ce(head_out, y, t, rw)
        return loss

    def __call__(self, outputs, y, X, training):
        rw = None
        if self.row_weighted:
            y, rw = split_row_weights(y)
        if not training:  # early stopping follows the main task
            return self._ce(outputs[0], y, 0, rw)
        if self.module is not None:
            return self._gated(outputs, y, rw)
        loss = 0.0
        for t, w in enumerate(self.task_weights):
            if w <= 0:
                continue
            ce = self._ce(outputs[t], y, t, rw)
            if self.log_vars is not None:
                if not bool((y[:, t] >= 0).any()):
                    continue  # no label of this task in the batch: no term
                # exp(-s) L + s / 2 with s = log sigma^2 (classification form)
                s = self.log_vars[t]
                ce = torch.exp(-s) * ce + 0.5 * s
            loss = loss + w * ce
        if not isinstance(loss, float):
            return loss
        return outputs[0].sum() * 0.0


class MultiTaskClassifier(NeuralTransferEstimator):
    """Emotion classifier trained jointly with auxiliary tasks on a shared trunk.

    One network, a shared trunk and one linear head per task: emotion (``y``)
    plus any auxiliary classification task given in ``fit(..., aux=...)``
    (gender, speaker, binary arousal or valence, corpus, ...). The loss is
    the weighted sum of each task's cross-entropy over the rows that carry
    that task's label, so rows may miss any label: a target row with an
    unknown emotion (``-1``) but a known gender still trains the trunk
    through the gender head. ``predict`` returns emotions;
    :meth:`predict_task` answers an auxiliary task.

    ``aux`` is routed like ``sample_domain``: with scikit-learn's metadata
    routing off pass ``step__aux=...`` to a Pipeline; with it on, ``aux`` is
    requested by default. Give a pandas DataFrame (one column per task) when
    cross-validating, so splitters slice it with the rows. For the corpus
    task give corpus names (``aux={"corpus": names}``), not
    ``sample_domain``: the label ``-1`` means "unknown".

    With several source domains their labelled rows are pooled for the emotion
    head; to learn which corpus a row comes from, add a corpus task
    (``aux={"corpus": names}``). ``standardize="domain"`` scales each domain
    with its own statistics.

    Parameters
    ----------
    estimator : estimator object, default=None
        ``None``: predict with the emotion head. A scikit-learn classifier:
        fitted on the trunk's embeddings of the emotion-labelled rows.
    sampler : None, default=None
        Not supported (resampling would separate rows from their auxiliary
        labels); use ``class_weight="balanced"``.
    network : {"mlp", "cnn", "crnn"}, default="mlp"
        Trunk family (see :class:`FineTuneClassifier`).
    hidden_layer_sizes : tuple of int, default=(128, 64)
        Fully connected blocks of the shared trunk.
    conv_channels : tuple of int, default=(16, 32)
        Convolution blocks (CNN/CRNN only).
    rnn_hidden : int, default=64
        GRU width (CRNN only).
    n_mels : int or None, default=None
        Mel bands of flattened 2-D log-mel input.
    dropout : float, default=0.2
        Dropout after each fully connected block.
    task_weights : dict of str to float, default=None
        Loss weight of each task by name (``"emotion"`` and the ``aux``
        names); missing names weigh 1.0. Weights must be finite and
        non-negative; 0 switches a task's loss off.
    task_weighting : {"fixed", "uncertainty", "gradient_similarity"}, default="fixed"
        How the task losses are combined.
        ``"fixed"``: the loss is ``sum_t w_t L_t`` with the ``task_weights``.
        ``"uncertainty"``: homoscedastic uncertainty weighting [3]_, one
        learnable log-variance ``s_t`` per task and the loss
        ``sum_t w_t (exp(-s_t) L_t + s_t / 2)``, so the balance between the
        tasks is learned during training (``task_weights`` still multiply;
        ``weight_decay`` does not apply to the ``s_t``).
        The learned ``s_t`` are in ``task_log_vars_``.
        ``"gradient_similarity"``: an auxiliary task's loss reaches the
        shared trunk only on mini-batches where its gradient on the trunk
        has a positive cosine with the emotion loss's gradient [6]_
        (otherwise only its head learns, from the detached embedding), so
        an auxiliary task cannot pull the trunk against the emotion task.
        The share of batches where it did is in ``aux_gradient_share_``.
    adversarial_tasks : list of str, default=None
        Auxiliary tasks whose head sees the trunk through a gradient
        reversal layer [4]_ [5]_: the head still learns the task, but the
        trunk is trained to remove that information (e.g. gender- or
        corpus-invariant emotion features) instead of sharing it. The
        other auxiliary tasks are ordinary (cooperative) tasks.
    task_layers : dict of str to int, default=None
        ``{task: k}``: the head of that auxiliary task reads the output of
        the trunk's k-th hidden block (1-based) instead of the last one, so
        only the lower blocks are shared with it and the upper blocks serve
        the emotion task alone (low-level auxiliary supervision [7]_).
        MLP trunks only; not combined with
        ``task_weighting="gradient_similarity"``.
    max_epochs : int, default=50
        Training epochs.
    batch_size : int, default=32
        Mini-batch size.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    class_weight : {"balanced"}, dict or None, default=None
        Class-balanced cross-entropy for every task, or ``{label: weight}``
        for the emotion classes.
    standardize : bool or "domain", default=True
        Input standardisation, per domain with ``"domain"`` (see
        :class:`FineTuneClassifier`).
    early_stopping : bool, default=False
        Stop on the emotion loss of held-out emotion-labelled rows
        (``validation_fraction`` of the source rows and of the target rows
        with an emotion label, each stratified by emotion on its own),
        keeping the best weights; rows with auxiliary labels only always
        train.
        A domain's labelled rows stay in training when they are fewer than
        10, or their ``validation_fraction`` rounds to no row or leaves
        fewer than 2 to train; with no row
        held out at all, training runs without early stopping
        (``history_`` has no ``valid_loss``).
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping.
    device : str or None, default="auto"
        ``"auto"`` or None (CUDA when available, else CPU), ``"cpu"`` or
        ``"cuda[:i]"``.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, shuffling, dropout, the validation split and
        the weighted resample of the embeddings that an ``estimator``
        without ``sample_weight`` gets. ``None`` draws the seed from numpy's
        global generator, as scikit-learn's estimators do
        (``np.random.seed(k)`` before the fit makes it repeatable).
    verbose : int, default=0
        Print skorch's per-epoch progress table when > 0.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    trunk_spec_ : dict
        Architecture of the trunk.
    tasks_ : list of str
        Task names, ``"emotion"`` first.
    task_classes_ : dict of str to ndarray
        Classes of every task.
    task_log_vars_ : dict of str to float
        Learned log-variance of every task (``task_weighting="uncertainty"``
        only).
    aux_gradient_share_ : float
        Share of (batch, auxiliary task) pairs whose loss reached the trunk
        (``task_weighting="gradient_similarity"`` only).
    classes_ : ndarray of shape (n_classes,)
        Emotion classes.
    estimator_ : estimator object
        The network's own head (a fitted
        ``sertl_neural._base.NeuralHead``) or the fitted ``estimator``.
    history_ : list of dict
        Per-epoch losses and durations.
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
    FineTuneClassifier : Accepts a fitted MultiTaskClassifier as ``init_from``.

    References
    ----------
    .. [1] R. Caruana, "Multitask learning", Machine Learning 28, 1997.
    .. [2] R. Xia and Y. Liu, "A multi-task learning framework for emotion
       recognition using 2D continuous space", IEEE Transactions on
       Affective Computing 8(1), 2017.
    .. [3] A. Kendall, Y. Gal and R. Cipolla, "Multi-task learning using
       uncertainty to weigh losses for scene geometry and semantics", CVPR
       2018.
    .. [4] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle,
       F. Laviolette, M. Marchand and V. Lempitsky, "Domain-adversarial
       training of neural networks", JMLR 17(59), 2016.
    .. [5] H. Li, M. Tu, J. Huang, S. Narayanan and P. Georgiou,
       "Speaker-invariant affective representation learning via adversarial
       training", ICASSP 2020.
    .. [6] Y. Du, W. M. Czarnecki, S. M. Jayakumar, M. Farajtabar,
       R. Pascanu and B. Lakshminarayanan, "Adapting auxiliary losses using
       gradient similarity", arXiv:1812.02224, 2018.
    .. [7] A. Søgaard and Y. Goldberg, "Deep multi-task learning with low
       level tasks supervised at lower layers", ACL 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural import MultiTaskClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)); y = np.repeat([0, 1], 20); X[:, 0] += 2 * y
    >>> gender = np.tile(["f", "m"], 20)
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    >>> clf.fit(X, y, aux={"gender": gender}).tasks_
    ['emotion', 'gender']
    >>> clf.predict_task(X[:2], "gender").shape
    (2,)

    Learned task balance (Kendall et al.) and a gender head on the first
    trunk block only:

    >>> unc = MultiTaskClassifier(hidden_layer_sizes=(8, 4), max_epochs=3,
    ...                           task_weighting="uncertainty",
    ...                           task_layers={"gender": 1}, random_state=0)
    >>> sorted(unc.fit(X, y, aux={"gender": gender}).task_log_vars_)
    ['emotion', 'gender']
    """

    registry_name = "multitask"
    _sertl_auto_candidate = False
    _no_sampler_reason = "resampling would separate rows from their auxiliary labels"
    _needs_target = False

    __metadata_request__fit = {"sample_domain": True, "aux": True}

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [None],
        **_NETWORK_CONSTRAINTS,
        **_TRAINING_CONSTRAINTS,
        "task_weights": [dict, None],
        "task_weighting": [StrOptions({"fixed", "uncertainty", "gradient_similarity"})],
        "adversarial_tasks": [list, tuple, None],
        "task_layers": [dict, None],
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
        task_weights=None,
        task_weighting="fixed",
        adversarial_tasks=None,
        task_layers=None,
        max_epochs=50,
        batch_size=32,
        lr=1e-3,
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
        self.task_weights = task_weights
        self.task_weighting = task_weighting
        self.adversarial_tasks = adversarial_tasks
        self.task_layers = task_layers
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, *, sample_domain=None, aux=None, sample_weight=None):
        """Fit the shared trunk and every task head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, frames, n_mels)
            Rows of all domains.
        y : array-like of shape (n_samples,)
            Emotion labels; ``-1`` (``"-1"`` for strings) where unknown.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
        aux : dict of str to array-like, or pandas DataFrame, default=None
            Auxiliary task labels, one 1-D array (column) per task, aligned
            with the rows; ``-1``, ``"-1"``, ``None`` or ``NaN`` where a
            row's label is unknown. Every task is a classification: continuous
            values (arousal, valence) are refused; bin them into classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. It multiplies the row's loss
            weight in every task it carries a label of (emotion and
            auxiliary tasks alike, so a row with auxiliary labels only is
            weighted too); each task's loss is the weighted mean over its
            labelled rows, times its ``task_weights`` entry, and
            ``class_weight="balanced"`` counts classes by weight. Early
            stopping's emotion loss on the held-out rows is weighted the
            same way. A row of weight 0 is left out of training and
            validation. Input standardisation uses every row as given.
            All ones is the same fit as None.

        Returns
        -------
        self : MultiTaskClassifier
            The fitted estimator.
        """
        if hasattr(X, "shape"):
            n_rows = X.shape[0]
        elif hasattr(X, "__len__"):
            n_rows = len(X)
        else:  # an object that only converts to an array (__array__)
            n_rows = np.asarray(X).shape[0]
        self._aux_pending = _aux_columns(aux, n_rows)
        try:
            return super().fit(
                X, y, sample_domain=sample_domain, sample_weight=sample_weight
            )
        finally:
            del self._aux_pending

    def _fit(self, data: DomainData) -> None:
        y_idx = self._start(data)
        for attr in ("task_log_vars_", "aux_gradient_share_"):
            self.__dict__.pop(attr, None)  # set only by some task_weighting values
        aux = self._aux_pending
        n_all, n_in = data.X.shape[0], data.n_input_rows
        tasks = ["emotion"]
        columns = [y_idx]
        task_classes = {"emotion": self.classes_}
        for name, col in aux.items():
            lab = ~is_unlabeled(col)
            if not lab.any():
                raise ValueError(
                    f"aux[{name!r}] has no labelled row (every label is -1, '-1', "
                    "None or NaN): drop the task or give its labels."
                )
            if col.dtype.kind == "f" and type_of_target(col[lab]) == "continuous":
                raise ValueError(
                    f"aux[{name!r}] holds continuous values (regression targets "
                    "such as arousal or valence), but each auxiliary task is a "
                    "classification head: every distinct value would be a class "
                    f"of its own ({np.unique(col[lab]).size} here). Give the task "
                    "class labels, -1 where unknown: bin the values, e.g. "
                    "np.where(np.isnan(v), -1, (v > 0).astype(int)) for low/high, "
                    "or map emotions with sertl_speech.to_binary_arousal."
                )
            try:
                classes = np.unique(col[lab])
            except TypeError:
                kinds = sorted({type(v).__name__ for v in col[lab].tolist()})
                raise ValueError(
                    f"aux[{name!r}] mixes label types ({', '.join(kinds)}), "
                    "which cannot be sorted into one list of classes. Give the "
                    f"task's labels one type, e.g. aux[{name!r}] = "
                    "np.asarray(labels).astype(str)."
                ) from None
            if classes.size < 2:
                raise ValueError(
                    f"aux[{name!r}] has fewer than two classes among its labelled "
                    "rows: drop the task or check its labels."
                )
            if classes.dtype == object and all(
                isinstance(c, bool | np.bool_) for c in classes
            ):  # boolean labels of a pandas column (_labels_array)
                classes = classes.astype(bool)
            elif classes.dtype == object and all(
                isinstance(c, numbers.Integral) for c in classes
            ):  # integer labels of a nullable column (_labels_array)
                classes = classes.astype(np.int64)
            idx = np.full(n_all, -1, dtype=np.int64)  # copies made by the core: unknown
            idx[:n_in][lab] = np.searchsorted(classes, col[lab])
            tasks.append(name)
            columns.append(idx)
            task_classes[name] = classes
        weights = dict(self.task_weights or {})
        unknown = sorted(set(weights) - set(tasks))
        if unknown:
            raise ValueError(
                f"task_weights names unknown task(s) {unknown}; the tasks are "
                f"{tasks} (emotion from y, the rest from aux)."
            )
        task_w = [float(weights.get(t, 1.0)) for t in tasks]
        if not all(np.isfinite(w) and w >= 0.0 for w in task_w):
            raise ValueError(
                f"task_weights must be finite and non-negative, got {weights}: "
                "give each task a weight >= 0 (0 switches its loss off)."
            )
        adversarial = list(self.adversarial_tasks or [])
        bad = sorted(
            str(t) for t in adversarial if not isinstance(t, str) or t not in tasks[1:]
        )
        if bad:
            raise ValueError(
                f"adversarial_tasks names {bad}, which are not auxiliary tasks; "
                f"the auxiliary tasks are {tasks[1:]} (the keys of aux; emotion "
                "cannot be adversarial)."
            )
        reversed_heads = [tasks.index(t) for t in adversarial]
        uncertainty = self.task_weighting == "uncertainty"
        Y = np.stack(columns, axis=1)
        keep = (Y >= 0).any(axis=1)
        sw = data.sample_weight
        if sw is not None:
            keep &= sw > 0  # a row of weight 0 is absent
            sw = sw[keep]
        seed = self._draw_seed()
        Xs = self._scaled(data.X, data.sample_domain)
        from ._nets import ClassifierNet

        with self._seeded(seed):
            self.trunk_spec_, trunk = build_classifier_trunk(self, data.X.shape[1])
            head_layers = self._head_layers(tasks)
            sizes = [task_classes[t].size for t in tasks]
            module = ClassifierNet(
                trunk,
                sizes,
                reversed_heads=reversed_heads,
                n_log_vars=len(tasks) if uncertainty else 0,
                head_layers=head_layers,
            ).to(device=self.device_, dtype=torch.float32)
            cw = [
                class_weights(
                    Y[keep, t],
                    sizes[t],
                    self.class_weight,
                    self.device_,
                    task_classes[t_name],
                    sw,
                )
                if t == 0 or not isinstance(self.class_weight, dict)
                else None
                for t, t_name in enumerate(tasks)
            ]
            # early stopping follows the emotion loss: it holds out rows with
            # an emotion label, each domain on its own (stratified by
            # emotion); rows with auxiliary labels only always train
            Yk, src_k = Y[keep], data.source[keep]
            emo = Yk[:, 0] >= 0
            held = [np.flatnonzero(emo & src_k), np.flatnonzero(emo & ~src_k)]
            groups = [(pos, Yk[pos, 0]) for pos in held]
            if sw is not None:  # the row weights travel as a last column
                Yk = with_row_weights(Yk, sw)
            history = self._train_held_out(
                module,
                Xs[keep],
                Yk,
                loss_fn := _MultiTaskLoss(
                    task_w,
                    cw,
                    module.log_vars,
                    module if self.task_weighting == "gradient_similarity" else None,
                    row_weighted=sw is not None,
                ),
                groups=groups,
                seed=seed,
                lr=self.lr,
                max_epochs=self.max_epochs,
                # the log-variances are the task balance, not weights to
                # shrink: weight decay would pull every s_t towards 0
                param_groups=[("log_vars", {"weight_decay": 0.0})]
                if uncertainty
                else None,
            )
        self.tasks_ = tasks
        self.task_classes_ = task_classes
        if loss_fn.module is not None:
            loss_fn.module = None  # no reference to the module kept
            self.aux_gradient_share_ = loss_fn.n_used / max(loss_fn.n_seen, 1)
        if uncertainty:
            self.task_log_vars_ = dict(
                zip(tasks, module.log_vars.detach().cpu().tolist(), strict=True)
            )
        self.module_ = module.eval()
        self._finish(data, history, seed)

    def _head_layers(self, tasks):
        """``task_layers`` validated, as ``{head index: block}``."""
        layers = dict(self.task_layers or {})
        if not layers:
            return {}
        bad = sorted(str(t) for t in layers if t not in tasks[1:])
        if bad:
            raise ValueError(
                f"task_layers names {bad}, which are not auxiliary tasks; the "
                f"auxiliary tasks are {tasks[1:]} (the emotion head stays on top)."
            )
        if self.network != "mlp":
            raise ValueError(
                f"task_layers needs network='mlp', got network={self.network!r}: "
                "use network='mlp', or leave task_layers=None to put every "
                "auxiliary head on top of the trunk."
            )
        if self.task_weighting == "gradient_similarity":
            raise ValueError(
                "task_layers cannot be combined with "
                "task_weighting='gradient_similarity', which compares each "
                "auxiliary task's gradient on the whole trunk with the emotion "
                "task's: use "
                "task_weighting='fixed' or 'uncertainty', or task_layers=None."
            )
        n_blocks = len(self.trunk_spec_["hidden_layer_sizes"])
        out = {}
        for task, k in layers.items():
            if isinstance(k, bool) or not isinstance(k, numbers.Integral):
                raise TypeError(
                    f"task_layers[{task!r}] must be an int (a trunk block, "
                    f"1-based), got {type(k).__name__}."
                )
            if not 1 <= k <= n_blocks:
                raise ValueError(
                    f"task_layers[{task!r}]={k} is not a block of the trunk: use "
                    f"1 to {n_blocks} (hidden_layer_sizes has {n_blocks} blocks)."
                )
            out[tasks.index(task)] = int(k)
        return out

    def predict_task(self, X, task, *, sample_domain=None):
        """Predict an auxiliary task (or ``"emotion"``) with its own head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, frames, n_mels)
            Rows to predict.
        task : str
            One of ``tasks_``.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Domain of each row, for ``standardize="domain"``; omitted, the
            rows are target data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels of that task.
        """
        if task not in getattr(self, "tasks_", [task]):
            raise ValueError(
                f"Unknown task {task!r}: this model was fitted on the tasks "
                f"{self.tasks_} (emotion from y, the others from the keys of "
                "aux): pass one of them, or fit with aux={task: labels} to "
                "learn a new one."
            )
        X, sd = self._checked(X, sample_domain)
        logits = self._outputs(self.module_, X, sd)[self.tasks_.index(task)]
        return self.task_classes_[task][np.argmax(logits, axis=1)]
