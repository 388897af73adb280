"""Robustness of the `benchmark ucsd` default to how a new camera differs (issue 21 §3).

Runs the default protocol, unchanged, on transformed copies of a UCSD-layout dataset
(:mod:`vadkit.bench.ucsd_robustness`: 0.5x / 1.5x size, half frame rate, mirrored,
brightness and contrast, colour, a low-quality mp4) and prints the micro frame AUC of each
and its change from the original; the goal is every change within 0.03.

    python benchmarks/ucsd_robustness.py --data ../shared/data/ped2 --out runs/robustness
    python benchmarks/ucsd_robustness.py --data ../shared/data/ped2 --out runs/robustness \
        --transforms original,mirror --videos 4,3 --max-frames 90   # a reduced run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from vadkit.bench.ucsd_robustness import TRANSFORMS, format_table, rows_as_dicts, run_robustness
    from vadkit.errors import VadkitError
    from vadkit.io.atomic import atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--transforms", default=",".join(TRANSFORMS))
    ap.add_argument("--videos", default=None, help="TRAIN,TEST: keep only the first ones")
    ap.add_argument("--max-frames", type=int, default=None, help="keep the first N frames")
    args = ap.parse_args(argv)
    n_train = n_test = None
    if args.videos:
        n_train, n_test = (int(x) for x in args.videos.split(","))
    try:
        rows = run_robustness(
            args.data,
            args.out,
            [t for t in args.transforms.split(",") if t],
            n_train,
            n_test,
            args.max_frames,
        )
    except VadkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"\n{args.data}: first {n_train or 'all'} training / {n_test or 'all'} test videos"
          f", {args.max_frames or 'all'} frames each")  # fmt: skip
    print(format_table(rows))
    worst = max((abs(r.micro_auc - rows[0].micro_auc) for r in rows), default=0.0)
    print(f"largest change from {rows[0].transform}: {worst:.4f} (goal <= 0.03)")
    atomic_write_text(args.out / "robustness.json", json.dumps(rows_as_dicts(rows), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
