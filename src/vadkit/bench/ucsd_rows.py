"""The rows of the UCSD benchmark: features (cached per run directory), fit, raw scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.io.atomic import atomic_save_npy
from vadkit.io.video import FrameFolderReader
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


def _frames(folder: Path, step: int = 1):
    reader = FrameFolderReader(folder)
    return (f for _, f in reader.iter_frames(0, None, step))


def _cached(path: Path, n: int, make: Callable[[], np.ndarray]) -> np.ndarray:
    if path.is_file():
        a = np.load(path)
        if len(a) == n:
            return a
    a = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(path, a)
    return a


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
    layout: UCSDLayout, fit_ids: list[str], held_ids: list[str], config: Any, cache: Path, log: Log
) -> list[Row]:
    """Flow rows: the training-free baselines, ``motion``, flow-cell ``knn`` and the
    validation-selected ``object_speed`` (the selection table in ``rows[-1].extra``)."""
    from dataclasses import replace

    from vadkit.bench.ucsd_flow import dataset_flow
    from vadkit.bench.ucsd_select import report_test_aucs, select_object_speed
    from vadkit.methods.oneclass.knn import KNNScorer
    from vadkit.methods.oneclass.motion import MotionScorer
    from vadkit.methods.oneclass.object_speed import ObjectSpeedScorer

    flow = dataset_flow(layout, held_ids, config, cache, log)
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
    # object_speed: window, visited threshold and smoothing chosen on synthetic anomalies
    synth = {
        v: (flow[f"train/{v}"]["synth_peaks"], flow[f"train/{v}"]["synth_labels"]) for v in held_ids
    }
    best, table = select_object_speed(
        [flow[f"train/{v}"]["peaks"] for v in fit_ids],
        synth,
        config.windows,
        config.select_min_speeds,
        config.select_sigmas,
        config.object_speed,
        config.selection_rule,
    )
    w = best.window
    peaks = {k: v["peaks"][..., w] for k, v in flow.items()}
    frac = config.windows[w]
    obj = ObjectSpeedScorer(replace(config.object_speed, min_speed=best.min_speed)).fit(
        np.concatenate([peaks[f"train/{v}"] for v in fit_ids])
    )
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
        heldout={v: obj.score(peaks[f"train/{v}"]) for v in held_ids},
        sigma=best.sigma,
    )
    sel.pixel = pixel_metrics(
        layout, lambda v, size: obj.score_maps(peaks[f"test/{v}"], size), config.pixel_downsample
    )
    obj.calibrate_scores(np.concatenate(list(sel.heldout.values())), config.false_alarm_rate)
    sel.extra.update(selected=best, selection=table, scorer=obj, flow=flow, window=frac)
    # the test AUC of every candidate, computed only now that the choice is made (reported,
    # labelled as such; never fed back)
    report_test_aucs(
        [flow[f"train/{v}"]["peaks"] for v in fit_ids],
        {v: flow[f"test/{v}"]["peaks"] for v in layout.test},
        layout.labels,
        table,
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
    fit_ids: list[str],
    held_ids: list[str],
    config: Any,
    cache: Path,
    log: Log,
    moving: dict[str, np.ndarray],
) -> list[Row]:
    """``patch_knn`` on spatial maps of a frame backbone (training frames every n-th): the
    ``appearance`` row counts only patches where something moves (``moving``: ``"split/id"``
    -> ``(n, rows, cols)`` moving share of the flow cells), the ablation row every patch.
    ``rows[0].extra`` keeps the fitted scorer and the encoder for synthetic anomalies."""
    from vadkit.methods.oneclass.patch_knn import PatchKNNScorer, moving_frame_scores
    from vadkit.methods.oneclass.spatial import SpatialEncoder

    d = cache / f"maps-{config.spatial_backbone}-{config.spatial_stage}-s{config.short_side}"
    enc: list[SpatialEncoder] = []

    def encoder() -> SpatialEncoder:  # built once, only when a map is not cached
        if not enc:
            enc.append(
                SpatialEncoder(config.spatial_backbone, config.spatial_stage, config.short_side)
            )
        return enc[0]

    def maps(split: str, vid: str, folder: Path, step: int) -> np.ndarray:
        n = len(
            range(
                0, layout.n_frames[vid] if split == "test" else len(FrameFolderReader(folder)), step
            )
        )

        def make() -> np.ndarray:
            return encoder()(_frames(folder, step)).astype(np.float16)

        return _cached(d / f"{split}-step{step}-{vid}.npy", n, make).astype(np.float32)

    step = config.train_frame_step
    train = {v: maps("train", v, layout.train[v], step) for v in fit_ids}
    scorer = PatchKNNScorer(config.patch).fit(np.concatenate(list(train.values())))
    test_maps = {v: maps("test", v, p, 1) for v, p in layout.test.items()}
    log(f"appearance maps: {len(train)} fit + {len(test_maps)} test videos ({d})")
    patches = {v: scorer.patch_scores(m) for v, m in test_maps.items()}  # once, for all uses
    held = {v: scorer.patch_scores(maps("train", v, layout.train[v], 1)) for v in held_ids}

    def gated(split: str, vid: str, p: np.ndarray) -> np.ndarray:
        return moving_frame_scores(
            p, moving[f"{split}/{vid}"], config.appearance_gate, config.appearance_top
        )

    row = Row(
        name="appearance",
        kind="learned",
        note=f"patch_knn on {config.spatial_backbone} {config.spatial_stage} maps where "
        f"something moves (cell moving share > {config.appearance_gate:g}, mean of the top "
        f"{_frac(config.appearance_top)} of patches)",
        test={v: gated("test", v, p) for v, p in patches.items()},
        heldout={v: gated("train", v, p) for v, p in held.items()},
    )
    row.pixel = pixel_metrics(
        layout,
        lambda v, size: scorer.maps_from_patch_scores(patches[v], size),
        config.pixel_downsample,
    )

    row.extra.update(scorer=scorer, encoder=encoder)
    every = Row(
        name="appearance (every patch)",
        kind="learned ablation",
        note="the largest patch_knn distance of the frame, moving or not",
        test={v: p.reshape(len(p), -1).max(axis=1) for v, p in patches.items()},
        heldout={v: p.reshape(len(p), -1).max(axis=1) for v, p in held.items()},
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
