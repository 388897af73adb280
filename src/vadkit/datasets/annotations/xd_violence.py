"""XD-Violence temporal annotations (Wu et al., ECCV 2020).

Frame convention: ``annotations.txt`` pairs ``s e`` mean the 0-based frames ``[s, e)``
(end exclusive). That is how the reference ground-truth builders use them (XDVioDet
``list/make_gt.py`` and VadCLIP ``list/make_gt_xd.py`` both set ``gt[s:e] = 1``), at 24
fps, on a label vector cut to ``16 x`` the video's snippet count. The annotation does
not give video lengths, so anomalous videos are stored as intervals and sized later
(:func:`vadkit.datasets.align.align_labels` clips them to ``16 T``, as both builders do).
"""

from __future__ import annotations

import re
from pathlib import Path

from vadkit.datasets.annotations.groundtruth import (
    NORMAL,
    GroundTruth,
    Interval,
    parse_int,
    read_lines,
)
from vadkit.datasets.names import parse_xd_name, xd_video_id
from vadkit.errors import VadkitError

__all__ = ["read_xd_violence", "read_xd_violence_multiclass", "xd_name_classes", "xd_video_id"]

_CLASS = re.compile(r"[A-Z][A-Z0-9]*")


def xd_name_classes(video_id: str) -> list[str]:
    """Violence classes encoded in an XD-Violence name; ``[]`` for ``label_A`` (normal).

    >>> xd_name_classes("x__#1_label_B4-0-0"), xd_name_classes("y_label_A")
    (['B4'], [])
    """
    return list(parse_xd_name(video_id).classes)


def _list_ids(list_file: str | Path) -> list[str]:
    ids: list[str] = []
    for _, line in read_lines(list_file):
        vid = xd_video_id(line)
        if not ids or ids[-1] != vid:  # 5 crops per video are consecutive lines
            ids.append(vid)
    return ids


def _add_list(
    gt_intervals: dict[str, list[Interval]],
    classes: dict[str, str],
    list_file: str | Path | None,
    annotations_file: str | Path,
) -> set[str]:
    normal: set[str] = set()
    if list_file is None:
        return normal
    for vid in _list_ids(list_file):
        if parse_xd_name(vid).label == 0:
            normal.add(vid)
            classes[vid] = NORMAL
        elif vid not in gt_intervals:
            raise VadkitError(
                f"{list_file}: violent video {vid!r} has no line in {annotations_file}"
            )
    return normal


def _pairs(nums: list[int], where: str, vid: str) -> list[Interval]:
    pairs = list(zip(nums[::2], nums[1::2], strict=True))
    for s, e in pairs:
        if not 0 <= s < e:
            raise VadkitError(
                f"{where}: video {vid!r} has interval ({s}, {e}), expected 0 <= s < e"
            )
    return pairs


def read_xd_violence(
    annotations_file: str | Path, list_file: str | Path | None = None
) -> GroundTruth:
    """Read XD-Violence ``annotations.txt`` (violent test videos only).

    Layout (one line per violent video; some names end in ``.mp4``, which is dropped)::

        annotations.txt
          v=S-7rRLrxnVQ__#1_label_B4-0-0 0 1517 1970 3038
          <video> <s1> <e1> [<s2> <e2> ...]          0-based frames [s, e) at 24 fps
        rgb_test.list (optional)
          /any/path/<video>__0.npy ... <video>__4.npy

    With ``list_file`` (any XD list: rgb, flow or audio), its ``label_A`` videos are
    added as normal videos of unknown length; a violent listed video missing from the
    annotations is an error.

    Returns
    -------
    GroundTruth
        ``intervals[id]`` as 0-based ``(start, end_exclusive)`` pairs (lengths unknown),
        ``classes[id]`` the primary class of the name, its first code (``"B4"`` for
        ``label_B4-0-0``, ``"G"`` for ``label_G-B2-B6``; ``"Normal"`` for ``A``).
    """
    intervals: dict[str, list[Interval]] = {}
    classes: dict[str, str] = {}
    for lineno, line in read_lines(annotations_file):
        where = f"{annotations_file}:{lineno}"
        parts = line.split()
        if len(parts) < 3 or len(parts) % 2 == 0:
            raise VadkitError(
                f"{where}: expected '<video> <s1> <e1> [<s2> <e2> ...]', got {line!r}"
            )
        vid = xd_video_id(parts[0])
        if vid in intervals:
            raise VadkitError(f"{where}: video {vid!r} is annotated twice")
        nums = [parse_int(t, annotations_file, lineno, "a frame number") for t in parts[1:]]
        intervals[vid] = _pairs(nums, where, vid)
        # the primary (first) code of the name: per-class AUC counts each video once
        xd = parse_xd_name(vid)
        if not xd.label:
            raise VadkitError(f"{where}: video {vid!r} is normal (label_A) but has intervals")
        classes[vid] = xd.primary
    normal = _add_list(intervals, classes, list_file, annotations_file)
    return GroundTruth(
        "xd-violence",
        classes=classes,
        intervals=intervals,
        normal_ids=normal,
        source=str(annotations_file),
    )


def read_xd_violence_multiclass(
    annotations_file: str | Path, list_file: str | Path | None = None
) -> GroundTruth:
    """Read XD-Violence ``annotations_multiclasses.txt`` (a class per interval).

    Layout::

        v=S-7rRLrxnVQ__#1_label_B4-0-0 B4 0 1517 B4 1970 3038
        <video> (<class> <s> <e>)+                   0-based frames [s, e)

    Like :func:`read_xd_violence`, plus ``interval_classes[id]`` (one class per
    interval) and ``classes[id]`` = the video's interval classes in order of first
    appearance joined by ``-`` (e.g. ``"B2-G"``).
    """
    intervals: dict[str, list[Interval]] = {}
    iv_classes: dict[str, list[str]] = {}
    classes: dict[str, str] = {}
    for lineno, line in read_lines(annotations_file):
        where = f"{annotations_file}:{lineno}"
        parts = line.split()
        if len(parts) < 4 or (len(parts) - 1) % 3:
            raise VadkitError(f"{where}: expected '<video> (<class> <s> <e>)+', got {line!r}")
        vid = xd_video_id(parts[0])
        if vid in intervals:
            raise VadkitError(f"{where}: video {vid!r} is annotated twice")
        triples = [parts[i : i + 3] for i in range(1, len(parts), 3)]
        cls = [t[0] for t in triples]
        bad = [c for c in cls if not _CLASS.fullmatch(c)]
        if bad:
            raise VadkitError(
                f"{where}: video {vid!r}: {bad[0]!r} is not a class name (B1, G, ...)"
            )
        nums = [
            parse_int(x, annotations_file, lineno, "a frame number") for t in triples for x in t[1:]
        ]
        intervals[vid] = _pairs(nums, where, vid)
        iv_classes[vid] = cls
        classes[vid] = "-".join(dict.fromkeys(cls))
    normal = _add_list(intervals, classes, list_file, annotations_file)
    return GroundTruth(
        "xd-violence",
        classes=classes,
        intervals=intervals,
        interval_classes=iv_classes,
        normal_ids=normal,
        source=str(annotations_file),
    )
