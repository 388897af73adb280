"""Extraction engine: videos -> FeatureStore, batched, resumable and sharded.

For each video: decode once, front to back; cut snippets (or fixed segments) by
frame index; transform and crop; run the backbone in batches; write one atomic
``.npy`` plus its entry. A failing video is reported with its path and skipped, the
run goes on, and the result says which videos failed.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.transforms import CROP_COUNTS as CROPS
from vadkit.io.inputs import InputItem
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractOptions:
    """How to cut and encode videos. ``None`` means "the backbone's default".

    clip_len : frames per snippet (3-D backbones default to their clip length,
        2-D backbones pool per-frame features over 16 frames).
    stride : frames between snippet starts (default ``clip_len``: non-overlapping).
    frame_step : take every ``frame_step``-th frame inside a snippet.
    padding : ``"repeat_last"`` (edge-pad the last partial snippet; T = ceil(n/stride),
        the RTFM ShanghaiTech convention), ``"loop"`` (wrap to the video start) or
        ``"drop"`` (drop it; T = floor for non-overlapping snippets).
    n_segments : cut each video into this many fixed segments instead (32 for
        Sultani / TACnet); ``segment_rule`` says how (``"sultani"``: 16-frame clips
        averaged into segments by rounded linspace bounds, then L2-normalised;
        ``"tacnet"``: 16 frames sampled per ``array_split`` segment).
    batch_size : network inputs per forward pass (clips or frames, times crops).
    endpoint : feature layer of backbones that offer several (``i3d_kinetics400``:
        ``mixed_5c`` by default, ``mixed_4f``, ``logits``); recorded in the store.
    """

    crop: Literal["center", "five", "ten"] = "center"
    clip_len: int | None = None
    stride: int | None = None
    frame_step: int = 1
    padding: Literal["repeat_last", "loop", "drop"] = "repeat_last"
    n_segments: int | None = None
    segment_rule: Literal["sultani", "tacnet"] = "sultani"
    batch_size: int = 8
    device: str = "cpu"
    endpoint: str | None = None

    def snippet_len(self, config: PretrainedConfig) -> int:
        if self.clip_len:
            return self.clip_len
        return config.clip_len if config.kind == "clip" else 16


@dataclass
class ExtractResult:
    store: FeatureStore | None
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, message)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (id, message)
    frames: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` -> ``(0, 1)``."""
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise VadkitError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise VadkitError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def store_info(
    config: PretrainedConfig,
    options: ExtractOptions,
    weights_sha256: str,
    backbone_extra: dict[str, object] | None = None,
) -> StoreInfo:
    """Store-level metadata recording exactly how features are made.

    ``backbone_extra`` is what the backbone says about itself (its ``store_extra``:
    feature layer, pooling, weights cache), added to ``extra``.
    """
    length = options.snippet_len(config)
    extra: dict[str, object] = {
        "input_size": list(config.input_size),
        "resize_short": config.resize_short,
        "mean": list(config.mean),
        "std": list(config.std),
        "channel_order": config.channel_order,
        "pooling": "mean over frames" if config.kind == "frame" else "none (clip network)",
    }
    extra.update(backbone_extra or {})
    if options.n_segments:
        extra["segment_rule"] = options.segment_rule
        if options.segment_rule == "sultani":
            extra["segment_norm"] = "l2"
    return StoreInfo(
        backbone=config.name,
        weights_sha256=weights_sha256,
        dim=config.out_dim,
        crops=CROPS[options.crop],
        snippet_length=length,
        stride=length if options.n_segments else (options.stride or length),
        padding="segments" if options.n_segments else options.padding,
        frame_step=options.frame_step,
        n_segments=options.n_segments,
        crop_mode=options.crop,
        source="extract",
        extra=extra,
    )


class SnippetEncoder:
    """Encodes the snippets of one video given as a ``(T, L)`` frame-index array.

    Frames are decoded once, in order, and kept only while a later snippet still
    needs them (loop padding keeps the first few alive). 2-D backbones encode each
    needed frame once and average per snippet, so overlapping snippets cost nothing
    extra.
    """

    def __init__(
        self, model: torch.nn.Module, config: PretrainedConfig, options: ExtractOptions
    ) -> None:
        self.model = model
        self.config = config
        self.options = options
        self.crops = CROPS[options.crop]

    def _prepare(self, frames: np.ndarray) -> torch.Tensor:
        from vadkit.extract.transforms import prepare_clips

        return prepare_clips(frames, self.config, crop=self.options.crop)  # (crops, N, 3, H, W)

    @torch.inference_mode()
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        bs = max(1, self.options.batch_size)
        # channels_last roughly doubles 2-D convnet throughput on CPU; 3-D networks that
        # measured faster in channels_last_3d say so with ``prefers_channels_last_3d``
        fmt = torch.channels_last if x.ndim == 4 else _format_3d(self.model)
        for i in range(0, x.shape[0], bs):
            batch = x[i : i + bs].to(self.options.device).contiguous(memory_format=fmt)
            out.append(self.model(batch).float().cpu())
        return torch.cat(out)

    def encode(
        self, frames_iter: Iterator[tuple[int, np.ndarray]], index: np.ndarray
    ) -> np.ndarray:
        """``index`` (T, L) -> features ``(T, crops, D)`` float32."""
        T, L = index.shape
        per_chunk = max(1, self.options.batch_size // self.crops)
        if self.config.kind == "frame":
            per_chunk = max(1, per_chunk // L)
        # last chunk that needs each frame: frames are freed after it
        chunk_of = np.arange(T) // per_chunk
        last_use: dict[int, int] = {}
        for t in range(T):
            for f in index[t]:
                last_use[int(f)] = int(chunk_of[t])
        window = _FrameWindow(frames_iter, last_use)
        feats = np.empty((T, self.crops, self.config.out_dim), np.float32)
        frame_feats: dict[int, torch.Tensor] = {}
        for c, start in enumerate(range(0, T, per_chunk)):
            rows = index[start : start + per_chunk]
            need = np.unique(rows)
            if self.config.kind == "frame":
                todo = [int(f) for f in need if int(f) not in frame_feats]
                if todo:
                    x = self._prepare(window.get(todo))  # (crops, n, 3, H, W)
                    n = x.shape[1]
                    y = self._forward(x.reshape(self.crops * n, *x.shape[2:]))
                    y = y.reshape(self.crops, n, -1)
                    for j, f in enumerate(todo):
                        frame_feats[f] = y[:, j]
                for r, row in enumerate(rows):
                    stack = torch.stack([frame_feats[int(f)] for f in row])  # (L, crops, D)
                    feats[start + r] = stack.mean(0).numpy()
                for f in [f for f in frame_feats if last_use[f] <= c]:
                    del frame_feats[f]
            else:
                pos = {int(f): j for j, f in enumerate(need)}
                x = self._prepare(window.get([int(f) for f in need]))  # (crops, n, 3, H, W)
                sel = torch.as_tensor(np.vectorize(pos.get)(rows))  # (B, L)
                clips = x[:, sel]  # (crops, B, L, 3, H, W)
                clips = clips.permute(1, 0, 3, 2, 4, 5).reshape(-1, 3, L, *x.shape[-2:])
                y = self._forward(clips).reshape(len(rows), self.crops, -1)
                feats[start : start + len(rows)] = y.numpy()
            window.release(c)
        return feats


class _FrameWindow:
    """Sequential frame access for increasing index sets, with reuse of held frames."""

    def __init__(self, frames: Iterator[tuple[int, np.ndarray]], last_use: dict[int, int]):
        self._frames = frames
        self._last_use = last_use
        self._held: dict[int, np.ndarray] = {}
        self._next = 0

    def get(self, indices: Sequence[int]) -> np.ndarray:
        top = max(indices)
        while self._next <= top:
            try:
                i, frame = next(self._frames)
            except StopIteration:
                raise VadkitError(
                    f"video ended after {self._next} frames, frame {top} was needed"
                ) from None
            if i in self._last_use:
                self._held[i] = frame
            self._next = i + 1
        missing = [i for i in indices if i not in self._held]
        if missing:
            raise VadkitError(f"frame {missing[0]} could not be decoded")
        return np.stack([self._held[i] for i in indices])

    def release(self, chunk: int) -> None:
        for i in [i for i in self._held if self._last_use[i] <= chunk]:
            del self._held[i]


def video_index(n_frames: int, config: PretrainedConfig, options: ExtractOptions) -> np.ndarray:
    """Frame indices ``(T, L)`` of the snippets (or clips feeding segments) of a video."""
    from vadkit.extract.sampling import SnippetSpec, segment_indices, snippet_indices

    length = options.snippet_len(config)
    if options.n_segments and options.segment_rule == "tacnet":
        return np.asarray(
            segment_indices(n_frames, options.n_segments, clip_len=length, rule="tacnet")
        )
    if options.n_segments:  # sultani: every full clip, pooled into segments afterwards
        if n_frames < length:
            raise VadkitError(
                f"{n_frames} frames: Sultani segments need at least one {length}-frame clip"
            )
        spec = SnippetSpec(clip_len=length, stride=length, frame_step=1, padding="drop")
    else:
        spec = SnippetSpec(
            clip_len=length,
            stride=options.stride or length,
            frame_step=options.frame_step,
            padding=options.padding,
        )
    return np.asarray(snippet_indices(n_frames, spec))


def pool_segments(clip_feats: np.ndarray, n_segments: int) -> np.ndarray:
    """Sultani pooling: average clips per segment, then L2-normalise each segment."""
    from vadkit.evaluate.expand import segment_bounds_sultani

    bounds = segment_bounds_sultani(clip_feats.shape[0], n_segments)
    out = np.stack([clip_feats[a:b].mean(0) for a, b in bounds])
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return (out / np.maximum(norm, 1e-12)).astype(np.float32)


def extract(
    inputs: str | Path | Sequence[InputItem],
    out: str | Path,
    backbone: str,
    *,
    weights: str | Path | None = None,
    random_init: bool = False,
    options: ExtractOptions | None = None,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    progress: bool = True,
    on_video: Callable[[str, str], None] | None = None,
) -> ExtractResult:
    """Extract features for every video of ``inputs`` into the store at ``out``.

    ``inputs`` is anything :func:`vadkit.io.video.list_inputs` accepts (a video, a
    frame folder, a folder of either, a list or CSV) or a list of ``InputItem``.
    Finished videos are skipped (resume); ``shard=(i, n)`` takes every n-th video
    starting at i. Returns an :class:`ExtractResult`; ``result.failed`` lists videos
    that could not be read, with the reason.
    """
    from vadkit.backbones.fuse import fuse_batchnorm
    from vadkit.backbones.registry import build_backbone
    from vadkit.io.inputs import list_inputs
    from vadkit.io.video import TruncatedVideoError, open_video

    options = options or ExtractOptions()
    if options.crop not in CROPS:
        raise VadkitError(f"crop {options.crop!r}: choose one of {', '.join(CROPS)}")
    items = list(inputs) if isinstance(inputs, list | tuple) else list_inputs(inputs)
    if not items:
        raise VadkitError(f"no videos found in {inputs}")
    for item in items:  # bad table cells fail now, before the model is loaded
        _label(item)
    model, config, sha = build_backbone(
        backbone, weights, random_init=random_init, endpoint=options.endpoint
    )
    _check_options(options, config)
    # fold BatchNorm into convs: same features (to float rounding), faster on CPU
    try:
        model = fuse_batchnorm(model).to(options.device)
    except (RuntimeError, AssertionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(f"device {options.device!r} is not available: {first}") from None
    if config.kind == "frame":
        model.to(memory_format=torch.channels_last)
    else:
        model.to(memory_format=_format_3d(model))
    _check_clip_input(model, config, options)
    info = store_info(config, options, sha, getattr(model, "store_extra", None))
    writer = StoreWriter(out, info, overwrite=overwrite)
    mine = [it for k, it in enumerate(items) if k % shard[1] == shard[0]]
    encoder = SnippetEncoder(model, config, options)
    result = ExtractResult(store=None)
    start = time.perf_counter()
    bar = _progress(len(mine), progress)
    for item in mine:
        done = None if overwrite else writer.finished_entry(item.id)
        if done is not None and done.source == str(item.path):
            result.skipped.append(item.id)
            bar.update(1)
            continue
        if done is not None:  # same id, another file: never skip or replace it silently
            msg = (
                f"{item.path}: video id {item.id!r} is already in the store from {done.source}; "
                "give this video another id, or use --overwrite"
            )
            result.failed.append((item.id, msg))
            if progress:
                bar.write(f"failed: {item.id}: {msg}", file=sys.stderr)
            bar.update(1)
            continue
        try:
            try:
                reader = open_video(item.path, item.id)
            except TruncatedVideoError as exc:
                # a damaged tail should not cost the whole video: use what decodes, say so
                reader = open_video(item.path, item.id, strict=False)
                warning = f"warning: {item.id}: {exc}; using the {reader.meta.n_frames} frames that decode"
                log.info(warning)
                if progress:
                    bar.write(warning, file=sys.stderr)
                result.warnings.append((item.id, str(exc)))
            with reader:
                meta = reader.meta
                index = video_index(meta.n_frames, config, options)
                feats = encoder.encode(reader.iter_frames(), index)
            if options.n_segments and options.segment_rule == "sultani":
                feats = pool_segments(feats, options.n_segments)
            writer.add(
                item.id,
                feats,
                source=str(item.path),
                label=_label(item),
                cls=item.cls,
                split=item.split,
                n_frames=meta.n_frames,
                fps=meta.fps,
            )
        except VadkitError as exc:
            msg = str(exc) if str(item.path) in str(exc) else f"{item.path}: {exc}"
            result.failed.append((item.id, msg))
            log.info("failed: %s", msg)
            if progress:  # report at once; long runs should not hide failures until the end
                bar.write(f"failed: {item.id}: {msg}", file=sys.stderr)
            if on_video:
                on_video(item.id, f"failed: {msg}")
        else:
            result.done.append(item.id)
            result.frames += meta.n_frames
            if on_video:
                on_video(item.id, "done")
        bar.update(1)
        elapsed = time.perf_counter() - start
        bar.set_postfix_str(f"{result.frames / max(elapsed, 1e-9):.1f} frames/s")
    bar.close()
    result.seconds = time.perf_counter() - start
    _write_report(Path(out), "failed", shard, [{"id": v, "error": m} for v, m in result.failed])
    _write_report(
        Path(out), "warnings", shard, [{"id": v, "warning": m} for v, m in result.warnings]
    )
    result.store = writer.finalize(order=[it.id for it in items])
    return result


def _check_options(options: ExtractOptions, config: PretrainedConfig) -> None:
    """One-line errors for impossible sampling values, before anything is written."""
    from vadkit.extract.sampling import SnippetSpec

    for name in ("clip_len", "stride", "n_segments"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise VadkitError(f"{name.replace('_', '-')} must be >= 1, got {value}")
    for name in ("frame_step", "batch_size"):
        if getattr(options, name) < 1:
            raise VadkitError(
                f"{name.replace('_', '-')} must be >= 1, got {getattr(options, name)}"
            )
    length = options.snippet_len(config)
    try:
        SnippetSpec(length, options.stride or length, options.frame_step, options.padding)
    except VadkitError as exc:
        raise VadkitError(f"sampling options: {exc}") from None


def _check_clip_input(
    model: torch.nn.Module, config: PretrainedConfig, options: ExtractOptions
) -> None:
    """Fail before any video is read when the network cannot take the requested clips."""
    if config.kind != "clip":
        return
    length = options.snippet_len(config)
    x = torch.zeros(1, 3, length, *config.input_size, device=options.device)
    try:
        with torch.inference_mode():
            model(x)
    except VadkitError as exc:
        raise VadkitError(f"--clip-len {length}: {exc}") from None
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise VadkitError(
            f"backbone {config.name!r} cannot take {length}-frame clips "
            f"(its clip length is {config.clip_len}): {first}"
        ) from None


def _format_3d(model: torch.nn.Module) -> torch.memory_format:
    """channels_last_3d for clip networks that run faster in it (benchmarks/i3d_speed.py)."""
    if getattr(model, "prefers_channels_last_3d", False):
        return torch.channels_last_3d
    return torch.contiguous_format


def _label(item: InputItem) -> int | None:
    """0/1 label from an input table cell (``0``/``1``/``normal``/``abnormal``/empty)."""
    if item.label is None or isinstance(item.label, int):
        return item.label
    from vadkit.datasets.importers.labels import label_from_word

    return label_from_word(str(item.label), f"input {item.path}")


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="video", disable=not enabled, dynamic_ncols=True)


def _write_report(out: Path, kind: str, shard: tuple[int, int], rows: list[dict]) -> None:
    """``failed.json`` / ``warnings.json`` (per shard), rewritten each run; none if never needed."""
    from vadkit.io.atomic import atomic_write_json

    name = f"{kind}.json" if shard == (0, 1) else f"{kind}.shard{shard[0]}of{shard[1]}.json"
    path = out / name
    if rows or path.exists():
        atomic_write_json(path, rows)
