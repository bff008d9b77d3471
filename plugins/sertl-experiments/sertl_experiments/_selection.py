"""Label-free model selection across methods with GridSearchCV."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV

from ._config import ConfigError
from ._recipes import template

__all__ = ["SCORERS", "make_scorer", "search"]

SCORERS = ("importance_weighted", "prediction_entropy", "deep_embedded_validation",
           "reverse_validation", "target")
"""Scorer registry names (``target`` needs labelled target rows)."""

_NEEDS_PROBA = {"prediction_entropy", "deep_embedded_validation"}


def make_scorer(name):
    """Return the core's scorer registered as ``name``.

    Parameters
    ----------
    name : str
        A scorer registry name, see :data:`SCORERS` and ``sertl plugins``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_domain=None)``.

    Examples
    --------
    >>> make_scorer("importance_weighted")
    ImportanceWeightedScorer(metric='uar')
    """
    from sertl_core import RegistryError, get_registry

    try:
        return get_registry().create("scorers", name)
    except RegistryError as exc:
        raise ConfigError(f"scorer {name!r}: {exc}") from None


class _RowDomains(BaseEstimator):
    """View of a fitted model that predicts each row with its own domain.

    The core's scorers call ``estimator.predict(X_rows)`` without
    ``sample_domain``, so a Pipeline would map held-out source rows as
    target rows (per-domain scaling with the target's statistics). This
    view remembers the domain of every scored row (by its bytes) and passes
    it on; a clone of it (reverse validation) is a plain refit.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _bind(self, X, sample_domain):
        Xa = np.ascontiguousarray(np.asarray(X, dtype=float))
        self._domains = {row.tobytes(): int(d) for row, d in zip(Xa, sample_domain)}
        return self

    def _sd(self, X):
        Xa = np.ascontiguousarray(np.asarray(X, dtype=float))
        table = getattr(self, "_domains", {})
        return np.array([table.get(r.tobytes(), -1) for r in Xa], dtype=np.int64)

    @property
    def classes_(self):
        return self.estimator.classes_

    def fit(self, X, y, **params):
        self.estimator.fit(X, y, **params)
        self._domains = {}
        return self

    def predict(self, X):
        return self.estimator.predict(X, sample_domain=self._sd(X))

    def predict_proba(self, X):
        return self.estimator.predict_proba(X, sample_domain=self._sd(X))


class _DomainScorer:
    """Wrap a core scorer so that rows keep their domains at predict time."""

    def __init__(self, scorer):
        self.scorer = scorer

    def get_metadata_routing(self):
        return self.scorer.get_metadata_routing()

    def __call__(self, estimator, X, y=None, sample_domain=None):
        if sample_domain is None:
            return self.scorer(estimator, X, y)
        view = _RowDomains(estimator)._bind(X, sample_domain)
        return self.scorer(view, X, y, sample_domain=sample_domain)


def needs_proba(scorers):
    """Whether any scorer needs ``predict_proba``."""
    return any(s in _NEEDS_PROBA for s in scorers)


def _mean_rank_refit(names):
    def refit(cv_results):
        ranks = np.mean([np.asarray(cv_results[f"rank_test_{n}"], dtype=float)
                         for n in names], axis=0)
        means = np.nanmean([np.asarray(cv_results[f"mean_test_{n}"], dtype=float)
                            for n in names], axis=0)
        order = np.lexsort((-np.nan_to_num(means, nan=-np.inf), ranks))
        return int(order[0])

    return refit


def search(recipes, X, y, sample_domain, *, scorers=("importance_weighted",),
           cv=None, classifier="svc", classifier_params=None, n_jobs=None,
           random_state=0, few_shot=False, probability=False, refit=True,
           speakers=None):
    """Grid search across recipes and their grids with domain-aware CV.

    Without target labels (``few_shot=False``) each split trains on part of
    the source plus all unlabelled target rows and scores with label-free
    scorers (:class:`~sertl_core.model_selection.SourceTargetShuffleSplit`);
    with labelled target rows it holds some of them out
    (:class:`~sertl_core.model_selection.TargetLabelSplit`) and scores UAR
    on them. Several scorers are combined by their mean rank.

    Parameters
    ----------
    recipes : list of Recipe
        Candidates; each recipe's ``grid`` is searched too.
    X : ndarray of shape (n_samples, n_features)
        Source and target rows.
    y : ndarray of shape (n_samples,)
        Labels; ``"-1"`` marks unlabelled rows.
    sample_domain : ndarray of int of shape (n_samples,)
        Positive source ids, negative target ids.
    scorers : sequence of str, default=("importance_weighted",)
        Scorer registry names.
    cv : splitter, default=None
        Domain-aware splitter; chosen from ``few_shot`` when None.
    classifier, classifier_params : str, dict
        Classifier of every recipe.
    n_jobs : int, default=None
        GridSearchCV workers (a Dask backend, when active, runs them).
    random_state : int, default=0
        Seed of the splits and the methods.
    few_shot : bool, default=False
        Labelled target rows are present and may be used for selection.
    probability : bool, default=False
        Build classifiers with ``predict_proba``.
    refit : bool, default=True
        Refit the chosen candidate on all rows (``best_estimator_``).
    speakers : ndarray, default=None
        Unused by the search itself (speaker-normalised recipes cannot be
        searched: GridSearchCV cannot route ``speaker`` to some candidates
        only); accepted for a uniform call.

    Returns
    -------
    search : GridSearchCV
        Fitted; ``best_params_``, ``cv_results_`` and ``best_estimator_``.
    names : list of str
        Recipe name of every row of ``cv_results_``.
    """
    from sertl_core.model_selection import SourceTargetShuffleSplit, TargetLabelSplit

    if any(r.scaling == "speaker" for r in recipes):
        raise ConfigError(
            'scaling = "speaker" cannot be grid-searched or chosen by method = "auto" '
            "(speaker ids cannot be routed to some candidates only); use scaling = "
            '"domain" there, or list the speaker-normalised method on its own.')
    scorers = list(scorers)
    if few_shot and "target" not in scorers:
        scorers = ["target"]
    if cv is None:
        cv = (TargetLabelSplit(n_splits=3, test_size=0.5, random_state=random_state)
              if few_shot else
              SourceTargetShuffleSplit(n_splits=3, test_size=0.25,
                                       random_state=random_state))
    probability = probability or needs_proba(scorers)
    n_adapt = max([len(r.adapters) for r in recipes] + [0])
    grid, names = [], []
    for r in recipes:
        g = r.template_grid(n_adapt, classifier, classifier_params,
                            probability=probability, random_state=random_state)
        grid.append(g)
        n = int(np.prod([len(v) for v in g.values()]))
        names.extend([r.name] * n)
    scoring = {s: _DomainScorer(make_scorer(s)) for s in scorers}
    gs = GridSearchCV(template(n_adapt), grid, scoring=scoring, cv=cv,
                      refit=_mean_rank_refit(scorers) if refit else False, n_jobs=n_jobs,
                      error_score=np.nan)
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.simplefilter("ignore", UserWarning)
        gs.fit(X, y, sample_domain=np.asarray(sample_domain))
    # GridSearchCV orders candidates like ParameterGrid over the list of dicts.
    return gs, names
