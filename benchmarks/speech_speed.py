"""Extraction speed: sertl's functional set against openSMILE eGeMAPSv02.

Both run in this one process, one after the other, on the same files (100
EmoDB + 100 RAVDESS by default), single-threaded, without any cache, each
after a short warm-up; two alternating rounds, reporting the faster round of
each (the development machine is shared, so wall time is noisy) and the CPU
time. Target (issue 3): sertl >= 2x openSMILE's files per second.

Run (from the repository root; openSMILE lives only in the benchmark venv)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv-bench/bin/python benchmarks/speech_speed.py --write

Writes ``benchmarks/results/speech_speed.md`` with ``--write``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import file_table  # noqa: E402
from _report import write_results  # noqa: E402

CMD = (
    "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "
    ".venv-bench/bin/python benchmarks/speech_speed.py --write"
)


def pick(corpus, n, seed=0):
    rows = file_table(corpus)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(rows), size=min(n, len(rows)), replace=False))
    return [rows[i][0] for i in idx]


def run(fn, files):
    w, c = time.perf_counter(), time.process_time()
    for f in files:
        fn(f)
    return time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="files per corpus")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-opensmile", action="store_true")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    import soundfile as sf
    from sertl_speech import AudioFeatures

    files = pick("emodb", args.n) + pick("ravdess", args.n)
    audio_s = sum(sf.info(f).duration for f in files)
    ext = AudioFeatures(n_jobs=1, cache_dir=None).fit()

    def ours(f):
        ext.transform([f])

    tools = {"sertl AudioFeatures functionals": ours}
    if not args.no_opensmile:
        import opensmile

        smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )
        tools["openSMILE eGeMAPSv02 functionals"] = smile.process_file
    for fn in tools.values():  # warm-up (imports, filter banks)
        for f in files[:3]:
            fn(f)
    best = {k: (np.inf, np.inf) for k in tools}
    for _ in range(args.rounds):
        for name, fn in tools.items():
            w, c = run(fn, files)
            best[name] = (min(best[name][0], w), min(best[name][1], c))
    n = len(files)
    # a second run over the same files with an on-disk cache
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        AudioFeatures(cache_dir=tmp, n_jobs=2).fit_transform(files)
        cached = AudioFeatures(cache_dir=tmp).fit()
        w, c = time.perf_counter(), time.process_time()
        cached.transform(files)
        warm = (time.perf_counter() - w, time.process_time() - c)
        assert cached.n_cache_hits_ == n
    lines = [
        "| extractor | files/s (wall) | ms/file (wall) | CPU s per s of audio |",
        "|---|---|---|---|",
    ]
    for name, (w, c) in best.items():
        lines.append(
            f"| {name} | {n / w:.1f} | {1000 * w / n:.1f} | {c / audio_s:.4f} |"
        )
    w, c = warm
    lines.append(
        f"| sertl, second run from the cache (one call) | {n / w:.0f} | "
        f"{1000 * w / n:.2f} | {c / audio_s:.5f} |"
    )
    table = "\n".join(lines)
    names = list(best)
    ratio = ""
    if len(names) == 2:
        r = best[names[1]][0] / best[names[0]][0]  # both cold, per-file calls
        rc = best[names[1]][1] / best[names[0]][1]
        ratio = (
            f"\nsertl / openSMILE speed ratio: {r:.2f}x (wall), {rc:.2f}x (CPU time); "
            f"target >= 2x.\n"
        )
    print(table)
    print(ratio)
    if args.write:
        import librosa
        import scipy
        import sklearn

        try:
            import opensmile

            osv = opensmile.__version__
        except ImportError:
            osv = "not installed"
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = float("nan")
        text = f"""# Speech feature extraction speed (issue 3)

{n} files ({args.n} EmoDB + {args.n} RAVDESS, fixed random pick), {audio_s:.0f} s of
audio (16 kHz FLAC). Both extractors in the same process, single-threaded
(`OMP_NUM_THREADS=1`), no cache, one file per call, after a 3-file warm-up;
best of {args.rounds} alternating rounds. sertl's time includes reading and
decoding each file, like openSMILE's `process_file`. The last row is a
second run over the same files with a warm `cache_dir` (each file is hashed
by content, then its features are read back), in one `transform` call.

{table}
{ratio}
The machine is shared by several engineers (1-minute load average at the
end of the run: {load:.1f} on {os.cpu_count()} cores), so wall times are inflated for both
tools alike; the CPU-time column is the steadier comparison.

Command: `{CMD}`

Machine: {platform.machine()}, {os.cpu_count()} cores;
Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},
librosa {librosa.__version__}, scikit-learn {sklearn.__version__}, opensmile {osv}.
"""
        out = Path(__file__).resolve().parent / "results" / "speech_speed.md"
        out.parent.mkdir(exist_ok=True)
        write_results(out, text)
        print("wrote", out)


if __name__ == "__main__":
    main()
