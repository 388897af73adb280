"""Backbones: the registry of feature networks, their configs and weights.

>>> from vadkit.backbones import get_config, list_backbones
>>> "efficientnet_lite0" in list_backbones()
True
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use: the networks need torch, which `vadkit --help` should not load
_HOME = {
    "PretrainedConfig": "config",
    "build_backbone": "registry",
    "fuse_batchnorm": "fuse",
    "get_config": "registry",
    "list_backbones": "registry",
}

__all__ = ["PretrainedConfig", "build_backbone", "fuse_batchnorm", "get_config", "list_backbones"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'vadkit.backbones' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vadkit.backbones.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
