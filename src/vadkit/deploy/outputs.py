"""The files ``vadkit predict`` writes per video, with the values used beside them.

::

    OUT/<id>.frames.csv    frame,time_s,score (one row per frame)
    OUT/<id>.frames.json   {"video", "settings", "frame_scores", "timestamps"}
    OUT/<id>.events.csv    start_frame,end_frame,start_s,end_s,peak_frame,peak_s,peak_score,class
    OUT/<id>.events.json   {"video", "settings", "events": [...]}
    OUT/summary.json       every video: its events, or the error that stopped it
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from vadkit.deploy.predict import Prediction
from vadkit.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["write_prediction"]

EVENT_COLUMNS = ("start_frame", "end_frame", "start_s", "end_s", "peak_frame", "peak_s",
                 "peak_score", "class_name")  # fmt: skip


def _csv(rows: list[list[Any]], header: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_prediction(
    pred: Prediction, out: str | Path, extra: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write the four files of one video into ``out``; returns them by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {**pred.settings(), **(extra or {})}
    head = {"video": pred.video_id, "source": pred.source, "settings": settings}
    stem = pred.video_id
    files = {
        k: out / f"{stem}.{k}" for k in ("frames.csv", "frames.json", "events.csv", "events.json")
    }
    classes = pred.frame_classes
    rows = [[i, f"{t:.4f}", f"{s:.6f}"] + ([classes[i]] if classes else [])
            for i, (t, s) in enumerate(zip(pred.timestamps, pred.frame_scores, strict=True))]  # fmt: skip
    atomic_write_text(
        files["frames.csv"],
        _csv(rows, ["frame", "time_s", "score"] + (["class"] if classes else [])),
    )
    frames = {**head, "frame_scores": [round(float(s), 6) for s in pred.frame_scores],
              "timestamps": [round(float(t), 4) for t in pred.timestamps]}  # fmt: skip
    if classes:
        frames["frame_classes"] = classes
    atomic_write_json(files["frames.json"], frames)
    events = [e.to_dict() for e in pred.events]
    atomic_write_text(files["events.csv"],
                      _csv([[e[c] for c in EVENT_COLUMNS] for e in events], list(EVENT_COLUMNS)))  # fmt: skip
    atomic_write_json(files["events.json"], {**head, "events": events, "warnings": pred.warnings})
    return files
