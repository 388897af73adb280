"""Synthetic media for tests: tiny videos and frame folders whose frames carry their own index.

Every frame drawn by :func:`synthetic_frame` has a strip of 6 black/white blocks at the top
encoding ``index % 64`` (read back with :func:`frame_code`; the blocks are large enough to survive
lossy codecs), a fixed gradient background, and two shapes that move with the index.

Import from tests as ``from helpers_media import write_video, write_frame_folder``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vadkit.datasets.synthetic import has_encoder  # noqa: F401 - re-exported for tests

N_CODE_BITS = 6

# Default encoder per container extension; (codec, pix_fmt).
DEFAULT_CODECS = {
    ".mp4": ("libx264", "yuv420p"),
    ".mov": ("libx264", "yuv420p"),
    ".mkv": ("libx264", "yuv420p"),
    ".avi": ("mjpeg", "yuvj420p"),
    ".webm": ("libvpx-vp9", "yuv420p"),
    ".mpg": ("mpeg1video", "yuv420p"),
}
# Pixel formats that encode exactly what was drawn (no colour conversion).
_LOSSLESS = {"png": "rgb24", "ffv1": "bgr0"}


def code_strip_height(height: int) -> int:
    return max(6, height // 6)


def synthetic_frame(i: int, size: tuple[int, int] = (48, 64), gray: bool = False) -> np.ndarray:
    """Frame ``i`` of the synthetic sequence, ``(H, W, 3)`` uint8 RGB (or ``(H, W)`` if gray)."""
    h, w = size
    if w < 6 * N_CODE_BITS or h < 16:
        raise ValueError(f"synthetic frames need W >= {6 * N_CODE_BITS} and H >= 16, got {size}")
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = 60 + 80 * xx // max(w - 1, 1)
    img[..., 1] = 60 + 80 * yy // max(h - 1, 1)
    img[..., 2] = 100
    top = code_strip_height(h)
    side = max(4, (h - top) // 3)
    x = (5 * i) % max(w - side, 1)
    img[top + 2 : top + 2 + side, x : x + side] = (230, 40, 40)
    r = max(3, side // 2)
    cy = top + r + (3 * i) % max(h - top - 2 * r, 1)
    cx = w - r - 2
    img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = (40, 40, 230)
    bw = w // N_CODE_BITS
    for b in range(N_CODE_BITS):
        img[:top, b * bw : (b + 1) * bw] = 240 if (i >> b) & 1 else 16
    if gray:
        return img[..., 1].copy()
    return img


def frame_code(frame: np.ndarray) -> int:
    """Read back the index (mod 64) written by :func:`synthetic_frame` from an RGB or gray frame."""
    g = frame if frame.ndim == 2 else frame.astype(np.float32).mean(axis=2)
    h, w = g.shape
    top, bw = code_strip_height(h), w // N_CODE_BITS
    value = 0
    for b in range(N_CODE_BITS):
        block = g[1 : top - 1, b * bw + 2 : (b + 1) * bw - 2]
        value |= int(block.mean() > 128) << b
    return value


def write_video(
    path: str | Path,
    n_frames: int,
    size: tuple[int, int] = (48, 64),
    fps: int | float | Fraction = 25,
    codec: str | None = None,
    pix_fmt: str | None = None,
    pts: Sequence[int] | None = None,
    pts_time_base: Fraction = Fraction(1, 1000),
    rotation: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write ``n_frames`` synthetic frames (moving shapes + index code) to a video file.

    Parameters
    ----------
    path : output file; its extension picks the container and, unless ``codec`` is given,
        the encoder (``DEFAULT_CODECS``).
    size : ``(H, W)``. Odd sizes need an encoder/pixel format that accepts them
        (e.g. ``mpeg4``, ``libx264`` with ``yuv444p``, ``png``); yuv420p x264 refuses them.
    fps : nominal frame rate.
    pts : optional explicit presentation timestamps (in ``pts_time_base`` units) for a variable
        frame rate stream.
    rotation : counter-clockwise display rotation stored as container side data.
    """
    path = Path(path)
    default_codec, default_fmt = DEFAULT_CODECS.get(path.suffix.lower(), ("mpeg4", "yuv420p"))
    codec = codec or default_codec
    pix_fmt = pix_fmt or _LOSSLESS.get(codec) or (default_fmt if codec == default_codec else None)
    h, w = size
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream(
            codec, rate=Fraction(fps).limit_denominator(1001000), options=dict(options or {})
        )
        stream.width, stream.height = w, h
        stream.pix_fmt = pix_fmt or stream.codec_context.codec.video_formats[0].name
        if pts is not None:
            stream.codec_context.time_base = pts_time_base
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, size), format="rgb24")
            if pts is not None:
                frame.pts = int(pts[i])
                frame.time_base = pts_time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


def write_frame_folder(
    directory: str | Path,
    n_frames: int,
    ext: str = "jpg",
    name_pattern: str | Callable[[int], str] = "{:03d}",
    size: tuple[int, int] = (48, 64),
    gray: bool = False,
) -> list[Path]:
    """Write ``n_frames`` synthetic frames as images; returns the paths in frame order.

    ``name_pattern`` is a ``str.format`` pattern for the stem (``"{:03d}"`` -> ``000.jpg``,
    ``"img_{}"`` -> ``img_0.jpg``) or a callable ``i -> stem`` (mixed stems); ``ext`` may be a
    callable ``i -> ext`` too.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_frames):
        stem = name_pattern(i) if callable(name_pattern) else name_pattern.format(i)
        e = (ext(i) if callable(ext) else ext).lstrip(".")
        p = directory / f"{stem}.{e}"
        img = Image.fromarray(synthetic_frame(i, size, gray=gray))
        img.save(p, quality=95) if e.lower() in ("jpg", "jpeg") else img.save(p)
        paths.append(p)
    return paths
