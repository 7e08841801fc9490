"""How each epoch is judged: the PGD monitor, the score early stopping watches, the collapse rule.

After each epoch the trainer measures, beside clean and FGSM accuracy on the whole
validation set, a few-step PGD accuracy on a fixed, evenly spread subset of it
(``monitor_size`` images, ``pgd_accuracy``; PGD's random start drawn from its own
seed, so training draws the same random numbers with or without it). ``score``
turns the three into what ``select_by`` watches, and ``pgd_collapsed`` says when
PGD accuracy fell enough (catastrophic overfitting) that a defended epoch may not
be the best, whatever the score says. The plain-words findings drawn from the
same numbers are ``core.training.robust_monitor``'s.
"""

from __future__ import annotations

from collections.abc import Generator

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from ..data.dataset import ImageDataset
from ..measure.evaluation import EvalProgress, evaluation, size
from .config import TrainConfig

MONITOR = "validation subset (PGD monitor)"  # EvalProgress.held_out of the monitor


def monitor_size(n_train: int, n_val: int, config: TrainConfig) -> int:
    """The PGD monitor's subset: ``monitor_images``, or about one in 40 training
    images (at least 100, at most 500), so that PGD with a few steps costs about a
    tenth of an epoch of standard training and less with a defense."""
    n = config.monitor_images or min(500, max(100, n_train // 40))
    return min(n, n_val)


def watched_subset(dataset: Dataset, n: int) -> Dataset:
    """``n`` images evenly spread over ``dataset`` (sets are often sorted by class)."""
    idx = [i * size(dataset) // n for i in range(n)]
    return dataset.subset(idx) if isinstance(dataset, ImageDataset) else Subset(dataset, idx)


def pgd_accuracy(
    model: nn.Module, subset: Dataset, config: TrainConfig, device: torch.device
) -> Generator[EvalProgress, None, float]:
    """PGD accuracy on the monitor's subset; its random start has its own fixed seed."""
    if config.epsilon == 0:
        return (yield from evaluation(model, subset, attacks=(), held_out=MONITOR)).clean
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed + 7919)
        ev = yield from evaluation(
            model,
            subset,
            attacks=("pgd",),
            epsilons=(config.epsilon,),
            steps=config.monitor_steps,
            held_out=MONITOR,
        )
    return ev.acc("pgd", config.epsilon)


COLLAPSE_DROP = (
    0.2  # core.training.robust_monitor's "pgd-collapse": at least this much, and over half
)


def pgd_collapsed(pgd: float, peak: float, *, drop: float = COLLAPSE_DROP) -> bool:
    """Has PGD accuracy ``pgd`` collapsed from the ``peak`` the monitor saw before it
    (lost at least ``drop`` and more than half of it: catastrophic overfitting)?"""
    return peak - pgd >= drop and pgd < peak / 2


def score(selection: str, clean: float, fgsm: float, pgd: float) -> float:
    if selection == "pgd":
        return pgd
    return (clean + fgsm) / 2 if selection == "clean+fgsm" else clean
