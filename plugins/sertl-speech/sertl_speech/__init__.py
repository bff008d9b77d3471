"""sertl-speech: emotional speech corpora, emotion schema and acoustic features.

Corpus readers for the official layouts of the common SER corpora, one
emotion vocabulary across corpora, and fast, robust acoustic feature
extraction as scikit-learn transformers.
"""

# -- corpora, schema, speaker normalisation (readers) ----------------------
# -- features, cache (features) --------------------------------------------

__all__: list[str] = []
