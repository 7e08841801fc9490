"""The options of ``fgsm-studio-cli``, each checked before any work starts.

Every value is validated by its argparse ``type`` (a number from 0 to 1, a
whole number of at least 1, a known attack, a device name) and the options
that depend on each other (``--fold`` and ``--folds``, a writable ``--out``, a
``--root`` that is a folder) by ``check``, so a typo costs one clear line and
exit code 2, never a traceback and never a finished training run. Every number
has a range (shown in ``--help``), so no option can ask for unbounded work;
lists are de-duplicated and ``-0`` is 0. This module imports neither torch nor
numpy: ``--help`` and every usage error answer in a fraction of a second.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
import tempfile
import textwrap
from dataclasses import fields
from pathlib import Path
from typing import NoReturn

from ... import __version__  # noqa: TID252 (the package's one version: the only import above core)
from ..catalogue import (  # torch-free, as is train_config
    ATTACKS,
    AUGMENTS,
    DATASETS,
    DEFENSES,
    LR_SCHEDULES,
    NEEDS_FOLDER,
    PAPER,
    ROBUST_ATTACKS,
    SELECT_BY,
    STEMS,
    TRAINABLE,
    WORST_CASE_SETTINGS,
)
from ..names import strip_bidi
from ..training.config import TrainConfig

WORST_CASES = ("off", *WORST_CASE_SETTINGS)
DEFAULT = TrainConfig()  # the one place a run's defaults are written
MEASURE_SETS = ("optdigits", "fonts", "draw", "own")  # core.measure.sets
MAX_SEED = 2**32 - 1
CORES = os.cpu_count() or 1
# Ranges of the numbers: generous for real work, and each bounds what one option can cost.
MAX_EPOCHS = 1000
MAX_FOLDS = 100
MAX_STEPS = 1000  # attack steps: the paper's PGD uses 10-50
MAX_BATCH = 65536
MAX_IMAGES = 10_000_000  # --limit, --eval-limit: far beyond any dataset here
MAX_ROUNDS = MAX_FOLDS
MAX_LIST = 32  # epsilons or a1s in one list, after removing repeats
NEED_ROOT = NEEDS_FOLDER  # core.data.loaders.load_dataset needs a folder for these
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,3})?")


class UsageError(Exception):
    """An option is wrong; the message is one line for the user."""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` with each number's range (from its type's ``span``), then its default.

    "(default: X)" is added only where there is a default and the help does not already
    say it; tuples show in the comma syntax the option takes.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        span = getattr(action.type, "span", None)
        if span:
            text = f"{text} [{span}]".strip()
        default = action.default
        if (
            default is None
            or default is False
            or default == argparse.SUPPRESS
            or not action.option_strings
            or "default" in (action.help or "")
        ):
            return text
        return f"{text} (default: {_shown(default).replace('%', '%%')})"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised, so ``main`` returns 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def fraction(text: str) -> float:
    """A number from 0 to 1 (epsilons, a1); ``-0`` is 0 (one resume key for one value)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {text!r}")
    return value + 0.0  # -0.0 + 0.0 is 0.0


fraction.span = "0 to 1"  # type: ignore[attr-defined]


def fractions(text: str) -> tuple[float, ...]:
    """Comma-separated numbers from 0 to 1, at least one; repeats are dropped."""
    values = tuple(dict.fromkeys(fraction(v.strip()) for v in text.split(",") if v.strip()))
    if not values:
        raise argparse.ArgumentTypeError(f"expected numbers from 0 to 1 like 0.1,0.3, not {text!r}")
    if len(values) > MAX_LIST:
        raise argparse.ArgumentTypeError(f"at most {MAX_LIST} different numbers, not {len(values)}")
    return values


fractions.span = f"0 to 1 each, at most {MAX_LIST}"  # type: ignore[attr-defined]


def optional_fractions(text: str) -> tuple[float, ...]:
    return fractions(text) if text.strip(", ") else ()


optional_fractions.span = fractions.span  # type: ignore[attr-defined]


def number(low: float, high: float, *, above: bool = False):
    """An argparse type: a finite number from ``low`` (or above it) to ``high``."""
    span = f"above {low:g}, up to {high:g}" if above else f"{low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text) + 0.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        in_range = (low < value if above else low <= value) and value <= high
        if not math.isfinite(value) or not in_range:
            raise argparse.ArgumentTypeError(f"must be a number {span}, not {text!r}")
        return value

    parse.__name__ = "number"
    parse.span = span  # type: ignore[attr-defined]
    return parse


positive_float = number(0, 1e6, above=True)


def whole(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, not {text!r}"
            )
        return value

    parse.__name__ = "whole number"
    parse.span = f"{low} to {high}"  # type: ignore[attr-defined]
    return parse


def gpu_share(text: str) -> float:
    """A GPU share per run: a fraction of one GPU (0 < x <= 1) or whole GPUs up to 16."""
    value = positive_float(text)
    if value > 1 and (value != int(value) or value > 16):
        raise argparse.ArgumentTypeError(
            f"must be a fraction of one GPU (0 < x <= 1) or whole GPUs up to 16, not {text!r}"
        )
    return value


gpu_share.span = "above 0, up to 1, or whole GPUs up to 16"  # type: ignore[attr-defined]


def folds(text: str) -> int:
    value = whole(0, MAX_FOLDS)(text)
    if value in (1, 2):
        raise argparse.ArgumentTypeError(
            "must be 0 (the dataset's train/test split) or at least 3 folds, not " + repr(text)
        )
    return value


folds.span = f"0, or 3 to {MAX_FOLDS}"  # type: ignore[attr-defined]


def choices_list(allowed: tuple[str, ...], what: str):
    """An argparse type: comma-separated names, each one of ``allowed``, at least one."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(v.strip().lower() for v in text.split(",") if v.strip())
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            bad = f"unknown {what} {', '.join(map(repr, unknown))}" if unknown else f"no {what}"
            raise argparse.ArgumentTypeError(f"{bad}; choose from {','.join(allowed)}")
        return tuple(dict.fromkeys(names))

    parse.__name__ = what
    return parse


def out_file(text: str) -> Path:
    """A file to write (``--out`` of train): a name ending in "/" is a folder, not a file."""
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(
            f"{display(text)} ends in '/', so it names a folder; give a file such as "
            f"{display(text + 'model.safetensors')}"
        )
    return Path(text)


out_file.__name__ = "file name"


def device(text: str) -> str:
    if not DEVICE.fullmatch(text.lower()):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; use auto, cpu, cuda, cuda:N or mps"
        )
    return text.lower()


def check(args: argparse.Namespace, parser: Parser) -> None:
    """The checks that need more than one option, or the file system; one line each."""
    folds = getattr(args, "folds", None)
    if hasattr(args, "fold") and folds is not None and not 0 <= args.fold < max(folds, 1):
        top = max(folds, 1) - 1
        parser.error(f"--fold must be from 0 to {top} with --folds {folds}, not {args.fold}")
    _check_root(args, parser)
    out = getattr(args, "out", None)
    if out is not None:
        folder = args.command in ("sweep", "reproduce")
        problem = _unwritable(Path(out), folder=folder)
        if problem:
            parser.error(f"--out {display(out)} {problem}")
    records = getattr(args, "records", None)
    if records is not None and (problem := _unwritable(Path(records), folder=True)):
        parser.error(f"--records {display(records)} {problem}")
    if getattr(args, "ddp", False):  # before torch is imported: a second, not 17 s
        missing = [
            v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ
        ]
        if missing:
            parser.error(
                "--ddp needs to be started by torchrun (e.g. torchrun --nproc_per_node 2 "
                f"-m fgsm_studio.core.cli train ... --ddp); missing {', '.join(missing)}"
            )
    executor = getattr(args, "executor", "serial")
    address = getattr(args, "address", None)
    if address and executor != "ray":
        parser.error("--address only makes sense with --executor ray")
    if address and not ray_address(address):
        parser.error(
            f"--address {display(address)} is not a Ray address: use auto, host:port or "
            "ray://host:port (a host name or IP address and a port from 1 to 65535)"
        )
    if executor != "ray" and (
        getattr(args, "cpus_per_run", 1) != 1 or getattr(args, "gpus_per_run", None) is not None
    ):
        parser.error("--cpus-per-run and --gpus-per-run only make sense with --executor ray")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        parser.error("--executor ray needs Ray: pip install 'fgsm-studio[cluster]'")
    if getattr(args, "stem", "auto") != "auto" and args.arch.startswith("small_cnn"):
        parser.error("--stem is for mobilenet_v2, resnet50 and densenet121, not small_cnn")
    readme = getattr(args, "readme", None)
    if readme is not None and not Path(readme).is_file():
        parser.error(f"--readme {display(readme)} does not exist or is not a file")
    for path in getattr(args, "models", None) or ():
        if not Path(path).is_file():
            parser.error(f"the model {display(path)} does not exist or is not a file")
    resume = getattr(args, "resume", None)
    if resume is not None and not Path(resume).is_file():
        parser.error(f"--resume {display(resume)} does not exist or is not a file")
    model = getattr(args, "model", None)
    if model is not None and not Path(model).is_file():
        parser.error(f"the model {display(model)} does not exist or is not a file")
    for config in _configs(args):  # the rules of a run, as the Train form shows them
        problems = config.problems(args.dataset)
        if problems:
            parser.error(problems[0])


def _configs(args: argparse.Namespace) -> list[TrainConfig]:
    """The training configs the command will run, as far as the rules need them."""
    if args.command == "train":
        names = {f.name for f in fields(TrainConfig)}
        return [TrainConfig.from_dict({k: v for k, v in vars(args).items() if k in names})]
    if args.command in ("sweep", "reproduce"):
        defenses = {PAPER, *getattr(args, "defenses", ())}
        return [TrainConfig(defense=d, epsilon=e) for d in defenses for e in args.epsilon]
    return []


def _check_root(args: argparse.Namespace, parser: Parser) -> None:
    """--root names what exists (a folder where a folder is read); some datasets need one."""
    dataset, root = getattr(args, "dataset", None), getattr(args, "root", None)
    if root is None:
        if dataset in NEED_ROOT:
            parser.error(f"--dataset {dataset} needs --root, the dataset's folder")
        return
    path = Path(root)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as exc:
        parser.error(f"--root {display(root)} cannot be used: {exc.strerror or exc}")
    if not exists:
        parser.error(f"--root {display(root)} does not exist")
    if dataset in NEED_ROOT and not is_dir:
        parser.error(f"--root {display(root)} is not a folder")


HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]")


def ray_address(text: str) -> bool:
    """True for "auto", "host:port" (a cluster's head) or "ray://host:port" (Ray Client)."""
    if text == "auto":
        return True
    rest = text.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    return (
        bool(sep)
        and HOST.fullmatch(host) is not None
        and port.isdigit()
        and (1 <= int(port) <= 65535)
    )


def display(path: str | os.PathLike) -> str:
    """A path for a message: quoted, undecodable bytes escaped, long ones shortened."""
    text = strip_bidi(os.fsencode(path).decode("utf-8", "backslashreplace"))
    return f"'{text[:40]}...{text[-30:]}'" if len(text) > 80 else f"'{text}'"


def _unwritable(path: Path, *, folder: bool) -> str | None:
    """Why ``path`` cannot be written (as a file, or as a folder to create files in), or None."""
    try:
        if path.exists():
            if folder and not path.is_dir():
                return "exists and is not a folder"
            if not folder and not path.is_file():
                return "exists and is not a regular file"
        probe = path if folder and path.is_dir() else path.parent
        while not probe.exists():
            probe = probe.parent
    except OSError as exc:  # a name too long, a loop of symlinks, ...
        return f"cannot be used: {exc.strerror or exc}"
    if not probe.is_dir():
        return f"cannot be created: {display(probe)} is a file, not a folder"
    # Create and remove a file: os.access says yes to root for /proc and /sys, where
    # nothing can be created, and knows nothing of read-only mounts or quotas.
    try:
        fd, name = tempfile.mkstemp(prefix=".fgsm-studio-probe-", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return f"cannot be written: no file can be created in {display(probe)} ({exc.strerror})"
    if any(len(os.fsencode(part)) > 255 for part in path.parts):
        return "has a name longer than 255 bytes"
    return None


def _common(p: argparse.ArgumentParser) -> None:
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


def _shown(value: object) -> str:
    """A default as the option takes it: tuples in the comma syntax, paths as text."""
    if isinstance(value, tuple | list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) or '""'
    return f"{value:g}" if isinstance(value, float) else str(value)


EXAMPLES = {
    "train": """examples:
  fgsm-studio-cli train --defense wr_fgsm --a1 0.5 --epochs 10 --out wr.safetensors
  fgsm-studio-cli train --dataset fashion-mnist --folds 0 --arch mobilenet_v2 --out fm.safetensors
  torchrun --nproc_per_node 2 -m fgsm_studio.core.cli train --ddp --out ddp.safetensors""",
    "evaluate": """examples:
  fgsm-studio-cli evaluate wr.safetensors --epsilons 0.05,0.1,0.2 --limit 1000""",
    "sweep": """examples:
  fgsm-studio-cli sweep --a1s 0,0.5,1 --rounds 3 --out results/sweep""",
    "reproduce": """examples:
  fgsm-studio-cli reproduce --out results/mnist --dry-run      # the runs, and a time estimate
  fgsm-studio-cli reproduce --rounds 1 --limit 1000 --defenses wr_fgsm,pgd --out results/quick
  fgsm-studio-cli reproduce --out results/mnist --executor ray --cpus-per-run 2
  fgsm-studio-cli reproduce --out /shared/results --executor ray --address ray://head:10001""",
}


def build_parser(description: str) -> Parser:
    fmt = Formatter
    description = description.replace("``", "")  # the module docstring is reST
    ap = Parser(prog="fgsm-studio-cli", description=description, formatter_class=fmt)
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "train",
        help="train one model and save it with its model card",
        description=textwrap.fill(
            "Train one model on one fold (or the train/test split) and save it with its "
            "model card (architecture, classes, how it was trained, its accuracies).",
            78,
        ),
        epilog=EXAMPLES["train"],
        formatter_class=fmt,
    )
    _common(t)
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

    e = sub.add_parser(
        "evaluate",
        help="accuracy of a checkpoint, clean and under attack",
        epilog=EXAMPLES["evaluate"],
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
        _common(s)
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
        help="optdigits, fonts, draw (never trained on) and own (the card's held-out part)",
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
    return ap
