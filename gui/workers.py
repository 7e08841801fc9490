"""Background work for the window: a task runner with latest-value-wins channels.

``TaskRunner`` owns one ``QThread`` and a worker ``QObject`` moved to it. The
GUI submits plain callables on named channels (``"model"``, ``"attack"``,
``"sweep"``); while the worker is busy, a newer task on a channel replaces the
older pending one, so dragging the slider during a PGD attack computes only the
latest epsilon. Results come back through signals only; a worker never touches
a widget. ``shutdown()`` asks the thread to quit and waits for it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)


class _Worker(QObject):
    done = Signal(str, int, object)
    failed = Signal(str, int, str, str)  # channel, id, message, traceback

    @Slot(str, int, object)
    def run(self, channel: str, task_id: int, fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except Exception as exc:  # reported to the GUI, never raised in the thread
            log.exception("task %s failed", channel)
            self.failed.emit(
                channel, task_id, str(exc) or type(exc).__name__, traceback.format_exc()
            )
        else:
            self.done.emit(channel, task_id, result)


class TaskRunner(QObject):
    """Runs callables off the GUI thread, one at a time, newest-per-channel first."""

    finished = Signal(str, int, object)  # channel, task id, result
    failed = Signal(str, int, str, str)  # channel, task id, message, details
    _start = Signal(str, int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("fgsm-studio-worker")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._start.connect(self._worker.run)
        self._worker.done.connect(self._on_worker_done)
        self._worker.failed.connect(self._on_worker_failed)
        self._pending: dict[str, tuple[int, Callable[[], Any]]] = {}
        self._busy = False
        self._next_id = 0
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, channel: str, fn: Callable[[], Any]) -> int:
        """Queue ``fn`` on ``channel`` (replacing an older pending task there); returns its id."""
        self._next_id += 1
        self._pending[channel] = (self._next_id, fn)
        self._pump()
        return self._next_id

    def cancel(self, channel: str) -> None:
        self._pending.pop(channel, None)

    def _pump(self) -> None:
        if self._busy or not self._pending or not self._thread.isRunning():
            return
        channel = next(iter(self._pending))
        task_id, fn = self._pending.pop(channel)
        self._busy = True
        self._start.emit(channel, task_id, fn)

    @Slot(str, int, object)
    def _on_worker_done(self, channel: str, task_id: int, result: object) -> None:
        self._busy = False
        self.finished.emit(channel, task_id, result)
        self._pump()

    @Slot(str, int, str, str)
    def _on_worker_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        self._busy = False
        self.failed.emit(channel, task_id, message, details)
        self._pump()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop taking tasks, let the running one finish, and join the thread."""
        self._pending.clear()
        self._thread.quit()
        return self._thread.wait(timeout_ms)
