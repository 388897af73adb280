"""``vadkit store check``: validate a FeatureStore and report every problem with its video id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vadkit import sampling
from vadkit.errors import VadkitError
from vadkit.io.store_reader import FEATURES_DIR, FeatureStore, StoreInfo, load_npy


@dataclass(frozen=True)
class StoreProblem:
    """One problem found in a store; ``video_id`` is ``None`` for store-level problems."""

    video_id: str | None
    message: str

    def __str__(self) -> str:
        where = "store" if self.video_id is None else f"video {self.video_id!r}"
        return f"{where}: {self.message}"


def allowed_T(n_frames: int, info: StoreInfo) -> set[int]:
    """Snippet counts consistent with ``n_frames`` under a store's recipe (:func:`vadkit.sampling.allowed_T`)."""
    return sampling.allowed_T(
        n_frames,
        info.snippet_length,
        info.stride,
        info.frame_step,
        info.padding or "unknown",
        info.n_segments,
    )


def check_store(path: str | Path, check_values: bool = True) -> list[StoreProblem]:
    """Validate a store: dims, dtype, NaN/Inf, T against ``n_frames``, files present.

    Returns every problem found (an empty list means the store is valid). Only a store
    that cannot be opened at all raises :class:`VadkitError`.
    """
    store = FeatureStore.open(path)
    info = store.info
    problems: list[StoreProblem] = []
    if info.dim <= 0 or info.crops <= 0:
        problems.append(StoreProblem(None, f"dim={info.dim}, crops={info.crops} must be > 0"))
    listed: set[str] = set()
    for entry in store.entries:
        vid = entry.id
        listed.add(Path(entry.file).name)

        def report(msg: str, vid: str = vid) -> None:
            problems.append(StoreProblem(vid, msg))

        file = store.path / entry.file
        if not file.exists():
            report(f"feature file {file} is missing")
            continue
        try:
            arr = load_npy(file, "features")
        except VadkitError as exc:
            report(str(exc))
            continue
        if arr.dtype != np.float32:
            report(f"dtype {arr.dtype}, expected float32")
        if arr.ndim != 3:
            report(f"shape {arr.shape}, expected (T, {info.crops}, {info.dim})")
            continue
        T, crops, dim = arr.shape
        if crops != info.crops:
            report(f"{crops} crops, store says {info.crops}")
        if dim != info.dim:
            report(f"feature dim {dim}, store says {info.dim}")
        if T != entry.T:
            report(f"file has T={T}, manifest says T={entry.T}")
        if T == 0:
            report("no snippets (T=0)")
        if entry.n_frames is not None:
            ok = allowed_T(entry.n_frames, info)
            if ok and T not in ok:
                report(
                    f"T={T} does not fit n_frames={entry.n_frames} "
                    f"(snippet {info.snippet_length}, stride {info.stride}, padding "
                    f"{info.padding!r} gives T in {sorted(ok)})"
                )
        if entry.label not in (None, 0, 1):
            report(f"label {entry.label!r} is not 0, 1 or null")
        if check_values and arr.size:
            bad_nan, bad_inf = count_nonfinite(arr)
            if bad_nan or bad_inf:
                report(f"{bad_nan} NaN and {bad_inf} Inf values")
    features = store.path / FEATURES_DIR
    if features.is_dir():
        for orphan in sorted(p.name for p in features.glob("*.npy") if p.name not in listed):
            problems.append(StoreProblem(None, f"{FEATURES_DIR}/{orphan} is not in the manifest"))
    return problems


def count_nonfinite(arr: np.ndarray, rows: int = 4096) -> tuple[int, int]:
    """NaN and Inf counts of ``(T, ...)`` ``arr``, read in row blocks (bounded memory)."""
    nan = inf = 0
    for start in range(0, arr.shape[0], rows):
        block = np.asarray(arr[start : start + rows])
        nan += int(np.isnan(block).sum())
        inf += int(np.isinf(block).sum())
    return nan, inf


def summarize(store: FeatureStore) -> str:
    """A few lines describing a store (what `vadkit store info` prints)."""
    i = store.info
    Ts = [e.T for e in store.entries]
    splits: dict[str, int] = {}
    labels: dict[str, int] = {}
    names = {None: "unknown", 0: "normal", 1: "anomalous"}
    for e in store.entries:
        split = e.split or "unknown"
        splits[split] = splits.get(split, 0) + 1
        name = names.get(e.label, str(e.label))
        labels[name] = labels.get(name, 0) + 1
    sampling = (
        f"{i.n_segments} fixed segments"
        if i.n_segments
        else f"snippet {i.snippet_length}, stride {i.stride}, step {i.frame_step}, "
        f"padding {i.padding}"
    )
    lines = [
        f"store      {store.path}",
        f"backbone   {i.backbone} (weights sha256 {i.weights_sha256})",
        f"features   (T, {i.crops}, {i.dim}) float32, crop mode {i.crop_mode or 'unknown'}",
        f"sampling   {sampling}",
        f"source     {i.source}, vadkit {i.vadkit_version}, dataset {i.dataset or 'unknown'}",
        f"videos     {len(store)}"
        + (f", T {min(Ts)}..{max(Ts)}, {sum(Ts)} snippets" if Ts else ""),
        "splits     " + ", ".join(f"{k} {v}" for k, v in splits.items()),
        "labels     " + ", ".join(f"{k} {v}" for k, v in labels.items()),
    ]
    return "\n".join(lines)


__all__ = ["StoreProblem", "allowed_T", "check_store", "count_nonfinite", "summarize"]
