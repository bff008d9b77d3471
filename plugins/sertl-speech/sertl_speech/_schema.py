"""One emotion vocabulary across corpora, with arousal/valence coordinates.

Every corpus reader maps its own codes (EmoDB's ``W``, RAVDESS's ``05``,
IEMOCAP's ``ang`` ...) to the canonical category names of
:data:`EMOTIONS`. Each category has a ``(valence, arousal)`` position in
Russell's circumplex of affect (:mod:`sertl_core.emotions`, the table every
sertl plugin uses), from which the binary arousal and valence tasks are
derived.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np

from sertl_core import external_stacklevel

# One table for every plugin (sertl-relational places classes with it):
# the vocabulary, its aliases and the (valence, arousal) coordinates.
from sertl_core.emotions import (
    EMOTION_COORDINATES,
    EMOTIONS,
    canonical_emotion,
    label_key,
)

__all__ = [
    "EMOTIONS",
    "EMOTION_COORDINATES",
    "canonical_emotion",
    "emotion_coordinates",
    "map_emotions",
    "select_emotions",
    "shared_classes",
    "to_binary_arousal",
    "to_binary_valence",
]


def _emotion_array(emotions, what):
    if hasattr(emotions, "columns") and "emotion" in getattr(emotions, "columns", ()):
        emotions = emotions["emotion"]
    arr = np.asarray(emotions, dtype=object).ravel()
    unknown = sorted({str(e) for e in arr if e not in EMOTION_COORDINATES})
    if unknown:
        raise ValueError(
            f"{what}: unknown emotion(s) {unknown}. Use canonical names "
            f"{list(EMOTIONS)} (map corpus labels with select_emotions or "
            "canonical_emotion first)."
        )
    return arr


def emotion_coordinates(emotions):
    """Return the ``(valence, arousal)`` coordinates of canonical emotions.

    Parameters
    ----------
    emotions : array-like of str or DataFrame
        Canonical emotion names, or a corpus table (its ``emotion`` column).

    Returns
    -------
    coords : ndarray of shape (n_samples, 2)
        Valence in column 0, arousal in column 1, as in
        :data:`EMOTION_COORDINATES` (and sertl-relational's table).

    Examples
    --------
    >>> from sertl_speech import emotion_coordinates
    >>> emotion_coordinates(["anger", "neutral", "sadness"]).round(2).tolist()
    [[-0.16, 0.99], [0.0, 0.0], [-0.88, -0.47]]
    """
    arr = _emotion_array(emotions, "emotion_coordinates")
    return np.array([EMOTION_COORDINATES[e] for e in arr], dtype=float).reshape(-1, 2)


def _binary(emotions, axis, labels, neutral, what):
    arr = _emotion_array(emotions, what)
    if neutral not in labels:
        raise ValueError(
            f"{what}: neutral={neutral!r} is not valid; use one of {list(labels)}."
        )
    out = np.empty(arr.shape[0], dtype=object)
    for i, e in enumerate(arr):
        value = EMOTION_COORDINATES[e][axis]
        if e == "neutral":
            out[i] = neutral
        else:
            out[i] = labels[0] if value > 0 else labels[1]
    return out.astype(str)


def to_binary_arousal(emotions, *, neutral="low"):
    """Map canonical emotions to the binary arousal task (``"high"``/``"low"``).

    An emotion is high-arousal when its arousal coordinate in
    :data:`EMOTION_COORDINATES` is positive (anger, excitement, fear,
    frustration, disgust, happiness, surprise), low-arousal otherwise
    (boredom, calm, sadness). ``neutral`` sits at the origin and goes to the
    class given by ``neutral``; ``"low"`` is the usual convention of
    cross-corpus studies (Schuller et al., 2010).

    Parameters
    ----------
    emotions : array-like of str or DataFrame
        Canonical emotion names, or a corpus table (its ``emotion`` column).
    neutral : {"low", "high"}, default="low"
        Class of ``neutral``.

    Returns
    -------
    labels : ndarray of str of shape (n_samples,)
        ``"high"`` or ``"low"``.

    References
    ----------
    .. [1] J. A. Russell, "A circumplex model of affect", Journal of
       Personality and Social Psychology 39(6), 1980.
    .. [2] B. Schuller et al., "Cross-corpus acoustic emotion recognition:
       variances and strategies", IEEE Transactions on Affective Computing
       1(2), 2010.

    Examples
    --------
    >>> from sertl_speech import to_binary_arousal
    >>> to_binary_arousal(["anger", "sadness", "neutral"]).tolist()
    ['high', 'low', 'low']
    """
    return _binary(emotions, 1, ("high", "low"), neutral, "to_binary_arousal")


def to_binary_valence(emotions, *, neutral="positive"):
    """Map canonical emotions to the binary valence task (positive/negative).

    An emotion is positive when its valence coordinate in
    :data:`EMOTION_COORDINATES` is positive (calm, excitement, happiness,
    surprise), negative otherwise (anger, boredom, disgust, fear,
    frustration, sadness). ``neutral`` goes to the class given by
    ``neutral``; ``"positive"`` follows Schuller et al. (2010).

    Parameters
    ----------
    emotions : array-like of str or DataFrame
        Canonical emotion names, or a corpus table (its ``emotion`` column).
    neutral : {"positive", "negative"}, default="positive"
        Class of ``neutral``.

    Returns
    -------
    labels : ndarray of str of shape (n_samples,)
        ``"positive"`` or ``"negative"``.

    References
    ----------
    .. [1] J. A. Russell, "A circumplex model of affect", Journal of
       Personality and Social Psychology 39(6), 1980.
    .. [2] B. Schuller et al., "Cross-corpus acoustic emotion recognition:
       variances and strategies", IEEE Transactions on Affective Computing
       1(2), 2010.

    Examples
    --------
    >>> from sertl_speech import to_binary_valence
    >>> to_binary_valence(["happiness", "anger", "neutral"]).tolist()
    ['positive', 'negative', 'positive']
    """
    return _binary(emotions, 0, ("positive", "negative"), neutral, "to_binary_valence")


def _class_set(item):
    if hasattr(item, "columns"):
        if "emotion" not in item.columns:
            raise ValueError(
                "shared_classes: a table needs an 'emotion' column (as returned "
                "by load_corpus)."
            )
        return set(item["emotion"].dropna().astype(str))
    if isinstance(item, str):
        from ._corpora import get_reader_class

        return set(get_reader_class(item).emotions)
    if isinstance(item, Iterable):
        return {str(e) for e in item}
    raise TypeError(
        "shared_classes takes corpus tables (DataFrames), corpus reader names "
        f"or collections of emotion names; got {type(item).__name__}."
    )


def shared_classes(*corpora):
    """Return the emotion classes present in every given corpus.

    Parameters
    ----------
    *corpora : DataFrame, str or iterable of str
        Corpus tables (from :func:`load_corpus`; their ``emotion`` column),
        registry names of corpus readers (``"emodb"``, ``"ravdess"`` ...; the
        classes the corpus defines) or plain collections of emotion names.

    Returns
    -------
    classes : list of str
        Sorted canonical names common to all inputs.

    Examples
    --------
    >>> from sertl_speech import shared_classes
    >>> shared_classes("emodb", "ravdess")
    ['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness']
    >>> shared_classes("emodb", "ravdess", "urdu", "turev_db")
    ['anger', 'happiness', 'sadness']
    """
    if not corpora:
        raise ValueError(
            "shared_classes needs at least one corpus: pass reader names, "
            "corpus tables or emotion lists, e.g. shared_classes('emodb', "
            "'ravdess')."
        )
    sets = [_class_set(c) for c in corpora]
    return sorted(set.intersection(*sets))


def select_emotions(table, classes=None, *, mapping=None):
    """Map and filter a corpus table to a class set.

    ``mapping`` is applied first (e.g. ``{"excitement": "happiness"}``, the
    usual IEMOCAP merge, or ``{"calm": "neutral"}``), then only the rows
    whose (mapped) emotion is in ``classes`` are kept. ``emotion_orig`` keeps
    the corpus's own code. The input table is not modified.

    A key is an emotion of the table, or a label as the corpus writes it
    (``emotion_orig``: a ``csv`` corpus's labels, a ``folders`` corpus's
    folder names), in any case: ``{"Wut": "anger"}`` renames the rows the
    ``csv`` reader read as ``wut``, whether the CSV says ``Wut`` or
    ``wut``, and ``{"Anger": ...}`` every ``anger`` row; a key that names a
    label (``"angry"``) renames the rows written so, not the other rows of
    its emotion (the rule of :func:`map_emotions`, which ``sertl run``'s
    ``[labels] mapping`` applies too). A key that matches no row
    renames nothing and, unless it is an emotion this table lacks (one
    mapping for several corpora), is named in a :class:`CorpusWarning` (a
    typo, most often).

    Parameters
    ----------
    table : DataFrame
        A corpus table with an ``emotion`` column (see :func:`load_corpus`).
    classes : iterable of str, default=None
        Classes to keep; all (mapped) classes when None.
    mapping : dict of str to str, default=None
        Emotion renames applied before filtering.

    Returns
    -------
    table : DataFrame
        A new table with a fresh ``RangeIndex``.

    Raises
    ------
    ValueError
        When a name in ``classes`` or a mapping target is not a canonical
        emotion and not present in the table (most often a typo), or when no
        row is left.

    Examples
    --------
    >>> from sertl_speech import load_sample, select_emotions
    >>> table = load_sample("emodb")
    >>> sub = select_emotions(table, ["anger", "sadness"])
    >>> sorted(sub["emotion"].unique())
    ['anger', 'sadness']
    >>> merged = select_emotions(table, mapping={"sadness": "neutral"})
    >>> "sadness" in set(merged["emotion"])
    False

    A user's labels, as the ``csv`` reader keeps those it does not know:

    >>> import pandas as pd
    >>> mine = pd.DataFrame({"emotion": ["wut", "wut", "neutral"],
    ...                      "emotion_orig": ["Wut", "wut", "Neutral"]})
    >>> select_emotions(mine, mapping={"Wut": "anger"})["emotion"].tolist()
    ['anger', 'anger', 'neutral']
    """
    _check_table(table, "select_emotions")
    out = table.copy()
    present = set(out["emotion"].astype(str))
    if mapping is not None:
        _check_mapping(mapping, "select_emotions")
        bad = sorted(
            str(v)
            for v in mapping.values()
            if v not in EMOTION_COORDINATES and v not in present
        )
        if bad:
            raise ValueError(
                f"select_emotions: mapping targets {bad} are not canonical emotions "
                f"{list(EMOTIONS)}."
            )
        out["emotion"], unmatched = _mapped(out, mapping)
        if unmatched:
            _warn_unmatched(table, unmatched)
        present = set(out["emotion"].astype(str))
    if classes is not None:
        classes = [classes] if isinstance(classes, str) else list(classes)
        bad = sorted(
            str(c) for c in classes if c not in EMOTION_COORDINATES and c not in present
        )
        if bad:
            raise ValueError(
                f"select_emotions: unknown class(es) {bad}; canonical emotions are "
                f"{list(EMOTIONS)} and this table has {sorted(present)}."
            )
        out = out[out["emotion"].isin(classes)]
        if out.empty:
            raise ValueError(
                f"select_emotions: no row has an emotion in {classes}; this table "
                f"has {sorted(present)}."
            )
    return out.reset_index(drop=True)


def map_emotions(table, mapping):
    """Return a corpus table's emotions renamed by ``mapping``.

    The rule of :func:`select_emotions` and of ``sertl run``'s ``[labels]
    mapping``. A key that is an emotion of the table renames that emotion.
    Any other key is compared, ignoring case and surrounding blanks, with
    each row's emotion and its label as the corpus writes it
    (``emotion_orig``: a ``csv`` corpus's labels, a ``folders`` corpus's
    folder names) and renames the rows it equals: ``"Anger"`` renames every
    ``anger`` row, as ``"anger"`` does; ``"Wut"`` the rows labelled ``Wut``
    or ``wut``; ``"angry"`` (a folder the ``folders`` reader reads as
    ``anger``) the rows of that folder only, not the other ``anger`` rows.
    Each row is renamed from its emotion as read, so mappings do not chain.
    A key that matches no row renames nothing, silently
    (:func:`select_emotions` names such keys in a warning).

    Parameters
    ----------
    table : DataFrame
        A corpus table with an ``emotion`` column (see :func:`load_corpus`);
        it is not changed.
    mapping : dict of str to str
        Keys (emotions, or labels as written) and the emotions they become.

    Returns
    -------
    emotion : Series
        The renamed ``emotion`` column, with the table's index.

    Raises
    ------
    ValueError
        When ``table`` has no ``emotion`` column.
    TypeError
        When ``mapping`` is not a dict.

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_speech import map_emotions
    >>> table = pd.DataFrame({"emotion": ["anger", "anger", "calm"],
    ...                       "emotion_orig": ["angry", "Anger", "calm"]})
    >>> map_emotions(table, {"Anger": "frustration"}).tolist()
    ['frustration', 'frustration', 'calm']
    >>> map_emotions(table, {"angry": "frustration"}).tolist()
    ['frustration', 'anger', 'calm']
    """
    _check_table(table, "map_emotions")
    _check_mapping(mapping, "map_emotions")
    return _mapped(table, mapping)[0]


def _check_table(table, who):
    if not hasattr(table, "columns") or "emotion" not in table.columns:
        raise ValueError(
            f"{who} needs a corpus table with an 'emotion' column "
            "(as returned by load_corpus)."
        )


def _check_mapping(mapping, who):
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{who}: mapping must be a dict of emotion -> "
            f"emotion, got {type(mapping).__name__} {mapping!r}; e.g. "
            "mapping={'excitement': 'happiness'}."
        )


def _mapped(table, mapping):
    """Return ``table``'s renamed emotions and the keys that matched no row.

    See :func:`map_emotions`. A key that matches no row is returned unless
    it names an emotion: one mapping serves several corpora (IEMOCAP's
    ``{"excitement": "happiness"}`` applied to EmoDB too), so an emotion a
    table lacks is no misspelling.
    """
    emotion = table["emotion"]
    present = set(emotion.astype(str))
    out = emotion.map(lambda e: mapping.get(e, e))
    written = [emotion.map(label_key)]
    if "emotion_orig" in table.columns:
        written.append(table["emotion_orig"].map(label_key))
    unmatched = []
    for key, value in mapping.items():
        if key in present:
            continue
        key_text = label_key(key)
        rows = np.logical_or.reduce([labels == key_text for labels in written])
        if rows.any():
            out = out.mask(rows, value)
        elif canonical_emotion(key) is None:
            unmatched.append(key)
    return out, unmatched


def _warn_unmatched(table, unmatched):
    """Name in one :class:`CorpusWarning` the mapping keys that matched no row."""
    from ._corpora import CorpusWarning

    labels = set(table["emotion"].astype(str))
    if "emotion_orig" in table.columns:
        labels |= set(table["emotion_orig"].astype(str))
    warnings.warn(
        CorpusWarning(
            f"select_emotions: mapping key(s) {unmatched} match no emotion "
            f"and no label of this table, so they rename nothing; its "
            f"emotions and labels are {sorted(labels)}. Check the spelling."
        ),
        stacklevel=external_stacklevel(),
    )
