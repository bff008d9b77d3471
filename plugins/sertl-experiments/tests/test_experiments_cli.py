import json

import pytest
from sertl_experiments._cli import main


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
            "[features]: The 'feature_set' parameter",
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
    assert "Traceback" not in err and "cell" not in err


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


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--seed", "-1"], "--seed: must be >= 0"),
        (["--param", "classifier__Cx=1,2"], "--param classifier__Cx: Invalid param"),
        (["--param", "classifier__C=1,-1"], "--param classifier__C: The 'C' param"),
        (["--classes", "anger,wizard"], "share fewer than two of the classes kept"),
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


def test_unreadable_files_are_reported_and_skipped(tmp_path, capsys, cache_dir):
    import shutil

    import pandas as pd
    from sertl_speech import sample_path

    root = tmp_path / "EmoDB"
    shutil.copytree(sample_path("emodb"), root)
    bad = root / "wav" / "03a01Wb.flac"  # a valid EmoDB name, corrupt content
    bad.write_bytes(b"fLaC-not-really")
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'output = "out"\n[corpora.emodb]\nreader = "emodb"\nroot = "{root}"\n'
        '[corpora.ravdess]\nreader = "ravdess"\nroot = "sample"\n'
        f'[features]\ncache_dir = "{cache_dir}"\n'
        "[protocol]\nbootstrap = 0\nselection_splits = 1\n"
        '[[methods]]\nname = "dss"\n'
    )
    assert main(["run", str(exp), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "1 unreadable file(s) were skipped" in captured.err
    html = (tmp_path / "out" / "report.html").read_text()
    assert "03a01Wb.flac" in html
    df = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (df["status"] == "ok").all()


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
    assert "Traceback" not in err and "Not a directory" in err
    assert main(["run", str(exp), "--workers", "0"]) == 2
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err
