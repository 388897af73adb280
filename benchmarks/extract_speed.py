"""Extraction speed against the network's forward pass alone, measured in the same run.

Run:  python benchmarks/extract_speed.py [--frames 96] [--threads 2] [--rounds 2]

Per backbone, on its real input when present (EfficientNet-Lite0: the Ped2 frames
``/work/shared/data/ped2/testing/frames/01``; i3d_r50: the ShanghaiTech video
``/work/shared/data/videos/shanghaitech/01_002.avi``), else on a generated 240x320 video:

- forward only: the network on exactly the inputs extraction feeds it, already prepared;
- end to end, prefetch off / on: decode + crops + normalisation + network (``encode_video``,
  the code ``vadkit extract`` runs per video), with decoding in the main thread or a second one;
- ratio = forward-only time / end-to-end time (1.0: everything but the network is free).

The best of ``--rounds`` is kept for each. Backbones without a weights file run with random
weights (same cost). Temporary files are removed. Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from vadkit.extract import ExtractOptions, clip_batches, encode_video, load_encoder, read_frames
from vadkit.extract.transforms import normalize_input

DATA = Path("/work/shared/data")
REAL = {
    "efficientnet_lite0": DATA / "ped2" / "testing" / "frames" / "01",
    "i3d_r50": DATA / "videos" / "shanghaitech" / "01_002.avi",
}


def frames_of(source: Path, n: int):
    """The first ``n`` frames of ``source``, decoded live (a fresh pass each call)."""
    return (f for _, f in itertools.islice(read_frames(source), n))


def forward_inputs(source: Path, n: int, encoder, options) -> list[torch.Tensor]:
    """The network inputs extraction builds for the first ``n`` frames, batch by batch."""
    c, out = encoder.config, []
    seen: set[int] = set()
    for b in clip_batches(read_frames(list(frames_of(source, n))), c, options):
        pos = {int(f): j for j, f in enumerate(b.frames)}
        if c.kind == "frame":
            new = [j for j, f in enumerate(b.frames) if int(f) not in seen]
            seen.update(int(b.frames[j]) for j in new)
            if new:
                x = normalize_input(b.crops[:, new], c)
                out.append(x.reshape(-1, *x.shape[2:]))
        else:
            sel = torch.as_tensor(np.vectorize(pos.__getitem__)(b.index))
            x = normalize_input(b.crops[:, sel], c)
            B, L = b.index.shape
            out.append(x.permute(1, 0, 3, 2, 4, 5).reshape(-1, 3, L, *x.shape[-2:]))
    return out


def best_of(rounds: int, fn) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, source: Path, args) -> tuple[float, dict[bool, float]]:
    """Seconds of the forward pass alone and end to end (prefetch off / on), best of rounds."""
    encoder = load_encoder(name, random_init=name != "efficientnet_lite0")
    options = ExtractOptions(crop=args.crop, snippet_length=16, batch_size=args.batch_size)
    inputs = forward_inputs(source, args.frames, encoder, options)
    encoder.forward(inputs[0], args.batch_size)  # warm-up
    fwd = best_of(args.rounds, lambda: [encoder.forward(x, args.batch_size) for x in inputs])
    e2e = {}
    for prefetch in (False, True):
        opts = replace(options, prefetch=prefetch)
        e2e[prefetch] = best_of(
            args.rounds, lambda o=opts: encode_video(frames_of(source, args.frames), o, encoder)
        )
    return fwd, e2e


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=96, help="frames of each input to use")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backbones", nargs="*", default=list(REAL))
    ap.add_argument("--crop", default="center", choices=["center", "five", "ten"])
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, crop {args.crop}, {args.frames} frames")
    print(
        f"{'backbone':<20} {'input':<28} {'fwd s':>7} {'e2e off':>8} {'e2e on':>8} "
        f"{'ratio off':>9} {'ratio on':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="vadkit-bench-") as tmp:
        for name in args.backbones:
            source = REAL.get(name)
            if source is None or not source.exists():
                from vadkit.datasets.synthetic import render_frames, write_video

                source = write_video(
                    Path(tmp) / "bench.mp4", render_frames(args.frames, (240, 320))
                )
            fwd, e2e = measure(name, source, args)
            label = f"{source.parent.name}/{source.name}"[-28:]
            print(
                f"{name:<20} {label:<28} {fwd:>7.2f} {e2e[False]:>8.2f} {e2e[True]:>8.2f} "
                f"{fwd / e2e[False]:>9.3f} {fwd / e2e[True]:>9.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
