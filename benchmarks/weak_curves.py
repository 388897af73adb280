"""Learning curves of the weak methods: how many steps each needs at UCSD scale.

Run:  python benchmarks/weak_curves.py --data ../shared/data/ped2 [--store STORE] \
          [--splits 3] [--max-steps 600] [--jobs 2] [--out runs/weak-curves]

Trains every weak method (each preset the benchmark shows: the default and ``reference``) for
``--max-steps`` steps on the first ``--splits`` splits of the weak protocol, validating every
20 steps on held-out *training* videos (never test labels), and prints per row the mean
validation-AUC curve over splits, its plateau (the first step within 0.01 of the curve's top)
and the step count it suggests for ``vadkit.bench.weak.STEPS``: the plateau times 1.5, rounded
up to a multiple of 100, at least 200. The test AUCs of these runs are in ``OUT/results.json``
but play no part in the suggestion.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from vadkit.bench.weak import WeakBenchConfig, run_weak_benchmark


def suggested_steps(plateau: int, max_steps: int) -> int:
    """The plateau with a 50% margin, rounded up to 100, within [200, max_steps]."""
    return min(max_steps, max(200, math.ceil(1.5 * plateau / 100) * 100))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=600)
    ap.add_argument("--methods", default=None, help="comma-separated weak methods [all]")
    ap.add_argument("--jobs", type=int, default=1, help="runs trained at once (processes)")
    ap.add_argument("--out", type=Path, default=Path("runs/weak-curves"))
    args = ap.parse_args()
    methods = tuple(args.methods.split(",")) if args.methods else None
    config = WeakBenchConfig(
        backbone=args.backbone,
        methods=methods,
        splits=args.splits,
        iterations=args.max_steps,
        baselines=False,
        jobs=args.jobs,
    )
    doc = run_weak_benchmark(args.data, args.out, config, args.store, log=lambda m: None)
    print(f"{args.splits} splits, {args.max_steps} steps, validation every {config.val_every}")
    print(f"{'row':<22} {'plateau':>7} {'suggest':>7}  mean validation AUC every 100 steps")
    for row in doc["rows"]:
        curve = dict(row["val_curve_mean"])
        every = " ".join(f"{curve[s]:.2f}" for s in sorted(curve) if s % 100 == 0)
        plateau = row["val_plateau_step"]
        print(
            f"{row['method']:<22} {plateau:>7} "
            f"{suggested_steps(plateau, args.max_steps):>7}  {every}"
        )
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
