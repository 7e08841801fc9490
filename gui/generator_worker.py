"""The one generic worker for long work written as a generator: superqt's ``GeneratorWorker``.

``start_generator(func, *args, yielded=..., returned=..., errored=..., finished=...)``
runs ``func(*args)`` (a generator function) on a thread of Qt's global thread
pool; each ``yield`` becomes the ``yielded`` signal, the generator's return value
``returned``, an exception ``errored(exc)``, and ``finished`` always comes last.
``worker.quit()`` stops it at the next yield, and (unlike superqt's own class,
which just leaves the loop) ``close()``s the generator there, on the worker's
thread, so its ``finally`` blocks run at once and not whenever it is collected;
a ``RuntimeError`` from the generator is reported through ``errored`` (superqt
would swallow it, taking it for a deleted worker).
The generator knows nothing about threads or Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QThreadPool
from superqt.utils import GeneratorWorker


class ClosingGeneratorWorker(GeneratorWorker):
    """superqt's GeneratorWorker that closes its generator when it stops, however it stops."""

    def work(self) -> Any:
        try:
            result = super().work()
        finally:
            self._gen.close()
        if isinstance(result, RuntimeError):
            # superqt returns a RuntimeError from the generator (it takes it for a deleted
            # worker) and then emits nothing at all; a generator's RuntimeError (a NaN
            # loss, CUDA out of memory) must reach ``errored`` like any other failure.
            raise result
        return result


def start_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    *args: Any,
    **slots: Callable[..., Any],
) -> ClosingGeneratorWorker:
    """Start ``func(*args)`` on a pool thread with ``slots`` connected by signal name."""
    worker = ClosingGeneratorWorker(func, *args)
    for name, slot in slots.items():
        getattr(worker, name).connect(slot)
    worker.start()
    return worker


def wait_for_workers(timeout_ms: int) -> bool:
    """Wait until every pool thread is idle (after ``quit()``); False on timeout."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
