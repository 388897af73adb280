"""RAdam with the update rule of the reference's bundled ``radam.py`` (Liu et al. 2020).

It differs from :class:`torch.optim.RAdam` in two ways that change training: while the
length of the approximated simple moving average ``rho_t`` is below 5 (the first 5 steps
with ``beta2 = 0.999``: ``rho_5 = 4.996``) it makes **no update** (``degenerated_to_sgd=False``;
torch takes an un-rectified momentum step), and ``eps`` is added to ``sqrt(v_t)`` before the
bias correction of the second moment is folded into the step size. Written from the paper's
algorithm::

    m_t = b1 m + (1 - b1) g            v_t = b2 v + (1 - b2) g^2
    rho_inf = 2 / (1 - b2) - 1         rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
    rho_t >= 5:  p -= lr * s_t * m_t / (sqrt(v_t) + eps),
                 s_t = sqrt((1 - b2^t) (rho_t - 4)(rho_t - 2) rho_inf
                            / ((rho_inf - 4)(rho_inf - 2) rho_t)) / (1 - b1^t)
    rho_t < 5:   p -= lr * m_t / (1 - b1^t) if degenerated_to_sgd, else nothing.

Weight decay (``p -= wd * lr * p``) is applied only on steps that update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

__all__ = ["ReferenceRAdam"]


class ReferenceRAdam(torch.optim.Optimizer):
    """RAdam as in the reference code (see the module docstring).

    Parameters
    ----------
    params : parameters or parameter groups to optimise.
    lr, betas, eps, weight_decay : as in Adam.
    degenerated_to_sgd : take a bias-corrected momentum step while ``rho_t < 5`` instead of none.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        degenerated_to_sgd: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            degenerated_to_sgd=degenerated_to_sgd,
        )
        super().__init__(params, defaults)

    @staticmethod
    def step_size(t: int, beta1: float, beta2: float, degenerated_to_sgd: bool) -> float | None:
        """Step-size factor ``s_t`` of step ``t`` (1-based); None means "no update".

        >>> ReferenceRAdam.step_size(5, 0.9, 0.999, False) is None
        True
        >>> ReferenceRAdam.step_size(6, 0.9, 0.999, False) > 0
        True
        """
        rho_inf, rho_t = _rho(t, beta2)
        if rho_t >= 5:
            rect = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            return math.sqrt((1.0 - beta2**t) * rect) / (1.0 - beta1**t)
        if degenerated_to_sgd:
            return 1.0 / (1.0 - beta1**t)
        return None

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Make one optimisation step; returns the closure's loss when one is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("ReferenceRAdam does not support sparse gradients")
                grad = p.grad.float()
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, dtype=torch.float32)
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=torch.float32)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                m.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                state["step"] += 1
                s = self.step_size(state["step"], beta1, beta2, group["degenerated_to_sgd"])
                if s is None:
                    continue
                data = p.float()
                if group["weight_decay"] != 0:
                    data.add_(data, alpha=-group["weight_decay"] * group["lr"])
                if group["degenerated_to_sgd"] and _rho(state["step"], beta2)[1] < 5:
                    data.add_(m, alpha=-s * group["lr"])
                else:
                    data.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-s * group["lr"])
                p.copy_(data)
        return loss


def _rho(t: int, beta2: float) -> tuple[float, float]:
    """``(rho_inf, rho_t)``: maximum and step-``t`` length of the approximated SMA."""
    beta2_t = beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    return rho_inf, rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t)
