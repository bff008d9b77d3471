"""Readers for emotional speech corpora in their official layouts.

Every reader derives labels, speakers and genders from the official file
names and folders of its corpus (never from a side table of labels), so it
reads a user's own download as it comes. Each returns one tidy table with the
columns of :data:`COLUMNS`.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import inspect
import io
import json
import math
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pandas as pd
import soundfile as sf

from sertl_core import UNLABELED, SertlWarning, external_stacklevel
from sertl_core.emotions import label_key

from ._audio import AUDIO_SUFFIXES, _open_error, _os_error_message, soundfile_path
from ._schema import EMOTION_COORDINATES, EMOTIONS, canonical_emotion

__all__ = [
    "COLUMNS",
    "CREMAD",
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
    "TurEVDB",
    "get_reader_class",
    "load_corpus",
    "load_sample",
    "sample_path",
]

COLUMNS = (
    "file",
    "corpus",
    "speaker",
    "gender",
    "language",
    "emotion",
    "emotion_orig",
    "duration",
)
"""Columns of every corpus table, in order."""

_CORPUS_SUFFIXES = (".wav", ".flac")
"""Extensions of the files the folder-walking readers list (every reader but csv).

The ``csv`` reader accepts every extension of :data:`AUDIO_SUFFIXES`: its
rows name their files.
"""
_MAX_LISTED = 20


class CorpusWarning(SertlWarning):
    """A corpus has files that were skipped, or labels outside the schema.

    The warning carries what it lists as data, so that a program need not
    parse its text: the attributes ``skipped`` and ``unknown_labels``, both
    empty lists for the warnings that list neither.

    Parameters
    ----------
    *args : object
        The message, as for any warning.
    skipped : list of dict, default=None
        The files skipped, as ``{"file": ..., "reason": ...}`` dictionaries
        (the table a reader returns holds the same list in
        ``table.attrs["skipped"]``); kept as the list ``skipped``.
    unknown_labels : list of str, default=None
        The labels of a user's corpus (``csv``, ``folders``) that are no
        canonical emotion, as written; kept as the list ``unknown_labels``.

    Examples
    --------
    >>> import warnings
    >>> from sertl_speech import CorpusWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", CorpusWarning)  # not recommended
    >>> CorpusWarning("text").skipped
    []
    >>> CorpusWarning("text", unknown_labels=["relaxed"]).unknown_labels
    ['relaxed']
    """

    def __init__(self, *args, skipped=None, unknown_labels=None):
        super().__init__(*args)
        self.skipped = list(skipped or [])
        self.unknown_labels = list(unknown_labels or [])


def _warn_skipped(text, skipped):
    """Emit ``text`` as a :class:`CorpusWarning` carrying ``skipped`` as data."""
    warnings.warn(
        CorpusWarning(text, skipped=skipped), stacklevel=external_stacklevel()
    )


def _with_skipped(table, skipped):
    """Attach the files a reader skipped to its table (``attrs["skipped"]``)."""
    table.attrs["skipped"] = [dict(entry) for entry in skipped]
    return table


class _BadName(ValueError):
    """A file name that breaks the corpus's naming rule."""


def _unknown_code(what, code, corpus, codes):
    """Return the :class:`_BadName` of a well-formed name with an unknown code."""
    return _BadName(
        f"unknown {what} {code} (the {corpus} {what} codes are {', '.join(codes)})"
    )


def _check_root(root, reader):
    if root is None:
        raise TypeError(f"{reader}: give the corpus root folder (root=...).")
    path = Path(root).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"{reader}: corpus root {str(path)!r} does not exist. Pass the folder "
            f"of your download; expected layout: {type_layout(reader)}"
        )
    return path.resolve()


def type_layout(reader):
    cls = _BUILTIN.get(reader)
    return cls.layout if cls is not None else "see the reader's documentation"


def _audio_files(folder: Path, suffixes=_CORPUS_SUFFIXES):
    """All audio files (by ``suffixes``) under ``folder``; hidden files skipped.

    The official corpora hold .wav or .flac (``_CORPUS_SUFFIXES``); the
    ``folders`` reader of a user's own corpus takes every format
    sertl-speech reads (:data:`AUDIO_SUFFIXES`). ``__MACOSX`` folders are
    skipped too.

    Symbolic links to folders are followed (corpora are often assembled from
    links to shared storage); a folder reached twice through links is read
    once, so a link cycle cannot loop: through the path met first by a walk
    that visits each folder's subfolders in sorted order, so that which path
    (and, for the ``folders`` reader, which label folder) lists its files
    does not depend on the arbitrary order in which the file system lists a
    folder. A link named like audio whose target is missing (storage not
    mounted, a moved file) is listed too, for the reader to report
    (:func:`_split_unreadable`) rather than lose silently.
    """
    out = []
    seen = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        # in place and sorted: the walk descends in this order
        dirnames[:] = sorted(
            d for d in dirnames if not (d.startswith(".") or d == "__MACOSX")
        )
        for name in filenames:
            p = Path(dirpath) / name
            if p.suffix.lower() not in suffixes or name.startswith("."):
                continue
            if p.is_file() or p.is_symlink():
                out.append(p)
    return sorted(out)


def _audio_folder(root, name):
    """Return ``root/name`` (the official audio folder) when it holds audio.

    Else ``root`` itself, so that audio kept beside an empty or non-audio
    official folder (``wav/`` left with a README, the files converted into
    ``flac/``) is found rather than reported missing.
    """
    folder = root / name
    if folder.is_dir() and _audio_files(folder):
        return folder
    return root


def _split_unreadable(files):
    """Split ``files`` into the regular files and the skipped entries of the rest.

    The rest are links whose target is missing (or a link loop), and any
    other entry that is no regular file. Returns ``(files, skipped)``,
    ``skipped`` a list of ``{"file": ..., "reason": ...}`` as the readers
    report skipped files.
    """
    kept, skipped = [], []
    for path in files:
        if path.is_file():
            kept.append(path)
            continue
        if path.is_symlink() and not path.exists():
            reason = _missing_link_reason(path)
        else:
            reason = "not a regular file"
        skipped.append({"file": str(path), "reason": reason})
    return kept, skipped


def _missing_link_reason(path):
    """Return the skipped-file reason of a link whose target does not exist."""
    try:
        target = os.readlink(path)
    except OSError:  # pragma: no cover - the link went away meanwhile
        target = "?"
    return f"link target missing: {target}"


def _warn_unreadable(name, skipped, root):
    """Report the links and special files :func:`_split_unreadable` set apart."""
    if skipped:
        listed = [f"{_relative(e['file'], root)}: {e['reason']}" for e in skipped]
        _warn_skipped(
            f"{name}: skipped {len(skipped)} audio file(s) under {str(root)!r} "
            "that cannot be read: links whose target is missing (storage not "
            "mounted, or the files moved) or entries that are no regular file. "
            f"Mount the storage or fix the links:{_list(listed)}",
            skipped,
        )


def _relative(file, root):
    """``file`` relative to ``root`` when it is below it, else as given."""
    try:
        return str(Path(file).relative_to(root))
    except ValueError:
        return str(file)


def _list(items):
    items = list(items)
    shown = "\n  ".join(items[:_MAX_LISTED])
    more = (
        f"\n  ... and {len(items) - _MAX_LISTED} more"
        if len(items) > _MAX_LISTED
        else ""
    )
    return f"\n  {shown}{more}"


def _duration(path: Path) -> float:
    info = sf.info(soundfile_path(path))
    return float(info.frames) / float(info.samplerate)


class CorpusReader:
    """Base class of corpus readers.

    A reader finds the audio files (``.wav`` or ``.flac``, any sample rate)
    of one corpus under a root folder and derives speaker, gender and
    emotion from the official naming rules. :meth:`read` returns a table
    with the columns of :data:`COLUMNS`:

    ``file`` (absolute path), ``corpus``, ``speaker``, ``gender``
    (``"female"``, ``"male"`` or ``"unknown"``), ``language`` (ISO 639-1),
    ``emotion`` (canonical name, see :data:`sertl_speech.EMOTIONS`),
    ``emotion_orig`` (the corpus's own code) and ``duration`` (seconds, read
    from the file header without decoding).

    Files whose names break the naming rule are skipped and listed in one
    :class:`CorpusWarning`; they are never guessed. Hidden files (e.g. the
    ``._*`` files of macOS archives) and ``__MACOSX`` folders are ignored;
    symbolic links to folders are followed.
    Files whose header cannot be read keep a ``NaN`` duration and are listed
    in a warning, so that feature extraction reports them per file.

    Subclasses set the class attributes ``registry_name``, ``corpus``,
    ``description``, ``language``, ``emotions`` (canonical classes of the
    corpus) and ``layout`` (the expected layout, shown in errors), and
    implement ``_parse(path, root)`` returning ``(speaker, gender,
    emotion_orig, emotion)``, raising ``_BadName`` for a broken name, or
    returning None for a file deliberately left out (documented per reader).
    A reader whose naming rule makes each file stem a unique utterance id
    sets ``unique_stems = True``: a stem found in several files (two copies
    of the corpus under the root, or a ``.wav`` beside its ``.flac``) is then
    reported in a :class:`CorpusWarning`.

    Examples
    --------
    >>> from sertl_speech import EmoDB, sample_path
    >>> table = EmoDB().read(sample_path("emodb"))
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['file', 'corpus', 'speaker', 'gender', 'language', 'emotion',
     'emotion_orig', 'duration']
    """

    registry_name: ClassVar[str | None] = None
    corpus: ClassVar[str] = ""
    description: ClassVar[str] = ""
    language: ClassVar[str] = "unknown"
    emotions: ClassVar[tuple[str, ...]] = ()
    layout: ClassVar[str] = ""
    #: True when the naming rule makes every file stem a unique utterance id,
    #: so a stem found twice means two copies of the same recording.
    unique_stems: ClassVar[bool] = False

    def _find(self, root: Path) -> list[Path]:
        return _audio_files(root)

    def _parse(self, path: Path, root: Path):  # pragma: no cover - abstract
        raise NotImplementedError(
            f"{type(self).__name__} must implement _parse(path, root)."
        )

    def read(self, root, *, emotions=None):
        """Read the corpus under ``root`` into a table.

        Parameters
        ----------
        root : str or path-like
            Folder of the corpus download (see the reader's ``layout``).
        emotions : iterable of str, default=None
            Keep only these canonical emotions; all when None.

        Returns
        -------
        table : pandas.DataFrame
            One row per utterance, columns :data:`COLUMNS`, sorted by file.
            ``table.attrs["skipped"]`` lists the files skipped because their
            names break the naming rule, as ``{"file": absolute path,
            "reason": why}`` dictionaries (also carried by the
            :class:`CorpusWarning` that reports them).

        Raises
        ------
        FileNotFoundError
            When ``root`` does not exist (``NotADirectoryError`` when it is
            a file).
        ValueError
            When no audio file (or no validly named one) is found, or
            ``emotions`` names an unknown class.
        """
        name = self.registry_name or type(self).__name__
        root = _check_root(root, name)
        if not root.is_dir():
            raise NotADirectoryError(
                f"{name}: corpus root {str(root)!r} is a file, not a folder. Pass "
                f"the folder of your download; expected layout: {self.layout}"
            )
        keep = _check_emotions(emotions, name)
        files, unreadable = _split_unreadable(self._find(root))
        _warn_unreadable(name, unreadable, root)
        if not files:
            raise ValueError(
                f"{name}: no .wav or .flac file found under {str(root)!r}"
                f"{_but_unreadable(unreadable)}. Expected layout: {self.layout}"
            )
        corpus, language = self.corpus, self.language
        rows, bad, left_out = [], [], []
        skipped = list(unreadable)
        for path in files:
            try:
                parsed = self._parse(path, root)
            except _BadName as exc:
                bad.append(f"{path.relative_to(root)}: {exc}")
                skipped.append(
                    {"file": str(path), "reason": f"breaks the naming rule: {exc}"}
                )
                continue
            if parsed is None:  # follows the rule, left out by a filter
                left_out.append(path)
                continue
            speaker, gender, emotion_orig, emotion = parsed
            rows.append(
                {
                    "file": str(path),
                    "corpus": corpus,
                    "speaker": str(speaker),
                    "gender": gender,
                    "language": language,
                    "emotion": emotion,
                    "emotion_orig": str(emotion_orig),
                }
            )
        if bad:
            _warn_skipped(
                f"{name}: skipped {len(bad)} file(s) whose names break the naming "
                f"rule ({self.layout}):{_list(bad)}",
                skipped,
            )
        if self.unique_stems:
            _warn_duplicate_stems(name, [r["file"] for r in rows], root)
        if not rows and left_out:
            why = self._left_out_reason(left_out)
            also = (
                f" ({len(bad)} more break the naming rule, listed in the warning)"
                if bad
                else ""
            )
            raise ValueError(
                f"{name}: the {len(left_out)} audio files under {str(root)!r} that "
                f"follow the naming rule are all left out{also}: {why}"
            )
        if not rows:
            raise ValueError(
                f"{name}: none of the {len(files)} audio files under {str(root)!r} "
                f"follows the naming rule. Expected layout: {self.layout}"
            )
        table = _to_table(name, rows, keep, f"under {str(root)!r}")
        return _with_skipped(table, skipped)

    def _left_out_reason(self, files):
        """Say why :meth:`_parse` left out ``files`` (it returned None) and what to do.

        Only called when no file is kept, so that a reader's filter is not
        reported as a naming problem.
        """
        return "the reader's options keep none of them."

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _but_unreadable(unreadable):
    """Return the clause of a "no file found" error when only unreadable ones were."""
    if not unreadable:
        return ""
    return (
        f" that can be read ({len(unreadable)} cannot: listed in the warning "
        "before this error)"
    )


def _warn_duplicate_stems(name, files, root):
    """Warn when one utterance id (file stem) occurs in several files."""
    by_stem: dict[str, list[str]] = {}
    for f in files:
        by_stem.setdefault(Path(f).stem, []).append(f)
    dups = {k: v for k, v in by_stem.items() if len(v) > 1}
    if dups:
        shown = [f"{k}: {', '.join(v)}" for k, v in sorted(dups.items())]
        warnings.warn(
            f"{name}: {len(dups)} utterance(s) occur in more than one file under "
            f"{str(root)!r}, so the same recording would be counted (and may be "
            "split across train and test) twice. The root probably holds two "
            "copies of the corpus, or both a .wav and a .flac version: pass the "
            f"folder of one copy.{_list(shown)}",
            CorpusWarning,
            stacklevel=external_stacklevel(),
        )


def _to_table(name, rows, keep, where):
    """Return the corpus table of ``rows``, the last step of every reader.

    Keeps the ``keep`` emotions (all when None), sorts by file, reads the
    durations and orders the columns as :data:`COLUMNS`. ``where`` (e.g.
    ``"under '/data/EmoDB'"``) ends the error raised when no row is kept.
    """
    table = pd.DataFrame(rows)
    if keep is not None:
        table = table[table["emotion"].isin(keep)]
        if table.empty:
            raise ValueError(f"{name}: no file with emotion in {sorted(keep)} {where}.")
    table = table.sort_values("file", kind="stable").reset_index(drop=True)
    table["duration"] = _durations(table["file"], name)
    return table.loc[:, list(COLUMNS)]


def _durations(files, name):
    out, unreadable = [], []
    for f in files:
        try:
            out.append(_duration(Path(f)))
        except Exception as exc:  # any unreadable header: reported, not fatal
            out.append(math.nan)
            unreadable.append(f"{f}: {_unopened_reason(f, exc)}")
    if unreadable:
        warnings.warn(
            f"{name}: {len(unreadable)} audio file(s) could not be opened; their "
            "duration is NaN and feature extraction will report them:"
            f"{_list(unreadable)}",
            CorpusWarning,
            stacklevel=external_stacklevel(),
        )
    return out


def _unopened_reason(file, exc):
    """Say why ``file``'s header could not be read (``exc``: what libsndfile raised).

    A file of 0 bytes is said to be empty, as feature extraction reports it
    (libsndfile calls it an unrecognised format); one this user may not read
    is said to be so, with the fix (libsndfile calls it a "System error").
    """
    denied = _open_error(file)
    if denied is not None:
        return _os_error_message(os.fspath(file), denied)
    try:
        empty = os.path.getsize(file) == 0
    except OSError:
        empty = False
    if empty:
        return (
            "empty: the file has 0 bytes (an interrupted copy or download?); "
            "copy it again from its source, or leave it out"
        )
    # soundfile names the file as it was given to it: bytes (soundfile_path)
    detail = str(exc).replace(repr(soundfile_path(file)), repr(os.fspath(file)))
    return f"{type(exc).__name__}: {detail}"


def _check_text_options(reader, **options):
    """Refuse a reader option that should be a string and is not (None passes)."""
    for key, value in options.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"{reader}: {key} must be a string, got {type(value).__name__} "
                f"{value!r}."
            )


def _check_emotions(emotions, name):
    if emotions is None:
        return None
    keep = [emotions] if isinstance(emotions, str) else list(emotions)
    unknown = sorted(str(e) for e in keep if e not in EMOTION_COORDINATES)
    if unknown:
        raise ValueError(
            f"{name}: unknown emotion(s) {unknown} in emotions=; use canonical "
            f"names {list(EMOTIONS)}."
        )
    return set(keep)


def _classes_of(codes):
    """Return the canonical emotions a reader's code table maps to, sorted."""
    return tuple(sorted(set(codes.values())))


# the values a gender column is read as, in lower case (English and German:
# a German corpus writes w/weiblich/Frau and m/männlich/Mann)
_FEMALE = ("f", "female", "w", "woman", "weiblich", "frau")
_MALE = ("m", "male", "man", "männlich", "mann")


def _gender(code):
    # in any case, and in either Unicode form of "ä" (a CSV saved on macOS
    # may hold it decomposed, NFD)
    c = unicodedata.normalize("NFC", str(code).strip().lower())
    if c in _FEMALE:
        return "female"
    if c in _MALE:
        return "male"
    return "unknown"


# --------------------------------------------------------------------------
# Built-in corpora
# --------------------------------------------------------------------------


class EmoDB(CorpusReader):
    """Berlin Database of Emotional Speech (EmoDB), German.

    Layout: ``ROOT/wav/03a01Fa.wav`` (``ROOT`` may also be the ``wav``
    folder itself; when ``wav`` holds no audio, the files are looked for
    anywhere under ``ROOT``, e.g. in a ``flac`` folder). The stem is
    speaker (2 digits), text (``a01``-``b10``), emotion letter and version
    letter. Emotion letters (German): W (Wut)
    anger, L (Langeweile) boredom, E (Ekel) disgust, A (Angst) fear,
    F (Freude) happiness, T (Trauer) sadness, N neutral. Speakers 03, 10,
    11, 12, 15 are male, 08, 09, 13, 14, 16 female.

    References
    ----------
    .. [1] F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier and B. Weiss,
       "A database of German emotional speech", Interspeech 2005.

    Examples
    --------
    >>> from sertl_speech import EmoDB, sample_path
    >>> table = EmoDB().read(sample_path("emodb"))
    >>> table.loc[0, ["speaker", "gender", "emotion_orig", "emotion"]].tolist()
    ['03', 'male', 'F', 'happiness']
    """

    registry_name = "emodb"
    unique_stems = True
    corpus = "EmoDB"
    description = (
        "Berlin Database of Emotional Speech (German, 10 speakers, 7 emotions)"
    )
    language = "de"
    layout = (
        "ROOT/wav/<speaker><text><emotion letter><version>.wav, e.g. wav/03a01Fa.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "W": "anger",
        "L": "boredom",
        "E": "disgust",
        "A": "fear",
        "F": "happiness",
        "T": "sadness",
        "N": "neutral",
    }
    emotions = _classes_of(_CODES)
    _GENDER: ClassVar[dict[str, str]] = {
        "03": "male",
        "10": "male",
        "11": "male",
        "12": "male",
        "15": "male",
        "08": "female",
        "09": "female",
        "13": "female",
        "14": "female",
        "16": "female",
    }
    # the shape of the name; the emotion letter is checked on its own, so that
    # an unknown letter is named as such
    _RE = re.compile(r"^(\d{2})([ab]\d{2})([A-Za-z])([a-z])$")

    def _find(self, root):
        return _audio_files(_audio_folder(root, "wav"))

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            raise _BadName(
                "expected e.g. 03a01Fa (speaker, text, emotion letter, version)"
            )
        speaker, _, code, _ = m.groups()
        if code not in self._CODES:
            raise _BadName(
                f"emotion letter {code} is not an EmoDB emotion "
                f"({', '.join(self._CODES)})"
            )
        if speaker not in self._GENDER:
            raise _BadName(f"speaker {speaker} is not an EmoDB speaker")
        return speaker, self._GENDER[speaker], code, self._CODES[code]


class RAVDESS(CorpusReader):
    """Ryerson Audio-Visual Database of Emotional Speech and Song, English.

    Layout: ``ROOT/Actor_01/03-01-05-01-02-01-01.wav`` (the speech archive
    ``Audio_Speech_Actors_01-24`` and the song archive
    ``Audio_Song_Actors_01-24`` unpack alike and may share a root). Fields:
    modality (01 audio-video, 02 video, 03 audio) - vocal channel (01
    speech, 02 song) - emotion (01 neutral, 02 calm, 03 happy, 04 sad,
    05 angry, 06 fearful, 07 disgust, 08 surprised; song has 01-06) -
    intensity (01 normal, 02 strong; neutral has no strong) - statement -
    repetition - actor (01-24; odd male, even female). The speaker is
    ``Actor_NN`` from the file name; a file in another actor's folder is
    reported, not read.

    Parameters
    ----------
    vocal_channel : {"both", "speech", "song"}, default="both"
        Which part to read; ``"both"`` reads whatever is under ``ROOT``,
        song files together with speech files when both archives are
        there, and the table (the columns of :data:`COLUMNS`, as every
        reader's) has no column telling them apart: the file name's second
        field does (``01`` speech, ``02`` song). Cross-corpus studies
        mostly use the speech part only: ``vocal_channel="speech"`` (in an
        experiment file: ``options = { vocal_channel = "speech" }``).

    References
    ----------
    .. [1] S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual
       Database of Emotional Speech and Song (RAVDESS)", PLoS ONE 13(5),
       e0196391, 2018.

    Examples
    --------
    >>> from sertl_speech import RAVDESS, sample_path
    >>> table = RAVDESS(vocal_channel="speech").read(sample_path("ravdess"))
    >>> sorted(table["gender"].unique())
    ['female', 'male']
    """

    registry_name = "ravdess"
    unique_stems = True
    corpus = "RAVDESS"
    description = (
        "Ryerson Audio-Visual Database of Emotional Speech and Song "
        "(English, 24 actors)"
    )
    language = "en"
    layout = (
        "ROOT/Actor_NN/<modality>-<channel>-<emotion>-<intensity>-<statement>-"
        "<repetition>-<actor>.wav, e.g. Actor_01/03-01-05-01-02-01-01.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "01": "neutral",
        "02": "calm",
        "03": "happiness",
        "04": "sadness",
        "05": "anger",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
    }
    emotions = _classes_of(_CODES)
    _RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
    # allowed codes of the first six fields (the actor is checked on its own)
    _FIELDS: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("modality", ("01", "02", "03")),
        ("vocal channel", ("01", "02")),
        ("emotion", tuple(_CODES)),
        ("intensity", ("01", "02")),
        ("statement", ("01", "02")),
        ("repetition", ("01", "02")),
    )
    _FOLDER = re.compile(r"^Actor_(\d+)$")

    def __init__(self, *, vocal_channel="both"):
        self.vocal_channel = vocal_channel

    def read(self, root, *, emotions=None):  # noqa: D102 - documented in the base
        if self.vocal_channel not in ("both", "speech", "song"):
            raise ValueError(
                f"RAVDESS: vocal_channel={self.vocal_channel!r} is not valid; use "
                "'both', 'speech' or 'song'."
            )
        return super().read(root, emotions=emotions)

    read.__doc__ = CorpusReader.read.__doc__

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            n = len(path.stem.split("-"))
            raise _BadName(
                "expected 7 two-digit fields, e.g. 03-01-05-01-02-01-01"
                + (f" (found {n} fields)" if n != 7 else "")
            )
        for value, (field, allowed) in zip(m.groups(), self._FIELDS, strict=False):
            if value not in allowed:
                raise _BadName(
                    f"{field} code {value} is not a RAVDESS {field} "
                    f"({', '.join(allowed)})"
                )
        _, channel, code, intensity, _, _, actor = m.groups()
        n = int(actor)
        if not 1 <= n <= 24:
            raise _BadName(f"actor {actor} is not in 01-24")
        if channel == "02" and code in ("07", "08"):
            raise _BadName(f"emotion {code} does not exist in the song part")
        if code == "01" and intensity == "02":
            raise _BadName("neutral has no strong intensity (02)")
        folder = self._FOLDER.match(path.parent.name)
        if folder is not None and int(folder.group(1)) != n:
            raise _BadName(
                f"the name's actor {actor} disagrees with its folder "
                f"{path.parent.name}: move the file to Actor_{actor}, or correct "
                "its name"
            )
        wanted = {"both": ("01", "02"), "speech": ("01",), "song": ("02",)}[
            self.vocal_channel
        ]
        if channel not in wanted:
            return None
        gender = "male" if n % 2 == 1 else "female"
        return f"Actor_{actor}", gender, code, self._CODES[code]

    _CHANNELS: ClassVar[dict[str, str]] = {"01": "speech", "02": "song"}

    def _left_out_reason(self, files):
        found = Counter(self._RE.match(p.stem).group(2) for p in files)
        have = ", ".join(
            f"{n} {'are' if n > 1 else 'is'} {self._CHANNELS[c]} (vocal channel {c})"
            for c, n in sorted(found.items())
        )
        wanted = self.vocal_channel
        other = "speech" if wanted == "song" else "song"
        archive = f"Audio_{wanted.capitalize()}_Actors_01-24"
        return (
            f"vocal_channel={wanted!r} keeps only {wanted} recordings, and none "
            f"is one: {'all ' if len(found) == 1 else ''}{have}. Read them with "
            f"vocal_channel={other!r} (or 'both'), or add the {wanted} part of "
            f"RAVDESS ({archive}) under this root."
        )


class SAVEE(CorpusReader):
    """Surrey Audio-Visual Expressed Emotion database (SAVEE), British English.

    Layouts: the official ``ROOT/AudioData/DC/a01.wav`` (one folder per
    speaker DC, JE, JK, KL; ``ROOT`` may be ``AudioData`` itself) and the
    common flat ``ROOT/DC_a01.wav``. Codes: a anger, d disgust, f fear,
    h happiness, n neutral, sa sadness, su surprise, then a two-digit
    sentence number. All four speakers are male.

    References
    ----------
    .. [1] S. Haq and P. J. B. Jackson, "Speaker-dependent audio-visual
       emotion recognition", AVSP 2009.

    Examples
    --------
    >>> from sertl_speech import SAVEE
    >>> "AudioData/DC/a01.wav" in SAVEE.layout and "DC_a01.wav" in SAVEE.layout
    True
    """

    registry_name = "savee"
    corpus = "SAVEE"
    description = (
        "Surrey Audio-Visual Expressed Emotion (British English, 4 male speakers)"
    )
    language = "en"
    layout = (
        "ROOT/AudioData/<speaker>/<code><nn>.wav (e.g. AudioData/DC/a01.wav) "
        "or flat ROOT/DC_a01.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "a": "anger",
        "d": "disgust",
        "f": "fear",
        "h": "happiness",
        "n": "neutral",
        "sa": "sadness",
        "su": "surprise",
    }
    emotions = _classes_of(_CODES)
    _SPEAKERS = ("DC", "JE", "JK", "KL")
    # any speaker and emotion code: an unknown one is named
    _FLAT = re.compile(r"^([A-Za-z]{2})_([a-z]{1,2})(\d{2})$")
    _NESTED = re.compile(r"^([a-z]{1,2})(\d{2})$")

    def _parse(self, path, root):
        m = self._FLAT.match(path.stem)
        if m is not None:
            speaker, code, _ = m.groups()
            if speaker not in self._SPEAKERS:
                raise _unknown_code("speaker", speaker, "SAVEE", self._SPEAKERS)
        else:
            m = self._NESTED.match(path.stem)
            if m is None or path.parent.name not in self._SPEAKERS:
                raise _BadName(
                    "expected <speaker>/<code><nn> (e.g. DC/a01) or "
                    "<speaker>_<code><nn> "
                    "(e.g. DC_a01), speaker in DC, JE, JK, KL"
                )
            speaker = path.parent.name
            code = m.group(1)
        if code not in self._CODES:
            raise _unknown_code("emotion", code, "SAVEE", self._CODES)
        return speaker, "male", code, self._CODES[code]


class TESS(CorpusReader):
    """Toronto Emotional Speech Set (TESS), Canadian English.

    Layout: the official folders ``ROOT/OAF_angry/OAF_back_angry.wav``,
    ``YAF_pleasant_surprised/YAF_bath_ps.wav`` ... Stem: speaker (OAF, the
    older talker, aged 64; YAF, the younger, aged 26; both female), the
    target word, and the emotion (angry, disgust, fear, happy, neutral,
    ps = pleasant surprise, sad). When the folder names a speaker and
    emotion, they must agree with the file name.

    References
    ----------
    .. [1] M. K. Pichora-Fuller and K. Dupuis, "Toronto emotional speech set
       (TESS)", Scholars Portal Dataverse, 2020, doi:10.5683/SP2/E8H2MF.

    Examples
    --------
    >>> from sertl_speech import TESS
    >>> TESS.emotions
    ('anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness', 'surprise')
    """

    registry_name = "tess"
    unique_stems = True
    corpus = "TESS"
    description = (
        "Toronto Emotional Speech Set (English, 2 female speakers, 7 emotions)"
    )
    language = "en"
    emotions = (
        "anger",
        "disgust",
        "fear",
        "happiness",
        "neutral",
        "sadness",
        "surprise",
    )
    layout = (
        "ROOT/<OAF|YAF>_<emotion>/<OAF|YAF>_<word>_<emotion>.wav, "
        "e.g. OAF_angry/OAF_back_angry.wav"
    )

    # any emotion code: an unknown one is named (see _EMOTION_CODES)
    _RE = re.compile(r"^(OAF|YAF)_(.+)_([A-Za-z]+)$", re.IGNORECASE)
    _FOLDER = re.compile(r"^(OAF|YAF)_(.+)$", re.IGNORECASE)
    _EMOTION_CODES = ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            raise _BadName(
                f"expected <OAF|YAF>_<word>_<{'|'.join(self._EMOTION_CODES)}>"
            )
        speaker, _, code = m.groups()
        if code.lower() not in self._EMOTION_CODES:
            raise _unknown_code("emotion", code, "TESS", self._EMOTION_CODES)
        speaker = speaker.upper()
        emotion = canonical_emotion(code)
        folder = self._FOLDER.match(path.parent.name)
        if folder is not None:
            f_speaker, f_emotion = folder.group(1).upper(), folder.group(2).lower()
            f_emotion = (
                "pleasant_surprise" if f_emotion.startswith("pleasant") else f_emotion
            )
            if f_speaker != speaker or canonical_emotion(f_emotion) != emotion:
                raise _BadName(
                    f"file name disagrees with its folder {path.parent.name}"
                )
        return speaker, "female", code, emotion


class CREMAD(CorpusReader):
    """Crowd-sourced Emotional Multimodal Actors Dataset (CREMA-D), English.

    Layout: ``ROOT/AudioWAV/1001_DFA_ANG_XX.wav`` (``ROOT`` may be
    ``AudioWAV`` itself): actor id (1001-1091), sentence code, emotion (ANG
    anger, DIS disgust, FEA fear, HAP happiness, NEU neutral, SAD sadness),
    level (LO, MD, HI, XX unspecified). Gender comes from the official
    ``VideoDemographics.csv`` (columns ``ActorID``, ``Sex``) when it is
    found next to ``AudioWAV`` (or given as ``demographics=``); without it
    gender is ``"unknown"``.

    Parameters
    ----------
    demographics : str or path-like, default=None
        Path of ``VideoDemographics.csv``; looked up under ``ROOT`` and
        beside ``AudioWAV`` when None.

    References
    ----------
    .. [1] H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and
       R. Verma, "CREMA-D: Crowd-sourced emotional multimodal actors
       dataset", IEEE Transactions on Affective Computing 5(4), 2014.

    Examples
    --------
    >>> from sertl_speech import CREMAD
    >>> CREMAD.registry_name, CREMAD.language
    ('crema_d', 'en')
    """

    registry_name = "crema_d"
    unique_stems = True
    corpus = "CREMA-D"
    description = (
        "Crowd-sourced Emotional Multimodal Actors Dataset (English, 91 actors)"
    )
    language = "en"
    layout = (
        "ROOT/AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav, "
        "e.g. AudioWAV/1001_DFA_ANG_XX.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "ANG": "anger",
        "DIS": "disgust",
        "FEA": "fear",
        "HAP": "happiness",
        "NEU": "neutral",
        "SAD": "sadness",
    }
    emotions = _classes_of(_CODES)
    # any codes: an unknown one is named (see _SENTENCES, _CODES, _LEVELS)
    _RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
    _SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI")
    _SENTENCES += ("IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
    _LEVELS = ("LO", "MD", "HI", "XX")

    def __init__(self, *, demographics=None):
        self.demographics = demographics

    def _find(self, root):
        self._genders = self._load_demographics(root)
        return _audio_files(_audio_folder(root, "AudioWAV"))

    def _load_demographics(self, root):
        if self.demographics is not None:
            path = Path(self.demographics)
            if not path.is_file():
                raise FileNotFoundError(
                    f"crema_d: demographics file {str(path)!r} does not exist. "
                    "Pass demographics= the path of CREMA-D's "
                    "VideoDemographics.csv, or leave demographics=None to look "
                    "for it in the corpus folder and its parent (without it the "
                    "speakers' genders are unknown)."
                )
        else:
            candidates = [
                root / "VideoDemographics.csv",
                root.parent / "VideoDemographics.csv",
            ]
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                return {}
        genders = {}
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not {"ActorID", "Sex"} <= set(reader.fieldnames or ()):
                raise ValueError(
                    f"crema_d: {str(path)!r} needs the columns ActorID and Sex "
                    "(the official VideoDemographics.csv); its columns are "
                    f"{list(reader.fieldnames or ())}. Pass demographics= the "
                    "path of CREMA-D's VideoDemographics.csv."
                )
            for row in reader:
                genders[str(row["ActorID"]).strip()] = _gender(row["Sex"])
        return genders

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            raise _BadName("expected e.g. 1001_DFA_ANG_XX")
        actor, sentence, code, level = m.groups()
        if sentence not in self._SENTENCES:
            raise _unknown_code("sentence", sentence, "CREMA-D", self._SENTENCES)
        if code not in self._CODES:
            raise _unknown_code("emotion", code, "CREMA-D", self._CODES)
        if level not in self._LEVELS:
            raise _unknown_code("level", level, "CREMA-D", self._LEVELS)
        return actor, self._genders.get(actor, "unknown"), code, self._CODES[code]


class EMOVO(CorpusReader):
    """EMOVO corpus of Italian emotional speech.

    Layout: ``ROOT/f1/dis-f1-b1.wav``: one folder per speaker (f1-f3,
    m1-m3), stem emotion-speaker-sentence. Emotion codes (Italian): dis
    (disgusto) disgust, gio (gioia) happiness, neu neutral, pau (paura)
    fear, rab (rabbia) anger, sor (sorpresa) surprise, tri (tristezza)
    sadness. A file in another speaker's folder is reported.

    References
    ----------
    .. [1] G. Costantini, I. Iaderola, A. Paoloni and M. Todisco, "EMOVO
       corpus: an Italian emotional speech database", LREC 2014.

    Examples
    --------
    >>> from sertl_speech import EMOVO
    >>> EMOVO.language
    'it'
    """

    registry_name = "emovo"
    unique_stems = True
    corpus = "EMOVO"
    description = "EMOVO Italian emotional speech (6 speakers, 7 emotions)"
    language = "it"
    layout = "ROOT/<speaker>/<emotion>-<speaker>-<sentence>.wav, e.g. f1/dis-f1-b1.wav"

    _CODES: ClassVar[dict[str, str]] = {
        "dis": "disgust",
        "gio": "happiness",
        "neu": "neutral",
        "pau": "fear",
        "rab": "anger",
        "sor": "surprise",
        "tri": "sadness",
    }
    emotions = _classes_of(_CODES)
    # any emotion code: an unknown one is named (see _CODES)
    _RE = re.compile(r"^([a-z]+)-([fm][1-3])-([a-z]+\d+)$", re.IGNORECASE)

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            raise _BadName("expected <emotion>-<speaker>-<sentence>, e.g. dis-f1-b1")
        code, speaker, _ = m.groups()
        if code.lower() not in self._CODES:
            raise _unknown_code("emotion", code, "EMOVO", self._CODES)
        code, speaker = code.lower(), speaker.lower()
        parent = path.parent.name.lower()
        if re.fullmatch(r"[fm]\d", parent) and parent != speaker:
            raise _BadName(
                f"the name's speaker {speaker} disagrees with its folder "
                f"{path.parent.name}: move the file to the folder {speaker}, or "
                "correct its name"
            )
        return speaker, _gender(speaker[0]), code, self._CODES[code]


class _EmotionFolderCorpus(CorpusReader):
    """One folder per emotion; the stem carries speaker and emotion code.

    Subclasses set ``_RE`` (named groups ``speaker``, ``code`` and optionally
    ``gender``), ``_HINT``, ``_CODES`` (code -> canonical emotion) and
    ``_FOLDERS`` (lower-case folder name -> code); a file in a folder that
    names another emotion is reported.
    """

    _RE: ClassVar[re.Pattern]  # any code: an unknown one is named (_CODES)
    _HINT: ClassVar[str]
    _CODES: ClassVar[dict[str, str]]
    _FOLDERS: ClassVar[dict[str, str]]

    def _parse(self, path, root):
        m = self._RE.match(path.stem)
        if m is None:
            raise _BadName(self._HINT)
        code = m.group("code")
        if code not in self._CODES:
            raise _unknown_code("emotion", code, self.corpus, self._CODES)
        folder = self._FOLDERS.get(path.parent.name.lower())
        if folder is not None and folder != code:
            raise _BadName(
                f"the name's emotion code {code} disagrees with its folder "
                f"{path.parent.name} (code {folder}): move the file to the "
                "folder of its emotion, or correct its name"
            )
        g = m.groupdict().get("gender")
        gender = _gender(g) if g is not None else "unknown"
        return m.group("speaker"), gender, code, self._CODES[code]


class URDU(_EmotionFolderCorpus):
    """URDU emotional speech dataset.

    Layout: ``ROOT/Angry/SM1_F10_A010.wav``: one folder per emotion (Angry,
    Happy, Neutral, Sad); stem speaker (S + gender M/F + number), file
    number, emotion letter (A, H, N, S) and number. The folder must agree
    with the emotion letter.

    Its speakers are nearly confined to one emotion each (all 100 anger
    files come from speakers SM1-SM4; SM5 speaks 72 of the 100 neutral
    ones), so speaker-disjoint URDU results (e.g. leave one speaker out)
    partly measure speaker identity.

    References
    ----------
    .. [1] S. Latif, A. Qayyum, M. Usman and J. Qadir, "Cross lingual speech
       emotion recognition: Urdu vs. Western languages", FIT 2018.

    Examples
    --------
    >>> from sertl_speech import URDU
    >>> URDU.emotions
    ('anger', 'happiness', 'neutral', 'sadness')
    """

    registry_name = "urdu"
    corpus = "URDU"
    description = "URDU emotional speech (Urdu talk shows, 4 emotions)"
    language = "ur"
    layout = (
        "ROOT/<Angry|Happy|Neutral|Sad>/<speaker>_<file>_<emotion letter><nn>.wav, "
        "e.g. Angry/SM1_F10_A010.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "A": "anger",
        "H": "happiness",
        "N": "neutral",
        "S": "sadness",
    }
    emotions = _classes_of(_CODES)
    _FOLDERS: ClassVar[dict[str, str]] = {
        "angry": "A",
        "happy": "H",
        "neutral": "N",
        "sad": "S",
    }
    unique_stems = True
    _RE = re.compile(r"^(?P<speaker>S(?P<gender>[MF])\d+)_F\d+_(?P<code>[A-Z])\d+$")
    _HINT = "expected e.g. SM1_F10_A010 (speaker, file, emotion letter)"


class TurEVDB(_EmotionFolderCorpus):
    """Turkish Emotional Voice Database (TurEV-DB).

    Layout: ``ROOT/Angry/1157_kz_acik.wav``: one folder per emotion (Angry,
    Calm, Happy, Sad); stem speaker id, emotion code (kz anger, sk calm,
    mt happiness, hl sadness) and the word. The folder must agree with the
    code. Speaker genders are not published with the files: ``"unknown"``.

    References
    ----------
    .. [1] S. F. Canpolat, Z. Ormanoğlu and D. Zeyrek, "Turkish Emotion
       Voice Database (TurEV-DB)", LREC 2020 Workshop on Spoken Language
       Technologies for Under-resourced Languages (SLTU-CCURL).

    Examples
    --------
    >>> from sertl_speech import TurEVDB
    >>> TurEVDB.registry_name, TurEVDB.emotions
    ('turev_db', ('anger', 'calm', 'happiness', 'sadness'))
    """

    registry_name = "turev_db"
    corpus = "TurEV-DB"
    description = "Turkish Emotional Voice Database (6 speakers, 4 emotions)"
    language = "tr"
    layout = (
        "ROOT/<Angry|Calm|Happy|Sad>/<speaker>_<kz|sk|mt|hl>_<word>.wav, "
        "e.g. Angry/1157_kz_acik.wav"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "kz": "anger",
        "sk": "calm",
        "mt": "happiness",
        "hl": "sadness",
    }
    emotions = _classes_of(_CODES)
    _FOLDERS: ClassVar[dict[str, str]] = {
        "angry": "kz",
        "calm": "sk",
        "happy": "mt",
        "sad": "hl",
    }
    unique_stems = True
    _RE = re.compile(r"^(?P<speaker>\d+)_(?P<code>[a-z]{2})_.+$")
    _HINT = "expected <speaker>_<kz|sk|mt|hl>_<word>, e.g. 1157_kz_acik"


class IEMOCAP(CorpusReader):
    """Interactive Emotional Dyadic Motion Capture database (IEMOCAP), English.

    Layout: ``ROOT/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav``
    with the labels in ``ROOT/Session1/dialog/EmoEvaluation/Ses01F_impro01.txt``
    (lines ``[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]``). Labels:
    ang anger, hap happiness, exc excitement, sad sadness, fru frustration,
    fea fear, sur surprise, neu neutral, dis disgust. Utterances labelled
    ``xxx`` (no majority among the annotators) or ``oth`` (other) have no
    category and are left out; merge ``excitement`` into ``happiness`` with
    :func:`select_emotions` if wanted. The speaker is the session and the
    gender of the utterance's talker (``Ses01F_impro01_M000`` is ``Ses01M``,
    male). A wav without a label line is reported.

    References
    ----------
    .. [1] C. Busso et al., "IEMOCAP: interactive emotional dyadic motion
       capture database", Language Resources and Evaluation 42(4), 2008.

    Examples
    --------
    >>> from sertl_speech import IEMOCAP
    >>> IEMOCAP.emotions[:3]
    ('anger', 'disgust', 'excitement')
    """

    registry_name = "iemocap"
    unique_stems = True
    corpus = "IEMOCAP"
    description = "Interactive Emotional Dyadic Motion Capture (English, 10 speakers)"
    language = "en"
    layout = (
        "ROOT/Session<N>/sentences/wav/<dialog>/<utterance>.wav with labels in "
        "ROOT/Session<N>/dialog/EmoEvaluation/<dialog>.txt"
    )

    _CODES: ClassVar[dict[str, str]] = {
        "ang": "anger",
        "hap": "happiness",
        "exc": "excitement",
        "sad": "sadness",
        "fru": "frustration",
        "fea": "fear",
        "sur": "surprise",
        "neu": "neutral",
        "dis": "disgust",
    }
    emotions = _classes_of(_CODES)
    _SKIPPED = ("xxx", "oth")
    _LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\S+)\s+\[")
    _UTT = re.compile(r"^Ses(\d{2})[FM]_.+_([FM])\d{3}$")

    def _find(self, root):
        sessions = sorted(p for p in root.glob("Session*") if p.is_dir())
        self._labels = {}
        files = []
        for s in sessions:
            for txt in sorted((s / "dialog" / "EmoEvaluation").glob("*.txt")):
                if txt.name.startswith("."):
                    continue
                with open(txt, encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        m = self._LINE.match(line)
                        if m is not None:
                            self._labels[m.group(1)] = m.group(2)
            wav = s / "sentences" / "wav"
            if wav.is_dir():
                files.extend(_audio_files(wav))
        return files

    def _parse(self, path, root):
        m = self._UTT.match(path.stem)
        if m is None:
            raise _BadName("expected e.g. Ses01F_impro01_F000")
        label = self._labels.get(path.stem)
        if label is None:
            raise _BadName("no label line in dialog/EmoEvaluation")
        if label in self._SKIPPED:
            return None
        if label not in self._CODES:
            raise _BadName(f"unknown label {label!r}")
        session, g = m.groups()
        return f"Ses{session}{g}", _gender(g), label, self._CODES[label]

    def _left_out_reason(self, files):
        found = Counter(self._labels[p.stem] for p in files)
        have = ", ".join(f"{n} {label}" for label, n in sorted(found.items()))
        return (
            f"their labels ({have}) are {' and '.join(self._SKIPPED)}, which "
            "have no emotion category (no majority among the annotators, or "
            "other). Check that dialog/EmoEvaluation holds the official "
            "evaluation files of these sessions."
        )


# --------------------------------------------------------------------------
# A user's own data
# --------------------------------------------------------------------------


def _user_emotion(label, unknown):
    name = canonical_emotion(label)
    if name is None:
        name = label_key(label)
        unknown.add(name)
    return name


def _warn_unknown_labels(name, unknown):
    if unknown:
        labels = sorted(unknown)
        first = labels[0]
        key = first if re.fullmatch(r"[A-Za-z0-9_-]+", first) else json.dumps(first)
        text = (
            f"{name}: label(s) {labels} are not canonical emotions "
            f"{list(EMOTIONS)}; they are kept as written (lower case) and have no "
            "arousal/valence coordinates. Rename them to use the schema. Or map "
            "them onto canonical names: in Python with select_emotions(table, "
            f"mapping={{{first!r}: '<emotion>'}}), in an experiment file "
            "(sertl run and sertl grid take it) with [labels] mapping = "
            f'{{ {key} = "<emotion>" }}.'
        )
        warnings.warn(
            CorpusWarning(text, unknown_labels=labels),
            stacklevel=external_stacklevel(),
        )


class CsvCorpus(CorpusReader):
    r"""A user's own corpus described by a CSV file.

    ``root`` is the CSV file, comma-separated unless ``delimiter`` says
    otherwise (a ``;``- or tab-separated file read with another delimiter
    is refused, saying which to give; a first line ``sep=;``, which Excel
    writes and reads, sets the delimiter), in UTF-8 unless ``encoding``
    says otherwise. Columns: ``file`` (path, relative to the CSV's folder or
    absolute; ``\`` between folders, as written on Windows, is read as
    ``/``), ``label`` (or ``emotion``), ``speaker`` (an
    empty cell is the speaker ``"unknown"``, which per-speaker normalisation
    treats as one speaker), and optionally ``gender`` (or ``sex``:
    f/female/w/woman/weiblich/Frau, m/male/man/männlich/Mann in any case;
    other
    values are ``"unknown"``, named in a
    :class:`CorpusWarning`) and ``language`` (a corpus without labels
    needs ``file`` only: see ``labelled``); a CSV whose columns
    have other names says which is which with ``columns``. Column names are
    matched ignoring case and surrounding spaces. Labels are mapped to
    canonical names (``"Angry"`` -> ``"anger"``); other labels are kept in
    lower case with a :class:`CorpusWarning`. A file may be in any format of
    :data:`~sertl_speech.AUDIO_SUFFIXES` (WAV, FLAC, OGG, MP3, AIFF ...).
    Rows whose audio file is missing, or not audio by its extension, or
    that lack a file or label, are reported and skipped. A file named in
    another Unicode normalisation form than the one on disk (``wütend.wav``
    composed, NFC, in the CSV and decomposed, NFD, in a folder copied from
    macOS) is found under its name on disk. A file listed on several lines
    keeps every line (a row each) and is reported in a
    :class:`CorpusWarning`, with its line numbers and labels. Line numbers
    are those of the file (blank lines and quoted line breaks counted).
    Empty fields after the last column (a comma ending every line, as some
    spreadsheet exports write) are ignored; a line with more non-empty
    fields than the header has columns (an unquoted comma in a file name)
    is reported and skipped, and a double quote never closed is an error
    naming its line.

    Parameters
    ----------
    corpus : str, default=None
        Corpus name in the table; the CSV's stem when None.
    language : str, default="unknown"
        Language of rows without a ``language`` column value.
    columns : dict of str to str, default=None
        The names of your CSV's columns, by role: the roles are ``"file"``,
        ``"label"`` (``"emotion"`` is taken for it too), ``"speaker"``,
        ``"gender"`` and ``"language"``, e.g. ``columns={"file": "path",
        "label": "emo", "speaker": "spk", "gender": "sex"}``. A role left
        out is read from its usual column (``label`` or ``emotion`` for the
        label). In a ``sertl run`` experiment: ``options = { columns = {
        file = "path", label = "emo" } }``.
    encoding : str, default="utf-8"
        The CSV's text encoding, a Python codec name (``"cp1252"`` for a CSV
        saved by Excel on a Western European Windows, ``"latin-1"``,
        ``"utf-16"``). A byte-order mark (BOM) at the start is accepted. A
        byte the encoding cannot decode is an error naming its line.
    delimiter : str, default=","
        The one character between the fields: ``";"`` for a CSV saved by a
        spreadsheet in a locale whose decimal mark is a comma (German,
        French ...), ``"\t"`` for a tab-separated file. In a ``sertl run``
        experiment: ``options = { delimiter = ";" }``.
    labelled : bool, default=True
        False reads a corpus without labels, such as the recordings of an
        unlabelled target domain: only the ``file`` column is needed
        (``speaker`` is read when there is one, else every row's speaker is
        ``"unknown"``; a label column is not read), and every row's
        ``emotion`` is ``"-1"``, sertl's marker of an unlabelled row for
        string labels (:data:`sertl_core.UNLABELED`, which
        :func:`sertl_core.is_unlabeled` recognises), its ``emotion_orig``
        empty. ``emotions=`` cannot select such rows and is refused. In an
        experiment: ``options = { labelled = false }``, for a target
        corpus under a protocol that needs no target labels (``sertl
        grid`` with label-free scorers).

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> from sertl_speech import CsvCorpus, load_sample
    >>> emodb = load_sample("emodb")
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = shutil.copy(emodb.file[0], tmp / "a.flac")
    >>> _ = (tmp / "mine.csv").write_text("file,label,speaker\na.flac,Happy,s1\n")
    >>> table = CsvCorpus().read(tmp / "mine.csv")
    >>> table[["corpus", "speaker", "emotion"]].values.tolist()
    [['mine', 's1', 'happiness']]

    Columns of other names, and a CSV saved by Excel on Windows:

    >>> text = "Pfad,Gefühl,Sprecher\na.flac,Happy,Jürgen\n"
    >>> _ = (tmp / "excel.csv").write_bytes(text.encode("cp1252"))
    >>> columns = {"file": "Pfad", "label": "Gefühl", "speaker": "Sprecher"}
    >>> reader = CsvCorpus(columns=columns, encoding="cp1252")
    >>> table = reader.read(tmp / "excel.csv")
    >>> table[["speaker", "emotion"]].values.tolist()
    [['Jürgen', 'happiness']]

    Semicolons between the fields, as a German Excel saves a CSV:

    >>> _ = (tmp / "semi.csv").write_text("file;label;speaker\na.flac;Sad;007\n")
    >>> table = CsvCorpus(delimiter=";").read(tmp / "semi.csv")
    >>> table[["speaker", "emotion"]].values.tolist()
    [['007', 'sadness']]

    Recordings without labels (an unlabelled target), listed by file only:

    >>> _ = (tmp / "target.csv").write_text("file\na.flac\n")
    >>> table = CsvCorpus(labelled=False).read(tmp / "target.csv")
    >>> table[["speaker", "emotion"]].values.tolist()
    [['unknown', '-1']]
    >>> shutil.rmtree(tmp)
    """

    registry_name = "csv"
    corpus = "csv"
    description = "Your own data: a CSV of file, label, speaker[, gender, language]"
    language = "unknown"
    layout = (
        "a CSV file with columns file, label (or emotion), speaker[, gender, "
        "language], or columns of your own names given by the columns option"
    )

    def __init__(
        self,
        *,
        corpus=None,
        language="unknown",
        columns=None,
        encoding="utf-8",
        delimiter=",",
        labelled=True,
    ):
        self.corpus = corpus
        self.language = language
        self.columns = columns
        self.encoding = encoding
        self.delimiter = delimiter
        self.labelled = labelled

    def read(self, root, *, emotions=None):
        """Read the corpus listed by the CSV file ``root`` into a table.

        Parameters
        ----------
        root : str or path-like
            The CSV file (not its folder); relative audio paths in it are
            read from its folder.
        emotions : iterable of str, default=None
            Keep only these canonical emotions; all when None.

        Returns
        -------
        table : pandas.DataFrame
            One row per CSV row kept, columns :data:`COLUMNS`, sorted by
            file. ``table.attrs["skipped"]`` lists the rows skipped (missing
            or non-audio file, empty file or label, too many fields), as
            ``{"file": ..., "reason": why}`` dictionaries (also carried by
            the :class:`CorpusWarning` that reports them).

        Raises
        ------
        FileNotFoundError
            When ``root`` does not exist.
        TypeError
            When ``root`` is None or an option has the wrong type.
        ValueError
            When ``root`` is not a file, the CSV cannot be read or lacks a
            required column, no row is kept, or ``emotions`` names an
            unknown class.
        """
        name = self.registry_name
        path = _check_root(root, name)
        if not path.is_file():
            raise ValueError(
                f"csv: {str(path)!r} is not a file; pass the CSV itself "
                f"({self.layout})."
            )
        keep = _check_emotions(emotions, name)
        _check_text_options(name, corpus=self.corpus, language=self.language)
        named = _csv_columns_option(self.columns)
        labelled = _csv_labelled_option(self.labelled, named, keep)
        delimiter = _csv_delimiter_option(self.delimiter)
        text = _read_csv_text(path, self.encoding)
        text, delimiter = _excel_sep_line(text, delimiter)
        header, records = _csv_records(path, text, delimiter)
        cols = _csv_column_names(path, header, named, delimiter, labelled=labelled)
        base = path.parent
        corpus = self.corpus or path.stem
        rows, bad, unknown = [], [], set()
        lines: dict[str, list[tuple[int, str]]] = {}  # file -> (line, label)
        listings: dict[Path, list[str]] = {}  # folder -> its names (Unicode)
        unfound: list[str] = []  # relative paths not found, as looked for
        odd_genders: dict[str, int] = {}  # gender cells read as unknown -> rows
        for i, rec, extra in records:
            if extra:
                bad.append((f"{path} line {i}", f"line {i}: {extra}"))
                continue
            f = rec[cols["file"]].strip()
            label = rec[cols["label"]].strip() if labelled else ""
            if not f or (labelled and not label):
                what = "empty file or label" if labelled else "empty file"
                bad.append((f"{path} line {i}", f"line {i}: {what}"))
                continue
            audio = Path(f) if Path(f).is_absolute() else base / f
            if not audio.is_file() and "\\" in f and os.sep == "/":
                # a path written on Windows (clips\a.wav) names folders
                posix = Path(f.replace("\\", "/"))
                audio = posix if posix.is_absolute() else base / posix
            several: list[Path] = []
            if not audio.is_file() and not f.isascii():
                variant, several = _unicode_variant(audio, listings)
                if variant is not None:
                    audio = variant
            if not audio.is_file():
                what = "file not found"
                if audio.is_dir():
                    what = "is a folder"
                elif audio.is_symlink():
                    what = _missing_link_reason(audio)
                elif several:
                    what += (
                        f"; {str(several[0].parent)!r} holds {len(several)} names "
                        "equal to its name up to Unicode normalisation (NFC/NFD: "
                        "accents stored composed or decomposed), "
                        f"{', '.join(repr(p.name) for p in several)}: rename the "
                        "files so that one has this name"
                    )
                bad.append((str(audio), f"line {i}: {f}: {what}"))
                if what == "file not found" and not Path(f).is_absolute():
                    unfound.append(str(audio))
                continue
            if audio.suffix.lower() not in AUDIO_SUFFIXES:
                bad.append(
                    (
                        str(audio),
                        f"line {i}: {f}: not an audio file by its extension "
                        f"({audio.suffix or 'none'}); audio files end in "
                        ".wav, .flac, .ogg, .mp3, .aiff ... (AUDIO_SUFFIXES): "
                        "convert it, e.g. with ffmpeg -i FILE out.wav",
                    )
                )
                continue
            resolved = str(audio.resolve())
            lines.setdefault(resolved, []).append((i, label))
            sex = rec[cols["gender"]].strip() if "gender" in cols else ""
            if _gender(sex) == "unknown" and sex.lower() not in ("", "unknown"):
                odd_genders[sex] = odd_genders.get(sex, 0) + 1
            rows.append(
                {
                    "file": resolved,
                    "corpus": corpus,
                    "speaker": (
                        rec[cols["speaker"]].strip() if "speaker" in cols else ""
                    )
                    or "unknown",
                    "gender": _gender(sex),
                    "language": (
                        rec[cols["language"]].strip() if "language" in cols else ""
                    )
                    or self.language,
                    "emotion": (
                        _user_emotion(label, unknown) if labelled else str(UNLABELED)
                    ),
                    "emotion_orig": label,
                }
            )
        _warn_repeated_files(path, lines)
        if odd_genders:
            warnings.warn(
                f"csv: gender value(s) {sorted(odd_genders)} in the column "
                f"{cols['gender']!r} of {str(path)!r} are neither female "
                f"({', '.join(_FEMALE)}) nor male ({', '.join(_MALE)}), in any "
                f"case: their {sum(odd_genders.values())} row(s) get the gender "
                "'unknown'. Write female or male in the CSV where they mean it.",
                CorpusWarning,
                stacklevel=external_stacklevel(),
            )
        hint = ""
        if unfound:
            hint = (
                f" {len(unfound)} relative path(s) name no file: they are read "
                f"from the CSV's folder {str(base)!r} (e.g. {unfound[0]!r}), not "
                "from the current folder. Write them relative to the CSV's "
                "folder, or absolute."
            )
        return _finish(
            name, rows, bad, unknown, keep, path, self.layout, "rows", hint=hint
        )


# the roles of the csv reader's columns, and the columns read for each by default
_CSV_ROLES = {
    "file": ("file",),
    "label": ("label", "emotion"),
    "speaker": ("speaker",),
    "gender": ("gender", "sex"),
    "language": ("language",),
}
_CSV_REQUIRED = ("file", "label", "speaker")


def _csv_columns_option(columns):
    """Check the csv reader's ``columns`` option; return ``{role: column name}``.

    ``"emotion"`` is taken for the role ``"label"``. The names are returned
    stripped, as given (the header is matched in lower case).
    """
    if columns is None:
        return {}
    example = '{"file": "path", "label": "emo", "speaker": "spk"}'
    if not isinstance(columns, Mapping):
        raise TypeError(
            "csv: columns must map each role to the name of your CSV's column "
            f"for it, e.g. columns={example}; got {type(columns).__name__} "
            f"{columns!r}."
        )
    roles = ", ".join(["file", "label (or emotion)", "speaker", "gender", "language"])
    named: dict[str, str] = {}
    for role, column in columns.items():
        key = "label" if role == "emotion" else role
        if key not in _CSV_ROLES:
            close = difflib.get_close_matches(str(role), [*_CSV_ROLES, "emotion"], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"csv: columns has no role {role!r}.{hint} The roles are {roles}: "
                f"columns={example} maps each role to your CSV's column."
            )
        if key in named:
            raise ValueError(
                "csv: columns names the label column twice (as 'label' and as "
                "'emotion'); give one of them."
            )
        if not isinstance(column, str) or not column.strip():
            raise TypeError(
                f"csv: columns[{role!r}] must be the name of a column of your "
                f"CSV (a non-empty string), got {type(column).__name__} "
                f"{column!r}."
            )
        named[key] = column.strip()
    by_name: dict[str, list[str]] = {}
    for role, column in named.items():
        by_name.setdefault(column.lower(), []).append(role)
    shared = {c: r for c, r in by_name.items() if len(r) > 1}
    if shared:
        column, which = next(iter(shared.items()))
        raise ValueError(
            f"csv: columns names the column {column!r} for several roles "
            f"({', '.join(which)}); each role needs its own column."
        )
    return named


# delimiters a CSV is often written with: (character, as said, as written)
_CSV_DELIMITERS = ((",", "comma", "','"), (";", "';'", "';'"), ("\t", "tab", "'\\t'"))


def _csv_delimiter_option(delimiter):
    """Check the csv reader's ``delimiter`` option (one character) and return it."""
    if not isinstance(delimiter, str):
        raise TypeError(
            "csv: delimiter must be the one character between the fields, e.g. "
            f"',' or ';'; got {type(delimiter).__name__} {delimiter!r}."
        )
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(
            f"csv: delimiter={delimiter!r} is not one character that can separate "
            "fields; give the character between your CSV's fields, e.g. ',' "
            "(the default), ';' or '\\t' (tab)."
        )
    return delimiter


def _csv_labelled_option(labelled, named, keep):
    """Check the csv reader's ``labelled`` option against the others; return it."""
    if not isinstance(labelled, bool):
        raise TypeError(
            "csv: labelled must be True (the CSV has a label column) or False "
            "(a corpus without labels, e.g. an unlabelled target); got "
            f"{type(labelled).__name__} {labelled!r}."
        )
    if labelled:
        return True
    if "label" in named:
        raise ValueError(
            f"csv: columns names a label column ({named['label']!r}), but "
            "labelled=False reads no labels; leave the label out of columns, "
            "or drop labelled=False to read the labels."
        )
    if keep is not None:
        raise ValueError(
            f"csv: emotions={sorted(keep)} selects rows by their label, but "
            "labelled=False reads none (every row is unlabelled); leave "
            "emotions out, or drop labelled=False to read the labels."
        )
    return False


def _excel_sep_line(text, delimiter):
    """Return ``(text, delimiter)`` with Excel's ``sep=X`` first line applied.

    Excel writes and reads a first line ``sep=;`` that names the delimiter;
    the line is blanked (line numbers stay those of the file) and its
    character replaces ``delimiter``.
    """
    first, newline, rest = text.partition("\n")
    found = re.fullmatch(r"sep=(.)\r?", first)
    if found is None or found.group(1) in '"\r\n':
        return text, delimiter
    return newline + rest, found.group(1)


def _csv_column_names(path, header, named, delimiter=",", *, labelled=True):
    """Return ``{role: column}`` of the CSV's (lower-case) columns, or refuse it.

    ``header`` holds the CSV's column names as written (stripped), ``named``
    the ``columns`` option (:func:`_csv_columns_option`). A header read as
    one column that holds another common delimiter than ``delimiter``, a
    required role without a column, and a column named in ``named`` that
    the CSV lacks, are refused with what to do. Without labels
    (``labelled=False``) the file column is the one required, and no label
    column is looked for.
    """
    other = [d for d in _CSV_DELIMITERS if d[0] != delimiter and d[0] in header[0]]
    if len(header) == 1 and other:
        _, said, arg = other[0]
        raise ValueError(
            f"csv: {str(path)!r} looks {said}-separated (its header reads as the "
            f"one column {header[0]!r}); the csv reader reads "
            f"{'comma' if delimiter == ',' else repr(delimiter)}-separated files "
            f"unless told otherwise. Pass delimiter={arg} (in a sertl run "
            f"experiment: options = {{ delimiter = {json.dumps(other[0][0])} }})."
        )
    have = [c.lower() for c in header]
    absent = [(role, c) for role, c in named.items() if c.lower() not in have]
    if absent:
        listed = ", ".join(f"{c!r} (for {role})" for role, c in absent)
        raise ValueError(
            f"csv: {str(path)!r} has no column {listed}, which the columns "
            f"option names; its columns are {header}. Correct the name in "
            "columns= (names are matched ignoring case and surrounding spaces)."
        )
    cols = {}
    for role, defaults in _CSV_ROLES.items():
        if role == "label" and not labelled:
            continue
        if role in named:
            cols[role] = named[role].lower()
            continue
        # a column the option gives to another role is that role's only
        taken = {c.lower() for c in named.values()}
        found = next((c for c in defaults if c in have and c not in taken), None)
        if found is not None:
            cols[role] = found
    required = _CSV_REQUIRED if labelled else ("file",)
    missing = [role for role in required if role not in cols]
    if missing:
        shown = ["label (or emotion)" if r == "label" else r for r in missing]
        python = ", ".join(f'"{role}": "..."' for role in missing)
        toml = ", ".join(f'{role} = "..."' for role in missing)
        raise ValueError(
            f"csv: {str(path)!r} lacks column(s) {', '.join(shown)}; needed: "
            f"file, label (or emotion), speaker; found {header}. If your CSV "
            "holds them under other names, say which with the columns option: "
            f"columns={{{python}}} with your column names (in an experiment "
            "file, which sertl run and sertl grid take: [corpora.NAME] "
            f"options = {{ columns = {{ {toml} }} }})."
            + (
                " A corpus without labels (the recordings of an unlabelled "
                "target) is read with labelled=False (in an experiment file, "
                "which sertl run and sertl grid take in place of --source and "
                "--target: [corpora.NAME] options = { labelled = false }), "
                "which needs the file column only."
                if "label" in missing
                else ""
            )
        )
    return cols


def _csv_records(path, text, delimiter=","):
    """Split the CSV ``text`` of ``path`` into its header and its records.

    Returns ``(header, records)``: ``header`` the column names as written
    (stripped), ``records`` a list of ``(line, record, extra)``, ``line``
    the line of the file on which the record starts (blank lines and
    fields spanning lines counted), ``record`` a dict from the lower-case
    column names to the values (a missing trailing field is ``""``; of two
    columns of one name, the second is ``name.1``). ``extra`` is ``""``, or
    why the record is refused: it holds more non-empty fields than the
    header has columns (an unquoted comma in a file name). Empty fields
    after the last column (a delimiter at the end of each line, as
    spreadsheet exports write) are dropped. Blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    rows = []
    try:
        start = 1
        for row in reader:
            if row:
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(
            f"csv: cannot read {str(path)!r} as CSV: line {reader.line_num}: "
            f"{exc}. Check the quotes on that line: a field holding a comma "
            'or a line break is enclosed in double quotes ("a,b.wav").'
        ) from None
    if rows:
        # a quote never closed swallows the rest of the file into one field of
        # the last record (csv reads it leniently): find it, strictly
        last = io.StringIO(text, newline=None).readlines()[rows[-1][0] - 1 :]
        try:
            list(csv.reader(last, delimiter=delimiter, strict=True))
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise ValueError(
                    f"csv: cannot read {str(path)!r} as CSV: the double quote "
                    f"opened on line {rows[-1][0]} is never closed, so the rest "
                    "of the file would read as one field. Close the quote, or "
                    "remove it."
                ) from None
    if not rows:
        raise ValueError(
            f"csv: {str(path)!r} is empty: it has no header line. Expected: a "
            "header such as file,label,speaker and one line per audio file."
        )
    (_, first), rows = rows[0], rows[1:]
    header = [c.strip() for c in first]
    names: list[str] = []
    for column in header:
        name, n = column.lower(), 0
        while name in names:  # a repeated name: the first is the column
            n += 1
            name = f"{column.lower()}.{n}"
        names.append(name)
    records = []
    for line, row in rows:
        extra = ""
        beyond = [v for v in row[len(names) :] if v.strip()]
        if beyond:
            extra = (
                f"{len(row)} fields, but the header has {len(names)} columns "
                f"(fields beyond them: {beyond[:3]}); a field holding a comma "
                'must be enclosed in double quotes ("a,b.wav"), or the header '
                "lacks a column"
            )
        values = row[: len(names)] + [""] * (len(names) - len(row))
        records.append((line, dict(zip(names, values, strict=True)), extra))
    return header, records


def _read_csv_text(path, encoding):
    """Return the text of the CSV ``path`` in ``encoding`` (a leading BOM dropped).

    A byte the encoding cannot decode is refused with its line and the fix.
    """
    if not isinstance(encoding, str):
        raise TypeError(
            "csv: encoding must be the name of the CSV's text encoding, e.g. "
            f"'utf-8' or 'cp1252'; got {type(encoding).__name__} {encoding!r}."
        )
    try:
        codec = codecs.lookup(encoding).name
        "".encode(codec)  # a bytes-to-bytes codec (base64, zlib) is no text one
    except LookupError:
        raise ValueError(
            f"csv: encoding={encoding!r} is no text encoding Python knows; give "
            "the CSV's encoding by a codec name, e.g. 'utf-8', 'cp1252' (Excel "
            "on a Western European Windows), 'latin-1' or 'utf-16'."
        ) from None
    codec = "utf-8-sig" if codec == "utf-8" else codec  # a BOM is no text
    raw = path.read_bytes()
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode(codec, errors="replace")
        line = before.count("\n") + 1
        context = before.rsplit("\n", 1)[-1][-30:]
        shown = " ".join(f"0x{b:02x}" for b in raw[exc.start : exc.end])
        other = "cp1252" if codec != "cp1252" else "latin-1"
        raise ValueError(
            f"csv: cannot read {str(path)!r} as {encoding}: line {line} holds "
            f"the byte(s) {shown} (after {context!r}), which are not "
            f"{encoding} text; the file was saved in another encoding. Save it "
            f'as UTF-8 (in Excel: "CSV UTF-8"), or pass its encoding, e.g. '
            f'encoding="{other}" (in an experiment file, which sertl run and '
            f'sertl grid take: [corpora.NAME] options = {{ encoding = "{other}" }}).'
        ) from None
    return text.removeprefix("\ufeff")


def _unicode_variant(path, listings):
    """Find the file ``path`` names when it is stored in another Unicode form.

    Each part of ``path`` that does not exist is looked up among the names
    of its folder whose NFC form equals its own: a name typed or written
    composed (NFC, ``ü`` one character) found decomposed on disk (NFD,
    ``u`` and a combining diaeresis, as macOS stores names) or the reverse.
    ``listings`` caches the names of each folder listed.

    Returns ``(found, several)``: the path on disk and ``[]`` when each part
    has one match, else None and the matches of the first part with several
    (``[]`` when one has none).
    """
    parts = path.parts
    current = Path(parts[0])
    for part in parts[1:]:
        step = current / part
        if os.path.lexists(step):
            current = step
            continue
        if current not in listings:
            try:
                listings[current] = os.listdir(current)
            except OSError:  # not a folder, or not listable: nothing found
                listings[current] = []
        key = unicodedata.normalize("NFC", part)
        matches = [
            n for n in listings[current] if unicodedata.normalize("NFC", n) == key
        ]
        if len(matches) != 1:
            return None, [current / n for n in sorted(matches)]
        current = current / matches[0]
    return current, []


def _warn_repeated_files(path, lines):
    """Warn about files of a CSV listed on several lines (``lines``: file -> rows)."""
    repeated = {f: rows for f, rows in lines.items() if len(rows) > 1}
    if not repeated:
        return
    # labels that differ in case or spelling only ("Sad", "sad") are one label
    conflicting = sum(
        len({_user_emotion(lab, set()) for _, lab in rows}) > 1
        for rows in repeated.values()
    )
    # a corpus read without labels (labelled=False) has none to show
    labelled = any(lab for rows in repeated.values() for _, lab in rows)
    shown = [
        f"{f}: lines {', '.join(str(i) for i, _ in rows)}"
        + (f" (labels {', '.join(lab for _, lab in rows)})" if labelled else "")
        for f, rows in sorted(repeated.items())
    ]
    warnings.warn(
        f"csv: {len(repeated)} file(s) appear on more than one line of "
        f"{str(path)!r}"
        + (f" ({conflicting} with different labels)" if labelled else "")
        + ": each line is a row of the table, so the recording is counted (and "
        "may be split across train and test) more than once"
        + (", under each label given" if labelled else "")
        + f". Keep one line per file.{_list(shown)}",
        CorpusWarning,
        stacklevel=external_stacklevel(),
    )


class FoldersCorpus(CorpusReader):
    r"""A user's own corpus stored as one folder per label.

    Layout: ``ROOT/<label>/**/*.wav`` (or any format of
    :data:`AUDIO_SUFFIXES`: ``.flac``, ``.ogg``, ``.aiff`` ...): the first folder
    below ``ROOT`` is the label, mapped to a canonical name (``Angry`` ->
    ``anger``; other labels are kept in lower case with a
    :class:`CorpusWarning`). Files directly in ``ROOT`` are reported. A
    root one level off is refused, saying which folder to pass: every file
    directly in ``ROOT`` (the folder of one label), or every file in one
    folder that is no emotion whose subfolders are (``ROOT/MyCorpus/Angry``).
    The
    speaker comes from ``speaker_pattern`` when given, or from a folder
    (``levels``), else it is ``"unknown"`` (per-speaker normalisation then
    treats the corpus as one speaker). A corpus stored one folder per
    speaker, each holding one folder per label (``ROOT/spk1/Angry/...``),
    is read with ``levels=["speaker", "label"]``; read without it, every
    file would be labelled with its speaker's folder, and it is refused,
    saying so, when the second folders are emotions.

    Parameters
    ----------
    speaker_pattern : str, default=None
        Regular expression searched in each file stem with a named group
        ``speaker`` (and optionally ``gender``, f/m); a file that does not
        match, or whose ``speaker`` group is empty or takes no part in the
        match (an optional group such as ``(?P<speaker>spk\d+)?``), is
        reported and skipped.
    corpus : str, default=None
        Corpus name in the table; the name of ``ROOT`` when None.
    language : str, default="unknown"
        Language of the corpus.
    levels : list of str, default=None
        What the folders below ``ROOT`` are, outermost first (None:
        ``["label"]``, the label folders right below ``ROOT``): ``"label"``
        (once), ``"speaker"`` (at most once, not with ``speaker_pattern``)
        and ``"*"`` for a folder to pass over, e.g. ``["speaker",
        "label"]`` for ``ROOT/spk1/Angry/a.wav`` or ``["label",
        "speaker"]`` for ``ROOT/Angry/spk1/a.wav``. A file less deep is
        reported and skipped; folders below these levels are searched. In a
        ``sertl run`` experiment: ``options = { levels = ["speaker",
        "label"] }``.

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> from sertl_speech import FoldersCorpus, load_sample
    >>> emodb = load_sample("emodb")
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> (tmp / "Sad").mkdir()
    >>> _ = shutil.copy(emodb.file[0], tmp / "Sad" / "spk7_take1.flac")
    >>> t = FoldersCorpus(speaker_pattern=r"^(?P<speaker>spk\d+)_").read(tmp)
    >>> t[["speaker", "emotion", "emotion_orig"]].values.tolist()
    [['spk7', 'sadness', 'Sad']]

    One folder per speaker, each with one folder per label:

    >>> (tmp / "by_speaker" / "anna" / "Happy").mkdir(parents=True)
    >>> _ = shutil.copy(emodb.file[0], tmp / "by_speaker" / "anna" / "Happy" / "1.flac")
    >>> t = FoldersCorpus(levels=["speaker", "label"]).read(tmp / "by_speaker")
    >>> t[["speaker", "emotion", "emotion_orig"]].values.tolist()
    [['anna', 'happiness', 'Happy']]
    >>> shutil.rmtree(tmp)
    """

    registry_name = "folders"
    corpus = "folders"
    description = "Your own data: one folder per label"
    language = "unknown"
    layout = "ROOT/<label>/<file>.wav, one folder per label"

    def __init__(
        self, *, speaker_pattern=None, corpus=None, language="unknown", levels=None
    ):
        self.speaker_pattern = speaker_pattern
        self.corpus = corpus
        self.language = language
        self.levels = levels

    def read(self, root, *, emotions=None):
        """Read the corpus under ``root``, one folder per label, into a table.

        Parameters
        ----------
        root : str or path-like
            The folder that holds one folder per label.
        emotions : iterable of str, default=None
            Keep only these canonical emotions; all when None.

        Returns
        -------
        table : pandas.DataFrame
            One row per file kept, columns :data:`COLUMNS`, sorted by file.
            ``table.attrs["skipped"]`` lists the files skipped (outside a
            label folder, or not matched by ``speaker_pattern``), as
            ``{"file": absolute path, "reason": why}`` dictionaries (also
            carried by the :class:`CorpusWarning` that reports them).

        Raises
        ------
        FileNotFoundError
            When ``root`` does not exist (``NotADirectoryError`` when it is
            a file).
        TypeError
            When ``root`` is None or an option has the wrong type.
        ValueError
            When no audio file (or none kept) is found, ``root`` is one
            level off, ``speaker_pattern`` is invalid, or ``emotions``
            names an unknown class.
        """
        name = self.registry_name
        root = _check_root(root, name)
        if not root.is_dir():
            raise NotADirectoryError(
                f"folders: {str(root)!r} is not a folder ({self.layout})."
            )
        keep = _check_emotions(emotions, name)
        compiled = isinstance(self.speaker_pattern, re.Pattern)  # also taken
        _check_text_options(
            name,
            speaker_pattern=None if compiled else self.speaker_pattern,
            corpus=self.corpus,
            language=self.language,
        )
        pattern = None
        if self.speaker_pattern is not None:
            try:
                pattern = re.compile(self.speaker_pattern)
            except re.error as exc:
                raise ValueError(
                    f"folders: speaker_pattern {self.speaker_pattern!r} is not a valid "
                    f"regular expression: {exc}"
                ) from exc
            if "speaker" not in pattern.groupindex:
                raise ValueError(
                    "folders: speaker_pattern needs a named group (?P<speaker>...)."
                )
        levels = _folders_levels_option(self.levels, pattern is not None)
        layout = _folders_layout(levels, self.layout)
        files, unreadable = _split_unreadable(_audio_files(root, AUDIO_SUFFIXES))
        _warn_unreadable(name, unreadable, root)
        if not files:
            raise ValueError(
                f"folders: no audio file ({', '.join(AUDIO_SUFFIXES)}) found under "
                f"{str(root)!r}"
                f"{_but_unreadable(unreadable)}. Expected layout: {layout}"
            )
        corpus = self.corpus or root.name
        rows, bad, unknown = [], [], set()
        for path in files:
            rel = path.relative_to(root)
            if len(rel.parts) <= len(levels):
                where = "a label folder"
                if levels != ["label"]:
                    where = f"{len(levels)} folders ({'/'.join(levels)}/FILE: levels)"
                bad.append((str(path), f"{rel}: not inside {where}"))
                continue
            label = rel.parts[levels.index("label")]
            speaker, gender = "unknown", "unknown"
            if "speaker" in levels:
                speaker = rel.parts[levels.index("speaker")]
            if pattern is not None:
                m = pattern.search(path.stem)
                if m is None:
                    bad.append((str(path), f"{rel}: speaker_pattern does not match"))
                    continue
                speaker = m.group("speaker")
                if not speaker:  # an optional group that took no part, or ""
                    bad.append(
                        (
                            str(path),
                            f"{rel}: speaker_pattern matches, but its speaker "
                            "group takes no part or is empty, so the file has no "
                            "speaker id (make the group required, e.g. no '?' "
                            "after it)",
                        )
                    )
                    continue
                if "gender" in pattern.groupindex:
                    gender = _gender(m.group("gender") or "")
            rows.append(
                {
                    "file": str(path),
                    "corpus": corpus,
                    "speaker": speaker,
                    "gender": gender,
                    "language": self.language,
                    "emotion": _user_emotion(label, unknown),
                    "emotion_orig": label,
                }
            )
        if levels == ["label"]:
            _check_folders_level(root, files, rows)
        return _finish(
            name, rows, bad, unknown, keep, root, layout, "files", unreadable
        )


def _folders_levels_option(levels, has_pattern):
    """Check the folders reader's ``levels`` option; return it as a list."""
    if levels is None:
        return ["label"]
    example = 'levels=["speaker", "label"]'
    if isinstance(levels, str) or not isinstance(levels, (list, tuple)):
        raise TypeError(
            "folders: levels must be a list naming what each folder below the "
            f"root is, e.g. {example}; got {type(levels).__name__} {levels!r}."
        )
    levels = list(levels)
    odd = [v for v in levels if v not in ("label", "speaker", "*")]
    if odd or levels.count("label") != 1 or levels.count("speaker") > 1:
        raise ValueError(
            f"folders: levels={levels!r} must hold 'label' once, 'speaker' at "
            "most once and '*' for each folder to pass over, outermost first, "
            f"e.g. {example} for ROOT/spk1/Angry/a.wav."
        )
    if "speaker" in levels and has_pattern:
        raise ValueError(
            "folders: levels names a speaker folder and speaker_pattern a "
            "speaker in the file name; give one of them."
        )
    return levels


def _folders_layout(levels, layout):
    """Return the layout the errors show: ``layout``, or the one ``levels`` reads.

    >>> from sertl_speech._corpora import _folders_layout
    >>> _folders_layout(["speaker", "*", "label"], "ROOT/<label>/<file>.wav")
    "ROOT/<speaker>/<folder>/<label>/<file>.wav (levels=['speaker', '*', 'label'])"
    """
    if levels == ["label"]:
        return layout
    folders = "/".join("<folder>" if v == "*" else f"<{v}>" for v in levels)
    return f"ROOT/{folders}/<file>.wav (levels={levels!r})"


def _check_folders_level(root, files, rows):
    """Refuse a ``folders`` root one level above or below the label folders.

    Above: every file is in one folder that is no emotion, whose own
    subfolders are emotions (``ROOT/MyCorpus/Angry/...``): each file would
    be labelled with the corpus's name; or the files are in several such
    folders (one per speaker, ``ROOT/spk1/Angry/...``), which ``levels``
    reads. Below: every file lies directly in ``ROOT`` (``ROOT`` is one
    label's folder), so none has a label.
    """
    if files and not rows and all(p.parent == root for p in files):
        raise ValueError(
            f"folders: all {len(files)} audio files lie directly in "
            f"{str(root)!r}, none in a label folder: it looks like the folder of "
            f"one label. Pass its parent folder {str(root.parent)!r} (or the "
            "folder that holds one folder per label) as root."
        )
    labels = {r["emotion_orig"] for r in rows}
    if not labels or any(canonical_emotion(label) is not None for label in labels):
        return
    parts = [p.relative_to(root).parts for p in files]
    below = sorted({q[1] for q in parts if len(q) > 2 and q[0] in labels})
    emotions = [b for b in below if canonical_emotion(b) is not None]
    if len(emotions) < 2:
        return
    if len(labels) > 1:
        raise ValueError(
            f"folders: no folder under {str(root)!r} is an emotion "
            f"({', '.join(map(repr, sorted(labels)[:5]))} ...), while the "
            f"folders inside them are ({', '.join(map(repr, emotions[:5]))}): "
            "the label folders are one level down, as in one folder per "
            "speaker, and each file would be labelled with the folder "
            "above its label. Say so with levels=['speaker', 'label'] (or "
            "['*', 'label'] when those folders are no speakers, or "
            "['label', '*'] when they are the labels you mean, e.g. "
            "positive/negative, and the inner folders are passed over; in an "
            "experiment file, which sertl run and sertl grid take: "
            '[corpora.NAME] options = { levels = ["speaker", "label"] }).'
        )
    (label,) = labels
    raise ValueError(
        f"folders: every audio file under {str(root)!r} is in the one folder "
        f"{label!r}, which is no emotion, while its subfolders "
        f"({', '.join(map(repr, emotions))}) are: root is one level above "
        "the label folders, "
        f"and each file would be labelled {label!r}. Pass "
        f"{str(root / label)!r} as root."
    )


def _finish(name, rows, bad, unknown, keep, root, layout, what, unreadable=(), hint=""):
    """End a user-data reader; ``bad`` holds ``(file, reason)`` of skipped entries.

    ``unreadable``: skipped entries already reported (links whose target is
    missing), added to the table's ``attrs["skipped"]`` before ``bad``.
    ``hint`` ends the error raised when no row is usable.
    """
    skipped = [{"file": f, "reason": why} for f, why in bad]
    if bad:
        _warn_skipped(
            f"{name}: skipped {len(bad)} {what} of {str(root)!r}:"
            f"{_list(why for _, why in bad)}",
            skipped,
        )
    if not rows:
        raise ValueError(
            f"{name}: no usable {what} in {str(root)!r}. Expected: {layout}.{hint}"
        )
    _warn_unknown_labels(name, unknown)
    table = _to_table(name, rows, keep, f"in {str(root)!r}")
    return _with_skipped(table, [*unreadable, *skipped])


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

READERS = (
    EmoDB,
    RAVDESS,
    SAVEE,
    TESS,
    CREMAD,
    EMOVO,
    URDU,
    TurEVDB,
    IEMOCAP,
    CsvCorpus,
    FoldersCorpus,
)
_BUILTIN = {cls.registry_name: cls for cls in READERS}


def get_reader_class(name):
    """Return the corpus reader class registered under ``name``.

    Built-in readers are answered directly; other names are looked up in
    the sertl plugin registry (third-party readers).

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"emodb"``.

    Returns
    -------
    cls : type
        A :class:`CorpusReader` subclass (or any class with ``read(root)``).

    Examples
    --------
    >>> from sertl_speech import get_reader_class
    >>> get_reader_class("emodb").__name__
    'EmoDB'
    """
    if not isinstance(name, str):
        raise TypeError(
            "Corpus reader name must be a str, such as 'emodb' or 'csv', got "
            f"{type(name).__name__} {name!r}; `sertl corpora` lists the readers."
        )
    key = name.strip().lower().replace("-", "_")
    if key in _BUILTIN:
        return _BUILTIN[key]
    from sertl_core import get_registry

    return get_registry().get("corpora", key)


def load_corpus(name, root, *, emotions=None, **options):
    """Read a corpus into a tidy table.

    Parameters
    ----------
    name : str
        Reader name (``sertl corpora`` lists them): ``"emodb"``,
        ``"ravdess"``, ``"savee"``, ``"tess"``, ``"crema_d"``, ``"emovo"``,
        ``"urdu"``, ``"turev_db"``, ``"iemocap"``, ``"csv"``, ``"folders"``
        or a third-party reader.
    root : str or path-like
        The corpus folder as downloaded (for ``"csv"``: the CSV file).
    emotions : iterable of str, default=None
        Keep only these canonical emotions (e.g. ``["anger", "happiness",
        "neutral", "sadness"]``); all when None.
    **options
        Reader options, e.g. ``vocal_channel="speech"`` for RAVDESS,
        ``speaker_pattern=...`` for ``"folders"``, or ``columns={...}`` and
        ``encoding=...`` for ``"csv"``.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`COLUMNS`: file, corpus, speaker, gender, language,
        emotion, emotion_orig, duration.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist (``NotADirectoryError`` when a folder
        reader is given a file).
    ValueError
        When no audio is found, or ``emotions`` names an unknown class.
    TypeError
        When the reader does not take an option given (the message lists
        the options it takes).

    Examples
    --------
    >>> from sertl_speech import load_corpus, sample_path
    >>> root = sample_path("ravdess")
    >>> table = load_corpus("ravdess", root, emotions=["anger", "sadness"])
    >>> sorted(table["emotion"].unique())
    ['anger', 'sadness']
    """
    cls = get_reader_class(name)
    try:
        reader = cls(**options)
    except TypeError as exc:
        takes = _reader_options(cls)
        listed = "" if takes is None else f" Its options: {', '.join(takes) or 'none'}."
        raise TypeError(
            f"Reader {name!r} does not take the options {sorted(options)}: "
            f"{exc}.{listed}"
        ) from exc
    return reader.read(root, emotions=emotions)


def _reader_options(cls):
    """Return the names of the keyword options of reader ``cls`` (None: any)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to read
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [
        p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


# --------------------------------------------------------------------------
# The shipped sample
# --------------------------------------------------------------------------

_SAMPLES = {"emodb": "EmoDB", "ravdess": "RAVDESS"}


def sample_path(corpus):
    """Return the folder of the real sample shipped with sertl-speech.

    The sample holds 48 utterances of EmoDB (speakers 03, 08, 09, 10, 11,
    13) and 48 of RAVDESS's speech part (actors 01-06), the two shortest per
    speaker of each class anger, happiness, neutral and sadness, as 16 kHz
    FLAC in the official layouts (about 3.4 MB). Attributions and licences
    (research use; RAVDESS CC BY-NC-SA 4.0) are in ``ATTRIBUTION.md`` beside
    it.

    Parameters
    ----------
    corpus : {"emodb", "ravdess"}
        Which sample.

    Returns
    -------
    path : pathlib.Path
        Folder to pass to the corpus reader.

    Examples
    --------
    >>> from sertl_speech import sample_path
    >>> sample_path("emodb").name
    'EmoDB'
    >>> (sample_path("emodb").parent / "ATTRIBUTION.md").is_file()
    True
    """
    key = str(corpus).strip().lower()
    if key not in _SAMPLES:
        raise ValueError(
            f"No shipped sample for {corpus!r}; samples exist for {sorted(_SAMPLES)}."
        )
    path = Path(__file__).resolve().parent / "data" / "sample" / _SAMPLES[key]
    if not path.is_dir():
        raise FileNotFoundError(
            f"The shipped sample {str(path)!r} is missing: reinstall sertl-speech "
            "(the package data was not installed)."
        )
    return path


def load_sample(corpus, *, emotions=None):
    """Read the shipped sample of a corpus into a table.

    Parameters
    ----------
    corpus : {"emodb", "ravdess"}
        Which sample (see :func:`sample_path`).
    emotions : iterable of str, default=None
        Keep only these canonical emotions.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`COLUMNS`, 48 rows per corpus.

    Examples
    --------
    >>> from sertl_speech import load_sample
    >>> table = load_sample("ravdess")
    >>> len(table), sorted(table["emotion"].unique())
    (48, ['anger', 'happiness', 'neutral', 'sadness'])
    """
    return load_corpus(corpus, sample_path(corpus), emotions=emotions)
