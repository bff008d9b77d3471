"""Does NaN padding (left out of the pooling) help the CNN and CRNN?

Log-mel sequences of EmoDB and RAVDESS (4 classes: anger, happiness,
neutral, sadness), cut or padded to 300 frames (3 s) three ways: zeros
(``pad_sequences`` default), each recording's floor (``value="floor"``) and
NaN (``value=np.nan``, which sertl-neural's convolutional networks leave out
of their pooling). Every other setting is the same; the networks are
``FineTuneClassifier(network="cnn"|"crnn", conv_channels=(16, 32),
hidden_layer_sizes=(64,), max_epochs=30, class_weight="balanced")``.

Protocols (metric: UAR on the held-out rows, seeds 0-2):

* within EmoDB: 5 speaker-disjoint folds (GroupKFold on the 10 speakers);
* across corpora: EmoDB -> RAVDESS and RAVDESS -> EmoDB (source labels only).

The held-out rows are passed as unlabelled target rows, so the input
standardisation sees them; no labels of theirs are used.

Run from the repository root (CPU: a few hours on 2 cores; one GPU: minutes)::

    .venv/bin/python benchmarks/neural_padding.py --save-arrays A.npz  # corpora
    python benchmarks/neural_padding.py --arrays A.npz --device cuda --out R.md

Results: benchmarks/results/neural_padding.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sertl_neural import FineTuneClassifier
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import add_array_arguments, prepared_arrays  # noqa: E402
from _report import write_results  # noqa: E402

FRAMES = 300
SEEDS = (0, 1, 2)
PADDINGS = ("zero", "floor", "nan")
NETWORKS = ("cnn", "crnn")
NET = {
    "conv_channels": (16, 32),
    "hidden_layer_sizes": (64,),
    "max_epochs": 30,
    "finetune_epochs": 0,
    "class_weight": "balanced",
}
RESULTS = Path(__file__).resolve().parent / "results" / "neural_padding.md"


def prepare_arrays():
    from _data import load_features
    from sertl_speech import pad_sequences

    out = {}
    for corpus in ("emodb", "ravdess"):
        seqs, y, spk, _ = load_features(corpus, feature_set="logmel")
        X, _ = pad_sequences(list(seqs), max_frames=FRAMES, value=np.nan)
        out[f"X_{corpus}"] = X.astype(np.float16)
        out[f"y_{corpus}"] = y
        out[f"spk_{corpus}"] = spk
    return out


def padded(X, how):
    """The NaN-padded sequences ``X`` padded another way."""
    X = X.astype(np.float32)
    if how == "nan":
        return X
    if how == "zero":
        return np.nan_to_num(X, nan=0.0)
    floor = np.nanmin(X, axis=1, keepdims=True)  # per sequence and mel band
    return np.where(np.isnan(X), floor, X)


def uar_of(Xs, ys, Xt, yt, network, seed, device):
    X = np.concatenate([Xs, Xt])
    y = np.r_[ys, np.full(len(yt), "-1")]
    sd = np.r_[np.ones(len(ys), int), -np.ones(len(yt), int)]
    clf = FineTuneClassifier(network=network, **NET, random_state=seed, device=device)
    clf.fit(X, y, sample_domain=sd)
    return 100 * balanced_accuracy_score(yt, clf.predict(Xt))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_array_arguments(ap)
    ap.add_argument("--log", type=Path, help="append one line per fit here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    a = prepared_arrays(args.arrays, args.save_arrays, prepare_arrays)
    if a is None:
        return
    t0 = time.perf_counter()
    res: dict = {}

    def record(protocol, network, how, seed, value):
        res.setdefault((protocol, network, how), []).append(value)
        line = f"{protocol}\t{network}\t{how}\t{seed}\t{value:.2f}"
        print(line, flush=True)
        if args.log is not None:
            with open(args.log, "a") as f:
                f.write(line + "\n")

    pads = {
        c: {h: padded(a[f"X_{c}"], h) for h in PADDINGS} for c in ("emodb", "ravdess")
    }
    for src, tgt in (("emodb", "ravdess"), ("ravdess", "emodb")):
        for network in NETWORKS:
            for how in PADDINGS:
                for seed in SEEDS:
                    u = uar_of(
                        pads[src][how],
                        a[f"y_{src}"],
                        pads[tgt][how],
                        a[f"y_{tgt}"],
                        network,
                        seed,
                        args.device,
                    )
                    record(f"{src} -> {tgt}", network, how, seed, u)
    folds = list(GroupKFold(5).split(a["X_emodb"], groups=a["spk_emodb"]))
    ye = a["y_emodb"]
    for network in NETWORKS:
        for how in PADDINGS:
            Xe = pads["emodb"][how]
            for seed in SEEDS:
                u = np.mean(
                    [
                        uar_of(
                            Xe[tr], ye[tr], Xe[te], ye[te], network, seed, args.device
                        )
                        for tr, te in folds
                    ]
                )
                record("within EmoDB (5 speaker folds)", network, how, seed, u)
    wall = time.perf_counter() - t0
    device = args.device
    if device.startswith("cuda") and torch.cuda.is_available():
        device += f" ({torch.cuda.get_device_name(0)})"
    cli = " ".join(argv or sys.argv[1:])
    lines = [
        "# sertl-neural: padding of log-mel sequences for the CNN and CRNN",
        "",
        f"Command: `python benchmarks/neural_padding.py {cli}` (from the repository "
        "root).",
        "",
        f"Machine: {platform.machine()}, torch {torch.__version__}, device {device}, "
        f"Python {platform.python_version()}. Wall time {wall:.0f} s.",
        "",
        "Mean UAR % over seeds "
        + ", ".join(map(str, SEEDS))
        + " (per seed in brackets).",
        "",
        "| protocol | network | zero padding | floor padding | NaN padding (masked) |",
        "|---|---|---|---|---|",
    ]
    for protocol in dict.fromkeys(k[0] for k in res):
        for network in NETWORKS:
            cells = []
            for how in PADDINGS:
                v = res[(protocol, network, how)]
                cells.append(f"{np.mean(v):.1f} ({', '.join(f'{x:.1f}' for x in v)})")
            lines.append(f"| {protocol} | {network} | " + " | ".join(cells) + " |")
    lines.append("")
    write_results(args.out or RESULTS, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
