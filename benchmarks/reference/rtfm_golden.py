"""Golden training steps of RTFM made by the reference code -> tests/data/golden/rtfm.npz.

Reference: github.com/tianyu0207/RTFM at cf938f4c38c908ba19936ecfc60d54de7da0d8b9
(``model.Model``, ``model.Aggregate``, ``model.NONLocalBlock1D`` / ``_NonLocalBlockND``,
``model.weight_init``; ``train.train`` with ``train.RTFM_loss(0.0001, 100)``,
``train.sparsity(.., 8e-3)``, ``train.smooth(.., 8e-4)``; the optimizer of ``main.py``:
``Adam(lr=config.lr[0], weight_decay=0.005)``, lr constant 0.001 (``option.py``
``'[0.001]*15000'``), betas (0.9, 0.999)).

Run (from the repository root; ``REF`` is a copy of the reference tree, made CPU-able below)::

    python benchmarks/reference/rtfm_golden.py --reference-dir REF \
        [--out tests/data/golden/rtfm.npz]

with torch (2.13.0 CPU was used) and numpy; only ``model.py`` and ``train.py`` are imported
(they need nothing else), so the reference's ``visdom`` / ``sklearn`` imports
(``main.py``, ``utils.py``, ``test_10crop.py``) are not needed: ``train.train`` gets a stub
``viz`` whose ``plot_lines`` records the values it is given.

CPU: ``train.py`` line 67 (``label = label.cuda()`` in ``RTFM_loss.forward``) is the only line
that stops the reference on CPU; ``.cuda()`` was deleted in the copy
(``sed -i '67s/\\.cuda()//' train.py``), nothing else changed. The script refuses a copy that
still has it.

Shapes: the reference's layout is kept exactly, because ``model.Model`` and ``train.train``
hard-code it: 10 crops (``features[0:self.batch_size*10]``), 32 snippets
(``scores.view(batch_size * 32 * 2, -1)``, ``num_segments = 32`` so top-k = 32 // 10 = 3),
batches of n normal then n abnormal videos, here n = 2: input ``(4, 10, 32, D)``.
``Aggregate.__init__`` hard-codes 2048 / 512 channels, so the script builds
``Model(n_features=16, batch_size=2)`` and swaps the sub-modules of its ``Aggregate`` for the
same layers at width D = 16 (``conv_1..3``: ``Conv1d(16, 4, 3, dilation=1/2/4) -> ReLU ->
BatchNorm1d(4)``; ``conv_4``: ``Conv1d(16, 4, 1, bias=False) -> ReLU``; ``conv_5``:
``Conv1d(16, 16, 3, bias=False) -> ReLU -> BatchNorm1d(16)``; ``non_local``: the reference's
``NONLocalBlock1D(4, sub_sample=False, bn_layer=True)``, inner width 4 // 2 = 2) and the
classifier ``fc1..3`` for ``Linear(16, 8)``, ``Linear(8, 4)``, ``Linear(4, 1)``, then re-applies
the reference's ``weight_init`` as ``Model.__init__`` does; ``Aggregate.forward`` and
``Model.forward`` read every width from their input.

Randomness: the reference uses one ``nn.Dropout(0.7)`` for the features, the classifier and the
snippet masks of the top-k (``select_idx = self.drop_out(ones)``); its masks are drawn
abnormal first, vadkit draws one mask for the whole batch, so the random streams cannot
coincide. The script swaps ``drop_out`` for ``nn.Dropout(0.0)`` (vadkit: ``dropout=0.0``); the
model stays in train mode (BatchNorm on batch statistics, as in training). Nothing else is
random.

Saved: ``param0/*`` (initial state_dict: the reference's init after ``torch.manual_seed(0)``),
``x`` (5 batches, stored as float16; every value is exactly a float16 and is used as float32),
``labels``, step 1's forward outputs (``out/*``: the reference's return tuple, named), loss
terms (``loss/bce``, ``loss/magnitude`` unweighted, ``loss/smooth``, ``loss/sparsity`` weighted
as ``train.py`` returns them, ``loss/total``), gradients of every parameter (``grad/*``),
``step1/*`` and ``step5/*`` (state_dict after 1 and 5 Adam steps, batch i at step i),
``loss5/total`` (the cost of each step, as ``train.train`` plots it), and an eval forward
after step 5 (``eval/x`` ``(1, 10, 40, 16)`` float16, ``eval/scores`` ``(1, 40)``: the logits
``test_10crop.py`` takes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

COMMIT = "cf938f4c38c908ba19936ecfc60d54de7da0d8b9"
N, CROPS, T, D, N_STEPS = 2, 10, 32, 16, 5
BRANCH, H1, H2 = D // 4, 8, 4
# names of the 10 values model.Model.forward returns (see train.train's unpacking)
FORWARD = (
    "score_abnormal",
    "score_normal",
    "feat_select_abn",
    "feat_select_normal",
    None,  # feat_abn_bottom (= feat_select_abn)
    None,  # feat_normal_bottom (= feat_select_abn)
    "scores",
    None,  # scores_nor_bottom (= feat_select_abn)
    None,  # scores_nor_abn_bag (= feat_select_abn)
    "feat_magnitudes",
)


def _import_reference(ref: Path):
    line = (ref / "train.py").read_text().splitlines()[66]
    if ".cuda()" in line:
        sys.exit(f"{ref / 'train.py'} line 67 still calls .cuda(); apply the CPU edit above")
    sys.path.insert(0, str(ref))
    import model
    import train

    return model, train


def _conv_bn(d_in: int, d_out: int, dilation: int) -> nn.Sequential:
    """``Aggregate.conv_1..3`` at other widths (same layers, same order)."""
    conv = nn.Conv1d(d_in, d_out, 3, stride=1, dilation=dilation, padding=dilation)
    return nn.Sequential(conv, nn.ReLU(), nn.BatchNorm1d(d_out))


def build(ref: Path):
    model, train = _import_reference(ref)
    torch.manual_seed(0)
    net = model.Model(D, N)
    agg = net.Aggregate
    agg.conv_1, agg.conv_2, agg.conv_3 = (_conv_bn(D, BRANCH, d) for d in (1, 2, 4))
    agg.conv_4 = nn.Sequential(nn.Conv1d(D, BRANCH, 1, stride=1, padding=0, bias=False), nn.ReLU())
    agg.conv_5 = nn.Sequential(
        nn.Conv1d(D, D, 3, stride=1, padding=1, bias=False), nn.ReLU(), nn.BatchNorm1d(D)
    )
    agg.non_local = model.NONLocalBlock1D(BRANCH, sub_sample=False, bn_layer=True)
    net.fc1, net.fc2, net.fc3 = nn.Linear(D, H1), nn.Linear(H1, H2), nn.Linear(H2, 1)
    net.drop_out = nn.Dropout(0.0)
    net.apply(model.weight_init)  # as Model.__init__ does; BatchNorms keep their init
    return net, model, train


class _Viz:
    """Stands in for ``utils.Visualizer``: ``train.train`` reports its losses here."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def plot_lines(self, name: str, y: float) -> None:
        self.values.setdefault(name, []).append(y)


def _state(net: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/rtfm.npz"))
    args = parser.parse_args()
    net, _, train = build(args.reference_dir)
    gen = torch.Generator().manual_seed(1)
    # float16-exact inputs halve the stored size; used as float32 on both sides
    x = torch.randn(N_STEPS, 2 * N, CROPS, T, D, generator=gen).half().float()
    eval_x = torch.randn(1, CROPS, 40, D, generator=gen).half().float()
    labels = torch.tensor([0.0] * N + [1.0] * N)
    out = {"commit": np.array(COMMIT), "x": x.half().numpy(), "labels": labels.numpy()}
    out.update({f"param0/{k}": v for k, v in _state(net).items()})

    captured: dict[str, object] = {}
    net.register_forward_hook(lambda _m, _i, o: captured.__setitem__("forward", o))
    rtfm_forward = train.RTFM_loss.forward

    def record_rtfm(self, *a):
        captured["rtfm_args"] = a
        return rtfm_forward(self, *a)

    terms = {}

    def recorder(name: str):
        fn = getattr(train, name)

        def record(*a):
            terms[name] = fn(*a)
            return terms[name]

        return record

    # train.train looks these up in its module at call time: record what it computes
    for name in ("sparsity", "smooth"):
        setattr(train, name, recorder(name))
    train.RTFM_loss.forward = record_rtfm

    viz = _Viz()
    opt = torch.optim.Adam(net.parameters(), lr=0.001, weight_decay=0.005)
    for step in range(N_STEPS):
        batches = iter([(x[step, :N], labels[:N])]), iter([(x[step, N:], labels[N:])])
        train.train(*batches, net, N, opt, viz, torch.device("cpu"))
        if step == 0:
            for key, value in zip(FORWARD, captured["forward"], strict=True):
                if key is not None:
                    out[f"out/{key}"] = value.detach().numpy()
            # RTFM_loss returns only its total; split it by running it again with alpha = 0
            # (BCE alone) and alpha = 1 (BCE + magnitude loss) in float64
            s_n, s_a, nl, al, f_n, f_a = (a.detach().double() for a in captured["rtfm_args"])
            bce = train.RTFM_loss(0.0, 100)(s_n, s_a, nl, al, f_n, f_a)
            both = train.RTFM_loss(1.0, 100)(s_n, s_a, nl, al, f_n, f_a)
            out["loss/bce"] = np.float32(bce.item())
            out["loss/magnitude"] = np.float32((both - bce).item())
            out["loss/smooth"] = terms["smooth"].detach().numpy()
            out["loss/sparsity"] = terms["sparsity"].detach().numpy()
            out["loss/total"] = np.float32(viz.values["loss"][0])
            for key, p in net.named_parameters():
                out[f"grad/{key}"] = p.grad.numpy().copy()  # train() steps, never zeroes after
            out.update({f"step1/{k}": v for k, v in _state(net).items()})
    out.update({f"step{N_STEPS}/{k}": v for k, v in _state(net).items()})
    out["loss5/total"] = np.array(viz.values["loss"], dtype=np.float32)
    net.eval()
    with torch.no_grad():
        out["eval/x"] = eval_x.half().numpy()
        out["eval/scores"] = net(eval_x)[6].squeeze(-1).numpy()  # test_10crop.py's logits
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); total losses {np.round(out['loss5/total'], 6)}")


if __name__ == "__main__":
    main()
