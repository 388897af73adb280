"""Test-time scoring (every test video at its native length) and frame metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from vadkit.errors import VadkitError

__all__ = ["frame_metrics", "load_ground_truth", "score_videos", "video_auc"]


@torch.no_grad()
def score_videos(
    model: torch.nn.Module, store: Any, ids: Iterable[str], device: str = "cpu"
) -> dict[str, np.ndarray]:
    """``model.score`` of each video: ``{id: (T,) float32}`` snippet scores.

    Each video is loaded from ``store`` as ``(T, C, D)`` and passed as ``(1, C, T, D)``.
    """
    model.eval()
    out: dict[str, np.ndarray] = {}
    for vid in ids:
        feats = np.asarray(store.load(vid), dtype=np.float32)
        # a copy: with one crop the transpose is still a view of the read-only memmap,
        # which torch warns about (and must not write to)
        x = torch.from_numpy(np.array(feats.transpose(1, 0, 2)[None])).to(device)
        s = model.score(x)
        s = s.detach().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s)
        s = s.reshape(-1).astype(np.float32)
        if s.shape != (feats.shape[0],):
            raise VadkitError(
                f"video {vid!r}: the model gave {s.size} scores for T={feats.shape[0]} snippets"
            )
        if not np.isfinite(s).all():
            raise VadkitError(f"video {vid!r}: scores contain NaN or Inf")
        out[vid] = s
    return out


def video_auc(scores: Mapping[str, np.ndarray], labels: Mapping[str, int]) -> float | None:
    """ROC AUC of each video's max score against its video label (None if one class)."""
    from sklearn.metrics import roc_auc_score

    ids = [v for v in scores if labels.get(v) in (0, 1)]
    y = np.array([labels[v] for v in ids])
    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, [float(scores[v].max()) for v in ids]))


def load_ground_truth(data: Any, dataset: str | None) -> Any:
    """The test ground truth named by the run's ``data`` section (None without annotations)."""
    if not data.annotations:
        return None
    if not dataset:
        raise VadkitError(
            "--annotations needs --dataset (ucf-crime, shanghaitech, xd-violence, ped2, csv)"
        )
    from vadkit.evaluate.run import load_ground_truth as load

    return load(
        dataset,
        data.annotations,
        frame_counts=data.frame_counts,
        split_file=data.split_file,
        list_file=data.list_file,
    )


def frame_metrics(
    scores: Mapping[str, np.ndarray],
    gt: Any,
    store: Any,
    *,
    convention: str = "x16",
    bootstrap: int = 0,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Frame-level metrics of per-video snippet scores (the one call into ``evaluate``).

    Uses ``vadkit.evaluate.evaluate_scores`` when the installed vadkit has it, else the
    ``vadkit.evaluate.run`` functions. Only the scored videos of the ground truth count.
    """
    import vadkit.evaluate as ev

    if hasattr(ev, "evaluate_scores"):
        return dict(
            ev.evaluate_scores(
                scores,
                gt,
                store=store,
                convention=convention,
                allow_subset=True,
                bootstrap=bootstrap,
            )
        )
    from vadkit.evaluate.run import compute_metrics, frame_data

    data = frame_data(scores, gt, store=store, convention=convention, allow_subset=True)
    return compute_metrics(data, bootstrap=bootstrap, threshold=threshold)
