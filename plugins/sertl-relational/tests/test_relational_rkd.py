import pickle

import numpy as np
import pytest
from sertl_relational import RKDLoss

torch = pytest.importorskip("torch")


def _emb(n=10, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64)


def test_distance_term_is_zero_for_identical_embeddings_up_to_scale():
    t = _emb()
    loss = RKDLoss(distance_weight=1.0, angle_weight=0.0)
    assert float(loss(t.clone(), t)) == pytest.approx(0.0, abs=1e-12)
    assert float(loss(4.2 * t, t)) == pytest.approx(0.0, abs=1e-12)


def test_angle_term_is_invariant_to_scale_translation_and_rotation():
    t = _emb()
    q, _ = torch.linalg.qr(_emb(6, 6, seed=3))
    loss = RKDLoss(distance_weight=0.0, angle_weight=1.0)
    assert float(loss(0.5 * t @ q + 3.0, t)) == pytest.approx(0.0, abs=1e-10)
    both = RKDLoss()
    assert float(both(2.0 * t @ q - 1.0, t)) == pytest.approx(0.0, abs=1e-10)


def test_positive_for_different_relations_and_different_dimensions():
    t = _emb()
    s = _emb(10, 3, seed=1)  # another dimension than the teacher
    for kw in ({"angle_weight": 0.0}, {"distance_weight": 0.0}, {}):
        assert float(RKDLoss(**kw)(s, t)) > 1e-3


def test_matches_a_direct_computation():
    t = _emb(5, 3, seed=4)
    s = _emb(5, 3, seed=5)

    def psi_d(e):
        e = e.numpy()
        d = np.linalg.norm(e[:, None] - e[None], axis=-1)
        off = ~np.eye(len(e), dtype=bool)
        return d[off] / d[off].mean()

    def psi_a(e):
        e = e.numpy()
        n = len(e)
        out = np.zeros((n, n, n))
        for i in range(n):
            for j in range(n):
                for k in range(n):
                    a, b = e[i] - e[j], e[k] - e[j]
                    na, nb = np.linalg.norm(a), np.linalg.norm(b)
                    if na > 0 and nb > 0:
                        out[j, i, k] = a @ b / (na * nb)
        return out.ravel()

    def huber(a, b):
        r = np.abs(a - b)
        return np.mean(np.where(r < 1, 0.5 * r**2, r - 0.5))

    expected = huber(psi_d(s), psi_d(t)) + 2.0 * huber(psi_a(s), psi_a(t))
    assert float(RKDLoss()(s, t)) == pytest.approx(expected, rel=1e-9)


def test_gradient_flows_to_student_only():
    t = _emb().requires_grad_(True)
    s = _emb(10, 4, seed=2).requires_grad_(True)
    loss = RKDLoss()(s, t)
    assert loss.ndim == 0
    loss.backward()
    assert s.grad is not None
    assert torch.isfinite(s.grad).all()
    assert s.grad.abs().sum() > 0
    assert t.grad is None
    # a duplicated row (zero distance) keeps the gradient finite
    s2 = torch.cat([s.detach()[:3], s.detach()[:1]]).requires_grad_(True)
    RKDLoss()(s2, t.detach()[:4]).backward()
    assert torch.isfinite(s2.grad).all()


def test_small_batches_and_errors():
    assert float(RKDLoss()(_emb(1), _emb(1))) == 0.0
    assert float(RKDLoss()(_emb(2), _emb(2))) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same number of rows"):
        RKDLoss()(_emb(4), _emb(5))
    with pytest.raises(TypeError, match="torch tensors"):
        RKDLoss()(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="angle_weight must be a number >= 0"):
        RKDLoss(angle_weight=-1.0)(_emb(3), _emb(3))
    with pytest.raises(ValueError, match="delta must be a number > 0"):
        RKDLoss(delta=0.0)(_emb(3), _emb(3))


def test_picklable_and_repr():
    loss = pickle.loads(pickle.dumps(RKDLoss(distance_weight=3.0)))
    assert loss.distance_weight == 3.0
    assert "RKDLoss(distance_weight=3.0" in repr(loss)


def test_runs_inside_finetune_classifier():
    sertl_neural = pytest.importorskip("sertl_neural")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5))
    X[:, 0] += np.repeat([0.0, 3.0, -3.0], 30)
    y = np.repeat([0, 1, 2], 30)
    sd = np.where(np.arange(90) % 3 == 0, -1, 1)
    calls = []

    class Spy(RKDLoss):
        def __call__(self, student, teacher):
            out = super().__call__(student, teacher)
            calls.append(float(out.detach()))
            return out

    clf = sertl_neural.FineTuneClassifier(
        hidden_layer_sizes=(8,),
        max_epochs=3,
        distill_loss=Spy(),
        distill_weight=0.5,
        random_state=0,
    )
    clf.fit(X, y, sample_domain=sd)
    assert calls, "the distillation loss was never called"
    assert all(np.isfinite(calls))
    assert set(clf.predict(X).tolist()) <= {0, 1, 2}


@pytest.mark.gpu
def test_cuda_tensors_give_the_cpu_value_on_the_gpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    s, t = _emb(12, 4, seed=6), _emb(12, 8, seed=7)
    loss = RKDLoss()
    on_gpu = loss(s.cuda().requires_grad_(), t.cuda())
    assert on_gpu.device.type == "cuda"
    assert float(on_gpu.detach()) == pytest.approx(float(loss(s, t)), rel=1e-9)
    on_gpu.backward()  # the gradient is computed on the GPU too
    # a teacher left on the CPU follows the student onto the GPU
    mixed = loss(s.cuda(), t)
    assert float(mixed.detach()) == pytest.approx(float(loss(s, t)), rel=1e-9)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_gives_a_finite_loss_and_gradient(dtype):
    # eps=1e-12 rounds to 0 in half precision: the angle of a row with
    # itself was 0/0, so the loss and its gradient were NaN
    s = _emb(6, 4).to(dtype).requires_grad_(True)
    t = _emb(6, 3, seed=1).to(dtype)
    loss = RKDLoss()(s, t)
    assert loss.dtype == dtype
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    full = RKDLoss()(s.detach().double(), t.double())
    assert float(loss.detach()) == pytest.approx(float(full), rel=2e-2)


def test_rkd_loss_has_estimator_params_for_grids_and_clone():
    # a plain object could not be tuned as distill_loss__angle_weight, and
    # sertl's load_model refused a model holding it (no estimator class)
    from sklearn.base import BaseEstimator, clone

    loss = RKDLoss(angle_weight=0.5)
    assert isinstance(loss, BaseEstimator)
    assert loss.get_params() == {
        "distance_weight": 1.0,
        "angle_weight": 0.5,
        "delta": 1.0,
        "eps": 1e-12,
    }
    copy = clone(loss).set_params(angle_weight=3.0)
    assert copy.angle_weight == 3.0 and loss.angle_weight == 0.5
    assert repr(loss) == "RKDLoss(angle_weight=0.5)"
