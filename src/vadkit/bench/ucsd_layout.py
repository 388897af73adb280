"""Find the videos, frame ground truth and pixel masks of a dataset in the UCSD layout."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.ucsd import UCSDMaskLoader, read_ucsd_ped2
from vadkit.errors import VadkitError
from vadkit.io.video import list_frame_files, natural_sort_key

__all__ = ["UCSDLayout", "find_ucsd_layout"]


@dataclass
class UCSDLayout:
    """Videos of a UCSD-layout dataset (ids are the frame-folder names).

    ``labels`` holds the per-frame ground truth of the test videos that have frames;
    ``gt_without_frames`` the ground-truth entries (1-based) whose frame folder is absent.
    """

    root: Path
    train: dict[str, Path]
    test: dict[str, Path]
    gt_file: Path
    labels: dict[str, np.ndarray]
    n_frames: dict[str, int]
    gt_without_frames: list[int] = field(default_factory=list)
    test_without_gt: list[str] = field(default_factory=list)
    masks: UCSDMaskLoader | None = None

    @property
    def mask_ids(self) -> list[str]:
        return [] if self.masks is None else list(self.masks.folders)


def _video_dirs(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    dirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    dirs = [p for p in dirs if not p.name.endswith("_gt")]
    dirs.sort(key=lambda p: natural_sort_key(p.name))
    return {p.name: p for p in dirs if list_frame_files(p)}


def _gt_file(root: Path) -> Path:
    found = []
    for d in (root, root / "testing"):
        if d.is_dir():
            found += sorted(p for p in d.iterdir() if p.suffix.lower() in (".mat", ".m"))
    if not found:
        raise VadkitError(
            f"no frame ground truth (*.mat or *.m) in {root} or {root / 'testing'}; "
            "put the dataset's UCSDpedN.m (or a ped2.mat-style file) there"
        )
    found.sort(key=lambda p: (p.suffix.lower() != ".mat", p.name))  # .mat first, as ped2.mat
    return found[0]


def _index_of(name: str) -> int | None:
    m = re.fullmatch(r"(?:Test)?0*(\d+)", name)
    return int(m.group(1)) if m else None


def find_ucsd_layout(root: str | Path, gt_file: str | Path | None = None) -> UCSDLayout:
    """Read a dataset laid out as UCSD Ped1/Ped2::

        root/training/frames/01/000.jpg ...   normal training videos (any names)
        root/testing/frames/01/000.jpg ...    test videos: 01, Test001 or 001 is entry 1
        root/ped2.mat | root/UCSDped2.m       frame ground truth (also under testing/)
        root/testing/masks/Test001_gt/001.png optional pixel masks (or testing/Test001_gt)

    Nothing depends on the number, size or names of the videos. Ground-truth entries
    without a frame folder are counted in ``gt_without_frames``; test folders without a
    ground-truth entry are listed in ``test_without_gt`` and not evaluated.
    """
    root = Path(root)
    if not root.is_dir():
        raise VadkitError(f"dataset folder {root} does not exist")
    train = _video_dirs(root / "training" / "frames")
    test_all = _video_dirs(root / "testing" / "frames")
    if not train or not test_all:
        raise VadkitError(
            f"{root}: expected frame folders in training/frames/NN/ and testing/frames/NN/ "
            f"(found {len(train)} training and {len(test_all)} test videos)"
        )
    gt_path = Path(gt_file) if gt_file is not None else _gt_file(root)
    gt = read_ucsd_ped2(gt_path, id_style="index")
    n_gt = len(gt.ids)
    test: dict[str, Path] = {}
    labels: dict[str, np.ndarray] = {}
    n_frames: dict[str, int] = {}
    without_gt: list[str] = []
    present: set[int] = set()
    for name, folder in test_all.items():
        k = _index_of(name)
        if k is None or not 1 <= k <= n_gt:
            without_gt.append(name)
            continue
        n = len(list_frame_files(folder))
        test[name], n_frames[name] = folder, n
        labels[name] = np.asarray(gt.labels_for(f"{k:02d}", n), np.int8)
        present.add(k)
    if not test:
        raise VadkitError(f"{gt_path}: none of its {n_gt} entries has a folder in testing/frames")
    for name, folder in train.items():
        n_frames.setdefault(name, len(list_frame_files(folder)))
    mask_dirs: dict[str, Path] = {}
    for name in test:
        k = _index_of(name)
        for d in (root / "testing" / "masks", root / "testing"):
            if (d / f"Test{k:03d}_gt").is_dir():
                mask_dirs[name] = d / f"Test{k:03d}_gt"
                break
    loader = UCSDMaskLoader(mask_dirs) if mask_dirs else None
    for name in mask_dirs:
        if loader.count(name) != n_frames[name]:
            raise VadkitError(
                f"{mask_dirs[name]}: {loader.count(name)} masks for {n_frames[name]} frames"
            )
    return UCSDLayout(
        root=root,
        train=train,
        test=test,
        gt_file=gt_path,
        labels=labels,
        n_frames=n_frames,
        gt_without_frames=[k for k in range(1, n_gt + 1) if k not in present],
        test_without_gt=without_gt,
        masks=loader,
    )
