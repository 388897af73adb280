"""The frame/snippet one-class scorers of this package by name (a view of the methods registry)."""

from __future__ import annotations

import importlib

from vadkit.errors import VadkitError
from vadkit.methods.registry import list_methods, method_entry

__all__ = ["ONECLASS_SCORERS", "get_scorer_class", "build_scorer"]

#: name -> "module:class", from the one methods registry (kind "one-class", this package,
#: fitted on feature arrays; the ``scene`` detector takes whole videos and is not listed)
ONECLASS_SCORERS: dict[str, str] = {
    name: f"{e.module}:{e.model_class}"
    for name in list_methods("one-class")
    if (e := method_entry(name)).module.startswith("vadkit.methods.oneclass.")
    and e.input == "features"
}


def get_scorer_class(name: str) -> type:
    """The scorer class registered as ``name``; an unknown name lists the valid ones."""
    if name not in ONECLASS_SCORERS:
        raise VadkitError(
            f"unknown one-class scorer {name!r}; valid names: {', '.join(sorted(ONECLASS_SCORERS))}"
        )
    module, attr = ONECLASS_SCORERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def build_scorer(name: str, **config: object):
    """``build_scorer("knn", k=3)``: the scorer with its config built from keyword arguments."""
    cls = get_scorer_class(name)
    return cls(cls.config_class(**config))
