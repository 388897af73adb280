"""Video ids from file names: the one rule every reader, importer and annotation uses.

A video's id is the base name of its file or folder without one known extension: folders
(Windows ``\\`` or POSIX ``/``) are dropped, the extension is matched case-insensitively, and
any other dot stays (``Bad.Boys.1995__#01-11-55_01-12-40_label_A`` is an id, not a file
``Bad.Boys`` with a suffix).
"""

from __future__ import annotations

import os
import re

__all__ = ["ID_EXTENSIONS", "video_id_from_path"]

# Video containers PyAV reads (vadkit.io.video.VIDEO_EXTENSIONS; a test keeps the two in step)
# and the feature files of published releases (.npy arrays, Sultani's C3D .txt files).
ID_EXTENSIONS: frozenset[str] = frozenset(
    ".mp4 .m4v .avi .mkv .webm .mov .mpg .mpeg .m2v .mpv .ts .mts .m2ts .wmv .asf .flv .3gp "
    ".ogv .vob .dv .y4m .mxf .gif .npy .txt".split()
)


def video_id_from_path(path: str | os.PathLike[str]) -> str:
    """The video id of a video file, frame folder, feature file or listed path.

    Parameters
    ----------
    path : a path or a name as a list or annotation file writes it (``G:\\UCF\\x.mp4``,
        ``Arson/Arson011_x264.mp4``, ``ped2/testing/frames/01/``).

    Returns
    -------
    str : the base name without one extension of :data:`ID_EXTENSIONS`.

    >>> video_id_from_path("G:\\\\Test\\\\Arson\\\\Arson011_x264.mp4")
    'Arson011_x264'
    >>> video_id_from_path("ped2/testing/frames/01/"), video_id_from_path("v.MKV")
    ('01', 'v')
    >>> video_id_from_path("Bad.Boys.1995__#01-11-55_01-12-40_label_A")
    'Bad.Boys.1995__#01-11-55_01-12-40_label_A'
    """
    parts = [p for p in re.split(r"[\\/]+", os.fspath(path).strip()) if p]
    base = parts[-1] if parts else ""
    dot = base.rfind(".")
    if dot > 0 and base[dot:].lower() in ID_EXTENSIONS:
        return base[:dot]
    return base
