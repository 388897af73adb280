"""Pixel-level metrics: pixel AUC and the UCSD 40%-overlap frame criterion.

Masks and score maps are ``(N, H, W)`` arrays (N frames); scores higher = more anomalous.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_curve as _sk_roc_curve

from vadkit.errors import VadkitError
from vadkit.evaluate.checks import binary_auc, check_pair, need_two_classes

__all__ = ["pixel_auc", "pixel_level_auc_ucsd", "ucsd_pixel_fpr_tpr"]


def _check_maps(
    masks: np.ndarray, score_maps: np.ndarray, fn: str
) -> tuple[np.ndarray, np.ndarray]:
    m, s = np.asarray(masks), np.asarray(score_maps)
    for name, a in (("masks", m), ("score_maps", s)):
        if a.ndim != 3:
            raise VadkitError(f"{fn}: {name} must be 3-D (N, H, W), got shape {a.shape}")
    if m.shape != s.shape:
        raise VadkitError(f"{fn}: masks has shape {m.shape} but score_maps has {s.shape}")
    y, sc = check_pair(m.reshape(-1), s.reshape(-1), fn, "masks", "score_maps")
    return y.reshape(m.shape), sc.reshape(s.shape)


def pixel_auc(masks: np.ndarray, score_maps: np.ndarray) -> float:
    """Pixel-level ROC AUC over all pixels of all frames: masks and score maps ``(N, H, W)``."""
    y, s = _check_maps(masks, score_maps, "pixel_auc")
    return binary_auc(y.reshape(-1), s.reshape(-1), "pixel_auc", "masks")


def _ucsd_frame_scores(
    masks: np.ndarray, score_maps: np.ndarray, overlap: float, fn: str
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce each frame to the highest threshold at which it counts as detected."""
    if not 0 < overlap <= 1:
        raise VadkitError(f"{fn}: overlap must be in (0, 1], got {overlap}")
    y, s = _check_maps(masks, score_maps, fn)
    labels = y.reshape(len(y), -1).any(axis=1).astype(np.int8)
    out = np.empty(len(y), np.float64)
    for i in range(len(y)):
        if labels[i]:
            gt = np.sort(s[i][y[i] == 1])[::-1]
            # k = ceil(overlap * n) flagged GT pixels are needed; round() guards 0.4*n float error
            k = max(1, math.ceil(round(overlap * len(gt), 9)))
            out[i] = gt[k - 1]
        else:
            out[i] = s[i].max()
    return labels, out


def ucsd_pixel_fpr_tpr(
    masks: np.ndarray, score_maps: np.ndarray, overlap: float = 0.4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of the UCSD pixel-level criterion (Mahadevan et al. 2010; Li et al. 2014).

    At threshold ``t`` a pixel is flagged when ``score >= t``. An anomalous frame (mask not
    empty) is a true positive only if at least ``overlap`` (40%) of its anomalous pixels are
    flagged; a normal frame is a false positive if any of its pixels is flagged.

    Returns
    -------
    fpr, tpr, thresholds : (K,) arrays in that order, as ``sklearn.metrics.roc_curve``
        (no points dropped).
    """
    fn = "ucsd_pixel_fpr_tpr"
    y, s = _ucsd_frame_scores(masks, score_maps, overlap, fn)
    need_two_classes(y, fn, "the frames (from masks)")
    fpr, tpr, thr = _sk_roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thr


def pixel_level_auc_ucsd(masks: np.ndarray, score_maps: np.ndarray, overlap: float = 0.4) -> float:
    """Area under the UCSD pixel-level ROC of :func:`ucsd_pixel_fpr_tpr`."""
    fn = "pixel_level_auc_ucsd"
    y, s = _ucsd_frame_scores(masks, score_maps, overlap, fn)
    return binary_auc(y, s, fn, "the frames (from masks)")
