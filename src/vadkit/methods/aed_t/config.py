"""AED-T hyperparameters: every default is the reference's (``wanboyang/anomaly_detection_LAD2000``
@ ca51f97, ``LAD2000T_i3d.sh`` with ``--model_name AED_T --feature_modal combine``).

The reference reshapes each snippet vector of ``D`` values into ``D / 16`` channels on a 4 x 4
grid (``x.view(T, B, -1, 4, 4)``; ``input_size = feature_size // 16`` in ``model.py``): 2048-d
combined I3D features give 128 x 4 x 4, 1024-d rgb or flow give 64 x 4 x 4. The same rule serves
any backbone whose ``D`` is a multiple of ``grid * grid``; any other ``D`` first goes through a
learned linear projection to the nearest multiple (:func:`grid_input_dim`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vadkit.methods.config import config_from_dict

__all__ = ["AedTConfig", "grid_input_dim"]


def grid_input_dim(feature_dim: int, grid: int = 4) -> int:
    """The dimension the ConvLSTM reads: ``feature_dim`` itself when ``grid * grid`` divides it,
    else the nearest multiple of ``grid * grid`` (ties go up, at least ``grid * grid``).

    >>> grid_input_dim(2048), grid_input_dim(1024), grid_input_dim(512)
    (2048, 1024, 512)
    >>> grid_input_dim(990), grid_input_dim(1000), grid_input_dim(4)
    (992, 1008, 16)
    """
    cell = grid * grid
    if feature_dim % cell == 0:
        return feature_dim
    low = (feature_dim // cell) * cell
    high = low + cell
    best = high if (feature_dim - low) >= (high - feature_dim) else low
    return max(best, cell)


@dataclass(frozen=True)
class AedTConfig:
    """AED-T (Wan et al., IET Image Processing 2021) hyperparameters.

    Network sizes come from ``model.py`` (``AED_T``, ``model_generater``), losses from
    ``train.py``, optimisation from ``main.py`` / ``options.py`` and the shell script.
    """

    # --- network (model.py) ---
    feature_dim: int = 2048  # LAD2000T_i3d.sh --feature_size 2048 (combine); 1024 for rgb / flow
    grid: int = 4  # model.py x.view(T, B, -1, 4, 4): snippet vector -> (D/16, 4, 4)
    hidden_channels: int = 128  # model.py model_generater hidden_size=128 (both ConvLSTM layers)
    kernel_size: int = 3  # model.py KERNEL_SIZE = 3, padding 1
    n_layers: int = 2  # model.py AED_T: convlstm1 -> convlstm2 (AED has one)
    fc_down: int = 1024  # model.py fc_down = Linear(2048, 1024), 2048 = 128 * 4 * 4
    head_hidden: int = 512  # model.py heads: fc_1 = Linear(1024, 512, bias=False)
    n_classes: int = 14  # options.py --ano_class 14 (LAD2000 class_index)
    max_seqlen: int = 5  # LAD2000T_i3d.sh --max_seqlen 5: snippets per window
    frames_per_snippet: int = 16  # model.py ano_regression_head(clip_frames=16): 16 scores/snippet
    # --- losses (train.py) ---
    cls_weight: float = 1.0  # LAD2000T_i3d.sh --Lambda 1_10: CrossEntropyLoss weight
    reg_weight: float = 10.0  # LAD2000T_i3d.sh --Lambda 1_10: SmoothL1Loss weight
    # --- test-time procedure (test.py) ---
    window_stride: int = 1  # test.py: windows start at every snippet (range(0, T - L + 1))
    merge: str = "max"  # test.py: torch.max over the overlapping windows' scores
    # --- optimisation (main.py, options.py, train.py) ---
    optimizer: str = "adam"  # main.py optim.Adam
    lr: float = 1e-4  # options.py --lr 0.0001
    weight_decay: float = 5e-4  # main.py weight_decay=0.0005
    batch_abnormal: int = 30  # options.py --sample_size 30 abnormal windows per step
    batch_normal: int = 30  # options.py --sample_size 30 normal windows per step
    iterations: int = 12000  # train.py stops once itr > 12000
    snapshot: int = 200  # options.py --snapshot 200: evaluate every 200 iterations
    seed: int = 1  # options.py --seed 1

    def __post_init__(self) -> None:
        positive = (
            "feature_dim",
            "grid",
            "hidden_channels",
            "kernel_size",
            "n_layers",
            "fc_down",
            "head_hidden",
            "n_classes",
            "max_seqlen",
            "frames_per_snippet",
            "window_stride",
            "batch_abnormal",
            "batch_normal",
            "iterations",
            "snapshot",
        )
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {self.kernel_size}")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        if self.window_stride > self.max_seqlen:
            raise ValueError(
                f"window_stride ({self.window_stride}) must be <= max_seqlen ({self.max_seqlen}) "
                "so that every snippet is scored"
            )
        if self.merge not in ("max", "mean"):
            raise ValueError(f"merge must be 'max' (the reference's) or 'mean', got {self.merge!r}")
        if self.optimizer != "adam":
            raise ValueError(f"optimizer must be 'adam' (the reference's), got {self.optimizer!r}")
        for name in ("cls_weight", "reg_weight", "lr", "weight_decay"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def input_dim(self) -> int:
        """Dimension the ConvLSTM reads (``feature_dim`` or its projection, see module doc)."""
        return grid_input_dim(self.feature_dim, self.grid)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AedTConfig:
        """Config from a mapping; unknown keys raise `VadkitError` listing the valid ones."""
        return config_from_dict(cls, d)
