"""Per-frame anomaly scores -> anomalous events (start, end, peak), merged and filtered.

A frame is anomalous when its score is strictly greater than the threshold. Consecutive
anomalous frames form a run; runs separated by a gap of at most ``merge_gap`` seconds are
merged (the gap frames join the event), then events shorter than ``min_length`` seconds are
dropped. ``end_frame`` is the event's last frame (inclusive), ``end_s = (end_frame + 1) / fps``
the time it ends, so an event of ``n`` frames lasts ``n / fps`` seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.evaluate.thresholds import threshold_at_far as _threshold_at_far

__all__ = ["Event", "find_events", "threshold_at_far"]


@dataclass(frozen=True)
class Event:
    """One anomalous interval of a video (frames inclusive; seconds from the video start)."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    peak_score: float
    peak_frame: int
    peak_s: float
    class_name: str | None = None

    @property
    def n_frames(self) -> int:
        return self.end_frame - self.start_frame + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def threshold_at_far(normal_frame_scores: Sequence[float] | np.ndarray, rate: float) -> float:
    """The threshold at which a share ``rate`` of normal frames (at most) is anomalous.

    The ``1 - rate`` quantile (``method="higher"``) of the scores of normal video frames:
    with the strict ``score > threshold`` rule at most ``rate`` of them are false alarms.
    """
    return _threshold_at_far(normal_frame_scores, rate)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end_inclusive), ...]`` of the True runs of a 1-D bool array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def find_events(
    frame_scores: Sequence[float] | np.ndarray,
    threshold: float,
    *,
    fps: float,
    min_length: float = 0.0,
    merge_gap: float = 0.0,
    classes: Sequence[Any] | np.ndarray | None = None,
) -> list[Event]:
    """The anomalous events of one video's per-frame scores.

    Parameters
    ----------
    frame_scores : ``(N,)`` per-frame scores (higher = more anomalous).
    threshold : frames scoring strictly above it are anomalous.
    fps : frames per second of the video (for the times).
    min_length : events shorter than this many seconds (after merging) are dropped.
    merge_gap : runs separated by at most this many seconds of normal frames are merged.
    classes : ``(N,)`` per-frame class names (methods with classes); an event's class is the
        most frequent one over its frames (ties: the class at its peak).

    Returns
    -------
    list[Event] in time order.
    """
    s = np.asarray(frame_scores, np.float64).reshape(-1)
    if not np.isfinite(s).all():
        raise VadkitError("find_events: frame scores hold NaN or Inf")
    if not (fps and fps > 0):
        raise VadkitError(f"find_events: fps must be > 0, got {fps}")
    if min_length < 0 or merge_gap < 0:
        raise VadkitError("find_events: min_length and merge_gap must be >= 0 seconds")
    if classes is not None and len(classes) != len(s):
        raise VadkitError(f"find_events: {len(classes)} classes for {len(s)} frame scores")
    runs = _runs(s > threshold)
    merged: list[list[int]] = []
    for a, b in runs:
        # gap of (a - previous end - 1) normal frames, i.e. that many / fps seconds
        if merged and (a - merged[-1][1] - 1) / fps <= merge_gap + 1e-9:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    events = []
    for a, b in merged:
        if (b - a + 1) / fps < min_length - 1e-9:
            continue
        peak = a + int(np.argmax(s[a : b + 1]))
        name = None
        if classes is not None:
            counts = Counter(str(c) for c in classes[a : b + 1]).most_common()
            top = [c for c, n in counts if n == counts[0][1]]
            name = str(classes[peak]) if str(classes[peak]) in top else top[0]
        events.append(Event(a, b, a / fps, (b + 1) / fps, float(s[peak]), peak, peak / fps, name))
    return events
