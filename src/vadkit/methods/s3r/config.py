"""S3R hyperparameters: every default is the reference's (``louisYen/S3R`` @ 6835335), UCF-Crime.

ShanghaiTech differs only in the dictionary size and the seed: ``dictionary_fraction=0.9``
(``shanghaitech_dictionary_learning.py`` ratio 90) and ``seed=823``
(``configs/shanghaitech/shanghaitech_dl.py``); ``n_atoms`` is then ``round(0.9 * 175) = 158``.
The layer widths are fixed fractions of D = 2048 in the reference (D/4, D/8, D/16); they are
fields here so that tests can use small networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vadkit.methods.config import config_from_dict, config_to_dict

__all__ = ["S3RConfig"]


@dataclass(frozen=True)
class S3RConfig:
    """S3R (Wu et al., ECCV 2022) hyperparameters, UCF-Crime defaults.

    Network (``anomaly/models``), losses (``anomaly/engine/trainer.py``), optimisation
    (``tools/trainval_anomaly_detector.py``, ``anomaly/apis/opts.py``) and the task-aware
    dictionary (``data/ucf-crime/ucf_crime_dictionary_learning.py``) of the reference.
    """

    # --- network (anomaly/models/detectors/detector.py, modules/) ---
    feature_dim: int = 2048  # opts.py feature_size 2048: I3D-ResNet50 features
    n_crops: int = 10  # 10-crop features, crops folded into the batch and scores averaged
    trunk_channels: int = 512  # detector.py Aggregate: dim // reduction (4)
    nonlocal_channels: int = 256  # detector.py NonLocalBlock1D(dim_inner): inner = 512 // 2
    dilations: tuple[int, int, int] = (1, 2, 4)  # detector.py conv_1/2/3 dilation
    norm_groups: int = 8  # detector.py nn.GroupNorm(num_groups=8)
    attention_dim: int = 512  # memory_module.py enNormalModule query/cache_embedding: dim // 4
    gate_hidden: int = 128  # residual_attention.py ChannelGate: dim // reduction (16)
    hidden1: int = 512  # detector.py video_classifier Linear(dim, dim // 4)
    hidden2: int = 128  # detector.py video_classifier Linear(dim // 4, dim // 16)
    dropout: float = 0.7  # opts.py dropout 0.7 (trunks, classifiers, snippet drop before top-k)
    n_atoms: int = 400  # dictionary size: round(0.5 * 800 normal UCF-Crime training videos)
    # --- top-k and losses (trainer.py) ---
    n_segments: int = 32  # opts.py quantize_size 32
    topk: int = 3  # detector.py k_anomaly = k_regular = quantize_size // 10
    margin: float = 100.0  # trainer.py RTFM_loss(0.0001, 100)
    magnitude_weight: float = 1e-4  # trainer.py RTFM_loss alpha
    smooth_weight: float = 8e-4  # trainer.py smooth_loss(abn_scores, 8e-4)
    sparsity_weight: float = 8e-3  # trainer.py sparsity_loss(abn_scores, batch_size, 8e-3)
    macro_weight: float = 1.0  # trainer.py cost = ... + loss_macro (unweighted)
    # --- optimisation (trainval_anomaly_detector.py, opts.py, configs/) ---
    optimizer: str = "adam"  # trainval_anomaly_detector.py optim.Adam
    lr: float = 1e-3  # configs/ucf_crime/ucf_crime_dl.py init_lr 0.001
    weight_decay: float = 5e-3  # trainval_anomaly_detector.py weight_decay=0.005
    batch_normal: int = 32  # opts.py batch_size 32 normal videos per step
    batch_abnormal: int = 32  # opts.py batch_size 32 abnormal videos per step
    iterations: int = 15000  # opts.py max_epoch 15000 (steps)
    seed: int = 49  # configs/ucf_crime/ucf_crime_dl.py random_state (ShanghaiTech: 823)
    # --- task-aware dictionary (ucf_crime_dictionary_learning.py) ---
    dictionary_fraction: float = 0.5  # ratio 50 (% of normal training videos); ShanghaiTech 0.9
    dictionary_steps: int = 100  # max_iter 100 -> sklearn 0.24 n_iter: mini-batch steps
    dictionary_batch_size: int = 32  # batch_size 32
    dictionary_alpha: float = 1.0  # MiniBatchDictionaryLearning default alpha
    dictionary_nonzero_coefs: int = 2  # transform_n_nonzero_coefs 2 (OMP codes)
    dictionary_seed: int = 42  # seed 42 (random_state of the dictionary learner)

    def __post_init__(self) -> None:
        for name in ("feature_dim", "n_crops", "trunk_channels", "nonlocal_channels", "hidden1"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("hidden2", "attention_dim", "gate_hidden", "n_atoms", "topk", "n_segments"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.trunk_channels * (len(self.dilations) + 1) != self.feature_dim:
            raise ValueError(
                f"trunk_channels x {len(self.dilations) + 1} must equal feature_dim: "
                f"{self.trunk_channels} x {len(self.dilations) + 1} != {self.feature_dim} "
                "(the reference uses trunk_channels = feature_dim / 4)"
            )
        if self.trunk_channels % self.norm_groups or self.feature_dim % self.norm_groups:
            raise ValueError(
                f"norm_groups ({self.norm_groups}) must divide trunk_channels "
                f"({self.trunk_channels}) and feature_dim ({self.feature_dim})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.dictionary_fraction <= 1.0:
            raise ValueError(
                f"dictionary_fraction must be in (0, 1], got {self.dictionary_fraction}"
            )
        if self.topk > self.n_segments:
            raise ValueError(f"topk ({self.topk}) must be <= n_segments ({self.n_segments})")
        if self.batch_normal != self.batch_abnormal:
            raise ValueError("batch_normal and batch_abnormal must be equal (pairs are formed)")
        if self.optimizer != "adam":
            raise ValueError(f"optimizer must be 'adam' (the reference's), got {self.optimizer!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> S3RConfig:
        """Config from a mapping; unknown keys raise `VadkitError` listing the valid ones."""
        return config_from_dict(cls, d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), the inverse of `from_dict`."""
        return config_to_dict(self)
