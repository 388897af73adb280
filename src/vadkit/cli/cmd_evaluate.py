"""``vadkit evaluate``: per-video scores + published annotations -> metrics table and JSON."""

from __future__ import annotations

from pathlib import Path

import click

EXAMPLES = """\b
Examples:
  vadkit evaluate --scores run/scores.npz --dataset ucf-crime \\
      --annotations Temporal_Anomaly_Annotation.txt --frame-counts Test_Annotation.txt
  vadkit evaluate --scores run/scores.npz --dataset shanghaitech \\
      --annotations test_frame_mask/ --split-file SH_Test.txt --store stores/sh-test
  vadkit evaluate --scores scores.json --dataset ped2 --annotations ped2.mat \\
      --frames-root ped2/testing/frames --convention exact --store stores/ped2
"""


@click.command(epilog=EXAMPLES)
@click.option(
    "--scores",
    required=True,
    type=click.Path(path_type=Path),
    help="Per-video scores: .npz / .json {id: scores}, or a run directory.",
)
@click.option(
    "--dataset",
    required=True,
    type=click.Choice(["ucf-crime", "shanghaitech", "xd-violence", "ped2", "csv"]),
)
@click.option(
    "--annotations",
    required=True,
    type=click.Path(path_type=Path),
    help="Annotation file or folder in the dataset's published format.",
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
    "--masks",
    type=click.Path(path_type=Path),
    help="UCSD Ped2: pixel mask folder (frame counts; pixel AUC needs score maps).",
)
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
    type=click.Choice(["x16", "exact"]),
    default="x16",
    show_default=True,
    help="x16: 16*T frames per video as published numbers; exact: true frame counts.",
)
@click.option(
    "--snippet-length",
    default=16,
    show_default=True,
    help="Frames per snippet when no --store is given.",
)
@click.option("--subset", is_flag=True, help="Evaluate only the scored videos of the ground truth.")
@click.option(
    "--threshold", default=0.5, show_default=True, help="Threshold of the false-alarm rate."
)
@click.option(
    "--bootstrap",
    default=0,
    show_default=True,
    help="Bootstrap resamples (over videos) for a 95% CI of the frame AUC.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="JSON results [metrics.json beside the scores]."
)
def evaluate(
    scores: Path,
    dataset: str,
    annotations: Path,
    frame_counts: Path | None,
    split_file: Path | None,
    list_file: Path | None,
    frames_root: Path | None,
    masks: Path | None,
    ped2_ids: str,
    one_based_inclusive: bool,
    store: Path | None,
    convention: str,
    snippet_length: int,
    subset: bool,
    threshold: float,
    bootstrap: int,
    out: Path | None,
) -> None:
    """Score files + annotations -> a results table and a JSON file."""
    import numpy as np

    from vadkit.errors import VadkitError
    from vadkit.evaluate.run import (
        compute_metrics,
        format_table,
        frame_data,
        load_ground_truth,
        load_scores,
    )
    from vadkit.io.atomic import atomic_write_json
    from vadkit.io.store import FeatureStore

    if not np.isfinite(threshold):
        raise VadkitError(f"--threshold must be a finite number, got {threshold}")
    target = out or (scores if scores.is_dir() else scores.parent) / "metrics.json"
    if target.is_dir():
        raise VadkitError(f"--out {target} is a directory; give a file name such as metrics.json")
    per_video = load_scores(scores)
    gt = load_ground_truth(
        dataset,
        annotations,
        frame_counts=frame_counts,
        split_file=split_file,
        list_file=list_file,
        frames_root=frames_root,
        masks=masks,
        one_based_inclusive=one_based_inclusive,
        ped2_ids=ped2_ids,
    )
    fs = FeatureStore.open(store) if store else None
    data = frame_data(
        per_video,
        gt,
        store=fs,
        convention=convention,
        snippet_len=snippet_length,
        allow_subset=subset,
    )
    results = {"dataset": dataset, "convention": convention, "scores": str(scores)}
    results.update(compute_metrics(data, threshold=threshold, bootstrap=bootstrap))
    click.echo(format_table(results))
    atomic_write_json(target, results)
    click.echo(f"wrote {target}")
