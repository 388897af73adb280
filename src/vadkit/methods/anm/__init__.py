"""Salient-feature classifier (Watanabe et al. 2022, arXiv 2209.06435): ``anm``."""

from vadkit.methods.anm.checkpoint import load_reference_checkpoint, save_reference_checkpoint
from vadkit.methods.anm.config import AnmConfig
from vadkit.methods.anm.model import AnmModel

__all__ = ["AnmConfig", "AnmModel", "load_reference_checkpoint", "save_reference_checkpoint"]
