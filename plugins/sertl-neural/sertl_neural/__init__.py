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
