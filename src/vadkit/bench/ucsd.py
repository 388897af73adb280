"""The one-class protocol on a UCSD-layout dataset: fit on normal training videos, score tests.

Steps (every cache under ``out/cache`` so reruns are fast):

1. flow summaries of every video (:mod:`vadkit.bench.ucsd_flow`, parallel processes);
2. optional (``--full``) spatial maps (EfficientNet-Lite0 ``stride8``) and FeatureStores of registered
   backbones through :func:`vadkit.extract.engine.extract` (snippet length 1 for 2-D ones);
3. the training videos are split (seeded) into *fit* and *held-out* videos: scorers are fitted
   on the fit videos; held-out normal scores give each scorer's z-normalisation (for fusion)
   and its threshold at the target false-alarm rate; with synthetic anomalies (an object
   sped up) they select the ``object_speed`` settings (:mod:`vadkit.bench.ucsd_select`).
   No test label is used for any choice;
4. micro / macro frame AUC, pixel AUC where masks exist, a results JSON, score curves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_fusion import select_fusion, synthetic_sets
from vadkit.bench.ucsd_layout import UCSDLayout, find_ucsd_layout
from vadkit.bench.ucsd_rows import Row, appearance_row, motion_rows, store_knn_row
from vadkit.evaluate.metrics import frame_auc_macro, frame_auc_micro, per_video_auc
from vadkit.methods.oneclass.flow import FLOW_FEATURES
from vadkit.methods.oneclass.fusion import fuse, smooth, threshold_at_far
from vadkit.methods.oneclass.knn import KNNConfig
from vadkit.methods.oneclass.motion import MotionConfig
from vadkit.methods.oneclass.object_speed import ObjectSpeedConfig
from vadkit.methods.oneclass.patch_knn import PatchKNNConfig

__all__ = ["UCSDBenchConfig", "run_ucsd_benchmark", "split_training"]


@dataclass(frozen=True)
class UCSDBenchConfig:
    """Every choice of the protocol, fixed before looking at any test label."""

    grid: tuple[int, int] = (8, 12)  # flow cells (rows, columns)
    flow_method: str = "dis"  # or "farneback"
    flow_resize: float = 1.0  # frames resized by this before the flow (when flow_height is None)
    # frames resized to this height before the flow, speeds in its pixels: every speed
    # threshold is then a fraction of the frame height (240: UCSD Ped2's own height)
    flow_height: int | None = 240
    workers: int = 2  # processes computing the flow of different videos
    sigma: float = 5.0  # temporal Gaussian smoothing of the rows not selected, frames
    heldout_fraction: float = 0.25  # training videos held out for calibration (>= 1 video)
    seed: int = 0
    false_alarm_rate: float = 0.05  # threshold target on held-out normal frames
    # object_speed, selected on held-out videos with synthetic anomalies (ucsd_select):
    windows: tuple[float, ...] = (1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4)  # of the frame height
    select_min_speeds: tuple[float, ...] = (0.5, 1.0)  # pixels per frame
    select_sigmas: tuple[float, ...] = (0.0, 3.0, 5.0, 8.0)  # frames
    synth_share: float = 0.4  # share of each held-out video's frames in sped-up segments
    synth_length: int = 30  # frames per segment
    synth_factors: tuple[float, float] = (1.5, 2.5)  # speed-up factor, drawn uniformly
    selection_rule: str = "one_se"  # or "max" (see vadkit.bench.ucsd_select)
    appearance: bool = True  # patch_knn on spatial maps, fused with object_speed (headline)
    appearance_gate: float = 0.05  # a patch counts where its flow cell's moving share exceeds this
    appearance_top: float = 1 / 32  # frame score: mean of this share of the largest patches
    paste_size: float = 1.25  # synthetic foreign object side, x the selected window
    fusion_weights: tuple[float, ...] = tuple(i / 10 for i in range(11))  # of appearance
    spatial_backbone: str = "efficientnet_lite0"
    spatial_stage: str = "stride8"
    short_side: int = 160  # frames resized to this short side for the spatial maps
    train_frame_step: int = 2  # every n-th training frame for appearance features
    store_backbones: tuple[str, ...] = ()  # knn rows on FeatureStores (slow; --full)
    pixel_downsample: int = 4  # pixel AUC on masks and maps subsampled by this
    headline: str = "fusion"  # the row reported as the result (object_speed without appearance)
    motion: MotionConfig = field(default_factory=MotionConfig)
    object_speed: ObjectSpeedConfig = field(default_factory=ObjectSpeedConfig)
    patch: PatchKNNConfig = field(default_factory=PatchKNNConfig)
    knn: KNNConfig = field(default_factory=KNNConfig)


_FUSION_RULE = (
    "highest mean over the synthetic kinds (fast, foreign object) of the micro frame AUC on "
    "held-out normal training videos; test AUCs computed after the choice"
)


def split_training(ids: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of training video ids into (fit, held-out); both non-empty when >= 2 ids."""
    if len(ids) < 2:
        return list(ids), list(ids)
    n_out = min(len(ids) - 1, max(1, round(fraction * len(ids))))
    out = set(np.random.default_rng(seed).choice(len(ids), n_out, replace=False).tolist())
    return [v for i, v in enumerate(ids) if i not in out], [
        v for i, v in enumerate(ids) if i in out
    ]


def _evaluate(labels: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {"micro_auc": frame_auc_micro(labels, scores)}
    per = per_video_auc(labels, scores)
    out["macro_auc"] = frame_auc_macro(labels, scores) if per else None
    out["macro_videos"] = len(per)
    out["per_video_auc"] = per
    return out


def _finish_row(
    row: Row, name: str, layout: UCSDLayout, sigma: float, far: float, state: dict[str, Any]
) -> dict[str, Any]:
    test = {v: smooth(x, sigma) for v, x in row.test.items()}
    held = np.concatenate([smooth(x, sigma) for x in row.heldout.values()])
    res = _evaluate({v: layout.labels[v] for v in test}, test)
    thr = threshold_at_far(held, far)
    res.update(
        name=name,
        kind=row.kind,
        note=row.note,
        sigma=sigma,
        threshold=thr,
        heldout_far=float(np.mean(held > thr)),
        pixel=row.pixel,
    )
    state[name] = test
    return res


def _fusion(obj: Row, app: Row, chosen: dict[str, Any]) -> Row:
    """``(1 - w) z(object_speed) + w z(appearance)`` with the selected weight and sigma."""
    w, stats = chosen["weight"], chosen["stats"]
    weights = {"object_speed": 1 - w, "appearance": w}

    def f(o: np.ndarray, a: np.ndarray) -> np.ndarray:
        return fuse({"object_speed": o, "appearance": a}, stats, weights)

    row = Row(
        name="fusion",
        kind="learned",
        note=f"{1 - w:.1f} x object_speed + {w:.1f} x appearance, z-normalised on held-out "
        f"normal videos; weight and sigma {chosen['sigma']:g} chosen on synthetic anomalies",
        test={v: f(obj.test[v], app.test[v]) for v in obj.test},
        heldout={v: f(obj.heldout[v], app.heldout[v]) for v in obj.heldout},
        sigma=chosen["sigma"],
    )
    row.extra.update(weights=weights, stats=stats)
    return row


def _report_fusion_test_aucs(
    obj: Row, app: Row, table: list[dict[str, Any]], layout: UCSDLayout
) -> None:
    for r in table:
        chosen = {"weight": r["weight"], "sigma": r["sigma"], "stats": {}}
        chosen["stats"] = {
            "object_speed": _mean_std(obj.heldout),
            "appearance": _mean_std(app.heldout),
        }
        row = _fusion(obj, app, chosen)
        test = {v: smooth(x, r["sigma"]) for v, x in row.test.items()}
        r["test_micro_auc"] = frame_auc_micro({v: layout.labels[v] for v in test}, test)


def _mean_std(x: dict[str, np.ndarray]) -> tuple[float, float]:
    a = np.concatenate(list(x.values()))
    return float(a.mean()), max(float(a.std()), 1e-12)


def run_ucsd_benchmark(
    data: str | Path,
    out: str | Path,
    config: UCSDBenchConfig | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the protocol on the dataset at ``data``; write ``out/results.json`` and figures.

    Returns
    -------
    dict : the results JSON (rows, headline, layout notes, timings).
    """
    from vadkit.backbones.registry import list_backbones
    from vadkit.bench.ucsd_report import write_outputs

    config = config or UCSDBenchConfig()
    out = Path(out)
    t0 = time.perf_counter()
    layout = find_ucsd_layout(data)
    fit_ids, held_ids = split_training(list(layout.train), config.heldout_fraction, config.seed)
    log(
        f"{len(layout.train)} training videos ({len(fit_ids)} fit, {len(held_ids)} held out), "
        f"{len(layout.test)} test videos; {len(layout.gt_without_frames)} ground-truth entries "
        "without frames"
    )
    timings: dict[str, float] = {}
    rows: list[Row] = []
    t = time.perf_counter()
    rows += motion_rows(layout, fit_ids, held_ids, config, out / "cache", log)
    timings["motion"] = time.perf_counter() - t
    fusion_sel: dict[str, Any] | None = None
    if config.appearance:
        t = time.perf_counter()
        obj = rows[-1]
        share = FLOW_FEATURES.index("moving_share")
        moving = {k: f["cells"][..., share] for k, f in obj.extra["flow"].items()}
        app = appearance_row(layout, fit_ids, held_ids, config, out / "cache", log, moving)
        rows += app
        timings["appearance"] = time.perf_counter() - t
        t = time.perf_counter()
        sets = synthetic_sets(layout, held_ids, config, out / "cache", obj, app[0], log)
        chosen, table = select_fusion(
            sets, obj.heldout, app[0].heldout, config.fusion_weights, config.select_sigmas
        )
        rows.append(_fusion(obj, app[0], chosen))
        fusion_sel = {"rule": _FUSION_RULE, "selected": chosen, "candidates": table}
        _report_fusion_test_aucs(obj, app[0], table, layout)  # after the choice; reported only
        timings["fusion_selection"] = time.perf_counter() - t
    skipped: list[str] = []
    known = set(list_backbones())
    for bb in config.store_backbones:
        if bb not in known:
            skipped.append(bb)
            continue
        t = time.perf_counter()
        rows.append(store_knn_row(layout, fit_ids, held_ids, config, bb, out / "cache", log))
        timings[f"store_{bb}"] = time.perf_counter() - t

    by_name = {r.name: r for r in rows}
    state: dict[str, np.ndarray] = {}
    results = []
    for name, row in by_name.items():
        sigma = config.sigma if row.sigma is None else row.sigma
        if row.ablate_smoothing and sigma > 0:
            results.append(
                _finish_row(
                    row, f"{name} (no smoothing)", layout, 0.0, config.false_alarm_rate, state
                )
            )
        results.append(_finish_row(row, name, layout, sigma, config.false_alarm_rate, state))
    headline = config.headline if config.headline in state else "object_speed"
    sel = by_name["object_speed"].extra
    out.mkdir(parents=True, exist_ok=True)
    model = sel["scorer"].save(out / "object_speed.npz")  # fitted, threshold on raw scores
    timings["total"] = time.perf_counter() - t0
    import resource

    use = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in use)
    doc = {
        "dataset": str(layout.root),
        "ground_truth": str(layout.gt_file),
        "n_train": len(layout.train),
        "fit_videos": fit_ids,
        "heldout_videos": held_ids,
        "n_test": len(layout.test),
        "n_test_frames": int(sum(len(v) for v in layout.labels.values())),
        "gt_without_frames": layout.gt_without_frames,
        "test_without_gt": layout.test_without_gt,
        "mask_videos": layout.mask_ids,
        "config": asdict(config),
        "headline": headline,
        "rows": results,
        "skipped_backbones": skipped,
        "model": str(model),
        "selection": {
            "rule": f"{config.selection_rule}: micro frame AUC on held-out normal training "
            "videos with synthetic anomalies (largest moving region sped up); test AUCs "
            "computed after the choice",
            "selected": asdict(sel["selected"]),
            "window_fraction": config.windows[sel["selected"].window],
            "candidates": sel["selection"],
        },
        "fusion_selection": fusion_sel,
        "timings_s": timings,
        "cpu_s": cpu,
    }
    write_outputs(doc, state, layout, out)
    return doc
