"""Building blocks of RTFM's multi-scale temporal network, shared with S3R.

Shapes: ``N`` sequences (videos x crops), ``D`` feature channels, ``T`` snippets.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBlock", "NonLocal1d", "TemporalTrunk", "xavier_init"]


def xavier_init(module: nn.Module) -> None:
    """The references' ``weight_init``: Xavier-uniform weights and zero biases for Conv/Linear."""
    if isinstance(module, nn.Conv1d | nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ConvBlock(nn.Module):
    """Conv1d followed by a norm and a ReLU in one of the two orders the references use.

    Parameters
    ----------
    d_in, d_out : input and output channels.
    kernel, dilation : temporal kernel size and dilation; padding keeps the length ``T``.
    bias : whether the convolution has a bias.
    norm : ``"bn_after_relu"`` (RTFM: Conv -> ReLU -> BatchNorm), ``"gn_before_relu"``
        (S3R: Conv -> GroupNorm -> ReLU) or ``"none"`` (Conv -> ReLU).
    groups : GroupNorm groups (``"gn_before_relu"`` only).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        kernel: int = 3,
        dilation: int = 1,
        bias: bool = True,
        norm: str = "bn_after_relu",
        groups: int = 8,
    ) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv1d(d_in, d_out, kernel, padding=pad, dilation=dilation, bias=bias)
        self.order = norm
        if norm == "bn_after_relu":
            self.norm: nn.Module = nn.BatchNorm1d(d_out)
        elif norm == "gn_before_relu":
            self.norm = nn.GroupNorm(groups, d_out, eps=1e-5)
        elif norm == "none":
            self.norm = nn.Identity()
        else:
            raise ValueError(f"unknown norm order {norm!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, d_in, T) -> (N, d_out, T)``."""
        y = self.conv(x)
        if self.order == "gn_before_relu":
            return torch.relu(self.norm(y))
        return self.norm(torch.relu(y))


class NonLocal1d(nn.Module):
    """Embedded-dot-product non-local block (Wang et al. 2018) over time, no subsampling.

    ``z = x + BN(W_out (A @ value(x)))`` with ``A = query(x)^T key(x) / T`` (no softmax),
    where query, key and value are 1x1 convolutions to ``inner`` channels. The output
    BatchNorm starts at zero, so the block starts as the identity.
    """

    def __init__(self, channels: int, inner: int) -> None:
        super().__init__()
        self.value = nn.Conv1d(channels, inner, 1)
        self.query = nn.Conv1d(channels, inner, 1)
        self.key = nn.Conv1d(channels, inner, 1)
        self.out_conv = nn.Conv1d(inner, channels, 1)
        self.out_norm = nn.BatchNorm1d(channels)

    def reset_out_norm(self) -> None:
        """Zero the output BatchNorm's affine parameters (the references' initialisation)."""
        nn.init.zeros_(self.out_norm.weight)
        nn.init.zeros_(self.out_norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, channels, T) -> (N, channels, T)``."""
        t = x.shape[-1]
        q = self.query(x).transpose(1, 2)  # (N, T, inner)
        k = self.key(x)  # (N, inner, T)
        v = self.value(x).transpose(1, 2)  # (N, T, inner)
        y = (q @ k / t) @ v  # (N, T, inner)
        return x + self.out_norm(self.out_conv(y.transpose(1, 2)))


class TemporalTrunk(nn.Module):
    """RTFM's multi-scale temporal network (the reference's ``Aggregate``), with a residual.

    Three dilated convolutions (``d_in -> channels`` each) and a 1x1 reduction followed by a
    non-local block (``d_in -> channels``) are concatenated (``4 * channels`` must equal
    ``d_in``), fused by a kernel-3 convolution without bias back to ``d_in`` and added to
    the input.

    Parameters
    ----------
    d_in : feature channels D.
    channels : channels of each branch (the references: D / 4).
    inner : channels inside the non-local block (the references: channels / 2).
    dilations : dilations of the three temporal branches.
    norm : ``"bn_after_relu"`` (RTFM) or ``"gn_before_relu"`` (S3R); see `ConvBlock`.
    groups : GroupNorm groups (S3R).
    """

    def __init__(
        self,
        d_in: int,
        channels: int,
        inner: int,
        dilations: tuple[int, ...] = (1, 2, 4),
        norm: str = "bn_after_relu",
        groups: int = 8,
    ) -> None:
        super().__init__()
        if channels * (len(dilations) + 1) != d_in:
            raise ValueError(
                f"branch channels x {len(dilations) + 1} must equal the feature dim: "
                f"{channels} x {len(dilations) + 1} != {d_in}"
            )
        self.branches = nn.ModuleList(
            ConvBlock(d_in, channels, 3, d, True, norm, groups) for d in dilations
        )
        self.reduce = ConvBlock(d_in, channels, 1, 1, False, "none")
        self.non_local = NonLocal1d(channels, inner)
        self.fuse = ConvBlock(d_in, d_in, 3, 1, False, norm, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, D) -> (N, T, D)``."""
        h = x.transpose(1, 2)  # (N, D, T)
        parts = [branch(h) for branch in self.branches]
        parts.append(self.non_local(self.reduce(h)))
        out = self.fuse(torch.cat(parts, dim=1)) + h
        return out.transpose(1, 2)
