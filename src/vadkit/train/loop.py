"""The training loop: plain PyTorch, one balanced batch per step, periodic validation.

A model follows the method contract (``docs/training.md``): ``forward(x (B, C, T, D))``
-> dict with ``snippet_scores (B, T)`` and ``video_scores (B,)``, ``loss(outputs, labels)``
-> ``(total, parts)``, ``score(x)`` and ``make_optimizer()``. Optionally
``prepare(normal_features (N, S, C, D))`` is called once before the first step with the
pooled normal videos of the training side (e.g. S3R's dictionary of normal prototypes; it may
replace ``model.config``, which the run then records), and
``make_scheduler(optimizer)`` gives an LR scheduler stepped once per epoch (epoch schedules)
or once per step (iteration schedules); a model with ``scheduler_per_epoch = True`` (milestones
in epochs) has it stepped once per epoch of the normal training videos in both.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.train.data import BalancedSampler, gather
from vadkit.train.schedule import Schedule

__all__ = ["FitResult", "fit", "seed_everything", "validation_auc"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU runs with one seed give the same numbers)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class FitResult:
    """What :func:`fit` did; ``model`` holds the selected weights on return."""

    best_step: int
    best_metric: float | None
    steps_run: int
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per validation


@torch.no_grad()
def validation_auc(
    model: torch.nn.Module,
    features: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    *,
    score: str = "max",
    device: str = "cpu",
    batch: int = 64,
) -> float:
    """Video-level ROC AUC on pooled validation videos (video labels only).

    Each video's score is the max of its snippet scores (``score="max"``) or the
    method's ``video_scores`` (``"video"``), from ``forward`` in eval mode.
    """
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(rows), batch):
        x = torch.from_numpy(gather(features, rows[start : start + batch])).to(device)
        o = model(x)
        s = o["snippet_scores"].amax(dim=1) if score == "max" else o["video_scores"]
        out.append(s.detach().float().cpu().numpy().reshape(-1))
    model.train(was_training)
    scores = np.concatenate(out)
    if not np.isfinite(scores).all():
        raise VadkitError("validation scores contain NaN or Inf: training diverged (lower lr?)")
    return float(roc_auc_score(labels, scores))


class BestState:
    """The best validated model state so far and the early-stopping count: one rule for
    every training loop (weak and full).

    A validation counts as better when it exceeds the best by more than ``min_delta`` (a
    negative ``min_delta`` makes ties go to the later step); ``patience`` validations without
    one stop the loop.
    """

    def __init__(self, min_delta: float = 0.0, patience: int | None = None) -> None:
        self.min_delta, self.patience = min_delta, patience
        self.metric, self.step, self.bad = -math.inf, 0, 0
        self.state: dict[str, torch.Tensor] | None = None

    def update(self, model: torch.nn.Module, value: float, step: int) -> bool:
        """Record the validation ``value`` at ``step``; True when the loop should stop."""
        if value > self.metric + self.min_delta or self.state is None:
            self.metric, self.step, self.bad = value, step, 0
            self.state = copy.deepcopy(model.state_dict())
        else:
            self.bad += 1
        return self.patience is not None and self.bad >= self.patience

    def restore(self, model: torch.nn.Module, last_step: int) -> int:
        """Load the best state into ``model``; the step it came from (``last_step`` when
        nothing was validated, and the model is left as it is)."""
        if self.state is None:
            return last_step
        model.load_state_dict(self.state)
        return self.step


def fit(
    model: torch.nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    train_rows: np.ndarray,
    schedule: Schedule,
    *,
    validate: Callable[[torch.nn.Module], float] | None,
    patience: int | None = None,
    min_delta: float = 0.0,
    log_every: int = 10,
    device: str = "cpu",
    log: Callable[[dict[str, Any]], None] = lambda rec: None,
) -> FitResult:
    """Train ``model`` in place on pooled ``features (N, S, C, D)``.

    Parameters
    ----------
    labels : (N,) 0 normal / 1 abnormal, for every row of ``features``.
    train_rows : rows of the training side (the validation rows are never drawn).
    validate : model -> metric (higher is better) every ``schedule.val_every`` steps and
        at the end; the best state is kept (first best wins ties). ``None``: keep the last.
    patience : stop after this many validations without an improvement > ``min_delta``.
    log : called with one JSON-able record per logged step and per validation.
    """
    train_rows = np.asarray(train_rows)
    sampler = BalancedSampler(labels[train_rows], schedule.batch_per_class, schedule.seed)
    n = schedule.batch_per_class
    y = torch.cat([torch.zeros(n), torch.ones(n)]).to(device)
    if hasattr(model, "prepare"):
        normal = train_rows[labels[train_rows] == 0]
        model.prepare(np.asarray(features[np.sort(normal)]))
    model.to(device)
    optimizer = model.make_optimizer()
    # optional: stepped once per epoch (epoch schedules) or once per step (iteration schedules)
    scheduler = model.make_scheduler(optimizer) if hasattr(model, "make_scheduler") else None
    # a scheduler whose milestones count epochs (``model.scheduler_per_epoch``) is stepped
    # once per pass over the normal training videos in iteration schedules too
    sched_every = schedule.steps_per_epoch
    if not sched_every and getattr(model, "scheduler_per_epoch", False):
        sched_every = max(1, int((labels[train_rows] == 0).sum()) // n)
    best = BestState(min_delta, patience)
    stopped, history = False, []
    t0 = time.perf_counter()
    step = 0
    for step in range(1, schedule.total_steps + 1):
        model.train()
        rows = train_rows[next(sampler)]
        x = torch.from_numpy(gather(features, rows)).to(device)
        loss, parts = model.loss(model(x), y)
        if not torch.isfinite(loss):
            raise VadkitError(f"step {step}: the loss is {loss.item()} (diverged; lower the lr?)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lr = float(optimizer.param_groups[0]["lr"])  # the lr this step used
        optimizer.step()
        if scheduler is not None and (not sched_every or step % sched_every == 0):
            scheduler.step()
        if step % log_every == 0 or step == 1:
            rec = {"step": step, "loss": float(loss.detach()), **_floats(parts)}
            rec["lr"] = lr
            if schedule.steps_per_epoch:
                rec["epoch"] = (step - 1) // schedule.steps_per_epoch + 1
            rec["time"] = round(time.perf_counter() - t0, 3)
            log(rec)
        if step % schedule.val_every and step != schedule.total_steps:
            continue
        if validate is None:
            continue
        metric = float(validate(model))
        stop = best.update(model, metric, step)
        rec = {"step": step, "val": metric, "best": best.metric, "best_step": best.step}
        rec["time"] = round(time.perf_counter() - t0, 3)
        history.append(rec)
        log(rec)
        if stop:
            stopped = True
            break
    best_step = best.restore(model, step)
    model.eval()
    metric = None if best.state is None else best.metric
    return FitResult(best_step, metric, step, stopped, history)


def _floats(parts: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in parts.items():
        v = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
        out[f"loss_{k}" if not k.startswith("loss") else k] = v
    return out
