"""Event logic of vadkit.deploy on hand-worked score curves (merge, minimum length, FAR)."""

from __future__ import annotations

import numpy as np
import pytest

from vadkit.deploy.events import find_events, threshold_at_far
from vadkit.errors import VadkitError
from vadkit.evaluate.thresholds import youden_threshold

# frames:   0    1    2    3    4    5    6    7    8    9
CURVE = [0.1, 0.9, 0.8, 0.2, 0.7, 0.1, 0.1, 0.1, 0.6, 0.3]


def test_runs_above_threshold_become_events_with_peaks_and_times():
    ev = find_events(CURVE, 0.5, fps=2.0)
    # runs above 0.5: frames 1-2, 4, 8 (worked by hand)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 2), (4, 4), (8, 8)]
    first = ev[0]
    assert (first.start_s, first.end_s) == (0.5, 1.5)  # frame 1 starts at 0.5 s, 2 ends at 1.5 s
    assert (first.peak_frame, first.peak_score, first.peak_s) == (1, 0.9, 0.5)
    assert first.class_name is None


def test_threshold_is_strict():
    assert find_events([0.5, 0.5, 0.6], 0.5, fps=1.0)[0].start_frame == 2


def test_merge_gap_joins_runs_separated_by_short_gaps():
    # gap between 1-2 and 4 is one frame (0.5 s at 2 fps); between 4 and 8 three (1.5 s)
    ev = find_events(CURVE, 0.5, fps=2.0, merge_gap=0.5)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 4), (8, 8)]
    assert ev[0].peak_frame == 1
    ev = find_events(CURVE, 0.5, fps=2.0, merge_gap=1.5)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 8)]


def test_min_length_drops_short_events_after_merging():
    # at 2 fps: 1-2 lasts 1.0 s, 4 and 8 last 0.5 s each
    ev = find_events(CURVE, 0.5, fps=2.0, min_length=1.0)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 2)]
    ev = find_events(CURVE, 0.5, fps=2.0, min_length=2.0, merge_gap=0.5)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 4)]  # 4 frames = 2.0 s


def test_event_class_is_the_most_frequent_over_its_frames():
    classes = ["n", "fight", "fire", "n", "fire", "n", "n", "n", "x", "n"]
    ev = find_events(CURVE, 0.5, fps=1.0, merge_gap=1.0, classes=classes)
    assert ev[0].class_name == "fire"  # frames 1-4: fight, fire, n, fire
    assert ev[1].class_name == "x"


def test_no_events_and_bad_inputs():
    assert find_events([0.1, 0.2], 0.5, fps=10.0) == []
    with pytest.raises(VadkitError, match="fps"):
        find_events([0.1], 0.5, fps=0)
    with pytest.raises(VadkitError, match="NaN"):
        find_events([np.nan], 0.5, fps=1.0)


def test_threshold_at_far_is_the_quantile_of_normal_frames():
    normal = np.arange(100) / 100.0  # 0.00 .. 0.99
    t = threshold_at_far(normal, 0.05)
    assert t == pytest.approx(0.95)  # 0.96 .. 0.99 above it: 4 of 100 = 4% <= 5%
    assert (normal > t).mean() <= 0.05
    # 20% of the 10 curve frames: the "higher" 0.8 quantile is 0.8, so only frame 1 (0.9) is above
    assert t < 0.96
    ev = find_events(CURVE, threshold_at_far(CURVE, 0.2), fps=1.0)
    assert [(e.start_frame, e.end_frame) for e in ev] == [(1, 1)]
    with pytest.raises(VadkitError):
        threshold_at_far(normal, 0.0)


def test_youden_threshold_separates_hand_worked_scores():
    # normals 0.1 0.2 0.4, anomalies 0.3 0.8 0.9: best J = 2/3 at "score >= 0.8" (TPR 2/3, FPR 0)
    # ties with ">= 0.3" (TPR 1, FPR 1/3); the first best cut from below is 0.3 -> midpoint 0.25
    t = youden_threshold([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.4, 0.3, 0.8, 0.9])
    assert t == pytest.approx(0.25)


def test_a_model_without_threshold_json_falls_back_with_a_warning(tmp_path):
    from vadkit.deploy.model import FALLBACK_THRESHOLD, FeatureSpec, Predictor
    from vadkit.io.store import StoreInfo

    spec = FeatureSpec(StoreInfo("efficientnet_lite0", "x", 4, 1, crop_mode="center"))
    old = Predictor("rtfm", "weak", spec, None, tmp_path)
    with pytest.warns(UserWarning, match="no calibrated threshold"):
        assert old.threshold == FALLBACK_THRESHOLD
    new = Predictor("rtfm", "weak", spec, None, tmp_path, {"threshold": 0.7, "default": "far"})
    assert new.threshold == 0.7 and new.threshold_source == "calibrated (far)"
