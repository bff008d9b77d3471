"""CI runs the test command that README.md gives a new user, and nothing else.

``.ci/run`` is what CI calls on a clean clone; README.md's quick start tells a
new user which command installs everything and runs the tests. If the two
drift apart, CI passes while the README's command fails (or the other way
round).
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_test_command(text):
    """The indented command under README.md's "run the tests:" sentence."""
    match = re.search(r"run the tests:\n\n((?:    \S.*\n)+)", text)
    assert match, "README.md: no indented command after 'run the tests:'"
    lines = [line.strip() for line in match.group(1).splitlines()]
    assert len(lines) == 1, f"README.md gives several test commands: {lines}"
    return lines[0]


def _ci_commands(text):
    """The commands of a shell script, blank lines, comments and blocks left out."""
    commands, depth = [], 0
    for raw in text.replace("\\\n", " ").splitlines():  # continued lines
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] in {"if", "for", "while", "case"}:
            depth += 1
        if depth == 0 and words[0] not in {"set", "cd"}:
            commands.append(line)
        if words[0] in {"fi", "done", "esac"}:
            depth -= 1
    return commands


def test_ci_runs_the_readme_test_command():
    readme = _readme_test_command((REPO / "README.md").read_text(encoding="utf-8"))
    ci = _ci_commands((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    # the browser it installs first is a system package, not a test command
    assert ci == [readme], f".ci/run runs {ci}; README.md says {readme!r}"


def test_the_readme_test_command_runs_the_whole_suite():
    # `make test` installs from scratch and runs pytest on every test, the
    # gpu ones aside (CI has no GPU): no other marker may drop tests from it
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^test: install\n\t(.+)$", makefile, re.MULTILINE)
    assert target, "Makefile: no 'test: install' target with one command"
    assert target.group(1) == "$(PY) -m pytest -n 2 $(PYTEST_ARGS)"
    args = re.search(r"^PYTEST_ARGS \?= (.+)$", makefile, re.MULTILINE)
    assert args and args.group(1) == '-m "not gpu"'


def test_the_parsers_see_a_drift():
    # the checks above must be able to fail
    script = "set -e\nif x; then\n  y \\\n  z\nfi\nmake test-fast  # fast\n"
    assert _ci_commands(script) == ["make test-fast"]
    assert _readme_test_command("run the tests:\n\n    make test\n") == "make test"
