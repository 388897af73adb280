"""The per-video score curve: frame scores, ground truth, threshold, attention, thumbnails."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.viz.figure import new_figure

__all__ = ["intervals", "peak_frames", "read_thumbnails", "score_curve"]

SCORE, TRUTH, THRESH, ATTN, EVENT = "tab:blue", "tab:red", "black", "tab:green", "tab:purple"


def intervals(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of true values of a 1-D mask as ``(start, end)``, end exclusive."""
    m = np.concatenate([[False], np.asarray(mask).astype(bool).ravel(), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def peak_frames(frame_scores: np.ndarray, k: int = 4, min_gap: int | None = None) -> list[int]:
    """The ``k`` highest frames at least ``min_gap`` apart (default 1/(2k) of the video), in
    frame order: where to take thumbnails."""
    s = np.asarray(frame_scores, dtype=np.float64).ravel()
    if s.size == 0 or k < 1:
        return []
    gap = max(1, len(s) // (2 * k)) if min_gap is None else max(1, int(min_gap))
    picked: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if all(abs(int(i) - p) >= gap for p in picked):
            picked.append(int(i))
            if len(picked) == k:
                break
    return sorted(picked)


def read_thumbnails(
    source: str | Path | None, frames: Sequence[int], height: int = 64
) -> list[tuple[int, np.ndarray]]:
    """Frames ``frames`` of a video file or frame folder, scaled to ``height`` pixels.

    Returns ``(frame index, (height, w, 3) uint8)`` pairs. Indices past the video's end
    (padded conventions) show its last frame. A missing or unreadable source is a
    :class:`VadkitError`.
    """
    from PIL import Image

    from vadkit.io.video import open_video

    if source is None:
        raise VadkitError("no source video recorded for this video")
    if not Path(source).exists():
        raise VadkitError(f"source video {source} not found")
    frames = [int(f) for f in frames]
    if not frames:
        return []
    with open_video(source) as reader:
        n = len(reader)
        if n == 0:
            raise VadkitError(f"source video {source} has no frames")
        images = reader.get_frames(np.clip(np.asarray(frames), 0, n - 1))
    out = []
    for f, img in zip(frames, images, strict=True):
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        w = max(1, round(img.shape[1] * height / img.shape[0]))
        small = Image.fromarray(img.astype(np.uint8)).resize((w, height), Image.BILINEAR)
        out.append((f, np.asarray(small, dtype=np.uint8)))
    return out


def _fit_length(values: np.ndarray, n: int) -> np.ndarray:
    """Per-snippet values stretched to ``n`` frames (nearest), per-frame values cut/padded."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(v) == n or len(v) == 0:
        return v
    if len(v) < n and n % len(v) == 0:
        return np.repeat(v, n // len(v))
    idx = np.minimum((np.arange(n) * len(v)) // n, len(v) - 1)
    return v[idx]


def score_curve(
    frame_scores: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    threshold: float | None = None,
    fps: float | None = None,
    events: Sequence[tuple[int, int]] | None = None,
    attention: np.ndarray | None = None,
    thumbnails: Sequence[tuple[int, np.ndarray]] | None = None,
    thumbnail_note: str | None = None,
    title: str | None = None,
) -> Any:
    """One video's frame scores as a Figure.

    ``labels`` (per frame, 0/1) are shaded, one ``axvspan`` per anomalous interval;
    ``threshold`` is a dashed line; ``events`` (``(start, end)`` frames, end exclusive) are
    bars under the curve; ``attention`` (per frame or per snippet) is drawn on a right-hand
    axis; ``thumbnails`` (from :func:`read_thumbnails`) form a strip under the plot, their
    frames marked on the curve. ``thumbnail_note`` says why a strip is missing. With ``fps``
    a top axis shows seconds. The legend sits above the plot so it never covers the curve.
    """
    s = np.asarray(frame_scores, dtype=np.float64).ravel()
    if s.size == 0:
        raise VadkitError("score_curve: no frame scores")
    n = len(s)
    thumbs = list(thumbnails or [])
    fig = new_figure(7.0, 4.2 if thumbs else 2.8)
    if thumbs:
        grid = fig.add_gridspec(2, len(thumbs), height_ratios=[3.0, 1.7])
        ax = fig.add_subplot(grid[0, :])
        strip = [fig.add_subplot(grid[1, i]) for i in range(len(thumbs))]
    else:
        ax, strip = fig.add_subplot(1, 1, 1), []
    x = np.arange(n)
    if labels is not None:
        y = np.asarray(labels).ravel()
        if len(y) != n:
            raise VadkitError(f"score_curve: {len(y)} labels for {n} frame scores")
        for i, (a, b) in enumerate(intervals(y)):
            label = "ground truth" if i == 0 else "_nolegend_"
            ax.axvspan(a - 0.5, b - 0.5, color=TRUTH, alpha=0.18, lw=0, label=label)
    ax.plot(x, s, color=SCORE, lw=1.2, label="score")
    if threshold is not None:
        ax.axhline(float(threshold), color=THRESH, ls="--", lw=0.9, label="threshold")
    if events:
        lo = float(np.min(s)) if np.isfinite(s).all() else 0.0
        for i, (a, b) in enumerate(events):
            ax.hlines(lo, a, b, color=EVENT, lw=4, label="events" if i == 0 else "_nolegend_")
    handles, names = ax.get_legend_handles_labels()
    if attention is not None:
        att = _fit_length(attention, n)
        tw = ax.twinx()
        (line,) = tw.plot(x[: len(att)], att, color=ATTN, lw=1.0, alpha=0.8, label="attention")
        tw.set_ylabel("attention", color=ATTN)
        tw.tick_params(axis="y", colors=ATTN, labelsize=8)
        handles, names = handles + [line], names + ["attention"]
    if thumbs:
        at = [min(max(int(f), 0), n - 1) for f, _ in thumbs]
        (dots,) = ax.plot(at, s[at], "v", color="black", ms=5, ls="none", label="thumbnails")
        handles, names = handles + [dots], names + ["thumbnails"]
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("anomaly score")
    ax.tick_params(labelsize=8)
    if fps:
        sec = ax.secondary_xaxis("top", functions=(lambda f: f / fps, lambda t: t * fps))
        sec.set_xlabel("time (s)", fontsize=8)
        sec.tick_params(labelsize=7)
    ax.legend(
        handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.24 if fps else 1.0),
        ncol=len(handles), fontsize=7, frameon=False, borderaxespad=0.2,
    )  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=9)
    for sub, (f, img) in zip(strip, thumbs, strict=True):
        sub.imshow(img)
        sub.set_title(f"frame {f}", fontsize=7)
        sub.set_axis_off()
    if thumbnail_note and not thumbs:
        # bottom left: the x label is centred, so the corner is free
        fig.text(0.01, 0.01, thumbnail_note, ha="left", va="bottom", fontsize=7, color="0.4")
    return fig
