"""``vadkit benchmark ucsd``: the one-class protocol on a UCSD-layout dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from vadkit.io.atomic import check_writable_file

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
@click.option(
    "--sigma",
    type=float,
    default=5.0,
    show_default=True,
    help="Smoothing (frames) of the baseline rows; object_speed selects its own.",
)
@click.option("--far", type=float, default=0.05, show_default=True, help="Target false-alarm rate.")
@click.option("--grid", default="8x12", show_default=True, help="Flow cells, ROWSxCOLS.")
@click.option("--flow", type=click.Choice(["dis", "farneback"]), default="dis", show_default=True)
@click.option(
    "--workers", type=int, default=2, show_default=True, help="Threads computing the flow."
)
@click.option(
    "--full",
    is_flag=True,
    help="Also the slow rows: knn on FeatureStores of efficientnet_lite0 and i3d_kinetics400 "
    "(minutes more; see docs/benchmarks.md).",
)
@click.option(
    "--appearance/--no-appearance",
    default=None,
    help="patch_knn on EfficientNet maps where something moves, fused with object_speed as "
    "the headline (default: on; off: object_speed is the headline).",
)
@click.option(
    "--store-rows/--no-store-rows",
    default=None,
    help="knn rows on FeatureStores (efficientnet_lite0, i3d_kinetics400; default: --full).",
)
@click.option(
    "--train-videos",
    type=int,
    default=None,
    help="Use only the first N normal training videos (by name): how the default does from "
    "a few minutes of normal video (docs block key gets ':trainN').",
)
def ucsd(
    data: Path,
    out: Path | None,
    docs: Path | None,
    sigma: float,
    far: float,
    grid: str,
    flow: str,
    workers: int,
    full: bool,
    appearance: bool | None,
    store_rows: bool | None,
    train_videos: int | None,
) -> None:
    """Fit on the normal training videos, score the test videos, write AUCs and figures."""
    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark
    from vadkit.bench.ucsd_report import ablation_markdown, update_docs_block

    if docs is not None:  # before minutes of work, not after
        check_writable_file(docs, "--docs file")
    from vadkit.errors import VadkitError

    try:
        rows, cols = (int(x) for x in grid.lower().split("x"))
    except ValueError:
        raise VadkitError(f"--grid {grid!r}: expected ROWSxCOLS, e.g. 8x12") from None
    if workers < 1:
        raise VadkitError(f"--workers {workers}: need at least 1 process")
    config = UCSDBenchConfig(
        grid=(rows, cols),
        flow_method=flow,
        workers=workers,
        sigma=sigma,
        false_alarm_rate=far,
        appearance=True if appearance is None else appearance,
        store_backbones=("efficientnet_lite0", "i3d_kinetics400")
        if (full if store_rows is None else store_rows)
        else (),
        train_videos=train_videos,
    )
    out = out or Path("runs") / f"benchmark-ucsd-{Path(data).resolve().name}"
    doc = run_ucsd_benchmark(data, out, config, log=lambda m: click.echo(m, err=True))
    table = ablation_markdown(doc)
    click.echo(table)
    click.echo(f"results: {out / 'results.json'}; curves: {out / 'figures'}")
    _write_report(out)
    if docs is not None:
        key = f"ucsd:{Path(data).resolve().name}" + (":full" if full else "")
        key += f":train{train_videos}" if train_videos is not None else ""
        update_docs_block(docs, key, table)
        click.echo(f"updated the benchmark block in {docs}")


def _write_report(out: Path) -> None:
    """``OUT/report.html`` of a finished benchmark (``vadkit report OUT``)."""
    from vadkit.report import write_report

    click.echo(f"report: {write_report([out], out / 'report.html')}")


def _apply(options: list[Callable], f: Callable[..., None]) -> Callable[..., None]:
    """Decorate ``f`` with click ``options`` so that they show in list order."""
    for option in reversed(options):
        f = option(f)
    return f


def _split_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options the weak and supervision benchmarks share: data, store, splits."""
    options = [
        click.option(
            "--data", required=True, type=click.Path(path_type=Path), help="Dataset root."
        ),
        click.option(
            "--backbone", default="efficientnet_lite0", show_default=True, help="Backbone."
        ),
        click.option(
            "--store",
            type=click.Path(path_type=Path),
            default=None,
            help="FeatureStore of every video (made or resumed here; default RUN_DIR/store; "
            "the weak and supervision benchmarks can share one).",
        ),
        click.option(
            "--splits",
            type=int,
            default=None,
            help="Seeded random splits [weak: 10 (--quick: 3); supervision: 3].",
        ),
        click.option(
            "--seed", type=int, default=0, show_default=True, help="Seed of the first split."
        ),
    ]
    return _apply(options, f)


def _run_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options the weak and supervision benchmarks end with: output folder and docs."""
    options = [
        click.option(
            "--random-init", is_flag=True, hidden=True, help="Untrained backbone (tests)."
        ),
        click.option(
            "--out", required=True, type=click.Path(path_type=Path), help="Run directory."
        ),
        click.option(
            "--docs",
            type=click.Path(path_type=Path),
            multiple=True,
            help="Markdown file whose benchmark block (between marker comments) is replaced "
            "(repeatable).",
        ),
    ]
    return _apply(options, f)


def _check_docs(docs: tuple[Path, ...]) -> None:
    for path in docs:  # before minutes of work, not after
        check_writable_file(path, "--docs file")


def _update_docs(docs: tuple[Path, ...], key: str, table: str) -> None:
    from vadkit.bench.ucsd_report import update_docs_block

    for path in docs:
        update_docs_block(path, key, table)
        click.echo(f"updated the benchmark block in {path}")


@benchmark.command(
    "weak",
    epilog="""\b
Example:
  vadkit benchmark weak --data ped2 --backbone efficientnet_lite0 \\
      --out runs/weak-ped2 --docs docs/benchmarks.md""",
)
@_split_options
@click.option("--methods", default=None, help="Comma-separated weak methods [all of them].")
@click.option(
    "--iterations",
    type=int,
    default=None,
    help="Steps per run [each method's steps from its learning curves, vadkit.bench.weak.STEPS].",
)
@click.option(
    "--no-reference",
    is_flag=True,
    help="Leave out the rows of the methods' reference presets (--set preset=reference).",
)
@click.option(
    "--jobs",
    type=int,
    default=1,
    show_default=True,
    help="Runs trained at once, one process each (the numbers do not change).",
)
@click.option(
    "--quick",
    is_flag=True,
    help="3 splits and at most 100 steps per run (minutes, not the benchmark's numbers).",
)
@click.option("--val-every", type=int, default=20, show_default=True, help="Steps per validation.")
@click.option(
    "--train-threads", type=int, default=1, show_default=True, help="torch threads for training."
)
@_run_options
def weak(
    data: Path,
    backbone: str,
    store: Path | None,
    splits: int | None,
    seed: int,
    methods: str | None,
    iterations: int | None,
    no_reference: bool,
    jobs: int,
    quick: bool,
    val_every: int,
    train_threads: int,
    random_init: bool,
    out: Path,
    docs: tuple[Path, ...],
) -> None:
    """Weakly-supervised protocol: part of the test videos train with video labels only."""
    _check_docs(docs)
    from vadkit.bench.weak import WeakBenchConfig, run_weak_benchmark, weak_markdown

    names = tuple(m.strip() for m in methods.split(",") if m.strip()) if methods else None
    config = WeakBenchConfig(
        backbone=backbone,
        methods=names,
        splits=splits or (3 if quick else 10),
        seed=seed,
        iterations=iterations,
        max_steps=100 if quick else None,
        val_every=val_every,
        reference_presets=not no_reference,
        jobs=jobs,
        random_init=random_init,
        train_threads=train_threads,
    )
    doc = run_weak_benchmark(data, out, config, store, log=lambda m: click.echo(m, err=True))
    table = weak_markdown(doc)
    click.echo(table)
    click.echo(f"results: {out / 'results.json'}")
    _write_report(out)
    _update_docs(docs, f"weak:{Path(data).resolve().name}:{backbone}", table)


@benchmark.command(
    "supervision",
    epilog="""\b
Example:
  vadkit benchmark supervision --data ped2 --backbone efficientnet_lite0 --splits 3 \\
      --out runs/supervision-ped2 --docs docs/benchmarks.md""",
)
@_split_options
@click.option("--one-class", "one_class", default="knn", show_default=True, help="One-class rows.")
@click.option("--weak", "weak_methods", default=None, help="Weak rows [every weak method].")
@click.option("--full", "full_methods", default="aed_t", show_default=True, help="Full rows.")
@click.option("--iterations", type=int, default=200, show_default=True, help="Weak: steps.")
@click.option("--val-every", type=int, default=20, show_default=True, help="Weak: validation.")
@click.option("--full-iterations", type=int, default=200, show_default=True, help="Full: steps.")
@click.option("--full-val-every", type=int, default=25, show_default=True, help="Full: validation.")
@click.option(
    "--full-batch", type=int, default=10, show_default=True, help="Full: windows per class."
)
@_run_options
def supervision(
    data: Path,
    backbone: str,
    store: Path | None,
    splits: int | None,
    seed: int,
    one_class: str,
    weak_methods: str | None,
    full_methods: str,
    iterations: int,
    val_every: int,
    full_iterations: int,
    full_val_every: int,
    full_batch: int,
    random_init: bool,
    out: Path,
    docs: tuple[Path, ...],
) -> None:
    """One table of supervision levels: one-class, weak and full rows on the same splits."""
    from vadkit.bench.supervision import (
        SupervisionBenchConfig,
        run_supervision_benchmark,
        supervision_markdown,
    )

    _check_docs(docs)

    def names(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(m.strip() for m in text.split(",") if m.strip())

    config = SupervisionBenchConfig(
        backbone=backbone,
        splits=splits or 3,
        seed=seed,
        one_class=names(one_class) or (),
        weak=names(weak_methods),
        full=names(full_methods) or (),
        iterations=iterations,
        val_every=val_every,
        full_iterations=full_iterations,
        full_val_every=full_val_every,
        full_batch=full_batch,
        random_init=random_init,
    )
    log = lambda m: click.echo(m, err=True)  # noqa: E731
    doc = run_supervision_benchmark(data, out, config, store, log=log)
    table = supervision_markdown(doc)
    click.echo(table)
    click.echo(f"results: {out / 'results.json'}")
    _write_report(out)
    _update_docs(docs, f"supervision:{Path(data).resolve().name}:{backbone}", table)
