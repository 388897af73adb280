"""Which frames make each snippet: sliding snippets with a padding policy, or fixed segments.

Snippet ``t`` of a store made with ``SnippetSpec(clip_len=L, stride=s, frame_step=k)`` is the
frames ``t*s + j*k`` for ``j = 0 .. L-1``. Counting rule (``expected_T``):

- padded (``"loop"``, ``"repeat_last"``): one snippet per start ``0, s, 2s, ... < n_frames``,
  ``T = ceil(n_frames / s)``; indices past the end are padded. 481 frames, ``L = s = 16`` ->
  31 snippets, as in the RTFM ShanghaiTech I3D release.
- ``"drop"``: only snippets that fit, ``start + (L-1)*k < n_frames``,
  ``T = (n_frames - (L-1)*k - 1) // s + 1`` (0 when the video is shorter than one snippet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "PADDINGS",
    "SnippetSpec",
    "SultaniSegments",
    "expected_T",
    "segment_indices",
    "snippet_indices",
]

PADDINGS = ("loop", "repeat_last", "drop")


@dataclass(frozen=True)
class SnippetSpec:
    """How snippets are cut from a video.

    Attributes
    ----------
    clip_len : frames per snippet.
    stride : frames between the starts of consecutive snippets (``= clip_len``: no overlap).
    frame_step : distance between the frames inside a snippet.
    padding : what the last, partial snippets get for frames past the end:
        ``"loop"`` wraps to the start of the video (index ``i % n_frames``);
        ``"repeat_last"`` repeats the last frame (edge padding; what the RTFM release's
        ``ceil(n/16)`` snippet counts imply); ``"drop"`` drops snippets that do not fit.
    """

    clip_len: int = 16
    stride: int = 16
    frame_step: int = 1
    padding: Literal["loop", "repeat_last", "drop"] = "loop"

    def __post_init__(self) -> None:
        for name in ("clip_len", "stride", "frame_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise VadkitError(f"SnippetSpec.{name} must be an integer >= 1, got {value!r}")
        if self.padding not in PADDINGS:
            raise VadkitError(
                f"SnippetSpec.padding must be one of {', '.join(PADDINGS)}, got {self.padding!r}"
            )

    @property
    def span(self) -> int:
        """Frames from the first to the last frame of one snippet, inclusive."""
        return (self.clip_len - 1) * self.frame_step + 1


def _check_n_frames(n_frames: int) -> int:
    if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer) or n_frames < 0:
        raise VadkitError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    return int(n_frames)


def expected_T(n_frames: int, spec: SnippetSpec) -> int:
    """Number of snippets ``snippet_indices`` cuts from ``n_frames`` frames (0 if none).

    >>> expected_T(481, SnippetSpec(16, 16, padding="repeat_last"))
    31
    >>> expected_T(481, SnippetSpec(16, 16, padding="drop"))
    30
    """
    n = _check_n_frames(n_frames)
    if n == 0:
        return 0
    if spec.padding == "drop":
        return (n - spec.span) // spec.stride + 1 if n >= spec.span else 0
    return math.ceil(n / spec.stride)


def snippet_indices(n_frames: int, spec: SnippetSpec) -> np.ndarray:
    """Frame indices of every snippet of a video.

    Parameters
    ----------
    n_frames : frames in the video (exact, as counted by the reader).
    spec : clip length, stride, frame step and padding policy.

    Returns
    -------
    (T, clip_len) int64 array with ``T = expected_T(n_frames, spec)``.

    >>> snippet_indices(5, SnippetSpec(clip_len=4, stride=4, padding="loop")).tolist()
    [[0, 1, 2, 3], [4, 0, 1, 2]]
    >>> snippet_indices(5, SnippetSpec(clip_len=4, stride=4, padding="repeat_last")).tolist()
    [[0, 1, 2, 3], [4, 4, 4, 4]]
    """
    n = _check_n_frames(n_frames)
    T = expected_T(n, spec)
    if n == 0:
        raise VadkitError("video has 0 frames: nothing to cut into snippets")
    if T == 0:
        raise VadkitError(
            f"video has {n} frames, fewer than one snippet needs ({spec.span} frames for "
            f"clip_len={spec.clip_len}, frame_step={spec.frame_step}) with padding='drop'"
        )
    starts = np.arange(T, dtype=np.int64) * spec.stride
    idx = starts[:, None] + np.arange(spec.clip_len, dtype=np.int64)[None, :] * spec.frame_step
    if spec.padding == "loop":
        idx %= n
    elif spec.padding == "repeat_last":
        np.minimum(idx, n - 1, out=idx)
    return idx


class SultaniSegments(NamedTuple):
    """Sultani's fixed segments: every full clip, and the clips each segment averages."""

    clips: np.ndarray  # (n_clips, clip_len) frame indices of consecutive clips
    bounds: np.ndarray  # (n_segments, 2) [start_clip, end_clip) per segment, 0-based


def segment_indices(
    n_frames: int,
    n_segments: int = 32,
    clip_len: int = 16,
    rule: Literal["sultani", "tacnet"] = "sultani",
) -> np.ndarray | SultaniSegments:
    """Frames of a fixed number of segments per video, by one of two published rules.

    Parameters
    ----------
    n_frames : frames in the video; at least ``clip_len``.
    n_segments : segments per video (32 in both papers).
    clip_len : frames per clip.
    rule :
        ``"tacnet"``: ``np.array_split`` the frames into ``n_segments`` parts; from each part
        take the first frame of each of ``clip_len`` ``array_split`` sub-parts. A part with
        fewer than ``clip_len`` frames repeats its frames ``clip_len // m`` times each, the last
        ``clip_len % m`` frames once more (TACnet ``preprocess/clip_SH.py``). Needs
        ``n_frames >= n_segments`` (the reference divides by zero otherwise).
        ``"sultani"``: consecutive non-overlapping clips ``[16c, 16c + 16)``, ``n_clips =
        n_frames // clip_len`` (the partial tail is dropped), and the clip ranges each segment
        averages from :func:`vadkit.evaluate.expand.segment_bounds_sultani`.

    Returns
    -------
    ``"tacnet"``: (n_segments, clip_len) int64 frame indices.
    ``"sultani"``: :class:`SultaniSegments` ``(clips (n_clips, clip_len), bounds (n_segments, 2))``.
    """
    n = _check_n_frames(n_frames)
    for name, value in (("n_segments", n_segments), ("clip_len", clip_len)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise VadkitError(f"segment_indices: {name} must be an integer >= 1, got {value!r}")
    if n < clip_len:
        raise VadkitError(
            f"video has {n} frames, fewer than one {clip_len}-frame clip: cannot cut segments"
        )
    if rule == "sultani":
        from vadkit.evaluate.expand import segment_bounds_sultani

        n_clips = n // clip_len
        clips = np.arange(n_clips * clip_len, dtype=np.int64).reshape(n_clips, clip_len)
        bounds = np.asarray(segment_bounds_sultani(n_clips, n_segments), dtype=np.int64)
        return SultaniSegments(clips, bounds)
    if rule == "tacnet":
        if n < n_segments:
            raise VadkitError(
                f"video has {n} frames, fewer than n_segments={n_segments}: "
                "TACnet segments would be empty"
            )
        return np.stack(
            [_tacnet_clip(part, clip_len) for part in np.array_split(np.arange(n), n_segments)]
        ).astype(np.int64)
    raise VadkitError(f"segment rule {rule!r}: choose 'sultani' or 'tacnet'")


def _tacnet_clip(part: np.ndarray, clip_len: int) -> np.ndarray:
    m = len(part)
    if m >= clip_len:
        return np.array([sub[0] for sub in np.array_split(part, clip_len)])
    repeats = np.full(m, clip_len // m)
    repeats[m - clip_len % m :] += 1  # empty slice when m divides clip_len
    return np.repeat(part, repeats)
