"""RTFM: shapes, gradients, losses against hand-worked values, quality floor, save/load, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from train_helpers import burst_snippet_auc, train_on_bursts  # tests/train_helpers.py

from vadkit.errors import VadkitError
from vadkit.methods.rtfm import RTFMConfig, RTFMModel
from vadkit.methods.rtfm.layers import NonLocal1d, temporal_convs
from vadkit.methods.rtfm.losses import magnitude_loss, smoothness, sparsity, topk_by_magnitude

D = 64
# Small widths for speed; dropout 0.3 (published 0.7) so that 30 steps are enough.
SMALL = RTFMConfig(
    feature_dim=D, conv_channels=16, nonlocal_channels=8, hidden1=32, hidden2=16, dropout=0.3
)


def test_published_defaults():
    c = RTFMConfig()
    assert (c.feature_dim, c.n_crops, c.topk, c.n_segments) == (2048, 10, 3, 32)
    assert (c.margin, c.magnitude_weight, c.smooth_weight, c.sparsity_weight) == (
        100.0,
        1e-4,
        8e-4,
        8e-3,
    )
    assert (c.lr, c.weight_decay, c.batch_normal, c.batch_abnormal) == (1e-3, 5e-3, 32, 32)
    assert (c.conv_channels, c.nonlocal_channels, c.hidden1, c.hidden2) == (512, 256, 512, 128)
    assert c.dilations == (1, 2, 4) and c.dropout == 0.7


def test_config_dict_round_trip_and_unknown_key():
    assert RTFMConfig.from_dict(SMALL.to_dict()) == SMALL
    with pytest.raises(VadkitError, match="unknown key.*lrate.*valid keys:.*margin") as e:
        RTFMConfig.from_dict({"lrate": 1})
    assert "\n" not in str(e.value)
    with pytest.raises(VadkitError):
        RTFMConfig.from_dict({"topk": 0})
    with pytest.raises(VadkitError, match="conv_channels x 4 must equal feature_dim: 512 x 4"):
        RTFMConfig.from_dict({"feature_dim": 4096})


def test_published_shapes_and_parameter_count():
    torch.manual_seed(0)
    model = RTFMModel()
    # 24.72 M parameters: the count given for the released checkpoints.
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == 24.72
    out = model(torch.randn(2, 10, 8, 2048))  # T = 8 keeps it fast; T = 32 in training
    assert out["snippet_scores"].shape == (2, 8)
    assert out["video_scores"].shape == (2,)
    assert out["feature_magnitudes"].shape == (2, 8)
    assert out["topk_indices"].shape == (2, 3)
    assert out["topk_norms"].shape == (2, 10)
    assert model.score(torch.randn(1, 10, 7, 2048)).shape == (1, 7)


def test_video_score_is_mean_of_top3_by_magnitude():
    torch.manual_seed(1)
    model = RTFMModel(SMALL).eval()
    out = model(torch.randn(3, 2, 20, D))
    mags = out["feature_magnitudes"].detach().numpy()
    scores = out["snippet_scores"].detach().numpy()
    for b in range(3):
        top = np.argsort(-mags[b])[:3]
        assert out["video_scores"][b].item() == pytest.approx(scores[b, top].mean(), abs=1e-6)
    assert np.all((scores >= 0) & (scores <= 1))


def test_losses_hand_worked():
    norms = torch.tensor([[1.0, 2.0], [3.0, 4.0], [98.0, 101.0], [100.0, 50.0]])
    # |100 - a| + m = [[3, 3], [3, 54]] -> mean of squares (9 + 9 + 9 + 2916) / 4
    assert magnitude_loss(norms, 2, 100.0).item() == pytest.approx(735.75)
    s = torch.tensor([[0.1, 0.5], [0.2, 0.2]])
    assert smoothness(s).item() == pytest.approx(0.4**2 + 0.3**2)
    assert sparsity(s).item() == pytest.approx(math.sqrt(0.01 + 0.25 + 0.04 + 0.04))

    model = RTFMModel(SMALL)
    outputs = {
        "video_scores": torch.tensor([0.2, 0.4, 0.7, 0.9]),
        "topk_norms": norms,
        "snippet_scores": torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.1, 0.5], [0.2, 0.2]]),
    }
    total, parts = model.loss(outputs, torch.tensor([0, 0, 1, 1]))
    bce = -(math.log(0.8) + math.log(0.6) + math.log(0.7) + math.log(0.9)) / 4
    want = bce + 1e-4 * 735.75 + 8e-4 * 0.25 + 8e-3 * math.sqrt(0.34)
    assert parts["bce"] == pytest.approx(bce, rel=1e-6)
    assert total.item() == pytest.approx(want, rel=1e-6)
    assert parts["total"] == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("t", [1, 2, 3, 5, 9])
def test_time_major_convolutions_match_torch_conv1d_values_and_gradients(t):
    # torch's own Conv1d (with its "same" padding) is the independent source; T below the
    # dilation (t = 1..3 against dilation 4) leaves only the centre tap
    torch.manual_seed(3)
    convs = [torch.nn.Conv1d(6, 4, 3, padding=d, dilation=d) for d in (1, 2, 4)]
    convs.append(torch.nn.Conv1d(6, 5, 1, bias=False))
    x = torch.randn(3, t, 6, requires_grad=True)
    ours = temporal_convs(x, convs)
    theirs = [c(x.transpose(1, 2)).transpose(1, 2) for c in convs]
    weights = [torch.randn_like(y) for y in theirs]  # a loss that weighs every output
    grads = []
    for outs in (ours, theirs):
        loss = sum((w * y).sum() for w, y in zip(weights, outs, strict=True))
        grads.append(torch.autograd.grad(loss, [x, *(p for c in convs for p in c.parameters())]))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_non_local_block_matches_its_definition():
    torch.manual_seed(2)
    block = NonLocal1d(6, 3).eval()
    with torch.no_grad():
        block.out_norm.weight.uniform_(0.5, 1.5)
        block.out_norm.running_mean.uniform_(-1, 1)
    x = torch.randn(2, 6, 5)
    got = block(x).detach().numpy()
    time_major = block.forward_ntc(x.transpose(1, 2)).transpose(1, 2).detach().numpy()
    p = {k: v.numpy().squeeze() for k, v in block.state_dict().items()}
    xn = x.numpy()
    for i in range(2):
        th = p["query.weight"] @ xn[i] + p["query.bias"][:, None]  # (3, T)
        ph = p["key.weight"] @ xn[i] + p["key.bias"][:, None]
        g = p["value.weight"] @ xn[i] + p["value.bias"][:, None]
        y = (th.T @ ph / 5) @ g.T  # (T, 3): affinity / T, no softmax
        w = p["out_conv.weight"] @ y.T + p["out_conv.bias"][:, None]
        bn = (w - p["out_norm.running_mean"][:, None]) / np.sqrt(
            p["out_norm.running_var"][:, None] + 1e-5
        ) * p["out_norm.weight"][:, None] + p["out_norm.bias"][:, None]
        np.testing.assert_allclose(got[i], xn[i] + bn, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(time_major[i], xn[i] + bn, rtol=1e-4, atol=1e-5)


def test_gradients_reach_every_parameter():
    torch.manual_seed(3)
    model = RTFMModel(SMALL)
    with torch.no_grad():  # the zero-initialised output BN would block the non-local block
        model.trunk.non_local.out_norm.weight.fill_(1.0)
    out = model(torch.randn(4, 2, 32, D))
    total, _ = model.loss(out, torch.tensor([0, 0, 1, 1]))
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def train_small(seed: int, steps: int = 30) -> tuple[RTFMModel, list[float]]:
    torch.manual_seed(seed)
    model = RTFMModel(SMALL)
    return model, train_on_bursts(model, seed, steps)


def test_training_reaches_quality_floor():
    model, losses = train_small(0)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    auc = burst_snippet_auc(model)
    assert auc >= 0.9, auc


def test_save_load_and_determinism(tmp_path):
    a, _ = train_small(5, steps=3)
    b, _ = train_small(5, steps=3)
    x = np.random.default_rng(7).standard_normal((1, 2, 50, D)).astype(np.float32)
    np.testing.assert_array_equal(a.score(x), b.score(x))
    torch.save(a.state_dict(), tmp_path / "m.pt")
    c = RTFMModel(SMALL)
    c.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    np.testing.assert_array_equal(a.score(x), c.score(x))
    assert a.training  # score restores the mode it found


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.randn(2, 2, 32, D + 1), "feature dim is 65, the model expects D=64"),
        (torch.randn(2, 32, D), r"must be \(B, crops, T, D\)"),
        (torch.randn(2, 2, 2, D), "T=2 snippets is too short for top-k with k=3"),
        (torch.full((2, 2, 32, D), float("nan")), "NaN"),
    ],
)
def test_bad_input(x, match):
    with pytest.raises(VadkitError, match=match) as e:
        RTFMModel(SMALL)(x)
    assert "\n" not in str(e.value)


def test_bad_batch_order_and_short_score():
    model = RTFMModel(SMALL)
    out = model(torch.randn(4, 1, 32, D))
    for labels in ([1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1]):
        with pytest.raises(VadkitError, match="n normal videos then n abnormal") as e:
            model.loss(out, torch.tensor(labels))
        assert "\n" not in str(e.value)
    assert model.score(np.zeros((1, 1, 1, D), np.float32)).shape == (1, 1)
    with pytest.raises(VadkitError, match="empty input"):
        model.score(np.zeros((1, 1, 0, D), np.float32))


def test_make_optimizer_is_adam_from_config():
    model = RTFMModel(SMALL)
    opt = model.make_optimizer()
    assert isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (1e-3, 5e-3)
    assert sum(p.numel() for p in group["params"]) == sum(p.numel() for p in model.parameters())


def test_topk_competes_among_snippets_kept_by_dropout():
    mags = torch.arange(1.0, 33.0).repeat(4, 1)  # snippet t has magnitude t + 1
    drop = torch.nn.Dropout(0.7).eval()
    assert topk_by_magnitude(mags, 3, drop).tolist() == [[31, 30, 29]] * 4
    drop.train()
    torch.manual_seed(0)
    picked = topk_by_magnitude(mags, 3, drop)
    torch.manual_seed(0)
    kept = torch.nn.functional.dropout(torch.ones(4, 32), 0.7, training=True) > 0
    for b in range(4):  # the 3 largest among the snippets the same mask keeps
        want = sorted(torch.nonzero(kept[b]).flatten().tolist())[-3:][::-1]
        assert picked[b].tolist() == want


def test_fused_adam_gives_the_reference_update():
    # make_adam may use torch's fused kernel; the update must be the default Adam's
    # (reference main.py: Adam(lr=1e-3, weight_decay=5e-3)) up to float rounding
    torch.manual_seed(0)
    a, b = RTFMModel(SMALL), RTFMModel(SMALL)
    b.load_state_dict(a.state_dict())
    ref = torch.optim.Adam(b.parameters(), lr=1e-3, weight_decay=5e-3, foreach=False)
    opt = a.make_optimizer()
    for step in range(3):
        g = torch.Generator().manual_seed(step)
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            p.grad = torch.randn(p.shape, generator=g)
            q.grad = p.grad.clone()
        opt.step()
        ref.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
