"""Save and share what the Explorer shows: the adversarial image and a demo card.

The file dialogs live here; the Explorer provides ``save_adversarial(path)``
(lossless PNG + exact .npy) and ``demo_card()`` (the headline, panels and bars).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog

log = logging.getLogger(__name__)


def save_adversarial_dialog(view) -> None:
    if view.frame is None:
        return
    path, _ = QFileDialog.getSaveFileName(
        view, "Save the adversarial image", "adversarial.png", "PNG (*.png)"
    )
    if not path:
        return
    try:
        png, npy = view.save_adversarial(Path(path))
    except OSError as exc:
        view.show_error(f"Could not save: {exc}")
    else:
        log.info("saved %s and %s", png, npy)


def save_demo_card_dialog(view) -> None:
    if view.frame is None:
        return
    path, _ = QFileDialog.getSaveFileName(view, "Save a demo card", "fgsm-demo.png", "PNG (*.png)")
    if path and not view.demo_card().save(path, "PNG"):
        view.show_error(f"Could not save the demo card to {path}.")


def copy_demo_card(view) -> None:
    if view.frame is not None:
        QApplication.clipboard().setPixmap(view.demo_card())
