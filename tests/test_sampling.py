"""Snippet and fixed-segment sampling: counts, padding policies, published rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.sampling import (
    SnippetSpec,
    SultaniSegments,
    allowed_T,
    expected_T,
    pool_segments,
    pool_sultani,
    segment_bounds_linspace,
    segment_indices,
    snippet_indices,
)


def test_rtfm_shanghaitech_count_and_repeat_last():
    spec = SnippetSpec(clip_len=16, stride=16, padding="repeat_last")
    idx = snippet_indices(481, spec)
    assert idx.shape == (31, 16) and idx.dtype == np.int64
    np.testing.assert_array_equal(idx[:30].ravel(), np.arange(480))
    np.testing.assert_array_equal(idx[30], np.full(16, 480))


def test_loop_wraps_to_video_start():
    idx = snippet_indices(481, SnippetSpec(16, 16, padding="loop"))
    assert idx.shape == (31, 16)
    np.testing.assert_array_equal(idx[30], [480] + list(range(15)))
    # a video shorter than one snippet loops over itself
    np.testing.assert_array_equal(
        snippet_indices(5, SnippetSpec(16, 16)), [[0, 1, 2, 3, 4] * 3 + [0]]
    )


def test_drop_keeps_only_full_snippets():
    idx = snippet_indices(481, SnippetSpec(16, 16, padding="drop"))
    assert idx.shape == (30, 16)
    np.testing.assert_array_equal(idx.ravel(), np.arange(480))
    assert snippet_indices(16, SnippetSpec(16, 16, padding="drop")).shape == (1, 16)
    with pytest.raises(VadkitError, match="15 frames"):
        snippet_indices(15, SnippetSpec(16, 16, padding="drop"))


def test_overlap_and_frame_step():
    spec = SnippetSpec(clip_len=4, stride=2, frame_step=3, padding="drop")
    idx = snippet_indices(15, spec)
    # span = 10: starts 0, 2, 4 fit (4 + 9 = 13 < 15), 6 does not (15)
    np.testing.assert_array_equal(idx, [[0, 3, 6, 9], [2, 5, 8, 11], [4, 7, 10, 13]])
    padded = snippet_indices(15, SnippetSpec(4, 2, 3, padding="repeat_last"))
    assert padded.shape == (8, 4)  # starts 0, 2, ..., 14
    np.testing.assert_array_equal(padded[-1], [14, 14, 14, 14])
    np.testing.assert_array_equal(snippet_indices(15, SnippetSpec(4, 2, 3))[-1], [14, 2, 5, 8])


@pytest.mark.parametrize("padding", ["loop", "repeat_last", "drop"])
@pytest.mark.parametrize(
    "clip_len,stride,step", [(16, 16, 1), (16, 8, 1), (8, 16, 2), (1, 1, 1), (5, 3, 4)]
)
def test_expected_T_matches_indices_and_definition(padding, clip_len, stride, step):
    spec = SnippetSpec(clip_len, stride, step, padding)
    for n in range(1, 90):
        T = expected_T(n, spec)
        starts = range(0, n, stride)
        if padding == "drop":
            assert T == sum(s + (clip_len - 1) * step < n for s in starts)
        else:
            assert T == len(starts) == math.ceil(n / stride)
        if T == 0:
            with pytest.raises(VadkitError, match=f"{n} frames"):
                snippet_indices(n, spec)
            continue
        idx = snippet_indices(n, spec)
        assert idx.shape == (T, clip_len)
        assert idx.min() >= 0 and idx.max() < n
        np.testing.assert_array_equal(idx[:, 0], np.arange(T) * stride)
    assert expected_T(0, spec) == 0


def test_spec_and_input_validation():
    for bad in (dict(clip_len=0), dict(stride=-1), dict(frame_step=1.5), dict(padding="wrap")):
        with pytest.raises(VadkitError, match="SnippetSpec"):
            SnippetSpec(**bad)
    with pytest.raises(VadkitError, match="0 frames"):
        snippet_indices(0, SnippetSpec())
    with pytest.raises(VadkitError, match="n_frames"):
        snippet_indices(-3, SnippetSpec())


def test_tacnet_segments_long_video():
    n = 600  # 32 parts: 24 of 19 frames, 8 of 18
    idx = segment_indices(n, 32, 16, rule="tacnet")
    assert idx.shape == (32, 16) and idx.dtype == np.int64
    parts = np.array_split(np.arange(n), 32)
    for part, row in zip(parts, idx, strict=True):
        assert [s[0] for s in np.array_split(part, 16)] == row.tolist()
    np.testing.assert_array_equal(idx[0], [0, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
    assert (np.diff(idx.ravel()) > 0).all()


def test_tacnet_short_segments_repeat_like_reference():
    # 100 frames / 32 -> 4 parts of 4 frames, 28 of 3; 16 = 5*3 + 1: the last frame gets one more
    idx = segment_indices(100, 32, 16, rule="tacnet")
    np.testing.assert_array_equal(idx[0], np.repeat([0, 1, 2, 3], 4))
    np.testing.assert_array_equal(idx[4], np.repeat([16, 17, 18], [5, 5, 6]))
    # segments of 1 frame
    np.testing.assert_array_equal(segment_indices(32, 32, 16, rule="tacnet")[7], np.full(16, 7))
    with pytest.raises(VadkitError, match="31 frames.*n_segments=32"):
        segment_indices(31, 32, 16, rule="tacnet")


def test_sultani_segments_hand_worked():
    # 100 frames -> 6 full 16-frame clips (frames 96..99 dropped). MATLAB
    # round(linspace(1, 6, 5)) = round([1, 2.25, 3.5, 4.75, 6]) = [1, 2, 4, 5, 6] (3.5 -> 4):
    # segments average clips 1, 2..3, 4, 5 (1-based); clip 6 is in none (the script's dead branch)
    seg = segment_indices(100, 4, 16, rule="sultani")
    assert isinstance(seg, SultaniSegments)
    np.testing.assert_array_equal(seg.clips.ravel(), np.arange(96))
    assert seg.bounds.tolist() == [[0, 1], [1, 3], [3, 4], [4, 5]]
    # 21 clips, 32 segments: round(1 + 20 i / 32) = 1, 2, 2, 3, 4 -> an empty range takes b_i
    first = segment_indices(16 * 21 + 7, rule="sultani").bounds[:4]
    assert first.tolist() == [[0, 1], [1, 2], [1, 2], [2, 3]]


def test_pool_segments_hand_worked():
    feats = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    # linspace(0, 5, 3) = [0, 2.5, 5] -> [0, 2, 5]: means of snippets {0, 1} and {2, 3, 4}
    pooled = pool_segments(feats, 2)
    assert pooled.shape == (2, 2, 3) and pooled.dtype == np.float32
    np.testing.assert_array_equal(pooled[:, 0, 0], [0.5, 3.0])
    # fewer snippets than segments: linspace(0, 2, 5) = [0, .5, 1, 1.5, 2] -> [0, 0, 1, 1, 2]
    np.testing.assert_array_equal(pool_segments(feats[:2], 4)[:, 0, 0], [0.0, 0.0, 1.0, 1.0])
    # n=68, m=28: 21 * 68 / 28 = 51 exactly, but float linspace gives 50.99999999999999,
    # truncated to 50 (as the references compute it)
    assert segment_bounds_linspace(68, 28)[21, 0] == 50


def test_pool_sultani_normalises_each_segment():
    clips = np.array([[3.0, 4.0], [0.0, 2.0], [6.0, 8.0]], np.float32)
    # 3 clips, 2 segments: round(linspace(1, 3, 3)) = [1, 2, 3] -> clips 1 and 2 (clip 3 unused)
    np.testing.assert_allclose(pool_sultani(clips, 2), [[0.6, 0.8], [0.0, 1.0]], atol=1e-7)


def test_allowed_T_rules():
    assert allowed_T(481, 16) == {30, 31}  # unknown padding: drop-last or keep-last
    assert allowed_T(480, 16) == {30}
    assert allowed_T(481, 16, padding="drop") == {30}
    assert allowed_T(481, 16, padding="loop") == {31}
    assert allowed_T(10, 16) == {1}  # shorter than a snippet: one padded snippet
    assert allowed_T(347, None, n_segments=32) == {32}
    assert allowed_T(100, None) == set()


def test_segment_errors():
    for rule in ("sultani", "tacnet"):
        with pytest.raises(VadkitError, match="15 frames"):
            segment_indices(15, rule=rule)
    with pytest.raises(VadkitError, match="choose"):
        segment_indices(100, rule="uniform")
    with pytest.raises(VadkitError, match="n_segments"):
        segment_indices(100, 0)
