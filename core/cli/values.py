"""The value types of ``fgsm-studio-cli``'s options and the ``--help`` formatter that shows their ranges.

Every value is validated by its argparse ``type`` (a number from 0 to 1, a whole
number in a range, a known name from a list, a device, a file to write): a typo
costs one clear line and exit code 2. Each number type carries its range as
``span``, which ``Formatter`` shows in ``--help``, and the limits (``MAX_*``) bound
every number, so no option can ask for unbounded work; lists are de-duplicated and
``-0`` is 0. Torch- and numpy-free, as the whole CLI parser is.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import NoReturn

from ..names import strip_bidi

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


def _shown(value: object) -> str:
    """A default as the option takes it: tuples in the comma syntax, paths as text."""
    if isinstance(value, tuple | list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) or '""'
    return f"{value:g}" if isinstance(value, float) else str(value)


def display(path: str | os.PathLike) -> str:
    """A path for a message: quoted, undecodable bytes escaped, long ones shortened."""
    text = strip_bidi(os.fsencode(path).decode("utf-8", "backslashreplace"))
    return f"'{text[:40]}...{text[-30:]}'" if len(text) > 80 else f"'{text}'"


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
