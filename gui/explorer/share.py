"""Save and share what the Explorer shows: the adversarial image and a demo card.

The file dialogs live here, and ``save_pair``: the adversarial image as a lossless
8-bit PNG plus its exact floats as ``.npy``, both or neither. Both files are
written in full to temporary files beside their targets first; only when both
are complete are they renamed into place, so a full disk (or any write error)
leaves no half pair behind and whatever was there before untouched.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from PySide6.QtWidgets import QApplication, QFileDialog

log = logging.getLogger(__name__)


def _png_bytes(image: torch.Tensor) -> bytes:
    arr = (image.detach().clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)).save(buf, "PNG")
    return buf.getvalue()


def _npy_bytes(image: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    np.save(buf, image.detach().cpu().numpy())
    return buf.getvalue()


def _write_fully(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_pair(image: torch.Tensor, path: str | os.PathLike) -> tuple[Path, Path]:
    """Save a (C, H, W) image in [0, 1] as ``<path>.png`` and ``<path>.npy``, both or neither."""
    png, npy = Path(path).with_suffix(".png"), Path(path).with_suffix(".npy")
    parts = [(png, _png_bytes(image)), (npy, _npy_bytes(image))]
    temps = [target.with_name(f".{target.name}.part") for target, _ in parts]
    try:
        for tmp, (_, data) in zip(temps, parts, strict=True):
            _write_fully(tmp, data)
        for tmp, (target, _) in zip(temps, parts, strict=True):
            os.replace(tmp, target)  # a rename: needs no space, so the pair lands together
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return png, npy


def save_adversarial_dialog(view) -> None:
    if view.state.frame is None:
        return
    start = str(Path(view.last_folder()) / "adversarial.png")
    path, _ = QFileDialog.getSaveFileName(view, "Save the adversarial image", start, "PNG (*.png)")
    if not path:
        return
    view.remember_folder(path)
    try:
        png, npy = view.save_adversarial(Path(path))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        view.show_error(f"Could not save the adversarial image to {Path(path).name}: {reason}.")
    else:
        log.info("saved %s and %s", png, npy)
        view.show_info(f"Saved {png.name} and {npy.name} in {png.parent}.")


def save_demo_card_dialog(view) -> None:
    if view.state.frame is None:
        return
    start = str(Path(view.last_folder()) / "fgsm-demo.png")
    path, _ = QFileDialog.getSaveFileName(view, "Save a demo card", start, "PNG (*.png)")
    if not path:
        return
    view.remember_folder(path)
    if view.demo_card().save(path, "PNG"):
        view.show_info(f"Saved the demo card as {Path(path).name} in {Path(path).parent}.")
    else:
        view.show_error(f"Could not save the demo card to {path}.")


def copy_demo_card(view) -> None:
    if view.state.frame is not None:
        QApplication.clipboard().setPixmap(view.demo_card())
        view.show_info("Copied the demo card to the clipboard: paste it into slides or a chat.")


def export_for_slides_dialog(view) -> None:
    """File > Export for slides: the epsilon sweep as GIF and WebP (and MP4 with ffmpeg)
    plus a PNG strip, named after the file chosen."""
    if view.state.session is None or view.state.frame is None:
        return
    start = str(Path(view.last_folder()) / "fgsm-sweep.gif")
    path, _ = QFileDialog.getSaveFileName(
        view,
        "Export the epsilon sweep for slides (GIF, WebP, MP4 where possible, PNG strip)",
        start,
        "Animated GIF, with WebP, MP4 and a PNG strip beside it (*.gif)",
    )
    if path:
        view.remember_folder(path)
        export_for_slides(view, Path(path))


def export_for_slides(view, stem: Path) -> int:
    """Render and write the sweep on the runner (never the GUI thread); the banner says
    which files were written, and which formats this machine cannot write. Returns the
    runner's task id."""
    from fgsm_studio.core.explorer import slides
    from fgsm_studio.core.explorer.opening import epsilon_scale

    session, card = view.state.session, view.state.card
    names, scale = list(card.class_names), epsilon_scale(card.image_size)
    runner = view.runner

    def finished(channel: str, task_id: int, result: Any) -> None:
        if task_id != task:
            return
        disconnect()
        files = ", ".join(p.name for p in result.files)
        skipped = "".join(f" Not written: {why}." for why in result.skipped)
        log.info("exported %s", [str(p) for p in result.files])
        view.show_info(f"Saved {files} in {result.files[0].parent}.{skipped}")

    def failed(channel: str, task_id: int, message: str, details: str) -> None:
        if task_id != task:
            return
        disconnect()
        view.show_error(f"Could not export the sweep to {stem.name}: {message}")

    def disconnect() -> None:
        runner.finished.disconnect(finished)
        runner.failed.disconnect(failed)

    runner.finished.connect(finished)
    runner.failed.connect(failed)
    view.show_info(f"Exporting the epsilon sweep as {stem.stem}.gif, .webp and a strip...")
    task = runner.submit("slides", lambda: slides.export_all(session, names, scale, stem))
    return task
