"""R3D-18 and R(2+1)D-18 (Tran et al., CVPR 2018) with torchvision's Kinetics-400 layout.

The modules reproduce ``torchvision.models.video.r3d_18`` / ``r2plus1d_18`` key for key
(``stem.0``, ``layer1.0.conv1.0``, ``layer2.0.conv1.0.3``, ``downsample.0``/``.1``, ``fc``)
so the published files load strictly without torchvision installed. ``forward`` returns
the 512-d globally pooled features; ``fc`` (400 Kinetics classes) is kept only so that
the files load strictly: ``model.fc(model(x))`` gives the Kinetics logits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.backbones.weights import read_state_dict, with_bn_counters

# torchvision's video models take 0-1 RGB normalised with these Kinetics statistics; its
# preset resizes frames to 128x171 (HxW, i.e. short side 128 for 4:3 video), centre-crops 112.
_KINETICS_MEAN = (0.43216 * 255, 0.394666 * 255, 0.37645 * 255)
_KINETICS_STD = (0.22803 * 255, 0.22145 * 255, 0.216989 * 255)
_TV_SOURCE = (
    "published by torchvision (Kinetics-400 pretrained): download "
    "https://download.pytorch.org/models/{file} once (or copy it from "
    "~/.cache/torch/hub/checkpoints/ after torchvision.models.video.{arch}(pretrained=True))"
)


def _torchvision_config(name: str, weights_file: str) -> PretrainedConfig:
    """Both torchvision video ResNets share input, normalisation and output size."""
    return PretrainedConfig(
        name=name,
        kind="clip",
        weights_file=weights_file,
        weights_source=_TV_SOURCE.format(file=weights_file, arch=name),
        input_size=(112, 112),
        resize_short=128,
        clip_len=16,
        mean=_KINETICS_MEAN,
        std=_KINETICS_STD,
        out_dim=512,
    )


R3D18_CONFIG = _torchvision_config("r3d_18", "r3d_18-b3b3357e.pth")
R2PLUS1D18_CONFIG = _torchvision_config("r2plus1d_18", "r2plus1d_18-91a641e6.pth")


def _full3d(in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> nn.Module:
    """A 3x3x3 convolution (R3D); ``midplanes`` is unused."""
    del midplanes
    return nn.Conv3d(in_planes, out_planes, (3, 3, 3), stride=stride, padding=1, bias=False)


def _split2plus1d(in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> nn.Module:
    """A 1x3x3 spatial then 3x1x1 temporal convolution with BN+ReLU in between (R(2+1)D)."""
    return nn.Sequential(
        nn.Conv3d(in_planes, midplanes, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
        nn.BatchNorm3d(midplanes),
        nn.ReLU(inplace=True),
        nn.Conv3d(midplanes, out_planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
    )


ConvBuilder = Callable[[int, int, int, int], nn.Module]


class BasicBlock(nn.Module):
    """Two-convolution residual block; keys ``conv1.0``, ``conv1.1``, ``conv2.0``, ``conv2.1``."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv: ConvBuilder,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        # Width of the (2+1)D middle layer so that it has as many parameters as a 3x3x3
        # conv (Tran et al. eq. in sec. 3.5); torchvision computes it once per block from
        # (inplanes, planes) and reuses it for conv2, which the published shapes follow.
        midplanes = (inplanes * planes * 27) // (inplanes * 9 + 3 * planes)
        self.conv1 = nn.Sequential(
            conv(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(conv(planes, planes, midplanes, 1), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class VideoResNet18(nn.Module):
    """ResNet-18 over clips. Input ``(B, 3, L, H, W)``, output ``(B, 512)``.

    Parameters
    ----------
    stem : the first block (``stem.*`` keys).
    conv : builder of the 3-D convolution used in every residual block.
    num_classes : width of the kept ``fc`` layer (400 for the Kinetics files).
    """

    def __init__(self, stem: nn.Sequential, conv: ConvBuilder, num_classes: int = 400) -> None:
        super().__init__()
        self.stem = stem
        inplanes = 64
        for i, planes in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if i == 1 else 2
            downsample = None
            if stride != 1 or inplanes != planes:
                # Both published variants downsample time as well as space here.
                downsample = nn.Sequential(
                    nn.Conv3d(inplanes, planes, 1, stride=stride, bias=False),
                    nn.BatchNorm3d(planes),
                )
            blocks = [
                BasicBlock(inplanes, planes, conv, stride, downsample),
                BasicBlock(planes, planes, conv),
            ]
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(512, num_classes)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, L, H, W)`` normalised clips -> ``(B, 512)`` pooled features."""
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)


def _init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def build_r3d_18() -> VideoResNet18:
    """Randomly initialised R3D-18 (33,371,472 parameters incl. ``fc``)."""
    stem = nn.Sequential(
        nn.Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
        nn.BatchNorm3d(64),
        nn.ReLU(inplace=True),
    )
    return VideoResNet18(stem, _full3d)


def build_r2plus1d_18() -> VideoResNet18:
    """Randomly initialised R(2+1)D-18 (31,505,325 parameters incl. ``fc``)."""
    stem = nn.Sequential(
        nn.Conv3d(3, 45, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
        nn.BatchNorm3d(45),
        nn.ReLU(inplace=True),
        nn.Conv3d(45, 64, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False),
        nn.BatchNorm3d(64),
        nn.ReLU(inplace=True),
    )
    return VideoResNet18(stem, _split2plus1d)


def convert_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a torchvision video-ResNet file; BN counters are added if it lacks them."""
    return with_bn_counters(read_state_dict(Path(path)))
