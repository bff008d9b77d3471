"""The ``sertl run``, ``sertl grid``, ``sertl predict`` and ``sertl demo`` commands."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from sertl_core.cli import _product, _work

from ._config import (
    ConfigError,
    FeatureSpec,
    file_in_the_way,
    load_config,
    parse_config,
    seed_problem,
)
from ._data import ExperimentError
from ._persist import UntrustedModelError

__all__ = ["add_commands", "cmd_demo", "cmd_grid", "cmd_predict", "cmd_run", "main"]

_INPUT_ERRORS = (
    ConfigError,
    ExperimentError,
    UntrustedModelError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    FileExistsError,
)

# A disk that fills (or turns read-only) while a command writes: no input
# problem, but no bug either; one message, not a traceback
_DISK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS")
    if hasattr(errno, name)
)


def _guard(name, func, args):
    """Run a command; input problems become one message and exit code 2."""
    from sertl_core import RegistryError
    from sertl_core.cli import StoppedBySignal, stop_signals

    try:
        # SIGTERM and SIGHUP (a job scheduler's time limit, a closed
        # terminal) stop the command as Ctrl-C does: every cleanup runs
        # (sertl's main does this too; here for `python -m sertl_experiments`)
        with stop_signals():
            code = func(args)
        # buffered output to a pipe is written here, not at exit, where
        # Python could only warn (under sertl_core.cli._with_output, which
        # both `sertl` and `python -m sertl_experiments` run the command in,
        # a failure is its _OutputError, told there); the command's output,
        # not sys.stdout, which leads to stderr while it works
        _product().flush()
        return code
    except (*_INPUT_ERRORS, RegistryError) as exc:
        from ._persist import _printable

        # a message can quote a label or a type name read from a file
        print(f"sertl {name}: error: {_printable(exc, keep=chr(10))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # Ctrl-C (130), or SIGTERM/SIGHUP (128 + the signal's number)
        stop = exc if isinstance(exc, StoppedBySignal) else None
        what = str(stop) if stop is not None else "interrupted"
        if name == "predict":  # labels are printed at the end: none came out
            print(f"sertl {name}: {what}; no file was labelled.", file=sys.stderr)
        else:
            print(
                f"sertl {name}: {what}; finished work is kept, {_how(args)}",
                file=sys.stderr,
            )
        return stop.exit_code if stop is not None else 130
    except BrokenPipeError:
        # the reader of the output went away (`sertl predict ... | head`)
        # where the command runs without sertl_core.cli._with_output (its
        # function called directly): stop quietly, and keep Python's flush
        # at exit from failing again
        from sertl_core.cli import _stdout_to_devnull

        _stdout_to_devnull()
        return 1
    except OSError as exc:  # after BrokenPipeError, one of them
        if exc.errno not in _DISK_ERRNOS:
            raise
        from ._persist import _printable

        # sertl run writes each cell as it finishes, each output file whole
        kept = "" if name == "predict" else f"; finished work is kept, {_how(args)}"
        print(
            f"sertl {name}: error: {_printable(exc)}. Free space there (or give "
            f"another folder){kept}",
            file=sys.stderr,
        )
        return 2


def _how(args):
    """How to resume a stopped command: its finished work is kept."""
    if getattr(args, "fresh", False):
        # the same command would delete the cells this run finished
        return (
            "rerun the command without --fresh to resume (with --fresh it "
            "deletes them and starts again)."
        )
    return "rerun the same command to resume."


_GRID_METHODS = "no_adaptation,dss,coral,tca"

# sertl grid --help: reader options are an experiment file's, not options'
_GRID_CORPORA_NOTE = (
    "--source and --target give a corpus by its reader and root alone, and "
    "name it after the reader (READER-LASTPARTOFROOT where one reader reads "
    "several of them). A reader's options (the csv reader's delimiter, "
    "encoding, columns, or labelled = false for recordings without labels, an "
    "unlabelled target) and corpus names of your own are set in an experiment "
    "file, which sertl grid takes in their place: [corpora.mine] reader = "
    '"csv" root = "target.csv" options = { delimiter = ";", labelled = false } '
    "(see [corpora.NAME] in the sertl-experiments README)."
)
_GRID_CLASSES = "anger,happiness,neutral,sadness"

# ``sertl grid`` options that an experiment file replaces, and where it sets them
_GRID_FILE_FIELDS = {
    "source": ("--source", "[corpora] and [matrix] sources"),
    "target": ("--target", "[corpora] and [matrix] targets"),
    "methods": ("--methods", "[[methods]]"),
    "param": ("--param", "[[methods]] grid"),
    "few_shot": ("--few-shot", '[protocol] target = "few_shot" and k'),
    "classes": ("--classes", "[labels] classes"),
    "features": ("--features", "[features] set"),
    "cache_dir": ("--cache-dir", "[features] cache_dir"),
}

# experiment fields that shape only ``sertl run``'s results and report
_RUN_ONLY_FIELDS = (
    ("output", None),
    ("pca_points", None),
    ("metric", "protocol"),
    ("bootstrap", "protocol"),
    ("confidence", "protocol"),
    ("bootstrap_unit", "protocol"),
)


def _dask_args(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster (e.g. tcp://host:8786)",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start a local Dask cluster with N worker processes",
    )


def add_commands(subparsers):
    """Add the plugin's sub-commands to an argparse sub-parser collection.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="sertl")
    >>> add_commands(parser.add_subparsers())
    >>> parser.parse_args(["predict", "m.skops", "a.wav", "--json"]).json
    True
    """
    p = subparsers.add_parser(
        "run",
        help="run an experiment matrix from a TOML file",
        description="Run sources x targets x methods from a TOML "
        "experiment file; writes results.csv, results.md, "
        "report.html and plots. An interrupted run resumes.",
        epilog="exit status: 0 every cell finished; 1 some cells failed (their "
        "errors are in results.md and report.html; the finished cells are kept "
        "and a rerun without --fresh computes the failed ones again); 2 the "
        "experiment could not start (an invalid file, a missing corpus ...: one "
        "message naming the field) or could not write its outputs (a full disk: "
        "the finished cells are kept); 130 interrupted (Ctrl-C), 143 stopped by "
        "SIGTERM (a job's time limit), 129 by SIGHUP (a closed terminal): the "
        "finished cells are kept and the same command resumes.",
    )
    p.add_argument("experiment", help="experiment TOML file (see examples/*.toml)")
    p.add_argument("--output", "-o", help="output folder (overrides the file's output)")
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="cells in parallel (joblib): N >= 1 processes, or -1 for one per CPU core",
    )
    p.add_argument("--fresh", action="store_true", help="recompute every cell")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (none either where stderr is not a terminal)",
    )
    _dask_args(p)
    p.set_defaults(func=lambda a: _guard("run", cmd_run, a))

    p = subparsers.add_parser(
        "grid",
        help="GridSearchCV across methods and parameters",
        description="Grid search across transfer methods and their parameters with "
        "domain-aware splitting and label-free (or few-shot) scoring.",
        epilog=_GRID_CORPORA_NOTE,
    )
    p.add_argument(
        "experiment",
        nargs="?",
        help="experiment TOML: its corpora, matrix, labels, features, classifier, "
        "protocol (target, k, test_speaker_fraction, seeds, selection_splits) "
        "and methods (grids, scorers; an auto method adds its candidates to the "
        "search). The corpus, method, class, feature and few-shot options "
        "below are then refused: set them in the file",
    )
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="READER=ROOT",
        help="source corpus (repeatable: several are trained on together, each "
        "its own source domain); ROOT 'sample' = the shipped sample. A reader "
        "given for several corpora (two folders or csv corpora) names each "
        "READER-LASTPARTOFROOT, e.g. folders-URDU; reader options: in an "
        "experiment file (below)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="READER=ROOT",
        help="target corpus (one; for several targets use an experiment file); "
        "reader options, such as a csv target without labels: in an experiment "
        "file (below)",
    )
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated: no_adaptation, dss, or adapter/estimator names "
        f"(default: {_GRID_METHODS}, those of them that are installed)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="STEP__PARAM=V1,V2",
        help="grid values, e.g. coral__reg=0.1,1,10 or classifier__C=1,10; "
        "repeatable: a parameter given twice searches the values of both "
        "(each once)",
    )
    p.add_argument(
        "--scorer",
        action="append",
        default=None,
        help="label-free scorer(s), repeatable: reverse_validation (default), "
        "importance_weighted, prediction_entropy, deep_embedded_validation; "
        "with an experiment file, replaces its methods' scorers. Not with a "
        "few-shot protocol, which scores UAR on held-out labelled target rows",
    )
    p.add_argument(
        "--few-shot",
        type=int,
        default=None,
        metavar="K",
        help="use K labelled target utterances per class (scored with UAR)",
    )
    p.add_argument(
        "--classes",
        default=None,
        help=f"comma-separated emotions to keep (default: {_GRID_CLASSES})",
    )
    p.add_argument(
        "--features",
        default=None,
        help="feature set: functionals (default) or mfcc_stats",
    )
    p.add_argument("--cache-dir", default=None, help="on-disk feature cache folder")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of splits and methods (default: 0, or each of the experiment "
        "file's [protocol] seeds)",
    )
    p.add_argument("--save", metavar="MODEL", help="save the best model (skops)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (none either with --json or where stderr is not "
        "a terminal)",
    )
    _dask_args(p)
    p.set_defaults(func=lambda a: _guard("grid", cmd_grid, a))

    p = subparsers.add_parser(
        "predict",
        help="label audio files with a saved model",
        description="Print the predicted emotion and the class "
        "probabilities of each audio file (folders are expanded into their "
        "audio files, by extension: the formats libsndfile reads, .wav, .flac, "
        ".mp3, .ogg, .opus, .aiff, .au, .caf ..., leaving out hidden files and "
        "folders, such as macOS's ._x.wav and .Trashes/; a folder with no audio "
        "files, or with other files skipped, gets a note on stderr, with "
        "--json in 'notes'). A file recorded below 16 kHz (band-limited) or "
        "longer than 30 s gets a note beside its label (--json: its "
        "'warnings'). Files are "
        "treated as audio of the model's target corpus (per-domain steps use "
        "its statistics); audio recorded elsewhere may all get one answer: "
        "for such audio pass --new-domain with the files of that setup (a "
        "batch of 5 or more files whose features lie far from the target "
        "corpus's gets a note saying so; --json: in 'notes').",
        epilog="exit status: 0 every file was labelled; 1 some files could not "
        "be (missing, unreadable, silent, too short ...: each is reported, with "
        "--json as a prediction with an error, and the others are labelled); 2 "
        "nothing was labelled because of the input (no audio file found, a "
        "model that cannot be loaded or is not trusted, too few files for "
        "--new-domain; with --json an object whose 'error' says why and "
        "whose 'predictions' is empty).",
    )
    p.add_argument(
        "model",
        help="model file (.skops) from sertl grid --save, sertl "
        "demo or sertl run with save_models = true",
    )
    p.add_argument("audio", nargs="+", help="audio files or folders")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--new-domain",
        action="store_true",
        help="the files come from one recording setup the model was not adapted "
        "to: per-domain steps use the statistics of these files (at least "
        "10 of them) instead of the model's target corpus",
    )
    p.add_argument(
        "--trust",
        action="extend",
        type=_type_names,
        default=[],
        metavar="TYPE[,TYPE...]",
        help="trust extra types in the model file (a third-party plugin's "
        "classes), by fully qualified name, e.g. my_plugin.MyAdapter; "
        "repeatable, or comma-separated: --trust A,B is --trust A --trust B",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="keep the features of the labelled files in this cache folder "
        "(and reuse them next time); by default none is read or written, the "
        "training run's cache folder named in the model included",
    )
    p.set_defaults(func=lambda a: _guard("predict", cmd_predict, a))

    p = subparsers.add_parser(
        "demo",
        help="cross-corpus demo on the shipped sample",
        description="EmoDB -> RAVDESS and back on the real sample "
        "shipped with sertl-speech, with several transfer methods; "
        "writes a report and a model.",
    )
    p.add_argument("--output", "-o", default="sertl-demo-output", help="output folder")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (none either where stderr is not a terminal)",
    )
    _dask_args(p)
    p.set_defaults(func=lambda a: _guard("demo", cmd_demo, a))


def _jobs(text):
    """``--jobs`` value: a number of processes >= 1, or -1 (one per CPU core).

    joblib reads 0 as an error and values below -1 as "all cores but some";
    refused here, before any feature is extracted.

    Examples
    --------
    >>> _jobs("4"), _jobs("-1")
    (4, -1)
    """
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer, got {text!r}."
        ) from None
    if n < 1 and n != -1:
        raise argparse.ArgumentTypeError(
            f"must be >= 1 (cells run in parallel), or -1 for one per CPU core; "
            f"got {n}. Leave --jobs out to run the cells one after another."
        )
    return n


def _type_names(text):
    """``--trust`` value: one or more type names, separated by commas.

    Type names (``package.module.Class``) never contain a comma, so ``A,B``
    trusts both; what is trusted and how is :func:`load_model`'s alone.
    """
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected fully qualified type names separated by commas, e.g. "
            f"my_plugin.MyAdapter,my_plugin.MyEstimator; got {text!r}, which has "
            "an empty name: remove the extra comma."
        )
    return names


def cmd_run(args):
    """``sertl run``: run an experiment file."""
    if args.output:
        from ._runner import check_output_folder

        check_output_folder(args.output, "--output")
    overrides = {"output": str(Path(args.output).resolve())} if args.output else None
    cfg = load_config(args.experiment, overrides=overrides)
    # the runner imports scikit-learn and every method (a second or more):
    # after the experiment file is read, so that a mistake in it is told at once
    from ._dask import dask_client
    from ._runner import run_experiment

    if args.fresh and (cfg.output / "cells").is_dir():
        for f in (cfg.output / "cells").glob("*.json"):
            f.unlink()
    t0 = time.perf_counter()
    with (
        _naming_file(args.experiment),
        dask_client(args.scheduler, args.workers) as client,
    ):
        res = run_experiment(
            cfg,
            client=client,
            progress=_progress(args),
            n_jobs=args.jobs,
            log=_log,
        )
    _print_summary(res, cfg, time.perf_counter() - t0)
    # a failed cell is a result that is missing: a script that runs the
    # experiment must not read it as complete
    return 1 if res.n_failed else 0


@contextlib.contextmanager
def _naming_file(path):
    """Prefix the experiment file to a field error found while running it.

    Fields checked only when the corpora are read (``[corpora.NAME] root``,
    ``[labels] classes``, ``[features]``) then name their file like the ones
    :func:`load_config` checks.
    """
    try:
        yield
    except (ConfigError, ExperimentError) as exc:
        if not path or not str(exc).startswith("["):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _progress(args):
    """Whether a command shows progress bars: on a terminal, without --no-progress.

    A progress bar redraws its line with a carriage return several times a
    second: in a log file, a CI job's log or a batch job's output that is
    thousands of fragments of one line. Where stderr is not a terminal the
    command's own log lines (the corpora read, the cells to compute, each
    failed cell) say how far it got.

    Examples
    --------
    >>> import argparse
    >>> _progress(argparse.Namespace(no_progress=True))
    False
    """
    if args.no_progress:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # None (pythonw), or closed
        return False


def _print_summary(res, cfg, seconds):
    df = res.results
    if not df.empty and (df["status"] == "ok").any():
        _print_means(df, cfg.protocol.metric)
    n_err = res.n_failed
    if n_err:
        print(
            f"{n_err} cell(s) failed; see results.md. The finished cells are kept: "
            "a rerun without --fresh computes only the failed ones again.",
            file=sys.stderr,
        )
    if res.skipped_files:
        print(
            f"{len(res.skipped_files)} file(s) were skipped (unreadable, or named "
            "against their corpus's naming rule); see the report.",
            file=sys.stderr,
        )
    if res.reader_warnings:
        print(
            f"the corpus readers gave {len(res.reader_warnings)} other warning(s) "
            "(logged above); see the report.",
            file=sys.stderr,
        )
    print(
        f"report: {res.report.resolve()}  ({seconds:.0f} s; "
        f"{res.n_computed} cells computed, "
        f"{res.n_reused} reused)",
        file=_product(),
    )


def _print_means(df, metric):
    """Print each method's mean, ranked over the pairs every method finished.

    The figures of results.md's summary (:func:`~sertl_experiments._report._summary`):
    a method that failed on some pair is not ranked on a mean over other
    pairs than the rest (its own mean and pair count follow in brackets);
    without a pair every method finished, each method's own mean is
    printed, not ranked.
    """
    from ._report import _NAMES, _summary, compared_cells, n_pairs

    name = _NAMES[metric]
    table, note = _summary(df, metric)
    mean, own = table[f"mean {name} %"], f"mean {name} % over its pairs"
    ok, common = compared_cells(df)
    if note is None:
        print(f"mean {name} over {n_pairs(ok)} pair(s):", file=_product())
        for m, v in mean.items():
            print(f"  {m:<24s} {v:5.1f} %", file=_product())
    elif own not in table:  # no pair finished by every method
        print(
            f"mean {name} over each method's own pairs (no pair was finished by "
            "every method: not comparable, not ranked):",
            file=_product(),
        )
        for m, v in mean.items():
            print(
                f"  {m:<24s} {v:5.1f} %  ({table.at[m, 'pairs']} pair(s))",
                file=_product(),
            )
    else:
        print(
            f"mean {name} over the {n_pairs(common)} pair(s) every method "
            f"finished, of {n_pairs(ok)} (in brackets: over all of a method's "
            "pairs):",
            file=_product(),
        )
        for m, v in mean.items():
            print(
                f"  {m:<24s} {v:5.1f} %  ({table.at[m, own]:.1f} % over "
                f"{table.at[m, 'pairs']} pair(s))",
                file=_product(),
            )


def _corpus_arg(text, what):
    if not text or "=" not in text:
        raise ConfigError(
            f"--{what}: expected READER=ROOT (e.g. emodb=/data/EmoDB or "
            f"emodb=sample), got {text!r}."
        )
    reader, root = text.split("=", 1)
    if root == "sample":
        from sertl_speech import sample_path

        try:
            root = str(sample_path(reader))
        except ValueError as exc:
            raise ConfigError(f"--{what}: {exc}") from None
    return reader, root


def _cli_corpus_names(given):
    """Name the corpora of ``sertl grid --source/--target``, each once.

    ``given`` lists ``(option, reader, root)`` in the order of the command
    line, the target last. A reader given once is named after itself (the
    pair ``emodb -> ravdess``); a reader given for several corpora (two
    ``folders`` or ``csv`` corpora, two copies of one corpus) names each
    after its reader and the last part of its root (``folders-URDU``,
    ``csv-mine``), numbered where those coincide. The same reader and root
    given twice is refused: it is one corpus.

    Examples
    --------
    >>> from sertl_experiments._cli import _cli_corpus_names
    >>> _cli_corpus_names([("--source a", "folders", "/d/URDU"),
    ...                    ("--source b", "emodb", "/d/EmoDB"),
    ...                    ("--target c", "folders", "/d/TurEV-DB")])
    ['folders-URDU', 'emodb', 'folders-TurEV-DB']
    """
    import re

    seen: dict = {}
    for i, (option, reader, root) in enumerate(given):
        key = (reader, str(Path(root).expanduser().resolve()))
        if key in seen:
            first = given[seen[key]][0]
            where = f"{reader} at {key[1]}"
            if i == len(given) - 1:
                raise ConfigError(
                    f"{option} names the corpus of {first} ({where}): a corpus "
                    "cannot be the target of its own sources; give another "
                    "target corpus."
                )
            raise ConfigError(
                f"{option} is given twice ({where}): each source corpus is one "
                "source domain; give it once."
            )
        seen[key] = i
    readers = [reader for _, reader, _ in given]
    names: list[str] = []
    for _, reader, root in given:
        if readers.count(reader) == 1:
            base = reader
        else:
            path = Path(root)
            part = path.stem if path.is_file() else path.name
            part = re.sub(r"[^A-Za-z0-9_.-]+", "_", part).strip("_.-") or "corpus"
            base = f"{reader}-{part}"
        name, n = base, 1
        # cell files and plots are named after corpora: unique ignoring case
        while name.casefold() in {m.casefold() for m in names}:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def _parse_value(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(v.lower(), v)


def cmd_grid(args):
    """``sertl grid``: grid search across methods for each source/target pair."""
    from ._dask import dask_client
    from ._data import make_feature_step
    from ._recipes import classifier_prefix, for_protocol
    from ._runner import (
        _in_part_note,
        _prepare_data,
        _restrict,
        _split,
        check_methods,
        check_recipe,
        classes_of_pair,
        left_out_classes,
        union_hint,
        unlabelled_corpora,
    )
    from ._selection import _recording_warnings, needs_proba, search, warning_kinds

    if args.seed is not None and seed_problem(args.seed):
        raise ConfigError(f"--seed: {seed_problem(args.seed)}")
    if args.few_shot is not None and args.few_shot < 2:
        raise ConfigError(
            f"--few-shot: K must be >= 2 labelled target utterances per class, got "
            f"{args.few_shot} (the search scores held-out labelled target rows, half "
            "of each class's); leave --few-shot out to select without target labels."
        )
    if args.experiment:
        given = [
            opt for key, (opt, _) in _GRID_FILE_FIELDS.items() if getattr(args, key)
        ]
        if given:
            where = "; ".join(
                f"{opt} by {field}"
                for opt, field in _GRID_FILE_FIELDS.values()
                if opt in given
            )
            raise ConfigError(
                f"{', '.join(given)}: not used with an experiment file, which sets "
                f"them itself ({where}). Edit {args.experiment}, or leave the "
                "file out and give corpora and methods on the command line."
            )
        cfg = load_config(args.experiment)
        check_methods(cfg, command="sertl grid")
        if cfg.save_models:
            raise ConfigError(
                f"{args.experiment}: save_models: sertl grid saves no model per pair "
                "and method; pass --save MODEL to save the best model of a "
                "single source/target pair, or run the experiment with sertl run."
            )
        recipes = _grid_recipes(cfg, args.experiment)
        scorers = args.scorer or _experiment_scorers(cfg, args.experiment)
        seeds = [args.seed] if args.seed is not None else list(cfg.protocol.seeds)
        unused = _run_only_fields(args.experiment)
        if unused:
            scores = (
                "the scores of each candidate on held-out labelled target rows "
                "(few-shot protocol)"
                if cfg.protocol.target == "few_shot"
                else "the label-free selection scores of each candidate"
            )
            _log(
                f"sertl grid: note: {args.experiment} sets {', '.join(unused)}: "
                "used by sertl run's test-set results and report only, not by "
                f"sertl grid, which reports {scores}."
            )
    else:
        if not args.source or not args.target:
            raise ConfigError(
                "sertl grid needs an experiment TOML or --source and --target."
            )
        if len(args.target) > 1:
            raise ConfigError(
                f"--target: give one target corpus, got {len(args.target)} ("
                + ", ".join(args.target)
                + "). To search several targets, list them in an experiment "
                "file ([corpora] and [matrix] targets) and pass it to sertl grid; "
                "or run sertl grid once per target."
            )
        given = [(f"--source {s}", *_corpus_arg(s, "source")) for s in args.source]
        target = args.target[0]
        given.append((f"--target {target}", *_corpus_arg(target, "target")))
        names = _cli_corpus_names(given)
        corpora = {
            n: {"reader": reader, "root": root}
            for n, (_, reader, root) in zip(names, given, strict=True)
        }
        options = {n: opt for n, (opt, _, _) in zip(names, given, strict=True)}
        sources, target_name = names[:-1], names[-1]
        features = {"set": args.features or "functionals"}
        if args.cache_dir:
            features["cache_dir"] = str(Path(args.cache_dir).resolve())
            blocked = file_in_the_way(features["cache_dir"])
            if blocked:  # the search would extract without a cache
                raise ConfigError(
                    f"--cache-dir: {features['cache_dir']} {blocked[1]}, not a "
                    "folder; give a folder for the feature cache (a new one is "
                    "made), or leave --cache-dir out to extract without a cache."
                )
        protocol = (
            {"target": "few_shot", "k": args.few_shot}
            if args.few_shot is not None
            else {}
        )
        classes = args.classes if args.classes is not None else _GRID_CLASSES
        classes = [c.strip() for c in classes.split(",") if c.strip()]
        if len(set(classes)) < 2:
            raise ConfigError(
                f"--classes: list at least two emotions separated by commas, got "
                f"{args.classes!r}."
            )
        raw = {
            "name": "grid",
            "corpora": corpora,
            "labels": {"classes": classes},
            "matrix": {"sources": [sources], "targets": [target_name]},
            "features": features,
            "protocol": protocol,
            "methods": [{"name": "unused"}],  # the search's come from --methods
        }
        try:
            cfg = parse_config(raw, origin="command line")
        except ConfigError as exc:  # a misspelt feature set, named as its option
            _, sep, why = str(exc).partition("[features] set: ")
            if not sep:
                raise
            raise ConfigError(f"--features: {why}") from None
        for cname, option in options.items():  # errors name the option
            cfg.corpora[cname].where = option
        try:  # a bad feature parameter, named as the option that set it
            make_feature_step(cfg.features)
        except ConfigError as exc:
            raise ConfigError(f"--features: {str(exc).split(': ', 1)[-1]}") from None
        recipes = _recipes_from_cli(args.methods or _default_grid_methods(), args.param)
        for r in recipes:
            check_recipe(
                r,
                cfg.classifier,
                cfg.classifier_params,
                params_where=lambda step, m=r.name: f"--methods {m}",
                grid_where=lambda key: f"--param {key}",
                adapter_where=f"--methods {r.name}",
                command="sertl grid",
            )
        scorers = args.scorer or ["reverse_validation"]
        seeds = [args.seed if args.seed is not None else 0]
    few_shot = cfg.protocol.target == "few_shot"
    # as sertl run fits them: under few-shot the default estimator learns
    # from the labelled target rows too
    recipes = [for_protocol(r, cfg.protocol.target) for r in recipes]
    if few_shot and args.scorer and set(args.scorer) != {"target"}:
        where = (
            "--few-shot" if not args.experiment else '[protocol] target = "few_shot"'
        )
        raise ConfigError(
            f"--scorer: with {where} the search scores UAR on held-out labelled "
            "target rows, not label-free scorers; remove --scorer, or select "
            "without target labels (no few-shot protocol)."
        )
    for name in args.scorer or []:
        _check_scorer(name, "--scorer")
    if not few_shot and "target" in (args.scorer or []):
        raise ConfigError(
            "--scorer target: scores held-out labelled target rows, which only a "
            "few-shot protocol has; add --few-shot K (or [protocol] target = "
            '"few_shot" in the experiment file), or choose a label-free scorer.'
        )
    pairs = cfg.pairs()
    if args.save:
        _check_save_path(args.save)
    if args.save and (len(pairs) != 1 or len(seeds) != 1):
        fix = []
        if len(pairs) != 1:
            # a file's [matrix] (leave_one_out: a pair per target) gives them
            example = ""
            if pairs:
                tgt, quoted = pairs[0][1], '", "'.join(pairs[0][0])
                example = (
                    f', e.g. sources = [["{quoted}"]], targets = ["{tgt}"] (with '
                    f'sources = "leave_one_out": targets = ["{tgt}"])'
                )
            fix.append(
                "keep one source (a corpus or a pool) and one target in the "
                f"experiment file's [matrix]{example}"
            )
        if len(seeds) != 1:
            fix.append("choose a seed with --seed N")
        raise ConfigError(
            "--save needs exactly one source/target pair and one seed; the search "
            f"has {len(pairs)} pair(s) and seeds {seeds}; " + "; ".join(fix) + "."
        )
    n_splits = cfg.protocol.selection_splits if args.experiment else 3
    used = ["target"] if few_shot else scorers
    # report parameters as the user names them (coral__reg,
    # classifier__C), not as the flat search template's steps
    n_adapt = max([len(r.adapters) for r in recipes] + [0])
    prefix = classifier_prefix(cfg.classifier, needs_proba(used))
    user_key = {
        (r.name, r.grid_key(k, n_adapt, prefix=prefix)): k
        for r in recipes
        for k in r.grid
    }
    out = []
    # the fits' warnings, with the search that raised each, shown once per
    # kind after the searches (on stderr: --json stays valid)
    fit_notes = []
    with (
        _naming_file(args.experiment) if args.experiment else contextlib.nullcontext(),
        dask_client(args.scheduler, args.workers) as client,
    ):
        data, skipped = _prepare_data(
            cfg,
            client=client,
            progress=not args.json and _progress(args),
            log=_log,
            classes_field="[labels] classes" if args.experiment else "--classes",
            target_labels=False,
        )
        bare = unlabelled_corpora({n: d.y for n, d in data.items()})
        for srcs, tgt in pairs:
            # a target without labels has no classes: the sources' are kept
            labelled_target = tgt not in bare
            classes, in_part = classes_of_pair(
                cfg, srcs, tgt, data, target_labelled=labelled_target
            )
            if len(classes) < 2:
                hint = union_hint(cfg, srcs, tgt, data, target_labelled=labelled_target)
                raise ExperimentError(
                    f"{'+'.join(srcs)} -> {tgt}: the corpora share fewer than two "
                    f"of the classes kept ({classes}); check "
                    + ("[labels] classes" if args.experiment else "--classes")
                    + (f", or set {hint}." if hint else ".")
                )
            union = cfg.pool_classes == "union" and labelled_target
            named = [*srcs, tgt] if labelled_target else list(srcs)
            note = left_out_classes(cfg.classes, classes, named, data, union=union)
            if note:
                _log(f"{'+'.join(srcs)} -> {tgt}: {note}")
            if in_part:
                _log(f"{'+'.join(srcs)} -> {tgt}: {_in_part_note(in_part)}")
            src_data = [_restrict(data[s], classes) for s in srcs]
            tgt_data = data[tgt] if tgt in bare else _restrict(data[tgt], classes)
            task = {
                "sources": src_data,
                "target": tgt_data,
                "classes": classes,
                "protocol": {
                    "target": cfg.protocol.target,
                    "k": cfg.protocol.k,
                    "test_speaker_fraction": cfg.protocol.test_speaker_fraction,
                },
            }
            for seed in seeds:
                # the same split as sertl run's cell of this pair and seed
                split = _split(task, seed)
                X, y, sd, shots = split.X, split.y, split.sample_domain, split.shots
                short = {c: n for c, n in shots.items() if n < cfg.protocol.k}
                if short:
                    _log(
                        f"{'+'.join(srcs)} -> {tgt}; seed {seed}: fewer labelled "
                        f"target rows than k = {cfg.protocol.k} for {short} (all "
                        "the non-test speakers have)"
                    )
                kw = {
                    "scorers": scorers,
                    "few_shot": few_shot,
                    "classifier": cfg.classifier,
                    "classifier_params": cfg.classifier_params,
                    "random_state": seed,
                    "n_splits": n_splits,
                }
                where = f"{'+'.join(srcs)} -> {tgt} seed {seed}"
                with _recording_warnings() as texts:
                    if client is not None:
                        # the Dask workers' warnings are raised here too
                        kw.update(client=client, n_jobs=-1)
                    gs, names = search(recipes, X, y, sd, **kw)
                fit_notes += [(f"during the search: {t}", where) for t in texts]
                rows = []
                for i, name in enumerate(names):
                    params = {
                        user_key.get((name, k), k): _short(v)
                        for k, v in gs.cv_results_["params"][i].items()
                        if "__" in k
                    }
                    rows.append(
                        {
                            "method": name,
                            "params": params,
                            **{
                                s: _float(gs.cv_results_[f"mean_test_{s}"][i])
                                for s in used
                            },
                            "fit_seconds": _float(gs.cv_results_["mean_fit_time"][i]),
                        }
                    )
                best = names[gs.best_index_]
                entry = {
                    "source": "+".join(srcs),
                    "target": tgt,
                    "seed": seed,
                    "classes": classes,
                    "scorers": used,
                    "best": best,
                    "best_index": int(gs.best_index_),
                    **({"k_used": shots} if few_shot else {}),
                    "candidates": rows,
                }
                if args.save:
                    from sklearn.pipeline import Pipeline

                    from ._persist import save_model

                    with _recording_warnings() as texts:
                        best_model = _with_probabilities(gs.best_estimator_, X, y, sd)
                    fit_notes += [
                        (f"refitting the chosen model for --save: {t}", where)
                        for t in texts
                    ]
                    model = Pipeline(
                        [
                            (
                                "features",
                                make_feature_step(cfg.features, errors="raise"),
                            ),
                            *best_model.steps,
                        ]
                    )
                    save_model(
                        model,
                        args.save,
                        metadata={
                            "classes": classes,
                            "source": entry["source"],
                            "target": tgt,
                            "method": best,
                            "params": rows[gs.best_index_]["params"],
                            "feature_set": cfg.features.set,
                        },
                    )
                    entry["saved"] = str(args.save)
                out.append(entry)
    for text, wheres in warning_kinds(fit_notes):
        _log(f"warning: {text} (e.g. {wheres[0]})")
    if args.json:
        print(json.dumps(out, indent=2), file=_product())
    else:
        for e in out:
            print(
                f"{e['source']} -> {e['target']} ({', '.join(e['classes'])}); "
                f"seed {e['seed']}; scored by {', '.join(e['scorers'])}",
                file=_product(),
            )
            width = max(len(r["method"]) for r in e["candidates"])
            for i, r in enumerate(e["candidates"]):
                mark = "*" if i == e["best_index"] else " "
                sc = "  ".join(
                    f"{s}={r[s]:.3f}" if r[s] is not None else f"{s}=failed"
                    for s in e["scorers"]
                )
                line = f" {mark} {r['method']:<{width}s}  {sc}  {r['params'] or ''}"
                print(line.rstrip(), file=_product())
            best = e["candidates"][e["best_index"]]["params"]
            print(
                f"best: {e['best']}"
                + (f" {best}" if best else "")
                + (f"; saved to {e['saved']}" if "saved" in e else ""),
                file=_product(),
            )
    return 0


def _default_grid_methods():
    """Return the default ``--methods``: those of :data:`_GRID_METHODS` installed.

    ``coral`` and ``tca`` come with sertl-feature, which ``sertl grid`` does
    not need: without it the default searches the scalings alone (as
    ``sertl demo`` runs the methods it finds), where it stopped on a method
    the user had not asked for.

    Examples
    --------
    >>> _default_grid_methods().startswith("no_adaptation,dss")
    True
    """
    from sertl_core import get_registry

    installed = set(get_registry().names("adapters"))
    names = _GRID_METHODS.split(",")
    return ",".join(n for n in names if n in ("no_adaptation", "dss") or n in installed)


def _check_save_path(path):
    """Refuse a ``--save`` file that cannot be written, before the search.

    The model is written once every search is done: a folder given for the
    file, or a path inside a file, would otherwise fail only then.

    Examples
    --------
    >>> import tempfile
    >>> try:
    ...     _check_save_path(tempfile.mkdtemp())
    ... except ConfigError as err:
    ...     print(str(err).split(": ", 1)[1].split(";")[0])
    is a folder
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"--save {path}: is a folder; give the model file to write, e.g. "
            f"--save {path / 'model.skops'}."
        )
    blocked = file_in_the_way(path.parent)
    if blocked:
        raise ConfigError(
            f"--save {path}: is inside the file {blocked[0]}, not a folder; "
            f"give a file in a folder, e.g. --save {blocked[0]}.skops."
        )


def _check_scorer(name, where):
    from sertl_core import RegistryError, get_registry

    try:
        get_registry().get("scorers", name)
    except RegistryError as exc:
        raise ConfigError(f"{where} {name}: {exc}") from None


def _grid_recipes(cfg, origin):
    """Return the experiment's methods as search candidates, auto's included.

    ``method = "auto"`` chooses among its candidates by label-free scores;
    in a grid search across methods that choice is the search's own, so an
    auto method contributes its candidates (named ``AUTO/CANDIDATE``) unless
    the same recipe is already a candidate.
    """
    from dataclasses import replace

    from ._recipes import Recipe, for_protocol
    from ._runner import _auto_candidates

    recipes = []

    def same(a, b):
        return replace(a, name="") == replace(b, name="")

    for m in cfg.methods:
        if not m.auto:
            # as sertl run fits it (auto's candidates below are too)
            r = for_protocol(Recipe.from_spec(m), cfg.protocol.target)
            if r.scaling == "speaker":
                raise ConfigError(
                    f"{origin}: [[methods]] {m.name} scaling: sertl grid cannot "
                    'search scaling = "speaker" (GridSearchCV cannot route speaker '
                    "ids to some candidates only); compare it with sertl run, or "
                    'use scaling = "domain" here.'
                )
            recipes.append(r)
    for m in cfg.methods:
        if not m.auto:
            continue
        for r in _auto_candidates(m, cfg):
            if r.scaling == "speaker":
                raise ConfigError(
                    f"{origin}: [[methods]] {m.name} candidates: {r.name!r} has "
                    'scaling = "speaker", which sertl grid cannot search '
                    "(GridSearchCV cannot route speaker ids to some candidates "
                    "only); remove it from candidates, or compare it with sertl run."
                )
            if not any(same(r, q) for q in recipes):
                recipes.append(replace(r, name=f"{m.name}/{r.name}"))
    return recipes


def _experiment_scorers(cfg, origin):
    """Return the one scorer list of the experiment's methods (a search has one)."""
    if cfg.protocol.target == "few_shot":
        return ["target"]  # as sertl run: few-shot ranks on labelled target rows
    lists = {}
    for m in cfg.methods:
        lists.setdefault(tuple(m.scorers), []).append(m.name)
    if len(lists) > 1:
        shown = "; ".join(
            f"{', '.join(names)}: {list(sc)}" for sc, names in lists.items()
        )
        first = list(lists.values())[1][0]
        raise ConfigError(
            f"{origin}: [[methods]] {first} scorers: sertl grid ranks every method "
            f"with one list of scorers, and the methods list different ones "
            f"({shown}); give every method the same scorers, or choose them "
            "with --scorer."
        )
    return list(next(iter(lists)))


def _run_only_fields(path):
    """Return the fields set in an experiment file that only ``sertl run`` uses."""
    from ._config import tomllib

    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for key, table in _RUN_ONLY_FIELDS:
        where = raw.get(table, {}) if table else raw
        if isinstance(where, dict) and key in where:
            out.append(f"[{table}] {key}" if table else key)
    return out


def _with_probabilities(pipe, X, y, sd):
    """Refit the chosen pipeline with a classifier that has ``predict_proba``."""
    from sklearn import config_context
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV

    best = clone(pipe)
    model = best.named_steps["model"]
    inner = model.get_params().get("estimator")
    if inner is not None and not hasattr(inner, "predict_proba"):
        model.set_params(
            estimator=CalibratedClassifierCV(inner, method="sigmoid", cv=3)
        )
    with config_context(enable_metadata_routing=True):
        best.fit(X, y, sample_domain=sd)
    return best


def _short(v):
    return (
        v if isinstance(v, int | float | str | bool) or v is None else type(v).__name__
    )


def _float(v):
    v = float(v)
    return v if np.isfinite(v) else None


def _listed(value, values):
    """Whether ``value`` is in ``values`` as the same type (``1`` is not ``True``)."""
    return any(type(v) is type(value) and v == value for v in values)


def _recipes_from_cli(methods, params):
    from sertl_core import get_registry

    from ._recipes import Recipe

    reg = get_registry()
    grid = {}
    for p in params:
        if "=" not in p or "__" not in p.split("=", 1)[0]:
            raise ConfigError(f"--param: expected STEP__PARAM=V1,V2, got {p!r}.")
        key, vals = p.split("=", 1)
        values = [_parse_value(v) for v in vals.split(",") if v != ""]
        if not values:
            raise ConfigError(
                f"--param {key}: give at least one value after '=', e.g. "
                f"--param {key}=V1,V2 (got {p!r}); leave the option out to keep "
                "the parameter's default."
            )
        # a repeated key adds its values to the earlier ones (each once)
        merged = grid.setdefault(key, [])
        merged += [v for v in values if not _listed(v, merged)]
    recipes = []
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise ConfigError(
            f"--methods: list at least one method, separated by commas, got "
            f"{methods!r}; e.g. --methods {_GRID_METHODS} (the default when "
            "--methods is left out)."
        )
    for name in names:
        if name in ("no_adaptation", "none", "source_only"):
            r = Recipe("no_adaptation", scaling="source")
        elif name in ("dss", "domain_standard_scaler"):
            r = Recipe("dss")
        elif name in reg.names("adapters") or name in reg.names("estimators"):
            # (the registry refuses a step's name, such as scale, at load)
            if name in reg.names("adapters"):
                r = Recipe(name, adapters=[name])
            else:
                r = Recipe(name, estimator=name)
        else:
            # a plugin that failed to load may be the one that provides it:
            # say so as sertl run does (the registry's own hint)
            hint = reg.missing_hint(name)
            raise ConfigError(
                f"--methods: unknown method {name!r}; use no_adaptation, dss or one of "
                f"{', '.join(reg.names('adapters') + reg.names('estimators'))}."
                + (f" {hint}" if hint else "")
            )
        if any(q.name == r.name for q in recipes):
            # the same candidates twice: each fit and score done again
            same = "" if name == r.name else f" (the method {r.name!r})"
            raise ConfigError(
                f"--methods: {name!r}{same} is listed more than once in "
                f"{methods!r}; list each method once."
            )
        steps = set(r.adapters) | {r.estimator, "classifier", "scale"}
        r.grid = {k: v for k, v in grid.items() if k.split("__", 1)[0] in steps}
        recipes.append(r)
    used = {k for r in recipes for k in r.grid}
    for k in grid:
        if k not in used:
            steps = [
                *sorted({s for r in recipes for s in (*r.adapters, r.estimator)}),
                "classifier",
                "scale",
            ]
            raise ConfigError(
                f"--param {k}: no listed method has a step {k.split('__', 1)[0]!r}; "
                f"the steps of --methods are {', '.join(steps)} "
                "(write STEP__PARAM=V1,V2, e.g. classifier__C=0.1,1)."
            )
    return recipes


def cmd_predict(args):
    """``sertl predict``: per-file emotion and class probabilities."""
    from sertl_core import RegistryError

    if not args.json:
        return _predict(args, {})
    out = {"model": str(args.model), "metadata": None, "notes": []}
    try:
        return _predict(args, out)
    except (*_INPUT_ERRORS, RegistryError) as exc:
        # exit 2 (from _guard, which also prints the message on stderr): the
        # reader of stdout still gets one JSON object, saying why
        out.update(error=str(exc), predictions=[])
        print(json.dumps(out, indent=2), file=_product())
        raise


def _predict(args, out):
    """``sertl predict``; ``out`` collects the JSON object (with ``--json``)."""
    from ._persist import _import_skops_without_estimator_walk, _printable, load_model
    from ._predict import _folder_notes, _scan_audio, predict_files

    _import_skops_without_estimator_walk()  # a command-line process: skip skops' walk
    model, meta = load_model(args.model, trusted=args.trust)
    steps = getattr(model, "steps", None)
    if not steps or not hasattr(steps[0][1], "transform"):
        raise ExperimentError(
            f"{args.model}: holds a {type(model).__name__}, not a model that "
            "labels audio files (a Pipeline whose first step computes features "
            "from them, as `sertl run` with save_models = true, `sertl grid "
            "--save` and `sertl demo` write)."
        )
    if _takes_numbers(steps[0][1]):
        raise ExperimentError(
            f"{args.model}: its first step, {type(steps[0][1]).__name__}, takes "
            "numbers, not audio files: the model was saved from feature rows, "
            "so `sertl predict` cannot label files with it. Call its predict on "
            "feature rows (load_model), or save a Pipeline whose first step "
            "computes features from audio (sertl_speech.AudioFeatures), as "
            "`sertl run` with save_models = true, `sertl grid --save` and "
            "`sertl demo` do."
        )
    out["metadata"] = meta
    _use_cache(model, args.cache_dir)
    entries, folders = _scan_audio(args.audio)

    def notes(failed=(), labelled=True, batch=()):
        # a folder's note counts the files labelled, so it comes after them;
        # then the notes on the whole batch (a domain mismatch)
        out["notes"] = _folder_notes(folders, failed, labelled=labelled)
        out["notes"] += list(batch)
        for note in out["notes"]:
            print(f"sertl predict: note: {_printable(note)}", file=sys.stderr)

    for m, exists in entries:
        if not exists:
            print(
                f"sertl predict: {m}: no such file or folder (skipped)", file=sys.stderr
            )
    files = [p for p, exists in entries if exists]
    if not files:
        notes()
        raise ExperimentError(
            "no audio files to label (give audio files, e.g. .wav, .flac, .mp3, "
            ".ogg, or folders that hold them)."
        )
    try:
        # the command's output is its rows and notes, as before predict_files
        # let the model's warnings through: one call in the command's own
        # process, so a filter here swaps no other thread's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = predict_files(model, files, new_domain=args.new_domain)
    except ValueError as exc:
        from ._predict import _BatchStatisticsError

        notes(labelled=False)
        if not isinstance(exc, _BatchStatisticsError):
            raise
        raise ExperimentError(str(exc)) from exc  # too few files, or no such step
    notes(
        [r["file"] for r in rows if r["error"] is not None],
        batch=rows.notes,
    )
    if args.json:
        # missing arguments too, as files that cannot be decoded are, in the
        # order given
        labelled = iter(rows)
        out["predictions"] = [
            next(labelled)
            if exists
            else {
                "file": m,
                "emotion": None,
                "probabilities": None,
                "error": "missing: no such file or folder",
                "warnings": [],
            }
            for m, exists in entries
        ]
        print(json.dumps(out, indent=2), file=_product())
    else:
        classes = list(meta.get("classes") or [])
        if not classes:
            first = next((r for r in rows if r["probabilities"]), None)
            classes = list(first["probabilities"]) if first else []
        # file names, or the paths as given where two files share a name
        # (x.wav in two folders), so that every row says which file it is
        names = [Path(r["file"]).name for r in rows]
        if len(set(names)) < len(names):
            names = [str(r["file"]) for r in rows]
        # labels and notes come from the model file, names from the disk:
        # control characters (terminal escapes) are shown, not sent
        names = [_printable(n) for n in names]
        width = max([len(n) for n in names] + [4])
        head = f"{'file':<{width}}  {'emotion':<10s}" + "".join(
            f" {_printable(c)[:9]:>9s}" for c in classes
        )
        print(head, file=_product())
        for name, r in zip(names, rows, strict=True):
            if r["error"]:
                print(
                    f"{name:<{width}}  {'-':<10s} error: {_printable(r['error'])}",
                    file=_product(),
                )
                continue
            probs = "".join(
                f" {r['probabilities'].get(c, float('nan')):9.3f}"
                if r["probabilities"]
                else f" {'n/a':>9s}"
                for c in classes
            )
            note = (
                f"  note: {_printable('; '.join(r['warnings']))}"
                if r["warnings"]
                else ""
            )
            print(
                f"{name:<{width}}  {_printable(r['emotion']):<10s}{probs}{note}",
                file=_product(),
            )
    n_missing = sum(not exists for _, exists in entries)
    n_bad = sum(r["error"] is not None for r in rows) + n_missing
    return 0 if n_bad == 0 else 1


def _takes_numbers(step):
    """Whether a model's first step was fitted on feature rows, not audio files.

    Fitted on numbers (it holds ``n_features_in_``, as scikit-learn's
    transformers fitted on arrays do) and neither saying it takes strings
    (scikit-learn's ``input_tags.string``, as
    :class:`~sertl_speech.AudioFeatures` does), nor a registered feature
    extractor, nor a ``FunctionTransformer`` (whose function may read
    files). Such a step fails on file names with an error that names no
    cause.
    """
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils import get_tags

    from sertl_core import get_registry

    if not hasattr(step, "n_features_in_") or isinstance(step, FunctionTransformer):
        return False
    try:
        says_strings = bool(get_tags(step).input_tags.string)
    except Exception:  # noqa: BLE001  # a step without tags: ask the registry
        says_strings = False
    reg = get_registry()
    extractors = {reg.get("features", n) for n in reg.names("features")}
    return not says_strings and type(step) not in extractors


def _use_cache(model, cache_dir):
    """Point the loaded model's feature step at ``cache_dir`` (None: no cache).

    A saved model names the cache folder of the run that trained it, an
    absolute path of that machine and account: labelling new files must not
    write into it unless asked.
    """
    steps = getattr(model, "steps", None)
    if not steps or not hasattr(steps[0][1], "get_params"):
        return
    name, step = steps[0]
    if "cache_dir" not in step.get_params(deep=False):
        return
    if cache_dir is not None:
        cache_dir = str(Path(cache_dir).expanduser().resolve())
        # the feature step would fall back to no cache with a warning that
        # labelling hides: say it here, before any file is read
        try:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = (
                "is a file, not a folder"
                if Path(cache_dir).is_file()
                else f"cannot be made ({exc.strerror or exc})"
            )
            raise ConfigError(
                f"--cache-dir {cache_dir}: {why}; give a folder you can write for "
                "the feature cache, or leave --cache-dir out to label without one."
            ) from None
    model.set_params(**{f"{name}__cache_dir": cache_dir})


def demo_config(output, *, cache_dir=None):
    """Return the demo experiment: EmoDB <-> RAVDESS samples, several methods.

    Parameters
    ----------
    output : str or pathlib.Path
        Output folder.
    cache_dir : str or pathlib.Path, default=None
        Feature cache; ``OUTPUT/.feature-cache`` when None.

    Returns
    -------
    config : ExperimentConfig
    """
    from sertl_speech import sample_path

    from sertl_core import get_registry

    reg = get_registry()
    adapters, estimators = set(reg.names("adapters")), set(reg.names("estimators"))
    methods = [
        {"name": "no_adaptation", "scaling": "source"},
        {"name": "dss", "scaling": "domain"},
    ]
    if "speaker_normalizer" in adapters:
        methods.append({"name": "speaker_norm", "scaling": "speaker"})
    for a in ("coral", "tca"):
        if a in adapters:
            methods.append({"name": a, "adapter": a})
    if "kmm" in estimators:
        methods.append({"name": "kmm", "estimator": "kmm"})
    cands = [m["name"] for m in methods]
    methods.append({"name": "auto", "method": "auto", "candidates": cands})
    out = Path(output).resolve()
    raw = {
        "name": "demo-emodb-ravdess",
        "output": str(out),
        "corpora": {
            "emodb": {"reader": "emodb", "root": str(sample_path("emodb"))},
            "ravdess": {"reader": "ravdess", "root": str(sample_path("ravdess"))},
        },
        "labels": {"classes": "shared"},
        "features": {
            "set": "functionals",
            "cache_dir": str(Path(cache_dir).resolve())
            if cache_dir
            else str(out / ".feature-cache"),
            "n_jobs": 2,
        },
        "protocol": {
            "target": "unlabelled",
            "seeds": [0],
            "bootstrap": 1000,
            "selection_splits": 2,
        },
        "methods": methods,
    }
    return parse_config(raw, origin="sertl demo")


def cmd_demo(args):
    """``sertl demo``: the cross-corpus demo on the shipped sample."""
    from ._dask import dask_client
    from ._persist import save_model
    from ._recipes import Recipe
    from ._runner import check_output_folder, run_experiment
    from ._selection import _recording_warnings
    from ._train import train_model

    t0 = time.perf_counter()
    # before the config, whose feature cache lies inside the output folder
    check_output_folder(args.output, "--output")
    cfg = demo_config(args.output)
    print(
        "sertl demo: EmoDB (German) <-> RAVDESS (English), real sample shipped with "
        "sertl-speech",
        file=sys.stderr,
    )
    with dask_client(args.scheduler, args.workers) as client:
        res = run_experiment(cfg, client=client, progress=_progress(args), log=_log)
    from sertl_speech import load_sample

    src, tgt = load_sample("emodb"), load_sample("ravdess")
    with _recording_warnings() as texts:
        model, _ = train_model(
            Recipe("dss"),
            list(src["file"]),
            list(src["emotion"]),
            list(tgt["file"]),
            features=FeatureSpec("functionals", cfg.features.cache_dir, 1),
        )
    for text in texts:
        _log(f"warning: training the saved model: {text}")
    path = save_model(
        model,
        Path(cfg.output) / "model.skops",
        metadata={
            "classes": sorted(set(src["emotion"])),
            "source": "emodb (sample)",
            "target": "ravdess (sample)",
            "method": "dss",
            "recipe": Recipe("dss").describe(),
            "feature_set": "functionals",
        },
    )
    _print_summary(res, cfg, time.perf_counter() - t0)
    example = tgt["file"].iloc[0]
    print(
        f"model: {path} (method dss, trained on the EmoDB sample and adapted to "
        f"the RAVDESS sample)\nlabel new speech: sertl predict {path} {example}",
        file=_product(),
    )
    return 1 if res.n_failed else 0


def main(argv=None):
    """Run the plugin's commands stand-alone (``python -m sertl_experiments``)."""
    from sertl_core.cli import _OUTPUT_CLOSED, _with_output

    if sys.stdout is None:  # as sertl's own main: see sertl_core.cli.main
        print(_OUTPUT_CLOSED, file=sys.stderr)
        return 2

    def run():
        parser = argparse.ArgumentParser(prog="sertl")
        add_commands(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        # what the work prints goes to stderr; the output to _product()
        with _work():
            return args.func(args)

    return _with_output(run, argv)
