"""The MLP autoencoder put on top of a frozen space-time backbone's clip embedding."""

from __future__ import annotations

import torch
from torch import nn

from vadkit.errors import VadkitError
from vadkit.methods.autoencoder.config import AutoencoderConfig

__all__ = ["AutoencoderModel"]


def _block(n_in: int, n_out: int, config: AutoencoderConfig, last: bool) -> list[nn.Module]:
    """``Linear`` then, except on the last layer, ``BatchNorm1d`` (optional), ReLU, dropout."""
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if not last:
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.ReLU())
        if config.dropout > 0:
            layers.append(nn.Dropout(config.dropout))
    return layers


class AutoencoderModel(nn.Module):
    """Encoder ``D -> hidden[0] -> ... -> hidden[-1]`` (the latent) and its mirror decoder.

    With the default ``hidden=(512, 256, 128)`` and ``D=768`` (TimeSformer)::

        encoder: 768 -> 512 -> 256 -> 128        decoder: 128 -> 256 -> 512 -> 768

    Every hidden ``Linear`` is followed by ``BatchNorm1d`` and ReLU; the latent and the output
    layers are linear.

    Parameters
    ----------
    config : the autoencoder's hyperparameters (``hidden``, ``batch_norm``, ``dropout``).
    feature_dim : D, the embedding size.
    """

    def __init__(self, config: AutoencoderConfig, feature_dim: int) -> None:
        super().__init__()
        if feature_dim < 1:
            raise VadkitError(f"AutoencoderModel: feature_dim must be >= 1, got {feature_dim}")
        self.config = config
        self.feature_dim = feature_dim
        widths = [feature_dim, *config.hidden]
        enc: list[nn.Module] = []
        for i in range(len(widths) - 1):
            enc += _block(widths[i], widths[i + 1], config, last=i == len(widths) - 2)
        back = widths[::-1]
        dec: list[nn.Module] = []
        for i in range(len(back) - 1):
            dec += _block(back[i], back[i + 1], config, last=i == len(back) - 2)
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, D)`` -> ``(reconstruction (B, D), latent (B, hidden[-1]))``."""
        if x.ndim != 2 or x.shape[1] != self.feature_dim:
            raise VadkitError(
                f"AutoencoderModel expects embeddings (B, {self.feature_dim}), got {tuple(x.shape)}"
            )
        z = self.encoder(x)
        return self.decoder(z), z
