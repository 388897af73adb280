"""One training run, from a loaded config to a complete run directory.

:func:`train_run` checks everything a user can get wrong (config keys, stores, classes,
the output directory) before the first step, then trains, scores the test store and writes
the run directory (``docs/training.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import vadkit.train.data as tdata
from vadkit.errors import VadkitError
from vadkit.train.config import (
    DataConfig,
    TrainConfig,
    build_method_config,
    check_device,
    dataclass_from_dict,
    to_plain,
)
from vadkit.train.data import check_classes, open_store
from vadkit.train.loop import FitResult, fit, seed_everything, validation_auc
from vadkit.train.rundir import (
    RunWriter,
    check_store_matches,
    checkpoint_payload,
    echo_run_result,
    store_meta,
)
from vadkit.train.schedule import Schedule, resolve_schedule
from vadkit.train.scoring import frame_metrics, load_ground_truth, score_videos, video_auc

__all__ = ["ORACLE_WARNING", "model_from_checkpoint", "train_run"]

ORACLE_WARNING = (
    "oracle: checkpoint selected on the TEST set, as the reference code does; optimistic"
)
SELECTED_ON = {
    "validation": "video AUC ({score} score) of {n_val} held-out training videos (video labels)",
    "oracle": "ORACLE: frame AUC of the test set",
    "last": "none: the last step is kept",
}


def model_from_checkpoint(ckpt: Mapping[str, Any], method: Any) -> Any:
    """Rebuild the trained model of a checkpoint (see ``rundir.load_checkpoint``), eval mode."""
    if ckpt.get("method") != method.name:
        raise VadkitError(f"checkpoint holds method {ckpt.get('method')!r}, not {method.name!r}")
    model = method.model_cls(build_method_config(method, ckpt["model"], "checkpoint"))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


@dataclass
class _Plan:
    """Everything checked and loaded before training."""

    mcfg: Any
    tcfg: TrainConfig
    data: DataConfig
    dataset: str | None
    seed: int
    train_store: Any
    test_store: Any
    test_view: Any
    gt: Any
    pooled: Any
    labels: np.ndarray  # (N,) of the pooled rows
    train_ids: list[str]
    val_ids: list[str]
    split_info: dict
    hold_out: float
    rule: str
    sched: Schedule
    preset: str = "default"

    def rows(self, ids: list[str]) -> np.ndarray:
        row = {vid: i for i, vid in enumerate(self.pooled.ids)}
        return np.array([row[v] for v in ids], dtype=np.int64)


def _plan(config: Mapping[str, Any], method: Any, where: str) -> _Plan:
    if config.get("method") not in (None, method.name):
        raise VadkitError(f"{where}: method {config.get('method')!r} but {method.name!r} given")
    mcfg = build_method_config(method, config.get("model"), where, config.get("preset"))
    tcfg = dataclass_from_dict(TrainConfig, config.get("train"), f"{where} train")
    data = dataclass_from_dict(DataConfig, config.get("data"), f"{where} data")
    check_device(tcfg.device)
    if not data.train or not data.test:
        raise VadkitError("give both --train STORE and --test STORE (or data.train/data.test)")
    train_store, test_store = open_store(data.train, "train"), open_store(data.test, "test")
    where_train = f"--train {data.train}"
    check_store_matches(store_meta(train_store.info), test_store.info, where_train, data.test)
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
    gt = load_ground_truth(data, config.get("dataset"))
    if tcfg.selection == "oracle" and gt is None:
        raise VadkitError("--selection oracle selects on test frame AUC: give --annotations")
    # only validation selection holds videos out; oracle and last train on every video
    hold_out = tcfg.val_fraction if tcfg.selection == "validation" else 0.0
    if hold_out > 0:
        train_ids, val_ids, split_info = tdata.split_train_val(train_view, hold_out, seed)
    else:
        train_ids, val_ids, split_info = list(train_view.ids), [], {}
    # classes and schedule from the store's labels, before the (slow, cached) pooling
    label_of = dict(zip(train_view.ids, np.asarray(train_view.labels).tolist(), strict=True))
    train_labels = np.array([label_of[v] for v in train_ids], dtype=np.int64)
    n_normal = int((train_labels == 0).sum())
    sched = resolve_schedule(dataclasses.replace(tcfg, seed=seed), mcfg, n_normal)
    held = " (after holding out validation)" if val_ids else ""
    where_batch = f"training videos of {data.train}{held}"
    check_classes(train_labels, train_ids, sched.batch_per_class, where_batch)
    if tcfg.selection == "validation":
        val_labels = np.array([label_of[v] for v in val_ids], dtype=np.int64)
        where_val = f"validation videos ({hold_out:.0%} of {data.train})"
        check_classes(val_labels, val_ids, 1, where_val)
    n_seg = sched.n_segments
    rule = tcfg.pool_rule or ("none" if train_store.info.n_segments == n_seg else "rtfm")
    pooled = tdata.pool(train_view, n_seg, rule, data.cache_dir)
    if pooled.n_segments != n_seg or set(pooled.ids) != set(train_view.ids):
        raise VadkitError(f"the pooled features of {data.train} do not match its videos")
    plan = _Plan(
        mcfg, tcfg, data, config.get("dataset"), seed, train_store, test_store, test_view, gt,
        pooled, np.asarray(pooled.labels, dtype=np.int64), train_ids, val_ids, split_info,
        hold_out, rule, sched, config.get("preset") or "default",
    )  # fmt: skip
    return plan


def _resolved_config(p: _Plan, method: Any) -> dict[str, Any]:
    """``config.yaml``: what was run, with the schedule actually used."""
    from vadkit import __version__

    s = p.sched
    train = dataclasses.replace(
        p.tcfg, pool_rule=p.rule, seed=p.seed, batch_per_class=s.batch_per_class,
        n_segments=s.n_segments, val_every=s.val_every,
        iterations=None if s.steps_per_epoch else s.total_steps,
        epochs=s.total_steps // s.steps_per_epoch if s.steps_per_epoch else None,
    )  # fmt: skip
    oracle = p.tcfg.selection == "oracle"
    split = {k: to_plain(v) for k, v in p.split_info.items() if not isinstance(v, list | tuple)}
    split.update(fraction=p.hold_out, seed=p.seed, n_train=len(p.train_ids))
    split.update(n_val=len(p.val_ids), val_ids=list(p.val_ids))
    fingerprints = {
        "train_pooled": str(p.pooled.fingerprint),
        "train_manifest": tdata.manifest_fingerprint(p.train_store),
        "test_manifest": tdata.manifest_fingerprint(p.test_store),
    }
    model, replaced = model_as_run(p.mcfg, train, p.train_store.info)
    return {
        "method": method.name,
        "preset": p.preset,
        "dataset": p.dataset,
        "model": model,
        "train": to_plain(train),
        "data": {**to_plain(p.data), "fingerprints": fingerprints},
        "run": {
            "vadkit_version": __version__,
            "selection": p.tcfg.selection
            + (" (ORACLE: selected on the test set)" if oracle else ""),
            "store": store_meta(p.train_store.info),
            "schedule_from": s.source,
            "model_values_replaced": replaced,
            "split": split,
        },
    }


def model_as_run(
    mcfg: Any, train: TrainConfig, store_info: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``model`` section as it ran: the method's own schedule fields (``batch_normal``,
    ``iterations``, ...) hold the values the trainer used, and ``n_crops`` the store's crops,
    so config.yaml never shows a value beside the one that replaced it."""
    from vadkit.train.schedule import ALIASES

    model = to_plain(mcfg)
    used = {name: getattr(train, name, None) for name in ALIASES}
    used["n_crops"] = getattr(store_info, "crops", None)
    replaced: dict[str, str] = {}
    for name, value in used.items():
        key = next((a for a in ALIASES.get(name, (name,)) if model.get(a) is not None), None)
        if key is None or value is None or model[key] == value:
            continue
        replaced[f"model.{key}"] = f"{model[key]} -> {value}"
        model[key] = value
    return model, replaced


def _metrics(p: _Plan, method: Any, result: FitResult, metric: str, scores: dict) -> dict:
    """``metrics.json``: the selection, what it chose, and the test metrics."""
    sel = p.tcfg.selection
    out: dict[str, Any] = {"method": method.name, "preset": p.preset, "dataset": p.dataset}
    out["selection"] = sel
    if sel == "oracle":
        out["warning"] = ORACLE_WARNING
    out["selected_on"] = SELECTED_ON[sel].format(score=p.tcfg.val_score, n_val=len(p.val_ids))
    out["best_step"] = result.best_step
    if sel != "last":
        out[metric] = result.best_metric
    out.update(steps_run=result.steps_run, total_steps=p.sched.total_steps)
    out.update(stopped_early=result.stopped_early, seed=p.seed, n_train=len(p.train_ids))
    out.update(n_val=len(p.val_ids), n_test=len(scores))
    labels = dict(zip(p.test_view.ids, np.asarray(p.test_view.labels).tolist(), strict=True))
    out["test_video_auc"] = video_auc(scores, labels)
    if p.gt is not None:
        conv = p.data.convention
        out["test"] = {
            "convention": conv,
            **frame_metrics(scores, p.gt, p.test_store, convention=conv),
        }
    return out


def train_run(
    config: Mapping[str, Any],
    method: Any,
    out: str | Path,
    *,
    overwrite: bool = False,
    where: str = "config",
    echo: Callable[[str], None] = print,
    ground_truth: Any = None,
) -> dict[str, Any]:
    """Train ``method`` as ``config`` says and write the run directory ``out``.

    Parameters
    ----------
    config : loaded mapping with sections method, dataset, model, train, data
        (:func:`vadkit.train.config.load_yaml` + overrides).
    method : a registry ``Method`` (``name``, ``config_cls``, ``model_cls``).
    out : the run directory; an existing one only with ``overwrite``.
    where : names the config in error messages (its path).
    echo : prints one line (progress at each validation, the result).
    ground_truth : methods of kind ``"full"`` only: a ``GroundTruth`` with the frame labels of
        the training and test videos, instead of ``dataset`` + ``data.annotations``.

    Methods of kind ``"full"`` (frame labels, AED-T) are trained by
    :func:`vadkit.train.full_run.train_full_run`.

    Returns
    -------
    dict : the content of ``metrics.json``.
    """

    if getattr(method, "kind", "weak") == "full":  # frame labels: vadkit.train.full_run
        from vadkit.train.full_run import train_full_run

        return train_full_run(
            config, method, out, overwrite=overwrite, where=where, echo=echo,
            ground_truth=ground_truth,
        )  # fmt: skip
    if ground_truth is not None:
        raise VadkitError(f"{method.name} learns from video labels: ground_truth is not used")
    p = _plan(config, method, where)
    writer = RunWriter(out, overwrite=overwrite)  # last check: before any training
    resolved = _resolved_config(p, method)
    resolved_train = dataclass_from_dict(TrainConfig, resolved["train"], "config.yaml train")
    tcfg, oracle = p.tcfg, p.tcfg.selection == "oracle"
    metric = "oracle_test_frame_auc" if oracle else f"val_video_auc_{tcfg.val_score}"
    test_ids = list(p.test_view.ids)
    val_rows = p.rows(p.val_ids)

    def validate(m: Any) -> float:
        if oracle:
            s = score_videos(m, p.test_view, test_ids, tcfg.device)
            conv = p.data.convention
            return float(frame_metrics(s, p.gt, p.test_store, convention=conv)["frame_auc"])
        return validation_auc(
            m, p.pooled.features, val_rows, p.labels[val_rows], score=tcfg.val_score,
            device=tcfg.device,
        )  # fmt: skip

    def log(rec: dict[str, Any]) -> None:
        if "val" in rec:
            rec = {**rec, metric: rec.pop("val")}
            tag = "ORACLE test frame AUC" if oracle else "val video AUC"
            echo(
                f"step {rec['step']:>6}  {tag} {rec[metric]:.4f}  "
                f"(best {rec['best']:.4f} at step {rec['best_step']})"
            )
        writer.log({**rec, "selection": "oracle"} if oracle else rec)

    try:
        writer.write_config(resolved)
        seed_everything(p.seed)
        model = method.model_cls(p.mcfg)
        n = p.sched.batch_per_class
        echo(
            f"{method.name}: {len(p.train_ids)} training videos, {len(p.val_ids)} validation, "
            f"{len(test_ids)} test; {p.sched.total_steps} steps of {n}+{n} videos; selection "
            + ("ORACLE (on the test set)" if oracle else tcfg.selection)
        )
        result = fit(
            model, p.pooled.features, p.labels, p.rows(p.train_ids), p.sched,
            validate=None if tcfg.selection == "last" else validate, patience=tcfg.patience,
            min_delta=tcfg.min_delta, log_every=tcfg.log_every, device=tcfg.device, log=log,
        )  # fmt: skip
        # prepare() may have changed the model's config (e.g. S3R's number of atoms)
        mcfg = getattr(model, "config", p.mcfg)
        resolved["model"] = model_as_run(mcfg, resolved_train, p.train_store.info)[0]
        writer.write_config(resolved)
        scores = score_videos(model, p.test_view, test_ids, tcfg.device)
        writer.write_scores(scores)
        # operating thresholds on the validation videos at native length (train/calibrate.py)
        from vadkit.train.calibrate import weak_thresholds

        label_of = dict(zip(p.pooled.ids, p.labels.tolist(), strict=True))
        val_scores = score_videos(model, p.train_store, p.val_ids, tcfg.device)
        writer.write_json("threshold.json", weak_thresholds(val_scores, label_of))
        metrics = _metrics(p, method, result, metric, scores)
        writer.write_checkpoint(checkpoint_payload(
            method.name, model, mcfg, p.train_store.info, resolved, result.best_step,
            tcfg.selection,
        ))  # fmt: skip
        writer.write_metrics(metrics)
    except BaseException:
        writer.abort()
        raise
    echo_run_result(echo, metrics, oracle, writer.commit())
    return metrics
