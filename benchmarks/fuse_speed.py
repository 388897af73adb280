"""Network speed with BatchNorm folded into the convolutions, against the plain model.

Run:  python benchmarks/fuse_speed.py [--threads 2]

Times forward passes of each BatchNorm backbone (random weights, same cost as real ones)
alternating plain and folded, keeps the best of four rounds each, and prints the speed-up
measured in this one run.
"""

from __future__ import annotations

import argparse
import time

import torch

from vadkit.backbones.fuse import fuse_batchnorm
from vadkit.backbones.registry import build_backbone

INPUTS = {
    "efficientnet_lite0": (8, 3, 224, 224),
    "i3d_r50": (2, 3, 16, 224, 224),
    "r3d_18": (2, 3, 16, 112, 112),
    "r2plus1d_18": (2, 3, 16, 112, 112),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}")
    print(f"{'backbone':<20} {'plain /s':>9} {'folded /s':>10} {'speed-up':>9}")
    for name, shape in INPUTS.items():
        plain, _, _ = build_backbone(name, random_init=True)
        folded = fuse_batchnorm(plain)
        fmt = torch.channels_last if len(shape) == 4 else torch.contiguous_format
        plain, folded = plain.to(memory_format=fmt), folded.to(memory_format=fmt)
        x = torch.randn(*shape).contiguous(memory_format=fmt)
        best = {"plain": 0.0, "folded": 0.0}
        with torch.inference_mode():
            plain(x), folded(x)  # warm-up
            for _ in range(args.rounds):
                for key, model in (("plain", plain), ("folded", folded)):
                    start = time.perf_counter()
                    model(x)
                    best[key] = max(best[key], shape[0] / (time.perf_counter() - start))
        print(
            f"{name:<20} {best['plain']:>9.1f} {best['folded']:>10.1f} "
            f"{best['folded'] / best['plain']:>8.2f}x"
        )


if __name__ == "__main__":
    main()
