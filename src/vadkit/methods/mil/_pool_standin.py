"""Private stand-in for ``vadkit.sampling.pool_segments`` (being written elsewhere).

Same signature and rule as the shared function described in the method contract; swap the
imports for ``vadkit.sampling.pool_segments`` at merge and delete this file.
"""

from __future__ import annotations

import numpy as np

from vadkit.errors import VadkitError


def pool_segments(features: np.ndarray, n_segments: int = 32) -> np.ndarray:
    """Pool ``(T, ..., D)`` snippet features to ``(n_segments, ..., D)`` segments.

    RTFM's ``process_feat`` rule: boundaries ``b = np.linspace(0, T, n_segments + 1).astype(int)``;
    segment ``i`` is the mean of snippets ``[b[i], b[i+1])``, an empty segment takes snippet
    ``b[i]`` (so a video shorter than ``n_segments`` repeats snippets).

    >>> pool_segments(np.arange(4.0).reshape(4, 1), 2)[:, 0].tolist()
    [0.5, 2.5]
    >>> pool_segments(np.arange(2.0).reshape(2, 1), 3)[:, 0].tolist()
    [0.0, 0.0, 1.0]
    """
    feats = np.asarray(features)
    if feats.ndim < 2 or len(feats) == 0:
        raise VadkitError(f"pool_segments: expected (T, ..., D) with T >= 1, got {feats.shape}")
    bounds = np.linspace(0, len(feats), n_segments + 1).astype(int)
    out = np.empty((n_segments, *feats.shape[1:]), dtype=np.float32)
    for i in range(n_segments):
        a, b = bounds[i], bounds[i + 1]
        out[i] = feats[a:b].mean(axis=0) if b > a else feats[a]
    return out
