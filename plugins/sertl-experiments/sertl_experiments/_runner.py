"""The experiment matrix: sources x targets x methods x seeds, resumable."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.decomposition import PCA

from ._config import (
    ConfigError,
    check_mapping,
    check_params,
    declared_emotions,
    file_in_the_way,
)
from ._data import (
    CorpusData,
    ExperimentError,
    extract_features,
    load_corpus_table,
    reader_skipped,
    reader_warnings,
)
from ._discrepancy import mmd_rbf, proxy_a_distance
from ._metrics import (
    METRICS,
    _interval,
    bootstrap_mean_ci,
    bootstrap_replicates,
    confusion,
    score_all,
)
from ._persist import _write_whole, remove_stale_parts
from ._recipes import (
    Recipe,
    default_candidates,
    for_protocol,
    make_classifier,
    speaker_adapter_problem,
    transform_rows,
)
from ._selection import (
    _expand,
    _recording_warnings,
    evaluate,
    needs_proba,
    warning_kinds,
)
from ._target_labels import uses_target_labels

__all__ = ["RunResult", "run_experiment"]

BASELINE = "_baseline"
# Version of what a cell file holds; a change of it recomputes every cell.
CELL_VERSION = 6
_NOT_A_CLASS = "<not a class>"
# How the few-shot split is drawn (part of the few-shot cells' key). 2: test
# speakers from draw_test_speakers (distinct per seed), their number rounded
# half up; the default estimator learns from the labelled target rows.
SPLIT_RULE = 2


@dataclass
class RunResult:
    """What :func:`run_experiment` produced.

    Parameters
    ----------
    output : pathlib.Path
        Output folder of the experiment.
    results : pandas.DataFrame
        The rows of ``results.csv``: one per pair, configured method and
        seed (the no-adaptation baseline cells feed the guard columns).
    report : pathlib.Path
        The self-contained ``report.html``.
    n_computed : int
        Cells computed by this run (the no-adaptation baseline cells
        included).
    n_reused : int
        Cells read back from an earlier run: no change of the configuration
        since affects their result (a change of ``metric``, ``bootstrap``
        or ``confidence`` only rescores their stored predictions).
    skipped_files : list of dict
        Files that gave no features: ``corpus``, ``file`` and ``reason``.
    reader_warnings : list of dict, default=[]
        What the corpus readers warned about besides skipped files
        (duplicate utterances, labels that are not canonical emotions ...):
        ``corpus``, ``warning`` and ``times``, one entry per distinct text.
        Every run reads the corpora, so a resumed run lists them too.
    n_failed : int, default=0
        Cells of this run's matrix that failed, reused or computed (the
        no-adaptation baseline cells included). Their error is in
        ``results.md`` and ``report.html``; a rerun computes them again.

    Examples
    --------
    A second run of the same experiment reuses every finished cell:

    >>> import numpy as np, tempfile
    >>> from sertl_experiments import CorpusData, parse_config, run_experiment
    >>> rng = np.random.default_rng(0)
    >>> def corpus(name, shift):
    ...     y = np.array(["anger", "sadness"] * 20)
    ...     X = rng.normal(size=(40, 3)) + (y == "anger")[:, None] * 2 + shift
    ...     spk = np.array([f"{name}:{i % 2}" for i in range(40)])
    ...     files = np.array([f"{name}{i}.wav" for i in range(40)])
    ...     return CorpusData(name, X, y, spk, files)
    >>> data = {"a": corpus("a", 0), "b": corpus("b", 3)}
    >>> cfg = parse_config({"output": tempfile.mkdtemp(),
    ...                     "corpora": {"a": {"root": "."}, "b": {"root": "."}},
    ...                     "protocol": {"bootstrap": 0}, "methods": [{"name": "dss"}]})
    >>> quiet = {"progress": False, "log": lambda *_: None}
    >>> first = run_experiment(cfg, data=data, **quiet)
    >>> again = run_experiment(cfg, data=data, **quiet)
    >>> (first.n_computed, first.n_reused), (again.n_computed, again.n_reused)
    ((4, 0), (0, 4))
    >>> again.results[["source", "target", "method"]].values.tolist()
    [['a', 'b', 'dss'], ['b', 'a', 'dss']]
    >>> again.report.name, again.skipped_files
    ('report.html', [])
    """

    output: Path
    results: pd.DataFrame
    report: Path
    n_computed: int
    n_reused: int
    skipped_files: list
    reader_warnings: list = field(default_factory=list)
    n_failed: int = 0


def _uses_speaker(recipe):
    return recipe.scaling == "speaker"


def _routed(recipe, sample_domain, speakers):
    params = {"sample_domain": np.asarray(sample_domain)}
    if _uses_speaker(recipe):
        params["speaker"] = np.asarray(speakers)
    return params


def n_test_speakers(n_speakers, fraction):
    """Return how many target speakers the few-shot protocol keeps for testing.

    ``fraction * n_speakers`` rounded half up (2.5 -> 3, also where the
    float product falls just below a half), at least 1 and at most
    ``n_speakers - 1``, so that at least one speaker gives the labelled
    target rows.

    Parameters
    ----------
    n_speakers : int
        Speakers of the target corpus (at least 2).
    fraction : float
        ``[protocol] test_speaker_fraction``.

    Returns
    -------
    n_test : int

    Examples
    --------
    >>> [n_test_speakers(n, 0.5) for n in (2, 3, 4, 5, 6, 7)]
    [1, 2, 2, 3, 3, 4]
    >>> n_test_speakers(10, 0.35), n_test_speakers(10, 0.99)
    (4, 9)
    """
    from decimal import ROUND_HALF_UP, Decimal

    scaled = Decimal(repr(float(fraction))) * int(n_speakers)
    n = int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int(min(max(n, 1), n_speakers - 1))


def _unrank(rank, n, m):
    """Return the ``rank``-th ``m``-subset of ``range(n)`` in lexicographic order."""
    from math import comb

    out, x = [], 0
    for i in range(m):
        while True:
            with_x = comb(n - x - 1, m - i - 1)  # subsets whose next element is x
            if rank < with_x:
                out.append(x)
                x += 1
                break
            rank -= with_x
            x += 1
    return out


def _shuffle_index(x, total, key):
    """Map ``x`` by a pseudo-random bijection of ``range(total)`` fixed by ``key``.

    A balanced Feistel network (4 rounds, keyed hashes as round functions)
    permutes the integers of ``2 * h`` bits; applied again until the value
    falls below ``total`` (cycle walking), it permutes ``range(total)``.
    """
    import hashlib

    half = max(1, ((total - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    width = (half + 7) // 8
    while True:
        left, right = x >> half, x & mask
        for rnd in range(4):
            digest = hashlib.shake_256(
                key + bytes([rnd]) + right.to_bytes(width, "big")
            ).digest(width)
            left, right = right, left ^ (int.from_bytes(digest, "big") & mask)
        x = (left << half) | right
        if x < total:
            return x


def draw_test_speakers(speakers, n_test, seed):
    """Return the test speakers of one seed's few-shot split.

    The ``C = comb(n, n_test)`` ways of choosing the test speakers among the
    ``n`` speakers are put in a pseudo-random order that depends only on the
    speakers' names, and seed ``s`` takes the way at position ``s mod C``.
    So a seed always gives the same split (a resumed run, ``sertl grid
    --seed``), and seeds that differ modulo ``C`` give different test
    speakers: the seeds of an experiment are distinct splits as long as
    there are enough of them.

    Parameters
    ----------
    speakers : array-like of str
        The target's speakers (each once).
    n_test : int
        How many are kept for testing (see :func:`n_test_speakers`).
    seed : int
        The seed (>= 0).

    Returns
    -------
    test : list of str
        The test speakers, sorted.

    Examples
    --------
    >>> spk = [f"s{i}" for i in range(6)]
    >>> splits = [tuple(draw_test_speakers(spk, 3, seed)) for seed in range(20)]
    >>> len(set(splits))  # comb(6, 3) = 20: every seed below 20 its own split
    20
    >>> draw_test_speakers(spk, 3, 20) == draw_test_speakers(spk, 3, 0)
    True
    """
    from math import comb

    names = sorted({str(s) for s in speakers})
    if not 0 < n_test <= len(names) or int(seed) < 0:
        raise ValueError(
            f"draw_test_speakers needs 0 < n_test <= {len(names)} speakers and "
            f"a seed >= 0, got n_test={n_test}, seed={seed}."
        )
    total = comb(len(names), n_test)
    key = "\x1f".join(names).encode()
    rank = _shuffle_index(int(seed) % total, total, key)
    return [names[i] for i in _unrank(rank, len(names), n_test)]


_LEAVE_CLASS_OUT = (
    "leave it out of the classes ([labels] classes in the experiment file, "
    "--classes of sertl grid)"
)


def _check_class_speakers(name, y, speakers, classes):
    """Refuse a few-shot target with a class that one speaker alone recorded.

    Its labelled rows and its test rows could not come from different
    speakers: every split would either label none of its rows or test none.
    """
    for c in classes:
        found = sorted({str(s) for s in speakers[y == c]})
        if len(found) < 2:
            held = f"one speaker ({found[0]!r})" if found else "no speaker"
            raise ExperimentError(
                f"few_shot: class {c!r} of target {name!r} comes from {held}, so "
                "its labelled rows and its test rows cannot come from different "
                "speakers (few_shot needs at least two speakers per class): "
                f'{_LEAVE_CLASS_OUT}, or use target = "unlabelled".'
            )


def _check_split_classes(name, y, speakers, test, classes, seed, protocol):
    """Refuse a seed whose test speakers leave a class on one side of the split.

    When they hold every speaker of a class, no labelled row of that class
    can come from a non-test speaker; when they hold none, the test set has
    no row of it and the cell's UAR would average fewer classes than the
    other seeds' (a mean over seeds mixing two chance levels).
    """
    frac = protocol["test_speaker_fraction"]
    for c in classes:
        of_c = y == c
        found = sorted({str(s) for s in speakers[of_c]})
        if not np.any(of_c & ~test):
            side, fix = "all", f"a lower test_speaker_fraction (now {frac:g})"
            what = f"no labelled {c!r} row can come from a non-test speaker"
        elif not np.any(of_c & test):
            side, fix = "none", f"a higher test_speaker_fraction (now {frac:g})"
            what = (
                f"the test set has no {c!r} row and the UAR would average fewer "
                "classes than other seeds"
            )
        else:
            continue
        raise ExperimentError(
            f"few_shot, seed {seed}: the test speakers drawn from target {name!r} "
            f"hold {side} of the {len(found)} speakers of class {c!r} "
            f"({', '.join(found)}), so {what}. Use other seeds, {fix}, or "
            f"{_LEAVE_CLASS_OUT}."
        )


@dataclass
class _Split:
    """Training and test rows of one cell (see :func:`_split`)."""

    X: np.ndarray  # source rows, then target rows
    y: np.ndarray  # labels; "-1" for unlabelled target rows
    sample_domain: np.ndarray
    speakers: np.ndarray
    test: np.ndarray  # mask of the target rows that are test rows
    y_target: np.ndarray  # labels of every target row
    shots: dict  # labelled target rows per class (few-shot)
    shot_rows: dict  # their indices among the target rows, per class
    test_speakers: list  # sorted
    n_partitions: int | None = None  # ways to choose the test speakers


def _split(task, seed):
    """Build the training rows and test rows of one cell.

    Under the few-shot protocol the test speakers come from
    :func:`draw_test_speakers` and the ``k`` labelled target rows per
    class are drawn from the other speakers with ``default_rng(seed)``. A
    class recorded by one target speaker, or a seed whose test speakers
    hold all or none of a class's speakers, raises ``ExperimentError``
    (:func:`_check_class_speakers`, :func:`_check_split_classes`).
    """
    Xs, ys, ss, ds = [], [], [], []
    for i, src in enumerate(task["sources"]):
        Xs.append(src.X)
        ys.append(src.y.astype(str))
        ss.append(src.speakers)
        ds.append(np.full(src.X.shape[0], i + 1, dtype=np.int64))
    tgt = task["target"]
    Xt, yt, st = tgt.X, tgt.y.astype(str), np.asarray(tgt.speakers).astype(str)
    n_t = Xt.shape[0]
    y_train_t = np.full(n_t, "-1", dtype=object)
    test = np.ones(n_t, dtype=bool)
    prot = task["protocol"]
    shots, shot_rows, n_partitions = {}, {}, None
    if prot["target"] == "few_shot":
        from math import comb

        spk = np.unique(st)
        if spk.size < 2:
            raise ExperimentError(
                f"target {tgt.name!r} has {spk.size} speaker(s): few_shot needs at "
                "least "
                "two (labelled rows come from speakers held out of the test set)."
            )
        _check_class_speakers(tgt.name, yt, st, task["classes"])
        n_test = n_test_speakers(spk.size, prot["test_speaker_fraction"])
        n_partitions = comb(int(spk.size), n_test)
        test_spk = draw_test_speakers(spk, n_test, seed)
        test = np.isin(st, test_spk)
        _check_split_classes(tgt.name, yt, st, test, task["classes"], seed, prot)
        rng = np.random.default_rng(seed)
        for c in task["classes"]:
            pool = np.flatnonzero((~test) & (yt == c))
            take = rng.choice(pool, size=min(prot["k"], pool.size), replace=False)
            y_train_t[take] = c
            shots[str(c)] = int(take.size)
            shot_rows[str(c)] = np.sort(take)
    X = np.vstack(Xs + [Xt])
    y = np.concatenate([np.concatenate(ys).astype(object), y_train_t]).astype(str)
    sd = np.concatenate(ds + [np.full(n_t, -1, dtype=np.int64)])
    spk_all = np.concatenate([np.concatenate(ss).astype(str), st]).astype(str)
    return _Split(
        X,
        y,
        sd,
        spk_all,
        test,
        yt,
        shots,
        shot_rows,
        sorted(np.unique(st[test]).tolist()),
        n_partitions,
    )


# the warnings that fitting and predicting a cell's scored model raised
# (ConvergenceWarning, sertl's own ...): kept out of the terminal while the
# cells run, stored in the cell (``fit_warnings``) and logged once per kind
# by run_experiment (see fit_warning_notes)
_noted = threading.local()


@contextmanager
def _noting_warnings():
    with _recording_warnings() as texts:
        yield
    _note(texts)


def _note(texts, prefix=""):
    seen = getattr(_noted, "texts", None)
    if seen is None:
        return
    for text in texts:
        if prefix + text not in seen:
            seen.append(prefix + text)


def _note_selection(results):
    # the candidates' fits on the selection's splits, not the scored model:
    # said so, lest a grid point's ConvergenceWarning be read as the choice's
    # (a candidate that failed is reported by its errors, not its warnings)
    _note([t for r in results for t in r["warnings"]], "during selection: ")


def fit_warning_rows(cells):
    """One row per kind of warning the cells' models raised.

    Warnings whose texts differ only in their numbers are one kind
    (:func:`~sertl_experiments._selection.warning_kinds`). Each row gives
    the ``warning`` (the first text of its kind, with how many other texts
    it stands for), the ``cells`` that raised it (``"n of N"``) and one of
    them (``e.g.``), a method's cell rather than the guard's internal
    baseline, for the log and the report.

    >>> cells = [{"source": "a", "target": "b", "method": "m", "seed": s,
    ...           "fit_warnings": [f"KernelWidthWarning: sigma={s + 1.5}"]}
    ...          for s in range(3)]
    >>> [row] = fit_warning_rows(cells)
    >>> row["warning"], row["cells"]
    ('KernelWidthWarning: sigma=1.5 (and 2 more alike but for their numbers)', '3 of 3')
    """
    entries = [(t, i) for i, c in enumerate(cells) for t in c.get("fit_warnings") or ()]
    rows = []
    for text, where in warning_kinds(entries):
        cs = [cells[i] for i in where]
        c = next((c for c in cs if c["method"] != BASELINE), cs[0])
        rows.append(
            {
                "warning": text,
                "cells": f"{len(cs)} of {len(cells)}",
                "e.g.": (
                    f"{c['source']} -> {c['target']} {c['method']} seed {c['seed']}"
                ),
            }
        )
    return rows


def fit_warning_notes(cells):
    """One line per kind of warning the cells' models raised, with its count.

    >>> cells = [{"source": "a", "target": "b", "method": "m", "seed": s,
    ...           "fit_warnings": ["ConvergenceWarning: set max_iter"]}
    ...          for s in range(2)]
    >>> print(*fit_warning_notes(cells))
    ConvergenceWarning: set max_iter (while fitting 2 of 2 cells, e.g. a -> b m seed 0)
    """
    return [
        f"{r['warning']} (while fitting {r['cells']} cells, e.g. {r['e.g.']})"
        for r in fit_warning_rows(cells)
    ]


def _fit(recipe, X, y, sd, spk, task, seed, *, probability=False, params=None):
    pipe = recipe.pipeline(
        task["classifier"],
        task["classifier_params"],
        probability=probability,
        random_state=seed,
    )
    if params:
        pipe.set_params(**params)
    with config_context(enable_metadata_routing=True), _noting_warnings():
        pipe.fit(X, y, **_routed(recipe, sd, spk))
    return pipe


def _params_for(recipe, grid_params, task, probability):
    """Pipeline parameters of a chosen grid point, for a pipeline built so."""
    if not grid_params:
        return None
    one = replace(recipe, grid={k: [v] for k, v in grid_params.items()})
    ((_, params, _),) = _expand([one], task["classifier"], probability)
    return params


def _predict(model, recipe, X, spk):
    sd = np.full(X.shape[0], -1, dtype=np.int64)
    with config_context(enable_metadata_routing=True), _noting_warnings():
        return np.asarray(model.predict(X, **_routed(recipe, sd, spk))).astype(str)


def _view(model, X, sd, spk, recipe):
    if _uses_speaker(recipe):
        Z = X
        for _, step in model.steps[:-1]:
            if step == "passthrough":
                continue
            if hasattr(step, "speakers_"):
                Z = step.transform(Z, speaker=spk)
            else:
                Z = step.transform(Z, sample_domain=sd)
        return np.asarray(Z, dtype=float)
    return transform_rows(model, X, sd)


def _discrepancy(Z, sd, seed):
    src, tgt = Z[sd > 0], Z[sd < 0]
    out = {}
    try:
        out["mmd"] = mmd_rbf(src, tgt, max_samples=500, random_state=seed)
        out["pad"] = proxy_a_distance(
            src, tgt, max_samples=500, cv=3, random_state=seed
        )
    except ValueError:
        out["mmd"] = out["pad"] = float("nan")
    return out


def _pca(Z, sd, n_points, seed):
    rng = np.random.default_rng(seed)
    keep = []
    for side in (sd > 0, sd < 0):
        idx = np.flatnonzero(side)
        keep.append(rng.choice(idx, size=min(n_points, idx.size), replace=False))
    idx = np.concatenate(keep)
    finite = np.all(np.isfinite(Z[idx]), axis=1)
    idx = idx[finite]
    # an array whatever the user's set_config(transform_output=...)
    pca = PCA(n_components=2, random_state=seed).set_output(transform="default")
    P = pca.fit_transform(Z[idx])
    return {"xy": np.round(P, 4).tolist(), "source": (sd[idx] > 0).tolist()}


def _cell_header(task):
    """Return the fields that say which cell ``task`` is, before any result."""
    return {
        "source": task["source_name"],
        "target": task["target"].name,
        "method": task["method"],
        "seed": task["seed"],
        "classes": list(task["classes"]),
        "protocol": task["protocol"]["target"],
        "key": task["key"],
        # what computed it (part of the key; kept for provenance)
        "versions": task.get("versions"),
    }


def run_cell(task):
    """Compute one cell (pair, method, seed); returns a JSON-ready dict."""
    started = time.perf_counter()
    recipe, seed, prot = task["recipe"], task["seed"], task["protocol"]
    cell = _cell_header(task)
    _noted.texts = []
    try:
        split = _split(task, seed)
        X, y, sd, spk = split.X, split.y, split.sample_domain, split.speakers
        test, yt = split.test, split.y_target
        few = prot["target"] == "few_shot"
        if few:
            cell["k"], cell["k_used"] = int(prot["k"]), split.shots
            # what the split was, so that disjointness and repeated splits
            # can be checked from the outputs
            files = np.asarray(task["target"].files).astype(str)
            cell["shot_files"] = {
                c: files[rows].tolist() for c, rows in split.shot_rows.items()
            }
            cell["n_partitions"] = split.n_partitions
        cell["test_speakers"] = split.test_speakers
        scorers = task["scorers"]
        # the selection's classifiers get probabilities only when a scorer
        # needs them (``evaluate`` decides): saving a model must not change
        # the label-free scores, an auto choice or a grid's choice
        kw = {
            "scorers": scorers,
            "few_shot": few,
            "classifier": task["classifier"],
            "classifier_params": task["classifier_params"],
            "random_state": seed,
            "n_splits": prot.get("selection_splits", 3),
        }
        first = "target" if few else scorers[0]
        cell["scorer"] = first
        if task["method"] != BASELINE:
            # the kind of classifier its label-free scores come from: the
            # guard compares it with the baseline scored by the same kind
            cell["selection_classifier"] = selection_classifier(scorers, few_shot=few)
        if task["auto"] is not None or recipe.grid:
            cands = task["auto"] if task["auto"] is not None else [recipe]
            results, best = evaluate(cands, X, y, sd, spk, **kw)
            _note_selection(results)
            chosen = results[best]
            recipe_used = chosen["recipe"]
            grid_params = chosen["grid_params"]
            # the model that is scored predicts with the plain classifier:
            # probabilities (for probability scorers or a saved model) come
            # from a separately calibrated copy and never change the UAR
            model = _fit(
                recipe_used,
                X,
                y,
                sd,
                spk,
                task,
                seed,
                params=_params_for(recipe_used, grid_params, task, False),
            )
            cell["label_free_score"] = chosen["scores"][first]
            cell["label_free_scores"] = chosen["scores"]
            by_name = {}
            for r in results:
                v = r["scores"][first]
                if np.isfinite(v) and (
                    r["name"] not in by_name or v > by_name[r["name"]]
                ):
                    by_name[r["name"]] = float(v)
            cell["candidate_scores"] = by_name
            failures = {}
            for r in results:
                for reason in r["errors"]:
                    failures.setdefault(r["name"], reason)
            if failures:
                cell["candidate_errors"] = failures
            cell["selected"] = chosen["name"]
            if task["auto"] is not None:
                # the guard reads auto's choice of a non-adapting candidate,
                # whatever its name, as "adaptation predicted to hurt"
                cell["non_adapting_candidates"] = sorted(
                    {r["name"] for r in results if not r["recipe"].is_adaptation}
                )
            # named as the config's grid names them (classifier__C, ...)
            cell["best_params"] = {k: repr(v) for k, v in chosen["grid_params"].items()}
        else:
            recipe_used, grid_params = recipe, {}
            model = _fit(recipe, X, y, sd, spk, task, seed)
            if task["method"] == BASELINE:
                # each scorer with each kind of classifier the methods are
                # scored with (see guard_scorers): like is compared with like
                cell["guard_scores"] = {}
                for kind, group in task["guard_scorers"].items():
                    results, _ = evaluate(
                        [recipe],
                        X,
                        y,
                        sd,
                        spk,
                        **{**kw, "scorers": group},
                        probability=kind == "calibrated",
                    )
                    _note_selection(results)
                    cell["guard_scores"][kind] = results[0]["scores"]
            elif task["guard"]:
                results, _ = evaluate([recipe], X, y, sd, spk, **kw)
                _note_selection(results)
                cell["label_free_score"] = results[0]["scores"][first]
                cell["label_free_scores"] = results[0]["scores"]
        n_src = int(np.sum(sd > 0))
        Xte, yte = task["target"].X[test], yt[test]
        pred = _predict(model, recipe_used, Xte, spk[n_src:][test])
        labels = list(task["classes"])
        # the test rows' labels and predictions are the cell's result; the
        # metrics and their intervals are computed from them (again, at
        # resume, when the metric or bootstrap settings change)
        cell["y_test"] = _codes(yte, labels)
        cell["y_pred"] = _codes(pred, labels)
        cell["test_speaker_codes"] = _codes(spk[n_src:][test], split.test_speakers)
        # which target rows were tested: seeds that share rows share their
        # sampling noise in the interval of the seeds' mean (pooled_intervals)
        cell["test_rows"] = np.flatnonzero(test).tolist()
        cell["test_class_counts"] = {c: int(np.sum(yte == c)) for c in labels}
        score_cell(cell, prot)
        cell.update(_training_rows(model, sd, y))
        cell["n_test"] = int(test.sum())
        Z = _view(model, X, sd, spk, recipe_used)
        disc = _discrepancy(Z, sd, seed)
        cell["mmd_after"], cell["pad_after"] = disc["mmd"], disc["pad"]
        if task["pca"]:
            cell["pca_after"] = _pca(Z, sd, task["pca_points"], seed)
            cell["pca_points"] = int(task["pca_points"])
        if task["method"] == BASELINE:
            cell["pca_before"] = cell.get("pca_after")
        cell["status"] = "ok"
        saver = task["save_model"]
        reason = saver.why_not(recipe_used) if saver is not None else None
        if reason is not None:
            cell["model_not_saved"] = reason
        elif saver is not None:
            try:
                saved, calibrated = model, False
                if task["probability"] and _calibrates(task):
                    # a deployable model with probabilities: the classifier is
                    # wrapped in a calibrated copy and refitted, so its labels
                    # can differ from the scored model's; measured below
                    saved = _fit(
                        recipe_used,
                        X,
                        y,
                        sd,
                        spk,
                        task,
                        seed,
                        probability=True,
                        params=_params_for(recipe_used, grid_params, task, True),
                    )
                    calibrated = True
                if calibrated:
                    check = _saved_model_check(
                        saved, recipe_used, Xte, yte, pred, spk[n_src:][test], labels
                    )
                else:  # the scored model itself
                    check = {"model_uar": cell["uar"], "model_agreement": 1.0}
                cell["model_calibrated"] = calibrated
                cell.update(check)
                cell["model"] = saver(
                    saved,
                    recipe_used,
                    labels,
                    seed=seed,
                    check={"calibrated": calibrated, **check},
                )
                # the file is shared by the seeds that are first in turn: a
                # reused cell must find the model it wrote, not another seed's
                cell["model_digest"] = _digest(cell["model"])
            except (*_CELL_ERRORS, OSError) as exc:
                # the cell's results stand; only the deployable copy is
                # missing, and a resumed run tries to write it again
                cell.pop("model", None)
                cell["model_not_saved"] = (
                    f"saving the model failed: {type(exc).__name__}: {exc}"
                )
                cell["model_save_failed"] = True
    except _CELL_ERRORS as exc:
        cell["status"] = "error"
        cell["error"] = f"{type(exc).__name__}: {exc}"
        cell["traceback"] = traceback.format_exc(limit=6)
    finally:
        if _noted.texts:
            cell["fit_warnings"] = _noted.texts
        _noted.texts = None
    cell["seconds"] = round(time.perf_counter() - started, 3)
    return cell


def _training_rows(model, sd, y):
    """Count the labelled rows a fitted cell's model learned from.

    ``n_train_source`` labelled source rows, ``n_target_labelled`` labelled
    target rows given (the few-shot protocol's ``k`` per class, else 0),
    ``target_labels_used`` whether the model learned from them (None when
    its steps cannot tell, see
    :func:`~sertl_experiments._target_labels.uses_target_labels`), and
    ``n_train``: the source rows, plus the target rows where used (None
    when that cannot be told).
    """
    labelled = ~is_unl(y)
    n_src = int(np.sum(labelled & (sd > 0)))
    n_tl = int(np.sum(labelled & (sd < 0)))
    used = uses_target_labels(model) if n_tl else False
    n_train = None if used is None else n_src + (n_tl if used else 0)
    return {
        "n_train": n_train,
        "n_train_source": n_src,
        "n_target_labelled": n_tl,
        "target_labels_used": used,
    }


def _calibrates(task):
    """Whether a saved model's classifier is a calibrated copy of the scored one.

    :func:`~sertl_experiments.make_classifier` wraps ``svc``, which has no
    ``predict_proba``, in a 3-fold sigmoid ``CalibratedClassifierCV`` when
    probabilities are asked for; the other classifiers have their own, and
    the scored model is saved as it is.
    """
    from sklearn.calibration import CalibratedClassifierCV

    clf = make_classifier(
        task["classifier"], task["classifier_params"], probability=True
    )
    return isinstance(clf, CalibratedClassifierCV)


def _saved_model_check(saved, recipe, X_test, y_test, scored_pred, speakers, labels):
    """Measure a saved model on the cell's test rows.

    Returns ``model_uar``, the saved model's UAR on the test rows, and
    ``model_agreement``, the share of those rows it labels as the scored
    model (whose predictions are ``scored_pred``) does.
    """
    pred = _predict(saved, recipe, X_test, speakers)
    uar = score_all(np.asarray(y_test).astype(str), pred, list(labels))["uar"]
    agreement = float(np.mean(pred == np.asarray(scored_pred).astype(str)))
    return {"model_uar": float(uar), "model_agreement": agreement}


# What a method can raise on data it cannot handle: the cell records it as
# an error and the run goes on (programming errors still propagate). A
# MemoryError is one too: a method refusing up front a corpus too large for
# its setting (sertl_core.utils.check_memory), or numpy failing to allocate,
# fails that cell only, with the memory its arrays held released.
_CELL_ERRORS = (
    ExperimentError,
    ConfigError,
    ValueError,
    np.linalg.LinAlgError,
    RuntimeError,
    TypeError,
    ArithmeticError,
    MemoryError,
)


def _codes(values, labels):
    """Class indices of ``values`` in ``labels`` (-1: not one of them)."""
    index = {str(c): i for i, c in enumerate(labels)}
    return [index.get(str(v), -1) for v in np.asarray(values)]


def _labels(codes, labels):
    """Inverse of :func:`_codes`; -1 becomes a label outside ``labels``."""
    names = [str(c) for c in labels]
    return np.array([names[i] if i >= 0 else _NOT_A_CLASS for i in codes], dtype=object)


# How the metrics and their intervals are computed from a cell's stored
# predictions; a change of it rescores (never recomputes) finished cells.
# 2: utterances resampled within each class (or whole speakers), and
# predictions outside the classes counted as errors.
SCORING_VERSION = 2


def _ci_settings(protocol):
    return {
        "bootstrap": int(protocol["bootstrap"]),
        "confidence": protocol["confidence"],
        "unit": protocol.get("bootstrap_unit", "utterance"),
        "version": SCORING_VERSION,
    }


def _bootstrap_sample(cell, unit):
    """One cell's test rows as a sample of :func:`bootstrap_mean_ci`.

    Raises ValueError when a speaker bootstrap cannot run (fewer than two
    test speakers, or a cell that stored none).
    """
    labels = [str(c) for c in cell["classes"]]
    sample = {
        "y_true": _labels(cell["y_test"], labels),
        "y_pred": _labels(cell["y_pred"], labels),
        "random_state": cell["seed"],
    }
    if unit == "speaker":
        codes = cell.get("test_speaker_codes")
        if codes is None:
            raise ValueError(
                "the cell stores no speakers of its test rows (computed by an "
                "earlier release): run the experiment again (such cells are "
                "recomputed; --fresh is not needed)"
            )
        sample["groups"] = np.asarray(codes)
    return sample


def _pooled_sample(cell, unit):
    """Return a cell's sample for the interval of its seeds' mean.

    Its test rows are named by their position in the target corpus
    (``test_rows``; a cell of an earlier release tested every target row,
    as the unlabelled protocol does) and its speakers by name, so that
    seeds testing the same rows resample them together.
    """
    sample = _bootstrap_sample(cell, unit)
    rows = cell.get("test_rows")
    sample["rows"] = np.arange(len(cell["y_test"])) if rows is None else rows
    if "groups" in sample:
        names = np.asarray(cell["test_speakers"], dtype=str)
        sample["groups"] = names[sample["groups"]]
    return sample


def score_cell(cell, protocol):
    """Compute a cell's metrics from its stored test labels and predictions.

    UAR, WA and macro-F1 with their bootstrap intervals, the confusion
    matrix and the per-class recall are functions of the test rows' labels
    and predictions (``y_test``, ``y_pred``, class indices into
    ``classes``; -1 for a prediction that is none of them, a wrong
    prediction), the speakers of the test rows (``test_speaker_codes``),
    the cell's seed and the protocol's ``bootstrap``, ``confidence`` and
    ``bootstrap_unit``: a finished cell is rescored, not recomputed, when
    those settings change. The resamples are those of
    :func:`~sertl_experiments._metrics.bootstrap_replicates` seeded with the
    cell's seed. A speaker bootstrap that cannot run (one test speaker)
    leaves the intervals NaN and says why in ``ci_note``; one whose
    replicates lack a class records their share in
    ``bootstrap_classes_missing``.

    Parameters
    ----------
    cell : dict
        A finished cell; updated in place.
    protocol : dict
        The experiment's protocol (``bootstrap``, ``confidence``,
        ``bootstrap_unit``).

    Returns
    -------
    cell : dict
        The same cell.

    Examples
    --------
    >>> cell = {"classes": ["anger", "sadness"], "seed": 0,
    ...         "y_test": [0, 0, 1, 1], "y_pred": [0, 1, 1, 1]}
    >>> c = score_cell(cell, {"bootstrap": 0, "confidence": 0.95})
    >>> c["uar"], c["recall"], c["ci"]["bootstrap"]
    (0.75, {'anger': 0.5, 'sadness': 1.0}, 0)
    >>> cell["y_pred"] = [0, -1, 1, 1]  # a prediction outside the classes
    >>> score_cell(cell, {"bootstrap": 0, "confidence": 0.95})["confusion"]
    [[1, 0, 1], [0, 2, 0]]
    """
    labels = [str(c) for c in cell["classes"]]
    yte = _labels(cell["y_test"], labels)
    pred = _labels(cell["y_pred"], labels)
    cell.update(score_all(yte, pred, labels))
    settings = _ci_settings(protocol)
    for key in ("ci_note", "bootstrap_classes_missing"):
        cell.pop(key, None)
    ci = {m: (float("nan"), float("nan")) for m in METRICS}
    if settings["bootstrap"] > 0 and len(yte):
        try:
            sample = _bootstrap_sample(cell, settings["unit"])
        except ValueError as exc:
            sample = None
            cell["ci_note"] = f"no speaker bootstrap: {exc}"
        if sample is not None:
            try:
                rep = bootstrap_replicates(
                    sample["y_true"],
                    sample["y_pred"],
                    labels,
                    n_boot=settings["bootstrap"],
                    random_state=cell["seed"],
                    groups=sample.get("groups"),
                )
            except ValueError as exc:
                cell["ci_note"] = f"no speaker bootstrap: {exc}"
            else:
                ci = {m: _interval(rep[m], settings["confidence"]) for m in METRICS}
                if settings["unit"] == "speaker":
                    cell["bootstrap_classes_missing"] = float(
                        np.mean(rep["classes_missing"] > 0)
                    )
    for m, (lo, hi) in ci.items():
        cell[f"{m}_low"], cell[f"{m}_high"] = lo, hi
    cm = confusion(yte, pred, labels)
    cell["confusion"] = cm.tolist()
    support = cm.sum(axis=1)
    cell["recall"] = {
        c: (float(cm[i, i] / support[i]) if support[i] else None)
        for i, c in enumerate(labels)
    }
    cell["ci"] = settings
    return cell


def pooled_intervals(cells, protocol):
    """Bootstrap intervals of each (pair, method)'s mean over its seeds.

    Each replicate resamples every seed's own test rows (within each
    class, or its own test speakers), so that no seed is scored on an
    empty resample, with the seeds' draws coupled through one stream of
    draws over the target corpus: seeds that test the same rows (every
    seed under the unlabelled protocol) get the same resample, and seeds
    whose test speakers overlap share the draws of the common ones. The
    seeds' metric is averaged; the interval is the percentile interval of
    those averages (see
    :func:`~sertl_experiments._metrics.bootstrap_mean_ci`). Shared rows
    thus keep their sampling noise instead of averaging it away. With one
    seed it is that seed's interval.

    Parameters
    ----------
    cells : list of dict
        Finished cells (the baseline's and failed ones are left out).
    protocol : dict
        The experiment's protocol (``bootstrap``, ``confidence``,
        ``bootstrap_unit``).

    Returns
    -------
    intervals : dict
        ``{(source, target, method): {metric: (low, high)}}``; NaN where no
        interval could be computed (no resamples, a speaker bootstrap with
        one test speaker).
    """
    settings = _ci_settings(protocol)
    groups: dict = {}
    for c in cells:
        if c["method"] == BASELINE or c.get("status") != "ok":
            continue
        groups.setdefault((c["source"], c["target"], c["method"]), []).append(c)
    out = {}
    for key, group in groups.items():
        group = sorted(group, key=lambda c: c["seed"])
        try:
            samples = [_pooled_sample(c, settings["unit"]) for c in group]
            out[key] = bootstrap_mean_ci(
                samples,
                [str(x) for x in group[0]["classes"]],
                n_boot=settings["bootstrap"],
                confidence=settings["confidence"],
            )
        except ValueError:
            out[key] = {m: (float("nan"), float("nan")) for m in METRICS}
    return out


def _needs_rescoring(cell, protocol):
    """Whether a reused cell's metrics were computed with other settings."""
    have = [f"{m}{end}" for m in METRICS for end in ("", "_low", "_high")]
    return cell.get("ci") != _ci_settings(protocol) or any(k not in cell for k in have)


def is_unl(y):
    """Mask of the unlabelled marker in string labels."""
    return np.asarray(y).astype(str) == "-1"


def _fingerprint(corpora):
    """Hash of the rows, labels and speakers a pair's cells read."""
    h = hashlib.blake2b(digest_size=8)
    for c in corpora:
        X = np.ascontiguousarray(c.X, dtype=np.float64)
        h.update(repr(X.shape).encode())
        h.update(X.tobytes())
        h.update(json.dumps([str(v) for v in c.y]).encode())
        h.update(json.dumps([str(v) for v in c.speakers]).encode())
    return h.hexdigest()


def _sorted_keys(value):
    """``value`` with the keys of every nested dict in sorted order."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return type(value)(_sorted_keys(v) for v in value)
    return value


def _recipe_key(recipe):
    """Return a recipe's text in a cell key: its repr, every dict's keys sorted.

    The order in which a TOML file (or a caller) lists a step's parameters
    does not change what runs, so it does not change the key; a recipe
    whose parameters are already in sorted order keeps its plain repr (so
    the keys of cells stored before this rule stay the same).
    """
    return repr(
        replace(
            recipe, params=_sorted_keys(recipe.params), grid=_sorted_keys(recipe.grid)
        )
    )


def _cell_key(
    config,
    method_spec,
    pair,
    seed,
    classes,
    *,
    data=None,
    candidates=None,
    versions=None,
    recipes=None,
):
    """Hash of everything a cell's stored result depends on, and nothing else.

    A cell stores its test labels and predictions, the label-free scores of
    its selection and guard, and the discrepancies; these depend on the
    pair's data (``data``: the fingerprint of the rows, labels and speakers
    it reads, so corpus roots, readers and label mappings count through
    what they produce), the pair, the classes, the seed, the method (an
    auto method: its resolved candidates), the classifier, the protocol
    fields that change the split or the selection (``target``; ``k`` and
    ``test_speaker_fraction`` with few-shot; ``selection_splits``), the
    scorers (the baseline evaluates every method's), the feature
    settings (a saved model extracts features with them) and ``versions``:
    the installed versions of the code that computes the cell (see
    :class:`_Versions`), so upgrading scikit-learn or a sertl plugin
    recomputes the cells it computes. Under the few-shot protocol the key
    also holds the rule that draws the split (``SPLIT_RULE``) and
    ``recipes``, the cell's recipes as they are run (with the protocol's
    default estimator, see :func:`~sertl_experiments._recipes.for_protocol`):
    a cell computed under another rule or another default is not reused.
    The unlabelled protocol's keys do not change with them.

    Not in the key, because no stored result depends on them: the other
    seeds, the headline ``metric``, ``bootstrap`` and ``confidence`` (the
    metrics and intervals are recomputed from the stored predictions, see
    :func:`score_cell`), corpus roots and the label mapping beyond the data
    they produce. ``pca_points`` and ``save_models`` shape optional outputs
    of the first seed's cells; :func:`_missing_output` checks those.
    """
    prot = config.protocol
    split = {"target": prot.target}
    if prot.target == "few_shot":
        split.update(
            k=prot.k,
            test_speaker_fraction=prot.test_speaker_fraction,
            rule=SPLIT_RULE,
            recipes=None if recipes is None else [_recipe_key(r) for r in recipes],
        )
    baseline = method_spec is None
    blob = json.dumps(
        {
            "version": CELL_VERSION,
            "data": data,
            "pair": [list(pair[0]), pair[1]],
            "classes": list(classes),
            "seed": seed,
            "split": split,
            "selection_splits": prot.selection_splits,
            "method": BASELINE if baseline else asdict(method_spec),
            # what an auto method chooses among (its candidates' own settings)
            "candidates": None
            if candidates is None
            else [_recipe_key(r) for r in candidates],
            # the baseline's guard scores every scorer of every method with
            # the classifier that method is scored with; a method's own
            # scorers are part of its spec
            "scorers": guard_scorers(config) if baseline else None,
            "classifier": [config.classifier, config.classifier_params],
            "features": [config.features.set, config.features.params],
            "versions": versions,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


class _Versions:
    """Installed versions of the distributions whose code computes a cell.

    A cell is computed by sertl-experiments (split, selection, metrics),
    sertl-core (the estimators' base classes, the scorers and splitters),
    numpy, SciPy and scikit-learn (the classifier), and by the
    distributions that provide the registry entries its recipes and
    scorers use (scaling, adapters, transfer estimator, scorers) together
    with their direct requirements: a CORAL cell also depends on
    sertl-feature, a KMM cell on sertl-instance and its solver, a neural
    cell on sertl-neural, skorch and PyTorch. The features are not
    versioned here: the cell key holds a hash of the features themselves.

    Versions come from :mod:`importlib.metadata` and are looked up once
    per distribution and run. An editable install keeps its version while
    its code changes; ``sertl run --fresh`` recomputes after such edits.
    """

    ALWAYS = ("sertl-core", "sertl-experiments", "numpy", "scipy", "scikit-learn")

    def __init__(self):
        from sertl_core import get_registry

        self._providers = {
            (e.kind, e.name): e.distribution for e in get_registry().entries()
        }
        self._versions = {}  # distribution -> version (None: not installed)
        self._requires = {}  # distribution -> names of its requirements

    @staticmethod
    def _normalise(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    def version(self, dist):
        """Installed version of ``dist`` (None: not installed)."""
        dist = self._normalise(dist)
        if dist not in self._versions:
            try:
                self._versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                self._versions[dist] = None
        return self._versions[dist]

    def requirements(self, dist):
        """Names of the distributions ``dist`` requires (extras left out)."""
        dist = self._normalise(dist)
        if dist not in self._requires:
            try:
                reqs = metadata.requires(dist) or []
            except metadata.PackageNotFoundError:
                reqs = []
            names = []
            for req in reqs:
                if "extra" in req.partition(";")[2]:
                    continue  # an optional extra, not what the method runs
                match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
                if match:
                    names.append(self._normalise(match.group(1)))
            self._requires[dist] = names
        return self._requires[dist]

    def of(self, recipes, scorers):
        """``{distribution: version}`` of what computes a cell.

        Parameters
        ----------
        recipes : list of Recipe
            The cell's method (an auto method: its candidates).
        scorers : list of str
            The label-free scorers it evaluates.

        Returns
        -------
        versions : dict of str to str
            Installed distributions only, sorted by name.
        """
        from ._recipes import _SCALER_NAMES

        entries = [("scorers", s) for s in scorers]
        for r in recipes:
            if r.scaling in _SCALER_NAMES:
                entries.append(("adapters", _SCALER_NAMES[r.scaling]))
            entries += [("adapters", a) for a in r.adapters]
            entries.append(("estimators", r.estimator))
        dists = {self._normalise(d) for d in self.ALWAYS}
        for entry in entries:
            provider = self._providers.get(entry)
            if provider is not None:
                dists.add(self._normalise(provider))
                dists.update(self.requirements(provider))
        found = {d: self.version(d) for d in sorted(dists)}
        return {d: v for d, v in found.items() if v is not None}


def selection_classifier(scorers, *, few_shot=False):
    """Return the kind of classifier a method's label-free scores come from.

    :func:`~sertl_experiments.evaluate` gives the classifiers of a
    selection probabilities (for ``svc``: a sigmoid-calibrated copy) when
    any of its scorers needs ``predict_proba``; the few-shot protocol
    scores on labelled target rows with the plain classifier. Every
    scorer of the method is then computed with that classifier, so the
    same scorer can give another value in a method that also lists a
    probability scorer.

    Parameters
    ----------
    scorers : list of str
        The method's scorers.
    few_shot : bool, default=False
        The protocol has labelled target rows.

    Returns
    -------
    kind : {"plain", "calibrated"}

    Examples
    --------
    >>> selection_classifier(["reverse_validation"])
    'plain'
    >>> selection_classifier(["reverse_validation", "prediction_entropy"])
    'calibrated'
    """
    return "calibrated" if not few_shot and needs_proba(scorers) else "plain"


def guard_scorers(config):
    """Return the baseline's scorers, grouped by the classifier they need.

    The negative-transfer guard compares a method's label-free score with
    the no-adaptation baseline's score on the same scorer; both must come
    from the same kind of classifier (see :func:`selection_classifier`).
    The baseline therefore scores, for each kind, the scorers of the
    methods scored with that kind: exactly what a method with those
    scorers and no adaptation gets.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.

    Returns
    -------
    groups : dict of str to list of str
        ``{"plain": [...], "calibrated": [...]}``, kinds without a method
        left out.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
    ...     "methods": [{"name": "dss"},
    ...                 {"name": "tca", "adapter": "tca",
    ...                  "scorers": ["prediction_entropy", "reverse_validation"]}]})
    >>> for kind, names in guard_scorers(cfg).items():
    ...     print(kind, names)
    calibrated ['prediction_entropy', 'reverse_validation']
    plain ['reverse_validation']
    """
    few = config.protocol.target == "few_shot"
    groups = {}
    for m in config.methods:
        kind = selection_classifier(m.scorers, few_shot=few)
        groups.setdefault(kind, set()).update(["target"] if few else m.scorers)
    return {kind: sorted(names) for kind, names in sorted(groups.items())}


def _baseline_scorers(config):
    return sorted({sc for group in guard_scorers(config).values() for sc in group})


def _missing_output(old, *, pca_points, model=None, speakers=False):
    """Why a finished cell with the right key still lacks a requested output.

    Returns None when the cell has everything this run asks of it: the PCA
    view (first seed; ``pca_points`` is None otherwise) with as many points
    as asked, and, when the cell saves a model (``model``: the path this
    run saves it to), the model it wrote at that path (its content hash)
    or the reason it was not saved, and that model's check against the
    scored model (:func:`_saved_model_check`). The path the cell recorded is not
    used: it is relative to the working folder of the run that wrote it,
    and an output folder may have been moved since. With ``speakers`` (a
    speaker bootstrap) the cell must hold its test rows' speakers, which
    cells of earlier releases lack.
    """
    if speakers and "test_speaker_codes" not in old:
        return "the speakers of its test rows (for bootstrap_unit = speaker)"
    if old.get("protocol") == "few_shot" and "test_rows" not in old:
        # its seeds' test rows differ: the interval of their mean needs them
        return "the target rows it tested"
    if pca_points is not None and old.get("pca_points") != pca_points:
        return "its PCA view"
    if model is not None:
        if old.get("model_save_failed"):
            return "its saved model (saving failed last time)"
        if old.get("model_not_saved"):
            return None
        if not old.get("model") or not Path(model).is_file():
            return "its saved model"
        if old.get("model_digest") != _digest(model):
            return "its saved model (the file was replaced)"
        if "model_agreement" not in old:
            # saved before the saved model was checked against the scored one
            return "the check of its saved model against the scored one"
    return None


def _digest(path):
    """Content hash of a file."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_cell(path):
    """Return a cell file's content, or None when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        cell = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a torn or foreign file: the cell is computed again
    return cell if isinstance(cell, dict) else None


def _cell_file(cells_dir, pair, method, seed):
    return cells_dir / f"{_file_stem(pair, method)}__seed{seed}.json"


def _model_file(models_dir, pair, method):
    return models_dir / f"{_file_stem(pair, method)}.skops"


def _file_stem(pair, method):
    """Name a pair and method in a file name that no other pair or method shares.

    The parts are joined with ``__`` (the pooled sources with ``+``, which
    the config refuses in corpus names); a name that could make that
    ambiguous (one with ``__``, a leading or final ``_``, or ``%``) has
    ``%`` and ``_`` percent-encoded. Other names, all the usual ones, are
    kept as they are: their finished cells keep being found.

    Examples
    --------
    >>> _file_stem((["emodb"], "ravdess"), "dss+coral")
    'emodb__ravdess__dss+coral'
    >>> _file_stem((["a"], "b__c"), "dss"), _file_stem((["a__b"], "c"), "dss")
    ('a__b%5F%5Fc__dss', 'a%5F%5Fb__c__dss')
    >>> _file_stem((["a", "b"], "c"), "m")
    'a+b__c__m'
    """
    src = "+".join(map(_file_part, pair[0]))
    name = method if method == BASELINE else _file_part(method)
    return f"{src}__{_file_part(pair[1])}__{name}"


def _file_part(name):
    """Spell one corpus or method name in a file name (see :func:`_file_stem`)."""
    name = str(name)
    if "__" in name or name.startswith("_") or name.endswith("_") or "%" in name:
        return name.replace("%", "%25").replace("_", "%5F")
    return name


def _prepare_data(
    config,
    *,
    client,
    progress,
    log,
    classes_field="[labels] classes",
    warned=None,
    left_out=None,
    cautions=None,
    bootstrap_check=False,
    target_labels=True,
):
    """Read every corpus in the matrix and extract its features once.

    ``classes_field`` names where the class list came from in messages
    (``sertl grid`` passes its ``--classes`` option). The readers' warnings
    other than skipped files are logged, and appended to ``warned`` when
    given (see :func:`~sertl_experiments._data.reader_warnings`); a
    reader's warning about labels that are no canonical emotion leaves out
    those that ``[labels] mapping`` maps. The labels whose files no pair
    uses (not among the classes kept) are logged with their file counts and
    why, and appended to ``left_out`` when given (``corpus``, ``label``,
    ``files``, ``why``). The files that gave features but get one of
    ``sertl predict``'s cautions (band-limited, long, little speech, odd
    samples) are logged, a line per corpus and kind, and appended to
    ``cautions`` when given (``corpus``, ``caution``, ``files``,
    ``examples``, ``note``). With ``bootstrap_check`` (``sertl run``), a
    speaker bootstrap that a target's speakers cannot support is refused
    before any feature is extracted (:func:`check_bootstrap_speakers`).
    A corpus without labels is refused where its labels are needed (see
    :func:`check_labels`; ``target_labels=False`` for ``sertl grid``'s
    label-free search); a target without labels keeps every row, whatever
    the classes.
    """
    from sertl_speech import map_emotions

    from ._data import make_feature_step, mapped_labels_left_out, written_labels

    make_feature_step(config.features)  # a bad [features] value: before any reading
    used = _matrix_corpora(config)
    wanted = config.classes if isinstance(config.classes, list) else None
    tables, skipped = {}, []
    for name in used:
        tables[name] = load_corpus_table(config.corpora[name])
        reader_skipped(tables[name], name, skipped, log)
        mapped_labels_left_out(tables[name], config.mapping)
        reader_warnings(tables[name], name, warned, log)
    check_labels(
        config,
        {name: table["emotion"] for name, table in tables.items()},
        target_labels=target_labels,
    )
    # a target without labels has no classes: it keeps every row, and the
    # classes are those of the labelled corpora
    bare = unlabelled_corpora({n: t["emotion"] for n, t in tables.items()})
    labelled = [name for name in used if name not in bare]
    if config.mapping:
        # the csv and folders readers know their emotions only now; a
        # corpus without labels has none to rename (its "-1" marks them
        # unlabelled: no key of the mapping)
        emotions = {
            name: set(map(str, tables[name]["emotion"]))
            if name in tables
            else declared_emotions(spec.reader)
            for name, spec in config.corpora.items()
            if name not in bare
        }
        # a csv or folders corpus's labels as written (a folder "angry" read
        # as "anger"); the official readers' codes are no keys
        written = {
            name: written_labels(table)
            for name, table in tables.items()
            if declared_emotions(config.corpora[name].reader) is None
            and name not in bare
        }
        check_mapping(config.mapping, config.classes, emotions, written)
        for name in labelled:  # select_emotions's rule, in every case
            tables[name]["emotion"] = map_emotions(tables[name], config.mapping)
    if wanted is not None:
        found = set().union(*(set(tables[n]["emotion"]) for n in labelled))
        absent = [c for c in dict.fromkeys(wanted) if c not in found]
        if absent:
            fix = "check the spelling"
            if classes_field.startswith("["):
                fix += ", or map a corpus's own label onto it with [labels] mapping"
            raise ExperimentError(
                f"{classes_field}: {', '.join(map(repr, absent))} "
                f"{'is' if len(absent) == 1 else 'are'} in none of the corpora "
                f"({', '.join(labelled)}), whose emotions are "
                f"{', '.join(sorted(map(str, found)))}; {fix}."
            )
    dropped = _LeftOut(config.mapping, log, left_out)
    for name in used:
        table = tables[name]
        if wanted is not None and name not in bare:
            keep = table["emotion"].isin(wanted)
            dropped.add(name, table[~keep], f"not in {classes_field}")
            table = table[keep].reset_index(drop=True)
        if table.empty:
            raise ExperimentError(
                f"{config.corpora[name].label()}: no utterances of the classes "
                f"{wanted or 'requested'} were found."
            )
        tables[name] = table
    if config.classes == "shared":
        # a corpus without labels (an unlabelled target) has no classes
        shared = _shared_classes(
            {n: tables[n]["emotion"] for n in labelled}, labelled, dropped
        )
        tables = {
            n: t if n in bare else t[t["emotion"].isin(shared)].reset_index(drop=True)
            for n, t in tables.items()
        }
    check_few_shot_speakers(config, {n: t["speaker"] for n, t in tables.items()})
    if bootstrap_check:
        check_bootstrap_speakers(config, {n: t["speaker"] for n, t in tables.items()})
    data = {}
    for name, table in tables.items():
        log(f"features: {name} ({len(table)} files, set {config.features.set!r})")
        found: dict[int, list[str]] = {}
        X, failed = extract_features(
            list(table["file"]),
            config.features,
            client=client,
            progress=progress,
            cautions=found,
        )
        ok = np.all(np.isfinite(X), axis=1)
        for f, why in failed:
            skipped.append({"corpus": name, "file": f, "reason": why})
            log(f"  skipped {f}: {why}")
        _report_cautions(name, list(table["file"]), found, log, cautions)
        t = table[ok]
        if len(t) == 0:
            first = f" (e.g. {failed[0][0]}: {failed[0][1]})" if failed else ""
            raise ExperimentError(
                f"{config.corpora[name].label()}: none of its {len(table)} files "
                f"gave features{first}; each is listed above with its reason. "
                "Check that root points at the corpus's audio and that the files "
                "are readable, non-silent recordings."
            )
        data[name] = CorpusData(
            name,
            X[ok],
            t["emotion"].to_numpy().astype(str),
            (name + ":" + t["speaker"].astype(str)).to_numpy(),
            t["file"].to_numpy().astype(str),
        )
    check_shared_recordings(config, data)
    return data, skipped


def unlabelled_corpora(labels):
    """Return the names of the corpora whose every row is unlabelled.

    Such a corpus (a ``csv`` corpus read with ``labelled = false``) can
    only be a target under a protocol that needs no target labels (see
    :func:`check_labels`).

    Parameters
    ----------
    labels : dict of str to array-like
        The labels (``emotion``) of each corpus.

    Returns
    -------
    names : set of str

    Examples
    --------
    >>> unlabelled_corpora({"emodb": ["anger", "sadness"], "mine": ["-1", "-1"]})
    {'mine'}
    """
    from sertl_core import is_unlabeled

    return {
        name
        for name, y in labels.items()
        if len(y) and bool(np.all(is_unlabeled(np.asarray(y, dtype=object))))
    }


def check_labels(config, labels, *, target_labels=True):
    """Refuse a corpus without labels where the experiment needs its labels.

    A source's rows train the classifier; the few-shot protocol trains on
    labelled target rows and scores on labelled test rows; ``sertl run``
    (``target_labels=True``) scores every cell on the target's labels.
    Only ``sertl grid``'s label-free search (``target_labels=False``,
    protocol ``"unlabelled"``) takes a target without labels.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment (its sources, targets and protocol).
    labels : dict of str to array-like
        The labels (``emotion``) of each corpus read.
    target_labels : bool, default=True
        Whether the command scores on the targets' labels.

    Raises
    ------
    ExperimentError
        Naming the corpus, why its labels are needed and what to do.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._data import ExperimentError
    >>> from sertl_experiments._runner import check_labels
    >>> cfg = parse_config({"corpora": {"emodb": {"root": "sample"},
    ...                                 "mine": {"reader": "csv", "root": "m.csv"}},
    ...                     "matrix": {"sources": [["emodb"]], "targets": ["mine"]},
    ...                     "methods": [{"name": "dss"}]})
    >>> labels = {"emodb": ["anger", "sadness"], "mine": ["-1", "-1"]}
    >>> check_labels(cfg, labels, target_labels=False)
    >>> try:
    ...     check_labels(cfg, labels)
    ... except ExperimentError as err:
    ...     print(str(err).split(", but")[0])
    [corpora.mine]: has no labels (every row is unlabelled)
    """
    missing = unlabelled_corpora(labels)
    if not missing:
        return
    sources = {name for group in config.sources for name in group}
    for name in sorted(missing):
        spec = config.corpora[name]
        what = f"{spec.label()}: has no labels (every row is unlabelled), but "
        if name in sources:
            raise ExperimentError(
                f"{what}it is a source, and a source's rows train the "
                "classifier, so they must be labelled; make it a target only "
                "(with sertl grid): leave it out of [matrix] sources (with "
                'sources = "leave_one_out", which puts every corpus in the '
                "pools of the other targets, list it alone in [matrix] targets: "
                f'targets = ["{name}"] pools the other corpora for it), or give '
                "it its labels."
            )
        if name not in config.targets:
            continue
        if config.protocol.target == "few_shot":
            raise ExperimentError(
                f"{what}the few-shot protocol trains on k labelled rows per "
                "class of its target and scores on its labelled test rows; give "
                "the corpus its labels, or search without target labels: sertl "
                'grid with [protocol] target = "unlabelled" (the default).'
            )
        if target_labels:
            raise ExperimentError(
                f"{what}sertl run scores every cell on its target's labels (the "
                "UAR of the test rows); to choose a method for a target without "
                "labels, run sertl grid on this experiment, which scores without "
                "target labels (reverse_validation, importance_weighted, "
                "prediction_entropy, deep_embedded_validation), and keep the "
                "chosen model with --save; or give the corpus its labels."
            )


def _matrix_corpora(config):
    """Return the names of the corpora the matrix uses, sorted."""
    return sorted({c for s in config.sources for c in s} | set(config.targets))


def _shared_classes(labels, used, dropped):
    """Return the classes every corpus of the matrix has (``"shared"``).

    ``labels`` maps each corpus of ``used`` (those in the matrix) to its
    labels; the rows of the others are reported to ``dropped`` (a
    :class:`_LeftOut`), a line per corpus and label naming the corpora that
    lack it. Both :func:`_prepare_data` and ``run_experiment(data=...)``
    keep these classes, so that features computed beforehand give the
    pairs the classes that reading the corpora gives them.
    """
    found = {n: {str(v) for v in labels[n]} for n in used}
    shared = set.intersection(*found.values())
    if len(shared) < 2:
        raise ExperimentError(
            "[labels] classes: the corpora share fewer than two emotions "
            f"({sorted(shared)}); list classes explicitly or add a mapping."
        )
    for n in used:
        y = pd.Series(np.asarray(labels[n]).astype(str), name="emotion")
        gone = y[~y.isin(shared)]
        for label, rows in gone.groupby(gone, sort=True):
            lacking = [m for m in used if label not in found[m]]
            dropped.add(
                n,
                rows.to_frame(),
                'not shared by every corpus ([labels] classes = "shared"): '
                f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} "
                "none",
            )
    return shared


def check_shared_recordings(config, data):
    """Refuse a pair whose target holds recordings of one of its sources.

    A recording is known by its features: two files with the same
    features (a file listed in two corpora, or a copy of it) hold the same
    audio. A model tested on utterances it was trained on scores what it
    memorised, not what it transfers (a user's corpus that includes files
    of a built-in one scored 100 % UAR), so such a pair stops the run
    before any cell is computed, naming the files.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment (its pairs).
    data : dict of str to CorpusData
        The features of each corpus read.

    Raises
    ------
    ExperimentError
        Naming the pair, how many target files are source recordings, and
        a few of them with their source file.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._data import CorpusData, ExperimentError
    >>> from sertl_experiments._runner import check_shared_recordings
    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "mine": {"root": "y"}},
    ...                     "methods": [{"name": "dss"}]})
    >>> def corpus(name, X):
    ...     files = np.array([f"{name}/{i}.wav" for i in range(len(X))])
    ...     return CorpusData(name, np.asarray(X, float), np.array(["anger"] * len(X)),
    ...                       np.array(["s"] * len(X)), files)
    >>> data = {"a": corpus("a", [[0, 1], [2, 3]]), "mine": corpus("mine", [[2, 3]])}
    >>> try:
    ...     check_shared_recordings(cfg, data)
    ... except ExperimentError as err:
    ...     print(str(err).split(":")[0])
    a -> mine
    """
    seen: dict[str, dict[bytes, str]] = {}

    def recordings(name):
        # features -> every file that gave them (a corpus may hold a
        # recording twice: each copy is named)
        if name not in seen:
            d = data[name]
            seen[name] = {}
            for x, f in zip(d.X, d.files, strict=True):
                key = np.ascontiguousarray(x).tobytes()
                seen[name].setdefault(key, []).append(str(f))
        return seen[name]

    for sources, target in config.pairs():
        if target not in data:
            continue
        own = recordings(target)
        shared = {}
        for source in (s for s in sources if s in data):
            theirs = recordings(source)
            for k in own.keys() & theirs.keys():
                shared.update(dict.fromkeys(own[k], theirs[k][0]))
        if shared:
            shown = "".join(
                f"\n  {f} = {g}" for f, g in sorted(shared.items())[:_CAUTION_EXAMPLES]
            )
            more = f"\n  ... {len(shared) - _CAUTION_EXAMPLES} more" * (
                len(shared) > _CAUTION_EXAMPLES
            )
            spec = config.corpora.get(target)
            # sertl grid's command line has no [matrix]: name the option
            drop = (
                f"or give another target than {spec.where}"
                if spec is not None and spec.where is not None
                else "or leave this pair out of [matrix] (with sources = "
                f'"leave_one_out", which pools every other corpus for each '
                f"target, leave {target} out of [matrix] targets)"
            )
            raise ExperimentError(
                f"{' + '.join(sources)} -> {target}: {len(shared)} of the "
                f"{len(data[target].files)} files of {target} are recordings of "
                "the source (the "
                "same file, or a copy: their features are equal), so the model "
                "would be tested on utterances it was trained on and score what "
                "it memorised. Take them out of one of the two corpora (its CSV "
                f"or folders), {drop}.{shown}{more}"
            )


def check_speaker_ids(config, data, recipes):
    """Refuse speaker ids that two corpora of a pair share, for per-speaker scaling.

    A method with ``scaling = "speaker"`` standardises each speaker id with
    its own statistics over the training rows of a pair, its pooled
    sources and its target together. Corpora read by ``sertl run`` carry
    their name in their ids (``"emodb:03"``); features given to
    :func:`run_experiment` as ``data`` may not: two corpora that both
    number their speakers ``"1"``, ``"2"`` ... would have their rows
    normalised as one speaker's, silently (on three synthetic corpora,
    UAR fell from 72 % to 2 %).

    Parameters
    ----------
    config : ExperimentConfig
        The experiment (its pairs).
    data : dict of str to CorpusData
        The features of each corpus.
    recipes : dict of str to list of Recipe
        Each method's recipes (an auto method's candidates); only a method
        with a per-speaker recipe needs distinct ids.

    Raises
    ------
    ExperimentError
        Naming the pair, the corpora that share ids, a few of the ids, the
        methods that normalise per speaker and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._data import CorpusData, ExperimentError
    >>> from sertl_experiments._recipes import Recipe
    >>> from sertl_experiments._runner import check_speaker_ids
    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
    ...                     "methods": [{"name": "spk", "scaling": "speaker"}]})
    >>> def corpus(name, spk):
    ...     return CorpusData(name, np.zeros((2, 1)), np.array(["anger"] * 2),
    ...                       np.array(spk), np.array(["0.wav", "1.wav"]))
    >>> recipes = {"spk": [Recipe("spk", scaling="speaker")]}
    >>> try:
    ...     check_speaker_ids(cfg, {"a": corpus("a", ["1", "2"]),
    ...                             "b": corpus("b", ["2", "3"])}, recipes)
    ... except ExperimentError as err:
    ...     print(str(err).split(":")[0])
    a -> b
    >>> check_speaker_ids(cfg, {"a": corpus("a", ["a:1", "a:2"]),
    ...                         "b": corpus("b", ["b:2", "b:3"])}, recipes)
    """
    users = [n for n, rs in recipes.items() if any(_uses_speaker(r) for r in rs)]
    if not users:
        return
    for sources, target in config.pairs():
        owners: dict[str, list[str]] = {}
        for name in (*sources, target):
            if name in data:
                for spk in np.unique(np.asarray(data[name].speakers).astype(str)):
                    owners.setdefault(str(spk), []).append(name)
        shared = {spk: names for spk, names in owners.items() if len(names) > 1}
        if not shared:
            continue
        corpora = sorted({n for names in shared.values() for n in names})
        ids = ", ".join(repr(spk) for spk in sorted(shared)[:_CAUTION_EXAMPLES])
        more = f" and {len(shared) - _CAUTION_EXAMPLES} more" * (
            len(shared) > _CAUTION_EXAMPLES
        )
        raise ExperimentError(
            f"{' + '.join(sources)} -> {target}: the corpora {', '.join(corpora)} "
            f"share speaker ids ({ids}{more}), and the method(s) {', '.join(users)} "
            'normalise each speaker with its own statistics (scaling = "speaker"), '
            "so rows of different corpora would be normalised as one speaker's. "
            "Give each corpus's CorpusData speaker ids that name the corpus, as "
            'the corpus readers do ("emodb:03"): name + ":" + speaker.'
        )


# files named per corpus and kind of caution in the log and the report
_CAUTION_EXAMPLES = 3


def _report_cautions(corpus, files, found, log, collected=None):
    """Log (and collect) the cautions on a corpus's files, one line per kind.

    The training rows keep these files: the caution is that their features
    differ from the others' (an 8 kHz recording has no upper band), not
    that they are wrong.
    """
    from ._predict import caution_kind

    kinds: dict[str, list[tuple[str, str]]] = {}
    for i in sorted(found):
        for note in found[i]:
            kinds.setdefault(caution_kind(note), []).append((str(files[i]), note))
    for kind, rows in kinds.items():
        names = [Path(f).name for f, _ in rows[:_CAUTION_EXAMPLES]]
        more = len(rows) - len(names)
        examples = ", ".join(names) + (f" and {more} more" if more else "")
        log(
            f"corpus {corpus}: {len(rows)} of {len(files)} file(s) {kind} "
            f"({examples}), kept for training; e.g. {rows[0][1]}"
        )
        if collected is not None:
            collected.append(
                {
                    "corpus": corpus,
                    "caution": kind,
                    "files": len(rows),
                    "examples": examples,
                    "note": rows[0][1],
                }
            )


class _LeftOut:
    """Log and collect the labels whose files the experiment leaves out.

    A label that ``[labels] mapping`` produced is named with the corpus's
    own labels it came from: ``calm (mapped from relaxed)``.
    """

    def __init__(self, mapping, log, collected=None):
        self.sources = {}
        for key, value in (mapping or {}).items():
            self.sources.setdefault(value, []).append(key)
        self.log, self.collected = log, collected

    def add(self, corpus, rows, why):
        """Report the rows of ``corpus`` (a table's rows) left out because ``why``."""
        for label, n in rows["emotion"].value_counts(sort=False).sort_index().items():
            shown = str(label)
            if label in self.sources:
                shown += f" (mapped from {', '.join(self.sources[label])})"
            self.log(f"corpus {corpus}: {n} file(s) labelled {shown} left out: {why}")
            if self.collected is not None:
                self.collected.append(
                    {"corpus": corpus, "label": shown, "files": int(n), "why": why}
                )


def _target_speakers(config, speakers):
    """Yield ``(name, sorted speaker names)`` of each target corpus, once each."""
    for name in dict.fromkeys(t for _, t in config.pairs()):
        yield name, sorted({str(s) for s in speakers.get(name, ())})


def check_few_shot_speakers(config, speakers):
    """Refuse a few-shot experiment whose target corpus has fewer than two speakers.

    The few-shot protocol draws its labelled target rows from speakers held
    out of the test set; with one speaker (the ``folders`` reader's
    ``"unknown"`` when it is not told where the speaker id is) every cell
    would fail, after the features were extracted.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    speakers : dict of str to array-like
        The speaker of each utterance kept, by corpus.

    Raises
    ------
    ConfigError
        ``"[corpora.NAME]: few_shot needs ..."``, saying how to give the
        reader speaker ids.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._runner import check_few_shot_speakers
    >>> cfg = parse_config({
    ...     "corpora": {"a": {"reader": "emodb", "root": "x"},
    ...                 "mine": {"reader": "folders", "root": "y"}},
    ...     "matrix": {"sources": ["a"], "targets": ["mine"]},
    ...     "protocol": {"target": "few_shot", "k": 2},
    ...     "methods": [{"name": "dss"}]})
    >>> try:
    ...     check_few_shot_speakers(cfg, {"a": ["03", "08"], "mine": ["unknown"]})
    ... except ConfigError as err:
    ...     print(str(err).split(" (")[0])
    [corpora.mine]: few_shot needs at least two speakers in a target corpus
    """
    if config.protocol.target != "few_shot":
        return
    for name, found in _target_speakers(config, speakers):
        if len(found) >= 2:
            continue
        spec = config.corpora.get(name)
        where = spec.label() if spec is not None else f"[corpora.{name}]"
        reader = spec.reader if spec is not None else None
        if reader == "folders":
            how = (
                "The folders reader gives every file the speaker 'unknown' unless "
                "told where the speaker id is: add options = { speaker_pattern = "
                '"^(?P<speaker>[^_]+)_" } to the experiment file\'s '
                + f"[corpora.{name}]"
                + " table, a regular expression searched in each file name, with "
                "the speaker id in the group (?P<speaker>...)."
            )
        elif reader == "csv":
            how = "Give each row of the CSV file its speaker in the speaker column."
        else:
            how = (
                "Use a corpus with several speakers as the target, or target = "
                '"unlabelled".'
            )
        raise ConfigError(
            f"{where}: few_shot needs at least two speakers in a target corpus "
            "(its labelled rows come from speakers held out of the test set), "
            f"but {name!r} has {len(found)}"
            + (f" ({', '.join(map(repr, found))})" if found else "")
            + f". {how}"
        )


def check_bootstrap_speakers(config, speakers):
    """Refuse a speaker bootstrap where a target has fewer than two test speakers.

    With ``[protocol] bootstrap_unit = "speaker"`` the intervals resample
    the test speakers; a target whose test rows come from one speaker (a
    corpus without speaker ids, or a few-shot split of two or three
    speakers that keeps one for testing) has no interval to give.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    speakers : dict of str to array-like
        The speaker of each utterance kept, by corpus.

    Raises
    ------
    ConfigError
        ``"[protocol] bootstrap_unit: ..."``, naming the corpus and its
        speakers and saying what to change.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._runner import check_bootstrap_speakers
    >>> cfg = parse_config({
    ...     "corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
    ...     "protocol": {"bootstrap_unit": "speaker"},
    ...     "methods": [{"name": "dss"}]})
    >>> check_bootstrap_speakers(cfg, {"a": ["1", "2"], "b": ["1", "2", "3"]})
    >>> try:
    ...     check_bootstrap_speakers(cfg, {"a": ["unknown"], "b": ["1", "2"]})
    ... except ConfigError as err:
    ...     print(str(err).split(", but ")[1].split(";")[0])
    target 'a' has 1 test speaker ('unknown')
    """
    prot = config.protocol
    if prot.bootstrap_unit != "speaker" or not prot.bootstrap:
        return
    for name, found in _target_speakers(config, speakers):
        n_test = len(found)
        few = prot.target == "few_shot" and n_test >= 2
        if few:
            n_test = n_test_speakers(n_test, prot.test_speaker_fraction)
        if n_test >= 2:
            continue
        shown = f" ({', '.join(map(repr, found))})" if len(found) <= 3 else ""
        what = (
            f"{n_test} test speaker of its {len(found)} (test_speaker_fraction "
            f"{prot.test_speaker_fraction:g})"
            if few
            else f"{len(found)} test speaker{'s' if len(found) != 1 else ''}{shown}"
        )
        fix = "raise test_speaker_fraction" if few else "give the reader speaker ids"
        raise ConfigError(
            "[protocol] bootstrap_unit: a speaker bootstrap resamples the test "
            f"speakers, but target {name!r} has {what}; it needs at least 2: "
            f'{fix}, or use bootstrap_unit = "utterance".'
        )


def repeated_split_notes(cells):
    """Say which seeds of a few-shot pair hold out the same test speakers.

    Such seeds repeat one test set (with other labelled target rows), so the
    mean over the seeds, and its interval, count that test set twice. Seeds
    that differ modulo the number of ways to choose the test speakers never
    do (see :func:`draw_test_speakers`).

    Parameters
    ----------
    cells : list of dict
        The run's cells.

    Returns
    -------
    notes : list of str
        One sentence per pair and repeated set of test speakers.

    Examples
    --------
    >>> cells = [{"source": "a", "target": "b", "seed": s, "status": "ok",
    ...           "protocol": "few_shot", "method": "dss", "n_partitions": 2,
    ...           "test_speakers": ["b:1"] if s != 1 else ["b:2"]}
    ...          for s in (0, 1, 2)]
    >>> print(repeated_split_notes(cells)[0])  # doctest: +NORMALIZE_WHITESPACE
    a -> b: seeds 0 and 2 hold out the same test speakers (b:1): their cells
    repeat one test set, which the mean over the seeds counts 2 times; the
    target's speakers give 2 different sets of test speakers, so at most 2
    seeds (that differ modulo 2) give distinct splits.
    """
    by_pair: dict = {}
    for c in cells:
        if (
            c.get("status") != "ok"
            or c.get("protocol") != "few_shot"
            or c.get("test_speakers") is None
        ):
            continue
        seeds = by_pair.setdefault((c["source"], c["target"]), {})
        seeds.setdefault(c["seed"], (tuple(c["test_speakers"]), c.get("n_partitions")))
    notes = []
    for (src, tgt), seeds in sorted(by_pair.items()):
        same: dict = {}
        for seed, (spk, total) in sorted(seeds.items()):
            same.setdefault(spk, []).append((seed, total))
        for spk, found in same.items():
            if len(found) < 2:
                continue
            names = [str(seed) for seed, _ in found]
            total = found[0][1]
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            shown = ", ".join(spk[:6]) + (" ..." if len(spk) > 6 else "")
            note = (
                f"{src} -> {tgt}: seeds {listed} hold out the same test speakers "
                f"({shown}): their cells repeat one test set, which the mean over "
                f"the seeds counts {len(found)} times"
            )
            if total:
                note += (
                    f"; the target's speakers give {total} different sets of test "
                    f"speakers, so at most {total} seeds (that differ modulo "
                    f"{total}) give distinct splits"
                )
            notes.append(note + ".")
    return notes


# below this many test speakers a speaker (cluster) bootstrap is unreliable:
# Cameron, Gelbach and Miller, "Bootstrap-based improvements for inference
# with clustered errors", Review of Economics and Statistics 90(3), 2008
_FEW_CLUSTERS = 10


def interval_notes(cells):
    """Say where the bootstrap intervals are missing or resample lacking classes.

    Returns
    -------
    notes : list of str
        One sentence per kind of note (the cells' ``ci_note``, and the share
        of a speaker bootstrap's replicates that lack a class).

    Examples
    --------
    >>> cells = [{"source": "a", "target": "b", "method": "dss", "seed": 0,
    ...           "status": "ok", "bootstrap_classes_missing": 0.25}]
    >>> print(interval_notes(cells)[0])  # doctest: +NORMALIZE_WHITESPACE
    speaker bootstrap: up to 25.0 % of the resamples of 1 cell(s) lack a class
    (a -> b dss seed 0): their UAR and macro-F1 average over the classes they
    hold.
    """
    notes, lacking, few = {}, [], {}
    for c in cells:
        if c.get("status") != "ok":
            continue
        where = f"{c['source']} -> {c['target']} {c['method']} seed {c['seed']}"
        if c.get("ci_note"):
            notes.setdefault(c["ci_note"], []).append(where)
        share = c.get("bootstrap_classes_missing")
        if share:
            lacking.append((share, where))
        n_spk = len(c.get("test_speakers") or ())
        speaker_boot = (c.get("ci") or {}).get("unit") == "speaker"
        if speaker_boot and not c.get("ci_note") and n_spk < _FEW_CLUSTERS:
            few.setdefault((c["source"], c["target"]), set()).add(n_spk)
    out = [
        f"{why} ({', '.join(w[:3])}{' ...' if len(w) > 3 else ''}): no interval."
        for why, w in notes.items()
    ]
    if few:
        pairs = ", ".join(
            f"{s} -> {t} ({'/'.join(map(str, sorted(n)))})"
            for (s, t), n in sorted(few.items())
        )
        out.append(
            f"speaker bootstrap over fewer than {_FEW_CLUSTERS} test speakers "
            f"({pairs}): a resample can only recombine those speakers, so the "
            "interval understates the uncertainty about other speakers."
        )
    if lacking:
        lacking.sort(reverse=True)
        where = ", ".join(w for _, w in lacking[:3]) + (
            " ..." if len(lacking) > 3 else ""
        )
        out.append(
            f"speaker bootstrap: up to {100 * lacking[0][0]:.1f} % of the resamples "
            f"of {len(lacking)} cell(s) lack a class ({where}): their UAR and "
            "macro-F1 average over the classes they hold."
        )
    return out


def left_out_classes(listed, classes, corpora, data, left=None, union=False):
    """Say which listed classes a pair leaves out, and which corpus lacks each.

    Returns None when the pair keeps every class of ``listed`` (or the
    experiment lists none: ``"shared"``, ``"all"``). ``left`` is
    :func:`_pair_left_out`'s answer when the caller has it already;
    ``union``: ``[labels] pool_classes = "union"`` (``corpora`` ends with
    the target).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import CorpusData
    >>> def cd(name, labels):
    ...     y = np.array(labels)
    ...     return CorpusData(name, np.zeros((len(y), 1)), y, y, y)
    >>> data = {"ravdess": cd("ravdess", ["anger", "sadness", "surprise"]),
    ...         "emodb": cd("emodb", ["anger", "sadness"])}
    >>> left_out_classes(["anger", "sadness", "surprise"], ["anger", "sadness"],
    ...                  ["ravdess", "emodb"], data)
    'classes anger, sadness; left out: surprise (emodb has none)'
    """
    if not isinstance(listed, list):
        return None
    if left is None:
        left = _pair_left_out(listed, classes, corpora, data, union)
    if not left:
        return None
    return f"classes {', '.join(classes)}; left out: {left}"


def _pair_left_out(listed, classes, corpora, data, union=False):
    """Return the classes a pair leaves out, with the corpora that lack each.

    The classes considered are those listed (``[labels] classes`` as a
    list), or else those any corpus of the pair has; "" when it keeps them
    all. ``corpora`` ends with the target. With ``union`` (``[labels]
    pool_classes = "union"``) a class is left out because the target lacks
    it, or else because every corpus of the pool does: those are named.
    """
    if isinstance(listed, list):
        candidates = list(dict.fromkeys(listed))
    else:
        candidates = sorted({str(v) for n in corpora for v in data[n].y})
    parts = []
    for c in candidates:
        if c in classes:
            continue
        lacking = [n for n in corpora if c not in set(data[n].y)]
        if union and corpora[-1] in lacking:
            lacking = [corpora[-1]]
        parts.append(_none_of(c, lacking))
    return "; ".join(parts)


def _none_of(label, corpora):
    """``"neutral (turev has none)"``."""
    return (
        f"{label} ({', '.join(corpora)} {'has' if len(corpora) == 1 else 'have'} none)"
    )


# the "Classes of each pair" column of pool_classes = "union"
POOL_LACKS = "kept, some pooled corpora lack"


def _in_part_note(in_part):
    """Say which classes a pair keeps that some corpora of its pool lack."""
    return (
        f"classes kept that some pooled corpora lack: {in_part} ([labels] "
        'pool_classes = "union": the classifier learns each class from the '
        "pooled corpora that have it)"
    )


def classes_of_pair(config, sources, target, data, *, target_labelled=True):
    """Return the classes a pair keeps, and those some corpora of its pool lack.

    A pair keeps the classes its target shares with its source (of the
    listed ones when ``[labels] classes`` is a list). A pooled source has
    the classes every corpus of the pool has (``[labels] pool_classes =
    "intersection"``, the default), or those any has (``"union"``: the
    classifier trains on what the pool has of each class).

    Parameters
    ----------
    config : ExperimentConfig
        The experiment (its ``classes`` and ``pool_classes``).
    sources : sequence of str
        The corpora of the source (one, or a pool).
    target : str
        The target corpus.
    data : dict of str to CorpusData
        Each corpus's rows.
    target_labelled : bool, default=True
        False for a target read without labels (``sertl grid``'s unlabelled
        target): the pair then keeps the source's classes.

    Returns
    -------
    classes : list of str
        The pair's classes, sorted.
    lacking : str
        The classes kept that some corpora of the pool have none of, each
        with those corpora (``"neutral (turev has none)"``), after the
        corpora of the pool that have none of them and so add no rows (the
        pair runs on the others); "" when every corpus of the pool has every
        class kept (always so under ``"intersection"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import CorpusData, parse_config
    >>> def cd(name, labels):
    ...     y = np.array(labels)
    ...     return CorpusData(name, np.zeros((len(y), 1)), y, y, y)
    >>> data = {"emodb": cd("emodb", ["anger", "neutral", "sadness"]),
    ...         "urdu": cd("urdu", ["anger", "neutral", "sadness"]),
    ...         "turev": cd("turev", ["anger", "sadness"])}
    >>> raw = {"corpora": {n: {"root": "."} for n in data},
    ...        "labels": {"classes": "all"}, "methods": [{"name": "dss"}]}
    >>> classes_of_pair(parse_config(raw), ["urdu", "turev"], "emodb", data)
    (['anger', 'sadness'], '')
    >>> raw["labels"]["pool_classes"] = "union"
    >>> classes_of_pair(parse_config(raw), ["urdu", "turev"], "emodb", data)
    (['anger', 'neutral', 'sadness'], 'neutral (turev has none)')

    A corpus of the pool with none of the kept classes adds no rows:

    >>> data["turev"] = cd("turev", ["happiness", "sadness"])
    >>> raw["labels"]["classes"] = ["anger", "neutral"]
    >>> classes_of_pair(parse_config(raw), ["urdu", "turev"], "emodb", data)[1]
    'turev adds no rows to this pair (none of anger, neutral): it runs as urdu -> emodb'
    """
    have = [set(map(str, data[s].y)) for s in sources]
    union = config.pool_classes == "union"
    pool = set.union(*have) if union else set.intersection(*have)
    classes = pool & set(map(str, data[target].y)) if target_labelled else pool
    if isinstance(config.classes, list):
        classes &= set(config.classes)
    classes = sorted(classes)
    # a pool member with none of the kept classes adds no rows: the pair
    # runs on the others only, which its name (a+b) would hide
    empty = [s for s, h in zip(sources, have, strict=True) if not h & set(classes)]
    lacking = [
        _none_of(
            c,
            [
                s
                for s, h in zip(sources, have, strict=True)
                if c not in h and s not in empty
            ],
        )
        for c in classes
        if not all(c in h for h in have if h & set(classes))
    ]
    if empty and classes:
        rest = [s for s in sources if s not in empty]
        lacking.insert(
            0,
            f"{', '.join(empty)} {'adds' if len(empty) == 1 else 'add'} no rows "
            f"to this pair (none of {', '.join(classes)}): it runs as "
            f"{'+'.join(rest)} -> {target}",
        )
    return classes, "; ".join(lacking)


def union_hint(config, sources, target, data, *, target_labelled=True):
    """Say what ``pool_classes = "union"`` would keep for a pair with too few classes.

    "" unless the source is a pool, ``[labels] pool_classes`` is
    ``"intersection"`` and ``"union"`` would keep at least two classes.

    Examples
    --------
    Pooled, ``a`` and ``b`` share anger only; ``c`` has all three classes:

    >>> import numpy as np
    >>> from sertl_experiments import CorpusData, parse_config
    >>> ys = {"a": ["anger", "neutral"], "b": ["anger", "sadness"],
    ...       "c": ["anger", "neutral", "sadness"]}
    >>> data = {n: CorpusData(n, np.zeros((len(y), 1)), np.array(y), np.array(y),
    ...                       np.array(y)) for n, y in ys.items()}
    >>> cfg = parse_config({"corpora": {n: {"root": "."} for n in ys},
    ...                     "labels": {"classes": "all"},
    ...                     "methods": [{"name": "dss"}]})
    >>> union_hint(cfg, ["a", "b"], "c", data).split("), ")[1]
    'which keeps anger, neutral, sadness'
    >>> union_hint(cfg, ["a"], "c", data)  # a single corpus: nothing to pool
    ''
    """
    if len(sources) < 2 or config.pool_classes != "intersection":
        return ""
    union = replace(config, pool_classes="union")
    classes, _ = classes_of_pair(
        union, sources, target, data, target_labelled=target_labelled
    )
    if len(classes) < 2:
        return ""
    return (
        '[labels] pool_classes = "union" (a pooled source then has the classes '
        f"any of its corpora has), which keeps {', '.join(classes)}"
    )


def _restrict(cd, classes):
    keep = np.isin(cd.y, list(classes))
    return CorpusData(
        cd.name, cd.X[keep], cd.y[keep], cd.speakers[keep], cd.files[keep]
    )


def run_experiment(
    config, *, client=None, progress=True, log=print, data=None, n_jobs=None
):
    """Run an experiment matrix and write its results and report.

    Every finished cell (pair, method, seed) is written to
    ``OUTPUT/cells/`` at once; a rerun reuses the cells whose result no
    configuration change affects (see :func:`_cell_key`), so an interrupted
    run resumes where it stopped, a new seed computes only its cells, and
    new metric or bootstrap settings only rescore the stored predictions.

    Parameters
    ----------
    config : ExperimentConfig
        From :func:`load_config`.
    client : distributed.Client, default=None
        Dask client: features are extracted and cells (including their grid
        searches) run on the cluster.
    progress : bool, default=True
        Progress bars.
    log : callable, default=print
        Receives one line of progress text at a time.
    data : dict of str to CorpusData, default=None
        Pre-computed features per corpus (skips reading and extraction).
        ``[labels] classes = "shared"`` keeps the classes every corpus of
        the matrix has, as for read corpora (the caller's data is not
        changed). Checked as read features are: a pair whose target holds
        recordings of one of its sources (equal feature rows) is refused
        (:func:`check_shared_recordings`), and so, when a method normalises
        per speaker (``scaling = "speaker"``), is a pair two of whose
        corpora share speaker ids: give ids that name their corpus, as
        :class:`~sertl_experiments.CorpusData` says
        (:func:`check_speaker_ids`).
    n_jobs : int, default=None
        Cells run in parallel through joblib (the Dask backend when a
        client is given).

    Returns
    -------
    result : RunResult
        The output folder, the results table, the report and the cell
        counts.

    Notes
    -----
    The warnings of every cell are recorded for the report through
    Python's warning state, which is one for the whole process before
    Python 3.14: while the run records, the warnings of other threads of
    this process bypass their filters (an ``"error"`` filter does not
    raise, ``"ignore"`` does not silence) and, while no other recording
    runs, are reported as the cell's own. The filters are restored when it
    returns. Run it in a process of its own (the ``sertl run`` command, or
    :class:`concurrent.futures.ProcessPoolExecutor`) when other threads of
    the process rely on their warning filters meanwhile.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from sertl_experiments import CorpusData, parse_config, run_experiment
    >>> rng = np.random.default_rng(0)
    >>> def corpus(name, shift):
    ...     y = np.array(["anger", "sadness"] * 30)
    ...     X = rng.normal(size=(60, 3)) + (y == "anger")[:, None] * 2 + shift
    ...     spk = np.array([f"{name}:{i % 3}" for i in range(60)])
    ...     files = np.array([f"{name}{i}.wav" for i in range(60)])
    ...     return CorpusData(name, X, y, spk, files)
    >>> cfg = parse_config({"output": tempfile.mkdtemp(),
    ...                     "corpora": {"a": {"root": "."}, "b": {"root": "."}},
    ...                     "protocol": {"bootstrap": 0}, "methods": [{"name": "dss"}]})
    >>> res = run_experiment(cfg, data={"a": corpus("a", 0), "b": corpus("b", 5)},
    ...                      progress=False, log=lambda *_: None)
    >>> sorted(res.results["method"].unique()), res.report.name
    (['dss'], 'report.html')
    """
    from ._report import write_outputs

    check_methods(config)
    out = Path(config.output)
    check_output_folder(out, "output")
    cells_dir = out / "cells"
    try:
        cells_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only, no permission, a missing mount
        raise ExperimentError(
            f"output folder {out}: cannot be made ({exc.strerror or exc}); give "
            "a folder you can write (output = ... in the experiment file, or "
            "--output)."
        ) from None
    _remove_stale_parts(out, log)
    skipped, warned, left_out, pair_classes, cautions = [], [], [], [], []
    given = data is not None
    if data is None:
        # read on every run, resumed ones included: the skipped files, the
        # readers' warnings and the files' cautions are reported each time
        data, skipped = _prepare_data(
            config,
            client=client,
            progress=progress,
            log=log,
            warned=warned,
            left_out=left_out,
            cautions=cautions,
            bootstrap_check=True,
        )
    else:  # the features given: _prepare_data did not check them
        check_labels(config, {n: d.y for n, d in data.items()})
        if config.classes == "shared":  # as _prepare_data keeps them
            bare = unlabelled_corpora({n: d.y for n, d in data.items()})
            used = [n for n in _matrix_corpora(config) if n in data and n not in bare]
            shared = _shared_classes(
                {n: data[n].y for n in used},
                used,
                _LeftOut(config.mapping, log, left_out),
            )
            data = {
                n: _restrict(d, shared) if n in used else d for n, d in data.items()
            }
        speakers = {n: d.speakers for n, d in data.items()}
        check_few_shot_speakers(config, speakers)
        check_bootstrap_speakers(config, speakers)
        check_shared_recordings(config, data)
    prot = asdict(config.protocol)
    target = config.protocol.target
    autos = {m.name: _auto_candidates(m, config) for m in config.methods if m.auto}
    # each method as it runs under the protocol (few-shot: the default
    # estimator learns from the labelled target rows)
    recipes = {
        m.name: autos[m.name] if m.auto else [for_protocol(Recipe.from_spec(m), target)]
        for m in config.methods
    }
    if given:  # read corpora carry their own name in their speaker ids
        check_speaker_ids(config, data, recipes)
    # what computes each method's cells: an upgrade recomputes the cells it
    # computes, and only those
    env = _Versions()
    base = for_protocol(Recipe(BASELINE, scaling="source"), target)
    base_scorers = _baseline_scorers(config)
    recipes[BASELINE] = [base]
    versions = {BASELINE: env.of([base], base_scorers)}
    guards = guard_scorers(config)
    for m in config.methods:
        versions[m.name] = env.of(recipes[m.name], m.scorers)
    tasks, cached, files, skipped_pairs, hints = [], [], [], [], []
    speaker_boot = config.protocol.bootstrap_unit == "speaker" and bool(
        config.protocol.bootstrap
    )
    for pair in config.pairs():
        srcs, tgt = pair
        classes, in_part = classes_of_pair(config, srcs, tgt, data)
        src_name = "+".join(srcs)
        union = config.pool_classes == "union"
        lacking = _pair_left_out(config.classes, classes, [*srcs, tgt], data, union)
        pair_classes.append(
            {
                "source": src_name,
                "target": tgt,
                "classes": ", ".join(classes),
                "left out": lacking,
            }
        )
        if union:  # a column of its own; the default's table stays as it was
            pair_classes[-1][POOL_LACKS] = in_part
        if len(classes) < 2:
            hint = union_hint(config, srcs, tgt, data)
            log(
                f"skip {src_name} -> {tgt}: fewer than two shared classes {classes}"
                + (f"; set {hint}" if hint else "")
            )
            skipped_pairs.append(f"{src_name} -> {tgt} {classes}")
            hints.append(hint)
            pair_classes[-1]["left out"] = "; ".join(
                filter(None, [lacking, "pair skipped: fewer than two shared classes"])
            )
            continue
        note = left_out_classes(config.classes, classes, [*srcs, tgt], data, lacking)
        if note:
            log(f"{src_name} -> {tgt}: {note}")
        if in_part:
            log(f"{src_name} -> {tgt}: {_in_part_note(in_part)}")
        sources = [_restrict(data[s], classes) for s in srcs]
        target = _restrict(data[tgt], classes)
        pair_classes[-1]["source utterances"] = _class_counts(
            np.concatenate([d.y for d in sources])
        )
        pair_classes[-1]["target utterances"] = _class_counts(target.y)
        fingerprint = _fingerprint([*sources, target])
        for seed in config.protocol.seeds:
            first_seed = seed == config.protocol.seeds[0]
            methods = [(None, BASELINE)] + [(m, m.name) for m in config.methods]
            for spec, name in methods:
                f = _cell_file(cells_dir, pair, name, seed)
                key = _cell_key(
                    config,
                    spec,
                    pair,
                    seed,
                    classes,
                    data=fingerprint,
                    candidates=autos.get(name) if spec is not None else None,
                    versions=versions[name],
                    recipes=recipes[name],
                )
                files.append(f)
                saves = config.save_models and spec is not None and first_seed
                model_path = _model_file(out / "models", pair, name) if saves else None
                old = _read_cell(f)
                if (
                    old is not None
                    and old.get("key") == key
                    and old.get("status") == "ok"
                    and _missing_output(
                        old,
                        pca_points=config.pca_points if first_seed else None,
                        model=model_path,
                        speakers=speaker_boot,
                    )
                    is None
                ):
                    changed = _needs_rescoring(old, prot)
                    if changed:
                        score_cell(old, prot)
                    if old.get("model") and model_path is not None:
                        # where the model is now (another working folder,
                        # a moved output folder)
                        changed |= old["model"] != str(model_path)
                        old["model"] = str(model_path)
                    if changed:
                        _write_cell(f, old)
                    cached.append(old)
                    continue
                if spec is None:
                    recipe, auto, scorers = base, None, base_scorers
                else:
                    recipe, scorers = recipes[name][0], spec.scorers
                    auto = autos.get(spec.name) if spec.auto else None
                saver = None
                if saves:
                    saver = _ModelSaver(
                        model_path,
                        config,
                        src_name,
                        tgt,
                        name,
                    )
                tasks.append(
                    (
                        f,
                        {
                            "sources": sources,
                            "target": target,
                            "source_name": src_name,
                            "classes": classes,
                            "recipe": recipe,
                            "method": name,
                            "seed": seed,
                            "protocol": prot,
                            "classifier": config.classifier,
                            "classifier_params": config.classifier_params,
                            "auto": auto,
                            "scorers": scorers,
                            "guard_scorers": guards,
                            "guard": True,
                            "key": key,
                            "versions": versions[name],
                            "pca": first_seed,
                            "pca_points": config.pca_points,
                            "probability": config.save_models,
                            "save_model": saver,
                        },
                    )
                )
    if len(skipped_pairs) == len(config.pairs()):
        raise ExperimentError(
            "[labels] classes: no source/target pair shares two of the classes "
            f"kept ({'; '.join(skipped_pairs)}); list classes that the corpora "
            "share, or map their labels onto common names with [labels] mapping"
            + (
                '; or set [labels] pool_classes = "union": a pooled source then '
                "has the classes any of its corpora has"
                if any(hints)
                else ""
            )
            + "."
        )
    n_base = sum(t["method"] == BASELINE for _, t in tasks) + sum(
        c.get("method") == BASELINE for c in cached
    )
    log(
        f"{len(tasks) + len(cached)} cells ({n_base} of them the no-adaptation "
        f"baseline of the negative-transfer guard): {len(cached)} reused, "
        f"{len(tasks)} to compute"
    )
    if tasks:
        _remove_stale_outputs(out, log)
    computed = _execute(tasks, client=client, progress=progress, n_jobs=n_jobs, log=log)
    cells = cached + computed
    for note in repeated_split_notes(cells):
        log(f"warning: {note}")
    for note in fit_warning_notes(cells):
        log(f"warning: {note}")
    for note in interval_notes(cells):
        log(f"note: {note}")
    if config.save_models:  # the first seed's cells save the models
        first = config.protocol.seeds[0]
        for c in sorted(cells, key=lambda c: (c["source"], c["target"], c["method"])):
            if c["seed"] == first and c.get("model_not_saved"):
                log(
                    f"no model saved for {c['source']} -> {c['target']} "
                    f"{c['method']}: {c['model_not_saved']}"
                )
    report = write_outputs(
        config,
        cells,
        skipped,
        out,
        reader_warnings=warned,
        pair_classes=pair_classes,
        left_out=left_out,
        cautions=cautions,
    )
    results = (
        pd.read_csv(out / "results.csv")
        if (out / "results.csv").is_file()
        else (pd.DataFrame())
    )
    n_failed = sum(c.get("status") != "ok" for c in cells)
    return RunResult(
        out,
        results,
        report,
        len(computed),
        len(cached),
        skipped,
        warned,
        n_failed,
    )


def _class_counts(y):
    """``"anger 22, sadness 21"``: the rows of each class (the report's counts)."""
    names, counts = np.unique(np.asarray(y).astype(str), return_counts=True)
    return ", ".join(f"{c} {n}" for c, n in zip(names, counts, strict=True))


def check_output_folder(out, field):
    """Refuse an output folder that cannot be made because a file is in the way.

    Parameters
    ----------
    out : path-like
        The output folder (it need not exist yet).
    field : str
        What set it, named in the message: ``"output"`` (the experiment
        file) or ``"--output"`` (the command line).

    Raises
    ------
    ExperimentError
        When ``out``, or a folder above it, is a file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> afile = Path(tempfile.mkdtemp()) / "afile"
    >>> _ = afile.write_text("x")
    >>> try:
    ...     check_output_folder(afile, "--output")
    ... except ExperimentError as err:
    ...     print(str(err).split(": ", 1)[1].split(".")[0])
    is a file, not a folder
    """
    out = Path(out)
    blocked = file_in_the_way(out)
    if blocked:
        folder, what = blocked
        other = folder.with_name(folder.name + "-results")
        example = f'output = "{other}"' if field == "output" else f"{field} {other}"
        raise ExperimentError(
            f"{field} {out}: {what}, not a folder. Give a folder for the "
            f"results (a new one is made), e.g. {example}."
        )


# What write_outputs writes from the cells once every cell is done.
_SUMMARY_OUTPUTS = ("results.csv", "results.md", "report.html")


def _remove_stale_outputs(out, log):
    """Remove an earlier run's summary files before cells are computed.

    They describe the cells of that run. Left in place, an interrupted or
    failing run would leave them looking like this run's results (changed
    configuration, ``--fresh``); they are written again when every cell is
    done. The cells and saved models stay.
    """
    removed = []
    for name in _SUMMARY_OUTPUTS:
        f = out / name
        if f.is_file():
            f.unlink()
            removed.append(name)
    plots = out / "plots"
    if plots.is_dir():
        for f in plots.glob("*.png"):
            f.unlink()
        removed.append("plots/")
    if removed:
        log(
            f"removed the previous {', '.join(removed)} from {out}: they belong to "
            "the earlier run and are written again when every cell is done"
        )


# the folders of an output folder that sertl run writes files into
_OUTPUT_FOLDERS = (".", "cells", "plots", "models")


def _remove_stale_parts(out, log):
    """Remove the temporary files a killed run left in the output folder.

    A run killed while writing a cell, a model or a report (``kill -9``,
    the memory limit) leaves a hidden ``.sertl-<host>-<pid>-<16 hex>.part``
    file; those of processes that are gone are removed (see
    :func:`~sertl_experiments._persist.remove_stale_parts`), a live run's
    stay.
    """
    removed = [f for sub in _OUTPUT_FOLDERS for f in remove_stale_parts(out / sub)]
    if removed:
        n = len(removed)
        log(
            f"removed {n} temporary file{'s' if n > 1 else ''} that a killed run "
            f"left in {out} (e.g. {removed[0].name})"
        )


def check_methods(config, *, command="sertl run"):
    """Build every method once, so that a bad name or parameter stops the run.

    Registry names (scaling, adapters, estimator, scorers, ``auto``
    candidates) and step parameters cannot be checked by
    :func:`~sertl_experiments.parse_config`, which knows no plugin; without
    this check every cell of the matrix would fail on its own, after the
    features were extracted. An adapter that needs speaker ids is refused
    (see :func:`check_recipe`).

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    command : {"sertl run", "sertl grid"}, default="sertl run"
        The command that checks it: the refusal of an adapter that needs
        speaker ids says what that command does with them, and the fix.

    Raises
    ------
    ConfigError
        Naming the file, the method and the field, e.g.
        ``exp.toml: [[methods]] x adapter: No adapter named 'corall'. ...``.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._runner import check_methods
    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
    ...                     "methods": [{"name": "m", "estimator": "wizard"}]},
    ...                    origin="exp.toml")
    >>> try:
    ...     check_methods(cfg)
    ... except ConfigError as err:
    ...     print(str(err).split(". ")[0])
    exp.toml: [[methods]] m estimator: No estimator named 'wizard'
    """
    from sertl_core import RegistryError, get_registry

    origin = str(config.source_file) if config.source_file else "<config>"
    reg = get_registry()
    try:
        clf = make_classifier(config.classifier, config.classifier_params)
        check_params(clf, "[classifier] params")
        for spec in config.methods:
            where = f"[[methods]] {spec.name}"
            for name in spec.scorers:
                try:
                    reg.get("scorers", name)
                except RegistryError as exc:
                    raise ConfigError(f"{where} scorers: {exc}") from None
            if spec.auto:
                candidates = _auto_candidates(spec, config)
                for r in candidates:
                    # a candidate the cells could not build fails here, not
                    # in every cell (an error names the method it comes from)
                    r.pipeline(config.classifier, config.classifier_params)
                    speaker_ids, _, fix = _SPEAKER_IDS[command]
                    problem = speaker_adapter_problem(r, speaker_ids)
                    if problem:
                        raise ConfigError(
                            f"{where} candidates: candidate {r.name!r}: "
                            f"{problem}. {fix}"
                        )
                _check_probabilities(candidates, spec, config)
                continue
            recipe = Recipe.from_spec(spec)
            check_recipe(
                recipe,
                config.classifier,
                config.classifier_params,
                params_where=lambda step, w=where: f"{w} params {step}",
                grid_where=lambda key, w=where: f"{w} grid {key}",
                adapter_where=f"{where} adapter",
                command=command,
            )
            _check_probabilities([recipe], spec, config)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


# What each command does with speaker ids, and the fix for an adapter that
# needs them: (speaker ids, fix of an adapter, fix of an auto candidate)
_SPEAKER_IDS = {
    "sertl run": (
        "sertl run gives only to the scaling step",
        'Use scaling = "speaker" instead (a method of its own; sertl grid '
        "cannot search it).",
        'List a method with scaling = "speaker" among the candidates instead.',
    ),
    "sertl grid": (
        "sertl grid gives to no step (GridSearchCV cannot route them to some "
        "candidates only)",
        "Leave it out of the search; compare speaker normalisation with sertl "
        'run (a method with scaling = "speaker").',
        "Remove it from candidates; compare speaker normalisation with sertl "
        'run (a method with scaling = "speaker").',
    ),
}


def check_recipe(
    recipe,
    classifier,
    classifier_params,
    *,
    params_where,
    grid_where,
    adapter_where,
    command="sertl run",
):
    """Build a recipe and each value of its grid once, validating every step.

    Parameters
    ----------
    recipe : Recipe
        The method.
    classifier, classifier_params : str, dict
        Its classifier.
    params_where : callable
        ``params_where(step)`` names the field of a step's parameters in an
        error message.
    grid_where : callable
        ``grid_where(key)`` names the field of a grid entry.
    adapter_where : str
        Names the field of the recipe's adapters in an error message
        (``[[methods]] x adapter``, ``--methods x``).
    command : {"sertl run", "sertl grid"}, default="sertl run"
        The command that fits the recipe, for the refusal of an adapter
        that needs speaker ids: neither gives it any.

    Raises
    ------
    ConfigError
        An unknown registry name, parameter or invalid parameter value, or
        an adapter that needs speaker ids (a speaker normaliser), which the
        command would fit without them: the message names the field and
        what to write instead.

    Examples
    --------
    >>> from sertl_experiments import Recipe
    >>> from sertl_experiments._runner import check_recipe
    >>> recipe = Recipe("x", adapters=["speaker_normalizer"])
    >>> try:
    ...     check_recipe(recipe, "svc", {}, params_where=str, grid_where=str,
    ...                  adapter_where="--methods x", command="sertl grid")
    ... except ConfigError as err:
    ...     print(str(err).split(" (")[0])
    --methods x: 'speaker_normalizer' needs the speaker of each row
    """
    pipe = recipe.pipeline(classifier, classifier_params)
    speaker_ids, fix, _ = _SPEAKER_IDS[command]
    problem = speaker_adapter_problem(recipe, speaker_ids)
    if problem:
        raise ConfigError(f"{adapter_where}: {problem}. {fix}")
    _check_pipeline(pipe, recipe.estimator, params_where)
    for key, values in recipe.grid.items():
        for value in values:
            one = replace(recipe, grid={key: [value]})
            ((_, params, _),) = _expand([one], classifier)
            try:
                trial = clone(pipe).set_params(**params)
            except ValueError as exc:
                raise ConfigError(f"{grid_where(key)}: {exc}") from None
            except AttributeError:
                # STEP__PARAM__SUB where PARAM holds a value, not an
                # estimator: scikit-learn fails on value.set_params
                step, param = key.split("__", 1)
                head = param.split("__", 1)[0]
                raise ConfigError(
                    f"{grid_where(key)}: {head!r} of {step} is a value, not an "
                    f"estimator with parameters of its own, so {param!r} names "
                    f"nothing; write {step}__{head}."
                ) from None
            _check_pipeline(trial, recipe.estimator, lambda _, k=key: grid_where(k))


def _check_probabilities(recipes, spec, config):
    """Refuse a recipe that a probability scorer of ``spec`` cannot score.

    The label-free scorers that need ``predict_proba`` (prediction entropy,
    DEV) get a calibrated classifier, but a step may still give no
    probabilities (a hard :class:`~sertl_experiments.TransferVote`); the
    run would stop at the first cell otherwise, after the features were
    extracted.
    """
    need = [s for s in spec.scorers if needs_proba([s])]
    if not need or config.protocol.target == "few_shot":
        return
    for recipe in recipes:
        pipe = recipe.pipeline(
            config.classifier, config.classifier_params, probability=True
        )
        for _, params, grid_params in _expand([recipe], config.classifier, True):
            try:
                clone(pipe).set_params(**params).predict_proba  # noqa: B018
            except AttributeError as exc:
                why: BaseException = exc
                while why.__cause__ is not None:  # the step's own reason
                    why = why.__cause__
                at = f" at grid point {grid_params}" if grid_params else ""
                raise ConfigError(
                    f"[[methods]] {spec.name} scorers: {need[0]} needs class "
                    f"probabilities, but {recipe.name}{at} has no predict_proba "
                    f"({str(why).rstrip('.')}); use scorers that need none "
                    "(reverse_validation, importance_weighted)."
                ) from None


def _check_pipeline(pipe, estimator_name, where):
    """Validate every step of a recipe's Pipeline; ``where(step)`` names the field."""
    names = [step for step, _ in pipe.steps[:-1]] + [estimator_name]
    for name, (_, est) in zip(names, pipe.steps, strict=True):
        _refuse_estimator_names(est, where(name))
    for step, est in pipe.steps[:-1]:
        check_params(est, where(step))
    model = pipe.steps[-1][1]
    check_params(model, where(estimator_name))
    inner = model.get_params(deep=False).get("estimator")
    if inner is not None:
        check_params(inner, where("classifier"))


def _refuse_estimator_names(est, where):
    """Refuse a string where a step takes a scikit-learn estimator.

    An experiment file can only give such a parameter (``estimator``,
    ``source_estimator``, ...) as text, e.g. ``kmm = { estimator = "svc" }``:
    the step would get the string and every cell fail at its fit (KMM:
    "'str' object has no attribute '__sklearn_tags__'"), after the features
    were extracted. The classifier is set by ``[classifier]``.
    """
    if not hasattr(est, "get_params"):
        return
    for key, value in est.get_params(deep=False).items():
        if (key == "estimator" or key.endswith("_estimator")) and isinstance(
            value, str
        ):
            raise ConfigError(
                f"{where}: {key} = {value!r} is a string, but {type(est).__name__}'s "
                f"{key} takes a scikit-learn estimator, which an experiment file "
                "cannot write; leave it out: the classifier every method trains "
                'is set by [classifier] (name = "svc", "logreg", ... and params).'
            )


def _auto_candidates(spec, config):
    """Return the recipes that an auto method chooses among.

    A candidate named after one of this experiment's own (non-auto)
    methods is exactly that method, with its scaling, adapters, estimator,
    parameters, grid and classifier settings; this holds for the listed
    ``candidates`` and for the installed defaults
    (:func:`~sertl_experiments.default_candidates`) when none are listed.
    Other names are the installed defaults (``no_adaptation``, ``dss``,
    ``dss+coral`` ...), then installed adapters (after per-domain
    standardisation) and transfer estimators. No adaptation is always
    included: when no candidate leaves the features unadapted, the
    experiment's own ``no_adaptation`` method or the default one is added.

    Raises
    ------
    ConfigError
        An unknown candidate name, or a method named ``no_adaptation``
        that adapts while auto needs that name for its no-adaptation
        candidate (the report reads auto's choice of ``no_adaptation`` as
        "adaptation predicted to hurt").
    """
    where = f"[[methods]] {spec.name} candidates"
    # parse_config refuses a candidate that is itself an auto method
    own = {m.name: Recipe.from_spec(m) for m in config.methods if not m.auto}
    defaults = {r.name: r for r in default_candidates()}
    if spec.candidates is None:
        # the installed methods; the experiment's definition of a name wins
        out = [own.get(name, r) for name, r in defaults.items()]
    else:
        out = []
        for c in spec.candidates:
            if c in own:
                out.append(own[c])
            elif c in defaults:
                out.append(defaults[c])
            else:
                # a registered name is never a step's (the registry refuses it)
                adapter = _is_adapter(c, spec.name)
                out.append(
                    Recipe(c, adapters=[c]) if adapter else Recipe(c, estimator=c)
                )
    if not any(not r.is_adaptation for r in out):
        out.insert(0, own.get("no_adaptation", defaults["no_adaptation"]))
    out = [for_protocol(r, config.protocol.target) for r in out]
    for r in out:
        if r.name == "no_adaptation" and r.is_adaptation:
            clf = config.classifier
            raise ConfigError(
                f"{where}: 'no_adaptation' is both this experiment's method "
                f"no_adaptation ({r.describe(clf)}), which adapts, and the "
                "no-adaptation candidate that auto always includes "
                f"({defaults['no_adaptation'].describe(clf)}); rename the "
                'method, or give it scaling = "source" and no adapter, so '
                "that auto choosing no_adaptation means no adaptation."
            )
    return out


def _is_adapter(name, method):
    from sertl_core import get_registry

    reg = get_registry()
    if name in reg.names("adapters"):
        return True
    if name in reg.names("estimators"):
        return False
    hint = reg.missing_hint(name)  # a plugin to install, or one that failed
    raise ConfigError(
        f"[[methods]] {method} candidates: {name!r} is neither a method of this "
        "experiment nor an installed adapter or estimator."
        + (f" {hint}" if hint else "")
    )


SPEAKER_MODEL_NOT_SAVED = (
    'scaling = "speaker" standardises each speaker with that speaker\'s own '
    "statistics, and a saved model labels files without speaker ids (sertl "
    "predict would scale them with the pooled training statistics, which the "
    "classifier never saw, so its answers would not be those evaluated here). "
    'Add a method with scaling = "domain" to save a deployable model; the '
    "results of this method are unaffected."
)
"""Why a per-speaker-normalised method saves no model."""


class _ModelSaver:
    """Save a cell's fitted model as a Pipeline from audio paths (picklable).

    :meth:`why_not` says why a recipe cannot give a file-only model (None
    when it can); calling the saver writes the model and returns its path.
    """

    def __init__(self, path, config, source, target, method):
        self.path, self.config = path, config
        self.source, self.target, self.method = source, target, method

    def why_not(self, recipe):
        """Why no model is saved for ``recipe`` (None: it is saved)."""
        if recipe.scaling != "speaker":
            return None
        chose = ""
        if recipe.name != self.method:  # an auto method chose it
            chose = f"{self.method} chose {recipe.name}, whose "
        return f"not saved: {chose}{SPEAKER_MODEL_NOT_SAVED}"

    def __call__(self, model, recipe, labels, *, seed=None, check=None):
        """Save ``model`` with the features step in front; return the path.

        ``check`` (``calibrated``, ``model_uar``, ``model_agreement``: see
        :func:`_saved_model_check`) joins the model's metadata, so that the
        file itself says how it relates to the reported results.
        """
        from sklearn.pipeline import Pipeline

        from ._data import make_feature_step
        from ._persist import save_model

        # raises on files without features, naming them (see make_feature_step)
        feats = make_feature_step(self.config.features, progress=False, errors="raise")
        full = Pipeline([("features", feats), *model.steps])
        save_model(
            full,
            self.path,
            metadata={
                "classes": list(labels),
                "source": self.source,
                "target": self.target,
                "method": self.method,
                "recipe": recipe.describe(self.config.classifier),
                "feature_set": self.config.features.set,
                "seed": seed,
                **_check_metadata(check),
            },
        )
        return str(self.path)


def _check_metadata(check):
    """Return the saved model's metadata on how it relates to the scored model."""
    if not check:
        return {}
    out = {
        "calibrated_refit": bool(check["calibrated"]),
        "test_uar": check["model_uar"],
        "agreement_with_scored_model": check["model_agreement"],
    }
    out["note"] = (
        "a probability-calibrated refit (3-fold sigmoid CalibratedClassifierCV) "
        "of the model whose results the run reports; its labels can differ "
        "from that model's: test_uar is its UAR and agreement_with_scored_model "
        "the share of the test rows it labels as that model does"
        if check["calibrated"]
        else "the model whose results the run reports; test_uar is its UAR on "
        "the test rows"
    )
    return out


def _write_cell(path, cell):
    _replace_file(path, json.dumps(cell, default=_json_default).encode())


def _replace_file(path, data):
    """Write ``data`` (bytes) to ``path`` whole (see ``_persist._write_whole``)."""
    _write_whole(path, lambda fh: fh.write(data))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# A Dask cluster is asked this often (seconds) whether it still has workers
# while no cell finishes, and may have none (or lose its scheduler) this
# long before the run stops: cells are never waited for forever.
_DASK_CHECK_S = 2.0
_DASK_NO_WORKERS_S = 120.0


def _execute(tasks, *, client, progress, n_jobs, log):
    from tqdm.auto import tqdm

    done = []
    bar = tqdm(total=len(tasks), desc="cells", disable=not progress or not tasks)
    log = _above_bar(bar, log)
    try:
        if client is not None:
            _execute_dask(
                tasks,
                client,
                lambda i, cell: _finish(tasks[i][0], cell, done, bar, log),
                n_done=lambda: len(done),
            )
        elif n_jobs not in (None, 1):
            _execute_loky(
                tasks,
                n_jobs,
                lambda i, cell: _finish(tasks[i][0], cell, done, bar, log),
            )
        else:
            for f, t in tasks:
                _finish(f, run_cell(t), done, bar, log)
    finally:
        bar.close()
    return done


def _above_bar(bar, log):
    """Return ``log``, its lines printed above ``bar`` while the bar is drawn.

    A line written to the terminal while a progress bar is drawn there
    (``cell X failed: ...``) would continue the bar's line, and the bar's
    next redraw would overwrite it in part. tqdm's ``external_write_mode``
    clears the bars on the same terminal (stderr or stdout), the line is
    written, and the bars are drawn again below it, as ``tqdm.write`` does
    for its own lines.

    Parameters
    ----------
    bar : tqdm.tqdm
        The progress bar (a disabled one: ``log`` is returned as it is).
    log : callable
        Receives one line of text at a time.

    Returns
    -------
    log : callable
    """
    if bar.disable:
        return log

    def above(msg):
        with type(bar).external_write_mode(file=bar.fp):
            log(msg)

    return above


def _run_indexed(i, task):
    return i, run_cell(task)


def _execute_loky(tasks, n_jobs, finish):
    """Run the cells in joblib worker processes; ``finish(i, cell)`` gets each.

    A worker that dies (out of memory, killed, a crash in compiled code)
    ends joblib's whole call without saying which cell took it down. The
    cells then running are among the first ``2 * n_jobs`` not finished (at
    most ``n_jobs`` are dispatched at a time, in order): each of those is run
    again alone, in a worker of its own, and one that takes that worker down
    too is a failed cell like any other (as on Dask); the others go on in
    parallel.
    """
    from joblib import Parallel, delayed, effective_n_jobs, parallel_config
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    left = list(range(len(tasks)))
    if n_jobs > len(tasks):
        # no more workers than cells: a larger --jobs starts processes that
        # get nothing to do (and loky cannot size a pool past a C int)
        n_jobs = max(len(tasks), 2)

    def run(indices, n):
        with parallel_config(backend="loky", n_jobs=n):
            gen = Parallel(
                return_as="generator_unordered", batch_size=1, pre_dispatch="n_jobs"
            )(delayed(_run_indexed)(i, tasks[i][1]) for i in indices)
            for i, cell in gen:
                left.remove(i)
                finish(i, cell)

    n = effective_n_jobs(n_jobs)
    while left:
        try:
            run(list(left), n_jobs)
        except TerminatedWorkerError:
            for i in left[: 2 * n]:
                try:
                    run([i], 2)  # in a worker (n_jobs=1 would run it here)
                except TerminatedWorkerError as exc:
                    left.remove(i)
                    finish(i, _task_failed(tasks[i][1], exc))


def _execute_dask(tasks, client, finish, *, n_done):
    """Run the cells as Dask tasks; ``finish(i, cell)`` gets each as it ends.

    A task that fails (its worker died: ``KilledWorker``; or any error that
    :func:`run_cell` does not record itself) is a failed cell like any
    other, and the other cells go on. A cluster left without workers, or a
    scheduler that is gone, for ``_DASK_NO_WORKERS_S`` seconds stops the
    run with an :class:`ExperimentError`; the cells finished are kept.
    """
    from uuid import uuid4

    from distributed import as_completed

    futures, pending, queue = {}, set(), list(range(len(tasks)))[::-1]
    ac = as_completed()

    def submit(limit):
        # as many cells as worker threads (see _dask_slots): each task
        # carries its pair's data, held by the scheduler until it runs
        while queue and len(pending) < limit:
            i = queue.pop()
            key = f"sertl-cell-{tasks[i][0].stem}-{uuid4().hex[:8]}"
            fut = client.submit(run_cell, tasks[i][1], key=key, pure=False)
            futures[fut] = i
            pending.add(fut)
            ac.add(fut)

    limit = _dask_slots(client)
    submit(limit)
    last_change = last_check = time.monotonic()
    try:
        while pending:
            batch = ac.next_batch(block=False)
            for fut in batch:
                i = futures[fut]
                try:
                    cell = fut.result()
                except Exception as exc:  # recorded as the cell's error
                    if fut.cancelled() and client.status != "running":
                        # the scheduler is gone, and every task with it
                        raise _stopped(
                            _cluster_problem(client),
                            len(pending) + len(queue),
                            tasks,
                            n_done(),
                            client,
                        ) from None
                    cell = _task_failed(tasks[i][1], exc)
                # released: a finished cell is not computed again when the
                # worker that holds its result dies
                pending.discard(fut)
                del futures[fut]
                finish(i, cell)
            now = time.monotonic()
            if batch:
                submit(limit)
                last_change = now
                continue
            if now - last_check < _DASK_CHECK_S:
                time.sleep(0.02)
                continue
            last_check = now
            problem = _cluster_problem(client)
            if problem is None:
                last_change = now
                limit = _dask_slots(client)  # workers may have come or gone
                submit(limit)  # those that came take cells now, not later
            elif now - last_change >= _DASK_NO_WORKERS_S or client.status == "closed":
                raise _stopped(
                    problem, len(pending) + len(queue), tasks, n_done(), client
                )
    finally:
        if pending and client.status == "running":
            client.cancel(list(pending))  # an interrupt, or the error above


def _dask_slots(client):
    """How many cells to keep submitted: one per worker thread.

    A worker holds no queued cell, so a worker that dies fails its own cell
    only (with ``distributed.scheduler.allowed-failures`` at 0, the cells
    queued on it would fail too), and the scheduler holds no more task data
    than the workers take.
    """
    try:
        threads = sum(client.nthreads().values())
    except (OSError, TimeoutError):
        threads = 1
    return max(1, threads)


def _cluster_problem(client):
    """Why no cell can finish on ``client``'s cluster, or None."""
    address = getattr(client.scheduler, "address", None) or "?"
    if client.status != "running":
        return f"the connection to the Dask scheduler at {address} is lost"
    try:
        n = len(client.nthreads())
    except (OSError, TimeoutError) as exc:
        return f"the Dask scheduler at {address} does not answer ({exc})"
    if n == 0:
        return (
            f"the Dask cluster at {address} has had no workers for "
            f"{_DASK_NO_WORKERS_S:g} s"
        )
    return None


def _stopped(problem, n_left, tasks, n_done, client):
    """Build the error that stops a run whose Dask cluster cannot finish cells."""
    if getattr(client, "cluster", None) is not None:  # --workers: ours
        hint = "rerun the command to resume (without --fresh, which deletes them)."
    elif client.status != "running":
        hint = (
            "start the scheduler and its workers again and rerun the command "
            "to resume (without --fresh, which deletes them)."
        )
    else:
        address = getattr(client.scheduler, "address", None) or "ADDRESS"
        hint = (
            f"start workers (`dask worker {address}`) and rerun the command to "
            "resume (without --fresh, which deletes them)."
        )
    return ExperimentError(
        f"{problem}, with {n_left} of {len(tasks)} cells left to compute; the "
        f"{n_done} cells finished in this run are kept in {tasks[0][0].parent}: "
        f"{hint}"
    )


def _task_failed(task, exc):
    """Build the failed cell of a Dask task that raised ``exc``."""
    cell = _cell_header(task)
    cell["status"] = "error"
    what = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "KilledWorker":
        worker = getattr(getattr(exc, "last_worker", None), "address", None)
        where = f" ({worker})" if worker else ""
        tries = getattr(exc, "allowed_failures", 0) + 1
        what = (
            f"KilledWorker: the Dask worker computing it{where} died, out of "
            f"memory, killed or crashed ({tries} worker(s) tried it; its log may "
            "say why: https://distributed.dask.org/en/stable/killed.html)"
        )
    cell["error"] = what
    cell["traceback"] = "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6)
    )
    cell["seconds"] = None
    return cell


def _finish(path, cell, done, bar, log):
    _write_cell(path, cell)
    done.append(cell)
    bar.update(1)
    if cell["status"] != "ok":
        log(f"cell {path.stem} failed: {cell['error']}")
    short = {
        c: n for c, n in (cell.get("k_used") or {}).items() if n < cell.get("k", n)
    }
    if short:
        log(
            f"cell {path.stem}: fewer labelled target rows than k = {cell['k']} "
            f"for {short} (all the non-test speakers have)"
        )
    for name, reason in sorted((cell.get("candidate_errors") or {}).items()):
        log(f"cell {path.stem}: candidate {name} could not be scored ({reason})")
