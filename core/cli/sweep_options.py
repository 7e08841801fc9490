"""The options of ``fgsm-studio-cli sweep`` and ``reproduce``: many runs, their plan and executor.

Both take the training options (``train_options.common``), lists of archs,
epsilons and a1s, rounds, the worst-case setting and where the runs execute
(here one by one, or as Ray tasks); ``reproduce`` also takes the defenses of the
report's defense table.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..catalogue import DEFENSES, PAPER, TRAINABLE, WORST_CASE_SETTINGS
from .train_options import common
from .values import MAX_ROUNDS, choices_list, fractions, gpu_share, optional_fractions, whole

WORST_CASES = ("off", *WORST_CASE_SETTINGS)
EXAMPLES = {
    "sweep": """examples:
  fgsm-studio-cli sweep --a1s 0,0.5,1 --rounds 3 --out results/sweep""",
    "reproduce": """examples:
  fgsm-studio-cli reproduce --out results/mnist --dry-run      # the runs, and a time estimate
  fgsm-studio-cli reproduce --rounds 1 --limit 1000 --defenses wr_fgsm,pgd --out results/quick
  fgsm-studio-cli reproduce --out results/mnist --executor ray --cpus-per-run 2
  fgsm-studio-cli reproduce --out /shared/results --executor ray --address ray://head:10001""",
}


def add_sweep_and_reproduce(
    sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]
) -> None:
    """The sweep (Figure 3) and reproduce (the paper's protocol) subcommands."""
    for name, helptext, about in (
        (
            "sweep",
            "Figure 3: WR_FGSM accuracy per (a1, a2)",
            "Train WR_FGSM at each a1 of --a1s (a2 = 1 - a1) for --sweep-rounds rounds and "
            "write the report. Finished runs in OUT/runs are skipped: run again to resume.",
        ),
        (
            "reproduce",
            "Figures 2 and 3 and Table 1 of the paper",
            "The paper's protocol: the standard models (Figure 2), the (a1, a2) sweep "
            "(Figure 3), the best pair chosen on validation at every epsilon and round "
            "(Table 1) and each of --defenses; then report.md, CSVs and figures in OUT. "
            "Finished runs in OUT/runs are skipped: run again to resume.",
        ),
    ):
        s = sub.add_parser(
            name,
            help=helptext,
            description=textwrap.fill(about, 78),
            epilog=EXAMPLES[name],
            formatter_class=fmt,
        )
        common(s)
        s.add_argument(
            "--archs",
            type=choices_list(TRAINABLE, "architecture"),
            default=("small_cnn",),
            help=",".join(TRAINABLE),
        )
        s.add_argument(
            "--epsilon", type=fractions, default=(0.1,), help="training/evaluation epsilons"
        )
        s.add_argument(
            "--a1s", type=fractions, default=(0.0, 0.25, 0.5, 0.75, 1.0), help="a1 of the sweep"
        )
        s.add_argument(
            "--rounds", type=whole(1, MAX_ROUNDS), default=None, help="run only the first N rounds"
        )
        s.add_argument(
            "--sweep-rounds", type=whole(1, MAX_ROUNDS), default=3, help="rounds per sweep point"
        )
        s.add_argument(
            "--literal-a1s",
            type=optional_fractions,
            default=(0.5,),
            help="also sweep these a1 with the literal penalty",
        )
        s.add_argument(
            "--worst-case",
            choices=WORST_CASES,
            default="light",
            help="also measure each run's per-image worst case of FGSM, PGD, APGD-CE and "
            "APGD-T on its held-out part: full = the bundled cards' setting (50 steps, 3 "
            "APGD-T targets, every image), light = 20 steps, 1 target, at most 200 images",
        )
        if name == "reproduce":
            s.add_argument(
                "--defenses",
                type=choices_list(DEFENSES[1:], "defense"),
                default=(PAPER,),
                help="defenses in the report's defense table, each trained at every --epsilon "
                "(a1 = 1: L_ori + L_adv); wr_fgsm, the paper's, is always trained (Table 1)",
            )
        s.add_argument("--out", type=Path, required=True, help="output folder")
        s.add_argument(
            "--dry-run",
            action="store_true",
            help="list the runs (done or to run) and estimate their time from one measured "
            "epoch, then stop: nothing of the plan is trained",
        )
        s.add_argument(
            "--keep-checkpoints",
            action="store_true",
            help="also keep each run's model as OUT/models/<run key>.safetensors (with its "
            "card), to open in the Explorer (fgsm-studio --model FILE); runs already "
            "finished keep none",
        )
        s.add_argument(
            "--cpus-per-run",
            type=whole(1, 256),
            default=1,
            help="with --executor ray: CPUs each run asks for (and threads it uses)",
        )
        s.add_argument(
            "--gpus-per-run",
            type=gpu_share,
            default=None,
            help="with --executor ray: GPUs each run asks for; a fraction packs runs on one "
            "GPU (0.25: four small_cnn runs share a GPU, each needs ~1 GB); default: 1 when "
            "runs use CUDA, else 0",
        )
        s.add_argument(
            "--executor",
            choices=("serial", "ray"),
            default="serial",
            help="where runs execute: here one by one, or as Ray tasks "
            "(pip install 'fgsm-studio[cluster]'; see docs/cluster.md)",
        )
        s.add_argument(
            "--address",
            default=None,
            help="with --executor ray: a running cluster ('auto' or ray://host:10001); "
            "default: a local Ray over this machine's cores and GPUs",
        )
