"""A model's answers at the epsilon slider's positions, computed ahead of the slider.

A big network (ResNet50 or DenseNet121 on 28 px digits) needs 20-80 ms for one
forward pass on a laptop core, more than a frame at 30 fps may take. But an FGSM
frame of an ``AttackSession`` depends only on epsilon, and the slider has a
finite number of positions (``core.explorer.opening.EpsilonScale.grid``). ``SweepCache``
holds one model's softmax probabilities at those positions. The caller fills it
chunk by chunk: ``next_chunk`` picks the missing positions nearest the slider,
``compute`` runs them through one batched forward (any thread: it reads the
session and the model, writes nothing), and ``fill`` stores the answer (the
thread that reads the cache). ``probs_at`` then answers a position without a
forward pass, and ``AttackSession.frame(eps, cache=...)`` uses it.

The same cache serves a second model judging the same adversarial images (the
Explorer's compare model): give its ``model`` and a ``prepare`` that turns the
(E, C, H, W) adversarial batch into that model's input.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .session import AttackSession, SweepResult

TOLERANCE = 1e-9  # epsilons this close are one slider position (a spin box's 0.037 vs 37 * 0.001)


class SweepCache:
    """One model's probabilities at a sorted grid of epsilons, filled chunk by chunk."""

    def __init__(
        self,
        session: AttackSession,
        epsilons: torch.Tensor,
        *,
        model: nn.Module | None = None,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        eps = torch.as_tensor(epsilons, dtype=torch.float64).flatten()
        if eps.numel() == 0 or bool((eps[1:] <= eps[:-1]).any()):
            raise ValueError("a sweep needs at least one epsilon, in increasing order")
        self.session = session
        self.model = session.model if model is None else model
        self.prepare = prepare
        self.epsilons = eps
        self._filled = torch.zeros(eps.numel(), dtype=torch.bool)
        self._probs: torch.Tensor | None = None  # (E, K), made at the first fill

    def __len__(self) -> int:
        return self.epsilons.numel()

    @property
    def filled(self) -> int:
        """How many positions have their probabilities."""
        return int(self._filled.sum())

    @property
    def complete(self) -> bool:
        return bool(self._filled.all())

    def index(self, epsilon: float) -> int | None:
        """The grid position of ``epsilon``, or None when it is not one."""
        i = int(torch.searchsorted(self.epsilons, float(epsilon)))
        for j in (i - 1, i):
            if 0 <= j < len(self) and abs(float(self.epsilons[j]) - epsilon) <= TOLERANCE:
                return j
        return None

    def probs_at(self, epsilon: float) -> torch.Tensor | None:
        """The model's probabilities at ``epsilon`` if it is a filled position, else None."""
        i = self.index(epsilon)
        if i is None or self._probs is None or not self._filled[i]:
            return None
        return self._probs[i]

    def next_chunk(
        self, size: int, *, near: float = 0.0, among: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Up to ``size`` missing positions (indices), nearest ``near`` first.

        ``among`` limits the choice to these indices (the curve's coarse view first).
        Empty when every position (of ``among``) is filled.
        """
        candidates = torch.arange(len(self)) if among is None else torch.as_tensor(among)
        missing = candidates[~self._filled[candidates]]
        if missing.numel() == 0:
            return missing
        order = (self.epsilons[missing] - near).abs().argsort(stable=True)
        return missing[order[:size]].sort().values

    def distance(self, near: float) -> float:
        """How far from ``near`` the nearest missing position is (infinite when complete)."""
        missing = self.epsilons[~self._filled]
        return float((missing - near).abs().min()) if missing.numel() else float("inf")

    def compute(self, indices: torch.Tensor) -> torch.Tensor:
        """The probabilities at these positions: one batched forward, safe on any thread."""
        return self.session.probs_of(
            self.epsilons[indices].float(), model=self.model, prepare=self.prepare
        )

    def fill(self, indices: torch.Tensor, probs: torch.Tensor) -> None:
        """Store ``compute(indices)``'s answer."""
        if probs.shape[0] != indices.numel():
            raise ValueError(f"{indices.numel()} positions but {probs.shape[0]} answers")
        if self._probs is None:
            self._probs = torch.zeros(len(self), probs.shape[1])
        self._probs[indices] = probs.to(self._probs.dtype)
        self._filled[indices] = True

    def result(self, indices: torch.Tensor | None = None) -> SweepResult:
        """The sweep over the filled positions (of ``indices``, if given), for the curve."""
        picked = torch.arange(len(self)) if indices is None else torch.as_tensor(indices)
        picked = picked[self._filled[picked]]
        if self._probs is None or picked.numel() == 0:
            raise ValueError("no position of the sweep is filled yet")
        return self.session.sweep_result(self.epsilons[picked].float(), self._probs[picked])
