"""A one-class run directory: a scorer fitted on normal videos, ready for ``vadkit predict``.

::

    RUN_DIR/
      config.yaml     kind: one-class, method (scorer), model (its config), data.train,
                      run.store_info (the training store's StoreInfo: how to re-extract),
                      run.split (fit and validation video ids)
      scorer.npz      the fitted scorer (OneClassScorer.save)
      threshold.json  the threshold at a false-alarm rate on the snippets of held-out normal
                      videos (vadkit.train.calibrate; default "far": no labelled anomalies)
      metrics.json    what was fitted on and the calibration

``load_model(RUN_DIR)`` (or ``load_model(RUN_DIR/scorer.npz)``) reads it. Normal videos are
the store's videos with label 0; ``val_fraction`` of them (seeded) are held out for the
threshold and never fitted on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["train_oneclass_run"]


def train_oneclass_run(
    train_store: str | Path,
    out: str | Path,
    *,
    scorer: str = "knn",
    config: dict[str, Any] | None = None,
    val_fraction: float = 0.25,
    far: float = 0.01,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Fit ``scorer`` on the normal snippets of ``train_store``; write the run directory ``out``.

    Returns the content of ``metrics.json``.
    """
    from vadkit import __version__
    from vadkit.methods.oneclass.registry import build_scorer
    from vadkit.train.calibrate import threshold_document
    from vadkit.train.data import open_store
    from vadkit.train.rundir import RunWriter

    store = open_store(train_store, "train")
    normal = [e.id for e in store.entries if e.label == 0]
    if len(normal) < 2:
        raise VadkitError(f"{train_store}: a one-class run needs at least 2 normal videos")
    rng = np.random.default_rng(seed)
    order = [normal[i] for i in rng.permutation(len(normal))]
    n_val = max(1, round(val_fraction * len(normal))) if val_fraction > 0 else 0
    val_ids, fit_ids = sorted(order[:n_val]), sorted(order[n_val:])
    model = build_scorer(scorer, **(config or {}))
    writer = RunWriter(out, overwrite=overwrite)
    try:
        model.fit(np.concatenate([np.asarray(store.load(v), np.float32) for v in fit_ids]))
        val_scores = [model.score(np.asarray(store.load(v), np.float32)) for v in val_ids]
        normal_scores = np.concatenate(val_scores) if val_scores else None
        doc = threshold_document(
            "snippet", None, None, normal_scores, far_rate=far,
            on={"validation": "", "far": f"snippet scores of {len(val_ids)} held-out normal videos"},
        )  # fmt: skip
        if normal_scores is not None:
            model.calibrate_scores(normal_scores, far)
        model.save(writer.path / "scorer.npz")
        from dataclasses import asdict

        writer.write_config({
            "method": scorer, "kind": "one-class", "model": asdict(model.config),
            "data": {"train": str(Path(train_store))},
            "run": {"vadkit_version": __version__, "store_info": store.info.to_dict(),
                    "split": {"fraction": val_fraction, "seed": seed, "fit_ids": fit_ids,
                              "val_ids": val_ids}},
        })  # fmt: skip
        writer.write_json("threshold.json", doc)
        metrics = {
            "method": scorer, "kind": "one-class", "n_fit_videos": len(fit_ids),
            "n_val_videos": len(val_ids), "threshold": doc["threshold"], "far": far,
        }  # fmt: skip
        writer.write_metrics(metrics)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return metrics
