"""A folder of ``.npy`` features plus a CSV table -> FeatureStore.

Layout::

    features/
      cam1_001.npy            (T, D) or (T, crops, D), one per video
      cam1_002.npy
    videos.csv                header: id,label,class,split[,n_frames][,fps][,file]
      id,label,class,split,n_frames
      cam1_001,0,Normal,train,480
      cam1_002,abnormal,Fight,test,512
      cam1_003,,,test,          (label unknown -> None)

``id`` maps to ``<feature_dir>/<id>.npy`` unless a ``file`` column names the file (relative
to ``feature_dir`` or absolute). Labels: ``0``/``1`` or ``normal``/``abnormal``
(``anomalous``, ``anomaly``); empty -> unknown. Crops and D come from the first file; every
other file must match. ``(T, crops, D)`` float32 files are linked (or copied with
``copy=True``); ``(T, D)`` files are stored as ``(T, 1, D)`` copies.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from vadkit.datasets.importers.common import (
    Item,
    PathArg,
    check_unique,
    npy_shape,
    write_store,
)
from vadkit.errors import VadkitError
from vadkit.io.inputs import label_from_word
from vadkit.io.store import FeatureStore, StoreInfo

REQUIRED = ("id",)


def _cell(row: dict[str, str | None], key: str) -> str:
    return (row.get(key) or "").strip()


def _number(row: dict[str, str | None], key: str, where: str, kind: type) -> int | float | None:
    text = _cell(row, key)
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise VadkitError(f"{where}: {key} {text!r} is not a number") from None


def read_generic_csv(csv_file: PathArg, feature_dir: PathArg) -> list[Item]:
    """One :class:`Item` per CSV row, with its feature file checked to exist."""
    csv_file, feature_dir = Path(csv_file), Path(feature_dir)
    try:
        with open(csv_file, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except OSError as exc:
        raise VadkitError(f"cannot read {csv_file}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise VadkitError(f"{csv_file}:1: CSV lacks column(s) {missing}; header is {header}")
    items = []
    for lineno, row in enumerate(rows, 2):
        where = f"{csv_file}:{lineno}"
        vid = _cell(row, "id")
        if not vid:
            raise VadkitError(f"{where}: empty id")
        name = _cell(row, "file") or f"{vid}.npy"
        path = Path(name) if Path(name).is_absolute() else feature_dir / name
        if not path.is_file():
            raise VadkitError(f"{where}: feature file of video {vid!r} not found: {path}")
        n_frames = _number(row, "n_frames", where, int)
        fps = _number(row, "fps", where, float)
        items.append(
            Item(
                vid,
                where,
                path=path,
                source=str(path),
                label=label_from_word(_cell(row, "label"), where),
                cls=_cell(row, "class") or None,
                split=_cell(row, "split") or None,
                n_frames=None if n_frames is None else int(n_frames),
                fps=fps,
            )
        )
    return items


def import_generic(
    feature_dir: PathArg,
    csv_file: PathArg,
    out: PathArg,
    *,
    backbone: str = "unknown",
    snippet_length: int | None = 16,
    stride: int | None = 16,
    padding: str = "unknown",
    n_segments: int | None = None,
    copy: bool = False,
    overwrite: bool = False,
) -> FeatureStore:
    """Import a folder of ``.npy`` features described by a CSV (see the module docstring).

    Parameters
    ----------
    feature_dir : folder holding ``<id>.npy`` (or the CSV ``file`` paths).
    csv_file : table with columns ``id,label,class,split`` (optional ``n_frames``, ``fps``,
        ``file``; only ``id`` is required).
    out : the store folder.
    backbone, snippet_length, stride, padding, n_segments : how the features were made,
        recorded in the store metadata (the files cannot tell).
    copy : copy ``(T, crops, D)`` arrays instead of symlinking them.
    overwrite : replace the recipe of an existing store made differently.

    Returns
    -------
    FeatureStore with one ``(T, crops, D)`` entry per CSV row, in CSV order.
    """
    items = read_generic_csv(csv_file, feature_dir)
    if not items:
        raise VadkitError(f"{csv_file}: no videos listed")
    check_unique(items)
    shape = npy_shape(items[0].path, items[0].video_id)  # type: ignore[arg-type]
    if len(shape) not in (2, 3):
        raise VadkitError(
            f"video {items[0].video_id!r}: {items[0].path} has shape {shape}, "
            "expected (T, D) or (T, crops, D)"
        )
    crops, dim = (1, shape[1]) if len(shape) == 2 else (shape[1], shape[2])
    for item in items:
        if len(npy_shape(item.path, item.video_id)) == 2:  # type: ignore[arg-type]
            item.load = lambda p=item.path, vid=item.video_id: _as_3d(p, vid)
    info = StoreInfo(
        backbone=backbone,
        weights_sha256="unknown",
        dim=int(dim),
        crops=int(crops),
        snippet_length=snippet_length,
        stride=stride,
        padding=padding,
        n_segments=n_segments,
        source="import:generic",
        extra={"inputs": [Path(csv_file).name]},
    )
    return write_store(out, info, items, copy=copy, overwrite=overwrite)


def _as_3d(path: Path, video_id: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise VadkitError(f"video {video_id!r}: cannot read {path}: {exc}") from exc
    return arr[:, None, :] if arr.ndim == 2 else arr
