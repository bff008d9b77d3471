"""Bad input to sertl-experiments gets an error that names it and says the fix."""

import sys

import numpy as np
import pytest
from sertl_experiments import ConfigError, ExperimentError, Recipe, train_model


def test_train_model_without_usable_source_files_names_them_and_why(
    tmp_path, monkeypatch
):
    missing = [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]
    target = [str(tmp_path / "t.wav")]
    with pytest.raises(
        ExperimentError,
        match=r"^none of the 2 source file\(s\) gave features, so there is nothing "
        r"to train on \(.*a\.wav: missing: .*b\.wav: missing: .*\)\. Give readable",
    ):
        train_model(Recipe("dss"), missing, ["anger", "joy"], target)
    # refused before the target files are extracted (they may take minutes)
    from sertl_experiments import _train

    def no_extraction(*args, **kwargs):
        raise AssertionError("features extracted before the refusal")

    monkeypatch.setattr(_train, "extract_features", no_extraction)
    with pytest.raises(
        ExperimentError, match=r"^no source files given: pass the labelled training"
    ):
        train_model(Recipe("dss"), [], [], target)


def test_a_recipe_grid_key_of_no_step_lists_the_steps():
    recipe = Recipe("coral", adapters=["coral"], grid={"tca__mu": [1.0]})
    with pytest.raises(
        ConfigError,
        match=r"grid tca__mu: no step 'tca'; keys are STEP__PARAM with STEP one of "
        r"scale, classifier, source_only, coral\.$",
    ):
        recipe.grid_key("tca__mu", 1)


def test_a_dask_that_cannot_be_imported_is_named_with_the_cause(monkeypatch):
    from sertl_experiments._dask import dask_client

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(
        ExperimentError,
        match=r"need Dask's distributed package, which could not be imported "
        r"\(.*distributed.*\): pip install 'sertl-experiments\[dask\]'",
    ) as info:
        with dask_client(workers=1):
            pass
    assert isinstance(info.value.__cause__, ImportError)


_SPEAKER_ADAPTER = Recipe("norm", adapters=["speaker_normalizer"])
_NEEDS_SPEAKERS = (
    r"^Recipe 'norm' adapters: 'speaker_normalizer' needs the speaker of each "
    r"row \(its fit takes speaker\), which "
)


def _no_extraction(*args, **kwargs):
    raise AssertionError("features extracted before the refusal")


def test_train_model_refuses_an_adapter_that_needs_speaker_ids(tmp_path, monkeypatch):
    # the refusal lived in Recipe.steps, worded for an experiment file
    # ("[[methods]] norm adapter: ... sertl run gives ...") and reached only
    # after every file was extracted; a deployable model has no speaker ids
    from sertl_experiments import _train

    monkeypatch.setattr(_train, "extract_features", _no_extraction)
    with pytest.raises(
        ExperimentError,
        match=_NEEDS_SPEAKERS
        + r"train_model gives to no step \(new recordings carry no speaker id\): "
        r"as an adapter it would get none and take all rows for one speaker\. A "
        r"deployable model cannot normalise per speaker: leave it out \(scaling = "
        r'"domain" standardises each domain\)\.$',
    ):
        train_model(_SPEAKER_ADAPTER, ["a.wav"], ["anger"], ["t.wav"])


def _rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.where(X[:20, 0] > 0, "anger", "sadness"), ["-1"] * 20]
    sd = np.r_[np.ones(20, int), -np.ones(20, int)]
    return X, y, sd


def test_evaluate_refuses_an_adapter_that_needs_speaker_ids():
    # evaluate routes speaker ids to scaling="speaker" only: the message was
    # Recipe.steps' "[[methods]] norm adapter: ... sertl run gives ...",
    # which named an experiment file the caller does not have
    from sertl_experiments import evaluate

    X, y, sd = _rows()
    with pytest.raises(
        ConfigError,
        match=_NEEDS_SPEAKERS
        + r'evaluate gives only to the scaling step \(scaling="speaker"\): .* Use '
        r'scaling="speaker" instead \(and pass speakers=\)\.$',
    ):
        evaluate([Recipe("dss"), _SPEAKER_ADAPTER], X, y, sd, speakers=["s"] * 40)


def test_search_refuses_an_adapter_that_needs_speaker_ids():
    from sertl_experiments._selection import search

    X, y, sd = _rows()
    with pytest.raises(
        ConfigError,
        match=_NEEDS_SPEAKERS + r"search gives to no step \(GridSearchCV cannot "
        r"route them to some candidates only\): .* Leave it out of the search; "
        r'score speaker normalisation \(scaling="speaker"\) with evaluate\(\)',
    ):
        search([Recipe("dss"), _SPEAKER_ADAPTER], X, y, sd)


def test_run_experiment_refuses_an_adapter_that_needs_speaker_ids(
    synthetic_config, synthetic_data, monkeypatch
):
    # the Python API's check, before any cell (or feature) is computed
    from sertl_experiments import _runner, run_experiment

    monkeypatch.setattr(_runner, "run_cell", _no_extraction)
    cfg = synthetic_config(methods=[{"name": "norm", "adapter": "speaker_normalizer"}])
    with pytest.raises(
        ConfigError,
        match=r"^<config>: \[\[methods\]\] norm adapter: 'speaker_normalizer' "
        r"needs the speaker of each row \(its fit takes speaker\), which sertl run "
        r"gives only to the scaling step: .* Use scaling = \"speaker\" instead",
    ):
        run_experiment(cfg, data=synthetic_data, progress=False, log=print)
    assert not (cfg.output / "cells").exists()


def test_a_recipe_with_a_speaker_adapter_builds_for_a_caller_that_routes_speakers():
    # Recipe.pipeline is a plain Pipeline: routed speaker ids reach the step
    from sertl_experiments._recipes import fit_params

    X, y, sd = _rows()
    spk = np.repeat(["s1", "s2", "s3", "s4"], 10)
    pipe = _SPEAKER_ADAPTER.pipeline()
    pipe.fit(X, y, **fit_params(pipe, sd, speakers=spk))
    assert list(pipe.named_steps["speaker_normalizer"].speakers_) == [
        "s1",
        "s2",
        "s3",
        "s4",
    ]
