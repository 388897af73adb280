"""AED-T: two ConvLSTM layers over a window of snippet vectors laid out as ``(D/16, 4, 4)`` maps.

Reference: ``AED_T`` in ``model.py`` of ``wanboyang/anomaly_detection_LAD2000`` @ ca51f97.
Each snippet vector is reshaped to a ``(D / 16) x 4 x 4`` map; two stacked ConvLSTM cells run
over the ``L = max_seqlen`` snippets of a window; the last hidden map of the second cell,
flattened (``128 * 4 * 4 = 2048``), goes through ``fc_down`` (2048 -> 1024, ReLU) into two heads:
a class head (1024 -> 512 -> n_classes logits) and a regression head (1024 -> 512 ->
``L * 16`` sigmoid scores: 16 frame scores per snippet of the window).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from vadkit.errors import VadkitError
from vadkit.methods.aed_t.config import AedTConfig
from vadkit.methods.aed_t.loss import aedt_loss
from vadkit.methods.aed_t.score import predict_video
from vadkit.methods.aed_t.windows import sample_window

__all__ = ["AedTModel", "ConvLSTMCell"]


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell: a single convolution computes the input, forget, output and cell gates
    (in that order, the reference's) from ``[x, h]``.

    Parameters
    ----------
    in_channels, hidden_channels : channels of the input map and of the hidden/cell state.
    kernel_size : odd convolution size (same padding).
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(
            in_channels + hidden_channels,
            4 * hidden_channels,
            kernel_size,
            padding=kernel_size // 2,
        )

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """``x (N, in, H, W)``, ``state = (h, c)`` each ``(N, hidden, H, W)`` -> new ``(h, c)``."""
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


def _head(cfg: AedTConfig, n_out: int) -> nn.Sequential:
    # model.py ano_classification_head / ano_regression_head: two bias-free linear layers
    return nn.Sequential(
        nn.Linear(cfg.fc_down, cfg.head_hidden, bias=False),
        nn.ReLU(),
        nn.Linear(cfg.head_hidden, n_out, bias=False),
    )


class AedTModel(nn.Module):
    """AED-T (Wan et al., IET Image Processing 2021), fully supervised.

    Learns from per-frame (or per-snippet) anomaly labels and one class index per video.
    Crops (``C > 1``) are folded into the batch and their scores and logits averaged; the
    reference has no crops (LAD2000 features are one ``(T, D)`` array per video).

    Parameters
    ----------
    config : AedTConfig
    """

    def __init__(self, config: AedTConfig | None = None) -> None:
        super().__init__()
        cfg = config or AedTConfig()
        self.config = cfg
        g = cfg.grid
        # D not a multiple of grid*grid: learned projection to the nearest one (not in the
        # reference, whose D is always 1024 or 2048)
        self.proj = (
            nn.Linear(cfg.feature_dim, cfg.input_dim) if cfg.input_dim != cfg.feature_dim else None
        )
        cells = [ConvLSTMCell(cfg.input_dim // (g * g), cfg.hidden_channels, cfg.kernel_size)]
        for _ in range(cfg.n_layers - 1):
            cells.append(ConvLSTMCell(cfg.hidden_channels, cfg.hidden_channels, cfg.kernel_size))
        self.cells = nn.ModuleList(cells)
        self.fc_down = nn.Linear(cfg.hidden_channels * g * g, cfg.fc_down)
        self.cls_head = _head(cfg, cfg.n_classes)
        self.reg_head = _head(cfg, cfg.max_seqlen * cfg.frames_per_snippet)

    # ------------------------------------------------------------------ checks
    def check_input(self, x: Tensor | np.ndarray, fn: str) -> Tensor:
        """``x`` as a float32 ``(B, C, T, D)`` tensor with ``D == feature_dim``, else `VadkitError`."""
        x = torch.as_tensor(x)
        if x.ndim != 4:
            raise VadkitError(
                f"AedTModel.{fn}: expected features (B, C, T, D), got shape {tuple(x.shape)}"
            )
        if x.shape[-1] != self.config.feature_dim:
            raise VadkitError(
                f"AedTModel.{fn}: features have D={x.shape[-1]}, the model was built for "
                f"feature_dim={self.config.feature_dim}; set AedTConfig(feature_dim=...)"
            )
        if min(x.shape[:3]) < 1:
            raise VadkitError(f"AedTModel.{fn}: empty input of shape {tuple(x.shape)}")
        if not torch.is_floating_point(x):
            x = x.float()
        return x.to(torch.float32)

    # ------------------------------------------------------------------ network
    def windows_forward(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Run windows ``w (N, L, D)`` -> ``(class logits (N, K), frame scores (N, L * f))``."""
        cfg, g = self.config, self.config.grid
        if self.proj is not None:
            w = self.proj(w)
        n, L = w.shape[:2]
        maps = w.reshape(n, L, -1, g, g)
        zeros = maps.new_zeros(n, cfg.hidden_channels, g, g)
        states = [(zeros, zeros) for _ in self.cells]
        for t in range(L):
            inp = maps[:, t]
            for k, cell in enumerate(self.cells):
                states[k] = cell(inp, states[k])
                inp = states[k][0]
        z = torch.relu(self.fc_down(states[-1][0].reshape(n, -1)))
        return self.cls_head(z), torch.sigmoid(self.reg_head(z))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Score training windows.

        Parameters
        ----------
        x : ``(B, C, L, D)`` float32 windows of ``L = max_seqlen`` snippets.

        Returns
        -------
        dict with ``"frame_scores"`` ``(B, L * f)`` in [0, 1] (``f = frames_per_snippet``),
        ``"snippet_scores"`` ``(B, L)`` (mean of each snippet's ``f`` frame scores),
        ``"video_scores"`` ``(B,)`` (max snippet score) and ``"class_logits"`` ``(B, K)``.
        """
        x = self.check_input(x, "forward")
        B, C, T, D = x.shape
        L, f = self.config.max_seqlen, self.config.frames_per_snippet
        if T != L:
            raise VadkitError(
                f"AedTModel.forward: windows must hold max_seqlen={L} snippets, got T={T}; "
                "score whole videos with AedTModel.score"
            )
        logits, frames = self.windows_forward(x.reshape(B * C, T, D))
        logits = logits.reshape(B, C, -1).mean(1)
        frames = frames.reshape(B, C, -1).mean(1)
        snippets = frames.reshape(B, L, f).mean(-1)
        return {
            "frame_scores": frames,
            "snippet_scores": snippets,
            "video_scores": snippets.max(1).values,
            "class_logits": logits,
        }

    def loss(
        self, outputs: dict[str, Tensor], targets: Tensor, class_targets: Tensor
    ) -> tuple[Tensor, dict[str, float]]:
        """``cls_weight * CE(class) + reg_weight * SmoothL1(frame scores)``; see :func:`aedt_loss`."""
        return aedt_loss(outputs, targets, class_targets, self.config)

    # ------------------------------------------------------------------ test time
    @torch.no_grad()
    def predict(self, x: Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """Whole videos at native length with the reference's sliding windows and max-merge.

        See :func:`vadkit.methods.aed_t.score.predict_video`; returns numpy arrays
        ``snippet_scores (B, T)``, ``frame_scores (B, T * f)``, ``window_logits (B, W, K)``,
        ``window_classes (B, W)`` and ``video_classes (B,)``.
        """
        return predict_video(self, self.check_input(x, "score"))

    @torch.no_grad()
    def score(self, x: Tensor | np.ndarray) -> np.ndarray:
        """Per-snippet scores ``(B, T)`` float32 of whole videos ``x (B, C, T, D)``."""
        return self.predict(x)["snippet_scores"]

    def training_window(
        self, features: np.ndarray, targets: np.ndarray, rng: np.random.Generator, abnormal: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """One training window of a video, as the reference draws it (used by the trainer).

        ``features (T, C, D)``, ``targets (frames_per_snippet * T,)`` -> ``(window (L, C, D),
        window targets (L * frames_per_snippet,))``; see
        :func:`vadkit.methods.aed_t.windows.sample_window`.
        """
        cfg = self.config
        w, t, _ = sample_window(
            features, targets, cfg.max_seqlen, rng,
            frames_per_snippet=cfg.frames_per_snippet, abnormal=abnormal,
        )  # fmt: skip
        return w, t

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam(lr, weight_decay) over all parameters, as ``main.py``."""
        cfg = self.config
        return torch.optim.Adam(self.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
