"""ShanghaiTech Campus frame masks and the weakly supervised split (Zhong et al., CVPR 2019)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.groundtruth import ANOMALY, NORMAL, GroundTruth, read_lines
from vadkit.errors import VadkitError


def read_split_ids(split_file: str | Path) -> list[str]:
    """Video ids of a split file, one per line (``SH_Test.txt``; no final newline needed)."""
    ids: list[str] = []
    seen: set[str] = set()
    for lineno, line in read_lines(split_file):
        if len(line.split()) != 1:
            raise VadkitError(f"{split_file}:{lineno}: expected one video id, got {line!r}")
        if line in seen:
            raise VadkitError(f"{split_file}:{lineno}: video {line!r} is listed twice")
        seen.add(line)
        ids.append(line)
    return ids


def _load_mask(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read frame mask {path}: {exc}") from exc
    if arr.ndim != 1 or not np.isin(arr, (0, 1)).all():
        raise VadkitError(f"{path}: expected a 1-D 0/1 frame mask, got shape {arr.shape}")
    return arr.astype(np.uint8)


def read_shanghaitech(masks_dir: str | Path, split_file: str | Path | None = None) -> GroundTruth:
    """Read ShanghaiTech frame masks, optionally restricted to a split.

    Layout::

        test_frame_mask/
          01_0014.npy       (n_frames,) uint8 0/1, one per anomalous video (107)
          ...
        SH_Test.txt         one id per line: 01_0015, 01_001, ... (199)

    ``masks_dir`` is ``test_frame_mask/`` or the folder holding it. Without ``split_file``
    every mask is returned. With it, only the split's videos:
    those with a mask get their labels, the others are normal videos of unknown length
    (``normal_ids``; the feature store gives their length).
    """
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise VadkitError(f"ShanghaiTech mask folder not found: {masks_dir}")
    if (masks_dir / "test_frame_mask").is_dir():  # the dataset folder, as importers take it
        masks_dir = masks_dir / "test_frame_mask"
    masks = {p.stem: p for p in sorted(masks_dir.glob("*.npy"))}
    if not masks:
        raise VadkitError(f"no .npy frame masks in {masks_dir}")
    wanted = list(masks) if split_file is None else read_split_ids(split_file)
    labels: dict[str, np.ndarray] = {}
    classes: dict[str, str] = {}
    normal: set[str] = set()
    for vid in wanted:
        if vid in masks:
            labels[vid] = _load_mask(masks[vid])
            classes[vid] = ANOMALY if labels[vid].any() else NORMAL
        else:
            normal.add(vid)
            classes[vid] = NORMAL
    source = str(masks_dir) + ("" if split_file is None else f" + {split_file}")
    return GroundTruth(
        "shanghaitech", labels=labels, classes=classes, normal_ids=normal, source=source
    )


def read_shanghaitech_s3r_json(json_file: str | Path) -> GroundTruth:
    """Read S3R's ``shanghaitech_ground_truth.testing.json`` (labels padded to ``16 T``).

    Layout::

        {"01_0015": {"num_frames": 448, "labels": [0.0, 0.0, ..., 1.0, ...]}, ...}

    ``num_frames`` is 16 x the video's I3D snippet count, not its frame count: labels
    were edge-padded to it. The result has ``padded_to=16`` and no true ``n_frames``.
    """
    try:
        data = json.loads(Path(json_file).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise VadkitError(f"cannot read {json_file}: {exc}") from exc
    if not isinstance(data, dict):
        raise VadkitError(f"{json_file}: expected an object of video id -> entry")
    labels: dict[str, np.ndarray] = {}
    classes: dict[str, str] = {}
    for vid, entry in data.items():
        try:
            n = int(entry["num_frames"])
            lab = np.asarray(entry["labels"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise VadkitError(
                f"{json_file}: video {vid!r} needs 'num_frames' and numeric 'labels' ({exc})"
            ) from exc
        if lab.ndim != 1 or lab.size != n or n % 16:
            raise VadkitError(
                f"{json_file}: video {vid!r} has {lab.size} labels, num_frames={n}; "
                "expected equal and a multiple of 16"
            )
        if not np.isin(lab, (0.0, 1.0)).all():
            raise VadkitError(f"{json_file}: video {vid!r} has labels other than 0/1")
        labels[vid] = lab.astype(np.uint8)
        classes[vid] = ANOMALY if labels[vid].any() else NORMAL
    return GroundTruth(
        "shanghaitech", labels=labels, classes=classes, padded_to=16, source=str(json_file)
    )
