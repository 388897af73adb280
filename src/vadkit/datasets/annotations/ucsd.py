"""UCSD Ped1/Ped2 frame-level ground truth and pixel masks (Mahadevan et al., CVPR 2010)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.groundtruth import (
    ANOMALY,
    NORMAL,
    GroundTruth,
    Interval,
    intervals_to_labels,
    read_lines,
)
from vadkit.errors import VadkitError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_MASK_NAME = re.compile(r"(?:frame)?(\d+)")
_M_INDEX = re.compile(r"\{\s*(end\s*\+\s*1|\d+)\s*\}")
_M_LINE = re.compile(r"gt_frame[^=]*=\s*\[([^\]]*)\]\s*;?\s*(?:%.*)?$")
_M_RANGE = re.compile(r"(\d+)(?::(\d+))?")


def _read_mat(path: Path) -> list[list[Interval]]:
    from scipy.io import loadmat

    try:
        gt = loadmat(path)["gt"]
    except (OSError, ValueError, KeyError) as exc:
        raise VadkitError(f"{path}: expected a MATLAB file with key 'gt' ({exc})") from exc
    out = []
    for k, elem in enumerate(np.asarray(gt, dtype=object).reshape(-1), 1):
        arr = np.asarray(elem).astype(np.int64)
        if arr.ndim != 2 or arr.shape[0] != 2:
            raise VadkitError(
                f"{path}: gt{{{k}}} must be a 2 x N [start; end] array, got shape {arr.shape}"
            )
        out.append([(int(s), int(e)) for s, e in arr.T])
    return out


def _read_m(path: Path) -> list[list[Interval]]:
    found: dict[int, list[Interval]] = {}
    for lineno, line in read_lines(path):
        if line.startswith("%") or "gt_frame" not in line:
            continue
        m, idx = _M_LINE.search(line), _M_INDEX.search(line)
        body = re.sub(r"\s*:\s*", ":", m.group(1).strip()) if m else ""
        ranges = [_M_RANGE.fullmatch(t) for t in re.split(r"[,\s]+", body) if t]
        if not m or not idx or not all(ranges):
            raise VadkitError(
                f"{path}:{lineno}: expected 'TestVideoFile{{k}}.gt_frame = [a:b, c:d];', got {line!r}"
            )
        k = len(found) + 1 if idx.group(1).replace(" ", "") == "end+1" else int(idx.group(1))
        if k in found:
            raise VadkitError(f"{path}:{lineno}: video {k} is given twice")
        found[k] = [(int(r.group(1)), int(r.group(2) or r.group(1))) for r in ranges if r]
    if not found:
        raise VadkitError(f"{path}: no 'gt_frame = [a:b];' lines")
    if sorted(found) != list(range(1, len(found) + 1)):
        raise VadkitError(f"{path}: videos {sorted(found)} are not numbered 1..{len(found)}")
    return [found[k] for k in range(1, len(found) + 1)]


def _mask_files(folder: Path) -> list[Path]:
    indexed: dict[int, Path] = {}
    for p in folder.iterdir():
        m = _MASK_NAME.fullmatch(p.stem)
        if p.suffix.lower() in IMAGE_EXTS and m:
            k = int(m.group(1))
            if k in indexed:
                raise VadkitError(f"{folder}: two masks for frame {k}: {indexed[k].name}, {p.name}")
            indexed[k] = p
    if not indexed:
        raise VadkitError(f"no mask images (NNN.png / frameNNN.bmp) in {folder}")
    if sorted(indexed) != list(range(1, len(indexed) + 1)):
        raise VadkitError(
            f"{folder}: mask numbers must run 1..{len(indexed)} without gaps, "
            f"got {min(indexed)}..{max(indexed)}"
        )
    return [indexed[k] for k in range(1, len(indexed) + 1)]


class UCSDMaskLoader:
    """``video id -> (n_frames, H, W)`` bool masks; mask file ``K`` (1-based) is frame ``K-1``."""

    def __init__(self, folders: Mapping[str, Path]) -> None:
        self.folders = dict(folders)

    def count(self, video_id: str) -> int:
        return len(_mask_files(self._folder(video_id)))

    def _folder(self, video_id: str) -> Path:
        if video_id not in self.folders:
            raise VadkitError(f"no pixel masks for video {video_id!r}")
        return self.folders[video_id]

    def __call__(self, video_id: str) -> np.ndarray:
        from PIL import Image

        frames = []
        for p in _mask_files(self._folder(video_id)):
            try:
                with Image.open(p) as im:
                    frames.append(np.asarray(im.convert("L")) > 0)
            except OSError as exc:
                raise VadkitError(f"cannot read mask {p}: {exc}") from exc
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise VadkitError(f"masks of video {video_id!r} differ in size: {sorted(shapes)}")
        return np.stack(frames)


def _video_folder(root: Path, k: int, kind: str) -> Path:
    names = [f"{k:02d}", f"Test{k:03d}", f"{k:03d}"] if kind == "frames" else [f"Test{k:03d}_gt"]
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise VadkitError(f"{kind} folder of test video {k} not found in {root} (tried {names})")


def read_ucsd_ped2(
    mat_or_m_file: str | Path,
    n_frames: Sequence[int] | Mapping[str, int] | None = None,
    masks_dir: str | Path | None = None,
    frames_root: str | Path | None = None,
    id_style: str = "index",
    dataset: str = "ped2",
) -> GroundTruth:
    """Read UCSD frame-level ground truth (``ped2.mat`` or the dataset's ``UCSDped2.m``).

    Layout::

        ped2.mat                      key 'gt': (1, K) object array of 2 x N [start; end]
        UCSDped2.m                    TestVideoFile{end+1}.gt_frame = [61:180];
                                      (or gt_frame{k} = [a:b, c:d]; several ranges allowed)
        frames_root/01/000.jpg ...    frames of Test001 (or Test001/, 001/)
        masks_dir/Test001_gt/001.png  pixel mask of frame 0 (also frame001.bmp, ...)

    Intervals are 1-based and inclusive. Video ``k`` gets id ``"01"`` (``id_style=
    "index"``, matching ``testing/frames/01``) or ``"Test001"`` (``id_style="Test001"``).
    Lengths come from ``n_frames`` (list in video order or dict by id), else from the
    mask counts, else from counting images in ``frames_root``; without any the videos
    are stored as intervals of unknown length.

    Returns
    -------
    GroundTruth
        ``labels[id]`` ``(n_frames,)`` when lengths are known, and a ``mask_loader``
        returning ``(n_frames, H, W)`` bool when ``masks_dir`` is given
        (``mask_root=``, its old name, still works with a DeprecationWarning).
    """
    path = Path(mat_or_m_file)
    if not path.is_file():
        raise VadkitError(f"UCSD ground-truth file not found: {path}")
    videos = _read_mat(path) if path.suffix.lower() == ".mat" else _read_m(path)
    if id_style not in ("index", "Test001"):
        raise VadkitError(f"id_style must be 'index' or 'Test001', got {id_style!r}")
    ids = [f"{k:02d}" if id_style == "index" else f"Test{k:03d}" for k in range(1, len(videos) + 1)]

    lengths: dict[str, int] = {}
    if n_frames is not None:
        if isinstance(n_frames, Mapping):
            lengths = {str(k): int(v) for k, v in n_frames.items()}
        elif len(n_frames) != len(ids):
            raise VadkitError(f"n_frames has {len(n_frames)} values, {path} has {len(ids)} videos")
        else:
            lengths = {vid: int(n) for vid, n in zip(ids, n_frames, strict=True)}
    loader = None
    if masks_dir is not None:
        root = Path(masks_dir)
        loader = UCSDMaskLoader(
            {vid: _video_folder(root, k, "masks") for k, vid in enumerate(ids, 1)}
        )
        _merge_lengths(lengths, {vid: loader.count(vid) for vid in ids}, "mask count")
    if frames_root is not None:
        root = Path(frames_root)
        counted = {}
        for k, vid in enumerate(ids, 1):
            folder = _video_folder(root, k, "frames")
            counted[vid] = sum(1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        _merge_lengths(lengths, counted, "frame count")

    labels: dict[str, np.ndarray] = {}
    intervals: dict[str, list[Interval]] = {}
    classes: dict[str, str] = {}
    normal: set[str] = set()
    for vid, pairs in zip(ids, videos, strict=True):
        n = lengths.get(vid)
        for s, e in pairs:
            if s < 1 or e < s or (n is not None and e > n):
                raise VadkitError(
                    f"{path}: video {vid!r} has interval [{s}, {e}], expected 1 <= start <= end"
                    + (f" <= {n} frames" if n is not None else "")
                )
        zero_based = [(s - 1, e) for s, e in pairs]
        if n is None and not pairs:
            normal.add(vid)
        elif n is None:
            intervals[vid] = zero_based
        else:
            labels[vid] = intervals_to_labels(zero_based, n)
        classes[vid] = ANOMALY if pairs else NORMAL
    return GroundTruth(
        dataset,
        labels=labels,
        intervals=intervals,
        normal_ids=normal,
        classes=classes,
        mask_loader=loader,
        source=str(path),
    )


def _merge_lengths(lengths: dict[str, int], found: dict[str, int], what: str) -> None:
    for vid, n in found.items():
        if vid in lengths and lengths[vid] != n:
            raise VadkitError(f"video {vid!r}: {what} is {n}, but its length is {lengths[vid]}")
        lengths.setdefault(vid, n)
