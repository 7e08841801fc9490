"""The Train view's results: run records (``core.runs.record_store``) and what is drawn from them.

The runs live in a ``core.runs.record_store.RecordStore`` in the user data folder
(``train-runs/runs/<n>.<key>.json``: the records, schema and reader of
``reproduce``; an old ``train_results.json`` is moved in on first start), finished
and stopped runs alike, so the table comes back after a restart. The results table
(``TABLE_COLUMNS``, ``table_cells``: the name and clean / FGSM / PGD first, narrow
enough for 1280x720; a stopped run is marked "(stopped)", a run the robustness
monitor warned about with a warning sign), the export (``core.reports.runs_csv``, the
report's ``runs.csv`` format, every column) and Figure 3 (``figure3_points``: the
finished runs of ONE sweep, by a1, through the report's own
``report_figures.figure3_data``: error bars are 95% confidence intervals) all read
records, never widget cells. No Qt here.
"""

from __future__ import annotations

from pathlib import Path

from fgsm_studio.core.reports.figures import Figure3Data, draw_figure3, figure3_data
from fgsm_studio.core.reports.report import summarize
from fgsm_studio.core.reports.runs_csv import row, write_runs_csv
from fgsm_studio.core.runs.record_store import RecordStore
from fgsm_studio.core.runs.spec import RunRecord

WARNED = "\u26a0 "  # before a run's name in the table: the robustness monitor found something
STOPPED = " (stopped)"  # after a stopped run's name
# What the window's table shows (the CSV has every column; the rest is in a row's tooltip).
TABLE_COLUMNS = ["name", "clean %", "FGSM %", "PGD %", "eps", "defense"]
# The tooltip's words for the CSV's column names where they differ.
TIP = {
    "arch": "model",
    "reg": "penalty",
    "train_eps": "trained at eps",
    "selection": "best epoch by",
    "epochs_run": "epochs run",
    "best_epoch": "best epoch",
    "stopped_at": "stopped at",
    "n_test": "held-out images",
    "n_worst": "worst-case images",
    "train_s": "training seconds",
}


def train_store(data_dir: Path) -> RecordStore:
    """The Train tab's runs under ``data_dir`` (the old ``train_results.json`` moved in)."""
    return RecordStore(data_dir / "train-runs", legacy=data_dir / "train_results.json")


def table_cells(r: RunRecord) -> tuple[list[str], str]:
    """The window's row (``TABLE_COLUMNS``) and a tooltip with every other column."""
    cells = row(r)  # the CSV's cells: one source for both
    eps = f"{r.spec.eval_epsilons[0]:g}"
    shown = [
        r.name + (STOPPED if r.stopped is not None else ""),
        cells["clean %"] or "-",
        cells.get(f"fgsm@{eps} %") or "-",
        cells.get(f"pgd@{eps} %") or "-",
        eps,
        cells["defense"],
    ]
    said = {"name", "status", "clean %", f"fgsm@{eps} %", f"pgd@{eps} %", "defense", "warnings"}
    lines = [f"{TIP.get(k, k)}: {v}" for k, v in cells.items() if v and k not in said]
    if r.stopped is not None:
        lines.insert(0, f"{r.stopped.where or 'Stopped: ' + r.stopped.words()}.")
        lines.insert(1, _best_validated(r))
    tip = "\n".join(lines)
    if cells["warnings"]:  # the mark, and the warning first in the tooltip
        shown[0] = WARNED + shown[0]
        tip = f"{WARNED}{cells['warnings']}\n\n{tip}"
    return shown, tip


def _best_validated(r: RunRecord) -> str:
    best = [h for h in r.history if h.epoch == r.best_epoch]
    if not best:
        return "No epoch was validated: nothing was saved."
    b = best[0]
    pgd = "-" if b.val_pgd_acc is None else f"{100 * b.val_pgd_acc:.1f}%"
    return (
        f"Best validated epoch {b.epoch}: clean {100 * b.val_acc:.1f}%, FGSM "
        f"{100 * b.val_fgsm_acc:.1f}%, PGD {pgd} (validation, not held-out)."
    )


def latest_sweep(records: list[RunRecord]) -> str:
    """The sweep of the most recent record that belongs to one ("" if none does)."""
    return next((r.sweep for r in reversed(records) if r.sweep), "")


def figure3_points(records: list[RunRecord], sweep: str) -> Figure3Data | None:
    """The finished WR_FGSM runs of ``sweep`` only, by a1 (the last run of an a1 wins),
    as the report draws Figure 3 (None: no run to draw)."""
    runs = {r.spec.train.a1: r for r in records if sweep and r.sweep == sweep and r.test}
    if not runs:
        return None
    return figure3_data(summarize([runs[a] for a in sorted(runs)]), complete=True)


def figure_paths(csv_path: Path) -> tuple[Path, Path]:
    """Where ``export`` puts Figure 3 beside ``csv_path``: ``<stem>-figure3.png`` / ``.svg``."""
    stem = csv_path.with_suffix("").name
    return (
        csv_path.with_name(f"{stem}-figure3.png"),
        csv_path.with_name(f"{stem}-figure3.svg"),
    )


def export(records: list[RunRecord], sweep: str, csv_path: Path) -> list[Path]:
    """Every record to ``csv_path`` (``core.reports.runs_csv``) and, for ``sweep``, Figure 3
    beside it (PNG and SVG), the same points, error bars and caption as the report's."""
    csv_path = csv_path if csv_path.suffix.lower() == ".csv" else csv_path.with_suffix(".csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    paths = [write_runs_csv(csv_path, records)]
    fig = figure3_points(records, sweep)
    if fig is not None:
        paths += draw_figure3(
            figure_paths(csv_path)[0], fig, f"Figure 3: WR_FGSM accuracy per a1, sweep {sweep}"
        )
    return paths
