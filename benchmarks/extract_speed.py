"""Extraction speed per backbone against PyAV's decode-only speed on the same input.

Run:  python benchmarks/extract_speed.py [--video PATH] [--frames 128] [--threads 2]

Prints, per backbone, frames/s of `vadkit.extract` (decode + transforms + network +
store write) next to frames/s of decoding alone (the ceiling), and their ratio, all
measured in this one run. Backbones without a weights file run with random weights
(same cost). Numbers depend on the machine; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from vadkit.backbones.registry import list_backbones
from vadkit.extract.engine import ExtractOptions, extract
from vadkit.io.video import open_video


def decode_fps(path: Path, repeat: int = 3) -> float:
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        with open_video(path) as reader:
            n = sum(1 for _ in reader.iter_frames())
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, help="input video (default: a synthetic 240x320 clip)")
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backbones", nargs="*", default=list_backbones())
    ap.add_argument("--crop", default="center", choices=["center", "five", "ten"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="vadkit-bench-"))
    video = args.video
    if video is None:
        from vadkit.datasets.synthetic import render_frames, write_video

        video = write_video(tmp / "bench.mp4", render_frames(args.frames, (240, 320)))
    ceiling = decode_fps(video)
    print(f"input {video}  torch threads {torch.get_num_threads()}  crop {args.crop}")
    print(f"decode only (PyAV): {ceiling:.0f} frames/s")
    print(f"{'backbone':<20} {'frames/s':>9} {'decode fps':>11} {'ratio':>7}")
    for name in args.backbones:
        weights_kw = {"random_init": True} if name != "efficientnet_lite0" else {}
        try:
            extract(  # warm-up run, not timed (first-call allocations)
                [_item(video)],
                tmp / f"warm-{name}",
                name,
                progress=False,
                options=ExtractOptions(crop=args.crop, clip_len=16),
                **weights_kw,
            )
            start = time.perf_counter()
            res = extract(
                [_item(video)],
                tmp / f"store-{name}",
                name,
                progress=False,
                options=ExtractOptions(crop=args.crop, clip_len=16),
                **weights_kw,
            )
            fps = res.frames / (time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - report and go on
            print(f"{name:<20} error: {exc}")
            continue
        print(f"{name:<20} {fps:>9.1f} {ceiling:>11.0f} {fps / ceiling:>7.4f}")


def _item(path: Path):
    from vadkit.io.inputs import InputItem

    return InputItem(id=path.stem, path=path)


if __name__ == "__main__":
    main()
