"""The stages of extraction, callable one by one: read frames, build clip batches, encode.

::

    frames  = read_frames(path)                        # one decoding pass, (i, frame) pairs
    batches = clip_batches(frames, config, options)    # uint8 crops of fixed groups of snippets
    feats   = encoder.encode_batch(batch)              # (B, crops, D) per batch

Batch boundaries depend only on the snippet index and ``options`` (snippets
``[k * per, (k + 1) * per)`` form batch ``k``), never on how the frames arrive, so a whole
video, a video read in windows and a video run by another engine give the same numbers.
:func:`encode_video` runs the three for one video with no store; :func:`iter_features`
yields features window by window for sources of unknown length (streams).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.options import ExtractOptions, snippets_per_batch, video_index
from vadkit.extract.transforms import crop_frames
from vadkit.io.stream import FrameStream

__all__ = ["ClipBatch", "clip_batches", "prefetched", "read_frames"]


def read_frames(source, video_id: str | None = None, *, fps: float | None = None) -> FrameStream:
    """One front-to-back pass over a video file, frame folder, ``(N, H, W, 3)`` array or
    iterator of frames; see :class:`~vadkit.io.stream.FrameStream`."""
    return source if isinstance(source, FrameStream) else FrameStream(source, video_id, fps=fps)


@dataclass
class ClipBatch:
    """The snippets of one batch and the uint8 crops of the frames they use.

    Attributes
    ----------
    start : index of the first snippet (``t``) in the video.
    index : (B, L) frame indices of the snippets.
    frames : (n,) distinct frame indices the batch uses, increasing.
    crops : (crops, n, 3, h, w) uint8 crops of those frames.
    keep : frames of this batch that later batches use too.
    """

    start: int
    index: np.ndarray
    frames: np.ndarray
    crops: torch.Tensor
    keep: frozenset[int]


class _Rows:
    """Snippet rows as frames arrive: rows whose frames all exist now, the padded rest at the end."""

    def __init__(self, config: PretrainedConfig, options: ExtractOptions, n_frames: int | None):
        self.spec = options.spec(config)
        self.full: np.ndarray | None = None
        self.t = 0
        if self.spec is None:  # TACnet segments: placed over the whole video
            if n_frames is None:
                raise VadkitError(
                    "--segment-rule tacnet needs the frame count before reading; "
                    "streams of unknown length can use snippets or Sultani segments"
                )
            self.full = video_index(n_frames, config, options)
        self.loop_head = self.spec.span if self.spec and self.spec.padding == "loop" else 0
        self.config, self.options = config, options

    def ready(self, m: int) -> list[np.ndarray]:
        """Rows not given yet whose frames are all among the first ``m``."""
        out = []
        if self.full is not None:
            while self.t < len(self.full) and self.full[self.t].max() < m:
                out.append(self.full[self.t])
                self.t += 1
            return out
        s = self.spec
        while self.t * s.stride + s.span <= m:
            out.append(self.t * s.stride + np.arange(s.clip_len, dtype=np.int64) * s.frame_step)
            self.t += 1
        return out

    def rest(self, n: int) -> list[np.ndarray]:
        """The remaining rows once the video is known to have ``n`` frames."""
        full = self.full if self.full is not None else video_index(n, self.config, self.options)
        out = list(full[self.t :])
        self.t = len(full)
        return out

    def first_needed(self) -> int:
        """No later row uses a frame before this one (except the loop-padding head)."""
        if self.full is not None:
            return int(self.full[self.t :].min()) if self.t < len(self.full) else 1 << 62
        return self.t * self.spec.stride


def clip_batches(
    frames: Iterable[tuple[int, np.ndarray]],
    config: PretrainedConfig,
    options: ExtractOptions,
    *,
    n_frames: int | None = None,
) -> Iterator[ClipBatch]:
    """Group the snippets of a video into fixed batches and crop their frames (uint8).

    Parameters
    ----------
    frames : ``(index, (H, W, 3) uint8)`` pairs in increasing index order (a
        :class:`~vadkit.io.stream.FrameStream`).
    config, options : the backbone's input recipe and the sampling options.
    n_frames : the frame count when known up front (only TACnet segments need it).

    Yields
    ------
    ClipBatch : batch ``k`` holds snippets ``[k * per, (k + 1) * per)``; frames are cropped
    once each and dropped as soon as no later snippet needs them.
    """
    if n_frames is None:
        n_frames = getattr(frames, "n_frames", None)
    per = snippets_per_batch(options, config)
    rows_of = _Rows(config, options, n_frames)
    held: dict[int, torch.Tensor] = {}  # frame -> (crops, 3, h, w) uint8
    rows: list[np.ndarray] = []
    pending: list[tuple[int, np.ndarray]] = []
    m = 0

    def crop_pending() -> None:
        if pending:
            x = crop_frames(np.stack([f for _, f in pending]), config, options.crop)
            for j, (i, _) in enumerate(pending):
                held[i] = x[:, j]
            pending.clear()

    def emit(batch_rows: list[np.ndarray], later_rows: list[np.ndarray], start: int) -> ClipBatch:
        crop_pending()
        index = np.stack(batch_rows)
        used = np.unique(index)
        missing = [int(f) for f in used if int(f) not in held]
        if missing:
            raise VadkitError(f"frame {missing[0]} was needed but not read")
        later = min([rows_of.first_needed()] + [int(r.min()) for r in later_rows])
        keep = frozenset(int(f) for f in used if f >= later or f < rows_of.loop_head or f >= m - 1)
        crops = torch.stack([held[int(f)] for f in used], dim=1)
        for f in [f for f in held if f < later and f >= rows_of.loop_head and f < m - 1]:
            del held[f]
        return ClipBatch(start, index, used, crops, keep)

    start = 0
    for i, frame in frames:
        if i != m:
            raise VadkitError(f"frames must come in order from 0: got frame {i} after {m - 1}")
        pending.append((i, frame))
        m = i + 1
        if len(pending) >= max(4, per):  # crop a few frames at once: fewer small calls
            crop_pending()
        rows += rows_of.ready(m)
        while len(rows) >= per:
            yield emit(rows[:per], rows[per:], start)
            rows, start = rows[per:], start + per
    if m == 0:
        raise VadkitError("video has 0 frames: nothing to cut into snippets")
    rows += rows_of.rest(m)
    while rows:
        yield emit(rows[:per], rows[per:], start)
        rows, start = rows[per:], start + per


def prefetched(batches: Iterator[ClipBatch], depth: int = 2) -> Iterator[ClipBatch]:
    """Run a batch iterator in a background thread, ``depth`` batches ahead.

    Decoding and cropping then overlap with the network. Errors are raised in the caller's
    thread; stopping early (``close()``) stops the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for b in batches:
                while not stop.is_set():
                    try:
                        q.put(b, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            q.put(exc)

    thread = threading.Thread(target=work, name="vadkit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
