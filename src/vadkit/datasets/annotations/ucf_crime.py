"""UCF-Crime temporal annotations (Sultani et al., CVPR 2018)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.groundtruth import (
    NORMAL,
    GroundTruth,
    parse_int,
    read_lines,
    strip_video_name,
)
from vadkit.errors import VadkitError


def read_ucf_frame_counts(frame_counts_file: str | Path) -> dict[str, int]:
    """Per-video frame counts from ``Test_Annotation.txt`` / ``Train_Annotation.txt``.

    Layout (one space between fields, any columns after the 2nd are ignored)::

        Arson/Arson022_x264.mp4 8640 Arson 3500 4000 -1 -1
        Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4 1234

    Returns ``{video id (no folder, no .mp4): n_frames}``.
    """
    counts: dict[str, int] = {}
    for lineno, line in read_lines(frame_counts_file):
        parts = line.split()
        if len(parts) < 2:
            raise VadkitError(
                f"{frame_counts_file}:{lineno}: expected '<Class>/<video>.mp4 <n_frames> ...', "
                f"got {line!r}"
            )
        vid = strip_video_name(parts[0])
        n = parse_int(parts[1], frame_counts_file, lineno, "the frame count (2nd column)")
        if n <= 0:
            raise VadkitError(f"{frame_counts_file}:{lineno}: video {vid!r} has {n} frames")
        if vid in counts and counts[vid] != n:
            raise VadkitError(
                f"{frame_counts_file}:{lineno}: video {vid!r} listed twice ({counts[vid]} and {n})"
            )
        counts[vid] = n
    return counts


def _ucf_labels(vid: str, pairs: list[tuple[int, int]], n: int, where: str) -> np.ndarray:
    # 1-based inclusive intervals; a few published end frames lie 1-2 frames past the
    # video's end, which the official MATLAB evaluation clips, so we clip too.
    lab = np.zeros(n, dtype=np.uint8)
    for s, e in pairs:
        if s < 1 or e < s:
            raise VadkitError(
                f"{where}: video {vid!r} has interval [{s}, {e}], expected 1 <= start <= end"
            )
        if s > n:
            raise VadkitError(
                f"{where}: video {vid!r} interval [{s}, {e}] starts after its last frame ({n})"
            )
        lab[s - 1 : min(e, n)] = 1
    return lab


def _frame_count(counts: dict[str, int], vid: str, where: str, counts_file: str | Path) -> int:
    if vid not in counts:
        raise VadkitError(f"{where}: video {vid!r} has no frame count in {counts_file}")
    return counts[vid]


def read_ucf_crime(annotation_file: str | Path, frame_counts_file: str | Path) -> GroundTruth:
    """Read ``Temporal_Anomaly_Annotation.txt`` with frame counts from ``Test_Annotation.txt``.

    Layout (fields separated by spaces; ``-1`` = no interval)::

        Temporal_Anomaly_Annotation.txt
          Arson011_x264.mp4  Arson  150  420  680  1267
          Normal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1
        Test_Annotation.txt            (see :func:`read_ucf_frame_counts`)
          Arson/Arson011_x264.mp4 1266 Arson 150 420 680 1267

    Intervals are 1-based and inclusive; ends past the frame count are clipped.

    Returns
    -------
    GroundTruth
        ``labels[id]`` of shape ``(n_frames,)`` for every annotated video (ids without
        ``.mp4``), ``classes[id]`` from the 2nd column.
    """
    counts = read_ucf_frame_counts(frame_counts_file)
    labels: dict[str, np.ndarray] = {}
    classes: dict[str, str] = {}
    for lineno, line in read_lines(annotation_file):
        where = f"{annotation_file}:{lineno}"
        parts = line.split()
        if len(parts) < 4 or len(parts) % 2:
            raise VadkitError(
                f"{where}: expected '<video>.mp4 <Class> <start1> <end1> [<start2> <end2>]', "
                f"got {line!r}"
            )
        vid, cls = strip_video_name(parts[0]), parts[1]
        nums = [parse_int(t, annotation_file, lineno, "a frame number") for t in parts[2:]]
        pairs = []
        for s, e in zip(nums[::2], nums[1::2], strict=True):
            if (s == -1) != (e == -1):
                raise VadkitError(f"{where}: video {vid!r} has a half interval ({s}, {e})")
            if s != -1:
                pairs.append((s, e))
        if vid in labels:
            raise VadkitError(f"{where}: video {vid!r} is annotated twice")
        if (cls == NORMAL) == bool(pairs):
            what = "has intervals" if pairs else "has no interval"
            raise VadkitError(f"{where}: video {vid!r} of class {cls!r} {what}")
        n = _frame_count(counts, vid, where, frame_counts_file)
        labels[vid] = _ucf_labels(vid, pairs, n, where)
        classes[vid] = cls
    return GroundTruth("ucf_crime", labels=labels, classes=classes, source=str(annotation_file))


def read_ucf_crime_matlab(mat_dir: str | Path, frame_counts_file: str | Path) -> GroundTruth:
    """Read RTFM's per-video ``Matlab_formate/*.mat`` UCF-Crime annotations.

    Layout::

        Matlab_formate/
          Arson011_x264.mat     struct Annotation_file:
                                  VideoName  'Arson011_x264.mp4'
                                  Anno       N x 2 [start, end], 1-based inclusive
                                             ([-1, -1] for normal videos; dtype varies)
                                  EventName  'Arson' / 'Normal'
          ...

    Frame counts come from ``Test_Annotation.txt`` as in :func:`read_ucf_crime`.
    """
    from scipy.io import loadmat

    mat_dir = Path(mat_dir)
    files = sorted(mat_dir.glob("*.mat"))
    if not files:
        raise VadkitError(f"no .mat annotation files in {mat_dir}")
    counts = read_ucf_frame_counts(frame_counts_file)
    labels: dict[str, np.ndarray] = {}
    classes: dict[str, str] = {}
    for path in files:
        try:
            data = loadmat(path, squeeze_me=True, struct_as_record=False)
            ann = data["Annotation_file"]
            name, anno, cls = str(ann.VideoName), ann.Anno, str(ann.EventName)
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise VadkitError(
                f"{path}: expected a struct Annotation_file with VideoName, Anno, EventName ({exc})"
            ) from exc
        vid = strip_video_name(name)
        if vid in labels:
            raise VadkitError(f"{path}: video {vid!r} is annotated in two .mat files")
        # Anno is uint8, uint16 or int16 depending on the file: widen before comparing.
        arr = np.asarray(anno).astype(np.int64).reshape(-1)
        if arr.size == 0 or arr.size % 2:
            raise VadkitError(f"{path}: Anno of video {vid!r} must be N x 2, got {arr.size} values")
        pairs = [(int(s), int(e)) for s, e in arr.reshape(-1, 2) if not (s == -1 and e == -1)]
        if (cls == NORMAL) == bool(pairs):
            what = "has intervals" if pairs else "has no interval"
            raise VadkitError(f"{path}: video {vid!r} of class {cls!r} {what}")
        where = str(path)
        n = _frame_count(counts, vid, where, frame_counts_file)
        labels[vid] = _ucf_labels(vid, pairs, n, where)
        classes[vid] = cls
    return GroundTruth("ucf_crime", labels=labels, classes=classes, source=str(mat_dir))
