"""Class accuracy and confusion matrix: hand-worked cases, scikit-learn as a second source, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from vadkit.errors import VadkitError
from vadkit.evaluate.classes import (
    class_accuracy,
    confusion_matrix,
    per_class_accuracy,
    window_class_accuracy,
)

Y_TRUE = np.array([0, 0, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 2, 0, 2])


def test_hand_worked():
    assert class_accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    expected = [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix(Y_TRUE, Y_PRED).tolist() == expected
    # class 3 never occurs: a zero row and column
    m4 = confusion_matrix(Y_TRUE, Y_PRED, n_classes=4)
    assert m4.shape == (4, 4) and m4[3].sum() == 0 and m4[:, 3].sum() == 0
    rows = confusion_matrix(Y_TRUE, Y_PRED, n_classes=4, normalize="true")
    np.testing.assert_allclose(rows[:3], [[0.5, 0.5, 0, 0], [0, 1, 0, 0], [1 / 3, 0, 2 / 3, 0]])
    assert rows[3].tolist() == [0, 0, 0, 0]
    assert confusion_matrix(Y_TRUE, Y_PRED, normalize="all").sum() == pytest.approx(1.0)
    assert per_class_accuracy(Y_TRUE, Y_PRED) == pytest.approx({0: 0.5, 1: 1.0, 2: 2 / 3})


def test_against_sklearn():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 14, 300), rng.integers(0, 14, 300)
    assert class_accuracy(t, p) == pytest.approx(accuracy_score(t, p))
    np.testing.assert_array_equal(
        confusion_matrix(t, p, n_classes=14), sk_confusion_matrix(t, p, labels=range(14))
    )


def test_window_accuracy_counts_every_window():
    """The reference repeats the video class over its windows: 2 of 3 + 1 of 1 -> 3 of 4."""
    acc = window_class_accuracy({"a": 1, "b": 0}, {"a": np.array([1, 1, 2]), "b": np.array([0])})
    assert acc == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: class_accuracy(np.zeros((2, 2), int), np.zeros((2, 2), int)), "1-D"),
        (lambda: class_accuracy([0, 1], [0]), "2 items but y_pred has 1"),
        (lambda: class_accuracy([], []), "empty"),
        (lambda: class_accuracy([0.5, 1], [0, 1]), "integer"),
        (lambda: confusion_matrix([0, 3], [0, 1], n_classes=3), "class 3 outside"),
        (lambda: confusion_matrix([0, 1], [0, 1], normalize="pred"), "normalize"),
        (lambda: window_class_accuracy({}, {"a": [0]}), "no true class"),
    ],
)
def test_errors(call, match):
    with pytest.raises(VadkitError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_run_table_names_the_classes_of_its_confusion_matrix():
    from vadkit.train.rundir import format_run_results

    results = {"run": "r", "method": "aed_t", "selection": "validation", "n_videos": 4, "n_abnormal_videos": 2, "n_frames": 64,
               "n_abnormal_frames": 16, "class_accuracy": 0.5,
               "window_class_accuracy": 0.5, "n_class_videos": 4,
               "confusion_matrix": [[1, 1], [1, 1]], "class_index": {"Normal": 0, "Crash": 1}}  # fmt: skip
    text = format_run_results(results)
    head, normal, crash = text.splitlines()[-3:]
    assert head.split() == ["true", "\\", "predicted", "Normal", "Crash"]
    assert normal.split() == ["Normal", "1", "1"] and crash.split() == ["Crash", "1", "1"]
