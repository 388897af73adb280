"""Label-free model selection for the UCSD benchmark: held-out normals + synthetic anomalies.

The held-out normal training videos (never used to fit) get synthetic anomalies: in seeded
segments, the largest moving region of each frame has its optical flow multiplied by a
factor drawn from ``synth_factors`` (an object moving 1.5-2.5x faster than it did, as a
cyclist among walkers). :func:`vadkit.methods.oneclass.flow.flow_features` makes the
summaries of the modified flow; the frames actually changed are the positives. Every
candidate of the grid (window size x visited threshold x smoothing sigma) is fitted on the
fit videos and scored on these videos (micro frame AUC). Rule ``"one_se"`` (default): of
the candidates whose AUC is within one standard error (Hanley & McNeil 1982) of the best,
the most regularised one wins: the largest window, then the largest sigma, then the first
threshold (the "one-standard-error rule" of Breiman et al. 1984). Rule ``"max"``: the
highest AUC (ties: the first in grid order). No test video and no test label is read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vadkit.evaluate.metrics import frame_auc_micro
from vadkit.methods.oneclass.fusion import smooth
from vadkit.methods.oneclass.object_speed import ObjectSpeedConfig, ObjectSpeedScorer

__all__ = [
    "Candidate",
    "auc_standard_error",
    "report_test_aucs",
    "select_object_speed",
    "synthetic_schedule",
]


@dataclass(frozen=True)
class Candidate:
    """One setting of ``object_speed``: window index (into the window fractions), threshold."""

    window: int
    min_speed: float
    sigma: float


def synthetic_schedule(
    n_frames: int,
    share: float,
    length: int,
    factors: tuple[float, float],
    rng: np.random.Generator,
) -> dict[int, float]:
    """Frames (index >= 1) -> speed-up factor: ``round(share * n / length)`` segments (>= 1)
    of ``length`` frames (at most half the video), one placed at random in each of equal
    slots of the video, each with a factor drawn uniformly from ``factors``."""
    if n_frames < 3:
        return {}
    length = max(1, min(length, (n_frames - 1) // 2))
    n_seg = max(1, round(share * n_frames / length))
    bounds = np.linspace(1, n_frames, n_seg + 1).astype(int)
    out: dict[int, float] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        span = min(length, b - a)
        start = int(rng.integers(a, b - span + 1))
        f = float(rng.uniform(*factors))
        out.update({t: f for t in range(start, start + span)})
    return out


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from ``n_pos`` positives and ``n_neg`` negatives
    (Hanley & McNeil 1982, eq. 2)."""
    a = min(max(float(auc), 1e-9), 1 - 1e-9)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)
    return float(np.sqrt(max(var, 0.0) / max(n_pos * n_neg, 1)))


def select_object_speed(
    peaks_fit: Sequence[np.ndarray],
    synth: Mapping[str, tuple[np.ndarray, np.ndarray]],
    windows: Sequence[float],
    min_speeds: Sequence[float],
    sigmas: Sequence[float],
    base: ObjectSpeedConfig | None = None,
    rule: str = "one_se",
) -> tuple[Candidate, list[dict[str, Any]]]:
    """Pick the ``object_speed`` setting with the best AUC on synthetic held-out anomalies.

    Parameters
    ----------
    peaks_fit : window peaks ``(n, rows, cols, W)`` of each fit video.
    synth : held-out video id -> (synthetic window peaks ``(n, rows, cols, W)``,
        labels ``(n,)`` 1 where a region was sped up).
    windows : the W window fractions (for the table).
    min_speeds, sigmas : the other axes of the grid.
    base : the other ``object_speed`` settings (default: the config defaults).
    rule : ``"one_se"`` or ``"max"`` (module docstring).

    Returns
    -------
    (chosen candidate, one dict per candidate: window fraction, min_speed, sigma, val_auc,
    selected).
    """
    from vadkit.errors import VadkitError

    labels = {v: y for v, (_, y) in synth.items()}
    ys = np.concatenate(list(labels.values()))
    if not ys.any() or ys.all():
        raise VadkitError(
            "model selection: the held-out training videos gave no synthetic anomaly (nothing "
            "moves in them) or no normal frame; use more training videos or a longer one"
        )
    fit = np.concatenate(list(peaks_fit))
    if rule not in ("one_se", "max"):
        raise VadkitError(f"model selection rule {rule!r}: choose 'one_se' or 'max'")
    table: list[dict[str, Any]] = []
    cands: list[Candidate] = []
    for w in range(len(windows)):
        for m in min_speeds:
            sc = ObjectSpeedScorer(replace(base or ObjectSpeedConfig(), min_speed=m)).fit(
                fit[..., w]
            )
            raw = {v: sc.score(p[..., w]) for v, (p, _) in synth.items()}
            for s in sigmas:
                auc = frame_auc_micro(labels, {v: smooth(x, s) for v, x in raw.items()})
                cands.append(Candidate(w, float(m), float(s)))
                table.append(
                    {"window": float(windows[w]), "min_speed": m, "sigma": s, "val_auc": auc}
                )
    if not table:
        raise VadkitError("model selection: the candidate grid is empty")
    aucs = np.array([r["val_auc"] for r in table])
    top = int(np.argmax(aucs))
    pick = top
    if rule == "one_se":
        se = auc_standard_error(aucs[top], int(ys.sum()), int((ys == 0).sum()))
        ok = [i for i in range(len(table)) if aucs[i] >= aucs[top] - se]
        m_order = {m: j for j, m in enumerate(min_speeds)}
        pick = max(
            ok, key=lambda i: (cands[i].window, cands[i].sigma, -m_order[cands[i].min_speed])
        )
        for r in table:
            r["within_one_se"] = bool(r["val_auc"] >= aucs[top] - se)
    for i, r in enumerate(table):
        r["selected"] = i == pick
        r["best_val"] = i == top
    return cands[pick], table


def report_test_aucs(
    peaks_fit: Sequence[np.ndarray],
    peaks_test: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    table: list[dict[str, Any]],
    windows: Sequence[float],
    base: ObjectSpeedConfig | None = None,
) -> None:
    """Add ``test_micro_auc``/``test_macro_auc`` to each row of a finished selection table.

    Call only after :func:`select_object_speed` has chosen: these numbers are reported (so
    a reader sees what the selection cost or gained) and never used for a choice.
    """
    from vadkit.evaluate.metrics import frame_auc_macro, per_video_auc

    fit = np.concatenate(list(peaks_fit))
    lab = {v: labels[v] for v in peaks_test}
    fitted: dict[tuple[int, float], dict[str, np.ndarray]] = {}
    for r in table:
        key = (list(windows).index(r["window"]), r["min_speed"])
        if key not in fitted:
            sc = ObjectSpeedScorer(replace(base or ObjectSpeedConfig(), min_speed=key[1])).fit(
                fit[..., key[0]]
            )
            fitted[key] = {v: sc.score(p[..., key[0]]) for v, p in peaks_test.items()}
        s = {v: smooth(x, r["sigma"]) for v, x in fitted[key].items()}
        r["test_micro_auc"] = frame_auc_micro(lab, s)
        r["test_macro_auc"] = frame_auc_macro(lab, s) if per_video_auc(lab, s) else None
