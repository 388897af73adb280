"""TACnet's training step against golden arrays made by the reference code.

``tests/data/golden/tacnet.npz`` was written by ``benchmarks/reference/tacnet_golden.py``
running ckjeter/TACnet_Video_Anomaly_Detection_by_Temporal_Attention_Clustering_Network
@ 4f611085 (``TACnet`` head, its ``src/loss.py`` terms and ``main.py``'s AdamW / MultiStepLR)
with ``kmeans_pytorch`` @ f7f36bd on CPU. Same weights and batches, dropout off, and vadkit's
k-means started from the points the reference's drew (``kmeans_init``); the reference's
behaviour options are on: ``smooth="histogram"`` and ``batch_reduction="sum"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.methods.tacnet import TACnetConfig, TACnetModel
from vadkit.methods.tacnet import kmeans as kmeans_module
from vadkit.methods.tacnet import model as model_module
from vadkit.presets import preset_values

GOLDEN = Path(__file__).parent / "data" / "golden" / "tacnet.npz"
TOL = {"rtol": 1e-5, "atol": 1e-5}
LOSSES = {"bag": "bag", "inner": "inner", "maxmin": "maxmin", "smooth": "smooth"}
LOSSES |= {"small": "sparsity", "total": "total"}
# the reference preset is the reference code's behaviour: it alone must make the arrays match
REFERENCE_OPTIONS = preset_values(TACnetConfig, "reference")


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def _close(got, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def _model(golden) -> TACnetModel:
    config = TACnetConfig(
        feature_dim=64,
        hidden=64,
        attention_dim=64,
        classifier_dims=(64, 32, 32),
        **REFERENCE_OPTIONS,
    )
    model = TACnetModel(config)
    params = {k[7:]: golden[k] for k in golden.files if k.startswith("param0/")}
    assert set(params) == set(model.state_dict())
    model.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return model.eval()  # dropout off, as the reference run


def test_training_steps_match_reference(golden, monkeypatch):
    model = _model(golden)
    opt, step_init = model.make_optimizer(), {}

    def kmeans_from_reference_init(x, *args, **kwargs):
        return kmeans_module.kmeans_cosine(x, *args, init=step_init["init"], **kwargs)

    monkeypatch.setattr(model_module, "kmeans_cosine", kmeans_from_reference_init)
    sched = model.make_scheduler(opt)
    x, labels = torch.from_numpy(golden["x"]), torch.from_numpy(golden["labels"])
    param0 = {k: p.detach().clone() for k, p in model.named_parameters()}
    for step in range(len(golden["step_seeds"])):
        step_init["init"] = torch.from_numpy(golden["kmeans_init"][step])
        out = model(x[step][:, None])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        np.testing.assert_array_equal(out["clusters"].numpy(), golden["kmeans_assign"][step])
        _close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        if step == 0:
            feature = model.tsn(x[0].transpose(1, 2)).transpose(1, 2)
            _close(feature, golden["out/feature"], "temporal conv features")
            _close(out["bag_segment_scores"], golden["out/output_seg"], "segment scores")
            _close(out["attention"], golden["out/A"], "attention logits")
            bag_half = 0.5 * out["bag_scores"]
            _close(bag_half, golden["out/output"][:, 0], "0.5 x bag score")
            _close(out["bag_video_scores"] - bag_half, golden["out/output"][:, 1], "cluster half")
            for ref_key, key in LOSSES.items():
                _close(parts[key], golden[f"loss/{ref_key}"], f"loss {key}")
            for name, p in model.named_parameters():
                _close(p.grad, golden[f"grad/{name}"], f"gradient {name}")
        opt.step()
        if step in (0, 4):
            for name, p in model.named_parameters():
                want = golden[f"step{step + 1}/{name}"]
                _close(p, want, f"{name} after step {step + 1}")
                # the update itself (lr 1e-5 moves a weight by ~1e-5 a step), to 1% of lr
                update = want - golden[f"param0/{name}"]
                _close(p - param0[name], update, f"{name} update", rtol=1e-3, atol=1e-7)
    sched.step()  # one epoch: the reference's milestones are epochs 20, 30, 40
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)


def test_batch_reduction_sum_is_the_batch_size_times_the_mean(golden):
    from vadkit.errors import VadkitError

    x, labels = torch.from_numpy(golden["x"][0])[:, None], torch.from_numpy(golden["labels"])
    parts = {}
    for reduction in ("mean", "sum"):
        model = _model(golden)
        model.config = TACnetConfig(**{**model.config.__dict__, "batch_reduction": reduction})
        torch.manual_seed(0)
        parts[reduction] = model.loss(model(x), labels)[1]
    assert parts["sum"]["bag"] == pytest.approx(parts["mean"]["bag"])  # BCELoss: a mean
    for key in ("inner", "maxmin", "smooth", "sparsity"):  # two bags in the batch
        assert parts["sum"][key] == pytest.approx(2 * parts["mean"][key], rel=1e-6), key
    with pytest.raises(VadkitError, match="batch_reduction"):
        TACnetConfig(batch_reduction="max")
