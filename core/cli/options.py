"""The options of ``fgsm-studio-cli``, each checked before any work starts.

Every value is validated by its argparse ``type`` (a number from 0 to 1, a
whole number of at least 1, a known attack, a device name) and the options
that depend on each other (``--fold`` and ``--folds``, a writable ``--out``, a
``--root`` that is a folder) by ``check``, so a typo costs one clear line and
exit code 2, never a traceback and never a finished training run. Every number
has a range (shown in ``--help``), so no option can ask for unbounded work;
lists are de-duplicated and ``-0`` is 0. Nothing here imports torch or numpy:
``--help`` and every usage error answer in a fraction of a second.

This module assembles the parser; each part lives by its seam:
``values`` (the value types, their limits and the range-showing formatter),
``checks`` (``check``: what needs several options or the file system),
``train_options`` (train, and the options every training command shares),
``sweep_options`` (sweep and reproduce), ``measure_options`` (evaluate,
robustness, measure, squeezing, cards) and ``shrink`` (a checkpoint in fewer bits).
"""

from __future__ import annotations

from ... import __version__  # noqa: TID252 (the package's one version: the only import above core)
from .generate_options import add_generate, add_pseudo_label
from .measure_options import add_cards, add_evaluate, add_measure, add_robustness, add_squeezing
from .shrink import add_shrink
from .sweep_options import add_sweep_and_reproduce
from .train_options import add_train
from .values import Formatter, Parser


def build_parser(description: str) -> Parser:
    """The parser of every subcommand, each defined in its own module."""
    fmt = Formatter
    description = description.replace("``", "")  # the module docstring is reST
    ap = Parser(prog="fgsm-studio-cli", description=description, formatter_class=fmt)
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    add_train(sub, fmt)
    add_evaluate(sub, fmt)
    add_sweep_and_reproduce(sub, fmt)
    add_robustness(sub, fmt)
    add_measure(sub, fmt)
    add_squeezing(sub, fmt)
    add_cards(sub)
    add_generate(sub, fmt)
    add_pseudo_label(sub, fmt)
    add_shrink(sub, fmt)
    return ap
