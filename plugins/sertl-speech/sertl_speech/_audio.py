"""Audio loading, resampling and input checks for feature extraction.

Every check returns a short, human-readable reason so that a batch job can
report the file and go on (see :class:`AudioError`).
"""

from __future__ import annotations

import os
import re
import stat
import struct
import warnings

import numpy as np

__all__ = [
    "AUDIO_SUFFIXES",
    "TARGET_SR",
    "AudioError",
    "check_waveform",
    "load_audio",
    "resample",
    "soundfile_path",
]

TARGET_SR = 16000
"""Sample rate (Hz) every signal is resampled to before feature extraction."""

AUDIO_SUFFIXES = (
    # WAV and its relatives: Broadcast WAV, RF64, Sony Wave64
    ".wav", ".wave", ".bwf", ".rf64", ".w64",
    ".flac",
    ".ogg", ".oga", ".opus",  # Ogg Vorbis, Ogg Opus
    ".mp3",
    ".aiff", ".aif", ".aifc",
    ".au", ".snd",  # Sun / NeXT
    ".caf",  # Apple Core Audio Format
    ".sph", ".nist",  # NIST SPHERE (TIMIT and other speech corpora)
    ".sf", ".ircam", ".voc", ".htk", ".paf", ".svx", ".8svx", ".sd2",
    ".avr", ".wve", ".pvf", ".xi", ".sds",
)  # fmt: skip
"""File extensions (lower case) of the audio formats sertl-speech reads.

The formats libsndfile decodes, through which :func:`load_audio` and
:class:`~sertl_speech.AudioFeatures` read files (by their content, whatever
their name); the ``csv`` corpus reader accepts a file whose extension, in
any case, is one of these. Header-less RAW and the ambiguous ``.mat`` are
left out. A file of a listed format that the installed libsndfile lacks
(MP3 before libsndfile 1.1) is reported as unreadable, with the reason.
"""

_WAV_SUFFIXES = (".wav", ".wave", ".bwf", ".rf64")
"""Extensions of RIFF/RIFX/RF64 WAVE files, whose header is checked for truncation."""

_TRUNCATED_HEAD = "truncated:"
# data sizes that tools writing to a pipe put in a header they cannot seek
# back to (most: 0xFFFFFFFF; sox: 0x7FFFF000; others 0x7FFFFFFF): unknown,
# not a promise of that much audio
_UNKNOWN_DATA_SIZES = (0xFFFFFFFF, 0x7FFFF000, 0x7FFFFFFF)
_MAX_CHUNKS = 4096  # chunk headers read before giving up the search for "data"

_SILENCE_PEAK = 1e-5  # about -100 dBFS: digital silence or dither only

_SILENT_FIX = (
    "; check the recording (a muted or unplugged microphone, or a wrong "
    "input channel), or pass silence_threshold=0 to accept it"
)

_PCM_PEAK = 2.0
"""Peak above which a float signal is taken for PCM sample values.

Float audio has full scale 1.0; a clipped or hot float recording can go a
little beyond it, but not 6 dB: a peak of hundreds or thousands is integer
samples cast to float without being divided by their full scale.
"""


def soundfile_path(path):
    """Return ``path`` as soundfile must get it to open any name the OS lists.

    soundfile encodes a ``str`` path strictly in the file system encoding,
    so a name that is not valid in it (a corpus unpacked from an archive of
    Latin-1 or CP437 names, which Python lists with surrogate escapes) could
    not be opened. Its bytes (:func:`os.fsencode`) open every such file; on
    Windows, where soundfile opens ``str`` paths as wide strings, the path
    is left as it is. Every reader of sertl-speech opens files through it;
    code that calls soundfile itself on the files sertl reads should too.

    Parameters
    ----------
    path : str or path-like
        A file name as the OS lists it.

    Returns
    -------
    bytes or str
        What to give to ``soundfile.read``, ``soundfile.info`` or
        ``soundfile.SoundFile``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, soundfile as sf
    >>> from sertl_speech import soundfile_path
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(soundfile_path(path), np.zeros(1600), 16000)
    >>> sf.info(soundfile_path(path)).samplerate
    16000
    """
    path = os.fspath(path)
    return path if os.name == "nt" else os.fsencode(path)


def _pcm_scale_note(peak, *, file=False):
    """Return the note for a float signal whose peak looks like PCM values."""
    if not peak > _PCM_PEAK:
        return None
    if file:
        fix = (
            "the file stores float samples in integer units; re-export it "
            "scaled to [-1, 1] (divided by 32768 for 16-bit values)"
        )
    else:
        fix = (
            "divide by 32768 (16-bit) or 2147483648 (32-bit), or pass the "
            "integer array itself, which is scaled by its dtype"
        )
    return (
        f"peak {peak:.6g}: looks like PCM sample values, not float audio "
        f"(full scale 1.0; peaks above {_PCM_PEAK:g} are taken for PCM); {fix}"
    )


def _report_note(note, notes):
    """Append ``note`` to ``notes``, or warn when the caller collects none."""
    if note is None:
        return
    if notes is not None:
        notes.append(note)
        return
    from sertl_core import external_stacklevel

    from ._extract import AudioFeaturesWarning

    warnings.warn(note, AudioFeaturesWarning, stacklevel=external_stacklevel())


def _note_kind(note):
    """Return the kind of a note of this module: ``"truncated"`` or ``"pcm_scale"``."""
    return "truncated" if note.startswith(_TRUNCATED_HEAD) else "pcm_scale"


def _wav_truncation_note(path):
    """Return the note on a WAV file whose audio is cut short, else None.

    Only files named as WAV (:data:`_WAV_SUFFIXES`) are checked, by reading
    their chunk headers (RIFF, RIFX or RF64; a few bytes per chunk up to the
    ``data`` chunk, none of the audio): the note is due when the ``data``
    chunk's size claims at least one sample frame more than the file holds
    after the chunk's start. A file that is no WAVE, has no ``data`` chunk
    in the bytes present, or whose data size is unknown (0xFFFFFFFF, written
    by streaming tools) gets none; so does one followed by further chunks
    (a LIST chunk after the audio) or padded to an even size.
    """
    if os.path.splitext(path)[1].lower() not in _WAV_SUFFIXES:
        return None
    try:
        with open(path, "rb") as fh:
            extent = _wav_data_extent(fh, os.fstat(fh.fileno()).st_size)
    except OSError:  # the reading that follows reports it
        return None
    if extent is None:
        return None
    declared, present, byte_rate, block_align = extent
    if declared - present < max(block_align, 1):
        return None

    def seconds(n_bytes):
        return f" ({n_bytes / byte_rate:.2f} s)" if byte_rate else ""

    return (
        f"{_TRUNCATED_HEAD} the WAV header says the audio is {declared} bytes"
        f"{seconds(declared)}, but the file holds {max(present, 0)}"
        f"{seconds(max(present, 0))}: it was cut short (an interrupted copy or "
        "download, or a recording that was never closed), so its features "
        "describe only the audio present; copy the file again from its "
        "source, or re-export it from the original recording"
    )


def _wav_data_extent(fh, size):
    """Find the ``data`` chunk of an open WAVE file of ``size`` bytes.

    Returns ``(declared, present, byte_rate, block_align)``: the data size
    the header gives, the bytes the file holds from the chunk's start, and
    the ``fmt`` chunk's average bytes per second and block size (0 when no
    ``fmt`` chunk precedes ``data``); None when the file is no RIFF, RIFX or
    RF64 WAVE, or the size of its audio is not known.
    """
    head = fh.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE":
        return None
    magic = head[:4]
    if magic not in (b"RIFF", b"RIFX", b"RF64"):
        return None
    order = ">" if magic == b"RIFX" else "<"
    ds64_data = None  # RF64: the 64-bit data size of the ds64 chunk
    byte_rate = block_align = 0
    offset = 12
    for _ in range(_MAX_CHUNKS):
        fh.seek(offset)
        header = fh.read(8)
        if len(header) < 8:
            return None  # no data chunk in the bytes present
        chunk_id = header[:4]
        (chunk_size,) = struct.unpack(order + "I", header[4:])
        body = offset + 8
        if chunk_id == b"data":
            if chunk_size == 0xFFFFFFFF and magic == b"RF64":  # size in ds64
                if ds64_data is None:
                    return None
                chunk_size = ds64_data
            elif chunk_size in _UNKNOWN_DATA_SIZES:
                return None  # written to a pipe: the size was never known
            return chunk_size, size - body, byte_rate, block_align
        if chunk_id == b"ds64" and magic == b"RF64":
            fields = fh.read(24)  # RIFF size, data size, sample count
            if len(fields) == 24:
                ds64_data = struct.unpack("<QQQ", fields)[1]
        elif chunk_id == b"fmt ":
            fields = fh.read(14)
            if len(fields) == 14:
                byte_rate, block_align = struct.unpack(order + "8xIH", fields)
        offset = body + chunk_size + (chunk_size & 1)  # odd sizes: a pad byte
    return None


def _unit_scale(y):
    """Integer PCM samples as float64 at full scale 1.0; other arrays as given.

    Raises
    ------
    AudioError
        With reason ``"failed"`` for 64-bit integers, which no PCM format
        uses: they are numpy's default integer (``np.round(x).astype(int)``),
        and scaled by 2**63 any speech would be read as silence.
    """
    if not np.issubdtype(y.dtype, np.integer):
        return y
    if y.dtype.itemsize > 4:
        raise AudioError(
            "failed",
            f"the waveform has {y.dtype} samples, which no PCM format uses "
            "(numpy's default integer type, e.g. from np.round(x).astype(int)); "
            "scaled by their full scale of 2**63 they would read as silence. "
            "Cast them to the width their values have, e.g. y.astype(np.int16) "
            "for 16-bit samples or y.astype(np.int32) for 24/32-bit ones, or "
            "pass float samples in [-1, 1]",
        )
    info = np.iinfo(y.dtype)
    half = (float(info.max) - float(info.min) + 1.0) / 2.0
    # signed PCM spans [-half, half); unsigned (8-bit WAV) is offset by half
    return (y.astype(np.float64) - (half if info.min == 0 else 0.0)) / half


def _nan_message(n_bad, size):
    """Say that ``n_bad`` of ``size`` samples are not finite (reason ``"nan"``)."""
    return (
        f"{n_bad} of {size} samples are NaN or infinite; repair or re-export "
        "the file (a waveform: replace or drop those samples)"
    )


def _loudest_channel(channels, axis, silence_threshold):
    """Return (index, peak) of the loudest channel when it is not silent.

    For a multi-channel signal whose mix is silent: ``channels`` holds the
    channels along ``axis``; the peak is measured after removing each
    channel's mean, as the mix's is. None when every channel is silent too.
    """
    if channels.ndim != 2 or channels.shape[axis] < 2:
        return None
    time_axis = 1 - axis
    x = _unit_scale(channels).astype(np.float64, copy=False)
    swing = np.max(np.abs(x - x.mean(axis=time_axis, keepdims=True)), axis=time_axis)
    loudest = int(np.argmax(swing))
    peak = float(swing[loudest])
    if not (peak >= silence_threshold and peak > 0):
        return None
    return loudest, peak


def _cancel_message(loudest, peak, how):
    return (
        f" in the mix of the channels, but channel {loudest} alone peaks at "
        f"{peak:.3g}: the channels cancel when averaged (out of phase); pass "
        f"one channel ({how})"
    )


class AudioError(ValueError):
    """A file or waveform that cannot give features, with the reason.

    Parameters
    ----------
    reason : str
        Short category: ``"missing"``, ``"unreadable"``, ``"empty"``,
        ``"nan"``, ``"silent"``, ``"too_short"`` or ``"failed"``.
    message : str
        Details for the person reading the report.

    Attributes
    ----------
    reason : str
        The category given.
    message : str
        The details given.

    See Also
    --------
    load_audio : Raises it for files that give no signal.
    AudioFeatures : Reports these reasons in ``failed_`` instead of raising.

    Examples
    --------
    >>> from sertl_speech import AudioError, load_audio
    >>> try:
    ...     load_audio("no/such/file.wav")
    ... except AudioError as err:
    ...     print(err.reason, "|", err.message)
    missing | no such file: no/such/file.wav
    >>> str(AudioError("silent", "peak amplitude 0"))
    'silent: peak amplitude 0'
    >>> issubclass(AudioError, ValueError)
    True
    """

    def __init__(self, reason, message):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def resample(y, orig_sr, target_sr=TARGET_SR):
    """Resample a 1-D signal with soxr's high-quality filter.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Signal.
    orig_sr : int
        Its sample rate in Hz.
    target_sr : int, default=16000
        Wanted sample rate in Hz.

    Returns
    -------
    ndarray of shape (n_resampled,), float32
        The resampled signal (the input itself, as float32, when the rates
        are equal).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech._audio import resample
    >>> resample(np.zeros(48000, dtype=np.float32), 48000).shape
    (16000,)
    """
    y = np.asarray(y, dtype=np.float32)
    if int(orig_sr) == int(target_sr):
        return y
    import soxr

    return np.asarray(soxr.resample(y, int(orig_sr), int(target_sr), "HQ"), np.float32)


def check_waveform(
    y, sr, *, min_duration=0.1, silence_threshold=_SILENCE_PEAK, notes=None
):
    """Validate a mono signal and return it as float32 at 16 kHz.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_channels)
        Signal; several channels are averaged. A 2-D array with more columns
        than rows is read as ``(n_channels, n_samples)`` (librosa's layout).
        Float signals are taken as they are (full scale is 1.0); integer
        signals are PCM samples (e.g. from ``scipy.io.wavfile.read``) and are
        scaled by their dtype's full scale, as soundfile reads files, so a
        file and its samples give the same features. 64-bit integers
        (numpy's default ``int``, no PCM format) are refused: cast them to
        the PCM width, e.g. ``y.astype(np.int16)``.
        The signal's mean (a constant DC offset) is removed.
    sr : int
        Sample rate in Hz.
    min_duration : float, default=0.1
        Shortest accepted duration in seconds.
    silence_threshold : float, default=1e-5
        Signals whose peak absolute amplitude is below this (1e-5 is about
        -100 dBFS for float signals in [-1, 1]) are rejected as silent;
        0 accepts every signal. When the mono mix of several channels is
        silent but a channel is not (channels in opposite phase), the
        message says so.
    notes : list, default=None
        Where to append notes on a signal that is accepted but suspicious
        (a float signal with a peak above 2.0, PCM sample values that were
        not divided by their full scale). None: each note is emitted as an
        :class:`~sertl_speech.AudioFeaturesWarning`. A note never rejects the
        signal.

    Returns
    -------
    ndarray of shape (n_samples_16k,), float32
        Mono signal at :data:`TARGET_SR`.

    Raises
    ------
    AudioError
        With reason ``"empty"``, ``"nan"``, ``"too_short"`` or ``"silent"``;
        ``"failed"`` for a non-numeric or 64-bit integer signal.

    Warns
    -----
    AudioFeaturesWarning
        When ``notes`` is None and a float signal peaks above 2.0.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech._audio import check_waveform
    >>> t = np.arange(8000) / 8000
    >>> check_waveform(np.sin(2 * np.pi * 200 * t), 8000).shape
    (16000,)
    >>> pcm = (16384 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)
    >>> round(float(np.abs(check_waveform(pcm, 8000)).max()), 2)
    0.5
    >>> check_waveform(np.zeros(16000), 16000)
    Traceback (most recent call last):
    ...
    sertl_speech._audio.AudioError: silent: peak amplitude 0 (all samples below ...
    """
    return _check_waveform(
        y,
        sr,
        min_duration=min_duration,
        silence_threshold=silence_threshold,
        notes=notes,
    )


def _check_waveform(
    y, sr, *, min_duration, silence_threshold, notes, file=False, owned=False
):
    """`check_waveform`, with ``file=True`` for the wording of a file's notes.

    ``owned``: ``y`` is a float32 array of this module's own (read from a
    file), which may be changed in place.
    """
    y = np.asarray(y)
    if y.dtype == object or not np.issubdtype(y.dtype, np.number):
        raise AudioError(
            "failed",
            f"waveform has non-numeric dtype {y.dtype}: give the samples as "
            "numbers (floats in [-1, 1] or PCM integers), e.g. "
            "np.asarray(y, dtype=np.float32), or pass the file's path instead",
        )
    given = y  # the caller's array (its channels, should the mix be silent)
    y = _unit_scale(y)
    if y.ndim == 2:
        # soundfile gives (n_samples, n_channels), librosa (n_channels,
        # n_samples): the channel axis is the shorter one
        axis = 0 if 0 < y.shape[0] < y.shape[1] else 1
        y = y.mean(axis=axis)
    elif y.ndim != 1:
        raise AudioError(
            "failed",
            f"waveform must be 1-D (or 2-D samples x channels), got {y.ndim}-D",
        )
    if y.size == 0:
        raise AudioError(
            "empty",
            "the file holds no audio samples, only a header (a recording or "
            "export that was stopped at once?); record or export it again, or "
            "leave it out"
            if file
            else "the signal has no samples; pass a waveform with samples",
        )
    y = y.astype(np.float32, copy=False)
    finite = np.isfinite(y)
    if not finite.all():
        raise AudioError("nan", _nan_message(int(y.size - finite.sum()), y.size))
    duration = y.size / float(sr)
    if duration < min_duration:
        # the samples and 4 significant digits: 1599 samples at 16 kHz were
        # "0.100 s is shorter than min_duration=0.1 s"
        raise AudioError(
            "too_short",
            f"{duration:.4g} s ({y.size} samples at {sr:g} Hz) is shorter than "
            f"min_duration={min_duration} s; give a longer recording, or a "
            "lower min_duration (0 accepts any length) to accept it",
        )
    # a constant offset (DC, from a microphone or an A/D converter) is not
    # speech: left in, it leaks into the lowest spectral bands, the energy
    # and the voicing of every frame, and it differs between recordings
    # (156 of URDU's 400 files have one above 1 % of full scale)
    offset = float(np.mean(y, dtype=np.float64))
    if owned and y.dtype == np.float32 and y.flags.writeable:
        y -= np.float32(offset)  # no copy of a long file
    else:
        y = (y - np.float32(offset)).astype(np.float32, copy=False)
    peak = max(float(y.max()), -float(y.min()))  # max |y|, without a copy
    if peak < silence_threshold or (silence_threshold > 0 and peak == 0):
        dc = f"; a constant offset of {offset:.3g} removed" if offset else ""
        message = (
            f"peak amplitude {peak:.3g} (all samples below silence_threshold="
            f"{silence_threshold:g}{dc})"
        )
        loudest = given.ndim == 2 and _loudest_channel(given, axis, silence_threshold)
        if loudest:
            how = f"y[:, {loudest[0]}]" if axis == 1 else f"y[{loudest[0]}]"
            message += _cancel_message(*loudest, how)
        elif not file:  # a file's caller adds its own (see _load_checked)
            message += _SILENT_FIX
        raise AudioError("silent", message)
    _report_note(_pcm_scale_note(peak, file=file), notes)
    return resample(y, sr, TARGET_SR)


def load_audio(path, *, min_duration=0.1, silence_threshold=_SILENCE_PEAK, notes=None):
    """Read an audio file (WAV, FLAC, OGG, MP3 ...), mix to mono, resample to 16 kHz.

    Parameters
    ----------
    path : str or path-like
        Audio file in any format libsndfile reads, at any sample rate.
    min_duration : float, default=0.1
        Shortest accepted duration in seconds.
    silence_threshold : float, default=1e-5
        Peak amplitude under which the file is rejected as silent (0: never).
        When the mono mix is silent but a channel is not (channels in
        opposite phase), the message says so.
    notes : list, default=None
        Where to append notes (strings) on a file that is read but
        suspicious: float samples peaking above 2.0 (PCM values stored
        unscaled), or a WAV file whose header gives more audio than the file
        holds (a truncated copy: the note starts ``"truncated:"``, and the
        samples present are read). None: each note is emitted as an
        :class:`~sertl_speech.AudioFeaturesWarning`.

    Returns
    -------
    ndarray of shape (n_samples,), float32
        Mono signal at :data:`TARGET_SR`.

    Raises
    ------
    AudioError
        With reason ``"missing"`` (no such path; a link whose target is
        missing says so), ``"unreadable"`` (also a folder or other non-file
        at ``path``, and a file this user may not read, or reach through its
        folders: the message says ``permission denied``), ``"empty"``, ``"nan"``,
        ``"too_short"`` or ``"silent"``. The message of a truncated WAV file
        that fails also says that it is truncated.

    Warns
    -----
    AudioFeaturesWarning
        When ``notes`` is None and the file's float samples peak above 2.0,
        or it is a truncated WAV file.

    Notes
    -----
    A WAV file (``.wav``, ``.wave``, ``.bwf``, ``.rf64``) is checked for
    truncation from its chunk headers alone (RIFF, RIFX or RF64; no audio is
    read for it): the ``data`` chunk's size is compared with the bytes the
    file holds after the chunk's start. Chunks after the audio (a ``LIST``
    chunk), pad bytes after odd-sized chunks, ``WAVE_FORMAT_EXTENSIBLE`` and
    the unknown size streaming tools write (0xFFFFFFFF) give no note.

    Examples
    --------
    >>> from sertl_speech._audio import load_audio
    >>> load_audio("no/such/file.wav")
    Traceback (most recent call last):
    ...
    sertl_speech._audio.AudioError: missing: no such file: no/such/file.wav
    """
    path = os.fspath(path)
    try:
        # not os.path.isfile: it says False for a file this user may not
        # reach (a folder without search permission), as for a missing one
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise AudioError("missing", _missing_message(path)) from None
    except OSError as exc:
        raise AudioError("unreadable", _os_error_message(path, exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError("unreadable", f"is a directory, not an audio file: {path}")
    if not stat.S_ISREG(st.st_mode):  # a FIFO, socket or device
        raise AudioError("unreadable", f"is not a regular file: {path}")
    if st.st_size == 0:
        raise AudioError("empty", f"the file has 0 bytes: {path}")
    truncated = _wav_truncation_note(path)
    try:
        y = _load_checked(path, min_duration, silence_threshold, notes)
    except AudioError as err:
        if truncated is None:
            raise
        # whatever else is wrong, the missing audio may be why
        raise AudioError(err.reason, f"{err.message}; also {truncated}") from err
    _report_note(truncated, notes)
    return y


def _load_checked(path, min_duration, silence_threshold, notes):
    """Read the file at ``path`` and check its signal (see :func:`load_audio`)."""
    import soundfile as sf

    try:
        mono, sr, channels = _read_mono(path)
    except Exception as exc:  # libsndfile raises several types for bad files
        # libsndfile says "System error" for a file it may not open: say why
        denied = _open_error(path)
        if denied is not None:
            raise AudioError("unreadable", _os_error_message(path, denied)) from exc
        raise AudioError("unreadable", _undecodable(path, exc)) from exc
    try:
        return _check_waveform(
            mono,
            sr,
            min_duration=min_duration,
            silence_threshold=silence_threshold,
            notes=notes,
            file=True,
            owned=True,
        )
    except AudioError as err:
        if err.reason != "silent":
            raise
        if channels < 2:
            raise AudioError("silent", err.message + _SILENT_FIX) from None
        # a silent mix: are the channels silent too? (read again, whole)
        try:
            y = sf.read(soundfile_path(path), dtype="float32", always_2d=True)[0]
        except Exception:  # it was read once: report the silence as found
            raise AudioError("silent", err.message + _SILENT_FIX) from None
        loudest = _loudest_channel(y, 1, silence_threshold)
        if not loudest:
            raise AudioError("silent", err.message + _SILENT_FIX) from None
        how = (
            f"y, sr = soundfile.read(path); give AudioFeatures(sample_rate=sr) "
            f"the waveform y[:, {loudest[0]}], or keep one channel: ffmpeg -i "
            f"FILE -af 'pan=mono|c0=c{loudest[0]}' out.wav"
        )
        raise AudioError(
            "silent", err.message + _cancel_message(*loudest, how)
        ) from None


# Sample frames read at once: a long file is mixed to mono block by block,
# so that its samples at their own rate in all channels never exist at once
_READ_BLOCK = 1 << 20


def _read_mono(path):
    """Read a file, mixing its channels to mono block by block.

    Returns ``(y, sr, n_channels)``; ``y`` is float32, the mean of the
    channels of each sample frame.
    """
    import soundfile as sf

    parts = []
    with sf.SoundFile(soundfile_path(path)) as f:
        sr, channels = f.samplerate, f.channels
        # libsndfile (1.2.2) decodes MP3 wrongly from the second read call on
        # (the samples of later blocks do not follow the first): read it whole
        size = max(f.frames, 1) if f.format == "MP3" else _READ_BLOCK
        # frames given: a stream libsndfile cannot seek in (GSM 6.10 WAV) has
        # no remaining count of its own, as for soundfile.read
        blocks = f.blocks(size, frames=f.frames, dtype="float32", always_2d=True)
        for block in blocks:
            # the mean of each row, as of the whole (n_frames, n_channels) array
            parts.append(block.mean(axis=1))
    if len(parts) == 1:
        return parts[0], sr, channels
    y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return y, sr, channels


def _missing_message(path):
    """Say that ``path`` does not exist; for a link, that its target is missing."""
    if os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:  # the link went away meanwhile
            target = "?"
        return (
            f"link target missing: {path} -> {target} (storage not mounted, or "
            "the file moved); mount it, or point the link at the file"
        )
    return f"no such file: {path}"


def _open_error(path):
    """Return the OSError that opening ``path`` for reading raises, else None."""
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return exc


def _os_error_message(path, exc):
    """Say why the operating system refuses ``path`` (``exc``), and what to do."""
    if isinstance(exc, PermissionError):
        return (
            f"permission denied: {path} exists but this user may not read it "
            "(the file lacks read permission, or a folder above it search "
            "permission); give them, e.g. chmod a+r FILE and chmod a+x on its "
            "folders, or copy the file to a folder you can read"
        )
    return f"cannot be read: {path}: {exc.strerror or exc}"


def _undecodable(path, exc):
    """Return what is wrong with an undecodable file, and what to do."""
    detail = str(exc)
    # libsndfile's own text repeats the path ("Error opening '<path>': ...")
    for name in (path, soundfile_path(path)):
        detail = detail.replace(f"Error opening {name!r}: ", "")
    detail = detail.strip()
    detail = re.sub(r"^Error\s*:\s*", "", detail).rstrip(".")
    if "not recognised" in detail.lower() or "unknown format" in detail.lower():
        fix = (
            "it is not audio that libsndfile reads (WAV, FLAC, OGG, MP3, "
            "AIFF, ...); convert it, e.g. with ffmpeg -i FILE out.wav"
        )
    else:
        fix = (
            "the file is truncated or damaged, or in an encoding libsndfile "
            "cannot decode; re-export it, or convert what is left of it, e.g. "
            "with ffmpeg -i FILE out.wav"
        )
    return f"cannot decode {path}: {type(exc).__name__}: {detail}; {fix}"
