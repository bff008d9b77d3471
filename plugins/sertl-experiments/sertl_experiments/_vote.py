"""A vote of several transfer methods, each training a copy of one classifier."""

from __future__ import annotations

import warnings
from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import has_fit_parameter

from sertl_core import (
    DomainAdapter,
    SampleWeightMixin,
    SertlWarning,
    SourceOnly,
    TransferEstimator,
    external_stacklevel,
    get_registry,
)
from sertl_core.params import StrOptions

from ._recipes import is_auto_candidate

__all__ = ["TransferVote"]


def _soft(self):
    if self.voting != "soft":
        raise AttributeError(
            "predict_proba is available with voting='soft' only: a hard vote "
            "gives labels, not probabilities."
        )
    return True


def _naming(exc, where, doing=" failed to fit"):
    """``exc``'s type with a message led by the failing member, or None.

    None when that type's constructor wants more than a message.
    """
    try:
        return type(exc)(f"TransferVote {where}{doing}: {exc}")
    except TypeError:
        return None


def _majority(votes):
    """Most frequent label of each column of ``votes`` (n_members, n_rows).

    A tie goes to the tied label of the first member (row of ``votes``)
    that voted for one of the tied labels.
    """
    labels, code = np.unique(votes, return_inverse=True)
    code = code.reshape(votes.shape)
    cols = np.arange(votes.shape[1])
    counts = np.zeros((labels.size, votes.shape[1]), dtype=int)
    np.add.at(counts, (code, np.broadcast_to(cols, code.shape)), 1)
    top = counts[code, cols] == counts.max(axis=0)  # a member voted a winner
    return votes[np.argmax(top, axis=0), cols]


def _is_pair(item):
    """Whether a ``methods`` item is a ``(name, method)`` pair."""
    return (
        isinstance(item, (list, tuple))
        and len(item) == 2
        and isinstance(item[0], str)
        and item[0] != ""
    )


def _auto_name(member):
    """Name an unnamed member: its registry name, else its lowercased class."""
    if isinstance(member, str):
        return member
    return getattr(member, "registry_name", None) or type(member).__name__.lower()


def _resolve(member, reg):
    """Return the unfitted template of a member (registry name or instance)."""
    if isinstance(member, str):
        kinds = [k for k in ("adapters", "estimators") if member in reg.names(k)]
        if not kinds:
            known = reg.names("adapters") + reg.names("estimators")
            raise ValueError(
                f"methods: {member!r} is no installed adapter or transfer "
                f"estimator; installed: {', '.join(sorted(known))}."
            )
        template = reg.create(kinds[0], member)
        if not isinstance(template, (DomainAdapter, TransferEstimator)):
            raise ValueError(
                f"methods: {member!r} ({type(template).__name__}) is no sertl "
                "DomainAdapter or TransferEstimator (it needs more than "
                "sample_domain, e.g. speaker ids), so it cannot be a "
                "member: put it before the vote in a Pipeline."
            )
        return template
    if isinstance(member, (DomainAdapter, TransferEstimator)):
        return member
    raise TypeError(
        f"methods: {member!r} is neither a registry name nor a sertl "
        "DomainAdapter or TransferEstimator."
    )


def _declared(model):
    """Return the ``_sertl_expected_failed_checks`` a member declares (a dict)."""
    return dict(getattr(model, "_sertl_expected_failed_checks", None) or {})


def _uses_domain(member):
    """Return whether a member maps or predicts rows by domain (None: undeclared)."""
    if isinstance(member, DomainAdapter):
        return member._uses_domain_in_transform()
    if isinstance(member, TransferEstimator):
        return member._uses_domain_in_predict()
    return None  # no sertl method: nothing declared


def _never(self):
    raise AttributeError(
        "TransferVote has no decision_function: its members' decision values "
        "live in different feature spaces. Use predict, or predict_proba with "
        "voting='soft'."
    )


class TransferVote(SampleWeightMixin, TransferEstimator):
    """Majority vote of several transfer methods, one classifier each.

    Every method in ``methods`` trains its own copy of ``estimator`` on the
    same source and target rows: a :class:`~sertl_core.DomainAdapter`
    (e.g. CORAL, TCA) maps the rows and :class:`~sertl_core.SourceOnly`
    trains the copy on the mapped source rows; a
    :class:`~sertl_core.TransferEstimator` (e.g. KMM, KLIEP) trains it
    itself. A row's label is the one most members predict (``voting="hard"``;
    a tie goes to the member listed first) or the class of highest mean
    probability (``voting="soft"``).

    No single unsupervised transfer method is best on every pair of corpora,
    and without target labels the best one cannot be picked reliably; a vote
    of all of them is a fixed recipe that needs no labels and is less
    exposed to one method failing on one pair. On the 12 ordered pairs of
    EmoDB, RAVDESS, URDU and TurEV-DB (functionals, per-domain
    standardisation first, SVC) the hard vote of the seven unsupervised
    methods of sertl-feature, sertl-instance and sertl-relational reaches a
    mean UAR of 49.2 %, against 45.1-50.4 % for its members
    (``benchmarks/cross_corpus_ensembles.py`` in the repository).

    Unlike :class:`~sklearn.ensemble.VotingClassifier`, it keeps sertl's
    unlabelled marker (``-1``) and passes ``sample_domain`` to every member.

    With several source domains every member gets the rows' own
    ``sample_domain`` and treats the source domains as its docstring says (per
    domain or pooled).

    Parameters
    ----------
    estimator : classifier, default=None
        The classifier each member trains a copy of; ``None`` means
        ``LogisticRegression``. With ``voting="soft"`` it needs
        ``predict_proba``.
    sampler : imbalanced-learn sampler, default=None
        Passed (cloned) to every member.
    methods : list of (str, method) pairs, str or estimator, default=None
        The members, each a ``(name, method)`` pair, as the ``estimators`` of
        :class:`~sklearn.ensemble.VotingClassifier`, or a method alone. A
        method is a registry name (``"coral"``, ``"kmm"``, see ``sertl
        plugins``) or an unfitted DomainAdapter / TransferEstimator instance
        (a TransferEstimator's own ``estimator`` is replaced by a copy of
        ``estimator``). A method alone is named after its registry name
        (else its lowercased class name), with ``-1``, ``-2`` ... appended
        where several share a name, as
        :func:`~sklearn.pipeline.make_pipeline` names its steps. Names must
        be unique, must not contain ``__`` nor be a parameter of this class
        (checked at fit). By name, ``get_params`` / ``set_params`` reach a
        member (``name=method`` replaces it) and its parameters
        (``name__param``, e.g. for :class:`~sklearn.model_selection.GridSearchCV`);
        setting a parameter of a member given by registry name first creates
        it from the registry with its defaults. ``None`` means every
        installed method that ``method = "auto"`` chooses among: the
        unsupervised adapters and transfer estimators (no few-shot, neural
        or scaling step), in registry order, named by their registry names
        (one named like a parameter of this class, e.g. ``voting``, is left
        out with a warning: name it in a pair to include it); the list used
        is ``methods_``. Its cost is that of every member: with the
        first-party plugins, 30 s at 5,000 + 5,000 rows of 88 features and
        130 s at 20,000 + 20,000 (0.8 GB; ``benchmarks/results/scale_defaults.md``),
        most of it in KLIEP, JDA (its default 1-NN pseudo-labeller) and
        ClassRelationAligner; for large data name fewer, lighter members
        (e.g. ``["coral", "tca", "kmm"]``).
    voting : {"hard", "soft"}, default="hard"
        Majority of the predicted labels, or the highest mean probability.
    random_state : int, RandomState instance or None, default=None
        Seed of every ``random_state`` of every member (landmarks, centres,
        folds), of its classifier copy and of its sampler copy, nested
        estimators included (e.g. the SVC inside a CalibratedClassifierCV):
        an int is given to each as it is, replacing the seed of an instance
        in ``methods``, as ``sertl run`` seeds every step of a recipe; a
        RandomState draws one seed for each; ``None`` leaves every seed as
        it is (that of an instance in ``methods``, else its default).

    Attributes
    ----------
    methods_ : list of str
        Names of the members, in voting order (the names ``get_params``
        and ``set_params`` use).
    members_ : list of (str, DomainAdapter or None, TransferEstimator)
        The fitted members: name, fitted adapter (None for a transfer
        estimator) and the fitted model.
    classes_ : ndarray of shape (n_classes,)
        The source classes.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    sertl_experiments.default_candidates : The recipes ``method = "auto"``
        chooses among.

    References
    ----------
    .. [1] T. G. Dietterich, "Ensemble methods in machine learning",
       Multiple Classifier Systems (MCS), LNCS 1857, pp. 1-15, 2000.
    .. [2] L. I. Kuncheva, "Combining Pattern Classifiers: Methods and
       Algorithms", 2nd ed., Wiley, 2014 (ch. 4, majority vote).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from sertl_core import DomainStandardScaler
    >>> from sertl_experiments import TransferVote
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(60, 3)); ys = np.where(Xs[:, 0] > 0, "a", "b")
    >>> Xt = rng.normal(loc=1.0, size=(40, 3))
    >>> X = np.vstack([Xs, Xt]); y = np.r_[ys, ["-1"] * 40]
    >>> sd = np.r_[np.ones(60, int), -np.ones(40, int)]
    >>> vote = TransferVote(SVC(), methods=[DomainStandardScaler(), "source_only"])
    >>> vote.fit(X, y, sample_domain=sd).methods_
    ['domain_standard_scaler', 'source_only']
    >>> vote.predict(Xt).shape
    (40,)

    Named members, and a grid over one member's parameter (label-free
    selection by reverse validation; with routing off the splitter reads
    the domains from ``groups``):

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sertl_core.model_selection import (
    ...     ReverseValidationScorer, SourceTargetShuffleSplit)
    >>> vote = TransferVote(
    ...     SVC(), methods=[("dss", DomainStandardScaler()), ("plain", "source_only")])
    >>> [k for k in vote.get_params() if k.startswith("dss")]
    ['dss', 'dss__target_stats', 'dss__with_mean', 'dss__with_std']
    >>> search = GridSearchCV(
    ...     vote, {"dss__with_std": [True, False]},
    ...     cv=SourceTargetShuffleSplit(n_splits=3, random_state=0),
    ...     scoring=ReverseValidationScorer())
    >>> search.fit(X, y, groups=sd, sample_domain=sd).best_params_
    {'dss__with_std': False}
    >>> search.best_estimator_.methods[0]
    ('dss', DomainStandardScaler(with_std=False))
    """

    registry_name = "vote"
    _classification_only = True
    _sertl_auto_candidate = False

    @property
    def _sertl_expected_failed_checks(self):
        """The conformance checks that do not apply to this vote, as its members say.

        The vote itself does nothing by row position (the members' seeds
        are drawn in member order), so its fit depends on the order of the
        rows exactly when a member's does: ``check_row_order_invariance``
        is expected to fail when a member declares it (KLIEP, TCA with
        ``solver="lowrank"``, the neural methods, ...), with that member's
        reason. A wrapped ``estimator`` whose own fit depends on row order
        is exempted by the conformance kit itself.
        """
        out = {
            "check_sample_weight_equivalence_on_dense_data": (
                "the members' adapters and importance weights are fitted on the "
                "rows as given (a repeated row moves a domain's statistics); the "
                "caller's sample_weight reaches each member's classifier"
            ),
        }
        ordered = [
            f"member {name!r} ({type(model).__name__}): {why}"
            for name, model in self._member_models()
            if (why := _declared(model).get("check_row_order_invariance"))
        ]
        if ordered:
            out["check_row_order_invariance"] = (
                "a vote's fit depends on row order as its members' fits do: "
                + "; ".join(ordered)
            )
        return out

    def _member_models(self):
        """``(name, model)`` of every member as fit builds it, unfitted.

        An adapter member is the adapter itself (its classifier is a
        :class:`~sertl_core.SourceOnly`); a transfer estimator member gets
        a copy of ``estimator``. Empty when ``methods`` does not resolve
        (``fit`` then says why).
        """
        try:
            templates = self._templates()
        except (ValueError, TypeError, LookupError):
            return []
        return [
            (
                name,
                template
                if isinstance(template, DomainAdapter)
                else self._member_model(template, None),
            )
            for name, template in templates
        ]

    def _uses_domain_in_predict(self):
        """Return whether the members predict by ``sample_domain`` (None: undeclared).

        The vote hands each row's domain to every member: its prediction
        uses the domains when a member's adapter maps rows by their domain
        or a member's transfer estimator predicts by it. ``True`` when one
        does, else ``None`` when one does not declare it, else ``False``.
        """
        if hasattr(self, "members_"):
            models = [
                m
                for _, adapter, model in self.members_
                for m in (adapter, model)
                if m is not None
            ]
        else:
            models = [model for _, model in self._member_models()]
        if not models:
            return None  # unresolved members: as undeclared
        uses = [_uses_domain(m) for m in models]
        if any(u for u in uses):
            return True
        return None if any(u is None for u in uses) else False

    _parameter_constraints: dict = {
        "estimator": [object, None],
        "sampler": [object, None],
        "methods": [list, tuple, None],
        "voting": [StrOptions({"hard", "soft"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        sampler=None,
        methods=None,
        voting="hard",
        random_state=None,
    ):
        super().__init__(estimator, sampler=sampler)
        self.methods = methods
        self.voting = voting
        self.random_state = random_state

    # -- members ------------------------------------------------------------
    def _auto_methods(self, reg, *, unusable=None):
        """``(kind, name)`` of the members of ``methods=None``, in order.

        A method whose registry name is a parameter of this class is left
        out (``set_params(voting__alpha=...)`` could not tell the two
        apart); ``unusable``, a list, then collects its name, for
        :meth:`_templates` to warn about.
        """
        own = set(self._get_param_names())
        out = []
        for kind in ("adapters", "estimators"):
            for e in reg.entries(kind):
                # not itself, whatever its registry name
                if not is_auto_candidate(e.name, e.cls) or e.name == self.registry_name:
                    continue
                if e.name in own:
                    if unusable is not None:
                        unusable.append(e.name)
                    continue
                out.append((kind, e.name))
        return out

    def _items(self):
        """Return the items of ``methods`` (``None``: the names it stands for)."""
        if self.methods is None:
            return [n for _, n in self._auto_methods(get_registry())]
        return list(self.methods) if isinstance(self.methods, (list, tuple)) else []

    def _named(self):
        """``(name, member)`` of every item of ``methods``, without checks.

        A ``(name, member)`` pair keeps its name; an unnamed member is named
        after its registry name (else its lowercased class name), with
        ``-1``, ``-2`` ... appended where unnamed members share a name, as
        :func:`~sklearn.pipeline.make_pipeline` names its steps. Invalid
        items are named all the same (:meth:`_checked_named` refuses them).
        """
        items = [
            (m[0], m[1], True) if _is_pair(m) else (_auto_name(m), m, False)
            for m in self._items()
        ]
        auto = Counter(name for name, _, pair in items if not pair)
        seen: Counter = Counter()
        out = []
        for name, member, pair in items:
            if not pair and auto[name] > 1:
                seen[name] += 1
                name = f"{name}-{seen[name]}"
            out.append((name, member))
        return out

    def _checked_named(self):
        """:meth:`_named`, refusing malformed pairs and unusable names."""
        own = set(self._get_param_names())
        for m in self.methods:
            if isinstance(m, (list, tuple)) and not _is_pair(m):
                raise ValueError(
                    f"methods: {m!r} is no (name, method) pair: give each named "
                    "member as a pair of a non-empty str and a method, e.g. "
                    "('coral', CORAL()), or the method alone to name it after "
                    "its registry name."
                )
        named = self._named()
        for name, _ in named:
            if "__" in name:
                raise ValueError(
                    f"methods: the name {name!r} contains '__', which "
                    "set_params reads as name__parameter: use single "
                    f"underscores, e.g. {name.replace('__', '_')!r}."
                )
            if name in own:
                raise ValueError(
                    f"methods: the name {name!r} is also a parameter of "
                    "TransferVote, so set_params could not tell them apart: "
                    f"rename the member, e.g. {name + '_method'!r}."
                )
        counts = Counter(name for name, _ in named)
        twice = [name for name, n in counts.items() if n > 1]
        if twice:
            raise ValueError(
                f"methods: names must be unique, but {twice[0]!r} names "
                f"{counts[twice[0]]} members (an unnamed member takes its "
                "registry name): name each as a (name, method) pair, e.g. "
                f"[({twice[0]!r}, ...), ({twice[0] + '_2'!r}, ...)]."
            )
        return named

    def _templates(self):
        """``(name, unfitted template)`` of every member, in voting order."""
        reg = get_registry()
        if self.methods is None:
            unusable: list[str] = []
            auto = self._auto_methods(reg, unusable=unusable)
            if unusable:
                # Left out with a warning rather than refused: methods=None
                # means "whatever is installed", and one third-party plugin's
                # unlucky name must not stop every default vote (sertl run's
                # included). Named explicitly, methods=["voting"], the same
                # name is refused by _checked_named, since the caller chose it.
                warnings.warn(
                    f"TransferVote(methods=None) leaves out the installed "
                    f"method(s) {', '.join(map(repr, unusable))}: a member's name "
                    "must not be a parameter of TransferVote "
                    f"({', '.join(sorted(self._get_param_names()))}), or "
                    "set_params could not tell them apart. To vote with it, "
                    "name it in methods as a (name, method) pair, e.g. "
                    f"methods=[({unusable[0] + '_method'!r}, {unusable[0]!r}), ...].",
                    SertlWarning,
                    stacklevel=external_stacklevel(),
                )
            out = [(n, reg.create(kind, n)) for kind, n in auto]
            if not out:
                raise ValueError(
                    "TransferVote(methods=None) found no installed unsupervised "
                    "method to vote with: install sertl-feature, sertl-instance "
                    "or sertl-relational, or pass methods=[...]."
                )
            return out
        if len(self.methods) == 0:
            raise ValueError("methods is empty: give at least one method to vote.")
        return [(name, _resolve(m, reg)) for name, m in self._checked_named()]

    # -- parameters of the members -----------------------------------------
    def get_params(self, deep=True):
        """Get the parameters of this vote and, deep, of its members.

        Parameters
        ----------
        deep : bool, default=True
            Also return every member by its name (see ``methods``) and its
            parameters as ``name__param``; a member given by registry name
            shows the parameters it is created with.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        own = set(self._get_param_names())
        for name, member in self._named():
            if name in own:
                continue  # refused at fit; must not hide a parameter
            out[name] = member
            try:
                est = (
                    _resolve(member, get_registry())
                    if isinstance(member, str)
                    else member
                )
            except (ValueError, TypeError, LookupError):
                continue  # an unknown name: fit says which ones exist
            if hasattr(est, "get_params") and not isinstance(est, type):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params):
        """Set the parameters of this vote or of its members.

        Parameters
        ----------
        **params : dict
            This vote's parameters; ``name=method`` replaces the member of
            that name (it keeps the name); ``name__param=value`` sets a
            parameter of that member (a member given by registry name is
            first created from the registry with its defaults).

        Returns
        -------
        self : TransferVote
            The ensemble, with its parameters set.
        """
        if not params:
            return self
        if "methods" in params:
            self.methods = params.pop("methods")
        own = set(self._get_param_names())
        names = {name for name, _ in self._named()}
        listed = ", ".join(map(repr, sorted(names))) or "none"
        replace, nested, rest = {}, {}, {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head in own:
                rest[key] = value
            elif head in names:
                if sep:
                    nested.setdefault(head, {})[sub] = value
                else:
                    replace[head] = value
            else:
                raise ValueError(
                    f"Invalid parameter {head!r} for TransferVote: no parameter "
                    f"and no member of that name (members: {listed}; "
                    f"parameters: {', '.join(sorted(own))})."
                )
        for name, value in replace.items():
            self._put_member(name, value)
        members = dict(self._named()) if nested else {}
        for name, sub in nested.items():
            member = members[name]
            if isinstance(member, str):
                member = _resolve(member, get_registry())
                member.set_params(**sub)
                self._put_member(name, member)
            elif hasattr(member, "set_params"):
                member.set_params(**sub)
            else:
                raise ValueError(
                    f"member {name!r} ({member!r}) has no parameters to set: "
                    "replace it with a sertl method, set_params("
                    f"{name}=CORAL())."
                )
        # this vote's own parameters, as BaseEstimator.set_params sets them
        # but without its get_params(deep=True), which would create every
        # member given by registry name
        own_nested = {}
        for key, value in rest.items():
            head, sep, sub = key.partition("__")
            if sep:
                own_nested.setdefault(head, {})[sub] = value
            else:
                setattr(self, key, value)
        for head, sub in own_nested.items():
            value = getattr(self, head)
            if not hasattr(value, "set_params"):
                key = f"{head}__{next(iter(sub))}"
                raise ValueError(
                    f"Invalid parameter {key!r} for TransferVote: {head!r} is a "
                    f"parameter of TransferVote ({head}={value!r}), which has no "
                    f"parameters of its own, and no member is named {head!r} (a "
                    "member's name is never one of the vote's parameters): set a "
                    "member's parameter as MEMBER__PARAMETER, members: "
                    f"{listed}."
                )
            value.set_params(**sub)
        return self

    def _put_member(self, name, member):
        """Replace the (first) member called ``name``; it keeps that name.

        An unnamed member's name comes from its method, so the member
        replaced, and every unnamed member numbered as a duplicate
        (``coral-2``), become ``(name, method)`` pairs under their current
        names: no member's name changes.
        """
        named = self._named()
        at = next(i for i, (n, _) in enumerate(named) if n == name)
        items = [
            m if _is_pair(m) or n == _auto_name(m) else (n, m)
            for m, (n, _) in zip(self._items(), named, strict=True)
        ]
        old = items[at]
        items[at] = type(old)([old[0], member]) if _is_pair(old) else (name, member)
        self.methods = items if self.methods is None else type(self.methods)(items)

    def _seeded(self, model, seeds):
        """Seed every ``random_state`` of ``model``, nested ones included."""
        if self.random_state is None:  # each member keeps its own seed
            return model
        keys = sorted(
            k
            for k in model.get_params(deep=True)
            if k.rsplit("__", 1)[-1] == "random_state"
        )
        if keys:
            model.set_params(**{k: seeds() for k in keys})
        return model

    def _member_model(self, template, seeds):
        """Build a member's model: ``template`` (or SourceOnly) with a new classifier.

        ``seeds`` draws the seeds (see :meth:`_seeded`); None leaves them.
        """
        est = clone(self._get_estimator())
        model = SourceOnly(est) if template is None else clone(template)
        params = {"estimator": est}
        if self.sampler is not None:
            params["sampler"] = clone(self.sampler)
        model.set_params(**params)
        return model if seeds is None else self._seeded(model, seeds)

    def _validate_params(self):
        """Validate the parameters, the members and the soft vote's classifier.

        ``sertl run`` checks every step with this before any feature is
        extracted; ``fit`` uses :meth:`_checked_templates`, the same checks.
        """
        self._checked_templates()

    def _checked_templates(self):
        """Check the parameters and return the members' templates.

        Besides the parameter types, the members must resolve (installed
        names, sertl methods, usable names), the classifier must be one,
        ``voting="soft"`` needs it to have ``predict_proba``, and each
        member's own parameters must be valid (e.g. one set by a grid over
        ``name__param``), checked before any member is fitted.
        """
        super()._validate_params()  # a regressor is refused there
        templates = self._templates()
        if self.voting == "soft" and not hasattr(
            self._get_estimator(), "predict_proba"
        ):
            raise ValueError(
                "voting='soft' averages class probabilities, but estimator="
                f"{self._get_estimator()!r} has no predict_proba: use voting='hard' "
                "or a probabilistic classifier (e.g. CalibratedClassifierCV(SVC(), "
                'ensemble=False); in sertl run, [classifier] name = "logreg").'
            )
        for i, (name, template) in enumerate(templates):
            model = (
                clone(template)
                if isinstance(template, DomainAdapter)
                else self._member_model(template, None)
            )
            if hasattr(type(model), "_parameter_constraints"):
                try:
                    model._validate_params()
                except ValueError as exc:
                    where = f"member {i + 1} of {len(templates)} ({name!r})"
                    named = _naming(exc, where, doing="")
                    if named is None:  # pragma: no cover - a richer constructor
                        raise
                    raise named from exc
        return templates

    def _fit(self, data):
        templates = self._checked_templates()
        if self.random_state is None or isinstance(self.random_state, Integral):

            def seeds():
                return self.random_state
        else:
            rng = check_random_state(self.random_state)

            def seeds():
                return int(rng.randint(np.iinfo(np.int32).max))

        X, y, sd = data.X, data.y, data.sample_domain
        # the caller's weights go to every member (each applies them to the
        # rows that train its classifier)
        weights = (
            {} if data.sample_weight is None else {"sample_weight": data.sample_weight}
        )
        members = []
        for i, (name, template) in enumerate(templates):
            try:
                if isinstance(template, DomainAdapter):
                    adapter = self._seeded(clone(template), seeds)
                    Z = adapter.fit_transform(X, y, sample_domain=sd)
                    model = self._member_model(None, seeds)
                    model.fit(Z, y, sample_domain=sd, **weights)
                else:
                    adapter = None
                    model = self._member_model(template, seeds)
                    if weights and not has_fit_parameter(model, "sample_weight"):
                        raise TypeError(
                            f"{type(model).__name__} takes no sample_weight, so "
                            "the vote cannot weigh its rows: leave it out of "
                            "methods=[...] or fit without sample_weight."
                        )
                    model.fit(X, y, sample_domain=sd, **weights)
            except (ValueError, TypeError, ArithmeticError, RuntimeError) as exc:
                named = _naming(exc, f"member {i + 1} of {len(templates)} ({name!r})")
                if named is None:
                    raise
                raise named from exc
            members.append((name, adapter, model))
        classes = [m.classes_ for _, _, m in members]
        odd = next(
            (i for i, c in enumerate(classes) if not np.array_equal(c, classes[0])),
            None,
        )
        if odd is not None:
            first = members[0][0]
            raise ValueError(
                "the members learned different classes, so their votes cannot "
                f"be counted together: {first!r} learned {classes[0].tolist()}, "
                f"{members[odd][0]!r} learned {classes[odd].tolist()}. Every "
                "method must keep the source classes: leave out the members "
                "that drop or add classes (e.g. a label-space transfer method), "
                "or give every class labelled source rows."
            )
        self.members_ = members
        self.methods_ = [name for name, _, _ in members]
        self.classes_ = classes[0]

    def _member_call(self, member, method, X, sd):
        _, adapter, model = member
        Z = X if adapter is None else adapter.transform(X, sample_domain=sd)
        return getattr(model, method)(Z, sample_domain=sd)

    def _mean_proba(self, X, sd):
        return np.mean(
            [self._member_call(m, "predict_proba", X, sd) for m in self.members_],
            axis=0,
        )

    # -- prediction ---------------------------------------------------------
    def predict(self, X, *, sample_domain=None):
        """Predict by the members' vote.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data: each
            member is called without ``sample_domain`` too, as it would be
            alone (e.g. DomainStandardScaler then uses the pooled statistics
            of all the target domains of fit, not those of domain ``-1``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The majority label (a tie goes to the member listed first), or
            with ``voting="soft"`` the class of highest mean probability.
        """
        X, sd = self._validate_fitted_X(X, sample_domain, keep_none=True)
        if self.voting == "soft":
            return self.classes_[np.argmax(self._mean_proba(X, sd), axis=1)]
        return _majority(
            np.array([self._member_call(m, "predict", X, sd) for m in self.members_])
        )

    @available_if(_soft)
    def predict_proba(self, X, *, sample_domain=None):
        """Mean class probabilities of the members (``voting="soft"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data (each
            member is called without it, see :meth:`predict`).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._mean_proba(
            *self._validate_fitted_X(X, sample_domain, keep_none=True)
        )

    @available_if(_soft)
    def predict_log_proba(self, X, *, sample_domain=None):
        """Logarithm of :meth:`predict_proba` (``voting="soft"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        sample_domain : array-like of int, default=None
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, sample_domain=sample_domain))

    @available_if(_never)
    def decision_function(self, X, *, sample_domain=None):  # pragma: no cover
        """Not available: see :meth:`predict`."""
