"""Training s/step, GFLOP/s and scoring snippets/s per method, vadkit against its reference.

Run:  python benchmarks/train_speed.py [--methods rtfm,s3r] [--steps 3] [--threads 2]
      [--quick] [--json PATH] [--reference-dir RTFM] [--s3r-reference-dir S3R]
      [--mil-reference-dir MIL] [--anm-reference-dir ANM] [--tacnet-reference-dir TACNET]
      [--ur-dmu-reference-dir URDMU] [--ref-path DIR ...] [--load-pool]

For each method, at its published shapes (batch per class, crops and feature dim from the
defaults of its config: RTFM 32 + 32 videos x 10 crops x 32 segments x 2048), writes a store of
random per-video ``.npy`` files (``(T, C, D)``, T in 32..``--max-T``) in a temporary folder
(removed at the end), pools it into the memmap cache (``vadkit.io.pooled.pooled_features``)
and runs the trainer's loop (``vadkit.train.loop.fit``) from it for 1 + ``--steps`` steps.
The first step runs under ``torch.utils.flop_counter.FlopCounterMode`` (the FLOPs of a
step's matmuls and convolutions, forward and backward) and is not timed; the rest give the
median s/step. Then ``model.score`` on ``--score-videos`` whole videos of ``--score-T``
snippets gives snippets/s.

The reference of each method (``benchmarks/_speed_refs.py``: its checkout's model, loss and
optimiser step, loaded from outside the repository; commits as in
``benchmarks/reference/*_golden.py``) runs the same way on the first n normal and n abnormal
videos of the same cache, at the reference's shapes (UR-DMU, MIL and TACnet take one crop per
video, as their loaders do), in the same process and thread count, and scores the same
videos as its test script does. A reference that was not given, or cannot be imported or
run, is a row saying why. ``--ref-path`` adds folders to ``sys.path`` while a reference runs
(``einops`` for S3R and UR-DMU, a ``kmeans_pytorch`` checkout for TACnet).

The machine's float32 matmul rate is measured in the same run: the best of several
``torch.mm`` of two 2048 x 2048 matrices at ``--threads``, before each method and after the
last; ``of mm`` uses the best of them (other jobs on a shared machine only slow it down).
The table is printed at the end: per method, s/step of both and ``speed`` (reference s/step
over vadkit s/step: above 1 is vadkit faster), GFLOP per step and achieved GFLOP/s of both
and their ``of mm`` (GFLOP/s over the matmul rate), snippets/s of both and ``score``
(vadkit's over the reference's). ``--json PATH`` writes every number.
``--load-pool`` adds, per method, the trainer's loop fed by loading and pooling each video's
``.npy`` every step (``vadkit.sampling.pool_segments``) instead of the cache.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _speed_refs import REFERENCES, Ctx, score_speed  # noqa: E402

from vadkit.io.atomic import atomic_write_text  # noqa: E402
from vadkit.io.pooled import pooled_features  # noqa: E402
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter  # noqa: E402
from vadkit.methods.registry import get_method  # noqa: E402
from vadkit.sampling import pool_segments  # noqa: E402
from vadkit.train.loop import fit  # noqa: E402
from vadkit.train.schedule import ALIASES, Schedule  # noqa: E402

#: small networks for ``--quick`` (seconds per method); published shapes otherwise
QUICK: dict[str, dict[str, Any]] = {
    "rtfm": dict(feature_dim=64, conv_channels=16, nonlocal_channels=8, hidden1=16, hidden2=8,
                 n_crops=2, batch_normal=4, batch_abnormal=4),
    "s3r": dict(feature_dim=64, trunk_channels=16, nonlocal_channels=8, attention_dim=16,
                gate_hidden=8, hidden1=16, hidden2=8, n_crops=2, batch_normal=4,
                batch_abnormal=4),
    "mil": dict(feature_dim=64, hidden1=16, hidden2=8, videos_per_class=4),
    "anm": dict(feature_dim=64, d_a=8, batch_size=4),
    "tacnet": dict(feature_dim=64, hidden=16, attention_dim=16, classifier_dims=(16, 8)),
    "ur_dmu": dict(feature_dim=64, n_crops=2, embed_dim=16, heads=2, dim_head=8, mlp_dim=16,
                   head_hidden=8, a_nums=8, n_nums=8, n_segments=32, batch_normal=4,
                   batch_abnormal=4),
}  # fmt: skip

HEAD = ("method", "batch x C x S x D", "s/step", "(load)", "ref s/step", "speed", "GFLOP",
        "ref GFLOP", "GFLOP/s", "ref GFLOP/s", "of mm", "ref of mm", "snip/s", "ref snip/s",
        "score")  # fmt: skip


def batch_per_class(cfg: Any) -> int:
    """The method's published videos per class and step (the trainer's aliases)."""
    return next(int(getattr(cfg, a)) for a in ALIASES["batch_per_class"] if hasattr(cfg, a))


def matmul_rate(repeats: int = 8, size: int = 2048) -> float:
    """GFLOP/s of the fastest of ``repeats`` float32 ``torch.mm`` of two size x size matrices."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=gen), torch.randn(size, size, generator=gen)
    torch.mm(a, b)  # warm-up: thread pool, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


class Timed:
    """Array-like over ``(N, S, C, D)`` rows: ``[rows]`` records how long each read took."""

    def __init__(self, shape: tuple[int, ...], read: Any) -> None:
        self.shape, self.read, self.seconds = shape, read, []

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self.read(np.asarray(rows))
        self.seconds.append(time.perf_counter() - start)
        return out


def make_store(path: Path, n: int, crops: int, dim: int, max_t: int) -> FeatureStore:
    """``n`` random videos (half normal) of T in 32..max_t snippets as per-video ``.npy``."""
    writer = StoreWriter(
        path, StoreInfo(backbone="random", weights_sha256="-", dim=dim, crops=crops)
    )
    rng = np.random.default_rng(0)
    for i in range(n):
        t = int(rng.integers(32, max_t + 1))
        writer.add(f"v{i:04d}", rng.random((t, crops, dim), dtype=np.float32), label=i % 2,
                   split="train")  # fmt: skip
    writer.finalize()
    return FeatureStore.open(path)


def train_loop(method: Any, cfg: Any, feats: Timed, labels: np.ndarray, steps: int) -> tuple:
    """``fit`` for 1 + ``steps`` steps: (median s/step, median load s/step, FLOPs, model).

    The first step (lazy allocations, optimiser state) runs under ``FlopCounterMode`` and is
    not timed: the counter is entered before ``fit`` and left when step 1 is logged.
    """
    torch.manual_seed(0)
    model = method.model_cls(cfg)
    times: list[float] = []
    counter = FlopCounterMode(display=False)

    def log(rec: dict) -> None:
        if not times:
            counter.__exit__(None, None, None)
        times.append(rec["time"])

    sched = Schedule(batch_per_class(cfg), steps + 1, None, 32, 0, steps + 1, {})
    counter.__enter__()
    fit(model, feats, labels, np.arange(len(labels)), sched, validate=None, log_every=1, log=log)
    loads = feats.seconds[-steps:]  # earlier reads: the optional prepare() hook
    flops = float(counter.get_total_flops())
    return float(np.median(np.diff(times))), float(np.median(loads)), flops, model


def measure(name: str, args: argparse.Namespace, tmp: Path) -> list[dict]:
    """Time one method and its reference; returns the row(s) as dicts (printed at the end)."""
    method = get_method(name)
    cfg = method.build_config(QUICK[name] if args.quick else {})
    n, crops, dim = batch_per_class(cfg), getattr(cfg, "n_crops", 1), cfg.feature_dim
    store = make_store(tmp / name, 2 * max(n, 2), crops, dim, args.max_t)
    cache = pooled_features(store, n_segments=cfg.n_segments, cache_dir=tmp / f"{name}-cache")
    fast = Timed(cache.features.shape, lambda rows: np.asarray(cache.features[rows]))
    step, load, flops, model = train_loop(method, cfg, fast, cache.labels, args.steps)
    rng = np.random.default_rng(1)
    videos = [
        torch.from_numpy(rng.random((1, crops, args.score_t, dim), dtype=np.float32))
        for _ in range(args.score_videos)
    ]
    model.eval()
    row: dict[str, Any] = {"method": name, "shape": f"{n}+{n}x{crops}x{cfg.n_segments}x{dim}"}
    row |= {"step_s": step, "load_s": load, "flops": flops, "gflops_s": flops / step / 1e9}
    row["snips"] = score_speed(model.score, videos)
    row["reference"] = reference(name, args, cache, n, videos, model)
    rows = [row]
    print(f"{name}: {step:.3f} s/step, reference {row['reference'].get('step_s', '-')}",
          file=sys.stderr, flush=True)  # fmt: skip
    if args.load_pool:
        files = [store.path / e.file for e in store.entries]
        slow = Timed(cache.features.shape, lambda rows: np.stack(
            [pool_segments(np.load(files[i]), cfg.n_segments) for i in rows]))  # fmt: skip
        s_slow, l_slow, _, _ = train_loop(method, cfg, slow, cache.labels, args.steps)
        row["load_pool"] = {"step_s": s_slow, "load_s": l_slow}
    shutil.rmtree(tmp / name)
    shutil.rmtree(tmp / f"{name}-cache")
    return rows


def reference(name: str, args: argparse.Namespace, cache: Any, n: int, videos: list,
              model: Any) -> dict[str, Any]:  # fmt: skip
    """The reference's numbers, or ``{"why": ...}`` saying why there are none."""
    flag, run = REFERENCES[name]
    where = getattr(args, flag.lstrip("-").replace("-", "_"))
    if where is None:
        return {"why": f"not run: no {flag} given"}
    if args.quick:
        return {"why": f"not run: --quick uses small shapes and the reference code runs at its "
                       f"published shapes only; drop --quick to time it ({where})"}  # fmt: skip
    atoms = getattr(model, "dictionary", None)
    ctx = Ctx(cache.features, cache.labels, n, args.steps, videos,
              None if atoms is None else atoms.numpy())  # fmt: skip
    threads = torch.get_num_threads()
    try:  # its progress bars and deprecation warnings are not the table's
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            out = run(where, ctx, tuple(args.ref_path))
    except Exception as e:  # any failure of foreign code is reported, never hidden
        return {"why": f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
    finally:
        torch.set_num_threads(threads)  # a reference may change it
    return out


def print_row(row: dict[str, Any], rate: float) -> None:
    """The table's line(s) for a method, its reference and (``--load-pool``) load+pool feeding;
    ``of mm`` is achieved GFLOP/s over ``rate``, the run's best matmul GFLOP/s."""
    ref, row["of_matmul"] = row["reference"], row["gflops_s"] / rate
    if "load_pool" in row:
        slow = row["load_pool"]
        print(f"{row['method']} load+pool | {row['shape']} | {slow['step_s']:.3f} | "
              f"{slow['load_s']:.3f} | the cache is {slow['step_s'] / row['step_s']:.2f}x faster "
              f"a step, {slow['load_s'] / row['load_s']:.0f}x to load", flush=True)  # fmt: skip
    cells = [row["method"], row["shape"], f"{row['step_s']:.3f}", f"{row['load_s']:.3f}"]
    if "why" in ref:
        cells += ["-"] * 2 + [f"{row['flops'] / 1e9:.4g}", "-", f"{row['gflops_s']:.4g}", "-"]
        cells += [f"{row['of_matmul']:.0%}", "-", f"{row['snips']:.0f}", "-", "-"]
        print(" | ".join(cells), flush=True)
        print(f"{row['method']} reference | {ref['why']}", flush=True)
        return
    ref["gflops_s"] = ref["flops"] / ref["step_s"] / 1e9
    ref["of_matmul"] = ref["gflops_s"] / rate
    row["speed"], row["score"] = ref["step_s"] / row["step_s"], row["snips"] / ref["snips"]
    cells += [f"{ref['step_s']:.3f}", f"{row['speed']:.2f}x", f"{row['flops'] / 1e9:.4g}"]
    cells += [f"{ref['flops'] / 1e9:.4g}", f"{row['gflops_s']:.4g}", f"{ref['gflops_s']:.4g}"]
    cells += [f"{row['of_matmul']:.0%}", f"{ref['of_matmul']:.0%}", f"{row['snips']:.0f}"]
    cells += [f"{ref['snips']:.0f}", f"{row['score']:.2f}x"]
    print(" | ".join(cells), flush=True)
    if ref["shape"] != row["shape"]:
        print(f"{row['method']} reference | at {ref['shape']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="rtfm,s3r,anm,mil,tacnet,ur_dmu", help="Comma-separated.")
    ap.add_argument("--steps", type=int, default=3, help="Training steps timed each way.")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads.")
    ap.add_argument("--quick", action="store_true", help="Small shapes: runs in seconds.")
    ap.add_argument("--max-T", dest="max_t", type=int, default=160, help="Longest video.")
    ap.add_argument("--score-videos", type=int, default=3, help="Videos scored per method.")
    ap.add_argument("--score-T", dest="score_t", type=int, default=300, help="Their length.")
    for method, (flag, _) in REFERENCES.items():
        ap.add_argument(flag, type=Path, help=f"{method} reference checkout (optional).")
    ap.add_argument(
        "--ref-path",
        type=Path,
        action="append",
        default=[],
        help="Folder put on sys.path while a reference runs (repeatable).",
    )
    ap.add_argument("--json", type=Path, help="Write every number here.")
    ap.add_argument("--load-pool", action="store_true", help="Also time load-and-pool feeding.")
    args = ap.parse_args()  # fmt: skip
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name in names:
        if name not in QUICK:
            ap.error(f"--methods: {name!r} is not one of {', '.join(QUICK)}")
    if args.steps < 1:
        ap.error(f"--steps must be >= 1, got {args.steps}")
    if args.quick:
        args.max_t, args.score_t = min(args.max_t, 48), min(args.score_t, 64)
    torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 8
    tmp = Path(tempfile.mkdtemp(prefix="vadkit-train-speed-"))
    rows: list[dict] = []
    rates, loads = [], [os.getloadavg()]
    try:
        for name in names:  # the rate before each method: the machine is shared
            rates.append(matmul_rate(repeats))
            rows += measure(name, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rates.append(matmul_rate(repeats))
    loads.append(os.getloadavg())
    rate = max(rates)
    print(f"threads {args.threads}, steps {args.steps} (medians), scoring "
          f"{args.score_videos} videos x T={args.score_t}; 2048^2 float32 matmul "
          f"{rate:.1f} GFLOP/s (best of {len(rates)} measurements, "
          f"{' '.join(f'{r:.0f}' for r in rates)}); load average {loads[0][0]:.2f} at the start, "
          f"{loads[1][0]:.2f} (1 min) {loads[1][1]:.2f} (5 min) at the end")  # fmt: skip
    print(" | ".join(HEAD), flush=True)
    for row in rows:
        print_row(row, rate)
    if args.json:
        report = {
            "threads": args.threads,
            "steps": args.steps,
            "quick": args.quick,
            "matmul_gflops_s": rates,
            "loadavg": loads,
            "rows": rows,
        }
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
