"""``vadkit evaluate``: per-video scores + published annotations -> metrics table and JSON."""

from __future__ import annotations

import os
from pathlib import Path

import click

from vadkit.datasets.align import CONVENTIONS
from vadkit.datasets.names import canonical_dataset
from vadkit.evaluate.run import CUSTOM, DATASETS

EXAMPLES = """\b
Examples:
  vadkit evaluate runs/rtfm-ucf                 # a run directory of `vadkit train`
  vadkit evaluate --scores run/scores.npz --dataset ucf-crime \\
      --annotations Temporal_Anomaly_Annotation.txt --frame-counts Test_Annotation.txt
  vadkit evaluate --scores run/scores.npz --dataset shanghaitech \\
      --annotations test_frame_mask/ --split-file SH_Test.txt --store stores/sh-test
  vadkit evaluate --scores scores.json --dataset ped2 --annotations ped2.mat \\
      --frames-root ped2/testing/frames --convention exact --store stores/ped2
"""


def _dataset(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The canonical dataset id (``ucf_crime`` -> ``ucf-crime``), or ``csv``."""
    from vadkit.errors import VadkitError

    if value is None:
        return None
    if value.lower() == CUSTOM:
        return CUSTOM
    try:
        return canonical_dataset(value)
    except VadkitError:
        raise click.BadParameter(
            f"{value!r} is not one of {', '.join(DATASETS)}", ctx=ctx, param=param
        ) from None


@click.command(epilog=EXAMPLES)
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--scores",
    type=click.Path(path_type=Path),
    help="Per-video scores: .npz / .json {id: scores} (or give a run directory as RUN_DIR).",
)
@click.option(
    "--dataset",
    callback=_dataset,
    metavar="[" + "|".join(DATASETS) + "]",
    help="Dataset of the annotations (csv: your own interval CSV).",
)
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    help="Annotation file or folder in the dataset's published format (a run: its recorded one).",
)
@click.option(
    "--frame-counts",
    type=click.Path(path_type=Path),
    help="UCF-Crime: per-video frame counts (Test_Annotation.txt).",
)
@click.option(
    "--split-file",
    type=click.Path(path_type=Path),
    help="ShanghaiTech: the test split (SH_Test.txt), for its normal videos.",
)
@click.option(
    "--list",
    "list_file",
    type=click.Path(path_type=Path),
    help="XD-Violence: the test list, for its normal videos.",
)
@click.option(
    "--frames-root",
    type=click.Path(path_type=Path),
    help="UCSD Ped2: the testing frames folder (frame counts).",
)
@click.option(
    "--masks-dir",
    type=click.Path(path_type=Path),
    help="UCSD Ped2: pixel mask folder (frame counts; pixel AUC needs score maps).",
)
@click.option("--masks", "masks_old", type=click.Path(path_type=Path), hidden=True)
@click.option(
    "--ped2-ids",
    type=click.Choice(["index", "Test001"]),
    default="index",
    show_default=True,
    help="UCSD Ped2 video ids: 01..12 (frame folders) or Test001..Test012.",
)
@click.option(
    "--one-based-inclusive",
    is_flag=True,
    help="csv: intervals are 1-based with inclusive ends (default 0-based, end exclusive).",
)
@click.option(
    "--store",
    type=click.Path(path_type=Path),
    help="The FeatureStore the scores were computed on (snippet length, T, n_frames).",
)
@click.option(
    "--convention",
    type=click.Choice(list(CONVENTIONS)),
    help="x16 (default; a run: its recorded one): 16*T frames per video as published numbers; "
    "exact: true frame counts.",
)
@click.option(
    "--snippet-length",
    type=int,
    default=16,
    show_default=True,
    help="Frames per snippet when no --store is given (1: per-frame scores).",
)
@click.option("--subset", is_flag=True, help="Evaluate only the scored videos of the ground truth.")
@click.option(
    "--threshold", default=0.5, show_default=True, help="Threshold of the false-alarm rate."
)
@click.option(
    "--bootstrap",
    type=int,
    default=0,
    show_default=True,
    help="Bootstrap resamples (over videos) for a 95% CI of the frame AUC.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="JSON results [metrics.json beside the scores, RUN_DIR/evaluation.json for a run; "
    "an existing one needs --overwrite].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing results file.")
def evaluate(
    run_dir: Path | None,
    scores: Path | None,
    dataset: str | None,
    annotations: Path | None,
    frame_counts: Path | None,
    split_file: Path | None,
    list_file: Path | None,
    frames_root: Path | None,
    masks_dir: Path | None,
    masks_old: Path | None,
    ped2_ids: str,
    one_based_inclusive: bool,
    store: Path | None,
    convention: str | None,
    snippet_length: int,
    subset: bool,
    threshold: float,
    bootstrap: int,
    out: Path | None,
    overwrite: bool,
) -> None:
    """Score files + annotations (or a run directory) -> a results table and a JSON file."""
    import numpy as np

    from vadkit.errors import VadkitError
    from vadkit.evaluate.run import evaluate_scores, format_table, load_ground_truth, load_scores
    from vadkit.io.atomic import atomic_write_json
    from vadkit.io.store import FeatureStore

    if masks_old is not None:
        if masks_dir is not None:
            raise VadkitError("pass --masks-dir only (--masks is its old name)")
        masks_dir = masks_old
    # options first, named as typed: nothing is read before they are known to be usable
    if not np.isfinite(threshold):
        raise VadkitError(f"--threshold must be a finite number, got {threshold}")
    if snippet_length < 1:
        raise VadkitError(f"--snippet-length must be at least 1 frame, got {snippet_length}")
    if bootstrap < 0:
        raise VadkitError(f"--bootstrap must be 0 (none) or more resamples, got {bootstrap}")
    if run_dir is None and scores is not None and (scores / "config.yaml").is_file():
        run_dir = scores
    if run_dir is not None:
        _evaluate_run(
            run_dir,
            out=out,
            overwrite=overwrite,
            annotations=annotations,
            dataset=dataset,
            test_store=store,
            convention=convention,
            bootstrap=bootstrap,
            threshold=threshold,
            frame_counts=frame_counts,
            split_file=split_file,
            list_file=list_file,
        )
        return
    missing = [f for f, v in (("--scores", scores), ("--dataset", dataset)) if v is None]
    missing += ["--annotations"] if annotations is None else []
    if missing:
        raise VadkitError(f"give a run directory, or {', '.join(missing)} (see vadkit evaluate -h)")
    convention = convention or "x16"
    target = out or (scores if scores.is_dir() else scores.parent) / "metrics.json"
    _check_target(target, default=out is None, overwrite=overwrite)
    per_video = load_scores(scores)
    gt = load_ground_truth(
        dataset,
        annotations,
        frame_counts=frame_counts,
        split_file=split_file,
        list_file=list_file,
        frames_root=frames_root,
        masks_dir=masks_dir,
        one_based_inclusive=one_based_inclusive,
        ped2_ids=ped2_ids,
    )
    results = evaluate_scores(
        per_video,
        gt,
        store=FeatureStore.open(store) if store else None,
        convention=convention,
        snippet_length=snippet_length,
        allow_subset=subset,
        threshold=threshold,
        bootstrap=bootstrap,
    )
    # the dataset as given (csv rather than the CSV file's name) and the scores file first
    results.pop("dataset")
    results = {"dataset": dataset, "convention": convention, "scores": str(scores), **results}
    click.echo(format_table(results))
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(target, results)
    click.echo(f"wrote {target}")


def _evaluate_run(run_dir: Path, *, out: Path | None, overwrite: bool, **given: object) -> None:
    """``vadkit evaluate RUN_DIR``: the run's scores against the ground truth its config names."""
    from vadkit.errors import VadkitError
    from vadkit.io.atomic import atomic_write_json
    from vadkit.train.rundir import evaluate_run, format_run_results

    if not (run_dir / "config.yaml").is_file() or not (run_dir / "scores.npz").is_file():
        raise VadkitError(f"{run_dir} is not a run directory (no config.yaml and scores.npz)")
    # the training's own metrics.json stays as it was; a re-evaluation has its own file
    target = out or run_dir / "evaluation.json"
    _check_target(target, default=out is None, overwrite=overwrite)
    args = {k: (str(v) if isinstance(v, Path) else v) for k, v in given.items() if v is not None}
    results = evaluate_run(run_dir, **args)
    click.echo(format_run_results(results))
    atomic_write_json(target, results)
    click.echo(f"wrote {target}")


def _check_target(target: Path, *, default: bool, overwrite: bool) -> None:
    """The results file can be written: checked before any work (one line if not)."""
    from vadkit.errors import VadkitError

    if target.is_dir():
        raise VadkitError(f"--out {target} is a directory; give a file name such as metrics.json")
    if target.exists() and default and not overwrite:
        raise VadkitError(
            f"{target} already exists (from an earlier evaluation); pass --overwrite to "
            "replace it, or -o FILE to write elsewhere"
        )
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # missing folders are created when the results are written
    if not folder.is_dir():
        raise VadkitError(f"--out {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise VadkitError(f"--out {target}: cannot write in {folder} (permission denied)")
