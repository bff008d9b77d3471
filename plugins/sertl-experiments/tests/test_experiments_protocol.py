"""What a few-shot cell trains and tests on, and how the report states it."""

import html
import importlib.util
import json
import re

import numpy as np
import pandas as pd
import pytest
from sertl_experiments import (
    ConfigError,
    CorpusData,
    ExperimentError,
    _runner,
    parse_config,
    run_experiment,
)
from sertl_experiments._metrics import (
    bootstrap_ci,
    bootstrap_mean_ci,
)
from sertl_experiments._runner import (
    _cell_key,
    _split,
    draw_test_speakers,
    n_test_speakers,
)


def _quiet(*_):
    pass


def _corpus(name, shift, rng, n_speakers, n=90):
    y = np.array(["anger", "neutral", "sadness"])[np.arange(n) % 3]
    centre = {"anger": 1.5, "neutral": 0.0, "sadness": -1.5}
    X = rng.normal(size=(n, 6))
    X[:, 0] += [centre[v] for v in y]
    X = X * (1 + shift) + 3 * shift
    # three consecutive rows (one of each class) per speaker in turn
    spk = np.array([f"{name}:{(i // 3) % n_speakers}" for i in range(n)])
    return CorpusData(name, X, y, spk, np.array([f"{name}_{i}.wav" for i in range(n)]))


def _data(n_speakers=6):
    rng = np.random.default_rng(0)
    return {
        "a": _corpus("a", 0.0, rng, n_speakers),
        "b": _corpus("b", 1.0, rng, n_speakers),
    }


def _config(tmp_path, methods, name="out", **protocol):
    return parse_config(
        {
            "name": "protocol",
            "output": str(tmp_path / name),
            "corpora": {"a": {"root": "unused"}, "b": {"root": "unused"}},
            "protocol": {"bootstrap": 0, **protocol},
            "methods": methods,
        }
    )


_FEW = {"target": "few_shot", "k": 3}
_OPT_OUT = {"source_only": {"use_target_labels": False}}


def _cells(cfg):
    return [json.loads(f.read_text()) for f in sorted((cfg.output / "cells").iterdir())]


def _md_table(md, title_start):
    """The rows (dicts of text) of the results.md table under a ## heading."""
    part = md.split(f"\n## {title_start}", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return head, rows


def _html_table(page, tid):
    """Header and rows (cell text) of one of report.html's tables."""
    body = re.split(rf"id=[\"']tab-{tid}[\"']", page, maxsplit=1)[1]
    body = body.split("</table>", 1)[0]
    cells = [
        [html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]
    return cells[0], cells[1:]


# -- 1. what a few-shot method trains on --------------------------------------


def test_few_shot_default_estimator_learns_from_the_labelled_target_rows(
    tmp_path, read_results_md
):
    # the default SourceOnly never saw the k labelled target rows, yet the
    # results counted them among its "labelled train rows"
    cfg = _config(
        tmp_path,
        [
            {"name": "src", "scaling": "source", "params": _OPT_OUT},
            {"name": "src_tgt", "scaling": "source"},
        ],
        **_FEW,
    )
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    df = res.results.set_index(["source", "target", "method"])
    assert (df.xs("src", level="method")["n_train"] == 90).all()
    assert (df.xs("src_tgt", level="method")["n_train"] == 90 + 3 * 3).all()
    assert (df["n_target_labelled"] == 9).all()
    assert df.xs("src", level="method")["target_labels_used"].eq(False).all()
    assert df.xs("src_tgt", level="method")["target_labels_used"].eq(True).all()
    # the default model really is another model: it predicts otherwise
    cells = {(c["target"], c["method"]): c for c in _cells(cfg)}
    assert any(
        cells[(t, "src")]["y_pred"] != cells[(t, "src_tgt")]["y_pred"]
        for t in ("a", "b")
    )
    md = read_results_md(cfg.output / "results.md")
    head, rows = _md_table(md, "Per pair")
    trained = {
        r[2]: (
            r[head.index("labelled train rows")],
            r[head.index("of them labelled target rows")],
        )
        for r in rows
    }
    assert trained == {"src": ("90", "0"), "src_tgt": ("99", "9")}
    page = res.report.read_text()
    assert "source_only(svc, use_target_labels=False)" in page
    assert "source_only(svc, use_target_labels=True)" in page


def test_cells_of_the_old_few_shot_default_are_not_reused(tmp_path, monkeypatch):
    data, methods = _data(), [{"name": "dss"}]
    cfg = _config(tmp_path, methods, **_FEW)
    # the previous default: source_only on the source rows only
    monkeypatch.setattr(_runner, "for_protocol", lambda recipe, target: recipe)
    old = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert (old.results["n_train"] == 90).all()
    monkeypatch.undo()
    new = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert (new.n_computed, new.n_reused) == (4, 0)
    assert (new.results["n_train"] == 99).all()
    assert new.results["target_labels_used"].all()
    again = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert (again.n_computed, again.n_reused) == (0, 4)


def test_cell_keys_change_for_few_shot_cells_only():
    # the keys of the release before this change (the same arguments, no
    # versions): its unlabelled cells are reused, its few-shot cells (other
    # default estimator, other split) are not
    def key(protocol, baseline=False):
        cfg = parse_config(
            {
                "corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
                "protocol": protocol,
                "methods": [{"name": "dss"}],
            }
        )
        spec = None if baseline else cfg.methods[0]
        return _cell_key(cfg, spec, (("a",), "b"), 0, ["anger", "sadness"], data="fp")

    assert key({"bootstrap": 100}) == "3932eb27bbc8dd04"
    assert key({"bootstrap": 100}, baseline=True) == "d2c0c128fdf0493f"
    assert key(_FEW) != "a56581ac1fcb147b"
    assert key(_FEW, baseline=True) != "b499294e42b23676"


def test_cell_keys_ignore_the_order_of_a_methods_parameters():
    from sertl_experiments._recipes import Recipe, for_protocol

    def key(params, protocol):
        cfg = parse_config(
            {
                "corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
                "protocol": protocol,
                "methods": [{"name": "m", "params": params}],
            }
        )
        spec = cfg.methods[0]
        recipes = [for_protocol(Recipe.from_spec(spec), cfg.protocol.target)]
        return _cell_key(
            cfg,
            spec,
            (("a",), "b"),
            0,
            ["anger", "sadness"],
            data="fp",
            recipes=recipes,
            candidates=recipes,
        )

    one = {"classifier": {"C": 2.0, "gamma": 0.1}, "scale": {"min_batch_rows": 5}}
    other = {"scale": {"min_batch_rows": 5}, "classifier": {"gamma": 0.1, "C": 2.0}}
    changed = {"classifier": {"C": 3.0, "gamma": 0.1}, "scale": {"min_batch_rows": 5}}
    for protocol in (_FEW, {}):
        assert key(one, protocol) == key(other, protocol)
        assert key(one, protocol) != key(changed, protocol)


def test_which_steps_learn_from_the_labelled_target_rows():
    from sertl_experiments import TransferVote
    from sertl_experiments._target_labels import uses_target_labels
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sertl_core import DomainStandardScaler, SourceOnly

    feature = pytest.importorskip("sertl_feature")
    instance = pytest.importorskip("sertl_instance")
    assert uses_target_labels(SourceOnly()) is False
    assert uses_target_labels(SourceOnly(use_target_labels=True)) is True
    assert uses_target_labels(instance.KMM()) is True
    assert uses_target_labels(instance.KMM(target_weight=0.0)) is False
    assert uses_target_labels(instance.KLIEP(target_weight=0.0)) is False
    assert uses_target_labels(feature.CORAL()) is False
    assert uses_target_labels(feature.JDA()) is True  # class-conditional terms
    plain = make_pipeline(DomainStandardScaler(), feature.CORAL(), SourceOnly())
    assert uses_target_labels(plain) is False

    class Unknown(SourceOnly):
        pass

    assert uses_target_labels(make_pipeline(DomainStandardScaler(), Unknown())) is None

    class Declared(SourceOnly):
        _sertl_uses_target_labels = True

    assert uses_target_labels(Declared()) is True
    # a vote uses them when one of its fitted members does
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.array(["a", "b"] * 20, dtype=object)
    sd = np.array([1] * 30 + [-1] * 10)
    y[30:36] = "-1"
    for members, expected in (
        (["coral", "kmm"], True),
        (["coral", ("kmm", instance.KMM(target_weight=0.0))], False),
    ):
        vote = TransferVote(LogisticRegression(), methods=members)
        vote.fit(X, y, sample_domain=sd)
        assert uses_target_labels(vote) is expected


def test_every_sertl_method_says_whether_it_uses_target_labels():
    # a first-party adapter or estimator missing from the table would leave
    # its cells' labelled train rows empty
    from sertl_experiments._target_labels import (
        _KNOWN,
        TARGET_LABELS_ATTRIBUTE,
        _public_name,
    )

    from sertl_core import get_registry

    entries = [
        e
        for kind in ("adapters", "estimators")
        for e in get_registry().entries(kind)
        if e.distribution.startswith("sertl-")
    ]
    for e in entries:
        name = _public_name(e.cls)
        assert name in _KNOWN or TARGET_LABELS_ATTRIBUTE in vars(e.cls), e.cls
    # the check saw the methods of every method plugin that is installed (each
    # is optional for sertl-experiments)
    plugins = ("sertl_feature", "sertl_instance", "sertl_neural", "sertl_relational")
    installed = {p for p in plugins if importlib.util.find_spec(p) is not None}
    seen = {e.distribution.replace("-", "_") for e in entries}
    assert installed <= seen, installed - seen
    if installed == set(plugins):
        assert len(entries) >= 10


def test_a_plugin_may_move_its_classes_between_its_private_modules(monkeypatch):
    # the table named sertl's classes by the private module that defined
    # them: sertl-feature moving CORAL to another module of its own (free in
    # any release: the module is private) turned every CORAL row's labelled
    # train rows into "cannot be told"; the table now names the public class
    from sertl_experiments._target_labels import uses_target_labels

    from sertl_core import SourceOnly

    monkeypatch.setattr(SourceOnly, "__module__", "sertl_core._moved")
    assert uses_target_labels(SourceOnly(use_target_labels=True)) is True
    assert uses_target_labels(SourceOnly()) is False

    class SourceOnlyCopy(SourceOnly):  # same name, not the class exported
        pass

    SourceOnlyCopy.__qualname__ = "SourceOnly"
    assert uses_target_labels(SourceOnlyCopy()) is None


def test_rows_that_cannot_be_told_are_left_empty_and_said(tmp_path, monkeypatch):
    monkeypatch.setattr(_runner, "uses_target_labels", lambda model: None)
    cfg = _config(tmp_path, [{"name": "dss"}], **_FEW)
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    assert res.results["n_train"].isna().all()
    assert (res.results["n_target_labelled"] == 9).all()
    md = (cfg.output / "results.md").read_text()
    head, rows = _md_table(md, "Per pair")
    assert {r[head.index("labelled train rows")] for r in rows} == {""}
    assert "Empty labelled train rows (dss): whether the method learns" in md
    # unlabelled protocol: no target labels to use, whatever the steps
    cfg = _config(tmp_path, [{"name": "dss"}], name="unl")
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    assert (res.results["n_train"] == 90).all()


# -- 2. the per-pair interval is that of the mean over the seeds --------------


def test_per_pair_interval_is_the_bootstrap_interval_of_the_mean(tmp_path):
    cfg = _config(tmp_path, [{"name": "dss"}], **_FEW, seeds=[0, 1, 2], bootstrap=300)
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    cells = sorted(
        (c for c in _cells(cfg) if c["method"] == "dss" and c["target"] == "b"),
        key=lambda c: c["seed"],
    )
    # each cell names the target rows it tested; its seeds' test speakers
    # differ, so the rows differ, and a row keeps its label in every cell
    rows = [np.asarray(c["test_rows"]) for c in cells]
    assert len({tuple(r) for r in rows}) == 3
    truth = {}
    for c, r in zip(cells, rows, strict=True):
        assert len(r) == len(c["y_test"]) == c["n_test"]
        for row, label in zip(r, c["y_test"], strict=True):
            assert truth.setdefault(int(row), label) == label
    # the table's interval is that of the seeds' mean, the target's rows
    # resampled once per replicate
    labels = list(range(len(cells[0]["classes"])))
    samples = [
        {"y_true": c["y_test"], "y_pred": c["y_pred"], "rows": r, "random_state": 0}
        for c, r in zip(cells, rows, strict=True)
    ]
    low, high = bootstrap_mean_ci(samples, labels, n_boot=300)["uar"]
    md = (cfg.output / "results.md").read_text()
    head, table = _md_table(md, "Per pair")
    row = next(r for r in table if r[1] == "b")
    assert float(row[head.index("CI low")]) == pytest.approx(100 * low, abs=0.051)
    assert float(row[head.index("CI high")]) == pytest.approx(100 * high, abs=0.051)
    mean = res.results[res.results["target"] == "b"]["uar"].mean()
    assert low <= mean <= high
    for c in cells:
        own = bootstrap_ci(
            c["y_test"], c["y_pred"], list(range(3)), n_boot=300, random_state=c["seed"]
        )["uar"]
        assert (c["uar_low"], c["uar_high"]) == own
    assert "interval of the mean UAR (300 resamples" in md


# -- 3. the bootstrap's unit ---------------------------------------------------


def test_bootstrap_unit_is_validated():
    with pytest.raises(
        ConfigError,
        match=r'\[protocol\] bootstrap_unit: must be "utterance" .* or "speaker" .*'
        r"got 'speakers'",
    ):
        parse_config(
            {
                "corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
                "protocol": {"bootstrap_unit": "speakers"},
                "methods": [{"name": "dss"}],
            }
        )


def test_speaker_bootstrap_needs_two_test_speakers(tmp_path):
    data = _data()
    one = data["b"]
    data["b"] = CorpusData("b", one.X, one.y, np.full(len(one.y), "b:0"), one.files)
    cfg = _config(tmp_path, [{"name": "dss"}], bootstrap=50, bootstrap_unit="speaker")
    with pytest.raises(
        ConfigError,
        match=r"\[protocol\] bootstrap_unit: a speaker bootstrap resamples the "
        r"test speakers, but target 'b' has 1 test speaker \('b:0'\); .* "
        r'bootstrap_unit = "utterance"',
    ):
        run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert not (cfg.output / "cells").exists() or not any(
        (cfg.output / "cells").iterdir()
    )
    # few-shot with 2 speakers keeps 1 for testing
    cfg = _config(
        tmp_path,
        [{"name": "dss"}],
        name="few",
        **_FEW,
        bootstrap=50,
        bootstrap_unit="speaker",
    )
    with pytest.raises(ConfigError, match=r"has 1 test speaker of its 2 .*raise"):
        run_experiment(cfg, data=_data(n_speakers=2), progress=False, log=_quiet)


def test_changing_the_bootstrap_unit_rescores_finished_cells(tmp_path, read_results_md):
    data = _data()

    def run(unit):
        cfg = _config(tmp_path, [{"name": "dss"}], bootstrap=200, bootstrap_unit=unit)
        lines = []
        res = run_experiment(cfg, data=data, progress=False, log=lines.append)
        return cfg, res, lines

    cfg, first, _ = run("utterance")
    cfg, res, lines = run("speaker")
    assert (res.n_computed, res.n_reused) == (0, 4)
    cell = next(c for c in _cells(cfg) if c["method"] == "dss" and c["target"] == "b")
    assert cell["ci"]["unit"] == "speaker"
    speakers = np.asarray(cell["test_speakers"])[cell["test_speaker_codes"]]
    own = bootstrap_ci(
        cell["y_test"], cell["y_pred"], [0, 1, 2], n_boot=200, groups=speakers
    )
    assert (cell["uar_low"], cell["uar_high"]) == own["uar"]
    assert not first.results["uar_low"].equals(res.results["uar_low"])
    # 6 test speakers: the report says the interval is unreliable
    note = "speaker bootstrap over fewer than 10 test speakers (a -> b (6)"
    assert note in read_results_md(cfg.output / "results.md")
    assert any(note in line for line in lines)


# -- 4. the per-pair table names each metric once -------------------------------


@pytest.mark.parametrize(
    ("metric", "columns"),
    [
        ("wa", ["WA", "CI low", "CI high", "UAR", "macro-F1"]),
        ("macro_f1", ["macro-F1", "CI low", "CI high", "UAR", "WA"]),
        ("uar", ["UAR", "CI low", "CI high", "WA", "macro-F1"]),
    ],
)
def test_per_pair_table_shows_the_chosen_metric_then_the_others(
    tmp_path, metric, columns
):
    cfg = _config(tmp_path, [{"name": "dss"}], metric=metric, bootstrap=50)
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    expected = ["source", "target", "method", *columns]
    expected += ["labelled train rows", "test rows"]
    head, rows = _md_table((cfg.output / "results.md").read_text(), "Per pair")
    assert head == expected
    page_head, page_rows = _html_table(res.report.read_text(), "pairs")
    assert page_head == expected
    assert page_rows == rows
    # the chosen metric's value is its mean over the seeds
    first = res.results.sort_values(["source", "target"]).iloc[0]
    assert float(rows[0][3]) == pytest.approx(100 * first[metric], abs=0.051)


# -- 5. the few-shot split, recorded and distinct per seed ---------------------


def test_cells_record_the_split_and_the_report_shows_test_counts(tmp_path):
    cfg = _config(tmp_path, [{"name": "dss"}], **_FEW, seeds=[0, 1, 2])
    data = _data()
    res = run_experiment(cfg, data=data, progress=False, log=_quiet)
    speakers_of = dict(zip(data["b"].files, data["b"].speakers, strict=True))
    seen = set()
    for c in _cells(cfg):
        if c["target"] != "b":
            continue
        test = set(c["test_speakers"])
        assert len(test) == 3  # half of 6
        shots = [f for files in c["shot_files"].values() for f in files]
        assert {len(f) for f in c["shot_files"].values()} == {3}
        assert not {speakers_of[f] for f in shots} & test  # disjoint
        assert sum(c["test_class_counts"].values()) == c["n_test"]
        seen.add(tuple(c["test_speakers"]))
    # seeds 0, 1, 2 hold out three different sets of speakers
    assert len(seen) == 3
    md = (cfg.output / "results.md").read_text()
    head, rows = _md_table(md, "Few-shot splits")
    assert head[:5] == ["source", "target", "seed", "test speakers", "test utterances"]
    assert len(rows) == 6
    row = next(r for r in rows if r[1] == "b" and r[2] == "0")
    cell = next(
        c
        for c in _cells(cfg)
        if c["target"] == "b" and c["seed"] == 0 and c["method"] == "dss"
    )
    assert row[4] == ", ".join(f"{k} {v}" for k, v in cell["test_class_counts"].items())
    assert "id='tab-splits'" in res.report.read_text()
    assert "Warning" not in md


def test_seeds_that_repeat_a_split_are_warned_about(tmp_path, read_results_md):
    # 4 speakers, 2 for testing: 6 ways, so seeds 0 and 6 share one
    cfg = _config(tmp_path, [{"name": "dss"}], **_FEW, seeds=[0, 6])
    lines = []
    res = run_experiment(
        cfg, data=_data(n_speakers=4), progress=False, log=lines.append
    )
    warning = "a -> b: seeds 0 and 6 hold out the same test speakers"
    assert any(line.startswith("warning: " + warning) for line in lines)
    md = read_results_md(cfg.output / "results.md")
    assert f"**Warning: {warning}" in md
    assert "at most 6 seeds (that differ modulo 6)" in md
    page = res.report.read_text()
    assert "id='repeated-splits'" in page and html.escape(warning) in page


def test_distinct_seeds_give_distinct_test_speakers():
    # numpy's default_rng(0) and (2) drew the same 3 of 6 speakers
    speakers = [f"s{i}" for i in range(6)]
    splits = {tuple(draw_test_speakers(speakers, 3, s)) for s in range(20)}
    assert len(splits) == 20
    assert draw_test_speakers(speakers, 3, 7) == draw_test_speakers(speakers, 3, 27)
    # the same seed, the same split, whatever the order of the speakers
    assert draw_test_speakers(speakers[::-1], 3, 4) == draw_test_speakers(
        speakers, 3, 4
    )
    # and sertl grid's split of a seed is sertl run's (one function of the seed)
    task = {
        "sources": [_data()["a"]],
        "target": _data()["b"],
        "classes": ["anger", "neutral", "sadness"],
        "protocol": {"target": "few_shot", "k": 2, "test_speaker_fraction": 0.5},
    }
    one, two = _split(task, 3), _split(task, 3)
    assert one.test_speakers == two.test_speakers
    assert np.array_equal(one.y, two.y)


def _few_shot_task(target, k=2):
    return {
        "sources": [_data()["a"]],
        "target": target,
        "classes": ["anger", "neutral", "sadness"],
        "protocol": {"target": "few_shot", "k": k, "test_speaker_fraction": 0.5},
    }


def _with_sadness_from(speakers):
    """Target ``b`` of six speakers whose sadness rows come from ``speakers`` only."""
    b = _data()["b"]
    spk = b.speakers.copy()
    sad = np.flatnonzero(b.y == "sadness")
    spk[sad] = np.array(speakers)[np.arange(sad.size) % len(speakers)]
    return CorpusData("b", b.X, b.y, spk, b.files)


def test_a_class_that_one_target_speaker_recorded_is_refused():
    # its labelled and its test rows cannot come from different speakers:
    # some seeds trained without a labelled sadness row, the others tested
    # none and scored a UAR over two classes instead of three
    task = _few_shot_task(_with_sadness_from(["b:0"]))
    for seed in (0, 1, 2, 3):
        with pytest.raises(
            ExperimentError,
            match=r"class 'sadness' of target 'b' comes from one speaker \('b:0'\)"
            r".*\[labels\] classes.*--classes of sertl grid",
        ):
            _split(task, seed)


def test_a_seed_that_leaves_a_class_on_one_side_of_the_split_is_refused():
    task = _few_shot_task(_with_sadness_from(["b:0", "b:1"]))
    speakers = sorted(set(task["target"].speakers))
    sides = {}
    for seed in range(40):
        test = set(draw_test_speakers(speakers, 3, seed))
        held = len(test & {"b:0", "b:1"})
        sides.setdefault(held, seed)
    assert set(sides) == {0, 1, 2}  # every case among the first 40 seeds
    with pytest.raises(
        ExperimentError,
        match=rf"seed {sides[2]}: .* hold all of the 2 speakers of class 'sadness' "
        r"\(b:0, b:1\), so no labelled 'sadness' row .* lower test_speaker_fraction",
    ):
        _split(task, sides[2])
    with pytest.raises(
        ExperimentError,
        match=rf"seed {sides[0]}: .* hold none of the 2 speakers .* the test set has "
        r"no 'sadness' row .* higher test_speaker_fraction",
    ):
        _split(task, sides[0])
    # a seed that splits the class's speakers gives k rows and test rows of it
    split = _split(task, sides[1])
    y, spk = task["target"].y, task["target"].speakers
    assert split.shots == {"anger": 2, "neutral": 2, "sadness": 2}
    assert np.sum(split.test & (y == "sadness")) > 0
    labelled = np.concatenate(list(split.shot_rows.values()))
    assert not set(spk[labelled]) & set(split.test_speakers)


def test_a_refused_split_fails_its_cells_with_the_reason(tmp_path):
    cfg = _config(tmp_path, [{"name": "dss"}], **_FEW, seeds=[0])
    data = {"a": _data()["a"], "b": _with_sadness_from(["b:0"])}
    run_experiment(cfg, data=data, progress=False, log=_quiet)
    failed = [c for c in _cells(cfg) if c["target"] == "b"]
    assert failed and all(c["status"] == "error" for c in failed)
    assert all("comes from one speaker ('b:0')" in c["error"] for c in failed)


# -- 7. the number of test speakers ---------------------------------------------


def test_test_speakers_are_rounded_half_up():
    # Python's round gave 2 of 5 and 4 of 7 (half to even)
    assert n_test_speakers(5, 0.5) == 3
    assert n_test_speakers(7, 0.5) == 4
    assert n_test_speakers(3, 0.5) == 2
    assert n_test_speakers(10, 0.35) == 4  # 3.5, although 0.35 * 10 < 3.5
    assert n_test_speakers(2, 0.9) == 1  # one speaker left for the shots
    assert n_test_speakers(4, 0.01) == 1


def test_report_html_gives_the_numbers_of_results_md(tmp_path):
    # report.html printed .3g (51 against 51.0, -0.00792 against -0.008)
    cfg = _config(
        tmp_path,
        [
            {"name": "dss"},
            {"name": "auto", "method": "auto", "candidates": ["no_adaptation", "dss"]},
        ],
        bootstrap=50,
    )
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    page = res.report.read_text()
    for tid, title in (
        ("summary", "Mean over pairs"),
        ("pairs", "Per pair"),
        ("guard", "Domain discrepancy"),
        ("auto", "Choices made without target labels"),
    ):
        assert _html_table(page, tid)[1] == _md_table(md, title)[1], tid
    assert re.search(r"<td>-?\d+\.\d{3}</td>", page.split("id='tab-guard'")[1])
    # a column without a value ("selected" without auto) is empty in both
    cfg = _config(tmp_path, [{"name": "dss"}], name="plain")
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    rows = _html_table(res.report.read_text(), "guard")[1]
    assert rows == _md_table(md, "Domain discrepancy")[1]
    assert {r[-1] for r in rows} == {""}


def test_results_csv_keeps_the_rows_behind_each_figure(tmp_path):
    cfg = _config(tmp_path, [{"name": "dss"}])
    res = run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    df = pd.read_csv(cfg.output / "results.csv")
    assert {"n_train", "n_target_labelled", "target_labels_used", "n_test"} <= set(
        df.columns
    )
    assert (df["n_target_labelled"] == 0).all() and not df["target_labels_used"].any()
    assert res.n_computed == 4


def test_sertl_runs_reverse_validation_keeps_source_corpora_apart():
    # sertl run scores through _DomainScorer, which wraps the model in a view
    # that predicts each row with its own domain; its reverse refit used to
    # get no domains, so the held-out rows of the two source corpora were
    # pooled into one target domain (0.64 here) whatever the core did
    import sklearn
    from sertl_experiments._selection import _DomainScorer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sertl_core import DomainStandardScaler, SourceOnly
    from sertl_core.model_selection import ReverseValidationScorer
    from sertl_core.testing import make_domain_data

    X, y, sd, _ = make_domain_data(
        n_per_domain=60, n_features=2, n_classes=2, random_state=2
    )
    pipe = Pipeline(
        [("s", DomainStandardScaler()), ("c", SourceOnly(LogisticRegression()))]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y, sample_domain=sd)
        core = ReverseValidationScorer()(pipe, X, y, sample_domain=sd)
        run = _DomainScorer(ReverseValidationScorer())(pipe, X, y, sample_domain=sd)
    assert core > 0.9  # each corpus standardised with its own statistics
    assert run == pytest.approx(core)


# -- the report's note on the utterance-level interval -------------------------


def test_report_says_the_utterance_interval_is_too_narrow_for_new_speakers(tmp_path):
    cfg = _config(tmp_path, [{"name": "dss"}], bootstrap=20)
    run_experiment(cfg, data=_data(), progress=False, log=_quiet)
    caveat = (
        "The utterances of one speaker are not independent, so this "
        "utterance-level interval is too narrow for a claim about new speakers"
    )
    assert caveat in (cfg.output / "results.md").read_text()
    page = html.unescape((cfg.output / "report.html").read_text())
    assert caveat in page
    assert 'bootstrap_unit = "speaker"' in page
    # the speaker-level interval needs no such caveat
    from sertl_experiments._report import _pairs_note

    speaker = _config(
        tmp_path, [{"name": "dss"}], bootstrap=20, bootstrap_unit="speaker"
    )
    assert "not independent" not in _pairs_note(speaker)
    assert "not independent" not in _pairs_note(_config(tmp_path, [{"name": "dss"}]))
