"""The experiment matrix: sources x targets x methods x seeds, resumable."""

from __future__ import annotations

import hashlib
import json
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.decomposition import PCA

from ._config import ConfigError, check_params
from ._data import CorpusData, ExperimentError, extract_features, load_corpus_table
from ._discrepancy import mmd_rbf, proxy_a_distance
from ._metrics import bootstrap_ci, confusion, score_all
from ._recipes import Recipe, default_candidates, make_classifier, transform_rows
from ._selection import _expand, evaluate, needs_proba

__all__ = ["RunResult", "run_experiment"]

BASELINE = "_baseline"


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
        Cells read back from an earlier run with the same configuration.
    skipped_files : list of dict
        Files that gave no features: ``corpus``, ``file`` and ``reason``.

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


def _uses_speaker(recipe):
    return recipe.scaling == "speaker"


def _routed(recipe, sample_domain, speakers):
    params = {"sample_domain": np.asarray(sample_domain)}
    if _uses_speaker(recipe):
        params["speaker"] = np.asarray(speakers)
    return params


def _split(task, rng):
    """Build training rows and test rows of one cell."""
    Xs, ys, ss, ds = [], [], [], []
    for i, src in enumerate(task["sources"]):
        Xs.append(src.X)
        ys.append(src.y.astype(str))
        ss.append(src.speakers)
        ds.append(np.full(src.X.shape[0], i + 1, dtype=np.int64))
    tgt = task["target"]
    Xt, yt, st = tgt.X, tgt.y.astype(str), tgt.speakers
    n_t = Xt.shape[0]
    y_train_t = np.full(n_t, "-1", dtype=object)
    test = np.ones(n_t, dtype=bool)
    prot = task["protocol"]
    shots = {}  # labelled target rows per class (few-shot)
    if prot["target"] == "few_shot":
        spk = np.unique(st)
        if spk.size < 2:
            raise ExperimentError(
                f"target {tgt.name!r} has {spk.size} speaker(s): few_shot needs at "
                "least "
                "two (labelled rows come from speakers held out of the test set)."
            )
        perm = rng.permutation(spk)
        n_test = int(
            np.clip(round(prot["test_speaker_fraction"] * spk.size), 1, spk.size - 1)
        )
        test_spk = set(perm[:n_test])
        test = np.array([s in test_spk for s in st])
        for c in task["classes"]:
            pool = np.flatnonzero((~test) & (yt == c))
            take = rng.choice(pool, size=min(prot["k"], pool.size), replace=False)
            y_train_t[take] = c
            shots[str(c)] = int(take.size)
    X = np.vstack(Xs + [Xt])
    y = np.concatenate([np.concatenate(ys).astype(object), y_train_t]).astype(str)
    sd = np.concatenate(ds + [np.full(n_t, -1, dtype=np.int64)])
    spk_all = np.concatenate([np.concatenate(ss), st]).astype(str)
    return X, y, sd, spk_all, test, yt, shots


def _fit(recipe, X, y, sd, spk, task, seed, *, probability=False, params=None):
    pipe = recipe.pipeline(
        task["classifier"],
        task["classifier_params"],
        probability=probability,
        random_state=seed,
    )
    if params:
        pipe.set_params(**params)
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    P = PCA(n_components=2, random_state=seed).fit_transform(Z[idx])
    return {"xy": np.round(P, 4).tolist(), "source": (sd[idx] > 0).tolist()}


def run_cell(task):
    """Compute one cell (pair, method, seed); returns a JSON-ready dict."""
    started = time.perf_counter()
    recipe, seed, prot = task["recipe"], task["seed"], task["protocol"]
    cell = {
        "source": task["source_name"],
        "target": task["target"].name,
        "method": task["method"],
        "seed": seed,
        "classes": list(task["classes"]),
        "protocol": prot["target"],
        "key": task["key"],
    }
    try:
        rng = np.random.default_rng(seed)
        X, y, sd, spk, test, yt, shots = _split(task, rng)
        if shots:
            cell["k"], cell["k_used"] = int(prot["k"]), shots
        few = prot["target"] == "few_shot"
        scorers = task["scorers"]
        prob = bool(task["probability"]) or (needs_proba(scorers) and not few)
        kw = {
            "scorers": scorers,
            "few_shot": few,
            "classifier": task["classifier"],
            "classifier_params": task["classifier_params"],
            "random_state": seed,
            "probability": prob,
            "n_splits": prot.get("selection_splits", 3),
        }
        first = "target" if few else scorers[0]
        cell["scorer"] = first
        if task["auto"] is not None or recipe.grid:
            cands = task["auto"] if task["auto"] is not None else [recipe]
            results, best = evaluate(cands, X, y, sd, spk, **kw)
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
            # named as the config's grid names them (classifier__C, ...)
            cell["best_params"] = {k: repr(v) for k, v in chosen["grid_params"].items()}
        else:
            recipe_used, grid_params = recipe, {}
            model = _fit(recipe, X, y, sd, spk, task, seed)
            if task["guard"]:
                results, _ = evaluate([recipe], X, y, sd, spk, **kw)
                cell["label_free_score"] = results[0]["scores"][first]
                cell["label_free_scores"] = results[0]["scores"]
        n_src = int(np.sum(sd > 0))
        Xte, yte = task["target"].X[test], yt[test]
        pred = _predict(model, recipe_used, Xte, spk[n_src:][test])
        labels = list(task["classes"])
        cell.update(score_all(yte, pred, labels))
        ci = bootstrap_ci(
            yte,
            pred,
            labels,
            n_boot=prot["bootstrap"],
            confidence=prot["confidence"],
            random_state=seed,
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
        cell["n_train"], cell["n_test"] = int(np.sum(~is_unl(y))), int(test.sum())
        Z = _view(model, X, sd, spk, recipe_used)
        disc = _discrepancy(Z, sd, seed)
        cell["mmd_after"], cell["pad_after"] = disc["mmd"], disc["pad"]
        if task["pca"]:
            cell["pca_after"] = _pca(Z, sd, task["pca_points"], seed)
        if task["method"] == BASELINE:
            cell["pca_before"] = cell.get("pca_after")
        cell["status"] = "ok"
        if task["save_model"] is not None:
            saved = model
            if task["probability"]:  # a deployable model with probabilities
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
            cell["model"] = task["save_model"](saved, recipe_used, labels)
    except (
        ExperimentError,
        ConfigError,
        ValueError,
        np.linalg.LinAlgError,
        RuntimeError,
        TypeError,
        ArithmeticError,
    ) as exc:
        cell["status"] = "error"
        cell["error"] = f"{type(exc).__name__}: {exc}"
        cell["traceback"] = traceback.format_exc(limit=6)
    cell["seconds"] = round(time.perf_counter() - started, 3)
    return cell


def is_unl(y):
    """Mask of the unlabelled marker in string labels."""
    return np.asarray(y).astype(str) == "-1"


def _fingerprint(corpora):
    """Hash of the rows, labels and speakers a pair's cells read."""
    h = hashlib.blake2b(digest_size=8)
    for c in corpora:
        h.update(np.ascontiguousarray(c.X, dtype=np.float64).tobytes())
        h.update("|".join(map(str, c.y)).encode())
        h.update("|".join(map(str, c.speakers)).encode())
    return h.hexdigest()


def _cell_key(config, method_spec, pair, seed, classes, *, data=None, candidates=None):
    blob = json.dumps(
        {
            # the pair's data itself (files added, fixed or re-read)
            "data": data,
            # what an auto method chooses among (its candidates' own settings)
            "candidates": None if candidates is None else [repr(r) for r in candidates],
            "method": asdict(method_spec) if method_spec is not None else BASELINE,
            "protocol": asdict(config.protocol),
            "classes": list(classes),
            "features": [config.features.set, config.features.params],
            "classifier": [config.classifier, config.classifier_params],
            "pair": [list(pair[0]), pair[1]],
            # what the pair's rows and labels are read from
            "corpora": [
                [config.corpora[c].reader, str(config.corpora[c].root)]
                for c in (*pair[0], pair[1])
            ],
            "mapping": config.mapping,
            "seed": seed,
            "save": config.save_models,
            "version": 3,
            "scorers": sorted({sc for m in config.methods for sc in m.scorers}),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _cell_file(cells_dir, pair, method, seed):
    src = "+".join(pair[0])
    return cells_dir / f"{src}__{pair[1]}__{method}__seed{seed}.json"


def _prepare_data(config, *, client, progress, log):
    """Read every corpus in the matrix and extract its features once."""
    used = sorted({c for s in config.sources for c in s} | set(config.targets))
    wanted = config.classes if isinstance(config.classes, list) else None
    tables, skipped = {}, []
    for name in used:
        table = load_corpus_table(config.corpora[name])
        if config.mapping:
            table["emotion"] = table["emotion"].replace(config.mapping)
        if wanted is not None:
            table = table[table["emotion"].isin(wanted)].reset_index(drop=True)
        if table.empty:
            raise ExperimentError(
                f"[corpora.{name}]: no utterances of the classes "
                f"{wanted or 'requested'} were found."
            )
        tables[name] = table
    if config.classes == "shared":
        shared = set.intersection(*(set(t["emotion"]) for t in tables.values()))
        if len(shared) < 2:
            raise ExperimentError(
                "[labels] classes: the corpora share fewer than two emotions "
                f"({sorted(shared)}); list classes explicitly or add a mapping."
            )
        tables = {
            n: t[t["emotion"].isin(shared)].reset_index(drop=True)
            for n, t in tables.items()
        }
    data = {}
    for name, table in tables.items():
        log(f"features: {name} ({len(table)} files, set {config.features.set!r})")
        X, failed = extract_features(
            list(table["file"]), config.features, client=client, progress=progress
        )
        ok = np.all(np.isfinite(X), axis=1)
        for f, why in failed:
            skipped.append({"corpus": name, "file": f, "reason": why})
            log(f"  skipped {f}: {why}")
        t = table[ok]
        if len(t) == 0:
            raise ExperimentError(f"[corpora.{name}]: no file gave features.")
        data[name] = CorpusData(
            name,
            X[ok],
            t["emotion"].to_numpy().astype(str),
            (name + ":" + t["speaker"].astype(str)).to_numpy(),
            t["file"].to_numpy().astype(str),
        )
    return data, skipped


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
    ``OUTPUT/cells/`` at once; a rerun reuses cells whose configuration is
    unchanged, so an interrupted run resumes where it stopped.

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
    n_jobs : int, default=None
        Cells run in parallel through joblib (the Dask backend when a
        client is given).

    Returns
    -------
    result : RunResult

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
    cells_dir = out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    skipped = []
    if data is None:
        data, skipped = _prepare_data(config, client=client, progress=progress, log=log)
    prot = asdict(config.protocol)
    tasks, cached, files, skipped_pairs = [], [], [], []
    for pair in config.pairs():
        srcs, tgt = pair
        classes = set(data[tgt].y)
        for s in srcs:
            classes &= set(data[s].y)
        if isinstance(config.classes, list):
            classes &= set(config.classes)
        classes = sorted(str(c) for c in classes)
        src_name = "+".join(srcs)
        if len(classes) < 2:
            log(f"skip {src_name} -> {tgt}: fewer than two shared classes {classes}")
            skipped_pairs.append(f"{src_name} -> {tgt} {classes}")
            continue
        sources = [_restrict(data[s], classes) for s in srcs]
        target = _restrict(data[tgt], classes)
        fingerprint = _fingerprint([*sources, target])
        autos = {m.name: _auto_candidates(m, config) for m in config.methods if m.auto}
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
                )
                files.append(f)
                if f.is_file():
                    try:
                        old = json.loads(f.read_text())
                        if old.get("key") == key and old.get("status") == "ok":
                            cached.append(old)
                            continue
                    except (OSError, json.JSONDecodeError):
                        pass
                if spec is None:
                    recipe, auto = Recipe(BASELINE, scaling="source"), None
                    scorers = sorted({sc for m in config.methods for sc in m.scorers})
                else:
                    recipe, scorers = Recipe.from_spec(spec), spec.scorers
                    auto = autos.get(spec.name) if spec.auto else None
                saver = None
                if config.save_models and spec is not None and first_seed:
                    saver = _ModelSaver(
                        out / "models" / f"{src_name}__{tgt}__{name}.skops",
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
                            "guard": True,
                            "key": key,
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
            "share, or map their labels onto common names with [labels] mapping."
        )
    n_base = sum(t["method"] == BASELINE for _, t in tasks) + sum(
        c.get("method") == BASELINE for c in cached
    )
    log(
        f"{len(tasks) + len(cached)} cells ({n_base} of them the no-adaptation "
        f"baseline of the negative-transfer guard): {len(cached)} reused, "
        f"{len(tasks)} to compute"
    )
    computed = _execute(tasks, client=client, progress=progress, n_jobs=n_jobs, log=log)
    cells = cached + computed
    report = write_outputs(config, cells, skipped, out)
    results = (
        pd.read_csv(out / "results.csv")
        if (out / "results.csv").is_file()
        else (pd.DataFrame())
    )
    return RunResult(out, results, report, len(computed), len(cached), skipped)


def check_methods(config):
    """Build every method once, so that a bad name or parameter stops the run.

    Registry names (scaling, adapters, estimator, scorers, ``auto``
    candidates) and step parameters cannot be checked by
    :func:`~sertl_experiments.parse_config`, which knows no plugin; without
    this check every cell of the matrix would fail on its own, after the
    features were extracted.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.

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
                _auto_candidates(spec, config)
                continue
            check_recipe(
                Recipe.from_spec(spec),
                config.classifier,
                config.classifier_params,
                params_where=lambda step, w=where: f"{w} params {step}",
                grid_where=lambda key, w=where: f"{w} grid {key}",
            )
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def check_recipe(recipe, classifier, classifier_params, *, params_where, grid_where):
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

    Raises
    ------
    ConfigError
        An unknown registry name, parameter or invalid parameter value.
    """
    pipe = recipe.pipeline(classifier, classifier_params)
    _check_pipeline(pipe, recipe.estimator, params_where)
    for key, values in recipe.grid.items():
        for value in values:
            one = replace(recipe, grid={key: [value]})
            ((_, params, _),) = _expand([one], classifier)
            try:
                trial = clone(pipe).set_params(**params)
            except ValueError as exc:
                raise ConfigError(f"{grid_where(key)}: {exc}") from None
            _check_pipeline(trial, recipe.estimator, lambda _, k=key: grid_where(k))


def _check_pipeline(pipe, estimator_name, where):
    """Validate every step of a recipe's Pipeline; ``where(step)`` names the field."""
    for step, est in pipe.steps[:-1]:
        check_params(est, where(step))
    model = pipe.steps[-1][1]
    check_params(model, where(estimator_name))
    inner = model.get_params(deep=False).get("estimator")
    if inner is not None:
        check_params(inner, where("classifier"))


def _auto_candidates(spec, config):
    own = [Recipe.from_spec(m) for m in config.methods if not m.auto]
    if spec.candidates is None:
        return default_candidates()
    pool = {r.name: r for r in default_candidates(own)}
    out = []
    for c in spec.candidates:
        if c in pool:
            out.append(pool[c])
        else:
            out.append(
                Recipe(c, adapters=[c])
                if _is_adapter(c, spec.name)
                else Recipe(c, estimator=c)
            )
    if not any(not r.is_adaptation for r in out):
        out.insert(0, pool["no_adaptation"])
    return out


def _is_adapter(name, method):
    from sertl_core import get_registry

    reg = get_registry()
    if name in reg.names("adapters"):
        return True
    if name in reg.names("estimators"):
        return False
    raise ConfigError(
        f"[[methods]] {method} candidates: {name!r} is neither a method of this "
        f"experiment nor an installed adapter or estimator."
    )


class _ModelSaver:
    """Save a cell's fitted model as a Pipeline from audio paths (picklable)."""

    def __init__(self, path, config, source, target, method):
        self.path, self.config = path, config
        self.source, self.target, self.method = source, target, method

    def __call__(self, model, recipe, labels):
        from sklearn.pipeline import Pipeline

        from ._data import make_feature_step
        from ._persist import save_model

        if recipe.scaling == "speaker":
            return None  # needs speaker ids at predict time; not a file-only model
        feats = make_feature_step(self.config.features, progress=False, errors="nan")
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
            },
        )
        return str(self.path)


def _write_cell(path, cell):
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(cell, default=_json_default))
    tmp.replace(path)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _execute(tasks, *, client, progress, n_jobs, log):
    from tqdm.auto import tqdm

    done = []
    bar = tqdm(total=len(tasks), desc="cells", disable=not progress or not tasks)
    if client is not None or (n_jobs not in (None, 1)):
        from joblib import Parallel, delayed, parallel_config

        backend = "dask" if client is not None else "loky"
        with parallel_config(backend=backend, n_jobs=n_jobs or -1):
            gen = Parallel(return_as="generator_unordered")(
                delayed(_run_indexed)(i, t) for i, (_, t) in enumerate(tasks)
            )
            for i, cell in gen:
                _finish(tasks[i][0], cell, done, bar, log)
    else:
        for f, t in tasks:
            _finish(f, run_cell(t), done, bar, log)
    bar.close()
    return done


def _run_indexed(i, task):
    return i, run_cell(task)


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
