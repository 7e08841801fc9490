"""The Explorer's ways in: Open..., Draw, Camera and Paste, and the folder dialogs start in.

Each takes the ``ExplorerView`` (its ``set_image``, ``show_error`` and ``settings``),
so the view itself stays the controller of state and threads. Dialogs start in the
folder of the last file opened or saved (shared by images, checkpoints and saves),
else the user's Pictures folder, never an empty home folder when Pictures exists.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication, QFileDialog

from .inputs import CameraDialog, DrawDialog, image_source_from_mime

if TYPE_CHECKING:
    from .view import ExplorerView

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


log = logging.getLogger(__name__)
MAX_RECENT = 8
RECENT_KEY = "recent_models"


def last_folder(settings: QSettings) -> str:
    """The folder of the last file opened or saved, else the user's Pictures folder."""
    folder = str(settings.value("last_folder", "", type=str) or "")
    if folder and Path(folder).is_dir():
        return folder
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else str(Path.home())


def remember_folder(settings: QSettings, path: str | Path) -> None:
    settings.setValue("last_folder", str(Path(path).parent))


def recent_models(settings: QSettings) -> list[str]:
    """The Recent list of model files; a value of the wrong type (a hand-edited file) is reset."""
    value = settings.value(RECENT_KEY, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        log.warning("settings: %s held %r, not a list of paths; reset", RECENT_KEY, value)
        settings.remove(RECENT_KEY)
        return []
    return [v for v in value if v]


def remember_model(settings: QSettings, path: Path) -> list[str]:
    """Put ``path`` first in the Recent list, keeping what other windows added meanwhile;
    returns the list."""
    settings.sync()  # read what another window wrote since we last looked
    recent = [path_ for path_ in recent_models(settings) if path_ != str(path)]
    settings.setValue(RECENT_KEY, [str(path), *recent][:MAX_RECENT])
    settings.sync()
    return recent_models(settings)


def open_image(view: ExplorerView) -> None:
    path, _ = QFileDialog.getOpenFileName(
        view, "Open an image", last_folder(view.settings), IMAGE_FILTER
    )
    if path:
        remember_folder(view.settings, path)
        view.set_image(Path(path))


def draw_digit(view: ExplorerView) -> None:
    dialog = DrawDialog(view)
    if dialog.exec():
        view.set_image(dialog.png())


def take_snapshot(view: ExplorerView) -> None:
    dialog = CameraDialog(view)
    if dialog.exec() and dialog.result_png:
        view.set_image(dialog.result_png)


def paste(view: ExplorerView) -> None:
    source, what = image_source_from_mime(QApplication.clipboard().mimeData())
    if source is None:
        view.show_error(f"Nothing to paste: {what}.")
    else:
        view.set_image(source)
