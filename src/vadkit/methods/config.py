"""Method configs to and from plain mappings (YAML, JSON, checkpoints): one rule for every method."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from vadkit.errors import VadkitError

__all__ = ["DEFAULT_PRESET", "config_from_dict", "config_to_dict", "preset_names", "preset_values"]

#: the name of vadkit's own defaults (no values replaced)
DEFAULT_PRESET = "default"

C = TypeVar("C")


def config_from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
    """Build the frozen config dataclass ``cls`` from a mapping.

    Unknown keys, and values the config's own checks refuse, are a one-line
    :class:`VadkitError` naming the class (and, for unknown keys, the valid ones). Lists given
    for tuple-valued fields (YAML has no tuples) become tuples.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Toy:
    ...     widths: tuple = (4, 2)
    >>> config_from_dict(Toy, {"widths": [8, 4]})
    Toy(widths=(8, 4))
    """
    name = cls.__name__
    if not isinstance(data, Mapping):
        raise VadkitError(f"{name}: expected a mapping of settings, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise VadkitError(
            f"{name}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(fields)}"
        )
    values = {
        k: tuple(v) if isinstance(fields[k].default, tuple) and isinstance(v, list) else v
        for k, v in data.items()
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise VadkitError(f"{name}: {exc}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """Every field of a config dataclass as a plain dict (tuples as lists), for YAML and JSON."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
    }


def preset_names(cls: type) -> list[str]:
    """The presets of a config class: ``"default"`` and the keys of its ``PRESETS``."""
    return [DEFAULT_PRESET, *getattr(cls, "PRESETS", {})]


def preset_values(cls: type, name: str | None, where: str = "preset") -> dict[str, Any]:
    """The field values of preset ``name`` of config class ``cls`` (``{}`` for the default).

    A config class lists its presets in a ``PRESETS`` class attribute, name -> field values;
    ``reference`` holds the reference code's values where vadkit's default departs from them.
    An unknown name is a one-line :class:`VadkitError` listing the known ones.
    """
    if name is None or name == DEFAULT_PRESET:
        return {}
    presets = getattr(cls, "PRESETS", {})
    if name not in presets:
        raise VadkitError(
            f"{where}: {cls.__name__} has no preset {name!r}; "
            f"presets: {', '.join(preset_names(cls))}"
        )
    return dict(presets[name])
