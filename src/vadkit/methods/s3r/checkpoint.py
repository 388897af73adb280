"""Strict converter from the reference S3R ``state_dict`` layout to `S3RModel`.

The released checkpoints (``checkpoint/<dataset>_s3r_i3d_best.pth``) are plain state_dicts of
the reference ``S3R(2048, 32, 32, dropout=0.7)``: 88 entries, documented in
``shared/data/checkpoints/README.md``. Eight of them (``video_projection.*``,
``macro_projection.*``) belong to layers the reference never uses in ``forward``: they must be
present but are not loaded. The dictionary is released separately as a ``.npy``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import torch

from vadkit.methods.rtfm.checkpoint import aggregate_key_map, convert_state_dict, read_state_dict
from vadkit.methods.s3r.config import S3RConfig
from vadkit.methods.s3r.dictionary import load_dictionary
from vadkit.methods.s3r.model import S3RModel

__all__ = ["S3R_UNUSED_KEYS", "convert_s3r_state_dict", "load_s3r_checkpoint", "s3r_key_map"]

S3R_UNUSED_KEYS = tuple(
    f"{branch}_projection.{i}.{p}"
    for branch in ("video", "macro")
    for i in (0, 1)
    for p in ("weight", "bias")
)


def s3r_key_map() -> dict[str, str]:
    """Reference S3R key -> `S3RModel` key for the 80 loaded entries (not the dictionary)."""
    names = {"value": "value", "query": "query", "key": "key", "out": "alter"}
    m = aggregate_key_map("video_embedding.0.", "video_trunk.", 1, names)
    m |= aggregate_key_map("macro_embedding.0.", "macro_trunk.", 1, names)
    en = "en_normal.en_normal_module."
    for ref, ours in (("query", "query"), ("cache", "key"), ("value", "value")):
        for p in ("weight", "bias"):
            m[f"{en}{ref}_embedding.{p}"] = f"en_normal.{ours}.{p}"
    gate = "de_normal.channel_attention.channel_gate.mlp."
    for ref, ours in (("1", "fc1"), ("3", "fc2")):
        for p in ("weight", "bias"):
            m[f"{gate}{ref}.{p}"] = f"de_normal.{ours}.{p}"
    for i in ("0", "3", "6"):
        for p in ("weight", "bias"):
            m[f"video_classifier.{i}.{p}"] = f"classifier.{i}.{p}"
            m[f"macro_classifier.mlp.{i}.{p}"] = f"macro_classifier.{i}.{p}"
    return m


def convert_s3r_state_dict(
    state: Mapping[str, torch.Tensor], config: S3RConfig | None = None, source: str = "state_dict"
) -> dict[str, torch.Tensor]:
    """Reference S3R state_dict -> `S3RModel` state_dict without the ``dictionary`` buffer.

    Strict: all 88 reference keys present, none extra, shapes as the config's model.
    """
    with torch.device("meta"):  # shapes and dtypes only, nothing allocated
        target = S3RModel(config or S3RConfig()).state_dict()
    return convert_state_dict(state, s3r_key_map(), target, source, ignore=S3R_UNUSED_KEYS)


def load_s3r_checkpoint(
    path: str | os.PathLike,
    dictionary: str | os.PathLike | np.ndarray,
    config: S3RConfig | None = None,
) -> S3RModel:
    """An `S3RModel` (eval mode) from a reference checkpoint file and its dictionary.

    Parameters
    ----------
    path : the reference ``*_s3r_i3d_best.pth``.
    dictionary : the reference ``*_dictionaries.taskaware.omp.100iters.*pct.npy`` (or atoms).
    config : defaults to `S3RConfig` with ``n_atoms`` taken from the dictionary.
    """
    config = config or S3RConfig()
    if isinstance(dictionary, np.ndarray):
        atoms = dictionary.astype(np.float32)
    else:
        atoms = load_dictionary(dictionary, config.feature_dim)
    if atoms.ndim == 2 and atoms.shape[0] != config.n_atoms:
        config = S3RConfig.from_dict({**config.to_dict(), "n_atoms": int(atoms.shape[0])})
    model = S3RModel(config)
    state = convert_s3r_state_dict(read_state_dict(path), config, str(path))
    model.set_dictionary(atoms)
    state["dictionary"] = model.dictionary.clone()
    model.load_state_dict(state, strict=True)
    return model.eval()
