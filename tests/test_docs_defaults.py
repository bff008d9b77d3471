"""Every documented default is the default of the signature.

``test_docs_numpydoc.py`` checks that the Parameters sections name the
parameters of the signatures, not the values after ``default=``: a default
changed in the code (or in the docstring) alone would pass it. Here the
``default=...`` of each parameter's type line is evaluated (a literal, or
a name of the object's module such as ``INPUT_KINDS``) and compared with
the signature's default (a dataclass field's ``default_factory()``), for
the public objects and methods that ``test_docs_numpydoc.py`` validates.
A parameter with a default documents it, unless its type says it is
ignored (``y : ignored``).
"""

import ast
import dataclasses
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

NumpyDocString = pytest.importorskip(
    "numpydoc.docscrape",
    reason="numpydoc is not installed (pip install -e '.[test]' installs it)",
).NumpyDocString

# the discovery of test_docs_numpydoc.py, loaded from its file (the tests
# are not a package)
_spec = importlib.util.spec_from_file_location(
    "_sertl_docs_numpydoc", Path(__file__).with_name("test_docs_numpydoc.py")
)
_numpydoc_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_numpydoc_tests)


def _objects():
    out = {}
    for path, obj in _numpydoc_tests._top_level().items():
        out[path] = obj
        if inspect.isclass(obj):
            for owner, name in _numpydoc_tests._own_members(obj):
                attr = vars(owner)[name]
                func = getattr(attr, "__func__", attr)
                if inspect.isfunction(func):  # properties take no parameters
                    out.setdefault(
                        f"{owner.__module__}.{owner.__qualname__}.{name}", func
                    )
    return out


OBJECTS = _objects()


def _signature_defaults(obj):
    """``{name: default}`` of the parameters that have one."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for field in dataclasses.fields(obj):
            if field.default is not dataclasses.MISSING:
                out[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                out[field.name] = field.default_factory()
        return out
    try:
        sig = inspect.signature(obj)
    except ValueError:  # an exception or warning class: no Python signature
        return {}
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _documented_default(type_line):
    """The text after ``default=`` in a Parameters type line, or None."""
    head, sep, tail = type_line.partition("default=")
    return tail.strip() if sep else None


def _evaluate(text, module):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        # a name of the module (INPUT_KINDS), a constructor call (FeatureSpec())
        return eval(text, vars(module))  # noqa: S307 - our own docstrings


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return np.isnan(b)
    try:
        return bool(a == b) and type(a) in (type(b), int, float)
    except Exception:  # arrays and other values without a plain ==
        return False


def test_the_check_finds_objects():
    assert "sertl_core.methods.DomainStandardScaler" in OBJECTS
    assert "sertl_core.base.TransferEstimator.fit" in OBJECTS
    assert len(OBJECTS) > 150


@pytest.mark.parametrize("path", sorted(OBJECTS))
def test_documented_defaults_match_signature(path):
    obj = OBJECTS[path]
    defaults = _signature_defaults(obj)
    if not defaults:
        return
    module = sys.modules[obj.__module__]
    problems = []
    for param in NumpyDocString(inspect.getdoc(obj) or "")["Parameters"]:
        for name in (n.strip().lstrip("*") for n in param.name.split(",")):
            if name not in defaults:
                continue
            text = _documented_default(param.type)
            if text is None:
                if "ignored" not in param.type.lower():
                    problems.append(
                        f"{name}: the signature's default {defaults[name]!r} is "
                        "not documented (add `, default=...` to its type)"
                    )
                continue
            value = _evaluate(text, module)
            if not _same(value, defaults[name]):
                problems.append(
                    f"{name}: documented default={text}, signature {defaults[name]!r}"
                )
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)
