"""The weak benchmark's table (Markdown) from its results dict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vadkit.errors import VadkitError

__all__ = ["weak_markdown"]


def _pm(s: dict[str, Any]) -> str:
    return "–" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"


def _ci(s: dict[str, Any]) -> str:
    return "–" if not s.get("ci95") else f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"


def _versus_best(p: dict[str, Any], name: str) -> str:
    if p["best"] == name:
        return "best"
    lo, hi = p["ci95"]
    verdict = "indistinguishable" if p["indistinguishable"] else "worse"
    return f"{p['mean_diff']:+.3f} [{lo:+.3f}, {hi:+.3f}] {verdict}"


def _config(row: dict[str, Any]) -> str:
    """Which values a row ran: the reference preset, vadkit's defaults, or both at once (a
    method whose defaults are its reference code's has no separate reference row)."""
    from vadkit.methods.registry import get_method
    from vadkit.presets import preset_names

    if row.get("kind") == "baseline":
        return "training-free"
    preset = row.get("preset", "default")
    if preset != "default":
        return f"{preset} preset"
    try:
        has_reference = "reference" in preset_names(get_method(row["base_method"]).config_cls)
    except (KeyError, VadkitError):  # a results file of a method no longer registered
        return "default"
    return "default" if has_reference else "default = reference"


def weak_markdown(doc: dict[str, Any]) -> str:
    """The comparison table of a results dict, as Markdown: per row mean ± sample std over
    splits, the 95% bootstrap interval of the mean, and the paired difference to the best row
    (mean over splits and its 95% bootstrap interval; "indistinguishable" when it holds 0)."""
    c, splits = doc["config"], doc["splits"]
    n_tr = [len(s["train"]) for s in splits]
    n_te = [len(s["test"]) for s in splits]
    steps = "the steps of each row" if c.get("iterations") is None else f"{c['iterations']} steps"
    lines = [
        f"Dataset `{Path(doc['dataset']).name}`, backbone `{c['backbone']}`: {len(splits)} "
        f"seeded splits (seeds {splits[0]['seed']}..{splits[-1]['seed']}); each moves "
        f"{c['train_fraction']:.0%} of each label's test videos into training with video "
        f"labels ({n_tr[0]} training videos incl. {doc['n_train']} normal UCSD training "
        f"videos; {n_te[0]} test videos). {steps[0].upper() + steps[1:]}, validation every "
        f"{c['val_every']} on {c['val_fraction']:.0%} held-out training videos (video AUC); "
        "steps (plateau): the run length and the first step whose mean validation AUC over "
        "splits is within 0.01 of its top.",
    ]
    if c.get("max_steps"):
        lines += [
            "",
            f"**Quick mode**: {len(splits)} splits, at most {c['max_steps']} steps per run; "
            "not the benchmark's numbers.",
        ]
    lines += [
        "",
        "| method | config | steps (plateau) | micro frame AUC | 95% interval | vs best, paired "
        "(95% interval) | macro frame AUC | frame AP | micro AUC per split |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["rows"]:
        each = ", ".join(f"{x['micro_auc']:.3f}" for x in r["runs"])
        if r.get("kind") == "baseline":
            st = "none (baseline)"
        else:
            st = f"{r.get('steps', '?')} ({r.get('val_plateau_step', '?')})"
        lines.append(
            f"| {r['method']} | {_config(r)} | {st} | {_pm(r['micro_auc'])} | {_ci(r['micro_auc'])} "
            f"| {_versus_best(r['paired'], r['method'])} | {_pm(r['macro_auc'])} "
            f"| {_pm(r['ap'])} | {each} |"
        )
    t = doc["timings_s"]
    line = "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items())
    if doc.get("load_average"):
        line += "; load average at the end " + " ".join(map(str, doc["load_average"]))
        line += f" on {os.cpu_count()} cores"
    lines += ["", line + "."]
    return "\n".join(lines)
