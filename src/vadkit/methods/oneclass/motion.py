"""``motion``: learned per-cell normality of dense optical flow statistics.

Input: :func:`vadkit.methods.oneclass.flow.flow_cell_features` arrays ``(N, rows, cols, F)``
(per frame and cell: mean and peak speed, share of moving pixels, speed per direction).
Fit, on normal frames only, per cell and feature: the median ``center_`` and the spread
``scale_`` = (``quantile`` of the normal values - median), floored at ``scale_floor`` times
the median spread of that feature over all cells (so a cell that normal people rarely
cross does not turn every visit into an alarm). Score: per cell the mean over features of
the normalised deviation ``|x - center| / scale`` (only ``x > center`` when
``two_sided=False``), then the mean of the ``top_cells`` largest cells of the frame.
Nothing says "fast is abnormal": a cell is abnormal when it leaves what the normal videos
did in that cell, in whichever statistic.
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
        x = self._select(self._check(features, "cell_scores"))
        if tuple(x.shape[1:3]) != tuple(self.grid_):
            raise VadkitError(
                f"motion: fitted on a {tuple(self.grid_)} grid, got {tuple(x.shape[1:3])}"
            )
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
