"""Per-file cost of the crash marker of in-process (``n_jobs=1``) decoding.

Before it decodes a file in its own process, ``AudioFeatures`` names it in a
marker in the cache folder and removes it after (see sertl-speech's README,
*Files that crash the process*). This measures, on 2,000 tiny WAV files
(0.2 s tones, 16 kHz):

* ``mark``/``unmark`` alone: one marker written and removed per file;
* ``transform`` of the uncached files with markers and with markers off (the
  difference is the markers' share of a real call);
* ``transform`` of the same files read from the cache (no file is decoded,
  so no marker is written).

Run (from the repository root)::

    .venv/bin/python benchmarks/speech_crash_marker.py

It prints the figures (median of the repeats) and writes them to
``benchmarks/results/speech_crash_marker.md`` with the machine and versions.
Before the start time and host name were read once per process, mark +
unmark took 190 us per file on the 2-core development machine (every
marker re-read ``/proc/self/stat`` and made its folder).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, parse_parts, threads, write_results  # noqa: E402

N_FILES = 2000
REPEATS = 5


def _files(folder):
    t = np.arange(3200) / 16000
    paths = []
    for k in range(N_FILES):
        path = folder / f"tone{k:04d}.wav"
        sf.write(path, 0.1 * np.sin(2 * np.pi * (100.0 + k / 10) * t), 16000)
        paths.append(str(path))
    return paths


def _median(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    """Print the per-file cost of the markers."""
    from sertl_speech import AudioFeatures
    from sertl_speech._cache import FeatureCache, content_key

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "audio").mkdir()
        files = _files(tmp / "audio")
        keys = [content_key(f) for f in files]
        cache = FeatureCache(tmp / "marks", {"bench": 1})

        def marks():
            for f, k in zip(files, keys, strict=True):
                cache.mark(f, k)
                cache.unmark()

        per_mark = _median(marks) / N_FILES
        lines = [f"| mark + unmark alone | {1e6 * per_mark:.1f} |"]
        print(f"mark + unmark: {1e6 * per_mark:.1f} us per file")

        def uncached(markers):
            def run():
                folder = tmp / f"cache-{time.perf_counter_ns()}"
                ext = AudioFeatures("mfcc_stats", cache_dir=folder)
                if not markers:
                    ext_cache = FeatureCache
                    real_mark = ext_cache.mark
                    ext_cache.mark = lambda *a, **k: None
                    try:
                        ext.fit_transform(files)
                    finally:
                        ext_cache.mark = real_mark
                else:
                    ext.fit_transform(files)

            return run

        with_markers = _median(uncached(True), 3) / N_FILES
        without = _median(uncached(False), 3) / N_FILES
        print(
            f"transform, uncached: {1e6 * with_markers:.0f} us per file with "
            f"markers, {1e6 * without:.0f} without "
            f"({1e6 * (with_markers - without):+.0f} us)"
        )
        lines += [
            f"| transform, uncached, markers on | {1e6 * with_markers:.0f} |",
            f"| transform, uncached, markers off | {1e6 * without:.0f} |",
        ]
        warm = AudioFeatures("mfcc_stats", cache_dir=tmp / "warm")
        warm.fit_transform(files)
        cached = _median(lambda: warm.fit_transform(files)) / N_FILES
        print(f"transform, cached: {1e6 * cached:.0f} us per file")
        lines.append(f"| transform, cached (no marker written) | {1e6 * cached:.0f} |")
    import librosa
    import sklearn

    table = "\n".join(["| what | us per file |", "|---|---|", *lines])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = f"""# sertl-speech: per-file cost of the crash marker

{N_FILES} tiny WAV files (0.2 s tones, 16 kHz), `mfcc_stats`, in-process
extraction (`n_jobs=1`); median of {REPEATS} repeats (3 for the uncached
calls, each into a new cache folder). The uncached rows differ by more than
mark + unmark alone when the machine is loaded: the first row is the steady
figure.

{table}

Command: `{command()}`

Machine: {platform.machine()}, {os.cpu_count()} cores (1-minute load average
{load:.1f}, shared machine); {threads()}; Python {platform.python_version()},
numpy {np.__version__}, librosa {librosa.__version__}, scikit-learn
{sklearn.__version__}.
"""
    out = Path(__file__).resolve().parent / "results" / "speech_crash_marker.md"
    print("wrote", write_results(out, text))


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
