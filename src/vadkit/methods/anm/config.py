"""Every hyperparameter of the salient-feature classifier, with the reference's defaults.

Sources: ``sakurada-cnq/salient_feature_anomaly`` at commit ``93013a3`` (``option.py``,
``train.py``, ``radam.py``, ``network/video_classifier.py``) and its README (the published
numbers use ``--test-split-size 28``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from vadkit.errors import VadkitError
from vadkit.methods.config import config_from_dict

__all__ = ["OPTIMIZERS", "AnmConfig"]

OPTIMIZERS = ("radam", "torch_radam")


@dataclass(frozen=True)
class AnmConfig:
    """Hyperparameters of :class:`~vadkit.methods.anm.AnmModel` and its training.

    >>> AnmConfig().fc_in
    6144
    >>> AnmConfig.from_dict({"d_a": 128, "r": 7}).r
    7
    """

    # model (network/video_classifier.py, class VideoClassifier)
    feature_dim: int = 2048  # option.py --feature-size (I3D ResNet-50)
    d_a: int = 64  # option.py --da: hidden size of the attention MLP (W_s1 rows)
    r: int = 3  # option.py --r: attention hops (W_s2 rows)
    hidden: int = 32  # video_classifier.py: fc1 output size, fc1 -> fc2 with no activation
    attention_dropout: float = 0.3  # video_classifier.py: Dropout(0.3) on the attention matrix
    # data (preformer_feature.py, train.py)
    n_segments: int = 32  # option.py --T: RTFM process_feat pooling of each crop
    # training (option.py, train.py, radam.py)
    batch_size: int = 32  # option.py --batch-size: sequences per class and step (32 + 32)
    max_epoch: int = 10  # option.py --max-epoch; an epoch ends when the normal pool runs out
    seed: int = 1111  # option.py --seed (the released checkpoints used 9111)
    optimizer: str = "radam"  # train.py: bundled RAdam; "torch_radam" = torch.optim.RAdam
    lr: float = 1e-3  # radam.py default
    beta1: float = 0.9  # radam.py default betas[0]
    beta2: float = 0.999  # radam.py default betas[1]
    eps: float = 1e-8  # radam.py default
    weight_decay: float = 0.0  # radam.py default
    degenerated_to_sgd: bool = False  # radam.py default: no update while N_sma < 5
    # test-time windows (train.py split_cal_auc_videoclassifier)
    window: int = 28  # README --test-split-size 28 (option.py default is 32)
    stride: int = 28  # consecutive, non-overlapping windows as in the reference

    def __post_init__(self) -> None:
        for name in ("feature_dim", "d_a", "r", "hidden", "n_segments", "batch_size", "window"):
            _check_int(name, getattr(self, name), 1)
        _check_int("max_epoch", self.max_epoch, 0)
        _check_int("seed", self.seed, 0)
        _check_int("stride", self.stride, 1)
        if self.stride > self.window:
            raise VadkitError(
                f"AnmConfig.stride={self.stride} > window={self.window}: snippets between "
                "windows would get no score; use stride <= window"
            )
        if self.optimizer not in OPTIMIZERS:
            raise VadkitError(
                f"AnmConfig.optimizer={self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}"
            )
        _check_float("attention_dropout", self.attention_dropout, 0.0, 1.0, closed_high=False)
        _check_float("lr", self.lr, 0.0, math.inf)
        _check_float("beta1", self.beta1, 0.0, 1.0, closed_high=False)
        _check_float("beta2", self.beta2, 0.0, 1.0, closed_high=False)
        _check_float("eps", self.eps, 0.0, math.inf)
        _check_float("weight_decay", self.weight_decay, 0.0, math.inf)
        if not isinstance(self.degenerated_to_sgd, bool):
            raise VadkitError(
                f"AnmConfig.degenerated_to_sgd must be true or false, got {self.degenerated_to_sgd!r}"
            )

    @property
    def fc_in(self) -> int:
        """Input size of fc1: the flattened ``(feature_dim, r)`` attention pooling."""
        return self.feature_dim * self.r

    def steps_per_epoch(self, n_normal: int, n_abnormal: int) -> int:
        """Optimiser steps in one reference epoch over pools of single-crop sequences.

        ``train.py`` draws blocks of ``batch_size`` from each shuffled pool while
        ``count + batch_size < len(pool)`` and zips the two pools, so an epoch has
        ``min(ceil(n / batch_size) - 1)`` steps over both pools (UCF-Crime: 249).

        >>> AnmConfig().steps_per_epoch(8000, 8100)
        249
        """
        return max(0, min(-(-n // self.batch_size) - 1 for n in (n_normal, n_abnormal)))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (YAML / JSON friendly)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnmConfig:
        """Build a config from a mapping; unknown keys are a :class:`VadkitError`."""
        return config_from_dict(cls, data)


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise VadkitError(f"AnmConfig.{name} must be an integer >= {low}, got {value!r}")


def _check_float(name: str, value: Any, low: float, high: float, closed_high: bool = True) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value
    ok = ok and (value <= high if closed_high else value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise VadkitError(f"AnmConfig.{name} must be in [{low}, {high}{bracket}, got {value!r}")
