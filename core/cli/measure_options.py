"""The options of the commands that measure a saved model: evaluate, robustness, measure,
squeezing, cards.

``evaluate``: clean and attacked accuracy on a dataset split; ``robustness``: the
stronger attacks on the card's own held-out part; ``measure``: other writers'
digits (``core.measure.sets``); ``squeezing``: Feature Squeezing's detector and its
attacks (``core.measure.squeezing_report``); ``cards``: the bundled model cards' table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..catalogue import ATTACKS, DATASETS, ROBUST_ATTACKS
from .values import (
    CORES,
    MAX_FOLDS,
    MAX_IMAGES,
    MAX_SEED,
    MAX_STEPS,
    choices_list,
    device,
    fractions,
    number,
    whole,
)

MEASURE_SETS = ("optdigits", "fonts", "draw", "mnist-test", "own")  # core.measure.sets
EXAMPLE_EVALUATE = """examples:
  fgsm-studio-cli evaluate wr.safetensors --epsilons 0.05,0.1,0.2 --limit 1000"""


def add_evaluate(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """evaluate: a checkpoint's accuracy, clean and under attack, on a dataset split."""
    e = sub.add_parser(
        "evaluate",
        help="accuracy of a checkpoint, clean and under attack",
        epilog=EXAMPLE_EVALUATE,
        formatter_class=fmt,
    )
    e.add_argument("model", type=Path, help="a .safetensors checkpoint")
    e.add_argument(
        "--dataset", default=None, choices=DATASETS, help="default: the model card's dataset"
    )
    e.add_argument("--root", default=None, help="dataset folder")
    e.add_argument("--split", default="test", choices=("train", "test", "all"), help="which part")
    e.add_argument("--epsilons", type=fractions, default=(0.05, 0.1, 0.2, 0.3), help="attack sizes")
    e.add_argument(
        "--attacks", type=choices_list(ATTACKS, "attack"), default=ATTACKS, help="fgsm,bim,pgd"
    )
    e.add_argument(
        "--limit", type=whole(1, MAX_IMAGES), default=None, help="a stratified sample of this size"
    )
    e.add_argument("--seed", type=whole(0, MAX_SEED), default=0, help="seed of that sample")
    e.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda, cuda:1, mps")


def add_robustness(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """robustness: APGD-CE, APGD-T, Square and the worst case on the card's held-out part."""
    r = sub.add_parser(
        "robustness",
        help="a checkpoint on its own held-out part: APGD-CE, APGD-T, Square, the worst case",
        formatter_class=fmt,
    )
    r.add_argument("model", type=Path, help="a .safetensors checkpoint")
    r.add_argument(
        "--fold", type=whole(0, MAX_FOLDS), default=None, help="default: the card's held-out fold"
    )
    r.add_argument("--epsilons", type=fractions, default=(0.1, 0.3), help="attack sizes")
    r.add_argument(
        "--attacks",
        type=choices_list(ROBUST_ATTACKS, "attack"),
        default=ROBUST_ATTACKS[:4],
        help=",".join(ROBUST_ATTACKS),
    )
    r.add_argument(
        "--survivors-only",
        type=lambda text: choices_list(ROBUST_ATTACKS, "attack")(text) if text.strip() else (),
        default=(),
        help="attacks run only on the images every earlier one left standing",
    )
    r.add_argument(
        "--limit", type=whole(1, MAX_IMAGES), default=None, help="at most this many images"
    )
    r.add_argument("--varied", action="store_true", help="also on shifted/rotated/thicker copies")
    r.add_argument(
        "--varied-limit", type=whole(1, MAX_IMAGES), default=None, help="images for --varied"
    )
    r.add_argument("--pgd-steps", type=whole(1, MAX_STEPS), default=50, help="PGD steps")
    r.add_argument(
        "--apgd-steps", type=whole(1, MAX_STEPS), default=100, help="APGD-CE / APGD-T steps"
    )
    r.add_argument(
        "--targets", type=whole(1, 999), default=9, help="APGD-T: target classes per image"
    )
    r.add_argument(
        "--queries", type=whole(1, 10**6), default=1000, help="Square: queries per image"
    )
    r.add_argument("--update-card", action="store_true", help="write the figures into the card")


def add_measure(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """measure: models on other writers' digits and their own fold."""
    m = sub.add_parser(
        "measure",
        help="measure models on other writers' digits and their own fold (core.measure.sets)",
        formatter_class=fmt,
    )
    m.add_argument("models", type=Path, nargs="*", help=".safetensors checkpoints")
    m.add_argument(
        "--sets",
        type=choices_list(MEASURE_SETS, "set"),
        default=MEASURE_SETS,
        help="optdigits, fonts, draw, mnist-test (never trained on) and own (the card's held-out part)",
    )
    m.add_argument(
        "--limit", type=whole(1, MAX_IMAGES), default=200, help="images per set (stratified)"
    )
    m.add_argument("--epsilons", type=fractions, default=(0.1, 0.3), help="attack sizes")
    m.add_argument("--pgd-steps", type=whole(1, MAX_STEPS), default=50)
    m.add_argument(
        "--apgd-steps", type=whole(1, MAX_STEPS), default=100, help="APGD-CE and APGD-T steps"
    )
    m.add_argument("--targets", type=whole(1, 9), default=3, help="APGD-T: target classes")
    m.add_argument(
        "--queries", type=whole(1, 100_000), default=1000, help="Square: queries per image"
    )
    m.add_argument("--no-square", action="store_true", help="leave out Square (the slowest)")
    m.add_argument("--threads", type=whole(1, CORES), default=None, help="CPU threads")
    m.add_argument(
        "--results",
        type=Path,
        default=Path("docs/results/other-writers/results.jsonl"),
        help="JSON lines, one per (model, set); pairs already there are skipped",
    )
    m.add_argument(
        "--publish",
        action="store_true",
        help="measure nothing: write the results into the models' cards and the tables",
    )
    m.add_argument(
        "--report",
        type=Path,
        default=Path("docs/results/other-writers.md"),
        help="with --publish: the Markdown file whose generated table is rewritten",
    )
    m.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="with --publish: also rewrite the generated other-writers table in this README.md",
    )


def add_squeezing(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """squeezing: Feature Squeezing's detector calibrated and its attacks measured."""
    q = sub.add_parser(
        "squeezing",
        help="Feature Squeezing: calibrate its detector, measure its attacks (core.squeezing_report)",
        formatter_class=fmt,
    )
    q.add_argument("models", type=Path, nargs="+", help=".safetensors checkpoints")
    q.add_argument(
        "--false-alarm",
        type=number(0, 0.5, above=True),
        default=0.05,
        help="share of clean validation digits the detector may flag",
    )
    q.add_argument("--update-card", action="store_true", help="store the threshold in the card")
    q.add_argument("--measure", action="store_true", help="also run the attacks on each set")
    q.add_argument(
        "--sets",
        type=choices_list(MEASURE_SETS, "set"),
        default=("own", "optdigits", "fonts"),
        help="own (the card's held-out part), optdigits, fonts (never trained on)",
    )
    q.add_argument(
        "--limit", type=whole(1, MAX_IMAGES), default=200, help="images per set (stratified)"
    )
    q.add_argument("--epsilons", type=fractions, default=(0.1, 0.2, 0.3), help="attack sizes")
    q.add_argument("--restarts", type=whole(1, 100), default=3, help="BPDA-PGD random starts")
    q.add_argument("--steps", type=whole(1, MAX_STEPS), default=40, help="PGD steps")
    q.add_argument(
        "--queries", type=whole(0, 100_000), default=1000, help="Square: queries (0: none)"
    )
    q.add_argument("--threads", type=whole(1, CORES), default=None, help="CPU threads")
    q.add_argument(
        "--results",
        type=Path,
        default=Path("docs/results/feature-squeezing/results.jsonl"),
        help="JSON lines, one per (model, set); pairs already there are skipped",
    )
    q.add_argument(
        "--publish", action="store_true", help="measure nothing: write the report from the cards"
    )
    q.add_argument(
        "--doc",
        type=Path,
        default=Path("docs/results/feature-squeezing.md"),
        help="with --publish: the Markdown file whose generated block is rewritten",
    )


def add_cards(sub: argparse._SubParsersAction) -> None:
    """cards: the table of bundled model cards."""
    c = sub.add_parser("cards", help="print (or write) the table of bundled model cards")
    c.add_argument(
        "--out", type=Path, default=None, help="write it here, e.g. resources/models/README.md"
    )
    c.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="also rewrite the generated bundled-models table in this README.md",
    )
