"""The emotion vocabulary of sertl and its place in Russell's circumplex.

One table, shared by every plugin: sertl-speech's corpus readers map their
codes onto :data:`EMOTIONS`, and sertl-relational places classes with
:data:`EMOTION_COORDINATES`. Each category is a direction in the plane of
valence (pleasure, x) and arousal (activation, y), at the angle of the
corresponding affect word in Russell's direct circular scaling of 28 affect
terms, rounded to the degree; coordinates are ``(valence, arousal)``:

=========== ================ ======= ======================================
category    Russell's term   angle   (valence, arousal)
=========== ================ ======= ======================================
happiness   happy            8°      ( 0.99,  0.14)
excitement  excited          49°     ( 0.66,  0.75)
surprise    astonished       70°     ( 0.34,  0.94)
anger       angry            99°     (-0.16,  0.99)
fear        afraid           117°    (-0.45,  0.89)
disgust     (none, see note) 135°    (-0.71,  0.71)
frustration frustrated       141°    (-0.78,  0.63)
sadness     sad              208°    (-0.88, -0.47)
boredom     bored            242°    (-0.47, -0.88)
calm        calm             316°    ( 0.72, -0.69)
neutral     (centre)         --      ( 0.00,  0.00)
=========== ================ ======= ======================================

Disgust is not among Russell's 28 terms; it is placed at 135°, between
"annoyed" (123°) and "distressed" (138°), i.e. unpleasant and moderately
aroused. Neutral is the centre of the circumplex. Both are assumptions of
this table.

References
----------
.. [1] J. A. Russell, "A circumplex model of affect", Journal of
   Personality and Social Psychology 39(6), 1161-1178, 1980.

Examples
--------
>>> from sertl_core.emotions import EMOTION_COORDINATES, canonical_emotion
>>> canonical_emotion(" Angry"), canonical_emotion("neu"), canonical_emotion("x")
('anger', 'neutral', None)
>>> EMOTION_COORDINATES["calm"]
(0.7193, -0.6947)
"""

from __future__ import annotations

import math

__all__ = [
    "EMOTIONS",
    "EMOTION_COORDINATES",
    "RUSSELL_ANGLES",
    "canonical_emotion",
    "label_key",
]

RUSSELL_ANGLES: dict[str, float] = {
    "happiness": 8.0,  # "happy"
    "excitement": 49.0,  # "excited"
    "surprise": 70.0,  # "astonished"
    "anger": 99.0,  # "angry"
    "fear": 117.0,  # "afraid"
    "disgust": 135.0,  # not among Russell's terms: our assumption (see above)
    "frustration": 141.0,  # "frustrated"
    "sadness": 208.0,  # "sad"
    "boredom": 242.0,  # "bored"
    "calm": 316.0,  # "calm"
}
"""Angle (degrees; 0 = pleasure, 90 = arousal) of each category but neutral."""

EMOTION_COORDINATES: dict[str, tuple[float, float]] = dict(
    sorted(
        {
            **{
                name: (
                    round(math.cos(math.radians(angle)), 4),
                    round(math.sin(math.radians(angle)), 4),
                )
                for name, angle in RUSSELL_ANGLES.items()
            },
            "neutral": (0.0, 0.0),
        }.items()
    )
)
"""Canonical emotion -> ``(valence, arousal)`` on the unit circle (neutral: 0)."""

EMOTIONS: tuple[str, ...] = tuple(EMOTION_COORDINATES)
"""Canonical emotion category names, sorted."""

# Common spellings of labels -> canonical names (lower-case keys), among them
# the three-letter codes of IEMOCAP and CREMA-D and TESS's "ps".
_ALIASES = {
    **{name: name for name in EMOTIONS},
    "angry": "anger",
    "ang": "anger",
    "mad": "anger",
    "bored": "boredom",
    "disgusted": "disgust",
    "dis": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "fea": "fear",
    "happy": "happiness",
    "hap": "happiness",
    "joy": "happiness",
    "neu": "neutral",
    "sad": "sadness",
    "surprised": "surprise",
    "sur": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant surprise": "surprise",
    "ps": "surprise",
    "frustrated": "frustration",
    "fru": "frustration",
    "excited": "excitement",
    "exc": "excitement",
}


def canonical_emotion(label):
    """Return the canonical name of an emotion label, or None when unknown.

    Case and surrounding blanks are ignored; common spellings (``"angry"``,
    ``"Sad"``, ``"fearful"``, ``"neu"``, ``"ps"`` for TESS's pleasant
    surprise ...) are recognised.

    Parameters
    ----------
    label : object
        A label as written in a corpus or a user's table.

    Returns
    -------
    name : str or None
        One of :data:`EMOTIONS`, or None when the label is not recognised.

    Examples
    --------
    >>> from sertl_core.emotions import canonical_emotion
    >>> canonical_emotion("Fearful"), canonical_emotion("contempt")
    ('fear', None)
    """
    return _ALIASES.get(label_key(label))


def label_key(label):
    """Return a label as sertl compares labels: stripped, in lower case.

    The one rule by which two spellings of a label are the same label:
    :func:`canonical_emotion` looks a label up by it, sertl-speech's ``csv``
    and ``folders`` readers keep a label that is no canonical emotion as
    its key, and ``sertl_speech.map_emotions`` (``[labels] mapping`` of
    ``sertl run``) renames the rows whose emotion or label as written has
    the key of a mapping key: ``"Wut"``, ``"wut"`` and ``" WUT "`` are one
    label.

    Parameters
    ----------
    label : object
        A label as written (converted with ``str``).

    Returns
    -------
    key : str
        ``str(label)`` without surrounding blanks, in lower case.

    Examples
    --------
    >>> from sertl_core.emotions import label_key
    >>> label_key(" Wut "), label_key("wut") == label_key("WUT")
    ('wut', True)
    """
    return str(label).strip().lower()
