"""One-class scorers by name, imported lazily (folded into the methods registry at merge)."""

from __future__ import annotations

import importlib

from vadkit.errors import VadkitError

__all__ = ["ONECLASS_SCORERS", "get_scorer_class", "build_scorer"]

#: name -> "module:class"
ONECLASS_SCORERS: dict[str, str] = {
    "knn": "vadkit.methods.oneclass.knn:KNNScorer",
    "patch_knn": "vadkit.methods.oneclass.patch_knn:PatchKNNScorer",
    "motion": "vadkit.methods.oneclass.motion:MotionScorer",
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
