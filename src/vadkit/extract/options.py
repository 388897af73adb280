"""Extraction options: how videos are cut and encoded, checked once, recorded in the store.

:class:`ExtractOptions` is what a user chooses; :func:`store_info` turns it (with the
backbone) into the store's metadata and :func:`options_from_store` reads it back, so a
store says how to make more features exactly like its own (what ``predict`` needs).
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import Literal

import numpy as np

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.crops import CROP_COUNTS
from vadkit.io.store import StoreInfo
from vadkit.sampling import SnippetSpec, expected_T, segment_indices, snippet_indices

__all__ = [
    "ExtractOptions",
    "check_options",
    "options_from_store",
    "parse_shard",
    "snippets_per_batch",
    "store_info",
    "video_index",
]

# option -> the flag a CLI user typed, for messages
FLAGS = {
    "snippet_length": "--snippet-length",
    "stride": "--stride",
    "frame_step": "--frame-step",
    "n_segments": "--segments",
    "batch_size": "--batch-size",
    "padding": "--padding",
    "crop": "--crop",
    "segment_rule": "--segment-rule",
}


@dataclass(frozen=True)
class ExtractOptions:
    """How to cut and encode videos. ``None`` means "the backbone's default".

    Attributes
    ----------
    crop : ``"center"`` (1 crop), ``"five"`` or ``"ten"`` (torchvision order).
    snippet_length : frames per snippet (3-D backbones default to their clip length,
        2-D backbones pool per-frame features over 16 frames). ``clip_len=`` is accepted
        as the old name.
    stride : frames between snippet starts (default ``snippet_length``: no overlap).
    frame_step : take every ``frame_step``-th frame inside a snippet.
    padding : ``"repeat_last"`` (edge-pad the last partial snippet; T = ceil(n/stride),
        the RTFM ShanghaiTech convention), ``"loop"`` (wrap to the video start) or
        ``"drop"`` (drop it; T = floor for non-overlapping snippets).
    n_segments : cut each video into this many fixed segments instead (32 for Sultani /
        TACnet); ``segment_rule`` says how (``"sultani"``: 16-frame clips averaged into
        segments by rounded linspace bounds, then L2-normalised; ``"tacnet"``: 16 frames
        sampled per ``array_split`` segment; needs the frame count first).
    batch_size : network inputs per forward pass (clips or frames, times crops). It also
        fixes which snippets share a batch, so results do not depend on who runs them.
    device : torch device of the network.
    endpoint : feature layer of backbones that offer several (``i3d_kinetics400``:
        ``mixed_5c`` by default, ``mixed_4f``, ``logits``); recorded in the store.
    prefetch : decode and crop the next frames in a second thread while the network runs.
        ``None`` (default) turns it on for clip (3-D) backbones only, where it measured
        faster on 2 CPU cores; frame backbones measured slower with it.
    """

    crop: Literal["center", "five", "ten"] = "center"
    snippet_length: int | None = None
    stride: int | None = None
    frame_step: int = 1
    padding: Literal["repeat_last", "loop", "drop"] = "repeat_last"
    n_segments: int | None = None
    segment_rule: Literal["sultani", "tacnet"] = "sultani"
    batch_size: int = 8
    device: str = "cpu"
    prefetch: bool | None = None
    endpoint: str | None = None
    clip_len: InitVar[int | None] = None

    def __post_init__(self, clip_len: int | None) -> None:
        if clip_len is not None:
            if self.snippet_length is not None and self.snippet_length != clip_len:
                raise VadkitError(
                    f"snippet_length={self.snippet_length} and clip_len={clip_len}: "
                    "give one (clip_len is the old name of snippet_length)"
                )
            object.__setattr__(self, "snippet_length", clip_len)

    def length(self, config: PretrainedConfig | None = None) -> int:
        """Frames per snippet for this backbone (``config`` gives the default when
        ``snippet_length`` is not set, as in options read back from a store it always is)."""
        if self.snippet_length:
            return self.snippet_length
        if config is None:
            raise VadkitError(
                "ExtractOptions without snippet_length: the backbone's config is needed"
            )
        return config.clip_len if config.kind == "clip" else 16

    def use_prefetch(self, config: PretrainedConfig) -> bool:
        return config.kind == "clip" if self.prefetch is None else bool(self.prefetch)

    def spec(self, config: PretrainedConfig | None = None) -> SnippetSpec | None:
        """The snippet rule, or None for TACnet segments (which need the frame count first)."""
        length = self.length(config)
        if self.n_segments and self.segment_rule == "tacnet":
            return None
        if self.n_segments:  # sultani: every full clip, pooled into segments afterwards
            return SnippetSpec(clip_len=length, stride=length, frame_step=1, padding="drop")
        return SnippetSpec(length, self.stride or length, self.frame_step, self.padding)


def check_options(options: ExtractOptions, config: PretrainedConfig) -> None:
    """One-line errors for impossible values, naming the CLI flag, before anything is written."""
    if options.crop not in CROP_COUNTS:
        raise VadkitError(f"--crop {options.crop!r}: choose one of {', '.join(CROP_COUNTS)}")
    for name in ("snippet_length", "stride", "n_segments"):
        value = getattr(options, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise VadkitError(f"{FLAGS[name]} must be an integer, got {value!r}")
        if value is not None and value < 1:
            raise VadkitError(f"{FLAGS[name]} must be >= 1, got {value}")
    for name in ("frame_step", "batch_size"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise VadkitError(f"{FLAGS[name]} must be an integer >= 1, got {value!r}")
    if options.padding not in ("repeat_last", "loop", "drop"):
        raise VadkitError(f"--padding {options.padding!r}: choose one of repeat_last, loop, drop")
    if options.n_segments and options.segment_rule not in ("sultani", "tacnet"):
        raise VadkitError(f"--segment-rule {options.segment_rule!r}: choose one of sultani, tacnet")


def snippets_per_batch(options: ExtractOptions, config: PretrainedConfig) -> int:
    """Snippets encoded together: ``batch_size`` network inputs, crops and frames counted."""
    per = max(1, options.batch_size // CROP_COUNTS[options.crop])
    if config.kind == "frame":
        per = max(1, per // options.length(config))
    return per


def video_index(n_frames: int, config: PretrainedConfig, options: ExtractOptions) -> np.ndarray:
    """Frame indices ``(T, L)`` of the snippets (or the clips feeding segments) of a video."""
    length = options.length(config)
    spec = options.spec(config)
    if spec is None:
        return np.asarray(
            segment_indices(n_frames, options.n_segments, clip_len=length, rule="tacnet")
        )
    if options.n_segments and n_frames < length:
        raise VadkitError(
            f"{n_frames} frames: Sultani segments need at least one {length}-frame clip"
        )
    if n_frames > 0 and expected_T(n_frames, spec) == 0:  # the message names the CLI flags
        raise VadkitError(
            f"{n_frames} frames, fewer than one snippet needs ({spec.span} frames for "
            f"--snippet-length {spec.clip_len}, --frame-step {spec.frame_step}) with --padding drop"
        )
    return np.asarray(snippet_indices(n_frames, spec))


def store_info(config: PretrainedConfig, options: ExtractOptions, weights_sha256: str) -> StoreInfo:
    """Store-level metadata recording exactly how features are made."""
    length = options.length(config)
    extra: dict[str, object] = {
        "input_size": list(config.input_size),
        "resize_short": config.resize_short,
        "mean": list(config.mean),
        "std": list(config.std),
        "channel_order": config.channel_order,
        "pooling": "mean over frames" if config.kind == "frame" else "none (clip network)",
        # which snippets share a forward pass: the last float bits can depend on it
        "batch_size": options.batch_size,
    }
    if options.endpoint:
        extra["endpoint"] = options.endpoint
    if options.n_segments:
        extra["segment_rule"] = options.segment_rule
        if options.segment_rule == "sultani":
            extra["segment_norm"] = "l2"
    return StoreInfo(
        backbone=config.name,
        weights_sha256=weights_sha256,
        dim=config.out_dim,
        crops=CROP_COUNTS[options.crop],
        snippet_length=length,
        stride=length if options.n_segments else (options.stride or length),
        padding="segments" if options.n_segments else options.padding,
        frame_step=options.frame_step,
        n_segments=options.n_segments,
        crop_mode=options.crop,
        source="extract",
        extra=extra,
    )


def options_from_store(
    info: StoreInfo, *, batch_size: int | None = None, device: str = "cpu"
) -> ExtractOptions:
    """The :class:`ExtractOptions` that made a store (``store.info``), to encode more videos alike.

    ``batch_size`` defaults to the one the store was made with (recorded since this version;
    else 8, the default), so the features match the store's bit for bit.

    Raises
    ------
    VadkitError : the store was not made by ``vadkit extract`` (imported features record no
        recipe vadkit can repeat).
    """
    if info.source != "extract" or info.crop_mode not in CROP_COUNTS or not info.snippet_length:
        raise VadkitError(
            f"store of backbone {info.backbone!r} (source {info.source!r}) was not made by "
            "`vadkit extract`: its features cannot be reproduced from its metadata; "
            "extract the training videos with vadkit first"
        )
    segments = info.n_segments if info.padding == "segments" else None
    rule = str(info.extra.get("segment_rule", "sultani")) if segments else "sultani"
    return ExtractOptions(
        crop=info.crop_mode,  # type: ignore[arg-type]
        snippet_length=int(info.snippet_length),
        stride=None if segments else info.stride,
        frame_step=info.frame_step,
        padding="repeat_last" if segments else info.padding,  # type: ignore[arg-type]
        n_segments=segments,
        segment_rule=rule,  # type: ignore[arg-type]
        batch_size=int(batch_size or info.extra.get("batch_size", 8)),
        device=device,
        endpoint=info.extra.get("endpoint"),  # type: ignore[arg-type]
    )


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
