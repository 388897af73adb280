"""What a backbone needs from its input and gives back: one frozen record per backbone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PretrainedConfig:
    """Everything extraction must know to feed a backbone exactly as its weights expect.

    Attributes
    ----------
    name : registry name, e.g. ``"i3d_r50"``.
    kind : ``"clip"`` (input ``(B, 3, L, H, W)``) or ``"frame"`` (input ``(B, 3, H, W)``;
        per-frame features are pooled per snippet by the extractor).
    weights_file : file name of the published weights, e.g. ``"i3d_r50_kinetics.pth"``.
    weights_source : where users get that file (a sentence with the publisher and URL/package).
    input_size : ``(H, W)`` the network sees after cropping.
    resize_short : the short side frames are resized to before cropping.
    clip_len : frames per clip for ``kind="clip"`` (1 for frame encoders).
    mean, std : per-channel normalisation applied to RGB pixel values in ``[0, 255]``:
        ``(x - mean) / std``. (Constants given on a 0-1 scale are stored times 255.)
    channel_order : ``"RGB"`` or ``"BGR"``: the order the weights were trained with.
    out_dim : feature dimension D.
    interpolation : resize filter of the reference preprocessing (``"bilinear"``,
        ``"bicubic"``).
    """

    name: str
    kind: Literal["clip", "frame"]
    weights_file: str
    weights_source: str
    input_size: tuple[int, int]
    resize_short: int
    clip_len: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    out_dim: int
    channel_order: Literal["RGB", "BGR"] = "RGB"
    interpolation: Literal["bilinear", "bicubic"] = "bilinear"
