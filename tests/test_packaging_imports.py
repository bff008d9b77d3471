"""Each distribution imports only what it declares; other plugins are optional.

A user installs the core and the plugins they need, one by one, while the
suite runs with everything installed: an undeclared dependency, or a test of
one plugin that imports another without ``pytest.importorskip``, would only
fail in the user's environment. These checks read the sources (no install
needed):

* the package code of a distribution imports the standard library, its own
  package, its declared requirements (and those of the sertl distributions it
  requires), and, not at module level, its extras and the other first-party
  plugins;
* the examples of its docstrings (run as doctests) import the same; the root
  ``conftest.py`` skips one whose optional package is not installed;
* its tests import, besides, the test extras (the core's and its own), and
  guard an extra or another plugin by ``pytest.importorskip`` (or a ``try``
  that catches ``ImportError``) in the test, or at the top of the module.
"""

from __future__ import annotations

import ast
import doctest
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # the test extra's, before Python 3.11

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("sertl-*") if p.is_dir())

# a requirement whose import name is not its distribution name
IMPORT_NAMES = {
    "scikit-learn": {"sklearn"},
    "imbalanced-learn": {"imblearn"},
    "dask": {"dask", "distributed"},  # dask[distributed]
}
# imported without being declared, and why that is safe
UNDECLARED = {
    # scikit-learn requires joblib; the core recognises joblib's frames
    ("sertl-core", "joblib"),
    # the pytest helpers of sertl_core.testing are called from test suites
    ("sertl-core", "pytest"),
}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _modules(requirement):
    name = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip()).group(0).lower()
    return IMPORT_NAMES.get(name, {name.replace("-", "_").replace(".", "_")})


def _project(dist):
    path = ROOT / "pyproject.toml" if dist == "sertl-core" else ROOT / "plugins" / dist
    if path.is_dir():
        path = path / "pyproject.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"]


def _required(dist, seen=None):
    """Modules of ``dist``'s requirements and of the sertl ones it requires."""
    seen = set() if seen is None else seen
    seen.add(dist)
    out = set()
    for req in _project(dist).get("dependencies", []):
        mods = _modules(req.split(";")[0])
        out |= mods
        name = req.split(";")[0].strip()
        if name.startswith("sertl-") and name not in seen:
            out |= _required(name, seen)
    return out


def _extras(dist, *, test):
    out = set()
    for extra, reqs in _project(dist).get("optional-dependencies", {}).items():
        if (extra == "test") == test:
            for req in reqs:
                out |= _modules(req.split(";")[0])
    return out


FIRST_PARTY = {"sertl_core"} | {p.name.replace("-", "_") for p in PLUGINS}


def _allowed(dist):
    """``(required, optional)`` modules of a distribution's package code."""
    own = dist.replace("-", "_")
    required = STDLIB | {own} | _required(dist)
    required |= {m for d, m in UNDECLARED if d == dist}
    optional = (_extras(dist, test=False) | FIRST_PARTY) - required
    return required, optional


def _imports(tree):
    """``(module, node, ancestors)`` of every absolute import of ``tree``."""
    out = []

    def visit(node, ancestors):
        mods = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module]
        for m in mods:
            out.append((m.split(".")[0], node, ancestors))
        for child in ast.iter_child_nodes(node):
            visit(child, [*ancestors, node])

    visit(tree, [])
    return out


def _catches_import_error(try_node, ancestors, node):
    i = ancestors.index(try_node) + 1
    body = ancestors[i] if i < len(ancestors) else node
    if body not in try_node.body:
        return False
    for handler in try_node.handlers:
        names = ast.unparse(handler.type) if handler.type is not None else "bare"
        if re.search(r"\b(ImportError|ModuleNotFoundError|Exception|bare)\b", names):
            return True
    return False


def _in_try(node, ancestors):
    return any(
        isinstance(a, ast.Try) and _catches_import_error(a, ancestors, node)
        for a in ancestors
    )


def _lazy(ancestors):
    return any(isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef) for a in ancestors)


def _string_argument(node, name):
    """The first argument of a call to ``...name`` when it is a string, else None."""
    if (
        isinstance(node, ast.Call)
        and ast.unparse(node.func).endswith(name)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _importorskips(scope):
    """Modules that ``pytest.importorskip`` calls directly in ``scope`` skip on."""
    found = (_string_argument(node, "importorskip") for node in ast.walk(scope))
    return {module.split(".")[0] for module in found if module is not None}


def _writes_its_module(scope):
    """Whether ``scope`` puts a folder of its own on ``sys.path``."""
    return any(
        isinstance(n, ast.Call)
        and re.search(
            r"syspath_prepend|sys\.path\.(insert|append)", ast.unparse(n.func)
        )
        for n in ast.walk(scope)
    )


def _warning_filter_modules(tree):
    """``(module, line)`` of the warning categories that marks name.

    pytest imports the category of ``@pytest.mark.filterwarnings`` (and of a
    module's ``pytestmark``) before the test runs: a module that is not
    installed stops the whole run, whatever the test's importorskip.
    """
    marks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            marks += node.decorator_list
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            marks += [node.value]
    out = []
    for mark in marks:
        for call in ast.walk(mark):
            action = _string_argument(call, "filterwarnings")
            category = action.split(":")[2:3] if action else []
            if category and "." in category[0]:
                out.append((category[0].split(".")[0], call.lineno))
    return out


def _module_level_importorskips(tree):
    out = set()
    for stmt in tree.body:
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out |= _importorskips(stmt)
    return out


def _files(folder):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _doctest_imports(tree):
    """``(module, line)`` of the imports of every docstring example."""
    parser = doctest.DocTestParser()
    out = []
    for node in ast.walk(tree):
        if not isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            continue
        doc = ast.get_docstring(node, clean=False)
        if not doc or ">>>" not in doc:
            continue
        for example in parser.get_examples(doc):
            try:
                sub = ast.parse(example.source)
            except SyntaxError:
                continue
            line = getattr(node, "lineno", 1) + example.lineno
            out += [(m, line) for m, _, _ in _imports(sub)]
    return out


DISTS = ["sertl-core", *(p.name for p in PLUGINS)]


def _package_dir(dist):
    own = dist.replace("-", "_")
    return ROOT / own if dist == "sertl-core" else ROOT / "plugins" / dist / own


def test_the_checks_see_every_distribution():
    assert len(PLUGINS) >= 6
    for dist in DISTS:
        assert _files(_package_dir(dist)), dist
        assert "numpy" in _required(dist), dist
    assert "soundfile" in _required("sertl-experiments")  # through sertl-speech
    assert "torch" in _allowed("sertl-relational")[1]  # its extra [torch]


@pytest.mark.parametrize("dist", DISTS)
def test_package_code_imports_only_what_it_declares(dist):
    required, optional = _allowed(dist)
    bad = []
    for path in _files(_package_dir(dist)):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for mod, node, ancestors in _imports(tree):
            if mod in required:
                continue
            if mod in optional:
                if not (_lazy(ancestors) or _in_try(node, ancestors)):
                    bad.append(f"{where}:{node.lineno}: optional {mod} at import time")
            elif not _in_try(node, ancestors):
                bad.append(f"{where}:{node.lineno}: {mod} is not declared by {dist}")
        for mod, line in _doctest_imports(tree):
            # pytest runs the examples (some show a warning with pytest.warns)
            if mod not in required | optional | {"pytest"}:
                bad.append(f"{where}:{line}: example imports undeclared {mod}")
    assert not bad, "\n".join(bad)


def _test_file_problems(tree, where, dist, required, optional, local):
    """The imports and warning filters of one test file that are not guarded."""
    bad = []
    at_top = _module_level_importorskips(tree)
    for mod, node, ancestors in _imports(tree):
        if mod in required or mod in local or mod in at_top:
            continue
        scopes = [
            a
            for a in ancestors
            if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        guarded = _in_try(node, ancestors) or any(
            mod in _importorskips(s) or _writes_its_module(s) for s in scopes
        )
        if mod in optional and not guarded:
            bad.append(
                f"{where}:{node.lineno}: {mod} is optional for {dist}: "
                f'pytest.importorskip("{mod}") first'
            )
        elif mod not in optional and not guarded:
            bad.append(f"{where}:{node.lineno}: {mod} is not declared by {dist}")
    for mod, line in _warning_filter_modules(tree):
        if mod in optional:
            bad.append(
                f"{where}:{line}: a filterwarnings mark names {mod}, optional "
                "here: pytest stops the run where it is not installed"
            )
    return bad


def test_the_test_file_check_reports_what_it_should():
    # guards against a checker that silently matches nothing
    def problems(source):
        optional = {"sertl_feature", "sertl_instance"}
        return _test_file_problems(
            ast.parse(source), "t.py", "sertl-x", {"pytest"}, optional, set()
        )

    assert problems("import sertl_feature\n") == [
        't.py:1: sertl_feature is optional for sertl-x: pytest.importorskip("'
        'sertl_feature") first'
    ]
    assert problems("import leftpad\n") == [
        "t.py:1: leftpad is not declared by sertl-x"
    ]
    marked = (
        "import pytest\n"
        '@pytest.mark.filterwarnings("ignore::sertl_instance.KernelWidthWarning")\n'
        "def test_x():\n    pass\n"
    )
    assert problems(marked) == [
        "t.py:2: a filterwarnings mark names sertl_instance, optional here: pytest "
        "stops the run where it is not installed"
    ]
    guarded = (
        "import pytest\n"
        "def test_x():\n"
        '    pytest.importorskip("sertl_feature")\n'
        "    import sertl_feature\n"
    )
    assert problems(guarded) == []


@pytest.mark.parametrize("dist", [p.name for p in PLUGINS])
def test_plugin_tests_guard_other_plugins_and_extras(dist):
    required, optional = _allowed(dist)
    required = (
        required
        | {"pytest", "conftest"}
        | _extras("sertl-core", test=True)
        | _extras(dist, test=True)
    )
    optional = optional - required
    folder = ROOT / "plugins" / dist / "tests"
    local = {p.stem for p in _files(folder)}  # helpers beside the tests
    bad = []
    for path in _files(folder):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        bad += _test_file_problems(tree, where, dist, required, optional, local)
    assert not bad, "\n".join(bad)


# Private pieces of another distribution that package code still uses, and
# why each may stay: a distribution relies only on what another one promises
# publicly, or a release of that one that renames a private piece breaks it.
PRIVATE_USES = {
    # sertl-experiments' commands are the core CLI's own commands moved to a
    # plugin: they share its output handling (a closed pipe, Ctrl-C, the
    # product and work lines), which the core does not offer third parties
    # yet; sertl-experiments is released with the core it was tested with
    ("sertl-experiments", "sertl_core.cli._OUTPUT_CLOSED"): "core CLI internals",
    ("sertl-experiments", "sertl_core.cli._product"): "core CLI internals",
    ("sertl-experiments", "sertl_core.cli._stdout_to_devnull"): "core CLI internals",
    ("sertl-experiments", "sertl_core.cli._with_output"): "core CLI internals",
    ("sertl-experiments", "sertl_core.cli._work"): "core CLI internals",
    # SpeakerNormalizer's warning when a frozen Pipeline dropped its
    # speaker= walks the caller's frames the way the core's adapters do;
    # the frame walk is an implementation detail of both
    ("sertl-speech", "sertl_core.base._warn_if_frozen_missed_metadata"): "frames",
}


def _private_uses(tree):
    """``(line, "module.name")`` of each private module or name imported from sertl."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] not in FIRST_PARTY:
                continue
            for alias in node.names:
                if any(p.startswith("_") for p in parts[1:]) or (
                    alias.name.startswith("_") and not alias.name.startswith("__")
                ):
                    out.append((node.lineno, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in FIRST_PARTY and any(p.startswith("_") for p in parts):
                    out.append((node.lineno, alias.name))
    return out


# Private attributes of another distribution's objects that package code may
# use: the core's documented subclass protocol (CONTRIBUTING.md, "Writing a
# method"), which every plugin method implements or calls on itself
PRIVATE_ATTRIBUTES = {
    # a TransferEstimator's _fit fits the wrapped estimator with it; KMM's
    # helper calls it on the estimator being fitted, under another name
    "_fit_estimator": "TransferEstimator protocol",
    # an adapter overrides it when parameters decide; a vote of methods
    # asks its members
    "_uses_domain_in_transform": "DomainAdapter protocol",
    # a method declares it; the conformance kit reads it
    "_sertl_expected_failed_checks": "conformance kit protocol",
}


def _private_definitions(tree):
    """Names of the private functions, classes and attributes ``tree`` defines."""
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [
                t.id if isinstance(t, ast.Name) else t.attr
                for t in targets
                if isinstance(t, ast.Name | ast.Attribute)
            ]
        out |= {n for n in names if n.startswith("_") and not n.startswith("__")}
    return out


def _private_attribute_uses(tree, names):
    """``(line, name)`` of each use of an attribute among ``names`` on an object.

    ``obj._name`` and ``getattr(obj, "_name")`` (``hasattr``, ``setattr``)
    count; ``self._name``, ``cls._name`` and ``super()._name`` do not: a
    class calls what it inherits.
    """
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
                continue
            out.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            out.append((node.lineno, node.args[1].value))
    return out


def test_the_private_attribute_check_sees_uses_on_other_objects():
    tree = ast.parse(
        "def f(step, self):\n"
        "    step._config()\n"
        "    self._config()\n"
        "    super()._config()\n"
        '    if callable(getattr(type(step), "_config", None)):\n'
        "        return step.config(), step._other\n"
    )
    assert _private_attribute_uses(tree, {"_config"}) == [
        (2, "_config"),
        (5, "_config"),
    ]
    assert _private_definitions(
        ast.parse("class A:\n    def _f(self):\n        self._x = 1\n")
    ) == {"_f", "_x"}


def test_package_code_uses_no_private_attribute_of_another_distribution():
    defined = {
        dist: set().union(
            *(
                _private_definitions(ast.parse(p.read_text(encoding="utf-8")))
                for p in _files(_package_dir(dist))
            )
        )
        for dist in DISTS
    }
    bad, used = [], set()
    for dist in DISTS:
        others = set().union(*(v for d, v in defined.items() if d != dist))
        theirs = others - defined[dist]
        for path in _files(_package_dir(dist)):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, name in _private_attribute_uses(tree, theirs):
                if name in PRIVATE_ATTRIBUTES:
                    used.add(name)
                else:
                    owners = sorted(d for d, v in defined.items() if name in v)
                    bad.append(
                        f"{path.relative_to(ROOT)}:{line}: {name} is private to "
                        f"{', '.join(owners)}"
                    )
    assert not bad, "\n".join(bad)
    stale = set(PRIVATE_ATTRIBUTES) - used
    assert not stale, f"PRIVATE_ATTRIBUTES lists uses that are gone: {sorted(stale)}"


def test_the_private_use_check_sees_private_modules_and_names():
    tree = ast.parse(
        "from sertl_speech._cache import replace_file\n"
        "from sertl_core.cli import _work, main\n"
        "import sertl_feature._linalg\n"
        "from sertl_core import DomainAdapter, __version__\n"
        "from ._own import thing\n"
    )
    assert _private_uses(tree) == [
        (1, "sertl_speech._cache.replace_file"),
        (2, "sertl_core.cli._work"),
        (3, "sertl_feature._linalg"),
    ]


@pytest.mark.parametrize("dist", DISTS)
def test_package_code_uses_only_public_pieces_of_other_distributions(dist):
    own = dist.replace("-", "_")
    bad, used = [], set()
    for path in _files(_package_dir(dist)):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name in _private_uses(tree):
            if name.split(".")[0] == own:
                continue
            if (dist, name) in PRIVATE_USES:
                used.add((dist, name))
            else:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {name} is private")
    stale = {k for k in PRIVATE_USES if k[0] == dist} - used
    assert not bad, "\n".join(bad)
    assert not stale, f"PRIVATE_USES lists uses that are gone: {sorted(stale)}"
