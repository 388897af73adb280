"""RTFM ten-crop I3D lists -> FeatureStore.

Layout (tianyu0207/RTFM ``list/*.list``)::

    ucf-i3d.list                 one feature file per line, in the published order
      G:\\UCF_Train_ten_crop_i3d\\Abuse001_x264_i3d.npy        (Windows paths, CRLF)
    shanghai-i3d-test-10crop.list
      /home/yu/yu_ssd/SH_Test_ten_crop_i3d/01_0015_i3d.npy   (POSIX paths, LF)

    <root>/Abuse001_x264_i3d.npy            where the files really are: root/<basename>
    <root>/UCF_Train_ten_crop_i3d/...       or root/<last listed dir>/<basename>

    each <video>_i3d.npy: (T, 10, 2048) float32, T = number of 16-frame snippets
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from vadkit.datasets.importers.common import (
    Item,
    PathArg,
    apply_frame_counts,
    as_paths,
    crop_mode_for,
    find_file,
    npy_shape,
    read_lines,
    split_from_name,
    split_listed,
    write_store,
)
from vadkit.datasets.importers.labels import Labeller
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo

_SH_NOTE = (
    "RTFM ShanghaiTech release: T = ceil(n_frames / 16), the last partial snippet is kept; "
    "its x16 ground truth pads labels to 16*T by repeating the last value (like repeat_last)"
)


def rtfm_video_id(listed: str) -> str:
    """Video id of a listed feature file: basename minus ``_i3d.npy`` (or ``.npy``).

    >>> rtfm_video_id("G:\\\\UCF_Train_ten_crop_i3d\\\\Abuse001_x264_i3d.npy")
    'Abuse001_x264'
    """
    base = split_listed(listed)[1]
    for suffix in ("_i3d.npy", ".npy"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def i3d_store_info(
    dataset: str, first: Path, video_id: str, source: str, inputs: list[Path]
) -> StoreInfo:
    """StoreInfo of published RTFM/S3R I3D features; crops and D come from the first file."""
    shape = npy_shape(first, video_id)
    if len(shape) != 3:
        raise VadkitError(f"video {video_id!r}: {first} has shape {shape}, expected (T, crops, D)")
    extra: dict = {"inputs": [p.name for p in inputs]}
    if dataset == "shanghaitech":
        extra["t_rule"] = "ceil(n_frames/16)"
        extra["padding_note"] = _SH_NOTE
    return StoreInfo(
        backbone="i3d_r50",
        weights_sha256="unknown",
        dim=int(shape[2]),
        crops=int(shape[1]),
        snippet_length=16,
        stride=16,
        padding="unknown",
        crop_mode=crop_mode_for(int(shape[1])),
        source=source,
        dataset=dataset,
        extra=extra,
    )


def label_items(items: list[Item], dataset: str, masks_dir: PathArg | None) -> Labeller:
    """Label every item from its id (names or masks); returns the labeller used."""
    labeller = Labeller(dataset, [it.video_id for it in items], masks_dir)
    for item in items:
        item.label, item.cls = labeller(item.video_id)
    return labeller


def import_rtfm_list(
    list_files: PathArg | Iterable[PathArg],
    out: PathArg,
    *,
    root: PathArg | Iterable[PathArg] | None = None,
    dataset: str = "auto",
    masks_dir: PathArg | None = None,
    split: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    copy: bool = False,
    overwrite: bool = False,
) -> FeatureStore:
    """Import RTFM ten-crop I3D list files (see the module docstring for the layout).

    Parameters
    ----------
    list_files : one or several lists (e.g. train then test); all go into one store, in
        list order.
    out : the store folder.
    root : folder(s) holding the feature files; each listed file is looked up as
        ``root/<basename>`` then ``root/<last listed dir>/<basename>``. Without it the
        listed path is used as is.
    dataset : ``"auto"`` (from the names), ``"ucf-crime"``, ``"shanghaitech"`` or
        ``"xd-violence"``.
    masks_dir : ShanghaiTech only, required there: folder with ``test_frame_mask/<id>.npy``;
        a video is anomalous iff its mask exists.
    split : split of every video; default from each list's name (``test`` -> ``"test"``,
        else ``"train"``).
    frame_counts : optional ``{video id: n_frames}``; videos not in it get ``None``.
    copy : copy the arrays instead of symlinking them.
    overwrite : replace the recipe of an existing store made differently.

    Returns
    -------
    FeatureStore with one ``(T, crops, D)`` entry per listed video.
    """
    lists = as_paths(list_files)
    roots = as_paths(root)
    if not lists:
        raise VadkitError("no list file given")
    planned: list[tuple[Item, str, Path]] = []
    for lst in lists:
        video_split = split or split_from_name(lst)
        for lineno, text in read_lines(lst):
            item = Item(rtfm_video_id(text), f"{lst}:{lineno}", split=video_split)
            planned.append((item, text, lst))
    items = [item for item, _, _ in planned]
    labeller = label_items(items, dataset, masks_dir)
    for item, text, lst in planned:
        item.path = find_file(text, roots, item.where, base_dir=lst.parent)
    apply_frame_counts(items, frame_counts)
    info = i3d_store_info(labeller.dataset, items[0].path, items[0].video_id, "import:rtfm", lists)
    return write_store(out, info, items, copy=copy, overwrite=overwrite)
