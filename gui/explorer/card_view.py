"""The model card in the sidebar: its plain words always, its small print behind a switch.

``CardView`` shows the card's title, plain words and warnings (``card_summary_html``)
and under them a switch, "Training and measured figures", that opens the small
print (``card_details_html``: network, training, one line of accuracies per attack).
Closed, the small print is the card's tooltip, so a hover still shows it. With the
small print always open the PGD-AT eps 0.3 card's sixteen lines pushed the Save
buttons below a 1280x720 screen and the sidebar needed a scroll bar; closed, every
bundled card leaves the whole sidebar in view. The switch starts closed on a screen
less than 900 px tall (a 1280x720 projector), open on a taller one (1920x1080 has room
for it); once used, its position is kept in the settings. ``CardLabel`` is the
wrapped label the card and the notice are made of.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from fgsm_studio.core.models.card import ModelCard

from ..safe_text import escape
from .card_words import card_details_html, card_summary_html

DETAILS_KEY = "explorer/card_details"  # the switch's position, in the settings
TALL = 900  # px of screen: until the switch is used, it starts open on a screen this tall
MORE_TIP = (
    "How this model was trained and what was measured on it: its accuracy under each "
    "attack at each epsilon (also on hovering the card)"
)


class CardLabel(QLabel):
    """Wrapped text that always gets its whole height at its width (the card, the notice).

    A wrapped QLabel in a scrolled column got less than its height-for-width (the
    layout's minimum ignored it) and drew its last lines over the next widget (issue 24,
    14). This one says it has no height-for-width and sets its minimum height to its
    text's real height at its width instead, again whenever its width or text changes;
    the sidebar scrolls when they do not fit. Its size hints say that height too: QLabel's
    own kept presenter mode's larger type's height after Esc, and the card stood in a gap.
    """

    def hasHeightForWidth(self) -> bool:
        return False

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.minimumHeight())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.fit()

    def fit(self) -> None:
        parent = self.parentWidget()
        width = self.width() if self.width() > 50 or parent is None else parent.width()
        needed = self.height_at(width)
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def height_at(self, width: int) -> int:
        """The height its text needs at ``width`` (0 when it is hidden: it takes none)."""
        if self.isHidden():
            return 0
        doc = QTextDocument()  # (QLabel's own heightForWidth came out a line short)
        doc.setDefaultFont(self.font())
        if self.textFormat() == Qt.TextFormat.PlainText:
            doc.setPlainText(self.text())
        else:
            doc.setHtml(self.text())
        margins = self.contentsMargins()
        doc.setTextWidth(max(10, width - margins.left() - margins.right()))
        return math.ceil(doc.size().height()) + margins.top() + margins.bottom() + 4

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit()


def _rich_label() -> CardLabel:
    label = CardLabel()
    label.setTextFormat(Qt.TextFormat.RichText)  # our words; every value from a file escaped
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setMinimumWidth(0)
    return label


class CardView(QWidget):
    """The card's plain words (``summary``), the switch (``more``), the small print
    (``details``, shown while the switch is on)."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.summary = _rich_label()
        self.details = _rich_label()
        self.more = QToolButton()
        self.more.setText("Training and measured figures")
        self.more.setCheckable(True)
        self.more.setAutoRaise(True)
        self.more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more.setToolTip(MORE_TIP)
        tall = QGuiApplication.primaryScreen().availableGeometry().height() >= TALL
        kept = str(settings.value(DETAILS_KEY, "true" if tall else "false")).lower()
        self.more.setChecked(kept == "true")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.summary)
        layout.addWidget(self.more)
        layout.addWidget(self.details)
        self._show_details(self.more.isChecked())
        self.more.toggled.connect(self._on_more_toggled)

    def show_card(self, card: ModelCard, path: Path) -> None:
        """``card``'s words; its small print under the switch and, on hover, in the tooltip."""
        small = card_details_html(card)
        self.summary.setText(card_summary_html(card))
        self.details.setText(small)
        self.summary.setToolTip(f"<p>{small}<br><small>{escape(str(path))}</small></p>")
        self.more.setVisible(True)
        self.details.setVisible(self.more.isChecked())

    def show_unreadable(self, card: ModelCard, path: Path) -> None:
        """A card whose figures cannot be read: its title and that sentence, nothing to open."""
        self.summary.setText(f"<b>{escape(card.title())}</b><br><i>its card could not be read</i>")
        self.details.setText("")
        self.summary.setToolTip(f"<p>{escape(str(path))}</p>")
        self.more.setVisible(False)
        self.details.setVisible(False)

    def height_at(self, width: int) -> int:
        """The height of the card's text at ``width`` (the switch's line aside)."""
        return self.summary.height_at(width) + self.details.height_at(width)

    def _on_more_toggled(self, on: bool) -> None:
        self._show_details(on)
        self.settings.setValue(DETAILS_KEY, on)

    def _show_details(self, on: bool) -> None:
        self.more.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.details.setVisible(on and not self.more.isHidden() and bool(self.details.text()))
        self.details.fit()
