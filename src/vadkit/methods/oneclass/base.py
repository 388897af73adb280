"""What every one-class scorer shares: the fit/score contract, calibration, save/load.

Scorers follow scikit-learn: ``__init__`` stores the config only, ``fit(normal features)
-> self``, ``score(features) -> (N,)`` where higher is more anomalous, and every fitted
attribute ends in ``_``. :meth:`OneClassScorer.calibrate` is the one place thresholds are
set: on held-out *normal* samples, at a target false-alarm rate.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write_bytes
from vadkit.methods.oneclass.fusion import threshold_at_far

__all__ = ["OneClassScorer", "load_scorer"]


class OneClassScorer:
    """Base class. Subclasses set ``name``, ``config_class`` and implement ``_fit``/``_score``."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = object

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.config_class()

    # -- contract ---------------------------------------------------------------------
    def fit(self, features: np.ndarray) -> OneClassScorer:
        """Fit on features of normal samples only (first axis = samples). Returns ``self``."""
        x = self._check(features, "fit")
        if len(x) == 0:
            raise VadkitError(f"{self.name}.fit: no training samples")
        self._fit(x)
        self.n_features_in_ = int(np.prod(x.shape[1:]))
        return self

    def score(self, features: np.ndarray) -> np.ndarray:
        """Anomaly score per sample, ``(N,)`` float64; higher = more anomalous."""
        self._check_fitted("score")
        return np.asarray(self._score(self._check(features, "score")), np.float64)

    def calibrate(self, normal_features: np.ndarray, false_alarm_rate: float = 0.01) -> float:
        """Set ``threshold_`` (and the z-normalisation ``calib_mean_``/``calib_std_``).

        Parameters
        ----------
        normal_features : held-out normal samples (not used in :meth:`fit`).
        false_alarm_rate : share of normal samples allowed above the threshold.

        Returns
        -------
        The threshold: the ``1 - false_alarm_rate`` quantile of their scores.
        """
        return self.calibrate_scores(self.score(normal_features), false_alarm_rate)

    def calibrate_scores(self, normal_scores: np.ndarray, false_alarm_rate: float = 0.01) -> float:
        """:meth:`calibrate` from scores already computed on held-out normal samples."""
        s = np.asarray(normal_scores, np.float64).reshape(-1)
        if s.size == 0 or not np.all(np.isfinite(s)):
            raise VadkitError(f"{self.name}.calibrate: need finite held-out normal scores")
        self.threshold_ = threshold_at_far(s, false_alarm_rate)
        self.false_alarm_rate_ = float(false_alarm_rate)
        self.calib_mean_ = float(s.mean())
        self.calib_std_ = float(max(s.std(), 1e-12))
        return self.threshold_

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``(N,)`` int8: 1 where the score exceeds the calibrated threshold."""
        if not hasattr(self, "threshold_"):
            raise VadkitError(f"{self.name}: call calibrate() on held-out normal data first")
        return (self.score(features) > self.threshold_).astype(np.int8)

    # -- persistence ------------------------------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """Every fitted attribute (name ends in ``_``)."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def save(self, path: str | Path) -> Path:
        """Write config and fitted state to one ``.npz`` file (atomic)."""
        self._check_fitted("save")
        state = self.fitted_state()
        arrays = {f"state.{k}": np.asarray(v) for k, v in state.items()}
        meta = {"name": self.name, "config": asdict(self.config), "state": sorted(state)}
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def from_saved(cls, meta: dict[str, Any], data: Any) -> OneClassScorer:
        names = {f.name for f in fields(cls.config_class)}
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
        obj = cls(cls.config_class(**{k: v for k, v in cfg.items() if k in names}))
        for k in meta["state"]:
            v = data[f"state.{k}"]
            setattr(obj, k, v.item() if v.ndim == 0 else v)
        return obj

    # -- helpers ----------------------------------------------------------------------
    def _check(self, features: np.ndarray, fn: str) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise VadkitError(f"{self.name}.{fn}: features hold NaN or inf")
        return x

    def _check_fitted(self, fn: str) -> None:
        if not hasattr(self, "n_features_in_"):
            raise VadkitError(f"{self.name}.{fn}: the scorer is not fitted; call fit() first")

    def _fit(self, x: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def load_scorer(path: str | Path) -> OneClassScorer:
    """Read a scorer written by :meth:`OneClassScorer.save` (its class from the registry)."""
    from vadkit.methods.oneclass.registry import get_scorer_class

    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"scorer file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            return get_scorer_class(meta["name"]).from_saved(meta, data)
    except (OSError, ValueError, KeyError) as exc:
        raise VadkitError(f"{path}: not a vadkit scorer file ({exc})") from exc
