"""Named sets of config values (``--set preset=NAME``), looked up on any config class.

A config class lists its presets in a ``PRESETS`` class attribute, name -> field values. The
lookup needs nothing of the methods, so ``vadkit.train`` (which does not import ``methods``, the
same layer) and ``vadkit.bench`` use it on the config class a method hands them.
"""

from __future__ import annotations

from typing import Any

from vadkit.errors import VadkitError

__all__ = ["DEFAULT_PRESET", "preset_names", "preset_values"]

#: the name of vadkit's own defaults (no values replaced)
DEFAULT_PRESET = "default"


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
