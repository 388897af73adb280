"""Frame-, video- and pixel-level metrics as video anomaly detection papers compute them.

Plain functions, scikit-learn style. Flat inputs are 1-D arrays of per-frame labels (0/1 or
bool) and scores (higher = more anomalous). Per-video inputs are ``Mapping[str, ndarray]``
(video id -> per-frame array); labels and scores must hold the same ids and equal lengths.

Inputs are checked in a fixed order: 1-D, equal length, finite, binary labels; a single-class
input is an error, never a silent 0.5. Every result is a Python ``float``.

>>> import numpy as np
>>> frame_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import auc as _sk_auc
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from vadkit.errors import VadkitError
from vadkit.evaluate.checks import (
    binary_auc,
    check_pair,
    check_videos,
    concat_checked,
    need_two_classes,
)

__all__ = [
    "BootstrapCI",
    "abnormal_video_auc",
    "ap_trapezoid",
    "average_precision",
    "bootstrap_ci",
    "concat_videos",
    "false_alarm_rate",
    "frame_auc",
    "frame_auc_macro",
    "frame_auc_micro",
    "per_class_auc",
    "per_video_auc",
    "roc_auc_from_curve",
    "video_auc",
]

LabelsByVideo = Mapping[str, np.ndarray]
ScoresByVideo = Mapping[str, np.ndarray]


# ---------------------------------------------------------------- frame level
def frame_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Frame-level ROC AUC of flat arrays (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    labels : (N,) binary array, 1 = anomalous frame.
    scores : (N,) float array, higher = more anomalous.
    """
    y, s = check_pair(labels, scores, "frame_auc")
    return binary_auc(y, s, "frame_auc")


def concat_videos(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    order: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Checked, concatenated ``(labels (N,) int8, scores (N,) float64)``; ``order`` or sorted ids."""
    return concat_checked(check_videos(labels_by_video, scores_by_video, "concat_videos", order))


def frame_auc_micro(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    order: Sequence[str] | None = None,
) -> float:
    """Micro frame AUC: all frames of all videos concatenated (the usual UCF/SH/XD number).

    Frames are concatenated in ``order`` if given, else in sorted id order; the AUC does not
    depend on that order (it only makes the concatenation reproducible).
    """
    y, s = concat_checked(check_videos(labels_by_video, scores_by_video, "frame_auc_micro", order))
    return binary_auc(y, s, "frame_auc_micro", "the concatenated labels")


def per_video_auc(
    labels_by_video: LabelsByVideo, scores_by_video: ScoresByVideo
) -> dict[str, float]:
    """Frame AUC of each video that contains both classes, ``{id: auc}`` in sorted id order.

    Single-class videos (all normal videos, fully anomalous ones) are left out; the number
    left out is ``len(labels_by_video) - len(result)``.
    """
    checked = check_videos(labels_by_video, scores_by_video, "per_video_auc")
    return {
        vid: float(roc_auc_score(y, s)) for vid, (y, s) in checked.items() if 0 < y.sum() < len(y)
    }


def frame_auc_macro(labels_by_video: LabelsByVideo, scores_by_video: ScoresByVideo) -> float:
    """Macro frame AUC: mean of per-video AUCs over the videos that contain both classes.

    Videos with a single class have no AUC and are skipped (see :func:`per_video_auc` for
    the per-video values and how many were skipped); an error if no video has both classes.
    """
    per = per_video_auc(labels_by_video, scores_by_video)
    if not per:
        raise VadkitError(
            f"frame_auc_macro: none of the {len(labels_by_video)} videos contains both normal and "
            "anomalous frames; the macro AUC is undefined"
        )
    return float(np.mean(list(per.values())))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision as ``sklearn.metrics.average_precision_score`` (step-wise sum).

    This is not the trapezoid area many XD-Violence papers report; see :func:`ap_trapezoid`.
    For per-video dicts pass ``*concat_videos(labels_by_video, scores_by_video)``.
    """
    y, s = check_pair(labels, scores, "average_precision")
    need_two_classes(y, "average_precision")
    return float(average_precision_score(y, s))


def ap_trapezoid(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve by the trapezoid rule.

    ``sklearn.metrics.auc(recall, precision)`` on ``precision_recall_curve``: the AP of the
    XD-Violence reference code and many papers that follow it. It interpolates linearly
    between operating points, so it is usually a little higher than :func:`average_precision`.
    """
    y, s = check_pair(labels, scores, "ap_trapezoid")
    need_two_classes(y, "ap_trapezoid")
    precision, recall, _ = precision_recall_curve(y, s)
    return float(_sk_auc(recall, precision))


def abnormal_video_auc(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    order: Sequence[str] | None = None,
) -> float:
    """Frame AUC over the frames of abnormal videos only (videos with >= 1 anomalous frame).

    Normal videos are dropped, so the metric measures localisation inside abnormal videos
    ("AUC_A" in several UCF-Crime / XD-Violence papers).
    """
    fn = "abnormal_video_auc"
    checked = check_videos(labels_by_video, scores_by_video, fn, order)
    abnormal = {vid: ys for vid, ys in checked.items() if ys[0].any()}
    if not abnormal:
        raise VadkitError(f"{fn}: none of the {len(checked)} videos has an anomalous frame")
    y, s = concat_checked(abnormal)
    return binary_auc(y, s, fn, "the frames of abnormal videos")


def false_alarm_rate(
    labels_by_video: LabelsByVideo, scores_by_video: ScoresByVideo, threshold: float = 0.5
) -> float:
    """Fraction of frames of normal videos (no anomalous frame) with ``score >= threshold``.

    The comparison is ``>=``. Frames of abnormal videos are ignored, including their
    normal frames.
    """
    fn = "false_alarm_rate"
    if not math.isfinite(threshold):
        raise VadkitError(f"{fn}: threshold must be finite, got {threshold}")
    checked = check_videos(labels_by_video, scores_by_video, fn)
    normal = [s for y, s in checked.values() if not y.any()]
    n = sum(len(s) for s in normal)
    if n == 0:
        raise VadkitError(f"{fn}: no frames of normal videos (videos without anomalous frames)")
    return float(sum(int((s >= threshold).sum()) for s in normal) / n)


# ---------------------------------------------------------------- video and class level
def video_auc(
    video_labels: Mapping[str, object],
    video_scores: ScoresByVideo,
    reduce: str = "max",
) -> float:
    """Video-level ROC AUC; a video's score is the max (or mean) of its frame/snippet scores.

    Parameters
    ----------
    video_labels : id -> 0/1, or id -> (N,) binary frame labels (video label = any anomalous).
    video_scores : id -> (T,) frame or snippet scores (T need not equal N), or one score.
    reduce : ``"max"`` (default) or ``"mean"``.
    """
    fn = "video_auc"
    if reduce not in ("max", "mean"):
        raise VadkitError(f"{fn}: reduce must be 'max' or 'mean', got {reduce!r}")
    if set(video_labels) != set(video_scores):
        a, b = set(video_labels), set(video_scores)
        raise VadkitError(
            f"{fn}: video_labels and video_scores hold different videos: only in labels "
            f"{sorted(a - b)[:5]}, only in scores {sorted(b - a)[:5]}"
        )
    ids = sorted(video_labels)
    y = np.zeros(len(ids), np.int8)
    s = np.zeros(len(ids), np.float64)
    for i, vid in enumerate(ids):
        lab = np.asarray(video_labels[vid])
        lab = lab.reshape(1) if lab.ndim == 0 else lab
        sc = np.asarray(video_scores[vid])
        sc = sc.reshape(1) if sc.ndim == 0 else sc
        lab_c, _ = check_pair(lab, np.zeros(len(lab)), fn, f"video_labels[{vid!r}]")
        _, sc_c = check_pair(np.zeros(len(sc), np.int8), sc, fn, sname=f"video_scores[{vid!r}]")
        for name, a in ((f"video_labels[{vid!r}]", lab_c), (f"video_scores[{vid!r}]", sc_c)):
            if len(a) == 0:
                raise VadkitError(f"{fn}: {name} is empty")
        y[i] = lab_c.max()
        s[i] = sc_c.max() if reduce == "max" else sc_c.mean()
    return binary_auc(y, s, fn, "the video labels")


def per_class_auc(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    classes: Mapping[str, str],
    normal_class: str = "Normal",
) -> dict[str, float]:
    """Frame AUC per anomaly class, the usual UCF-Crime per-class protocol.

    For each class other than ``normal_class``: the frames of that class's videos plus the
    frames of all ``normal_class`` videos, concatenated (sorted ids), scored as one micro AUC.
    Returns ``{class: auc}`` sorted by class name.
    """
    fn = "per_class_auc"
    checked = check_videos(labels_by_video, scores_by_video, fn)
    missing = [vid for vid in checked if vid not in classes]
    if missing:
        raise VadkitError(
            f"{fn}: classes has no entry for {len(missing)} videos, e.g. {missing[:5]}"
        )
    normal = {vid: v for vid, v in checked.items() if classes[vid] == normal_class}
    if not normal:
        found = sorted({classes[v] for v in checked})[:10]
        raise VadkitError(f"{fn}: no video has class {normal_class!r}; classes found: {found}")
    out = {}
    for cls in sorted({classes[v] for v in checked} - {normal_class}):
        part = {vid: v for vid, v in checked.items() if classes[vid] == cls}
        y, s = concat_checked({**part, **normal})
        out[cls] = binary_auc(y, s, fn, f"class {cls!r} plus normal videos")
    return out


# ---------------------------------------------------------------- curves and intervals
def _curve_vector(a: object, name: str, fn: str) -> np.ndarray:
    v = np.asarray(a)
    if v.ndim == 2 and 1 in v.shape:  # MATLAB column / row vectors
        v = v.reshape(-1)
    if v.ndim != 1:
        raise VadkitError(f"{fn}: {name} must be 1-D (or an N x 1 / 1 x N vector), got {v.shape}")
    v = v.astype(np.float64)  # uint8 input (0/1 TPR) must not wrap or truncate
    if not np.isfinite(v).all():
        raise VadkitError(f"{fn}: {name} has non-finite values")
    return v


def roc_auc_from_curve(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Trapezoid integral of a given ROC curve, as MATLAB ``trapz(fpr, tpr)``.

    Inputs are cast to float64 (uint8 works) and may be N x 1 vectors as ``scipy.io.loadmat``
    returns them. ``fpr`` must be monotonic; a non-increasing ``fpr`` gives the same
    positive area as the reversed curve.
    """
    fn = "roc_auc_from_curve"
    x, y = _curve_vector(fpr, "fpr", fn), _curve_vector(tpr, "tpr", fn)
    if len(x) != len(y):
        raise VadkitError(f"{fn}: fpr has {len(x)} points but tpr has {len(y)}")
    if len(x) < 2:
        raise VadkitError(f"{fn}: a curve needs at least 2 points, got {len(x)}")
    dx = np.diff(x)
    if (dx < 0).any() and (dx > 0).any():
        raise VadkitError(f"{fn}: fpr is neither non-decreasing nor non-increasing")
    area = float(np.trapezoid(y, x))
    return -area if (dx < 0).any() else area


@dataclass(frozen=True)
class BootstrapCI:
    """Result of :func:`bootstrap_ci`; unpacks as ``point, low, high``."""

    point: float
    low: float
    high: float
    n_boot: int
    n_skipped: int
    alpha: float
    unit: str

    def __iter__(self) -> Iterator[float]:
        return iter((self.point, self.low, self.high))


def bootstrap_ci(
    metric_fn: Callable[[LabelsByVideo, ScoresByVideo], float],
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    unit: str = "video",
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of a per-video metric.

    ``unit="video"`` (default, the honest unit for VAD) draws videos with replacement; the
    drawn dicts have keys ``"<id>#<draw>"`` so repeated videos stay distinct (metrics that
    look ids up elsewhere, e.g. ``per_class_auc``'s classes, must strip the suffix).
    ``unit="frame"`` redraws frames within each video; neighbouring frames are correlated,
    so it understates the width. Resamples on which ``metric_fn`` raises ``VadkitError``
    (single-class draws) are skipped and counted in ``n_skipped``.

    Returns
    -------
    BootstrapCI : ``point`` (metric on the full data), ``low``, ``high`` (``alpha/2`` and
        ``1 - alpha/2`` quantiles of the successful resamples), ``n_boot``, ``n_skipped``.
    """
    fn = "bootstrap_ci"
    if unit not in ("video", "frame"):
        raise VadkitError(f"{fn}: unit must be 'video' or 'frame', got {unit!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise VadkitError(f"{fn}: n_boot must be a positive number of resamples, got {n_boot!r}")
    if not 0 < alpha < 1:
        raise VadkitError(f"{fn}: alpha must be in (0, 1) (0.05 for a 95% interval), got {alpha}")
    checked = check_videos(labels_by_video, scores_by_video, fn)
    point = float(metric_fn(labels_by_video, scores_by_video))
    ids = list(checked)
    rng = np.random.default_rng(seed)
    values, skipped = [], 0
    for _ in range(n_boot):
        if unit == "video":
            draw = rng.integers(0, len(ids), len(ids))
            lab = {f"{ids[j]}#{k}": checked[ids[j]][0] for k, j in enumerate(draw)}
            sco = {f"{ids[j]}#{k}": checked[ids[j]][1] for k, j in enumerate(draw)}
        else:
            idx = {vid: rng.integers(0, len(y), len(y)) for vid, (y, _) in checked.items()}
            lab = {vid: y[idx[vid]] for vid, (y, _) in checked.items()}
            sco = {vid: s[idx[vid]] for vid, (_, s) in checked.items()}
        try:
            values.append(float(metric_fn(lab, sco)))
        except VadkitError:
            skipped += 1
    if not values:
        raise VadkitError(f"{fn}: all {n_boot} resamples were degenerate (single class)")
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return BootstrapCI(point, float(low), float(high), n_boot, skipped, alpha, unit)
