"""Statistics of the weak benchmark: intervals over splits, paired comparisons, baselines.

The weak benchmark trains every method on the same seeded splits, so two methods are compared
split by split (a paired design): the per-split differences cancel what the split itself does
to every method (an easy or hard test set), which is most of the spread on small datasets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "BASELINES",
    "baseline_scores",
    "bootstrap_interval",
    "paired_comparison",
    "plateau_step",
    "summarize",
    "summary_rows",
]

#: rows that train nothing: random scores (what "no skill" gives on these test sets) and the
#: feature magnitude (RTFM's premise that anomalous snippets have larger features, unlearned)
BASELINES = ("chance", "feature_magnitude")


def bootstrap_interval(
    values: Sequence[float], level: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampled with replacement).

    >>> bootstrap_interval([0.5, 0.5, 0.5])
    (0.5, 0.5)
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap_interval: no values")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def summarize(values: Sequence[float | None], seed: int = 0) -> dict[str, Any]:
    """Mean, sample standard deviation and 95% bootstrap interval of the non-missing values."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    std = float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0
    return {
        "mean": float(np.mean(xs)),
        "std": std,
        "ci95": bootstrap_interval(xs, seed=seed),
        "n": len(xs),
    }


def paired_comparison(
    per_split: Mapping[str, Sequence[float]], seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Each row against the row with the best mean, split by split.

    ``per_split`` maps a row name to its value on each split (same splits, same order). For
    every row: ``best`` (the reference row's name), ``mean_diff`` (row minus best, mean over
    splits), ``ci95`` (bootstrap interval of that mean, resampling splits), ``wins`` (splits
    where the row beats the best) and ``indistinguishable`` (the interval holds 0). The best
    row itself gets a difference of 0 and ``indistinguishable`` True.
    """
    names = list(per_split)
    lengths = {len(per_split[n]) for n in names}
    if len(lengths) != 1:
        raise ValueError(f"paired_comparison: rows have different numbers of splits {lengths}")
    best = max(names, key=lambda n: float(np.mean(per_split[n])))
    ref = np.asarray(per_split[best], dtype=np.float64)
    out = {}
    for name in names:
        d = np.asarray(per_split[name], dtype=np.float64) - ref
        lo, hi = bootstrap_interval(d, seed=seed)
        out[name] = {
            "best": best,
            "mean_diff": float(d.mean()),
            "ci95": (lo, hi),
            "wins": int((d > 0).sum()),
            "indistinguishable": bool(lo <= 0.0 <= hi),
        }
    return out


def plateau_step(curve: Mapping[int, float], tolerance: float = 0.01) -> int:
    """The first step whose value is within ``tolerance`` of the curve's maximum.

    ``curve`` maps a step to the mean validation AUC over splits at that step. A plateau step
    well before the last step says the schedule was long enough; one at the end says the curve
    may still be rising.

    >>> plateau_step({20: 0.5, 40: 0.8, 60: 0.805, 80: 0.79})
    40
    """
    if not curve:
        raise ValueError("plateau_step: empty curve")
    top = max(curve.values())
    return min(s for s, v in curve.items() if v >= top - tolerance)


def baseline_scores(kind: str, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-snippet scores of a training-free row for one video's ``(T, crops, D)`` or
    ``(T, D)`` features: ``chance`` draws uniform scores, ``feature_magnitude`` is the L2 norm
    of each snippet's feature, averaged over crops."""
    x = np.asarray(features, dtype=np.float64)
    x = x[:, None, :] if x.ndim == 2 else x
    if kind == "chance":
        return rng.random(x.shape[0])
    if kind == "feature_magnitude":
        return np.linalg.norm(x, axis=-1).mean(axis=1)
    raise ValueError(f"baseline_scores: unknown kind {kind!r}; use one of {', '.join(BASELINES)}")


def summary_rows(
    table: Sequence[Any], per: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Per row of ``table`` (:class:`vadkit.bench.weak.WeakRow`): its runs, mean / std / 95%
    interval of each metric, the paired comparison of its micro AUC with the best row's, and
    the mean validation curve (trained rows)."""
    paired = paired_comparison({r.name: [x["micro_auc"] for x in per[r.name]] for r in table})
    rows = []
    for r in table:
        runs = per[r.name]
        row: dict[str, Any] = {"method": r.name, "base_method": r.method, "preset": r.preset}
        row.update(kind=r.kind, folder=r.folder if r.kind != "baseline" else None, runs=runs)
        for key in ("micro_auc", "macro_auc", "ap"):
            row[key] = summarize([x[key] for x in runs])
        row["paired"] = paired[r.name]
        curves = [dict(x["val_curve"]) for x in runs if x.get("val_curve")]
        if curves:
            steps = sorted(set.intersection(*(set(c) for c in curves)))
            mean = {s: float(np.mean([c[s] for c in curves])) for s in steps}
            row["val_curve_mean"] = [[s, v] for s, v in mean.items()]
            row["val_plateau_step"] = plateau_step(mean) if mean else None
            row["steps"] = runs[0]["steps"]
        rows.append(row)
    return rows
