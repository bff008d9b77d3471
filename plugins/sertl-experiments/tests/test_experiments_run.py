import json
import re

import numpy as np
import pandas as pd
import pytest
from sertl_experiments import ConfigError, ExperimentError
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
        assert f'id="{tid}"' in html or f"id='{tid}'" in html
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
    ],
)
def test_bad_method_stops_the_run_before_any_cell(
    synthetic_config, synthetic_data, method, match
):
    pytest.importorskip("sertl_feature")
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


def test_changed_label_mapping_or_corpus_root_is_recomputed(
    synthetic_config, synthetic_data
):
    methods = [{"name": "dss"}]
    cfg = synthetic_config(methods=methods)
    run_experiment(cfg, data=synthetic_data, progress=False, log=_quiet)
    mapped = synthetic_config(methods=methods, labels={"mapping": {"calm": "neutral"}})
    res = run_experiment(mapped, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (4, 0)
    moved = synthetic_config(
        methods=methods,
        labels={"mapping": {"calm": "neutral"}},
        corpora={"a": {"root": "elsewhere"}, "b": {"root": "unused"}},
    )
    res = run_experiment(moved, data=synthetic_data, progress=False, log=_quiet)
    assert (res.n_computed, res.n_reused) == (4, 0)


def test_grid_method_scored_below_the_baseline_is_predicted_to_hurt():
    """A grid method's own selection is no auto choice: the baseline check holds."""
    from sertl_experiments._report import _table

    key = {"source": "a", "target": "b", "seed": 0, "status": "ok", "scorer": "iwv"}
    base = {**key, "method": "_baseline", "label_free_scores": {"iwv": 0.5}}
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
    assert df.loc["auto", "best_params"] != df.loc["auto", "best_params"]  # NaN


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
