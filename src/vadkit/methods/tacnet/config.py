"""Hyperparameters of ``tacnet`` (temporal attention clustering network), reference defaults.

Sources, all in ckjeter/TACnet_Video_Anomaly_Detection_by_Temporal_Attention_Clustering_Network
at 4f611085: ``src/backbone.py`` (B), ``src/config.py`` (C), ``main.py`` (M), ``src/loss.py`` (L),
``src/dataset.py`` (DS) and the ``kmeans_pytorch`` call in B (K).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from vadkit.methods.config import config_from_dict
from vadkit.methods.mil.common import require

__all__ = ["TACnetConfig"]


@dataclass(frozen=True)
class TACnetConfig:
    """Every hyperparameter of TACnet; see the module docstring for the source letters.

    Two defaults depart from the reference, because its values do not learn (README,
    "Defaults and the reference preset"): the sparsity weight is 0.05 on the per-segment
    *mean* (0.05 / 32 on the sum), and the learning rate is 1e-4. ``PRESETS["reference"]``
    (``--set preset=reference``) restores the reference code's values, quirks included; with
    it the training step matches the reference's arrays (tests/test_golden_tacnet.py).
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "reference": {
            "w_sparsity": 0.05,  # C: loss_parameter[4], on the sum over 32 segments
            "lr": 1e-5,  # C: --lr default 1e-5
            "smooth": "histogram",  # L: SmoothLoss on quantised scores (no gradient)
            "batch_reduction": "sum",  # L: per-bag terms summed over the batch
        }
    }

    feature_dim: int = 4096  # C3D fc6 (B: Conv1d(in_channels=4096)); 2048/1024 for I3D stores
    hidden: int = 256  # temporal conv output L (B: self.L = 256)
    conv_kernel: int = 3  # temporal Conv1d kernel, padding k // 2 (B: kernel_size=3, padding=1)
    attention_dim: int = 256  # attention hidden D (B: self.D = 256)
    attention_type: str = "gate"  # "gate" or "normal" (C: --attention_type default 'gate')
    classifier_dims: tuple[int, ...] = (256, 128, 32)  # bag/segment heads, ReLU (B: classifier)
    dropout: float = 0.5  # after each hidden layer of both heads (B: nn.Dropout(0.5))
    n_segments: int = 32  # segments per video (B: A.view(batch_size, 32, 1); preprocess)
    n_clusters: int = 2  # k-means clusters (B: num_clusters=2)
    kmeans_iter_limit: int = 100  # (B: iter_limit=100)
    kmeans_tol: float = 1e-4  # (K: tol default 1e-4)
    bag_weight: float = 0.5  # video = w * bag + (1 - w) * max cluster mean (B: weight = 0.5)
    w_bag: float = 1.0  # bag BCE (C: loss_parameter[0])
    w_inner: float = 0.5  # inner-bag cluster BCE (C: loss_parameter[1])
    w_maxmin: float = 0.3  # max-min (C: loss_parameter[2])
    w_smooth: float = 0.05  # smoothness (C: loss_parameter[3])
    w_sparsity: float = 0.05 / 32  # sum of segment scores; reference 0.05 (C: loss_parameter[4])
    smooth: str = "temporal"  # "temporal" (differentiable) or "histogram" (L: SmoothLoss, no grad)
    smooth_bins: int = 20  # histogram bins of the "histogram" term (L: quantize=20.)
    batch_reduction: str = "mean"  # per-bag terms over a batch: "mean" or "sum" (L: sums them)
    optimizer: str = "adamw"  # (M: optim.AdamW, torch defaults otherwise)
    lr: float = 1e-4  # reference 1e-5 (C: --lr default 1e-5)
    weight_decay: float = 0.01  # torch AdamW default; the reference passes none (M)
    betas: tuple[float, float] = (0.9, 0.999)  # torch AdamW default (M)
    eps: float = 1e-8  # torch AdamW default (M)
    lr_milestones: tuple[int, ...] = (20, 30, 40)  # epochs (M: MultiStepLR([20, 30, 40]))
    lr_gamma: float = 0.1  # (M: gamma=0.1)
    epochs: int = 300  # (C: --epoch default 300)
    batch_size: int = 1  # videos per step, shuffled (C: --batch_size default 1)
    finetune_backbone: bool = False  # the reference always fine-tunes C3D on frames (M)
    backbone_lr_scale: float = 0.1  # backbone lr = 0.1 * lr (M: args.lr * 0.1)
    subtract_video_mean: bool = True  # frames minus the video's mean clip (DS: imgs - selfmean)

    def __post_init__(self) -> None:
        for name in (
            "feature_dim",
            "hidden",
            "conv_kernel",
            "attention_dim",
            "n_segments",
            "smooth_bins",
            "epochs",
            "batch_size",
        ):
            value = getattr(self, name)
            require(
                isinstance(value, int) and value >= 1,
                f"TACnetConfig: {name} must be an integer >= 1, got {value!r}",
            )
        require(
            self.conv_kernel % 2 == 1,
            f"TACnetConfig: conv_kernel must be odd, got {self.conv_kernel}",
        )
        require(self.n_clusters == 2, f"TACnetConfig: n_clusters must be 2, got {self.n_clusters}")
        require(
            self.attention_type in ("gate", "normal"),
            f"TACnetConfig: attention_type must be 'gate' or 'normal', got {self.attention_type!r}",
        )
        require(
            self.smooth in ("temporal", "histogram"),
            f"TACnetConfig: smooth must be 'temporal' or 'histogram', got {self.smooth!r}",
        )
        require(
            self.batch_reduction in ("mean", "sum"),
            f"TACnetConfig: batch_reduction must be 'mean' or 'sum', got {self.batch_reduction!r}",
        )
        require(
            self.optimizer in ("adamw", "adam"),
            f"TACnetConfig: optimizer must be 'adamw' or 'adam', got {self.optimizer!r}",
        )
        require(
            len(self.classifier_dims) >= 1 and all(d >= 1 for d in self.classifier_dims),
            f"TACnetConfig: classifier_dims must be positive sizes, got {self.classifier_dims}",
        )
        require(
            0.0 <= self.dropout < 1.0,
            f"TACnetConfig: dropout must be in [0, 1), got {self.dropout}",
        )
        require(
            0.0 <= self.bag_weight <= 1.0,
            f"TACnetConfig: bag_weight must be in [0, 1], got {self.bag_weight}",
        )
        require(self.lr > 0, f"TACnetConfig: lr must be > 0, got {self.lr}")
        for name in ("w_bag", "w_inner", "w_maxmin", "w_smooth", "w_sparsity", "weight_decay"):
            value = getattr(self, name)
            require(value >= 0, f"TACnetConfig: {name} must be >= 0, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TACnetConfig:
        """Config from a mapping (YAML); unknown keys are an error listing the valid ones."""
        return config_from_dict(cls, data)
