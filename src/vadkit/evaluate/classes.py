"""Class-level metrics of methods that also name the anomaly (AED-T on LAD2000).

Plain functions of ``(y_true, y_pred)`` integer class indices, scikit-learn style, checked in a
fixed order (1-D, equal length, non-empty, integers, inside ``[0, n_classes)`` when given).

>>> import numpy as np
>>> class_accuracy(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]))
0.75
>>> confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), n_classes=3).tolist()
[[1, 0, 0], [0, 0, 1], [0, 0, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "class_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
    "window_class_accuracy",
]


def _check(
    y_true: object, y_pred: object, fn: str, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.ndim != 1:
            raise VadkitError(f"{fn}: {name} must be 1-D, got shape {a.shape}")
    if len(t) != len(p):
        raise VadkitError(f"{fn}: y_true has {len(t)} items but y_pred has {len(p)}")
    if len(t) == 0:
        raise VadkitError(f"{fn}: y_true is empty; nothing to evaluate")
    for name, a in (("y_true", t), ("y_pred", p)):
        if not np.issubdtype(a.dtype, np.integer):
            if not (np.issubdtype(a.dtype, np.floating) and np.all(np.mod(a, 1) == 0)):
                raise VadkitError(f"{fn}: {name} must hold integer class indices, got {a.dtype}")
    t, p = t.astype(np.int64), p.astype(np.int64)
    if n_classes is not None:
        if n_classes < 1:
            raise VadkitError(f"{fn}: n_classes must be >= 1, got {n_classes}")
        for name, a in (("y_true", t), ("y_pred", p)):
            bad = (a < 0) | (a >= n_classes)
            if bad.any():
                raise VadkitError(
                    f"{fn}: {name} holds class {int(a[bad][0])} outside [0, {n_classes}) "
                    f"(first at index {int(np.argmax(bad))})"
                )
    elif (t < 0).any() or (p < 0).any():
        raise VadkitError(f"{fn}: class indices must be >= 0")
    return t, p


def class_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of items whose predicted class equals the true class.

    Parameters
    ----------
    y_true, y_pred : ``(N,)`` integer class indices.
    """
    t, p = _check(y_true, y_pred, "class_accuracy")
    return float(np.mean(t == p))


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Confusion matrix ``M[i, j]`` = number of items of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    y_true, y_pred : ``(N,)`` integer class indices.
    n_classes : size ``K`` of the matrix; default ``1 + max`` index seen.
    normalize : ``None`` (counts, int64), ``"true"`` (each row sums to 1; a class with no
        items keeps a zero row) or ``"all"`` (the matrix sums to 1).

    Returns
    -------
    ``(K, K)`` array.
    """
    fn = "confusion_matrix"
    t, p = _check(y_true, y_pred, fn, n_classes)
    k = int(n_classes) if n_classes is not None else int(max(t.max(), p.max())) + 1
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (t, p), 1)
    if normalize is None:
        return m
    if normalize == "true":
        rows = m.sum(1, keepdims=True)
        return np.divide(m, rows, out=np.zeros((k, k)), where=rows > 0)
    if normalize == "all":
        return m / m.sum()
    raise VadkitError(f"{fn}: normalize must be None, 'true' or 'all', got {normalize!r}")


def per_class_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None
) -> dict[int, float]:
    """Recall of each true class present in ``y_true``: ``{class: correct / items}``."""
    m = confusion_matrix(y_true, y_pred, n_classes)
    rows = m.sum(1)
    return {int(c): float(m[c, c] / rows[c]) for c in np.flatnonzero(rows)}


def window_class_accuracy(
    video_classes: Mapping[str, int], window_classes: Mapping[str, np.ndarray]
) -> float:
    """The reference's class accuracy: every window of every video against its video's class.

    Parameters
    ----------
    video_classes : video id -> true class index.
    window_classes : video id -> ``(W,)`` predicted class of each window.
    """
    fn = "window_class_accuracy"
    missing = sorted(set(window_classes) - set(video_classes))
    if missing:
        raise VadkitError(f"{fn}: no true class for {len(missing)} videos, e.g. {missing[:5]}")
    if not window_classes:
        raise VadkitError(f"{fn}: no videos to evaluate")
    preds = [np.asarray(window_classes[v]).reshape(-1) for v in window_classes]
    trues = [
        np.full(len(p), int(video_classes[v])) for v, p in zip(window_classes, preds, strict=True)
    ]
    return class_accuracy(np.concatenate(trues), np.concatenate(preds))
