"""The checks of ``fgsm-studio-cli``'s options that need more than one option, or the file system.

``check`` runs after parsing and before any work: ``--fold`` within ``--folds``, a
writable ``--out`` (a file is created and removed to know), a ``--root`` that
exists (a folder where one is read), ``--ddp`` under torchrun, a Ray address and
the Ray options only with ``--executor ray``, the files named exist, and the run's
own rules (``TrainConfig.problems``, the sentences the Train form shows). Each
problem is one line through ``Parser.error``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import tempfile
from dataclasses import fields
from pathlib import Path

from ..catalogue import NEEDS_FOLDER, PAPER
from ..training.config import TrainConfig
from .values import Parser, display

NEED_ROOT = NEEDS_FOLDER  # core.data.loaders.load_dataset needs a folder for these


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
    images_root = getattr(args, "images_root", None)
    if images_root is not None and not Path(images_root).is_dir():
        parser.error(f"--images-root {display(images_root)} is not a folder")
    extra = getattr(args, "extra_train", None)
    if extra is not None and not Path(extra).is_file():
        parser.error(f"--extra-train {display(extra)} is not a file (an .npz from generate)")
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
