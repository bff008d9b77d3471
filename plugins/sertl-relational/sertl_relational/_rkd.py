"""Relational knowledge distillation loss (Park et al., CVPR 2019).

torch is imported inside :meth:`RKDLoss.__call__` only, so the rest of
sertl-relational works without it.
"""

from __future__ import annotations

import numbers

from sklearn.base import BaseEstimator

__all__ = ["RKDLoss"]


class RKDLoss(BaseEstimator):
    """Relational knowledge distillation loss: distance- and angle-wise.

    Instead of matching a teacher's outputs one example at a time, the
    student matches the *relations* among the examples of a batch, so its
    embedding may have another dimension and scale than the teacher's:

    * distance-wise: the pairwise Euclidean distances of the batch, each
      divided by their mean, compared with the Huber loss;
    * angle-wise: for every triplet ``(i, j, k)``, the cosine of the angle
      at ``j`` between ``e_i - e_j`` and ``e_k - e_j``, compared with the
      Huber loss.

    ``loss = distance_weight * L_distance + angle_weight * L_angle``. The
    teacher embeddings are detached (no gradient flows into the teacher).

    An instance is a picklable callable ``loss(student_embeddings,
    teacher_embeddings) -> torch scalar``, the form taken by
    ``sertl_neural.FineTuneClassifier(distill_loss=...,
    distill_weight=...)``. It has scikit-learn's ``get_params`` and
    ``set_params``, so a grid search can range over its weights
    (``distill_loss__angle_weight``), ``clone`` copies it with the
    classifier, and a model that holds it loads with sertl's
    ``load_model`` like any estimator. Importing it does not import torch;
    calling it does (install ``sertl-relational[torch]``).

    Parameters
    ----------
    distance_weight : float, default=1.0
        Weight of the distance-wise term (``lambda_D``).
    angle_weight : float, default=2.0
        Weight of the angle-wise term (``lambda_A``); 1 and 2 are the paper's
        weights for metric learning (RKD-DA).
    delta : float, default=1.0
        Threshold of the Huber loss.
    eps : float, default=1e-12
        Floor of squared distances and norms (numerical safety).

    References
    ----------
    .. [1] W. Park, D. Kim, Y. Lu and M. Cho, "Relational knowledge
       distillation", IEEE/CVF CVPR 2019, 3967-3976.

    Examples
    --------
    >>> import torch
    >>> from sertl_relational import RKDLoss
    >>> teacher = torch.randn(8, 16)
    >>> loss = RKDLoss()
    >>> float(loss(3.0 * teacher, teacher)) < 1e-6
    True
    >>> float(loss(torch.randn(8, 4), teacher)) > 0
    True
    """

    def __init__(self, distance_weight=1.0, angle_weight=2.0, delta=1.0, eps=1e-12):
        self.distance_weight = distance_weight
        self.angle_weight = angle_weight
        self.delta = delta
        self.eps = eps

    def _check(self):
        for name in ("distance_weight", "angle_weight"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"{name} must be a number >= 0, got {v!r}.")
        for name in ("delta", "eps"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or v <= 0:
                raise ValueError(f"{name} must be a number > 0, got {v!r}.")

    def __call__(self, student_embeddings, teacher_embeddings):
        """Compute the loss on a batch.

        Parameters
        ----------
        student_embeddings : torch.Tensor of shape (n, d_student)
            Student embeddings (any trailing shape is flattened).
        teacher_embeddings : torch.Tensor of shape (n, d_teacher)
            Teacher embeddings of the same rows; detached, then moved to the
            student's device and dtype.

        Returns
        -------
        loss : torch.Tensor
            A scalar; zero for batches of fewer than two rows (angles need
            three).
        """
        try:
            import torch
            import torch.nn.functional as F
        except ImportError as exc:  # pragma: no cover - depends on the env
            raise ImportError(
                "RKDLoss needs PyTorch: pip install 'sertl-relational[torch]'."
            ) from exc
        self._check()
        s, t = student_embeddings, teacher_embeddings
        if not (torch.is_tensor(s) and torch.is_tensor(t)):
            raise TypeError(
                "RKDLoss takes torch tensors (student_embeddings, "
                f"teacher_embeddings), got {type(s).__name__} and "
                f"{type(t).__name__}: convert with torch.as_tensor(...)."
            )
        if s.ndim == 0 or t.ndim == 0 or s.shape[0] != t.shape[0]:
            raise ValueError(
                "student and teacher embeddings must have the same number of "
                f"rows, got shapes {tuple(s.shape)} and {tuple(t.shape)}."
            )
        s = s.reshape(s.shape[0], -1)
        out_dtype = s.dtype
        if s.is_floating_point() and torch.finfo(s.dtype).bits < 32:
            # half precision: eps (1e-12) rounds to 0 and the angle term of a
            # row with itself becomes 0/0; compute in float32, return the
            # student's dtype
            s = s.float()
        # the teacher follows the student (a CPU teacher for a GPU student)
        t = t.detach().reshape(t.shape[0], -1).to(device=s.device, dtype=s.dtype)
        n = s.shape[0]
        zero = s.sum() * 0.0
        if n < 2:
            return zero.to(out_dtype)
        loss = zero
        if self.distance_weight:
            loss = loss + self.distance_weight * F.huber_loss(
                self._distances(s), self._distances(t), delta=self.delta
            )
        if self.angle_weight and n >= 3:
            loss = loss + self.angle_weight * F.huber_loss(
                self._angles(s), self._angles(t), delta=self.delta
            )
        return loss.to(out_dtype)

    def _distances(self, e):
        import torch

        n = e.shape[0]
        off = ~torch.eye(n, dtype=torch.bool, device=e.device)
        diff = e.unsqueeze(0) - e.unsqueeze(1)
        d = (diff.pow(2).sum(-1)[off]).clamp_min(self.eps).sqrt()
        return d / d.mean().clamp_min(self.eps)

    def _angles(self, e):
        import torch

        diff = e.unsqueeze(0) - e.unsqueeze(1)  # diff[j, i] = e_i - e_j
        norm = diff.pow(2).sum(-1, keepdim=True).clamp_min(self.eps).sqrt()
        unit = diff / norm
        return torch.bmm(unit, unit.transpose(1, 2)).reshape(-1)
