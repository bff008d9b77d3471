"""Every registered method's model loads with the default trust, in a new process.

The methods are the registry's at test time, so a new plugin's method is
covered without naming it here. Each is fitted as ``sertl run`` composes it
(adapters before ``SourceOnly``, a transfer estimator wrapping the
classifier; the feature extractors before them, on audio files), saved with
:func:`save_model`, and every file is loaded by :func:`load_model` without
``trusted=`` in one fresh interpreter (where the lazily imported classes
are not imported yet); its predictions must be those of the saved model,
bit for bit.
"""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sertl_experiments import default_candidates, save_model
from sertl_experiments._recipes import fit_params, make_classifier
from sklearn.pipeline import Pipeline

from sertl_core import DomainStandardScaler, SourceOnly, get_registry
from sertl_core.testing import make_domain_data

try:
    import fcntl
except ImportError:  # Windows: each xdist worker makes its own models
    fcntl = None

# random_forest: sertl run's classifier whose unfitted template (SourceOnly's
# estimator parameter) load_model once refused as a forest without a width
CLASSIFIER = "random_forest"

# small versions of the expensive parameters, wherever a method takes them
_SMALL = {
    "max_epochs": 2,
    "hidden_layer_sizes": (8,),
    "n_components": 3,
    "device": "cpu",
    "verbose": 0,
    "random_state": 0,
}


def _methods():
    reg = get_registry()
    return [
        (kind, name)
        for kind in ("adapters", "estimators", "features")
        for name in reg.names(kind)
    ]


def _cannot_fit(kind, name):
    """Why a registered method cannot be fitted in this installation, or None."""
    if (kind, name) == ("estimators", "vote") and len(default_candidates()) <= 2:
        # only no_adaptation and dss: the optional plugins are not installed
        return (
            "TransferVote() votes with the installed unsupervised methods: "
            "sertl-feature, sertl-instance or sertl-relational, none installed"
        )
    return None


def _small(est):
    params = est.get_params(deep=False)
    return est.set_params(**{k: v for k, v in _SMALL.items() if k in params})


def _model(kind, name):
    cls = get_registry().get(kind, name)
    clf = make_classifier(CLASSIFIER, {"n_estimators": 5}, random_state=0)
    if kind == "estimators":
        return Pipeline(
            [("scale", DomainStandardScaler()), ("model", _small(cls(clf)))]
        )
    steps = [("scale", DomainStandardScaler()), ("model", SourceOnly(clf))]
    if kind == "adapters":
        return Pipeline([steps[0], (name, _small(cls())), steps[1]])
    return Pipeline([("features", _small(cls())), *steps])


def _data(kind):
    """Rows (or audio files), labels with a few labelled target rows, domains."""
    if kind == "features":
        from sertl_speech import load_sample

        src, tgt = load_sample("emodb")[::2], load_sample("ravdess")[::2]
        X = np.r_[src["file"], tgt["file"]].astype(object)
        y = np.r_[src["emotion"], ["-1"] * len(tgt)].astype(object)
        y[len(src) : len(src) + 3] = tgt["emotion"][:3]
        sd = np.r_[np.ones(len(src), int), -np.ones(len(tgt), int)]
        return X, y, sd, X[len(src) :].astype(str)
    X, yi, sd, y_target = make_domain_data(n_per_domain=30, n_features=5)
    names = np.array(["anger", "neutral", "sadness"])
    y = np.where(yi < 0, "-1", names[np.clip(yi, 0, None)]).astype(object)
    target = np.flatnonzero(sd < 0)
    y[target[:9]] = names[y_target[:9]]  # few-shot methods need some
    return X, y, sd, X[target] + 0.1


def _outputs(model, X, adapter):
    out = {"predict": np.asarray(model.predict(X)).astype(str)}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X)
    if adapter:
        out["transform"] = model[:-1].transform(X)
    return out


_LOADER = """
import json, sys
from pathlib import Path
import numpy as np
from sertl_experiments import load_model

folder = Path(sys.argv[1])
for path in sorted(folder.glob("*.skops")):
    rows = np.load(path.with_suffix(".rows.npy"))  # floats, or file names
    try:
        model, _ = load_model(path)
    except Exception as exc:
        (folder / (path.stem + ".error")).write_text(f"{type(exc).__name__}: {exc}")
        continue
    out = {"predict": np.asarray(model.predict(rows)).astype(str)}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(rows)
    if json.loads(path.with_suffix(".json").read_text())["adapter"]:
        out["transform"] = model[:-1].transform(rows)
    np.savez(path.with_suffix(".loaded.npz"), **out)
"""


def _save_and_load(folder):
    """Fit and save every method's model in ``folder``, load them in a new process.

    Beside each ``NAME.skops``: the outputs before saving
    (``NAME.expected.npz``), and those after loading (``NAME.loaded.npz``) or
    the refusal (``NAME.error``).
    """
    for kind, name in _methods():
        if _cannot_fit(kind, name):
            continue
        X, y, sd, rows = _data(kind)
        model = _model(kind, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tiny data: the fit's quality is moot
            model.fit(X, y, **fit_params(model, sd, speakers=sd.astype(str)))
            expected = _outputs(model, rows, kind == "adapters")
        path = save_model(model, folder / f"{name}.skops")
        np.savez(path.with_suffix(".expected.npz"), **expected)
        np.save(path.with_suffix(".rows.npy"), rows, allow_pickle=False)
        path.with_suffix(".json").write_text(
            json.dumps({"adapter": kind == "adapters"})
        )
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def _saved_and_loaded(tmp_path_factory):
    """The folder of :func:`_save_and_load`, made once per test run.

    Under pytest-xdist each worker runs some of the tests: the first to ask
    makes the folder in the run's base folder, which the workers share, and
    the others wait for it (it takes about 12 s) and read it. Without
    workers, or without ``fcntl`` to lock the folder, it is made here.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or fcntl is None:
        folder = tmp_path_factory.mktemp("methods")
        _save_and_load(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / "persist_methods"
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (folder / "done").exists():
            folder.mkdir(exist_ok=True)
            _save_and_load(folder)
            (folder / "done").write_text(worker)
    return folder


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every method's model saved, then loaded in one new interpreter.

    Returns ``{name: (outputs before saving, outputs after loading or the
    refusal)}``.
    """
    folder = _saved_and_loaded(tmp_path_factory)
    out = {}
    for kind, name in _methods():
        if _cannot_fit(kind, name):
            continue
        with np.load(folder / f"{name}.expected.npz", allow_pickle=False) as z:
            before = dict(z)
        error = folder / f"{name}.error"
        if error.exists():
            out[name] = (before, error.read_text())
        else:
            with np.load(folder / f"{name}.loaded.npz", allow_pickle=False) as z:
                out[name] = (before, dict(z))
    return out


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        pytest.param(kind, name, marks=pytest.mark.skip(reason=why))
        if (why := _cannot_fit(kind, name))
        else (kind, name)
        for kind, name in _methods()
    ],
)
def test_every_registered_method_loads_with_default_trust_and_predicts_the_same(
    loaded, kind, name
):
    before, after = loaded[name]
    assert not isinstance(after, str), f"{name} ({kind}) is refused: {after}"
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=f"{name}: {key}")
