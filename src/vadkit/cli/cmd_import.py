"""``vadkit import``: published feature layouts -> FeatureStore, one subcommand per layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vadkit.datasets.importers.labels import DATASETS as _KNOWN
from vadkit.sampling import PADDINGS

PATH = click.Path(path_type=Path)
# dataset names come from the importers' registry, never typed again here
DATASETS = ["auto", *_KNOWN]


def _out(f: Callable) -> Callable:
    return click.option("--out", "-o", required=True, type=PATH, help="Store folder to write.")(f)


def _labels(f: Callable) -> Callable:
    f = click.option(
        "--split", default=None, help="Split of every video [default: from the list name]."
    )(f)
    f = click.option(
        "--masks-dir",
        "--masks",
        "masks",
        type=PATH,
        default=None,
        help="ShanghaiTech: folder with test_frame_mask/<id>.npy (required for its labels).",
    )(f)
    return click.option(
        "--dataset",
        type=click.Choice(DATASETS),
        default="auto",
        show_default=True,
        help="Dataset whose naming rules give the labels.",
    )(f)


def _frame_counts(f: Callable) -> Callable:
    return click.option(
        "--frame-counts",
        "frame_counts",
        type=PATH,
        multiple=True,
        help="Per-video frame counts (UCF Train/Test_Annotation.txt, a CSV with id and "
        "n_frames, or JSON); repeatable.",
    )(f)


def _overwrite(f: Callable) -> Callable:
    return click.option(
        "--overwrite",
        is_flag=True,
        help="Replace videos the store already holds (without it they are an error); a "
        "store made with another recipe is replaced whole.",
    )(f)


def _counts(paths: tuple[Path, ...]) -> dict[str, int] | None:
    from vadkit.datasets.importers.common import merge_frame_counts

    return merge_frame_counts(paths)


def _report(store: Any) -> None:
    from vadkit.datasets.importers import summary_line

    click.echo(summary_line(store))


@click.group(
    "import",
    epilog="\b\nExamples:\n"
    "  vadkit import rtfm --list ucf-i3d.list --list ucf-i3d-test.list --root /data/ucf_i3d "
    "--out stores/ucf\n"
    "  vadkit import sultani c3d_32seg_samples --out stores/sultani",
)
def import_() -> None:
    """Import published feature layouts into a FeatureStore.

    Labels come from video names (UCF-Crime, XD-Violence) or frame masks (ShanghaiTech),
    never from positions in a list. Each command prints a one-line summary.
    """


@import_.command("rtfm")
@click.option(
    "--list",
    "lists",
    type=PATH,
    multiple=True,
    required=True,
    help="RTFM list file; repeatable (train then test).",
)
@click.option(
    "--root", type=PATH, multiple=True, help="Folder holding the listed files; repeatable."
)
@_labels
@_frame_counts
@click.option("--copy", is_flag=True, help="Copy the arrays instead of symlinking them.")
@_overwrite
@_out
def rtfm(
    lists: tuple[Path, ...],
    root: tuple[Path, ...],
    dataset: str,
    masks: Path | None,
    split: str | None,
    frame_counts: tuple[Path, ...],
    copy: bool,
    overwrite: bool,
    out: Path,
) -> None:
    """RTFM ten-crop I3D lists (<video>_i3d.npy, (T, 10, 2048)).

    Listed paths (Windows or POSIX) are looked up as ROOT/<basename>, then
    ROOT/<last listed dir>/<basename>.

    \b
    Examples:
      vadkit import rtfm --list ucf-i3d.list --list ucf-i3d-test.list \\
          --root /data/UCF_ten_crop_i3d --frame-counts Train_Annotation.txt \\
          --frame-counts Test_Annotation.txt --out stores/ucf-i3d
      vadkit import rtfm --list shanghai-i3d-test-10crop.list --root /data/SH_i3d \\
          --masks-dir shanghaitech --out stores/sh-i3d
    """
    from vadkit.datasets.importers import import_rtfm_list

    store = import_rtfm_list(
        lists,
        out,
        root=root or None,
        dataset=dataset,
        masks_dir=masks,
        split=split,
        frame_counts=_counts(frame_counts),
        copy=copy,
        overwrite=overwrite,
    )
    _report(store)


@import_.command("s3r")
@click.option(
    "--csv",
    "csvs",
    type=PATH,
    multiple=True,
    required=True,
    help="S3R CSV (video-id column); repeatable.",
)
@click.option(
    "--features",
    type=PATH,
    multiple=True,
    required=True,
    help="Folder with <id>_i3d.npy (or its train/ test/ subfolders); repeatable.",
)
@_labels
@_frame_counts
@click.option("--copy", is_flag=True, help="Copy the arrays instead of symlinking them.")
@_overwrite
@_out
def s3r(
    csvs: tuple[Path, ...],
    features: tuple[Path, ...],
    dataset: str,
    masks: Path | None,
    split: str | None,
    frame_counts: tuple[Path, ...],
    copy: bool,
    overwrite: bool,
    out: Path,
) -> None:
    """S3R CSVs (header video-id) with <video-id>_i3d.npy features.

    \b
    Example:
      vadkit import s3r --csv data/shanghaitech/shanghaitech.training.csv \\
          --csv data/shanghaitech/shanghaitech.testing.csv \\
          --features data/shanghaitech/i3d --masks-dir shanghaitech --out stores/sh-s3r
    """
    from vadkit.datasets.importers import import_s3r

    store = import_s3r(
        csvs,
        features,
        out,
        dataset=dataset,
        masks_dir=masks,
        split=split,
        frame_counts=_counts(frame_counts),
        copy=copy,
        overwrite=overwrite,
    )
    _report(store)


@import_.command("per-crop")
@click.argument("sources", type=PATH, nargs=-1, required=True)
@click.option(
    "--root", type=PATH, multiple=True, help="Folder holding the listed files; repeatable."
)
@click.option(
    "--crops",
    "n_crops",
    type=click.IntRange(min=1),
    default=None,
    help="Crops per video [default: as the first video].",
)
@click.option("--backbone", default="unknown", show_default=True, help="Backbone name to record.")
@_labels
@_frame_counts
@_overwrite
@_out
def per_crop(
    sources: tuple[Path, ...],
    root: tuple[Path, ...],
    n_crops: int | None,
    backbone: str,
    dataset: str,
    masks: Path | None,
    split: str | None,
    frame_counts: tuple[Path, ...],
    overwrite: bool,
    out: Path,
) -> None:
    """Per-crop files <video>__<k>.npy, each (T, D), stacked to (T, crops, D).

    SOURCES are list files (XD rgb.list style, or a VadCLIP path,label CSV) or folders
    scanned for <video>__<k>.npy.

    \b
    Examples:
      vadkit import per-crop rgb.list rgb_test.list --root /data/xd/RGB \\
          --root /data/xd/RGBTest --crops 5 --backbone i3d_rgb --out stores/xd-rgb
      vadkit import per-crop /data/UCFClipFeatures --crops 10 --backbone clip_vit_b16 \\
          --split train --out stores/ucf-clip
    """
    from vadkit.datasets.importers import import_per_crop

    store = import_per_crop(
        sources,
        out,
        n_crops=n_crops,
        root=root or None,
        dataset=dataset,
        masks_dir=masks,
        split=split,
        frame_counts=_counts(frame_counts),
        backbone=backbone,
        overwrite=overwrite,
    )
    _report(store)


@import_.command("sultani")
@click.argument("sources", type=PATH, nargs=-1, required=True)
@click.option(
    "--annotations",
    type=PATH,
    default=None,
    help="UCF annotation file: checks classes, sets split and frame counts.",
)
@click.option("--split", default=None, help="Split of every video.")
@click.option(
    "--dataset",
    type=click.Choice(DATASETS),
    default="auto",
    show_default=True,
    help="Dataset whose naming rules give the labels.",
)
@_frame_counts
@_overwrite
@_out
def sultani(
    sources: tuple[Path, ...],
    annotations: Path | None,
    split: str | None,
    dataset: str,
    frame_counts: tuple[Path, ...],
    overwrite: bool,
    out: Path,
) -> None:
    """Sultani 32-segment C3D text files (32 lines x 4096 values) -> (32, 1, 4096).

    SOURCES are folders of <video>.txt files and/or single files.

    \b
    Example:
      vadkit import sultani ucf_crime/c3d_32seg_samples \\
          --annotations Temporal_Anomaly_Annotation.txt \\
          --frame-counts ucf_crime/c3d_32seg_samples/videos.csv --out stores/sultani
    """
    from vadkit.datasets.importers import import_sultani_c3d

    store = import_sultani_c3d(
        sources,
        out,
        annotations=annotations,
        dataset=dataset,
        split=split,
        frame_counts=_counts(frame_counts),
        overwrite=overwrite,
    )
    _report(store)


@import_.command("generic")
@click.option(
    "--features", type=PATH, required=True, help="Folder of <id>.npy, (T, D) or (T, crops, D)."
)
@click.option(
    "--csv",
    "csv_file",
    type=PATH,
    required=True,
    help="CSV: id,label,class,split[,n_frames,fps,file].",
)
@click.option("--backbone", default="unknown", show_default=True, help="Backbone name to record.")
@click.option(
    "--snippet-length",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Frames per snippet.",
)
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Frames between snippet starts.",
)
@click.option(
    "--padding",
    type=click.Choice(["unknown", *PADDINGS]),
    default="unknown",
    show_default=True,
    help="How the last partial snippet was handled (T against n_frames in `store check`).",
)
@click.option(
    "--segments",
    type=click.IntRange(min=1),
    help="Fixed segments per video (e.g. 32) instead of snippets.",
)
@click.option("--copy", is_flag=True, help="Copy the arrays instead of symlinking them.")
@_overwrite
@_out
def generic(
    features: Path,
    csv_file: Path,
    backbone: str,
    snippet_length: int,
    stride: int,
    padding: str,
    segments: int | None,
    copy: bool,
    overwrite: bool,
    out: Path,
) -> None:
    """A folder of .npy features described by a CSV table.

    \b
    Example:
      vadkit import generic --features feats/ --csv videos.csv --backbone i3d_r50 \\
          --out stores/mine
    """
    from vadkit.datasets.importers import import_generic

    store = import_generic(
        features,
        csv_file,
        out,
        backbone=backbone,
        snippet_length=snippet_length,
        stride=stride,
        padding="segments" if segments else padding,
        n_segments=segments,
        copy=copy,
        overwrite=overwrite,
    )
    _report(store)


@import_.command("lad2000")
@click.option("--root", required=True, type=PATH, help="The LAD2000 folder (train_split.txt, GT/).")
@click.option(
    "--modality",
    type=click.Choice(["rgb", "flow", "combine"]),
    default="rgb",
    show_default=True,
    help="I3D features to import: features_video/i3d/<modality>/<video>/feature.npy.",
)
@_overwrite
@click.option("-o", "--out", required=True, type=PATH, help="Store folder to write.")
def lad2000(root: Path, modality: str, overwrite: bool, out: Path) -> None:
    """LAD2000 I3D features with frame labels, the 14 classes and the train/test splits.

    \b
    Example:
      vadkit import lad2000 --root /data/LAD2000 --modality rgb -o stores/lad2000_rgb
    """
    from vadkit.datasets.importers.lad2000 import import_lad2000

    _report(import_lad2000(root, out, modality=modality, overwrite=overwrite))
