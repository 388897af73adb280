"""S3R: shapes, gradients, losses and attention against their definitions, dictionary and
its cache, quality floor, save/load, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from train_helpers import burst_video as make_video  # tests/train_helpers.py

from vadkit.errors import VadkitError
from vadkit.methods.s3r import S3RConfig, S3RModel
from vadkit.methods.s3r.dictionary import build_dictionary, cached_dictionary
from vadkit.methods.s3r.model import DeNormal, EnNormal
from vadkit.sampling import pool_segments

D = 64
# Small widths for speed; dropout 0.3 (published 0.7) so that a few dozen steps are enough.
SMALL = dict(
    feature_dim=D,
    trunk_channels=16,
    nonlocal_channels=8,
    attention_dim=16,
    gate_hidden=8,
    hidden1=32,
    hidden2=16,
    dropout=0.3,
)


def small_model(n_atoms: int = 8, seed: int = 0) -> S3RModel:
    torch.manual_seed(seed)
    model = S3RModel(S3RConfig(n_atoms=n_atoms, **SMALL))
    atoms = np.random.default_rng(seed).standard_normal((n_atoms, D))
    return model.set_dictionary(atoms)


def test_published_defaults_and_config_dict():
    c = S3RConfig()
    assert (c.feature_dim, c.n_crops, c.topk, c.n_segments, c.n_atoms) == (2048, 10, 3, 32, 400)
    assert (c.margin, c.magnitude_weight, c.smooth_weight, c.sparsity_weight) == (
        100.0,
        1e-4,
        8e-4,
        8e-3,
    )
    assert (c.lr, c.weight_decay, c.batch_normal, c.dropout) == (1e-3, 5e-3, 32, 0.7)
    assert (c.dictionary_fraction, c.dictionary_nonzero_coefs, c.dictionary_steps) == (0.5, 2, 100)
    small = S3RConfig.from_dict(SMALL)
    assert S3RConfig.from_dict(small.to_dict()) == small
    with pytest.raises(VadkitError, match="unknown key.*atoms.*valid keys:.*n_atoms"):
        S3RConfig.from_dict({"atoms": 3})


def test_published_shapes_and_parameter_count():
    torch.manual_seed(0)
    model = S3RModel()
    n = sum(p.numel() for p in model.parameters())
    unused = 2 * (2048 * 2048 * 3 + 2048 + 2 * 2048)  # the reference's never-used projections
    assert round((n + unused) / 1e6, 2) == 81.44  # the released checkpoints' count
    model.set_dictionary(torch.randn(400, 2048))
    out = model(torch.randn(2, 10, 8, 2048))  # T = 8 keeps it fast; T = 32 in training
    assert out["snippet_scores"].shape == (2, 8)
    assert out["video_scores"].shape == out["macro_scores"].shape == (2,)
    assert out["topk_norms"].shape == (2, 10)
    assert out["memory_attention"].shape == (2, 10, 8, 400)
    assert model.score(torch.randn(1, 10, 5, 2048)).shape == (1, 5)


def test_en_normal_and_de_normal_match_their_definitions():
    torch.manual_seed(1)
    en, de = EnNormal(6, 4), DeNormal(6, 3)
    x, atoms = torch.randn(2, 5, 6), torch.randn(7, 6)
    out, attn = en(x, atoms)
    p = {k: v.double().numpy() for k, v in en.state_dict().items()}
    q = x.double().numpy() @ p["query.weight"].T + p["query.bias"]
    k = atoms.double().numpy() @ p["key.weight"].T + p["key.bias"]
    v = atoms.double().numpy() @ p["value.weight"].T + p["value.bias"]
    logits = q @ k.T
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)  # softmax over atoms, no scaling
    np.testing.assert_allclose(attn.detach().numpy(), a, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out.detach().numpy(), a @ v, rtol=1e-4, atol=1e-5)

    video, macro = torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    gv, gm = de(video, macro)
    p = {k: v.double().numpy() for k, v in de.state_dict().items()}
    diff = video.double().numpy().mean(1) - macro.double().numpy().mean(1)
    h = np.maximum(diff @ p["fc1.weight"].T + p["fc1.bias"], 0)
    g = 1 / (1 + np.exp(-(h @ p["fc2.weight"].T + p["fc2.bias"])))
    np.testing.assert_allclose(gv.detach().numpy(), video.numpy() * g[:, None], rtol=1e-5)
    np.testing.assert_allclose(gm.detach().numpy(), macro.numpy() * (1 - g[:, None]), rtol=1e-5)


def test_loss_hand_worked():
    model = small_model()
    outputs = {
        "video_scores": torch.tensor([0.2, 0.4, 0.7, 0.9]),
        "topk_norms": torch.tensor([[1.0, 2.0], [3.0, 4.0], [98.0, 101.0], [100.0, 50.0]]),
        "snippet_scores": torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.1, 0.5], [0.2, 0.2]]),
        "macro_scores": torch.tensor([0.1, 0.2, 0.3, 0.5]),
    }
    total, parts = model.loss(outputs, torch.tensor([0, 0, 1, 1]))
    bce = -(math.log(0.8) + math.log(0.6) + math.log(0.7) + math.log(0.9)) / 4
    macro = -(math.log(0.9) + math.log(0.8) + math.log(0.7) + math.log(0.5)) / 4  # target 0
    want = bce + 1e-4 * 735.75 + 8e-4 * 0.25 + 8e-3 * math.sqrt(0.34) + macro
    assert parts["macro"] == pytest.approx(macro, rel=1e-6)
    assert total.item() == pytest.approx(want, rel=1e-6)


def test_gradients_reach_every_parameter():
    model = small_model()
    with torch.no_grad():  # the zero-initialised output BNs would block the non-local blocks
        model.video_trunk.non_local.out_norm.weight.fill_(1.0)
        model.macro_trunk.non_local.out_norm.weight.fill_(1.0)
    out = model(torch.randn(4, 2, 32, D))
    total, _ = model.loss(out, torch.tensor([0, 0, 1, 1]))
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dictionary_size_sparsity_determinism():
    rng = np.random.default_rng(0)
    videos = [rng.standard_normal((int(rng.integers(5, 50)), 2, D)) for _ in range(10)]
    atoms, recipe = build_dictionary(videos, fraction=0.5, seed=42)
    assert atoms.shape == (5, D) and atoms.dtype == np.float32  # round(0.5 * 10)
    # OMP codes with 2 non-zeros per channel: each column has at most 2 non-zero atoms.
    assert ((atoms != 0).sum(axis=0) <= 2).all() and np.abs(atoms).sum() > 0
    assert (recipe["n_atoms"], recipe["n_videos"], recipe["seed"]) == (5, 10, 42)
    assert recipe["n_nonzero_coefs"] == 2 and recipe["transform_algorithm"] == "omp"
    np.testing.assert_array_equal(build_dictionary(videos, 0.5, 42)[0], atoms)
    assert build_dictionary(videos[:5], fraction=0.9, seed=1)[0].shape == (4, D)  # round(4.5)


@pytest.mark.parametrize(
    ("videos", "fraction", "match"),
    [
        ([], 0.5, "no normal videos"),
        ([np.zeros((4, D))], 0.5, r"must be \(T, crops, D\)"),
        ([np.zeros((4, 1, D)), np.zeros((4, 1, D + 1))], 0.5, "has D=65, the first has D=64"),
        ([np.zeros((4, 1, D))], 0.2, "gives 0 atoms"),
    ],
)
def test_dictionary_bad_input(videos, fraction, match):
    with pytest.raises(VadkitError, match=match):
        build_dictionary(videos, fraction=fraction)


def test_dictionary_cache(tmp_path):
    rng = np.random.default_rng(1)
    videos = [rng.standard_normal((20, 1, D)) for _ in range(6)]
    calls = []

    def features():
        calls.append(1)
        return videos

    atoms, recipe = cached_dictionary(tmp_path, "store-abc", features, fraction=0.5, seed=3)
    again, recipe2 = cached_dictionary(tmp_path, "store-abc", features, fraction=0.5, seed=3)
    assert len(calls) == 1 and recipe2 == recipe and recipe["fingerprint"] == "store-abc"
    np.testing.assert_array_equal(atoms, again)
    on_disk = json.loads((tmp_path / "dictionary-store-abc.json").read_text())
    assert on_disk["n_atoms"] == 3 and on_disk["build_kwargs"] == {"fraction": 0.5, "seed": 3}
    cached_dictionary(tmp_path, "store-abc", features, fraction=0.5, seed=4)  # other recipe
    assert len(calls) == 2
    with pytest.raises(VadkitError, match="fingerprint"):
        cached_dictionary(tmp_path, "../x", features)


def test_training_reaches_quality_floor_and_save_load(tmp_path):
    rng = np.random.default_rng(0)
    normal = [make_video(rng, False)[0] for _ in range(16)]
    abnormal = [make_video(rng, True)[0] for _ in range(16)]
    atoms, _ = build_dictionary(normal, fraction=0.5, seed=42)
    model = small_model(n_atoms=len(atoms)).set_dictionary(atoms)
    opt = model.make_optimizer()
    labels = torch.tensor([0.0] * 8 + [1.0] * 8)
    losses = []
    for step in range(30):
        pick = np.random.default_rng(step).choice(16, 8, replace=False)
        vids = [normal[i] for i in pick] + [abnormal[i] for i in pick]
        x = torch.from_numpy(np.stack([pool_segments(v).transpose(1, 0, 2) for v in vids]))
        total, _ = model.loss(model(x), labels)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(float(total.detach()))
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    test_rng = np.random.default_rng(100)
    scores, truth, videos = [], [], []
    for i in range(16):
        x, y = make_video(test_rng, abnormal=i % 2 == 1)
        videos.append(x)
        scores.append(model.score(x.transpose(1, 0, 2)[None])[0])
        truth.append(y)
    auc = roc_auc_score(np.concatenate(truth), np.concatenate(scores))
    assert auc >= 0.9, auc

    torch.save(model.state_dict(), tmp_path / "s3r.pt")
    loaded = S3RModel(model.config)
    loaded.load_state_dict(torch.load(tmp_path / "s3r.pt", weights_only=True))
    x = videos[1].transpose(1, 0, 2)[None]
    np.testing.assert_array_equal(loaded.score(x), model.score(x))
    np.testing.assert_array_equal(loaded.dictionary.numpy(), atoms)


def test_determinism():
    x = torch.randn(4, 2, 32, D)
    a, b = small_model(seed=3), small_model(seed=3)
    torch.manual_seed(9)
    out_a = a(x)
    torch.manual_seed(9)
    out_b = b(x)
    for key in ("snippet_scores", "video_scores", "macro_scores", "topk_indices"):
        assert torch.equal(out_a[key], out_b[key]), key


def test_bad_input():
    model = small_model()
    cases = [
        (torch.randn(2, 2, 32, D + 1), "feature dim is 65, the model expects D=64"),
        (torch.randn(2, 2, 2, D), "T=2 snippets is too short for top-k with k=3"),
        (torch.randn(2, 32, D), r"must be \(B, crops, T, D\)"),
    ]
    for x, match in cases:
        with pytest.raises(VadkitError, match=match) as e:
            model(x)
        assert "\n" not in str(e.value)
    out = model(torch.randn(4, 1, 32, D))
    with pytest.raises(VadkitError, match="n normal videos then n abnormal"):
        model.loss(out, torch.tensor([1, 0, 1, 0]))
    with pytest.raises(VadkitError, match="dictionary is not set"):
        S3RModel(S3RConfig(n_atoms=8, **SMALL))(torch.randn(2, 1, 32, D))
    with pytest.raises(VadkitError, match=r"shape \(5, 64\), the model expects \(8, 64\)"):
        model.set_dictionary(np.ones((5, D)))


def test_make_optimizer_is_adam_from_config():
    model = small_model()
    opt = model.make_optimizer()
    assert isinstance(opt, torch.optim.Adam)
    assert (opt.param_groups[0]["lr"], opt.param_groups[0]["weight_decay"]) == (1e-3, 5e-3)
    assert "dictionary" not in dict(model.named_parameters())  # a buffer, not trained


def test_prepare_builds_a_dictionary_sized_by_the_normal_videos():
    # 10 normal videos, fraction 0.5 -> round(0.5 * 10) = 5 atoms, whatever n_atoms was
    model = S3RModel(S3RConfig(n_atoms=3, **SMALL))
    normal = np.random.default_rng(0).standard_normal((10, 32, 2, D)).astype(np.float32)
    model.prepare(normal)
    assert model.config.n_atoms == 5 and tuple(model.dictionary.shape) == (5, D)
    assert bool(model.dictionary.any()) and model.dictionary_recipe_["n_atoms"] == 5
    out = model(torch.from_numpy(normal[:2].transpose(0, 2, 1, 3).copy()))  # (B, C, T, D)
    assert out["snippet_scores"].shape == (2, 32)


def test_too_few_normal_videos_for_the_dictionary_is_one_line():
    # 3 videos x 0.5 -> round(1.5) = 2 atoms >= 2 codes is fine; 2 videos x 0.5 -> 1 atom is not
    few = [
        np.random.default_rng(i).standard_normal((32, 1, D)).astype(np.float32) for i in range(2)
    ]
    from vadkit.methods.s3r.dictionary import build_dictionary

    with pytest.raises(VadkitError, match="1 atoms, fewer than the 2 non-zero OMP codes"):
        build_dictionary(few, fraction=0.5, n_steps=2)
