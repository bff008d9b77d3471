"""`sertl run` with pooled sources: leave one corpus out."""

import json

import numpy as np
import pandas as pd
from sertl_experiments import parse_config
from sertl_experiments._data import CorpusData
from sertl_experiments._runner import run_experiment


def _quiet(*_):
    pass


def _corpus(name, shift, labels=("anger", "neutral", "sadness"), n=60):
    rng = np.random.default_rng(len(name) + int(10 * shift))
    k = np.arange(n) % len(labels)
    X = rng.normal(size=(n, 4))
    X[:, 0] += 1.5 * k  # the classes apart
    X = X * (1 + shift) + 3 * shift
    spk = np.array([f"{name}:{i % 4}" for i in range(n)])
    files = np.array([f"{name}_{i}.wav" for i in range(n)])
    return CorpusData(name, X, np.asarray(labels)[k], spk, files)


def _three():
    return {n: _corpus(n, s) for n, s in (("a", 0.0), ("b", 1.0), ("c", 2.0))}


def _config(tmp_path, sources, **over):
    raw = {
        "output": str(tmp_path / "out"),
        "corpora": {n: {"root": "unused"} for n in "abc"},
        "matrix": {"sources": sources},
        "protocol": {"bootstrap": 0},
        "methods": [{"name": "dss"}],
    }
    raw.update(over)
    return parse_config(raw)


def test_leave_one_corpus_out_runs_names_its_pools_and_resumes(tmp_path):
    cfg = _config(tmp_path, "leave_one_out")
    data = _three()
    res = run_experiment(cfg, data=data, progress=False, log=_quiet)
    df = pd.read_csv(cfg.output / "results.csv")
    # each corpus the target of every other pooled, named as a pool is
    assert sorted(zip(df["source"], df["target"], strict=True)) == [
        ("a+b", "c"),
        ("a+c", "b"),
        ("b+c", "a"),
    ]
    assert set(df["status"]) == {"ok"}
    # a pool trains on both of its corpora
    assert set(df["n_train"]) == {120}
    md = (cfg.output / "results.md").read_text()
    assert "b+c" in md and "a+c" in md and "a+b" in md
    # 3 pairs x (dss + the guard's baseline)
    assert (res.n_computed, res.n_reused) == (6, 0)

    # interrupted: a lost cell is the only one computed again
    cell = cfg.output / "cells" / "a+c__b__dss__seed0.json"
    before = json.loads(cell.read_text())
    cell.unlink()
    res = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (1, 5)
    assert json.loads(cell.read_text())["uar"] == before["uar"]

    # the same pools listed by hand are the same cells
    by_hand = _config(tmp_path, [["b", "c"], ["a", "c"], ["a", "b"]])
    res = run_experiment(by_hand, data=data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (0, 6)
