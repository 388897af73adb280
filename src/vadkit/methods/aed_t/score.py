"""AED-T test-time procedure (``test.py`` of the reference): sliding windows and max-merge.

A video of ``T`` snippets is padded to a multiple of ``L = max_seqlen`` by repeating its last
snippet; every window of ``L`` consecutive snippets (``window_stride``, 1 in the reference) is
scored; each window's ``L * 16`` frame scores are placed at frames ``[16 s, 16 (s + L))`` of its
start ``s``, and each frame takes the maximum over the windows covering it. Frames of the padding
are dropped, and a snippet's score is the mean of its 16 frame scores. Each window also predicts a
class; the reference's class accuracy counts every window against its video's class, and the
video class here is the argmax of the windows' mean softmax.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor, nn

from vadkit.methods.aed_t.windows import window_starts

__all__ = ["merge_windows", "predict_video"]

_CHUNK = 256  # windows per forward pass (bounds memory on long videos)


def merge_windows(
    window_scores: Tensor, starts: Tensor, n_frames: int, frames_per_snippet: int, how: str = "max"
) -> Tensor:
    """Merge overlapping window scores into one frame-score track.

    Parameters
    ----------
    window_scores : ``(W, L * f)`` scores of each window.
    starts : ``(W,)`` first snippet of each window.
    n_frames : length of the merged track (``f`` times the padded snippet count).
    frames_per_snippet : ``f``.
    how : ``"max"`` (the reference) or ``"mean"``.

    Returns
    -------
    ``(n_frames,)`` merged scores; frames no window covers are 0.
    """
    W, n = window_scores.shape
    idx = starts.reshape(W, 1) * frames_per_snippet + torch.arange(n).reshape(1, n)
    out = window_scores.new_zeros(n_frames)
    reduce = "amax" if how == "max" else "mean"
    return out.scatter_reduce(
        0, idx.reshape(-1), window_scores.reshape(-1), reduce, include_self=False
    )


def predict_video(model: nn.Module, x: Tensor) -> dict[str, np.ndarray]:
    """Score whole videos ``x (B, C, T, D)`` (checked) at native length; see the module doc."""
    cfg = model.config
    L, f = cfg.max_seqlen, cfg.frames_per_snippet
    B, C, T, D = x.shape
    was_training = model.training
    model.eval()
    if T < L:
        warnings.warn(
            f"AED-T: a video of {T} snippets is shorter than one window ({L}); padded by "
            "repeating its last snippet",
            stacklevel=3,
        )
    pad = (-T) % L
    if pad:
        x = torch.cat([x, x[:, :, -1:].expand(B, C, pad, D)], dim=2)
    Tp = T + pad
    starts = torch.from_numpy(window_starts(Tp, L, cfg.window_stride))
    idx = starts.reshape(-1, 1) + torch.arange(L).reshape(1, L)  # (W, L)
    frames_out, logits_out = [], []
    try:
        for b in range(B):
            # windows gathered a chunk at a time: (C, W, L, D) at once is large for long videos
            parts = [
                model.windows_forward(x[b][:, idx[i : i + _CHUNK]].reshape(-1, L, D))
                for i in range(0, len(idx), _CHUNK)
            ]  # each chunk: (C * w, ...) crop-major
            logits = torch.cat([p[0].reshape(C, -1, p[0].shape[-1]) for p in parts], 1)
            scores = torch.cat([p[1].reshape(C, -1, p[1].shape[-1]) for p in parts], 1)
            merged = torch.stack(
                [merge_windows(scores[c], starts, Tp * f, f, cfg.merge) for c in range(C)]
            ).mean(0)
            frames_out.append(merged[: T * f])
            logits_out.append(logits.mean(0))
    finally:
        model.train(was_training)
    frames = torch.stack(frames_out)  # (B, T * f)
    logits = torch.stack(logits_out)  # (B, W, K)
    return {
        "snippet_scores": frames.reshape(B, T, f).mean(-1).numpy().astype(np.float32),
        "frame_scores": frames.numpy().astype(np.float32),
        "window_logits": logits.numpy().astype(np.float32),
        "window_classes": logits.argmax(-1).numpy(),
        "video_classes": torch.softmax(logits, -1).mean(1).argmax(-1).numpy(),
    }
