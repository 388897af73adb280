"""UR-DMU's building blocks, written from the definitions in the reference's ``model.py``,
``translayer.py`` and ``memory.py`` (``henrryzh1/UR-DMU`` @ 40cfdf5).

Module names follow the reference's, so a reference ``state_dict`` has the same keys
(``embedding.conv_1.0``, ``selfatt.layers.0.0.fn.to_qkv``, ``Amemory.memory_block``, ...).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "ClassifierHead",
    "DualAttention",
    "Embedding",
    "MemoryUnit",
    "Transformer",
    "distance_attention",
]


class Embedding(nn.Module):
    """``Conv1d(D, out, k=3, padding=1) -> ReLU`` over time: ``(N, T, D) -> (N, T, out)``."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv_1 = nn.Sequential(nn.Conv1d(in_dim, out_dim, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_1(x.transpose(1, 2)).transpose(1, 2)


def distance_attention(t: int, device: torch.device | None = None) -> torch.Tensor:
    """The fixed temporal attention of the reference's ``Attention``: ``(t, t)``.

    ``a[i, j] = exp(-|i - j| / e)``, then every column is divided by its sum (the reference
    writes ``a / a.sum(-1)``, which broadcasts over the last axis; ``a`` is symmetric, so
    row ``j``'s sum is column ``j``'s). Rows therefore do not sum to one except far from the
    ends; kept as the reference.
    """
    pos = torch.arange(t, device=device, dtype=torch.float32)
    a = torch.exp(-(pos[None, :] - pos[:, None]).abs() / math.e)
    return a / a.sum(dim=-1)[None, :]


class DualAttention(nn.Module):
    """Multi-head self-attention next to the fixed distance attention, ``(N, T, dim)``.

    One bias-free projection gives ``q, k, v, g`` (``heads x dim_head`` each); each head
    outputs ``[softmax(q k^T / sqrt(dim_head)) v, A_dist g]`` (``2 dim_head``), and the heads,
    concatenated, are projected back to ``dim`` with dropout.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.to_qkv = nn.Linear(dim, 4 * inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(2 * inner, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        q, k, v, g = (
            z.reshape(n, t, self.heads, self.dim_head).transpose(1, 2)
            for z in self.to_qkv(x).chunk(4, dim=-1)
        )
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.dim_head**-0.5, dim=-1)
        out = torch.cat([attn @ v, distance_attention(t, x.device) @ g], dim=-1)
        return self.to_out(out.transpose(1, 2).reshape(n, t, -1))


class _PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Transformer(nn.Module):
    """``depth`` pre-norm blocks ``x + DualAttention(LN x)``, ``x + FF(LN x)``: ``(N, T, dim)``."""

    def __init__(
        self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    _PreNorm(dim, DualAttention(dim, heads, dim_head, dropout)),
                    _PreNorm(dim, _FeedForward(dim, mlp_dim, dropout)),
                ]
            )
            for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class MemoryUnit(nn.Module):
    """A memory of ``nums`` learnable items of size ``dim`` read by sigmoid attention.

    ``forward(x (N, T, dim))`` returns the per-snippet memory response ``(N, T)`` (mean of the
    ``nums // 16 + 1`` largest item attentions) and the read-out ``(N, T, dim)``
    (attention-weighted sum of the items). Items start ``U(-1/sqrt(dim), 1/sqrt(dim))``.
    """

    def __init__(self, nums: int, dim: int) -> None:
        super().__init__()
        self.nums, self.dim = nums, dim
        bound = 1.0 / math.sqrt(dim)
        self.memory_block = nn.Parameter(torch.empty(nums, dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        att = torch.sigmoid(x @ self.memory_block.T / math.sqrt(self.dim))  # (N, T, nums)
        response = att.topk(self.nums // 16 + 1, dim=-1).values.mean(-1)
        return response, att @ self.memory_block


class ClassifierHead(nn.Module):
    """``Linear(in, hidden) -> ReLU -> Linear(hidden, 1) -> Sigmoid``: ``(..., in) -> (..., 1)``."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)
