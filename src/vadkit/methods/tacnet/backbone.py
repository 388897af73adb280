"""End-to-end TACnet: the C3D backbone fine-tuned on frames together with the head.

This is how the reference trains (``main.py``: one AdamW over both networks, the backbone at
0.1x the learning rate). In vadkit it is the ``--finetune-backbone`` option; the default
trains the head on a feature store with the backbone frozen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vadkit.errors import VadkitError
from vadkit.methods.tacnet.config import TACnetConfig
from vadkit.methods.tacnet.model import TACnetModel, tacnet_optimizer

__all__ = ["TACnetWithBackbone"]


_CLIP = (3, 16, 112, 112)


class TACnetWithBackbone(nn.Module):
    """C3D on every segment's clip, then :class:`TACnetModel` on the fc6 features.

    Parameters
    ----------
    backbone : a module mapping ``(N, 3, 16, 112, 112)`` clips to ``(N, feature_dim)``,
        normally ``vadkit.backbones.registry.build_backbone("c3d", weights)[0]``.
    config : head and training hyperparameters (``feature_dim`` must be the backbone's).
    """

    #: ``make_scheduler``'s milestones count epochs: the trainer steps it once per epoch
    scheduler_per_epoch = True

    def __init__(self, backbone: nn.Module, config: TACnetConfig | None = None) -> None:
        super().__init__()
        self.config = config or TACnetConfig(finetune_backbone=True)
        self.backbone = backbone
        self.head = TACnetModel(self.config)

    @classmethod
    def from_c3d(
        cls,
        config: TACnetConfig | None = None,
        weights: str | Path | None = None,
        *,
        random_init: bool = False,
    ) -> TACnetWithBackbone:
        """Build with the registry's C3D (``weights``: the ``c3d.pickle`` file)."""
        from vadkit.backbones.registry import build_backbone

        backbone, _, _ = build_backbone("c3d", weights, random_init=random_init)
        return cls(backbone, config)

    def _check_clips(self, clips: torch.Tensor) -> torch.Tensor:
        if not isinstance(clips, torch.Tensor):
            clips = torch.as_tensor(np.asarray(clips))
        if clips.ndim != 6 or tuple(clips.shape[2:]) != _CLIP:
            raise VadkitError(
                "tacnet: frames must be (B, T, 3, 16, 112, 112), one 16-frame 112x112 clip per "
                f"segment, got shape {tuple(clips.shape)}"
            )
        if clips.shape[1] < 2:
            raise VadkitError(f"tacnet: need at least 2 segments per video, got {clips.shape[1]}")
        return clips.float()

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, T, 3, 16, 112, 112)`` clips -> the head's outputs (see :meth:`TACnetModel.forward`).

        With ``subtract_video_mean`` each video's mean clip (over its T segments) is subtracted
        first, as the reference's dataset does; the outputs then also hold ``"features"``
        ``(B, T, feature_dim)``.
        """
        clips = self._check_clips(clips)
        b, t = clips.shape[:2]
        if self.config.subtract_video_mean:
            clips = clips - clips.mean(dim=1, keepdim=True)
        features = self.backbone(clips.reshape(b * t, *_CLIP)).reshape(b, t, -1)
        if features.shape[-1] != self.config.feature_dim:
            raise VadkitError(
                f"tacnet: the backbone gives {features.shape[-1]}-d features but the head was "
                f"built for feature_dim={self.config.feature_dim}"
            )
        out = self.head(features[:, None])
        out["features"] = features
        return out

    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The head's loss (:meth:`TACnetModel.loss`)."""
        return self.head.loss(outputs, labels)

    @torch.no_grad()
    def score(self, clips: torch.Tensor) -> np.ndarray:
        """``(B, T, 3, 16, 112, 112)`` -> ``(B, T)`` per-segment scores (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            seg = self(clips)["snippet_scores"]
        finally:
            self.train(was_training)
        return seg.cpu().numpy().astype(np.float32)

    def param_groups(self) -> list[dict]:
        """Optimizer groups: backbone at ``backbone_lr_scale * lr``, head at ``lr``."""
        cfg = self.config
        return [
            {
                "params": list(self.backbone.parameters()),
                "lr": cfg.lr * cfg.backbone_lr_scale,
                "name": "backbone",
            },
            {"params": list(self.head.parameters()), "lr": cfg.lr, "name": "head"},
        ]

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The reference's AdamW over :meth:`param_groups`."""
        return tacnet_optimizer(self.config, self.param_groups())

    def make_scheduler(
        self, optimizer: torch.optim.Optimizer
    ) -> torch.optim.lr_scheduler.LRScheduler:
        """Per-epoch ``MultiStepLR`` of the reference."""
        return self.head.make_scheduler(optimizer)
