"""Operating thresholds of a trained model, calibrated at training time -> ``threshold.json``.

Two thresholds, both on held-out *validation* videos of the training store (never test data):

- ``validation``: Youden's J (max TPR - FPR). Weak runs: on each validation video's max snippet
  score against its video label (a video is called anomalous when one snippet is above it, as
  ``predict`` finds events). Full runs: on the validation videos' frame scores against their
  frame labels.
- ``far``: the threshold at ``far_rate`` false alarms on the snippet (weak) or frame (full)
  scores of the normal validation videos (frames labelled normal, for full runs);
  ``far_scores`` keeps those scores so ``vadkit predict --far RATE`` can pick another rate.

``default`` names the one ``predict`` uses: ``validation`` when it could be computed, else
``far``. Runs without validation videos (``--selection last`` / ``oracle``) record neither and
``predict`` falls back to 0.5 with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.evaluate.thresholds import threshold_at_far, youden_threshold

__all__ = [
    "DEFAULT_FAR",
    "THRESHOLD_FORMAT",
    "full_thresholds",
    "threshold_document",
    "weak_thresholds",
]

THRESHOLD_FORMAT = "vadkit-threshold/1"
DEFAULT_FAR = 0.01
MAX_KEPT_SCORES = 20000


def _kept(scores: np.ndarray) -> list[float]:
    """The normal scores kept for ``--far`` (evenly spaced order statistics if very many)."""
    s = np.sort(np.asarray(scores, np.float64).reshape(-1))
    if len(s) > MAX_KEPT_SCORES:
        s = s[np.linspace(0, len(s) - 1, MAX_KEPT_SCORES).round().astype(int)]
    return [round(float(v), 6) for v in s]


def threshold_document(
    level: str,
    labels: np.ndarray | None,
    scores: np.ndarray | None,
    normal_scores: np.ndarray | None,
    *,
    on: Mapping[str, str],
    far_rate: float = DEFAULT_FAR,
) -> dict[str, Any]:
    """``threshold.json``: both thresholds (those computable), their data and the default.

    ``labels``/``scores``: what Youden's J is computed on (videos or frames); ``normal_scores``:
    the normal validation snippet or frame scores for the FAR threshold. ``on`` describes both
    (keys ``validation`` and ``far``) in words.
    """
    doc: dict[str, Any] = {"format": THRESHOLD_FORMAT, "score_level": level}
    if labels is not None and scores is not None and len(set(np.asarray(labels).tolist())) == 2:
        value = youden_threshold(labels, scores)
        doc["validation"] = {"rule": "youden", "value": value, "on": on["validation"],
                             "n": int(len(scores))}  # fmt: skip
    if normal_scores is not None and len(normal_scores):
        try:
            value = threshold_at_far(normal_scores, far_rate)
        except VadkitError:
            value = None
        if value is not None:
            doc["far"] = {"rate": far_rate, "value": value, "on": on["far"],
                          "n": int(len(normal_scores))}  # fmt: skip
            doc["far_scores"] = _kept(normal_scores)
    default = "validation" if "validation" in doc else ("far" if "far" in doc else None)
    doc["default"] = default
    doc["threshold"] = doc[default]["value"] if default else None
    if default is None:
        doc["note"] = "no validation videos: no calibrated threshold (predict uses 0.5)"
    return doc


def weak_thresholds(
    snippet_scores: Mapping[str, np.ndarray],
    labels: Mapping[str, int],
    far_rate: float = DEFAULT_FAR,
) -> dict[str, Any]:
    """``threshold.json`` of a weak run from its validation videos' snippet scores and labels."""
    ids = [v for v in snippet_scores if labels.get(v) in (0, 1)]
    y = np.array([labels[v] for v in ids], dtype=int)
    vmax = np.array([float(np.max(snippet_scores[v])) for v in ids])
    normal = [snippet_scores[v] for v in ids if labels[v] == 0]
    return threshold_document(
        "snippet",
        y if len(ids) else None,
        vmax if len(ids) else None,
        np.concatenate(normal) if normal else None,
        on={
            "validation": f"max snippet score of {len(ids)} validation videos vs video labels",
            "far": f"snippet scores of {len(normal)} normal validation videos",
        },
        far_rate=far_rate,
    )


def full_thresholds(
    frame_scores: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    far_rate: float = DEFAULT_FAR,
) -> dict[str, Any]:
    """``threshold.json`` of a full run from validation frame scores and frame targets."""
    ids = [v for v in targets if v in frame_scores]
    if not ids:
        return threshold_document("frame", None, None, None, on={}, far_rate=far_rate)
    y = np.concatenate([np.asarray(targets[v]).reshape(-1) > 0.5 for v in ids]).astype(int)
    s = np.concatenate([np.asarray(frame_scores[v]).reshape(-1)[: len(targets[v])] for v in ids])
    return threshold_document(
        "frame", y, s, s[y == 0],
        on={
            "validation": f"frame scores of {len(ids)} validation videos vs frame labels",
            "far": f"frames labelled normal in {len(ids)} validation videos",
        },
        far_rate=far_rate,
    )  # fmt: skip
