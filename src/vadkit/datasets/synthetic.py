"""A small synthetic anomaly dataset written as real video files, for demos and tests.

Every video shows a textured background and a square drifting at a steady speed
(normal motion). In anomalous videos a second object darts across the frame at high
speed during a known interval. The layout is vadkit's generic one::

    OUT/
      videos/<id>.mp4          H.264 (or MPEG-4 Part 2 when libx264 is missing)
      videos.csv               id,path,label,class,split,n_frames
      annotations.csv          video,start,end  (0-based frames, end exclusive)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.store_writer import ensure_writable_dir

MIN_FRAMES = 32


@dataclass(frozen=True)
class SyntheticVideo:
    id: str
    path: Path
    label: int
    split: str
    n_frames: int
    interval: tuple[int, int] | None  # anomalous frames [start, end)


def render_frames(
    n_frames: int,
    size: tuple[int, int] = (120, 160),
    interval: tuple[int, int] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Frames ``(n_frames, H, W, 3)`` uint8 of the synthetic scene.

    The normal square moves one pixel per frame; during ``interval`` a red block
    crosses the frame in about 10 frames.
    """
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    background = (90 + 30 * np.sin(xx / 7.0) * np.cos(yy / 11.0)).astype(np.float32)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    side = max(6, h // 8)
    y0 = int(rng.integers(side, h - 2 * side))
    x_start = int(rng.integers(0, w // 2))
    for t in range(n_frames):
        img = np.repeat(background[..., None], 3, axis=2)
        img += rng.normal(0, 3, img.shape).astype(np.float32)
        x = (x_start + t) % (w - side)
        img[y0 : y0 + side, x : x + side] = (220, 220, 200)
        if interval and interval[0] <= t < interval[1]:
            k = t - interval[0]
            ax = int((k * w / 10) % (w - side))
            ay = int((h - side) * (0.5 + 0.4 * np.sin(k)))
            img[ay : ay + side, ax : ax + side] = (230, 30, 30)
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def write_video(path: str | Path, frames: np.ndarray, fps: int = 25) -> Path:
    """Encode ``(N, H, W, 3)`` uint8 RGB frames to a video file with PyAV."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "libx264" if has_encoder("libx264") else "mpeg4"
    h, w = frames.shape[1:3]
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        for img in frames:
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(img[: stream.height, : stream.width]), format="rgb24"
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(path)
    return path


def has_encoder(name: str) -> bool:
    import av

    try:
        av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


def make_synthetic_dataset(
    out: str | Path,
    n_train: int = 4,
    n_test: int = 4,
    n_frames: int = 96,
    size: tuple[int, int] = (120, 160),
    fps: int = 25,
    seed: int = 0,
) -> list[SyntheticVideo]:
    """Write ``n_train`` normal training videos and ``n_test`` test videos (half anomalous).

    Returns the videos written; ``OUT/videos.csv`` lists them for ``vadkit extract``. Counts
    and the output folder are checked before any video is rendered (errors name the
    ``vadkit synth`` flags: ``--train``, ``--test``, ``--frames``, ``--out``).
    """
    for flag, value in (("--train", n_train), ("--test", n_test)):
        if not isinstance(value, int) or value < 0:
            raise VadkitError(f"{flag} {value!r}: the number of videos must be 0 or more")
    if n_train + n_test == 0:
        raise VadkitError(
            "nothing to write: --train and --test are both 0; ask for 1 video or more"
        )
    if n_frames < MIN_FRAMES:
        raise VadkitError(
            f"--frames {n_frames}: synthetic videos need at least {MIN_FRAMES} frames"
        )
    out = ensure_writable_dir(out, "output folder")
    rng = np.random.default_rng(seed)
    videos: list[SyntheticVideo] = []
    for i in range(n_train + n_test):
        split = "train" if i < n_train else "test"
        anomalous = split == "test" and (i - n_train) % 2 == 1
        interval = None
        if anomalous:
            start = int(rng.integers(n_frames // 4, n_frames // 2))
            interval = (start, min(n_frames, start + n_frames // 3))
        vid = f"{split}_{i:03d}"
        frames = render_frames(n_frames, size, interval, seed=seed * 1000 + i)
        path = write_video(out / "videos" / f"{vid}.mp4", frames, fps)
        videos.append(SyntheticVideo(vid, path, int(anomalous), split, n_frames, interval))
    _write_tables(out, videos)
    return videos


def _write_tables(out: Path, videos: list[SyntheticVideo]) -> None:
    from vadkit.io.atomic import atomic_write_text

    rows = [["id", "path", "label", "class", "split", "n_frames"]]
    ann = [["video", "start", "end"]]
    for v in videos:
        cls = "Dart" if v.label else "Normal"
        rows.append([v.id, f"videos/{v.path.name}", v.label, cls, v.split, v.n_frames])
        if v.split == "test":
            ann.append([v.id, *(v.interval if v.interval else ("", ""))])
    atomic_write_text(out / "videos.csv", _csv_text(rows))
    atomic_write_text(out / "annotations.csv", _csv_text(ann))


def _csv_text(rows: list[list[object]]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()
