"""MIL ranking model of Sultani et al., "Real-World Anomaly Detection in Surveillance Videos"
(CVPR 2018): a 3-layer FC network scores each of a video's 32 segments; a hinge loss ranks the
highest-scoring segment of abnormal bags above that of normal bags.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vadkit.methods.mil.common import (
    check_features,
    check_labels,
    pool_batch,
    require,
    segment_of_snippet,
)
from vadkit.methods.mil.config import MILConfig

__all__ = ["MILModel"]


class MILModel(nn.Module):
    """FC ``D -> 512 (ReLU) -> 32 (linear) -> 1 (sigmoid)`` with dropout 0.6, per segment.

    Crops are folded into the batch: every crop of a video is its own bag in the loss (the
    official features have one crop), and snippet/video scores average the crops.

    Parameters
    ----------
    config : the hyperparameters; ``MILConfig()`` gives the official ones.
    """

    def __init__(self, config: MILConfig | None = None) -> None:
        super().__init__()
        self.config = config or MILConfig()
        cfg = self.config
        self.fc1 = nn.Linear(cfg.feature_dim, cfg.hidden1)
        self.fc2 = nn.Linear(cfg.hidden1, cfg.hidden2)
        self.fc3 = nn.Linear(cfg.hidden2, 1)
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.init != "torch":  # Keras 1 glorot_normal kernels
            for fc in (self.fc1, self.fc2, self.fc3):
                nn.init.xavier_normal_(fc.weight)
                if cfg.init == "glorot_normal":  # Keras' zero biases; the port keeps torch's
                    nn.init.zeros_(fc.bias)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score every segment.

        Parameters
        ----------
        x : ``(B, C, T, D)`` float32 features (T is normally ``n_segments``).

        Returns
        -------
        dict with ``"snippet_scores"`` ``(B, T)`` in [0, 1] (mean over crops),
        ``"video_scores"`` ``(B,)`` (max over segments) and ``"crop_scores"`` ``(B, C, T)``.
        """
        x = check_features(x, self.config.feature_dim, 1, "mil")
        if self.config.l2_normalize:
            x = nn.functional.normalize(x, dim=-1)
        h = self.dropout(torch.relu(self.fc1(x)))
        h = self.dropout(self.fc2(h))
        crop_scores = torch.sigmoid(self.fc3(h)).squeeze(-1)
        snippet = crop_scores.mean(dim=1)
        return {
            "snippet_scores": snippet,
            "video_scores": snippet.max(dim=-1).values,
            "crop_scores": crop_scores,
        }

    def l2_penalty(self) -> torch.Tensor:
        """``sum(W**2)`` over the three FC kernels (Keras ``l2`` regularizer; biases excluded).

        ``l2_form="layer_norms"``: the sum over the FCs of ``||[W, b]||_2`` (not squared, biases
        included), as the PyTorch port's ``RegularizedLoss`` computes it.
        """
        fcs = (self.fc1, self.fc2, self.fc3)
        if self.config.l2_form == "layer_norms":
            return sum(torch.cat([fc.weight.flatten(), fc.bias]).norm(p=2) for fc in fcs)
        return sum(fc.weight.pow(2).sum() for fc in fcs)

    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The official objective on a batch of n normal then n abnormal videos.

        With ``a_j``/``m_i`` the highest segment score of abnormal bag j / normal bag i and
        ``s_jt`` abnormal bag j's segment scores (every crop is a bag, so n bags per class
        become n*C)::

            ranking    = mean_i sum_j max(0, margin - a_j + m_i)     (all pairs)
            sparsity   = sum_j sum_t s_jt
            smoothness = sum_j sum_t (s_jt - s_j,t+1) ** 2
            total = ranking + lambda_sparsity * sparsity + lambda_smooth * smoothness
                    + l2 * sum(W ** 2)

        The PyTorch port's objective (see ``MILConfig``): ``ranking_pairs="matched"`` makes
        ranking ``mean_i max(0, margin - a_i + m_i)``, ``bag_reduction="mean"`` averages
        sparsity and smoothness over the abnormal bags instead of summing them, and
        ``l2_form="layer_norms"`` swaps the penalty (:meth:`l2_penalty`).

        Parameters
        ----------
        outputs : the dict returned by :meth:`forward` (uses ``"crop_scores"`` ``(2n, C, T)``).
        labels : ``(2n,)`` 0..0 1..1.

        Returns
        -------
        (total loss, {"ranking", "sparsity", "smoothness", "l2", "total"} as floats).
        """
        cfg = self.config
        scores = outputs["crop_scores"]
        batch, crops, t = scores.shape
        check_labels(labels, batch, "mil")
        n = batch // 2
        normal = scores[:n].reshape(n * crops, t)
        abnormal = scores[n:].reshape(n * crops, t)
        max_normal = normal.max(dim=-1).values
        max_abnormal = abnormal.max(dim=-1).values
        if cfg.ranking_pairs == "matched":  # the port pairs bag i with bag i only
            ranking = torch.relu(cfg.margin - max_abnormal + max_normal).mean()
        else:
            hinge = torch.relu(cfg.margin - max_abnormal[None, :] + max_normal[:, None])
            ranking = hinge.sum(dim=1).mean()
        sparsity = abnormal.sum(dim=-1)
        smoothness = (abnormal[:, 1:] - abnormal[:, :-1]).pow(2).sum(dim=-1)
        reduce = torch.mean if cfg.bag_reduction == "mean" else torch.sum
        sparsity, smoothness = reduce(sparsity), reduce(smoothness)
        l2 = self.l2_penalty()
        total = (
            ranking + cfg.lambda_sparsity * sparsity + cfg.lambda_smooth * smoothness + cfg.l2 * l2
        )
        parts = {"ranking": ranking, "sparsity": sparsity, "smoothness": smoothness, "l2": l2}
        named = {k: float(v.detach()) for k, v in parts.items()}
        named["total"] = float(total.detach())
        return total, named

    @torch.no_grad()
    def score(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet scores of whole test videos, as the official test script computes them.

        A video of T != ``n_segments`` snippets is pooled to ``n_segments`` segments (the
        shared rule; shorter videos repeat snippets, with a warning), scored in eval mode, and
        each snippet takes its segment's score. A 32-segment store is scored as is.

        Parameters
        ----------
        x : ``(B, C, T, D)`` features of B whole videos of the same length.

        Returns
        -------
        ``(B, T)`` float32 scores in [0, 1], higher = more anomalous.
        """
        x = check_features(x, self.config.feature_dim, 1, "mil")
        was_training = self.training
        self.eval()
        try:
            seg = self(pool_batch(x, self.config.n_segments, "mil"))["snippet_scores"]
        finally:
            self.train(was_training)
        index = torch.from_numpy(segment_of_snippet(x.shape[2], seg.shape[1])).to(seg.device)
        return seg[:, index].cpu().numpy().astype(np.float32)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The official optimizer: Adagrad(lr=0.01, eps=1e-8), no decay (L2 is in the loss).

        ``optimizer="adadelta"`` is the PyTorch port's ``Adadelta(lr, eps)`` (rho 0.9).
        """
        cfg = self.config
        require(
            cfg.optimizer in ("adagrad", "adadelta", "adam", "sgd"),
            f"mil: bad optimizer {cfg.optimizer!r}",
        )
        if cfg.optimizer == "adagrad":
            return torch.optim.Adagrad(
                self.parameters(), lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay
            )
        if cfg.optimizer == "adadelta":
            return torch.optim.Adadelta(
                self.parameters(), lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay
            )
        if cfg.optimizer == "adam":
            return torch.optim.Adam(
                self.parameters(), lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay
            )
        return torch.optim.SGD(self.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
