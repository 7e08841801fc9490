"""The model panel: bundled models, opened checkpoints, recent files, the card (``card_view``).

Emits ``model_chosen(path)`` and ``compare_chosen(path or None)``; it never loads
anything itself (the explorer loads off the GUI thread). It shows the state's
model and compare model: when a load ends, failed or not, the combo boxes show
what is really loaded. Recent checkpoints are kept in QSettings, merged with
what another window saved meanwhile; a value of the wrong type there is reset.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.measure.evaluation import MetricsError
from fgsm_studio.core.models.bundled import ModelEntry

from ..safe_text import escape, tooltip
from . import ways_in
from .card_view import CardLabel, CardView
from .card_words import plain_words
from .state import ExplorerState

log = logging.getLogger(__name__)

COMPARE_WORDS = {  # one sentence under the switch: what the compare model is shown
    "own": "Each model is attacked with its own gradient.",
    "transfer": "Transfer: it only judges the image made against the model above, "
    "which flatters a defense.",
}
TRANSFER_TIP = (
    "<p>Off (the default): the compare model is attacked with its own gradient, as an "
    "attacker who knows it would; the fair test of a defense. On: it judges the image "
    "crafted against the model above (a transfer attack), which is usually weaker, so "
    "the defense looks stronger than it is.</p>"
)


# The other-writers sets (``core.data.other_writers``, ``fgsm-studio-cli measure --publish``),
# the first found speaks: real handwriting before rendered fonts.


def fit_popup(combo: QComboBox, most: int = 900) -> None:
    """The list as wide as its longest name (up to ``most`` px, beyond which a name is
    elided in the middle, whole in its tooltip): long names are never cut off."""
    view = combo.view()
    metrics = view.fontMetrics()
    widest = max(
        (metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0
    )
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    view.setMinimumWidth(min(max(420, widest + 48), most))
    for i in range(combo.count()):  # every row has its full name on hover
        if not combo.itemData(i, Qt.ItemDataRole.ToolTipRole):
            combo.setItemData(i, combo.itemText(i), Qt.ItemDataRole.ToolTipRole)


def entry_tip(entry: ModelEntry) -> str:
    """A model's tooltip in the lists: its title, plain words, figures and file, as rich
    text with every value from the file escaped (a card named ``<b>x</b>`` shows as typed)."""
    figures = escape(entry.summary())
    return (
        f"<p><b>{escape(entry.title)}</b><br>{plain_words(entry.card)}"
        f"{'<br>' + figures if figures else ''}<br><small>{escape(str(entry.path))}</small></p>"
    )


class ModelPanel(QWidget):
    model_chosen = Signal(object)  # Path
    compare_chosen = Signal(object)  # Path or None

    def __init__(
        self,
        state: ExplorerState,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.combo = QComboBox()
        self.combo.setToolTip("The model under attack")
        self.compare = QComboBox()
        self.compare.setToolTip(
            "A second model (the defended twin by default), attacked with its own gradient "
            "beside the model above"
        )
        for combo in (self.combo, self.compare):  # long titles: the popup shows them whole
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(16)
            combo.view().setMinimumWidth(420)
        self.open_button = QPushButton("Open checkpoint...")
        self.recent_button = QPushButton("Recent")
        self.open_button.setToolTip("Attack a model file of your own (.safetensors, .pth)")
        self.recent_button.setToolTip("Model files you opened before")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        self.recent_menu.triggered.connect(self._on_recent_menu_triggered)
        # the card's plain words; its small print (``details``) under the ``more`` switch
        self.card_view = CardView(settings)
        self.card, self.details, self.more = (
            self.card_view.summary,
            self.card_view.details,
            self.card_view.more,
        )
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.recent_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Model</b>"))
        layout.addWidget(self.combo)
        layout.addLayout(row)
        # A sentence that stays (not a banner that goes): why a model could not be used
        # and what to do instead, e.g. an ImageNet model whose download failed offline.
        self.notice = CardLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setStyleSheet(
            "QLabel { background:#fff3cd; color:#5c3c00; border:1px solid #e0a800; padding:4px; }"
        )
        self.notice.hide()
        self.offer = QPushButton()
        self.offer.hide()
        self._offered: str | None = None
        layout.addWidget(self.notice)
        layout.addWidget(self.offer)
        layout.addWidget(self.card_view)
        self.transfer = QCheckBox("same image (transfer)")
        self.transfer.setToolTip(TRANSFER_TIP)
        heading = QHBoxLayout()  # the switch beside the heading: the sidebar fits 720 px
        heading.addWidget(QLabel("<b>Compare with</b>"))
        heading.addStretch(1)
        heading.addWidget(self.transfer)
        layout.addLayout(heading)
        layout.addWidget(self.compare)
        self.transfer_words = QLabel(COMPARE_WORDS["own"])
        self.transfer_words.setWordWrap(True)
        self.transfer_words.setTextFormat(Qt.TextFormat.PlainText)
        self.transfer_words.setStyleSheet("color:#555;")
        layout.addWidget(self.transfer_words)
        self.compare.addItem("(nothing)", None)
        self._shown: set[str] = set()  # the catalogue's entries in the lists
        self._on_state_catalogue_changed()
        from fgsm_studio.core.models.imagenet import virtual_sources

        for source, title in virtual_sources():
            self.combo.addItem(title, source)
        fit_popup(self.combo)
        self.combo.activated.connect(self._on_combo_activated)
        self.compare.activated.connect(self._on_compare_activated)
        self.transfer.toggled.connect(self._on_transfer_toggled)
        self.offer.clicked.connect(self._on_offer_clicked)
        state.compare_mode_changed.connect(self._on_state_compare_mode_changed)
        self.open_button.clicked.connect(self.open_checkpoint_dialog)
        state.model_changed.connect(self._on_state_model_changed)
        state.compare_changed.connect(self._show_compare)
        state.loading_changed.connect(self._on_state_loading_changed)
        state.catalogue_changed.connect(self._on_state_catalogue_changed)
        state.recent_changed.connect(self._on_state_recent_changed)
        self._on_state_recent_changed()

    def _add_entry(self, entry: ModelEntry, suffix: str) -> None:
        if str(entry.path) not in self._shown:
            self._shown.add(str(entry.path))
            self._add(entry.path, entry.title + suffix, entry_tip(entry))

    def _on_state_catalogue_changed(self) -> None:
        for e in self.state.catalogue:
            self._add_entry(e, "")
        for e in self.state.opened:
            self._add_entry(e, " (opened)")

    def _add(self, path: Path, title: str, tip: str) -> int:
        for combo in (self.combo, self.compare):
            combo.addItem(title, path)
            combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            fit_popup(combo)
        return self.combo.count() - 1

    def index_of(self, source: Path | str) -> int:
        for i in range(self.combo.count()):
            if str(self.combo.itemData(i)) == str(source):
                return i
        return -1

    def _show_model(self) -> None:
        """Select the state's model (as it was opened), adding it to the list if new."""
        loaded = self.state.model
        if loaded is None:
            return
        i = self.index_of(loaded.source)
        if i < 0:
            i = self.index_of(loaded.path)
        if i < 0:  # (the controller adds what it opens to the state's catalogue first)
            log.warning("%s is not in the model list", loaded.path)
            return
        try:  # cards are checked at load; should one still fail, never show the last one's
            self.card_view.show_card(loaded.card, loaded.path)
        except (MetricsError, ValueError, TypeError):
            self.card_view.show_unreadable(loaded.card, loaded.path)
        self.combo.setCurrentIndex(i)
        self.combo.setToolTip(tooltip(f"The model under attack: {self.combo.itemText(i)}"))

    def _show_compare(self) -> None:
        compare = self.state.compare
        if compare is None:
            self.compare.setCurrentIndex(0)
            return
        for i in range(1, self.compare.count()):
            if Path(self.compare.itemData(i)) == compare.path:
                self.compare.setCurrentIndex(i)
                return

    def _offer_compatible(self) -> None:
        """The compare list offers only models of the same classes and input as the model."""
        card = self.state.card
        view = self.compare.view()
        if card is None or not isinstance(view, QListView):
            return
        cards = {str(e.path): e.card for e in (*self.state.catalogue, *self.state.opened)}
        for i in range(1, self.compare.count()):
            other = cards.get(str(self.compare.itemData(i)))
            fits = other is None or (
                other.class_names == card.class_names
                and other.in_channels == card.in_channels
                and other.image_size == card.image_size
            )
            view.setRowHidden(i, not fits)

    def _on_state_model_changed(self) -> None:
        self.clear_notice()
        self._show_model()
        self._offer_compatible()

    def _on_state_loading_changed(self, what: str, source: object) -> None:
        if source is None:  # done, or failed: show what is really loaded
            if what == "model":
                self._show_model()
            else:
                self._show_compare()

    def _on_state_recent_changed(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.state.recent if Path(p).is_file()]
        for p in recent:
            self.recent_menu.addAction(Path(p).name).setData(p)
        self.recent_button.setEnabled(bool(recent))

    def _on_recent_menu_triggered(self, action: QAction) -> None:
        self.model_chosen.emit(Path(str(action.data())))

    def _on_combo_activated(self, index: int) -> None:
        data = str(self.combo.itemData(index))
        self.model_chosen.emit(data if data.startswith("imagenet:") else Path(data))

    def show_notice(
        self, text: str, *, offer: tuple[str, str] | None = None, details: str = ""
    ) -> None:
        """A sentence that stays until the next model loads, and (``offer``: source, title)
        a button that loads another model instead."""
        self.notice.setText(text)
        self.notice.setToolTip(tooltip(details))
        self.notice.show()
        self._offered = None if offer is None else offer[0]
        self.offer.setVisible(offer is not None)
        if offer is not None:
            self.offer.setText(f"Use {offer[1]}")

    def clear_notice(self) -> None:
        self.notice.hide()
        self.offer.hide()
        self._offered = None

    def _on_offer_clicked(self) -> None:
        if self._offered is not None:
            self.model_chosen.emit(self._offered)

    def _on_transfer_toggled(self, on: bool) -> None:
        self.state.set_compare_mode("transfer" if on else "own")

    def _on_state_compare_mode_changed(self, mode: str) -> None:
        with QSignalBlocker(self.transfer):
            self.transfer.setChecked(mode == "transfer")
        self.transfer_words.setText(COMPARE_WORDS[mode])

    def _on_compare_activated(self, index: int) -> None:
        data = self.compare.itemData(index)
        self.compare_chosen.emit(None if data is None else Path(data))

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a model checkpoint",
            ways_in.last_folder(self.settings),  # shared with the images
            "Checkpoints (*.safetensors *.pth *.pt);;All files (*)",
        )
        if path:
            ways_in.remember_folder(self.settings, path)
            self.model_chosen.emit(Path(path))
