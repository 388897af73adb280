"""Shared pieces of the importers: list reading, path remapping, frame counts, store writing.

Every importer first builds a plan (one :class:`Item` per video: id, where it was listed,
the feature file or a loader, labels), checks it whole, and only then writes, so a bad
line fails before anything lands in the store.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.ucf_crime import read_ucf_frame_counts
from vadkit.datasets.text import read_lines as _read_lines
from vadkit.errors import VadkitError
from vadkit.io.names import video_id_from_path
from vadkit.io.store import FeatureStore, StoreImport, StoreInfo, load_npy

PathArg = str | os.PathLike


@dataclass
class Item:
    """One video to import: either an existing ``(T, crops, D)`` file or a loader."""

    video_id: str
    where: str
    path: Path | None = None
    load: Callable[[], np.ndarray] | None = None
    label: int | None = None
    cls: str | None = None
    split: str | None = None
    n_frames: int | None = None
    fps: float | None = None
    source: str | None = None


def as_paths(value: PathArg | Iterable[PathArg] | None) -> list[Path]:
    """``None`` -> ``[]``, one path -> ``[path]``, several -> list of paths."""
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    return [Path(v) for v in value]


def read_lines(path: PathArg) -> list[tuple[int, str]]:
    """Non-blank lines of a list file as ``(1-based line number, stripped text)``."""
    return _read_lines(path, "list file")


def split_listed(text: str) -> tuple[str, str]:
    """``(last directory, basename)`` of a listed path, Windows (``\\``) or POSIX (``/``)."""
    parts = [p for p in re.split(r"[\\/]+", text.strip()) if p]
    if not parts:
        return "", ""
    return (parts[-2] if len(parts) > 1 else ""), parts[-1]


def video_id_from_name(name: str) -> str:
    """Basename of ``name`` without its video/feature extension (``Class/x.mp4`` -> ``x``)."""
    return video_id_from_path(name)  # the one rule: vadkit.io.names


def split_from_name(path: PathArg) -> str:
    """``"test"`` when the file or folder name says test (``ucf-i3d-test.list``), else ``"train"``."""
    return "test" if "test" in Path(path).name.lower() else "train"


def find_file(
    listed: str,
    roots: list[Path],
    where: str,
    *,
    base_dir: Path | None = None,
    subdirs: Iterable[str] = (),
) -> Path:
    """Where the file a list names really is.

    With ``roots``, each root is tried as ``root/<basename>``, ``root/<subdir>/<basename>``
    and ``root/<last listed dir>/<basename>``; without, the listed path itself (a relative
    one also relative to ``base_dir``). A miss is an error naming ``where`` and every path tried.
    """
    last, base = split_listed(listed)
    windows = "\\" in listed or bool(re.match(r"^[A-Za-z]:[\\/]", listed))
    candidates: list[Path] = []
    if roots:
        for root in roots:
            candidates.append(root / base)
            candidates += [root / d / base for d in subdirs]
            if last:
                candidates.append(root / last / base)
    else:
        candidates.append(Path(listed))
        if base_dir is not None and not Path(listed).is_absolute() and not windows:
            candidates.append(base_dir / listed)
    for cand in dict.fromkeys(candidates):
        if cand.is_file():
            return cand
    hint = ""
    if not roots:
        hint = "; the list has Windows paths" if windows else ""
        hint += "; pass --root DIR where the files really are"
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise VadkitError(f"{where}: feature file not found: tried {tried}{hint}")


def crop_mode_for(crops: int) -> str | None:
    """The extractor's crop-mode name for a published n-crop layout (``ten``/``five``)."""
    return {10: "ten", 5: "five"}.get(crops)


def npy_shape(path: Path, video_id: str) -> tuple[int, ...]:
    """Shape of a ``.npy`` file from its header (memory-mapped, nothing read)."""
    return tuple(load_npy(path, f"video {video_id!r}").shape)


def read_frame_counts(path: PathArg) -> dict[str, int]:
    """Per-video frame counts from a file: ``{video id: n_frames}``.

    Accepted formats:

    - UCF ``Train_Annotation.txt`` / ``Test_Annotation.txt``: ``<Class>/<video>.mp4 <n> ...``
      (whitespace separated, count in the second field);
    - a CSV whose header has an id column (``id``, ``video``, ``video-id``, ``name``) and a
      count column (``n_frames``, ``num_frames``, ``frames`` or ``n_frames_*``), e.g. the
      ``videos.csv`` next to the Sultani C3D samples;
    - a JSON object ``{video id: n_frames}``.

    Ids are basenames without extension (``Arson/Arson022_x264.mp4`` -> ``Arson022_x264``).
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise VadkitError(f"cannot read frame counts file {path}: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
            raise VadkitError(f"{path}: expected a JSON object {{video id: n_frames}}")
        return {video_id_from_name(k): int(v) for k, v in data.items()}
    lines = _read_lines(path, "frame counts file")
    if lines and "," in lines[0][1]:
        return _frame_counts_csv(path)
    return read_ucf_frame_counts(path)  # the one UCF annotation reader


def _frame_counts_csv(path: Path) -> dict[str, int]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0]) if rows else []
    id_col = next((c for c in ("id", "video", "video-id", "video_id", "name") if c in header), None)
    n_col = next(
        (
            c
            for c in header
            if c in ("n_frames", "num_frames", "frames") or c.startswith("n_frames")
        ),
        None,
    )
    if id_col is None or n_col is None:
        raise VadkitError(
            f"{path}: a frame-count CSV needs an id column (id/video/name) and an n_frames "
            f"column; header is {header}"
        )
    counts: dict[str, int] = {}
    for lineno, row in enumerate(rows, 2):
        value = (row.get(n_col) or "").strip()
        if not value.isdigit():
            raise VadkitError(f"{path}:{lineno}: {n_col} {value!r} is not a frame count")
        counts[video_id_from_name(row[id_col])] = int(value)
    return counts


def merge_frame_counts(paths: Iterable[PathArg]) -> dict[str, int] | None:
    """Frame counts of several files merged (``None`` when no file is given)."""
    merged: dict[str, int] | None = None
    for p in paths:
        merged = {**(merged or {}), **read_frame_counts(p)}
    return merged


def apply_frame_counts(items: list[Item], frame_counts: Mapping[str, int] | None) -> None:
    """Set ``n_frames`` of each item found in ``frame_counts`` (others keep ``None``).

    A mapping that matches none of the videos is an error: the ids are spelled differently.
    """
    if not frame_counts:
        return
    hits = 0
    for item in items:
        n = frame_counts.get(item.video_id)
        if n is not None:
            item.n_frames = int(n)
            hits += 1
    if items and hits == 0:
        example = next(iter(frame_counts))
        raise VadkitError(
            f"frame counts match none of the {len(items)} videos (e.g. {items[0].video_id!r} "
            f"vs {example!r} in the counts)"
        )


def check_unique(items: list[Item]) -> None:
    """Each video id once; a repeat names both places."""
    seen: dict[str, str] = {}
    for item in items:
        if item.video_id in seen:
            raise VadkitError(
                f"video {item.video_id!r} is listed twice: {seen[item.video_id]} and {item.where}"
            )
        seen[item.video_id] = item.where


def write_store(
    out: PathArg,
    info: StoreInfo,
    items: list[Item],
    *,
    copy: bool = False,
    overwrite: bool = False,
) -> FeatureStore:
    """Check every planned video, then add them all to the store (or none).

    An id the store already holds is an error naming it unless ``overwrite`` (then it is
    replaced); each video is checked for shape, NaN/Inf and ``T`` against ``n_frames``
    before anything lands (:class:`vadkit.io.store_writer.StoreImport`). The manifest lists
    the videos in plan order, after those the store already had.
    """
    if not items:
        raise VadkitError("nothing to import: no videos found")
    check_unique(items)
    with StoreImport(out, info, [it.video_id for it in items], overwrite=overwrite) as imp:
        for item in items:
            meta = dict(
                label=item.label,
                cls=item.cls,
                split=item.split,
                n_frames=item.n_frames,
                fps=item.fps,
                source=item.source if item.source is not None else str(item.path),
            )
            if item.load is not None:
                imp.add(item.video_id, item.load(), where=item.where, **meta)
            elif item.path is not None:
                imp.add_link(item.video_id, item.path, copy=copy, where=item.where, **meta)
            else:  # pragma: no cover - importers always set one
                raise ValueError(f"item {item.video_id} has neither path nor loader")
        return imp.commit([it.video_id for it in items])


def summary_line(store: FeatureStore) -> str:
    """One line: videos, per-split and per-label counts, T range, feature shape.

    e.g. ``stores/ucf: 1900 videos; train 1610 (810 anomalous, 800 normal), test 290 (...); ...``
    """
    entries = store.entries
    per_split: dict[str, Counter] = {}
    for e in entries:
        word = {1: "anomalous", 0: "normal"}.get(e.label, "unlabelled")  # type: ignore[arg-type]
        per_split.setdefault(e.split or "no split", Counter())[word] += 1
    parts = []
    for split, counts in per_split.items():
        detail = ", ".join(
            f"{counts[w]} {w}" for w in ("anomalous", "normal", "unlabelled") if counts[w]
        )
        parts.append(f"{split} {sum(counts.values())} ({detail})")
    Ts = [e.T for e in entries]
    t_range = f"T {min(Ts)}-{max(Ts)}" if Ts else "T -"
    i = store.info
    return (
        f"{store.path}: {len(entries)} video{'' if len(entries) == 1 else 's'}; "
        f"{', '.join(parts)}; {t_range}; "
        f"features (T, {i.crops}, {i.dim}) {i.backbone}"
    )
