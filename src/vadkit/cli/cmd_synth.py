"""``vadkit synth``: a small synthetic dataset of real encoded videos."""

from __future__ import annotations

from pathlib import Path

import click

MIN_FRAMES = 32  # vadkit.datasets.synthetic.MIN_FRAMES (not imported: --help stays light)


@click.command(
    epilog="\b\nExample:\n  vadkit synth --out data/synth && vadkit probe data/synth/videos.csv"
)
@click.option(
    "--out", "-o", required=True, type=click.Path(path_type=Path), help="Folder to write."
)
@click.option(
    "--train",
    "n_train",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Normal training videos.",
)
@click.option(
    "--test",
    "n_test",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Test videos (half anomalous).",
)
@click.option(
    "--frames",
    "n_frames",
    type=click.IntRange(min=MIN_FRAMES),
    default=96,
    show_default=True,
    help="Frames per video.",
)
@click.option(
    "--abnormal-train",
    "n_abnormal_train",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Abnormal training videos (video label only), for weakly-supervised methods.",
)
@click.option(
    "--scene",
    type=click.Choice(["squares", "walkers"]),
    default="squares",
    show_default=True,
    help="squares: a drifting square, a darting one; walkers: people walking, a fast object "
    "and a wrong-way walker.",
)
@click.option("--seed", default=0, show_default=True)
def synth(
    out: Path,
    n_train: int,
    n_test: int,
    n_frames: int,
    n_abnormal_train: int,
    scene: str,
    seed: int,
) -> None:
    """Write a small synthetic anomaly dataset: videos, videos.csv, annotations.csv."""
    from vadkit.datasets.synthetic import make_synthetic_dataset

    videos = make_synthetic_dataset(
        out, n_train, n_test, n_frames, seed=seed, scene=scene, n_abnormal_train=n_abnormal_train
    )
    n_anom = sum(v.label for v in videos)
    click.echo(f"{out}: {len(videos)} videos ({n_anom} anomalous), list in {out / 'videos.csv'}")
