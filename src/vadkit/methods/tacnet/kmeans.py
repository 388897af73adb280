"""Batched k-means with cosine distance, as TACnet runs it inside its forward pass.

The reference calls ``kmeans_pytorch.kmeans(X, num_clusters=2, distance='cosine',
iter_limit=100)`` once per video. That procedure, reproduced here for a batch of videos:

1. initial centres: ``k`` distinct points drawn uniformly at random;
2. repeat: assign each point to the centre of smallest ``1 - cos``; move each centre to the
   plain (unnormalised) mean of its points; an empty cluster's centre becomes a random point;
   stop when ``(sum over centres of their shift) ** 2 < tol`` or after ``iter_limit`` rounds;
3. return the assignment of the last round (made before its centre update) and the centres.

Randomness comes from ``generator`` (default: torch's global generator, so
``torch.manual_seed`` makes it reproducible); the reference draws from numpy's global RNG.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["kmeans_cosine"]


def _cosine_distance(x: torch.Tensor, centres: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``1 - cos`` between ``(B, T, F)`` points and ``(B, k, F)`` centres -> ``(B, T, k)``."""
    xn = x / x.norm(dim=-1, keepdim=True).clamp_min(eps)
    cn = centres / centres.norm(dim=-1, keepdim=True).clamp_min(eps)
    return 1.0 - xn @ cn.transpose(1, 2)


def kmeans_cosine(
    x: torch.Tensor,
    n_clusters: int = 2,
    iter_limit: int = 100,
    tol: float = 1e-4,
    generator: torch.Generator | None = None,
    init: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster the points of each video separately (see the module docstring).

    Parameters
    ----------
    x : ``(B, T, F)`` points (T >= n_clusters); used without gradient.
    n_clusters : k.
    iter_limit : most rounds per video (``0`` = until converged, as in ``kmeans_pytorch``).
    tol : convergence threshold on the squared total centre shift.
    generator : random generator for the initial and replacement centres.
    init : ``(B, k)`` indices of the points that start as centres, instead of drawing them
        (e.g. the ones the reference drew, for a golden comparison).

    Returns
    -------
    ``(assignment (B, T) int64, centres (B, k, F))``.

    >>> pts = torch.tensor([[[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]])
    >>> a, _ = kmeans_cosine(pts, generator=torch.Generator().manual_seed(0))
    >>> bool(a[0, 0] == a[0, 1] and a[0, 2] == a[0, 3] and a[0, 0] != a[0, 2])
    True
    """
    x = x.detach().float()
    b, t, _ = x.shape
    device = x.device
    rows = torch.arange(b, device=device)[:, None]
    if init is None:
        first = torch.stack([torch.randperm(t, generator=generator)[:n_clusters] for _ in range(b)])
    else:
        first = torch.as_tensor(init, dtype=torch.long).reshape(b, n_clusters)
    centres = x[rows, first.to(device)]
    active = torch.ones(b, dtype=torch.bool, device=device)
    assign = torch.zeros(b, t, dtype=torch.long, device=device)
    rounds = 0
    while bool(active.any()):
        new_assign = _cosine_distance(x, centres).argmin(dim=-1)
        assign = torch.where(active[:, None], new_assign, assign)
        onehot = F.one_hot(new_assign, n_clusters).to(x.dtype)  # (B, T, k)
        counts = onehot.sum(dim=1)  # (B, k)
        means = (onehot.transpose(1, 2) @ x) / counts.clamp_min(1.0)[..., None]
        empty = counts == 0
        if bool(empty.any()):
            pick = torch.randint(t, (b, n_clusters), generator=generator).to(device)
            means = torch.where(empty[..., None], x[rows, pick], means)
        shift = (means - centres).pow(2).sum(dim=-1).sqrt().sum(dim=-1)  # (B,)
        centres = torch.where(active[:, None, None], means, centres)
        rounds += 1
        active = active & ~(shift.pow(2) < tol)
        if iter_limit and rounds >= iter_limit:
            break
    return assign, centres
