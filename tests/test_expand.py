"""Snippet/segment -> frame expansion, and Sultani's 32-segment rule against the released features."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.evaluate.expand import expand_segments, expand_snippets, segment_bounds_sultani


def _matlab_round(x):
    return np.floor(np.asarray(x) + 0.5).astype(int)  # half away from zero for x >= 0


def _matlab_segments(n_clips, n_segments=32):
    """The loop of Save_C3DFeatures_32Segments.m, 1-based inclusive (ss, ee) per segment."""
    b = _matlab_round(np.linspace(1, n_clips, n_segments + 1))
    out = []
    for ishot in range(1, len(b)):  # ishots = 1 .. length - 1
        ss, ee = b[ishot - 1], b[ishot] - 1
        if ishot == len(b):  # never true inside the loop, exactly as in the script
            ee = b[ishot]
        out.append((ss, ss) if ee < ss else (ss, ee))
    return out


def _matlab_eval_frames(predictions, n_frames, n_clips):
    """Evaluate_Anomaly_Detector.m: 32-shot scores over C3D frames, then pad to the video."""
    det = np.zeros(n_clips * 16)
    b = _matlab_round(np.linspace(1, n_clips, 33))
    for p_c, ishot in enumerate(range(1, 33)):
        ss, ee = b[ishot - 1], b[ishot] - 1
        if ee < ss:
            det[(ss - 1) * 16 : (ss - 1) * 16 + 16] = predictions[p_c]
        else:
            det[(ss - 1) * 16 : (ee - 1) * 16 + 16] = predictions[p_c]
    return np.concatenate([det, np.repeat(det[-1], n_frames - len(det))])


def _adjacent_duplicates(bounds):
    return [i for i in range(len(bounds) - 1) if tuple(bounds[i]) == tuple(bounds[i + 1])]


# ---------------------------------------------------------------- snippets
def test_x16_is_repeat():
    s = np.array([0.1, 0.5, 0.2], np.float32)
    out = expand_snippets(s)
    assert out.dtype == np.float64 and len(out) == 48
    np.testing.assert_array_equal(out, np.repeat(s.astype(np.float64), 16))
    np.testing.assert_array_equal(expand_snippets(s, snippet_length=8, stride=8), np.repeat(s, 8))
    assert len(expand_snippets(s, n_frames=40)) == 48  # x16 ignores the real length
    with pytest.raises(VadkitError, match="needs stride == snippet_length; got stride 8"):
        expand_snippets(s, stride=8)


@pytest.mark.parametrize("n_frames", [1, 30, 47, 48, 49, 100])
def test_exact_non_overlapping(n_frames):
    s = np.arange(3, dtype=float)
    out = expand_snippets(s, n_frames=n_frames, convention="exact")
    expected = s[np.minimum(np.arange(n_frames) // 16, 2)]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(("length", "stride"), [(16, 4), (16, 8), (5, 3), (4, 1), (3, 5)])
def test_exact_overlapping_and_gaps_match_brute_force(length, stride):
    rng = np.random.default_rng(length * 10 + stride)
    s = rng.random(7)
    n = 7 * stride + length + 11  # some frames past the last snippet
    out = expand_snippets(s, snippet_length=length, stride=stride, n_frames=n, convention="exact")
    for k in range(n):
        cover = [t for t in range(7) if t * stride <= k < t * stride + length]
        if cover:
            want = np.mean(s[cover])
        else:  # gap or past the end: the preceding snippet
            want = s[min(k // stride, 6)]
        assert out[k] == pytest.approx(want, abs=1e-12), k
    assert out[-1] == s[-1]


def test_snippet_errors():
    with pytest.raises(VadkitError, match=r"scores must be 1-D, got shape \(2, 3\)"):
        expand_snippets(np.zeros((2, 3)))
    with pytest.raises(VadkitError, match="non-finite values \\(first at index 1\\)"):
        expand_snippets(np.array([0.0, np.nan]))
    with pytest.raises(VadkitError, match="needs n_frames"):
        expand_snippets(np.zeros(3), convention="exact")
    with pytest.raises(VadkitError, match="convention must be"):
        expand_snippets(np.zeros(3), convention="x32")
    with pytest.raises(VadkitError, match="snippet_length must be a positive integer"):
        expand_snippets(np.zeros(3), snippet_length=0)
    with pytest.raises(TypeError, match="snippet_len"):  # pre-release names are gone
        expand_snippets(np.ones(2), snippet_len=2)
    with pytest.raises(TypeError, match="clip_len"):
        expand_segments(np.ones(32), n_frames=80, clip_len=8)
    with pytest.raises(VadkitError, match="scores is empty"):
        expand_snippets(np.zeros(0))


# ---------------------------------------------------------------- Sultani bounds
def test_bounds_match_the_matlab_loop():
    for n in range(1, 400):
        bounds = segment_bounds_sultani(n)
        assert bounds.shape == (32, 2) and bounds.dtype == np.int64
        want = [(ss - 1, ee) for ss, ee in _matlab_segments(n)]  # 1-based inclusive -> [start, end)
        assert [tuple(b) for b in bounds.tolist()] == want, n
        assert (bounds[:, 1] > bounds[:, 0]).all() and bounds[0, 0] == 0
        # the last clip belongs to no segment unless the last segment collapses onto it
        assert (bounds[-1, 1] == n) == (n <= 17)
    assert segment_bounds_sultani(5, n_segments=4).tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]


def test_bounds_use_matlab_not_bankers_rounding():
    # n_clips = 17: linspace(1, 17, 33) = 1, 1.5, 2, 2.5, ...; MATLAB rounds 2.5 up to 3
    assert np.round(2.5) == 2
    starts = segment_bounds_sultani(17)[:, 0] + 1
    assert starts[:5].tolist() == [1, 2, 2, 3, 3]
    banker = np.round(np.linspace(1, 17, 33)).astype(int)[:5]
    assert banker.tolist() == [1, 2, 2, 2, 3]


def test_short_videos_duplicate_counts():
    assert len(_adjacent_duplicates(segment_bounds_sultani(21))) == 12  # RoadAccidents002
    assert len(_adjacent_duplicates(segment_bounds_sultani(28))) == 5  # Normal_Videos_006
    assert len(_adjacent_duplicates(segment_bounds_sultani(33))) == 0


def _load_c3d(path):
    return np.array(path.read_text().split(), dtype=np.float32).reshape(-1, 4096)


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "n_frames", "n_dup"),
    [("RoadAccidents002_x264", 347, 12), ("Normal_Videos_006_x264", 450, 5)],
)
def test_released_features_show_the_predicted_duplicates(shared_data, name, n_frames, n_dup):
    feats = _load_c3d(shared_data / "ucf_crime" / "c3d_32seg_samples" / f"{name}.txt")
    assert feats.shape == (32, 4096)
    observed = [i for i in range(31) if np.array_equal(feats[i], feats[i + 1])]
    predicted = _adjacent_duplicates(segment_bounds_sultani(n_frames // 16))
    assert len(observed) == len(predicted) == n_dup
    assert observed == predicted


@pytest.mark.real_data
def test_all_samples_agree_with_the_rule(shared_data):
    folder = shared_data / "ucf_crime" / "c3d_32seg_samples"
    with open(folder / "videos.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    for row in rows:
        feats = _load_c3d(folder / row["feature_file"])
        observed = {i for i in range(31) if np.array_equal(feats[i], feats[i + 1])}
        predicted = set(
            _adjacent_duplicates(segment_bounds_sultani(int(row["n_frames_Test_Annotation"]) // 16))
        )
        # Explosion025 also repeats its last two segments (clips 29 and 30 have equal features)
        extra = {30} if row["feature_file"].startswith("Explosion025") else set()
        assert observed == predicted | extra, row["feature_file"]


# ---------------------------------------------------------------- segments -> frames
def test_expand_segments_small_case():
    s = np.array([1.0, 2.0, 3.0, 4.0])
    out = expand_segments(s, n_frames=50, n_clips=3)  # bounds [[0,1],[1,2],[1,2],[2,3]]
    assert out.tolist() == [1.0] * 16 + [3.0] * 16 + [4.0] * 18
    assert out.dtype == np.float64 and len(out) == 50


@pytest.mark.parametrize("n_frames", [16, 100, 275, 347, 450, 505, 1748, 5000])
def test_expand_segments_sultani_matches_matlab_eval(n_frames):
    rng = np.random.default_rng(n_frames)
    pred = rng.random(32)
    n_clips = n_frames // 16
    matlab = _matlab_eval_frames(pred, n_frames, n_clips)
    np.testing.assert_array_equal(expand_segments(pred, n_frames, tail="matlab"), matlab)
    out = expand_segments(pred, n_frames)
    assert len(out) == n_frames
    covered = matlab.copy()
    unassigned = np.arange(n_frames) >= segment_bounds_sultani(n_clips)[:, 1].max() * 16
    covered[unassigned] = pred[-1]  # tail="last": uncovered frames take the last segment's score
    np.testing.assert_array_equal(out, covered)


# written out by hand from TACnet's rule "np.array_split of the frame indices into S parts,
# the first n % S parts one frame longer" (not computed with array_split)
ARRAY_SPLIT_CASES = {
    (7, 3): [0, 0, 0, 1, 1, 2, 2],
    (10, 4): [0, 0, 0, 1, 1, 1, 2, 2, 3, 3],
    (5, 2): [0, 0, 0, 1, 1],
    (6, 6): [0, 1, 2, 3, 4, 5],
    (4, 6): [0, 1, 2, 3],  # fewer frames than segments: the last two segments score nothing
}


@pytest.mark.parametrize(("n_frames", "n_seg"), sorted(ARRAY_SPLIT_CASES))
def test_expand_segments_array_split(n_frames, n_seg):
    s = np.arange(n_seg, dtype=float)
    out = expand_segments(s, n_frames, rule="array_split")
    assert out.tolist() == [float(v) for v in ARRAY_SPLIT_CASES[(n_frames, n_seg)]]


def test_expand_segments_array_split_100_frames():
    # 100 = 32 * 3 + 4: segments 0-3 have 4 frames (0..15), segments 4-31 have 3 (16..99)
    out = expand_segments(np.arange(32, dtype=float), 100, rule="array_split")
    assert out[:16].tolist() == [0.0] * 4 + [1.0] * 4 + [2.0] * 4 + [3.0] * 4
    assert out[16:19].tolist() == [4.0] * 3 and out[97:].tolist() == [31.0] * 3
    assert out[94:97].tolist() == [30.0] * 3


def test_expand_segments_errors():
    with pytest.raises(VadkitError, match="no full 16-frame clip"):
        expand_segments(np.zeros(32), n_frames=10)
    with pytest.raises(VadkitError, match="rule must be"):
        expand_segments(np.zeros(32), n_frames=100, rule="tacnet")
    with pytest.raises(VadkitError, match="tail must be"):
        expand_segments(np.zeros(32), n_frames=100, tail="zero")
    with pytest.raises(VadkitError, match="n_frames must be a positive integer"):
        expand_segments(np.zeros(32), n_frames=0)
    with pytest.raises(VadkitError, match="n_clips must be a positive integer, got 2.5"):
        segment_bounds_sultani(2.5)
