"""Golden training steps of UR-DMU made by the reference code -> tests/data/golden/ur_dmu.npz.

Reference: github.com/henrryzh1/UR-DMU at 40cfdf5f8bebbc3b59373935f9d6ca00e2f32bbc
(``model.WSAD``, ``memory.Memory_Unit``, ``translayer.Transformer``, ``model.Temporal``,
``model.ADCLS_head``, ``train.AD_Loss``; the optimizer of ``ucf_main.py``: Adam, lr 1e-4
constant (``options.py`` ``'[0.0001]*3000'``), betas (0.9, 0.999), weight decay 5e-5).

Run (from the repository root; ``REF`` is a copy of the reference tree, made CPU-able below)::

    python benchmarks/reference/ur_dmu_golden.py --reference-dir REF \
        [--out tests/data/golden/ur_dmu.npz]

in an environment with torch (2.13.0 CPU was used) and the reference's imports:
``einops==0.8.1``, ``ipdb==0.13.13`` (imported by ``translayer.py``, unused) and
``visdom==0.2.4`` (imported by ``utils.py``, unused).

CPU: the reference calls ``.cuda()`` in ``translayer.py`` lines 56-57 (``tmp_ones``, ``tmp_n``
of the distance attention) and ``train.py`` lines 33, 36, 38, 39 (the BCE targets of
``AD_Loss``); those calls were deleted in the copy (``sed -i '56,57s/\\.cuda()//'
translayer.py; sed -i '33,39s/\\.cuda()//' train.py``), nothing else changed. The script
refuses a copy that still has them.

Shapes: the reference hard-codes 512-wide layers in ``WSAD.__init__``; to keep the file small
the script builds ``WSAD(D=64, a_nums=60, n_nums=60)`` and swaps its sub-modules for the
reference's own classes at width 32 (``Temporal(64, 32)``, ``Transformer(32, 2, 4, 8, 32,
dropout=0.5)``, ``Memory_Unit(60, 32)`` x 2, ``Linear(32, 32)`` x 2, ``ADCLS_head(64, 1)``,
whose hidden width 128 is the reference's); ``WSAD.forward`` reads every width from its
input. Batches are the reference's training layout: ``(2n, T, D)`` single-crop sequences, n
normal then n abnormal, here n = 2, T = 32 (top-k = 3), D = 64.

Randomness: dropout is off (the reference selects its training branch by ``net.flag``, so the
model runs ``flag="Train"`` in eval mode: training losses, no dropout); the only random draw
left is the reparameterisation noise (``torch.randn_like``), fixed by
``torch.manual_seed(STEP_SEEDS[i])`` right before step i's forward, on both sides.

Saved: ``param0/*`` (initial weights, the reference's default init after
``torch.manual_seed(0)``), ``x`` (5 batches), ``labels``, step 1's forward outputs
(``out/*``), loss terms (``loss/*``), gradients (``grad/*``), ``step1/*`` and ``step5/*``
(parameters after 1 and 5 Adam steps, batch i at step i), ``loss5/total`` (total loss of each
of the 5 steps), and a test-branch forward (``eval/x`` ``(1, 40, 64)``, ``eval/frame``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

COMMIT = "40cfdf5f8bebbc3b59373935f9d6ca00e2f32bbc"
N, T, D, WIDTH, N_STEPS = 2, 32, 64, 32, 5
STEP_SEEDS = [100, 101, 102, 103, 104]


def _import_reference(ref: Path):
    for name, lines in (("translayer.py", (56, 57)), ("train.py", (33, 36, 38, 39))):
        text = (ref / name).read_text().splitlines()
        if any(".cuda()" in text[i - 1] for i in lines):
            sys.exit(f"{ref / name} still calls .cuda(); apply the CPU edit in this docstring")
    sys.path.insert(0, str(ref))
    import memory
    import model
    import train
    import translayer

    return model, memory, translayer, train


def build(ref: Path):
    model, memory, translayer, train = _import_reference(ref)
    torch.manual_seed(0)
    net = model.WSAD(D, flag="Train", a_nums=60, n_nums=60)
    net.embedding = model.Temporal(D, WIDTH)
    net.selfatt = translayer.Transformer(WIDTH, 2, 4, 8, WIDTH, dropout=0.5)
    net.Amemory = memory.Memory_Unit(nums=60, dim=WIDTH)
    net.Nmemory = memory.Memory_Unit(nums=60, dim=WIDTH)
    net.encoder_mu = torch.nn.Sequential(torch.nn.Linear(WIDTH, WIDTH))
    net.encoder_var = torch.nn.Sequential(torch.nn.Linear(WIDTH, WIDTH))
    net.cls_head = model.ADCLS_head(2 * WIDTH, 1)
    return net, train.AD_Loss()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/ur_dmu.npz"))
    args = parser.parse_args()
    net, criterion = build(args.reference_dir)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N_STEPS, 2 * N, T, D, generator=gen)
    labels = torch.tensor([0.0] * N + [1.0] * N)
    eval_x = torch.randn(1, 40, D, generator=gen)
    out = {"commit": np.array(COMMIT), "x": x.numpy(), "labels": labels.numpy()}
    out["step_seeds"] = np.array(STEP_SEEDS)
    out.update({f"param0/{k}": v.detach().numpy().copy() for k, v in net.state_dict().items()})
    net.eval()  # dropout off; the branch is chosen by net.flag
    net.flag = "Test"
    with torch.no_grad():
        out["eval/x"] = eval_x.numpy()
        out["eval/frame"] = net(eval_x)["frame"].numpy()
    net.flag = "Train"
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999), weight_decay=0.00005)
    totals = []
    for step in range(N_STEPS):
        torch.manual_seed(STEP_SEEDS[step])
        result = net(x[step])
        cost, parts = criterion(result, labels)
        opt.zero_grad()
        cost.backward()
        if step == 0:
            for key, value in result.items():
                out[f"out/{key}"] = value.detach().numpy()
            for key, value in parts.items():
                out[f"loss/{key}"] = value.detach().numpy()
            for key, p in net.named_parameters():
                out[f"grad/{key}"] = p.grad.numpy().copy()
        opt.step()
        totals.append(cost.item())
        if step in (0, N_STEPS - 1):
            tag = "step1" if step == 0 else f"step{N_STEPS}"
            for key, p in net.named_parameters():
                out[f"{tag}/{key}"] = p.detach().numpy().copy()
    out["loss5/total"] = np.array(totals, dtype=np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); total losses {np.round(totals, 6)}")


if __name__ == "__main__":
    main()
