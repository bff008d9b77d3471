"""Bad input to sertl-experiments gets an error that names it and says the fix."""

import sys

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
