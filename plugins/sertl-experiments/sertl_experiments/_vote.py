"""A vote of several transfer methods, each training a copy of one classifier."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import has_fit_parameter

from sertl_core import (
    DomainAdapter,
    SampleWeightMixin,
    SourceOnly,
    TransferEstimator,
    get_registry,
)
from sertl_core.params import StrOptions

from ._recipes import _AUTO_EXCLUDE

__all__ = ["TransferVote"]


def _soft(self):
    if self.voting != "soft":
        raise AttributeError(
            "predict_proba is available with voting='soft' only: a hard vote "
            "gives labels, not probabilities."
        )
    return True


def _naming(exc, where):
    """``exc``'s type with a message led by the failing member, or None.

    None when that type's constructor wants more than a message.
    """
    try:
        return type(exc)(f"TransferVote {where} failed to fit: {exc}")
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
    mean UAR of 49.7 %, against 45.6-50.5 % for its members
    (``benchmarks/cross_corpus_ensembles.py`` in the repository).

    Unlike :class:`~sklearn.ensemble.VotingClassifier`, it keeps sertl's
    unlabelled marker (``-1``) and passes ``sample_domain`` to every member.

    Parameters
    ----------
    estimator : classifier, default=None
        The classifier each member trains a copy of; ``None`` means
        ``LogisticRegression``. With ``voting="soft"`` it needs
        ``predict_proba``.
    sampler : imbalanced-learn sampler, default=None
        Passed (cloned) to every member.
    methods : list of str or estimator, default=None
        The members: registry names (``"coral"``, ``"kmm"``, see
        ``sertl plugins``) or unfitted DomainAdapter / TransferEstimator
        instances (a TransferEstimator's own ``estimator`` is replaced by a
        copy of ``estimator``). ``None`` means every installed method that
        ``method = "auto"`` chooses among: the unsupervised adapters and
        transfer estimators (no few-shot, neural or scaling step), in
        registry order; the list used is ``methods_``.
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
        Names of the members, in voting order.
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
    """

    registry_name = "vote"
    _sertl_expected_failed_checks = {
        "check_sample_weight_equivalence_on_dense_data": (
            "the members' adapters and importance weights are fitted on the "
            "rows as given (a repeated row moves a domain's statistics); the "
            "caller's sample_weight reaches each member's classifier"
        ),
    }

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
    def _templates(self):
        """``(name, unfitted template)`` of every member, in voting order."""
        reg = get_registry()
        if self.methods is None:
            skip = _AUTO_EXCLUDE | {self.registry_name}  # itself, if renamed
            out = [
                (n, reg.create(kind, n))
                for kind in ("adapters", "estimators")
                for n in reg.names(kind)
                if n not in skip
            ]
            if not out:
                raise ValueError(
                    "TransferVote(methods=None) found no installed unsupervised "
                    "method to vote with: install sertl-feature, sertl-instance "
                    "or sertl-relational, or pass methods=[...]."
                )
            return out
        if len(self.methods) == 0:
            raise ValueError("methods is empty: give at least one method to vote.")
        out = []
        for m in self.methods:
            if isinstance(m, str):
                kinds = [k for k in ("adapters", "estimators") if m in reg.names(k)]
                if not kinds:
                    known = reg.names("adapters") + reg.names("estimators")
                    raise ValueError(
                        f"methods: {m!r} is no installed adapter or transfer "
                        f"estimator; installed: {', '.join(sorted(known))}."
                    )
                template = reg.create(kinds[0], m)
                if not isinstance(template, (DomainAdapter, TransferEstimator)):
                    raise ValueError(
                        f"methods: {m!r} ({type(template).__name__}) is no sertl "
                        "DomainAdapter or TransferEstimator (it needs more than "
                        "sample_domain, e.g. speaker ids), so it cannot be a "
                        "member: put it before the vote in a Pipeline."
                    )
                out.append((m, template))
            elif isinstance(m, (DomainAdapter, TransferEstimator)):
                out.append((getattr(m, "registry_name", None) or type(m).__name__, m))
            else:
                raise TypeError(
                    f"methods: {m!r} is neither a registry name nor a sertl "
                    "DomainAdapter or TransferEstimator."
                )
        return out

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
        est = clone(self._get_estimator())
        model = SourceOnly(est) if template is None else clone(template)
        params = {"estimator": est}
        if self.sampler is not None:
            params["sampler"] = clone(self.sampler)
        return self._seeded(model.set_params(**params), seeds)

    def _validate_params(self):
        """Validate the parameters, the members and the soft vote's classifier.

        ``sertl run`` checks every step with this before any feature is
        extracted; ``fit`` uses :meth:`_checked_templates`, the same checks.
        """
        self._checked_templates()

    def _checked_templates(self):
        """Check the parameters and return the members' templates.

        Besides the parameter types, the members must resolve (installed
        names, sertl methods), the classifier must be one, and
        ``voting="soft"`` needs it to have ``predict_proba``.
        """
        super()._validate_params()
        templates = self._templates()
        if self._is_regression():
            raise ValueError(
                "TransferVote votes between class labels: estimator must be a "
                f"classifier, got {self._get_estimator()!r}."
            )
        if self.voting == "soft" and not hasattr(
            self._get_estimator(), "predict_proba"
        ):
            raise ValueError(
                "voting='soft' averages class probabilities, but estimator="
                f"{self._get_estimator()!r} has no predict_proba: use voting='hard' "
                "or a probabilistic classifier (e.g. CalibratedClassifierCV(SVC(), "
                'ensemble=False); in sertl run, [classifier] name = "logreg").'
            )
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
        if any(not np.array_equal(c, classes[0]) for c in classes):
            raise ValueError(
                "the members learned different classes "
                f"({[list(c) for c in classes]}); every method must keep the "
                "source classes."
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
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The majority label (a tie goes to the member listed first), or
            with ``voting="soft"`` the class of highest mean probability.
        """
        X, sd = self._validate_fitted_X(X, sample_domain)
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
            Domain of each row; omitted, every row is target data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._mean_proba(*self._validate_fitted_X(X, sample_domain))

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
