"""``vadkit holdout``: the class-holdout protocol (split, run, and a generated demo dataset)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["holdout"]

POSITIVE = click.IntRange(min=1)

EXAMPLES = """\b
Examples:
  vadkit holdout synth -o demo/videos
  vadkit holdout split demo/videos -o demo/splits --anomaly Expand --anomaly Diagonal
  vadkit holdout run --splits demo/splits --backbone r3d_18 --random-init -o demo/run
\b
  vadkit holdout split "ucf_sports_actions/ucf action" -o ucf/splits \\
      --anomaly Walk --anomaly Lifting --anomaly SkateBoarding --augment-to 30
  vadkit holdout run --splits ucf/splits --backbone i3d_kinetics400 -o ucf/run
"""


@click.group(epilog=EXAMPLES)
def holdout() -> None:
    """Class holdout: some action classes are the anomalies (spacetime autoencoder seed)."""


@holdout.command(epilog=EXAMPLES)
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Splits folder.")
@click.option(
    "--anomaly", "-a", multiple=True, required=True, help="Anomaly class (repeat; or comma list)."
)
@click.option("--val", default=0.15, show_default=True, help="Validation share of each class.")
@click.option("--test", default=0.15, show_default=True, help="Test share of each class.")
@click.option("--seed", default=0, show_default=True, help="Shuffle seed.")
@click.option("--min-seconds", default=1.0, show_default=True, help="Drop shorter clips.")
@click.option(
    "--no-group", is_flag=True, help="Keep sub-class folders (Golf-Swing-Back, ...) apart."
)
@click.option(
    "--frames-fps", default=10.0, show_default=True, help="Frame rate of frame-folder clips."
)
@click.option("--augment-to", type=POSITIVE, help="Top each class up to N clips, augmented.")
@click.option(
    "--augment-splits",
    default="train",
    show_default=True,
    help="Comma list of splits to augment (train,val,test,anomaly).",
)
def split(
    root: Path,
    out: Path,
    anomaly: tuple[str, ...],
    val: float,
    test: float,
    seed: int,
    min_seconds: float,
    no_group: bool,
    frames_fps: float,
    augment_to: int | None,
    augment_splits: str,
) -> None:
    """Write train/val/test/anomaly CSVs of the action-class dataset at ROOT."""
    from vadkit.datasets.action_classes import SPLITS, make_holdout_splits

    names = [n.strip() for a in anomaly for n in a.split(",") if n.strip()]
    result = make_holdout_splits(
        root,
        out,
        names,
        val=val,
        test=test,
        seed=seed,
        min_seconds=min_seconds,
        group=not no_group,
        frames_fps=frames_fps,
        augment_to=augment_to,
        augment_splits=[s.strip() for s in augment_splits.split(",") if s.strip()],
    )
    counts = result.counts()
    for s in SPLITS:
        per = counts.get(s, {})
        detail = ", ".join(f"{c} {n}" for c, n in sorted(per.items()))
        click.echo(f"{s:8s} {sum(per.values()):4d}  {detail}")
    click.echo(f"dropped  {len(result.dropped):4d}  (reasons in {out / 'splits.json'})")
    click.echo(f"wrote {out}/{{train,val,test,anomaly,all}}.csv")


@holdout.command(epilog=EXAMPLES)
@click.option(
    "--splits", required=True, type=click.Path(path_type=Path), help="Folder from `split`."
)
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Run directory.")
@click.option(
    "--backbone", "-b", default="i3d_kinetics400", show_default=True, help="Video backbone."
)
@click.option("--weights", type=click.Path(path_type=Path), help="Weights file of the backbone.")
@click.option("--random-init", is_flag=True, help="Untrained backbone (tests, demos).")
@click.option("--store", type=click.Path(path_type=Path), help="Use an existing feature store.")
@click.option("--clip-len", type=POSITIVE, help="Frames per snippet [backbone's].")
@click.option("--stride", type=POSITIVE, help="Frames between snippet starts [= clip length].")
@click.option("--batch-size", type=POSITIVE, default=8, show_default=True)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML of settings.")
@click.option("--layers", help="Autoencoder widths, e.g. 512,256,128 (the last is the latent).")
@click.option("--epochs", type=POSITIVE)
@click.option("--lr", type=float)
@click.option("--scheduler", type=click.Choice(["step", "cosine", "plateau", "none"]))
@click.option("--seed", type=int)
@click.option("--error-threshold", type=float, multiple=True, help="Sweep value (repeat).")
@click.option("--distance-threshold", type=float, multiple=True, help="Sweep value (repeat).")
@click.option(
    "--distance-space",
    type=click.Choice(["latent", "embedding"]),
    default="latent",
    show_default=True,
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    splits: Path,
    out: Path,
    backbone: str,
    weights: Path | None,
    random_init: bool,
    store: Path | None,
    clip_len: int | None,
    stride: int | None,
    batch_size: int,
    config_file: Path | None,
    layers: str | None,
    epochs: int | None,
    lr: float | None,
    scheduler: str | None,
    seed: int | None,
    error_threshold: tuple[float, ...],
    distance_threshold: tuple[float, ...],
    distance_space: str,
    quiet: bool,
) -> None:
    """Embed every clip, fit the autoencoder on train, and write the seed's evaluation."""
    from vadkit.errors import VadkitError
    from vadkit.extract.engine import ExtractOptions
    from vadkit.methods.autoencoder import AutoencoderConfig
    from vadkit.protocols.holdout import run_holdout

    values: dict = {}
    if config_file is not None:
        import yaml

        if not config_file.is_file():
            raise VadkitError(f"--config {config_file} does not exist")
        values = yaml.safe_load(config_file.read_text()) or {}
        values = values.get("autoencoder", values)
        if not isinstance(values, dict):
            raise VadkitError(f"--config {config_file}: expected a mapping of settings")
    if layers:
        try:
            values["hidden"] = [int(w) for w in layers.split(",")]
        except ValueError:
            raise VadkitError(f"--layers {layers!r}: expected widths like 512,256,128") from None
    for key, value in (("epochs", epochs), ("lr", lr), ("scheduler", scheduler), ("seed", seed)):
        if value is not None:
            values[key] = value
    config = AutoencoderConfig.from_dict(values)
    options = ExtractOptions(clip_len=clip_len, stride=stride, batch_size=batch_size)
    both = bool(error_threshold) and bool(distance_threshold)
    if bool(error_threshold) != bool(distance_threshold):
        raise VadkitError("give both --error-threshold and --distance-threshold, or neither")
    result = run_holdout(
        splits,
        out,
        backbone=backbone,
        weights=weights,
        random_init=random_init,
        options=options,
        store=store,
        config=config,
        error_thresholds=list(error_threshold) if both else None,
        distance_thresholds=list(distance_threshold) if both else None,
        distance_space=distance_space,
        progress=not quiet,
    )
    m = result.metrics
    click.echo(f"autoencoder: best epoch {m['best_epoch']} (val error {m['best_val_loss']:.4g})")
    for key, auc in (m.get("auc_test_vs_anomaly") or {}).items():
        click.echo(f"AUC test vs anomaly, {key}: {auc:.3f}")
    click.echo(f"wrote {out} (thresholds.md, clips.csv, centroid tables, figures/)")
    from vadkit.report import write_report

    click.echo(f"report: {write_report([out], out / 'report.html')}")


@holdout.command(epilog=EXAMPLES)
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--clips", default=3, show_default=True, type=POSITIVE, help="Clips per folder.")
@click.option("--frames", default=16, show_default=True, type=POSITIVE, help="Frames per clip.")
@click.option("--fps", default=8, show_default=True, type=POSITIVE)
@click.option("--size", default=32, show_default=True, type=POSITIVE, help="Frame side (pixels).")
@click.option("--seed", default=0, show_default=True)
def synth(out: Path, clips: int, frames: int, fps: int, size: int, seed: int) -> None:
    """Write a generated action-class dataset (motion = class) in the UCF Sports layout."""
    from vadkit.datasets.action_synth import MOTIONS, make_action_dataset

    paths = make_action_dataset(out, clips, frames, fps, (size, size), seed=seed)
    click.echo(f"{out}: {len(paths)} videos in {len(MOTIONS)} class folders ({', '.join(MOTIONS)})")
