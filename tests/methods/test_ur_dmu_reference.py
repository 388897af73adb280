"""UR-DMU against the reference code: its state_dict layout, its outputs for fixed weights,
and strict loading of checkpoints written in its layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vadkit.errors import VadkitError
from vadkit.methods.ur_dmu import UrDmuConfig, UrDmuModel

# The reference's WSAD state_dict keys (model.py, translayer.py, memory.py @ 40cfdf5), written
# down from reading the code: the module tree, not this implementation.
_LAYER = [
    "0.norm.weight",
    "0.norm.bias",
    "0.fn.to_qkv.weight",
    "0.fn.to_out.0.weight",
    "0.fn.to_out.0.bias",
    "1.norm.weight",
    "1.norm.bias",
    "1.fn.net.0.weight",
    "1.fn.net.0.bias",
    "1.fn.net.3.weight",
    "1.fn.net.3.bias",
]
REFERENCE_KEYS = {
    "embedding.conv_1.0.weight": (512, 1024, 3),
    "embedding.conv_1.0.bias": (512,),
    "cls_head.mlp.0.weight": (128, 1024),
    "cls_head.mlp.0.bias": (128,),
    "cls_head.mlp.2.weight": (1, 128),
    "cls_head.mlp.2.bias": (1,),
    "Amemory.memory_block": (60, 512),
    "Nmemory.memory_block": (60, 512),
    "encoder_mu.0.weight": (512, 512),
    "encoder_mu.0.bias": (512,),
    "encoder_var.0.weight": (512, 512),
    "encoder_var.0.bias": (512,),
}
_SHAPES = [(512,), (512,), (2048, 512), (512, 1024), (512,), (512,), (512,)]
_SHAPES += [(512, 512), (512,), (512, 512), (512,)]
for _i in range(2):
    for _k, _s in zip(_LAYER, _SHAPES, strict=True):
        REFERENCE_KEYS[f"selfatt.layers.{_i}.{_k}"] = _s


def golden_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A state dict made by a rule independent of construction order (reference or vadkit).

    Keys in sorted order, each from one generator seeded 0: ``0.1 * N(0, 1)``, LayerNorm
    weights ``1 + 0.1 * N(0, 1)``.
    """
    gen = torch.Generator().manual_seed(0)
    out = {}
    for key in sorted(model.state_dict()):
        shape = model.state_dict()[key].shape
        value = 0.1 * torch.randn(shape, generator=gen)
        out[key] = value + 1.0 if ".norm.weight" in key else value
    return out


def golden_input() -> torch.Tensor:
    """(4, 2, 20, 64): 2 normal then 2 abnormal videos, 2 crops, 20 snippets, D = 64."""
    return torch.randn(4, 2, 20, 64, generator=torch.Generator().manual_seed(1))


def test_reference_layout_and_parameter_count():
    torch.manual_seed(0)
    model = UrDmuModel()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == REFERENCE_KEYS
    # by hand: conv 1024*512*3+512, head 1024*128+128+128+1, memories 2*60*512,
    # 2 layers x (LN 1024 + qkv 512*2048 + out 1024*512+512 + LN 1024 + FF 2*(512*512+512)),
    # encoders 2*(512*512+512)
    assert sum(p.numel() for p in model.parameters()) == 6_492_929
    out = model(torch.randn(4, 2, 20, 1024))
    assert out["snippet_scores"].shape == (4, 20) and out["video_scores"].shape == (4,)
    for key in ("A_att", "N_att", "A_Natt", "N_Aatt"):
        assert out[key].shape == (2, 20), key
    assert all(out[k].ndim == 0 for k in ("triplet", "kl", "distance"))
    model.eval()
    assert set(model(torch.randn(3, 2, 7, 1024))) == {"snippet_scores", "video_scores"}
    assert model.score(torch.randn(1, 10, 7, 1024)).shape == (1, 7)


# Outputs of the reference code (henrryzh1/UR-DMU @ 40cfdf5: model.WSAD(64, a_nums=60,
# n_nums=60) and train.AD_Loss, run on CPU with `.cuda()` made a no-op) for golden_weights()
# and golden_input(); training forward after torch.manual_seed(5). vadkit matched them
# exactly (max abs diff 0.0) when they were recorded.
REFERENCE_EVAL_VIDEO0 = [
    0.4875161, 0.9929032, 0.9999954, 0.9999584, 0.5000032, 0.5, 0.8600433, 0.5118119,
    0.9982734, 0.5000135, 0.5219581, 0.9997592, 0.7259371, 0.5000006, 0.5284977, 0.4999373,
    0.4999999, 0.0007676, 0.0006188, 0.87573,
]  # fmt: skip
REFERENCE_EVAL_SUM = 50.50783920288086
REFERENCE_TRAIN = {  # forward: triplet_margin, kl_loss, distance; AD_Loss total; sum of "frame"
    "triplet": 0.9936050772666931,
    "kl": 17.169626235961914,
    "distance": 105.58885192871094,
    "total": 8.758833885192871,
    "frame_sum": 41.18574905395508,
}


def test_matches_the_reference_code_outputs():
    model = UrDmuModel(UrDmuConfig(feature_dim=64, train_crops="all"))
    model.load_state_dict(golden_weights(model))
    x = golden_input()
    model.eval()
    with torch.no_grad():
        scores = model(x)["snippet_scores"]
    np.testing.assert_allclose(scores[0].numpy(), REFERENCE_EVAL_VIDEO0, rtol=1e-5, atol=1e-6)
    assert scores.sum().item() == pytest.approx(REFERENCE_EVAL_SUM, rel=1e-6)
    np.testing.assert_allclose(model.score(x[:1]), scores[:1].numpy(), atol=1e-5)
    model.train()
    torch.manual_seed(5)  # same dropout masks and reparameterisation noise as the reference
    out = model(x)
    total, parts = model.loss(out, torch.tensor([0, 0, 1, 1]))
    for key in ("triplet", "kl", "distance"):
        assert parts[key] == pytest.approx(REFERENCE_TRAIN[key], rel=1e-5), key
    assert total.item() == pytest.approx(REFERENCE_TRAIN["total"], rel=1e-5)
    assert out["snippet_scores"].sum().item() == pytest.approx(
        REFERENCE_TRAIN["frame_sum"], rel=1e-5
    )


def test_reference_checkpoint_loads_strictly(tmp_path):
    from vadkit.methods.ur_dmu.checkpoint import load_reference_checkpoint

    torch.manual_seed(4)
    small = UrDmuModel(UrDmuConfig(feature_dim=48, a_nums=20, n_nums=12))
    state = dict(small.state_dict())  # the reference's WSAD keys (test_reference_layout...)
    torch.save(state, tmp_path / "ucf_trans_2022.pkl")
    model = load_reference_checkpoint(tmp_path / "ucf_trans_2022.pkl")
    c = model.config
    assert (c.feature_dim, c.a_nums, c.n_nums, c.embed_dim) == (48, 20, 12, 512)
    assert not model.training
    x = torch.randn(1, 2, 9, 48)
    np.testing.assert_array_equal(model.score(x), small.score(x))
    bad = {
        "missing.pkl": {k: v for k, v in state.items() if k != "encoder_var.0.bias"},
        "extra.pkl": {**state, "triplet.weight": torch.zeros(1)},
        "shape.pkl": {**state, "cls_head.mlp.2.weight": torch.zeros(2, 128)},
        "other.pkl": {"fc1.weight": torch.zeros(3, 3)},
    }
    for name, match in [
        ("missing.pkl", "missing key 'encoder_var.0.bias'"),
        ("extra.pkl", "unexpected key 'triplet.weight'"),
        ("shape.pkl", r"'cls_head.mlp.2.weight' has shape \(2, 128\), expected \(1, 128\)"),
        ("other.pkl", "no tensor 'embedding.conv_1.0.weight'; not a UR-DMU"),
    ]:
        torch.save(bad[name], tmp_path / name)
        with pytest.raises(VadkitError, match=match) as e:
            load_reference_checkpoint(tmp_path / name)
        assert name in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "junk.pkl").write_bytes(b"not a checkpoint")
    with pytest.raises(VadkitError, match="cannot read checkpoint"):
        load_reference_checkpoint(tmp_path / "junk.pkl")
