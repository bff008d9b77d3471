"""The core's own methods, registered through the same hooks as any plugin."""

from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl
def sertl_register_adapters():
    """Register the built-in adapters."""
    from .methods import DomainStandardScaler, SourceStandardScaler

    return [DomainStandardScaler, SourceStandardScaler]


@hookimpl
def sertl_register_estimators():
    """Register the built-in transfer estimators."""
    from .methods import SourceOnly

    return [SourceOnly]


@hookimpl
def sertl_register_scorers():
    """Register the built-in domain-aware scorers."""
    from . import model_selection as ms

    return [
        ms.TargetScorer,
        ms.PredictionEntropyScorer,
        ms.ImportanceWeightedScorer,
        ms.DeepEmbeddedValidationScorer,
        ms.ReverseValidationScorer,
    ]


@hookimpl
def sertl_register_splitters():
    """Register the built-in domain-aware splitters."""
    from . import model_selection as ms

    return [ms.LeaveOneDomainOut, ms.TargetLabelSplit, ms.SourceTargetShuffleSplit]
