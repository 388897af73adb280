"""Golden training steps of S3R made by the reference code -> tests/data/golden/s3r.npz.

Reference: github.com/louisYen/S3R at 683533512d14b0157ebffdbe652be38ec82fe830
(``anomaly/models/detectors/detector.py`` ``S3R`` / ``Aggregate`` / ``NonLocalBlock1D`` /
``weight_init``, ``anomaly/models/modules`` ``enNormal`` / ``deNormal`` / ``GlobalStatistics``;
``anomaly/engine/trainer.py`` ``do_train`` with ``RTFM_loss(0.0001, 100)``,
``sparsity_loss(.., 8e-3)``, ``smooth_loss(.., 8e-4)`` and ``MacroLoss``; the optimizer of
``tools/trainval_anomaly_detector.py``: ``Adam(lr=config.lr[0], weight_decay=0.005)``, lr
constant 0.001 (``configs/ucf_crime/ucf_crime_dl.py`` ``init_lr``, the same every step),
betas (0.9, 0.999)).

Run (from the repository root; ``REF`` is a copy of the reference tree, made CPU-able below;
``DEPS`` holds the one extra package)::

    python -m pip install --no-deps --target DEPS einops==0.4.1
    PYTHONPATH=DEPS python benchmarks/reference/s3r_golden.py --reference-dir REF \
        [--out tests/data/golden/s3r.npz]

with torch (2.13.0 CPU was used), numpy, scikit-learn (imported by
``anomaly/engine/inference.py``) and ``einops==0.4.1`` (the version the reference's README
lists; ``detector.py`` and ``memory_module.py`` use ``rearrange``). Only the model and
``anomaly.engine.trainer`` are imported, so the reference's ``cv2`` / ``pandas`` / ``tap`` /
``munch`` imports (data loaders, tools) are not needed.

CPU: ``detector.py`` line 6 and ``trainer.py`` line 6
(``torch.set_default_tensor_type('torch.cuda.FloatTensor')``) stop the reference on a CPU build
at import (``TypeError: type torch.cuda.FloatTensor not available``); both lines were
commented out in the copy. ``trainer.py`` lines 42 and 67 (``label.cuda()`` in
``RTFM_loss.forward``, ``torch.cat((label, label), dim = 0).cuda()`` in ``MacroLoss.forward``)
had ``.cuda()`` deleted. Nothing else changed::

    sed -i '6s/^torch\\.set_default_tensor_type/# torch.set_default_tensor_type/' \\
        anomaly/models/detectors/detector.py anomaly/engine/trainer.py
    sed -i '42s/\\.cuda()//;67s/\\.cuda()//' anomaly/engine/trainer.py

The script refuses a copy that still has them.

Shapes: ``S3R.__init__`` builds every layer from ``dim`` (``Aggregate(dim)``: D/4 branches,
GroupNorm(8), non-local inner D/8; ``enNormal``: D/4 attention; ``deNormal``: D/16 gate;
classifiers D -> D/4 -> D/16 -> 1), so the script builds the reference's own
``S3R(dim=32, batch_size=2, quantize_size=32, dropout=0.0, modality='taskaware')`` without
swapping anything: branches of 8 channels, GroupNorm(8, 8) (one channel per group), non-local
inner 4, attention 8, gate 2, classifier 32 -> 8 -> 2 -> 1. ``do_train`` hard-codes 32 snippets
(``video_scores.view(batch_size * 32 * 2, -1)``); crops are read from the input, 10 as the
reference's features. Batches: n = 2 normal then n = 2 abnormal videos, ``(4, 10, 32, 32)``;
the dictionary (8 atoms x 32, a fixed input: learning it is not part of the training step) is
given to every video as the loaders do (``(4, 8, 32)``, ``torch.cat((macro, macro))``).
``video_projection`` / ``macro_projection`` are built but never used by ``forward``: they get
no gradient, Adam skips them, and they are not saved.

Randomness: the reference uses ``nn.Dropout(dropout)`` after both trunks, in both classifiers
and for the top-k snippet masks (``self.drop_out(ones)``, drawn abnormal first then normal;
vadkit draws one mask for the whole batch), so the random streams cannot coincide: dropout is
0.0 on both sides. The model stays in train mode (BatchNorm of the non-local blocks on batch
statistics). Nothing else is random.

Saved: ``param0/*`` (initial state_dict: the reference's init after ``torch.manual_seed(0)``),
``dictionary`` ``(8, 32)``, ``x`` (5 batches; this and ``dictionary`` stored as float16: every
value is exactly a float16 and is used as float32), ``labels``, step 1's forward outputs
(``out/*``: the reference's output dict, without its aliases of ``feature_select_anomaly``),
loss terms (``loss/bce``, ``loss/magnitude`` unweighted; ``loss/smooth``, ``loss/sparsity``
weighted as ``do_train`` computes them; ``loss/macro``; ``loss/total``), gradients of every
parameter (``grad/*``), ``step1/*`` and ``step5/*`` (state_dict after 1 and 5 Adam steps,
batch i at step i), ``loss5/total`` (the cost ``do_train`` returns at each step), and an eval
forward after step 5 (``eval/x`` ``(1, 10, 40, 32)`` float16, ``eval/scores`` ``(1, 40)``:
the ``video_scores`` ``inference.py`` takes).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

COMMIT = "683533512d14b0157ebffdbe652be38ec82fe830"
N, CROPS, T, D, ATOMS, N_STEPS = 2, 10, 32, 32, 8, 5
UNUSED = ("video_projection.", "macro_projection.")  # built, never in forward
# (file, 1-based line, text that must be gone) of the CPU edits in the docstring
CPU_EDITS = (
    ("anomaly/models/detectors/detector.py", 6, "torch.set_default_tensor_type"),
    ("anomaly/engine/trainer.py", 6, "torch.set_default_tensor_type"),
    ("anomaly/engine/trainer.py", 42, ".cuda()"),
    ("anomaly/engine/trainer.py", 67, ".cuda()"),
)
# outputs of S3R.forward worth saving (the others alias feature_select_anomaly)
FORWARD = (
    "anomaly_score",
    "regular_score",
    "feature_select_anomaly",
    "feature_select_regular",
    "video_scores",
    "macro_scores",
    "feature_magnitudes",
    "memory_attn",
)


def _import_reference(ref: Path):
    for name, number, gone in CPU_EDITS:
        line = (ref / name).read_text().splitlines()[number - 1]
        if gone in line.split("#")[0]:
            sys.exit(f"{ref / name} line {number} still has {gone}; apply the CPU edits above")
    sys.path.insert(0, str(ref))
    from anomaly.engine import trainer
    from anomaly.models.detectors import detector

    return detector, trainer


def _state(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {
        k: v.detach().numpy().copy()
        for k, v in net.state_dict().items()
        if not k.startswith(UNUSED)
    }


def _recorder(module, name: str, terms: dict):
    fn = getattr(module, name)

    def record(*a):
        terms[name] = fn(*a)
        return terms[name]

    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/s3r.npz"))
    args = parser.parse_args()
    detector, trainer = _import_reference(args.reference_dir)
    torch.manual_seed(0)
    net = detector.S3R(D, N, T, dropout=0.0, modality="taskaware")
    gen = torch.Generator().manual_seed(1)
    # float16-exact inputs halve the stored size; used as float32 on both sides
    x = torch.randn(N_STEPS, 2 * N, CROPS, T, D, generator=gen).half().float()
    eval_x = torch.randn(1, CROPS, 40, D, generator=gen).half().float()
    atoms = torch.randn(ATOMS, D, generator=gen).half().float()
    labels = torch.tensor([0.0] * N + [1.0] * N)
    out = {"commit": np.array(COMMIT), "x": x.half().numpy(), "labels": labels.numpy()}
    out["dictionary"] = atoms.half().numpy()
    out.update({f"param0/{k}": v for k, v in _state(net).items()})

    captured: dict[str, object] = {}
    net.register_forward_hook(lambda _m, _i, o: captured.__setitem__("forward", o))
    rtfm_forward, macro_forward = trainer.RTFM_loss.forward, trainer.MacroLoss.forward

    def record_rtfm(self, *a):
        captured["rtfm_args"] = a
        return rtfm_forward(self, *a)

    def record_macro(self, *a):
        captured["macro"] = macro_forward(self, *a)
        return captured["macro"]

    # do_train looks these up in its module at call time: record what it computes
    terms: dict[str, torch.Tensor] = {}
    for name in ("sparsity_loss", "smooth_loss"):
        setattr(trainer, name, _recorder(trainer, name, terms))
    trainer.RTFM_loss.forward, trainer.MacroLoss.forward = record_rtfm, record_macro

    # each loader yields (video, label, dictionary, regular_label) batches, as video_dataset.py
    dictionary = atoms.expand(N, ATOMS, D)
    zeros = torch.zeros(N)
    opt = torch.optim.Adam(net.parameters(), lr=0.001, weight_decay=0.005)
    costs = []
    for step in range(N_STEPS):
        regular = iter([(x[step, :N], labels[:N], dictionary, zeros)])
        anomaly = iter([(x[step, N:], labels[N:], dictionary, zeros)])
        cost = trainer.do_train(regular, anomaly, net, N, opt, torch.device("cpu"))
        costs.append(cost.item())
        if step == 0:
            for key in FORWARD:
                out[f"out/{key}"] = captured["forward"][key].detach().numpy()
            # RTFM_loss returns only its total; split it by running it again with alpha = 0
            # (BCE alone) and alpha = 1 (BCE + magnitude loss) in float64
            args64 = [a.detach().double() for a in captured["rtfm_args"]]
            bce = trainer.RTFM_loss(0.0, 100)(*args64)
            both = trainer.RTFM_loss(1.0, 100)(*args64)
            out["loss/bce"] = np.float32(bce.item())
            out["loss/magnitude"] = np.float32((both - bce).item())
            out["loss/smooth"] = terms["smooth_loss"].detach().numpy()
            out["loss/sparsity"] = terms["sparsity_loss"].detach().numpy()
            out["loss/macro"] = captured["macro"].detach().numpy()
            out["loss/total"] = np.float32(cost.item())
            for key, p in net.named_parameters():
                if key.startswith(UNUSED):
                    assert p.grad is None, key  # so Adam never touches them
                    continue
                out[f"grad/{key}"] = p.grad.numpy().copy()  # do_train steps, never zeroes after
            out.update({f"step1/{k}": v for k, v in _state(net).items()})
    out.update({f"step{N_STEPS}/{k}": v for k, v in _state(net).items()})
    out["loss5/total"] = np.array(costs, dtype=np.float32)
    net.eval()
    with torch.no_grad():
        out["eval/x"] = eval_x.half().numpy()
        # inference.py: one video with its dictionary, logits = video_scores squeezed
        scores = net(eval_x, atoms[None])["video_scores"]
        out["eval/scores"] = scores.squeeze(-1).numpy()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.npz")  # atomic: no half-written golden file
    np.savez_compressed(tmp, **out)
    os.replace(tmp, args.out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); total losses {np.round(out['loss5/total'], 6)}")


if __name__ == "__main__":
    main()
