"""A target corpus without labels (csv, ``labelled = false``) in sertl run and grid.

``sertl grid`` selects a method for such a target without its labels;
``sertl run``, which scores on the target's labels, the few-shot protocol
and a source without labels are refused before any feature is extracted.
"""

import json
import re

import numpy as np
import pytest

from sertl_core.cli import main


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


_MATRIX = '[matrix]\nsources = ["a"]\ntargets = ["b"]\n'


def _experiment(tmp_path, cache_dir, text="", *, unlabelled="b", matrix=_MATRIX):
    """Experiment: EmoDB's sample -> RAVDESS's sample, one of them without labels.

    The corpus ``unlabelled`` is a csv manifest of its sample's files (no label
    column, ``labelled = false``).
    """
    from sertl_speech import load_sample

    readers = {"a": "emodb", "b": "ravdess"}
    corpora = ""
    for name, reader in readers.items():
        if name == unlabelled:
            manifest = tmp_path / f"{reader}.csv"
            files = load_sample(reader)["file"]
            manifest.write_text("file\n" + "".join(f"{f}\n" for f in files))
            corpora += (
                f'[corpora.{name}]\nreader = "csv"\nroot = "{manifest}"\n'
                "options = { labelled = false }\n"
            )
        else:
            corpora += f'[corpora.{name}]\nreader = "{reader}"\nroot = "sample"\n'
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'output = "{tmp_path / "out"}"\n'
        + corpora
        + matrix
        + '[labels]\nclasses = ["anger", "sadness"]\n'
        + f'[features]\nset = "mfcc_stats"\ncache_dir = "{cache_dir}"\n'
        + text
        + '[[methods]]\nname = "na"\nscaling = "source"\n'
        + '[[methods]]\nname = "dss"\n'
    )
    return str(exp)


def test_grid_selects_a_method_for_a_target_without_labels(
    tmp_path, capsys, monkeypatch, cache_dir
):
    # such a target was refused by the csv reader; read, it lost every row to
    # the class filter ("no utterances of the classes ...")
    from sertl_experiments import _selection

    searched = []
    search = _selection.search

    def spy(recipes, X, y, sd, **kw):
        searched.append((np.asarray(y)[np.asarray(sd) < 0], kw["few_shot"]))
        return search(recipes, X, y, sd, **kw)

    monkeypatch.setattr(_selection, "search", spy)
    exp = _experiment(tmp_path, cache_dir)
    assert main(["grid", exp, "--json", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    [entry] = json.loads(captured.out)
    assert (entry["source"], entry["target"]) == ("a", "b")
    assert entry["classes"] == ["anger", "sadness"]  # the source's
    assert entry["scorers"] == ["reverse_validation"]
    assert [c["method"] for c in entry["candidates"]] == ["na", "dss"]
    assert all(c["reverse_validation"] is not None for c in entry["candidates"])
    # every target recording is searched (no class to filter them by), unlabelled
    [(target_y, few_shot)] = searched
    assert target_y.shape == (48,) and set(target_y) == {"-1"}
    assert few_shot is False


@pytest.mark.parametrize(
    ("command", "text", "unlabelled", "match"),
    [
        (
            "run",
            "",
            "b",
            r"\[corpora\.b\]: has no labels \(every row is unlabelled\), but sertl "
            r"run scores every cell on its target's labels .* run sertl grid on "
            r"this experiment, which scores without target labels",
        ),
        (
            "grid",
            '[protocol]\ntarget = "few_shot"\nk = 2\n',
            "b",
            r"\[corpora\.b\]: has no labels .*, but the few-shot protocol trains on "
            r"k labelled rows per class of its target",
        ),
        (
            "grid",
            "",
            "a",
            r"\[corpora\.a\]: has no labels .*, but it is a source, and a source's "
            r"rows train the classifier, so they must be labelled",
        ),
    ],
)
def test_a_corpus_without_labels_where_its_labels_are_needed_is_refused(
    tmp_path, capsys, monkeypatch, command, text, unlabelled, match
):
    from sertl_experiments import _runner

    def no_features(*args, **kwargs):
        raise AssertionError("features extracted before the refusal")

    monkeypatch.setattr(_runner, "extract_features", no_features)
    exp = _experiment(tmp_path, tmp_path / "cache", text, unlabelled=unlabelled)
    assert main([command, exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(match, err), err


def test_leave_one_out_with_a_corpus_without_labels_says_how_to_target_it(
    tmp_path, capsys, cache_dir
):
    # sources = "leave_one_out" puts the unlabelled corpus in the other
    # targets' pools; the refusal said "make it a target only", though the
    # file lists no sources to take it out of
    loo = '[matrix]\nsources = "leave_one_out"\n'
    exp = _experiment(tmp_path, cache_dir, matrix=loo)
    assert main(["grid", exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(
        r"\[corpora\.b\]: has no labels .*, but it is a source.*\(with sources = "
        r'"leave_one_out", .* list it alone in \[matrix\] targets: targets = '
        r'\["b"\] pools the other corpora for it',
        err,
    ), err
    # the advice followed: a -> b, searched without b's labels
    exp = _experiment(tmp_path, cache_dir, matrix=loo + 'targets = ["b"]\n')
    assert main(["grid", exp, "--json", "--no-progress"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["source"], entry["target"]) == ("a", "b")


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        # the corpora's emotions listed the target's unlabelled marker
        (
            'calm = "neutral"',
            r"\[labels\] mapping calm: no corpus has the emotion 'calm'\. The "
            r"corpora's emotions are a: anger, happiness, neutral, sadness\. Keys",
        ),
        # the marker was a key: the target's every row became "neutral"
        (
            '"-1" = "neutral"',
            r"\[labels\] mapping -1: no corpus has the emotion '-1'\. The corpora's "
            r"emotions are a: anger, happiness, neutral, sadness\. Keys",
        ),
    ],
)
def test_a_mapping_does_not_see_the_unlabelled_marker_of_a_target(
    tmp_path, capsys, monkeypatch, mapping, match
):
    from sertl_experiments import _runner

    def no_features(*args, **kwargs):
        raise AssertionError("features extracted before the refusal")

    monkeypatch.setattr(_runner, "extract_features", no_features)
    text = f"[labels.mapping]\n{mapping}\n"
    exp = _experiment(tmp_path, tmp_path / "cache", text)
    assert main(["grid", exp, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(match, err), err


def test_grid_help_gives_the_experiment_file_route_for_reader_options(capsys):
    # --target csv=... could not say labelled = false (nor a delimiter), and
    # the help did not say where to
    with pytest.raises(SystemExit) as exc:
        main(["grid", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "reader options, such as a csv target without labels: in an experiment" in (
        text
    )
    assert (
        "A reader's options (the csv reader's delimiter, encoding, columns, or "
        "labelled = false for recordings without labels, an unlabelled target) and "
        "corpus names of your own are set in an experiment file" in text
    )
    assert 'options = { delimiter = ";", labelled = false }' in text
