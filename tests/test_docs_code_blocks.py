"""Every code block of the Markdown documentation runs and does what it says.

The ```python blocks of ``README.md``, ``CONTRIBUTING.md`` and each plugin's
README are executed in order, one namespace per file, as a reader who pastes
them one after the other would run them. The names the text says the reader
supplies (``X``, ``y``, ``sd``, ``X_new_target``, file lists ...) are defined
by a small *prelude* before the block that first needs them: synthetic
features of the shapes and labels the text describes, or the real sample
shipped with sertl-speech where a block reads audio (a path such as
``"/data/emodb"``, "the folder you downloaded", is replaced by that sample's
folder, which has the corpus's official layout; a block that only reads the
tables gets the real corpora of the ``corpora_root`` fixture when they are
there). Blocks that take more than a few seconds (feature extraction,
network training) run in a ``slow`` test, the blocks before them also in a
fast one. After a block, *checks*
assert the outcomes the text around it claims (a warning, a shape, the
domains a step saw). Every warning a block emits is an error unless the
text says the block warns.

A block that cannot run as it stands is marked in the Markdown by an HTML
comment on the line before it, ``<!-- not-run: REASON -->``; it is then
only compiled. Each ```toml block must parse (an experiment fragment must
also pass ``sertl run``'s validation: :func:`sertl_experiments.load_config`
and the method check that runs before any feature is extracted), and each
``sertl ...`` command line of the docs (in a code block or inline) must
parse with the ``sertl`` command's own argparse parser, without running;
``make`` commands name targets of the Makefile, and ``pip install`` lines
paths and extras of this repository.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
import textwrap
import unittest
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import sklearn

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra's tomli
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
DOCS = [
    "README.md",
    "CONTRIBUTING.md",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "plugins").glob("*/README.md")),
]
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.+?)\s*-->")


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    doc: str
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    not_run: str | None = None


def fenced_blocks(doc, text=None):
    """The fenced code blocks of ``doc`` (relative to the repository)."""
    if text is None:
        text = (REPO / doc).read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(
                lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i]
            )
            i += 1
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        mark = NOT_RUN.search(prev)
        blocks.append(
            Block(doc, lang, "\n".join(body) + "\n", start + 1, mark and mark["reason"])
        )
        i += 1
    return blocks


def indented_blocks(doc):
    """The indented (4 spaces, after a blank line) code blocks of ``doc``."""
    text = (REPO / doc).read_text(encoding="utf-8")
    # fenced blocks hold indented lines of their own
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    out = []
    for m in re.finditer(r"(?:^\n)((?:^(?: {4}|\t).*\n?|^\n)+)", text, flags=re.M):
        code = textwrap.dedent(m.group(1)).strip("\n")
        if code and not code.lstrip().startswith(("-", "*", "|")):
            out.append(code)
    return out


# ----------------------------------------------------------------------------
# What the reader supplies: small synthetic features


def _blobs(rng, domains, n_per=30, n_features=6, labels=("anger", "joy", "sad")):
    """Rows of a few classes per domain, each domain shifted and scaled."""
    centres = {c: 2.0 * rng.normal(size=n_features) for c in labels}
    X, y, sd = [], [], []
    for k, d in enumerate(domains):
        lab = np.asarray(labels)[np.arange(n_per) % len(labels)]
        rows = np.stack([centres[c] for c in lab])
        X.append((rows + rng.normal(size=rows.shape)) * (1 + 0.3 * k) + 1.5 * k)
        y.append(lab)
        sd.append(np.full(n_per, d))
    return np.vstack(X), np.concatenate(y), np.concatenate(sd)


def _numeric(y):
    return np.unique(y, return_inverse=True)[1]


@dataclass
class Ctx:
    """What a prelude or a check gets: the namespace and pytest's helpers."""

    ns: dict
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    cleanup: list = field(default_factory=list)


def _sample_paths(ctx):
    """``/data/CORPUS`` in a block: the shipped sample of that corpus."""
    speech = pytest.importorskip("sertl_speech", reason="sertl-speech not installed")
    return {
        "/data/emodb": str(speech.sample_path("emodb")),
        "/data/ravdess": str(speech.sample_path("ravdess")),
    }


def _real_paths(ctx):
    """``/data/CORPUS``: the real corpora (``corpora_root``), else the sample."""
    try:
        root = ctx.request.getfixturevalue("corpora_root")
    except pytest.skip.Exception:
        return _sample_paths(ctx)
    return {"/data/emodb": str(root / "EmoDB"), "/data/ravdess": str(root / "RAVDESS")}


# ---------------------------------------------------------------- README.md


def readme_prelude_pipeline(ctx):
    # "X: features of source (labelled) and target (unlabelled) utterances;
    #  y: labels, -1 (or "-1") for unlabelled target rows": two labelled
    # corpora and an unlabelled one, so that the later blocks' sd has several
    # sources
    rng = np.random.default_rng(0)
    X, y, sd = _blobs(rng, [1, 2, -1])
    corpus = np.where(sd == 1, "emodb", np.where(sd == 2, "savee", "ravdess"))
    y = _numeric(y)
    y[sd < 0] = -1
    ctx.ns.update(
        X=X, y=y, corpus=corpus, X_new_target=X[sd < 0][:5] + 0.1, _true_sd=sd
    )


def readme_check_pipeline(ctx):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    from sertl_core import DomainStandardScaler, SourceOnly, UnlabeledRowsWarning

    ns = ctx.ns
    pred = ns["pipe"].predict(ns["X_new_target"])
    assert pred.shape == (5,)
    assert -1 not in pred  # the marker never reaches the SVC as a class
    # "-1 (or "-1") for unlabelled target rows": string labels alike
    from sklearn.base import clone

    y_str = ns["y"].astype(str)
    pred = clone(ns["pipe"]).fit(ns["X"], y_str).predict(ns["X_new_target"])
    assert "-1" not in pred.tolist() and set(pred) <= {"0", "1", "2"}
    # "a bare SVC() there would learn the unlabelled marker -1 as a class.
    #  sertl's adapters see that pipeline and warn (UnlabeledRowsWarning)"
    bare = Pipeline([("adapt", DomainStandardScaler()), ("clf", SVC())])
    with pytest.warns(UnlabeledRowsWarning, match="clf"):
        bare.fit(ns["X"], ns["y"])
    # "... they warn too about a scikit-learn meta-estimator around a transfer
    #  estimator ... to be turned inside out"
    around = Pipeline(
        [
            ("adapt", DomainStandardScaler()),
            ("clf", CalibratedClassifierCV(SourceOnly(SVC()), cv=2)),
        ]
    )
    with pytest.warns(UnlabeledRowsWarning, match="SourceOnly"):
        around.fit(ns["X"], ns["y"])
    inside = Pipeline(
        [
            ("adapt", DomainStandardScaler()),
            ("clf", SourceOnly(CalibratedClassifierCV(SVC(), cv=2))),
        ]
    )
    inside.fit(ns["X"], ns["y"])  # no warning (warnings are errors here)


def readme_prelude_search(ctx):
    import sertl_core

    ns = ctx.ns
    # the text's own recipe for sd: "sd, _ = sertl_core.domains_from_names(
    # corpus, targets=[...])"
    sd, _ = sertl_core.domains_from_names(ns["corpus"], targets=["ravdess"])
    assert set(sd[ns["y"] == -1]) == {-1} and set(sd[ns["y"] != -1]) == {1, 2}
    ns["sd"] = sd
    pytest.importorskip("sertl_feature", reason="sertl-feature not installed")


def readme_check_search(ctx):
    search = ctx.ns["search"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # routing on: every step got every domain
    best = search.best_estimator_
    assert best.named_steps["clf"].classes_.tolist() == [0, 1, 2]


def readme_check_routing_off(ctx):
    from sklearn.base import clone

    from sertl_core import DomainStandardScaler

    assert not sklearn.get_config()["enable_metadata_routing"]
    # the fit parameters gave every step every domain (with groups=sd alone,
    # the text says, domains_ would be [-1, 1])
    search = clone(ctx.ns["search"])
    search.set_params(param_grid={"adapt": [DomainStandardScaler()]})
    search.fit(
        *(ctx.ns[k] for k in ("X", "y")),
        groups=ctx.ns["sd"],
        adapt__sample_domain=ctx.ns["sd"],
        clf__sample_domain=ctx.ns["sd"],
    )
    assert search.best_estimator_.named_steps["adapt"].domains_.tolist() == [-1, 1, 2]
    search.fit(ctx.ns["X"], ctx.ns["y"], groups=ctx.ns["sd"])
    assert search.best_estimator_.named_steps["adapt"].domains_.tolist() == [-1, 1]


def readme_check_lodo(ctx):
    res = ctx.ns["_"]  # the block's cross_validate(...)
    scores = res["test_score"]
    assert len(scores) == 2 and np.isfinite(scores).all()  # one fold per source
    # the held-out corpus is scaled with its own statistics ("batch")
    assert ctx.ns["pipe"].get_params()["adapt"].target_stats == "batch"


def readme_check_permutation_importance(ctx):
    # "called on the pipeline, its adapter maps every row, source rows
    #  included, as target data": the documented workaround scores the model
    #  as the domains say, the naive call another one
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import balanced_accuracy_score

    ns = ctx.ns
    pipe, X, y, sd, labelled = (ns[k] for k in ("pipe", "X", "y", "sd", "labelled"))
    result = ns["result"]
    assert result.importances_mean.shape == (X.shape[1],)
    # the remaining steps on Z predict what the pipeline predicts when every
    # step gets the rows' domains (routing on: an independent route)
    with sklearn.config_context(enable_metadata_routing=True):
        per_domain = pipe.predict(X[labelled], sample_domain=sd[labelled])
    np.testing.assert_array_equal(pipe[1:].predict(ns["Z"][labelled]), per_domain)
    naive_pred = pipe.predict(X[labelled])  # what permutation_importance scores
    assert balanced_accuracy_score(y[labelled], naive_pred) != (
        balanced_accuracy_score(y[labelled], per_domain)
    )
    naive = permutation_importance(
        pipe,
        X[labelled],
        y[labelled],
        scoring="balanced_accuracy",
        n_repeats=5,
        random_state=0,
    )
    assert not np.allclose(naive.importances_mean, result.importances_mean)


# ----------------------------------------------------------- CONTRIBUTING.md


def contributing_prelude_conformance(ctx):
    # MyAdapter: the example adapter of the package `sertl new-plugin
    # mymethods` writes (it has the `strength` parameter the block sets),
    # importable so that sklearn's checks can pickle it
    import importlib

    from sertl_core._template import write_plugin

    package = write_plugin("mymethods", ctx.tmp_path)
    ctx.monkeypatch.syspath_prepend(str(package))
    ctx.cleanup.append(lambda: _forget_modules("sertl_mymethods"))
    ctx.ns["MyAdapter"] = importlib.import_module("sertl_mymethods").MeanShiftAdapter


def _forget_modules(prefix):
    for name in [m for m in sys.modules if m.split(".")[0] == prefix]:
        del sys.modules[name]


def _params_of(func):
    marks = [m for m in getattr(func, "pytestmark", []) if m.name == "parametrize"]
    assert len(marks) == 1, "the block's decorator gave no pytest.mark.parametrize"
    return marks[0].args[1]


def contributing_check_conformance(ctx):
    # run the reader's test as pytest would: every check passes (sklearn's
    # array-API check skips without SCIPY_ARRAY_API, as under pytest)
    params = _params_of(ctx.ns["test_conformance"])
    ids = [p.id for p in params]
    assert any(i.startswith("MeanShiftAdapter(strength=0.5)-") for i in ids), ids[:3]
    skipped = []
    for p in params:
        if any(m.name == "xfail" for m in p.marks):
            continue
        try:
            ctx.ns["test_conformance"](*p.values)
        except unittest.SkipTest as skip:
            skipped.append((p.id, str(skip)))
    assert len(skipped) <= 2, skipped  # the rest of the checks ran
    # only the array-API check may skip, and only for the reason pytest gives
    assert all("array_api" in i and "SCIPY_ARRAY_API" in why for i, why in skipped), (
        skipped
    )


def contributing_prelude_input_kinds(ctx):
    def my_weights(X_source, X_target):
        # a public function of the reader's plugin: a weight per source row
        X_source = np.asarray(X_source, dtype=float)
        X_target = np.asarray(X_target, dtype=float)
        d = ((X_source - X_target.mean(axis=0)) ** 2).sum(axis=1)
        return np.exp(-d / d.mean())

    rng = np.random.default_rng(0)
    ctx.ns.update(
        my_weights=my_weights,
        XS=rng.normal(size=(12, 3)),
        XT=rng.normal(1.0, 1.0, size=(8, 3)),
    )


def contributing_check_input_kinds(ctx):
    params = _params_of(ctx.ns["test_input_kinds"])
    from sertl_core.testing import INPUT_KINDS

    assert [p.values[2] for p in params] == list(INPUT_KINDS)
    for p in params:  # run the reader's test as pytest would
        func, inputs, kind = p.values
        if kind == "pandas":
            pytest.importorskip("pandas")
        sub = ctx.tmp_path / kind
        sub.mkdir()
        ctx.ns["test_input_kinds"](func, inputs, kind, sub)


# ----------------------------------------------------- plugins/sertl-speech


def speech_check_corpora(ctx):
    ns = ctx.ns
    assert len(ns["demo"]) == 48  # "48 real files shipped here"
    from sertl_speech import COLUMNS

    assert list(ns["emodb"].columns) == list(COLUMNS)
    assert set(ns["ravdess"]["emotion"]) >= set(ns["classes"])
    if len(ns["emodb"]) > 48:  # the real corpora: the comment's list
        assert ns["classes"][:2] == ["anger", "disgust"], ns["classes"]
    else:  # the samples share their four emotions
        assert ns["classes"] == ["anger", "happiness", "neutral", "sadness"]


def speech_prelude_normalizer(ctx):
    rng = np.random.default_rng(1)
    speakers = np.repeat([f"s{i}" for i in range(6)], 20)
    offsets = {s: rng.normal(scale=3, size=5) for s in set(speakers)}
    y = np.tile(np.arange(2), 60)
    X = (
        rng.normal(size=(120, 5))
        + y[:, None]
        + np.stack([offsets[s] for s in speakers])
    )
    ctx.ns.update(X=X, y=y, speakers=speakers, X_new=X[:20], new_speakers=speakers[:20])


def speech_check_normalizer(ctx):
    from sertl_speech import MissingSpeakerWarning, SpeakerNormalizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    ns = ctx.ns
    # "A normaliser fitted with speaker ids whose transform gets none warns
    #  (MissingSpeakerWarning) ... With routing off that is every predict"
    with pytest.warns(MissingSpeakerWarning):
        ns["pipe"].predict(ns["X_new"])
    # the commented routing-on lines
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("norm", SpeakerNormalizer()), ("clf", SVC())])
        pipe.fit(ns["X"], ns["y"], speaker=ns["speakers"])
        assert pipe.predict(ns["X_new"], speaker=ns["new_speakers"]).shape == (20,)


def speech_prelude_features(ctx):
    paths = _sample_paths(ctx)
    # "~/.cache/sertl": a home of the test's own, not the user's
    ctx.monkeypatch.setenv("HOME", str(ctx.tmp_path))
    ctx.ns["_paths"] = paths


def speech_check_report(ctx):
    ns = ctx.ns
    # the same features as transform, and the call's own report: the cache
    # filled by the fit_transform above answers every file
    np.testing.assert_array_equal(ns["X"], ns["feats"].transform(ns["table"]))
    assert len(ns["report"]["failed"]) == 0
    assert "kind" in ns["report"]["notes"].columns
    assert ns["report"]["n_cache_hits"] == len(ns["table"])


def speech_check_features(ctx):
    ns = ctx.ns
    n = len(ns["table"])
    assert ns["X"].shape == (n, 316)  # "316 eGeMAPS-like features"
    assert ns["feats"].get_feature_names_out()[0] == "F0semitoneFrom27.5Hz_sma3nz_mean"
    # "per-file report: index, item, reason, message"; notes of "kind ..."
    assert ns["feats"].failed_.columns.tolist() == [
        "index",
        "item",
        "reason",
        "message",
    ]
    assert len(ns["feats"].failed_) == 0
    assert "kind" in ns["feats"].notes_.columns
    assert (ctx.tmp_path / ".cache" / "sertl").is_dir()
    assert ns["seqs"].dtype == object and ns["seqs"][0].shape[1] == 64
    assert ns["X3"].shape == (n, max(len(s) for s in ns["seqs"]), 64)
    assert ns["lengths"].tolist() == [len(s) for s in ns["seqs"]]


# --------------------------------------------------- plugins/sertl-instance


def instance_prelude(ctx):
    rng = np.random.default_rng(2)
    X, y, sd = _blobs(rng, [1, -1], n_per=40)
    y = _numeric(y)
    y[sd < 0] = -1
    ctx.ns.update(X=X, y=y, sd=sd, X_source=X[sd > 0], X_target=X[sd < 0])


def instance_check(ctx):
    ns = ctx.ns
    kmm = ns["pipe"][-1]
    assert kmm.weights_.shape == (40,) and (kmm.weights_ >= 0).all()
    assert kmm.diagnostics_["status"]
    assert ns["w"].shape == (40,)


# ---------------------------------------------------- plugins/sertl-feature


def feature_prelude(ctx):
    rng = np.random.default_rng(3)
    X, y, sd = _blobs(rng, [1, -1], n_per=40)
    y = _numeric(y)
    y[sd < 0] = -1
    ctx.ns.update(X=X, y=y)


def feature_check(ctx):
    search = ctx.ns["_"]  # the block's GridSearchCV(pipe, grid).fit(X, y)
    assert len(search.cv_results_["params"]) == 8 + 3  # both grids searched
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert type(search.best_params_["adapt"]).__name__ in {"TCA", "CORAL"}


# ----------------------------------------------------- plugins/sertl-neural


def neural_prelude_sequences(ctx):
    speech = pytest.importorskip("sertl_speech", reason="sertl-speech not installed")
    # files: a few utterances of the two shipped samples, labelled source
    # (EmoDB) and unlabelled target (RAVDESS)
    e = speech.load_sample("emodb").groupby("emotion").head(2)
    r = speech.load_sample("ravdess").groupby("emotion").head(2)
    files = [*e["file"], *r["file"]]
    y = np.r_[e["emotion"].to_numpy(), np.full(len(r), "-1", dtype=object)]
    sd = np.r_[np.ones(len(e), int), -np.ones(len(r), int)]
    ctx.ns.update(files=files, y=y, sd=sd)


def neural_check_sequences(ctx):
    ns = ctx.ns
    assert ns["seqs"].ndim == 1 and ns["seqs"].dtype == object  # "1-D object array"
    assert ns["X"].shape == (len(ns["files"]), 300, 64)
    assert np.isnan(ns["X"]).any()  # padding


def neural_prelude_fewshot(ctx):
    import sertl_core

    rng = np.random.default_rng(4)
    X, y, sd = _blobs(rng, [1, -1], n_per=60, n_features=12)
    y = y.astype(object)
    y[(sd < 0) & (np.arange(len(y)) % 6 >= 3)] = "-1"  # half the target unlabelled
    X = sertl_core.DomainStandardScaler().fit_transform(X, y, sample_domain=sd)
    ctx.ns.update(X=X, y=y, sd=sd)


def neural_check_fewshot(ctx):
    ns = ctx.ns
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    assert ns["ft"].predict(ns["X"][:5]).shape == (5,)
    # "clone(ft) ... keep init_from=src fitted"
    check_is_fitted(clone(ns["ft"]).get_params()["init_from"])


# ------------------------------------------------- plugins/sertl-relational


def relational_prelude(ctx):
    rng = np.random.default_rng(5)
    # source classes of EmoDB, target classes with one the source lacks
    Xs, ys, _ = _blobs(rng, [1], n_per=60, labels=("anger", "happiness", "sadness"))
    Xt, yt, _ = _blobs(rng, [-1], n_per=60, labels=("anger", "calm", "sadness"))
    yt = yt.astype(object)
    yt[np.arange(60) >= 15] = "-1"  # 5 labelled target rows per class
    ctx.ns.update(
        X=np.vstack([Xs, Xt + 1.0]),
        y=np.r_[ys.astype(object), yt],
        sd=np.r_[np.ones(60, int), -np.ones(60, int)],
        X_target=Xt[15:] + 1.0,
    )


def relational_check(ctx):
    clf = ctx.ns["clf"]
    # "predicts target classes the source never had (e.g. calm ...)"
    assert "calm" in clf.classes_.tolist()
    assert set(clf.predict(ctx.ns["X_target"])) <= {"anger", "calm", "sadness"}
    # "P(source model says s | target class t)": a row per target class
    relation = np.asarray(clf.relation_)
    assert relation.shape == (3, 3)
    np.testing.assert_allclose(relation.sum(axis=1), 1.0)


# ----------------------------------------------------------------------------
# The plan: per document, per python block (in order) an anchor the block
# must contain, the prelude, the check, the warnings it is said to emit, the
# placeholder paths replaced, and whether it is slow.


@dataclass
class Step:
    anchor: str
    prelude: object = None
    check: object = None
    slow: bool = False
    paths: object = None  # placeholder path -> real path, for the block


PLAN = {
    "README.md": [
        Step("pipe.fit(X, y)", readme_prelude_pipeline, readme_check_pipeline),
        Step("GridSearchCV(", readme_prelude_search, readme_check_search),
        Step("groups=sd", None, readme_check_routing_off),
        Step("LeaveOneDomainOut()", None, readme_check_lodo),
        Step("permutation_importance(", None, readme_check_permutation_importance),
    ],
    "CONTRIBUTING.md": [
        Step(
            "parametrize_with_checks",
            contributing_prelude_conformance,
            contributing_check_conformance,
        ),
        Step(
            "parametrize_with_input_kinds",
            contributing_prelude_input_kinds,
            contributing_check_input_kinds,
        ),
    ],
    "plugins/sertl-speech/README.md": [
        Step(
            "load_corpus(",
            None,
            speech_check_corpora,
            paths=_real_paths,
        ),
        Step("SpeakerNormalizer()", speech_prelude_normalizer, speech_check_normalizer),
        Step(
            "AudioFeatures(",
            speech_prelude_features,
            speech_check_features,
            slow=True,
            paths=_sample_paths,
        ),
        Step("transform_with_report(", None, speech_check_report, slow=True),
    ],
    "plugins/sertl-instance/README.md": [
        Step("KMM(", instance_prelude, instance_check),
    ],
    "plugins/sertl-feature/README.md": [
        Step("GridSearchCV(pipe, grid)", feature_prelude, feature_check),
    ],
    "plugins/sertl-neural/README.md": [
        Step(
            'network="crnn"',
            neural_prelude_sequences,
            neural_check_sequences,
            slow=True,
        ),
        Step("init_from=src", neural_prelude_fewshot, neural_check_fewshot, slow=True),
    ],
    "plugins/sertl-relational/README.md": [
        Step("LabelRelationTransfer()", relational_prelude, relational_check),
    ],
    "plugins/sertl-experiments/README.md": [],
}
PACKAGES = {
    "plugins/sertl-speech/README.md": ["sertl_speech"],
    "plugins/sertl-instance/README.md": ["sertl_instance"],
    "plugins/sertl-feature/README.md": ["sertl_feature"],
    "plugins/sertl-neural/README.md": ["sertl_neural", "sertl_speech"],
    "plugins/sertl-relational/README.md": ["sertl_relational"],
}


def _python_blocks(doc):
    return [b for b in fenced_blocks(doc) if b.lang == "python"]


def test_not_run_mark_is_read():
    text = (
        "Intro.\n\n<!-- not-run: needs a CUDA device -->\n```python\nx = 1\n```\n"
        "\n```python\ny = 2\n```\n"
    )
    first, second = fenced_blocks("x.md", text)
    assert (first.not_run, first.code, first.line) == (
        "needs a CUDA device",
        "x = 1\n",
        4,
    )
    assert second.not_run is None


def test_every_document_and_block_is_planned():
    # a new document or block gets a prelude here, or a not-run mark there
    assert sorted(PLAN) == sorted(DOCS)
    for doc in DOCS:
        blocks = _python_blocks(doc)
        assert len(blocks) == len(PLAN[doc]), (
            f"{doc} has {len(blocks)} python blocks, the plan {len(PLAN[doc])}"
        )
        for block, step in zip(blocks, PLAN[doc], strict=True):
            assert step.anchor in block.code, (doc, block.line, step.anchor)
        for block in blocks:  # even a block not run must be valid Python
            compile(block.code, f"{doc}:{block.line}", "exec")


def _split_params():
    """One test per document; a document with slow blocks gets two tests.

    The fast test runs the blocks before the first slow one (a later block
    may need the names an earlier one defined); the slow test runs them all.
    """
    out = []
    for doc in DOCS:
        steps = PLAN[doc]
        if not steps:
            continue
        first_slow = next((i for i, s in enumerate(steps) if s.slow), None)
        if first_slow is None:
            out.append(pytest.param(doc, len(steps), id=doc))
            continue
        if first_slow:
            out.append(pytest.param(doc, first_slow, id=f"{doc}[:{first_slow}]"))
        out.append(pytest.param(doc, len(steps), id=doc, marks=pytest.mark.slow))
    return out


@pytest.mark.parametrize(("doc", "n_blocks"), _split_params())
def test_python_blocks_run(doc, n_blocks, tmp_path, monkeypatch, request):
    for package in PACKAGES.get(doc, []):
        pytest.importorskip(package, reason=f"{package} (for {doc}) not installed")
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    ctx = Ctx(
        ns={"__name__": "__docs__"},
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        request=request,
    )
    blocks = _python_blocks(doc)
    try:
        _run_blocks(doc, blocks[:n_blocks], ctx)
    finally:
        for undo in ctx.cleanup:
            undo()


def _compile_keeping_last_value(code, where):
    """Compile a block; the value of a last bare expression goes to ``_``.

    As in an interactive session, so that a check can look at the result a
    block shows without a name (``GridSearchCV(pipe, grid).fit(X, y)``).
    """
    tree = ast.parse(code, where)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name("_", ast.Store())], value=last.value), last
        )
    return compile(ast.fix_missing_locations(tree), where, "exec")


def _run_blocks(doc, blocks, ctx):
    with sklearn.config_context(), warnings.catch_warnings():
        # every warning is an error unless a check expects it
        warnings.simplefilter("error")
        for block, step in zip(blocks, PLAN[doc], strict=False):
            code = block.code
            where = f"{doc}:{block.line}"
            if block.not_run:
                compile(code, where, "exec")
                continue
            if step.prelude:
                step.prelude(ctx)
            if step.paths:
                for placeholder, real in step.paths(ctx).items():
                    code = code.replace(f'"{placeholder}"', repr(real))
            exec(_compile_keeping_last_value(code, where), ctx.ns)
            if step.check:
                step.check(ctx)


# ----------------------------------------------------------------------------
# TOML examples


def _toml_blocks():
    return [b for doc in DOCS for b in fenced_blocks(doc) if b.lang == "toml"]


# Experiment-file options the docs show inline (in a table or a sentence),
# each with the document that shows it; every one must be in its document
# and pass sertl run's validation inside a minimal experiment.
INLINE_TOML = [
    (
        "plugins/sertl-speech/README.md",
        "corpora.mine",
        'reader = "csv"',
        'options = { columns = { file = "path", label = "emo" }, encoding = "cp1252", '
        'delimiter = ";" }',
    ),
    (
        "plugins/sertl-speech/README.md",
        "corpora.mine",
        'reader = "folders"',
        'options = { levels = ["speaker", "label"] }',
    ),
    (
        "plugins/sertl-experiments/README.md",
        "corpora.mine",
        'reader = "folders"',
        'options = { speaker_pattern = "^(?P<speaker>[^_]+)_" }',
    ),
    (
        "plugins/sertl-experiments/README.md",
        "corpora.mine",
        'reader = "csv"',
        'options = { columns = { file = "path", label = "emo", speaker = "spk" }, '
        'encoding = "cp1252", delimiter = ";" }',
    ),
    (
        "plugins/sertl-experiments/README.md",
        "corpora.mine",
        'reader = "folders"',
        'options = { levels = ["speaker", "label"] }',
    ),
    (
        "plugins/sertl-experiments/README.md",
        "labels",
        "",
        'mapping = { calm = "neutral" }',
    ),
    ("plugins/sertl-experiments/README.md", "classifier", "", "params = { C = 10.0 }"),
    ("plugins/sertl-experiments/README.md", "matrix", "", 'sources = "leave_one_out"'),
]


def _experiment(tmp_path, extra):
    """An experiment file on the shipped samples with ``extra`` appended."""
    text = textwrap.dedent(
        """\
        [corpora.emodb]
        root = "sample"
        [corpora.ravdess]
        root = "sample"
        """
    )
    path = tmp_path / "exp.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def _validate_experiment(path):
    """What ``sertl run`` checks before it extracts any feature."""
    pytest.importorskip("sertl_experiments", reason="sertl-experiments not installed")
    from sertl_experiments import load_config
    from sertl_experiments._runner import check_methods

    cfg = load_config(path)
    check_methods(cfg)
    return cfg


def test_toml_blocks_parse_and_validate(tmp_path):
    blocks = _toml_blocks()
    assert len(blocks) == 2, [(b.doc, b.line) for b in blocks]
    for block in blocks:
        raw = tomllib.loads(block.code)
        if "project" in raw:  # a plugin's pyproject.toml: an entry point
            ((name, value),) = raw["project"]["entry-points"]["sertl"].items()
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name), block.line
            assert re.fullmatch(r"[A-Za-z_][\w.]*\.hooks", value), block.line
            # as sertl's own plugins declare theirs
            own = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
            assert "sertl" in own["project"]["entry-points"]
            continue
        # an experiment fragment, as the text says: with the commented
        # alternatives too (each uncommented on its own)
        assert "methods" in raw, (block.doc, block.line)
        variants = [block.code]
        for line in block.code.splitlines():
            m = re.match(r"#\s*(\w+\s*=.*?)\s*(#.*)?$", line.strip())
            if m:
                variants.append(block.code + m.group(1) + "\n")
        for i, code in enumerate(variants):
            sub = tmp_path / f"{block.line}-{i}"
            sub.mkdir()
            cfg = _validate_experiment(_experiment(sub, code))
            assert cfg.methods[0].name == raw["methods"][0]["name"]


@pytest.mark.parametrize(
    ("doc", "table", "setting", "snippet"),
    INLINE_TOML,
    ids=[t[3][:30] for t in INLINE_TOML],
)
def test_inline_toml_examples_validate(doc, table, setting, snippet, tmp_path):
    text = (REPO / doc).read_text(encoding="utf-8").replace("`", "")
    assert snippet in " ".join(text.split()), f"{doc} no longer shows {snippet}"
    if table.startswith("corpora."):
        # a corpus of the reader's own, beside the two samples
        pytest.importorskip("sertl_speech", reason="sertl-speech not installed")
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine.csv").write_text("path,emo,spk\n", encoding="utf-8")
        root = "mine.csv" if "csv" in setting else "mine"
        extra = f'[{table}]\n{setting}\nroot = "{root}"\n{snippet}\n'
    else:
        extra = f"[{table}]\n{snippet}\n"
    _validate_experiment(_experiment(tmp_path, extra + '[[methods]]\nname = "dss"\n'))


# ----------------------------------------------------------------------------
# sertl command lines


def _command_lines():
    """``(doc, line, complete)`` for each sertl command line of the docs.

    Lines of code blocks (fenced or indented) are complete commands; inline
    spans of prose (`` `sertl grid --save` ``) may name an option without
    its value.
    """
    out = []
    for doc in DOCS:
        text = (REPO / doc).read_text(encoding="utf-8")
        code = [b.code for b in fenced_blocks(doc) if b.lang in ("", "bash", "sh")]
        for chunk in [*code, *indented_blocks(doc)]:
            chunk = chunk.replace("\\\n", " ")
            for line in chunk.splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("sertl "):
                    out.append((doc, line, True))
        prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
        for span in re.findall(r"`(sertl\s[^`]*)`", prose):
            out.append((doc, " ".join(span.split()), False))
    return out


# what a placeholder of the docs stands for
PLACEHOLDERS = {
    "NAME": "mymethods",
    "N": "2",
    "K": "5",
    "ADDRESS": "tcp://127.0.0.1:8786",
    "MODEL": "model.skops",
    "AUDIO...": "a.wav",
    "EXPERIMENT.toml": "exp.toml",
    "DIR": "cache",
}


def _subparsers():
    from sertl_core.cli import build_parser

    parser = build_parser()
    commands = parser.parse_args(["plugins"])._command_parsers
    # the docs spell every option out: an abbreviation argparse would accept
    # (`--method` for `--methods`) is a typo there
    for p in [parser, *commands.values()]:
        p.allow_abbrev = False
    return parser, commands


def test_sertl_command_lines_parse():
    pytest.importorskip(
        "sertl_experiments",
        reason="the docs use the commands of sertl-experiments (run, grid, "
        "predict, demo), which is not installed",
    )
    parser, commands = _subparsers()
    lines = _command_lines()
    assert sum(complete for *_, complete in lines) >= 5
    for doc, line, complete in lines:
        words = shlex.split(line)[1:]
        if words and "/" in words[0]:  # `sertl run/grid/predict/demo`
            assert set(words[0].split("/")) <= set(commands), (doc, line)
            continue
        assert words and words[0] in commands, f"{doc}: `{line}`: no such command"
        words = [PLACEHOLDERS.get(w.strip("[]"), w.strip("[]")) for w in words]
        if complete:
            try:
                parser.parse_args(words)
            except SystemExit:
                pytest.fail(f"{doc}: `{line}` does not parse (see stderr)")
            continue
        # prose may name an option without its value: each option exists,
        # and one followed by a value takes a value
        sub = commands[words[0]]
        for i, w in enumerate(words[1:], start=1):
            after = words[i + 1] if i + 1 < len(words) else None
            if w.startswith("-"):
                assert w in sub._option_string_actions, f"{doc}: `{line}`: {w}"
                takes = sub._option_string_actions[w].nargs != 0
                assert takes or after is None or after.startswith("-"), (
                    f"{doc}: `{line}`: {w} takes no value"
                )


def test_inline_options_exist():
    # `--option` spans of the prose name an option of a sertl command, or of
    # the script the sentence names
    pytest.importorskip(
        "sertl_experiments",
        reason="the docs name options of sertl-experiments' commands, which is "
        "not installed",
    )
    _, commands = _subparsers()
    known = {o for sub in commands.values() for o in sub._option_string_actions}
    other = {"--device": REPO / "benchmarks" / "neural_speed.py"}
    for doc in DOCS:
        text = (REPO / doc).read_text(encoding="utf-8")
        for span in re.findall(r"`(--[^`]*)`", text):
            option = span.split()[0]
            if option in other:
                assert option in other[option].read_text(encoding="utf-8")
                continue
            assert option in known, f"{doc}: `{span}` is no option of sertl"


# ----------------------------------------------------------------------------
# Other shell commands: make targets, install paths and extras


def test_shell_commands_name_real_targets_and_paths():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    seen = 0
    for doc in DOCS:
        code = [b.code for b in fenced_blocks(doc) if b.lang in ("", "bash", "sh")]
        for chunk in [*code, *indented_blocks(doc)]:
            for line in chunk.replace("\\\n", " ").splitlines():
                line = line.split("#")[0].strip()
                words = shlex.split(line) if line else []
                if words[:1] == ["make"]:
                    assert words[1] in targets, f"{doc}: `{line}`"
                    seen += 1
                elif words[:2] == ["pip", "install"]:
                    seen += 1
                    args = iter(words[2:])
                    for w in args:
                        if w in ("-e", "-c"):
                            continue
                        m = re.fullmatch(r"([^\[]+)(?:\[(\w+)\])?", w)
                        assert m and (REPO / m[1]).exists(), f"{doc}: `{line}`: {w}"
                        if m[2]:
                            meta = tomllib.loads(
                                (REPO / m[1] / "pyproject.toml").read_text(
                                    encoding="utf-8"
                                )
                            )
                            extras = meta["project"]["optional-dependencies"]
                            assert m[2] in extras, f"{doc}: `{line}`: [{m[2]}]"
                elif words[:1] == ["bash"] or words[:1] == [".venv/bin/pytest"]:
                    seen += 1
                    assert (REPO / words[1]).exists(), f"{doc}: `{line}`"
    assert seen >= 10
