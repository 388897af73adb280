"""``vadkit demo``: from generated video to an HTML report, with no data and no network."""

from __future__ import annotations

import warnings
from pathlib import Path

import click


@click.command(epilog="\b\nExample:\n  vadkit demo --out demo")
@click.option(
    "--out",
    "-o",
    default="demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the data, store, runs and report.",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def demo(out: Path, seed: int, no_progress: bool) -> None:
    """Generate a scene, fit the scene detector, extract features, train MIL, report."""
    from vadkit.demo import DemoConfig, run_demo

    with warnings.catch_warnings():
        # library warnings (short videos repeat snippets, sklearn threads) do not help here
        warnings.simplefilter("ignore", UserWarning)
        try:
            head = run_demo(out, DemoConfig(seed=seed), progress=not no_progress, echo=click.echo)
        except KeyboardInterrupt:
            click.echo(
                f"\ninterrupted: {out} is partial (no demo.json); run again to finish", err=True
            )
            raise click.exceptions.Exit(130) from None
    for name, r in head["runs"].items():
        auc = r["frame_auc"]
        click.echo(
            f"{name:5s} frame AUC {100 * auc:.2f}  video AUC {100 * r['video_auc']:.2f}  "
            f"(selection: {r['selection']})"
            if auc is not None
            else f"{name}: no AUC"
        )
    times = ", ".join(f"{k} {v:.0f} s" for k, v in head["times"].items())
    click.echo(f"times: {times}")
    click.echo(f"report: {head['report']}")
