"""UCF-Crime temporal annotations (Sultani et al., CVPR 2018)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.groundtruth import (
    NORMAL,
    GroundTruth,
    parse_int,
    read_lines,
)
from vadkit.errors import VadkitError
from vadkit.io.names import video_id_from_path

__all__ = [
    "UCFRow",
    "read_ucf_annotation_file",
    "read_ucf_crime",
    "read_ucf_crime_matlab",
    "read_ucf_frame_counts",
]


@dataclass(frozen=True)
class UCFRow:
    """One line of a UCF-Crime annotation file, whichever of the three layouts it is in.

    Attributes
    ----------
    video_id : the name without folder and ``.mp4``
    cls : the class (``"Normal"`` for normal videos, whatever the file calls them)
    n_frames : the frame count (``Test_Annotation.txt``, ``Train_Annotation.txt``), else None
    intervals : 1-based inclusive ``[start, end]`` pairs, ``-1 -1`` left out
    where : ``file:line`` of the row, for messages
    """

    video_id: str
    cls: str
    n_frames: int | None
    intervals: tuple[tuple[int, int], ...]
    where: str = field(default="", compare=False)


def _ucf_row(text: str, path: str | Path, lineno: int) -> UCFRow:
    where = f"{path}:{lineno}"
    parts = text.split()
    if len(parts) < 2:
        raise VadkitError(
            f"{where}: expected '<video>.mp4 <Class> <s1> <e1> ...' or "
            f"'<Class>/<video>.mp4 <n_frames> ...', got {text[:80]!r}"
        )
    vid = video_id_from_path(parts[0])
    n_frames: int | None = None
    if parts[1].lstrip("-").isdigit():  # <Class>/<video>.mp4 <n_frames> [<Class> s e s e]
        n_frames = parse_int(parts[1], path, lineno, "the frame count (2nd column)")
        if n_frames <= 0:
            raise VadkitError(f"{where}: video {vid!r} has {n_frames} frames")
        folder = parts[0].replace("\\", "/").rsplit("/", 1)[0] if "/" in parts[0] else ""
        cls, nums = (parts[2], parts[3:]) if len(parts) > 2 else (folder, [])
    else:  # <video>.mp4 <Class> s e [s e]
        cls, nums = parts[1], parts[2:]
    if len(nums) % 2:
        raise VadkitError(
            f"{where}: expected '<video>.mp4 <Class> <start1> <end1> [<start2> <end2>]' "
            f"(frame numbers in pairs), got {text[:80]!r}"
        )
    values = [parse_int(t, path, lineno, "a frame number") for t in nums]
    pairs = []
    for s, e in zip(values[::2], values[1::2], strict=True):
        if (s == -1) != (e == -1):
            raise VadkitError(f"{where}: video {vid!r} has a half interval ({s}, {e})")
        if s != -1:
            pairs.append((s, e))
    if "Normal" in cls:  # Normal, Training_Normal_Videos_Anomaly, Testing_Normal_...
        cls = NORMAL
    return UCFRow(vid, cls, n_frames, tuple(pairs), where)


def read_ucf_annotation_file(path: str | Path) -> dict[str, UCFRow]:
    """Every row of a UCF-Crime annotation file: the one reader of the three layouts.

    Layouts (fields separated by one or more spaces; ``-1 -1`` = no interval)::

        Temporal_Anomaly_Annotation.txt   Arson011_x264.mp4  Arson  150  420  680  1267
        Test_Annotation.txt               Arson/Arson011_x264.mp4 1266 Arson 150 420 680 1267
        Train_Annotation.txt              Training_Normal_Videos_Anomaly/Normal_Videos826_x264.mp4 1657

    Returns ``{video id: UCFRow}`` in file order; a video listed twice is an error.
    """
    rows: dict[str, UCFRow] = {}
    for lineno, text in read_lines(path):
        row = _ucf_row(text, path, lineno)
        if row.video_id in rows:
            raise VadkitError(f"{path}:{lineno}: video {row.video_id!r} is listed twice")
        rows[row.video_id] = row
    return rows


def read_ucf_frame_counts(frame_counts_file: str | Path) -> dict[str, int]:
    """Per-video frame counts from ``Test_Annotation.txt`` / ``Train_Annotation.txt``.

    Layout (one space between fields, any columns after the 2nd are ignored)::

        Arson/Arson022_x264.mp4 8640 Arson 3500 4000 -1 -1
        Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4 1234

    Returns ``{video id (no folder, no .mp4): n_frames}``.
    """
    counts: dict[str, int] = {}
    for vid, row in read_ucf_annotation_file(frame_counts_file).items():
        if row.n_frames is None:
            raise VadkitError(
                f"{row.where}: expected '<Class>/<video>.mp4 <n_frames> ...' "
                f"(Test_Annotation.txt), got {row.cls!r} as the frame count (2nd column)"
            )
        counts[vid] = row.n_frames
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
    for vid, row in read_ucf_annotation_file(annotation_file).items():
        where = row.where
        if (row.cls == NORMAL) == bool(row.intervals):
            what = "has intervals" if row.intervals else "has no interval"
            raise VadkitError(f"{where}: video {vid!r} of class {row.cls!r} {what}")
        n = _frame_count(counts, vid, where, frame_counts_file)
        labels[vid] = _ucf_labels(vid, list(row.intervals), n, where)
        classes[vid] = row.cls
    return GroundTruth("ucf-crime", labels=labels, classes=classes, source=str(annotation_file))


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
        vid = video_id_from_path(name)
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
    return GroundTruth("ucf-crime", labels=labels, classes=classes, source=str(mat_dir))
