"""sertl-speech: emotional speech corpora, emotion schema and acoustic features.

Corpus readers for the official layouts of the common SER corpora, one
emotion vocabulary across corpora, and fast, robust acoustic feature
extraction as scikit-learn transformers.
"""

# -- imports: readers (corpora, schema, normalisation) and features -------
from ._audio import AUDIO_SUFFIXES, AudioError, load_audio
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
    select_emotions,
    shared_classes,
    to_binary_arousal,
    to_binary_valence,
)

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
]
