"""TACnet's loss terms, one value per bag averaged over the bags of a batch.

All take ``seg`` ``(N, T)`` segment scores in [0, 1] and, where needed, ``labels`` ``(N,)``
0/1 and the k-means ``assign`` ``(N, T)`` (cluster 0 or 1). Definitions follow
``src/loss.py`` of the reference; there each term is summed over the batch, whose default
size is one video, so a mean over bags gives the same value at that size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "cluster_means",
    "cluster_score",
    "histogram_entropy",
    "inner_bag_loss",
    "maxmin_loss",
    "sparsity_loss",
    "temporal_smoothness",
]


def cluster_means(seg: torch.Tensor, assign: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean segment score of each cluster ``(N, 2)`` and the cluster sizes ``(N, 2)``."""
    onehot = F.one_hot(assign, 2).to(seg.dtype)
    counts = onehot.sum(dim=1)
    means = (onehot * seg[..., None]).sum(dim=1) / counts.clamp_min(1.0)
    return means, counts


def cluster_score(seg: torch.Tensor, assign: torch.Tensor) -> torch.Tensor:
    """Higher of the two clusters' mean segment scores ``(N,)``; an empty cluster is skipped."""
    means, counts = cluster_means(seg, assign)
    return means.masked_fill(counts == 0, float("-inf")).max(dim=1).values


def inner_bag_loss(seg: torch.Tensor, assign: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cluster BCE: in an abnormal bag the cluster of higher mean score -> 1, the other -> 0.

    Normal bags, and abnormal bags whose segments all fall in one cluster, have every segment
    -> 0. On a tie of the two means cluster 0 is the abnormal one. BCE is averaged over the
    bag's segments (``InnerBagLoss``).
    """
    means, counts = cluster_means(seg.detach(), assign)
    abnormal_cluster = (means[:, 1] > means[:, 0]).long()
    use = labels.bool() & (counts > 0).all(dim=1)
    target = ((assign == abnormal_cluster[:, None]) & use[:, None]).to(seg.dtype)
    return F.binary_cross_entropy(seg, target, reduction="none").mean(dim=1).mean()


def maxmin_loss(seg: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max - min`` for normal bags, ``1 - max + min`` for abnormal ones (``MaxminLoss``)."""
    spread = seg.max(dim=1).values - seg.min(dim=1).values
    return torch.where(labels.bool(), 1.0 - spread, spread).mean()


def sparsity_loss(seg: torch.Tensor) -> torch.Tensor:
    """Sum of a bag's segment scores (``SmallLoss``)."""
    return seg.sum(dim=1).mean()


def temporal_smoothness(seg: torch.Tensor) -> torch.Tensor:
    """``sum_t (s_t - s_t+1) ** 2`` per bag: the differentiable smoothness term."""
    return (seg[:, 1:] - seg[:, :-1]).pow(2).sum(dim=1).mean()


@torch.no_grad()
def histogram_entropy(seg: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """The reference ``SmoothLoss``: entropy (bits) of the bag's scores in ``bins`` bins.

    Bin of a score is ``floor(s * bins)``; a score of exactly 1.0 falls in no bin, as in the
    reference. It is piecewise constant, so it has no gradient: returned detached.
    """
    index = torch.floor(seg / (1.0 / bins))
    total = seg.new_zeros(())
    for row in index:
        counts = torch.stack([(row == b).sum() for b in range(bins)]).to(seg.dtype)
        p = counts[counts > 0] / row.numel()
        total = total - (p * torch.log2(p)).sum()
    return total / len(seg)
