"""Peak memory of extraction does not grow with video length (frames are streamed).

Run:  python benchmarks/extract_memory.py [--frames 400] [--factor 4] [--backbone efficientnet_lite0]

Extracts a synthetic 240x320 video of N frames and one of factor*N frames, each in a fresh
process, and prints the peak resident memory of both and their ratio (measured in this run).
A ratio near 1 means memory is bounded by the batch, not by the video.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, torch
from vadkit.extract.engine import ExtractOptions, extract
from vadkit.io.inputs import InputItem
torch.set_num_threads(2)
video, out, backbone = sys.argv[1:4]
kw = {} if backbone == "efficientnet_lite0" else {"random_init": True}
res = extract([InputItem("v", video)], out, backbone, progress=False, **kw)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"frames": res.frames, "seconds": res.seconds, "peak_mib": peak_kib / 1024}))
"""


def run(video: Path, out: Path, backbone: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(video), str(out), backbone],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    args = ap.parse_args()
    from vadkit.datasets.synthetic import render_frames, write_video

    rows = []
    with tempfile.TemporaryDirectory(prefix="vadkit-mem-") as name:  # removed afterwards
        tmp = Path(name)
        for n in (args.frames, args.frames * args.factor):
            video = write_video(tmp / f"v{n}.mp4", render_frames(n, (240, 320)))
            rows.append(run(video, tmp / f"store{n}", args.backbone))
    print(f"backbone {args.backbone}, 240x320 synthetic video, torch threads 2")
    print(f"{'frames':>8} {'seconds':>8} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['frames']:>8} {r['seconds']:>8.1f} {r['peak_mib']:>9.0f}")
    ratio = rows[1]["peak_mib"] / rows[0]["peak_mib"]
    print(f"peak memory ratio ({args.factor}x longer video): {ratio:.3f}")


if __name__ == "__main__":
    main()
