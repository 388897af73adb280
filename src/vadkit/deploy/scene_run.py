"""A scene-detector run directory: :class:`SceneDetector` fitted on a camera's normal videos.

::

    RUN_DIR/
      config.yaml     kind: scene, method: scene, model (SceneConfig), data.train (id -> path),
                      run (vadkit version, fit and held-out video ids)
      scene.npz       the fitted detector (SceneDetector.save): choices, scorers, threshold
      threshold.json  its threshold at the false-alarm rate on held-out normal frames, with
                      those frames' scores (``vadkit predict --far``)
      metrics.json    what was chosen and on what (SceneDetector.summary), the selection
                      tables of object_speed and of the fusion (synthetic anomalies only)

``vadkit predict VIDEO --model RUN_DIR`` scores new video of the same camera with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vadkit.errors import VadkitError

__all__ = ["fit_scene_run"]


def fit_scene_run(
    videos: Mapping[str, Any],
    out: str | Path,
    config: Any = None,
    *,
    cache: str | Path | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the scene detector on ``videos`` (id -> file or frame folder; normal only) and
    write the run directory ``out``. Returns the content of ``metrics.json``."""
    from vadkit import __version__
    from vadkit.methods.oneclass.scene import SceneDetector
    from vadkit.train.rundir import RunWriter

    if len(videos) < 2:
        raise VadkitError(
            f"fit-scene: needs at least 2 normal videos (one is held out for the choices and the "
            f"threshold), got {len(videos)}"
        )
    writer = RunWriter(out, overwrite=overwrite)
    try:
        det = SceneDetector(config).fit(videos, cache=cache, log=log)
        det.save(writer.path / "scene.npz")
        summary = det.summary()
        writer.write_config({
            "method": "scene", "kind": "scene", "model": asdict(det.config),
            "data": {"train": {k: str(v) for k, v in videos.items()}},
            "run": {"vadkit_version": __version__, "fit_ids": det.fit_ids_,
                    "heldout_ids": det.heldout_ids_},
        })  # fmt: skip
        far = det.config.false_alarm_rate
        writer.write_json("threshold.json", {
            "threshold": det.threshold_, "default": f"{far:g} false alarms on held-out normal "
            "frames", "far": far, "on": f"frames of {len(det.heldout_ids_)} held-out normal "
            "videos", "far_scores": [float(x) for x in det.far_scores_],
        })  # fmt: skip
        metrics = {
            "method": "scene", "kind": "scene", "selection": "label-free (synthetic anomalies "
            "on held-out normal videos)", **summary,
            "object_speed_candidates": det.selection_, "fusion_candidates": det.fusion_table_,
        }  # fmt: skip
        writer.write_metrics(metrics)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return metrics
