"""The ``sertl`` command line.

The core provides ``sertl plugins``, ``sertl corpora`` and ``sertl
new-plugin``; installed plugins add their own sub-commands through the
``sertl_add_commands`` hook (e.g. ``sertl run`` and ``sertl demo`` from
sertl-experiments).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from . import __version__
from .registry import KINDS, PluginLoadWarning, RegistryError, get_registry

__all__ = ["build_parser", "main"]


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
    if args.json:
        print(json.dumps({"classes": rows, "failed_plugins": reg.failures}, indent=2))
        return 0
    _print_table(rows, ["kind", "name", "class", "distribution"])
    for plugin, err in reg.failures.items():
        dist = reg.distribution(plugin)
        where = f" ({dist})" if dist and dist not in plugin else ""
        print(f"\nsertl: plugin {plugin!r}{where}: {err}", file=sys.stderr)
    return 0


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
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No corpus readers installed: pip install sertl-speech")
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
    print(f"Wrote {path}")
    print(f"Next: pip install -e {path} && pytest {path}")
    return 0


def _print_table(rows, columns):
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(str(r[c] or "").ljust(widths[c]) for c in columns).rstrip())


def build_parser():
    """Build the argument parser, with the sub-commands of installed plugins.

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
    )
    parser.add_argument("--version", action="version", version=f"sertl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # main() lets the command's own parser report arguments it does not know
    parser.set_defaults(_command_parsers=sub.choices)

    p = sub.add_parser("plugins", help="list every registered class and its plugin")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--kind", choices=list(KINDS), help="only this kind")
    p.set_defaults(func=_cmd_plugins)

    p = sub.add_parser("corpora", help="list the installed corpus readers")
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
    p.add_argument("--force", action="store_true", help="overwrite an existing folder")
    p.set_defaults(func=_cmd_new_plugin)

    try:
        pm = get_registry().plugin_manager
    except RegistryError as exc:
        print(f"sertl: plugin registry error: {exc}", file=sys.stderr)
        return parser
    for impl in pm.hook.sertl_add_commands.get_hookimpls():
        try:
            impl.function(subparsers=sub)
        except Exception as exc:  # one broken plugin must not break the CLI
            name = pm.get_name(impl.plugin)
            print(
                f"sertl: plugin {name!r} could not add its commands and they are "
                f"unavailable: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
    return parser


def main(argv=None):
    """Run the ``sertl`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        Exit status.

    Examples
    --------
    >>> import contextlib, io
    >>> from sertl_core.cli import main
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = main(["plugins", "--json"])
    >>> code, '"source_only"' in out.getvalue()
    (0, True)
    """
    with warnings.catch_warnings():
        # Broken plugins are reported by `sertl plugins`; keep other output clean.
        warnings.simplefilter("ignore", PluginLoadWarning)
        parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # name the command in the message and show its usage, not the top level's
        own = args._command_parsers.get(args.command) if args.command else None
        (own or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        with warnings.catch_warnings():
            # the registry calls the plugins' hooks on its first look-up, in
            # the command: their problems are reported by `sertl plugins` too
            warnings.simplefilter("ignore", PluginLoadWarning)
            code = int(args.func(args) or 0)
        # buffered output to a pipe is written here, where a closed reader
        # is caught, and not at exit, where Python could only warn
        sys.stdout.flush()
        return code
    except RegistryError as exc:
        print(f"sertl: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader of the output went away (``sertl predict ... | head``):
        # stop quietly, and keep the interpreter's last flush from failing
        _stdout_to_devnull()
        return 1


def _stdout_to_devnull():
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (e.g. captured in a test): nothing to flush
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
