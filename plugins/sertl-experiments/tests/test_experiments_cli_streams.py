"""``sertl predict`` and ``sertl run`` writing to what a script gives them.

The commands run in a fresh interpreter (``python -m sertl_core.cli``, as
the console script), with an ASCII output encoding, a full disk as stdout,
or stderr that is not a terminal.
"""

import io
import json
import os
import subprocess
import sys

import pytest


def _env(**extra):
    """A child's environment: buffered output, as in a terminal session."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def labelled_in_turkish_and_urdu(small_audio_model, tmp_path_factory):
    """A saved model whose classes are ``öfke`` (anger) and ``غم`` (sadness)."""
    from sertl_experiments import save_model
    from sertl_speech import load_sample
    from sklearn.base import clone

    model, files = small_audio_model
    table = load_sample("emodb", emotions=["anger", "sadness"])
    names = {"anger": "öfke", "sadness": "غم"}
    y = [names[e] for e in table["emotion"][:6]]
    refit = clone(model).fit(list(table["file"][:6]), y)
    path = tmp_path_factory.mktemp("model") / "m.skops"
    save_model(refit, path, metadata={"classes": sorted(names.values())})
    return path, files


def test_predict_prints_labels_an_ascii_output_cannot_hold_as_escapes(
    labelled_in_turkish_and_urdu,
):
    # LC_ALL=C without UTF-8 mode, or output redirected on Windows: the
    # table's header ended the command with a UnicodeEncodeError traceback
    path, files = labelled_in_turkish_and_urdu
    proc = subprocess.run(
        [sys.executable, "-m", "sertl_core.cli", "predict", str(path), *files],
        capture_output=True,
        env=_env(PYTHONIOENCODING="ascii"),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    head, *rows = proc.stdout.decode("ascii").splitlines()
    assert head.split() == ["file", "emotion", "\\xf6fke", "\\u063a\\u0645"]
    assert len(rows) == len(files)
    assert {r.split()[1] for r in rows} <= {"\\xf6fke", "\\u063a\\u0645"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_predict_json_to_a_full_disk_is_one_line_and_status_2(
    labelled_in_turkish_and_urdu,
):
    # the command's full-disk message ("Free space there (or give another
    # folder)") was followed by a traceback of the same error and Python's
    # "Exception ignored ... OSError" at exit, status 120
    path, files = labelled_in_turkish_and_urdu
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "sertl_core.cli", "predict", "--json", str(path)]
            + files,
            stdout=full,
            stderr=subprocess.PIPE,
            env=_env(),
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "sertl predict: error: cannot write the output to standard output: No "
        "space left on device; the output is incomplete (free space on its disk, "
        "or redirect the output elsewhere).\n"
    )


def test_predict_json_on_stdout_stays_valid_when_files_fail(
    labelled_in_turkish_and_urdu, tmp_path
):
    # already right: notes and errors on stderr, one JSON object on stdout
    path, files = labelled_in_turkish_and_urdu
    bad = tmp_path / "bozuk_ğ.wav"
    bad.write_bytes(b"not audio")
    proc = subprocess.run(
        [sys.executable, "-m", "sertl_core.cli", "predict", "--json", str(path)]
        + [*files, str(bad), str(tmp_path / "yok.wav")],
        capture_output=True,
        env=_env(),
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert [p["error"] is None for p in out["predictions"]] == [True] * len(files) + [
        False,
        False,
    ]
    assert "yok.wav: no such file or folder" in proc.stderr


@pytest.mark.parametrize(
    ("terminal", "extra", "progress"),
    [(True, [], True), (True, ["--no-progress"], False), (False, [], False)],
    ids=["terminal", "no-progress", "log-file"],
)
def test_run_and_demo_draw_progress_bars_on_a_terminal_only(
    tmp_path, monkeypatch, capsys, terminal, extra, progress
):
    # `sertl run exp.toml 2> log` (a CI job, a batch job) filled the log with
    # tqdm's carriage-return redraws, several a second for the whole run
    from sertl_experiments import ExperimentError, _runner

    from sertl_core.cli import main

    seen = []

    def run_experiment(cfg, *, progress, **_):
        seen.append(progress)
        raise ExperimentError("stopped by the test")

    monkeypatch.setattr(_runner, "run_experiment", run_experiment)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'output = "out"\n[corpora.emodb]\nroot = "sample"\n'
        '[corpora.ravdess]\nroot = "sample"\n[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), *extra]) == 2
    assert main(["demo", "--output", str(tmp_path / "demo"), *extra]) == 2
    assert seen == [progress, progress]
    assert "stopped by the test" in capsys.readouterr().err


@pytest.mark.parametrize("entry", ["sertl", "python -m sertl_experiments"])
def test_predict_json_stays_valid_when_the_model_prints_while_it_works(
    labelled_in_turkish_and_urdu, monkeypatch, capsys, entry
):
    # a print in the work (skorch's epoch table with verbose=1, a solver's
    # log, a user plugin's print) came before the JSON on stdout, which then
    # did not parse
    from sertl_experiments import _cli, _predict

    from sertl_core import cli

    real = _predict.predict_files

    def chatty(*args, **kwargs):
        print("epoch 1  train_loss 0.693")
        return real(*args, **kwargs)

    monkeypatch.setattr(_predict, "predict_files", chatty)
    path, files = labelled_in_turkish_and_urdu
    main = cli.main if entry == "sertl" else _cli.main
    assert main(["predict", "--json", str(path), *files]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["predictions"]) == len(files)
    assert "epoch 1  train_loss 0.693" in err
    assert sys.stdout is not None and not isinstance(sys.stdout, cli._ToStderr)


class _Terminal(io.StringIO):
    """What a terminal shows, as the text written to it (``isatty`` true)."""

    def isatty(self):
        return True


def test_failed_cell_lines_print_above_a_live_progress_bar(monkeypatch):
    # `cell X failed: ...` continued the bar's line ("cells:  50%|... ]cell
    # a__b failed"), and the bar's next redraw overwrote it in part
    from pathlib import Path

    from sertl_experiments import _cli, _runner

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(_runner, "_write_cell", lambda path, cell: None)
    monkeypatch.setattr(
        _runner, "run_cell", lambda task: {"status": "error", "error": f"boom {task}"}
    )
    tasks = [(Path("emodb__ravdess__dss"), 0), (Path("emodb__ravdess__tca"), 1)]
    done = _runner._execute(
        tasks, client=None, progress=True, n_jobs=None, log=_cli._log
    )
    assert len(done) == 2
    shown = terminal.getvalue()
    for i, (path, task) in enumerate(tasks):
        line = f"cell {path.stem} failed: boom {task}\n"
        at = shown.index(line)
        # the bar was cleared ("\r", blanks, "\r") before the line, and is
        # drawn again below it
        assert shown[:at].endswith("\r"), shown
        assert shown[at + len(line) :].startswith("\rcells:"), shown
        assert f"{i + 1}/2" in shown[at:]
