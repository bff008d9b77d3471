"""The third-party plugin package written by ``sertl new-plugin``."""

from __future__ import annotations

import re
from pathlib import Path

from .registry import _FIRST_PARTY

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "sertl-{dash}"
version = "0.1.0"
description = "A sertl plugin: {name} domain adaptation methods."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["sertl-core", "numpy", "scikit-learn>=1.6"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.sertl]
{name} = "sertl_{name}.hooks"

[tool.setuptools.packages.find]
include = ["sertl_{name}*"]

[tool.pytest.ini_options]
addopts = "--doctest-modules"
testpaths = ["sertl_{name}", "tests"]
"""

_INIT = '''\
"""sertl-{dash}: {name} domain adaptation methods for sertl."""

from ._adapter import MeanShiftAdapter

__all__ = ["MeanShiftAdapter"]
'''

_HOOKS = '''\
"""Registration of the plugin's classes through the sertl hooks."""

from sertl_core import hookimpl


@hookimpl
def sertl_register_adapters():
    """Return the plugin's adapters."""
    from ._adapter import MeanShiftAdapter

    return [MeanShiftAdapter]
'''

_ADAPTER = '''\
"""An example adapter: move each source domain's mean onto the target's."""

from numbers import Real
from typing import ClassVar

import numpy as np
from sertl_core import DomainAdapter
from sertl_core.params import Interval
from sklearn.base import OneToOneFeatureMixin


class MeanShiftAdapter(OneToOneFeatureMixin, DomainAdapter):
    """Shift every source domain so that its mean equals the target mean.

    Target rows are left unchanged; a source row is moved by the difference
    between the pooled target mean and the mean of its own source domain.

    Parameters
    ----------
    strength : float, default=1.0
        Fraction of the mean difference to remove (0 disables the shift).

    Attributes
    ----------
    shifts_ : dict of int to ndarray of shape (n_features,)
        The shift of each source domain.
    n_features_in_ : int
        Number of features seen in fit.

    References
    ----------
    .. [1] B. Sun, J. Feng and K. Saenko, "Return of frustratingly easy domain
       adaptation", AAAI 2016 (first-order special case of CORAL).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_{name} import MeanShiftAdapter
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> sd = np.array([1, 1, -1, -1])
    >>> MeanShiftAdapter().fit_transform(X, sample_domain=sd).ravel().tolist()
    [10.0, 12.0, 10.0, 12.0]
    """

    registry_name = "{name}_mean_shift"
    # transform moves source rows only (the kit checks this declaration)
    _transform_uses_domain = True
    # checked by self._validate_params() (sertl_core.params); ClassVar: one
    # dict shared by every instance, as linters (ruff's RUF012) want it said
    _parameter_constraints: ClassVar[dict] = {{
        "strength": [Interval(Real, 0, None, closed="left")]
    }}

    def __init__(self, strength=1.0):
        self.strength = strength

    def _fit(self, data):
        self._validate_params()
        target_mean = data.X[data.target].mean(axis=0)
        self.shifts_ = {{
            int(d): self.strength
            * (target_mean - data.X[data.sample_domain == d].mean(axis=0))
            for d in np.unique(data.sample_domain[data.source])
        }}

    def _transform(self, X, sample_domain):
        out = np.array(X, dtype=float, copy=True)
        for d, shift in self.shifts_.items():
            out[sample_domain == d] += shift
        return out
'''

_TEST = """\
import numpy as np
from sertl_core.testing import parametrize_with_checks

from sertl_{name} import MeanShiftAdapter


@parametrize_with_checks([MeanShiftAdapter(), MeanShiftAdapter(strength=0.5)])
def test_conformance(estimator, check):
    check(estimator)


def test_source_mean_moves_to_target_mean():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (50, 3)), rng.normal(5, 1, (50, 3))])
    sd = np.r_[np.ones(50, int), -np.ones(50, int)]
    Xt = MeanShiftAdapter().fit_transform(X, sample_domain=sd)
    np.testing.assert_allclose(Xt[sd > 0].mean(0), X[sd < 0].mean(0))


def test_registered():
    from sertl_core.registry import Registry, make_plugin_manager

    reg = Registry(make_plugin_manager())
    # a hook that raised or returned something malformed, or an entry-point
    # name another distribution already uses ("{name} (its distribution)"),
    # is reported here with what to fix
    problems = {{
        plugin: problem
        for plugin, problem in reg.failures.items()
        if plugin.split(" (")[0] == "{name}"
    }}
    assert not problems, problems
    assert "{name}_mean_shift" in reg.names("adapters")


def test_documented():
    # every class the plugin registers: a numpydoc docstring of its own with
    # an Examples doctest, and for a method the paper it implements
    from sertl_core.registry import Registry, make_plugin_manager
    from sertl_core.testing import check_docstring

    reg = Registry(make_plugin_manager())
    mine = [e for e in reg.entries() if e.plugin == "{name}"]
    assert mine, "the plugin registers nothing: see test_registered"
    for entry in mine:
        implements_a_paper = entry.kind not in ("corpora", "features")
        check_docstring(entry.cls, references=implements_a_paper)
"""

_README = """\
# sertl-{dash}

A [sertl](https://pypi.org/project/sertl-core/) plugin with {name} domain
adaptation methods for speech emotion recognition.

    pip install -e '.[test]'  # registers the plugin (entry point group "sertl")
    sertl plugins             # lists {name}_mean_shift
    python -m pytest          # sklearn's and sertl's conformance checks

(`[test]` installs pytest; `python -m pytest` runs it with the Python the
plugin is installed in, where a `pytest` of another environment would not
find sertl.)

Add methods by subclassing `sertl_core.DomainAdapter` (write `_fit(data)` and
`_transform(X, sample_domain)`) or `sertl_core.TransferEstimator` (write
`_fit(data)` and call `self._fit_estimator(X, y, sample_weight)`; keep
`estimator=None, *, sampler=None` in your `__init__` and pass them to
`super().__init__`), return each class from its hook in `hooks.py`, and add
an instance to the list in `tests/test_{name}_conformance.py` (its
`test_documented` holds every class the plugin registers to a numpydoc
docstring with an Examples doctest and, for a method, a References section
citing the paper: `sertl_core.testing.check_docstring`). Adapters go in
`sertl_register_adapters`, transfer estimators in a second hook:

```python
@hookimpl
def sertl_register_estimators():
    from ._estimator import MyEstimator

    return [MyEstimator]
```

Every hook function needs the `@hookimpl` marker and the name and
parameters of its hook in `sertl_core.hookspecs` (`sertl_add_commands(subparsers)`);
`sertl plugins` reports one that pluggy would ignore or refuse.
The entry-point name (`{name}` in `pyproject.toml`) is the plugin's name and
must differ from every other installed sertl plugin's.
"""


def write_plugin(name, directory, *, force=False):
    """Write a ready-to-publish plugin package ``sertl-<name>`` into ``directory``.

    Parameters
    ----------
    name : str
        Plugin name, lowercase letters, digits and underscores.
    directory : path-like
        Parent folder of the new package folder.
    force : bool, default=False
        Write into an existing package folder: the template's files
        (``pyproject.toml``, ``README.md``, the package's ``__init__.py``,
        ``hooks.py`` and ``_adapter.py``, the conformance test) are
        overwritten; every other file in it (your own modules, ``.git``) is
        kept.

    Raises
    ------
    ValueError
        For a name that is not lowercase ``[a-z][a-z0-9_]*`` or that is the
        name of a sertl distribution (``core``, ``speech``, ``feature``, ...),
        which the new package would replace when installed.
        Also when ``directory``, or the package folder, exists and is not a
        folder.
    FileExistsError
        When the package folder exists and ``force`` is False.
    OSError
        When a folder cannot be created or a file written (permissions,
        a read-only file system).

    Returns
    -------
    path : pathlib.Path
        The package folder.

    Examples
    --------
    >>> import tempfile
    >>> from sertl_core._template import write_plugin
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_plugin("demo", tmp)
    ...     sorted(p.name for p in path.iterdir())
    ['README.md', 'pyproject.toml', 'sertl_demo', 'tests']
    """
    name = name.strip().lower().replace("-", "_")
    if name.startswith("sertl_"):
        name = name[len("sertl_") :]
    if not _NAME.match(name):
        raise ValueError(
            f"Invalid plugin name {name!r}: use lowercase letters, digits and "
            "underscores, starting with a letter (e.g. 'mymethods')."
        )
    adapter = f"{name}_mean_shift"
    if "__" in adapter:  # "my_" would name the example adapter "my__mean_shift"
        raise ValueError(
            f"Invalid plugin name {name!r}: it would name the example adapter "
            f"{adapter!r}, and a registry_name must not contain '__' "
            "(scikit-learn reads it as STEP__PARAMETER); choose a name without "
            "'__' and without a trailing '_' (e.g. "
            f"{re.sub('_+', '_', name).strip('_')!r})."
        )
    dash = name.replace("_", "-")
    if f"sertl-{dash}" in _FIRST_PARTY:
        raise ValueError(
            f"Plugin name {name!r} would make the package sertl-{dash}, a "
            "distribution of the sertl project itself: installing it would "
            f"replace that package. Choose another name (e.g. 'my_{name}')."
        )
    directory = Path(directory)
    root = directory / f"sertl-{dash}"
    for folder in (directory, root):
        if folder.exists() and not folder.is_dir():
            raise ValueError(
                f"{folder} is a file, not a folder: give the folder to write "
                "the plugin package into (-d/--directory)."
            )
    if root.exists() and not force:
        raise FileExistsError(
            f"{root} exists; pass --force to overwrite the template's files in "
            "it (your other files there are kept)."
        )
    pkg = root / f"sertl_{name}"
    for folder in (root / "tests", pkg):
        if folder.exists() and not folder.is_dir():
            raise ValueError(
                f"{folder} is a file, but the template writes a folder there: "
                "move it away, or write the plugin elsewhere."
            )
        # --force writes the template's files over the old ones and keeps the
        # rest (a user's modules, .git): removing the folder lost them
        folder.mkdir(parents=True, exist_ok=True)
    files = {
        root / "pyproject.toml": _PYPROJECT,
        root / "README.md": _README,
        pkg / "__init__.py": _INIT,
        pkg / "hooks.py": _HOOKS,
        pkg / "_adapter.py": _ADAPTER,
        root / "tests" / f"test_{name}_conformance.py": _TEST,
    }
    for path, text in files.items():
        path.write_text(text.format(name=name, dash=dash), encoding="utf-8")
    return root
