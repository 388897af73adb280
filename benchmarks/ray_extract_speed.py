"""Frames/s of local versus Ray extraction on this machine, and the costs the scaling model needs.

Run:  python benchmarks/ray_extract_speed.py [--videos 4] [--frames 96] [--size 240x320]
      [--backbone efficientnet_lite0] [--cpus 2] [--workers 1]

Writes ``--videos`` synthetic videos, then measures in one run:
  decode     frames/s of read_frames + clip_batches alone (one process, no network)
  encode     frames/s of Encoder.encode_batch alone on pre-cut batches (one worker)
  local      frames/s of ``vadkit extract`` (engine local)
  ray        frames/s of ``vadkit extract --engine ray`` on a fresh local cluster of ``--cpus``
             CPUs (cluster start-up timed apart), and the ratio ray / local; the fixed cost
             of a job (actors start and load the model) is timed on one 8-frame video
and prints one JSON object. docs/scaling.md turns these into the N-worker model.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--size", default="240x320", help="HxW of the synthetic videos")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    ap.add_argument("--workers", type=int, default=None, help="encoder actors [CPUs // 2]")
    args = ap.parse_args()

    import numpy as np
    import ray
    import torch

    from vadkit.datasets.synthetic import render_frames, write_video
    from vadkit.engines.ray_engine import extract_ray
    from vadkit.extract.encoder import load_encoder
    from vadkit.extract.engine import ExtractOptions, extract
    from vadkit.extract.stages import clip_batches, read_frames

    h, w = (int(x) for x in args.size.split("x"))
    threads = torch.get_num_threads()
    options = ExtractOptions()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        videos = root / "videos"
        videos.mkdir()
        for i in range(args.videos):
            frames = render_frames(args.frames, (h, w), seed=i)
            write_video(videos / f"v{i:02d}.mp4", frames)
        paths = sorted(videos.iterdir())
        n_frames = args.videos * args.frames

        kw = {"random_init": True, "progress": False}
        local = extract(videos, root / "local", args.backbone, **kw)
        encoder = load_encoder(args.backbone, None, random_init=True)
        encoder.encode_batch(
            next(clip_batches(read_frames(paths[0]), encoder.config, options)), options
        )  # warm: first calls of a network are slower
        t = time.perf_counter()
        cut = [list(clip_batches(read_frames(p, p.stem), encoder.config, options)) for p in paths]
        decode_s = time.perf_counter() - t
        t = time.perf_counter()
        for batches in cut:
            encoder.reset()
            np.concatenate([encoder.encode_batch(b, options) for b in batches])
        encode_s = time.perf_counter() - t
        del cut

        t = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        startup_s = time.perf_counter() - t
        try:  # the fixed cost of a job (actors start, load the model): one 8-frame video
            one = root / "one"
            one.mkdir()
            write_video(one / "w.mp4", render_frames(8, (h, w)))
            t = time.perf_counter()
            extract_ray(one, root / "ray_one", args.backbone, workers=args.workers, **kw)
            job_s = time.perf_counter() - t
            t = time.perf_counter()
            dist = extract_ray(videos, root / "ray", args.backbone, workers=args.workers, **kw)
            ray_s = time.perf_counter() - t
        finally:
            ray.shutdown()
        same = all(
            np.array_equal(np.asarray(local.store.load(v)), np.asarray(dist.store.load(v)))
            for v in local.store.ids
        )
    local_fps = local.frames / local.seconds
    ray_fps = dist.frames / ray_s
    print(json.dumps({
        "videos": args.videos, "frames_per_video": args.frames, "size": args.size,
        "backbone": args.backbone, "torch_threads": threads, "ray_cpus": args.cpus,
        "decode_fps": round(n_frames / decode_s, 1),
        "encode_fps_one_worker": round(n_frames / encode_s, 1),
        "local_fps": round(local_fps, 1),
        "ray_fps": round(ray_fps, 1),
        "ray_over_local": round(ray_fps / local_fps, 3),
        "ray_fps_without_job_start": round(dist.frames / max(ray_s - job_s, 1e-9), 1),
        "ray_cluster_start_s": round(startup_s, 1),
        "ray_job_start_s": round(job_s, 1),
        "ray_peak_rss_mib": {k: round(v) for k, v in dist.peak_rss_mib.items()},
        "stores_equal": same,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
