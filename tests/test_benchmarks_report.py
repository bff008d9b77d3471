"""Reporting helpers of the benchmarks (benchmarks/_report.py) and their use.

No corpus, anchor or benchmark run is needed: these check how results files
are written, not the figures in them.
"""

import ast
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _report  # noqa: E402

NOTES = "### Notes (added by hand after the run)\n\n- rerun on a day; cell x moved\n"


def test_write_results_keeps_hand_notes(tmp_path):
    out = tmp_path / "r.md"
    out.write_text("# Title\n\n| a | 1.0 |\n\n" + NOTES)
    _report.write_results(out, "# Title\n\n| a | 2.0 |\n")
    assert out.read_text() == "# Title\n\n| a | 2.0 |\n\n" + NOTES
    # a second rewrite keeps them once, not twice
    _report.write_results(out, "# Title\n\n| a | 3.0 |")
    assert out.read_text() == "# Title\n\n| a | 3.0 |\n\n" + NOTES


def test_write_results_other_notes_heading_and_new_file(tmp_path):
    out = tmp_path / "sub" / "r.md"
    _report.write_results(out, "# T\n")
    assert out.read_text() == "# T\n"
    dated = "### Notes (added by hand, 2026-11-27)\n\n- x\n"
    out.write_text("# T\n\nold\n\n" + dated)
    _report.write_results(out, "# T\n\nnew\n")
    assert out.read_text() == "# T\n\nnew\n\n" + dated


@pytest.mark.parametrize(
    "path", sorted((BENCH / "results").glob("*.md")), ids=lambda p: p.name
)
def test_results_files_keep_their_notes_on_regeneration(path):
    text = path.read_text(encoding="utf-8")
    notes = _report.hand_notes(text)
    body = text[: len(text) - len(notes)]
    merged = _report.merge_notes(body, text)
    assert _report.hand_notes(merged) == notes
    assert merged.rstrip() == text.rstrip() or merged.split() == text.split()


def _results_writes(tree):
    """Calls ``<x>.write_text(...)`` whose argument is not a JSON cache."""
    bad = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "write_text"
            and "json.dumps" not in ast.unparse(node)
        ):
            bad.append(node.lineno)
    return bad


@pytest.mark.parametrize(
    "script",
    sorted(p for p in BENCH.glob("*.py") if p.name != "_report.py"),
    ids=lambda p: p.name,
)
def test_benchmark_scripts_write_results_through_the_helper(script):
    tree = ast.parse(script.read_text())
    assert _results_writes(tree) == [], (
        f"{script.name} writes a results file without _report.write_results"
    )


def test_parse_parts_help_and_unknown(capsys):
    with pytest.raises(SystemExit) as exc:
        _report.parse_parts("Doc of a benchmark.", argv=["--help"])
    assert exc.value.code == 0
    assert "Doc of a benchmark." in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        _report.parse_parts("Doc.", argv=["--fast"])
    assert exc.value.code == 2
    parts = ("a", "b")
    assert _report.parse_parts("Doc.", parts, ("a",), argv=[]) == ["a"]
    assert _report.parse_parts("Doc.", parts, ("a",), argv=["b", "a"]) == ["b", "a"]
    with pytest.raises(SystemExit) as exc:
        _report.parse_parts("Doc.", parts, ("a",), argv=["c"])
    assert exc.value.code == 2
    assert "unknown part(s) c; choose from a, b" in capsys.readouterr().err


def test_require_names_the_missing_module_and_the_venv():
    _report.require("json")
    with pytest.raises(SystemExit) as exc:
        _report.require("json", "no_such_anchor_xyz")
    assert "no_such_anchor_xyz" in str(exc.value)
    assert "bench-install" in str(exc.value)


def test_missing_corpora_is_a_message_not_a_traceback(monkeypatch, tmp_path):
    import _data

    monkeypatch.setenv("SERTL_CORPORA", str(tmp_path / "absent"))
    with pytest.raises(SystemExit, match="SERTL_CORPORA"):
        _data.corpora_root()


def test_ensembles_target_comes_from_the_anchor_cells(tmp_path):
    pytest.importorskip("sertl_experiments")
    import cross_corpus as cc
    import cross_corpus_ensembles as ens

    assert not hasattr(ens, "BEST_ANCHOR")  # no hard-coded anchor figure
    pairs = [(s, t) for s in cc.CORPORA for t in cc.CORPORA if s != t]
    for i, (s, t) in enumerate(pairs):
        cells = {
            "skada_tca[egemaps]": {"uar": 0.40 + 0.01 * (i % 2)},
            "skada_coral[egemaps]": {"uar": 0.30},
            "skada_kmm[sertl]": {"uar": 0.90},  # not an eGeMAPS anchor
        }
        cc.write_cell(tmp_path / f"{s}__{t}__anchors.json", {"anchors": cells})
    name, mean = ens.best_anchor(tmp_path)
    assert name == "skada_tca[egemaps]"
    assert mean == pytest.approx(40.5)
    (tmp_path / f"{pairs[0][0]}__{pairs[0][1]}__anchors.json").unlink()
    assert ens.best_anchor(tmp_path) is None


def test_matrix_cells_of_other_features_are_not_reused(tmp_path, capsys):
    # a cell cached on an older version of sertl-speech's features (or before
    # cells were stamped) is recomputed, not published with the new ones
    pytest.importorskip("sertl_experiments")
    import cross_corpus as cc
    from sertl_speech._extract import FEATURES_VERSION

    cell = {"ours": {"dss+coral": {"uar": 0.5}}}
    f = tmp_path / "a__b__ours.json"
    cc.write_cell(f, cell)
    assert cc.read_cell(f)["ours"] == cell["ours"]
    f.write_text(json.dumps({**cell, "features_version": FEATURES_VERSION + "-old"}))
    assert cc.read_cell(f) is None
    assert "recomputed" in capsys.readouterr().out
    f.write_text(json.dumps(cell))  # unstamped
    assert cc.read_cell(f) is None
    assert cc.read_cell(tmp_path / "missing.json") is None


def test_fewshot_notes_quote_this_runs_test_figures():
    pytest.importorskip("torch")
    import neural_transfer as nt

    (item,) = [n for n in nt.FEWSHOT_NOTES if "{d_st" in n]
    text = item.format(st=56.3, ft=57.0, d_st=-0.7, st_to=51.8, to=58.2, d_st_to=-6.4)
    assert "(56.3 vs 57.0, above)" in text
    assert "(51.8 vs 58.2, above)" in text
    assert "55.5 vs 56.2" not in "".join(nt.FEWSHOT_NOTES)
