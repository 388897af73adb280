"""Per-frame scores arriving one by one -> event lines as they happen, as ``find_events``.

The rule is :func:`vadkit.deploy.events.find_events`'s (score > threshold; runs at most
``merge_gap`` s apart merge, the gap frames joining; events under ``min_length`` s dropped),
applied online: ``"start"`` is emitted once an event is ``min_length`` long, ``"end"`` once
``merge_gap`` seconds of normal frames have passed after it (or the stream stops). On a whole
curve the closed events equal ``find_events``'s. Memory is constant: only the open event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vadkit.deploy.events import Event
from vadkit.errors import VadkitError

__all__ = ["EventTracker", "StreamEvent"]

_EPS = 1e-9  # the tolerance find_events compares seconds with


@dataclass(frozen=True)
class StreamEvent:
    """``kind`` "start" (the event so far) or "end" (the closed event, as find_events')."""

    kind: str
    event: Event

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **self.event.to_dict()}


class EventTracker:
    """Feed ``update(frame, score)`` in frame order; ``finish()`` closes an open event."""

    def __init__(self, threshold: float, *, fps: float, min_length: float = 0.0,
                 merge_gap: float = 0.0) -> None:  # fmt: skip
        if not (fps and fps > 0):
            raise VadkitError(f"event tracker: fps must be > 0, got {fps}")
        if min_length < 0 or merge_gap < 0:
            raise VadkitError("event tracker: min_length and merge_gap must be >= 0 seconds")
        self.threshold, self.fps = float(threshold), float(fps)
        self.min_length, self.merge_gap = float(min_length), float(merge_gap)
        self._open: list[Any] | None = None  # [start, last anomalous, peak score, peak frame]
        self._started = False
        self._next = 0

    def _event(self) -> Event:
        a, b, peak, at = self._open
        f = self.fps
        return Event(a, b, a / f, (b + 1) / f, float(peak), at, at / f)

    def update(self, frame: int, score: float) -> list[StreamEvent]:
        """The event lines frame ``frame`` of score ``score`` causes (usually none)."""
        if frame != self._next:
            raise VadkitError(f"event tracker: frame {frame} came after frame {self._next - 1}")
        self._next += 1
        out: list[StreamEvent] = []
        if score > self.threshold:
            if self._open is None:
                self._open = [frame, frame, score, frame]
            else:
                self._open[1] = frame
                if score > self._open[2]:  # strict: the first maximum, as np.argmax
                    self._open[2:] = [score, frame]
            a, b = self._open[:2]
            if not self._started and (b - a + 1) / self.fps >= self.min_length - _EPS:
                self._started = True
                out.append(StreamEvent("start", self._event()))
        elif self._open is not None and (frame - self._open[1]) / self.fps > self.merge_gap + _EPS:
            out += self._close()
        return out

    def finish(self) -> list[StreamEvent]:
        """Close the open event (the stream stopped)."""
        return self._close() if self._open is not None else []

    def _close(self) -> list[StreamEvent]:
        ev, started = self._event(), self._started
        self._open, self._started = None, False
        return [StreamEvent("end", ev)] if started else []
