"""``vadkit predict --video-out``: an annotated copy of the video and its score figure.

Each output frame is the source frame above a score strip: the whole video's score curve,
the threshold (dashed), the events shaded red and a cursor at the current frame; the frame
gets a red border while it lies inside an event. The strip is drawn once and only the
cursor moves, so annotation costs one array copy per frame. Written with PyAV (H.264 when
the build has it, else MPEG-4) to a temporary name and renamed when complete.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadkit.deploy.predict import Prediction
from vadkit.errors import VadkitError

__all__ = ["score_strip", "write_annotated_video", "write_score_figure"]

STRIP_HEIGHT = 48
_CURVE = np.array([40, 140, 255], np.uint8)
_THRESH = np.array([255, 255, 255], np.uint8)
_EVENT = np.array([120, 20, 20], np.uint8)
_CURSOR = np.array([255, 220, 0], np.uint8)
_ALARM = np.array([230, 30, 30], np.uint8)


def _column_of(n_frames: int, width: int) -> np.ndarray:
    """Frame index -> strip column."""
    return np.minimum((np.arange(n_frames) * width) // max(n_frames, 1), width - 1)


def score_strip(pred: Prediction, width: int, height: int = STRIP_HEIGHT) -> np.ndarray:
    """The ``(height, width, 3)`` uint8 strip of the whole video: curve, threshold, events."""
    scores = np.asarray(pred.frame_scores, np.float64)
    n = len(scores)
    strip = np.full((height, width, 3), 24, np.uint8)
    if n == 0:
        return strip
    lo = min(float(scores.min()), pred.threshold)
    hi = max(float(scores.max()), pred.threshold)
    span = hi - lo if hi > lo else 1.0

    def row(v: float) -> int:
        return int(round((height - 3) * (1.0 - (v - lo) / span))) + 1

    cols = _column_of(n, width)
    for e in pred.events:
        strip[:, cols[e.start_frame] : cols[e.end_frame] + 1] = _EVENT
    t = row(pred.threshold)
    strip[t, ::4] = _THRESH  # dashed
    strip[t, 1::4] = _THRESH
    # the curve: for each column the range of rows its frames reach, joined to the next
    rows = np.array([row(v) for v in scores])
    top = np.full(width, height, int)
    bottom = np.full(width, -1, int)
    np.minimum.at(top, cols, rows)
    np.maximum.at(bottom, cols, rows)
    filled = bottom >= 0
    idx = np.flatnonzero(filled)
    for c in range(width):  # columns with no frame take their neighbour's value
        if not filled[c]:
            j = idx[np.argmin(np.abs(idx - c))]
            top[c], bottom[c] = top[j], bottom[j]
    for c in range(width):
        a, b = top[c], bottom[c]
        if c + 1 < width:
            a, b = min(a, top[c + 1]), max(b, bottom[c + 1]) if abs(top[c + 1] - b) > 1 else b
        strip[a : b + 1, c] = _CURVE
    return strip


def write_annotated_video(pred: Prediction, path: str | Path, *, border: int = 4) -> Path:
    """Write ``path`` (``.mp4``): the source frames over the score strip of :func:`score_strip`."""
    import av

    from vadkit.datasets.synthetic import has_encoder
    from vadkit.io.stream import FrameStream

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = FrameStream(pred.source, pred.video_id, fps=pred.fps)
    in_event = np.zeros(pred.n_frames, bool)
    for e in pred.events:
        in_event[e.start_frame : e.end_frame + 1] = True
    codec = "libx264" if has_encoder("libx264") else "mpeg4"
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    rate = max(1, int(round(pred.fps)))
    written = 0
    try:
        with av.open(str(tmp), mode="w") as container:
            stream = strip = cols = None
            for i, img in frames:
                if i >= pred.n_frames:
                    break
                if stream is None:
                    h, w = img.shape[:2]
                    w2, h2 = w - w % 2, (h + STRIP_HEIGHT) - (h + STRIP_HEIGHT) % 2
                    stream = container.add_stream(codec, rate=rate)
                    stream.width, stream.height, stream.pix_fmt = w2, h2, "yuv420p"
                    if codec == "libx264":
                        stream.options = {"crf": "23", "preset": "veryfast"}
                    strip = score_strip(pred, w)
                    cols = _column_of(pred.n_frames, w)
                    canvas = np.empty((h + STRIP_HEIGHT, w, 3), np.uint8)
                canvas[: img.shape[0]] = img
                if in_event[i]:
                    canvas[:border], canvas[h - border : h] = _ALARM, _ALARM
                    canvas[:h, :border], canvas[:h, w - border : w] = _ALARM, _ALARM
                canvas[h:] = strip
                canvas[h:, cols[i]] = _CURSOR
                out = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(canvas[:h2, :w2]), format="rgb24"
                )
                container.mux(stream.encode(out))
                written += 1
            if stream is None:
                raise VadkitError(f"--video-out: {pred.source} gave no frames to annotate")
            container.mux(stream.encode())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def write_score_figure(pred: Prediction, path: str | Path) -> list[Path]:
    """The per-video score figure of :func:`vadkit.viz.score_curve` (PNG)."""
    from vadkit.viz import read_thumbnails, save_figure, score_curve

    peaks = [e.peak_frame for e in pred.events[:4]]
    thumbs, note = None, None
    if peaks:
        try:
            thumbs = read_thumbnails(pred.source, peaks)
        except VadkitError as exc:
            note = f"no thumbnails: {exc}"
    fig = score_curve(
        pred.frame_scores,
        threshold=pred.threshold,
        fps=pred.fps,
        events=[(e.start_frame, e.end_frame + 1) for e in pred.events],
        thumbnails=thumbs,
        thumbnail_note=note,
        title=f"{pred.video_id}: {len(pred.events)} events ({pred.threshold_source})",
    )
    return save_figure(fig, path)
