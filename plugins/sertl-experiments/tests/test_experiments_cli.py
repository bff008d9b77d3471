import json
import os
import re
import signal
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sertl_experiments._cli import main

from sertl_core.registry import PluginLoadWarning


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


def test_bad_config_gives_one_message_and_exit_2(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[corpora.a]\nroot = "x"\n[corpora.b]\nroot = "y"\n'
        '[protocol]\nmetric = "f2"\n[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp)]) == 2
    err = capsys.readouterr().err
    assert "[protocol] metric: must be" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('[[methods]]\nname = "x"\nadapter = "corall"\n', "x adapter: No adapter"),
        ('[[methods]]\nname = "x"\nscorers = []\n', "x scorers: list at least"),
        (
            '[features]\nset = "functionalz"\n[[methods]]\nname = "x"\n',
            "exp.toml: [features] set: unknown feature set 'functionalz'. Did you "
            "mean 'functionals'?",
        ),
        (
            # a sequence set: a traceback from numpy before
            '[features]\nset = "logmel"\n[[methods]]\nname = "x"\n',
            'exp.toml: [features] set: "logmel" gives a sequence of frames',
        ),
        (
            # a bad feature parameter names the file, before any corpus is read
            '[features]\nparams = { sample_rate = -5 }\n[[methods]]\nname = "x"\n',
            "exp.toml: [features]: The 'sample_rate' parameter",
        ),
        (  # named "[features]" and listed arguments the file never gave
            '[features]\nparams = { sr = 16000 }\n[[methods]]\nname = "x"\n',
            "exp.toml: [features] params: Cannot create 'audio_features'",
        ),
    ],
)
def test_bad_method_or_features_give_one_message_and_exit_2(
    tmp_path, capsys, extra, match
):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[corpora.emodb]\nroot = "sample"\n[corpora.ravdess]\nroot = "sample"\n' + extra
    )
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert "Traceback" not in err and "cell" not in err and "features:" not in err


def test_missing_corpus_is_reported(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[corpora.a]\nreader = "emodb"\nroot = "nowhere"\n'
        '[corpora.b]\nreader = "ravdess"\nroot = "sample"\n'
        '[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "[corpora.a] root:" in err and "does not exist" in err


@pytest.mark.parametrize(
    ("corpora", "extra", "match"),
    [
        (
            # a class no corpus has was dropped without a word before
            ("sample", "sample"),
            '[labels]\nclasses = ["anger", "sadnes", "happiness"]\n',
            r"exp\.toml: \[labels\] classes: 'sadnes' is in none of the corpora "
            r"\(emodb, ravdess\), whose emotions are .*sadness.*; check the "
            r"spelling, or map",
        ),
        (
            # errors found while reading the corpora name the file too
            ("nowhere", "sample"),
            "",
            r"exp\.toml: \[corpora\.emodb\] root: '\S*nowhere' does not exist",
        ),
    ],
)
def test_corpus_and_class_errors_name_the_file_before_any_feature(
    tmp_path, capsys, corpora, extra, match
):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'[corpora.emodb]\nroot = "{corpora[0]}"\n'
        f'[corpora.ravdess]\nroot = "{corpora[1]}"\n{extra}[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"^sertl run: error: \S*" + match, err), err
    assert "Traceback" not in err and "features:" not in err


def test_grid_reports_capped_k_and_aligns_long_method_names(
    capsys, cache_dir, monkeypatch
):
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    args += ["--methods", "dss,subspace_alignment", "--cache-dir", str(cache_dir)]
    pytest.importorskip("sertl_feature")
    assert main([*args, "--few-shot", "100", "--json"]) == 0
    captured = capsys.readouterr()
    entry = json.loads(captured.out)[0]
    # the sample has 12 files per class, some held out for the test set
    assert 0 < max(entry["k_used"].values()) < 100
    assert re.search(
        r"emodb -> ravdess; seed 0: fewer labelled target rows than "
        r"k = 100 for \{'anger': \d+",
        captured.err,
    )
    assert main([*args, "--param", "classifier__C=1,10"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [ln for ln in out if "reverse_validation=" in ln]
    assert len(rows) == 4 and len({ln.index("reverse_validation=") for ln in rows}) == 1
    assert re.search(r"^best: \S+ \{'classifier__C': (1|10)\}$", out[-1]), out


def test_unknown_method_and_missing_model(capsys, tmp_path):
    assert (
        main(
            [
                "grid",
                "--source",
                "emodb=sample",
                "--target",
                "ravdess=sample",
                "--methods",
                "dss,wizardry",
            ]
        )
        == 2
    )
    assert "--methods: unknown method 'wizardry'" in capsys.readouterr().err
    assert main(["grid", "--source", "emodb", "--target", "ravdess=sample"]) == 2
    assert "--source: expected READER=ROOT" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.skops"), "a.wav"]) == 2
    assert "does not exist" in capsys.readouterr().err
    # a sertl model file that holds no audio pipeline: one line, not a traceback
    from sertl_experiments import save_model
    from sklearn.linear_model import LogisticRegression

    plain = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    path = save_model(plain, tmp_path / "plain.skops")
    assert main(["predict", str(path), "a.wav"]) == 2
    assert "holds a LogisticRegression, not a model that labels audio files" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--seed", "-1"], "--seed: must be >= 0"),
        (["--param", "classifier__Cx=1,2"], "--param classifier__Cx: Invalid param"),
        (["--param", "classifier__C=1,-1"], "--param classifier__C: The 'C' param"),
        (["--classes", "anger,wizard"], "--classes: 'wizard' is in none of the"),
    ],
)
def test_grid_bad_arguments_give_one_message(capsys, cache_dir, extra, match):
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    args += ["--methods", "dss", "--cache-dir", str(cache_dir), "--json", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_grid_saves_a_model_that_predicts_audio(tmp_path, capsys, cache_dir):
    from sertl_speech import load_sample

    model = tmp_path / "model.skops"
    rc = main(
        [
            "grid",
            "--source",
            "emodb=sample",
            "--target",
            "ravdess=sample",
            "--methods",
            "no_adaptation,dss",
            "--param",
            "classifier__C=1,10",
            "--cache-dir",
            str(cache_dir),
            "--save",
            str(model),
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    entry = out[0]
    assert entry["classes"] == ["anger", "happiness", "neutral", "sadness"]
    assert [c["method"] for c in entry["candidates"]] == ["no_adaptation"] * 2 + [
        "dss"
    ] * 2
    assert entry["best"] in {"no_adaptation", "dss"}
    # parameters are named as given to --param, not by the search template
    assert [c["params"] for c in entry["candidates"]] == [
        {"classifier__C": 1},
        {"classifier__C": 10},
    ] * 2
    assert model.is_file()
    from sertl_experiments import load_model

    # the saved step names files without features (was errors="nan")
    assert load_model(model)[0][0].get_params()["errors"] == "raise"

    files = list(load_sample("ravdess")["file"][:3])
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    rc = main(["predict", str(model), *files, str(broken), "--json"])
    assert rc == 1  # one file could not be labelled
    res = json.loads(capsys.readouterr().out)
    rows = {r["file"]: r for r in res["predictions"]}
    assert rows[str(broken)]["emotion"] is None and rows[str(broken)]["error"]
    for f in files:
        r = rows[f]
        assert r["emotion"] in entry["classes"]
        assert sum(r["probabilities"].values()) == pytest.approx(1.0)
    assert main(["predict", str(model), files[0]]) == 0
    table = capsys.readouterr().out
    assert "emotion" in table and "anger" in table
    assert Path(files[0]).name in table and str(Path(files[0]).parent) not in table
    # two files of one name in two folders: the table shows their paths
    import shutil

    twins = [tmp_path / d / "x.flac" for d in ("d1", "d2")]
    for t in twins:
        t.parent.mkdir()
        shutil.copy(files[0], t)
    assert main(["predict", str(model), *map(str, twins)]) == 0
    table = capsys.readouterr().out
    assert all(str(t) in table for t in twins)


def _run_dss(tmp_path, emodb_root, ravdess_root, cache_dir, emodb_reader="emodb"):
    """Run a one-method EmoDB <-> RAVDESS experiment into tmp_path/out."""
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'output = "out"\n[corpora.emodb]\nreader = "{emodb_reader}"\n'
        f'root = "{emodb_root}"\n'
        f'[corpora.ravdess]\nreader = "ravdess"\nroot = "{ravdess_root}"\n'
        f'[features]\ncache_dir = "{cache_dir}"\n'
        "[protocol]\nbootstrap = 0\nselection_splits = 1\n"
        '[[methods]]\nname = "dss"\n'
    )
    return main(["run", str(exp), "--no-progress"])


def test_unreadable_files_are_reported_and_skipped(tmp_path, capsys, cache_dir):
    import shutil

    import pandas as pd
    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    bad = root / "wav" / "03a01Wb.flac"  # a valid EmoDB name, corrupt content
    bad.write_bytes(b"fLaC-not-really")
    assert _run_dss(tmp_path, root, "sample", cache_dir) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "1 file(s) were skipped (unreadable, or named against" in captured.err
    html = (tmp_path / "out" / "report.html").read_text()
    assert "03a01Wb.flac" in html
    df = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (df["status"] == "ok").all()


_DIES_ON = """
import os, sys
import sertl_speech._extract as ex
from sertl_experiments._cli import main

TARGET = sys.argv[2]  # a value: the retry's worker process has another argv
real_load, real_chunk = ex.load_audio, ex._extract_chunk

def load_audio(path, **kw):
    if os.path.basename(path) == TARGET:
        os._exit(3)  # as a segfault in the decoder or the OOM killer would
    return real_load(path, **kw)

def chunk(entries, *args):  # the same decoder in a worker process
    ex.load_audio = load_audio
    return real_chunk(entries, *args)

ex.load_audio, ex._extract_chunk = load_audio, chunk
sys.exit(main(["run", sys.argv[1], "--no-progress"]))
"""


def _in_process_experiment(tmp_path):
    """An EmoDB copy <-> RAVDESS experiment extracting in the run's own process."""
    import shutil

    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'output = "out"\n[corpora.emodb]\nroot = "{root}"\n'
        '[corpora.ravdess]\nroot = "sample"\n'
        f'[features]\ncache_dir = "{tmp_path / "cache"}"\nn_jobs = 1\n'
        "[protocol]\nbootstrap = 0\nselection_splits = 1\n"
        '[[methods]]\nname = "dss"\n'
    )
    return exp, root


def test_run_gets_past_a_file_that_kills_the_process(tmp_path):
    # [features] n_jobs = 1: a file whose decoder crashes the process stopped
    # `sertl run` at that file on every resume (the finished features were
    # kept, but the run never got past it)
    import subprocess
    import sys

    exp, root = _in_process_experiment(tmp_path)
    killer = "03a02Ta.flac"

    def run():
        return subprocess.run(
            [sys.executable, "-c", _DIES_ON, str(exp), killer],
            capture_output=True,
            text=True,
            timeout=600,
        )

    first = run()
    assert first.returncode == 3, first.stderr
    # the same crashing decoder: tried once more alone, in a worker process
    second = run()
    assert second.returncode == 0, second.stderr
    log = second.stdout + second.stderr
    (record,) = (tmp_path / "cache").rglob("*.crashed.json")
    why = "failed: decoding it ended an earlier run (process "
    line = next(ln for ln in log.splitlines() if f"skipped {root}" in ln)
    assert line.startswith(f"  skipped {root / 'wav' / killer}: {why}"), log
    assert "it ended the separate process that tried it again alone too" in line
    assert f"delete {record} " in line
    assert "1 file(s) were skipped" in second.stderr
    md = (tmp_path / "out" / "results.md").read_text(encoding="utf-8")
    skipped_md = md.split("## Skipped files", 1)[1]
    assert killer in skipped_md and "ended an earlier run" in skipped_md
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert killer in html and "ended an earlier run" in html
    df = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (df["status"] == "ok").all()


_STALLS_ON = """
import os, sys, time
import sertl_speech._extract as ex
from sertl_core.cli import main

real = ex.load_audio

def load_audio(path, **kw):
    if os.path.basename(path) == sys.argv[2]:
        time.sleep(600)  # the test stops or kills the run here
    return real(path, **kw)

ex.load_audio = load_audio
sys.exit(main(["run", sys.argv[1], "--no-progress"]))
"""


def _run_stalled_on(exp, cache, name):
    """Start ``sertl run EXP`` whose decoder stalls on the file ``name``.

    Returns the process once the run's crash marker names that file: the
    file is being decoded in the run's own process (a marker of another
    file lasts ~10 ms, too short to hit by chance).
    """
    import json
    import subprocess
    import sys
    import time

    stalls = [sys.executable, "-c", _STALLS_ON, str(exp), name]
    proc = subprocess.Popen(stalls, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def marked():
        for marker in cache.rglob(".decoding-*.json"):
            try:
                info = json.loads(marker.read_text(encoding="utf-8"))
            except FileNotFoundError:  # removed meanwhile: the next file's
                continue
            return info["file"].endswith(name)
        return False

    deadline = time.monotonic() + 300
    try:
        while not marked():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the file was never decoded"
            time.sleep(0.01)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 (POSIX signals)")
def test_run_killed_while_decoding_a_healthy_file_does_not_skip_it_later(tmp_path):
    # `sertl run` ended by kill -9 (the OOM killer, a power loss) while it
    # decoded a healthy file: every later run skipped that file as one that
    # crashed the process (one file fewer in the results, for good)
    import signal
    import subprocess

    exp, _ = _in_process_experiment(tmp_path)
    cache = tmp_path / "cache"
    proc = _run_stalled_on(exp, cache, "03a02Ta.flac")
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    second = subprocess.run(
        _sertl("run", str(exp), "--no-progress"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr
    assert "skipped" not in second.stdout + second.stderr
    assert not list(cache.rglob("*.crashed.json"))
    assert not list(cache.rglob(".decoding-*.json"))


def test_ctrl_c_during_extraction_blames_no_file(tmp_path, capsys, monkeypatch):
    # Ctrl-C while a file is decoded stops the run (130); the next run
    # decodes that file, it does not report it as one that ended a run
    import sertl_speech._extract as ex

    exp, root = _in_process_experiment(tmp_path)
    real = ex.load_audio

    def interrupted(path, **kw):
        if path.endswith("03a02Ta.flac"):
            raise KeyboardInterrupt
        return real(path, **kw)

    monkeypatch.setattr(ex, "load_audio", interrupted)
    assert main(["run", str(exp), "--no-progress"]) == 130
    monkeypatch.setattr(ex, "load_audio", real)
    assert main(["run", str(exp), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "skipped" not in captured.out + captured.err.split("interrupted", 1)[1]
    assert not list((tmp_path / "cache").rglob("*.crashed.json"))


def _sertl(*args):
    """The command line of ``sertl ARGS`` (the console script's main)."""
    import sys

    code = "import sys; from sertl_core.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


@pytest.mark.skipif(
    os.name != "posix",
    reason="SIGTERM from another process (POSIX signals; Windows terminates)",
)
def test_sigterm_during_extraction_stops_cleanly_and_blames_no_file(tmp_path):
    # a job scheduler's time limit (SIGTERM) ended `sertl run` at once: the
    # file being decoded was left named in a crash marker, so the next run
    # skipped it as one that crashed the process; nothing said how to resume
    import signal
    import subprocess

    exp, _ = _in_process_experiment(tmp_path)
    cache = tmp_path / "cache"
    run = _sertl("run", str(exp), "--no-progress")
    proc = _run_stalled_on(exp, cache, "03a02Ta.flac")
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = err.decode()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == (
        "sertl run: stopped by SIGTERM; finished work is kept, rerun the same "
        "command to resume."
    )
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "results.csv").exists()  # it was stopped
    left = [p.name for p in tmp_path.rglob(".*") if p.is_file()]
    assert left == []  # no crash marker, no temporary file
    assert not list(cache.rglob("*.crashed.json"))
    second = subprocess.run(run, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "skipped" not in second.stdout + second.stderr
    assert not list(cache.rglob("*.crashed.json"))


_HANGS_UP_ON = """
import os, signal, sys
import sertl_speech._extract as ex
from sertl_core.cli import main

# a terminal session's SIGHUP: under nohup (or a test runner started with
# SIGHUP ignored, which children inherit) sertl rightly leaves it ignored
signal.signal(signal.SIGHUP, signal.SIG_DFL)
real = ex.load_audio

def load_audio(path, **kw):
    if os.path.basename(path) == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGHUP)  # the terminal is closed
    return real(path, **kw)

ex.load_audio = load_audio
sys.exit(main(["predict", sys.argv[1], *sys.argv[3:]]))
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="no SIGHUP")
def test_sighup_stops_predict_with_129_and_one_line(tmp_path):
    # a closed terminal (SIGHUP) ended `sertl predict` at once, with no word
    import subprocess
    import sys

    from sertl_experiments import Recipe, save_model, train_model
    from sertl_speech import load_sample

    src, tgt = load_sample("emodb")[::2], load_sample("ravdess")[::2]
    model, _ = train_model(
        Recipe("dss"), list(src["file"]), list(src["emotion"]), list(tgt["file"])
    )
    path = save_model(model, tmp_path / "m.skops")
    files = [str(f) for f in tgt["file"][:4]]
    done = subprocess.run(
        [sys.executable, "-c", _HANGS_UP_ON, str(path), Path(files[2]).name, *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 129, done.stderr
    assert done.stderr.strip().splitlines() == [
        "sertl predict: stopped by SIGHUP; no file was labelled."
    ]
    assert done.stdout == ""


def test_predict_new_domain_flag(tmp_path, capsys):
    from sertl_experiments import Recipe, save_model, train_model
    from sertl_speech import load_sample

    src, tgt = load_sample("emodb"), load_sample("ravdess")
    model, _ = train_model(
        Recipe("dss"), list(src["file"]), list(src["emotion"]), list(tgt["file"])
    )
    path = tmp_path / "dss.skops"
    save_model(model, path)
    files = list(tgt["file"][:12])
    assert main(["predict", str(path), *files, "--new-domain", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert len(rows) == 12 and all(r["error"] is None for r in rows)
    assert main(["predict", str(path), *files[:3], "--new-domain"]) == 2
    err = capsys.readouterr().err
    assert "at least 10 files" in err and "Traceback" not in err


def test_output_path_that_is_a_file_and_zero_workers_give_one_message(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'output = "{afile / "out"}"\n'
        '[corpora.emodb]\nreader = "sample"\nroot = "emodb"\n'
        '[corpora.ravdess]\nreader = "sample"\nroot = "ravdess"\n'
        '[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (
        "Traceback" not in err and f"output {afile / 'out'}: is inside the file" in err
    )
    assert main(["run", str(exp), "--workers", "0"]) == 2
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err


_SAMPLES = (
    '[corpora.a]\nreader = "emodb"\nroot = "sample"\n'
    '[corpora.b]\nreader = "ravdess"\nroot = "sample"\n'
    '[matrix]\nsources = ["a"]\ntargets = ["b"]\n'
)


def _grid_file(tmp_path, text):
    """Experiment over the shipped samples; top-level fields of ``text`` first."""
    exp = tmp_path / "exp.toml"
    table = text.index("[")
    exp.write_text(text[:table] + _SAMPLES + text[table:])
    return str(exp)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            ["--few-shot", "3"],
            '--few-shot: not used .* by \\[protocol\\] target = "few',
        ),
        (
            ["--methods", "dss"],
            r"--methods: not used .* \(--methods by \[\[methods\]\]\)",
        ),
        (["--param", "classifier__C=1,10"], r"--param: .* by \[\[methods\]\] grid"),
        (["--classes", "anger,sadness"], r"--classes: .* by \[labels\] classes"),
        (["--features", "mfcc_stats", "--cache-dir", "c"], r"--features, --cache-dir"),
        (["--source", "emodb=sample"], r"--source: .* by \[corpora\] and \[matrix\]"),
    ],
)
def test_grid_refuses_options_an_experiment_file_replaces(
    tmp_path, capsys, extra, match
):
    exp = _grid_file(tmp_path, '[[methods]]\nname = "dss"\n')
    assert main(["grid", exp, *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert "Edit " in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "extra", "match"),
    [
        (
            'save_models = true\n[[methods]]\nname = "dss"\n',
            [],
            r"exp.toml: save_models: sertl grid saves no model .* pass --save MODEL",
        ),
        (
            '[[methods]]\nname = "spk"\nscaling = "speaker"\n',
            [],
            r'\[\[methods\]\] spk scaling: sertl grid cannot search scaling = "speaker"',
        ),
        (
            '[[methods]]\nname = "spk"\nscaling = "speaker"\n'
            '[[methods]]\nname = "auto"\nmethod = "auto"\ncandidates = ["dss"]\n',
            [],
            r"spk scaling: sertl grid cannot search",
        ),
        (
            '[[methods]]\nname = "x"\nscorers = ["importance_weighted"]\n'
            '[[methods]]\nname = "y"\n',
            [],
            r"\[\[methods\]\] y scorers: sertl grid ranks every method with one list"
            r".*or choose them with --scorer",
        ),
        (
            '[protocol]\nseeds = [0, 1]\n[[methods]]\nname = "dss"\n',
            ["--save", "m.skops"],
            r"--save needs exactly one .* seeds \[0, 1\]; choose a seed with --seed N",
        ),
        (
            '[protocol]\ntarget = "few_shot"\nk = 2\n[[methods]]\nname = "dss"\n',
            ["--scorer", "importance_weighted"],
            r'--scorer: with \[protocol\] target = "few_shot" the search scores UAR',
        ),
        (
            '[[methods]]\nname = "dss"\n',
            ["--scorer", "target"],
            r"--scorer target: scores held-out labelled target rows",
        ),
        ('[[methods]]\nname = "dss"\n', ["--scorer", "wizard"], r"--scorer wizard: No"),
    ],
)
def test_grid_refuses_what_it_cannot_honour_before_any_work(
    tmp_path, capsys, monkeypatch, text, extra, match
):
    from sertl_experiments import _runner

    def no_data(*_, **__):
        raise AssertionError("features were extracted before the refusal")

    monkeypatch.setattr(_runner, "_prepare_data", no_data)
    assert main(["grid", _grid_file(tmp_path, text), *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--few-shot", "0"], r"--few-shot: K must be >= 2 .* got 0"),
        (["--few-shot", "1"], r"--few-shot: K must be >= 2 .* got 1 \(the search"),
        (
            ["--few-shot", "2", "--scorer", "reverse_validation"],
            r"--scorer: with --few",
        ),
        (["--classes", "anger"], r"--classes: list at least two emotions"),
        (
            ["--features", "functionalz"],
            r"--features: unknown feature set 'functionalz'\. Did you mean",
        ),
        (["--features", "logmel"], r"--features: \"logmel\" gives a sequence"),
        (  # every search failed in numpy after the features were extracted
            ["--seed", str(2**32)],
            r"--seed: must be <= 4294967295 \(2\*\*32 - 1",
        ),
        (  # GridSearchCV's "No fits were performed", a traceback, after extraction
            ["--methods", ","],
            r"--methods: list at least one method, separated by commas, got ','",
        ),
        (  # the same candidates searched twice
            ["--methods", "dss,domain_standard_scaler"],
            r"--methods: 'domain_standard_scaler' \(the method 'dss'\) is listed "
            r"more than once",
        ),
        (  # scikit-learn's AttributeError on True.set_params was a traceback
            ["--param", "scale__with_mean__x=1"],
            r"--param scale__with_mean__x: 'with_mean' of scale is a value, not an "
            r"estimator",
        ),
        (  # failed with "[Errno 21] Is a directory" once every search was done
            ["--save", "/"],
            r"--save /: is a folder; give the model file to write, e.g. --save "
            r"/model\.skops",
        ),
    ],
)
def test_grid_command_line_options_are_checked(capsys, monkeypatch, extra, match):
    from sertl_experiments import _runner

    def no_data(*_, **__):
        raise AssertionError("features were extracted before the refusal")

    monkeypatch.setattr(_runner, "_prepare_data", no_data)
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    assert main([*args, "--methods", "dss", *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert "Traceback" not in err


def test_grid_save_and_cache_paths_inside_a_file_are_refused_first(
    tmp_path, capsys, monkeypatch
):
    from sertl_experiments import _runner

    def no_data(*_, **__):
        raise AssertionError("features were extracted before the refusal")

    monkeypatch.setattr(_runner, "_prepare_data", no_data)
    afile = tmp_path / "afile"
    afile.write_text("x")
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    args += ["--methods", "dss"]
    # the model was written (and failed: File exists) after every search
    assert main([*args, "--save", str(afile / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert f"--save {afile / 'm.skops'}: is inside the file {afile}, not a" in err
    assert "Traceback" not in err and "Errno" not in err
    # the extraction went on without a cache, with a warning
    assert main([*args, "--cache-dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert f"--cache-dir: {afile} is a file, not a folder;" in err
    assert "leave --cache-dir out" in err and "Traceback" not in err


def test_predict_cache_dir_that_cannot_be_a_folder_is_refused(
    small_model, tmp_path, capsys
):
    # labelling hides the feature step's warning: the cache was silently unused
    path, files = small_model
    afile = tmp_path / "afile"
    afile.write_text("x")
    for cache, why in ((afile, "is a file, not a folder"), (afile / "c", "cannot")):
        assert main(["predict", str(path), files[0], "--cache-dir", str(cache)]) == 2
        err = capsys.readouterr().err
        assert f"sertl predict: error: --cache-dir {cache}: {why}" in err, err
        assert "leave --cache-dir out" in err and "Traceback" not in err
    assert afile.read_text() == "x"


def test_demo_output_that_is_a_file_names_the_option(tmp_path, capsys):
    # the demo's feature cache lies in its output folder: the message named
    # "[features] cache_dir", or "output", not the option the user gave
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["demo", "--output", str(afile), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"sertl demo: error: --output {afile}: is a file, not a folder." in err
    assert "cache_dir" not in err and "Traceback" not in err


def _spy_grid(monkeypatch, synthetic_data):
    """Serve the synthetic corpora to ``sertl grid``; record each search's options."""
    from sertl_experiments import _runner, _selection

    calls = []
    search = _selection.search

    def spy(recipes, X, y, sd, **kw):
        calls.append({"names": [r.name for r in recipes], **kw})
        return search(recipes, X, y, sd, **kw)

    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (synthetic_data, []))
    monkeypatch.setattr(_selection, "search", spy)
    return calls


def test_grid_honours_the_experiment_protocol_seeds_and_auto(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    pytest.importorskip("sertl_feature")
    calls = _spy_grid(monkeypatch, synthetic_data)
    exp = _grid_file(
        tmp_path,
        '[protocol]\ntarget = "few_shot"\nk = 2\nseeds = [0, 1]\n'
        "selection_splits = 2\nbootstrap = 100\n"
        '[[methods]]\nname = "dss"\n'
        '[[methods]]\nname = "na"\nscaling = "source"\n'
        '[[methods]]\nname = "auto"\nmethod = "auto"\ncandidates = ["dss", "coral"]\n',
    )
    assert main(["grid", exp, "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [(e["source"], e["target"], e["seed"]) for e in out] == [
        ("a", "b", 0),
        ("a", "b", 1),
    ]
    # auto's candidates join the search; those already listed are not repeated
    # (no_adaptation, which auto adds, is the recipe of na)
    assert [c["method"] for c in out[0]["candidates"]] == ["dss", "na", "auto/coral"]
    assert all(e["scorers"] == ["target"] for e in out)
    assert [(c["few_shot"], c["n_splits"], c["random_state"]) for c in calls] == [
        (True, 2, 0),
        (True, 2, 1),
    ]
    assert re.search(
        r"note: \S+exp.toml sets \[protocol\] bootstrap: used", captured.err
    )
    assert "Traceback" not in captured.err


def test_grid_auto_candidate_named_after_a_method_is_that_method(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    # the experiment's own "dss" (its classifier setting) is auto's candidate
    # "dss", not the default recipe of that name: the search lists it once
    calls = _spy_grid(monkeypatch, synthetic_data)
    exp = _grid_file(
        tmp_path,
        "[protocol]\nseeds = [0]\n"
        '[[methods]]\nname = "dss"\nparams = { classifier = { C = 0.05 } }\n'
        '[[methods]]\nname = "na"\nscaling = "source"\n'
        '[[methods]]\nname = "auto"\nmethod = "auto"\ncandidates = ["dss"]\n',
    )
    assert main(["grid", exp, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["method"] for c in out[0]["candidates"]] == ["dss", "na"]
    assert [c["names"] for c in calls] == [["dss", "na"]]


def test_grid_uses_the_experiment_scorers_or_the_option(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    calls = _spy_grid(monkeypatch, synthetic_data)
    exp = _grid_file(
        tmp_path,
        '[[methods]]\nname = "dss"\nscorers = ["importance_weighted"]\n'
        '[[methods]]\nname = "na"\nscaling = "source"\n'
        'scorers = ["importance_weighted"]\n',
    )
    assert main(["grid", exp, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["scorers"] == ["importance_weighted"]
    assert calls[-1]["n_splits"] == 3 and calls[-1]["few_shot"] is False
    assert (
        main(["grid", exp, "--json", "--seed", "4", "--scorer", "reverse_validation"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out[0]["scorers"] == ["reverse_validation"] and out[0]["seed"] == 4


def test_grid_shows_each_fit_warning_once_on_stderr(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    # the search's fits and --save's refit ran under a blanket ignore: a
    # classifier that cannot converge said nothing. Now each distinct warning
    # is one line on stderr after the searches; --json's output stays JSON
    _spy_grid(monkeypatch, synthetic_data)
    exp = _grid_file(
        tmp_path,
        "[protocol]\nseeds = [0, 1]\n"
        '[classifier]\nname = "logreg"\nparams = { max_iter = 1 }\n'
        '[[methods]]\nname = "dss"\n',
    )
    assert main(["grid", exp, "--json"]) == 0
    captured = capsys.readouterr()
    assert [e["seed"] for e in json.loads(captured.out)] == [0, 1]
    lines = [ln for ln in captured.err.splitlines() if "ConvergenceWarning" in ln]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("warning: during the search: ConvergenceWarning: ")
    assert lines[0].endswith("(e.g. a -> b seed 0)")
    model = tmp_path / "model.skops"
    assert main(["grid", exp, "--json", "--seed", "0", "--save", str(model)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["saved"] == str(model)
    lines = [ln for ln in captured.err.splitlines() if "ConvergenceWarning" in ln]
    assert [ln.split(": ConvergenceWarning")[0] for ln in lines] == [
        "warning: during the search",
        "warning: refitting the chosen model for --save",
    ], captured.err


@pytest.mark.parametrize(
    ("extra", "terminal", "progress"),
    [
        ([], True, True),
        (["--no-progress"], True, False),
        (["--json"], True, False),
        ([], False, False),  # a log file, a CI job: no carriage-return bars
    ],
)
def test_grid_no_progress_turns_off_the_progress_bars(
    tmp_path, capsys, monkeypatch, synthetic_data, extra, terminal, progress
):
    # the same option as sertl run and sertl demo: no bars in grid logs
    from sertl_experiments import _runner

    seen = []

    def prepare(*_, progress, **__):
        seen.append(progress)
        return synthetic_data, []

    monkeypatch.setattr(_runner, "_prepare_data", prepare)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    exp = _grid_file(tmp_path, '[[methods]]\nname = "dss"\n')
    assert main(["grid", exp, "--seed", "0", *extra]) == 0
    assert seen == [progress]
    assert "Traceback" not in capsys.readouterr().err


def test_output_read_by_a_closed_pipe_ends_without_traceback(tmp_path):
    # `sertl predict MODEL FOLDER | head` printed a BrokenPipeError traceback
    import subprocess
    import sys

    from sertl_experiments import Recipe, save_model, train_model
    from sertl_speech import load_sample

    src, tgt = load_sample("emodb")[::2], load_sample("ravdess")[::2]
    model, _ = train_model(
        Recipe("dss"), list(src["file"]), list(src["emotion"]), list(tgt["file"])
    )
    path = save_model(model, tmp_path / "m.skops")
    import os

    # buffered output (as in a terminal session without PYTHONUNBUFFERED) only
    # meets the closed pipe when it is flushed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sertl_experiments", "predict", str(path)]
        + list(tgt["file"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    proc.stdout.close()  # the reader is gone before anything is printed
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_misnamed_files_are_listed_and_reported_as_skipped(
    tmp_path, capsys, cache_dir, read_results_md
):
    # a file whose name breaks the corpus's naming rule was dropped silently:
    # in neither the log, results.md nor report.html
    import shutil

    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    wav = root / "wav"
    shutil.copy(wav / "03a01Fa.flac", wav / "notes_recording.flac")
    shutil.copy(wav / "03a01Fa.flac", wav / "03a05Xa.flac")  # unknown letter X
    rav = tmp_path / "RAVDESS"
    shutil.copytree(sample_path("ravdess"), rav)
    first = sorted((rav / "Actor_01").iterdir())[0]
    shutil.copy(first, rav / "Actor_01" / "03-01-99-01-01-01-01.flac")
    assert _run_dss(tmp_path, root, rav, cache_dir) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "3 file(s) were skipped" in captured.err
    log = captured.out + captured.err
    reasons = {
        "notes_recording.flac": "expected e.g. 03a01Fa",
        "03a05Xa.flac": "emotion letter X is not an EmoDB emotion",
        "03-01-99-01-01-01-01.flac": "emotion code 99 is not a RAVDESS emotion",
    }
    md = read_results_md(tmp_path / "out" / "results.md")
    html = (tmp_path / "out" / "report.html").read_text()
    skipped_md = md.split("## Skipped files", 1)[1]
    for name, why in reasons.items():
        pattern = rf"skipped \S*{re.escape(name)}: breaks the naming rule: .*"
        assert re.search(pattern + re.escape(why), log), name
        line = next(ln for ln in skipped_md.splitlines() if name in ln)
        assert why in line
        assert name in html and why in html


def test_load_corpus_table_returns_the_files_the_reader_skipped(tmp_path):
    import shutil

    from sertl_experiments import parse_config
    from sertl_experiments._data import load_corpus_table, reader_skipped
    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    shutil.copy(root / "wav" / "03a01Fa.flac", root / "wav" / "03a05W.flac")
    cfg = parse_config(
        {
            "corpora": {"emodb": {"root": str(root)}, "ravdess": {"root": "sample"}},
            "methods": [{"name": "dss"}],
        }
    )
    table = load_corpus_table(cfg.corpora["emodb"], classes=["anger"])
    assert set(table["emotion"]) == {"anger"}
    bad = str((root / "wav" / "03a05W.flac").resolve())
    assert table.attrs["skipped"] == [
        {
            "file": bad,
            "reason": "breaks the naming rule: expected e.g. 03a01Fa (speaker, text, "
            "emotion letter, version)",
        }
    ]
    lines, run_skipped = [], [{"corpus": "x", "file": "y", "reason": "z"}]
    entries = reader_skipped(table, "emodb", run_skipped, lines.append)
    assert entries == [{"corpus": "emodb", **table.attrs["skipped"][0]}]
    assert run_skipped[1:] == entries
    assert lines[0].startswith("corpus emodb: 1 file skipped")
    assert lines[1] == f"  skipped {bad}: {entries[0]['reason']}"


def _reader_warnings_md(md):
    """The "Reader warnings" section of results.md."""
    return md.split("## Reader warnings", 1)[1].split("\n## ", 1)[0]


def _register_reader(monkeypatch, cls):
    """Install ``cls`` as a third-party corpus reader, through the plugin hooks."""
    import types

    from sertl_core import hookimpl
    from sertl_core.registry import Registry, make_plugin_manager

    @hookimpl
    def sertl_register_corpora():
        return [cls]

    plugin = types.ModuleType("fake_reader_plugin")
    plugin.sertl_register_corpora = sertl_register_corpora
    registry = Registry(make_plugin_manager(plugins={"fakereader": plugin}))
    monkeypatch.setattr("sertl_core.registry._REGISTRY", registry)


def test_reader_warnings_are_logged_and_reported_on_every_run(
    tmp_path, capsys, cache_dir
):
    # a reader's warning that skips no file (here one utterance in two files)
    # was swallowed by the run: in neither the log, results.md nor report.html
    import html
    import shutil

    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    (root / "wav" / "copy").mkdir()
    shutil.copy(root / "wav" / "03a01Fa.flac", root / "wav" / "copy" / "03a01Fa.flac")
    shutil.copy(root / "wav" / "03a01Fa.flac", root / "wav" / "notes.flac")
    dup = "emodb: 1 utterance(s) occur in more than one file under"
    for run in ("first", "resumed"):
        assert _run_dss(tmp_path, root, "sample", cache_dir) == 0
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if run == "resumed":
            assert " reused, 0 to compute" in err
        # once, with the corpus name; the skipped file only as a skipped file
        lines = [ln for ln in err.splitlines() if dup in ln]
        assert len(lines) == 1, run
        assert lines[0].startswith(f"corpus emodb: reader warning: {dup}")
        assert "reader warning: emodb: skipped" not in err
        assert "the corpus readers gave 1 other warning(s)" in err
        md = (tmp_path / "out" / "results.md").read_text()
        section = _reader_warnings_md(md)
        row = next(ln for ln in section.splitlines() if dup in ln)
        assert row.startswith("| emodb | ") and row.endswith(" | 1 |")
        assert "<br>  03a01Fa: " in row  # the listed files, in the one row
        assert "naming rule" not in section
        assert "notes.flac" in md.split("## Skipped files", 1)[1]
        page = html.unescape((tmp_path / "out" / "report.html").read_text())
        assert "<h2>Reader warnings</h2>" in page
        table = page.split("id='tab-reader-warnings'", 1)[1].split("</table>")[0]
        assert dup in table and "<br>  03a01Fa: " in table  # lines kept
        assert "whose names break the naming rule" not in page


class _TextOnlyReader:
    """A third-party reader that reports what it drops in warning text only."""

    registry_name = "text_only"
    texts = (
        "text_only: skipped 03a01Fa.flac: no label in the sheet",
        *["text_only: no gender in the sheet for speaker 03"] * 3,
    )

    def read(self, root, *, emotions=None):
        import warnings

        from sertl_speech import CorpusWarning, load_sample

        table = load_sample("emodb").iloc[1:].reset_index(drop=True)
        table.attrs = {}  # no skipped-file data
        for text in self.texts:
            warnings.warn(text, UserWarning, stacklevel=2)
        # a warning with its skipped file as data: listed as a skipped file
        gone = {"file": str(Path(root) / "gone.flac"), "reason": "empty file"}
        warnings.warn(
            CorpusWarning("text_only: 1 empty file", skipped=[gone]), stacklevel=2
        )
        return table


def test_warnings_of_a_third_party_reader_are_logged_and_reported(
    tmp_path, capsys, cache_dir, monkeypatch, read_results_md
):
    # the files a third-party reader names in plain-text warnings (without
    # CorpusWarning.skipped data) went unreported
    import html

    _register_reader(monkeypatch, _TextOnlyReader)
    root = tmp_path / "sheet"
    root.mkdir()
    assert _run_dss(tmp_path, root, "sample", cache_dir, emodb_reader="text_only") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    skip, gender = _TextOnlyReader.texts[0], _TextOnlyReader.texts[-1]
    assert err.count(skip) == 1 and err.count(gender) == 1
    assert f"corpus emodb: reader warning: {skip}\n" in err
    assert f"corpus emodb: reader warning (3 times): {gender}\n" in err
    assert "reader warning: text_only: 1 empty file" not in err
    md = read_results_md(tmp_path / "out" / "results.md")
    section = _reader_warnings_md(md)
    assert f"| emodb | {skip} | 1 |" in section
    assert f"| emodb | {gender} | 3 |" in section
    assert "empty file" not in section
    assert "gone.flac | empty file |" in md.split("## Skipped files", 1)[1]
    page = html.unescape((tmp_path / "out" / "report.html").read_text())
    table = page.split("id='tab-reader-warnings'", 1)[1].split("</table>")[0]
    assert skip in table and gender in table and "empty file" not in table


def test_reader_warnings_are_grouped_and_capped(tmp_path, monkeypatch):
    # many warnings of one reader: identical texts once with their count, and
    # past 20 distinct texts one entry counts the rest
    import pandas as pd
    from sertl_experiments import parse_config
    from sertl_experiments._data import load_corpus_table, reader_warnings

    class ChattyReader:
        registry_name = "chatty"

        def read(self, root, *, emotions=None):
            import warnings

            for i in range(25):
                warnings.warn(f"chatty: odd row {i}", UserWarning, stacklevel=2)
            warnings.warn("chatty: odd row 0", UserWarning, stacklevel=2)
            # a library's deprecation speaks to the reader's developer
            warnings.warn("old API", DeprecationWarning, stacklevel=2)
            return pd.DataFrame({"file": ["a.wav"], "emotion": ["anger"]})

    _register_reader(monkeypatch, ChattyReader)
    cfg = parse_config(
        {
            "corpora": {
                "mine": {"reader": "chatty", "root": str(tmp_path)},
                "ravdess": {"root": "sample"},
            },
            "methods": [{"name": "dss"}],
        }
    )
    table = load_corpus_table(cfg.corpora["mine"])
    assert table.attrs["skipped"] == []
    assert len(table.attrs["warnings"]) == 25
    assert table.attrs["warnings"][0] == {"warning": "chatty: odd row 0", "count": 2}
    lines, collected = [], []
    entries = reader_warnings(table, "mine", collected, lines.append)
    assert collected == entries and len(entries) == 21
    assert entries[0] == {"corpus": "mine", "warning": "chatty: odd row 0", "times": 2}
    assert entries[-1] == {
        "corpus": "mine",
        "warning": "... and 5 other warnings of the reader (not shown)",
        "times": 5,
    }
    assert lines[0] == "corpus mine: reader warning (2 times): chatty: odd row 0"
    assert lines[1] == "corpus mine: reader warning: chatty: odd row 1"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A Pipeline from audio paths, saved: enough to test `sertl predict`."""
    from sertl_experiments import save_model
    from sertl_speech import AudioFeatures, load_sample
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = load_sample("emodb", emotions=["anger", "sadness"])
    model = make_pipeline(
        AudioFeatures("mfcc_stats"), StandardScaler(), LogisticRegression()
    )
    model.fit(list(table["file"][:8]), list(table["emotion"][:8]))
    path = tmp_path_factory.mktemp("model") / "small.skops"
    save_model(model, path, metadata={"classes": ["anger", "sadness"]})
    return path, list(table["file"][8:10])


def test_predict_json_lists_missing_files_as_predictions(small_model, tmp_path, capsys):
    path, files = small_model
    missing = str(tmp_path / "gone.wav")
    assert main(["predict", str(path), files[0], missing, "--json"]) == 1
    captured = capsys.readouterr()
    rows = json.loads(captured.out)["predictions"]
    assert [r["file"] for r in rows] == [files[0], missing]
    assert rows[0]["error"] is None and rows[0]["emotion"] in {"anger", "sadness"}
    assert rows[1] == {
        "file": missing,
        "emotion": None,
        "probabilities": None,
        "error": "missing: no such file or folder",
        "warnings": [],
    }
    assert f"{missing}: no such file or folder (skipped)" in captured.err
    # in the order given, not at the end
    assert main(["predict", str(path), missing, *files, "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert [r["file"] for r in rows] == [missing, *files]
    assert [r["emotion"] is None for r in rows] == [True, False, False]
    # text mode: the stderr line, as before
    assert main(["predict", str(path), files[0], missing]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    # nothing to label: exit 2, one message
    assert main(["predict", str(path), missing, "--json"]) == 2
    captured = capsys.readouterr()
    assert "no audio files to label" in captured.err
    assert "Traceback" not in captured.err


def test_predict_json_says_why_nothing_was_labelled(small_model, tmp_path, capsys):
    # exit 2 printed nothing on stdout: json.loads failed
    path, files = small_model
    assert main(["predict", str(path), str(tmp_path / "gone.wav"), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    # the model's metadata, with the installation that saved it
    assert out["metadata"].pop("saved_with")["features"][0]["feature_set"]
    assert out["predictions"] == [] and out["metadata"] == {
        "classes": ["anger", "sadness"]
    }
    assert re.match(r"no audio files to label \(give audio files", out["error"])
    for model, match in [
        (tmp_path / "none.skops", r"Model file '.*none\.skops' does not exist\."),
        (tmp_path, r"Model file '.*' is a folder: give the model file itself"),
    ]:
        assert main(["predict", str(model), files[0], "--json"]) == 2
        captured = capsys.readouterr()
        out = json.loads(captured.out)
        assert re.match(match, out["error"]) and out["predictions"] == []
        assert out["metadata"] is None
        assert out["error"] in captured.err  # and the one line on stderr, as before


def test_predict_expands_every_libsndfile_format_and_notes_skipped_folders(
    small_model, tmp_path, capsys
):
    # .wave, .au, .caf ... were skipped in silence; an empty folder, or one
    # with no audio, passed with exit 0 and no word
    import soundfile as sf

    path, files = small_model
    x, sr = sf.read(files[0])
    calls, empty = tmp_path / "calls", tmp_path / "empty"
    (calls / "sub").mkdir(parents=True)
    empty.mkdir()
    sf.write(calls / "a.wave", x, sr, format="WAV")
    sf.write(calls / "b.au", x, sr, format="AU")
    sf.write(calls / "sub" / "c.caf", x, sr, format="CAF")
    sf.write(calls / "d.oga", x, sr, format="OGG")
    for name in ("notes.txt", "cover.jpg", "sub/list.txt", ".DS_Store"):
        (calls / name).write_text("not audio")
    assert main(["predict", str(path), str(calls), str(empty), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    names = [Path(r["file"]).relative_to(calls).as_posix() for r in out["predictions"]]
    assert names == ["a.wave", "b.au", "d.oga", "sub/c.caf"]
    assert all(r["error"] is None for r in out["predictions"])
    assert out["notes"] == [
        f"{calls}: 4 audio file(s) labelled; 3 file(s) skipped, not audio by their "
        "extension (.txt: 2, .jpg: 1). Audio is recognised by extension: .wav, "
        ".flac, .mp3, .ogg, .opus, .aiff, ...; convert or rename audio files with "
        "another extension.",
        f"{empty}: no audio files in this folder, nothing labelled there (it is "
        "empty, or holds only hidden files). Audio is recognised by extension: "
        ".wav, .flac, .mp3, .ogg, .opus, .aiff, ...",
    ]
    # the table: one line per note on stderr
    assert main(["predict", str(path), str(empty), files[0]]) == 0
    captured = capsys.readouterr()
    assert f"sertl predict: note: {empty}: no audio files in this folder" in (
        captured.err
    )
    assert str(empty) not in captured.out


def test_predict_notes_band_limited_and_long_files(small_model, tmp_path, capsys):
    import soundfile as sf
    from scipy.signal import resample_poly

    path, files = small_model
    x, sr = sf.read(files[0])
    sf.write(tmp_path / "phone.wav", resample_poly(x, 8000, sr), 8000)
    sf.write(tmp_path / "long.flac", np.tile(x, int(np.ceil(31 * sr / len(x)))), sr)
    args = [files[0], str(tmp_path / "phone.wav"), str(tmp_path / "long.flac")]
    assert main(["predict", str(path), *args]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "note:" not in table[1]
    assert re.search(r"  note: band-limited: recorded at 8000 Hz", table[2])
    assert re.search(r"  note: long: 3\d s, far longer than the utterances", table[3])
    assert main(["predict", str(path), *args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert [len(r["warnings"]) for r in rows] == [0, 1, 1]
    assert rows[1]["warnings"][0].startswith("band-limited: recorded at 8000 Hz")


def test_predict_searches_a_folder_named_like_audio_and_does_not_call_it_missing(
    small_model, tmp_path, capsys
):
    import shutil

    path, files = small_model
    folder = tmp_path / "calls"
    (folder / "take.flac").mkdir(parents=True)  # a folder named like a file
    shutil.copy(files[0], folder / "take.flac" / "a.flac")
    shutil.copy(files[1], folder / "b.flac")
    assert main(["predict", str(path), str(folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert [Path(r["file"]).relative_to(folder).as_posix() for r in rows] == [
        "b.flac",
        "take.flac/a.flac",
    ]
    assert all(r["error"] is None for r in rows)


def test_predict_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 every file was labelled; 1 some files could not be" in text
    assert "2 nothing was labelled" in text


def test_grid_note_names_the_few_shot_scores(
    tmp_path, capsys, monkeypatch, synthetic_data
):
    # the note called the few-shot search's scores "label-free"
    _spy_grid(monkeypatch, synthetic_data)
    text = '[protocol]\nbootstrap = 10\n{}[[methods]]\nname = "dss"\n'
    few = 'target = "few_shot"\nk = 2\n'
    assert main(["grid", _grid_file(tmp_path, text.format(few)), "--json"]) == 0
    err = capsys.readouterr().err
    assert "which reports the scores of each candidate on held-out labelled " in err
    assert "label-free" not in err
    assert main(["grid", _grid_file(tmp_path, text.format("")), "--json"]) == 0
    err = capsys.readouterr().err
    assert "which reports the label-free selection scores of each candidate" in err


def _failing_fit(monkeypatch, failing):
    """Make the cells of the methods in ``failing`` fail (None: every cell)."""
    from sertl_experiments import _runner

    fit = _runner._fit

    def broken(recipe, *args, **kwargs):
        if failing is None or recipe.name in failing:
            raise ValueError(f"{recipe.name} cannot be fitted here")
        return fit(recipe, *args, **kwargs)

    monkeypatch.setattr(_runner, "_fit", broken)


@pytest.mark.parametrize("failing", [{"broken"}, None])
def test_run_with_failed_cells_exits_1_and_says_so_at_the_top(
    tmp_path, capsys, monkeypatch, synthetic_data, failing
):
    # failed cells, even all of them, gave exit 0 and a green "No method is
    # predicted to hurt" banner
    pytest.importorskip("sertl_feature")
    import html

    from sertl_experiments import _runner

    monkeypatch.setattr(_runner, "_prepare_data", lambda *_, **__: (synthetic_data, []))
    _failing_fit(monkeypatch, failing)
    exp = _grid_file(
        tmp_path,
        'output = "out"\n[protocol]\nbootstrap = 0\nselection_splits = 1\n'
        '[[methods]]\nname = "dss"\n[[methods]]\nname = "broken"\nadapter = "coral"\n',
    )
    assert main(["run", exp, "--no-progress"]) == 1
    err = capsys.readouterr().err
    n = 3 if failing is None else 1  # one pair: baseline, dss, broken
    assert f"{n} cell(s) failed; see results.md. The finished cells are kept" in err
    md = (tmp_path / "out" / "results.md").read_text()
    top = md.split("## Mean over", 1)[0]
    page = html.unescape((tmp_path / "out" / "report.html").read_text())
    banner = page.split("id='negative-transfer'>", 1)[1].split("</div>")[0]
    assert "No method is predicted to hurt" not in page
    assert "class='ok'" not in page
    if failing is None:
        assert "**All 3 cells failed (1 of them the no-adaptation baseline" in top
        assert "All 3 cells failed" in page.split("<h2>Methods", 1)[0]
        assert banner.startswith("<b>The negative-transfer guard checked no method")
        assert "a \u2192 b: dss (its cell failed)" in banner
    else:
        assert "**1 of 3 cells failed: their results are missing" in top
        assert "1 of 3 cells failed" in page.split("<h2>Methods", 1)[0]
        assert banner.startswith(
            "No method that the label-free guard could check is predicted to hurt, "
            "but it could not check:"
        )
        assert "b: broken (its cell failed)" in banner
        assert "dss" not in banner
    section = md.split("## Failed cells", 1)[1]
    assert (
        "| a | b | broken | 0 | ValueError: broken cannot be fitted here |" in section
    )


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        (["--fresh"], "rerun the command without --fresh to resume (with --fresh it "),
        ([], "rerun the same command to resume."),
    ],
)
def test_interrupted_run_says_how_to_resume(tmp_path, capsys, monkeypatch, extra, hint):
    # after Ctrl-C in a --fresh run, "rerun the same command" deleted the
    # cells the run had finished
    from sertl_experiments import _runner

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runner, "run_experiment", interrupted)
    exp = _grid_file(tmp_path, 'output = "out"\n[[methods]]\nname = "dss"\n')
    assert main(["run", exp, "--no-progress", *extra]) == 130
    err = capsys.readouterr().err
    assert err.startswith("sertl run: interrupted; finished work is kept, " + hint)


def test_full_disk_gives_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    # the output disk filling during a run (writing a cell, a plot, the
    # report) ended in a traceback and exit status 1, which says "some cells
    # failed"; the finished cells are kept and the same command resumes
    import errno

    from sertl_experiments import _runner

    def full(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device", "out/cells/x.part")

    monkeypatch.setattr(_runner, "run_experiment", full)
    exp = _grid_file(tmp_path, 'output = "out"\n[[methods]]\nname = "dss"\n')
    assert main(["run", exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sertl run: error: [Errno 28] No space left on device")
    assert err.rstrip().endswith(
        "finished work is kept, rerun the same command to resume."
    )
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    # any other OSError is no disk problem: it is not hidden
    def other(*_, **__):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_runner, "run_experiment", other)
    with pytest.raises(OSError, match="Input/output"):
        main(["run", exp, "--no-progress"])


def test_interrupted_predict_does_not_speak_of_resuming(tmp_path, capsys, monkeypatch):
    from sertl_experiments import _persist

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(_persist, "load_model", interrupted)
    assert main(["predict", str(tmp_path / "m.skops"), "a.wav"]) == 130
    assert capsys.readouterr().err == (
        "sertl predict: interrupted; no file was labelled.\n"
    )


def _register_methods(monkeypatch, adapters=(), estimators=()):
    """Install third-party adapters and estimators through the plugin hooks."""
    import types

    from sertl_core import hookimpl
    from sertl_core.registry import Registry, make_plugin_manager

    @hookimpl
    def sertl_register_adapters():
        return list(adapters)

    @hookimpl
    def sertl_register_estimators():
        return list(estimators)

    plugin = types.ModuleType("fake_methods_plugin")
    plugin.sertl_register_adapters = sertl_register_adapters
    plugin.sertl_register_estimators = sertl_register_estimators
    registry = Registry(make_plugin_manager(plugins={"fakemethods": plugin}))
    monkeypatch.setattr("sertl_core.registry._REGISTRY", registry)
    return registry


def _adapter(name, **attrs):
    """An adapter class registered as ``name`` (per-domain scaling inside)."""
    from sertl_core import DomainStandardScaler

    body = {"registry_name": name, "_sertl_auto_candidate": True, **attrs}
    return type(f"Fake_{name}", (DomainStandardScaler,), body)


def _estimator(name, **attrs):
    """A transfer estimator class registered as ``name`` (source only inside)."""
    from sertl_core import SourceOnly

    body = {"registry_name": name, "_sertl_auto_candidate": True, **attrs}
    return type(f"Fake_{name}", (SourceOnly,), body)


def _no_features(monkeypatch):
    from sertl_experiments import _runner

    def no_data(*_, **__):
        raise AssertionError("features were extracted before the refusal")

    monkeypatch.setattr(_runner, "_prepare_data", no_data)


@pytest.mark.parametrize(
    ("method", "match"),
    [
        ('adapter = "model"', r"\[\[methods\]\] x adapter: 'model' cannot be used"),
        ('adapter = "adapt2"', r"\[\[methods\]\] x adapter: 'adapt2' cannot be used"),
        (
            'estimator = "classifier"',
            r"\[\[methods\]\] x estimator: 'classifier' cannot be used",
        ),
    ],
)
def test_run_refuses_a_method_named_like_a_pipeline_step(
    tmp_path, capsys, monkeypatch, method, match
):
    # an adapter registered as "model" broke every cell ("Names provided are
    # not unique") after the features were extracted; the registry skips it
    # now, and the experiment file naming it is still refused before features
    with pytest.warns(PluginLoadWarning, match="which names a step of the pipelines"):
        _register_methods(
            monkeypatch,
            adapters=[_adapter("model"), _adapter("adapt2"), _adapter("scale")],
            estimators=[_estimator("classifier")],
        )
    _no_features(monkeypatch)
    exp = _grid_file(tmp_path, f'output = "out"\n[[methods]]\nname = "x"\n{method}\n')
    assert main(["run", exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(
        match + r" by sertl run and sertl grid: sertl-experiments names "
        r"the pipeline's own steps",
        err,
    ), err
    assert "its plugin must give it another registry_name." in err
    assert "Traceback" not in err
    assert main(["grid", exp]) == 2
    assert re.search(match, capsys.readouterr().err)


_NEEDS_SPEAKERS = (
    r"'speaker_normalizer' needs the speaker of each row \(its fit takes "
    r"speaker\), which "
)
_TAKES_ONE_SPEAKER = (
    r": as an adapter it would get none and take all rows for one speaker\. "
)


@pytest.mark.parametrize(
    ("method", "field", "fix"),
    [
        ('adapter = "speaker_normalizer"', "adapter", 'Use scaling = "speaker"'),
        (
            'adapter = ["coral", "speaker_normalizer"]',
            "adapter",
            'Use scaling = "speaker"',
        ),
        (
            'method = "auto"\ncandidates = ["dss", "speaker_normalizer"]',
            "candidates: candidate 'speaker_normalizer'",
            'List a method with scaling = "speaker" among the candidates',
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "grid"])
def test_run_and_grid_refuse_the_speaker_normalizer_as_an_adapter(
    tmp_path, capsys, monkeypatch, method, field, fix, command
):
    # sertl run routes speaker ids to scaling = "speaker" only: as an adapter
    # SpeakerNormalizer got none and was a plain standard scaler of all rows
    # (results and saved model those of dss, without a word). The refusal
    # is check_recipe's (the auto candidates' check_methods'), worded for
    # the command: sertl grid gives speaker ids to no step at all
    pytest.importorskip("sertl_feature")
    _no_features(monkeypatch)
    exp = _grid_file(tmp_path, f'output = "out"\n[[methods]]\nname = "x"\n{method}\n')
    args = ["run", exp, "--no-progress"] if command == "run" else ["grid", exp]
    assert main(args) == 2
    err = capsys.readouterr().err
    if command == "run":
        gives = "sertl run gives only to the scaling step"
    else:
        gives = "sertl grid gives to no step (GridSearchCV cannot route them"
        fix = "Leave it out" if field == "adapter" else "Remove it from candidates"
    pattern = (
        rf"^sertl {command}: error: \S+exp\.toml: \[\[methods\]\] x "
        + re.escape(f"{field}: ")
        + _NEEDS_SPEAKERS
        + re.escape(gives)
        + r".*"
        + _TAKES_ONE_SPEAKER
        + re.escape(fix)
    )
    assert re.search(pattern, err, re.M), err
    if command == "grid":  # not sertl run's fix, which grid cannot search
        assert "compare speaker normalisation with sertl run" in err, err
    assert err.count("needs the speaker of each row") == 1, err
    assert "Traceback" not in err


def test_grid_refuses_the_speaker_normalizer_as_a_method(capsys, monkeypatch):
    _no_features(monkeypatch)
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    assert main([*args, "--methods", "dss,speaker_normalizer"]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"^sertl grid: error: --methods speaker_normalizer: "
        + _NEEDS_SPEAKERS
        + r"sertl grid gives to no step \(GridSearchCV cannot route them to some "
        r"candidates only\)"
        + _TAKES_ONE_SPEAKER
        + r"Leave it out of the search; compare speaker normalisation with sertl "
        r'run \(a method with scaling = "speaker"\)\.$',
        err,
        re.M,
    ), err
    assert "[[methods]]" not in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["model", "adapt1", "classifier"])
def test_grid_refuses_a_method_named_like_a_pipeline_step(capsys, monkeypatch, name):
    # sertl grid --methods model gave a raw traceback ("All intermediate steps
    # should be transformers"); the registry skips such a class, and grid
    # says why when the name is asked for
    with pytest.warns(PluginLoadWarning, match="which names a step of the pipelines"):
        _register_methods(
            monkeypatch,
            adapters=[_adapter("model"), _adapter("adapt1")],
            estimators=[_estimator("classifier")],
        )
    _no_features(monkeypatch)
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    assert main([*args, "--methods", f"dss,{name}"]) == 2
    err = capsys.readouterr().err
    assert re.search(
        rf"--methods: unknown method {name!r}; use no_adaptation, dss or one of .*\. "
        r"Plugins with a problem, which may provide it: 'fakemethods' \(unknown "
        rf"distribution\): .*Fake_{name} has the registry_name {name!r}, which "
        "names a step of the pipelines that sertl run and sertl grid build",
        err,
    ), err
    assert "Traceback" not in err


def test_run_names_a_candidate_the_registry_skipped_as_not_installed(
    tmp_path, capsys, monkeypatch
):
    with pytest.warns(PluginLoadWarning, match="registry_name 'scale', which names"):
        _register_methods(monkeypatch, adapters=[_adapter("scale")])
    _no_features(monkeypatch)
    exp = _grid_file(
        tmp_path,
        'output = "out"\n[[methods]]\nname = "x"\nmethod = "auto"\n'
        'candidates = ["dss", "scale"]\n',
    )
    assert main(["run", exp, "--no-progress"]) == 2
    assert re.search(
        r"\[\[methods\]\] x candidates: 'scale' is neither a method of this "
        "experiment nor an installed adapter or estimator",
        capsys.readouterr().err,
    )


def test_auto_offers_no_step_named_method_and_honours_the_opt_out(monkeypatch):
    # the hard-coded exclusion list gave third-party methods no way to opt out
    # of method = "auto"; the attribute does, inherited and overridable
    from sertl_experiments import TransferVote, default_candidates

    from sertl_core import get_registry

    with pytest.warns(PluginLoadWarning, match="which names a step of the pipelines"):
        _register_methods(
            monkeypatch,
            adapters=[
                _adapter("model"),
                _adapter("adapt3"),
                _adapter("few_shot_only", _sertl_auto_candidate=False),
                _adapter("plain_adapter"),
            ],
            estimators=[
                _estimator("expensive", _sertl_auto_candidate=False),
                _estimator("weighted_source"),
            ],
        )
    names = [r.name for r in default_candidates()]
    assert "dss+plain_adapter" in names and "dss+weighted_source" in names
    for left_out in ("model", "adapt3", "few_shot_only", "expensive"):
        assert f"dss+{left_out}" not in names
    # the first-party methods that declare it stay out
    for first_party in ("source_only", "domain_standard_scaler", "vote"):
        assert f"dss+{first_party}" not in names
    members = [n for _, n in TransferVote()._auto_methods(get_registry())]
    assert "plain_adapter" in members and "weighted_source" in members
    assert not {"model", "adapt3", "few_shot_only", "expensive", "vote"} & set(members)


def test_first_party_names_stay_out_of_auto_without_the_attribute(monkeypatch):
    # an older release of a first-party plugin does not declare the attribute
    from sertl_experiments._recipes import is_auto_candidate

    from sertl_core import SourceOnly

    class OldFinetune(SourceOnly):
        registry_name = "finetune"

    monkeypatch.delattr(SourceOnly, "_sertl_auto_candidate")
    assert is_auto_candidate("finetune", OldFinetune) is False
    assert is_auto_candidate("source_only", SourceOnly) is False
    assert is_auto_candidate("my_method", OldFinetune) is True


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--source", "emodb=nothere", "--target", "ravdess=sample"],
            r"--source emodb=nothere: '\S+nothere' does not exist; give the folder "
            "of the corpus as downloaded.",
        ),
        (
            ["--source", "emodb=sample", "--target", "csv=labels.csv"],
            r"--target csv=labels.csv: '\S+labels.csv' does not exist; give the CSV "
            "file that lists the corpus",
        ),
    ],
)
def test_grid_names_the_corpus_option_not_a_table(capsys, args, said):
    # "[corpora.emodb] root: ..." named a table that only an experiment file has
    assert main(["grid", *args, "--methods", "dss"]) == 2
    err = capsys.readouterr().err
    assert re.match("sertl grid: error: " + said, err), err
    assert "[corpora" not in err and "Traceback" not in err


def _folders_corpus(root):
    """A folder-per-emotion copy of the EmoDB sample (EmoDB's file names)."""
    import shutil

    from sertl_speech import load_sample

    for row in load_sample("emodb").itertuples():
        (root / row.emotion).mkdir(parents=True, exist_ok=True)
        shutil.copy(row.file, root / row.emotion / Path(row.file).name)
    return root


def test_few_shot_on_a_corpus_without_speakers_is_refused_before_features(
    tmp_path, capsys, monkeypatch
):
    # every cell failed ("target 'mine' has 1 speaker(s)") after extraction,
    # and the folders reader's speaker ids could not be configured
    from sertl_experiments import ExperimentError, _runner

    def reached(*_, **__):
        raise ExperimentError("feature extraction reached")

    monkeypatch.setattr(_runner, "extract_features", reached)
    _folders_corpus(tmp_path / "mine")
    text = (
        '[corpora.emodb]\nroot = "sample"\n'
        '[corpora.mine]\nreader = "folders"\nroot = "mine"\n{}'
        '[matrix]\nsources = ["emodb"]\ntargets = ["mine"]\n'
        '[protocol]\ntarget = "few_shot"\nk = 2\n[[methods]]\nname = "dss"\n'
    )
    exp = tmp_path / "exp.toml"
    exp.write_text(text.format(""))
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"^sertl run: error: \S+exp\.toml: \[corpora\.mine\]: few_shot needs at "
        r"least two speakers in a target corpus .* but 'mine' has 1 \('unknown'\)\. "
        r"The folders reader gives every file the speaker 'unknown' unless told "
        r"where the speaker id is: add options = \{ speaker_pattern = ",
        err,
    ), err
    assert "feature extraction reached" not in err and "features:" not in err
    assert main(["grid", str(exp)]) == 2
    assert "[corpora.mine]: few_shot needs at least two speakers" in (
        capsys.readouterr().err
    )
    # an option of the wrong type is named with the reader's reason
    exp.write_text(text.format("options = { speaker_pattern = 5 }\n"))
    assert main(["run", str(exp), "--no-progress"]) == 2
    assert re.search(
        r"\[corpora\.mine\] options: the reader 'folders' refused "
        r"\{'speaker_pattern': 5\}: folders: speaker_pattern must be a string",
        capsys.readouterr().err,
    )
    # with the speaker ids of the file names, it goes on to the features
    exp.write_text(
        text.format('options = { speaker_pattern = "^(?P<speaker>\\\\d\\\\d)" }\n')
    )
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "feature extraction reached" in err and "few_shot needs" not in err
    assert "features: emodb (48 files" in err


def _csv_corpus(root):
    """The RAVDESS sample as a CSV corpus with labels of its own (relaxed: neutral).

    Not the EmoDB sample, which the tests' experiments take as the other
    corpus: a run refuses a target that holds its source's recordings.
    """
    from sertl_speech import load_sample

    own = {"anger": "angry", "happiness": "happy", "sadness": "sad"}
    root.mkdir()
    lines = ["file,label,speaker"]
    for row in load_sample("ravdess").itertuples():
        lines.append(f"{row.file},{own.get(row.emotion, 'relaxed')},{row.speaker}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


def _emodb_and_csv_experiment(tmp_path, labels):
    """Write a dss experiment on the EmoDB sample and the CSV corpus ``labels``."""
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'output = "out"\n[corpora.emodb]\nroot = "sample"\n'
        f'[corpora.mine]\nreader = "csv"\nroot = "{labels}"\n'
        "[protocol]\nbootstrap = 0\nselection_splits = 1\n"
        '[[methods]]\nname = "dss"\n'
    )
    return exp


def _random_features(monkeypatch):
    """Replace feature extraction by random features: the run's logic only."""
    from sertl_experiments import _runner

    def extract(files, *_, **__):
        # seeded by the files: two corpora of as many files differ (equal
        # features are one recording, which a run refuses in source and target)
        rng = np.random.default_rng(zlib.crc32("\n".join(files).encode()))
        return rng.normal(size=(len(files), 4)), []

    monkeypatch.setattr(_runner, "extract_features", extract)


@pytest.mark.parametrize("onto", ["neutral", "calm"])
def test_mapped_and_left_out_labels_are_reported(
    tmp_path, capsys, monkeypatch, onto, read_results_md
):
    # a label the mapping renames was still "to rename"; one mapped onto a
    # class outside [labels] classes vanished without a word, and the report
    # did not say which classes each pair used
    import html

    _random_features(monkeypatch)
    labels = _csv_corpus(tmp_path / "mine")
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'output = "out"\n[corpora.emodb]\nroot = "sample"\n'
        f'[corpora.mine]\nreader = "csv"\nroot = "{labels}"\n'
        '[labels]\nclasses = ["anger", "happiness", "neutral", "sadness"]\n'
        f'mapping = {{ relaxed = "{onto}" }}\n'
        '[matrix]\nsources = ["emodb"]\ntargets = ["mine"]\n'
        "[protocol]\nbootstrap = 0\nselection_splits = 1\n"
        '[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "are not canonical emotions" not in err and "Rename them" not in err
    md = read_results_md(tmp_path / "out" / "results.md")
    page = html.unescape((tmp_path / "out" / "report.html").read_text())
    classes = md.split("## Classes of each pair", 1)[1].split("\n## ", 1)[0]
    assert "<h2>Classes of each pair</h2>" in page
    if onto == "neutral":
        assert "left out" not in err
        assert "| emodb | mine | anger, happiness, neutral, sadness |  |" in classes
        assert "## Labels left out" not in md
    else:
        assert (
            "corpus mine: 12 file(s) labelled calm (mapped from relaxed) left out: "
            "not in [labels] classes\n" in err
        )
        assert "emodb -> mine: classes anger, happiness, sadness; left out: " in err
        assert (
            "| emodb | mine | anger, happiness, sadness | neutral (mine has none) |"
            in classes
        )
        section = md.split("## Labels left out", 1)[1].split("\n## ", 1)[0]
        assert (
            "| mine | calm (mapped from relaxed) | 12 | not in [labels] classes |"
            in (section)
        )
        table = page.split("id='tab-left-out'", 1)[1].split("</table>")[0]
        assert "calm (mapped from relaxed)" in table


def test_labels_no_other_corpus_shares_are_reported(tmp_path, capsys, monkeypatch):
    _random_features(monkeypatch)
    exp = _emodb_and_csv_experiment(tmp_path, _csv_corpus(tmp_path / "mine"))
    assert main(["run", str(exp), "--no-progress"]) == 0
    err = capsys.readouterr().err
    # not mapped: the reader's advice stands
    assert "csv: label(s) ['relaxed'] are not canonical emotions" in err
    assert (
        "corpus emodb: 12 file(s) labelled neutral left out: not shared by every "
        'corpus ([labels] classes = "shared"): mine has none\n' in err
    )
    assert (
        "corpus mine: 12 file(s) labelled relaxed left out: not shared by every "
        'corpus ([labels] classes = "shared"): emodb has none\n' in err
    )
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| emodb | mine | anger, happiness, sadness |  |" in md
    assert "| mine | emodb | anger, happiness, sadness |  |" in md


def test_predict_folder_note_counts_the_files_labelled(small_model, tmp_path, capsys):
    # "7 audio file(s) labelled" when 3 of the 7 could not be
    import shutil

    path, files = small_model
    folder = tmp_path / "batch"
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / Path(f).name)
    (folder / "broken.wav").write_bytes(b"RIFF-not-really-audio")
    (folder / "notes.txt").write_text("not audio")
    assert main(["predict", str(path), str(folder), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert sum(r["error"] is None for r in out["predictions"]) == 2
    note = (
        f"{folder}: 2 audio file(s) labelled (1 other audio file(s) could not be: "
        "see their errors); 1 file(s) skipped, not audio by their extension "
        "(.txt: 1)."
    )
    assert len(out["notes"]) == 1 and out["notes"][0].startswith(note)
    assert main(["predict", str(path), str(folder)]) == 1
    assert f"sertl predict: note: {note}" in capsys.readouterr().err
    # refused as a whole (too few files for --new-domain): none labelled
    assert main(["predict", str(path), str(folder), "--new-domain", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["notes"][0].startswith(
        f"{folder}: 3 audio file(s) found, none labelled; 1 file(s) skipped"
    )


def test_run_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 every cell finished; 1 some cells failed" in text
    assert "2 the experiment could not start" in text and "130 interrupted" in text


def test_grid_resolves_a_name_to_sertls_class_not_another_kinds(monkeypatch):
    # a third-party adapter "kmm" beside sertl-instance's estimator "kmm":
    # --methods kmm ran the adapter, and --param kmm__B=... failed against it
    pytest.importorskip("sertl_instance")
    from sertl_experiments._cli import _recipes_from_cli
    from sertl_experiments._runner import check_recipe

    with pytest.warns(
        PluginLoadWarning,
        match=r"Fake_kmm claims the adapter name 'kmm', which sertl-instance's "
        r"sertl_instance\._kmm\.KMM has as its estimator name",
    ):
        _register_methods(monkeypatch, adapters=[_adapter("kmm")])
    (recipe,) = _recipes_from_cli("kmm", ["kmm__B=2,5"])
    assert (recipe.estimator, recipe.adapters) == ("kmm", [])
    assert recipe.grid == {"kmm__B": [2, 5]}
    check_recipe(  # KMM's own parameter: no error
        recipe,
        "svc",
        {},
        params_where=lambda step: step,
        grid_where=lambda key: key,
        adapter_where="--methods kmm",
    )


def test_grid_names_the_broken_plugins_that_may_provide_an_unknown_method(
    tmp_path, capsys, monkeypatch
):
    # sertl run said which plugin failed to load; sertl grid only "unknown method"
    from importlib import metadata
    from types import SimpleNamespace

    from sertl_core.registry import Registry, make_plugin_manager

    broken = metadata.EntryPoint("broken", "no_such_module_xyz.hooks", "sertl")
    eps = [
        *metadata.entry_points(group="sertl"),
        broken._for(SimpleNamespace(name="sertl-broken")),
    ]
    monkeypatch.setattr(
        "sertl_core.registry.metadata.entry_points",
        lambda **kw: eps if kw.get("group") == "sertl" else [],
    )
    with pytest.warns(PluginLoadWarning, match="'broken' .sertl-broken.: could not"):
        registry = Registry(make_plugin_manager(), _deferred=True)
    monkeypatch.setattr("sertl_core.registry._REGISTRY", registry)
    _no_features(monkeypatch)
    hint = (
        "Plugins with a problem, which may provide it: 'broken' (sertl-broken): "
        "could not be loaded from 'no_such_module_xyz.hooks' and is skipped: "
        "ModuleNotFoundError: No module named 'no_such_module_xyz'."
    )
    args = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    assert main([*args, "--methods", "dss,shift"]) == 2
    err = capsys.readouterr().err
    assert "--methods: unknown method 'shift'; use no_adaptation, dss or one of" in err
    assert err.rstrip().endswith(hint), err
    # the same hint as sertl run's, built by the same code
    exp = _grid_file(
        tmp_path, 'output = "out"\n[[methods]]\nname = "x"\nadapter = "shift"\n'
    )
    assert main(["run", exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "No adapter named 'shift'" in err and err.rstrip().endswith(hint), err


def test_predict_trusts_comma_separated_and_repeated_types(tmp_path, capsys):
    import operator

    from sertl_experiments import save_model
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(
        FunctionTransformer(func=operator.attrgetter("real")),
        FunctionTransformer(func=operator.itemgetter(0)),
    )
    path = str(save_model(model, tmp_path / "m.skops"))
    missing = str(tmp_path / "a.wav")
    untrusted = "contains types that are not trusted"
    # one trusted of two: the other is still refused, as before
    assert main(["predict", path, missing, "--trust", "operator.attrgetter"]) == 2
    err = capsys.readouterr().err
    assert f"{untrusted}: operator.itemgetter" in err and "attrgetter" not in err
    for trust in (
        ["--trust", "operator.attrgetter,operator.itemgetter"],
        ["--trust", "operator.attrgetter", "--trust", " operator.itemgetter"],
    ):
        assert main(["predict", path, missing, *trust]) == 2  # loaded: no audio
        err = capsys.readouterr().err
        assert untrusted not in err and "no audio files to label" in err, err
    with pytest.raises(SystemExit) as exc:
        main(["predict", path, missing, "--trust", "operator.attrgetter,"])
    assert exc.value.code == 2
    assert (
        "argument --trust: expected fully qualified type names separated by "
        "commas, e.g. my_plugin.MyAdapter,my_plugin.MyEstimator; got "
        "'operator.attrgetter,', which has an empty name: remove the extra comma."
    ) in capsys.readouterr().err


def test_predict_help_says_trust_is_repeatable_or_comma_separated(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--trust TYPE[,TYPE...]" in text
    assert "repeatable, or comma-separated: --trust A,B is --trust A --trust B" in text


def test_csv_corpus_with_own_columns_and_encoding_from_an_experiment_file(tmp_path):
    # a researcher's table saved by German Excel: own column names, cp1252
    import shutil

    from sertl_experiments import ExperimentError, load_config
    from sertl_experiments._data import load_corpus_table
    from sertl_speech import load_sample

    sample = load_sample("emodb").iloc[:4]
    folder = tmp_path / "Sprecher Ö"
    folder.mkdir()
    lines = ["pfad,emo,spk"]
    for i, r in enumerate(sample.itertuples()):
        name = f"wütend {i}.flac"
        shutil.copy(r.file, folder / name)
        lines.append(f"Sprecher Ö/{name},{r.emotion},{r.speaker}")
    table_file = tmp_path / "labels.csv"
    table_file.write_bytes("\n".join(lines).encode("cp1252"))
    exp = tmp_path / "exp.toml"
    text = (
        '[corpora.mine]\nreader = "csv"\nroot = "labels.csv"\n'
        'options = { columns = { file = "pfad", label = "emo", speaker = "spk" }'
        ', encoding = "cp1252" }\n'
        '[corpora.ravdess]\nroot = "sample"\n[[methods]]\nname = "dss"\n'
    )
    exp.write_text(text, encoding="utf-8")
    cfg = load_config(exp)
    table = load_corpus_table(cfg.corpora["mine"])
    assert [Path(f).name for f in table["file"]] == [
        f"wütend {i}.flac" for i in range(4)
    ]
    assert list(table["emotion"]) == list(sample["emotion"])
    # without the encoding: the line and the fix are named
    exp.write_text(text.replace(', encoding = "cp1252"', ""), encoding="utf-8")
    with pytest.raises(ExperimentError, match=r"line 2 .*encoding"):
        load_corpus_table(load_config(exp).corpora["mine"])


def test_output_option_naming_a_file_is_refused_with_the_fix(tmp_path, capsys):
    # a raw "[Errno 20] Not a directory: '.../afile/cells'" before
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[corpora.emodb]\nroot = "sample"\n[corpora.ravdess]\nroot = "sample"\n'
        '[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "-o", str(afile), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (
        f"sertl run: error: --output {afile}: is a file, not a folder. Give a " in err
    )
    assert f"e.g. --output {afile}-results." in err and "Errno" not in err
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_run_refuses_jobs_below_one_but_minus_one(tmp_path, capsys, jobs):
    # --jobs 0 failed in joblib after the features were extracted, exit 1
    with pytest.raises(SystemExit) as exc:
        main(["run", str(tmp_path / "exp.toml"), "--jobs", jobs])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert (
        f"argument --jobs: must be >= 1 (cells run in parallel), or -1 for one per "
        f"CPU core; got {jobs}." in err
    )


def test_run_jobs_minus_one_is_every_core_and_documented(capsys):
    import argparse

    from sertl_experiments._cli import add_commands

    parser = argparse.ArgumentParser(prog="sertl")
    add_commands(parser.add_subparsers())
    assert parser.parse_args(["run", "x.toml", "--jobs", "-1"]).jobs == -1
    assert parser.parse_args(["run", "x.toml", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "N >= 1 processes, or -1 for one per CPU core" in text


def test_grid_param_without_values_is_refused(capsys):
    # a traceback from GridSearchCV ("need to be a non-empty sequence") before
    argv = ["grid", "--source", "emodb=sample", "--target", "ravdess=sample"]
    assert main([*argv, "--param", "classifier__C="]) == 2
    err = capsys.readouterr().err
    assert "sertl grid: error: --param classifier__C: give at least one value " in err
    assert "Traceback" not in err


def test_grid_param_given_twice_merges_its_values(capsys):
    # the first --param classifier__C=1 was dropped in silence
    from sertl_experiments._cli import _recipes_from_cli

    (recipe,) = _recipes_from_cli(
        "dss", ["classifier__C=1", "classifier__C=10,1", "classifier__C=true"]
    )
    assert recipe.grid == {"classifier__C": [1, 10, True]}
    with pytest.raises(SystemExit):
        main(["grid", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "a parameter given twice searches the values of both (each once)" in text


def test_grid_refuses_a_second_target(capsys):
    # the first target was dropped in silence, exit 0
    argv = ["grid", "--source", "emodb=sample", "--target", "urdu=data/urdu"]
    assert main([*argv, "--target", "ravdess=sample"]) == 2
    err = capsys.readouterr().err
    assert (
        "sertl grid: error: --target: give one target corpus, got 2 (urdu=data/urdu, "
        "ravdess=sample). To search several targets, list them in an experiment file"
    ) in err


def test_run_summary_names_metrics_as_the_tables_and_ranks_shared_pairs(capsys):
    from sertl_experiments._cli import _print_means

    rows = [
        ("a", "b", "dss", "ok", 0.50),
        ("b", "a", "dss", "ok", 0.20),
        ("a", "b", "tca", "ok", 0.40),
        ("b", "a", "tca", "error", None),
    ]
    df = pd.DataFrame(rows, columns=["source", "target", "method", "status", "uar"])
    # the columns of results.csv that the summary reads
    df = df.assign(seed=0, macro_f1=df["uar"], wa=df["uar"], predicted_hurt=None)
    _print_means(df, "macro_f1")
    out = capsys.readouterr().out
    # "mean MACRO_F1 over 2 pair(s)" before, tca's mean over 1 of them
    assert out.splitlines() == [
        "mean macro-F1 over the 1 pair(s) every method finished, of 2 (in "
        "brackets: over all of a method's pairs):",
        "  dss                       50.0 %  (35.0 % over 2 pair(s))",
        "  tca                       40.0 %  (40.0 % over 1 pair(s))",
    ]
    # equal scores print alike: 0.31250000000000006 showed 31.3, 0.3125 31.2
    df = df.assign(status="ok", macro_f1=[0.31250000000000006, 0.3125, 0.3125, 0.3125])
    _print_means(df, "macro_f1")
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "mean macro-F1 over 2 pair(s):",
        "  dss                       31.2 %",
        "  tca                       31.2 %",
    ]


def test_demo_help_describes_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-progress no progress bars" in text


def test_predict_leaves_out_hidden_files_and_folders(tmp_path):
    # macOS copies: ._r00.wav failed to decode (exit 1), .Trashes/old.wav
    # was labelled as input
    from sertl_experiments._predict import _scan_audio, expand_audio

    folder = tmp_path / "mac_copy"
    (folder / ".Trashes").mkdir(parents=True)
    (folder / "sub" / ".git").mkdir(parents=True)
    for name in ("r00.wav", "._r00.wav", ".Trashes/old.wav", "sub/r01.flac"):
        (folder / name).write_bytes(b"")
    (folder / "sub" / ".git" / "config").write_text("x")
    hidden = folder / "._r00.wav"
    files, missing = expand_audio([str(folder), str(hidden)])
    assert files == [str(folder / "r00.wav"), str(folder / "sub" / "r01.flac")] + [
        str(hidden)  # given by its path: read
    ]
    assert missing == []
    _, folders = _scan_audio([str(folder)])
    assert not folders[0][2]  # no note on the hidden folder's files
    # a hidden folder given as the argument is searched
    files, _ = expand_audio([str(folder / ".Trashes")])
    assert files == [str(folder / ".Trashes" / "old.wav")]


def test_grid_default_methods_are_the_installed_ones(monkeypatch):
    # without sertl-feature, sertl grid's default --methods named coral and
    # tca and stopped with "'coral' is provided by sertl-feature", a method
    # the user had not asked for; it now searches the installed ones
    from sertl_experiments._cli import _default_grid_methods

    import sertl_core

    class Registry:
        def __init__(self, adapters):
            self.adapters = adapters

        def names(self, kind):
            assert kind == "adapters"
            return list(self.adapters)

    monkeypatch.setattr(sertl_core, "get_registry", lambda: Registry(["kmm_like"]))
    assert _default_grid_methods() == "no_adaptation,dss"
    monkeypatch.setattr(sertl_core, "get_registry", lambda: Registry(["tca", "coral"]))
    assert _default_grid_methods() == "no_adaptation,dss,coral,tca"


def test_grid_param_of_no_listed_step_names_the_steps_there_are():
    # the message named the missing step only, not the ones --param can set
    pytest.importorskip("sertl_feature")
    from sertl_experiments._cli import _recipes_from_cli
    from sertl_experiments._config import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"--param tca__n_components: no listed method has a step 'tca'; the "
        r"steps of --methods are coral, source_only, classifier, scale \(write "
        r"STEP__PARAM=V1,V2",
    ):
        _recipes_from_cli("dss,coral", ["tca__n_components=5"])


_IMPORTS_OF_A_COMMAND = """
import contextlib, io, json, sys
from sertl_core.cli import main

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = ("sklearn", "scipy", "pandas", "torch", "librosa", "matplotlib", "dask")
print(json.dumps([code, [m for m in heavy if m in sys.modules]]))
"""


@pytest.mark.parametrize("args", [["--help"], ["run", "bad.toml"]])
def test_help_and_a_config_error_import_no_heavy_library(tmp_path, args):
    # every command loaded the plugins' packages, which imported
    # scikit-learn, scipy and pandas (a second or more) for `sertl --help`;
    # `sertl run` imported the runner before reading the experiment file
    import subprocess
    import sys

    (tmp_path / "bad.toml").write_text('name = "x"\nno_such_key = 1\n')
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF_A_COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    code, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == (0 if args == ["--help"] else 2)
    assert heavy == []


def test_a_target_holding_copies_of_source_recordings_is_refused(
    tmp_path, capsys, monkeypatch
):
    # a user's corpus that includes a few EmoDB files (copied, renamed) was
    # scored against EmoDB as the source without a word: the model was tested
    # on utterances it had trained on
    import shutil

    from sertl_experiments import _runner
    from sertl_speech import load_sample

    def extract(files, *_, **__):  # features of the file's content
        X = [
            np.random.default_rng(zlib.crc32(Path(f).read_bytes())).normal(size=4)
            for f in files
        ]
        return np.array(X), []

    monkeypatch.setattr(_runner, "extract_features", extract)
    root = tmp_path / "mine"
    root.mkdir()
    lines = ["file,label,speaker"]
    for row in load_sample("ravdess").itertuples():
        lines.append(f"{row.file},{row.emotion},{row.speaker}")
    for i, row in enumerate(load_sample("emodb").iloc[:40:8].itertuples()):
        shutil.copy(row.file, root / f"take{i}.flac")
        lines.append(f"take{i}.flac,{row.emotion},x{row.speaker}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    exp = _emodb_and_csv_experiment(tmp_path, root / "labels.csv")
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"emodb -> mine: 5 of the 53 files of mine are recordings of the source "
        r"\(the same file, or a copy: their features are equal\), so the model "
        r"would be tested on utterances it was trained on .*\n  .*take0\.flac = "
        r".*03a01Fa\.flac\n  .*take1\.flac = .*\n  .*take2\.flac = .*\n  \.\.\. 2 "
        r"more\n",
        err,
    ), err
    assert not (tmp_path / "out" / "results.csv").exists()


def test_grid_takes_two_corpora_of_one_reader(tmp_path, monkeypatch, capsys):
    # corpora were named after their reader: two folders corpora were "the
    # pool ['folders', 'folders'] lists 'folders' more than once", and a
    # folders target beside a folders source "is also a source"
    from sertl_experiments import ExperimentError, _runner

    seen = {}

    def reached(cfg, **_):
        seen["cfg"] = cfg
        raise ExperimentError("feature extraction reached")

    monkeypatch.setattr(_runner, "_prepare_data", reached)
    for name in ("URDU", "TurEV-DB", "mine"):
        (tmp_path / name).mkdir()
    argv = [
        "grid",
        "--source",
        f"folders={tmp_path / 'URDU'}",
        "--source",
        "emodb=sample",
        "--source",
        f"folders={tmp_path / 'TurEV-DB'}",
        "--target",
        f"folders={tmp_path / 'mine'}",
        "--methods",
        "dss",
    ]
    assert main(argv) == 2
    assert "feature extraction reached" in capsys.readouterr().err
    cfg = seen["cfg"]
    assert cfg.pairs() == [
        (("folders-URDU", "emodb", "folders-TurEV-DB"), "folders-mine")
    ]
    roots = {n: (s.reader, s.root) for n, s in cfg.corpora.items()}
    assert roots["folders-URDU"] == ("folders", tmp_path / "URDU")
    assert roots["folders-mine"] == ("folders", tmp_path / "mine")
    assert roots["emodb"][0] == "emodb"
    # one corpus given twice, or as a source and the target, is refused
    twice = [*argv[:3], *argv[1:3], "--target", "ravdess=sample"]
    assert main(twice) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"^sertl grid: error: --source folders=\S+URDU is given twice \(folders "
        r"at \S+URDU\): each source corpus is one source domain; give it once\.",
        err,
    ), err
    same = [*argv[:3], "--target", argv[2]]
    assert main(same) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"^sertl grid: error: --target folders=\S+URDU names the corpus of --source "
        r"folders=\S+URDU \(folders at \S+URDU\): a corpus cannot be the target of "
        "its own sources",
        err,
    ), err
