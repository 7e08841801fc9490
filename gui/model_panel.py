"""The model panel: bundled models, opened checkpoints, recent files, the card.

Emits ``model_chosen(path)`` and ``compare_chosen(path or "")``; it never loads
anything itself (the explorer loads off the GUI thread). Recent checkpoints are
kept in QSettings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.bundled import ModelEntry
from fgsm_studio.core.checkpoint import ModelCard

MAX_RECENT = 8


def card_html(card: ModelCard, path: Path) -> str:
    t, m = card.training, card.metrics
    if card.defense == "wr_fgsm":
        how = (
            f"WR_FGSM-defended: a1={t.get('a1', '?')}, a2={t.get('a2', '?')}, "
            f"{t.get('reg', 'scaled')} penalty, trained at eps={t.get('epsilon', '?')}"
        )
    else:
        how = "standard training (no defense)"
    rows = []
    if "clean" in m:
        rows.append(f"<tr><td>clean</td><td colspan=9><b>{100 * m['clean']:.1f}%</b></td></tr>")
    for attack, per in m.get("attacks", {}).items():
        cells = " ".join(f"<td>{e}: <b>{100 * v:.1f}%</b></td>" for e, v in per.items())
        rows.append(f"<tr><td>{attack.upper()}</td>{cells}</tr>")
    held = m.get("held_out", "")
    n = f", n={m['n']}" if "n" in m else ""
    table = (
        f"<table cellspacing=3>{''.join(rows)}</table><i>held-out: {held}{n}</i>"
        if rows
        else "<i>no measured accuracies in this card</i>"
    )
    return (
        f"<b>{card.title()}</b><br>{card.arch}, {card.num_classes} classes, "
        f"{card.in_channels}x{card.image_size}x{card.image_size} input, dataset {card.dataset}<br>"
        f"{how}<br>{table}<br><small>{path.name}</small>"
    )


class ModelPanel(QWidget):
    model_chosen = Signal(object)  # Path
    compare_chosen = Signal(object)  # Path or None

    def __init__(
        self, entries: list[ModelEntry], settings: QSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.combo = QComboBox()
        self.combo.setToolTip("The model under attack")
        self.compare = QComboBox()
        self.compare.setToolTip(
            "A second model fed the same adversarial image (the defended twin by default)"
        )
        self.open_button = QPushButton("Open checkpoint...")
        self.recent_button = QPushButton("Recent")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        self.card = QLabel()
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setMinimumWidth(260)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.recent_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Model</b>"))
        layout.addWidget(self.combo)
        layout.addLayout(row)
        layout.addWidget(self.card)
        layout.addWidget(QLabel("<b>Compare with</b>"))
        layout.addWidget(self.compare)
        self.compare.addItem("(nothing)", None)
        for e in entries:
            self._add(e.path, f"{e.title}", e.summary())
        from fgsm_studio.core.imagenet import virtual_sources

        for source, title in virtual_sources():
            self.combo.addItem(title, source)
        self.combo.activated.connect(self._on_combo_activated)
        self.compare.activated.connect(self._on_compare_activated)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self._refresh_recent()

    def _add(self, path: Path, title: str, tip: str = "") -> int:
        for combo in (self.combo, self.compare):
            combo.addItem(title, path)
            combo.setItemData(combo.count() - 1, tip or str(path), 3)  # Qt.ToolTipRole
        return self.combo.count() - 1

    def index_of(self, source: Path | str) -> int:
        for i in range(self.combo.count()):
            if str(self.combo.itemData(i)) == str(source):
                return i
        return -1

    def select(
        self, path: Path, card: ModelCard | None = None, source: Path | str | None = None
    ) -> None:
        """Show ``path`` (opened as ``source``) as the current model, adding it to the list if new."""
        i = self.index_of(source) if source is not None else -1
        if i < 0:
            i = self.index_of(path)
        if i < 0:
            i = self._add(Path(path), f"{card.title() if card else Path(path).name} (opened)")
        self.combo.setCurrentIndex(i)
        if card is not None:
            self.card.setText(card_html(card, Path(path)))

    def select_compare(self, path: Path | None) -> None:
        if path is None:
            self.compare.setCurrentIndex(0)
            return
        for i in range(1, self.compare.count()):
            if Path(self.compare.itemData(i)) == Path(path):
                self.compare.setCurrentIndex(i)
                return

    def remember(self, path: Path) -> None:
        recent = [p for p in self.recent() if p != str(path)]
        self.settings.setValue("recent_models", [str(path), *recent][:MAX_RECENT])
        self.settings.sync()
        self._refresh_recent()

    def recent(self) -> list[str]:
        value = self.settings.value("recent_models", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.recent() if Path(p).is_file()]
        for p in recent:
            self.recent_menu.addAction(Path(p).name, lambda p=p: self.model_chosen.emit(Path(p)))
        self.recent_button.setEnabled(bool(recent))

    def _on_combo_activated(self, index: int) -> None:
        data = str(self.combo.itemData(index))
        self.model_chosen.emit(data if data.startswith("imagenet:") else Path(data))

    def _on_compare_activated(self, index: int) -> None:
        data = self.compare.itemData(index)
        self.compare_chosen.emit(None if data is None else Path(data))

    def _on_open_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a model checkpoint",
            str(Path.home()),
            "Checkpoints (*.safetensors *.pth *.pt);;All files (*)",
        )
        if path:
            self.model_chosen.emit(Path(path))
