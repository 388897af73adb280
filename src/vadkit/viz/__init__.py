"""Figures of runs, benchmarks and holdout outputs (matplotlib ``Figure`` on Agg, no pyplot).

Every function returns the ``Figure`` (tests read its axes and series); write it with
:func:`save_figure`. ``vadkit plot KIND RUN_DIR`` is the command line of this package.
"""

from vadkit.viz.curve import intervals, peak_frames, read_thumbnails, score_curve
from vadkit.viz.figure import FORMATS, new_figure, save_figure
from vadkit.viz.model_views import (
    run_attention,
    run_clusters,
    run_model,
    snippet_labels,
    test_features,
    tsne_figure,
)
from vadkit.viz.roc import PublishedCurve, pr_curves, read_published_roc, roc_curves
from vadkit.viz.runs import VideoFrames, load_run_frames, run_kind
from vadkit.viz.tables import (
    error_boxplot,
    learning_curves,
    read_clips,
    read_log,
    read_seed_results,
    seed_comparison,
)

__all__ = [
    "FORMATS",
    "PublishedCurve",
    "VideoFrames",
    "error_boxplot",
    "intervals",
    "learning_curves",
    "load_run_frames",
    "new_figure",
    "peak_frames",
    "pr_curves",
    "read_clips",
    "read_log",
    "read_published_roc",
    "read_seed_results",
    "read_thumbnails",
    "roc_curves",
    "run_attention",
    "run_clusters",
    "run_kind",
    "run_model",
    "save_figure",
    "score_curve",
    "seed_comparison",
    "snippet_labels",
    "test_features",
    "tsne_figure",
]
