"""``scene``: the one-class default for a fixed camera, fitted on a few minutes of normal video.

It fuses motion and appearance, and chooses its own settings without any labelled anomaly:

1. the normal videos are split (seeded) into *fit* and *held-out* videos;
2. motion: dense optical flow summarised per grid cell and window (frames resized to a
   canonical height, so speeds and windows are fractions of the frame);
   :class:`~vadkit.methods.oneclass.object_speed.ObjectSpeedScorer` learns per cell how fast
   normal objects move; its window, visited threshold and smoothing are chosen on the
   held-out videos with synthetic *fast* anomalies (:mod:`.scene_select`);
3. appearance: :class:`~vadkit.methods.oneclass.patch_knn.PatchKNNScorer` on EfficientNet-Lite0
   ``stride8`` maps, counted only where something moves;
4. fusion ``(1 - w) z(object_speed) + w z(appearance)``, weight and smoothing chosen on the
   synthetic kinds ``synth_kinds`` (default: fast, and a foreign object pasted and moved at
   walking speed: the scene's own walker turned on its side, ``foreign_texture``; opt-in: the
   walker moved upright where normal video rarely moves);
5. the threshold at ``false_alarm_rate`` of the fused scores of the clean held-out videos.

``vadkit benchmark ucsd`` fits exactly this detector on the training videos (its headline row
is the detector's score), and ``vadkit fit-scene`` writes it as a run directory that
``vadkit predict`` uses. Scores are per frame; higher is more anomalous.

Example
-------
>>> det = SceneDetector().fit({"a": "normal/a.mp4", "b": "normal/b.mp4"})  # doctest: +SKIP
>>> frame_scores = det.score("new.mp4")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.fusion import smooth, threshold_at_far, zscore
from vadkit.methods.oneclass.object_speed import ObjectSpeedConfig, ObjectSpeedScorer
from vadkit.methods.oneclass.patch_knn import PatchKNNConfig, PatchKNNScorer
from vadkit.methods.oneclass.scene_features import (
    FlowJob,
    VideoFlow,
    compute_flows,
    count_frames,
    iter_frames,
    pasted_object_scores,
    spatial_maps,
)
from vadkit.methods.oneclass.scene_select import (
    KINDS,
    Candidate,
    SyntheticSets,
    pooled_mean_std,
    select_fusion,
    select_object_speed,
    synthetic_schedule,
)

__all__ = ["SceneConfig", "SceneDetector", "split_folds", "split_training"]

Log = Callable[[str], None]

#: what the synthetic foreign object is made of (``SceneConfig.foreign_texture``)
FOREIGN_TEXTURES = ("turned walker", "noise")


@dataclass(frozen=True)
class SceneConfig:
    """Every setting of the detector; none was taken from a test video (docs/benchmarks.md)."""

    grid: tuple[int, int] = (8, 12)  # flow cells (rows, columns)
    flow_method: str = "dis"  # or "farneback"
    flow_resize: float = 1.0  # frames resized by this before the flow (when flow_height is None)
    # frames resized to this height before the flow, speeds in its pixels: every speed
    # threshold is then a fraction of the frame height (240: UCSD Ped2's own height)
    flow_height: int | None = 240
    workers: int = 2  # threads computing the flow of different videos
    heldout_fraction: float = 0.25  # training videos held out per fold (>= 1 video)
    # cross-fitting: folds until this many videos have been held out (each at most once);
    # with more than one fold the final parts are fitted on every video (split_folds)
    min_heldout_videos: int = 4
    seed: int = 0
    false_alarm_rate: float = 0.05  # threshold target on held-out normal frames
    # object_speed, selected on held-out videos with synthetic anomalies (scene_select):
    windows: tuple[float, ...] = (1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4)  # of the frame height
    select_min_speeds: tuple[float, ...] = (0.5, 1.0)  # pixels per frame
    select_sigmas: tuple[float, ...] = (0.0, 3.0, 5.0, 8.0)  # frames
    synth_share: float = 0.4  # share of each held-out video's frames in sped-up segments
    synth_length: int = 30  # frames per segment
    synth_factors: tuple[float, float] = (1.5, 2.5)  # speed-up factor, drawn uniformly
    selection_rule: str = "one_se"  # or "max" (see vadkit.methods.oneclass.scene_select)
    appearance: bool = True  # patch_knn on spatial maps, fused with object_speed
    appearance_gate: float = 0.05  # a patch counts where its flow cell's moving share exceeds this
    appearance_top: float = 1 / 32  # frame score: mean of this share of the largest patches
    appearance_baseline: str = "median"  # minus the frame's median patch distance ("none")
    paste_size: float = 1.25  # synthetic foreign object side, x the selected window
    fusion_weights: tuple[float, ...] = tuple(i / 10 for i in range(11))  # of appearance
    # the synthetic kinds the fusion is chosen on (scene_select.KINDS); "off the paths" is
    # opt-in: on Ped2 it moved the choice to w 0.7 and the fusion 0.975 -> 0.969
    synth_kinds: tuple[str, ...] = ("fast", "foreign object")
    # what the foreign object is made of: "turned walker" (the scene's own moving content,
    # rotated 90 degrees: its detail is the camera's) or "noise" (a smooth noise disc in the
    # scene's colours, as detailed at any resolution: on Ped2 at 0.5x it chose too much
    # appearance; docs/benchmarks.md)
    foreign_texture: str = "turned walker"
    spatial_backbone: str = "efficientnet_lite0"
    spatial_stage: str = "stride8"
    # frames resized to this short side for the spatial maps: the flow's canonical height,
    # so both parts look at the same frame (Ped2's own height; docs/benchmarks.md)
    short_side: int = 240
    train_frame_step: int = 2  # every n-th training frame for appearance features
    object_speed: ObjectSpeedConfig = field(default_factory=ObjectSpeedConfig)
    patch: PatchKNNConfig = field(default_factory=PatchKNNConfig)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SceneConfig:
        """A config from plain values (YAML, ``asdict``); unknown keys are an error."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise VadkitError(f"scene config: unknown keys {unknown}")
        base = asdict(cls())
        for k in ("object_speed", "patch"):
            base[k] = {**base[k], **dict(d.get(k) or {})}
        top = {k: v for k, v in d.items() if k not in ("object_speed", "patch")}
        return _config_from_dict({**base, **top})

    @classmethod
    def of(cls, config: Any) -> SceneConfig:
        """The scene settings of a larger config that has these fields (the benchmark's)."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


def split_training(ids: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of training video ids into (fit, held-out); both non-empty when >= 2 ids."""
    if len(ids) < 2:
        return list(ids), list(ids)
    n_out = min(len(ids) - 1, max(1, round(fraction * len(ids))))
    out = set(np.random.default_rng(seed).choice(len(ids), n_out, replace=False).tolist())
    return [v for i, v in enumerate(ids) if i not in out], [
        v for i, v in enumerate(ids) if i in out
    ]


def split_folds(
    ids: Sequence[str], fraction: float, seed: int, min_heldout: int = 4
) -> list[tuple[list[str], list[str]]]:
    """Cross-fitting folds ``[(fit, held-out), ...]`` of training video ids.

    The first fold is :func:`split_training`'s split. While fewer than ``min_heldout``
    videos have been held out and some never were, another fold holds out the next
    ``round(fraction * n)`` (>= 1) of them, in a seeded order, and fits on all the others.
    Each video is held out at most once. 16 videos: one fold of 4; 3 videos: 3 folds of 1
    (every video held out once, every fold fitted on the other 2).
    """
    fit, held = split_training(ids, fraction, seed)
    folds = [(fit, held)]
    if len(ids) < 2:
        return folds
    size = len(held)
    rest = [ids[i] for i in np.random.default_rng(seed + 1).permutation(len(ids))]
    rest = [v for v in rest if v not in held]
    while rest and sum(len(h) for _, h in folds) < min_heldout:
        out, rest = sorted(rest[:size], key=list(ids).index), rest[size:]
        folds.append(([v for v in ids if v not in out], out))
    return folds


class SceneDetector:
    """Motion + appearance one-class detector of one camera (module docstring).

    After :meth:`fit`: ``fit_ids_``, ``heldout_ids_``, ``selected_`` (the ``object_speed``
    candidate), ``window_`` (its window, fraction of the frame height), ``object_speed_``,
    ``patch_knn_`` (``None`` without appearance), ``fusion_`` (weight, sigma, z statistics),
    ``sigma_`` (smoothing of the final score), ``threshold_`` (on :meth:`score`), and the
    selection tables ``selection_`` and ``fusion_table_``. ``heldout_`` keeps the raw scores of
    the held-out videos (``"object_speed"``, ``"appearance"``, ``"patches"``) for reports; it
    is not saved.
    """

    name = "scene"
    config_class = SceneConfig

    def __init__(self, config: SceneConfig | None = None) -> None:
        self.config = config or SceneConfig()
        self._encoder: Any = None

    # -- fit ----------------------------------------------------------------------------
    def fit(
        self,
        videos: Mapping[str, Any] | Sequence[Any],
        *,
        cache: str | Path | None = None,
        log: Log | None = None,
    ) -> SceneDetector:
        """Fit on normal videos only (id -> frame folder, video file or frame array).

        ``cache``: a folder for the flow summaries, maps and synthetic scores (reruns read
        them). At least 2 videos: one is held out for the choices and the threshold.
        """
        c = self.config
        unknown = sorted(set(c.synth_kinds) - set(KINDS))
        if unknown or "fast" not in c.synth_kinds:
            raise VadkitError(
                f"scene config: synth_kinds must include 'fast' and be among {', '.join(KINDS)}; "
                f"got {list(c.synth_kinds)}"
            )
        if c.foreign_texture not in FOREIGN_TEXTURES:
            raise VadkitError(
                f"scene config: foreign_texture must be one of {', '.join(FOREIGN_TEXTURES)}; "
                f"got {c.foreign_texture!r}"
            )
        if not isinstance(videos, Mapping):
            videos = {Path(str(v)).stem if not isinstance(v, np.ndarray) else f"video{i}": v
                      for i, v in enumerate(videos)}  # fmt: skip
        if len(videos) < 2:
            raise VadkitError(
                f"scene detector: needs at least 2 normal videos (one is held out), got "
                f"{len(videos)}"
            )
        cache = Path(cache) if cache is not None else None
        say = log or (lambda _: None)
        folds = split_folds(list(videos), c.heldout_fraction, c.seed, c.min_heldout_videos)
        held_ids = [v for _, h in folds for v in h]
        # one fold: the final parts are the fold's (its held-out videos calibrate them exactly);
        # several: the final parts are fitted on every video, calibrated out of fold
        fit_ids = folds[0][0] if len(folds) == 1 else list(videos)
        self.folds_, self.fit_ids_, self.heldout_ids_ = folds, fit_ids, held_ids
        flow = self._training_flow(videos, held_ids, cache, say)
        self._fit_object_speed(flow, folds, fit_ids)
        obj_held = {v: self._fold_obj[v].score(self._peaks(flow[f"train/{v}"])) for v in held_ids}
        self.heldout_: dict[str, dict[str, np.ndarray]] = {"object_speed": obj_held}
        if not c.appearance:
            self.patch_knn_ = None
            self.fusion_ = {"weight": 0.0, "sigma": self.selected_.sigma,
                            "stats": {"object_speed": pooled_mean_std(obj_held)}}  # fmt: skip
            self.fusion_table_ = []
        else:
            app_held = self._fit_appearance(videos, flow, folds, fit_ids, cache, say)
            sets = self._synthetic_sets(videos, flow, held_ids, cache, say)
            chosen, table = select_fusion(
                sets, obj_held, app_held, c.fusion_weights, c.select_sigmas
            )
            self.fusion_, self.fusion_table_ = chosen, table
        self.sigma_ = float(self.fusion_["sigma"])
        held_scores = np.concatenate([self._final(v) for v in held_ids])
        self.threshold_ = threshold_at_far(held_scores, c.false_alarm_rate)
        self.heldout_far_ = float(np.mean(held_scores > self.threshold_))
        self.far_scores_ = held_scores.astype(np.float32)
        for name in ("_fold_obj", "_fold_patch"):  # the folds' parts are not the model
            self.__dict__.pop(name, None)
        return self

    def _training_flow(
        self, videos: Mapping[str, Any], held_ids: list[str], cache: Path | None, say: Log
    ) -> dict[str, VideoFlow]:
        c = self.config
        rng = np.random.default_rng(c.seed)
        jobs = []
        for vid, src in videos.items():
            n = count_frames(src) if (vid in held_ids or cache is not None) else None
            speedup = None
            if vid in held_ids:  # drawn in video order, cached or not: the same every run
                speedup = synthetic_schedule(
                    n, c.synth_share, c.synth_length, tuple(c.synth_factors), rng
                )
            jobs.append(FlowJob(f"train/{vid}", src, n, speedup))
        return compute_flows(jobs, c, cache, say)

    def _peaks(self, flow: VideoFlow, key: str = "peaks") -> np.ndarray:
        return flow[key][..., self.selected_.window]

    def _fit_object_speed(
        self, flow: dict[str, VideoFlow], folds: list[tuple[list[str], list[str]]],
        fit_ids: list[str],
    ) -> None:  # fmt: skip
        from dataclasses import replace

        c = self.config

        def train(v: str, key: str = "peaks") -> np.ndarray:
            return flow[f"train/{v}"][key]

        sel_folds = [([train(v) for v in f], {v: (train(v, "synth_peaks"), train(v, "synth_labels"))
                      for v in h}) for f, h in folds]  # fmt: skip
        best, table = select_object_speed(
            None, None, c.windows, c.select_min_speeds, c.select_sigmas, c.object_speed,
            c.selection_rule, folds=sel_folds,
        )  # fmt: skip
        self.selected_: Candidate = best
        self.selection_ = table
        self.window_ = float(c.windows[best.window])
        cfg = replace(c.object_speed, min_speed=best.min_speed)

        def fitted(ids: list[str]) -> ObjectSpeedScorer:
            return ObjectSpeedScorer(cfg).fit(np.concatenate([self._peaks(flow[f"train/{v}"])
                                                              for v in ids]))  # fmt: skip

        self.object_speed_ = fitted(fit_ids)
        self._fold_obj: dict[str, ObjectSpeedScorer] = {}
        for f, h in folds:
            part = self.object_speed_ if f == fit_ids else fitted(f)
            self._fold_obj.update({v: part for v in h})
        held = np.concatenate(
            [self._fold_obj[v].score(self._peaks(flow[f"train/{v}"])) for v in self._fold_obj]
        )
        self.object_speed_.calibrate_scores(held, c.false_alarm_rate)

    def spatial_encoder(self) -> Any:
        """The backbone of the appearance maps, built on first use."""
        from vadkit.methods.oneclass.spatial import SpatialEncoder

        if self._encoder is None:
            c = self.config
            self._encoder = SpatialEncoder(c.spatial_backbone, c.spatial_stage, c.short_side)
        return self._encoder

    def maps_dir(self, cache: Path) -> Path:
        """Where appearance maps are cached under ``cache``."""
        c = self.config
        return cache / f"maps-{c.spatial_backbone}-{c.spatial_stage}-s{c.short_side}"

    def _maps(self, key: str, src: Any, step: int, n: int, cache: Path | None) -> np.ndarray:
        split, vid = key.split("/", 1)
        path = self.maps_dir(cache) / f"{split}-step{step}-{vid}.npy" if cache else None
        return spatial_maps(self.spatial_encoder, src, step, n, path)

    def _fit_appearance(
        self,
        videos: Mapping[str, Any],
        flow: dict[str, VideoFlow],
        folds: list[tuple[list[str], list[str]]],
        fit_ids: list[str],
        cache: Path | None,
        say: Log,
    ) -> dict[str, np.ndarray]:
        c = self.config
        step = c.train_frame_step
        # every map is computed (or read) once per fit: the held-out videos' maps of every frame
        # first, then each fold's fit maps, sliced from those when the video has them (several
        # folds fit on overlapping videos; float16 as stored)
        memo: dict[tuple[str, int], np.ndarray] = {}

        def maps(v: str, k: int) -> np.ndarray:
            if (v, k) not in memo:
                if (v, 1) in memo:
                    memo[v, k] = memo[v, 1][::k]
                else:
                    n = len(flow[f"train/{v}"]["cells"])
                    memo[v, k] = self._maps(f"train/{v}", videos[v], k, n, cache).astype(np.float16)
            return memo[v, k].astype(np.float32)

        held = [v for _, h in folds for v in h]
        whole = {v: maps(v, 1) for v in held}

        def fitted(ids: list[str]) -> PatchKNNScorer:
            return PatchKNNScorer(c.patch).fit(np.concatenate([maps(v, step) for v in ids]))

        self.patch_knn_ = fitted(fit_ids)
        self._fold_patch: dict[str, PatchKNNScorer] = {}
        for f, h in folds:
            part = self.patch_knn_ if f == fit_ids else fitted(f)
            self._fold_patch.update({v: part for v in h})
        patches = {v: part.patch_scores(whole[v]) for v, part in self._fold_patch.items()}
        app = {v: self._gated(p, flow[f"train/{v}"]) for v, p in patches.items()}
        self.heldout_.update(appearance=app, patches=patches)
        say(
            f"appearance maps: {len(fit_ids)} fit + {len(patches)} held-out videos "
            f"({len(folds)} fold{'s' if len(folds) > 1 else ''})"
        )
        return app

    def _gated(self, patches: np.ndarray, flow: VideoFlow) -> np.ndarray:
        from vadkit.methods.oneclass.flow import FLOW_FEATURES
        from vadkit.methods.oneclass.patch_knn import moving_frame_scores

        share = flow["cells"][..., FLOW_FEATURES.index("moving_share")]
        c = self.config
        return moving_frame_scores(
            patches, share, c.appearance_gate, c.appearance_top, c.appearance_baseline
        )

    def _synthetic_sets(
        self,
        videos: Mapping[str, Any],
        flow: dict[str, VideoFlow],
        held_ids: list[str],
        cache: Path | None,
        say: Log,
    ) -> SyntheticSets:
        """The ``synth_kinds`` of synthetic anomaly on the held-out videos, scored by both parts."""
        import hashlib

        from vadkit.methods.oneclass.flow import FLOW_FEATURES
        from vadkit.methods.oneclass.scene_features import save_npz
        from vadkit.methods.oneclass.synthetic import (
            off_path_starts,
            paste_moving_objects,
            segments_of,
            walker_textures,
        )

        c = self.config
        out: SyntheticSets = {k: {} for k in c.synth_kinds}
        app_held = self.heldout_["appearance"]
        for v in held_ids:
            f = flow[f"train/{v}"]
            out["fast"][v] = (self._fold_obj[v].score(self._peaks(f, "synth_peaks")),
                              app_held[v], f["synth_labels"])  # fmt: skip
        # the scene's normal object speed (px/frame of the flow's frame), from every video
        speed = float(np.median(self.object_speed_.ref_speed_))
        # (the noise disc keeps its old key, so its caches stay valid)
        texture = {"noise": "scene colour statistics"}.get(c.foreign_texture, c.foreign_texture)
        rec = {
            "texture": texture, "speed": round(speed, 6), "window": self.window_,
            "min_speed": self.object_speed_.config.min_speed, "size": c.paste_size,
            "synth": [c.synth_share, c.synth_length], "seed": c.seed,
            "app": [c.appearance_gate, c.appearance_top, c.short_side, c.appearance_baseline],
            "patch": asdict(c.patch), "backbone": [c.spatial_backbone, c.spatial_stage],
            "fit": [list(self.fit_ids_), c.train_frame_step, [f for f, _ in self.folds_]],
            "flow": [list(c.grid), c.flow_method, c.flow_resize, c.flow_height],
        }  # fmt: skip
        key = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:10]
        d = cache / f"paste-{key}" if cache is not None else None
        share_at = FLOW_FEATURES.index("moving_share")
        # where each fold's fit videos move (the walkers' paths), per flow cell
        occupancy = {}
        for f, h in self.folds_ if "off the paths" in out else ():
            occ = np.concatenate([flow[f"train/{u}"]["cells"][..., share_at] for u in f]).mean(0)
            occupancy.update({v: occ for v in h})
        rng = np.random.default_rng(c.seed + 1)
        rng_walker = np.random.default_rng(c.seed + 2)
        made = 0
        for v in held_ids:
            frames = list(iter_frames(videos[v]))
            size = max(8, round(self.window_ * frames[0].shape[0] * c.paste_size))
            # the normal speed is in pixels of the flow's frame; the object moves in the video's
            px = speed * frames[0].shape[0] / c.flow_height if c.flow_height else speed
            share = flow[f"train/{v}"]["cells"][..., share_at]
            for kind, r in (("foreign object", rng), ("off the paths", rng_walker)):
                if kind not in out:
                    continue
                sched = synthetic_schedule(len(frames), c.synth_share, c.synth_length, (1, 1), r)
                vid_rng = np.random.default_rng(r.integers(2**32))  # same draws cached or not
                name = f"{v}.npz" if kind == "foreign object" else f"walker-{v}.npz"
                path = d / name if d is not None else None
                if path is not None and path.is_file():
                    with np.load(path) as z:
                        out[kind][v] = (z["obj"], z["app"], z["labels"])
                    continue
                segs = segments_of(sched)
                extra = {}
                if kind == "foreign object" and c.foreign_texture == "turned walker":
                    extra = {
                        "textures": walker_textures(
                            frames, segs, share, size, turn=True, nearest=True
                        )
                    }
                if kind == "off the paths":
                    hw = frames[0].shape[:2]
                    extra = {"textures": walker_textures(frames, segs, share, size),
                             "starts": off_path_starts(occupancy[v], len(segs), size, hw, vid_rng)}  # fmt: skip
                pasted, y = paste_moving_objects(frames, segs, size, px, vid_rng, **extra)
                o, a = pasted_object_scores(
                    pasted, y, app_held[v], self, self._fold_obj[v], self._fold_patch[v]
                )
                if path is not None:
                    save_npz(path, {"obj": o, "app": a, "labels": y})
                out[kind][v] = (o, a, y)
                made += 1
        say(f"synthetic pasted objects: {len(held_ids)} held-out videos, {made} sets computed")
        return out

    # -- score --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise VadkitError("scene detector: not fitted; call fit() or load() first")

    def video_flow(self, source: Any, key: str = "test/video", cache: Path | None = None,
                   n_frames: int | None = None) -> VideoFlow:  # fmt: skip
        """The flow summaries of one video (cached under ``key`` when ``cache`` is given)."""
        c = self.config
        return compute_flows([FlowJob(key, source, n_frames)], replace_workers(c, 1), cache)[key]

    def parts(
        self, source: Any, *, flow: VideoFlow | None = None, key: str = "test/video",
        cache: Path | None = None,
    ) -> dict[str, np.ndarray]:  # fmt: skip
        """Raw per-frame scores of one video: ``object_speed``, ``appearance`` (and the
        ``patches`` ``(n, h, w)`` of appearance), before fusion and smoothing."""
        self._check_fitted()
        flow = flow if flow is not None else self.video_flow(source, key, cache)
        out = {"object_speed": self.object_speed_.score(self._peaks(flow))}
        if self.patch_knn_ is not None:
            maps = self._maps(key, source, 1, len(flow["cells"]), cache)
            out["patches"] = self.patch_knn_.patch_scores(maps)
            out["appearance"] = self._gated(out["patches"], flow)
        return out

    def fuse(self, parts: Mapping[str, np.ndarray]) -> np.ndarray:
        """The fused, unsmoothed per-frame score of :meth:`parts`."""
        w, stats = float(self.fusion_["weight"]), self.fusion_["stats"]
        out = (1 - w) * zscore(parts["object_speed"], *stats["object_speed"])
        if self.patch_knn_ is not None:
            out = out + w * zscore(parts["appearance"], *stats["appearance"])
        return out

    def _final(self, vid: str) -> np.ndarray:
        held = {k: v[vid] for k, v in self.heldout_.items() if k != "patches"}
        return smooth(self.fuse(held), self.sigma_)

    def score(self, source: Any, *, cache: Path | None = None) -> np.ndarray:
        """``(n_frames,)`` float64 anomaly score of every frame of a video (fused, smoothed)."""
        return smooth(self.fuse(self.parts(source, cache=cache)), self.sigma_)

    def score_videos(self, videos: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """:meth:`score` of several videos, their flow computed ``config.workers`` at a time."""
        self._check_fitted()
        flows = compute_flows([FlowJob(f"test/{v}", src) for v, src in videos.items()],
                              self.config)  # fmt: skip
        return {
            v: smooth(self.fuse(self.parts(src, flow=flows[f"test/{v}"])), self.sigma_)
            for v, src in videos.items()
        }

    def predict(self, source: Any) -> np.ndarray:
        """``(n_frames,)`` int8: 1 where the score exceeds the calibrated threshold."""
        return (self.score(source) > self.threshold_).astype(np.int8)

    # -- persistence --------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What was chosen, and on what: for run directories and reports."""
        self._check_fitted()
        w = float(self.fusion_["weight"])
        return {
            "fit_videos": list(self.fit_ids_), "heldout_videos": list(self.heldout_ids_),
            "object_speed": {**asdict(self.selected_), "window_fraction": self.window_},
            "fusion": {"object_speed": 1 - w, "appearance": w, "sigma": self.sigma_,
                       "stats": self.fusion_["stats"]},
            "threshold": self.threshold_, "false_alarm_rate": self.config.false_alarm_rate,
            "heldout_far": self.heldout_far_,
        }  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Config, choices and both fitted scorers in one ``.npz`` (atomic)."""
        from vadkit.io.atomic import atomic_write_bytes

        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"far_scores": self.far_scores_}
        parts = {"object_speed": self.object_speed_, "patch_knn": self.patch_knn_}
        sub = {}
        for name, s in parts.items():
            if s is None:
                continue
            state = s.fitted_state()
            arrays.update({f"{name}.{k}": np.asarray(v) for k, v in state.items()})
            sub[name] = {"config": asdict(s.config), "state": sorted(state)}
        meta = {
            "name": self.name, "config": asdict(self.config), "scorers": sub,
            "selected": asdict(self.selected_), "window": self.window_,
            "fusion": self.fusion_, "sigma": self.sigma_, "threshold": self.threshold_,
            "heldout_far": self.heldout_far_, "fit_ids": self.fit_ids_,
            "heldout_ids": self.heldout_ids_, "selection": self.selection_,
            "fusion_table": self.fusion_table_,
        }  # fmt: skip
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
        return atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> SceneDetector:
        """Read a detector written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise VadkitError(f"scene detector file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["__meta__"]))
                if meta.get("name") != cls.name:
                    raise VadkitError(f"{path}: not a scene detector ({meta.get('name')!r})")
                det = cls(_config_from_dict(meta["config"]))
                for name, klass in (("object_speed", ObjectSpeedScorer),
                                    ("patch_knn", PatchKNNScorer)):  # fmt: skip
                    s = meta["scorers"].get(name)
                    if s is None:
                        setattr(det, f"{name}_", None)
                        continue
                    view = {f"state.{k}": data[f"{name}.{k}"] for k in s["state"]}
                    setattr(
                        det,
                        f"{name}_",
                        klass.from_saved({"config": s["config"], "state": s["state"]}, view),
                    )
                det.far_scores_ = data["far_scores"]
        except (OSError, ValueError, KeyError) as exc:
            raise VadkitError(f"{path}: not a vadkit scene detector file ({exc})") from exc
        det.selected_ = Candidate(**meta["selected"])
        det.window_, det.sigma_ = float(meta["window"]), float(meta["sigma"])
        fusion = dict(meta["fusion"])
        fusion["stats"] = {k: tuple(v) for k, v in fusion["stats"].items()}
        det.fusion_, det.threshold_ = fusion, float(meta["threshold"])
        det.heldout_far_ = float(meta["heldout_far"])
        det.fit_ids_, det.heldout_ids_ = meta["fit_ids"], meta["heldout_ids"]
        det.selection_, det.fusion_table_ = meta["selection"], meta["fusion_table"]
        det.heldout_ = {}
        return det

    def __repr__(self) -> str:
        return f"SceneDetector({self.config})"


def replace_workers(config: SceneConfig, workers: int) -> SceneConfig:
    from dataclasses import replace

    return replace(config, workers=workers)


def _config_from_dict(d: dict[str, Any]) -> SceneConfig:
    """A :class:`SceneConfig` from ``asdict`` output (JSON lists back to tuples)."""

    def tup(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    kw = {k: tup(v) for k, v in d.items() if k in {f.name for f in fields(SceneConfig)}}
    kw["object_speed"] = ObjectSpeedConfig(**{k: tup(v) for k, v in d["object_speed"].items()})
    kw["patch"] = PatchKNNConfig(**{k: tup(v) for k, v in d["patch"].items()})
    return SceneConfig(**kw)
