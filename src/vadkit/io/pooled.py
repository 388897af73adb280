"""A pooled, memory-mapped cache: every video of a store (or view) pooled to N segments.

Training RTFM-style methods pools each video to 32 segments at every batch; pooling once and
reading batches from one memory-mapped array is ~10x faster (``benchmarks/pooled_cache.py``).

Layout::

    STORE/cache/pooled-<fingerprint>/
      features.npy     (N, n_segments, crops, D) float32, videos in view order
      meta.json        ids, lengths (T before pooling), labels, n_segments, rule, fingerprint

The fingerprint hashes the recipe (``n_segments``, ``rule``, the store's metadata) and, per
video in order, its id, label, ``T`` and the size, mtime, ctime and inode of its feature file
(followed through symlinks). Any change (a feature file rewritten, a video added or removed,
a relabel) gives another fingerprint, hence another cache folder: a cache is never used
stale. A cache is built in a temporary folder and renamed into place once complete, so a
crash never leaves a half-written cache under its final name. ``STORE/cache`` may be deleted
at any time. A store that cannot be written falls back to the user cache folder
(``$XDG_CACHE_HOME/vadkit`` or ``~/.cache/vadkit``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vadkit import sampling
from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write_json
from vadkit.io.store_reader import FeatureStore, npy_header
from vadkit.io.views import StoreView, select

__all__ = ["RULES", "PooledFeatures", "cache_fingerprint", "pooled_features"]

#: pooling rules: name -> what it does
RULES = {
    "rtfm": "vadkit.sampling.pool_segments: mean of snippets [b_i, b_i+1), b = linspace(0, T, N+1)",
    "sultani": "vadkit.sampling.pool_sultani: Sultani's 32-segment clip means, L2-normalised",
    "none": "no pooling: every video already has n_segments segments",
}
_FORMAT = 1  # bump when the cache layout or a pooling rule changes


@dataclass(frozen=True)
class PooledFeatures:
    """Every video of a view pooled to ``n_segments``; rows follow ``ids``.

    Attributes
    ----------
    features : np.memmap float32 ``(N, n_segments, crops, D)``, read-only.
    lengths : ``(N,)`` int64, each video's ``T`` before pooling.
    labels : ``(N,)`` int64, 1 anomalous, 0 normal, -1 unknown.
    ids : the N video ids.
    n_segments, rule : how the videos were pooled (see :data:`RULES`).
    fingerprint : the hash the cache is keyed by.
    path : the cache folder.
    """

    features: np.memmap
    lengths: np.ndarray
    labels: np.ndarray
    ids: list[str]
    n_segments: int
    rule: str
    fingerprint: str
    path: Path

    def __len__(self) -> int:
        return len(self.ids)


def cache_fingerprint(view: FeatureStore | StoreView, n_segments: int, rule: str) -> str:
    """The hash a pooled cache of ``view`` is keyed by (see the module docstring)."""
    view = select(view)
    h = hashlib.sha256()
    recipe = {"format": _FORMAT, "n_segments": n_segments, "rule": rule}
    h.update(json.dumps([recipe, view.info.to_dict()], sort_keys=True, default=str).encode())
    for e in view.entries:
        file = view.store.path / e.file
        try:
            st = file.stat()
        except OSError as exc:
            raise VadkitError(f"video {e.id!r}: cannot read {file}: {exc.strerror}") from None
        state = [e.id, e.label, e.T, os.path.realpath(file), st.st_size, st.st_mtime_ns]
        state += [st.st_ctime_ns, st.st_ino]
        h.update(json.dumps(state).encode() + b"\n")
    return h.hexdigest()[:24]


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vadkit"


def _writable(directory: Path) -> bool:
    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        return False
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vadkit-write-test.", dir=probe)
    except OSError:
        return False
    os.close(fd)
    os.unlink(tmp)
    return True


def pooled_features(
    store_or_view: FeatureStore | StoreView,
    n_segments: int = 32,
    rule: str = "rtfm",
    cache_dir: str | Path | None = None,
) -> PooledFeatures:
    """Every video pooled to ``n_segments``, from the cache or built into it (atomically).

    Parameters
    ----------
    store_or_view : the videos, in the order the rows will have.
    n_segments : segments per video (32 in RTFM, S3R, Sultani).
    rule : ``"rtfm"`` (:func:`vadkit.sampling.pool_segments`), ``"sultani"``
        (:func:`vadkit.sampling.pool_sultani` on clip features) or ``"none"`` (stores whose
        every video already has ``n_segments`` rows).
    cache_dir : where ``pooled-<fingerprint>/`` goes; default ``STORE/cache``, or the user
        cache folder when the store cannot be written.

    Returns
    -------
    PooledFeatures whose ``features`` is a read-only memmap ``(N, n_segments, crops, D)``.
    """
    view = select(store_or_view)
    if rule not in RULES:
        raise VadkitError(f"unknown pooling rule {rule!r}; choose one of {', '.join(RULES)}")
    if not isinstance(n_segments, int) or n_segments < 1:
        raise VadkitError(f"n_segments must be a positive integer, got {n_segments!r}")
    if len(view) == 0:
        raise VadkitError(f"no videos to pool in store {view.store.path} (the view is empty)")
    if rule == "none":
        wrong = [e for e in view.entries if e.T != n_segments]
        if wrong:
            raise VadkitError(
                f"rule 'none' needs every video at {n_segments} segments; video "
                f"{wrong[0].id!r} has T={wrong[0].T}; use rule 'rtfm' or 'sultani'"
            )
    fingerprint = cache_fingerprint(view, n_segments, rule)
    if cache_dir is not None:
        root = Path(cache_dir)
    else:
        root = view.store.path / "cache"
        if not _writable(root):
            root = _user_cache()
    final = root / f"pooled-{fingerprint}"
    cached = _open(final, fingerprint)
    if cached is not None:
        return cached
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".pooled-{fingerprint}.", suffix=".tmp", dir=root))
    except OSError as exc:
        raise VadkitError(
            f"cannot write the pooled cache in {root}: {exc.strerror}; pass cache_dir"
        ) from None
    try:
        _build(view, tmp, n_segments, rule, fingerprint)
        if final.exists():  # unreadable leftover (checked by _open) or built by another process
            if _open(final, fingerprint) is None:
                shutil.rmtree(final)
        if not final.exists():
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cached = _open(final, fingerprint)
    if cached is None:  # pragma: no cover - only if the folder vanished under us
        raise VadkitError(f"pooled cache {final} disappeared while it was written")
    return cached


def _pool(arr: np.ndarray, n_segments: int, rule: str) -> np.ndarray:
    if rule == "rtfm":
        return sampling.pool_segments(arr, n_segments)
    if rule == "sultani":
        return sampling.pool_sultani(arr, n_segments)
    return np.asarray(arr, np.float32)


def _build(view: StoreView, tmp: Path, n_segments: int, rule: str, fingerprint: str) -> None:
    info = view.info
    shape = (len(view), n_segments, info.crops, info.dim)
    out = np.lib.format.open_memmap(tmp / "features.npy", "w+", np.float32, shape)
    lengths = []
    for i, e in enumerate(view.entries):
        arr = view.store.load(e.id)
        if arr.ndim != 3 or arr.shape[1:] != (info.crops, info.dim):
            raise VadkitError(
                f"video {e.id!r}: features have shape {arr.shape}, expected "
                f"(T, {info.crops}, {info.dim}); run `vadkit store check {view.store.path}`"
            )
        out[i] = _pool(arr, n_segments, rule)
        lengths.append(int(arr.shape[0]))
    out.flush()
    del out
    with open(tmp / "features.npy", "rb") as fh:
        os.fsync(fh.fileno())
    meta = {
        "format": _FORMAT,
        "fingerprint": fingerprint,
        "store": str(view.store.path),
        "n_segments": n_segments,
        "rule": rule,
        "rule_detail": RULES[rule],
        "ids": view.ids,
        "lengths": lengths,
        "labels": view.labels.tolist(),
    }
    atomic_write_json(tmp / "meta.json", meta)  # written last: a folder without it is unfinished


def _open(folder: Path, fingerprint: str) -> PooledFeatures | None:
    """The cache in ``folder`` when it is complete and has this fingerprint, else None."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        shape, dtype = npy_header(folder / "features.npy")
    except (OSError, ValueError, VadkitError):
        return None
    n = len(meta.get("ids", []))
    if (
        meta.get("fingerprint") != fingerprint
        or meta.get("format") != _FORMAT
        or dtype != np.float32
        or len(shape) != 4
        or shape[:2] != (n, meta.get("n_segments"))
        or len(meta.get("lengths", [])) != n
        or len(meta.get("labels", [])) != n
    ):
        return None
    features = np.load(folder / "features.npy", mmap_mode="r", allow_pickle=False)
    return PooledFeatures(
        features=features,
        lengths=np.asarray(meta["lengths"], np.int64),
        labels=np.asarray(meta["labels"], np.int64),
        ids=list(meta["ids"]),
        n_segments=int(meta["n_segments"]),
        rule=str(meta["rule"]),
        fingerprint=fingerprint,
        path=folder,
    )
