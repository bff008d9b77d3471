"""Machinery shared by the sertl-neural estimators.

Training runs through a small skorch ``NeuralNet`` subclass whose loss is a
callable of the estimator (several heads, masked labels, distillation);
the fitted estimators keep only the trained torch module, so they pickle
without skorch's training state. Randomness is local: every fit runs inside
``torch.random.fork_rng`` with a seed drawn from ``random_state``, so the
global torch and numpy generators are left as they were, except that
``random_state=None`` draws that seed from numpy's global generator (one
draw per fit, as scikit-learn's estimators do): ``np.random.seed(k)`` before
the fit then makes it repeatable.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.validation import check_is_fitted, check_random_state

from sertl_core import (
    DomainError,
    NoTargetWarning,
    SampleWeightMixin,
    TransferEstimator,
    as_target_domain,
    external_stacklevel,
)
from sertl_core.params import Interval, InvalidParameterError, StrOptions
from sertl_core.utils import is_constant, weights_through_sampler

from ._lazy import nn, torch

__all__ = ["NeuralHead"]

_INFERENCE_BATCH = 4096


def _numpy_seed(seed):
    """Return the numpy seed of a step seeded with ``seed`` (fit seed + step offset).

    numpy and scikit-learn take seeds of 32 bits: the fit's seed plus a
    step's offset (``seed + 1``, ``seed + 2 + round`` ...) wraps around
    ``2**32``, so the largest seeds work too; below that it is ``seed``
    itself.

    Parameters
    ----------
    seed : int or None
        Non-negative seed; None (no seed) is returned as it is.

    Returns
    -------
    seed : int or None
        ``seed`` modulo ``2**32``.

    Examples
    --------
    >>> from sertl_neural._base import _numpy_seed
    >>> _numpy_seed(7), _numpy_seed(2**32 + 1)
    (7, 1)
    """
    return None if seed is None else int(seed) % 2**32


def resolve_device(device):
    """Return the torch device string for ``device`` ("auto" picks CUDA when present).

    Parameters
    ----------
    device : str or None
        ``"auto"`` (or None, the same), ``"cpu"``, ``"cuda"`` or
        ``"cuda:<index>"``.

    Returns
    -------
    device : str

    Examples
    --------
    >>> from sertl_neural._base import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but PyTorch sees no CUDA device (torch "
            f"{torch.__version__}): use device='auto' or device='cpu'."
        )
    if device != "cpu" and not str(device).startswith("cuda"):
        raise ValueError(
            f"device={device!r} is not supported: use 'auto', 'cpu', 'cuda' or "
            "'cuda:<index>'."
        )
    return str(device)


def masked_cross_entropy(logits, target, weight=None):
    """Cross-entropy over the rows whose target is not ``-1``.

    Returns a zero that keeps the graph when no row is labelled, so a batch
    of unlabelled rows contributes nothing.

    Parameters
    ----------
    logits : torch.Tensor of shape (n, n_classes)
    target : torch.Tensor of int64 of shape (n,)
        Class indices, ``-1`` for missing labels.
    weight : torch.Tensor of shape (n_classes,) or None
        Class weights.

    Returns
    -------
    loss : torch.Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._base import masked_cross_entropy
    >>> float(masked_cross_entropy(torch.zeros(2, 2), torch.tensor([-1, -1])))
    0.0
    """
    mask = target >= 0
    if not bool(mask.any()):
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits[mask], target[mask], weight=weight)


def weighted_cross_entropy(logits, target, weight=None, row_weight=None):
    """Cross-entropy of the labelled rows, each weighed by its row weight.

    The mean is taken with the weights, as torch takes it with class
    weights: ``sum(w_i ce_i) / sum(w_i)`` over the rows whose target is not
    ``-1``, where ``w_i`` is the row's weight times its class weight. A
    batch whose labelled rows all weigh 0 contributes a zero that keeps the
    graph. Without ``row_weight`` it is :func:`masked_cross_entropy`.

    Parameters
    ----------
    logits : torch.Tensor of shape (n, n_classes)
    target : torch.Tensor of int64 of shape (n,)
        Class indices, ``-1`` for missing labels.
    weight : torch.Tensor of shape (n_classes,) or None
        Class weights.
    row_weight : torch.Tensor of shape (n,) or None
        Weight of each row (the caller's ``sample_weight``).

    Returns
    -------
    loss : torch.Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._base import weighted_cross_entropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> target = torch.tensor([0, 0])
    >>> rows = torch.tensor([1.0, 0.0])
    >>> one = weighted_cross_entropy(logits, target, row_weight=rows)
    >>> round(float(one), 4)  # the second row weighs nothing
    0.1269
    """
    if row_weight is None:
        return masked_cross_entropy(logits, target, weight)
    mask = target >= 0
    if not bool(mask.any()):
        return logits.sum() * 0.0
    t = target[mask]
    w = row_weight[mask].to(logits.dtype)
    if weight is not None:
        w = w * weight[t]
    ce = nn.functional.cross_entropy(logits[mask], t, reduction="none")
    return weighted_mean(ce, w)


def weighted_mean(values, weight):
    """``sum(w_i v_i) / sum(w_i)`` of per-row losses; 0 when every weight is 0.

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._base import weighted_mean
    >>> float(weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0])))
    2.5
    """
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum().clamp_min(1e-12)


def with_row_weights(targets, sample_weight):
    """Targets with the caller's row weights as a last column (float32).

    ``targets`` is one column of class indices or several (one per task);
    :func:`split_row_weights` takes them apart again inside a loss. Class
    indices are small integers, exact in float32.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural._base import with_row_weights
    >>> with_row_weights(np.array([0, 1]), np.array([0.5, 2.0])).tolist()
    [[0.0, 0.5], [1.0, 2.0]]
    """
    return np.column_stack([targets, sample_weight]).astype(np.float32)


def split_row_weights(y):
    """Class indices and row weights of :func:`with_row_weights` targets.

    The indices come back as int64 of shape (n, n_target_columns).

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._base import split_row_weights
    >>> idx, w = split_row_weights(torch.tensor([[0.0, 0.5], [1.0, 2.0]]))
    >>> idx.tolist(), w.tolist()
    ([[0], [1]], [0.5, 2.0])
    """
    return y[:, :-1].long(), y[:, -1]


def loaded_device(device):
    """Device a loaded model goes to: the one it was trained on, else the CPU.

    Parameters
    ----------
    device : str
        The ``device_`` saved with the model.

    Returns
    -------
    device : str
        ``device`` when it is a CUDA device that PyTorch sees here, else
        ``"cpu"``.

    Examples
    --------
    >>> from sertl_neural._base import loaded_device
    >>> loaded_device("cpu")
    'cpu'
    """
    device = str(device)
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index
        if index is None or index < torch.cuda.device_count():
            return device
    return "cpu"


def class_weights(
    y_idx, n_classes, class_weight, device, classes=None, sample_weight=None
):
    """Loss weights per class: None, "balanced", or a dict ``{label: weight}``.

    A dict follows scikit-learn's rule: classes it leaves out weigh 1, and
    keys that name no class of ``classes`` are ignored (a class absent from
    this fit's labels, e.g. in a cross-validation split) unless some class
    is left without a weight at the same time, which is most likely a
    misspelt key and raises. With ``sample_weight`` (one weight per entry
    of ``y_idx``), ``"balanced"`` counts each class by the weights of its
    rows, as scikit-learn's ``compute_class_weight`` does, so a row of
    weight 0 does not move the balance.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural._base import class_weights
    >>> w = class_weights(np.array([0, 0, 0, 1]), 2, "balanced", "cpu")
    >>> [round(v, 3) for v in w.tolist()]
    [0.667, 2.0]
    >>> w = class_weights(None, 2, {"a": 2.0, "b": 1.0, "c": 5.0}, "cpu",
    ...                   np.array(["a", "b"]))
    >>> w.tolist()
    [2.0, 1.0]
    >>> w = class_weights(np.array([0, 0, 0, 1]), 2, "balanced", "cpu",
    ...                   sample_weight=np.array([1.0, 0.0, 0.0, 1.0]))
    >>> w.tolist()
    [1.0, 1.0]
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        if classes is None:
            return None
        labels = np.asarray(classes).tolist()
        unused = sorted(map(str, set(class_weight) - set(labels)))
        unweighted = [c for c in labels if c not in class_weight]
        if unused and unweighted:
            raise ValueError(
                f"class_weight names class(es) {unused} that are not among the "
                f"labelled classes {labels}, and leaves class(es) {unweighted} "
                "without a weight: check the keys of class_weight (they must be "
                "the labels of y)."
            )
        w = np.array([float(class_weight.get(c, 1.0)) for c in labels])
        return torch.as_tensor(w, dtype=torch.float32, device=device)
    if sample_weight is not None:
        lab = y_idx >= 0
        sw = np.asarray(sample_weight, dtype=np.float64)[lab]
        counts = np.bincount(y_idx[lab], weights=sw, minlength=n_classes)
        safe = np.where(counts > 0, counts, 1.0)
        w = np.where(counts > 0, sw.sum() / (n_classes * safe), 0.0)
        return torch.as_tensor(w, dtype=torch.float32, device=device)
    y = y_idx[y_idx >= 0]
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, y.size / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.as_tensor(w, dtype=torch.float32, device=device)


def _make_loss_net_class():
    from skorch import NeuralNet
    from skorch.utils import to_tensor

    class _LossNet(NeuralNet):
        """skorch net whose loss is ``loss_fn(outputs, y, X, training)``."""

        def __init__(self, module, *, loss_fn, **kwargs):
            super().__init__(module, criterion=nn.Identity, **kwargs)
            self.loss_fn = loss_fn

        def get_loss(self, y_pred, y_true, X=None, training=False):
            y_true = to_tensor(y_true, device=self.device)
            X = to_tensor(X, device=self.device)
            return self.loss_fn(y_pred, y_true, X, training)

    return _LossNet


def _refuse_ragged_sequences(X):
    """Raise a clear error for unpadded sequences of different lengths.

    ``AudioFeatures(feature_set="logmel")`` returns one (frames, n_mels)
    array per file; the networks take them padded to one length.
    """
    items = list(X) if isinstance(X, list | tuple | np.ndarray) else []
    if items and all(getattr(item, "ndim", 0) == 2 for item in items):
        lengths = sorted({item.shape[0] for item in items})
        what = (
            f"of different lengths ({lengths[0]} to {lengths[-1]} frames)"
            if len(lengths) > 1
            else "held one by one"
        )
        raise ValueError(
            f"X is {len(items)} log-mel sequences {what}, not one 3-D array: "
            "pad them to one length first, e.g. X = sertl_speech.pad_sequences("
            "X, value=np.nan) (NaN frames are left out by the network)."
        )


class NeuralHead(ClassifierMixin, BaseEstimator):
    """The network's own softmax head, as a scikit-learn classifier.

    The transfer estimators of sertl-neural hand this object the logits of
    their main head (``_predict_input``), so the base class's ``predict`` and
    ``predict_proba`` work unchanged. It is built fitted; users do not fit it,
    and it is not part of the public API (it is no trainable classifier).

    Parameters
    ----------
    classes : ndarray of shape (n_classes,), default=None
        Class labels in the order of the logits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural._base import NeuralHead
    >>> head = NeuralHead(classes=np.array(["a", "b"])).fit()
    >>> head.predict(np.array([[0.0, 2.0], [3.0, 1.0]])).tolist()
    ['b', 'a']
    """

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, X=None, y=None):
        """Store the classes (the logits come from the network).

        Parameters
        ----------
        X : ignored
        y : array-like, default=None
            Labels; used to set ``classes_`` when ``classes`` is None.

        Returns
        -------
        self : NeuralHead
        """
        if self.classes is None and y is None:
            raise ValueError(
                "NeuralHead needs its classes, but classes=None and y is None: "
                "pass classes=[...] (the labels, in the order of the network's "
                "outputs) or fit(X, y) with the labels."
            )
        self.classes_ = np.asarray(
            self.classes if self.classes is not None else np.unique(y)
        )
        return self

    def _shifted_logits(self, X):
        """Float64 logits shifted so that each row's largest is 0 (stable softmax)."""
        check_is_fitted(self)
        z = np.asarray(X, dtype=np.float64)
        return z - z.max(axis=1, keepdims=True)

    def predict_proba(self, X):
        """Softmax of the logits.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_classes)
            Logits.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        e = np.exp(self._shifted_logits(X))
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Log-softmax of the logits.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_classes)
            Logits.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        z = self._shifted_logits(X)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Return the class of the largest logit.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_classes)
            Logits.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(np.asarray(X), axis=1)]


def _positive_int_tuple(value, name, *, allow_empty=True):
    try:
        vals = tuple(value)
    except TypeError:
        vals = (value,)
    if not allow_empty and not vals:
        raise ValueError(
            f"{name} must not be empty, got {value!r}: give at least one "
            f"positive integer, e.g. {name}=(32,)."
        )
    for v in vals:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(
                f"{name} must be a sequence of positive integers, got {value!r}."
            )
    return tuple(int(v) for v in vals)


_TRAINING_CONSTRAINTS = {
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "standardize": ["boolean", StrOptions({"domain"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "device": [str, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

_NETWORK_CONSTRAINTS = {
    "network": [StrOptions({"mlp", "cnn", "crnn"})],
    "hidden_layer_sizes": ["array-like"],
    "conv_channels": ["array-like"],
    "rnn_hidden": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_mels": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "class_weight": [StrOptions({"balanced"}), dict, None],
}


def _every_class_trains(train, valid, inv, n_classes):
    """Move held-out rows back until every class has a training row.

    Each row moved back is replaced, where possible, by a training row of a
    class with at least two training rows (in the split's own random
    order), so the validation set keeps its size. Returns None when no
    validation row is left.
    """
    n_train = np.bincount(inv[train], minlength=n_classes)
    if n_train.min() > 0:
        return train, valid
    kept, back = [], []
    for i in valid:
        if n_train[inv[i]] == 0:
            back.append(i)
            n_train[inv[i]] += 1
        else:
            kept.append(i)
    stay, moved = [], []
    for i in train:
        if len(moved) < len(back) and n_train[inv[i]] >= 2:
            moved.append(i)
            n_train[inv[i]] -= 1
        else:
            stay.append(i)
    valid = np.asarray(kept + moved, dtype=np.int64)
    if valid.size == 0:
        return None
    return np.asarray(stay + back, dtype=np.int64), valid


class NeuralMixin:
    """Training utilities shared by every sertl-neural estimator."""

    _sertl_expected_failed_checks = {
        "check_row_order_invariance": (
            "mini-batch SGD: the seeded shuffling draws the batches (and the "
            "early-stopping split) by row position, so the same rows in "
            "another order train on other batches and give another network; "
            "prediction is row by row (check_row_order_equivariance holds)"
        ),
    }

    # -- randomness -------------------------------------------------------
    def _draw_seed(self):
        """Draw the seed of one fit from ``random_state``.

        An int is the seed itself (any seed of 32 bits, each its own: it is
        not reduced, so ``2**31 - 1`` does not repeat seed 0); a
        ``RandomState`` gives one draw; ``None`` one draw from numpy's global
        generator, as scikit-learn's estimators do, so ``np.random.seed(k)``
        before a fit makes it repeatable. The steps that take a numpy seed
        derive theirs from it with :func:`_numpy_seed`.
        """
        rs = self.random_state
        if isinstance(rs, numbers.Integral):
            return int(rs)
        return int(check_random_state(rs).randint(2**31 - 1))

    @contextlib.contextmanager
    def _seeded(self, seed):
        devices = (
            list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        )
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    # -- input ------------------------------------------------------------
    def _pretrained(self):
        """``init_from``, unwrapped from a ``FrozenEstimator``; None without one."""
        return unwrap_frozen(getattr(self, "init_from", None))

    def _network(self):
        """Trunk family of the model: ``network``, or ``init_from``'s when given."""
        src = self._pretrained()
        if src is not None and hasattr(src, "trunk_spec_"):
            return src.trunk_spec_["network"]
        return getattr(self, "network", "mlp")

    def _ensure_all_finite(self):
        # convolutional networks read all-NaN frames as padding
        # (_check_padding says where NaN may be)
        return "allow-nan" if self._network() != "mlp" else True

    def _check_padding(self, X):
        """Raise unless NaN in ``X`` fills whole frames and leaves every row a frame."""
        nan = np.isnan(X)
        if not nan.any():
            return
        frames, mels = self._input_shape(X.shape[1])
        nan = nan.reshape(X.shape[0], frames, mels)
        whole = nan.all(axis=2)
        partial = np.flatnonzero((nan.any(axis=2) & ~whole).any(axis=1))
        if partial.size:
            raise ValueError(
                f"X has NaN inside a frame (row {int(partial[0])}): with "
                f"network={self._network()!r}, NaN may only mark padding, as whole "
                "frames (every mel band NaN), which pad_sequences(..., value=np.nan) "
                "writes. Fill or drop other missing values first."
            )
        empty = np.flatnonzero(whole.all(axis=1))
        if empty.size:
            raise ValueError(
                f"row {int(empty[0])} of X is padding only (every frame NaN): drop "
                "sequences without frames."
            )

    def _as_2d(self, X, *, reset):
        """Flatten (n, frames, mels) input to (n, frames * mels); keep the shape."""
        if hasattr(X, "ndim") or isinstance(X, list | tuple):
            arr = X if hasattr(X, "ndim") else None
            if arr is None:
                try:
                    arr = np.asarray(X, dtype=np.float64)
                except (ValueError, TypeError):
                    _refuse_ragged_sequences(X)
                    return X
            if arr.ndim == 1 and arr.dtype == object:
                _refuse_ragged_sequences(arr)
            if arr.ndim == 3:
                src = self._pretrained()
                # an unfitted init_from gets its own error in fit
                if self._network() == "mlp" and (
                    src is None or hasattr(src, "trunk_spec_")
                ):
                    if src is None:
                        source, fix = "network='mlp'", "pass network='cnn' or 'crnn'"
                    else:
                        source = "init_from's network is 'mlp'"
                        fix = "give a CNN/CRNN model as init_from"
                    raise ValueError(
                        f"X is 3-D {tuple(arr.shape)}, read as log-mel sequences "
                        f"(n_samples, frames, n_mels), but {source}, which takes "
                        f"2-D functional features (n_samples, n_features): {fix} "
                        "for log-mel sequences, or reshape X to 2-D yourself to "
                        "train an MLP on it."
                    )
                if reset:
                    self.input_shape_ = tuple(int(s) for s in arr.shape[1:])
                else:
                    # fitted on 3-D input, or on flattened rows with n_mels
                    # (the trunk then knows the shape it reads the rows as)
                    fitted = getattr(self, "input_shape_", None)
                    if fitted is None:
                        spec = getattr(self, "trunk_spec_", None) or {}
                        fitted = spec.get("input_shape")
                    if fitted is not None and tuple(fitted) != tuple(arr.shape[1:]):
                        raise ValueError(
                            f"X has frames x mels {tuple(arr.shape[1:])} but the "
                            f"model was fitted on {tuple(fitted)}: pad or crop "
                            "the log-mel sequences to the fitted shape."
                        )
                return np.asarray(arr).reshape(arr.shape[0], -1)
            if arr.ndim > 3:
                raise ValueError(
                    f"X must be 2-D (n_samples, n_features) or 3-D (n_samples, "
                    f"frames, n_mels), got {arr.ndim} dimensions."
                )
            if reset and hasattr(self, "input_shape_"):
                del self.input_shape_
        return X

    def _input_shape(self, n_features):
        shape = getattr(self, "input_shape_", None)
        if shape is None:  # flattened rows: a pretrained model knows its shape
            spec = getattr(self._pretrained(), "trunk_spec_", None)
            shape = (spec or {}).get("input_shape")
        if shape is not None:
            return tuple(shape)
        if self.n_mels is None:
            raise ValueError(
                f"network={self.network!r} needs log-mel sequences: pass X as a 3-D "
                "array (n_samples, frames, n_mels), e.g. from sertl_speech."
                "AudioFeatures(feature_set='logmel'), or flattened rows with "
                "n_mels=<number of mel bands>."
            )
        if n_features % self.n_mels:
            raise ValueError(
                f"X has {n_features} columns, not a multiple of n_mels={self.n_mels}: "
                "flattened log-mel rows must have frames * n_mels columns."
            )
        return (n_features // self.n_mels, self.n_mels)

    def _trunk_spec(self, n_features):
        hidden = _positive_int_tuple(self.hidden_layer_sizes, "hidden_layer_sizes")
        if self.network == "mlp":
            return {
                "network": "mlp",
                "n_features": int(n_features),
                "hidden_layer_sizes": hidden,
                "dropout": float(self.dropout),
            }
        return {
            "network": self.network,
            "input_shape": self._input_shape(n_features),
            "conv_channels": _positive_int_tuple(
                self.conv_channels, "conv_channels", allow_empty=False
            ),
            "hidden_layer_sizes": hidden,
            "dropout": float(self.dropout),
            "rnn_hidden": int(self.rnn_hidden),
        }

    def _fit_scaler(self, X, sample_domain=None):
        X = np.asarray(X, dtype=np.float64)
        conv = self._network() != "mlp"
        if conv:
            self._check_padding(X)
        for name in ("input_mean_", "input_scale_", "domain_scaler_"):
            self.__dict__.pop(name, None)
        if self.standardize == "domain":
            from sertl_core import DomainStandardScaler

            rows, sd = self._scaler_rows(X, sample_domain)
            self.domain_scaler_ = DomainStandardScaler().fit(rows, sample_domain=sd)
            if not np.any(np.asarray(self.domain_scaler_.domains_) < 0):
                warnings.warn(
                    NoTargetWarning(
                        f"{type(self).__name__}(standardize='domain') got no "
                        "target rows in fit, so rows predicted without "
                        "sample_domain (a new corpus) are scaled with the "
                        "pooled statistics of the training corpora, not with "
                        "their own: pass the unlabelled target rows (negative "
                        "sample_domain) to fit, or use standardize=True."
                    ),
                    stacklevel=external_stacklevel(),
                )
                # said once here, in this estimator's terms: the scaler's own
                # transform-time warning (about target_stats, which this
                # estimator does not expose) is the one fit already gave
                self.domain_scaler_._fallback_warned = True
            return
        if not self.standardize:
            self.input_mean_ = np.zeros(X.shape[1])
            self.input_scale_ = np.ones(X.shape[1])
            return
        if not conv:
            self.input_mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
        else:  # one statistic for the whole log-mel image, padding left out
            self.input_mean_ = np.full(X.shape[1], np.nanmean(X))
            scale = np.full(X.shape[1], np.nanstd(X))
        # constant: no more deviation than the rounding of the mean, a test
        # relative to the feature's magnitude (an absolute 1e-12 left
        # features varying on a scale of 1e-13 unscaled, and divided a
        # constant of 1e6 by the rounding of its mean), as the core scalers
        n_summed = X.shape[0] if not conv else X.size
        scale[is_constant(scale, self.input_mean_, n_summed)] = 1.0
        self.input_scale_ = scale

    def _frames(self, X):
        """Rows as frames ``(n * frames, mels)``, the mask of real frames, frames."""
        frames, mels = self._input_shape(X.shape[1])
        F = X.reshape(-1, mels)
        return F, ~np.isnan(F).all(axis=1), frames

    def _scaler_rows(self, X, sample_domain):
        """Rows the per-domain scaler sees: utterances (MLP) or real frames."""
        sd = np.asarray(sample_domain)
        if self._network() == "mlp":
            return X, sd
        F, real, frames = self._frames(X)
        return F[real], np.repeat(sd, frames)[real]

    def _scaled(self, X, sample_domain=None):
        """Standardised float32 rows; ``sample_domain`` None means target rows."""
        X = np.asarray(X, dtype=np.float64)
        conv = self._network() != "mlp"
        if conv:
            self._check_padding(X)
        if not hasattr(self, "domain_scaler_"):
            return ((X - self.input_mean_) / self.input_scale_).astype(np.float32)
        scaler = self.domain_scaler_
        self._check_scaler_domains(sample_domain)
        # np.asarray: under the user's set_config(transform_output="pandas")
        # the scaler returns a DataFrame, which skorch reads as named inputs
        if not conv:
            Z = scaler.transform(X, sample_domain=sample_domain)
            return np.asarray(Z, dtype=np.float32)
        F, real, frames = self._frames(X)
        sd = None if sample_domain is None else np.repeat(sample_domain, frames)[real]
        out = np.full(F.shape, np.nan, dtype=np.float32)
        out[real] = np.asarray(scaler.transform(F[real], sample_domain=sd))
        return out.reshape(X.shape)

    def _check_scaler_domains(self, sample_domain):
        """Raise, in this estimator's terms, for domains ``standardize="domain"`` lacks.

        The scaler's own error suggests its ``target_stats`` parameter,
        which the neural estimators do not expose.
        """
        if sample_domain is None:
            return
        seen = np.asarray(self.domain_scaler_.domains_)
        unseen = np.setdiff1d(np.unique(sample_domain), seen)
        if unseen.size:
            raise DomainError(
                f"sample_domain holds domain id(s) {unseen.tolist()} that "
                f"{type(self).__name__}(standardize='domain') did not see in fit "
                f"(seen: {seen.tolist()}), so it has no statistics to scale them "
                "with: use the ids given at fit time, omit sample_domain to scale "
                "the rows with the statistics of fit's target rows, or fit again "
                "with the new domain's rows (unlabelled, negative sample_domain)."
            )

    # -- training ---------------------------------------------------------
    def _valid_split(self, n, strata, seed):
        """Train/validation positions of ``n`` rows for early stopping, or None.

        Stratified on ``strata`` when every class can be on both sides;
        either way every class keeps at least one training row (a held-out
        row of a class left without one is swapped for a training row of a
        class that can spare it): a rare class is never left out of a
        phase's training (with ``class_weight="balanced"`` it would weigh 0,
        and a validation loss on its rows alone be NaN).
        """
        if not self.early_stopping:
            return None
        n_valid = int(round(self.validation_fraction * n))
        if n < 10 or n_valid < 1 or n - n_valid < 2:
            return None
        seed = _numpy_seed(seed)
        idx = np.arange(n)
        if strata is None:
            return next(
                ShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed).split(
                    idx
                )
            )
        _, inv, counts = np.unique(strata, return_inverse=True, return_counts=True)
        # a stratified split needs every class on both sides
        if counts.min() >= 2 and min(n_valid, n - n_valid) >= counts.size:
            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=n_valid, random_state=seed
            )
        else:
            splitter = ShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
        train, valid = next(splitter.split(idx, strata))
        return _every_class_trains(train, valid, inv.ravel(), counts.size)

    def _holdout(self, n, groups, seed):
        """Rows held out for early stopping, each group split on its own.

        Parameters
        ----------
        n : int
            Rows of the phase.
        groups : list of (positions, strata)
            Rows that may be held out (e.g. the labelled source rows, the
            labelled target rows) and the labels to stratify them on. Each
            group keeps ``validation_fraction`` of its rows for validation,
            so every group is represented, and every class of a group keeps
            a training row; a group of fewer than 10 rows, or whose held-out
            share would leave fewer than 2 to train, stays in training. Rows
            in no group always train (e.g. unlabelled rows, which carry no
            validation loss).
        seed : int

        Returns
        -------
        split : (train positions, validation positions) or None
            None without early stopping or when nothing is held out.
        """
        if not self.early_stopping:
            return None
        train, valid = [], []
        grouped = np.zeros(n, dtype=bool)
        for i, (pos, strata) in enumerate(groups):
            pos = np.asarray(pos, dtype=np.int64)
            grouped[pos] = True
            split = self._valid_split(pos.size, strata, seed + i)
            if split is None:
                train.append(pos)
            else:
                train.append(pos[split[0]])
                valid.append(pos[split[1]])
        if not valid:
            return None
        train.append(np.flatnonzero(~grouped))
        return np.concatenate(train), np.concatenate(valid)

    def _train(
        self,
        module,
        X,
        y,
        loss_fn,
        *,
        lr,
        max_epochs,
        valid=None,
        param_groups=None,
        callbacks=(),
    ):
        """Train ``module`` in place with skorch; return the epoch history.

        ``valid`` is the held-out ``(X, y)`` of early stopping (see
        :meth:`_holdout`), drawn by the caller before any resampling so that
        no copy of a training row is scored; None trains without it.
        """
        if max_epochs <= 0 or X.shape[0] == 0:
            return []
        from skorch.callbacks import EarlyStopping
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split

        cbs = list(callbacks)
        train_split = None
        if valid is not None and len(valid[0]):
            train_split = predefined_split(Dataset(*valid))
            cbs.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        load_best=True,
                        sink=lambda *a, **k: None,
                    ),
                )
            )
        quiet = {} if self.verbose else {"callbacks__print_log": None}
        net = _make_loss_net_class()(
            module,
            loss_fn=loss_fn,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=float(self.weight_decay),
            optimizer__param_groups=list(param_groups or []),
            lr=float(lr),
            max_epochs=int(max_epochs),
            batch_size=int(min(self.batch_size, X.shape[0])),
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=cbs,
            device=self.device_,
            verbose=int(bool(self.verbose)),
            **quiet,
        )
        net.fit(X, y)
        keys = ("epoch", "train_loss", "valid_loss", "dur")
        return [{k: row[k] for k in keys if k in row} for row in net.history]

    def _train_held_out(self, module, X, y, loss_fn, *, groups, seed, **kwargs):
        """:meth:`_train` on the rows :meth:`_holdout` keeps for training."""
        split = self._holdout(X.shape[0], groups, seed)
        if split is None:
            return self._train(module, X, y, loss_fn, **kwargs)
        tr, va = split
        return self._train(
            module, X[tr], y[tr], loss_fn, valid=(X[va], y[va]), **kwargs
        )

    def _outputs(self, module, X, sample_domain=None):
        """Run ``module`` on scaled rows in eval mode; a tuple of numpy arrays."""
        return self._forward(module, self._scaled(X, sample_domain))

    def _forward(self, module, Xs, select=None):
        """Run ``module`` on already scaled rows, in eval mode and in chunks.

        Parameters
        ----------
        module : torch.nn.Module
        Xs : ndarray of float32 of shape (n_samples, n_features)
            Rows as :meth:`_scaled` returns them.
        select : callable, default=None
            Maps each chunk's outputs (a tuple of tensors on ``device_``) to
            the tuple of tensors to return, e.g. a softmax of the first
            head; None keeps every output.

        Returns
        -------
        outputs : tuple of ndarray
            Every selected output, the chunks concatenated along the first
            axis (arrays of shape ``(0,)`` when there is no row).
        """

        def run(xb):
            out = module(xb)
            out = out if isinstance(out, tuple) else (out,)
            return out if select is None else select(out)

        module.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, Xs.shape[0], _INFERENCE_BATCH):
                xb = torch.as_tensor(
                    Xs[start : start + _INFERENCE_BATCH], device=self.device_
                )
                chunks.append([o.detach().cpu().numpy() for o in run(xb)])
            if not chunks:  # no row: one empty array per output
                n_out = len(run(torch.zeros((1, Xs.shape[1]), device=self.device_)))
                return tuple(np.zeros((0,)) for _ in range(n_out))
        return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))

    # -- persistence ------------------------------------------------------
    def __getstate__(self):
        # Torch modules become plain data (recipe + numpy weights): the
        # estimator pickles without torch objects, loads on a machine without
        # the training GPU, and can be saved with skops. ``device_`` keeps the
        # training device, so that a copy loaded where that device exists
        # goes back onto it and predicts exactly as the original did (CPU and
        # GPU float32 kernels differ in the last bits).
        # Only the fitted sertl networks are converted: a torch module given
        # as a parameter (e.g. distill_loss=torch.nn.MSELoss()) is the
        # user's object and pickles as torch pickles it.
        from ._nets import is_sertl_network, module_to_portable

        state = dict(super().__getstate__())  # a copy: never touch self.__dict__
        for key, value in list(state.items()):
            if is_sertl_network(value):
                state[key] = module_to_portable(value)
        return state

    def __setstate__(self, state):
        from ._nets import module_from_portable

        state = dict(state)
        device = loaded_device(state["device_"]) if "device_" in state else "cpu"
        for key, value in list(state.items()):
            if isinstance(value, dict) and "__sertl_torch_module__" in value:
                state[key] = module_from_portable(value).to(
                    device=device, dtype=torch.float32
                )
        if "device_" in state:
            state["device_"] = device
        super().__setstate__(state)


def unwrap_frozen(model):
    """Return the fitted model inside scikit-learn's ``FrozenEstimator``, or ``model``.

    ``FrozenEstimator`` is scikit-learn's way to keep a fitted model fitted
    through ``clone``, which a search applies to every value of its grid.
    """
    while isinstance(model, FrozenEstimator):
        model = model.estimator
    return model


def encode_labels(y, labeled, classes):
    """Class indices of ``y`` in ``classes``; ``-1`` where not labelled."""
    out = np.full(y.shape[0], -1, dtype=np.int64)
    out[labeled] = np.searchsorted(classes, y[labeled])
    return out


class NeuralTransferEstimator(NeuralMixin, SampleWeightMixin, TransferEstimator):
    """Base of the neural transfer classifiers (fine-tuning, multi-task, DANN).

    Adds 3-D log-mel input, the network's own head as default estimator
    (:class:`NeuralHead`), an optional scikit-learn ``estimator`` trained
    on the network's embeddings instead, and the caller's ``sample_weight``
    (:class:`~sertl_core.SampleWeightMixin`): a subclass's ``_fit`` reads
    it with ``data.weights(rows)`` and multiplies every per-row loss weight
    with it.
    """

    # the networks end in a softmax over classes: no regression head
    _classification_only = True
    _sertl_expected_failed_checks = {
        **NeuralMixin._sertl_expected_failed_checks,
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batch SGD: a row repeated twice is drawn twice per epoch "
            "(and changes the batches, the shuffling and the early-stopping "
            "split), whereas a sample_weight of 2 doubles its share of each "
            "batch's weighted mean loss; the two fits differ"
        ),
    }

    # why a subclass takes no ``sampler`` (None: it takes one); its
    # ``_validate_params`` then refuses one, saying what to use instead
    _no_sampler_reason: str | None = None

    def _validate_params(self):
        """Check the parameters; a ``sampler`` where none is taken gets the way out.

        scikit-learn's wording ("The 'sampler' parameter of DANNClassifier
        must be None") says what is refused, not what balances the classes
        instead: ``class_weight``.
        """
        if self.sampler is not None and self._no_sampler_reason:
            name = type(self).__name__
            raise InvalidParameterError(
                f"{name} takes no sampler ({self._no_sampler_reason}); got "
                f"sampler={self.sampler!r}. To balance the classes, pass "
                f'class_weight="balanced" (or a dict of class weights) '
                f'instead: {name}(class_weight="balanced"), in a sertl run '
                f"experiment params = {{ {self.registry_name} = {{ class_weight "
                '= "balanced" } }. Weights of your own go to fit(X, y, '
                "sample_weight=w)."
            )
        super()._validate_params()

    def _uses_domain_in_predict(self):
        # a row's domain reaches the network only through the per-domain
        # scaling of standardize="domain" (_scaled); every other input
        # scaling, and the network itself, treat every domain alike
        return self.standardize == "domain"

    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        """Fit the network with transfer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, frames, n_mels)
            Rows of all domains: functional features (2-D) or padded log-mel
            sequences (3-D, for ``network="cnn"`` or ``"crnn"``; all-NaN
            frames are padding, left out of the pooling).
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (``"-1"`` for strings) marks unlabelled rows.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Positive ids for source domains, negative ids for target domains.
            Inferred from ``y`` when omitted (labelled rows are source).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. It multiplies every loss weight
            the row gets from the method (each subclass's ``fit`` says which);
            a row of weight 0 is left out of training and of early
            stopping's validation loss. All ones is the same fit as None.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(
            self._as_2d(X, reset=True),
            y,
            sample_domain=sample_domain,
            sample_weight=sample_weight,
        )

    def _prepare(self, X, sample_domain):
        # an omitted sample_domain stays None ("target rows": the pooled
        # target statistics of standardize="domain"); the core would make it
        # -1 everywhere, which is domain -1 itself
        return self._predict_input(*self._checked(X, sample_domain))

    def _get_estimator(self):
        return NeuralHead() if self.estimator is None else self.estimator

    def _start(self, data):
        self._validate_params()
        self.device_ = resolve_device(self.device)
        self._fit_scaler(data.X, data.sample_domain)
        self.classes_ = np.unique(data.y[data.labeled])
        return encode_labels(data.y, data.labeled, self.classes_)

    def _finish(self, data, history, seed=None):
        """Set ``estimator_`` (network head or an estimator on the embeddings)."""
        self.history_ = history
        if self.estimator is None:
            self.estimator_ = NeuralHead(classes=self.classes_).fit()
            return
        lab = data.labeled
        emb = self._outputs(self.module_, data.X[lab], data.sample_domain[lab])[-1]
        # the sampler (if any) runs on the embeddings too, seeded from
        # random_state like every other random step (an unseeded sampler
        # would draw from numpy's global generator); the core then fits the
        # estimator on the resampled rows: the caller's weights reach it, a
        # Pipeline's final step, or a weighted resample of the rows
        X_res, y_res, w_res = self._resample(emb, data.y[lab], seed, data.weights(lab))
        self._fit_resampled(X_res, y_res, w_res, random_state=_numpy_seed(seed))

    def _resample(self, X, y_idx, seed, sample_weight=None):
        """Rows, labels and weights after a clone of ``sampler`` seeded with ``seed``.

        Returns ``(X, y, sample_weight)``; the weights (None without them)
        follow the rows through the sampler's ``sample_indices_`` (a sampler
        that creates new rows cannot carry them and raises).
        """
        if self.sampler is None or X.shape[0] == 0:
            return X, y_idx, sample_weight
        sampler = clone(self.sampler)
        if "random_state" in sampler.get_params():
            sampler.set_params(random_state=_numpy_seed(seed))
        if not hasattr(sampler, "fit_resample"):
            raise TypeError(
                f"sampler={sampler!r} has no fit_resample method: pass an "
                "imbalanced-learn sampler (e.g. RandomOverSampler())."
            )
        try:
            X_res, y_res = sampler.fit_resample(X, y_idx)
        except ValueError as exc:
            if not np.isnan(X).any():
                raise
            raise ValueError(
                f"sampler={sampler!r} cannot take NaN-padded log-mel rows "
                f"({exc}): use a sampler that only copies or drops rows "
                "(RandomOverSampler, RandomUnderSampler), or class_weight."
            ) from exc
        if sample_weight is not None:
            try:
                sample_weight = weights_through_sampler(sampler, sample_weight)
            except ValueError as exc:  # a sampler that makes new rows (SMOTE)
                raise ValueError(
                    f"{exc} Or balance the classes without a sampler: "
                    f'{type(self).__name__}(class_weight="balanced") weighs them '
                    "in the loss and keeps your sample_weight."
                ) from exc
        return X_res, y_res, sample_weight

    def _predict_input(self, X, sample_domain):
        outs = self._outputs(self.module_, X, sample_domain)
        return outs[0] if self.estimator is None else outs[-1]

    def embed(self, X, *, sample_domain=None):
        """Return the penultimate-layer embeddings (the trunk's output).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, frames, n_mels)
            Rows to embed.
        sample_domain : array-like of int of shape (n_samples,), default=None
            Domain of each row, for ``standardize="domain"``; omitted, the
            rows are target data.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_dim)
            One embedding per row of ``X``.
        """
        return self._outputs(self.module_, *self._checked(X, sample_domain))[-1]

    def _checked(self, X, sample_domain):
        """Return validated rows of a fitted model and their domains (None: target)."""
        from sklearn.utils.validation import validate_data

        check_is_fitted(self)
        if sample_domain is None:
            self._warn_if_frozen_missed_domains()
        X = validate_data(
            self,
            self._as_2d(X, reset=False),
            reset=False,
            dtype=[np.float64, np.float32],
            ensure_all_finite=self._ensure_all_finite(),
        )
        if sample_domain is not None:
            sample_domain = as_target_domain(sample_domain, X.shape[0])
        return X, sample_domain


def build_classifier_trunk(est, n_features):
    """Return the trunk spec and a freshly initialised trunk for ``est``."""
    from ._nets import build_trunk

    spec = est._trunk_spec(n_features)
    return spec, build_trunk(spec)
