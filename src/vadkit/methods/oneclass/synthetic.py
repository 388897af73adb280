"""Synthetic *slow* anomalies for label-free model selection: a foreign object pasted into
normal frames and moved at the scene's own walking speed.

The speed-up anomalies of :func:`vadkit.methods.oneclass.flow.speed_up_largest_object` only
reward a scorer that sees speed. Anomalies of real scenes are often slow (a cart, a
wheelchair, a skateboarder at walking pace): only appearance tells them. Here each
segment of a schedule gets one object: a textured blob (smooth random noise in a random
colour, soft-edged) of side ``size`` pixels, entering at a random point and moving in a
straight line at ``speed`` pixels per frame (bouncing off the frame edges). ``speed`` and
``size`` come from the scene (the normal object speed and the object-sized window chosen
on the same held-out videos), never from a constant in pixels, so the anomaly scales with
the camera. A frame is a positive when the object is in it.

The foreign object can also be made of the scene's own pixels (:func:`walker_textures` with
``turn=True``, the default of the scene detector): the disc around the most-moving flow cell
of the segment's first frame (a person, usually) rotated by 90 degrees and moved from a random
point. Its detail is the camera's, as a real cart's or bicycle's is; the noise disc has the
same contrast at any resolution, and on Ped2 at 0.5x it made appearance look more reliable
than it was (docs/benchmarks.md, robustness).

A second kind, :func:`walker_textures` with :func:`off_path_starts`, pastes the scene's
own content upright: a disc cut around the most-moving flow cell of the segment's first
frame (a person, usually), moved at the same speed from a cell where normal video rarely
moves ("a walker moved off the paths", a person crossing the grass): nothing in it is new
to the scene but where it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["off_path_starts", "paste_moving_objects", "segments_of", "walker_textures"]


def segments_of(schedule: Sequence[int] | dict[int, float]) -> list[tuple[int, int]]:
    """Frame indices -> maximal runs of consecutive frames, ``[(start, stop), ...]``."""
    idx = sorted(schedule)
    out: list[tuple[int, int]] = []
    for t in idx:
        if out and t == out[-1][1]:
            out[-1] = (out[-1][0], t + 1)
        else:
            out.append((t, t + 1))
    return out


def _disc_alpha(size: int) -> np.ndarray:
    """``(size, size)`` alpha in [0, 1]: a disc with a soft rim."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    c = (size - 1) / 2
    r = np.sqrt((yy - c) ** 2 + (xx - c) ** 2) / max(c, 1.0)
    return np.clip((1.0 - r) * 4.0, 0.0, 1.0)


def _texture(
    size: int, frame: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(size, size, 3)`` float32 RGB texture and ``(size, size)`` alpha in [0, 1].

    The texture has the frame's own colour statistics (per-channel mean and standard
    deviation, so a gray camera gets a gray object): an object lit by the scene's light and
    seen by its camera, told apart by its pattern and shape, not by an impossible colour.
    """
    import cv2

    coarse = rng.standard_normal((max(2, size // 6), max(2, size // 6), 3)).astype(np.float32)
    rgb = frame.reshape(-1, frame.shape[-1]).astype(np.float32) if frame.ndim == 3 else None
    if rgb is None or np.allclose(rgb[:, 0], rgb[:, 1:].T):  # gray: one channel for all
        coarse[..., 1:] = coarse[..., :1]
    tex = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    flat = frame.reshape(-1, frame.shape[-1] if frame.ndim == 3 else 1).astype(np.float32)
    mean, std = flat.mean(axis=0)[:3], np.maximum(flat.std(axis=0)[:3], 8.0)
    tex = tex / max(float(tex.std()), 1e-6)
    shift = rng.uniform(-1, 1)  # brighter or darker than the average by up to one std
    tex = np.clip(mean + std * (shift + tex), 0, 255)
    return tex, _disc_alpha(size)


def _rgb(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame)
    return (np.repeat(f[..., None], 3, axis=-1) if f.ndim == 2 else f[..., :3]).astype(np.float32)


def _cell_centre(cell: tuple[int, int], grid: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    return np.array([(cell[0] + 0.5) * hw[0] / grid[0], (cell[1] + 0.5) * hw[1] / grid[1]])


def walker_textures(
    frames: Sequence[np.ndarray],
    segments: Sequence[tuple[int, int]],
    moving_share: np.ndarray,
    size: int,
    turn: bool = False,
    nearest: bool = False,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per segment, ``(texture, alpha)``: the ``size`` disc of the segment's first frame
    centred on its most-moving flow cell (``moving_share``: ``(n, rows, cols)``), or None when
    nothing moves in that frame. ``turn``: rotated by 90 degrees (a walker on its side).
    ``nearest``: when nothing moves in the first frame, the disc is cut from the nearest frame
    where something does (a camera that is empty most of the time still gets its objects);
    None only when nothing moves in the whole video."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    h, w = np.asarray(frames[0]).shape[:2]
    size = int(min(size, h - 1, w - 1))
    grid = moving_share.shape[1:]
    n = min(len(moving_share), len(frames))
    moving = np.flatnonzero(moving_share[:n].reshape(n, -1).max(axis=1) > 0)
    for start, _ in segments:
        start = min(start, n - 1)
        if nearest and len(moving) and not moving_share[start].max() > 0:
            start = int(moving[np.argmin(np.abs(moving - start))])
        share = moving_share[start]
        if not share.max() > 0:
            out.append(None)
            continue
        cell = np.unravel_index(int(np.argmax(share)), grid)
        y, x = np.clip(_cell_centre(cell, grid, (h, w)) - size / 2, 0, [h - size, w - size])
        y, x = int(round(y)), int(round(x))
        disc = _rgb(frames[start])[y : y + size, x : x + size]
        disc = np.rot90(disc) if turn else disc
        out.append((np.ascontiguousarray(disc), _disc_alpha(size)))
    return out


def off_path_starts(
    occupancy: np.ndarray,
    n: int,
    size: int,
    hw: tuple[int, int],
    rng: np.random.Generator,
    quantile: float = 0.25,
) -> list[tuple[float, float]]:
    """``n`` top-left corners of a ``size`` object, each centred on a flow cell drawn among
    those whose normal ``occupancy`` (``(rows, cols)``, e.g. the mean moving share of the
    normal video) is at most its ``quantile``: where the scene's walkers rarely go."""
    cells = np.argwhere(occupancy <= np.quantile(occupancy, quantile))
    h, w = hw
    size = int(min(size, h - 1, w - 1))
    out = []
    for _ in range(n):
        cell = tuple(cells[int(rng.integers(len(cells)))])
        y, x = np.clip(_cell_centre(cell, occupancy.shape, hw) - size / 2, 0, [h - size, w - size])
        out.append((float(y), float(x)))
    return out


def paste_moving_objects(
    frames: Sequence[np.ndarray],
    segments: Sequence[tuple[int, int]],
    size: int,
    speed: float,
    rng: np.random.Generator,
    textures: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
    starts: Sequence[tuple[float, float]] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Copies of ``frames`` with one foreign object moving through each segment.

    Parameters
    ----------
    frames : ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 frames of one normal video.
    segments : ``[(start, stop), ...]`` frame ranges, one object each.
    size : object side in pixels (>= 4).
    speed : pixels per frame (> 0).
    rng : seeded generator (texture, entry point, direction).
    textures : per segment, ``(texture, alpha)`` of side ``size`` to paste instead of a random
        texture (:func:`walker_textures`); a None entry skips its segment.
    starts : per segment, the object's first top-left corner (default: drawn at random).

    Returns
    -------
    (frames, labels) : the new frames (RGB when any frame was modified, the input's layout
        otherwise) and ``(n,)`` int8 labels, 1 where an object is in the frame.
    """
    if size < 4 or not speed > 0:
        raise VadkitError(f"synthetic object: need size >= 4 px and speed > 0, got {size}, {speed}")
    out = [np.asarray(f) for f in frames]
    labels = np.zeros(len(out), np.int8)
    if not out:
        return out, labels
    for name, given in (("textures", textures), ("starts", starts)):
        if given is not None and len(given) != len(segments):
            raise VadkitError(
                f"synthetic object: {len(given)} {name} for {len(segments)} segments; need one each"
            )
    h, w = out[0].shape[:2]
    size = int(min(size, h - 1, w - 1))
    for i, (start, stop) in enumerate(segments):
        start, stop = max(0, start), min(len(out), stop)
        given = textures[i] if textures is not None else None
        if stop <= start or (textures is not None and given is None):
            continue
        tex, alpha = given if given is not None else _texture(size, out[start], rng)
        if tex.shape[:2] != (size, size):
            raise VadkitError(f"synthetic object: texture {tex.shape[:2]} is not {size}x{size}")
        corner = (
            starts[i]
            if starts is not None
            else (rng.uniform(0, h - size), rng.uniform(0, w - size))
        )
        pos = np.array(corner, dtype=np.float64)
        ang = rng.uniform(0, 2 * np.pi)
        vel = speed * np.array([np.sin(ang), np.cos(ang)])
        for t in range(start, stop):
            rgb = _rgb(out[t])
            y, x = int(round(pos[0])), int(round(pos[1]))
            win = rgb[y : y + size, x : x + size]
            a = alpha[..., None]
            win[:] = a * tex + (1 - a) * win
            out[t] = np.clip(rgb, 0, 255).astype(np.uint8)
            labels[t] = 1
            pos += vel
            for d, lim in ((0, h - size), (1, w - size)):  # bounce off the edges
                if pos[d] < 0 or pos[d] > lim:
                    vel[d] = -vel[d]
                    pos[d] = min(max(pos[d], 0.0), float(lim))
    if labels.any():  # one layout for the whole video (flow and maps read RGB or gray)
        out = [np.repeat(f[..., None], 3, axis=-1) if f.ndim == 2 else f for f in out]
    return out, labels
