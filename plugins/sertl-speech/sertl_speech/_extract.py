"""`AudioFeatures`: a scikit-learn transformer from audio to features.

Parallel (joblib or Dask), cached (on disk, by content) and robust (every bad
input is reported with its reason; none aborts the batch).
"""

from __future__ import annotations

import os
import reprlib
import warnings
from collections.abc import Iterator, Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from sertl_core import SertlWarning, external_stacklevel
from sertl_core.params import Interval, ParamValidationMixin, StrOptions

from ._audio import (
    TARGET_SR,
    AudioError,
    _nan_message,
    _note_kind,
    _wav_truncation_note,
    check_waveform,
    load_audio,
)
from ._cache import FeatureCache, _content_key_and_state, file_state, waveform_key
from ._features import FEATURE_SETS, N_MELS_LOGMEL, extract, feature_names

__all__ = [
    "AudioFeatures",
    "AudioFeaturesWarning",
    "FeatureExtractionError",
    "pad_sequences",
]

FEATURES_VERSION = "6"
"""Bumped whenever the numbers of any feature set change (invalidates caches)."""

# Distributions whose code computes the features: an upgrade of any of them
# may change the numbers, so their versions are part of the cache key.
_COMPUTING_DISTRIBUTIONS = (
    "sertl-speech",
    "numpy",
    "scipy",
    "librosa",
    "soundfile",
    "soxr",
)


def _computing_versions():
    """Installed versions of the distributions that compute the features."""
    from importlib import metadata

    found = {}
    for name in _COMPUTING_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


class AudioFeaturesWarning(SertlWarning):
    """Some inputs gave no features (see ``AudioFeatures.failed_``), or odd ones.

    Emitted once per ``transform`` by :class:`AudioFeatures` with
    ``errors="warn"`` (the default) when inputs are missing, unreadable,
    empty, silent, too short or hold NaN samples; their rows are NaN. Also
    emitted (in every ``errors`` mode) when the ``cache_dir`` folder cannot
    be created, read or written: the features are then extracted uncached;
    and, in every ``errors`` mode, once per ``transform`` for the float
    inputs whose peak is above 2.0 (PCM sample values not divided by their
    full scale, e.g. an ``int16`` signal cast to float): their features are
    computed as given, not failed, but do not match the same audio at full
    scale 1.0; and once per ``transform`` for the WAV files that look
    truncated (their header gives more audio than the file holds): their
    features describe the audio present. ``load_audio`` emits these notes
    directly.

    See Also
    --------
    FeatureExtractionError : Raised instead with ``errors="raise"``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sertl_speech import AudioFeatures, AudioFeaturesWarning
    >>> t = np.arange(16000) / 16000
    >>> waves = [0.1 * np.sin(2 * np.pi * 220.0 * t), np.zeros(16000)]
    >>> features = AudioFeatures("mfcc_stats")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     X = features.fit_transform(waves)
    >>> [w.category.__name__ for w in caught]
    ['AudioFeaturesWarning']
    >>> np.isnan(X).any(axis=1).tolist(), features.failed_["reason"].tolist()
    ([False, True], ['silent'])
    """


class FeatureExtractionError(ValueError):
    """Raised with ``errors="raise"`` after the batch, listing every failure.

    Parameters
    ----------
    message : str
        Summary: how many inputs failed, per reason, and the first one.
    failed : pandas.DataFrame
        One row per failed input: index, item, reason, message.

    Attributes
    ----------
    failed : pandas.DataFrame
        One row per failed input: index, item, reason, message.

    See Also
    --------
    AudioFeaturesWarning : Emitted instead with ``errors="warn"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech import AudioFeatures, FeatureExtractionError
    >>> t = np.arange(16000) / 16000
    >>> waves = [0.1 * np.sin(2 * np.pi * 220.0 * t), np.zeros(16000)]
    >>> try:
    ...     AudioFeatures("mfcc_stats", errors="raise").fit_transform(waves)
    ... except FeatureExtractionError as err:
    ...     print(err.failed[["index", "reason"]].to_dict("records"))
    [{'index': 1, 'reason': 'silent'}]
    """

    def __init__(self, message, failed):
        super().__init__(message)
        self.failed = failed


_MAX_CHANNELS = 8
"""Most columns of a 2-D array taken for one multi-channel waveform (7.1)."""


def _describe(item):
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    arr = np.asarray(item)
    return f"<waveform shape={arr.shape} dtype={arr.dtype}>"


def _extract_one(item, feature_set, sample_rate, min_duration, silence_threshold):
    """Return ("ok", features, notes) or ("error", reason, message) for one input.

    ``notes`` lists what is odd about an accepted input (a float signal in
    PCM units, a truncated WAV file): reported by ``transform`` in one
    warning per kind, never a failure.
    """
    notes: list[str] = []
    try:
        if isinstance(item, (str, os.PathLike)):
            y = load_audio(
                item,
                min_duration=min_duration,
                silence_threshold=silence_threshold,
                notes=notes,
            )
        else:
            y = check_waveform(
                item,
                sample_rate,
                min_duration=min_duration,
                silence_threshold=silence_threshold,
                notes=notes,
            )
        feats = extract(y, feature_set)
        if not np.all(np.isfinite(feats)):
            raise AudioError("failed", "the extractor produced non-finite values")
        return ("ok", feats, notes)
    except AudioError as exc:
        return ("error", exc.reason, exc.message)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # reported per item, never silently dropped
        return ("error", "failed", f"{type(exc).__name__}: {exc}")


def _crash_message(record, info):
    """Say that a file ended an earlier run and a retry, and how to retry it.

    ``record`` is the crash record's path, or None when the cache folder
    could not be written (``info["marker"]`` then names the marker left).
    """
    pid = info.get("pid")
    by = f" (process {pid})" if isinstance(pid, int) else ""
    said = (
        f"decoding it ended an earlier run{by} without a Python error (a crash "
        "in the decoder, the memory limit, or a kill such as kill -9 or a job's "
        "time limit), and it ended the separate process that tried it again "
        "alone too, so it is skipped and the run goes on"
    )
    if record is None:
        return (
            f"{said}. Its crash marker {info.get('marker')} could not be turned "
            f"into a record ({info.get('error')}), so every call tries it again: "
            "make the cache folder writable, or delete the marker and remove "
            "the file from the inputs."
        )
    return (
        f"{said} (later runs do not try it again). To try it again, delete "
        f"{record} (a file whose content changed is tried again by itself)."
    )


def _unrecorded_warning(lost, outcome):
    """Say that crash markers could not become records, and what to do."""
    info = lost[0]
    more = f" (and {len(lost) - 1} more)" if len(lost) > 1 else ""
    return (
        f"the feature cache folder {str(info['marker'].parent)!r} cannot be "
        f"written ({info['error']}): the crash marker {info['marker'].name} "
        f"left there by process {info.get('pid')}, which ended while decoding "
        f"{info.get('file')}{more}, could not be turned into a crash record. "
        f"{outcome}, and will be on every call while the marker is there: make "
        "the folder writable, or delete the marker."
    )


def _unchanged(item, state):
    """Whether a file input still has ``state`` (waveforms: always True)."""
    if state is None:
        return True
    try:
        return file_state(item) == state
    except OSError:
        return False


def _extract_chunk(chunk, *args):
    return [(i, _extract_one(item, *args)) for i, item in chunk]


def _in_workers(entries, size, n_jobs, args, backend=None):
    """Run ``entries`` in joblib workers, ``size`` per task; yield each task's batch.

    There are two workers at least (joblib runs ``n_jobs=1`` in the caller),
    so an input that crashes its decoder takes a worker down, not the
    caller. ``backend`` None is the one of the current
    ``joblib.parallel_config``.
    """
    from joblib import Parallel, delayed

    chunks = [entries[k : k + size] for k in range(0, len(entries), size)]
    # no more workers than chunks: a larger n_jobs starts processes that get
    # nothing (and loky cannot size a pool past a C int)
    n = min(n_jobs, max(len(chunks), 2))
    par = Parallel(n_jobs=n, backend=backend, return_as="generator_unordered")
    return par(delayed(_extract_chunk)(c, *args) for c in chunks)


def _subprocesses_forbidden():
    """Whether ``JOBLIB_MULTIPROCESSING=0`` allows no child process, as joblib reads it.

    joblib then runs every loop in the calling process (its
    ``effective_n_jobs`` is 1), so ``transform`` decodes in this process;
    the retry of a blamed file, which needs a process of its own, cannot run.
    """
    try:
        return int(os.environ.get("JOBLIB_MULTIPROCESSING", "1")) == 0
    except ValueError:  # joblib itself refuses such a value at import
        return False


class _DiedBeforeDecoding(Exception):
    """The retry's process ended before it began decoding its file.

    A failure to start (an import error, the memory limit, a kill) that
    says nothing about the file: no verdict.
    """


# What decoding and the features import on first use (the rest of the
# decoder is imported with this module): the retry's process imports them
# before it says it began decoding (:func:`_decode_flagged`)
_DECODER_MODULES = ("soundfile", "soxr", "librosa", "scipy.signal", "scipy.special")


def _decode_flagged(began, chunk, entries, *args):
    """Run ``chunk(entries, *args)`` in the retry's process, after writing ``began``.

    The file ``began`` exists once the process has started, unpickled the
    task and imported the decoder, the libraries that decoding imports on
    first use (:data:`_DECODER_MODULES`) included: a death after it was
    written is one of decoding the file, one before (a library that does
    not import, the memory limit while it loads) is not.
    """
    import importlib

    for name in _DECODER_MODULES:
        importlib.import_module(name)
    with open(began, "wb"):
        pass
    return chunk(entries, *args)


def _decode_alone(entry, args):
    """Decode ``entry`` in a process of its own, started for it and ended after.

    Not in joblib's shared, reused loky executor: a worker of another call
    that dies meanwhile (or died before) breaks that executor, and this
    file would be blamed for a crash that was not its own. Here only the
    death of this file's process raises ``BrokenExecutor``, and only once
    that process began decoding the file (:func:`_decode_flagged`): a death
    at start-up (an import failing in the new process, the memory limit
    before decoding) raises :class:`_DiedBeforeDecoding` instead.

    Returns
    -------
    result : tuple
        The result of :func:`_extract_one`.

    Raises
    ------
    BrokenExecutor
        The process ended while it decoded the file.
    _DiedBeforeDecoding
        The process ended before it began decoding the file.
    """
    import tempfile
    from concurrent.futures import BrokenExecutor

    from joblib.externals.loky import ProcessPoolExecutor

    with tempfile.TemporaryDirectory(prefix="sertl-retry-") as folder:
        began = os.path.join(folder, "began")
        try:
            with ProcessPoolExecutor(max_workers=1) as pool:
                # _extract_chunk looked up now: the same decoder as the caller's
                future = pool.submit(
                    _decode_flagged, began, _extract_chunk, [entry], *args
                )
                ((_, result),) = future.result()
        except BrokenExecutor as exc:
            if os.path.exists(began):
                raise
            raise _DiedBeforeDecoding(
                f"the process ended before it began decoding the file "
                f"({type(exc).__name__}: {exc}), e.g. an import failing in it "
                "or the memory limit at its start, which is no verdict on the file"
            ) from exc
    return result


def _retry_alone(entries, args):
    """Decode each of ``entries`` alone in a separate process (a crash record's).

    Yields ``(index, result, died)``: ``died`` True when the decoder ended
    the process (a crash, the memory limit, a kill) after it began decoding
    the file, then ``result`` is None; None when there is no verdict on the
    file (``result`` says why): the process could not be run (e.g. in a
    daemonic process, such as a Dask worker's, which cannot start one),
    ended before it began decoding (see :func:`_decode_alone`), or
    ``JOBLIB_MULTIPROCESSING=0`` allows no child process (the file is not
    decoded in this one, which a real crasher would end). Each file gets a
    process of its own, even inside
    ``joblib.parallel_config(backend="threading")``; never this one.
    """
    from concurrent.futures import BrokenExecutor

    def no_verdict(
        why, then="it is skipped this time and tried again by the next call"
    ):
        msg = (
            "it ended an earlier run, and could not be tried again in a "
            f"separate process ({why}); {then}"
        )
        return ("error", "failed", msg)

    if _subprocesses_forbidden():
        for entry in entries:
            yield (
                entry[0],
                no_verdict(
                    "JOBLIB_MULTIPROCESSING=0 is set, which allows no child "
                    "process, and decoding it in this process would end this "
                    "one if the file is what crashed",
                    then="it is skipped on every call while that is set: unset "
                    "JOBLIB_MULTIPROCESSING for one call to have it tried alone "
                    "(decoded, it is cached; crashing, it is reported from then "
                    "on), delete its crash record (*.crashed.json) or marker in "
                    "the cache folder to decode it in this process at that "
                    "risk, or leave it out of the inputs",
                ),
                None,
            )
        return
    for entry in entries:
        try:
            result = _decode_alone(entry, args)
        except (BrokenExecutor, MemoryError):
            yield entry[0], None, True
            continue
        except _DiedBeforeDecoding as exc:  # a failed start: not the file's doing
            yield entry[0], no_verdict(str(exc)), None
            continue
        except Exception as exc:  # no verdict on the file: tried next time
            yield entry[0], no_verdict(f"{type(exc).__name__}: {exc}"), None
            continue
        yield entry[0], result, False


def _path_column(X):
    """Return the paths of a 2-D array with one column of paths, else None."""
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1 and len(X)):
        return None
    column = X[:, 0]
    if not all(isinstance(v, str | os.PathLike) for v in column):
        return None
    return [os.fspath(v) for v in column]


def _waveform_column(X):
    """Return the waveforms of a 2-D object array with one column of them, else None.

    A DataFrame with one column holding a waveform array per row (e.g.
    ``pd.DataFrame({"audio": [y1, y2]})``) arrives here as such an array.
    """
    if not (
        isinstance(X, np.ndarray)
        and X.dtype == object
        and X.ndim == 2
        and X.shape[1] == 1
        and len(X)
    ):
        return None
    column = X[:, 0]
    if not all(isinstance(v, np.ndarray | list | tuple) for v in column):
        return None
    return list(column)


def _check_no_table_output(est):
    """Refuse, clearly, a DataFrame output for ``"logmel"`` (one sequence per row)."""
    import sklearn

    wanted = getattr(est, "_sklearn_output_config", {}).get(
        "transform", sklearn.get_config()["transform_output"]
    )
    if wanted not in (None, "default"):
        raise ValueError(
            f"feature_set='logmel' gives one (frames, 64) sequence per input, "
            f"which cannot be a {wanted} table (transform_output={wanted!r} is "
            "set). Call .set_output(transform='default') on this AudioFeatures, "
            "or pad the sequences first (pad_sequences)."
        )


def pad_sequences(sequences, *, max_frames=None, value=0.0, dtype=np.float32):
    """Stack variable-length frame sequences into a padded 3-D array.

    Parameters
    ----------
    sequences : sequence of ndarray of shape (n_frames_i, n_features)
        For example the output of ``AudioFeatures(feature_set="logmel")``.
    max_frames : int, default=None
        Length to pad or truncate to; the longest sequence when None.
    value : float or "floor", default=0.0
        Padding value (written after each sequence's frames). ``np.nan``
        marks the padding as such: sertl-neural's ``network="cnn"`` and
        ``"crnn"`` leave all-NaN frames out of their pooling, so a
        prediction does not depend on how much padding follows the
        utterance (the choice for those networks). ``"floor"`` pads each
        sequence with its own minimum (per feature), which for raw log-mel
        frames is the recording's silence level, for models that cannot skip
        frames: in the log domain ``0.0`` is a loud frame, which a model
        pooling over all frames would read as speech.
    dtype : dtype, default=np.float32
        Output dtype.

    Returns
    -------
    X : ndarray of shape (n_sequences, max_frames, n_features)
        Padded sequences (frames after each length are ``value``).
    lengths : ndarray of shape (n_sequences,), int64
        Number of real frames of each sequence (after truncation).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech import pad_sequences
    >>> X, lengths = pad_sequences([np.ones((2, 3)), np.ones((4, 3))])
    >>> X.shape, lengths.tolist()
    ((2, 4, 3), [2, 4])
    >>> X, _ = pad_sequences([[[-9.0], [-2.0]], np.zeros((3, 1))], value="floor")
    >>> X[0].ravel().tolist()  # padded with the first sequence's floor
    [-9.0, -2.0, -9.0]
    """
    seqs = [np.asarray(s) for s in sequences]
    if not seqs:
        raise ValueError(
            "pad_sequences: sequences is empty; give at least one (n_frames, "
            "n_features) array, e.g. the output of "
            "AudioFeatures(feature_set='logmel')."
        )
    widths = {s.shape[1] for s in seqs if s.ndim == 2}
    if any(s.ndim != 2 for s in seqs) or len(widths) != 1:
        raise ValueError(
            "pad_sequences: every sequence must be 2-D (n_frames, n_features) "
            "with the same n_features; got shapes "
            f"{sorted({s.shape for s in seqs})[:5]}. Pad sequences of one "
            "feature set (e.g. AudioFeatures(feature_set='logmel')), and reshape "
            "a 1-D sequence of one feature to s.reshape(-1, 1)."
        )
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    if max_frames is None:
        max_frames = int(lengths.max())
    floor = isinstance(value, str)
    if floor and value != "floor":
        raise ValueError(
            f"pad_sequences: value must be a number or 'floor', got {value!r}: "
            "pad with e.g. value=0.0, value=np.nan (frames a network leaves "
            "out) or value='floor' (each sequence's own minimum)."
        )
    lengths = np.minimum(lengths, max_frames)
    out = np.full(
        (len(seqs), max_frames, widths.pop()), 0.0 if floor else value, dtype=dtype
    )
    for i, (s, n) in enumerate(zip(seqs, lengths, strict=True)):
        out[i, :n] = s[:n]
        if floor and n < max_frames and s.shape[0]:
            out[i, n:] = s.min(axis=0)
    return out, lengths


def _failure_report(items, failures):
    """Return the ``failed_`` table of ``failures`` and its summary (None: none).

    ``failures`` holds ``(index, reason, message)`` of the failed ``items``.
    """
    import pandas as pd

    failures = sorted(failures)
    table = pd.DataFrame(
        {
            "index": [f[0] for f in failures],
            "item": [_describe(items[f[0]]) for f in failures],
            "reason": [f[1] for f in failures],
            "message": [f[2] for f in failures],
        }
    )
    if not failures:
        return table, None
    counts = table["reason"].value_counts().to_dict()
    first = table.iloc[0]
    summary = (
        f"{len(failures)} of {len(items)} inputs gave no features ({counts}); "
        f"first: {first['item']}: {first['reason']}: {first['message']}. "
        "See the `failed_` attribute for the full report."
    )
    return table, summary


# per kind of note: what the inputs look like, and what their features are
_NOTE_WARNINGS = {
    "pcm_scale": (
        "look like PCM sample values in float form",
        "Their features were computed as given and do not match the same "
        "audio at full scale 1.0",
    ),
    "truncated": (
        "look truncated (their WAV header gives more audio than the file holds)",
        "Their features describe only the audio present",
    ),
}


def _warn_notes(items, notes):
    """Emit one :class:`AudioFeaturesWarning` per kind of ``notes``.

    ``notes`` holds ``(index, note)`` of the odd inputs of ``items``, sorted;
    each warning counts the inputs of its kind and names the first.
    """
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for i, note in notes:
        by_kind.setdefault(_note_kind(note), []).append((i, note))
    for kind, (looks, features) in _NOTE_WARNINGS.items():
        found = by_kind.get(kind)
        if not found:
            continue
        first_i, first_note = found[0]
        n_inputs = len({i for i, _ in found})
        warnings.warn(
            f"{n_inputs} of {len(items)} inputs {looks}; first: "
            f"{_describe(items[first_i])} (input {first_i}): {first_note}. "
            f"{features} (these inputs are not failures, not in failed_; "
            "notes_ lists them).",
            AudioFeaturesWarning,
            stacklevel=external_stacklevel(),
        )


def _is_nan(value):
    """Return True for a scalar NaN (float, numpy float, pd.NA, NaT)."""
    import pandas as pd

    return (
        np.ndim(value) == 0
        and not isinstance(value, str | bytes)
        and bool(pd.isna(value))
    )


class AudioFeatures(ParamValidationMixin, TransformerMixin, BaseEstimator):
    """Acoustic features from audio files or waveforms.

    A stateless scikit-learn transformer: ``transform`` reads each file (any
    format libsndfile reads, any sample rate, mono or multi-channel), mixes
    it to mono, resamples to 16 kHz and computes one of three feature sets
    from a single short-time Fourier transform (25 ms Hann, 10 ms hop):

    ``"functionals"`` (default, 316 features)
        An eGeMAPS-like set [1]_ written from scratch on numpy: F0 (YIN-style
        [2]_, semitones from 27.5 Hz), loudness, frame-level jitter and
        shimmer, HNR, H1-H2, H1-A3, LPC formants F1-F3 (frequency, bandwidth,
        level relative to H1), alpha ratio, Hammarberg index, spectral
        slopes 0-500 and 500-1500 Hz, spectral flux and centroid and MFCC
        1-12 over voiced frames (mean, coefficient of variation - or the
        standard deviation for signed descriptors such as dB ratios, slopes
        and MFCC, whose mean can be near zero -, 20th, 50th and 80th
        percentile, 20-80 range); rising/falling slopes of F0 and
        loudness; mean and std of loudness, flux, energy, MFCC 0-12 and their
        deltas over all frames and of the spectral descriptors over unvoiced
        frames; loudness peak rate, voiced segment rate, voiced and unvoiced
        segment lengths, voiced ratio and equivalent sound level.
        H1-A3 and the F3 level relative to H1 are one level difference with
        opposite signs, frame by frame, as in openSMILE's eGeMAPS (where A3
        is also the F3 amplitude): the mean, median and 20th percentile of
        the one are minus the mean, median and 80th percentile of the other,
        and their spread and 20-80 range are equal. These six columns repeat
        six others; they are kept so that the set's layout follows eGeMAPS.
        Drop one group for a model that duplicated columns bias.
    ``"mfcc_stats"`` (335 features)
        MFCC 0-19 with deltas and delta-deltas, spectral centroid, bandwidth,
        85 % roll-off, flatness, flux, zero-crossing rate and log energy;
        mean, std, 10th, 50th and 90th percentile of each.
    ``"logmel"``
        Frame-level log-mel energies (64 bands, 20-8000 Hz) for neural
        models. ``transform`` returns a 1-D object array whose items are
        float32 arrays of shape ``(n_frames_i, 64)`` (utterances differ in
        length; a padded copy would cost memory for every consumer that
        packs or crops itself). :func:`pad_sequences` turns it into a padded
        ``(n, max_frames, 64)`` array plus the lengths.

    Parameters
    ----------
    feature_set : {"functionals", "mfcc_stats", "logmel"}, default="functionals"
        Which features to compute.
    sample_rate : int, default=16000
        Sample rate in Hz of waveform inputs (ignored for files, whose rate
        is read from the file). Every waveform array must be at this rate:
        nothing in an array says its rate, so none is checked, and a 48 kHz
        array read as 16 kHz gives features of audio three times slower
        (pitch, formants and durations all wrong), with no warning. Set it to
        the rate of your arrays (``soundfile.read`` returns it with the
        samples); in a saved or loaded pipeline, on its step:
        ``model.set_params(<step>__sample_rate=48000)``. Or pass file paths.
    min_duration : float, default=0.1
        Inputs shorter than this (seconds) are reported as ``"too_short"``.
    silence_threshold : float, default=1e-5
        Inputs whose peak absolute amplitude is below this (about -100 dBFS
        for float waveforms in [-1, 1], integer PCM waveforms and files)
        are reported as ``"silent"``; 0 accepts any signal.
    cache_dir : str or path-like, default=None
        Folder of an on-disk cache keyed by the file's content and the
        feature configuration. An interrupted run resumes where it stopped
        and a repeated run reads every result from disk (a file that
        changes while it is being read is not cached). None disables it.
        A folder that cannot be created, read or written (another machine's
        path in a saved model, a read-only or full disk) never stops
        ``transform``: the features are extracted uncached, with one
        :class:`AudioFeaturesWarning` per call. A file that ends the
        process while it is decoded in it (``n_jobs=1``, no Dask: a crash
        in a decoder, the memory limit, a kill) is named by a marker in the
        folder (with ``n_jobs > 1`` a worker dies instead, see below). The
        process may have ended for another reason while a healthy file was
        decoded, so the next call tries that file once more alone in a
        separate process: decoded, it is used and cached; ending that
        process too, once it began decoding the file, it is reported as
        ``"failed"``, saying so, and not tried again by later calls. Its
        message names the crash record to delete to try it again; a file
        whose content changed is tried again by itself. A process that
        ends before it began decoding (an import failing in it, the memory
        limit at its start) gives no verdict: the file is skipped, saying
        why, and tried again by the next call. With
        ``JOBLIB_MULTIPROCESSING=0`` (joblib's switch for an environment
        without child processes; the extraction then runs in this process)
        there is no separate process to try it in: it is skipped on every
        call while that is set, with a message saying how to decide it.
        Ctrl-C blames no file. Temporary files of a process killed while
        writing the cache are removed by the next one.
    n_jobs : int, default=None
        Parallel workers through joblib (None: 1 unless inside a
        ``joblib.parallel_config`` context; -1: all cores). Inside
        ``joblib.parallel_config(backend="dask")`` the work runs on the
        current Dask cluster. A worker that dies (a decoder crash, the
        memory limit) does not end the call: the unfinished inputs are run
        again one per task, and an input that takes a worker down again is
        reported as ``"failed"`` alone.
    client : distributed.Client, default=None
        Run the extraction on this Dask cluster (files must be readable by
        the workers at the same paths). Shared, not copied, by ``clone``.
    progress : bool, default=False
        Show a tqdm progress bar.
    errors : {"warn", "raise", "nan"}, default="warn"
        What to do with inputs that give no features (missing, unreadable,
        corrupt, empty, silent, too short, NaN samples): ``"warn"`` fills
        their rows with NaN and emits one :class:`AudioFeaturesWarning`;
        ``"nan"`` does the same silently; ``"raise"`` raises
        :class:`FeatureExtractionError` after the whole batch, so finished
        work is cached and reported first. ``failed_`` lists the failures in
        every mode. Float inputs with a peak above 2.0 (PCM values not
        divided by their full scale) and truncated WAV files are not
        failures: they get features and one :class:`AudioFeaturesWarning`
        per kind and call, in every mode (see ``notes_``). With
        ``"raise"``, waveform arrays holding NaN or infinite samples are
        refused by ``fit`` already (``fit_transform``: before any
        extraction), with the same :class:`FeatureExtractionError` and
        reason ``"nan"``; a file's samples are only known when
        ``transform`` reads it.

    Attributes
    ----------
    failed_ : pandas.DataFrame
        Failures of the last ``transform``: columns ``index``, ``item``,
        ``reason`` and ``message`` (empty when all inputs succeeded); or of
        the last ``fit`` that refused NaN waveforms with ``errors="raise"``.
        A report on that call, not learned state: pickling, copying or
        saving the transformer (e.g. with skops) leaves it out.
    notes_ : pandas.DataFrame
        Inputs of the last ``transform`` that gave features but look odd:
        columns ``index``, ``item``, ``kind`` and ``note`` (empty for
        ordinary inputs), one row per note. Kinds: ``"pcm_scale"``, a float
        signal peaking far above full scale (PCM sample values not divided
        by their full scale); ``"truncated"``, a WAV file whose header gives
        more audio than the file holds (cut short in a copy or download: its
        features describe the samples present; the note, which starts
        ``"truncated:"``, gives both sizes). Such inputs are never cached
        (nor read from the cache), so every call reports them. A report on
        that call, left out of saved state like ``failed_``.
    n_cache_hits_ : int
        Inputs of the last ``transform`` read from the cache (a report on
        that call, left out of saved state like ``failed_``).

        These three reports are the only attributes ``transform`` writes:
        threads sharing one transformer get the same features as one
        thread, but each report is that of whichever call ended last. Use
        :meth:`transform_with_report`, which returns its own call's
        reports and writes nothing, where threads share the transformer.
    feature_names_out_ : ndarray of str
        Output column names (set by ``fit``).

    See Also
    --------
    pad_sequences : Pad ``"logmel"`` sequences into a 3-D array.
    AudioFeatures.transform_with_report : Features and the reports of one
        call, for threads that share a transformer.

    Notes
    -----
    Inputs: a list, 1-D array or pandas Series of paths; a DataFrame with a
    ``file`` column (as ``load_corpus`` returns), or with one column of
    paths or of waveform arrays; a list of 1-D waveform arrays; or a 2-D
    numeric array whose rows are equal-length waveforms. A dict is refused
    (its keys would be read as the inputs): pass ``list(d.values())``.
    An iterator of paths or waveforms (a generator, ``Path.glob(...)``) is
    read once: ``fit_transform`` and a Pipeline's ``fit`` take it, but a
    separate ``fit`` then ``transform`` of the same iterator finds it used
    up (pass a list).
    Waveforms are at ``sample_rate`` (16000 unless set; not checked).
    Float waveforms have full scale 1.0 (a peak above 2.0 is taken for
    unscaled PCM values and warned about); integer waveforms are PCM samples
    scaled by their dtype's full scale (an ``int16`` array from
    ``scipy.io.wavfile.read`` gives the features of its file; 64-bit
    integers, numpy's default ``int`` and no PCM format, fail with reason
    ``"failed"``: cast them to the PCM width). A 2-D item of
    the list is a multi-channel waveform, ``(n_samples, n_channels)`` or,
    when it has more columns than rows, ``(n_channels, n_samples)``; channels
    are averaged. One multi-channel waveform passed as the whole input (the
    ``(n_samples, n_channels)`` array of ``soundfile.read``, at most 8
    columns of rows shorter than ``min_duration``) is refused: pass ``[y]``.
    Jitter and shimmer are frame-level approximations (consecutive voiced
    10 ms frames), not cycle-by-cycle measures. The numbers are close in
    spirit to eGeMAPS but not identical to openSMILE's. Compared with
    openSMILE 2.6's eGeMAPSv02 on 150 EmoDB and RAVDESS files, F0, loudness,
    equivalent sound level, MFCC 1-4, alpha ratio, Hammarberg index and the
    0-500 Hz slope of voiced frames rank the files alike (Spearman 0.91 to
    1.0); these definitions differ:

    - spectral flux: each frame's magnitude spectrum (0-8 kHz) is scaled to
      unit sum before the squared differences are summed (times 100), so
      flux ignores the level and is large on near-silent frames; openSMILE
      takes unscaled magnitudes over 0-5 kHz;
    - spectral slopes are least-squares fits in dB/Hz; openSMILE's formula
      counts one point fewer, which adds a term in the band's level;
    - unvoiced descriptors use the unvoiced frames within 40 dB of the
      loudest frame (pauses and silence left out); openSMILE uses them all;
    - formants: LPC of order 10 at 10 kHz after pre-emphasis, and poles
      with a bandwidth of 600 Hz or more are not formants, so bandwidths
      stay below 600 Hz;
    - HNR is measured on the 8 kHz signal, i.e. over 0-4 kHz (about 3 dB
      above the full-band value for white noise);
    - rising and falling slopes are the mean and spread of the positive and
      negative frame-to-frame changes (F0 inside voiced runs); openSMILE
      measures from each local minimum to the next maximum;
    - MFCCs come from pre-emphasised (0.97) spectra and are not liftered;
      openSMILE's have no pre-emphasis and HTK's lifter of 22, which makes
      their MFCC 1-4 spread 2.6 to 7 times sertl's;
    - the 3-frame smoothing runs over the whole contour before the voiced
      frames are picked (openSMILE's ``sma3nz`` averages voiced neighbours
      only).

    References
    ----------
    .. [1] F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set
       (GeMAPS) for Voice Research and Affective Computing", IEEE Trans.
       Affective Computing 7(2), 190-202, 2016.
    .. [2] A. de Cheveigné and H. Kawahara, "YIN, a fundamental frequency
       estimator for speech and music", JASA 111(4), 1917-1930, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech import AudioFeatures
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(16000) / 16000
    >>> waves = [np.sin(2 * np.pi * f0 * t) * (0.1 + 0.01 * rng.random(16000))
    ...          for f0 in (120.0, 220.0)]
    >>> X = AudioFeatures().fit_transform(waves)
    >>> X.shape
    (2, 316)
    >>> AudioFeatures().fit(waves).get_feature_names_out()[0]
    'F0semitoneFrom27.5Hz_sma3nz_mean'
    """

    registry_name = "audio_features"

    _parameter_constraints: dict = {
        "feature_set": [StrOptions(set(FEATURE_SETS))],
        "sample_rate": [Interval(Integral, 1, None, closed="left")],
        "min_duration": [Interval(Real, 0, None, closed="left")],
        "silence_threshold": [Interval(Real, 0, None, closed="left")],
        "cache_dir": [None, str, os.PathLike],
        "n_jobs": [None, Integral],
        "client": "no_validation",
        "progress": ["boolean"],
        "errors": [StrOptions({"warn", "raise", "nan"})],
    }

    def __init__(
        self,
        feature_set="functionals",
        *,
        sample_rate=TARGET_SR,
        min_duration=0.1,
        silence_threshold=1e-5,
        cache_dir=None,
        n_jobs=None,
        client=None,
        progress=False,
        errors="warn",
    ):
        self.feature_set = feature_set
        self.sample_rate = sample_rate
        self.min_duration = min_duration
        self.silence_threshold = silence_threshold
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.client = client
        self.progress = progress
        self.errors = errors

    def __sklearn_clone__(self):
        # a Dask client is a connection, not state: share it, copy the rest
        params = self.get_params(deep=False)
        client = params.pop("client")
        new = type(self)(**{k: clone(v, safe=False) for k, v in params.items()})
        new.client = client
        return new

    # the reports on the last transform call, not learned state
    _CALL_REPORTS = ("failed_", "notes_", "n_cache_hits_")

    def __getstate__(self):
        # ``failed_`` is a pandas DataFrame, which skops cannot store (a used
        # audio pipeline could not be saved), and it describes one call on the
        # saving machine's files: the saved state leaves the reports out
        state = dict(super().__getstate__())  # a copy: never touch self.__dict__
        for name in self._CALL_REPORTS:
            state.pop(name, None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------
    def _items(self, X):
        """Turn the accepted input types into a list of paths / waveforms."""
        if isinstance(X, (str, bytes, os.PathLike)):
            raise TypeError(
                "AudioFeatures expects a list of files or waveforms, got a single "
                f"{type(X).__name__}; wrap it in a list: [{X!r}]"
            )
        import pandas as pd  # a dependency, imported where tables arrive

        if isinstance(X, pd.DataFrame):
            if "file" in X.columns:  # a corpus table: its paths
                X = X["file"].to_list()
            else:
                X = X.to_numpy()
                first = X.ravel()[:100]
                arrays = any(isinstance(v, np.ndarray | list) for v in first)
                waves = _waveform_column(X) if arrays else None
                if waves is not None:  # one column of waveform arrays
                    X = waves
                elif X.dtype == object and arrays:
                    raise ValueError(
                        "a table of waveforms needs one column holding a "
                        f"waveform array per row; got {X.shape[1]} columns, "
                        "holding arrays and other values. Pass that column, "
                        "e.g. df[['audio']] or df['audio'].to_list()."
                    )
                text = any(isinstance(v, str | bytes) for v in first)
                if (
                    waves is None
                    and X.dtype == object
                    and _path_column(X) is None
                    and text
                ):
                    raise ValueError(
                        "a table of paths needs its paths in a column named "
                        "'file' (or one column of paths, e.g. from a "
                        f"ColumnTransformer); got {X.shape[1]} columns "
                        "holding text."
                    )
        elif isinstance(X, pd.Series):
            X = X.to_list()
        import scipy.sparse as sp

        if sp.issparse(X):
            raise TypeError(
                "sparse input is not supported: pass file paths, a list of 1-D "
                "waveforms or a dense 2-D array with one waveform per row"
            )
        if isinstance(X, Mapping):  # after sparse: a dok_matrix is a dict
            # iterating a mapping gives its keys: names, not the audio
            raise TypeError(
                f"AudioFeatures expects a list of files or waveforms, got a "
                f"{type(X).__name__} (a mapping), whose keys it would read as the "
                "inputs. Pass the paths or waveforms it holds, in a fixed order: "
                "list(d.values()) (and keep list(d) for the names), or list(d) "
                "if the keys are the paths."
            )
        if not isinstance(X, (list, tuple, np.ndarray)) and hasattr(X, "__array__"):
            # array-likes (e.g. xarray, sklearn's _NotAnArray)
            X = np.asarray(X)
        paths = _path_column(X)
        if paths is not None:  # one column of paths (a ColumnTransformer's)
            return paths
        waves = _waveform_column(X)
        if waves is not None:  # one column of waveform arrays
            X = waves
        if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
            X = np.asarray(X, dtype=np.float64)  # TypeError names a bad element
        if isinstance(X, np.ndarray) and np.iscomplexobj(X):
            raise ValueError("Complex data not supported: pass real-valued waveforms")
        if (
            isinstance(X, np.ndarray)
            and X.dtype != object
            and np.issubdtype(X.dtype, np.number)
        ):
            if X.ndim == 2:
                if X.shape[0] == 0:
                    raise ValueError(
                        f"no inputs: got an array of shape {X.shape}; AudioFeatures "
                        "needs at least one waveform"
                    )
                if X.shape[1] == 0:
                    raise ValueError(
                        f"Found array with 0 feature(s) (shape={X.shape}) while a "
                        "minimum of 1 is required: each row is a waveform and needs "
                        "samples"
                    )
                self._check_not_one_multichannel_waveform(X)
                return list(X)
            if X.ndim == 1:
                raise ValueError(
                    "got a 1-D numeric array: pass a list of waveforms "
                    "([y1, y2, ...]) or a 2-D array with one waveform per row. "
                    "Reshape your data using X.reshape(1, -1) if it is a single "
                    "waveform."
                )
            raise ValueError(
                f"AudioFeatures expects waveforms, got a {X.ndim}-D array of "
                f"shape {X.shape}: pass a 2-D array with one mono waveform per "
                "row, or a list of waveforms (1-D arrays, or 2-D arrays of "
                "samples x channels). Features already computed (e.g. log-mel "
                "sequences) go to the next step, not to AudioFeatures."
            )
        if isinstance(X, np.ndarray) and X.ndim != 1:
            raise ValueError(
                "AudioFeatures expects a 1-D array (or list) of file paths or "
                f"waveforms, got an array of shape {X.shape}: pass the paths as "
                "one column, e.g. table['file'].to_list() or X.ravel()."
            )
        try:
            items = list(X)
        except TypeError:
            raise TypeError(
                "AudioFeatures expects a list of file paths or of 1-D waveform "
                f"arrays, got {type(X).__name__} {reprlib.repr(X)}, which is "
                "not a list: pass e.g. ['a.wav', 'b.wav'] or [y1, y2]."
            ) from None
        absent = [i for i, v in enumerate(items) if v is None or _is_nan(v)]
        if absent:
            raise ValueError(
                f"inputs at positions {absent[:10]} have no path (None/NaN), as "
                "a merged table's 'file' column can: drop or fill those rows."
            )
        out = []
        for item in items:
            if isinstance(item, (str, os.PathLike)):
                out.append(os.fspath(item))
            elif isinstance(item, bytes):
                out.append(os.fsdecode(item))  # any bytes, as os.listdir gives
            elif isinstance(item, (np.ndarray, list, tuple)) or (
                hasattr(item, "__array__")
                and not isinstance(item, (pd.DataFrame, np.generic))
            ):
                # a pandas Series or another array-like of samples
                out.append(np.asarray(item))
            else:
                raise TypeError(
                    "each input must be a file path (str) or a 1-D waveform array; "
                    f"got {type(item).__name__}: {reprlib.repr(item)}"
                )
        if not out:
            used_up = (
                " (an iterator, such as a generator or Path.glob(...), is read "
                "once: an earlier fit or transform may have used it up; pass a "
                "list, e.g. list(Path(root).glob('*.wav')))"
                if isinstance(X, Iterator)
                else ""
            )
            raise ValueError(
                "no inputs: AudioFeatures needs at least one file or waveform" + used_up
            )
        return out

    def _check_not_one_multichannel_waveform(self, X):
        """Refuse a 2-D array that is one waveform's channels, not a batch.

        soundfile returns a file as ``(n_samples, n_channels)``: passed as it
        is, its rows would be read as ``n_samples`` waveforms of a few samples
        each (every one "too_short", and a feature row allocated for each).
        A batch of waveforms has many columns; rows of at most
        ``_MAX_CHANNELS`` samples that are all shorter than ``min_duration``
        could give no features anyway, so refusing them loses nothing.
        """
        n_rows, n_cols = X.shape
        row_seconds = n_cols / float(self.sample_rate)
        if not (
            n_cols <= _MAX_CHANNELS
            and n_rows > n_cols
            and row_seconds < self.min_duration
        ):
            return
        raise ValueError(
            f"got a 2-D array of shape {X.shape}, which reads as {n_rows} "
            f"waveforms of {n_cols} samples each ({1000 * row_seconds:.3g} ms at "
            f"sample_rate={self.sample_rate}, shorter than min_duration="
            f"{self.min_duration} s): it looks like one waveform with {n_cols} "
            "channels, (n_samples, n_channels) as soundfile.read returns it. "
            "Pass [y] (a list with one waveform; its channels are averaged), "
            "or y.T for one input per channel."
        )

    def feature_config(self):
        """Return what decides the numbers of the features this extractor computes.

        Two extractors with equal ``feature_config()`` compute the same
        features from the same audio: it is the key of the on-disk feature
        cache (``cache_dir``), and the record of the features a saved model
        keeps (``sertl_experiments.save_model``), which ``load_model`` and
        ``sertl predict`` compare with the installation's to say when a
        model would get other features than it was trained on. Parameters
        that change no number (``errors``, ``n_jobs``, ``cache_dir`` ...)
        are left out.

        Returns
        -------
        config : dict
            ``"extractor"`` (this class's name), ``"version"`` (the feature
            version, bumped whenever the numbers of a feature set change),
            ``"feature_set"``, ``"min_duration"``, ``"silence_threshold"``,
            ``"target_sr"`` (the sample rate the audio is resampled to) and
            ``"versions"`` (``{distribution: installed version or None}``
            of the distributions whose code computes the features: numpy,
            scipy, librosa, soundfile, soxr and sertl-speech).

        See Also
        --------
        AudioFeatures.transform : Computes the features.

        Examples
        --------
        >>> from sertl_speech import AudioFeatures
        >>> config = AudioFeatures(feature_set="mfcc_stats").feature_config()
        >>> config["feature_set"], config["target_sr"]
        ('mfcc_stats', 16000)
        >>> config == AudioFeatures(feature_set="mfcc_stats", n_jobs=2).feature_config()
        True
        """
        return {
            "extractor": "sertl_speech.AudioFeatures",
            "version": FEATURES_VERSION,
            "feature_set": self.feature_set,
            "min_duration": float(self.min_duration),
            "silence_threshold": float(self.silence_threshold),
            "target_sr": TARGET_SR,
            "versions": _computing_versions(),
        }

    # ------------------------------------------------------------------
    def fit(self, X=None, y=None):
        """Validate the parameters and record the output feature names.

        Parameters
        ----------
        X : list of str, list of ndarray, 2-D ndarray or DataFrame, default=None
            Inputs; only their type is checked (and, with ``errors="raise"``,
            that waveforms hold finite samples). The transformer is stateless.
        y : ignored
            Not used.

        Returns
        -------
        self : AudioFeatures
            This transformer.

        Raises
        ------
        FeatureExtractionError
            With ``errors="raise"``, when waveforms hold NaN or infinite
            samples: its ``failed`` table lists each (reason ``"nan"``), as
            ``transform`` would after the batch. Files are read by
            ``transform`` only.
        """
        self._validate_params()
        if X is not None:
            items = self._items(X)
            if self.errors == "raise":
                # caught here rather than after a batch: fit reads no file, and
                # a waveform's samples are at hand (scikit-learn's checks also
                # expect fit to refuse non-finite input)
                failures = []
                for i, item in enumerate(items):
                    if isinstance(item, str) or not np.issubdtype(
                        item.dtype, np.number
                    ):
                        continue
                    n_bad = int(item.size - np.count_nonzero(np.isfinite(item)))
                    if n_bad:
                        failures.append((i, "nan", _nan_message(n_bad, item.size)))
                if failures:
                    self.failed_, summary = _failure_report(items, failures)
                    raise FeatureExtractionError(summary, self.failed_)
        self.feature_names_out_ = np.asarray(
            feature_names(self.feature_set), dtype=object
        )
        return self

    def fit_transform(self, X, y=None):
        """Fit, then extract the features of ``X``.

        Parameters
        ----------
        X : list of str, list of ndarray, 2-D ndarray, DataFrame or iterator
            Inputs (see Notes of the class). An iterator, a generator or
            ``Path.glob(...)`` say, is read once into a list, which both
            steps then use (``fit(X).transform(X)`` would find it used up).
        y : ignored
            Not used.

        Returns
        -------
        ndarray of shape (n_inputs, n_features) or (n_inputs,) object
            Features, as :meth:`transform` returns them.
        """
        if isinstance(X, Iterator):
            X = list(X)
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output features.

        Parameters
        ----------
        input_features : ignored
            Not used (inputs are audio, not columns).

        Returns
        -------
        ndarray of str
            Column names; for ``"logmel"`` the names of the 64 mel bands of
            each frame.
        """
        self._validate_params()
        return np.asarray(feature_names(self.feature_set), dtype=object)

    def transform(self, X):
        """Extract features from files or waveforms.

        Parameters
        ----------
        X : list of str, list of ndarray, 2-D ndarray or DataFrame
            Inputs (see Notes of the class).

        Returns
        -------
        ndarray of shape (n_inputs, n_features) or (n_inputs,) object
            Features, float64 (NaN rows for failed inputs); for ``"logmel"`` a
            1-D object array of ``(n_frames_i, 64)`` float32 arrays (shape
            ``(0, 64)`` for failed inputs).

        See Also
        --------
        transform_with_report : The same, the call's reports returned
            instead of stored in ``failed_``, ``notes_`` and
            ``n_cache_hits_`` (for threads sharing one transformer).
        """
        out, report, summary = self._extract_reported(X, warn=True)
        self.n_cache_hits_ = report["n_cache_hits"]
        self.notes_ = report["notes"]
        self.failed_ = report["failed"]
        self._report_failures(summary, report["failed"])
        return out

    def transform_with_report(self, X, *, warn=True):
        """Extract features and return the reports on this call with them.

        :meth:`transform` stores its reports on the call in ``failed_``,
        ``notes_`` and ``n_cache_hits_``: threads that share one fitted
        transformer (a model behind a web service, a thread pool) overwrite
        each other's. This method writes no attribute and returns the
        reports of its own call, so any number of threads may call it on
        the same transformer. It warns and raises as :meth:`transform`
        does, unless ``warn=False``.

        Parameters
        ----------
        X : list of str, list of ndarray, 2-D ndarray or DataFrame
            Inputs (see Notes of the class).
        warn : bool, default=True
            False: nothing is warned about or raised, whatever ``errors``
            says; the failed inputs and the odd ones are only in
            ``report`` (and a failed input's row is NaN, or empty for
            ``"logmel"``), for a caller that reports them itself, as
            :func:`sertl_experiments.predict_files` does per file.

        Returns
        -------
        features : ndarray
            As :meth:`transform` returns them.
        report : dict
            ``"failed"`` and ``"notes"`` (pandas DataFrames laid out as the
            ``failed_`` and ``notes_`` attributes) and ``"n_cache_hits"``
            (int), of this call alone.

        Raises
        ------
        FeatureExtractionError
            With ``errors="raise"`` (and ``warn=True``), when inputs gave no
            features; its ``failed`` table is this call's.

        See Also
        --------
        transform : The same, the reports stored as attributes.

        Examples
        --------
        >>> import numpy as np
        >>> from sertl_speech import AudioFeatures
        >>> t = np.arange(16000) / 16000
        >>> waves = [0.1 * np.sin(2 * np.pi * 120.0 * t), np.zeros(800)]
        >>> feats = AudioFeatures("mfcc_stats", errors="nan").fit(waves)
        >>> X, report = feats.transform_with_report(waves)
        >>> X.shape, report["failed"]["reason"].tolist(), hasattr(feats, "failed_")
        ((2, 335), ['too_short'], False)
        >>> X, report = AudioFeatures("mfcc_stats").transform_with_report(
        ...     waves, warn=False)  # errors="warn", but no warning
        >>> report["failed"]["reason"].tolist()
        ['too_short']
        """
        out, report, summary = self._extract_reported(X, warn=warn)
        if warn:
            self._report_failures(summary, report["failed"])
        return out, report

    def _report_failures(self, summary, failed):
        """Raise or warn about the failures of one call, as ``errors`` says."""
        if summary is None:
            return
        if self.errors == "raise":
            raise FeatureExtractionError(summary, failed)
        if self.errors == "warn":
            warnings.warn(
                summary + " Their rows are NaN.",
                AudioFeaturesWarning,
                stacklevel=external_stacklevel(),
            )

    def _extract_reported(self, X, *, warn=True):
        """Extract the features of ``X``; return them with this call's reports.

        Writes no attribute of ``self``: threads may call it at once.
        ``warn=False`` leaves out the warnings on the cache and on odd
        inputs (a caller that reports ``notes`` itself, such as
        ``sertl_experiments.predict_files``). Failures are neither warned
        about nor raised here (see :meth:`_report_failures`).

        Returns
        -------
        out : ndarray
            The features, as :meth:`transform` returns them.
        report : dict
            ``failed``, ``notes`` and ``n_cache_hits``.
        summary : str or None
            The failures' summary (None: every input gave features).
        """
        import pandas as pd

        self._validate_params()
        if self.feature_set == "logmel":
            _check_no_table_output(self)
        items = self._items(X)
        n = len(items)
        results: list = [None] * n
        failures: list[tuple[int, str, str]] = []
        notes: list[tuple[int, str]] = []  # odd but accepted inputs
        # a cache folder that cannot be created or read (a saved model's
        # cache_dir from another machine or account, a read-only disk) must
        # not stop transform: the features are extracted uncached
        unusable: list = []
        cache = None
        if self.cache_dir:
            try:
                cache = FeatureCache(self.cache_dir, self.feature_config())
            except OSError as exc:
                unusable.append(exc)
        keys: list = [None] * n
        # a file's state when its key was computed: a file changed since
        # (copied or edited during the run) gave features of other bytes
        # than its key's, which are returned but not cached
        states: list = [None] * n
        # a cache that cannot be written (disk full, read-only) must not cost
        # the features already extracted: they are returned uncached
        unwritten: list = []
        # files that ended an earlier run (see FeatureCache.recover_crashes),
        # by content key: a marker that could not become a record
        unrecorded: dict = {}
        if cache is not None:
            try:
                # a file an earlier run was decoding in its own process when
                # that process died gets a crash record, retried alone below
                for info in cache.recover_crashes():
                    if info["record"] is None:
                        unrecorded[info["key"]] = info
            except OSError as exc:
                unwritten.append(exc)
        # (index, item) of files with an unconfirmed crash record, or an
        # unrecorded marker, by content key, and that record: each content
        # tried once alone, out of process (its verdict is every copy's: a
        # file given twice would end two processes)
        retry: dict = {}
        retry_records: dict = {}
        # content keys of the files, named in the crash markers (see _run)
        marks: list = [None] * n
        todo = []
        hits = crashed = 0
        for i, item in enumerate(items):
            # noted on every call, so never a hit (an entry of the file
            # written before truncated files were noted would hide it)
            truncated = (
                cache is not None
                and isinstance(item, str)
                and _wav_truncation_note(item) is not None
            )
            if cache is not None:
                try:
                    if isinstance(item, str):
                        # the state the key was hashed under, one stat
                        keys[i], states[i] = _content_key_and_state(item)
                        marks[i] = keys[i]
                    else:
                        keys[i] = waveform_key(item, self.sample_rate)
                except OSError:
                    keys[i] = None  # missing/unreadable: the extractor reports why
                if truncated:
                    keys[i] = None  # never read from the cache nor written
                if keys[i] is not None:
                    try:
                        hit = cache.get(keys[i], shape=self._entry_shape())
                    except OSError as exc:
                        unusable.append(exc)
                        cache = None
                        keys = [None] * n
                        marks = [None] * n
                        hit = None
                    if hit is not None:
                        results[i] = hit
                        hits += 1
                        continue
                record = (
                    cache.crash_record(marks[i])
                    if cache is not None and marks[i] is not None
                    else None
                )
                if record is None and marks[i] in unrecorded:
                    record = (None, unrecorded[marks[i]])
                if record is not None and record[1].get("confirmed") is True:
                    # it ended a run, then a retry alone: not again
                    failures.append((i, "failed", _crash_message(*record)))
                    crashed += 1
                    continue
                if record is not None:  # it ended a run: once more, alone
                    retry.setdefault(marks[i], []).append((i, item))
                    retry_records[i] = record
                    continue
            todo.append((i, item))
        guard = cache  # the cache that holds the crash markers

        def mark(i):
            """Name input ``i`` in the crash marker (None: nothing decoded)."""
            if guard is None:
                return
            if i is None or marks[i] is None:
                guard.unmark()
            else:
                guard.mark(items[i], marks[i])

        def collect(batch):
            for i, res in batch:
                if res[0] == "ok":
                    results[i] = res[1]
                    notes.extend((i, note) for note in res[2])
                    # an odd input is not cached: a cache hit would return
                    # its features without its note on the next call
                    if (
                        cache is not None
                        and keys[i] is not None
                        and not unwritten
                        and not res[2]
                        and _unchanged(items[i], states[i])
                    ):
                        try:
                            cache.put(keys[i], res[1])
                        except OSError as exc:
                            unwritten.append(exc)
                else:
                    failures.append((i, res[1], res[2]))

        from tqdm.auto import tqdm

        bar = tqdm(
            total=n,
            initial=hits + crashed,
            disable=not self.progress,
            desc="audio features",
            unit="file",
        )
        args = (
            self.feature_set,
            self.sample_rate,
            self.min_duration,
            self.silence_threshold,
        )
        lost: list = []  # markers that could not become records, and outcomes
        try:
            for batch in self._run(todo, mark=mark):
                collect(batch)
                bar.update(len(batch))
            # (by the first copy's index: marks may be reset meanwhile)
            copies_of = {c[0][0]: [j for j, _ in c] for c in retry.values()}
            firsts = [copies[0] for copies in retry.values()]
            for i, result, died in _retry_alone(firsts, args):
                path, info = retry_records[i]
                if path is None:
                    lost.append((info, died))
                # (no cache any more when it could not be read meanwhile)
                if path is not None and cache is not None and marks[i] is not None:
                    try:
                        if died:
                            cache.confirm_crash(marks[i], info)
                        elif died is False:
                            cache.clear_crash(marks[i])  # it does not crash
                    except OSError as exc:
                        unwritten.append(exc)
                copies = copies_of[i]
                if died:
                    message = _crash_message(path, info)
                    failures.extend((j, "failed", message) for j in copies)
                else:
                    collect([(j, result) for j in copies])
                bar.update(len(copies))
        finally:
            bar.close()
            # an interrupted call (Ctrl-C) blames no file: only a process
            # that dies without getting here leaves its marker behind
            mark(None)
        if warn and lost:
            ended = [info for info, died in lost if died]
            untried = [info for info, died in lost if died is None]
            tried = "The file was tried again in a separate process"
            if ended:
                said = (
                    f"{tried} (it ended that process too, and is reported in failed_)"
                )
            elif untried:
                # no verdict (see _retry_alone): neither decoded nor blamed
                said = (
                    "The file could not be tried again in a separate process "
                    "(failed_ says why), so it is skipped this time"
                )
            else:
                said = f"{tried} (no crash: its result is returned)"
            warnings.warn(
                _unrecorded_warning(ended or untried or [i for i, _ in lost], said),
                AudioFeaturesWarning,
                stacklevel=external_stacklevel(),
            )
        if warn and unusable:
            warnings.warn(
                f"the feature cache folder {str(self.cache_dir)!r} could not be "
                f"used ({unusable[0]}); the features of this call were extracted "
                "without the cache. Give the transformer a folder you can "
                "write, e.g. set_params(cache_dir=...) on it (the step of a "
                "loaded model: model.set_params(<step>__cache_dir=...)), or "
                "cache_dir=None to turn caching off.",
                AudioFeaturesWarning,
                stacklevel=external_stacklevel(),
            )
        elif warn and unwritten:
            warnings.warn(
                f"the feature cache in {str(self.cache_dir)!r} could not be "
                f"written ({unwritten[0]}); the features of this call are "
                "returned, but from that file on they were not cached. Free "
                "space there, or give cache_dir= a writable folder (None "
                "turns caching off).",
                AudioFeaturesWarning,
                stacklevel=external_stacklevel(),
            )
        notes.sort()
        notes_table = pd.DataFrame(
            {
                "index": [i for i, _ in notes],
                "item": [_describe(items[i]) for i, _ in notes],
                "kind": [_note_kind(note) for _, note in notes],
                "note": [note for _, note in notes],
            }
        )
        if warn:
            _warn_notes(items, notes)
        failed, summary = _failure_report(items, failures)
        report = {"failed": failed, "notes": notes_table, "n_cache_hits": hits}
        return self._assemble(results), report, summary

    def _entry_shape(self):
        """Shape of one input's features (None: any number of frames)."""
        if self.feature_set == "logmel":
            return (None, N_MELS_LOGMEL)
        return (len(feature_names(self.feature_set)),)

    def _assemble(self, results):
        if self.feature_set == "logmel":
            out = np.empty(len(results), dtype=object)
            for i, r in enumerate(results):
                out[i] = (
                    r if r is not None else np.zeros((0, N_MELS_LOGMEL), np.float32)
                )
            return out
        d = len(feature_names(self.feature_set))
        out = np.full((len(results), d), np.nan)
        for i, r in enumerate(results):
            if r is not None:
                out[i] = r
        return out

    def _run(self, todo, mark=None):
        """Yield batches of (index, result) as they finish.

        In this process (one job, no Dask), ``mark(i)`` is called before
        input ``i`` is decoded and ``mark(None)`` after it: a crash in a
        decoder ends the whole process, and the marker then names the file
        to the next call (see ``FeatureCache.recover_crashes``).
        """
        if not todo:
            return
        args = (
            self.feature_set,
            self.sample_rate,
            self.min_duration,
            self.silence_threshold,
        )
        if self.client is not None:
            yield from self._run_dask(todo, args)
            return
        from joblib import effective_n_jobs

        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs == 1:
            for i, item in todo:
                if mark is not None:
                    mark(i)
                result = _extract_one(item, *args)
                if mark is not None:
                    mark(None)
                yield [(i, result)]
            return
        size = max(1, min(32, len(todo) // (4 * n_jobs)))

        def run(entries, size):
            # two workers at least: a single chunk is what the retries below
            # run (one input at a time after a worker died), where the input
            # that crashes its decoder must take a worker down, not the caller
            return _in_workers(entries, size, n_jobs, args)

        # A worker that dies (a crash in a decoder, the memory limit) ends
        # joblib's whole call: every input's own problem is caught inside its
        # task, so only such a death gets here. The inputs not finished are
        # run again one per task, then those that fail again one at a time:
        # the finished ones are kept, and only the input that takes a worker
        # down is reported.
        left = todo
        for chunk_size in (size, 1):
            done = set()
            try:
                for batch in run(left, chunk_size):
                    done.update(i for i, _ in batch)
                    yield batch
                return
            except Exception:
                left = [entry for entry in left if entry[0] not in done]
        for entry in left:
            try:
                yield next(iter(run([entry], 1)))
            except Exception as exc:
                msg = f"joblib worker failed: {type(exc).__name__}: {exc}"
                yield [(entry[0], ("error", "failed", msg))]

    def _run_dask(self, todo, args):
        """Yield batches from Dask tasks of up to 32 inputs each.

        Every input's own problem is caught inside its task, so a task fails
        as a whole only when something takes it down (a worker killed by one
        input: a crash in a decoder, the memory limit). Its inputs are then
        run again one per task, and those that fail again once more one at a
        time, alone on the cluster: only the inputs that really fail are
        reported, not the neighbours they happened to share a task or a
        worker with (which, chunks being deterministic, would be lost again
        on every run).
        """
        from distributed import as_completed

        client = self.client
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, min(32, len(todo) // (4 * n_workers)))
        chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
        futures = {
            client.submit(_extract_chunk, c, *args, pure=False): c for c in chunks
        }
        alone = []  # inputs whose own task failed: retried one at a time
        pending = as_completed(futures)
        for fut in pending:
            chunk = futures.pop(fut)
            try:
                batch = fut.result()
            except Exception:
                if len(chunk) == 1:
                    alone.append(chunk[0])
                    continue
                for entry in chunk:  # each input of the chunk in its own task
                    single = client.submit(_extract_chunk, [entry], *args, pure=False)
                    futures[single] = [entry]
                    pending.add(single)
                continue
            yield batch
        for entry in alone:
            fut = client.submit(_extract_chunk, [entry], *args, pure=False)
            try:
                batch = fut.result()
            except Exception as exc:
                msg = f"Dask task failed: {type(exc).__name__}: {exc}"
                batch = [(entry[0], ("error", "failed", msg))]
            yield batch
