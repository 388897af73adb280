"""UR-DMU's training step against golden arrays made by the reference code.

``tests/data/golden/ur_dmu.npz`` was written by ``benchmarks/reference/ur_dmu_golden.py``
running ``henrryzh1/UR-DMU`` @ 40cfdf5 (its ``WSAD``, ``AD_Loss`` and ``ucf_main.py``'s Adam)
on CPU. Same weights, same batches, dropout off and the reparameterisation noise drawn after
the same seed on both sides; every array must match to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.ur_dmu import UrDmuConfig, UrDmuModel

GOLDEN = Path(__file__).parent / "data" / "golden" / "ur_dmu.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}
# reference forward / AD_Loss keys -> vadkit's
OUTPUTS = {"frame": "snippet_scores", "triplet_margin": "triplet", "kl_loss": "kl"}
OUTPUTS |= {k: k for k in ("distance", "A_att", "N_att", "A_Natt", "N_Aatt")}
LOSSES = {"total_loss": "total", "att_loss": "bce", "N_Aatt": "N_A", "A_loss": "A"}
LOSSES |= {"N_loss": "N", "A_Nloss": "A_N", "triplet": "triplet", "kl_loss": "kl"}


def _group(golden, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: golden[k] for k in golden.files if k.startswith(prefix + "/")}


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _model(golden) -> UrDmuModel:
    config = UrDmuConfig(feature_dim=64, n_crops=1, embed_dim=32, dim_head=8, mlp_dim=32)
    model = UrDmuModel(config)
    params = _group(golden, "param0")
    assert set(params) == set(model.state_dict())
    model.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return model


def _train_without_dropout(model: UrDmuModel) -> None:
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.eval()


def _close(got: torch.Tensor | float, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def test_eval_forward_matches_reference(golden):
    model = _model(golden).eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(golden["eval/x"])[:, None])["snippet_scores"]
    _close(scores, golden["eval/frame"], "eval frame scores")


def test_training_steps_match_reference(golden):
    model = _model(golden)
    _train_without_dropout(model)
    opt = model.make_optimizer()
    x, labels = torch.from_numpy(golden["x"]), torch.from_numpy(golden["labels"])
    seeds = golden["step_seeds"]
    param0 = {k: p.detach().clone() for k, p in model.named_parameters()}
    for step in range(len(seeds)):
        torch.manual_seed(int(seeds[step]))
        out = model(x[step][:, None])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        if step == 0:
            for ref_key, key in OUTPUTS.items():
                _close(out[key], golden[f"out/{ref_key}"], f"output {key}")
            for ref_key, key in LOSSES.items():
                _close(parts[key], golden[f"loss/{ref_key}"], f"loss {key}")
            _close(total, golden["loss/total_loss"], "total loss")
            for name, p in model.named_parameters():
                _close(p.grad, golden[f"grad/{name}"], f"gradient {name}")
        _close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        opt.step()
        if step in (0, len(seeds) - 1):
            for name, p in model.named_parameters():
                want = golden[f"step{step + 1}/{name}"]
                _close(p, want, f"{name} after step {step + 1}")
                # the update itself (lr 1e-4 moves a weight by ~1e-4 a step), to 1% of lr
                update = want - golden[f"param0/{name}"]
                _close(p - param0[name], update, f"{name} update", rtol=1e-3, atol=1e-6)
