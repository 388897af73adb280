"""Tables and figures of the class-holdout protocol (the seed's evaluation step)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write, atomic_write_json, atomic_write_text
from vadkit.io.inputs import InputItem
from vadkit.methods.autoencoder import AutoencoderScorer

__all__ = [
    "QUANTILES",
    "metrics",
    "threshold_table",
    "write_config",
    "write_figures",
    "write_json",
    "write_tables",
    "write_thresholds",
]

SPLITS = ("train", "val", "test", "anomaly")
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99, 1.0)  # of the validation clips: default thresholds


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def write_json(path: Path, obj: Any) -> Path:
    """JSON with NaN written as ``null``."""

    def clean(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [clean(v) for v in o]
        return o

    return atomic_write_json(path, clean(obj))


def write_config(out: Path, config: dict[str, Any]) -> Path:
    import yaml

    return atomic_write_text(out / "config.yaml", yaml.safe_dump(config, sort_keys=False))


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def write_tables(
    out: Path,
    scorer: AutoencoderScorer,
    items: list[InputItem],
    clips: list[dict[str, Any]],
    x: np.ndarray,
) -> dict[str, Path]:
    """``clips.csv``, ``centroids.json``, ``centroid_distances.csv/json``, anomaly distances."""
    files = {"clips": out / "clips.csv"}
    atomic_write_text(files["clips"], _csv(clips, list(clips[0])))
    centroids = {
        "classes": scorer.classes_,
        "note": "per-class means of the training clips; embeddings as the autoencoder sees "
        "them (standardised with the training mean and std)",
        "latent": {c: scorer.latent_centroids_[i].tolist() for i, c in enumerate(scorer.classes_)},
        "embedding": {
            c: scorer.embedding_centroids_[i].tolist() for i, c in enumerate(scorer.classes_)
        },
        "latent_global": scorer.latent_centroid_.tolist(),
        "embedding_global": scorer.embedding_centroid_.tolist(),
    }
    files["centroids"] = write_json(out / "centroids.json", centroids)
    # distances to the clip's own class centroid (normal splits), to the nearest (anomalies)
    rows = []
    for split in SPLITS:
        for cls in sorted({c["class"] for c in clips if c["split"] == split}):
            sel = [c for c in clips if c["split"] == split and c["class"] == cls]
            for space in ("latent", "embedding"):
                key = f"{space}_dist_own" if split != "anomaly" else f"{space}_dist_nearest"
                vals = np.array([c[key] for c in sel], np.float64)
                rows.append(
                    {
                        "split": split,
                        "class": cls,
                        "space": space,
                        "to": "own class centroid" if split != "anomaly" else "nearest centroid",
                        "n": len(sel),
                        **_stats(vals),
                    }
                )
    cols = ["split", "class", "space", "to", "n", "mean", "std", "median", "min", "max"]
    files["centroid_distances"] = out / "centroid_distances.csv"
    atomic_write_text(files["centroid_distances"], _csv(rows, cols))
    files["centroid_distances_json"] = write_json(out / "centroid_distances.json", rows)
    # every anomaly clip's distance to every training class centroid
    anom = [i for i, it in enumerate(items) if it.split == "anomaly"]
    arows = []
    if anom:
        for space in ("latent", "embedding"):
            d = scorer.class_distances(x[anom], space)
            for j, i in enumerate(anom):
                row = {"id": items[i].id, "class": items[i].cls, "space": space}
                row |= {c: float(d[j, k]) for k, c in enumerate(scorer.classes_)}
                arows.append(row)
    files["anomaly_distances"] = out / "anomaly_class_distances.csv"
    atomic_write_text(
        files["anomaly_distances"], _csv(arows, ["id", "class", "space", *scorer.classes_])
    )
    return files


def threshold_table(
    clips: list[dict[str, Any]],
    error_thresholds: list[float] | None = None,
    distance_thresholds: list[float] | None = None,
) -> list[dict[str, Any]]:
    """How each split's clips are classified for each threshold.

    A clip is called anomalous when its score is strictly above the threshold. Criteria:
    ``error`` (reconstruction error), ``distance`` (distance to the nearest training class
    centroid), ``error_or_distance`` / ``error_and_distance`` (the i-th error threshold with
    the i-th distance threshold). Default thresholds: the :data:`QUANTILES` of the validation
    clips (the training clips when there is no validation split).
    """
    ref = [c for c in clips if c["split"] == "val"] or [c for c in clips if c["split"] == "train"]
    quantiles: list[float | None]
    if error_thresholds is None or distance_thresholds is None:
        quantiles = list(QUANTILES)
    else:
        quantiles = [None] * max(len(error_thresholds), len(distance_thresholds))
    if error_thresholds is None:
        error_thresholds = [
            float(np.quantile([c["reconstruction_error"] for c in ref], q)) for q in QUANTILES
        ]
    if distance_thresholds is None:
        distance_thresholds = [
            float(np.quantile([c["distance"] for c in ref], q)) for q in QUANTILES
        ]
    for name, ts in (("error", error_thresholds), ("distance", distance_thresholds)):
        if not ts or not all(isinstance(t, int | float) and math.isfinite(t) for t in ts):
            raise VadkitError(f"{name} thresholds must be finite numbers, got {ts}")
    err = np.array([c["reconstruction_error"] for c in clips])
    dist = np.array([c["distance"] for c in clips])
    split = np.array([c["split"] for c in clips])
    rows = []

    def add(criterion: str, q: float | None, te: float | None, td: float | None, flag: np.ndarray):
        row: dict[str, Any] = {
            "criterion": criterion,
            "val_quantile": "" if q is None else q,
            "error_threshold": "" if te is None else te,
            "distance_threshold": "" if td is None else td,
        }
        for s in SPLITS:
            n = int((split == s).sum())
            k = int(flag[split == s].sum())
            row[f"{s}_anomalous"], row[f"{s}_n"] = k, n
        rows.append(row)

    qs = quantiles + [None] * (len(error_thresholds) - len(quantiles))
    for q, te in zip(qs, error_thresholds, strict=False):
        add("error", q, te, None, err > te)
    qs = quantiles + [None] * (len(distance_thresholds) - len(quantiles))
    for q, td in zip(qs, distance_thresholds, strict=False):
        add("distance", q, None, td, dist > td)
    for q, te, td in zip(quantiles, error_thresholds, distance_thresholds, strict=False):
        add("error_or_distance", q, te, td, (err > te) | (dist > td))
        add("error_and_distance", q, te, td, (err > te) & (dist > td))
    return rows


def write_thresholds(
    out: Path,
    clips: list[dict[str, Any]],
    error_thresholds: list[float] | None,
    distance_thresholds: list[float] | None,
) -> dict[str, Path]:
    """``thresholds.csv`` and ``thresholds.md`` from :func:`threshold_table`."""
    rows = threshold_table(clips, error_thresholds, distance_thresholds)
    cols = list(rows[0])
    atomic_write_text(out / "thresholds.csv", _csv(rows, cols))
    lines = [
        "| criterion | val quantile | error > | distance > | " + " | ".join(SPLITS) + " |",
        "|---|---|---|---|" + "---|" * len(SPLITS),
    ]
    for r in rows:
        cells = [
            r["criterion"],
            "" if r["val_quantile"] == "" else f"{r['val_quantile']:g}",
            "" if r["error_threshold"] == "" else f"{r['error_threshold']:.4g}",
            "" if r["distance_threshold"] == "" else f"{r['distance_threshold']:.4g}",
        ]
        for s in SPLITS:
            n, k = r[f"{s}_n"], r[f"{s}_anomalous"]
            cells.append(f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-")
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "Clips called anomalous (score strictly above the threshold) per split. "
        "distance = distance to the nearest training class centroid.\n\n"
    )
    atomic_write_text(
        out / "thresholds.md", "# Threshold sweep\n\n" + note + "\n".join(lines) + "\n"
    )
    return {"thresholds": out / "thresholds.csv", "thresholds_md": out / "thresholds.md"}


def _save_fig(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100, bbox_inches="tight"))
    plt.close(fig)
    return path


def write_figures(
    out: Path,
    scorer: AutoencoderScorer,
    x_train: np.ndarray,
    cls_train: np.ndarray,
    clips: list[dict[str, Any]],
) -> dict[str, Path]:
    """The reconstruction-error box plot per split and t-SNE of training embeddings/latents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    figs = out / "figures"
    present = [s for s in SPLITS if any(c["split"] == s for c in clips)]
    fig, ax = plt.subplots(figsize=(6, 4))
    data = [[c["reconstruction_error"] for c in clips if c["split"] == s] for s in present]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(present) + 1), present)
    ax.set_ylabel("reconstruction error (MSE)")
    ax.set_title("Autoencoder reconstruction error per split")
    files = {"boxplot": _save_fig(fig, figs / "reconstruction_error_boxplot.png")}
    n = len(x_train)
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
    for name, points in (
        ("embeddings", scorer.embedding(x_train)),
        ("latents", scorer.latent(x_train)),
    ):
        # exact gradients: faster than Barnes-Hut at these sizes (hundreds of clips), same map
        method = "exact" if n <= 2000 else "barnes_hut"
        tsne = TSNE(
            2, perplexity=perplexity, init="pca", random_state=scorer.config.seed, method=method
        )
        y = tsne.fit_transform(points.astype(np.float64))
        fig, ax = plt.subplots(figsize=(6, 5))
        for c in sorted(set(cls_train.tolist())):
            m = cls_train == c
            ax.scatter(y[m, 0], y[m, 1], s=14, label=c)
        ax.legend(fontsize=7, loc="best")
        ax.set_title(f"t-SNE of training {name} (perplexity {perplexity:.3g})")
        files[f"tsne_{name}"] = _save_fig(fig, figs / f"tsne_{name}.png")
    return files


def metrics(scorer: AutoencoderScorer, clips: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, the kept epoch and, when both exist, test-vs-anomaly clip AUCs per score."""
    from vadkit.evaluate.metrics import frame_auc

    counts = {s: sum(c["split"] == s for c in clips) for s in SPLITS}
    out: dict[str, Any] = {
        "counts": counts,
        "classes": scorer.classes_,
        "best_epoch": scorer.best_epoch_,
        "best_val_loss": scorer.best_val_loss_,
        "selected_on": scorer.selected_on_,
        "history": scorer.history_,
    }
    pair = [c for c in clips if c["split"] in ("test", "anomaly")]
    if counts["test"] and counts["anomaly"]:
        y = np.array([c["label"] for c in pair])
        out["auc_test_vs_anomaly"] = {
            key: frame_auc(y, np.array([c[key] for c in pair], np.float64))
            for key in (
                "reconstruction_error",
                "latent_dist_nearest",
                "embedding_dist_nearest",
                "latent_dist_global",
                "embedding_dist_global",
            )
        }
    return out
