"""The ``sertl`` command's standard output in scripts, pipes and batch jobs.

Each test runs the command in a fresh interpreter whose standard output is
a closed pipe, a full disk (``/dev/full``), a closed descriptor or an ASCII
stream: what the process prints on stderr and its exit status at
interpreter exit cannot be seen in this one.
"""

import json
import os
import subprocess
import sys

import pytest

posix_only = pytest.mark.skipif(
    os.name != "posix", reason="closes a child's descriptor (POSIX exec)"
)

# a command that prints non-ASCII text (a Turkish and an Urdu label) as its
# output, run through sertl's main as the console script does
_NON_ASCII = """
import argparse, sys
from sertl_core import cli

def build():
    p = argparse.ArgumentParser(prog="sertl")
    s = p.add_subparsers().add_parser("labels")
    s.set_defaults(func=lambda args: print("öfke غم", file=cli._product()) or 0)
    return p

cli.build_parser = build
sys.exit(cli.main(["labels"]))
"""


def _env(buffered=True, **extra):
    """The environment of a child ``sertl``: buffered output unless told."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _sertl(*args):
    return [sys.executable, "-m", "sertl_core.cli", *args]


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["plugins", "--json"]], ids=" ".join
)
def test_a_reader_that_closed_the_pipe_ends_the_command_quietly_with_1(args, buffered):
    # `sertl --help | head -1`: argparse's help met the closed pipe at exit,
    # "Exception ignored ... BrokenPipeError" and status 120 (buffered) or
    # no word and status 0 (unbuffered: argparse swallows write errors)
    proc = subprocess.Popen(
        _sertl(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(buffered),
        text=True,
    )
    proc.stdout.close()  # the reader is gone before anything is printed
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1, err
    assert err == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    ("args", "name"),
    [(["plugins"], "sertl plugins"), (["--help"], "sertl"), (["--version"], "sertl")],
    ids=["plugins", "help", "version"],
)
def test_output_to_a_full_disk_is_one_line_and_status_2(args, name, buffered):
    # `sertl plugins > /dev/full` ended in an OSError traceback (status 1),
    # `sertl --help > /dev/full` in status 120 or, unbuffered, 0 and no word
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            _sertl(*args),
            stdout=full,
            stderr=subprocess.PIPE,
            env=_env(buffered),
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"{name}: error: cannot write the output to standard output: No space "
        "left on device; the output is incomplete (free space on its disk, or "
        "redirect the output elsewhere).\n"
    )


@posix_only
@pytest.mark.parametrize("args", [["plugins"], ["--help"]], ids=" ".join)
def test_a_closed_standard_output_is_refused_with_one_line(args):
    # `sertl plugins >&-`: printed nothing, then an AttributeError traceback
    # ('NoneType' object has no attribute 'flush')
    start = (
        "import os, sys; os.close(1); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", start, *_sertl(*args)[1:]],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "sertl: error: standard output is closed (>&-); redirect it to a file, "
        "or to /dev/null to discard the output.\n"
    )


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_text_the_output_encoding_lacks_is_escaped_not_an_error(encoding):
    # an ASCII locale (LC_ALL=C without UTF-8 mode) or output redirected on
    # Windows (cp1252): a Turkish or Urdu label ended the command with a
    # UnicodeEncodeError traceback
    proc = subprocess.run(
        [sys.executable, "-c", _NON_ASCII],
        capture_output=True,
        env=_env(PYTHONIOENCODING=encoding),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    shown = "öfke" if encoding == "latin-1" else "\\xf6fke"
    assert proc.stdout.decode(encoding) == f"{shown} \\u063a\\u0645\n"


def test_help_documents_the_exit_status_and_the_streams(capsys):
    from sertl_core.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 done; 1 the command failed in part" in out
    assert "standard output closed, a full disk: one line on stderr" in out
    assert "the reader of the output went away (sertl ... | head)" in out
    assert "progress, notes, warnings and errors are on stderr" in out


# `sertl plugins --json` whose plugins print as they are loaded: in Python,
# from native code (a write to descriptor 1) and from a child process; then,
# after main() returns, the same three on standard output again
_NOISY_PLUGINS = """
import os, subprocess, sys
from sertl_core import cli

real = cli.get_registry

def noisy():
    print("a plugin's print")
    os.write(1, b"a solver's native printf\\n")
    subprocess.run([sys.executable, "-c", "print('a worker process')"], check=True)
    return real()

cli.get_registry = noisy
code = cli.main(["plugins", "--json"])
sys.stdout.flush()
assert sys.stdout is sys.__stdout__, sys.stdout
print("after: print")
sys.stdout.flush()
os.write(1, b"after: native\\n")
sys.exit(code)
"""


@posix_only
def test_what_a_command_s_work_prints_goes_to_stderr_and_its_json_stays_whole():
    # a plugin's print, a solver's verbose native output or a worker
    # process's print during `sertl plugins --json` (grid --json, predict
    # --json) came before the JSON on stdout, which no longer parsed
    proc = subprocess.run(
        [sys.executable, "-c", _NOISY_PLUGINS],
        capture_output=True,
        env=_env(),
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    product, after = proc.stdout.rsplit("}\n", 1)
    names = {c["name"] for c in json.loads(product + "}")["classes"]}
    assert "source_only" in names
    assert after == "after: print\nafter: native\n"
    for noise in ("a plugin's print", "a solver's native printf", "a worker process"):
        assert noise in proc.stderr


# a command that prints, writes to descriptor 1 and is then stopped by
# SIGTERM or fails; after main() returns, standard output is the real one
_STOPPED = """
import argparse, os, signal, sys
from sertl_core import cli

def work(args):
    print("work")
    os.write(1, b"native work\\n")
    if args.how == "signal":
        signal.raise_signal(signal.SIGTERM)
    raise RuntimeError("a bug")

def build():
    p = argparse.ArgumentParser(prog="sertl")
    s = p.add_subparsers(dest="command").add_parser("work")
    s.add_argument("how")
    s.set_defaults(func=work)
    return p

cli.build_parser = build
try:
    code = cli.main(["work", sys.argv[1]])
except RuntimeError:
    code = 1
print("after: print", flush=True)
os.write(1, b"after: native\\n")
sys.exit(code)
"""


@posix_only
@pytest.mark.parametrize(("how", "code"), [("signal", 143), ("bug", 1)])
def test_standard_output_is_back_after_a_stop_signal_or_an_exception(how, code):
    # guards that what main() changed is put back whatever ends the command
    proc = subprocess.run(
        [sys.executable, "-c", _STOPPED, how],
        capture_output=True,
        env=_env(),
        text=True,
        timeout=120,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == "after: print\nafter: native\n"
    assert proc.stderr.startswith("work\nnative work\n"), proc.stderr


@pytest.mark.parametrize(
    ("args", "last"),
    [
        ([], "sertl: error: the following arguments are required: COMMAND"),
        (["frob"], "sertl: error: argument COMMAND: invalid choice: 'frob'"),
        (["--frob"], "sertl: error: unrecognized arguments: --frob"),
        (["plugins", "--frob"], "sertl plugins: error: unrecognized arguments"),
        (["new-plugin"], "sertl new-plugin: error: the following arguments"),
    ],
    ids=["bare", "no-such-command", "no-such-option", "command-option", "missing"],
)
def test_every_usage_error_is_on_stderr_with_status_2(args, last, capsys):
    # bare `sertl` printed its help on stdout and exited with 1, which the
    # documented statuses give to a command that failed in part
    from sertl_core.cli import main

    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("usage: sertl")
    assert err.rstrip("\n").splitlines()[-1].startswith(last), err
