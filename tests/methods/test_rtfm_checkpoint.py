"""RTFM checkpoint converter, on state_dicts built in the reference layout.

The layout (keys, shapes, order) is written down here from shared/data/checkpoints/README.md,
and the eval forward pass is recomputed in numpy from the reference keys as that README and
the paper describe it, so neither depends on the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from golden_helpers import random_state  # tests/golden_helpers.py

from vadkit.errors import VadkitError
from vadkit.methods.rtfm import RTFMConfig, RTFMModel
from vadkit.methods.rtfm.checkpoint import convert_rtfm_state_dict, load_rtfm_checkpoint

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def rtfm_layout(d: int = 2048, h1: int = 512, h2: int = 128) -> list[tuple[str, tuple]]:
    """Reference RTFM keys and shapes; D=2048 gives the README's 47 entries."""
    q, h = d // 4, d // 8
    out: list[tuple[str, tuple]] = []
    for i in (1, 2, 3):
        out += [(f"Aggregate.conv_{i}.0.weight", (q, d, 3)), (f"Aggregate.conv_{i}.0.bias", (q,))]
        out += [(f"Aggregate.conv_{i}.2.{p}", () if p == BN[4] else (q,)) for p in BN]
    out.append(("Aggregate.conv_4.0.weight", (q, d, 1)))
    for m in ("g", "theta", "phi"):
        out += [
            (f"Aggregate.non_local.{m}.weight", (h, q, 1)),
            (f"Aggregate.non_local.{m}.bias", (h,)),
        ]
    out += [("Aggregate.non_local.W.0.weight", (q, h, 1)), ("Aggregate.non_local.W.0.bias", (q,))]
    out += [(f"Aggregate.non_local.W.1.{p}", () if p == BN[4] else (q,)) for p in BN]
    out.append(("Aggregate.conv_5.0.weight", (d, d, 3)))
    out += [(f"Aggregate.conv_5.2.{p}", () if p == BN[4] else (d,)) for p in BN]
    out += [("fc1.weight", (h1, d)), ("fc1.bias", (h1,)), ("fc2.weight", (h2, h1))]
    out += [("fc2.bias", (h2,)), ("fc3.weight", (1, h2)), ("fc3.bias", (1,))]
    return out


def make_state(layout, seed: int = 0) -> dict[str, torch.Tensor]:
    return random_state(layout, seed, batches_tracked=1234)


def test_published_layout_loads_strictly_and_values_land():
    layout = rtfm_layout()
    assert len(layout) == 47
    shapes = dict(layout)
    assert shapes["Aggregate.conv_5.0.weight"] == (2048, 2048, 3)
    assert shapes["Aggregate.non_local.g.weight"] == (256, 512, 1)
    state = make_state(layout)
    state["Aggregate.non_local.theta.weight"][5, 7, 0] = 123.0
    state["Aggregate.non_local.phi.bias"][3] = 11.0
    state["Aggregate.non_local.g.bias"][4] = 12.0
    state["Aggregate.conv_2.2.running_var"][3] = 7.0
    state["Aggregate.conv_5.2.weight"][9] = 5.0
    state["Aggregate.non_local.W.1.bias"][1] = 6.0
    state["fc3.bias"][0] = 4.0
    model = RTFMModel()
    model.load_state_dict(convert_rtfm_state_dict(state), strict=True)
    nl = model.trunk.non_local
    assert nl.query.weight[5, 7, 0].item() == 123.0
    assert nl.key.bias[3].item() == 11.0
    assert nl.value.bias[4].item() == 12.0
    assert model.trunk.branches[1].norm.running_var[3].item() == 7.0
    assert model.trunk.fuse.norm.weight[9].item() == 5.0
    assert nl.out_norm.bias[1].item() == 6.0
    assert model.classifier[6].bias[0].item() == 4.0
    assert model.trunk.fuse.norm.num_batches_tracked.item() == 1234


def _conv1d(x, w, b, dil):
    """numpy Conv1d, stride 1, 'same' padding = dil * (k - 1) / 2; x (Cin, T), w (Cout, Cin, k)."""
    k, t = w.shape[2], x.shape[1]
    pad = dil * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad)))
    out = sum(w[:, :, j] @ xp[:, j * dil : j * dil + t] for j in range(k))
    return out + (0 if b is None else b[:, None])


def _bn(x, s, pre):
    return (x - s[pre + "running_mean"][:, None]) / np.sqrt(
        s[pre + "running_var"][:, None] + 1e-5
    ) * s[pre + "weight"][:, None] + s[pre + "bias"][:, None]


def reference_scores(s: dict[str, np.ndarray], video: np.ndarray) -> np.ndarray:
    """RTFM eval scores from reference keys: video (C, T, D) -> (T,), crops averaged."""
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    a = "Aggregate."
    per_crop = []
    for x in video:
        x = x.T  # (D, T)
        parts = []
        for i, dil in ((1, 1), (2, 2), (3, 4)):  # Conv -> ReLU -> BN (BN after the ReLU)
            c = _conv1d(x, s[f"{a}conv_{i}.0.weight"], s[f"{a}conv_{i}.0.bias"], dil)
            parts.append(_bn(relu(c), s, f"{a}conv_{i}.2."))
        r = relu(_conv1d(x, s[f"{a}conv_4.0.weight"], None, 1))
        n = f"{a}non_local."
        th, ph, g = (
            _conv1d(r, s[f"{n}{m}.weight"], s[f"{n}{m}.bias"], 1) for m in ("theta", "phi", "g")
        )
        y = (th.T @ ph / r.shape[1]) @ g.T  # affinity / T, no softmax
        w = _conv1d(y.T, s[f"{n}W.0.weight"], s[f"{n}W.0.bias"], 1)
        parts.append(r + _bn(w, s, f"{n}W.1."))
        f = relu(_conv1d(np.concatenate(parts), s[f"{a}conv_5.0.weight"], None, 1))
        f = (_bn(f, s, f"{a}conv_5.2.") + x).T  # residual; (T, D)
        h = relu(f @ s["fc1.weight"].T + s["fc1.bias"])
        h = relu(h @ s["fc2.weight"].T + s["fc2.bias"])
        per_crop.append(1 / (1 + np.exp(-(h @ s["fc3.weight"].T + s["fc3.bias"])[:, 0])))
    return np.mean(per_crop, axis=0)


def test_converted_model_scores_as_the_reference_forward():
    cfg = RTFMConfig(feature_dim=16, conv_channels=4, nonlocal_channels=2, hidden1=8, hidden2=4)
    state = make_state(rtfm_layout(16, 8, 4), seed=1)
    model = RTFMModel(cfg)
    model.load_state_dict(convert_rtfm_state_dict(state, cfg))
    video = np.random.default_rng(0).standard_normal((3, 9, 16)).astype(np.float32)
    got = model.score(video[None])[0]
    want = reference_scores({k: v.double().numpy() for k, v in state.items()}, video)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_file_round_trip_and_errors(tmp_path):
    cfg = RTFMConfig(feature_dim=16, conv_channels=4, nonlocal_channels=2, hidden1=8, hidden2=4)
    state = make_state(rtfm_layout(16, 8, 4))
    path = tmp_path / "rtfm_ckpt.pkl"
    torch.save(state, path)
    model = load_rtfm_checkpoint(path, cfg)
    assert not model.training
    assert model.classifier[0].weight[0, 0].item() == state["fc1.weight"][0, 0].item()

    missing = dict(state)
    del missing["Aggregate.non_local.W.1.running_mean"]
    torch.save(missing, path)
    with pytest.raises(
        VadkitError, match=r"rtfm_ckpt\.pkl: missing key 'Aggregate\.non_local\.W\.1\.running_mean'"
    ):
        load_rtfm_checkpoint(path, cfg)

    extra = {**state, "fc4.weight": torch.zeros(1)}
    with pytest.raises(VadkitError, match="unexpected key 'fc4.weight'") as e:
        convert_rtfm_state_dict(extra, cfg, "x.pkl")
    assert "\n" not in str(e.value)

    bad = {**state, "fc2.weight": torch.zeros(4, 9)}
    with pytest.raises(
        VadkitError, match=r"key 'fc2.weight' has shape \(4, 9\), expected \(4, 8\)"
    ):
        convert_rtfm_state_dict(bad, cfg)

    with pytest.raises(VadkitError, match="does not exist"):
        load_rtfm_checkpoint(tmp_path / "nope.pkl", cfg)
    (tmp_path / "junk.pkl").write_bytes(b"not a checkpoint")
    with pytest.raises(VadkitError, match="cannot read checkpoint"):
        load_rtfm_checkpoint(tmp_path / "junk.pkl", cfg)
