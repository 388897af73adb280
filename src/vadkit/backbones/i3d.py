"""ResNet50-I3D (Wang et al., Non-local Neural Networks, CVPR 2018 baseline) for RTFM-style features.

The layout is that of ``i3d_r50_kinetics.pth`` from Tushar-N/pytorch-resnet3d: the
Caffe2 Kinetics-400 checkpoint of facebookresearch/video-nonlocal-net renamed to
``conv1``, ``bn1``, ``layerN.M.{conv,bn}{1,2,3}``, ``layerN.0.downsample.{0,1}``, ``fc``.
RTFM (Tian et al., 2021) and the XD-Violence/UCF-Crime I3D features used by later weakly
supervised methods take the 2048-d global average pool of this network.

Architecture (as the reference defines it):

- stem: 5x7x7 conv, stride 2 in time and space; 2x3x3 max-pool, stride 2, no padding;
- bottlenecks inflate only their first 1x1 conv to 3x1x1, in the pattern
  layer1 ``[3,3,3]``, layer2 ``[3,1,3,1]``, layer3 ``[3,1,3,1,3,1]``, layer4 ``[1,3,1]``;
  the 1x3x3 conv carries the spatial stride, no block strides time;
- a 2x1x1 temporal max-pool (stride 2) after layer1;
- so a 16-frame clip reaches layer2..4 with 2 time steps, and 224x224 ends at 7x7.

The released file has no BatchNorm ``num_batches_tracked`` entries (it was renamed from
Caffe2 blobs); :func:`convert_state_dict` adds them. It does hold the Kinetics ``fc``
(400 classes): the module keeps ``fc`` so the file loads strictly, and ``forward``
returns the features before it (``model.fc(model(x))`` gives the logits).

Preprocessing, as the RTFM authors describe theirs (tianyu0207/RTFM issue #21, Tushar-N's
``kinetics_mean_std``): PIL RGB frames resized to short side 256, 224 crops (ten-crop in
RTFM), values in 0-255 normalised with mean 114.75 and std 57.375 on every channel, the
Caffe2 training statistics. The community extractor GowthamGottimukkala/
I3D_Feature_Extraction_resnet differs: it resizes every frame to 340x256 regardless of
aspect ratio and scales to ``[-1, 1]`` (mean = std = 127.5); its features are not
numerically those of this config.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.backbones.weights import read_state_dict, with_bn_counters

CONFIG = PretrainedConfig(
    name="i3d_r50",
    kind="clip",
    weights_file="i3d_r50_kinetics.pth",
    weights_source=(
        "released with Tushar-N/pytorch-resnet3d (Kinetics-400 pretrained ResNet50-I3D): "
        "download https://dl.fbaipublicfiles.com/video-nonlocal/"
        "i3d_baseline_32x2_IN_pretrain_400k.pkl and convert it with that repository's "
        "'python -m utils.convert_weights <pkl> i3d_r50_kinetics.pth'"
    ),
    input_size=(224, 224),
    resize_short=256,
    clip_len=16,
    mean=(114.75, 114.75, 114.75),
    std=(57.375, 57.375, 57.375),
    out_dim=2048,
)

# Temporal kernel of each bottleneck's first conv (3 = inflated to 3x1x1, 1 = 1x1x1).
_TEMPORAL_KERNELS = ((3, 3, 3), (3, 1, 3, 1), (3, 1, 3, 1, 3, 1), (1, 3, 1))


class Bottleneck(nn.Module):
    """1x1 (or 3x1x1) -> 1x3x3 (spatial stride) -> 1x1 bottleneck with expansion 4."""

    # forward applies bn(conv(x)) for these (see vadkit.backbones.fuse)
    CONV_BN_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        t_kernel: int,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        pad_t = t_kernel // 2
        self.conv1 = nn.Conv3d(inplanes, planes, (t_kernel, 1, 1), 1, (pad_t, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(
            planes, planes, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False
        )
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class I3DResNet50(nn.Module):
    """ResNet50-I3D. Input ``(B, 3, L, H, W)`` with ``L >= 8``, output ``(B, 2048)``."""

    CONV_BN_PAIRS = (("conv1", "bn1"),)

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, (5, 7, 7), (2, 2, 2), (2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool1 = nn.MaxPool3d((2, 3, 3), (2, 2, 2))
        self.maxpool2 = nn.MaxPool3d((2, 1, 1), (2, 1, 1))
        inplanes = 64
        for i, (planes, kernels) in enumerate(
            zip((64, 128, 256, 512), _TEMPORAL_KERNELS, strict=True), 1
        ):
            stride = 1 if i == 1 else 2
            # Every stage's first block changes width (64 -> 256 in layer1), so all have one.
            downsample = nn.Sequential(
                nn.Conv3d(inplanes, planes * 4, 1, (1, stride, stride), bias=False),
                nn.BatchNorm3d(planes * 4),
            )
            blocks = [Bottleneck(inplanes, planes, stride, kernels[0], downsample)]
            blocks += [Bottleneck(planes * 4, planes, 1, k) for k in kernels[1:]]
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            inplanes = planes * 4
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(2048, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, L, H, W)`` normalised clips -> ``(B, 2048)`` pooled features."""
        x = self.maxpool1(self.relu(self.bn1(self.conv1(x))))
        x = self.maxpool2(self.layer1(x))
        x = self.layer4(self.layer3(self.layer2(x)))
        return self.avgpool(x).flatten(1)


def build() -> I3DResNet50:
    """Randomly initialised ResNet50-I3D (with the 400-class ``fc`` of the released file)."""
    return I3DResNet50()


def convert_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read ``i3d_r50_kinetics.pth`` and add the BatchNorm counters it was saved without."""
    return with_bn_counters(read_state_dict(Path(path)))
