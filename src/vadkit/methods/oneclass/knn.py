"""``knn``: distance to the k nearest normal training features, over a bounded coreset.

The memory bank is a greedy k-center coreset (Sener & Savarese 2018, as PatchCore uses it):
starting from a seeded random sample, repeatedly add the training point farthest from the
bank. The bank never holds more than ``coreset_size`` rows, so the fitted model takes at
most ``coreset_size * D * 4`` bytes whatever the training size; fitting first draws at most
``max_candidates`` training rows at random (seeded), bounding fit time and working memory
(``max_candidates * (D + 1) * 4`` bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.base import OneClassScorer

__all__ = ["KNNConfig", "KNNScorer", "kcenter_greedy", "knn_distances"]


@dataclass(frozen=True)
class KNNConfig:
    k: int = 1  # neighbours averaged (1 = nearest-neighbour distance)
    coreset_size: int = 4096  # upper bound on memory-bank rows
    max_candidates: int = 100_000  # training rows drawn (seeded) before the coreset
    l2_normalize: bool = True  # unit-length features (cosine geometry), as usual for CNN features
    seed: int = 0


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def kcenter_greedy(x: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Indices of a greedy k-center coreset of the rows of ``x`` ``(N, D)``.

    The first index is drawn with ``seed``; each next one is the row farthest (Euclidean)
    from those already chosen. Returns ``min(size, N)`` distinct indices, ``(M,)`` int64.
    """
    n = len(x)
    if size >= n:
        return np.arange(n, dtype=np.int64)
    if size < 1:
        raise VadkitError(f"coreset size must be >= 1, got {size}")
    rng = np.random.default_rng(seed)
    norms = _sq_norms(x)
    chosen = np.empty(size, np.int64)
    chosen[0] = rng.integers(n)
    mind = np.full(n, np.inf, np.float32)
    for i in range(size):
        c = chosen[i]
        d = norms + norms[c] - 2.0 * (x @ x[c])
        np.minimum(mind, d, out=mind)
        if i + 1 < size:
            chosen[i + 1] = int(np.argmax(mind))
    return chosen


def knn_distances(
    queries: np.ndarray, bank: np.ndarray, k: int = 1, chunk: int = 4096
) -> np.ndarray:
    """Mean Euclidean distance of each query ``(N, D)`` to its ``k`` nearest bank rows, ``(N,)``."""
    k = min(k, len(bank))
    bn = _sq_norms(bank)
    out = np.empty(len(queries), np.float64)
    for s in range(0, len(queries), chunk):
        q = queries[s : s + chunk]
        if k == 1:  # the query's own norm does not change which row is nearest: add it after
            d1 = (bn[None, :] - 2.0 * (q @ bank.T)).min(axis=1)
            out[s : s + chunk] = np.sqrt(np.maximum(d1 + _sq_norms(q), 0))
            continue
        d = _sq_norms(q)[:, None] + bn[None, :] - 2.0 * (q @ bank.T)
        part = np.partition(d, k - 1, axis=1)[:, :k] if k < len(bank) else d
        out[s : s + chunk] = np.sqrt(np.maximum(part, 0)).mean(axis=1)
    return out


class KNNScorer(OneClassScorer):
    """k-nearest-neighbour distance to normal features.

    ``fit(X)`` / ``score(X)`` take ``(N, D)`` or ``(N, C, D)`` (store features: crops are
    averaged) float arrays. Fitted: ``memory_`` ``(M, D)`` float32 with
    ``M <= coreset_size``.
    """

    name = "knn"
    config_class = KNNConfig

    def _prep(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 3:
            x = x.mean(axis=1)
        if x.ndim != 2:
            raise VadkitError(f"knn: expected (N, D) or (N, crops, D) features, got {x.shape}")
        if self.config.l2_normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(x, np.float32)

    def _fit(self, x: np.ndarray) -> None:
        c = self.config
        x = self._prep(x)
        if len(x) > c.max_candidates:
            pick = np.random.default_rng(c.seed).choice(len(x), c.max_candidates, replace=False)
            x = x[np.sort(pick)]
        self.memory_ = x[kcenter_greedy(x, c.coreset_size, c.seed)]

    def _score(self, x: np.ndarray) -> np.ndarray:
        return knn_distances(self._prep(x), self.memory_, self.config.k)
