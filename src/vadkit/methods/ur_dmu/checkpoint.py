"""Strict loading of reference UR-DMU checkpoints (``henrryzh1/UR-DMU`` @ 40cfdf5).

The reference saves ``WSAD.state_dict()`` with ``torch.save`` (``models/ucf_trans_2022.pkl``,
``models/xd_trans_2022.pkl``): 34 entries whose names `UrDmuModel` shares, so no renaming is
needed; every key and shape is still checked, and a bad file is a one-line error.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import torch

from vadkit.errors import VadkitError
from vadkit.methods.rtfm.checkpoint import convert_state_dict, read_state_dict
from vadkit.methods.ur_dmu.config import UrDmuConfig
from vadkit.methods.ur_dmu.model import UrDmuModel

__all__ = ["config_from_state_dict", "load_reference_checkpoint"]


def config_from_state_dict(
    state: Mapping[str, torch.Tensor], base: UrDmuConfig | None = None, source: str = "state_dict"
) -> UrDmuConfig:
    """``base`` (default `UrDmuConfig`) with ``feature_dim``, ``a_nums`` and ``n_nums`` read
    from the shapes of ``embedding.conv_1.0.weight`` and the two memory blocks."""
    shapes = {}
    for key in ("embedding.conv_1.0.weight", "Amemory.memory_block", "Nmemory.memory_block"):
        value = state.get(key) if isinstance(state, Mapping) else None
        if not isinstance(value, torch.Tensor) or value.ndim < 2:
            raise VadkitError(f"{source}: no tensor {key!r}; not a UR-DMU (WSAD) state_dict")
        shapes[key] = tuple(value.shape)
    return dataclasses.replace(
        base or UrDmuConfig(),
        feature_dim=shapes["embedding.conv_1.0.weight"][1],
        a_nums=shapes["Amemory.memory_block"][0],
        n_nums=shapes["Nmemory.memory_block"][0],
    )


def load_reference_checkpoint(
    path: str | os.PathLike, config: UrDmuConfig | None = None
) -> UrDmuModel:
    """A `UrDmuModel` (eval mode) holding the weights of a reference UR-DMU checkpoint file.

    Parameters
    ----------
    path : a ``torch.save``'d ``WSAD.state_dict()`` (read with ``weights_only=True``).
    config : the other hyperparameters (training ones, crops); ``feature_dim``, ``a_nums`` and
        ``n_nums`` are taken from the file.

    Raises
    ------
    VadkitError : unreadable file, or the first missing, extra or mis-shaped key (one line).
    """
    state = read_state_dict(path)
    config = config_from_state_dict(state, config, str(path))
    model = UrDmuModel(config)
    target = model.state_dict()
    model.load_state_dict(convert_state_dict(state, {k: k for k in target}, target, str(path)))
    return model.eval()
