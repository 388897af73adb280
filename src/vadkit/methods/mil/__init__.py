"""``mil``: the MIL ranking model of Sultani et al. (CVPR 2018) on 32-segment bags."""

from vadkit.methods.mil.config import MILConfig
from vadkit.methods.mil.model import MILModel

__all__ = ["MILConfig", "MILModel"]
