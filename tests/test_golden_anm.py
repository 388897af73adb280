"""The salient-feature classifier's training steps against golden arrays made by the reference.

``tests/data/golden/anm.npz`` was written by ``benchmarks/reference/anm_golden.py`` running
``sakurada-cnq/salient_feature_anomaly`` @ 93013a3 (``VideoClassifier(r=3, da=64)``,
``nn.BCELoss`` and its bundled RAdam) on CPU: 8 steps on single-crop sequences, dropout on
with the mask fixed by ``torch.manual_seed`` before each forward on both sides. Every array
must match to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.anm import AnmConfig, AnmModel

GOLDEN = Path(__file__).parent / "data" / "golden" / "anm.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _vadkit_name(reference_name: str) -> str:
    # the reference spells its attention module ``self_anttention``
    return reference_name.replace("self_anttention.", "attention.")


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _close(got, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def _reference_array(golden, prefix: str, name: str) -> np.ndarray:
    return golden[f"{prefix}/{name.replace('attention.', 'self_anttention.')}"]


def _model(golden) -> AnmModel:
    model = AnmModel(AnmConfig(feature_dim=64, d_a=64, r=3))
    params = {
        _vadkit_name(k[len("param0/") :]): torch.from_numpy(golden[k])
        for k in golden.files
        if k.startswith("param0/")
    }
    assert set(params) == set(model.state_dict())
    model.load_state_dict(params)
    return model


def test_eval_forward_matches_reference(golden):
    model = _model(golden).eval()
    with torch.no_grad():
        out = model(torch.from_numpy(golden["x"][0])[:, None])
    _close(out["video_scores"], golden["eval/output"], "eval-mode output")


def test_training_steps_match_reference(golden):
    model = _model(golden).train()
    opt = model.make_optimizer()
    x, labels = torch.from_numpy(golden["x"]), torch.from_numpy(golden["labels"])
    param0 = {k: p.detach().clone() for k, p in model.named_parameters()}
    for step, seed in enumerate(golden["step_seeds"]):
        torch.manual_seed(int(seed))  # the reference's dropout mask of this step
        out = model(x[step][:, None])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        _close(total, golden["loss8/total"][step], f"loss at step {step + 1}")
        if step == 0:
            _close(out["crop_scores"][:, 0], golden["out/output"], "output")
            _close(out["attention"][:, 0], golden["out/attention"], "attention after dropout")
            _close(parts["bce"], golden["loss/bce"], "bce")
            for name, p in model.named_parameters():
                _close(p.grad, _reference_array(golden, "grad", name), f"gradient {name}")
        opt.step()
        if step + 1 in (1, 5, 8):
            for name, p in model.named_parameters():
                want = _reference_array(golden, f"step{step + 1}", name)
                _close(p, want, f"{name} after step {step + 1}")
                # the update itself (no update on steps 1-5, then ~1e-5 a step); atol 1e-6:
                # a bias whose gradient is at float32 round-off gets an update of ~1e-7 that
                # the CPU's kernels decide (6e-7 apart on one Xeon, equal on another)
                update = want - _reference_array(golden, "param0", name)
                _close(p - param0[name], update, f"{name} update", rtol=1e-3, atol=1e-6)
