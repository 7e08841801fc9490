"""Evaluation that finds gradient masking: APGD-CE, APGD-T, Square and the per-image worst case.

A defense can look strong under FGSM and PGD only because its gradients are
useless (masked), not because it is robust. AutoAttack's protocol (Croce & Hein,
2020) catches this with attacks that need no step-size tuning (APGD with the
cross-entropy loss, APGD-T with the targeted DLR loss) and one that needs no
gradient at all (Square, a black-box random search), and counts an image as
robust only if it survives *every* attack: the per-image worst case.

The attacks come from torchattacks (``apgd_ce``, ``apgd_t``, ``square``); FGSM
and PGD are our own ``core.attacks.gradient`` (the live slider uses them; tests check
them against torchattacks). ``robust_evaluate`` returns an ``EvalResult`` whose
``attacks`` hold one entry per attack plus ``"worst-case"``, so a model card
keeps the shape ``metrics["attacks"][attack][eps]``.

``deepfool`` and ``cw_l2`` (``core.attacks.minimal``) find the
*smallest* perturbation that flips an image and return its L2 and L-inf size per
image (``MinimalPerturbation``).

``fgsm-studio-cli robustness MODEL --update-card`` (``measure_card``) measures a
bundled model on its held-out fold and writes the figures into its card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from .evaluation import EvalResult, drive, evaluation

DEFAULT_ATTACKS = ("fgsm", "pgd", "apgd-ce", "apgd-t")
KEEP_CARD_FIGURES = ("fgsm",)  # the training CLI's own figures, which --update-card keeps
CARD_PGD_STEPS = 10  # the card's "pgd" is the training CLI's 10-step PGD
TRAINING_FIGURES = ("fgsm", "pgd")  # what the training CLI writes into a card


def robust_evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    epsilons: Sequence[float] = (0.1,),
    attacks: Sequence[str] = DEFAULT_ATTACKS,
    survivors_only: Sequence[str] = (),
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 250,
    limit: int | None = None,
    **options: Any,
) -> EvalResult:
    """Accuracy clean, under each attack and in the per-image worst case, at each epsilon:
    ``core.measure.evaluation``'s one loop with ``worst_case`` on and the strong attacks' settings
    (``pgd_steps``: PGD's steps, 50 unless given; ``apgd_steps``, ``targets``, ``queries``).

    An image counts under an attack only if the model says its true label on the
    attacked image; under ``"worst-case"`` only if it does so for every attack
    (and clean). Attacks named in ``survivors_only`` run, as in AutoAttack, only
    on the images every earlier attack left standing: they count toward the worst
    case but get no figure of their own (which would not be comparable). ``transform``
    changes the images first (e.g. a fixed random shift).
    """
    steps = options.pop("pgd_steps", 50)
    result = drive(
        evaluation(
            model,
            dataset,
            attacks=attacks,
            epsilons=epsilons,
            steps=steps,
            batch_size=batch_size,
            limit=limit,
            worst_case=True,
            survivors_only=survivors_only,
            transform=transform,
            **options,
        )
    )
    return result


def _spread(dataset, limit: int | None):
    """At most ``limit`` images taken evenly through ``dataset`` (a fold is sorted by class)."""
    if limit is None or limit >= len(dataset):
        return dataset
    step = -(-len(dataset) // limit)
    return dataset.subset(list(range(0, len(dataset), step)))


# How hard ``reproduce`` looks for the worst case: "full" is the bundled cards' setting,
# "light" a cheaper one for CPU runs (fewer steps, one APGD-T target, fewer images).
WORST_CASE_SETTINGS: dict[str, dict[str, Any]] = {
    "light": dict(limit=200, pgd_steps=20, apgd_steps=20, targets=1),
    "full": dict(limit=None, pgd_steps=50, apgd_steps=50, targets=3),
}


def describe_setting(name: str) -> str:
    """One line on what a worst-case setting runs, e.g. for a report."""
    s = WORST_CASE_SETTINGS[name]
    images = (
        "every held-out image" if s["limit"] is None else f"at most {s['limit']} held-out images"
    )
    return (
        f"{name}: per image the worst of FGSM, PGD-{s['pgd_steps']}, APGD-CE ({s['apgd_steps']} "
        f"steps) and APGD-T ({s['apgd_steps']} steps, {s['targets']} target class(es), on the "
        f"survivors), on {images}"
    )


def worst_case(model: nn.Module, dataset, epsilons: Sequence[float], setting: str) -> EvalResult:
    """``robust_evaluate`` with a named setting of ``WORST_CASE_SETTINGS`` (AutoAttack's order)."""
    s = dict(WORST_CASE_SETTINGS[setting])
    return robust_evaluate(
        model,
        _spread(dataset, s.pop("limit")),
        epsilons=epsilons,
        attacks=("fgsm", "pgd", "apgd-ce"),
        survivors_only=("apgd-t",),
        **s,
    )


def card_held_out(card, fold: int | None = None):
    """The held-out images a card's own figures count: its fold of the 5,000 digits, or, for
    Fashion-MNIST (trained on the train split), the 2,000 test images committed in
    resources/data (the bundled cards' ``n``; ``tests/core/test_bundled`` checks them there)."""
    from ..data.loaders import fold_parts, load_dataset
    from ..paths import resource_path

    if card.dataset == "fashion-mnist":
        committed = resource_path("data", "fashion-mnist-test-2k")
        return load_dataset("fashion-mnist", committed, "test")
    fold = card.training.get("fold", 0) if fold is None else fold
    folds = int(card.training.get("folds", 10))
    return fold_parts(card.dataset, k=folds, fold=fold)[2]


def measure_card(
    path: Path,
    *,
    fold: int | None = None,
    epsilons: Sequence[float] = (0.1, 0.3),
    attacks: Sequence[str] = DEFAULT_ATTACKS,
    survivors_only: Sequence[str] = (),
    limit: int | None = None,
    varied: bool = False,
    varied_limit: int | None = None,
    update_card: bool = False,
    **options: int,
) -> tuple[EvalResult, EvalResult | None]:
    """Measure the checkpoint at ``path`` on its own held-out part (the card's fold, or its
    test split): plain and, with ``varied``, on shifted/rotated/thickened copies. With
    ``update_card`` the figures go into its card (the weights stay as they are); the
    card's own FGSM figures, measured on the whole held-out part, are kept.
    ``fgsm-studio-cli robustness`` runs this; ``options`` go to ``robust_evaluate``."""
    from ..data.augment import digits
    from ..models.checkpoint import load, resave

    model, card = load(path)
    fold = card.training.get("fold", 0) if fold is None else fold
    folds = int(card.training.get("folds", 10))
    test = card_held_out(card, fold)
    opts: dict[str, Any] = dict(
        epsilons=list(epsilons), attacks=list(attacks), survivors_only=list(survivors_only)
    )
    opts |= options
    plain = robust_evaluate(model, _spread(test, limit), **opts)
    metrics = dict(card.metrics)
    metrics.setdefault("attacks", {})
    pgd_steps = options.get("pgd_steps", 50)
    # One sample per row: on the card's whole held-out part (the images its FGSM and PGD
    # figures count), every figure of this run replaces the card's, and figures an earlier
    # run measured on another sample go, so a worst case never sits beside a PGD figure of
    # other images (issue 22, 5: Fashion WR_FGSM showed PGD 22.1 on 2,000, worst 23.6 on 250).
    whole = plain.n == metrics.get("n")
    if whole:
        metrics["attacks"] = {
            a: by for a, by in metrics["attacks"].items() if a in TRAINING_FIGURES
        }
    for attack, by_eps in plain.to_dict()["attacks"].items():
        # the card's "pgd" is the training CLI's 10-step PGD: keep it, add "pgd-50" beside it
        key = attack
        if attack == "pgd" and pgd_steps != CARD_PGD_STEPS:
            key = f"pgd-{pgd_steps}"
        figures = metrics["attacks"].setdefault(key, {})
        if key in KEEP_CARD_FIGURES and not whole:  # measured on the whole held-out part
            by_eps = {e: v for e, v in by_eps.items() if e not in figures}
        figures.update(by_eps)
    metrics["robustness"] = dict(
        held_out=f"fold {fold} of {folds}" if folds else "test split",
        n=plain.n,
        n_varied=varied_limit,
        same_images_as_card=whole,
        **{k: v for k, v in opts.items() if k != "epsilons"},
    )
    shifted = None
    if varied:
        gen = torch.Generator().manual_seed(1234)  # the same varied copies for every model
        shifted = robust_evaluate(
            model, _spread(test, varied_limit), transform=lambda x: digits(x, gen), **opts
        )
        metrics["varied"] = shifted.to_dict()
    if update_card:
        resave(path, model, replace(card, metrics=metrics))
    return plain, shifted
