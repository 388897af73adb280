"""Label-free choices of the scene detector: held-out normal video with synthetic anomalies.

The held-out normal training videos (never used to fit) get three kinds of synthetic anomaly:

- **fast**: in seeded segments (:func:`synthetic_schedule`), the largest moving region of each
  frame has its optical flow multiplied by a factor drawn from ``synth_factors`` (an object
  moving 1.5-2.5x faster than it did, as a cyclist among walkers); the frames are unchanged,
  so only motion can see it;
- **foreign object**: an object pasted and moved at the scene's normal object speed
  (:mod:`vadkit.methods.oneclass.synthetic`; by default the scene's own walker turned on its
  side, or a noise disc): slow, so appearance sees it better than motion;
- **off the paths**: the scene's own moving content (a disc cut around the frame's most-moving
  flow cell, a person usually) moved at the same speed from a cell where the fold's normal
  video rarely moves: nothing in it is new but where it is (a person crossing the grass).

:func:`select_object_speed` chooses the ``object_speed`` setting (window size x visited
threshold x smoothing sigma) on the fast kind. Rule ``"one_se"`` (default): of the candidates
whose micro frame AUC is within one standard error (Hanley & McNeil 1982) of the best, the
most regularised one wins: the largest window, then the largest sigma, then the first
threshold (the "one-standard-error rule" of Breiman et al. 1984). Rule ``"max"``: the highest
AUC (ties: the first in grid order).

:func:`select_fusion` chooses the fusion ``(1 - w) * z(object_speed) + w * z(appearance)``
(each z-normalised with its scores on the clean held-out videos, then smoothed with
``sigma``): the candidate ``(w, sigma)`` with the highest mean of the per-kind micro frame
AUCs wins (ties: the first in grid order, i.e. the smaller weight and sigma), so a setting
must detect every kind. No test video and no test label is read here.
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
    "KINDS",
    "Candidate",
    "Fold",
    "auc_standard_error",
    "pooled_mean_std",
    "select_fusion",
    "select_object_speed",
    "synthetic_schedule",
]

#: the kinds of synthetic anomaly the fusion must detect
KINDS = ("fast", "foreign object", "off the paths")

#: kind -> video id -> (object_speed scores, appearance scores, labels)
SyntheticSets = dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]


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


#: one fold of the selection: (window peaks of its fit videos, its held-out synthetic videos)
Fold = tuple[Sequence[np.ndarray], Mapping[str, tuple[np.ndarray, np.ndarray]]]


def select_object_speed(
    peaks_fit: Sequence[np.ndarray] | None,
    synth: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
    windows: Sequence[float],
    min_speeds: Sequence[float],
    sigmas: Sequence[float],
    base: ObjectSpeedConfig | None = None,
    rule: str = "one_se",
    folds: Sequence[Fold] | None = None,
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
    folds : instead of ``peaks_fit`` and ``synth`` (both ``None`` then): several
        ``(peaks_fit, synth)`` folds (cross-fitting); each candidate is fitted on every fold's
        fit videos and scores that fold's held-out videos, and one AUC is taken over all of
        them.

    Returns
    -------
    (chosen candidate, one dict per candidate: window fraction, min_speed, sigma, val_auc,
    selected).
    """
    from vadkit.errors import VadkitError

    if folds is None:
        folds = [(peaks_fit or [], synth or {})]
    labels = {v: y for _, sy in folds for v, (_, y) in sy.items()}
    ys = np.concatenate(list(labels.values()))
    if not ys.any() or ys.all():
        raise VadkitError(
            "model selection: the held-out training videos gave no synthetic anomaly (nothing "
            "moves in them) or no normal frame; use more training videos or a longer one"
        )
    fits = [np.concatenate(list(pf)) for pf, _ in folds]
    if rule not in ("one_se", "max"):
        raise VadkitError(f"model selection rule {rule!r}: choose 'one_se' or 'max'")
    table: list[dict[str, Any]] = []
    cands: list[Candidate] = []
    for w in range(len(windows)):
        for m in min_speeds:
            raw = {}
            for fit, (_, sy) in zip(fits, folds, strict=True):
                sc = ObjectSpeedScorer(replace(base or ObjectSpeedConfig(), min_speed=m))
                sc.fit(fit[..., w])
                raw.update({v: sc.score(p[..., w]) for v, (p, _) in sy.items()})
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


def pooled_mean_std(x: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """Mean and standard deviation (>= 1e-12) of all videos' scores pooled: the z statistics."""
    a = np.concatenate(list(x.values()))
    return float(a.mean()), max(float(a.std()), 1e-12)


def select_fusion(
    sets: SyntheticSets,
    obj_heldout: dict[str, np.ndarray],
    app_heldout: dict[str, np.ndarray],
    weights: Sequence[float],
    sigmas: Sequence[float],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Choose ``(w, sigma)`` (module docstring). Returns (chosen row, table of candidates);
    the chosen row also has the z statistics ``stats`` of both parts."""
    from vadkit.errors import VadkitError

    so, sa = pooled_mean_std(obj_heldout), pooled_mean_std(app_heldout)
    if not sets:
        raise VadkitError("fusion selection: no synthetic kind to choose on")
    for k in sets:
        ys = np.concatenate([y for _, _, y in sets[k].values()]) if sets[k] else np.zeros(0)
        if not ys.any() or ys.all():
            raise VadkitError(
                f"fusion selection: the held-out training videos gave no synthetic {k!r} "
                "anomaly or no normal frame; use more or longer training videos"
            )
    table: list[dict[str, Any]] = []
    for w in weights:
        fused = {
            k: {
                v: (1 - w) * (o - so[0]) / so[1] + w * (a - sa[0]) / sa[1]
                for v, (o, a, _) in sets[k].items()
            }
            for k in sets
        }
        for s in sigmas:
            aucs = {
                k: frame_auc_micro(
                    {v: y for v, (_, _, y) in sets[k].items()},
                    {v: smooth(x, s) for v, x in fused[k].items()},
                )
                for k in sets
            }
            table.append(
                {
                    "weight": float(w),
                    "sigma": float(s),
                    "kind_auc": aucs,
                    "val_auc": float(np.mean(list(aucs.values()))),
                }
            )
    if not table:
        raise VadkitError("fusion selection: the candidate grid is empty")
    pick = int(np.argmax([r["val_auc"] for r in table]))
    for i, r in enumerate(table):
        r["selected"] = i == pick
    chosen = dict(table[pick], stats={"object_speed": so, "appearance": sa})
    return chosen, table
