"""The second process of tests/test_stream.py: JPEG frames -> MPEG-TS H.264 over UDP.

    python tests/stream_sender.py PORT FRAME_FOLDER [--fps 40] [--stall-after N --stall S]

Sends the frames paced at ``--fps`` (a live camera's arrival), optionally pausing ``--stall``
seconds after frame ``--stall-after`` (a stall), then exits without a goodbye (a drop).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--fps", type=float, default=40.0)
    ap.add_argument("--rate", type=int, default=10, help="frame rate written in the stream")
    ap.add_argument("--stall-after", type=int, default=-1)
    ap.add_argument("--stall", type=float, default=0.0)
    ap.add_argument("--max-frames", type=int, default=0)
    args = ap.parse_args()
    frames = sorted(args.folder.glob("*.jpg")) or sorted(args.folder.glob("*.tif"))
    frames = frames[: args.max_frames] if args.max_frames else frames
    out = av.open(f"udp://127.0.0.1:{args.port}?pkt_size=1316", "w", format="mpegts")
    st = out.add_stream("libx264", rate=args.rate)
    first = np.asarray(Image.open(frames[0]).convert("RGB"))
    st.height, st.width = first.shape[:2]
    st.pix_fmt = "yuv420p"
    # every 5th frame a keyframe and no B-frames: a receiver joining late decodes soon
    st.options = {"tune": "zerolatency", "g": "5", "bf": "0", "crf": "18"}
    t0 = time.monotonic()
    for i, f in enumerate(frames):
        img = np.asarray(Image.open(f).convert("RGB"))
        for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(pkt)
        if i == args.stall_after:
            time.sleep(args.stall)
            t0 += args.stall
        time.sleep(max(0.0, t0 + (i + 1) / args.fps - time.monotonic()))
    for pkt in st.encode():
        out.mux(pkt)
    out.close()


if __name__ == "__main__":
    main()
