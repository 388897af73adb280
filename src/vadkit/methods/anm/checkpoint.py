"""Released reference checkpoints <-> :class:`AnmModel`.

The reference saves ``VideoClassifier.state_dict()`` (a plain ``OrderedDict`` of 8 tensors)
with its own spelling ``self_anttention.{0,2}.{weight,bias}``; vadkit names that module
``attention``. Everything else (``fc1``, ``fc2``) has the same name and layout.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import torch

from vadkit.errors import VadkitError
from vadkit.methods.anm.config import AnmConfig
from vadkit.methods.anm.model import AnmModel

__all__ = [
    "from_reference",
    "infer_config",
    "load_reference_checkpoint",
    "save_reference_checkpoint",
    "to_reference",
]

REFERENCE_PREFIX = "self_anttention."  # sic, as in the reference
VADKIT_PREFIX = "attention."


def _expected_shapes(config: AnmConfig) -> dict[str, tuple[int, ...]]:
    """Reference key -> shape for a config (the order the reference saves them in)."""
    c = config
    return {
        f"{REFERENCE_PREFIX}0.weight": (c.d_a, c.feature_dim),
        f"{REFERENCE_PREFIX}0.bias": (c.d_a,),
        f"{REFERENCE_PREFIX}2.weight": (c.r, c.d_a),
        f"{REFERENCE_PREFIX}2.bias": (c.r,),
        "fc1.weight": (c.hidden, c.fc_in),
        "fc1.bias": (c.hidden,),
        "fc2.weight": (1, c.hidden),
        "fc2.bias": (1,),
    }


def _to_reference_key(key: str) -> str:
    return REFERENCE_PREFIX + key[len(VADKIT_PREFIX) :] if key.startswith(VADKIT_PREFIX) else key


def _to_vadkit_key(key: str) -> str:
    return VADKIT_PREFIX + key[len(REFERENCE_PREFIX) :] if key.startswith(REFERENCE_PREFIX) else key


def _read(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"{path}: checkpoint file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(f"{path}: not a readable torch checkpoint ({first})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VadkitError(
            f"{path}: expected a state_dict (key -> tensor), got {type(state).__name__}"
        )
    # the reference spelling or vadkit's own names: the same file layout either way
    renamed = {_to_reference_key(k): v for k, v in state.items()}
    if len(renamed) != len(state):
        both = next(k for k in state if k.startswith(VADKIT_PREFIX))
        raise VadkitError(
            f"{path}: key {both!r} is there in both spellings (attention, self_anttention)"
        )
    return renamed


def infer_config(
    state: dict[str, torch.Tensor], where: str = "state_dict", base: AnmConfig | None = None
) -> AnmConfig:
    """``base`` (default :class:`AnmConfig`) with feature_dim, d_a, r, hidden read off the shapes.

    Parameters
    ----------
    state : reference-layout state dict.
    where : file name or label used in error messages.
    base : config whose other fields are kept.
    """
    w1 = state.get(f"{REFERENCE_PREFIX}0.weight")
    w2 = state.get(f"{REFERENCE_PREFIX}2.weight")
    f1 = state.get("fc1.weight")
    for key, tensor in (
        (f"{REFERENCE_PREFIX}0.weight", w1),
        (f"{REFERENCE_PREFIX}2.weight", w2),
        ("fc1.weight", f1),
    ):
        if tensor is None:
            raise VadkitError(f"{where}: missing key {key!r}; not a salient-feature checkpoint")
        if tensor.ndim != 2:
            raise VadkitError(f"{where}: key {key!r} has shape {tuple(tensor.shape)}, expected 2-D")
    base = base if base is not None else AnmConfig()
    return replace(
        base, d_a=w1.shape[0], feature_dim=w1.shape[1], r=w2.shape[0], hidden=f1.shape[0]
    )


def from_reference(
    state: dict[str, torch.Tensor], config: AnmConfig, where: str = "state_dict"
) -> dict[str, torch.Tensor]:
    """Check a reference-layout state dict against ``config`` and rename it for :class:`AnmModel`.

    Raises :class:`VadkitError` naming ``where`` and the first missing, unexpected or
    wrongly shaped key.
    """
    expected = _expected_shapes(config)
    for key in state:
        if key not in expected:
            raise VadkitError(f"{where}: unexpected key {key!r}; expected {', '.join(expected)}")
    for key, shape in expected.items():
        if key not in state:
            raise VadkitError(f"{where}: missing key {key!r}")
        got = tuple(state[key].shape)
        if got != shape:
            c = config
            raise VadkitError(
                f"{where}: key {key!r} has shape {got}, expected {shape} for feature_dim="
                f"{c.feature_dim}, d_a={c.d_a}, r={c.r}, hidden={c.hidden}"
            )
    return {_to_vadkit_key(k): state[k].detach().to(torch.float32) for k in expected}


def to_reference(model: AnmModel | dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """State dict in the reference layout and spelling (CPU tensors, reference key order)."""
    state = model.state_dict() if isinstance(model, AnmModel) else model
    return OrderedDict((_to_reference_key(k), v.detach().cpu().clone()) for k, v in state.items())


def load_reference_checkpoint(
    path: str | Path,
    config: AnmConfig | None = None,
    d_a: int | None = None,
    r: int | None = None,
) -> AnmModel:
    """Build an :class:`AnmModel` in eval mode from a released (or vadkit-named) checkpoint.

    Parameters
    ----------
    path : ``.pth`` file holding the state dict, e.g. ``SelfAttention-da64-r3-T32-seed9111.pth``.
    config : full config to check the file against; None infers feature_dim, d_a, r and
        hidden from the file (other fields keep their defaults).
    d_a, r : when given (alone or with ``config``), the file must have these sizes.

    Returns
    -------
    The model with the file's weights, in ``eval()`` mode.
    """
    state = _read(path)
    where = str(path)
    config = infer_config(state, where) if config is None else config
    config = replace(config, d_a=config.d_a if d_a is None else d_a, r=config.r if r is None else r)
    model = AnmModel(config)
    model.load_state_dict(from_reference(state, config, where), strict=True)
    return model.eval()


def save_reference_checkpoint(model: AnmModel, path: str | Path) -> Path:
    """Save ``model`` as the reference would (its key names), loadable by the reference code."""
    path = Path(path)
    torch.save(to_reference(model), path)
    return path
