"""``vadkit report``: one self-contained HTML file over runs, benchmark and holdout outputs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    "report",
    epilog="""\b
Examples:
  vadkit report runs/rtfm --out runs/rtfm/report.html
  vadkit report runs/benchmark-ped2 runs/weak-ped2 --out compare.html""",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="HTML file.")
@click.option("--title", default=None, help="Title of the report.")
@click.option(
    "--videos", type=int, default=12, show_default=True, help="Per-video figures (worst first)."
)
def report(inputs: tuple[Path, ...], out: Path, title: str | None, videos: int) -> None:
    """Results, configuration, feature metadata and per-video figures as one HTML file."""
    from vadkit.report import write_report

    click.echo(f"wrote {write_report(list(inputs), out, title=title, max_videos=videos)}")
