"""Evaluation: metric functions, snippet -> frame score expansion, the evaluation of scores.

>>> from vadkit.evaluate import evaluate_scores, load_ground_truth, load_scores
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use: the metrics need scikit-learn, which `vadkit --help` should not load
_HOME = {
    "METRICS": "run",
    "BootstrapCI": "metrics",
    "FrameData": "run",
    "abnormal_video_auc": "metrics",
    "ap_trapezoid": "metrics",
    "average_precision": "metrics",
    "bootstrap_ci": "metrics",
    "compute_metrics": "run",
    "evaluate_scores": "run",
    "expand_segments": "expand",
    "expand_snippets": "expand",
    "false_alarm_rate": "metrics",
    "format_table": "run",
    "frame_auc": "metrics",
    "frame_auc_macro": "metrics",
    "frame_auc_micro": "metrics",
    "frame_data": "run",
    "load_ground_truth": "run",
    "load_scores": "run",
    "per_class_auc": "metrics",
    "per_video_auc": "metrics",
    "pixel_auc": "pixel",
    "pixel_level_auc_ucsd": "pixel",
    "roc_auc_from_curve": "metrics",
    "ucsd_pixel_fpr_tpr": "pixel",
    "video_auc": "metrics",
}

__all__ = [
    "METRICS",
    "BootstrapCI",
    "FrameData",
    "abnormal_video_auc",
    "ap_trapezoid",
    "average_precision",
    "bootstrap_ci",
    "compute_metrics",
    "evaluate_scores",
    "expand_segments",
    "expand_snippets",
    "false_alarm_rate",
    "format_table",
    "frame_auc",
    "frame_auc_macro",
    "frame_auc_micro",
    "frame_data",
    "load_ground_truth",
    "load_scores",
    "per_class_auc",
    "per_video_auc",
    "pixel_auc",
    "pixel_level_auc_ucsd",
    "roc_auc_from_curve",
    "ucsd_pixel_fpr_tpr",
    "video_auc",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'vadkit.evaluate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vadkit.evaluate.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
