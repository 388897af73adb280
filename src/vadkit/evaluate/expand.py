"""Snippet / segment scores -> per-frame scores, in the conventions published numbers use.

Two families of stores:

- snippet stores (I3D/C3D every ``stride`` frames): :func:`expand_snippets`, either ``"x16"``
  (``np.repeat`` by the snippet length, what published UCF-Crime / ShanghaiTech / XD numbers
  use) or ``"exact"`` (one score per real frame);
- fixed-segment stores (32 segments per video): :func:`expand_segments` with Sultani's
  rounded-linspace rule or TACnet's ``np.array_split``; the clip ranges come from
  :func:`vadkit.sampling.segment_bounds_sultani`, the rule extraction pools clips by.
"""

from __future__ import annotations

import numpy as np

from vadkit.errors import VadkitError
from vadkit.sampling import segment_bounds_sultani

__all__ = ["expand_segments", "expand_snippets", "segment_bounds_sultani"]


def _scores_1d(scores: object, fn: str) -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 1:
        raise VadkitError(f"{fn}: scores must be 1-D, got shape {s.shape}")
    if len(s) == 0:
        raise VadkitError(f"{fn}: scores is empty")
    if not (np.issubdtype(s.dtype, np.number) or s.dtype == bool):
        raise VadkitError(f"{fn}: scores must be numeric, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        bad = ~np.isfinite(s)
        raise VadkitError(
            f"{fn}: scores has {int(bad.sum())} non-finite values (first at index {int(np.argmax(bad))})"
        )
    return s


def _positive_int(value: object, name: str, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise VadkitError(f"{fn}: {name} must be a positive integer, got {value!r}")
    return int(value)


def expand_snippets(
    scores: np.ndarray,
    snippet_length: int = 16,
    stride: int | None = None,
    n_frames: int | None = None,
    convention: str = "x16",
) -> np.ndarray:
    """Per-snippet scores ``(T,)`` -> per-frame scores; snippet ``t`` starts at frame ``t * stride``.

    ``"x16"``: ``np.repeat(scores, snippet_length)``, length ``snippet_length * T`` whatever the
    video's length (``n_frames`` is not used). Needs ``stride == snippet_length``.

    ``"exact"``: length ``n_frames`` (required). Frame ``k`` takes the mean score of the
    snippets covering it, ``t * stride <= k < t * stride + snippet_length``: for
    non-overlapping snippets that is snippet ``min(k // stride, T - 1)``; with overlap
    (``stride < snippet_length``) the mean of the covering snippets. Frames past the last
    snippet take the last snippet's score; frames in a gap between snippets
    (``stride > snippet_length``) take the preceding snippet's.

    Returns
    -------
    (snippet_length * T,) or (n_frames,) float64 array.

    >>> expand_snippets(np.array([0.0, 1.0]), snippet_length=2, n_frames=5, convention="exact")
    array([0., 0., 1., 1., 1.])
    """
    fn = "expand_snippets"
    s = _scores_1d(scores, fn)
    length = _positive_int(snippet_length, "snippet_length", fn)
    step = length if stride is None else _positive_int(stride, "stride", fn)
    if convention == "x16":
        if step != length:
            raise VadkitError(
                f"{fn}: convention 'x16' repeats each score snippet_length times, which needs "
                f"stride == snippet_length; got stride {step}, snippet_length {length} (use 'exact')"
            )
        return np.repeat(s, length)
    if convention != "exact":
        raise VadkitError(f"{fn}: convention must be 'x16' or 'exact', got {convention!r}")
    if n_frames is None:
        raise VadkitError(f"{fn}: convention 'exact' needs n_frames (the video's frame count)")
    n = _positive_int(n_frames, "n_frames", fn)
    t_last = len(s) - 1
    k = np.arange(n)
    hi = np.minimum(k // step, t_last)
    # first snippet whose window [t*step, t*step + length) still contains k
    lo = np.maximum(0, -((length - 1 - k) // step))
    uncovered = lo > hi  # gap or past the end: fall back to the preceding / last snippet
    lo = np.where(uncovered, hi, lo)
    if step >= length:
        return s[hi]
    # sum the at most ceil(length / step) covering snippets directly (a cumsum difference
    # would not return a lone snippet's score exactly)
    total = np.zeros(n)
    for j in range(-(-length // step)):
        t = hi - j
        total += np.where(t >= lo, s[np.maximum(t, 0)], 0.0)
    return total / (hi - lo + 1)


def expand_segments(
    scores: np.ndarray,
    n_frames: int,
    n_clips: int | None = None,
    snippet_length: int = 16,
    rule: str = "sultani",
    tail: str = "last",
) -> np.ndarray:
    """Per-segment scores ``(S,)`` of a fixed-segment store -> per-frame scores ``(n_frames,)``.

    ``rule="sultani"``: the video's ``n_clips`` clips of ``snippet_length`` frames
    (default ``n_clips = n_frames // snippet_length``) are grouped by :func:`segment_bounds_sultani`
    and segment ``i`` scores the frames of its clips. Frames in no segment's clips (the tail
    past ``snippet_length * n_clips`` and, for longer videos, the last clip) take the last
    segment's score (``tail="last"``). ``tail="matlab"`` reproduces the official
    ``Evaluate_Anomaly_Detector.m`` as it runs: frames of unassigned clips keep 0 and the
    tail copies the score of frame ``snippet_length * n_clips - 1``.

    ``rule="array_split"``: TACnet's ``np.array_split`` of the frame indices into ``S``
    near-equal parts (the first ``n_frames % S`` parts one frame longer); ``n_clips``,
    ``snippet_length`` and ``tail`` are not used.

    >>> expand_segments(np.array([1.0, 2.0]), n_frames=5, rule="array_split").tolist()
    [1.0, 1.0, 1.0, 2.0, 2.0]
    """
    fn = "expand_segments"
    s = _scores_1d(scores, fn)
    n = _positive_int(n_frames, "n_frames", fn)
    if rule == "array_split":
        q, r = divmod(n, len(s))
        counts = np.full(len(s), q)
        counts[:r] += 1
        return np.repeat(s, counts)
    if rule != "sultani":
        raise VadkitError(f"{fn}: rule must be 'sultani' or 'array_split', got {rule!r}")
    if tail not in ("last", "matlab"):
        raise VadkitError(f"{fn}: tail must be 'last' or 'matlab', got {tail!r}")
    length = _positive_int(snippet_length, "snippet_length", fn)
    if n_clips is None:
        if n < length:
            raise VadkitError(
                f"{fn}: a video of {n} frames has no full {length}-frame clip; "
                "the Sultani segments are undefined"
            )
        n_clips = n // length
    nc = _positive_int(n_clips, "n_clips", fn)
    bounds = segment_bounds_sultani(nc, len(s))
    covered = np.full(nc * length, np.nan)
    for score, (a, b) in zip(s, bounds, strict=True):
        covered[a * length : b * length] = score  # later segments overwrite, as in MATLAB
    if tail == "matlab":
        covered = np.nan_to_num(covered, nan=0.0)
        fill = covered[-1]
    else:
        fill = s[-1]
        covered = np.where(np.isnan(covered), fill, covered)
    out = np.full(n, fill, dtype=np.float64)
    m = min(n, len(covered))
    out[:m] = covered[:m]
    return out
