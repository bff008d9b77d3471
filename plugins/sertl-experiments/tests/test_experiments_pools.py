"""`sertl run` with pooled sources: leave one corpus out."""

import json

import numpy as np
import pandas as pd
import pytest
from sertl_experiments import parse_config
from sertl_experiments._data import CorpusData, ExperimentError
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


def test_leave_one_out_target_holding_source_recordings_says_what_to_leave_out(
    tmp_path,
):
    # the refusal said "leave this pair out of [matrix]", but a leave_one_out
    # matrix lists no pairs: its target is what can be left out
    data = _three()
    c = data["c"]
    c.X[:5] = data["a"].X[:5]  # five recordings of a copied into c
    cfg = _config(tmp_path, "leave_one_out")
    with pytest.raises(
        ExperimentError,
        match=r"b \+ c -> a: 5 of the 60 files of a are recordings of the source"
        r'.* \(with sources = "leave_one_out", which pools every other corpus for '
        r"each target, leave a out of \[matrix\] targets\)",
    ):
        run_experiment(cfg, data=data, progress=False, log=_quiet)
    # the advice followed: a and c hold the same recordings, so both targets go
    cfg = _config(
        tmp_path, "leave_one_out", matrix={"sources": "leave_one_out", "targets": ["b"]}
    )
    run_experiment(cfg, data=data, progress=False, log=_quiet)
    df = pd.read_csv(cfg.output / "results.csv")
    assert list(zip(df["source"], df["target"], strict=True)) == [("a+c", "b")]


def _lacking_neutral():
    """``a`` and ``c`` with anger, neutral, sadness; ``b`` without neutral."""
    data = _three()
    data["b"] = _corpus("b", 1.0, labels=("anger", "sadness"))
    return data


def _by_pair(out, column):
    df = pd.read_csv(out / "results.csv")
    return dict(
        zip(zip(df["source"], df["target"], strict=True), df[column], strict=True)
    )


def test_union_pool_keeps_the_classes_the_target_shares_with_the_pool(
    tmp_path, read_results_md
):
    # a pooled source kept only the classes every corpus of the pool has:
    # a+b -> c dropped neutral, which c has and a has, because b has none
    data = _lacking_neutral()
    few_shot = {"target": "few_shot", "k": 3, "bootstrap": 0}
    labels = {"classes": "all"}
    cfg = _config(tmp_path, "leave_one_out", labels=labels, protocol=few_shot)
    res = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert res.n_computed == 6
    # the default is unchanged: every pair on anger and sadness
    assert set(_by_pair(cfg.output, "n_classes").values()) == {2}
    md = read_results_md(cfg.output / "results.md")
    assert "kept, some pooled corpora lack" not in md
    assert "| a+b | c | anger, sadness | neutral (b has none) |" in md

    lines = []
    union = _config(
        tmp_path,
        "leave_one_out",
        labels={**labels, "pool_classes": "union"},
        protocol=few_shot,
    )
    res = run_experiment(union, data=data, progress=False, log=lines.append)
    # a+c -> b keeps anger and sadness under both rules (b itself has no
    # neutral): its cells are reused; the two others gain neutral
    assert (res.n_computed, res.n_reused) == (4, 2)
    assert _by_pair(union.output, "n_classes") == {
        ("b+c", "a"): 3,
        ("a+c", "b"): 2,
        ("a+b", "c"): 3,
    }
    # neutral is learned from a's rows (b has none): 60 + 60 source rows and
    # the 3 labelled target rows of each class
    assert _by_pair(union.output, "n_train")[("a+b", "c")] == 60 + 60 + 3 * 3
    cell = json.loads((union.output / "cells" / "a+b__c__dss__seed0.json").read_text())
    assert cell["classes"] == ["anger", "neutral", "sadness"]
    assert len(cell["shot_files"]["neutral"]) == 3
    assert cell["test_class_counts"]["neutral"] > 0
    assert any(
        line.startswith(
            "a+b -> c: classes kept that some pooled corpora lack: neutral (b has none)"
        )
        for line in map(str, lines)
    ), lines
    md = read_results_md(union.output / "results.md")
    assert "| kept, some pooled corpora lack |" in md
    assert "| a+b | c | anger, neutral, sadness |  | neutral (b has none) |" in md
    # a class the target lacks is left out under either rule
    assert "| a+c | b | anger, sadness | neutral (b has none) |  |" in md


def test_grid_with_an_experiment_file_takes_its_pool_classes(
    tmp_path, monkeypatch, capsys
):
    from sertl_experiments import _runner
    from sertl_experiments._cli import main

    data = _lacking_neutral()
    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (data, []))
    exp = tmp_path / "exp.toml"
    head = (
        "".join(f'[corpora.{n}]\nroot = "unused"\n' for n in "abc")
        + '[matrix]\nsources = [["a", "b"]]\ntargets = ["c"]\n'
        + '[[methods]]\nname = "dss"\n'
    )
    found = {}
    for rule in ("intersection", "union"):
        exp.write_text(head + f'[labels]\nclasses = "all"\npool_classes = "{rule}"\n')
        assert main(["grid", str(exp), "--json"]) == 0
        captured = capsys.readouterr()
        (entry,) = json.loads(captured.out)
        found[rule] = entry["classes"]
        assert ("classes kept that some pooled corpora lack" in captured.err) == (
            rule == "union"
        )
    assert found == {
        "intersection": ["anger", "sadness"],
        "union": ["anger", "neutral", "sadness"],
    }


def test_left_out_class_names_the_corpora_that_keep_it_out():
    from sertl_experiments._runner import left_out_classes

    def cd(name, labels):
        y = np.array(labels)
        return CorpusData(name, np.zeros((len(y), 1)), y, y, y)

    data = {
        "a": cd("a", ["anger", "fear", "sadness"]),
        "b": cd("b", ["anger", "sadness"]),
        "c": cd("c", ["anger", "sadness"]),
    }
    listed, kept, pair = ["anger", "fear", "sadness"], ["anger", "sadness"], "abc"
    # every corpus of the pair needs fear under the default: b and c lack it;
    # under "union" a alone would do, so the target c keeps it out
    assert left_out_classes(listed, kept, pair, data).endswith(
        "left out: fear (b, c have none)"
    )
    assert left_out_classes(listed, kept, pair, data, union=True).endswith(
        "left out: fear (c has none)"
    )


def _disjoint_pool():
    """``a`` and ``b`` share anger only; ``c`` has the classes of both."""
    data = _three()
    data["a"] = _corpus("a", 0.0, labels=("anger", "neutral"))
    data["b"] = _corpus("b", 1.0, labels=("anger", "sadness"))
    return data


def test_a_pool_left_with_one_class_points_to_the_union(tmp_path):
    # a+b -> c keeps anger alone under "intersection"; the refusal said to
    # list classes or map labels, not that "union" keeps the three
    matrix = {"sources": [["a", "b"]], "targets": ["c"]}
    cfg = _config(tmp_path, None, matrix=matrix, labels={"classes": "all"})
    lines = []
    with pytest.raises(
        ExperimentError,
        match=r"no source/target pair shares two of the classes kept "
        r"\(a\+b -> c \['anger'\]\); .*; or set \[labels\] pool_classes = "
        r'"union": a pooled source then has the classes any of its corpora has\.$',
    ):
        run_experiment(cfg, data=_disjoint_pool(), progress=False, log=lines.append)
    assert any(
        str(line).endswith(
            'set [labels] pool_classes = "union" (a pooled source then has the '
            "classes any of its corpora has), which keeps anger, neutral, sadness"
        )
        for line in lines
    ), lines
    # the advice followed
    union = {"classes": "all", "pool_classes": "union"}
    cfg = _config(tmp_path, None, matrix=matrix, labels=union)
    run_experiment(cfg, data=_disjoint_pool(), progress=False, log=_quiet)
    assert _by_pair(cfg.output, "n_classes") == {("a+b", "c"): 3}


def test_grid_pool_left_with_one_class_points_to_the_union(
    tmp_path, monkeypatch, capsys
):
    from sertl_experiments import _runner
    from sertl_experiments._cli import main

    data = _disjoint_pool()
    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (data, []))
    exp = tmp_path / "exp.toml"
    exp.write_text(
        "".join(f'[corpora.{n}]\nroot = "unused"\n' for n in "abc")
        + '[matrix]\nsources = [["a", "b"]]\ntargets = ["c"]\n'
        + '[labels]\nclasses = "all"\n[[methods]]\nname = "dss"\n'
    )
    assert main(["grid", str(exp), "--json"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (
        "a+b -> c: the corpora share fewer than two of the classes kept (['anger']); "
        'check [labels] classes, or set [labels] pool_classes = "union" (a pooled '
        "source then has the classes any of its corpora has), which keeps anger, "
        "neutral, sadness." in " ".join(err.split())
    ), err


def test_grid_save_with_leave_one_out_says_how_to_keep_one_pair(
    tmp_path, monkeypatch, capsys
):
    # --save needs one pair; a leave_one_out file has one per target, and
    # the refusal said how many, not how to keep one
    from sertl_experiments import _runner
    from sertl_experiments._cli import main

    data = _three()
    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (data, []))
    exp = tmp_path / "exp.toml"
    head = "".join(f'[corpora.{n}]\nroot = "unused"\n' for n in "abc")
    tail = '[protocol]\nselection_splits = 2\n[[methods]]\nname = "dss"\n'
    exp.write_text(head + '[matrix]\nsources = "leave_one_out"\n' + tail)
    model = tmp_path / "model.skops"
    assert main(["grid", str(exp), "--json", "--save", str(model)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert (
        "the search has 3 pair(s) and seeds [0]; keep one source (a corpus or a "
        "pool) and one target in the experiment file's [matrix], e.g. sources = "
        '[["b", "c"]], targets = ["a"] (with sources = "leave_one_out": targets = '
        '["a"]).' in err
    ), err
    # the advice followed
    exp.write_text(
        head + '[matrix]\nsources = "leave_one_out"\ntargets = ["a"]\n' + tail
    )
    assert main(["grid", str(exp), "--json", "--save", str(model)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["source"], entry["target"], entry["saved"]) == (
        "b+c",
        "a",
        str(model),
    )
    assert model.is_file()


def test_a_pool_member_without_rows_in_the_pair_is_named_as_such(
    tmp_path, read_results_md
):
    # b holds none of the listed classes: a+b -> c ran as a -> c, but the log
    # and the report only said "anger (b has none); neutral (b has none)"
    data = _three()
    data["b"] = _corpus("b", 1.0, labels=("sadness", "happiness"))
    matrix = {"sources": [["a", "b"]], "targets": ["c"]}
    labels = {"classes": ["anger", "neutral"], "pool_classes": "union"}
    cfg = _config(tmp_path, None, matrix=matrix, labels=labels)
    lines = []
    run_experiment(cfg, data=data, progress=False, log=lines.append)
    said = "b adds no rows to this pair (none of anger, neutral): it runs as a -> c"
    assert any(
        str(line).startswith("a+b -> c: ") and said in str(line) for line in lines
    ), lines
    assert not any("(b has none)" in str(line) for line in lines), lines
    # a's rows alone were trained on
    assert _by_pair(cfg.output, "n_train") == {("a+b", "c"): 40}
    md = read_results_md(cfg.output / "results.md")
    assert f"| a+b | c | anger, neutral |  | {said} |" in md
