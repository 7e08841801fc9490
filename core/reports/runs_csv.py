"""The one CSV of runs: one row per run record, for ``reproduce``'s report and the Train tab.

``reproduce`` writes it as ``OUT/runs.csv`` (``core.reports.report``) and the Train tab's
Export as the file the user names; both call ``write_runs_csv``, so the two files
have the same columns and meanings. Accuracies are percentages of the held-out
images (``n_test``; the worst case on its own ``n_worst``), one column per attack
and epsilon measured (``fgsm@0.1 %``). Options that do not apply to a run are
empty (a1 of a standard model; a2 and the penalty of a non-WR_FGSM defense). A
stopped run (``status`` "stopped") has ``stopped_at`` (its epoch and batch) and no
held-out figures. ``warnings``: what the robustness monitor found in its epochs
(only looks robust, PGD collapsed ...); ``flags``: the report's (at chance, loss
did not fall). ``train_s`` is the only column that depends on the machine.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from ..catalogue import defended, is_paper
from ..measure.evaluation import WORST_CASE
from ..runs.experiments import run_warnings
from ..runs.spec import RunRecord
from .stats import run_flags

HEAD = [
    "name",
    "status",
    "dataset",
    "arch",
    "defense",
    "a1",
    "a2",
    "reg",
    "train_eps",
    "fold",
    "folds",
    "selection",
    "epochs",
    "epochs_run",
    "best_epoch",
    "stopped_at",
    "n_test",
    "clean %",
]
TAIL = ["n_worst", "train_s", "checkpoint", "sweep", "key", "warnings", "flags"]
_FIRST = {"fgsm": 0, "pgd": 1}  # FGSM, then PGD, then the others by name, at each epsilon


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.2f}"


def attack_columns(records: Sequence[RunRecord]) -> list[str]:
    """``<attack>@<eps> %`` for every attack and epsilon any record measured, then the worst case."""
    pairs = {(a, e) for r in records if r.test for a, per in r.test.attacks.items() for e in per}
    worst = {e for r in records if r.robust for e in r.robust.attacks.get(WORST_CASE, {})}
    ordered = sorted(pairs, key=lambda p: (p[1], _FIRST.get(p[0], 2), p[0]))
    return [f"{a}@{e:g} %" for a, e in ordered] + [f"worst@{e:g} %" for e in sorted(worst)]


def columns(records: Sequence[RunRecord]) -> list[str]:
    return HEAD + attack_columns(records) + TAIL


def row(r: RunRecord) -> dict[str, str]:
    """The record's cells by column name (an attack column it lacks is absent)."""
    t, wr, std = r.spec.train, is_paper(r.spec.train.defense), not defended(r.spec.train.defense)
    cells = {
        "name": r.name,
        "status": "stopped" if r.stopped is not None else "finished",
        "dataset": r.spec.dataset,
        "arch": t.arch,
        "defense": t.defense,
        "a1": "" if std else f"{t.a1:g}",
        "a2": f"{t.a2:g}" if wr else "",
        "reg": t.reg if wr else "",
        "train_eps": "" if std else f"{t.epsilon:g}",
        "fold": str(r.spec.fold) if r.spec.folds else "",
        "folds": str(r.spec.folds) if r.spec.folds else "train/test split",
        "selection": t.selection,
        "epochs": str(t.epochs),
        "epochs_run": str(r.epochs_run),
        "best_epoch": str(r.best_epoch) if r.best_epoch else "",
        "stopped_at": r.stopped.words() if r.stopped is not None else "",
        "n_test": str(r.test.n) if r.test is not None else "",
        "clean %": _pct(r.test.clean) if r.test is not None else "",
        "n_worst": str(r.robust.n) if r.robust is not None else "",
        "train_s": f"{r.train_seconds:.0f}",
        "checkpoint": r.saved_to or "",
        "sweep": r.sweep,
        "key": r.key,
        "warnings": " | ".join(w["text"] for w in run_warnings(r)),
        "flags": "; ".join(run_flags(r)),
    }
    if r.test is not None:
        for a, per in r.test.attacks.items():
            for e, v in per.items():
                cells[f"{a}@{e:g} %"] = _pct(v)
    if r.robust is not None:
        for e, v in r.robust.attacks.get(WORST_CASE, {}).items():
            cells[f"worst@{e:g} %"] = _pct(v)
    return cells


def write_runs_csv(path: str | Path, records: Sequence[RunRecord]) -> Path:
    """Every record as one row of ``path`` (UTF-8, the columns of ``columns``)."""
    path = Path(path)
    cols = columns(records)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, restval="")
        w.writeheader()
        w.writerows(row(r) for r in records)
    return path
