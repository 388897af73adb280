"""Private stand-in for ``vadkit.sampling.pool_segments`` until it is merged (same rule)."""

from __future__ import annotations

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["pool_segments"]


def pool_segments(features: np.ndarray, n_segments: int = 32) -> np.ndarray:
    """Pool ``(T, ..., D)`` snippet features to ``(n_segments, ..., D)`` (RTFM's process_feat).

    Boundaries ``b = linspace(0, T, n_segments + 1).astype(int)``; segment i is the mean of
    snippets ``[b_i, b_{i+1})``, or snippet ``b_i`` when that range is empty.

    >>> pool_segments(np.arange(4.0)[:, None], 2)[:, 0].tolist()
    [0.5, 2.5]
    """
    features = np.asarray(features)
    if features.ndim < 2 or features.shape[0] < 1:
        raise VadkitError(f"pool_segments: need (T, ..., D) with T >= 1, got {features.shape}")
    bounds = np.linspace(0, features.shape[0], n_segments + 1).astype(int)
    out = np.empty((n_segments, *features.shape[1:]), dtype=np.float32)
    for i in range(n_segments):
        lo, hi = bounds[i], bounds[i + 1]
        out[i] = features[lo:hi].mean(0) if hi > lo else features[lo]
    return out
