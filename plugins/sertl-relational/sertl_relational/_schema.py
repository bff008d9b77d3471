"""Arousal/valence coordinates of emotion categories (the relational prior).

The default table places the canonical emotion categories of sertl on the
circumplex of Russell (1980): every category is a direction in the plane of
valence (pleasure, x) and arousal (activation, y). The angles are those of
the corresponding affect words in Russell's direct circular scaling of 28
affect terms, rounded to the degree:

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
this table: pass your own ``coordinates={...}`` to any sertl-relational
estimator to change them or to add categories. A table you pass replaces
this one (categories it lacks have no coordinates), so start from a copy:
``coordinates={**DEFAULT_COORDINATES, "contempt": (-0.6, 0.3)}``.

References
----------
.. [1] J. A. Russell, "A circumplex model of affect", Journal of
   Personality and Social Psychology 39(6), 1161-1178, 1980.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["DEFAULT_COORDINATES", "canonical_emotion", "emotion_coordinates"]

_ANGLES = {
    "happiness": 8.0,
    "excitement": 49.0,
    "surprise": 70.0,
    "anger": 99.0,
    "fear": 117.0,
    "frustration": 141.0,
    "disgust": 135.0,
    "sadness": 208.0,
    "boredom": 242.0,
    "calm": 316.0,
}

DEFAULT_COORDINATES: dict[str, tuple[float, float]] = {
    name: (
        round(math.cos(math.radians(a)), 4),
        round(math.sin(math.radians(a)), 4),
    )
    for name, a in _ANGLES.items()
}
DEFAULT_COORDINATES["neutral"] = (0.0, 0.0)
"""(valence, arousal) of the canonical emotions after Russell (1980)."""

_ALIASES = {
    "angry": "anger",
    "anger": "anger",
    "happy": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "fearful": "fear",
    "afraid": "fear",
    "surprised": "surprise",
    "bored": "boredom",
    "disgusted": "disgust",
    "relaxed": "calm",
    "excited": "excitement",
    "frustrated": "frustration",
}


def canonical_emotion(label):
    """Return the canonical, lower-case name of an emotion label.

    Common surface forms (``"Angry"``, ``"happy"``, ``"sad"``,
    ``"fearful"``, ...) map to the canonical category names of sertl
    (``"anger"``, ``"happiness"``, ``"sadness"``, ``"fear"``, ...); any other
    label is returned stripped and lower-cased.

    Parameters
    ----------
    label : object
        A class label.

    Returns
    -------
    name : str
        The canonical name.

    Examples
    --------
    >>> from sertl_relational import canonical_emotion
    >>> canonical_emotion("Angry"), canonical_emotion("calm")
    ('anger', 'calm')
    """
    name = str(label).strip().lower()
    return _ALIASES.get(name, name)


def emotion_coordinates(labels, coordinates=None):
    """Look up the (valence, arousal) coordinates of class labels.

    Parameters
    ----------
    labels : array-like of shape (n_labels,)
        Class labels; matched through :func:`canonical_emotion`.
    coordinates : mapping of str to (float, float), default=None
        Your own table (keys matched through :func:`canonical_emotion`);
        ``None`` means :data:`DEFAULT_COORDINATES` (Russell, 1980).

    Returns
    -------
    coords : ndarray of shape (n_labels, 2)
        Valence and arousal of each label; ``NaN`` where the table has no
        entry for a label.

    Examples
    --------
    >>> from sertl_relational import emotion_coordinates
    >>> emotion_coordinates(["neutral", "unknown"]).tolist()
    [[0.0, 0.0], [nan, nan]]
    """
    table = _check_coordinates(coordinates)
    out = np.full((len(labels), 2), np.nan)
    for i, lab in enumerate(labels):
        key = canonical_emotion(lab)
        if key in table:
            out[i] = table[key]
    return out


def _check_coordinates(coordinates):
    if coordinates is None:
        return DEFAULT_COORDINATES
    if not isinstance(coordinates, Mapping):
        raise TypeError(
            "coordinates must be a mapping {emotion: (valence, arousal)}, got "
            f"{type(coordinates).__name__}. Pass e.g. "
            "coordinates={'calm': (0.7, -0.7), 'anger': (-0.2, 1.0)}."
        )
    table = {}
    for key, value in coordinates.items():
        v = np.asarray(value, dtype=float)
        if v.shape != (2,) or not np.all(np.isfinite(v)):
            raise ValueError(
                f"coordinates[{key!r}] = {value!r} is not a pair of finite "
                "numbers: give (valence, arousal), e.g. (0.7, -0.7)."
            )
        table[canonical_emotion(key)] = (float(v[0]), float(v[1]))
    return table
