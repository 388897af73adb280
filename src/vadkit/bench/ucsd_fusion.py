"""Label-free choice of the motion + appearance fusion of the UCSD benchmark.

Two kinds of synthetic anomaly are made in the held-out normal training videos (never
used to fit): **fast** (the largest moving region's flow sped up, as for the
``object_speed`` selection: the frames are unchanged, so appearance cannot see it) and
**foreign object** (a textured object pasted and moved at the scene's normal object speed,
:mod:`vadkit.methods.oneclass.synthetic`: slow, so only appearance can see it). The fused
score is ``(1 - w) * z(object_speed) + w * z(appearance)``, each z-normalised with its
scores on the clean held-out videos, then smoothed with ``sigma``. The candidate ``(w,
sigma)`` with the highest mean of the per-kind micro frame AUCs wins (ties: the first in
grid order, i.e. the smaller weight and sigma), so a setting must detect both kinds. The
per-kind AUCs of every candidate go to the results. No test video or label is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.evaluate.metrics import frame_auc_micro
from vadkit.methods.oneclass.fusion import smooth

__all__ = ["KINDS", "select_fusion", "synthetic_sets"]

KINDS = ("fast", "foreign object")

#: kind -> video id -> (object_speed scores, appearance scores, labels)
SyntheticSets = dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]


def _pasted_scores(
    frames: list[np.ndarray],
    y: np.ndarray,
    clean_app: np.ndarray,
    obj_row: Any,
    app_row: Any,
    config: Any,
) -> tuple[np.ndarray, np.ndarray]:
    from vadkit.methods.oneclass.flow import FLOW_FEATURES, flow_features
    from vadkit.methods.oneclass.patch_knn import moving_frame_scores

    ff = flow_features(
        frames,
        tuple(config.grid),
        config.flow_method,
        config.flow_resize,
        (obj_row.extra["window"],),
        height=config.flow_height,
    )
    obj = obj_row.extra["scorer"].score(ff.peaks[..., 0])
    app = np.asarray(clean_app, np.float64).copy()
    changed = np.flatnonzero(y)
    if len(changed):
        maps = app_row.extra["encoder"]()(frames[t] for t in changed)
        patches = app_row.extra["scorer"].patch_scores(maps)
        share = ff.cells[changed][..., FLOW_FEATURES.index("moving_share")]
        app[changed] = moving_frame_scores(
            patches, share, config.appearance_gate, config.appearance_top
        )
    return obj, app


def synthetic_sets(
    layout: UCSDLayout,
    held_ids: Sequence[str],
    config: Any,
    cache: Path,
    obj_row: Any,
    app_row: Any,
    log: Callable[[str], None],
) -> SyntheticSets:
    """Both kinds of synthetic anomaly on the held-out videos, scored by both scorers
    (foreign-object scores cached under ``cache/paste-<key>/``)."""
    from vadkit.bench.ucsd_rows import _frames
    from vadkit.bench.ucsd_select import synthetic_schedule
    from vadkit.io.atomic import atomic_write_bytes
    from vadkit.methods.oneclass.synthetic import paste_moving_objects, segments_of

    flow, obj = obj_row.extra["flow"], obj_row.extra["scorer"]
    w = obj_row.extra["selected"].window
    out: SyntheticSets = {k: {} for k in KINDS}
    for v in held_ids:
        f = flow[f"train/{v}"]
        out["fast"][v] = (
            obj.score(f["synth_peaks"][..., w]),
            app_row.heldout[v],
            f["synth_labels"],
        )
    speed = float(np.median(obj.ref_speed_))  # the scene's normal object speed, px/frame
    rec = {
        "texture": "scene colour statistics",
        "speed": round(speed, 6),
        "window": obj_row.extra["window"],
        "min_speed": obj.config.min_speed,
        "size": config.paste_size,
        "synth": [config.synth_share, config.synth_length],
        "seed": config.seed,
        "app": [config.appearance_gate, config.appearance_top, config.short_side],
        "flow": [list(config.grid), config.flow_method, config.flow_resize, config.flow_height],
    }
    key = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:10]
    d = cache / f"paste-{key}"
    rng = np.random.default_rng(config.seed + 1)
    made = 0
    for v in held_ids:
        frames = list(_frames(layout.train[v]))
        size = max(8, round(obj_row.extra["window"] * frames[0].shape[0] * config.paste_size))
        sched = synthetic_schedule(
            len(frames), config.synth_share, config.synth_length, (1, 1), rng
        )
        vid_rng = np.random.default_rng(rng.integers(2**32))  # same draws cached or not
        path = d / f"{v}.npz"
        if path.is_file():
            with np.load(path) as z:
                out["foreign object"][v] = (z["obj"], z["app"], z["labels"])
            continue
        # the normal speed is in pixels of the flow's frame; the object moves in the video's
        px = speed * frames[0].shape[0] / config.flow_height if config.flow_height else speed
        pasted, y = paste_moving_objects(frames, segments_of(sched), size, px, vid_rng)
        o, a = _pasted_scores(pasted, y, app_row.heldout[v], obj_row, app_row, config)
        import io

        buf = io.BytesIO()
        np.savez(buf, obj=o, app=a, labels=y)
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
        out["foreign object"][v] = (o, a, y)
        made += 1
    log(f"synthetic foreign objects: {len(held_ids)} held-out videos, {made} computed ({d})")
    return out


def _stats(x: dict[str, np.ndarray]) -> tuple[float, float]:
    a = np.concatenate(list(x.values()))
    return float(a.mean()), max(float(a.std()), 1e-12)


def select_fusion(
    sets: SyntheticSets,
    obj_heldout: dict[str, np.ndarray],
    app_heldout: dict[str, np.ndarray],
    weights: Sequence[float],
    sigmas: Sequence[float],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Choose ``(w, sigma)`` (module docstring). Returns (chosen row, table of candidates);
    the chosen row also has the z statistics ``stats`` of both parts."""
    from vadkit.errors import VadkitError

    so, sa = _stats(obj_heldout), _stats(app_heldout)
    for k in KINDS:
        ys = np.concatenate([y for _, _, y in sets[k].values()]) if sets[k] else np.zeros(0)
        if not ys.any() or ys.all():
            raise VadkitError(
                f"fusion selection: the held-out training videos gave no synthetic {k!r} "
                "anomaly or no normal frame; use more or longer training videos"
            )
    table: list[dict[str, Any]] = []
    for w in weights:
        fused = {
            k: {
                v: (1 - w) * (o - so[0]) / so[1] + w * (a - sa[0]) / sa[1]
                for v, (o, a, _) in sets[k].items()
            }
            for k in KINDS
        }
        for s in sigmas:
            aucs = {
                k: frame_auc_micro(
                    {v: y for v, (_, _, y) in sets[k].items()},
                    {v: smooth(x, s) for v, x in fused[k].items()},
                )
                for k in KINDS
            }
            table.append(
                {
                    "weight": float(w),
                    "sigma": float(s),
                    "kind_auc": aucs,
                    "val_auc": float(np.mean(list(aucs.values()))),
                }
            )
    if not table:
        raise VadkitError("fusion selection: the candidate grid is empty")
    pick = int(np.argmax([r["val_auc"] for r in table]))
    for i, r in enumerate(table):
        r["selected"] = i == pick
    chosen = dict(table[pick], stats={"object_speed": so, "appearance": sa})
    return chosen, table
