"""The distributions of this repository declare the same floors (or say why not)."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # the test extra's, before Python 3.11

ROOT = Path(__file__).resolve().parents[1]
PYPROJECTS = [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]

# Floors a distribution raises above the others' on purpose (the reason is
# a comment at the requirement): its own code needs the newer release while
# the others were checked at the common floor.
RAISED = {
    ("sertl-experiments", "numpy", ">=2.2"),
    ("sertl-experiments", "scikit-learn", ">=1.9"),
    ("sertl-speech", "scikit-learn", ">=1.8"),
}


def _floors():
    """``(distribution, package, specifier)`` of every third-party requirement."""
    for path in PYPROJECTS:
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        reqs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
        for req in reqs:
            req = req.split(";")[0].replace(" ", "")
            name, spec = re.fullmatch(
                r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?(.*)", req
            ).groups()
            if not name.startswith("sertl-"):
                yield project["name"], name.lower(), spec


def test_a_package_has_one_floor_across_the_distributions():
    # a user installs several of them together: a floor raised in one and not
    # the others says an older version works where it does not, unless the
    # raise is deliberate (RAISED)
    seen = {}  # package -> {specifier: [distributions]}
    for dist, name, spec in _floors():
        if (dist, name, spec) not in RAISED:
            seen.setdefault(name, {}).setdefault(spec, []).append(dist)
    differ = {name: specs for name, specs in seen.items() if len(specs) > 1}
    assert not differ, differ


def test_every_deliberate_raise_is_still_declared():
    # a RAISED entry whose requirement changed is stale
    assert RAISED <= set(_floors()), RAISED - set(_floors())


def test_every_distribution_declares_the_same_python():
    pythons = {
        tomllib.loads(p.read_text(encoding="utf-8"))["project"].get("requires-python")
        for p in PYPROJECTS
    }
    assert pythons == {">=3.10"}, pythons
