"""``vadkit fit-scene``: a camera's normal videos -> a scene-detector run directory."""

from __future__ import annotations

from pathlib import Path

import click

EXAMPLES = """\b
Examples:
  vadkit fit-scene ped2/training/frames --out runs/scene
  vadkit fit-scene normal/*.mp4 --out runs/cam1 --cache cache/cam1
  vadkit fit-scene data/demo/videos.csv --out runs/scene-demo   # label 0, split train rows
  vadkit predict new.mp4 --model runs/cam1 --out pred/
"""


@click.command("fit-scene", epilog=EXAMPLES)
@click.argument("inputs", nargs=-1, required=True, metavar="VIDEOS_OR_FOLDER_OR_LIST...")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Run directory.")
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    help="Folder for flow summaries and maps (a rerun reads them).",
)
@click.option(
    "--far",
    type=float,
    default=0.05,
    show_default=True,
    help="False-alarm rate of the threshold on held-out normal frames.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the held-out split.")
@click.option("--workers", default=2, show_default=True, help="Threads computing the flow.")
@click.option("--no-appearance", is_flag=True, help="Motion only (no EfficientNet-Lite0 maps).")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
def fit_scene(inputs, out, cache, far, seed, workers, no_appearance, overwrite) -> None:
    """Fit the motion + appearance detector on normal videos of one camera.

    Every setting is chosen without labels, on held-out normal videos with synthetic
    anomalies (a region sped up; a foreign object moved at walking speed).
    """
    from vadkit.deploy.scene_run import fit_scene_run
    from vadkit.errors import VadkitError
    from vadkit.io.inputs import list_inputs
    from vadkit.methods.oneclass.scene import SceneConfig

    videos: dict[str, Path] = {}
    skipped = 0
    for spec in inputs:
        for item in list_inputs(spec):
            # a table with labels (vadkit synth's videos.csv): its normal training rows only
            if (item.label not in (None, "", "0")) or (item.split not in (None, "", "train")):
                skipped += 1
                continue
            if item.id in videos:
                raise VadkitError(
                    f"two inputs have the id {item.id!r}: {videos[item.id]}, {item.path}"
                )
            videos[item.id] = Path(item.path)
    config = SceneConfig(false_alarm_rate=far, seed=seed, workers=workers,
                         appearance=not no_appearance)  # fmt: skip
    note = f" ({skipped} rows not normal training videos skipped)" if skipped else ""
    click.echo(f"fitting the scene detector on {len(videos)} normal videos{note}")
    m = fit_scene_run(videos, out, config, cache=cache, overwrite=overwrite, log=click.echo)
    f, o = m["fusion"], m["object_speed"]
    click.echo(
        f"chosen without labels: object_speed window {o['window_fraction']:.3g} of the frame "
        f"height, min speed {o['min_speed']:g}; fusion {f['object_speed']:.1f} x motion + "
        f"{f['appearance']:.1f} x appearance, sigma {f['sigma']:g} frames"
    )
    click.echo(
        f"threshold {m['threshold']:.4f} ({far:g} false alarms on {len(m['heldout_videos'])} "
        f"held-out videos; {m['heldout_far']:.3f} there)"
    )
    click.echo(f"wrote {out}; next: vadkit predict VIDEO --model {out} --out pred/")
