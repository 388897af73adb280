"""The run configuration: one YAML file with four sections, checked key by key.

::

    method: rtfm              # a name of vadkit.methods.registry
    preset: reference         # optional: a named set of model values (see below)
    dataset: ucf-crime        # ground-truth format of the test annotations (optional)
    model:   {lr: 0.001, ...} # fields of the method's config dataclass (RTFMConfig, ...)
    train:   {seed: 0, ...}   # fields of TrainConfig (the trainer's own settings)
    data:    {train: STORE, test: STORE, annotations: FILE, ...}   # fields of DataConfig

Overrides (``--set section.key=value``, value parsed as YAML) are applied to the loaded
mapping before anything is checked, so a typo in an override is the same one-line error.

A preset (``--set preset=reference``) is a method's named set of model values, applied under
the ``model`` section: where vadkit's default differs from the reference code because the
reference's value fails on real video, ``reference`` restores the reference's values
(:func:`vadkit.presets.preset_values`). Values in ``model`` win over the preset's.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vadkit.errors import VadkitError

__all__ = [
    "SECTIONS",
    "SELECTIONS",
    "DataConfig",
    "TrainConfig",
    "apply_overrides",
    "build_method_config",
    "check_device",
    "check_keys",
    "check_override_keys",
    "dataclass_from_dict",
    "load_yaml",
    "section_fields",
    "to_plain",
]

SECTIONS = ("method", "preset", "dataset", "model", "train", "data", "run")  # run: written only
SELECTIONS = ("validation", "oracle", "last")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the trainer; ``None`` means "take it from the method's config".

    The schedule (``batch_per_class``, ``iterations`` / ``epochs``), the number of
    segments and the seed default to the method config's own fields (see
    :func:`vadkit.train.schedule.resolve_schedule`), so the published values live in one
    place; set them here only to override.
    """

    batch_per_class: int | None = None  # n normal + n abnormal videos per step
    iterations: int | None = None  # optimisation steps (one batch each)
    epochs: int | None = None  # or epochs: len(normal training videos) // n steps each
    n_segments: int | None = None  # pooled segments per training video (RTFM: 32)
    pool_rule: str | None = None  # rtfm | sultani | none; None: none for stores already at
    # n_segments (published 32-segment features), else rtfm
    seed: int | None = None  # None: the method config's seed, else 0
    selection: str = "validation"  # validation | oracle (test set!) | last
    val_fraction: float = 0.2  # share of the training videos held out, per label
    val_every: int | None = None  # steps between validations; None: 100, or once per epoch
    val_score: str = "max"  # video score for validation AUC: max of snippets | video
    patience: int | None = None  # stop after this many validations without improvement
    min_delta: float = 0.0  # an improvement must exceed this
    log_every: int = 10  # steps between log.jsonl lines
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("batch_per_class", "iterations", "epochs", "n_segments", "val_every"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise VadkitError(f"train.{name} must be an integer >= 1 or null, got {v!r}")
        if self.iterations is not None and self.epochs is not None:
            raise VadkitError("train: give iterations or epochs, not both")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise VadkitError(
                f"train.patience must be an integer >= 1 or null, got {self.patience!r}"
            )
        if self.selection not in SELECTIONS:
            raise VadkitError(
                f"train.selection={self.selection!r}: choose one of {', '.join(SELECTIONS)}"
            )
        if not isinstance(self.val_fraction, int | float) or not 0 <= self.val_fraction < 1:
            raise VadkitError(f"train.val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.selection == "validation" and self.val_fraction == 0:
            raise VadkitError(
                "train.selection=validation needs train.val_fraction > 0 "
                "(or --selection last to keep the final step)"
            )
        if self.val_score not in ("max", "video"):
            raise VadkitError(f"train.val_score={self.val_score!r}: choose max or video")
        if self.pool_rule not in (None, "rtfm", "sultani", "none"):
            raise VadkitError(f"train.pool_rule={self.pool_rule!r}: choose rtfm, sultani or none")
        if not isinstance(self.log_every, int) or self.log_every < 1:
            raise VadkitError(f"train.log_every must be an integer >= 1, got {self.log_every!r}")


@dataclass(frozen=True)
class DataConfig:
    """Where the features and the test annotations are (paths as given)."""

    train: str | None = None  # FeatureStore of the training videos
    test: str | None = None  # FeatureStore of the test videos
    train_split: str | None = None  # keep only entries of this split (one store for both)
    test_split: str | None = None
    annotations: str | None = None  # test ground truth in the dataset's published format
    frame_counts: str | None = None  # UCF-Crime Test_Annotation.txt
    split_file: str | None = None  # ShanghaiTech SH_Test.txt
    list_file: str | None = None  # XD-Violence test list
    convention: str = "x16"  # frame labels: x16 (published numbers) | exact
    cache_dir: str | None = None  # pooled-feature cache (default: inside the store)
    fingerprints: dict[str, str] = field(default_factory=dict)  # written by the trainer

    def __post_init__(self) -> None:
        if self.convention not in ("x16", "exact"):
            raise VadkitError(f"data.convention={self.convention!r}: choose x16 or exact")


def to_plain(obj: Any) -> Any:
    """Dataclasses, tuples and paths -> YAML/JSON-friendly dicts, lists and strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def check_keys(given: Iterable[str], valid: Iterable[str], where: str) -> None:
    """Unknown keys are a one-line error naming the first one and the valid ones."""
    valid = list(valid)
    unknown = [k for k in given if k not in valid]
    if unknown:
        close = difflib.get_close_matches(unknown[0], valid, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise VadkitError(
            f"{where}: unknown key {unknown[0]!r}; {hint}valid keys: {', '.join(valid)}"
        )


def check_override_keys(overrides: Iterable[str], fields: Mapping[str, Iterable[str]]) -> None:
    """Every ``--set section.key=value`` names a field that exists, checked before the YAML.

    ``fields`` maps a section (``model``, ``train``, ``data``) to its valid keys, so the
    error names the ``--set`` that has the typo rather than the config file.
    """
    for item in overrides:
        key = item.partition("=")[0].strip()
        section, dot, name = key.partition(".")
        if dot and section in fields:
            check_keys([name], fields[section], f"--set {item}")


def section_fields(model_cls: type | None = None) -> dict[str, list[str]]:
    """Valid keys per section: the method config's fields (when known), TrainConfig, DataConfig."""
    out = {
        "train": [f.name for f in dataclasses.fields(TrainConfig)],
        "data": [f.name for f in dataclasses.fields(DataConfig)],
    }
    if model_cls is not None and dataclasses.is_dataclass(model_cls):
        out["model"] = [f.name for f in dataclasses.fields(model_cls)]
    return out


def dataclass_from_dict(cls: type, values: Mapping[str, Any] | None, where: str) -> Any:
    """``cls(**values)`` with unknown keys and bad values as one-line errors."""
    values = dict(values or {})
    check_keys(values, [f.name for f in dataclasses.fields(cls)], where)
    try:
        return cls(**values)
    except VadkitError as exc:
        raise VadkitError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise VadkitError(f"{where}: {exc}") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a run config; a missing file, bad YAML or unknown section is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise VadkitError(f"cannot read config {path}: {first}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise VadkitError(f"{path}: a config is a mapping with sections {', '.join(SECTIONS)}")
    check_keys(raw, SECTIONS, str(path))
    for section in ("model", "train", "data"):
        if raw.get(section) is None:
            raw[section] = {}
        elif not isinstance(raw[section], dict):
            raise VadkitError(f"{path}: section {section!r} must be a mapping")
    return raw


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (``value`` parsed as YAML) to a loaded mapping.

    >>> apply_overrides({"model": {"lr": 0.001}}, ["model.lr=5e-4", "method=rtfm"])
    {'model': {'lr': 0.0005}, 'method': 'rtfm'}
    """
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise VadkitError(f"--set {item!r}: expected section.key=value, e.g. model.lr=0.0005")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        # YAML 1.1 reads 5e-4 as a string; numbers are what users mean
        if isinstance(value, str):
            try:
                value = float(value) if any(c in value for c in ".eE") else value
            except ValueError:
                pass
        parts = key.split(".")
        if len(parts) == 1:
            check_keys([key], ("method", "preset", "dataset"), f"--set {item}")
            out[key] = value
        elif len(parts) == 2:
            check_keys([parts[0]], ("model", "train", "data"), f"--set {item}")
            section = out.setdefault(parts[0], {})
            if not isinstance(section, dict):
                section = out[parts[0]] = {}
            section[parts[1]] = value
        else:
            raise VadkitError(f"--set {item!r}: expected section.key=value (one dot)")
    return out


def build_method_config(
    method: Any, values: Mapping[str, Any] | None, where: str, preset: str | None = None
) -> Any:
    """The method's config from the ``model`` section over the values of ``preset`` (if any);
    unknown keys and unknown presets are one-line errors."""
    from vadkit.presets import preset_values

    cls = method.config_cls
    if dataclasses.is_dataclass(cls):
        check_keys(values or {}, [f.name for f in dataclasses.fields(cls)], f"{where} model")
    merged = {**preset_values(cls, preset, f"{where} preset"), **dict(values or {})}
    try:
        return cls.from_dict(merged)
    except VadkitError as exc:
        raise VadkitError(f"{where} model: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise VadkitError(f"{where} model: {exc}") from None


def check_device(device: str) -> None:
    """A device a run can use; a missing CUDA device is a one-line error."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VadkitError(f"--device {device}: no CUDA device is available; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise VadkitError(f"--device {device!r}: use cpu, cuda or cuda:N")
