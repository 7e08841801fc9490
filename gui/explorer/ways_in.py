"""The Explorer's ways in: Open..., Draw, Camera and Paste, and the folder dialogs start in.

Each takes the ``ExplorerView`` (its ``set_image``, ``show_error`` and ``settings``),
so the view itself stays the controller of state and threads. Dialogs start in the
folder of the last file opened or saved (shared by images, checkpoints and saves),
else the user's Pictures folder, never an empty home folder when Pictures exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication, QFileDialog

from .inputs import CameraDialog, DrawDialog, image_source_from_mime

if TYPE_CHECKING:
    from .view import ExplorerView

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


def last_folder(settings: QSettings) -> str:
    """The folder of the last file opened or saved, else the user's Pictures folder."""
    folder = str(settings.value("last_folder", "", type=str) or "")
    if folder and Path(folder).is_dir():
        return folder
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else str(Path.home())


def remember_folder(settings: QSettings, path: str | Path) -> None:
    settings.setValue("last_folder", str(Path(path).parent))


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
