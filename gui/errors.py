"""Errors never crash the app: a log file, and a dialog with copyable details.

``install(app)`` sets ``sys.excepthook`` (and ``threading.excepthook``) so an
uncaught exception in any slot is logged to ``<user log dir>/fgsm-studio.log``
and shown in a dialog whose details can be copied; the app keeps running.
Where the log file cannot be written (a read-only home), logging goes to
stderr and ``show_unsaved_warning`` tells the user what will not be saved.
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

from fgsm_studio.core.names import strip_bidi
from fgsm_studio.core.paths import user_log_dir

from .safe_text import plain_box

log = logging.getLogger("fgsm_studio")
_installed = False
_open_boxes: list[QMessageBox] = []  # a parentless dialog needs a reference to stay alive


def log_path() -> Path:
    return user_log_dir() / "fgsm-studio.log"


def setup_logging() -> Path | None:
    """Log to the log file; to stderr (and return None) when it cannot be opened."""
    path = log_path()
    root = logging.getLogger()
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return path
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: logging.Handler
    try:
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        if not any(type(h) is logging.StreamHandler for h in root.handlers):
            fallback = logging.StreamHandler()
            fallback.setFormatter(formatter)
            root.addHandler(fallback)
        root.setLevel(logging.INFO)
        return None
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def show_unsaved_warning(problems: list[str], parent=None) -> QMessageBox:
    """Tell the user, once at start, which folders cannot be written; the app keeps working."""
    for problem in problems:
        log.warning(problem)  # to stderr when the log file is one of the problems
    box = plain_box(QMessageBox(parent))  # folder names are the user's: shown as text
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Some files will not be saved")
    box.setText(strip_bidi("\n".join(problems)))
    box.setInformativeText(
        "FGSM Studio works as usual; set FGSM_STUDIO_HOME to a writable folder to keep them."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    _open_boxes.append(box)
    box.finished.connect(lambda _result: _open_boxes.remove(box) if box in _open_boxes else None)
    box.open()
    return box


def show_error_dialog(title: str, message: str, details: str = "", parent=None) -> QMessageBox:
    box = plain_box(QMessageBox(parent))  # a message may name a file or class folder
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(strip_bidi(message))
    if details:
        box.setDetailedText(details)  # selectable, copyable
    where = f"Details are logged in {log_path()}." if log_path().is_file() else ""
    box.setInformativeText(f"The app is still running. {where}".strip())
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
            "Something went wrong",
            f"{exc_type.__name__}: {exc}",
            details,
            QApplication.activeWindow(),
        ),
    )


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    _hook(args.exc_type, args.exc_value, args.exc_traceback)


def install() -> Path | None:
    """Log to the log file (None: it cannot be written) and catch every uncaught exception."""
    global _installed
    path = setup_logging()
    if not _installed:
        sys.excepthook = _hook
        threading.excepthook = _thread_hook
        _installed = True
    return path
