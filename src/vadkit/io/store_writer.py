"""Writing a FeatureStore: :class:`StoreWriter`, :func:`finalize_store`, :func:`ensure_writable_store`.

The per-video ``.json`` sidecars make every video an independent, atomic unit: an
interrupted or sharded run leaves complete videos behind, and :meth:`StoreWriter.finalize`
rebuilds ``manifest.json`` from them under a file lock, so several processes can write
one store. All-or-nothing imports go through :class:`StoreImport`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_save_npy, atomic_write_json
from vadkit.io.check import allowed_T, count_nonfinite
from vadkit.io.store_reader import (
    FEATURES_DIR,
    MANIFEST,
    SCHEMA_VERSION,
    FeatureStore,
    StoreInfo,
    VideoEntry,
    load_npy,
    npy_header,
    safe_file_stem,
)

__all__ = [
    "RECIPE",
    "StoreImport",
    "StoreWriter",
    "check_features",
    "ensure_writable_dir",
    "ensure_writable_store",
    "finalize_store",
    "read_recipe",
    "recipe_conflict",
]

RECIPE = "store.json"


def ensure_writable_dir(path: str | Path, what: str, flag: str = "--out") -> Path:
    """Check, before any work, that ``path`` is (or can be created as) a writable directory.

    Nothing is created. Raises :class:`VadkitError` with one line naming ``what`` (e.g.
    ``"store"``, ``"output folder"``) and the flag the user typed (``""`` when the path was
    an argument, not a flag).
    """
    path = Path(path)
    other = f"choose another {flag}" if flag else "choose another path"
    if path.exists() and not path.is_dir():
        raise VadkitError(f"{what} {path} is a file, not a directory; {other}")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise VadkitError(
            f"cannot create {what} {path}: {probe} is a file, not a directory; {other}"
        )
    _probe_write(probe, what, path, other)
    return path


def _probe_write(directory: Path, what: str, path: Path, other: str) -> None:
    # a real write says more than os.access (ACLs, read-only mounts, root)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vadkit-write-test.", dir=directory)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = "" if directory == path else f" ({directory} is where it would be created)"
        raise VadkitError(
            f"cannot write {what} {path}{where}: {reason}; {other} or make it writable"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def ensure_writable_store(path: str | Path, flag: str = "--out") -> Path:
    """:func:`ensure_writable_dir` for a store and its ``features/`` folder."""
    path = ensure_writable_dir(path, "store", flag)
    features = path / FEATURES_DIR
    if features.exists():
        ensure_writable_dir(features, "store", flag)
    return path


def read_recipe(path: str | Path) -> StoreInfo | None:
    """The ``store.json`` recipe of a store, or ``None`` when there is none."""
    recipe = Path(path) / RECIPE
    if not recipe.is_file():
        return None
    try:
        data = json.loads(recipe.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VadkitError(f"cannot read {recipe}: {exc}") from exc
    return StoreInfo.from_dict(data, str(recipe))


def recipe_conflict(path: str | Path, info: StoreInfo) -> str | None:
    """How the store at ``path`` was made differently from ``info`` (``None`` if the same or new)."""
    old = read_recipe(path)
    if old is None:
        return None
    diff = old.same_recipe(info)
    if not diff:
        return None
    return ", ".join(f"{k}: {getattr(old, k)!r} vs {getattr(info, k)!r}" for k in diff)


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
        #: ids whose files were found incomplete by the last :meth:`finalize`, with the reason
        self.skipped: dict[str, str] = {}
        if self.path.exists() and not self.path.is_dir():
            raise VadkitError(f"store path {self.path} exists and is not a directory")
        conflict = recipe_conflict(self.path, info)
        if conflict and not overwrite:
            raise VadkitError(
                f"store {self.path} was made differently ({conflict}); "
                "use a new --out, or --overwrite to replace the whole store"
            )
        if conflict:
            # a new recipe: every old video was made the old way, so none may stay
            self._clear()
        try:
            self.features_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VadkitError(f"cannot create store {self.path}: {exc}") from exc
        atomic_write_json(self.path / RECIPE, info.to_dict())

    def add_extra(self, extra: dict[str, object]) -> None:
        """Record more about how the features are made (``info.extra``) before videos land."""
        if extra:
            self.info = replace(self.info, extra={**self.info.extra, **extra})
            atomic_write_json(self.path / RECIPE, self.info.to_dict())

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
        """True when the video is complete in the store (sidecar and a whole ``.npy``)."""
        return self.finished_entry(video_id) is not None

    def finished_entry(self, video_id: str) -> VideoEntry | None:
        """The entry of a finished video, or None (missing, empty or truncated files)."""
        side = self.features_dir / f"{self._stem(video_id)}.json"
        if not side.is_file():
            return None
        try:
            entry = VideoEntry.from_dict(json.loads(side.read_text()), str(side))
        except (OSError, json.JSONDecodeError, VadkitError):
            return None
        return entry if _incomplete(self.path, entry) is None else None

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
        arr = load_npy(src, f"video {video_id!r}")
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

        A video counts as finished when its sidecar exists and its ``.npy`` is whole (not
        empty, not truncated, ``T`` as the sidecar says); the others are left out and
        listed in :attr:`skipped`. ``order`` lists ids that come first, in that order
        (e.g. a published list's order); the others keep their order in the previous
        manifest, and new ones follow sorted by id.
        """
        lock_path = self.path / ".manifest.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries: dict[str, VideoEntry] = {}
            self.skipped = {}
            for side in sorted(self.features_dir.glob("*.json")):
                try:
                    entry = VideoEntry.from_dict(json.loads(side.read_text()), str(side))
                except json.JSONDecodeError as exc:
                    raise VadkitError(f"corrupt video entry {side}: {exc}") from exc
                problem = _incomplete(self.path, entry)
                if problem is None:
                    entries[entry.id] = entry
                elif (self.path / entry.file).exists() or (self.path / entry.file).is_symlink():
                    self.skipped[entry.id] = problem
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


def _incomplete(store: Path, entry: VideoEntry) -> str | None:
    """Why a video's ``.npy`` is not a finished one (``None`` when it is)."""
    try:
        shape, _ = npy_header(store / entry.file)
    except VadkitError as exc:
        return str(exc)
    if not shape or shape[0] != entry.T:
        return f"{entry.file} has shape {shape}, its entry says T={entry.T}"
    return None


def finalize_store(path: str | Path) -> tuple[FeatureStore, dict[str, str]]:
    """Rebuild the manifest of an interrupted or sharded run from its finished videos.

    What ``vadkit store finalize`` does. Returns the opened store and ``{video id: reason}``
    of the videos left out because their features are empty, truncated or not as long as
    their entry says.
    """
    path = Path(path)
    if not path.is_dir():
        raise VadkitError(f"feature store not found: {path} is not a directory")
    info = read_recipe(path)
    if info is None:
        raise VadkitError(f"{path} has no {RECIPE}: not a vadkit store or never started")
    ensure_writable_store(path, flag="")
    writer = StoreWriter(path, info)
    store = writer.finalize()
    return store, dict(writer.skipped)


def _manifest_ids(manifest: Path) -> list[str]:
    """Video ids of an existing manifest, in order ([] if none or unreadable)."""
    try:
        return [v["id"] for v in json.loads(manifest.read_text()).get("videos", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def check_features(
    video_id: str, arr: np.ndarray, info: StoreInfo, n_frames: int | None = None, where: str = ""
) -> None:
    """Everything ``vadkit store check`` would find wrong with one video, as an error.

    Shape ``(T, crops, D)`` against ``info``, ``T > 0``, a float dtype, no NaN or Inf, and
    ``T`` against ``n_frames`` under the store's sampling recipe.
    """
    at = f"video {video_id!r}" + (f" ({where})" if where else "")
    expected = f"(T, {info.crops}, {info.dim})"
    if arr.ndim != 3 or arr.shape[1:] != (info.crops, info.dim):
        raise VadkitError(f"{at}: features have shape {arr.shape}, expected {expected}")
    if arr.shape[0] == 0:
        raise VadkitError(f"{at}: features have no snippets (T=0)")
    if not np.issubdtype(arr.dtype, np.floating):
        raise VadkitError(f"{at}: features have dtype {arr.dtype}, expected float32")
    nan, inf = count_nonfinite(arr)
    if nan or inf:
        raise VadkitError(f"{at}: features hold {nan} NaN and {inf} Inf values")
    if n_frames is not None:
        ok = allowed_T(n_frames, info)
        if ok and arr.shape[0] not in ok:
            raise VadkitError(
                f"{at}: T={arr.shape[0]} does not fit n_frames={n_frames} (snippet "
                f"{info.snippet_length}, stride {info.stride}, padding {info.padding!r} gives T "
                f"in {sorted(ok)}); check the frame counts"
            )


class StoreImport:
    """Adds videos to a store all or nothing.

    Everything is checked before anything lands: the store must be writable, made the same
    way (or ``overwrite``), and hold none of ``ids`` already (or ``overwrite``: they are
    replaced). Videos are checked (:func:`check_features`) and written to a staging folder
    inside the store; :meth:`commit` moves them in (renames) and rebuilds the manifest. Any
    error before that, or leaving a ``with`` block by an exception, removes the staging
    folder and leaves the store as it was.

    Example::

        with StoreImport("stores/ucf", info, ids) as imp:
            for vid, path in files:
                imp.add_link(vid, path, label=1)
            store = imp.commit()
    """

    def __init__(
        self, path: str | Path, info: StoreInfo, ids: Iterable[str], *, overwrite: bool = False
    ) -> None:
        self.path = ensure_writable_store(path)
        self.info = info
        conflict = recipe_conflict(self.path, info)
        if conflict and not overwrite:
            raise VadkitError(
                f"store {self.path} was made differently ({conflict}); "
                "use a new --out, or --overwrite to replace the whole store"
            )
        self._replace_store = bool(conflict)
        if not conflict:
            held = _finished_ids(self.path)
            clash = [vid for vid in dict.fromkeys(ids) if vid in held]
            if clash and not overwrite:
                shown = ", ".join(repr(v) for v in clash[:5])
                more = f" and {len(clash) - 5} more" if len(clash) > 5 else ""
                raise VadkitError(
                    f"store {self.path} already holds {len(clash)} of these videos ({shown}"
                    f"{more}); pass --overwrite to replace them, or import into another --out"
                )
        self._previous = [] if conflict else _manifest_ids(self.path / MANIFEST)
        self._created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._stage = Path(tempfile.mkdtemp(prefix=".import-", dir=self.path))
        except OSError as exc:
            raise VadkitError(f"cannot create store {self.path}: {exc}") from exc
        self._writer = StoreWriter(self._stage, info)
        self.staged: list[VideoEntry] = []

    def add(self, video_id: str, features: np.ndarray, *, where: str = "", **meta: Any) -> None:
        """Check and stage one video's ``(T, crops, D)`` (or ``(T, D)`` for 1 crop) features."""
        arr = np.asarray(features)
        if arr.ndim == 2 and self.info.crops == 1:
            arr = arr[:, None, :]
        check_features(video_id, arr, self.info, meta.get("n_frames"), where)
        self.staged.append(self._writer.add(video_id, arr, **meta))

    def add_link(
        self, video_id: str, src: str | Path, *, copy: bool = False, where: str = "", **meta: Any
    ) -> None:
        """Check and stage an existing ``.npy``, linked (or copied)."""
        arr = load_npy(src, f"video {video_id!r}" + (f" ({where})" if where else ""))
        check_features(video_id, arr, self.info, meta.get("n_frames"), where)
        self.staged.append(self._writer.add_link(video_id, src, copy=copy, **meta))

    def commit(self, order: list[str] | None = None) -> FeatureStore:
        """Move the staged videos into the store and rebuild its manifest.

        The manifest lists what the store had first, then the new videos in ``order`` (or
        the order they were added).
        """
        writer = StoreWriter(self.path, self.info, overwrite=self._replace_store)
        for entry in self.staged:
            npy = Path(entry.file)
            side = npy.with_suffix(".json")
            os.replace(self._stage / npy, self.path / npy)
            os.replace(self._stage / side, self.path / side)
        shutil.rmtree(self._stage, ignore_errors=True)
        known = set(self._previous)
        new = order if order is not None else [e.id for e in self.staged]
        return writer.finalize(order=self._previous + [v for v in new if v not in known])

    def abort(self) -> None:
        """Remove the staged videos; the store stays as it was."""
        shutil.rmtree(self._stage, ignore_errors=True)
        if self._created:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> StoreImport:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._stage.exists():  # an error, or never committed
            self.abort()


def _finished_ids(path: Path) -> set[str]:
    """Ids of every video whose sidecar is in the store (finished or not)."""
    ids: set[str] = set()
    for side in (path / FEATURES_DIR).glob("*.json"):
        try:
            ids.add(str(json.loads(side.read_text())["id"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return ids
