"""Autoencoder feature transfer: an encoder trained on source and target rows."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.validation import check_is_fitted

from sertl_core import DomainAdapter, DomainData
from sertl_core.params import Interval, StrOptions
from sertl_core.utils import preserve_float32

from ._base import (
    _TRAINING_CONSTRAINTS,
    NeuralMixin,
    _positive_int_tuple,
    resolve_device,
)
from ._lazy import torch

__all__ = ["AutoencoderAdapter"]


class _ReconstructionLoss:
    def __init__(self, n_features, target_weight, shared):
        self.n_features = n_features
        self.target_weight = target_weight
        self.shared = shared

    def __call__(self, outputs, y, X, training):
        recon = outputs[0]
        clean, dom = y[:, : self.n_features], y[:, self.n_features] > 0.5
        loss = recon.sum() * 0.0
        for is_tgt, w in (
            (False, 1.0 - self.target_weight),
            (True, self.target_weight),
        ):
            rows = dom == is_tgt
            if w > 0 and bool(rows.any()):
                dec = int(is_tgt) if self.shared else 0
                loss = loss + w * ((recon[dec][rows] - clean[rows]) ** 2).mean()
        return loss


class AutoencoderAdapter(NeuralMixin, DomainAdapter):
    """Autoencoder trained on source and target rows; its code is the new feature space.

    Unsupervised feature transfer after Deng et al.: a (denoising) autoencoder
    learns one encoder from the rows of both domains, so the code captures
    structure common to the source and target corpora, and any classifier
    is then trained on the source codes. ``mode="shared"`` is the
    shared-hidden-layer autoencoder: one encoder, a decoder for the source
    and one for the target, the two reconstruction errors weighted by
    ``target_weight``. ``mode="pooled"`` uses one decoder for all rows (a
    denoising autoencoder on the pooled data). ``output="reconstruction"``
    returns rows reconstructed through the target decoder instead (source
    rows mapped towards the target, as in Deng et al.'s 2013 feature
    transfer). ``output="concat"`` appends the code to the (standardised)
    input features, so a downstream classifier keeps the original
    information and gains the shared code; ``code_weight`` sets the code's
    share of the total variance. Labels are not used.

    Where it departs from Deng et al. [1]_: their autoencoder is *sparse*
    (sigmoid units and a Kullback-Leibler penalty that keeps the mean
    activation of each hidden unit near a small target). Here the units are
    tanh and the loss is the plain mean squared reconstruction error, with
    input noise (``noise``, a denoising autoencoder [4]_) and
    weight decay as the regularisers; there is no sparsity penalty. Both
    keep the code from copying its input; denoising needs no sparsity
    target and activation mean per unit to tune.

    With several source domains their rows are pooled: they share the source
    decoder (and several target domains the target decoder), so the code is not
    asked to bring the source domains closer to each other. Put a
    :class:`~sertl_core.DomainStandardScaler` in front for per-domain
    statistics.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(128,)
        Encoder layers before the code (the decoders mirror them).
    n_components : int, default=32
        Code size (number of output features with ``output="code"``).
    mode : {"shared", "pooled"}, default="shared"
        Separate source and target decoders, or one decoder.
    noise : float, default=0.1
        Input corruption while training (0 disables denoising).
    noise_type : {"gaussian", "masking"}, default="gaussian"
        Additive Gaussian noise (standard deviation ``noise``, on
        standardised inputs) or masking noise (each input zeroed with
        probability ``noise``).
    target_weight : float, default=0.5
        Weight of the target reconstruction error (the source error gets
        ``1 - target_weight``).
    output : {"code", "reconstruction", "concat"}, default="code"
        What ``transform`` returns: the code, the reconstruction through
        the target decoder, or the standardised input followed by the
        standardised code (``n_features_in_ + n_components`` columns).
    reconstruct : {"all", "source"}, default="all"
        With ``output="reconstruction"``: which rows go through the
        autoencoder. ``"all"``: every row is reconstructed through the target
        decoder. ``"source"``: only source rows (``sample_domain > 0``) are
        reconstructed, target rows are returned as their (standardised)
        input, as in Deng et al.'s 2013 feature transfer [1]_, where a
        classifier is trained on source rows reconstructed by an autoencoder
        of the target domain (``target_weight=1.0``) and tested on the
        target features themselves. ``transform`` without ``sample_domain``
        treats rows as target, so they pass unchanged.
    code_weight : float, default=1.0
        With ``output="concat"``: the code columns are scaled so that their
        total variance is ``code_weight`` times the input's (1.0: code and
        input weigh the same in a distance-based classifier such as an RBF
        SVC), for standardised input (``standardize=True`` or a
        :class:`~sertl_core.DomainStandardScaler` in front).
    max_epochs : int, default=50
        Training epochs.
    batch_size : int, default=32
        Mini-batch size.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    standardize : bool, default=True
        Standardise inputs with the statistics of all training rows (put a
        :class:`~sertl_core.DomainStandardScaler` in front for per-domain
        statistics).
    early_stopping : bool, default=False
        Stop on the reconstruction error of held-out rows
        (``validation_fraction`` of the rows, stratified by source/target;
        without target rows, a row and its copy as the target are held out
        together), keeping the best weights.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping.
    device : str or None, default="auto"
        ``"auto"`` or None (CUDA when available, else CPU), ``"cpu"`` or
        ``"cuda[:i]"``.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, shuffling, noise and the validation split.
        ``None`` draws the seed from numpy's global generator, as
        scikit-learn's estimators do (``np.random.seed(k)`` before the fit
        makes it repeatable).
    verbose : int, default=0
        Print skorch's per-epoch progress table when > 0.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained autoencoder.
    history_ : list of dict
        Per-epoch losses and durations.
    n_features_in_ : int
        Number of input features.
    input_mean_ : ndarray of shape (n_features,)
        Mean subtracted from every input feature (zeros with
        ``standardize=False``).
    input_scale_ : ndarray of shape (n_features,)
        Standard deviation each input feature is divided by (ones with
        ``standardize=False``; constant features get 1).
    code_mean_ : ndarray of shape (n_components,)
        Mean of the code over the rows of fit, subtracted from the code
        in ``output="concat"``.
    code_scale_ : ndarray of shape (n_components,)
        Standard deviation of the code over the rows of fit (constant
        components get 1), which scales the code in ``output="concat"``.
    feature_names_in_ : ndarray of str
        Input feature names (when ``X`` had them).
    device_ : str
        Device used for training and transformation. A pickled or
        skops-loaded copy goes back onto it where PyTorch sees that device,
        else onto the CPU.

    See Also
    --------
    DANNClassifier : Supervised adversarial alternative.

    Notes
    -----
    ``fit`` takes no ``sample_weight``, unlike scikit-learn's transformers
    such as ``StandardScaler``. The autoencoder is an adapter: it learns one
    code for the rows of both domains, labels unused, the way
    :class:`~sertl_core.DomainAdapter` fits its statistics on the rows as
    given. The caller's weights in sertl weigh the rows that train an
    estimator (as ``SourceOnly``, ``KMM`` and the neural classifiers apply
    them), and the core validates them only on that path; weighting the
    reconstruction loss alone would leave the input standardisation and the
    code statistics of ``output="concat"`` unweighted, a half-weighted fit.
    Since scikit-learn's tools hand weights to every ``fit`` that declares
    them, the parameter is not offered rather than accepted and partly
    ignored: in a Pipeline, weights go to the final transfer estimator
    (``clf__sample_weight=w``, or with metadata routing the step that
    requests them).

    ``transform`` returns float32 for float32 rows, as scikit-learn's
    transformers do, and float64 otherwise.

    References
    ----------
    .. [1] J. Deng, Z. Zhang, E. Marchi and B. Schuller, "Sparse
       autoencoder-based feature transfer learning for speech emotion
       recognition", ACII 2013.
    .. [2] J. Deng, R. Xia, Z. Zhang, Y. Liu and B. Schuller, "Introducing
       shared-hidden-layer autoencoders for transfer learning and their
       application in acoustic emotion recognition", ICASSP 2014.
    .. [3] J. Deng, Z. Zhang, F. Eyben and B. Schuller, "Autoencoder-based
       unsupervised domain adaptation for speech emotion recognition", IEEE
       Signal Processing Letters 21(9), 2014.
    .. [4] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_neural import AutoencoderAdapter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 5)); sd = np.repeat([1, -1], 15)
    >>> ae = AutoencoderAdapter(hidden_layer_sizes=(8,), n_components=3,
    ...                         max_epochs=2, random_state=0)
    >>> ae.fit_transform(X, sample_domain=sd).shape
    (30, 3)

    Deng et al.'s 2013 transfer: an autoencoder of the target domain
    reconstructs the source rows; target rows pass unchanged:

    >>> rec = AutoencoderAdapter(hidden_layer_sizes=(8,), n_components=3,
    ...                          output="reconstruction", reconstruct="source",
    ...                          target_weight=1.0, max_epochs=2, random_state=0)
    >>> Z = rec.fit_transform(X, sample_domain=sd)
    >>> bool(np.allclose(Z[sd < 0], rec.transform(X[sd < 0]), atol=1e-6))
    True
    """

    registry_name = "autoencoder"
    _sertl_auto_candidate = False
    _needs_labels = False

    _parameter_constraints: dict = {
        **_TRAINING_CONSTRAINTS,
        "hidden_layer_sizes": ["array-like"],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "mode": [StrOptions({"shared", "pooled"})],
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
        "noise_type": [StrOptions({"gaussian", "masking"})],
        "target_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "output": [StrOptions({"code", "reconstruction", "concat"})],
        "code_weight": [Interval(numbers.Real, 0, None, closed="neither")],
        "reconstruct": [StrOptions({"all", "source"})],
    }
    _parameter_constraints.pop("dropout")
    # per-domain statistics: put sertl_core.DomainStandardScaler in front
    _parameter_constraints["standardize"] = ["boolean"]

    def __init__(
        self,
        *,
        hidden_layer_sizes=(128,),
        n_components=32,
        mode="shared",
        noise=0.1,
        noise_type="gaussian",
        target_weight=0.5,
        output="code",
        reconstruct="all",
        code_weight=1.0,
        max_epochs=50,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-4,
        standardize=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_components = n_components
        self.mode = mode
        self.noise = noise
        self.noise_type = noise_type
        self.target_weight = target_weight
        self.output = output
        self.reconstruct = reconstruct
        self.code_weight = code_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _uses_domain_in_transform(self):
        # one encoder and one (target) decoder for every row, except the
        # reconstruction that leaves target rows unchanged
        return self.output == "reconstruction" and self.reconstruct == "source"

    def _fit(self, data: DomainData) -> None:
        self._validate_params()
        if self.noise_type == "masking" and self.noise >= 1:
            raise ValueError(
                f"noise={self.noise} with noise_type='masking' would zero every "
                "input: use a probability below 1."
            )
        hidden = _positive_int_tuple(self.hidden_layer_sizes, "hidden_layer_sizes")
        self.device_ = resolve_device(self.device)
        self._fit_scaler(data.X)
        Xs = self._scaled(data.X)
        d = Xs.shape[1]
        dom = data.target.astype(np.float32)
        Y = np.concatenate([Xs, dom[:, None]], axis=1)
        from ._nets import AutoencoderNet

        shared = self.mode == "shared"
        seed = self._draw_seed()
        with self._seeded(seed):
            module = AutoencoderNet(
                d,
                hidden,
                self.n_components,
                2 if shared else 1,
                self.noise,
                self.noise_type,
            ).to(device=self.device_, dtype=torch.float32)
            loss = _ReconstructionLoss(d, float(self.target_weight), shared)
            n_in = data.n_input_rows
            if Xs.shape[0] > n_in:
                # no target rows: the core appended a copy of every row as
                # the target (NoTargetWarning); a row and its copy are held
                # out together, or the reconstruction of a validation row
                # would be the training target of its copy
                split = self._valid_split(n_in, None, seed)
                valid = None
                if split is not None:
                    tr, va = (np.r_[part, part + n_in] for part in split)
                    Xs_tr, Y_tr, valid = Xs[tr], Y[tr], (Xs[va], Y[va])
                else:
                    Xs_tr, Y_tr = Xs, Y
                self.history_ = self._train(
                    module,
                    Xs_tr,
                    Y_tr,
                    loss,
                    lr=self.lr,
                    max_epochs=self.max_epochs,
                    valid=valid,
                )
            else:
                self.history_ = self._train_held_out(
                    module,
                    Xs,
                    Y,
                    loss,
                    groups=[(np.arange(Xs.shape[0]), dom.astype(np.int64))],
                    seed=seed,
                    lr=self.lr,
                    max_epochs=self.max_epochs,
                )
        self.module_ = module.eval()
        code = self._outputs(self.module_, data.X)[1].astype(np.float64)
        self.code_mean_ = code.mean(axis=0)
        scale = code.std(axis=0)
        scale[scale < 1e-12] = 1.0
        self.code_scale_ = scale

    def _transform(self, X, sample_domain):
        # float32 rows come back float32, as scikit-learn's transformers do;
        # anything else as float64
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        recon, code = self._outputs(self.module_, X)
        if self.output == "code":
            return code.astype(dtype)
        if self.output == "reconstruction":
            out = recon[:, -1].astype(np.float64)
            if self.reconstruct == "source":
                tgt = np.asarray(sample_domain) < 0
                out[tgt] = self._scaled(X[tgt]).astype(np.float64)
            return out.astype(dtype, copy=False)
        # concat: standardised input, then the standardised code scaled to
        # code_weight times the input's total variance
        z = (code.astype(np.float64) - self.code_mean_) / self.code_scale_
        z *= np.sqrt(self.code_weight * self.n_features_in_ / self.n_components)
        out = np.hstack([self._scaled(X).astype(np.float64), z])
        return out.astype(dtype, copy=False)

    def __sklearn_tags__(self):
        return preserve_float32(super().__sklearn_tags__())

    def _outputs(self, module, X):
        # recon is (n_decoders, n, d): move the row axis first for batching.
        return self._forward(
            module, self._scaled(X), lambda out: (out[0].transpose(0, 1), out[1])
        )

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names (checked against ``feature_names_in_``).

        Returns
        -------
        names : ndarray of str
            ``autoencoderadapter0, ...`` for codes, the input names for
            reconstructions, both (input first) for ``output="concat"``.
        """
        check_is_fitted(self)
        # the one-to-one names, checked against feature_names_in_ (public API)
        names = OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        if self.output == "reconstruction":
            return names
        code = np.asarray(
            [f"autoencoderadapter{i}" for i in range(self.n_components)], dtype=object
        )
        if self.output == "concat":
            return np.concatenate([np.asarray(names, dtype=object), code])
        return code
