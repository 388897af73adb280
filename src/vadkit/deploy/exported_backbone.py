"""Extract features with an exported frame backbone: no PyTorch on this path either.

``vadkit export --backbone efficientnet_lite0 --out effnet.onnx`` writes the network;
``vadkit predict VIDEO --model model.onnx --backbone-model effnet.onnx`` then decodes,
resizes, crops and normalises frames in numpy, runs the network with ONNX Runtime or
OpenVINO and averages frame features into snippets exactly as :mod:`vadkit.extract` does
(the snippet rule comes from the model's recorded ``StoreInfo``).

The resize is the antialiased bilinear uint8 kernel torch uses for ``F.interpolate(...,
antialias=True)`` on uint8 frames (Pillow-SIMD's fixed-point scheme: int16 weights at one
precision per pass, a horizontal then a vertical pass, each rounded to uint8). On Ped2
frames and on random 480x640, 720x1280, 256x300, 100x90 images it gives the same bytes as
torch 2.13 on this CPU (checked in tests/test_cli_export.py), so the features match
``vadkit extract``'s to float rounding. Only frame backbones with bilinear resizing are
supported here (EfficientNet-Lite0); clip backbones and TACnet segments use ``vadkit
extract``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.extract.options import options_from_store
from vadkit.io.store import StoreInfo
from vadkit.io.stream import FrameStream
from vadkit.sampling import SnippetSpec, pool_sultani, snippet_indices

__all__ = ["ExportedBackbone", "load_exported_backbone", "resize_short_uint8"]


def _aa_weights(n_in: int, n_out: int) -> tuple[list[int], list[np.ndarray]]:
    """First input index and normalised bilinear weights of each output pixel (antialiased)."""
    scale = n_in / n_out
    support = scale if scale >= 1.0 else 1.0
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    starts, weights = [], []
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = np.clip(1.0 - np.abs((np.arange(lo, hi) - center + 0.5) * inv), 0.0, None)
        starts.append(lo)
        weights.append(w / w.sum() if w.sum() > 0 else w)
    return starts, weights


def _resize_axis(x: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """One fixed-point pass along ``axis`` of uint8 ``x``."""
    if x.shape[axis] == n_out:
        return x
    starts, weights = _aa_weights(x.shape[axis], n_out)
    wmax = max(float(w.max()) for w in weights)
    bits = 0  # the most precision whose largest weight still fits int16
    while bits < 22 and int(0.5 + wmax * (1 << (bits + 1))) < (1 << 15):
        bits += 1
    src = np.moveaxis(x, axis, 0).astype(np.int64)
    out = np.empty((n_out, *src.shape[1:]), np.uint8)
    for i, (s, w) in enumerate(zip(starts, weights, strict=True)):
        wi = np.trunc(w * (1 << bits) + np.where(w < 0, -0.5, 0.5)).astype(np.int64)
        acc = np.tensordot(wi, src[s : s + len(w)], axes=(0, 0)) + (1 << (bits - 1))
        out[i] = np.clip(acc >> bits, 0, 255)
    return np.moveaxis(out, 0, axis)


def resize_short_uint8(frames: np.ndarray, size: int) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 resized so the short side is ``size`` (as torch's uint8 kernel)."""
    h, w = frames.shape[1:3]
    out = (int(size), int(size * w / h)) if h <= w else (int(size * h / w), int(size))
    return _resize_axis(_resize_axis(frames, 2, out[1]), 1, out[0])  # horizontal first


def _crops(x: np.ndarray, h: int, w: int, mode: str) -> np.ndarray:
    """``(N, H, W, 3)`` -> ``(N, crops, h, w, 3)`` in the torchvision order of vadkit.extract."""
    H, W = x.shape[1:3]
    if H < h or W < w:
        raise VadkitError(f"frames of {H}x{W} after resizing are smaller than the {h}x{w} crop")
    boxes = {"tl": (0, 0), "tr": (0, W - w), "bl": (H - h, 0), "br": (H - h, W - w),
             "center": (int(round((H - h) / 2.0)), int(round((W - w) / 2.0)))}  # fmt: skip
    names = ["center"] if mode == "center" else ["tl", "tr", "bl", "br", "center"]
    out = [x[:, t : t + h, s : s + w] for t, s in (boxes[n] for n in names)]
    if mode == "ten":
        flipped = x[:, :, ::-1]
        out += [flipped[:, t : t + h, s : s + w] for t, s in (boxes[n] for n in names)]
    return np.stack(out, axis=1)


def snippet_spec(info: StoreInfo) -> tuple[SnippetSpec, int | None]:
    """The snippet rule of a store and its Sultani segment count (``None``: snippets): the
    rule of the options that made it (:func:`~vadkit.extract.options.options_from_store`),
    which needs no PyTorch."""
    options = options_from_store(info)
    spec = options.spec()
    if spec is None:
        raise VadkitError(
            "TACnet segments are not extracted with an exported backbone; use vadkit extract"
        )
    return spec, options.n_segments


def _used(i: int, spec: SnippetSpec) -> bool:
    """Whether frame ``i`` is in some snippet (before end-of-video padding)."""
    span = (spec.clip_len - 1) * spec.frame_step
    for t in range(max(0, -(-(i - span) // spec.stride)), i // spec.stride + 1):
        d = i - t * spec.stride
        if 0 <= d <= span and d % spec.frame_step == 0:
            return True
    return False


class ExportedBackbone:
    """An exported frame backbone and its preprocessing (from its sidecar JSON)."""

    def __init__(self, path: str | Path) -> None:
        from vadkit.deploy.exported import ExportedRuntime

        self.path = Path(path)
        side = Path(str(self.path) + ".json")
        if not self.path.is_file() or not side.is_file():
            raise VadkitError(f"--backbone-model {self.path}: needs the file and its {side.name}")
        self.doc: dict[str, Any] = json.loads(side.read_text(encoding="utf-8"))
        if "backbone" not in self.doc or "resize_short" not in self.doc:
            raise VadkitError(f"{side}: not a backbone exported by this vadkit (vadkit export)")
        if self.doc.get("kind") != "frame" or self.doc.get("interpolation") != "bilinear":
            raise VadkitError(
                f"{self.path}: only frame backbones with bilinear resizing extract without "
                f"PyTorch (got {self.doc.get('kind')}, {self.doc.get('interpolation')})"
            )
        self.name = str(self.doc["backbone"])
        self.weights_sha256 = str(self.doc["weights_sha256"])
        self.runtime_ = ExportedRuntime(self.path)

    def check(self, info: StoreInfo, where: str) -> None:
        """Fail unless this is the backbone and weights the model's features came from."""
        if (self.name, self.weights_sha256) != (info.backbone, info.weights_sha256):
            raise VadkitError(
                f"--backbone-model {self.path} is {self.name} (weights "
                f"{self.weights_sha256[:12]}) but {where} was trained on {info.backbone} "
                f"features (weights {info.weights_sha256[:12]})"
            )

    def frame_features(self, frames: np.ndarray, crop: str) -> np.ndarray:
        """``(N, H, W, 3)`` uint8 -> ``(N, crops, D)`` float32."""
        h, w = self.doc["input_size"]
        x = _crops(resize_short_uint8(frames, int(self.doc["resize_short"])), h, w, crop)
        mean = np.asarray(self.doc["mean"], np.float32)
        std = np.asarray(self.doc["std"], np.float32)
        x = (x.astype(np.float32) - mean) / std
        if self.doc.get("channel_order") == "BGR":
            x = x[..., ::-1]
        n, c = x.shape[:2]
        x = np.ascontiguousarray(x.reshape(n * c, h, w, 3).transpose(0, 3, 1, 2))
        return self.runtime_.run(x)[0].reshape(n, c, -1)

    def encode(self, frames: FrameStream, info: StoreInfo, batch_size: int = 8) -> np.ndarray:
        """``(T, crops, D)`` features of a video, as ``vadkit extract`` makes them for ``info``.

        Each frame some snippet uses is encoded once (one feature vector per crop kept per
        used frame); snippet features are the mean over their frames.
        """
        spec, segments = snippet_spec(info)
        crop = info.crop_mode or "center"
        feats: dict[int, np.ndarray] = {}
        pending: list[tuple[int, np.ndarray]] = []
        per = max(1, batch_size // max(1, int(info.crops)))

        def flush() -> None:
            if pending:
                y = self.frame_features(np.stack([f for _, f in pending]), crop)
                feats.update((i, y[k]) for k, (i, _) in enumerate(pending))
                pending.clear()

        n, last = 0, None
        for i, img in frames:
            n, last = i + 1, img
            if _used(i, spec):
                pending.append((i, img))
                if len(pending) >= per:
                    flush()
        if last is None:
            raise VadkitError(f"{frames.id}: video has 0 frames")
        if n - 1 not in feats and all(i != n - 1 for i, _ in pending):
            pending.append((n - 1, last))  # end-of-video padding repeats the last frame
        flush()
        index = snippet_indices(n, spec)  # (T, L)
        if len(index) == 0:
            return np.empty((0, int(info.crops), int(info.dim)), np.float32)
        missing = sorted(set(int(f) for f in index.reshape(-1)) - set(feats))
        if missing:  # only "loop" padding with frame_step > 1 can wrap to an unused frame
            raise VadkitError(
                f"{frames.id}: padding {spec.padding!r} needs frame {missing[0]}, which an "
                "exported backbone does not keep; use vadkit extract for this store"
            )
        out = np.stack([np.stack([feats[int(f)] for f in row]).mean(0) for row in index])
        out = out.astype(np.float32)
        return pool_sultani(out, segments) if segments else out


def load_exported_backbone(path: str | Path, predictor: Any) -> ExportedBackbone:
    """The exported backbone at ``path``, checked against ``predictor``'s feature spec."""
    backbone = ExportedBackbone(path)
    backbone.check(predictor.feature_spec.info, str(predictor.path))
    return backbone
