"""Accuracy, clean and under attack, at a list of epsilons.

``evaluate`` returns an ``EvalResult`` (``evaluation`` is the same as a
generator of per-batch ``EvalProgress``): clean accuracy and, for each attack
(FGSM, BIM, PGD, or any of ``core.catalogue``'s), the accuracy at each epsilon; a
model is "right" on an attacked image only if it was attacked with the true label
and still says the true label (misclassified clean images count as failures too).
It is the project's one evaluation loop: ``core.measure.robustness.robust_evaluate`` adds
the per-image worst case through it. FGSM at many
epsilons reuses one input gradient per batch. ``mean_std`` aggregates rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import torch
from torch.utils.data import DataLoader, Dataset

from ..attacks.gradient import evaluating, fgsm_step, input_gradient, resolve

Y = TypeVar("Y")
R = TypeVar("R")


class MetricsError(ValueError):
    """Stored metrics (a card's or a run record's) are not in the expected shape."""


@dataclass(frozen=True)
class EvalResult:
    """Accuracies measured on ``n`` held-out images: clean, and per attack and epsilon.

    The one typed form of measured metrics. On disk (model cards, run records) it
    is ``{"n", "clean", "attacks": {attack: {"0.1": acc}}, "held_out"?}``, the
    format the bundled cards use; ``from_dict``/``to_dict`` are the only code that
    knows that shape.
    """

    n: int
    clean: float
    attacks: Mapping[str, Mapping[float, float]] = field(default_factory=dict)
    held_out: str = ""  # which data: "fold 0 of 10", "test split", "validation"

    def acc(self, attack: str, epsilon: float) -> float:
        """Accuracy under ``attack`` at ``epsilon`` (KeyError if it was not measured)."""
        return self.attacks[attack][float(epsilon)]

    def get(self, attack: str, epsilon: float) -> float | None:
        """Like ``acc``, or None when that attack or epsilon was not measured."""
        return self.attacks.get(attack, {}).get(float(epsilon))

    def epsilons(self, attack: str) -> list[float]:
        return sorted(self.attacks.get(attack, {}))

    def to_dict(self) -> dict:
        d: dict = {
            "n": self.n,
            "clean": self.clean,
            "attacks": {a: {f"{e:g}": v for e, v in d.items()} for a, d in self.attacks.items()},
        }
        if self.held_out:
            d["held_out"] = self.held_out
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> EvalResult:
        try:
            attacks = {
                str(a): {float(e): float(v) for e, v in per.items()}
                for a, per in d.get("attacks", {}).items()
            }
            return cls(
                n=int(d["n"]),
                clean=float(d["clean"]),
                attacks=attacks,
                held_out=str(d.get("held_out", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MetricsError(f"metrics are not in the expected form ({exc!r})") from None

    @classmethod
    def from_card(cls, metrics: Mapping) -> EvalResult | None:
        """A card's measured accuracies, or None if the card holds none."""
        if "clean" not in metrics:
            return None
        return cls.from_dict(metrics)


@dataclass(frozen=True)
class EvalProgress:
    """Yielded by ``evaluating_batches`` after each batch."""

    done: int  # images evaluated so far
    total: int
    held_out: str = ""  # which data, as in ``EvalResult.held_out``


def size(dataset: Dataset) -> int:
    """len() of a map-style dataset (torch's ``Dataset`` type does not declare ``__len__``)."""
    return len(cast(Sized, dataset))


def iterate_batches(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) batches; fast path for in-memory ``ImageDataset``s."""
    n = size(dataset)
    if hasattr(dataset, "batch"):
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            yield dataset.batch(order[i : i + batch_size])
    else:
        yield from DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


WORST_CASE = "worst-case"


def evaluation(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    attacks: Sequence[str] = ("fgsm",),
    epsilons: Sequence[float] = (0.1,),
    steps: int = 10,
    batch_size: int = 256,
    limit: int | None = None,
    held_out: str = "",
    worst_case: bool = False,
    survivors_only: Sequence[str] = (),
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    **options: Any,
) -> Generator[EvalProgress, None, EvalResult]:
    """``evaluate`` as a generator: an ``EvalProgress`` after every batch, so a
    consumer that stops iterating (``close()``) stops it within one batch.

    The one evaluation loop (``core.measure.robustness.robust_evaluate`` runs it too): an
    image counts under an attack only if the model is right on it clean *and* on the
    attacked image. With ``worst_case`` an ``"worst-case"`` entry counts the images
    that survive every attack; attacks in ``survivors_only`` run only on those still
    standing and get no figure of their own (AutoAttack's way). ``transform`` changes
    the images first; ``steps`` (BIM, PGD) and ``options`` go to ``attacks.resolve``.
    """
    total = size(dataset) if limit is None else min(limit, size(dataset))
    device = next(model.parameters()).device
    eps_list = [float(e) for e in epsilons]
    names = [*attacks, *(a for a in survivors_only if a not in attacks)]
    bound: dict[str, Any] = dict(options, steps=steps)  # apgd_steps, targets, queries
    fns = {name: resolve(name, **bound) for name in names}
    own = [a for a in names if a not in survivors_only]
    correct = {a: dict.fromkeys(eps_list, 0) for a in (*own, *([WORST_CASE] * worst_case))}
    clean_correct, seen = 0, 0
    with evaluating(model):
        for x, y in iterate_batches(dataset, batch_size):
            if limit is not None and seen >= limit:
                break
            if limit is not None:
                x, y = x[: limit - seen], y[: limit - seen]
            x, y = x.to(device), y.to(device)
            if transform is not None:
                x = transform(x)
            with torch.no_grad():
                logits = model(x)
            if not torch.isfinite(logits).all():  # NaN's argmax is class 0: never count it
                raise ValueError(
                    "The model's outputs are not numbers (NaN or infinite) for some images, "
                    "so its accuracy cannot be measured."
                )
            right = logits.argmax(1) == y
            clean_correct += int(right.sum())
            # FGSM at every epsilon follows one input gradient per batch
            sign = input_gradient(model, x, y).sign() if "fgsm" in fns else None
            for eps in eps_list:
                survives = right.clone()
                for name, fn in fns.items():
                    if name in survivors_only:
                        idx = survives.nonzero().flatten()
                        if len(idx):
                            adv = fn(model, x[idx], y[idx], eps)
                            with torch.no_grad():
                                survives[idx] &= model(adv).argmax(1) == y[idx]
                        continue
                    if sign is not None and name == "fgsm":
                        adv = fgsm_step(x, sign, eps)
                    else:
                        adv = fn(model, x, y, eps)
                    with torch.no_grad():  # wrong clean stays wrong, whatever the attack did
                        ok = (model(adv).argmax(1) == y) & right
                    correct[name][eps] += int(ok.sum())
                    survives &= ok
                if worst_case:
                    correct[WORST_CASE][eps] += int(survives.sum())
            seen += len(y)
            yield EvalProgress(seen, total, held_out)
    if seen == 0:
        raise ValueError("There are no images to evaluate on: the held-out set is empty.")
    return EvalResult(
        n=seen,
        clean=clean_correct / seen,
        attacks={a: {e: c / seen for e, c in d.items()} for a, d in correct.items()},
        held_out=held_out,
    )


def evaluate(model: torch.nn.Module, dataset: Dataset, **options) -> EvalResult:
    """Run ``evaluation`` to the end and return its ``EvalResult``."""
    return drive(evaluation(model, dataset, **options))


def drive(events: Generator[Y, None, R], on_event: Callable[[Y], None] | None = None) -> R:
    """Iterate a generator to its end, handing each event to ``on_event``; return its value.

    For scripts and the CLI; the window runs the same generators in a worker.
    """
    returned: list[R] = []

    def relay() -> Generator[Y, None, None]:
        returned.append((yield from events))

    for event in relay():
        if on_event is not None:
            on_event(event)
    return returned[0]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    vals = [float(v) for v in values]
    if not vals:
        return math.nan, math.nan
    m = sum(vals) / len(vals)
    if len(vals) < 2:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
