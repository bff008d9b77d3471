import json
import os
import re
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sertl_experiments import ConfigError, CorpusData, ExperimentError
from sertl_experiments._runner import run_experiment


def _quiet(*_):
    pass


def test_run_writes_every_output_and_resumes(synthetic_config, synthetic_data):
    cfg = synthetic_config()
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    out = cfg.output
    for name in ("results.csv", "results.md", "report.html"):
        assert (out / name).is_file()
    df = pd.read_csv(out / "results.csv")
    assert set(df["method"]) == {"no_adaptation", "dss", "auto"}
    assert (df["status"] == "ok").all()
    assert df["uar_low"].le(df["uar"]).all() and df["uar"].le(df["uar_high"]).all()
    # per-domain standardisation removes this synthetic shift; no adaptation cannot
    means = df.groupby("method")["uar"].mean()
    assert means["dss"] > means["no_adaptation"] + 0.15
    # the label-free choice picks the adaptation here and says it does not hurt
    auto = df[df["method"] == "auto"]
    assert set(auto["selected"]) == {"dss"}
    assert not auto["predicted_hurt"].astype(bool).any()
    assert (
        df["mmd_after"][df["method"] == "dss"] < df["mmd_before"][df["method"] == "dss"]
    ).all()
    plots = {p.stem for p in (out / "plots").glob("*.png")}
    assert {"heatmap_dss", "confusion_dss", "per_class_recall", "pca_a__b"} <= plots
    assert res.n_computed == 8 and res.n_reused == 0

    # rerun: everything reused; delete one cell ("interrupted") and only it reruns
    lines = []
    res2 = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert (res2.n_computed, res2.n_reused) == (0, 8)
    # 2 pairs x (3 methods + the guard's hidden baseline): the log says so
    assert any(
        line.startswith("8 cells (2 of them the no-adaptation baseline")
        for line in map(str, lines)
    ), lines
    cell = out / "cells" / "a__b__dss__seed0.json"
    before = json.loads(cell.read_text())
    cell.unlink()
    res3 = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res3.n_computed, res3.n_reused) == (1, 7)
    assert json.loads(cell.read_text())["uar"] == before["uar"]


def test_interrupted_rerun_leaves_no_earlier_report(
    synthetic_config, synthetic_data, monkeypatch
):
    # a finished run's report, then a changed configuration whose run is
    # interrupted: the old report must not stay as if it were the new one
    from sertl_experiments import _runner

    cfg = synthetic_config(methods=[{"name": "dss"}])
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    out = cfg.output
    assert (out / "report.html").is_file() and any((out / "plots").glob("*.png"))

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runner, "_execute", interrupted)
    cfg2 = synthetic_config(
        methods=[{"name": "dss", "params": {"classifier": {"C": 10.0}}}]
    )
    lines = []
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg2, data=synthetic_data, progress=False, log=lines.append)
    for name in ("results.csv", "results.md", "report.html"):
        assert not (out / name).exists(), name
    assert not any((out / "plots").glob("*.png"))
    assert any(
        str(line).startswith("removed the previous results.csv") for line in lines
    )
    assert any((out / "cells").glob("*.json"))  # finished cells are kept
    # a run with nothing to compute keeps (and rewrites) the summary files
    monkeypatch.undo()
    run_experiment(cfg2, data=synthetic_data, progress=False, log=_quiet)
    lines = []
    run_experiment(cfg2, data=synthetic_data, progress=False, log=lines.append)
    assert (out / "report.html").is_file()
    assert not any(str(line).startswith("removed the previous") for line in lines)


def test_summary_write_that_fails_leaves_no_torn_file(synthetic_config, synthetic_data):
    # a full disk (here: a file-size limit) while the summary is written: the
    # earlier run's files stay whole; results.csv was written first, in place,
    # and was left torn (a table that looked finished, rows missing)
    import signal

    resource = pytest.importorskip("resource", reason="needs POSIX resource limits")
    cfg = synthetic_config(methods=[{"name": "dss"}])
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    out = cfg.output
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert (out / "results.csv").stat().st_size > 500
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (500, hard))
    try:
        with pytest.raises(OSError) as info:
            run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    # the error names the file (a full disk's names none: sertl run's message)
    assert str(info.value.filename).startswith(str(out))
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()  # no temporary file left either
    for name, data in after.items():
        assert data == before[name], name
    # and the next run writes them again
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (out / "results.csv").read_bytes() == before[Path("results.csv")]


def test_cell_writes_of_two_runs_at_once_do_not_collide(tmp_path):
    # two runs writing one output folder: the fixed "PATH.part" of one was
    # renamed away by the other, whose rename then failed (FileNotFoundError)
    import threading

    from sertl_experiments._runner import _read_cell, _write_cell

    path = tmp_path / "a__b__dss__seed0.json"
    errors = []

    def write(tag):
        try:
            for i in range(300):
                _write_cell(path, {"writer": tag, "i": i, "pad": "x" * 20000})
        except Exception as exc:  # noqa: BLE001 - the failure the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _read_cell(path)["i"] == 299  # whole, from either writer
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 (POSIX signals)")
def test_run_removes_the_temporary_files_a_killed_run_left(
    synthetic_config, synthetic_data, tmp_path
):
    # a run killed (kill -9, the memory limit) while writing a cell left its
    # hidden .sertl-*.part file in the output folder for good
    import signal
    import subprocess
    import sys

    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    cells = cfg.output / "cells"
    cells.mkdir(parents=True)
    script = (
        "import os, signal, sys\n"
        "from sertl_experiments._runner import _write_cell\n"
        "os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)\n"
        "_write_cell(sys.argv[1], {'status': 'ok'})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(cells / "a__b__dss__seed0.json")],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (stale,) = cells.glob(".sertl-*.part")
    lines = []
    run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert not stale.exists()
    assert (
        f"removed 1 temporary file that a killed run left in {cfg.output} "
        f"(e.g. {stale.name})" in lines
    )
    # what stays: a user's file, one of the naming before writers were
    # named, another machine's and a live process's (this one's parent)
    _, host, pid, rest = stale.name.split("-", 3)
    keep = [
        ".sertl-notes.part",
        ".sertl-0123456789abcdef.part",
        f".sertl-00000000-{pid}-{rest}",
        f".sertl-{host}-{os.getppid()}-{rest}",
    ]
    for k in keep:
        (cells / k).write_bytes(b"")
    lines.clear()
    run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert sorted(p.name for p in cells.glob(".sertl-*")) == sorted(keep)
    assert not [line for line in lines if "temporary file" in line]


def test_report_gives_the_utterance_counts(synthetic_config, synthetic_data):
    # a researcher checks the counts behind each figure against their table
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    counts = {
        name: ", ".join(
            f"{c} {n}" for c, n in zip(*np.unique(d.y, return_counts=True), strict=True)
        )
        for name, d in synthetic_data.items()
    }
    section = md.split("## Classes of each pair", 1)[1]
    assert f"| a | b | {sorted(set(synthetic_data['a'].y))[0]}" in section
    assert f"| {counts['a']} | {counts['b']} |" in section
    pairs = md.split("## Per pair", 1)[1].split("##", 1)[0]
    assert "labelled train rows" in pairs and "test rows" in pairs
    n_a, n_b = len(synthetic_data["a"].y), len(synthetic_data["b"].y)
    assert re.search(rf"\| a +\| b +\| dss .*\| {n_a} +\| {n_b} +\|", pairs), pairs
    html = (cfg.output / "report.html").read_text()
    assert counts["a"] in html


def test_run_under_a_global_pandas_output_config(
    synthetic_config, synthetic_data, tmp_path
):
    # sklearn.set_config(transform_output="pandas") in the user's session made
    # the PCA of the report's scatter plots return a DataFrame and the whole
    # run stopped ("'DataFrame' object has no attribute 'tolist'")
    import sklearn

    methods = [{"name": "dss"}, {"name": "coral", "adapter": "coral"}]
    cells = {}
    for output in ("default", "pandas"):
        cfg = synthetic_config(methods=methods, output=str(tmp_path / output))
        with sklearn.config_context(transform_output=output):
            run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
        cells[output] = {
            p.name: json.loads(p.read_text()) for p in (cfg.output / "cells").iterdir()
        }
    assert cells["pandas"].keys() == cells["default"].keys()
    for name, cell in cells["default"].items():
        assert cell["status"] == "ok" and cell["pca_after"]["xy"]
        for key in ("uar", "pca_before", "pca_after"):
            assert cells["pandas"][name].get(key) == cell.get(key), (name, key)


def test_changed_method_is_recomputed(synthetic_config, synthetic_data):
    cfg = synthetic_config(methods=[{"name": "dss"}])
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    cfg2 = synthetic_config(
        methods=[{"name": "dss", "params": {"classifier": {"C": 10.0}}}]
    )
    res = run_experiment(cfg2, data=synthetic_data, progress=False, log=_quiet)
    assert res.n_computed == 2  # the two dss cells; the baseline cells are reused


def test_report_is_self_contained_with_every_plot_and_table(
    synthetic_config, synthetic_data
):
    cfg = synthetic_config()
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    html = res.report.read_text()
    manifest = json.loads(
        re.search(
            r"<script type='application/json' id='sertl-manifest'>(.*?)</script>", html
        ).group(1)
    )
    assert len(manifest["figures"]) == len(list((cfg.output / "plots").glob("*.png")))
    for fid in manifest["figures"]:
        assert f"id='{fid}'" in html
    for tid in manifest["tables"]:
        assert f"id='{tid}'" in html  # as every other id of the page
    assert "src='http" not in html and 'src="http' not in html
    assert html.count("data:image/png;base64,") == len(manifest["figures"])
    assert "negative-transfer" in html


def test_few_shot_protocol_uses_held_out_speakers(synthetic_config, synthetic_data):
    cfg = synthetic_config(
        protocol={"target": "few_shot", "k": 3, "seeds": [0, 1], "bootstrap": 50},
        methods=[
            {"name": "dss"},
            {"name": "dss_grid", "grid": {"classifier__C": [0.1, 10.0]}},
        ],
    )
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    df = pd.read_csv(cfg.output / "results.csv")
    assert (df["status"] == "ok").all()
    assert set(df["seed"]) == {0, 1}
    # test rows are two of the 4 target speakers (22 or 23 rows each)
    assert df["n_test"].isin([44, 45, 46]).all()
    # labelled rows: the source plus k per class from the other speakers
    assert (df["n_train"] == 90 + 3 * 3).all()
    # the grid's choice is reported under the config's own grid key
    chosen = df.loc[df["method"] == "dss_grid", "best_params"]
    assert chosen.str.fullmatch(r"classifier__C=(0\.1|10\.0)").all(), chosen.tolist()


def test_candidate_that_cannot_be_scored_is_reported(synthetic_config, synthetic_data):
    # a valid parameter that does not fit the data (6 features): the auto
    # selection still picks among the others, and says which one failed and why
    pytest.importorskip("sertl_feature")
    params = {"subspace_alignment": {"n_components": 50}}
    lines = []
    cfg = synthetic_config(
        methods=[
            {"name": "dss"},
            {"name": "broken", "adapter": "subspace_alignment", "params": params},
            {"name": "auto", "method": "auto", "candidates": ["dss", "broken"]},
        ]
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    auto = res.results[res.results["method"] == "auto"]
    assert (auto["status"] == "ok").all() and set(auto["selected"]) == {"dss"}
    md = (cfg.output / "results.md").read_text()
    assert "## Candidates that could not be scored" in md
    assert "broken" in md and "fit: ValueError" in md
    assert "failed-candidates" in (cfg.output / "report.html").read_text()
    assert any("candidate broken could not be scored" in line for line in lines)


def test_failed_cell_is_reported_not_raised(synthetic_config, synthetic_data):
    # a valid parameter that does not fit the data (6 features) fails each cell
    pytest.importorskip("sertl_feature")
    params = {"subspace_alignment": {"n_components": 50}}
    cfg = synthetic_config(
        methods=[{"name": "broken", "adapter": "subspace_alignment", "params": params}]
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    df = res.results
    assert (df["status"] == "error").all()
    assert df["error"].str.contains("n_components").all()
    assert "Cells that failed" in res.report.read_text()


@pytest.mark.parametrize(
    ("method", "match"),
    [
        ({"adapter": "corall"}, r"x adapter: No adapter named 'corall'"),
        ({"estimator": "kmn"}, r"x estimator: No estimator named 'kmn'"),
        ({"scorers": ["reverse"]}, r"x scorers: No scorer named 'reverse'"),
        ({"params": {"scale": {"wiht_std": False}}}, r"x params scale: Cannot create"),
        ({"params": {"classifier": {"C": "10"}}}, r"x params classifier: The 'C'"),
        (
            {"adapter": "coral", "grid": {"coral__reg": [1.0, -5.0]}},
            r"x grid coral__reg: The 'reg' parameter of CORAL",
        ),
        (
            {"method": "auto", "candidates": ["dss", "wizard"]},
            r"x candidates: 'wizard' is neither",
        ),
        (  # scikit-learn's AttributeError on 1.0.set_params was a traceback
            {"adapter": "coral", "grid": {"coral__reg__x": [1.0]}},
            r"x grid coral__reg__x: 'reg' of coral is a value, not an estimator "
            r"with parameters of its own, so 'reg__x' names nothing; write coral__reg",
        ),
        (  # given to KMM as the string: every cell failed at its fit
            {"estimator": "kmm", "params": {"kmm": {"estimator": "svc"}}},
            r"x params kmm: estimator = 'svc' is a string, but KMM's estimator "
            r"takes a scikit-learn estimator, .* set by \[classifier\]",
        ),
        (
            {"estimator": "kmm", "grid": {"kmm__estimator": ["svc", "logreg"]}},
            r"x grid kmm__estimator: estimator = 'svc' is a string",
        ),
    ],
)
def test_bad_method_stops_the_run_before_any_cell(
    synthetic_config, synthetic_data, method, match
):
    pytest.importorskip("sertl_feature")
    if "kmm" in str(method):
        pytest.importorskip("sertl_instance")
    cfg = synthetic_config(methods=[{"name": "x", **method}])
    with pytest.raises(ConfigError, match=match):
        run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert not list(cfg.output.glob("cells/*.json"))


def test_no_pair_with_two_classes_stops_the_run(synthetic_config, synthetic_data):
    cfg = synthetic_config(labels={"classes": ["anger", "joy"]})
    with pytest.raises(ExperimentError, match=r"no source/target pair shares two"):
        run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)


def test_bad_classifier_params_stop_the_run(synthetic_config, synthetic_data):
    cfg = synthetic_config(classifier={"params": {"C": -1.0}})
    with pytest.raises(ConfigError, match=r"\[classifier\] params: The 'C'"):
        run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)


def _serve(monkeypatch, tables, vectors):
    """Make the runner read ``tables`` (by corpus) and the features ``vectors``."""
    from sertl_experiments import _runner

    def load(spec):
        return tables[spec.name].copy()

    def extract(files, spec, *, client=None, progress=True, cautions=None):
        return np.array([vectors[f] for f in files]), []

    monkeypatch.setattr(_runner, "load_corpus_table", load)
    monkeypatch.setattr(_runner, "extract_features", extract)


def _fake_corpora(monkeypatch):
    """Read corpora a and b from in-memory tables (``a`` has "calm" rows)."""
    rng = np.random.default_rng(1)
    tables, vectors = {}, {}
    centre = {"anger": 1.5, "neutral": 0.0, "sadness": -1.5, "calm": 0.2}
    for name, shift, emotions in (
        ("a", 0.0, ["anger", "neutral", "sadness", "calm"]),
        ("b", 1.0, ["anger", "neutral", "sadness"]),
    ):
        rows = []
        for i in range(60):
            emo = emotions[i % len(emotions)]
            f = f"{name}_{i}.wav"
            x = rng.normal(size=4)
            x[0] += centre[emo]
            vectors[f] = x * (1 + shift) + 3 * shift
            rows.append({"file": f, "emotion": emo, "speaker": str(i % 4)})
        tables[name] = pd.DataFrame(rows)
    _serve(monkeypatch, tables, vectors)


def test_corpus_without_features_says_why_and_what_to_check(
    synthetic_config, monkeypatch
):
    # the message was "[corpora.a]: no file gave features." alone (45 files:
    # the calm rows are not among the shared classes)
    from sertl_experiments import _runner

    _fake_corpora(monkeypatch)

    def extract(files, spec, *, client=None, progress=True, cautions=None):
        if files[0].startswith("a_"):
            X = np.full((len(files), 4), np.nan)
            return X, [(f, "silent: no sample above -60 dBFS") for f in files]
        return np.zeros((len(files), 4)), []

    monkeypatch.setattr(_runner, "extract_features", extract)
    cfg = synthetic_config(methods=[{"name": "dss"}])
    with pytest.raises(
        ExperimentError,
        match=r"\[corpora\.a\]: none of its 45 files gave features \(e\.g\. a_0\.wav: "
        r"silent: no sample above -60 dBFS\); each is listed above with its "
        r"reason\. Check that root points at the corpus's audio",
    ):
        run_experiment(cfg, progress=False, log=_quiet)


def test_label_mapping_recomputes_what_it_changes_a_moved_root_nothing(
    synthetic_config, monkeypatch
):
    # the cells key on the data they read, so a mapping that changes labels
    # recomputes, and a corpus read from a new folder with the same content
    # (or a mapping that leaves a label as it is) reuses every cell
    _fake_corpora(monkeypatch)
    methods = [{"name": "dss"}]

    def run(**over):
        cfg = synthetic_config(methods=methods, **over)
        return run_experiment(cfg, progress=False, log=_quiet)

    first = run()
    assert (first.n_computed, first.n_reused) == (4, 0)
    assert first.results.set_index("source").loc["a", "n_train"] == 45  # no calm
    merged = {"labels": {"mapping": {"calm": "neutral"}}}
    res = run(**merged)
    assert (res.n_computed, res.n_reused) == (4, 0)
    assert res.results.set_index("source").loc["a", "n_train"] == 60
    res = run(**merged, corpora={"a": {"root": "moved"}, "b": {"root": "unused"}})
    assert (res.n_computed, res.n_reused) == (0, 4)
    res = run(labels={"mapping": {"calm": "neutral", "sadness": "sadness"}})
    assert (res.n_computed, res.n_reused) == (0, 4)
    res = run()  # back to calm dropped: the first run's data, new cells
    assert (res.n_computed, res.n_reused) == (4, 0)


def test_label_mapping_is_checked_once_the_corpora_are_read(
    synthetic_config, monkeypatch
):
    # readers a and b declare no emotions (like csv and folders): the mapping
    # is checked against what was read, before any feature is extracted
    _fake_corpora(monkeypatch)
    from sertl_experiments import _runner

    def no_features(*args, **kwargs):
        raise AssertionError("features extracted before the mapping was checked")

    monkeypatch.setattr(_runner, "extract_features", no_features)
    for mapping, match in (
        ({"clam": "neutral"}, r"^\[labels\] mapping clam: .*Did you mean 'calm'\?"),
        ({"calm": "neutrall"}, r"^\[labels\] mapping calm: .*Did you mean 'neutral'"),
    ):
        cfg = synthetic_config(methods=[{"name": "dss"}], labels={"mapping": mapping})
        with pytest.raises(ConfigError, match=match):
            run_experiment(cfg, progress=False, log=_quiet)


def test_grid_method_scored_below_the_baseline_is_predicted_to_hurt():
    """A grid method's own selection is no auto choice: the baseline check holds."""
    from sertl_experiments._report import _table

    key = {"source": "a", "target": "b", "seed": 0, "status": "ok", "scorer": "iwv"}
    key["selection_classifier"] = "plain"
    base = {**key, "method": "_baseline", "guard_scores": {"plain": {"iwv": 0.5}}}
    grid = {
        **key,
        "method": "dss_grid",
        "label_free_score": 0.1,
        "selected": "dss_grid",
        "candidate_scores": {"dss_grid": 0.1},
    }
    auto = {
        **key,
        "method": "auto",
        "label_free_score": 0.6,
        "selected": "dss",
        "candidate_scores": {"no_adaptation": 0.5, "dss": 0.6},
    }
    grid["best_params"] = {"scale__with_std": "False", "classifier__C": "10"}
    df = _table([base, grid, auto]).set_index("method")
    assert bool(df.loc["dss_grid", "predicted_hurt"]) is True
    assert bool(df.loc["auto", "predicted_hurt"]) is False
    # the choice a grid made is reported, not only the method's own name
    assert df.loc["dss_grid", "best_params"] == (
        "classifier__C=10, scale__with_std=False"
    )
    assert pd.isna(df.loc["auto", "best_params"])  # no grid: nothing to report


def test_search_fits_candidates_with_the_real_domains(monkeypatch):
    # GridSearchCV routes fit metadata by its template: the candidates must
    # get sample_domain, so two sources stay two domains and labelled target
    # rows stay target rows inside the search (not inferred from the labels).
    import numpy as np
    from sertl_experiments._recipes import Recipe
    from sertl_experiments._selection import search

    from sertl_core import DomainStandardScaler
    from sertl_core.testing import make_domain_data

    X, y, sd, y_t = make_domain_data(n_sources=2)
    y = y.astype(str)
    y[np.flatnonzero(sd < 0)[:12]] = y_t[:12].astype(str)  # few-shot target
    seen = []
    fit_transform = DomainStandardScaler.fit_transform

    def spy(self, X, y=None, *, sample_domain=None):  # Pipeline calls this
        seen.append(None if sample_domain is None else set(np.unique(sample_domain)))
        return fit_transform(self, X, y, sample_domain=sample_domain)

    monkeypatch.setattr(DomainStandardScaler, "fit_transform", spy)
    gs, _ = search([Recipe("dss")], X, y, sd, few_shot=True)
    assert len(seen) == 4  # 3 splits + the refit
    assert all(s == {1, 2, -1} for s in seen), seen
    assert set(gs.best_estimator_.named_steps["scale"].domains_) == {1, 2, -1}


def test_scores_do_not_depend_on_probability_scorers_or_saving(
    synthetic_config, synthetic_data, tmp_path
):
    # a probability scorer or save_models calibrates a copy of the classifier
    # for probabilities; the scored predictions come from the plain one
    methods = [
        {"name": "dss"},
        {
            "name": "dss_c1",
            "grid": {"classifier__C": [1.0]},
            "scorers": ["prediction_entropy"],
        },
    ]
    cfg = synthetic_config(methods=methods)
    df = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet).results
    uar = df.set_index(["source", "target", "method"])["uar"]
    for src, tgt in {(s, t) for s, t, _ in uar.index}:
        assert uar[(src, tgt, "dss")] == uar[(src, tgt, "dss_c1")]
    saved = synthetic_config(
        methods=methods[:1], save_models=True, output=str(tmp_path / "saved")
    )
    df2 = run_experiment(saved, data=synthetic_data, progress=False, log=_quiet).results
    merged = df[df["method"] == "dss"].merge(
        df2[df2["method"] == "dss"], on=["source", "target", "seed"]
    )
    np.testing.assert_array_equal(merged["uar_x"], merged["uar_y"])
    assert list((tmp_path / "saved").rglob("*.skops"))


def test_resume_recomputes_auto_cells_and_changed_data(
    synthetic_config, synthetic_data
):
    pytest.importorskip("sertl_feature")
    import dataclasses

    methods = [
        {"name": "dss"},
        {"name": "coral", "adapter": "coral", "params": {"coral": {"reg": 1.0}}},
        {"name": "auto", "method": "auto", "candidates": ["dss", "coral"]},
    ]
    run_experiment(
        synthetic_config(methods=methods),
        data=synthetic_data,
        progress=False,
        log=_quiet,
    )
    methods[1]["params"]["coral"]["reg"] = 100.0  # a candidate's setting changes
    res = run_experiment(
        synthetic_config(methods=methods),
        data=synthetic_data,
        progress=False,
        log=_quiet,
    )
    # the baseline and dss are reused; coral and the auto cells are recomputed
    assert (res.n_computed, res.n_reused) == (4, 4)
    changed = dict(synthetic_data)
    a = changed["a"]
    changed["a"] = dataclasses.replace(a, X=a.X + 0.5)  # the corpus was re-read
    res = run_experiment(
        synthetic_config(methods=methods), data=changed, progress=False, log=_quiet
    )
    assert res.n_reused == 0


def test_report_lists_each_metric_once_with_the_headline_first(
    synthetic_config, synthetic_data
):
    cfg = synthetic_config(
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 50, "metric": "macro_f1", "confidence": 0.975},
    )
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    head = next(line for line in md.splitlines() if "mean macro-F1 %" in line)
    cols = [c.strip() for c in head.split("|")]
    assert cols.index("mean macro-F1 %") < cols.index("mean UAR %")
    assert cols.count("mean macro-F1 %") == 1 and "mean WA %" in cols
    assert "97.5 % bootstrap CI" in md


def test_few_shot_k_above_the_pool_is_reported(synthetic_config, synthetic_data):
    lines = []
    cfg = synthetic_config(
        protocol={"target": "few_shot", "k": 50, "seeds": [0], "bootstrap": 0},
        methods=[{"name": "dss"}],
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    df = res.results
    assert (df["k_used"] < 50).all()
    assert any("fewer labelled target rows than k = 50" in line for line in lines)
    assert "fewer in some cells" in (cfg.output / "results.md").read_text()


def _cell(cfg, name):
    return json.loads((cfg.output / "cells" / f"{name}.json").read_text())


def test_resume_reuses_cells_when_seeds_or_scoring_settings_change(
    synthetic_config, synthetic_data, tmp_path
):
    # a cell stores its test predictions: the metric, bootstrap and
    # confidence settings rescore it, and a new seed computes only its cells
    def run(output="out", **protocol):
        cfg = synthetic_config(
            methods=[{"name": "dss"}],
            protocol=protocol,
            output=str(tmp_path / output),
        )
        return cfg, run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)

    cfg, res = run(seeds=[0], bootstrap=50)
    assert (res.n_computed, res.n_reused) == (4, 0)
    seconds = _cell(cfg, "a__b__dss__seed0")["seconds"]
    new = {"seeds": [0, 1], "bootstrap": 200, "confidence": 0.9, "metric": "wa"}
    cfg, res = run(**new)
    # 2 pairs x (dss + the guard's baseline) for seed 1 only
    assert (res.n_computed, res.n_reused) == (4, 4)
    rescored = _cell(cfg, "a__b__dss__seed0")
    assert rescored["seconds"] == seconds  # not recomputed, only rescored
    assert rescored["ci"] == {
        "bootstrap": 200,
        "confidence": 0.9,
        "unit": "utterance",
        "version": 2,
    }
    # the rescored results are those of a run from scratch with the new settings
    _, fresh = run(output="fresh", **new)
    cols = ["source", "target", "method", "seed", "uar", "wa", "macro_f1"]
    cols += [f"{m}_{end}" for m in ("uar", "wa", "macro_f1") for end in ("low", "high")]
    pd.testing.assert_frame_equal(res.results[cols], fresh.results[cols])
    assert "mean WA %" in (cfg.output / "results.md").read_text()
    # a rerun does not rescore again (the settings are stored with the cell)
    _, res = run(**new)
    assert (res.n_computed, res.n_reused) == (0, 8)

    # a seed added in front is the new first seed: its cells get the PCA view;
    # the other seeds' cells are reused
    cfg, res = run(**{**new, "seeds": [5, 0, 1]})
    assert (res.n_computed, res.n_reused) == (4, 8)
    assert "pca_after" in _cell(cfg, "a__b__dss__seed5")
    assert (cfg.output / "plots" / "pca_a__b.png").is_file()


def test_resume_recomputes_what_a_change_affects(
    synthetic_config, synthetic_data, tmp_path
):
    def run(methods, **over):
        cfg = synthetic_config(methods=methods, **over)
        return run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)

    dss = {"name": "dss"}
    na = {"name": "na", "scaling": "source"}
    res = run([dss, na])
    assert (res.n_computed, res.n_reused) == (6, 0)
    # a method's scorers: that method and the baseline (which scores every
    # method's scorers for the guard) are recomputed, the other method is not
    both = ["reverse_validation", "importance_weighted"]
    dss = {**dss, "scorers": both}
    res = run([dss, na])
    assert (res.n_computed, res.n_reused) == (4, 2)
    base = res.results[res.results["method"] == "dss"]
    assert base["baseline_label_free_score"].notna().all()
    # the same set of scorers overall: only the changed method
    na = {**na, "scorers": ["importance_weighted"]}
    res = run([dss, na])
    assert (res.n_computed, res.n_reused) == (2, 4)
    # the selection's splits change every label-free score
    res = run([dss, na], protocol={"bootstrap": 100, "selection_splits": 2})
    assert (res.n_computed, res.n_reused) == (6, 0)
    # so does the number of PCA points, for the first seed's cells only
    two = {"bootstrap": 100, "selection_splits": 2, "seeds": [0, 1]}
    res = run([dss, na], protocol=two)
    assert (res.n_computed, res.n_reused) == (6, 6)
    res = run([dss, na], protocol=two, pca_points=40)
    assert (res.n_computed, res.n_reused) == (6, 6)
    assert len(_cell(synthetic_config(), "a__b__dss__seed0")["pca_after"]["xy"]) == 80
    # few-shot: the split depends on k and on the share of test speakers
    # (without label-free scorers, which few-shot selection does not use)
    few = {"target": "few_shot", "k": 3, "bootstrap": 100}
    dss = {"name": "dss"}
    assert run([dss], protocol=few).n_computed == 4
    res = run([dss], protocol={**few, "test_speaker_fraction": 0.25})
    assert (res.n_computed, res.n_reused) == (4, 0)
    res = run([dss], protocol={**few, "test_speaker_fraction": 0.25, "k": 2})
    assert (res.n_computed, res.n_reused) == (4, 0)


def test_speaker_scaled_method_says_why_it_saved_no_model(
    synthetic_config, synthetic_data, read_results_md
):
    # per-speaker normalisation needs speaker ids that a file-only model
    # never gets: the run says so in the cell, the log and the report
    cfg = synthetic_config(
        methods=[{"name": "dss"}, {"name": "spk", "scaling": "speaker"}],
        protocol={"bootstrap": 0, "seeds": [0, 1]},
        save_models=True,
    )
    lines = []
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert (res.results["status"] == "ok").all()
    saved = sorted(p.name for p in (cfg.output / "models").glob("*.skops"))
    assert saved == ["a__b__dss.skops", "b__a__dss.skops"]
    cell = _cell(cfg, "a__b__spk__seed0")
    assert "model" not in cell
    assert re.match(
        r'not saved: scaling = "speaker" standardises', cell["model_not_saved"]
    )
    assert "model_not_saved" not in _cell(cfg, "a__b__spk__seed1")  # seed 0 saves
    said = [line for line in lines if line.startswith("no model saved for")]
    assert len(said) == 2 and 'a -> b spk: not saved: scaling = "speaker"' in said[0]
    md = read_results_md(cfg.output / "results.md")
    section = md.split("## Saved models", 1)[1]
    assert "| a | b | dss | models/a__b__dss.skops |" in section
    assert '| a | b | spk | not saved: scaling = "speaker"' in section
    html = res.report.read_text()
    assert "id='tab-models'" in html
    assert '<td>not saved: scaling = "speaker" standardises' in html
    assert "models/b__a__dss.skops" in html
    # a resumed run reuses the cells and says it again
    lines.clear()
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert (res.n_computed, res.n_reused) == (0, 12)
    assert sum(line.startswith("no model saved for") for line in lines) == 2


def test_a_model_that_fails_to_save_keeps_the_cells_results(
    synthetic_config, synthetic_data, monkeypatch
):
    # one model file that cannot be written must not lose the cell's finished
    # results; a resumed run tries to write it again
    from sertl_experiments import _runner

    cfg = synthetic_config(
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0, "seeds": [0]},
        save_models=True,
    )
    real = _runner._ModelSaver.__call__

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_runner._ModelSaver, "__call__", full_disk)
    lines = []
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert (res.results["status"] == "ok").all()
    assert res.results["uar"].notna().all()
    cell = _cell(cfg, "a__b__dss__seed0")
    assert "model" not in cell
    assert cell["model_not_saved"].startswith(
        "saving the model failed: OSError: [Errno 28] No space left on device"
    )
    assert any(
        line.startswith("no model saved for a -> b dss: saving the model failed")
        for line in lines
    )
    monkeypatch.setattr(_runner._ModelSaver, "__call__", real)
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert res.n_computed == 2  # the two dss cells (one per pair), again
    saved = sorted(p.name for p in (cfg.output / "models").glob("*.skops"))
    assert saved == ["a__b__dss.skops", "b__a__dss.skops"]
    assert "model_not_saved" not in _cell(cfg, "a__b__dss__seed0")


def test_auto_that_chooses_a_speaker_method_names_the_choice():
    from sertl_experiments._recipes import Recipe
    from sertl_experiments._runner import _ModelSaver

    saver = _ModelSaver("m.skops", None, "a", "b", "auto")
    assert saver.why_not(Recipe("dss")) is None
    assert saver.why_not(Recipe("spk", scaling="speaker")).startswith(
        'not saved: auto chose spk, whose scaling = "speaker"'
    )


def test_saving_models_changes_no_selection_and_resumes(
    synthetic_config, synthetic_data, tmp_path
):
    methods = [
        {"name": "dss_grid", "grid": {"classifier__C": [0.1, 10.0]}},
        {"name": "auto", "method": "auto", "candidates": ["dss_grid"]},
    ]
    cfg = synthetic_config(methods=methods, protocol={"bootstrap": 0})
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (6, 0)
    plain = {n: _cell(cfg, f"a__b__{n}__seed0") for n in ("dss_grid", "auto")}
    # asking for models recomputes the cells that save one, not the baseline;
    # the label-free scores and choices stay those of the run without models
    saving = synthetic_config(
        methods=methods, protocol={"bootstrap": 0}, save_models=True
    )
    res = run_experiment(saving, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (4, 2)
    for name, before in plain.items():
        after = _cell(saving, f"a__b__{name}__seed0")
        for k in ("label_free_scores", "candidate_scores", "selected", "y_pred"):
            assert after[k] == before[k], (name, k)
        assert after["model"].endswith(f"a__b__{name}.skops")
    # a deleted model file is written again; models no longer asked for: reuse
    (cfg.output / "models" / "a__b__auto.skops").unlink()
    res = run_experiment(saving, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (1, 5)
    assert (cfg.output / "models" / "a__b__auto.skops").is_file()
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (0, 6)
    assert "## Saved models" not in (cfg.output / "results.md").read_text()
    # a new first seed writes its models over seed 0's files; when seed 0 is
    # first again, its cells write their own models again instead of
    # listing seed 5's files as theirs
    other = {"bootstrap": 0, "seeds": [5, 0]}
    first5 = synthetic_config(methods=methods, protocol=other, save_models=True)
    res = run_experiment(first5, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (6, 6)
    res = run_experiment(saving, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (4, 2)
    from sertl_experiments import load_model

    _, meta = load_model(cfg.output / "models" / "a__b__auto.skops")
    assert meta["seed"] == 0


def test_saved_models_are_found_from_another_folder_or_a_moved_output(
    synthetic_config, synthetic_data, tmp_path, monkeypatch, read_results_md
):
    # a relative output is relative to the working folder (sertl run
    # exp.toml vs sertl run sub/exp.toml), and an output folder can be
    # moved: the model files still belong to their cells, which are reused
    methods = [{"name": "dss"}]
    over = {"methods": methods, "protocol": {"bootstrap": 0}, "save_models": True}
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    res = run_experiment(
        synthetic_config(**over, output="out"),
        data=synthetic_data,
        progress=False,
        log=_quiet,
    )
    assert (res.n_computed, res.n_reused) == (4, 0)
    monkeypatch.chdir(tmp_path)
    cfg = synthetic_config(**over, output="sub/out")
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (0, 4)
    (tmp_path / "sub" / "out").rename(tmp_path / "moved")
    cfg = synthetic_config(**over, output=str(tmp_path / "moved"))
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (0, 4)
    # the reused cells name the files where they now are
    cell = _cell(cfg, "a__b__dss__seed0")
    assert cell["model"] == str(tmp_path / "moved" / "models" / "a__b__dss.skops")
    assert "| a | b | dss | models/a__b__dss.skops |" in read_results_md(
        cfg.output / "results.md"
    )


def _scores(cfg, method, seed=0):
    return {
        (src, tgt): _cell(cfg, f"{src}__{tgt}__{method}__seed{seed}")
        for src, tgt in (("a", "b"), ("b", "a"))
    }


def test_auto_candidate_named_after_a_method_is_that_method(
    synthetic_config, synthetic_data
):
    from dataclasses import replace

    from sertl_experiments import Recipe
    from sertl_experiments._runner import _auto_candidates

    # the experiment's own "dss" (strong regularisation) and "no_adaptation"
    # (its own classifier setting) shadow the default recipes of those names
    dss = {"name": "dss", "params": {"classifier": {"C": 0.02}}}
    na = {"name": "no_adaptation", "scaling": "source"}
    na["params"] = {"classifier": {"C": 10.0}}
    methods = [
        dss,
        na,
        {"name": "default_dss"},  # what the default recipe "dss" is
        {"name": "auto", "method": "auto", "candidates": ["dss"]},
        {"name": "auto_all", "method": "auto"},
    ]
    cfg = synthetic_config(methods=methods, protocol={"bootstrap": 0, "seeds": [0]})
    own = {m.name: Recipe.from_spec(m) for m in cfg.methods}
    listed = _auto_candidates(cfg.methods[3], cfg)
    # no adaptation is added (the experiment's own), then the listed dss
    assert listed == [own["no_adaptation"], own["dss"]]
    installed = {r.name: r for r in _auto_candidates(cfg.methods[4], cfg)}
    assert installed["dss"] == own["dss"]
    assert installed["no_adaptation"] == own["no_adaptation"]
    assert installed["dss"] != replace(own["default_dss"], name="dss")

    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    mine, default = _scores(cfg, "dss"), _scores(cfg, "default_dss")
    for pair, auto in _scores(cfg, "auto").items():
        got = auto["candidate_scores"]["dss"]
        assert got == pytest.approx(mine[pair]["label_free_score"], abs=1e-12)
        # the two recipes score differently, so the check above can fail
        assert got != pytest.approx(default[pair]["label_free_score"], abs=1e-6)


@pytest.mark.parametrize(
    ("methods", "match"),
    [
        (
            # "no_adaptation" adapts, and auto needs its no-adaptation candidate
            [
                {"name": "no_adaptation"},
                {"name": "auto", "method": "auto", "candidates": ["coral"]},
            ],
            r"\[\[methods\]\] auto candidates: 'no_adaptation' is both this "
            r"experiment's method no_adaptation \(domain_standard_scaler -> "
            r"source_only\(svc\)\), which adapts, and the no-adaptation candidate "
            r"that auto always includes \(source_standard_scaler -> "
            r"source_only\(svc\)\); rename the method",
        ),
        (
            [
                {"name": "no_adaptation", "adapter": "coral"},
                {"name": "auto", "method": "auto"},
            ],
            r"auto candidates: 'no_adaptation' is both this experiment's method "
            r"no_adaptation \(domain_standard_scaler -> coral -> ",
        ),
    ],
)
def test_ambiguous_auto_candidate_is_refused(
    synthetic_config, synthetic_data, methods, match
):
    pytest.importorskip("sertl_feature")
    cfg = synthetic_config(methods=methods)
    with pytest.raises(ConfigError, match=match):
        run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert not list(cfg.output.glob("cells/*.json"))


def test_guard_compares_scores_of_the_same_kind_of_classifier(
    synthetic_config, synthetic_data
):
    # prediction_entropy needs probabilities, so "dss" is scored with
    # calibrated classifiers (its reverse validation too); "plain" is scored
    # with the plain SVC. The baseline's score on a scorer must be what no
    # adaptation gets with the classifier the compared method is scored with.
    proba = ["prediction_entropy", "reverse_validation"]
    methods = [
        {"name": "plain", "scaling": "source", "scorers": ["reverse_validation"]},
        {"name": "dss", "scorers": proba},
        {"name": "calibrated", "scaling": "source", "scorers": proba},
    ]
    cfg = synthetic_config(methods=methods, protocol={"bootstrap": 0, "seeds": [0]})
    df = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet).results
    df = df.set_index(["source", "target", "method"])
    plain, cal = _scores(cfg, "plain"), _scores(cfg, "calibrated")
    differ = []
    for (src, tgt), base in _scores(cfg, "_baseline").items():
        row = df.loc[(src, tgt)]
        # no adaptation is not predicted to hurt itself, with either classifier
        for name in ("plain", "calibrated"):
            assert row.loc[name, "baseline_label_free_score"] == pytest.approx(
                row.loc[name, "label_free_score"]
            )
            assert not row.loc[name, "predicted_hurt"]
        assert row.loc["dss", "baseline_label_free_score"] == pytest.approx(
            cal[src, tgt]["label_free_score"]
        )
        guard = base["guard_scores"]
        # NaN where a score could not be computed (e.g. the calibrated reverse
        # model on a pseudo-label class of fewer rows than its 3 folds): the
        # guard must then hold NaN too
        assert guard["plain"] == pytest.approx(
            plain[src, tgt]["label_free_scores"], nan_ok=True
        )
        assert guard["calibrated"] == pytest.approx(
            cal[src, tgt]["label_free_scores"], nan_ok=True
        )
        rv = [guard[kind]["reverse_validation"] for kind in ("plain", "calibrated")]
        differ.append(rv[0] != pytest.approx(rv[1], nan_ok=True))
    # the calibrated classifier gives reverse validation other values (on a
    # pair where both pseudo-label one class, both score that class's UAR; on
    # these few synthetic rows a calibrated reverse model, whose pseudo-labels
    # give a class fewer rows than its 3 folds, has no score: NaN): comparing
    # across kinds would compare unlike scores
    assert any(differ)


def test_upgrading_what_computes_a_cell_recomputes_it(
    synthetic_config, synthetic_data, monkeypatch
):
    pytest.importorskip("sertl_feature")
    from importlib import metadata

    methods = [
        {"name": "dss"},
        {"name": "coral", "adapter": "coral"},
        {"name": "auto", "method": "auto", "candidates": ["coral"]},
    ]
    cfg = synthetic_config(methods=methods, protocol={"bootstrap": 0, "seeds": [0]})

    def run():
        return run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)

    res = run()  # 2 pairs x (3 methods + the baseline)
    assert (res.n_computed, res.n_reused) == (8, 0)
    res = run()  # the same installation: every cell is reused
    assert (res.n_computed, res.n_reused) == (0, 8)
    real = metadata.version

    def upgraded(*names):
        def version(name):
            return "999.0" if name in names else real(name)

        return version

    # sertl-feature computes coral (and auto, which may choose it) only
    monkeypatch.setattr(metadata, "version", upgraded("sertl-feature"))
    res = run()
    assert (res.n_computed, res.n_reused) == (4, 4)
    # each cell records what computed it
    assert _cell(cfg, "b__a__auto__seed0")["versions"]["sertl-feature"] == "999.0"
    assert "sertl-feature" not in _cell(cfg, "a__b__dss__seed0")["versions"]
    res = run()
    assert (res.n_computed, res.n_reused) == (0, 8)
    # scikit-learn computes every cell, the no-adaptation baseline included
    monkeypatch.setattr(metadata, "version", upgraded("sertl-feature", "scikit-learn"))
    assert run().n_computed == 8
    # going back to the original installation recomputes again
    monkeypatch.setattr(metadata, "version", real)
    assert run().n_computed == 8


def test_versions_name_the_distributions_that_compute_a_recipe():
    from importlib import metadata

    from sertl_experiments import Recipe
    from sertl_experiments._runner import _Versions

    env = _Versions()
    base = env.of([Recipe("na", scaling="source")], ["reverse_validation"])
    assert {"sertl-core", "sertl-experiments", "numpy", "scipy", "scikit-learn"} <= set(
        base
    )
    assert not any(d in base for d in ("sertl-feature", "sertl-instance", "torch"))
    pytest.importorskip("sertl_instance")
    kmm = env.of([Recipe("kmm", estimator="kmm")], ["reverse_validation"])
    # the plugin that provides the estimator and what it requires (its solver)
    assert {"sertl-instance", "cvxpy"} <= set(kmm)
    assert kmm["cvxpy"] == metadata.version("cvxpy")


def test_auto_keeping_a_non_adapting_candidate_of_any_name_is_flagged(
    synthetic_config, synthetic_data
):
    from sertl_experiments._report import _table

    # "na" does not adapt: auto adds no default no_adaptation next to it, and
    # choosing it must read as "adaptation predicted to hurt" like the default
    methods = [
        {"name": "na", "scaling": "source"},
        {"name": "auto", "method": "auto", "candidates": ["na", "dss"]},
    ]
    cfg = synthetic_config(methods=methods, protocol={"bootstrap": 0, "seeds": [0]})
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    cells = list(_scores(cfg, "auto").values())
    assert cells and all(c["non_adapting_candidates"] == ["na"] for c in cells)
    assert all(set(c["candidate_scores"]) == {"na", "dss"} for c in cells)
    base = {"source": "a", "target": "b", "seed": 0, "status": "ok"}
    keep = {
        **base,
        "method": "auto",
        "scorer": "reverse_validation",
        "label_free_score": 0.7,
        "candidate_scores": {"na": 0.7, "dss": 0.6},
        "non_adapting_candidates": ["na"],
    }
    adapt = {**keep, "candidate_scores": {"na": 0.6, "dss": 0.7}}
    rows = _table([{**keep, "selected": "na"}, {**adapt, "selected": "dss"}])
    assert rows["predicted_hurt"].tolist() == [True, False]
    assert rows["baseline_label_free_score"].tolist() == [0.7, 0.6]


def test_guard_table_and_banner_count_the_seeds_alike(synthetic_config):
    # the banner named a method hurt in any seed while the table showed the
    # first seed's verdict next to scores averaged over the seeds
    from sertl_experiments._report import _guard_banner, _guard_table, _words

    cfg = synthetic_config(
        methods=[{"name": "auto", "method": "auto", "candidates": ["dss", "coral"]}],
        protocol={"bootstrap": 0, "seeds": [0, 1, 2]},
    )
    base = {"source": "a", "target": "b", "method": "auto", "status": "ok"}
    scores = dict.fromkeys(("mmd_before", "mmd_after", "pad_before", "pad_after"), 0.1)
    rows = [
        {
            **base,
            **scores,
            "seed": 0,
            "predicted_hurt": False,
            "selected": "dss",
            "baseline_label_free_score": 0.5,
            "label_free_score": 0.7,
        },
        {
            **base,
            **scores,
            "seed": 1,
            "predicted_hurt": True,
            "selected": "no_adaptation",
            "baseline_label_free_score": 0.5,
            "label_free_score": 0.4,
        },
        {
            **base,
            **scores,
            "seed": 2,
            "predicted_hurt": False,
            "selected": "dss",
            "baseline_label_free_score": 0.5,
            "label_free_score": 0.7,
        },
    ]
    df = pd.DataFrame(rows)
    t = _guard_table(df, _words(cfg))
    assert len(t) == 1
    assert t["predicted_hurt"].iloc[0] == (
        "yes in 1 of 3 seeds: adaptation predicted to hurt"
    )
    assert t["selected"].iloc[0] == "dss (2 seeds), no_adaptation (1 seed)"
    assert t["label-free score, method"].iloc[0] == pytest.approx(0.6)
    banner = _guard_banner(cfg, df)
    assert "a &rarr; b: auto (in 1 of 3 seeds)" in banner
    assert "auto kept no_adaptation, which does not adapt" in banner
    # no seed hurt: both say no, and the table says over how many seeds
    calm = df.assign(predicted_hurt=False, selected="dss")
    assert _guard_table(calm, _words(cfg))["predicted_hurt"].iloc[0] == (
        "no (none of 3 seeds)"
    )
    assert "No method is predicted to hurt" in _guard_banner(cfg, calm)


def test_listed_class_a_pair_lacks_is_named_in_the_log(
    synthetic_config, synthetic_data
):
    # [labels] classes keeps the listed classes a pair shares; the others
    # were left out without a word
    cfg = synthetic_config(
        labels={"classes": ["anger", "sadness", "surprise"]},
        methods=[{"name": "dss"}],
    )
    lines = []
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert set(res.results["n_classes"]) == {2}
    assert "a -> b: classes anger, sadness; left out: surprise (a, b have none)" in (
        lines
    )


def test_confusion_plots_show_whole_class_names(tmp_path, drawn_figures):
    # the ticks were cut to 4 letters ("happ", "sadn")
    from sertl_experiments import _report

    figs = drawn_figures
    cell = {
        "method": "dss",
        "status": "ok",
        "source": "a",
        "target": "b",
        "confusion": [[2, 1], [0, 3]],
        "classes": ["happiness", "sadness"],
    }
    _report._confusions([cell], tmp_path)
    ax = figs[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["happiness", "sadness"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["happiness", "sadness"]


def test_corpus_names_with_double_underscores_get_files_of_their_own(
    synthetic_config, synthetic_data
):
    # a -> b__c and a__b -> c once shared a__b__c__dss__seed0.json and
    # models/a__b__c__dss.skops: each run recomputed them, one model lost
    from dataclasses import replace

    names = {"a": "a", "a__b": "b", "b__c": "a", "c": "b"}
    # the targets shifted: a copy of a source's rows is refused as its recordings
    shift = {"a": 0.0, "a__b": 0.0, "b__c": 0.5, "c": 0.5}
    data = {
        n: replace(synthetic_data[d], name=n, X=synthetic_data[d].X + shift[n])
        for n, d in names.items()
    }
    cfg = synthetic_config(
        corpora={n: {"root": "unused"} for n in names},
        matrix={"sources": ["a", "a__b"], "targets": ["b__c", "c"]},
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0},
        save_models=True,
    )
    res = run_experiment(cfg, data=data, progress=False, log=_quiet)
    pairs = {("a", "b__c"), ("a", "c"), ("a__b", "b__c"), ("a__b", "c")}
    got = zip(res.results["source"], res.results["target"], strict=True)
    assert set(got) == pairs
    assert (res.results["status"] == "ok").all()
    cells = {json.loads(p.read_text())["key"] for p in (cfg.output / "cells").glob("*")}
    assert len(cells) == 8  # 4 pairs x (dss, the baseline): one file each
    models = sorted((cfg.output / "models").glob("*.skops"))
    assert len(models) == 4
    # the usual names are kept as they were
    assert (cfg.output / "cells" / "a__c__dss__seed0.json").is_file()
    assert (cfg.output / "models" / "a__c__dss.skops").is_file()
    again = run_experiment(cfg, data=data, progress=False, log=_quiet)
    assert (again.n_computed, again.n_reused) == (0, 8)
    assert sorted((cfg.output / "models").glob("*.skops")) == models


def test_plot_file_names_never_collide():
    from sertl_experiments._report import _slug

    names = ["a.b", "a_b", "a__b", "a-b", "dss+coral", "dss_coral", "_a", "a_"]
    slugs = [_slug(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert not any("__" in s or s.startswith("_") or s.endswith("_") for s in slugs)
    # a PCA plot joins source and target with "__": the pairs a__b -> c and
    # a -> b__c get different files
    pca = {f"pca_{_slug(s)}__{_slug(t)}" for s, t in [("a__b", "c"), ("a", "b__c")]}
    assert len(pca) == 2
    assert _slug("speaker_norm") == "speaker_norm"  # usual names stay readable


def test_saved_model_is_checked_against_the_scored_model(
    synthetic_config, synthetic_data
):
    # the saved model is a calibrated refit (probabilities for sertl predict)
    # whose labels can differ from those of the model whose UAR is reported:
    # the run measures it on the cell's test rows and says so
    from sertl_experiments import load_model
    from sertl_experiments._runner import _labels
    from sklearn.metrics import recall_score

    cfg = synthetic_config(
        methods=[{"name": "dss"}], protocol={"bootstrap": 0}, save_models=True
    )
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    cell = _cell(cfg, "a__b__dss__seed0")
    assert cell["model_calibrated"] is True
    model, meta = load_model(cfg.output / "models" / "a__b__dss.skops")
    # the saved model's own labels of the test rows (all of b's rows here)
    labels = cell["classes"]
    mine = np.asarray(model[1:].predict(synthetic_data["b"].X)).astype(str)
    scored = _labels(cell["y_pred"], labels)
    truth = _labels(cell["y_test"], labels)
    uar = recall_score(truth, mine, labels=labels, average="macro")
    assert cell["model_uar"] == pytest.approx(uar)
    assert cell["model_agreement"] == pytest.approx(np.mean(mine == scored))
    assert meta["calibrated_refit"] is True
    assert meta["test_uar"] == pytest.approx(uar)
    assert meta["agreement_with_scored_model"] == cell["model_agreement"]
    assert "probability-calibrated refit" in meta["note"]
    md = (cfg.output / "results.md").read_text()
    section = md.split("## Saved models", 1)[1]
    assert "is a probability-calibrated refit of it" in section
    assert "3-fold sigmoid CalibratedClassifierCV" in section
    head = next(ln for ln in section.splitlines() if ln.startswith("| source"))
    assert head.endswith("| reported UAR % | saved model's UAR % | same label % |")
    row = next(ln for ln in section.splitlines() if ln.startswith("| a | b | dss"))
    assert row.endswith(
        f"| {100 * cell['uar']:.1f} | {100 * uar:.1f} "
        f"| {100 * cell['model_agreement']:.1f} |"
    )
    html = (cfg.output / "report.html").read_text()
    assert "saved model&#x27;s UAR %" in html and "same label %" in html
    # a cell saved before this check is recomputed to get it
    path = cfg.output / "cells" / "a__b__dss__seed0.json"
    old = dict(cell)
    for key in ("model_uar", "model_agreement", "model_calibrated"):
        old.pop(key)
    path.write_text(json.dumps(old))
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (1, 3)
    assert _cell(cfg, "a__b__dss__seed0")["model_agreement"] == cell["model_agreement"]


def test_a_classifier_with_probabilities_saves_the_scored_model(
    synthetic_config, synthetic_data
):
    from sertl_experiments import load_model

    cfg = synthetic_config(
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0},
        classifier={"name": "logreg"},
        save_models=True,
    )
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    cell = _cell(cfg, "a__b__dss__seed0")
    assert cell["model_calibrated"] is False
    assert cell["model_agreement"] == 1.0 and cell["model_uar"] == cell["uar"]
    _, meta = load_model(cfg.output / "models" / "a__b__dss.skops")
    assert meta["calibrated_refit"] is False
    md = (cfg.output / "results.md").read_text()
    assert "The saved model is the scored model" in md


def test_gradient_boosting_classifier_saves_a_model_that_loads(
    synthetic_config, synthetic_data
):
    # its trees are checked on load (HistGradientBoosting was refused before)
    from sertl_experiments import load_model

    cfg = synthetic_config(
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0},
        classifier={"name": "hist_gradient_boosting", "params": {"max_iter": 20}},
        save_models=True,
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.results["status"] == "ok").all()
    cell = _cell(cfg, "a__b__dss__seed0")
    assert cell["model_calibrated"] is False and cell["model_agreement"] == 1.0
    model, meta = load_model(cfg.output / "models" / "a__b__dss.skops")
    trees = model[-1].estimator_  # SourceOnly around the classifier
    assert type(trees).__name__ == "HistGradientBoostingClassifier"
    assert trees.n_iter_ == 20 and meta["test_uar"] == cell["uar"]


def test_few_shot_choices_are_not_called_label_free(synthetic_config, synthetic_data):
    # under few-shot, auto and grids choose on labelled target rows (the
    # scorer "target"): the report said "label-free" and "without target labels"
    import html

    cfg = synthetic_config(
        protocol={"target": "few_shot", "k": 3, "bootstrap": 0},
        methods=[
            {"name": "dss", "grid": {"classifier__C": [0.1, 10.0]}},
            {"name": "auto", "method": "auto", "candidates": ["dss"]},
        ],
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    assert (res.results["status"] == "ok").all()
    md = (cfg.output / "results.md").read_text()
    page = html.unescape(res.report.read_text())
    for text in (md, page):
        assert "label-free" not in text and "without target labels" not in text
    assert '## Choices made on labelled target rows (method = "auto"' in md
    assert "score on labelled target rows, method" in md
    assert "auto (choice on labelled target rows among dss)" in page
    assert "by the guard (scores on labelled target rows)" in page
    # the unlabelled protocol keeps its words
    cfg = synthetic_config(
        protocol={"bootstrap": 0},
        methods=[{"name": "auto", "method": "auto", "candidates": ["dss"]}],
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    assert '## Choices made without target labels (method = "auto"' in md
    assert "auto (label-free choice among dss)" in html.unescape(res.report.read_text())


def test_run_names_training_files_that_predict_would_caution_about(tmp_path):
    # sertl predict flags an 8 kHz recording (no upper band) and a recording
    # far longer than an utterance; the same files in a training corpus
    # went into the model without a word
    import soundfile as sf
    from scipy.signal import resample_poly
    from sertl_experiments import parse_config
    from sertl_speech import load_sample

    table = load_sample("ravdess")
    rows, folder = [], tmp_path / "mine"
    folder.mkdir()
    for i, r in enumerate(table.itertuples()):
        x, sr = sf.read(r.file)
        name = f"u{i:02d}.wav"
        if i in (0, 5):  # two telephone-band copies
            x, sr = resample_poly(x, 8000, sr), 8000
        if i == 9:  # one long recording
            x = np.tile(x, int(np.ceil(31 * sr / len(x))))
        sf.write(folder / name, x, sr)
        rows.append({"file": name, "emotion": r.emotion, "speaker": r.speaker})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    cfg = parse_config(
        {
            "output": str(tmp_path / "out"),
            "corpora": {
                "a": {"reader": "emodb", "root": "sample"},
                "mine": {"reader": "csv", "root": str(folder / "labels.csv")},
            },
            "matrix": {"sources": ["a"], "targets": ["mine"]},
            "features": {"set": "mfcc_stats", "cache_dir": str(tmp_path / "cache")},
            "protocol": {"bootstrap": 0},
            "methods": [{"name": "dss"}],
        }
    )
    lines = []
    run_experiment(cfg, progress=False, log=lambda *a: lines.append(" ".join(a)))
    said = [line for line in lines if line.startswith("corpus mine: ")]
    assert any(
        line.startswith("corpus mine: 2 of 48 file(s) band-limited (u00.wav, u05.wav)")
        and "recorded at 8000 Hz" in line
        for line in said
    ), lines
    assert any(
        line.startswith("corpus mine: 1 of 48 file(s) long (u09.wav)") for line in said
    ), lines
    assert not any(
        line.startswith("corpus a: ") and "band-limited" in line for line in lines
    )
    md = (cfg.output / "results.md").read_text()
    section = md.split("## Files with cautions", 1)[1]
    assert "| mine | band-limited | 2 | u00.wav, u05.wav |" in section
    assert "| mine | long | 1 | u09.wav |" in section
    assert "Files with cautions" in (cfg.output / "report.html").read_text()


def test_unscaled_sample_notes_are_one_kind_of_caution():
    # the note starts with its peak ("peak 32767: ..."): each peak was its
    # own kind, a log line and a report row per distinct value
    from sertl_experiments._predict import caution_kind
    from sertl_experiments._runner import _report_cautions
    from sertl_speech._audio import _pcm_scale_note

    found = {i: [_pcm_scale_note(p, file=True)] for i, p in enumerate((32767.0, 12.5))}
    assert {caution_kind(n[0]) for n in found.values()} == {"unscaled samples"}
    lines, rows = [], []
    _report_cautions("mine", ["a.wav", "b.wav"], found, lines.append, rows)
    assert len(lines) == 1 and lines[0].startswith(
        "corpus mine: 2 of 2 file(s) unscaled samples (a.wav, b.wav)"
    )
    assert [(r["caution"], r["files"]) for r in rows] == [("unscaled samples", 2)]


def _folder_corpora(monkeypatch):
    """Read corpora a and b as the folders reader gives them, with folder names.

    a's folders are ``angry`` (read as anger), ``anger``, ``neutral`` and
    ``Sad`` (sadness).
    """
    rng = np.random.default_rng(2)
    folders = {
        "a": [("angry", "anger"), ("anger", "anger"), ("neutral", "neutral")]
        + [("Sad", "sadness")],
        "b": [("anger", "anger"), ("neutral", "neutral"), ("sadness", "sadness")],
    }
    tables, vectors = {}, {}
    for name, labels in folders.items():
        rows = []
        for i in range(48):
            orig, emo = labels[i % len(labels)]
            f = f"{name}/{orig}/{i}.wav"
            vectors[f] = rng.normal(size=3)
            rows.append(
                {"file": f, "emotion": emo, "emotion_orig": orig, "speaker": str(i % 4)}
            )
        tables[name] = pd.DataFrame(rows)
    _serve(monkeypatch, tables, vectors)


def test_label_mapping_takes_a_folders_corpus_labels_as_written(
    synthetic_config, monkeypatch
):
    # the folder is called "angry" on disk: refused before, as no corpus had
    # the emotion "angry" (the reader had read it as "anger")
    from sertl_experiments._runner import _prepare_data

    _folder_corpora(monkeypatch)

    def labels(mapping):
        cfg = synthetic_config(
            methods=[{"name": "dss"}],
            labels={"classes": "all", "mapping": mapping},
        )
        data, _ = _prepare_data(cfg, client=None, progress=False, log=_quiet)
        return dict(zip(*np.unique(data["a"].y, return_counts=True), strict=True))

    as_read = {"anger": 24, "neutral": 12, "sadness": 12}
    # the emotion the reader already gives: changes nothing
    assert labels({"angry": "anger", "sad": "sadness"}) == as_read
    # another emotion: the files of that folder only ("anger/" stays anger)
    assert labels({"angry": "neutral"}) == {"anger": 12, "neutral": 24, "sadness": 12}
    assert labels({"Sad": "neutral"}) == {"anger": 24, "neutral": 24}
    cfg = synthetic_config(
        methods=[{"name": "dss"}], labels={"mapping": {"angri": "neutral"}}
    )
    with pytest.raises(
        ConfigError,
        match=r"mapping angri: no corpus has the emotion 'angri'\..* or labels as "
        r"a csv or folders corpus writes them \(folder names",
    ):
        run_experiment(cfg, progress=False, log=_quiet)


def test_rerun_that_reuses_every_cell_removes_plots_of_dropped_methods(
    synthetic_config, synthetic_data
):
    # coral's plots stayed beside the new report when no cell was computed
    cfg = synthetic_config(methods=[{"name": "no_adaptation"}, {"name": "dss"}])
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    plots = cfg.output / "plots"
    assert (plots / "heatmap_no_adaptation.png").is_file()
    (plots / "notes.txt").write_text("mine")
    res = run_experiment(
        synthetic_config(methods=[{"name": "dss"}]),
        data=synthetic_data,
        progress=False,
        log=_quiet,
    )
    assert res.n_computed == 0
    names = {p.name for p in plots.iterdir()}
    assert "heatmap_dss.png" in names and "notes.txt" in names
    assert not {n for n in names if "no_adaptation" in n}, names


def test_report_names_the_classifier_params_and_the_corpora(
    synthetic_config, synthetic_data
):
    cfg = synthetic_config(
        methods=[{"name": "dss"}],
        classifier={"params": {"C": 10.0}},
        protocol={"bootstrap": 0, "metric": "macro_f1"},
    )
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    html = (cfg.output / "report.html").read_text()
    root = cfg.corpora["a"].root
    for text in (md, html):
        assert "classifier svc with C=10.0." in text
        assert f"a (reader a, root {root}); b (reader b, root {root})" in text
        # the tables' metric names, not MACRO_F1
        assert "metric macro-F1;" in text.replace("<b>", "").replace("</b>", "")
        assert "MACRO_F1" not in text
        # no interval without bootstrap resamples: the title promises none
        assert "Per pair (macro-F1 %)" in text and "bootstrap CI" not in text


def test_summary_ranks_methods_on_the_pairs_every_method_finished():
    from sertl_experiments._report import _summary

    rows = [
        ("a", "b", "dss", "ok", 0.50),
        ("b", "a", "dss", "ok", 0.20),
        ("a", "b", "tca", "ok", 0.40),
        ("b", "a", "tca", "error", None),  # tca's mean over (a, b) alone: 40
    ]
    df = pd.DataFrame(rows, columns=["source", "target", "method", "status", "uar"])
    df = df.assign(seed=0, wa=df["uar"], macro_f1=df["uar"], predicted_hurt=None)
    table, note = _summary(df, "uar")
    # dss's 35.0 over both pairs was ranked below tca's 40.0 over the easy one
    assert list(table.index) == ["dss", "tca"]
    assert table["mean UAR %"].tolist() == [50.0, 40.0]
    assert table["pairs"].tolist() == [2, 1]
    assert table["mean UAR % over its pairs"].tolist() == [35.0, 40.0]
    assert "the means are over the 1 pair(s) (and seeds) that every method " in note
    # no pair finished by both: each method's own mean, not ranked
    df.loc[0, "status"] = "error"
    table, note = _summary(df, "uar")
    assert list(table.index) == ["dss", "tca"] and table["pairs"].tolist() == [1, 1]
    assert "not comparable: the methods are not ranked" in note
    df["status"] = "ok"
    df["uar"] = df["uar"].fillna(0.2)
    assert _summary(df, "uar")[1] is None


def test_equal_scores_print_alike_at_one_decimal():
    # UAR 15/48 as a sum of recalls is 0.31250000000000006, WA 0.3125: the
    # tables showed 31.3 and 31.2 for the same score
    from sertl_experiments._report import _cell_text, _pair_table, _percent, _summary

    uar, wa = 0.31250000000000006, 0.3125
    df = pd.DataFrame(
        {
            "source": ["a", "a"],
            "target": ["b", "b"],
            "method": ["dss", "kmm"],
            "seed": 0,
            "status": "ok",
            "uar": [uar, wa],
            "wa": [wa, wa],
            "macro_f1": [wa, wa],
            "predicted_hurt": None,
            "n_train": 10,
            "n_test": 48,
        }
    )
    summary, _ = _summary(df, "uar")
    shown = {_cell_text(v, ".1f") for v in summary[["mean UAR %", "mean WA %"]].stack()}
    assert shown == {"31.2"}
    pairs = _pair_table(df, "uar")
    assert {_cell_text(v, ".1f") for v in pairs[["UAR", "WA"]].stack()} == {"31.2"}
    assert _cell_text(100 * uar, ".1f") == _cell_text(100 * wa, ".1f") == "31.2"
    assert _percent(uar) == _percent(wa)


def test_one_row_pca_title_clears_the_panel_titles_and_the_edges(
    tmp_path, drawn_figures
):
    # the title was drawn over "before adaptation" and "dss" and past both edges
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from sertl_experiments import _report

    figs = drawn_figures
    view = {"xy": [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], "source": [True, False, True]}
    cells = [
        {"method": m, "status": "ok", "seed": 0, "source": "emodb", "target": "urdu"}
        | {"pca_after": view}
        for m in ("_baseline", "dss")
    ]
    _report._pca_views(cells, tmp_path, 0)
    (fig,) = figs
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (title,) = fig.texts
    box = title.get_window_extent(renderer)
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (box, fig.bbox)
    assert box.y1 <= fig.bbox.height
    for ax in fig.axes:
        assert box.y0 >= ax.title.get_window_extent(renderer).y1, ax.get_title()


class _KillsItsWorker:
    """Unpickled in a joblib worker, ends that process (as the OOM killer would)."""

    def __reduce__(self):
        return os._exit, (3,)


def test_jobs_cell_whose_worker_dies_is_a_failed_cell(
    synthetic_config, synthetic_data, monkeypatch
):
    # `sertl run --jobs 2`: a cell that takes its worker down failed the
    # whole run with loky's TerminatedWorkerError (and again on every rerun)
    from sertl_experiments import _runner

    execute = _runner._execute

    def poisoned(tasks, **kw):
        tasks[1][1]["poison"] = _KillsItsWorker()
        return execute(tasks, **kw)

    monkeypatch.setattr(_runner, "_execute", poisoned)
    cfg = synthetic_config(
        methods=[{"name": "no_adaptation", "scaling": "source"}, {"name": "dss"}],
        protocol={"bootstrap": 0},
    )
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet, n_jobs=2)
    cells = [json.loads(p.read_text()) for p in (cfg.output / "cells").glob("*.json")]
    failed = [c for c in cells if c["status"] != "ok"]
    assert len(cells) == 6 and len(failed) == 1, [c["status"] for c in cells]
    assert "TerminatedWorkerError" in failed[0]["error"]
    assert res.n_failed == 1


def test_fit_warnings_are_logged_once_per_cause_and_kept(
    synthetic_config, synthetic_data
):
    # a classifier that cannot converge: the run used to drop its
    # ConvergenceWarning silently in every cell; it is now logged once, with
    # the number of cells, and kept in each cell's file (also on resume)
    cfg = synthetic_config(
        classifier={"name": "logreg", "params": {"max_iter": 1}},
        methods=[{"name": "no_adaptation", "scaling": "source"}, {"name": "dss"}],
    )
    lines = []
    run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    # (the guard's label-free scoring fits it too: its line says so, below)
    conv = [line for line in lines if "warning: ConvergenceWarning" in line]
    assert len(conv) == 1, lines
    assert conv[0].startswith("warning: ") and "max_iter" in conv[0]
    assert "while fitting" in conv[0] and "_baseline" not in conv[0]
    cells = [json.loads(p.read_text()) for p in (cfg.output / "cells").glob("*.json")]
    assert cells and all(c.get("fit_warnings") for c in cells)
    # and the report says it, in results.md and report.html
    md = (cfg.output / "results.md").read_text(encoding="utf-8")
    section = md.split("## Warnings while fitting", 1)[1]
    assert (
        "ConvergenceWarning" in section and f"{len(cells)} of {len(cells)}" in section
    )
    page = (cfg.output / "report.html").read_text(encoding="utf-8")
    assert "id='tab-fit-warnings'" in page and "ConvergenceWarning" in page
    lines.clear()
    run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    assert sum("warning: ConvergenceWarning" in line for line in lines) == 1


def test_selection_warnings_are_noted_as_the_selections(
    synthetic_config, synthetic_data
):
    # one grid point cannot converge: the selection's fits ran under a blanket
    # ignore, so nothing said so; now noted like the cell's own warnings, once,
    # and said to come from the selection (not the chosen model). A candidate
    # that fails is reported by its error only.
    pytest.importorskip("sertl_feature")
    broken = {"subspace_alignment": {"n_components": 50}}
    cfg = synthetic_config(
        classifier={"name": "logreg", "params": {"max_iter": 1000}},
        methods=[
            {"name": "no_adaptation", "scaling": "source"},
            {"name": "dss", "grid": {"classifier__max_iter": [1, 1000]}},
            {"name": "broken", "adapter": "subspace_alignment", "params": broken},
            {"name": "auto", "method": "auto", "candidates": ["dss", "broken"]},
        ],
    )
    lines = []
    run_experiment(cfg, data=synthetic_data, progress=False, log=lines.append)
    sel = [line for line in lines if "during selection: ConvergenceWarning" in line]
    assert len(sel) == 1 and sel[0].startswith("warning: "), lines
    assert "max_iter" in sel[0] and "while fitting" in sel[0]
    cells = [json.loads(p.read_text()) for p in (cfg.output / "cells").glob("*.json")]
    noted = {c["method"]: c.get("fit_warnings", []) for c in cells}
    assert any(
        t.startswith("during selection: ConvergenceWarning") for t in noted["dss"]
    )
    assert not any("n_components" in t for ts in noted.values() for t in ts), noted
    md = (cfg.output / "results.md").read_text(encoding="utf-8")
    assert (
        "during selection: ConvergenceWarning"
        in md.split("## Warnings while fitting", 1)[1]
    )


def test_train_model_raises_its_fit_warnings(monkeypatch):
    # its fit ran under a blanket ignore: a model that did not converge was
    # saved without a word
    from sertl_experiments import Recipe, _train, train_model
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    monkeypatch.setattr(_train, "extract_features", lambda files, *a, **k: (X, []))
    labels = np.where(X[:20, 0] > 0, "anger", "sadness")
    files = [f"f{i}.wav" for i in range(30)]
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        train_model(
            Recipe("dss"),
            files[:20],
            labels,
            files[20:],
            classifier="logreg",
            classifier_params={"max_iter": 1},
        )


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_evaluate_returns_its_candidates_warnings(n_jobs):
    # in joblib workers too: recorded there and returned with the scores
    from sertl_experiments import Recipe, evaluate

    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(60, 3))
    ys = np.where(Xs[:, 0] > 0, "anger", "sadness")
    X = np.vstack([Xs, 3 * rng.normal(size=(40, 3)) + 5])
    y, sd = np.r_[ys, ["-1"] * 40], np.r_[np.ones(60, int), -np.ones(40, int)]
    cands = [Recipe("dss", grid={"classifier__max_iter": [1, 1000]})]
    res, _ = evaluate(cands, X, y, sd, classifier="logreg", n_jobs=n_jobs)
    assert [len(r["warnings"]) for r in res] == [1, 0]
    assert res[0]["warnings"][0].startswith("ConvergenceWarning: lbfgs failed")


def test_warnings_recorded_in_two_threads_at_once_stay_apart():
    # cells on a Dask worker of several threads record at once: with one
    # catch_warnings each, A's warning went to B's cell, and B, ending last,
    # restored A's recorder and filters for good (every later warning of the
    # worker swallowed)
    import threading
    import warnings

    from sertl_experiments._selection import _recording_warnings

    filters = list(warnings.filters)
    out = {}
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with _recording_warnings() as texts:
            a_in.set()
            b_in.wait(10)
            warnings.warn("from A", UserWarning, stacklevel=1)
        out["A"] = texts
        a_out.set()

    def b():
        a_in.wait(10)
        with _recording_warnings() as texts:
            b_in.set()
            a_out.wait(10)
            warnings.warn("from B", UserWarning, stacklevel=1)
        out["B"] = texts

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert out == {"A": ["UserWarning: from A"], "B": ["UserWarning: from B"]}
    assert warnings.filters == filters
    with pytest.warns(UserWarning, match="shown again"):
        warnings.warn("shown again", UserWarning, stacklevel=1)


def test_output_folder_that_cannot_be_made_names_the_field(
    synthetic_config, synthetic_data, monkeypatch
):
    # a read-only disk or a missing mount: "[Errno 13] Permission denied"
    # named neither the folder's field nor what to do
    from pathlib import Path

    cfg = synthetic_config()
    mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self == cfg.output / "cells":
            raise PermissionError(13, "Permission denied")
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(
        ExperimentError,
        match=r"output folder .*out: cannot be made \(Permission denied\); give a "
        r"folder you can write \(output = \.\.\. in the experiment file, or --output\)",
    ):
        run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)


def test_jobs_beyond_the_cells_start_no_more_workers(synthetic_config, synthetic_data):
    # loky sized its pool to --jobs: 10**15 failed with an OverflowError
    # traceback after the features were extracted
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    res = run_experiment(
        cfg, data=synthetic_data, progress=False, log=_quiet, n_jobs=10**15
    )
    assert res.n_failed == 0 and res.n_computed == 4


def test_label_mapping_key_renames_its_label_in_every_case(
    synthetic_config, monkeypatch
):
    # a CSV labelled "Wut" on some lines and "wut" on others: the reader reads
    # them as one label, but [labels] mapping Wut = "anger" renamed the "Wut"
    # rows only and the run left the "wut" rows out as a label no pair shares
    from sertl_experiments._data import mapped_labels_left_out
    from sertl_experiments._runner import _prepare_data

    rng = np.random.default_rng(3)
    written = {"a": ["Wut", "wut", " WUT", "neutral"], "b": ["anger", "neutral"]}
    tables, vectors = {}, {}
    for name, labels in written.items():
        rows = []
        for i in range(48):
            orig = labels[i % len(labels)]
            f = f"{name}/{i}.wav"
            vectors[f] = rng.normal(size=3)
            rows.append(
                {
                    "file": f,
                    "emotion": orig.strip().lower(),  # as the csv reader reads it
                    "emotion_orig": orig,
                    "speaker": "s",
                }
            )
        tables[name] = pd.DataFrame(rows)
    _serve(monkeypatch, tables, vectors)
    for key in ("Wut", "WUT", "wut"):
        cfg = synthetic_config(
            methods=[{"name": "dss"}], labels={"mapping": {key: "anger"}}
        )
        data, _ = _prepare_data(cfg, client=None, progress=False, log=_quiet)
        counts = dict(zip(*np.unique(data["a"].y, return_counts=True), strict=True))
        assert counts == {"anger": 36, "neutral": 12}, key
    # the reader's advice to rename "wut" is left out once the mapping maps it
    table = pd.DataFrame({"file": ["a.wav"]})
    table.attrs["warnings"] = [
        {"warning": "csv: label(s) ['wut'] ...", "count": 1, "labels": ["wut"]}
    ]
    mapped_labels_left_out(table, {"Wut": "anger"})
    assert table.attrs["warnings"] == []


def test_label_mapping_renames_as_select_emotions_does(synthetic_config, monkeypatch):
    # a capitalised key that is an emotion: select_emotions renamed every
    # anger row with "Anger", sertl run only the rows a folder wrote "anger"
    # (and none of corpus b, which writes no labels); one rule for both now
    from sertl_experiments._runner import _prepare_data
    from sertl_speech import select_emotions

    rng = np.random.default_rng(4)
    written = {"a": ["angry", "anger", "Anger", "neutral"], "b": [None, None]}
    read = {"a": ["anger", "anger", "anger", "neutral"], "b": ["anger", "neutral"]}
    tables, vectors = {}, {}
    for name, labels in written.items():
        rows = []
        for i in range(48):
            f = f"{name}/{i}.wav"
            vectors[f] = rng.normal(size=3)
            row = {"file": f, "emotion": read[name][i % len(labels)], "speaker": "s"}
            if labels[0] is not None:  # a folders corpus: its folder names
                row["emotion_orig"] = labels[i % len(labels)]
            rows.append(row)
        tables[name] = pd.DataFrame(rows)
    _serve(monkeypatch, tables, vectors)
    got = {}
    for key in ("Anger", "angry"):
        mapping = {key: "frustration"}
        cfg = synthetic_config(
            methods=[{"name": "dss"}],
            labels={"classes": "all", "mapping": mapping},
        )
        data, _ = _prepare_data(cfg, client=None, progress=False, log=_quiet)
        for name, table in tables.items():
            y = data[name].y
            got[key, name] = dict(zip(*np.unique(y, return_counts=True), strict=True))
            want = select_emotions(table, mapping=mapping)["emotion"].value_counts()
            assert got[key, name] == want.to_dict(), (key, name)
    assert got["Anger", "a"] == {"frustration": 36, "neutral": 12}
    assert got["Anger", "b"] == {"frustration": 24, "neutral": 24}
    # a label as written renames that folder's rows only
    assert got["angry", "a"] == {"anger": 24, "frustration": 12, "neutral": 12}


def test_run_experiment_given_features_refuses_a_target_holding_source_recordings(
    synthetic_config, synthetic_data
):
    # run_experiment(data=...) skipped the check sertl run and sertl grid
    # apply, and scored a target that copies its source's rows
    from dataclasses import replace

    a = synthetic_data["a"]
    copied = replace(
        synthetic_data["b"],
        X=np.vstack([a.X[:2], synthetic_data["b"].X[2:]]),
    )
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    with pytest.raises(ExperimentError, match=r"^a -> b: 2 of the \d+ files of b are"):
        run_experiment(cfg, data={"a": a, "b": copied}, progress=False, log=_quiet)


def test_a_recording_held_twice_by_the_target_is_named_twice():
    # a user's corpus holding one source recording twice (copied in twice):
    # the refusal named one copy only and counted the target's files once
    # per recording, so removing the named file ran into the other copy
    from sertl_experiments import parse_config
    from sertl_experiments._data import CorpusData
    from sertl_experiments._runner import check_shared_recordings

    cfg = parse_config(
        {
            "corpora": {"src": {"root": "x"}, "mine": {"root": "y"}},
            "matrix": {"sources": ["src"], "targets": ["mine"]},
            "methods": [{"name": "dss"}],
        }
    )

    def corpus(name, rows):
        X = np.asarray(rows, dtype=float)
        files = np.array([f"{name}/{i}.wav" for i in range(len(X))])
        n = len(X)
        return CorpusData(name, X, np.array(["anger"] * n), np.array(["s"] * n), files)

    data = {
        "src": corpus("src", [[0.0, 1.0], [2.0, 3.0]]),
        "mine": corpus("mine", [[2.0, 3.0], [5.0, 5.0], [2.0, 3.0], [7.0, 7.0]]),
    }
    with pytest.raises(
        ExperimentError,
        match=r"^src -> mine: 2 of the 4 files of mine are recordings of the "
        r"source .*\n  mine/0\.wav = src/1\.wav\n  mine/2\.wav = src/1\.wav$",
    ):
        check_shared_recordings(cfg, data)


def test_speaker_scaling_refuses_speaker_ids_shared_by_pooled_corpora(synthetic_config):
    # features given as data= with speaker ids "0".."3" in every corpus: the
    # pooled sources and the target were normalised as four speakers of
    # three corpora each, silently (UAR 0.02 against 0.72 with the ids apart)
    from sertl_experiments._data import CorpusData

    def corpus(name, shift, prefix):
        rng = np.random.default_rng(shift)
        k = np.arange(60) % 3
        X = (rng.normal(size=(60, 5)) + k[:, None]) * (1 + shift) + 3 * shift
        y = np.array(["anger", "neutral", "sadness"])[k]
        spk = np.array([f"{prefix}{i % 4}" for i in range(60)])
        files = np.array([f"{name}/{i}.wav" for i in range(60)])
        return CorpusData(name, X, y, spk, files)

    cfg = synthetic_config(
        corpora={c: {"root": "unused"} for c in "abc"},
        matrix={"sources": [["a", "b"]], "targets": ["c"]},
        methods=[{"name": "dss"}, {"name": "spk", "scaling": "speaker"}],
        protocol={"bootstrap": 0},
    )
    shared = {n: corpus(n, i, "") for i, n in enumerate("abc")}
    with pytest.raises(
        ExperimentError,
        match=r"^a \+ b -> c: the corpora a, b, c share speaker ids \('0', '1', "
        r"'2' and 1 more\), and the method\(s\) spk normalise each speaker .* "
        r'name \+ ":" \+ speaker\.$',
    ):
        run_experiment(cfg, data=shared, progress=False, log=_quiet)
    # ids that name their corpus run; without a per-speaker method any ids do
    named = {n: corpus(n, i, f"{n}:") for i, n in enumerate("abc")}
    res = run_experiment(cfg, data=named, progress=False, log=_quiet)
    assert set(res.results["status"]) == {"ok"}
    cfg = synthetic_config(
        corpora={c: {"root": "unused"} for c in "abc"},
        matrix={"sources": [["a", "b"]], "targets": ["c"]},
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0},
        output=str(Path(cfg.output).parent / "other"),
    )
    res = run_experiment(cfg, data=shared, progress=False, log=_quiet)
    assert set(res.results["status"]) == {"ok"}


def test_shared_recordings_on_the_command_line_name_the_option_not_the_matrix():
    # sertl grid --source emodb=sample --target folders=COPY said "leave this
    # pair out of [matrix]", a table the command line does not have
    from sertl_experiments import parse_config
    from sertl_experiments._data import CorpusData
    from sertl_experiments._runner import check_shared_recordings

    cfg = parse_config(
        {
            "corpora": {"src": {"root": "x"}, "mine": {"root": "y"}},
            "matrix": {"sources": ["src"], "targets": ["mine"]},
            "methods": [{"name": "dss"}],
        }
    )
    X = np.array([[0.0, 1.0], [2.0, 3.0]])
    data = {
        n: CorpusData(
            n,
            X,
            np.array(["anger"] * 2),
            np.array(["s"] * 2),
            np.array([f"{n}/0.wav", f"{n}/1.wav"]),
        )
        for n in ("src", "mine")
    }
    with pytest.raises(ExperimentError, match=r"or leave this pair out of \[matrix\]"):
        check_shared_recordings(cfg, data)
    cfg.corpora["src"].where = "--source emodb=sample"
    cfg.corpora["mine"].where = "--target folders=copy"
    with pytest.raises(ExperimentError) as err:
        check_shared_recordings(cfg, data)
    assert "or give another target than --target folders=copy.\n" in str(err.value)
    assert "[matrix]" not in str(err.value)


def test_shared_classes_of_given_features_are_those_every_corpus_has(
    synthetic_config, make_corpora
):
    # sertl run keeps, with classes = "shared", the classes every corpus of
    # the matrix has; given features (data=) kept per pair those its two
    # corpora share, so a -> b trained and scored on neutral that c lacks
    data = make_corpora()
    c = make_corpora(("anger", "happiness", "sadness"))["b"]
    data["c"] = CorpusData(
        "c", c.X, c.y, np.char.replace(c.speakers, "b:", "c:"), c.files
    )
    cfg = synthetic_config(
        corpora={n: {"root": "unused"} for n in "abc"},
        matrix={"sources": ["a"], "targets": ["b", "c"]},
        methods=[{"name": "dss"}],
        protocol={"bootstrap": 0},
    )
    lines = []
    run_experiment(cfg, data=data, progress=False, log=lines.append)
    cells = [json.loads(f.read_text()) for f in (cfg.output / "cells").iterdir()]
    assert {(x["target"], tuple(x["classes"])) for x in cells} == {
        ("b", ("anger", "sadness")),
        ("c", ("anger", "sadness")),
    }
    md = (cfg.output / "results.md").read_text()
    section = md.split("## Labels left out", 1)[1].split("\n## ", 1)[0]
    why = 'not shared by every corpus ([labels] classes = "shared")'
    for corpus, label, lacking in [
        ("a", "neutral", "c has"),
        ("b", "neutral", "c has"),
        ("c", "happiness", "a, b have"),
    ]:
        line = f"corpus {corpus}: 30 file(s) labelled {label} left out: {why}: "
        assert line + f"{lacking} none" in lines
        shown = why.replace("[", "\\[").replace("]", "\\]")  # markdown
        assert f"| {corpus} | {label} | 30 | {shown}: {lacking} none |" in section
    # the caller's data is not changed
    assert set(data["a"].y) == {"anger", "neutral", "sadness"}
