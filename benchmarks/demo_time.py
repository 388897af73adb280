"""Time every step of `vadkit demo` (the README's first quick-start command).

    python benchmarks/demo_time.py [--out DIR]

Prints the seconds of each step and the total; the issue's budget is 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main() -> None:
    from vadkit.demo import run_demo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="demo folder (default: a fresh temporary one)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="vadkit-demo-")
    t0 = time.perf_counter()
    head = run_demo(out, progress=False, echo=lambda _: None)
    total = time.perf_counter() - t0
    for step, sec in head["times"].items():
        print(f"{step:8s} {sec:7.1f} s")
    print(f"{'total':8s} {total:7.1f} s  ({out})")


if __name__ == "__main__":
    main()
