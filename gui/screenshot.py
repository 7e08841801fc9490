"""``fgsm-studio --screenshot OUT.png``: the window saved once its first frame is drawn.

``save_when_ready(window, path)`` waits for the first attacked frame of the attack asked
for (and its target, if any), then for the sweep curve and the compare bars (the worker
is idle), saves the window as a PNG and quits with 0 (1 if it could not be saved). With
no such frame after ``timeout_s`` it says so on stderr, naming the log, and quits with 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from .explorer.view import ExplorerView
    from .main_window import MainWindow


def save_when_ready(window: MainWindow, path: Path, timeout_s: float = 90.0) -> None:
    """Save ``window`` to ``path`` once the first requested frame is drawn, then quit."""

    def grab() -> None:
        ok = window.grab().save(str(path), "PNG")
        QApplication.exit(0 if ok else 1)

    def view() -> ExplorerView:
        assert window.explorer is not None  # ``ready`` has come
        return window.explorer

    def on_frame() -> None:
        frame = view().state.frame
        wanted = (window.args and window.args.attack) or "fgsm"
        target = None if window.args is None else window.args.target
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

    window.ready.connect(lambda: view().frame_rendered.connect(on_frame))
    QTimer.singleShot(int(timeout_s * 1000), give_up)


def _log_path() -> Path:
    from .errors import log_path

    return log_path()
