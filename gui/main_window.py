"""The main window: Explorer and Train tabs, menus, presenter mode, window size.

The window fits the screen it opens on (a 1280x720 projector included) and grows
with larger ones. Presenter mode is full screen, light on black with large type;
Esc leaves it. The Help menu holds a short plain-words guide and the version.

This module imports only Qt, so the window can be on screen before torch is
imported; ``finish_setup`` (run from the event loop right after ``show``)
builds the views that need torch and loads the first model off the GUI thread.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QRect, QSettings, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFont,
    QGuiApplication,
    QKeySequence,
    QScreen,
    QShortcut,
)
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QTabWidget

from .explorer.presenter import PRESENTER_STYLE, ExplorerKeys
from .startup import StartupPanel, import_heavy
from .workers import start_generator

if TYPE_CHECKING:  # torch-backed: imported at run time only in finish_setup
    from .explorer.view import ExplorerView
    from .train.view import TrainView
    from .workers import TaskRunner


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


def _action(
    text: str,
    parent: QMainWindow,
    shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    *,
    checkable: bool = False,
    triggered: Callable[[], object] | None = None,
) -> QAction:
    """A menu action (PySide's keyword constructor is not in its type stubs)."""
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.setCheckable(checkable)
    if triggered is not None:
        action.triggered.connect(triggered)
    return action


TITLE_BAR = 40  # title bar and borders, drawn by the window manager outside our size
TRAIN_MODULE = "fgsm_studio.gui.train.view"
log = logging.getLogger(__name__)


def _warm_up_training() -> None:
    """On the runner, after the first frame: the trainer's module and its first optimizer."""
    from fgsm_studio.core.training.loop import warm_up

    warm_up()


def _import_quietly(name: str) -> None:
    """Import ``name`` ahead of its use (on a worker); a failure shows when it is used."""
    try:
        importlib.import_module(name)
    except ImportError:
        log.debug("pre-import of %s failed", name, exc_info=True)


class MainWindow(QMainWindow):
    ready = Signal()

    def __init__(self, settings: QSettings, args: argparse.Namespace | None = None) -> None:
        super().__init__()
        self.settings, self.args = settings, args
        self.setWindowTitle("FGSM Studio")
        self.resize(fitted_size(QApplication.primaryScreen()))
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        self.loading = StartupPanel()
        self.tabs.addTab(self.loading, "Explorer")
        self.explorer: ExplorerView | None = None
        self._trainer: TrainView | None = None
        self._train_slot: StartupPanel | None = None  # the Train tab until it is built
        self.runner: TaskRunner | None = None
        self._presenter = False
        self._normal_geometry = QByteArray()  # before presenter mode
        self._normal_rect: QRect | None = None
        self._base_font = QFont(QApplication.font())
        self._build_menus()
        self._keys = ExplorerKeys(self)
        self.statusBar().showMessage("Loading torch...")

    def _build_menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self.act_open_image = _action("Open image...", self, QKeySequence.StandardKey.Open)
        self.act_open_model = _action("Open checkpoint...", self, "Ctrl+Shift+O")
        self.act_save = _action("Save adversarial image...", self, QKeySequence.StandardKey.Save)
        self.act_card = QAction("Save demo card...", self)
        self.act_copy = _action("Copy demo card", self, "Ctrl+Shift+C")
        self.act_slides = QAction("Export for slides (GIF, WebP, strip)...", self)
        self.act_slides.setToolTip(
            "The epsilon sweep as an animation with the verdicts written on it, and a "
            "picture of five epsilons side by side, for slides"
        )
        quit_ = _action("Quit", self, QKeySequence.StandardKey.Quit, triggered=self.close)
        for a in (
            self.act_open_image,
            self.act_open_model,
            self.act_save,
            self.act_card,
            self.act_copy,
            self.act_slides,
        ):
            a.setEnabled(False)
            file.addAction(a)
        file.addSeparator()
        file.addAction(quit_)
        view = self.menuBar().addMenu("&View")
        self.act_presenter = _action("Presenter mode", self, "F11", checkable=True)
        self.act_presenter.toggled.connect(self.set_presenter)
        view.addAction(self.act_presenter)
        self.screen_menu = view.addMenu("Presenter mode on screen")
        self.screen_menu.aboutToShow.connect(self._fill_screen_menu)
        # (key C in presenter mode: ExplorerKeys, so that a text field keeps its letter)
        self.act_curve = QAction("Curve in presenter mode (C)", self, checkable=True)
        self.act_curve.setToolTip("Show the confidence-vs-epsilon curve in presenter mode (C)")
        self.act_curve.toggled.connect(self._on_act_curve_toggled)
        view.addAction(self.act_curve)
        help_ = self.menuBar().addMenu("&Help")
        help_.addAction(_action("What am I seeing?", self, "F1", triggered=self.show_guide))
        self.act_tour = _action("Walk-through", self, triggered=self._on_act_tour_triggered)
        self.act_tour.setEnabled(False)
        help_.addAction(self.act_tour)
        help_.addAction(_action("About FGSM Studio", self, triggered=self._on_about_triggered))
        # The menu bar is hidden in full screen: the window keeps the actions' shortcuts.
        for menu in (file, view, help_):
            self.addActions(menu.actions())
        leave = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        leave.activated.connect(lambda: self.act_presenter.setChecked(False))
        # Ctrl+Tab switches tabs (QTabWidget); Ctrl+PgDown/PgUp too, as in browsers
        QShortcut(QKeySequence("Ctrl+PgDown"), self).activated.connect(lambda: self._step_tab(1))
        QShortcut(QKeySequence("Ctrl+PgUp"), self).activated.connect(lambda: self._step_tab(-1))

    def _step_tab(self, delta: int) -> None:
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + delta) % self.tabs.count())

    def start_loading(self) -> None:
        """Import torch and the views' modules on a thread while this window paints and
        shows progress; ``finish_setup`` builds the views when they are in."""
        start_generator(
            import_heavy,
            yielded=self._on_importer_yielded,
            returned=self._on_importer_returned,
            errored=self._on_importer_errored,
        )

    def _on_importer_yielded(self, step: tuple[int, str]) -> None:
        self.loading.show_step(*step)

    def _on_importer_returned(self, problem: str) -> None:
        if problem:
            self.loading.show_step(0, problem)
        self.finish_setup()  # a failed import fails again there, into the crash dialog

    def _on_importer_errored(self, exc: Exception) -> None:
        self._on_importer_returned(f"Loading failed: {exc}")

    def finish_setup(self) -> None:
        """Build the torch-backed views (once, when their modules are imported)."""
        if self.explorer is not None:
            return
        from .errors import log_path
        from .explorer.view import ExplorerView
        from .workers import TaskRunner

        self.runner = TaskRunner(self)
        self.explorer = ExplorerView(self.runner, self.settings)
        self.tabs.removeTab(0)
        self.loading.deleteLater()
        self.tabs.insertTab(0, self.explorer, "Explorer")
        self.tabs.setCurrentIndex(0)
        # The Train tab (matplotlib, the trainer: ~1.5 s) is built when first opened; its
        # modules are imported on a thread once the first frame's sweep is done.
        self._train_slot = StartupPanel(steps=0)
        self._train_slot.show_step(0, "Loading the Train tab...")
        self.tabs.addTab(self._train_slot, "Train a defense")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        e = self.explorer
        self.act_open_image.triggered.connect(e.open_image_dialog)
        self.act_open_model.triggered.connect(e.sidebar.panel.open_checkpoint_dialog)
        from .explorer import share

        self.act_save.triggered.connect(lambda: share.save_adversarial_dialog(e))
        self.act_card.triggered.connect(lambda: share.save_demo_card_dialog(e))
        self.act_copy.triggered.connect(lambda: share.copy_demo_card(e))
        self.act_slides.triggered.connect(lambda: share.export_for_slides_dialog(e))
        for a in (
            self.act_open_image,
            self.act_open_model,
            self.act_save,
            self.act_card,
            self.act_copy,
            self.act_slides,
            self.act_tour,
        ):
            a.setEnabled(True)
        args = self.args
        epsilon = None
        if args is not None:
            if args.epsilon is not None and math.isfinite(args.epsilon):
                epsilon = args.epsilon
            elif args.epsilon is not None:
                e.show_error(f"--epsilon {args.epsilon} is not a number: 0 to 0.5 is expected.")
            if args.attack:
                e.state.set_attack(args.attack)
            if args.target is not None:
                e.model_loaded.connect(self._apply_target)
        e.start(
            Path(args.model) if args and args.model else None,
            Path(args.image) if args and args.image else None,
            epsilon=epsilon,
        )
        e.frame_rendered.connect(self._warm_up_once)
        self.statusBar().showMessage(f"Log: {log_path()}", 8000)
        self.ready.emit()

    def _warm_up_once(self) -> None:
        """After the first frame, while the user looks at it: import what training needs
        (the optimizer on the runner; the Train tab's modules on a thread of their own once
        the first image's sweep is done, so the curve comes first)."""
        assert self.explorer is not None and self.runner is not None  # built by finish_setup
        self.explorer.frame_rendered.disconnect(self._warm_up_once)
        self.runner.submit("warmup", _warm_up_training)
        self._import_train_when_idle()

    def _import_train_when_idle(self) -> None:
        if self.explorer is not None and not self.explorer.idle:
            QTimer.singleShot(200, self._import_train_when_idle)
            return
        if self.explorer is not None:  # on a thread closing the window never waits for
            self.explorer.loader.submit("import", lambda: _import_quietly(TRAIN_MODULE))

    @property
    def trainer(self) -> TrainView | None:
        """The Train tab's view, built on first use (opening the tab, or asking for it);
        None where its module cannot be imported."""
        if self._trainer is None and self._train_slot is not None:
            self._build_trainer()
        return self._trainer

    def _on_tabs_current_changed(self, index: int) -> None:
        if self._train_slot is not None and self.tabs.widget(index) is self._train_slot:
            self._train_slot.repaint()  # "Loading the Train tab..." while it is built
            self._build_trainer()

    def _build_trainer(self) -> None:
        slot, self._train_slot = self._train_slot, None
        if slot is None:
            return  # built already
        index = self.tabs.indexOf(slot)
        from .train.view import TrainView

        current = self.tabs.currentIndex()
        self._trainer = TrainView(self.settings)
        self._trainer.open_in_explorer.connect(self._on_trainer_open_in_explorer)
        with QSignalBlocker(self.tabs):
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, self._trainer, "Train a defense")
            self.tabs.setCurrentIndex(current)
        slot.deleteLater()

    def _apply_target(self, _path: str) -> None:
        e = self.explorer
        card = None if e is None else e.state.card
        if e is None or card is None or self.args is None:
            return
        target, names = str(self.args.target), card.class_names
        index = (
            int(target)
            if target.isdigit() and int(target) < len(names)
            else (names.index(target) if target in names else None)
        )
        if index is None:
            e.show_error(
                f"--target {target!r} is not a class of this model ({', '.join(names[:10])}...)."
            )
        else:
            e.state.set_target(index)
        e.model_loaded.disconnect(self._apply_target)

    def _on_trainer_open_in_explorer(self, path: str, start_from: str) -> None:
        if self.explorer is not None:
            self.tabs.setCurrentWidget(self.explorer)
            self.explorer.load_model(Path(path))

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

    def _on_act_curve_toggled(self, on: bool) -> None:
        if self.explorer is not None:
            self.explorer.set_curve_in_presenter(on)

    def set_presenter_look(self, on: bool) -> None:
        """Large type, light on black, high contrast (or the normal look)."""
        self._presenter = on
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

    def dragEnterEvent(self, event) -> None:
        if self.explorer is not None:
            self.explorer.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if self.explorer is not None:
            self.tabs.setCurrentWidget(self.explorer)
            self.explorer.dropEvent(event)

    def show_guide(self) -> None:
        """Help > What am I seeing?: the window's parts in plain words."""
        from .guide import show_guide

        show_guide(self)

    def _on_act_tour_triggered(self) -> None:
        """Help > Walk-through: six steps through the Explorer, in plain words."""
        if self.explorer is not None:
            self.tabs.setCurrentWidget(self.explorer)
            self.explorer.walkthrough.start()

    def _on_about_triggered(self) -> None:
        from fgsm_studio import __version__

        QMessageBox.about(
            self,
            "FGSM Studio",
            f"<b>FGSM Studio {__version__}</b><br>See how adversarial perturbations fool a "
            "CNN, and train a WR_FGSM defense (Doan &amp; Pham, 2025).",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._trainer is not None and not self._trainer.confirm_close(self):
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop background threads cleanly (close, quit or --screenshot exit alike)."""
        if self._trainer is not None:
            self._trainer.shutdown()
        if self.explorer is not None:
            self.explorer.shutdown()
        if self.runner is not None:
            self.runner.shutdown()
        self.settings.sync()

    def screenshot_when_ready(self, path: Path, timeout_s: float = 90.0) -> None:
        """For --screenshot: save the window once the first requested frame is drawn, then quit."""

        def grab() -> None:
            ok = self.grab().save(str(path), "PNG")
            QApplication.exit(0 if ok else 1)

        def view() -> ExplorerView:
            assert self.explorer is not None  # ``ready`` has come
            return self.explorer

        def on_frame() -> None:
            frame = view().state.frame
            wanted = (self.args and self.args.attack) or "fgsm"
            target = None if self.args is None else self.args.target
            if (
                frame is not None
                and frame.attack == wanted
                and (target is None or frame.target is not None)
            ):
                view().frame_rendered.disconnect(on_frame)
                QTimer.singleShot(200, grab_when_idle)

        def grab_when_idle() -> None:  # the sweep curve and the compare bars come from the worker
            if not view().idle:
                QTimer.singleShot(100, grab_when_idle)
            else:
                QTimer.singleShot(200, grab)

        def give_up() -> None:
            print(  # noqa: T201 (the command line asked for the screenshot: it hears why not)
                f"fgsm-studio: --screenshot timed out: no attacked frame was ready after "
                f"{timeout_s:.0f} s, so {path} was not saved (see the log: {_log_path()}).",
                file=sys.stderr,
                flush=True,
            )
            QApplication.exit(1)

        self.ready.connect(lambda: view().frame_rendered.connect(on_frame))
        QTimer.singleShot(int(timeout_s * 1000), give_up)


def _log_path() -> Path:
    from .errors import log_path

    return log_path()
