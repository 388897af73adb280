"""Annotation readers: published ground-truth formats -> one :class:`GroundTruth`.

==========================  ===============================================  =================
reader                      files                                            frame convention
==========================  ===============================================  =================
read_ucf_crime              Temporal_Anomaly_Annotation.txt + frame counts   1-based inclusive
read_ucf_annotation_file    any UCF-Crime annotation file, row by row        1-based inclusive
read_ucf_crime_matlab       RTFM Matlab_formate/*.mat + frame counts         1-based inclusive
read_shanghaitech           test_frame_mask/*.npy (+ SH_Test.txt)            per-frame arrays
read_shanghaitech_s3r_json  S3R ground-truth JSON (padded to 16 T)           per-frame arrays
read_xd_violence            annotations.txt (+ a list for normal videos)     0-based [s, e)
read_ucsd_ped2              ped2.mat or UCSDped2.m (+ masks, frames)         1-based inclusive
read_interval_csv           video,start,end[,n_frames,class]                 0-based [s, e)
==========================  ===============================================  =================
"""

from vadkit.datasets.annotations.generic import read_interval_csv
from vadkit.datasets.annotations.groundtruth import (
    ANOMALY,
    NORMAL,
    GroundTruth,
    intervals_to_labels,
    labels_to_intervals,
)
from vadkit.datasets.annotations.shanghaitech import (
    read_shanghaitech,
    read_shanghaitech_s3r_json,
    read_split_ids,
)
from vadkit.datasets.annotations.ucf_crime import (
    UCFRow,
    read_ucf_annotation_file,
    read_ucf_crime,
    read_ucf_crime_matlab,
    read_ucf_frame_counts,
)
from vadkit.datasets.annotations.ucsd import UCSDMaskLoader, read_ucsd_ped2
from vadkit.datasets.annotations.xd_violence import (
    read_xd_violence,
    read_xd_violence_multiclass,
    xd_name_classes,
    xd_video_id,
)

__all__ = [
    "ANOMALY",
    "NORMAL",
    "GroundTruth",
    "UCFRow",
    "UCSDMaskLoader",
    "intervals_to_labels",
    "labels_to_intervals",
    "read_interval_csv",
    "read_shanghaitech",
    "read_shanghaitech_s3r_json",
    "read_split_ids",
    "read_ucf_annotation_file",
    "read_ucf_crime",
    "read_ucf_crime_matlab",
    "read_ucf_frame_counts",
    "read_ucsd_ped2",
    "read_xd_violence",
    "read_xd_violence_multiclass",
    "xd_name_classes",
    "xd_video_id",
]
