"""PyTorch networks of sertl-neural: trunks, heads and gradient reversal.

Every network is a *trunk* (a stack of blocks that maps the input to an
embedding) followed by one or more *heads*. Blocks are the unit of the
fine-tuning freezing policy and of discriminative learning rates.

Inputs are always 2-D tensors ``(n, n_features)``; the convolutional trunks
reshape them to ``(n, 1, frames, n_mels)`` themselves, so the same data
pipeline serves every network.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "ClassifierNet",
    "ConvTrunk",
    "GradientReversal",
    "MLPTrunk",
    "build_trunk",
    "is_sertl_network",
    "module_from_portable",
    "module_to_portable",
]


class MLPTrunk(nn.Module):
    """Fully connected trunk for functional (utterance-level) features.

    Parameters
    ----------
    n_features : int
        Input dimension.
    hidden_layer_sizes : sequence of int
        Width of each block (Linear, ReLU, Dropout). Empty: the embedding is
        the input itself.
    dropout : float
        Dropout probability after each block.

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import MLPTrunk
    >>> MLPTrunk(5, (8, 4), 0.0)(torch.zeros(2, 5)).shape
    torch.Size([2, 4])
    """

    def __init__(self, n_features, hidden_layer_sizes, dropout):
        super().__init__()
        blocks = []
        d = int(n_features)
        for h in hidden_layer_sizes:
            blocks.append(
                nn.Sequential(nn.Linear(d, int(h)), nn.ReLU(), nn.Dropout(dropout))
            )
            d = int(h)
        self.blocks = nn.ModuleList(blocks)
        self.embedding_dim = d

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class _Recurrent(nn.Module):
    """GRU over the time axis of a conv feature map, mean-pooled over time.

    ``mask`` (n, 1, frames), 1 for real frames and 0 for padding, restricts
    the mean to real frames; with padding at the end (as ``pad_sequences``
    writes it) the forward GRU's outputs on real frames never see it.
    """

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.gru = nn.GRU(n_in, n_hidden, batch_first=True)

    def forward(self, x, mask=None):  # x: (n, channels, frames, mels)
        seq = x.mean(dim=3).transpose(1, 2)  # (n, frames, channels)
        out, _ = self.gru(seq)
        if mask is None:
            return out.mean(dim=1)
        m = mask[:, 0, :, None]  # (n, frames, 1)
        return (out * m).sum(dim=1) / m.sum(dim=1)


class _GlobalPool(nn.Module):
    """Average over frames and mel bands: (n, c, t, f) -> (n, c).

    ``mask`` (n, 1, t), 1 for real frames and 0 for padding, restricts the
    average to real frames.
    """

    def forward(self, x, mask=None):
        if mask is None:
            return x.mean(dim=(2, 3))
        m = mask[..., None]  # (n, 1, t, 1)
        return (x * m).sum(dim=(2, 3)) / (m.sum(dim=(2, 3)) * x.shape[3])


class ConvTrunk(nn.Module):
    """Small CNN or CRNN trunk for log-mel sequences.

    The input rows are flattened ``(frames, n_mels)`` matrices; the trunk
    reshapes them, applies convolution blocks (Conv 3x3, ReLU, 2x2 max
    pooling), then either global average pooling (``"cnn"``) or a GRU over
    time with mean pooling (``"crnn"``), then fully connected blocks.

    Frames whose every mel band is NaN are padding: they enter the
    convolutions as zeros (the convolutions' own border padding), are zeroed
    again after each activation and are left out of the time pooling, so
    an utterance padded at its end gets the embedding it has unpadded.

    Parameters
    ----------
    input_shape : tuple of int
        ``(frames, n_mels)``.
    conv_channels : sequence of int
        Channels of each convolution block.
    hidden_layer_sizes : sequence of int
        Fully connected blocks after pooling.
    dropout : float
        Dropout probability of the fully connected blocks.
    recurrent : bool
        Use a GRU (CRNN) instead of global average pooling (CNN).
    rnn_hidden : int
        GRU width (CRNN only).

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import ConvTrunk
    >>> net = ConvTrunk((10, 8), (4,), (6,), 0.0, recurrent=True, rnn_hidden=5)
    >>> net(torch.zeros(3, 80)).shape
    torch.Size([3, 6])

    NaN padding leaves the embedding as it is without padding:

    >>> short = ConvTrunk((10, 8), (4,), (6,), 0.0)
    >>> long = ConvTrunk((16, 8), (4,), (6,), 0.0)
    >>> _ = long.load_state_dict(short.state_dict())
    >>> x = torch.randn(1, 10, 8)
    >>> padded = torch.cat([x, torch.full((1, 6, 8), float("nan"))], dim=1)
    >>> torch.allclose(short(x.reshape(1, -1)), long(padded.reshape(1, -1)))
    True
    """

    def __init__(
        self,
        input_shape,
        conv_channels,
        hidden_layer_sizes,
        dropout,
        *,
        recurrent=False,
        rnn_hidden=64,
    ):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        blocks = []
        c = 1
        for ch in conv_channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c, int(ch), kernel_size=3, padding=1),
                    nn.ReLU(),
                    nn.MaxPool2d(2, ceil_mode=True),
                )
            )
            c = int(ch)
        if recurrent:
            blocks.append(_Recurrent(c, int(rnn_hidden)))
            d = int(rnn_hidden)
        else:
            blocks.append(_GlobalPool())
            d = c
        for h in hidden_layer_sizes:
            blocks.append(
                nn.Sequential(nn.Linear(d, int(h)), nn.ReLU(), nn.Dropout(dropout))
            )
            d = int(h)
        self.blocks = nn.ModuleList(blocks)
        self.n_conv = len(conv_channels)
        self.embedding_dim = d

    def forward(self, x):
        x = x.reshape(x.shape[0], 1, *self.input_shape)
        pad = torch.isnan(x).all(dim=3)  # (n, 1, frames)
        mask = None
        if bool(pad.any()):
            x = torch.nan_to_num(x, nan=0.0)
            mask = (~pad).to(x.dtype)
        for i, block in enumerate(self.blocks):
            if i < self.n_conv and mask is None:
                x = block(x)
            elif i < self.n_conv:
                conv, act, pool = block
                # zero the padded frames after the activation (>= 0): the
                # max pooling then sees the real frames only, and the next
                # convolution sees the zeros of its own border padding
                x = pool(act(conv(x)) * mask[..., None])
                mask = nn.functional.max_pool1d(mask, 2, ceil_mode=True)
            elif i == self.n_conv:
                x = block(x, mask)
            else:
                x = block(x)
        return x


def build_trunk(spec):
    """Build a trunk from its spec dictionary (see ``_base.trunk_spec``).

    Parameters
    ----------
    spec : dict
        ``{"network": "mlp"|"cnn"|"crnn", ...}`` with the constructor
        arguments.

    Returns
    -------
    trunk : nn.Module

    Examples
    --------
    >>> from sertl_neural._nets import build_trunk
    >>> spec = {"network": "mlp", "n_features": 3, "hidden_layer_sizes": (4,),
    ...         "dropout": 0.0}
    >>> build_trunk(spec).embedding_dim
    4
    """
    spec = dict(spec)
    network = spec["network"]
    if network == "mlp":
        trunk = MLPTrunk(
            spec["n_features"], spec["hidden_layer_sizes"], spec["dropout"]
        )
    else:
        trunk = ConvTrunk(
            spec["input_shape"],
            spec["conv_channels"],
            spec["hidden_layer_sizes"],
            spec["dropout"],
            recurrent=network == "crnn",
            rnn_hidden=spec.get("rnn_hidden", 64),
        )
    trunk.spec = spec
    return trunk


def is_sertl_network(value):
    """Whether ``value`` is a ClassifierNet or AutoencoderNet of sertl-neural.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import AutoencoderNet, is_sertl_network
    >>> is_sertl_network(AutoencoderNet(4, (), 2, 1, 0.0, "gaussian"))
    True
    >>> is_sertl_network(torch.nn.MSELoss())
    False
    """
    return isinstance(value, ClassifierNet | AutoencoderNet)


def module_to_portable(module):
    """Return a fitted sertl network as plain data (recipe + numpy weights).

    Lets estimators pickle without torch objects, so skops can save them.

    Parameters
    ----------
    module : ClassifierNet or AutoencoderNet

    Returns
    -------
    portable : dict

    Examples
    --------
    >>> from sertl_neural._nets import (AutoencoderNet, module_from_portable,
    ...                                 module_to_portable)
    >>> net = AutoencoderNet(4, (), 2, 1, 0.0, "gaussian")
    >>> type(module_from_portable(module_to_portable(net))).__name__
    'AutoencoderNet'
    """
    state = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
    return {"__sertl_torch_module__": dict(module.recipe), "state": state}


def module_from_portable(portable):
    """Rebuild a network saved by :func:`module_to_portable` (on the CPU).

    Parameters
    ----------
    portable : dict

    Returns
    -------
    module : torch.nn.Module
    """
    # the recipe is laid out first on the meta device (no memory): a recipe
    # whose layers do not match the stored weights, e.g. one from a crafted
    # file asking for a network of many gigabytes, is refused before any
    # layer is allocated
    with torch.device("meta"):
        laid_out = _build_portable(portable)
    expected = {k: tuple(v.shape) for k, v in laid_out.state_dict().items()}
    stored = {k: tuple(np.shape(v)) for k, v in portable["state"].items()}
    if expected != stored:
        raise ValueError(
            "The saved network's recipe does not match its stored weights "
            f"(the recipe's layers {_shape_summary(expected)}, the weights "
            f"{_shape_summary(stored)}): the file was altered or damaged"
        )
    # building the layers draws their (discarded) initial weights from
    # torch's global generator: fork it, so that unpickling, deepcopy or
    # load_model leaves the caller's random stream as it was
    with torch.random.fork_rng(devices=[]):
        module = _build_portable(portable)
    module.load_state_dict(
        {k: torch.as_tensor(v) for k, v in portable["state"].items()}
    )
    return module.eval()


def _shape_summary(shapes, limit=4):
    """Return a few ``name shape`` pairs of a state dict's shapes, for a message."""
    items = [f"{k} {v}" for k, v in sorted(shapes.items())] or ["none"]
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _build_portable(portable):
    recipe = dict(portable["__sertl_torch_module__"])
    kind = recipe.pop("kind")
    if kind == "classifier":
        module = ClassifierNet(
            build_trunk(recipe["trunk"]),
            recipe["head_sizes"],
            domain_hidden=recipe["domain_hidden"],
            reversed_heads=recipe.get("reversed_heads", ()),
            n_log_vars=recipe.get("n_log_vars", 0),
            head_layers={
                int(i): int(k) for i, k in recipe.get("head_layers", {}).items()
            },
        )
    elif kind == "autoencoder":
        module = AutoencoderNet(**recipe)
    else:
        raise ValueError(f"Unknown sertl network kind {kind!r}.")
    return module


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.lambd * grad, None


class GradientReversal(nn.Module):
    """Identity forward, gradient multiplied by ``-lambd`` backward.

    The layer of domain-adversarial training (Ganin et al., JMLR 2016): the
    domain head learns to tell the domains apart while the trunk receives
    the reversed gradient and learns features the head cannot separate.

    Parameters
    ----------
    lambd : float, default=1.0
        Strength of the reversed gradient (changed during training by the
        schedule of :class:`~sertl_neural.DANNClassifier`).

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import GradientReversal
    >>> x = torch.ones(2, requires_grad=True)
    >>> GradientReversal(0.5)(x).sum().backward()
    >>> x.grad.tolist()
    [-0.5, -0.5]
    """

    def __init__(self, lambd=1.0):
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, x):
        return _ReverseGrad.apply(x, self.lambd)


class ClassifierNet(nn.Module):
    """A trunk with one linear head per task, and an optional domain head.

    ``forward`` returns a tuple: the logits of every head, then the domain
    logit (when ``domain_hidden`` is set), then the embedding.

    Parameters
    ----------
    trunk : nn.Module
        Maps the input to an embedding of size ``trunk.embedding_dim``;
        built by :func:`build_trunk` (it carries its ``spec``).
    head_sizes : sequence of int
        Number of classes of each head (the first head is the main task).
    domain_hidden : int or None, default=None
        Width of the hidden layer of a domain discriminator behind a
        :class:`GradientReversal` layer (DANN); None: no domain head.
    reversed_heads : sequence of int, default=()
        Indices of the task heads that see the embedding through a
        :class:`GradientReversal` layer (adversarial auxiliary tasks).
    n_log_vars : int, default=0
        Number of learnable log-variances ``log_vars`` (one per task, for
        uncertainty weighting of the task losses); 0: none.
    head_layers : dict of int to int, default=None
        ``{head index: k}``: that head reads the output of the trunk's
        k-th block (1-based; MLP trunks only) instead of the embedding.

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import ClassifierNet
    >>> from sertl_neural._nets import build_trunk
    >>> trunk = build_trunk({"network": "mlp", "n_features": 4,
    ...                      "hidden_layer_sizes": (6,), "dropout": 0.0})
    >>> net = ClassifierNet(trunk, [3, 2])
    >>> [o.shape[1] for o in net(torch.zeros(5, 4))]
    [3, 2, 6]
    """

    def __init__(
        self,
        trunk,
        head_sizes,
        *,
        domain_hidden=None,
        reversed_heads=(),
        n_log_vars=0,
        head_layers=None,
    ):
        super().__init__()
        self.recipe = {
            "kind": "classifier",
            "trunk": dict(trunk.spec),
            "head_sizes": [int(k) for k in head_sizes],
            "domain_hidden": None if domain_hidden is None else int(domain_hidden),
            "reversed_heads": sorted(int(i) for i in reversed_heads),
            "n_log_vars": int(n_log_vars),
            "head_layers": {int(i): int(k) for i, k in (head_layers or {}).items()},
        }
        self.trunk = trunk
        d = trunk.embedding_dim
        self._head_layers = dict(self.recipe["head_layers"])
        dims = [
            trunk.blocks[self._head_layers[i] - 1][0].out_features
            if i in self._head_layers
            else d
            for i in range(len(head_sizes))
        ]
        self.heads = nn.ModuleList(
            [nn.Linear(dim, int(k)) for dim, k in zip(dims, head_sizes, strict=True)]
        )
        self._reversed = frozenset(self.recipe["reversed_heads"])
        self.task_grl = GradientReversal(1.0) if self._reversed else None
        self.log_vars = (
            nn.Parameter(torch.zeros(int(n_log_vars))) if n_log_vars else None
        )
        if domain_hidden is None:
            self.domain_head = None
        else:
            self.grl = GradientReversal(1.0)
            self.domain_head = nn.Sequential(
                nn.Linear(d, int(domain_hidden)),
                nn.ReLU(),
                nn.Linear(int(domain_hidden), 1),
            )

    def forward(self, x):
        if self._head_layers:  # MLP trunk: keep every block's output
            inner = []
            emb = x
            for block in self.trunk.blocks:
                emb = block(emb)
                inner.append(emb)
            feats = [
                inner[self._head_layers[i] - 1] if i in self._head_layers else emb
                for i in range(len(self.heads))
            ]
        else:
            emb = self.trunk(x)
            feats = [emb] * len(self.heads)
        out = [
            head(self.task_grl(f) if i in self._reversed else f)
            for i, (head, f) in enumerate(zip(self.heads, feats, strict=True))
        ]
        if self.domain_head is not None:
            out.append(self.domain_head(self.grl(emb)).squeeze(1))
        out.append(emb)
        return tuple(out)


class AutoencoderNet(nn.Module):
    """Encoder shared by all domains, one decoder per domain group.

    Parameters
    ----------
    n_features : int
        Input dimension.
    hidden_layer_sizes : sequence of int
        Encoder widths before the code layer (the decoder mirrors them).
    n_components : int
        Code size.
    n_decoders : int
        1 (one decoder for all rows) or 2 (source and target decoders: the
        shared-hidden-layer autoencoder).
    noise : float
        Corruption strength during training (denoising).
    noise_type : {"gaussian", "masking"}
        Additive Gaussian noise with standard deviation ``noise``, or
        masking noise that zeros each input with probability ``noise``.

    Examples
    --------
    >>> import torch
    >>> from sertl_neural._nets import AutoencoderNet
    >>> net = AutoencoderNet(6, (5,), 3, 2, 0.1, "gaussian")
    >>> recon, code = net(torch.zeros(4, 6))
    >>> recon.shape, code.shape
    (torch.Size([2, 4, 6]), torch.Size([4, 3]))
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        n_components,
        n_decoders,
        noise,
        noise_type,
    ):
        super().__init__()
        self.recipe = {
            "kind": "autoencoder",
            "n_features": int(n_features),
            "hidden_layer_sizes": tuple(int(h) for h in hidden_layer_sizes),
            "n_components": int(n_components),
            "n_decoders": int(n_decoders),
            "noise": float(noise),
            "noise_type": str(noise_type),
        }
        self.noise = float(noise)
        self.noise_type = noise_type
        dims = [
            int(n_features),
            *[int(h) for h in hidden_layer_sizes],
            int(n_components),
        ]
        enc = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            enc += [nn.Linear(a, b), nn.Tanh()]
        self.encoder = nn.Sequential(*enc)
        self.decoders = nn.ModuleList()
        rev = dims[::-1]
        for _ in range(int(n_decoders)):
            dec = []
            for i, (a, b) in enumerate(zip(rev[:-1], rev[1:], strict=True)):
                dec.append(nn.Linear(a, b))
                if i < len(rev) - 2:
                    dec.append(nn.Tanh())
            self.decoders.append(nn.Sequential(*dec))

    def corrupt(self, x):
        """Corrupt the input (training only)."""
        if not self.training or self.noise <= 0:
            return x
        if self.noise_type == "masking":
            return x * (torch.rand_like(x) >= self.noise).to(x.dtype)
        return x + self.noise * torch.randn_like(x)

    def forward(self, x):
        code = self.encoder(self.corrupt(x))
        recon = torch.stack([dec(code) for dec in self.decoders])
        return recon, code
