"""UR-DMU hyperparameters: every default is the reference's (``henrryzh1/UR-DMU`` @ 40cfdf5).

The reference trains UCF-Crime (``ucf_main.py``) and XD-Violence (``xd_main.py``) with the same
values; only the feature lists differ (10 crops for UCF-Crime, 5 for XD-Violence, both 1024-d
I3D RGB). The widths are fixed in the reference's ``model.py``; they are fields here so that
tests can build small networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vadkit.methods.config import config_from_dict, config_to_dict

__all__ = ["TRAIN_CROPS", "UrDmuConfig"]

#: how a training step uses the crops of a (B, C, T, D) batch (see `UrDmuConfig.train_crops`)
TRAIN_CROPS = ("random", "all")


@dataclass(frozen=True)
class UrDmuConfig:
    """UR-DMU (Zhou, Yu, Yang, AAAI 2023) hyperparameters.

    Network (``model.py``, ``memory.py``, ``translayer.py``), losses (``train.py``),
    optimisation and sampling (``ucf_main.py``, ``xd_main.py``, ``options.py``,
    ``dataset_loader.py``) of the reference.
    """

    # --- input ---
    feature_dim: int = 1024  # ucf_main.py / xd_main.py config.len_feature = 1024 (I3D RGB)
    n_crops: int = 10  # list/UCF_Train.list: 10 crop files per video (XD-Violence: 5)
    train_crops: str = "random"  # list files: each crop is its own training sample (see README)
    # --- network (model.py WSAD, translayer.py, memory.py) ---
    embed_dim: int = 512  # model.py Temporal(input_size, 512): Conv1d k=3 + ReLU
    depth: int = 2  # model.py Transformer(512, 2, 4, 128, 512, dropout=0.5)
    heads: int = 4  # idem
    dim_head: int = 128  # idem
    mlp_dim: int = 512  # idem
    dropout: float = 0.5  # idem
    head_hidden: int = 128  # model.py ADCLS_head: Linear(1024, 128) -> ReLU -> Linear(128, 1)
    a_nums: int = 60  # ucf_main.py / xd_main.py WSAD(a_nums=60): abnormal memory slots
    n_nums: int = 60  # idem n_nums=60: normal memory slots
    # --- losses (model.py, train.py AD_Loss) ---
    triplet_margin: float = 1.0  # model.py nn.TripletMarginLoss(margin=1)
    distance_margin: float = 100.0  # model.py relu(100 - ||abnormal|| + ||normal||)
    memory_weight: float = 0.1  # train.py 0.1 * (A_loss + panomaly + N_loss + A_Nloss)
    triplet_weight: float = 0.1  # train.py 0.1 * triplet
    kl_weight: float = 0.001  # train.py 0.001 * kl_loss
    distance_weight: float = 0.0001  # train.py 0.0001 * distance
    # --- sampling and optimisation (ucf_main.py, xd_main.py, options.py, config.py) ---
    n_segments: int = 200  # ucf_main.py UCF_crime(num_segments=200): pooled training snippets
    optimizer: str = "adam"  # ucf_main.py torch.optim.Adam
    lr: float = 1e-4  # options.py --lr '[0.0001]*3000' (constant)
    betas: tuple[float, float] = (0.9, 0.999)  # ucf_main.py Adam(betas=(0.9, 0.999))
    weight_decay: float = 5e-5  # ucf_main.py Adam(weight_decay=0.00005)
    batch_normal: int = 64  # ucf_main.py DataLoader(batch_size=64), normal loader
    batch_abnormal: int = 64  # idem, abnormal loader
    iterations: int = 3000  # config.py num_iters = len(lr) = 3000
    seed: int = 2022  # options.py --seed 2022

    def __post_init__(self) -> None:
        positive = ("feature_dim", "n_crops", "embed_dim", "depth", "heads", "dim_head")
        more = ("mlp_dim", "head_hidden", "a_nums", "n_nums", "n_segments", "batch_normal")
        for name in (*positive, *more, "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.train_crops not in TRAIN_CROPS:
            raise ValueError(
                f"train_crops must be one of {', '.join(TRAIN_CROPS)}, got {self.train_crops!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.batch_normal != self.batch_abnormal:
            raise ValueError("batch_normal and batch_abnormal must be equal (halves are paired)")
        if self.optimizer != "adam":
            raise ValueError(f"optimizer must be 'adam' (the reference's), got {self.optimizer!r}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"lr must be > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UrDmuConfig:
        """Config from a mapping; unknown keys raise `VadkitError` listing the valid ones."""
        return config_from_dict(cls, d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), the inverse of `from_dict`."""
        return config_to_dict(self)
