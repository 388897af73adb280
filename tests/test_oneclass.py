"""One-class scorers on generated data: quality floors, bounds, calibration, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.base import load_scorer
from vadkit.methods.oneclass.fusion import fuse, smooth, threshold_at_far
from vadkit.methods.oneclass.knn import KNNConfig, KNNScorer, kcenter_greedy, knn_distances
from vadkit.methods.oneclass.motion import MotionConfig, MotionScorer
from vadkit.methods.oneclass.patch_knn import PatchKNNConfig, PatchKNNScorer
from vadkit.methods.oneclass.registry import ONECLASS_SCORERS, build_scorer, get_scorer_class

RNG = np.random.default_rng(0)


def _clusters(n: int = 400, d: int = 8, shift: float = 3.0):
    normal = RNG.normal(size=(n, d)).astype(np.float32)
    test_n = RNG.normal(size=(200, d)).astype(np.float32)
    test_a = (RNG.normal(size=(200, d)) + shift).astype(np.float32)
    return normal, np.concatenate([test_n, test_a]), np.r_[np.zeros(200), np.ones(200)]


def test_knn_separates_a_shifted_cluster():
    train, test, y = _clusters()
    s = KNNScorer(KNNConfig(k=3, coreset_size=128, l2_normalize=False)).fit(train).score(test)
    assert s.shape == (400,)
    assert roc_auc_score(y, s) >= 0.95


def test_knn_distances_match_brute_force():
    q, bank = RNG.normal(size=(30, 5)), RNG.normal(size=(50, 5))
    want = np.sort(cdist(q, bank), axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(knn_distances(q, bank, k=3, chunk=7), want, rtol=1e-6, atol=1e-6)


def test_coreset_bound_respected_whatever_the_training_size():
    train = RNG.normal(size=(5000, 4)).astype(np.float32)
    sc = KNNScorer(KNNConfig(coreset_size=64, max_candidates=3000)).fit(train)
    assert sc.memory_.shape == (64, 4)
    small = KNNScorer(KNNConfig(coreset_size=64)).fit(train[:10])
    assert small.memory_.shape == (10, 4)


def test_kcenter_is_within_twice_the_optimal_radius():
    # greedy k-center is a 2-approximation (Gonzalez 1985); optimal radius by brute force
    from itertools import combinations

    x = RNG.uniform(size=(12, 2))
    d = cdist(x, x)
    opt = min(d[:, list(c)].min(axis=1).max() for c in combinations(range(12), 3))
    for seed in range(5):
        idx = kcenter_greedy(x, 3, seed)
        assert len(set(idx.tolist())) == 3
        assert d[:, idx].min(axis=1).max() <= 2 * opt + 1e-9
    # on a line 0, 1, 2, 10 the far point is always chosen
    line = np.array([[0.0], [1.0], [2.0], [10.0]])
    assert all(3 in kcenter_greedy(line, 2, s) for s in range(6))


def test_threshold_gives_the_target_false_alarm_rate():
    train, _, _ = _clusters(n=600)
    sc = KNNScorer(KNNConfig(coreset_size=200, l2_normalize=False)).fit(train)
    sc.calibrate(RNG.normal(size=(4000, 8)), false_alarm_rate=0.05)
    fresh = sc.predict(RNG.normal(size=(4000, 8)))
    assert abs(fresh.mean() - 0.05) < 0.015
    with pytest.raises(VadkitError, match="false_alarm_rate"):
        sc.calibrate(train, false_alarm_rate=1.5)


def test_threshold_at_far_hand_worked():
    # 20 normal scores 1..20: at 10% false alarms, the 0.9 quantile ("higher") is 19
    s = np.arange(1, 21)
    assert threshold_at_far(s, 0.10) == 19
    assert np.mean(s > 19) == pytest.approx(0.05)  # strictly above: at most the target


def _maps(n: int, anomalous: bool):
    x = RNG.normal(size=(n, 6, 6, 4)).astype(np.float32)
    where = []
    for i in range(n if anomalous else 0):
        r, c = RNG.integers(1, 5, size=2)
        x[i, r, c] += 5.0
        where.append((r, c))
    return x, where


def test_patch_knn_frame_scores_and_pixel_maps():
    from vadkit.evaluate.pixel import pixel_auc

    train, _ = _maps(60, False)
    normal, _ = _maps(30, False)
    anom, where = _maps(30, True)
    sc = PatchKNNScorer(PatchKNNConfig(coreset_size=500, aggregate=1, map_sigma=0)).fit(train)
    assert sc.memory_.shape[0] <= 500
    s = sc.score(np.concatenate([normal, anom]))
    assert roc_auc_score(np.r_[np.zeros(30), np.ones(30)], s) >= 0.95
    maps = sc.score_maps(anom, (24, 24))  # 4 pixels per patch
    masks = np.zeros(maps.shape, bool)
    for i, (r, c) in enumerate(where):
        masks[i, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] = True
    assert pixel_auc(masks, maps) >= 0.9


def test_motion_flags_a_fast_blob_in_generated_frames():
    from helpers_ucsd import blob_frames

    from vadkit.methods.oneclass.flow import flow_cell_features

    train = np.concatenate(
        [flow_cell_features(blob_frames(30, seed=s)[0], grid=(4, 4)) for s in range(3)]
    )
    frames, masks = blob_frames(40, seed=9, fast=(10, 30))
    test = flow_cell_features(frames, grid=(4, 4))
    y = masks.reshape(40, -1).any(axis=1)
    sc = MotionScorer().fit(train)
    assert roc_auc_score(y, sc.score(test)) >= 0.95


def test_motion_learns_per_cell_normality_not_fast_is_abnormal():
    # in cell (0, 0) normal traffic is fast (speed ~5); standing still there is the anomaly
    from vadkit.methods.oneclass.flow import FLOW_FEATURES

    x = np.abs(RNG.normal(0, 0.1, size=(300, 2, 2, len(FLOW_FEATURES)))).astype(np.float32)
    x[:, 0, 0, :] += 5.0
    sc = MotionScorer(MotionConfig(mode="robust_z", features=("mean_speed",))).fit(x)
    usual, still = x[:5].copy(), x[:5].copy()
    still[:, 0, 0, :] = 0.0
    assert np.all(sc.score(still) > 5 * sc.score(usual).max())


def test_motion_speed_ratio_undoes_perspective():
    # normal walkers: 4 px/frame in the near cell (0, 0), 1 px/frame in the far cell (0, 1);
    # both cells fully moving whenever visited (share 1), visited in every frame
    from vadkit.methods.oneclass.flow import FLOW_FEATURES

    i_speed, i_share = FLOW_FEATURES.index("mean_speed"), FLOW_FEATURES.index("moving_share")
    x = np.zeros((400, 1, 2, len(FLOW_FEATURES)), np.float32)
    x[:, 0, 0, i_speed] = RNG.normal(4.0, 0.2, 400)
    x[:, 0, 1, i_speed] = RNG.normal(1.0, 0.05, 400)
    x[..., i_share] = 1.0
    sc = MotionScorer(MotionConfig(prior=0.0)).fit(x)
    np.testing.assert_allclose(sc.walker_speed_[0], [4.0, 1.0], atol=0.05)
    near, far = np.zeros((1, 1, 2, len(FLOW_FEATURES)), np.float32), None
    far = near.copy()
    near[0, 0, 0, i_speed] = 4.0  # a normal walker near the camera
    far[0, 0, 1, i_speed] = 4.0  # the same pixel speed far away: 4x the normal speed there
    assert sc.score(far)[0] == pytest.approx(4.0, rel=0.05)
    assert sc.score(near)[0] == pytest.approx(1.0, rel=0.05)


def test_flow_features_measure_a_known_translation():
    from vadkit.methods.oneclass.flow import FLOW_FEATURES, flow_cell_features

    y, x = np.mgrid[0:64, 0:96]
    tex = 128 + 60 * np.sin(x / 3.0) * np.cos(y / 4.0) + 30 * np.sin((x + 2 * y) / 5.0)
    frames = [np.clip(np.roll(tex, 2 * t, axis=1), 0, 255).astype(np.uint8) for t in range(3)]
    f = flow_cell_features(frames, grid=(2, 3))
    assert f.shape == (3, 2, 3, len(FLOW_FEATURES))
    inner = f[1:, :, 1]  # the middle column, away from the wrap-around edge
    speed = inner[..., FLOW_FEATURES.index("mean_speed")]
    assert np.all(np.abs(speed - 2.0) < 0.5)
    dirs = inner[..., FLOW_FEATURES.index("dir0") :]
    assert np.all(dirs.argmax(axis=-1) == 0)  # rightward flow: the bin centred on 0 degrees
    assert np.all(dirs[..., 0] > 0.9 * speed)


@pytest.mark.parametrize("name", sorted(ONECLASS_SCORERS))
def test_save_load_gives_identical_scores(name, tmp_path):
    from vadkit.methods.oneclass.flow import FLOW_FEATURES

    shapes = {
        "knn": (50, 6),
        "patch_knn": (20, 5, 5, 3),
        "motion": (50, 3, 4, len(FLOW_FEATURES)),
        "object_speed": (50, 3, 4),
    }
    x = np.abs(RNG.normal(size=shapes[name])).astype(np.float32)
    sc = build_scorer(name).fit(x)
    sc.calibrate(x[:10], 0.1)
    back = load_scorer(sc.save(tmp_path / f"{name}.npz"))
    assert type(back) is type(sc) and back.config == sc.config
    np.testing.assert_array_equal(back.score(x), sc.score(x))
    assert back.threshold_ == sc.threshold_


def test_registry_errors_and_unfitted_use():
    with pytest.raises(VadkitError, match="valid names: knn, motion, object_speed, patch_knn"):
        get_scorer_class("nope")
    with pytest.raises(VadkitError, match="not fitted"):
        KNNScorer().score(np.zeros((2, 3)))


def test_fuse_and_smooth_hand_worked():
    out = fuse({"a": np.array([1.0, 3.0]), "b": np.array([2.0, 2.0])}, {"a": (1, 2), "b": (0, 1)})
    np.testing.assert_allclose(out, [2.0, 3.0])  # (0 + 2, 1 + 2)
    np.testing.assert_array_equal(smooth(np.array([1.0, 2.0]), 0), [1.0, 2.0])
    np.testing.assert_allclose(smooth(np.full(9, 4.0), 2.0), 4.0)
    impulse = np.zeros(41)
    impulse[20] = 1.0
    s = smooth(impulse, 3.0)
    assert s.sum() == pytest.approx(1.0) and s.argmax() == 20
    assert s[20] == pytest.approx(1 / (np.sqrt(2 * np.pi) * 3.0), rel=1e-3)
