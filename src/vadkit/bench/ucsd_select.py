"""Test AUCs of every ``object_speed`` candidate, reported after the label-free choice.

The choice itself is :func:`vadkit.methods.oneclass.scene_select.select_object_speed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from vadkit.evaluate.metrics import frame_auc_micro
from vadkit.methods.oneclass.fusion import smooth
from vadkit.methods.oneclass.object_speed import ObjectSpeedConfig, ObjectSpeedScorer

__all__ = ["report_test_aucs"]


def report_test_aucs(
    peaks_fit: Sequence[np.ndarray],
    peaks_test: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    table: list[dict[str, Any]],
    windows: Sequence[float],
    base: ObjectSpeedConfig | None = None,
) -> None:
    """Add ``test_micro_auc``/``test_macro_auc`` to each row of a finished selection table.

    Call only after :func:`select_object_speed` has chosen: these numbers are reported (so
    a reader sees what the selection cost or gained) and never used for a choice.
    """
    from vadkit.evaluate.metrics import frame_auc_macro, per_video_auc

    fit = np.concatenate(list(peaks_fit))
    lab = {v: labels[v] for v in peaks_test}
    fitted: dict[tuple[int, float], dict[str, np.ndarray]] = {}
    for r in table:
        key = (list(windows).index(r["window"]), r["min_speed"])
        if key not in fitted:
            sc = ObjectSpeedScorer(replace(base or ObjectSpeedConfig(), min_speed=key[1])).fit(
                fit[..., key[0]]
            )
            fitted[key] = {v: sc.score(p[..., key[0]]) for v, p in peaks_test.items()}
        s = {v: smooth(x, r["sigma"]) for v, x in fitted[key].items()}
        r["test_micro_auc"] = frame_auc_micro(lab, s)
        r["test_macro_auc"] = frame_auc_macro(lab, s) if per_video_auc(lab, s) else None
