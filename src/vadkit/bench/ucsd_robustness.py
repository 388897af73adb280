"""Robustness of the `benchmark ucsd` default to how a new camera differs (issue 21 §3).

:func:`run_robustness` writes transformed copies of a UCSD-layout dataset (frames as JPEG,
the frame ground truth as a ``UCSDrobust.m`` file; pixel masks are not copied, so only frame
AUC is compared) and runs the default protocol, with no option changed, on each copy.

Transforms (``TRANSFORMS``): ``original``; ``scale0.5`` and ``scale1.5`` (area / bilinear
resize); ``half_fps`` (every 2nd frame, labels subsampled the same way); ``mirror``;
``brightness`` (x0.7 + 30 grey levels: contrast and brightness at once); ``colour`` (gray
frames stored as tinted RGB); ``mp4`` (through H.264 at CRF 32, decoded back).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout, find_ucsd_layout
from vadkit.errors import VadkitError

__all__ = ["TRANSFORMS", "RobustnessRow", "format_table", "make_transformed", "run_robustness"]

TRANSFORMS = (
    "original",
    "scale0.5",
    "scale1.5",
    "half_fps",
    "mirror",
    "brightness",
    "colour",
    "mp4",
)
MP4_CRF = 32


@dataclass
class RobustnessRow:
    transform: str
    headline: str
    micro_auc: float
    object_speed_auc: float
    fusion_weight: float | None
    seconds: float


def frame_transform(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The per-frame change of one transform (identity for those that act on the video)."""
    import cv2

    if name.startswith("scale"):
        f = float(name[5:])
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
        return lambda x: cv2.resize(x, None, fx=f, fy=f, interpolation=interp)
    if name == "mirror":
        return lambda x: np.ascontiguousarray(x[:, ::-1])
    if name == "brightness":
        return lambda x: np.clip(x.astype(np.float32) * 0.7 + 30, 0, 255).astype(np.uint8)
    if name == "colour":
        tint = np.array([1.0, 0.85, 0.7], np.float32)
        return lambda x: np.clip(x.astype(np.float32) * tint, 0, 255).astype(np.uint8)
    return lambda x: x


def mp4_roundtrip(frames: list[np.ndarray], path: Path, crf: int = MP4_CRF) -> list[np.ndarray]:
    """Encode ``frames`` as H.264 (yuv420p, even size) at ``crf`` and decode them back."""
    import av

    h, w = frames[0].shape[:2]
    h2, w2 = h - h % 2, w - w % 2
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w2, h2, "yuv420p"
        s.options = {"crf": str(crf)}
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h2, :w2]), format="rgb24")
            out.mux(s.encode(vf))
        out.mux(s.encode())
    with av.open(str(path)) as inp:
        back = [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]
    path.unlink()
    if len(back) != len(frames):
        raise VadkitError(f"{path}: {len(frames)} frames encoded, {len(back)} decoded")
    return back


def _frames(folder: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    from vadkit.io.video import FrameFolderReader

    stop = max_frames if max_frames else None
    return (f for _, f in FrameFolderReader(folder).iter_frames(0, stop, 1))


def _write_frames(frames: list[np.ndarray], dest: Path) -> None:
    import cv2

    dest.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        img = f if f.ndim == 2 else cv2.cvtColor(f, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(dest / f"{i + 1:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])


def _intervals(y: np.ndarray) -> str:
    """The UCSD ``.m`` form of 0/1 labels: 1-based inclusive ``a:b`` runs."""
    from vadkit.datasets.annotations.groundtruth import labels_to_intervals

    return ", ".join(f"{a + 1}:{b}" for a, b in labels_to_intervals(y))


def make_transformed(
    layout: UCSDLayout,
    name: str,
    dest: Path,
    train: list[str],
    test: list[str],
    max_frames: int | None = None,
) -> Path:
    """Write the ``name`` copy of ``train`` and ``test`` videos under ``dest`` (reused when a
    complete copy with the same contents is there). Test video k (1-based, in the order
    given) becomes folder ``NN`` and ground-truth entry k."""
    if name not in TRANSFORMS:
        raise VadkitError(f"unknown transform {name!r}; choose from {', '.join(TRANSFORMS)}")
    stamp = f"{name} train={','.join(train)} test={','.join(test)} max_frames={max_frames}\n"
    done = dest / ".complete"
    if done.is_file() and done.read_text() == stamp:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    fn = frame_transform(name)
    step = 2 if name == "half_fps" else 1
    lines = ["TestVideoFile = {};"]
    jobs = [("training", v, layout.train[v], f"{i + 1:02d}") for i, v in enumerate(train)]
    jobs += [("testing", v, layout.test[v], f"{i + 1:02d}") for i, v in enumerate(test)]
    for split, v, folder, out_name in jobs:
        frames = [fn(f) for f in _frames(folder, max_frames)][::step]
        if name == "mp4":
            frames = mp4_roundtrip(frames, dest / f"tmp-{split}-{out_name}.mp4")
        _write_frames(frames, dest / split / "frames" / out_name)
        if split == "testing":
            y = layout.labels[v][:max_frames][::step]
            lines.append(f"TestVideoFile{{end+1}}.gt_frame = [{_intervals(y)}];")
    (dest / "UCSDrobust.m").write_text("\n".join(lines) + "\n")
    done.write_text(stamp)
    return dest


def run_robustness(
    data: str | Path,
    out: str | Path,
    transforms: list[str] | tuple[str, ...] = TRANSFORMS,
    n_train: int | None = None,
    n_test: int | None = None,
    max_frames: int | None = None,
    log: Callable[[str], None] = print,
) -> list[RobustnessRow]:
    """Run the default ``benchmark ucsd`` protocol on each transformed copy of ``data``.

    ``n_train`` / ``n_test`` keep the first videos of each split (natural order) and
    ``max_frames`` the first frames of each video: a reduced dataset for tests."""
    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark

    bad = sorted(set(transforms) - set(TRANSFORMS))
    if bad:
        raise VadkitError(f"unknown transforms {bad}; choose from {', '.join(TRANSFORMS)}")
    layout = find_ucsd_layout(data)
    train = list(layout.train)[:n_train]
    test = [v for v in layout.test if v in layout.labels][:n_test]
    out = Path(out)
    try:  # before any copy is written: an unusable --out is one line, not a traceback later
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VadkitError(f"--out {out}: cannot create it ({exc.strerror})") from None
    rows = []
    for name in transforms:
        t0 = time.perf_counter()
        copy = make_transformed(layout, name, out / "data" / name, train, test, max_frames)
        doc = run_ucsd_benchmark(copy, out / "runs" / name, UCSDBenchConfig(), log=lambda m: None)
        by = {r["name"]: r for r in doc["rows"]}
        chosen = (doc.get("fusion_selection") or {}).get("selected") or {}
        rows.append(
            RobustnessRow(
                transform=name,
                headline=doc["headline"],
                micro_auc=float(by[doc["headline"]]["micro_auc"]),
                object_speed_auc=float(by["object_speed"]["micro_auc"]),
                fusion_weight=chosen.get("weight"),
                seconds=time.perf_counter() - t0,
            )
        )
        r = rows[-1]
        log(f"{name:10s} {r.headline} {r.micro_auc:.4f}  object_speed {r.object_speed_auc:.4f}"
            f"  w {r.fusion_weight}  {r.seconds:.0f} s")  # fmt: skip
    return rows


def format_table(rows: list[RobustnessRow]) -> str:
    """A markdown table: headline and object_speed micro AUC and their change from original."""
    base = next((r for r in rows if r.transform == "original"), None)

    def delta(a: float, b: float | None) -> str:
        return "-" if b is None else f"{a - b:+.4f}"

    lines = [
        "| transform | headline | micro AUC | change | object_speed | change | fusion w | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        d1 = delta(r.micro_auc, base.micro_auc if base else None)
        d2 = delta(r.object_speed_auc, base.object_speed_auc if base else None)
        lines.append(f"| {r.transform} | {r.headline} | {r.micro_auc:.4f} | {d1} | "
                     f"{r.object_speed_auc:.4f} | {d2} | {r.fusion_weight} | {r.seconds:.0f} |")  # fmt: skip
    return "\n".join(lines)


def rows_as_dicts(rows: list[RobustnessRow]) -> list[dict[str, Any]]:
    return [r.__dict__.copy() for r in rows]
