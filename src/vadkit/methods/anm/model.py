"""The salient-feature classifier: structured self-attention pooling and a 2-layer head.

Watanabe et al., "Real-world Video Anomaly Detection by Extracting Salient Features in
Videos" (arXiv 2209.06435); reference ``VideoClassifier`` in ``sakurada-cnq/salient_feature_anomaly``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vadkit.errors import VadkitError
from vadkit.methods.anm.config import AnmConfig
from vadkit.methods.anm.optim import ReferenceRAdam

__all__ = ["AnmModel", "window_starts"]

_CHUNK_ROWS = 256  # sequences per batched forward pass in score()


class AnmModel(nn.Module):
    """Attention-pooled video classifier; crops are independent sequences.

    Each sequence ``x (T, D)`` gets attention logits ``W_s2 tanh(W_s1 x_t + b_1) + b_2``
    (``r`` hops), a softmax over time per hop, dropout on the attention matrix (training
    only), the pooling ``M = x^T A`` of shape ``(D, r)``, flattened feature-major
    (element ``f * r + j``), then ``fc2(fc1(.))`` with no activation between and a sigmoid.
    :meth:`forward` folds the crops into the batch and averages their probabilities.

    Parameters
    ----------
    config : all hyperparameters; only the model fields are used here.
    """

    def __init__(self, config: AnmConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else AnmConfig()
        c = self.config
        # reference name: self_anttention (sic); checkpoint.py maps it
        self.attention = nn.Sequential(
            nn.Linear(c.feature_dim, c.d_a), nn.Tanh(), nn.Linear(c.d_a, c.r)
        )
        self.fc1 = nn.Linear(c.fc_in, c.hidden)
        self.fc2 = nn.Linear(c.hidden, 1)
        self.dropout = nn.Dropout(c.attention_dropout)

    def sequence_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference forward pass on independent sequences, before the sigmoid.

        Parameters
        ----------
        x : (N, T, D) float tensor, T >= 1.

        Returns
        -------
        logits : (N,) tensor; ``sigmoid(logits)`` is the reference's output.
        attention : (N, T, r) attention matrix after dropout (columns sum to 1 in eval mode).
        """
        n = x.shape[0]
        attention = self.dropout(F.softmax(self.attention(x), dim=1))
        pooled = torch.bmm(x.transpose(1, 2), attention)  # (N, D, r)
        logits = self.fc2(self.fc1(pooled.reshape(n, -1)))  # feature-major flattening
        return logits.reshape(n), attention

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score whole inputs, each crop as one sequence, crops averaged.

        Parameters
        ----------
        x : (B, C, T, D) float32 tensor: B videos, C crops, T segments, D = ``feature_dim``.

        Returns
        -------
        dict with
            ``"crop_logits"`` (B, C) and ``"crop_scores"`` (B, C): per-crop logit and probability;
            ``"video_scores"`` (B,): crop-mean probability;
            ``"snippet_scores"`` (B, T): ``video_scores`` repeated over T (one window);
            ``"attention"`` (B, C, T, r).
        """
        b, c, t, d = self._check_input(x, "forward")
        logits, attention = self.sequence_logits(x.reshape(b * c, t, d))
        crop_logits = logits.reshape(b, c)
        crop_scores = torch.sigmoid(crop_logits)
        video_scores = crop_scores.mean(dim=1)
        return {
            "crop_logits": crop_logits,
            "crop_scores": crop_scores,
            "video_scores": video_scores,
            "snippet_scores": video_scores[:, None].expand(b, t),
            "attention": attention.reshape(b, c, t, -1),
        }

    def loss(
        self, outputs: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Binary cross-entropy of every crop's probability against its video's label.

        Parameters
        ----------
        outputs : :meth:`forward` output of a batch of ``2n`` videos.
        labels : (2n,) video labels, ``n`` zeros then ``n`` ones (the contract's batch order).

        Returns
        -------
        The mean BCE over all ``2n * C`` crops (``nn.BCELoss`` on probabilities, as the
        reference; it uses one crop per sequence, i.e. ``C = 1``) and ``{"bce": value}``.
        """
        scores = outputs["crop_scores"]
        labels = torch.as_tensor(labels).reshape(-1)
        n2 = scores.shape[0]
        if labels.shape[0] != n2:
            raise VadkitError(f"AnmModel.loss: {labels.shape[0]} labels for a batch of {n2} videos")
        half = n2 // 2
        expected = torch.cat([torch.zeros(half), torch.ones(half)]).to(labels.device)
        if n2 == 0 or n2 % 2 or not torch.equal(labels.float(), expected):
            raise VadkitError(
                "AnmModel.loss: a batch must be n normal videos then n abnormal ones "
                f"(labels 0..0 1..1), got {labels.tolist()}"
            )
        target = labels.to(scores.dtype)[:, None].expand_as(scores)
        bce = F.binary_cross_entropy(scores, target)
        return bce, {"bce": float(bce.detach())}

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet self-attention of whole videos, each crop one sequence over all T
        snippets (not the scoring windows), mean over hops and crops, eval mode (no dropout).

        ``x`` (B, C, T, D) or (C, T, D) -> (B, T) float32; each row sums to 1 over T.
        Scores are unchanged.
        """
        x = torch.as_tensor(np.array(x) if isinstance(x, np.ndarray) else x)
        x = x.to(device=self.fc1.weight.device, dtype=self.fc1.weight.dtype)
        if x.ndim == 3:
            x = x[None]
        b, c, t, d = self._check_input(x, "attention_weights")
        was_training = self.training
        self.eval()
        try:
            _, att = self.sequence_logits(x.reshape(b * c, t, d))  # (N, T, r)
        finally:
            self.train(was_training)
        return att.mean(dim=2).reshape(b, c, t).mean(dim=1).cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def score(
        self,
        x: torch.Tensor | np.ndarray,
        window: int | None = None,
        stride: int | None = None,
    ) -> np.ndarray:
        """Per-snippet scores of whole test videos by the reference's windowed procedure.

        Each window of ``window`` consecutive snippets (the last one may be shorter; no
        padding; a video shorter than the window is one window and gets one score, with a
        warning) is scored with the crops as the batch, the crop probabilities are averaged
        and the result given to every snippet of the window. With ``stride < window`` the
        windows overlap and a snippet gets the mean of the windows that cover it; with
        ``stride == window`` (default 28, 28) it is the reference's procedure. Windows of
        equal length are scored in batches (results equal to one pass per window up to
        float rounding). Runs on the model's device; returns to the caller's mode.

        Parameters
        ----------
        x : (B, C, T, D) or (C, T, D) features at native length T >= 1 (crops first;
            a store array ``(T, C, D)`` becomes ``x = a.transpose(1, 0, 2)``).
        window, stride : override ``config.window`` / ``config.stride``.

        Returns
        -------
        (B, T) float32 numpy array in [0, 1], higher = more anomalous.
        """
        window = self.config.window if window is None else window
        stride = self.config.stride if stride is None else stride
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise VadkitError(f"AnmModel.score: window must be an integer >= 1, got {window!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= window:
            raise VadkitError(
                f"AnmModel.score: stride must be an integer in [1, window={window}], got {stride!r}"
            )
        if isinstance(x, np.ndarray) and not x.flags.writeable:
            x = np.array(x)  # memory-mapped store arrays are read-only
        x = torch.as_tensor(x)
        device = self.fc1.weight.device
        if x.is_floating_point():
            x = x.to(device=device, dtype=self.fc1.weight.dtype)  # e.g. float64 arrays
        if x.ndim == 3:
            x = x[None]
        b, c, t, d = self._check_input(x, "score")
        # a finite sum proves every value finite (one cheap pass); the elementwise check,
        # a third of the scoring time of a 300-snippet video, runs only when it is not
        if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
            raise VadkitError(f"AnmModel.score: x {tuple(x.shape)} holds NaN or inf values")
        if t < window:
            warnings.warn(
                f"anm: a video of {t} snippets is shorter than the window of {window}; it gets "
                "one score for all its snippets (set window < T for scores that vary in time)",
                stacklevel=3,
            )
        starts = window_starts(t, window, stride)
        full = [s for s in starts if s + window <= t]  # same length: scored in batches
        chunk = max(1, _CHUNK_ROWS // (b * c))
        total = torch.zeros(b, t, dtype=torch.float64, device=device)
        count = torch.zeros(t, dtype=torch.float64, device=device)
        was_training = self.training
        self.eval()
        try:
            groups = [full[i : i + chunk] for i in range(0, len(full), chunk)]
            groups += [[s] for s in starts if s + window > t]
            for group in groups:
                length = min(window, t - group[0])
                parts = torch.stack([x[:, :, s : s + length] for s in group], dim=1)
                logits = self.sequence_logits(parts.reshape(-1, length, d))[0]
                probs = torch.sigmoid(logits).reshape(b, len(group), c).mean(dim=2)
                for k, s in enumerate(group):
                    total[:, s : s + length] += probs[:, k].to(torch.float64)[:, None]
                    count[s : s + length] += 1
        finally:
            self.train(was_training)
        return (total / count).to(torch.float32).cpu().numpy()

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The optimiser of ``config.optimizer`` over all parameters (reference: its RAdam)."""
        c = self.config
        kwargs = dict(lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps, weight_decay=c.weight_decay)
        if c.optimizer == "radam":
            return ReferenceRAdam(
                self.parameters(), degenerated_to_sgd=c.degenerated_to_sgd, **kwargs
            )
        return torch.optim.RAdam(self.parameters(), **kwargs)

    def _check_input(self, x: object, where: str) -> tuple[int, int, int, int]:
        d_exp = self.config.feature_dim
        dtype = self.fc1.weight.dtype
        if not isinstance(x, torch.Tensor) or x.dtype != dtype:
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise VadkitError(
                f"AnmModel.{where}: x must be a {dtype} tensor (B, C, T, {d_exp}), got {got}"
            )
        if x.ndim != 4:
            raise VadkitError(
                f"AnmModel.{where}: x has shape {tuple(x.shape)}, expected (B, C, T, {d_exp})"
            )
        b, c, t, d = x.shape
        if d != d_exp:
            raise VadkitError(
                f"AnmModel.{where}: x has feature dim {d}, expected {d_exp} "
                f"(AnmConfig.feature_dim); shape {tuple(x.shape)}"
            )
        if t < 1 or b < 1 or c < 1:
            raise VadkitError(
                f"AnmModel.{where}: x has shape {tuple(x.shape)}; a video needs at least "
                "one snippet and one crop"
            )
        return b, c, t, d


def window_starts(n_snippets: int, window: int, stride: int) -> list[int]:
    """First snippet of each test window: ``0, stride, ...`` until a window reaches the end.

    >>> window_starts(33, 28, 28)
    [0, 28]
    >>> window_starts(10, 4, 3)
    [0, 3, 6]
    """
    starts = [0]
    while starts[-1] + window < n_snippets:
        starts.append(starts[-1] + stride)
    return starts
