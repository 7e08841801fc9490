"""What decides a run's result, and what a run leaves: ``RunSpec``, ``Stopped``, ``RunRecord``.

A ``RunSpec`` names everything that decides a run's result: a ``TrainConfig``
(architecture, defense, a1, penalty, epsilon, epochs, seed ...) plus the data
(dataset, folder, fold, limit, extra training images) and the held-out evaluation
(attacks, epsilons, limit); its ``key()`` names the run's record. A ``RunRecord``
is what a finished (or stopped, ``Stopped``) run leaves: its history, held-out
figures and where its model went. ``core.runs.experiments`` runs a spec.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..catalogue import defended, is_paper
from ..data.extra import extra_digest
from ..measure.evaluation import EvalResult
from ..measure.robustness import WORST_CASE_SETTINGS
from ..training.config import EpochMetrics, TrainConfig

_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


@dataclass(frozen=True)
class RunSpec:
    train: TrainConfig = TrainConfig()
    dataset: str = "mnist-5k"
    root: str | None = None  # the dataset's folder (None: bundled or system copy)
    fold: int = 0
    folds: int = 10  # 0: the dataset's own train/test split
    limit: int | None = None  # at most this many training images (quick runs)
    eval_epsilons: tuple[float, ...] = (0.1,)
    eval_attacks: tuple[str, ...] = ("fgsm", "pgd")
    eval_limit: int | None = None  # evaluate on at most this many held-out images
    worst_case: str = (
        "off"  # also the per-image worst case: "light", "full" (core.measure.robustness)
    )
    extra_train: str | None = None  # an .npz of extra training images (core.data.extra)
    world_size: int = 1  # processes training this one model (train --ddp under torchrun)
    backend: str = ""  # their process group's backend (gloo, nccl) when world_size > 1

    def __post_init__(self) -> None:
        if self.worst_case not in ("off", *WORST_CASE_SETTINGS):
            raise ValueError(
                f"Unknown worst-case setting '{self.worst_case}'; "
                f"choose from off, {', '.join(WORST_CASE_SETTINGS)}."
            )

    @classmethod
    def of(cls, **options) -> RunSpec:
        """A spec from flat options: TrainConfig's fields go to ``train``, the rest here."""
        # x + 0.0 turns -0.0 into 0.0: one value, one resume key (issue 20, 1).
        train: dict[str, Any] = {
            k: v + 0.0 if isinstance(v, float) else v
            for k in list(options)
            if k in _TRAIN_FIELDS
            for v in [options.pop(k)]
        }
        for k in ("eval_epsilons", "eval_attacks"):
            if k in options:
                options[k] = tuple(v + 0.0 if isinstance(v, float) else v for v in options[k])
        return cls(train=replace(cls.train, **train), **options)

    @property
    def a2(self) -> float:
        return self.train.a2

    def problems(self) -> list[str]:
        """Why this run should not start, one sentence each (``TrainConfig.problems``)."""
        return self.train.problems(self.dataset)

    def held_out(self) -> str:
        return f"fold {self.fold} of {self.folds}" if self.folds else "test split"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train"] = self.train.describe()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunSpec:
        """Also reads the flat form of records written before the spec composed a config."""
        d = dict(d)
        if "train" in d:
            d["train"] = TrainConfig.from_dict(d["train"])
            kwargs: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in d.items()
            }
            return cls(**kwargs)
        return cls.of(**{k: v for k, v in d.items() if k != "a2"})

    def identity(self) -> dict:
        """Everything that changes the result (the device does not), in canonical form."""
        d = self.to_dict()
        d["train"].pop("device", None)
        # Options added after records existed: left out at their default, so old keys hold.
        auto = replace(self.train, select_by="auto")
        if self.train.selection == auto.selection:
            d["train"].pop("select_by", None)
        for name, default in (
            ("monitor_images", 0),
            ("monitor_steps", 5),
            ("stem", "auto"),
            ("lr_schedule", "constant"),
            ("ema", 0.0),
        ):
            if d["train"].get(name) == default:
                d["train"].pop(name)
        if self.worst_case == "off":
            d.pop("worst_case")
        if self.world_size == 1:  # one process: as before DDP was recorded, so old keys hold
            d.pop("world_size", None)
            d.pop("backend", None)
        else:  # the global batch decides the result as much as the per-process one
            d["global_batch"] = self.train.batch_size * self.world_size
        if self.root is not None:
            d["root"] = str(Path(self.root).expanduser().resolve())
        if self.extra_train is None:  # added later: left out when unused, so old keys hold
            d.pop("extra_train", None)
        else:  # the images, not the file's name, decide the result
            d["extra_train"] = extra_digest(self.extra_train)
        return d

    def key(self) -> str:
        """A readable name plus a digest of ``identity()``: any change gives a new key."""
        t = self.train
        split = f"f{self.fold}of{self.folds}" if self.folds else "traintest"
        if is_paper(t.defense):
            defense = f"wr_a1-{t.a1:.2f}-{t.reg}"
        else:
            defense = f"{t.defense}_a1-{t.a1:.2f}" if defended(t.defense) else "std"
        lim = f"_n{self.limit}" if self.limit else ""
        lim += f"_ddp{self.world_size}{self.backend}" if self.world_size > 1 else ""
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        return (
            f"{self.dataset}_{t.arch}_{defense}_eps{t.epsilon:g}_{split}_e{t.epochs}"
            f"_lr{t.lr:g}_s{t.seed}{lim}_{digest[:10]}"
        )


@dataclass(frozen=True)
class Stopped:
    """Where a run was stopped by its user: the epoch it was in, that epoch's batches done.

    ``epoch`` 0: before the first batch; ``batch == batches``: in that epoch's
    validation (or, after the last epoch, in the held-out evaluation). ``where``:
    the sentence the window said.
    """

    epoch: int
    batch: int
    batches: int
    where: str = ""

    def words(self) -> str:
        """Short, for a CSV cell: ``epoch 3, batch 80 of 96``."""
        if self.epoch == 0:
            return "before the first batch"
        return f"epoch {self.epoch}, batch {self.batch} of {self.batches}"


@dataclass(frozen=True)
class RunRecord:
    """A run: what was asked, how training went, the held-out accuracies.

    A finished run has ``test`` (its held-out figures); a run its user stopped (the
    Train tab's Stop) has ``stopped`` instead and no ``test``: it was never evaluated
    on held-out data. Its history and best-so-far file are kept.
    """

    spec: RunSpec
    test: EvalResult | None
    n_train: int
    n_val: int
    best_epoch: int
    history: tuple[EpochMetrics, ...] = ()
    train_seconds: float = 0.0
    saved_to: str | None = None
    name: str = ""
    sweep: str = ""  # the GUI's sweep this run belongs to, if any
    robust: EvalResult | None = None  # the worst case (spec.worst_case), on its own images
    num_classes: int = 0  # of the dataset (0: unknown, records made before it was kept)
    stopped: Stopped | None = None  # set for a run its user stopped (then ``test`` is None)

    @property
    def key(self) -> str:
        return self.spec.key()

    @property
    def held_out(self) -> EvalResult:
        """The held-out figures of a finished run (a stopped run has none: ValueError)."""
        if self.test is None:
            raise ValueError(
                f"The run {self.name or self.key} was stopped: it has no held-out figures."
            )
        return self.test

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    @property
    def images_per_s(self) -> float:
        rates = [h.images_per_s for h in self.history]
        return round(float(np.mean(rates)), 1) if rates else 0.0

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "spec": self.spec.to_dict(),
            "a2": self.spec.a2,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "test": None if self.test is None else self.test.to_dict(),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "train_seconds": self.train_seconds,
            "images_per_s": self.images_per_s,
            "history": [asdict(h) for h in self.history],
            "saved_to": self.saved_to,
            "name": self.name,
            "sweep": self.sweep,
            "robust": None if self.robust is None else self.robust.to_dict(),
            "num_classes": self.num_classes,
            **({} if self.stopped is None else {"stopped": asdict(self.stopped)}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        return cls(
            spec=RunSpec.from_dict(d["spec"]),
            test=None if d["test"] is None else EvalResult.from_dict(d["test"]),
            n_train=int(d["n_train"]),
            n_val=int(d["n_val"]),
            best_epoch=int(d["best_epoch"]),
            history=tuple(EpochMetrics(**h) for h in d.get("history", [])),
            train_seconds=float(d.get("train_seconds", 0.0)),
            saved_to=d.get("saved_to"),
            name=str(d.get("name", "")),
            sweep=str(d.get("sweep", "")),
            robust=EvalResult.from_dict(d["robust"]) if d.get("robust") else None,
            num_classes=int(d.get("num_classes", 0)),
            stopped=Stopped(**d["stopped"]) if d.get("stopped") else None,
        )
