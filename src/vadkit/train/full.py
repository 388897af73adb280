"""Full supervision (methods of kind ``"full"``, AED-T): frame labels and a class per video.

Training frame labels come through the annotation interface every dataset uses: the run's
``dataset`` + ``data.annotations`` (a :class:`~vadkit.datasets.annotations.GroundTruth`, e.g.
``lad2000`` + the LAD2000 root), or a ``GroundTruth`` passed by a library caller. The ground
truth must cover the test videos and every *abnormal* training video; a training video the
store labels normal (``label = 0``) and the ground truth does not list has no anomalous frame
(all-zero labels). Labels are aligned to the store's snippets in the ``x16`` convention and
laid out as ``frames_per_snippet`` targets per snippet (:func:`training_targets`).

A video's class index is ``store.info.extra["class_index"][entry.cls]`` (the LAD2000 importer
writes it); stores without a class index train the frame scores only (class ``-1``).

Each step draws ``batch_abnormal`` abnormal + ``batch_normal`` normal training videos (with
replacement when a class has fewer videos) and one window of each
(the model's ``training_window``, AED-T's ``sample_window``). Every ``val_every`` steps (default: the
method's ``snapshot``) the model scores the held-out *training* videos and the step with the
best frame AUC there is kept; test labels are never used unless ``selection: oracle``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from vadkit.errors import VadkitError

__all__ = [
    "WindowBatches",
    "predict_videos",
    "training_targets",
    "validation_frame_auc",
    "video_class_indices",
]


def training_targets(
    gt: Any, entries: Sequence[Any], snippet_length: int, frames_per_snippet: int, where: str
) -> dict[str, np.ndarray]:
    """Frame targets ``{id: (frames_per_snippet * T,) float32}`` of training videos.

    Parameters
    ----------
    gt : GroundTruth (or ``None``: every video must be labelled normal).
    entries : the store's ``VideoEntry`` objects of the videos.
    snippet_length : frames per snippet of the store (``x16`` convention: ``snippet_length *
        T`` labels per video, edge-padded or cut).
    frames_per_snippet : targets per snippet of the method (AED-T: 16); labels are resampled
        to it (nearest frame) when it differs from ``snippet_length``.
    where : names the annotations in errors.
    """
    from vadkit.datasets.align import align_labels

    out: dict[str, np.ndarray] = {}
    listed = [e for e in entries if gt is not None and e.id in gt]
    aligned = align_labels(gt, listed, "x16", snippet_length=snippet_length) if listed else {}
    f = int(frames_per_snippet)
    for e in entries:
        if e.id in aligned:
            lab = np.asarray(aligned[e.id], np.float32)
            n = f * e.T
            if len(lab) != n:
                idx = np.minimum((np.arange(n) + 0.5) * len(lab) / n, len(lab) - 1).astype(int)
                lab = lab[idx]
            out[e.id] = lab
        elif e.label == 0:
            out[e.id] = np.zeros(f * e.T, np.float32)
        else:
            raise VadkitError(
                f"training video {e.id!r} is not labelled normal and has no frame labels in "
                f"{where}; full supervision needs the frame labels of every abnormal "
                "training video (give annotations that cover the training videos)"
            )
    return out


def video_class_indices(info: Any, entries: Sequence[Any], n_classes: int) -> dict[str, int]:
    """``{id: class index}`` from the store's ``extra["class_index"]`` (``-1``: no class).

    A class index that does not fit ``n_classes`` is a one-line error.
    """
    index = dict((getattr(info, "extra", None) or {}).get("class_index") or {})
    if index and max(index.values()) >= n_classes:
        raise VadkitError(
            f"the store has {max(index.values()) + 1} classes but model.n_classes={n_classes}; "
            f"pass --set model.n_classes={max(index.values()) + 1}"
        )
    return {e.id: int(index.get(e.cls, -1)) if e.cls is not None else -1 for e in entries}


class WindowBatches:
    """Endless training batches of windows: ``n_abnormal`` abnormal then ``n_normal`` normal.

    Videos are drawn uniformly per class (with replacement only when the class has fewer
    videos than its share of the batch); each gives one window through ``sample(features
    (T, C, D), targets, rng, abnormal) -> (window (L, C, D), targets)``, the model's own
    ``training_window`` (AED-T: :func:`vadkit.methods.aed_t.windows.sample_window`).
    """

    def __init__(
        self,
        load: Any,
        targets: Mapping[str, np.ndarray],
        classes: Mapping[str, int],
        n_abnormal: int,
        n_normal: int,
        sample: Any,
        seed: int,
    ) -> None:
        self.load, self.targets, self.classes, self.sample = load, targets, classes, sample
        self.pools = {
            1: [v for v, t in targets.items() if t.any()],
            0: [v for v, t in targets.items() if not t.any()],
        }
        for c, name in ((1, "abnormal"), (0, "normal")):
            if not self.pools[c]:
                raise VadkitError(
                    f"no {name} training video (after the validation hold-out); full "
                    "supervision needs videos with and without anomalous frames"
                )
        self.n = {1: int(n_abnormal), 0: int(n_normal)}
        self.rng = np.random.default_rng(seed)
        self.cache: dict[str, np.ndarray] = {}

    def _features(self, vid: str) -> np.ndarray:
        if vid not in self.cache:
            self.cache[vid] = np.asarray(self.load(vid), dtype=np.float32)
        return self.cache[vid]

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        xs, ys, cs = [], [], []
        for c in (1, 0):
            pool = self.pools[c]
            pick = self.rng.choice(len(pool), self.n[c], replace=len(pool) < self.n[c])
            for i in pick.tolist():
                vid = pool[i]
                w, t = self.sample(self._features(vid), self.targets[vid], self.rng, bool(c))
                xs.append(w)
                ys.append(t)
                cs.append(self.classes.get(vid, -1))
        x = torch.from_numpy(np.ascontiguousarray(np.stack(xs).transpose(0, 2, 1, 3)))
        return x, torch.from_numpy(np.stack(ys)), torch.tensor(cs, dtype=torch.long)

    def __iter__(self) -> WindowBatches:
        return self


@torch.no_grad()
def predict_videos(
    model: torch.nn.Module, load: Any, ids: Sequence[str], device: str = "cpu"
) -> dict[str, dict[str, np.ndarray]]:
    """``model.predict`` of each whole video ``(T, C, D)`` -> its outputs (batch axis dropped)."""
    model.eval()
    out = {}
    for vid in ids:
        feats = np.asarray(load(vid), dtype=np.float32)
        x = torch.from_numpy(np.array(feats.transpose(1, 0, 2)[None])).to(device)  # a copy
        out[vid] = {k: np.asarray(v)[0] for k, v in model.predict(x).items()}
    return out


def validation_frame_auc(
    model: torch.nn.Module,
    load: Any,
    targets: Mapping[str, np.ndarray],
    device: str = "cpu",
) -> float:
    """Micro frame AUC of the held-out training videos (their frame targets, > 0.5 = 1)."""
    from sklearn.metrics import roc_auc_score

    pred = predict_videos(model, load, list(targets), device)
    y = np.concatenate([np.asarray(targets[v]) > 0.5 for v in targets]).astype(int)
    s = np.concatenate([pred[v]["frame_scores"].reshape(-1) for v in targets])
    if not np.isfinite(s).all():
        raise VadkitError("validation scores contain NaN or Inf: training diverged (lower lr?)")
    if len(set(y.tolist())) < 2:
        raise VadkitError(
            "the validation videos hold frames of one class only; raise train.val_fraction"
        )
    return float(roc_auc_score(y, s))


def class_metrics(
    predicted: Mapping[str, Mapping[str, Any]], true: Mapping[str, int], n_classes: int
) -> dict[str, Any]:
    """Class metrics as the AED-T paper reports them, over the videos with a known class.

    Parameters
    ----------
    predicted : id -> ``{"video": class, "windows": [class of each window]}``.
    true : id -> true class index (``-1``: unknown, left out).
    n_classes : size of the confusion matrix.

    Returns
    -------
    dict : ``class_accuracy`` (videos), ``window_class_accuracy`` (every window against its
    video's class, the reference's number), ``confusion_matrix`` (rows true, columns
    predicted; videos) and ``n_class_videos``; empty when no video has a known class.
    """
    from vadkit.evaluate.classes import class_accuracy, confusion_matrix, window_class_accuracy

    ids = [v for v in predicted if int(true.get(v, -1)) >= 0]
    if not ids:
        return {}
    t = np.array([int(true[v]) for v in ids])
    p = np.array([int(predicted[v]["video"]) for v in ids])
    windows = {v: np.asarray(predicted[v]["windows"], dtype=np.int64) for v in ids}
    return {
        "n_class_videos": len(ids),
        "class_accuracy": class_accuracy(t, p),
        "window_class_accuracy": window_class_accuracy({v: int(true[v]) for v in ids}, windows),
        "confusion_matrix": confusion_matrix(t, p, n_classes=n_classes).tolist(),
    }
