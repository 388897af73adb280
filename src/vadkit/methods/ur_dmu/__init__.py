"""UR-DMU (Zhou, Yu, Yang, AAAI 2023): dual memory units with uncertainty regulation."""

from vadkit.methods.ur_dmu.config import UrDmuConfig
from vadkit.methods.ur_dmu.model import UrDmuModel

__all__ = ["UrDmuConfig", "UrDmuModel"]
