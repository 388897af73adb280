"""Clip backbones (i3d_r50, c3d, r3d_18, r2plus1d_18): shapes, published layouts, strict loading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from vadkit.backbones.registry import build_backbone, get_config
from vadkit.backbones.weights import with_bn_counters
from vadkit.errors import VadkitError

NAMES = ["i3d_r50", "c3d", "r3d_18", "r2plus1d_18"]

# Facts about the published files, computed from the reference definitions (not from
# vadkit): Tushar-N/pytorch-resnet3d I3Res50(use_nl=False), DavideA/c3d-pytorch C3D,
# torchvision 0.29 VideoResNet r3d_18 / r2plus1d_18. ``digest`` is the sha256 of the
# sorted "key:shape" lines without BatchNorm ``num_batches_tracked``.
REFERENCE = {
    "i3d_r50": dict(
        params=28_043_472,
        keys=267,
        digest="ac96785fb0ef5c1fd31a24439323a29c9ab80e62d9154ba709b475a150aac876",
    ),
    "c3d": dict(
        params=79_991_015,
        keys=22,
        digest="d79c119f23ff9c4ce248f98d69ab6caac62c393dfa69a3f437e7c69d75504290",
    ),
    "r3d_18": dict(
        params=33_371_472,
        keys=102,
        digest="2c00a6e941d4efbe4e61c7cf18d79042512853f5c6fbc0bb23778add812d7123",
    ),
    "r2plus1d_18": dict(
        params=31_505_325,
        keys=187,
        digest="5a66e16319043c9cfa01ce14ffaceddd7cceb1a53517434fe84b108458407539",
    ),
}

# Smallest convenient clip each architecture accepts (c3d's fc6 fixes its input size).
SMALL_INPUT = {
    "i3d_r50": (1, 3, 8, 64, 64),
    "c3d": (1, 3, 16, 112, 112),
    "r3d_18": (1, 3, 4, 32, 32),
    "r2plus1d_18": (1, 3, 4, 32, 32),
}

# A key each published file has, to drop or rename.
SOME_KEY = {
    "i3d_r50": "layer3.2.conv1.weight",
    "c3d": "conv3b.weight",
    "r3d_18": "layer2.0.downsample.0.weight",
    "r2plus1d_18": "layer2.0.conv1.0.3.weight",
}

_MODELS: dict[str, torch.nn.Module] = {}


def _model(name: str) -> torch.nn.Module:
    """Random-init model in eval mode, built once per test session (c3d has 80M params)."""
    if name not in _MODELS:
        torch.manual_seed(0)
        _MODELS[name] = build_backbone(name, random_init=True)[0]
    return _MODELS[name]


def _published(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def _digest(state: dict[str, torch.Tensor]) -> str:
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sorted(state.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_layout_and_parameter_count_match_reference(name: str) -> None:
    model = _model(name)
    assert sum(p.numel() for p in model.parameters()) == REFERENCE[name]["params"]
    layout = _published(model.state_dict())
    assert len(layout) == REFERENCE[name]["keys"]
    assert _digest(layout) == REFERENCE[name]["digest"]


@pytest.mark.parametrize("name", NAMES)
def test_config(name: str) -> None:
    cfg = get_config(name)
    assert cfg.name == name and cfg.kind == "clip" and cfg.clip_len == 16
    assert cfg.resize_short >= max(cfg.input_size)
    assert len(cfg.mean) == len(cfg.std) == 3 and min(cfg.std) > 0
    assert cfg.weights_file in cfg.weights_source


def test_config_values() -> None:
    assert get_config("i3d_r50").out_dim == 2048
    assert get_config("i3d_r50").input_size == (224, 224)
    assert get_config("i3d_r50").mean == (114.75,) * 3
    assert get_config("c3d").out_dim == 4096
    assert get_config("c3d").channel_order == "BGR"
    for name in ("r3d_18", "r2plus1d_18"):
        cfg = get_config(name)
        assert cfg.out_dim == 512 and cfg.input_size == (112, 112)
        assert cfg.mean == pytest.approx((110.2008, 100.63983, 95.99475))
        assert cfg.std == pytest.approx((58.14765, 56.46975, 55.332195))


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape_dtype_and_determinism(name: str) -> None:
    model = _model(name)
    cfg = get_config(name)
    assert not model.training
    x = torch.randn(SMALL_INPUT[name], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(x), model(x)
    assert a.dtype == torch.float32 and a.shape == (1, cfg.out_dim)
    assert torch.isfinite(a).all()
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["i3d_r50", "r3d_18", "r2plus1d_18"])
def test_forward_at_config_size(name: str) -> None:
    # c3d already runs at its only size in the test above.
    cfg = get_config(name)
    x = torch.randn(1, 3, cfg.clip_len, *cfg.input_size)
    with torch.no_grad():
        out = _model(name)(x)
    assert out.shape == (1, cfg.out_dim)
    assert (out >= 0).all()  # pooled after a ReLU


def test_c3d_rejects_other_clip_shapes() -> None:
    with pytest.raises(VadkitError, match=r"\(B, 3, 16, 112, 112\), got \(1, 3, 8, 112, 112\)"):
        _model("c3d")(torch.zeros(1, 3, 8, 112, 112))


def _write_published(name: str, path: Path) -> dict[str, torch.Tensor]:
    """A random state dict in the published layout, saved the way the publisher did."""
    gen = torch.Generator().manual_seed(2)
    state = {}
    for k, v in _published(_model(name).state_dict()).items():
        rnd = torch.rand(v.shape, generator=gen) + 0.5 if "running_var" in k else None
        state[k] = rnd if rnd is not None else torch.randn(v.shape, generator=gen) * 0.01
    if name == "r3d_18":
        # torchvision files may carry BN counters; the other variant is tested via r2plus1d.
        state = with_bn_counters(state)
    # c3d.pickle (2017) and i3d_r50_kinetics.pth (PyTorch 1.1) predate the zip format.
    zip_format = name in ("r3d_18", "r2plus1d_18")
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    return state


@pytest.mark.parametrize("name", NAMES)
def test_published_layout_loads_strictly(name: str, tmp_path: Path) -> None:
    path = tmp_path / get_config(name).weights_file
    state = _write_published(name, path)
    model, cfg, sha = build_backbone(name, weights=path)
    assert cfg.name == name and not model.training
    assert sha == _sha256(path)
    loaded = model.state_dict()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k
    if name == "i3d_r50":  # counters the Caffe2 port lacks are filled in
        assert int(loaded["bn1.num_batches_tracked"]) == 0


def _tiny_layout(name: str) -> dict[str, torch.Tensor]:
    # Key checks run before shape checks, so tiny tensors keep these files small.
    return {k: torch.zeros(1) for k in _published(_model(name).state_dict())}


@pytest.mark.parametrize("name", NAMES)
def test_renamed_key_is_named(name: str, tmp_path: Path) -> None:
    state = _tiny_layout(name)
    key = SOME_KEY[name]
    state[key.replace(".weight", ".kernel")] = state.pop(key)
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    with pytest.raises(VadkitError) as err:
        build_backbone(name, weights=path)
    msg = str(err.value)
    assert key in msg and key.replace(".weight", ".kernel") in msg and str(path) in msg


@pytest.mark.parametrize("name", NAMES)
def test_missing_key_is_named(name: str, tmp_path: Path) -> None:
    state = _tiny_layout(name)
    del state[SOME_KEY[name]]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(VadkitError, match="1 missing keys") as err:
        build_backbone(name, weights=path)
    assert SOME_KEY[name] in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_are_reported(name: str, tmp_path: Path) -> None:
    path = tmp_path / "shapes.pth"
    torch.save(_tiny_layout(name), path)
    with pytest.raises(VadkitError, match=r"has shape \(1,\), expected"):
        build_backbone(name, weights=path)


@pytest.mark.parametrize("name", NAMES)
def test_missing_file_names_file_and_source(name: str, tmp_path: Path) -> None:
    cfg = get_config(name)
    path = tmp_path / "nowhere" / cfg.weights_file
    with pytest.raises(VadkitError) as err:
        build_backbone(name, weights=path)
    msg = str(err.value)
    assert str(path) in msg and cfg.weights_file in msg and cfg.weights_source in msg
    with pytest.raises(VadkitError) as err:
        build_backbone(name)  # no offline default for clip backbones
    assert cfg.weights_file in str(err.value) and cfg.weights_source in str(err.value)


def test_with_bn_counters() -> None:
    state = {
        "bn.weight": torch.ones(2),
        "bn.running_mean": torch.zeros(2),
        "c.weight": torch.ones(1),
    }
    filled = with_bn_counters(state)
    assert set(filled) == set(state) | {"bn.num_batches_tracked"}
    assert filled["bn.num_batches_tracked"].dtype == torch.long
    partial = {
        **state,
        "other.running_mean": torch.zeros(1),
        "other.num_batches_tracked": torch.tensor(3),
    }
    # A partial set is left as is, to fail the strict key check.
    assert set(with_bn_counters(partial)) == set(partial)
