"""The Train tab's runs as run records: one folder, in order, read by ``core.runs.records``.

``RecordStore(folder)`` keeps each run as ``folder/runs/<n>.<key>.json``: the
same record, schema and reader (``core.runs.records.read_record``) as ``reproduce``'s
``OUT/runs/<key>.json``, numbered in the order the runs ended, so two runs of the
same settings (a stopped one, then a finished one) are two records and the table
comes back in order. ``core.report.write_report(folder)`` reads it like a
``reproduce --out`` folder (leaving the stopped runs out). A record that fails the checks is moved to ``runs/rejected/`` and named in
one sentence, as ``records.audit`` does.

Before this store the Train tab kept ``train_results.json`` (``{"format": 1,
"records": [...]}``). ``load`` moves such a file's rows in, once, in their order:
each row through the same checks; a row that fails is written to
``runs/rejected/`` (never dropped), and the old file is kept beside itself as
``train_results.json.migrated``. A file that cannot be read at all is moved to
``folder/rejected/`` with one sentence. When a record cannot be written (a full
disk) the run stays in the table until the window closes and a sentence says so.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .records import (
    MAX_BYTES,
    RecordError,
    _display,
    parse_record,
    read_record,
    set_aside,
    write_record,
)

if TYPE_CHECKING:
    from .spec import RunRecord

log = logging.getLogger(__name__)
LEGACY_FORMAT = 1  # train_results.json's "format"


def _order(path: Path) -> tuple[int, str]:
    head, dot, _ = path.stem.partition(".")
    return (int(head), path.name) if dot and head.isdigit() else (10**9, path.name)


class RecordStore:
    """Runs in the order they ended, each a record file under ``folder/runs``."""

    def __init__(self, folder: Path, legacy: Path | None = None) -> None:
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.legacy = legacy  # an old train_results.json to move in
        self.records: list[RunRecord] = []
        self.problem = ""  # the last sentence for the user (a record set aside, not saved)
        self.note = ""  # what moving an old results file in did, for the user

    def _say(self, sentence: str) -> None:
        log.warning(sentence)
        self.problem = f"{self.problem} {sentence}".strip()

    def load(self) -> list[RunRecord]:
        """Read every record (moving an old results file in first); say what was set aside."""
        self.records = []
        if self.legacy is not None and self.legacy.is_file():
            self._migrate(self.legacy)
        if not self.runs.is_dir():
            return self.records
        for p in sorted(self.runs.glob("*.json"), key=_order):
            try:
                self.records.append(read_record(p))
            except RecordError as exc:
                if p.is_dir() or p.is_symlink():
                    self._say(f"{str(exc)[:-1]}; it is left out.")
                    continue
                try:
                    target = set_aside(p, self.runs / "rejected")
                except OSError:
                    self._say(f"{str(exc)[:-1]}; it is left out.")
                    continue
                self._say(f"{str(exc)[:-1]}; it is left out and kept as {_display(target)}.")
        return self.records

    def _taken(self) -> set[int]:
        numbers = {_order(p)[0] for p in self.runs.glob("*.json")} if self.runs.is_dir() else set()
        return {n for n in numbers if n < 10**9}

    def _write(self, record: RunRecord) -> Path:
        """Write ``record`` under the next free number, claimed first by creating
        ``runs/.<n>.claim`` exclusively (O_EXCL) and dropped once the record is written:
        two windows (or a window and the CLI) saving at the same moment took the same
        number, and with the same settings one record replaced the other. The loser of
        the race, or a number already used, moves on to the next."""
        self.runs.mkdir(parents=True, exist_ok=True)
        n = max(self._taken(), default=0) + 1
        for _ in range(1000):
            claim = self.runs / f".{n:04d}.claim"
            try:
                os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                n += 1
                continue
            try:
                if n in self._taken():  # written meanwhile by a claim that has ended
                    n += 1
                    continue
                path = self.runs / f"{n:04d}.{record.key}.json"
                write_record(path, record)
                return path
            finally:
                claim.unlink(missing_ok=True)
        raise OSError(f"no free record number in {_display(self.runs)} after 1000 tries")

    def add(self, record: RunRecord) -> str:
        """Keep ``record`` (last in order) and write it; a sentence if it could not be written."""
        self.records.append(record)
        try:
            self._write(record)
        except OSError as exc:
            self._say(
                f"The run {record.name or record.key} could not be saved to {_display(self.runs)} "
                f"({exc.strerror or exc}); it is kept until the window closes."
            )
            return self.problem
        return ""

    def _migrate(self, path: Path) -> None:
        where = f"The saved training results {_display(path)}"
        try:
            if path.stat().st_size > 64 * MAX_BYTES:
                raise ValueError("it is larger than any results file")
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
                raise ValueError("it is not a results file of format 1")
            rows = data.get("records")
            if not isinstance(rows, list):
                raise ValueError("it has no list of records")
        except (OSError, ValueError, RecursionError) as exc:
            try:
                kept = set_aside(path, self.folder / "rejected")
            except OSError:
                self._say(f"{where} could not be read ({exc}); the table starts without it.")
                return
            self._say(
                f"{where} could not be read ({exc}); it was kept as {_display(kept)} and the "
                "table starts without it."
            )
            return
        written: list[Path] = []
        good: list[RunRecord] = []
        try:
            for i, row in enumerate(rows):
                try:
                    row = _rekeyed(row)
                    good.append(parse_record(row, f"Row {i + 1} of {_display(path)}"))
                    written.append(self._write(good[-1]))
                except RecordError as exc:
                    bad = self.runs / "rejected" / f"{path.stem}-row{i + 1}.json"
                    bad.parent.mkdir(parents=True, exist_ok=True)
                    bad = set_aside_text(bad, json.dumps(row, indent=1))
                    written.append(bad)
                    self._say(f"{str(exc)[:-1]}; it is left out and kept as {_display(bad)}.")
            os.replace(path, path.with_name(path.name + ".migrated"))
        except OSError as exc:  # nothing half-moved: the old file stays and is read next time
            for p in written:
                p.unlink(missing_ok=True)
            self.records.extend(good)
            self._say(
                f"{where} could not be moved into {_display(self.runs)} "
                f"({exc.strerror or exc}); its runs are shown from it until the window closes."
            )
            return
        self.note = (
            f"Moved {len(good)} saved run{'' if len(good) == 1 else 's'} from "
            f"{_display(path)} into {_display(self.runs)} (the old file is kept as "
            f"{_display(path.with_name(path.name + '.migrated'))})."
        )
        log.info(self.note)


def _rekeyed(row: object) -> object:
    """An old row with its key made again from its spec: the key is derived (its digest
    grew fields since), and a row is never refused for a key it could not have known."""
    from .spec import RunSpec

    if not (isinstance(row, dict) and isinstance(row.get("spec"), dict)):
        return row
    try:
        return {**row, "key": RunSpec.from_dict(row["spec"]).key()}
    except (TypeError, ValueError, KeyError, AttributeError):
        return row  # the checks say what is wrong with its spec


def set_aside_text(path: Path, text: str) -> Path:
    """Write ``text`` at ``path`` or, when that name is taken, at ``<stem>.<n><suffix>``."""
    target, n = path, 1
    while target.exists():
        target = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    target.write_text(text, encoding="utf-8")
    return target
