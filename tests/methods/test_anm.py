"""anm (salient-feature classifier): contract tests on hand-worked cases and generated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter
from vadkit.methods.anm import AnmConfig, AnmModel
from vadkit.methods.anm.optim import ReferenceRAdam
from vadkit.sampling import pool_segments

SMALL = AnmConfig(feature_dim=16, d_a=8, r=2, batch_size=4)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is faster and avoids oversubscribing a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.fixture(scope="module")
def hand_model() -> AnmModel:
    """D=2, d_a=1, r=2, hidden=1 with weights chosen so every step can be done by hand.

    h_t = tanh(atanh(0.5) * x_t[0]); hop 0 logit = 2 ln3 * h_t, hop 1 logit = 0;
    fc1 = [1, 2, 3, 4] . flat + 0.25; fc2 = 1 * . - 13.
    """
    model = AnmModel(AnmConfig(feature_dim=2, d_a=1, r=2, hidden=1))
    with torch.no_grad():
        model.attention[0].weight.copy_(torch.tensor([[math.atanh(0.5), 0.0]]))
        model.attention[0].bias.zero_()
        model.attention[2].weight.copy_(torch.tensor([[2 * math.log(3)], [0.0]]))
        model.attention[2].bias.zero_()
        model.fc1.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
        model.fc1.bias.fill_(0.25)
        model.fc2.weight.fill_(1.0)
        model.fc2.bias.fill_(-13.0)
    return model.eval()


def test_hand_worked_forward(hand_model: AnmModel) -> None:
    # crop 0: x = [1, 0], [0, 4] -> h = [0.5, 0] -> hop 0 softmax(ln3, 0) = [3/4, 1/4], hop 1 = [1/2, 1/2]
    # M = [[0.75, 0.5], [1, 2]] flattened feature-major [0.75, 0.5, 1, 2] -> fc1 12.75 + 0.25 = 13
    # -> logit 0 -> 0.5 (hop-major flattening would give 12.25 -> sigmoid(-0.5)).
    # crop 1: x = [0, 0], [1, 0] -> hop 0 = [1/4, 3/4]; M = [[0.75, 0.5], [0, 0]] -> 2 - 13 = -11.
    x = torch.tensor([[[[1.0, 0.0], [0.0, 4.0]], [[0.0, 0.0], [1.0, 0.0]]]])
    with torch.no_grad():
        out = hand_model(x)
    attention = out["attention"][0, 0].numpy()
    np.testing.assert_allclose(attention, [[0.75, 0.5], [0.25, 0.5]], atol=1e-6)
    np.testing.assert_allclose(out["crop_logits"][0].numpy(), [0.0, -11.0], atol=1e-5)
    video = (0.5 + sigmoid(-11.0)) / 2
    assert out["video_scores"].shape == (1,)
    assert out["video_scores"].item() == pytest.approx(video, abs=1e-6)
    np.testing.assert_allclose(out["snippet_scores"].numpy(), [[video, video]], atol=1e-6)


def test_hand_worked_windows(hand_model: AnmModel) -> None:
    # one crop, T = 3: x = [1, 0], [0, 4], [0, 2]
    x = torch.tensor([[[1.0, 0.0], [0.0, 4.0], [0.0, 2.0]]])[None]
    # window [0, 2): logit 0 (as above). window [2, 3): one step, A = 1, flat [0, 0, 2, 2] -> 14.25 - 13
    w_a, w_b = 0.5, sigmoid(1.25)
    np.testing.assert_allclose(
        hand_model.score(x, window=2, stride=2), [[w_a, w_a, w_b]], atol=1e-6
    )
    # window [1, 3): h = 0 for both -> uniform; flat [0, 0, 3, 3] -> 21.25 - 13 = 8.25
    w_c = sigmoid(8.25)
    expected = [[w_a, (w_a + w_c) / 2, w_c]]
    np.testing.assert_allclose(hand_model.score(x, window=2, stride=1), expected, atol=1e-6)
    # one window longer than the video = one score for all, with a warning
    with pytest.warns(UserWarning, match="3 snippets is shorter than the window of 28"):
        s = hand_model.score(x, window=28, stride=28)
    assert s.shape == (1, 3) and len(set(s[0].tolist())) == 1


def test_shapes_and_crop_folding() -> None:
    torch.manual_seed(0)
    model = AnmModel(SMALL).eval()
    x = torch.randn(3, 5, 32, 16)
    out = model(x)
    assert out["crop_scores"].shape == (3, 5)
    assert out["video_scores"].shape == (3,)
    assert out["snippet_scores"].shape == (3, 32)
    assert out["attention"].shape == (3, 5, 32, 2)
    torch.testing.assert_close(out["attention"].sum(dim=2), torch.ones(3, 5, 2))
    # crops are independent sequences: crop k of video b equals that sequence alone
    alone = model(x[1:2, 3:4])["video_scores"]
    torch.testing.assert_close(alone[0], out["crop_scores"][1, 3])
    torch.testing.assert_close(out["video_scores"], out["crop_scores"].mean(dim=1))
    scores = model.score(x[0], window=7, stride=7)
    assert scores.shape == (1, 32) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()


def test_score_batches_windows_like_single_passes(monkeypatch) -> None:
    # chunks of 1, 2 and all windows give the per-window forward pass; mode is restored
    torch.manual_seed(0)
    model = AnmModel(SMALL).train()
    x = torch.randn(2, 3, 23, 16)
    windows = [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    with torch.no_grad():
        model.eval()
        per = [model(x[:, :, a:b])["video_scores"] for a, b in windows]
        model.train()
    expected = torch.cat(
        [p[:, None].expand(2, b - a) for p, (a, b) in zip(per, windows, strict=True)], 1
    )
    for rows in (1, 6, 10_000):
        monkeypatch.setattr("vadkit.methods.anm.model._CHUNK_ROWS", rows)
        got = model.score(x.numpy().astype(np.float64), window=5, stride=5)
        np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)
    assert model.training


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = AnmModel(SMALL).train()
    out = model(torch.randn(4, 2, 32, 16))
    loss, parts = model.loss(out, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert set(parts) == {"bce"} and parts["bce"] == pytest.approx(loss.item())
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_loss_is_bce_of_every_crop() -> None:
    model = AnmModel(SMALL)
    scores = torch.tensor([[0.2, 0.4], [0.9, 0.6]])
    loss, _ = model.loss({"crop_scores": scores}, torch.tensor([0.0, 1.0]))
    expected = -(math.log(0.8) + math.log(0.6) + math.log(0.9) + math.log(0.6)) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_attention_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    model = AnmModel(SMALL)
    x = torch.randn(2, 1, 32, 16)
    model.train()
    a = model(x)["attention"]
    assert (a == 0).any()  # dropped entries, others scaled by 1 / 0.7, not renormalised
    model.eval()
    torch.testing.assert_close(model(x)["attention"].sum(dim=2), torch.ones(2, 1, 2))


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.zeros(2, 1, 32, 8), "feature dim 8, expected 16"),
        (torch.zeros(1, 1, 0, 16), "at least one snippet"),
        (torch.zeros(32, 16), r"shape \(32, 16\), expected \(B, C, T, 16\)"),
        (torch.zeros(2, 1, 32, 16, dtype=torch.int64), "torch.float32 tensor.*got torch.int64"),
        (np.zeros((2, 1, 32, 16), np.float32), "got ndarray"),
    ],
)
def test_bad_input(x: torch.Tensor, match: str) -> None:
    model = AnmModel(SMALL)
    with pytest.raises(VadkitError, match=match) as info:
        model(x)
    assert "\n" not in str(info.value)


def test_bad_batch_order_and_score_options() -> None:
    model = AnmModel(SMALL)
    out = model(torch.zeros(4, 1, 32, 16))
    for labels in ([1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1]):
        with pytest.raises(VadkitError, match="n normal videos then n abnormal"):
            model.loss(out, torch.tensor(labels))
    with pytest.raises(VadkitError, match="3 labels for a batch of 4"):
        model.loss(out, torch.tensor([0, 0, 1]))
    with pytest.raises(VadkitError, match="stride must be an integer in"):
        model.score(torch.zeros(1, 1, 5, 16), window=4, stride=5)
    with pytest.raises(VadkitError, match="NaN or inf"):
        model.score(torch.full((1, 1, 5, 16), float("nan")))
    one_inf = torch.zeros(1, 1, 5, 16)
    one_inf[0, 0, 3, 7] = float("inf")  # a single bad value is found too
    with pytest.raises(VadkitError, match="NaN or inf"):
        model.score(one_inf)
    big = torch.full((1, 1, 5, 16), 3e37)  # finite values whose sum overflows are accepted
    assert np.isfinite(model.score(big, window=5, stride=5)).all()
    with pytest.raises(VadkitError, match="feature dim 2048, expected 16"):
        model.score(np.zeros((10, 30, 2048), np.float32))


def test_config_defaults_and_from_dict() -> None:
    c = AnmConfig()
    # option.py / radam.py / README values, written down here independently
    assert (c.feature_dim, c.d_a, c.r, c.hidden, c.n_segments) == (2048, 64, 3, 32, 32)
    assert (c.batch_size, c.max_epoch, c.seed, c.lr, c.eps) == (32, 10, 1111, 1e-3, 1e-8)
    assert (c.beta1, c.beta2, c.weight_decay, c.attention_dropout) == (0.9, 0.999, 0.0, 0.3)
    assert (c.window, c.stride, c.optimizer, c.degenerated_to_sgd) == (28, 28, "radam", False)
    assert AnmConfig.from_dict(c.to_dict()) == c
    # train.py: blocks drawn while count + 32 < pool size -> 8000 sequences give counts 0..7936
    assert c.steps_per_epoch(8000, 8100) == 249
    assert c.steps_per_epoch(33, 1000) == 1 and c.steps_per_epoch(32, 1000) == 0
    with pytest.raises(VadkitError, match="unknown key.*d_b.*valid keys: feature_dim"):
        AnmConfig.from_dict({"d_b": 3})
    with pytest.raises(VadkitError, match="stride=30 > window=28"):
        AnmConfig(stride=30)
    with pytest.raises(VadkitError, match="AnmConfig.r must be an integer >= 1"):
        AnmConfig(r=0)
    with pytest.raises(VadkitError, match="optimizer='adam'"):
        AnmConfig(optimizer="adam")


def test_reference_radam_hand_worked() -> None:
    # loss = p with p0 = 1: g = 1 every step, m_t = 1 - 0.9^t, v_t = 1 - 0.999^t.
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = AnmModel(SMALL.__class__(feature_dim=1, d_a=1, r=1, hidden=1)).make_optimizer()
    assert isinstance(opt, ReferenceRAdam)
    opt = ReferenceRAdam([p], lr=0.1)
    values = []
    for _ in range(6):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        values.append(p.item())
    assert values[:5] == [1.0] * 5  # rho_t < 5 for t <= 5: no update at all
    # step 6 by the paper's formula (Liu et al. 2020, Algorithm 2)
    t, b1, b2 = 6, 0.9, 0.999
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    r_t = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    m_hat = (1 - b1**t) / (1 - b1**t)
    v_hat = (1 - b2**t) / (1 - b2**t)
    # the reference computes in float32 whatever the parameter dtype
    assert values[5] == pytest.approx(1.0 - 0.1 * r_t * m_hat / math.sqrt(v_hat), rel=1e-7)
    # torch's RAdam moves from step 1 on
    q = torch.nn.Parameter(torch.tensor([1.0]))
    torch_opt = AnmModel(AnmConfig(optimizer="torch_radam")).make_optimizer()
    assert isinstance(torch_opt, torch.optim.RAdam)
    torch_opt = torch.optim.RAdam([q], lr=0.1)
    q.sum().backward()
    torch_opt.step()
    assert q.item() < 1.0


def test_degenerated_to_sgd_first_step() -> None:
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = ReferenceRAdam([p], lr=0.1, degenerated_to_sgd=True)
    p.sum().backward()
    opt.step()
    # m_1 = 0.1, bias-corrected 1 -> p = 1 - 0.1 (in float32)
    assert p.item() == pytest.approx(0.9, rel=1e-7)


# -- generated store: normal snippets ~ N(0, 1); abnormal videos add a burst shifted by +1.5
D, CROPS = 32, 2


def _write_store(path, rng: np.random.Generator) -> tuple[FeatureStore, dict[str, np.ndarray]]:
    writer = StoreWriter(
        path, StoreInfo(backbone="synthetic", weights_sha256="random-init", dim=D, crops=CROPS)
    )
    labels = {}
    for split, n in (("train", 40), ("test", 20)):
        for i in range(n):
            label = i % 2
            T = int(rng.integers(40, 90))
            x = rng.standard_normal((T, CROPS, D)).astype(np.float32)
            y = np.zeros(T, dtype=np.int64)
            if label:
                length = int(rng.integers(8, 20))
                start = int(rng.integers(0, T - length))
                x[start : start + length, :, :8] += 1.5
                y[start : start + length] = 1
            vid = f"{split}{i:02d}"
            writer.add(vid, x, label=label, split=split)
            labels[vid] = y
    return writer.finalize(), labels


def _train(store: FeatureStore, config: AnmConfig, steps: int, seed: int) -> AnmModel:
    """A plain loop: pooled 32-segment crops, n normal then n abnormal videos per step."""
    torch.manual_seed(seed)
    model = AnmModel(config)
    opt = model.make_optimizer()

    def pooled(label: int) -> torch.Tensor:
        ids = store.select(split="train", label=label)
        arrays = [pool_segments(store.load(v), config.n_segments) for v in ids]
        return torch.from_numpy(np.stack(arrays).transpose(0, 2, 1, 3).copy())  # (N, C, 32, D)

    normal, abnormal = pooled(0), pooled(1)
    gen = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.zeros(config.batch_size), torch.ones(config.batch_size)])
    model.train()
    for _ in range(steps):
        i = torch.randperm(len(normal), generator=gen)[: config.batch_size]
        j = torch.randperm(len(abnormal), generator=gen)[: config.batch_size]
        loss, _ = model.loss(model(torch.cat([normal[i], abnormal[j]])), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


# lr 1e-2 (reference 1e-3) so that 60 steps suffice; windows of 8 with stride 4 because
# snippet AUC of 28-snippet windows is capped by the normal snippets around each burst
QUALITY = AnmConfig(feature_dim=D, d_a=16, r=2, lr=1e-2, batch_size=8, window=8, stride=4)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    store, labels = _write_store(tmp_path_factory.mktemp("anm") / "store", np.random.default_rng(0))
    return store, labels, _train(store, QUALITY, steps=60, seed=0)


def _test_scores(store: FeatureStore, model: AnmModel) -> dict[str, np.ndarray]:
    return {v: model.score(store.load(v).transpose(1, 0, 2))[0] for v in store.select(split="test")}


def test_quality_floor_on_generated_store(generated) -> None:
    store, labels, model = generated
    scores = _test_scores(store, model)
    y = np.concatenate([labels[v] for v in scores])
    s = np.concatenate(list(scores.values()))
    assert roc_auc_score(y, s) >= 0.9


def test_loss_decreases() -> None:
    torch.manual_seed(0)
    model = AnmModel(AnmConfig(feature_dim=8, d_a=4, r=1, lr=1e-2)).train()
    x = torch.cat([torch.randn(4, 1, 32, 8), torch.randn(4, 1, 32, 8) + 1.0])
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    opt = model.make_optimizer()
    first = model.loss(model(x), y)[0].item()
    for _ in range(40):
        loss, _ = model.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first


def test_save_load_identical_scores(generated, tmp_path) -> None:
    store, _, model = generated
    torch.save(model.state_dict(), tmp_path / "anm.pt")
    loaded = AnmModel(QUALITY)
    loaded.load_state_dict(torch.load(tmp_path / "anm.pt", weights_only=True))
    a, b = _test_scores(store, model), _test_scores(store, loaded.eval())
    assert all(np.array_equal(a[v], b[v]) for v in a)


def test_determinism(generated) -> None:
    store, _, model = generated
    again = _train(store, QUALITY, steps=60, seed=0)
    a, b = _test_scores(store, model), _test_scores(store, again)
    assert all(np.array_equal(a[v], b[v]) for v in a)
    other = _train(store, QUALITY, steps=5, seed=1)
    assert not torch.equal(other.fc1.weight, model.fc1.weight)
