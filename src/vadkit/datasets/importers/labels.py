"""Video labels of the published datasets, from video names or frame masks (never positions).

The published lists put anomalous videos first (UCF-Crime 810 + 800, ShanghaiTech 63 + 175),
and their loaders label by index. Importers label each video by what identifies it instead:

- UCF-Crime: the name. ``Normal_Videos...`` is normal; otherwise the class is the alphabetic
  prefix before the digits (``RoadAccidents123_x264`` -> ``RoadAccidents``).
- ShanghaiTech (weakly-supervised split): a video is anomalous iff ``test_frame_mask/<id>.npy``
  exists (all 107 published masks contain anomalies; normal videos have none).
- XD-Violence: the ``_label_<code>`` part of the name; ``A`` is normal, any other code (e.g.
  ``B2-G-0``) is violent and kept verbatim as the class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from vadkit.datasets.names import XD_LABEL as _XD_LABEL  # one XD name parser
from vadkit.datasets.names import xd_classes, xd_label  # noqa: F401 (re-exported)
from vadkit.errors import VadkitError

DATASETS = ("ucf-crime", "shanghaitech", "xd-violence")
NORMAL = "Normal"
SH_ANOMALY = "Anomaly"

_UCF_CLASS = re.compile(r"^([A-Za-z]+?)_?\d")
_SH_ID = re.compile(r"^\d{2}_\d{3,4}$")


def detect_dataset(video_id: str) -> str | None:
    """The dataset a video id looks like (``None`` when it fits none).

    >>> detect_dataset("Abuse001_x264"), detect_dataset("01_0014"), detect_dataset("x_label_A")
    ('ucf-crime', 'shanghaitech', 'xd-violence')
    """
    if _XD_LABEL.search(video_id):
        return "xd-violence"
    if "_x264" in video_id or video_id.startswith("Normal_Videos"):
        return "ucf-crime"
    if _SH_ID.match(video_id):
        return "shanghaitech"
    return None


def ucf_label(video_id: str) -> tuple[int, str]:
    """``(label, class)`` of a UCF-Crime video from its name.

    >>> ucf_label("RoadAccidents123_x264"), ucf_label("Normal_Videos_006_x264")
    ((1, 'RoadAccidents'), (0, 'Normal'))
    """
    if video_id.startswith("Normal_Videos"):
        return 0, NORMAL
    m = _UCF_CLASS.match(video_id)
    if not m:
        raise VadkitError(
            f"video {video_id!r}: not a UCF-Crime name (expected <Class><digits>_x264 "
            "or Normal_Videos...)"
        )
    return 1, m.group(1)


def mask_ids(masks_dir: str | Path) -> set[str]:
    """Ids with a frame mask: stems of ``masks_dir/test_frame_mask/*.npy`` (or ``masks_dir/*.npy``)."""
    masks_dir = Path(masks_dir)
    folder = masks_dir / "test_frame_mask"
    if not folder.is_dir():
        folder = masks_dir
    if not folder.is_dir():
        raise VadkitError(f"masks folder not found: {masks_dir}")
    # only files named like ShanghaiTech videos (01_0014.npy) are masks; a folder holding
    # other arrays (gt-sh.npy) must not silently label every video normal
    ids = {p.stem for p in folder.glob("*.npy") if _SH_ID.match(p.stem)}
    if not ids:
        raise VadkitError(
            f"masks folder {folder} holds no ShanghaiTech frame masks (<NN_NNNN>.npy); "
            "--masks-dir must be test_frame_mask/ or the folder holding it"
        )
    return ids


class Labeller:
    """Labels videos of one dataset: ``labeller(video_id) -> (label, class)``.

    Parameters
    ----------
    dataset : ``"ucf-crime"``, ``"shanghaitech"``, ``"xd-violence"``, or ``"auto"`` to detect
        it from ``video_ids`` (every id must then fit the same dataset).
    video_ids : the ids to be labelled (used for detection and error messages).
    masks_dir : ShanghaiTech only: folder with ``test_frame_mask/<id>.npy``.
    """

    def __init__(
        self, dataset: str, video_ids: Iterable[str], masks_dir: str | Path | None = None
    ) -> None:
        ids = list(video_ids)
        if dataset == "auto":
            dataset = self._detect(ids)
        if dataset not in DATASETS:
            raise VadkitError(f"unknown dataset {dataset!r}; valid: auto, {', '.join(DATASETS)}")
        self.dataset = dataset
        self._masks: set[str] = set()
        if dataset == "shanghaitech":
            if masks_dir is None:
                raise VadkitError(
                    "ShanghaiTech labels need --masks-dir: the folder holding test_frame_mask/<id>.npy "
                    "(a video is anomalous iff its mask exists); labels are never taken from list "
                    "positions"
                )
            self._masks = mask_ids(masks_dir)

    @staticmethod
    def _detect(ids: list[str]) -> str:
        if not ids:
            raise VadkitError("no videos to import")
        found = detect_dataset(ids[0])
        if found is None:
            raise VadkitError(
                f"cannot tell the dataset from video id {ids[0]!r}; pass --dataset "
                f"({', '.join(DATASETS)})"
            )
        for vid in ids:
            if detect_dataset(vid) != found:
                raise VadkitError(
                    f"video {vid!r} does not look like {found} (detected from {ids[0]!r}); "
                    "pass --dataset or import the lists separately"
                )
        return found

    def __call__(self, video_id: str) -> tuple[int, str]:
        if self.dataset == "ucf-crime":
            return ucf_label(video_id)
        if self.dataset == "xd-violence":
            return xd_label(video_id)
        return (1, SH_ANOMALY) if video_id in self._masks else (0, NORMAL)
