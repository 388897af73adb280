"""AED-T: reference widths, shapes, gradients, hand-worked loss and merge, quality, save/load, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vadkit.errors import VadkitError
from vadkit.evaluate.classes import class_accuracy
from vadkit.evaluate.metrics import frame_auc
from vadkit.methods.aed_t import AedTConfig, AedTModel
from vadkit.methods.aed_t.config import grid_input_dim
from vadkit.methods.aed_t.score import merge_windows
from vadkit.methods.aed_t.windows import sample_window, window_starts

D, K = 32, 3
SMALL = AedTConfig(feature_dim=D, hidden_channels=8, fc_down=32, head_hidden=16, n_classes=K)


def model(cfg: AedTConfig = SMALL, seed: int = 0) -> AedTModel:
    torch.manual_seed(seed)
    return AedTModel(cfg)


# ---------------------------------------------------------------- reference layout
def test_reference_widths_for_combine_rgb_flow():
    """model.py: input_size = feature_size // 16, hidden 128, fc_down 2048 -> 1024, heads 512."""
    m = AedTModel(AedTConfig())  # combine, 2048-d: 128 x 4 x 4
    assert m.proj is None
    assert tuple(m.cells[0].gates.weight.shape) == (4 * 128, 128 + 128, 3, 3)
    assert tuple(m.cells[1].gates.weight.shape) == (4 * 128, 128 + 128, 3, 3)
    assert tuple(m.fc_down.weight.shape) == (1024, 2048)
    assert tuple(m.cls_head[0].weight.shape) == (512, 1024) and m.cls_head[0].bias is None
    assert tuple(m.cls_head[2].weight.shape) == (14, 512)
    assert tuple(m.reg_head[2].weight.shape) == (5 * 16, 512)
    rgb = AedTModel(AedTConfig(feature_dim=1024))  # rgb / flow: 64 x 4 x 4
    assert tuple(rgb.cells[0].gates.weight.shape) == (512, 64 + 128, 3, 3)
    out = rgb(torch.randn(2, 1, 5, 1024))
    assert out["frame_scores"].shape == (2, 80) and out["class_logits"].shape == (2, 14)


def test_grid_rule_and_projection():
    # hand-worked: 1000 lies 8 from 992 and 8 from 1008 -> ties go up; 990 -> 992
    assert [grid_input_dim(d) for d in (768, 1000, 990, 7)] == [768, 1008, 992, 16]
    m = AedTModel(AedTConfig(feature_dim=1000, hidden_channels=8, fc_down=16, head_hidden=8))
    assert tuple(m.proj.weight.shape) == (1008, 1000)
    assert m.cells[0].gates.in_channels == 1008 // 16 + 8


def test_forward_matches_reference_definition():
    """The reference AED_T.forward written out (time-major (T, B, D), view(-1, 4, 4))."""
    m = model().eval()
    x = torch.randn(3, 1, 5, D)
    with torch.no_grad():
        out = m(x)
        seq = x[:, 0].permute(1, 0, 2).reshape(5, 3, -1, 4, 4)
        state = [[torch.zeros(3, 8, 4, 4)] * 2 for _ in range(2)]
        for t in range(5):
            for k, cell in enumerate(m.cells):
                inp = seq[t] if k == 0 else state[0][0]
                g = cell.gates(torch.cat([inp, state[k][0]], 1))
                i, f, o, c = g.chunk(4, 1)
                c_new = torch.sigmoid(f) * state[k][1] + torch.sigmoid(i) * torch.tanh(c)
                state[k] = [torch.sigmoid(o) * torch.tanh(c_new), c_new]
        z = torch.relu(m.fc_down(state[1][0].reshape(3, -1)))
        ref_cls = m.cls_head[2](torch.relu(m.cls_head[0](z)))
        ref_reg = torch.sigmoid(m.reg_head[2](torch.relu(m.reg_head[0](z))))
    torch.testing.assert_close(out["class_logits"], ref_cls)
    torch.testing.assert_close(out["frame_scores"], ref_reg)


# ---------------------------------------------------------------- shapes, gradients
def test_shapes():
    m = model()
    out = m(torch.randn(4, 2, 5, D))
    assert out["frame_scores"].shape == (4, 80)
    assert out["snippet_scores"].shape == (4, 5)
    assert out["video_scores"].shape == (4,)
    assert out["class_logits"].shape == (4, K)
    assert ((out["frame_scores"] >= 0) & (out["frame_scores"] <= 1)).all()
    pred = m.predict(np.random.default_rng(0).standard_normal((2, 2, 12, D)).astype(np.float32))
    assert pred["snippet_scores"].shape == (2, 12) and pred["frame_scores"].shape == (2, 192)
    # 12 snippets padded to 15, windows start at 0..10
    assert pred["window_classes"].shape == (2, 11) and pred["video_classes"].shape == (2,)
    with pytest.warns(UserWarning, match="shorter than one window"):
        assert m.score(torch.randn(1, 1, 3, D)).shape == (1, 3)


def test_gradients_reach_every_parameter():
    cfg = AedTConfig(feature_dim=30, hidden_channels=4, fc_down=8, head_hidden=8, n_classes=K)
    m = model(cfg)
    out = m(torch.randn(4, 1, 5, 30))
    loss, parts = m.loss(out, torch.tensor([[0, 0, 1, 1, 0]] * 4), torch.tensor([0, 1, 2, 1]))
    loss.backward()
    assert set(parts) == {"cls", "reg", "total"}
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# ---------------------------------------------------------------- loss, merge, windows
def test_loss_hand_worked():
    """CE(logits, class) * 1 + SmoothL1(beta=1) * 10, computed by hand for one window."""
    cfg = AedTConfig(feature_dim=D, n_classes=2, max_seqlen=2, frames_per_snippet=2)
    logits = torch.tensor([[2.0, 0.0]])
    frames = torch.tensor([[0.9, 0.2, 0.5, 0.0]])
    out = {"class_logits": logits, "frame_scores": frames}
    ce = -np.log(np.exp(0.0) / (np.exp(2.0) + np.exp(0.0)))  # true class 1
    targets = [1, 0]  # snippet targets -> frames [1, 1, 0, 0]
    diffs = np.array([0.1, 0.8, 0.5, 0.0])
    sl1 = np.mean(0.5 * diffs**2)  # all |d| < 1
    total, parts = AedTModel(cfg).loss(out, torch.tensor([targets]), torch.tensor([1]))
    assert parts["cls"] == pytest.approx(ce, rel=1e-6)
    assert parts["reg"] == pytest.approx(sl1, rel=1e-6)
    assert float(total) == pytest.approx(ce + 10 * sl1, rel=1e-6)
    # class -1 = unknown: only the regression term
    total, parts = AedTModel(cfg).loss(out, torch.tensor([targets]), torch.tensor([-1]))
    assert parts["cls"] == 0 and float(total) == pytest.approx(10 * sl1, rel=1e-6)


def test_merge_windows_max_hand_worked():
    # L=2, f=1, windows start at 0, 1, 2 over 4 snippets
    scores = torch.tensor([[0.1, 0.5], [0.7, 0.2], [0.3, 0.4]])
    merged = merge_windows(scores, torch.tensor([0, 1, 2]), 4, 1)
    assert merged.tolist() == pytest.approx([0.1, 0.7, 0.3, 0.4])
    mean = merge_windows(scores, torch.tensor([0, 1, 2]), 4, 1, "mean")
    assert mean.tolist() == pytest.approx([0.1, 0.6, 0.25, 0.4])


def test_score_is_max_over_windows_of_the_padded_video():
    """Written out: pad 7 -> 10 by repeating the last snippet, windows 0..5, max per snippet."""
    cfg = AedTConfig(
        feature_dim=D,
        hidden_channels=4,
        fc_down=8,
        head_hidden=8,
        n_classes=K,
        frames_per_snippet=1,
    )
    m = model(cfg).eval()
    x = torch.randn(1, 1, 7, D)
    padded = torch.cat([x[0, 0], x[0, 0, -1:].repeat(3, 1)])
    best = np.zeros(10)
    with torch.no_grad():
        for s in range(6):
            _, sc = m.windows_forward(padded[s : s + 5][None])
            best[s : s + 5] = np.maximum(best[s : s + 5], sc[0].numpy())
    np.testing.assert_allclose(m.score(x)[0], best[:7], rtol=1e-5, atol=1e-6)


def test_crops_averaged_after_merge_and_chunks_agree(monkeypatch):
    """Two crops score as the mean of each crop scored alone; small chunks change nothing."""
    import vadkit.methods.aed_t.score as score_mod

    m = model().eval()
    x = torch.randn(1, 2, 9, D)
    both = m.predict(x)
    alone = [m.predict(x[:, c : c + 1]) for c in range(2)]
    np.testing.assert_allclose(
        both["frame_scores"], (alone[0]["frame_scores"] + alone[1]["frame_scores"]) / 2, atol=1e-6
    )
    monkeypatch.setattr(score_mod, "_CHUNK", 2)
    small = m.predict(x)
    np.testing.assert_allclose(small["frame_scores"], both["frame_scores"], atol=1e-6)
    np.testing.assert_allclose(small["window_logits"], both["window_logits"], atol=1e-5)


def test_window_starts_and_sample_window():
    assert window_starts(5, 5).tolist() == [0]
    rng = np.random.default_rng(0)
    feats = np.arange(8, dtype=np.float32)[:, None]
    labels = np.zeros(8 * 2)
    labels[14:16] = 1  # snippet 7: starts are drawn from {0, 1, 2} (randint(8 - 5)), so no
    # window holds it; after the draws the last window is kept
    w, y, s = sample_window(feats, labels, 5, rng, frames_per_snippet=2)
    assert s in (0, 1, 2) and w[:, 0].tolist() == list(range(s, s + 5)) and y.sum() == 0
    labels[:] = 0
    labels[12:14] = 1  # snippet 6: inside windows starting at 2 only
    for _ in range(5):  # snippet 6 lies only in the window starting at 2: redrawn until found
        w, y, s = sample_window(feats, labels, 5, rng, frames_per_snippet=2, max_draws=200)
        assert s == 2 and y.tolist() == [0] * 8 + [1, 1]
    w, y, s = sample_window(feats[:3], np.ones(6), 5, rng, frames_per_snippet=2)
    assert s == 0 and w[:, 0].tolist() == [0, 1, 2, 0, 0] and y.tolist() == [1] * 6 + [0] * 4


# ---------------------------------------------------------------- quality floor
def make_set(rng: np.random.Generator, n: int, scenes: np.ndarray, shift: np.ndarray):
    """Videos of class ``c`` carry the scene pattern ``scenes[c]``; abnormal ones a burst."""
    vids = []
    for i in range(n):
        t = int(rng.integers(15, 30))
        c = i % K
        x = 0.7 * rng.standard_normal((t, 1, D)).astype(np.float32) + scenes[c]
        lab = np.zeros(t, np.int64)
        if i % 2:
            s = int(rng.integers(0, t - 6))
            e = s + int(rng.integers(4, 7))
            lab[s:e] = 1
            x[s:e] += shift
        vids.append((x.astype(np.float32), lab, c))
    return vids


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    scenes = rng.standard_normal((K, D)).astype(np.float32)
    shift = np.zeros(D, np.float32)
    shift[: D // 2] = 1.5
    train, test = make_set(rng, 24, scenes, shift), make_set(rng, 12, scenes, shift)
    cfg = AedTConfig(
        feature_dim=D,
        hidden_channels=8,
        fc_down=32,
        head_hidden=16,
        n_classes=K,
        frames_per_snippet=1,
        lr=3e-3,
    )
    torch.manual_seed(0)
    m = AedTModel(cfg)
    opt = m.make_optimizer()
    abn = [v for v in train if v[1].any()]
    nor = [v for v in train if not v[1].any()]
    losses = []
    for _ in range(120):
        batch = [abn[j] for j in rng.integers(len(abn), size=8)]
        batch += [nor[j] for j in rng.integers(len(nor), size=8)]
        ws = [sample_window(x, lab, 5, rng, frames_per_snippet=1) for x, lab, _ in batch]
        x = torch.from_numpy(np.stack([w for w, _, _ in ws])).permute(0, 2, 1, 3)
        y = torch.from_numpy(np.stack([t for _, t, _ in ws]))
        loss, _ = m.loss(m(x), y, torch.tensor([c for _, _, c in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return m, test, losses


def test_quality_floor(trained):
    m, test, losses = trained
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    preds = [m.predict(x.transpose(1, 0, 2)[None]) for x, _, _ in test]
    scores = np.concatenate([p["snippet_scores"][0] for p in preds])
    labels = np.concatenate([lab for _, lab, _ in test])
    assert frame_auc(labels, scores) >= 0.9
    acc = class_accuracy(
        np.array([c for *_, c in test]), np.array([p["video_classes"][0] for p in preds])
    )
    assert acc >= 0.75  # chance is 1/3


# ---------------------------------------------------------------- save/load, determinism
def test_save_load_identical(tmp_path, trained):
    m = trained[0]
    torch.save(m.state_dict(), tmp_path / "m.pt")
    m2 = AedTModel(m.config)
    m2.load_state_dict(torch.load(tmp_path / "m.pt"))
    x = np.random.default_rng(1).standard_normal((1, 1, 17, D)).astype(np.float32)
    np.testing.assert_array_equal(m.score(x), m2.score(x))


def test_determinism():
    x = torch.randn(2, 1, 5, D)
    outs = []
    for _ in range(2):
        m = model(seed=7)
        opt = m.make_optimizer()
        loss, _ = m.loss(m(x), torch.ones(2, 5), torch.tensor([0, 2]))
        loss.backward()
        opt.step()
        outs.append(m.score(x))
    np.testing.assert_array_equal(outs[0], outs[1])


# ---------------------------------------------------------------- errors
def test_bad_input_is_one_line_error():
    m = model()
    cases = [
        (lambda: m(torch.randn(2, 1, 5, D + 1)), "feature_dim=32"),
        (lambda: m(torch.randn(2, 1, 7, D)), "max_seqlen=5"),
        (lambda: m.score(torch.randn(1, 7, D)), r"\(B, C, T, D\)"),
        (
            lambda: m.loss(m(torch.randn(2, 1, 5, D)), torch.ones(2, 4), torch.tensor([0, 1])),
            "targets",
        ),
        (
            lambda: m.loss(m(torch.randn(2, 1, 5, D)), torch.ones(2, 5), torch.tensor([0, 3])),
            "outside",
        ),
        (lambda: AedTConfig.from_dict({"lr": 1e-4, "lamda": 1}), "valid keys"),
        (lambda: AedTConfig.from_dict({"merge": "median"}), "merge"),
    ]
    for fn, match in cases:
        with pytest.raises(VadkitError, match=match) as info:
            fn()
        assert "\n" not in str(info.value)
