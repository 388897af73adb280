"""Align a dataset's frame-level ground truth to the videos of a feature store.

Two conventions, matching :func:`vadkit.evaluate.expand.expand_snippets`:

- ``"x16"``: each video gets ``snippet_length * T`` labels, its true labels edge-padded
  (last value repeated) or truncated to that length. Published UCF-Crime, ShanghaiTech
  and XD-Violence numbers use it: RTFM's ShanghaiTech release has ``T = ceil(n / 16)``
  (padded, ``gt-sh.npy``), UCF-Crime stores usually ``T = floor(n / 16)`` (truncated).
- ``"exact"``: each video gets its true ``n_frames`` labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vadkit.datasets.annotations.groundtruth import GroundTruth
from vadkit.errors import VadkitError
from vadkit.io.check import allowed_T as store_allowed_T
from vadkit.io.store import FeatureStore, StoreInfo, VideoEntry
from vadkit.sampling import allowed_T, segment_bounds_sultani

__all__ = ["CONVENTIONS", "SnippetLabels", "align_labels", "snippet_labels", "x16_labels"]

CONVENTIONS = ("x16", "exact")


def x16_labels(labels: np.ndarray, T: int, snippet_length: int = 16) -> np.ndarray:
    """Per-frame labels cut or edge-padded to ``snippet_length * T`` frames.

    Parameters
    ----------
    labels : (n,) array of 0/1
    T : number of snippets of the video in the store
    snippet_length : frames per snippet

    Returns
    -------
    (snippet_length * T,) uint8 array.

    >>> x16_labels(np.array([0, 1, 1]), T=2, snippet_length=2).tolist()
    [0, 1, 1, 1]
    >>> x16_labels(np.array([0, 1, 1, 0, 1]), T=2, snippet_length=2).tolist()
    [0, 1, 1, 0]
    """
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0:
        raise VadkitError(
            f"x16_labels: labels must be a non-empty 1-D array, got shape {lab.shape}"
        )
    if T < 1 or snippet_length < 1:
        raise VadkitError(
            f"x16_labels: T and snippet_length must be >= 1, got {T} and {snippet_length}"
        )
    target = int(T) * int(snippet_length)
    lab = lab.astype(np.uint8, copy=False)
    if lab.size >= target:
        return lab[:target].copy()
    return np.pad(lab, (0, target - lab.size), mode="edge")


def _entries_info(
    store_or_entries: FeatureStore | Iterable[VideoEntry],
) -> tuple[list[VideoEntry], StoreInfo | None]:
    if isinstance(store_or_entries, FeatureStore):
        return store_or_entries.entries, store_or_entries.info
    store = getattr(store_or_entries, "store", None)  # a StoreView: a subset of a store
    if isinstance(store, FeatureStore):
        return list(store_or_entries.entries), store.info
    entries = list(store_or_entries)
    bad = [e for e in entries if not isinstance(e, VideoEntry)]
    if bad:
        raise VadkitError(
            f"align_labels: expected a FeatureStore or VideoEntry objects, got {type(bad[0]).__name__}"
        )
    return entries, None


def _allowed_T(n: int, per_snippet: int, info: StoreInfo | None) -> set[int]:
    allowed = allowed_T(n, per_snippet)
    if info is not None:
        allowed |= store_allowed_T(n, info)
    return allowed


def align_labels(
    gt: GroundTruth,
    store_or_entries: FeatureStore | Iterable[VideoEntry],
    convention: str = "x16",
    snippet_length: int | None = None,
    missing: str = "error",
) -> dict[str, np.ndarray]:
    """Per-frame labels for every video of a store, in store order.

    Parameters
    ----------
    gt : ground truth from one of the readers
    store_or_entries : a FeatureStore, or its ``VideoEntry`` objects
    convention : ``"x16"`` (``snippet_length * T`` labels per video) or ``"exact"``
        (the true frame count, from the ground truth or else the entry's ``n_frames``)
    snippet_length : frames per snippet; default the store's ``snippet_length``
        (16 for a plain list of entries)
    missing : ``"error"`` or ``"skip"`` for store videos absent from the ground truth

    Returns
    -------
    dict video id -> ``(snippet_length * T,)`` or ``(n_frames,)`` uint8 labels.

    Raises VadkitError when a video's snippet count does not fit its annotated length
    (neither ``floor`` nor ``ceil`` of ``n / snippet_length``, nor the store's own sampling
    rule), naming the video and both lengths.
    """
    if convention not in CONVENTIONS:
        raise VadkitError(f"convention must be 'x16' or 'exact', got {convention!r}")
    if missing not in ("error", "skip"):
        raise VadkitError(f"missing must be 'error' or 'skip', got {missing!r}")
    if snippet_length is not None and (isinstance(snippet_length, bool) or snippet_length < 1):
        raise VadkitError(f"snippet_length must be a positive integer, got {snippet_length!r}")
    entries, info = _entries_info(store_or_entries)
    segments = bool(info is not None and info.n_segments)
    if segments and convention == "x16":
        raise VadkitError(
            f"store has {info.n_segments} fixed segments per video: 'x16' labels are undefined "
            "(a segment is not 16 frames); use convention='exact' (--convention exact)"
        )
    L = snippet_length or (info.snippet_length if info is not None else None) or 16
    if (
        convention == "x16"
        and snippet_length is None
        and info is not None
        and ((info.stride or L) != L or info.frame_step != 1)
    ):
        raise VadkitError(
            f"'x16' needs snippets that tile the video (stride == snippet length, frame_step 1); "
            f"store has snippet length {L}, stride {info.stride}, frame_step {info.frame_step}: "
            "use convention='exact' (--convention exact) or pass snippet_length (--snippet-length)"
        )
    out: dict[str, np.ndarray] = {}
    for e in entries:
        if e.id not in gt:
            if missing == "skip":
                continue
            raise VadkitError(
                f"video {e.id!r} of the store is not in the {gt.dataset} ground truth "
                f"({gt.source or 'no source'}); pass missing='skip' to leave it out"
            )
        if not segments:
            _check_length(gt, e, L, info)
        out[e.id] = _x16(gt, e, L) if convention == "x16" else _exact(gt, e)
    return out


def _check_length(gt: GroundTruth, e: VideoEntry, L: int, info: StoreInfo | None) -> None:
    if gt.padded_to and e.id in gt.labels:
        padded = gt.labels[e.id].size
        if padded != gt.padded_to * e.T:
            raise VadkitError(
                f"video {e.id!r}: features have T={e.T}, i.e. {gt.padded_to * e.T} frames at "
                f"{gt.padded_to} per snippet, the {gt.dataset} annotation is padded to {padded} frames"
            )
        return
    n = gt.true_length(e.id)
    if n is None:
        return
    allowed = _allowed_T(n, L, info)
    if e.T not in allowed:
        raise VadkitError(
            f"video {e.id!r}: features have T={e.T}, i.e. {L * e.T} frames at {L} per snippet, "
            f"annotation has {n} frames (expected T in {sorted(allowed)}); "
            "is it the same video, at the same frame rate?"
        )


def _x16(gt: GroundTruth, e: VideoEntry, L: int) -> np.ndarray:
    if e.id in gt.labels:
        return x16_labels(gt.labels[e.id], e.T, L)
    # length unknown to the annotation: intervals are clipped to 16 T, as XDVioDet does
    return gt.labels_for(e.id, L * e.T)


def _exact(gt: GroundTruth, e: VideoEntry) -> np.ndarray:
    n_gt, n_store = gt.true_length(e.id), e.n_frames
    if n_gt is not None and n_store is not None and n_gt != n_store:
        raise VadkitError(
            f"video {e.id!r}: the store says {n_store} frames, the {gt.dataset} annotation "
            f"has {n_gt} frames; 'exact' labels need the two to agree"
        )
    n = n_gt if n_gt is not None else n_store
    if n is None:
        raise VadkitError(
            f"video {e.id!r}: 'exact' labels need its frame count, which neither the "
            f"{gt.dataset} annotation nor the store entry gives; use convention='x16' "
            "(--convention x16) or record n_frames in the store (--frame-counts at import)"
        )
    if gt.padded_to and e.id in gt.labels:
        padded = gt.labels[e.id]
        # padded labels are the true ones edge-padded: the first n of them are exact
        if not padded.size - gt.padded_to < n <= padded.size:
            raise VadkitError(
                f"video {e.id!r}: the store says {n} frames, the {gt.dataset} annotation is "
                f"padded to {padded.size} frames (a multiple of {gt.padded_to})"
            )
        return padded[:n].copy()
    return gt.labels_for(e.id, n).copy()


@dataclass(frozen=True)
class SnippetLabels:
    """Per-snippet labels of one video.

    Attributes
    ----------
    any : (T,) int8, 1 when any frame of the snippet is anomalous
    fraction : (T,) float32, the share of the snippet's frames that are anomalous
    """

    any: np.ndarray
    fraction: np.ndarray


def snippet_labels(
    gt: GroundTruth,
    store_or_entries: FeatureStore | Iterable[VideoEntry],
    convention: str = "x16",
    snippet_length: int | None = None,
    missing: str = "error",
) -> dict[str, SnippetLabels]:
    """Per-snippet labels of every video of a store: anomalous if any of its frames is.

    The frame labels are those of :func:`align_labels` (same arguments). In ``"x16"``
    snippet ``t`` owns frames ``[L t, L t + L)`` of the ``L T`` labels. In ``"exact"`` it
    owns the real frames of its window ``[t stride, t stride + span)`` (``span = (L - 1)
    frame_step + 1``), clipped to the video (a padded snippet past the end takes the last
    frame); in a fixed-segment store segment ``i`` owns the frames its scores are spread
    over (Sultani's clip ranges, or ``np.array_split`` for TACnet stores).

    Returns
    -------
    dict video id -> :class:`SnippetLabels` with ``(T,)`` arrays, in store order.

    >>> from vadkit.datasets.annotations import GroundTruth
    >>> from vadkit.io.store import VideoEntry
    >>> gt = GroundTruth("demo", labels={"v": np.array([0, 0, 0, 1, 1, 1, 1, 1])})
    >>> sl = snippet_labels(gt, [VideoEntry(id="v", file="", T=2)], snippet_length=4)["v"]
    >>> sl.any.tolist(), sl.fraction.tolist()
    ([1, 1], [0.25, 1.0])
    """
    frames = align_labels(gt, store_or_entries, convention, snippet_length, missing)
    entries, info = _entries_info(store_or_entries)
    L = snippet_length or (info.snippet_length if info is not None else None) or 16
    out: dict[str, SnippetLabels] = {}
    for e in entries:
        if e.id not in frames:
            continue
        lab = frames[e.id].astype(np.int64)
        if convention == "x16":
            lo = np.arange(e.T, dtype=np.int64) * L
            hi = lo + L
        else:
            lo, hi = _exact_windows(e.T, lab.size, L, info)
        csum = np.concatenate([[0], np.cumsum(lab)])
        count = csum[hi] - csum[lo]
        out[e.id] = SnippetLabels(
            any=(count > 0).astype(np.int8), fraction=(count / (hi - lo)).astype(np.float32)
        )
    return out


def _exact_windows(T: int, n: int, L: int, info: StoreInfo | None) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` frame range of each of ``T`` snippets (or segments) of an ``n``-frame video."""
    if info is not None and info.n_segments:
        if info.extra.get("segment_rule") == "tacnet":
            parts = np.array_split(np.arange(n), T)
            lo = np.array([p[0] if p.size else n - 1 for p in parts])
            hi = np.array([p[-1] + 1 if p.size else n for p in parts])
            return lo, hi
        if n < L:
            raise VadkitError(f"a video of {n} frames has no full {L}-frame clip for its segments")
        bounds = segment_bounds_sultani(n // L, T)
        lo, hi = bounds[:, 0] * L, bounds[:, 1] * L
    else:
        stride = (info.stride if info is not None else None) or L
        step = (info.frame_step if info is not None else None) or 1
        lo = np.arange(T, dtype=np.int64) * stride
        hi = lo + (L - 1) * step + 1
    lo = np.minimum(lo, n - 1)  # a padded snippet past the end: the last frame
    hi = np.clip(hi, lo + 1, n)
    return lo, hi
