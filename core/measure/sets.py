"""Measure a model where its card cannot flatter it: other writers' digits and its own fold.

``measure(model, dataset)`` runs, on one sample of images (the same images for
every column of a row), AutoAttack's order of attacks at each epsilon: FGSM,
PGD-50 (random start) and APGD-CE (100 steps) on every image, each with its own
figure; then APGD-T (the targeted DLR loss, 3 target classes, 100 steps) on the
images all of those left standing, and Square (1,000 queries, no gradient) on
what is left after that. The figures of the last two are *cumulative*: ``+apgd-t``
is the accuracy after FGSM, PGD, APGD-CE and APGD-T; ``+square`` after all five,
which is the per-image worst case (``worst-case``). An image counts only if the
model is also right on it clean.

Sets (``SETS``): ``optdigits``, ``fonts``, ``draw`` and ``mnist-test`` (``core.data.other_writers``,
never trained on) and ``own`` (the held-out part named in the model's card). A sample
of ``limit`` images is stratified by class with a fixed seed, so every model is
measured on the same images of a set.

``python -m fgsm_studio.core.measure.sets`` (and ``fgsm-studio-cli measure``) append
one JSON line per (model, set) to a results file, skipping pairs already there,
so several processes can share the work and an interrupted run resumes;
``--publish`` writes the figures into each card (``metrics["other_writers"]``)
and the Markdown tables (``core.measure.report``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..attacks.gradient import evaluating, resolve
from ..data.dataset import ImageDataset, stratified_sample
from .evaluation import iterate_batches

SETS = ("optdigits", "fonts", "draw", "mnist-test", "own")
OWN_FIGURES = ("fgsm", "pgd", "apgd-ce")  # every image, a figure each
ON_SURVIVORS = ("apgd-t", "square")  # only on the images still standing; cumulative figures
WORST_CASE = "worst-case"
DEFAULTS = dict(pgd_steps=50, apgd_steps=100, targets=3, queries=1000)


@dataclass(frozen=True)
class Measurement:
    """One row: a model on one sample of a set, every figure on the same ``n`` images."""

    model: str  # the checkpoint's file name
    set: str
    n: int
    clean: float
    attacks: dict[str, dict[float, float]]  # fgsm, pgd-50, apgd-ce, +apgd-t, +square, worst-case
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["attacks"] = {a: {str(e): v for e, v in by.items()} for a, by in self.attacks.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Measurement:
        attacks = {a: {float(e): v for e, v in by.items()} for a, by in d["attacks"].items()}
        return cls(**{**d, "attacks": attacks})

    def acc(self, attack: str, eps: float) -> float | None:
        return self.attacks.get(attack, {}).get(float(eps))


def measure(
    model: nn.Module,
    dataset: ImageDataset,
    *,
    epsilons: Sequence[float] = (0.1, 0.3),
    square: bool = True,
    batch_size: int = 100,
    name: str = "",
    set_name: str = "",
    **options: int,
) -> Measurement:
    """Clean, FGSM, PGD, APGD-CE, then APGD-T and Square on the survivors (see the module doc)."""
    opts = {**DEFAULTS, **options}
    chain = [*OWN_FIGURES, *(a for a in ON_SURVIVORS if square or a != "square")]
    fns = {
        a: resolve(
            a,
            steps=opts["pgd_steps"],
            apgd_steps=opts["apgd_steps"],
            targets=opts["targets"],
            queries=opts["queries"],
        )
        for a in chain
    }
    labels = {a: (f"pgd-{opts['pgd_steps']}" if a == "pgd" else a) for a in OWN_FIGURES}
    labels.update({a: f"+{a}" for a in ON_SURVIVORS})
    eps_list = [float(e) for e in epsilons]
    counts = {labels[a]: dict.fromkeys(eps_list, 0) for a in chain}
    counts[WORST_CASE] = dict.fromkeys(eps_list, 0)
    device = next(model.parameters()).device
    clean, seen, started = 0, 0, time.perf_counter()
    with evaluating(model):
        for x, y in iterate_batches(dataset, batch_size):
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                right = model(x).argmax(1) == y
            clean += int(right.sum())
            for eps in eps_list:
                standing = right.clone()
                for a in chain:
                    if a in ON_SURVIVORS:
                        idx = standing.nonzero().flatten()
                        if len(idx):
                            adv = fns[a](model, x[idx], y[idx], eps)
                            with torch.no_grad():
                                standing[idx] &= model(adv).argmax(1) == y[idx]
                        counts[labels[a]][eps] += int(standing.sum())
                        continue
                    adv = fns[a](model, x, y, eps)
                    with torch.no_grad():
                        ok = (model(adv).argmax(1) == y) & right
                    counts[labels[a]][eps] += int(ok.sum())
                    standing &= ok
                counts[WORST_CASE][eps] += int(standing.sum())
            seen += len(y)
    if seen == 0:
        raise ValueError("There are no images to measure on.")
    return Measurement(
        model=name,
        set=set_name or getattr(dataset, "name", ""),
        n=seen,
        clean=clean / seen,
        attacks={a: {e: c / seen for e, c in by.items()} for a, by in counts.items()},
        settings={**opts, "square": square, "epsilons": eps_list},
        seconds=time.perf_counter() - started,
    )


def sample(dataset: ImageDataset, limit: int | None, seed: int = 0) -> ImageDataset:
    """``limit`` images stratified by class (the whole set when ``limit`` is None or larger)."""
    if limit is None or limit >= len(dataset):
        return dataset
    return dataset.subset(stratified_sample(dataset, limit, seed))


def load_set(name: str, card) -> ImageDataset:
    """The set ``name``: an other-writers set, or ``own``: the held-out part in ``card``."""
    if name == "own":
        from ..data.loaders import fold_parts

        fold = int(card.training.get("fold", 0))
        folds = int(card.training.get("folds", 10))
        _, _, test = fold_parts(card.dataset, k=folds, fold=fold)
        test.name = f"own ({f'fold {fold} of {folds}' if folds else 'test split'})"
        return test
    from ..data.other_writers import load

    return load(name)


def done_pairs(results: Path) -> set[tuple[str, str]]:
    """(model, set) pairs already in a results file (JSON lines)."""
    if not results.exists():
        return set()
    return {(d["model"], d["set"]) for d in read_results(results, raw=True)}


def read_results(results: Path, raw: bool = False) -> list:
    """The measurements in a results file, the last one of each (model, set) pair."""
    rows: dict[tuple[str, str], dict] = {}
    for line in Path(results).read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            rows[(d["model"], d["set"])] = d
    return list(rows.values()) if raw else [Measurement.from_dict(d) for d in rows.values()]


def append_result(results: Path, m: Measurement) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as f:  # one short line per write: safe to share between processes
        f.write(json.dumps(m.to_dict()) + "\n")
