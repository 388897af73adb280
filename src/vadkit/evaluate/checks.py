"""Input checks every metric shares: 1-D, equal length, finite, binary labels, two classes.

Public so that the frame-, pixel- and class-level metric modules check inputs one way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError

__all__ = ["binary_auc", "check_pair", "check_videos", "concat_checked", "need_two_classes"]


def check_pair(
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


def need_two_classes(y: np.ndarray, fn: str, what: str = "labels") -> None:
    if len(y) == 0:
        raise VadkitError(f"{fn}: {what} is empty; nothing to evaluate")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        cls = "anomalous (1)" if n_pos else "normal (0)"
        raise VadkitError(
            f"{fn}: {what} has only {cls} items ({len(y)}); the metric needs both classes"
        )


def check_videos(
    labels_by_video: Mapping[str, np.ndarray],
    scores_by_video: Mapping[str, np.ndarray],
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
        out[vid] = check_pair(
            labels_by_video[vid],
            scores_by_video[vid],
            fn,
            f"labels_by_video[{vid!r}]",
            f"scores_by_video[{vid!r}]",
        )
    return out


def concat_checked(
    checked: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    if not checked:
        return np.zeros(0, np.int8), np.zeros(0, np.float64)
    ys, ss = zip(*checked.values(), strict=True)
    return np.concatenate(ys), np.concatenate(ss)


def binary_auc(y: np.ndarray, s: np.ndarray, fn: str, what: str = "labels") -> float:
    need_two_classes(y, fn, what)
    return float(roc_auc_score(y, s))
