"""Generated action-class datasets in the UCF Sports Action layout, and clip augmentation.

``make_action_dataset`` writes real encoded videos of a square whose motion pattern is the
class: ``Slide`` (left-right, split into the sub-class folders ``Slide-Front`` and
``Slide-Side`` to exercise the grouping rule), ``Bounce`` (up-down), ``Circle`` (circular);
the default anomaly classes move differently: ``Expand`` (growing and shrinking in place) and
``Diagonal``. One extra clip shorter than 1 s is written to be dropped by the split::

    OUT/<folder>/<NNN>/<folder>_<NNN>.mp4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadkit.datasets.synthetic import write_video
from vadkit.errors import VadkitError

__all__ = ["MOTIONS", "augment_frames", "augment_split", "make_action_dataset", "render_motion"]

# folder -> motion pattern
MOTIONS = {
    "Slide-Front": "left-right",
    "Slide-Side": "left-right",
    "Bounce": "up-down",
    "Circle": "circular",
    "Expand": "expanding",
    "Diagonal": "diagonal",
}


def render_motion(
    motion: str, n_frames: int, size: tuple[int, int] = (32, 32), seed: int = 0
) -> np.ndarray:
    """Frames ``(n_frames, H, W, 3)`` uint8 of a square moving with ``motion``.

    Speed, phase, colour and background brightness vary with ``seed``.
    """
    h, w = size
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0.6, 1.0) * 2 * np.pi / max(n_frames, 1) * 2
    side = max(3, min(h, w) // 5)
    colour = rng.integers(170, 256, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    back = 40 + 20 * np.sin(xx / 5.0 + rng.uniform(0, 6)) * np.cos(yy / 7.0)
    cy, cx, ry, rx = (h - side) / 2, (w - side) / 2, (h - side) / 2, (w - side) / 2
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for t in range(n_frames):
        a = phase + speed * t
        s = side
        if motion == "left-right":
            y, x = cy, cx + rx * np.sin(a)
        elif motion == "up-down":
            y, x = cy + ry * np.sin(a), cx
        elif motion == "circular":
            y, x = cy + ry * np.sin(a), cx + rx * np.cos(a)
        elif motion == "diagonal":
            y, x = cy + ry * np.sin(a), cx + rx * np.sin(a)
        elif motion == "expanding":
            s = int(side + (min(h, w) - side - 1) * (0.5 + 0.5 * np.sin(a)))
            y, x = (h - s) / 2, (w - s) / 2
        else:
            raise VadkitError(f"motion {motion!r}: choose one of {sorted(set(MOTIONS.values()))}")
        img = np.repeat(back[..., None], 3, axis=2)
        y0, x0 = int(round(y)), int(round(x))
        img[y0 : y0 + s, x0 : x0 + s] = colour
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def make_action_dataset(
    out: str | Path,
    clips_per_folder: int = 3,
    n_frames: int = 16,
    fps: int = 8,
    size: tuple[int, int] = (32, 32),
    folders: dict[str, str] | None = None,
    short_clip: bool = True,
    seed: int = 0,
) -> list[Path]:
    """Write a class-folder dataset of real videos (layout in the module docstring).

    ``n_frames`` at ``fps`` must last at least 1 s; with ``short_clip`` the first folder gets
    one more clip of ``fps // 2`` frames (0.5 s), which the split drops. Returns the videos.
    """
    if n_frames < fps:
        raise VadkitError(f"n_frames={n_frames} at fps={fps} is shorter than 1 s")
    out = Path(out)
    folders = folders or MOTIONS
    paths = []
    for f_index, (folder, motion) in enumerate(folders.items()):
        count = clips_per_folder + (1 if short_clip and f_index == 0 else 0)
        for k in range(count):
            length = max(2, fps // 2) if k == clips_per_folder else n_frames
            frames = render_motion(motion, length, size, seed=seed * 10007 + f_index * 101 + k)
            seq = f"{k + 1:03d}"
            paths.append(write_video(out / folder / seq / f"{folder}_{seq}.mp4", frames, fps))
    return paths


def augment_split(
    rows: list[dict[str, str]], out: Path, per_class: int, seed: int, frames_fps: float
) -> list[dict[str, str]]:
    """Augmented rows topping each class of ``rows`` up to ``per_class`` clips.

    Copies cycle over a class's clips in order; each is a new video
    ``OUT/augmented/<class>/<id>_aug<k>.mp4`` of :func:`augment_frames` applied to the source
    clip (same parameters on every frame), at the source's frame rate.
    """
    import zlib

    from vadkit.io.video import open_video

    new: list[dict[str, str]] = []
    by_class: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_class.setdefault(r["class"], []).append(r)
    for cls, members in sorted(by_class.items()):
        members = sorted(members, key=lambda r: r["id"])
        for k in range(max(0, per_class - len(members))):
            src = members[k % len(members)]
            rng = np.random.default_rng([seed, zlib.crc32(src["id"].encode()), k])
            with open_video(src["path"], src["id"], fps=frames_fps) as reader:
                frames = np.stack([f for _, f in reader.iter_frames()])
                fps = reader.meta.fps or frames_fps
            vid = f"{src['id']}_aug{k // len(members) + 1}"
            rel = Path("augmented") / cls / f"{vid}.mp4"
            write_video(out / rel, augment_frames(frames, rng), fps=int(round(fps)))
            new.append({**src, "path": rel.as_posix(), "id": vid})
    return new


def augment_frames(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random augmentation applied identically to every frame of a clip.

    Horizontal flip (p = 0.5), a crop of 80-100 % of each side resized back (bilinear, PIL),
    brightness, contrast and saturation factors in [0.8, 1.2]. ``frames`` ``(N, H, W, 3)``
    uint8 -> same shape and dtype.
    """
    from PIL import Image

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VadkitError(f"augment_frames: expected (N, H, W, 3) uint8, got {frames.shape}")
    n, h, w, _ = frames.shape
    flip = rng.random() < 0.5
    scale = rng.uniform(0.8, 1.0)
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    bright, contrast, sat = rng.uniform(0.8, 1.2, 3)
    out = np.empty_like(frames)
    gray_w = np.array([0.299, 0.587, 0.114], np.float32)
    mean = float((frames.astype(np.float32) @ gray_w).mean())  # one mean for the whole clip
    for i in range(n):
        img = frames[i, top : top + ch, left : left + cw]
        if flip:
            img = img[:, ::-1]
        x = np.asarray(
            Image.fromarray(np.ascontiguousarray(img)).resize((w, h), Image.BILINEAR), np.float32
        )
        x = x * bright
        x = (x - mean * bright) * contrast + mean * bright
        gray = (x @ gray_w)[..., None]
        x = gray + (x - gray) * sat
        out[i] = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    return out
