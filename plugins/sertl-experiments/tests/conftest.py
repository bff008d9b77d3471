"""Fixtures of the sertl-experiments tests."""

import re
import string
from pathlib import Path

import numpy as np
import pytest
from sertl_experiments._data import CorpusData


def _corpus(name, shift, rng, labels, n=90):
    k = np.arange(n) % 3
    y = np.asarray(labels)[k]
    X = rng.normal(size=(n, 6))
    X[:, 0] += np.array([1.5, 0.0, -1.5])[k]  # the classes apart
    X = X * (1 + shift) + 3 * shift
    spk = np.array([f"{name}:{i % 4}" for i in range(n)])
    return CorpusData(name, X, y, spk, np.array([f"{name}_{i}.wav" for i in range(n)]))


@pytest.fixture
def make_corpora():
    """Make two shifted synthetic corpora, ``a`` and ``b``, with four speakers each.

    Call it with the names of the three classes (anger, neutral and sadness
    when not given).
    """

    def make(labels=("anger", "neutral", "sadness")):
        rng = np.random.default_rng(0)
        return {
            "a": _corpus("a", 0.0, rng, labels),
            "b": _corpus("b", 1.0, rng, labels),
        }

    return make


@pytest.fixture
def synthetic_data(make_corpora):
    """Two shifted synthetic corpora with three classes and four speakers each."""
    return make_corpora()


@pytest.fixture
def synthetic_config(tmp_path):
    """An experiment over the synthetic corpora (roots unused: data is injected)."""
    from sertl_experiments import parse_config

    def make(**over):
        raw = {
            "name": "synthetic",
            "output": str(tmp_path / "out"),
            "corpora": {"a": {"root": "unused"}, "b": {"root": "unused"}},
            "protocol": {"bootstrap": 100},
            "methods": [
                {"name": "no_adaptation", "scaling": "source"},
                {"name": "dss"},
                {
                    "name": "auto",
                    "method": "auto",
                    "candidates": ["no_adaptation", "dss"],
                },
            ],
        }
        raw.update(over)
        return parse_config(raw)

    return make


@pytest.fixture
def drawn_figures(monkeypatch):
    """The report's figures, kept as drawn instead of encoded for the page."""
    from sertl_experiments import _report

    figs = []
    monkeypatch.setattr(_report, "_fig_to_b64", lambda fig, path: figs.append(fig))
    return figs


# results.md escapes the Markdown markup of its labels and notes (\_, \*,
# &lt; ...); the tests read it as a viewer shows the text. "\|" stays: it
# keeps a cell's pipe inside the cell when a test splits a table row
_MD_PUNCT = "".join(ch for ch in string.punctuation if ch != "|")
_MD_SHOWN = re.compile(rf"\\([{re.escape(_MD_PUNCT)}])|&(amp|lt|gt);")
_MD_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


@pytest.fixture
def read_results_md():
    """Return a function that reads a results.md with its escapes undone."""

    def read(path):
        text = Path(path).read_text()
        return _MD_SHOWN.sub(lambda m: m[1] if m[1] else _MD_ENTITIES[m[2]], text)

    return read


@pytest.fixture(scope="module")
def small_audio_model():
    """A model on six files of the shipped EmoDB sample, and three other files.

    MFCC statistics, a scaler and a logistic regression, fitted on anger and
    sadness; the files are paths (str) of the same sample.
    """
    from sertl_speech import AudioFeatures, load_sample
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = load_sample("emodb", emotions=["anger", "sadness"])
    model = make_pipeline(
        AudioFeatures("mfcc_stats"), StandardScaler(), LogisticRegression()
    ).fit(list(table["file"][:6]), list(table["emotion"][:6]))
    return model, list(table["file"][6:9])
