"""Arousal/valence coordinates of emotion categories (the relational prior).

The default table is sertl's one emotion table, :mod:`sertl_core.emotions`
(also sertl-speech's ``EMOTION_COORDINATES``): every canonical category is
a direction in the plane of valence (pleasure, x) and arousal (activation,
y), at the angle of its affect word in Russell's (1980) circumplex;
coordinates are ``(valence, arousal)`` everywhere in sertl. Neutral is the
centre, and disgust (not among Russell's terms) is placed between "annoyed"
and "distressed": both are assumptions of that table. Pass your own
``coordinates={...}`` to any sertl-relational estimator to change them or
to add categories. A table you pass replaces this one (categories it lacks
have no coordinates), so start from a copy:
``coordinates={**DEFAULT_COORDINATES, "contempt": (-0.6, 0.3)}``.

References
----------
.. [1] J. A. Russell, "A circumplex model of affect", Journal of
   Personality and Social Psychology 39(6), 1161-1178, 1980.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sertl_core.emotions import EMOTION_COORDINATES, label_key
from sertl_core.emotions import canonical_emotion as _known_emotion

__all__ = ["DEFAULT_COORDINATES", "canonical_emotion", "emotion_coordinates"]

DEFAULT_COORDINATES: dict[str, tuple[float, float]] = EMOTION_COORDINATES
"""(valence, arousal) of the canonical emotions after Russell (1980)."""


def canonical_emotion(label):
    """Return the canonical, lower-case name of an emotion label.

    Common surface forms (``"Angry"``, ``"happy"``, ``"neu"``,
    ``"fearful"``, ``"ps"`` ...) map to the canonical category names of
    sertl (``"anger"``, ``"happiness"``, ``"neutral"``, ``"fear"``,
    ``"surprise"`` ...), with the aliases of :mod:`sertl_core.emotions`
    that sertl-speech's readers use; any other label is returned as
    :func:`sertl_core.emotions.label_key` gives it, stripped and
    lower-cased (it keys a table of your own).

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
    >>> canonical_emotion("Angry"), canonical_emotion("NEU"), canonical_emotion("Calm")
    ('anger', 'neutral', 'calm')
    """
    return _known_emotion(label) or label_key(label)


def emotion_coordinates(labels, coordinates=None):
    """Look up the (valence, arousal) coordinates of class labels.

    Parameters
    ----------
    labels : array-like of shape (n_labels,) or DataFrame
        Class labels, matched through :func:`canonical_emotion`, or a
        corpus table (its ``emotion`` column), as
        :func:`sertl_speech.emotion_coordinates` takes it.
    coordinates : mapping of str to (float, float), default=None
        Your own table (keys matched through :func:`canonical_emotion`);
        ``None`` means :data:`DEFAULT_COORDINATES` (Russell, 1980).

    Returns
    -------
    coords : ndarray of shape (n_labels, 2)
        Valence and arousal of each label; ``NaN`` where the table has no
        entry for a label. ``NaN`` is also the unlabelled marker of
        regression targets, so to derive arousal or valence targets from
        emotion labels use :func:`sertl_speech.emotion_coordinates`, which
        refuses an unknown label instead.

    Examples
    --------
    >>> from sertl_relational import emotion_coordinates
    >>> emotion_coordinates(["neutral", "unknown"]).tolist()
    [[0.0, 0.0], [nan, nan]]
    """
    table = _check_coordinates(coordinates)
    labels = _label_column(labels)
    out = np.full((len(labels), 2), np.nan)
    for i, lab in enumerate(labels):
        key = canonical_emotion(lab)
        if key in table:
            out[i] = table[key]
    return out


def _label_column(labels):
    """``labels`` as a 1-D object array; a table gives its ``emotion`` column.

    A DataFrame was iterated by its column names, so every row came back
    NaN, silently (NaN being also the unlabelled marker of regression
    targets).
    """
    if hasattr(labels, "columns"):
        if "emotion" not in labels.columns:
            raise ValueError(
                "emotion_coordinates got a table without an 'emotion' column "
                f"(columns: {list(labels.columns)}): pass the labels themselves, "
                "e.g. emotion_coordinates(table['label'])."
            )
        labels = labels["emotion"]
    arr = np.asarray(labels, dtype=object)
    if arr.ndim != 1:
        raise ValueError(
            f"emotion_coordinates takes one label per row (1-D), got shape "
            f"{arr.shape}: pass one column of labels."
        )
    return arr


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
        try:
            v = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            v = np.full(1, np.nan)  # e.g. a name, or a nested sequence
        if v.shape != (2,) or not np.all(np.isfinite(v)):
            raise ValueError(
                f"coordinates[{key!r}] = {value!r} is not a pair of finite "
                "numbers: give (valence, arousal), e.g. (0.7, -0.7)."
            )
        table[canonical_emotion(key)] = (float(v[0]), float(v[1]))
    return table
