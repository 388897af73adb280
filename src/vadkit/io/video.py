"""Video input: one reader protocol over video files (PyAV) and frame folders.

Frames are addressed by 0-based integer index and come out as ``(H, W, 3)`` uint8 RGB, upright
(container rotation metadata applied). Every failure a user can cause raises
:class:`~vadkit.errors.VadkitError` naming the path.

Frame counts of video files are counted by decoding (``probe``): header counts are wrong for
some AVIs and for streams with edit lists or variable frame rate, and the snippet count of every
feature store depends on this number. :class:`vadkit.io.stream.FrameStream` decodes a video once, front to back,
and knows the count (and the frame rate, and whether the file was cut short) at the end of that
same pass: what extraction uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

import av
import numpy as np
from PIL import Image

from vadkit.errors import VadkitError

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FrameFolderReader",
    "TruncatedVideoError",
    "VideoFileReader",
    "VideoMeta",
    "VideoReader",
    "list_frame_files",
    "natural_sort_key",
    "open_video",
    "probe",
]

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .avi .mkv .webm .mov .mpg .mpeg .m2v .mpv .ts .mts .m2ts .wmv .asf .flv .3gp "
    ".ogv .vob .dv .y4m .mxf .gif".split()
)
IMAGE_EXTENSIONS = frozenset(".jpg .jpeg .png .tif .tiff .bmp".split())
_AV_ERRORS = (av.FFmpegError, OSError)


def _reason(e: Exception) -> str:
    # PyAV messages repeat the file name; keep only FFmpeg's reason.
    return getattr(e, "strerror", None) or str(e)


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


class _ReaderBase:
    meta: VideoMeta

    def __len__(self) -> int:
        return self.meta.n_frames

    def __enter__(self) -> _ReaderBase:
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


class FrameFolderReader(_ReaderBase):
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


def _open_container(path: Path):
    try:
        container = av.open(str(path))
    except _AV_ERRORS as e:
        raise VadkitError(
            f"cannot open video {path}: {_reason(e)} (empty, corrupt or not a video?)"
        ) from None
    if not container.streams.video:
        container.close()
        raise VadkitError(f"{path} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def _rotation_ccw(frame, stream) -> int:
    """Counter-clockwise rotation (0/90/180/270) that makes frames upright."""
    deg = getattr(frame, "rotation", 0) or 0
    if not deg:
        tag = stream.metadata.get("rotate")  # legacy tag: clockwise degrees
        if tag:
            try:
                deg = -float(tag)
            except ValueError:
                deg = 0
    return int(round(deg / 90.0)) % 4 * 90


def _stream_duration(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")  # Matroska/WebM per-stream duration written by muxers
    if tag:
        m = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d*)?)", tag.strip())
        if m:
            return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    return None


def probe(path: str | Path, video_id: str | None = None, *, strict: bool = True) -> VideoMeta:
    """Decode a video file once and return its exact metadata.

    Parameters
    ----------
    path : a video file PyAV can decode.
    video_id : id to record; default the file stem.
    strict : when True, a file whose header declares more frames (AVI, MP4) or a longer stream
        (Matroska/WebM) than decodes is refused as truncated or damaged. Set False to accept
        the decoded frames as the whole video.

    Returns
    -------
    VideoMeta : ``n_frames`` counted by decoding; ``fps`` the stream's average rate, or the
    rate measured from the frame timestamps when they disagree (variable frame rate).
    """
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"video file {path} does not exist")
    container, stream = _open_container(path)
    n = n_empty = 0
    first = last = None
    try:
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is not None:
                n_empty += 1  # AVI "dropped frame" placeholders: in the header count, never decoded
            for frame in packet.decode():
                if first is None:
                    first = frame
                last = frame
                n += 1
    except _AV_ERRORS as e:
        container.close()
        raise VadkitError(
            f"cannot decode {path} after frame {n}: {_reason(e)} (corrupt file?)"
        ) from None
    try:
        if first is None:
            raise VadkitError(f"{path}: no frame could be decoded (empty or corrupt video)")
        fps = _average_fps(path, stream, first, last, n)
        rotation = _rotation_ccw(first, stream)
        if strict:
            _check_complete(path, container, stream, n, n_empty, last, fps)
    finally:
        container.close()
    height, width = first.height, first.width
    if rotation in (90, 270):
        height, width = width, height
    return VideoMeta(
        id=video_id or path.stem,
        path=path,
        fps=fps,
        n_frames=n,
        height=height,
        width=width,
        duration=n / fps,
        rotation=rotation,
    )


def _average_fps(path: Path, stream, first, last, n: int) -> float:
    """Frames per second over the decoded span; the stream's own rate when it agrees.

    Matroska reports a nominal rate for variable-frame-rate streams, so the rate measured from
    the timestamps (last frame's own duration included) wins when the two differ by > 1%.
    """
    rate = stream.average_rate
    rate = float(rate) if rate and float(rate) > 0 else None
    measured = None
    if n > 1 and first.pts is not None and last.pts is not None and last.pts > first.pts:
        tb = Fraction(first.time_base)
        last_len = last.duration * tb if last.duration else (last.pts - first.pts) * tb / (n - 1)
        measured = float(n / ((last.pts - first.pts) * tb + last_len))
    if rate and (measured is None or abs(measured - rate) <= 0.01 * rate):
        return rate
    if measured:
        return measured
    rate = stream.guessed_rate or stream.base_rate
    if rate and float(rate) > 0:
        return float(rate)
    raise VadkitError(f"{path}: cannot determine the frame rate")


class TruncatedVideoError(VadkitError):
    """Fewer frames decode than the container declares (truncated or damaged file)."""


def _check_complete(path, container, stream, n, n_empty, last, fps) -> None:
    declared = stream.frames
    if declared and n + n_empty < declared:
        raise TruncatedVideoError(
            f"{path}: decoded {n} frames but the header declares {declared} "
            "(truncated or damaged file?)"
        )
    if declared or container.format.name in ("mpeg", "mpegts", "mpegvideo"):
        return  # MPEG-PS/TS durations are bitrate estimates, useless for this check
    expected = _stream_duration(container, stream)
    if expected is None or last.pts is None or last.time is None:
        return
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    last_len = float(last.duration * last.time_base) if last.duration and last.time_base else 0.0
    end = float(last.time) - start + max(last_len, 1.0 / fps)
    if end < expected - 1.5 / fps:
        raise TruncatedVideoError(
            f"{path}: decoded frames end at {end:.3f}s but the stream lasts {expected:.3f}s "
            "(truncated or damaged file?)"
        )


class VideoFileReader(_ReaderBase):
    """Reader for a video file decoded with PyAV.

    ``get_frames`` decodes forward without seeking; successive calls with increasing indices
    continue from where the previous call stopped, so reading a video in sorted batches decodes
    it once.
    """

    def __init__(
        self,
        path: str | Path,
        video_id: str | None = None,
        *,
        meta: VideoMeta | None = None,
        strict: bool = True,
    ):
        self.meta = meta if meta is not None else probe(path, video_id, strict=strict)
        self._container = None
        self._frames: Iterator | None = None
        self._next = 0  # index of the frame self._frames yields next

    def _decode(self) -> Iterator:
        container, stream = _open_container(self.meta.path)
        try:
            yield from container.decode(stream)
        except _AV_ERRORS as e:
            raise VadkitError(
                f"cannot decode {self.meta.path}: {_reason(e)} (corrupt file?)"
            ) from None
        finally:
            container.close()

    def _to_rgb(self, frame) -> np.ndarray:
        m = self.meta
        h, w = (m.width, m.height) if m.rotation in (90, 270) else (m.height, m.width)
        if (frame.height, frame.width) != (h, w):  # mid-stream size change: keep one size
            frame = frame.reformat(width=w, height=h)
        arr = frame.to_ndarray(format="rgb24")
        if m.rotation:
            arr = np.rot90(arr, k=m.rotation // 90)
        return np.ascontiguousarray(arr)

    def _seek_forward(self, index: int):
        """Return the av frame at ``index`` using the persistent decoder (restart if behind)."""
        if self._frames is None or index < self._next:
            self._close_decoder()
            self._frames = self._decode()
            self._next = 0
        while True:
            try:
                frame = next(self._frames, None)
            except VadkitError:
                self._frames = None
                raise
            if frame is None:
                self._close_decoder()
                raise VadkitError(
                    f"{self.meta.path}: decoding ended after {self._next} frames, frame {index} "
                    f"requested (probe counted {self.meta.n_frames})"
                )
            self._next += 1
            if self._next - 1 == index:
                return frame

    def iter_frames(
        self, start: int = 0, stop: int | None = None, step: int = 1
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, (H, W, 3) uint8 RGB)`` for ``range(start, stop, step)``, decoding once."""
        stop = self._check_range(start, stop, step)
        if start >= stop:
            return
        frames = self._decode()
        i = -1
        try:
            for i, frame in enumerate(frames):
                if i >= stop:
                    break
                if i >= start and (i - start) % step == 0:
                    yield i, self._to_rgb(frame)
            else:
                i += 1
            if i < stop:
                last = start + (stop - 1 - start) // step * step
                raise VadkitError(
                    f"{self.meta.path}: decoding ended after {i} frames, frame {last} requested "
                    f"(probe counted {self.meta.n_frames})"
                )
        finally:
            frames.close()

    def _frame_at(self, index: int) -> np.ndarray:
        return self._to_rgb(self._seek_forward(index))

    def _close_decoder(self) -> None:
        if self._frames is not None:
            self._frames.close()  # runs the generator's finally: closes the container
            self._frames = None

    def close(self) -> None:
        self._close_decoder()


def open_video(
    path: str | Path,
    video_id: str | None = None,
    *,
    fps: float | None = None,
    strict: bool = True,
) -> VideoFileReader | FrameFolderReader:
    """Open a video file or a frame folder, chosen from the path.

    Parameters
    ----------
    path : a video file (``VIDEO_EXTENSIONS``) or a directory of images.
    video_id : id for the meta; default the file stem / folder name.
    fps : frame rate of a frame folder (ignored for files, whose rate is read from the stream).
    strict : see :func:`probe`.
    """
    path = Path(path)
    if path.is_dir():
        return FrameFolderReader(path, video_id, fps=fps)
    if not path.exists():
        raise VadkitError(f"video path {path} does not exist")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VadkitError(
            f"{path}: unsupported extension {path.suffix!r}; expected a frame folder or one of "
            + " ".join(sorted(VIDEO_EXTENSIONS))
        )
    meta = probe(path, video_id, strict=strict)
    return VideoFileReader(path, meta=meta)
