"""GroundTruth: per-frame anomaly labels of a dataset's videos, from any annotation format.

A video is known to the ground truth in exactly one of three ways:

- ``labels[id]``: a per-frame uint8 0/1 array of the video's length (true length, or a
  padded length when ``padded_to`` is set);
- ``intervals[id]``: anomalous ``(start, end_exclusive)`` 0-based frame intervals of a
  video whose length the annotation does not give (XD-Violence); arrays are built once a
  length is known (:meth:`GroundTruth.labels_for`);
- ``normal_ids``: a normal video of unknown length (all zeros once a length is known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadkit.datasets.names import canonical_dataset
from vadkit.datasets.text import read_lines as _read_lines
from vadkit.errors import VadkitError

NORMAL = "Normal"
ANOMALY = "Anomaly"

Interval = tuple[int, int]


@dataclass
class GroundTruth:
    """Frame-level ground truth of one dataset.

    Attributes
    ----------
    dataset : str
        Dataset id: a canonical one of :data:`vadkit.datasets.DATASETS` (``"ucf-crime"``,
        ``"shanghaitech"``, ``"xd-violence"``, ``"ped2"``; other spellings of these are
        turned into them) or any name of a custom dataset.
    labels : dict[str, np.ndarray]
        Video id -> ``(n_frames,)`` uint8 0/1 labels.
    classes : dict[str, str]
        Video id -> class name; ``"Normal"`` for normal videos.
    n_frames : dict[str, int]
        True frame counts, when the source knows them. Filled from ``labels`` unless
        ``padded_to`` is set (then label lengths are not true frame counts).
    normal_ids : set[str]
        Normal videos of unknown length.
    intervals : dict[str, list[tuple[int, int]]]
        Anomalous videos of unknown length: 0-based ``[start, end)`` frame intervals.
    interval_classes : dict[str, list[str]]
        Optional class of each interval of ``intervals[id]`` or of the labelled video.
    mask_loader : callable, optional
        ``id -> (n_frames, H, W)`` bool pixel masks.
    padded_to : int, optional
        When set, every ``labels`` array was padded to a multiple of this (e.g. 16 for
        the S3R/RTFM x16 ground truth): the lengths are ``16 * T``, not frame counts.
    source : str
        File(s) the ground truth was read from, for messages.
    """

    dataset: str
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    n_frames: dict[str, int] = field(default_factory=dict)
    normal_ids: set[str] = field(default_factory=set)
    intervals: dict[str, list[Interval]] = field(default_factory=dict)
    interval_classes: dict[str, list[str]] = field(default_factory=dict)
    mask_loader: Callable[[str], np.ndarray] | None = None
    padded_to: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        try:
            self.dataset = canonical_dataset(self.dataset)
        except VadkitError:
            pass  # a custom dataset keeps its name
        where = self.source or self.dataset
        # own copies: validation below converts arrays and fills n_frames
        self.labels, self.n_frames = dict(self.labels), dict(self.n_frames)
        for vid, lab in self.labels.items():
            arr = np.asarray(lab)
            if arr.ndim != 1 or (arr.size and not np.isin(arr, (0, 1)).all()):
                raise VadkitError(
                    f"{where}: labels of video {vid!r} must be 1-D 0/1, got shape {arr.shape}"
                )
            self.labels[vid] = arr.astype(np.uint8, copy=False)
            if self.padded_to is None:
                known = self.n_frames.setdefault(vid, arr.size)
                if known != arr.size:
                    raise VadkitError(
                        f"{where}: video {vid!r} has {arr.size} labels but n_frames={known}"
                    )
        for vid, ivs in self.intervals.items():
            if vid in self.labels:
                raise VadkitError(f"{where}: video {vid!r} has both labels and intervals")
            for s, e in ivs:
                if not 0 <= s < e:
                    raise VadkitError(
                        f"{where}: video {vid!r} has interval [{s}, {e}), expected 0 <= start < end"
                    )
        both = self.normal_ids & (self.labels.keys() | self.intervals.keys())
        if both:
            raise VadkitError(
                f"{where}: video {sorted(both)[0]!r} is both normal and labelled/annotated"
            )

    # -- queries -------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """Every video id: labelled, then interval-annotated, then normal (sorted)."""
        out = list(self.labels)
        out += [v for v in self.intervals if v not in self.labels]
        out += sorted(self.normal_ids - self.labels.keys() - self.intervals.keys())
        return out

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.labels or video_id in self.intervals or video_id in self.normal_ids

    def __len__(self) -> int:
        return len(self.ids)

    def _check(self, video_id: str) -> None:
        if video_id not in self:
            raise VadkitError(
                f"video {video_id!r} is not in the {self.dataset} ground truth "
                f"({self.source or 'no source'}, {len(self)} videos)"
            )

    def video_label(self, video_id: str) -> int:
        """1 when the video holds an anomalous frame, else 0."""
        self._check(video_id)
        if video_id in self.labels:
            return int(self.labels[video_id].any())
        return int(bool(self.intervals.get(video_id)))

    def true_length(self, video_id: str) -> int | None:
        """The video's true frame count, or None when the source does not give it."""
        self._check(video_id)
        return self.n_frames.get(video_id)

    def labels_for(self, video_id: str, n_frames: int | None = None) -> np.ndarray:
        """Per-frame labels of one video, ``(n,)`` uint8.

        Stored labels are returned as they are (``n_frames``, when given, must equal
        their length). Interval-annotated and normal videos of unknown length need
        ``n_frames``; intervals reaching past it are clipped there.
        """
        self._check(video_id)
        if video_id in self.labels:
            lab = self.labels[video_id]
            if n_frames is not None and n_frames != lab.size:
                raise VadkitError(
                    f"video {video_id!r}: asked for {n_frames} frame labels, "
                    f"the {self.dataset} annotation has {lab.size} frames"
                )
            return lab
        if n_frames is None:
            raise VadkitError(
                f"video {video_id!r}: the {self.dataset} annotation does not give its length; "
                "pass n_frames (e.g. from the feature store)"
            )
        if n_frames < 0:
            raise VadkitError(f"video {video_id!r}: n_frames must be >= 0, got {n_frames}")
        return intervals_to_labels(self.intervals.get(video_id, []), n_frames)

    def anomalous_ids(self) -> list[str]:
        return [v for v in self.ids if self.video_label(v) == 1]

    def __repr__(self) -> str:
        return (
            f"GroundTruth({self.dataset!r}, videos={len(self)}, "
            f"anomalous={len(self.anomalous_ids())}, masks={self.mask_loader is not None}"
            + (f", padded_to={self.padded_to}" if self.padded_to else "")
            + ")"
        )


def intervals_to_labels(intervals: Iterable[Interval], n_frames: int) -> np.ndarray:
    """0-based ``[start, end)`` intervals -> ``(n_frames,)`` uint8 labels (clipped to the length).

    >>> intervals_to_labels([(1, 3), (5, 9)], 6).tolist()
    [0, 1, 1, 0, 0, 1]
    """
    out = np.zeros(int(n_frames), dtype=np.uint8)
    for s, e in intervals:
        out[max(int(s), 0) : max(int(e), 0)] = 1
    return out


def labels_to_intervals(labels: np.ndarray) -> list[Interval]:
    """``(n,)`` 0/1 labels -> 0-based ``[start, end)`` runs of ones.

    >>> labels_to_intervals(np.array([0, 1, 1, 0, 1]))
    [(1, 3), (4, 5)]
    """
    lab = np.concatenate([[0], np.asarray(labels).astype(np.int8) != 0, [0]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(lab))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def read_lines(path: str | Path) -> list[tuple[int, str]]:
    """``(line number, stripped text)`` of the non-empty lines of an annotation file."""
    return _read_lines(path, "annotation file")


def parse_int(token: str, path: str | Path, lineno: int, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise VadkitError(f"{path}:{lineno}: {what} must be an integer, got {token!r}") from None
