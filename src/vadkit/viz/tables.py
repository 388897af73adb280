"""Figures of a run's tables: learning curves (log.jsonl), methods over seeds (results.json)
and reconstruction-error box plots (holdout clips.csv)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.viz.figure import new_figure

__all__ = [
    "error_boxplot",
    "learning_curves",
    "read_clips",
    "read_log",
    "read_seed_results",
    "seed_comparison",
]

SPLIT_ORDER = ("train", "val", "test", "anomaly")


def read_log(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of a run's ``log.jsonl`` (a bad line is an error naming it)."""
    path = Path(run_dir) / "log.jsonl"
    if not path.is_file():
        raise VadkitError(f"{run_dir}: no log.jsonl (not a training run directory)")
    out = []
    for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise VadkitError(f"{path}:{k}: not a JSON line") from None
    return out


def learning_curves(records: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Any:
    """Training loss per logged step (left) and validation AUC per evaluation step (right,
    the selected step marked). ``records`` are :func:`read_log` lines."""
    loss = [(r["step"], r["loss"]) for r in records if "loss" in r and "step" in r]
    val = [(r["step"], r["val"]) for r in records if r.get("val") is not None and "step" in r]
    if not loss and not val:
        raise VadkitError("log holds neither loss nor validation records")
    fig = new_figure(7.0, 2.8)
    ax_loss, ax_val = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if loss:
        s, v = zip(*loss, strict=True)
        ax_loss.plot(s, v, color="tab:blue", lw=1.2, label="training loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss", fontsize=9)
    if val:
        s, v = zip(*val, strict=True)
        ax_val.plot(s, v, "o-", color="tab:orange", lw=1.2, ms=3, label="validation AUC")
        best = [r for r in records if r.get("best_step") is not None]
        if best:
            b = best[-1]["best_step"]
            got = [a for st, a in val if st == b]
            if got:
                ax_val.plot([b], got, "*", color="black", ms=9, label=f"selected (step {b})")
        ax_val.legend(fontsize=7, loc="lower right")
    else:
        ax_val.text(0.5, 0.5, "no validation records", ha="center", transform=ax_val.transAxes)
    ax_val.set_xlabel("step")
    ax_val.set_ylabel("validation AUC")
    ax_val.set_title("validation", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def read_seed_results(path: str | Path, metric: str = "micro_auc") -> dict[str, list[float]]:
    """Per-seed values of ``metric`` of each row of a ``benchmark weak|supervision``
    ``results.json`` (or the folder holding it): row name -> one value per seed/split."""
    p = Path(path)
    p = p / "results.json" if p.is_dir() else p
    if not p.is_file():
        raise VadkitError(f"no results.json at {path}")
    doc = json.loads(p.read_text(encoding="utf-8"))
    out: dict[str, list[float]] = {}
    for row in doc.get("rows", []):
        runs = row.get("runs")
        if not isinstance(runs, list):
            continue
        name = row.get("method", "?")
        if row.get("level") is not None:
            name = f"{name} ({row['level']})"
        vals = [float(r[metric]) for r in runs if r.get(metric) is not None]
        if vals:
            out[name] = vals
    if not out:
        raise VadkitError(f"{p}: no rows with per-seed {metric!r} values (runs)")
    return out


def seed_comparison(
    values: Mapping[str, Sequence[float]], *, metric: str = "frame AUC", title: str | None = None
) -> Any:
    """Every seed's value of each method as a point (jittered sideways), the mean as a bar
    across it and the range as a thin line: the spread, not only the mean or the best."""
    if not values:
        raise VadkitError("seed_comparison: no methods")
    names = list(values)
    fig = new_figure(max(4.0, 0.9 * len(names) + 2.0), 3.2)
    ax = fig.add_subplot(1, 1, 1)
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for i, name in enumerate(names):
        v = np.asarray(values[name], dtype=np.float64)
        x = i + rng.uniform(-0.12, 0.12, len(v))
        sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0  # the benchmarks' tables: sample std
        ax.plot(x, v, "o", ms=5, alpha=0.75, color=f"C{i % 10}", ls="none",
                label=f"{name}: {v.mean():.3f} ± {sd:.3f} (n={len(v)})")  # fmt: skip
        ax.hlines(v.mean(), i - 0.28, i + 0.28, color="black", lw=2)
        ax.vlines(i, v.min(), v.max(), color="0.6", lw=0.8, zorder=0)
    ax.set_xticks(range(len(names)), names, rotation=20 if len(names) > 4 else 0, fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} of every seed (bar: mean)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return fig


def read_clips(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a holdout output's ``clips.csv`` (or the folder holding it)."""
    p = Path(path)
    p = p / "clips.csv" if p.is_dir() else p
    if not p.is_file():
        raise VadkitError(f"no clips.csv at {path} (a `vadkit holdout run` output)")
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "reconstruction_error" not in rows[0]:
        raise VadkitError(f"{p}: expected columns split, class, reconstruction_error")
    return rows


def error_boxplot(
    clips: Sequence[Mapping[str, Any]],
    *,
    value: str = "reconstruction_error",
    title: str | None = None,
) -> Any:
    """Box plots of ``value`` per split (left) and per class and split (right): training,
    validation and test clips of the normal classes beside the held-out anomaly classes."""
    if not clips:
        raise VadkitError("error_boxplot: no clips")
    splits = [s for s in SPLIT_ORDER if any(c["split"] == s for c in clips)]
    splits += sorted({c["split"] for c in clips} - set(splits))
    groups = sorted({(c["split"], c["class"]) for c in clips},
                    key=lambda g: (splits.index(g[0]), g[1]))  # fmt: skip
    fig = new_figure(max(6.0, 2.5 + 0.35 * len(groups)), 3.4)
    grid = fig.add_gridspec(1, 2, width_ratios=[max(1, len(splits)), max(2, len(groups))])
    ax_s, ax_c = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])

    def vals(pred: Any) -> np.ndarray:
        return np.asarray([float(c[value]) for c in clips if pred(c)], dtype=np.float64)

    ax_s.boxplot([vals(lambda c, s=s: c["split"] == s) for s in splits], tick_labels=splits)
    ax_s.set_ylabel(value.replace("_", " "))
    ax_s.set_title("per split", fontsize=9)
    data = [vals(lambda c, g=g: (c["split"], c["class"]) == g) for g in groups]
    box = ax_c.boxplot(data, tick_labels=[f"{c} ({s})" for s, c in groups], patch_artist=True)
    for patch, (s, _) in zip(box["boxes"], groups, strict=True):
        patch.set_facecolor("tab:red" if s == "anomaly" else "tab:blue")
        patch.set_alpha(0.35)
    ax_c.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax_c.set_title("per class (red: held-out anomaly classes)", fontsize=9)
    every = np.concatenate([d for d in data if len(d)])
    # errors of held-out classes can be 100x the training ones: a log axis keeps both readable
    log = bool((every > 0).all() and every.max() > 50 * max(np.median(every), 1e-12))
    for a in (ax_s, ax_c):
        a.tick_params(axis="y", labelsize=8)
        if log:
            a.set_yscale("log")
    ax_s.tick_params(axis="x", labelsize=8, labelrotation=30)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
