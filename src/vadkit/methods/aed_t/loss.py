"""AED-T loss (``train.py`` of the reference): class cross-entropy plus frame-score Smooth L1.

``total = cls_weight * CrossEntropy(class_logits, class) + reg_weight * SmoothL1(frame_scores,
frame_labels)`` with the reference's ``--Lambda 1_10`` (1 and 10), both terms averaged over the
batch (``nn.CrossEntropyLoss()``, ``nn.SmoothL1Loss()`` with beta 1). The batch order does not
matter: no term pairs normal with abnormal windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vadkit.errors import VadkitError
from vadkit.methods.aed_t.config import AedTConfig

__all__ = ["aedt_loss", "frame_targets"]


def frame_targets(targets: Tensor, batch: int, cfg: AedTConfig) -> Tensor:
    """Frame targets ``(B, L * f)`` from snippet targets ``(B, L)`` (each repeated ``f`` times)
    or frame targets ``(B, L * f)``; values must lie in [0, 1]."""
    y = torch.as_tensor(targets).to(torch.float32)
    L, f = cfg.max_seqlen, cfg.frames_per_snippet
    if y.ndim != 2 or y.shape[0] != batch or y.shape[1] not in (L, L * f):
        raise VadkitError(
            f"AedTModel.loss: targets must be (B, {L}) snippet or (B, {L * f}) frame labels "
            f"with B={batch}, got shape {tuple(y.shape)}"
        )
    if not torch.isfinite(y).all() or (y < 0).any() or (y > 1).any():
        raise VadkitError("AedTModel.loss: targets must be finite values in [0, 1]")
    if y.shape[1] == L and f > 1:
        y = y.repeat_interleave(f, dim=1)
    return y


def aedt_loss(
    outputs: dict[str, Tensor], targets: Tensor, class_targets: Tensor, cfg: AedTConfig
) -> tuple[Tensor, dict[str, float]]:
    """Total loss and its parts ``{"cls", "reg", "total"}``.

    Parameters
    ----------
    outputs : :meth:`AedTModel.forward` output (``frame_scores (B, L*f)``, ``class_logits (B, K)``).
    targets : ``(B, L)`` snippet or ``(B, L * f)`` frame labels in [0, 1].
    class_targets : ``(B,)`` class indices in ``[0, K)``; ``-1`` marks a window whose class is
        unknown (left out of the class term; a batch with no known class has class loss 0).
    cfg : the model's config (weights, window length).
    """
    logits, frames = outputs["class_logits"], outputs["frame_scores"]
    B, K = logits.shape
    y = frame_targets(targets, B, cfg).to(frames.device)
    cls = torch.as_tensor(class_targets).to(device=logits.device)
    if cls.shape != (B,) or torch.is_floating_point(cls):
        raise VadkitError(
            f"AedTModel.loss: class_targets must be (B,) = ({B},) integers, got "
            f"shape {tuple(cls.shape)} dtype {cls.dtype}"
        )
    cls = cls.long()
    if ((cls < -1) | (cls >= K)).any():
        bad = int(cls[(cls < -1) | (cls >= K)][0])
        raise VadkitError(
            f"AedTModel.loss: class target {bad} outside [0, {K}) (n_classes={K}); -1 = unknown"
        )
    known = cls >= 0
    if known.any():
        cls_loss = F.cross_entropy(logits[known], cls[known])
    else:
        cls_loss = logits.sum() * 0.0
    reg_loss = F.smooth_l1_loss(frames, y)
    total = cfg.cls_weight * cls_loss + cfg.reg_weight * reg_loss
    parts = {
        "cls": float(cls_loss.detach()),
        "reg": float(reg_loss.detach()),
        "total": float(total.detach()),
    }
    return total, parts
