"""``tacnet``: temporal attention clustering network on 32-segment bags (C3D or I3D features)."""

from vadkit.methods.tacnet.backbone import TACnetWithBackbone
from vadkit.methods.tacnet.config import TACnetConfig
from vadkit.methods.tacnet.model import TACnetModel

__all__ = ["TACnetConfig", "TACnetModel", "TACnetWithBackbone"]
