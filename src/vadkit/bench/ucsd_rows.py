"""The rows of the UCSD benchmark: features (cached per run directory), fit, raw scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.methods.oneclass.flow import FLOW_FEATURES

__all__ = ["Row", "motion_rows", "appearance_row", "store_knn_row", "pixel_metrics"]

Log = Callable[[str], None]


@dataclass
class Row:
    """Raw (unsmoothed) per-frame scores of one scorer on the test and held-out videos."""

    name: str
    kind: str  # "training-free" | "learned"
    note: str
    test: dict[str, np.ndarray]
    heldout: dict[str, np.ndarray]
    pixel: dict[str, Any] | None = None
    ablate_smoothing: bool = True  # also report the row without temporal smoothing
    sigma: float | None = None  # smoothing of this row (None: the benchmark's sigma)
    extra: dict[str, Any] = field(default_factory=dict)


def pixel_metrics(layout: UCSDLayout, maps: Callable[[str, tuple[int, int]], np.ndarray], ds: int):
    """Pixel AUC and the UCSD pixel-level AUC over the test videos that have masks.

    ``maps(video_id, (h, w))`` gives ``(n, h, w)`` score maps; masks are subsampled by ``ds``.
    """
    from vadkit.evaluate.pixel import pixel_auc, pixel_level_auc_ucsd

    if layout.masks is None:
        return None
    ms, ss = [], []
    for vid in layout.mask_ids:
        m = layout.masks(vid)[:, ::ds, ::ds]
        ms.append(m)
        ss.append(maps(vid, m.shape[1:]))
    m, s = np.concatenate(ms), np.concatenate(ss)
    res: dict[str, Any] = {"videos": len(ms), "downsample": ds}
    if m.any() and not m.all():
        res["pixel_auc"] = pixel_auc(m, s)
    if m.reshape(len(m), -1).any(axis=1).any() and not m.reshape(len(m), -1).any(axis=1).all():
        res["ucsd_pixel_level_auc"] = pixel_level_auc_ucsd(m, s)
    return res


def motion_rows(
    layout: UCSDLayout,
    fit_ids: list[str],
    held_ids: list[str],
    config: Any,
    flow: dict[str, Any],
    detector: Any,
) -> list[Row]:
    """Flow rows: the training-free baselines, ``motion``, flow-cell ``knn`` and the
    detector's validation-selected ``object_speed`` (its selection table in
    ``rows[-1].extra``)."""
    from dataclasses import replace

    from vadkit.bench.ucsd_select import report_test_aucs
    from vadkit.methods.oneclass.knn import KNNScorer
    from vadkit.methods.oneclass.motion import MotionScorer

    cells = {k: v["cells"] for k, v in flow.items()}
    speed = FLOW_FEATURES.index("mean_speed")

    def fastest(x: np.ndarray) -> np.ndarray:
        return x[..., speed].reshape(len(x), -1).max(axis=1)

    base = Row(
        name="fastest-cell speed",
        kind="training-free",
        note="mean flow speed of the fastest cell; no training data used",
        test={v: fastest(cells[f"test/{v}"]) for v in layout.test},
        heldout={v: fastest(cells[f"train/{v}"]) for v in held_ids},
    )
    scorer = MotionScorer(config.motion).fit(np.concatenate([cells[f"train/{v}"] for v in fit_ids]))
    row = Row(
        name="motion",
        kind="learned",
        note=f"per-cell normal model of flow ({config.motion.mode})",
        test={v: scorer.score(cells[f"test/{v}"]) for v in layout.test},
        heldout={v: scorer.score(cells[f"train/{v}"]) for v in held_ids},
    )
    row.pixel = pixel_metrics(
        layout, lambda v, size: scorer.score_maps(cells[f"test/{v}"], size), config.pixel_downsample
    )
    scorer.calibrate_scores(np.concatenate(list(row.heldout.values())), config.false_alarm_rate)

    def flat(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)

    knn = KNNScorer(replace(config.knn, l2_normalize=False)).fit(
        np.concatenate([flat(cells[f"train/{v}"]) for v in fit_ids])
    )
    flow_knn = Row(
        name="flow-cell knn",
        kind="learned baseline",
        note="knn on the frame's vector of all flow-cell statistics",
        test={v: knn.score(flat(cells[f"test/{v}"])) for v in layout.test},
        heldout={v: knn.score(flat(cells[f"train/{v}"])) for v in held_ids},
        ablate_smoothing=False,
    )
    # object_speed: window, visited threshold and smoothing chosen by the detector's fit
    best, obj, frac = detector.selected_, detector.object_speed_, detector.window_
    peaks = {k: v["peaks"][..., best.window] for k, v in flow.items()}
    what = f"window {_frac(frac)} of the frame height, min speed {best.min_speed:g}"
    free = Row(
        name="fastest-window speed",
        kind="training-free",
        note=f"largest mean speed over a window ({what.split(',')[0]}; the selected window)",
        test={v: flat(peaks[f"test/{v}"]).max(axis=1) for v in layout.test},
        heldout={v: flat(peaks[f"train/{v}"]).max(axis=1) for v in held_ids},
        sigma=best.sigma,
    )
    sel = Row(
        name="object_speed",
        kind="learned",
        note=f"validation-selected: {what}",
        test={v: obj.score(peaks[f"test/{v}"]) for v in layout.test},
        heldout=dict(detector.heldout_["object_speed"]),
        sigma=best.sigma,
    )
    sel.pixel = pixel_metrics(
        layout, lambda v, size: obj.score_maps(peaks[f"test/{v}"], size), config.pixel_downsample
    )
    sel.extra.update(selected=best, selection=detector.selection_, scorer=obj, window=frac)
    # the test AUC of every candidate, computed only now that the choice is made (reported,
    # labelled as such; never fed back)
    report_test_aucs(
        [flow[f"train/{v}"]["peaks"] for v in detector.fit_ids_],  # the final fit's videos
        {v: flow[f"test/{v}"]["peaks"] for v in layout.test},
        layout.labels,
        detector.selection_,
        config.windows,
        config.object_speed,
    )
    return [base, flow_knn, row, free, sel]


def _frac(x: float) -> str:
    from fractions import Fraction

    f = Fraction(x).limit_denominator(64)
    return f"{f.numerator}/{f.denominator}" if abs(float(f) - x) < 1e-9 else f"{x:g}"


def appearance_row(
    layout: UCSDLayout,
    held_ids: list[str],
    config: Any,
    cache: Path,
    log: Log,
    flow: dict[str, Any],
    detector: Any,
) -> list[Row]:
    """The detector's ``patch_knn`` on the test videos: the ``appearance`` row counts only
    patches where something moves, the ablation row every patch. ``rows[0].extra["parts"]``
    keeps the detector's raw test scores for the fusion row."""
    parts = {
        v: detector.parts(p, flow=flow[f"test/{v}"], key=f"test/{v}", cache=cache)
        for v, p in layout.test.items()
    }
    log(f"appearance maps: {len(layout.test)} test videos ({detector.maps_dir(cache)})")
    held_patches = detector.heldout_["patches"]
    scorer = detector.patch_knn_
    row = Row(
        name="appearance",
        kind="learned",
        note=f"patch_knn on {config.spatial_backbone} {config.spatial_stage} maps where "
        f"something moves (cell moving share > {config.appearance_gate:g}, mean of the top "
        f"{_frac(config.appearance_top)} of patches)",
        test={v: p["appearance"] for v, p in parts.items()},
        heldout=dict(detector.heldout_["appearance"]),
    )
    row.pixel = pixel_metrics(
        layout,
        lambda v, size: scorer.maps_from_patch_scores(parts[v]["patches"], size),
        config.pixel_downsample,
    )
    row.extra.update(parts=parts)
    every = Row(
        name="appearance (every patch)",
        kind="learned ablation",
        note="the largest patch_knn distance of the frame, moving or not",
        test={v: p["patches"].reshape(len(p["patches"]), -1).max(axis=1) for v, p in parts.items()},
        heldout={v: p.reshape(len(p), -1).max(axis=1) for v, p in held_patches.items()},
    )
    return [row, every]


def store_knn_row(
    layout: UCSDLayout,
    fit_ids: list[str],
    held_ids: list[str],
    config: Any,
    backbone: str,
    cache: Path,
    log: Log,
) -> Row:
    """``knn`` on FeatureStore features of ``backbone`` (extracted with :mod:`vadkit.extract`)."""
    from vadkit.backbones.registry import get_config
    from vadkit.evaluate.expand import expand_snippets
    from vadkit.extract.engine import ExtractOptions, extract
    from vadkit.io.inputs import InputItem
    from vadkit.methods.oneclass.knn import KNNScorer

    bc = get_config(backbone)
    length = 1 if bc.kind == "frame" else bc.clip_len
    step = config.train_frame_step if bc.kind == "frame" else length

    def store(name: str, videos: dict[str, Path], stride: int):
        items = [InputItem(v, p) for v, p in videos.items()]
        opts = ExtractOptions(clip_len=length, stride=stride, padding="repeat_last")
        res = extract(
            items, cache / f"store-{backbone}-{name}", backbone, options=opts, progress=False
        )
        if res.failed:
            from vadkit.errors import VadkitError

            raise VadkitError(f"extraction failed for {res.failed[0][0]}: {res.failed[0][1]}")
        return res.store

    train = store(f"train-s{step}", {v: layout.train[v] for v in fit_ids}, step)
    held = store(f"heldout-s{length}", {v: layout.train[v] for v in held_ids}, length)
    test = store(f"test-s{length}", layout.test, length)
    scorer = KNNScorer(config.knn).fit(np.concatenate([np.asarray(train.load(v)) for v in fit_ids]))

    def frames(st, vid: str) -> np.ndarray:
        s = scorer.score(np.asarray(st.load(vid)))
        n = st.entry(vid).n_frames or len(s) * length
        return expand_snippets(s, length, length, n_frames=n, convention="exact")

    log(
        f"{backbone} store knn: {len(fit_ids)} fit, {len(held_ids)} held-out, {len(layout.test)} test"
    )
    return Row(
        name=f"{backbone} knn",
        kind="learned",
        note=f"knn on FeatureStore features (snippet length {length}, crop: center)",
        test={v: frames(test, v) for v in layout.test},
        heldout={v: frames(held, v) for v in held_ids},
        ablate_smoothing=False,
    )
