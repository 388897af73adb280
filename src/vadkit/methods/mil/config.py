"""Hyperparameters of ``mil`` (Sultani et al., CVPR 2018), with the official defaults.

Sources: ``TrainingAnomalyDetector_public.py`` (T) and ``model.json`` (M) of
WaqasSultani/AnomalyDetectionCVPR2018 at 8aa957cd, and the paper (P). (K) marks the values of
the PyTorch port ekosman/AnomalyDetectionCVPR2018-Pytorch at cc75759f, which the options
``ranking_pairs="matched"``, ``bag_reduction="mean"``, ``l2_form="layer_norms"`` (with
``l2=1e-3``), ``optimizer="adadelta"`` and ``init="glorot_normal_torch_bias"`` reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vadkit.methods.config import config_from_dict
from vadkit.methods.mil.common import require

__all__ = ["MILConfig"]

# the valid values of the string options, the official code's first
CHOICES: dict[str, tuple[str, ...]] = {
    "ranking_pairs": ("all", "matched"),
    "bag_reduction": ("sum", "mean"),
    "l2_form": ("squared_kernels", "layer_norms"),
    "init": ("glorot_normal", "glorot_normal_torch_bias", "torch"),
    "optimizer": ("adagrad", "adadelta", "adam", "sgd"),
}


@dataclass(frozen=True)
class MILConfig:
    """Every hyperparameter of the MIL ranking model; see the module docstring for sources."""

    feature_dim: int = 4096  # C3D fc6 (T: Dense(512, input_dim=4096))
    hidden1: int = 512  # first FC, ReLU (T, M)
    hidden2: int = 32  # second FC, linear (T, M: no activation)
    dropout: float = 0.6  # after both hidden layers (T, M)
    n_segments: int = 32  # segments per video bag (T: n_seg = 32; P: Sec. 3.3)
    l2_normalize: bool = False  # L2-normalise each segment in forward (the reference's C3D
    # segments are L2-normalised when extracted, Save_C3DFeatures_32Segments; True for other stores)
    margin: float = 1.0  # ranking hinge max(0, margin - max abn + max nor) (T: custom_objective)
    ranking_pairs: str = "all"  # "all": every normal bag vs every abnormal bag (T); "matched":
    # normal bag i vs abnormal bag i only, hinges averaged (K)
    bag_reduction: str = "sum"  # sparsity and smoothness over the abnormal bags: "sum" (T) or
    # "mean" (K)
    lambda_sparsity: float = 8e-5  # sum of abnormal bags' scores (T: 0.00008 * sum(sub_sum_l1))
    lambda_smooth: float = 8e-5  # sum of squared neighbour differences (T: 0.00008 * sum(sub_l2))
    l2: float = 1e-3  # l2 * sum(W**2) per FC kernel, biases excluded (T: W_regularizer=l2(0.001))
    l2_form: str = "squared_kernels"  # sum(W**2) of the kernels (T); "layer_norms": the sum over
    # the FCs of the L2 norm (not squared) of weight and bias together (K: RegularizedLoss)
    init: str = "glorot_normal"  # kernels glorot_normal, biases 0 (T: init='glorot_normal');
    # "glorot_normal_torch_bias" keeps torch's uniform biases (K); "torch": torch's defaults
    optimizer: str = "adagrad"  # (T: Adagrad(lr=0.01, epsilon=1e-08); K: Adadelta, rho 0.9)
    lr: float = 0.01  # (T)
    eps: float = 1e-8  # Adagrad epsilon (T)
    weight_decay: float = 0.0  # the L2 penalty is in the loss, as Keras regularizers are (T)
    videos_per_class: int = 30  # a batch is 30 normal + 30 abnormal videos (T: batchsize=60)
    iterations: int = 20000  # (T: num_iters = 20000)

    def __post_init__(self) -> None:
        for name in ("feature_dim", "hidden1", "hidden2", "n_segments", "videos_per_class"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and value >= 1,
                f"MILConfig: {name} must be >= 1, got {value!r}",
            )
        require(
            0.0 <= self.dropout < 1.0, f"MILConfig: dropout must be in [0, 1), got {self.dropout}"
        )
        for name in ("lambda_sparsity", "lambda_smooth", "l2", "weight_decay", "margin"):
            value = getattr(self, name)
            require(value >= 0, f"MILConfig: {name} must be >= 0, got {value!r}")
        require(self.lr > 0, f"MILConfig: lr must be > 0, got {self.lr}")
        require(
            isinstance(self.l2_normalize, bool),
            f"MILConfig: l2_normalize must be true or false, got {self.l2_normalize!r}",
        )
        for name, valid in CHOICES.items():
            value = getattr(self, name)
            require(
                value in valid,
                f"MILConfig: {name} must be one of {', '.join(map(repr, valid))}, got {value!r}",
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MILConfig:
        """Config from a mapping (YAML); unknown keys are an error listing the valid ones."""
        return config_from_dict(cls, data)
