"""A live video source read in a thread: frames with their arrival time, in a bounded queue.

PyAV opens the source (a UDP / RTSP / HTTP URL, a file still being written, a camera device);
every blocking call has a timeout (PyAV's ``timeout=(open_s, read_s)``, queue waits), so a
stream that stalls, drops or ends never hangs the reader: after ``stall_timeout`` seconds
without a frame it reconnects up to ``reconnect`` times (backoff 0.5, 1, 2 ... s), then stops
and :attr:`StreamSource.reason` says why. When the consumer falls behind, the oldest frames
are dropped (counted in :attr:`dropped`) so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["StreamSource"]

_END = object()


def _url_options(url: str) -> tuple[str, dict[str, str]]:
    """UDP: keep reading through buffer overruns (a burst must not kill the stream)."""
    if url.startswith("udp://") and "overrun_nonfatal" not in url:
        url += ("&" if "?" in url else "?") + "overrun_nonfatal=1&fifo_size=50000"
    opts = {"rtsp_transport": "tcp"} if url.startswith("rtsp://") else {}
    return url, opts


class StreamSource:
    """Iterate ``(arrival monotonic seconds, (H, W, 3) uint8 RGB)`` of a live source.

    Parameters
    ----------
    url : anything ``av.open`` opens.
    stall_timeout : seconds without a frame that count as a stall.
    open_timeout : seconds an open may take (default ``stall_timeout + 5``): FFmpeg probes the
        first seconds of a live stream before it returns, so this must exceed the stall time.
    reconnect : reopen attempts after a stall or a read error before giving up.
    max_queue : frames held between the reader and the consumer (then drop-oldest).
    fps : frame rate when the source does not say (default 25).
    drop : when the queue is full, drop its oldest frame (live sources) rather than wait
        (a file: every frame is scored).
    """

    def __init__(self, url: str, *, stall_timeout: float = 5.0, reconnect: int = 0,
                 max_queue: int = 256, fps: float | None = None,
                 drop: bool = True, open_timeout: float | None = None) -> None:  # fmt: skip
        if stall_timeout <= 0 or reconnect < 0 or max_queue < 1:
            raise VadkitError("--stall-timeout must be > 0 s and --reconnect >= 0")
        self.name = str(url)  # as the user gave it, for messages
        self.url, self.options = _url_options(str(url))
        self.stall_timeout, self.reconnect = float(stall_timeout), int(reconnect)
        self.open_timeout = float(open_timeout or stall_timeout + 5.0)
        self.fps: float | None = fps
        self.dropped = 0
        self.drop = drop
        self.reconnects = 0
        self.reason = "running"
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vadkit-stream", daemon=True)
        self._size: tuple[int, int] | None = None

    def start(self) -> StreamSource:
        """Start the reader thread (once; later calls do nothing)."""
        if not self._thread.is_alive() and self.reason == "running":
            self._thread.start()
        return self

    def wait_opened(self, timeout: float) -> bool:
        """True once the first frame's rate is known (or the reader stopped)."""
        return self._opened.wait(timeout)

    def stop(self, reason: str | None = None) -> None:
        if reason and self.reason == "running":
            self.reason = reason
        self._stop.set()
        self._thread.join(timeout=self.open_timeout + 2.0)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            try:
                item = self._q.get(timeout=0.2)
            except queue.Empty:
                if not self._thread.is_alive() and self._q.empty():
                    return
                continue
            if item is _END:
                return
            yield item

    # ------------------------------------------------------------------ reader thread
    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._q.put_nowait(item)
                return
            except queue.Full:
                if not self.drop:
                    self._stop.wait(0.01)
                    continue
                try:  # drop the oldest frame: a live view wants the newest
                    self._q.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        try:
            self._read_all()
        except Exception as exc:  # the reason line says it; the consumer must not hang
            self.reason = f"error: {type(exc).__name__}: {exc}"
        finally:
            self._opened.set()
            self._put(_END)

    def _read_all(self) -> None:
        failures = 0
        while not self._stop.is_set():
            outcome, got = self._read_once()
            if self._stop.is_set():
                return
            if outcome == "ended":
                self.reason = "ended"
                return
            failures = 0 if got else failures + 1
            if self.reconnects >= self.reconnect:
                tail = f", gave up after {self.reconnects} reconnects" if self.reconnect else ""
                self.reason = f"{outcome}{tail}"
                return
            self.reconnects += 1
            self._stop.wait(min(8.0, 0.5 * 2 ** max(0, failures - 1)))

    def _read_once(self) -> tuple[str, bool]:
        """One connection: ("ended" | "stalled N s" | "cannot open: ..." , frames read?)."""
        import av

        t = self.stall_timeout
        try:
            container = av.open(self.url, options=self.options, timeout=(self.open_timeout, t))
        except (av.error.ExitError, av.error.TimeoutError):  # no data within the timeout
            return f"stalled {t:g} s (no stream within {self.open_timeout:g} s of opening)", False
        except (av.error.FFmpegError, OSError) as exc:
            return f"cannot open {self.name}: {getattr(exc, 'strerror', None) or exc}", False
        got = False
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            if self.fps is None and rate:
                self.fps = float(rate)
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return "stopped", got
                self._opened.set()
                if self._size is None:
                    self._size = (frame.height, frame.width)
                elif (frame.height, frame.width) != self._size:  # a reconnect changed size
                    frame = frame.reformat(width=self._size[1], height=self._size[0])
                self._put((time.monotonic(), frame.to_ndarray(format="rgb24")))
                got = True
        except IndexError:
            return f"no video stream in {self.name}", got
        except (av.error.FFmpegError, OSError) as exc:
            if (
                isinstance(exc, av.error.ExitError | av.error.TimeoutError)
                or "timed out" in str(exc).lower()
                or got
            ):
                return f"stalled {t:g} s", got
            return f"read error: {getattr(exc, 'strerror', None) or exc}", got
        finally:
            container.close()
        # a UDP/RTSP source has no end: EOF there is a drop, a file's EOF is its end
        return ("ended" if "://" not in self.url else "dropped"), got
