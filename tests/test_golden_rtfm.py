"""RTFM's training step against golden arrays made by the reference code.

``tests/data/golden/rtfm.npz`` was written by ``benchmarks/reference/rtfm_golden.py`` running
``tianyu0207/RTFM`` @ cf938f4 (its ``Model`` at width 16, ``train.train`` with ``RTFM_loss``,
``sparsity``, ``smooth`` and ``main.py``'s Adam) on CPU. Same weights, same batches (10 crops x
32 snippets, 2 normal + 2 abnormal videos), dropout p = 0 on both sides; every array must match
to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.rtfm import RTFMConfig, RTFMModel
from vadkit.methods.rtfm.checkpoint import rtfm_key_map

GOLDEN = Path(__file__).parent / "data" / "golden" / "rtfm.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}
KEYS = rtfm_key_map()  # reference state_dict key -> vadkit's
# The non-local block's output conv is followed by BatchNorm, which removes its bias: that bias's
# gradient is zero in exact arithmetic and round-off (~1e-10, different per CPU and torch build)
# in practice. Adam divides it by its own root mean square, so after a few steps the bias moves by
# up to lr per step in a direction set by round-off. Its gradient is checked to be ~0 and its
# value to stay inside Adam's bound; comparing it to the reference's digits would test round-off.
ROUNDOFF_ONLY = {"trunk.non_local.out_conv.bias"}
# The BatchNorm's running mean averages the conv output, bias included, so it inherits that drift
# (at most the bias's own, a weighted mean of it): after step 1 it is compared to 1e-5, after
# step 5 to 1e-3, beside the exact running variance.
BIAS_SHIFTED = {"trunk.non_local.out_norm.running_mean"}
CONFIG = RTFMConfig(
    feature_dim=16, conv_channels=4, nonlocal_channels=2, hidden1=8, hidden2=4, dropout=0.0
)


def _group(golden, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: golden[k] for k in golden.files if k.startswith(prefix + "/")}


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _model(golden) -> RTFMModel:
    model = RTFMModel(CONFIG)
    params = _group(golden, "param0")
    assert set(params) == set(KEYS)
    model.load_state_dict({KEYS[k]: torch.from_numpy(v) for k, v in params.items()})
    return model.train()


def _close(got: torch.Tensor | float, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def _check_forward(out: dict[str, torch.Tensor], golden) -> None:
    n = int(golden["labels"].size) // 2
    # the reference returns score_normal / score_abnormal (n, 1) and scores (2n, T, 1)
    want = np.concatenate([golden["out/score_normal"], golden["out/score_abnormal"]])[:, 0]
    _close(out["video_scores"], want, "video scores")
    _close(out["snippet_scores"], golden["out/scores"][..., 0], "snippet scores")
    _close(out["feature_magnitudes"], golden["out/feat_magnitudes"], "feature magnitudes")
    # the reference's selected features are (crops * n, k, D), crop-major; RTFM_loss takes the
    # L2 norm of their mean over k: vadkit's topk_norms (2n, crops), video-major
    for half, key in ((slice(None, n), "feat_select_normal"), (slice(n, None), "feat_select_abn")):
        feats = golden[f"out/{key}"].astype(np.float64)
        norms = np.linalg.norm(feats.mean(1), axis=-1).reshape(-1, n).T
        _close(out["topk_norms"][half], norms, f"top-k norms ({key})")


def test_eval_forward_matches_reference(golden):
    model = _model(golden)
    model.load_state_dict(
        {KEYS[k]: torch.from_numpy(v) for k, v in _group(golden, "step5").items()}
    )
    scores = model.score(torch.from_numpy(golden["eval/x"]).float())
    _close(scores, golden["eval/scores"], "eval snippet scores after 5 steps")


def test_training_steps_match_reference(golden):
    model = _model(golden)
    opt = model.make_optimizer()
    x, labels = torch.from_numpy(golden["x"]).float(), torch.from_numpy(golden["labels"])
    n_steps = x.shape[0]
    param0 = {k: p.detach().clone() for k, p in model.state_dict().items()}
    inverse = {v: k for k, v in KEYS.items()}
    for step in range(n_steps):
        out = model(x[step])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        if step == 0:
            _check_forward(out, golden)
            # train.py returns smooth and sparsity already weighted (8e-4, 8e-3)
            weights = {"bce": 1.0, "magnitude": 1.0, "smooth": 8e-4, "sparsity": 8e-3}
            for key, weight in weights.items():
                _close(parts[key] * weight, golden[f"loss/{key}"], f"loss {key}")
            _close(total, golden["loss/total"], "total loss")
            for name, p in model.named_parameters():
                _close(p.grad, golden[f"grad/{inverse[name]}"], f"gradient {name}")
            for name in ROUNDOFF_ONLY:
                grad = dict(model.named_parameters())[name].grad
                assert grad.abs().max() < 1e-6, name
        _close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        opt.step()
        if step in (0, n_steps - 1):
            for name, value in model.state_dict().items():
                want = golden[f"step{step + 1}/{inverse[name]}"]
                if name in ROUNDOFF_ONLY and step > 0:
                    lr = opt.param_groups[0]["lr"]
                    moved = (value - param0[name]).abs().max().item()
                    assert moved <= (step + 1) * lr, f"{name} moved {moved}"
                    continue
                if name in BIAS_SHIFTED and step > 0:
                    _close(value, want, f"{name} after step {step + 1}", rtol=0, atol=1e-3)
                    continue
                _close(value, want, f"{name} after step {step + 1}")
                # the update itself (lr 1e-3 moves a weight by ~1e-3 a step), to 0.1% of it
                update = want - golden[f"param0/{inverse[name]}"]
                got = value.double() - param0[name].double()
                _close(got, update, f"{name} update", rtol=1e-3, atol=1e-6)
