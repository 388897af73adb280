"""Strict converters from the reference RTFM ``state_dict`` layout to `RTFMModel`.

The released checkpoints (``ckpt/ucf-i3d-ckpt.pkl``, ``ckpt/shanghai_best_ckpt.pkl``) are plain
state_dicts of the reference ``Model(2048, batch_size)``: 47 entries, documented in
``shared/data/checkpoints/README.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from vadkit.errors import VadkitError
from vadkit.methods.rtfm.config import RTFMConfig
from vadkit.methods.rtfm.model import RTFMModel

__all__ = [
    "convert_rtfm_state_dict",
    "convert_state_dict",
    "load_rtfm_checkpoint",
    "read_state_dict",
    "rtfm_key_map",
]

_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def aggregate_key_map(ref: str, ours: str, norm_index: int, names: Mapping[str, str]) -> dict:
    """Reference ``Aggregate`` keys under prefix ``ref`` -> `TemporalTrunk` keys under ``ours``.

    ``norm_index`` is the Sequential index of the norm in ``conv_1..3`` and ``conv_5``
    (RTFM: 2, BatchNorm after ReLU; S3R: 1, GroupNorm); ``names`` maps the non-local
    sub-module names (value, query, key, out) to the reference's.
    """
    norm_keys = _BN if norm_index == 2 else ("weight", "bias")
    m: dict[str, str] = {}
    for i in range(3):
        for p in ("weight", "bias"):
            m[f"{ref}conv_{i + 1}.0.{p}"] = f"{ours}branches.{i}.conv.{p}"
        for p in norm_keys:
            m[f"{ref}conv_{i + 1}.{norm_index}.{p}"] = f"{ours}branches.{i}.norm.{p}"
    m[f"{ref}conv_4.0.weight"] = f"{ours}reduce.conv.weight"
    nl, onl = f"{ref}non_local.", f"{ours}non_local."
    for mine in ("value", "query", "key"):
        for p in ("weight", "bias"):
            m[f"{nl}{names[mine]}.{p}"] = f"{onl}{mine}.{p}"
    for p in ("weight", "bias"):
        m[f"{nl}{names['out']}.0.{p}"] = f"{onl}out_conv.{p}"
    for p in _BN:
        m[f"{nl}{names['out']}.1.{p}"] = f"{onl}out_norm.{p}"
    m[f"{ref}conv_5.0.weight"] = f"{ours}fuse.conv.weight"
    for p in norm_keys:
        m[f"{ref}conv_5.{norm_index}.{p}"] = f"{ours}fuse.norm.{p}"
    return m


def rtfm_key_map() -> dict[str, str]:
    """Reference RTFM key -> `RTFMModel` key, for all 47 entries, in the reference's order."""
    names = {"value": "g", "query": "theta", "key": "phi", "out": "W"}
    m = aggregate_key_map("Aggregate.", "trunk.", 2, names)
    for ref, ours in (("fc1", "0"), ("fc2", "3"), ("fc3", "6")):
        for p in ("weight", "bias"):
            m[f"{ref}.{p}"] = f"classifier.{ours}.{p}"
    return m


def convert_state_dict(
    state: Mapping[str, torch.Tensor],
    key_map: Mapping[str, str],
    target: Mapping[str, torch.Tensor],
    source: str,
    ignore: Iterable[str] = (),
) -> dict[str, torch.Tensor]:
    """Rename a reference state_dict strictly: every key present, none extra, shapes equal.

    Parameters
    ----------
    state : the reference state_dict.
    key_map : reference key -> vadkit key.
    target : vadkit state_dict whose shapes and dtypes the values must take.
    source : file name or label used in messages.
    ignore : reference keys that must be present but are not loaded (unused layers).

    Raises
    ------
    VadkitError : one line naming ``source`` and the first missing, extra or mis-shaped key.
    """
    if not isinstance(state, Mapping):
        raise VadkitError(f"{source}: expected a state_dict (mapping), got {type(state).__name__}")
    ignore = tuple(ignore)
    n_expected = len(key_map) + len(ignore)
    for ref in (*key_map, *ignore):
        if ref not in state:
            raise VadkitError(
                f"{source}: missing key {ref!r} ({len(state)} entries, the reference layout "
                f"has {n_expected})"
            )
    for ref in state:
        if ref not in key_map and ref not in ignore:
            raise VadkitError(f"{source}: unexpected key {ref!r} (not in the reference layout)")
    out: dict[str, torch.Tensor] = {}
    for ref, ours in key_map.items():
        value, want = state[ref], target[ours]
        if not isinstance(value, torch.Tensor):
            raise VadkitError(f"{source}: key {ref!r} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(want.shape):
            raise VadkitError(
                f"{source}: key {ref!r} has shape {tuple(value.shape)}, "
                f"expected {tuple(want.shape)}"
            )
        out[ours] = value.detach().to(dtype=want.dtype)
    return out


def read_state_dict(path: str | os.PathLike) -> Mapping[str, torch.Tensor]:
    """``torch.load`` a bare state_dict with ``weights_only=True``; failures are `VadkitError`."""
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is a user error here
        raise VadkitError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, Mapping):
        raise VadkitError(f"{path}: expected a state_dict, got {type(state).__name__}")
    return state


def convert_rtfm_state_dict(
    state: Mapping[str, torch.Tensor], config: RTFMConfig | None = None, source: str = "state_dict"
) -> dict[str, torch.Tensor]:
    """Reference RTFM state_dict -> `RTFMModel` state_dict (strict, see `convert_state_dict`)."""
    with torch.device("meta"):  # shapes and dtypes only, nothing allocated
        target = RTFMModel(config or RTFMConfig()).state_dict()
    return convert_state_dict(state, rtfm_key_map(), target, source)


def load_rtfm_checkpoint(path: str | os.PathLike, config: RTFMConfig | None = None) -> RTFMModel:
    """An `RTFMModel` (eval mode) holding the weights of a reference RTFM checkpoint file."""
    model = RTFMModel(config or RTFMConfig())
    model.load_state_dict(convert_rtfm_state_dict(read_state_dict(path), model.config, str(path)))
    return model.eval()
