"""Reading a FeatureStore: :class:`FeatureStore`, its metadata and the manifest schema versions.

Layout on disk::

    STORE/
      manifest.json              schema version, store-level metadata, one entry per video
      store.json                 the recipe alone, written when the store is created
      features/<name>.npy        (T, crops, D) float32, one per video
      features/<name>.json       the video's entry, written right after its .npy

Readers use only ``manifest.json``; :mod:`vadkit.io.store_writer` writes stores.

Schema versions (``schema_version`` in ``manifest.json``):

- **1** (vadkit 0.1): store metadata under ``store``, the dataset, when known, only in
  ``store.extra.dataset``.
- **2** (current): ``store.dataset`` holds the dataset id (``null`` when unknown).

Older manifests are upgraded in memory when read (:func:`upgrade_manifest`); the file is
left as it is until a writer rewrites it. A newer version than this vadkit knows is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "FEATURES_DIR",
    "MANIFEST",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "FeatureStore",
    "StoreInfo",
    "VideoEntry",
    "load_npy",
    "npy_header",
    "safe_file_stem",
    "upgrade_manifest",
]

SCHEMA_VERSION = 2
#: every manifest version that exists, with what changed in it
SCHEMA_VERSIONS = {
    1: "first release: store metadata, one entry per video; dataset only in store.extra",
    2: "store.dataset: the dataset id (null when unknown), moved out of store.extra",
}
MANIFEST = "manifest.json"
FEATURES_DIR = "features"


@dataclass(frozen=True)
class StoreInfo:
    """Store-level metadata: how every feature in the store was made.

    ``weights_sha256`` is the sha256 of the backbone weights file, ``"random-init"``
    for untrained features, or ``"unknown"`` for imported published features.
    ``padding`` is the snippet padding policy (``"loop"``, ``"repeat_last"``,
    ``"drop"``), or ``"segments"`` for fixed-segment stores, or ``"unknown"``.
    ``dataset`` is the dataset id (``"ucf-crime"``, ...) when known.
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
    dataset: str | None = None
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
        skip = {"vadkit_version", "extra", "source", "dataset"}
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


def upgrade_manifest(data: dict[str, Any], where: str = "manifest") -> dict[str, Any]:
    """A manifest of any known schema version, upgraded to :data:`SCHEMA_VERSION` (a new dict).

    >>> old = {"schema_version": 1, "store": {"extra": {"dataset": "ped2"}}, "videos": []}
    >>> new = upgrade_manifest(old)
    >>> new["schema_version"], new["store"]["dataset"], new["store"]["extra"]
    (2, 'ped2', {})
    """
    if not isinstance(data, dict):
        raise VadkitError(f"{where}: expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        raise VadkitError(
            f"{where}: schema_version {version!r} is not supported (this vadkit reads "
            f"{', '.join(map(str, SCHEMA_VERSIONS))})"
            + ("; upgrade vadkit to read it" if newer else "")
        )
    data = json.loads(json.dumps(data))  # deep copy: the caller's dict stays as it was
    if version == 1:
        store = data.setdefault("store", {})
        extra = store.get("extra") or {}
        dataset = extra.pop("dataset", None)
        store["extra"] = extra
        store.setdefault("dataset", dataset if isinstance(dataset, str) else None)
        data["schema_version"] = version = 2
    return data


def safe_file_stem(video_id: str) -> str:
    """A file-system-safe stem for a video id (ids may hold ``/``, ``#``, spaces)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id).strip("._") or "video"
    if stem != video_id:
        # keep distinct ids distinct after sanitising
        import hashlib

        stem = f"{stem}-{hashlib.sha1(video_id.encode()).hexdigest()[:8]}"
    return stem


def npy_header(path: str | Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a complete ``.npy`` file, from its header.

    Raises :class:`VadkitError` for a missing, empty, truncated or otherwise unreadable file
    (the file must hold all the bytes its header promises).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            fmt = np.lib.format
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = read(fh)
            offset = fh.tell()
        size = path.stat().st_size
    except FileNotFoundError:
        raise VadkitError(f"{path} is missing") from None
    except (OSError, ValueError, EOFError) as exc:
        reason = "empty file" if _size(path) == 0 else str(exc) or type(exc).__name__
        raise VadkitError(f"{path} is not a readable .npy file ({reason})") from None
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < need:
        raise VadkitError(f"{path} is truncated ({size} bytes, its header needs {need})")
    return tuple(int(s) for s in shape), dtype


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def load_npy(path: str | Path, what: str, mmap: bool = True) -> np.ndarray:
    """``np.load`` without pickles whose every failure (empty file too) is a :class:`VadkitError`."""
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = "empty file" if _size(Path(path)) == 0 else str(exc) or type(exc).__name__
        raise VadkitError(f"cannot read {what} from {path}: {reason}") from None


class FeatureStore:
    """Read access to a store. Arrays are memory-mapped.

    Example (a store made by ``vadkit extract``)::

        store = FeatureStore.open("stores/ped2")
        store.load("01").shape        # (12, 1, 1280): 12 snippets, 1 crop, 1280-d
        store.select(split="test", label=1)
    """

    def __init__(
        self,
        path: Path,
        info: StoreInfo | None = None,
        entries: list[VideoEntry] | None = None,
    ) -> None:
        if info is None or entries is None:
            # the constructor takes a parsed manifest; opening one from disk is `open`
            raise VadkitError(
                f"FeatureStore({str(path)!r}) does not open a store; "
                f"use FeatureStore.open({str(path)!r})"
            )
        self.path = path
        self.info = info
        self._entries = {e.id: e for e in entries}

    @classmethod
    def open(cls, path: str | Path) -> FeatureStore:
        """Open the store at ``path``, upgrading an older manifest in memory."""
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
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise VadkitError(f"cannot read {manifest}: {exc}") from exc
        data = upgrade_manifest(data, str(manifest))
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
        """Ids whose split and/or label match, in store order (see :mod:`vadkit.io.views`)."""
        return [
            e.id
            for e in self._entries.values()
            if (split is None or e.split == split) and (label is None or e.label == label)
        ]

    def file(self, video_id: str) -> Path:
        return self.path / self.entry(video_id).file

    def load(self, video_id: str, mmap: bool = True) -> np.ndarray:
        """Features of one video, ``(T, crops, D)`` float32 (memory-mapped by default)."""
        return load_npy(self.file(video_id), f"features of video {video_id!r}", mmap)

    def __repr__(self) -> str:
        i = self.info
        return (
            f"FeatureStore({str(self.path)!r}, videos={len(self)}, backbone={i.backbone!r}, "
            f"crops={i.crops}, dim={i.dim})"
        )
