"""RTFM hyperparameters: every default is the reference's (``tianyu0207/RTFM`` @ cf938f4).

The reference trains UCF-Crime and ShanghaiTech with the same values; only the feature lists
differ. ``feature_dim`` is 2048 for the I3D-ResNet50 features both datasets are published with
(4096 for C3D). The layer widths are fixed in the reference (512 = 2048 / 4 per temporal branch,
256 inside the non-local block, 512 -> 128 -> 1 in the classifier); they are fields here so that
tests can use small networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vadkit.methods.config import config_from_dict, config_to_dict

__all__ = ["RTFMConfig"]


@dataclass(frozen=True)
class RTFMConfig:
    """RTFM (Tian et al., ICCV 2021) hyperparameters.

    Network (``model.py``), top-k and losses (``train.py``), optimisation (``main.py``,
    ``option.py``) of the reference. ShanghaiTech uses the same values.
    """

    # --- network (model.py) ---
    feature_dim: int = 2048  # model.py Aggregate(len_feature=2048): I3D-ResNet50 features
    n_crops: int = 10  # option.py lists "*-10crop": 10-crop features, crops averaged
    conv_channels: int = 512  # model.py conv_1..conv_4 out_channels (feature_dim / 4)
    nonlocal_channels: int = 256  # model.py NONLocalBlock1D(512): inter_channels = 512 // 2
    dilations: tuple[int, int, int] = (1, 2, 4)  # model.py conv_1/2/3 dilation (padding = dilation)
    hidden1: int = 512  # model.py fc1 = Linear(2048, 512)
    hidden2: int = 128  # model.py fc2 = Linear(512, 128)
    dropout: float = 0.7  # model.py nn.Dropout(0.7), also used to drop snippets before top-k
    # --- top-k and losses (model.py, train.py) ---
    n_segments: int = 32  # model.py num_segments = 32 (process_feat to 32 segments)
    topk: int = 3  # model.py k_abn = k_nor = num_segments // 10
    margin: float = 100.0  # train.py RTFM_loss(0.0001, 100): feature-magnitude margin
    magnitude_weight: float = 1e-4  # train.py RTFM_loss alpha = 0.0001
    smooth_weight: float = 8e-4  # train.py smooth(abn_scores, 8e-4)
    sparsity_weight: float = 8e-3  # train.py sparsity(abn_scores, batch_size, 8e-3)
    # --- optimisation (main.py, option.py) ---
    optimizer: str = "adam"  # main.py optim.Adam
    lr: float = 1e-3  # option.py --lr '[0.001]*15000'
    weight_decay: float = 5e-3  # main.py weight_decay=0.005 (the paper says 0.0005)
    batch_normal: int = 32  # option.py --batch-size 32 normal videos per step
    batch_abnormal: int = 32  # option.py --batch-size 32 abnormal videos per step
    iterations: int = 15000  # option.py --max-epoch 15000 (steps, one batch each)

    def __post_init__(self) -> None:
        positive = ("feature_dim", "n_crops", "conv_channels", "nonlocal_channels", "hidden1")
        for name in (*positive, "hidden2", "n_segments", "topk", "batch_normal", "iterations"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.conv_channels * (len(self.dilations) + 1) != self.feature_dim:
            raise ValueError(
                f"conv_channels x {len(self.dilations) + 1} must equal feature_dim: "
                f"{self.conv_channels} x {len(self.dilations) + 1} != {self.feature_dim} "
                "(the reference uses conv_channels = feature_dim / 4)"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.topk > self.n_segments:
            raise ValueError(f"topk ({self.topk}) must be <= n_segments ({self.n_segments})")
        if self.batch_normal != self.batch_abnormal:
            raise ValueError("batch_normal and batch_abnormal must be equal (pairs are formed)")
        if self.optimizer != "adam":
            raise ValueError(f"optimizer must be 'adam' (the reference's), got {self.optimizer!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RTFMConfig:
        """Config from a mapping; unknown keys raise `VadkitError` listing the valid ones."""
        return config_from_dict(cls, d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), the inverse of `from_dict`."""
        return config_to_dict(self)
