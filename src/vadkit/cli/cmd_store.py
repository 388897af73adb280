"""``vadkit store``: info, check and finalize."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group(
    epilog="\b\nExamples:\n  vadkit store info stores/ped2\n  vadkit store check stores/ped2"
)
def store() -> None:
    """Inspect, check and finalize feature stores."""


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
def info(path: Path) -> None:
    """Print what a store holds and how it was made."""
    from vadkit.io.check import summarize
    from vadkit.io.store import FeatureStore

    click.echo(summarize(FeatureStore.open(path)))


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-values", is_flag=True, help="Skip the NaN/Inf scan (faster on huge stores).")
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON.")
def check(path: Path, no_values: bool, as_json: bool) -> None:
    """Validate dims, dtype, NaN/Inf and T against n_frames; list every problem.

    Exit code 0 when the store is valid, 1 when it has problems.
    """
    from vadkit.io.check import check_store

    problems = check_store(path, check_values=not no_values)
    if as_json:
        click.echo(json.dumps([{"video": p.video_id, "problem": p.message} for p in problems]))
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(f"{path}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    if problems:
        raise click.exceptions.Exit(1)


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
def finalize(path: Path) -> None:
    """Rebuild manifest.json from the finished videos of an interrupted or sharded run.

    Videos whose features are empty or truncated are left out and named.
    """
    from vadkit.io.store_writer import finalize_store

    store, skipped = finalize_store(path)
    click.echo(f"{path}: manifest rebuilt with {len(store)} videos")
    for vid, reason in skipped.items():
        click.echo(f"left out video {vid!r}: {reason}; extract or import it again")
