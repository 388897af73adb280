"""Sultani et al.'s released Keras weights (``weights_L1L2.mat``) -> a ``MILModel`` state_dict.

Layout, from ``save_model`` / ``load_weights`` / ``conv_dict`` of the official
``TrainingAnomalyDetector_public.py`` and the layer list of ``model.json``: a MATLAB file with
one variable per Keras layer, named by its index::

    '0'  Dense(4096 -> 512)   1x2 cell: W (4096, 512), b (1, 512)
    '1'  Dropout(0.6)         empty (0x0)
    '2'  Dense(512 -> 32)     1x2 cell: W (512, 32), b (1, 32)
    '3'  Dropout(0.6)         empty (0x0)
    '4'  Dense(32 -> 1)       1x2 cell: W (32, 1), b (1, 1)

Keras kernels are ``(in, out)``; torch ``Linear`` weights are ``(out, in)``, so they are
transposed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vadkit.errors import VadkitError

__all__ = ["convert_sultani_weights", "load_sultani_weights"]


_DENSE = {"0": "fc1", "2": "fc2", "4": "fc3"}
_DROPOUT = ("1", "3")


def convert_sultani_weights(mat: dict, where: str = "weights") -> dict[str, torch.Tensor]:
    """Convert the variables of a loaded ``weights_L1L2.mat`` (``scipy.io.loadmat``).

    Returns a state_dict with ``fc{1,2,3}.{weight,bias}``; a missing or malformed layer is a
    one-line :class:`VadkitError` naming ``where`` and the layer.
    """
    state: dict[str, torch.Tensor] = {}
    for key in _DROPOUT:
        if key in mat and np.asarray(mat[key]).size:
            raise VadkitError(f"{where}: layer '{key}' should be an empty Dropout entry")
    for key, name in _DENSE.items():
        if key not in mat:
            raise VadkitError(f"{where}: layer '{key}' ({name}) is missing")
        cell = np.asarray(mat[key], dtype=object).reshape(-1)
        if cell.size != 2:
            raise VadkitError(
                f"{where}: layer '{key}' ({name}) should hold [W, b], got {cell.size}"
            )
        w = np.asarray(cell[0], dtype=np.float32)
        b = np.asarray(cell[1], dtype=np.float32).reshape(-1)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise VadkitError(
                f"{where}: layer '{key}' ({name}) has W {w.shape} and b {b.shape}, "
                "expected (in, out) and (out,)"
            )
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(w.T))
        state[f"{name}.bias"] = torch.from_numpy(b.copy())
    return state


def load_sultani_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read ``weights_L1L2.mat`` and return the ``MILModel`` state_dict (load it strictly)."""
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise VadkitError(f"cannot read Sultani weights {path}: {exc}") from exc
    return convert_sultani_weights(mat, str(path))
