"""FeatureStore: one float32 ``(T, crops, D)`` ``.npy`` per video plus ``manifest.json``.

Layout on disk::

    STORE/
      manifest.json              schema version, store-level metadata, one entry per video
      features/<name>.npy        (T, crops, D) float32, one per video
      features/<name>.json       the video's entry, written right after its .npy

The per-video ``.json`` sidecars make every video an independent, atomic unit: an
interrupted or sharded run leaves complete videos behind, and :meth:`StoreWriter.finalize`
rebuilds ``manifest.json`` from them under a file lock, so several processes can write
one store. Readers use only ``manifest.json``.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_save_npy, atomic_write_json

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
FEATURES_DIR = "features"


@dataclass(frozen=True)
class StoreInfo:
    """Store-level metadata: how every feature in the store was made.

    ``weights_sha256`` is the sha256 of the backbone weights file, ``"random-init"``
    for untrained features, or ``"unknown"`` for imported published features.
    ``padding`` is the snippet padding policy (``"loop"``, ``"repeat_last"``,
    ``"drop"``), or ``"segments"`` for fixed-segment stores, or ``"unknown"``.
    """

    backbone: str
    weights_sha256: str
    dim: int
    crops: int
    snippet_length: int | None = 16
    stride: int | None = 16
    padding: str = "unknown"
    frame_step: int = 1
    n_segments: int | None = None
    crop_mode: str | None = None
    source: str = "extract"
    vadkit_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.vadkit_version:
            from vadkit import __version__

            object.__setattr__(self, "vadkit_version", __version__)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> StoreInfo:
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("backbone", "weights_sha256", "dim", "crops") if k not in data]
        if missing:
            raise VadkitError(f"{where}: store metadata lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def same_recipe(self, other: StoreInfo) -> list[str]:
        """Names of the fields that differ in how features were made (ignores version/extra)."""
        skip = {"vadkit_version", "extra", "source"}
        return [
            f.name
            for f in fields(self)
            if f.name not in skip and getattr(self, f.name) != getattr(other, f.name)
        ]


@dataclass(frozen=True)
class VideoEntry:
    """One video of a store. ``label`` is 1 anomalous, 0 normal, None unknown."""

    id: str
    file: str
    T: int
    source: str | None = None
    label: int | None = None
    cls: str | None = None
    split: str | None = None
    n_frames: int | None = None
    fps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("cls")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> VideoEntry:
        data = dict(data)
        if "class" in data:
            data["cls"] = data.pop("class")
        missing = [k for k in ("id", "file", "T") if k not in data]
        if missing:
            raise VadkitError(f"{where}: video entry lacks {', '.join(missing)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def safe_file_stem(video_id: str) -> str:
    """A file-system-safe stem for a video id (ids may hold ``/``, ``#``, spaces)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id).strip("._") or "video"
    if stem != video_id:
        # keep distinct ids distinct after sanitising
        import hashlib

        stem = f"{stem}-{hashlib.sha1(video_id.encode()).hexdigest()[:8]}"
    return stem


class FeatureStore:
    """Read access to a store. Arrays are memory-mapped.

    Example (a store made by ``vadkit extract``)::

        store = FeatureStore.open("stores/ped2")
        store.load("01").shape        # (12, 1, 1280): 12 snippets, 1 crop, 1280-d
        store.select(split="test", label=1)
    """

    def __init__(self, path: Path, info: StoreInfo, entries: list[VideoEntry]) -> None:
        self.path = path
        self.info = info
        self._entries = {e.id: e for e in entries}

    @classmethod
    def open(cls, path: str | Path) -> FeatureStore:
        path = Path(path)
        manifest = path / MANIFEST
        if not path.is_dir():
            raise VadkitError(f"feature store not found: {path} is not a directory")
        if not manifest.is_file():
            hint = ""
            if any((path / FEATURES_DIR).glob("*.json")):
                hint = f"; it has finished videos, run `vadkit store finalize {path}`"
            raise VadkitError(f"not a feature store: {manifest} is missing{hint}")
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise VadkitError(f"cannot read {manifest}: {exc}") from exc
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise VadkitError(
                f"{manifest}: schema_version {version!r} is not supported "
                f"(this vadkit reads {SCHEMA_VERSION})"
            )
        info = StoreInfo.from_dict(data.get("store", {}), str(manifest))
        entries = [VideoEntry.from_dict(v, str(manifest)) for v in data.get("videos", [])]
        return cls(path, info, entries)

    # -- mapping-like access -------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    @property
    def ids(self) -> list[str]:
        return list(self._entries)

    @property
    def entries(self) -> list[VideoEntry]:
        return list(self._entries.values())

    def entry(self, video_id: str) -> VideoEntry:
        try:
            return self._entries[video_id]
        except KeyError:
            raise VadkitError(f"unknown video {video_id!r} in store {self.path}") from None

    def select(self, split: str | None = None, label: int | None = None) -> list[str]:
        """Ids whose split and/or label match, in store order."""
        return [
            e.id
            for e in self._entries.values()
            if (split is None or e.split == split) and (label is None or e.label == label)
        ]

    def file(self, video_id: str) -> Path:
        return self.path / self.entry(video_id).file

    def load(self, video_id: str, mmap: bool = True) -> np.ndarray:
        """Features of one video, ``(T, crops, D)`` float32 (memory-mapped by default)."""
        file = self.file(video_id)
        try:
            return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise VadkitError(
                f"cannot read features of video {video_id!r} from {file}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        i = self.info
        return (
            f"FeatureStore({str(self.path)!r}, videos={len(self)}, backbone={i.backbone!r}, "
            f"crops={i.crops}, dim={i.dim})"
        )


class StoreWriter:
    """Writes videos into a store, one atomic ``.npy`` + sidecar at a time.

    Opening an existing store checks that it was made the same way (``StoreInfo``);
    mixing recipes in one store is an error. Call :meth:`finalize` to (re)write the
    manifest; several writers (shards) may finalize the same store.
    """

    def __init__(self, path: str | Path, info: StoreInfo, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.info = info
        self.features_dir = self.path / FEATURES_DIR
        if self.path.exists() and not self.path.is_dir():
            raise VadkitError(f"store path {self.path} exists and is not a directory")
        recipe = self.path / "store.json"
        if recipe.is_file():
            old = StoreInfo.from_dict(json.loads(recipe.read_text()), str(recipe))
            diff = old.same_recipe(info)
            if diff and not overwrite:
                detail = ", ".join(
                    f"{k}: {getattr(old, k)!r} vs {getattr(info, k)!r}" for k in diff
                )
                raise VadkitError(
                    f"store {self.path} was made differently ({detail}); "
                    "use a new --out, or --overwrite to replace the whole store"
                )
            if diff:
                # a new recipe: every old video was made the old way, so none may stay
                self._clear()
        try:
            self.features_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VadkitError(f"cannot create store {self.path}: {exc}") from exc
        atomic_write_json(recipe, info.to_dict())

    def _clear(self) -> None:
        """Remove every video, the manifest and run reports of a store being replaced."""
        if self.features_dir.is_dir():
            for f in self.features_dir.iterdir():
                if f.suffix in (".npy", ".json") or f.is_symlink():
                    f.unlink()
        for name in (MANIFEST, "failed.json", "warnings.json"):
            (self.path / name).unlink(missing_ok=True)

    def _stem(self, video_id: str) -> str:
        return safe_file_stem(video_id)

    def has(self, video_id: str) -> bool:
        """True when the video is complete in the store (array and sidecar both written)."""
        stem = self._stem(video_id)
        return (self.features_dir / f"{stem}.json").is_file() and (
            self.features_dir / f"{stem}.npy"
        ).exists()

    def finished_entry(self, video_id: str) -> VideoEntry | None:
        """The entry of a finished video, or None."""
        if not self.has(video_id):
            return None
        side = self.features_dir / f"{self._stem(video_id)}.json"
        try:
            return VideoEntry.from_dict(json.loads(side.read_text()), str(side))
        except (OSError, json.JSONDecodeError):
            return None

    def add(
        self,
        video_id: str,
        features: np.ndarray,
        *,
        source: str | None = None,
        label: int | None = None,
        cls: str | None = None,
        split: str | None = None,
        n_frames: int | None = None,
        fps: float | None = None,
    ) -> VideoEntry:
        """Write one video's ``(T, crops, D)`` features and its entry."""
        arr = np.asarray(features)
        if arr.ndim == 2 and self.info.crops == 1:
            arr = arr[:, None, :]
        expected = f"(T, {self.info.crops}, {self.info.dim})"
        if arr.ndim != 3 or arr.shape[1:] != (self.info.crops, self.info.dim):
            raise VadkitError(
                f"video {video_id!r}: features have shape {arr.shape}, expected {expected}"
            )
        if arr.shape[0] == 0:
            raise VadkitError(f"video {video_id!r}: features have no snippets (T=0)")
        stem = self._stem(video_id)
        atomic_save_npy(self.features_dir / f"{stem}.npy", arr.astype(np.float32, copy=False))
        return self._write_entry(
            video_id, stem, arr.shape[0], source, label, cls, split, n_frames, fps
        )

    def add_link(
        self,
        video_id: str,
        src: str | Path,
        *,
        copy: bool = False,
        **meta: Any,
    ) -> VideoEntry:
        """Add an existing ``(T, crops, D)`` float32 ``.npy`` by symlink (or copy) after checking it."""
        src = Path(src)
        try:
            arr = np.load(src, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise VadkitError(f"video {video_id!r}: cannot read {src}: {exc}") from exc
        if arr.ndim != 3 or arr.shape[1:] != (self.info.crops, self.info.dim) or arr.shape[0] == 0:
            raise VadkitError(
                f"video {video_id!r}: {src} has shape {arr.shape}, "
                f"expected (T, {self.info.crops}, {self.info.dim})"
            )
        if copy or arr.dtype != np.float32:
            return self.add(video_id, np.asarray(arr), **meta)
        stem = self._stem(video_id)
        dst = self.features_dir / f"{stem}.npy"
        tmp = dst.with_name(f".{dst.name}.link")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(src.resolve())
        tmp.replace(dst)
        return self._write_entry(video_id, stem, arr.shape[0], **meta)

    def _write_entry(
        self,
        video_id: str,
        stem: str,
        T: int,
        source: str | None = None,
        label: int | None = None,
        cls: str | None = None,
        split: str | None = None,
        n_frames: int | None = None,
        fps: float | None = None,
    ) -> VideoEntry:
        entry = VideoEntry(
            id=video_id,
            file=f"{FEATURES_DIR}/{stem}.npy",
            T=int(T),
            source=None if source is None else str(source),
            label=None if label is None else int(label),
            cls=cls,
            split=split,
            n_frames=None if n_frames is None else int(n_frames),
            fps=None if fps is None else float(fps),
        )
        atomic_write_json(self.features_dir / f"{stem}.json", entry.to_dict())
        return entry

    def finalize(self, order: list[str] | None = None) -> FeatureStore:
        """Rebuild ``manifest.json`` from every finished video; return the opened store.

        ``order`` lists ids that come first, in that order (e.g. a published list's
        order); the others keep their order in the previous manifest, and new ones
        follow sorted by id.
        """
        lock_path = self.path / ".manifest.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries: dict[str, VideoEntry] = {}
            for side in sorted(self.features_dir.glob("*.json")):
                try:
                    entry = VideoEntry.from_dict(json.loads(side.read_text()), str(side))
                except json.JSONDecodeError as exc:
                    raise VadkitError(f"corrupt video entry {side}: {exc}") from exc
                if (self.path / entry.file).exists():
                    entries[entry.id] = entry
            # named ids first, in that order; the rest keep their previous manifest order
            previous = _manifest_ids(self.path / MANIFEST)
            named = list(order or [])
            rank = {vid: i for i, vid in enumerate(named + [v for v in previous if v not in named])}
            ordered = sorted(entries.values(), key=lambda e: (rank.get(e.id, len(rank)), e.id))
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "store": self.info.to_dict(),
                "videos": [e.to_dict() for e in ordered],
            }
            atomic_write_json(self.path / MANIFEST, manifest)
        return FeatureStore.open(self.path)


def _manifest_ids(manifest: Path) -> list[str]:
    """Video ids of an existing manifest, in order ([] if none or unreadable)."""
    try:
        return [v["id"] for v in json.loads(manifest.read_text()).get("videos", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
