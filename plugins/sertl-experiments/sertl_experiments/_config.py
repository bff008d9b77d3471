"""Experiment configuration: TOML file -> validated :class:`ExperimentConfig`.

Every problem is reported as one :class:`ConfigError` whose message names
the file and the field (``[protocol] k``) and says what to write instead.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sertl_core.emotions import label_key
from sertl_core.registry import is_step_name

from ._metrics import BOOTSTRAP_UNITS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CLASSIFIERS",
    "ConfigError",
    "CorpusSpec",
    "ExperimentConfig",
    "FeatureSpec",
    "MethodSpec",
    "ProtocolSpec",
    "load_config",
    "parse_config",
]

CLASSIFIERS = (
    "svc",
    "logreg",
    "knn",
    "random_forest",
    "hist_gradient_boosting",
    "lda",
)
"""Names accepted by ``[classifier] name``."""

SCALINGS = ("source", "domain", "speaker", "none")

MAX_SEED = 2**32 - 1
"""The largest seed: numpy's and scikit-learn's ``random_state`` take 32 bits."""

FEATURE_SETS = ("functionals", "mfcc_stats")
"""Names accepted by ``[features] set``: sets with one feature vector per file."""
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")  # fullmatch: no "\n" at the end


class ConfigError(ValueError):
    """An experiment configuration is invalid; the message names the field.

    Raised by :func:`load_config` and :func:`parse_config` with the file,
    the field (``[protocol] k``) and what to write instead.

    Examples
    --------
    >>> from sertl_experiments import ConfigError, parse_config
    >>> raw = {"corpora": {"emodb": {"root": "data/EmoDB"},
    ...                    "ravdess": {"root": "data/RAVDESS"}},
    ...        "protocol": {"target": "few_shot"},
    ...        "methods": [{"name": "dss"}]}
    >>> try:
    ...     parse_config(raw, origin="exp.toml")
    ... except ConfigError as err:
    ...     print(str(err).split(" labelled")[0])
    exp.toml: [protocol] k: few_shot needs k >= 2
    >>> issubclass(ConfigError, ValueError)
    True
    """


@dataclass
class CorpusSpec:
    """One corpus: a reader name (``sertl corpora`` lists them) and its root.

    Built by :func:`parse_config` from a ``[corpora.NAME]`` table.

    Parameters
    ----------
    name : str
        Name of the corpus in the experiment (the table's NAME).
    reader : str
        Registry name of the sertl-speech corpus reader (e.g. ``"emodb"``).
    root : pathlib.Path
        Folder of the corpus as downloaded (or the shipped sample; for the
        ``csv`` reader, the CSV file), an absolute path.
    options : dict, default={}
        Options of the reader (keyword arguments of its class, passed on by
        ``sertl_speech.load_corpus``), e.g. ``{"speaker_pattern":
        "^(?P<speaker>[^_]+)_"}`` for ``folders``: the table's ``options``.
    reader_from_name : bool, default=False
        The table named no reader, so ``reader`` is the table's NAME (said
        in the error when no reader has that name).
    where : str, default=None
        How error messages name the corpus: ``"[corpora.NAME]"`` (the
        default, a field of it being ``"[corpora.NAME] root"``), or the
        command-line option that defined it (``sertl grid`` gives
        ``"--source emodb=ROOT"``, which also names each of its fields).

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"corpora": {"emo": {"reader": "emodb", "root": "sample"},
    ...                                 "rav": {"reader": "ravdess", "root": "data"}},
    ...                     "methods": [{"name": "dss"}]})
    >>> spec = cfg.corpora["emo"]
    >>> spec.name, spec.reader, spec.root.name, spec.options
    ('emo', 'emodb', 'EmoDB', {})
    >>> cfg = parse_config({"corpora": {
    ...     "mine": {"reader": "folders", "root": "data/mine",
    ...              "options": {"speaker_pattern": "^(?P<speaker>[^_]+)_"}},
    ...     "rav": {"reader": "ravdess", "root": "data"}},
    ...     "methods": [{"name": "dss"}]})
    >>> cfg.corpora["mine"].options
    {'speaker_pattern': '^(?P<speaker>[^_]+)_'}
    >>> cfg.corpora["mine"].root.is_absolute()
    True
    >>> spec.label("root")
    '[corpora.emo] root'
    >>> CorpusSpec("emodb", "emodb", spec.root, where="--source emodb=x").label("root")
    '--source emodb=x'
    """

    name: str
    reader: str
    root: Path
    options: dict = field(default_factory=dict)
    reader_from_name: bool = False
    where: str | None = None

    def label(self, key=None):
        """Return the name of the corpus, or of its field ``key``, in an error message.

        Parameters
        ----------
        key : str, default=None
            A field of the corpus table (e.g. ``"root"``); None for the
            corpus itself.

        Returns
        -------
        label : str
            ``"[corpora.NAME]"`` or ``"[corpora.NAME] KEY"``; ``where``
            alone when it is set (a command-line option names all its
            fields).
        """
        if self.where is not None:
            return self.where  # a command-line option names all its fields
        where = f"[corpora.{self.name}]"
        return f"{where} {key}" if key else where


@dataclass
class FeatureSpec:
    """Acoustic features, computed once per file through the speech cache.

    Built by :func:`parse_config` from the ``[features]`` table.

    Parameters
    ----------
    set : str, default="functionals"
        Feature set of :class:`sertl_speech.AudioFeatures`
        (``"functionals"`` or ``"mfcc_stats"``).
    cache_dir : pathlib.Path, default=None
        Folder of the on-disk feature cache (None: no cache).
    n_jobs : int, default=1
        Extraction processes (-1: all cores).
    params : dict, default={}
        Further keyword arguments of ``AudioFeatures``.

    Examples
    --------
    >>> from sertl_experiments import FeatureSpec
    >>> FeatureSpec()
    FeatureSpec(set='functionals', cache_dir=None, n_jobs=1, params={})
    >>> FeatureSpec(set="mfcc_stats", n_jobs=2).set
    'mfcc_stats'
    """

    set: str = "functionals"
    cache_dir: Path | None = None
    n_jobs: int = 1
    params: dict = field(default_factory=dict)


@dataclass
class ProtocolSpec:
    """How target data is used and how results are scored.

    Built by :func:`parse_config` from the ``[protocol]`` table.

    Parameters
    ----------
    target : {"unlabelled", "few_shot"}, default="unlabelled"
        Whether the target corpus trains without labels, or with ``k``
        labelled utterances per class.
    k : int, default=0
        Labelled target utterances per class (``"few_shot"`` only), drawn
        from speakers held out of the test set.
    seeds : list of int, default=[0]
        Random seeds; every (pair, method) cell runs once per seed.
    metric : {"uar", "wa", "macro_f1"}, default="uar"
        Headline metric of the report (all three are computed).
    bootstrap : int, default=1000
        Bootstrap resamples of the confidence intervals (0: none).
    confidence : float, default=0.95
        Level of the confidence intervals.
    test_speaker_fraction : float, default=0.5
        Share of the target speakers kept for testing with ``"few_shot"``:
        ``fraction * n_speakers`` rounded half up (0.5 of 5 speakers: 3),
        at least 1 and leaving at least 1 speaker for the labelled rows.
    selection_splits : int, default=3
        Source/target splits of the label-free selection scores.
    bootstrap_unit : {"utterance", "speaker"}, default="utterance"
        What the bootstrap resamples: test utterances within each class
        (every resample keeps the class counts), or test speakers with all
        their utterances (a cluster bootstrap; needs two test speakers).

    Examples
    --------
    >>> from sertl_experiments import ProtocolSpec
    >>> p = ProtocolSpec(target="few_shot", k=5, seeds=[0, 1])
    >>> p.target, p.k, p.seeds, p.metric
    ('few_shot', 5, [0, 1], 'uar')
    """

    target: str = "unlabelled"
    k: int = 0
    seeds: list = field(default_factory=lambda: [0])
    metric: str = "uar"
    bootstrap: int = 1000
    confidence: float = 0.95
    test_speaker_fraction: float = 0.5
    selection_splits: int = 3
    bootstrap_unit: str = "utterance"


@dataclass
class MethodSpec:
    """One method: scaling + adapters + transfer estimator, or ``auto``.

    Built by :func:`parse_config` from one ``[[methods]]`` table.

    Parameters
    ----------
    name : str
        Unique short name, used in the results and the report.
    scaling : {"domain", "source", "speaker", "none"}, default="domain"
        Standardisation before the adapters.
    adapters : list of str, default=[]
        Registry names of the feature adapters, applied in order.
    estimator : str, default="source_only"
        Registry name of the transfer estimator.
    params : dict, default={}
        Parameters per step, e.g. ``{"coral": {"reg": 1.0}}``.
    grid : dict, default={}
        ``STEP__PARAM`` to candidate values, searched per cell.
    auto : bool, default=False
        Choose the method per pair by label-free scores (``method = "auto"``).
    candidates : list of str, default=None
        What ``auto`` chooses among: names of this experiment's methods or of
        installed adapters and estimators (None: the installed unsupervised
        methods, see :func:`~sertl_experiments.default_candidates`). A name
        of one of this experiment's methods is that method, also where an
        installed default has the same name (``dss``, ``no_adaptation``).
    scorers : list of str, default=["reverse_validation"]
        Label-free scorers. Candidates are ranked by their mean rank over
        the scorers; the first scorer breaks ties (then the order of the
        candidates), and it is the score the report shows. The few-shot
        protocol ranks by the labelled target rows instead.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "b": {"root": "y"}},
    ...                     "methods": [{"name": "coral", "adapter": "coral",
    ...                                  "params": {"coral": {"reg": 1.0}}}]})
    >>> m = cfg.methods[0]
    >>> m.name, m.scaling, m.adapters, m.estimator, m.params
    ('coral', 'domain', ['coral'], 'source_only', {'coral': {'reg': 1.0}})
    """

    name: str
    scaling: str = "domain"
    adapters: list = field(default_factory=list)
    estimator: str = "source_only"
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    auto: bool = False
    candidates: list | None = None
    scorers: list = field(default_factory=lambda: ["reverse_validation"])


@dataclass
class ExperimentConfig:
    """A validated experiment (see :func:`load_config` for the file format).

    Parameters
    ----------
    name : str
        Name of the experiment (default: the file's stem).
    output : pathlib.Path
        Folder of the results and the report.
    corpora : dict of str to CorpusSpec
        Every corpus defined, by name.
    sources : list of tuple of str
        Source groups; a group of several names trains on those corpora
        together, each a source domain of its own (ids 1, 2, ... in the
        group's order). A corpus appears at most once in a group, and each
        group (in any order) and each target at most once. In a file,
        ``sources = "leave_one_out"`` gives each target one pool: every
        other corpus of ``[corpora]``.
    targets : list of str
        Target corpora.
    methods : list of MethodSpec
        Methods compared in every cell.
    classes : "shared", "all" or list of str, default="shared"
        Emotions kept: those every corpus of the matrix has (``"shared"``),
        all, or a list; each pair then keeps those of them that its target
        and its source have (see ``pool_classes`` for a pooled source).
    pool_classes : {"intersection", "union"}, default="intersection"
        The classes of a pooled source: those every corpus of the pool has,
        or those any has (``"union"``; needs ``classes`` ``"all"`` or a
        list). A pair keeps the classes its target shares with its source.
    mapping : dict, default={}
        Label renaming applied before selecting classes.
    features : FeatureSpec, default=FeatureSpec()
        Acoustic features.
    protocol : ProtocolSpec, default=ProtocolSpec()
        Use of target data and scoring.
    classifier : str, default="svc"
        Final classifier (one of :data:`CLASSIFIERS`).
    classifier_params : dict, default={}
        Its parameters.
    save_models : bool, default=False
        Save the fitted model of each (pair, method), fitted with the first
        seed, with skops under ``OUTPUT/models/``. A method with
        ``scaling = "speaker"`` saves none (a model that labels files has no
        speaker ids); the run log and the report say so.
    pca_points : int, default=300
        Points per domain in the PCA plots.
    source_file : pathlib.Path, default=None
        The TOML file it was read from (None for a dict).

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"name": "demo",
    ...                     "corpora": {"a": {"root": "x"}, "b": {"root": "y"},
    ...                                 "c": {"root": "z"}},
    ...                     "matrix": {"sources": [["a", "b"], "c"], "targets": ["c"]},
    ...                     "methods": [{"name": "dss"}]})
    >>> cfg.name, cfg.sources, cfg.targets, cfg.classifier
    ('demo', [('a', 'b'), ('c',)], ['c'], 'svc')
    >>> cfg.pairs()
    [(('a', 'b'), 'c')]

    Leave one corpus out: each target against all the other corpora pooled.

    >>> cfg = parse_config({"corpora": {"a": {"root": "x"}, "b": {"root": "y"},
    ...                                 "c": {"root": "z"}},
    ...                     "matrix": {"sources": "leave_one_out"},
    ...                     "methods": [{"name": "dss"}]})
    >>> cfg.pairs()
    [(('b', 'c'), 'a'), (('a', 'c'), 'b'), (('a', 'b'), 'c')]
    """

    name: str
    output: Path
    corpora: dict
    sources: list
    targets: list
    methods: list
    classes: Any = "shared"
    pool_classes: str = "intersection"
    mapping: dict = field(default_factory=dict)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    protocol: ProtocolSpec = field(default_factory=ProtocolSpec)
    classifier: str = "svc"
    classifier_params: dict = field(default_factory=dict)
    save_models: bool = False
    pca_points: int = 300
    source_file: Path | None = None

    def pairs(self):
        """Return the ordered (source, target) pairs, sources as tuples of names.

        Returns
        -------
        pairs : list of (tuple of str, str)
            Every source set with every target it does not contain, in the
            order of ``sources`` then ``targets``.
        """
        out = []
        for s in self.sources:
            for t in self.targets:
                if t not in s:
                    out.append((tuple(s), t))
        return out


class _Ctx:
    def __init__(self, origin):
        self.origin = origin

    def fail(self, where, msg):
        raise ConfigError(f"{self.origin}: {where}: {msg}")

    def keys(self, table, allowed, where):
        if not isinstance(table, dict):
            self.fail(where, f"must be a table, got {type(table).__name__} {table!r}.")
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(k, allowed, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                self.fail(
                    f"{where} {k}".strip(),
                    f"unknown field.{hint} Allowed: {', '.join(sorted(allowed))}.",
                )

    def typed(self, value, types, where, what):
        if isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        ):
            self.fail(where, f"must be {what}, got {value!r}.")
        if not isinstance(value, types):
            self.fail(where, f"must be {what}, got {type(value).__name__} {value!r}.")
        return value


def reserved_step_message(name):
    """Say why a registry name of the pipeline's own steps cannot be a method."""
    return (
        f"{name!r} cannot be used by sertl run and sertl grid: sertl-experiments "
        "names the pipeline's own steps scale, model, classifier, "
        "adapt1, adapt2 ... (grid search's adapter slots) and features (a saved "
        "model's first step), and a method of that registry name would collide "
        "with one; its plugin must give it another registry_name."
    )


def _sample_root(ctx, reader, where):
    from sertl_speech import get_reader_class, sample_path  # a dependency

    get_reader_class(reader)  # a misspelt reader: say so (LookupError), not "no sample"
    try:
        return sample_path(reader)
    except (ValueError, FileNotFoundError) as exc:
        ctx.fail(
            where, f'"sample" names the real sample shipped with sertl-speech: {exc}'
        )


def root_hint(reader):
    """Say what the root of a corpus read by ``reader`` is, for messages.

    Examples
    --------
    >>> from sertl_experiments._config import root_hint
    >>> root_hint("emodb")
    'the folder of the corpus as downloaded'
    >>> root_hint("csv").split(" (")[0]
    'the CSV file that lists the corpus'
    """
    key = str(reader).strip().lower()
    if key == "csv":
        return (
            "the CSV file that lists the corpus (columns file, label or emotion, "
            "speaker; optionally gender, language)"
        )
    if key == "folders":
        return "the folder that holds one folder of audio files per label"
    return "the folder of the corpus as downloaded"


def reader_names():
    """Return the names of the installed corpus readers (``sertl corpora``)."""
    from sertl_core import get_registry

    return get_registry().names("corpora")


def missing_reader(name):
    """Say that ``[corpora.NAME]`` gives no reader and NAME is none.

    Examples
    --------
    >>> from sertl_experiments._config import missing_reader
    >>> print(missing_reader("mine").split(", and")[0])
    missing: without reader = ..., the reader is the table's name, 'mine'
    """
    return (
        f"missing: without reader = ..., the reader is the table's name, {name!r}, "
        'and no corpus reader has that name. Add reader = "csv" (a CSV file of '
        'your own corpus), reader = "folders" (one folder per label) or the '
        f"reader of a known corpus; the readers are {', '.join(reader_names())}."
    )


def reader_options(reader):
    """Return the options a corpus reader takes, or None when it takes any.

    The options are the keyword arguments of the reader's class, which
    ``sertl_speech.load_corpus(reader, root, **options)`` passes on.

    Raises
    ------
    LookupError
        No reader has that name.

    Examples
    --------
    >>> from sertl_experiments._config import reader_options
    >>> reader_options("folders")
    ['speaker_pattern', 'corpus', 'language', 'levels']
    >>> reader_options("emodb")
    []
    """
    import inspect

    from sertl_speech import get_reader_class

    cls = get_reader_class(reader)
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to read: the reader decides
        return None
    names = []
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return names


def _check_options(ctx, reader, options, where):
    """Refuse an option that ``reader`` does not take, naming its options."""
    allowed = reader_options(reader)
    if allowed is None:
        return
    for key in options:
        if key in allowed:
            continue
        if not allowed:
            ctx.fail(
                f"{where} options",
                f"the reader {reader!r} takes no options, got {key!r}; remove options.",
            )
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        ctx.fail(
            f"{where} options",
            f"the reader {reader!r} has no option {key!r}.{hint} Its options: "
            f"{', '.join(allowed)}.",
        )


def _str_list(ctx, value, where):
    if isinstance(value, str):
        value = [value]
    ctx.typed(value, list, where, "a string or a list of strings")
    for v in value:
        ctx.typed(v, str, where, "a list of strings")
    return list(value)


def _differ_in_case_only(ctx, name, names, where, kind):
    """Refuse ``name`` when one of ``names`` differs from it in case only.

    Cell files, plots and saved models are named after corpora and methods:
    on a file system that ignores case (macOS's and Windows' defaults) two
    such names would share their files.
    """
    other = next(
        (n for n in names if n != name and n.casefold() == name.casefold()), None
    )
    if other is not None:
        ctx.fail(
            where,
            f"{kind} names {other!r} and {name!r} differ only in case: the "
            "output files named after them would be one file on a file system "
            "that ignores case (macOS, Windows); rename one.",
        )


def file_in_the_way(path):
    """Return the file that stops ``path`` from being a folder, and how, or None.

    ``(file, "is a file")`` when ``path`` is one, ``(file, "is inside the
    file FILE")`` when a folder above it is; None when the nearest existing
    path is a folder (``path`` can be made). Shared by the output folder,
    the feature cache and ``sertl grid --save``.

    >>> file_in_the_way(Path("/")) is None
    True
    """
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists():
            if folder.is_dir():
                return None
            how = "is a file" if folder == path else f"is inside the file {folder}"
            return folder, how
    return None


def seed_problem(seed):
    """Return what is wrong with an integer seed (``"must be ..."``), or "".

    numpy and scikit-learn take seeds of 32 bits: a larger one would fail
    every cell, after the features were extracted.

    >>> seed_problem(-1)
    'must be >= 0, got -1.'
    """
    if seed < 0:
        return f"must be >= 0, got {seed}."
    if seed > MAX_SEED:
        return (
            f"must be <= {MAX_SEED} (2**32 - 1, the largest seed numpy and "
            f"scikit-learn take), got {seed}."
        )
    return ""


def _listed_once(ctx, values, where, why, kind=""):
    """Refuse a list that repeats a value, saying ``why`` that matters."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        each = f"each {kind} once" if kind else "each once"
        ctx.fail(
            where,
            f"{values!r} lists {', '.join(map(repr, twice))} more than once: "
            f"{why} List {each}: {list(dict.fromkeys(values))!r}.",
        )


LEAVE_ONE_OUT = "leave_one_out"
POOL_CLASSES = ("intersection", "union")


def _leave_one_out(ctx, value, names, targets):
    """Expand ``[matrix] sources = "leave_one_out"`` into its pools.

    Each target gets one pool: every corpus of ``[corpora]`` but that
    target, in the table's order. The pools are exactly the lists a user
    would write by hand, so they are named, keyed and resumed as those.
    """
    where = "[matrix] sources"
    if value != LEAVE_ONE_OUT:
        close = difflib.get_close_matches(value, [LEAVE_ONE_OUT], n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        ctx.fail(
            where,
            f"must be a list of corpus names (a list inside it pools corpora) or "
            f'"{LEAVE_ONE_OUT}" (each target against all the other corpora '
            f"pooled), got {value!r}.{hint}",
        )
    if len(names) < 2:
        ctx.fail(
            where,
            f'"{LEAVE_ONE_OUT}" pools the corpora other than each target: define '
            f"at least two corpora in [corpora], got {', '.join(names)}.",
        )
    return [[n for n in names if n != t] for t in targets]


def load_config(path, *, overrides=None):
    """Read and validate an experiment TOML file.

    Relative paths in the file (corpus roots, ``output``, the feature
    cache) are resolved against the file's folder.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.
    overrides : dict, default=None
        Top-level values that replace the file's (e.g. ``{"output": ...}``).

    Returns
    -------
    config : ExperimentConfig
        The validated experiment, paths resolved.

    Raises
    ------
    ConfigError
        Missing file, TOML syntax error or an invalid field, with the field
        named in the message.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "exp.toml"
    >>> _ = p.write_text('''
    ... [corpora.a]
    ... reader = "emodb"
    ... root = "data/a"
    ... [corpora.b]
    ... reader = "ravdess"
    ... root = "data/b"
    ... [[methods]]
    ... name = "dss"
    ... ''')
    >>> cfg = load_config(p)
    >>> cfg.pairs()
    [(('a',), 'b'), (('b',), 'a')]
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.toml"))[:5]
        raise ConfigError(
            f"{path}: is a folder; give the experiment file itself (a .toml"
            + (f", e.g. {', '.join(found)} there" if found else "")
            + ")."
        )
    if not path.is_file():
        raise ConfigError(f"{path}: experiment file not found.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:  # unreadable: permissions, a device, a broken disk
        raise ConfigError(
            f"{path}: cannot read the experiment file ({exc.strerror or exc})."
        ) from None
    raw.update(overrides or {})
    return parse_config(raw, base_dir=path.parent, origin=str(path))


def parse_config(raw, *, base_dir=".", origin="<config>"):
    """Validate a configuration given as a dict (the parsed TOML).

    Parameters
    ----------
    raw : dict
        The parsed TOML document.
    base_dir : str or pathlib.Path, default="."
        Folder against which relative paths are resolved.
    origin : str, default="<config>"
        Name of the source shown in error messages.

    Returns
    -------
    config : ExperimentConfig
        The validated experiment, paths resolved against ``base_dir``.

    Examples
    --------
    >>> raw = {"corpora": {"a": {"root": "x"}}, "methods": []}
    >>> parse_config(raw)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sertl_experiments._config.ConfigError: <config>: [[methods]]: list at least one ...
    """
    ctx = _Ctx(origin)
    # absolute: a saved model, a cell or a cache must not name a path that
    # depends on the working folder (exp/../cache)
    base = Path(base_dir).expanduser().resolve()
    top = {
        "name",
        "output",
        "corpora",
        "labels",
        "matrix",
        "features",
        "protocol",
        "classifier",
        "methods",
        "save_models",
        "pca_points",
    }
    ctx.keys(raw, top, "")

    def resolve(p, where):
        ctx.typed(p, str, where, "a path string")
        q = Path(p).expanduser()
        return (q if q.is_absolute() else (base / q)).resolve()

    name = ctx.typed(raw.get("name", Path(origin).stem), str, "name", "a string")
    output = resolve(raw.get("output", f"results-{name}"), "output")

    corpora_raw = raw.get("corpora")
    if not corpora_raw:
        ctx.fail(
            "[corpora]",
            "define at least two corpora, e.g. [corpora.emodb] "
            'reader = "emodb" root = "path/to/EmoDB".',
        )
    ctx.typed(corpora_raw, dict, "[corpora]", "a table of corpora")
    corpora = {}
    for cname, spec in corpora_raw.items():
        where = f"[corpora.{cname}]"
        if not _NAME_RE.fullmatch(cname) or "+" in cname:
            # "+" joins the sources of a pool in results (emodb+urdu): a
            # corpus of that name could not be told from the pool
            ctx.fail(where, "corpus names use letters, digits, _ . - only.")
        _differ_in_case_only(ctx, cname, corpora, where, "corpus")
        ctx.keys(spec, {"reader", "root", "options"}, where)
        reader_from_name = "reader" not in spec
        reader = ctx.typed(
            spec.get("reader", cname), str, f"{where} reader", "a string"
        )
        if "root" not in spec:
            ctx.fail(f"{where} root", f"missing: {root_hint(reader)}.")
        options = ctx.typed(
            spec.get("options", {}),
            dict,
            f"{where} options",
            'a table of reader options, e.g. { speaker_pattern = "^(?P<speaker>'
            '[^_]+)_" }',
        )
        try:
            if options:
                _check_options(ctx, reader, options, where)
            if spec["root"] == "sample":
                root = _sample_root(ctx, reader, f"{where} root")
            else:
                root = resolve(spec["root"], f"{where} root")
        except LookupError as exc:  # a misspelt or missing reader: say so
            ctx.fail(
                f"{where} reader",
                missing_reader(cname) if reader_from_name else str(exc),
            )
        corpora[cname] = CorpusSpec(
            cname, reader, root, dict(options), reader_from_name
        )

    labels = raw.get("labels", {})
    ctx.keys(labels, {"classes", "mapping", "pool_classes"}, "[labels]")
    classes = labels.get("classes", "shared")
    if isinstance(classes, str):
        if classes not in ("shared", "all"):
            ctx.fail(
                "[labels] classes",
                f'must be "shared", "all" or a list of emotion names, got {classes!r}.',
            )
    else:
        classes = _str_list(ctx, classes, "[labels] classes")
        _listed_once(
            ctx,
            classes,
            "[labels] classes",
            "a class is kept or not, a second mention is a typo or a mapping "
            "that belongs in [labels] mapping.",
        )
        if len(set(classes)) < 2:
            ctx.fail("[labels] classes", "list at least two distinct classes.")
    pool_classes = labels.get("pool_classes", "intersection")
    if pool_classes not in POOL_CLASSES:
        ctx.fail(
            "[labels] pool_classes",
            f'must be "intersection" (a pooled source keeps the classes every '
            f'corpus of the pool has; the default) or "union" (those any corpus '
            f"of the pool has), got {pool_classes!r}.",
        )
    if pool_classes == "union" and classes == "shared":
        ctx.fail(
            "[labels] pool_classes",
            '"union" keeps a class that some corpora of a pool lack, but '
            'classes = "shared" keeps only the classes every corpus has, so no '
            'pool could lack one: set [labels] classes = "all" (each pair then '
            "keeps the classes its target shares with its pool) or a list of "
            "classes.",
        )
    mapping = labels.get("mapping", {})
    ctx.typed(mapping, dict, "[labels] mapping", 'a table like { calm = "neutral" }')
    for k, v in mapping.items():
        ctx.typed(v, str, f"[labels] mapping {k}", "a class name string")
    if mapping:  # what the readers declare now; csv/folders once they are read
        try:
            check_mapping(
                mapping,
                classes,
                {n: declared_emotions(s.reader) for n, s in corpora.items()},
            )
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None

    matrix = raw.get("matrix", {})
    ctx.keys(matrix, {"sources", "targets"}, "[matrix]")
    names = list(corpora)

    def corpus_list(value, where, nested, what="a list of corpus names"):
        ctx.typed(value, list, where, what)
        out = []
        seen = {}  # an entry's corpora as a set (a pool's order does not matter)
        for v in value:
            group = v if (nested and isinstance(v, list)) else [v]
            if not group:
                ctx.fail(where, "a group of pooled corpora lists at least one name.")
            for g in group:
                ctx.typed(g, str, where, "a list of corpus names")
                if g not in corpora:
                    hint = (
                        f' (for every other corpus pooled, write sources = "{g}", '
                        "not inside a list)"
                        if nested and g == LEAVE_ONE_OUT
                        else ""
                    )
                    ctx.fail(
                        where,
                        f"unknown corpus {g!r}{hint}; defined: {', '.join(names)}.",
                    )
            twice = sorted({g for g in group if group.count(g) > 1})
            if twice:
                once = list(dict.fromkeys(group))
                ctx.fail(
                    where,
                    f"the pool {group!r} lists {', '.join(map(repr, twice))} "
                    "more than once: each corpus of a pool is a source domain "
                    "of its own, so a repeated one would be trained on twice "
                    f"under two domain ids. List each corpus once: {once!r}.",
                )
            key = frozenset(group)
            if key in seen:
                first = seen[key]
                if first == v:
                    same = f"lists {v!r} twice"
                elif len(group) > 1:
                    same = (
                        f"lists {first!r} and {v!r}, which pool the same corpora "
                        "(the order of a pool does not matter)"
                    )
                else:
                    same = f"lists {first!r} and {v!r}, which are the same source"
                entry = "source (or pool)" if nested else "target"
                ctx.fail(
                    where,
                    f"{same}: both would run the same pairs. List each {entry} once.",
                )
            seen[key] = v
            out.append(tuple(group) if nested else group[0])
        return out

    targets = corpus_list(matrix.get("targets", names), "[matrix] targets", False)
    sources = matrix.get("sources", names)
    if isinstance(sources, str):
        sources = _leave_one_out(ctx, sources, names, targets)
    sources = corpus_list(
        sources,
        "[matrix] sources",
        True,
        f'a list of corpus names or "{LEAVE_ONE_OUT}"',
    )

    feats = raw.get("features", {})
    ctx.keys(feats, {"set", "cache_dir", "n_jobs", "params"}, "[features]")
    fspec = FeatureSpec(
        set=ctx.typed(
            feats.get("set", "functionals"), str, "[features] set", "a string"
        ),
        cache_dir=resolve(feats["cache_dir"], "[features] cache_dir")
        if "cache_dir" in feats
        else None,
        n_jobs=ctx.typed(
            feats.get("n_jobs", 1), int, "[features] n_jobs", "an integer"
        ),
        params=ctx.typed(feats.get("params", {}), dict, "[features] params", "a table"),
    )
    blocked = file_in_the_way(fspec.cache_dir) if fspec.cache_dir else None
    if blocked:  # the extraction would go on without a cache, every run
        ctx.fail(
            "[features] cache_dir",
            f"{fspec.cache_dir} {blocked[1]}, not a folder; give a folder for the "
            "feature cache (a new one is made), or remove cache_dir to extract "
            "without a cache.",
        )
    # AudioFeatures arguments that fields of [features] (or the command line)
    # set: a value in params would be replaced without a word
    owned = {
        "feature_set": 'set = "..." in [features]',
        "n_jobs": "n_jobs = ... in [features]",
        "cache_dir": 'cache_dir = "..." in [features]',
        "client": "--scheduler or --workers on the command line",
    }
    for key, instead in owned.items():
        if key in fspec.params:
            ctx.fail(
                f"[features] params {key}",
                f"is set by {instead}, which would replace this value; "
                "write it there and remove it from params.",
            )
    if fspec.set == "logmel":
        ctx.fail(
            "[features] set",
            '"logmel" gives a sequence of frames per file (an input of '
            "sertl-neural networks), but an experiment needs one feature vector "
            f"per file: use {' or '.join(map(repr, FEATURE_SETS))}.",
        )
    if fspec.set not in FEATURE_SETS:
        close = difflib.get_close_matches(fspec.set, FEATURE_SETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        ctx.fail(
            "[features] set",
            f"unknown feature set {fspec.set!r}.{hint} Use "
            f"{' or '.join(map(repr, FEATURE_SETS))}.",
        )
    if fspec.n_jobs == 0:
        ctx.fail(
            "[features] n_jobs", "must be a positive number of processes or -1 (all)."
        )

    prot = raw.get("protocol", {})
    ctx.keys(
        prot,
        {
            "target",
            "k",
            "seeds",
            "metric",
            "bootstrap",
            "confidence",
            "test_speaker_fraction",
            "selection_splits",
            "bootstrap_unit",
        },
        "[protocol]",
    )
    target = prot.get("target", "unlabelled")
    if target not in ("unlabelled", "unlabeled", "few_shot"):
        ctx.fail(
            "[protocol] target", f'must be "unlabelled" or "few_shot", got {target!r}.'
        )
    target = "unlabelled" if target == "unlabeled" else target
    k = ctx.typed(prot.get("k", 0), int, "[protocol] k", "an integer")
    if target == "few_shot" and k < 2:
        ctx.fail(
            "[protocol] k",
            f"few_shot needs k >= 2 labelled target utterances per class, got {k}: "
            "model selection and the negative-transfer guard score held-out "
            "labelled target rows, half of each class's, and one row per class "
            "leaves none to hold out.",
        )
    if target == "unlabelled" and k:
        ctx.fail("[protocol] k", 'k is used only with target = "few_shot".')
    if target == "unlabelled" and "test_speaker_fraction" in prot:
        # every target speaker is tested without target labels
        ctx.fail(
            "[protocol] test_speaker_fraction",
            'is used only with target = "few_shot" (without target labels every '
            'target speaker is tested); remove it, or set target = "few_shot" '
            "and k.",
        )
    seeds = prot.get("seeds", [0])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    ctx.typed(seeds, list, "[protocol] seeds", "a list of integers")
    if not seeds:
        ctx.fail("[protocol] seeds", "list at least one seed.")
    for s in seeds:
        ctx.typed(s, int, "[protocol] seeds", "a list of integers")
        problem = seed_problem(s)
        if problem:
            ctx.fail("[protocol] seeds", f"seeds {problem}")
    _listed_once(
        ctx,
        seeds,
        "[protocol] seeds",
        "a repeated seed computes the same cells again and counts them twice in "
        "the means.",
        kind="seed",
    )
    metric = prot.get("metric", "uar")
    if metric not in ("uar", "wa", "macro_f1"):
        ctx.fail(
            "[protocol] metric", f'must be "uar", "wa" or "macro_f1", got {metric!r}.'
        )
    boot = ctx.typed(
        prot.get("bootstrap", 1000), int, "[protocol] bootstrap", "an integer"
    )
    if boot < 0:
        ctx.fail("[protocol] bootstrap", f"must be >= 0 resamples, got {boot}.")
    conf = ctx.typed(
        prot.get("confidence", 0.95), (int, float), "[protocol] confidence", "a number"
    )
    if not 0 < conf < 1:
        ctx.fail("[protocol] confidence", f"must be between 0 and 1, got {conf}.")
    frac = ctx.typed(
        prot.get("test_speaker_fraction", 0.5),
        (int, float),
        "[protocol] test_speaker_fraction",
        "a number",
    )
    if not 0 < frac < 1:
        ctx.fail(
            "[protocol] test_speaker_fraction", f"must be between 0 and 1, got {frac}."
        )
    splits = ctx.typed(
        prot.get("selection_splits", 3),
        int,
        "[protocol] selection_splits",
        "an integer",
    )
    if splits < 1:
        ctx.fail("[protocol] selection_splits", f"must be >= 1, got {splits}.")
    unit = prot.get("bootstrap_unit", "utterance")
    if unit not in BOOTSTRAP_UNITS:
        ctx.fail(
            "[protocol] bootstrap_unit",
            f'must be "utterance" (resample the test utterances within each class) '
            f'or "speaker" (resample the test speakers), got {unit!r}.',
        )
    protocol = ProtocolSpec(
        target, k, list(seeds), metric, boot, float(conf), float(frac), splits, unit
    )

    clf = raw.get("classifier", {})
    ctx.keys(clf, {"name", "params"}, "[classifier]")
    clf_name = clf.get("name", "svc")
    if clf_name not in CLASSIFIERS:
        ctx.fail(
            "[classifier] name",
            f"must be one of {', '.join(CLASSIFIERS)}, got {clf_name!r}.",
        )
    clf_params = ctx.typed(
        clf.get("params", {}), dict, "[classifier] params", "a table"
    )

    methods_raw = raw.get("methods")
    if not methods_raw:
        ctx.fail(
            "[[methods]]", 'list at least one method, e.g. [[methods]] name = "dss".'
        )
    ctx.typed(methods_raw, list, "[[methods]]", "an array of tables ([[methods]])")
    methods, seen = [], set()
    for i, m in enumerate(methods_raw):
        where = f"[[methods]] #{i + 1}"
        ctx.keys(
            m,
            {
                "name",
                "method",
                "scaling",
                "adapter",
                "estimator",
                "params",
                "grid",
                "candidates",
                "scorers",
            },
            where,
        )
        mname = m.get("name")
        if mname is None:
            ctx.fail(f"{where} name", "missing: give each method a short unique name.")
        ctx.typed(mname, str, f"{where} name", "a string")
        if not _NAME_RE.fullmatch(mname):
            ctx.fail(f"{where} name", "use letters, digits, _ . + - only.")
        if mname in seen:
            ctx.fail(f"{where} name", f"duplicate method name {mname!r}.")
        _differ_in_case_only(ctx, mname, seen, f"{where} name", "method")
        seen.add(mname)
        where = f"[[methods]] {mname}"
        method = m.get("method")
        if method not in (None, "auto"):
            ctx.fail(
                f"{where} method",
                f'only "auto" is allowed here, got {method!r}; '
                "name adapters with adapter = ... and estimators with estimator = ....",
            )
        scaling = m.get("scaling", "domain")
        if scaling not in SCALINGS:
            ctx.fail(
                f"{where} scaling",
                f"must be one of {', '.join(SCALINGS)}, got {scaling!r}.",
            )
        adapters = _str_list(ctx, m.get("adapter", []), f"{where} adapter")
        adapters = [a for a in adapters if a not in ("none", "passthrough")]
        _listed_once(
            ctx,
            adapters,
            f"{where} adapter",
            "each adapter is one step of the method's pipeline, named after it "
            "(params and grid name it), so a step can appear once.",
            kind="adapter",
        )
        estimator = ctx.typed(
            m.get("estimator", "source_only"),
            str,
            f"{where} estimator",
            "a registry name string",
        )
        # what auto would ignore first: checking its params' steps first sent
        # the user to fix a field that auto then refused altogether
        if method == "auto" and (adapters or m.get("grid")):
            ctx.fail(
                f"{where} method",
                'method = "auto" chooses its own adapters; remove '
                "adapter and grid (restrict the choice with candidates = [...]).",
            )
        ignored = [k for k in ("scaling", "estimator", "params") if k in m]
        if method == "auto" and ignored:
            ctx.fail(
                f"{where} {ignored[0]}",
                'method = "auto" takes its candidates\' own settings and would '
                f"ignore {', '.join(ignored)}: remove them, or define a method "
                "with them and name it in candidates = [...].",
            )
        for field_, names in (("adapter", adapters), ("estimator", [estimator])):
            for step in names:
                if is_step_name(step):
                    ctx.fail(f"{where} {field_}", reserved_step_message(step))
        params = ctx.typed(
            m.get("params", {}),
            dict,
            f"{where} params",
            "a table of step tables, e.g. { coral = { reg = 1.0 } }",
        )
        steps = set(adapters) | {estimator, "classifier", "scale"}
        for step, p in params.items():
            if step not in steps:
                ctx.fail(
                    f"{where} params {step}",
                    f"no such step; steps are {', '.join(sorted(steps))}.",
                )
            ctx.typed(p, dict, f"{where} params {step}", "a table of parameters")
        grid = ctx.typed(
            m.get("grid", {}),
            dict,
            f"{where} grid",
            'a table like { "coral__reg" = [0.1, 1.0] }',
        )
        for key, values in grid.items():
            step = key.split("__", 1)[0]
            if "__" not in key or step not in steps:
                ctx.fail(
                    f"{where} grid {key}",
                    "keys are STEP__PARAM with STEP one of "
                    f"{', '.join(sorted(steps))}.",
                )
            ctx.typed(values, list, f"{where} grid {key}", "a non-empty list of values")
            if not values:
                ctx.fail(f"{where} grid {key}", "a non-empty list of values.")
        candidates = m.get("candidates")
        if candidates is not None:
            candidates = _str_list(ctx, candidates, f"{where} candidates")
            _listed_once(
                ctx,
                candidates,
                f"{where} candidates",
                "a repeated candidate is fitted and scored again, for nothing.",
            )
            if not candidates:
                ctx.fail(
                    f"{where} candidates",
                    "list at least one candidate, or remove candidates to "
                    "choose among the installed methods.",
                )
        scorers = _str_list(
            ctx, m.get("scorers", ["reverse_validation"]), f"{where} scorers"
        )
        _listed_once(
            ctx,
            scorers,
            f"{where} scorers",
            "candidates are ranked by their mean rank over the scorers, so a "
            "repeated scorer would silently count twice in that mean.",
        )
        if not scorers:
            ctx.fail(
                f"{where} scorers",
                'list at least one scorer, e.g. ["reverse_validation"].',
            )
        few_shot = protocol.target == "few_shot"
        if not few_shot and "target" in scorers:
            ctx.fail(
                f"{where} scorers",
                "'target' scores held-out labelled target rows, which only "
                '[protocol] target = "few_shot" has; set it (and k), or choose '
                'label-free scorers, e.g. ["reverse_validation"].',
            )
        if few_shot and "scorers" in m and set(scorers) != {"target"}:
            # selection, auto and the guard score UAR on labelled target rows
            ctx.fail(
                f"{where} scorers",
                'with [protocol] target = "few_shot" selection scores UAR on '
                "held-out labelled target rows (scorer target), not label-free "
                f"scorers, so {scorers!r} would be ignored; remove scorers, or "
                'select without target labels (target = "unlabelled").',
            )
        if method != "auto" and candidates is not None:
            ctx.fail(
                f"{where} candidates",
                'only method = "auto" chooses among candidates: add '
                'method = "auto", or remove candidates.',
            )
        methods.append(
            MethodSpec(
                mname,
                scaling,
                adapters,
                estimator,
                params,
                grid,
                method == "auto",
                candidates,
                scorers,
            )
        )
    auto_names = {m.name for m in methods if m.auto}
    for m in methods:
        for c in m.candidates or []:
            if c in auto_names:
                ctx.fail(f"[[methods]] {m.name} candidates", f"{c!r} is itself auto.")
    save_models = ctx.typed(
        raw.get("save_models", False), bool, "save_models", "true or false"
    )
    pca_points = ctx.typed(raw.get("pca_points", 300), int, "pca_points", "an integer")
    if pca_points < 1:
        ctx.fail("pca_points", f"must be >= 1 point per domain, got {pca_points}.")
    if not any(t not in s for s in sources for t in targets):
        ctx.fail(
            "[matrix]",
            "no source/target pair: define at least two corpora and list, in "
            "sources and targets, corpora that differ "
            f"(sources {[list(s) for s in sources]}, targets {targets}).",
        )
    return ExperimentConfig(
        name=name,
        output=output,
        corpora=corpora,
        sources=sources,
        targets=targets,
        methods=methods,
        classes=classes,
        pool_classes=pool_classes,
        mapping=dict(mapping),
        features=fspec,
        protocol=protocol,
        classifier=clf_name,
        classifier_params=dict(clf_params),
        save_models=save_models,
        pca_points=pca_points,
        source_file=Path(origin) if origin != "<config>" else None,
    )


def declared_emotions(reader):
    """Return the emotions a corpus reader declares, or None when unknown.

    Readers of the official corpora declare theirs (``EmoDB.emotions``);
    the ``csv`` and ``folders`` readers, and unknown reader names, only
    know them once the corpus is read: None.

    Examples
    --------
    >>> from sertl_experiments._config import declared_emotions
    >>> "boredom" in declared_emotions("emodb")
    True
    >>> declared_emotions("csv") is None
    True
    """
    try:
        from sertl_speech import get_reader_class

        emotions = getattr(get_reader_class(reader), "emotions", ())
    except Exception:  # an unknown reader is reported when the corpus is read
        return None
    return set(map(str, emotions)) or None


def check_mapping(mapping, classes, emotions, originals=None):
    """Check ``[labels] mapping`` against the corpora's emotions.

    A key must be an emotion of a configured corpus, or a label as a
    ``csv`` or ``folders`` corpus writes it (a folder ``angry`` that the
    reader reads as ``anger``; see ``originals``), in any case (``Anger``
    is the emotion ``anger``, as :func:`sertl_speech.map_emotions`, which
    renames the rows, compares them): a key no corpus has
    would rename nothing, and the emotion meant would be dropped. A value
    must be a known emotion: one of the emotion schema of sertl-speech, of
    the ``[labels] classes`` list, or a label of a corpus.

    Parameters
    ----------
    mapping : dict of str to str
        The label renaming.
    classes : "shared", "all" or list of str
        ``[labels] classes``.
    emotions : dict of str to set of str or None
        Emotions of each configured corpus; None where not known yet (a
        ``csv`` or ``folders`` corpus not read yet): what a check would
        need from such a corpus is then left to the check after reading.
    originals : dict of str to set of str, default=None
        The labels as written in each ``csv`` or ``folders`` corpus read
        (its ``emotion_orig``, e.g. the folder names), which the reader
        may have renamed to canonical emotions; a key among them is
        accepted (see :func:`sertl_speech.map_emotions`).

    Raises
    ------
    ConfigError
        ``"[labels] mapping KEY: ..."`` with a "Did you mean" suggestion.

    Examples
    --------
    >>> from sertl_experiments._config import ConfigError, check_mapping
    >>> try:
    ...     check_mapping({"clam": "neutral"}, "shared",
    ...                   {"a": {"calm", "neutral"}, "b": {"neutral"}})
    ... except ConfigError as err:
    ...     print(str(err).split(" The ")[0])
    [labels] mapping clam: no corpus has the emotion 'clam'. Did you mean 'calm'?
    """
    try:
        from sertl_speech import EMOTIONS
    except ImportError:  # pragma: no cover - sertl-speech is a dependency
        EMOTIONS = ()
    if any(e is None for e in emotions.values()):
        return  # a corpus's emotions are not known yet: checked after reading
    found = set().union(*emotions.values())
    listed = list(classes) if isinstance(classes, list) else []
    known = set(EMOTIONS) | set(listed) | found

    def hint(word, among):
        close = difflib.get_close_matches(word, sorted(among), n=1)
        return f" Did you mean {close[0]!r}?" if close else ""

    written = set().union(*(originals or {}).values())
    written |= {label_key(emotion) for emotion in found}
    for key, value in mapping.items():
        where = f"[labels] mapping {key}"
        if key not in found and label_key(key) not in written:
            have = "; ".join(
                f"{n}: {', '.join(sorted(e))}" for n, e in emotions.items()
            )
            raise ConfigError(
                f"{where}: no corpus has the emotion {key!r}.{hint(key, found)} "
                f"The corpora's emotions are {have}. Keys of the mapping are "
                "emotions as the readers name them, or labels as a csv or "
                "folders corpus writes them (folder names, the CSV's labels)."
            )
        if value not in known:
            among = (
                "the emotions of sertl-speech"
                + (" and of [labels] classes" if listed else "")
                + (" and the corpora's labels" if found - set(EMOTIONS) else "")
            )
            raise ConfigError(
                f"{where}: {value!r} is not a known emotion.{hint(value, known)} "
                f"Map onto one of {among}: {', '.join(sorted(known))}."
            )


def check_params(estimator, where):
    """Validate a step's parameter values as its ``fit`` would.

    A bad value then stops the run before any feature is extracted, with
    one message naming the config field ``where``.

    Parameters
    ----------
    estimator : estimator object
        The step; estimators without ``_parameter_constraints`` are skipped.
    where : str
        The config field that set its parameters, e.g. ``"[features]"``.

    Raises
    ------
    ConfigError
        ``"<where>: <scikit-learn's message>"``.

    Examples
    --------
    >>> from sklearn.svm import SVC
    >>> from sertl_experiments._config import ConfigError, check_params
    >>> try:
    ...     check_params(SVC(C=-1), "[classifier] params")
    ... except ConfigError as err:
    ...     print(str(err).split(" must ")[0])
    [classifier] params: The 'C' parameter of SVC
    """
    if hasattr(type(estimator), "_parameter_constraints"):
        try:
            estimator._validate_params()
        except ValueError as exc:  # sklearn's InvalidParameterError
            raise ConfigError(f"{where}: {exc}") from None
