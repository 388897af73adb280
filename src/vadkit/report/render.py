"""Render inputs into one self-contained HTML file: figures as PNG data URIs, inline CSS."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write_text
from vadkit.report.inputs import ReportInput, load_input

__all__ = ["ERROR_RULE", "build_report", "video_error", "write_report"]

ERROR_RULE = (
    "per-video error = share of (normal, anomalous) frame pairs that involve this video's "
    "frames and are ranked the wrong way, each of its frames compared with the frames of the "
    "other class in all test videos of the run (ties count half): 0 is perfect, 0.5 is chance. "
    "Videos without ground truth are ordered by their highest score."
)


def video_error(frames: dict[str, Any]) -> dict[str, float]:
    """:data:`ERROR_RULE` for every video with labels (``{id: error}``)."""
    lab = {v: f for v, f in frames.items() if f.labels is not None}
    if not lab:
        return {}
    ys = np.concatenate([np.asarray(f.labels).astype(bool) for f in lab.values()])
    ss = np.concatenate([np.asarray(f.scores, np.float64) for f in lab.values()])
    neg, pos = np.sort(ss[~ys]), np.sort(ss[ys])
    out = {}
    for v, f in lab.items():
        y, s = np.asarray(f.labels).astype(bool), np.asarray(f.scores, np.float64)
        wrong, pairs = 0.0, 0
        if y.any() and len(neg):  # anomalous frames scored at or below normal ones
            above = len(neg) - np.searchsorted(neg, s[y], "right")
            ties = np.searchsorted(neg, s[y], "right") - np.searchsorted(neg, s[y], "left")
            wrong += float(above.sum() + 0.5 * ties.sum())
            pairs += int(y.sum()) * len(neg)
        if (~y).any() and len(pos):  # normal frames scored at or above anomalous ones
            below = np.searchsorted(pos, s[~y], "left")
            ties = np.searchsorted(pos, s[~y], "right") - below
            wrong += float(below.sum() + 0.5 * ties.sum())
            pairs += int((~y).sum()) * len(pos)
        out[v] = wrong / pairs if pairs else float("nan")
    return out


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _file_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _video_figures(method: str, frames: dict[str, Any], limit: int) -> tuple[list, str]:
    from vadkit.evaluate.metrics import per_video_auc
    from vadkit.viz import peak_frames, read_thumbnails, score_curve

    err = video_error(frames)
    order = sorted(frames, key=lambda v: (-(err.get(v, -1.0)), -float(np.max(frames[v].scores))))
    auc = per_video_auc({v: f.labels for v, f in frames.items() if f.labels is not None},
                        {v: f.scores for v, f in frames.items() if f.labels is not None})  # fmt: skip
    shown = order[:limit]
    note = f"{len(shown)} of {len(frames)} videos shown, worst first"
    out = []
    for v in shown:
        f = frames[v]
        thumbs, why = [], None
        try:
            thumbs = read_thumbnails(f.source, peak_frames(f.scores, 4))
        except VadkitError as exc:
            why = f"no thumbnails: {exc}"
        fig = score_curve(f.scores, labels=f.labels, fps=f.fps, attention=f.attention,
                          thumbnails=thumbs, thumbnail_note=why, title=f"{method}: {v}")  # fmt: skip
        cap = [f"video {v}"]
        if v in err:
            cap.append(f"error {err[v]:.3f}")
        if v in auc:
            cap.append(f"per-video AUC {auc[v]:.3f}")
        if f.labels is None:
            cap.append("no ground truth")
        out.append({"id": v, "caption": ", ".join(cap), "src": _png(fig)})
    return out, note


def _roc(runs: dict[str, Any], title: str) -> str | None:
    from vadkit.viz import roc_curves

    if not runs:
        return None
    return _png(roc_curves(runs, title=title))


def _labelled(frames: dict[str, Any]) -> tuple[dict, dict] | None:
    lab = {v: f for v, f in frames.items() if f.labels is not None}
    if not lab:
        return None
    y = np.concatenate([np.asarray(f.labels) for f in lab.values()])
    if y.all() or not y.any():
        return None
    return ({v: f.labels for v, f in lab.items()}, {v: f.scores for v, f in lab.items()})


def _section(inp: ReportInput, max_videos: int) -> dict[str, Any]:
    rows = [[_fmt(r.get(c)) for c in inp.columns] + [r.get("selection", "validation")]
            for r in inp.rows]  # fmt: skip
    curves = {m: p for m, fr in inp.frames.items() if (p := _labelled(fr)) is not None}
    videos = []
    for method, frames in inp.frames.items():
        figs, note = _video_figures(method, frames, max_videos)
        videos.append({"method": method, "note": note, "figures": figs})
    return {
        "label": inp.label, "path": str(inp.path.resolve()), "kind": inp.kind,
        "columns": inp.columns + ["selection"], "rows": rows, "notes": inp.notes,
        "config": _yaml(inp.config), "features": [(k, _fmt(v)) for k, v in inp.features.items()],
        "roc": _roc(curves, f"{inp.label}: frame-level ROC"),
        "videos": videos,
        "images": [(k, _file_png(p)) for k, p in inp.images.items()],
        "tables": [(k, h, r) for k, (h, r) in inp.tables.items()],
    }  # fmt: skip


def _yaml(cfg: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False) if cfg else ""


def build_report(inputs: Sequence[ReportInput], *, title: str | None = None,
                 max_videos: int = 12) -> str:  # fmt: skip
    """The HTML text of a report over ``inputs`` (one section each; with several, a
    side-by-side table and an ROC overlay of their headline scores)."""
    import jinja2

    from vadkit import __version__

    if not inputs:
        raise VadkitError("report: no input given")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vadkit.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    sections = [_section(i, max_videos) for i in inputs]
    compare, overlay = None, None
    if len(inputs) > 1:
        compare = [[i.label, i.kind, _fmt(i.headline.get("method")),
                    _fmt(i.headline.get("micro_auc")), _fmt(i.headline.get("ap")),
                    i.headline.get("selection", "validation")] for i in inputs]  # fmt: skip
        runs = {}
        for i in inputs:
            m = i.headline.get("method")
            if m in i.frames and (p := _labelled(i.frames[m])) is not None:
                runs[f"{i.label}: {m}"] = p
        overlay = _roc(runs, "frame-level ROC of every input")
    return env.get_template("report.html.j2").render(
        title=title or "vadkit report: " + ", ".join(i.label for i in inputs),
        sections=sections, compare=compare, overlay=overlay, error_rule=ERROR_RULE,
        version=__version__,
    )  # fmt: skip


def write_report(paths: Sequence[str | Path], out: str | Path, *, title: str | None = None,
                 max_videos: int = 12) -> Path:  # fmt: skip
    """Read every input, write the report to ``out`` (atomically); returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    inputs = [load_input(p) for p in paths]
    return atomic_write_text(Path(out), build_report(inputs, title=title, max_videos=max_videos))
