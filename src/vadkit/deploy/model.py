"""A trained model ready for new footage: :func:`load_run_model` -> :class:`Predictor`.

Three kinds of model files, one interface:

- a weak or fully supervised run directory (``vadkit train``) or its ``checkpoint.pt``: the
  method is rebuilt with :func:`vadkit.train.model_from_checkpoint`;
- a one-class run directory (:func:`vadkit.deploy.oneclass_run.train_oneclass_run`):
  ``config.yaml`` (``kind: one-class``, the scorer and the training store's metadata),
  ``scorer.npz`` (:meth:`OneClassScorer.save`), ``threshold.json``, ``metrics.json``;
- a scene detector (``vadkit fit-scene`` run directory, the output folder of ``vadkit
  benchmark ucsd``, or their ``scene.npz``): it scores frames itself (flow and appearance),
  so it has no ``feature_spec``; its threshold is the one it calibrated at fit.

Every kind records how its features were made (``feature_spec``: the training store's
``StoreInfo``) and, when trained by this version, its calibrated thresholds
(``threshold.json``, see :mod:`vadkit.train.calibrate`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.store import StoreInfo

__all__ = ["FALLBACK_THRESHOLD", "FeatureSpec", "Predictor", "SnippetScores", "load_run_model"]

#: used (with a warning) when a run directory predates threshold calibration
FALLBACK_THRESHOLD = 0.5


@dataclass(frozen=True)
class FeatureSpec:
    """How the model's features are made: the training store's metadata (``StoreInfo``)."""

    info: StoreInfo

    @property
    def backbone(self) -> str:
        return self.info.backbone

    @property
    def weights_sha256(self) -> str:
        return self.info.weights_sha256

    @property
    def snippet_length(self) -> int:
        return int(self.info.snippet_length or 16)

    @property
    def stride(self) -> int:
        return int(self.info.stride or self.snippet_length)

    @property
    def n_segments(self) -> int | None:
        return self.info.n_segments if self.info.padding == "segments" else None

    @property
    def crops(self) -> int:
        return int(self.info.crops)

    @property
    def crop_mode(self) -> str | None:
        return self.info.crop_mode

    def to_dict(self) -> dict[str, Any]:
        keys = ("backbone", "weights_sha256", "dim", "crops", "crop_mode", "snippet_length")
        out = {k: getattr(self.info, k) for k in keys}
        out.update(stride=self.info.stride, padding=self.info.padding)
        out.update(frame_step=self.info.frame_step, n_segments=self.info.n_segments)
        return out


@dataclass
class SnippetScores:
    """Per-snippet outputs: ``scores (T,)`` and, for methods with classes, ``classes (T,)``."""

    scores: np.ndarray
    classes: list[str] | None = None


@dataclass
class Predictor:
    """A loaded model. ``score_features((T, crops, D)) -> SnippetScores``.

    ``thresholds`` is the content of ``threshold.json`` (``{}`` for old runs);
    ``threshold`` the calibrated default (or :data:`FALLBACK_THRESHOLD` with a warning).
    ``min_snippets``: shorter videos are padded (last snippet repeated) with a warning.
    """

    method: str
    kind: str  # "weak" | "full" | "one-class" | "scene"
    feature_spec: FeatureSpec | None  # None for "scene": it reads frames, not a store
    model: Any
    path: Path
    thresholds: dict[str, Any] = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)
    min_snippets: int = 1

    @property
    def threshold(self) -> float:
        value = self.thresholds.get("threshold")
        if value is None:
            warnings.warn(
                f"{self.path} has no calibrated threshold (threshold.json; trained before "
                f"calibration or without validation videos): using {FALLBACK_THRESHOLD}; "
                "pass --threshold or --far",
                stacklevel=2,
            )
            return FALLBACK_THRESHOLD
        return float(value)

    @property
    def threshold_source(self) -> str:
        default = self.thresholds.get("default")
        return f"calibrated ({default})" if default else f"fallback {FALLBACK_THRESHOLD}"

    def score_features(self, features: np.ndarray) -> SnippetScores:
        """Scores of one video's ``(T, crops, D)`` features (padded if shorter than needed)."""
        x = np.asarray(features, np.float32)
        if (
            x.ndim != 3
            or x.shape[1] != self.feature_spec.crops
            or x.shape[2] != self.feature_spec.info.dim
        ):
            spec = self.feature_spec
            raise VadkitError(
                f"features of shape {x.shape} do not fit {self.method} "
                f"(T, {spec.crops} crops, {spec.info.dim})"
            )
        T = len(x)
        if T == 0:
            raise VadkitError("no snippets to score (empty video)")
        if T < self.min_snippets:
            warnings.warn(
                f"{self.method}: a video of {T} snippets is shorter than the {self.min_snippets} "
                "the method needs; padded by repeating its last snippet",
                stacklevel=2,
            )
            x = np.concatenate([x, np.repeat(x[-1:], self.min_snippets - T, axis=0)])
        out = self._score(x)
        out.scores = np.asarray(out.scores, np.float32).reshape(-1)[:T]
        if out.classes is not None:
            out.classes = list(out.classes)[:T]
        if not np.isfinite(out.scores).all():
            raise VadkitError(f"{self.method}: scores contain NaN or Inf")
        return out

    def _score(self, x: np.ndarray) -> SnippetScores:
        if self.kind == "one-class":
            return SnippetScores(self.model.score(x))
        import torch

        # a copy: a one-crop store's memmap is read-only and already contiguous, and torch warns
        # about wrapping a read-only array
        t = torch.from_numpy(np.array(x.transpose(1, 0, 2)[None], order="C"))
        with torch.no_grad():
            if self.kind == "full" and hasattr(self.model, "predict"):
                pred = self.model.predict(t)
                scores = np.asarray(pred["snippet_scores"])[0]
                return SnippetScores(scores, self._snippet_classes(pred, len(x)))
            s = self.model.score(t)
        s = s.detach().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s)
        return SnippetScores(s.reshape(-1))

    def _snippet_classes(self, pred: dict[str, Any], T: int) -> list[str] | None:
        """Each snippet takes the class of the last test window covering it (AED-T windows)."""
        if not self.class_names or "window_classes" not in pred:
            return None
        from vadkit.methods.aed_t.windows import window_starts

        cfg = self.model.config
        L = int(cfg.max_seqlen)
        Tp = T + (-T) % L
        starts = window_starts(Tp, L, cfg.window_stride)
        wc = np.asarray(pred["window_classes"])[0]
        per = np.zeros(Tp, np.int64)
        for s0, c in zip(starts, wc, strict=True):
            per[s0 : s0 + L] = int(c)
        return [self.class_names.get(int(c), str(int(c))) for c in per[:T]]


def _read_thresholds(run_dir: Path | None) -> dict[str, Any]:
    path = run_dir / "threshold.json" if run_dir is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read {path}: {exc}") from None


def _store_info(meta: dict[str, Any], run_dir: Path | None, where: str) -> StoreInfo:
    """The full StoreInfo a model recorded, else (older runs) the training store's manifest."""
    if meta.get("crop_mode") and meta.get("padding"):
        return StoreInfo.from_dict(meta, where)
    if run_dir is not None and (run_dir / "config.yaml").is_file():
        from vadkit.io.store import FeatureStore
        from vadkit.train.rundir import read_config

        train = (read_config(run_dir).get("data") or {}).get("train")
        if train and Path(train).is_dir():
            return FeatureStore.open(train).info
    raise VadkitError(
        f"{where} records only part of how its features were made and its training store is "
        "not found; retrain with this version of vadkit"
    )


def _min_snippets(cfg: Any) -> int:
    """Snippets a method's scoring needs at least (AED-T windows pad themselves)."""
    need = 1
    for name in ("topk", "k", "k_abn", "k_nor"):
        v = getattr(cfg, name, None)
        if isinstance(v, int) and not isinstance(v, bool):
            need = max(need, v)
    return need


def _load_checkpoint_model(path: Path) -> Predictor:
    from vadkit.methods.registry import get_method
    from vadkit.train.rundir import load_checkpoint
    from vadkit.train.runner import model_from_checkpoint

    run_dir = path if path.is_dir() else path.parent
    ckpt = load_checkpoint(path)
    method = get_method(ckpt["method"])
    model = model_from_checkpoint(ckpt, method)
    meta = dict(ckpt.get("store_info") or ckpt.get("store") or {})
    info = _store_info(meta, run_dir, f"checkpoint {path}")
    names = {int(i): str(n) for n, i in ((info.extra or {}).get("class_index") or {}).items()}
    return Predictor(
        method.name, method.kind, FeatureSpec(info), model, path,
        _read_thresholds(run_dir), names if method.kind == "full" else {},
        _min_snippets(model.config if hasattr(model, "config") else None),
    )  # fmt: skip


def _load_oneclass(run_dir: Path) -> Predictor:
    from vadkit.methods.oneclass.base import load_scorer
    from vadkit.train.rundir import read_config

    cfg = read_config(run_dir)
    scorer = load_scorer(run_dir / "scorer.npz")
    info = StoreInfo.from_dict(dict((cfg.get("run") or {}).get("store_info") or {}),
                               f"{run_dir}/config.yaml run.store_info")  # fmt: skip
    return Predictor(scorer.name, "one-class", FeatureSpec(info), scorer, run_dir,
                     _read_thresholds(run_dir))  # fmt: skip


def _load_scene(path: Path) -> Predictor:
    from vadkit.methods.oneclass.scene import SceneDetector

    det = SceneDetector.load(path)
    thresholds = {
        "threshold": det.threshold_,
        "default": f"{det.config.false_alarm_rate:g} false alarms on held-out normal frames",
        "far_scores": [float(x) for x in det.far_scores_],
    }
    return Predictor("scene", "scene", None, det, path, thresholds)


def load_run_model(path: str | Path) -> Predictor:
    """A :class:`Predictor` from a run directory, a ``checkpoint.pt`` or a one-class run dir
    (exported ``.onnx`` / ``.xml`` files: :func:`vadkit.deploy.loading.load_model`)."""
    path = Path(path)
    if path.is_dir():
        if (path / "checkpoint.pt").is_file():
            return _load_checkpoint_model(path)
        if (path / "scorer.npz").is_file():
            return _load_oneclass(path)
        if (path / "scene.npz").is_file():
            return _load_scene(path / "scene.npz")
        raise VadkitError(
            f"--model {path}: not a run directory (no checkpoint.pt, scorer.npz or scene.npz in it)"
        )
    if not path.is_file():
        raise VadkitError(f"--model {path}: no such file or directory")
    if path.name == "scene.npz":
        return _load_scene(path)
    if path.suffix == ".npz":
        return _load_oneclass(path.parent)
    return _load_checkpoint_model(path)
