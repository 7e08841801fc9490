"""One training-and-evaluation run of the paper's protocol, resumable.

A ``RunSpec`` names everything that decides a run's result (dataset, fold,
architecture, defense, a1, penalty form, training epsilon, epochs, seed ...).
``execute`` loads the split, trains, evaluates the best epoch's model on the
held-out part (clean, and FGSM / PGD / BIM at every evaluation epsilon) and
writes the result as JSON under ``out/runs/<key>.json``; a run whose JSON
exists is skipped, so an interrupted ``reproduce`` resumes where it stopped.

Splits: with ``folds > 0`` the paper's k-fold rounds (``data.folds``); with
``folds == 0`` the dataset's own train/test split, validating on a stratified
tenth of the training set (Fashion-MNIST, MNIST, CIFAR-10).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from fgsm_studio.core.checkpoint import ModelCard
from fgsm_studio.core.data import ImageDataset, folds, load_dataset, stratified_sample
from fgsm_studio.core.evaluation import evaluate
from fgsm_studio.core.models import build
from fgsm_studio.core.training import EpochMetrics, TrainConfig, train, training_info


@dataclass(frozen=True)
class RunSpec:
    dataset: str = "mnist-5k"
    arch: str = "small_cnn"
    defense: str = "none"
    a1: float = 0.5
    reg: str = "scaled"
    epsilon: float = 0.1  # training epsilon (WR_FGSM) and validation FGSM epsilon
    fold: int = 0
    folds: int = 10  # 0: the dataset's own train/test split
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    patience: int = 4
    seed: int = 0
    limit: int | None = None  # at most this many training images (quick runs)

    @property
    def a2(self) -> float:
        return round(1 - self.a1, 10)

    def key(self) -> str:
        split = f"f{self.fold}of{self.folds}" if self.folds else "traintest"
        defense = f"wr_a1-{self.a1:.2f}-{self.reg}" if self.defense == "wr_fgsm" else "std"
        lim = f"_n{self.limit}" if self.limit else ""
        return (
            f"{self.dataset}_{self.arch}_{defense}_eps{self.epsilon:g}_{split}_e{self.epochs}"
            f"_lr{self.lr:g}_s{self.seed}{lim}"
        )

    def train_config(self, device: str = "auto", threads: int | None = None) -> TrainConfig:
        return TrainConfig(
            arch=self.arch,
            defense=self.defense,
            a1=self.a1,
            reg=self.reg,
            epsilon=self.epsilon,
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            patience=self.patience,
            seed=self.seed,
            device=device,
            threads=threads,
        )


_CACHE: dict[tuple, ImageDataset] = {}


def load_cached(name: str, root: str | None, split: str) -> ImageDataset:
    key = (name, root, split)
    if root is not None and not Path(root).exists():
        _CACHE.pop(key, None)  # the folder is gone: say so, do not train on a stale copy
    if key not in _CACHE:
        _CACHE[key] = load_dataset(name, root, split)
    return _CACHE[key]


def splits(
    spec: RunSpec, root: str | None = None
) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
    """(train, validation, test) for the run's fold or train/test split."""
    if spec.folds:
        ds = load_cached(spec.dataset, root, "all")
        if ds.subjects is not None and len(set(ds.subjects.tolist())) < spec.folds:
            ds = ds.subset(range(len(ds)))  # too few people for a part each: split by class
            ds.subjects = None
        f = folds(ds, k=spec.folds, seed=spec.seed)[spec.fold]
        train_set, val, test = ds.subset(f.train), ds.subset(f.val), ds.subset(f.test)
    else:
        full = load_cached(spec.dataset, root, "train")
        f = folds(full, k=10, seed=spec.seed)[0]
        train_set = full.subset(np.sort(np.concatenate([f.train, f.test])))
        val, test = full.subset(f.val), load_cached(spec.dataset, root, "test")
    if spec.limit and len(train_set) > spec.limit:
        train_set = train_set.subset(stratified_sample(train_set, spec.limit, spec.seed))
    return train_set, val, test


def card_for(spec: RunSpec, data: ImageDataset) -> ModelCard:
    mean, std = data.mean_std()
    return ModelCard(
        arch=spec.arch,
        num_classes=len(data.class_names),
        class_names=list(data.class_names),
        in_channels=data.channels,
        image_size=data.image_size,
        mean=mean,
        std=std,
        dataset=spec.dataset,
    )


def execute(
    spec: RunSpec,
    out_dir: str | Path,
    *,
    eval_epsilons: tuple[float, ...] = (0.1,),
    eval_attacks: tuple[str, ...] = ("fgsm", "pgd"),
    root: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    save_model: str | Path | None = None,
    eval_limit: int | None = None,
    on_event: Callable[[object], None] | None = None,
    stop: Callable[[], bool] | None = None,
    name: str = "",
) -> dict:
    """Train and evaluate one run, or return its saved result if it already ran.

    With ``save_model``, every new best epoch is saved as it happens (so a run
    stopped halfway keeps its last good checkpoint) and the final file carries the
    held-out accuracies. A stopped run is not recorded as finished.
    """
    runs = Path(out_dir) / "runs"
    done = runs / f"{spec.key()}.json"
    if done.is_file() and save_model is None:
        return json.loads(done.read_text())
    train_set, val, test = splits(spec, root)
    card = replace(card_for(spec, train_set), name=name)
    torch.manual_seed(spec.seed)
    model = build(
        spec.arch,
        num_classes=card.num_classes,
        in_channels=card.in_channels,
        image_size=card.image_size,
        mean=card.mean,
        std=card.std,
    )
    started = time.perf_counter()
    gen = train(
        model,
        train_set,
        val,
        spec.train_config(device, threads),
        stop=stop,
        save_path=save_model,
        card=card,
    )
    history: list[dict] = []
    while True:
        try:
            event = next(gen)
        except StopIteration as finished:
            result = finished.value
            break
        if isinstance(event, EpochMetrics):
            history.append(asdict(event))
        if on_event:
            on_event(event)
    train_s = time.perf_counter() - started
    if result.best_epoch == 0:  # stopped before a single epoch finished: nothing to keep
        return {"key": spec.key(), "spec": asdict(spec), "stopped": True, "history": history}
    if eval_limit:  # a stratified sample: the first n of a class-sorted set is one class
        test = test.subset(stratified_sample(test, eval_limit, spec.seed))
    ev = evaluate(model, test, attacks=eval_attacks, epsilons=eval_epsilons)
    record = {
        "key": spec.key(),
        "spec": asdict(spec),
        "a2": spec.a2,
        "n_train": len(train_set),
        "n_val": len(val),
        "test": ev.to_dict(),
        "best_epoch": result.best_epoch,
        "epochs_run": len(history),
        "train_seconds": round(train_s, 1),
        "images_per_s": round(float(np.mean([h["images_per_s"] for h in history])), 1)
        if history
        else 0.0,
        "history": history,
        "stopped": result.stopped,
    }
    if save_model is not None:
        from fgsm_studio.core.checkpoint import save

        info = training_info(spec.train_config(), result.best_epoch)
        info.update(fold=spec.fold, folds=spec.folds)
        metrics = ev.to_dict()
        metrics["held_out"] = f"fold {spec.fold} of {spec.folds}" if spec.folds else "test split"
        card = replace(card, training=info, metrics=metrics)
        save(save_model, model, card, half=True)
        record["saved_to"] = str(save_model)
    if result.stopped:
        return record
    runs.mkdir(parents=True, exist_ok=True)
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, done)
    return record
