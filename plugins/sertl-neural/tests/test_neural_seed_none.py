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


@pytest.mark.parametrize("estimator", _ESTIMATORS, ids=_IDS)
def test_integer_seeds_above_2_31_are_seeds_of_their_own(
    estimator, few_shot, global_rng_kept
):
    # random_state takes any seed of 32 bits, as numpy's and scikit-learn's
    # do; the seed was reduced modulo 2**31 - 1, so that 2**31 - 1 trained
    # the network of seed 0 and 2**31 + 4 that of seed 5: two seeds of one
    # experiment's seed list could silently be one run
    for low in (0, 5):
        a = _output(estimator, few_shot, random_state=low, global_seed=0)
        b = _output(estimator, few_shot, random_state=low + 2**31 - 1, global_seed=0)
        assert not np.allclose(a, b), low


@pytest.mark.parametrize("seed", [2**32 - 1, 2**32 - 2])
def test_largest_seeds_seed_every_random_step(few_shot, seed):
    # the largest seeds with every random step in play: the early-stopping
    # splits of both phases and self-training (seed + 1, seed + 2 + round)
    # and the sampler stay within numpy's 32-bit seeds, and repeat
    from imblearn.over_sampling import RandomOverSampler

    est = FineTuneClassifier(
        **_TINY,
        finetune_epochs=2,
        early_stopping=True,
        validation_fraction=0.2,
        pseudo_label_threshold=0.01,
        self_training_rounds=2,
        sampler=RandomOverSampler(),
    )
    a = _output(est, few_shot, random_state=seed, global_seed=0)
    b = _output(est, few_shot, random_state=seed, global_seed=1)
    np.testing.assert_array_equal(a, b)
