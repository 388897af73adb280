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
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.frames import (
    IMAGE_EXTENSIONS,
    FrameFolderReader,
    ReaderBase,
    VideoMeta,
    VideoReader,
    list_frame_files,
    natural_sort_key,
)

__all__ = [
    "AV_ERRORS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FrameFolderReader",
    "TruncatedVideoError",
    "VideoFileReader",
    "VideoMeta",
    "VideoReader",
    "av_error_reason",
    "average_fps",
    "check_complete",
    "list_frame_files",
    "natural_sort_key",
    "open_container",
    "open_video",
    "probe",
    "rotation_ccw",
]

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .avi .mkv .webm .mov .mpg .mpeg .m2v .mpv .ts .mts .m2ts .wmv .asf .flv .3gp "
    ".ogv .vob .dv .y4m .mxf .gif".split()
)
#: what PyAV raises on a file it cannot open or decode (caught and turned into one line)
AV_ERRORS = (av.FFmpegError, OSError)


def av_error_reason(e: Exception) -> str:
    """FFmpeg's reason of a PyAV error, for a one-line message that names the file once."""
    # PyAV messages repeat the file name; keep only FFmpeg's reason.
    return getattr(e, "strerror", None) or str(e)


def open_container(path: Path) -> tuple[Any, Any]:
    """``(container, first video stream)`` of ``path`` (threaded decoding), or a one-line
    VadkitError for a file that does not open or has no video stream."""
    try:
        container = av.open(str(path))
    except AV_ERRORS as e:
        raise VadkitError(
            f"cannot open video {path}: {av_error_reason(e)} (empty, corrupt or not a video?)"
        ) from None
    if not container.streams.video:
        container.close()
        raise VadkitError(f"{path} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def rotation_ccw(frame: Any, stream: Any) -> int:
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
    container, stream = open_container(path)
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
    except AV_ERRORS as e:
        container.close()
        raise VadkitError(
            f"cannot decode {path} after frame {n}: {av_error_reason(e)} (corrupt file?)"
        ) from None
    try:
        if first is None:
            raise VadkitError(f"{path}: no frame could be decoded (empty or corrupt video)")
        fps = average_fps(path, stream, first, last, n)
        rotation = rotation_ccw(first, stream)
        if strict:
            check_complete(path, container, stream, n, n_empty, last, fps)
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


def average_fps(path: Path, stream: Any, first: Any, last: Any, n: int) -> float:
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


def check_complete(
    path: Path, container: Any, stream: Any, n: int, n_empty: int, last: Any, fps: float
) -> None:
    """Raise :class:`TruncatedVideoError` when the ``n`` decoded frames (``n_empty`` empty
    ones, ``last`` the last) fall short of the frame count or duration the header declares."""
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


class VideoFileReader(ReaderBase):
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
        container, stream = open_container(self.meta.path)
        try:
            yield from container.decode(stream)
        except AV_ERRORS as e:
            raise VadkitError(
                f"cannot decode {self.meta.path}: {av_error_reason(e)} (corrupt file?)"
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
