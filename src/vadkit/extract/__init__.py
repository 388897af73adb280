"""Feature extraction as public stages: plan, read frames, build clip batches, encode, write.

>>> from vadkit.extract import ExtractOptions, options_from_store  # doctest: +SKIP
>>> encode_video("clip.mp4", ExtractOptions(), backbone="efficientnet_lite0")  # doctest: +SKIP
"""

from vadkit.extract.encoder import (
    Encoder,
    encode_video,
    iter_features,
    load_encoder,
    weights_identity,
)
from vadkit.extract.engine import ExtractResult, extract, write_video
from vadkit.extract.options import (
    ExtractOptions,
    options_from_store,
    parse_shard,
    store_info,
    video_index,
)
from vadkit.extract.plan import ExtractPlan, claim_video, plan_extraction
from vadkit.extract.stages import ClipBatch, clip_batches, read_frames

__all__ = [
    "ClipBatch",
    "Encoder",
    "ExtractOptions",
    "ExtractPlan",
    "ExtractResult",
    "claim_video",
    "clip_batches",
    "encode_video",
    "extract",
    "iter_features",
    "load_encoder",
    "options_from_store",
    "parse_shard",
    "plan_extraction",
    "read_frames",
    "store_info",
    "video_index",
    "weights_identity",
    "write_video",
]
