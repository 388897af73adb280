"""ROC and PR curves of one or several runs, with published curves overlaid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.viz.figure import new_figure

__all__ = ["PUBLISHED_NAMES", "PublishedCurve", "pr_curves", "read_published_roc", "roc_curves"]

#: Sultani et al.'s Paper_Results files -> the method of each (legend of Plot_All_ROC.m)
PUBLISHED_NAMES = {
    "1_Binary_Abnormal_Normal": "Binary classifier",
    "2_Cei_lui": "Lu et al. 2013",
    "3_CV16_TemporalRegularity": "Hasan et al. 2016",
    "6_C3D_Final_L1L2": "Sultani et al. 2018",
}
MAX_POINTS = 2000  # a curve drawn with more points looks the same and bloats SVG


@dataclass(frozen=True)
class PublishedCurve:
    """A published ROC curve: false and true positive rates and the stored AUC."""

    name: str
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float | None
    file: str = ""


def read_published_roc(folder: str | Path) -> dict[str, PublishedCurve]:
    """The ``.mat`` ROC curves of a folder (``X`` FPR, ``Y`` TPR, ``AUC``), by method name;
    e.g. ``../shared/data/ucf_crime/sultani_paper_roc/``."""
    import scipy.io

    folder = Path(folder)
    files = sorted(folder.glob("*.mat")) if folder.is_dir() else []
    if not files:
        raise VadkitError(f"no published ROC curves (*.mat) in {folder}")
    out = {}
    for f in files:
        try:
            mat = scipy.io.loadmat(f)
        except (OSError, ValueError) as exc:
            raise VadkitError(f"cannot read {f}: {exc}") from None
        if "X" not in mat or "Y" not in mat:
            raise VadkitError(f"{f}: expected X (FPR) and Y (TPR) arrays")
        auc = float(mat["AUC"].item()) if "AUC" in mat else None
        name = PUBLISHED_NAMES.get(f.stem, f.stem)
        # Y of the binary classifier is uint8: cast before any arithmetic
        fpr, tpr = (np.asarray(mat[k], np.float64).ravel() for k in ("X", "Y"))
        out[name] = PublishedCurve(name, fpr, tpr, auc, str(f))
    return out


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.r_[np.linspace(0, len(x) - 1, MAX_POINTS).astype(int), len(x) - 1])
    return x[keep], y[keep]


def _pair(label: str, pair: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, scores)`` as flat arrays; per-video mappings are concatenated."""
    try:
        y, s = pair
    except (TypeError, ValueError):
        raise VadkitError(f"run {label!r}: expected a (labels, scores) pair") from None
    if isinstance(y, Mapping):
        ids = list(y)
        y, s = (
            np.concatenate([np.ravel(y[v]) for v in ids]),
            np.concatenate([np.ravel(s[v]) for v in ids]),
        )
    y, s = np.asarray(y).ravel().astype(int), np.asarray(s, np.float64).ravel()
    if len(y) != len(s):
        raise VadkitError(f"run {label!r}: {len(y)} labels but {len(s)} scores")
    if len(set(y.tolist())) != 2:
        raise VadkitError(f"run {label!r}: labels need both normal and anomalous frames")
    return y, s


def roc_curves(
    runs: Mapping[str, Any],
    published: Mapping[str, PublishedCurve] | None = None,
    *,
    title: str | None = None,
) -> Any:
    """ROC curves of ``runs`` (name -> ``(labels, scores)``, arrays or per-video mappings),
    each legend entry with its AUC; ``published`` curves dashed, labelled ``published:``."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = new_figure(4.6, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls=":", label="_nolegend_")
    for name, pair in runs.items():
        y, s = _pair(name, pair)
        fpr, tpr, _ = roc_curve(y, s)
        fpr, tpr = _thin(fpr, tpr)
        ax.plot(fpr, tpr, lw=1.5, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
    for name, c in (published or {}).items():
        auc = "" if c.auc is None else f" (AUC {c.auc:.3f})"
        fpr, tpr = _thin(c.fpr, c.tpr)
        ax.plot(fpr, tpr, lw=1.1, ls="--", label=f"published: {name}{auc}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(title or "frame-level ROC", fontsize=9)
    return fig


def pr_curves(runs: Mapping[str, Any], *, title: str | None = None) -> Any:
    """Precision-recall curves of ``runs`` (as :func:`roc_curves`), each with its AP; the
    dotted line of each colour is that run's anomalous-frame rate (a random scorer's AP)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig = new_figure(4.6, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for name, pair in runs.items():
        y, s = _pair(name, pair)
        prec, rec, _ = precision_recall_curve(y, s)
        rec, prec = _thin(rec, prec)
        (line,) = ax.plot(
            rec, prec, lw=1.5, label=f"{name} (AP {average_precision_score(y, s):.3f})"
        )
        ax.axhline(y.mean(), color=line.get_color(), lw=0.7, ls=":", label="_nolegend_")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title or "frame-level precision-recall", fontsize=9)
    return fig
