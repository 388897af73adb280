"""Score post-processing: temporal Gaussian smoothing and z-normalised fusion of scorers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["smooth", "zscore", "fuse", "threshold_at_far"]


def smooth(scores: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of one video's ``(T,)`` scores, ``sigma`` in frames (0 = none).

    Edges repeat the end values (``mode="nearest"``), so the length is kept.
    """
    s = np.asarray(scores, np.float64)
    if s.ndim != 1:
        raise VadkitError(f"smooth: expected (T,) scores of one video, got shape {s.shape}")
    if sigma < 0:
        raise VadkitError(f"smooth: sigma must be >= 0 frames, got {sigma}")
    if sigma == 0 or s.size < 2:
        return s.copy()
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(s, sigma, mode="nearest")


def zscore(scores: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``(scores - mean) / std`` with the statistics of held-out normal scores."""
    return (np.asarray(scores, np.float64) - mean) / max(float(std), 1e-12)


def fuse(
    scores: Mapping[str, np.ndarray],
    stats: Mapping[str, tuple[float, float]],
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Weighted sum of z-normalised scores.

    Parameters
    ----------
    scores : scorer name -> ``(N,)`` scores of the same N samples.
    stats : scorer name -> (mean, std) of its scores on held-out normal samples.
    weights : scorer name -> weight (default 1 each).

    Returns
    -------
    (N,) float64: ``sum_k w_k * (s_k - mean_k) / std_k``.
    """
    if not scores:
        raise VadkitError("fuse: no scores given")
    lengths = {k: np.asarray(v).shape for k, v in scores.items()}
    if len(set(lengths.values())) != 1:
        raise VadkitError(f"fuse: scores differ in shape: {lengths}")
    missing = sorted(set(scores) - set(stats))
    if missing:
        raise VadkitError(f"fuse: no held-out normal statistics for {missing}")
    w = weights or {}
    return sum(w.get(k, 1.0) * zscore(v, *stats[k]) for k, v in scores.items())


def threshold_at_far(normal_scores: Sequence[float] | np.ndarray, false_alarm_rate: float) -> float:
    """The ``1 - false_alarm_rate`` quantile of held-out normal scores (higher = anomalous)."""
    s = np.asarray(normal_scores, np.float64).reshape(-1)
    if s.size == 0:
        raise VadkitError("threshold_at_far: no held-out normal scores")
    if not 0 < false_alarm_rate < 1:
        raise VadkitError(f"false_alarm_rate must be in (0, 1), got {false_alarm_rate}")
    return float(np.quantile(s, 1 - false_alarm_rate, method="higher"))
