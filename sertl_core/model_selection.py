"""Domain-aware model selection: splitters and scorers.

Splitters decide which rows train and which score; scorers score on target
rows only, with target labels (:class:`TargetScorer`) or without them
(:class:`PredictionEntropyScorer`, :class:`ImportanceWeightedScorer`,
:class:`DeepEmbeddedValidationScorer`, :class:`ReverseValidationScorer`).

Both work with scikit-learn's metadata routing on or off:

* routing on: ``GridSearchCV(...).fit(X, y, sample_domain=sd)``; splitters
  and scorers request ``sample_domain``;
* routing off: ``GridSearchCV(...).fit(X, y, groups=sd, step__sample_domain=sd)``;
  splitters read the domains from ``groups``, and scorers infer them from
  ``y`` (labelled rows source, unlabelled rows target), which is exact for
  the test folds these splitters produce; a Pipeline's ``predict`` then gets
  no domains, so its per-domain steps (e.g. ``DomainStandardScaler``) treat
  held-out source rows as target rows: turn routing on for such pipelines.
"""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_consistent_length, check_random_state
from sklearn.utils.metadata_routing import MetadataRequest

from ._domains import (
    DomainError,
    SertlWarning,
    _continuous_labels,
    check_sample_domain,
    external_stacklevel,
    infer_sample_domain,
    is_unlabeled,
)
from .base import (
    _check_not_permuted_across_domains,
    _estimator_type,
    _n_rows,
    _one_line,
)
from .params import Interval, check_params
from .utils import take_rows

__all__ = [
    "DeepEmbeddedValidationScorer",
    "DomainAwareScorer",
    "ImportanceWeightedScorer",
    "LeaveOneDomainOut",
    "PredictionEntropyScorer",
    "ReverseValidationScorer",
    "SourceTargetShuffleSplit",
    "TargetLabelSplit",
    "TargetScorer",
    "concordance_correlation",
]


def _task(estimator):
    """``"regressor"``, ``"classifier"`` or None (unknown: no or other tags).

    A duck-typed estimator without scikit-learn's tags is scored as before,
    its task read from the labels.
    """
    kind = _estimator_type(estimator)
    return kind if kind in ("regressor", "classifier") else None


def _labels_1d(y):
    """``y`` as an array; a one-column 2-D ``y`` as 1-D (rows index it)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    return y


def _regression(y, estimator=None):
    """Whether ``y`` holds regression targets (only NaN then marks unlabelled rows).

    The estimator decides when it is a regressor or a classifier (a
    Pipeline by its last step); otherwise, as for a splitter, which sees
    the labels alone, continuous float labels are regression targets and
    anything else class labels (the rule of the adapters outside a
    Pipeline). A valence of exactly -1.0 is then a label, not the
    unlabelled marker.
    """
    task = _task(estimator)
    if task is not None:
        return task == "regressor"
    if y is None:
        return False
    y = np.asarray(y)
    return y.ndim == 1 and _continuous_labels(y)


def _warn_if_markers_ambiguous(who, y):
    """Warn when float labels read as classes hold both NaN and -1.

    A splitter sees the labels alone: whole-number float labels are class
    labels, so their -1 rows are unlabelled. With NaN also present they may
    be regression targets on a whole-number scale (valence in {-1, 0, 1}),
    whose -1 rows would then never be tested on.
    """
    y = np.asarray(y)
    if y.dtype.kind != "f" or not np.isnan(y).any() or not (y == -1).any():
        return
    warnings.warn(
        f"{who}: y holds both NaN and -1 and its other values are whole "
        f"numbers, so it was read as class labels: the {int((y == -1).sum())} "
        "row(s) labelled -1 are unlabelled, like the NaN rows, and are never "
        "tested on. A splitter sees only y, so it cannot tell regression "
        "targets on a whole-number scale (where -1 is a value) from classes. "
        "If these are such targets, hold out whole domains with "
        "LeaveOneDomainOut (it splits by sample_domain alone), or the "
        "labelled target rows of your choice with scikit-learn's "
        "PredefinedSplit.",
        SertlWarning,
        stacklevel=external_stacklevel(),
    )


def _labeled_mask(y, n, regression=False):
    """Rows whose label is known; none when ``y`` is None."""
    if y is None:
        return np.zeros(n, dtype=bool)
    return ~is_unlabeled(y, regression=regression)


def _n_held_out(test_size, n):
    """Rows of ``n`` to hold out: ``round(test_size * n)``, kept in ``[1, n - 1]``.

    At least one row stays on each side of the split; 0 when ``n`` is 1 (the
    only row stays in training).
    """
    return min(max(1, int(round(test_size * n))), n - 1)


def _domains_for_split(y, groups, sample_domain, n, regression=False):
    if sample_domain is not None:
        return check_sample_domain(sample_domain, n)
    if groups is not None:
        return check_sample_domain(groups, n, name="groups (used as sample_domain)")
    if y is None:
        raise DomainError(
            "A domain-aware splitter needs the domains: pass sample_domain "
            "(metadata routing on) or groups=sample_domain (routing off), or "
            "labels y with -1 (NaN for regression targets) for unlabelled "
            "target rows."
        )
    return infer_sample_domain(y, regression=regression)


class _DomainSplitter(BaseCrossValidator):
    __metadata_request__split = {"sample_domain": True}
    # whether the splits depend on which rows are labelled (not only on the
    # domains)
    _reads_labels: ClassVar[bool] = True

    def split(self, X, y=None, groups=None, *, sample_domain=None):
        """Generate train/test indices.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all domains.
        y : array-like of shape (n_samples,), default=None
            Labels; ``-1`` marks unlabelled rows (``NaN`` when the labels are
            continuous regression targets, where ``-1.0`` is a value).
        groups : array-like of int, default=None
            The domain ids when metadata routing is off.
        sample_domain : array-like of int, default=None
            The domain ids (wins over ``groups``).

        Yields
        ------
        train : ndarray of int
            Training row indices.
        test : ndarray of int
            Test row indices.
        """
        n = _n_rows(X)
        if y is not None:  # positional indexing below; a one-column y is 1-D
            y = _labels_1d(y)
        regression = _regression(y)
        reads_labels = self._reads_labels or (sample_domain is None and groups is None)
        if y is not None and not regression and reads_labels:
            _warn_if_markers_ambiguous(type(self).__name__, y)
        sd = _domains_for_split(y, groups, sample_domain, n, regression)
        labeled = _labeled_mask(y, n, regression)
        if y is not None and (regression or y.dtype.kind != "f"):
            # (whole-number float labels may hold -1 as a value: not checked)
            self._check_unlabelled_rows_are_target(
                sd,
                labeled,
                from_groups=sample_domain is None and groups is not None,
                regression=regression,
            )
        yield from self._split(sd, labeled, y)

    def _check_unlabelled_rows_are_target(self, sd, labeled, from_groups, regression):
        """Refuse unlabelled rows with a source id: they are no domain's rows.

        A source row is labelled by sertl's convention (the estimators refuse
        it otherwise); such ids most often are other groups given as
        ``groups`` with routing off, e.g. speaker ids, which the splitter
        would take for domains.
        """
        bad = ~labeled & (sd > 0)
        if not bad.any():
            return
        _check_not_permuted_across_domains(self, regression)  # the cause then
        where = "groups (used as sample_domain)" if from_groups else "sample_domain"
        hint = (
            "With metadata routing off a domain-aware splitter reads the "
            "domains from groups: pass groups=sample_domain, not other "
            "groups such as speaker ids (to hold out speakers, give cv a "
            "list of (train, test) index pairs)."
            if from_groups
            else "Give the target rows negative ids, e.g. with "
            "sertl_core.domains_from_names(names, targets=[...])."
        )
        raise DomainError(
            f"{type(self).__name__}: {int(bad.sum())} unlabelled row(s) (label "
            f"-1, '-1' or NaN) carry source ids (> 0) in {where}, "
            f"{np.unique(sd[bad]).tolist()[:10]}: source rows are labelled, "
            f"unlabelled rows belong to a target domain (a negative id). {hint}"
        )

    def _split(self, sd, labeled, y):  # pragma: no cover - abstract
        raise NotImplementedError(
            f"{type(self).__name__} must implement _split(sample_domain, labeled, y)."
        )

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover
        # BaseCrossValidator's abstract hook; every domain splitter overrides
        # split() itself, which needs the domains this hook cannot receive.
        raise NotImplementedError(f"{type(self).__name__}: call split() instead.")


class _ShuffledDomainSplitter(_DomainSplitter):
    """``n_splits`` random splits that each hold out ``test_size`` of some rows."""

    _parameter_constraints: dict = {
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
    }

    def _check_test_size(self):
        """Refuse an ``n_splits`` or a ``test_size`` that cannot split.

        ``n_splits`` must be a whole number of at least 1 (0 or fewer would
        silently yield no split), ``test_size`` a number in (0, 1): the
        fraction of the rows to hold out (a row count is not taken).
        """
        check_params(
            {"n_splits": self.n_splits, "test_size": self.test_size},
            self._parameter_constraints,
            type(self).__name__,
        )

    def get_n_splits(self, X=None, y=None, groups=None, *, sample_domain=None):
        """Return ``n_splits``.

        Parameters
        ----------
        X, y, groups, sample_domain : ignored
            Present for API compatibility.

        Returns
        -------
        n_splits : int
            The number of splits ``split`` yields.

        Raises
        ------
        InvalidParameterError
            When ``n_splits`` or ``test_size`` is invalid, as ``split``
            raises.
        """
        self._check_test_size()
        return int(self.n_splits)


class LeaveOneDomainOut(_DomainSplitter):
    """Hold out one domain at a time.

    Each split tests on every row of one domain and trains on the rows of all
    other domains: the multi-source protocol of cross-corpus SER (train on
    all corpora but one, test on the one left out).

    With metadata routing on, the held-out rows reach ``predict`` and the
    scorer with their own source id, which the model never saw in fit (a
    per-domain step refuses it, and :class:`TargetScorer` finds no target
    rows to score): score with a scorer that does not request
    ``sample_domain`` (e.g. ``scoring="balanced_accuracy"``), so they are
    predicted as target rows. Without routing, pass the domains both as
    ``groups=sample_domain`` (this splitter reads them there) and as fit
    parameters of each step that takes them (``adapt__sample_domain=sd``,
    ``clf__sample_domain=sd``): with ``groups`` alone every fit infers the
    domains from ``y``, so the training source corpora become one source
    domain. No scorer gets the domains then, so scorers that use the labels
    work too (e.g. :class:`TargetScorer`). The label-free scorers need
    unlabelled target rows in the test fold: the source folds lack them
    (with ``domains="all"`` only a target domain's own fold has them).

    The held-out domain is never in the training fold, so a per-domain
    scaler has no statistics of its own for it: use
    ``DomainStandardScaler(target_stats="batch")``, which scales the
    held-out rows (predicted without ``sample_domain``) with the statistics
    of the test fold itself. With the default ``target_stats="fit"`` they
    are scaled with the target statistics learned in fit: those of the
    target rows of the training fold when it has some (e.g. an unlabelled
    target corpus), silently; else the pooled statistics of the training
    domains (a :class:`~sertl_core.NoTargetWarning` says so). Either way the
    held-out domain's shift stays in place: down to chance level when
    corpora differ much.

    Parameters
    ----------
    domains : {"source", "all"}, default="source"
        Which domains are held out in turn: the source domains (labelled,
        so the test fold can be scored) or every domain.

    References
    ----------
    .. [1] B. Schuller et al., "Cross-corpus acoustic emotion recognition:
       variances and strategies", IEEE Transactions on Affective Computing
       1(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.model_selection import LeaveOneDomainOut
    >>> sd = np.array([1, 1, 2, 2, -1])
    >>> X = np.zeros((5, 1))
    >>> [test.tolist() for _, test in LeaveOneDomainOut().split(X, sample_domain=sd)]
    [[0, 1], [2, 3]]
    """

    registry_name = "leave_one_domain_out"
    _reads_labels = False

    def __init__(self, domains="source"):
        self.domains = domains

    def _held_out(self, sd):
        if self.domains not in ("source", "all"):
            raise ValueError(
                f"domains must be 'source' or 'all', got {self.domains!r}."
            )
        ids = np.unique(sd)
        return ids[ids > 0] if self.domains == "source" else ids

    def _split(self, sd, labeled, y):
        held = self._checked_held_out(sd)
        idx = np.arange(sd.shape[0])
        for d in held:
            yield idx[sd != d], idx[sd == d]

    def _checked_held_out(self, sd):
        """Return the held-out domain ids; fewer than two are refused."""
        held = self._held_out(sd)
        if held.size < 2 and self.domains == "source":
            raise DomainError(
                f"LeaveOneDomainOut needs at least 2 source domains, got "
                f"{held.tolist()}: give each source corpus its own positive id."
            )
        if held.size < 2:
            raise DomainError(
                f"LeaveOneDomainOut(domains='all') needs at least 2 domains, got "
                f"{held.tolist()}: holding out the only domain leaves nothing "
                "to train on. Pass sample_domain with one id per corpus."
            )
        return held

    def get_n_splits(self, X=None, y=None, groups=None, *, sample_domain=None):
        """Return the number of splits (the number of held-out domains).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Rows of all domains (only their number is used).
        y : array-like of shape (n_samples,), default=None
            Labels; the domains are inferred from them when neither
            ``groups`` nor ``sample_domain`` is given.
        groups : array-like of int, default=None
            Domain ids when routing is off.
        sample_domain : array-like of int, default=None
            Domain ids.

        Returns
        -------
        n_splits : int
            The number of splits ``split`` yields.

        Raises
        ------
        DomainError
            When ``split`` would refuse the domains: fewer than two domains
            to hold out (one source domain, e.g. the domains inferred from
            ``y``, or ``domains="all"`` with one domain), or no domains at
            all (``X`` alone).
        """
        given = [a for a in (sample_domain, groups, y, X) if a is not None]
        n = len(given[0]) if given else 0
        sd = _domains_for_split(y, groups, sample_domain, n, _regression(y))
        return int(self._checked_held_out(sd).size)


class TargetLabelSplit(_ShuffledDomainSplitter):
    """Score on held-out labelled target rows; train on everything else.

    For few-shot adaptation and for model selection with a few labelled
    target rows: every split keeps all source rows and all unlabelled target
    rows in training and moves a random (stratified) part of the labelled
    target rows to the test fold.

    The labelled target rows are split by row (utterance), not by speaker:
    a held-out row's speaker usually also has rows in the training fold.
    The scores are then optimistic for methods that learn from the target
    labels (a model can recognise the speaker's voice rather than the
    emotion), and model selection with them favours such methods over what
    they achieve on new speakers. This splitter takes no speaker ids
    (``groups`` are the domain ids when metadata routing is off); to hold
    out whole speakers, build the folds yourself, e.g. with scikit-learn's
    ``GroupShuffleSplit`` on the labelled target rows grouped by speaker,
    the source and unlabelled target rows added to every training fold,
    and pass the list of ``(train, test)`` index pairs as ``cv``.

    Parameters
    ----------
    n_splits : int, default=5
        Number of random splits, at least 1.
    test_size : float, default=0.5
        Fraction of the labelled target rows in each test fold, in (0, 1).
    stratify : bool, default=True
        Keep the class proportions of the labelled target rows. Continuous
        (regression) targets have no classes: their rows are drawn at
        random whatever this is.
    random_state : int, RandomState instance or None, default=None
        Seed of the random splits.

    References
    ----------
    .. [1] M. Abdelwahab and C. Busso, "Supervised domain adaptation for
       emotion recognition from speech", ICASSP 2015 (a few labelled target
       utterances added to labelled source data).
    .. [2] K. You, X. Wang, M. Long and M. I. Jordan, "Towards accurate model
       selection in deep unsupervised domain adaptation", ICML 2019 (why a
       held-out set of target labels is the reference for model selection).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.model_selection import TargetLabelSplit
    >>> y = np.array([0, 1, 0, 1, 0, 1, -1])
    >>> sd = np.array([1, 1, -1, -1, -1, -1, -1])
    >>> cv = TargetLabelSplit(n_splits=2, random_state=0)
    >>> for train, test in cv.split(np.zeros((7, 1)), y, sample_domain=sd):
    ...     assert set(test) <= {2, 3, 4, 5} and {0, 1, 6} <= set(train)
    """

    registry_name = "target_label_split"

    def __init__(self, n_splits=5, *, test_size=0.5, stratify=True, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.stratify = stratify
        self.random_state = random_state

    def _split(self, sd, labeled, y):
        self._check_test_size()
        cand = np.flatnonzero((sd < 0) & labeled)
        if cand.size < 2:
            raise DomainError(
                f"TargetLabelSplit needs labelled target rows to test on, found "
                f"{cand.size}. Give a few target rows their labels and negative "
                "sample_domain ids, and give the splitter those ids: "
                "sample_domain=... with metadata routing on, groups=sample_domain "
                "with it off (without either, the domains are read from y, "
                "where every labelled row is a source row). Or select without "
                "target labels: SourceTargetShuffleSplit with a label-free scorer."
            )
        rng = check_random_state(self.random_state)
        idx = np.arange(sd.shape[0])
        # classes only: continuous (regression) targets have none to keep
        stratify = self.stratify and not _regression(y)
        if stratify:
            _warn_if_classes_untested(y[cand])
        for _ in range(self.n_splits):
            if stratify:
                test = []
                for c in np.unique(y[cand]):
                    rows = cand[y[cand] == c]
                    k = _n_held_out(self.test_size, rows.size)
                    test.extend(rng.choice(rows, size=k, replace=False).tolist())
                test = np.sort(np.asarray(test, dtype=int))
            else:  # at least one labelled target row stays in training
                k = _n_held_out(self.test_size, cand.size)
                test = np.sort(rng.choice(cand, size=k, replace=False))
            if test.size == 0:
                raise DomainError(
                    "TargetLabelSplit could not hold out any labelled target row: "
                    "each class needs at least two labelled target rows."
                )
            mask = np.zeros(sd.shape[0], dtype=bool)
            mask[test] = True
            yield idx[~mask], idx[mask]


def _warn_if_classes_untested(labels):
    """Warn when a stratified split of the labelled target rows tests few classes.

    A class with one labelled target row keeps it in training, so no test
    fold scores that class; with one class left to test, a UAR is that
    class's recall, which a model predicting that class everywhere maximises.
    """
    classes, counts = np.unique(labels, return_counts=True)
    untested = classes[counts < 2]
    tested = classes.size - untested.size
    if untested.size == 0 and tested > 1:
        return
    why = (
        f"class(es) {untested.tolist()} have a single labelled target row, "
        "which stays in training: no test fold scores them"
        if untested.size
        else "the labelled target rows hold one class"
    )
    warnings.warn(
        f"TargetLabelSplit: {why}, so its scores cover {tested} class(es) only"
        + (
            " (a UAR over one class is that class's recall, best for a model "
            "that predicts it everywhere)"
            if tested == 1
            else ""
        )
        + ". Label at least two target rows of every class.",
        SertlWarning,
        stacklevel=external_stacklevel(),
    )


class SourceTargetShuffleSplit(_ShuffledDomainSplitter):
    """Hold out source rows; keep the unlabelled target rows on both sides.

    For label-free model selection: each split trains on part of the source
    rows plus all target rows and tests on the held-out source rows plus the
    unlabelled target rows, which is what importance-weighted, deep
    embedded and reverse validation need. Labelled target rows (few-shot)
    are trained on but never tested on: with metadata routing off a scorer
    infers the domains from ``y``, and would read their labels as source
    labels. Target labels are never used for scoring. Score these splits
    with a scorer of this module: scikit-learn's string scorers
    (``scoring="balanced_accuracy"``) would count the unlabelled rows of
    every test fold as one more class.

    Parameters
    ----------
    n_splits : int, default=5
        Number of random splits, at least 1.
    test_size : float, default=0.2
        Fraction of the source rows held out in each split, in (0, 1):
        ``round(test_size * n_source)`` rows, at least one, and at least one
        source row stays in training.
    stratify : bool, default=True
        Keep the class proportions of each source domain in the held-out
        rows: stratified on (domain, class) pairs, each pair gives its share
        of the held-out rows, rounded (as scikit-learn's
        ``StratifiedShuffleSplit`` does with classes), and keeps at least
        one row in training. A pair with a single row therefore cannot be
        split: it stays in training and the other pairs give the rows it
        cannot (it is held out only when no other pair has a row to spare).
        Continuous (regression) targets have no classes: their rows are
        drawn at random whatever this is, as are all rows when ``y`` is
        None. ``stratify=False`` draws the held-out rows at random from all
        the source rows.
    random_state : int, RandomState instance or None, default=None
        Seed of the random splits.

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Müller, "Covariate shift
       adaptation by importance weighted cross validation", JMLR 8, 2007.
    .. [2] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross
       validation framework to choose amongst models and datasets for
       transfer learning", ECML PKDD 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core.model_selection import SourceTargetShuffleSplit
    >>> y = np.array([0, 1, 0, 1, 0, -1, -1])
    >>> cv = SourceTargetShuffleSplit(n_splits=1, test_size=0.4, random_state=0)
    >>> train, test = next(cv.split(np.zeros((7, 1)), y))
    >>> {5, 6} <= set(train) and {5, 6} <= set(test)
    True
    """

    registry_name = "source_target_shuffle_split"

    def __init__(self, n_splits=5, *, test_size=0.2, stratify=True, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.stratify = stratify
        self.random_state = random_state

    def _split(self, sd, labeled, y):
        self._check_test_size()
        src = np.flatnonzero(sd > 0)
        tgt = np.flatnonzero(sd < 0)
        if src.size < 2:
            raise DomainError(
                f"SourceTargetShuffleSplit needs at least 2 source rows (one to "
                f"train on, one to hold out), found {src.size}: mark the "
                "labelled source rows with positive sample_domain ids."
            )
        if tgt.size == 0:
            raise DomainError(
                "SourceTargetShuffleSplit found no target rows: mark them with "
                "label -1 or negative sample_domain ids."
            )
        unlabelled = tgt[~labeled[tgt]]
        if unlabelled.size == 0:
            raise DomainError(
                "SourceTargetShuffleSplit found no unlabelled target rows to test "
                "on: every target row is labelled. Select with the labels instead "
                "(TargetLabelSplit and TargetScorer)."
            )
        rng = check_random_state(self.random_state)
        k = _n_held_out(self.test_size, src.size)
        # classes only: continuous (regression) targets have none to keep
        stratify = self.stratify and y is not None and not _regression(y)
        if stratify:
            strata = _strata(sd[src], y[src])
            groups = [src[strata == s] for s in range(strata.max() + 1)]
        for _ in range(self.n_splits):
            if stratify:
                val = np.sort(_stratified_draw(groups, k, rng))
                tr = np.setdiff1d(src, val, assume_unique=True)
            else:
                perm = rng.permutation(src)
                val, tr = np.sort(perm[:k]), np.sort(perm[k:])
            yield np.concatenate([tr, tgt]), np.concatenate([val, unlabelled])


def _strata(domains, labels):
    """Index of the (domain, class) pair of every row, from 0.

    In order of first appearance, not sorted: object labels need not be
    comparable, and ``1`` and ``"1"`` stay two classes.
    """
    codes: dict = {}
    pairs = zip(np.asarray(domains).tolist(), np.asarray(labels).tolist(), strict=True)
    return np.array(
        [codes.setdefault((int(d), c), len(codes)) for d, c in pairs],
        dtype=np.intp,
    )


def _stratified_draw(groups, k, rng):
    """Draw ``k`` rows of ``groups`` (the rows of each stratum) in proportion.

    Each stratum first gets the whole part of its share ``k * n_s / n``;
    the rows left go one at a time to the strata with the largest
    remaining share (ties broken at random, as in scikit-learn's
    ``StratifiedShuffleSplit``) among those that keep a row in training:
    a stratum of one row is held out only when no other has a row to spare.
    """
    counts = np.array([g.size for g in groups])
    share = k * counts / counts.sum()
    take = np.floor(share).astype(int)  # at most n_s - 1, since k < n
    order = rng.permutation(counts.size)  # random tie-breaking
    for _ in range(k - int(take.sum())):
        spare = take < counts - 1
        if not spare.any():
            spare = take < counts
        # rounded: equal shares tie exactly, so the random order breaks them
        deficit = np.where(spare, np.round(share - take, 9), -np.inf)[order]
        take[order[np.argmax(deficit)]] += 1
    draws = zip(groups, take, strict=True)
    return np.concatenate(
        [rng.choice(g, size=t, replace=False) for g, t in draws]
    ).astype(int)


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------


def concordance_correlation(y_true, y_pred, sample_weight=None):
    """Compute Lin's concordance correlation coefficient (CCC) of two series.

    ``2 cov(y, p) / (var(y) + var(p) + (mean(y) - mean(p))^2)``: 1 for
    perfect agreement, 0 for none; unlike Pearson's correlation it also
    penalises a shift or a change of scale. The usual measure of
    dimensional (arousal, valence) emotion regression.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted values.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows in the means, variances and covariance: 0 or
        more, with a positive sum.

    Returns
    -------
    ccc : float
        In ``[-1, 1]``; greater is better. 0 when both series are constant
        and different, 1 when they are constant and equal (to rounding).

    Raises
    ------
    ValueError
        Empty input, a 2-D series (several dimensions: score each column),
        series of different lengths, a NaN or infinite value, a negative
        weight, or weights summing to zero.

    References
    ----------
    .. [1] L. I.-K. Lin, "A concordance correlation coefficient to evaluate
       reproducibility", Biometrics 45(1), 1989.
    .. [2] F. Ringeval et al., "AVEC 2017: real-life depression, and affect
       recognition workshop and challenge", AVEC 2017 (CCC as the measure
       of arousal and valence prediction).

    Examples
    --------
    >>> from sertl_core.model_selection import concordance_correlation
    >>> concordance_correlation([0.1, 0.5, -0.3], [0.1, 0.5, -0.3])
    1.0
    >>> # a shift of 0.1 costs agreement; Pearson's r would stay 1
    >>> round(concordance_correlation([0.1, 0.5, -0.3], [0.2, 0.6, -0.2]), 3)
    0.955
    """
    y = _labels_1d(np.asarray(y_true, dtype=float))
    p = _labels_1d(np.asarray(y_pred, dtype=float))
    for name, values in (("y_true", y), ("y_pred", p)):
        if values.ndim != 1:
            # 2-D arrays were pooled into one coefficient over every column
            raise ValueError(
                f"concordance_correlation: {name} has shape {values.shape}, but "
                "it scores one series (one dimension, e.g. arousal) at a time: "
                "score each column on its own, e.g. "
                "[concordance_correlation(Y[:, k], P[:, k]) for k in "
                "range(Y.shape[1])]."
            )
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
    check_consistent_length(y, p, w)
    if y.size == 0:
        raise ValueError(
            "concordance_correlation: y_true and y_pred are empty: it needs "
            "at least one (true, predicted) pair; score a non-empty set of rows."
        )
    for name, values in (("y_true", y), ("y_pred", p), ("sample_weight", w)):
        if not np.isfinite(values).all():
            raise ValueError(
                f"concordance_correlation: {name} holds "
                f"{int((~np.isfinite(values)).sum())} NaN or infinite "
                "value(s): the coefficient is undefined there; drop those "
                "rows (or impute them) before scoring."
            )
    if (w < 0).any():
        raise ValueError(
            f"concordance_correlation: sample_weight holds {int((w < 0).sum())} "
            "negative weight(s): weights must be 0 or more (0 leaves a row "
            "out)."
        )
    if not w.sum() > 0:
        raise ValueError(
            "concordance_correlation: the weights sum to zero: give at least "
            "one row a positive weight."
        )
    my, mp = np.average(y, weights=w), np.average(p, weights=w)
    vy = np.average((y - my) ** 2, weights=w)
    vp = np.average((p - mp) ** 2, weights=w)
    cov = np.average((y - my) * (p - mp), weights=w)
    denom = vy + vp + (my - mp) ** 2
    scale = max(float(np.max(np.abs(y))), float(np.max(np.abs(p))), 1e-300)
    if denom <= (1e-12 * scale) ** 2:  # both constant and equal, to rounding
        return 1.0
    return float(2 * cov / denom)


_CLASS_METRICS = {
    "uar": balanced_accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "accuracy": accuracy_score,
    "wa": accuracy_score,
    "macro_f1": lambda y, p, sample_weight=None: f1_score(
        y, p, average="macro", sample_weight=sample_weight
    ),
}
_REGRESSION_METRICS = {
    "r2": r2_score,
    "ccc": concordance_correlation,
    "neg_mean_squared_error": lambda y, p, sample_weight=None: (
        -mean_squared_error(y, p, sample_weight=sample_weight)
    ),
}
_METRICS = {**_CLASS_METRICS, **_REGRESSION_METRICS}


def _metric(metric, estimator=None, scorer=None):
    """Return the metric function named by ``metric``, checked against the task.

    A class metric (UAR, accuracy, macro-F1) scoring a regressor, or a
    regression metric (R², CCC, MSE) scoring a classifier, is refused with
    the names that fit (``scorer`` names the scorer in the message).
    """
    if callable(metric):
        return metric
    if metric not in _METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; use one of {sorted(_CLASS_METRICS)} for "
            f"a classifier, {sorted(_REGRESSION_METRICS)} for a regressor, or a "
            "callable metric(y_true, y_pred) where greater is better."
        )
    who = f"{scorer}(metric={metric!r})" if scorer else f"metric={metric!r}"
    task = _task(estimator)
    if task == "regressor" and metric in _CLASS_METRICS:
        raise ValueError(
            f"{who} scores class labels, but the model is a regressor. Pass a "
            f"regression metric: {', '.join(map(repr, _REGRESSION_METRICS))} "
            "(or a callable metric(y_true, y_pred) where greater is better)."
        )
    if task == "classifier" and metric in _REGRESSION_METRICS:
        raise ValueError(
            f"{who} scores continuous predictions, but the model is a "
            f"classifier. Pass a class metric: "
            f"{', '.join(map(repr, _CLASS_METRICS))}."
        )
    return _METRICS[metric]


def _call(estimator, method, X, *args, sample_domain=None):
    """Call ``estimator.<method>(X, *args)``, with the rows' domains where they arrive.

    The domains are passed to a method that takes ``sample_domain`` itself
    (sertl estimators) and, with metadata routing on, to a Pipeline, which
    routes them to every step that requests them; without them a
    per-domain step would treat held-out source rows as target rows.
    ``args`` (e.g. the labels of ``fit``) go before the keyword.
    """
    func = getattr(estimator, method)
    if sample_domain is None:
        return func(X, *args)
    if hasattr(estimator, "steps"):
        takes = sklearn.get_config()["enable_metadata_routing"]
    else:
        try:
            takes = "sample_domain" in inspect.signature(func).parameters
        except (TypeError, ValueError):
            takes = False
    if not takes:
        return func(X, *args)
    try:
        return func(X, *args, sample_domain=np.asarray(sample_domain))
    except TypeError as exc:
        # only scikit-learn's refusal of a routed Pipeline none of whose
        # steps requests sample_domain; any other TypeError is the model's
        message = str(exc)
        if not (
            hasattr(estimator, "steps")
            and "sample_domain" in message
            and "not routed" in message
        ):
            raise
        return func(X, *args)


def _call_on(estimator, method, X, rows, sample_domain):
    """:func:`_call` on the given rows of ``X``, with their domains when known."""
    sd = None if sample_domain is None else np.asarray(sample_domain)[rows]
    return _call(estimator, method, take_rows(X, rows), sample_domain=sd)


class DomainAwareScorer:
    """Base class of sertl's scorers: ``scorer(estimator, X, y, sample_domain=None)``.

    A scorer is a callable with scikit-learn's scorer signature (greater is
    better) that also accepts ``sample_domain``, which it requests under
    metadata routing. Without ``sample_domain``, labelled rows are source and
    rows labelled ``-1`` target.

    ``sample_weight`` is treated as by scikit-learn's own scorers: under
    metadata routing, weights passed to a search or ``cross_validate`` raise
    until :meth:`set_score_request` says whether the scorer takes them
    (``True``: the rows it scores are weighted; ``False``: the weights only
    train the model). A scorer that cannot weight its rows says so.

    Examples
    --------
    >>> from sertl_core.model_selection import TargetScorer
    >>> TargetScorer().get_metadata_routing().score.requests
    {'sample_domain': True, 'sample_weight': None}
    >>> scorer = TargetScorer().set_score_request(sample_weight=True)
    >>> scorer.get_metadata_routing().score.requests["sample_weight"]
    True
    """

    registry_name: ClassVar[str | None] = None
    #: Whether ``__call__`` weighs the scored rows by ``sample_weight``.
    _weights_rows: ClassVar[bool] = False

    def set_score_request(self, *, sample_weight=None):
        """Say whether ``sample_weight`` is routed to this scorer.

        Parameters
        ----------
        sample_weight : bool, None or str, default=None
            True: weigh the scored rows; False: do not pass the weights
            here; None: raise if weights are passed (the default); a string:
            the name of the routed parameter to read as ``sample_weight``.

        Returns
        -------
        self : DomainAwareScorer
            The scorer, with the request set.
        """
        self._sample_weight_request = sample_weight
        return self

    def _no_weights(self, sample_weight):
        """Refuse ``sample_weight`` in a scorer that cannot weight its rows."""
        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} cannot weight the rows it scores by "
                "sample_weight. Let the weights train the model only: "
                "scorer.set_score_request(sample_weight=False)."
            )

    def _domains(self, y, sample_domain, n, regression=False):
        if sample_domain is not None:
            return check_sample_domain(sample_domain, n)
        if y is None:
            return np.full(n, -1, dtype=np.int64)
        return infer_sample_domain(y, regression=regression)

    def get_metadata_routing(self):
        """Request ``sample_domain`` (and ``sample_weight`` as set) for scoring.

        Returns
        -------
        request : sklearn.utils.metadata_routing.MetadataRequest
            The ``score`` request: ``sample_domain`` always, and
            ``sample_weight`` as :meth:`set_score_request` set it.
        """
        req = MetadataRequest(owner=type(self).__name__)
        req.score.add_request(param="sample_domain", alias=True)
        req.score.add_request(
            param="sample_weight", alias=getattr(self, "_sample_weight_request", None)
        )
        return req

    @property
    def __name__(self):
        """The scorer's name: its registry name and, when it has one, its metric.

        scikit-learn's ``ValidationCurveDisplay`` and ``LearningCurveDisplay``
        label their y axis with ``scoring.__name__`` (e.g. "Target uar").

        Returns
        -------
        name : str
            E.g. ``"target_uar"``, ``"prediction_entropy"``.
        """
        name = self.registry_name or type(self).__name__
        metric = getattr(self, "metric", None)
        return f"{name}_{metric}" if isinstance(metric, str) else name

    def __repr__(self):
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({params})"

    def __call__(
        self, estimator, X, y=None, sample_domain=None, sample_weight=None
    ):  # pragma: no cover
        """Score ``estimator`` on ``X``; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")


class TargetScorer(DomainAwareScorer):
    """Score predictions on the labelled target rows only.

    Parameters
    ----------
    metric : {"uar", "accuracy", "wa", "macro_f1", "r2", "ccc", \
            "neg_mean_squared_error"} or callable, default="uar"
        ``uar`` is the unweighted average recall (balanced accuracy), the
        standard SER metric. A regressor (dimensional arousal or valence)
        takes ``r2``, ``ccc`` (:func:`concordance_correlation`) or
        ``neg_mean_squared_error``; a callable must be greater-is-better.

    References
    ----------
    .. [1] B. Schuller, S. Steidl and A. Batliner, "The INTERSPEECH 2009
       emotion challenge", Interspeech 2009 (unweighted average recall as
       the primary measure for class-imbalanced emotion data).

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.model_selection import TargetScorer
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0], [0.5], [5.5]])
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> sd = np.array([1, 1, 1, 1, -1, -1])
    >>> clf = SourceOnly().fit(X[:4], y[:4])
    >>> TargetScorer()(clf, X, y, sample_domain=sd)
    1.0
    """

    registry_name = "target"

    def __init__(self, metric="uar"):
        self.metric = metric

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        """Score ``estimator`` on the labelled target rows of ``X``.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for unlabelled rows (``NaN`` for a regressor,
            where ``-1.0`` is a value).
        sample_domain : array-like of int, default=None
            Domain ids; without them every labelled row is scored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; the scored rows' weights reach the metric.

        Returns
        -------
        score : float
            Greater is better.
        """
        if y is None:
            raise ValueError(
                "TargetScorer scores labelled target rows, but y is None: call "
                "it with the labels, scorer(estimator, X, y, sample_domain=...) "
                "(cross_val_score and GridSearchCV pass them when given y), or "
                "select without target labels with a label-free scorer (e.g. "
                "PredictionEntropyScorer)."
            )
        metric = _metric(self.metric, estimator, type(self).__name__)
        y = _labels_1d(y)
        regression = _regression(y, estimator)
        lab = ~is_unlabeled(y, regression=regression)
        if sample_domain is not None:  # integer ids, one per row, or a clear error
            sample_domain = check_sample_domain(sample_domain, len(y))
        rows = lab if sample_domain is None else lab & (sample_domain < 0)
        if not rows.any():
            if sample_domain is not None and lab.any():
                # e.g. a LeaveOneDomainOut test fold under metadata routing:
                # the held-out corpus keeps its positive (source) id.
                string = "r2" if regression else "balanced_accuracy"
                raise DomainError(
                    "TargetScorer found no labelled target rows to score: every "
                    "labelled row carries a source id (sample_domain > 0), as in "
                    "a LeaveOneDomainOut test fold with metadata routing. Score "
                    "such folds with a scorer that does not request "
                    f"sample_domain (e.g. scoring={string!r}), or use "
                    "TargetLabelSplit to hold out labelled target rows."
                )
            raise DomainError(
                "TargetScorer found no labelled target rows to score. Use "
                "TargetLabelSplit to hold some out, or a label-free scorer."
            )
        idx = np.flatnonzero(rows)
        pred = _call_on(estimator, "predict", X, idx, sample_domain)
        if sample_weight is None:
            return float(metric(y[idx], pred))
        w = _row_weights(sample_weight, len(y))[idx]
        _check_weighted_metric(
            metric,
            "TargetScorer got sample_weight",
            "or set_score_request(sample_weight=False)",
        )
        return float(metric(y[idx], pred, sample_weight=w))


class PredictionEntropyScorer(DomainAwareScorer):
    """Negative mean prediction entropy on the target rows (label-free).

    Confident predictions on the target suggest the decision boundaries
    avoid dense target regions (entropy minimisation). Greater is better.

    Only target rows are scored: rows with a negative ``sample_domain``,
    or without it the rows labelled ``-1`` (every row when ``y`` is None).
    A test fold without any target row (e.g. the first fold of a plain
    ``KFold`` over source rows followed by target rows) raises a
    :class:`DomainError` rather than scoring the source rows in their
    place: their entropy measures confidence on the training distribution,
    not on the target, and a mean over folds that mixed the two would rank
    candidates on different quantities, silently. Use
    :class:`SourceTargetShuffleSplit`, whose test folds always hold the
    unlabelled target rows; a search with a numeric ``error_score``
    records such a fold as that value, with scikit-learn's warning. With
    the default ``error_score=np.nan`` every candidate whose folds all lack
    target rows scores NaN, and ``GridSearchCV`` then keeps its first
    candidate: pass ``error_score="raise"`` to stop at the first such fold.

    Notes
    -----
    Entropy rewards confidence, not correctness: a model that puts every
    target row in one class with certainty scores the best possible 0, and
    weaker regularisation (a larger ``C``) scores better whatever it does
    to the target. The scored target rows are also training rows under
    :class:`SourceTargetShuffleSplit`, so a method that minimises entropy
    or self-trains on them optimises this criterion directly. Compare
    candidates of similar capacity with it: among adaptation recipes with
    one classifier it did best of the four label-free scorers in sertl's
    cross-corpus benchmark (its fixed choice 48.6 % mean UAR over 12 pairs,
    reverse validation's 46.4 %, features version 5).

    References
    ----------
    .. [1] Y. Grandvalet and Y. Bengio, "Semi-supervised learning by entropy
       minimization", NIPS 2004.
    .. [2] P. Morerio, J. Cavazza and V. Murino, "Minimal-entropy correlation
       alignment for unsupervised deep domain adaptation", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.model_selection import PredictionEntropyScorer
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0], [0.5], [5.5]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> clf = SourceOnly().fit(X, y)
    >>> PredictionEntropyScorer()(clf, X, y) <= 0
    True
    """

    registry_name = "prediction_entropy"

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        """Return minus the mean entropy of ``predict_proba`` on target rows.

        Parameters
        ----------
        estimator : fitted estimator with predict_proba
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Rows; the target rows are scored.
        y : array-like, default=None
            Labels (used only to find target rows when sample_domain is None).
        sample_domain : array-like of int, default=None
            Domain ids.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows: a weighted mean of the target rows' entropies.

        Returns
        -------
        score : float
            ``-mean(entropy)``; greater is better.

        Raises
        ------
        DomainError
            When ``X`` holds no target row.
        TypeError
            When ``estimator`` is a regressor or has no ``predict_proba``.
        """
        if _task(estimator) == "regressor":
            raise TypeError(
                "PredictionEntropyScorer scores the entropy of class "
                "probabilities, which a regressor does not have. Select a "
                "regressor label-free with ImportanceWeightedScorer(metric='r2'), "
                "DeepEmbeddedValidationScorer(loss='squared_error') or "
                "ReverseValidationScorer(metric='r2')."
            )
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"{type(estimator).__name__} has no predict_proba: prediction "
                "entropy needs probabilities. Use a probabilistic classifier "
                f"(e.g. LogisticRegression) or calibrate one: {_calibrated(estimator)}."
            )
        n = _n_rows(X)
        sd = self._domains(y, sample_domain, n, _regression(y, estimator))
        rows = np.flatnonzero(sd < 0)
        if rows.size == 0:
            raise DomainError(
                f"PredictionEntropyScorer found no target rows among the {n} "
                "rows to score (rows with a negative sample_domain or, without "
                "it, labelled -1); it does not score source rows in their "
                "place. Use SourceTargetShuffleSplit, whose test folds hold "
                "the unlabelled target rows; to score a held-out labelled "
                "corpus (LeaveOneDomainOut), use its labels, e.g. "
                "scoring='balanced_accuracy'."
            )
        p = _call_on(
            estimator, "predict_proba", X, rows, None if sample_domain is None else sd
        )
        p = np.clip(p, 1e-12, 1.0)
        entropy = -(p * np.log(p)).sum(axis=1)
        if sample_weight is None:
            return float(-np.mean(entropy))
        w = _row_weights(sample_weight, n)[rows]
        if not w.sum() > 0:
            raise ValueError(
                "PredictionEntropyScorer: sample_weight is zero on every target "
                "row, so there is no mean entropy to score."
            )
        return float(-np.average(entropy, weights=w))


def _calibrated(estimator):
    """How to give ``estimator`` probabilities, in the user's own class names.

    The calibration goes *inside* a transfer estimator:
    ``SourceOnly(CalibratedClassifierCV(SVC(), ensemble=False))``, never
    around it (around it, it would take the unlabelled marker for a class);
    for a Pipeline, in its last step.
    """
    from .base import TransferEstimator

    where = ""
    steps = getattr(estimator, "steps", None)
    if steps:
        name, estimator = steps[-1]
        where = f"make the Pipeline's last step {name!r} "
    if isinstance(estimator, TransferEstimator):
        inner = _short_repr(estimator._get_estimator())
        fixed = (
            f"{type(estimator).__name__}(CalibratedClassifierCV({inner}, "
            "ensemble=False))"
        )
        return (
            f"{where}{fixed}, with sklearn.calibration.CalibratedClassifierCV "
            f"inside the transfer estimator {type(estimator).__name__}, not "
            "around it"
        )
    fixed = f"CalibratedClassifierCV({_short_repr(estimator)}, ensemble=False)"
    return (
        f"{where}SourceOnly({fixed}) (sertl_core.SourceOnly around "
        "sklearn.calibration.CalibratedClassifierCV, which never sees the "
        "unlabelled rows)"
    )


def _short_repr(estimator):
    """``repr(estimator)`` on one line when short, else ``Name(...)``."""
    text = _one_line(estimator)
    return text if len(text) <= 40 else f"{type(estimator).__name__}(...)"


def _warn_if_few_effective_rows(scorer, w):
    """Warn when importance weights leave few effective source rows.

    Kish's effective sample size ``(sum w)^2 / sum w^2`` below 10 % of the
    weighted rows means a handful of rows carry the score: the
    domains are nearly separable in the features the ratio is estimated on,
    and the estimate is mostly noise.
    """
    w = np.asarray(w, dtype=float)
    if w.size == 0 or not np.any(w > 0):
        return
    ess = w.sum() ** 2 / np.sum(w**2)
    if ess < 0.1 * w.size:
        warnings.warn(
            f"{scorer}: the importance weights leave {ess:.1f} effective rows "
            f"of the {w.size} held-out source rows (the largest weight carries "
            f"{w.max() / w.sum():.0%} of the total): source and target are "
            "nearly separable in the features the density ratio is estimated "
            "on, so the score rests on a few rows and varies from fold to "
            "fold. Hold out more source rows (a larger test_size), select "
            "with ReverseValidationScorer, or use a few labelled target rows "
            "(TargetLabelSplit and TargetScorer).",
            SertlWarning,
            stacklevel=external_stacklevel(),
        )


def _density_ratio(Z_src, Z_tgt, random_state=0, normalize=True):
    """w(x) = p_t(x)/p_s(x) on source rows from a probabilistic domain classifier.

    With ``normalize=True`` the weights are rescaled to mean 1
    (self-normalised importance weights); DEV needs them raw, since its
    control variate uses how far their mean is from 1.
    """
    Z = np.vstack([Z_src, Z_tgt])
    d = np.r_[np.zeros(len(Z_src)), np.ones(len(Z_tgt))]
    mu, sd = Z.mean(axis=0), Z.std(axis=0)
    sd[sd == 0] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=1000, random_state=random_state)
    clf.fit((Z - mu) / sd, d)
    p = np.clip(clf.predict_proba((Z_src - mu) / sd)[:, 1], 1e-6, 1 - 1e-6)
    w = p / (1 - p) * len(Z_src) / len(Z_tgt)
    return w / w.mean() if normalize else w


def _split_source_target(scorer, estimator, X, y, sample_domain):
    n = _n_rows(X)
    y = _labels_1d(y) if y is not None else None
    regression = _regression(y, estimator)
    sd = scorer._domains(y, sample_domain, n, regression)
    src = np.flatnonzero((sd > 0) & _labeled_mask(y, n, regression))
    tgt = np.flatnonzero(sd < 0)
    if src.size == 0 or tgt.size == 0:
        raise DomainError(
            f"{type(scorer).__name__} needs labelled source rows and target rows "
            f"in the test fold (got {src.size} and {tgt.size}). Use "
            "SourceTargetShuffleSplit, which puts held-out source rows and all "
            "target rows in each test fold."
        )
    return src, tgt, y, (None if sample_domain is None else sd)


class ImportanceWeightedScorer(DomainAwareScorer):
    """Importance-weighted validation (IWV): weighted source score (label-free).

    The held-out labelled source rows are weighted by the density ratio
    ``p_target(x) / p_source(x)``, estimated with a logistic-regression
    domain classifier on the input features, so the weighted source score
    estimates the target score without target labels. The input features
    are ``X`` when it is numeric; for other input (audio file paths) they
    are what the Pipeline's steps before its first domain adapter compute
    (e.g. ``AudioFeatures``).

    Parameters
    ----------
    metric : {"uar", "accuracy", "wa", "macro_f1", "r2", "ccc", \
            "neg_mean_squared_error"} or callable, default="uar"
        Metric computed with ``sample_weight`` set to the importance weights
        (the last three for a regressor); a callable must take
        ``metric(y_true, y_pred, sample_weight=...)`` and be
        greater-is-better.

    Notes
    -----
    IWV estimates the target score of one predictor under covariate shift:
    use it to tune a fixed pipeline's hyperparameters, or a ``SourceOnly``
    or ``KMM`` model. It cannot choose between per-domain adapters
    (``DomainStandardScaler``, ``CORAL``, no adaptation): it scores only
    held-out source rows, which those adapters map alike up to an affine
    map, so the adapters' effect on the target is never measured (in
    sertl's cross-corpus benchmark it chose no adaptation); choose between
    adapters with :class:`ReverseValidationScorer` or
    :class:`PredictionEntropyScorer`. The weighted metric is
    self-normalised (``sum(w l) / sum(w)``, lower variance than the mean of
    ``w l``, slightly biased), and the density ratio is estimated from the
    test fold's held-out source rows and target rows (clipped domain
    probabilities in ``[1e-6, 1 - 1e-6]``). A :class:`SertlWarning` says
    when the weights leave few effective rows (Kish's effective sample
    size below a tenth of the rows).

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Müller, "Covariate shift
       adaptation by importance weighted cross validation", JMLR 8, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.model_selection import ImportanceWeightedScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2))
    >>> y = np.r_[(X[:30, 0] > 0).astype(int), -np.ones(10, dtype=int)]
    >>> clf = SourceOnly().fit(X, y)
    >>> 0.0 <= ImportanceWeightedScorer()(clf, X, y) <= 1.0
    True
    """

    registry_name = "importance_weighted"

    def __init__(self, metric="uar"):
        self.metric = metric

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        """Return the importance-weighted score on the labelled source rows.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Held-out source rows and target rows.
        y : array-like of shape (n_samples,)
            Labels of the source rows, ``-1`` for target rows (``NaN`` for a
            regressor, where ``-1.0`` is a value).
        sample_domain : array-like of int, default=None
            Domain ids.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, multiplied with the importance weights of
            the source rows.

        Returns
        -------
        score : float
            Greater is better.
        """
        metric = _metric(self.metric, estimator, type(self).__name__)
        _check_weighted_metric(
            metric,
            "ImportanceWeightedScorer weights the source rows",
            "or use a built-in metric",
        )
        src, tgt, y, sd = _split_source_target(self, estimator, X, y, sample_domain)
        Xa = _input_features(self, estimator, X, sd)
        w = _density_ratio(Xa[src], Xa[tgt])
        _warn_if_few_effective_rows(type(self).__name__, w)
        if sample_weight is not None:  # the caller's weights times the ratio
            w = w * _row_weights(sample_weight, _n_rows(X))[src]
        pred = _call_on(estimator, "predict", X, src, sd)
        return float(metric(y[src], pred, sample_weight=w))


def _input_features(scorer, estimator, X, sample_domain):
    """Numeric features on which a scorer estimates the density ratio.

    ``X`` itself when it is numeric. Otherwise (audio file paths, say) the
    features that the pipeline computes from it before its first domain
    adapter: the density ratio belongs to the input space, which adaptation
    has not yet touched.
    """
    try:
        return _dense(X)
    except (TypeError, ValueError) as exc:
        from .base import DomainAdapter

        steps = getattr(estimator, "steps", None) or []
        n_prefix = next(
            (i for i, (_, s) in enumerate(steps) if isinstance(s, DomainAdapter)),
            len(steps) - 1,
        )
        if n_prefix < 1:
            raise TypeError(
                f"{type(scorer).__name__} estimates the density ratio on numeric "
                f"features, but X is not numeric ({exc}) and the estimator has no "
                "feature step before its first domain adapter or final step. "
                "Score a Pipeline whose first step computes features from X (e.g. "
                "sertl_speech.AudioFeatures), or pass the features as X."
            ) from exc
        return _dense(
            _call(estimator[:n_prefix], "transform", X, sample_domain=sample_domain)
        )


def _row_weights(sample_weight, n):
    """``sample_weight`` as n finite, non-negative floats, or a clear error."""
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(
            f"sample_weight has shape {w.shape}, but X has {n} rows: give one "
            "weight per row."
        )
    bad = ~np.isfinite(w) | (w < 0)
    if np.any(bad):
        raise ValueError(
            "sample_weight must be finite and non-negative; rows "
            f"{np.flatnonzero(bad)[:10].tolist()} have {w[bad][:10].tolist()}: "
            "give every row a weight >= 0 (0 leaves a row out)."
        )
    return w


def _dense(X):
    """``X`` as a dense float array; a scipy sparse matrix is densified.

    The density ratio is estimated on standardised features, which are
    dense anyway.
    """
    if sp.issparse(X):
        return X.toarray().astype(float, copy=False)
    return np.asarray(X, dtype=float)


def _check_weighted_metric(metric, why, fix):
    """Refuse a metric that cannot take the ``sample_weight`` a scorer passes."""
    if not _takes_sample_weight(metric):
        raise TypeError(
            f"{why}, so its metric must take sample_weight: metric(y_true, "
            f"y_pred, sample_weight=w); {getattr(metric, '__name__', metric)!r} "
            f"does not. Give such a metric, {fix}."
        )


def _takes_sample_weight(func):
    """Whether ``func`` accepts a ``sample_weight`` keyword (True when unknown)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.name == "sample_weight" or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in params
    )


class DeepEmbeddedValidationScorer(DomainAwareScorer):
    """Deep embedded validation (DEV): weighted risk with a control variate.

    Density ratios are estimated in the model's own feature space (the
    output of every Pipeline step but the last, or the raw input otherwise)
    and the importance-weighted validation loss is corrected with a control
    variate, which lowers its variance. The score is the negative risk
    (greater is better).

    Parameters
    ----------
    loss : {"log_loss", "zero_one", "squared_error"}, default="log_loss"
        Per-row loss; ``log_loss`` needs ``predict_proba``; a regressor
        (dimensional arousal or valence) takes ``squared_error``.

    Notes
    -----
    The control variate follows You et al. (eq. 6) on the raw weights, so
    the estimated risk can be below 0 (a score above 0). Unlike the paper,
    the domain classifier is fitted on the test fold's held-out source rows
    and target rows themselves, not on the training source features, and a
    model that is not a Pipeline (``KMM``, the neural classifiers) is
    embedded as its raw input. DEV assumes the candidates' features make
    the label distribution the same in both domains; per-domain adapters
    (``DomainStandardScaler``, ``CORAL``) map the held-out source rows
    alike up to an affine map, so their source losses tie and DEV cannot
    tell them from no adaptation (it chose no adaptation in sertl's
    cross-corpus benchmark): to choose between adapters use
    :class:`ReverseValidationScorer` or :class:`PredictionEntropyScorer`.
    A :class:`SertlWarning` says when the weights leave few effective rows.

    References
    ----------
    .. [1] K. You, X. Wang, M. Long and M. Jordan, "Towards accurate model
       selection in deep unsupervised domain adaptation", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.model_selection import DeepEmbeddedValidationScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2))
    >>> y = np.r_[(X[:30, 0] > 0).astype(int), -np.ones(10, dtype=int)]
    >>> clf = SourceOnly().fit(X, y)
    >>> DeepEmbeddedValidationScorer()(clf, X, y) <= 0
    True
    """

    registry_name = "deep_embedded_validation"

    def __init__(self, loss="log_loss"):
        self.loss = loss

    @staticmethod
    def _embed(estimator, X, sample_domain=None):
        steps = getattr(estimator, "steps", None)
        if steps and len(steps) > 1:
            return _dense(
                _call(estimator[:-1], "transform", X, sample_domain=sample_domain)
            )
        return _dense(X)

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        """Return minus the DEV risk estimate.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Held-out source rows and target rows.
        y : array-like of shape (n_samples,)
            Labels of the source rows, ``-1`` for target rows (``NaN`` for a
            regressor, where ``-1.0`` is a value).
        sample_domain : array-like of int, default=None
            Domain ids.

        sample_weight : None
            Not taken: the DEV risk weighs the rows by the density ratio
            alone; weights raise a ValueError with the fix.

        Returns
        -------
        score : float
            Negative risk; greater is better.
        """
        self._no_weights(sample_weight)
        if self.loss not in ("log_loss", "zero_one", "squared_error"):
            raise ValueError(
                "loss must be 'log_loss' or 'zero_one' (classifiers) or "
                f"'squared_error' (regressors), got {self.loss!r}."
            )
        task = _task(estimator)
        if task == "regressor" and self.loss != "squared_error":
            raise ValueError(
                f"DeepEmbeddedValidationScorer(loss={self.loss!r}) scores class "
                "predictions, but the model is a regressor: use "
                "loss='squared_error'."
            )
        if task == "classifier" and self.loss == "squared_error":
            raise ValueError(
                "DeepEmbeddedValidationScorer(loss='squared_error') scores "
                "continuous predictions, but the model is a classifier: use "
                "loss='log_loss' or 'zero_one'."
            )
        src, tgt, y, sd = _split_source_target(self, estimator, X, y, sample_domain)
        Z = self._embed(estimator, X, sd)
        # raw weights: normalised to mean 1, the control variate would vanish
        w = _density_ratio(Z[src], Z[tgt], normalize=False)
        _warn_if_few_effective_rows(type(self).__name__, w)
        if self.loss == "log_loss":
            if not hasattr(estimator, "predict_proba"):
                raise TypeError(
                    "DeepEmbeddedValidationScorer(loss='log_loss') scores class "
                    f"probabilities, but {type(estimator).__name__} has no "
                    "predict_proba: use loss='zero_one', or a probabilistic "
                    "classifier (e.g. LogisticRegression, or SVC(probability=True))."
                )
            proba = np.clip(
                _call_on(estimator, "predict_proba", X, src, sd), 1e-12, 1.0
            )
            col = np.searchsorted(estimator.classes_, y[src])
            col = np.clip(col, 0, proba.shape[1] - 1)
            known = estimator.classes_[col] == y[src]
            L = np.where(
                known, -np.log(proba[np.arange(src.size), col]), -np.log(1e-12)
            )
        elif self.loss == "zero_one":
            L = (_call_on(estimator, "predict", X, src, sd) != y[src]).astype(float)
        else:
            pred = _call_on(estimator, "predict", X, src, sd)
            L = (np.asarray(pred, dtype=float) - y[src].astype(float)) ** 2
        WL = w * L
        var_w = np.var(w, ddof=1) if w.size > 1 else 0.0
        # Weights equal to within rounding (the domain classifier found no
        # difference, as after a per-domain scaler) carry no control variate:
        # dividing by a variance of ~1e-31 would turn rounding into a risk of
        # order 1e9. Below a relative spread of 1e-6 the plain weighted risk
        # is used.
        if var_w > 1e-12 * w.mean() ** 2:
            eta = -np.cov(WL, w, ddof=1)[0, 1] / var_w
        else:
            eta = 0.0
        risk = WL.mean() + eta * w.mean() - eta
        return float(-risk)


class ReverseValidationScorer(DomainAwareScorer):
    """Reverse validation: pseudo-label the target, train back, score the source.

    The fitted model labels the target rows; a clone of it is then trained
    with the roles swapped (pseudo-labelled target rows as source, the
    held-out source rows as unlabelled target) and scored on the held-out
    source rows with their true labels. A model whose target predictions
    are consistent with the source labels scores high. Label-free on the
    target.

    Parameters
    ----------
    metric : {"uar", "accuracy", "wa", "macro_f1", "r2", "ccc", \
            "neg_mean_squared_error"} or callable, default="uar"
        Metric of the reverse model on the held-out source rows (the last
        three for a regressor; a callable must be greater-is-better).

    Notes
    -----
    The reverse model's unlabelled target is the held-out source rows it is
    then scored on (transductive on those rows' features, never their
    labels); the forward model never saw them. With ``sample_domain`` the
    reverse model gets the domains swapped as well (``-sample_domain``: each
    target domain becomes a source domain and each held-out source domain
    a target domain, in its fit and its predict), passed as the forward
    model's ``predict`` gets them (to a sertl estimator; to a Pipeline with
    metadata routing on), so a per-domain step such as
    ``DomainStandardScaler`` keeps the held-out source corpora apart. When
    the model puts every target row in one class no reverse classifier can
    be trained, and the score is that of predicting that class everywhere
    (a UAR of 1/k). When the reverse fit fails on the pseudo-labels (a
    predicted class with fewer rows than a calibrated model's inner folds),
    a ValueError gives the rows per predicted class and the fix; in a grid
    search the candidate then gets ``error_score``.
    A candidate without a fixed ``random_state`` gives a reverse model, and
    so a score, that varies from run to run.

    References
    ----------
    .. [1] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross
       validation framework to choose amongst models and datasets for
       transfer learning", ECML PKDD 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_core import SourceOnly
    >>> from sertl_core.model_selection import ReverseValidationScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = np.r_[(X[:40, 0] > 0).astype(int), -np.ones(20, dtype=int)]
    >>> clf = SourceOnly().fit(X, y)
    >>> ReverseValidationScorer()(clf, X, y) > 0.5
    True
    """

    registry_name = "reverse_validation"

    def __init__(self, metric="uar"):
        self.metric = metric

    def __call__(self, estimator, X, y=None, sample_domain=None, sample_weight=None):
        """Return the reverse model's score on the held-out source rows.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score (cloned and refitted in reverse).
        X : array-like of shape (n_samples, n_features)
            Held-out source rows and target rows.
        y : array-like of shape (n_samples,)
            Labels of the source rows, ``-1`` for target rows (``NaN`` for a
            regressor, where ``-1.0`` is a value).
        sample_domain : array-like of int, default=None
            Domain ids.
        sample_weight : None
            Not taken: the reverse model is trained on pseudo-labels and
            scored on the source rows unweighted; weights raise a ValueError
            with the fix.

        Returns
        -------
        score : float
            Greater is better.
        """
        self._no_weights(sample_weight)
        metric = _metric(self.metric, estimator, type(self).__name__)
        src, tgt, y, sd = _split_source_target(self, estimator, X, y, sample_domain)
        pseudo = _call_on(estimator, "predict", X, tgt, sd)
        regression = _regression(pseudo, estimator)
        if not regression and np.unique(pseudo).size < 2:
            # One predicted class on the whole target: no reverse classifier
            # can be trained; the reverse "model" knows that class alone, so
            # it is scored as predicting it everywhere (UAR 1/k), not with a
            # fixed value that a metric of negative scores would rank first.
            # (A regressor trains on constant targets and is scored as is.)
            return float(metric(y[src], np.repeat(pseudo[:1], src.size)))
        rows = np.concatenate([tgt, src])
        Xr = take_rows(X, rows)
        if regression:
            # a regressor's -1.0 is a value: NaN marks its unlabelled rows
            unl = np.full(src.size, np.nan)
            pseudo = pseudo.astype(float)
        elif pseudo.dtype.kind in "iuf":
            unl = np.full(src.size, -1, dtype=pseudo.dtype)
        else:
            unl = np.full(src.size, "-1", dtype=object)
        yr = np.concatenate(
            [pseudo.astype(object) if unl.dtype == object else pseudo, unl]
        )
        # Roles swapped, domains too: each target domain becomes a source
        # domain and each held-out source domain a target domain, so a
        # per-domain step keeps the corpora apart (dropped where not taken).
        sdr = None if sd is None else -sd[rows]
        try:
            reverse = _call(clone(estimator), "fit", Xr, yr, sample_domain=sdr)
        except ValueError as err:
            # e.g. CalibratedClassifierCV(cv=3) on a predicted class of two
            # rows: the model's own message speaks of "1 class" or "n_splits",
            # not of the pseudo-labels that caused it
            names, counts = np.unique(pseudo, return_counts=True)
            found = ", ".join(
                f"{name!r}: {count}"
                for name, count in zip(names.tolist(), counts.tolist(), strict=True)
            )
            why = str(err).rstrip(". ")
            raise ValueError(
                "ReverseValidationScorer could not train the reverse model on "
                f"the target rows' pseudo-labels (rows per predicted class: "
                f"{found}): {why}. A predicted class with few rows breaks a "
                "model that cross-validates or stratifies inside its fit "
                "(CalibratedClassifierCV, early stopping); score such a model "
                "with more target rows, with a smaller inner cv, or with "
                "PredictionEntropyScorer or DeepEmbeddedValidationScorer."
            ) from err
        pred = _call(
            reverse,
            "predict",
            take_rows(X, src),
            sample_domain=None if sd is None else -sd[src],
        )
        return float(metric(y[src], pred))
