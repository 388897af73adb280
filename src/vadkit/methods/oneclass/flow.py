"""Dense optical flow summarised per spatial cell: the input of the ``motion`` scorer.

Flow is OpenCV's Farneback (default) or DIS between consecutive grayscale frames; frame
``t`` gets the flow from ``t-1`` to ``t`` and frame 0 reuses the flow of frame 1, so every
frame has a value. Each frame is cut into a ``grid`` of cells and each cell is described by
:data:`FLOW_FEATURES`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["FLOW_FEATURES", "N_DIRECTIONS", "flow_cell_features", "compute_flow"]

N_DIRECTIONS = 8
#: per-cell descriptor: mean speed, peak speed (of 4x4 sub-cells), share of moving pixels,
#: then the mean speed carried by each of 8 flow directions (a magnitude-weighted histogram;
#: ``dirK`` is centred on K * 45 degrees in image coordinates: dir0 right, dir2 down).
FLOW_FEATURES: tuple[str, ...] = ("mean_speed", "peak_speed", "moving_share") + tuple(
    f"dir{k}" for k in range(N_DIRECTIONS)
)
_SUB = 4  # sub-cells per cell side for the peak speed
_MOVING = 0.5  # pixels per frame: a pixel "moves" above this speed (at scale 1)


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    a = np.asarray(frame)
    if a.ndim == 3:
        a = cv2.cvtColor(np.ascontiguousarray(a[..., :3]), cv2.COLOR_RGB2GRAY)
    if a.ndim != 2:
        raise VadkitError(f"flow: expected (H, W) or (H, W, 3) frames, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.uint8)


def compute_flow(prev: np.ndarray, nxt: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Dense flow ``(H, W, 2)`` float32 (dx, dy in pixels) from ``prev`` to ``nxt`` (gray uint8)."""
    import cv2

    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(prev, nxt, None)
    raise VadkitError(f"flow method {method!r}: choose 'farneback' or 'dis'")


def _block_means(planes: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``(H, W, P)`` -> ``(rows, cols, P)`` exact means over a near-even split of the frame."""
    h, w = planes.shape[:2]
    rb = np.linspace(0, h, rows + 1).round().astype(np.int64)
    cb = np.linspace(0, w, cols + 1).round().astype(np.int64)
    if np.any(np.diff(rb) < 1) or np.any(np.diff(cb) < 1):
        raise VadkitError(f"flow: a {h}x{w} frame cannot be cut into {rows}x{cols} cells")
    sums = np.add.reduceat(np.add.reduceat(planes, rb[:-1], axis=0), cb[:-1], axis=1)
    return sums / (np.diff(rb)[:, None, None] * np.diff(cb)[None, :, None])


def _cell_features(flow: np.ndarray, grid: tuple[int, int], scale: float) -> np.ndarray:
    gh, gw = grid
    dx, dy = flow[..., 0] / scale, flow[..., 1] / scale
    mag = np.sqrt(dx * dx + dy * dy)
    ang = np.arctan2(dy, dx)
    # bin k is centred on angle k * 45 degrees: 0 = +x (right), 2 = +y (down), 4 = left, 6 = up
    bins = np.rint(ang / (2 * np.pi / N_DIRECTIONS)).astype(np.int64) % N_DIRECTIONS
    planes = [mag, (mag > _MOVING).astype(np.float32)]
    planes += [np.where(bins == k, mag, 0) for k in range(N_DIRECTIONS)]
    mean = _block_means(np.stack(planes, axis=-1).astype(np.float32), gh, gw)
    sub = _block_means(mag[..., None].astype(np.float32), gh * _SUB, gw * _SUB)
    peak = sub[..., 0].reshape(gh, _SUB, gw, _SUB).max(axis=(1, 3))
    return np.concatenate([mean[..., :1], peak[..., None], mean[..., 1:]], axis=-1)


def flow_cell_features(
    frames: Iterable[np.ndarray],
    grid: tuple[int, int] = (8, 12),
    method: str = "farneback",
    resize: float = 1.0,
) -> np.ndarray:
    """Per-frame, per-cell flow statistics of one video.

    Parameters
    ----------
    frames : iterable of ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 frames, in order (>= 1).
    grid : cells (rows, columns) the frame is cut into.
    method : ``"farneback"`` or ``"dis"``.
    resize : frames are resized by this factor before the flow; speeds are reported in
        pixels per frame of the original size.

    Returns
    -------
    np.ndarray
        ``(n_frames, rows, columns, len(FLOW_FEATURES))`` float32.
    """
    import cv2

    if grid[0] < 1 or grid[1] < 1:
        raise VadkitError(f"flow grid must be positive, got {grid}")
    out: list[np.ndarray] = []
    prev = None
    for frame in frames:
        g = _gray(frame)
        if resize != 1.0:
            g = cv2.resize(g, None, fx=resize, fy=resize, interpolation=cv2.INTER_AREA)
        if prev is not None:
            out.append(_cell_features(compute_flow(prev, g, method), grid, resize))
        prev = g
    if prev is None:
        raise VadkitError("flow: the video has no frames")
    if not out:  # a single frame: no motion
        return np.zeros((1, *grid, len(FLOW_FEATURES)), np.float32)
    return np.stack([out[0], *out]).astype(np.float32)
