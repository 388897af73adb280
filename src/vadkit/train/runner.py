"""One training run, from a loaded config to a complete run directory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.train import data as tdata
from vadkit.train.config import DataConfig, TrainConfig, check_keys, dataclass_from_dict, to_plain
from vadkit.train.data import check_classes, open_store
from vadkit.train.loop import fit, seed_everything, validation_auc
from vadkit.train.rundir import CHECKPOINT_FORMAT, RunWriter, check_store_matches, store_meta
from vadkit.train.schedule import resolve_schedule
from vadkit.train.scoring import frame_metrics, load_ground_truth, score_videos, video_auc

__all__ = ["ORACLE_WARNING", "build_method_config", "model_from_checkpoint", "train_run"]

ORACLE_WARNING = (
    "oracle: checkpoint selected on the TEST set, as the reference code does; optimistic"
)


def build_method_config(method: Any, values: Mapping[str, Any] | None, where: str) -> Any:
    """The method's config from the ``model`` section; unknown keys are one-line errors."""
    cls = method.config_cls
    if dataclasses.is_dataclass(cls):
        check_keys(values or {}, [f.name for f in dataclasses.fields(cls)], f"{where} model")
    try:
        return cls.from_dict(dict(values or {}))
    except VadkitError as exc:
        raise VadkitError(f"{where} model: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise VadkitError(f"{where} model: {exc}") from None


def model_from_checkpoint(ckpt: Mapping[str, Any], method: Any) -> Any:
    """Rebuild the trained model of a checkpoint (see ``rundir.load_checkpoint``)."""
    if ckpt.get("method") != method.name:
        raise VadkitError(f"checkpoint holds method {ckpt.get('method')!r}, not {method.name!r}")
    model = method.model_cls(build_method_config(method, ckpt["model"], "checkpoint"))
    if hasattr(model, "prepare_from_state"):  # e.g. buffers whose size the state decides
        model.prepare_from_state(ckpt["state_dict"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VadkitError(f"--device {device}: no CUDA device is available; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise VadkitError(f"--device {device!r}: use cpu, cuda or cuda:N")


def train_run(
    config: Mapping[str, Any],
    method: Any,
    out: str | Path,
    *,
    overwrite: bool = False,
    where: str = "config",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``method`` as ``config`` says and write the run directory ``out``.

    Parameters
    ----------
    config : loaded mapping with sections method, dataset, model, train, data
        (:func:`vadkit.train.config.load_yaml` + overrides).
    method : a registry ``Method`` (``name``, ``config_cls``, ``model_cls``).
    out : the run directory; an existing one only with ``overwrite``.
    where : names the config in error messages (its path).

    Returns
    -------
    dict : the content of ``metrics.json``.
    """
    from vadkit import __version__

    if config.get("method") not in (None, method.name):
        raise VadkitError(f"{where}: method {config.get('method')!r} but {method.name!r} given")
    mcfg = build_method_config(method, config.get("model"), where)
    tcfg = dataclass_from_dict(TrainConfig, config.get("train"), f"{where} train")
    data = dataclass_from_dict(DataConfig, config.get("data"), f"{where} data")
    dataset = config.get("dataset")
    _check_device(tcfg.device)
    if not data.train or not data.test:
        raise VadkitError("give both --train STORE and --test STORE (or data.train/data.test)")
    train_store, test_store = open_store(data.train, "train"), open_store(data.test, "test")
    check_store_matches(
        store_meta(train_store.info), test_store.info, f"--train {data.train}", data.test
    )
    dim = getattr(mcfg, "feature_dim", None)
    if dim is not None and dim != train_store.info.dim:
        raise VadkitError(
            f"store {data.train} holds {train_store.info.dim}-d features but model.feature_dim="
            f"{dim}; pass --set model.feature_dim={train_store.info.dim} or use a {dim}-d store"
        )
    train_view = tdata.open_view(train_store, data.train_split)
    test_view = tdata.open_view(test_store, data.test_split)
    both = sorted(set(train_view.ids) & set(test_view.ids))
    if both:
        raise VadkitError(
            f"{len(both)} videos are both training and test videos (e.g. {both[0]!r}); "
            "give disjoint stores or --train-split/--test-split"
        )
    seed = tcfg.seed if tcfg.seed is not None else int(getattr(mcfg, "seed", 0) or 0)
    gt = load_ground_truth(data, dataset)
    if tcfg.selection == "oracle" and gt is None:
        raise VadkitError("--selection oracle selects on test frame AUC: give --annotations")

    # only validation selection holds videos out; oracle and last train on every video
    hold_out = tcfg.val_fraction if tcfg.selection == "validation" else 0.0
    if hold_out > 0:
        train_ids, val_ids, split_info = tdata.split_train_val(train_view, hold_out, seed)
    else:
        train_ids, val_ids, split_info = list(train_view.ids), [], {"fraction": 0.0}
    n_seg_default = getattr(mcfg, "n_segments", None) or 32
    n_seg = tcfg.n_segments or n_seg_default
    rule = tcfg.pool_rule or ("none" if train_store.info.n_segments == n_seg else "rtfm")
    pooled = tdata.pool(train_view, n_seg, rule, data.cache_dir)
    row = {vid: i for i, vid in enumerate(pooled.ids)}
    labels = np.asarray(pooled.labels, dtype=np.int64)
    train_rows = np.array([row[v] for v in train_ids], dtype=np.int64)
    val_rows = np.array([row[v] for v in val_ids], dtype=np.int64)
    n_normal = int((labels[train_rows] == 0).sum())
    sched = resolve_schedule(dataclasses.replace(tcfg, seed=seed), mcfg, n_normal)
    if sched.n_segments != pooled.n_segments:
        raise VadkitError(
            f"pooled {pooled.n_segments} segments, the schedule needs {sched.n_segments}"
        )
    check_classes(
        labels[train_rows],
        [pooled.ids[r] for r in train_rows],
        sched.batch_per_class,
        f"training videos of {data.train} (after holding out validation)",
    )
    if tcfg.selection == "validation":
        check_classes(
            labels[val_rows],
            list(val_ids),
            1,
            f"validation videos ({tcfg.val_fraction:.0%} of {data.train})",
        )

    writer = RunWriter(out, overwrite=overwrite)
    oracle = tcfg.selection == "oracle"
    resolved_train = dataclasses.replace(
        tcfg,
        pool_rule=rule,
        seed=seed,
        batch_per_class=sched.batch_per_class,
        n_segments=sched.n_segments,
        val_every=sched.val_every,
        iterations=None if sched.steps_per_epoch else sched.total_steps,
        epochs=sched.total_steps // sched.steps_per_epoch if sched.steps_per_epoch else None,
    )
    fingerprints = {
        "train_pooled": str(pooled.fingerprint),
        "train_manifest": tdata.manifest_fingerprint(train_store),
        "test_manifest": tdata.manifest_fingerprint(test_store),
    }
    resolved = {
        "method": method.name,
        "dataset": dataset,
        "model": to_plain(mcfg),
        "train": to_plain(resolved_train),
        "data": {**to_plain(data), "fingerprints": fingerprints},
        "run": {
            "vadkit_version": __version__,
            "selection": tcfg.selection + (" (ORACLE: selected on the test set)" if oracle else ""),
            "store": store_meta(train_store.info),
            "schedule_from": sched.source,
            "split": {
                **{
                    k: to_plain(v) for k, v in split_info.items() if not isinstance(v, list | tuple)
                },
                "fraction": hold_out,
                "seed": seed,
                "n_train": len(train_ids),
                "n_val": len(val_ids),
                "val_ids": list(val_ids),
            },
        },
    }
    try:
        writer.write_config(resolved)
        seed_everything(seed)
        model = method.model_cls(mcfg)
        test_ids = list(test_view.ids)

        def validate(m: Any) -> float:
            if oracle:
                s = score_videos(m, test_view, test_ids, tcfg.device)
                return float(
                    frame_metrics(s, gt, test_store, convention=data.convention)["frame_auc"]
                )
            return validation_auc(
                m,
                pooled.features,
                val_rows,
                labels[val_rows],
                score=tcfg.val_score,
                device=tcfg.device,
            )

        metric_name = "oracle_test_frame_auc" if oracle else f"val_video_auc_{tcfg.val_score}"

        def log(rec: dict[str, Any]) -> None:
            if "val" in rec:
                rec = {**rec, metric_name: rec.pop("val")}
                tag = "ORACLE test frame AUC" if oracle else "val video AUC"
                echo(
                    f"step {rec['step']:>6}  {tag} {rec[metric_name]:.4f}  "
                    f"(best {rec['best']:.4f} at step {rec['best_step']})"
                )
            if oracle:
                rec = {**rec, "selection": "oracle"}
            writer.log(rec)

        echo(
            f"{method.name}: {len(train_ids)} training videos ({n_normal} normal), "
            f"{len(val_ids)} validation, {len(test_ids)} test; {sched.total_steps} steps of "
            f"{sched.batch_per_class}+{sched.batch_per_class}; selection {tcfg.selection}"
            + (" (ORACLE: on the test set)" if oracle else "")
        )
        result = fit(
            model,
            pooled.features,
            labels,
            train_rows,
            sched,
            validate=None if tcfg.selection == "last" else validate,
            patience=tcfg.patience,
            min_delta=tcfg.min_delta,
            log_every=tcfg.log_every,
            device=tcfg.device,
            log=log,
        )
        # prepare() may have changed the model's config (e.g. S3R's number of atoms)
        mcfg = getattr(model, "config", mcfg)
        resolved["model"] = to_plain(mcfg)
        writer.write_config(resolved)
        scores = score_videos(model, test_view, test_ids, tcfg.device)
        writer.write_scores(scores)
        test_labels = dict(zip(test_view.ids, np.asarray(test_view.labels).tolist(), strict=True))
        metrics: dict[str, Any] = {
            "method": method.name,
            "dataset": dataset,
            "selection": tcfg.selection,
        }
        if oracle:
            metrics["warning"] = ORACLE_WARNING
        metrics["selected_on"] = {
            "validation": f"video AUC ({tcfg.val_score} score) of {len(val_ids)} held-out "
            "training videos (video labels only)",
            "oracle": "ORACLE: frame AUC of the test set",
            "last": "none: the last step is kept",
        }[tcfg.selection]
        metrics.update(
            {
                "best_step": result.best_step,
                metric_name: result.best_metric,
                "steps_run": result.steps_run,
                "total_steps": sched.total_steps,
                "stopped_early": result.stopped_early,
                "seed": seed,
                "n_train": len(train_ids),
                "n_val": len(val_ids),
                "n_test": len(test_ids),
                "test_video_auc": video_auc(scores, test_labels),
            }
        )
        if gt is not None:
            metrics["test"] = {
                "convention": data.convention,
                **frame_metrics(scores, gt, test_store, convention=data.convention),
            }
        writer.write_checkpoint(
            {
                "format": CHECKPOINT_FORMAT,
                "method": method.name,
                "model": to_plain(mcfg),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "store": store_meta(train_store.info),
                "train": to_plain(resolved_train),
                "step": result.best_step,
                "selection": tcfg.selection,
                "fingerprints": fingerprints,
                "vadkit_version": __version__,
            }
        )
        writer.write_metrics(metrics)
    except BaseException:
        writer.abort()
        raise
    path = writer.commit()
    frame = (metrics.get("test") or {}).get("frame_auc")
    tag = " [ORACLE selection]" if oracle else ""
    echo(
        f"test frame AUC {frame:.4f}{tag}"
        if frame is not None
        else f"test video AUC {metrics['test_video_auc']}{tag} (no --annotations: no frame metrics)"
    )
    echo(f"wrote {path}")
    return metrics
