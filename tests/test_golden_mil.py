"""MIL ranking's training step against golden arrays made by the PyTorch port.

``tests/data/golden/mil.npz`` was written by ``benchmarks/reference/mil_golden.py`` running
``ekosman/AnomalyDetectionCVPR2018-Pytorch`` @ cc75759f (its ``AnomalyDetector``,
``custom_objective``, ``RegularizedLoss`` and the training script's Adadelta) on CPU. vadkit's
``mil`` runs with the port's options (``PORT``); same weights, same batches, the dropout masks
drawn after the same seed on both sides; every array must match to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.mil import MILConfig, MILModel

GOLDEN = Path(__file__).parent / "data" / "golden" / "mil.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}
# the port's objective and training as MILConfig options (the defaults are the official code's)
PORT = {
    "ranking_pairs": "matched",
    "bag_reduction": "mean",
    "l2_form": "layer_norms",
    "optimizer": "adadelta",
    "init": "glorot_normal_torch_bias",
}


def _group(golden, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: golden[k] for k in golden.files if k.startswith(prefix + "/")}


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _model(golden, **changes) -> MILModel:
    config = MILConfig(feature_dim=golden["x"].shape[-1], **(PORT | changes))
    model = MILModel(config)
    params = _group(golden, "param0")
    assert set(params) == set(model.state_dict())
    model.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return model


def _close(got: torch.Tensor | float, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def test_eval_forward_matches_reference(golden):
    model = _model(golden).eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(golden["x"][0])[:, None])["crop_scores"]
    _close(scores[:, 0], golden["eval/scores"][..., 0], "eval scores")


def test_training_steps_match_reference(golden):
    model = _model(golden).train()  # dropout on, as the port trains
    opt = model.make_optimizer()
    assert isinstance(opt, torch.optim.Adadelta)
    x, labels = torch.from_numpy(golden["x"]), torch.from_numpy(golden["labels"])
    seeds = golden["step_seeds"]
    param0 = {k: p.detach().clone() for k, p in model.named_parameters()}
    cfg = model.config
    for step in range(len(seeds)):
        torch.manual_seed(int(seeds[step]))
        out = model(x[step][:, None])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        if step == 0:
            _close(out["crop_scores"][:, 0], golden["out/scores"][..., 0], "segment scores")
            for key in ("hinge", "smoothness", "sparsity"):
                ours = parts["ranking" if key == "hinge" else key]
                _close(ours, golden[f"terms/{key}"], f"loss term {key}")
            objective = parts["ranking"] + cfg.lambda_sparsity * parts["sparsity"]
            objective += cfg.lambda_smooth * parts["smoothness"]
            _close(objective, golden["loss/objective"], "custom_objective")
            _close(cfg.l2 * parts["l2"], golden["loss/regularization"], "regularization")
            _close(total, golden["loss/total"], "total loss")
            for name, p in model.named_parameters():
                _close(p.grad, golden[f"grad/{name}"], f"gradient {name}")
        _close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        opt.step()
        if step in (0, len(seeds) - 1):
            for name, p in model.named_parameters():
                want = golden[f"step{step + 1}/{name}"]
                _close(p, want, f"{name} after step {step + 1}")
                # Adadelta at lr 0.01 moves a weight by ~3e-6 a step, far below 1e-5: the
                # update itself must match, to 1% of its size or 2 float32 steps of the weight
                update = want - golden[f"param0/{name}"]
                atol = 2 * float(np.spacing(np.abs(want).max()))
                _close(p - param0[name], update, f"{name} update", rtol=1e-2, atol=atol)
