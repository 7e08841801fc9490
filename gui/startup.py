"""The first second: a real, painted window while torch loads.

``StartupPanel`` is what the Explorer tab shows until its views exist: the name,
a line saying what is loading, and a busy progress bar, drawn by Qt at once.
``import_heavy`` is a generator that imports the torch-backed modules (they take
4-12 s on a busy 2-core machine), yielding each step; the window runs it on a
superqt worker (``workers.start_generator``), so each step arrives as a queued
signal and the GUI thread keeps painting meanwhile; the caller builds the views
when it returns. A module that fails to import is returned by name as a
sentence; the caller then builds the views anyway, where the error surfaces in
the crash dialog with its traceback in the log.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Generator

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

# What the first frame needs, slowest first; each name is one step of the progress line.
HEAVY = (
    ("torch", "Loading torch (the neural-network library)..."),
    ("fgsm_studio.core.explorer.session", "Loading the attacks..."),
    ("fgsm_studio.core.models.checkpoint", "Loading the model reader..."),
    ("pyqtgraph", "Loading the charts..."),
)


class StartupPanel(QWidget):
    """Shown at once: what is happening, and a busy bar; ``on_first_paint`` runs once."""

    def __init__(self, parent: QWidget | None = None, *, steps: int = len(HEAVY)) -> None:
        super().__init__(parent)
        self.on_first_paint: Callable[[], None] | None = None
        self.title = QLabel("<h1>FGSM Studio</h1>")
        self.line = QLabel("Starting...")
        self.bar = QProgressBar()
        self.bar.setRange(0, steps)  # 0 steps: a busy bar
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(360)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.line, self.bar):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)

    def show_step(self, index: int, text: str) -> None:
        self.line.setText(text)
        self.bar.setValue(index)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.on_first_paint is not None:
            hook, self.on_first_paint = self.on_first_paint, None
            hook()


def import_heavy() -> Generator[tuple[int, str], None, str]:
    """Import ``HEAVY``, yielding (index, what is loading now) before each and at the end;
    returns "" or the sentence naming the module that could not be imported."""
    for i, (name, text) in enumerate(HEAVY):
        yield i, text
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"{name} could not be loaded: {exc}"
    yield len(HEAVY), "Opening the window..."
    return ""
