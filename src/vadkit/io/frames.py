"""Frame folders and the reader protocol shared by every video reader.

Frames are addressed by 0-based integer index and come out as ``(H, W, 3)`` uint8 RGB.
:class:`FrameFolderReader` reads a directory of images in natural name order; video files are
read by :mod:`vadkit.io.video`, which builds on the same :class:`VideoMeta` and reader base.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from vadkit.errors import VadkitError

__all__ = [
    "IMAGE_EXTENSIONS",
    "FrameFolderReader",
    "ReaderBase",
    "VideoMeta",
    "VideoReader",
    "list_frame_files",
    "natural_sort_key",
]

IMAGE_EXTENSIONS = frozenset(".jpg .jpeg .png .tif .tiff .bmp".split())


@dataclass(frozen=True)
class VideoMeta:
    """What is known about one video after probing it.

    Attributes
    ----------
    id : video id (file stem or folder name unless given).
    path : the file or frame folder.
    fps : average frame rate; ``None`` for a frame folder opened without ``fps=``.
    n_frames : exact number of frames (decoded count for files, image count for folders).
    height, width : size of the frames as returned, i.e. after rotation.
    duration : seconds, ``n_frames / fps``; ``None`` when fps is unknown.
    rotation : counter-clockwise degrees (0, 90, 180, 270) applied to make frames upright.
    """

    id: str
    path: Path
    fps: float | None
    n_frames: int
    height: int
    width: int
    duration: float | None
    rotation: int = 0


@runtime_checkable
class VideoReader(Protocol):
    """Random and sequential access to the frames of one video."""

    meta: VideoMeta

    def __len__(self) -> int: ...
    def iter_frames(
        self, start: int = 0, stop: int | None = None, step: int = 1
    ) -> Iterator[tuple[int, np.ndarray]]: ...
    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray: ...
    def close(self) -> None: ...
    def __enter__(self) -> VideoReader: ...
    def __exit__(self, *exc: object) -> None: ...


def natural_sort_key(name: str) -> tuple:
    """Sort key ordering digit runs by value: ``img_2.png`` < ``img_10.png``.

    >>> sorted(["img_10.png", "img_2.png", "img_1.png"], key=natural_sort_key)
    ['img_1.png', 'img_2.png', 'img_10.png']
    """
    parts = re.split(r"(\d+)", name)
    # re.split with a group alternates str, int, str, ... so parts always compare like with like;
    # the raw name breaks ties such as "1.jpg" vs "01.jpg".
    key = tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts))
    return (key, name)


def list_frame_files(folder: str | Path) -> list[Path]:
    """Image files of a frame folder in natural order (hidden and non-image files ignored)."""
    folder = Path(folder)
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(files, key=lambda p: natural_sort_key(p.name))


class ReaderBase:
    """What every random-access reader shares (length, context manager, :meth:`get_frames`);
    a subclass sets ``meta`` and reads one frame in ``_frame_at``."""

    meta: VideoMeta

    def __len__(self) -> int:
        return self.meta.n_frames

    def __enter__(self) -> ReaderBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def _frame_at(self, index: int) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames at ``indices`` (any shape, any order, repeats allowed).

        Returns ``indices.shape + (H, W, 3)`` uint8 RGB. Each distinct frame is read once,
        in increasing index order.
        """
        idx = self._check_indices(indices)
        m = self.meta
        out = np.empty(idx.shape + (m.height, m.width, 3), np.uint8)
        flat = out.reshape(-1, m.height, m.width, 3)
        uniq, inverse = np.unique(idx.ravel(), return_inverse=True)
        for k, i in enumerate(uniq):
            flat[inverse == k] = self._frame_at(int(i))
        return out

    def __repr__(self) -> str:
        m = self.meta
        return f"{type(self).__name__}({str(m.path)!r}, n_frames={m.n_frames}, size={m.height}x{m.width})"

    def _check_range(self, start: int, stop: int | None, step: int) -> int:
        n = self.meta.n_frames
        stop = n if stop is None else int(stop)
        if step < 1:
            raise VadkitError(f"{self.meta.path}: step must be >= 1, got {step}")
        if not 0 <= start <= stop <= n:
            raise VadkitError(
                f"{self.meta.path}: frame range [{start}, {stop}) outside the video's {n} frames"
            )
        return stop

    def _check_indices(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise VadkitError(f"{self.meta.path}: frame indices must be integers, got {idx.dtype}")
        idx = idx.astype(np.int64)
        bad = idx[(idx < 0) | (idx >= self.meta.n_frames)]
        if bad.size:
            raise VadkitError(
                f"{self.meta.path}: frame index {int(bad[0])} out of range "
                f"(video has {self.meta.n_frames} frames)"
            )
        return idx


class FrameFolderReader(ReaderBase):
    """Reader for a directory of images (jpg/jpeg/png/tif/tiff/bmp), frames in natural name order."""

    def __init__(self, path: str | Path, video_id: str | None = None, fps: float | None = None):
        path = Path(path)
        if not path.is_dir():
            raise VadkitError(f"frame folder {path} does not exist or is not a directory")
        self.files = list_frame_files(path)
        if not self.files:
            exts = " ".join(sorted(IMAGE_EXTENSIONS))
            raise VadkitError(f"frame folder {path} contains no images (looked for {exts})")
        try:
            with Image.open(self.files[0]) as im:
                width, height = im.size
        except (OSError, ValueError) as e:
            raise VadkitError(f"cannot read image {self.files[0]}: {e}") from None
        n = len(self.files)
        if fps is not None and not fps > 0:
            raise VadkitError(f"{path}: fps must be > 0, got {fps}")
        self.meta = VideoMeta(
            id=video_id or path.name,
            path=path,
            fps=None if fps is None else float(fps),
            n_frames=n,
            height=height,
            width=width,
            duration=None if fps is None else n / float(fps),
        )

    def _load(self, i: int) -> np.ndarray:
        f = self.files[i]
        try:
            with Image.open(f) as im:
                arr = np.array(im.convert("RGB"))  # writable, like the file reader's frames
        except (OSError, ValueError) as e:
            raise VadkitError(f"cannot read frame {i} of {self.meta.path}: {f}: {e}") from None
        if arr.shape[:2] != (self.meta.height, self.meta.width):
            raise VadkitError(
                f"{f}: frame {i} is {arr.shape[0]}x{arr.shape[1]}, expected "
                f"{self.meta.height}x{self.meta.width} like the first frame of {self.meta.path}"
            )
        return arr

    def iter_frames(
        self, start: int = 0, stop: int | None = None, step: int = 1
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, (H, W, 3) uint8 RGB)`` for ``range(start, stop, step)``."""
        stop = self._check_range(start, stop, step)
        for i in range(start, stop, step):
            yield i, self._load(i)

    _frame_at = _load
