"""``mil`` (Sultani et al. 2018): shapes, gradients, the official loss on hand-worked cases,
a quality floor on generated bags, save/load, determinism and bad input."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.methods.mil import MILConfig, MILModel

D = 64  # small feature dimension for speed; one test uses the published 4096


def make_bags(n_normal: int, n_abnormal: int, seed: int, t: int = 32, dim: int = D, crops: int = 1):
    """Generated bags: normal ~ N(0, 1); abnormal videos get a contiguous burst of 3-10
    segments shifted by +1.5 on the first 8 dimensions.

    Returns x ``(N, crops, t, dim)`` float32 (normal first), video labels ``(N,)`` and
    segment labels ``(N, t)``.
    """
    rng = np.random.default_rng(seed)
    n = n_normal + n_abnormal
    x = rng.normal(size=(n, crops, t, dim)).astype(np.float32)
    seg = np.zeros((n, t), dtype=np.int64)
    for i in range(n_normal, n):
        length = int(rng.integers(3, 11))
        start = int(rng.integers(0, t - length + 1))
        seg[i, start : start + length] = 1
        x[i, :, start : start + length, :8] += 1.5
    video = np.r_[np.zeros(n_normal), np.ones(n_abnormal)].astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(video), seg


def small_model(**changes) -> MILModel:
    torch.manual_seed(0)
    return MILModel(dataclasses.replace(MILConfig(feature_dim=D), **changes))


def test_published_defaults():
    cfg = MILConfig()
    # values read from TrainingAnomalyDetector_public.py / model.json (8aa957cd)
    assert (cfg.feature_dim, cfg.hidden1, cfg.hidden2, cfg.dropout) == (4096, 512, 32, 0.6)
    assert (cfg.lambda_sparsity, cfg.lambda_smooth, cfg.l2) == (8e-5, 8e-5, 1e-3)
    assert (cfg.optimizer, cfg.lr, cfg.eps, cfg.videos_per_class) == ("adagrad", 0.01, 1e-8, 30)
    assert (cfg.n_segments, cfg.iterations) == (32, 20000)


def test_shapes_at_published_dimension():
    torch.manual_seed(0)
    model = MILModel()
    out = model(torch.rand(2, 1, 32, 4096))
    assert out["snippet_scores"].shape == (2, 32)
    assert out["video_scores"].shape == (2,)
    assert ((out["snippet_scores"] >= 0) & (out["snippet_scores"] <= 1)).all()
    assert [tuple(p.shape) for p in model.parameters()] == [
        (512, 4096), (512,), (32, 512), (32,), (1, 32), (1,)
    ]  # fmt: skip


def test_crops_are_bags_and_scores_average_them():
    model = small_model().eval()
    x, _, _ = make_bags(1, 1, seed=1, crops=3)
    out = model(x)
    assert out["crop_scores"].shape == (2, 3, 32)
    torch.testing.assert_close(out["snippet_scores"], out["crop_scores"].mean(dim=1))
    torch.testing.assert_close(out["video_scores"], out["snippet_scores"].max(dim=1).values)
    alone = model(x[:, 1:2])["snippet_scores"]
    torch.testing.assert_close(alone, out["crop_scores"][:, 1])


def test_gradients_reach_every_parameter():
    model = small_model()
    x, y, _ = make_bags(2, 2, seed=2)
    loss, _ = model.loss(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_loss_hand_worked():
    # two normal bags with maxima 0.5, 0.3; two abnormal with maxima 0.9, 0.4 (4 segments)
    s = torch.tensor(
        [[0.2, 0.5, 0.1, 0.0], [0.3, 0.3, 0.3, 0.3], [0.9, 0.1, 0.1, 0.1], [0.4, 0.0, 0.0, 0.4]]
    )[:, None, :]
    model = small_model(l2=0.0, lambda_sparsity=0.5, lambda_smooth=0.25)
    total, parts = model.loss({"crop_scores": s}, torch.tensor([0, 0, 1, 1]))
    # ranking: normal 0.5 -> (1-0.9+0.5) + (1-0.4+0.5) = 1.7; normal 0.3 -> 0.4 + 0.9 = 1.3
    assert parts["ranking"] == pytest.approx(1.5)
    assert parts["sparsity"] == pytest.approx(1.2 + 0.8)
    # smoothness of the abnormal bags: 0.64 + 0 + 0 and 0.16 + 0 + 0.16
    assert parts["smoothness"] == pytest.approx(0.96)
    assert float(total.detach()) == pytest.approx(1.5 + 0.5 * 2.0 + 0.25 * 0.96)


def test_l2_is_the_keras_kernel_penalty():
    model = small_model()
    x, y, _ = make_bags(1, 1, seed=3)
    _, parts = model.loss(model(x), y)
    sd = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    expected = sum((sd[f"fc{i}.weight"] ** 2).sum() for i in (1, 2, 3))  # kernels only
    assert parts["l2"] == pytest.approx(expected, rel=1e-5)


def test_quality_floor_on_generated_bags():
    model = small_model()
    opt = model.make_optimizer()
    x, y, _ = make_bags(40, 40, seed=10)
    normal, abnormal = x[:40], x[40:]
    g = torch.Generator().manual_seed(0)
    first = last = None
    for step in range(40):
        i = torch.randint(40, (10,), generator=g)
        j = torch.randint(40, (10,), generator=g)
        batch = torch.cat([normal[i], abnormal[j]])
        labels = torch.cat([torch.zeros(10), torch.ones(10)])
        loss, _ = model.loss(model(batch), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(loss.detach()) if step == 0 else first
        last = float(loss.detach())
    assert last < first
    xt, _, seg_t = make_bags(20, 20, seed=11)
    scores = model.score(xt)
    assert roc_auc_score(seg_t.ravel(), scores.ravel()) >= 0.9


def test_save_load_gives_identical_scores():
    model = small_model()
    x, _, _ = make_bags(2, 2, seed=4)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(123)  # a different init, then overwritten
    other = MILModel(model.config)
    other.load_state_dict(torch.load(buf))
    np.testing.assert_array_equal(model.score(x), other.score(x))


def test_determinism_with_a_seed():
    x, y, _ = make_bags(2, 2, seed=5)

    def run() -> tuple[np.ndarray, float]:
        torch.manual_seed(42)
        model = MILModel(MILConfig(feature_dim=D))
        loss, _ = model.loss(model(x), y)  # train mode: dropout draws from the seed too
        return model.score(x), float(loss.detach())

    (s1, l1), (s2, l2) = run(), run()
    np.testing.assert_array_equal(s1, s2)
    assert l1 == l2


def test_score_pools_native_length_and_maps_back():
    model = small_model()
    x = torch.randn(1, 1, 64, D)
    scores = model.score(x)
    assert scores.shape == (1, 64)
    # written-down rule: 64 snippets -> segment j is the mean of snippets 2j and 2j+1
    model.eval()
    pooled = x.reshape(1, 1, 32, 2, D).mean(dim=3)
    with torch.no_grad():
        seg = model(pooled)["snippet_scores"][0].numpy()
    np.testing.assert_allclose(scores[0], np.repeat(seg, 2), rtol=1e-6)
    assert model.training is False
    model.train()
    model.score(x)
    assert model.training is True  # score restores the mode it found


def test_short_video_warns_and_keeps_its_length():
    model = small_model()
    with pytest.warns(UserWarning, match="shorter than 32"):
        scores = model.score(torch.randn(1, 1, 5, D).numpy())
    assert scores.shape == (1, 5)


def test_optimizer_is_the_official_adagrad():
    opt = small_model().make_optimizer()
    assert isinstance(opt, torch.optim.Adagrad)
    group = opt.param_groups[0]
    assert (group["lr"], group["eps"], group["weight_decay"]) == (0.01, 1e-8, 0.0)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.randn(2, 1, 32, D + 1), "feature dimension 65"),
        (torch.randn(2, 1, 0, D), "too short"),
        (torch.randn(32, D), r"\(B, crops, T, D\)"),
        (torch.full((1, 1, 32, D), float("nan")), "NaN"),
    ],
)
def test_bad_features(x, match):
    with pytest.raises(VadkitError, match=match) as info:
        small_model().score(x)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "labels", [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1], [0, 1, 1], ["a", "b", "c", "d"]]
)
def test_bad_batch_order(labels):
    model = small_model()
    x, _, _ = make_bags(2, 2, seed=6)
    x = x[: len(labels)] if len(labels) < 4 else x
    with pytest.raises(VadkitError, match="labels") as info:
        model.loss(model(x), labels)
    assert "\n" not in str(info.value)


def test_config_from_dict():
    cfg = MILConfig.from_dict({"feature_dim": 1024, "lr": 0.001})
    assert (cfg.feature_dim, cfg.lr, cfg.hidden1) == (1024, 0.001, 512)
    with pytest.raises(VadkitError, match="unknown key.*lrr.*valid keys: feature_dim"):
        MILConfig.from_dict({"lrr": 1})
    with pytest.raises(VadkitError, match="dropout"):
        MILConfig(dropout=1.5)


def _keras_mat(model: MILModel) -> dict[str, np.ndarray]:
    """Variables as the official ``save_model`` writes them: one object array per layer."""
    out: dict[str, np.ndarray] = {}
    for i, layer in enumerate([model.fc1, None, model.fc2, None, model.fc3]):
        cell = np.zeros(0 if layer is None else 2, dtype=object)
        if layer is not None:
            cell[:] = [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
        out[str(i)] = cell
    return out


def test_official_keras_weights_load_and_score_like_keras(tmp_path):
    from scipy.io import savemat

    from vadkit.methods.mil.checkpoint import load_sultani_weights

    source = small_model()
    path = tmp_path / "weights_L1L2.mat"
    savemat(path, _keras_mat(source))
    model = MILModel(source.config)
    model.load_state_dict(load_sultani_weights(path), strict=True)
    x = torch.randn(1, 1, 32, D)
    # Keras Dense in numpy: relu(x W1 + b1) W2 + b2, then sigmoid(. W3 + b3); no dropout at test
    mat = {k: v for k, v in _keras_mat(source).items() if v.size}
    h = np.maximum(x[0, 0].numpy() @ mat["0"][0] + mat["0"][1], 0)
    h = h @ mat["2"][0] + mat["2"][1]
    expected = 1 / (1 + np.exp(-(h @ mat["4"][0] + mat["4"][1])))
    np.testing.assert_allclose(model.score(x)[0], expected[:, 0], rtol=1e-5, atol=1e-6)


def test_bad_keras_weights(tmp_path):
    from scipy.io import savemat

    from vadkit.methods.mil.checkpoint import load_sultani_weights

    mat = _keras_mat(small_model())
    del mat["2"]
    savemat(tmp_path / "w.mat", mat)
    with pytest.raises(VadkitError, match=r"w\.mat: layer '2' \(fc2\) is missing"):
        load_sultani_weights(tmp_path / "w.mat")
    with pytest.raises(VadkitError, match="cannot read Sultani weights"):
        load_sultani_weights(tmp_path / "missing.mat")


def test_segment_of_snippet_hand_worked():
    from vadkit.methods.mil.common import segment_of_snippet

    # T=3, 4 segments: int(linspace(0, 3, 5)) = 0 0 1 2 3; segment 0 is empty and borrows
    # snippet 0, which belongs to segment 1
    assert segment_of_snippet(3, 4).tolist() == [1, 2, 3]
    assert segment_of_snippet(64, 32).tolist() == np.repeat(np.arange(32), 2).tolist()
    assert segment_of_snippet(32, 32).tolist() == list(range(32))


def test_l2_normalize_makes_scores_independent_of_feature_scale():
    # the reference's C3D segments have norm 1 (Save_C3DFeatures_32Segments); a raw store
    # (e.g. EfficientNet-Lite0, norms ~18) saturated the sigmoid at Adagrad lr 0.01. With
    # l2_normalize each segment x / |x| is scored: 25 * x scores exactly as x does.
    x, _, _ = make_bags(1, 1, seed=3)
    model = small_model(l2_normalize=True).eval()
    np.testing.assert_allclose(model.score(25.0 * x), model.score(x), rtol=1e-5, atol=1e-6)
    unit = x / x.norm(dim=-1, keepdim=True)
    plain = small_model().eval()  # same seed -> same weights
    np.testing.assert_allclose(model.score(x), plain.score(unit), rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain.score(25.0 * x), plain.score(x))


def test_port_objective_hand_worked():
    # the same bags as test_loss_hand_worked with the PyTorch port's pairing and means
    s = torch.tensor(
        [[0.2, 0.5, 0.1, 0.0], [0.3, 0.3, 0.3, 0.3], [0.9, 0.1, 0.1, 0.1], [0.4, 0.0, 0.0, 0.4]]
    )[:, None, :]
    model = small_model(
        l2=0.0,
        lambda_sparsity=0.5,
        lambda_smooth=0.25,
        ranking_pairs="matched",
        bag_reduction="mean",
    )
    total, parts = model.loss({"crop_scores": s}, torch.tensor([0, 0, 1, 1]))
    # normal 0.5 vs abnormal 0.9 -> 0.6; normal 0.3 vs abnormal 0.4 -> 0.9
    assert parts["ranking"] == pytest.approx(0.75)
    assert parts["sparsity"] == pytest.approx((1.2 + 0.8) / 2)
    assert parts["smoothness"] == pytest.approx((0.64 + 0.32) / 2)
    assert float(total.detach()) == pytest.approx(0.75 + 0.5 * 1.0 + 0.25 * 0.48)


def test_layer_norms_penalty_and_port_init():
    model = small_model(l2_form="layer_norms", init="glorot_normal_torch_bias")
    sd = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    assert all(np.abs(sd[f"fc{i}.bias"]).sum() > 0 for i in (1, 2, 3))  # torch's biases kept
    expected = sum(
        np.sqrt((sd[f"fc{i}.weight"] ** 2).sum() + (sd[f"fc{i}.bias"] ** 2).sum())
        for i in (1, 2, 3)
    )
    assert float(model.l2_penalty().detach()) == pytest.approx(expected, rel=1e-6)
    opt = small_model(optimizer="adadelta").make_optimizer()
    group = opt.param_groups[0]
    assert isinstance(opt, torch.optim.Adadelta)
    assert (group["lr"], group["eps"], group["rho"]) == (0.01, 1e-8, 0.9)


@pytest.mark.parametrize("name", ["ranking_pairs", "bag_reduction", "l2_form", "init"])
def test_bad_port_option_is_one_line(name):
    with pytest.raises(VadkitError, match=f"MILConfig: {name} must be one of") as info:
        MILConfig(**{name: "nope"})
    assert "\n" not in str(info.value)
