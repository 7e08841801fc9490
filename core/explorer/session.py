"""A live attack on one image, for the epsilon slider.

``AttackSession(model, image)`` computes the input gradient once (one forward
and one backward pass, which also give the clean prediction). After that an
FGSM frame at any epsilon is ``clamp(x +/- eps * sign(grad))`` plus **one**
forward pass, so the slider can move at display rate. ``sweep(epsilons)``
runs many epsilons through one batched forward and finds the smallest epsilon
that flips the prediction. ``frame(eps, cache=...)`` takes the probabilities from
a ``core.explorer.sweep_cache.SweepCache`` when ``eps`` is one of its filled positions, so
a frame needs no forward pass at all (big networks: one forward is slower than a
display frame). BIM and PGD frames recompute the attack (their steps depend on
epsilon), so the GUI runs those in a worker.

With an ``attacker`` module the attack follows *its* gradient while ``model``
gives the answers (a defense: ``model`` is the defended classifier, ``attacker``
what the attacker differentiates, e.g. the squeezer with a BPDA gradient); a
``detector`` marks each frame's adversarial image as flagged or not. APGD-CE
frames (torchattacks, untargeted) also run in the worker.

``noise_frame(eps)`` is the baseline a newcomer asks for ("isn't that just
noise?"): the image plus random signs of the same size epsilon (a fixed random
pattern per session, so the slider does not flicker), and the model's answer:
the attack's *direction* fools the model, not its size.

With no ``label``, the model's own clean prediction is the label (what a user
dragging in a photo expects: "make the model change its mind"). With a
``target``, the attack is targeted: it walks down the target's loss.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ..attacks.gradient import evaluating, fgsm_step, resolve

NOISE_SEED = 0  # one random sign pattern per image, the same on every run

if TYPE_CHECKING:
    from .sweep_cache import SweepCache


@dataclass(frozen=True)
class AttackFrame:
    """One attacked image and what the model says about it (CPU tensors)."""

    epsilon: float
    attack: str
    original: torch.Tensor  # (C, H, W) in [0, 1]
    adversarial: torch.Tensor  # (C, H, W) in [0, 1]
    probs_clean: torch.Tensor  # (K,)
    probs_adv: torch.Tensor  # (K,)
    pred_clean: int
    pred_adv: int
    label: int
    target: int | None
    flagged: bool | None = None  # did the defense's detector flag it (None: no detector)
    by: str | None = None  # "strongest" frames: which of its attacks fooled the model ("": none)
    how: str = ""  # "strongest" frames: what it ran, in words

    @property
    def perturbation(self) -> torch.Tensor:
        """adversarial - original, in [-eps, eps] (computed when asked for)."""
        return self.adversarial - self.original

    @property
    def flipped(self) -> bool:
        """Did the attack succeed (prediction changed, or reached the target)?"""
        if self.target is not None:
            return self.pred_adv == self.target
        return self.pred_adv != self.pred_clean


@dataclass(frozen=True)
class SweepResult:
    epsilons: torch.Tensor  # (E,)
    probs: torch.Tensor  # (E, K)
    preds: torch.Tensor  # (E,)
    flip_epsilon: float | None  # smallest epsilon whose prediction flipped, if any


class AttackSession:
    def __init__(
        self,
        model: nn.Module,
        image: torch.Tensor,
        *,
        label: int | None = None,
        target: int | None = None,
        attacker: nn.Module | None = None,
        detector: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if image.ndim != 3:
            raise ValueError(f"image must be (C, H, W), got shape {tuple(image.shape)}")
        self.model = model
        self.attacker = model if attacker is None else attacker
        self.detector = detector
        self.device = next(model.parameters()).device
        self.x = image.detach().to(self.device, torch.float32)[None]
        self.target = target
        x = self.x.clone().requires_grad_(True)
        with evaluating(model), torch.enable_grad():
            logits = self.attacker(x)
            if self.attacker is not model:
                with torch.no_grad():
                    answer = model(self.x)
            else:
                answer = logits.detach()
            self.probs_clean = F.softmax(answer, dim=1)[0].cpu()
            self.pred_clean = int(answer.argmax(1))
            self.label = self.pred_clean if label is None else int(label)
            aim = self.label if target is None else int(target)
            loss = F.cross_entropy(logits, torch.tensor([aim], device=self.device), reduction="sum")
            (grad,) = torch.autograd.grad(loss, x)
        # Untargeted: climb the label's loss. Targeted: descend the target's.
        self.direction = (grad.sign() if target is None else -grad.sign()).detach()
        self._original_cpu = self.x[0].cpu()
        self._noise: torch.Tensor | None = None
        self._modules = list(
            {id(m): m for m in (*model.modules(), *self.attacker.modules())}.values()
        )

    def _eval(self) -> AbstractContextManager:
        # Checking the cached module list is much cheaper than model.modules()
        # on every frame; the usual case (already in eval mode) costs ~1 us.
        if any(m.training for m in self._modules):
            return evaluating(self.model)
        return nullcontext()

    @property
    def num_classes(self) -> int:
        return self.probs_clean.numel()

    def _aim(self) -> torch.Tensor:
        aim = self.label if self.target is None else self.target
        return torch.tensor([aim], device=self.device)

    @torch.no_grad()
    def frame(
        self,
        epsilon: float,
        *,
        attack: str = "fgsm",
        steps: int = 10,
        cache: SweepCache | None = None,
    ) -> AttackFrame:
        """The attacked image at ``epsilon``; FGSM costs one forward pass, none when
        ``cache`` (this session's, for its model) has the answer at ``epsilon``."""
        probs = None
        if cache is not None and attack == "fgsm":
            if cache.session is not self or cache.model is not self.model:
                raise ValueError("the sweep cache belongs to another session or model")
            probs = cache.probs_at(epsilon)
        if attack == "fgsm":  # the session's own direction: one step, no gradient pass
            adv = fgsm_step(self.x, self.direction, float(epsilon))
        else:
            fn = resolve(attack, steps=steps, apgd_steps=steps, targeted=self.target is not None)
            with self._eval():
                adv = fn(self.attacker, self.x, self._aim(), float(epsilon))
        with self._eval():
            if probs is None:
                probs = F.softmax(self.model(adv), dim=1)[0].cpu()
            flagged = None if self.detector is None else bool(self.detector(adv)[0])
        return self._frame(epsilon, attack, adv, probs, flagged)

    @torch.no_grad()
    def judge(
        self,
        epsilon: float,
        attack: str,
        adv: torch.Tensor,
        *,
        by: str | None = None,
        how: str = "",
    ) -> AttackFrame:
        """The frame of an adversarial image (1, C, H, W) made elsewhere (e.g. Feature
        Squeezing's strongest attack): the session's model answers, its detector flags."""
        adv = adv.to(self.device)
        with self._eval():
            probs = F.softmax(self.model(adv), dim=1)[0].cpu()
            flagged = None if self.detector is None else bool(self.detector(adv)[0])
        return replace(self._frame(epsilon, attack, adv, probs, flagged), by=by, how=how)

    def _frame(
        self,
        epsilon: float,
        attack: str,
        adv: torch.Tensor,
        probs: torch.Tensor,
        flagged: bool | None,
    ) -> AttackFrame:
        """The frame of ``adv`` (1, C, H, W) and the model's ``probs`` for it."""
        return AttackFrame(
            epsilon=float(epsilon),
            attack=attack,
            original=self._original_cpu,
            adversarial=adv[0].cpu(),
            probs_clean=self.probs_clean,
            probs_adv=probs,
            pred_clean=self.pred_clean,
            pred_adv=int(probs.argmax()),
            label=self.label,
            target=self.target,
            flagged=flagged,
        )

    @property
    def noise_direction(self) -> torch.Tensor:
        """(1, C, H, W) random signs (+1 or -1 per pixel), the same for every epsilon."""
        if self._noise is None:
            gen = torch.Generator().manual_seed(NOISE_SEED)
            signs = torch.randint(0, 2, tuple(self.x.shape), generator=gen) * 2 - 1
            self._noise = signs.to(self.device, self.x.dtype)
        return self._noise

    @torch.no_grad()
    def noise_frame(self, epsilon: float) -> AttackFrame:
        """The image plus random sign noise of size ``epsilon`` (clamped to [0, 1]) and what
        the model says about it: the baseline beside the attack (``attack`` is "noise")."""
        noisy = fgsm_step(self.x, self.noise_direction, float(epsilon))
        with self._eval():
            probs = F.softmax(self.model(noisy), dim=1)[0].cpu()
            flagged = None if self.detector is None else bool(self.detector(noisy)[0])
        return self._frame(epsilon, "noise", noisy, probs, flagged)

    @torch.no_grad()
    def probs_of(
        self,
        epsilons: torch.Tensor,
        *,
        model: nn.Module | None = None,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(E, K) probabilities of the FGSM images at ``epsilons``, in one batched forward.

        ``model`` (default: the session's) judges them after ``prepare`` (e.g. a compare
        model of another input size); reads the session, writes nothing: any thread.
        """
        advs = fgsm_step(self.x, self.direction, torch.as_tensor(epsilons).to(self.device))
        if prepare is not None:
            advs = prepare(advs)
        if model is None or model is self.model:
            with self._eval():
                return F.softmax(self.model(advs), dim=1).cpu()
        with evaluating(model):
            return F.softmax(model(advs), dim=1).cpu()

    def sweep(self, epsilons: torch.Tensor | list[float], *, chunk: int = 128) -> SweepResult:
        """FGSM at many epsilons in batched forward passes (``chunk`` images each)."""
        eps = torch.as_tensor(epsilons, dtype=torch.float32)
        probs = torch.cat([self.probs_of(e) for e in eps.split(chunk)])
        return self.sweep_result(eps, probs)

    def sweep_result(self, epsilons: torch.Tensor, probs: torch.Tensor) -> SweepResult:
        """The sweep of these (E,) epsilons and their (E, K) probabilities: the first flip."""
        eps = torch.as_tensor(epsilons)
        preds = probs.argmax(1)
        hit = preds == self.target if self.target is not None else preds != self.pred_clean
        flips = eps[hit]
        flip = float(flips.min()) if flips.numel() else None
        return SweepResult(epsilons=eps, probs=probs, preds=preds, flip_epsilon=flip)
