"""Test helpers for the trainer: a tiny contract-following method and generated stores."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vadkit.errors import VadkitError

# ---------------------------------------------------------------- the tiny method


@dataclass(frozen=True)
class TinyConfig:
    """A 2-layer MLP snippet scorer with a top-k BCE loss (every field used)."""

    feature_dim: int = 16
    hidden: int = 32
    topk: int = 3
    lr: float = 1e-2
    weight_decay: float = 0.0
    batch_per_class: int = 8
    iterations: int = 60
    n_segments: int = 32
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TinyConfig:
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise VadkitError(f"TinyConfig: unknown key(s) {unknown}; valid keys: {valid}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TinyModel(nn.Module):
    """Crops are folded into the batch and their scores averaged."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(
            nn.Linear(config.feature_dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 4 or x.shape[-1] != self.config.feature_dim:
            raise VadkitError(
                f"TinyModel: expected (B, C, T, {self.config.feature_dim}), got {tuple(x.shape)}"
            )
        s = torch.sigmoid(self.net(x).squeeze(-1)).mean(dim=1)  # (B, T)
        k = min(self.config.topk, s.shape[1])
        return {"snippet_scores": s, "video_scores": s.topk(k, dim=1).values.mean(dim=1)}

    def loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor):
        n = len(labels) // 2
        want = torch.cat([torch.zeros(n), torch.ones(n)]).to(labels)
        if len(labels) % 2 or not torch.equal(labels, want):
            raise VadkitError("TinyModel.loss: a batch is n normal then n abnormal videos")
        bce = nn.functional.binary_cross_entropy(outputs["video_scores"], labels.float())
        return bce, {"bce": float(bce.detach())}

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> np.ndarray:
        self.eval()
        return self.forward(torch.as_tensor(x, dtype=torch.float32))["snippet_scores"].numpy()

    def make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )


TINY = "tiny_test_method"


def one_thread():
    """Fixture body: torch on one thread (a loaded 2-core machine is 80x slower on two)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def register_tiny() -> None:
    from vadkit.methods.registry import register_method

    register_method(TINY, __name__, TinyConfig, TinyModel, summary="test only", replace=True)


# ---------------------------------------------------------------- generated stores

D, C = 16, 2


def _video(rng: np.random.Generator, T: int, burst: tuple[int, int] | None) -> np.ndarray:
    x = rng.normal(0.0, 1.0, (T, C, D)).astype(np.float32)
    if burst:
        x[burst[0] : burst[1], :, : D // 2] += 2.0
    return x


def make_stores(
    root: Path, n_train: int = 24, n_test: int = 12, seed: int = 0, backbone: str = "gen"
) -> dict[str, Path]:
    """Train and test FeatureStores (half abnormal, each with a burst) and a test CSV.

    The CSV (``video,start,end,n_frames``) marks the burst frames of each abnormal test
    video in the x16 convention (snippet i = frames 16 i .. 16 i + 15).
    """
    from vadkit.io.store import StoreInfo, StoreWriter

    rng = np.random.default_rng(seed)
    info = StoreInfo(backbone=backbone, weights_sha256="x", dim=D, crops=C, padding="drop")
    rows = [("video", "start", "end", "n_frames")]
    paths = {}
    for split, n in (("train", n_train), ("test", n_test)):
        w = StoreWriter(root / split, info)
        for i in range(n):
            label = i % 2
            T = int(rng.integers(40, 90))
            burst = None
            if label:
                a = int(rng.integers(0, T - 12))
                burst = (a, a + int(rng.integers(6, 12)))
            vid = f"{split}_{i:03d}"
            w.add(vid, _video(rng, T, burst), label=label, split=split, n_frames=16 * T)
            if split == "test":
                if burst:
                    rows.append((vid, 16 * burst[0], 16 * burst[1], 16 * T))
                else:
                    rows.append((vid, "", "", 16 * T))
        w.finalize()
        paths[split] = root / split
    with open(root / "test_gt.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    paths["gt"] = root / "test_gt.csv"
    return paths


def burst_video(
    rng: np.random.Generator, abnormal: bool, crops: int = 2, dim: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """(T, crops, dim) normal noise and (T,) snippet labels; abnormal videos get a contiguous
    burst of snippets whose first quarter of channels is shifted by 1.5 (the generated feature
    set of the method tests)."""
    t = int(rng.integers(40, 90))
    x = rng.standard_normal((t, crops, dim)).astype(np.float32)
    labels = np.zeros(t, dtype=int)
    if abnormal:
        length = int(rng.integers(t // 8, t // 4))
        start = int(rng.integers(0, t - length))
        x[start : start + length, :, : dim // 4] += 1.5
        labels[start : start + length] = 1
    return x, labels


def train_on_bursts(model: Any, seed: int, steps: int) -> list[float]:
    """Train ``model`` (method contract) on 16 + 16 generated burst videos, 8 + 8 per step,
    each pooled to 32 segments; the per-step losses."""
    from vadkit.sampling import pool_segments

    rng = np.random.default_rng(seed)
    normal = [burst_video(rng, False)[0] for _ in range(16)]
    abnormal = [burst_video(rng, True)[0] for _ in range(16)]
    opt = model.make_optimizer()
    labels = torch.tensor([0.0] * 8 + [1.0] * 8)
    losses = []
    for step in range(steps):
        pick = np.random.default_rng(seed + step).choice(16, 8, replace=False)
        videos = [normal[i] for i in pick] + [abnormal[i] for i in pick]
        x = torch.from_numpy(np.stack([pool_segments(v, 32).transpose(1, 0, 2) for v in videos]))
        model.train()
        total, _ = model.loss(model(x), labels)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(float(total.detach()))
    return losses


def burst_snippet_auc(model: Any, seed: int = 100, n: int = 16) -> float:
    """Snippet AUC of ``model.score`` on ``n`` new burst videos (every second abnormal)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    scores, labels = [], []
    for i in range(n):
        x, y = burst_video(rng, abnormal=i % 2 == 1)
        scores.append(model.score(x.transpose(1, 0, 2)[None])[0])
        labels.append(y)
    return float(roc_auc_score(np.concatenate(labels), np.concatenate(scores)))
