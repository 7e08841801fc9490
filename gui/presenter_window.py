"""The main window's size on its screen, and its presenter mode: ``PresenterWindow``.

``fitted_size``: the size a window opens at on a screen (all of a 1280x720 projector
less the title bar, 85% of a larger screen). ``PresenterWindow``, the main window's
base: presenter mode full screen on the screen chosen for it (View > Presenter mode on
screen, remembered by name), the presenter look (large type, light on black) over the
whole application, and on leaving it the window exactly where and as large as it was,
never larger than its screen nor its title bar off it. It hides the window's bars and
tells the Explorer; the window (``main_window.MainWindow``) builds them. This module
imports only Qt (the window paints before torch is imported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize
from PySide6.QtGui import QAction, QFont, QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QTabWidget

from .explorer.presenter import PRESENTER_STYLE

if TYPE_CHECKING:  # torch-backed: imported at run time only once the window is up
    from .explorer.view import ExplorerView

TITLE_BAR = 40  # title bar and borders, drawn by the window manager outside our size


def fitted_size(screen: QScreen | QRect | None) -> QSize:
    """The window's size on ``screen`` (or its available area): all of a small one
    (1280x720: the area less the title bar), 85% of a large one, at most 2400x1500."""
    if screen is None:
        return QSize(1280, 720 - TITLE_BAR)
    area = screen if isinstance(screen, QRect) else screen.availableGeometry()
    width = min(area.width(), max(min(1280, area.width()), int(area.width() * 0.85)), 2400)
    height = min(
        area.height() - TITLE_BAR, max(min(720, area.height()), int(area.height() * 0.85)), 1500
    )
    return QSize(width, height)


class PresenterWindow(QMainWindow):
    """A main window with presenter mode (see the module docstring); the window that
    inherits it makes ``tabs``, ``act_curve`` and ``screen_menu``, and ``explorer``."""

    tabs: QTabWidget
    act_curve: QAction  # the curve shown in presenter mode (key C)
    screen_menu: QMenu  # View > Presenter mode on screen
    explorer: ExplorerView | None

    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self._normal_geometry = QByteArray()  # before presenter mode
        self._normal_rect: QRect | None = None
        self._base_font = QFont(QApplication.font())

    def set_presenter(self, on: bool) -> None:
        """Presenter mode: full screen (on the screen chosen in View > Presenter mode on
        screen), the presenter look, no menu bar or tab bar; off: the window exactly where
        and as large as it was before, never larger than its screen."""
        if on:
            if not self.isFullScreen():
                self._normal_geometry = self.saveGeometry()
                self._normal_rect = self.geometry()
            self.set_presenter_look(True)
            screen = self.presenter_screen()
            handle = self.windowHandle()
            if handle is not None and screen is not None and screen is not self.screen():
                handle.setScreen(screen)
                self.move(screen.geometry().topLeft())
            for bar in (self.menuBar(), self.tabs.tabBar(), self.statusBar()):
                bar.setVisible(False)
            self.showFullScreen()
        else:
            self.set_presenter_look(False)
            for bar in (self.menuBar(), self.tabs.tabBar(), self.statusBar()):
                bar.setVisible(True)
            self.showNormal()
            self._restore_normal_geometry()

    def _restore_normal_geometry(self) -> None:
        """The geometry from before presenter mode (its title bar on screen), fitted into
        the screen's available area; without one, the fitted size, centred."""
        saved = self._normal_rect
        if saved is None or not self.restoreGeometry(self._normal_geometry):
            self.resize(fitted_size(self.screen()))
            area = self.screen().availableGeometry()
            self.move(
                area.x() + max(0, (area.width() - self.width()) // 2),
                area.y() + max(0, (area.height() - self.height() - TITLE_BAR) // 2),
            )
        else:
            self.setGeometry(saved)
        self.keep_on_screen()

    def keep_on_screen(self) -> None:
        """Never wider or taller than the screen's available area, its title bar on it."""
        area = self.screen().availableGeometry()
        rect = self.geometry()
        width = min(rect.width(), area.width())
        height = min(rect.height(), area.height() - TITLE_BAR)
        if (width, height) != (rect.width(), rect.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        dx = max(area.left() - frame.left(), min(0, area.right() - frame.right()))
        dy = max(area.top() - frame.top(), min(0, area.bottom() - frame.bottom()))
        if dx or dy:
            self.move(self.x() + dx, self.y() + dy)

    def presenter_screen(self) -> QScreen | None:
        """The screen presenter mode uses: the one chosen (by name, remembered), else this
        window's."""
        name = self.settings.value("presenter/screen", "", str)
        chosen = next((s for s in QGuiApplication.screens() if s.name() == name), None)
        return chosen or self.screen()

    def _fill_screen_menu(self) -> None:
        self.screen_menu.clear()
        current = self.presenter_screen()
        for screen in QGuiApplication.screens():
            size = screen.geometry()
            label = f"{screen.name() or 'screen'} ({size.width()}x{size.height()})"
            if screen is QGuiApplication.primaryScreen():
                label += ", primary"
            action = self.screen_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(screen is current)
            action.triggered.connect(lambda _=False, s=screen: self.choose_presenter_screen(s))

    def choose_presenter_screen(self, screen: QScreen) -> None:
        """Presenter mode from now on goes full screen on ``screen`` (at once if it is on)."""
        self.settings.setValue("presenter/screen", screen.name())
        if self.isFullScreen() and screen is not self.screen():
            self.showNormal()
            self.set_presenter(True)

    def set_presenter_look(self, on: bool) -> None:
        """Large type, light on black, high contrast (or the normal look)."""
        app = QApplication.instance()
        assert isinstance(app, QApplication)  # a window needs one
        font = QFont(self._base_font)
        if on:
            font.setPointSizeF(self._base_font.pointSizeF() * 1.4)
        app.setFont(font)
        app.setStyleSheet(PRESENTER_STYLE if on else "")
        if self.explorer is not None:
            self.explorer.set_curve_in_presenter(self.act_curve.isChecked())
            self.explorer.set_presenter(on)
