"""Shared checks of the golden tests of trunk methods (RTFM, S3R): a training step of vadkit's
model against arrays written by the reference code (``benchmarks/reference/*_golden.py``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np
import torch

TOL = {"rtol": 1e-5, "atol": 1e-5}


def group(golden, prefix: str) -> dict[str, np.ndarray]:
    """The arrays of ``golden`` under ``prefix/``, keyed by the rest of their name."""
    return {k[len(prefix) + 1 :]: golden[k] for k in golden.files if k.startswith(prefix + "/")}


def close(got: torch.Tensor | float, want: np.ndarray, what: str, **tol) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, err_msg=what, **(tol or TOL))


def check_topk_norms(out: Mapping[str, torch.Tensor], golden, keys: tuple[str, str]) -> None:
    """The reference's selected features are (crops * n, k, D), crop-major; RTFM_loss takes the
    L2 norm of their mean over k: vadkit's ``topk_norms`` (2n, crops), video-major. ``keys``:
    the normal half's and the abnormal half's golden names."""
    n = int(golden["labels"].size) // 2
    for half, key in zip((slice(None, n), slice(n, None)), keys, strict=True):
        feats = golden[f"out/{key}"].astype(np.float64)
        norms = np.linalg.norm(feats.mean(1), axis=-1).reshape(-1, n).T
        close(out["topk_norms"][half], norms, f"top-k norms ({key})")


def check_training_steps(
    model: torch.nn.Module,
    golden,
    keys: Mapping[str, str],
    check_forward: Callable[[Mapping[str, torch.Tensor]], None],
    loss_weights: Mapping[str, float],
    roundoff_only: Collection[str],
    bias_shifted: Collection[str],
    skip_state: Collection[str] = (),
    roundoff_exact_at_step1: bool = False,
) -> None:
    """Run the golden batches through ``model`` with its own optimiser and compare the first
    step's outputs, losses and gradients, every step's total loss, and the state after the
    first and the last step (and each update itself, to 0.1% of it).

    ``roundoff_only``: parameters whose gradient is zero in exact arithmetic (checked ~0 on
    both sides); Adam turns their round-off into moves of up to lr a step, so their values are
    checked inside that bound instead of against the reference's digits (from step 1 on, or
    from step 2 with ``roundoff_exact_at_step1``). ``bias_shifted``: state that averages such
    a parameter (BatchNorm running means), compared to 1e-3 after step 1.
    """
    opt = model.make_optimizer()
    x, labels = torch.from_numpy(golden["x"]).float(), torch.from_numpy(golden["labels"])
    n_steps = x.shape[0]
    param0 = {k: p.detach().clone() for k, p in model.state_dict().items()}
    inverse = {v: k for k, v in keys.items()}
    lr = opt.param_groups[0]["lr"]
    for step in range(n_steps):
        out = model(x[step])
        total, parts = model.loss(out, labels)
        opt.zero_grad()
        total.backward()
        if step == 0:
            check_forward(out)
            for key, weight in loss_weights.items():
                close(parts[key] * weight, golden[f"loss/{key}"], f"loss {key}")
            close(total, golden["loss/total"], "total loss")
            for name, p in model.named_parameters():
                close(p.grad, golden[f"grad/{inverse[name]}"], f"gradient {name}")
            for name in roundoff_only:
                assert dict(model.named_parameters())[name].grad.abs().max() < 1e-6, name
                assert np.abs(golden[f"grad/{inverse[name]}"]).max() < 1e-6, name
        close(total, golden["loss5/total"][step], f"total loss at step {step + 1}")
        opt.step()
        if step not in (0, n_steps - 1):
            continue
        for name, value in model.state_dict().items():
            if name in skip_state:
                continue
            want = golden[f"step{step + 1}/{inverse[name]}"]
            if name in roundoff_only and (step > 0 or not roundoff_exact_at_step1):
                moved = (value - param0[name]).abs().max().item()
                assert moved <= (step + 1) * lr, f"{name} moved {moved}"
                moved = np.abs(want - golden[f"param0/{inverse[name]}"]).max()
                assert moved <= (step + 1) * lr, f"reference {name} moved {moved}"
                continue
            if name in bias_shifted and step > 0:
                close(value, want, f"{name} after step {step + 1}", rtol=0, atol=1e-3)
                continue
            close(value, want, f"{name} after step {step + 1}")
            update = want - golden[f"param0/{inverse[name]}"]
            got = value.double() - param0[name].double()
            close(got, update, f"{name} update", rtol=1e-3, atol=1e-6)


def random_state(
    layout: list[tuple[str, tuple[int, ...]]], seed: int = 0, batches_tracked: int = 1234
) -> dict[str, torch.Tensor]:
    """A state dict of a published checkpoint layout (key, shape) with seeded values: uniform
    in [-0.5, 0.5), running variances in [0.5, 1.5), and ``batches_tracked`` counts."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(batches_tracked, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.rand(shape, generator=g) - 0.5
    return state
