"""What the scene detector computes from video: flow summaries, spatial maps, pasted objects.

Every function takes any frame source (a frame folder, a video file, an ``(N, H, W, 3)``
uint8 array) and an optional cache folder. With a cache, each video's result is one file
keyed by the recipe that made it (a file whose frame count does not match is rebuilt), so
a rerun, or the benchmark after the detector's fit, reads instead of recomputing.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_save_npy, atomic_write_bytes

__all__ = [
    "FlowJob",
    "VideoFlow",
    "compute_flows",
    "count_frames",
    "flow_cache_dir",
    "iter_frames",
    "pasted_object_scores",
    "save_npz",
    "spatial_maps",
]

#: per video: "cells", "peaks" (+ "synth_cells", "synth_peaks", "synth_labels" when held out)
VideoFlow = dict[str, np.ndarray]

Log = Callable[[str], None]


def iter_frames(source: Any, step: int = 1) -> Iterator[np.ndarray]:
    """Every ``step``-th ``(H, W, 3)`` uint8 RGB frame of a folder, file or array."""
    from vadkit.io.stream import FrameStream
    from vadkit.io.video import FrameFolderReader

    if isinstance(source, str | Path) and Path(source).is_dir():
        yield from (f for _, f in FrameFolderReader(Path(source)).iter_frames(0, None, step))
        return
    for i, frame in FrameStream(source):
        if i % step == 0:
            yield frame


def count_frames(source: Any) -> int:
    """Frames of a source (a file is decoded once to count: headers can be wrong)."""
    from vadkit.io.video import FrameFolderReader

    if isinstance(source, np.ndarray):
        return int(len(source))
    if isinstance(source, str | Path) and Path(source).is_dir():
        return len(FrameFolderReader(Path(source)))
    return sum(1 for _ in iter_frames(source))


def _recipe(config: Any) -> dict[str, Any]:
    return {
        "grid": list(config.grid),
        "method": config.flow_method,
        "resize": config.flow_resize,
        "height": config.flow_height,
        "windows": [float(w) for w in config.windows],
        "synth": [config.synth_share, config.synth_length, list(config.synth_factors)],
        "seed": config.seed,
    }


def flow_cache_dir(config: Any, cache: Path) -> Path:
    """The folder of one flow recipe's files under ``cache``."""
    key = hashlib.sha256(json.dumps(_recipe(config), sort_keys=True).encode()).hexdigest()[:10]
    return cache / f"flow-{config.flow_method}-{config.grid[0]}x{config.grid[1]}-{key}"


@dataclass
class FlowJob:
    """One video to summarise: ``key`` (``"split/id"``), its source, its frame count (checks a
    cached file; ``None`` accepts any) and, for a held-out video, its speed-up schedule."""

    key: str
    source: Any
    n_frames: int | None = None
    speedup: dict[int, float] | None = None


def _flow_job(args: tuple[Any, dict[str, Any], dict[int, float] | None]) -> VideoFlow:
    """One video's flow summaries (runs in a worker thread)."""
    from vadkit.methods.oneclass.flow import flow_features

    source, rec, speedup = args
    ff = flow_features(
        iter_frames(source),
        tuple(rec["grid"]),
        rec["method"],
        rec["resize"],
        rec["windows"],
        speedup,
        rec.get("height"),
    )
    return {k: v for k, v in vars(ff).items() if v is not None}


def _load_flow(path: Path, n: int | None, synth: bool) -> VideoFlow | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None
    if (n is not None and len(d.get("cells", ())) != n) or (synth and "synth_labels" not in d):
        return None
    return d


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as an uncompressed ``.npz`` at ``path``, written atomically (a cache file)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def compute_flows(
    jobs: Sequence[FlowJob], config: Any, cache: Path | None = None, log: Log | None = None
) -> dict[str, VideoFlow]:
    """``{job.key: VideoFlow}``, from ``cache`` where a matching file exists, else computed in
    ``config.workers`` threads (and written to the cache).

    ``config`` gives ``grid``, ``flow_method``, ``flow_resize``, ``flow_height``, ``windows``,
    ``workers`` and, for the cache key, ``seed`` and the synthetic-anomaly settings.
    """
    rec = _recipe(config)
    d = flow_cache_dir(config, cache) if cache is not None else None
    out: dict[str, VideoFlow] = {}
    todo: list[FlowJob] = []
    for job in jobs:
        got = None
        if d is not None:
            got = _load_flow(
                d / f"{job.key.replace('/', '-')}.npz", job.n_frames, job.speedup is not None
            )
        if got is None:
            todo.append(job)
        else:
            out[job.key] = got
    args = [(j.source, rec, j.speedup) for j in todo]
    import cv2

    # threads, not processes: OpenCV's flow and numpy release the GIL (two threads ran as fast
    # as two spawned processes on Ped2), and a user's script needs no __main__ guard
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one OpenCV thread per video: the videos are the parallel axis
    try:
        if config.workers > 1 and len(todo) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(config.workers, len(todo))) as pool:
                results = list(pool.map(_flow_job, args))
        else:
            results = [_flow_job(a) for a in args]
    finally:
        cv2.setNumThreads(threads)
    for job, flow in zip(todo, results, strict=True):
        if job.n_frames is not None and len(flow["cells"]) != job.n_frames:
            raise VadkitError(
                f"flow of {job.key}: {len(flow['cells'])} frames decoded, {job.n_frames} expected"
            )
        if d is not None:
            save_npz(d / f"{job.key.replace('/', '-')}.npz", flow)
        out[job.key] = flow
    if log is not None:
        where = f" ({d})" if d is not None else ""
        log(f"flow features: {len(jobs)} videos, {len(todo)} computed{where}")
    return out


def spatial_maps(
    encoder: Callable[[], Any],
    source: Any,
    step: int,
    n_frames: int,
    path: Path | None = None,
) -> np.ndarray:
    """``(ceil(n_frames / step), h, w, C)`` float32 maps of every ``step``-th frame; stored as
    float16 at ``path`` (the maps are computed, and ``encoder()`` built, only when needed)."""
    n = len(range(0, n_frames, step))
    if path is not None and path.is_file():
        a = np.load(path)
        if len(a) == n:
            return a.astype(np.float32)
    a = encoder()(iter_frames(source, step)).astype(np.float16)
    if len(a) != n:
        raise VadkitError(f"spatial maps of {source}: {len(a)} frames decoded, {n} expected")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(path, a)
    return a.astype(np.float32)


def pasted_object_scores(
    frames: list[np.ndarray],
    labels: np.ndarray,
    clean_appearance: np.ndarray,
    detector: Any,
    object_speed: Any = None,
    patch_knn: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(object_speed, appearance)`` raw frame scores of a video with pasted objects.

    Appearance is recomputed only on the changed frames (``labels`` 1); elsewhere the frames
    equal the clean video's, so its scores ``clean_appearance`` stand. ``object_speed`` and
    ``patch_knn``: the fitted parts to score with (default: the detector's own; a fold's
    parts when the video is held out of that fold).
    """
    from vadkit.methods.oneclass.flow import FLOW_FEATURES, flow_features
    from vadkit.methods.oneclass.patch_knn import moving_frame_scores

    c = detector.config
    ff = flow_features(
        frames, tuple(c.grid), c.flow_method, c.flow_resize, (detector.window_,),
        height=c.flow_height,
    )  # fmt: skip
    object_speed = detector.object_speed_ if object_speed is None else object_speed
    patch_knn = detector.patch_knn_ if patch_knn is None else patch_knn
    obj = object_speed.score(ff.peaks[..., 0])
    app = np.asarray(clean_appearance, np.float64).copy()
    changed = np.flatnonzero(labels)
    if len(changed):
        maps = detector.spatial_encoder()(frames[t] for t in changed)
        patches = patch_knn.patch_scores(maps)
        share = ff.cells[changed][..., FLOW_FEATURES.index("moving_share")]
        app[changed] = moving_frame_scores(
            patches, share, c.appearance_gate, c.appearance_top, c.appearance_baseline
        )
    return obj, app
