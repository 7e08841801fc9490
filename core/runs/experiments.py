"""One training-and-evaluation run of the paper's protocol, resumable.

A ``RunSpec`` (``core.runs.spec``) names everything that decides a run's result.
``execute`` is a generator: it yields the training's events and the
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

import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from ..catalogue import defended
from ..data.extra import extra_digest, load_extra, mixed
from ..data.loaders import ImageDataset, fold_parts, stratified_sample
from ..measure.evaluation import EvalProgress, evaluation
from ..measure.robustness import worst_case
from ..models.card import ModelCard
from ..models.checkpoint import save
from ..models.networks import build
from ..training.config import BatchProgress, EpochMetrics, training_info
from ..training.distributed import SINGLE, DistContext
from ..training.loop import train
from ..training.robust_monitor import card_warnings
from .spec import RunRecord, RunSpec, Stopped

Event = BatchProgress | EvalProgress | EpochMetrics
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
