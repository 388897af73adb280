"""Training data: stores, the validation split, pooled arrays and balanced batches.

The store views, the split and the pooled caches belong to :mod:`vadkit.io.views` and
:mod:`vadkit.io.pooled`; the trainer reaches them only through :func:`open_view`,
:func:`split_train_val` and :func:`pool`, so each can be swapped in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "BalancedSampler",
    "check_classes",
    "gather",
    "manifest_fingerprint",
    "open_store",
    "open_view",
    "pool",
    "split_train_val",
]


def open_store(path: str | Path, role: str) -> Any:
    """Open the FeatureStore given as ``--{role}``; a missing store is a one-line error."""
    from vadkit.io.store import FeatureStore

    path = Path(path)
    if not (path / "manifest.json").is_file():
        what = "does not exist" if not path.exists() else "has no manifest.json"
        raise VadkitError(
            f"--{role} {path}: {what}; give a feature store made by vadkit extract or import"
        )
    return FeatureStore.open(path)


def manifest_fingerprint(store: Any) -> str:
    """sha256 (16 hex digits) of a store's ``manifest.json``: which videos, labels and recipe."""
    import hashlib

    return hashlib.sha256((Path(store.path) / "manifest.json").read_bytes()).hexdigest()[:16]


def open_view(store: Any, split: str | None = None) -> Any:
    """The store's videos (of ``split`` if given) as a ``vadkit.io.views.StoreView``."""
    from vadkit.io.views import select

    view = select(store, split=split)
    if len(view) == 0:
        raise VadkitError(
            f"store {store.path} has no videos" + (f" of split {split!r}" if split else "")
        )
    return view


def split_train_val(view: Any, fraction: float, seed: int) -> tuple[list[str], list[str], dict]:
    """Seeded split of the training videos, stratified by label: ``(train ids, val ids, info)``.

    ``fraction`` of each label's videos (rounded, at least one when ``fraction > 0``) is
    held out for validation; ``info`` records fraction, seed and both id lists.
    """
    from vadkit.io.views import train_val_split

    train, val, info = train_val_split(view, fraction=fraction, seed=seed, stratify="label")
    return list(train.ids), list(val.ids), dict(info)


def pool(view: Any, n_segments: int, rule: str, cache_dir: str | None = None) -> Any:
    """Pooled ``(N, n_segments, C, D)`` arrays of ``view`` (a cached ``PooledFeatures``)."""
    from vadkit.io.pooled import pooled_features

    return pooled_features(view, n_segments=n_segments, rule=rule, cache_dir=cache_dir)


def check_classes(labels: np.ndarray, ids: Sequence[str], need: int, where: str) -> None:
    """Both classes present (``need`` videos each) and no unlabelled video; else one line."""
    labels = np.asarray(labels)
    unknown = [ids[i] for i in np.flatnonzero((labels != 0) & (labels != 1))]
    if unknown:
        raise VadkitError(
            f"{where}: {len(unknown)} videos have no normal/abnormal label (e.g. {unknown[0]!r});"
            " weakly-supervised training needs a video label for every training video"
        )
    for value, name in ((0, "normal"), (1, "abnormal")):
        have = int((labels == value).sum())
        if have < need:
            raise VadkitError(
                f"{where}: {have} {name} videos, at least {need} needed "
                f"(batch of {need} per class); lower train.batch_per_class or add videos"
            )


class BalancedSampler:
    """Endless balanced batches: ``n`` normal row indices, then ``n`` abnormal ones.

    Each class is drawn from its own seeded permutation without replacement; when fewer
    than ``n`` rows are left the class is reshuffled (the reference loaders' shuffle with
    drop-last, restarted when exhausted).

    >>> s = BalancedSampler(np.array([0, 0, 1, 1, 1]), n=2, seed=0)
    >>> b = next(s); b.shape, sorted(b[:2].tolist())
    ((4,), [0, 1])
    """

    def __init__(self, labels: np.ndarray, n: int, seed: int) -> None:
        labels = np.asarray(labels)
        self.n = int(n)
        self.rng = np.random.default_rng(seed)
        self.pools = [np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)]
        for cls, rows in enumerate(self.pools):
            if len(rows) < self.n:
                raise VadkitError(f"{len(rows)} videos of label {cls}, a batch needs {self.n}")
        self.orders = [self.rng.permutation(p) for p in self.pools]
        self.pos = [0, 0]

    def _take(self, cls: int) -> np.ndarray:
        if self.pos[cls] + self.n > len(self.orders[cls]):
            self.orders[cls] = self.rng.permutation(self.pools[cls])
            self.pos[cls] = 0
        out = self.orders[cls][self.pos[cls] : self.pos[cls] + self.n]
        self.pos[cls] += self.n
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        return np.concatenate([self._take(0), self._take(1)])


def gather(features: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows of pooled ``(N, S, C, D)`` features as a model batch ``(B, C, S, D)`` float32."""
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")  # sorted reads are kinder to a memmap
    batch = np.empty((len(rows), *features.shape[1:]), dtype=np.float32)
    batch[order] = features[rows[order]]
    return np.ascontiguousarray(batch.transpose(0, 2, 1, 3))
