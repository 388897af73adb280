"""TACnet: temporal attention clustering network for weakly supervised video anomaly detection
(ckjeter/TACnet_Video_Anomaly_Detection_by_Temporal_Attention_Clustering_Network).

A temporal 1-D convolution embeds the 32 segment features; attention MIL pools them into a bag
that a bag classifier scores; a segment classifier scores each segment from [feature,
attention logit]; k-means (k=2, cosine) splits the segments of each video and the higher
cluster's mean segment score joins the bag score in the video score.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import vadkit.methods.tacnet.losses as losses
from vadkit.methods.mil.common import check_features, check_labels, pool_batch, segment_of_snippet
from vadkit.methods.tacnet.config import TACnetConfig
from vadkit.methods.tacnet.kmeans import kmeans_cosine

__all__ = ["TACnetModel", "tacnet_optimizer"]


def _classifier(in_dim: int, dims: tuple[int, ...], dropout: float) -> nn.Sequential:
    """``Linear, ReLU, Dropout`` per hidden size, then ``Linear(., 1)`` (reference layout)."""
    layers: list[nn.Module] = []
    for d in dims:
        layers += [nn.Linear(in_dim, d), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = d
    layers.append(nn.Linear(in_dim, 1))
    return nn.Sequential(*layers)


class TACnetModel(nn.Module):
    """TACnet head on segment features (layer names as in the reference ``TACnet``).

    Crops are folded into the batch: each crop is a bag with its own k-means, the loss sees
    every crop-bag, and snippet/video scores average the crops (the reference has one crop).

    Parameters
    ----------
    config : hyperparameters; ``TACnetConfig()`` gives the reference's.
    """

    #: ``make_scheduler``'s milestones count epochs: the trainer steps it once per epoch
    scheduler_per_epoch = True

    def __init__(self, config: TACnetConfig | None = None) -> None:
        super().__init__()
        self.config = config or TACnetConfig()
        cfg = self.config
        self.tsn = nn.Conv1d(
            cfg.feature_dim, cfg.hidden, cfg.conv_kernel, padding=cfg.conv_kernel // 2
        )
        if cfg.attention_type == "normal":
            self.attention = nn.Sequential(
                nn.Linear(cfg.hidden, cfg.attention_dim), nn.Tanh(), nn.Linear(cfg.attention_dim, 1)
            )
        else:
            self.attention_V = nn.Sequential(nn.Linear(cfg.hidden, cfg.attention_dim), nn.Tanh())
            self.attention_U = nn.Sequential(nn.Linear(cfg.hidden, cfg.attention_dim), nn.Sigmoid())
            self.attention_gate = nn.Linear(cfg.attention_dim, 1)
        self.c_bag = _classifier(cfg.hidden, cfg.classifier_dims, cfg.dropout)
        self.c_segment = _classifier(cfg.hidden + 1, cfg.classifier_dims, cfg.dropout)

    def _attention_logits(self, feature: torch.Tensor) -> torch.Tensor:
        if self.config.attention_type == "normal":
            return self.attention(feature)
        return self.attention_gate(self.attention_V(feature) * self.attention_U(feature))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score segments and videos.

        Parameters
        ----------
        x : ``(B, C, T, D)`` float32 features, T >= 2 (normally ``n_segments``).

        Returns
        -------
        dict with ``"snippet_scores"`` ``(B, T)`` (segment classifier, mean over crops),
        ``"video_scores"`` ``(B,)`` (``w * bag + (1 - w) * higher cluster mean``, mean over
        crops), ``"attention"`` ``(B, C, T)`` attention logits, and per crop-bag (``N = B*C``)
        ``"bag_segment_scores"`` ``(N, T)``, ``"bag_video_scores"`` ``(N,)``,
        ``"bag_scores"`` ``(N,)`` (bag classifier) and ``"clusters"`` ``(N, T)`` (k-means).
        """
        cfg = self.config
        x = check_features(x, cfg.feature_dim, 2, "tacnet")
        b, c, t, d = x.shape
        feature = self.tsn(x.reshape(b * c, t, d).transpose(1, 2)).transpose(1, 2)  # (N, T, L)
        logits = self._attention_logits(feature)  # (N, T, 1)
        bag = (torch.softmax(logits, dim=1) * feature).sum(dim=1)  # (N, L)
        bag_scores = torch.sigmoid(self.c_bag(bag)).squeeze(-1)
        seg = torch.sigmoid(self.c_segment(torch.cat([feature, logits], dim=-1))).squeeze(-1)
        assign, _ = kmeans_cosine(feature, cfg.n_clusters, cfg.kmeans_iter_limit, cfg.kmeans_tol)
        video = cfg.bag_weight * bag_scores + (1 - cfg.bag_weight) * losses.cluster_score(
            seg, assign
        )
        return {
            "snippet_scores": seg.reshape(b, c, t).mean(dim=1),
            "video_scores": video.reshape(b, c).mean(dim=1),
            "attention": logits.reshape(b, c, t),
            "bag_segment_scores": seg,
            "bag_video_scores": video,
            "bag_scores": bag_scores,
            "clusters": assign,
        }

    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the reference's five terms on n normal then n abnormal videos.

        ``bag`` (BCE of the video score), ``inner`` (cluster BCE), ``maxmin``, ``smooth``
        (``"temporal"``: sum of squared neighbour differences; ``"histogram"``: the
        reference's score-histogram entropy, no gradient) and ``sparsity`` (sum of segment
        scores); each is a mean over crop-bags (``batch_reduction="sum"``: the bag BCE a mean,
        the other four a sum, as the reference), see :mod:`vadkit.methods.tacnet.losses`.

        Parameters
        ----------
        outputs : the dict of :meth:`forward`.
        labels : ``(2n,)`` 0..0 1..1 (one label per video; crops inherit it).

        Returns
        -------
        (total loss, named parts and ``"total"`` as floats).
        """
        cfg = self.config
        seg = outputs["bag_segment_scores"]
        video = outputs["bag_video_scores"]
        n_videos = outputs["snippet_scores"].shape[0]
        y = check_labels(labels, n_videos, "tacnet").to(seg.device)
        y = y.repeat_interleave(len(seg) // n_videos)
        smooth = (
            losses.temporal_smoothness(seg)
            if cfg.smooth == "temporal"
            else losses.histogram_entropy(seg, cfg.smooth_bins)
        )
        parts = {
            "bag": nn.functional.binary_cross_entropy(video, y),
            "inner": losses.inner_bag_loss(seg, outputs["clusters"], y),
            "maxmin": losses.maxmin_loss(seg, y),
            "smooth": smooth,
            "sparsity": losses.sparsity_loss(seg),
        }
        weights = {
            "bag": cfg.w_bag,
            "inner": cfg.w_inner,
            "maxmin": cfg.w_maxmin,
            "smooth": cfg.w_smooth,
            "sparsity": cfg.w_sparsity,
        }
        if cfg.batch_reduction == "sum":  # the reference sums these over the batch
            for key in ("inner", "maxmin", "smooth", "sparsity"):
                parts[key] = parts[key] * len(seg)
        total = sum(weights[k] * v for k, v in parts.items())
        named = {k: float(v.detach()) for k, v in parts.items()}
        named["total"] = float(total.detach())
        return total, named

    @torch.no_grad()
    def score(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet scores of whole test videos: the segment classifier's output.

        The reference scores the 32 segments with ``output_seg`` and spreads each over its
        frames. A video of T != ``n_segments`` snippets is pooled to ``n_segments`` (shorter
        videos repeat snippets, with a warning) and each snippet takes its segment's score.
        k-means does not change these scores (only the video score).

        Parameters
        ----------
        x : ``(B, C, T, D)`` features of B whole videos of the same length.

        Returns
        -------
        ``(B, T)`` float32 in [0, 1], higher = more anomalous.
        """
        x = check_features(x, self.config.feature_dim, 1, "tacnet")
        was_training = self.training
        self.eval()
        try:
            seg = self(pool_batch(x, self.config.n_segments, "tacnet"))["snippet_scores"]
        finally:
            self.train(was_training)
        index = torch.from_numpy(segment_of_snippet(x.shape[2], seg.shape[1])).to(seg.device)
        return seg[:, index].cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def _segments_of(
        self, x: torch.Tensor | np.ndarray
    ) -> tuple[dict[str, torch.Tensor], np.ndarray]:
        """Eval-mode outputs of a whole video pooled to segments, and each snippet's segment."""
        x = check_features(x, self.config.feature_dim, 1, "tacnet")
        was_training = self.training
        self.eval()
        try:
            out = self(pool_batch(x, self.config.n_segments, "tacnet"))
        finally:
            self.train(was_training)
        return out, segment_of_snippet(x.shape[2], out["snippet_scores"].shape[1])

    def attention_weights(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet attention weights of whole videos: the softmax over segments of the
        attention logits that pool the bag (crop mean), each snippet taking its segment's.

        ``x`` (B, C, T, D) -> (B, T) float32; each video's segment weights sum to 1.
        Scores are unchanged (this only reads the ``attention`` output of :meth:`forward`).
        """
        out, index = self._segments_of(x)
        weights = torch.softmax(out["attention"], dim=2).mean(dim=1)  # (B, n_segments)
        return weights[:, torch.from_numpy(index)].cpu().numpy().astype(np.float32)

    def clusters(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet k-means cluster of whole videos (first crop), as TACnet's cluster
        graph colours them: 1 = the cluster of higher mean segment score (the one that
        joins the video score), 0 = the other.

        ``x`` (B, C, T, D) -> (B, T) int64.
        """
        out, index = self._segments_of(x)
        b, c = (
            out["snippet_scores"].shape[0],
            len(out["clusters"]) // out["snippet_scores"].shape[0],
        )
        assign = out["clusters"].reshape(b, c, -1)[:, 0]  # (B, n_segments)
        seg = out["bag_segment_scores"].reshape(b, c, -1)[:, 0]
        means, _ = losses.cluster_means(seg, assign)
        high = means.argmax(dim=1, keepdim=True)  # ties: cluster 0, as inner_bag_loss
        labelled = (assign == high).long()
        return labelled[:, torch.from_numpy(index)].cpu().numpy()

    def snippet_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Per-segment scores ``(B, T)`` of ``(B, C, T, D)`` features, crops averaged, as one
        tensor graph (no input checks, no mode switch): :meth:`forward` up to the segment
        classifier (k-means only feeds video scores); what ``vadkit export`` traces."""
        b, c, t, d = x.shape
        feature = self.tsn(x.reshape(b * c, t, d).transpose(1, 2)).transpose(1, 2)
        logits = self._attention_logits(feature)
        seg = torch.sigmoid(self.c_segment(torch.cat([feature, logits], dim=-1))).squeeze(-1)
        return seg.reshape(b, c, t).mean(dim=1)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """AdamW (or Adam) at ``lr`` with the config's decay, betas and eps (reference ``main.py``)."""
        return tacnet_optimizer(
            self.config, [{"params": list(self.parameters()), "lr": self.config.lr}]
        )

    def make_scheduler(
        self, optimizer: torch.optim.Optimizer
    ) -> torch.optim.lr_scheduler.LRScheduler:
        """Per-epoch ``MultiStepLR(milestones, gamma)`` of the reference."""
        cfg = self.config
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, list(cfg.lr_milestones), gamma=cfg.lr_gamma
        )


def tacnet_optimizer(cfg: TACnetConfig, groups: list[dict]) -> torch.optim.Optimizer:
    """Adam (or AdamW) with the config's betas, eps and weight decay over parameter ``groups``
    (the head's one group, or the end-to-end model's backbone and head groups)."""
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
