"""Windows of ``max_seqlen`` snippets: training samples and the test-time layout.

Training (``video_dataset_anomaly_balance_uni_sample.py`` + ``utils.process_feat`` /
``process_label`` of the reference): one random window of ``L`` snippets per video, start
``r ~ U{0, ..., T - L - 1}`` (``np.random.randint(len(feat) - t_max)``); a video of ``T <= L``
snippets is zero-padded at the end and starts at 0. Its frame targets are the frames
``[16 r, 16 (r + L))`` of the frame labels, zero-padded past the video's end. For an abnormal
video the draw is repeated (at most 11 draws in all) until the window holds an anomalous frame.

Test (``test.py``): the video is padded to a multiple of ``L`` by repeating its last snippet,
then every window of ``L`` consecutive snippets (stride 1) is scored.
"""

from __future__ import annotations

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["sample_window", "window_starts"]


def window_starts(n_snippets: int, max_seqlen: int, stride: int = 1) -> np.ndarray:
    """Start index of each test window over ``n_snippets`` (already padded to >= ``max_seqlen``).

    Starts are ``0, stride, 2 stride, ...``; the last window always ends at ``n_snippets``.

    >>> window_starts(7, 5).tolist(), window_starts(10, 5, stride=5).tolist()
    ([0, 1, 2], [0, 5])
    >>> window_starts(11, 5, stride=5).tolist()
    [0, 5, 6]
    """
    if n_snippets < max_seqlen:
        raise VadkitError(f"window_starts: {n_snippets} snippets < one window of {max_seqlen}")
    starts = list(range(0, n_snippets - max_seqlen + 1, stride))
    if starts[-1] != n_snippets - max_seqlen:
        starts.append(n_snippets - max_seqlen)
    return np.asarray(starts, dtype=np.int64)


def sample_window(
    features: np.ndarray,
    frame_labels: np.ndarray,
    max_seqlen: int,
    rng: np.random.Generator,
    *,
    frames_per_snippet: int = 16,
    abnormal: bool | None = None,
    max_draws: int = 11,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One training window of a video, as the reference draws it.

    Parameters
    ----------
    features : ``(T, ...)`` snippet features of one video (e.g. ``(T, C, D)``).
    frame_labels : ``(n_frames,)`` 0/1 frame labels (or ``(T,)`` snippet labels with
        ``frames_per_snippet=1``).
    max_seqlen : window length ``L``.
    rng : the random generator.
    frames_per_snippet : frames each snippet covers (16 for I3D snippets).
    abnormal : redraw until the window holds an anomalous frame; default: the video has one.
    max_draws : draws at most (the reference tries 1 + 10 times, then keeps the last).

    Returns
    -------
    window : ``(L, ...)`` float32 features.
    targets : ``(L * frames_per_snippet,)`` float32 frame targets.
    start : the window's first snippet.
    """
    feats = np.asarray(features, dtype=np.float32)
    labels = np.asarray(frame_labels, dtype=np.float32).reshape(-1)
    T, L, f = feats.shape[0], max_seqlen, frames_per_snippet
    if T == 0:
        raise VadkitError("sample_window: the video has no snippets (T=0)")
    if abnormal is None:
        abnormal = bool(labels.any())
    for _ in range(max_draws):
        start = int(rng.integers(T - L)) if T > L else 0
        lab = labels[f * start : f * (start + L)]
        if not abnormal or lab.any():
            break
    window = feats[start : start + L]
    if len(window) < L:
        pad = np.zeros((L - len(window), *feats.shape[1:]), np.float32)
        window = np.concatenate([window, pad])
    targets = np.zeros(L * f, np.float32)
    targets[: len(lab)] = lab
    return window, targets, start
