"""Text from files and folders stays text on screen: one helper for every label.

Qt reads a ``QLabel``'s text, a tooltip or a message box as HTML whenever it
"might be rich text" (``Qt.AutoText``): a class folder named
``<h1 style='color:red'>HACKED</h1>`` became a red heading, and an ``<img>``
there would make Qt's own image readers, outside FGSM Studio's decoder
allow-list and bounds, open a local file. So:

* ``PlainLabel`` is a ``QLabel`` that is always ``Qt.PlainText``: use it for any
  label whose text can hold a name, a path or a message from core;
* ``escape`` is ``html.escape`` for the labels that are rich text on purpose
  (the card, the verdict), and ``tooltip`` makes a tooltip that shows its text
  as typed;
* both remove bidirectional controls (``core.names.strip_bidi``), so a name
  reads in the order it is stored.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from fgsm_studio.core.names import BIDI_CONTROLS, strip_bidi

__all__ = ["BIDI_CONTROLS", "PlainLabel", "escape", "plain", "plain_box", "tooltip"]


def escape(text: object, quote: bool = True) -> str:
    """``text`` for a rich-text label: HTML escaped, bidirectional controls removed."""
    return html.escape(strip_bidi(str(text)), quote)


def tooltip(text: object) -> str:
    """A tooltip that shows ``text`` as typed (rich text, every character escaped)."""
    return f"<p>{escape(text).replace(chr(10), '<br>')}</p>" if str(text) else ""


def plain(label: QLabel) -> QLabel:
    """Make ``label`` plain text (and return it)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_box(box: QMessageBox) -> QMessageBox:
    """Make a message box's text plain (and return it)."""
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


class PlainLabel(QLabel):
    """A label that always shows its text as typed, without bidirectional controls."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(strip_bidi(text))
