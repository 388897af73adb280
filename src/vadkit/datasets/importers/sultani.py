"""Sultani et al. (CVPR 2018) 32-segment C3D text files -> FeatureStore.

Layout (WaqasSultani/AnomalyDetectionCVPR2018 ``SampleVideos/``)::

    c3d_32seg_samples/
      Explosion008_x264.txt       32 lines x 4096 values written as "%f " (C3D fc6,
      Normal_Videos_006_x264.txt  each row L2-normalised), one file per video
      videos.csv                  optional frame counts (see read_frame_counts)

    -> store entry <video>: (32, 1, 4096) float32

Each row is one of 32 segments: 33 boundaries ``round(linspace(1, nclips, 33))`` over the
video's 16-frame clips, a segment averages its clips (an empty one takes the clip at its
start, hence repeated adjacent rows in short videos). Labels come from the UCF-Crime names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.ucf_crime import read_ucf_annotation_file
from vadkit.datasets.importers.common import (
    Item,
    PathArg,
    apply_frame_counts,
    as_paths,
    write_store,
)
from vadkit.datasets.importers.labels import Labeller
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo

_SEGMENT_RULE = (
    "Sultani: 33 boundaries round(linspace(1, nclips, 33)) over 16-frame clips; a segment "
    "averages its clips (an empty one takes its start clip); each row L2-normalised"
)


def read_sultani_txt(path: PathArg, n_segments: int = 32, dim: int = 4096) -> np.ndarray:
    """One Sultani C3D text file as ``(n_segments, dim)`` float32."""
    path = Path(path)
    try:
        values = np.array(path.read_text().split(), dtype=np.float32)
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read Sultani C3D features {path}: {exc}") from exc
    if values.size != n_segments * dim:
        raise VadkitError(
            f"{path}: {values.size} values, expected {n_segments} x {dim} = {n_segments * dim}"
        )
    return values.reshape(n_segments, dim)


def read_ucf_annotation_classes(path: PathArg) -> dict[str, tuple[str, int | None]]:
    """``{video id: (class, n_frames or None)}`` from a UCF-Crime annotation file.

    Reads ``Temporal_Anomaly_Annotation.txt`` (``<video>.mp4 <Class> s e s e``),
    ``Test_Annotation.txt`` (``<Class>/<video>.mp4 <n> <Class> ...``) and
    ``Train_Annotation.txt`` (``<Class>/<video>.mp4 <n>``; class from the folder).
    """
    rows = read_ucf_annotation_file(path)  # the one UCF annotation reader
    return {vid: (row.cls, row.n_frames) for vid, row in rows.items()}


def _txt_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(src.glob("*.txt"))
            if not found:
                raise VadkitError(f"{src}: no Sultani C3D .txt files found")
            files += found
        elif src.is_file():
            files.append(src)
        else:
            raise VadkitError(f"Sultani C3D features not found: {src}")
    return files


def import_sultani_c3d(
    txt_dir_or_files: PathArg | Iterable[PathArg],
    out: PathArg,
    *,
    annotations: PathArg | None = None,
    dataset: str = "auto",
    split: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    n_segments: int = 32,
    dim: int = 4096,
    overwrite: bool = False,
) -> FeatureStore:
    """Import Sultani C3D 32-segment text files (see the module docstring for the layout).

    Parameters
    ----------
    txt_dir_or_files : folder(s) of ``<video>.txt`` files and/or single files.
    out : the store folder.
    annotations : optional UCF-Crime annotation file (``Temporal_Anomaly_Annotation.txt``,
        ``Test_Annotation.txt`` or ``Train_Annotation.txt``). Every video must be in it and
        its class must agree with the name; it sets the split (``train`` in the file name ->
        ``"train"``, else ``"test"``) and, when it has them, the frame counts.
    dataset : ``"auto"`` or a dataset name, for the labels from names.
    split : split of every video (overrides the one from ``annotations``).
    frame_counts : optional ``{video id: n_frames}`` (e.g. ``read_frame_counts(videos.csv)``).
    n_segments, dim : expected values per file are ``n_segments * dim``.
    overwrite : replace the recipe of an existing store made differently.

    Returns
    -------
    FeatureStore whose entries are ``(n_segments, 1, dim)`` float32.
    """
    files = _txt_files(as_paths(txt_dir_or_files))
    items = [
        Item(
            f.stem,
            str(f),
            path=f,
            source=str(f),
            load=lambda f=f: read_sultani_txt(f, n_segments, dim),
        )
        for f in files
    ]
    labeller = Labeller(dataset, [it.video_id for it in items])
    for item in items:
        item.label, item.cls = labeller(item.video_id)
        item.split = split
    if annotations is not None:
        table = read_ucf_annotation_classes(annotations)
        ann_split = "train" if "train" in Path(annotations).name.lower() else "test"
        for item in items:
            if item.video_id not in table:
                raise VadkitError(f"video {item.video_id!r} ({item.where}) is not in {annotations}")
            cls, n_frames = table[item.video_id]
            if cls != item.cls:
                raise VadkitError(
                    f"video {item.video_id!r}: {annotations} says class {cls!r}, "
                    f"the name says {item.cls!r}"
                )
            item.split = split or ann_split
            item.n_frames = n_frames
    apply_frame_counts(items, frame_counts)
    info = StoreInfo(
        backbone="c3d",
        weights_sha256="unknown",
        dim=dim,
        crops=1,
        snippet_length=16,
        stride=16,
        padding="segments",
        n_segments=n_segments,
        source="import:sultani",
        dataset=labeller.dataset,
        extra={
            "segment_rule": "sultani",
            "segment_norm": "l2",
            "segment_rule_detail": _SEGMENT_RULE,
        },
    )
    return write_store(out, info, items, overwrite=overwrite)
