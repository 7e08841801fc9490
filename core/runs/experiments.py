"""One training-and-evaluation run of the paper's protocol, resumable.

A ``RunSpec`` names everything that decides a run's result: a ``TrainConfig``
(architecture, defense, a1, penalty, epsilon, epochs, seed ...) plus the data
(dataset, folder, fold, limit) and the held-out evaluation (attacks, epsilons,
limit). ``execute`` is a generator: it yields the training's events and the
held-out evaluation's ``EvalProgress`` and returns a ``RunRecord``. Stop it by
no longer iterating (``close()``): nothing more runs than the batch in hand.

With ``save_model``, every new best epoch goes to its own file beside it
(``best_so_far_path``); ``save_model`` itself is replaced only when the run
finishes, with the held-out accuracies in its card. With ``out_dir``, a finished
run is written as ``out_dir/runs/<key>.json`` and skipped next time, so an
interrupted ``reproduce`` resumes where it stopped.

Splits: with ``folds > 0`` the paper's k-fold rounds (``data.folds``); with
``folds == 0`` the dataset's own train/test split, validating on a stratified
tenth of the training set (Fashion-MNIST, MNIST, CIFAR-10).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..catalogue import defended, is_paper
from ..data.extra import extra_digest, load_extra, mixed
from ..data.loaders import ImageDataset, fold_parts, stratified_sample
from ..measure.evaluation import EvalProgress, EvalResult, evaluation
from ..measure.robustness import WORST_CASE_SETTINGS, worst_case
from ..models.card import ModelCard
from ..models.checkpoint import save
from ..models.networks import build
from ..training.config import BatchProgress, EpochMetrics, TrainConfig, training_info
from ..training.distributed import SINGLE, DistContext
from ..training.loop import train
from ..training.robust_monitor import card_warnings

Event = BatchProgress | EvalProgress | EpochMetrics
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


_RESUME_MUST_MATCH = ("arch", "defense", "a1", "reg", "epsilon", "seed", "batch_size", "lr")


def _resume_into(model: torch.nn.Module, path: str | Path, spec: RunSpec) -> int:
    """Load a best-so-far file's weights into ``model``; the epoch to go on from."""
    from ..models.checkpoint import load

    saved, card = load(path)
    info = card.training or {}
    differ = [
        f"{k} {info[k]} (not {getattr(spec.train, k)})"
        for k in _RESUME_MUST_MATCH
        if k in info and info[k] != getattr(spec.train, k)
    ]
    if card.arch != spec.train.arch or "best_epoch" not in info or differ:
        why = ", ".join(differ) or "it does not say which epoch it holds"
        raise ValueError(
            f"Cannot resume from {path}: it was trained with other options ({why}); "
            "resume with the options of the interrupted run."
        )
    model.load_state_dict(saved.state_dict())
    return int(info["best_epoch"]) + 1


def best_so_far_path(path: str | Path) -> Path:
    """Where a run keeps its best epoch until it finishes: ``x.best-so-far.safetensors``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.best-so-far{path.suffix}")


def check_out_path(path: str | Path) -> Path:
    """``path`` and its best-so-far file must be regular files (or not exist yet)."""
    path = Path(path)
    for p in (path, best_so_far_path(path)):
        if (p.exists() or p.is_symlink()) and (p.is_symlink() or not p.is_file()):
            raise ValueError(
                f"The checkpoint path {p} exists and is not a regular file; "
                "choose a new file name (e.g. model.safetensors)."
            )
    return path


def splits(spec: RunSpec) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
    """(train, validation, test) for the run's fold or train/test split."""
    return fold_parts(
        spec.dataset,
        spec.root,
        k=spec.folds,
        fold=spec.fold,
        seed=spec.train.seed,
        limit=spec.limit,
    )


def card_for(spec: RunSpec, data: ImageDataset) -> ModelCard:
    mean, std = data.mean_std()
    return ModelCard(
        arch=spec.train.arch,
        num_classes=len(data.class_names),
        class_names=list(data.class_names),
        in_channels=data.channels,
        image_size=data.image_size,
        mean=mean,
        std=std,
        dataset=spec.dataset,
        stem=spec.train.stem,
    )


def execute(
    spec: RunSpec,
    out_dir: str | Path | None = None,
    *,
    save_model: str | Path | None = None,
    name: str = "",
    dist: DistContext = SINGLE,
    resume: str | Path | None = None,
) -> Generator[Event, None, RunRecord | None]:
    """Train and evaluate one run (a generator of its events), or return its saved record.

    Under torchrun (``dist`` active) every rank trains; rank 0 alone evaluates on the
    held-out part, saves and writes the record, and the other ranks return None.
    ``resume``: a best-so-far file of this run; its weights, and training goes on
    from the epoch after its best one (the optimizer starts afresh).
    """
    from .records import RecordError, read_record, write_record

    done = Path(out_dir) / "runs" / f"{spec.key()}.json" if out_dir is not None else None
    if done is not None and (done.is_symlink() or (done.exists() and not done.is_file())):
        raise ValueError(  # refused before training, not when the record is written
            f"The run record path {done} exists and is not a regular file; move or remove it."
        )
    if done is not None and done.is_file() and save_model is None:
        try:
            found = read_record(done, spec)
            if found.test is not None:  # a stopped run's record is not a finished run's
                return found
        except RecordError as exc:  # damaged: made again, and said
            logging.getLogger(__name__).warning("%s It is made again.", exc)
    partial = None
    if save_model is not None:
        save_model = check_out_path(save_model)
        partial = best_so_far_path(save_model)
    train_set, val, test = splits(spec)
    card = replace(card_for(spec, train_set), name=name)  # normalised by the real images
    extra_info = None
    if spec.extra_train is not None:
        extra, about = load_extra(spec.extra_train, train_set)
        train_set = mixed(train_set, extra)
        extra_info = {
            "file": Path(spec.extra_train).name,
            "sha256": extra_digest(spec.extra_train),
            "n": len(extra),
            **({"about": about} if about else {}),
        }
    torch.manual_seed(spec.train.seed)
    model = build(
        spec.train.arch,
        num_classes=card.num_classes,
        in_channels=card.in_channels,
        image_size=card.image_size,
        mean=card.mean,
        std=card.std,
        stem=card.stem,
    )
    start = 1
    if resume is not None:
        start = _resume_into(model, resume, spec)
    started = time.perf_counter()
    result = yield from train(
        model,
        train_set,
        val,
        spec.train,
        save_path=partial if dist.is_main else None,
        card=card,
        dist=dist,
        start_epoch=start,
    )
    train_s = time.perf_counter() - started
    if not dist.is_main:
        return None
    if spec.eval_limit:  # a stratified sample: the first n of a class-sorted set is one class
        test = test.subset(stratified_sample(test, spec.eval_limit, spec.train.seed))
    ev = yield from evaluation(
        model,
        test,
        attacks=spec.eval_attacks,
        epsilons=spec.eval_epsilons,
        held_out=spec.held_out(),
    )
    robust = None
    if spec.worst_case != "off":  # not a generator: no progress events while it runs
        robust = worst_case(model, test, spec.eval_epsilons, spec.worst_case)
        robust = replace(robust, held_out=spec.held_out())
    record = RunRecord(
        spec=spec,
        robust=robust,
        test=ev,
        n_train=len(train_set),
        n_val=len(val),
        best_epoch=result.best_epoch or start - 1,
        history=tuple(result.history),
        train_seconds=round(train_s, 1),
        name=name,
        num_classes=card.num_classes,
    )
    if save_model is not None:
        info = training_info(spec.train, result.best_epoch or start - 1)
        info.update(fold=spec.fold, folds=spec.folds)
        if extra_info is not None:  # generated images joined the training part: the card says so
            info["extra_train"] = extra_info
        if spec.world_size > 1:  # train --ddp: how many processes, the batch they made together
            info.update(
                world_size=spec.world_size,
                global_batch=spec.train.batch_size * spec.world_size,
                backend=spec.backend,
            )
        warned = run_warnings(record)
        if warned:  # "only looks robust" and the like: the card says it too (issue 24, 3)
            info["warnings"] = warned
        save(save_model, model, replace(card, training=info, metrics=ev.to_dict()), half=True)
        if partial is not None:  # the finished model replaces the best-so-far file
            partial.unlink(missing_ok=True)
        record = replace(record, saved_to=str(save_model))
    if done is not None:
        write_record(done, record)
    return record


def stopped_record(
    spec: RunSpec,
    history: Sequence[EpochMetrics],
    stopped: Stopped,
    *,
    name: str = "",
    sweep: str = "",
    saved_to: str | None = None,
    train_seconds: float = 0.0,
) -> RunRecord:
    """The record of a run its user stopped: its validated epochs, where it stopped, its
    best-so-far file (``saved_to``), and no held-out figures (it never reached them)."""
    try:  # the sizes of its data (cached from the run itself)
        train_set, val, _ = splits(spec)
        sizes = (len(train_set), len(val), len(train_set.class_names))
    except (OSError, ValueError):  # the folder went away since: unknown
        sizes = (0, 0, 0)
    best = [h.epoch for h in history if h.is_best]
    return RunRecord(
        spec=spec,
        test=None,
        n_train=sizes[0],
        n_val=sizes[1],
        best_epoch=best[-1] if best else 0,
        history=tuple(history),
        train_seconds=round(train_seconds, 1),
        saved_to=saved_to,
        name=name,
        sweep=sweep,
        num_classes=sizes[2],
        stopped=stopped,
    )


def run_warnings(record: RunRecord) -> list[dict[str, str]]:
    """What ``core.training.robust_monitor`` found in the run's history (only looks robust, label
    leaking, PGD collapse), as ``{"kind", "text"}``: for the card, the table and the CSV."""
    if not defended(record.spec.train.defense):
        return []
    return card_warnings(record.history)
