"""Importers: published feature layouts -> :class:`~vadkit.io.store.FeatureStore`.

One free function per layout; each docstring draws the layout it expects. Labels come from
video names or frame masks, never from list positions.

=====================  ==========================================================
``import_rtfm_list``   RTFM ten-crop I3D lists (``*_i3d.npy``, (T, 10, 2048))
``import_s3r``         S3R ``video-id`` CSVs + ``<id>_i3d.npy`` folder
``import_per_crop``    Wu et al. ``<video>__<k>.npy`` per-crop files (XD lists, VadCLIP CSV)
``import_sultani_c3d`` Sultani 32-segment C3D text files (32 x 4096)
``import_generic``     a folder of ``.npy`` + ``id,label,class,split`` CSV
``import_lad2000``     LAD2000 ``features_video/i3d/<modality>/<video>/feature.npy``
=====================  ==========================================================
"""

from vadkit.datasets.importers.common import read_frame_counts, summary_line
from vadkit.datasets.importers.generic import import_generic
from vadkit.datasets.importers.labels import (
    Labeller,
    detect_dataset,
    mask_ids,
    ucf_label,
    xd_classes,
    xd_label,
)
from vadkit.datasets.importers.lad2000 import import_lad2000, read_lad2000
from vadkit.datasets.importers.percrop import import_per_crop
from vadkit.datasets.importers.rtfm import import_rtfm_list, rtfm_video_id
from vadkit.datasets.importers.s3r import import_s3r, read_s3r_csv
from vadkit.datasets.importers.sultani import import_sultani_c3d, read_sultani_txt

__all__ = [
    "Labeller",
    "detect_dataset",
    "import_generic",
    "import_lad2000",
    "import_per_crop",
    "import_rtfm_list",
    "import_s3r",
    "import_sultani_c3d",
    "mask_ids",
    "read_frame_counts",
    "read_lad2000",
    "read_s3r_csv",
    "read_sultani_txt",
    "rtfm_video_id",
    "summary_line",
    "ucf_label",
    "xd_classes",
    "xd_label",
]
