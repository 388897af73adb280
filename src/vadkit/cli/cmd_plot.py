"""``vadkit plot KIND RUN_DIR ...``: the figures of runs, benchmarks and holdout outputs."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["plot"]

KINDS = ("curve", "roc", "pr", "tsne", "attention", "boxplot", "learning", "seeds")

EXAMPLES = """\b
Examples:
  vadkit plot curve runs/tacnet --out figs --video test_003
  vadkit plot attention runs/tacnet --out figs
  vadkit plot roc runs/mil runs/rtfm --out figs --published ucf_crime/sultani_paper_roc
  vadkit plot tsne runs/tacnet --out figs --video test_001 --video test_003
  vadkit plot learning runs/tacnet --out figs --format png --format svg
  vadkit plot boxplot demo/run --out figs
  vadkit plot seeds runs/bench-weak --out figs
"""


@click.command(epilog=EXAMPLES)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Figure folder.")
@click.option(
    "--format", "formats", multiple=True, type=click.Choice(["png", "svg"]),
    help="png (default) and/or svg; repeat for both.",
)  # fmt: skip
@click.option("--video", "videos", multiple=True, help="Video id (repeat); default: a few.")
@click.option("--limit", default=4, show_default=True, help="Videos when no --video is given.")
@click.option("--threshold", type=float, help="Threshold line of curve/attention figures.")
@click.option("--sources", type=click.Path(path_type=Path), help="Folder of the source videos.")
@click.option("--published", type=click.Path(path_type=Path), help="Published ROC .mat folder.")
@click.option("--metric", default="micro_auc", show_default=True, help="seeds: results metric.")
@click.option("--seed", default=0, show_default=True, help="t-SNE random state.")
def plot(
    kind: str,
    run_dirs: tuple[Path, ...],
    out: Path,
    formats: tuple[str, ...],
    videos: tuple[str, ...],
    limit: int,
    threshold: float | None,
    sources: Path | None,
    published: Path | None,
    metric: str,
    seed: int,
) -> None:
    """Write figures of KIND (curve, roc, pr, tsne, attention, boxplot, learning, seeds)
    from run directories, benchmark outputs or a holdout output, as PNG (or SVG)."""
    from vadkit.viz.plots import make_plots

    paths = make_plots(
        kind, list(run_dirs), out, formats=formats or ("png",), videos=list(videos),
        limit=limit, threshold=threshold, sources=sources, published=published,
        metric=metric, seed=seed,
    )  # fmt: skip
    for p in paths:
        click.echo(f"wrote {p}")
