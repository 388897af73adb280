"""What a run's trained model says beyond its scores: attention, TACnet clusters, features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.viz.figure import new_figure

__all__ = [
    "run_attention",
    "run_clusters",
    "run_model",
    "snippet_labels",
    "test_features",
    "tsne_figure",
]


def run_model(run_dir: str | Path) -> Any:
    """The trained model of a run directory (``checkpoint.pt``), in eval mode."""
    from vadkit.methods.registry import get_method
    from vadkit.train.rundir import load_checkpoint
    from vadkit.train.runner import model_from_checkpoint

    ckpt = load_checkpoint(run_dir)
    return model_from_checkpoint(ckpt, get_method(ckpt["method"]))


def _test_store(run_dir: str | Path) -> Any:
    from vadkit.train.data import open_store
    from vadkit.train.rundir import read_config

    test = (read_config(run_dir).get("data") or {}).get("test")
    if not test:
        raise VadkitError(f"run {run_dir} records no test store")
    return open_store(test, "test")


def test_features(
    run_dir: str | Path, videos: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """``(T, C, D)`` snippet features of the run's test videos (all, or ``videos``)."""
    store = _test_store(run_dir)
    ids = list(videos) if videos else list(store.ids)
    missing = [v for v in ids if v not in store]
    if missing:
        raise VadkitError(f"video {missing[0]!r} is not in the test store {store.path}")
    return {v: np.asarray(store.load(v)) for v in ids}


def _per_video(run_dir: str | Path, videos: Sequence[str] | None, hook: str, what: str) -> dict:
    import torch

    model = run_model(run_dir)
    fn = getattr(model, hook, None)
    if fn is None:
        name = type(model).__name__
        raise VadkitError(f"{name} of run {run_dir} has no {what} (methods with it: tacnet, "
                          "anm, s3r)")  # fmt: skip
    out = {}
    with torch.no_grad():
        for v, x in test_features(run_dir, videos).items():
            out[v] = np.asarray(fn(x.transpose(1, 0, 2)[None].astype(np.float32))[0])
    return out


def run_attention(
    run_dir: str | Path, videos: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Per-snippet attention of the run's model (``attention_weights``) on test videos."""
    return _per_video(run_dir, videos, "attention_weights", "attention")


def run_clusters(run_dir: str | Path, videos: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Per-snippet TACnet k-means clusters (1 = the higher-scoring cluster) of test videos."""
    return _per_video(run_dir, videos, "clusters", "k-means clusters (tacnet only)")


def snippet_labels(frame_labels: np.ndarray, n_snippets: int) -> np.ndarray:
    """A snippet's label is its middle frame's (frames spread evenly over the snippets)."""
    y = np.asarray(frame_labels).ravel()
    n = len(y)
    mid = ((np.arange(n_snippets) + 0.5) * n / n_snippets).astype(int)
    return y[np.minimum(mid, n - 1)].astype(int)


def tsne_figure(
    features: Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    *,
    labels: Mapping[str, np.ndarray] | None = None,
    clusters: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    title: str | None = None,
) -> Any:
    """t-SNE of snippet features of the given videos (crops averaged), coloured by score;
    ground truth as markers (o normal, ^ anomalous); with ``clusters`` (TACnet) a second
    panel coloured by k-means cluster, as TACnet's cluster graph."""
    from sklearn.manifold import TSNE

    ids = list(features)
    if not ids:
        raise VadkitError("tsne_figure: no videos")
    x, s, y, c = [], [], [], []
    for v in ids:
        f = np.asarray(features[v], dtype=np.float64)
        f = f.mean(axis=1) if f.ndim == 3 else f
        t = len(f)
        sc = np.asarray(scores[v], dtype=np.float64).ravel()
        if len(sc) != t:
            raise VadkitError(f"video {v!r}: {len(sc)} scores for {t} snippets")
        x.append(f)
        s.append(sc)
        y.append(np.zeros(t, int) if labels is None or v not in labels else
                 snippet_labels(labels[v], t))  # fmt: skip
        if clusters is not None:
            c.append(np.asarray(clusters[v]).ravel())
    X, S, Y = np.concatenate(x), np.concatenate(s), np.concatenate(y)
    if len(X) < 5:
        raise VadkitError(f"tsne_figure: {len(X)} snippets are too few for t-SNE")
    perplexity = float(min(30.0, (len(X) - 1) / 3))
    emb = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(X)
    panels = 2 if clusters is not None else 1
    fig = new_figure(4.6 * panels + 0.6, 4.0)
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for lab, marker, name in ((0, "o", "normal"), (1, "^", "anomalous")):
        m = Y == lab
        if m.any():
            pts = axes[0].scatter(emb[m, 0], emb[m, 1], c=S[m], cmap="viridis", marker=marker,
                                  s=14, vmin=S.min(), vmax=S.max(), label=f"{name} (truth)")  # fmt: skip
    fig.colorbar(pts, ax=axes[0], label="anomaly score", shrink=0.85)
    axes[0].set_title("coloured by score", fontsize=9)
    if clusters is not None:
        C = np.concatenate(c)
        for k, colour, name in ((0, "tab:blue", "cluster 0"), (1, "tab:red", "cluster 1 (high)")):
            for lab, marker in ((0, "o"), (1, "^")):
                m = (C == k) & (Y == lab)
                if m.any():
                    axes[1].scatter(emb[m, 0], emb[m, 1], color=colour, marker=marker, s=14,
                                    label=name if lab == 0 or not ((C == k) & (Y == 0)).any()
                                    else "_nolegend_")  # fmt: skip
        axes[1].set_title("coloured by k-means cluster", fontsize=9)
    for a in axes:
        a.set_xticks([])
        a.set_yticks([])
        a.set_xlabel("t-SNE 1")
        a.set_ylabel("t-SNE 2")
        a.legend(fontsize=7, loc="best")
    fig.suptitle(title or f"t-SNE of {len(X)} snippets of {len(ids)} videos", fontsize=9)
    return fig
