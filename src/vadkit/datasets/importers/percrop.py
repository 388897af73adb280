"""Wu et al. one-file-per-crop layout -> FeatureStore (crops stacked, so always a copy).

Layout (Roc-Ng/XDVioDet ``list/rgb.list``; VadCLIP ``list/*_CLIP_rgb*.csv``)::

    rgb_test.list                      one crop file per line, crops of a video consecutive
      /media/.../RGBTest/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6__0.npy
      ...                                                              __4.npy
    ucf_CLIP_rgb.csv                   same, as a CSV with header ``path,label``
      path,label
      /home/.../Abuse/Abuse001_x264__0.npy,Abuse
    RGBTest/                           or a folder scanned recursively for <video>__<k>.npy

    each <video>__<k>.npy: (T, D) float32 (D = 1024 for I3D RGB/flow, 512 for CLIP)
    -> store entry <video>: (T, crops, D), crops in index order

Every video must list the same crop indices (``0..n_crops-1`` when ``n_crops`` is given),
and its crops must agree in T and D. Labels come from a CSV ``label`` column when there is
one (``Normal``/``A`` = normal, anything else = anomalous with that class), else from the
names (XD-Violence ``_label_<code>``, UCF-Crime classes), never from positions.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadkit.datasets.importers.common import (
    Item,
    PathArg,
    apply_frame_counts,
    as_paths,
    crop_mode_for,
    find_file,
    npy_shape,
    read_lines,
    split_from_name,
    split_listed,
    write_store,
)
from vadkit.datasets.importers.labels import NORMAL, Labeller, detect_dataset
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo

_CROP = re.compile(r"^(?P<name>.+)__(?P<k>\d+)\.npy$")
_NORMAL_WORDS = {"normal", "a"}


@dataclass
class _Video:
    name: str
    where: str
    split: str
    listed: list[str] = field(default_factory=list)
    crops: list[int] = field(default_factory=list)
    wheres: list[str] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)
    from_list: bool = True


def _scan_order(path: Path) -> tuple[str, str, int]:
    m = _CROP.match(path.name)
    assert m is not None  # filtered before sorting
    return str(path.parent), m["name"], int(m["k"])


def _rows(source: Path) -> list[tuple[str, str, str | None, bool]]:
    """``(where, listed path, csv label or None, from a list)`` for every crop file."""
    if source.is_dir():
        files = sorted((p for p in source.rglob("*.npy") if _CROP.match(p.name)), key=_scan_order)
        if not files:
            raise VadkitError(f"{source}: no per-crop files <video>__<k>.npy found")
        return [(str(p), str(p), None, False) for p in files]
    lines = read_lines(source)
    if lines and lines[0][1].lower().startswith("path,"):
        rows = []
        for lineno, text in lines[1:]:
            cells = next(csv.reader([text]))
            label = cells[1].strip() if len(cells) > 1 else None
            rows.append((f"{source}:{lineno}", cells[0].strip(), label, True))
        return rows
    return [(f"{source}:{lineno}", text, None, True) for lineno, text in lines]


def _group(sources: list[Path], split: str | None) -> list[_Video]:
    videos: list[_Video] = []
    closed: dict[str, str] = {}
    for source in sources:
        video_split = split or split_from_name(source)
        current: _Video | None = None
        for where, listed, label, from_list in _rows(source):
            m = _CROP.match(split_listed(listed)[1])
            if not m:
                raise VadkitError(
                    f"{where}: {split_listed(listed)[1]!r} is not a per-crop file <video>__<k>.npy"
                )
            name = m["name"]
            if current is None or current.name != name:
                if name in closed:
                    raise VadkitError(
                        f"{where}: video {name!r} was already listed at {closed[name]}; "
                        "the crop files of a video must be consecutive and listed once"
                    )
                current = _Video(name, where, video_split, from_list=from_list)
                videos.append(current)
                closed[name] = where
            current.listed.append(listed)
            current.crops.append(int(m["k"]))
            current.wheres.append(where)
            if label is not None:
                current.labels.add(label)
    return videos


def _stack(video_id: str, files: list[Path]) -> np.ndarray:
    arrays = []
    for f in files:
        try:
            arr = np.load(f, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise VadkitError(f"video {video_id!r}: cannot read crop file {f}: {exc}") from exc
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise VadkitError(
                f"video {video_id!r}: crop file {f} has shape {arr.shape}, expected (T, D)"
            )
        if arrays and arr.shape != arrays[0].shape:
            raise VadkitError(
                f"video {video_id!r}: crop file {f} has shape {arr.shape} but {files[0].name} "
                f"has {arrays[0].shape}; all crops must have equal T and D"
            )
        arrays.append(arr)
    return np.stack(arrays, axis=1).astype(np.float32, copy=False)


def _label(video: _Video) -> tuple[int, str]:
    if len(video.labels) > 1:
        raise VadkitError(
            f"{video.where}: crops of video {video.name!r} have different labels {sorted(video.labels)}"
        )
    text = next(iter(video.labels))
    if not text:
        raise VadkitError(f"{video.where}: video {video.name!r} has an empty label")
    return (0, NORMAL) if text.lower() in _NORMAL_WORDS else (1, text)


def import_per_crop(
    list_file_or_dir: PathArg | Iterable[PathArg],
    out: PathArg,
    *,
    n_crops: int | None = None,
    root: PathArg | Iterable[PathArg] | None = None,
    dataset: str = "auto",
    masks_dir: PathArg | None = None,
    split: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    backbone: str = "unknown",
    snippet_length: int | None = 16,
    stride: int | None = 16,
    overwrite: bool = False,
) -> FeatureStore:
    """Import one-file-per-crop features (see the module docstring for the layout).

    Parameters
    ----------
    list_file_or_dir : list file(s) (``rgb.list`` style or ``path,label`` CSV) or folder(s)
        to scan; all go into one store in order.
    out : the store folder.
    n_crops : crops each video must have (indices ``0..n_crops-1``); default: whatever the
        first video has, and every other video must have the same indices.
    root : folder(s) where listed files really are (``root/<basename>`` then
        ``root/<last listed dir>/<basename>``); ignored for scanned folders.
    dataset, masks_dir : for labels from names when there is no CSV label column
        (as :func:`import_rtfm_list`).
    split : split of every video; default from the list or folder name (``test`` -> test).
    frame_counts : optional ``{video id: n_frames}``.
    backbone, snippet_length, stride : recorded in the store metadata.
    overwrite : replace the recipe of an existing store made differently.

    Returns
    -------
    FeatureStore whose entries are ``(T, crops, D)`` float32 copies.
    """
    sources = as_paths(list_file_or_dir)
    roots = as_paths(root)
    if not sources:
        raise VadkitError("no per-crop list or folder given")
    videos = _group(sources, split)
    if not videos:
        raise VadkitError(f"no per-crop files listed in {', '.join(map(str, sources))}")
    expected = list(range(n_crops)) if n_crops is not None else sorted(videos[0].crops)
    for v in videos:
        if sorted(v.crops) != expected or len(set(v.crops)) != len(v.crops):
            raise VadkitError(
                f"{v.where}: video {v.name!r} lists crops {v.crops}, expected {expected}"
            )
    items = [Item(v.name, v.where, split=v.split) for v in videos]
    if all(v.labels for v in videos):
        for item, v in zip(items, videos, strict=True):
            item.label, item.cls = _label(v)
        dataset_name = dataset if dataset != "auto" else detect_dataset(videos[0].name) or "unknown"
    else:
        labeller = Labeller(dataset, [v.name for v in videos], masks_dir)
        for item in items:
            item.label, item.cls = labeller(item.video_id)
        dataset_name = labeller.dataset
    for item, v in zip(items, videos, strict=True):
        order = sorted(range(len(v.crops)), key=v.crops.__getitem__)
        search = roots if v.from_list else []
        files = [find_file(v.listed[i], search, v.wheres[i]) for i in order]
        item.path = files[0]
        item.source = str(files[0].parent / f"{v.name}__*.npy")
        item.load = lambda vid=item.video_id, fs=files: _stack(vid, fs)
    apply_frame_counts(items, frame_counts)
    shape = npy_shape(items[0].path, items[0].video_id)
    if len(shape) != 2:
        raise VadkitError(
            f"video {items[0].video_id!r}: crop file {items[0].path} has shape {shape}, "
            "expected (T, D)"
        )
    info = StoreInfo(
        backbone=backbone,
        weights_sha256="unknown",
        dim=int(shape[1]),
        crops=len(expected),
        snippet_length=snippet_length,
        stride=stride,
        padding="unknown",
        crop_mode=crop_mode_for(len(expected)) if expected == list(range(len(expected))) else None,
        source="import:per-crop",
        dataset=None if dataset_name == "unknown" else dataset_name,
        extra={
            "inputs": [p.name for p in sources],
            "crop_indices": expected,
        },
    )
    return write_store(out, info, items, overwrite=overwrite)
