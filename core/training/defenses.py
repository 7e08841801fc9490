"""The adversarial term of the paper's Eq. 8, made by a chosen attack.

Eq. 8 is  L = L_ori + a1 * L_adv + a2 * lambda * ||W||^2 ; the defenses differ
only in how ``L_adv`` is made (``adversarial_loss``):

* ``wr_fgsm``: the paper's WR_FGSM: cross-entropy on FGSM examples made from the
  clean pass's own input gradient (``x_grad``), exactly as ``core.training.loop`` did
  before this module existed.
* ``fgsm-rs``: "fast is better than free" (Wong et al., 2020): FGSM from a random
  start in [-eps, eps] with a step of 1.25 * eps, then clipped back to the ball;
  the random start is what keeps single-step training from catastrophic overfitting.
* ``pgd``: PGD adversarial training (Madry et al., 2018): ``steps`` steps from a
  random start (``core.attacks.gradient.pgd``).
* ``trades``: TRADES (Zhang et al., 2019): ``beta`` * KL(p(x) || p(x_adv)), where
  x_adv maximises that KL by ``steps`` signed steps from x + 0.001 * noise; the KL
  is differentiated through both the clean and the adversarial pass.

The attacks run with the model in eval mode (``core.attacks.gradient.evaluating``), the
loss with the model in the mode it was given (training). Each returns a scalar
tensor with its graph, ready for ``backward``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..attacks.gradient import evaluating, fgsm_step, input_gradient, pgd
from ..catalogue import DEFENSES


def _ball(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)


def fgsm_rs_examples(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, *, step: float = 1.25
) -> torch.Tensor:
    """Wong et al.'s single step: delta ~ U(-eps, eps), then ``step`` * eps along sign(grad)."""
    x = x.detach()
    start = (x + (torch.rand_like(x) * 2 - 1) * epsilon).clamp(0, 1)
    with evaluating(model):
        grad = input_gradient(model, start, y)
    return _ball(start + step * epsilon * grad.sign(), x, epsilon).detach()


def trades_examples(
    model: nn.Module,
    x: torch.Tensor,
    epsilon: float,
    *,
    steps: int = 10,
    step_size: float | None = None,
) -> torch.Tensor:
    """x_adv in the eps-ball that maximises KL(p(x) || p(x_adv)) (signed-gradient ascent)."""
    x = x.detach()
    alpha = 2.5 * epsilon / steps if step_size is None else step_size
    with evaluating(model), torch.enable_grad():
        with torch.no_grad():
            p_clean = F.softmax(model(x).float(), 1)
        x_adv = (x + 0.001 * torch.randn_like(x)).clamp(0, 1)
        for _ in range(steps):
            x_adv.requires_grad_(True)
            kl = F.kl_div(F.log_softmax(model(x_adv).float(), 1), p_clean, reduction="sum")
            (grad,) = torch.autograd.grad(kl, x_adv)
            x_adv = _ball(x_adv.detach() + alpha * grad.sign(), x, epsilon)
    return x_adv.detach()


def adversarial_loss(
    defense: str,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    *,
    x_grad: torch.Tensor | None = None,
    steps: int = 10,
    step_size: float | None = None,
    beta: float = 6.0,
) -> torch.Tensor:
    """L_adv of Eq. 8 for ``defense`` (one of ``DEFENSES`` but "none"), with its graph.

    ``x_grad`` is the input gradient of the clean loss when the caller has it
    (WR_FGSM reuses it: no extra pass); without it WR_FGSM computes its own.
    """
    x = x.detach()
    if defense == "wr_fgsm":
        grad = x_grad if x_grad is not None else input_gradient(model, x, y)
        return F.cross_entropy(model(fgsm_step(x, grad.sign(), epsilon)).float(), y)
    if defense == "fgsm-rs":
        return F.cross_entropy(model(fgsm_rs_examples(model, x, y, epsilon)).float(), y)
    if defense == "pgd":
        x_adv = pgd(model, x, y, epsilon, steps=steps, step_size=step_size)
        return F.cross_entropy(model(x_adv).float(), y)
    if defense == "trades":
        x_adv = trades_examples(model, x, epsilon, steps=steps, step_size=step_size)
        log_p_adv = F.log_softmax(model(x_adv).float(), 1)
        p_clean = F.softmax(model(x).float(), 1)
        return beta * F.kl_div(log_p_adv, p_clean, reduction="batchmean")
    raise ValueError(f"defense must be one of {', '.join(DEFENSES[1:])}, not {defense!r}")
