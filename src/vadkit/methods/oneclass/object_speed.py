"""``object_speed``: how fast the fastest object-sized region moves, relative to normal there.

Input: window peaks ``(N, rows, cols)`` of one window size, from
:func:`vadkit.methods.oneclass.flow.flow_features` (``peaks[..., k]``): per frame and cell,
the largest mean flow speed over a square window centred in the cell. A window about the
size of one object averages the flow over the object (robust to single-pixel flow noise)
without diluting it with the static background around it.

Fit (normal frames only): per cell, the normal object speed ``ref_speed_`` = median of the
cell's values over the normal frames where it exceeds ``min_speed`` (something moves
there), shrunk towards the median over all cells with the weight of ``prior`` frames, so
cells that normal traffic rarely crosses get the global value rather than noise.
Cell score = value / ``ref_speed_``; frame score = the mean of the ``top_cells`` largest.
Nothing says "fast is abnormal" a priori: the reference is what normal video shows there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.base import OneClassScorer

__all__ = ["ObjectSpeedConfig", "ObjectSpeedScorer"]


@dataclass(frozen=True)
class ObjectSpeedConfig:
    min_speed: float = 0.5  # pixels per frame: a cell counts as visited above this
    prior: float = 100.0  # shrinkage weight (frames) towards the global normal speed
    top_cells: int = 1  # frame score = mean of this many largest cell scores


class ObjectSpeedScorer(OneClassScorer):
    """Window-peak speed relative to the per-cell normal object speed ``ref_speed_`` ``(R, C)``."""

    name = "object_speed"
    config_class = ObjectSpeedConfig

    def _shape(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 3:
            raise VadkitError(
                f"object_speed: expected window peaks (N, rows, cols), got shape {x.shape}; "
                "take one window plane of flow_features(...).peaks"
            )
        return x

    def _fit(self, x: np.ndarray) -> None:
        c = self.config
        if c.prior < 0 or c.top_cells < 1:
            raise VadkitError(f"object_speed: need prior >= 0 and top_cells >= 1, got {c}")
        x = self._shape(x)
        visited = x > c.min_speed
        n = visited.sum(axis=0)
        glob = float(np.median(x[visited])) if visited.any() else float(x.max() + 1e-6)
        vals = np.where(visited, x, np.nan)
        cell = np.full(x.shape[1:], glob, np.float64)
        seen = n > 0
        cell[seen] = np.nanmedian(vals[:, seen], axis=0)
        ref = (n * cell + c.prior * glob) / np.maximum(n + c.prior, 1e-12)
        self.ref_speed_ = np.maximum(ref, 1e-6).astype(np.float32)
        self.grid_ = np.asarray(x.shape[1:3])

    def cell_scores(self, peaks: np.ndarray) -> np.ndarray:
        """Per-cell ratio to the normal object speed, ``(N, rows, cols)``."""
        self._check_fitted("cell_scores")
        x = self._shape(self._check(peaks, "cell_scores"))
        if tuple(x.shape[1:]) != tuple(self.grid_):
            raise VadkitError(
                f"object_speed: fitted on a {tuple(self.grid_)} grid, got {tuple(x.shape[1:])}"
            )
        return x / self.ref_speed_

    def _score(self, x: np.ndarray) -> np.ndarray:
        cells = self.cell_scores(x).reshape(len(x), -1)
        k = max(1, min(self.config.top_cells, cells.shape[1]))
        return np.sort(cells, axis=1)[:, -k:].mean(axis=1)

    def score_maps(self, peaks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Per-pixel scores ``(N, H, W)`` float32: cell ratios resized to ``size``."""
        import cv2

        h, w = size
        cells = self.cell_scores(peaks).astype(np.float32)
        return np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in cells])
