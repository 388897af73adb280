"""The network stage: a backbone loaded once (:func:`load_encoder`), batches in, features out.

:func:`encode_video` encodes one video with no store (what ``predict`` needs);
:func:`iter_features` yields the features of a source of unknown length window by window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.crops import CROP_COUNTS
from vadkit.extract.options import (
    ExtractOptions,
    check_options,
    options_from_store,
    snippets_per_batch,
)
from vadkit.extract.stages import ClipBatch, clip_batches, prefetched, read_frames
from vadkit.extract.transforms import normalize_input
from vadkit.io.store import StoreInfo
from vadkit.io.stream import FrameStream
from vadkit.sampling import pool_sultani

__all__ = [
    "Encoder",
    "encode_batches",
    "encode_video",
    "iter_features",
    "load_encoder",
    "weights_identity",
]


@dataclass
class Encoder:
    """A backbone ready to encode: eval mode, BatchNorm folded, on its device.

    Attributes
    ----------
    model : the network; input ``(B, 3, L, h, w)`` (clip) or ``(B, 3, h, w)`` (frame).
    config : its :class:`PretrainedConfig`.
    weights_sha256 : sha256 of the weights file, or ``"random-init"``.
    device : torch device string.
    """

    model: torch.nn.Module
    config: PretrainedConfig
    weights_sha256: str
    device: str = "cpu"
    _cache: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    @torch.inference_mode()
    def forward(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Network outputs of ``x`` (N, ...) in passes of ``batch_size``: (N, D) float32."""
        out = []
        # channels_last roughly doubles 2-D convnet throughput on CPU; 3-D networks that
        # measured faster in channels_last_3d say so (``prefers_channels_last_3d``)
        fmt = torch.channels_last if x.ndim == 4 else _format_3d(self.model)
        for i in range(0, x.shape[0], max(1, batch_size)):
            batch = x[i : i + batch_size].to(self.device).contiguous(memory_format=fmt)
            out.append(self.model(batch).float().cpu())
        return torch.cat(out)

    def reset(self) -> None:
        """Forget per-frame features kept between batches (call between videos)."""
        self._cache.clear()

    def encode_batch(self, batch: ClipBatch, options: ExtractOptions) -> np.ndarray:
        """Features of the snippets of one batch: ``(B, crops, D)`` float32.

        Frame backbones encode each frame once (kept for the next batch while it needs it)
        and average the frame features of each snippet; clip backbones encode each snippet.
        """
        c = self.config
        pos = {int(f): j for j, f in enumerate(batch.frames)}
        sel = torch.as_tensor(np.vectorize(pos.__getitem__, otypes=[np.int64])(batch.index))
        B, L = batch.index.shape
        crops = batch.crops.shape[0]
        if c.kind == "frame":
            todo = [j for j, f in enumerate(batch.frames) if int(f) not in self._cache]
            if todo:
                x = normalize_input(batch.crops[:, todo], c)  # (crops, k, 3, h, w)
                y = self.forward(x.reshape(-1, *x.shape[2:]), options.batch_size)
                y = y.reshape(crops, len(todo), -1)
                for k, j in enumerate(todo):
                    self._cache[int(batch.frames[j])] = y[:, k]
            feats = torch.stack([self._cache[int(f)] for f in batch.frames], dim=0)  # (n, c, D)
            out = feats[sel].mean(1).numpy()  # (B, L, crops, D) -> (B, crops, D)
            for f in [f for f in self._cache if f not in batch.keep]:
                del self._cache[f]
            return np.ascontiguousarray(out, dtype=np.float32)
        clips = normalize_input(batch.crops[:, sel], c)  # (crops, B, L, 3, h, w)
        clips = clips.permute(1, 0, 3, 2, 4, 5).reshape(B * crops, 3, L, *clips.shape[-2:])
        y = self.forward(clips, options.batch_size).reshape(B, crops, -1)
        return y.numpy()

    def check_input(self, options: ExtractOptions) -> None:
        """Fail before any video is read when the network cannot take the requested clips."""
        c = self.config
        if c.kind != "clip":
            return
        length = options.length(c)
        x = torch.zeros(1, 3, length, *c.input_size, device=self.device)
        try:
            with torch.inference_mode():
                self.model(x)
        except VadkitError as exc:
            raise VadkitError(f"--snippet-length {length}: {exc}") from None
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise VadkitError(
                f"--snippet-length {length}: backbone {c.name!r} cannot take {length}-frame "
                f"clips (its clip length is {c.clip_len}): {first}"
            ) from None


def _format_3d(model: torch.nn.Module) -> torch.memory_format:
    """channels_last_3d for clip networks that run faster in it (benchmarks/i3d_speed.py)."""
    if getattr(model, "prefers_channels_last_3d", False):
        return torch.channels_last_3d
    return torch.contiguous_format


def weights_identity(
    backbone: str,
    weights: str | Path | None = None,
    *,
    random_init: bool = False,
    endpoint: str | None = None,
) -> tuple[PretrainedConfig, str]:
    """``(config, weights_sha256)`` of a backbone without building it (cheap; for planning)."""
    from vadkit.backbones.registry import backbone_config, backbone_weights
    from vadkit.backbones.weights import sha256_file

    config = backbone_config(backbone, endpoint)
    if random_init and weights is not None:
        raise VadkitError("give either a weights file or --random-init, not both")
    if random_init:
        return config, "random-init"
    return config, sha256_file(backbone_weights(backbone, weights))


def load_encoder(
    backbone: str,
    weights: str | Path | None = None,
    *,
    device: str = "cpu",
    random_init: bool = False,
    endpoint: str | None = None,
) -> Encoder:
    """Build backbone ``backbone`` once, weights loaded strictly, ready for :class:`Encoder` use.

    BatchNorm is folded into the convolutions (same features to float rounding, faster on
    CPU); frame backbones use channels-last memory. An unavailable ``device`` is a one-line
    :class:`VadkitError`.
    """
    from vadkit.backbones.fuse import fuse_batchnorm
    from vadkit.backbones.registry import build_backbone

    model, config, sha = build_backbone(
        backbone, weights, random_init=random_init, endpoint=endpoint
    )
    try:
        model = fuse_batchnorm(model).to(device)
    except (RuntimeError, AssertionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(f"device {device!r} is not available: {first}") from None
    model.to(memory_format=torch.channels_last if config.kind == "frame" else _format_3d(model))
    return Encoder(model, config, sha, device)


def _resolve(
    options_or_info: ExtractOptions | StoreInfo,
    encoder: Encoder | None,
    backbone: str | None,
    weights: str | Path | None,
) -> tuple[ExtractOptions, Encoder]:
    if isinstance(options_or_info, StoreInfo):
        info = options_or_info
        options = options_from_store(info, device=encoder.device if encoder else "cpu")
        if encoder is None:
            random_init = info.weights_sha256 == "random-init"
            encoder = load_encoder(
                info.backbone, weights, random_init=random_init, endpoint=options.endpoint
            )
        if encoder.config.name != info.backbone or (encoder.weights_sha256 != info.weights_sha256):
            raise VadkitError(
                f"the encoder ({encoder.config.name}, weights {encoder.weights_sha256[:12]}) "
                f"is not the store's ({info.backbone}, weights {info.weights_sha256[:12]}): "
                "features would not be comparable; load the store's backbone and weights"
            )
        return options, encoder
    options = options_or_info
    if encoder is None:
        if backbone is None:
            raise VadkitError("encode_video with ExtractOptions needs encoder= or backbone=")
        encoder = load_encoder(backbone, weights, device=options.device, endpoint=options.endpoint)
    check_options(options, encoder.config)
    return options, encoder


def iter_features(
    source,
    options_or_info: ExtractOptions | StoreInfo,
    encoder: Encoder | None = None,
    *,
    window: int = 64,
    backbone: str | None = None,
    weights: str | Path | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Features of a video window by window: yields ``(t0, (w, crops, D) float32)``.

    For sources of unknown length (a camera, an iterator of frames): each window is yielded as
    soon as its frames have arrived. ``window`` snippets are rounded up to whole batches, so the
    concatenated windows equal :func:`encode_video` of the same frames exactly. Fixed segments
    (``n_segments``) need the whole video and are refused here.
    """
    options, encoder = _resolve(options_or_info, encoder, backbone, weights)
    if options.n_segments:
        raise VadkitError("--segments need the whole video: use encode_video, not windows")
    per = snippets_per_batch(options, encoder.config)
    window = max(per, -(-int(window) // per) * per)
    parts: list[np.ndarray] = []
    t0 = 0
    for t, feats in encode_batches(read_frames(source), options, encoder):
        parts.append(feats)
        if sum(len(p) for p in parts) >= window:
            yield t0, np.concatenate(parts)
            t0, parts = t + len(feats), []
    if parts:
        yield t0, np.concatenate(parts)


def encode_batches(
    frames: FrameStream, options: ExtractOptions, encoder: Encoder
) -> Iterator[tuple[int, np.ndarray]]:
    """``(t0, (B, crops, D))`` per batch of ``frames`` (a :func:`read_frames` stream), in order:
    the one loop under :func:`encode_video`, :func:`iter_features` and ``vadkit extract``."""
    encoder.reset()
    n_frames = frames.n_frames
    if n_frames is None and options.spec(encoder.config) is None and frames.path is not None:
        from vadkit.io.video import probe  # TACnet segments need the count first: one more pass

        n_frames = probe(frames.path, strict=False).n_frames
    batches = clip_batches(frames, encoder.config, options, n_frames=n_frames)
    if options.use_prefetch(encoder.config):
        batches = prefetched(batches)
    try:
        for batch in batches:
            yield batch.start, encoder.encode_batch(batch, options)
    finally:
        batches.close()
        encoder.reset()


def encode_video(
    path_or_frames,
    options_or_info: ExtractOptions | StoreInfo,
    encoder: Encoder | None = None,
    *,
    backbone: str | None = None,
    weights: str | Path | None = None,
) -> np.ndarray:
    """Features of one video, no store: ``(T, crops, D)`` float32.

    Parameters
    ----------
    path_or_frames : a video file, a frame folder, an ``(N, H, W, 3)`` uint8 RGB array, an
        iterable of ``(H, W, 3)`` frames, or a :class:`~vadkit.io.stream.FrameStream`.
    options_or_info : :class:`ExtractOptions`, or a store's ``StoreInfo`` to encode exactly as
        that store was made (its backbone, crops, snippets; see :func:`options_from_store`).
    encoder : a loaded :class:`Encoder` (load once, encode many). Default: loaded from
        ``backbone`` / ``weights`` (or the store's backbone; only ``efficientnet_lite0`` and
        random-init stores need no ``weights``).

    Returns
    -------
    (T, crops, D) float32, the values ``vadkit extract`` writes for the same video and options.
    """
    options, encoder = _resolve(options_or_info, encoder, backbone, weights)
    frames = read_frames(path_or_frames)
    parts = [f for _, f in encode_batches(frames, options, encoder)]
    feats = np.concatenate(parts) if parts else np.empty((0, CROP_COUNTS[options.crop], 0))
    if options.n_segments and options.segment_rule == "sultani":
        feats = pool_sultani(feats, options.n_segments)
    return feats
