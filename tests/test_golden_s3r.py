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
from golden_helpers import check_topk_norms, check_training_steps, close, group

from vadkit.methods.s3r import S3RConfig, S3RModel
from vadkit.methods.s3r.checkpoint import s3r_key_map

GOLDEN = Path(__file__).parent / "data" / "golden" / "s3r.npz"
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


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _load(model: S3RModel, golden, prefix: str) -> None:
    params = group(golden, prefix)
    assert set(params) == set(KEYS)
    state = {KEYS[k]: torch.from_numpy(v) for k, v in params.items()}
    state["dictionary"] = torch.from_numpy(golden["dictionary"]).float()
    model.load_state_dict(state, strict=True)


def _model(golden) -> S3RModel:
    model = S3RModel(CONFIG)
    _load(model, golden, "param0")
    return model.train()


def _check_forward(out: dict[str, torch.Tensor], golden) -> None:
    # the reference returns regular_score / anomaly_score (n, 1), video_scores (2n, T, 1),
    # macro_scores (2n, 1) and memory_attn (2n, atoms, crops * T)
    want = np.concatenate([golden["out/regular_score"], golden["out/anomaly_score"]])[:, 0]
    close(out["video_scores"], want, "video scores")
    close(out["snippet_scores"], golden["out/video_scores"][..., 0], "snippet scores")
    close(out["macro_scores"], golden["out/macro_scores"][:, 0], "macro scores")
    close(out["feature_magnitudes"], golden["out/feature_magnitudes"], "feature magnitudes")
    b, c, t, s = out["memory_attention"].shape
    attn = golden["out/memory_attn"].reshape(b, s, c, t).transpose(0, 2, 3, 1)
    close(out["memory_attention"], attn, "en-Normal attention")
    check_topk_norms(out, golden, ("feature_select_regular", "feature_select_anomaly"))


def test_eval_forward_matches_reference(golden):
    model = _model(golden)
    _load(model, golden, "step5")
    scores = model.score(torch.from_numpy(golden["eval/x"]).float())
    close(scores, golden["eval/scores"], "eval snippet scores after 5 steps")


def test_training_steps_match_reference(golden):
    # do_train computes smooth and sparsity already weighted (8e-4, 8e-3)
    weights = {"bce": 1.0, "magnitude": 1.0, "smooth": 8e-4, "sparsity": 8e-3, "macro": 1.0}
    check_training_steps(
        _model(golden), golden, KEYS, lambda out: _check_forward(out, golden), weights,
        ROUNDOFF_ONLY, BIAS_SHIFTED, skip_state={"dictionary"},
    )  # fmt: skip
