"""Fixtures shared by the sertl-neural tests."""

import numpy as np
import pytest
import torch
from skorch import NeuralNet

from sertl_core.testing import make_domain_data


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny networks: threads only add contention on shared CI machines.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def few_shot():
    """One source and one target domain; 12 target rows labelled.

    Returns ``X, y, sample_domain, target_rows, target_labels``.
    """
    X, y, sd, y_tgt = make_domain_data(n_per_domain=60, n_sources=1, random_state=3)
    tgt = np.flatnonzero(sd < 0)
    y_few = y.copy()
    y_few[tgt[:12]] = y_tgt[:12]
    return X, y_few, sd, tgt, y_tgt


@pytest.fixture
def tiny_mlp_spec():
    """Trunk spec of a 4-feature MLP with one hidden layer of 5 units."""
    return {
        "network": "mlp",
        "n_features": 4,
        "hidden_layer_sizes": (5,),
        "dropout": 0.0,
    }


@pytest.fixture
def fits(monkeypatch):
    """Record each skorch fit: its training rows, held-out rows and net."""
    records = []
    orig = NeuralNet.fit

    def spy(net, X, y=None, **kwargs):
        valid = None
        if net.train_split is not None:  # skorch.helper.predefined_split
            ds = net.train_split.keywords["valid_ds"]
            valid = (np.asarray(ds.X), np.asarray(ds.y))
        records.append({"X": np.asarray(X), "y": np.asarray(y), "valid": valid})
        out = orig(net, X, y, **kwargs)
        records[-1]["net"] = net
        return out

    monkeypatch.setattr(NeuralNet, "fit", spy)
    return records
