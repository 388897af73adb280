"""RTFM's input checks, top-k selection by feature magnitude and losses (shared with S3R).

Written from the definitions in the reference's ``model.py`` and ``train.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vadkit.errors import VadkitError

__all__ = [
    "rtfm_loss",
    "as_input",
    "check_labels",
    "magnitude_loss",
    "smoothness",
    "sparsity",
    "topk_by_magnitude",
]


def as_input(x: torch.Tensor | np.ndarray, feature_dim: int, name: str) -> torch.Tensor:
    """Check a ``(B, C, T, D)`` batch and return it as a float32 tensor.

    Raises
    ------
    VadkitError : not 4-D, wrong D, empty, or not finite.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise VadkitError(f"{name}: input must be a tensor or array, got {type(x).__name__}")
    if x.ndim != 4:
        raise VadkitError(
            f"{name}: input must be (B, crops, T, D), got shape {tuple(x.shape)}; "
            "a single video (T, crops, D) from a FeatureStore needs .transpose(1, 0, 2)[None]"
        )
    if x.shape[-1] != feature_dim:
        raise VadkitError(
            f"{name}: feature dim is {x.shape[-1]}, the model expects D={feature_dim}"
        )
    if min(x.shape[:3]) < 1:
        raise VadkitError(f"{name}: empty input of shape {tuple(x.shape)}")
    x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise VadkitError(f"{name}: input has NaN or infinite values")
    return x


def check_labels(labels: torch.Tensor, batch: int, name: str) -> int:
    """Check that ``labels`` is ``n`` zeros followed by ``n`` ones for a batch of ``batch``.

    Returns
    -------
    int : ``n``, the number of normal (= abnormal) videos.
    """
    labels = torch.as_tensor(labels).flatten()
    n = batch // 2
    expected = torch.cat([torch.zeros(n), torch.ones(n)])
    if (
        labels.numel() != batch
        or batch % 2
        or n == 0
        or not torch.equal(labels.float().cpu(), expected)
    ):
        raise VadkitError(
            f"{name}: a training batch must be n normal videos then n abnormal videos "
            f"(labels 0..0 1..1, length {batch}), got labels {labels.tolist()[:12]}"
        )
    return n


def topk_by_magnitude(magnitudes: torch.Tensor, k: int, dropout: nn.Dropout) -> torch.Tensor:
    """Indices of the ``k`` snippets of largest feature magnitude per video.

    As the reference, magnitudes are multiplied by ``dropout(ones)`` first, so in training a
    random subset of snippets competes (and the survivors are rescaled, which does not change
    their order); in eval mode all snippets do.

    Parameters
    ----------
    magnitudes : (B, T) crop-averaged L2 norms of the snippet features.
    k : snippets to select.
    dropout : the model's dropout module.

    Returns
    -------
    Tensor : (B, k) int64 indices.
    """
    mask = dropout(torch.ones_like(magnitudes))
    return torch.topk(magnitudes * mask, k, dim=1).indices


def magnitude_loss(topk_norm: torch.Tensor, n: int, margin: float) -> torch.Tensor:
    """RTFM's feature-magnitude loss on ``(2n, C)`` norms of the mean top-k features.

    ``mean over (video i, crop c) of (|margin - a_ic| + m_ic)^2`` where ``a`` are the abnormal
    and ``m`` the normal videos' norms; the reference pairs normal video ``i`` with abnormal
    video ``i``, crop by crop.
    """
    return ((margin - topk_norm[n:]).abs() + topk_norm[:n]).pow(2).mean()


def smoothness(scores: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences of consecutive scores of the flattened ``(n, T)`` array.

    The reference flattens the batch first, so the last snippet of one video and the first of
    the next count as neighbours; kept for fidelity.
    """
    s = scores.flatten()
    return (s[1:] - s[:-1]).pow(2).sum()


def sparsity(scores: torch.Tensor) -> torch.Tensor:
    """L2 norm of the flattened ``(n, T)`` abnormal snippet scores (the reference's sparsity).

    The paper writes an L1 sum; the reference code takes ``torch.norm`` (L2) of the whole
    flattened vector, which this follows.
    """
    return torch.linalg.vector_norm(scores.flatten())


def rtfm_loss(
    outputs: dict[str, torch.Tensor],
    labels: torch.Tensor,
    config,
    name: str,
    extra: dict[str, tuple[float, torch.Tensor]] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """RTFM's loss for ``n`` normal then ``n`` abnormal videos, plus weighted ``extra`` terms.

    ``BCE(video_scores, labels) + magnitude_weight * magnitude_loss + smooth_weight *
    smoothness + sparsity_weight * sparsity`` (the last two on the abnormal videos' snippet
    scores) ``+ sum(weight * term for extra)``; S3R adds its macro BCE this way.

    Returns
    -------
    (total loss, each named part and ``"total"`` as floats)
    """
    scores = outputs["video_scores"]
    n = check_labels(labels, scores.shape[0], name)
    target = torch.cat([torch.zeros(n), torch.ones(n)]).to(scores)
    abnormal = outputs["snippet_scores"][n:]
    terms = {
        "bce": (1.0, nn.functional.binary_cross_entropy(scores, target)),
        "magnitude": (
            config.magnitude_weight,
            magnitude_loss(outputs["topk_norms"], n, config.margin),
        ),
        "smooth": (config.smooth_weight, smoothness(abnormal)),
        "sparsity": (config.sparsity_weight, sparsity(abnormal)),
        **(extra or {}),
    }
    total = sum(weight * term for weight, term in terms.values())
    parts = {k: float(term.detach()) for k, (_, term) in terms.items()}
    return total, {**parts, "total": float(total.detach())}
