"""The one-class protocol on a UCSD-layout dataset: fit on normal training videos, score tests.

Steps (every cache under ``out/cache`` so reruns are fast):

1. the scene detector (:class:`vadkit.methods.oneclass.scene.SceneDetector`, the one a user
   fits on their own camera) is fitted on the training videos: it splits them (seeded) into
   *fit* and *held-out* videos, computes their flow summaries and appearance maps, and makes
   every choice (``object_speed`` window, threshold and smoothing; fusion weight and
   smoothing) on held-out videos with synthetic anomalies. No test label is used for any
   choice;
2. flow summaries of the test videos (:mod:`vadkit.bench.ucsd_flow`, parallel processes) and
   the other rows: training-free baselines, ``motion``, flow-cell ``knn``, the detector's
   parts (``object_speed``, ``appearance``) and its fused score (the headline ``fusion``);
3. optional (``--full``) FeatureStores of registered backbones through
   :func:`vadkit.extract.engine.extract` (snippet length 1 for 2-D ones), scored by ``knn``;
4. micro / macro frame AUC, pixel AUC where masks exist, a results JSON, score curves, and
   ``scene.npz`` (the fitted detector).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_flow import dataset_flow
from vadkit.bench.ucsd_layout import UCSDLayout, find_ucsd_layout
from vadkit.bench.ucsd_rows import Row, appearance_row, motion_rows, store_knn_row
from vadkit.errors import VadkitError
from vadkit.evaluate.metrics import frame_auc_macro, frame_auc_micro, per_video_auc
from vadkit.methods.oneclass.fusion import fuse, smooth, threshold_at_far
from vadkit.methods.oneclass.knn import KNNConfig
from vadkit.methods.oneclass.motion import MotionConfig
from vadkit.methods.oneclass.scene import SceneConfig, SceneDetector, split_training

__all__ = ["UCSDBenchConfig", "run_ucsd_benchmark", "split_training"]  # split: of the detector


@dataclass(frozen=True)
class UCSDBenchConfig(SceneConfig):
    """Every choice of the protocol, fixed before looking at any test label: the scene
    detector's settings (:class:`~vadkit.methods.oneclass.scene.SceneConfig`, the same
    defaults) plus the benchmark's other rows."""

    sigma: float = 5.0  # temporal Gaussian smoothing of the rows not selected, frames
    store_backbones: tuple[str, ...] = ()  # knn rows on FeatureStores (slow; --full)
    pixel_downsample: int = 4  # pixel AUC on masks and maps subsampled by this
    headline: str = "fusion"  # the row reported as the result (object_speed without appearance)
    train_videos: int | None = None  # only the first N training videos (by name): a small scene
    motion: MotionConfig = field(default_factory=MotionConfig)
    knn: KNNConfig = field(default_factory=KNNConfig)


_FUSION_RULE = (
    "highest mean over the synthetic kinds (fast, foreign object) of the micro frame AUC on "
    "held-out normal training videos; test AUCs computed after the choice"
)


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


def _fusion(obj: Row, app: Row, detector: SceneDetector) -> Row:
    """The detector's own score: its selected weight and sigma on the test videos."""
    w = float(detector.fusion_["weight"])
    parts = app.extra["parts"]
    held = detector.heldout_
    row = Row(
        name="fusion",
        kind="learned",
        note=f"{1 - w:.1f} x object_speed + {w:.1f} x appearance, z-normalised on held-out "
        f"normal videos; weight and sigma {detector.sigma_:g} chosen on synthetic anomalies "
        "(the scene detector)",
        test={v: detector.fuse(parts[v]) for v in obj.test},
        heldout={
            v: detector.fuse({k: held[k][v] for k in ("object_speed", "appearance")})
            for v in obj.heldout
        },  # fmt: skip
        sigma=detector.sigma_,
    )
    return row


def _report_fusion_test_aucs(
    obj: Row, app: Row, table: list[dict[str, Any]], layout: UCSDLayout, detector: SceneDetector
) -> None:
    stats = detector.fusion_["stats"]
    for r in table:
        w, s = r["weight"], r["sigma"]
        test = {
            v: smooth(
                fuse({"object_speed": obj.test[v], "appearance": app.test[v]}, stats,
                     {"object_speed": 1 - w, "appearance": w}), s)
            for v in obj.test
        }  # fmt: skip
        r["test_micro_auc"] = frame_auc_micro({v: layout.labels[v] for v in test}, test)


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
    cache = out / "cache"
    t0 = time.perf_counter()
    layout = find_ucsd_layout(data)
    if config.train_videos is not None:
        n = config.train_videos
        if not 2 <= n <= len(layout.train):
            raise VadkitError(
                f"train_videos {n}: need 2..{len(layout.train)} (the training videos of "
                f"{layout.root})"
            )
        layout.train = {v: layout.train[v] for v in sorted(layout.train)[:n]}
    timings: dict[str, float] = {}
    t = time.perf_counter()
    detector = SceneDetector(SceneConfig.of(config)).fit(layout.train, cache=cache, log=log)
    timings["detector_fit"] = time.perf_counter() - t
    # the other rows fit and calibrate on the detector's first fold (with one fold, its split)
    fit_ids, held_ids = detector.folds_[0]
    log(
        f"{len(layout.train)} training videos ({len(detector.fit_ids_)} fit, "
        f"{len(detector.heldout_ids_)} held out in {len(detector.folds_)} fold(s)), "
        f"{len(layout.test)} test videos; {len(layout.gt_without_frames)} ground-truth entries "
        "without frames"
    )
    rows: list[Row] = []
    t = time.perf_counter()
    # training videos: cached by the detector's fit (the same held-out videos)
    flow = dataset_flow(layout, detector.heldout_ids_, config, cache, log)
    rows += motion_rows(layout, fit_ids, held_ids, config, flow, detector)
    timings["motion_rows"] = time.perf_counter() - t
    fusion_sel: dict[str, Any] | None = None
    if config.appearance:
        t = time.perf_counter()
        obj = rows[-1]
        app = appearance_row(layout, held_ids, config, cache, log, flow, detector)
        rows += app
        rows.append(_fusion(obj, app[0], detector))
        chosen = {k: v for k, v in detector.fusion_.items()}
        table = detector.fusion_table_
        fusion_sel = {"rule": _FUSION_RULE, "selected": chosen, "candidates": table}
        _report_fusion_test_aucs(obj, app[0], table, layout, detector)  # after the choice
        timings["appearance_rows"] = time.perf_counter() - t
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
    detector.save(out / "scene.npz")  # the detector ``vadkit predict --model`` can use
    timings["total"] = time.perf_counter() - t0
    import resource

    use = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in use)
    doc = {
        "dataset": str(layout.root),
        "ground_truth": str(layout.gt_file),
        "n_train": len(layout.train),
        "fit_videos": detector.fit_ids_,
        "heldout_videos": detector.heldout_ids_,
        "folds": [{"fit": f, "heldout": h} for f, h in detector.folds_],
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
        "detector": str(out / "scene.npz"),
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
