"""``TACnetWithBackbone``: end-to-end fine-tuning of C3D with the TACnet head on tiny inputs
(2 videos x 2 segments): shapes, gradients reaching the backbone, the 0.1x backbone lr."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vadkit.backbones.c3d import C3D
from vadkit.errors import VadkitError
from vadkit.methods.tacnet import TACnetConfig, TACnetWithBackbone


class _PoolBackbone(nn.Module):
    """A cheap stand-in for C3D: mean over time and space, then a linear map to ``dim``."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.fc = nn.Linear(3, dim)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(clips.mean(dim=(2, 3, 4))))


def _clips(b: int = 2, t: int = 2) -> torch.Tensor:
    return torch.randn(b, t, 3, 16, 112, 112, generator=torch.Generator().manual_seed(0))


def test_c3d_end_to_end_gradients_reach_the_backbone():
    torch.manual_seed(0)
    # the registry's C3D, as build_backbone("c3d", random_init=True) makes it
    model = TACnetWithBackbone.from_c3d(TACnetConfig(finetune_backbone=True), random_init=True)
    backbone = model.backbone
    assert isinstance(backbone, C3D)
    model.train()
    out = model(_clips())
    assert out["features"].shape == (2, 2, 4096)
    assert out["snippet_scores"].shape == (2, 2)
    assert out["video_scores"].shape == (2,)
    loss, parts = model.loss(out, torch.tensor([0, 1]))
    loss.backward()
    for name in ("conv1.weight", "conv5b.weight", "fc6.weight"):
        grad = dict(backbone.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.head.tsn.weight.grad.abs().sum() > 0
    # fc7 / fc8 are not used by the fc6 feature: no gradient, AdamW leaves them alone
    assert backbone.fc8.weight.grad is None


def test_param_groups_put_the_backbone_at_a_tenth_of_the_lr():
    model = TACnetWithBackbone(_PoolBackbone(), TACnetConfig(feature_dim=16, lr=1e-4))
    groups = model.param_groups()
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert groups[0]["lr"] == pytest.approx(1e-5) and groups[1]["lr"] == pytest.approx(1e-4)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each once
    opt = model.make_optimizer()
    assert isinstance(opt, torch.optim.AdamW)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-5, 1e-4])


def test_video_mean_clip_is_subtracted_as_the_reference_does():
    torch.manual_seed(0)
    model = TACnetWithBackbone(_PoolBackbone(), TACnetConfig(feature_dim=16)).eval()
    clips = _clips(2, 3)
    shifted = clips + torch.randn(2, 1, 3, 16, 112, 112)  # a per-video offset clip
    torch.testing.assert_close(model.score(clips), model.score(shifted), atol=1e-4, rtol=1e-4)
    assert model.score(clips).shape == (2, 3)


def test_bad_clips():
    model = TACnetWithBackbone(_PoolBackbone(), TACnetConfig(feature_dim=16))
    with pytest.raises(VadkitError, match=r"\(B, T, 3, 16, 112, 112\)"):
        model(torch.randn(2, 2, 3, 8, 112, 112))
    with pytest.raises(VadkitError, match="at least 2 segments"):
        model(torch.randn(2, 1, 3, 16, 112, 112))
    wrong = TACnetWithBackbone(_PoolBackbone(), TACnetConfig(feature_dim=32))
    with pytest.raises(VadkitError, match="feature_dim=32"):
        wrong(_clips())
