"""Datasets: names, annotations (ground truth), label alignment, importers.

>>> from vadkit.datasets import DATASETS, canonical_dataset
>>> canonical_dataset("ucf_crime") in DATASETS
True
"""

from vadkit.datasets.names import (
    DATASETS,
    XDName,
    canonical_dataset,
    parse_xd_name,
    video_id_from_path,
)

__all__ = ["DATASETS", "XDName", "canonical_dataset", "parse_xd_name", "video_id_from_path"]
