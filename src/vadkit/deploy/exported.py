"""Score with an exported head (ONNX Runtime or OpenVINO): no PyTorch on this path.

:func:`load_exported_head` reads ``model.onnx`` / ``model.xml`` and its sidecar
``model.onnx.json`` (written by :mod:`vadkit.deploy.export`); :meth:`ExportedHead.score`
repeats, in numpy, the steps of each method's ``score`` that are not in the graph.
:func:`load_exported` wraps it as a :class:`~vadkit.deploy.model.Predictor`, which
``load_model`` returns for ``.onnx`` / ``.xml`` files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.deploy.model import FeatureSpec, Predictor, SnippetScores
from vadkit.errors import VadkitError
from vadkit.io.store import StoreInfo
from vadkit.sampling import pool_segments, segment_of_snippet

__all__ = [
    "ExportedHead",
    "ExportedPredictor",
    "ExportedRuntime",
    "load_exported",
    "load_exported_head",
    "require_extra",
]

_CHUNK = 256  # windows per runtime call (bounds memory on long videos)


def require_extra(module: str) -> Any:
    """Import ``module`` (onnx, onnxruntime, openvino) or a one-line error naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise VadkitError(
            f'{module} is not installed; pip install "vadkit[export]" (onnx, onnxruntime, openvino)'
        ) from None


class ExportedRuntime:
    """One compiled graph: ``run(x) -> list of outputs`` on ONNX Runtime or OpenVINO."""

    def __init__(self, path: Path) -> None:
        if path.suffix == ".xml":
            ov = require_extra("openvino")
            self.name = f"openvino {ov.__version__}"
            # f32: the CPU plugin may otherwise infer in bf16 (about 1e-3 off on scores)
            self._compiled = ov.Core().compile_model(
                str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
            )
            self._ort = None
        else:
            ort = require_extra("onnxruntime")
            self.name = f"onnxruntime {ort.__version__}"
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            self._ort = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self._ort is not None:
            return self._ort.run(None, {"features": x})
        result = self._compiled([x])
        return [np.asarray(result[out]) for out in self._compiled.outputs]


@dataclass
class ExportedHead:
    """An exported head and its sidecar document (graph kind and parameters)."""

    path: Path
    doc: dict[str, Any]
    runtime_: ExportedRuntime

    @property
    def runtime(self) -> str:
        return self.runtime_.name

    def score(self, features: np.ndarray) -> np.ndarray:
        """Per-snippet scores ``(T,)`` of one video's ``(T, crops, D)`` features."""
        x = np.asarray(features, np.float32)
        graph = self.doc["graph"]
        if graph == "snippet":
            return self._snippets(x)
        if graph == "pooled":  # mil / tacnet: pooled to segments, then back to snippets
            n = int(self.doc["n_segments"])
            seg = self._snippets(pool_segments(x, n))
            return seg[segment_of_snippet(len(x), n)]
        if graph == "anm_windows":
            return self._anm(x)
        if graph == "aed_t_windows":
            return self.aed_t(x)[0]
        raise VadkitError(f"{self.path}: unknown exported graph {graph!r} (newer vadkit?)")

    def _snippets(self, x: np.ndarray) -> np.ndarray:
        b = x.transpose(1, 0, 2)[None]  # (1, C, T, D)
        if self.doc.get("per_crop"):  # as UrDmuModel.score: each crop alone, then the mean
            return np.mean([self.runtime_.run(b[:, i : i + 1])[0][0] for i in range(b.shape[1])], 0)
        return self.runtime_.run(b)[0][0]

    def _anm(self, x: np.ndarray) -> np.ndarray:
        # AnmModel.score: windows of `window` snippets every `stride` (the last may be
        # shorter), crop probabilities averaged, each snippet the mean of its windows
        window, stride = int(self.doc["window"]), int(self.doc["stride"])
        T, C, D = x.shape
        starts = [0]
        while starts[-1] + window < T:
            starts.append(starts[-1] + stride)
        total, count = np.zeros(T), np.zeros(T)
        for s in starts:
            part = x[s : s + window].transpose(1, 0, 2)  # (C, L, D)
            p = float(self.runtime_.run(part)[0].mean())
            total[s : s + len(part[0])] += p
            count[s : s + len(part[0])] += 1
        return (total / count).astype(np.float32)

    def aed_t(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(snippet scores ``(T,)``, window class logits ``(W, K)``) as AED-T's ``predict``."""
        L, f = int(self.doc["max_seqlen"]), int(self.doc["frames_per_snippet"])
        step = int(self.doc["window_stride"])
        T, C, D = x.shape
        pad = (-T) % L
        if pad:
            x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        Tp = T + pad
        starts = list(range(0, Tp - L + 1, step))
        if starts[-1] != Tp - L:
            starts.append(Tp - L)
        idx = np.asarray(starts)[:, None] + np.arange(L)[None]  # (W, L)
        frames, logits = [], []
        xc = x.transpose(1, 0, 2)  # (C, Tp, D)
        for i in range(0, len(idx), _CHUNK):
            win = xc[:, idx[i : i + _CHUNK]]  # (C, w, L, D)
            fr, lg = self.runtime_.run(win.reshape(-1, L, D))
            frames.append(fr.reshape(C, len(win[0]), -1))
            logits.append(lg.reshape(C, len(win[0]), -1))
        scores = np.concatenate(frames, 1)  # (C, W, L*f)
        pos = (np.asarray(starts)[:, None] * f + np.arange(L * f)[None]).reshape(-1)
        merged = np.zeros((C, Tp * f), np.float64)
        for c in range(C):
            if self.doc.get("merge", "max") == "max":
                track = np.full(Tp * f, -np.inf)
                np.maximum.at(track, pos, scores[c].reshape(-1))
            else:
                track, n = np.zeros(Tp * f), np.zeros(Tp * f)
                np.add.at(track, pos, scores[c].reshape(-1))
                np.add.at(n, pos, 1)
                track = track / np.maximum(n, 1)
            merged[c] = np.where(np.isfinite(track), track, 0.0)
        frame = merged.mean(0)[: T * f]
        snippet = frame.reshape(T, f).mean(-1).astype(np.float32)
        return snippet, np.concatenate(logits, 1).mean(0)


def load_exported_head(path: str | Path) -> ExportedHead:
    """The exported head at ``path`` (``.onnx`` or OpenVINO ``.xml``) with its sidecar."""
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"--model {path}: no such file")
    side = Path(str(path) + ".json")
    if side.is_file():
        doc = json.loads(side.read_text(encoding="utf-8"))
    elif path.suffix == ".onnx":  # the same document is in the ONNX metadata
        runtime = ExportedRuntime(path)
        meta = runtime._ort.get_modelmeta().custom_metadata_map  # type: ignore[union-attr]
        if "vadkit" not in meta:
            raise VadkitError(f"{path}: not exported by vadkit (no 'vadkit' metadata, no {side})")
        return ExportedHead(path, json.loads(meta["vadkit"]), runtime)
    else:
        raise VadkitError(f"{path}: its sidecar {side.name} (feature spec, threshold) is missing")
    return ExportedHead(path, doc, ExportedRuntime(path))


class ExportedPredictor(Predictor):
    """A :class:`Predictor` whose scores come from an exported head (no torch import)."""

    def _score(self, x: np.ndarray) -> SnippetScores:
        head: ExportedHead = self.model
        if head.doc["graph"] != "aed_t_windows" or not self.class_names:
            return SnippetScores(head.score(x))
        scores, logits = head.aed_t(x)
        # each snippet takes the class of the last window covering it (as Predictor does)
        L, step, T = int(head.doc["max_seqlen"]), int(head.doc["window_stride"]), len(x)
        Tp = T + (-T) % L
        starts = list(range(0, Tp - L + 1, step))
        if starts[-1] != Tp - L:
            starts.append(Tp - L)
        per = np.zeros(Tp, np.int64)
        for s, c in zip(starts, logits.argmax(-1), strict=True):
            per[s : s + L] = int(c)
        return SnippetScores(scores, [self.class_names.get(int(c), str(int(c))) for c in per[:T]])


def load_exported(path: str | Path) -> Predictor:
    """A :class:`Predictor` from an exported model file."""
    head = load_exported_head(path)
    doc = head.doc
    info = StoreInfo.from_dict(dict(doc.get("feature_spec") or {}), f"{path} feature_spec")
    names = {int(k): str(v) for k, v in (doc.get("class_names") or {}).items()}
    return ExportedPredictor(
        doc["method"], doc.get("kind", "weak"), FeatureSpec(info), head, Path(path),
        dict(doc.get("thresholds") or {}), names, int(doc.get("min_snippets", 1)),
    )  # fmt: skip
