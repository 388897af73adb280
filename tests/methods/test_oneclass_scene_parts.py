"""Slow synthetic anomalies, motion-gated appearance scores and the fusion choice."""

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.patch_knn import moving_frame_scores
from vadkit.methods.oneclass.scene_select import select_fusion
from vadkit.methods.oneclass.synthetic import (
    off_path_starts,
    paste_moving_objects,
    segments_of,
    walker_textures,
)


def test_segments_of_runs():
    assert segments_of({3: 1.0, 4: 1.0, 5: 1.0, 9: 2.0}) == [(3, 6), (9, 10)]
    assert segments_of([]) == []


def _centroid(diff: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(diff)
    return np.array([ys.mean(), xs.mean()])


def test_pasted_object_moves_at_the_given_speed_only_in_its_segment():
    frames = [np.full((60, 80), 100, np.uint8) for _ in range(10)]
    out, labels = paste_moving_objects(
        frames, [(2, 6)], size=12, speed=3.0, rng=np.random.default_rng(0)
    )
    assert labels.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    assert all(f.shape == (60, 80, 3) for f in out)  # one layout for the whole video
    for t in (0, 1, 6, 9):
        assert (out[t] == 100).all()
    diffs = [np.abs(out[t][..., 0].astype(int) - 100) > 0 for t in range(2, 6)]
    assert all(d.any() for d in diffs)
    assert all((out[t][..., 0] == out[t][..., 1]).all() for t in range(10))  # gray stays gray
    steps = [
        np.linalg.norm(_centroid(b) - _centroid(a))
        for a, b in zip(diffs[:-1], diffs[1:], strict=True)
    ]
    assert np.allclose(steps, 3.0, atol=1.0)  # rounding to whole pixels; no edge in the way
    assert max(d.sum() for d in diffs) <= 12 * 12


def test_pasted_object_takes_the_frame_colour_statistics():
    rng = np.random.default_rng(1)
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[..., 0] = rng.integers(180, 220, (64, 64))  # red scene, no green or blue light
    out, _ = paste_moving_objects([frame] * 3, [(0, 3)], 16, 1.0, np.random.default_rng(2))
    changed = (out[1] != frame).any(axis=-1)
    assert changed.any()
    # green and blue channels: mean 0, std 0 (floored at 8 levels) -> at most a few std
    assert out[1][changed][:, 1:].mean() < 20 and out[1][changed][:, 0].mean() > 120


def test_pasted_object_rejects_bad_sizes():
    with pytest.raises(VadkitError, match="size >= 4"):
        paste_moving_objects(
            [np.zeros((9, 9), np.uint8)], [(0, 1)], 2, 1.0, np.random.default_rng()
        )


def test_walker_is_cut_where_the_frame_moves_and_pasted_where_normal_video_does_not():
    # 60x80 frames, a 3x4 grid of 20x20 cells; a bright 10x10 "walker" in cell (1, 2)
    frames = [np.full((60, 80), 50, np.uint8) for _ in range(8)]
    for f in frames:
        f[25:35, 45:55] = 200
    share = np.zeros((8, 3, 4))
    share[:, 1, 2] = 0.6  # the walker's cell moves
    share[5, :, :] = 0.0  # nothing moves at frame 5
    (tex, alpha), none = walker_textures(frames, [(0, 4), (5, 8)], share, size=10)
    assert none is None  # no walker to cut: the segment is skipped
    # the disc is centred on cell (1, 2)'s centre (30, 50): the walker's pixels exactly
    assert tex.shape == (10, 10, 3) and (tex == 200).all() and alpha[5, 5] == 1.0
    # normal video moves everywhere but row 2: the start cells are in row 2
    occ = np.full((3, 4), 0.5)
    occ[2] = 0.0
    starts = off_path_starts(occ, 20, 10, (60, 80), np.random.default_rng(0), quantile=0.25)
    assert all(y == 45.0 for y, _ in starts)  # cell row 2 centre 50 - size/2
    assert {x for _, x in starts} <= {5.0, 25.0, 45.0, 65.0}
    out, labels = paste_moving_objects(
        frames, [(0, 4), (5, 8)], 10, 1.0, np.random.default_rng(1),
        textures=[(tex, alpha), None], starts=[starts[0], (0.0, 0.0)],
    )  # fmt: skip
    assert labels.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    y0, x0 = int(starts[0][0]), int(starts[0][1])
    assert out[0][y0 + 5, x0 + 5, 0] == 200  # the walker's centre, now off the paths
    assert (out[5] == 50).sum() == (frames[5] == 50).sum() * 3  # skipped segment unchanged
    with pytest.raises(VadkitError, match="1 starts for 2 segments"):
        paste_moving_objects(frames, [(0, 4), (5, 8)], 10, 1.0, np.random.default_rng(1),
                             starts=[(0.0, 0.0)])  # fmt: skip


def test_turned_walker_is_the_walker_on_its_side():
    # a walker whose rows are graded (row r of the cut disc has value 100 + r): turned by 90
    # degrees counter-clockwise, the grading runs along the columns: turned[i, j] is the
    # disc's [j, 9 - i], so column j holds one value, 100 + j
    frames = [np.full((60, 80), 50, np.uint8) for _ in range(4)]
    for f in frames:
        f[25:35, 45:55] = (100 + np.arange(10, dtype=np.uint8))[:, None]
    share = np.zeros((4, 3, 4))
    share[:, 1, 2] = 0.6
    ((upright, _),) = walker_textures(frames, [(0, 4)], share, size=10)
    ((turned, alpha),) = walker_textures(frames, [(0, 4)], share, size=10, turn=True)
    assert (upright[:, :, 0] == (100 + np.arange(10))[:, None]).all()
    assert (turned[:, :, 0] == (100 + np.arange(10))[None, :]).all()
    assert turned.flags.c_contiguous and alpha.shape == (10, 10)
    # nothing moves in the segment's first frame (0): skipped, or with nearest=True cut from
    # the nearest frame that moves (frame 2, not the farther frame 3)
    share[:2] = 0.0
    frames[3] = np.full((60, 80), 7, np.uint8)
    assert walker_textures(frames, [(0, 4)], share, size=10) == [None]
    ((near, _),) = walker_textures(frames, [(0, 4)], share, size=10, nearest=True)
    assert (near[:, :, 0] == (100 + np.arange(10))[:, None]).all()
    share[:] = 0.0
    assert walker_textures(frames, [(0, 4)], share, size=10, nearest=True) == [None]


def test_moving_frame_scores_by_hand():
    # 2 frames, 2x2 patches, one flow cell per quarter (moving share already per patch)
    p = np.array([[[1.0, 5.0], [2.0, 9.0]], [[4.0, 3.0], [8.0, 7.0]]])
    m = np.array([[[0.5, 0.0], [0.5, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    # frame 0: patches 1 and 2 move; top 2 of 4 (top_fraction 1/2) = mean(2, 1) = 1.5
    # frame 1: nothing moves: 0
    got = moving_frame_scores(p, m, gate=0.05, top_fraction=0.5, baseline="none")
    assert np.allclose(got, [1.5, 0.0])
    got = moving_frame_scores(p, m, gate=0.05, top_fraction=0.25, baseline="none")
    assert np.allclose(got, [2.0, 0.0])
    # baseline "median": minus the frame's median patch distance, before the gate
    q = np.array([[[6.0, 1.0], [2.0, 3.0]], [[4.0, 3.0], [8.0, 7.0]]])
    mq = np.array([[[0.5, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    # frame 0: median 2.5; the moving patch 6 -> 3.5, the rest gated to 0: top 2 -> 1.75
    assert np.allclose(moving_frame_scores(q, mq, gate=0.05, top_fraction=0.5), [1.75, 0.0])
    assert np.allclose(moving_frame_scores(q, mq, gate=0.05, top_fraction=0.25), [3.5, 0.0])
    # a change of every patch (light, exposure) shifts no score
    assert np.allclose(moving_frame_scores(q + 10, mq, top_fraction=0.25), [3.5, 0.0])
    with pytest.raises(VadkitError, match="baseline"):
        moving_frame_scores(q, mq, baseline="mean")
    with pytest.raises(VadkitError, match="same N"):
        moving_frame_scores(p, m[:1])


def _sets(seed: int = 0):
    """'fast' seen only by the first part, 'foreign object' only by the second (the kinds
    given are the kinds chosen on)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(100), np.ones(30), np.zeros(70)].astype(np.int8)
    fast_o = rng.normal(size=200) + 3 * y
    fast_a = rng.normal(size=200)
    for_o = rng.normal(size=200)
    for_a = rng.normal(size=200) + 3 * y
    clean = {"h": rng.normal(size=500)}
    return {"fast": {"v": (fast_o, fast_a, y)}, "foreign object": {"v": (for_o, for_a, y)}}, clean


def test_select_fusion_needs_both_parts_when_each_kind_needs_one():
    sets, clean = _sets()
    chosen, table = select_fusion(sets, clean, clean, [0.0, 0.5, 1.0], [0.0])
    assert len(table) == 3 and sum(r["selected"] for r in table) == 1
    by_w = {r["weight"]: r for r in table}
    assert by_w[0.0]["kind_auc"]["foreign object"] < 0.65  # motion alone misses it
    assert by_w[1.0]["kind_auc"]["fast"] < 0.65  # appearance alone misses it
    assert chosen["weight"] == 0.5 and chosen["val_auc"] == by_w[0.5]["val_auc"]
    assert set(chosen["stats"]) == {"object_speed", "appearance"}


def test_select_fusion_drops_a_part_that_sees_nothing():
    sets, clean = _sets()
    o_f, _, y = sets["foreign object"]["v"]
    sets["foreign object"]["v"] = (o_f + 3 * y, np.random.default_rng(5).normal(size=len(y)), y)
    sets["fast"]["v"] = (sets["fast"]["v"][0], np.random.default_rng(6).normal(size=len(y)), y)
    chosen, _ = select_fusion(sets, clean, clean, [0.0, 0.5, 1.0], [0.0, 2.0])
    assert chosen["weight"] == 0.0


def test_select_fusion_without_synthetic_positives_is_an_error():
    sets, clean = _sets()
    o, a, y = sets["fast"]["v"]
    sets["fast"]["v"] = (o, a, np.zeros_like(y))
    with pytest.raises(VadkitError, match="no synthetic 'fast'"):
        select_fusion(sets, clean, clean, [0.5], [0.0])
