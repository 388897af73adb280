"""anm against the reference: released checkpoints, golden pairs, real I3D features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.errors import VadkitError
from vadkit.methods.anm import AnmConfig, AnmModel, load_reference_checkpoint
from vadkit.methods.anm.checkpoint import save_reference_checkpoint, to_reference

pytestmark = pytest.mark.real_data

SIZES = [(64, 3), (128, 7)]
# KEYS.txt: the reference's keys, order and spelling ("self_anttention", sic)
REFERENCE_KEYS = [
    "self_anttention.0.weight",
    "self_anttention.0.bias",
    "self_anttention.2.weight",
    "self_anttention.2.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
]
# i3d_samples/SOURCES.md: per-window reference scores (6 decimals) of the two released
# checkpoints on RTFM's ShanghaiTech ten-crop I3D files, windows of 28 snippets.
REAL_SCORES = {
    "01_001_i3d.npy": (48, {(64, 3): (0.097839, 0.249891), (128, 7): (0.550620, 0.528897)}),
    "01_004_i3d.npy": (49, {(64, 3): (0.911447, 0.262991), (128, 7): (0.993129, 0.766163)}),
    "01_006_i3d.npy": (32, {(64, 3): (0.455664, 0.370391), (128, 7): (0.942182, 0.543477)}),
    "train/01_002_i3d.npy": (
        31,
        {(64, 3): (0.619817, 0.394975), (128, 7): (0.967881, 0.517819)},
    ),
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ckpt_dir(shared_data: Path) -> Path:
    return shared_data / "checkpoints" / "anm_salient"


def ckpt(folder: Path, d_a: int, r: int) -> Path:
    return folder / f"SelfAttention-da{d_a}-r{r}-T32-seed9111.pth"


@pytest.fixture(scope="module")
def models(ckpt_dir: Path) -> dict[tuple[int, int], AnmModel]:
    return {size: load_reference_checkpoint(ckpt(ckpt_dir, *size)) for size in SIZES}


@pytest.mark.parametrize("size", SIZES)
def test_released_checkpoint_infers_sizes(models, size) -> None:
    model = models[size]
    c = model.config
    assert (c.d_a, c.r, c.feature_dim, c.hidden) == (*size, 2048, 32)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == {(64, 3): 328_004, (128, 7): 721_992}[size]  # REFERENCE.md
    assert not model.training


@pytest.mark.parametrize("size", SIZES)
def test_golden_forward(models, ckpt_dir, size) -> None:
    golden = np.load(ckpt_dir / f"golden_{size[0]}_{size[1]}.npz")
    x = torch.from_numpy(golden["input"])  # (4, 32, 2048): four independent sequences
    with torch.no_grad():
        out = models[size](x[:, None])  # one crop each
    got = out["video_scores"].numpy()
    assert got.shape == (4,)
    np.testing.assert_allclose(got, golden["output"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", SIZES)
def test_golden_windows(models, ckpt_dir, size) -> None:
    golden = np.load(ckpt_dir / f"golden_window_{size[0]}_{size[1]}.npz")
    assert int(golden["split_size"]) == AnmConfig().window == 28
    features = golden["input"]  # (T=33, crops=3, 2048), store layout
    got = models[size].score(features.transpose(1, 0, 2))  # default window and stride
    assert got.shape == (1, 33)
    np.testing.assert_allclose(got[0], golden["output"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", list(REAL_SCORES))
@pytest.mark.parametrize("size", SIZES)
def test_real_features_reference_scores(models, shared_data, name, size) -> None:
    T, table = REAL_SCORES[name]
    features = np.load(shared_data / "i3d_samples" / "shanghaitech" / name, mmap_mode="r")
    assert features.shape == (T, 10, 2048)
    got = models[size].score(features.transpose(1, 0, 2))[0]
    first, second = table[size]
    expected = np.array([first] * 28 + [second] * (T - 28))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_to_reference_layout(models, ckpt_dir, size, tmp_path) -> None:
    state = to_reference(models[size])
    assert list(state) == REFERENCE_KEYS
    original = torch.load(ckpt(ckpt_dir, *size), map_location="cpu", weights_only=True)
    saved = torch.load(
        save_reference_checkpoint(models[size], tmp_path / "x.pth"), weights_only=True
    )
    assert list(saved) == REFERENCE_KEYS
    assert all(torch.equal(saved[k], original[k]) for k in REFERENCE_KEYS)
    # vadkit's own names load through the same function
    torch.save(models[size].state_dict(), tmp_path / "vadkit.pth")
    again = load_reference_checkpoint(tmp_path / "vadkit.pth")
    assert all(
        torch.equal(a, b)
        for a, b in zip(again.parameters(), models[size].parameters(), strict=True)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"d_a": 128},
            r"'self_anttention.0.weight' has shape \(64, 2048\), expected \(128, 2048\)",
        ),
        ({"r": 7}, r"'self_anttention.2.weight' has shape \(3, 64\), expected \(7, 64\)"),
        (
            {"config": AnmConfig(feature_dim=1024)},
            r"'self_anttention.0.weight' has shape \(64, 2048\), expected \(64, 1024\)",
        ),
    ],
)
def test_wrong_shapes_name_file_and_key(ckpt_dir, kwargs, match) -> None:
    path = ckpt(ckpt_dir, 64, 3)
    with pytest.raises(VadkitError, match=match) as info:
        load_reference_checkpoint(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_bad_files(ckpt_dir, tmp_path) -> None:
    state = torch.load(ckpt(ckpt_dir, 64, 3), weights_only=True)
    extra = dict(state, **{"fc3.weight": torch.zeros(1)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(VadkitError, match=r"extra.pth: unexpected key 'fc3.weight'"):
        load_reference_checkpoint(tmp_path / "extra.pth")
    missing = {k: v for k, v in state.items() if k != "fc2.bias"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(VadkitError, match=r"missing.pth: missing key 'fc2.bias'"):
        load_reference_checkpoint(tmp_path / "missing.pth")
    both = dict(state, **{"attention.0.bias": state["self_anttention.0.bias"]})
    torch.save(both, tmp_path / "both.pth")
    with pytest.raises(VadkitError, match=r"both.pth: key 'attention.0.bias' is there in both"):
        load_reference_checkpoint(tmp_path / "both.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(VadkitError, match=r"text.pth: not a readable torch checkpoint"):
        load_reference_checkpoint(tmp_path / "text.pth")
    with pytest.raises(VadkitError, match=r"nothere.pth: checkpoint file not found"):
        load_reference_checkpoint(tmp_path / "nothere.pth")
