"""C3D (Tran et al., ICCV 2015) trained on Sports-1M, as used by Sultani et al. (2018) and TACnet.

The layout is that of ``c3d.pickle`` from DavideA/c3d-pytorch: despite its name the file
is a ``torch.save``-d state_dict (legacy, non-zip format) with keys ``conv1``, ``conv2``,
``conv3a``, ``conv3b``, ``conv4a``, ``conv4b``, ``conv5a``, ``conv5b``, ``fc6``, ``fc7``,
``fc8`` (``.weight``/``.bias``; 487 Sports-1M classes), so no conversion is needed.
``forward`` returns fc6 after its ReLU (4096-d), the feature Sultani et al. and TACnet use;
``fc7``/``fc8`` are kept only so the file loads strictly.

Preprocessing. The weights are a port of the Caffe model, which was trained on OpenCV
(BGR) frames in 0-255 resized to 171x128 (WxH; short side 128 for 4:3 video) minus the
Sports-1M mean clip, then centre-cropped to 112x112; Sultani et al. extracted fc6 with
that Caffe pipeline. The mean clip is replaced here by its per-channel value, the common
PyTorch approximation (B, G, R) = (90, 98, 102); there is no scaling (std 1). Note that
DavideA's own ``predict.py`` feeds RGB without mean subtraction (its README warns it was
only checked qualitatively); we follow the Caffe training pipeline instead.

The network only accepts 16x112x112 clips: pool5 must leave 512x1x4x4 = 8192 values for fc6.
"""

from __future__ import annotations

import torch
from torch import nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError

CONFIG = PretrainedConfig(
    name="c3d",
    kind="clip",
    weights_file="c3d.pickle",
    weights_source=(
        "the Sports-1M C3D ported from Caffe by DavideA/c3d-pytorch: download "
        "http://imagelab.ing.unimore.it/files/c3d_pytorch/c3d.pickle (linked from that "
        "repository's README)"
    ),
    input_size=(112, 112),
    resize_short=128,
    clip_len=16,
    # (R, G, B) order like every config; the network itself takes BGR (channel_order).
    mean=(102.0, 98.0, 90.0),
    std=(1.0, 1.0, 1.0),
    out_dim=4096,
    channel_order="BGR",
)

_INPUT_SHAPE = (3, 16, 112, 112)


class C3D(nn.Module):
    """C3D. Input ``(B, 3, 16, 112, 112)`` (BGR, mean-subtracted), output ``(B, 4096)`` fc6."""

    def __init__(self, num_classes: int = 487) -> None:
        super().__init__()
        widths = {
            "conv1": (3, 64),
            "conv2": (64, 128),
            "conv3a": (128, 256),
            "conv3b": (256, 256),
            "conv4a": (256, 512),
            "conv4b": (512, 512),
            "conv5a": (512, 512),
            "conv5b": (512, 512),
        }
        for name, (cin, cout) in widths.items():
            self.add_module(name, nn.Conv3d(cin, cout, 3, padding=1))
        # pool1 keeps time (1x2x2) so early layers still see motion; pool5 pads space
        # so 7x7 becomes 4x4 as in the Caffe model.
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool = nn.MaxPool3d(2, 2)
        self.pool5 = nn.MaxPool3d(2, 2, padding=(0, 1, 1))
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 16, 112, 112)`` normalised BGR clips -> ``(B, 4096)`` fc6 features."""
        if tuple(x.shape[1:]) != _INPUT_SHAPE:
            raise VadkitError(
                f"c3d takes clips of shape (B, {', '.join(map(str, _INPUT_SHAPE))}), "
                f"got {tuple(x.shape)}"
            )
        r = self.relu
        x = self.pool1(r(self.conv1(x)))
        x = self.pool(r(self.conv2(x)))
        x = self.pool(r(self.conv3b(r(self.conv3a(x)))))
        x = self.pool(r(self.conv4b(r(self.conv4a(x)))))
        x = self.pool5(r(self.conv5b(r(self.conv5a(x)))))
        return r(self.fc6(x.flatten(1)))


def build() -> C3D:
    """Randomly initialised C3D (PyTorch default init) with the 487-class ``fc8``."""
    return C3D()
