"""The options of ``fgsm-studio-cli train`` and those every training command shares.

``common`` adds the options of anything that trains (train, sweep, reproduce):
data, folds, the optimizer's numbers, limits, evaluation attacks, threads; their
defaults are ``TrainConfig``'s (``DEFAULT``), the one place a run's defaults are
written. ``add_train`` adds the train subcommand: one model, its defense and the
training options the sweep does not vary.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..catalogue import (
    ATTACKS,
    AUGMENTS,
    DATASETS,
    DEFENSES,
    LR_SCHEDULES,
    SELECT_BY,
    STEMS,
    TRAINABLE,
)
from ..training.config import TrainConfig
from .values import (
    CORES,
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_FOLDS,
    MAX_IMAGES,
    MAX_SEED,
    MAX_STEPS,
    choices_list,
    device,
    folds,
    fraction,
    fractions,
    number,
    out_file,
    whole,
)

DEFAULT = TrainConfig()  # the one place a run's defaults are written
EXAMPLES = """examples:
  fgsm-studio-cli train --defense wr_fgsm --a1 0.5 --epochs 10 --out wr.safetensors
  fgsm-studio-cli train --dataset fashion-mnist --folds 0 --arch mobilenet_v2 --out fm.safetensors
  torchrun --nproc_per_node 2 -m fgsm_studio.core.cli train --ddp --out ddp.safetensors"""


def common(p: argparse.ArgumentParser) -> None:
    """The options of every command that trains (train, sweep, reproduce)."""
    p.add_argument("--dataset", default="mnist-5k", choices=DATASETS, help="dataset to use")
    p.add_argument(
        "--root",
        default=None,
        help="dataset folder (not needed for mnist-5k / Debian's fashion-mnist)",
    )
    p.add_argument(
        "--folds",
        type=folds,
        default=10,
        help="k of the k-fold protocol; 0 = the dataset's train/test split",
    )
    p.add_argument(
        "--epochs", type=whole(1, MAX_EPOCHS), default=DEFAULT.epochs, help="training epochs"
    )
    p.add_argument("--lr", type=number(0, 10, above=True), default=DEFAULT.lr, help="learning rate")
    p.add_argument(
        "--batch-size",
        type=whole(1, MAX_BATCH),
        default=DEFAULT.batch_size,
        help="images per batch",
    )
    p.add_argument(
        "--patience",
        type=whole(0, MAX_EPOCHS),
        default=DEFAULT.patience,
        help="epochs without progress before stopping",
    )
    p.add_argument(
        "--seed",
        type=whole(0, MAX_SEED),
        default=DEFAULT.seed,
        help="seed of folds, samples and weights",
    )
    p.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument(
        "--limit",
        type=whole(1, MAX_IMAGES),
        default=None,
        help="train on at most this many images",
    )
    p.add_argument(
        "--eval-limit",
        type=whole(1, MAX_IMAGES),
        default=None,
        help="evaluate on at most this many images",
    )
    p.add_argument(
        "--attacks",
        type=choices_list(ATTACKS, "attack"),
        default=("fgsm", "pgd"),
        help="evaluation attacks, from fgsm,bim,pgd",
    )
    p.add_argument(
        "--threads",
        type=whole(1, CORES),
        default=None,
        help="CPU threads per run, at most this machine's cores; none: the cores free now "
        "(with Ray: the task's CPUs)",
    )
    p.add_argument(
        "--reg",
        choices=("scaled", "literal"),
        default=DEFAULT.reg,
        help="WR_FGSM penalty: scaled = a2 * 5e-4 * ||W||^2, literal = a2 * ||W||^2",
    )


def add_train(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """The train subcommand: one model on one fold, saved with its card."""
    t = sub.add_parser(
        "train",
        help="train one model and save it with its model card",
        description=textwrap.fill(
            "Train one model on one fold (or the train/test split) and save it with its "
            "model card (architecture, classes, how it was trained, its accuracies).",
            78,
        ),
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    common(t)
    t.add_argument(
        "--arch", default="small_cnn", choices=TRAINABLE, help="network: " + ", ".join(TRAINABLE)
    )
    t.add_argument(
        "--defense",
        choices=DEFENSES,
        default=DEFAULT.defense,
        help="none (standard training), wr_fgsm (the paper's: a1 * FGSM loss + a2 * ||W||^2), "
        "fgsm-rs (Wong et al.), pgd (Madry et al.), trades (Zhang et al.)",
    )
    t.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="start from this best-so-far file (X.best-so-far.safetensors of an interrupted "
        "train --out X): its weights and the epoch it reached; every rank under --ddp",
    )
    t.add_argument(
        "--stem",
        choices=STEMS,
        default=DEFAULT.stem,
        help="first layer of mobilenet_v2 / resnet50 / densenet121 on small images: cifar "
        "(stride 1), half (stride 2: 2.7x less work on 28 px digits); auto: cifar up to 64 px",
    )
    t.add_argument(
        "--augment",
        choices=AUGMENTS,
        default=DEFAULT.augment,
        help="training augmentation (auto: by dataset)",
    )
    t.add_argument(
        "--attack-steps",
        type=whole(1, MAX_STEPS),
        default=DEFAULT.attack_steps,
        help="pgd / trades training attack steps",
    )
    t.add_argument(
        "--beta",
        type=number(0, 100, above=True),
        default=DEFAULT.beta,
        help="trades: weight of the KL term",
    )
    t.add_argument(
        "--warmup-epochs",
        type=number(0, MAX_EPOCHS),
        default=DEFAULT.warmup_epochs,
        help="training epsilon ramps up over these (at most --epochs)",
    )
    t.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=DEFAULT.lr_schedule,
        help="cosine: the learning rate falls from --lr to 0 over the run",
    )
    t.add_argument(
        "--ema",
        type=number(0, 0.9999),
        default=DEFAULT.ema,
        help="decay of a moving average of the weights, validated and saved (0: off; e.g. 0.998)",
    )
    t.add_argument(
        "--a1", type=fraction, default=DEFAULT.a1, help="weight of the FGSM loss; a2 = 1 - a1"
    )
    t.add_argument(
        "--epsilon", type=fraction, default=DEFAULT.epsilon, help="training epsilon (pixel units)"
    )
    t.add_argument(
        "--select-by",
        choices=SELECT_BY,
        default=DEFAULT.select_by,
        help="what early stopping and the best epoch watch on the validation set "
        "(auto: clean+fgsm with a defense, clean without)",
    )
    t.add_argument(
        "--eval-epsilons", type=fractions, default=None, help="default: the training epsilon"
    )
    t.add_argument("--fold", type=whole(0, MAX_FOLDS - 1), default=0, help="up to --folds - 1")
    t.add_argument(
        "--extra-train",
        type=Path,
        default=None,
        help="also train on the images of this .npz (made by `fgsm-studio-cli generate` for the "
        "same dataset, --folds and --fold); validation and held-out parts stay real",
    )
    t.add_argument("--name", default="", help="display name stored in the card")
    t.add_argument("--out", type=out_file, required=True, help="checkpoint path (.safetensors)")
    t.add_argument(
        "--records",
        type=Path,
        default=None,
        help="also keep the run's JSON record here (a reproduce --out folder reuses it)",
    )
    t.add_argument(
        "--ddp",
        action="store_true",
        help="one model on several processes: start with torchrun --nproc_per_node N "
        "(DistributedDataParallel; --batch-size is per process; see docs/cluster.md)",
    )
