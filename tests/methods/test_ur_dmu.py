"""UR-DMU: defaults, layers against their definitions, losses by hand, quality floor, save/load,
determinism, errors, and one ``vadkit train`` run with the shipped config."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import burst_snippet_auc, make_stores, train_on_bursts

from vadkit.errors import VadkitError
from vadkit.methods.ur_dmu import UrDmuConfig, UrDmuModel
from vadkit.methods.ur_dmu.layers import DualAttention, MemoryUnit, distance_attention

ROOT = Path(__file__).resolve().parents[2]
D = 64
# Small widths for speed; lr 1e-3 (published 1e-4) and dropout 0.1 (0.5) so that 40 steps do.
SMALL = UrDmuConfig(
    feature_dim=D,
    embed_dim=32,
    heads=2,
    dim_head=16,
    mlp_dim=32,
    head_hidden=16,
    a_nums=16,
    n_nums=16,
    dropout=0.1,
    lr=1e-3,
    n_segments=32,
)


def test_published_defaults():
    c = UrDmuConfig()
    assert (c.feature_dim, c.n_crops, c.n_segments, c.train_crops) == (1024, 10, 200, "random")
    assert (c.embed_dim, c.depth, c.heads, c.dim_head, c.mlp_dim, c.dropout) == (
        512,
        2,
        4,
        128,
        512,
        0.5,
    )
    assert (c.a_nums, c.n_nums, c.head_hidden) == (60, 60, 128)
    assert (c.triplet_margin, c.distance_margin) == (1.0, 100.0)
    assert (c.memory_weight, c.triplet_weight, c.kl_weight, c.distance_weight) == (
        0.1,
        0.1,
        0.001,
        0.0001,
    )
    assert (c.lr, c.betas, c.weight_decay) == (1e-4, (0.9, 0.999), 5e-5)
    assert (c.batch_normal, c.batch_abnormal, c.iterations, c.seed) == (64, 64, 3000, 2022)


def test_config_dict_round_trip_and_errors():
    assert UrDmuConfig.from_dict(SMALL.to_dict()) == SMALL
    with pytest.raises(VadkitError, match="unknown key.*memory_size.*valid keys:.*a_nums") as e:
        UrDmuConfig.from_dict({"memory_size": 1})
    assert "\n" not in str(e.value)
    for bad, match in [
        ({"a_nums": 0}, "a_nums must be an integer >= 1"),
        ({"train_crops": "first"}, "train_crops must be one of random, all"),
        ({"batch_abnormal": 32}, "must be equal"),
        ({"optimizer": "sgd"}, "optimizer must be 'adam'"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ]:
        with pytest.raises(VadkitError, match=match):
            UrDmuConfig.from_dict(bad)


def test_distance_attention_by_hand():
    e = math.exp(-1 / math.e)
    e2 = math.exp(-2 / math.e)
    a = np.array([[1, e, e2], [e, 1, e], [e2, e, 1]])
    want = a / a.sum(axis=0, keepdims=True)  # columns sum to one (reference: a / a.sum(-1))
    np.testing.assert_allclose(distance_attention(3).numpy(), want, rtol=1e-6)


def test_dual_attention_matches_its_definition():
    torch.manual_seed(1)
    att = DualAttention(dim=6, heads=2, dim_head=3, dropout=0.0).eval()
    x = torch.randn(2, 5, 6)
    got = att(x).detach().numpy()
    w_qkv = att.to_qkv.weight.detach().numpy()  # (24, 6)
    w_out, b_out = (p.detach().numpy() for p in att.to_out[0].parameters())
    dist = distance_attention(5).numpy()
    for n in range(2):
        q, k, v, g = np.split(x[n].numpy() @ w_qkv.T, 4, axis=1)  # (5, 6) each = 2 heads x 3
        heads = []
        for h in range(2):
            sl = slice(3 * h, 3 * h + 3)
            s = q[:, sl] @ k[:, sl].T / math.sqrt(3)
            p = np.exp(s - s.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            heads.append(np.concatenate([p @ v[:, sl], dist @ g[:, sl]], axis=1))
        want = np.concatenate(heads, axis=1) @ w_out.T + b_out
        np.testing.assert_allclose(got[n], want, rtol=1e-5, atol=1e-6)


def test_memory_unit_by_hand():
    mem = MemoryUnit(nums=2, dim=4)
    with torch.no_grad():
        mem.memory_block.copy_(torch.tensor([[2.0, 0, 0, 0], [0, 0, 0, 4.0]]))
    x = torch.tensor([[[1.0, 0, 0, 1.0]]])  # one snippet
    with torch.no_grad():
        response, read = mem(x)
    s1, s2 = 1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(-2.0))  # sigmoid(x.m / sqrt(4))
    assert response.item() == pytest.approx(s2)  # top 2 // 16 + 1 = 1 item
    np.testing.assert_allclose(read[0, 0].numpy(), [2 * s1, 0, 0, 4 * s2], rtol=1e-6)


def test_loss_by_hand():
    model = UrDmuModel(SMALL)
    outputs = {  # n = 2 videos per class, T = 2 snippets, so k = 2 // 16 + 1 = 1
        "snippet_scores": torch.tensor([[0.1, 0.2], [0.3, 0.1], [0.6, 0.9], [0.5, 0.4]]),
        "video_scores": torch.tensor([0.2, 0.3, 0.9, 0.5]),
        "A_att": torch.tensor([[0.7, 0.2], [0.4, 0.8]]),
        "N_Aatt": torch.tensor([[0.9, 0.6], [0.3, 0.5]]),
        "N_att": torch.tensor([[0.9, 0.8], [0.7, 0.6]]),
        "A_Natt": torch.tensor([[0.1, 0.2], [0.3, 0.4]]),
        "triplet": torch.tensor(0.5),
        "kl": torch.tensor(3.0),
        "distance": torch.tensor(100.0),
    }
    total, parts = model.loss(outputs, torch.tensor([0, 0, 1, 1]))
    ln = math.log
    bce = -(ln(0.8) + ln(0.7) + ln(0.9) + ln(0.5)) / 4
    a = -(ln(0.7) + ln(0.8)) / 2  # top-1 of each abnormal video's abnormal-memory response
    n_a = -(ln(0.4) + ln(0.7)) / 2  # top-1 of 1 - normal-memory response: 0.4, 0.7
    n = -(ln(0.9) + ln(0.8) + ln(0.7) + ln(0.6)) / 4
    a_n = -(ln(0.9) + ln(0.8) + ln(0.7) + ln(0.6)) / 4
    want = bce + 0.1 * (a + n_a + n + a_n) + 0.1 * 0.5 + 0.001 * 3.0 + 0.0001 * 100.0
    for key, value in (("bce", bce), ("A", a), ("N_A", n_a), ("N", n), ("A_N", a_n)):
        assert parts[key] == pytest.approx(value, rel=1e-6), key
    assert total.item() == pytest.approx(want, rel=1e-6)
    assert parts["total"] == pytest.approx(want, rel=1e-6)


def test_kl_and_distance_at_a_known_point():
    """mu = 0, log var = 0: KL 0. log var = -60 (std ~ 1e-13): read-outs ~ 0, distance = 100,
    KL = -0.5 * sum over T = 32 snippets of (1 - 60) = 944 (the reference sums over time)."""
    model = UrDmuModel(SMALL).train()
    with torch.no_grad():
        for enc in (model.encoder_mu[0], model.encoder_var[0]):
            enc.weight.zero_()
            enc.bias.zero_()
    x = torch.randn(4, 1, 32, D)
    assert model(x)["kl"].item() == 0.0
    with torch.no_grad():
        model.encoder_var[0].bias.fill_(-60.0)
    out = model(x)
    assert out["distance"].item() == pytest.approx(100.0)
    assert out["kl"].item() == pytest.approx(0.5 * 59 * 32)


def test_gradients_reach_every_parameter():
    torch.manual_seed(3)
    model = UrDmuModel(SMALL)
    out = model(torch.randn(4, 2, 32, D))
    total, _ = model.loss(out, torch.tensor([0, 0, 1, 1]))
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_random_training_crop_is_one_crop_per_video():
    x = torch.randn(4, 3, 32, D)
    model = UrDmuModel(SMALL).train()
    one = UrDmuModel(SMALL).train()  # train_crops is "random" too: C = 1 draws nothing
    one.load_state_dict(model.state_dict())
    torch.manual_seed(9)
    got = model(x)["snippet_scores"]
    torch.manual_seed(9)
    pick = torch.randint(3, (4,))  # the draw forward makes first
    want = one(x[torch.arange(4), pick][:, None])["snippet_scores"]
    torch.testing.assert_close(got, want)


def train_small(seed: int, steps: int = 40) -> tuple[UrDmuModel, list[float]]:
    torch.manual_seed(seed)
    model = UrDmuModel(SMALL)
    return model, train_on_bursts(model, seed, steps)


@pytest.fixture(scope="module")
def trained() -> tuple[UrDmuModel, list[float]]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_small(0)
    finally:
        torch.set_num_threads(n)


def test_training_reaches_quality_floor(trained):
    model, losses = trained
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    auc = burst_snippet_auc(model)
    assert auc >= 0.9, auc


def test_save_load_and_determinism(tmp_path):
    a, la = train_small(5, steps=3)
    b, lb = train_small(5, steps=3)
    assert la == lb
    x = np.random.default_rng(7).standard_normal((1, 2, 50, D)).astype(np.float32)
    np.testing.assert_array_equal(a.score(x), b.score(x))
    torch.save(a.state_dict(), tmp_path / "m.pt")
    c = UrDmuModel(SMALL)
    c.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    np.testing.assert_array_equal(a.score(x), c.score(x))
    assert a.training  # score restores the mode it found
    # score averages crops run one by one: the same as the eval forward on all crops
    a.eval()
    np.testing.assert_allclose(
        a.score(x), a(torch.from_numpy(x))["snippet_scores"].detach(), atol=1e-6
    )


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.randn(2, 2, 32, D + 1), "feature dim is 65, the model expects D=64"),
        (torch.randn(2, 32, D), r"must be \(B, crops, T, D\)"),
        (torch.randn(3, 2, 32, D), "n normal then n abnormal videos, got B=3"),
        (torch.full((2, 2, 32, D), float("nan")), "NaN"),
    ],
)
def test_bad_input(x, match):
    with pytest.raises(VadkitError, match=match) as e:
        UrDmuModel(SMALL).train()(x)
    assert "\n" not in str(e.value)


def test_bad_batch_order_eval_outputs_and_short_videos():
    model = UrDmuModel(SMALL).train()
    out = model(torch.randn(4, 1, 32, D))
    for labels in ([1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1]):
        with pytest.raises(VadkitError, match="n normal videos then n abnormal") as e:
            model.loss(out, torch.tensor(labels))
        assert "\n" not in str(e.value)
    model.eval()
    with pytest.raises(VadkitError, match="lack triplet.*training mode"):
        model.loss(model(torch.randn(4, 1, 32, D)), torch.tensor([0, 0, 1, 1]))
    # nothing is too short: top-k is T // 16 + 1 <= T, the memories read every snippet
    assert model.score(np.zeros((1, 1, 1, D), np.float32)).shape == (1, 1)
    model.train()
    assert model(torch.randn(2, 1, 1, D))["snippet_scores"].shape == (2, 1)
    with pytest.raises(VadkitError, match="empty input"):
        model.score(np.zeros((1, 1, 0, D), np.float32))


def test_make_optimizer_is_adam_from_config():
    model = UrDmuModel(SMALL)
    group = model.make_optimizer().param_groups[0]
    assert (group["lr"], group["betas"], group["weight_decay"]) == (1e-3, (0.9, 0.999), 5e-5)
    assert sum(p.numel() for p in group["params"]) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "crops", "dim", "segments", "batch"),
    [
        ("ucf_crime", 10, 1024, 200, 64),
        ("xd_violence", 5, 1024, 200, 64),
        ("shanghaitech", 10, 2048, 32, 32),
    ],
)
def test_shipped_configs_give_the_reference_schedule(name, crops, dim, segments, batch):
    """The trainer pools to the reference's 200 snippets (ucf_main.py / xd_main.py)."""
    from vadkit.methods.registry import get_method
    from vadkit.train.config import TrainConfig, build_method_config, dataclass_from_dict, load_yaml
    from vadkit.train.schedule import resolve_schedule

    path = ROOT / "configs" / "ur_dmu" / f"{name}.yaml"
    cfg = load_yaml(path)
    built = build_method_config(get_method("ur_dmu"), cfg["model"], str(path))
    assert (built.n_crops, built.feature_dim) == (crops, dim)
    train = dataclass_from_dict(TrainConfig, cfg["train"], str(path))
    sched = resolve_schedule(train, built, n_normal=800)
    assert (sched.n_segments, sched.batch_per_class, sched.total_steps) == (segments, batch, 3000)
    assert sched.seed == 2022


def test_vadkit_train_cli_with_the_shipped_config(tmp_path, capsys):
    """``vadkit train --config configs/ur_dmu/ucf_crime.yaml``, the schedule made tiny."""
    from vadkit.cli.main import main
    from vadkit.train import read_config, read_metrics

    stores = make_stores(tmp_path / "gen", n_train=16, n_test=6)
    small = {
        "feature_dim": 16,
        "n_crops": 2,
        "embed_dim": 16,
        "heads": 2,
        "dim_head": 8,
        "mlp_dim": 16,
        "head_hidden": 8,
        "a_nums": 8,
        "n_nums": 8,
        "n_segments": 32,
        "batch_normal": 4,
        "batch_abnormal": 4,
        "lr": 1e-3,
    }
    sets = [f"model.{k}={v}" for k, v in small.items()]
    sets += ["train.iterations=20", "train.val_every=10", "dataset=csv"]
    out = tmp_path / "run"
    argv = ["train", "--config", str(ROOT / "configs" / "ur_dmu" / "ucf_crime.yaml")]
    argv += ["--train", str(stores["train"]), "--test", str(stores["test"])]
    argv += ["--annotations", str(stores["gt"]), "-o", str(out)]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0, capsys.readouterr().err
    cfg = read_config(out)
    assert cfg["method"] == "ur_dmu" and cfg["model"]["train_crops"] == "random"
    assert cfg["model"]["weight_decay"] == 5e-5 and cfg["model"]["seed"] == 2022
    metrics = read_metrics(out)
    assert metrics["steps_run"] == 20
    assert 0.0 <= metrics["test"]["frame_auc"] <= 1.0
    assert (out / "scores.npz").is_file() and (out / "checkpoint.pt").is_file()
