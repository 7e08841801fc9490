"""The trainer's state and named steps: one optimizer step, an epoch, validation, selection,
the best-so-far file, early stopping (``core.training.loop.train`` composes them).

The state is set once per run (device, optimizer, DDP wrapper, augmentation, the
monitor's subset, the EMA copy) and what changes over it (best weights, the EMA
step, the monitor's peak, the timers) lives on the ``Trainer``; each step is a
method with the reason it exists in its docstring. The losses are the paper's
Eq. 8 as ``core.training.loop``'s module docstring describes.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .. import catalogue
from ..data import augment
from ..data.dataset import ImageDataset
from ..devices import pick_device
from ..measure.evaluation import EvalProgress, EvalResult, evaluation, iterate_batches, size
from ..models.card import ModelCard
from ..models.checkpoint import save
from ..models.networks import regularized_weights
from . import selection
from .config import (
    BatchProgress,
    EpochMetrics,
    TrainConfig,
    TrainingError,
    TrainResult,
    training_info,
)
from .defenses import adversarial_loss
from .distributed import DistContext
from .robust_monitor import card_warnings


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


@dataclass
class _Sums:
    """An epoch's running sums of the losses and correct answers, per image."""

    loss: float = 0.0
    ori: float = 0.0
    adv: float = 0.0
    reg: float = 0.0
    correct: int = 0
    n: int = 0


@dataclass
class _Validation:
    """What one epoch's validation measured on the (averaged) model."""

    ev: EvalResult  # clean and FGSM accuracy on the whole validation set
    fgsm: float
    pgd: float  # the PGD monitor's accuracy on its subset
    monitor_s: float


class Trainer:
    """One run's state and the named steps of its epochs (as minGPT's trainer).

    ``train`` reads as the loop it is: ``run_epoch`` (``train_step`` per batch),
    ``validate`` (with ``monitor``), ``select``, ``metrics``, ``checkpoint_best``,
    ``should_stop``, then ``finish``. Everything a step needs that does not change
    over the run is set once here; what changes (the best epoch's weights, the EMA
    step, the monitor's peak, the timers) is the state the steps share.
    """

    def __init__(
        self,
        model: nn.Module,
        train_set: Dataset,
        val_set: Dataset,
        config: TrainConfig,
        *,
        save_path: str | Path | None,
        card: ModelCard | None,
        dist: DistContext,
    ) -> None:
        config.validate()
        _check_sizes(train_set, val_set)
        self.model, self.config, self.dist = model, config, dist
        self.train_set, self.val_set = train_set, val_set
        self.save_path, self.card = save_path, card
        self.device = device = pick_device(config.device)
        torch.manual_seed(config.seed)
        self.gen = torch.Generator().manual_seed(config.seed)
        model.to(device)
        self.opt = _optimizer(model, config)
        self.use_amp = config.amp and device.type == "cuda" and torch.cuda.is_bf16_supported()
        # Under torchrun (core.training.distributed) the training passes go through DDP, which
        # all-reduces the gradients; the plain module validates and is saved.
        self.defense = defense = catalogue.defense(config.defense)
        if dist.active and not defense.has("ddp"):
            # Multi-step attacks would run extra forwards through DDP between its reductions.
            raise TrainingError(
                f"--ddp trains standard and WR_FGSM models; the {config.defense} defense runs "
                "on one process for now (drop --ddp, or spread runs with reproduce --executor ray)."
            )
        self.net = dist.wrap(model)
        self.wr = defense.has("defended")  # any defense is Eq. 8 with its own adversarial term
        self.augment_batch = augment.make(config.augment, getattr(train_set, "name", ""))
        self.augment_gen = torch.Generator().manual_seed(config.seed + 1)
        self.lam = 1.0 if config.reg == "literal" else config.reg_lambda
        self.weights = regularized_weights(model)
        self.batches = math.ceil(math.ceil(size(train_set) / dist.world_size) / config.batch_size)
        self.steps = config.epochs * self.batches  # for the learning-rate schedule
        self.watched = selection.watched_subset(
            val_set, selection.monitor_size(size(train_set), size(val_set), config)
        )
        self.result = TrainResult()
        self.best_state: dict | None = None
        self.best_ev: EvalResult | None = None
        self.saved_warnings: list[dict[str, str]] = []  # what the best-so-far file's card says
        # With EMA, the averaged copy is what each epoch validates, selects and saves.
        self.averaged = copy.deepcopy(model).eval() if config.ema > 0 else None
        self.scored = self.averaged if self.averaged is not None else model
        self.ema_steps = 0
        self.peak_pgd = 0.0  # the best PGD accuracy the monitor has seen so far
        self.started = time.perf_counter()
        self.train_time, self.train_images = 0.0, 0
        self.epoch_start, self.epoch_train_s = self.started, 0.0  # set by run_epoch

    def _batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's batches: this rank's shard under DDP (a DistributedSampler), else
        the whole set shuffled by the run's own generator."""
        c = self.config
        if self.dist.active:
            shard = self.dist.shard(size(self.train_set), c.batch_size, epoch=epoch, seed=c.seed)
            return (cast(ImageDataset, self.train_set).batch(idx) for idx in shard)
        return iterate_batches(self.train_set, c.batch_size, shuffle=True, generator=self.gen)

    def train_step(
        self, epoch: int, b: int, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[float, float, float, float, int]:
        """One optimizer step on a batch: Eq. 8's terms, their gradients, the scheduled
        learning rate and the EMA; returns (total, L_ori, L_adv, penalty) as numbers and
        how many of the batch the model got right, what the epoch's record sums. Refuses a non-finite loss before the step, so the weights
        (and the best-so-far file) are never those of a diverged model."""
        c, device, use_amp, net = self.config, self.device, self.use_amp, self.net
        wr, a1, a2 = self.wr, c.a1, c.a2
        if self.augment_batch is not None:
            x = self.augment_batch(x, self.augment_gen)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        self.opt.zero_grad(set_to_none=True)
        x.requires_grad_(self.defense.has("reuses_gradient") and a1 > 0)
        # With DDP and an FGSM pass to follow, the clean backward skips the
        # all-reduce (no_sync): the step synchronises once, after the FGSM pass.
        sync_later = self.dist.active and wr and a1 > 0
        with self.dist.no_sync(net) if sync_later else contextlib.nullcontext():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = net(x)
                loss_ori = F.cross_entropy(logits.float(), y)
            # One backward gives the parameter gradients of L_ori *and* x.grad,
            # the FGSM direction for this batch: no separate attack pass.
            loss_ori.backward()
        loss_adv = loss_reg = torch.zeros((), device=device)
        if wr and a1 > 0:
            ramp = (epoch - 1 + b / self.batches) / c.warmup_epochs if c.warmup_epochs else 1
            eps = c.epsilon * min(1.0, ramp)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss_adv = _adversarial_loss(net, x, y, c, eps)
            (a1 * loss_adv).backward()
        if wr and a2 > 0:  # reported only: its gradient is the optimizer's weight decay
            with torch.no_grad():
                loss_reg = self.lam * torch.stack([w.square().sum() for w in self.weights]).sum()
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
        for group in self.opt.param_groups:  # the config's schedule, set per batch
            group["lr"] = c.learning_rate((epoch - 1) * self.batches + b, self.steps)
        self.opt.step()
        if self.averaged is not None:
            _ema_update(self.averaged, self.model, c.ema, self.ema_steps)
            self.ema_steps += 1
        correct = int((logits.detach().argmax(1) == y).sum())
        return (
            float(total),
            float(loss_ori.detach()),
            float(loss_adv.detach()),
            float(loss_reg),
            correct,
        )

    def run_epoch(self, epoch: int) -> Generator[BatchProgress, None, _Sums]:
        """Train one epoch, yielding after every batch (a consumer that stops iterating
        stops here); returns the epoch's sums for its metrics."""
        self.model.train()
        sums = _Sums()
        self.epoch_start, self.epoch_train_s = time.perf_counter(), self.train_time
        for b, (x, y) in enumerate(self._batches(epoch)):
            if len(y) < 2:  # BatchNorm cannot train on a batch of one
                continue
            t0 = time.perf_counter()
            total, loss_ori, loss_adv, loss_reg, correct = self.train_step(epoch, b, x, y)
            n = len(y)
            sums.loss += total * n
            sums.ori += loss_ori * n
            sums.adv += loss_adv * n
            sums.reg += loss_reg * n
            sums.correct += correct
            sums.n += n
            self.train_time += time.perf_counter() - t0
            self.train_images += n
            yield BatchProgress(
                epoch,
                b + 1,
                self.batches,
                total,
                self.train_images / max(self.train_time, 1e-9),
                time.perf_counter() - self.started,
            )
        return sums

    def validate(self) -> Generator[EvalProgress, None, _Validation]:
        """Clean and FGSM accuracy on the whole validation set, then the PGD monitor on
        its subset (``monitor``), all on the model that is selected and saved (the EMA
        copy when there is one), as nanoGPT's ``estimate_loss`` does apart from training."""
        c = self.config
        ev = yield from evaluation(
            self.scored,
            self.val_set,
            attacks=("fgsm",),
            epsilons=(c.epsilon,),
            held_out="validation",
        )
        t_monitor = time.perf_counter()
        val_pgd = yield from self.monitor()
        return _Validation(ev, ev.acc("fgsm", c.epsilon), val_pgd, time.perf_counter() - t_monitor)

    def monitor(self) -> Generator[EvalProgress, None, float]:
        """PGD accuracy on the fixed monitor subset: what shows a defense that only looks
        robust (``selection.pgd_accuracy``, its random start seeded apart from training's)."""
        return (
            yield from selection.pgd_accuracy(self.scored, self.watched, self.config, self.device)
        )

    def select(self, epoch: int, val: _Validation) -> tuple[float, bool]:
        """The epoch's score and whether it is the best so far (then its weights are kept).

        A defended epoch whose PGD accuracy collapsed is never the best, whatever the
        score watches (clean + FGSM rises while PGD falls: issue 24, 3)."""
        c, result = self.config, self.result
        score = selection.score(c.selection, val.ev.clean, val.fgsm, val.pgd)
        collapsed = self.wr and c.epsilon > 0 and selection.pgd_collapsed(val.pgd, self.peak_pgd)
        self.peak_pgd = max(self.peak_pgd, val.pgd)
        is_best = score > result.best_score and not collapsed
        if is_best:
            result.best_epoch, result.best_score = epoch, score
            self.best_state = copy.deepcopy(self.scored.state_dict())
            self.best_ev = val.ev
        return score, is_best

    def metrics(
        self, epoch: int, sums: _Sums, val: _Validation, score: float, is_best: bool
    ) -> EpochMetrics:
        """The epoch's record (per-image means of the sums, the validation's accuracies)."""
        seen = sums.n
        return EpochMetrics(
            epoch=epoch,
            epochs=self.config.epochs,
            loss=sums.loss / seen,
            loss_ori=sums.ori / seen,
            loss_adv=sums.adv / seen,
            loss_reg=sums.reg / seen,
            train_acc=sums.correct / seen,
            val_acc=val.ev.clean,
            val_fgsm_acc=val.fgsm,
            score=score,
            is_best=is_best,
            # every rank trains an equal shard (DistributedSampler pads): the job's rate
            images_per_s=seen
            * self.dist.world_size
            / max(time.perf_counter() - self.epoch_start, 1e-9),
            elapsed_s=time.perf_counter() - self.started,
            val_pgd_acc=val.pgd,
            monitor_s=val.monitor_s,
            train_s=self.train_time - self.epoch_train_s,
        )

    def checkpoint_best(self, is_best: bool) -> None:
        """Write the best-so-far file (atomically, with its card) when there is a new best,
        or when what the monitor's findings say about it changed: its card says what the
        monitor has seen up to this epoch, as a finished model's does (issue 24, 3). An
        interrupted run so leaves its last good checkpoint."""
        result = self.result
        warned = card_warnings(result.history) if self.wr else []
        if self.save_path is None or self.card is None or not self.best_state or not self.best_ev:
            return
        if is_best or warned != self.saved_warnings:
            info = training_info(self.config, result.best_epoch)
            if warned:
                info["warnings"] = warned
            saved = replace(self.card, training=info, metrics=self.best_ev.to_dict())
            result.saved_to = save(self.save_path, self.best_state, saved)
            self.saved_warnings = warned

    def should_stop(self, epoch: int) -> bool:
        """Early stopping: ``patience`` epochs without a better score."""
        return epoch - self.result.best_epoch >= self.config.patience

    def finish(self) -> None:
        """Finished, failed or closed: the model leaves clean, with its best weights, in
        eval mode (no gradients held, nothing half-stepped)."""
        self.opt.zero_grad(set_to_none=True)
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.model.eval()
