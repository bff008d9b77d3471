"""Train a deployable model: a Pipeline from audio paths to emotions."""

from __future__ import annotations

import numpy as np
from sklearn import config_context
from sklearn.pipeline import Pipeline

from ._config import FeatureSpec
from ._data import ExperimentError, extract_features, make_feature_step
from ._recipes import speaker_adapter_problem

__all__ = ["train_model"]


def train_model(
    recipe,
    source_files,
    source_labels,
    target_files=(),
    *,
    features=None,
    classifier="svc",
    classifier_params=None,
    random_state=0,
    progress=False,
):
    """Fit a recipe on labelled source audio and unlabelled target audio.

    The result is one scikit-learn Pipeline ``features -> scaling ->
    adapters -> transfer estimator`` that takes audio file paths, so it can
    be saved with :func:`save_model` and applied to new recordings with
    ``sertl predict``. New recordings are treated as target-domain data.

    Parameters
    ----------
    recipe : Recipe
        The method (speaker scaling, and an adapter that needs speaker ids,
        are not supported: new files carry no speaker id).
    source_files : list of str
        Labelled training audio.
    source_labels : list of str
        Their emotions.
    target_files : list of str, default=()
        Unlabelled audio of the deployment domain.
    features : FeatureSpec, default=None
        Feature configuration (stored in the Pipeline's first step).
    classifier : str, default="svc"
        Classifier of the recipe, by :func:`make_classifier` name; SVC is
        built with probabilities.
    classifier_params : dict, default=None
        Constructor parameters of the classifier.
    random_state : int, default=0
        Seed.
    progress : bool, default=False
        Progress bar for feature extraction.

    Returns
    -------
    model : Pipeline
        Fitted; ``model.predict(files)`` and ``model.predict_proba(files)``
        raise ``sertl_speech.FeatureExtractionError`` naming every file that
        gives no features (missing, unreadable, silent, too short);
        :func:`predict_files` labels the other files of a batch and reports
        those with their reasons.
    skipped : list of (file, reason)
        Training files that gave no features.

    Raises
    ------
    ExperimentError
        A recipe a deployable model cannot use (speaker scaling, an adapter
        that needs speaker ids), refused before any file is extracted; no
        source file, or none that gives features.

    Warns
    -----
    Warning
        Whatever fitting the recipe raises (a ConvergenceWarning, ...), as
        raised.

    Examples
    --------
    >>> from sertl_speech import load_sample
    >>> from sertl_experiments import Recipe, predict_files, train_model
    >>> src, tgt = load_sample("emodb")[::2], load_sample("ravdess")[::2]
    >>> model, skipped = train_model(Recipe("dss"), list(src["file"]),
    ...                              list(src["emotion"]), list(tgt["file"]))
    >>> rows = predict_files(model, list(tgt["file"][:2]))
    >>> sorted(rows[0]["probabilities"]) == sorted(set(src["emotion"]))
    True
    """
    if recipe.scaling == "speaker":
        raise ExperimentError(
            'a deployable model cannot use scaling = "speaker" (new '
            'recordings carry no speaker id); use scaling = "domain".'
        )
    problem = speaker_adapter_problem(
        recipe, "train_model gives to no step (new recordings carry no speaker id)"
    )
    if problem:  # before any file is extracted
        raise ExperimentError(
            f"Recipe {recipe.name!r} adapters: {problem}. A deployable model "
            'cannot normalise per speaker: leave it out (scaling = "domain" '
            "standardises each domain)."
        )
    if len(source_files) == 0:  # before any target file is extracted
        raise ExperimentError(
            "no source files given: pass the labelled training files as "
            "source_files, with their labels in source_labels."
        )
    features = features or FeatureSpec()
    files = list(source_files) + list(target_files)
    X, failed = extract_features(files, features, progress=progress)
    y = np.concatenate(
        [np.asarray(source_labels, dtype=str), np.full(len(target_files), "-1")]
    )
    sd = np.r_[
        np.ones(len(source_files), dtype=np.int64),
        -np.ones(len(target_files), dtype=np.int64),
    ]
    ok = np.all(np.isfinite(X), axis=1)
    if not np.any(ok & (sd > 0)):
        n_src = len(source_files)
        source = {str(f) for f in source_files}
        reasons = [f"{f}: {why}" for f, why in failed if str(f) in source]
        shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
        raise ExperimentError(
            f"none of the {n_src} source file(s) gave features, so there is "
            f"nothing to train on ({shown or 'no reason reported'}). Give "
            "readable, non-silent audio files long enough for AudioFeatures' "
            "min_duration (set in FeatureSpec(params={'min_duration': ...}))."
        )
    pipe = recipe.pipeline(
        classifier, classifier_params, probability=True, random_state=random_state
    )
    # its warnings (a ConvergenceWarning, ...) are the caller's
    with config_context(enable_metadata_routing=True):
        pipe.fit(X[ok], y[ok], sample_domain=sd[ok])
    # the model's own step raises on files without features, naming them
    # (predict_files labels the others and reports those per file)
    step = make_feature_step(features, progress=False, errors="raise")
    return Pipeline([("features", step), *pipe.steps]), failed
