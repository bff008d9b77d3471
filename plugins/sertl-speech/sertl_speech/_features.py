"""Frame-level acoustic descriptors and their utterance-level functionals.

All signals are mono, 16 kHz, float32 (see :mod:`sertl_speech._audio`).
One short-time Fourier transform (25 ms Hann window, 10 ms hop, 512 bins)
is computed per signal and reused for every spectral descriptor, the mel
bands, the MFCCs and the LPC formants (through the autocorrelation of the
power spectrum). F0 comes from a vectorised YIN-style difference function
(de Cheveigné & Kawahara, 2002) evaluated with FFT cross-correlation on all
frames at once; the HNR is the normalised autocorrelation at the period found
to a fraction of a sample (windowed-sinc interpolation of the 8 kHz signal),
so that it does not depend on whether the period is a whole number of
samples. No descriptor loops over frames in Python.

The descriptors follow the definitions of the Geneva Minimalistic Acoustic
Parameter Set (Eyben et al., 2016) where they are cheap to compute; jitter
and shimmer are frame-level approximations (differences of the period and
amplitude of consecutive voiced 10 ms frames) rather than cycle-by-cycle
measures.

References
----------
.. [1] F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set
   (GeMAPS) for Voice Research and Affective Computing", IEEE Trans.
   Affective Computing 7(2), 2016.
.. [2] A. de Cheveigné and H. Kawahara, "YIN, a fundamental frequency
   estimator for speech and music", JASA 111(4), 2002.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FEATURE_SETS", "extract", "feature_names"]

SR = 16000
WIN = 400  # 25 ms
HOP = 160  # 10 ms
NFFT = 512
FREQS = np.arange(NFFT // 2 + 1) * (SR / NFFT)

# F0 search (YIN) parameters; YIN runs on the signal decimated to 8 kHz
F0_MIN, F0_MAX = 55.0, 600.0
YIN_SR = 8000
YIN_DECIM = SR // YIN_SR
YIN_HOP = HOP // YIN_DECIM
YIN_W = 160  # 20 ms integration window
LAG_MIN = int(YIN_SR // F0_MAX)
LAG_MAX = int(np.ceil(YIN_SR / F0_MIN))
YIN_FRAME = YIN_W + LAG_MAX + 1
YIN_NFFT = 512
YIN_THRESHOLD = 0.15
# HNR: the correlation is measured at a fractional lag, the signal between
# samples given by a Kaiser-windowed sinc of 2 * HNR_HALF_TAPS taps (clean
# signals of ten harmonics of 60-400 Hz measured 56-60 dB, the ceiling being
# 60, but 45 dB at 330 Hz); each YIN frame carries HNR_HALF_TAPS more samples
HNR_HALF_TAPS = 8
HNR_KAISER_BETA = 8.0
HNR_STEP = 0.25  # lag step (samples) of the search for the correlation peak
HNR_TABLE_STEPS = 1024  # fractional lags are rounded to 1/1024 of a sample
VOICING_THRESHOLD = 0.35
ENERGY_GATE_DB = 40.0  # frames quieter than the loudest frame - 40 dB are unvoiced

N_MELS_FUNC = 26
N_MFCC_FUNC = 13
N_MELS_LOGMEL = 64
N_MFCC_STATS = 20
LPC_ORDER = 10
LPC_SR = 10000  # formants are searched in 0-5 kHz
# F1-F3 of a neutral vowel (Hz): where a file's formant was never found, its
# level is read there
_NEUTRAL_FORMANTS = (500.0, 1500.0, 2500.0)
LPC_BINS = int(LPC_SR / 2 / (SR / NFFT)) + 1

FEATURE_SETS = ("functionals", "mfcc_stats", "logmel")
"""Names of the available feature sets."""


# ---------------------------------------------------------------------------
# cached constants
@lru_cache(maxsize=1)
def _hann():
    n = np.arange(WIN)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / WIN)).astype(np.float32)


@lru_cache(maxsize=4)
def _mel_fb(n_mels, fmin=20.0, fmax=8000.0):
    import librosa

    return librosa.filters.mel(
        sr=SR, n_fft=NFFT, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=True
    ).astype(np.float32)


@lru_cache(maxsize=4)
def _dct_matrix(n_mels, n_ceps):
    # orthonormal DCT-II, as in HTK / librosa
    n = np.arange(n_mels)
    k = np.arange(n_ceps)[:, None]
    m = np.cos(np.pi / n_mels * (n + 0.5) * k) * np.sqrt(2.0 / n_mels)
    m[0] /= np.sqrt(2.0)
    return m.T.astype(np.float32)  # (n_mels, n_ceps)


@lru_cache(maxsize=1)
def _pre_emphasis_gain():
    w = 2 * np.pi * FREQS / SR
    return (np.abs(1 - 0.97 * np.exp(-1j * w)) ** 2).astype(np.float32)


def _band(lo, hi):
    return (FREQS >= lo) & (FREQS < hi)


@lru_cache(maxsize=8)
def _slope_weights(lo, hi):
    f = FREQS[_band(lo, hi)]
    fc = f - f.mean()
    return (fc / np.sum(fc**2)).astype(np.float32)


# ---------------------------------------------------------------------------
# frame analysis
def _frames(y, length, hop, n_frames):
    need = (n_frames - 1) * hop + length
    if y.size < need:
        y = np.pad(y, (0, need - y.size))
    return sliding_window_view(y, length)[: (n_frames - 1) * hop + 1 : hop]


def _n_frames(n_samples):
    return max(1, 1 + (n_samples - WIN) // HOP)


# Frames analysed at once (60 s of speech): the frame-wise steps below (the
# STFT, YIN, the spectral descriptors of both functional sets) work on blocks of
# this many frames, so that the memory of a long recording stays bounded
# (their whole-file intermediates took about 170 MB per minute of audio).
# Each frame is computed on its own: the FFTs and element-wise steps give the
# same numbers in any blocks; the float32 matrix products of the spectral
# descriptors may round differently in the last bit (relative 1e-9 measured
# on a 78 s file). A recording of up to one block is computed in one go, as
# before.
_BLOCK_FRAMES = 6000


def _blocks(n_frames):
    """``slice`` objects covering ``range(n_frames)`` in ``_BLOCK_FRAMES`` steps."""
    return [
        slice(start, min(n_frames, start + _BLOCK_FRAMES))
        for start in range(0, n_frames, _BLOCK_FRAMES)
    ]


def _mean_square(y):
    """Mean of ``y ** 2`` in float64, a block of samples at a time.

    A signal of up to one block is computed in one go, as before; a longer
    one no longer needs two float64 copies of itself (15 MB per minute).
    """
    step = _BLOCK_FRAMES * HOP
    if y.size <= step:
        return np.mean(y.astype(np.float64) ** 2)
    total = 0.0
    for start in range(0, y.size, step):
        total += np.sum(y[start : start + step].astype(np.float64) ** 2)
    return total / y.size


def _power_spectrum(y, zcr=False):
    """Power spectrum of the windowed frames (float32), and their zero-crossing rate.

    The rate is computed only with ``zcr`` (None otherwise).
    """
    n = _n_frames(y.size)
    frames = _frames(y, WIN, HOP, n)
    power = np.empty((n, NFFT // 2 + 1), dtype=np.float32)
    rate = np.empty(n) if zcr else None
    for block in _blocks(n):
        fr = frames[block] * _hann()
        spec = np.fft.rfft(fr, n=NFFT)
        power[block] = spec.real**2 + spec.imag**2
        if rate is not None:
            sgn = np.signbit(fr)
            rate[block] = np.mean(sgn[:, 1:] != sgn[:, :-1], axis=1)
    return power, rate


def _yin(y, n_frames):
    """Vectorised YIN: F0 (Hz), aperiodicity and normalised correlation."""
    from scipy.signal import resample_poly

    yd = resample_poly(y, 1, YIN_DECIM).astype(np.float64)
    frames = _frames(yd, YIN_FRAME + HNR_HALF_TAPS, YIN_HOP, n_frames)
    out = np.empty((3, n_frames))
    for block in _blocks(n_frames):
        out[:, block] = _yin_frames(frames[block])
    return out[0], out[1], out[2]


def _yin_frames(fr_long):
    """YIN on a block of frames (rows): F0, aperiodicity, correlation.

    ``fr_long`` holds ``YIN_FRAME + HNR_HALF_TAPS`` samples per frame; YIN
    reads the first ``YIN_FRAME``, the correlation (:func:`_correlation_at`)
    all of them.
    """
    fr = fr_long[:, :YIN_FRAME]
    n_frames = fr.shape[0]
    a = np.fft.rfft(fr[:, :YIN_W], n=YIN_NFFT)
    b = np.fft.rfft(fr, n=YIN_NFFT)
    r = np.fft.irfft(np.conj(a) * b, n=YIN_NFFT)[:, : LAG_MAX + 1]
    cs = np.zeros((n_frames, YIN_FRAME + 1))
    np.cumsum(fr * fr, axis=1, out=cs[:, 1:])
    e0 = cs[:, YIN_W][:, None]
    et = cs[:, YIN_W : YIN_W + LAG_MAX + 1] - cs[:, : LAG_MAX + 1]
    d = np.maximum(e0 + et - 2 * r, 0.0)
    d[:, 0] = 0.0
    lags = np.arange(1, LAG_MAX + 1)
    dn = d[:, 1:] * lags / np.maximum(np.cumsum(d[:, 1:], axis=1), 1e-12)
    seg = dn[:, LAG_MIN - 1 : LAG_MAX - 1]  # lags LAG_MIN .. LAG_MAX - 1
    # first local minimum under the threshold, else the global minimum
    inner = (seg[:, 1:-1] <= seg[:, :-2]) & (seg[:, 1:-1] <= seg[:, 2:])
    cand = inner & (seg[:, 1:-1] < YIN_THRESHOLD)
    has = cand.any(axis=1)
    idx = np.where(has, np.argmax(cand, axis=1) + 1, np.argmin(seg, axis=1))
    idx = np.clip(idx, 1, seg.shape[1] - 2)
    rows = np.arange(n_frames)
    y0, y1, y2 = seg[rows, idx - 1], seg[rows, idx], seg[rows, idx + 1]
    denom = y0 - 2 * y1 + y2
    shift = np.where(
        np.abs(denom) > 1e-12, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0
    )
    shift = np.clip(shift, -1, 1)
    lag = idx + LAG_MIN + shift
    aper = y1
    f0 = YIN_SR / lag
    return f0, aper, _correlation_at(fr_long, lag, cs)


@lru_cache(maxsize=1)
def _sinc_table():
    """Interpolation taps for ``HNR_TABLE_STEPS + 1`` points between two samples.

    Row ``i`` holds the weights of the ``2 * HNR_HALF_TAPS`` samples from
    ``HNR_HALF_TAPS - 1`` before a sample to ``HNR_HALF_TAPS`` after it, for
    the point ``i / HNR_TABLE_STEPS`` after it: a sinc under a Kaiser window.
    """
    from scipy.special import i0

    frac = np.arange(HNR_TABLE_STEPS + 1) / HNR_TABLE_STEPS
    x = np.arange(1 - HNR_HALF_TAPS, HNR_HALF_TAPS + 1) - frac[:, None]
    inside = np.clip(1.0 - (x / HNR_HALF_TAPS) ** 2, 0.0, None)
    return np.sinc(x) * (i0(HNR_KAISER_BETA * np.sqrt(inside)) / i0(HNR_KAISER_BETA))


def _correlation_at(fr, lag, cs):
    """Normalised autocorrelation of each frame at its period, to a sub-sample.

    ``rho = 2 <x, s> / (|x|^2 + |s|^2)``, ``x`` the frame's first ``YIN_W``
    samples and ``s`` the ``YIN_W`` samples one period later, is 1 for a
    periodic signal only when ``s`` starts exactly one period later: read at
    the nearest whole lag, a clean harmonic signal whose period is not a
    whole number of 8 kHz samples got an HNR of about 20 dB instead of the
    60 dB ceiling. The period is refined from YIN's ``lag`` to the peak of
    the correlation (a parabola through three points ``HNR_STEP`` apart,
    where the correlation between samples is interpolated from the whole-lag
    one), and ``s`` is then interpolated at that peak.

    Parameters
    ----------
    fr : ndarray of shape (n_frames, YIN_FRAME + HNR_HALF_TAPS)
        Frames of the 8 kHz signal.
    lag : ndarray of shape (n_frames,)
        YIN's period of each frame, in samples.
    cs : ndarray of shape (n_frames, YIN_FRAME + 1)
        Cumulative sums of the squared samples of each frame, from 0.

    Returns
    -------
    ndarray of shape (n_frames,)
        The correlation, at most 1.
    """
    n = fr.shape[0]
    rows = np.arange(n)
    n_taps = 2 * HNR_HALF_TAPS
    width = n_taps + 1  # the taps of any point between first and first + 2
    x = fr[:, :YIN_W]
    lag = np.clip(lag, LAG_MIN, LAG_MAX - 1)
    first = np.floor(lag - HNR_STEP).astype(int)  # every point read is after it
    # the samples from the first tap of ``first`` to the last one of ``first
    # + 1`` plus YIN_W - 1: every sample the three points and the peak read
    span = sliding_window_view(fr, YIN_W + width - 1, axis=1)[
        rows, first + 1 - HNR_HALF_TAPS
    ]
    lagged = sliding_window_view(span, YIN_W, axis=1)  # (n, width, YIN_W)
    corr = np.einsum("nj,nkj->nk", x, lagged)  # <x, s> at whole lags
    e0 = cs[:, YIN_W]

    def weights(at):
        # taps of the point ``at`` of each row, placed among the ``width``
        # lags from ``first + 1 - HNR_HALF_TAPS``
        base = np.floor(at).astype(int)
        steps = np.rint((at - base) * HNR_TABLE_STEPS).astype(int)
        out = np.zeros((n, width))
        cols = (base - first)[:, None] + np.arange(n_taps)
        out[rows[:, None], cols] = _sinc_table()[steps]
        return out, base

    def approx(at):
        # the energy between whole lags linearly interpolated: its small
        # error moves the peak found by the parabola very little
        w, base = weights(at)
        frac = at - base
        energy = (1 - frac) * (cs[rows, base + YIN_W] - cs[rows, base]) + frac * (
            cs[rows, base + 1 + YIN_W] - cs[rows, base + 1]
        )
        return 2 * np.sum(w * corr, axis=1) / np.maximum(e0 + energy, 1e-12)

    below, here, above = (approx(lag + k * HNR_STEP) for k in (-1, 0, 1))
    curve = below - 2 * here + above
    shift = np.where(
        curve < 0, 0.5 * (below - above) / np.where(curve < 0, curve, -1.0), 0.0
    )
    peak = lag + HNR_STEP * np.clip(shift, -1.0, 1.0)
    w, _ = weights(peak)
    # the YIN_W samples one period later, interpolated
    later = np.einsum("njk,nk->nj", sliding_window_view(span, width, axis=1), w)
    num = 2 * np.einsum("nj,nj->n", x, later)
    return num / np.maximum(e0 + np.einsum("nj,nj->n", later, later), 1e-12)


def _levinson(r, order):
    """Batched Levinson-Durbin: LPC polynomials (n, order + 1)."""
    n = r.shape[0]
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = (
            r[:, i] + np.sum(a[:, 1:i] * r[:, i - 1 : 0 : -1], axis=1)
            if i > 1
            else r[:, 1]
        )
        k = -acc / np.maximum(err, 1e-12)
        a_prev = a[:, 1:i].copy()
        a[:, 1:i] = a_prev + k[:, None] * a_prev[:, ::-1]
        a[:, i] = k
        err = err * (1 - k**2)
    return a


def _formants(power, gain, n_formants=3):
    """LPC formant frequencies and bandwidths (Hz) for each frame.

    ``power`` times ``gain`` (the pre-emphasis, per bin) is the spectrum
    analysed. The LPC model (order 10) is fitted to the 0-5 kHz band only:
    the autocorrelation of that band is the inverse FFT of the power
    spectrum truncated at 5 kHz, i.e. of the signal at an effective 10 kHz
    rate. Frames are analysed in blocks (each frame on its own, so the
    result does not depend on the blocks): the float64 intermediates of all
    voiced frames at once took about 30 MB per minute of speech.
    """
    n = power.shape[0]
    out_f = np.full((n, n_formants), np.nan)
    out_b = np.full((n, n_formants), np.nan)
    for block in _blocks(n):
        out_f[block], out_b[block] = _formant_rows(power[block], gain, n_formants)
    return out_f, out_b


def _formant_rows(power, gain, n_formants):
    """:func:`_formants` on one block of frames."""
    n = power.shape[0]
    out_f = np.full((n, n_formants), np.nan)
    out_b = np.full((n, n_formants), np.nan)
    nb = LPC_BINS
    r = np.fft.irfft(
        (power[:, :nb] * gain[:nb]).astype(np.float64), n=2 * (nb - 1), axis=1
    )
    r = r[:, : LPC_ORDER + 1]
    r[:, 0] = r[:, 0] * (1.0 + 1e-9) + 1e-12
    a = _levinson(r, LPC_ORDER)
    comp = np.zeros((n, LPC_ORDER, LPC_ORDER))
    comp[:, 0, :] = -a[:, 1:]
    comp[:, np.arange(1, LPC_ORDER), np.arange(LPC_ORDER - 1)] = 1.0
    comp[~np.isfinite(comp)] = 0.0
    roots = np.linalg.eigvals(comp)
    ang = np.angle(roots)
    mag = np.abs(roots)
    freq = ang * LPC_SR / (2 * np.pi)
    bw = -np.log(np.maximum(mag, 1e-12)) * LPC_SR / np.pi
    ok = (ang > 0) & (freq > 90) & (freq < LPC_SR / 2 - 90) & (bw < 600)
    freq = np.where(ok, freq, np.inf)
    order = np.argsort(freq, axis=1)[:, :n_formants]
    fsel = np.take_along_axis(freq, order, axis=1)
    bsel = np.take_along_axis(bw, order, axis=1)
    good = np.isfinite(fsel)
    out_f[good] = fsel[good]
    out_b[good] = bsel[good]
    return out_f, out_b


def _segments(mask):
    """Lengths (frames) of the runs of True and of False in a boolean mask."""
    if mask.size == 0:
        return np.zeros(0), np.zeros(0)
    m = mask.astype(np.int8)
    change = np.flatnonzero(np.diff(m)) + 1
    bounds = np.concatenate([[0], change, [m.size]])
    lengths = np.diff(bounds)
    vals = m[bounds[:-1]].astype(bool)
    return lengths[vals], lengths[~vals]


def _fill_nan_cols(x):
    """Replace NaN entries by their column's mean over finite entries (else 0)."""
    ok = np.isfinite(x)
    cnt = ok.sum(axis=0)
    mean = np.where(cnt > 0, np.where(ok, x, 0).sum(axis=0) / np.maximum(cnt, 1), 0.0)
    return np.where(ok, x, mean)


def _db(x):
    return 10.0 * np.log10(np.maximum(x, 1e-10))


# Dynamic range of the log-mel energies under a file's largest one (100 dB):
# a floor relative to the file, so that a gain leaves MFCC 1-12 and the
# log-mel shape unchanged (an absolute 1e-10 floor was hit by the nearly
# empty band under 8 kHz of resampled recordings, and more often the
# quieter a recording was, which made the cepstra depend on its level)
_LOG_MEL_RANGE = 1e-10


def _log_mel(mel):
    """Natural log of a file's mel energies, floored under the largest one.

    The floor is ``_LOG_MEL_RANGE`` times the largest energy.
    """
    peak = float(mel.max()) if mel.size else 0.0
    floor = max(peak * _LOG_MEL_RANGE, np.finfo(np.float32).tiny)
    return np.log(np.maximum(mel, floor))


def _harmonic_db(power, f0):
    """Power (dB) of the strongest bin within +-1 bin of ``f0`` per frame."""
    k = np.rint(f0 / (SR / NFFT)).astype(int)
    k = np.clip(k, 1, power.shape[1] - 2)
    rows = np.arange(power.shape[0])
    p = np.maximum(np.maximum(power[rows, k - 1], power[rows, k]), power[rows, k + 1])
    return _db(p)


# ---------------------------------------------------------------------------
# functionals
_STATS_V = ("mean", "stddevNorm", "pctl20", "pctl50", "pctl80", "pctlrange20_80")


def _stats(x, kinds):
    """Functionals of each column of ``x`` (rows = frames); 0 for no frames."""
    n_cols = x.shape[1]
    if x.shape[0] == 0:
        return np.zeros(len(kinds) * n_cols)
    out = []
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    need_p = [k for k in kinds if k.startswith("pctl")]
    if need_p:
        p = np.percentile(x, [10, 20, 50, 80, 90], axis=0)
        pd = dict(zip((10, 20, 50, 80, 90), p, strict=True))
    for k in kinds:
        if k == "mean":
            out.append(mean)
        elif k == "std":
            out.append(std)
        elif k == "stddevNorm":
            out.append(std / np.maximum(np.abs(mean), 1e-6))
        elif k == "pctlrange20_80":
            out.append(pd[80] - pd[20])
        elif k == "pctlrange10_90":
            out.append(pd[90] - pd[10])
        elif k.startswith("pctl"):
            out.append(pd[int(k[4:])])
        elif k == "min":
            out.append(x.min(axis=0))
        elif k == "max":
            out.append(x.max(axis=0))
        else:  # pragma: no cover - programming error
            raise ValueError(k)
    return np.stack(out, axis=1).ravel()  # column-major: per LLD, all stats


def _stat_names(lld_names, kinds):
    return [f"{n}_{k}" for n in lld_names for k in kinds]


def _slopes(x, voiced_runs):
    """Mean and std of rising / falling slopes (per second) of a contour."""
    d = np.diff(x) / (HOP / SR)
    d = d[voiced_runs]
    rise, fall = d[d > 0], -d[d < 0]
    return np.array(
        [
            rise.mean() if rise.size else 0.0,
            rise.std() if rise.size else 0.0,
            fall.mean() if fall.size else 0.0,
            fall.std() if fall.size else 0.0,
        ]
    )


_SLOPE_KINDS = (
    "meanRisingSlope",
    "stddevRisingSlope",
    "meanFallingSlope",
    "stddevFallingSlope",
)

# the spectral descriptors (the LLD matrix's columns 5 on), described over
# voiced frames after the voice-quality ones and over unvoiced frames after
# loudness
_SPECTRAL_LLDS = (
    "alphaRatio",
    "hammarbergIndex",
    "slope0-500",
    "slope500-1500",
    "spectralFlux",
    "spectralCentroid",
) + tuple(f"mfcc{i}" for i in range(1, N_MFCC_FUNC))
_VOICED_LLDS = (
    "F0semitoneFrom27.5Hz",
    "loudness",
    "jitterLocal",
    "shimmerLocaldB",
    "HNRdBACF",
    "logRelF0-H1-H2",
    "logRelF0-H1-A3",
    "F1frequency",
    "F1bandwidth",
    "F1amplitudeLogRelF0",
    "F2frequency",
    "F2bandwidth",
    "F2amplitudeLogRelF0",
    "F3frequency",
    "F3bandwidth",
    "F3amplitudeLogRelF0",
) + _SPECTRAL_LLDS
_UNVOICED_LLDS = ("loudness",) + _SPECTRAL_LLDS
_ALL_LLDS = (
    ("loudness", "spectralFlux", "logEnergy")
    + tuple(f"mfcc{i}" for i in range(0, N_MFCC_FUNC))
    + tuple(f"mfcc{i}_delta" for i in range(0, N_MFCC_FUNC))
)
_ALL_KINDS = ("mean", "std")
_UNVOICED_KINDS = ("mean", "std")
_TEMPORAL = (
    "loudnessPeaksPerSec",
    "VoicedSegmentsPerSec",
    "MeanVoicedSegmentLengthSec",
    "StddevVoicedSegmentLengthSec",
    "MeanUnvoicedSegmentLength",
    "StddevUnvoicedSegmentLength",
    "voicedRatio",
    "equivalentSoundLevel_dBp",
)


# signed descriptors (dB ratios, slopes, MFCC): their mean can be near zero,
# so they get a plain standard deviation instead of the coefficient of variation
_SIGNED = frozenset(
    {
        "HNRdBACF",
        "logRelF0-H1-H2",
        "logRelF0-H1-A3",
        "F1amplitudeLogRelF0",
        "F2amplitudeLogRelF0",
        "F3amplitudeLogRelF0",
        "alphaRatio",
        "hammarbergIndex",
        "slope0-500",
        "slope500-1500",
    }
    | {f"mfcc{i}" for i in range(1, N_MFCC_FUNC)}
)
_SIGNED_COLS = np.array([n in _SIGNED for n in _VOICED_LLDS])


def _functional_names():
    names = [
        f"{n}_sma3nz_{'stddev' if (k == 'stddevNorm' and n in _SIGNED) else k}"
        for n in _VOICED_LLDS
        for k in _STATS_V
    ]
    names += [f"F0semitoneFrom27.5Hz_sma3nz_{k}" for k in _SLOPE_KINDS]
    names += [f"loudness_sma3_{k}" for k in _SLOPE_KINDS]
    names += _stat_names([f"{n}_sma3_all" for n in _ALL_LLDS], _ALL_KINDS)
    names += _stat_names([f"{n}_sma3_uv" for n in _UNVOICED_LLDS], _UNVOICED_KINDS)
    names += list(_TEMPORAL)
    return names


def _delta(x, width=2):
    """Regression deltas along the frame axis (HTK formula, edge padding)."""
    n = x.shape[0]
    if n < 2:
        return np.zeros_like(x)
    xp = np.pad(x, ((width, width), (0, 0)), mode="edge")
    num = sum(
        k * (xp[width + k : width + k + n] - xp[width - k : width - k + n])
        for k in range(1, width + 1)
    )
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def _smooth3(x):
    """Symmetric 3-frame moving average along axis 0 (openSMILE's sma3)."""
    if x.shape[0] < 3:
        return x
    out = x.copy()
    out[1:-1] = (x[:-2] + x[1:-1] + x[2:]) / 3.0
    return out


def _flux_rows(p, prev):
    """Spectral flux of a block's frames, and the row the next block needs.

    ``prev`` is the normalised magnitude row of the frame before the block
    (None for the first block, whose first frame gets 0).
    """
    mag = np.sqrt(p)
    magn = mag / np.maximum(mag.sum(axis=1, keepdims=True), 1e-10)
    flux = np.zeros(magn.shape[0])
    step = np.diff(magn if prev is None else np.vstack([prev, magn]), axis=0)
    flux[magn.shape[0] - step.shape[0] :] = np.sum(step**2, axis=1) * 100.0
    return flux, magn[-1:]


def _spectral_descriptors(power):
    """Per-frame spectral descriptors of the functional set, block by block.

    Returns ``loud, mfcc, log_e, alpha, hammar, s1, s2, flux, centroid``
    (one row per frame). Each block needs only its own frames (the flux the
    last frame of the block before), so the whole-file intermediates (a copy
    of the spectrum per step) never exist at once; the cepstra are taken
    once all the mel energies are in, as their log floor is relative to the
    file's largest.
    """
    parts = []
    prev = None  # the last normalised magnitude row of the block before
    for block in _blocks(power.shape[0]):
        p = power[block]
        # --- energies and mel-based descriptors
        mel = p @ _mel_fb(N_MELS_FUNC).T
        loud = np.sum(np.maximum(mel, 0) ** 0.3, axis=1) * 1e-1
        mel_pe = (p * _pre_emphasis_gain()) @ _mel_fb(N_MELS_FUNC).T
        frame_e = p.sum(axis=1)
        log_e = _db(frame_e)
        # --- spectral shape
        low = p[:, _band(50, 1000)].sum(axis=1)
        high = p[:, _band(1000, 5000)].sum(axis=1)
        alpha = _db(high) - _db(low)
        hammar = _db(p[:, _band(0, 2000)].max(axis=1)) - _db(
            p[:, _band(2000, 5000)].max(axis=1)
        )
        logp = _db(p)
        s1 = logp[:, _band(0, 500)] @ _slope_weights(0, 500)
        s2 = logp[:, _band(500, 1500)] @ _slope_weights(500, 1500)
        flux, prev = _flux_rows(p, prev)
        centroid = (p @ FREQS) / np.maximum(frame_e, 1e-10)
        parts.append((loud, mel_pe, log_e, alpha, hammar, s1, s2, flux, centroid))
    out = [np.concatenate(column) for column in zip(*parts, strict=True)]
    out[1] = _log_mel(out[1]) @ _dct_matrix(N_MELS_FUNC, N_MFCC_FUNC)
    return out


def _functionals(y):
    # pitch first: YIN's whole-signal copies (the 8 kHz resampling) then do
    # not coexist with the spectrum, the largest array kept to the end
    n = _n_frames(y.size)
    f0, aper, rho = _yin(y, n)
    power, _ = _power_spectrum(y)
    loud, mfcc, log_e, alpha, hammar, s1, s2, flux, centroid = _spectral_descriptors(
        power
    )
    # --- voicing
    gate = log_e > (log_e.max() - ENERGY_GATE_DB)
    voiced = (aper < VOICING_THRESHOLD) & gate & (f0 >= F0_MIN) & (f0 <= F0_MAX)
    # remove isolated single voiced frames (octave/noise blips)
    if n >= 3:
        iso = voiced.copy()
        iso[1:-1] = voiced[1:-1] & ~voiced[:-2] & ~voiced[2:]
        iso[0] = voiced[0] & ~voiced[1]
        iso[-1] = voiced[-1] & ~voiced[-2]
        voiced &= ~iso
    # median-of-3 F0 smoothing inside voiced runs
    f0s = f0.copy()
    if n >= 3:
        med = np.median(np.stack([f0[:-2], f0[1:-1], f0[2:]]), axis=0)
        inner = voiced[1:-1] & voiced[:-2] & voiced[2:]
        f0s[1:-1][inner] = med[inner]
    semitone = 12.0 * np.log2(np.maximum(f0s, 1.0) / 27.5)
    hnr = _db(np.clip(rho, 1e-3, 1 - 1e-6)) - _db(1 - np.clip(rho, 1e-3, 1 - 1e-6))
    # frame-level jitter / shimmer between consecutive voiced frames
    period = 1.0 / f0s
    both = voiced[1:] & voiced[:-1]
    jit = np.zeros(n)
    jit[1:] = np.abs(np.diff(period)) / np.maximum(period[1:], 1e-6)
    amp_db = log_e  # the frame's level in dB (20 log10 of its amplitude)
    shim = np.zeros(n)
    shim[1:] = np.abs(np.diff(amp_db))
    vprev = np.zeros(n, dtype=bool)
    vprev[1:] = both
    # --- harmonics and formants (voiced frames only)
    vidx = np.flatnonzero(voiced)
    pv = power[vidx]
    h1 = _harmonic_db(pv, f0s[vidx])
    h2 = _harmonic_db(pv, 2 * f0s[vidx])
    ff, fb = _formants(pv, _pre_emphasis_gain())
    # a frame where a formant was not found takes its level at the file's
    # mean frequency of that formant, as its frequency column does (a fixed
    # 1000 Hz put the F3 level of such frames far above the F3 region)
    ff_level = _fill_nan_cols(ff)
    unseen = ~np.isfinite(ff).any(axis=0)
    ff_level[:, unseen] = np.asarray(_NEUTRAL_FORMANTS)[unseen]
    famp = np.stack(
        [_harmonic_db(pv, ff_level[:, j]) - h1 for j in range(3)],
        axis=1,
    )
    # A3 is the F3 level (as openSMILE's eGeMAPS takes it), so H1-A3 is
    # minus F3amplitudeLogRelF0 on every frame; both stay for eGeMAPS's layout
    a3 = famp[:, 2] + h1
    del power, pv  # the largest arrays; nothing below reads the spectrum
    # --- assemble voiced LLD matrix (sma3 smoothing first)
    lld = np.column_stack(
        [
            semitone,
            loud,
            jit,
            shim,
            hnr,
            alpha,
            hammar,
            s1,
            s2,
            flux,
            centroid,
            mfcc[:, 1:],
        ]
    )
    lld = _smooth3(lld)
    v = lld[vidx]
    jv = np.where(vprev[vidx], v[:, 2], np.nan)
    sv = np.where(vprev[vidx], v[:, 3], np.nan)
    ffill = _fill_nan_cols(ff)
    fbfill = _fill_nan_cols(fb)
    vm = np.column_stack(
        [
            v[:, 0],
            v[:, 1],
            v[:, 2],
            v[:, 3],
            v[:, 4],
            h1 - h2,
            h1 - a3,
            ffill[:, 0],
            fbfill[:, 0],
            famp[:, 0],
            ffill[:, 1],
            fbfill[:, 1],
            famp[:, 1],
            ffill[:, 2],
            fbfill[:, 2],
            famp[:, 2],
            v[:, 5:],
        ]
    )
    feats = [_stats(vm, _STATS_V)]
    k = len(_STATS_V)
    if vm.shape[0]:
        signed = np.flatnonzero(_SIGNED_COLS)
        feats[0][signed * k + _STATS_V.index("stddevNorm")] = vm[:, signed].std(axis=0)
    # jitter / shimmer only over consecutive voiced pairs: overwrite their stats
    for col, vals in ((2, jv), (3, sv)):
        vals = vals[np.isfinite(vals)]
        feats[0][col * k : (col + 1) * k] = _stats(vals[:, None], _STATS_V)
    # slopes of F0 and loudness inside voiced runs
    feats.append(_slopes(lld[:, 0], both))
    feats.append(_slopes(lld[:, 1], np.ones(max(n - 1, 0), dtype=bool)))
    # all-frame descriptors
    mfcc_s = _smooth3(mfcc)
    allm = np.column_stack(
        [_smooth3(np.column_stack([loud, flux, log_e])), mfcc_s, _delta(mfcc_s)]
    )
    feats.append(_stats(allm, _ALL_KINDS))
    # unvoiced descriptors
    uv = ~voiced & gate
    um = lld[uv][:, [1, 5, 6, 7, 8, 9, 10] + list(range(11, lld.shape[1]))]
    feats.append(_stats(um, _UNVOICED_KINDS))
    # temporal descriptors
    dur = y.size / SR
    lm = lld[:, 1]
    peaks = 0
    if n >= 3:
        peaks = int(
            np.sum((lm[1:-1] > lm[:-2]) & (lm[1:-1] >= lm[2:]) & (lm[1:-1] > lm.mean()))
        )
    vseg, useg = _segments(voiced)
    useg_inner = useg  # count all unvoiced runs (incl. edges)
    tsec = HOP / SR
    temporal = np.array(
        [
            peaks / dur,
            vseg.size / dur,
            vseg.mean() * tsec if vseg.size else 0.0,
            vseg.std() * tsec if vseg.size else 0.0,
            useg_inner.mean() * tsec if useg_inner.size else 0.0,
            useg_inner.std() * tsec if useg_inner.size else 0.0,
            voiced.mean(),
            _db(_mean_square(y)),
        ]
    )
    feats.append(temporal)
    out = np.concatenate(feats)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


# ---------------------------------------------------------------------------
# MFCC / spectral statistics
_MS_KINDS = ("mean", "std", "pctl10", "pctl50", "pctl90")
_MS_SPECTRAL = (
    "spectralCentroid",
    "spectralBandwidth",
    "spectralRolloff85",
    "spectralFlatness",
    "spectralFlux",
    "zcr",
    "logEnergy",
)


def _mfcc_stats_names():
    lld = [f"mfcc{i}" for i in range(N_MFCC_STATS)]
    lld += [f"mfcc{i}_delta" for i in range(N_MFCC_STATS)]
    lld += [f"mfcc{i}_delta2" for i in range(N_MFCC_STATS)]
    lld += list(_MS_SPECTRAL)
    return _stat_names(lld, _MS_KINDS)


def _mfcc_stats(y):
    power, zcr = _power_spectrum(y, zcr=True)
    parts = []
    prev = None
    for block in _blocks(power.shape[0]):  # bounded memory, as the functionals
        p = power[block]
        mel = (p * _pre_emphasis_gain()) @ _mel_fb(40).T
        e = p.sum(axis=1)
        pn = p / np.maximum(e[:, None], 1e-10)
        centroid = pn @ FREQS
        bandwidth = np.sqrt(np.maximum(pn @ FREQS**2 - centroid**2, 0))
        cum = np.cumsum(pn, axis=1)
        rolloff = FREQS[np.minimum(np.argmax(cum >= 0.85, axis=1), FREQS.size - 1)]
        flat = np.exp(np.mean(np.log(p + 1e-10), axis=1)) / (np.mean(p, axis=1) + 1e-10)
        flux, prev = _flux_rows(p, prev)
        parts.append((mel, e, centroid, bandwidth, rolloff, flat, flux))
    # the spectrum (and the view of its last block) is not needed below
    power = p = None
    mel, e, centroid, bandwidth, rolloff, flat, flux = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    # the log floor is relative to the file's largest mel energy
    mfcc = _log_mel(mel) @ _dct_matrix(40, N_MFCC_STATS)
    d1 = _delta(mfcc)
    d2 = _delta(d1)
    m = np.column_stack(
        [mfcc, d1, d2, centroid, bandwidth, rolloff, flat, flux, zcr, _db(e)]
    )
    return np.nan_to_num(_stats(m, _MS_KINDS), nan=0.0, posinf=0.0, neginf=0.0)


# ---------------------------------------------------------------------------
# log-mel sequences
def _logmel(y):
    power, _ = _power_spectrum(y)
    mel = power @ _mel_fb(N_MELS_LOGMEL).T
    return _log_mel(mel).astype(np.float32)


def feature_names(feature_set):
    """Names of the columns a feature set produces.

    Parameters
    ----------
    feature_set : {"functionals", "mfcc_stats", "logmel"}
        Feature set.

    Returns
    -------
    list of str
        Column names (for ``"logmel"`` the mel band names of each frame).

    Examples
    --------
    >>> from sertl_speech._features import feature_names
    >>> feature_names("functionals")[0]
    'F0semitoneFrom27.5Hz_sma3nz_mean'
    >>> len(feature_names("logmel"))
    64
    """
    if feature_set == "functionals":
        return _functional_names()
    if feature_set == "mfcc_stats":
        return _mfcc_stats_names()
    if feature_set == "logmel":
        return [f"logmel{i}" for i in range(N_MELS_LOGMEL)]
    raise ValueError(f"unknown feature_set {feature_set!r}; use one of {FEATURE_SETS}")


def extract(y, feature_set):
    """Features of one mono 16 kHz float32 signal.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Signal at 16 kHz (see :func:`sertl_speech._audio.check_waveform`).
    feature_set : {"functionals", "mfcc_stats", "logmel"}
        Feature set.

    Returns
    -------
    ndarray
        1-D vector for the functional sets, ``(n_frames, 64)`` float32 for
        ``"logmel"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech._features import extract, feature_names
    >>> t = np.arange(16000) / 16000
    >>> y = (0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    >>> v = extract(y, "functionals")
    >>> v.shape == (len(feature_names("functionals")),)
    True
    >>> print(f"{27.5 * 2 ** (v[0] / 12):.0f} Hz")  # mean F0
    150 Hz
    """
    y = np.asarray(y, dtype=np.float32)
    if feature_set == "functionals":
        return _functionals(y)
    if feature_set == "mfcc_stats":
        return _mfcc_stats(y)
    if feature_set == "logmel":
        return _logmel(y)
    raise ValueError(f"unknown feature_set {feature_set!r}; use one of {FEATURE_SETS}")
