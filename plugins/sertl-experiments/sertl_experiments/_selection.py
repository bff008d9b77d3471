"""Label-free model selection across methods with GridSearchCV."""

from __future__ import annotations

import re
import threading
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if

from sertl_core.utils import take_rows

from ._config import ConfigError
from ._recipes import speaker_adapter_problem, template

__all__ = ["SCORERS", "make_scorer", "search"]

SCORERS = (
    "importance_weighted",
    "prediction_entropy",
    "deep_embedded_validation",
    "reverse_validation",
    "target",
)
"""Scorer registry names (``target`` needs labelled target rows)."""

_NEEDS_PROBA = {"prediction_entropy", "deep_embedded_validation"}


# warnings.catch_warnings swaps process-wide state (the filters and the
# function that shows a warning) and restores it when its block ends: two
# threads recording at once (cells on a Dask worker of several threads)
# would catch each other's warnings, and the one that ends last would leave
# the other's recorder installed for good, hiding every later warning of
# the process. The recorders of all threads share one installation instead,
# made by the first to start and undone by the last to end, and each
# warning goes to the recorder of the thread that raised it.
#
# What remains process-wide, and cannot be narrowed before Python 3.14's
# context-aware warnings: CPython's warnings.warn reads the one module-level
# warnings.filters list (a list subclass cannot make it per thread), so
# while any thread records, the "always" filter applies to every thread of
# the process. A user who calls run_experiment or evaluate in one thread
# while other threads of the same process warn sees those warnings bypass
# their filters ("error" does not raise, "ignore" does not silence) and,
# while a single recorder is open, counted as the run's own (the fallback
# that gives a recorder the warnings of the worker threads it starts cannot
# tell them from unrelated threads). A catch_warnings of another thread
# that interleaves with the installation (enters before it is undone,
# exits after) restores the state it saw, the "always" filter included.
# Documented in those functions' Notes; a run in a process of its own
# (sertl run, a ProcessPoolExecutor) is unaffected.
_RECORDERS_LOCK = threading.Lock()
_RECORDERS = {}  # thread id -> that thread's open recorders, innermost last
_INSTALLED = {}  # "catch": the catch_warnings; "show": the function it replaced


def _show_recorded(message, category, filename, lineno, file=None, line=None):
    """Give a warning to its thread's recorder, else show it as before."""
    with _RECORDERS_LOCK:
        stacks = _RECORDERS.get(threading.get_ident())
        if stacks is None and len(_RECORDERS) == 1:
            # a thread the recording thread started (a threaded fit's worker)
            (stacks,) = _RECORDERS.values()
        if stacks:
            stacks[-1].append((message, category))
            return
        show = _INSTALLED["show"]  # left by the last installation
    show(message, category, filename, lineno, file, line)


@contextmanager
def _recorded():
    """Record the distinct warnings raised inside as ``(category, text)``.

    The list yielded is filled when the block ends, also when it raises:
    each ``(category, text)`` once, in order, the text's whitespace folded;
    deprecation warnings (library internals, not about the experiment) are
    left out. Nothing is shown. Threads may record at once: each gets the
    warnings it raised (and those of the threads it starts, while it
    records alone). While any thread records, the filters of every thread
    are "always" (see the comment above :data:`_RECORDERS_LOCK`).
    """
    out, caught, me = [], [], threading.get_ident()
    with _RECORDERS_LOCK:
        if not _RECORDERS:
            catch = warnings.catch_warnings()
            catch.__enter__()
            warnings.simplefilter("always")
            _INSTALLED.update(catch=catch, show=warnings.showwarning)
            warnings.showwarning = _show_recorded
        _RECORDERS.setdefault(me, []).append(caught)
    try:
        yield out
    finally:
        with _RECORDERS_LOCK:
            mine = _RECORDERS[me]
            del mine[next(i for i, c in enumerate(mine) if c is caught)]
            if not mine:
                del _RECORDERS[me]
            if not _RECORDERS:
                _INSTALLED.pop("catch").__exit__(None, None, None)
        for message, category in caught:
            if issubclass(category, DeprecationWarning | PendingDeprecationWarning):
                continue
            entry = (category, " ".join(str(message).split()))
            if entry not in out:
                out.append(entry)


@contextmanager
def _recording_warnings():
    """Record the distinct warnings raised inside, as ``Category: message``.

    The list yielded is filled when the block ends, in order, each text once
    (whitespace folded); deprecation warnings (library internals, not about
    the experiment) are left out, and so are all the warnings of a block
    that raises: the failure is reported instead. Nothing is shown. Threads
    may record at once: each gets the warnings it raised (and those of the
    threads it starts, while it records alone).

    >>> with _recording_warnings() as texts:
    ...     warnings.warn("set  max_iter", UserWarning)
    ...     warnings.warn("set max_iter", UserWarning)
    >>> texts
    ['UserWarning: set max_iter']
    """
    texts = []
    with _recorded() as caught:
        yield texts
    for category, text in caught:
        line = f"{category.__name__}: {text}"
        if line not in texts:
            texts.append(line)


def _dask_worker():
    """Return the Dask worker that runs this code, or None (not in a task)."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:  # "No worker found": not in a Dask task
        return None


@contextmanager
def _warnings_to_caller(topic):
    """On a Dask worker, send the block's warnings to the caller of the search.

    A search's fits and scorers run in the workers' processes, whose
    warnings are shown there (on the workers' stderr) and never reach the
    caller, who gathers those of the fits it runs itself. Under ``topic``
    (one per search) the worker records them and logs them as a Dask event
    (``[module, category name, text]`` each), also those of a fit that
    fails, as the caller's own recording keeps them; the caller raises them
    again (:func:`_raise_worker_warnings`). Outside a Dask task, or without
    a topic, the block runs as it is.
    """
    worker = _dask_worker() if topic is not None else None
    if worker is None:
        yield
        return
    try:
        with _recorded() as caught:
            yield
    finally:
        if caught:
            worker.log_event(
                topic, [[c.__module__, c.__qualname__, text] for c, text in caught]
            )


def _warning_category(module, qualname):
    """Return the warning class a worker named; None where this process has none."""
    import importlib

    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, Warning) else None


def _raise_worker_warnings(client, topic):
    """Raise here, each once, the warnings the workers sent under ``topic``.

    With its own category when this process can import it; otherwise as a
    UserWarning whose text starts with the category's name.
    """
    seen = []
    for _, message in client.get_events(topic):
        for module, qualname, text in message:
            if (module, qualname, text) not in seen:
                seen.append((module, qualname, text))
    for module, qualname, text in seen:
        category = _warning_category(module, qualname)
        if category is None:
            category, text = UserWarning, f"{qualname}: {text}"
        warnings.warn(text, category, stacklevel=3)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def warning_kinds(entries):
    """Group recorded warnings by kind, for a log or a report.

    Texts that differ only in their numbers (a kernel width, a share of
    rows, a speaker id chosen on each split) are one kind: a run of the
    four shared corpora gave 80 lines of two warnings otherwise.

    Parameters
    ----------
    entries : iterable of (str, object)
        ``(text, where)``: a text of :func:`_recording_warnings` and what
        raised it (a cell, a search).

    Returns
    -------
    kinds : list of (str, list)
        Per kind, in order of appearance: its first text (with how many
        other texts it stands for) and the distinct ``where`` of its
        entries, in order.

    Examples
    --------
    >>> for text, wheres in warning_kinds(
    ...     [("W: sigma=1.5", "a"), ("W: sigma=2.5", "b"), ("V: x", "a")]
    ... ):
    ...     print(text, wheres)
    W: sigma=1.5 (and 1 more alike but for their numbers) ['a', 'b']
    V: x ['a']
    """
    kinds = {}  # kind -> (its texts, its wheres)
    for text, where in entries:
        texts, wheres = kinds.setdefault(_NUMBER.sub("#", text), ([], []))
        if text not in texts:
            texts.append(text)
        if where not in wheres:
            wheres.append(where)
    return [
        (
            texts[0]
            + (
                f" (and {len(texts) - 1} more alike but for their numbers)"
                if len(texts) > 1
                else ""
            ),
            wheres,
        )
        for texts, wheres in kinds.values()
    ]


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
    view remembers the domain (and speaker) of every scored row by its
    bytes and passes them on; a clone of it (reverse validation) refits the
    wrapped model, routing the speakers of the rows it is given and the
    domains the scorer gives (target and source swapped).
    """

    def __init__(self, estimator=None, row_meta=None, use_speaker=False):
        self.estimator = estimator
        self.row_meta = row_meta
        self.use_speaker = use_speaker

    def _meta(self, X):
        Xa = np.ascontiguousarray(np.asarray(X, dtype=float))
        table = self.row_meta or {}
        got = [table.get(r.tobytes(), (-1, "unknown")) for r in Xa]
        return (
            np.array([g[0] for g in got], dtype=np.int64),
            np.array([g[1] for g in got], dtype=object),
        )

    def _params(self, X, sample_domain=None):
        """Keyword arguments of a call of the model on the rows ``X``.

        The domains given (reverse validation passes the swapped ones to
        its refit and its predict), else those remembered for the rows
        scored as given; none for a model refitted without them.
        """
        sd, spk = self._meta(X)
        if sample_domain is not None:
            out = {"sample_domain": np.asarray(sample_domain)}
        elif getattr(self, "_refitted_without_domains", False):
            out = {}  # refitted on rows whose roles it inferred from y
        else:
            out = {"sample_domain": sd}
        if self.use_speaker:
            out["speaker"] = spk
        return out

    @property
    def classes_(self):
        return self.estimator.classes_

    def fit(self, X, y, sample_domain=None):
        # a refit without domains infers them from y (not from the rows'
        # remembered roles, which the reverse fit swaps)
        self._refitted_without_domains = sample_domain is None
        self.estimator.fit(X, y, **self._params(X, sample_domain))
        return self

    def predict(self, X, sample_domain=None):
        return self.estimator.predict(X, **self._params(X, sample_domain))

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X, sample_domain=None):
        # only where the model has it (not a hard vote), so that a scorer
        # that needs it says so instead of failing inside the model
        return self.estimator.predict_proba(X, **self._params(X, sample_domain))


def _row_meta(X, sample_domain, speakers):
    Xa = np.ascontiguousarray(np.asarray(X, dtype=float))
    spk = (
        speakers if speakers is not None else np.full(len(Xa), "unknown", dtype=object)
    )
    return {
        r.tobytes(): (int(d), str(s))
        for r, d, s in zip(Xa, sample_domain, spk, strict=False)
    }


class _DomainScorer:
    """Wrap a core scorer so that rows keep their domains at predict time.

    With ``warnings_topic``, a call on a Dask worker sends its warnings to
    the caller of the search (:func:`_warnings_to_caller`).
    """

    def __init__(self, scorer, speakers=None, use_speaker=False, warnings_topic=None):
        self.scorer = scorer
        self.speakers = speakers
        self.use_speaker = use_speaker
        self.warnings_topic = warnings_topic

    def get_metadata_routing(self):
        return self.scorer.get_metadata_routing()

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        with _warnings_to_caller(self.warnings_topic):
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            if sample_domain is None:
                return self.scorer(estimator, X, y, **weights)
            view = _RowDomains(
                estimator, _row_meta(X, sample_domain, self.speakers), self.use_speaker
            )
            return self.scorer(view, X, y, sample_domain=sample_domain, **weights)


class _SearchPipeline(Pipeline):
    """The search's template when its fits run on Dask workers.

    A :class:`~sklearn.pipeline.Pipeline` (same steps, parameters and
    routing) whose ``fit`` on a Dask worker sends its warnings to the
    caller of the search under ``warnings_topic``
    (:func:`_warnings_to_caller`); elsewhere (the refit of the best
    candidate, in the caller) it fits as a Pipeline does.
    """

    _parameter_constraints: dict = {
        **Pipeline._parameter_constraints,
        "warnings_topic": [str, None],
    }

    def __init__(
        self,
        steps,
        *,
        transform_input=None,
        memory=None,
        verbose=False,
        warnings_topic=None,
    ):
        super().__init__(
            steps, transform_input=transform_input, memory=memory, verbose=verbose
        )
        self.warnings_topic = warnings_topic

    def fit(self, X, y=None, **params):
        """Fit the steps as a Pipeline does; on a Dask worker, send the warnings.

        Parameters
        ----------
        X, y : array-like
            Training rows and labels.
        **params : dict
            Fit parameters, routed as by ``Pipeline.fit``.

        Returns
        -------
        self : _SearchPipeline
            The fitted pipeline.
        """
        with _warnings_to_caller(self.warnings_topic):
            return super().fit(X, y, **params)


def needs_proba(scorers):
    """Whether any scorer needs ``predict_proba``."""
    return any(s in _NEEDS_PROBA for s in scorers)


def _mean_rank_refit(names):
    def refit(cv_results):
        ranks = np.mean(
            [np.asarray(cv_results[f"rank_test_{n}"], dtype=float) for n in names],
            axis=0,
        )
        means = np.nanmean(
            [np.asarray(cv_results[f"mean_test_{n}"], dtype=float) for n in names],
            axis=0,
        )
        order = np.lexsort((-np.nan_to_num(means, nan=-np.inf), ranks))
        return int(order[0])

    return refit


def search(
    recipes,
    X,
    y,
    sample_domain,
    *,
    scorers=("importance_weighted",),
    cv=None,
    classifier="svc",
    classifier_params=None,
    n_jobs=None,
    random_state=0,
    few_shot=False,
    probability=False,
    refit=True,
    speakers=None,
    n_splits=3,
    client=None,
):
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
    classifier : str, default="svc"
        Classifier of every recipe, by :func:`make_classifier` name.
    classifier_params : dict, default=None
        Constructor parameters of the classifier.
    n_jobs : int, default=None
        GridSearchCV workers (a Dask backend, when active, runs them). The
        candidates' warnings (a ConvergenceWarning, ...) are raised to the
        caller when they run in its process, or on the Dask workers of
        ``client``; in other worker processes (joblib's, or a Dask backend
        made active without ``client``) they are shown there, under the
        caller's warning filters (scikit-learn passes them on), and cannot
        be caught here: GridSearchCV does not return them.
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
    n_splits : int, default=3
        Number of splits of the splitter chosen when ``cv`` is None (an
        experiment's ``[protocol] selection_splits``).
    client : distributed.Client, default=None
        Run the fits and scorers on its workers (joblib's Dask backend,
        ``n_jobs`` workers at a time): each records the warnings it raises
        and sends them back as a Dask event, and they are raised here, in
        the caller, once each, as the warnings of fits in this process
        are (with their own category where this process can import it).

    Returns
    -------
    search : GridSearchCV
        Fitted; ``best_params_``, ``cv_results_`` and ``best_estimator_``.
        A candidate that fails scores NaN there (without a
        FitFailedWarning).
    names : list of str
        Recipe name of every row of ``cv_results_``.

    Raises
    ------
    ConfigError
        A recipe with ``scaling="speaker"`` or an adapter that needs speaker
        ids, which the search cannot route.
    """
    from sertl_core.model_selection import SourceTargetShuffleSplit, TargetLabelSplit

    per_speaker = [r.name for r in recipes if r.scaling == "speaker"]
    if per_speaker:
        raise ConfigError(
            f'{", ".join(per_speaker)}: scaling = "speaker" cannot be searched with '
            "GridSearchCV (speaker ids cannot be routed to some candidates only); "
            'use scaling = "domain" there, or score it with evaluate(), which '
            "routes speaker ids (sertl run does)."
        )
    for r in recipes:
        problem = speaker_adapter_problem(
            r,
            "search gives to no step (GridSearchCV cannot route them to some "
            "candidates only)",
        )
        if problem:
            raise ConfigError(
                f"Recipe {r.name!r} adapters: {problem}. Leave it out of the "
                'search; score speaker normalisation (scaling="speaker") with '
                "evaluate(), which routes speaker ids to it."
            )
    scorers = list(scorers)
    if few_shot and "target" not in scorers:
        scorers = ["target"]
    if cv is None:
        cv = (
            TargetLabelSplit(
                n_splits=n_splits, test_size=0.5, random_state=random_state
            )
            if few_shot
            else SourceTargetShuffleSplit(
                n_splits=n_splits, test_size=0.25, random_state=random_state
            )
        )
    probability = probability or needs_proba(scorers)
    n_adapt = max([len(r.adapters) for r in recipes] + [0])
    grid, names = [], []
    for r in recipes:
        g = r.template_grid(
            n_adapt,
            classifier,
            classifier_params,
            probability=probability,
            random_state=random_state,
        )
        grid.append(g)
        n = int(np.prod([len(v) for v in g.values()]))
        names.extend([r.name] * n)
    base = template(n_adapt)
    topic = None
    if client is not None:
        # the workers send their warnings under a topic of this search's own
        # (a scheduler may serve other searches at once)
        import uuid

        topic = f"sertl-search-warnings-{uuid.uuid4().hex}"
        base = _SearchPipeline(base.steps, warnings_topic=topic)
    scoring = {s: _DomainScorer(make_scorer(s), warnings_topic=topic) for s in scorers}
    gs = GridSearchCV(
        base,
        grid,
        scoring=scoring,
        cv=cv,
        refit=_mean_rank_refit(scorers) if refit else False,
        n_jobs=n_jobs,
        error_score=np.nan,
    )
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        # failed candidates score NaN in cv_results_, which reports them; the
        # other warnings (a candidate's ConvergenceWarning, ...) are the caller's
        warnings.filterwarnings("ignore", category=FitFailedWarning)
        warnings.filterwarnings(
            "ignore", "One or more of the test scores are non-finite", UserWarning
        )
        if client is None:
            gs.fit(X, y, sample_domain=np.asarray(sample_domain))
        else:
            from joblib import parallel_config

            with parallel_config(backend="dask"):
                gs.fit(X, y, sample_domain=np.asarray(sample_domain))
    if client is not None:
        _raise_worker_warnings(client, topic)
        best = getattr(gs, "best_estimator_", None)
        if isinstance(best, _SearchPipeline):
            # the caller gets the Pipeline it would get without client (the
            # recording subclass is the search's own: saved with skops, it
            # would be one more type for load_model to trust)
            gs.best_estimator_ = Pipeline(
                best.steps,
                transform_input=best.transform_input,
                memory=best.memory,
                verbose=best.verbose,
            )
    # GridSearchCV orders candidates like ParameterGrid over the list of dicts.
    return gs, names


def _expand(recipes, classifier="svc", probability=False):
    """(recipe, pipeline params, params as the config names them) per grid point."""
    from sklearn.model_selection import ParameterGrid

    from ._recipes import classifier_prefix

    prefix = classifier_prefix(classifier, probability)

    out = []
    for r in recipes:
        if not r.grid:
            out.append((r, {}, {}))
            continue
        names = {}  # pipeline parameter -> the config's grid key
        for key in r.grid:
            step, param = key.split("__", 1)
            if step == "classifier":
                names[f"{prefix}{param}"] = key
            elif step == r.estimator:
                names[f"model__{param}"] = key
            else:
                names[key] = key
        mapped = {k: list(r.grid[user]) for k, user in names.items()}
        out += [
            (r, dict(p), {names[k]: v for k, v in p.items()})
            for p in ParameterGrid(mapped)
        ]
    return out


def _fit_score(recipe, params, X, y, sd, spk, train, test, scorers, fit_kw):
    import time

    from sklearn import config_context

    use_spk = recipe.scaling == "speaker"
    pipe = recipe.pipeline(**fit_kw).set_params(**params)
    routed = {"sample_domain": sd[train]}
    if use_spk:
        routed["speaker"] = spk[train]
    # rows by position: X may be a DataFrame (X[rows] would pick columns), y a
    # list or a Series
    X_train, X_test = take_rows(X, train), take_rows(X, test)
    y_train, y_test = take_rows(y, train), take_rows(y, test)
    t0 = time.perf_counter()
    out, error, texts = {}, None, []
    # the warnings are returned with the scores (from a joblib worker too);
    # those of a fit or scorer that fails are not: its reason is reported
    with config_context(enable_metadata_routing=True):
        try:
            with _recording_warnings() as noted:
                pipe.fit(X_train, y_train, **routed)
        except (
            ValueError,
            ArithmeticError,
            RuntimeError,
            np.linalg.LinAlgError,
            MemoryError,  # a candidate refused (or failing) for its memory
        ) as e:
            # the candidate scores NaN on this split; the reason is reported
            failed = {s: np.nan for s in scorers}
            return failed, time.perf_counter() - t0, _reason("fit", e), []
        fit_time = time.perf_counter() - t0
        texts += noted
        meta = _row_meta(X_test, sd[test], spk[test])
        for name, scorer in scorers.items():
            view = _RowDomains(pipe, meta, use_spk)
            try:
                with _recording_warnings() as noted:
                    v = scorer(view, X_test, y_test, sample_domain=sd[test])
                out[name] = float(v)
            except (ValueError, TypeError, ArithmeticError, RuntimeError) as e:
                out[name] = np.nan
                error = error or _reason(f"scorer {name}", e)
                continue
            texts += noted
    return out, fit_time, error, list(dict.fromkeys(texts))


def _reason(where, exc):
    """One line naming where a candidate failed and why (for the report)."""
    text = " ".join(str(exc).split())
    if len(text) > 240:
        text = text[:237] + "..."
    return f"{where}: {type(exc).__name__}: {text}"


def evaluate(
    recipes,
    X,
    y,
    sample_domain,
    speakers=None,
    *,
    scorers=("reverse_validation",),
    few_shot=False,
    classifier="svc",
    classifier_params=None,
    random_state=0,
    probability=False,
    n_splits=3,
    n_jobs=None,
):
    """Score recipes (and their grids) without target labels; speaker-aware.

    Like :func:`search`, but a plain loop over the domain-aware splits, so
    steps that need speaker ids (per-speaker normalisation) can take part,
    and the rows of each test fold are predicted with their own domains.

    Parameters
    ----------
    recipes : list of Recipe
        Candidates.
    X, y, sample_domain : array-like
        Training rows (an array, DataFrame or list), labels (``"-1"``
        unlabelled), domains.
    speakers : array-like, default=None
        Speaker id of every row.
    scorers : sequence of str, default=("reverse_validation",)
        Scorer registry names; ``"target"`` alone when ``few_shot``.
    few_shot : bool, default=False
        Select on held-out labelled target rows.
    classifier : str, default="svc"
        Classifier of every recipe, by :func:`make_classifier` name.
    classifier_params : dict, default=None
        Constructor parameters of the classifier.
    random_state : int, default=0
        Seed.
    probability : bool, default=False
        Classifiers with ``predict_proba``.
    n_splits : int, default=3
        Number of splits.
    n_jobs : int, default=None
        Joblib workers over (candidate, split); the warnings raised in them
        come back in ``warnings``, as the scores do.

    Returns
    -------
    results : list of dict
        One per candidate: ``name``, ``recipe``, ``params`` (pipeline
        parameters), ``grid_params`` (the same, named as in the recipe's
        grid), ``scores`` (mean per scorer over the splits where it could be
        computed, NaN when none), ``rank`` (mean rank over scorers, 1 is
        best), ``fit_time``, ``errors`` (why a split failed, one line per
        distinct reason; empty when none did) and ``warnings`` (each
        distinct warning its fits and scorers raised, ``"Category:
        message"``, in joblib workers too; not those of a failed fit or
        scorer, nor deprecation warnings). The warnings are not shown.
    best : int
        Index of the best candidate.

    Raises
    ------
    ConfigError
        A recipe with an adapter that needs speaker ids: evaluate routes
        them only to ``scaling="speaker"``.

    Notes
    -----
    The warnings are recorded through Python's warning state, which is one
    for the whole process before Python 3.14: while ``evaluate`` runs, the
    warnings of other threads of this process bypass their filters (an
    ``"error"`` filter does not raise, ``"ignore"`` does not silence) and,
    while no other recording runs, are counted in ``warnings`` as the
    candidates' own. The filters are restored when it returns. Call it
    from a process of its own (e.g. through
    :class:`concurrent.futures.ProcessPoolExecutor`) when other threads of
    the process rely on their warning filters meanwhile.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import Recipe, evaluate
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(60, 3)); ys = np.where(Xs[:, 0] > 0, "anger", "sadness")
    >>> Xt = 3 * rng.normal(size=(40, 3)) + 5
    >>> X, y = np.vstack([Xs, Xt]), np.r_[ys, ["-1"] * 40]
    >>> sd = np.r_[np.ones(60, int), -np.ones(40, int)]
    >>> cands = [Recipe("none", scaling="source"), Recipe("dss")]
    >>> res, best = evaluate(cands, X, y, sd)
    >>> res[best]["name"]
    'dss'
    """
    from joblib import Parallel, delayed

    from sertl_core.model_selection import SourceTargetShuffleSplit, TargetLabelSplit

    for r in recipes:
        problem = speaker_adapter_problem(
            r, 'evaluate gives only to the scaling step (scaling="speaker")'
        )
        if problem:
            raise ConfigError(
                f'Recipe {r.name!r} adapters: {problem}. Use scaling="speaker" instead '
                "(and pass speakers=)."
            )
    scorers = ["target"] if few_shot else list(scorers)
    probability = probability or needs_proba(scorers)
    cv = (
        TargetLabelSplit(n_splits=n_splits, test_size=0.5, random_state=random_state)
        if few_shot
        else SourceTargetShuffleSplit(
            n_splits=n_splits, test_size=0.25, random_state=random_state
        )
    )
    sd = np.asarray(sample_domain)
    spk = (
        np.asarray(speakers, dtype=object)
        if speakers is not None
        else np.full(len(sd), "unknown", dtype=object)
    )
    splits = list(cv.split(X, y, sample_domain=sd))
    objs = {s: make_scorer(s) for s in scorers}
    cands = _expand(recipes, classifier, probability)
    fit_kw = {
        "classifier": classifier,
        "classifier_params": classifier_params,
        "probability": probability,
        "random_state": random_state,
    }
    jobs = [(i, j) for i in range(len(cands)) for j in range(len(splits))]
    res = Parallel(n_jobs=n_jobs)(
        delayed(_fit_score)(
            cands[i][0], cands[i][1], X, y, sd, spk, *splits[j], objs, fit_kw
        )
        for i, j in jobs
    )
    results = []
    for i, (r, p, user) in enumerate(cands):
        mine = [res[k] for k, (ii, _) in enumerate(jobs) if ii == i]
        scores = {
            s: float(np.nanmean([m[0][s] for m in mine]))
            if np.any(np.isfinite([m[0][s] for m in mine]))
            else float("nan")
            for s in scorers
        }
        results.append(
            {
                "name": r.name,
                "recipe": r,
                "params": p,
                "grid_params": user,
                "scores": scores,
                "fit_time": float(np.mean([m[1] for m in mine])),
                "errors": sorted({m[2] for m in mine if m[2] is not None}),
                "warnings": list(dict.fromkeys(t for m in mine for t in m[3])),
            }
        )
    ranks = []
    for s in scorers:
        v = np.array([r["scores"][s] for r in results], dtype=float)
        v = np.where(np.isfinite(v), v, -np.inf)
        # rank 1 = best; ties share the better rank
        ranks.append(np.array([1 + np.sum(v > x) for x in v], dtype=float))
    mean_rank = np.mean(ranks, axis=0)
    for r, k in zip(results, mean_rank, strict=True):
        r["rank"] = float(k)
    first = np.array([r["scores"][scorers[0]] for r in results], dtype=float)
    first = np.where(np.isfinite(first), first, -np.inf)
    # ties: the simpler candidate (listed first) wins
    best = int(np.lexsort((np.arange(len(results)), -first, mean_rank))[0])
    return results, best
