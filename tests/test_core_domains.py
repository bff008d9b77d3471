import re
import warnings
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from sertl_core import (
    DomainAdapter,
    DomainError,
    DomainStandardScaler,
    NoTargetWarning,
    SertlWarning,
    SourceOnly,
    domains_from_names,
    infer_sample_domain,
    is_unlabeled,
)
from sertl_core._domains import check_sample_domain, resolve_domains


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        ([0, 1, -1], [False, False, True]),
        (np.array([0.5, np.nan, -1.0]), [False, True, True]),
        (np.array(["anger", "-1", "sad"]), [False, True, False]),
        (
            np.array(["anger", None, -1, "-1", float("nan")], dtype=object),
            [False, True, True, True, True],
        ),
        (np.array([True, False]), [False, False]),
    ],
)
def test_is_unlabeled_markers(y, expected):
    assert is_unlabeled(y).tolist() == expected


def test_regression_only_nan_is_unlabelled():
    assert is_unlabeled(np.array([-1.0, np.nan]), regression=True).tolist() == [
        False,
        True,
    ]
    assert is_unlabeled(np.array([-1, 2]), regression=True).tolist() == [False, False]


def test_infer_and_names():
    assert infer_sample_domain(["a", "-1"]).tolist() == [1, -1]
    sd, mapping = domains_from_names(
        ["emodb", "ravdess", "urdu", "emodb"], ["ravdess", "urdu"]
    )
    assert sd.tolist() == [1, -1, -2, 1]
    assert mapping == {"emodb": 1, "ravdess": -1, "urdu": -2}
    with pytest.raises(DomainError, match="do not occur in `names`"):
        domains_from_names(["emodb"], "ravdess")


def test_names_of_a_later_table_keep_their_ids_with_the_mapping():
    # ids follow the order of first appearance: test rows built apart
    # (URDU before EmoDB, no EmoDB at all) gave URDU id 1, EmoDB's, and a
    # per-domain scaler then scaled URDU with EmoDB's statistics, silently
    from sertl_core import DomainStandardScaler

    names = np.repeat(["emodb", "urdu", "ravdess"], 20)
    sd, mapping = domains_from_names(names, "ravdess")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) + np.repeat([[0.0], [8.0], [3.0]], 20, axis=0)
    scaler = DomainStandardScaler().fit(X, sample_domain=sd)
    later = np.repeat(["urdu", "ravdess"], 20)
    sd_later, same = domains_from_names(later, mapping=mapping)
    assert same == mapping
    assert sd_later.tolist() == [2] * 20 + [-1] * 20
    np.testing.assert_allclose(
        scaler.transform(X[20:], sample_domain=sd_later),
        scaler.transform(X[20:], sample_domain=sd[20:]),
    )
    with pytest.raises(DomainError, match=r"\['tess'\] are not in `mapping`"):
        domains_from_names(["urdu", "tess"], mapping=mapping)
    with pytest.raises(DomainError, match=r"mapping\['urdu'\] = 0 is not a domain"):
        domains_from_names(["urdu"], mapping={"urdu": 0})
    with pytest.raises(TypeError, match="targets or mapping, not both"):
        domains_from_names(["urdu"], "urdu", mapping=mapping)
    with pytest.raises(TypeError, match="needs targets .* or mapping"):
        domains_from_names(["urdu"])


@pytest.mark.parametrize("bad", ["1", True, 1.5, float("nan"), None])
def test_a_mapping_id_that_is_no_domain_id_is_refused_by_name(bad):
    # refused as "`mapping's ids` must hold integer domain ids ... Use
    # `sertl_core.domains_from_names(names, targets)` to build it", advice
    # to call the function that was called, naming no entry; True was id 1
    with pytest.raises(
        DomainError,
        match=rf"^mapping\['urdu'\] = {re.escape(repr(bad))} is not a domain id: "
        r"ids are non-zero integers, .* give 'urdu' such an id\.$",
    ):
        domains_from_names(["urdu", "emodb"], mapping={"emodb": -1, "urdu": bad})
    # an integral float, or a NumPy integer, is an id
    sd, _ = domains_from_names(["urdu"], mapping={"urdu": np.int8(2), "x": 3.0})
    assert sd.tolist() == [2]


def test_a_single_target_given_as_a_number_is_one_name():
    # corpora numbered 1, 2, ...: targets=2 crashed ("'int' object is not
    # iterable"), though targets="2" and targets=[2] were taken
    sd, mapping = domains_from_names([1, 2, 1], targets=2)
    assert sd.tolist() == [1, -1, 1]
    assert mapping == domains_from_names([1, 2, 1], targets=[2])[1]
    with pytest.raises(DomainError, match=r"Target domain\(s\) \['3'\] do not occur"):
        domains_from_names([1, 2, 1], targets=3)


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_a_missing_domain_name_is_refused(missing):
    # a missing corpus name became a source domain of its own, "None" or "nan"
    with pytest.raises(DomainError, match=r"1 missing value\(s\) .* at rows \[1\]"):
        domains_from_names(
            np.array(["emodb", missing, "ravdess"], dtype=object), "ravdess"
        )


X4 = np.arange(8, dtype=float).reshape(4, 2)


@pytest.mark.parametrize(
    ("y", "sd", "kwargs", "match"),
    [
        ([0, 1, 0, 1], [1, 1, -1], {}, "has 3 entries but X has 4 rows"),
        ([0, 1, 0, 1], [1, 0, -1, -1], {}, "contains 0"),
        ([0, 1, 0, 1], [1.5, 1, -1, -1], {}, "integer domain ids"),
        ([0, 1, 0, 1], ["a", "b", "c", "d"], {}, "integer domain ids"),
        ([0, 1, -1, -1], [-1, -1, -1, -1], {}, "No source rows"),
        ([0, 1, -1, -1], [1, 1, 1, 1], {}, "source row\\(s\\) are unlabelled"),
        ([0, 1, 0, 1], [1, 1, 1, 1], {}, "No target rows"),
        (
            [0, 0, 2, -1],
            [1, 1, -1, -1],
            {"min_classes": 1},
            "class\\(es\\) \\[2\\] that no source row has",
        ),
        ([0, 0, -1, -1], [1, 1, -1, -1], {}, "Only 1 class"),
        (
            np.array([1, "b", 2.5, None], dtype=object),
            [1, 1, -1, -1],
            {},
            r"labels mix types \(float, int, str\).*y.astype\(str\)",
        ),
        ([0, 1], None, {}, "4 rows but y has 2 labels"),
    ],
)
def test_resolve_domains_errors(y, sd, kwargs, match):
    with pytest.raises((DomainError, ValueError), match=match):
        resolve_domains(X4, y, sd, **kwargs)


def test_no_target_without_domains_duplicates_with_warning():
    with pytest.warns(NoTargetWarning, match="no shift is learned"):
        data = resolve_domains(X4, [0, 1, 0, 1], None)
    assert data.X.shape == (8, 2)
    assert data.labeled.sum() == 4
    assert (data.sample_domain < 0).sum() == 4
    assert data.n_input_rows == 4


def test_nan_and_inf_inputs_rejected():
    X = X4.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SourceOnly().fit(X, [0, 1, -1, -1])
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DomainStandardScaler().fit(X, [0, 1, -1, -1])


def test_unknown_domain_advice_names_the_fitted_targets_and_omitting_the_ids():
    from sertl_core import check_known_domains

    with pytest.raises(DomainError, match="omit sample_domain"):
        check_known_domains([2], [1, -1])
    # -1 was not fitted: the message names the fitted target ids, and
    # omitting sample_domain still works (rows are then target data)
    with pytest.raises(
        DomainError, match=r"fitted target ids \[-2\], or omit sample_domain"
    ):
        check_known_domains([-1], [1, -2])
    scaler = DomainStandardScaler().fit(X4, sample_domain=[1, 1, -2, -2])
    with pytest.raises(DomainError, match="omit sample_domain"):
        scaler.transform(X4[2:], sample_domain=[-1, -1])
    np.testing.assert_array_equal(
        scaler.transform(X4[2:]), scaler.transform(X4[2:], sample_domain=[-2, -2])
    )


def test_unknown_domain_at_transform():
    sd = np.array([1, 1, -1, -1])
    scaler = DomainStandardScaler().fit(X4, sample_domain=sd)
    with pytest.raises(DomainError, match=r"domain id\(s\) \[2\] that were not seen"):
        scaler.transform(X4[:2], sample_domain=[2, 2])
    with pytest.raises(DomainError, match=r"\[-3\]"):
        scaler.transform(X4[:2], sample_domain=[-3, -3])
    # ... and the message names the way to scale a new target domain
    with pytest.raises(DomainError, match=r"\[-3\].*set target_stats='batch'"):
        scaler.transform(X4[:2], sample_domain=[-3, -3])
    # batch statistics accept a new target domain (two rows: below the
    # documented minimum, which warns)
    batch = DomainStandardScaler(target_stats="batch").fit(X4, sample_domain=sd)
    with pytest.warns(SertlWarning, match=r"domain -3 are only 2 rows, fewer than 10"):
        out = batch.transform(X4[:2], sample_domain=[-3, -3])
    np.testing.assert_allclose(out.mean(axis=0), 0.0)


def test_domain_scaler_fitted_without_target_rows_warns_and_self_targets():
    import warnings

    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    X = np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 5.0], [14.0, 9.0]])
    # no sample_domain and every row labelled: like the adapters that need
    # target rows, the rows of fit double as the target, and fit says so on
    # the caller's line, through a Pipeline too
    with pytest.warns(
        NoTargetWarning, match="DomainStandardScaler saw no target"
    ) as rec:
        scaler = DomainStandardScaler().fit(X, [0, 1, 0, 1])
    assert rec[0].filename == __file__
    with pytest.warns(NoTargetWarning, match="no shift is removed") as rec:
        Pipeline([("s", DomainStandardScaler()), ("c", SourceOnly(SVC()))]).fit(
            X, [0, 1, 0, 1]
        )
    assert rec[0].filename == __file__
    pooled = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(scaler.transform(X), pooled)
    # an explicit target id is scaled as rows without sample_domain are
    # (it was refused, while omitting sample_domain worked)
    for sd in ([-1] * 4, [-2] * 4):
        np.testing.assert_allclose(scaler.transform(X, sample_domain=sd), pooled)
    # the rows of fit are source domain 1 (inferred from the labels)
    assert scaler.domains_.tolist() == [1]
    np.testing.assert_allclose(scaler.transform(X, sample_domain=[1] * 4), pooled)
    # no warning when the fallback is not used: target rows in fit, explicit
    # domains, or target statistics taken from each batch
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoTargetWarning)
        DomainStandardScaler().fit(X, [0, 1, -1, -1])
        DomainStandardScaler().fit(X, sample_domain=[1, 1, -1, -1])
        DomainStandardScaler(target_stats="batch").fit(X, [0, 1, 0, 1])
        explicit = DomainStandardScaler().fit(X, sample_domain=[1, 1, 2, 2])
        # nor when transform uses the statistics of the domains seen in fit
        explicit.transform(X, sample_domain=[1, 1, 2, 2])
    # fitted with explicit source ids only, fit said nothing: transform says
    # so when it scales target rows with the pooled statistics of fit
    with pytest.warns(NoTargetWarning, match=r"target domain id\(s\) \[-1\]") as rec:
        out = explicit.transform(X, sample_domain=[-1] * 4)
    np.testing.assert_allclose(out, pooled)
    assert rec[0].filename == __file__
    # with target rows in fit, an unseen target id is still refused
    fitted = DomainStandardScaler().fit(X, sample_domain=[1, 1, -1, -1])
    with pytest.raises(DomainError, match=r"\[-2\]"):
        fitted.transform(X, sample_domain=[-2] * 4)


def test_check_sample_domain_shape():
    with pytest.raises(DomainError, match="1-D array"):
        check_sample_domain(np.ones((2, 2), int), 2)


def test_fit_transform_in_self_target_fallback_equals_fit_then_transform():
    # an adapter whose source and target maps differ even when no shift is learned
    class AddOneToSource(DomainAdapter):
        _needs_target = True

        def _fit(self, data):
            self.fitted_ = True
            return self

        def _transform(self, X, sample_domain):
            return X + (sample_domain > 0)[:, None]

    X = np.arange(12.0).reshape(6, 2)
    with pytest.warns(NoTargetWarning):
        Z = AddOneToSource().fit_transform(X)
    with pytest.warns(NoTargetWarning):
        Z2 = AddOneToSource().fit(X).transform(X)
    # the rows are their own target, so both calls map them as target rows
    np.testing.assert_array_equal(Z, Z2)
    np.testing.assert_array_equal(Z, X)
    # with explicit domains, fit_transform maps each row with its own domain
    sd = np.r_[np.ones(3, dtype=int), -np.ones(3, dtype=int)]
    Z3 = AddOneToSource().fit_transform(X, sample_domain=sd)
    np.testing.assert_array_equal(Z3, np.vstack([X[:3] + 1, X[3:]]))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_self_target_fallback_with_sparse_rows(fmt):
    from scipy import sparse

    class SparseAddOneToSource(DomainAdapter):
        _needs_target = True

        def _accept_sparse(self):
            return ("csr", "csc")

        def _fit(self, data):
            self.fit_format_ = data.X.format
            self.n_fit_rows_ = data.X.shape[0]

        def _transform(self, X, sample_domain):
            return X + (sample_domain > 0)[:, None]

    X = np.arange(12.0).reshape(6, 2)
    Xs = sparse.csr_matrix(X).asformat(fmt)
    with pytest.warns(NoTargetWarning):
        est = SparseAddOneToSource().fit(Xs, [0, 1, 0, 1, 0, 1])
    # the rows are stacked as their own target, in their own format
    assert (est.fit_format_, est.n_fit_rows_) == (fmt, 12)
    with pytest.warns(NoTargetWarning):
        Z = SparseAddOneToSource().fit_transform(Xs, [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(np.asarray(Z), X)


def test_external_stacklevel_names_the_callers_line_through_any_depth(
    tmp_path, monkeypatch
):
    import sys
    import warnings

    from sklearn.preprocessing import FunctionTransformer

    from sertl_core import SertlWarning, external_stacklevel

    pkg = tmp_path / "fake_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import sys, warnings\n"
        "from sertl_core import SertlWarning, external_stacklevel\n"
        "def _deep(skip):\n"
        "    packages = (sys.modules['fake_plugin'],) if skip else ()\n"
        "    warnings.warn('x', SertlWarning, stacklevel=external_stacklevel(*packages))\n"
        "def _middle(skip):\n"
        "    _deep(skip)\n"
        "def warn(X=None, skip=True):\n"
        "    _middle(skip)\n"
        "    return X\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import fake_plugin

    def caught(call):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            call()
        (w,) = [r for r in rec if issubclass(r.category, SertlWarning)]
        return w.filename

    # three frames deep in the plugin, or behind scikit-learn's wrappers
    assert caught(lambda: fake_plugin.warn()) == __file__
    transformer = FunctionTransformer(fake_plugin.warn)
    assert caught(lambda: transformer.fit_transform([[1.0]])) == __file__
    # without the plugin named, its own innermost frame is named
    assert caught(lambda: fake_plugin.warn(skip=False)) == fake_plugin.__file__
    assert external_stacklevel() == 1  # called from a test: nothing to skip
    sys.modules.pop("fake_plugin")


def test_external_stacklevel_for_a_namespace_package_and_a_one_file_plugin(
    tmp_path, monkeypatch
):
    # a namespace package has no __file__ (external_stacklevel raised
    # TypeError); for a one-file plugin the whole folder was skipped, the
    # user's script next to it included, and the warning named sys:1
    import importlib
    import sys
    import warnings

    from sertl_core import SertlWarning

    warn = (
        "import sys, warnings\n"
        "from sertl_core import SertlWarning, external_stacklevel\n"
        "def warn():\n"
        "    warnings.warn('x', SertlWarning, "
        "stacklevel=external_stacklevel(sys.modules[{module!r}]))\n"
    )
    plug = tmp_path / "ns" / "acme_ns" / "sertlplug"
    plug.mkdir(parents=True)  # acme_ns has no __init__.py: a namespace package
    (plug / "__init__.py").write_text(warn.format(module="acme_ns"))
    single = tmp_path / "single"
    single.mkdir()
    (single / "single_plug.py").write_text(warn.format(module="single_plug"))
    (single / "user_script.py").write_text(
        "import single_plug\ndef main():\n    single_plug.warn()\n"
    )
    for folder in ("ns", "single"):
        monkeypatch.syspath_prepend(str(tmp_path / folder))
    names = ("acme_ns", "acme_ns.sertlplug", "single_plug", "user_script")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        namespaced = importlib.import_module("acme_ns.sertlplug")
        user_script = importlib.import_module("user_script")
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            namespaced.warn()
            user_script.main()
        assert [(w.category, w.filename) for w in rec] == [
            (SertlWarning, __file__),
            (SertlWarning, user_script.__file__),
        ]
    finally:
        for name in names:
            sys.modules.pop(name, None)


def test_pandas_missing_labels_are_unlabelled():
    # labels from read_csv(...).convert_dtypes() hold pd.NA where missing
    pd = pytest.importorskip("pandas")
    strings = pd.Series(["anger", None, "sad", None], dtype="string")
    assert is_unlabeled(strings).tolist() == [False, True, False, True]
    ints = pd.Series([0, None, 1, None], dtype="Int64")
    assert is_unlabeled(ints).tolist() == [False, True, False, True]
    times = np.array(["anger", pd.NaT], dtype=object)
    assert is_unlabeled(times).tolist() == [False, True]


def test_pandas_missing_labels_mark_target_rows_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    from sertl_core import DomainStandardScaler, SourceOnly

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(3.0, 1.0, size=(20, 3))]
    labels = np.where(X[:40, 0] > 0, "anger", "sad").tolist() + [None] * 20
    y = pd.Series(labels, dtype="string")
    pipe = Pipeline([("s", DomainStandardScaler()), ("c", SourceOnly(SVC()))])
    pipe.fit(X, y)
    # the target rows (pd.NA) got their own statistics: they are centred
    np.testing.assert_allclose(pipe[0].transform(X[40:]).mean(axis=0), 0, atol=1e-12)
    assert pipe.classes_.tolist() == ["anger", "sad"]


def _valence_problem():
    """Source valence clipped to [-1, 1] (rows exactly -1.0), NaN target rows."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(0.0, 1.0, size=(60, 3))
    Xt = rng.normal(5.0, 3.0, size=(40, 3))
    y = np.r_[np.clip(Xs[:, 0], -1.0, 1.0), np.full(40, np.nan)]
    assert (y == -1.0).sum() > 5
    return np.vstack([Xs, Xt]), y


def test_adapter_reads_continuous_targets_with_the_regression_rule():
    from sertl_core import SourceStandardScaler

    X, y = _valence_problem()
    source, target = X[:60], X[60:]
    # outside a pipeline the task is read from y: continuous, so only NaN
    # marks a target row, and the guess (y holds NaN and -1) is named
    with pytest.warns(SertlWarning, match=r"read as regression targets.*sample_domain"):
        dss = DomainStandardScaler().fit(X, y)
    np.testing.assert_allclose(dss.target_mean_, target.mean(axis=0))
    with pytest.warns(SertlWarning, match=r"the \d+ row\(s\) equal to -1 are labelled"):
        sss = SourceStandardScaler().fit(X, y)
    np.testing.assert_allclose(sss.mean_, source.mean(axis=0))
    # an explicit sample_domain removes the ambiguity: no warning
    sd = np.r_[np.ones(60, dtype=int), -np.ones(40, dtype=int)]
    explicit = DomainStandardScaler().fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(explicit.target_mean_, dss.target_mean_)


def test_adapter_and_transfer_estimator_agree_on_the_source_rows_of_a_regression():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    X, y = _valence_problem()
    # the pipeline's last step (a regressor) settles the task: no warning,
    # and both steps take every non-NaN row, -1.0 included, as source
    pipe = make_pipeline(DomainStandardScaler(), SourceOnly(Ridge())).fit(X, y)
    np.testing.assert_allclose(pipe[0].target_mean_, X[60:].mean(axis=0))
    Z = pipe[0].transform(X[:60], sample_domain=np.ones(60, dtype=int))
    expected = Ridge().fit(Z, y[:60])
    np.testing.assert_allclose(pipe[-1].estimator_.coef_, expected.coef_)
    # a transfer estimator alone trains on the -1.0 rows too
    alone = SourceOnly(Ridge()).fit(X, y)
    np.testing.assert_allclose(
        alone.estimator_.coef_, Ridge().fit(X[:60], y[:60]).coef_
    )


def test_adapter_takes_the_task_of_the_pipelines_last_step():
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    # whole-number targets (ratings -2..2): a regression the values cannot tell
    y = np.r_[rng.integers(-2, 3, 40).astype(float), np.full(10, np.nan)]
    y[:3] = -1.0
    reg = make_pipeline(DomainStandardScaler(), SourceOnly(Ridge())).fit(X, y)
    assert np.isclose(reg[0].target_mean_, X[40:].mean(axis=0)).all()
    # the same labels for a classifier: -1 and NaN both mark target rows
    clf = make_pipeline(DomainStandardScaler(), SourceOnly(LogisticRegression()))
    clf.fit(X, y)
    assert -1.0 not in clf.classes_
    unl = np.isnan(y) | (y == -1.0)
    np.testing.assert_allclose(clf[0].target_mean_, X[unl].mean(axis=0))
    # alone, the adapter reads whole numbers as class labels and says so
    with pytest.warns(
        SertlWarning,
        match=r"read as class\s+labels.*the 10 NaN row\(s\) and the \d+ row\(s\) labelled -1",
    ):
        alone = DomainStandardScaler().fit(X, y)
    np.testing.assert_allclose(alone.target_mean_, X[unl].mean(axis=0))


def test_regression_targets_without_target_rows_are_told_to_mark_them_with_nan():
    X, y = _valence_problem()

    class NeedsTarget(DomainAdapter):
        _needs_target = True
        _transform_uses_domain = False

        def _fit(self, data):
            self.n_ = data.X.shape[0]

        def _transform(self, X, sample_domain):
            return X

    with pytest.warns(NoTargetWarning, match="Mark the target rows with NaN"):
        NeedsTarget().fit(X[:60], y[:60])
    with pytest.warns(NoTargetWarning, match=r"with the label -1 \('-1'"):
        NeedsTarget().fit(X[:4], [0, 1, 0, 1])


def test_no_source_rows_are_named_as_such():
    # every row unlabelled, or no y: the problem is the missing source rows
    from sertl_core import SourceStandardScaler

    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.warns(
        NoTargetWarning, match="no source rows.*every row is unlabelled"
    ) as rec:
        SourceStandardScaler().fit(X, -np.ones(20, dtype=int))
    assert "-1" not in str(rec[0].message).split("Source rows")[1]
    with pytest.warns(
        NoTargetWarning, match=r"no source rows \(no sample_domain, and y is None\)"
    ):
        SourceStandardScaler().fit(X)


@pytest.mark.parametrize(
    "mask", [np.array([True, True, False, False]), np.array([True] * 4)]
)
def test_boolean_sample_domain_is_refused(mask):
    from sertl_core.model_selection import LeaveOneDomainOut

    with pytest.raises(DomainError, match=r"boolean.*np.where\(mask, 1, -1\)"):
        check_sample_domain(mask, 4)
    with pytest.raises(DomainError, match="`sample_domain` is boolean"):
        DomainStandardScaler().fit(X4, sample_domain=mask)
    with pytest.raises(DomainError, match="domains_from_names"):
        SourceOnly().fit(X4, [0, 1, 0, 1], sample_domain=mask.tolist())
    with pytest.raises(
        DomainError, match=r"`groups \(used as sample_domain\)` is boolean"
    ):
        list(LeaveOneDomainOut().split(X4, groups=mask))


def _valence(n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = np.clip(np.tanh(X[:, 0]) * 1.3, -1.0, 1.0)
    y[:4] = -1.0
    sd = np.r_[np.ones(n - 10, int), -np.ones(10, int)]
    return X, y, sd


def test_a_classifier_given_valence_labels_is_told_to_wrap_a_regressor():
    from sertl_core import DomainError, SourceOnly

    X, y, sd = _valence()
    with pytest.raises(
        DomainError, match=r"label -1, '-1' or NaN\).*SourceOnly\(Ridge\(\)\)"
    ):
        SourceOnly().fit(X, y, sample_domain=sd)
    from sklearn.linear_model import Ridge

    y_nan = y.copy()
    y_nan[5] = np.nan
    with pytest.raises(
        DomainError, match=r"1 source row\(s\) are unlabelled \(label NaN\)"
    ):
        SourceOnly(Ridge()).fit(X, y_nan, sample_domain=sd)


class PerClassMeans(DomainAdapter):
    """An adapter that needs class labels (``_needs_labels``)."""

    _needs_labels = True

    def _fit(self, data):
        return self

    def _transform(self, X, sample_domain):
        return X


class ClassOnly(SourceOnly):
    """A transfer estimator that learns from class labels only."""

    _classification_only = True


def test_class_only_methods_refuse_regression_targets_by_name():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    X, y, sd = _valence()
    y_unl = np.where(sd < 0, np.nan, y)
    with pytest.raises(
        ValueError,
        match="PerClassMeans adapts the rows class by class.*y holds continuous",
    ):
        PerClassMeans().fit(X, y_unl, sample_domain=sd)
    whole = np.round(y_unl)  # a whole-number scale: only the Pipeline tells
    pipe = make_pipeline(PerClassMeans(), SourceOnly(Ridge()))
    with pytest.raises(ValueError, match="Pipeline that fits it ends in a regressor"):
        pipe.fit(X, whole)
    with pytest.raises(
        ValueError, match="ClassOnly learns from class labels.*regressor"
    ):
        ClassOnly(Ridge()).fit(X, y_unl)
    # also where parameters are checked before any fit (sertl run's config)
    with pytest.raises(ValueError, match="ClassOnly learns from class labels"):
        ClassOnly(Ridge())._validate_params()
    # the same classes fit with class labels and a classifier
    labels = np.where(sd < 0, -1, (y > 0).astype(int))
    assert ClassOnly().fit(X, labels).predict(X).shape == (40,)
    assert PerClassMeans().fit(X, labels).transform(X).shape == X.shape


def test_a_classifier_given_continuous_targets_names_the_method_and_the_fix():
    # arousal/valence given to a method that fits a classifier (its default
    # estimator, or a class-only method) met scikit-learn's "Unknown label
    # type: continuous", which names neither the method nor what to use
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline

    X, y, sd = _valence()
    y = np.where(sd < 0, np.nan, np.clip(y, -0.9, 0.9))  # no -1: no other error
    with pytest.raises(
        ValueError,
        match=r"SourceOnly fits its estimator as a classifier \(estimator=None, "
        r"which stands for LogisticRegression\(max_iter=1000\)\), but y holds "
        r"continuous values.*wrap a regressor: SourceOnly\(Ridge\(\)\)",
    ):
        SourceOnly().fit(X, y)
    with pytest.raises(
        ValueError, match=r"\(estimator=LogisticRegression\(C=2\)\), but y holds"
    ):
        SourceOnly(LogisticRegression(C=2)).fit(X, y, sample_domain=sd)
    with pytest.raises(
        ValueError,
        match=r"ClassOnly learns from class labels and has no regression form, "
        r"but y holds continuous values.*SourceOnly\(Ridge\(\)\), KMM\(Ridge\(\)\)",
    ):
        ClassOnly().fit(X, y)
    # an adapter that needs classes in a Pipeline ending in a classifier
    with pytest.raises(
        ValueError,
        match=r"PerClassMeans adapts the rows class by class.*y holds continuous "
        r"values.*and a regressor last, e.g. SourceOnly\(Ridge\(\)\)",
    ):
        make_pipeline(PerClassMeans(), SourceOnly()).fit(X, y)
    # whole-number floats stay class labels, and a regressor takes the values
    whole = np.where(np.isnan(y), np.nan, (y > 0).astype(float))
    assert SourceOnly().fit(X, whole).classes_.tolist() == [0.0, 1.0]
    assert SourceOnly(Ridge()).fit(X, y).predict(X).shape == (40,)


def test_whole_number_regression_targets_marked_minus_one_are_warned_about():
    # ratings 1..5 with -1 for the unlabelled target rows (the class-label
    # convention of the quick start) trained SourceOnly(Ridge()) on those
    # rows as the value -1, silently: only NaN marks a regressor's rows
    from sklearn.linear_model import Ridge

    X, y, sd = _valence()
    ratings = np.where(sd < 0, -1, np.round(2 * y) + 3).astype(int)
    with pytest.warns(
        SertlWarning,
        match=r"SourceOnly wraps a regressor.*y holds 10 row\(s\) labelled -1 "
        r"among whole-number labels and no NaN.*mark them NaN",
    ):
        marked = SourceOnly(Ridge()).fit(X, ratings)
    unlabelled = np.where(sd < 0, np.nan, ratings.astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = SourceOnly(Ridge()).fit(X, unlabelled)
        # -1 as a value of the scale, said with sample_domain: no warning
        SourceOnly(Ridge()).fit(X, ratings, sample_domain=np.ones(40, int))
        # continuous targets reaching -1.0 say nothing either
        SourceOnly(Ridge()).fit(X, y)
    assert not np.allclose(marked.predict(X), fixed.predict(X))


def test_a_regressor_keeps_a_function_sampler_that_does_not_validate():
    # FunctionSampler(validate=False) runs the user's own function on any
    # target (a regressor's outlier filter): it worked with SourceOnly(Ridge())
    # until the refusal of imbalanced-learn's class samplers refused it too
    imblearn = pytest.importorskip("imblearn")
    from sklearn.linear_model import Ridge

    X, y, sd = _valence()
    y = np.where(sd < 0, np.nan, y)
    seen = []

    def drop_largest(X, y):
        seen.append(len(y))
        keep = y < np.max(y)
        return X[keep], y[keep]

    sampler = imblearn.FunctionSampler(func=drop_largest, validate=False)
    fitted = SourceOnly(Ridge(), sampler=sampler).fit(X, y)
    labelled = int(np.sum(sd > 0))
    assert seen == [labelled]
    expected = Ridge().fit(*drop_largest(X[sd > 0], y[sd > 0]))
    np.testing.assert_allclose(fitted.predict(X), expected.predict(X))
    # one that validates takes class labels: refused as before
    with pytest.raises(ValueError, match=r"balances classes.*Drop the sampler"):
        SourceOnly(Ridge(), sampler=imblearn.FunctionSampler()).fit(X, y)


def test_a_regressor_refuses_an_imbalanced_learn_sampler_by_name():
    # imbalanced-learn answered "Unknown label type: continuous. Maybe you
    # are trying to fit a classifier", about SourceOnly(Ridge())
    over = pytest.importorskip("imblearn.over_sampling")
    from sklearn.linear_model import Ridge

    X, y, sd = _valence()
    y = np.where(sd < 0, np.nan, y)
    with pytest.raises(
        ValueError,
        match=r"sampler=RandomOverSampler\(random_state=0\) balances classes.*"
        r"SourceOnly wraps a regressor, estimator=Ridge\(\).*Drop the sampler",
    ):
        SourceOnly(Ridge(), sampler=over.RandomOverSampler(random_state=0)).fit(X, y)
    # a classifier's sampler works as before
    labels = np.where(sd < 0, -1, (y > 0.5).astype(int))
    sampler = over.RandomOverSampler(random_state=0)
    fitted = SourceOnly(sampler=sampler).fit(X, labels)
    assert fitted.classes_.tolist() == [0, 1]


def test_a_transfer_estimator_claims_no_multi_label_targets():
    # the tags copied KNeighborsClassifier's multi_label=True while fit
    # refuses a 2-D y: scikit-learn's multilabel checks then ran and failed
    # ("y must be 1-D"), and tools reading the tag were misinformed
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.utils import get_tags

    from sertl_core.testing import check_estimator

    est = SourceOnly(KNeighborsClassifier())
    assert get_tags(KNeighborsClassifier()).classifier_tags.multi_label
    assert not get_tags(est).classifier_tags.multi_label
    assert get_tags(est).classifier_tags.multi_class
    Y = np.tile([[0, 1], [1, 0]], (10, 1))
    with pytest.raises(ValueError, match="Multi-output targets are not supported"):
        est.fit(np.arange(40.0).reshape(20, 2), Y)
    passed = check_estimator(est)
    assert "check_classifiers_train" in passed
    assert not [name for name in passed if "multilabel" in name]


class _DuckClassifier(BaseEstimator):
    """A classifier without ClassifierMixin (estimator_type None).

    Records the class counts of every fit, to show how a CV tool split them.
    """

    fits: ClassVar[list] = []

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        type(self).fits.append(
            dict(zip(self.classes_.tolist(), counts.tolist(), strict=True))
        )
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_class_only_methods_are_classifiers_whatever_they_wrap():
    # tags copied from the wrapped estimator made TransferVote(Ridge()) and
    # the neural classifiers regressors (is_regressor true) and left them
    # neither around a classifier without tags: cross_val_score then split
    # their classes with unstratified KFold
    from sklearn.base import is_classifier, is_regressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.utils import get_tags

    y = np.repeat([0, 1, -1], 15)  # sorted: KFold(3)'s training folds lack a class
    for inner in (Ridge(), _DuckClassifier(), None):
        est = ClassOnly(inner)
        tags = get_tags(est)
        assert is_classifier(est), inner
        assert not is_regressor(est), inner
        assert tags.estimator_type == "classifier"
        assert tags.classifier_tags is not None
        assert tags.regressor_tags is None
        cv = check_cv(3, y, classifier=is_classifier(est))
        assert isinstance(cv, StratifiedKFold)
    # a method that wraps any estimator keeps the wrapped estimator's task
    assert is_regressor(SourceOnly(Ridge()))
    assert not is_classifier(SourceOnly(_DuckClassifier()))

    X = np.random.default_rng(0).normal(size=(45, 2))
    _DuckClassifier.fits.clear()
    cross_val_score(ClassOnly(_DuckClassifier()), X, y, cv=3, scoring="accuracy")
    # every training fold held both classes, in proportion (stratified)
    assert _DuckClassifier.fits == [{0: 10, 1: 10}] * 3

    # a Pipeline's adapter that needs classes raises the last step's own
    # refusal, not scikit-learn's "Unknown label type: continuous"
    valence = np.r_[np.linspace(-1, 1, 30), np.full(15, np.nan)]
    pipe = make_pipeline(PerClassMeans(), ClassOnly(Ridge()))
    with pytest.raises(
        ValueError,
        match=r"ClassOnly learns from class labels.*parameter estimator=Ridge\(\) "
        r"is a regressor.*give ClassOnly a classifier: estimator=None",
    ):
        pipe.fit(X, valence)
