"""``vadkit extract``, ``vadkit backbones`` and ``vadkit probe``."""

from __future__ import annotations

from pathlib import Path

import click

POSITIVE = click.IntRange(min=1)

EXTRACT_EXAMPLES = """\b
Examples:
  vadkit extract --backbone efficientnet_lite0 --input ped2/testing/frames --out stores/ped2
  vadkit extract --backbone i3d_r50 --weights i3d_r50_kinetics.pth --crop ten \\
      --input videos.csv --out stores/ucf-i3d --shard 0/4
  vadkit extract --backbone c3d --weights c3d.pickle --segments 32 --input videos/ -o stores/c3d32
"""


@click.command(epilog=EXTRACT_EXAMPLES)
@click.option("--backbone", "-b", required=True, help="Backbone name (see `vadkit backbones`).")
@click.option(
    "--input",
    "-i",
    "input_",
    required=True,
    type=click.Path(path_type=Path),
    help="Video file, frame folder, folder of either, .txt list or .csv (path,id,label,class,split).",
)
@click.option(
    "--out", "-o", required=True, type=click.Path(path_type=Path), help="Store directory."
)
@click.option("--weights", type=click.Path(path_type=Path), help="Weights file of the backbone.")
@click.option("--random-init", is_flag=True, help="Untrained weights (recorded in the manifest).")
@click.option(
    "--crop", type=click.Choice(["center", "five", "ten"]), default="center", show_default=True
)
@click.option(
    "--snippet-length", type=POSITIVE, help="Frames per snippet [backbone clip length, or 16]."
)
@click.option("--clip-len", type=POSITIVE, hidden=True, help="Old name of --snippet-length.")
@click.option("--stride", type=POSITIVE, help="Frames between snippet starts [= snippet length].")
@click.option(
    "--frame-step", type=POSITIVE, default=1, show_default=True, help="Frame step inside a snippet."
)
@click.option(
    "--padding",
    type=click.Choice(["repeat_last", "loop", "drop"]),
    default="repeat_last",
    show_default=True,
    help="Last partial snippet: edge-pad, loop-pad from the start, or drop.",
)
@click.option(
    "--segments", type=POSITIVE, help="Fixed number of segments per video (32: Sultani/TACnet)."
)
@click.option(
    "--segment-rule", type=click.Choice(["sultani", "tacnet"]), default="sultani", show_default=True
)
@click.option(
    "--batch-size", type=POSITIVE, default=8, show_default=True, help="Network inputs per pass."
)
@click.option(
    "--endpoint",
    help="Feature layer of backbones that offer several (i3d_kinetics400: mixed_5c, mixed_4f, logits).",
)
@click.option("--threads", type=POSITIVE, help="torch CPU threads.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--shard", help="I/N: process every N-th video starting at I (0-based).")
@click.option("--overwrite", is_flag=True, help="Recompute finished videos instead of resuming.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help='Run here, or on a Ray cluster (pip install "vadkit[distributed]").',
)
@click.option("--address", help="Ray cluster address (auto, HOST:6379, ray://HOST:10001).")
def extract(
    backbone: str,
    input_: Path,
    out: Path,
    weights: Path | None,
    random_init: bool,
    crop: str,
    snippet_length: int | None,
    clip_len: int | None,
    stride: int | None,
    frame_step: int,
    padding: str,
    segments: int | None,
    segment_rule: str,
    batch_size: int,
    endpoint: str | None,
    threads: int | None,
    device: str,
    shard: str | None,
    overwrite: bool,
    quiet: bool,
    engine: str,
    address: str | None,
) -> None:
    """Turn videos or frame folders into a FeatureStore.

    Finished videos are skipped when the command is run again (resume). Videos that
    cannot be read are reported with their path; the others are still extracted and
    the exit code is 3.
    """
    import torch

    from vadkit.errors import VadkitError
    from vadkit.extract.engine import ExtractOptions, parse_shard
    from vadkit.extract.engine import extract as run

    if clip_len is not None and snippet_length not in (None, clip_len):
        raise VadkitError(
            f"--snippet-length {snippet_length} and --clip-len {clip_len}: give one "
            "(--clip-len is the old name of --snippet-length)"
        )
    if threads:
        torch.set_num_threads(threads)
    options = ExtractOptions(
        crop=crop,  # type: ignore[arg-type]
        snippet_length=snippet_length or clip_len,
        stride=stride,
        frame_step=frame_step,
        padding=padding,  # type: ignore[arg-type]
        n_segments=segments,
        segment_rule=segment_rule,  # type: ignore[arg-type]
        batch_size=batch_size,
        device=device,
        endpoint=endpoint,
    )
    if engine == "ray":
        from vadkit.engines.ray_engine import extract_ray as run_ray

        def run(*args, **kwargs):
            return run_ray(*args, address=address, threads=threads, **kwargs)
    elif address:
        raise VadkitError("--address needs --engine ray")
    result = run(
        input_,
        out,
        backbone,
        weights=weights,
        random_init=random_init,
        options=options,
        shard=parse_shard(shard),
        overwrite=overwrite,
        progress=not quiet,
    )
    if quiet:  # with a progress bar, failures were printed as they happened
        for vid, msg in result.failed:
            click.echo(f"failed: {vid}: {msg}", err=True)
    fps = result.frames / result.seconds if result.seconds else 0.0
    click.echo(
        f"{out}: {len(result.done)} extracted, {len(result.skipped)} already done, "
        f"{len(result.failed)} failed; {result.frames} frames in {result.seconds:.1f} s "
        f"({fps:.1f} frames/s); store has {len(result.store or [])} videos"
    )
    for name, mib in sorted(getattr(result, "peak_rss_mib", {}).items()):
        click.echo(f"peak RSS {name}: {mib:.0f} MiB")
    if result.claimed:
        click.echo(
            f"{len(result.claimed)} videos were being extracted by another process at the time "
            "(run again after it ends to check)"
        )
    if result.warnings:
        click.echo(
            f"{len(result.warnings)} videos decoded only in part; see {out / 'warnings.json'}"
        )
    if result.failed:
        click.echo(f"{len(result.failed)} videos failed; listed in {out / 'failed.json'}", err=True)
        raise click.exceptions.Exit(3)


@click.command()
def backbones() -> None:
    """List feature backbones, their input and the weights file each expects."""
    from vadkit.backbones.registry import get_config, installed_weights, list_backbones

    for name in list_backbones():
        c = get_config(name)
        clip = f"{c.clip_len}-frame clips" if c.kind == "clip" else "per frame, pooled"
        found = installed_weights(name)
        where = f"installed, {found}" if found else c.weights_source
        click.echo(
            f"{name:<20} {c.out_dim:>5}-d  {c.input_size[0]}x{c.input_size[1]} {clip:<20} "
            f"weights: {c.weights_file} ({where})"
        )


@click.command(epilog="\b\nExample:\n  vadkit probe ped2/testing/frames")
@click.argument("inputs", type=click.Path(path_type=Path))
def probe(inputs: Path) -> None:
    """Print fps, frame count, size and duration of every video in INPUTS.

    Every frame is decoded (files) or read (frame folders), so a damaged frame is found.
    Videos that cannot be read are listed on stderr with the reason; the exit code is then 3.
    Frame folders have no frame rate ("-").
    """
    from vadkit.errors import VadkitError
    from vadkit.io.inputs import list_inputs
    from vadkit.io.video import FrameFolderReader, open_video

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    failed = 0
    click.echo(f"{'id':<24} {'frames':>7} {'fps':>7} {'duration':>9}  size")
    for item in list_inputs(inputs):
        try:
            with open_video(item.path, item.id) as reader:
                m = reader.meta
                if isinstance(reader, FrameFolderReader):  # files were decoded by the probe
                    for _ in reader.iter_frames():
                        pass
        except VadkitError as exc:
            failed += 1
            click.echo(f"{item.id:<24} failed: {exc}", err=True)
            continue
        duration = None if m.duration is None else f"{m.duration:.2f}s"
        click.echo(
            f"{item.id:<24} {m.n_frames:>7} {num(m.fps, '.2f'):>7} {duration or '-':>9}  "
            f"{m.width}x{m.height}"
        )
    if failed:
        click.echo(f"{failed} of the videos could not be read", err=True)
        raise click.exceptions.Exit(3)
