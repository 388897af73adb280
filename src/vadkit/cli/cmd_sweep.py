"""``vadkit sweep``: seeds times a grid of overrides, each a run directory, then a summary."""

from __future__ import annotations

from pathlib import Path

import click

EXAMPLES = """\b
Examples:
  vadkit sweep --config configs/mil/ucf_crime.yaml --train stores/ucf-train \\
      --test stores/ucf-test --seeds 5 --set model.lr=0.001,0.0001 -o sweeps/mil
  vadkit sweep --config configs/rtfm/ucf_crime.yaml --train stores/ucf-train \\
      --test stores/ucf-test --seeds 3 --engine ray --address auto -o sweeps/rtfm
"""


@click.command(epilog=EXAMPLES)
@click.option("--config", "config_file", required=True, type=click.Path(path_type=Path),
              help="Run config YAML (as `vadkit train`).")  # fmt: skip
@click.option("--train", type=click.Path(path_type=Path), help="FeatureStore of training videos.")
@click.option("--test", type=click.Path(path_type=Path), help="FeatureStore of test videos.")
@click.option("--annotations", type=click.Path(path_type=Path), help="Test frame annotations.")
@click.option("--seeds", type=click.IntRange(min=1), required=True, help="Seeds 0..N-1 per config.")
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2",
              help="A grid axis, e.g. --set model.lr=0.001,0.0001 (repeatable).")  # fmt: skip
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help='One run after another, or Ray tasks (pip install "vadkit[distributed]").')  # fmt: skip
@click.option("--address", help="Ray cluster address (auto, HOST:6379, ray://HOST:10001).")
@click.option("--metric", default="frame_auc", show_default=True, help="metrics.json test key.")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Sweep folder.")
@click.option("--overwrite", is_flag=True, help="Replace run directories that exist.")
def sweep(
    config_file: Path,
    train: Path | None,
    test: Path | None,
    annotations: Path | None,
    seeds: int,
    sets: tuple[str, ...],
    engine: str,
    address: str | None,
    metric: str,
    out: Path,
    overwrite: bool,
) -> None:
    """Train every seed of every grid point; write OUT/<config>/seed<S>/, summary.json,
    summary.md and seeds.png (mean and std per config). Exit code 3 if a run failed."""
    from vadkit.datasets.names import canonical_dataset
    from vadkit.engines.sweep import parse_grid
    from vadkit.engines.sweep import sweep as run_sweep
    from vadkit.errors import VadkitError
    from vadkit.train.config import load_yaml

    if address and engine != "ray":
        raise VadkitError("--address needs --engine ray")
    cfg = load_yaml(config_file)
    cfg.setdefault("data", {})
    for key, value in (("train", train), ("test", test), ("annotations", annotations)):
        if value is not None:
            cfg["data"][key] = str(value.absolute())
    if cfg.get("dataset") and str(cfg["dataset"]).lower() != "csv":
        cfg["dataset"] = canonical_dataset(cfg["dataset"])
    result = run_sweep(
        cfg, seeds, out, grid=parse_grid(sets), engine=engine, address=address, metric=metric,
        where=str(config_file), overwrite=overwrite, echo=click.echo,
    )  # fmt: skip
    click.echo((out / "summary.md").read_text().rstrip())
    values = result.values()
    if values:
        from vadkit.viz.figure import save_figure
        from vadkit.viz.tables import seed_comparison

        fig = seed_comparison(values, metric=metric.replace("_", " "))
        for path in save_figure(fig, out / "seeds"):
            click.echo(f"wrote {path}")
    if result.failed:
        click.echo(f"{len(result.failed)} of {len(result.runs)} runs failed", err=True)
        raise click.exceptions.Exit(3)
