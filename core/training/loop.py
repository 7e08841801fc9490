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
whole validation set, a few-step PGD accuracy on a fixed, evenly spread subset of
it (``monitor_images``, ``monitor_steps``; PGD's random start drawn from its own
seed, so training draws the same random numbers with or without it). FGSM
accuracy far above PGD accuracy is what a defense that only looks robust shows
(``core.training.robust_monitor``). ``select_by`` says what early stopping and the best
epoch watch: clean accuracy, the mean of clean and FGSM, or PGD accuracy (Wong
et al. 2020, Rice et al. 2020); whatever it watches, an epoch whose PGD accuracy
collapsed while the monitor saw it (``pgd_collapsed``: catastrophic overfitting) is
never the best epoch of a defended run. ``lr_schedule="cosine"`` lowers the learning rate
from ``lr`` to 0 over the run's batches (``TrainConfig.learning_rate``).

``ema > 0`` keeps an exponential moving average of the weights (decay ``ema``,
warmed up as ``min(ema, (1 + t) / (10 + t))`` after t steps; BatchNorm buffers
copied): the averaged weights are what is validated, chosen and saved, since
weight averaging is known to help robust generalization (Gowal et al. 2020,
Rebuffi et al. 2021).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, Subset

from .. import catalogue
from ..data import augment
from ..data.dataset import ImageDataset
from ..devices import pick_device
from ..measure.evaluation import EvalProgress, EvalResult, drive, evaluation, iterate_batches, size
from ..models.checkpoint import ModelCard, save
from ..models.networks import regularized_weights
from .config import (  # re-exported: the trainer's public names
    SELECT_BY as SELECT_BY,
)
from .config import (
    BatchProgress as BatchProgress,
)
from .config import (
    EpochMetrics as EpochMetrics,
)
from .config import (
    TrainConfig as TrainConfig,
)
from .config import (
    TrainingError as TrainingError,
)
from .config import (
    TrainResult as TrainResult,
)
from .config import (
    training_info as training_info,
)
from .defenses import adversarial_loss
from .distributed import SINGLE, DistContext
from .robust_monitor import card_warnings

MONITOR = "validation subset (PGD monitor)"  # EvalProgress.held_out of the monitor


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or SGD; with WR_FGSM's penalty, the weights W in their own group whose
    weight decay 2 * a2 * lambda is the penalty's exact gradient (see the module doc)."""
    decay = 0.0
    if catalogue.defended(config.defense) and config.a2 > 0:
        lam = 1.0 if config.reg == "literal" else config.reg_lambda
        decay = 2 * config.a2 * lam
    weights = regularized_weights(model)
    ids = {id(w) for w in weights}
    groups = [
        {"params": weights, "weight_decay": decay},
        {"params": [p for p in model.parameters() if id(p) not in ids], "weight_decay": 0.0},
    ]
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=0.9)


def _adversarial_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, epsilon: float
) -> torch.Tensor:
    """The adversarial term of the loss, made by the config's defense (``core.training.defenses``).

    For WR_FGSM ``x.grad`` holds the clean loss's input gradient (from the clean
    backward), so the FGSM example costs no extra pass.
    """
    return adversarial_loss(
        config.defense,
        model,
        x,
        y,
        epsilon,
        x_grad=x.grad,
        steps=config.attack_steps,
        beta=config.beta,
    )


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """One step of the weights' moving average (buffers such as BatchNorm's are copied)."""
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1 - d)
    for eb, b in zip(ema.buffers(), model.buffers(), strict=True):
        eb.copy_(b)


def _check_sizes(train_set: Dataset, val_set: Dataset) -> None:
    if size(train_set) < 2:
        raise TrainingError(
            f"The training set has {size(train_set)} image(s); a training batch needs at "
            "least 2, so no epoch could run. Use more images (a larger limit or more per class)."
        )
    if size(val_set) == 0:
        raise TrainingError(
            "The validation set is empty, so no epoch could be scored. "
            "Use more images (at least a few per class)."
        )


def monitor_size(n_train: int, n_val: int, config: TrainConfig) -> int:
    """The PGD monitor's subset: ``monitor_images``, or about one in 40 training
    images (at least 100, at most 500), so that PGD with a few steps costs about a
    tenth of an epoch of standard training and less with a defense."""
    n = config.monitor_images or min(500, max(100, n_train // 40))
    return min(n, n_val)


def _subset(dataset: Dataset, n: int) -> Dataset:
    """``n`` images evenly spread over ``dataset`` (sets are often sorted by class)."""
    idx = [i * size(dataset) // n for i in range(n)]
    return dataset.subset(idx) if isinstance(dataset, ImageDataset) else Subset(dataset, idx)


def _monitor(
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


def _score(selection: str, clean: float, fgsm: float, pgd: float) -> float:
    if selection == "pgd":
        return pgd
    return (clean + fgsm) / 2 if selection == "clean+fgsm" else clean


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
    config.validate()
    _check_sizes(train_set, val_set)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(device)
    opt = _optimizer(model, config)
    use_amp = config.amp and device.type == "cuda" and torch.cuda.is_bf16_supported()
    # Under torchrun (core.training.distributed) the training passes go through DDP, which
    # all-reduces the gradients; the plain module validates and is saved.
    defense = catalogue.defense(config.defense)
    if dist.active and not defense.has("ddp"):
        # Multi-step attacks would run extra forwards through DDP between its reductions.
        raise TrainingError(
            f"--ddp trains standard and WR_FGSM models; the {config.defense} defense runs "
            "on one process for now (drop --ddp, or spread runs with reproduce --executor ray)."
        )
    net = dist.wrap(model)
    wr = defense.has("defended")  # any defense is Eq. 8 with its own adversarial term
    augment_batch = augment.make(config.augment, getattr(train_set, "name", ""))
    augment_gen = torch.Generator().manual_seed(config.seed + 1)
    a1, a2 = config.a1, config.a2
    lam = 1.0 if config.reg == "literal" else config.reg_lambda
    weights = regularized_weights(model)
    batches = math.ceil(math.ceil(size(train_set) / dist.world_size) / config.batch_size)
    steps = config.epochs * batches  # for the learning-rate schedule
    watched = _subset(val_set, monitor_size(size(train_set), size(val_set), config))
    result = TrainResult()
    best_state = None
    best_ev: EvalResult | None = None
    saved_warnings: list[dict[str, str]] = []  # what the best-so-far file's card says
    # With EMA, the averaged copy is what each epoch validates, selects and saves.
    averaged = copy.deepcopy(model).eval() if config.ema > 0 else None
    scored = averaged if averaged is not None else model
    ema_steps = 0
    peak_pgd = 0.0  # the best PGD accuracy the monitor has seen so far
    started = time.perf_counter()
    train_time, train_images = 0.0, 0
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            model.train()
            sums = dict(loss=0.0, ori=0.0, adv=0.0, reg=0.0, correct=0, n=0)
            epoch_start, epoch_train_s = time.perf_counter(), train_time
            batch_iter: Iterator[tuple[torch.Tensor, torch.Tensor]]
            if dist.active:  # this rank's shard of the epoch (a DistributedSampler)
                shard = dist.shard(
                    size(train_set), config.batch_size, epoch=epoch, seed=config.seed
                )
                batch_iter = (cast(ImageDataset, train_set).batch(idx) for idx in shard)
            else:
                batch_iter = iterate_batches(
                    train_set, config.batch_size, shuffle=True, generator=gen
                )
            for b, (x, y) in enumerate(batch_iter):
                if len(y) < 2:  # BatchNorm cannot train on a batch of one
                    continue
                t0 = time.perf_counter()
                if augment_batch is not None:
                    x = augment_batch(x, augment_gen)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                opt.zero_grad(set_to_none=True)
                fgsm_wr = defense.has("reuses_gradient") and a1 > 0
                x.requires_grad_(fgsm_wr)
                # With DDP and an FGSM pass to follow, the clean backward skips the
                # all-reduce (no_sync): the step synchronises once, after the FGSM pass.
                sync_later = dist.active and wr and a1 > 0
                with dist.no_sync(net) if sync_later else contextlib.nullcontext():
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                        logits = net(x)
                        loss_ori = F.cross_entropy(logits.float(), y)
                    # One backward gives the parameter gradients of L_ori *and* x.grad,
                    # the FGSM direction for this batch: no separate attack pass.
                    loss_ori.backward()
                loss_adv = loss_reg = torch.zeros((), device=device)
                if wr and a1 > 0:
                    ramp = (
                        (epoch - 1 + b / batches) / config.warmup_epochs
                        if config.warmup_epochs
                        else 1
                    )
                    eps = config.epsilon * min(1.0, ramp)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                        loss_adv = _adversarial_loss(net, x, y, config, eps)
                    (a1 * loss_adv).backward()
                if wr and a2 > 0:  # reported only: its gradient is the optimizer's weight decay
                    with torch.no_grad():
                        loss_reg = lam * torch.stack([w.square().sum() for w in weights]).sum()
                total = (
                    loss_ori.detach() + a1 * loss_adv.detach() + a2 * loss_reg.detach()
                    if wr
                    else loss_ori.detach()
                )
                if not torch.isfinite(total):
                    raise TrainingError(
                        f"The loss became {float(total)} at epoch {epoch}, batch {b + 1}. "
                        "Training stopped; try a lower learning rate. "
                        "The last good checkpoint is kept."
                    )
                for group in opt.param_groups:  # the config's schedule, set per batch
                    group["lr"] = config.learning_rate((epoch - 1) * batches + b, steps)
                opt.step()
                if averaged is not None:
                    _ema_update(averaged, model, config.ema, ema_steps)
                    ema_steps += 1
                n = len(y)
                sums["loss"] += float(total) * n
                sums["ori"] += float(loss_ori.detach()) * n
                sums["adv"] += float(loss_adv.detach()) * n
                sums["reg"] += float(loss_reg) * n
                sums["correct"] += int((logits.detach().argmax(1) == y).sum())
                sums["n"] += n
                train_time += time.perf_counter() - t0
                train_images += n
                # A yield after every batch: a consumer that stops iterating stops here.
                yield BatchProgress(
                    epoch,
                    b + 1,
                    batches,
                    float(total),
                    train_images / max(train_time, 1e-9),
                    time.perf_counter() - started,
                )
            ev = yield from evaluation(
                scored,
                val_set,
                attacks=("fgsm",),
                epsilons=(config.epsilon,),
                held_out="validation",
            )
            val_fgsm = ev.acc("fgsm", config.epsilon)
            t_monitor = time.perf_counter()
            val_pgd = yield from _monitor(scored, watched, config, device)
            t_monitor = time.perf_counter() - t_monitor
            score = _score(config.selection, ev.clean, val_fgsm, val_pgd)
            # A defended epoch whose PGD accuracy collapsed is never the best, whatever
            # the score watches (clean + FGSM rises while PGD falls: issue 24, 3).
            collapsed = wr and config.epsilon > 0 and pgd_collapsed(val_pgd, peak_pgd)
            peak_pgd = max(peak_pgd, val_pgd)
            is_best = score > result.best_score and not collapsed
            if is_best:
                result.best_epoch, result.best_score = epoch, score
                best_state = copy.deepcopy(scored.state_dict())
                best_ev = ev
            seen = sums["n"]
            metrics = EpochMetrics(
                epoch=epoch,
                epochs=config.epochs,
                loss=sums["loss"] / seen,
                loss_ori=sums["ori"] / seen,
                loss_adv=sums["adv"] / seen,
                loss_reg=sums["reg"] / seen,
                train_acc=sums["correct"] / seen,
                val_acc=ev.clean,
                val_fgsm_acc=val_fgsm,
                score=score,
                is_best=is_best,
                # every rank trains an equal shard (DistributedSampler pads): the job's rate
                images_per_s=seen * dist.world_size / max(time.perf_counter() - epoch_start, 1e-9),
                elapsed_s=time.perf_counter() - started,
                val_pgd_acc=val_pgd,
                monitor_s=t_monitor,
                train_s=train_time - epoch_train_s,
            )
            result.history.append(metrics)
            # The best-so-far file: its card says what the monitor has seen up to this
            # epoch, as a finished model's does; rewritten when that changes (issue 24, 3).
            warned = card_warnings(result.history) if wr else []
            if save_path is not None and card is not None and best_state and best_ev:
                if is_best or warned != saved_warnings:
                    info = training_info(config, result.best_epoch)
                    if warned:
                        info["warnings"] = warned
                    saved = replace(card, training=info, metrics=best_ev.to_dict())
                    result.saved_to = save(save_path, best_state, saved)
                    saved_warnings = warned
            yield metrics
            if epoch - result.best_epoch >= config.patience:
                result.early_stopped = True
                break
    finally:  # finished, failed or closed: the model leaves clean, with its best weights
        opt.zero_grad(set_to_none=True)
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
    return result


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
