"""One trainer for the weakly- and fully-supervised torch methods (see ``docs/training.md``).

``train`` does not import ``methods`` (same layer): the caller resolves a method with
``vadkit.methods.registry.get_method`` and passes it to :func:`train_run`.
"""

from vadkit.train.config import (
    DataConfig,
    TrainConfig,
    apply_overrides,
    build_method_config,
    load_yaml,
)
from vadkit.train.full_run import train_full_run
from vadkit.train.loop import FitResult, fit, seed_everything, validation_auc
from vadkit.train.rundir import (
    RunWriter,
    evaluate_run,
    load_checkpoint,
    read_config,
    read_metrics,
    read_scores,
)
from vadkit.train.runner import model_from_checkpoint, train_run
from vadkit.train.schedule import Schedule, resolve_schedule

__all__ = [
    "DataConfig",
    "FitResult",
    "RunWriter",
    "Schedule",
    "TrainConfig",
    "apply_overrides",
    "build_method_config",
    "evaluate_run",
    "fit",
    "load_checkpoint",
    "load_yaml",
    "model_from_checkpoint",
    "read_config",
    "read_metrics",
    "read_scores",
    "resolve_schedule",
    "seed_everything",
    "train_full_run",
    "train_run",
    "validation_auc",
]
