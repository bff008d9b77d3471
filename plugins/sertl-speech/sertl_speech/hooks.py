"""Registration of sertl-speech's classes through the sertl hooks."""

from sertl_core import hookimpl  # noqa: F401


# -- readers ---------------------------------------------------------------
@hookimpl
def sertl_register_corpora():
    """Register the corpus readers."""
    from ._corpora import READERS

    return list(READERS)


@hookimpl
def sertl_register_adapters():
    """Register the per-speaker normaliser (a feature-space transformer)."""
    from ._normalize import SpeakerNormalizer

    return [SpeakerNormalizer]


# -- features --------------------------------------------------------------
@hookimpl
def sertl_register_features():
    """Register the acoustic feature extractors."""
    from ._extract import AudioFeatures

    return [AudioFeatures]
