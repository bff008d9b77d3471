"""Domain-adversarial training (DANN) with a gradient reversal layer."""

from __future__ import annotations

import math
import numbers

import numpy as np

from sertl_core import DomainData
from sertl_core.params import Interval, StrOptions

from ._base import (
    _NETWORK_CONSTRAINTS,
    _TRAINING_CONSTRAINTS,
    NeuralTransferEstimator,
    build_classifier_trunk,
    class_weights,
    split_row_weights,
    weighted_cross_entropy,
    weighted_mean,
    with_row_weights,
)
from ._lazy import torch

__all__ = ["DANNClassifier"]


class _DANNLoss:
    """Emotion loss plus the discriminator's domain loss.

    ``y`` holds (class index or ``-1``, is-target); with ``row_weighted``,
    a third column of row weights (the caller's ``sample_weight``) that
    weighs the row in both losses (weighted means).

    The domain loss is the batch's weighted mean with each target row
    weighing ``target_weight`` (the source-to-target size ratio of the
    training rows) times its row weight: over an epoch it is half the source
    rows' mean plus half the target rows', whatever the two corpora's sizes,
    so the reversal strength means the same on 300 source and 3,000 target
    rows as on equal ones.
    """

    def __init__(self, class_weight, target_weight, row_weighted=False):
        self.class_weight = class_weight
        self.target_weight = target_weight
        self.row_weighted = row_weighted

    def __call__(self, outputs, y, X, training):
        rw = None
        if self.row_weighted:
            y, rw = split_row_weights(y)
        cls = weighted_cross_entropy(outputs[0], y[:, 0], self.class_weight, rw)
        if not training:  # early stopping follows the emotion loss
            return cls
        is_target = y[:, 1].to(outputs[1].dtype)
        dom = torch.nn.functional.binary_cross_entropy_with_logits(
            outputs[1], is_target, reduction="none"
        )
        # a weighted mean, never torch's fused "mean" reduction, which
        # rounds its own way: with row weights of 2 the same formula gives
        # the unweighted loss to the last bit (a power-of-two scale is exact)
        w = 1.0 + (self.target_weight - 1.0) * is_target
        if rw is not None:
            w = w * rw.to(w.dtype)
        return cls + weighted_mean(dom, w)


def ganin_lambda(progress, gamma=10.0):
    """Return Ganin et al.'s weight ``2 / (1 + exp(-gamma p)) - 1`` at progress p.

    Parameters
    ----------
    progress : float
        Share of training done.
    gamma : float, default=10.0
        Steepness.

    Returns
    -------
    lambda : float

    Examples
    --------
    >>> from sertl_neural._dann import ganin_lambda
    >>> ganin_lambda(0.0), round(ganin_lambda(1.0), 4)
    (0.0, 0.9999)
    """
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def _grl_callback(module, max_epochs, weight, schedule):
    from skorch.callbacks import Callback

    class _GRLSchedule(Callback):
        def on_epoch_begin(self, net, **kwargs):
            p = (len(net.history) - 1) / max(1, max_epochs)
            factor = ganin_lambda(p) if schedule == "ganin" else 1.0
            module.grl.lambd = float(weight) * factor

    return ("grl_schedule", _GRLSchedule())


class DANNClassifier(NeuralTransferEstimator):
    """Domain-adversarial neural network for unlabelled (or few-shot) targets.

    The trunk feeds an emotion head and, through a gradient reversal layer,
    a domain discriminator (source vs target). Training minimises the
    emotion loss on labelled rows and the domain loss on all rows while the
    reversed gradient pushes the trunk towards features the discriminator
    cannot separate, i.e. features that carry emotion but not the corpus.
    The reversal strength follows Ganin et al.'s schedule from 0 to
    ``adaptation_weight``, with training progress counted in epochs (it is
    set at the start of each epoch, where the paper updates it every step;
    with tens of epochs the two curves differ by less than one epoch). The
    domain loss gives the source rows and the target rows equal shares
    (half the source rows' mean binary cross-entropy plus half the target
    rows'), as in Ganin et al.'s batches of as many source as target
    examples, so ``adaptation_weight`` has the same meaning at any ratio of
    corpus sizes. Labelled target rows (few-shot) join the emotion loss.

    With several source domains their rows are pooled: the discriminator tells
    source rows (all positive ids) from target rows (all negative ids), so the
    trunk is not pushed to align the source domains with each other.
    ``standardize="domain"`` scales each domain with its own statistics.

    Parameters
    ----------
    estimator : estimator object, default=None
        ``None``: predict with the emotion head. A scikit-learn classifier:
        fitted on the domain-invariant embeddings of the labelled rows.
    sampler : None, default=None
        Not supported; use ``class_weight="balanced"``.
    network : {"mlp", "cnn", "crnn"}, default="mlp"
        Trunk family (see :class:`FineTuneClassifier`).
    hidden_layer_sizes : tuple of int, default=(128, 64)
        Fully connected blocks of the trunk.
    conv_channels : tuple of int, default=(16, 32)
        Convolution blocks (CNN/CRNN only).
    rnn_hidden : int, default=64
        GRU width (CRNN only).
    n_mels : int or None, default=None
        Mel bands of flattened 2-D log-mel input.
    dropout : float, default=0.2
        Dropout after each fully connected block.
    adaptation_weight : float, default=1.0
        Final strength of the reversed gradient (Ganin et al.'s lambda).
    schedule : {"ganin", "constant"}, default="ganin"
        Ramp the reversal strength up over training, or keep it constant.
    domain_hidden : int, default=64
        Width of the discriminator's hidden layer.
    max_epochs : int, default=50
        Training epochs.
    batch_size : int, default=32
        Mini-batch size (source and target rows shuffled together).
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    class_weight : {"balanced"}, dict or None, default=None
        Class-balanced emotion loss, or ``{label: weight}`` weights.
    standardize : bool or "domain", default=True
        Input standardisation, per domain with ``"domain"`` (see
        :class:`FineTuneClassifier`).
    early_stopping : bool, default=False
        Stop on the emotion loss of held-out labelled rows
        (``validation_fraction`` of the labelled source rows and of the
        labelled target rows, each stratified by emotion on its own),
        keeping the best weights. The unlabelled target rows are never
        held out: they all train the domain discriminator.
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
        The trained network (trunk, emotion head, domain head).
    trunk_spec_ : dict
        Architecture of the trunk.
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
    AutoencoderAdapter : Unsupervised feature transfer with autoencoders.

    References
    ----------
    .. [1] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle,
       F. Laviolette, M. Marchand and V. Lempitsky, "Domain-adversarial
       training of neural networks", JMLR 17(59), 2016.
    .. [2] M. Abdelwahab and C. Busso, "Domain adversarial for acoustic
       emotion recognition", IEEE/ACM TASLP 26(12), 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural import DANNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)); y = np.repeat([0, 1], 20); X[:, 0] += 2 * y
    >>> y[::4] = -1                      # unlabelled target rows
    >>> clf = DANNClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    >>> clf.fit(X, y).classes_.tolist()
    [0, 1]
    """

    registry_name = "dann"
    _sertl_auto_candidate = False
    _no_sampler_reason = (
        "its network trains on the labelled and unlabelled rows together, and a "
        "sampler resamples the labelled rows alone"
    )

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [None],
        **_NETWORK_CONSTRAINTS,
        **_TRAINING_CONSTRAINTS,
        "adaptation_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "schedule": [StrOptions({"ganin", "constant"})],
        "domain_hidden": [Interval(numbers.Integral, 1, None, closed="left")],
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
        adaptation_weight=1.0,
        schedule="ganin",
        domain_hidden=64,
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
        self.adaptation_weight = adaptation_weight
        self.schedule = schedule
        self.domain_hidden = domain_hidden
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

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        """Train the network adversarially on the rows of both domains.

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
            Non-negative weight of each row. It weighs the row in both
            losses: the emotion loss of the labelled rows (times the class
            weight; ``class_weight="balanced"`` counts classes by weight)
            and the discriminator's domain loss of every row, unlabelled
            target rows included (they train the trunk through it); the
            domain loss's source/target balance uses the weighted totals of
            the two domains. Both are weighted means over each mini-batch.
            The validation loss of early stopping (emotion loss of the
            held-out labelled rows) is weighted the same way. A row of
            weight 0 is left out of training and of the held-out rows. An
            ``estimator`` trained on the embeddings gets the weights through
            its own ``sample_weight``. The input standardisation uses every
            row as given (it describes the domains). All ones is the same
            fit as None; a weight of 2 is not the same as a repeated row.

        Returns
        -------
        self : DANNClassifier
            The fitted estimator.
        """
        return super().fit(
            X, y, sample_domain=sample_domain, sample_weight=sample_weight
        )

    def _fit(self, data: DomainData) -> None:
        y_idx = self._start(data)
        Xs = self._scaled(data.X, data.sample_domain)
        sw = data.sample_weight
        labeled, source, target = data.labeled, data.source, data.target
        if sw is not None:
            # a row of weight 0 is absent: from both losses and from the
            # validation rows
            keep = sw > 0
            Xs, y_idx, sw = Xs[keep], y_idx[keep], sw[keep]
            labeled, source, target = labeled[keep], source[keep], target[keep]
        dom = target.astype(np.int64)
        Y = np.stack([y_idx, dom], axis=1)
        # the discriminator's source/target balance counts rows (by weight)
        counted = np.ones(len(y_idx)) if sw is None else sw
        n_tgt, n_src = float(counted[target].sum()), float(counted[source].sum())
        if sw is not None:
            Y = with_row_weights(Y, sw)
        from ._nets import ClassifierNet

        seed = self._draw_seed()
        with self._seeded(seed):
            self.trunk_spec_, trunk = build_classifier_trunk(self, data.X.shape[1])
            module = ClassifierNet(
                trunk, [self.classes_.size], domain_hidden=self.domain_hidden
            ).to(device=self.device_, dtype=torch.float32)
            cw = class_weights(
                y_idx,
                self.classes_.size,
                self.class_weight,
                self.device_,
                self.classes_,
                sw,
            )
            # without target rows the target weight weighs nothing: any
            # value does
            ratio = n_src / n_tgt if n_tgt > 0 else 1.0
            cb = _grl_callback(
                module, self.max_epochs, self.adaptation_weight, self.schedule
            )
            # early stopping follows the emotion loss: it holds out labelled
            # rows, each domain on its own (stratified by emotion); the
            # unlabelled target rows, which carry no validation loss, all stay
            # in the domain loss
            held = [
                np.flatnonzero(labeled & source),
                np.flatnonzero(labeled & target),
            ]
            history = self._train_held_out(
                module,
                Xs,
                Y,
                _DANNLoss(cw, ratio, row_weighted=sw is not None),
                groups=[(pos, y_idx[pos]) for pos in held],
                seed=seed,
                lr=self.lr,
                max_epochs=self.max_epochs,
                callbacks=[cb],
            )
        self.module_ = module.eval()
        self._finish(data, history, seed)
