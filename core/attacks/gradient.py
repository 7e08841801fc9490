"""The attacks as short pure functions in pixel space, and the one resolver by name.

FGSM, BIM and PGD are our own; APGD-CE, APGD-T and Square come from torchattacks
(imported when first used). ``resolve(name, ...)`` is the only place an attack is
found by its name (``core.catalogue`` lists them): evaluation, the worst case and the
Explorer's live frames all call it.

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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import catalogue

# An attack with its options bound: (model, images, labels, epsilon) -> adversarial images
Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor, Any], torch.Tensor]


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


def _torchattacks() -> Any:
    """torchattacks, imported when first needed: it pulls in scipy.stats (1.2 s), which the
    Explorer's start-up (its session can run APGD-CE) must not wait for."""
    import torchattacks

    return torchattacks


def _torchattack(attack: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # torchattacks re-seeds torch's global generator: keep the caller's stream intact.
    with torch.random.fork_rng(devices=[]):
        return attack(x, y).detach()


def apgd_ce(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float, *, steps=100
) -> torch.Tensor:
    """APGD with the cross-entropy loss (L-inf), from torchattacks."""
    attack = _torchattacks().APGD(model, eps=epsilon, steps=steps, loss="ce")
    return _torchattack(attack, images, labels)


def apgd_t(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    *,
    steps: int = 100,
    targets: int = 9,
) -> torch.Tensor:
    """APGD-T: the targeted DLR loss against each of the ``targets`` most likely wrong classes."""
    with torch.no_grad():
        num_classes = model(images[:1]).shape[1]
    attack = _torchattacks().APGDT(model, eps=epsilon, steps=steps, n_classes=num_classes)
    attack.n_target_classes = max(1, min(targets, num_classes - 1))
    return _torchattack(attack, images, labels)


def square(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    *,
    queries: int = 1000,
) -> torch.Tensor:
    """Square: a black-box random search of L-inf squares (margin loss), no gradient used."""
    attack = _torchattacks().Square(model, eps=epsilon, n_queries=queries)
    return _torchattack(attack, images, labels)


def resolve(
    name: str,
    *,
    steps: int = 10,
    targeted: bool = False,
    apgd_steps: int = 100,
    targets: int = 9,
    queries: int = 1000,
) -> Attack:
    """The one place an attack is found by its name (any attack of ``core.catalogue``),
    with its options bound: ``steps`` of BIM and PGD, ``apgd_steps`` of APGD-CE and
    APGD-T, ``targets`` of APGD-T, ``queries`` of Square. ``targeted``: ``labels`` are
    the targets (FGSM, BIM and PGD only)."""
    if name not in catalogue.entries_named("attack"):
        choices = ", ".join(catalogue.entries_named("attack"))
        raise ValueError(f"Unknown attack '{name}'. Choose one of: {choices}.")
    entry = catalogue.entry("attack", name)
    if targeted and not entry.has("targeted"):
        raise ValueError(f"{entry.report} is untargeted: untick 'targeted' or choose BIM or PGD.")
    table: dict[str, Attack] = {
        "fgsm": lambda m, x, y, e: fgsm(m, x, y, e, targeted=targeted),
        "bim": lambda m, x, y, e: bim(m, x, y, e, steps=steps, targeted=targeted),
        "pgd": lambda m, x, y, e: pgd(m, x, y, e, steps=steps, targeted=targeted),
        "apgd-ce": lambda m, x, y, e: apgd_ce(m, x, y, float(e), steps=apgd_steps),
        "apgd-t": lambda m, x, y, e: apgd_t(m, x, y, float(e), steps=apgd_steps, targets=targets),
        "square": lambda m, x, y, e: square(m, x, y, float(e), queries=queries),
    }
    return table[name]


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
    """The attack ``name`` (``resolve``) run once, e.g. ``run_attack("pgd", model, x, y, 0.1)``."""
    return resolve(name, steps=steps, targeted=targeted)(model, images, labels, epsilon)
