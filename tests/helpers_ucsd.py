"""A miniature dataset in the UCSD layout: textured background, walkers, and a fast 'cyclist'.

Training videos hold only slow walkers; in test video ``k`` a fast square crosses the frame
during the frames listed in the generated ``.m`` ground truth (which has one extra entry with
no frame folder, as a partial copy of a dataset would).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

H, W = 48, 64


def _background(rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    base = 90 + 40 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 6, (H, W))
    return base


def blob_frames(
    n: int, seed: int, fast: tuple[int, int] | None = None, speed_fast: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(n, H, W)`` uint8 frames and ``(n, H, W)`` bool masks of the fast blob.

    One walker (8x6 px) moves right at 0.7 px/frame; when ``fast=(a, b)`` a 10x10 bright
    square moves left at ``speed_fast`` px/frame in frames ``a..b-1``.
    """
    rng = np.random.default_rng(seed)
    bg = _background(rng)
    frames = np.empty((n, H, W), np.uint8)
    masks = np.zeros((n, H, W), bool)
    x0 = rng.uniform(2, 20)
    for t in range(n):
        f = bg + rng.normal(0, 2, (H, W))
        xw = int(x0 + 0.7 * t) % (W - 8)
        f[30:38, xw : xw + 6] = 40
        if fast is not None and fast[0] <= t < fast[1]:
            xf = int(W - 12 - speed_fast * (t - fast[0])) % (W - 10)
            f[8:18, xf : xf + 10] = 230
            masks[t, 8:18, xf : xf + 10] = True
        frames[t] = np.clip(f, 0, 255).astype(np.uint8)
    return frames, masks


def write_ucsd_layout(root: Path, n_train: int = 3, n_test: int = 3, n: int = 24) -> Path:
    """Write ``root/training/frames/NN``, ``root/testing/frames/NN``, masks of test video 1,
    and ``root/UCSDmini.m`` with ``n_test + 1`` entries (the last has no frames)."""
    for k in range(1, n_train + 1):
        frames, _ = blob_frames(n, seed=k)
        d = root / "training" / "frames" / f"{k:02d}"
        d.mkdir(parents=True)
        for t, f in enumerate(frames):
            Image.fromarray(f).save(d / f"{t:03d}.png")
    lines = ["TestVideoFile = {};"]
    for k in range(1, n_test + 2):
        a, b = (n // 3, n // 3 + n // 2) if k % 2 else (n // 2, n)
        lines.append(f"TestVideoFile{{end+1}}.gt_frame = [{a + 1}:{b}];")
        if k > n_test:
            continue
        frames, masks = blob_frames(n, seed=100 + k, fast=(a, b))
        d = root / "testing" / "frames" / f"{k:02d}"
        d.mkdir(parents=True)
        for t, f in enumerate(frames):
            Image.fromarray(f).save(d / f"{t:03d}.png")
        if k == 1:
            m = root / "testing" / "masks" / "Test001_gt"
            m.mkdir(parents=True)
            for t, mk in enumerate(masks):
                Image.fromarray(mk.astype(np.uint8) * 255).save(m / f"{t + 1:03d}.png")
    (root / "UCSDmini.m").write_text("\n".join(lines) + "\n")
    return root
