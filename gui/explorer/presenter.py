"""Presenter mode's look, and the Explorer's keys wherever the focus is.

``PRESENTER_STYLE``: light on black, large type, high contrast (the spin boxes'
arrows included), for a 1280x720 projector read from the back of a room.
``ExplorerKeys``: in the Explorer tab, Left/Right/Space step through the samples
(through the walk-through instead while it is open) and 1-4 choose the attack even
when the focus is on the tab bar or a button (which would otherwise take the
arrows); text and spin fields and the epsilon slider keep the keys they use. This module imports only Qt (the window paints
before torch is imported).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

if TYPE_CHECKING:
    from ..main_window import MainWindow

log = logging.getLogger(__name__)

# Spin-box arrows: a styled spin box draws no arrows of its own, so each is a triangle made
# of its borders (black on the yellow button), visible from the back of a room.
PRESENTER_STYLE = """
QWidget { background: #000; color: #fff; }
QPushButton, QComboBox, QSpinBox, QDoubleSpinBox {
    background: #222; color: #fff; border: 2px solid #ccc; padding: 3px 8px; }
QPushButton:disabled, QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled {
    background: #000; color: #666; border: 2px dashed #555; }
QCheckBox::indicator { width: 22px; height: 22px; border: 2px solid #fff; background: #000; }
QCheckBox::indicator:checked { background: #ffd400; border-color: #ffd400; }
QCheckBox:disabled, QLabel:disabled { color: #666; }
QCheckBox::indicator:disabled { background: #000; border: 2px dashed #555; }
QCheckBox::indicator:checked:disabled { background: #665500; border: 2px dashed #555; }
QSlider::groove:horizontal { height: 14px; background: #555; }
QSlider::handle:horizontal { width: 30px; background: #ffd400; margin: -8px 0; }
QToolTip { background: #ffffe0; color: #000; border: 1px solid #000; }
QPushButton, QComboBox, QCheckBox, QAbstractSpinBox, QMenuBar, QTabBar::tab { font-size: 15pt; }
#controls QLabel { font-size: 15pt; }
#walkthrough QLabel { font-size: 13pt; }
QAbstractSpinBox { padding: 0 40px 0 4px; min-width: 3em; min-height: 1.7em; }
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {
    subcontrol-origin: border; width: 36px; background: #ffd400; border: 1px solid #000; }
QAbstractSpinBox::up-button { subcontrol-position: top right; }
QAbstractSpinBox::down-button { subcontrol-position: bottom right; }
QAbstractSpinBox::up-button:pressed, QAbstractSpinBox::down-button:pressed { background: #fff; }
QAbstractSpinBox::up-arrow, QAbstractSpinBox::down-arrow { width: 0; height: 0;
    border-left: 10px solid #ffd400; border-right: 10px solid #ffd400; }
QAbstractSpinBox::up-arrow { border-bottom: 11px solid #000; border-top: 0; }
QAbstractSpinBox::down-arrow { border-top: 11px solid #000; border-bottom: 0; }
QAbstractSpinBox::up-button:disabled, QAbstractSpinBox::down-button:disabled { background: #555; }
QAbstractSpinBox::up-arrow:disabled, QAbstractSpinBox::down-arrow:disabled {
    border-left-color: #555; border-right-color: #555; }
QTabBar::tab { background: #222; color: #fff; padding: 4px 12px; }
QTabBar::tab:selected { background: #444; }
"""


STEP_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Space)
ATTACK_KEYS = tuple(Qt.Key.Key_1 + i for i in range(9))
CURVE_KEY = Qt.Key.Key_C  # presenter mode: show or hide the curve
TEXT_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


def keeps_key(widget: QWidget, key: int, *, tour: bool = False) -> bool:
    """Whether ``widget`` (the focus) uses ``key`` itself rather than the Explorer's keys:
    text and spin fields keep every key, the slider its arrows (they move epsilon), a
    button or checkbox its Space (it presses it), a combo box the digits (they pick).
    While the walk-through is open (``tour``) Space steps it on from a button too: the
    Back button a presenter clicked last must not take it backwards."""
    if isinstance(widget, TEXT_FIELDS):
        return True
    if tour and key == Qt.Key.Key_Space:
        return False
    if isinstance(widget, QComboBox):
        return widget.isEditable() or key in (*ATTACK_KEYS, CURVE_KEY)
    if isinstance(widget, QAbstractSlider):
        return key != Qt.Key.Key_Space
    return isinstance(widget, QAbstractButton) and key == Qt.Key.Key_Space


class ExplorerKeys(QObject):
    """In the Explorer tab, Left/Right/Space step through the samples and 1/2/3 choose the
    attack whatever has the focus (the tab bar, a button, a chart), unless the focus uses
    that key itself (``keeps_key``); Ctrl+Tab and other keys with modifiers pass. It
    watches only the focus widget (it moves with the focus): no cost to other events."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.main = window
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_app_focus_changed)

    def _on_app_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        for widget, install in ((old, False), (new, True)):
            if widget is None:
                continue
            try:
                if install:
                    widget.installEventFilter(self)
                else:
                    widget.removeEventFilter(self)
            except RuntimeError:  # a widget being deleted as the focus leaves it
                log.debug("focus left a deleted widget")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(watched, QWidget):
            return False
        explorer = self.main.explorer
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if (
            explorer is None
            or mods != Qt.KeyboardModifier.NoModifier
            or key not in (*STEP_KEYS, *ATTACK_KEYS, CURVE_KEY)
            or watched.window() is not self.main
            or self.main.tabs.currentWidget() is not explorer
            or keeps_key(watched, key, tour=explorer.walkthrough.isVisible())
        ):
            return False
        if key == CURVE_KEY:
            if not explorer.state.presenter or keeps_key(watched, key):
                return False
            self.main.act_curve.toggle()
            return True
        copy = QKeyEvent(event)
        explorer.keyPressEvent(copy)
        return copy.isAccepted()
