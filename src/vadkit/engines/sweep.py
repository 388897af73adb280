"""Sweeps: N seeds times a grid of config overrides, one run directory each, then a summary.

Each run is exactly ``vadkit train`` with ``--set train.seed=S`` and the grid's ``--set``
values: :func:`vadkit.train.runner.train_run` on the merged config, so a sweep gives the
results of running its runs one by one. Runs go one after another (``engine="local"``) or as
Ray tasks (``engine="ray"``); a failed run is reported and the others go on.

Layout::

    OUT/<config>/seed<S>/   a run directory (config.yaml, metrics.json, scores.npz, ...)
    OUT/summary.json        per config: the metric of every seed, mean, std, failures
    OUT/summary.md          the same as a table
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["SweepRun", "SweepResult", "parse_grid", "plan_sweep", "run_one", "sweep"]


@dataclass
class SweepRun:
    """One run of a sweep: its config name, seed, overrides and directory."""

    config: str
    seed: int
    overrides: list[str]
    out: Path


@dataclass
class SweepResult:
    """What a sweep did: per run its metrics or error; per config the summary rows."""

    runs: list[SweepRun]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # run dir -> metrics.json
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run dir, message)
    summary: list[dict[str, Any]] = field(default_factory=list)
    metric: str = "frame_auc"

    @property
    def ok(self) -> bool:
        return not self.failed

    def values(self) -> dict[str, list[float]]:
        """Config name -> the metric of each of its finished seeds (for the seeds figure)."""
        return {row["config"]: row["values"] for row in self.summary if row["values"]}


def parse_grid(sets: Sequence[str]) -> dict[str, list[str]]:
    """``["model.lr=0.1,0.01", "model.dropout=0.5"]`` -> ``{"model.lr": ["0.1", "0.01"], ...}``.

    >>> parse_grid(["model.lr=0.1,0.01", "train.val_every=5"])
    {'model.lr': ['0.1', '0.01'], 'train.val_every': ['5']}
    """
    grid: dict[str, list[str]] = {}
    for item in sets:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise VadkitError(
                f"--set {item!r}: expected section.key=v1,v2,... e.g. model.lr=0.1,0.01"
            )
        if key in grid:
            raise VadkitError(f"--set {key} given twice: list all its values in one --set")
        grid[key] = [v.strip() for v in text.split(",")]
    return grid


def _slug(overrides: Sequence[str]) -> str:
    if not overrides:
        return "base"
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", ",".join(overrides))


def plan_sweep(
    grid: Mapping[str, Sequence[str]], seeds: Sequence[int], out: str | Path
) -> list[SweepRun]:
    """Every (grid point, seed) pair as a :class:`SweepRun`, grid points in the order given."""
    keys = list(grid)
    runs = []
    for values in itertools.product(*(grid[k] for k in keys)):
        overrides = [f"{k}={v}" for k, v in zip(keys, values, strict=True)]
        name = _slug(overrides)
        for seed in seeds:
            runs.append(SweepRun(name, int(seed), overrides, Path(out) / name / f"seed{seed}"))
    return runs


def run_one(
    config: Mapping[str, Any], run: SweepRun, where: str, threads: int | None, overwrite: bool
) -> dict[str, Any] | str:
    """Train one run of the sweep; its ``metrics.json`` content, or the error message."""
    try:
        import torch

        from vadkit.methods.registry import get_method
        from vadkit.train.config import apply_overrides
        from vadkit.train.runner import train_run

        if threads:
            torch.set_num_threads(threads)
        cfg = apply_overrides(dict(config), [*run.overrides, f"train.seed={run.seed}"])
        if not cfg.get("method"):
            raise VadkitError(f"{where}: no 'method:' key")
        method = get_method(cfg["method"])
        return train_run(
            cfg, method, run.out, overwrite=overwrite, where=where, echo=lambda s: None
        )
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the others go on
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return text if isinstance(exc, VadkitError) else f"{type(exc).__name__}: {text}"


def sweep(
    config: Mapping[str, Any],
    seeds: int | Sequence[int],
    out: str | Path,
    *,
    grid: Mapping[str, Sequence[str]] | None = None,
    engine: str = "local",
    address: str | None = None,
    metric: str = "frame_auc",
    where: str = "config",
    threads: int | None = None,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
) -> SweepResult:
    """Run ``seeds`` (a count: seeds 0..N-1, or a list) times the ``grid`` of overrides.

    ``config`` is a loaded run config (:func:`vadkit.train.config.load_yaml` with the data
    paths set). ``metric``: the key of ``metrics.json["test"]`` summarised (mean and population
    std over the seeds that finished). ``threads``: torch threads of each Ray task (default the
    driver's, so Ray runs equal local ones bit for bit).
    """
    if engine not in ("local", "ray"):
        raise VadkitError(f"--engine {engine!r}: choose local or ray")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise VadkitError("--seeds: at least one seed")
    runs = plan_sweep(grid or {}, seed_list, out)
    Path(out).mkdir(parents=True, exist_ok=True)
    result = SweepResult(runs, metric=metric)
    if engine == "local":
        outcomes = []
        for run in runs:
            outcomes.append(run_one(config, run, where, threads, overwrite))
            _echo_run(echo, run, outcomes[-1], metric)
    else:
        import torch

        from vadkit.engines.ray_connect import connect

        ray, started = connect(address)
        try:
            task = ray.remote(run_one).options(num_cpus=1, max_retries=0)
            t = threads or torch.get_num_threads()
            refs = [task.remote(dict(config), run, where, t, overwrite) for run in runs]
            outcomes = []
            for run, ref in zip(runs, refs, strict=True):
                try:
                    outcomes.append(ray.get(ref))
                except Exception as exc:  # noqa: BLE001 - a lost worker fails one run only
                    outcomes.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                _echo_run(echo, run, outcomes[-1], metric)
        finally:
            if started:
                ray.shutdown()
    for run, outcome in zip(runs, outcomes, strict=True):
        if isinstance(outcome, str):
            result.failed.append((str(run.out), outcome))
        else:
            result.metrics[str(run.out)] = outcome
    result.summary = _summarise(result)
    _write_summary(Path(out), result)
    return result


def _metric_of(metrics: Mapping[str, Any], metric: str) -> float | None:
    value = (metrics.get("test") or {}).get(metric, metrics.get(metric))
    return None if value is None else float(value)


def _echo_run(echo: Callable[[str], None], run: SweepRun, outcome: Any, metric: str) -> None:
    if isinstance(outcome, str):
        echo(f"failed: {run.out}: {outcome}")
    else:
        echo(f"{run.config} seed {run.seed}: {metric} {_metric_of(outcome, metric)}")


def _summarise(result: SweepResult) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for run in result.runs:
        row = rows.setdefault(
            run.config,
            {"config": run.config, "overrides": run.overrides, "seeds": [], "values": [],
             "failed_seeds": []},
        )  # fmt: skip
        metrics = result.metrics.get(str(run.out))
        value = None if metrics is None else _metric_of(metrics, result.metric)
        if value is None:
            row["failed_seeds"].append(run.seed)
        else:
            row["seeds"].append(run.seed)
            row["values"].append(value)
    for row in rows.values():
        v = np.asarray(row["values"], dtype=np.float64)
        row["n"] = len(v)
        row["mean"] = float(v.mean()) if len(v) else None
        row["std"] = float(v.std()) if len(v) else None  # population std, as the seeds figure
    return list(rows.values())


def _write_summary(out: Path, result: SweepResult) -> None:
    atomic_write_json(
        out / "summary.json",
        {"metric": result.metric, "std": "population (ddof=0) over the seeds that finished",
         "configs": result.summary,
         "failed": [{"run": r, "error": m} for r, m in result.failed]},
    )  # fmt: skip
    lines = [
        f"| config | {result.metric} mean | std | seeds | failed |",
        "|---|---|---|---|---|",
    ]
    for row in result.summary:
        mean = "-" if row["mean"] is None else f"{row['mean']:.4f}"
        std = "-" if row["std"] is None else f"{row['std']:.4f}"
        failed = ", ".join(str(s) for s in row["failed_seeds"]) or "-"
        lines.append(f"| {row['config']} | {mean} | {std} | {row['n']} | {failed} |")
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
