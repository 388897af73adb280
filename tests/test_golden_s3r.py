"""S3R's training step against golden arrays made by the reference code.

``tests/data/golden/s3r.npz`` was written by ``benchmarks/reference/s3r_golden.py`` running
``louisYen/S3R`` @ 6835335 (its own ``S3R(dim=32, ...)``, ``do_train`` with ``RTFM_loss``,
``sparsity_loss``, ``smooth_loss``, ``MacroLoss`` and the Adam of
``trainval_anomaly_detector.py``) on CPU. Same weights, same dictionary (8 atoms), same batches
(10 crops x 32 snippets, 2 normal + 2 abnormal videos), dropout p = 0 on both sides; every
array must match to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.s3r import S3RConfig, S3RModel
from vadkit.methods.s3r.checkpoint import s3r_key_map

GOLDEN = Path(__file__).parent / "data" / "golden" / "s3r.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}
KEYS = s3r_key_map()  # reference state_dict key -> vadkit's (projections not saved)
# Biases whose gradient is zero in exact arithmetic, by construction of the reference, and
# round-off (~1e-9, different per CPU and torch build) in practice:
# - the dilated branches' conv biases: at width 32 each branch has 8 channels in GroupNorm(8),
#   one channel per group, so the norm subtracts each channel's own mean, bias included;
# - the non-local blocks' output conv bias, followed by BatchNorm (as in RTFM's golden test);
# - en-Normal's key (``cache_embedding``) bias: it adds query . bias to every atom's logit of
#   a snippet, which the softmax over atoms removes.
# Adam divides such a gradient by its own root mean square, so the bias moves by up to lr per
# step in a direction set by round-off, from step 1 on. Its gradient is checked to be ~0 and
# its value to stay inside Adam's bound; comparing it to the reference's digits would test
# round-off. Nothing downstream sees these biases except through round-off...
ROUNDOFF_ONLY = {
    f"{t}.branches.{i}.conv.bias" for t in ("video_trunk", "macro_trunk") for i in range(3)
}
ROUNDOFF_ONLY |= {"video_trunk.non_local.out_conv.bias", "macro_trunk.non_local.out_conv.bias"}
ROUNDOFF_ONLY |= {"en_normal.key.bias"}
# ...except the non-local BatchNorms' running means, which average the output conv's result,
# bias included, and so inherit its drift (at most the bias's own): compared to 1e-5 after
# step 1, to 1e-3 after step 5, beside the exact running variances.
BIAS_SHIFTED = {"video_trunk.non_local.out_norm.running_mean"}
BIAS_SHIFTED |= {"macro_trunk.non_local.out_norm.running_mean"}
CONFIG = S3RConfig(
    feature_dim=32, trunk_channels=8, nonlocal_channels=4, norm_groups=8, attention_dim=8,
    gate_hidden=2, hidden1=8, hidden2=2, dropout=0.0, n_atoms=8,
)  # fmt: skip


def _group(golden, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: golden[k] for k in golden.files if k.startswith(prefix + "/")}


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _load(model: S3RModel, golden, prefix: str) -> None:
    params = _group(golden, prefix)
    assert set(params) == set(KEYS)
    state = {KEYS[k]: torch.from_numpy(v) for k, v in params.items()}
    state["dictionary"] = torch.from_numpy(golden["dictionary"]).float()
    model.load_state_dict(state, strict=True)


def _model(golden) -> S3RModel:
    model = S3RModel(CONFIG)
    _load(model, golden, "param0")
    return model.train()


def _close(got: torch.Tensor | float, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def _check_forward(out: dict[str, torch.Tensor], golden) -> None:
    n = int(golden["labels"].size) // 2
    # the reference returns regular_score / anomaly_score (n, 1), video_scores (2n, T, 1),
    # macro_scores (2n, 1) and memory_attn (2n, atoms, crops * T)
    want = np.concatenate([golden["out/regular_score"], golden["out/anomaly_score"]])[:, 0]
    _close(out["video_scores"], want, "video scores")
    _close(out["snippet_scores"], golden["out/video_scores"][..., 0], "snippet scores")
    _close(out["macro_scores"], golden["out/macro_scores"][:, 0], "macro scores")
    _close(out["feature_magnitudes"], golden["out/feature_magnitudes"], "feature magnitudes")
    b, c, t, s = out["memory_attention"].shape
    attn = golden["out/memory_attn"].reshape(b, s, c, t).transpose(0, 2, 3, 1)
    _close(out["memory_attention"], attn, "en-Normal attention")
    # the reference's selected features are (crops * n, k, D), crop-major; RTFM_loss takes the
    # L2 norm of their mean over k: vadkit's topk_norms (2n, crops), video-major
    halves = (
        (slice(None, n), "feature_select_regular"),
        (slice(n, None), "feature_select_anomaly"),
    )
    for half, key in halves:
        feats = golden[f"out/{key}"].astype(np.float64)
        norms = np.linalg.norm(feats.mean(1), axis=-1).reshape(-1, n).T
        _close(out["topk_norms"][half], norms, f"top-k norms ({key})")


def test_eval_forward_matches_reference(golden):
    model = _model(golden)
    _load(model, golden, "step5")
    scores = model.score(torch.from_numpy(golden["eval/x"]).float())
    _close(scores, golden["eval/scores"], "eval snippet scores after 5 steps")


def test_training_steps_match_reference(golden):
    model = _model(golden)
    opt = model.make_optimizer()
    x, labels = torch.from_numpy(golden["x"]).float(), torch.from_numpy(golden["labels"])
    n_steps = x.shape[0]
    param0 = {k: p.detach().clone() for k, p in model.state_dict().items()}
    inverse = {v: k for k, v in KEYS.items()}
    lr = opt.param_groups[0]["lr"]
    for step in range(n_steps):
        out = model(x[step])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        if step == 0:
            _check_forward(out, golden)
            # do_train computes smooth and sparsity already weighted (8e-4, 8e-3)
            weights = {"bce": 1.0, "magnitude": 1.0, "smooth": 8e-4, "sparsity": 8e-3}
            for key, weight in (weights | {"macro": 1.0}).items():
                _close(parts[key] * weight, golden[f"loss/{key}"], f"loss {key}")
            _close(total, golden["loss/total"], "total loss")
            for name, p in model.named_parameters():
                _close(p.grad, golden[f"grad/{inverse[name]}"], f"gradient {name}")
            for name in ROUNDOFF_ONLY:
                grad = dict(model.named_parameters())[name].grad
                assert grad.abs().max() < 1e-6, name
                assert np.abs(golden[f"grad/{inverse[name]}"]).max() < 1e-6, name
        _close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        opt.step()
        if step not in (0, n_steps - 1):
            continue
        for name, value in model.state_dict().items():
            if name == "dictionary":
                continue
            want = golden[f"step{step + 1}/{inverse[name]}"]
            if name in ROUNDOFF_ONLY:
                moved = (value - param0[name]).abs().max().item()
                assert moved <= (step + 1) * lr, f"{name} moved {moved}"
                moved = np.abs(want - golden[f"param0/{inverse[name]}"]).max()
                assert moved <= (step + 1) * lr, f"reference {name} moved {moved}"
                continue
            if name in BIAS_SHIFTED and step > 0:
                _close(value, want, f"{name} after step {step + 1}", rtol=0, atol=1e-3)
                continue
            _close(value, want, f"{name} after step {step + 1}")
            # the update itself (lr 1e-3 moves a weight by ~1e-3 a step), to 0.1% of it
            update = want - golden[f"param0/{inverse[name]}"]
            got = value.double() - param0[name].double()
            _close(got, update, f"{name} update", rtol=1e-3, atol=1e-6)
