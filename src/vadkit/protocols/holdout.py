"""The class-holdout protocol: backbone embeddings + autoencoder, evaluated per split.

Input: a splits folder written by :func:`vadkit.datasets.action_classes.make_holdout_splits`
(``all.csv`` with ``path,id,label,class,split``). Steps:

1. features of every clip from a registered backbone (a FeatureStore under ``RUN/store``,
   resumable; or an existing store given with ``store=``);
2. the **video-level embedding** of a clip is the mean of its snippet features over the whole
   clip (and over crops): ``(T, C, D) -> (D,)``;
3. an :class:`~vadkit.methods.autoencoder.AutoencoderScorer` fit on the ``train`` clips, the
   checkpoint kept by the lowest ``val`` reconstruction error;
4. the seed's evaluation, written into the run directory (see :func:`run_holdout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.extract.engine import ExtractOptions
from vadkit.io.inputs import InputItem
from vadkit.methods.autoencoder import AutoencoderConfig, AutoencoderScorer

__all__ = [
    "DEFAULT_BACKBONE",
    "EMBEDDING_RULE",
    "HoldoutResult",
    "clip_embeddings",
    "read_splits",
    "run_holdout",
]

DEFAULT_BACKBONE = "i3d_kinetics400"
EMBEDDING_RULE = "mean of the clip's snippet features over time and crops"
SPLITS = ("train", "val", "test", "anomaly")


@dataclass
class HoldoutResult:
    """A finished run: the fitted scorer, one row per clip, the metrics and the files written."""

    out: Path
    scorer: AutoencoderScorer
    clips: list[dict[str, Any]]
    metrics: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def read_splits(splits: str | Path) -> list[InputItem]:
    """The clips of a splits folder (its ``all.csv``), each with a known split and class."""
    from vadkit.io.inputs import list_inputs

    splits = Path(splits)
    table = splits / "all.csv" if splits.is_dir() else splits
    if not table.is_file():
        raise VadkitError(
            f"splits {splits}: no all.csv; write the splits with 'vadkit holdout split' first"
        )
    items = list_inputs(table)
    for it in items:
        if it.split not in SPLITS:
            raise VadkitError(
                f"{table}: clip {it.id!r} has split {it.split!r}; expected one of {', '.join(SPLITS)}"
            )
        if not it.cls:
            raise VadkitError(f"{table}: clip {it.id!r} has no class")
    n = {s: sum(it.split == s for it in items) for s in SPLITS}
    if n["train"] < 2:
        raise VadkitError(f"{table}: {n['train']} training clip(s); the autoencoder needs >= 2")
    return items


def clip_embeddings(store: Any, ids: list[str]) -> np.ndarray:
    """Video-level embeddings ``(N, D)``: each clip's ``(T, C, D)`` features averaged over T, C."""
    out = []
    for vid in ids:
        feats = np.asarray(store.load(vid), dtype=np.float64)
        if feats.ndim != 3 or feats.shape[0] == 0:
            raise VadkitError(f"store {store.path}: {vid!r} has features of shape {feats.shape}")
        out.append(feats.mean(axis=(0, 1)))
    return np.stack(out).astype(np.float32)


def _features(
    items: list[InputItem],
    out: Path,
    store: str | Path | None,
    backbone: str,
    weights: str | Path | None,
    random_init: bool,
    options: ExtractOptions | None,
    progress: bool,
):
    from vadkit.io.store import FeatureStore

    if store is None:
        from vadkit.extract.engine import extract

        result = extract(
            items,
            out / "store",
            backbone,
            weights=weights,
            random_init=random_init,
            options=options,
            progress=progress,
        )
        if result.failed:
            vid, msg = result.failed[0]
            raise VadkitError(
                f"{len(result.failed)} clip(s) could not be encoded (first: {msg}); "
                f"see {out / 'store' / 'failed.json'}"
            )
        return result.store
    fs = FeatureStore.open(store)
    missing = [it.id for it in items if it.id not in fs]
    if missing:
        raise VadkitError(
            f"store {store} lacks {len(missing)} clip(s) of the splits (first: {missing[0]!r}); "
            "extract them with 'vadkit extract --input SPLITS/all.csv'"
        )
    return fs


def run_holdout(
    splits: str | Path,
    out: str | Path,
    *,
    backbone: str = DEFAULT_BACKBONE,
    weights: str | Path | None = None,
    random_init: bool = False,
    options: ExtractOptions | None = None,
    store: str | Path | None = None,
    config: AutoencoderConfig | None = None,
    error_thresholds: list[float] | None = None,
    distance_thresholds: list[float] | None = None,
    distance_space: str = "latent",
    progress: bool = False,
) -> HoldoutResult:
    """Run the class-holdout protocol end to end and write its run directory.

    Parameters
    ----------
    splits : a splits folder (or its ``all.csv``).
    out : the run directory.
    backbone, weights, random_init, options : how features are extracted (ignored with
        ``store``); the default backbone is ``i3d_kinetics400``.
    store : an existing FeatureStore holding every clip of the splits.
    config : the autoencoder's hyperparameters (defaults: the seed's).
    error_thresholds, distance_thresholds : thresholds of the sweep; default the 50, 75, 90,
        95, 99 and 100th percentiles of the validation clips.
    distance_space : ``"latent"`` or ``"embedding"``: where the distance criterion measures
        the distance to the nearest training class centroid.

    Writes into ``out``: ``config.yaml``, ``autoencoder.pt``, ``clips.csv`` (every clip's
    scores), ``centroids.json``, ``centroid_distances.csv`` / ``.json`` (per split and class),
    ``anomaly_class_distances.csv`` (each anomaly clip to every class centroid),
    ``thresholds.csv`` / ``.md``, ``metrics.json`` and ``figures/`` (the reconstruction-error
    box plot and the t-SNE of training embeddings and latents).
    """
    import vadkit.protocols.holdout_report as report

    if distance_space not in ("latent", "embedding"):
        raise VadkitError(f"distance space {distance_space!r}: choose 'latent' or 'embedding'")
    out = Path(out)
    items = read_splits(splits)
    out.mkdir(parents=True, exist_ok=True)
    fs = _features(items, out, store, backbone, weights, random_init, options, progress)
    x = clip_embeddings(fs, [it.id for it in items])
    split = np.array([it.split for it in items])
    cls = np.array([it.cls for it in items])
    val = x[split == "val"] if (split == "val").any() else None
    scorer = AutoencoderScorer(config).fit(x[split == "train"], val, cls[split == "train"])
    clips = _clip_rows(scorer, items, x, distance_space)
    files = {"checkpoint": scorer.save(out / "autoencoder.pt")}
    info = fs.info
    files["config"] = report.write_config(
        out,
        {
            "protocol": "class-holdout (spacetime autoencoder seed)",
            "splits": str(Path(splits).resolve()),
            "backbone": info.backbone,
            "weights_sha256": info.weights_sha256,
            "store": str(Path(fs.path).resolve()),
            "snippet_length": info.snippet_length,
            "stride": info.stride,
            "crops": info.crops,
            "embedding": EMBEDDING_RULE,
            "distance_space": distance_space,
            "autoencoder": scorer.config.to_dict(),
        },
    )
    files |= report.write_tables(out, scorer, items, clips, x)
    files |= report.write_thresholds(out, clips, error_thresholds, distance_thresholds)
    files |= report.write_figures(out, scorer, x[split == "train"], cls[split == "train"], clips)
    metrics = report.metrics(scorer, clips)
    files["metrics"] = report.write_json(out / "metrics.json", metrics)
    return HoldoutResult(out, scorer, clips, metrics, files)


def _clip_rows(
    scorer: AutoencoderScorer, items: list[InputItem], x: np.ndarray, space: str
) -> list[dict[str, Any]]:
    err = scorer.reconstruction_error(x)
    rows = []
    dist = {s: scorer.class_distances(x, s) for s in ("latent", "embedding")}
    glob = {s: scorer.global_distance(x, s) for s in ("latent", "embedding")}
    for i, it in enumerate(items):
        row: dict[str, Any] = {
            "id": it.id,
            "split": it.split,
            "class": it.cls,
            "label": 1 if it.split == "anomaly" else 0,
            "reconstruction_error": float(err[i]),
        }
        for s in ("latent", "embedding"):
            d = dist[s][i]
            own = scorer.classes_.index(it.cls) if it.cls in scorer.classes_ else None
            row[f"{s}_dist_own"] = float(d[own]) if own is not None else float("nan")
            row[f"{s}_dist_global"] = float(glob[s][i])
            row[f"{s}_dist_nearest"] = float(d.min())
            row[f"{s}_nearest_class"] = scorer.classes_[int(d.argmin())]
        row["distance"] = row[f"{space}_dist_nearest"]
        rows.append(row)
    return rows
