"""Which steps of a fitted method learn from the labelled target rows.

Under the few-shot protocol a method is given the labels of ``k`` target
utterances per class; whether its model learns from them depends on its
steps. The report counts the labelled rows a model learned from, so it asks
each fitted step.

A class can say so itself with a class attribute
``_sertl_uses_target_labels``: a bool, or a function of the fitted
instance returning one. sertl's own classes are known here by their public
name, the package that exports them and their name (an exact class, not a
subclass, whose ``fit`` may differ; the private module that defines one may
change in any release of its plugin);
any other class is unknown (None), and the report says so instead of
guessing.
"""

from __future__ import annotations

import sys

TARGET_LABELS_ATTRIBUTE = "_sertl_uses_target_labels"
"""Class attribute by which a step says whether it learns from labelled target rows."""


def _finetune(est):
    # sertl run gives every neural estimator a classifier, fitted on the
    # network's embeddings of every labelled row (source and target); without
    # one, the target rows train the network's fine-tuning phase
    epochs = est.max_epochs if est.finetune_epochs is None else est.finetune_epochs
    return est.estimator is not None or epochs > 0


def _multitask(est):
    # every labelled row (source and target) trains the emotion task
    return float(dict(est.task_weights or {}).get("emotion", 1.0)) > 0


def _vote(est):
    members = getattr(est, "members_", None)
    if members is None:
        return None
    return combine(
        [uses_target_labels(a) for _, a, _ in members if a is not None]
        + [uses_target_labels(m) for _, _, m in members]
    )


# sertl's own steps, by the public name of their class (the package that
# exports it, and its name): where a plugin defines it is its own business
_KNOWN = {
    # feature adapters: no labels at all, or the source rows' only
    "sertl_core.DomainStandardScaler": False,
    "sertl_core.SourceStandardScaler": False,
    "sertl_speech.SpeakerNormalizer": False,
    "sertl_feature.CORAL": False,
    "sertl_feature.TCA": False,
    "sertl_feature.SubspaceAlignment": False,
    "sertl_relational.ClassRelationAligner": False,
    "sertl_neural.AutoencoderAdapter": False,
    # JDA's class-conditional terms take labelled target rows by their labels
    "sertl_feature.JDA": True,
    # transfer estimators
    "sertl_core.SourceOnly": lambda est: bool(est.use_target_labels),
    "sertl_instance.KMM": lambda est: float(est.target_weight) > 0,
    "sertl_instance.KLIEP": lambda est: float(est.target_weight) > 0,
    "sertl_neural.FineTuneClassifier": _finetune,
    "sertl_neural.DANNClassifier": True,
    "sertl_neural.MultiTaskClassifier": _multitask,
    "sertl_relational.LabelRelationTransfer": True,
    "sertl_experiments.TransferVote": _vote,
}


def uses_target_labels(step):
    """Whether a fitted step learns from the labelled target rows it is given.

    Parameters
    ----------
    step : estimator, "passthrough" or None
        A fitted adapter or transfer estimator (or a Pipeline of them).

    Returns
    -------
    uses : bool or None
        None when it cannot be told: the class is none of sertl's own and
        does not declare ``_sertl_uses_target_labels``.

    Examples
    --------
    >>> from sertl_core import DomainStandardScaler, SourceOnly
    >>> uses_target_labels(SourceOnly()), uses_target_labels(
    ...     SourceOnly(use_target_labels=True))
    (False, True)
    >>> from sklearn.pipeline import make_pipeline
    >>> uses_target_labels(make_pipeline(DomainStandardScaler(), SourceOnly()))
    False
    >>> class Mine(SourceOnly):  # a subclass may fit otherwise: unknown
    ...     pass
    >>> print(uses_target_labels(Mine()))
    None
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return False
    steps = getattr(step, "steps", None)
    if isinstance(steps, list):  # a Pipeline
        return combine([uses_target_labels(s) for _, s in steps])
    cls = type(step)
    declared = cls.__dict__.get(TARGET_LABELS_ATTRIBUTE)
    rule = declared if declared is not None else _KNOWN.get(_public_name(cls))
    if rule is None:
        return None
    if callable(rule):
        got = rule(step)
        return None if got is None else bool(got)
    return bool(rule)


def _public_name(cls):
    """``"package.Name"`` when ``cls`` is that package's public class, else None.

    The package is the top level of the module that defines ``cls``; the
    class must be the one the package exports under its name (not a
    subclass, nor a class of the same name defined elsewhere).
    """
    package = cls.__module__.partition(".")[0]
    module = sys.modules.get(package)
    if module is None or getattr(module, cls.__qualname__, None) is not cls:
        return None
    return f"{package}.{cls.__qualname__}"


def combine(answers):
    """Combine answers: True if any is True, else None if any is unknown, else False.

    Examples
    --------
    >>> combine([False, True, None]), combine([False, None]), combine([False])
    (True, None, False)
    """
    answers = list(answers)
    if any(a is True for a in answers):
        return True
    if any(a is None for a in answers):
        return None
    return False
