"""Training, standard or WR_FGSM-defended, as a generator that knows nothing of threads.

``train(model, train_set, val_set, config)`` yields a ``BatchProgress`` every
``config.progress_every`` batches and an ``EpochMetrics`` after every epoch,
and returns a ``TrainResult``. A stop request (``stop``: a
``threading.Event`` or a callable) is honoured before the next batch. The
best epoch's weights are kept in memory, put back into ``model`` at the end,
and, with ``save_path``, saved atomically with their card each time a new best
is found, so an interrupted run leaves its last good checkpoint intact.

WR_FGSM is the paper's Eq. 8:  L = L_ori + a1 * L_adv_FGSM + a2 * lambda * ||W||^2,
with a2 = 1 - a1. W is every conv and linear weight (``models.regularized_weights``:
no biases, no BatchNorm parameters). ``reg="literal"`` uses lambda = 1, the
equation taken literally; ``reg="scaled"`` (default) uses lambda = ``reg_lambda``
(5e-4, weight-decay size), because the literal form with a2 >= 0.5 drives the
weights to zero and the model to chance. Each batch's FGSM example comes from
the input gradient of the clean pass's own backward (``x.grad``), so a batch
costs 2 forwards + 2 backwards: about twice a clean batch, no extra attack pass.
The penalty's gradient (2 * a2 * lambda * W) is added to the weight gradients
directly, which is exactly the gradient of the term without a graph over W.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from fgsm_studio.core.checkpoint import ModelCard, save
from fgsm_studio.core.devices import pick_device
from fgsm_studio.core.evaluation import evaluate, iterate_batches
from fgsm_studio.core.models import regularized_weights


class TrainingError(RuntimeError):
    """Training could not go on; the message is meant for the user."""


@dataclass
class TrainConfig:
    arch: str = "small_cnn"
    defense: str = "none"  # "none" or "wr_fgsm"
    a1: float = 0.5  # weight of the FGSM loss; a2 = 1 - a1 weighs ||W||^2
    reg: str = "scaled"  # "scaled": a2 * reg_lambda * ||W||^2; "literal": a2 * ||W||^2
    reg_lambda: float = 5e-4
    epsilon: float = 0.1  # FGSM epsilon for training and validation, in pixel units
    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" or "sgd" (momentum 0.9)
    batch_size: int = 32
    patience: int = 5  # early stopping: epochs without a better validation score
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bfloat16 autocast on CUDA GPUs that support it; ignored elsewhere
    threads: int | None = None  # CPU threads for torch; None leaves torch's default
    progress_every: int = 20

    @property
    def a2(self) -> float:
        return round(1.0 - self.a1, 10)

    def validate(self) -> None:
        if self.defense not in ("none", "wr_fgsm"):
            raise ValueError(f"defense must be 'none' or 'wr_fgsm', not {self.defense!r}")
        if not 0.0 <= self.a1 <= 1.0:
            raise ValueError(f"a1 must be between 0 and 1 (a2 = 1 - a1), not {self.a1}")
        if self.reg not in ("scaled", "literal"):
            raise ValueError(f"reg must be 'scaled' or 'literal', not {self.reg!r}")
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"epochs must be 1 to 100, not {self.epochs}")
        if self.batch_size < 2 or self.lr <= 0 or self.epsilon < 0 or self.patience < 1:
            raise ValueError("batch_size >= 2, lr > 0, epsilon >= 0 and patience >= 1 are required")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', not {self.optimizer!r}")

    def describe(self) -> dict:
        d = asdict(self)
        d["a2"] = self.a2
        return d


@dataclass(frozen=True)
class BatchProgress:
    epoch: int
    batch: int
    batches: int
    loss: float
    images_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    epochs: int
    loss: float  # mean total loss
    loss_ori: float
    loss_adv: float  # mean FGSM cross-entropy (0 without the defense)
    loss_reg: float  # mean lambda * ||W||^2 (before the a2 factor)
    train_acc: float
    val_acc: float
    val_fgsm_acc: float
    score: float  # what early stopping watches
    is_best: bool
    images_per_s: float
    elapsed_s: float


@dataclass
class TrainResult:
    best_epoch: int = 0
    best_score: float = -1.0
    stopped: bool = False
    early_stopped: bool = False
    history: list[EpochMetrics] = field(default_factory=list)
    saved_to: Path | None = None


def _stop_fn(stop: threading.Event | Callable[[], bool] | None) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    return stop.is_set if hasattr(stop, "is_set") else stop


def train(
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    *,
    stop: threading.Event | Callable[[], bool] | None = None,
    save_path: str | Path | None = None,
    card: ModelCard | None = None,
) -> Generator[BatchProgress | EpochMetrics, None, TrainResult]:
    config.validate()
    should_stop = _stop_fn(stop)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(device)
    if config.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    use_amp = config.amp and device.type == "cuda" and torch.cuda.is_bf16_supported()
    wr = config.defense == "wr_fgsm"
    a1, a2 = config.a1, config.a2
    lam = 1.0 if config.reg == "literal" else config.reg_lambda
    weights = regularized_weights(model)
    batches = math.ceil(len(train_set) / config.batch_size)
    result = TrainResult()
    best_state = None
    started = time.perf_counter()
    train_time, train_images = 0.0, 0

    for epoch in range(1, config.epochs + 1):
        model.train()
        sums = dict(loss=0.0, ori=0.0, adv=0.0, reg=0.0, correct=0, n=0)
        epoch_start = time.perf_counter()
        for b, (x, y) in enumerate(
            iterate_batches(train_set, config.batch_size, shuffle=True, generator=gen)
        ):
            if should_stop():
                result.stopped = True
                break
            if len(y) < 2:  # BatchNorm cannot train on a batch of one
                continue
            t0 = time.perf_counter()
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            x.requires_grad_(wr and a1 > 0)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(x)
                loss_ori = F.cross_entropy(logits.float(), y)
            # One backward gives the parameter gradients of L_ori *and* x.grad,
            # the FGSM direction for this batch: no separate attack pass.
            loss_ori.backward()
            loss_adv = loss_reg = torch.zeros((), device=device)
            if wr and a1 > 0:
                x_adv = (x.detach() + config.epsilon * x.grad.sign()).clamp_(0, 1)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss_adv = F.cross_entropy(model(x_adv).float(), y)
                (a1 * loss_adv).backward()
            if wr and a2 > 0:
                # The penalty's exact gradient, d(a2 * lam * ||W||^2)/dW = 2 * a2 * lam * W,
                # added in place: the same update as back-propagating the term, without
                # building a graph over every weight on every batch.
                with torch.no_grad():
                    loss_reg = lam * torch.stack(torch._foreach_norm(weights)).square().sum()
                    used = [w for w in weights if w.grad is not None]
                    torch._foreach_add_([w.grad for w in used], used, alpha=2 * a2 * lam)
            total = (
                loss_ori.detach() + a1 * loss_adv.detach() + a2 * loss_reg.detach()
                if wr
                else loss_ori.detach()
            )
            if not torch.isfinite(total):
                raise TrainingError(
                    f"The loss became {float(total)} at epoch {epoch}, batch {b + 1}. "
                    "Training stopped; try a lower learning rate. The last good checkpoint is kept."
                )
            opt.step()
            n = len(y)
            sums["loss"] += float(total) * n
            sums["ori"] += float(loss_ori.detach()) * n
            sums["adv"] += float(loss_adv.detach()) * n
            sums["reg"] += float(loss_reg.detach()) * n
            sums["correct"] += int((logits.detach().argmax(1) == y).sum())
            sums["n"] += n
            train_time += time.perf_counter() - t0
            train_images += n
            if (b + 1) % config.progress_every == 0:
                yield BatchProgress(
                    epoch,
                    b + 1,
                    batches,
                    float(total),
                    train_images / max(train_time, 1e-9),
                    time.perf_counter() - started,
                )
        if result.stopped or sums["n"] == 0:
            break
        ev = evaluate(model, val_set, attacks=("fgsm",), epsilons=(config.epsilon,))
        val_fgsm = ev.acc("fgsm", config.epsilon)
        score = (ev.clean + val_fgsm) / 2 if wr else ev.clean
        is_best = score > result.best_score
        if is_best:
            result.best_epoch, result.best_score = epoch, score
            best_state = copy.deepcopy(model.state_dict())
            if save_path is not None and card is not None:
                saved = replace(
                    card,
                    training=training_info(config, epoch),
                    metrics={
                        "validation": {
                            "clean": ev.clean,
                            "fgsm": val_fgsm,
                            "epsilon": config.epsilon,
                            "n": ev.n,
                        }
                    },
                )
                result.saved_to = save(save_path, model, saved)
        n = sums["n"]
        metrics = EpochMetrics(
            epoch=epoch,
            epochs=config.epochs,
            loss=sums["loss"] / n,
            loss_ori=sums["ori"] / n,
            loss_adv=sums["adv"] / n,
            loss_reg=sums["reg"] / n,
            train_acc=sums["correct"] / n,
            val_acc=ev.clean,
            val_fgsm_acc=val_fgsm,
            score=score,
            is_best=is_best,
            images_per_s=n / max(time.perf_counter() - epoch_start, 1e-9),
            elapsed_s=time.perf_counter() - started,
        )
        result.history.append(metrics)
        yield metrics
        if epoch - result.best_epoch >= config.patience:
            result.early_stopped = True
            break
    opt.zero_grad(set_to_none=True)  # free the gradients; the model leaves clean
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def training_info(config: TrainConfig, best_epoch: int) -> dict:
    """How a model was trained, for its card (machine-specific settings left out)."""
    info = config.describe()
    info["best_epoch"] = best_epoch
    for key in ("device", "threads", "progress_every"):
        info.pop(key, None)
    return info


def run(
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    on_event: Callable[[BatchProgress | EpochMetrics], None] | None = None,
    **kwargs,
) -> TrainResult:
    """Drive ``train`` to the end (for scripts and tests) and return its result."""
    gen = train(model, train_set, val_set, config, **kwargs)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            return done.value
        if on_event is not None:
            on_event(event)


def warm_up() -> None:
    """Import what the first optimizer imports (torch._dynamo, about 1 s) ahead of time.

    Importing holds the interpreter for long stretches; done while the app is
    idle, the first training run starts without freezing the window.
    """
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
