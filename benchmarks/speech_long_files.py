"""Peak memory of feature extraction on long recordings.

A practitioner who labels a podcast episode, a meeting or a call-centre
recording hands sertl a file of tens of minutes. This benchmark writes
synthetic 16-bit WAV files, 44.1 kHz stereo and 16 kHz mono (a voiced
150 Hz tone switched on and off every second, over noise), of several
lengths and measures, each in a fresh process, the peak resident memory and the wall time of
``AudioFeatures(feature_set).transform([path])`` (reading, downmix,
resampling to 16 kHz and extraction; no cache), for the ``functionals`` and
``mfcc_stats`` sets. The per-minute slope between the two longest files is
what a longer file adds.

Run (from the repository root)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python benchmarks/speech_long_files.py --write

Writes ``benchmarks/results/speech_long_files.md`` with ``--write``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_results  # noqa: E402

MINUTES = (1, 10, 30)
SETS = ("functionals", "mfcc_stats")
FORMATS = (("44.1 kHz stereo", 44100, 2), ("16 kHz mono", 16000, 1))
CMD = (
    "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "
    ".venv/bin/python benchmarks/speech_long_files.py --write"
)

_CHILD = """
import json, resource, sys, time, warnings
from sertl_speech import AudioFeatures
path, feature_set = sys.argv[1], sys.argv[2]
feats = AudioFeatures(feature_set)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    X = feats.transform([path])
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": peak / 1024, "base_mb": before / 1024, "wall_s": wall,
                  "finite": bool((X == X).all()), "shape": list(X.shape)}))
"""


def write_wav(path, minutes, sr, channels, seed=0):
    """A 16-bit WAV of ``minutes``, written in one-minute pieces."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    with sf.SoundFile(path, "w", sr, channels, subtype="PCM_16") as out:
        for m in range(minutes):
            t = m * 60 + np.arange(60 * sr) / sr
            tone = 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(np.pi * t) > 0)
            gains = (1.0, 0.8)[:channels]
            piece = [g * tone + 0.01 * rng.normal(size=t.size) for g in gains]
            out.write(np.column_stack(piece).astype(np.float32))


def measure(path, feature_set):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), feature_set],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the results file")
    args = parser.parse_args()
    from importlib.metadata import version

    import sklearn
    import soundfile

    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, sr, channels in FORMATS:
            for minutes in MINUTES:
                path = Path(tmp) / f"long_{minutes}min.wav"
                write_wav(path, minutes, sr, channels)
                size_mb = path.stat().st_size / 2**20
                for feature_set in SETS:
                    r = measure(path, feature_set)
                    r.update(
                        file=name,
                        minutes=minutes,
                        feature_set=feature_set,
                        size_mb=size_mb,
                    )
                    rows.append(r)
                    print(json.dumps(r), flush=True)
                path.unlink()
    lines = [
        "# Peak memory of feature extraction on long recordings",
        "",
        f"Command: `{CMD}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared); "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, soundfile {soundfile.__version__}, "
        f"sertl-speech {version('sertl-speech')}. Wall time "
        f"{time.perf_counter() - t_start:.0f} s.",
        "",
        "Synthetic 16-bit WAV files, 44.1 kHz stereo and 16 kHz mono (a 150 Hz "
        "tone switched on and off every second over noise); each cell is one fresh process "
        "running `AudioFeatures(feature_set).transform([path])` without a "
        "cache: reading, downmix, resampling to 16 kHz and extraction. Peak "
        "= the process's maximum resident memory (ru_maxrss), imports "
        "included; `before` = the same just before `transform`.",
        "",
        "| file | feature set | minutes | file MB | before MB | peak MB | added MB "
        "| wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['file']} | {r['feature_set']} | {r['minutes']} | "
            f"{r['size_mb']:.0f} | "
            f"{r['base_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['peak_mb'] - r['base_mb']:.0f} | {r['wall_s']:.1f} |"
        )
    lines.append("")
    for name, _, _ in FORMATS:
        for feature_set in SETS:
            by = {
                r["minutes"]: r
                for r in rows
                if r["feature_set"] == feature_set and r["file"] == name
            }
            a, b = MINUTES[-2], MINUTES[-1]
            slope = (by[b]["peak_mb"] - by[a]["peak_mb"]) / (b - a)
            lines.append(
                f"- {name}, {feature_set}: {slope:.0f} MB more peak memory per "
                f"extra minute of audio ({a} -> {b} min)."
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        out = Path(__file__).resolve().parent / "results" / "speech_long_files.md"
        write_results(out, text)


if __name__ == "__main__":
    main()
