"""``object_speed``, window peaks, synthetic speed-ups and the label-free selection rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.flow import (
    flow_features,
    speed_up_largest_object,
    window_peaks,
)
from vadkit.methods.oneclass.object_speed import ObjectSpeedConfig, ObjectSpeedScorer
from vadkit.methods.oneclass.scene_select import (
    auc_standard_error,
    select_object_speed,
    synthetic_schedule,
)

RNG = np.random.default_rng(0)


def test_window_peaks_hand_worked():
    # a 4x4 block of speed 2 in a 32x32 zero image, rows 8-11, columns 20-23
    speed = np.zeros((32, 32), np.float32)
    speed[8:12, 20:24] = 2.0
    p = window_peaks(speed, (2, 2), (1, 4, 8))
    assert p.shape == (2, 2, 3)
    # window 1: the raw maximum; window 4: a window exactly on the block; window 8: the block
    # fills 16 of its 64 pixels -> 0.5
    np.testing.assert_allclose(p[0, 1], [2.0, 2.0, 0.5], atol=1e-6)
    assert p[1, 0].max() == 0.0  # far from the block
    assert p[0, 0, 2] <= 0.5  # windows centred in the left cell reach the block only partly


def test_speed_up_largest_object_changes_only_the_largest_region():
    flow = np.zeros((40, 40, 2), np.float32)
    flow[5:10, 5:10, 0] = 1.0  # 25 pixels
    flow[20:30, 20:30, 1] = 1.0  # 100 pixels: the largest
    out, changed = speed_up_largest_object(flow, 2.0)
    assert changed
    np.testing.assert_array_equal(out[5:10, 5:10], flow[5:10, 5:10])
    np.testing.assert_array_equal(out[20:30, 20:30, 1], 2.0)
    still, changed = speed_up_largest_object(np.zeros((8, 8, 2), np.float32), 2.0)
    assert not changed and not still.any()


def test_flow_features_synthetic_labels_only_where_something_moved():
    from helpers_ucsd import blob_frames

    frames, _ = blob_frames(12, seed=1, fast=(0, 12))  # a square moving 5 px/frame
    still = [frames[0]] * 4  # nothing moves in these
    speedup = {3: 2.0, 4: 2.0, 13: 2.0}
    ff = flow_features(list(frames) + still, grid=(2, 2), windows=(1 / 8, 1 / 4), speedup=speedup)
    assert ff.cells.shape == (16, 2, 2, 11) and ff.peaks.shape == (16, 2, 2, 2)
    assert ff.synth_labels.tolist() == [0, 0, 0, 1, 1] + [0] * 11
    unchanged = np.ones(16, bool)
    unchanged[[3, 4]] = False
    np.testing.assert_array_equal(ff.synth_peaks[unchanged], ff.peaks[unchanged])
    assert np.all(ff.synth_peaks[[3, 4]].max(axis=(1, 2)) > ff.peaks[[3, 4]].max(axis=(1, 2)))


def test_object_speed_flags_a_fast_blob_in_generated_frames():
    from helpers_ucsd import blob_frames

    def peaks(frames):
        return flow_features(frames, grid=(4, 4), windows=(1 / 6,)).peaks[..., 0]

    train = np.concatenate([peaks(blob_frames(30, seed=s)[0]) for s in range(3)])
    frames, masks = blob_frames(40, seed=9, fast=(10, 30))
    y = masks.reshape(40, -1).any(axis=1)
    sc = ObjectSpeedScorer().fit(train)
    assert roc_auc_score(y, sc.score(peaks(frames))) >= 0.95
    assert sc.score_maps(peaks(frames), (48, 64)).shape == (40, 48, 64)


def test_object_speed_is_relative_to_the_cell_not_fast_is_abnormal():
    # normal objects: 4 px/frame in cell (0, 0), 1 px/frame in cell (0, 1), every frame
    x = np.zeros((300, 1, 2), np.float32)
    x[:, 0, 0] = RNG.normal(4.0, 0.1, 300)
    x[:, 0, 1] = RNG.normal(1.0, 0.05, 300)
    sc = ObjectSpeedScorer(ObjectSpeedConfig(min_speed=0.5, prior=0.0)).fit(x)
    np.testing.assert_allclose(sc.ref_speed_[0], [4.0, 1.0], atol=0.05)
    near, far = np.zeros((1, 1, 2), np.float32), np.zeros((1, 1, 2), np.float32)
    near[0, 0, 0] = far[0, 0, 1] = 4.0
    assert sc.score(near)[0] == pytest.approx(1.0, rel=0.05)
    assert sc.score(far)[0] == pytest.approx(4.0, rel=0.05)
    # a cell no normal object visited gets the global median (prior > 0 shrinks towards it)
    y = x.copy()
    y[:, 0, 1] = 0.0
    sc2 = ObjectSpeedScorer(ObjectSpeedConfig(prior=10.0)).fit(y)
    assert sc2.ref_speed_[0, 1] == pytest.approx(np.median(x[:, 0, 0]), rel=1e-5)
    with pytest.raises(VadkitError, match="rows, cols"):
        sc.score(np.zeros((2, 1, 2, 1)))


def test_auc_standard_error_matches_the_mann_whitney_null_variance():
    # at AUC 0.5 Hanley-McNeil equals the null variance of Mann-Whitney U / (n1 n0):
    # (n1 + n0 + 1) / (12 n1 n0); n1 = 10, n0 = 30 -> 41 / 3600
    assert auc_standard_error(0.5, 10, 30) == pytest.approx(np.sqrt(41 / 3600), rel=1e-9)
    assert auc_standard_error(0.99, 200, 400) < auc_standard_error(0.9, 200, 400)


def test_synthetic_schedule_segments():
    s = synthetic_schedule(100, 0.4, 20, (1.5, 2.5), np.random.default_rng(3))
    frames = sorted(s)
    assert len(frames) == 40  # round(0.4 * 100 / 20) = 2 segments of 20 frames
    first = [t for t in frames if t < 50]
    second = [t for t in frames if t >= 50]
    assert len(first) == len(second) == 20
    assert first == list(range(first[0], first[0] + 20)) and first[0] >= 1
    assert all(1.5 <= f <= 2.5 for f in s.values())
    assert len({s[t] for t in first}) == 1  # one factor per segment
    assert synthetic_schedule(2, 0.4, 20, (1.5, 2.5), np.random.default_rng(0)) == {}


def test_one_se_rule_prefers_the_larger_window_among_near_ties():
    # normal value 1, synthetic anomaly 3 in both windows; one normal frame spikes to 3.5 in
    # window 0, two in window 1: AUC 1 - 1/150 vs 1 - 2/150 (50 positives, 150 negatives).
    # The gap (0.0067) is below one standard error at 0.9933 (0.00817), so "one_se" takes the
    # larger window 1 and "max" window 0.
    n = 200
    fit = np.ones((n, 1, 1, 2), np.float32)
    held = np.ones((n, 1, 1, 2), np.float32)
    y = np.zeros(n, np.int8)
    y[50:100] = 1
    held[y == 1] = 3.0
    held[10, 0, 0, 0] = held[10, 0, 0, 1] = held[20, 0, 0, 1] = 3.5
    synth = {"v": (held, y)}
    best_max, table = select_object_speed([fit], synth, (0.1, 0.2), (0.5,), (0.0,), rule="max")
    best_se, _ = select_object_speed([fit], synth, (0.1, 0.2), (0.5,), (0.0,))
    assert [r["val_auc"] for r in table] == pytest.approx([1 - 1 / 150, 1 - 2 / 150])
    # by hand: sqrt((0.006622 + 49 * 0.0000442 + 149 * 0.003300) / 7500) = 0.00817
    assert auc_standard_error(1 - 1 / 150, 50, 150) == pytest.approx(0.00817, abs=1e-5)
    assert best_max.window == 0 and best_se.window == 1
    with pytest.raises(VadkitError, match="no synthetic anomaly"):
        select_object_speed([fit], {"v": (held, np.zeros(n, np.int8))}, (0.1,), (0.5,), (0.0,))
