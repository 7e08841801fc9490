"""What a training run is told and what it reports: config, events, result.

``TrainConfig`` (every option that shapes a run, validated before work starts),
the events ``core.training.loop.train`` yields (``BatchProgress`` per batch,
``EpochMetrics`` per epoch), its ``TrainResult``, and ``training_info`` (how a
model was trained, for its card). Plain dataclasses, imported from here by the
trainer and by everything that reads its events. ``TrainConfig.problems`` is the one place a run's
rules are written (the CLI and the Train form show its sentences); no torch here, so
the CLI checks a run before it imports torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .. import catalogue
from ..catalogue import DEFENSES, LR_SCHEDULES, SELECT_BY, STEMS


class TrainingError(RuntimeError):
    """Training could not go on; the message is meant for the user."""


@dataclass(frozen=True)
class TrainConfig:
    arch: str = "small_cnn"
    stem: str = "auto"  # first layer of the paper's networks on small images (core.models.networks)
    defense: str = (
        "none"  # "none", "wr_fgsm", "fgsm-rs", "pgd" or "trades" (core.training.defenses)
    )
    a1: float = 0.5  # weight of the FGSM loss; a2 = 1 - a1 weighs ||W||^2
    reg: str = "scaled"  # "scaled": a2 * reg_lambda * ||W||^2; "literal": a2 * ||W||^2
    reg_lambda: float = 5e-4
    epsilon: float = 0.1  # FGSM epsilon for training and validation, in pixel units
    epochs: int = 10
    lr: float = 1e-3
    lr_schedule: str = "constant"  # "cosine": lr * (1 + cos(pi * t)) / 2, t = batches done / all
    optimizer: str = "adam"  # "adam" or "sgd" (momentum 0.9)
    batch_size: int = 32
    patience: int = 4  # early stopping: epochs without a better validation score
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bfloat16 autocast on CUDA GPUs that support it; ignored elsewhere
    augment: str = "none"  # "none", "digits", "photos" or "auto" (by dataset): core.data.augment
    attack_steps: int = 10  # steps of the pgd / trades training attack
    beta: float = 6.0  # TRADES: weight of the KL term (times a1)
    warmup_epochs: float = 0.0  # training epsilon grows linearly from 0 over this many epochs
    select_by: str = "auto"  # "clean", "clean+fgsm", "pgd"; auto: clean+fgsm with a defense
    monitor_images: int = 0  # PGD monitor's validation images (0: auto, see monitor_size)
    monitor_steps: int = 5  # PGD monitor's steps
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off)

    @property
    def selection(self) -> str:
        """What the best epoch is chosen by, "auto" resolved (as before select_by existed)."""
        if self.select_by != "auto":
            return self.select_by
        return "clean+fgsm" if catalogue.defended(self.defense) else "clean"

    @property
    def a2(self) -> float:
        return round(1.0 - self.a1, 10)

    def problems(self, dataset: str = "") -> list[str]:
        """Why this run should not start, one sentence each (empty: it may), for a run on
        ``dataset``. The CLI refuses with the first, the Train form shows it."""
        out = []
        defended = catalogue.defended(self.defense)
        if defended and self.epsilon == 0:
            out.append(
                "A defense trains on attacked images, so its training epsilon must be above 0 "
                "(0.1 is usual for digits); or choose the defense none."
            )
        if defended and self.warmup_epochs > self.epochs:
            out.append(
                f"The epsilon warm-up ({self.warmup_epochs:g} epochs) is longer than the run "
                f"({self.epochs} epochs), so training would never reach epsilon "
                f"{self.epsilon:g}: use fewer warm-up epochs or more epochs."
            )
        augment = self.augment if self.augment in catalogue.AUGMENTS else "none"
        if catalogue.entry("augment", augment).has("flips") and dataset in catalogue.DIGIT_DATASETS:
            out.append(
                "Photo augmentation flips images left to right, which turns digits into shapes "
                "that are not digits: choose auto or digits for MNIST."
            )
        try:
            self.validate()
        except ValueError as exc:
            out.append(f"These settings cannot train: {exc}.")
        return out

    def validate(self) -> None:
        """Raise ValueError on a value no run can use (``problems`` adds the domain's rules)."""
        if self.defense not in DEFENSES:
            raise ValueError(f"defense must be one of {', '.join(DEFENSES)}, not {self.defense!r}")
        catalogue.resolve_augment(self.augment)
        if self.stem not in STEMS or (self.arch.startswith("small_cnn") and self.stem != "auto"):
            raise ValueError(f"stem must be one of {', '.join(STEMS)} (auto for small_cnn)")
        if self.attack_steps < 1 or self.beta < 0 or self.warmup_epochs < 0:
            raise ValueError("attack_steps >= 1, beta >= 0 and warmup_epochs >= 0 are required")
        if not 0.0 <= self.a1 <= 1.0:
            raise ValueError(f"a1 must be between 0 and 1 (a2 = 1 - a1), not {self.a1}")
        if self.reg not in ("scaled", "literal"):
            raise ValueError(f"reg must be 'scaled' or 'literal', not {self.reg!r}")
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"epochs must be 1 to 100, not {self.epochs}")
        if self.batch_size < 2 or self.lr <= 0 or self.epsilon < 0 or self.patience < 1:
            raise ValueError("batch_size >= 2, lr > 0, epsilon >= 0 and patience >= 1 are required")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, not {self.lr_schedule!r}"
            )
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', not {self.optimizer!r}")
        if self.select_by not in SELECT_BY:
            raise ValueError(
                f"select_by must be one of {', '.join(SELECT_BY)}, not {self.select_by!r}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be 0 (off) or a decay below 1, not {self.ema}")
        if self.monitor_images < 0 or self.monitor_steps < 1:
            raise ValueError("monitor_images >= 0 and monitor_steps >= 1 are required")

    def learning_rate(self, step: int, steps: int) -> float:
        """The learning rate of batch ``step`` (0-based) of a run of ``steps`` batches."""
        if self.lr_schedule == "constant" or steps <= 1:
            return self.lr
        return self.lr * (1 + math.cos(math.pi * min(step, steps) / steps)) / 2

    def describe(self) -> dict:
        d = asdict(self)
        d["a2"] = self.a2
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The config described by ``describe()`` (or a card's ``training``); extra keys ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


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
    val_pgd_acc: float | None = None  # PGD monitor (None in records made before it)
    monitor_s: float = 0.0  # seconds the PGD monitor took this epoch
    train_s: float = 0.0  # seconds of training (batches only) this epoch


@dataclass
class TrainResult:
    best_epoch: int = 0
    best_score: float = -1.0
    early_stopped: bool = False
    history: list[EpochMetrics] = field(default_factory=list)
    saved_to: Path | None = None


def training_info(config: TrainConfig, best_epoch: int) -> dict:
    """How a model was trained, for its card (machine-specific settings left out)."""
    info = config.describe()
    info["best_epoch"] = best_epoch
    info["selected_by"] = config.selection
    info.pop("device", None)
    return info
