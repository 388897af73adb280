"""Golden training steps of MIL ranking (Sultani et al.) made by the PyTorch port
-> tests/data/golden/mil.npz.

Reference: github.com/ekosman/AnomalyDetectionCVPR2018-Pytorch at
cc75759fcd544c69cf38eee8c8d228ce48d620f3, the PyTorch port of Sultani's loss that its users
use (the official code, WaqasSultani/AnomalyDetectionCVPR2018, is Keras 1 / Theano). Used:
``network/anomaly_detector_model.py`` (``AnomalyDetector``, ``custom_objective``,
``RegularizedLoss`` with its default ``lambdas=0.001``) and the optimizer of
``TrainingAnomalyDetector_public.py``: ``Adadelta(lr=0.01, eps=1e-8)`` (rho 0.9, no weight
decay, no schedule: ``--lr_base`` default 0.01); ``network/TorchUtils.py`` ``do_epoch`` is
forward, ``criterion``, ``zero_grad``, ``backward``, ``step`` in ``model.train()``.

Run (from the repository root; ``REF`` is a copy of the reference tree, unmodified)::

    python benchmarks/reference/mil_golden.py --reference-dir REF \
        [--out tests/data/golden/mil.npz]

with torch (2.13.0 CPU was used). ``anomaly_detector_model.py`` imports only torch, so none
of the reference's ``requirements.txt`` is needed. CPU: ``get_torch_device`` picks ``cpu``
when CUDA is absent; nothing changed. (The git snapshot's checkpoints under ``exps/`` and
``pretrained/`` are LFS-sized blobs that were not present; they are not used.)

Shapes: the reference's training layout (``FeaturesLoader.get_features``): ``(2n, 32, D)``
bags, n normal then n abnormal, labels ``[0]*n + [1]*n``, here n = 3 (bucket 30 in the
reference) and D = 32: ``AnomalyDetector(input_dim=32)`` is the reference's own model with
its own hidden widths 512 and 32, which keeps the file under 1 MB.

Randomness: dropout (0.6 after fc1 and after fc2) stays on, as the reference trains in
``train()`` mode: ``torch.manual_seed(STEP_SEEDS[i])`` right before step i's forward fixes
both masks (vadkit draws them on tensors of the same size in the same order). The initial
weights are the reference's init (``xavier_normal_`` kernels, torch's default uniform biases)
after ``torch.manual_seed(0)``.

Saved: ``param0/*``, ``x`` ``(5, 6, 32, 32)``, ``labels``, ``step_seeds``; step 1's forward
output ``out/scores`` ``(6, 32, 1)``, ``loss/objective`` (``custom_objective``),
``loss/regularization`` (``RegularizedLoss`` with a zero objective: its three
``lambdas * ||[W, b]||_2`` terms), ``loss/total`` (``RegularizedLoss``), ``grad/*``;
``step1/*`` and ``step5/*`` (parameters after 1 and 5 Adadelta steps, batch i at step i),
``loss5/total``, and an eval-mode forward of batch 0 (``eval/scores``). ``custom_objective``
returns one number; its three parts, written out from its lines, are ``terms/hinge`` (mean
over bag pairs i <-> i), ``terms/smoothness`` and ``terms/sparsity`` (means over the abnormal
bags), checked here to add up (with its ``lambdas = 8e-5``) to the reference's objective.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

COMMIT = "cc75759fcd544c69cf38eee8c8d228ce48d620f3"
N, T, D, N_STEPS = 3, 32, 32, 5
STEP_SEEDS = [200, 201, 202, 203, 204]
LAMBDA = 8e-5  # custom_objective's ``lambdas``


def _terms(scores: torch.Tensor, n: int) -> dict[str, torch.Tensor]:
    """``custom_objective``'s three parts (it returns only their weighted mean)."""
    s = scores.squeeze(-1)
    normal, abnormal = s[:n], s[n:]
    hinge = torch.relu(1 - abnormal.max(dim=-1)[0] + normal.max(dim=-1)[0])
    return {
        "hinge": hinge.mean(),
        "smoothness": (abnormal[:, 1:] - abnormal[:, :-1]).pow(2).sum(dim=-1).mean(),
        "sparsity": abnormal.sum(dim=-1).mean(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/mil.npz"))
    args = parser.parse_args()
    sys.path.insert(0, str(args.reference_dir))
    from network.anomaly_detector_model import (
        AnomalyDetector,
        RegularizedLoss,
        custom_objective,
    )

    torch.manual_seed(0)
    net = AnomalyDetector(input_dim=D)
    criterion = RegularizedLoss(net, custom_objective)
    regularization = RegularizedLoss(net, lambda pred, true: torch.zeros(()))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N_STEPS, 2 * N, T, D, generator=gen)
    labels = torch.cat([torch.zeros(N), torch.ones(N)])
    out = {"commit": np.array(COMMIT), "x": x.numpy(), "labels": labels.numpy()}
    out["step_seeds"] = np.array(STEP_SEEDS)
    out.update({f"param0/{k}": v.detach().numpy().copy() for k, v in net.state_dict().items()})
    net.eval()
    with torch.no_grad():
        out["eval/scores"] = net(x[0]).numpy()
    net.train()
    opt = torch.optim.Adadelta(net.parameters(), lr=0.01, eps=1e-8)
    totals = []
    for step in range(N_STEPS):
        torch.manual_seed(STEP_SEEDS[step])
        scores = net(x[step])
        loss = criterion(scores, labels)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            objective = custom_objective(scores, labels)
            terms = _terms(scores, N)
            weighted = terms["hinge"] + LAMBDA * (terms["smoothness"] + terms["sparsity"])
            if abs(float((weighted - objective).detach())) > 1e-6:
                sys.exit(f"terms add up to {float(weighted)}, custom_objective {float(objective)}")
            out["out/scores"] = scores.detach().numpy()
            out["loss/objective"] = objective.detach().numpy()
            out["loss/regularization"] = regularization(scores, labels).detach().numpy()
            out["loss/total"] = loss.detach().numpy()
            out.update({f"terms/{k}": v.detach().numpy() for k, v in terms.items()})
            for key, p in net.named_parameters():
                out[f"grad/{key}"] = p.grad.numpy().copy()
        opt.step()
        totals.append(loss.item())
        if step in (0, N_STEPS - 1):
            tag = "step1" if step == 0 else f"step{N_STEPS}"
            for key, p in net.named_parameters():
                out[f"{tag}/{key}"] = p.detach().numpy().copy()
    out["loss5/total"] = np.array(totals, dtype=np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.npz")  # atomic: a cut run leaves no half file
    np.savez_compressed(tmp, **out)
    tmp.replace(args.out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); total losses {np.round(totals, 6)}")


if __name__ == "__main__":
    main()
