"""Development check: marginalized stacked denoising autoencoders (mSDA) + SVC.

A question left by benchmarks/results/neural_dev_adapt.md: the trained
autoencoder adapter of sertl-neural is not better than the source-only SVC
on the development pairs, and the test target of issue #6 (autoencoder +
SVC at least matches the SVC on EmoDB <-> RAVDESS) is not met. mSDA
(Chen et al., ICML 2012) is the closed-form denoising autoencoder that
Glorot et al. and Chen et al. used for domain adaptation of linear
classifiers: each layer is the least-squares reconstruction of the input
from its copies with features dropped with probability ``p``, in
expectation over the dropouts (no training, no seed), followed by tanh;
the representation is the input stacked with every layer's output, fitted
on the source and target rows together.

This script asks whether adding it (as an option of the adapter) is worth
it, on the development pairs only (benchmarks/neural_dev.py's pairs, never
EmoDB <-> RAVDESS), with the paired rule of benchmarks/_selection.py:
candidates challenge the adapter's setting in use (run here with the same
two seeds as in neural_dev.py). The mSDA code lives in this script: it
enters the product only if a candidate wins. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_dev_msda.py

Results: benchmarks/results/neural_dev_msda.md (about 6 minutes on 2 cores).

References
----------
M. Chen, Z. Xu, K. Q. Weinberger and F. Sha, "Marginalized denoising
autoencoders for domain adaptation", ICML 2012.
X. Glorot, A. Bordes and Y. Bengio, "Domain adaptation for large-scale
sentiment classification: a deep learning approach", ICML 2011.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import parse_parts, write_results  # noqa: E402
from _selection import ALPHA, keep_unless_better  # noqa: E402
from neural_dev import AE_SEEDS, DEV_PAIRS, pair_data  # noqa: E402
from neural_transfer import AE_BASE, AE_SETTING, AE_SETTING_NAME, uar  # noqa: E402
from sertl_neural import AutoencoderAdapter  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "neural_dev_msda.md"
DROPOUT = (0.3, 0.5, 0.7, 0.9)
LAYERS = (1, 3, 5)
RIDGE = 1e-5


def msda_layer(H, p):
    """Weights ``W`` of one marginalized denoising layer: ``[h, 1] @ W.T``.

    Minimises the expected squared error of reconstructing ``H`` from
    copies with each feature zeroed with probability ``p`` (the bias never
    dropped), in closed form (Chen et al. 2012, eq. 5-6).
    """
    n, d = H.shape
    Hb = np.hstack([H, np.ones((n, 1))])
    S = Hb.T @ Hb
    q = np.full(d + 1, 1.0 - p)
    q[-1] = 1.0
    Q = S * np.outer(q, q)
    np.fill_diagonal(Q, q * np.diag(S))
    P = S[:d] * q[None, :]
    return np.linalg.solve(Q + RIDGE * np.eye(d + 1), P.T).T


def msda(H_fit, parts, p, n_layers):
    """Stack ``n_layers`` layers fitted on ``H_fit``; map each of ``parts``.

    Returns, for each part, the input stacked with every layer's output.
    """
    outs = [[X] for X in parts]
    for _ in range(n_layers):
        W = msda_layer(H_fit, p)

        def layer(Z, W=W):
            return np.tanh(np.hstack([Z, np.ones((len(Z), 1))]) @ W.T)

        H_fit = layer(H_fit)
        for out in outs:
            out.append(layer(out[-1]))
    return [np.hstack(out) for out in outs]


def main():
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    names = [f"mSDA p={p}, {L} layer(s)" for p, L in itertools.product(DROPOUT, LAYERS)]
    rows = {"source-only SVC": {}, AE_SETTING_NAME: {}, **{n: {} for n in names}}
    for pair in DEV_PAIRS:
        X, _, sd, Zs, ys, Zt, yt, _ = pair_data(*pair)
        svc = SVC(class_weight="balanced")
        rows["source-only SVC"][pair] = uar(yt, svc.fit(Zs, ys).predict(Zt))
        ae = []
        for seed in AE_SEEDS:
            A = AutoencoderAdapter(**AE_BASE, **AE_SETTING, random_state=seed)
            A = A.fit_transform(X, sample_domain=sd)
            pred = SVC(class_weight="balanced").fit(A[sd > 0], ys).predict(A[sd < 0])
            ae.append(uar(yt, pred))
        rows[AE_SETTING_NAME][pair] = float(np.mean(ae))
        for name, (p, L) in zip(names, itertools.product(DROPOUT, LAYERS), strict=True):
            As, At = msda(np.vstack([Zs, Zt]), [Zs, Zt], p, L)
            pred = SVC(class_weight="balanced").fit(As, ys).predict(At)
            rows[name][pair] = uar(yt, pred)
        print(pair, f"{time.perf_counter() - t0:.0f} s", flush=True)
    per_pair = {k: [v[p] for p in DEV_PAIRS] for k, v in rows.items()}
    base = np.array(per_pair["source-only SVC"])
    winner, tests = keep_unless_better(
        (AE_SETTING_NAME, per_pair[AE_SETTING_NAME]),
        {n: per_pair[n] for n in names},
    )
    _, vs_svc = keep_unless_better(
        ("source-only SVC", list(base)),
        {n: per_pair[n] for n in [AE_SETTING_NAME, *names]},
    )
    lines = [
        "# sertl-neural development check: mSDA (marginalized denoising "
        "autoencoder) + SVC",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neural_dev_msda.py` "
        "(from the repository root).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} shared CPU cores, torch "
        f"{torch.__version__} (1 thread), scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}; CPU only. "
        f"Load average at the end {os.getloadavg()[0]:.1f}. Wall time "
        f"{time.perf_counter() - t0:.0f} s.",
        "",
        "Development pairs of benchmarks/neural_dev.py (every ordered pair of "
        "EmoDB, RAVDESS, URDU and TurEV-DB except the test pairs EmoDB <-> "
        "RAVDESS, never run here); the same features, per-domain "
        "standardisation and `SVC(class_weight='balanced')` on the transformed "
        "source rows. mSDA (Chen et al. 2012): closed-form layers fitted on "
        f"the source and target rows, dropout probability p, ridge {RIDGE}, "
        "tanh, the input stacked with every layer's output (deterministic). "
        f"The setting in use of the trained adapter (`AutoencoderAdapter(**"
        f"{AE_BASE}, **{AE_SETTING}`) is the mean of seeds {list(AE_SEEDS)}.",
        "",
        "Cells: UAR of the arm minus the source-only SVC (UAR points).",
        "",
        "| arm | " + " | ".join(f"{s}->{t}" for s, t in DEV_PAIRS) + " | **mean** |"
        " vs SVC: p |",
        "|---|" + "---|" * (len(DEV_PAIRS) + 2),
        "| source-only SVC (UAR %) | "
        + " | ".join(f"{v:.1f}" for v in base)
        + f" | {base.mean():.1f} | |",
    ]
    for name in [AE_SETTING_NAME, *names]:
        d = np.array(per_pair[name]) - base
        lines.append(
            f"| {name} | "
            + " | ".join(f"{x:+.1f}" for x in d)
            + f" | **{d.mean():+.2f}** | {vs_svc[name][1]:.3f} |"
        )
    best = max(names, key=lambda n: tests[n][0])
    lines += [
        "",
        "Rule (benchmarks/_selection.py, fixed before the run): a candidate "
        f"replaces the setting in use only if it is better by an exact one-sided "
        f"paired sign-flip test at p < {ALPHA}. The last column tests each arm "
        "against the source-only SVC the same way.",
        "",
        f"Best mSDA candidate against the setting in use: {best}, "
        f"{tests[best][0]:+.2f} points (p = {tests[best][1]:.3f}). Chosen: "
        f"**{winner}** (setting in use "
        f"{'kept' if winner == AE_SETTING_NAME else 'replaced'}).",
        "",
    ]
    write_results(OUT, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
