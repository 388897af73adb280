"""The image tower of CLIP ViT-B/16 in plain torch, key for key the OpenAI checkpoint.

State-dict keys are those of the ``visual`` module of OpenAI CLIP (and of open_clip's
``ViT-B-16`` with ``pretrained="openai"``): ``conv1.weight``, ``class_embedding``,
``positional_embedding``, ``ln_pre.*``, ``transformer.resblocks.N.{attn.in_proj_weight,
attn.in_proj_bias, attn.out_proj.*, ln_1.*, mlp.c_fc.*, mlp.c_proj.*, ln_2.*}``,
``ln_post.*`` and ``proj``. Activations are QuickGELU, layer norms use eps 1e-5, and the
output is the class token after ``ln_post`` projected by ``proj`` (the 512-d embedding CLIP
compares with text).

The weights are not redistributable here: users download ``ViT-B-16.pt`` themselves and pass
it as ``--weights``. :func:`convert_state_dict` accepts the OpenAI TorchScript archive, a full
OpenAI/open_clip state dict (``visual.`` keys plus the text tower, which is dropped) or a
visual-tower-only state dict.
"""

from __future__ import annotations

import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor, nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.backbones.weights import read_state_dict
from vadkit.errors import VadkitError

CONFIG = PretrainedConfig(
    name="clip_vit_b16",
    kind="frame",
    weights_file="ViT-B-16.pt",
    weights_source=(
        "the OpenAI CLIP release ViT-B/16 (the file clip.load('ViT-B/16') caches; the same weights "
        "are open_clip's 'ViT-B-16' pretrained='openai'); vadkit never downloads it: "
        "download it yourself"
    ),
    input_size=(224, 224),
    resize_short=224,  # CLIP's preprocessing: bicubic resize of the short side to 224, centre crop
    clip_len=1,
    # CLIP's normalisation constants (0-1 scale) times 255.
    mean=(0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255),
    std=(0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255),
    out_dim=512,
    interpolation="bicubic",
)


class _QuickGELU(nn.Module):
    """The sigmoid approximation of GELU CLIP was trained with (not ``nn.GELU``)."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class _ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        # batch_first changes only the call layout, not the parameters or their names.
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, width * 4)),
                    ("gelu", _QuickGELU()),
                    ("c_proj", nn.Linear(width * 4, width)),
                ]
            )
        )
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class _Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(
            *[_ResidualAttentionBlock(width, heads) for _ in range(layers)]
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.resblocks(x)


class ClipVisionTransformer(nn.Module):
    """CLIP's ViT image encoder; defaults are ViT-B/16 at 224x224.

    Parameters
    ----------
    input_resolution : square input side the positional embedding is sized for.
    patch_size : side of the square, non-overlapping patches.
    width, layers, heads : transformer size.
    output_dim : size of the projected embedding.
    """

    def __init__(
        self,
        input_resolution: int = 224,
        patch_size: int = 16,
        width: int = 768,
        layers: int = 12,
        heads: int = 12,
        output_dim: int = 512,
    ) -> None:
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width**-0.5
        grid = input_resolution // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = _Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))
        # CLIP's initialisation of the transformer weights, for random-init runs.
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=scale)
            nn.init.normal_(block.attn.out_proj.weight, std=scale * (2 * layers) ** -0.5)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=scale * (2 * layers) ** -0.5)

    def forward_tokens(self, x: Tensor) -> Tensor:
        """All output tokens before ``ln_post``.

        Parameters
        ----------
        x : (B, 3, R, R) normalised RGB, ``R = input_resolution``.

        Returns
        -------
        (B, 1 + (R / patch)^2, width): the class token first, then the patches row by row.
        """
        r = self.input_resolution
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, r, r):
            raise VadkitError(f"clip_vit expects input (B, 3, {r}, {r}), got {tuple(x.shape)}")
        x = self.conv1(x).flatten(2).transpose(1, 2)  # (B, grid^2, width)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        return self.transformer(self.ln_pre(x))

    def forward(self, x: Tensor) -> Tensor:
        """Projected image embedding.

        Parameters
        ----------
        x : (B, 3, 224, 224) float, RGB normalised with ``CONFIG.mean``/``CONFIG.std``.

        Returns
        -------
        (B, output_dim) embedding (not L2-normalised).
        """
        return self.ln_post(self.forward_tokens(x)[:, 0, :]) @ self.proj


def build() -> ClipVisionTransformer:
    """CLIP ViT-B/16 image tower with random initialisation."""
    return ClipVisionTransformer()


def _is_torchscript(path: Path) -> bool:
    # TorchScript archives carry compiled code and constants; torch.save zips do not.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())


def _read_any(path: Path) -> dict[str, Tensor]:
    if not _is_torchscript(path):
        return read_state_dict(path)
    try:
        # The OpenAI release files are TorchScript archives, which weights_only
        # torch.load refuses; torch.jit.load runs no pickled Python.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure means an unreadable archive
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise VadkitError(f"cannot read TorchScript weights file {path}: {first}") from exc
    return dict(module.state_dict())


def convert_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read CLIP weights and return the image tower's state dict in float32.

    Parameters
    ----------
    path : OpenAI ``ViT-B-16.pt`` (TorchScript archive), or a state dict saved with
        ``torch.save``, of the whole model (``visual.`` keys are kept with the prefix
        stripped; the text tower and ``logit_scale`` are dropped) or of the image tower alone.

    Returns
    -------
    ``{key: tensor}`` with this module's key names; strict matching is left to the caller.
    """
    path = Path(path)
    state = _read_any(path)
    visual = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}
    if not visual:
        visual = state  # already the image tower alone
    # OpenAI stores fp16 weights; features are computed in float32.
    return {k: v.float() if v.is_floating_point() else v for k, v in visual.items()}
