"""Label new recordings with a saved model."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np

__all__ = ["AUDIO_SUFFIXES", "MIN_NEW_DOMAIN_FILES", "expand_audio", "predict_files"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
# Fewest files whose own statistics stand in for a new recording setup's:
# below this the mean and spread of the batch follow its emotions more than
# its microphone and room.
MIN_NEW_DOMAIN_FILES = 10


def expand_audio(paths):
    """Expand folders into their audio files (recursively), keep files as given.

    Parameters
    ----------
    paths : list of str
        Files and folders.

    Returns
    -------
    files : list of str
        Audio files, folders expanded in sorted order (a subfolder named
        like an audio file, ``take.flac/``, is searched, not listed).
    missing : list of str
        Arguments that do not exist.

    Examples
    --------
    >>> expand_audio(["/no/such/file.wav"])
    ([], ['/no/such/file.wav'])
    """
    files, missing = [], []
    for p in paths:
        q = Path(p)
        if q.is_dir():
            files += [
                str(f)
                for f in sorted(q.rglob("*"))
                if f.suffix.lower() in AUDIO_SUFFIXES and not f.is_dir()
            ]
        elif q.is_file():
            files.append(str(q))
        else:
            missing.append(str(p))
    return files, missing


def predict_files(model, files, *, new_domain=False):
    """Predict the emotion of audio files with a saved Pipeline from audio paths.

    Files that give no features (unreadable, silent, too short) are
    reported with the reason instead of a prediction.

    Parameters
    ----------
    model : Pipeline
        ``features -> adapters -> transfer estimator``, as saved by sertl.
    files : list of str
        Audio files.
    new_domain : bool, default=False
        The files come from a recording setup (corpus, microphone, room)
        that the model was not adapted to. Its per-domain standardisation
        steps (:class:`~sertl_core.DomainStandardScaler`) then scale the
        files with the statistics of the files themselves
        (``target_stats="batch"``) instead of those of the model's target
        corpus; the caller's model is left as it is. Needs at least
        ``MIN_NEW_DOMAIN_FILES`` files with features, all from that one
        setup, and a model with such a step.

    Returns
    -------
    rows : list of dict
        One per file: ``file``, ``emotion`` (None on failure),
        ``probabilities`` (dict of class to float, or None) and ``error``.

    Examples
    --------
    A Pipeline from audio paths fitted on four utterances of the shipped
    EmoDB sample labels two others; a missing file gets its reason:

    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sertl_speech import AudioFeatures, load_sample
    >>> from sertl_experiments import predict_files
    >>> table = load_sample("emodb", emotions=["anger", "sadness"])
    >>> train, new = table.iloc[:4], table.iloc[4:6]
    >>> model = make_pipeline(AudioFeatures("mfcc_stats"), StandardScaler(),
    ...                       LogisticRegression())
    >>> model = model.fit(list(train["file"]), list(train["emotion"]))
    >>> rows = predict_files(model, list(new["file"]) + ["missing.wav"])
    >>> [(Path(r["file"]).name, r["emotion"]) for r in rows]
    [('08a01Wa.flac', 'anger'), ('08a01Wc.flac', 'anger'), ('missing.wav', None)]
    >>> rows[2]["error"]
    'missing: no such file: missing.wav'

    See :func:`sertl_experiments.train_model` for a transfer model.
    """
    feats, rest = model.steps[0][1], model[1:]
    if new_domain:
        rest = _with_batch_statistics(rest)
    if hasattr(feats, "set_params") and "errors" in feats.get_params():
        # a shallow copy: the caller's fitted step keeps its own setting
        feats = copy.copy(feats).set_params(errors="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = np.asarray(feats.transform(list(files)), dtype=float)
    reasons = {}
    failed = getattr(feats, "failed_", None)
    if failed is not None and len(failed):
        for _, r in failed.iterrows():
            reasons[str(r["item"])] = f"{r['reason']}: {r['message']}"
    ok = np.all(np.isfinite(X), axis=1)
    if new_domain and ok.sum() < MIN_NEW_DOMAIN_FILES:
        raise ValueError(
            f"new_domain (--new-domain) needs at least {MIN_NEW_DOMAIN_FILES} "
            f"files with features from the new recording setup, got "
            f"{int(ok.sum())}{_failures(files, ok, reasons)}: the statistics of "
            "fewer files follow their emotions more than the setup. Label more "
            "files at once, or predict without it."
        )
    rows = []
    pred = proba = None
    if ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = np.asarray(rest.predict(X[ok]))
            if hasattr(rest, "predict_proba"):
                try:
                    proba = np.asarray(rest.predict_proba(X[ok]))
                except AttributeError:
                    proba = None
    classes = [str(c) for c in getattr(rest, "classes_", [])]
    j = 0
    for i, f in enumerate(files):
        if not ok[i]:
            rows.append(
                {
                    "file": f,
                    "emotion": None,
                    "probabilities": None,
                    "error": reasons.get(str(f), "no features"),
                }
            )
            continue
        probs = (
            {c: float(p) for c, p in zip(classes, proba[j], strict=True)}
            if proba is not None
            else None
        )
        rows.append(
            {"file": f, "emotion": str(pred[j]), "probabilities": probs, "error": None}
        )
        j += 1
    return rows


def _with_batch_statistics(pipeline):
    """Return a copy of ``pipeline`` whose per-domain scalers use batch statistics.

    The fitted scalers that predict may sit deep inside other estimators
    (a fitted search's ``best_estimator_``, a transfer estimator's
    ``estimator_``): the copy's whole object graph is walked, not only its
    parameters, whose nested estimators are unfitted templates.
    """
    from sklearn.base import BaseEstimator

    pipeline = copy.deepcopy(pipeline)
    fitted, seen, todo = 0, set(), [pipeline]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, BaseEstimator):
            if "target_stats" in obj.get_params(deep=False):
                obj.target_stats = "batch"  # templates too, but only fitted count
                fitted += _is_fitted(obj)
            todo.extend(vars(obj).values())
        elif isinstance(obj, list | tuple):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
    if not fitted:
        raise ValueError(
            "new_domain (--new-domain) needs a model with a fitted per-domain "
            "standardisation step (DomainStandardScaler, e.g. the recipes with "
            'scaling = "domain"); this model has none, so the statistics of new '
            "files have nowhere to go. Predict without it."
        )
    return pipeline


def _is_fitted(est):
    """Whether ``est`` is fitted (scikit-learn's own test, as a bool)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except NotFittedError:
        return False
    return True


def _failures(files, ok, reasons):
    """`` (N without features: name (reason), ...)`` for an error message."""
    bad = [f for f, good in zip(files, ok, strict=True) if not good]
    if not bad:
        return ""
    shown = ", ".join(
        f"{Path(f).name} ({reasons.get(str(f), 'no features')})" for f in bad[:3]
    )
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return f" ({len(bad)} without features: {shown}{more})"
