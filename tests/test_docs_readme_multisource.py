"""The README's multi-source recipes do what it says (run on synthetic corpora).

Several labelled source corpora (ids 1, 2, 3) and one unlabelled target
corpus (id -1): the README's routing-off search call must give every step
every domain, and its leave-one-domain-out call must scale the held-out
corpus with its own statistics.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from sertl_core import DomainStandardScaler, SourceOnly
from sertl_core.model_selection import (
    LeaveOneDomainOut,
    ReverseValidationScorer,
    SourceTargetShuffleSplit,
)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _corpora(seed=0):
    """Three labelled corpora with strong shifts and one unlabelled target."""
    rng = np.random.default_rng(seed)
    Xs, ys, sds = [], [], []
    for d, (mu, sc) in zip(
        (1, 2, 3, -1), [(0.0, 1.0), (6.0, 0.5), (-5.0, 3.0), (2.0, 2.0)], strict=True
    ):
        y = rng.integers(0, 3, 60)
        Xs.append((rng.normal(size=(60, 4)) + 1.5 * y[:, None]) * sc + mu)
        ys.append(y if d > 0 else np.full(60, -1))
        sds.append(np.full(60, d))
    return np.vstack(Xs), np.concatenate(ys), np.concatenate(sds)


def _pipe(adapt=None):
    return Pipeline(
        [("adapt", adapt or DomainStandardScaler()), ("clf", SourceOnly(SVC()))]
    )


def test_readme_routing_off_search_gives_every_step_every_domain():
    # with routing off, groups= reaches the splitter only: the README's call
    # must also give the steps the domains, or the three source corpora are
    # merged into one source domain
    calls = re.findall(r"search\.fit\(X, y, groups=sd[^)]*\)", README)
    assert calls, "README shows no routing-off search.fit(X, y, groups=sd, ...)"
    X, y, sd = _corpora()
    for call in calls:
        search = GridSearchCV(
            _pipe(),
            {"adapt": [DomainStandardScaler()]},
            cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
            scoring=ReverseValidationScorer(),
        )
        eval(call, {"search": search, "X": X, "y": y, "sd": sd})
        fitted = search.best_estimator_.named_steps["adapt"].domains_
        assert fitted.tolist() == [-1, 1, 2, 3], call
    # what the README says happens with groups= alone
    search.fit(X, y, groups=sd)
    assert search.best_estimator_.named_steps["adapt"].domains_.tolist() == [-1, 1]


def _lodo_block():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    found = [b for b in blocks if "LeaveOneDomainOut()" in b]
    assert found, "README shows no leave-one-domain-out code block"
    return found[0]


def test_readme_leave_one_domain_out_block_scales_the_held_out_corpus():
    from sklearn.model_selection import cross_validate

    X, y, sd = _corpora()
    # the README's first block defines pipe and imports DomainStandardScaler
    scope = {"pipe": _pipe(), "X": X, "y": y, "sd": sd}
    scope["DomainStandardScaler"] = DomainStandardScaler
    code = _lodo_block()
    assert 'target_stats="batch"' in code
    assert code.count("cross_validate(pipe") == 1
    with sklearn.config_context(enable_metadata_routing=True):
        exec(code.replace("cross_validate(pipe", "result = cross_validate(pipe"), scope)
        result = scope["result"]
        # the default target_stats="fit": the held-out corpus takes the
        # statistics of the target corpus (-1) of the training folds,
        # silently, as the README says
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fitted = cross_validate(
                _pipe(),
                X,
                y,
                cv=LeaveOneDomainOut(),
                scoring="balanced_accuracy",
                params={"sample_domain": sd},
            )
    assert result["test_score"].min() > 0.8
    assert result["test_score"].mean() > fitted["test_score"].mean() + 0.2


def test_held_out_corpus_takes_the_fitted_target_statistics():
    # the README's claim behind the advice: under target_stats="fit" a
    # held-out corpus predicted without its domain id is scaled with the
    # target's statistics when fit saw target rows, and its own source id
    # is refused with either target_stats
    from sertl_core import DomainError

    X, y, sd = _corpora()
    train = sd != 2
    for stats in ("fit", "batch"):
        scaler = DomainStandardScaler(target_stats=stats).fit(
            X[train], y[train], sample_domain=sd[train]
        )
        held = X[sd == 2]
        with pytest.raises(DomainError, match=r"domain id\(s\) \[2\]"):
            scaler.transform(held, sample_domain=np.full(len(held), 2))
    scaler = DomainStandardScaler().fit(X[train], y[train], sample_domain=sd[train])
    target = X[sd == -1]
    np.testing.assert_allclose(
        scaler.transform(held),
        (held - target.mean(axis=0)) / target.std(axis=0),
    )
