"""Figures of runs, benchmarks and holdout outputs (matplotlib ``Figure`` on Agg, no pyplot).

Every function returns the ``Figure`` (tests read its axes and series); write it with
:func:`save_figure`. ``vadkit plot KIND RUN_DIR`` is the command line of this package.
"""

from vadkit.viz.curve import intervals, peak_frames, read_thumbnails, score_curve
from vadkit.viz.figure import FORMATS, new_figure, save_figure
from vadkit.viz.roc import PublishedCurve, pr_curves, read_published_roc, roc_curves
from vadkit.viz.runs import VideoFrames, load_run_frames, run_kind

__all__ = [
    "FORMATS",
    "PublishedCurve",
    "VideoFrames",
    "intervals",
    "load_run_frames",
    "new_figure",
    "peak_frames",
    "pr_curves",
    "read_published_roc",
    "read_thumbnails",
    "roc_curves",
    "run_kind",
    "save_figure",
    "score_curve",
]
