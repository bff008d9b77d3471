"""``random_state=None`` seeds from numpy's global generator, as scikit-learn."""

import numpy as np
import pytest
from sertl_neural import (
    AutoencoderAdapter,
    DANNClassifier,
    FineTuneClassifier,
    MultiTaskClassifier,
)

_TINY = {"hidden_layer_sizes": (8,), "max_epochs": 2, "lr": 1e-2}
_ESTIMATORS = [
    FineTuneClassifier(**_TINY),
    MultiTaskClassifier(**_TINY),
    DANNClassifier(**_TINY),
    AutoencoderAdapter(hidden_layer_sizes=(8,), n_components=3, max_epochs=2),
]
_IDS = ["finetune", "multitask", "dann", "autoencoder"]


def _output(estimator, data, *, random_state, global_seed):
    from sklearn.base import clone

    X, y, sd, *_ = data
    np.random.seed(global_seed)  # noqa: NPY002 - the user's script, under test
    est = clone(estimator).set_params(random_state=random_state)
    est.fit(X, y, sample_domain=sd)
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.transform(X, sample_domain=sd)


@pytest.fixture
def global_rng_kept():
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


@pytest.mark.parametrize("estimator", _ESTIMATORS, ids=_IDS)
def test_global_seed_makes_an_unseeded_fit_repeatable(
    estimator, few_shot, global_rng_kept
):
    a = _output(estimator, few_shot, random_state=None, global_seed=0)
    b = _output(estimator, few_shot, random_state=None, global_seed=0)
    np.testing.assert_array_equal(a, b)
    # the seed comes from the global generator: another global seed, another fit
    c = _output(estimator, few_shot, random_state=None, global_seed=1)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("estimator", _ESTIMATORS, ids=_IDS)
def test_integer_random_state_ignores_and_keeps_the_global_generator(
    estimator, few_shot, global_rng_kept
):
    a = _output(estimator, few_shot, random_state=0, global_seed=0)
    after = np.random.get_state()[1].copy()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    np.testing.assert_array_equal(after, np.random.get_state()[1])  # noqa: NPY002
    b = _output(estimator, few_shot, random_state=0, global_seed=1)
    np.testing.assert_array_equal(a, b)
