"""FeatureStore: one float32 ``(T, crops, D)`` ``.npy`` per video plus ``manifest.json``.

The reading side lives in :mod:`vadkit.io.store_reader`, the writing side in
:mod:`vadkit.io.store_writer`; this module re-exports both, so
``from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter, VideoEntry`` keeps working.
See ``docs/store.md`` for the layout and its guarantees.
"""

from __future__ import annotations

from vadkit.io.store_reader import (
    FEATURES_DIR,
    MANIFEST,
    SCHEMA_VERSION,
    SCHEMA_VERSIONS,
    FeatureStore,
    StoreInfo,
    VideoEntry,
    load_npy,
    npy_header,
    safe_file_stem,
    upgrade_manifest,
)
from vadkit.io.store_writer import (
    RECIPE,
    StoreImport,
    StoreWriter,
    ensure_writable_dir,
    ensure_writable_store,
    finalize_store,
    read_recipe,
    recipe_conflict,
)

__all__ = [
    "FEATURES_DIR",
    "MANIFEST",
    "RECIPE",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "FeatureStore",
    "StoreImport",
    "StoreInfo",
    "StoreWriter",
    "VideoEntry",
    "ensure_writable_dir",
    "ensure_writable_store",
    "finalize_store",
    "load_npy",
    "npy_header",
    "read_recipe",
    "recipe_conflict",
    "safe_file_stem",
    "upgrade_manifest",
]
