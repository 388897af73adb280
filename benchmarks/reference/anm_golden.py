"""Golden training steps of the salient-feature classifier (anm) made by the reference code
-> tests/data/golden/anm.npz.

Reference: github.com/sakurada-cnq/salient_feature_anomaly at
93013a38bc95c783405ecfc2ed79773d4c759221 (``network/video_classifier.py`` ``VideoClassifier``
with ``train.py``'s ``r=3, da=64``, ``nn.BCELoss`` and the bundled ``radam.RAdam`` at its
defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay, no schedule).

Run (from the repository root; ``REF`` is a copy of the reference tree, unmodified)::

    python benchmarks/reference/anm_golden.py --reference-dir REF \
        [--out tests/data/golden/anm.npz]

with torch (2.13.0 CPU was used; ``radam.py``'s ``add_(Number, Tensor)`` /
``addcmul_(Number, ...)`` calls still run there, with a deprecation warning). The two files
import only torch, numpy and math. CPU: ``train.py`` picks ``cpu`` when CUDA is absent;
nothing changed.

Shapes: the reference's training layout, ``(2n, T, F)`` single-crop sequences, n normal
then n abnormal (``train.py`` concatenates a normal and an abnormal batch of
``--batch-size`` each), here n = 2, T = 32 (``--T``), F = 64 (``--feature-size``; the
layers are built from it, so the model is the reference's at that width). 8 steps, batch i
at step i: the bundled RAdam makes no update while ``N_sma < 5``, i.e. on steps 1-5, so the
parameters after 1 and 5 steps equal the initial ones and ``step8/*`` holds the first three
real updates.

Randomness: dropout (0.3, on the attention matrix) stays on, as ``train.py`` trains in
``model.train()``: ``torch.manual_seed(STEP_SEEDS[i])`` right before step i's forward fixes
its mask; the forward draws nothing else, and vadkit applies its dropout to the same
``(N, T, r)`` tensor, so the same seed gives it the same mask. ``out/attention`` (after
dropout) shows the mask.

Saved: ``param0/*`` (the reference's init after ``torch.manual_seed(0)``, reference names),
``x`` ``(8, 4, 32, 64)``, ``labels``, step 1's ``out/output`` and ``out/attention``,
``loss/bce``, ``grad/*``, ``step1/*``, ``step5/*``, ``step8/*``, ``loss8/total`` and an
eval-mode forward of batch 0 (``eval/output``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

COMMIT = "93013a38bc95c783405ecfc2ed79773d4c759221"
N, T, F, N_STEPS, SAVED_STEPS = 2, 32, 64, 8, (1, 5, 8)
STEP_SEEDS = [300, 301, 302, 303, 304, 305, 306, 307]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/anm.npz"))
    args = parser.parse_args()
    sys.path.insert(0, str(args.reference_dir))
    from network.video_classifier import VideoClassifier
    from radam import RAdam

    torch.manual_seed(0)
    # attention=True only also returns the attention matrix; the computation is train.py's
    model = VideoClassifier(SimpleNamespace(feature_size=F), r=3, da=64, attention=True)
    criterion, optimizer = nn.BCELoss(), RAdam(model.parameters())
    x = torch.randn(N_STEPS, 2 * N, T, F, generator=torch.Generator().manual_seed(1))
    labels = torch.cat((torch.zeros(N).long(), torch.ones(N).long()), 0).float()
    out = {"commit": np.array(COMMIT), "x": x.numpy(), "labels": labels.numpy()}
    out["step_seeds"] = np.array(STEP_SEEDS)
    out |= {f"param0/{k}": v.detach().numpy().copy() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        out["eval/output"] = model(x[0])[0].numpy()
    model.train()
    totals = []
    for step in range(N_STEPS):
        torch.manual_seed(STEP_SEEDS[step])
        output, attention = model(x[step])
        loss = criterion(output, labels)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            out["out/output"] = output.detach().numpy()
            out["out/attention"] = attention.detach().numpy()
            out["loss/bce"] = np.float32(loss.item())
            out |= {f"grad/{k}": p.grad.numpy().copy() for k, p in model.named_parameters()}
        optimizer.step()
        totals.append(loss.item())
        if step + 1 in SAVED_STEPS:
            tag = f"step{step + 1}"
            out |= {f"{tag}/{k}": p.detach().numpy().copy() for k, p in model.named_parameters()}
    out["loss8/total"] = np.array(totals, dtype=np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); losses {np.round(totals, 6)}")


if __name__ == "__main__":
    main()
