"""AED-T (Wan et al., IET Image Processing 2021): fully supervised ConvLSTM over snippet windows."""

from vadkit.methods.aed_t.config import AedTConfig
from vadkit.methods.aed_t.model import AedTModel

__all__ = ["AedTConfig", "AedTModel"]
