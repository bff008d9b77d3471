"""The Attributes section of every registered method matches what fit sets.

``test_docs_numpydoc.py`` holds the Parameters sections to the signatures;
nothing held the Attributes sections to the fitted models. Here every
adapter and transfer estimator that the registry lists is fitted on the
kit's small data set, and:

* every public fitted attribute (a name ending in ``_``, not starting with
  ``_``) that fit sets is documented in the class's Attributes section;
* every documented attribute is set, unless its description says when it is
  (``only``, ``when``, ``if``, ``unless``: ``feature_names_in_`` "when ``X``
  had them", a phase that runs with some settings only).
"""

import inspect
import re
import warnings

import numpy as np
import pytest

from sertl_core import get_registry
from sertl_core.testing import make_domain_data

NumpyDocString = pytest.importorskip(
    "numpydoc.docscrape",
    reason="numpydoc is not installed (pip install -e '.[test]' installs it)",
).NumpyDocString

# a description naming a condition: the attribute may be absent after this fit
_CONDITIONAL = re.compile(r"\b(only|when|if|unless)\b")

ENTRIES = [
    pytest.param(get_registry().get(kind, name), id=f"{kind}:{name}")
    for kind in ("adapters", "estimators")
    for name in get_registry().names(kind)
]


def _documented(cls):
    doc = NumpyDocString(inspect.getdoc(cls) or "")
    out = {}
    for attr in doc["Attributes"]:
        for name in attr.name.split(","):
            out[name.strip()] = " ".join(attr.desc)
    return out


def _fitted(cls):
    X, y, sd, _ = make_domain_data()
    params = inspect.signature(cls).parameters
    # a few epochs: the attributes, not the accuracy, are checked
    est = cls(max_epochs=2) if "max_epochs" in params else cls()
    fit_params = inspect.signature(est.fit).parameters
    if "sample_domain" in fit_params:
        kwargs = {"sample_domain": sd}
    elif "speaker" in fit_params:  # SpeakerNormalizer: speakers, not domains
        kwargs = {"speaker": np.arange(len(X)) % 6}
    else:
        kwargs = {}
    with warnings.catch_warnings():
        # the small data set draws warnings (KLIEP's kernel width at an edge
        # of its grid, a network that has not converged); they do not matter
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kwargs)


def _public_fitted(est):
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}


def test_the_check_finds_classes():
    names = {p.id for p in ENTRIES}
    assert {"adapters:domain_standard_scaler", "estimators:source_only"} <= names


@pytest.mark.parametrize("cls", ENTRIES)
def test_fitted_attributes_are_documented(cls):
    documented = _documented(cls)
    est = _fitted(cls)
    fitted = _public_fitted(est)
    undocumented = sorted(fitted - set(documented))
    assert not undocumented, (
        f"{cls.__name__}.fit sets {undocumented}, which its docstring's "
        "Attributes section does not describe: document them (or make them "
        "private with a leading underscore)."
    )
    missing = sorted(
        name
        for name, desc in documented.items()
        if not hasattr(est, name) and not _CONDITIONAL.search(desc)
    )
    assert not missing, (
        f"{cls.__name__}'s Attributes section describes {missing}, which fit "
        "did not set: remove them, or say when they are set."
    )
