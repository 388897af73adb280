"""UR-DMU: Dual Memory Units with Uncertainty Regulation (Zhou, Yu, Yang, AAAI 2023)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vadkit.errors import VadkitError
from vadkit.methods.rtfm.losses import as_input, check_labels
from vadkit.methods.ur_dmu.config import UrDmuConfig
from vadkit.methods.ur_dmu.layers import ClassifierHead, Embedding, MemoryUnit, Transformer

__all__ = ["UrDmuModel", "topk_count"]

#: outputs of the training forward that `UrDmuModel.loss` needs
_TRAIN_KEYS = ("triplet", "kl", "distance", "A_att", "N_att", "A_Natt", "N_Aatt")


def topk_count(t: int) -> int:
    """The reference's top-k size for ``t`` snippets (or memory items): ``t // 16 + 1``."""
    return t // 16 + 1


def _unit(x: torch.Tensor) -> torch.Tensor:
    """``x / ||x||`` over the last axis (the reference's ``utils.norm``, no epsilon)."""
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)


class UrDmuModel(nn.Module):
    """UR-DMU on ``(B, crops, T, D)`` snippet features.

    An embedding (temporal conv) and a transformer encoder with a fixed distance attention
    feed two memory units (abnormal, normal). Each snippet's feature is concatenated with the
    memories' read-outs passed through the mean encoder and scored by an MLP. Crops are
    independent sequences (folded into the batch) whose scores are averaged, as the
    reference's 4-D input path does. In training mode with ``train_crops="random"`` each
    video contributes one crop drawn at random (torch's RNG), because the reference trains
    every crop as a separate sample.

    In training mode ``forward`` needs the batch order of the contract (``n`` normal videos,
    then ``n`` abnormal), as the reference's ``WSAD`` does: the memories, the triplet and
    the uncertainty branch treat the halves differently. In eval mode every video is scored
    on its own.

    Parameters
    ----------
    config : `UrDmuConfig`; the model keeps it whole as ``self.config``.
    """

    def __init__(self, config: UrDmuConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or UrDmuConfig()
        self.embedding = Embedding(c.feature_dim, c.embed_dim)
        self.cls_head = ClassifierHead(2 * c.embed_dim, c.head_hidden)
        self.Amemory = MemoryUnit(c.a_nums, c.embed_dim)
        self.Nmemory = MemoryUnit(c.n_nums, c.embed_dim)
        self.selfatt = Transformer(c.embed_dim, c.depth, c.heads, c.dim_head, c.mlp_dim, c.dropout)
        self.encoder_mu = nn.Sequential(nn.Linear(c.embed_dim, c.embed_dim))
        self.encoder_var = nn.Sequential(nn.Linear(c.embed_dim, c.embed_dim))

    # ------------------------------------------------------------------ forward
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, d = x.shape
        return self.selfatt(self.embedding(x.reshape(b * c, t, d)))  # (B*C, T, E)

    def _eval_scores(self, h: torch.Tensor, b: int, c: int) -> torch.Tensor:
        """Test path: ``cls_head([h, mu(A read-out) + mu(N read-out)])``, crop mean -> (B, T)."""
        _, a_aug = self.Amemory(h)
        _, n_aug = self.Nmemory(h)
        aug = self.encoder_mu(a_aug) + self.encoder_mu(n_aug)
        return self.cls_head(torch.cat([h, aug], dim=-1)).reshape(b, c, -1).mean(1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Snippet scores; in training mode also the memory responses and the loss terms.

        Parameters
        ----------
        x : (B, C, T, D) float32. Training mode: ``B = 2n``, n normal then n abnormal videos.

        Returns
        -------
        dict with
            ``snippet_scores`` (B, T) in [0, 1], crop-averaged;
            ``video_scores`` (B,) mean of the ``T // 16 + 1`` highest snippet scores;
            training mode only: ``A_att``, ``N_Aatt`` (n, T) the abnormal videos' responses to
            the abnormal / normal memory, ``N_att``, ``A_Natt`` (n, T) the normal videos'
            responses to the normal / abnormal memory, and the scalars ``triplet``, ``kl``,
            ``distance``.
        """
        x = as_input(x, self.config.feature_dim, "UR-DMU")
        b, c, t, _ = x.shape
        k = topk_count(t)
        if not self.training:
            scores = self._eval_scores(self._encode(x), b, c)
            return {"snippet_scores": scores, "video_scores": scores.topk(k, dim=1)[0].mean(1)}
        if b % 2:
            raise VadkitError(
                f"UR-DMU: a training batch must be n normal then n abnormal videos, got B={b}; "
                "call model.eval() to score videos one by one"
            )
        if c > 1 and self.config.train_crops == "random":
            pick = torch.randint(c, (b,), device=x.device)
            x, c = x[torch.arange(b, device=x.device), pick][:, None], 1
        out = self._train_outputs(self._encode(x), b // 2, c, k)
        out["video_scores"] = out["snippet_scores"].topk(k, dim=1)[0].mean(1)
        return out

    def _train_outputs(self, h: torch.Tensor, n: int, c: int, k: int) -> dict[str, torch.Tensor]:
        """The reference's ``flag == "Train"`` branch; ``h`` (2n*C, T, E), normal rows first."""
        cfg = self.config
        n_x, a_x = h[: n * c], h[n * c :]
        a_att, a_aug = self.Amemory(a_x)  # abnormal videos -> abnormal memory
        n_a_att, n_a_aug = self.Nmemory(a_x)  # abnormal videos -> normal memory
        a_n_att, a_n_aug = self.Amemory(n_x)  # normal videos -> abnormal memory
        n_att, n_aug = self.Nmemory(n_x)  # normal videos -> normal memory

        def top(att: torch.Tensor) -> torch.Tensor:  # (n*C, k) snippets of largest response
            return att.topk(k, dim=-1)[1]

        def pooled(feats: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:  # -> (n, E)
            g = feats.gather(1, idx[..., None].expand(-1, -1, feats.shape[-1])).mean(1)
            return g.reshape(n, c, -1).mean(1)

        a_idx, n_idx, p_idx = top(a_att), top(n_att), top(n_a_att)
        triplet = F.triplet_margin_loss(
            _unit(pooled(n_x, n_idx)),  # anchor: normal videos, normal-memory top-k
            _unit(pooled(a_x, p_idx)),  # positive: abnormal videos, normal-memory top-k
            _unit(pooled(a_x, a_idx)),  # negative: abnormal videos, abnormal-memory top-k
            margin=cfg.triplet_margin,
        )
        mu, logvar = self.encoder_mu(n_aug), self.encoder_var(n_aug)
        n_aug_new = mu + torch.randn_like(mu) * torch.exp(logvar).sqrt()
        a_aug_new = self.encoder_mu(a_aug)
        # KL to N(0, I); the reference sums over dim 1 (time) and averages the rest
        kl = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        anchor_norm = torch.linalg.vector_norm(pooled(n_aug_new, n_idx), dim=-1)
        negative_norm = torch.linalg.vector_norm(pooled(a_aug_new, a_idx), dim=-1)
        distance = torch.relu(cfg.distance_margin - negative_norm + anchor_norm).mean()
        aug = torch.cat(
            [n_aug_new + self.encoder_mu(a_n_aug), a_aug_new + self.encoder_mu(n_a_aug)], dim=0
        )
        scores = self.cls_head(torch.cat([h, aug], dim=-1)).reshape(2 * n, c, -1).mean(1)

        def per_video(att: torch.Tensor) -> torch.Tensor:
            return att.reshape(n, c, -1).mean(1)

        return {
            "snippet_scores": scores,
            "A_att": per_video(a_att),
            "N_att": per_video(n_att),
            "A_Natt": per_video(a_n_att),
            "N_Aatt": per_video(n_a_att),
            "triplet": triplet,
            "kl": kl,
            "distance": distance,
        }

    # ------------------------------------------------------------------ loss
    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The reference's ``AD_Loss`` for ``n`` normal then ``n`` abnormal videos.

        ``BCE(video_scores, labels) + memory_weight * (A + N_A + N + A_N)
        + triplet_weight * triplet + kl_weight * kl + distance_weight * distance`` where, with
        ``k = T // 16 + 1``: A = BCE(mean top-k abnormal-memory response of the abnormal
        videos, 1); N_A = BCE(mean top-k of ``1 -`` their normal-memory response, 1);
        N = BCE(normal videos' normal-memory response, 1) and A_N = BCE(their
        abnormal-memory response, 0), both over every snippet.

        Parameters
        ----------
        outputs : `forward`'s dict in training mode.
        labels : (2n,) video labels, 0..0 then 1..1.

        Returns
        -------
        (total loss, {"bce", "A", "N_A", "N", "A_N", "triplet", "kl", "distance", "total"})
        """
        missing = [key for key in _TRAIN_KEYS if key not in outputs]
        if missing:
            raise VadkitError(
                f"UR-DMU loss: outputs lack {', '.join(missing)}; they come from forward in "
                "training mode (model.train())"
            )
        scores = outputs["video_scores"]
        n = check_labels(labels, scores.shape[0], "UR-DMU loss")
        k = topk_count(outputs["snippet_scores"].shape[1])
        ones = torch.ones(n, device=scores.device)
        parts = {
            "bce": F.binary_cross_entropy(scores, torch.as_tensor(labels).to(scores).flatten()),
            "A": F.binary_cross_entropy(outputs["A_att"].topk(k, dim=-1)[0].mean(-1), ones),
            "N_A": F.binary_cross_entropy(
                (1 - outputs["N_Aatt"]).topk(k, dim=-1)[0].mean(-1), ones
            ),
            "N": F.binary_cross_entropy(outputs["N_att"], torch.ones_like(outputs["N_att"])),
            "A_N": F.binary_cross_entropy(outputs["A_Natt"], torch.zeros_like(outputs["A_Natt"])),
        }
        cfg = self.config
        memory = parts["A"] + parts["N_A"] + parts["N"] + parts["A_N"]
        total = (
            parts["bce"]
            + cfg.memory_weight * memory
            + cfg.triplet_weight * outputs["triplet"]
            + cfg.kl_weight * outputs["kl"]
            + cfg.distance_weight * outputs["distance"]
        )
        named = {key: float(v.detach()) for key, v in parts.items()}
        for key in ("triplet", "kl", "distance"):
            named[key] = float(outputs[key].detach())
        named["total"] = float(total.detach())
        return total, named

    # ------------------------------------------------------------------ test time
    @torch.no_grad()
    def score(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet scores of whole test videos, as the reference's ``ucf_test.py``.

        Eval mode (no dropout, no sampling), each video at its native length, each crop run
        on its own (memory: the self-attention is ``T x T``) and the crop scores averaged.
        Any ``T >= 1`` works.

        Parameters
        ----------
        x : (B, C, T, D), usually ``B = 1``.

        Returns
        -------
        ndarray : (B, T) float32 in [0, 1], higher = more anomalous.
        """
        x = as_input(x, self.config.feature_dim, "UR-DMU score")
        was_training = self.training
        self.eval()
        try:
            x = x.to(next(self.parameters()).device)
            b, c = x.shape[:2]
            total = sum(self._eval_scores(self._encode(x[:, i : i + 1]), b, 1) for i in range(c))
        finally:
            self.train(was_training)
        return (total / c).cpu().numpy().astype(np.float32)

    def snippet_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Per-snippet scores ``(B, T)`` of ``(B, C, T, D)`` features, crops averaged, as one
        tensor graph (no input checks, no mode switch): what ``vadkit export`` traces."""
        return self._eval_scores(self._encode(x), x.shape[0], x.shape[1])

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam over all parameters with the config's lr, betas and weight decay (ucf_main.py)."""
        c = self.config
        return torch.optim.Adam(
            self.parameters(), lr=c.lr, betas=tuple(c.betas), weight_decay=c.weight_decay
        )
