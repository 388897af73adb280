"""Operating thresholds from held-out scores: a target false-alarm rate, or Youden's J.

A sample is called anomalous when its score is strictly greater than the threshold, the rule
:mod:`vadkit.deploy.events` and the one-class scorers' ``predict`` use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["threshold_at_far", "youden_threshold"]


def threshold_at_far(normal_scores: Sequence[float] | np.ndarray, rate: float) -> float:
    """The ``1 - rate`` quantile (``method="higher"``) of scores of normal samples.

    At most a share ``rate`` of those scores is strictly above it (ties can make it fewer).
    """
    s = np.asarray(normal_scores, np.float64).reshape(-1)
    if s.size == 0:
        raise VadkitError("threshold_at_far: no normal scores to calibrate on")
    if not np.isfinite(s).all():
        raise VadkitError("threshold_at_far: the normal scores hold NaN or Inf")
    if not 0 < rate < 1:
        raise VadkitError(f"false-alarm rate must be in (0, 1), got {rate}")
    return float(np.quantile(s, 1 - rate, method="higher"))


def youden_threshold(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """The threshold maximising ``TPR - FPR`` (Youden's J) on labelled scores.

    Candidates are the observed scores; calling ``score > t`` anomalous, ``t`` is the midpoint
    between the best candidate cut and the next lower score (so both rules agree on these data).
    """
    y = np.asarray(labels).reshape(-1).astype(int)
    s = np.asarray(scores, np.float64).reshape(-1)
    if y.shape != s.shape or s.size == 0:
        raise VadkitError(f"youden_threshold: {y.size} labels for {s.size} scores")
    if len(set(y.tolist())) < 2:
        raise VadkitError("youden_threshold: the labels hold one class only")
    values = np.unique(s)  # ascending; "anomalous" = score >= values[i] = score > values[i-1]
    pos, neg = max(1, int(y.sum())), max(1, int((y == 0).sum()))
    best, cut = -np.inf, 0
    for i, v in enumerate(values):
        j = ((s >= v) & (y == 1)).sum() / pos - ((s >= v) & (y == 0)).sum() / neg
        if j > best:
            best, cut = j, i
    if cut == 0:
        return float(values[0] - 1e-6 * max(1.0, abs(values[0])))
    return float((values[cut] + values[cut - 1]) / 2)
