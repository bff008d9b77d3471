"""Corpora and features of an experiment: read each table once, extract once."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sertl_core.emotions import label_key

from ._config import ConfigError, check_params, missing_reader, root_hint

__all__ = [
    "CorpusData",
    "ExperimentError",
    "extract_features",
    "load_corpus_table",
    "reader_skipped",
    "reader_warnings",
]

# distinct warnings of one reader listed in a run; the others are counted
_MAX_WARNINGS = 20


class ExperimentError(RuntimeError):
    """An input problem that stops an experiment (missing corpus, no data).

    Examples
    --------
    >>> import tempfile
    >>> from sertl_experiments import ExperimentError, parse_config, run_experiment
    >>> cfg = parse_config({"output": tempfile.mkdtemp(),
    ...                     "corpora": {"emodb": {"root": "no/such/EmoDB"},
    ...                                 "ravdess": {"root": "no/such/RAVDESS"}},
    ...                     "methods": [{"name": "dss"}]})
    >>> try:
    ...     run_experiment(cfg, progress=False, log=lambda *_: None)
    ... except ExperimentError as err:
    ...     print(str(err).split(";")[0])  # doctest: +ELLIPSIS
    [corpora.emodb] root: '/.../no/such/EmoDB' does not exist
    """


@dataclass
class CorpusData:
    """Features and metadata of one corpus (rows with features only).

    :func:`~sertl_experiments.run_experiment` builds one per corpus, or
    takes them ready-made through its ``data`` argument.

    Parameters
    ----------
    name : str
        Corpus name in the experiment.
    X : ndarray of shape (n_utterances, n_features)
        Acoustic features.
    y : ndarray of shape (n_utterances,)
        Emotion labels.
    speakers : ndarray of shape (n_utterances,)
        Speaker ids, prefixed with the corpus name (``"emodb:03"``).
    files : ndarray of shape (n_utterances,)
        Audio file of each row.
    skipped : list, default=[]
        Files that gave no features.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_experiments import CorpusData
    >>> rng = np.random.default_rng(0)
    >>> cd = CorpusData("emodb", X=rng.normal(size=(4, 3)),
    ...                 y=np.array(["anger", "sadness"] * 2),
    ...                 speakers=np.array(["emodb:03", "emodb:03", "emodb:08",
    ...                                    "emodb:08"]),
    ...                 files=np.array([f"{i}.wav" for i in range(4)]))
    >>> cd.X.shape, np.unique(cd.y).tolist(), cd.skipped
    ((4, 3), ['anger', 'sadness'], [])
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    speakers: np.ndarray
    files: np.ndarray
    skipped: list = field(default_factory=list)


def load_corpus_table(spec, classes=None):
    """Read one corpus through the speech plugin's reader.

    Parameters
    ----------
    spec : CorpusSpec
        Reader name, root and reader options.
    classes : list of str, default=None
        Canonical emotions to keep.

    Returns
    -------
    table : pandas.DataFrame
        Columns file, corpus, speaker, gender, language, emotion,
        emotion_orig, duration. ``table.attrs["skipped"]`` lists the files
        the reader skipped (names that break the corpus's naming rule, CSV
        rows without audio ...) as ``{"file": ..., "reason": ...}``
        dictionaries; :func:`reader_skipped` turns them into skipped-file
        entries of a run. ``table.attrs["warnings"]`` holds the reader's
        other warnings (duplicate utterances, labels that are not canonical
        emotions, a third-party reader's text ...) as ``{"warning": text,
        "count": n}`` dictionaries, identical texts once (with ``"labels"``
        too when the warning carries labels that are no canonical emotion,
        ``CorpusWarning.unknown_labels``); :func:`reader_warnings` reports
        them. A warning that carries its
        skipped files as data (``CorpusWarning.skipped``) is not among them:
        its files are in ``attrs["skipped"]``.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> from sertl_speech import sample_path
    >>> from sertl_experiments import parse_config
    >>> from sertl_experiments._data import load_corpus_table
    >>> root = Path(tempfile.mkdtemp()) / "EmoDB"
    >>> _ = shutil.copytree(sample_path("emodb"), root)
    >>> _ = shutil.copy(root / "wav" / "03a01Fa.flac", root / "wav" / "take2.flac")
    >>> cfg = parse_config({"corpora": {"emodb": {"root": str(root)},
    ...                                 "ravdess": {"root": "sample"}},
    ...                     "methods": [{"name": "dss"}]})
    >>> table = load_corpus_table(cfg.corpora["emodb"])
    >>> [(Path(s["file"]).name, s["reason"][:22]) for s in table.attrs["skipped"]]
    [('take2.flac', 'breaks the naming rule')]
    >>> table.attrs["warnings"]
    []
    >>> shutil.rmtree(root.parent)
    """
    options = dict(spec.options or {})
    if not Path(spec.root).exists():
        raise ExperimentError(
            f"{spec.label('root')}: {str(spec.root)!r} does not exist; give "
            f"{root_hint(spec.reader)}."
        )
    try:
        from sertl_speech import load_corpus
    except ImportError as exc:  # pragma: no cover - sertl-speech is a dependency
        raise ExperimentError(
            f"sertl-speech is needed to read corpora: {exc}"
        ) from None
    try:
        # the reader's warnings are not shown here: the files it skipped come
        # back as data and are reported with the files that give no features,
        # its other warnings through attrs["warnings"] (see reader_warnings)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = load_corpus(spec.reader, spec.root, **options)
    except LookupError as exc:
        if spec.reader_from_name:
            raise ConfigError(
                f"{spec.label('reader')}: {missing_reader(spec.name)}"
            ) from None
        raise ConfigError(f"{spec.label('reader')}: {exc}") from None
    except TypeError as exc:  # an option of the wrong type (names: parse_config)
        if not options:
            raise
        raise ConfigError(
            f"{spec.label('options')}: the reader {spec.reader!r} refused "
            f"{options}: {exc}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ExperimentError(
            f"{spec.label()}: cannot read {str(spec.root)!r} with reader "
            f"{spec.reader!r}: {exc}"
        ) from None
    skipped = table.attrs.get("skipped")
    if skipped is None:  # a third-party reader: what its warnings carry, if any
        skipped = [e for w in caught for e in getattr(w.message, "skipped", None) or []]
    if classes is not None:
        table = table[table["emotion"].isin(list(classes))]
    table = table.reset_index(drop=True)
    table.attrs["skipped"] = [
        {"file": str(e["file"]), "reason": str(e["reason"])} for e in skipped
    ]
    table.attrs["warnings"] = _grouped_warnings(caught)
    return table


def _grouped_warnings(caught):
    """Texts of the caught warnings with their counts, skipped-file ones left out.

    Deprecation warnings of the libraries a reader calls are left out too:
    they speak to the reader's developer, not to whoever runs the experiment.
    """
    entries: dict[str, dict] = {}
    for w in caught:
        if getattr(w.message, "skipped", None):  # listed with the skipped files
            continue
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
            continue
        text = str(w.message).strip() or w.category.__name__
        entry = entries.setdefault(text, {"warning": text, "count": 0})
        entry["count"] += 1
        # sertl-speech's warning on labels that are no canonical emotion
        # carries them as data (see mapped_labels_left_out)
        labels = getattr(w.message, "unknown_labels", None)
        if labels and all(isinstance(label, str) for label in labels):
            entry["labels"] = list(labels)
    return list(entries.values())


def written_labels(table):
    """Return the labels as a corpus writes them, and in the readers' lower case.

    The ``emotion_orig`` of a :func:`load_corpus_table` table (a ``folders``
    corpus's folder names, a ``csv`` corpus's labels), each as written and
    stripped in lower case (the ``csv`` and ``folders`` readers compare
    labels so): the keys of ``[labels] mapping`` that
    :func:`sertl_speech.map_emotions` matches there.

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_experiments._data import written_labels
    >>> sorted(written_labels(pd.DataFrame({"emotion_orig": ["Angry", "sad"]})))
    ['Angry', 'angry', 'sad']
    """
    if "emotion_orig" not in table:
        return set()
    raw = set(table["emotion_orig"].astype(str))
    return raw | {label_key(label) for label in raw}


def mapped_labels_left_out(table, mapping):
    """Leave the labels that ``[labels] mapping`` maps out of a reader's warning.

    The ``csv`` and ``folders`` readers warn about labels that are no
    canonical emotion and ask to rename them; a label the experiment's
    mapping renames needs no such advice. The warning is dropped from
    ``table.attrs["warnings"]`` when the mapping covers all its labels, and
    names only the others (saying which are mapped) when it covers some.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`load_corpus_table`; its ``attrs["warnings"]``
        is updated.
    mapping : dict of str to str
        ``[labels] mapping``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_experiments._data import mapped_labels_left_out
    >>> table = pd.DataFrame({"file": ["a.wav"]})
    >>> table.attrs["warnings"] = [{"warning": "csv: label(s) ['glad', 'relaxed'] "
    ...     "are not canonical emotions ['anger']; they are kept as written (lower "
    ...     "case) and have no arousal/valence coordinates. Rename them to use the "
    ...     "schema.", "count": 1, "labels": ["glad", "relaxed"]}]
    >>> mapped_labels_left_out(table, {"relaxed": "neutral"})
    >>> print(table.attrs["warnings"][0]["warning"].split(";")[0])
    csv: label(s) ['glad'] are not canonical emotions ['anger']
    >>> mapped_labels_left_out(table, {"glad": "happiness"})
    >>> table.attrs["warnings"]
    []
    """
    if not mapping:
        return
    kept = []
    for entry in table.attrs.get("warnings", ()):
        labels = entry.get("labels")
        if not labels:
            kept.append(entry)
            continue
        keys = {label_key(key) for key in mapping}
        rest = [label for label in labels if label_key(label) not in keys]
        if not rest:
            continue  # every label it names is mapped: nothing to rename
        if len(rest) < len(labels):
            mapped = ", ".join(repr(label) for label in labels if label not in rest)
            text = entry["warning"].replace(repr(labels), repr(rest), 1)
            # the reader's advice ends the text: replaced by the run's own
            head, found, _ = text.partition("Rename them to use the schema.")
            if found:
                text = (
                    f"{head}Map them with [labels] mapping, as it maps {mapped}, "
                    "or rename them."
                )
            entry = {**entry, "warning": text, "labels": rest}
        kept.append(entry)
    table.attrs["warnings"] = kept


def reader_skipped(table, name, skipped=None, log=None):
    """Report the files the reader of corpus ``name`` skipped.

    They join the files that give no features: the run's ``skipped`` list
    (hence results.md's and report.html's skipped files) and its log.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`load_corpus_table`.
    name : str
        Corpus name in the experiment.
    skipped : list, default=None
        The run's skipped-file entries; the new ones are appended.
    log : callable, default=None
        Called with one line per skipped file.

    Returns
    -------
    entries : list of dict
        ``{"corpus": name, "file": ..., "reason": ...}`` per skipped file.

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_experiments._data import reader_skipped
    >>> table = pd.DataFrame({"file": ["/c/wav/03a01Fa.wav"]})
    >>> table.attrs["skipped"] = [{"file": "/c/wav/x.wav", "reason": "bad name"}]
    >>> reader_skipped(table, "emodb", log=print)
    corpus emodb: 1 file skipped by the reader (see the reasons)
      skipped /c/wav/x.wav: bad name
    [{'corpus': 'emodb', 'file': '/c/wav/x.wav', 'reason': 'bad name'}]
    """
    entries = [
        {"corpus": name, "file": e["file"], "reason": e["reason"]}
        for e in table.attrs.get("skipped", ())
    ]
    if log is not None and entries:
        n = len(entries)
        log(
            f"corpus {name}: {n} file{'s' if n > 1 else ''} skipped by the reader "
            "(see the reasons)"
        )
        for e in entries:
            log(f"  skipped {e['file']}: {e['reason']}")
    if skipped is not None:
        skipped.extend(entries)
    return entries


def reader_warnings(table, name, collected=None, log=None):
    """Report what the reader of corpus ``name`` warned about, besides skipped files.

    Duplicate utterances, labels that are not canonical emotions, a
    third-party reader's warnings in plain text ...: each distinct text is
    logged once with the corpus name and joins the run's reader warnings
    (hence results.md's and report.html's "Reader warnings"), with the
    number of times the reader gave it. Past 20 distinct texts, the rest
    are counted in one entry.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`load_corpus_table`.
    name : str
        Corpus name in the experiment.
    collected : list, default=None
        The run's reader-warning entries; the new ones are appended.
    log : callable, default=None
        Called with one line per distinct warning.

    Returns
    -------
    entries : list of dict
        ``{"corpus": name, "warning": text, "times": n}`` per distinct text.

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_experiments._data import reader_warnings
    >>> table = pd.DataFrame({"file": ["/c/wav/03a01Fa.wav"]})
    >>> table.attrs["warnings"] = [{"warning": "label 'grumpy' kept", "count": 2}]
    >>> reader_warnings(table, "mine", log=print)
    corpus mine: reader warning (2 times): label 'grumpy' kept
    [{'corpus': 'mine', 'warning': "label 'grumpy' kept", 'times': 2}]
    """
    grouped = list(table.attrs.get("warnings", ()))
    entries = [
        {"corpus": name, "warning": e["warning"], "times": e["count"]}
        for e in grouped[:_MAX_WARNINGS]
    ]
    rest = grouped[_MAX_WARNINGS:]
    if rest:
        entries.append(
            {
                "corpus": name,
                "warning": f"... and {len(rest)} other warnings of the reader "
                "(not shown)",
                "times": sum(e["count"] for e in rest),
            }
        )
    if log is not None:
        for e in entries:
            times = f" ({e['times']} times)" if e["times"] > 1 else ""
            log(f"corpus {name}: reader warning{times}: {e['warning']}")
    if collected is not None:
        collected.extend(entries)
    return entries


def extract_features(files, feature_spec, *, client=None, progress=True, cautions=None):
    """Features of audio files through ``sertl_speech.AudioFeatures`` and its cache.

    Files that give no features (unreadable, silent, too short ...) are
    reported, not fatal.

    Parameters
    ----------
    files : list of str
        Audio files.
    feature_spec : FeatureSpec
        Feature set, cache folder, workers and extra parameters.
    client : distributed.Client, default=None
        Dask client to run the extraction on.
    progress : bool, default=True
        Show a progress bar.
    cautions : dict, default=None
        When given, filled with the cautions on files that gave features
        (index in ``files`` to a list of str), those ``sertl predict`` gives
        on a file it labels (``_predict.file_cautions``).

    Returns
    -------
    X : ndarray of shape (n_files, n_features)
        NaN rows for failed files.
    failed : list of (file, reason)
        The files that gave no features.
    """
    extractor = make_feature_step(
        feature_spec, client=client, progress=progress, errors="nan"
    )
    X = np.asarray(extractor.fit_transform(list(files)), dtype=float)
    if cautions is not None:
        from ._predict import file_cautions

        cautions.update(file_cautions(files, X, extractor))
    failed = []
    table = getattr(extractor, "failed_", None)
    if table is not None and len(table):
        for _, row in table.iterrows():
            failed.append((str(row["item"]), f"{row['reason']}: {row['message']}"))
    bad = ~np.all(np.isfinite(X), axis=1)
    known = {f for f, _ in failed}
    for i in np.flatnonzero(bad):
        if str(files[i]) not in known:
            failed.append((str(files[i]), "non-finite features"))
    return X, failed


def make_feature_step(feature_spec, *, client=None, progress=False, errors="raise"):
    """Return the ``AudioFeatures`` transformer of an experiment.

    ``errors`` is the step's policy for inputs that give no features, unless
    the experiment's ``[features] params`` set one. The default,
    ``"raise"``, is the one for the first step of a saved model: called
    directly (``model.predict(files)``), it raises ``FeatureExtractionError``
    naming the files and their reasons instead of passing NaN rows on to a
    scaler that rejects them without a name. Extraction for training
    (:func:`extract_features`) passes ``"nan"`` and reports the failures
    itself, as :func:`~sertl_experiments.predict_files` does for new files.
    """
    from sertl_core import RegistryError, get_registry

    params = dict(feature_spec.params)
    params.update(feature_set=feature_spec.set, n_jobs=feature_spec.n_jobs)
    if feature_spec.cache_dir is not None:
        params["cache_dir"] = str(feature_spec.cache_dir)
    if client is not None:
        params["client"] = client
    params.setdefault("progress", progress)
    params.setdefault("errors", errors)
    try:
        step = get_registry().create("features", "audio_features", **params)
    except RegistryError as exc:  # only params can name an argument it lacks
        raise ConfigError(f"[features] params: {exc}") from None
    check_params(step, "[features]")  # e.g. a misspelt set, before extraction
    return step
