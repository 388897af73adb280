"""How many crops each crop mode gives, and their order: no PyTorch, so a store's recipe can be
read (``options_from_store``, the exported-model path of ``vadkit predict``) without it."""

from __future__ import annotations

__all__ = ["CROP_COUNTS", "CROP_ORDERS"]

CROP_ORDERS = {
    "torchvision": ("tl", "tr", "bl", "br", "center"),
    "i3d_oversample": ("tl", "tr", "center", "bl", "br"),
}
CROP_COUNTS = {"center": 1, "five": 5, "ten": 10}  # crop mode -> crops per frame
