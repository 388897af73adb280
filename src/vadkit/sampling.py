"""Snippet and segment rules: which frames make each snippet, and how snippets pool into segments.

The one home of these rules: io (store checks), extract (sampling frames), datasets (label
alignment), evaluate (score expansion) and the methods (32-segment pooling) all import them from
here, and this module imports nothing of vadkit but its error type.

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
    "allowed_T",
    "expected_T",
    "pool_segments",
    "pool_sultani",
    "segment_bounds_linspace",
    "segment_bounds_sultani",
    "segment_indices",
    "segment_of_snippet",
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
        averages from :func:`segment_bounds_sultani`.

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


def _positive(value: object, name: str, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise VadkitError(f"{fn}: {name} must be a positive integer, got {value!r}")
    return int(value)


def allowed_T(
    n_frames: int,
    snippet_length: int | None,
    stride: int | None = None,
    frame_step: int = 1,
    padding: str = "unknown",
    n_segments: int | None = None,
) -> set[int]:
    """Snippet counts ``T`` consistent with ``n_frames`` under a sampling recipe.

    The one "does T fit this frame count" rule of vadkit (store checks, importers, label
    alignment). Fixed-segment recipes always have ``n_segments``. A known padding policy
    decides by :func:`expected_T`; with ``"unknown"`` padding (imported releases) both the
    drop-last and the keep-last count are accepted: the RTFM ShanghaiTech release keeps the
    last partial snippet (481 frames -> 31), most UCF-Crime extractions drop it (-> 30).
    Returns an empty set when the recipe does not say enough to decide.

    >>> sorted(allowed_T(481, 16))
    [30, 31]
    >>> sorted(allowed_T(481, 16, padding="repeat_last"))
    [31]
    >>> sorted(allowed_T(347, None, n_segments=32))
    [32]
    """
    if n_segments:
        return {int(n_segments)}
    if not snippet_length:
        return set()
    n = _check_n_frames(n_frames)
    stride = stride or snippet_length
    step = max(1, frame_step or 1)
    if padding in PADDINGS:
        spec = SnippetSpec(clip_len=snippet_length, stride=stride, frame_step=step, padding=padding)
        return {expected_T(n, spec)}
    keep_last = expected_T(n, SnippetSpec(snippet_length, stride, step, "repeat_last"))
    drop_last = expected_T(n, SnippetSpec(snippet_length, stride, step, "drop"))
    return {max(1, keep_last), drop_last} - {0}


def segment_bounds_sultani(n_clips: int, n_segments: int = 32) -> np.ndarray:
    """Clip range of each of Sultani's fixed segments, as ``[start, end)`` 0-based clip indices.

    The rule of the official ``Save_C3DFeatures_32Segments.m`` as it executes: boundaries
    ``b = round(linspace(1, n_clips, n_segments + 1))`` (MATLAB rounding, half away from zero),
    segment ``i`` averages clips ``b[i] .. b[i+1] - 1`` (1-based); a segment whose range is
    empty (``b[i+1] == b[i]``) takes the single clip ``b[i]``. The script's branch meant to let
    the last segment include clip ``b[-1]`` never runs, so the last clip is in no segment
    unless a collapsed last segment lands on it (``n_clips <= 17`` for 32 segments). This is
    what the released C3D features show: RoadAccidents002 (21 clips) has 12 identical adjacent
    segment rows, which this rule predicts and the "last segment includes its end" reading
    does not (11).

    Returns
    -------
    (n_segments, 2) int64 array ``[start, end)`` into the video's clips.

    >>> segment_bounds_sultani(3, n_segments=4).tolist()
    [[0, 1], [1, 2], [1, 2], [2, 3]]
    """
    fn = "segment_bounds_sultani"
    n = _positive(n_clips, "n_clips", fn)
    m = _positive(n_segments, "n_segments", fn)
    i = np.arange(m + 1, dtype=np.int64)
    # 1 + round(i * (n - 1) / m) in exact integer arithmetic; the values are >= 0, so half
    # away from zero is floor(x + 1/2)
    b = 1 + (2 * i * (n - 1) + m) // (2 * m)
    start = b[:-1] - 1
    end = np.maximum(b[1:] - 1, b[:-1])
    return np.stack([start, end], axis=1)


def pool_sultani(clip_features: np.ndarray, n_segments: int = 32) -> np.ndarray:
    """Sultani's 32-segment features: average the clips of each segment, then L2-normalise.

    Parameters
    ----------
    clip_features : (n_clips, ..., D) features of consecutive clips.
    n_segments : segments per video.

    Returns
    -------
    (n_segments, ..., D) float32, each row of unit L2 norm over ``D``.

    >>> pool_sultani(np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 4.0]]), n_segments=2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    feats = np.asarray(clip_features)
    if feats.ndim < 2 or feats.shape[0] == 0:
        raise VadkitError(f"pool_sultani: expected (n_clips, ..., D) features, got {feats.shape}")
    bounds = segment_bounds_sultani(feats.shape[0], n_segments)
    out = np.stack([feats[a:b].mean(0) for a, b in bounds])
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return (out / np.maximum(norm, 1e-12)).astype(np.float32)


def segment_bounds_linspace(length: int, n_segments: int = 32) -> np.ndarray:
    """Snippet range ``[b_i, b_{i+1})`` of each segment by RTFM's rule.

    Boundaries ``np.linspace(0, length, n_segments + 1)`` truncated to int (RTFM
    ``process_feat``, used as well by S3R and the salient-feature classifier). A segment whose
    range is empty (``length < n_segments``) takes the single snippet ``b_i``: the returned
    end is then ``b_i + 1``.

    >>> segment_bounds_linspace(3, n_segments=4).tolist()
    [[0, 1], [0, 1], [1, 2], [2, 3]]
    """
    fn = "segment_bounds_linspace"
    n = _positive(length, "length", fn)
    m = _positive(n_segments, "n_segments", fn)
    # float linspace truncated, as the references compute it: the exact floor(i * n / m)
    # differs where float rounding lands just below an integer (n=68, m=28, i=21 gives
    # 50.99...), and the references' pooled features follow the floats
    b = np.linspace(0, n, m + 1).astype(np.int64)
    start = b[:-1]
    end = np.maximum(b[1:], start + 1)
    return np.stack([start, end], axis=1)


def pool_segments(features: np.ndarray, n_segments: int = 32) -> np.ndarray:
    """Pool a video's snippets into ``n_segments`` segments by RTFM's ``process_feat`` rule.

    Segment ``i`` is the mean of snippets ``[b_i, b_{i+1})`` with ``b`` from
    :func:`segment_bounds_linspace`; an empty segment (fewer snippets than segments) is the
    single snippet ``b_i``. This is the pooling RTFM, S3R and the salient-feature classifier
    apply to every video (per crop) before training.

    Parameters
    ----------
    features : (T, ..., D) per-snippet features, e.g. a store's ``(T, crops, D)``.
    n_segments : segments per video (32 in the papers).

    Returns
    -------
    (n_segments, ..., D) float32.

    >>> pool_segments(np.array([[1.0], [3.0], [5.0], [7.0]]), n_segments=2).tolist()
    [[2.0], [6.0]]
    >>> pool_segments(np.array([[1.0], [3.0]]), n_segments=3).tolist()
    [[1.0], [1.0], [3.0]]
    """
    feats = np.asarray(features)
    if feats.ndim < 1 or feats.shape[0] == 0:
        raise VadkitError(f"pool_segments: expected (T, ..., D) features, got {feats.shape}")
    bounds = segment_bounds_linspace(feats.shape[0], n_segments)
    # cumulative sums make pooling one vectorised step even for long videos
    csum = np.concatenate(
        [np.zeros((1, *feats.shape[1:]), np.float64), np.cumsum(feats, 0, dtype=np.float64)]
    )
    start, end = bounds[:, 0], bounds[:, 1]
    shape = (-1,) + (1,) * (feats.ndim - 1)
    pooled = (csum[end] - csum[start]) / (end - start).reshape(shape)
    return pooled.astype(np.float32)


def segment_of_snippet(n_snippets: int, n_segments: int) -> np.ndarray:
    """Index of the pooled segment that holds each snippet, ``(n_snippets,)`` int64.

    Segments are those of :func:`vadkit.sampling.segment_bounds_linspace` (the rule of
    :func:`vadkit.sampling.pool_segments`); a snippet is in the last segment whose range holds
    it, i.e. an empty segment that borrowed the snippet does not own it.

    >>> segment_of_snippet(2, 3).tolist()
    [1, 2]
    >>> segment_of_snippet(4, 2).tolist()
    [0, 0, 1, 1]
    """
    owner = np.zeros(n_snippets, dtype=np.int64)
    for i, (start, end) in enumerate(segment_bounds_linspace(n_snippets, n_segments)):
        owner[start:end] = i  # later segments overwrite
    return owner
