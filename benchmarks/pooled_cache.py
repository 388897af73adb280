"""Training batches from the pooled memmap cache against per-batch load-and-pool.

Run:  python benchmarks/pooled_cache.py [--videos 64] [--batches 5]

Writes a store of RTFM's shapes in a temporary folder (half normal, half anomalous videos of
T random snippets, 10 crops, 2048-d I3D-sized features), then times RTFM-style batches of
``--batch`` normal + ``--batch`` anomalous videos pooled to 32 segments, drawn two ways:
loading each video's ``.npy`` and pooling it (``vadkit.sampling.pool_segments``) per batch,
and slicing the pre-pooled cache (``vadkit.io.pooled.pooled_features``). Prints the one-off
cache build time and the speed-up measured in this one run; the folder is removed after.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from vadkit.io.pooled import pooled_features
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter
from vadkit.sampling import pool_segments


def make_store(path: Path, videos: int, crops: int, dim: int, max_t: int, seed: int) -> None:
    info = StoreInfo(backbone="i3d_r50", weights_sha256="random-init", dim=dim, crops=crops)
    writer = StoreWriter(path, info)
    rng = np.random.default_rng(seed)
    for i in range(videos):
        T = int(rng.integers(32, max_t + 1))
        feats = rng.random((T, crops, dim), dtype=np.float32)
        writer.add(f"v{i:04d}", feats, label=i % 2, split="train")
    writer.finalize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=64, help="Videos in the store (half anomalous).")
    ap.add_argument("--batch", type=int, default=32, help="Videos of each label per batch.")
    ap.add_argument("--batches", type=int, default=5, help="Batches timed each way.")
    ap.add_argument("--max-T", dest="max_t", type=int, default=160, help="Longest video.")
    ap.add_argument("--crops", type=int, default=10)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--segments", type=int, default=32)
    args = ap.parse_args()
    if args.videos < 2:
        ap.error("--videos must be 2 or more")
    per_label = min(args.batch, args.videos // 2)
    tmp = Path(tempfile.mkdtemp(prefix="vadkit-pooled-bench-"))
    try:
        start = time.perf_counter()
        make_store(tmp / "store", args.videos, args.crops, args.dim, args.max_t, seed=0)
        store = FeatureStore.open(tmp / "store")
        size = sum((store.path / e.file).stat().st_size for e in store.entries) / 2**20
        print(
            f"store: {len(store)} videos, {size:.0f} MiB, written in "
            f"{time.perf_counter() - start:.1f} s; batch {per_label}+{per_label} videos x "
            f"{args.crops} crops x {args.segments} segments x {args.dim}"
        )
        start = time.perf_counter()
        cache = pooled_features(store, n_segments=args.segments)
        print(f"cache build (once): {time.perf_counter() - start:.2f} s")
        rng = np.random.default_rng(1)
        normal = np.flatnonzero(cache.labels == 0)
        abnormal = np.flatnonzero(cache.labels == 1)
        draws = [
            np.concatenate(
                [rng.choice(normal, per_label, replace=False), rng.choice(abnormal, per_label)]
            )
            for _ in range(args.batches)
        ]
        times = {"load-and-pool": [], "cache": []}
        for rows in draws:
            start = time.perf_counter()
            batch = np.stack([pool_segments(store.load(cache.ids[r]), args.segments) for r in rows])
            times["load-and-pool"].append(time.perf_counter() - start)
            start = time.perf_counter()
            cached = np.asarray(cache.features[np.sort(rows)])
            times["cache"].append(time.perf_counter() - start)
            assert batch.shape == cached.shape
        slow, fast = (float(np.median(times[k])) for k in ("load-and-pool", "cache"))
        print(f"load-and-pool per batch: {slow:.3f} s (median of {args.batches})")
        print(f"from cache per batch:    {fast:.3f} s")
        print(f"speed-up: {slow / fast:.1f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
