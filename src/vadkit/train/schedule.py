"""The training schedule, taken from the method's config unless the run overrides it.

Method configs name their schedule fields as their reference does (RTFM ``batch_normal``
and ``iterations``, MIL ``videos_per_class``, the salient-feature classifier ``batch_size``
and ``max_epoch``). The trainer reads them through the aliases below, so a published value
is written once, in the method's config dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vadkit.errors import VadkitError
from vadkit.train.config import TrainConfig

__all__ = ["ALIASES", "Schedule", "resolve_schedule"]

#: schedule field -> method-config field names read for it, first found wins
ALIASES: dict[str, tuple[str, ...]] = {
    "batch_per_class": ("batch_per_class", "batch_normal", "videos_per_class", "batch_size"),
    "iterations": ("iterations", "max_iterations", "num_iters"),
    "epochs": ("epochs", "max_epochs", "max_epoch"),
    "n_segments": ("n_segments", "num_segments", "quantize_size"),
    "seed": ("seed",),
}


@dataclass(frozen=True)
class Schedule:
    """What the loop runs: ``n`` normal + ``n`` abnormal videos for ``total_steps`` steps.

    ``steps_per_epoch`` is set for epoch schedules (the normal pool, drop-last, as the
    salient-feature reference ends an epoch when its normal loader is exhausted).
    """

    batch_per_class: int
    total_steps: int
    steps_per_epoch: int | None
    n_segments: int
    seed: int
    val_every: int
    source: dict[str, str]  # field -> where its value came from ("train.x" / "model.y")


def _lookup(method_config: Any, name: str) -> tuple[Any, str] | None:
    for alias in ALIASES[name]:
        value = getattr(method_config, alias, None)
        if value is not None:
            return value, f"model.{alias}"
    return None


def resolve_schedule(train: TrainConfig, method_config: Any, n_normal: int) -> Schedule:
    """Combine the run's ``train`` section with the method config's schedule fields.

    Parameters
    ----------
    train : the trainer settings; non-``None`` fields win.
    method_config : the method's config dataclass (read through :data:`ALIASES`).
    n_normal : normal videos on the training side (for epoch schedules).
    """
    source: dict[str, str] = {}

    def pick(name: str, default: Any = None) -> Any:
        value = getattr(train, name)
        if value is not None:
            source[name] = f"train.{name}"
            return value
        found = _lookup(method_config, name)
        if found is not None:
            source[name] = found[1]
            return found[0]
        if default is not None:
            source[name] = "default"
        return default

    batch = pick("batch_per_class")
    if batch is None:
        raise VadkitError(
            "no batch size: the method config has none of "
            f"{', '.join(ALIASES['batch_per_class'])}; set train.batch_per_class"
        )
    n_segments = pick("n_segments", 32)
    seed = pick("seed", 0)
    steps_per_epoch = None
    if train.epochs is not None or (
        train.iterations is None and _lookup(method_config, "iterations") is None
    ):
        epochs = pick("epochs")
        if epochs is None:
            raise VadkitError("no schedule: set train.iterations or train.epochs")
        steps_per_epoch = max(1, n_normal // batch)
        total = int(epochs) * steps_per_epoch
    else:
        total = int(pick("iterations"))
    if train.val_every is not None:
        val_every = train.val_every
    else:
        val_every = steps_per_epoch if steps_per_epoch else 100
    val_every = min(val_every, max(total, 1))
    return Schedule(
        int(batch), total, steps_per_epoch, int(n_segments), int(seed), val_every, source
    )
