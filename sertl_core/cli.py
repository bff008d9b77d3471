"""The ``sertl`` command line.

The core provides ``sertl plugins``, ``sertl corpora`` and ``sertl
new-plugin``; installed plugins add their own sub-commands through the
``sertl_add_commands`` hook (e.g. ``sertl run`` and ``sertl demo`` from
sertl-experiments).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import io
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from . import __version__
from .registry import (
    _KNOWN_COMMANDS,
    KINDS,
    PluginLoadWarning,
    RegistryError,
    _hook_raised,
    _is_first_party,
    _plain_hookimpls,
    get_registry,
)

__all__ = ["StoppedBySignal", "build_parser", "main", "stop_signals"]

# The signals a job scheduler (SLURM, PBS), a service manager, ``timeout``,
# ``docker stop`` (SIGTERM) or a closed terminal (SIGHUP) ends a command
# with; Windows has no SIGHUP
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StoppedBySignal(KeyboardInterrupt):
    """A running ``sertl`` command was stopped by SIGTERM or SIGHUP.

    Raised in the command (see :func:`stop_signals`) where Python's default
    would end the process at once: like Ctrl-C's ``KeyboardInterrupt``,
    whose subclass it is, it runs every ``finally`` block and cleanup on
    its way out (code that handles Ctrl-C handles it too), and the command
    then exits with status ``128 + signum`` (143 for SIGTERM, 129 for
    SIGHUP), as shells and job schedulers expect of a process the signal
    ended.

    Parameters
    ----------
    signum : int
        The signal's number.

    Attributes
    ----------
    signum : int
        The signal's number.

    See Also
    --------
    stop_signals : Raises it while a command runs.

    Examples
    --------
    >>> import signal
    >>> from sertl_core.cli import StoppedBySignal
    >>> stop = StoppedBySignal(signal.SIGTERM)
    >>> isinstance(stop, KeyboardInterrupt), stop.signame, stop.exit_code
    (True, 'SIGTERM', 143)
    >>> str(stop)
    'stopped by SIGTERM'
    """

    def __init__(self, signum):
        super().__init__(int(signum))
        self.signum = int(signum)

    @property
    def signame(self):
        """The signal's name, e.g. ``"SIGTERM"``."""
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self):
        """Exit status of a command it stopped: ``128 + signum``."""
        return 128 + self.signum

    def __str__(self):
        return f"stopped by {self.signame}"


def _raise_stopped(owner, signum, frame):
    """Signal handler: stop the running command as Ctrl-C would.

    Only in process ``owner``, which set it: a child made by ``fork``
    (multiprocessing's default on Linux, ``os.fork``) inherits the handler,
    and would otherwise answer its parent's ``Process.terminate()`` or a
    ``Pool``'s shutdown with a ``StoppedBySignal`` traceback and exit
    status 1 (or run on, where it catches ``KeyboardInterrupt``); there the
    signal ends the process as the operating system's default does.
    """
    if os.getpid() != owner:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise StoppedBySignal(signum)


@contextlib.contextmanager
def stop_signals():
    """Turn SIGTERM and SIGHUP into :class:`StoppedBySignal` for the block.

    Python's default for these signals ends the process at once, without
    running ``finally`` blocks: a command stopped by a job scheduler or a
    closed terminal would leave its temporary files and feature-cache
    markers behind and say nothing. In the block they raise
    :class:`StoppedBySignal` in the main thread instead, as Ctrl-C raises
    ``KeyboardInterrupt``. Only signals left at the operating system's
    default are handled: one that is ignored (``nohup`` ignores SIGHUP) or
    has a handler of the caller's keeps it. The previous handlers are back
    when the block ends; outside the main thread (where Python cannot set
    handlers) nothing changes. A child process made by ``fork`` in the
    block is ended by these signals as by default. :func:`main` runs every
    command in it.

    Yields
    ------
    signals : tuple of int
        The signals handled in the block (empty when none is).

    See Also
    --------
    StoppedBySignal : What the block's code gets.

    Examples
    --------
    >>> import signal
    >>> from sertl_core.cli import StoppedBySignal, stop_signals
    >>> before = signal.getsignal(signal.SIGTERM)
    >>> try:
    ...     with stop_signals() as handled:
    ...         if signal.SIGTERM in handled:  # not when the caller ignores it
    ...             signal.raise_signal(signal.SIGTERM)
    ... except StoppedBySignal as stop:
    ...     print(stop.exit_code)
    143
    >>> signal.getsignal(signal.SIGTERM) is before
    True
    """
    installed = {}
    if threading.current_thread() is threading.main_thread():
        handler = functools.partial(_raise_stopped, os.getpid())
        for signum in _STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, handler)
    try:
        yield tuple(installed)
    finally:
        _restore(installed)


def _restore(installed):
    """Put back the handlers ``installed`` replaced (signal number: previous).

    ``signal.signal`` first runs the handlers of signals that came in
    meanwhile: a stop raised there (a SIGTERM as the command ends, or a
    second one during its cleanup) is raised after every handler is back,
    not instead of putting back the rest (the block's handler would then
    stay set in a Python caller of :func:`main` for good).
    """
    pending = list(installed.items())
    stop = None
    while pending:
        try:
            while pending:
                signum, previous = pending[0]
                signal.signal(signum, previous)
                pending.pop(0)
        except StoppedBySignal as exc:
            stop = exc
    if stop is not None:
        raise stop


def _cmd_plugins(args):
    reg = get_registry()
    rows = [
        {
            "kind": e.kind,
            "name": e.name,
            "class": e.class_path,
            "plugin": e.plugin,
            "distribution": e.distribution,
        }
        for e in reg.entries(args.kind)
    ]
    # with --strict a plugin with a problem fails the command (for CI)
    code = 1 if args.strict and reg.failures else 0
    if args.json:
        out = {"classes": rows, "failed_plugins": reg.failures}
        print(json.dumps(out, indent=2), file=_product())
        return code
    _print_table(rows, ["kind", "name", "class", "plugin", "distribution"])
    for plugin, err in reg.failures.items():
        print(f"\n{_problem_line(reg, plugin, err)}", file=sys.stderr)
    return code


def _problem_line(reg, plugin, problem):
    """``sertl: plugin 'NAME' (DISTRIBUTION): PROBLEM``, as every command says it."""
    dist = reg.distribution(plugin)
    where = f" ({dist})" if dist and dist not in plugin else ""
    return f"sertl: plugin {plugin!r}{where}: {problem}"


def _cmd_corpora(args):
    reg = get_registry()
    rows = [
        {
            "name": e.name,
            "language": getattr(e.cls, "language", ""),
            "description": getattr(e.cls, "description", ""),
            "distribution": e.distribution,
        }
        for e in reg.entries("corpora")
    ]
    if args.json:
        print(json.dumps(rows, indent=2), file=_product())
        return 0
    if not rows:
        print("No corpus readers installed: pip install sertl-speech", file=_product())
        return 0
    _print_table(rows, ["name", "language", "description", "distribution"])
    return 0


def _cmd_new_plugin(args):
    from ._template import write_plugin

    try:
        path = write_plugin(args.name, Path(args.directory), force=args.force)
    except (ValueError, FileExistsError) as exc:
        print(f"sertl new-plugin: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder that cannot be created or written
        print(
            f"sertl new-plugin: cannot write the plugin into {args.directory}: "
            f"{exc.strerror or exc} ({exc.filename or args.directory}); give a "
            "folder you can write to (-d/--directory).",
            file=sys.stderr,
        )
        return 2
    import shlex

    out = _product()
    print(f"Wrote {path}", file=out)
    # the test extra brings pytest, and `python -m pytest` runs it with the
    # environment the plugin went into: a fresh venv has no pytest, and a
    # `pytest` found elsewhere on PATH cannot import sertl_core
    print(
        f"Next: pip install -e {shlex.quote(f'{path}[test]')} && "
        f"python -m pytest {shlex.quote(str(path))}",
        file=out,
    )
    return 0


def _print_table(rows, columns):
    out = _product()
    if not rows:
        print("(none)", file=out)
        return
    widths = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip(), file=out)
    for r in rows:
        line = "  ".join(str(r[c] or "").ljust(widths[c]) for c in columns)
        print(line.rstrip(), file=out)


# every command's; a command's --help says what 1 and 2 mean for it
_EXIT_STATUS = (
    "exit status: 0 done; 1 the command failed in part (some files or cells: "
    "see its --help), or the reader of the output went away (sertl ... | "
    "head); 2 a usage error, an input the command refuses, or output it could "
    "not write (standard output closed, a full disk: one line on stderr); 130 "
    "interrupted by Ctrl-C, 143 stopped by SIGTERM, 129 by SIGHUP. The output "
    "(tables, --json) is on stdout; progress, notes, warnings and errors are "
    "on stderr, and so is whatever the work prints (a plugin, a solver, a "
    "worker process)."
)


def build_parser():
    """Build the argument parser, with the sub-commands of installed plugins.

    A plugin whose ``sertl_add_commands`` hook fails has none of its
    commands added; the problem is recorded in the registry's ``failures``
    and in the parser's default ``_command_problems`` (the lines
    :func:`main` prints), not printed here.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from sertl_core.cli import build_parser
    >>> build_parser().parse_args(["plugins", "--json"]).json
    True
    """
    parser = argparse.ArgumentParser(
        prog="sertl",
        description="Transfer learning for speech emotion recognition.",
        epilog=_EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=f"sertl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # main() lets the command's own parser report arguments it does not know
    parser.set_defaults(_command_parsers=sub.choices)

    p = sub.add_parser(
        "plugins",
        help="list every registered class and its plugin",
        description="List every registered class with its plugin and "
        "distribution; the plugins with a problem (failed to load, a hook "
        "that raised, a class skipped) are listed on stderr (--json: "
        "failed_plugins).",
        epilog="exit status: 0 listed (plugins with a problem included, unless "
        "--strict); 1 with --strict, some plugin has a problem.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--kind", choices=list(KINDS), help="only this kind")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when a plugin failed to load or had a class "
        "skipped (for CI: a plugin problem then fails the job)",
    )
    p.set_defaults(func=_cmd_plugins)

    p = sub.add_parser(
        "corpora",
        help="list the installed corpus readers",
        description="List the installed corpus readers (the names "
        "sertl_speech.load_corpus and an experiment file's `reader` take) "
        "with their language and distribution.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_corpora)

    p = sub.add_parser(
        "new-plugin",
        help="write a ready-to-publish third-party plugin package",
        description=(
            "Write sertl-NAME/: a package with an example DomainAdapter, its "
            "pluggy hooks and entry point, and the conformance tests; it "
            "installs and passes its tests unchanged."
        ),
    )
    p.add_argument("name", help="plugin name, e.g. 'mymethods' -> sertl-mymethods")
    p.add_argument(
        "--directory", "-d", default=".", help="parent folder (default: current)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into an existing sertl-NAME folder: the template's files "
        "are overwritten, your other files there are kept",
    )
    p.set_defaults(func=_cmd_new_plugin)

    # the command hooks' problems: main() prints them once (sertl plugins
    # lists them with the others); every one is in the registry's failures
    problems: list[str] = []
    parser.set_defaults(_command_problems=problems)
    try:
        reg = get_registry()
        pm = reg.plugin_manager
    except RegistryError as exc:
        print(f"sertl: plugin registry error: {exc}", file=sys.stderr)
        return parser
    owners = dict.fromkeys(sub.choices, "core")
    impls = list(_plain_hookimpls(pm, "sertl_add_commands"))
    # sertl's own plugins first: their commands keep their names whatever a
    # third-party plugin adds, and the names are fixed before it runs
    impls.sort(key=lambda it: (not _is_first_party(reg.distribution(it[0])), it[0]))
    for name, impl in impls:
        guarded = _PluginSubparsers(sub, name, owners)
        try:
            impl.function(subparsers=guarded)
        except Exception as exc:  # one broken plugin must not break the CLI
            guarded.withdraw()
            problem = (
                f"{_hook_raised('sertl_add_commands', exc, impl)}; its commands "
                "are unavailable"
            )
            reg._fail(name, problem, warn=False)
            problems.append(_problem_line(reg, name, problem))
    notes = reg.missing_commands(sub.choices)
    if notes:  # sertl --help names the commands of plugins that are not there
        parser.epilog = (
            "commands of sertl's plugins that are not available: "
            + " ".join(notes)
            + f". {_EXIT_STATUS}"
        )
    return parser


class _PluginSubparsers:
    """The ``subparsers`` a plugin's ``sertl_add_commands`` hook receives.

    It adds the plugin's commands to the ``sertl`` parser, refuses a command
    name that another plugin (or the core) has, records which plugin added
    which command, and can take the plugin's commands back when its hook
    fails halfway. Everything else is argparse's own subparsers action.
    """

    def __init__(self, sub, plugin, owners):
        self._sub, self._plugin, self._owners = sub, plugin, owners
        self._added = []

    def add_parser(self, name, **kwargs):
        for command in (name, *kwargs.get("aliases", ())):
            if command in self._sub.choices:
                owner = self._owners.get(command, "another plugin")
                raise ValueError(
                    f"the command {command!r} belongs to plugin {owner!r}: give "
                    "the plugin's command another name"
                )
        parser = self._sub.add_parser(name, **kwargs)
        parser.set_defaults(_sertl_plugin=self._plugin)
        for command in (name, *kwargs.get("aliases", ())):
            self._owners[command] = self._plugin
            self._added.append(command)
        return parser

    def withdraw(self):
        """Remove the commands this plugin added (its hook failed)."""
        for command in self._added:
            self._sub.choices.pop(command, None)
            self._owners.pop(command, None)
        # the help listing (argparse keeps one pseudo-action per command)
        listing = getattr(self._sub, "_choices_actions", None)
        if listing is not None:
            listing[:] = [a for a in listing if a.dest not in self._added]

    def __getattr__(self, attr):
        return getattr(self._sub, attr)


def main(argv=None):
    """Run the ``sertl`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        Exit status (130: interrupted by Ctrl-C; 143 and 129: stopped by
        SIGTERM and SIGHUP, see :func:`stop_signals`; 1 when the reader of
        the output went away, as in ``sertl plugins | head -1``; 2 for a
        usage error such as no command, with the usage on stderr; 2, with one
        line on stderr, when standard output is closed or cannot be written,
        e.g. a full disk).

    Examples
    --------
    >>> import contextlib, io
    >>> from sertl_core.cli import main
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = main(["plugins", "--json"])
    >>> code, '"source_only"' in out.getvalue()
    (0, True)
    """
    if sys.stdout is None:
        # `sertl ... >&-`: Python drops what is printed; and a file the
        # command opens could get the free descriptor 1 and take the output
        print(_OUTPUT_CLOSED, file=sys.stderr)
        return 2
    return _with_output(_main, argv, argv)


def _main(argv):
    """Run the ``sertl`` command (:func:`main`, with its output guarded)."""
    try:
        with warnings.catch_warnings():
            # Broken plugins are reported by `sertl plugins`; keep other output
            # clean.
            warnings.simplefilter("ignore", PluginLoadWarning)
            # what a plugin prints as it is imported is no part of the output
            with _work():
                parser = build_parser()
    except KeyboardInterrupt:
        # Ctrl-C while the plugins are imported (a second or two): the
        # message of an interrupted command, not a traceback of the imports
        print("sertl: interrupted before the command started.", file=sys.stderr)
        return 130
    problems = parser.get_default("_command_problems") or []
    missing = _missing_command(parser, sys.argv[1:] if argv is None else argv)
    if missing:
        _print_command_problems(problems)
        print(f"sertl: {missing}", file=sys.stderr)
        return 2
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit:  # --help, or no such command (maybe that plugin's)
        _print_command_problems(problems)
        raise
    if getattr(args, "command", None) != "plugins":  # it lists them with the rest
        _print_command_problems(problems)
    if unknown:
        # name the command in the message and show its usage, not the top level's
        own = args._command_parsers.get(args.command) if args.command else None
        (own or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        plugin = getattr(args, "_sertl_plugin", None)
        if args.command and plugin:
            print(
                f"sertl: the command {args.command!r} of plugin {plugin!r} does "
                "not say what to run: its sertl_add_commands hook must call "
                "set_defaults(func=...) on the command's parser",
                file=sys.stderr,
            )
            return 2
        # bare `sertl`: a usage error, as argparse reports a missing argument
        # (the help lists the commands)
        parser.print_help(sys.stderr)
        print(
            "sertl: error: the following arguments are required: COMMAND",
            file=sys.stderr,
        )
        return 2
    format_warning = warnings.formatwarning
    try:
        with warnings.catch_warnings():
            # the registry calls the plugins' hooks on its first look-up, in
            # the command: their problems are reported by `sertl plugins` too
            warnings.simplefilter("ignore", PluginLoadWarning)
            # a warning shown on the terminal reads as the commands' own
            # "warning: ..." lines, not as Python's "FILE:LINE: Category:
            # message" and source line (the console script's sys.exit(main())
            # for sertl's warnings, which point at their caller)
            warnings.formatwarning = _format_warning
            # what sertl's own commands' work prints (a plugin's print, a
            # training log, a solver's native output) goes to stderr: they
            # write their output to _product(); a third-party plugin's
            # command writes its output to sys.stdout, as before
            plugin = getattr(args, "_sertl_plugin", None)
            own = plugin is None or _is_first_party(get_registry().distribution(plugin))
            # SIGTERM and SIGHUP (a job's time limit, a closed terminal)
            # stop the command as Ctrl-C does: its cleanup runs
            with _work() if own else contextlib.nullcontext(), stop_signals():
                code = int(args.func(args) or 0)
        # buffered output to a pipe is written here, where a closed reader
        # is caught, and not at exit, where Python could only warn
        sys.stdout.flush()
        return code
    except RegistryError as exc:
        print(f"sertl: {exc}", file=sys.stderr)
        return 2
    except StoppedBySignal as stop:
        # a command that says nothing itself (sertl run says what is kept)
        print(f"sertl {args.command}: {stop}.", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print(f"sertl {args.command}: interrupted.", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = format_warning


def _format_warning(message, category, filename, lineno, line=None):
    r"""Format a warning a command shows as one ``warning: Category: text`` entry.

    Examples
    --------
    >>> _format_warning("cannot write the cache", UserWarning, "x.py", 3)
    'warning: UserWarning: cannot write the cache\n'
    """
    return f"warning: {category.__name__}: {message}\n"


def _missing_command(parser, argv):
    """Return the message for a missing command of sertl's own plugins, or "".

    ``sertl run`` without sertl-experiments would get argparse's "invalid
    choice"; this names the distribution to install instead (or the
    problem of its installed plugin).
    """
    command = next((a for a in argv if not a.startswith("-")), None)
    choices = parser.get_default("_command_parsers") or {}
    known = any(command in commands for commands in _KNOWN_COMMANDS.values())
    if command is None or command in choices or not known:
        return ""  # argparse's own message for any other command
    return get_registry().missing_hint(command, command=True)


def _print_command_problems(problems):
    """Print the problems of the plugins' ``sertl_add_commands`` hooks."""
    for line in problems:
        print(line, file=sys.stderr)


_OUTPUT_CLOSED = (
    "sertl: error: standard output is closed (>&-); redirect it to a file, or "
    "to /dev/null to discard the output."
)


class _OutputError(Exception):
    """Writing the command's standard output failed.

    Not an :class:`OSError`, so that a command's own handling of the files
    it reads and writes (e.g. a full disk under its output folder) does not
    take it for one of them: :func:`_with_output` reports it.

    Parameters
    ----------
    error : OSError
        The error of the write or flush.
    """

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class _Output:
    r"""``sys.stdout`` while a command runs (see :func:`_with_output`).

    A failed write or flush raises :class:`_OutputError`; a character the
    stream's encoding lacks (an Urdu label, a Turkish file name with an
    ASCII or Latin-1 locale, or output redirected on Windows) is written as
    its escape sequence (``\u063a``) instead of ending the command with a
    ``UnicodeEncodeError``. Everything else is the stream's own.

    Parameters
    ----------
    stream : file object
        The standard output it writes to.
    """

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        """Write ``text``; see the class."""
        try:
            try:
                return self.stream.write(text)
            except UnicodeEncodeError:
                encoding = getattr(self.stream, "encoding", None) or "ascii"
                text = text.encode(encoding, "backslashreplace").decode(encoding)
                return self.stream.write(text)
        except OSError as exc:
            raise _OutputError(exc) from exc

    def flush(self):
        """Flush the stream; see the class."""
        try:
            self.stream.flush()
        except OSError as exc:
            raise _OutputError(exc) from exc

    def __getattr__(self, attr):
        return getattr(self.stream, attr)


class _ToStderr:
    """``sys.stdout`` while a command works (see :func:`_work`).

    What is written to it goes to ``sys.stderr`` (looked up at each write);
    the command's own output goes to :attr:`product`, which
    :func:`_product` returns. Everything else (``isatty``, ``encoding``,
    ``fileno``) is standard error's: text written there ends up there.

    Parameters
    ----------
    product : file object
        Where the command writes its output (tables, ``--json``).
    """

    def __init__(self, product):
        self.product = product

    def write(self, text):
        """Write ``text`` to standard error (dropped where there is none)."""
        if sys.stderr is None:  # pythonw: nowhere to show it
            return len(text)
        return sys.stderr.write(text)

    def flush(self):
        """Flush standard error."""
        if sys.stderr is not None:
            sys.stderr.flush()

    def __getattr__(self, attr):
        return getattr(sys.stderr, attr)


def _product():
    """Return the stream a command writes its output (tables, ``--json``) to.

    While the command works (:func:`_work`) ``sys.stdout`` leads to standard
    error, so that what a plugin, a solver or a training loop prints cannot
    corrupt the output a script reads; the command's own output goes to the
    stream returned here. Outside :func:`_work` (a command's function called
    directly) it is ``sys.stdout``.

    Returns
    -------
    stream : file object

    Examples
    --------
    >>> import sys
    >>> _product() is sys.stdout
    True
    """
    out = sys.stdout
    return out.product if isinstance(out, _ToStderr) else out


# the signals whose handlers could stop _Descriptor.restore halfway
_BLOCKED = frozenset(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)


class _Descriptor:
    """File descriptor 1 pointed at standard error while a command works.

    Native code (a solver's C or Rust ``printf``) and child processes (Dask
    and loky workers, which inherit descriptor 1) write to the descriptor,
    not to ``sys.stdout``. :meth:`divert` keeps a copy of the real standard
    output, points descriptor 1 at standard error and returns an
    :class:`_Output` on the copy for the command's output; :meth:`restore`
    puts descriptor 1 back.

    Only where ``sys.stdout`` is the interpreter's own standard output on
    descriptor 1 and standard error is on descriptor 2, on POSIX: not in a
    Python caller that replaced ``sys.stdout`` (a notebook, a test's
    capture), whose descriptor 1 is not the command's output, nor on
    Windows, whose console streams are not plain file descriptors.

    Parameters
    ----------
    product : _Output
        The guarded standard output (:func:`_with_output`).

    Notes
    -----
    Why the descriptor and not only ``sys.stdout``: a Dask worker or loky
    process started by the command, and a native solver (cvxpy's with
    ``verbose=True``), would otherwise write into the ``--json`` a script
    reads. The risks weighed: child processes that outlive the command
    (loky's reusable executor, in a Python caller of ``main``) keep
    standard error as their descriptor 1, which only moves their prints to
    stderr; a stop between the two ``dup2`` calls of :meth:`restore` is
    held off by blocking the stop signals there; a process killed outright
    (SIGKILL) takes its descriptors with it. The copy of descriptor 1 is
    not inheritable, so a child process cannot keep the real output open.
    """

    def __init__(self, product):
        self.product = product
        self.saved = None
        self.out = None

    def divert(self):
        """Point descriptor 1 at standard error; return the output's stream.

        Returns
        -------
        out : _Output or None
            The command's output, on a copy of the real descriptor 1; None
            where nothing was changed (see the class).
        """
        stream = getattr(self.product, "stream", None)
        if os.name != "posix" or stream is None or stream is not sys.__stdout__:
            return None
        try:
            if stream.fileno() != 1 or sys.stderr.fileno() != 2:
                return None
        except (AttributeError, OSError, ValueError):  # not a real file
            return None
        self.product.flush()  # what was printed before goes out first
        sys.stderr.flush()
        self.saved = os.dup(1)  # not inherited by child processes
        os.dup2(2, 1)
        raw = open(self.saved, "wb", closefd=False)
        self.out = _Output(
            io.TextIOWrapper(
                raw,
                encoding=stream.encoding,
                errors=stream.errors,
                line_buffering=stream.line_buffering,
                write_through=stream.write_through,
            )
        )
        return self.out

    def restore(self, failing):
        """Write out the command's output and put descriptor 1 back.

        Signals are held meanwhile (a Ctrl-C or SIGTERM then arrives right
        after), so that the descriptor is not left pointing at standard
        error by a stop between the two steps.

        Parameters
        ----------
        failing : bool
            Whether the command is ending with an exception: then a failed
            write of the rest of its output is not raised over it (the
            output's descriptor is pointed at ``os.devnull`` and the rest
            discarded).

        Raises
        ------
        _OutputError
            The rest of the output could not be written (when not
            ``failing``).
        """
        if self.saved is None:
            return
        blocked = hasattr(signal, "pthread_sigmask") and (
            threading.current_thread() is threading.main_thread()
        )
        if blocked:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
        error = None
        try:
            # text written to sys.__stdout__ itself meanwhile: stderr's
            sys.__stdout__.flush()
            try:
                self.out.flush()
            except _OutputError as exc:
                error = exc
                _point_at_devnull(self.saved)
            os.dup2(self.saved, 1)
            # the buffer (empty, or discarded into os.devnull)
            self.out.stream.close()
            os.close(self.saved)
            self.saved = None
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if error is not None and not failing:
            raise error


@contextlib.contextmanager
def _work():
    """Send what is written to standard output meanwhile to standard error.

    In the block ``sys.stdout`` is a :class:`_ToStderr`: a plugin's
    ``print``, skorch's training log or a solver's verbose output go to
    standard error, where the command's progress and notes are, and the
    output a script reads (``--json``) stays whole; the command writes its
    own output to :func:`_product`. Where ``sys.stdout`` is the process's
    standard output on descriptor 1 (the ``sertl`` command; see
    :class:`_Descriptor`), descriptor 1 itself leads to standard error too,
    for native code and child processes. Everything is put back when the
    block ends, also on an exception, Ctrl-C or a stop signal. Nested
    blocks are the outer one.

    Yields
    ------
    product : file object
        The command's output (:func:`_product`).
    """
    if isinstance(sys.stdout, _ToStderr):
        yield sys.stdout.product
        return
    before = sys.stdout
    fd = _Descriptor(before)
    try:
        product = fd.divert() or before
        sys.stdout = _ToStderr(product)
        yield product
    except BaseException:
        sys.stdout = before
        fd.restore(failing=True)
        raise
    else:
        sys.stdout = before
        fd.restore(failing=False)


def _with_output(run, argv, *args):
    """Return ``run(*args)``, its standard output guarded.

    While ``run`` runs, ``sys.stdout`` is an :class:`_Output`; its output is
    flushed when it returns or exits (``--help``, a usage error), where a
    failure can still be told. Exit status 1 when the reader of the output
    went away (``sertl predict ... | head``: quietly, as Python's
    documentation recommends); 2, with one line on stderr, when the output
    could not be written (a full disk, an I/O error). In both cases the
    rest of the output is discarded, so that the interpreter's own flush at
    exit does not fail again.

    Parameters
    ----------
    run : callable
        The command.
    argv : list of str or None
        The command line (``sys.argv[1:]`` when None), to name the command.
    *args
        Passed to ``run``.

    Returns
    -------
    code : int
        ``run``'s exit status, or 1 or 2 as above.
    """
    stream = sys.stdout
    sys.stdout = _Output(stream)
    try:
        try:
            code = run(*args)
        except SystemExit:
            sys.stdout.flush()  # --help, --version: printed, not yet written
            raise
        sys.stdout.flush()
        return code
    except _OutputError as exc:
        _stdout_to_devnull(stream)
        if isinstance(exc.error, BrokenPipeError):
            return 1
        words = sys.argv[1:] if argv is None else argv
        command = next((a for a in words if not a.startswith("-")), "")
        reason = exc.error.strerror or str(exc.error)
        hint = (
            " (free space on its disk, or redirect the output elsewhere)"
            if exc.error.errno in _FULL_ERRNOS
            else ""
        )
        print(
            f"sertl{' ' + command if command else ''}: error: cannot write the "
            f"output to standard output: {reason}; the output is incomplete{hint}.",
            file=sys.stderr,
        )
        return 2
    finally:
        if isinstance(sys.stdout, _Output) and sys.stdout.stream is stream:
            sys.stdout = stream


_FULL_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG")
    if hasattr(errno, name)
)


def _stdout_to_devnull(stream=None):
    """Point the standard output's file descriptor at ``os.devnull``.

    What is left in the buffer of ``stream`` (``sys.stdout`` when None) is
    then discarded by the interpreter's flush at exit, instead of failing
    again there.
    """
    stream = _product() if stream is None else stream
    if isinstance(stream, _Output):
        stream = stream.stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (e.g. captured in a test): nothing to flush
    _point_at_devnull(fd)


def _point_at_devnull(fd):
    """Point file descriptor ``fd`` at ``os.devnull``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    # `python -m sertl_core.cli`: the main of the module sertl_core.cli, not
    # of this __main__ copy, whose StoppedBySignal the plugins' commands
    # (which import sertl_core.cli) would not know
    from sertl_core.cli import main as _sertl_main

    sys.exit(_sertl_main())
