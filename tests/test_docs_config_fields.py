"""The experiment-file table of sertl-experiments' README names every field.

The README's `sertl run EXPERIMENT.toml` section has one table row per
section of the file. The fields each section takes are read from
``parse_config`` itself: an unknown field is refused with a message that
lists the allowed ones. Each allowed field must appear in its section's row
as a code span (`` `k` ``, `` `params = { ... }` ``), and each section must
have a row, so a field added to the parser is documented with it.
"""

import copy
import re
from pathlib import Path

import pytest

experiments = pytest.importorskip("sertl_experiments")

README = (
    Path(__file__).resolve().parents[1] / "plugins" / "sertl-experiments" / "README.md"
)
MINIMAL = {
    "corpora": {"a": {"reader": "emodb", "root": "sample"}},
    "methods": [{"name": "dss"}],
}
# the README's row label -> where an unknown field goes in a minimal file
SECTIONS = {
    "top level": lambda c: c,
    "`[corpora.NAME]`": lambda c: c["corpora"]["a"],
    "`[labels]`": lambda c: c.setdefault("labels", {}),
    "`[matrix]`": lambda c: c.setdefault("matrix", {}),
    "`[features]`": lambda c: c.setdefault("features", {}),
    "`[protocol]`": lambda c: c.setdefault("protocol", {}),
    "`[classifier]`": lambda c: c.setdefault("classifier", {}),
    "`[[methods]]`": lambda c: c["methods"][0],
}


def _allowed(section):
    """The fields ``parse_config`` allows in ``section``, from its refusal."""
    raw = copy.deepcopy(MINIMAL)
    SECTIONS[section](raw)["no_such_field"] = 1
    with pytest.raises(experiments.ConfigError, match="Allowed: ") as info:
        experiments.parse_config(raw)
    listed = str(info.value).split("Allowed: ", 1)[1].rstrip(".")
    return {name.strip() for name in listed.split(",")}


def _rows():
    text = README.read_text(encoding="utf-8")
    part = text.split("## `sertl run EXPERIMENT.toml`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in part.splitlines():
        cells = line.split(" | ", 1)
        if line.startswith("| ") and len(cells) == 2:
            rows[cells[0][2:].strip()] = cells[1]
    return rows


def test_every_section_has_a_row():
    rows = _rows()
    assert set(SECTIONS) <= set(rows), sorted(set(SECTIONS) - set(rows))
    tables = {"corpora", "labels", "matrix", "features", "protocol", "classifier"}
    assert tables | {"methods"} <= _allowed("top level")


@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_field_is_in_its_row(section):
    row = _rows()[section]
    allowed = _allowed(section)
    if section == "top level":  # the tables have rows of their own
        allowed -= {s.strip("`[]").split(".")[0] for s in SECTIONS}
    missing = sorted(f for f in allowed if not re.search(rf"`{re.escape(f)}\b", row))
    assert not missing, (
        f"parse_config takes {missing} in {section}, which the README's row "
        "does not name"
    )
