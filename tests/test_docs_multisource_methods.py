"""Every method of sertl's own plugins says what it does with several sources.

Users pool several labelled corpora (EmoDB + URDU + TurEV-DB -> RAVDESS):
each registered adapter and transfer estimator must say whether it treats
the source domains one by one or pools them, and the per-domain ones must
do what they say.
"""

import re

import numpy as np
import pytest

from sertl_core import get_registry

_STATEMENT = re.compile(r"several source domains\b[^.]*?\b(pool|own)", re.I)


def _own_methods():
    registry = get_registry()
    return [
        entry
        for kind in ("adapters", "estimators")
        for entry in registry.entries(kind)
        if (entry.distribution or "").startswith("sertl-")
    ]


@pytest.mark.parametrize("entry", _own_methods(), ids=lambda e: e.name)
def test_method_docstring_says_what_it_does_with_several_sources(entry):
    doc = " ".join((entry.cls.__doc__ or "").split())
    assert _STATEMENT.search(doc), (
        f"{entry.class_path} does not say what it does with several source "
        "domains (a sentence 'With several source domains ...' saying whether "
        "each keeps its own statistics or they are pooled)"
    )


def _three_sources():
    rng = np.random.default_rng(0)
    Xs, sds = [], []
    for d, (mu, sc) in zip(
        (1, 2, 3, -1), [(0.0, 1.0), (6.0, 0.5), (-5.0, 3.0), (2.0, 2.0)], strict=True
    ):
        Xs.append(rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4)) * sc + mu)
        sds.append(np.full(50, d))
    return np.vstack(Xs), np.concatenate(sds)


@pytest.mark.parametrize(
    "name", ["domain_standard_scaler", "coral", "subspace_alignment"]
)
def test_per_domain_adapters_map_each_source_as_if_it_were_alone(name):
    # "each has its own statistics, never pooled with another": the rows of
    # source domain 2 map as with a fit on that source and the target only
    registry = get_registry()
    params = {"n_components": 2} if name == "subspace_alignment" else {}
    X, sd = _three_sources()
    alone = np.isin(sd, [2, -1])
    pooled = registry.create("adapters", name, **params).fit(X, sample_domain=sd)
    single = registry.create("adapters", name, **params)
    single.fit(X[alone], sample_domain=sd[alone])
    rows = sd == 2
    got = pooled.transform(X[rows], sample_domain=sd[rows])
    want = single.transform(X[rows], sample_domain=sd[rows])
    # principal axes are defined up to their sign
    np.testing.assert_allclose(np.abs(got), np.abs(want), atol=1e-8)
