"""``AutoencoderScorer``: fit on normal clip embeddings, score clips by reconstruction error.

The estimator contract of vadkit's one-class scorers (scikit-learn style): ``__init__`` only
stores the config, ``fit(normal, val) -> self``, ``score(features) -> (N,)`` per-clip scores
where higher means more anomalous, fitted state ends in ``_``, ``save`` / ``load``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vadkit.errors import VadkitError
from vadkit.methods.autoencoder.config import AutoencoderConfig
from vadkit.methods.autoencoder.model import AutoencoderModel

__all__ = ["AutoencoderScorer"]

_FORMAT = "vadkit-autoencoder-1"


def _as_2d(x: Any, name: str, dim: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] == 0:
        raise VadkitError(f"{name}: expected clip embeddings (N, D) with N >= 1, got {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise VadkitError(f"{name}: embeddings have D={a.shape[1]}, the scorer was fit on D={dim}")
    if not np.isfinite(a).all():
        raise VadkitError(f"{name}: embeddings contain NaN or inf")
    return a


class AutoencoderScorer:
    """Space-time-embedding autoencoder (seed: "pretrained space-time model + autoencoder").

    Parameters
    ----------
    config : hyperparameters; ``None`` = the defaults. Keyword overrides are applied on top.

    Attributes (after ``fit``)
    --------------------------
    model_ : the :class:`AutoencoderModel` at its best validation epoch, in eval mode.
    mean_, scale_ : ``(D,)`` standardisation of the embeddings (0 and 1 if not standardising).
    history_ : one dict per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr``.
    best_epoch_, best_val_loss_ : the epoch kept and its validation reconstruction error.
    classes_ : sorted training class names (``["all"]`` when fit without classes).
    latent_centroids_, embedding_centroids_ : ``(K, latent)`` / ``(K, D)`` per-class means
        of the training latents / standardised embeddings, rows in ``classes_`` order.
    latent_centroid_, embedding_centroid_ : the global training means.
    """

    def __init__(self, config: AutoencoderConfig | None = None, **overrides: Any) -> None:
        config = config or AutoencoderConfig()
        if overrides:
            config = AutoencoderConfig.from_dict({**config.to_dict(), **overrides})
        self.config = config

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        features: np.ndarray,
        val_features: np.ndarray | None = None,
        classes: list[str] | np.ndarray | None = None,
    ) -> AutoencoderScorer:
        """Train on normal clip embeddings; keep the epoch with the lowest validation error.

        Parameters
        ----------
        features : ``(N, D)`` training embeddings (normal clips only), N >= 2.
        val_features : ``(M, D)`` validation embeddings; the checkpoint kept is the epoch with
            the lowest mean reconstruction error on them. ``None``: selected on the training
            error instead (``selected_on_ == "train"``).
        classes : ``(N,)`` class name of each training clip, for the per-class centroids.
        """
        cfg = self.config
        x = _as_2d(features, "training features")
        if x.shape[0] < 2:
            raise VadkitError("training features: need at least 2 clips to train the autoencoder")
        v = (
            None
            if val_features is None
            else _as_2d(val_features, "validation features", x.shape[1])
        )
        labels = np.array(["all"] * len(x) if classes is None else [str(c) for c in classes])
        if labels.shape != (len(x),):
            raise VadkitError(f"classes: expected {len(x)} names, got {labels.shape}")
        x64 = x.astype(np.float64)
        self.mean_ = (x64.mean(0) if cfg.standardize else np.zeros(x.shape[1])).astype(np.float32)
        std = x64.std(0) if cfg.standardize else np.ones(x.shape[1])
        # constant dimensions stay as they are (divided by 1)
        self.scale_ = np.where(std > 0, std, 1.0).astype(np.float32)
        xt = torch.from_numpy(self._standardize(x))
        vt = None if v is None else torch.from_numpy(self._standardize(v))

        with torch.random.fork_rng(devices=[]), _one_thread():
            torch.manual_seed(cfg.seed)
            self._train(xt, vt)
        self._fit_centroids(x, labels)
        return self

    def _train(self, xt: torch.Tensor, vt: torch.Tensor | None) -> None:
        cfg = self.config
        model = AutoencoderModel(cfg, xt.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = _scheduler(opt, cfg)
        gen = torch.Generator().manual_seed(cfg.seed)
        history: list[dict[str, float]] = []
        best = (np.inf, -1, None)
        for epoch in range(cfg.epochs):
            model.train()
            order = torch.randperm(len(xt), generator=gen)
            total, seen = 0.0, 0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                if len(idx) < 2 and cfg.batch_norm:  # BatchNorm cannot train on one clip
                    continue
                recon, _ = model(xt[idx])
                loss = torch.mean((recon - xt[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                seen += len(idx)
            val_loss = float(self._mse(model, vt).mean()) if vt is not None else total / seen
            lr = opt.param_groups[0]["lr"]
            history.append(
                {"epoch": epoch, "train_loss": total / seen, "val_loss": val_loss, "lr": lr}
            )
            if val_loss < best[0]:
                best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
            if cfg.scheduler == "plateau":
                sched.step(val_loss)
            elif sched is not None:
                sched.step()
        if best[2] is None:
            raise VadkitError(
                f"autoencoder training diverged (loss {history[-1]['val_loss']}); lower lr={cfg.lr}"
            )
        model.load_state_dict(best[2])
        self.model_ = model.eval()
        self.history_ = history
        self.best_val_loss_, self.best_epoch_ = float(best[0]), int(best[1])
        self.selected_on_ = "val" if vt is not None else "train"

    def _fit_centroids(self, x: np.ndarray, labels: np.ndarray) -> None:
        emb = self._standardize(x)
        lat = self.latent(x)
        self.classes_ = sorted(set(labels.tolist()))
        self.embedding_centroids_ = np.stack([emb[labels == c].mean(0) for c in self.classes_])
        self.latent_centroids_ = np.stack([lat[labels == c].mean(0) for c in self.classes_])
        self.embedding_centroid_ = emb.mean(0)
        self.latent_centroid_ = lat.mean(0)

    # ---------------------------------------------------------------- score
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise VadkitError("AutoencoderScorer is not fitted: call fit(...) or load(...) first")

    def _standardize(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean_) / self.scale_).astype(np.float32)

    @staticmethod
    @torch.no_grad()
    def _mse(model: AutoencoderModel, x: torch.Tensor | None) -> torch.Tensor:
        was = model.training
        model.eval()
        recon, _ = model(x)
        model.train(was)
        return torch.mean((recon - x) ** 2, dim=1)

    def _prepare(self, features: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        x = _as_2d(features, "features", self.model_.feature_dim)
        return torch.from_numpy(self._standardize(x))

    def reconstruction_error(self, features: np.ndarray) -> np.ndarray:
        """``(N, D)`` embeddings -> ``(N,)`` mean squared reconstruction error per clip."""
        x = self._prepare(features)
        return self._mse(self.model_, x).numpy().astype(np.float64)

    @torch.no_grad()
    def latent(self, features: np.ndarray) -> np.ndarray:
        """``(N, D)`` embeddings -> ``(N, hidden[-1])`` latent codes."""
        x = self._prepare(features)
        return self.model_.encoder(x).numpy()

    def embedding(self, features: np.ndarray) -> np.ndarray:
        """``(N, D)`` embeddings as the autoencoder sees them (standardised)."""
        return self._prepare(features).numpy()

    def class_distances(self, features: np.ndarray, space: str = "latent") -> np.ndarray:
        """Euclidean distance of each clip to every training class centroid: ``(N, K)``.

        ``space`` is ``"latent"`` or ``"embedding"``; columns follow ``classes_``.
        """
        points, centroids = self._space(features, space)
        return np.linalg.norm(points[:, None, :] - centroids[None], axis=2).astype(np.float64)

    def global_distance(self, features: np.ndarray, space: str = "latent") -> np.ndarray:
        """Euclidean distance of each clip to the global training centroid: ``(N,)``."""
        points, _ = self._space(features, space)
        center = self.latent_centroid_ if space == "latent" else self.embedding_centroid_
        return np.linalg.norm(points - center, axis=1).astype(np.float64)

    def _space(self, features: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray]:
        if space == "latent":
            return self.latent(features), self.latent_centroids_
        if space == "embedding":
            return self.embedding(features), self.embedding_centroids_
        raise VadkitError(f"space {space!r}: choose 'latent' or 'embedding'")

    def score(self, features: np.ndarray, kind: str | None = None) -> np.ndarray:
        """Per-clip anomaly scores ``(N,)``, higher = more anomalous.

        ``kind`` (default ``config.score_kind``): ``"reconstruction"``, ``"latent_nearest"``,
        ``"embedding_nearest"`` (distance to the nearest training class centroid),
        ``"latent_global"``, ``"embedding_global"`` (distance to the global centroid).
        """
        kind = kind or self.config.score_kind
        if kind == "reconstruction":
            return self.reconstruction_error(features)
        space, _, which = kind.partition("_")
        if space in ("latent", "embedding") and which == "nearest":
            return self.class_distances(features, space).min(1)
        if space in ("latent", "embedding") and which == "global":
            return self.global_distance(features, space)
        raise VadkitError(
            f"score kind {kind!r}: choose reconstruction, latent_nearest, embedding_nearest, "
            "latent_global or embedding_global"
        )

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> Path:
        """Write config, weights, standardisation, centroids and history to ``path`` (atomic)."""
        from vadkit.io.atomic import atomic_write

        self._check_fitted()
        state = {
            "format": _FORMAT,
            "config": self.config.to_dict(),
            "feature_dim": self.model_.feature_dim,
            "state_dict": self.model_.state_dict(),
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "best_val_loss": self.best_val_loss_,
            "selected_on": self.selected_on_,
            "classes": list(self.classes_),
        }
        for name in _ARRAYS:
            state[name] = torch.from_numpy(np.ascontiguousarray(getattr(self, f"{name}_")))
        return atomic_write(path, lambda fh: torch.save(state, fh))

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderScorer:
        """Read a scorer written by :meth:`save`; its scores are identical."""
        path = Path(path)
        if not path.is_file():
            raise VadkitError(f"autoencoder checkpoint {path} does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input
            raise VadkitError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise VadkitError(f"{path}: not a vadkit autoencoder checkpoint ({_FORMAT})")
        self = cls(AutoencoderConfig.from_dict(state["config"]))
        model = AutoencoderModel(self.config, int(state["feature_dim"]))
        model.load_state_dict(state["state_dict"])
        self.model_ = model.eval()
        self.history_ = list(state["history"])
        self.best_epoch_ = int(state["best_epoch"])
        self.best_val_loss_ = float(state["best_val_loss"])
        self.selected_on_ = str(state["selected_on"])
        self.classes_ = list(state["classes"])
        for name in _ARRAYS:
            setattr(self, f"{name}_", state[name].numpy())
        return self


_ARRAYS = (
    "mean",
    "scale",
    "latent_centroids",
    "embedding_centroids",
    "latent_centroid",
    "embedding_centroid",
)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Batches of a few clips through a small MLP: parallel kernels only add overhead."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _scheduler(opt: torch.optim.Optimizer, cfg: AutoencoderConfig):
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=cfg.gamma, patience=cfg.step_size
        )
    return None
