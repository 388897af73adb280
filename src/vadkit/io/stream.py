"""Frames from any source in one pass: video file, frame folder, array or live iterator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.video import (
    AV_ERRORS,
    VIDEO_EXTENSIONS,
    FrameFolderReader,
    TruncatedVideoError,
    VideoMeta,
    av_error_reason,
    average_fps,
    check_complete,
    open_container,
    rotation_ccw,
)

__all__ = ["FrameStream"]


class FrameStream:
    """One decoding pass over a video file, frame folder, array or iterator of frames.

    Iterating yields ``(index, (H, W, 3) uint8 RGB)``; each source is read once, front to back.
    ``n_frames`` is known up front for folders and arrays and after the pass for files and
    iterators; :attr:`meta` is complete once the pass is done. A file whose tail does not
    decode (fewer frames than its header declares) is not an error here: its frames are used
    and :attr:`warning` says what was missing.

    Parameters
    ----------
    source : a video file, a frame folder, an ``(N, H, W, 3)`` uint8 array or an iterable of
        ``(H, W, 3)`` uint8 frames (e.g. a camera stream).
    video_id : id for the meta; default the file stem / folder name / ``"frames"``.
    fps : frame rate of a folder, array or iterator (files read theirs from the stream).
    """

    def __init__(self, source, video_id: str | None = None, *, fps: float | None = None):
        self.warning: str | None = None
        self._n = 0
        self._done = False
        self._fps = fps
        self._first_shape: tuple[int, int] | None = None
        self._meta: VideoMeta | None = None
        self.path: Path | None = None
        if isinstance(source, str | Path):
            path = Path(source)
            if path.is_dir():
                self._folder = FrameFolderReader(path, video_id, fps=fps)
                self._meta = self._folder.meta
                self.path, self.id = path, self._meta.id
                self.n_frames: int | None = self._meta.n_frames
                self._kind = "folder"
                return
            if not path.is_file():
                raise VadkitError(f"video path {path} does not exist")
            if path.suffix.lower() not in VIDEO_EXTENSIONS:
                raise VadkitError(
                    f"{path}: unsupported extension {path.suffix!r}; expected a frame folder "
                    "or one of " + " ".join(sorted(VIDEO_EXTENSIONS))
                )
            self.path, self.id, self.n_frames, self._kind = (
                path,
                video_id or path.stem,
                None,
                "file",
            )
            return
        self.id = video_id or "frames"
        if isinstance(source, np.ndarray):
            if source.ndim != 4 or source.shape[-1] != 3 or source.dtype != np.uint8:
                raise VadkitError(
                    f"frames must be an (N, H, W, 3) uint8 array, got {source.dtype} {source.shape}"
                )
            self.n_frames = int(source.shape[0])
        else:
            self.n_frames = None
        self._source = source
        self._kind = "frames"

    @property
    def meta(self) -> VideoMeta:
        """The video's metadata; for files and iterators only after the pass."""
        if self._meta is None:
            raise VadkitError(f"{self.path or self.id}: metadata is known after reading it")
        return self._meta

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._done:
            raise VadkitError(f"{self.path or self.id}: a frame stream is read only once")
        self._done = True
        if self._kind == "folder":
            yield from self._folder.iter_frames()
        elif self._kind == "file":
            yield from self._decode_file()
        else:
            yield from self._frames()

    def _frames(self) -> Iterator[tuple[int, np.ndarray]]:
        i = -1
        for i, frame in enumerate(self._source):
            arr = np.asarray(frame)
            if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
                raise VadkitError(
                    f"frame {i} of {self.id}: expected (H, W, 3) uint8 RGB, got {arr.dtype} "
                    f"{arr.shape}"
                )
            if self._first_shape is None:
                self._first_shape = arr.shape[:2]
            elif arr.shape[:2] != self._first_shape:
                raise VadkitError(
                    f"frame {i} of {self.id} is {arr.shape[0]}x{arr.shape[1]}, the first was "
                    f"{self._first_shape[0]}x{self._first_shape[1]}"
                )
            yield i, arr
        n = i + 1
        if n == 0:
            raise VadkitError(f"{self.id}: no frames")
        h, w = self._first_shape
        fps = self._fps
        self.n_frames = n
        self._meta = VideoMeta(
            self.id, Path(self.id), fps, n, h, w, None if fps is None else n / fps
        )

    def _decode_file(self) -> Iterator[tuple[int, np.ndarray]]:
        path = self.path
        container, stream = open_container(path)
        n = n_empty = 0
        first = last = None
        rotation = 0
        size = None
        try:
            try:
                for packet in container.demux(stream):
                    if packet.size == 0 and packet.pts is not None:
                        n_empty += 1  # AVI "dropped frame" placeholders (see probe)
                    for frame in packet.decode():
                        if first is None:
                            first = frame
                            rotation = rotation_ccw(frame, stream)
                            size = (frame.height, frame.width)
                        last = frame
                        if (frame.height, frame.width) != size:  # keep one size
                            frame = frame.reformat(width=size[1], height=size[0])
                        arr = frame.to_ndarray(format="rgb24")
                        if rotation:
                            arr = np.ascontiguousarray(np.rot90(arr, k=rotation // 90))
                        yield n, arr
                        n += 1
            except AV_ERRORS as e:
                raise VadkitError(
                    f"cannot decode {path} after frame {n}: {av_error_reason(e)} (corrupt file?)"
                ) from None
            if first is None:
                raise VadkitError(f"{path}: no frame could be decoded (empty or corrupt video)")
            fps = average_fps(path, stream, first, last, n)
            try:
                check_complete(path, container, stream, n, n_empty, last, fps)
            except TruncatedVideoError as exc:
                self.warning = str(exc)
        finally:
            container.close()
        height, width = size if rotation not in (90, 270) else size[::-1]
        self.n_frames = n
        self._meta = VideoMeta(self.id, path, fps, n, height, width, n / fps, rotation)
