"""What a report shows of one input: results rows, configuration, feature metadata, frames.

Inputs: a training run directory (``vadkit train``), and the output folders of
``vadkit benchmark ucsd|weak|supervision`` and ``vadkit holdout`` (:func:`vadkit.viz.run_kind`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vadkit.errors import VadkitError

__all__ = ["ReportInput", "load_input"]


@dataclass
class ReportInput:
    """One input of a report. ``rows`` are results rows (column -> value), each with its
    ``selection``; ``frames`` are per-video frame scores (method -> video id -> VideoFrames)."""

    label: str
    path: Path
    kind: str
    columns: list[str]
    rows: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)  # figures the command wrote
    tables: dict[str, tuple[list[str], list[list[str]]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)  # for the side-by-side table


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read {path}: {exc}") from None


def _features_of_store(store: str | Path | None, meta: dict[str, Any] | None = None) -> dict:
    """Backbone, weights file and sha256, crops, snippet length: from the checkpoint's store
    entry (``meta``) and the store manifest when it is still there."""
    out: dict[str, Any] = dict(meta or {})
    manifest = Path(store) / "manifest.json" if store else None
    if manifest is not None and manifest.is_file():
        info = _json(manifest).get("store") or {}
        for k in ("backbone", "weights_sha256", "dim", "crops", "crop_mode", "snippet_length",
                  "stride", "padding", "frame_step"):  # fmt: skip
            if info.get(k) is not None:
                out[k] = info[k]
        out["store"] = str(store)
    elif store:
        out["store"] = f"{store} (not found: manifest not read)"
    if out.get("backbone"):
        try:
            from vadkit.backbones.registry import get_config

            out["weights_file"] = get_config(out["backbone"]).weights_file
        except Exception:  # not a registered backbone (e.g. imported features)
            out.setdefault("weights_file", "unknown (backbone not in the registry)")
    return out


def _add_frames(inp: ReportInput, method: str, load: Any) -> None:
    """Per-video frames of ``method``; what cannot be read (e.g. the dataset moved) becomes
    a note in the report instead of failing the report or the command that writes it."""
    try:
        inp.frames[method] = load()
    except VadkitError as exc:
        inp.notes.append(f"no per-video figures of {method}: {exc}")


def _selection(sel: str | None) -> str:
    return "oracle" if sel == "oracle" else (sel or "validation")


def _training_run(path: Path, label: str) -> ReportInput:
    from vadkit.train.rundir import load_checkpoint, read_config, read_metrics
    from vadkit.viz import load_run_frames

    cfg, m = read_config(path), read_metrics(path)
    meta = {}
    if (path / "checkpoint.pt").is_file():
        meta = load_checkpoint(path).get("store") or {}
    sel = _selection(m.get("selection"))
    test = m.get("test") or {}
    row: dict[str, Any] = {"method": m.get("method") or cfg.get("method")}
    for k in ("frame_auc", "frame_auc_macro", "average_precision", "false_alarm_rate"):
        if isinstance(test.get(k), int | float):
            row[k] = test[k]
    if m.get("test_video_auc") is not None:
        row["test_video_auc"] = m["test_video_auc"]
    row["selection"] = sel
    row["best_step"] = m.get("best_step")
    cols = [c for c in row if c != "selection"]
    if cfg.get("kind") == "scene":  # reads frames, not the store: say what it computes
        model = cfg.get("model") or {}
        features = {
            k: model.get(k)
            for k in (
                "flow_method",
                "flow_height",
                "grid",
                "spatial_backbone",
                "spatial_stage",
                "short_side",
            )
        }
        features["input"] = "video frames: optical flow and spatial maps (no feature store)"
    else:
        features = _features_of_store((cfg.get("data") or {}).get("test"), meta)
    inp = ReportInput(label, path, "run", cols, [row], config=cfg, features=features)
    if m.get("selected_on"):
        inp.notes.append(f"checkpoint selected on: {m['selected_on']}")
    if m.get("warning"):
        inp.notes.append(m["warning"])
    _add_frames(inp, row["method"], lambda: load_run_frames(path))
    inp.headline = {"method": row["method"], "micro_auc": row.get("frame_auc"),
                    "ap": row.get("average_precision"), "selection": sel}  # fmt: skip
    return inp


def _ucsd(path: Path, label: str) -> ReportInput:
    from vadkit.viz import load_run_frames

    doc = _json(path / "results.json")
    rows = []
    for r in doc["rows"]:
        px = r.get("pixel") or {}
        # object_speed (and the fusion built on it) is selected on held-out normal videos
        # with synthetic anomalies; every other row is fixed before any data is seen
        selected = r["name"].split(" (")[0] in ("object_speed", "fusion")
        rows.append({
            "row": r["name"], "kind": r["kind"], "micro_auc": r["micro_auc"],
            "macro_auc": r["macro_auc"], "pixel_auc": px.get("pixel_auc"),
            "heldout_far": r["heldout_far"], "note": r["note"],
            "selection": "validation" if selected else "validation (fixed a priori)",
        })  # fmt: skip
    cfg = doc.get("config") or {}
    feats = {"features": f"optical flow ({cfg.get('flow_method')}), grid {cfg.get('grid')}",
             "snippet_length": 1}  # fmt: skip
    if cfg.get("appearance"):
        feats["appearance"] = f"{cfg.get('spatial_backbone')} {cfg.get('spatial_stage')} maps"
    inp = ReportInput(label, path, "ucsd", ["row", "kind", "micro_auc", "macro_auc", "pixel_auc",
                      "heldout_far", "note"], rows, config=cfg, features=feats)  # fmt: skip
    inp.notes.append(f"dataset {doc['dataset']}: {doc['n_test']} test videos, "
                     f"{doc['n_train']} normal training videos; headline {doc['headline']}")  # fmt: skip
    if doc.get("selection"):
        inp.notes.append("selection: " + doc["selection"]["rule"])
    _add_frames(inp, doc["headline"], lambda: load_run_frames(path))
    head = next(r for r in rows if r["row"] == doc["headline"])
    inp.headline = {"method": doc["headline"], "micro_auc": head["micro_auc"], "ap": None,
                    "selection": head["selection"]}  # fmt: skip
    return inp


def _pm(s: Any) -> Any:
    if isinstance(s, dict) and "mean" in s:
        return None if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"
    return s


def _seeds(path: Path, label: str) -> ReportInput:
    """``benchmark weak`` / ``supervision``: mean ± std over splits; split 0's runs as figures."""
    from vadkit.bench.ucsd_layout import find_ucsd_layout
    from vadkit.viz import load_run_frames

    doc = _json(path / "results.json")
    rows = []
    for r in doc["rows"]:
        baseline = r.get("kind") == "baseline"
        row = {"level": "baseline" if baseline else r.get("level", "weak"), "method": r["method"]}
        for k in ("micro_auc", "macro_auc", "ap"):
            if k in r:
                row[k] = _pm(r[k])
        if (r.get("micro_auc") or {}).get("ci95"):
            row["micro_auc_95%"] = "[{:.3f}, {:.3f}]".format(*r["micro_auc"]["ci95"])
        if "paired" in r:
            p = r["paired"]
            row["vs_best_paired"] = "best" if p["best"] == r["method"] else (
                f"{p['mean_diff']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}] "
                + ("indistinguishable" if p["indistinguishable"] else "worse")
            )  # fmt: skip
        row["per_split"] = ", ".join(f"{x['micro_auc']:.3f}" for x in r["runs"])
        # held-out training videos (video / frame AUC); a baseline selects nothing
        row["selection"] = "none (training-free)" if baseline else "validation"
        rows.append(row)
    cols = [c for c in rows[0] if c != "selection"] if rows else []
    inp = ReportInput(label, path, "seeds", cols, rows, config=doc.get("config") or {},
                      features=_features_of_store(doc.get("store")))  # fmt: skip
    inp.notes.append(f"dataset {doc['dataset']}: {len(doc['splits'])} seeded splits; numbers are "
                     "mean ± sample std over splits; figures show split 0")  # fmt: skip
    layout = None
    try:
        layout = find_ucsd_layout(doc["dataset"])
    except VadkitError as exc:
        inp.notes.append(f"no per-video figures: {exc}")
    for r in doc["rows"]:
        if r.get("kind") == "baseline":  # nothing trained, nothing saved
            continue
        run = path / "split0" / (r.get("folder") or r["method"]) / "run"
        if layout is None or not run.is_dir():
            continue
        scores = np.load(run / "scores.npz")
        labels = {v: layout.labels[v.split("-", 1)[1]] for v in scores.files
                  if v.split("-", 1)[-1] in layout.labels}  # fmt: skip
        _add_frames(inp, r["method"], lambda run=run, y=labels: load_run_frames(run, labels=y))
    missing = [
        r["method"]
        for r in doc["rows"]
        if r["method"] not in inp.frames and r.get("kind") != "baseline"
    ]
    if missing and layout is not None:
        inp.notes.append(f"no saved per-video scores for {', '.join(missing)}")
    best = max(rows, key=lambda r: doc["rows"][rows.index(r)]["micro_auc"]["mean"] or 0)
    inp.headline = {"method": best["method"], "micro_auc": best.get("micro_auc"),
                    "ap": best.get("ap"), "selection": "validation"}  # fmt: skip
    return inp


def _holdout(path: Path, label: str) -> ReportInput:
    m = _json(path / "metrics.json")
    cfg = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
    sel = "validation" if (m.get("counts") or {}).get("val") else "validation (training clips)"
    rows = [{"score": k, "auc_test_vs_anomaly": v, "selection": sel}
            for k, v in (m.get("auc_test_vs_anomaly") or {}).items()]  # fmt: skip
    feats = _features_of_store(cfg.get("store"), {k: cfg.get(k) for k in
                               ("backbone", "weights_sha256", "crops", "snippet_length", "stride")})  # fmt: skip
    inp = ReportInput(label, path, "holdout", ["score", "auc_test_vs_anomaly"], rows,
                      config=cfg, features=feats)  # fmt: skip
    inp.notes.append(f"autoencoder kept at epoch {m.get('best_epoch')} "
                     f"(selected on {m.get('selected_on', 'val')}); counts {m.get('counts')}")  # fmt: skip
    for p in sorted((path / "figures").glob("*.png")):
        inp.images[p.stem.replace("_", " ")] = p
    t = path / "thresholds.csv"
    if t.is_file():
        with t.open(newline="") as fh:
            data = list(csv.reader(fh))
        inp.tables["threshold sweep (clips called anomalous per split)"] = (data[0], data[1:])
    if rows:
        best = max(rows, key=lambda r: r["auc_test_vs_anomaly"])
        inp.headline = {"method": f"autoencoder ({best['score']})",
                        "micro_auc": best["auc_test_vs_anomaly"], "ap": None, "selection": sel}  # fmt: skip
    return inp


def load_input(path: str | Path, label: str | None = None) -> ReportInput:
    """Read one input of a report (kind found from its files)."""
    from vadkit.viz import run_kind

    p = Path(path)
    kind = run_kind(p)
    label = label or p.name
    loader = {"run": _training_run, "ucsd": _ucsd, "seeds": _seeds, "holdout": _holdout}[kind]
    return loader(p, label)
