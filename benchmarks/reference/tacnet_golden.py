"""Golden training steps of TACnet made by the reference code -> tests/data/golden/tacnet.npz.

Reference: github.com/ckjeter/TACnet_Video_Anomaly_Detection_by_Temporal_Attention_Clustering_Network
at 4f611085bd7d8b20a505a731d05e03033580407a (``src/backbone.py`` ``TACnet``,
``src/loss.py`` ``InnerBagLoss``, ``MaxminLoss``, ``SmoothLoss``, ``SmallLoss``, the step of
``src/train.py`` with ``src/config.py``'s ``loss_parameter`` and ``main.py``'s AdamW at
``--lr`` 1e-5 (torch defaults otherwise) and ``MultiStepLR([20, 30, 40])`` per epoch). Its
k-means is ``kmeans_pytorch`` at github.com/subhadarship/kmeans_pytorch
f7f36bd1cb4e3a761d73d584866d0a9c6b4d2805 (the version with ``iter_limit``; PyPI's 0.3 lacks it).

Run (from the repository root; ``REF`` is a copy of the reference tree, unmodified)::

    python benchmarks/reference/tacnet_golden.py --reference-dir REF \
        [--out tests/data/golden/tacnet.npz]

in an environment with torch (2.13.0 CPU was used), scipy, ``ipdb==0.13.13`` (imported,
unused), ``numba==0.68.1`` (imported by ``kmeans_pytorch/soft_dtw_cuda.py``) and
``kmeans_pytorch`` installed from the commit above (``pip install --no-deps .``).

CPU: the reference picks ``cpu`` when CUDA is absent (``main.py`` line 32); nothing changed.

What runs: the TACnet head on feature batches (``src/train.py`` runs C3D first and trains it
too; the backbone is left out here, vadkit's default trains the head on stored features).
``TACnet.__init__`` hard-codes 4096-d input and 256-wide layers; to keep the file small the
script builds ``TACnet(attention_type="gate")``, sets ``L = D = 64`` and rebuilds the layers
the gate forward uses at that width, as ``__init__`` writes them (``tsn = Conv1d(64, 64, 3,
padding=1)``, ``attention_V``/``attention_U``/``attention_gate``, ``c_bag =
classifier(64)``, ``c_segment = classifier(65)``, so the heads are 64 -> 32 -> 32 -> 1);
the unused ``mlp1``, ``rnn`` and ``attention`` are dropped (no gradient). Batches: ``(2, 32,
64)``, one normal then one abnormal video (``--batch_size 2``; the forward needs 32
segments), labels ``[0, 1]``.

Randomness: dropout off (``net.eval()``: the forward does not branch on the mode, the
reference's own test does the same); k-means starts from ``np.random.choice``: ``np.random``
and ``torch`` are seeded with ``STEP_SEEDS[i]`` before step i and the indices it drew are
recorded (``kmeans_init``, ``(steps, videos, 2)``) by wrapping ``kmeans_pytorch.initialize``
without changing its result; vadkit's test passes them to its k-means as ``init``. The
assignment of every video (``kmeans_assign``) is saved too.

Saved: ``param0/*`` (the reference's default init of the rebuilt layers after
``torch.manual_seed(0)``), ``x`` ``(5, 2, 32, 64)``, ``labels``, step 1's forward outputs
(``out/feature``, ``out/output_seg``, ``out/output`` ``(2, 2)`` = [0.5 bag, 0.5 cluster],
``out/A``), loss terms (``loss/bag``, ``inner``, ``maxmin``, ``smooth``, ``small``,
``total``), gradients (``grad/*``), ``step1/*``, ``step5/*`` and ``loss5/total``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

COMMIT = "4f611085bd7d8b20a505a731d05e03033580407a"
KMEANS_COMMIT = "f7f36bd1cb4e3a761d73d584866d0a9c6b4d2805"
D_IN, WIDTH, T, N_STEPS = 64, 64, 32, 5
STEP_SEEDS = [200, 201, 202, 203, 204]


def build(ref: Path):
    sys.path.insert(0, str(ref))
    import kmeans_pytorch
    import src.backbone as backbone
    import src.config as config
    import src.loss as loss

    net = backbone.TACnet(SimpleNamespace(attention_type="gate"), torch.device("cpu"))
    del net.mlp1, net.rnn, net.attention
    torch.manual_seed(0)
    net.L = net.D = WIDTH
    net.tsn = nn.Conv1d(D_IN, WIDTH, kernel_size=3, padding=1)
    net.attention_V = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Tanh())
    net.attention_U = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Sigmoid())
    net.attention_gate = nn.Linear(WIDTH, 1)
    net.c_bag = net.classifier(WIDTH)
    net.c_segment = net.classifier(WIDTH + 1)

    drawn, assigned = [], []
    original_init, original_kmeans = kmeans_pytorch.initialize, backbone.kmeans

    def recording_init(X, num_clusters, seed):
        state = original_init(X, num_clusters, seed)
        drawn.append([int((X == row).all(dim=1).nonzero()[0]) for row in state])
        return state

    def recording_kmeans(*args, **kwargs):
        cluster, centres = original_kmeans(*args, **kwargs)
        assigned.append(cluster.numpy().copy())
        return cluster, centres

    kmeans_pytorch.initialize = recording_init
    backbone.kmeans = recording_kmeans
    terms = {
        "inner": loss.InnerBagLoss(torch.device("cpu")),
        "maxmin": loss.MaxminLoss(),
        "smooth": loss.SmoothLoss(),
        "small": loss.SmallLoss(),
    }
    return net, terms, config.loss_parameter, drawn, assigned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/data/golden/tacnet.npz"))
    args = parser.parse_args()
    net, terms, weights, drawn, assigned = build(args.reference_dir)
    x = torch.randn(N_STEPS, 2, T, D_IN, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1])
    out = {"commit": np.array(COMMIT), "kmeans_commit": np.array(KMEANS_COMMIT)}
    out |= {"x": x.numpy(), "labels": labels.numpy(), "step_seeds": np.array(STEP_SEEDS)}
    out |= {f"param0/{k}": v.detach().numpy().copy() for k, v in net.state_dict().items()}
    net.eval()  # dropout off
    opt = torch.optim.AdamW([{"params": net.parameters(), "lr": 1e-5}])
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [20, 30, 40], gamma=0.1)
    bce, totals = nn.BCELoss(), []
    for step in range(N_STEPS):
        np.random.seed(STEP_SEEDS[step])
        torch.manual_seed(STEP_SEEDS[step])
        feature, clusters, output_seg, output_bag, A = net(x[step])
        output = torch.sum(output_bag, 1)
        parts = {"bag": bce(output.view(-1), labels.view(-1).type(torch.float))}
        parts["inner"] = terms["inner"](clusters, labels)
        parts["maxmin"] = terms["maxmin"](output_seg, labels)
        parts["smooth"] = terms["smooth"](output_seg)
        parts["small"] = terms["small"](output_seg)
        order = ["bag", "inner", "maxmin", "smooth", "small"]  # src/train.py losses list
        total = sum(p * parts[k] for p, k in zip(weights, order, strict=True))
        opt.zero_grad()
        total.backward()
        if step == 0:
            named = {"feature": feature, "output_seg": output_seg, "output": output_bag, "A": A}
            out |= {f"out/{k}": v.detach().numpy() for k, v in named.items()}
            out |= {f"loss/{k}": np.float32(float(v)) for k, v in parts.items()}
            out["loss/total"] = np.float32(total.item())
            out |= {f"grad/{k}": p.grad.numpy().copy() for k, p in net.named_parameters()}
        opt.step()
        totals.append(total.item())
        if step in (0, N_STEPS - 1):
            tag = f"step{step + 1}"
            out |= {f"{tag}/{k}": p.detach().numpy().copy() for k, p in net.named_parameters()}
    sched.step()  # one epoch of 5 steps: the lr stays 1e-5 (milestones at epochs 20, 30, 40)
    out["kmeans_init"] = np.array(drawn).reshape(N_STEPS, 2, 2)
    out["kmeans_assign"] = np.array(assigned).reshape(N_STEPS, 2, T)
    out["loss5/total"] = np.array(totals, dtype=np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e3:.0f} kB); total losses {np.round(totals, 6)}")


if __name__ == "__main__":
    main()
