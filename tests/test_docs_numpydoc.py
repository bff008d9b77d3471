"""Every public docstring is valid numpydoc, checked by numpydoc's validator.

The project's standard (CONTRIBUTING.md) is numpydoc docstrings;
``test_docs_public_api.py`` checks their Examples and References. Here
``numpydoc.validate.validate`` checks the rest, as scikit-learn's
``sklearn/tests/test_docstrings.py`` does for its API: the documented
parameters match the signature (names, order, none missing, none unknown,
each with a type and a description), a function that returns or yields
documents it, the sections have known headings in the right order, and the
summary is one line that starts with a capital letter (an infinitive verb
for a function) and ends with a period.

The objects are those of ``test_docs_public_api.py`` (``__all__`` of every
first-party package and the registry's classes), the public methods and
properties that sertl defines on their classes (not those inherited from
scikit-learn, whose docstrings are scikit-learn's), and the hook
specifications, whose docstrings are the plugin contract.

Codes not enforced: ES01 (extended summary) and SA01 (See Also), which a
short method does not need; EX01 (Examples), which
``test_docs_public_api.py`` requires of every public object while a method
is shown in its class's Examples; RT02 (the Returns line holds only the
type), since sertl names its return values (``X_new : ndarray``), as
scikit-learn does; GL01 and GL02 (where the text starts and the quotes
close), which ruff's pydocstyle rules check and numpydoc before 1.11 wants
the other way round (sertl starts the summary on the line of the quotes).
A parameter whose name starts with ``_`` is private and need not be
documented.
"""

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest

from sertl_core import hookspecs

validate = pytest.importorskip(
    "numpydoc.validate",
    reason="numpydoc is not installed (pip install -e '.[test]' installs it)",
).validate

# numpydoc's codes enforced here (the module docstring says why the others not)
# fmt: off
CHECKED = {
    # global: blank lines, tabs, unknown or misordered sections, no docstring
    "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    # summary: present, capitalised, a period, infinitive verb, one line
    "SS01", "SS02", "SS03", "SS04", "SS05", "SS06",
    # parameters: none missing or unknown, in order, typed, described
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10",
    # returns and yields: present when the function returns or yields, described
    "RT01", "RT03", "RT04", "RT05", "YD01",
    # See Also entries, where there are some
    "SA02", "SA03", "SA04",
}
# fmt: on

# the discovery of test_docs_public_api.py, loaded from its file (the tests
# are not a package)
_spec = importlib.util.spec_from_file_location(
    "_sertl_docs_public_api", Path(__file__).with_name("test_docs_public_api.py")
)
_public_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_public_api)


def _top_level():
    objs = {}
    for param in [*_public_api.PUBLIC, *_public_api.METHODS]:
        (obj,) = param.values
        objs.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return objs


def _own_members(cls):
    """Public methods and properties that a sertl class defines (or inherits
    from another sertl class), as ``(defining class, name)``."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or not owner.__module__.startswith("sertl"):
            continue
        attr = vars(owner)[name]
        func = getattr(attr, "fget", None) or getattr(attr, "__func__", attr)
        if not inspect.isfunction(func):
            continue  # a class attribute, or a descriptor scikit-learn makes
        if not func.__module__.startswith("sertl"):
            continue
        yield owner, name


def _targets():
    objs = _top_level()
    paths = dict.fromkeys(objs)
    for obj in objs.values():
        if inspect.isclass(obj):
            for owner, name in _own_members(obj):
                paths.setdefault(f"{owner.__module__}.{owner.__qualname__}.{name}")
    for name, _ in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("sertl_"):
            paths.setdefault(f"sertl_core.hookspecs.{name}")
    return list(paths)


TARGETS = _targets()


def _is_private_param_note(code, message):
    """PR01 for parameters that are all private (``_deferred``)."""
    if code != "PR01":
        return False
    missing = ast.literal_eval(message[len("Parameters ") : -len(" not documented")])
    return all(name.startswith("_") for name in missing)


def test_the_check_finds_objects():
    # guards against a discovery that silently finds nothing
    assert "sertl_core.base.TransferEstimator.fit" in TARGETS
    assert "sertl_core.hookspecs.sertl_register_adapters" in TARGETS
    installed = _public_api.installed_first_party()
    for package in installed:
        assert any(t.startswith(f"{package}.") for t in TARGETS), package
    _public_api.skip_count_unless_every_plugin(installed)
    assert len(TARGETS) > 150


@pytest.mark.parametrize("path", TARGETS)
def test_docstring_is_valid_numpydoc(path):
    result = validate(path)
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code in CHECKED and not _is_private_param_note(code, message)
    ]
    if errors:
        where = f"{result['file']}:{result['file_line']}"
        pytest.fail(
            f"{path} ({where}) has numpydoc errors:\n  " + "\n  ".join(errors),
            pytrace=False,
        )
