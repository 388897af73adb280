"""Views: read-only, ordered subsets of a store (train / validation / test) for a trainer.

Example::

    store = FeatureStore.open("stores/ucf")
    train, val, record = train_val_split(select(store, split="train"), fraction=0.2, seed=0)
    test = select(store, split="test")

A validation split is carved from the training videos only, stratified by label (and class
when the store has classes) and seeded; ``record`` holds the fraction, the seed and the ids
of each side, so a run directory can store it and be repeated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.store_reader import FeatureStore, StoreInfo, VideoEntry

__all__ = ["StoreView", "select", "train_val_split"]


class StoreView:
    """A read-only, ordered subset of a store's videos.

    Iterating yields video ids (as iterating a :class:`FeatureStore` does); ``entries``
    holds the :class:`VideoEntry` of each, in the same order.
    """

    def __init__(self, store: FeatureStore, entries: Iterable[VideoEntry]) -> None:
        self.store = store
        self._entries = tuple(entries)
        self._index = {e.id: i for i, e in enumerate(self._entries)}

    @property
    def entries(self) -> list[VideoEntry]:
        return list(self._entries)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self._entries]

    @property
    def info(self) -> StoreInfo:
        """The store's metadata (how the features were made)."""
        return self.store.info

    @property
    def labels(self) -> np.ndarray:
        """``(N,)`` int64 video labels in view order: 1 anomalous, 0 normal, -1 unknown."""
        return np.array([-1 if e.label is None else e.label for e in self._entries], np.int64)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._index

    def entry(self, video_id: str) -> VideoEntry:
        if video_id not in self._index:
            raise VadkitError(f"video {video_id!r} is not in this view of store {self.store.path}")
        return self._entries[self._index[video_id]]

    def load(self, video_id: str, mmap: bool = True) -> np.ndarray:
        """Features of one video of the view, ``(T, crops, D)`` float32 (memory-mapped)."""
        self.entry(video_id)
        return self.store.load(video_id, mmap=mmap)

    def __repr__(self) -> str:
        return f"StoreView({str(self.store.path)!r}, videos={len(self)})"


def _as_view(store_or_view: FeatureStore | StoreView) -> StoreView:
    if isinstance(store_or_view, StoreView):
        return store_or_view
    if isinstance(store_or_view, FeatureStore):
        return StoreView(store_or_view, store_or_view.entries)
    raise TypeError(f"expected a FeatureStore or StoreView, got {type(store_or_view).__name__}")


def _names(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def select(
    store_or_view: FeatureStore | StoreView,
    *,
    split: str | Iterable[str] | None = None,
    label: int | None = None,
    classes: str | Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
) -> StoreView:
    """The videos that match every given filter, in the order of ``store_or_view``.

    Parameters
    ----------
    store_or_view : a store or a view to narrow.
    split : one split name or several (``"train"``, ``"test"``, ...).
    label : 1 anomalous, 0 normal, -1 unknown.
    classes : one class name or several (``"Normal"``, ``"Fight"``, ...).
    ids : video ids; every one must be in ``store_or_view``.

    A split or class that no video has is an error (a typo would give an empty view);
    filters that match nothing together give an empty view.
    """
    view = _as_view(store_or_view)
    where = f"store {view.store.path}"
    splits, cls_names = _names(split), _names(classes)
    for what, wanted, have in (
        ("split", splits, {e.split for e in view.entries}),
        ("class", cls_names, {e.cls for e in view.entries}),
    ):
        unknown = [w for w in wanted or [] if w not in have]
        if unknown:
            known = ", ".join(sorted(str(h) for h in have if h is not None)) or "none"
            raise VadkitError(f"{where}: no video has {what} {unknown[0]!r} (it has: {known})")
    if label not in (None, -1, 0, 1):
        raise VadkitError(f"label must be 1, 0 or -1 (unknown), got {label!r}")
    wanted_ids = None if ids is None else set(ids)
    if wanted_ids is not None:
        missing = sorted(wanted_ids - set(view.ids))
        if missing:
            raise VadkitError(
                f"{where}: {len(missing)} video(s) not in the view, e.g. {missing[0]!r}"
            )
    keep = [
        e
        for e in view.entries
        if (splits is None or e.split in splits)
        and (label is None or (-1 if e.label is None else e.label) == label)
        and (cls_names is None or e.cls in cls_names)
        and (wanted_ids is None or e.id in wanted_ids)
    ]
    return StoreView(view.store, keep)


def train_val_split(
    view: FeatureStore | StoreView,
    fraction: float = 0.2,
    seed: int = 0,
    stratify: str | None = "label",
) -> tuple[StoreView, StoreView, dict[str, Any]]:
    """Carve a seeded, stratified validation set out of training videos.

    Parameters
    ----------
    view : the training videos (e.g. ``select(store, split="train")``).
    fraction : share of the videos that go to validation, in (0, 1).
    seed : seed of the draw; the same ids, fraction and seed give the same split, whatever
        the order of the view.
    stratify : ``"label"`` keeps each (label, class) group's share (largest remainders, so
        the total is ``fraction * N`` rounded half up); ``None`` draws from all videos at once.

    Returns
    -------
    (train view, validation view, record) where record is ``{"fraction", "seed", "stratify",
    "train_ids", "val_ids"}``; both views keep the input order.
    """
    view = _as_view(view)
    if not 0 < fraction < 1:
        raise VadkitError(f"validation fraction must be between 0 and 1, got {fraction}")
    if stratify not in ("label", None):
        raise VadkitError(f"stratify must be 'label' or None, got {stratify!r}")
    n = len(view)
    n_val = int(np.floor(fraction * n + 0.5))  # half up: 0.5 of 5 videos is 3
    if n_val == 0 or n_val == n:
        raise VadkitError(
            f"a validation fraction of {fraction} of {n} videos leaves "
            f"{'no validation' if n_val == 0 else 'no training'} video; change the fraction"
        )
    groups: dict[tuple, list[str]] = {}
    for e in view.entries:
        key = (-1 if e.label is None else e.label, e.cls or "") if stratify else ()
        groups.setdefault(key, []).append(e.id)
    keys = sorted(groups)
    share = {k: fraction * len(groups[k]) for k in keys}
    take = {k: int(np.floor(share[k])) for k in keys}
    # the rounding left over goes to the groups with the largest remainders (ties by key)
    by_remainder = sorted(keys, key=lambda k: (-(share[k] - take[k]), keys.index(k)))
    for k in by_remainder[: n_val - sum(take.values())]:
        take[k] += 1
    rng = np.random.default_rng(seed)
    val: set[str] = set()
    for k in keys:
        members = sorted(groups[k])
        val.update(members[i] for i in rng.permutation(len(members))[: take[k]])
    train_view = StoreView(view.store, [e for e in view.entries if e.id not in val])
    val_view = StoreView(view.store, [e for e in view.entries if e.id in val])
    record = {
        "fraction": float(fraction),
        "seed": int(seed),
        "stratify": stratify,
        "train_ids": train_view.ids,
        "val_ids": val_view.ids,
    }
    return train_view, val_view, record
