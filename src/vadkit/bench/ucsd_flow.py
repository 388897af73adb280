"""Flow summaries of every video of a UCSD-layout dataset, cached, in parallel threads.

One ``.npz`` per video under ``cache/flow-<recipe>/`` (:mod:`vadkit.methods.oneclass.
scene_features`): ``cells`` and ``peaks``; the held-out training videos also get
``synth_cells``, ``synth_peaks`` and ``synth_labels`` (their synthetic anomalies for model
selection). The scene detector's fit writes the training videos' files, so here only the
test videos are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.methods.oneclass.scene_features import FlowJob, VideoFlow, compute_flows, count_frames
from vadkit.methods.oneclass.scene_select import synthetic_schedule

__all__ = ["dataset_flow"]


def dataset_flow(
    layout: UCSDLayout,
    held_ids: list[str],
    config: Any,
    cache: Path,
    log: Callable[[str], None],
) -> dict[str, VideoFlow]:
    """``{"train/<id>" | "test/<id>": VideoFlow}`` for every video, computed or from the cache.

    The held-out videos' speed-up schedules are drawn in training-video order from
    ``config.seed``, as :meth:`vadkit.methods.oneclass.scene.SceneDetector.fit` draws them.
    """
    rng = np.random.default_rng(config.seed)
    jobs = []
    for vid, folder in layout.train.items():
        n = count_frames(folder)
        speedup = None
        if vid in held_ids:  # drawn for every held-out video, cached or not
            speedup = synthetic_schedule(
                n, config.synth_share, config.synth_length, tuple(config.synth_factors), rng
            )
        jobs.append(FlowJob(f"train/{vid}", folder, n, speedup))
    jobs += [FlowJob(f"test/{v}", p, layout.n_frames[v]) for v, p in layout.test.items()]
    return compute_flows(jobs, config, cache, log)
