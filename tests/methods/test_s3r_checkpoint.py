"""S3R checkpoint converter, on state_dicts built in the reference layout.

The layout (keys, shapes) is written down here from shared/data/checkpoints/README.md, and
the eval forward pass is recomputed in numpy from the reference keys as that README and the
paper describe it, so neither depends on the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from golden_helpers import random_state  # tests/golden_helpers.py

from vadkit.errors import VadkitError
from vadkit.methods.s3r import S3RConfig, S3RModel
from vadkit.methods.s3r.checkpoint import convert_s3r_state_dict, load_s3r_checkpoint

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def aggregate_layout(prefix: str, d: int) -> list[tuple[str, tuple]]:
    """One S3R ``Aggregate`` (29 keys): GroupNorm at index 1, non-local value/query/key/alter."""
    q, h = d // 4, d // 8
    out: list[tuple[str, tuple]] = []
    for i in (1, 2, 3):
        out += [(f"{prefix}conv_{i}.0.weight", (q, d, 3)), (f"{prefix}conv_{i}.0.bias", (q,))]
        out += [(f"{prefix}conv_{i}.1.weight", (q,)), (f"{prefix}conv_{i}.1.bias", (q,))]
    out.append((f"{prefix}conv_4.0.weight", (q, d, 1)))
    out += [(f"{prefix}conv_5.0.weight", (d, d, 3))]
    out += [(f"{prefix}conv_5.1.weight", (d,)), (f"{prefix}conv_5.1.bias", (d,))]
    nl = f"{prefix}non_local."
    for m in ("value", "query", "key"):
        out += [(f"{nl}{m}.weight", (h, q, 1)), (f"{nl}{m}.bias", (h,))]
    out += [(f"{nl}alter.0.weight", (q, h, 1)), (f"{nl}alter.0.bias", (q,))]
    out += [(f"{nl}alter.1.{p}", () if p == BN[4] else (q,)) for p in BN]
    return out


def s3r_layout(d: int = 2048) -> list[tuple[str, tuple]]:
    """Reference S3R keys and shapes; D=2048 gives the README's 88 entries."""
    out = aggregate_layout("video_embedding.0.", d) + aggregate_layout("macro_embedding.0.", d)
    en = "en_normal.en_normal_module."
    out += [(f"{en}query_embedding.weight", (d // 4, d)), (f"{en}query_embedding.bias", (d // 4,))]
    out += [(f"{en}cache_embedding.weight", (d // 4, d)), (f"{en}cache_embedding.bias", (d // 4,))]
    out += [(f"{en}value_embedding.weight", (d, d)), (f"{en}value_embedding.bias", (d,))]
    gate = "de_normal.channel_attention.channel_gate.mlp."
    out += [(f"{gate}1.weight", (d // 16, d)), (f"{gate}1.bias", (d // 16,))]
    out += [(f"{gate}3.weight", (d, d // 16)), (f"{gate}3.bias", (d,))]
    for proj in ("video_projection", "macro_projection"):
        out += [(f"{proj}.0.weight", (d, d, 3)), (f"{proj}.0.bias", (d,))]
        out += [(f"{proj}.1.weight", (d,)), (f"{proj}.1.bias", (d,))]
    for head in ("video_classifier.", "macro_classifier.mlp."):
        out += [(f"{head}0.weight", (d // 4, d)), (f"{head}0.bias", (d // 4,))]
        out += [(f"{head}3.weight", (d // 16, d // 4)), (f"{head}3.bias", (d // 16,))]
        out += [(f"{head}6.weight", (1, d // 16)), (f"{head}6.bias", (1,))]
    return out


def make_state(layout, seed: int = 0) -> dict[str, torch.Tensor]:
    return random_state(layout, seed, batches_tracked=77)


SMALL = S3RConfig(
    feature_dim=32,
    trunk_channels=8,
    nonlocal_channels=4,
    attention_dim=8,
    gate_hidden=2,
    hidden1=8,
    hidden2=2,
    n_atoms=5,
)


def test_published_layout_loads_strictly_and_values_land():
    layout = s3r_layout()
    assert len(layout) == 88
    shapes = dict(layout)
    assert shapes["en_normal.en_normal_module.value_embedding.weight"] == (2048, 2048)
    assert shapes["video_embedding.0.non_local.value.weight"] == (256, 512, 1)
    assert shapes["de_normal.channel_attention.channel_gate.mlp.1.weight"] == (128, 2048)
    state = make_state(layout)
    state["video_embedding.0.conv_3.1.bias"][2] = 13.0
    state["macro_embedding.0.non_local.query.weight"][1, 2, 0] = 14.0
    state["video_embedding.0.non_local.alter.0.bias"][5] = 15.0
    state["en_normal.en_normal_module.cache_embedding.bias"][6] = 16.0
    state["de_normal.channel_attention.channel_gate.mlp.3.weight"][7, 1] = 17.0
    state["macro_classifier.mlp.6.bias"][0] = 18.0
    state["video_classifier.3.weight"][4, 9] = 19.0
    converted = convert_s3r_state_dict(state)
    assert len(converted) == 80  # the 8 unused projection entries are dropped
    model = S3RModel()
    model.set_dictionary(torch.ones(400, 2048))
    model.load_state_dict({**converted, "dictionary": model.dictionary}, strict=True)
    assert model.video_trunk.branches[2].norm.bias[2].item() == 13.0
    assert model.macro_trunk.non_local.query.weight[1, 2, 0].item() == 14.0
    assert model.video_trunk.non_local.out_conv.bias[5].item() == 15.0
    assert model.en_normal.key.bias[6].item() == 16.0
    assert model.de_normal.fc2.weight[7, 1].item() == 17.0
    assert model.macro_classifier[6].bias[0].item() == 18.0
    assert model.classifier[3].weight[4, 9].item() == 19.0
    assert model.video_trunk.non_local.out_norm.num_batches_tracked.item() == 77


def _conv1d(x, w, b, dil):
    """numpy Conv1d, stride 1, 'same' padding; x (Cin, T), w (Cout, Cin, k)."""
    k, t = w.shape[2], x.shape[1]
    pad = dil * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad)))
    out = sum(w[:, :, j] @ xp[:, j * dil : j * dil + t] for j in range(k))
    return out + (0 if b is None else b[:, None])


def _gn(x, w, b, groups=8):
    c, t = x.shape
    g = x.reshape(groups, c // groups * t)
    g = (g - g.mean(1, keepdims=True)) / np.sqrt(g.var(1, keepdims=True) + 1e-5)
    return g.reshape(c, t) * w[:, None] + b[:, None]


def _aggregate(s, p, x):
    """S3R Aggregate from reference keys under prefix p; x (D, T) -> (D, T)."""
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    parts = []
    for i, dil in ((1, 1), (2, 2), (3, 4)):  # Conv -> GroupNorm -> ReLU
        c = _conv1d(x, s[f"{p}conv_{i}.0.weight"], s[f"{p}conv_{i}.0.bias"], dil)
        parts.append(relu(_gn(c, s[f"{p}conv_{i}.1.weight"], s[f"{p}conv_{i}.1.bias"])))
    r = relu(_conv1d(x, s[f"{p}conv_4.0.weight"], None, 1))
    n = f"{p}non_local."
    qu, ke, va = (
        _conv1d(r, s[f"{n}{m}.weight"], s[f"{n}{m}.bias"], 1) for m in ("query", "key", "value")
    )
    y = (qu.T @ ke / r.shape[1]) @ va.T
    w = _conv1d(y.T, s[f"{n}alter.0.weight"], s[f"{n}alter.0.bias"], 1)
    bn = f"{n}alter.1."
    w = (w - s[bn + "running_mean"][:, None]) / np.sqrt(s[bn + "running_var"][:, None] + 1e-5)
    parts.append(r + w * s[bn + "weight"][:, None] + s[bn + "bias"][:, None])
    f = _conv1d(np.concatenate(parts), s[f"{p}conv_5.0.weight"], None, 1)
    return relu(_gn(f, s[f"{p}conv_5.1.weight"], s[f"{p}conv_5.1.bias"])) + x


def _mlp(s, p, h):
    h = np.maximum(h @ s[f"{p}0.weight"].T + s[f"{p}0.bias"], 0)
    h = np.maximum(h @ s[f"{p}3.weight"].T + s[f"{p}3.bias"], 0)
    return 1 / (1 + np.exp(-(h @ s[f"{p}6.weight"].T + s[f"{p}6.bias"])[..., 0]))


def reference_forward(s, video, atoms):
    """S3R eval forward from reference keys: video (C, T, D) -> snippet (T,), macro score."""
    en = "en_normal.en_normal_module."
    snippet, macro = [], []
    for x in video:
        q = x @ s[f"{en}query_embedding.weight"].T + s[f"{en}query_embedding.bias"]
        k = atoms @ s[f"{en}cache_embedding.weight"].T + s[f"{en}cache_embedding.bias"]
        v = atoms @ s[f"{en}value_embedding.weight"].T + s[f"{en}value_embedding.bias"]
        a = np.exp(q @ k.T - (q @ k.T).max(1, keepdims=True))
        m = (a / a.sum(1, keepdims=True)) @ v  # (T, D)
        xv = _aggregate(s, "video_embedding.0.", x.T).T
        xm = _aggregate(s, "macro_embedding.0.", m.T).T
        g = "de_normal.channel_attention.channel_gate.mlp."
        h = np.maximum((xv.mean(0) - xm.mean(0)) @ s[f"{g}1.weight"].T + s[f"{g}1.bias"], 0)
        gate = 1 / (1 + np.exp(-(h @ s[f"{g}3.weight"].T + s[f"{g}3.bias"])))
        snippet.append(_mlp(s, "video_classifier.", xv * gate))
        macro.append(_mlp(s, "macro_classifier.mlp.", (xm * (1 - gate)).mean(0)))
    return np.mean(snippet, axis=0), float(np.mean(macro))


def test_checkpoint_file_and_dictionary_score_as_the_reference_forward(tmp_path):
    state = make_state(s3r_layout(32), seed=2)
    atoms = np.random.default_rng(3).standard_normal((5, 32)).astype(np.float32)
    torch.save(state, tmp_path / "ucf-crime_s3r_i3d_best.pth")
    np.save(tmp_path / "dict.npy", atoms)
    model = load_s3r_checkpoint(
        tmp_path / "ucf-crime_s3r_i3d_best.pth", tmp_path / "dict.npy", SMALL
    )
    assert not model.training
    video = np.random.default_rng(4).standard_normal((2, 7, 32)).astype(np.float32)
    want_snippets, want_macro = reference_forward(
        {k: v.double().numpy() for k, v in state.items()}, video.astype(np.float64), atoms
    )
    np.testing.assert_allclose(model.score(video[None])[0], want_snippets, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        macro = model(torch.from_numpy(video[None]))["macro_scores"].item()
    assert macro == pytest.approx(want_macro, rel=1e-4)
    # n_atoms is taken from the dictionary when the config's differs
    other = load_s3r_checkpoint(
        tmp_path / "ucf-crime_s3r_i3d_best.pth", np.ones((3, 32), np.float32), SMALL
    )
    assert other.config.n_atoms == 3


def test_errors(tmp_path):
    state = make_state(s3r_layout(32))
    missing = {k: v for k, v in state.items() if k != "macro_projection.1.bias"}
    with pytest.raises(VadkitError, match="f.pth: missing key 'macro_projection.1.bias'") as e:
        convert_s3r_state_dict(missing, SMALL, "f.pth")
    assert "\n" not in str(e.value)
    with pytest.raises(VadkitError, match="unexpected key 'memory.weight'"):
        convert_s3r_state_dict({**state, "memory.weight": torch.zeros(1)}, SMALL)
    key = "en_normal.en_normal_module.value_embedding.weight"
    with pytest.raises(VadkitError, match=r"has shape \(32, 31\), expected \(32, 32\)"):
        convert_s3r_state_dict({**state, key: torch.zeros(32, 31)}, SMALL)
    torch.save(state, tmp_path / "s.pth")
    np.save(tmp_path / "bad.npy", np.zeros((5, 31), np.float32))
    with pytest.raises(VadkitError, match=r"bad.npy has shape \(5, 31\), expected \(n_atoms, 32\)"):
        load_s3r_checkpoint(tmp_path / "s.pth", tmp_path / "bad.npy", SMALL)
