"""Every hyperparameter of the space-time-embedding autoencoder, with its default and source.

Sources: the seed README ("Video anomaly detection with pretrained space-time models") and the
configuration files of its reference repository (``num_autoencoder_layers: 3``,
``dim_autoencoder_layers: 512,256,128``, ``batch_size: 8`` with TimeSformer). The README asks for
"the number of training epochs" and "the learning rate scheduler" without values; where no value
is published the default is vadkit's and the comment says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from vadkit.errors import VadkitError
from vadkit.methods.config import config_from_dict

__all__ = ["SCHEDULERS", "SCORE_KINDS", "AutoencoderConfig"]

SCHEDULERS = ("step", "cosine", "plateau", "none")
# what ``AutoencoderScorer.score`` returns per clip (higher = more anomalous)
SCORE_KINDS = (
    "reconstruction",  # mean squared reconstruction error of the (standardised) embedding
    "latent_nearest",  # distance of the latent to the nearest training class centroid
    "embedding_nearest",  # distance of the embedding to the nearest training class centroid
    "latent_global",  # distance of the latent to the global training centroid
    "embedding_global",  # distance of the embedding to the global training centroid
)


@dataclass(frozen=True)
class AutoencoderConfig:
    """Hyperparameters of :class:`~vadkit.methods.autoencoder.AutoencoderScorer`.

    >>> AutoencoderConfig().hidden
    (512, 256, 128)
    >>> AutoencoderConfig.from_dict({"hidden": [64, 8], "epochs": 5}).latent_dim
    8
    """

    # model (seed README "Architecture"; reference config files)
    hidden: tuple[int, ...] = (512, 256, 128)  # dim_autoencoder_layers; the last is the latent
    batch_norm: bool = True  # BatchNorm1d after every hidden Linear (reference autoencoder)
    dropout: float = 0.0  # vadkit: none in the reference
    standardize: bool = True  # vadkit: z-score embeddings with training mean/std first
    # training (seed README "Train and evaluation")
    epochs: int = 50  # vadkit: the README leaves the number of epochs to the user
    batch_size: int = 8  # reference config batch_size with TimeSformer
    lr: float = 1e-3  # vadkit: Adam's usual rate; the README gives none
    weight_decay: float = 0.0  # vadkit: none
    scheduler: str = "step"  # README: "the learning rate scheduler"; vadkit: StepLR
    step_size: int = 10  # vadkit: StepLR period in epochs
    gamma: float = 0.5  # vadkit: StepLR / ReduceLROnPlateau factor
    seed: int = 0  # vadkit: weights init and shuffling; CPU runs repeat exactly
    # scoring
    score_kind: str = "reconstruction"  # README: "Using the reconstruction error criterion"

    def __post_init__(self) -> None:
        hidden = tuple(self.hidden) if isinstance(self.hidden, list | tuple) else self.hidden
        if not isinstance(hidden, tuple) or not hidden:
            raise VadkitError(f"AutoencoderConfig.hidden must be a list of widths, got {hidden!r}")
        for w in hidden:
            _check_int("hidden", w, 1)
        object.__setattr__(self, "hidden", hidden)
        for name in ("epochs", "batch_size", "step_size"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seed", self.seed, 0)
        _check_float("lr", self.lr, 0.0, math.inf, open_low=True)
        _check_float("weight_decay", self.weight_decay, 0.0, math.inf)
        _check_float("gamma", self.gamma, 0.0, 1.0, open_low=True)
        _check_float("dropout", self.dropout, 0.0, 1.0, open_high=True)
        for name in ("batch_norm", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise VadkitError(f"AutoencoderConfig.{name} must be true or false")
        if self.scheduler not in SCHEDULERS:
            raise VadkitError(
                f"AutoencoderConfig.scheduler={self.scheduler!r}: "
                f"choose one of {', '.join(SCHEDULERS)}"
            )
        if self.score_kind not in SCORE_KINDS:
            raise VadkitError(
                f"AutoencoderConfig.score_kind={self.score_kind!r}: "
                f"choose one of {', '.join(SCORE_KINDS)}"
            )

    @property
    def latent_dim(self) -> int:
        """Width of the latent code (the last entry of ``hidden``)."""
        return self.hidden[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (YAML / JSON friendly; ``hidden`` as a list)."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoencoderConfig:
        """Build a config from a mapping; unknown keys are a :class:`VadkitError`."""
        return config_from_dict(cls, data)


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise VadkitError(f"AutoencoderConfig.{name} must be an integer >= {low}, got {value!r}")


def _check_float(
    name: str,
    value: Any,
    low: float,
    high: float,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (
            value < high if open_high else value <= high
        )
    if not ok:
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise VadkitError(
            f"AutoencoderConfig.{name} must be in {lo}{low}, {high}{hi}, got {value!r}"
        )
