"""sertl-speech: emotional speech corpora, emotion schema and acoustic features.

Corpus readers for the official layouts of the common SER corpora, one
emotion vocabulary across corpora, and fast, robust acoustic feature
extraction as scikit-learn transformers.
"""

# -- imports: readers (corpora, schema, normalisation) and features -------
from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
    from ._audio import AUDIO_SUFFIXES, AudioError, load_audio, soundfile_path
    from ._cache import (
        open_temporary,
        remove_stale_temporaries,
        replace_file,
        temporary_name,
    )
    from ._corpora import (
        COLUMNS,
        CREMAD,
        EMOVO,
        IEMOCAP,
        RAVDESS,
        SAVEE,
        TESS,
        URDU,
        CorpusReader,
        CorpusWarning,
        CsvCorpus,
        EmoDB,
        FoldersCorpus,
        TurEVDB,
        get_reader_class,
        load_corpus,
        load_sample,
        sample_path,
    )
    from ._extract import (
        AudioFeatures,
        AudioFeaturesWarning,
        FeatureExtractionError,
        pad_sequences,
    )
    from ._normalize import (
        MissingSpeakerWarning,
        SpeakerConfoundWarning,
        SpeakerNormalizer,
    )
    from ._schema import (
        EMOTION_COORDINATES,
        EMOTIONS,
        canonical_emotion,
        emotion_coordinates,
        map_emotions,
        select_emotions,
        shared_classes,
        to_binary_arousal,
        to_binary_valence,
    )

# Imported on first use (PEP 562), not with the package: the plugin's
# entry point ``sertl_speech.hooks`` imports the package for every ``sertl``
# command (``sertl --help`` too), and these modules import numpy, scipy
# and scikit-learn (about a second). As in sertl_neural.
_WHERE = {
    "AUDIO_SUFFIXES": "._audio",
    "AudioError": "._audio",
    "load_audio": "._audio",
    "soundfile_path": "._audio",
    "open_temporary": "._cache",
    "remove_stale_temporaries": "._cache",
    "replace_file": "._cache",
    "temporary_name": "._cache",
    "COLUMNS": "._corpora",
    "CREMAD": "._corpora",
    "EMOVO": "._corpora",
    "IEMOCAP": "._corpora",
    "RAVDESS": "._corpora",
    "SAVEE": "._corpora",
    "TESS": "._corpora",
    "URDU": "._corpora",
    "CorpusReader": "._corpora",
    "CorpusWarning": "._corpora",
    "CsvCorpus": "._corpora",
    "EmoDB": "._corpora",
    "FoldersCorpus": "._corpora",
    "TurEVDB": "._corpora",
    "get_reader_class": "._corpora",
    "load_corpus": "._corpora",
    "load_sample": "._corpora",
    "sample_path": "._corpora",
    "AudioFeatures": "._extract",
    "AudioFeaturesWarning": "._extract",
    "FeatureExtractionError": "._extract",
    "pad_sequences": "._extract",
    "MissingSpeakerWarning": "._normalize",
    "SpeakerConfoundWarning": "._normalize",
    "SpeakerNormalizer": "._normalize",
    "EMOTION_COORDINATES": "._schema",
    "EMOTIONS": "._schema",
    "canonical_emotion": "._schema",
    "emotion_coordinates": "._schema",
    "map_emotions": "._schema",
    "select_emotions": "._schema",
    "shared_classes": "._schema",
    "to_binary_arousal": "._schema",
    "to_binary_valence": "._schema",
}

__all__ = [
    "COLUMNS",
    "CREMAD",
    "EMOTIONS",
    "EMOTION_COORDINATES",
    "EMOVO",
    "IEMOCAP",
    "RAVDESS",
    "SAVEE",
    "TESS",
    "URDU",
    "CorpusReader",
    "CorpusWarning",
    "CsvCorpus",
    "EmoDB",
    "FoldersCorpus",
    "MissingSpeakerWarning",
    "SpeakerConfoundWarning",
    "SpeakerNormalizer",
    "TurEVDB",
    "canonical_emotion",
    "emotion_coordinates",
    "get_reader_class",
    "load_corpus",
    "load_sample",
    "map_emotions",
    "sample_path",
    "select_emotions",
    "shared_classes",
    "to_binary_arousal",
    "to_binary_valence",
]
# -- features, cache (features) --------------------------------------------

__all__ += [
    "AUDIO_SUFFIXES",
    "AudioError",
    "AudioFeatures",
    "AudioFeaturesWarning",
    "FeatureExtractionError",
    "load_audio",
    "pad_sequences",
    "soundfile_path",
]
# -- files written whole: a temporary file renamed, gone writers' swept ----

__all__ += [
    "open_temporary",
    "remove_stale_temporaries",
    "replace_file",
    "temporary_name",
]


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
