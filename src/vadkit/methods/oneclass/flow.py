"""Dense optical flow summarised per spatial cell: the input of the ``motion`` scorer.

Flow is OpenCV's Farneback or DIS (preset medium) between consecutive grayscale frames;
frame ``t`` gets the flow from ``t-1`` to ``t`` and frame 0 reuses the flow of frame 1, so
every frame has a value. Each frame is cut into a ``grid`` of cells and each cell is
described by :data:`FLOW_FEATURES` (:func:`flow_cell_features`) and, by
:func:`flow_features`, also by its *window peaks*: the largest mean speed over a square
window of side ``fraction * frame height`` centred in the cell, one per window fraction
(the speed of the fastest object-sized region there; input of ``object_speed``).
:func:`flow_features` can also make synthetic anomalies: in chosen frames the largest
connected moving region has its flow multiplied by a factor (an object sped up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "FLOW_FEATURES",
    "N_DIRECTIONS",
    "FlowFeatures",
    "compute_flow",
    "flow_cell_features",
    "flow_features",
    "speed_up_largest_object",
    "window_peaks",
]

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


def _flow_fn(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import cv2

    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    raise VadkitError(f"flow method {method!r}: choose 'farneback' or 'dis'")


def compute_flow(prev: np.ndarray, nxt: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Dense flow ``(H, W, 2)`` float32 (dx, dy in pixels) from ``prev`` to ``nxt`` (gray uint8)."""
    return _flow_fn(method)(prev, nxt)


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
    return flow_features(frames, grid, method, resize, windows=()).cells


@dataclass
class FlowFeatures:
    """Per-frame flow summaries of one video (``n`` frames, ``rows x cols`` cells).

    ``cells`` ``(n, rows, cols, len(FLOW_FEATURES))``; ``peaks`` ``(n, rows, cols, W)``, one
    plane per window fraction. With a speed-up schedule, ``synth_cells``/``synth_peaks`` are
    the same summaries of the modified flow and ``synth_labels`` ``(n,)`` int8 marks the
    frames where a moving region was sped up (frames with nothing moving stay normal).
    """

    cells: np.ndarray
    peaks: np.ndarray
    synth_cells: np.ndarray | None = None
    synth_peaks: np.ndarray | None = None
    synth_labels: np.ndarray | None = None


def window_peaks(speed: np.ndarray, grid: tuple[int, int], windows: Iterable[int]) -> np.ndarray:
    """``(H, W)`` speeds -> ``(rows, cols, len(windows))``: per cell, the largest mean speed
    over a ``w x w`` box (edges reflected) whose centre lies in the cell."""
    import cv2

    h, w = speed.shape
    rb = np.linspace(0, h, grid[0] + 1).round().astype(np.int64)[:-1]
    cb = np.linspace(0, w, grid[1] + 1).round().astype(np.int64)[:-1]
    out = []
    for k in windows:
        box = cv2.blur(speed, (int(k), int(k))) if k > 1 else speed
        out.append(np.maximum.reduceat(np.maximum.reduceat(box, rb, axis=0), cb, axis=1))
    if not out:
        return np.zeros((*grid, 0), np.float32)
    return np.stack(out, axis=-1).astype(np.float32)


def speed_up_largest_object(
    flow: np.ndarray, factor: float, moving: float = _MOVING
) -> tuple[np.ndarray, bool]:
    """Multiply the flow of the largest connected moving region by ``factor``.

    A pixel moves when its speed exceeds ``moving`` (pixels per frame); the moving mask is
    opened with a 3x3 square first (isolated noise pixels are no object). Returns the new
    ``(H, W, 2)`` flow and whether a region was found.
    """
    import cv2

    mag = np.sqrt((flow.astype(np.float32) ** 2).sum(axis=-1))
    mask = cv2.morphologyEx((mag > moving).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return flow, False
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    out = flow.copy()
    out[lab == big] *= factor
    return out, True


def _window_px(fractions: Iterable[float], height: int) -> list[int]:
    return [max(1, round(f * height)) for f in fractions]


def flow_features(
    frames: Iterable[np.ndarray],
    grid: tuple[int, int] = (8, 12),
    method: str = "dis",
    resize: float = 1.0,
    windows: Iterable[float] = (1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4),
    speedup: Mapping[int, float] | None = None,
    height: int | None = None,
) -> FlowFeatures:
    """Flow of one video summarised per cell: statistics, window peaks, synthetic anomalies.

    Parameters
    ----------
    frames : iterable of ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 frames, in order (>= 1).
    grid : cells (rows, columns) the frame is cut into.
    method : ``"dis"`` (OpenCV DIS, preset medium) or ``"farneback"``.
    resize : frames are resized by this factor before the flow; speeds are reported in
        pixels per frame of the original size.
    windows : window sides as fractions of the (resized) frame height, for ``peaks``.
    speedup : frame index (>= 1) -> factor: in those frames the largest moving region's
        flow is multiplied by the factor (:func:`speed_up_largest_object`) for the
        ``synth_*`` arrays. Frame 0 copies frame 1, as for the real features.
    height : if given, frames are resized to this height (aspect kept; ``resize`` is
        ignored) and speeds are in pixels per frame *of that height*: a canonical frame, so
        every speed threshold is a fixed fraction of the frame height whatever the camera's
        resolution.

    Returns
    -------
    FlowFeatures
        ``cells`` ``(n, rows, cols, 11)`` and ``peaks`` ``(n, rows, cols, len(windows))``
        float32, plus the ``synth_*`` arrays when ``speedup`` is given.
    """
    import cv2

    if grid[0] < 1 or grid[1] < 1:
        raise VadkitError(f"flow grid must be positive, got {grid}")
    fractions = tuple(windows)
    flow_fn = _flow_fn(method)
    cells, peaks, s_cells, s_peaks, s_lab = [], [], [], [], []
    if height is not None and height < 8:
        raise VadkitError(f"flow: canonical height must be >= 8 pixels, got {height}")
    prev, px, t = None, [], 0
    unit = resize  # speeds are divided by this: pixels of the original frame
    for frame in frames:
        g = _gray(frame)
        if height is not None and prev is None:
            resize, unit = height / g.shape[0], 1.0  # pixels of the canonical frame
        if resize != 1.0:
            interp = cv2.INTER_AREA if resize < 1 else cv2.INTER_LINEAR
            g = cv2.resize(g, None, fx=resize, fy=resize, interpolation=interp)
        if prev is None:
            px = _window_px(fractions, g.shape[0])
        else:
            flow = flow_fn(prev, g)
            cells.append(_cell_features(flow, grid, unit))
            peaks.append(window_peaks(np.sqrt((flow**2).sum(-1)) / unit, grid, px))
            if speedup is not None:
                changed = False
                if t in speedup:
                    flow, changed = speed_up_largest_object(flow, speedup[t], _MOVING * unit)
                if changed:
                    s_cells.append(_cell_features(flow, grid, unit))
                    s_peaks.append(window_peaks(np.sqrt((flow**2).sum(-1)) / unit, grid, px))
                else:
                    s_cells.append(cells[-1])
                    s_peaks.append(peaks[-1])
                s_lab.append(int(changed))
        prev = g
        t += 1
    if prev is None:
        raise VadkitError("flow: the video has no frames")

    def stack(a: list[np.ndarray], depth: int) -> np.ndarray:
        if not a:  # a single frame: no motion
            return np.zeros((1, *grid, depth), np.float32)
        return np.stack([a[0], *a]).astype(np.float32)

    out = FlowFeatures(stack(cells, len(FLOW_FEATURES)), stack(peaks, len(fractions)))
    if speedup is not None:
        out.synth_cells = stack(s_cells, len(FLOW_FEATURES))
        out.synth_peaks = stack(s_peaks, len(fractions))
        lab = np.asarray(s_lab, np.int8)
        out.synth_labels = np.concatenate([lab[:1], lab]) if len(lab) else np.zeros(1, np.int8)
    return out
