"""One fully-supervised training run (methods of kind ``"full"``) -> a run directory.

Same run directory as the weakly-supervised runs (``config.yaml``, ``checkpoint.pt``,
``scores.npz``, ``metrics.json``, ``log.jsonl``) plus ``classes.json`` when the store has
classes (each test video's true and predicted class and its windows' classes), which
``vadkit evaluate RUN_DIR`` turns into class accuracy and the confusion matrix.
See :mod:`vadkit.train.full` for where the labels come from and how batches are drawn.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import vadkit.train.data as tdata
from vadkit.errors import VadkitError
from vadkit.train.config import DataConfig, TrainConfig, dataclass_from_dict, to_plain
from vadkit.train.full import (
    WindowBatches,
    class_metrics,
    predict_videos,
    training_targets,
    validation_frame_auc,
    video_class_indices,
)
from vadkit.train.loop import BestState, seed_everything
from vadkit.train.rundir import (
    RunWriter,
    check_store_matches,
    checkpoint_payload,
    echo_run_result,
    store_meta,
)
from vadkit.train.scoring import frame_metrics, load_ground_truth, video_auc

__all__ = ["FULL_SELECTED_ON", "train_full_run"]

FULL_SELECTED_ON = {
    "validation": "frame AUC of {n_val} held-out training videos (their frame labels)",
    "oracle": "ORACLE: frame AUC of the test set",
    "last": "none: the last step is kept",
}
ORACLE_WARNING = "oracle: checkpoint selected on the TEST set; optimistic"


def _schedule(tcfg: TrainConfig, mcfg: Any) -> dict[str, Any]:
    """Batch sizes, steps and validation interval: the run's ``train`` fields, else the method's."""
    n_abn = tcfg.batch_per_class or getattr(mcfg, "batch_abnormal", None)
    n_norm = tcfg.batch_per_class or getattr(mcfg, "batch_normal", None)
    steps = tcfg.iterations or getattr(mcfg, "iterations", None)
    if tcfg.epochs is not None:
        raise VadkitError("train.epochs: full supervision runs train.iterations steps; use those")
    if not (n_abn and n_norm and steps):
        raise VadkitError("no schedule: set train.batch_per_class and train.iterations")
    val_every = tcfg.val_every or getattr(mcfg, "snapshot", None) or 100
    return {
        "batch_abnormal": int(n_abn),
        "batch_normal": int(n_norm),
        "iterations": int(steps),
        "val_every": int(min(val_every, steps)),
    }


#: model-config field -> the schedule value that replaces it (``snapshot``: validation interval)
_SCHEDULE_FIELDS = {"batch_abnormal": "batch_abnormal", "batch_normal": "batch_normal",
                    "iterations": "iterations", "snapshot": "val_every"}  # fmt: skip


def _model_as_run(
    mcfg: Any, sched: dict[str, Any], store_info: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``model`` section as it ran: the method's schedule fields hold what the trainer used
    and ``n_crops`` the store's crops (as :func:`vadkit.train.runner.model_as_run` for weak
    runs), with each replaced value recorded as ``"old -> new"``."""
    model = to_plain(mcfg)
    used = {k: sched[v] for k, v in _SCHEDULE_FIELDS.items()}
    used["n_crops"] = getattr(store_info, "crops", None)
    replaced: dict[str, str] = {}
    for key, value in used.items():
        if model.get(key) is None or value is None or model[key] == value:
            continue
        replaced[f"model.{key}"] = f"{model[key]} -> {value}"
        model[key] = value
    return model, replaced


def train_full_run(
    config: Mapping[str, Any],
    method: Any,
    out: str | Path,
    *,
    overwrite: bool = False,
    where: str = "config",
    echo: Callable[[str], None] = print,
    ground_truth: Any = None,
) -> dict[str, Any]:
    """Train a ``"full"`` method as ``config`` says and write the run directory ``out``.

    Parameters
    ----------
    config : loaded mapping (sections method, dataset, model, train, data), as for
        :func:`vadkit.train.train_run`, which calls this for methods of kind ``"full"``.
    method : a registry ``Method`` of kind ``"full"``.
    out : the run directory; an existing one only with ``overwrite``.
    ground_truth : a ``GroundTruth`` holding the frame labels of the training and test videos;
        default: read from ``dataset`` + ``data.annotations``.

    Returns
    -------
    dict : the content of ``metrics.json``.
    """
    from vadkit import __version__
    from vadkit.train.config import build_method_config, check_device

    if config.get("method") not in (None, method.name):
        raise VadkitError(f"{where}: method {config.get('method')!r} but {method.name!r} given")
    mcfg = build_method_config(method, config.get("model"), where, config.get("preset"))
    tcfg = dataclass_from_dict(TrainConfig, config.get("train"), f"{where} train")
    data = dataclass_from_dict(DataConfig, config.get("data"), f"{where} data")
    check_device(tcfg.device)
    if not data.train or not data.test:
        raise VadkitError("give both --train STORE and --test STORE (or data.train/data.test)")
    train_store = tdata.open_store(data.train, "train")
    test_store = tdata.open_store(data.test, "test")
    check_store_matches(store_meta(train_store.info), test_store.info, f"--train {data.train}")
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
    dataset = config.get("dataset")
    gt = ground_truth if ground_truth is not None else load_ground_truth(data, dataset)
    if gt is None:
        raise VadkitError(
            f"{method.name} learns from frame labels: give --dataset and --annotations "
            "(frame labels of the abnormal training videos and of the test videos)"
        )
    seed = tcfg.seed if tcfg.seed is not None else int(getattr(mcfg, "seed", 0) or 0)
    sched = _schedule(tcfg, mcfg)
    hold_out = tcfg.val_fraction if tcfg.selection == "validation" else 0.0
    if hold_out > 0:
        fit_ids, val_ids, _ = tdata.split_train_val(train_view, hold_out, seed)
    else:
        fit_ids, val_ids, _ = list(train_view.ids), [], {}
    entries = [train_store.entry(v) for v in (*fit_ids, *val_ids)]
    snip = int(train_store.info.snippet_length or 16)
    f = int(getattr(mcfg, "frames_per_snippet", snip))
    where_gt = f"--annotations {data.annotations}" if data.annotations else "the ground truth"
    targets = training_targets(gt, entries, snip, f, where_gt)
    n_classes = int(getattr(mcfg, "n_classes", 0) or 0)
    classes = video_class_indices(train_store.info, entries, n_classes) if n_classes else {}
    fit_t = {v: targets[v] for v in fit_ids}
    val_t = {v: targets[v] for v in val_ids}
    test_ids = list(test_view.ids)
    writer = RunWriter(out, overwrite=overwrite)
    oracle = tcfg.selection == "oracle"
    metric = "oracle_test_frame_auc" if oracle else "val_frame_auc"

    def validate(m: Any) -> float:
        if oracle:
            s = {
                v: o["snippet_scores"]
                for v, o in predict_videos(m, test_view.load, test_ids, tcfg.device).items()
            }
            res = frame_metrics(s, gt, test_store, convention=data.convention)
            return float(res["frame_auc"])
        return validation_frame_auc(m, train_store.load, val_t, tcfg.device)

    model_ran, replaced = _model_as_run(mcfg, sched, train_store.info)
    resolved = {
        "method": method.name,
        "preset": config.get("preset") or "default",
        "dataset": dataset,
        "model": model_ran,
        "train": to_plain(
            dataclasses.replace(
                tcfg,
                seed=seed,
                iterations=sched["iterations"],
                val_every=sched["val_every"],
            )
        ),  # fmt: skip
        "data": {
            **to_plain(data),
            "fingerprints": {
                "train_manifest": tdata.manifest_fingerprint(train_store),
                "test_manifest": tdata.manifest_fingerprint(test_store),
            },
        },  # fmt: skip
        "run": {
            "vadkit_version": __version__,
            "kind": "full",
            "selection": tcfg.selection + (" (ORACLE: selected on the test set)" if oracle else ""),
            "store": store_meta(train_store.info),
            "schedule": sched,
            "model_values_replaced": replaced,
            "split": {
                "fraction": hold_out,
                "seed": seed,
                "n_train": len(fit_ids),
                "n_val": len(val_ids),
                "val_ids": list(val_ids),
            },
            "labels": {
                "frame_labels_from": where_gt if ground_truth is None else "ground_truth",
                "labelled_videos": len(entries),
                "labelled_frames": int(sum(e.n_frames or 0 for e in entries)),
            },
        },  # fmt: skip
    }
    try:
        writer.write_config(resolved)
        seed_everything(seed)
        model = method.model_cls(mcfg).to(tcfg.device)
        batches = WindowBatches(
            train_store.load, fit_t, classes, sched["batch_abnormal"], sched["batch_normal"],
            model.training_window, seed,
        )  # fmt: skip
        echo(
            f"{method.name}: {len(fit_ids)} training videos ({len(batches.pools[1])} abnormal), "
            f"{len(val_ids)} validation, {len(test_ids)} test; {sched['iterations']} steps of "
            f"{sched['batch_abnormal']}+{sched['batch_normal']} windows; selection "
            + ("ORACLE (on the test set)" if oracle else tcfg.selection)
        )
        best = _fit(model, batches, sched, validate if tcfg.selection != "last" else None,
                    tcfg, writer, echo, metric)  # fmt: skip
        pred = predict_videos(model, test_view.load, test_ids, tcfg.device)
        scores = {v: o["snippet_scores"].astype(np.float32) for v, o in pred.items()}
        writer.write_scores(scores)
        # operating thresholds on the validation videos' frames (train/calibrate.py); the
        # snippet scores repeated per frame, as predict expands them
        from vadkit.train.calibrate import full_thresholds

        val_pred = predict_videos(model, train_store.load, list(val_t), tcfg.device)
        val_frames = {v: np.repeat(o["snippet_scores"], f) for v, o in val_pred.items()}
        writer.write_json("threshold.json", full_thresholds(val_frames, val_t))
        out_m: dict[str, Any] = {"method": method.name, "dataset": dataset, "kind": "full"}
        out_m["preset"] = config.get("preset") or "default"
        out_m["selection"] = tcfg.selection
        if oracle:
            out_m["warning"] = ORACLE_WARNING
        out_m["selected_on"] = FULL_SELECTED_ON[tcfg.selection].format(n_val=len(val_ids))
        out_m.update(best)
        out_m.update(seed=seed, n_train=len(fit_ids), n_val=len(val_ids), n_test=len(test_ids))
        out_m["labelled_videos"] = resolved["run"]["labels"]["labelled_videos"]
        out_m["labelled_frames"] = resolved["run"]["labels"]["labelled_frames"]
        labels = dict(zip(test_view.ids, np.asarray(test_view.labels).tolist(), strict=True))
        out_m["test_video_auc"] = video_auc(scores, labels)
        if all(v in gt for v in test_ids):
            conv = data.convention
            res = frame_metrics(scores, gt, test_store, convention=conv)
            out_m["test"] = {"convention": conv, **res}
        if n_classes:
            true = video_class_indices(test_store.info, [test_store.entry(v) for v in test_ids],
                                       n_classes)  # fmt: skip
            per = {v: {"true": true[v], "video": int(o["video_classes"]),
                       "windows": np.asarray(o["window_classes"]).tolist()}
                   for v, o in pred.items()}  # fmt: skip
            cm = class_metrics(per, true, n_classes)
            if cm:
                names = (test_store.info.extra or {}).get("class_index") or {}
                writer.write_json("classes.json", {
                    "n_classes": n_classes, "class_index": dict(names), "videos": per,
                })  # fmt: skip
                out_m.setdefault("test", {}).update(cm)
        writer.write_checkpoint(checkpoint_payload(
            method.name, model, mcfg, train_store.info, resolved, best["best_step"],
            tcfg.selection,
        ))  # fmt: skip
        writer.write_metrics(out_m)
    except BaseException:
        writer.abort()
        raise
    echo_run_result(echo, out_m, oracle, writer.commit())
    return out_m


def _fit(
    model: Any,
    batches: WindowBatches,
    sched: Mapping[str, int],
    validate: Callable[[Any], float] | None,
    tcfg: TrainConfig,
    writer: RunWriter,
    echo: Callable[[str], None],
    metric: str,
) -> dict[str, Any]:
    """The loop: one batch of windows per step; the best validated state is kept."""
    device, total, every = tcfg.device, sched["iterations"], sched["val_every"]
    optimizer = model.make_optimizer()
    best, stopped = BestState(tcfg.min_delta, tcfg.patience), False
    t0, step = time.perf_counter(), 0
    for step in range(1, total + 1):
        model.train()
        x, y, c = next(batches)
        loss, parts = model.loss(model(x.to(device)), y.to(device), c.to(device))
        if not torch.isfinite(loss):
            raise VadkitError(f"step {step}: the loss is {loss.item()} (diverged; lower the lr?)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % tcfg.log_every == 0 or step == 1:
            rec = {"step": step, "loss": float(loss.detach())}
            rec.update({f"loss_{k}": float(v) for k, v in parts.items() if k != "total"})
            writer.log({**rec, "time": round(time.perf_counter() - t0, 3)})
        if validate is None or (step % every and step != total):
            continue
        value = float(validate(model))
        stop = best.update(model, value, step)
        writer.log({"step": step, metric: value, "best": best.metric, "best_step": best.step,
                    "time": round(time.perf_counter() - t0, 3)})  # fmt: skip
        echo(f"step {step:>6}  {metric} {value:.4f}  (best {best.metric:.4f} at step {best.step})")
        if stop:
            stopped = True
            break
    best_step = best.restore(model, step)
    model.eval()
    out: dict[str, Any] = {"best_step": best_step, "steps_run": step, "total_steps": total}
    out["stopped_early"] = stopped
    if best.state is not None:
        out[metric] = best.metric
    return out
