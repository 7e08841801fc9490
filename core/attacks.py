"""FGSM, BIM and PGD as short pure functions in pixel space.

All take (N, C, H, W) images in [0, 1] and ``labels``: the true labels, or the
target labels when ``targeted=True`` (then each step goes *down* the target's
loss: ``x - eps * sign(grad)``). ``epsilon`` is a float or a per-sample tensor
of shape (N,), in pixel units (8/255 ~= 0.031). They return detached
adversarial images in [0, 1] within ``epsilon`` (L-inf) of the input.

The input gradient comes from ``torch.autograd.grad(loss, x)``, so no
parameter ``.grad`` is touched and ``requires_grad`` flags stay as they are.
The model runs in eval mode during the attack (BatchNorm and dropout must not
behave as in training) and every module's train/eval flag is restored after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

ATTACKS = ("fgsm", "bim", "pgd")


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode, then restore each module's own flag."""
    flags = [(m, m.training) for m in model.modules()]
    if not any(flag for _, flag in flags):  # already in eval mode: nothing to flip back
        yield model
        return
    model.eval()
    try:
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


def _eps(epsilon: float | torch.Tensor, images: torch.Tensor) -> torch.Tensor | float:
    if isinstance(epsilon, torch.Tensor):
        if epsilon.ndim == 0:
            return float(epsilon)
        return epsilon.to(images.device, images.dtype).view(-1, *([1] * (images.ndim - 1)))
    return float(epsilon)


def input_gradient(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """d(sum of cross-entropy)/d(images), without touching parameter gradients.

    The loss is summed, not averaged, so each sample's gradient is independent
    of the batch size (and ``fgsm`` on one image equals ``fgsm`` on a batch).
    """
    x = images.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm_step(
    images: torch.Tensor, direction: torch.Tensor, epsilon: float | torch.Tensor
) -> torch.Tensor:
    """The FGSM step, written once: ``clamp(images + epsilon * direction, 0, 1)``.

    ``direction`` is a gradient's sign (its negative for a targeted attack);
    ``epsilon`` a float or a per-sample (N,) tensor, broadcast over the batch.
    Every FGSM in the project (attack, live session, sweep, evaluation, training)
    goes through here.
    """
    return (images + _eps(epsilon, images) * direction).clamp(0, 1)


def fgsm(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    *,
    targeted: bool = False,
) -> torch.Tensor:
    """Fast Gradient Sign Method (Goodfellow et al., 2015): one signed gradient step."""
    with evaluating(model):
        grad = input_gradient(model, images, labels)
    step = -grad.sign() if targeted else grad.sign()
    return fgsm_step(images, step, epsilon).detach()


def _iterate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    steps: int,
    step_size: float | None,
    random_start: bool,
    targeted: bool,
) -> torch.Tensor:
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    eps = _eps(epsilon, images)
    # Madry et al.'s rule of thumb: 2.5 * eps / steps reaches the ball's edge
    # and leaves room to move along it.
    alpha = 2.5 * eps / steps if step_size is None else step_size
    x0 = images.detach()
    x = x0.clone()
    if random_start:
        x = (x + (torch.rand_like(x) * 2 - 1) * eps).clamp(0, 1)
    sign = -1.0 if targeted else 1.0
    with evaluating(model):
        for _ in range(steps):
            grad = input_gradient(model, x, labels)
            x = x + sign * alpha * grad.sign()
            x = torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)
    return x.detach()


def bim(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    *,
    steps: int = 10,
    step_size: float | None = None,
    targeted: bool = False,
) -> torch.Tensor:
    """Basic Iterative Method (Kurakin et al., 2017): FGSM steps projected back into the ball."""
    return _iterate(model, images, labels, epsilon, steps, step_size, False, targeted)


def pgd(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    *,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    targeted: bool = False,
) -> torch.Tensor:
    """Projected Gradient Descent (Madry et al., 2018): BIM from a random point in the ball."""
    return _iterate(model, images, labels, epsilon, steps, step_size, random_start, targeted)


def run_attack(
    name: str,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    *,
    steps: int = 10,
    targeted: bool = False,
) -> torch.Tensor:
    """Dispatch by name: ``"fgsm"``, ``"bim"`` or ``"pgd"``."""
    if name == "fgsm":
        return fgsm(model, images, labels, epsilon, targeted=targeted)
    if name == "bim":
        return bim(model, images, labels, epsilon, steps=steps, targeted=targeted)
    if name == "pgd":
        return pgd(model, images, labels, epsilon, steps=steps, targeted=targeted)
    raise ValueError(f"Unknown attack '{name}'. Choose one of: {', '.join(ATTACKS)}.")
