"""Reading videos and the feature store: decoding, inputs, the FeatureStore, views, pooled caches.

>>> from vadkit.io import FeatureStore, select, train_val_split, pooled_features
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use: decoding needs PyAV, which reading a store should not load
_HOME = {
    "FeatureStore": "store",
    "StoreInfo": "store",
    "StoreWriter": "store",
    "VideoEntry": "store",
    "finalize_store": "store_writer",
    "StoreView": "views",
    "select": "views",
    "train_val_split": "views",
    "PooledFeatures": "pooled",
    "pooled_features": "pooled",
    "check_store": "check",
    "InputItem": "inputs",
    "list_inputs": "inputs",
    "VideoMeta": "video",
    "open_video": "video",
    "probe": "video",
    "video_id_from_path": "names",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"vadkit.io.{_HOME[name]}"), name)
    raise AttributeError(f"module 'vadkit.io' has no attribute {name!r}")
