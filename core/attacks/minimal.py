"""The smallest perturbation that flips an image: DeepFool, Carlini & Wagner L2, and their best.

FGSM spends its whole budget epsilon on every pixel. DeepFool (Moosavi-Dezfooli
et al., 2016) and C&W L2 (Carlini & Wagner, 2017) instead look for the *least*
change that makes the model change its answer, and measure it. ``deepfool`` and
``cw_l2`` (one c) and ``cw_l2_search`` (C&W's binary search over c, per
image) return a ``MinimalPerturbation`` per image (its L2 and L-inf size in
pixel units); ``smallest_flip`` runs DeepFool in L2 and in L-inf and C&W on one
image for the Explorer and keeps the least size of each norm with the attack
that found it.

DeepFool is ours, not torchattacks': it linearises the model around the image
and steps to the nearest class boundary, looking only at the ``candidates``
most likely classes (the paper's setting for ImageNet: torchattacks' version
takes one backward pass for each of the 1,000 classes at every step) and using
``torch.autograd.grad``, so no parameter ``.grad`` is touched. C&W is ours too:
torchattacks' ``atanh`` of pixels at exactly 0 or 1 is infinite, so it cannot
move most of a digit's pixels and finds no flip on most MNIST images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from .gradient import evaluating


class Interrupted(Exception):
    """A search was told to stop (its ``stop`` answered True): the window closed, or a newer
    request replaced it. Nothing it found so far is returned."""


def _check(stop: Callable[[], bool] | None) -> None:
    """Between two steps of a search: raise ``Interrupted`` when ``stop`` says so."""
    if stop is not None and stop():
        raise Interrupted("the search was stopped")


@dataclass(frozen=True)
class MinimalPerturbation:
    """The smallest flip an attack found: the images, whether each flipped, and its size.

    ``l2`` and ``linf`` are the per-image norms of ``adversarial - images`` in
    pixel units (0 for an image the model already gets wrong; ``inf`` where no
    flip was found).
    """

    adversarial: torch.Tensor
    flipped: torch.Tensor  # (N,) bool: the model no longer says the true label
    l2: torch.Tensor  # (N,)
    linf: torch.Tensor  # (N,)


@dataclass(frozen=True)
class SmallestFlip:
    """The least change found that flips one image, per norm, and which attack found it.

    A size is ``None`` where neither attack flipped the image.
    """

    l2: float | None
    l2_by: str
    linf: float | None
    linf_by: str


@contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    """Parameters need no gradient while an attack runs: their ``.grad`` stays untouched."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _measure(model: nn.Module, x: torch.Tensor, y: torch.Tensor, adv: torch.Tensor):
    with torch.no_grad():
        flipped = model(adv).argmax(1) != y
    delta = (adv - x).flatten(1)
    inf = torch.full_like(delta[:, 0], float("inf"))
    l2 = torch.where(flipped, delta.norm(dim=1), inf)
    linf = torch.where(flipped, delta.abs().amax(dim=1), inf)
    return MinimalPerturbation(adv, flipped, l2, linf)


def _deepfool_one(
    model: nn.Module,
    x: torch.Tensor,
    label: int,
    steps: int,
    overshoot: float,
    candidates: int,
    norm: str,
    quantize: bool = True,
    stop: Callable[[], bool] | None = None,
) -> torch.Tensor:
    with torch.no_grad():
        logits = model(x)[0]
    order = logits.argsort(descending=True).tolist()
    others = [c for c in order if c != label][: max(1, candidates - 1)]
    r = torch.zeros_like(x)
    for _ in range(steps):
        _check(stop)
        xa = (x + (1 + overshoot) * r).clamp(0, 1).requires_grad_(True)
        with torch.enable_grad():
            out = model(xa)[0]
            if int(out.argmax()) != label:
                break
            gaps = out[others] - out[label]
            ws = [torch.autograd.grad(g, xa, retain_graph=True)[0] for g in gaps]
        w = torch.stack(ws).flatten(1)  # (k, pixels): each boundary's normal
        # The distance to a hyperplane in L-p is |gap| / ||w||_q (q the dual norm of p).
        dual = w.norm(dim=1) if norm == "l2" else w.abs().sum(dim=1)
        dist = gaps.detach().abs() / dual.clamp_min(1e-12)
        j = int(dist.argmin())
        # step just past the linearised boundary (the 1e-4 keeps a zero gap from stalling)
        size = (gaps[j].detach().abs() + 1e-4) / dual[j].clamp_min(1e-12)
        step = w[j] / w[j].norm().clamp_min(1e-12) if norm == "l2" else w[j].sign()
        r = r + (size * step).view_as(x)
    adv = (x + (1 + overshoot) * r).clamp(0, 1).detach()
    if not quantize:
        return adv
    # DeepFool stops just past the boundary, where rounding to 8-bit pixels (a saved PNG)
    # often undoes the flip: grow the overshoot until the rounded image still flips.
    grow = overshoot
    for _ in range(12):
        rounded = _to_8bit(x + (1 + grow) * r)
        with torch.no_grad():
            if int(model(rounded).argmax(1)) != label:
                return rounded
        grow = 2 * grow + 0.02
    return adv


def _to_8bit(images: torch.Tensor) -> torch.Tensor:
    """What a saved 8-bit image holds: each pixel rounded to the nearest 1/255."""
    return (images.clamp(0, 1) * 255).round().div(255).detach()


def deepfool(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int = 50,
    overshoot: float = 0.02,
    candidates: int = 10,
    norm: str = "l2",
    quantize: bool = True,
    stop: Callable[[], bool] | None = None,
) -> MinimalPerturbation:
    """DeepFool: steps to the nearest linearised boundary among the ``candidates`` top classes.

    ``norm`` "l2" (the paper's main attack) or "linf" (its L-inf form: each step
    moves every pixel by the same amount, as FGSM does, but only as far as needed).
    ``quantize``: the adversarial image is rounded to 8-bit pixels, and the
    overshoot grown (0.02, then 0.06, 0.14, ...) until the rounded image still
    flips, so a saved PNG of it is adversarial too (ART's DeepFool flips survive
    rounding for the same reason: its overshoot). ``stop``: asked before each step;
    True raises ``Interrupted``.
    """
    if norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', not {norm!r}")
    with evaluating(model), _frozen(model):
        options = (steps, overshoot, candidates, norm, quantize, stop)
        adv = torch.cat(
            [
                _deepfool_one(model, images[i : i + 1].detach(), int(labels[i]), *options)
                for i in range(len(images))
            ]
        )
        return _measure(model, images, labels, adv)


def cw_l2(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    c: float | torch.Tensor = 10.0,
    steps: int = 100,
    lr: float = 0.05,
    stop: Callable[[], bool] | None = None,
) -> MinimalPerturbation:
    """Carlini & Wagner (2017) L2: Adam on ||delta||^2 + c * margin in tanh space; the least flip kept.

    The images are scaled by 0.999999 before ``atanh`` (as in Carlini's code), so
    pixels at exactly 0 or 1 (most of a digit) can move too.
    """
    x = images.detach()
    c = torch.as_tensor(c, dtype=x.dtype, device=x.device).expand(len(x))  # one c per image
    w = torch.atanh((x * 2 - 1) * 0.999999).requires_grad_(True)
    best = x.clone()
    best_l2 = torch.full((len(x),), float("inf"), device=x.device)
    optimizer = torch.optim.Adam([w], lr=lr)
    with evaluating(model), _frozen(model), torch.enable_grad():
        # No early stop on a flat loss: pixels at 0 or 1 start where tanh is flat, and a
        # stop on "the loss no longer falls" would end before they move.
        for _ in range(steps):
            _check(stop)
            adv = (torch.tanh(w) + 1) / 2
            logits = model(adv)
            true = logits.gather(1, labels[:, None])[:, 0]
            other = logits.scatter(1, labels[:, None], float("-inf")).amax(1)
            l2 = (adv - x).flatten(1).pow(2).sum(1)
            loss = (l2 + c * (true - other).clamp_min(0)).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                better = (logits.argmax(1) != labels) & (l2.sqrt() < best_l2)
                best_l2 = torch.where(better, l2.sqrt(), best_l2)
                best[better] = adv.detach()[better]
    with evaluating(model):
        return _measure(model, x, labels, best)


def cw_l2_search(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    c: float = 1.0,
    searches: int = 6,
    steps: int = 100,
    lr: float = 0.05,
    stop: Callable[[], bool] | None = None,
) -> MinimalPerturbation:
    """C&W L2 with Carlini's binary search over c, per image: the least flip over all runs.

    c starts at ``c``; after a run, an image that flipped halves the way toward the
    largest c that did not (a smaller c weighs the size more), one that did not
    flip takes 10x c until one does. ``searches`` runs of ``steps`` each.
    """
    x = images.detach()
    cs = torch.full((len(x),), float(c), device=x.device)
    low = torch.zeros_like(cs)
    high = torch.full_like(cs, float("inf"))
    best = x.clone()
    best_l2 = torch.full_like(cs, float("inf"))
    for _ in range(searches):
        run = cw_l2(model, x, labels, c=cs, steps=steps, lr=lr, stop=stop)
        better = run.flipped & (run.l2 < best_l2)
        best_l2 = torch.where(better, run.l2, best_l2)
        best[better] = run.adversarial[better]
        high = torch.where(run.flipped, torch.minimum(high, cs), high)
        low = torch.where(run.flipped, low, torch.maximum(low, cs))
        cs = torch.where(torch.isinf(high), cs * 10, (low + high) / 2)
    with evaluating(model):
        return _measure(model, x, labels, best)


def _best(*found: tuple[str, float]) -> tuple[float | None, str]:
    name, size = min(found, key=lambda f: f[1])
    return (None, "") if math.isinf(size) else (size, name)


def smallest_flip(
    model: nn.Module,
    image: torch.Tensor,
    label: int | None = None,
    *,
    cw_c: tuple[float, ...] = (1.0, 10.0),
    cw_steps: int = 100,
    stop: Callable[[], bool] | None = None,
) -> SmallestFlip:
    """DeepFool (L2 and L-inf) and C&W L2 on one (C, H, W) image; the least size of each norm.

    ``label`` is the answer to flip; by default the model's own. ``stop`` is asked
    before every step of each search (a few hundred on a big network, minutes on a
    CPU): True raises ``Interrupted``, so closing the window or choosing another image
    does not wait for a search nobody needs.
    """
    x = image.detach()[None]
    if label is None:
        with evaluating(model), torch.no_grad():
            label = int(model(x).argmax(1))
    y = torch.tensor([int(label)], device=x.device)
    runs = [
        ("DeepFool", deepfool(model, x, y, stop=stop)),
        ("DeepFool", deepfool(model, x, y, norm="linf", stop=stop)),
    ]
    # C&W with Carlini's binary search over c (from cw_c[0]): a fixed c = 10 was larger
    # than DeepFool on every digit measured (issue 22, 7)
    runs.append(
        ("C&W", cw_l2_search(model, x, y, c=cw_c[0], searches=4, steps=cw_steps, stop=stop))
    )
    l2, l2_by = _best(*((name, float(r.l2[0])) for name, r in runs))
    linf, linf_by = _best(*((name, float(r.linf[0])) for name, r in runs))
    return SmallestFlip(l2=l2, l2_by=l2_by, linf=linf, linf_by=linf_by)
