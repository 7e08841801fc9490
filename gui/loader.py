"""File reads off the GUI thread that the window never waits for: ``Loader``.

Opening an image or a checkpoint can block for as long as the file system or
the network likes (a FIFO, a stalled network drive, weights downloading while
offline until the 30 s socket timeout). Such reads run each on its own daemon
thread: the GUI thread never blocks on them, closing the window never joins
them (a read still running when the app exits simply ends with the process),
and a newer request on the same channel makes the older one's answer stale.
Results come back as queued Qt signals; the callable never touches a widget.
Computation (attacks, sweeps) stays on the ``TaskRunner``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from fgsm_studio.core.checkpoint import CheckpointError
from fgsm_studio.core.images import ImageError

log = logging.getLogger(__name__)

# What a read is expected to fail with; each message is already a sentence for the user.
EXPECTED = (ImageError, CheckpointError, OSError, ValueError)


class Loader(QObject):
    """Runs callables on daemon threads; only the newest answer per channel is delivered."""

    finished = Signal(str, object)  # channel, result
    failed = Signal(str, str)  # channel, message
    _done = Signal(str, int, object, str)  # channel, id, result, message ("" = success)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, int] = {}
        self._next_id = 0
        self._closed = False
        self._done.connect(self._on_done)  # queued: emitted from the reading threads

    @property
    def busy(self) -> bool:
        """Is an answer still awaited on some channel?"""
        return bool(self._latest)

    def submit(self, channel: str, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on a new daemon thread; an older request on ``channel`` becomes stale."""
        if self._closed:
            return
        self._next_id += 1
        task_id = self._latest[channel] = self._next_id
        threading.Thread(
            target=self._run, args=(channel, task_id, fn), name=f"fgsm-read-{channel}", daemon=True
        ).start()

    def shutdown(self) -> None:
        """Drop every awaited answer and take no more requests (the window is closing)."""
        self._latest.clear()
        self._closed = True

    def cancel(self, channel: str) -> None:
        """Forget what ``channel`` is waiting for (its answer will be dropped)."""
        self._latest.pop(channel, None)

    def _run(self, channel: str, task_id: int, fn: Callable[[], Any]) -> None:
        try:
            result, message = fn(), ""
        except EXPECTED as exc:
            result, message = None, str(exc) or type(exc).__name__
        except Exception as exc:  # a bug: logged with its traceback, the user gets a sentence
            log.exception("reading on channel %s failed", channel)
            result, message = None, f"an unexpected {type(exc).__name__} ({exc})"
        try:
            self._done.emit(channel, task_id, result, message)
        except RuntimeError:  # the window was closed meanwhile: nobody waits for this answer
            log.info("dropped a late answer on channel %s", channel)

    def _on_done(self, channel: str, task_id: int, result: object, message: str) -> None:
        if self._latest.get(channel) != task_id:
            return  # a stale answer
        del self._latest[channel]
        if message:
            self.failed.emit(channel, message)
        else:
            self.finished.emit(channel, result)
