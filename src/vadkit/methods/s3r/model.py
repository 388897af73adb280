"""S3R: Self-Supervised Sparse Representation (Wu et al., ECCV 2022)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vadkit.errors import VadkitError
from vadkit.methods.rtfm.layers import TemporalTrunk, xavier_init
from vadkit.methods.rtfm.losses import (
    as_input,
    rtfm_loss,
    topk_by_magnitude,
)
from vadkit.methods.rtfm.model import make_adam, snippet_classifier
from vadkit.methods.s3r.config import S3RConfig

__all__ = ["DeNormal", "EnNormal", "S3RModel"]


class EnNormal(nn.Module):
    """en-Normal: each snippet attends to the dictionary atoms and takes their embedding.

    ``out = softmax(query(x) @ key(atoms)^T) @ value(atoms)`` (no scaling, no shrinkage: the
    reference builds it with ``shrink_thres=0``).
    """

    def __init__(self, dim: int, attention_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, attention_dim)
        self.key = nn.Linear(dim, attention_dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, atoms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (N, T, D), ``atoms`` (S, D) -> normal features (N, T, D), attention (N, T, S)."""
        attn = (self.query(x) @ self.key(atoms).T).softmax(dim=-1)
        return attn @ self.value(atoms), attn


class DeNormal(nn.Module):
    """de-Normal: a channel gate from the difference of the two branches' temporal means.

    ``g = sigmoid(fc2(relu(fc1(mean_T(video) - mean_T(macro)))))``; returns
    ``video * g`` and ``macro * (1 - g)``.
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(
        self, video: torch.Tensor, macro: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, T, D), (N, T, D) -> (N, T, D), (N, T, D)``."""
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(video.mean(1) - macro.mean(1)))))
        return video * gate[:, None, :], macro * (1.0 - gate[:, None, :])


class S3RModel(nn.Module):
    """S3R on ``(B, crops, T, D)`` snippet features, with a dictionary of normal atoms.

    Crops are folded into the batch and scores averaged over crops, as the reference does;
    top-k snippets are chosen by the crop-averaged feature magnitude (RTFM's rule). The
    dictionary is the ``dictionary`` buffer ``(n_atoms, D)``: fill it with `set_dictionary`
    (from `vadkit.methods.s3r.dictionary.build_dictionary` or the reference's ``.npy``).

    Parameters
    ----------
    config : `S3RConfig`; the model keeps it whole as ``self.config``.
    """

    def __init__(self, config: S3RConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or S3RConfig()
        d = cfg.feature_dim

        def trunk() -> TemporalTrunk:
            return TemporalTrunk(
                d, cfg.trunk_channels, cfg.nonlocal_channels, cfg.dilations, "gn_before_relu",
                cfg.norm_groups,
            )  # fmt: skip

        self.video_trunk = trunk()
        self.macro_trunk = trunk()
        self.en_normal = EnNormal(d, cfg.attention_dim)
        self.de_normal = DeNormal(d, cfg.gate_hidden)
        self.classifier = snippet_classifier(d, cfg.hidden1, cfg.hidden2, cfg.dropout)
        self.macro_classifier = snippet_classifier(
            d, cfg.hidden1, cfg.hidden2, cfg.dropout, sigmoid=False
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.register_buffer("dictionary", torch.zeros(cfg.n_atoms, d))
        self.apply(xavier_init)
        self.video_trunk.non_local.reset_out_norm()
        self.macro_trunk.non_local.reset_out_norm()

    def set_dictionary(self, atoms: np.ndarray | torch.Tensor) -> S3RModel:
        """Copy ``atoms`` ``(n_atoms, D)`` into the ``dictionary`` buffer; returns ``self``."""
        atoms = torch.as_tensor(np.asarray(atoms, dtype=np.float32))
        want = tuple(self.dictionary.shape)
        if tuple(atoms.shape) != want:
            raise VadkitError(
                f"S3R dictionary has shape {tuple(atoms.shape)}, the model expects {want}; "
                "build the model with S3RConfig(n_atoms=len(atoms), feature_dim=...)"
            )
        if not bool(torch.isfinite(atoms).all()):
            raise VadkitError("S3R dictionary has NaN or infinite values")
        with torch.no_grad():
            self.dictionary.copy_(atoms)
        return self

    def prepare(self, normal: np.ndarray) -> S3RModel:
        """Build the task-aware dictionary from the pooled normal training videos (trainer hook).

        Called once by the trainer before the first step with ``normal`` ``(N, S, C, D)``: the
        normal videos of the training split (without the held-out validation videos), pooled to
        ``S`` segments. The dictionary has ``round(dictionary_fraction * N)`` atoms, so
        ``config.n_atoms`` is replaced by that count; the recipe is kept in
        ``dictionary_recipe_`` and the atoms travel in the checkpoint as the ``dictionary`` buffer.
        """
        import dataclasses

        from vadkit.methods.s3r.dictionary import build_dictionary

        c = self.config
        normal = np.asarray(normal, dtype=np.float32)
        atoms, recipe = build_dictionary(
            list(normal),
            fraction=c.dictionary_fraction,
            seed=c.dictionary_seed,
            n_steps=c.dictionary_steps,
            batch_size=c.dictionary_batch_size,
            alpha=c.dictionary_alpha,
            n_nonzero_coefs=c.dictionary_nonzero_coefs,
            n_segments=normal.shape[1],
        )
        if len(atoms) != c.n_atoms:
            self.config = dataclasses.replace(c, n_atoms=len(atoms))
            self.dictionary = torch.zeros(len(atoms), atoms.shape[1], device=self.dictionary.device)
        self.dictionary_recipe_ = recipe
        return self.set_dictionary(atoms)

    def _snippets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Scores and features of ``(B, C, T, D)``; see `forward`."""
        if not bool(self.dictionary.any()):
            raise VadkitError(
                "S3R: the dictionary is not set; call model.set_dictionary(atoms) with "
                "build_dictionary(...) or the reference's *_dictionaries.*.npy"
            )
        b, c, t, d = x.shape
        video = x.reshape(b * c, t, d)
        macro, attn = self.en_normal(video, self.dictionary)
        x_video = self.dropout(self.video_trunk(video))
        x_macro = self.dropout(self.macro_trunk(macro))
        x_video, x_macro = self.de_normal(x_video, x_macro)
        scores = self.classifier(x_video).reshape(b, c, t).mean(1)
        macro_scores = torch.sigmoid(self.macro_classifier(x_macro.mean(1))).reshape(b, c).mean(1)
        return {
            "features": x_video.reshape(b, c, t, d),
            "snippet_scores": scores,
            "macro_scores": macro_scores,
            "feature_magnitudes": torch.linalg.vector_norm(x_video, dim=-1)
            .reshape(b, c, t)
            .mean(1),
            "memory_attention": attn.reshape(b, c, t, -1),
        }

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Scores, the macro (video-level normality) score and the top-k quantities.

        Parameters
        ----------
        x : (B, C, T, D) float32; ``T >= config.topk``.

        Returns
        -------
        dict with
            ``snippet_scores`` (B, T) in [0, 1], crop-averaged;
            ``video_scores`` (B,) mean score of the top-k snippets by feature magnitude;
            ``macro_scores`` (B,) the macro classifier on the en-Normal branch, crop-averaged;
            ``feature_magnitudes`` (B, T); ``topk_indices`` (B, k);
            ``topk_norms`` (B, C) L2 norm of the mean top-k feature of each crop;
            ``memory_attention`` (B, C, T, n_atoms) snippet-to-atom attention.
        """
        x = as_input(x, self.config.feature_dim, "S3R")
        k = self.config.topk
        if x.shape[2] < k:
            raise VadkitError(
                f"S3R: a video of T={x.shape[2]} snippets is too short for top-k with k={k}; "
                f"pool training videos to {self.config.n_segments} segments"
            )
        out = self._snippets(x)
        feats = out.pop("features")
        idx = topk_by_magnitude(out["feature_magnitudes"], k, self.dropout)
        b, c, _, d = feats.shape
        sel = feats.gather(2, idx[:, None, :, None].expand(b, c, k, d))
        out["video_scores"] = out["snippet_scores"].gather(1, idx).mean(1)
        out["topk_indices"] = idx
        out["topk_norms"] = torch.linalg.vector_norm(sel.mean(2), dim=-1)
        return out

    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """RTFM's loss plus the macro BCE, for ``n`` normal then ``n`` abnormal videos.

        The macro branch sees only the dictionary's reconstruction of the video, which is
        normal by construction: its target is 0 for every video, as in the reference.

        Returns
        -------
        (total loss, {"bce", "magnitude", "smooth", "sparsity", "macro", "total"} as floats)
        """
        macro_s = outputs["macro_scores"]
        macro = nn.functional.binary_cross_entropy(macro_s, torch.zeros_like(macro_s))
        extra = {"macro": (self.config.macro_weight, macro)}
        return rtfm_loss(outputs, labels, self.config, "S3R loss", extra)

    @torch.no_grad()
    def score(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet scores of whole test videos, as the reference's ``inference.py``.

        Eval mode, native length T (any ``T >= 1``), scores averaged over crops.

        Parameters
        ----------
        x : (B, C, T, D), usually ``B = 1``.

        Returns
        -------
        ndarray : (B, T) float32 in [0, 1], higher = more anomalous.
        """
        x = as_input(x, self.config.feature_dim, "S3R score")
        was_training = self.training
        self.eval()
        try:
            scores = self._snippets(x.to(self.dictionary.device))["snippet_scores"]
        finally:
            self.train(was_training)
        return scores.cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet peak of the en-Normal snippet-to-dictionary attention (max over atoms,
        mean over crops), eval mode: near 1 where a snippet matches one normal atom, low where
        it matches none well. ``x`` (B, C, T, D) -> (B, T) float32. Scores are unchanged.
        """
        x = as_input(x, self.config.feature_dim, "S3R attention_weights")
        was_training = self.training
        self.eval()
        try:
            attn = self._snippets(x.to(self.dictionary.device))["memory_attention"]
        finally:
            self.train(was_training)
        return attn.max(dim=-1).values.mean(dim=1).cpu().numpy().astype(np.float32)

    def snippet_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Per-snippet scores ``(B, T)`` of ``(B, C, T, D)`` features, crops averaged, as one
        tensor graph (no input checks, no mode switch): what ``vadkit export`` traces."""
        return self._snippets(x)["snippet_scores"]

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam over all parameters with the config's lr and weight decay (as the reference)."""
        return make_adam(self, self.config.lr, self.config.weight_decay)
