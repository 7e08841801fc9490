"""Run records on disk: the one reader every path trusts, the one writer, the folder's lock.

``reproduce`` resumes from ``OUT/runs/<key>.json`` and the report is made from
every record there, so a record is checked before anything believes it: the
serial path, the Ray path and the report all read through ``read_record``.
It bounds the file's size and nesting, checks the schema (no missing, no extra
field), the ranges (accuracies are fractions in [0, 1], counts whole numbers,
times finite) and that the key inside the record equals the file name's key and
the key its own spec gives (a copied record, an edited spec). A record that fails
raises ``RecordError``, one sentence naming the file.

``audit`` runs before a plan starts: a record that fails is moved to
``runs/rejected/`` (named in one sentence) so its run is made again and the
report never reads it; a record path that is not a regular file (a folder) stops
the plan before any work. ``write_record`` writes through a temporary file of its
own (never another process's) and ``os.replace``. ``FolderLock`` keeps a second
``reproduce`` out of an ``--out`` folder that one is writing to.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_atomic

if TYPE_CHECKING:  # experiments imports torch
    from .spec import RunRecord, RunSpec

MAX_BYTES = 4_000_000  # a record of 100 epochs is ~60 KB
MAX_HISTORY = 1000
REQUIRED = ("key", "spec", "n_train", "n_val", "test", "best_epoch")
OPTIONAL = (
    "a2",
    "epochs_run",
    "train_seconds",
    "images_per_s",
    "history",
    "saved_to",
    "name",
    "sweep",
    "robust",
    "num_classes",
    "stopped",
)
_EVAL_KEYS = {"n", "clean", "attacks", "held_out"}
_FRACTIONS = ("train_acc", "val_acc", "val_fgsm_acc", "val_pgd_acc")


class RecordError(ValueError):
    """A run record that cannot be trusted; the message is one sentence naming it."""


def _display(path: Path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


class _Bad(Exception):
    """What is wrong inside a record (the reader adds the file's name)."""


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _Bad(f"{where} is {json.dumps(v)[:40]}, not a finite number")
    return float(v)


def _fraction(v: Any, where: str) -> float:
    x = _number(v, where)
    if not 0.0 <= x <= 1.0:
        raise _Bad(f"{where} is {x:g}, not an accuracy from 0 to 1")
    return x


def _count(v: Any, where: str, low: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise _Bad(f"{where} is {json.dumps(v)[:40]}, not a whole number of at least {low}")
    return v


def _text(v: Any, where: str, *, none: bool = False) -> None:
    if not (isinstance(v, str) or (none and v is None)):
        raise _Bad(f"{where} is {json.dumps(v)[:40]}, not text")


def _eval(d: Any, where: str) -> None:
    if not isinstance(d, dict):
        raise _Bad(f"{where} is not an object")
    if extra := set(d) - _EVAL_KEYS:
        raise _Bad(f"{where} has an unknown field {sorted(extra)[0]!r}")
    for name in ("n", "clean"):
        if name not in d:
            raise _Bad(f"{where} has no field {name!r}")
    _count(d["n"], f"{where}.n", 1)
    _fraction(d["clean"], f"{where}.clean")
    _text(d.get("held_out", ""), f"{where}.held_out")
    attacks = d.get("attacks", {})
    if not isinstance(attacks, dict):
        raise _Bad(f"{where}.attacks is not an object")
    for attack, per in attacks.items():
        if not isinstance(per, dict):
            raise _Bad(f"{where}.attacks.{attack} is not an object")
        for eps, acc in per.items():
            try:
                e = float(eps)
            except ValueError:
                raise _Bad(f"{where}.attacks.{attack} has an epsilon {eps!r}") from None
            if not (math.isfinite(e) and 0 <= e <= 1):
                raise _Bad(f"{where}.attacks.{attack} has an epsilon {eps!r}")
            _fraction(acc, f"{where}.attacks.{attack}.{eps}")


def _history(h: Any) -> None:
    from ..training.config import EpochMetrics

    if not isinstance(h, list) or len(h) > MAX_HISTORY:
        raise _Bad(f"history is not a list of at most {MAX_HISTORY} epochs")
    names = {f.name for f in fields(EpochMetrics)}
    for i, epoch in enumerate(h):
        where = f"history[{i}]"
        if not isinstance(epoch, dict):
            raise _Bad(f"{where} is not an object")
        if extra := set(epoch) - names:
            raise _Bad(f"{where} has an unknown field {sorted(extra)[0]!r}")
        for f in fields(EpochMetrics):
            if f.name not in epoch:
                if f.name in ("val_pgd_acc", "monitor_s", "train_s"):  # added later
                    continue
                raise _Bad(f"{where} has no field {f.name!r}")
            v = epoch[f.name]
            if f.name in ("epoch", "epochs"):
                _count(v, f"{where}.{f.name}", 1)
            elif f.name == "is_best":
                if not isinstance(v, bool):
                    raise _Bad(f"{where}.is_best is not true or false")
            elif f.name in _FRACTIONS:
                if not (v is None and f.name == "val_pgd_acc"):
                    _fraction(v, f"{where}.{f.name}")
            else:
                _number(v, f"{where}.{f.name}")


def _spec(d: Any) -> RunSpec:
    from ..training.config import TrainConfig
    from .spec import RunSpec

    if not isinstance(d, dict):
        raise _Bad("spec is not an object")
    train = d.get("train")
    if isinstance(train, dict):
        known = {f.name for f in fields(TrainConfig)} | {"a2"}
        if extra := set(train) - known:
            raise _Bad(f"spec.train has an unknown field {sorted(extra)[0]!r}")
    try:
        spec = RunSpec.from_dict(d)
        spec.train.validate()
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _Bad(f"its spec is not a run's ({str(exc).rstrip('.')[:120]})") from None
    return spec


def _stopped(d: Any) -> None:
    if not isinstance(d, dict):
        raise _Bad("stopped is not an object")
    if extra := set(d) - {"epoch", "batch", "batches", "where"}:
        raise _Bad(f"stopped has an unknown field {sorted(extra)[0]!r}")
    for name in ("epoch", "batch", "batches"):
        if name not in d:
            raise _Bad(f"stopped has no field {name!r}")
        _count(d[name], f"stopped.{name}")
    if d["batch"] > d["batches"]:
        raise _Bad(f"stopped.batch is {d['batch']}, more than its {d['batches']} batches")
    _text(d.get("where", ""), "stopped.where")


def key_of(stem: str) -> str:
    """The run key a record's file name gives: ``<key>`` (``reproduce``) or ``<n>.<key>``
    (a ``RecordStore``'s, in the order its runs ended; a key starts with a dataset's
    name, never with a digit and a dot)."""
    head, dot, rest = stem.partition(".")
    return rest if dot and head.isdigit() else stem


def check_record(d: Any, file_key: str | None = None) -> RunRecord:
    """The ``RunRecord`` in ``d`` (parsed JSON), or ``_Bad`` saying what is wrong."""
    from .spec import RunRecord

    if not isinstance(d, dict):
        raise _Bad(f"it holds {type(d).__name__ if d is not None else 'null'}, not a run record")
    for name in REQUIRED:
        if name not in d:
            raise _Bad(f"it has no field {name!r}")
    if extra := set(d) - set(REQUIRED) - set(OPTIONAL):
        raise _Bad(f"it has an unknown field {sorted(extra)[0]!r}")
    _text(d["key"], "key")
    if file_key is not None and d["key"] != file_key:
        raise _Bad(f"the key inside it is {d['key'][:80]!r}, not its file name's")
    spec = _spec(d["spec"])
    if spec.key() != d["key"]:
        raise _Bad("its spec does not give its key (the spec or the key was changed)")
    for name in ("n_train", "n_val"):
        _count(d[name], name)
    _count(d["best_epoch"], "best_epoch")
    for name in ("epochs_run", "num_classes"):
        if name in d:
            _count(d[name], name)
    for name in ("train_seconds", "images_per_s", "a2"):
        if name in d and _number(d[name], name) < 0:
            raise _Bad(f"{name} is negative")
    for name in ("name", "sweep"):
        _text(d.get(name, ""), name)
    _text(d.get("saved_to"), "saved_to", none=True)
    if d.get("stopped") is not None:  # stopped by its user: never evaluated on held-out data
        _stopped(d["stopped"])
        if d["test"] is not None:
            raise _Bad("it is marked stopped and has held-out figures")
    else:
        _eval(d["test"], "test")
    if d.get("robust") is not None:
        _eval(d["robust"], "robust")
    _history(d.get("history", []))
    try:
        return RunRecord.from_dict(d)
    except (TypeError, ValueError, KeyError) as exc:  # checked above; a last guard
        raise _Bad(f"it could not be read ({exc})") from None


def parse_record(d: Any, where: str) -> RunRecord:
    """``check_record`` for parsed JSON from elsewhere; ``RecordError`` names ``where``."""
    try:
        return check_record(d)
    except _Bad as exc:
        raise RecordError(f"{where} cannot be trusted: {exc}.") from None
    except RecursionError:
        raise RecordError(f"{where} is nested too deeply to be a run record.") from None


def read_record(path: str | Path, expect: RunSpec | None = None) -> RunRecord:
    """The record at ``path``, checked; ``expect``: the spec whose record it must be."""
    path = Path(path)
    where = f"The run record {_display(path)}"
    try:
        if path.is_symlink() or not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise RecordError(f"{where} is {kind}.")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecordError(f"{where} is {size:,} bytes, more than any record ({MAX_BYTES:,}).")
        text = path.read_bytes()
    except OSError as exc:
        raise RecordError(f"{where} cannot be read ({exc.strerror or exc}).") from None
    if not text.strip():
        raise RecordError(f"{where} is empty (a run stopped while writing it).")
    try:
        d = json.loads(text)
    except RecursionError:
        raise RecordError(f"{where} is nested too deeply to be a run record.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"{where} is not complete JSON ({str(exc)[:80]}).") from None
    try:
        record = check_record(d, key_of(path.stem))
    except _Bad as exc:
        raise RecordError(f"{where} cannot be trusted: {exc}.") from None
    except RecursionError:
        raise RecordError(f"{where} is nested too deeply to be a run record.") from None
    if expect is not None and record.key != expect.key():
        raise RecordError(f"{where} is not the record of the run {expect.key()}.")
    return record


def write_record(path: str | Path, record: RunRecord) -> None:
    """Write ``record`` at ``path`` through a temporary file of this process's own.

    ``core.atomic``: the temporary file's name is unique (``mkstemp``), and a full
    disk leaves no file behind and says which run and how much space (issue 20, 4).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    what = f"the record of run {path.stem} (it will be trained again next time)"
    write_atomic(path, json.dumps(record.to_dict(), indent=1), what)


def load_folder(out_dir: str | Path) -> tuple[list[RunRecord], list[str]]:
    """Every trustworthy record under ``out_dir/runs`` and a sentence for each other one."""
    records, rejected = [], []
    for p in sorted((Path(out_dir) / "runs").glob("*.json")):
        try:
            records.append(read_record(p))
        except RecordError as exc:
            rejected.append(str(exc))
    return records, rejected


def set_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a name no other file there has; the new path."""
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def audit(out_dir: str | Path) -> list[str]:
    """Check every record before a plan starts; move the ones that fail aside.

    Returns a sentence for each record moved to ``runs/rejected/`` (its run is made
    again if the plan includes it). Raises ``RecordError`` before any work when a
    record path is a folder or something else that cannot be replaced.
    """
    runs = Path(out_dir) / "runs"
    if not runs.is_dir():
        return []
    said = []
    for p in sorted(runs.glob("*.json")):
        if p.is_symlink() or not p.is_file():
            kind = "a folder" if p.is_dir() and not p.is_symlink() else "not a regular file"
            raise RecordError(
                f"The run record path {_display(p)} is {kind}; move or remove it, then run "
                "again (nothing was run)."
            )
        try:
            read_record(p)
        except RecordError as exc:
            target = set_aside(p, runs / "rejected")
            said.append(
                f"{str(exc)[:-1]}; moved to {_display(target)}, and its run is made again "
                "if this plan has it."
            )
    return said


class FolderLock:
    """An exclusive lock on a ``reproduce --out`` folder (``.lock``), refused with a sentence."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            try:
                other = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise RecordError(
                f"Another reproduce (process {other}) is writing to {_display(self.path.parent)}; "
                "wait for it to finish or choose another --out."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
