"""Seconds per training epoch of each sertl-neural network on real corpora.

Run from the repository root::

    .venv/bin/python benchmarks/neural_speed.py      # CPU: neural_speed.md
    .venv/bin/python benchmarks/neural_speed.py --save-arrays A.npz
    python benchmarks/neural_speed.py --arrays A.npz --device cpu,cuda --out R.md

MLP (and DANN, multi-task, autoencoder) on the functional features of EmoDB +
RAVDESS (4 classes, 1011 utterances); CNN and CRNN on the log-mel sequences
of EmoDB (4 classes, 339 utterances, padded/cropped to 300 frames x 64 mels).
Each model trains for a few epochs with one torch thread; the CPU figure is
process CPU time divided by the number of epochs, the wall figure wall time
divided by the number of epochs, and the median of the per-epoch wall times
from the skorch history is shown too (it leaves out the first epoch's one-off
costs, such as CUDA kernel selection).

``--save-arrays`` writes the prepared inputs (features, labels, padded
log-mel sequences) to one ``.npz`` file, and ``--arrays`` reads them back, so
the timing can run on a machine without the corpora or sertl-speech (a GPU
machine, say). ``--device`` takes a comma-separated list; every device listed
is timed in the same run, on the same machine. Results:
benchmarks/results/neural_speed.md (CPU, this repository's machine) and
benchmarks/results/neural_speed_gpu.md (CPU and CUDA on a GPU machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import add_array_arguments, prepared_arrays  # noqa: E402
from _report import command, write_results  # noqa: E402
from sertl_neural import (  # noqa: E402
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

RESULTS = Path(__file__).resolve().parent / "results"
EPOCHS = 5
FRAMES = 300


def prepare_arrays():
    """Inputs of every timed model, computed from the shared corpora."""
    from _data import load_features
    from sertl_speech import pad_sequences

    Xe, ye, _, ge = load_features("emodb")
    Xr, yr, _, gr = load_features("ravdess")
    seqs, ys, _, _ = load_features("emodb", feature_set="logmel")
    L, _ = pad_sequences(list(seqs), max_frames=FRAMES)
    sd_l = np.ones(len(ys), int)
    sd_l[::4] = -1
    return {
        "X": np.vstack([Xe, Xr]),
        "y": np.r_[ye, np.full(len(yr), "-1")],
        "sd": np.r_[np.ones(len(ye), int), -np.ones(len(yr), int)],
        "gender": np.r_[ge, gr],
        "L": L.astype(np.float32),
        "yl": np.where(sd_l > 0, ys, "-1"),
        "sd_l": sd_l,
    }


def timed(model, X, y, sd, **fit):
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(X, y, sample_domain=sd, **fit)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    hist = model.history_
    if isinstance(hist, dict):
        hist = hist["pretrain"] + hist["finetune"]
    epochs = max(len(hist), 1)
    return cpu / epochs, wall / epochs, float(np.median([h["dur"] for h in hist]))


def time_all(a, device):
    """Time every network on ``device``; a list of table rows."""
    X, y, sd, L, yl, sd_l = (a[k] for k in ("X", "y", "sd", "L", "yl", "sd_l"))
    net = {
        "hidden_layer_sizes": (256, 128),
        "max_epochs": EPOCHS,
        "device": device,
        "random_state": 0,
    }
    rows = [
        (
            "MLP (256, 128), FineTuneClassifier",
            "functionals",
            int((sd > 0).sum()),
            *timed(FineTuneClassifier(**net, finetune_epochs=0), X, y, sd),
        ),
        (
            "MLP + gender head, MultiTaskClassifier",
            "functionals",
            len(X),
            *timed(MultiTaskClassifier(**net), X, y, sd, aux={"gender": a["gender"]}),
        ),
        (
            "MLP + domain head, DANNClassifier",
            "functionals",
            len(X),
            *timed(DANNClassifier(**net), X, y, sd),
        ),
    ]
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(256,),
        n_components=128,
        max_epochs=EPOCHS,
        device=device,
        random_state=0,
    )
    rows.append(
        (
            "AutoencoderAdapter (256, 128), shared",
            "functionals",
            len(X),
            *timed(ae, X, None, sd),
        )
    )
    for network in ("cnn", "crnn"):
        clf = FineTuneClassifier(
            network=network,
            conv_channels=(16, 32),
            hidden_layer_sizes=(64,),
            max_epochs=EPOCHS,
            finetune_epochs=0,
            device=device,
            random_state=0,
        )
        rows.append(
            (
                f"{network.upper()} (16, 32) + (64,), FineTuneClassifier",
                f"log-mel {FRAMES}x64",
                int((sd_l > 0).sum()),
                *timed(clf, L, yl, sd_l),
            )
        )
    return rows


def machine_line(devices):
    cores = os.cpu_count()
    line = (
        f"Machine: {platform.machine()}, {cores} CPU cores visible, torch "
        f"{torch.__version__} with 1 CPU thread, Python {platform.python_version()}."
    )
    if "cuda" in devices and torch.cuda.is_available():
        line += f" GPU: {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})."
    return line + f" {EPOCHS} epochs per model, batch size 32."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_array_arguments(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    a = prepared_arrays(args.arrays, args.save_arrays, prepare_arrays)
    if a is None:
        return
    devices = [d.strip() for d in args.device.split(",") if d.strip()]
    if "cuda" in devices:
        # one short fit first, so CUDA's start-up is not charged to the first model
        FineTuneClassifier(max_epochs=1, finetune_epochs=0, device="cuda").fit(
            a["X"], a["y"], sample_domain=a["sd"]
        )
    results = {d: time_all(a, d) for d in devices}
    gpu = devices != ["cpu"]
    out = args.out or RESULTS / ("neural_speed_gpu.md" if gpu else "neural_speed.md")
    cmd = command(__file__, argv)
    lines = [
        "# sertl-neural: seconds per training epoch on "
        + ("CPU and GPU" if gpu else "CPU"),
        "",
        f"Command: `{cmd}` (from the repository root).",
        "",
        machine_line(devices),
        "",
        "| device | network | input | training rows | CPU s / epoch | wall s / epoch "
        "| median epoch (skorch) s |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, rows in results.items():
        for name, inp, n, cpu, wall, med in rows:
            lines.append(
                f"| {d} | {name} | {inp} | {n} | {cpu:.3f} | {wall:.3f} | {med:.3f} |"
            )
    lines += [
        "",
        "Training rows: rows with an emotion label (the classifiers) or all rows "
        "(multi-task, DANN and autoencoder also train on the unlabelled target rows). "
        "On CUDA, CPU s / epoch is the host's time driving the GPU. CPU-only runs "
        "write results/neural_speed.md, runs with CUDA results/neural_speed_gpu.md.",
        "",
    ]
    write_results(out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
