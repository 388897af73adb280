"""Building blocks of RTFM's multi-scale temporal network, shared with S3R.

Shapes: ``N`` sequences (videos x crops), ``D`` feature channels, ``T`` snippets.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["ConvBlock", "NonLocal1d", "TemporalTrunk", "xavier_init"]


def xavier_init(module: nn.Module) -> None:
    """The references' ``weight_init``: Xavier-uniform weights and zero biases for Conv/Linear."""
    if isinstance(module, nn.Conv1d | nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class RowsBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` (same parameters, buffers and state-dict keys) that also takes
    ``(rows, C, 1, 1)``: see `_norm_rows` for why."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 3, 4):
            raise ValueError(f"expected 2D, 3D or (rows, C, 1, 1) input (got {input.dim()}D)")


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
            self.norm: nn.Module = RowsBatchNorm1d(d_out)
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
        self.out_norm = RowsBatchNorm1d(channels)

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

    def forward_ntc(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` on ``(N, T, channels)`` (time-major): the 1x1 convolutions as matmuls."""
        t = x.shape[1]
        w = torch.cat([c.weight[:, :, 0] for c in (self.query, self.key, self.value)])
        b = torch.cat([c.bias for c in (self.query, self.key, self.value)])
        q, k, v = nn.functional.linear(x, w, b).chunk(3, dim=-1)  # (N, T, inner) each
        y = (q @ k.transpose(1, 2) / t) @ v
        out = nn.functional.linear(y, self.out_conv.weight[:, :, 0], self.out_conv.bias)
        return x + _norm_rows(self.out_norm, out)


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
        """``(N, T, D) -> (N, T, D)``; with gradients, computed time-major (`temporal_convs`).

        Without gradients (scoring) and while exporting, torch's convolutions are kept: their forward alone was
        as fast as the matmuls (4 % faster scoring 10 crops x 300 snippets at D = 2048).
        """
        # exporting traces the graph: the time-major path's shifts are Python loops over T,
        # which a trace would freeze at the example's length, so export takes the convolutions
        if not torch.is_grad_enabled() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            h = x.transpose(1, 2)  # (N, D, T)
            parts = [branch(h) for branch in self.branches]
            parts.append(self.non_local(self.reduce(h)))
            return (self.fuse(torch.cat(parts, dim=1)) + h).transpose(1, 2)
        convs = [b.conv for b in self.branches] + [self.reduce.conv]
        *ys, reduced = temporal_convs(x, convs)
        parts = [_finish(b, y) for b, y in zip(self.branches, ys, strict=True)]
        parts.append(self.non_local.forward_ntc(torch.relu(reduced)))
        fused = temporal_convs(torch.cat(parts, dim=-1), [self.fuse.conv])[0]
        out = _finish(self.fuse, fused) + x
        # the memory layout of the convolution path's output, a (N, T, D) view of (N, D, T):
        # a dropout after the trunk draws its mask in memory order, so the same layout keeps
        # the same masks for the same seed as scoring's path and as before (a copy of N*T*D,
        # small beside the matmuls)
        return out.transpose(1, 2).contiguous().transpose(1, 2)


def temporal_convs(x: torch.Tensor, convs: list[nn.Conv1d]) -> list[torch.Tensor]:
    """``Conv1d`` layers of the same input applied to ``x`` ``(N, T, D)``, time-major.

    The same arithmetic as ``conv(x.transpose(1, 2)).transpose(1, 2)`` for each conv (odd
    kernel, stride 1, "same" zero padding), summed in another order: one matmul of ``x``
    with every tap of every conv side by side, ``(N*T, D) @ (D, sum k*C)``, then each tap's
    output shifted by its offset in time and added (`_ShiftSum`). Why: on CPU the
    convolution kernels (forward and above all backward) ran at 40-60 % of the machine's
    matmul rate at RTFM's shapes (T = 32, D = 2048), a single large matmul near it, and
    several convs reading the same input share one.
    """
    n, t, d = x.shape
    # (sum k*C, D) tap-major rows; permuting (C, D, k) -> (k, C, D) keeps D contiguous, a
    # copy 4-5x faster than to (D, k, C) (forward and backward) at 2048 x 2048 x 3
    w = torch.cat([c.weight.permute(2, 0, 1).reshape(-1, d) for c in convs])
    z = (x.reshape(n * t, d) @ w.T).reshape(n, t, -1)
    layout = tuple((c.kernel_size[0], c.out_channels, c.dilation[0]) for c in convs)
    ys = _ShiftSum.apply(z, layout)
    return [y if c.bias is None else y + c.bias for y, c in zip(ys, convs, strict=True)]


def _taps(layout: tuple[tuple[int, int, int], ...], t: int):
    """``(conv, start column, channels, tap, shift)`` of every tap: output time ``u`` reads
    the tap's column block at input time ``u + shift`` (zero outside ``0..t-1``)."""
    start = 0
    for i, (k, c, dilation) in enumerate(layout):
        for j in range(k):
            yield i, start + j * c, c, j == k // 2, (j - k // 2) * dilation
        start += k * c


class _ShiftSum(torch.autograd.Function):
    """``z`` ``(N, T, sum k*C)`` of `temporal_convs` -> one ``(N, T, C)`` sum per conv.

    Written out, forward and backward, because autograd's own backward of the slices
    zero-fills a gradient as large as ``z`` for every tap (17 of them for RTFM's trunk).
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, layout: tuple) -> tuple[torch.Tensor, ...]:
        n, t, _ = z.shape
        ctx.layout = layout
        centres = [(i, col, c) for i, col, c, centre, _ in _taps(layout, t) if centre]
        ys = [z[:, :, col : col + c].clone() for _, col, c in centres]  # the unshifted tap
        for i, col, c, centre, s in _taps(layout, t):
            if not centre and abs(s) < t:
                ys[i][:, max(-s, 0) : t - max(s, 0)] += z[
                    :, max(s, 0) : t + min(s, 0), col : col + c
                ]
        return tuple(ys)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor, None]:
        g0 = next(g for g in grads if g is not None)
        n, t, _ = g0.shape
        dz = g0.new_empty(n, t, sum(k * c for k, c, _ in ctx.layout))
        for i, col, c, _, s in _taps(ctx.layout, t):
            g, block = grads[i], dz[:, :, col : col + c]
            if g is None or abs(s) >= t:
                block.zero_()
                continue
            block[:, max(s, 0) : t + min(s, 0)] = g[:, max(-s, 0) : t - max(s, 0)]
            block[:, t + min(s, 0) :].zero_()  # the times no output read (zero padding)
            block[:, : max(s, 0)].zero_()
        return dz, None


def _norm_rows(norm: nn.Module, y: torch.Tensor) -> torch.Tensor:
    """A BatchNorm1d over the channels of ``(N, T, C)``: the same statistics over N and T.

    Given as ``(N*T, C, 1, 1)``, a layout torch's CPU kernels treat as channels-last: forward
    and backward took 8 ms against 67 ms for ``(N*T, C)`` at 160 x 32 x 512 (2 threads).
    """
    return norm(y.reshape(-1, y.shape[-1], 1, 1)).reshape(y.shape)


def _finish(block: ConvBlock, y: torch.Tensor) -> torch.Tensor:
    """`ConvBlock`'s norm and ReLU on its convolution's output ``y`` ``(N, T, C)``."""
    if block.order == "gn_before_relu":
        return torch.relu(block.norm(y.transpose(1, 2))).transpose(1, 2)
    if block.order == "bn_after_relu":
        return _norm_rows(block.norm, torch.relu(y))
    return torch.relu(y)
