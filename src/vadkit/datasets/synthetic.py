"""A small synthetic anomaly dataset written as real video files, for demos and tests.

Scene ``squares`` (the default): a textured background and a square drifting at a steady
speed (normal motion); in anomalous videos a second object darts across the frame at high
speed during a known interval. Scene ``walkers``: people walking left to right; anomalous
videos add a fast object or a person walking the wrong way during a known interval. The layout is vadkit's generic one::

    OUT/
      videos/<id>.mp4          H.264 (or MPEG-4 Part 2 when libx264 is missing)
      videos.csv               id,path,label,class,split,n_frames
      annotations.csv          video,start,end  (0-based frames, end exclusive)
"""

from __future__ import annotations

import csv
from collections.abc import Callable
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
    event: str | None = None  # what happens in the interval (EVENT_CLASS names its class)


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


# the "walkers" scene: people walking left to right; its two kinds of anomaly
WALKER_EVENTS = ("fast_object", "wrong_way")
EVENT_CLASS = {"fast_object": "FastObject", "wrong_way": "WrongWay", "dart": "Dart"}
SCENES = ("squares", "walkers")


def _person(img: np.ndarray, x: int, y: int, h: int, colour: tuple[int, int, int]) -> None:
    """A standing figure (head over a body) with its feet at row ``y``, centred on ``x``."""
    w = max(3, h // 3)
    head = max(2, h // 5)
    H, W = img.shape[:2]
    x0, x1 = max(0, x - w // 2), min(W, x + w // 2 + 1)
    img[max(0, y - h + head) : min(H, y), x0:x1] = colour
    hx0, hx1 = max(0, x - head // 2), min(W, x + head // 2 + 1)
    img[max(0, y - h) : max(0, y - h + head), hx0:hx1] = (225, 190, 160)


def render_walkers(
    n_frames: int,
    size: tuple[int, int] = (120, 160),
    event: str | None = None,
    interval: tuple[int, int] | None = None,
    seed: int = 0,
    n_people: int = 3,
) -> np.ndarray:
    """Frames ``(n_frames, H, W, 3)`` uint8 of people walking left to right on a pavement.

    ``event`` happens during ``interval``: ``"fast_object"`` (a car-sized block crosses the
    frame in about 8 frames) or ``"wrong_way"`` (one more person walks right to left).
    """
    if event is not None and event not in WALKER_EVENTS:
        raise VadkitError(f"unknown event {event!r}; choose {', '.join(WALKER_EVENTS)}")
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    ground = (100 + 12 * np.sin(xx / 5.0) + 8 * np.cos(yy / 9.0)).astype(np.float32)
    ground[: h // 4] = 170  # a wall at the top
    tall = max(12, h // 5)
    people = [
        (
            int(rng.integers(h // 3 + tall, h - 2)),  # feet row
            float(rng.uniform(0, w)),  # start x
            float(rng.uniform(0.8, 1.4)),  # walking speed, px per frame
            tuple(int(c) for c in rng.integers(30, 200, 3)),
        )
        for _ in range(n_people)
    ]
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for t in range(n_frames):
        img = np.repeat(ground[..., None], 3, axis=2)
        img += rng.normal(0, 2, img.shape).astype(np.float32)
        for feet, x0, speed, colour in people:
            _person(img, int((x0 + speed * t) % w), feet, tall, colour)
        if event and interval and interval[0] <= t < interval[1]:
            k = t - interval[0]
            if event == "fast_object":
                side = max(8, h // 6)
                x = int((k * w / 8) % (w + side)) - side
                y = h // 2
                img[y : y + side // 2, max(0, x) : max(0, x + 2 * side)] = (230, 30, 30)
            else:
                _person(img, int(w - 1 - (1.2 * k) % w), h - 4, tall, (20, 20, 230))
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
    *,
    scene: str = "squares",
    n_abnormal_train: int = 0,
    on_video: Callable[[str], None] | None = None,
) -> list[SyntheticVideo]:
    """Write ``n_train`` normal training videos and ``n_test`` test videos (half anomalous).

    ``scene="walkers"`` shows people walking; its anomalous test videos alternate a fast
    object and a wrong-way walker. ``n_abnormal_train`` more training videos hold an anomaly
    (video label only, for weakly-supervised methods; their intervals are not in
    ``annotations.csv``). ``on_video(id)`` is called after each video is written.

    Returns the videos written; ``OUT/videos.csv`` lists them for ``vadkit extract``. Counts
    and the output folder are checked before any video is rendered (errors name the
    ``vadkit synth`` flags: ``--train``, ``--test``, ``--frames``, ``--out``).
    """
    if scene not in SCENES:
        raise VadkitError(f"--scene {scene!r}: choose {', '.join(SCENES)}")
    for flag, value in (
        ("--train", n_train),
        ("--test", n_test),
        ("--abnormal-train", n_abnormal_train),
    ):
        if not isinstance(value, int) or value < 0:
            raise VadkitError(f"{flag} {value!r}: the number of videos must be 0 or more")
    if n_train + n_test + n_abnormal_train == 0:
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
    n_anomalous_test = 0
    for i in range(n_train + n_abnormal_train + n_test):
        split = "train" if i < n_train + n_abnormal_train else "test"
        if split == "train":
            anomalous = i >= n_train
            k = i - n_train
        else:
            anomalous = (i - n_train - n_abnormal_train) % 2 == 1
            k = n_anomalous_test
            n_anomalous_test += anomalous
        interval = None
        event = None
        if anomalous:
            start = int(rng.integers(n_frames // 4, n_frames // 2))
            interval = (start, min(n_frames, start + n_frames // 3))
            event = WALKER_EVENTS[k % 2] if scene == "walkers" else "dart"
        vid = f"{split}_{i:03d}"
        if scene == "walkers":
            frames = render_walkers(n_frames, size, event, interval, seed=seed * 1000 + i)
        else:
            frames = render_frames(n_frames, size, interval, seed=seed * 1000 + i)
        path = write_video(out / "videos" / f"{vid}.mp4", frames, fps)
        videos.append(SyntheticVideo(vid, path, int(anomalous), split, n_frames, interval, event))
        if on_video is not None:
            on_video(vid)
    _write_tables(out, videos)
    return videos


def _write_tables(out: Path, videos: list[SyntheticVideo]) -> None:
    from vadkit.io.atomic import atomic_write_text

    rows = [["id", "path", "label", "class", "split", "n_frames"]]
    ann = [["video", "start", "end"]]
    for v in videos:
        cls = EVENT_CLASS[v.event or "dart"] if v.label else "Normal"
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
