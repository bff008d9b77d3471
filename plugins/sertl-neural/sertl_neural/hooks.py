"""Plugin hooks: register the sertl-neural estimators and adapters."""

from __future__ import annotations

from sertl_core import hookimpl


@hookimpl
def sertl_register_estimators():
    """Register the neural transfer estimators."""
    from . import DANNClassifier, FineTuneClassifier, MultiTaskClassifier

    return [FineTuneClassifier, MultiTaskClassifier, DANNClassifier]


@hookimpl
def sertl_register_adapters():
    """Register the autoencoder adapter."""
    from . import AutoencoderAdapter

    return [AutoencoderAdapter]
