"""CPU seconds per training epoch of each sertl-neural network on real corpora.

Run from the repository root::

    .venv/bin/python benchmarks/neural_speed.py

MLP (and DANN, multi-task, autoencoder) on the functional features of EmoDB +
RAVDESS (4 classes, 1011 utterances); CNN and CRNN on the log-mel sequences
of EmoDB (4 classes, 339 utterances, padded/cropped to 300 frames x 64 mels).
Each model trains for a few epochs with one torch thread; the figure is
process CPU time divided by the number of epochs (median of the per-epoch
wall times from the history is shown too). Results:
benchmarks/results/neural_speed.md.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_features  # noqa: E402
from sertl_neural import (  # noqa: E402
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

OUT = Path(__file__).resolve().parent / "results" / "neural_speed.md"
EPOCHS = 5
FRAMES = 300


def timed(model, X, y, sd, **fit):
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(X, y, sample_domain=sd, **fit)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    hist = model.history_
    if isinstance(hist, dict):
        hist = hist["pretrain"] + hist["finetune"]
    epochs = max(len(hist), 1)
    return cpu / epochs, wall / epochs, float(np.median([h["dur"] for h in hist]))


def main():
    torch.set_num_threads(1)
    from sertl_speech import pad_sequences

    Xe, ye, _, ge = load_features("emodb")
    Xr, yr, _, gr = load_features("ravdess")
    X = np.vstack([Xe, Xr])
    y = np.r_[ye, np.full(len(yr), "-1")]
    sd = np.r_[np.ones(len(ye), int), -np.ones(len(yr), int)]
    net = {
        "hidden_layer_sizes": (256, 128),
        "max_epochs": EPOCHS,
        "device": "cpu",
        "random_state": 0,
    }
    rows = []
    rows.append(
        (
            "MLP (256, 128), FineTuneClassifier",
            "functionals",
            len(ye),
            *timed(FineTuneClassifier(**net, finetune_epochs=0), X, y, sd),
        )
    )
    rows.append(
        (
            "MLP + gender head, MultiTaskClassifier",
            "functionals",
            len(X),
            *timed(MultiTaskClassifier(**net), X, y, sd, aux={"gender": np.r_[ge, gr]}),
        )
    )
    rows.append(
        (
            "MLP + domain head, DANNClassifier",
            "functionals",
            len(X),
            *timed(DANNClassifier(**net), X, y, sd),
        )
    )
    ae = AutoencoderAdapter(
        hidden_layer_sizes=(256,),
        n_components=128,
        max_epochs=EPOCHS,
        device="cpu",
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

    seqs, ys, _, _ = load_features("emodb", feature_set="logmel")
    L, _ = pad_sequences(list(seqs), max_frames=FRAMES)
    sd_l = np.ones(len(ys), int)
    sd_l[::4] = -1
    yl = np.where(sd_l > 0, ys, "-1")
    for network in ("cnn", "crnn"):
        clf = FineTuneClassifier(
            network=network,
            conv_channels=(16, 32),
            hidden_layer_sizes=(64,),
            max_epochs=EPOCHS,
            finetune_epochs=0,
            device="cpu",
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

    lines = [
        "# sertl-neural: CPU seconds per training epoch",
        "",
        "Command: `.venv/bin/python benchmarks/neural_speed.py` (from the repository root).",
        "",
        f"Machine: {platform.machine()}, 2 CPU cores shared with other jobs (load was high "
        f"during the run, so these are upper bounds), torch {torch.__version__} with 1 "
        f"thread, Python {platform.python_version()}. {EPOCHS} epochs per model, batch size 32. "
        "**No GPU was available in this session**: no GPU figures (the `gpu` marked test "
        "and `device='auto'` cover CUDA when present).",
        "",
        "| network | input | training rows | CPU s / epoch | wall s / epoch | median epoch (skorch) s |",
        "|---|---|---|---|---|---|",
    ]
    for name, inp, n, cpu, wall, med in rows:
        lines.append(f"| {name} | {inp} | {n} | {cpu:.3f} | {wall:.3f} | {med:.3f} |")
    lines += [
        "",
        "Training rows: rows with an emotion label (the classifiers) or all rows "
        "(multi-task, DANN and autoencoder also train on the unlabelled target rows).",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
