"""``predict_stream``: a live source -> per-frame scores and events as they happen.

Features are encoded as frames arrive with :func:`vadkit.extract.iter_features` from the
model's ``StoreInfo`` (so they equal ``vadkit extract``'s), one batch of snippets at a time.
Each new snippet is scored on a sliding window of the last ``W`` snippets (a one-class scorer:
the snippet alone; a weak or full head: the newest score of the window), and a frame's score
is the ``"exact"`` expansion :func:`vadkit.deploy.predict.expand_to_frames` gives, computed
from the at most ``ceil(snippet_length / stride)`` snippets covering it. A frame is scored once
its snippet is and it has arrived. Nothing grows with the stream's length: a deque of ``W``
features, the covering scores, the arrival times of unscored frames, the last
``LATENCY_SAMPLES`` latencies.
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.deploy.model import Predictor
from vadkit.deploy.stream_events import EventTracker, StreamEvent
from vadkit.errors import VadkitError

__all__ = ["LATENCY_SAMPLES", "StreamUpdate", "predict_stream"]

LATENCY_SAMPLES = 10_000  # the median / p95 are over the last this many frames


@dataclass
class StreamUpdate:
    """Frames scored since the last update, their scores and the event lines they caused.

    The last update has ``summary`` (frames/s, latency, why the stream stopped).
    """

    frames: np.ndarray
    scores: np.ndarray
    events: list[StreamEvent] = field(default_factory=list)
    stats: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None


class _Clock:
    """Frames/s and arrival-to-score latency over a bounded sample."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.n = 0
        self.lat: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    def scored(self, arrivals: list[float], now: float) -> None:
        self.n += len(arrivals)
        self.lat.extend(now - a for a in arrivals)

    def report(self, now: float) -> dict[str, Any]:
        secs = now - self.first if self.first is not None else 0.0
        p50, p95 = np.percentile(self.lat, [50, 95]) * 1000 if self.lat else (None, None)
        return {
            "frames": self.n, "seconds": round(secs, 3),
            "fps": round(self.n / secs, 2) if secs > 0 else None,
            "latency_ms_p50": None if p50 is None else round(float(p50), 1),
            "latency_ms_p95": None if p95 is None else round(float(p95), 1),
        }  # fmt: skip


def _frame_score(k: int, scores: dict[int, float], t_last: int, length: int, step: int) -> float:
    """``expand_snippets(..., convention="exact")`` of frame ``k`` from its covering snippets."""
    hi = min(k // step, t_last)
    lo = max(0, -((length - 1 - k) // step))
    if lo > hi or step >= length:  # a gap or past the end: the preceding / last snippet
        return scores[hi]
    return float(np.sum([scores[t] for t in range(lo, hi + 1)]) / (hi - lo + 1))


def predict_stream(
    predictor: Predictor,
    source: Any,
    *,
    encoder: Any = None,
    fps: float | None = None,
    threshold: float | None = None,
    far: float | None = None,
    min_length: float = 0.0,
    merge_gap: float = 0.0,
    window: int | None = None,
    stall_timeout: float = 5.0,
    reconnect: int = 0,
    max_seconds: float | None = None,
    report_every: float = 10.0,
    batch_size: int | None = None,
) -> Iterator[StreamUpdate]:
    """Score a live source frame by frame; yields a :class:`StreamUpdate` per scored batch.

    Parameters
    ----------
    source : a URL or device PyAV opens (read by :class:`~vadkit.deploy.stream_source.
        StreamSource`), a video file (read the same way, no frame dropped), or an iterable of
        ``(H, W, 3)`` uint8 frames (arrival = when it is pulled).
    window : snippets a weak / full head sees (default 32 or the method's minimum); one-class
        scorers score each snippet alone.
    stall_timeout, reconnect : see ``StreamSource``.
    max_seconds : stop after this many seconds of wall time (``"max-seconds"``).
    report_every : seconds between ``stats`` updates.
    batch_size : network inputs per call (default one snippet: a frame waits for its own
        snippet only, not for a batch of them; the store's batch size gives features bit-equal
        to ``vadkit extract``'s, smaller ones differ in the last float bits).
    """
    from vadkit.deploy.predict import load_predictor_encoder, resolve_threshold
    from vadkit.deploy.stream_source import StreamSource
    from vadkit.extract import iter_features
    from vadkit.extract.options import options_from_store

    spec = predictor.feature_spec
    if spec is None or spec.n_segments:
        what = "a scene detector" if spec is None else "a model of fixed segments"
        raise VadkitError(f"--stream: {what} needs the whole video; use a snippet model")
    from vadkit.deploy.exported_backbone import ExportedBackbone

    if isinstance(encoder, ExportedBackbone):
        raise VadkitError("--stream: an exported --backbone-model is not supported yet")
    enc = encoder if encoder is not None else load_predictor_encoder(predictor)
    thr, how = resolve_threshold(predictor, threshold, far)
    options = options_from_store(spec.info, batch_size=batch_size or spec.crops)
    reader = None
    if isinstance(source, str | Path):
        text = str(source)
        is_file = Path(text).is_file()
        reader = StreamSource(text, stall_timeout=stall_timeout, reconnect=reconnect, fps=fps,
                              drop=not is_file)  # fmt: skip
    elif isinstance(source, StreamSource):
        reader = source
    if reader is not None:
        reader.start()
        # the frame rate is known with the first frame; the reader's own timeouts bound this
        while not reader.wait_opened(0.2):
            pass
    rate = float(fps or (reader.fps if reader is not None else None) or 25.0)
    length, step = spec.snippet_length, spec.stride
    one_class = predictor.kind == "one-class"
    W = 1 if one_class else max(int(window or 32), predictor.min_snippets)
    feats: deque[np.ndarray] = deque(maxlen=W)
    covering: dict[int, float] = {}
    keep = -(-length // step)
    arrivals: dict[int, float] = {}
    clock = _Clock()
    tracker = EventTracker(thr, fps=rate, min_length=min_length, merge_gap=merge_gap)
    state = {"n": 0, "reason": "ended", "next": 0, "t_last": -1}
    start = time.monotonic()
    notes: list[str] = []

    def frames() -> Iterator[np.ndarray]:
        items: Iterable[Any] = reader if reader is not None else source
        for item in items:
            stamp, img = item if reader is not None else (time.monotonic(), item)
            if clock.first is None:
                clock.first = stamp
            arrivals[state["n"]] = stamp
            state["n"] += 1
            yield img
            if max_seconds is not None and time.monotonic() - start >= max_seconds:
                state["reason"] = f"max-seconds {max_seconds:g} reached"
                return

    def emit(upto: int) -> StreamUpdate:
        ks = np.arange(state["next"], upto)
        s = np.array([_frame_score(int(k), covering, state["t_last"], length, step) for k in ks])
        now = time.monotonic()
        clock.scored([arrivals.pop(int(k)) for k in ks], now)
        lines = [e for k, v in zip(ks, s, strict=True) for e in tracker.update(int(k), float(v))]
        state["next"] = upto
        return StreamUpdate(ks, s, lines)

    last_report = start
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for t0, x in iter_features(frames(), options, enc, window=1):
                if one_class:
                    scores = predictor.score_features(x).scores
                else:
                    scores = []
                    for snippet in x:
                        feats.append(snippet)
                        scores.append(predictor.score_features(np.stack(feats)).scores[-1])
                for j, v in enumerate(scores):
                    covering[t0 + j] = float(v)
                state["t_last"] = t0 + len(scores) - 1
                update = emit(min(state["n"], (state["t_last"] + 1) * step))
                for t in [t for t in covering if t < state["next"] // step - keep]:
                    del covering[t]  # no unscored frame is covered by it any more
                now = time.monotonic()
                if now - last_report >= report_every:
                    update.stats, last_report = {"type": "stats", **clock.report(now)}, now
                yield update
            notes += sorted({str(w.message) for w in caught})
    except KeyboardInterrupt:
        state["reason"] = "interrupted (Ctrl-C)"
    except VadkitError:
        if state["n"]:  # a real error; no frame at all is said by the reason
            raise
        if reader is None:  # else the reader's reason says why (cannot open, stalled ...)
            state["reason"] = "no frames"
    finally:
        if reader is not None:
            reader.stop(None if state["reason"] == "ended" else state["reason"])
    if reader is not None and state["reason"] == "ended":
        state["reason"] = reader.reason
    tail = emit(state["n"]) if state["t_last"] >= 0 else StreamUpdate(np.arange(0), np.zeros(0))
    tail.events += tracker.finish()
    tail.summary = {
        "type": "summary", "stopped": state["reason"], **clock.report(time.monotonic()),
        "threshold": thr, "threshold_source": how, "fps_video": rate,
        "dropped_frames": reader.dropped if reader is not None else 0,
        "reconnects": reader.reconnects if reader is not None else 0, "window_snippets": W,
        "warnings": notes,
    }  # fmt: skip
    yield tail
