"""Accuracy, clean and under attack, at a list of epsilons.

``evaluate`` returns an ``EvalResult``: clean accuracy and, for each attack
(FGSM, BIM, PGD), the accuracy at each epsilon; a model is "right" on an
attacked image only if it was attacked with the true label and still says the
true label (misclassified clean images count as failures too). FGSM at many
epsilons reuses one input gradient per batch. ``mean_std`` aggregates rounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from fgsm_studio.core.attacks import evaluating, input_gradient, run_attack


@dataclass
class EvalResult:
    n: int
    clean: float
    attacks: dict[str, dict[float, float]] = field(default_factory=dict)  # attack -> eps -> acc

    def acc(self, attack: str, epsilon: float) -> float:
        return self.attacks[attack][float(epsilon)]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "clean": self.clean,
            "attacks": {a: {f"{e:g}": v for e, v in d.items()} for a, d in self.attacks.items()},
        }


def iterate_batches(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) batches; fast path for in-memory ``ImageDataset``s."""
    n = len(dataset)
    if hasattr(dataset, "batch"):
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            yield dataset.batch(order[i : i + batch_size])
    else:
        yield from DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def evaluate(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    attacks: Sequence[str] = ("fgsm",),
    epsilons: Sequence[float] = (0.1,),
    steps: int = 10,
    batch_size: int = 256,
    limit: int | None = None,
) -> EvalResult:
    device = next(model.parameters()).device
    eps_list = [float(e) for e in epsilons]
    correct = {a: dict.fromkeys(eps_list, 0) for a in attacks}
    clean_correct, seen = 0, 0
    with evaluating(model):
        for x, y in iterate_batches(dataset, batch_size):
            if limit is not None and seen >= limit:
                break
            if limit is not None:
                x, y = x[: limit - seen], y[: limit - seen]
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                logits = model(x)
            if not torch.isfinite(logits).all():  # NaN's argmax is class 0: never count it
                raise ValueError(
                    "The model's outputs are not numbers (NaN or infinite) for some images, "
                    "so its accuracy cannot be measured."
                )
            clean_correct += int((logits.argmax(1) == y).sum())
            for attack in attacks:
                if attack == "fgsm":
                    sign = input_gradient(model, x, y).sign()
                for eps in eps_list:
                    if attack == "fgsm":
                        adv = (x + eps * sign).clamp(0, 1)
                    else:
                        adv = run_attack(attack, model, x, y, eps, steps=steps)
                    with torch.no_grad():
                        correct[attack][eps] += int((model(adv).argmax(1) == y).sum())
            seen += len(y)
    if seen == 0:
        raise ValueError("evaluate() got an empty dataset")
    return EvalResult(
        n=seen,
        clean=clean_correct / seen,
        attacks={a: {e: c / seen for e, c in d.items()} for a, d in correct.items()},
    )


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    vals = [float(v) for v in values]
    if not vals:
        return math.nan, math.nan
    m = sum(vals) / len(vals)
    if len(vals) < 2:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
