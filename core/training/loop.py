"""Training, standard or WR_FGSM-defended, as a generator that knows nothing of threads.

``train(model, train_set, val_set, config)`` yields a ``BatchProgress`` after
every batch, an ``EvalProgress`` after every validation batch and an
``EpochMetrics`` after every epoch, and returns a ``TrainResult``. To stop, stop
iterating (``close()`` the generator): nothing more runs than the batch in
hand, and the model is left with the best epoch's weights, in eval mode. The
best epoch's weights are kept in memory and, with ``save_path``, saved
atomically with their card each time a new best is found, so an interrupted run
leaves its last good checkpoint intact.

WR_FGSM is the paper's Eq. 8:  L = L_ori + a1 * L_adv_FGSM + a2 * lambda * ||W||^2,
with a2 = 1 - a1. W is every conv and linear weight (``models.regularized_weights``:
no biases, no BatchNorm parameters). ``reg="literal"`` uses lambda = 1, the
equation taken literally; ``reg="scaled"`` (default) uses lambda = ``reg_lambda``
(5e-4, weight-decay size), because the literal form with a2 >= 0.5 drives the
weights to zero and the model to chance. Each batch's FGSM example comes from
the input gradient of the clean pass's own backward (``x.grad``), so a batch
costs 2 forwards + 2 backwards: about twice a clean batch, no extra attack pass.
The penalty's gradient (2 * a2 * lambda * W) is the optimizer's weight decay on
the group of W (Adam's and SGD's ``weight_decay`` add ``wd * W`` to the gradient
before the step): exactly the gradient of the term, without a graph over W.
Other defenses (``fgsm-rs``, ``pgd``, ``trades``) change only how L_adv is made
(``core.training.defenses``); ``augment`` transforms each training batch first (``core.data.augment``).

The robustness monitor: after each epoch, beside clean and FGSM accuracy on the
whole validation set, a few-step PGD accuracy on a fixed subset of it
(``core.training.selection``). FGSM accuracy far above PGD accuracy is what a
defense that only looks robust shows (``core.training.robust_monitor``).
``select_by`` says what early stopping and the best epoch watch: clean accuracy,
the mean of clean and FGSM, or PGD accuracy (Wong et al. 2020, Rice et al. 2020);
whatever it watches, an epoch whose PGD accuracy collapsed while the monitor saw
it (catastrophic overfitting) is never the best epoch of a defended run.
``lr_schedule="cosine"`` lowers the learning rate from ``lr`` to 0 over the run's
batches (``TrainConfig.learning_rate``).

``ema > 0`` keeps an exponential moving average of the weights (decay ``ema``,
warmed up as ``min(ema, (1 + t) / (10 + t))`` after t steps; BatchNorm buffers
copied): the averaged weights are what is validated, chosen and saved, since
weight averaging is known to help robust generalization (Gowal et al. 2020,
Rebuffi et al. 2021).

``train`` is the loop and nothing else; its steps are ``core.training.trainer``'s
``Trainer`` methods (as minGPT's trainer): ``run_epoch`` (``train_step`` per batch),
``validate`` (``monitor``), ``select``, ``metrics``, ``checkpoint_best``,
``should_stop`` and, however the loop ends, ``finish``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from ..measure.evaluation import EvalProgress, drive
from ..models.card import ModelCard
from .config import BatchProgress, EpochMetrics, TrainConfig, TrainResult
from .distributed import SINGLE, DistContext
from .trainer import Trainer


def train(
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    *,
    save_path: str | Path | None = None,
    card: ModelCard | None = None,
    dist: DistContext = SINGLE,
    start_epoch: int = 1,
) -> Generator[BatchProgress | EvalProgress | EpochMetrics, None, TrainResult]:
    """Train ``model``, yielding its events; ``start_epoch`` > 1 goes on from a saved epoch."""
    t = Trainer(model, train_set, val_set, config, save_path=save_path, card=card, dist=dist)
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            sums = yield from t.run_epoch(epoch)
            val = yield from t.validate()
            score, is_best = t.select(epoch, val)
            metrics = t.metrics(epoch, sums, val, score, is_best)
            t.result.history.append(metrics)
            t.checkpoint_best(is_best)
            yield metrics
            if t.should_stop(epoch):
                t.result.early_stopped = True
                break
    finally:
        t.finish()
    return t.result


def run(
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    on_event: Callable[[BatchProgress | EvalProgress | EpochMetrics], None] | None = None,
    **kwargs,
) -> TrainResult:
    """Drive ``train`` to the end (for scripts and tests) and return its result."""
    return drive(train(model, train_set, val_set, config, **kwargs), on_event)


def warm_up() -> None:
    """Import what the first optimizer imports (torch._dynamo, about 1 s) ahead of time.

    Importing holds the interpreter for long stretches; done while the app is
    idle, the first training run starts without freezing the window.
    """
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
