"""sertl-relational: relational-knowledge transfer between emotion tasks.

The fourth family of transfer in Pan and Yang's survey [1]_ is the
transfer of relations: when a relation in the source task resembles one in
the target task, transfer the relation. The survey's Section 3.4 means
relational (non-i.i.d.) data, such as predicates mapped between Markov
logic networks. Utterances are i.i.d., so the relation this plugin
transfers is one among the emotion classes (their arousal/valence geometry,
the confusions of a source model, the layout of class centroids): an
adaptation of the idea that is sertl's own construction, not a method of
that section.

* :class:`LabelRelationTransfer` transfers between different emotion label
  spaces through the arousal/valence geometry of the emotions and the
  class-to-class relation seen in a source model's outputs; it predicts
  target classes the source never had.
* :class:`ClassRelationAligner` aligns, without target labels, the graph of
  class centroids found in the target corpus with the source's.
* :class:`RKDLoss` is the relational knowledge distillation loss of Park et
  al. (2019) for the neural plugin's fine-tuning; torch is imported only
  when the loss is computed.

References
----------
.. [1] S. J. Pan and Q. Yang, "A survey on transfer learning", IEEE TKDE
   22(10), 2010.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
    from ._class_relation import ClassRelationAligner
    from ._label_relation import LabelRelationTransfer
    from ._rkd import RKDLoss
    from ._schema import DEFAULT_COORDINATES, canonical_emotion, emotion_coordinates

# Imported on first use (PEP 562), not with the package: the plugin's
# entry point ``sertl_relational.hooks`` imports the package for every ``sertl``
# command (``sertl --help`` too), and these modules import numpy, scipy
# and scikit-learn (about a second). As in sertl_neural.
_WHERE = {
    "ClassRelationAligner": "._class_relation",
    "LabelRelationTransfer": "._label_relation",
    "RKDLoss": "._rkd",
    "DEFAULT_COORDINATES": "._schema",
    "canonical_emotion": "._schema",
    "emotion_coordinates": "._schema",
}

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_COORDINATES",
    "ClassRelationAligner",
    "LabelRelationTransfer",
    "RKDLoss",
    "__version__",
    "canonical_emotion",
    "emotion_coordinates",
]


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
