"""Small parts of the Train view: the robustness warning, the results table, the export dialog.

``RobustnessBanner`` shows ``core.training.robust_monitor`` findings in plain words on a
yellow band, and hides when there are none. ``ResultsTable`` shows one row per
``RunRecord`` (a stopped run's too, marked): the name and the clean / FGSM / PGD
accuracies first, sized to fit
the view's width without a sideways scroll bar (``TABLE_COLUMNS``); every other
column is in the row's tooltip and in the exported CSV. Both draw what they are
given and keep nothing else. ``ask_and_export`` asks for the CSV file to write
(a file chooser, so a typed name is taken) and says where the export went.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from fgsm_studio.core.runs.spec import RunRecord
from fgsm_studio.core.training.robust_monitor import Finding

from ..safe_text import plain, tooltip
from .results import TABLE_COLUMNS, table_cells


class RobustnessBanner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        plain(self)
        self.setStyleSheet(
            "background: #fff3cd; color: #5c3c00; border: 1px solid #e0a800; padding: 4px;"
        )
        self.findings: list[Finding] = []
        self.hide()

    def show_findings(self, found: list[Finding]) -> list[Finding]:
        """Show ``found`` (hide when empty); returns those of a kind not shown before."""
        new = [f for f in found if f.kind not in {g.kind for g in self.findings}]
        self.findings = list(found)
        self.setText("\n".join(f"\u26a0 {f.sentence()}" for f in found))
        self.setVisible(bool(found))
        return new


class ResultsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(TABLE_COLUMNS), parent)
        self.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.setToolTip("Hover a row for its details; the exported CSV has every column.")
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verticalHeader().setDefaultSectionSize(22)

    def add_record(self, record: RunRecord) -> None:
        r = self.rowCount()
        self.insertRow(r)
        cells, tip = table_cells(record)
        for c, v in enumerate(cells):
            item = QTableWidgetItem(v)
            item.setToolTip(tooltip(tip))  # the run's dataset and paths: shown as typed
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(r, c, item)
        self.scrollToBottom()


def ask_and_export(parent: QWidget, export: Callable[[Path], list[Path]]) -> str | None:
    """Ask for the CSV file, ``export`` to it; the sentence that says where (None: cancelled)."""
    name, _ = QFileDialog.getSaveFileName(
        parent,
        "Export the results table (CSV) and Figure 3",
        str(Path.home() / "training_results.csv"),
        "CSV table (*.csv)",
    )
    if not name:
        return None
    try:
        paths = export(Path(name))
    except OSError as exc:
        return f"Could not export to {name}: {exc.strerror or exc}."
    figure = " and Figure 3 beside it" if len(paths) > 1 else ""
    return f"Exported the results to {paths[0]}{figure} ({paths[0].parent})."
