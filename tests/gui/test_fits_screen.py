"""The window fits a 1280x720 projector: every visible control lies on the screen.

The main window is sized for a 1280x720 screen (``fitted_size``), shown with its
first frame, and every visible control (buttons, combo boxes, sliders, spin
boxes, tabs, charts) must lie inside the window and be fully visible, not clipped
by the window's edge (the old 1360x860 window put the charts and the Save/Copy
buttons off such a screen). Also in presenter mode, and on large screens.
"""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QWidget,
)

from fgsm_studio.gui.main_window import TITLE_BAR, MainWindow, fitted_size

CONTROLS = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, pg.PlotWidget)


def test_fitted_size_fits_a_projector_and_grows_on_large_screens():
    small = fitted_size(QRect(0, 0, 1280, 720))
    assert (small.width(), small.height()) == (1280, 720 - TITLE_BAR)
    hd = fitted_size(QRect(0, 0, 1920, 1080))
    assert 1280 < hd.width() <= 1920 and 720 - TITLE_BAR < hd.height() <= 1080 - TITLE_BAR
    uhd = fitted_size(QRect(0, 0, 3840, 2160))
    assert uhd.width() <= 3840 and uhd.height() <= 2160 - TITLE_BAR


def box(w: QWidget, window: QWidget) -> QRect:
    return QRect(w.mapTo(window, QPoint(0, 0)), w.size())


def ancestors(w: QWidget):
    """Every parent up to the window: each clips what lies outside it (a scroll area's too)."""
    parent = w.parentWidget()
    while parent is not None and not parent.isWindow():
        yield parent
        parent = parent.parentWidget()


def outside(window) -> list[str]:
    """The visible controls not wholly inside the window (or clipped by their parents)."""
    frame = window.rect()
    bad = []
    for w in window.findChildren(QWidget):
        if not isinstance(w, CONTROLS):
            continue
        if not w.isVisibleTo(window) or w.window() is not window:
            continue
        r = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
        if not frame.contains(r) or any(not box(a, window).contains(r) for a in ancestors(w)):
            bad.append(f"{type(w).__name__} {w.text() if hasattr(w, 'text') else ''} at {r}")
    return bad


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    size = fitted_size(QRect(0, 0, 1280, 720))
    win.resize(size)
    win.show()
    win.finish_setup()
    with qtbot.waitSignal(win.explorer.frame_rendered, timeout=60000):
        pass
    qtbot.waitUntil(lambda: win.explorer.idle, timeout=30000)
    yield win
    win.set_presenter_look(False)
    win.shutdown()


def test_every_visible_control_lies_on_a_1280x720_screen(window, qtbot):
    size = fitted_size(QRect(0, 0, 1280, 720))
    assert window.width() <= size.width() and window.height() <= size.height()
    assert window.minimumSizeHint().height() <= size.height()
    bad = outside(window)
    assert bad == [], "\n".join(bad)


def test_presenter_mode_fits_a_1280x720_screen(window, qtbot, settle):
    window.set_presenter_look(True)  # full screen aside: offscreen has no 1280x720 screen
    settle(window)
    assert window.minimumSizeHint().height() <= 720
    window.resize(1280, 720)
    settle(window)
    bad = outside(window)
    assert bad == [], "\n".join(bad)
    assert window.explorer.attack.next.isVisible()  # samples can be stepped through
