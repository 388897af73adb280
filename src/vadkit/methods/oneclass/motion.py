"""``motion``: learned per-cell normality of dense optical flow statistics.

Input: :func:`vadkit.methods.oneclass.flow.flow_cell_features` arrays ``(N, rows, cols, F)``
(per frame and cell: mean and peak speed, share of moving pixels, speed per direction).
Two normal models, both fitted on normal frames only:

``mode="speed_ratio"`` (default): per cell, the typical speed of what moves there in normal
video, ``walker_speed_`` = median over the normal frames where at least ``moving_min`` of the
cell moves of (mean speed / moving share), shrunk towards the median over all cells with the
weight of ``prior`` frames (cells that normal traffic rarely crosses get the global value, not
noise). Cell score = mean speed / ``walker_speed_``: motion relative to what normally moves
*there*, which undoes perspective (people far away move fewer pixels).

``mode="robust_z"``: per cell and statistic, the median ``center_`` and spread ``scale_``
(``quantile`` minus the median, floored at ``scale_floor`` times the median spread over cells);
cell score = mean over the chosen statistics of ``|x - center| / scale`` (only ``x > center``
when ``two_sided=False``).

Frame score: the mean of the ``top_cells`` largest cell scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.base import OneClassScorer
from vadkit.methods.oneclass.flow import FLOW_FEATURES

__all__ = ["MotionConfig", "MotionScorer"]


@dataclass(frozen=True)
class MotionConfig:
    mode: str = "speed_ratio"  # or "robust_z" (see the module docstring)
    moving_min: float = 0.2  # speed_ratio: share of moving pixels for a cell to count as visited
    prior: float = 100.0  # speed_ratio: shrinkage weight (frames) towards the global speed
    quantile: float = 0.99  # normal spread = this quantile minus the median, per cell
    scale_floor: float = 0.5  # spread floor, times the median spread over cells
    two_sided: bool = True  # also flag values below the normal centre
    top_cells: int = 1  # frame score = mean of this many most deviant cells
    features: tuple[str, ...] = FLOW_FEATURES  # which flow statistics to model


class MotionScorer(OneClassScorer):
    """Per-cell robust normal model of flow statistics; fitted ``center_``/``scale_`` ``(R, C, F)``."""

    name = "motion"
    config_class = MotionConfig

    def _select(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[-1] != len(FLOW_FEATURES):
            raise VadkitError(
                f"motion: expected flow cell features (N, rows, cols, {len(FLOW_FEATURES)}), "
                f"got shape {x.shape}"
            )
        unknown = [f for f in self.config.features if f not in FLOW_FEATURES]
        if unknown or not self.config.features:
            raise VadkitError(f"motion: unknown features {unknown}; valid: {FLOW_FEATURES}")
        return x[..., [FLOW_FEATURES.index(f) for f in self.config.features]]

    def _fit(self, x: np.ndarray) -> None:
        c = self.config
        if c.mode == "speed_ratio":
            self._select(x)  # shape check
            speed = x[..., FLOW_FEATURES.index("mean_speed")]
            share = x[..., FLOW_FEATURES.index("moving_share")]
            visited = share >= c.moving_min
            ratio = np.where(visited, speed / np.maximum(share, 1e-6), np.nan)
            n = visited.sum(axis=0)
            glob = float(np.nanmedian(ratio)) if visited.any() else float(speed.mean() + 1e-6)
            filled = np.where(n > 0, ratio, glob)  # all-NaN columns: any value, weight 0
            cell = np.nanmedian(np.where(np.isnan(ratio) & (n > 0), np.nan, filled), axis=0)
            walker = (n * cell + c.prior * glob) / (n + c.prior)
            self.walker_speed_ = np.maximum(walker, 1e-6).astype(np.float32)
            self.grid_ = np.asarray(x.shape[1:3])
            return
        if c.mode != "robust_z":
            raise VadkitError(f"motion: mode {c.mode!r}: choose 'speed_ratio' or 'robust_z'")
        if not 0.5 < c.quantile < 1:
            raise VadkitError(f"motion: quantile must be in (0.5, 1), got {c.quantile}")
        x = self._select(x)
        self.center_ = np.median(x, axis=0).astype(np.float32)
        spread = np.quantile(x, c.quantile, axis=0) - self.center_
        floor = c.scale_floor * np.median(spread.reshape(-1, spread.shape[-1]), axis=0)
        self.scale_ = np.maximum(spread, np.maximum(floor, 1e-6)).astype(np.float32)
        self.grid_ = np.asarray(x.shape[1:3])

    def cell_scores(self, features: np.ndarray) -> np.ndarray:
        """Per-cell deviation ``(N, rows, cols)``."""
        self._check_fitted("cell_scores")
        f = self._check(features, "cell_scores")
        x = self._select(f)
        if tuple(x.shape[1:3]) != tuple(self.grid_):
            raise VadkitError(
                f"motion: fitted on a {tuple(self.grid_)} grid, got {tuple(x.shape[1:3])}"
            )
        if self.config.mode == "speed_ratio":
            return f[..., FLOW_FEATURES.index("mean_speed")] / self.walker_speed_
        z = (x - self.center_) / self.scale_
        z = np.abs(z) if self.config.two_sided else np.maximum(z, 0)
        return z.mean(axis=-1)

    def _score(self, x: np.ndarray) -> np.ndarray:
        cells = self.cell_scores(x).reshape(len(x), -1)
        k = max(1, min(self.config.top_cells, cells.shape[1]))
        return np.sort(cells, axis=1)[:, -k:].mean(axis=1)

    def score_maps(self, features: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Per-pixel scores ``(N, H, W)`` float32: cell deviations resized to ``size``."""
        import cv2

        h, w = size
        cells = self.cell_scores(features).astype(np.float32)
        return np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in cells])
