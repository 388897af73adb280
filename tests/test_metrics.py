"""Metrics equal hand-computed values and reference definitions, and reject bad input clearly.

Expected values come from outside the code under test: small cases worked by hand, the
pairwise (Mann-Whitney) definition of the ROC AUC, the step-wise definition of AP, and for
the trapezoid AP the XD-Violence reference code itself (``auc(recall, precision)`` of
scikit-learn), the one check against scikit-learn kept. The published Sultani ROC curves are
in test_paper_roc.py.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.metrics import auc, precision_recall_curve

from vadkit.errors import VadkitError
from vadkit.evaluate import metrics as M
from vadkit.evaluate import pixel as P


def _videos(seed: int = 0, n: int = 12, with_normal: bool = True):
    """Random per-video labels/scores with many tied scores (scores rounded to 1 decimal)."""
    rng = np.random.default_rng(seed)
    labels, scores = {}, {}
    for i in range(n):
        length = int(rng.integers(20, 60))
        y = np.zeros(length, np.int64)
        if not with_normal or i % 3:
            a = int(rng.integers(0, length - 5))
            y[a : a + int(rng.integers(1, 10))] = 1
        labels[f"v{i:02d}"] = y
        scores[f"v{i:02d}"] = np.round(rng.random(length) * 0.6 + 0.4 * y, 1).astype(np.float32)
    return labels, scores


def _auc_pairs(y, s) -> float:
    """ROC AUC by its definition: P(score of a positive > score of a negative), ties 1/2."""
    y, s = np.asarray(y), np.asarray(s, np.float64)
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean(pos > neg) + 0.5 * np.mean(pos == neg))


def _ap_steps(y, s) -> float:
    """AP by its definition: sum over thresholds t (high to low) of (R(t) - R(prev)) * P(t)."""
    y, s = np.asarray(y), np.asarray(s, np.float64)
    ap, r_prev = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        hit = s >= t
        precision, recall = y[hit].sum() / hit.sum(), y[hit].sum() / y.sum()
        ap += (recall - r_prev) * precision
        r_prev = recall
    return float(ap)


def _flat(labels, scores, ids=None):
    ids = sorted(labels) if ids is None else ids
    return np.concatenate([labels[v] for v in ids]), np.concatenate([scores[v] for v in ids])


# ---------------------------------------------------------------- hand-worked values
def test_small_cases_by_hand():
    # pairs (pos, neg): (.35,.1) (.35,.4) (.8,.1) (.8,.4) -> 3 of 4 ordered right
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert M.frame_auc(y, s) == 0.75
    # thresholds .8: P 1, R 1/2; .4: P 1/2, R 1/2; .35: P 2/3, R 1 -> 1/2 * 1 + 1/2 * 2/3
    assert M.average_precision(y, s) == pytest.approx(5 / 6, abs=1e-12)
    # PR points (R, P): (0, 1) (.5, 1) (.5, .5) (1, 2/3): 0.5 * 1 + 0.5 * (0.5 + 2/3) / 2
    assert M.ap_trapezoid(y, s) == pytest.approx(0.5 + 0.5 * (0.5 + 2 / 3) / 2, abs=1e-12)
    # a tie between a positive and a negative counts 1/2: (1/2 + 1 + 1 + 1) / 4
    y, s = np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.2, 0.9])
    assert M.frame_auc(y, s) == pytest.approx(0.875, abs=1e-12)
    assert M.average_precision(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)
    # per video: v1 perfect (1.0), v2's .2 beats one of .5 .1 (0.5) -> macro 0.75; micro:
    # pos .9 .2, neg .1 .3 .5 .1 -> .9 beats 4, .2 beats 2 of 4 -> 6 / 8
    labels = {"v1": np.array([0, 1, 0]), "v2": np.array([1, 0, 0])}
    scores = {"v1": np.array([0.1, 0.9, 0.3]), "v2": np.array([0.2, 0.5, 0.1])}
    assert M.frame_auc_macro(labels, scores) == 0.75
    assert M.frame_auc_micro(labels, scores) == pytest.approx(6 / 8, abs=1e-12)


def test_flat_metrics_equal_their_definitions_with_ties():
    y, s = _flat(*_videos())
    assert len(np.unique(s)) < len(s) // 5  # plenty of ties
    got = M.frame_auc(y, s)
    assert isinstance(got, float)
    assert got == pytest.approx(_auc_pairs(y, s), abs=1e-12)
    assert M.average_precision(y, s) == pytest.approx(_ap_steps(y, s), abs=1e-12)
    # the trapezoid AP is defined by the XD-Violence code: auc(recall, precision) of sklearn
    p, r, _ = precision_recall_curve(y, s)
    assert M.ap_trapezoid(y, s) == pytest.approx(auc(r, p), abs=1e-12)
    assert M.ap_trapezoid(y, s) != pytest.approx(M.average_precision(y, s), abs=1e-6)
    assert M.frame_auc(y.astype(bool), s) == pytest.approx(_auc_pairs(y, s), abs=1e-12)


def test_per_video_metrics_equal_their_definitions():
    labels, scores = _videos(1)
    y, s = _flat(labels, scores)
    assert M.frame_auc_micro(labels, scores) == pytest.approx(_auc_pairs(y, s), abs=1e-12)
    both = [v for v in labels if 0 < labels[v].sum() < len(labels[v])]
    per = M.per_video_auc(labels, scores)
    assert sorted(per) == sorted(both) and len(labels) - len(per) == 4  # 4 normal videos skipped
    for v in both:
        assert per[v] == pytest.approx(_auc_pairs(labels[v], scores[v]), abs=1e-12)
    expected_macro = np.mean([_auc_pairs(labels[v], scores[v]) for v in both])
    assert M.frame_auc_macro(labels, scores) == pytest.approx(expected_macro, abs=1e-9)
    ya, sa = _flat(labels, scores, [v for v in sorted(labels) if labels[v].any()])
    assert M.abnormal_video_auc(labels, scores) == pytest.approx(_auc_pairs(ya, sa), abs=1e-12)
    yc, sc = M.concat_videos(labels, scores)
    np.testing.assert_array_equal(yc, y)


def test_micro_auc_does_not_depend_on_video_order():
    labels, scores = _videos(2)
    ids = list(labels)
    base = M.frame_auc_micro(labels, scores)
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = list(rng.permutation(ids))
        assert M.frame_auc_micro(labels, scores, order=order) == pytest.approx(base, abs=1e-12)
    reordered = {v: labels[v] for v in reversed(ids)}
    assert M.frame_auc_micro(reordered, scores) == pytest.approx(base, abs=1e-12)
    with pytest.raises(VadkitError, match="order must list every video id exactly once"):
        M.frame_auc_micro(labels, scores, order=ids[:-1])
    with pytest.raises(VadkitError, match="exactly once"):
        M.frame_auc_micro(labels, scores, order=ids + ids[:1])


def test_false_alarm_rate_counts_normal_video_frames_with_ge():
    labels = {"n1": np.zeros(4), "n2": np.zeros(2), "a": np.array([0, 1, 0])}
    scores = {"n1": np.array([0.1, 0.5, 0.7, 0.2]), "n2": np.array([0.5, 0.0]), "a": np.ones(3)}
    assert M.false_alarm_rate(labels, scores) == pytest.approx(3 / 6)  # 0.5 counts (>=)
    assert M.false_alarm_rate(labels, scores, threshold=0.6) == pytest.approx(1 / 6)
    with pytest.raises(VadkitError, match="no frames of normal videos"):
        M.false_alarm_rate({"a": labels["a"]}, {"a": scores["a"]})


def test_video_auc_small_case():
    labels = {"v1": 1, "v2": 0, "v3": np.array([0, 1]), "v4": False}
    scores = {
        "v1": np.array([0.1, 0.9]),
        "v2": np.array([0.6, 0.6]),
        "v3": np.array([0.55]),  # snippet scores: length need not match the frame labels
        "v4": np.array([0.2, 0.3]),
    }
    assert M.video_auc(labels, scores) == pytest.approx(0.75)
    assert M.video_auc(labels, scores, reduce="mean") == pytest.approx(0.5)
    with pytest.raises(VadkitError, match="reduce must be"):
        M.video_auc(labels, scores, reduce="median")
    with pytest.raises(VadkitError, match=r"video_labels\['v1'\] must be binary"):
        M.video_auc({**labels, "v1": 2}, scores)
    assert M.video_auc({"a": 1, "b": 0}, {"a": 0.7, "b": np.array([0.2])}) == 1.0
    with pytest.raises(VadkitError, match=r"video_scores\['v2'\] is empty"):
        M.video_auc(labels, {**scores, "v2": np.zeros(0)})
    with pytest.raises(VadkitError, match=r"video_scores\['v2'\] must be 1-D"):
        M.video_auc(labels, {**scores, "v2": np.zeros((2, 2))})
    with pytest.raises(VadkitError, match="only anomalous"):
        M.video_auc({"v1": 1, "v3": 1}, {"v1": scores["v1"], "v3": scores["v3"]})


def test_video_auc_equals_its_definition_on_random_data():
    labels, scores = _videos(3, n=20)
    vy = [int(labels[v].any()) for v in sorted(labels)]
    vs = [scores[v].max() for v in sorted(labels)]
    assert M.video_auc(labels, scores) == pytest.approx(_auc_pairs(vy, vs), abs=1e-12)


def test_per_class_auc_small_case_and_random():
    labels = {"a1": np.array([0, 1, 1]), "b1": np.array([0, 1]), "n1": np.array([0, 0])}
    scores = {
        "a1": np.array([0.1, 0.9, 0.8]),
        "b1": np.array([0.7, 0.2]),
        "n1": np.array([0.3, 0.5]),
    }
    classes = {"a1": "Arson", "b1": "Burglary", "n1": "Normal"}
    assert M.per_class_auc(labels, scores, classes) == {"Arson": 1.0, "Burglary": 0.0}
    with pytest.raises(VadkitError, match="no video has class 'normal'"):
        M.per_class_auc(labels, scores, classes, normal_class="normal")
    with pytest.raises(VadkitError, match=r"classes has no entry for 1 videos, e.g. \['n1'\]"):
        M.per_class_auc(labels, scores, {"a1": "Arson", "b1": "Burglary"})

    labels, scores = _videos(4, n=15)
    classes = {v: ("Normal" if not labels[v].any() else f"C{int(v[1:]) % 2}") for v in labels}
    got = M.per_class_auc(labels, scores, classes)
    for cls in ("C0", "C1"):
        ids = [v for v in sorted(labels) if classes[v] in (cls, "Normal")]
        y, s = _flat(labels, scores, ids)
        assert got[cls] == pytest.approx(_auc_pairs(y, s), abs=1e-12)


# ---------------------------------------------------------------- input errors
def test_flat_input_errors():
    y, s = np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(VadkitError, match=r"frame_auc: labels must be 1-D, got shape \(2, 2\)"):
        M.frame_auc(y.reshape(2, 2), s)
    with pytest.raises(VadkitError, match=r"scores must be 1-D"):
        M.frame_auc(y, s.reshape(2, 2))
    with pytest.raises(VadkitError, match="labels has 4 frames but scores has 3"):
        M.frame_auc(y, s[:3])
    with pytest.raises(VadkitError, match=r"scores has 1 non-finite values \(first at index 2\)"):
        M.frame_auc(y, np.array([0.1, 0.2, np.nan, 0.4]))
    with pytest.raises(VadkitError, match="labels has 1 non-finite"):
        M.frame_auc(np.array([0, 1, np.inf, 0]), s)
    with pytest.raises(
        VadkitError, match=r"labels must be binary \(0/1\), got values such as \[2\]"
    ):
        M.frame_auc(np.array([0, 1, 2, 1]), s)
    with pytest.raises(VadkitError, match=r"only normal \(0\)"):
        M.frame_auc(np.zeros(4), s)
    with pytest.raises(VadkitError, match=r"only anomalous \(1\)"):
        M.average_precision(np.ones(4), s)
    with pytest.raises(VadkitError, match="only normal"):
        M.ap_trapezoid(np.zeros(4), s)
    with pytest.raises(VadkitError, match="empty"):
        M.frame_auc(np.zeros(0), np.zeros(0))


def test_check_order_is_fixed():
    # 2-D is reported before the length mismatch, length before NaN, NaN before non-binary
    with pytest.raises(VadkitError, match="1-D"):
        M.frame_auc(np.zeros((2, 2)), np.array([np.nan]))
    with pytest.raises(VadkitError, match="frames but"):
        M.frame_auc(np.array([0, 5]), np.array([np.nan]))
    with pytest.raises(VadkitError, match="non-finite"):
        M.frame_auc(np.array([0, 5]), np.array([np.nan, 1.0]))


def test_per_video_input_errors_name_the_video():
    labels, scores = _videos(5, n=4)
    bad = dict(scores, v02=scores["v02"][:-1])
    n = len(labels["v02"])
    with pytest.raises(
        VadkitError,
        match=rf"frame_auc_micro: labels_by_video\['v02'\] has {n} frames but "
        rf"scores_by_video\['v02'\] has {n - 1}",
    ):
        M.frame_auc_micro(labels, bad)
    nan = dict(scores, v01=np.where(np.arange(len(scores["v01"])) == 3, np.nan, scores["v01"]))
    with pytest.raises(VadkitError, match=r"scores_by_video\['v01'\] has 1 non-finite"):
        M.frame_auc_macro(labels, nan)
    two_d = dict(labels, v03=labels["v03"][None])
    with pytest.raises(VadkitError, match=r"labels_by_video\['v03'\] must be 1-D"):
        M.abnormal_video_auc(two_d, scores)
    nonbin = dict(labels, v00=labels["v00"] + 2)
    with pytest.raises(VadkitError, match=r"labels_by_video\['v00'\] must be binary"):
        M.per_video_auc(nonbin, scores)
    with pytest.raises(VadkitError, match=r"only in labels \['v00'\], only in scores \[\]"):
        M.frame_auc_micro(labels, {k: v for k, v in scores.items() if k != "v00"})
    normal = {v: np.zeros_like(y) for v, y in labels.items()}
    with pytest.raises(VadkitError, match="concatenated labels has only normal"):
        M.frame_auc_micro(normal, scores)
    with pytest.raises(VadkitError, match="none of the 4 videos contains both"):
        M.frame_auc_macro(normal, scores)
    with pytest.raises(VadkitError, match="none of the 4 videos has an anomalous frame"):
        M.abnormal_video_auc(normal, scores)


# ---------------------------------------------------------------- pixel level
def test_pixel_auc_equals_its_definition():
    rng = np.random.default_rng(6)
    masks = rng.random((5, 8, 9)) < 0.2
    maps = np.round(rng.random((5, 8, 9)) + 0.3 * masks, 1)
    assert P.pixel_auc(masks, maps) == pytest.approx(
        _auc_pairs(masks.ravel(), maps.ravel()), abs=1e-12
    )
    with pytest.raises(VadkitError, match=r"masks must be 3-D \(N, H, W\)"):
        P.pixel_auc(masks[0], maps[0])
    with pytest.raises(VadkitError, match="masks has shape"):
        P.pixel_auc(masks, maps[:, :4])


def test_ucsd_pixel_criterion_matches_threshold_sweep():
    rng = np.random.default_rng(7)
    n, h, w = 30, 6, 7
    masks = np.zeros((n, h, w), bool)
    for i in range(0, n, 2):  # every other frame anomalous, a random box
        r, c = rng.integers(0, 3, 2)
        masks[i, r : r + 3, c : c + int(rng.integers(1, 5))] = True
    maps = np.round(rng.random((n, h, w)) * 0.7 + 0.35 * masks, 2)

    def sweep(t):
        flagged = maps >= t
        anomalous = masks.any(axis=(1, 2))
        frac = (flagged & masks).sum(axis=(1, 2)) / np.maximum(masks.sum(axis=(1, 2)), 1)
        tpr = np.mean(frac[anomalous] >= 0.4)
        fpr = np.mean(flagged[~anomalous].any(axis=(1, 2)))
        return fpr, tpr

    thresholds = np.concatenate([[np.inf], np.unique(maps)[::-1]])
    pts = np.array([sweep(t) for t in thresholds])
    expected = np.trapezoid(pts[:, 1], pts[:, 0])
    assert P.pixel_level_auc_ucsd(masks, maps) == pytest.approx(expected, abs=1e-9)
    fpr, tpr, thr = P.ucsd_pixel_fpr_tpr(masks, maps)  # the name says the order
    for f, t, th in zip(fpr[1:], tpr[1:], thr[1:], strict=True):
        assert (f, t) == pytest.approx(sweep(th))
    # a tiny overlap: an anomalous frame counts once any of its anomalous pixels is flagged
    anomalous = masks.any(axis=(1, 2))
    best = np.where(anomalous, np.where(masks, maps, -1).max(axis=(1, 2)), maps.max(axis=(1, 2)))
    by_max = _auc_pairs(anomalous.astype(int), best)
    assert P.pixel_level_auc_ucsd(masks, maps, overlap=1e-9) == pytest.approx(by_max)
    with pytest.raises(VadkitError, match="overlap must be in"):
        P.pixel_level_auc_ucsd(masks, maps, overlap=0)


# ---------------------------------------------------------------- curves and bootstrap
def test_roc_auc_from_curve():
    x = np.array([0.0, 0.0, 0.5, 1.0])
    y = np.array([0, 1, 1, 1], np.uint8)
    assert M.roc_auc_from_curve(x, y) == 1.0
    assert M.roc_auc_from_curve(x[:, None], y[:, None]) == 1.0
    assert M.roc_auc_from_curve(x[::-1], y[::-1]) == 1.0
    assert M.roc_auc_from_curve([0, 1], [0, 1]) == 0.5
    with pytest.raises(VadkitError, match="neither non-decreasing"):
        M.roc_auc_from_curve([0, 0.6, 0.4, 1], [0, 1, 1, 1])
    with pytest.raises(VadkitError, match="fpr has 4 points but tpr has 3"):
        M.roc_auc_from_curve(x, y[:3])
    with pytest.raises(VadkitError, match="must be 1-D"):
        M.roc_auc_from_curve(np.zeros((2, 2)), np.zeros((2, 2)))


def test_bootstrap_ci_contains_point_and_is_deterministic():
    labels, scores = _videos(8, n=20)
    ci = M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=200, seed=3)
    point, low, high = ci
    assert point == pytest.approx(M.frame_auc_micro(labels, scores))
    assert low < point < high and 0 < high - low < 0.5
    assert all(isinstance(v, float) for v in ci)
    assert ci == M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=200, seed=3)
    assert ci != M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=200, seed=4)
    frames = M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=200, unit="frame")
    assert frames.low < point < frames.high and frames.n_skipped == 0
    far = functools.partial(M.false_alarm_rate, threshold=0.5)
    assert M.bootstrap_ci(far, labels, scores, n_boot=50).point == M.false_alarm_rate(
        labels, scores
    )
    with pytest.raises(VadkitError, match="unit must be"):
        M.bootstrap_ci(M.frame_auc_micro, labels, scores, unit="snippet")
    with pytest.raises(VadkitError, match="n_boot must be a positive number of resamples, got -1"):
        M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=-1)
    with pytest.raises(VadkitError, match=r"alpha must be in \(0, 1\)"):
        M.bootstrap_ci(M.frame_auc_micro, labels, scores, alpha=5)


def test_bootstrap_ci_skips_single_class_resamples():
    # 1 abnormal video of 6: about (5/6)^6 = 33% of the draws have no anomalous frame
    labels = {f"n{i}": np.zeros(5) for i in range(5)} | {"a": np.array([0, 1, 1, 0, 0])}
    rng = np.random.default_rng(0)
    scores = {v: rng.random(5) for v in labels}
    ci = M.bootstrap_ci(M.frame_auc_micro, labels, scores, n_boot=300, seed=1)
    assert 50 < ci.n_skipped < 150 and ci.n_boot == 300
    assert ci.low <= ci.high
