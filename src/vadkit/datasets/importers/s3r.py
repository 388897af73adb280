"""S3R CSV layout -> FeatureStore.

Layout (louisYen/S3R ``data/<dataset>/``)::

    ucf-crime.training.csv        header ``video-id``, then one bare id per line
      video-id
      Abuse001_x264
    i3d/train/Abuse001_x264_i3d.npy      (T, 10, 2048) float32, RTFM's ten-crop I3D
    i3d/test/...

``feature_dir`` may be the ``i3d`` folder (``<split>/`` is tried under it) or the folder
holding the files directly. Ids and order equal the RTFM lists; labels follow the same
rules (names for UCF-Crime / XD-Violence, frame masks for ShanghaiTech), never positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vadkit.datasets.importers.common import (
    Item,
    PathArg,
    apply_frame_counts,
    as_paths,
    find_file,
    read_lines,
    split_from_name,
    write_store,
)
from vadkit.datasets.importers.rtfm import i3d_store_info, label_items
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore

S3R_COLUMN = "video-id"


def read_s3r_csv(path: PathArg) -> list[tuple[int, str]]:
    """``(line number, video id)`` rows of an S3R CSV (single ``video-id`` column)."""
    lines = read_lines(path)
    if not lines or lines[0][1].split(",")[0].strip() != S3R_COLUMN:
        got = lines[0][1][:60] if lines else "an empty file"
        raise VadkitError(f"{path}:1: expected the S3R header {S3R_COLUMN!r}, got {got!r}")
    return [(lineno, text.split(",")[0].strip()) for lineno, text in lines[1:]]


def import_s3r(
    csv_file: PathArg | Iterable[PathArg],
    feature_dir: PathArg | Iterable[PathArg],
    out: PathArg,
    *,
    dataset: str = "auto",
    masks_dir: PathArg | None = None,
    split: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    copy: bool = False,
    overwrite: bool = False,
) -> FeatureStore:
    """Import S3R CSVs (see the module docstring for the layout).

    Parameters
    ----------
    csv_file : one or several CSVs (training then testing); all go into one store in order.
    feature_dir : folder(s) searched for ``<video-id>_i3d.npy``, directly and under
        ``<split>/`` (``train``/``test``, S3R's ``i3d/<split>/``).
    dataset, masks_dir, frame_counts, copy, overwrite : as :func:`import_rtfm_list`.
    split : split of every video; default from each CSV name (``testing`` -> ``"test"``).

    Returns
    -------
    FeatureStore with one ``(T, crops, D)`` entry per CSV row.
    """
    csvs = as_paths(csv_file)
    roots = as_paths(feature_dir)
    if not csvs:
        raise VadkitError("no S3R CSV given")
    if not roots:
        raise VadkitError("S3R import needs the feature folder (--features)")
    items: list[Item] = []
    for path in csvs:
        video_split = split or split_from_name(path)
        for lineno, vid in read_s3r_csv(path):
            items.append(Item(vid, f"{path}:{lineno}", split=video_split))
    labeller = label_items(items, dataset, masks_dir)
    for item in items:
        item.path = find_file(
            f"{item.video_id}_i3d.npy", roots, item.where, subdirs=(item.split or "",)
        )
    apply_frame_counts(items, frame_counts)
    info = i3d_store_info(labeller.dataset, items[0].path, items[0].video_id, "import:s3r", csvs)
    return write_store(out, info, items, copy=copy, overwrite=overwrite)
