"""A parameter that several methods share is documented alike in each.

A user moves between methods of different plugins in one grid
(``param_grid={"adapt": [CORAL(), TCA()], ...}``) and in one config file:
``random_state``, ``standardize`` or ``sigma`` must accept the same kinds
of values under the same description of its type wherever it appears, as
scikit-learn documents its own (``random_state : int, RandomState instance
or None, default=None``). The methods are found through the registry, so a
new plugin is checked without being listed here.
"""

import collections
import functools

import pytest

from sertl_core import get_registry
from sertl_core.registry import KINDS

ClassDoc = pytest.importorskip(
    "numpydoc.docscrape",
    reason="numpydoc is not installed (pip install -e '.[test]' installs it)",
).ClassDoc

# parameters whose type rightly differs between the classes that take them
DIFFERENT = {
    # what a method needs of the wrapped estimator (a classifier for JDA's
    # pseudo-labels and TransferVote's votes, any estimator elsewhere)
    "estimator",
    # each method's own choices (a count, a fraction or a bound)
    "n_components",
    # DANN and multi-task take no sampler (class_weight balances them)
    "sampler",
    # each method's own solvers (cvxpy's solver names for KMM and KLIEP)
    "solver",
    # AutoencoderAdapter offers pooled statistics only (a DomainStandardScaler
    # in front gives per-domain ones)
    "standardize",
    # SubspaceAlignment's gamma is the tolerance of its dimension bound
    # (Fernando et al.'s notation), TCA's and JDA's the RBF kernel's
    # coefficient: same name, different quantities (see the report of the
    # API review; a rename needs a deprecation cycle)
    "gamma",
}


@functools.cache
def _types():
    """``{parameter: {class name: documented type}}`` of the registered classes."""
    out = collections.defaultdict(dict)
    registry = get_registry()
    for kind in KINDS:
        for name in registry.names(kind):
            cls = registry.get(kind, name)
            for param in ClassDoc(cls)["Parameters"]:
                kind_of = param.type.split(", default=")[0].strip()
                out[param.name][cls.__name__] = kind_of
    return out


def test_the_check_sees_shared_parameters():
    shared = {name for name, by in _types().items() if len(by) > 1}
    assert {"random_state", "estimator", "sampler"} <= shared


@pytest.mark.parametrize(
    "name",
    sorted(n for n, by in _types().items() if len(by) > 1 and n not in DIFFERENT),
)
def test_a_shared_parameter_has_one_documented_type(name):
    by = _types()[name]
    kinds = collections.defaultdict(list)
    for cls, kind_of in by.items():
        kinds[kind_of].append(cls)
    assert len(kinds) == 1, f"{name} is documented as: {dict(kinds)}"


def test_every_listed_difference_is_still_shared():
    # an entry whose parameter is no longer shared is stale
    shared = {name for name, by in _types().items() if len(by) > 1}
    assert shared >= DIFFERENT, DIFFERENT - shared
