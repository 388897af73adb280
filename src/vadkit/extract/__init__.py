"""Feature extraction as public stages: plan, read frames, build clip batches, encode, write.

>>> from vadkit.extract import ExtractOptions, options_from_store  # doctest: +SKIP
>>> encode_video("clip.mp4", ExtractOptions(), backbone="efficientnet_lite0")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use: encoding needs PyTorch, which reading a store's recipe
# (vadkit.extract.options, the exported-model path of `vadkit predict`) should not load
_HOME = {
    "Encoder": "encoder",
    "encode_video": "encoder",
    "iter_features": "encoder",
    "load_encoder": "encoder",
    "weights_identity": "encoder",
    "ExtractResult": "engine",
    "extract": "engine",
    "write_video": "engine",
    "ExtractOptions": "options",
    "options_from_store": "options",
    "parse_shard": "options",
    "store_info": "options",
    "video_index": "options",
    "ExtractPlan": "plan",
    "claim_video": "plan",
    "plan_extraction": "plan",
    "ClipBatch": "stages",
    "clip_batches": "stages",
    "read_frames": "stages",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"vadkit.extract.{_HOME[name]}"), name)
    raise AttributeError(f"module 'vadkit.extract' has no attribute {name!r}")
