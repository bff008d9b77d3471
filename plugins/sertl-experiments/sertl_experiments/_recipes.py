"""Methods as recipes: scaling + adapters + transfer estimator + classifier.

A recipe becomes a plain scikit-learn Pipeline whose steps are looked up by
registry name, so any installed plugin's method is usable by name. For grid
search across methods every recipe is also expressed on one flat template
(``scale``, ``adapt1`` ... ``adaptN``, ``model``) so ``GridSearchCV`` can
switch steps as parameters.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.pipeline import Pipeline

from sertl_core.registry import is_step_name

from ._config import (
    CLASSIFIERS,
    ConfigError,
    reserved_step_message,
)

__all__ = ["Recipe", "default_candidates", "fit_params", "make_classifier"]

AUTO_CANDIDATE_ATTRIBUTE = "_sertl_auto_candidate"
"""Class attribute by which an adapter or estimator opts out of ``method = "auto"``.

A registered class with ``_sertl_auto_candidate = False`` is not among the
installed methods that ``method = "auto"`` (and the default members of a
``vote``) chooses among; an experiment can still name it in ``candidates``.
Methods that need labelled target rows, a GPU-sized budget, or that are
no method of their own (the scalers, ``source_only``, ``vote``) declare it.
Like any class attribute it is inherited: a subclass of such a class that
is an unsupervised method of its own sets it to True.
"""

# The first-party classes that declare _sertl_auto_candidate = False, by
# name: left out too when an older release of their plugin does not declare it
_NOT_AUTO_BY_NAME = frozenset(
    {
        "vote",
        "source_only",
        "domain_standard_scaler",
        "source_standard_scaler",
        "speaker_normalizer",
        "audio_features",
        "finetune",
        "multitask",
        "dann",
        "autoencoder",
        "label_relation",
    }
)


def is_auto_candidate(name, cls):
    """Whether ``method = "auto"`` offers the registered class ``cls`` by default.

    Parameters
    ----------
    name : str
        Its registry name.
    cls : type
        The registered class.

    Returns
    -------
    offered : bool
        False when the class declares ``_sertl_auto_candidate = False``,
        when it declares nothing and is one of the first-party classes that
        declare it, or when its name is one of the pipeline's own step
        names (``scale``, ``model`` ...), which sertl run cannot use.

    Examples
    --------
    >>> from sertl_core import SourceOnly
    >>> is_auto_candidate("source_only", SourceOnly)
    False
    >>> class Weighted(SourceOnly):  # a method of its own: opts back in
    ...     registry_name = "weighted"
    ...     _sertl_auto_candidate = True
    >>> is_auto_candidate("weighted", Weighted), is_auto_candidate("model", Weighted)
    (True, False)
    """
    if is_step_name(name):
        return False
    flag = getattr(cls, AUTO_CANDIDATE_ATTRIBUTE, None)
    if flag is not None:
        return bool(flag)
    return name not in _NOT_AUTO_BY_NAME


def make_classifier(name="svc", params=None, *, probability=False, random_state=None):
    """Return a fresh classifier by short name.

    Parameters
    ----------
    name : {"svc", "logreg", "knn", "random_forest", \
            "hist_gradient_boosting", "lda"}, default="svc"
        ``svc`` is ``SVC(kernel="rbf", C=1, class_weight="balanced")``, the
        usual classifier of cross-corpus SER on functionals;
        ``hist_gradient_boosting`` is scikit-learn's
        ``HistGradientBoostingClassifier(class_weight="balanced")``, gradient
        boosted trees like the XGBoost models of SER toolkits.
    params : dict, default=None
        Constructor parameters that override the defaults.
    probability : bool, default=False
        Give ``SVC`` a ``predict_proba``: it is wrapped in a 3-fold sigmoid
        ``CalibratedClassifierCV`` (``SVC(probability=True)`` is deprecated).
    random_state : int, default=None
        Seed for classifiers that take one.

    Returns
    -------
    estimator : classifier
        A new, unfitted classifier (``CalibratedClassifierCV`` around
        ``SVC`` for ``name="svc"`` with ``probability=True``).

    Raises
    ------
    ConfigError
        An unknown ``name``, or ``params`` the classifier does not take.

    Examples
    --------
    >>> make_classifier("svc", {"C": 10.0})
    SVC(C=10.0, class_weight='balanced')
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    params = dict(params or {})
    if name == "svc":
        base = {"kernel": "rbf", "C": 1.0, "class_weight": "balanced"}
        cls = SVC
        if probability:
            from sklearn.calibration import CalibratedClassifierCV

            base.update(params)
            try:
                return CalibratedClassifierCV(SVC(**base), method="sigmoid", cv=3)
            except TypeError as exc:
                raise ConfigError(f"[classifier] params: {exc}.") from None
    elif name == "logreg":
        base, cls = {"max_iter": 2000, "class_weight": "balanced"}, LogisticRegression
    elif name == "knn":
        base, cls = {}, KNeighborsClassifier
    elif name == "random_forest":
        base = {
            "n_estimators": 300,
            "class_weight": "balanced",
            "random_state": random_state,
        }
        cls = RandomForestClassifier
    elif name == "hist_gradient_boosting":
        base = {"class_weight": "balanced", "random_state": random_state}
        cls = HistGradientBoostingClassifier
    elif name == "lda":
        base, cls = {}, LinearDiscriminantAnalysis
    else:
        raise ConfigError(
            f"[classifier] name: must be one of {', '.join(CLASSIFIERS)}, got {name!r}."
        )
    base.update(params)
    try:
        return cls(**base)
    except TypeError as exc:
        raise ConfigError(f"[classifier] params: {exc}.") from None


def _registry():
    from sertl_core import get_registry

    return get_registry()


_SCALER_NAMES = {
    "source": "source_standard_scaler",
    "domain": "domain_standard_scaler",
    "speaker": "speaker_normalizer",
}


@dataclass
class Recipe:
    """One method of an experiment.

    Parameters
    ----------
    name : str
        Label in tables and plots.
    scaling : {"source", "domain", "speaker", "none"}, default="domain"
        First step: statistics of the source only (no adaptation), of each
        domain, of each speaker, or nothing.
    adapters : list of str, default=[]
        Registry names of :class:`~sertl_core.DomainAdapter` steps.
    estimator : str, default="source_only"
        Registry name of the :class:`~sertl_core.TransferEstimator`.
    params : dict, default={}
        ``{step: {param: value}}``; steps are adapter names, the estimator
        name, ``"scale"`` and ``"classifier"``.
    grid : dict, default={}
        ``{"step__param": [values]}`` searched by GridSearchCV.

    Examples
    --------
    >>> r = Recipe("dss", scaling="domain")
    >>> r.describe()
    'domain_standard_scaler -> source_only(svc)'
    """

    name: str
    scaling: str = "domain"
    adapters: list = field(default_factory=list)
    estimator: str = "source_only"
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec):
        """Build from a :class:`~sertl_experiments.MethodSpec`.

        Parameters
        ----------
        spec : MethodSpec
            A ``[[methods]]`` entry of the configuration.

        Returns
        -------
        recipe : Recipe
            A recipe with the spec's fields (its lists and dicts copied).
        """
        return cls(
            spec.name,
            spec.scaling,
            list(spec.adapters),
            spec.estimator,
            dict(spec.params),
            dict(spec.grid),
        )

    @property
    def is_adaptation(self):
        """False for the no-adaptation baseline (source scaling, source_only)."""
        return not (
            self.scaling in ("source", "none")
            and not self.adapters
            and self.estimator == "source_only"
        )

    def describe(self, classifier="svc"):
        """Return a short human-readable description of the steps.

        Parameters
        ----------
        classifier : str, default="svc"
            Name of the classifier, shown inside the estimator's parentheses.

        Returns
        -------
        description : str
            The steps joined by ``" -> "``.

        Examples
        --------
        >>> Recipe("na", scaling="source").describe("logreg")
        'source_standard_scaler -> source_only(logreg)'
        >>> for_protocol(Recipe("dss"), "few_shot").describe()
        'domain_standard_scaler -> source_only(svc, use_target_labels=True)'
        """
        parts = [_SCALER_NAMES[self.scaling]] if self.scaling != "none" else []
        parts += list(self.adapters)
        flag = self.params.get("source_only", {}).get("use_target_labels")
        shown = (
            f", use_target_labels={flag}"
            if self.estimator == "source_only" and flag is not None
            else ""
        )
        parts.append(f"{self.estimator}({classifier}{shown})")
        return " -> ".join(parts)

    def steps(
        self,
        classifier="svc",
        classifier_params=None,
        *,
        probability=False,
        random_state=None,
    ):
        """Return the list of ``(name, estimator)`` steps, freshly constructed.

        Parameters
        ----------
        classifier : str, default="svc"
            Classifier wrapped by the transfer estimator, by
            :func:`make_classifier` name.
        classifier_params : dict, default=None
            Constructor parameters of the classifier; the recipe's own
            ``params["classifier"]`` override them.
        probability : bool, default=False
            Give the classifier a ``predict_proba`` (see
            :func:`make_classifier`).
        random_state : int, default=None
            Seed of the classifier, and of every step (and wrapped
            estimator) whose ``random_state`` is None; None seeds nothing.

        Returns
        -------
        steps : list of (str, estimator)
            ``"scale"`` (unless ``scaling="none"``), one step per adapter,
            named after it, and ``"model"``, the transfer estimator that
            wraps the classifier.

        Raises
        ------
        ConfigError
            A step name the registry does not know, or parameters a step
            (or the classifier) does not take, with the recipe's field named.
        """
        reg = _registry()
        out = []
        if self.scaling != "none":
            kind = "adapters"
            out.append(
                (
                    "scale",
                    _create(
                        reg,
                        kind,
                        _SCALER_NAMES[self.scaling],
                        self.params.get("scale", {}),
                        self.name,
                        field="scaling",
                        step="scale",
                    ),
                )
            )
        for a in self.adapters:
            step = _create(
                reg,
                "adapters",
                a,
                self.params.get(a, {}),
                self.name,
                field="adapter",
                step=a,
            )
            out.append((a, step))
        clf_params = dict(classifier_params or {})
        clf_params.update(self.params.get("classifier", {}))
        clf = make_classifier(
            classifier, clf_params, probability=probability, random_state=random_state
        )
        est_params = dict(self.params.get(self.estimator, {}))
        est_params.setdefault("estimator", clf)
        out.append(
            (
                "model",
                _create(
                    reg,
                    "estimators",
                    self.estimator,
                    est_params,
                    self.name,
                    field="estimator",
                    step=self.estimator,
                ),
            )
        )
        if random_state is not None:
            for _, step in out:
                _seed(step, random_state)
        return out

    def pipeline(
        self,
        classifier="svc",
        classifier_params=None,
        *,
        probability=False,
        random_state=None,
    ):
        """Return the recipe as an unfitted :class:`~sklearn.pipeline.Pipeline`.

        Parameters
        ----------
        classifier : str, default="svc"
            Classifier wrapped by the transfer estimator, by
            :func:`make_classifier` name.
        classifier_params : dict, default=None
            Constructor parameters of the classifier; the recipe's own
            ``params["classifier"]`` override them.
        probability : bool, default=False
            Give the classifier a ``predict_proba`` (see
            :func:`make_classifier`).
        random_state : int, default=None
            Seed of the classifier, and of every step (and wrapped
            estimator) whose ``random_state`` is None; None seeds nothing.

        Returns
        -------
        pipeline : sklearn.pipeline.Pipeline
            The steps of :meth:`steps`.
        """
        return Pipeline(
            self.steps(
                classifier,
                classifier_params,
                probability=probability,
                random_state=random_state,
            )
        )

    def grid_key(self, key, n_adapt, *, prefix="model__estimator__"):
        """Map ``step__param`` of this recipe to the flat template's name.

        Parameters
        ----------
        key : str
            A key of the recipe's ``grid``: ``step__param``, where the step
            is ``"scale"``, ``"classifier"``, the estimator or an adapter.
        n_adapt : int
            Number of adapter slots of the template (an adapter's slot is
            its position in ``adapters``, whatever ``n_adapt``).
        prefix : str, default="model__estimator__"
            Prefix of the classifier's parameters in the template (see
            :func:`classifier_prefix`).

        Returns
        -------
        name : str
            ``scale__param``, ``adaptI__param``, ``model__param`` or
            ``prefix`` followed by the classifier's parameter.

        Raises
        ------
        ConfigError
            When the step is none of the recipe's.
        """
        step, param = key.split("__", 1)
        if step == "scale":
            return f"scale__{param}"
        if step == "classifier":
            return f"{prefix}{param}"
        if step == self.estimator:
            return f"model__{param}"
        if step in self.adapters:
            return f"adapt{self.adapters.index(step) + 1}__{param}"
        steps = ["scale", "classifier", self.estimator, *self.adapters]
        raise ConfigError(
            f"[[methods]] {self.name} grid {key}: no step {step!r}; keys are "
            f"STEP__PARAM with STEP one of {', '.join(dict.fromkeys(steps))}."
        )

    def template_grid(
        self,
        n_adapt,
        classifier="svc",
        classifier_params=None,
        *,
        probability=False,
        random_state=None,
    ):
        """Return this recipe as a ``param_grid`` dict on the flat template.

        Parameters
        ----------
        n_adapt : int
            Number of adapter slots of the template (:func:`template`), at
            least the recipe's number of adapters; the slots it leaves empty
            are ``"passthrough"``.
        classifier : str, default="svc"
            Classifier wrapped by the transfer estimator, by
            :func:`make_classifier` name.
        classifier_params : dict, default=None
            Constructor parameters of the classifier; the recipe's own
            ``params["classifier"]`` override them.
        probability : bool, default=False
            Give the classifier a ``predict_proba`` (see
            :func:`make_classifier`).
        random_state : int, default=None
            Seed of the classifier, and of every step (and wrapped
            estimator) whose ``random_state`` is None; None seeds nothing.

        Returns
        -------
        grid : dict
            One value for each slot (``scale``, ``adapt1`` ...,
            ``model``), the recipe's steps, and the recipe's own ``grid``
            under the template's parameter names.
        """
        steps = dict(
            self.steps(
                classifier,
                classifier_params,
                probability=probability,
                random_state=random_state,
            )
        )
        grid = {"scale": [steps.get("scale", "passthrough")]}
        for i in range(n_adapt):
            grid[f"adapt{i + 1}"] = [
                steps[self.adapters[i]] if i < len(self.adapters) else "passthrough"
            ]
        grid["model"] = [steps["model"]]
        prefix = classifier_prefix(classifier, probability)
        for key, values in self.grid.items():
            grid[self.grid_key(key, n_adapt, prefix=prefix)] = list(values)
        return grid


def for_protocol(recipe, target):
    """Return ``recipe`` with the protocol's default for its transfer estimator.

    Under the few-shot protocol the default estimator, ``source_only``,
    learns from the labelled source rows and the ``k`` labelled target rows
    per class (``SourceOnly(use_target_labels=True)``): a method given target
    labels uses them unless it says otherwise, ``params = { source_only = {
    use_target_labels = false } }``. Other estimators, and every recipe
    without labelled target rows (``target = "unlabelled"``), are returned
    as they are.

    Parameters
    ----------
    recipe : Recipe
        The method.
    target : {"unlabelled", "few_shot"}
        The protocol's ``target``.

    Returns
    -------
    recipe : Recipe
        The same recipe, or a copy whose ``source_only`` parameters say
        ``use_target_labels=True``.

    Examples
    --------
    >>> for_protocol(Recipe("dss"), "few_shot").params
    {'source_only': {'use_target_labels': True}}
    >>> off = Recipe("so", params={"source_only": {"use_target_labels": False}})
    >>> for_protocol(off, "few_shot").params
    {'source_only': {'use_target_labels': False}}
    >>> for_protocol(Recipe("dss"), "unlabelled").params
    {}
    """
    if target != "few_shot" or recipe.estimator != "source_only":
        return recipe
    own = dict(recipe.params.get("source_only", {}))
    if "use_target_labels" in own:
        return recipe
    own["use_target_labels"] = True
    return replace(recipe, params={**recipe.params, "source_only": own})


def classifier_prefix(classifier, probability):
    """Parameter prefix of the classifier inside the ``model`` step."""
    if probability and classifier == "svc":
        return "model__estimator__estimator__"  # inside CalibratedClassifierCV
    return "model__estimator__"


def _seed(step, seed):
    params = step.get_params(deep=False) if hasattr(step, "get_params") else {}
    if "random_state" in params and params["random_state"] is None:
        step.set_params(random_state=seed)
    inner = params.get("estimator")
    if inner is not None and hasattr(inner, "get_params"):
        _seed(inner, seed)


def _create(reg, kind, name, params, method, *, field, step):
    """Instantiate a step; errors name the method's field (or its params)."""
    from sertl_core import RegistryError

    if is_step_name(name):
        why = reserved_step_message(name)
        raise ConfigError(f"[[methods]] {method} {field}: {why}")
    try:
        return reg.create(kind, name, **params)
    except RegistryError as exc:
        bad_params = isinstance(exc.__cause__, TypeError)
        where = f"params {step}" if bad_params else field
        raise ConfigError(f"[[methods]] {method} {where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[[methods]] {method} params {step}: {exc}") from None


def speaker_adapter_problem(recipe, speaker_ids):
    """Say why an adapter of ``recipe`` cannot run where speaker ids go elsewhere.

    An adapter whose ``fit`` takes ``speaker`` or ``speakers`` (such as
    :class:`~sertl_speech.SpeakerNormalizer`) needs the speaker of each row.
    sertl run, sertl grid, :func:`~sertl_experiments.evaluate`,
    :func:`~sertl_experiments.train_model` and the search give speaker ids
    to no adapter (sertl run and evaluate only to ``scaling = "speaker"``):
    such a step would get none and silently take all rows for one speaker
    (the speaker normaliser becomes a plain standard scaler). Each of them
    refuses it up front with this reason, in a message of its own that
    names its field and the fix. :meth:`Recipe.pipeline` builds it: a
    caller that routes ``speaker`` to the step may use it.

    Parameters
    ----------
    recipe : Recipe
        The method.
    speaker_ids : str
        What the caller does with speaker ids, completing "which ...",
        e.g. ``"sertl run gives only to the scaling step"``.

    Returns
    -------
    problem : str or None
        The reason, naming the first such adapter and its parameter; None
        when no adapter needs speaker ids. An adapter name the registry
        does not know is left to building the recipe, whose error names it.

    Examples
    --------
    >>> print(speaker_adapter_problem(Recipe("dss"), "nobody gives"))
    None
    >>> r = Recipe("x", adapters=["speaker_normalizer"])
    >>> speaker_adapter_problem(r, "train_model gives to no step").split(", ")[0]
    "'speaker_normalizer' needs the speaker of each row (its fit takes speaker)"
    """
    from sertl_core import RegistryError

    reg = _registry()
    for name in recipe.adapters:
        try:
            cls = reg.get("adapters", name)
        except RegistryError:
            continue
        taken = inspect.signature(cls.fit).parameters
        param = next((p for p in ("speaker", "speakers") if p in taken), None)
        if param is not None:
            return (
                f"{name!r} needs the speaker of each row (its fit takes {param}), "
                f"which {speaker_ids}: as an adapter it would get none and take "
                "all rows for one speaker"
            )
    return None


def template(n_adapt):
    """Return the flat Pipeline template with ``n_adapt`` adapter slots.

    Every grid point replaces the ``model`` slot. Its placeholder is a
    :class:`~sertl_core.SourceOnly`, not ``"passthrough"``: GridSearchCV
    decides from the template which fit metadata its candidates get, and a
    template in which no step requests ``sample_domain`` would fit every
    candidate without it (domains inferred from the labels, so labelled
    target rows would count as source and several sources as one).
    """
    from sertl_core import SourceOnly

    steps = [("scale", "passthrough")]
    steps += [(f"adapt{i + 1}", "passthrough") for i in range(n_adapt)]
    steps.append(("model", SourceOnly()))
    return Pipeline(steps)


def default_candidates(extra=None):
    """Return the recipes ``method = "auto"`` chooses among, from the installed plugins.

    The no-adaptation baseline, per-domain standardisation, and per-domain
    standardisation followed by each installed adapter or transfer
    estimator that :func:`is_auto_candidate` offers: a class that declares
    ``_sertl_auto_candidate = False`` (neural and few-shot methods, the
    scalers, ``source_only``, ``vote``) is left out unless named in
    ``extra``.

    Parameters
    ----------
    extra : list of Recipe, default=None
        Further candidates (e.g. the experiment's own methods).

    Returns
    -------
    recipes : list of Recipe
        ``no_adaptation``, ``dss``, one ``dss+NAME`` per offered adapter or
        estimator, then those of ``extra`` whose name is not taken yet.

    Examples
    --------
    >>> [r.name for r in default_candidates()][:2]
    ['no_adaptation', 'dss']
    """
    reg = _registry()
    out = [Recipe("no_adaptation", scaling="source"), Recipe("dss", scaling="domain")]
    for entry in reg.entries("adapters"):
        if is_auto_candidate(entry.name, entry.cls):
            out.append(Recipe(f"dss+{entry.name}", adapters=[entry.name]))
    for entry in reg.entries("estimators"):
        if is_auto_candidate(entry.name, entry.cls):
            out.append(Recipe(f"dss+{entry.name}", estimator=entry.name))
    seen = {r.name for r in out}
    for r in extra or []:
        if r.name not in seen:
            out.append(r)
            seen.add(r.name)
    return out


def fit_params(pipeline, sample_domain, *, speakers=None):
    """Routing-off fit parameters: ``step__sample_domain`` for every step that takes it.

    Parameters
    ----------
    pipeline : Pipeline
        The pipeline to fit.
    sample_domain : ndarray of int
        Domain of each training row.
    speakers : ndarray, default=None
        Speaker of each row, passed to steps whose ``fit`` takes ``speaker``
        or ``speakers`` (speaker normalisation).

    Returns
    -------
    params : dict
    """
    out = {}
    for name, step in pipeline.steps:
        if step is None or step == "passthrough":
            continue
        sig = inspect.signature(step.fit).parameters
        if "sample_domain" in sig:
            out[f"{name}__sample_domain"] = np.asarray(sample_domain)
        for key in ("speaker", "speakers", "groups"):
            if key in sig and speakers is not None:
                out[f"{name}__{key}"] = np.asarray(speakers)
                break
    return out


def transform_rows(pipeline, X, sample_domain):
    """Apply all steps but the last, each row with its own domain."""
    Z = X
    for _, step in pipeline.steps[:-1]:
        if step is None or step == "passthrough":
            continue
        if "sample_domain" in inspect.signature(step.transform).parameters:
            Z = step.transform(Z, sample_domain=sample_domain)
        else:
            Z = step.transform(Z)
    return np.asarray(Z, dtype=float)
