"""report.html and results.md with names, labels and messages a user supplies."""

import html
import io
import json
import re
import string

from sertl_experiments import run_experiment
from sertl_experiments._data import CorpusData
from sertl_experiments._report import write_outputs


def _quiet(*_):
    pass


def _table_rows(page, tid):
    """The rows (cell texts) of one of report.html's tables."""
    body = re.split(rf"id=[\"']tab-{tid}[\"']", page, maxsplit=1)[1]
    body = body.split("</table>", 1)[0]
    return [
        [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ][1:]


def _md_rows(md, title):
    part = md.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")][2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]


def test_class_names_with_dollar_signs_are_drawn_as_text(
    synthetic_config, make_corpora
):
    # matplotlib read "$\nope$" as mathtext: drawing the confusion matrices
    # raised ValueError (Unknown symbol) and no report was written at all;
    # "$x^2$" was drawn as a formula
    labels = ["$\\nope$", "sad $x^2$", "calm"]
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    res = run_experiment(cfg, data=make_corpora(labels), progress=False, log=_quiet)
    assert res.report.is_file()
    assert "$\\nope$" in html.unescape(res.report.read_text())


def test_tick_labels_are_not_mathtext(tmp_path, drawn_figures):
    from sertl_experiments import _report

    figs = drawn_figures
    cell = {
        "method": "dss",
        "status": "ok",
        "source": "a",
        "target": "b",
        "confusion": [[2, 1], [0, 3]],
        "classes": ["$\\nope$", "b"],
        "recall": {"$\\nope$": 0.5, "b": 1.0},
    }
    _report._confusions([cell], tmp_path)
    _report._recall([cell], tmp_path)
    for fig in figs:
        fig.savefig(io.BytesIO(), format="png")  # mathtext is parsed on drawing
        ticks = fig.axes[0].get_xticklabels()
        assert [t.get_text() for t in ticks] == ["$\\nope$", "b"]


def test_multi_line_messages_keep_their_lines_in_report_html(
    synthetic_config, make_corpora
):
    # pandas' to_html wrote each line break of a failed cell's error as a
    # backslash and an "n" ("ValueError: x\nTraceback ..."), where results.md
    # gives <br>: every table now breaks the lines as results.md does
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    run_experiment(cfg, data=make_corpora(["x", "y", "z"]), progress=False, log=_quiet)
    cells = [json.loads(f.read_text()) for f in sorted(cfg.output.glob("cells/*"))]
    for c in cells:
        if c["method"] == "dss" and c["target"] == "b":
            c.clear()
            c.update(source="a", target="b", method="dss", seed=0)
            c.update(status="failed", error="ValueError: first line\nsecond line")
    skipped = [{"corpus": "a", "file": "x.wav", "reason": "bad\nworse"}]
    report = write_outputs(cfg, cells, skipped, cfg.output)
    page = report.read_text()
    md = (cfg.output / "results.md").read_text()
    assert "first line\\nsecond" not in page and "bad\\nworse" not in page
    errors = _table_rows(page, "errors")
    assert errors == [["a", "b", "dss", "0", "ValueError: first line<br>second line"]]
    assert errors == _md_rows(md, "Failed cells")
    assert _table_rows(page, "skipped") == [["a", "x.wav", "bad<br>worse"]]
    # the column headers name the column they head
    assert re.search(r"<th scope=['\"]col['\"]>error</th>", page)


def test_control_and_bidi_characters_are_shown_not_obeyed(
    synthetic_config, make_corpora
):
    # a label with U+202E showed the rest of its cell reversed ("anger 20"
    # as "02 regna"), an escape sequence (ESC [2J) reached the terminal of
    # whoever ran cat results.md; a line break in the experiment's name
    # ended results.md's heading there
    labels = ["\u202eanger", "\x1b[2Jneutral", "sad"]
    cfg = synthetic_config(
        name="two\nlines", methods=[{"name": "dss"}], protocol={"bootstrap": 0}
    )
    res = run_experiment(cfg, data=make_corpora(labels), progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    page = res.report.read_text()
    for text in (md, page):
        assert "\u202e" not in text and "\x1b" not in text
    for text in (_md_read(md), page):  # results.md as a viewer shows it
        assert "\\u202eanger" in text and "\\x1b[2Jneutral" in text
    assert md.startswith("# Experiment two<br>lines\n")


def test_per_class_recall_gives_each_method_its_own_bars(tmp_path, drawn_figures):
    # the default colour cycle has 10 colours: the 11th method's bars were
    # coloured as the first's, and the legend could not tell them apart
    from sertl_experiments import _report

    figs = drawn_figures
    cells = [
        {"method": f"m{i:02d}", "status": "ok", "recall": {"x": 0.5, "y": 0.9}}
        for i in range(25)
    ]
    _report._recall(cells, tmp_path)
    ax = figs[0].axes[0]
    looks = {
        (tuple(h.patches[0].get_facecolor()), h.patches[0].get_hatch())
        for h in ax.containers
    }
    assert len(looks) == 25


# GitHub-flavoured Markdown, as far as results.md's tables need it: a row's
# cells are split at each "|" that no backslash escapes; in a cell "\|" is
# a pipe, a backslash before ASCII punctuation makes it literal, an entity
# is its character and <br> a line break
_MD_PUNCT = "[" + re.escape(string.punctuation) + "]"
_MD_TOKEN = re.compile(rf"\\({_MD_PUNCT})|&(amp|lt|gt|quot);|<br>")
# what Markdown reads as markup in a cell when not escaped
_MD_MARKUP = set("\\`*_[]|~$&<>")


def _md_tables(md):
    """Every table of results.md as (header row, body rows) of raw cells."""
    tables, block = [], []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            block.append(re.split(r"(?<!\\)\|", line.strip())[1:-1])
        elif block:
            tables.append((block[0], block[2:]))
            block = []
    return tables


def _md_read(cell):
    """The text a Markdown viewer shows for one raw table cell."""
    cell = cell.strip().replace("\\|", "|")  # the table's own escape, first
    chars = {"amp": "&", "lt": "<", "gt": ">", "quot": '"'}
    return _MD_TOKEN.sub(lambda m: m[1] or (chars[m[2]] if m[2] else "\n"), cell)


def _md_markup(cell):
    """The characters of a raw cell that a viewer would read as markup."""
    return set(_MD_TOKEN.sub("", cell.strip().replace("\\|", ""))) & _MD_MARKUP


def test_results_md_keeps_hostile_labels_as_text_in_their_cells(
    synthetic_config, make_corpora
):
    # results.md escaped "<" and "|" only: a class "_w_" or "*z*" rendered as
    # emphasis, "[l](u)" as a link, "`c`" as code, "$m$" as math, "&amp;" as
    # "&", a corpus or method "x.__dss__" as bold; one escaping function
    # now writes every cell (and the title), and a viewer shows the labels
    labels = [
        "a|b",
        "x & <y> *z* _w_ `c` [l](u) ~s~ $m$ &amp;",
        "two\nlines \\| end\\",
    ]
    names = {"a": "a.__x__", "b": "b._y_"}
    data = {
        names[k]: CorpusData(names[k], d.X, d.y, d.speakers, d.files)
        for k, d in make_corpora(labels).items()
    }
    cfg = synthetic_config(
        name="*exp* | _t_",
        corpora={n: {"root": "unused"} for n in data},
        methods=[{"name": "m.__dss__"}, {"name": "na+1", "scaling": "source"}],
        protocol={"bootstrap": 0},
    )
    run_experiment(cfg, data=data, progress=False, log=_quiet)
    md = (cfg.output / "results.md").read_text()
    assert md.startswith("# Experiment ")
    assert _md_read(md.splitlines()[0].removeprefix("# Experiment ")) == cfg.name
    tables = _md_tables(md)
    assert len(tables) >= 4
    for head, rows in tables:
        for row in [head, *rows]:
            assert len(row) == len(head), (head, row)
            for cell in row:
                assert not _md_markup(cell), cell
    pairs = _md_read_table(tables, "UAR")
    assert {tuple(row[:3]) for row in pairs} == {
        (s, t, m)
        for s, t in [("a.__x__", "b._y_"), ("b._y_", "a.__x__")]
        for m in ("m.__dss__", "na+1")
    }
    head, *_ = _md_read_table(tables, "classes", head=True)
    classes = {row[head.index("classes")] for row in _md_read_table(tables, "classes")}
    assert classes == {", ".join(sorted(labels))}


def _md_read_table(tables, column, head=False):
    """The first table with ``column``, its cells as a viewer shows them."""
    for raw_head, rows in tables:
        names = [_md_read(c) for c in raw_head]
        if column in names:
            read = [[_md_read(c) for c in row] for row in rows]
            return [names, *read] if head else read
    raise AssertionError(f"no table has a column {column!r}")


def test_note_lines_that_would_start_a_heading_or_a_list_stay_text(
    tmp_path, read_results_md
):
    # a note keeps its line breaks in results.md: a label's line starting
    # with "# ", "- ", "1. " or "===" rendered as a heading or a list
    from sertl_experiments._report import _md_note, _md_text

    text = "anger\n# calm\n  - joy\n3) fear\n+ sad\n===\nx - y # z 4. w\n60.4"
    out = _md_note(text)
    for line in out.splitlines():
        assert not re.match(r" {0,3}([#+-]|[0-9]+[.)])( |$)|=+$", line), line
    assert out.splitlines()[-2:] == ["x - y # z 4. w", "60.4"]  # no mark there
    assert _md_text("60.4") == "60.4"  # a table cell's number stays as it is
    path = tmp_path / "results.md"
    path.write_text(out)
    assert read_results_md(path) == text  # as a viewer shows it
