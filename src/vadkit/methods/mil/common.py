"""Helpers shared by the segment-based MIL methods (``mil``, ``tacnet``).

Input checks that turn user mistakes into one-line :class:`VadkitError`, config loading that
rejects unknown keys, and the test-time pooling of a whole video to fixed segments and back.
Candidates for ``methods/base.py`` once it exists.
"""

from __future__ import annotations

import warnings
from typing import TypeVar

import numpy as np
import torch

from vadkit.errors import VadkitError
from vadkit.sampling import pool_segments, segment_of_snippet

__all__ = [
    "check_features",
    "check_labels",
    "pool_batch",
    "require",
    "segment_of_snippet",
]


C = TypeVar("C")


def require(ok: bool, message: str) -> None:
    """Raise ``VadkitError(message)`` unless ``ok`` (config and input validation)."""
    if not ok:
        raise VadkitError(message)


def check_features(x: object, dim: int, min_len: int, method: str) -> torch.Tensor:
    """Check a feature batch ``(B, C, T, D)`` and return it as float32 tensor.

    Parameters
    ----------
    x : tensor or array ``(B, C, T, D)``: B videos, C crops, T segments/snippets, D features.
    dim : the feature dimension D the model was built for.
    min_len : smallest T the method can work with.
    method : method name for messages.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.array(x))  # a copy: store arrays are read-only memmaps
    if not isinstance(x, torch.Tensor):
        raise VadkitError(f"{method}: features must be a tensor or array, got {type(x).__name__}")
    if x.ndim != 4:
        raise VadkitError(
            f"{method}: features must be (B, crops, T, D), got shape {tuple(x.shape)}; "
            "a store entry (T, crops, D) becomes x[None].permute(0, 2, 1, 3)"
        )
    b, c, t, d = x.shape
    if d != dim:
        raise VadkitError(
            f"{method}: feature dimension {d} does not match the model's feature_dim {dim} "
            f"(shape {tuple(x.shape)}); build the model with feature_dim={d}"
        )
    if b < 1 or c < 1:
        raise VadkitError(f"{method}: empty batch, shape {tuple(x.shape)}")
    if t < min_len:
        raise VadkitError(
            f"{method}: a video of {t} segments/snippets is too short, need at least {min_len}"
        )
    if not torch.is_floating_point(x):
        x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise VadkitError(f"{method}: features contain NaN or infinite values")
    return x.float()


def check_labels(labels: object, batch: int, method: str) -> torch.Tensor:
    """Check training labels: ``(2n,)`` with n normal (0) videos followed by n abnormal (1).

    Returns the labels as a float tensor.
    """
    try:
        y = torch.as_tensor(labels).detach().flatten().float() if labels is not None else None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise VadkitError(f"{method}: labels must be 0/1 numbers, got {labels!r:.80}") from exc
    if y is None or y.numel() != batch:
        got = "None" if y is None else f"{y.numel()} labels"
        raise VadkitError(f"{method}: expected {batch} labels (one per video), got {got}")
    n = batch // 2
    expected = torch.cat([torch.zeros(n), torch.ones(n)]).to(y)
    if batch % 2 or n == 0 or not torch.equal(y, expected):
        raise VadkitError(
            f"{method}: a training batch must be n normal videos followed by n abnormal ones "
            f"(labels 0..0 1..1), got {y.to(torch.int64).tolist()}"
        )
    return y


def pool_batch(x: torch.Tensor, n_segments: int, method: str) -> torch.Tensor:
    """Pool ``(B, C, T, D)`` to ``(B, C, n_segments, D)`` with the shared segment rule.

    A video shorter than ``n_segments`` repeats snippets; that is warned about.
    """
    t = x.shape[2]
    if t == n_segments:
        return x
    if t < n_segments:
        warnings.warn(
            f"{method}: a video of {t} snippets is shorter than {n_segments} segments; "
            "snippets are repeated to fill them",
            stacklevel=4,  # user -> no_grad wrapper -> score -> here
        )
    pooled = [
        torch.from_numpy(pool_segments(v.permute(1, 0, 2).cpu().numpy(), n_segments)) for v in x
    ]
    return torch.stack(pooled).permute(0, 2, 1, 3).to(x.device)
