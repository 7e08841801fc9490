"""Errors never crash the app: a log file, and a dialog with copyable details.

``install(app)`` sets ``sys.excepthook`` (and ``threading.excepthook``) so an
uncaught exception in any slot is logged to ``<user data>/fgsm-studio.log``
and shown in a dialog whose details can be copied; the app keeps running.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from fgsm_studio.core.paths import user_data_dir

log = logging.getLogger("fgsm_studio")
_installed = False
_open_boxes: list[QMessageBox] = []  # a parentless dialog needs a reference to stay alive


def log_path() -> Path:
    return user_data_dir() / "fgsm-studio.log"


def setup_logging() -> Path:
    path = log_path()
    root = logging.getLogger()
    if not any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


def show_error_dialog(title: str, message: str, details: str = "", parent=None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    if details:
        box.setDetailedText(details)  # selectable, copyable
    box.setInformativeText(f"The app is still running. Details are logged in {log_path()}.")
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    _open_boxes.append(box)
    box.finished.connect(lambda _result: _open_boxes.remove(box) if box in _open_boxes else None)
    box.open()
    return box


def _hook(exc_type, exc, tb) -> None:
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("Uncaught exception:\n%s", details)
    if issubclass(exc_type, KeyboardInterrupt):
        QApplication.quit()
        return
    app = QApplication.instance()
    if app is None:
        sys.__excepthook__(exc_type, exc, tb)
        return
    # Show the dialog from the event loop, never from inside the failing slot.
    QTimer.singleShot(
        0,
        lambda: show_error_dialog(
            "Something went wrong", f"{exc_type.__name__}: {exc}", details, app.activeWindow()
        ),
    )


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    _hook(args.exc_type, args.exc_value, args.exc_traceback)


def install() -> None:
    global _installed
    setup_logging()
    if not _installed:
        sys.excepthook = _hook
        threading.excepthook = _thread_hook
        _installed = True
