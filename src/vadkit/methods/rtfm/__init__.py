"""RTFM (Tian et al., ICCV 2021): top-k feature-magnitude learning on snippet features."""

from vadkit.methods.rtfm.config import RTFMConfig
from vadkit.methods.rtfm.model import RTFMModel

__all__ = ["RTFMConfig", "RTFMModel"]
