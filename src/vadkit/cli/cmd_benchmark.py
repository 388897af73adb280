"""``vadkit benchmark ucsd``: the one-class protocol on a UCSD-layout dataset."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["benchmark"]


@click.group()
def benchmark() -> None:
    """Standard benchmark protocols, end to end from a dataset folder."""


@benchmark.command(
    "ucsd",
    epilog="""\b
Example:
  vadkit benchmark ucsd --data ped2 --out runs/ped2 --docs docs/benchmarks.md""",
)
@click.option("--data", required=True, type=click.Path(path_type=Path), help="Dataset root.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory (default runs/benchmark-ucsd-<dataset>); caches live under it.",
)
@click.option(
    "--docs",
    type=click.Path(path_type=Path),
    default=None,
    help="Markdown file whose benchmark block (between marker comments) is replaced.",
)
@click.option("--sigma", type=float, default=5.0, show_default=True, help="Smoothing, frames.")
@click.option("--far", type=float, default=0.05, show_default=True, help="Target false-alarm rate.")
@click.option("--grid", default="8x12", show_default=True, help="Flow cells, ROWSxCOLS.")
@click.option("--flow", type=click.Choice(["farneback", "dis"]), default="farneback")
@click.option("--appearance/--no-appearance", default=True, help="patch_knn on EfficientNet maps.")
@click.option(
    "--store-rows/--no-store-rows",
    default=True,
    help="knn rows on FeatureStores (efficientnet_lite0, i3d_kinetics400 if registered).",
)
def ucsd(
    data: Path,
    out: Path | None,
    docs: Path | None,
    sigma: float,
    far: float,
    grid: str,
    flow: str,
    appearance: bool,
    store_rows: bool,
) -> None:
    """Fit on the normal training videos, score the test videos, write AUCs and figures."""
    from dataclasses import replace

    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark
    from vadkit.bench.ucsd_report import ablation_markdown, update_docs_block
    from vadkit.errors import VadkitError

    try:
        rows, cols = (int(x) for x in grid.lower().split("x"))
    except ValueError:
        raise VadkitError(f"--grid {grid!r}: expected ROWSxCOLS, e.g. 8x12") from None
    config = UCSDBenchConfig(
        grid=(rows, cols),
        flow_method=flow,
        sigma=sigma,
        false_alarm_rate=far,
        appearance=appearance,
    )
    if not store_rows:
        config = replace(config, store_backbones=())
    out = out or Path("runs") / f"benchmark-ucsd-{Path(data).resolve().name}"
    doc = run_ucsd_benchmark(data, out, config, log=lambda m: click.echo(m, err=True))
    table = ablation_markdown(doc)
    click.echo(table)
    click.echo(f"results: {out / 'results.json'}; curves: {out / 'figures'}")
    if docs is not None:
        update_docs_block(docs, f"ucsd:{Path(data).resolve().name}", table)
        click.echo(f"updated the benchmark block in {docs}")
