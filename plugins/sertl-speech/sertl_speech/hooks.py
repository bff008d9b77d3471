"""Registration of sertl-speech's classes through the sertl hooks."""

from sertl_core import hookimpl  # noqa: F401


# -- readers ---------------------------------------------------------------
@hookimpl
def sertl_register_corpora():
    """Register the corpus readers."""
    from ._corpora import READERS

    return list(READERS)


# -- features --------------------------------------------------------------
@hookimpl
def sertl_register_features():
    """Register the acoustic feature extractors."""
    from ._extract import AudioFeatures

    return [AudioFeatures]
