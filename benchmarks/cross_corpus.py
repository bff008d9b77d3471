"""Cross-corpus matrix: every installed sertl method against skada anchors.

The four shared corpora (EmoDB, RAVDESS, URDU, TurEV-DB) give 12 ordered
source -> target pairs; each pair uses the classes it shares among anger,
happiness, neutral and sadness (3 classes with TurEV-DB, which has no
neutral). Protocol: labelled source, unlabelled target (transductive), UAR
on the whole target corpus, SVC(rbf, C=1, class_weight="balanced").

* sertl recipes on sertl-speech's functional features: no adaptation
  (source-fit scaling), per-domain standardisation (DSS), per-speaker
  normalisation, and DSS followed by every installed unsupervised adapter or
  transfer estimator (what ``method = "auto"`` chooses among).
* anchors, in the same run: skada 0.6.0's CORAL, TCA, KMM and KLIEP after
  per-domain standardisation, on openSMILE eGeMAPSv02 functionals and on
  sertl's functionals, plus DSS + SVC on eGeMAPS.

Target of the issue: the best *fixed* recipe, selected without target
labels (the recipe with the best mean label-free score over the pairs, the
same recipe for every pair), beats the best anchor's mean UAR over the 12
pairs by at least 5 points.

Run (from the repository root; skada and opensmile live only in the
benchmark venv)::

    .venv-bench/bin/python benchmarks/cross_corpus.py --write

Per-pair results are cached in ``benchmarks/.cache/cross_corpus/`` so an
interrupted run resumes; ``--fresh`` recomputes. Each pair file records the
version of sertl-speech's features it was computed on, and a file of another
version (or none) is recomputed, never reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import CACHE, DEFAULT_EMOTIONS, file_table, load_features  # noqa: E402
from _report import require, write_results  # noqa: E402
from sertl_experiments._recipes import Recipe, default_candidates  # noqa: E402
from sertl_experiments._runner import _fit, _predict  # noqa: E402
from sertl_experiments._selection import evaluate  # noqa: E402
from sklearn import config_context  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from sertl_core import DomainStandardScaler, get_registry  # noqa: E402

CORPORA = ["emodb", "ravdess", "urdu", "turev_db"]
# RV and IWV score the SVC as it is; prediction entropy and DEV need class
# probabilities, so they run in a second evaluation with the SVC calibrated
# (3-fold sigmoid), which leaves the first two scores as they were.
PLAIN_SCORERS = ["reverse_validation", "importance_weighted"]
PROBA_SCORERS = ["prediction_entropy", "deep_embedded_validation"]
SCORERS = PLAIN_SCORERS + PROBA_SCORERS
SHORT = {
    "reverse_validation": "RV",
    "importance_weighted": "IWV",
    "prediction_entropy": "entropy",
    "deep_embedded_validation": "DEV",
}
OUT_CACHE = CACHE / "cross_corpus"


def _features_version():
    from sertl_speech._extract import FEATURES_VERSION

    return FEATURES_VERSION


def read_cell(path):
    """A cached pair file of the matrix, or None.

    None when the file is missing or was computed on another version of
    sertl-speech's features (or before cells recorded it): such cells are
    stale, and reusing them would publish figures of older features.
    """
    path = Path(path)
    if not path.is_file():
        return None
    cell = json.loads(path.read_text())
    if cell.get("features_version") != _features_version():
        print(
            f"  {path.name}: computed on features version "
            f"{cell.get('features_version', 'unknown')}, not "
            f"{_features_version()}; recomputed",
            flush=True,
        )
        return None
    return cell


def write_cell(path, cell):
    """Write a pair file of the matrix, stamped with the features version."""
    Path(path).write_text(json.dumps({**cell, "features_version": _features_version()}))


RESULTS = Path(__file__).resolve().parent / "results" / "cross_corpus.md"


def egemaps(corpus):
    """eGeMAPSv02 functionals (opensmile), cached as benchmarks/.cache/egemaps-*.npz."""
    rows = [r for r in file_table(corpus) if r[1] in DEFAULT_EMOTIONS]
    files = np.array([r[0] for r in rows])
    out = CACHE / f"egemaps-{corpus}.npz"
    if out.is_file():
        d = np.load(out, allow_pickle=True)
        if list(d["files"]) == list(files):
            return d["X"], files
    import opensmile

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    t0 = time.perf_counter()
    X = np.vstack([smile.process_file(f).to_numpy() for f in files])
    print(
        f"  eGeMAPS {corpus}: {len(files)} files in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(out, X=X, files=files)
    return X, files


def load_all(with_egemaps):
    data = {}
    for c in CORPORA:
        X, y, spk, _ = load_features(c)
        entry = {
            "X": np.asarray(X, float),
            "y": np.asarray(y).astype(str),
            "spk": np.asarray(spk).astype(str),
        }
        if with_egemaps:
            Xe, files = egemaps(c)
            rows = [r for r in file_table(c) if r[1] in DEFAULT_EMOTIONS]
            if len(rows) == len(entry["y"]) and [r[1] for r in rows] == list(
                entry["y"]
            ):
                entry["Xe"] = np.asarray(Xe, float)
            else:
                print(
                    f"  warning: eGeMAPS rows of {c} do not align; anchors on our "
                    "features only",
                    flush=True,
                )
        data[c] = entry
    return data


def recipes():
    reg = get_registry()
    out = default_candidates()
    if "speaker_normalizer" in reg.names("adapters"):
        out.insert(2, Recipe("speaker_norm", scaling="speaker"))
    if "vote" in reg.names("estimators"):  # not an auto candidate: named here
        out.append(Recipe("dss+vote", estimator="vote"))
    return out


def skada_anchors():
    import skada

    def svc():
        return SVC(kernel="rbf", C=1.0, class_weight="balanced")

    def wsvc():
        # skada's reweighting adapters pass sample_weight through routing
        return svc().set_fit_request(sample_weight=True)

    return {
        "skada_coral": lambda d: skada.CORAL(svc()),
        "skada_tca": lambda d: skada.TransferComponentAnalysis(svc(), n_components=30),
        "skada_kmm": lambda d: skada.KMMReweight(wsvc(), gamma=1.0 / d),
        "skada_kliep": lambda d: skada.KLIEPReweight(
            wsvc(), gamma=1.0 / d, random_state=0
        ),
    }


def _pair_data(data, src, tgt, key="X"):
    classes = sorted(set(data[src]["y"]) & set(data[tgt]["y"]))
    ms = np.isin(data[src]["y"], classes)
    mt = np.isin(data[tgt]["y"], classes)
    X = np.vstack([data[src][key][ms], data[tgt][key][mt]])
    y = np.r_[data[src]["y"][ms], np.full(mt.sum(), "-1")]
    sd = np.r_[np.ones(ms.sum(), int), -np.ones(mt.sum(), int)]
    spk = np.r_[data[src]["spk"][ms], data[tgt]["spk"][mt]]
    return X, y, sd, spk, data[tgt]["y"][mt], classes


def _proba_scores(recipe, X, y, sd, spk):
    """Prediction-entropy and DEV scores; None (and why) for a recipe without
    class probabilities, e.g. a hard vote."""
    try:
        res, _ = evaluate(
            [recipe],
            X,
            y,
            sd,
            spk,
            scorers=PROBA_SCORERS,
            n_splits=2,
            probability=True,
        )
        return res[0]["scores"]
    except Exception as exc:  # recorded in the cell; the matrix goes on
        return {
            **{s: None for s in PROBA_SCORERS},
            "proba_error": f"{type(exc).__name__}: {exc}",
        }


def run_ours(data, src, tgt, skip, have=None):
    """Evaluate every recipe not in ``skip``; cells already in ``have`` are kept."""
    X, y, sd, spk, yt, classes = _pair_data(data, src, tgt)
    out = {"source": src, "target": tgt, "classes": classes, "ours": dict(have or {})}
    task = {"classifier": "svc", "classifier_params": {}}
    for r in recipes():
        if r.name in skip:
            continue
        cell = out["ours"].get(r.name)
        if cell is not None:
            if any(s not in cell for s in PROBA_SCORERS):
                # a cell cached before these scorers were added
                t0 = time.perf_counter()
                cell.update(_proba_scores(r, X, y, sd, spk))
                cell["seconds"] += time.perf_counter() - t0
                print(f"    {r.name:<24s} + {PROBA_SCORERS}", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            res, _ = evaluate([r], X, y, sd, spk, scorers=PLAIN_SCORERS, n_splits=2)
            res[0]["scores"].update(_proba_scores(r, X, y, sd, spk))
            model = _fit(r, X, y, sd, spk, task, 0)
            pred = _predict(model, r, X[sd < 0], spk[sd < 0])
            uar = balanced_accuracy_score(yt, pred)
            out["ours"][r.name] = {
                "uar": float(uar),
                **res[0]["scores"],
                "seconds": time.perf_counter() - t0,
            }
        except Exception as exc:  # one failing method must not stop the matrix
            out["ours"][r.name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"    {r.name:<24s} {out['ours'][r.name]}", flush=True)
    return out


def run_anchors(data, src, tgt):
    _, _, _, _, _, classes = _pair_data(data, src, tgt)
    out = {"anchors": {}}
    if "X" in data[src]:
        feats = [("sertl", "X")] + ([("egemaps", "Xe")] if "Xe" in data[src] else [])
        for fname, key in feats:
            Xa, ya, sda, _, yta, _ = _pair_data(data, src, tgt, key)
            Xa = DomainStandardScaler().fit_transform(Xa, sample_domain=sda)
            codes = {c: i for i, c in enumerate(classes)}
            yn = np.array([codes.get(v, -1) for v in ya])
            runs = dict(skada_anchors())
            if fname == "egemaps":
                runs["dss_svc"] = None
            for name, make in runs.items():
                t0 = time.perf_counter()
                label = f"{name}[{fname}]"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if make is None:
                            clf = SVC(kernel="rbf", C=1.0, class_weight="balanced")
                            clf.fit(Xa[sda > 0], yn[sda > 0])
                            pred = clf.predict(Xa[sda < 0])
                        else:
                            with config_context(enable_metadata_routing=True):
                                pipe = make(Xa.shape[1])
                                pipe.fit(Xa, yn, sample_domain=sda)
                                pred = pipe.predict(
                                    Xa[sda < 0], sample_domain=sda[sda < 0]
                                )
                    uar = balanced_accuracy_score([codes[v] for v in yta], pred)
                    out["anchors"][label] = {
                        "uar": float(uar),
                        "seconds": time.perf_counter() - t0,
                    }
                except Exception as exc:
                    out["anchors"][label] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"    {label:<24s} {out['anchors'][label]}", flush=True)
    return out


def summarise(pairs):
    ours = sorted(
        {m for p in pairs for m in p["ours"]},
        key=lambda m: (
            [r.name for r in recipes()].index(m)
            if m in [r.name for r in recipes()]
            else 99
        ),
    )
    anchors = sorted({m for p in pairs for m in p["anchors"]})

    def mean(kind, m, field="uar"):
        v = [p[kind][m].get(field, np.nan) for p in pairs if m in p[kind]]
        v = [x for x in v if x is not None]
        return float(np.mean(v)) if len(v) == len(pairs) else float("nan")

    table = {m: {f: mean("ours", m, f) for f in ["uar", *SCORERS]} for m in ours}
    anchor_means = {m: mean("anchors", m) for m in anchors}
    chosen = {}
    for s in SCORERS:
        cand = {m: v[s] for m, v in table.items() if np.isfinite(v[s])}
        chosen[s] = max(cand, key=cand.get) if cand else None
    return ours, anchors, table, anchor_means, chosen


def _version(dist):
    """Installed version of ``dist`` ('not installed' without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def write_md(pairs, seconds, cmd, skip=()):
    ours, anchors, table, anchor_means, chosen = summarise(pairs)
    lines = [
        "# Cross-corpus matrix: sertl methods vs skada / eGeMAPS anchors",
        "",
        "Twelve ordered pairs of EmoDB, RAVDESS, URDU and TurEV-DB; classes each pair "
        "shares among anger, happiness, neutral, sadness (3 with TurEV-DB). Labelled "
        "source, unlabelled target, UAR (%) on the whole target corpus, "
        'SVC(rbf, C=1, class_weight="balanced"). '
        f"Anchors: skada {_version('skada')} CORAL, TCA "
        "(n_components=30), KMM and KLIEP (gamma = 1/d) after per-domain "
        "standardisation, on openSMILE eGeMAPSv02 and on sertl functionals.",
        "",
        "Label-free scores (no target labels), the four of "
        "`sertl_core.model_selection`, mean over 2 source/target splits per "
        "pair: reverse validation (RV) and importance-weighted validation (IWV) "
        "score the SVC as it is; prediction entropy and deep embedded validation "
        "(DEV) need class probabilities and score it calibrated (3-fold sigmoid). "
        "Left out of this run: "
        + (f"{', '.join(sorted(skip))} (`--skip ''` includes it); " if skip else "")
        + "the neural methods (few-shot / GPU-sized, not in the benchmark venv).",
        "",
    ]
    head = (
        "| source -> target | k | "
        + " | ".join(ours)
        + " | "
        + " | ".join(anchors)
        + " |"
    )
    lines += [
        "## UAR (%) per pair",
        "",
        head,
        "|" + "---|" * (2 + len(ours) + len(anchors)),
    ]
    for p in pairs:
        cells = [
            f"{100 * p['ours'][m]['uar']:.1f}"
            if "uar" in p["ours"].get(m, {})
            else "err"
            for m in ours
        ]
        cells += [
            f"{100 * p['anchors'][m]['uar']:.1f}"
            if "uar" in p["anchors"].get(m, {})
            else "err"
            for m in anchors
        ]
        lines.append(
            f"| {p['source']} -> {p['target']} | {len(p['classes'])} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append(
        "| **mean** | | "
        + " | ".join(f"**{100 * table[m]['uar']:.1f}**" for m in ours)
        + " | "
        + " | ".join(f"**{100 * anchor_means[m]:.1f}**" for m in anchors)
        + " |"
    )
    lines += [
        "",
        "## Label-free selection of one fixed recipe",
        "",
        "| recipe | mean UAR % | "
        + " | ".join(f"mean {SHORT[s]} score" for s in SCORERS)
        + " |",
        "|---|---|" + "---|" * len(SCORERS),
    ]
    for m in ours:
        v = table[m]
        lines.append(
            f"| {m} | {100 * v['uar']:.1f} | "
            + " | ".join(f"{v[s]:.3f}" for s in SCORERS)
            + " |"
        )
    groups = {
        "eGeMAPS anchors (skada on openSMILE eGeMAPS, the issue's anchors)": [
            m for m in anchors if m.endswith("[egemaps]")
        ],
        "anchors of both feature sets (also skada on sertl's functionals)": list(
            anchors
        ),
    }
    lines += [""]
    for title, names in groups.items():
        if not names:
            continue
        best = max(names, key=lambda m: np.nan_to_num(anchor_means[m], nan=-1))
        ba = anchor_means[best]
        lines.append(f"Against the {title}: best is {best}, {100 * ba:.1f} %.")
        lines.append("")
        for s, m in chosen.items():
            if m is None:
                continue
            diff = 100 * (table[m]["uar"] - ba)
            verdict = "target met" if diff >= 5 else "target (+5 points) NOT met"
            lines.append(
                f"- Fixed recipe selected by {s} (highest mean score over the 12 "
                f"pairs, no target labels): **{m}**, mean UAR "
                f"{100 * table[m]['uar']:.1f} %: {diff:+.1f} points ({verdict})."
            )
        lines.append("")
    oracle = max(ours, key=lambda m: np.nan_to_num(table[m]["uar"], nan=-1))
    lines.append(
        f"- For reference, the best recipe chosen WITH target labels (oracle) is "
        f"{oracle}: {100 * table[oracle]['uar']:.1f} %."
    )
    import sklearn

    import sertl_core

    compute = sum(
        v.get("seconds", 0.0)
        for p in pairs
        for kind in ("ours", "anchors")
        for v in p[kind].values()
    )

    lines += [
        "",
        "## Reproduce",
        "",
        f"`{cmd}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"sertl-core {sertl_core.__version__}, skada {_version('skada')}, "
        f"opensmile {_version('opensmile')}. "
        f"Compute time of all cells {compute / 60:.0f} min (sum of per-method "
        f"seconds; 1-minute load average {os.getloadavg()[0]:.1f} when written); "
        f"this run {seconds / 60:.1f} min, cached cells reused unless --fresh.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_results(RESULTS, "\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--write", action="store_true", help="write benchmarks/results/cross_corpus.md"
    )
    ap.add_argument("--fresh", action="store_true", help="ignore cached pair results")
    ap.add_argument(
        "--no-anchors", action="store_true", help="skip skada/eGeMAPS anchors"
    )
    ap.add_argument("--pairs", type=int, default=None, help="only the first N pairs")
    ap.add_argument(
        "--skip",
        default="",
        help="comma-separated recipes to leave out (default: none)",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    anchors = not args.no_anchors
    if anchors:
        require(
            "skada",
            "opensmile",
            hint="the anchors live only in the benchmark venv: run `make "
            "bench-install` and `.venv-bench/bin/python benchmarks/cross_corpus.py`, "
            "or leave them out with --no-anchors",
        )
    data = load_all(with_egemaps=anchors)
    pairs = [(s, t) for s in CORPORA for t in CORPORA if s != t][: args.pairs]
    OUT_CACHE.mkdir(parents=True, exist_ok=True)
    skip = {x for x in args.skip.split(",") if x}
    results = []
    for s, t in pairs:
        print(f"{s} -> {t}", flush=True)
        f = OUT_CACHE / f"{s}__{t}__ours.json"
        have = None
        cached = None if args.fresh else read_cell(f)
        if cached is not None:
            have = {k: v for k, v in cached["ours"].items() if "error" not in v}
        # cached cells are reused; recipes missing from the cache (e.g. one
        # left out by --skip in an earlier run) are computed and added
        res = run_ours(data, s, t, skip, have)
        write_cell(f, res)
        for k in skip:
            res["ours"].pop(k, None)
        res["anchors"] = {}
        if anchors:
            fa = OUT_CACHE / f"{s}__{t}__anchors.json"
            got = None if args.fresh else read_cell(fa)
            if got is None or any("error" in v for v in got["anchors"].values()):
                got = run_anchors(data, s, t)
                write_cell(fa, got)
            res["anchors"] = got["anchors"]
        results.append(res)
    cmd = ".venv-bench/bin/python benchmarks/cross_corpus.py --write"
    if args.skip != ap.get_default("skip"):
        cmd += f" --skip '{args.skip}'"
    if args.write:
        write_md(results, time.perf_counter() - t0, cmd, skip)
    else:
        print(json.dumps(summarise(results)[2], indent=1))


if __name__ == "__main__":
    main()
