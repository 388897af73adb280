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


# ---------------------------------------------------------------- input checks
def _check_pair(
    labels: object, scores: object, fn: str, lname: str = "labels", sname: str = "scores"
) -> tuple[np.ndarray, np.ndarray]:
    """Check one (labels, scores) pair: 1-D, equal length, numeric and finite, binary labels."""
    y, s = np.asarray(labels), np.asarray(scores)
    for name, a in ((lname, y), (sname, s)):
        if a.ndim != 1:
            raise VadkitError(f"{fn}: {name} must be 1-D, got shape {a.shape}")
    if len(y) != len(s):
        raise VadkitError(f"{fn}: {lname} has {len(y)} frames but {sname} has {len(s)}")
    for name, a in ((lname, y), (sname, s)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise VadkitError(f"{fn}: {name} must be numeric, got dtype {a.dtype}")
        bad = ~np.isfinite(a) if a.dtype != bool else np.zeros(len(a), bool)
        if bad.any():
            raise VadkitError(
                f"{fn}: {name} has {int(bad.sum())} non-finite values (first at index "
                f"{int(np.argmax(bad))}); expected finite numbers"
            )
    if not np.isin(y, (0, 1)).all():
        odd = np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()
        raise VadkitError(f"{fn}: {lname} must be binary (0/1), got values such as {odd}")
    return y.astype(np.int8), s.astype(np.float64)


def _need_two_classes(y: np.ndarray, fn: str, what: str = "labels") -> None:
    if len(y) == 0:
        raise VadkitError(f"{fn}: {what} is empty; nothing to evaluate")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        cls = "anomalous (1)" if n_pos else "normal (0)"
        raise VadkitError(
            f"{fn}: {what} has only {cls} items ({len(y)}); the metric needs both classes"
        )


def _check_videos(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    fn: str,
    order: Sequence[str] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Check per-video dicts; return ``{id: (labels int8, scores float64)}`` in evaluation order."""
    for name, m in (("labels_by_video", labels_by_video), ("scores_by_video", scores_by_video)):
        if not isinstance(m, Mapping):
            raise VadkitError(f"{fn}: {name} must be a mapping video id -> array, got {type(m)}")
    ids_l, ids_s = set(labels_by_video), set(scores_by_video)
    if ids_l != ids_s:
        raise VadkitError(
            f"{fn}: labels_by_video and scores_by_video hold different videos: only in labels "
            f"{sorted(ids_l - ids_s)[:5]}, only in scores {sorted(ids_s - ids_l)[:5]}"
        )
    if order is None:
        ids = sorted(ids_l)
    else:
        ids = list(order)
        if len(ids) != len(ids_l) or set(ids) != ids_l:
            raise VadkitError(
                f"{fn}: order must list every video id exactly once ({len(ids_l)} videos), "
                f"got {len(ids)} entries with {len(set(ids) & ids_l)} known ids"
            )
    out = {}
    for vid in ids:
        out[vid] = _check_pair(
            labels_by_video[vid],
            scores_by_video[vid],
            fn,
            f"labels_by_video[{vid!r}]",
            f"scores_by_video[{vid!r}]",
        )
    return out


def _concat(checked: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not checked:
        return np.zeros(0, np.int8), np.zeros(0, np.float64)
    ys, ss = zip(*checked.values(), strict=True)
    return np.concatenate(ys), np.concatenate(ss)


def _auc(y: np.ndarray, s: np.ndarray, fn: str, what: str = "labels") -> float:
    _need_two_classes(y, fn, what)
    return float(roc_auc_score(y, s))


# ---------------------------------------------------------------- frame level
def frame_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Frame-level ROC AUC of flat arrays (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    labels : (N,) binary array, 1 = anomalous frame.
    scores : (N,) float array, higher = more anomalous.
    """
    y, s = _check_pair(labels, scores, "frame_auc")
    return _auc(y, s, "frame_auc")


def concat_videos(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    order: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Checked, concatenated ``(labels (N,) int8, scores (N,) float64)``; ``order`` or sorted ids."""
    return _concat(_check_videos(labels_by_video, scores_by_video, "concat_videos", order))


def frame_auc_micro(
    labels_by_video: LabelsByVideo,
    scores_by_video: ScoresByVideo,
    order: Sequence[str] | None = None,
) -> float:
    """Micro frame AUC: all frames of all videos concatenated (the usual UCF/SH/XD number).

    Frames are concatenated in ``order`` if given, else in sorted id order; the AUC does not
    depend on that order (it only makes the concatenation reproducible).
    """
    y, s = _concat(_check_videos(labels_by_video, scores_by_video, "frame_auc_micro", order))
    return _auc(y, s, "frame_auc_micro", "the concatenated labels")


def per_video_auc(
    labels_by_video: LabelsByVideo, scores_by_video: ScoresByVideo
) -> dict[str, float]:
    """Frame AUC of each video that contains both classes, ``{id: auc}`` in sorted id order.

    Single-class videos (all normal videos, fully anomalous ones) are left out; the number
    left out is ``len(labels_by_video) - len(result)``.
    """
    checked = _check_videos(labels_by_video, scores_by_video, "per_video_auc")
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
    y, s = _check_pair(labels, scores, "average_precision")
    _need_two_classes(y, "average_precision")
    return float(average_precision_score(y, s))


def ap_trapezoid(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve by the trapezoid rule.

    ``sklearn.metrics.auc(recall, precision)`` on ``precision_recall_curve``: the AP of the
    XD-Violence reference code and many papers that follow it. It interpolates linearly
    between operating points, so it is usually a little higher than :func:`average_precision`.
    """
    y, s = _check_pair(labels, scores, "ap_trapezoid")
    _need_two_classes(y, "ap_trapezoid")
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
    checked = _check_videos(labels_by_video, scores_by_video, fn, order)
    abnormal = {vid: ys for vid, ys in checked.items() if ys[0].any()}
    if not abnormal:
        raise VadkitError(f"{fn}: none of the {len(checked)} videos has an anomalous frame")
    y, s = _concat(abnormal)
    return _auc(y, s, fn, "the frames of abnormal videos")


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
    checked = _check_videos(labels_by_video, scores_by_video, fn)
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
        lab_c, _ = _check_pair(lab, np.zeros(len(lab)), fn, f"video_labels[{vid!r}]")
        _, sc_c = _check_pair(np.zeros(len(sc), np.int8), sc, fn, sname=f"video_scores[{vid!r}]")
        for name, a in ((f"video_labels[{vid!r}]", lab_c), (f"video_scores[{vid!r}]", sc_c)):
            if len(a) == 0:
                raise VadkitError(f"{fn}: {name} is empty")
        y[i] = lab_c.max()
        s[i] = sc_c.max() if reduce == "max" else sc_c.mean()
    return _auc(y, s, fn, "the video labels")


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
    checked = _check_videos(labels_by_video, scores_by_video, fn)
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
        y, s = _concat({**part, **normal})
        out[cls] = _auc(y, s, fn, f"class {cls!r} plus normal videos")
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
    checked = _check_videos(labels_by_video, scores_by_video, fn)
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


_PIXEL = ("pixel_auc", "pixel_level_auc_ucsd", "ucsd_pixel_fpr_tpr", "ucsd_pixel_tpr_fpr")


def __getattr__(name: str) -> object:
    """The pixel-level metrics moved to :mod:`vadkit.evaluate.pixel`; old imports still work."""
    if name in _PIXEL:
        from vadkit.evaluate import pixel

        return getattr(pixel, name)
    raise AttributeError(f"module 'vadkit.evaluate.metrics' has no attribute {name!r}")
