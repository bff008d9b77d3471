"""Cross-corpus UAR with per-speaker vs per-domain standardisation.

Protocol: train SVC(rbf, C=1, class_weight="balanced") on all labelled rows
of the source corpus, test on all rows of the target corpus (target labels
only for scoring), classes shared by the pair (4 for EmoDB/RAVDESS/URDU;
3 with TurEV-DB, which has calm instead of neutral). Features: sertl-speech's
default ``AudioFeatures()`` functional set through ``benchmarks/_data.py``
(cached). Normalisations compared:

* ``source_scaler``: one StandardScaler fitted on the source rows;
* ``per_domain``: ``sertl_core.DomainStandardScaler`` (each corpus with its
  own statistics; the target's from its unlabelled rows);
* ``per_speaker``: ``sertl_speech.SpeakerNormalizer`` with speaker ids
  (each speaker with its own statistics; target speakers are unseen in
  training and use their own rows, which needs no target labels).

Run from the repository root::

    .venv/bin/python benchmarks/speech_speaker_norm.py

It writes ``benchmarks/results/speech_speaker_norm.md``.
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
from sklearn.metrics import recall_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sertl_speech  # noqa: E402
from _data import load_features  # noqa: E402
from _report import parse_parts, write_results  # noqa: E402
from sertl_speech import SpeakerNormalizer, shared_classes  # noqa: E402

from sertl_core import DomainStandardScaler  # noqa: E402

CORPORA = ("emodb", "ravdess", "urdu", "turev_db")
FOUR = ("anger", "happiness", "neutral", "sadness")
METHODS = ("source_scaler", "per_domain", "per_speaker")
OUT = Path(__file__).resolve().parent / "results" / "speech_speaker_norm.md"


def _normalise(method, Xs, Xt, spk_s, spk_t):
    if method == "source_scaler":
        sc = StandardScaler().fit(Xs)
        return sc.transform(Xs), sc.transform(Xt)
    if method == "per_domain":
        X = np.vstack([Xs, Xt])
        sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
        Z = DomainStandardScaler().fit_transform(X, sample_domain=sd)
        return Z[: len(Xs)], Z[len(Xs) :]
    if method == "per_speaker":
        norm = SpeakerNormalizer().fit(Xs, speaker=spk_s)
        return norm.transform(Xs, speaker=spk_s), norm.transform(Xt, speaker=spk_t)
    raise ValueError(method)


def uar(src, tgt, data, method):
    classes = shared_classes(src, tgt, FOUR)
    (Xs, ys, ss), (Xt, yt, st) = data[src], data[tgt]
    ms, mt = np.isin(ys, classes), np.isin(yt, classes)
    Zs, Zt = _normalise(method, Xs[ms], Xt[mt], ss[ms], st[mt])
    clf = SVC(kernel="rbf", C=1.0, class_weight="balanced").fit(Zs, ys[ms])
    return 100 * recall_score(yt[mt], clf.predict(Zt), average="macro"), len(classes)


def main():
    t0 = time.perf_counter()
    data = {}
    for c in CORPORA:
        X, y, spk, _ = load_features(c)  # anger, happiness, neutral, sadness
        data[c] = (X, y, spk)
    rows = []
    for src, tgt in itertools.permutations(CORPORA, 2):
        res = {m: uar(src, tgt, data, m) for m in METHODS}
        rows.append((src, tgt, res[METHODS[0]][1], [res[m][0] for m in METHODS]))
        print(
            src,
            "->",
            tgt,
            " ".join(f"{m}={res[m][0]:.1f}" for m in METHODS),
            flush=True,
        )
    elapsed = time.perf_counter() - t0

    def table(sel):
        lines = [
            "| source -> target | classes | " + " | ".join(METHODS) + " |",
            "|---|---|" + "---|" * len(METHODS),
        ]
        for src, tgt, k, vals in sel:
            best = max(vals)
            cells = [f"**{v:.1f}**" if v == best else f"{v:.1f}" for v in vals]
            lines.append(f"| {src} -> {tgt} | {k} | " + " | ".join(cells) + " |")
        means = np.mean([r[3] for r in sel], axis=0)
        lines.append(
            "| **mean** | | " + " | ".join(f"**{m:.1f}**" for m in means) + " |"
        )
        return "\n".join(lines), means

    main_rows = [r for r in rows if {r[0], r[1]} == {"emodb", "ravdess"}]
    t_main, m_main = table(main_rows)
    t_all, m_all = table(rows)
    text = f"""# Per-speaker vs per-domain standardisation, cross-corpus UAR

Unweighted average recall (%) on the whole target corpus. SVC(rbf, C=1,
class_weight="balanced") trained on the whole source corpus; classes shared
by the pair (anger, happiness, neutral, sadness; anger, happiness, sadness
with TurEV-DB). Features: `AudioFeatures()` default functional set
(sertl-speech PART B), cached via `benchmarks/_data.py`. Target labels are
used only for scoring: per-domain statistics come from the unlabelled target
rows, per-speaker statistics of target speakers (unseen in training) from
their own rows.

- `source_scaler`: one StandardScaler fitted on the source.
- `per_domain`: `sertl_core.DomainStandardScaler` (each corpus with its own statistics).
- `per_speaker`: `sertl_speech.SpeakerNormalizer` (each speaker with its own
  statistics).

## EmoDB <-> RAVDESS (the issue's pair)

{t_main}

## All 12 ordered pairs of the four shared corpora

{t_all}

Per-speaker minus per-domain: {m_main[2] - m_main[1]:+.1f} points on EmoDB<->RAVDESS,
{m_all[2] - m_all[1]:+.1f} points over the 12 pairs.

Where per-speaker normalisation loses: URDU's "speakers" (talk-show guests)
mostly appear with a single emotion (e.g. SM4: 48 anger, SM24: 38 sadness,
SM5: 72 neutral + 8 happiness), and TurEV-DB's speaker 1157 has only anger
and sadness. Centring such a speaker on its own mean removes the emotion
itself, so per-speaker statistics help only when every speaker covers
several emotions (acted corpora such as EmoDB and RAVDESS). With labelled
training rows, `SpeakerNormalizer.fit(X, y, speaker=...)` warns when most
rows belong to single-emotion speakers.

## Reproduce

```
.venv/bin/python benchmarks/speech_speaker_norm.py
```

Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), {platform.system()}
{platform.release()}; Python {platform.python_version()}, scikit-learn
{sklearn.__version__}, numpy {np.__version__},
sertl-speech {getattr(sertl_speech, "__version__", "0.1.0")}. Wall time {elapsed:.0f} s
(features from the cache; the first extraction of all four corpora takes a few minutes).
"""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_results(OUT, text)
    print(text)


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
