"""The main window: Explorer and Train tabs, menus, start-up, closing.

The window fits the screen it opens on (a 1280x720 projector included) and grows
with larger ones. Presenter mode is full screen, light on black with large type;
Esc leaves it (the window's size and presenter mode: ``presenter_window``). The Help
menu holds a short plain-words guide and the version.

This module imports only Qt, so the window can be on screen before torch is
imported; ``finish_setup`` (run from the event loop right after ``show``)
builds the views that need torch and loads the first model off the GUI thread.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QTabWidget

from .explorer.presenter import ExplorerKeys
from .presenter_window import TITLE_BAR as TITLE_BAR  # (the tests import it from here)
from .presenter_window import PresenterWindow, fitted_size
from .startup import StartupPanel, import_heavy
from .workers import start_generator

if TYPE_CHECKING:  # torch-backed: imported at run time only in finish_setup
    from .explorer.view import ExplorerView
    from .train.view import TrainView
    from .workers import TaskRunner


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


class MainWindow(PresenterWindow):
    ready = Signal()

    def __init__(self, settings: QSettings, args: argparse.Namespace | None = None) -> None:
        super().__init__(settings)
        self.args = args
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

    def _on_act_curve_toggled(self, on: bool) -> None:
        if self.explorer is not None:
            self.explorer.set_curve_in_presenter(on)

    def dragEnterEvent(self, event) -> None:
        if self.explorer is not None:
            self.explorer.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if self.explorer is not None:
            self.tabs.setCurrentWidget(self.explorer)
            self.explorer.dropEvent(event)

    def show_guide(self) -> QMessageBox:
        """Help > What am I seeing? (F1): the parts of the tab on screen, in plain words."""
        from .guide import show_guide

        current = self.tabs.currentWidget()
        on_train = current is not None and any(
            current is w for w in (self._trainer, self._train_slot)
        )
        return show_guide(self, "train" if on_train else "explorer")

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
        """For --screenshot: save the window once the first requested frame is drawn, then
        quit (``screenshot.save_when_ready``)."""
        from .screenshot import save_when_ready

        save_when_ready(self, path, timeout_s)
