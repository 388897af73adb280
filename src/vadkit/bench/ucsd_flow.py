"""Flow summaries of every video of a UCSD-layout dataset, cached, in parallel processes.

One ``.npz`` per video under ``cache/flow-<recipe>/``: ``cells`` and ``peaks`` of
:func:`vadkit.methods.oneclass.flow.flow_features`; the held-out training videos also get
``synth_cells``, ``synth_peaks`` and ``synth_labels`` (their synthetic anomalies for model
selection). A file whose frame count does not match its video is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.io.video import FrameFolderReader

__all__ = ["VideoFlow", "dataset_flow"]

#: per video: "cells", "peaks" (+ "synth_cells", "synth_peaks", "synth_labels" when held out)
VideoFlow = dict[str, np.ndarray]


def _job(args: tuple[str, dict[str, Any], dict[int, float] | None, str]) -> str:
    """Compute one video's flow summaries and write them (runs in a worker process)."""
    import io

    import cv2

    from vadkit.io.atomic import atomic_write_bytes
    from vadkit.methods.oneclass.flow import flow_features

    folder, rec, speedup, dest = args
    cv2.setNumThreads(1)
    frames = (f for _, f in FrameFolderReader(Path(folder)).iter_frames(0, None, 1))
    ff = flow_features(
        frames,
        tuple(rec["grid"]),
        rec["method"],
        rec["resize"],
        rec["windows"],
        speedup,
        rec.get("height"),
    )
    arrays = {k: v for k, v in vars(ff).items() if v is not None}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(Path(dest), buf.getvalue())
    return dest


def _load(path: Path, n: int, synth: bool) -> VideoFlow | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None
    if len(d.get("cells", ())) != n or (synth and "synth_labels" not in d):
        return None
    return d


def dataset_flow(
    layout: UCSDLayout,
    held_ids: list[str],
    config: Any,
    cache: Path,
    log: Callable[[str], None],
) -> dict[str, VideoFlow]:
    """``{"train/<id>" | "test/<id>": VideoFlow}`` for every video, computed or from the cache.

    ``config`` gives ``grid``, ``flow_method``, ``flow_resize``, ``windows``, ``workers``,
    ``seed`` and the synthetic-anomaly settings ``synth_share``, ``synth_length``,
    ``synth_factors`` (see :func:`vadkit.bench.ucsd_select.synthetic_schedule`).
    """
    from vadkit.bench.ucsd_select import synthetic_schedule

    rec = {
        "grid": list(config.grid),
        "method": config.flow_method,
        "resize": config.flow_resize,
        "height": config.flow_height,
        "windows": [float(w) for w in config.windows],
        "synth": [config.synth_share, config.synth_length, list(config.synth_factors)],
        "seed": config.seed,
    }
    key = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:10]
    d = cache / f"flow-{config.flow_method}-{config.grid[0]}x{config.grid[1]}-{key}"
    rng = np.random.default_rng(config.seed)
    videos = [("train", v, p) for v, p in layout.train.items()]
    videos += [("test", v, p) for v, p in layout.test.items()]
    out: dict[str, VideoFlow] = {}
    jobs = []
    for split, vid, folder in videos:
        n = layout.n_frames[vid] if split == "test" else len(FrameFolderReader(folder))
        held = split == "train" and vid in held_ids
        speedup = None
        if held:  # drawn for every held-out video, cached or not: the same schedule each run
            speedup = synthetic_schedule(
                n, config.synth_share, config.synth_length, tuple(config.synth_factors), rng
            )
        path = d / f"{split}-{vid}.npz"
        got = _load(path, n, held)
        if got is None:
            jobs.append((f"{split}/{vid}", (str(folder), rec, speedup, str(path)), n, held))
        else:
            out[f"{split}/{vid}"] = got
    d.mkdir(parents=True, exist_ok=True)
    if jobs:
        args = [j[1] for j in jobs]
        if config.workers > 1 and len(jobs) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: a forked child of a process whose torch/OpenMP/OpenCV threads
            # hold a lock at fork time can wait on it forever (seen under pytest)
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(config.workers, len(jobs)), mp_context=ctx) as pool:
                list(pool.map(_job, args))
        else:
            for a in args:
                _job(a)
        for name, a, n, held in jobs:
            got = _load(Path(a[3]), n, held)
            if got is None:
                from vadkit.errors import VadkitError

                raise VadkitError(
                    f"flow of {a[0]}: written file {a[3]} does not match the video's {n} frames"
                )
            out[name] = got
    log(f"flow features: {len(videos)} videos, {len(jobs)} computed ({d})")
    return out
