"""Score files + ground truth -> the metrics table of a paper.

Scores are per video: per snippet (``T`` values, as a store has snippets) or per frame.
They are expanded to frames and paired with labels in one of two conventions:

- ``"x16"``: ``16 T`` frames per video, labels edge-padded or cut to that length (how
  the published RTFM / S3R / salient-feature numbers are computed);
- ``"exact"``: the video's true frame count (Sultani's evaluator, TACnet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.datasets.align import CONVENTIONS
from vadkit.datasets.annotations import GroundTruth
from vadkit.datasets.names import DATASETS as PUBLISHED
from vadkit.datasets.names import canonical_dataset
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, VideoEntry

__all__ = [
    "CUSTOM",
    "DATASETS",
    "METRICS",
    "FrameData",
    "compute_metrics",
    "evaluate_scores",
    "format_table",
    "frame_data",
    "load_ground_truth",
    "load_scores",
]

CUSTOM = "csv"  # interval CSV of your own dataset (read_interval_csv)
DATASETS = (*PUBLISHED, CUSTOM)  # what load_ground_truth and `vadkit evaluate --dataset` take


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Per-video scores from ``.npz`` (one array per video id), ``.json`` ({id: [...]})
    or a run directory holding ``scores.npz``."""
    path = Path(path)
    if path.is_dir():
        path = path / "scores.npz"
    if not path.is_file():
        raise VadkitError(f"scores file not found: {path}")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                scores = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
        elif path.suffix == ".json":
            raw = json.loads(path.read_text())
            if not isinstance(raw, dict):
                raise VadkitError(f"{path}: expected a JSON object {{video id: [scores]}}")
            scores = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        else:
            raise VadkitError(f"{path}: scores must be .npz or .json (or a run directory)")
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read scores {path}: {exc}") from exc
    if not scores:
        raise VadkitError(f"{path} holds no videos")
    for vid, s in scores.items():
        if s.ndim != 1 or s.size == 0:
            raise VadkitError(
                f"{path}: scores of video {vid!r} have shape {s.shape}, expected (T,)"
            )
        if not np.isfinite(s).all():
            raise VadkitError(f"{path}: scores of video {vid!r} contain NaN or Inf")
    return scores


def load_ground_truth(
    dataset: str,
    annotations: str | Path,
    *,
    frame_counts: str | Path | None = None,
    split_file: str | Path | None = None,
    list_file: str | Path | None = None,
    frames_root: str | Path | None = None,
    masks_dir: str | Path | None = None,
    one_based_inclusive: bool = False,
    ped2_ids: str = "index",
) -> GroundTruth:
    """Read a dataset's published annotation files into a :class:`GroundTruth`.

    ``one_based_inclusive`` applies to ``csv`` intervals (default 0-based, end exclusive);
    ``ped2_ids`` names UCSD test videos ``"index"`` (``01``..``12``, the frame folders) or
    ``"Test001"`` style. ``dataset`` is one of :data:`DATASETS`, in any spelling
    :func:`vadkit.datasets.canonical_dataset` knows (``ucf_crime``, ``ucsd_ped2``, ...).
    """
    from vadkit.datasets import annotations as ann

    if dataset != CUSTOM:
        try:
            dataset = canonical_dataset(dataset)
        except VadkitError:
            raise VadkitError(
                f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}"
            ) from None

    if dataset == "ucf-crime":
        if frame_counts is None:
            raise VadkitError(
                "ucf-crime needs --frame-counts (Test_Annotation.txt: per-video frame counts)"
            )
        if Path(annotations).is_dir():
            return ann.read_ucf_crime_matlab(annotations, frame_counts)
        return ann.read_ucf_crime(annotations, frame_counts)
    if dataset == "shanghaitech":
        if Path(annotations).suffix == ".json":
            return ann.read_shanghaitech_s3r_json(annotations)
        return ann.read_shanghaitech(annotations, split_file)
    if dataset == "xd-violence":
        return ann.read_xd_violence(annotations, list_file)
    if dataset == "ped2":
        return ann.read_ucsd_ped2(
            annotations, frames_root=frames_root, masks_dir=masks_dir, id_style=ped2_ids
        )
    if dataset == "lad2000":  # the LAD2000 root (GT/ pickles or .mat files)
        from vadkit.datasets.importers.lad2000 import read_lad2000

        return read_lad2000(annotations)
    if dataset == "csv":
        return ann.read_interval_csv(annotations, one_based_inclusive=one_based_inclusive)
    raise VadkitError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")


@dataclass
class FrameData:
    """Frame labels and scores per video, ready for the metric functions."""

    labels: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    classes: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _store_parts(store: Any) -> tuple[FeatureStore | None, list[VideoEntry] | None]:
    """A FeatureStore, or a StoreView (``.store`` and ``.entries``): the store and its entries."""
    if store is None or isinstance(store, FeatureStore):
        return store, None
    inner = getattr(store, "store", None)
    if isinstance(inner, FeatureStore):
        return inner, list(store.entries)
    raise VadkitError(f"store must be a FeatureStore or a view of one, got {type(store).__name__}")


def _per_frame_hint(vid: str, n_scores: int, gt: GroundTruth, snippet_length: int) -> None:
    """Without a store, scores are per snippet: per-frame scores need ``--snippet-length 1``."""
    if snippet_length == 1 or vid not in gt:
        return
    n = gt.true_length(vid)
    if n is not None and n_scores == n:
        raise VadkitError(
            f"video {vid!r}: {n_scores} scores for its {n} frames look like per-frame scores, "
            f"but without a store they are read as one per {snippet_length}-frame snippet; "
            "pass snippet_length=1 (--snippet-length 1) or the store (--store)"
        )


def _entries_for(
    scores: Mapping[str, np.ndarray],
    store: FeatureStore | None,
    snippet_length: int,
    gt: GroundTruth,
) -> tuple[list[VideoEntry], dict[str, str]]:
    """Store entries for the scored videos, and each video's score level."""
    entries, level = [], {}
    for vid, s in scores.items():
        if store is None:
            _per_frame_hint(vid, len(s), gt, snippet_length)
            entries.append(VideoEntry(id=vid, file="", T=len(s)))
            level[vid] = "snippet"
            continue
        e = store.entry(vid)
        n = e.n_frames if e.n_frames is not None else gt.true_length(vid)
        if len(s) == e.T:
            level[vid] = "snippet"
        elif len(s) == snippet_length * e.T or (n is not None and len(s) == n):
            level[vid] = "frame"
        else:
            raise VadkitError(
                f"video {vid!r}: {len(s)} scores fit neither its T={e.T} snippets nor its "
                f"frames ({snippet_length * e.T} x16, {n} exact)"
            )
        entries.append(e)
    return entries, level


def frame_data(
    scores: Mapping[str, np.ndarray],
    gt: GroundTruth,
    *,
    store: FeatureStore | Any | None = None,
    convention: str = "x16",
    snippet_length: int = 16,
    allow_subset: bool = False,
) -> FrameData:
    """Pair per-video scores with frame labels in ``convention``.

    Without a store, scores are taken as per-snippet of ``snippet_length`` frames
    (``snippet_length=1``: per frame). With a store (a FeatureStore or a view of one), a
    video's scores may be per snippet (``T`` values) or per frame (``L T`` or its frame
    count). Every scored video must be in the ground truth; ground-truth videos without
    scores are an error unless ``allow_subset``.
    """
    from vadkit.datasets.align import align_labels
    from vadkit.evaluate.expand import expand_segments, expand_snippets

    if convention not in CONVENTIONS:
        raise VadkitError(
            f"convention {convention!r}: choose one of {', '.join(CONVENTIONS)} (--convention)"
        )
    if isinstance(snippet_length, bool) or not isinstance(snippet_length, int | np.integer):
        raise VadkitError(f"snippet_length must be an integer, got {snippet_length!r}")
    if snippet_length < 1:
        raise VadkitError(
            f"snippet_length (--snippet-length) must be >= 1 frame, got {snippet_length}"
        )
    unknown = [v for v in scores if v not in gt]
    if unknown:
        raise VadkitError(
            f"{len(unknown)} scored videos are not in the ground truth ({gt.source or gt.dataset}),"
            f" e.g. {unknown[0]!r}"
        )
    unscored = [v for v in gt.ids if v not in scores]
    if unscored and not allow_subset:
        raise VadkitError(
            f"{len(unscored)} of {len(gt)} ground-truth videos have no scores, e.g. "
            f"{unscored[0]!r} (use --subset to evaluate only the scored videos)"
        )
    fs, _ = _store_parts(store)
    if fs is not None:
        snippet_length = fs.info.snippet_length or snippet_length
    entries, level = _entries_for(scores, fs, snippet_length, gt)
    # the store may hold more videos than were scored (e.g. its training split): skip those;
    # every scored video was checked to be in the ground truth above
    labels = align_labels(
        gt,
        fs if fs is not None else entries,
        convention,
        snippet_length=snippet_length,
        missing="skip",
    )
    labels = {e.id: labels[e.id] for e in entries}
    segments = fs.info.n_segments if fs is not None else None
    segment_rule = fs.info.extra.get("segment_rule", "sultani") if fs is not None else None
    frame_scores: dict[str, np.ndarray] = {}
    for e in entries:
        s, n = np.asarray(scores[e.id], np.float64), len(labels[e.id])
        if level[e.id] == "frame":
            if len(s) != n:
                other = "exact" if convention == "x16" else "x16"
                raise VadkitError(
                    f"video {e.id!r}: {len(s)} frame scores but {n} labels in the "
                    f"{convention!r} convention; per-frame scores of {len(s)} frames need "
                    f"the {other!r} one (--convention {other})"
                )
            frame_scores[e.id] = s
        elif segments:
            rule = "array_split" if segment_rule == "tacnet" else "sultani"
            frame_scores[e.id] = expand_segments(
                s, n_frames=n, snippet_length=snippet_length, rule=rule
            )
        else:
            stride = fs.info.stride if fs is not None else None
            frame_scores[e.id] = expand_snippets(
                s, snippet_length=snippet_length, stride=stride, n_frames=n, convention=convention
            )
    # a video's class: the annotation's, else the store's (LAD2000 records it there), else
    # "Normal" / "Anomaly" from its labels
    classes = {
        e.id: gt.classes.get(e.id)
        or getattr(e, "cls", None)
        or ("Normal" if not gt.video_label(e.id) else "Anomaly")
        for e in entries
    }
    return FrameData(labels, frame_scores, classes, [e.id for e in entries])


def evaluate_scores(
    scores: Mapping[str, np.ndarray],
    gt: GroundTruth,
    *,
    store: FeatureStore | Any | None = None,
    convention: str = "x16",
    snippet_length: int = 16,
    allow_subset: bool = False,
    threshold: float = 0.5,
    bootstrap: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate per-video scores against a ground truth: the numbers of ``vadkit evaluate``.

    The one entry point for the CLI and the trainer: :func:`frame_data` then
    :func:`compute_metrics`.

    Parameters
    ----------
    scores : video id -> ``(T,)`` per-snippet or per-frame scores (higher = more anomalous)
    gt : ground truth from :func:`load_ground_truth` or a reader of
        :mod:`vadkit.datasets.annotations`
    store : the FeatureStore (or a view of one) the scores were computed on; gives the
        snippet length, each video's ``T`` and frame count
    convention : ``"x16"`` or ``"exact"``
    snippet_length : frames per snippet when there is no store (1: per-frame scores)
    allow_subset : evaluate only the scored videos of the ground truth
    threshold : score threshold of the false-alarm rate
    bootstrap : resamples of videos for a 95% CI of the frame AUC (0: none)
    seed : seed of the bootstrap

    Returns
    -------
    dict : ``dataset``, ``convention`` and every metric of :func:`compute_metrics`.
    """
    if not np.isfinite(threshold):
        raise VadkitError(f"threshold (--threshold) must be a finite number, got {threshold}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 0:
        raise VadkitError(f"bootstrap (--bootstrap) must be 0 or more resamples, got {bootstrap}")
    data = frame_data(
        scores,
        gt,
        store=store,
        convention=convention,
        snippet_length=snippet_length,
        allow_subset=allow_subset,
    )
    results: dict[str, Any] = {"dataset": gt.dataset, "convention": convention}
    results.update(compute_metrics(data, threshold=threshold, bootstrap=bootstrap, seed=seed))
    return results


def compute_metrics(
    data: FrameData, *, threshold: float = 0.5, bootstrap: int = 0, seed: int = 0
) -> dict[str, Any]:
    """Every frame- and video-level metric that is defined for ``data``.

    Metrics that are undefined for this data (e.g. no normal videos for the
    false-alarm rate) are reported as ``None`` with the reason under ``"undefined"``.
    """
    import vadkit.evaluate.metrics as m

    y, s = m.concat_videos(data.labels, data.scores, order=data.order)
    out: dict[str, Any] = {
        "n_videos": len(data.order),
        "n_abnormal_videos": int(sum(int(v.any()) for v in data.labels.values())),
        "n_frames": int(len(y)),
        "n_abnormal_frames": int(y.sum()),
        "frame_auc": m.frame_auc_micro(data.labels, data.scores, order=data.order),
    }
    undefined: dict[str, str] = {}

    def attempt(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            out[name] = fn(*args, **kwargs)
        except VadkitError as exc:
            out[name] = None
            undefined[name] = str(exc)

    per_video = m.per_video_auc(data.labels, data.scores)
    out["frame_auc_macro"] = float(np.mean(list(per_video.values()))) if per_video else None
    out["frame_auc_macro_videos"] = len(per_video)
    if not per_video:
        undefined["frame_auc_macro"] = "no video has both normal and abnormal frames"
    attempt("average_precision", m.average_precision, y, s)
    attempt("ap_trapezoid", m.ap_trapezoid, y, s)
    attempt("abnormal_video_auc", m.abnormal_video_auc, data.labels, data.scores, order=data.order)
    attempt("false_alarm_rate", m.false_alarm_rate, data.labels, data.scores, threshold=threshold)
    out["false_alarm_threshold"] = threshold
    attempt("video_auc", m.video_auc, data.labels, data.scores)
    attempt("per_class_auc", m.per_class_auc, data.labels, data.scores, data.classes)
    if bootstrap:
        ci = m.bootstrap_ci(
            m.frame_auc_micro, data.labels, data.scores, n_boot=bootstrap, seed=seed
        )
        out["frame_auc_ci95"] = [ci.low, ci.high]
        out["bootstrap"] = {"n_boot": ci.n_boot, "skipped": ci.n_skipped, "unit": ci.unit}
    if undefined:
        out["undefined"] = undefined
    return out


# the rows of the results table, in order: key -> meaning (percent in the table)
METRICS: dict[str, str] = {
    "frame_auc": "ROC AUC over all frames of all videos (micro): the UCF/SH number",
    "frame_auc_macro": "mean of per-video AUCs over videos with both classes",
    "average_precision": "scikit-learn AP (step-wise sum)",
    "ap_trapezoid": "area under the PR curve by trapezoids (XD-Violence code and papers)",
    "abnormal_video_auc": "frame AUC over the frames of abnormal videos only (AUC_A)",
    "false_alarm_rate": "fraction of frames of normal videos with score >= threshold",
    "video_auc": "ROC AUC of video labels vs each video's max score",
}


def format_table(results: Mapping[str, Any]) -> str:
    """The results as an aligned text table (AUC/AP in percent, as papers print them)."""
    rows = []
    for key in METRICS:
        v = results.get(key)
        rows.append((key, "undefined" if v is None else f"{100 * v:.2f}"))
    if "frame_auc_ci95" in results:
        lo, hi = results["frame_auc_ci95"]
        rows.append(("frame_auc 95% CI", f"[{100 * lo:.2f}, {100 * hi:.2f}]"))
    for cls, v in sorted((results.get("per_class_auc") or {}).items()):
        rows.append((f"  AUC {cls}", f"{100 * v:.2f}"))
    head = (
        f"{results.get('dataset', '')} ({results.get('convention', '')}): "
        f"{results['n_videos']} videos ({results['n_abnormal_videos']} abnormal), "
        f"{results['n_frames']} frames ({results['n_abnormal_frames']} abnormal)"
    )
    width = max(len(k) for k, _ in rows)
    return "\n".join([head, *(f"{k:<{width}}  {v:>8}" for k, v in rows)])
