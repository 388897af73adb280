"""Private stand-in for ``vadkit.sampling.pool_segments`` (RTFM's ``process_feat`` rule).

The shared function is being written elsewhere; at merge this module is replaced by it.
"""

from __future__ import annotations

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["pool_segments"]


def pool_segments(features: np.ndarray, n_segments: int = 32) -> np.ndarray:
    """Pool ``T`` snippets into ``n_segments`` segments as RTFM's ``process_feat`` does.

    Boundaries are ``np.linspace(0, T, n_segments + 1).astype(int)``; segment ``i`` is the
    mean of snippets ``[b_i, b_{i+1})``, or snippet ``b_i`` alone when that range is empty.

    Parameters
    ----------
    features : (T, ..., D) array, T >= 1.
    n_segments : number of segments.

    Returns
    -------
    (n_segments, ..., D) float32 array.

    >>> pool_segments(np.arange(3.0)[:, None], 4)[:, 0].tolist()
    [0.0, 0.0, 1.0, 2.0]
    """
    arr = np.asarray(features, dtype=np.float32)
    if arr.ndim < 2 or arr.shape[0] < 1:
        raise VadkitError(
            f"pool_segments: features must be (T, ..., D) with T >= 1, got {arr.shape}"
        )
    bounds = np.linspace(0, arr.shape[0], n_segments + 1).astype(int)
    out = np.empty((n_segments, *arr.shape[1:]), dtype=np.float32)
    for i in range(n_segments):
        lo, hi = bounds[i], bounds[i + 1]
        out[i] = arr[lo:hi].mean(axis=0) if hi > lo else arr[lo]
    return out
