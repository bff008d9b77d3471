"""sertl-neural: neural transfer for speech emotion recognition (skorch + PyTorch).

* :class:`FineTuneClassifier` - pretrain on the source, fine-tune on a few
  labelled target rows (freezing policy, discriminative learning rates,
  model-based transfer with ``init_from``, optional distillation loss).
* :class:`MultiTaskClassifier` - shared trunk, one head per task (emotion
  plus gender, speaker, arousal, valence, corpus, ...).
* :class:`DANNClassifier` - domain-adversarial training with gradient
  reversal for unlabelled targets.
* :class:`AutoencoderAdapter` - denoising / shared-hidden-layer autoencoder
  trained on source and target; its code is the adapted feature space.

Networks: an MLP on functional features and a small CNN or CRNN on padded
log-mel sequences (3-D input ``(n_samples, frames, n_mels)``). Training runs
on the CPU by default and on a GPU when one is present (``device="auto"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
    from ._autoencoder import AutoencoderAdapter
    from ._dann import DANNClassifier
    from ._finetune import FineTuneClassifier
    from ._multitask import MultiTaskClassifier

__all__ = [
    "AutoencoderAdapter",
    "DANNClassifier",
    "FineTuneClassifier",
    "MultiTaskClassifier",
]

# The classes are imported on first use (PEP 562), not with the package,
# which the plugin's entry point ``sertl_neural.hooks`` loads whenever sertl
# lists its plugins, e.g. for ``sertl --help`` or ``sertl predict``. Their
# modules no longer import torch (seconds) either: it is imported when a
# network is built (``_lazy.py``).
_WHERE = {
    "AutoencoderAdapter": "._autoencoder",
    "DANNClassifier": "._dann",
    "FineTuneClassifier": "._finetune",
    "MultiTaskClassifier": "._multitask",
}


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
