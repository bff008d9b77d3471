"""Audio loading, resampling and input checks for feature extraction.

Every check returns a short, human-readable reason so that a batch job can
report the file and go on (see :class:`AudioError`).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["TARGET_SR", "AudioError", "check_waveform", "load_audio", "resample"]

TARGET_SR = 16000
"""Sample rate (Hz) every signal is resampled to before feature extraction."""

_SILENCE_PEAK = 1e-5  # about -100 dBFS: digital silence or dither only


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


def check_waveform(y, sr, *, min_duration=0.1, silence_threshold=_SILENCE_PEAK):
    """Validate a mono signal and return it as float32 at 16 kHz.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_channels)
        Signal; several channels are averaged. A 2-D array with more columns
        than rows is read as ``(n_channels, n_samples)`` (librosa's layout).
        Float signals are taken as they are (full scale is 1.0); integer
        signals are PCM samples (e.g. from ``scipy.io.wavfile.read``) and are
        scaled by their dtype's full scale, as soundfile reads files, so a
        file and its samples give the same features.
        The signal's mean (a constant DC offset) is removed.
    sr : int
        Sample rate in Hz.
    min_duration : float, default=0.1
        Shortest accepted duration in seconds.
    silence_threshold : float, default=1e-5
        Signals whose peak absolute amplitude is below this (1e-5 is about
        -100 dBFS for float signals in [-1, 1]) are rejected as silent;
        0 accepts every signal.

    Returns
    -------
    ndarray of shape (n_samples_16k,), float32
        Mono signal at :data:`TARGET_SR`.

    Raises
    ------
    AudioError
        With reason ``"empty"``, ``"nan"``, ``"too_short"`` or ``"silent"``.

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
    y = np.asarray(y)
    if y.dtype == object or not np.issubdtype(y.dtype, np.number):
        raise AudioError("failed", f"waveform has non-numeric dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.integer):
        info = np.iinfo(y.dtype)
        half = (float(info.max) - float(info.min) + 1.0) / 2.0
        # signed PCM spans [-half, half); unsigned (8-bit WAV) is offset by half
        y = (y.astype(np.float64) - (half if info.min == 0 else 0.0)) / half
    if y.ndim == 2:
        # soundfile gives (n_samples, n_channels), librosa (n_channels,
        # n_samples): the channel axis is the shorter one
        y = y.mean(axis=0 if 0 < y.shape[0] < y.shape[1] else 1)
    elif y.ndim != 1:
        raise AudioError(
            "failed",
            f"waveform must be 1-D (or 2-D samples x channels), got {y.ndim}-D",
        )
    if y.size == 0:
        raise AudioError("empty", "the signal has no samples")
    y = y.astype(np.float32, copy=False)
    finite = np.isfinite(y)
    if not finite.all():
        n_bad = int(y.size - finite.sum())
        raise AudioError("nan", f"{n_bad} of {y.size} samples are NaN or infinite")
    duration = y.size / float(sr)
    if duration < min_duration:
        raise AudioError(
            "too_short",
            f"{duration:.3f} s is shorter than min_duration={min_duration} s",
        )
    # a constant offset (DC, from a microphone or an A/D converter) is not
    # speech: left in, it leaks into the lowest spectral bands, the energy
    # and the voicing of every frame, and it differs between recordings
    # (156 of URDU's 400 files have one above 1 % of full scale)
    offset = float(np.mean(y, dtype=np.float64))
    y = (y - np.float32(offset)).astype(np.float32, copy=False)
    peak = float(np.max(np.abs(y)))
    if peak < silence_threshold or (silence_threshold > 0 and peak == 0):
        dc = f"; a constant offset of {offset:.3g} removed" if offset else ""
        raise AudioError(
            "silent",
            f"peak amplitude {peak:.3g} (all samples below silence_threshold="
            f"{silence_threshold:g}{dc})",
        )
    return resample(y, sr, TARGET_SR)


def load_audio(path, *, min_duration=0.1, silence_threshold=_SILENCE_PEAK):
    """Read a WAV/FLAC/OGG file, mix to mono and resample to 16 kHz.

    Parameters
    ----------
    path : str or path-like
        Audio file in any format libsndfile reads, at any sample rate.
    min_duration : float, default=0.1
        Shortest accepted duration in seconds.
    silence_threshold : float, default=1e-5
        Peak amplitude under which the file is rejected as silent (0: never).

    Returns
    -------
    ndarray of shape (n_samples,), float32
        Mono signal at :data:`TARGET_SR`.

    Raises
    ------
    AudioError
        With reason ``"missing"`` (no such path), ``"unreadable"`` (also a
        folder or other non-file at ``path``), ``"empty"``, ``"nan"``,
        ``"too_short"`` or ``"silent"``.

    Examples
    --------
    >>> from sertl_speech._audio import load_audio
    >>> load_audio("no/such/file.wav")
    Traceback (most recent call last):
    ...
    sertl_speech._audio.AudioError: missing: no such file: no/such/file.wav
    """
    import soundfile as sf

    path = os.fspath(path)
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise AudioError("unreadable", f"is a directory, not an audio file: {path}")
        if os.path.exists(path):  # a FIFO, socket or device
            raise AudioError("unreadable", f"is not a regular file: {path}")
        raise AudioError("missing", f"no such file: {path}")
    if os.path.getsize(path) == 0:
        raise AudioError("empty", f"the file has 0 bytes: {path}")
    try:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for bad files
        raise AudioError(
            "unreadable", f"cannot decode {path}: {type(exc).__name__}: {exc}"
        ) from exc
    return check_waveform(  # files are (n_frames, n_channels): mix down here
        y.mean(axis=1),
        sr,
        min_duration=min_duration,
        silence_threshold=silence_threshold,
    )
