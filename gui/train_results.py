"""The Train view's results: a list of ``RunRecord``s, kept on disk, and what is drawn from it.

``ResultStore`` holds the finished runs in order and saves them as JSON in the
user data folder after each change (``train_results.json``), so the table comes
back after a restart. The results table (``TABLE_COLUMNS``, ``table_cells``: the
name and clean / FGSM / PGD first, narrow enough for 1280x720), the exported CSV
(``table_row``, every column, with the robustness monitor's warnings; the
table marks such a run with a warning sign) and Figure 3 (``figure3_points``: the runs of ONE
sweep, by a1, with error bars: the standard error of each accuracy over its n
held-out images) all read records, never widget cells. No Qt here.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fgsm_studio.core.catalogue import is_paper
from fgsm_studio.core.evaluation import MetricsError
from fgsm_studio.core.experiments import RunRecord, run_warnings
from fgsm_studio.core.plots import figure3

log = logging.getLogger(__name__)
FORMAT = 1
COLUMNS = [
    "name",
    "clean %",
    "FGSM %",
    "PGD %",
    "eps",
    "dataset",
    "model",
    "defense",
    "a1",
    "a2",
    "penalty",
    "best epoch by",
    "epochs",
    "seconds",
    "checkpoint",
    "warnings",
]
WARNED = "\u26a0 "  # before a run's name in the table: the robustness monitor found something
# What the window's table shows (the CSV has every column; the rest is in a row's tooltip).
TABLE_COLUMNS = ["name", "clean %", "FGSM %", "PGD %", "eps", "defense"]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def table_row(r: RunRecord) -> list[str]:
    """The record as the CSV shows it (``COLUMNS``)."""
    t, wr = r.spec.train, is_paper(r.spec.train.defense)
    eps = r.spec.eval_epsilons[0]
    return [
        r.name,
        _pct(r.test.clean),
        _pct(r.test.get("fgsm", eps)),
        _pct(r.test.get("pgd", eps)),
        f"{eps:g}",
        r.spec.dataset,
        t.arch,
        t.defense,
        f"{t.a1:g}" if wr else "-",
        f"{t.a2:g}" if wr else "-",
        t.reg if wr else "-",
        t.selection,
        str(r.epochs_run),
        f"{r.train_seconds:.0f}",
        r.saved_to or "",
        " | ".join(w["text"] for w in run_warnings(r)),
    ]


def table_cells(r: RunRecord) -> tuple[list[str], str]:
    """The window's row (``TABLE_COLUMNS``) and a tooltip with every other column."""
    row = dict(zip(COLUMNS, table_row(r), strict=True))
    warned = row.pop("warnings")
    tip = "\n".join(f"{k}: {v}" for k, v in row.items() if k not in TABLE_COLUMNS)
    cells = [row[c] for c in TABLE_COLUMNS]
    if warned:  # the mark, and the warning first in the tooltip
        cells[0] = WARNED + cells[0]
        tip = f"{WARNED}{warned}\n\n{tip}"
    return cells, tip


@dataclass(frozen=True)
class Figure3:
    """Accuracy per a1 for one sweep (fractions in [0, 1]; None where not measured)."""

    sweep: str
    epsilon: float
    a1: list[float]
    clean: list[float]
    fgsm: list[float | None]
    pgd: list[float | None]
    n: list[int]  # held-out images behind each point

    def stderr(self, values: Sequence[float | None]) -> list[float | None]:
        """Each accuracy's standard error over its n images, sqrt(p (1 - p) / n)."""
        return [
            None if v is None else math.sqrt(v * (1 - v) / max(n, 1))
            for v, n in zip(values, self.n, strict=True)
        ]


def latest_sweep(records: list[RunRecord]) -> str:
    """The sweep of the most recent record that belongs to one ("" if none does)."""
    return next((r.sweep for r in reversed(records) if r.sweep), "")


def figure3_points(records: list[RunRecord], sweep: str) -> Figure3:
    """The WR_FGSM runs of ``sweep`` only, sorted by a1 (the last run of an a1 wins)."""
    runs = {r.spec.train.a1: r for r in records if r.sweep == sweep and sweep}
    ordered = [runs[a] for a in sorted(runs)]
    eps = ordered[0].spec.eval_epsilons[0] if ordered else 0.1
    return Figure3(
        sweep=sweep,
        epsilon=eps,
        a1=[r.spec.train.a1 for r in ordered],
        clean=[r.test.clean for r in ordered],
        fgsm=[r.test.get("fgsm", eps) for r in ordered],
        pgd=[r.test.get("pgd", eps) for r in ordered],
        n=[r.test.n for r in ordered],
    )


class ResultStore:
    """Finished runs, in order, saved to ``path`` as JSON after every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[RunRecord] = []
        self.problem = ""  # a sentence for the user when the file could not be read or written

    def load(self) -> list[RunRecord]:
        if not self.path.is_file():
            return self.records
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise MetricsError(f"format {data.get('format')!r} is not {FORMAT}")
            self.records = [RunRecord.from_dict(d) for d in data["records"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.problem = f"The saved training results in {self.path} could not be read ({exc}); starting with an empty table."
            log.warning(self.problem)
        return self.records

    def add(self, record: RunRecord) -> None:
        self.records.append(record)
        self.save()

    def save(self) -> bool:
        data = {"format": FORMAT, "records": [r.to_dict() for r in self.records]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            self.problem = f"The training results could not be saved to {self.path} ({exc.strerror or exc}); they are kept until the window closes."
            log.warning(self.problem)
            return False
        return True


def figure_paths(csv_path: Path) -> tuple[Path, Path]:
    """Where ``export`` puts Figure 3 beside ``csv_path``: ``<stem>-figure3.png`` / ``.svg``."""
    stem = csv_path.with_suffix("").name
    return (
        csv_path.with_name(f"{stem}-figure3.png"),
        csv_path.with_name(f"{stem}-figure3.svg"),
    )


def export(records: list[RunRecord], sweep: str, csv_path: Path) -> list[Path]:
    """Every record to ``csv_path`` and, for ``sweep``, Figure 3 beside it (PNG and SVG),
    the same points and error bars as the window's."""
    csv_path = csv_path if csv_path.suffix.lower() == ".csv" else csv_path.with_suffix(".csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(table_row(r) for r in records)
    paths = [csv_path]
    fig = figure3_points(records, sweep)
    if fig.a1:
        e = f"{fig.epsilon:g}"
        series: dict[str, Sequence[float]] = {}
        errors: dict[str, Sequence[float]] = {}
        for label, values in (
            ("clean", fig.clean),
            (f"FGSM eps={e}", fig.fgsm),
            (f"PGD eps={e}", fig.pgd),
        ):
            if all(v is not None for v in values):
                series[label] = [100 * v for v in values if v is not None]
                errors[label] = [100 * se for se in fig.stderr(values) if se is not None]
        paths += figure3(
            figure_paths(csv_path)[0],
            fig.a1,
            series,
            errors,
            title=f"Figure 3: WR_FGSM accuracy per a1, sweep {sweep}",
            caption="error bars: 1 standard error over the held-out images, sqrt(p (1 - p) / n)",
        )
    return paths
