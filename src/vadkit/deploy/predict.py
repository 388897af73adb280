"""One video -> per-frame scores, timestamps and events, with the model's own features.

The features are re-extracted with :func:`vadkit.extract.encode_video` from the model's
recorded ``StoreInfo`` (backbone, weights hash, snippets or segments, crops, batch size), so
they equal what ``vadkit extract`` writes for the video; snippet scores are expanded to one
score per real frame with :mod:`vadkit.evaluate.expand` in the ``"exact"`` convention, as
``vadkit evaluate --convention exact`` does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.deploy.events import Event, find_events, threshold_at_far
from vadkit.deploy.model import Predictor
from vadkit.errors import VadkitError

__all__ = [
    "Prediction",
    "expand_to_frames",
    "load_predictor_encoder",
    "predict_video",
    "resolve_threshold",
]


@dataclass
class Prediction:
    """What :func:`predict_video` found in one video, with the values it used."""

    video_id: str
    source: str
    fps: float
    n_frames: int
    snippet_scores: np.ndarray
    frame_scores: np.ndarray
    timestamps: np.ndarray  # (n_frames,) seconds of each frame: index / fps
    events: list[Event]
    threshold: float
    threshold_source: str  # "calibrated (validation)", "--threshold", "--far 0.01", ...
    min_length: float
    merge_gap: float
    frame_classes: list[str] | None = None
    warnings: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """The values used, written beside the scores and events."""
        return {
            "threshold": self.threshold, "threshold_source": self.threshold_source,
            "min_length_s": self.min_length, "merge_gap_s": self.merge_gap, "fps": self.fps,
            "n_frames": self.n_frames, "n_snippets": int(len(self.snippet_scores)),
            "rule": "a frame is anomalous when its score > threshold",
        }  # fmt: skip


def load_predictor_encoder(
    predictor: Predictor, weights: str | Path | None = None, device: str = "cpu"
) -> Any:
    """The backbone the model's features need, its weights checked by sha256."""
    from vadkit.extract import load_encoder

    spec = predictor.feature_spec
    random_init = spec.weights_sha256 == "random-init"
    endpoint = (spec.info.extra or {}).get("endpoint")
    enc = load_encoder(spec.backbone, weights, device=device, random_init=random_init,
                       endpoint=endpoint)  # fmt: skip
    if enc.weights_sha256 != spec.weights_sha256:
        raise VadkitError(
            f"backbone {spec.backbone} weights have sha256 {enc.weights_sha256[:12]} but the "
            f"model was trained on features of weights {spec.weights_sha256[:12]}; give the "
            "same weights file"
        )
    return enc


def expand_to_frames(predictor: Predictor, snippet_scores: np.ndarray, n_frames: int) -> np.ndarray:
    """Per-frame scores ``(n_frames,)`` of snippet or segment scores, as ``vadkit evaluate``."""
    from vadkit.evaluate.expand import expand_segments, expand_snippets

    spec = predictor.feature_spec
    if spec.n_segments:
        rule = (
            "array_split" if (spec.info.extra or {}).get("segment_rule") == "tacnet" else "sultani"
        )
        return expand_segments(snippet_scores, n_frames=n_frames,
                               snippet_length=spec.snippet_length, rule=rule)  # fmt: skip
    return expand_snippets(snippet_scores, snippet_length=spec.snippet_length,
                           stride=spec.stride, n_frames=n_frames, convention="exact")  # fmt: skip


def predict_video(
    predictor: Predictor,
    source: Any,
    *,
    threshold: float | None = None,
    far: float | None = None,
    min_length: float = 0.0,
    merge_gap: float = 0.0,
    encoder: Any = None,
    video_id: str | None = None,
    fps: float | None = None,
) -> Prediction:
    """Score one video (a file, a frame folder or an ``(N, H, W, 3)`` array) and find events.

    Parameters
    ----------
    threshold : use this threshold instead of the model's calibrated one.
    far : use the model's threshold at this false-alarm rate on its normal validation
        snippets (needs ``far_scores`` in ``threshold.json``; ``vadkit train`` records them).
    min_length, merge_gap : seconds; see :func:`vadkit.deploy.events.find_events`.
    encoder : a loaded backbone (:func:`load_predictor_encoder`), to load it once per folder,
        or an exported one (:func:`vadkit.deploy.exported_backbone.load_exported_backbone`):
        with an exported model too, nothing on this path imports PyTorch.
    fps : frame rate of a frame folder or array (files read theirs).
    """
    from vadkit.deploy.exported_backbone import ExportedBackbone
    from vadkit.io.stream import FrameStream

    if threshold is not None and far is not None:
        raise VadkitError("give --threshold or --far, not both")
    if predictor.kind == "scene":
        return _predict_scene(predictor, source, threshold, far, min_length, merge_gap,
                              video_id, fps)  # fmt: skip
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        enc = encoder if encoder is not None else load_predictor_encoder(predictor)
        frames = (
            source if isinstance(source, FrameStream) else FrameStream(source, video_id, fps=fps)
        )
        if isinstance(enc, ExportedBackbone):
            feats = enc.encode(
                frames,
                predictor.feature_spec.info,
                int((predictor.feature_spec.info.extra or {}).get("batch_size", 8)),
            )
        else:
            from vadkit.extract import encode_video

            feats = encode_video(frames, predictor.feature_spec.info, enc)
        meta = frames.meta
        n_frames = int(meta.n_frames)
        if len(feats) == 0:
            raise VadkitError(f"{frames.id}: no snippet could be cut from its {n_frames} frames")
        out = predictor.score_features(feats)
        thr, how = resolve_threshold(predictor, threshold, far)
        caught.extend(str(x.message) for x in w)
    if frames.warning:
        caught.append(frames.warning)
    frame_scores = expand_to_frames(predictor, out.scores, n_frames)
    frame_classes = None
    if out.classes is not None:
        idx = expand_to_frames(predictor, np.arange(len(out.classes), dtype=np.float64), n_frames)
        frame_classes = [out.classes[int(round(i))] for i in idx]
    video_fps = float(meta.fps or fps or 25.0)
    events = find_events(frame_scores, thr, fps=video_fps, min_length=min_length,
                         merge_gap=merge_gap, classes=frame_classes)  # fmt: skip
    return Prediction(
        frames.id, str(source) if isinstance(source, str | Path) else frames.id, video_fps,
        n_frames, out.scores, frame_scores, np.arange(n_frames) / video_fps, events, thr, how,
        float(min_length), float(merge_gap), frame_classes, caught,
    )  # fmt: skip


def resolve_threshold(
    predictor: Predictor, threshold: float | None, far: float | None
) -> tuple[float, str]:
    """(threshold, where it came from): ``--threshold``, ``--far`` or the calibrated one
    (shared by files and streams, so both flag the same frames)."""
    if threshold is not None:
        return float(threshold), "--threshold"
    if far is not None:
        normal = predictor.thresholds.get("far_scores")
        if not normal:
            raise VadkitError(
                f"--far: {predictor.path} records no normal validation scores "
                "(threshold.json far_scores); give --threshold"
            )
        return threshold_at_far(normal, far), f"--far {far}"
    return predictor.threshold, predictor.threshold_source


def _predict_scene(
    predictor: Predictor,
    source: Any,
    threshold: float | None,
    far: float | None,
    min_length: float,
    merge_gap: float,
    video_id: str | None,
    fps: float | None,
) -> Prediction:
    """A scene detector scores frames itself: one score per frame, no snippets."""
    from vadkit.io.stream import FrameStream

    if isinstance(source, FrameStream):
        raise VadkitError("a scene detector reads a file, folder or array, not a frame stream")
    path = Path(source) if isinstance(source, str | Path) else None
    if path is not None and not path.exists():
        raise VadkitError(f"video path {path} does not exist")
    vid = video_id or (path.stem if path is not None and path.is_file() else
                       path.name if path is not None else "frames")  # fmt: skip
    video_fps = fps
    if path is not None and path.is_file():
        from vadkit.io.video import probe

        video_fps = probe(path, vid).fps or fps
    try:
        scores = predictor.model.score(source)
    except VadkitError as exc:
        raise VadkitError(f"{vid}: {exc}") from None
    thr, how = resolve_threshold(predictor, threshold, far)
    video_fps = float(video_fps or 25.0)
    n = len(scores)
    events = find_events(scores, thr, fps=video_fps, min_length=min_length, merge_gap=merge_gap)
    return Prediction(
        vid, str(source) if path is not None else vid, video_fps, n, scores.astype(np.float32),
        scores, np.arange(n) / video_fps, events, thr, how, float(min_length), float(merge_gap),
    )  # fmt: skip
