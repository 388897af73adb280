"""Method configs to and from plain mappings (YAML, JSON, checkpoints): one rule for every method."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from vadkit.errors import VadkitError

__all__ = ["config_from_dict", "config_to_dict"]

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
