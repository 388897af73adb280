"""Outputs of the UCSD benchmark: results JSON, per-video scores, score curves, docs table."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout
from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write, atomic_write_json, atomic_write_text

__all__ = [
    "ablation_markdown",
    "plot_curves",
    "selection_markdown",
    "update_docs_block",
    "write_outputs",
]


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def ablation_markdown(doc: Mapping[str, Any]) -> str:
    """The ablation table and run notes of a results dict, as Markdown."""
    name = Path(doc["dataset"]).name
    n_folds = len(doc.get("folds") or [None])
    split = (
        f"{len(doc['fit_videos'])} fit, {len(doc['heldout_videos'])} held out for calibration"
        if n_folds == 1
        else f"cross-fitted in {n_folds} folds: each held out once for the choices and the "
        f"threshold, the final detector fitted on all {len(doc['fit_videos'])}"
    )
    lines = [
        f"Dataset `{name}`: {doc['n_test']} test videos ({doc['n_test_frames']} frames), "
        f"{doc['n_train']} normal training videos ({split}); "
        f"{len(doc['gt_without_frames'])} ground-truth entries had no frames. "
        f"Headline: **{doc['headline']}**.",
        "",
        "| row | kind | micro AUC | macro AUC (videos) | pixel AUC | UCSD pixel-level AUC "
        "| held-out FAR at threshold | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["rows"]:
        px = r.get("pixel") or {}
        lines.append(
            f"| {r['name']} | {r['kind']} | {_fmt(r['micro_auc'])} | {_fmt(r['macro_auc'])} "
            f"({r['macro_videos']}) | {_fmt(px.get('pixel_auc'))} "
            f"| {_fmt(px.get('ucsd_pixel_level_auc'))} | {r['heldout_far']:.3f} | {r['note']}"
            + (f", σ={r['sigma']:g} frames" if r["sigma"] else "")
            + " |"
        )
    for bb in doc["skipped_backbones"]:
        lines.append(f"| {bb} knn | skipped | – | – | – | – | – | not in the backbone registry |")
    lines += selection_markdown(doc)
    t = doc["timings_s"]
    lines += [
        "",
        "Timings (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in t.items())
        + (f"; CPU time of all processes {doc['cpu_s']:.0f} s" if "cpu_s" in doc else "")
        + f"; load average at the end {doc.get('load_average', '?')} on {os.cpu_count()} cores"
        + (" (cached features reused)" if doc.get("cached") else "")
        + ".",
    ]
    return "\n".join(lines)


def selection_markdown(doc: Mapping[str, Any]) -> list[str]:
    """The ``object_speed`` selection: per window and threshold, the sigma with the best
    validation AUC; test AUCs (computed after the choice, never used) beside them."""
    sel = doc.get("selection")
    if not sel:
        return []
    from fractions import Fraction

    best: dict[tuple[float, float], dict[str, Any]] = {}
    for c in sel["candidates"]:
        key = (c["window"], c["min_speed"])
        if key not in best or c["val_auc"] > best[key]["val_auc"] or c["selected"]:
            if key in best and best[key]["selected"]:
                continue
            best[key] = c
    lines = [
        "",
        f"Selection of `object_speed` ({len(sel['candidates'])} candidates; rule "
        f"`{sel['rule'].split(':')[0]}`): validation = micro AUC on the held-out normal videos "
        "with synthetic sped-up objects. Per window and threshold the row shows its best "
        "sigma on validation (or the selected one). **Test AUCs were computed after the "
        "choice and were not used.**",
        "",
        "| window (of frame height) | min speed | sigma | validation AUC | within 1 SE "
        "| test micro AUC | test macro AUC | |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (w, m), c in best.items():
        mark = "**selected**" if c["selected"] else ("best validation" if c["best_val"] else "")
        lines.append(
            f"| {Fraction(w).limit_denominator(64)} | {m:g} | {c['sigma']:g} "
            f"| {c['val_auc']:.4f} | {'yes' if c.get('within_one_se') else 'no'} "
            f"| {_fmt(c.get('test_micro_auc'))} | {_fmt(c.get('test_macro_auc'))} | {mark} |"
        )
    return lines


def update_docs_block(path: str | Path, key: str, body: str) -> Path:
    """Replace (or append) the block between ``<!-- benchmark:KEY begin/end -->`` in ``path``."""
    path = Path(path)
    text = path.read_text() if path.is_file() else ""
    begin, end = f"<!-- benchmark:{key} begin -->", f"<!-- benchmark:{key} end -->"
    block = f"{begin}\n{body}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    elif begin in text or end in text:
        raise VadkitError(f"{path}: unmatched marker for block {key!r}; fix the file by hand")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    return atomic_write_text(path, text)


def plot_curves(
    scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], out: Path, title: str
) -> list[Path]:
    """One PNG per video: the score curve with the ground-truth anomalous frames shaded."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    paths = []
    for vid, s in scores.items():
        fig, ax = plt.subplots(figsize=(6, 2.2), dpi=100)
        y = np.asarray(labels[vid]).astype(bool)
        ax.fill_between(
            np.arange(len(y)),
            0,
            1,
            where=y,
            color="tab:red",
            alpha=0.2,
            transform=ax.get_xaxis_transform(),
            step="mid",
            label="ground truth",
        )
        ax.plot(np.asarray(s), color="tab:blue", lw=1.2, label=title)
        ax.set_xlim(0, max(len(s) - 1, 1))
        ax.set_xlabel("frame")
        ax.set_ylabel("score")
        ax.set_title(f"video {vid}", fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
        fig.tight_layout()
        p = out / f"curve_{vid}.png"
        atomic_write(p, lambda f, fig=fig: fig.savefig(f, format="png"))
        plt.close(fig)
        paths.append(p)
    return paths


def write_outputs(
    doc: dict[str, Any],
    scores: Mapping[str, Mapping[str, np.ndarray]],
    layout: UCSDLayout,
    out: Path,
) -> None:
    """``results.json``, ``scores.npz`` (headline row, per video) and ``figures/curve_*.png``."""
    import io

    (out / "figures").mkdir(parents=True, exist_ok=True)
    doc["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    head = scores[doc["headline"]]
    buf = io.BytesIO()
    np.savez(buf, **{v: np.asarray(s, np.float32) for v, s in head.items()})
    atomic_write(out / "scores.npz", lambda f: f.write(buf.getvalue()))
    plot_curves(head, layout.labels, out / "figures", doc["headline"])
    atomic_write_json(out / "results.json", doc)
