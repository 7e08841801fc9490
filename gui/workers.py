"""All background work of the window, on one mechanism: superqt's workers.

Every piece of work off the GUI thread is a superqt ``FunctionWorker`` (a callable)
or ``GeneratorWorker`` (a generator); its ``returned`` / ``errored`` / ``yielded`` /
``finished`` signals are the only way anything comes back, and nothing run there
touches a widget. On top sits one small policy, ``Channels``: work is submitted on a
named channel (``"model"``, ``"attack"``, ``"sweep"``...), and a newer request on a
channel supersedes an older one that has not started, while the answer of superseded
or cancelled work is dropped, so dragging the slider during a PGD attack computes
only the latest epsilon. Where the work runs is the only difference between its uses:

* ``TaskRunner`` (computation: attacks, sweeps): one task at a time on a pool of its
  own with one thread that never expires, so torch's per-thread settings made by a
  task hold for the next; ``shutdown()`` waits for the running task.
* ``Loader`` (file reads, downloads, imports ahead of use): each starts at once on a daemon thread
  of its own (``fgsm-read-<channel>``), since a read can block as long as the file
  system or network likes (a FIFO, a stalled drive, a 30 s socket timeout): Qt waits
  for its thread pools when the application exits, and closing the window must not
  wait for a read (it simply ends with the process).
* ``start_generator`` (training, and the imports at start-up): on Qt's global pool;
  ``quit()`` stops it at its next ``yield``, and ``wait_for_workers`` joins the pool
  on close.

Both kinds run as superqt's, less its ``warnings.catch_warnings()`` around the work
(``QuietRun``): that swaps the process's warning filters from the worker's thread.
"""

from __future__ import annotations

import inspect
import logging
import threading
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from superqt.utils import FunctionWorker, GeneratorWorker

log = logging.getLogger(__name__)


class QuietRun:
    """superqt's ``WorkerBase.run`` (started, the work, returned or errored, finished)
    without its ``warnings.catch_warnings()`` around the work.

    That context manager swaps the process's warning filters and ``showwarning`` from
    the worker's thread and puts back what it saw on entry: it is not thread-safe. A read
    and a training run that overlapped, the read ending first, left ``showwarning``
    pointing at the finished read's signal and an "always" filter for good. A warning
    raised on a worker's thread now meets the filters set once on the main thread (the
    app's, or pytest's), like one raised anywhere else; superqt's ``warned`` signal
    (connected nowhere here) no longer fires.
    """

    working = False  # between ``started`` and ``finished`` (superqt's ``is_running``)

    def run(self) -> None:
        worker: Any = self
        self.working = True
        worker.started.emit()
        try:
            result = worker.work()
            if isinstance(result, Exception):
                raise result
            if not worker.abort_requested:
                worker.returned.emit(result)
        except Exception as exc:  # noqa: BLE001 (every failure goes to ``errored``, as in superqt)
            worker.errored.emit(exc)
        self.working = False
        worker.finished.emit()

    @property
    def is_running(self) -> bool:
        return self.working


class QuietFunctionWorker(QuietRun, FunctionWorker):
    """superqt's ``FunctionWorker``, run by ``QuietRun``."""


@dataclass(frozen=True)
class _Answer:
    """What a channel's task came back with: its result, or the failure in words."""

    channel: str
    task_id: int
    result: Any = None
    message: str = ""  # "" = success
    details: str = ""  # the traceback of a failure


class Channels(QObject):
    """Latest-per-channel over superqt ``FunctionWorker``s (see the module docstring).

    ``serial``: one task at a time, on a one-thread pool owned by this object; else each
    task starts at once on a daemon thread. ``expected``: the exceptions whose message is
    the user's sentence; any other is logged with its traceback and named as unexpected.
    """

    finished = Signal(str, int, object)  # channel, task id, result
    failed = Signal(str, int, str, str)  # channel, task id, message, details (traceback)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        serial: bool,
        expected: tuple[type[BaseException], ...] = (Exception,),
        name: str = "fgsm-studio-worker",
    ) -> None:
        super().__init__(parent)
        self.serial, self.expected, self.name = serial, expected, name
        self._pending: dict[str, tuple[int, Callable[[], Any]]] = {}  # serial: not started
        self._latest: dict[str, int] = {}  # channel -> the task whose answer is awaited
        self._workers: dict[int, QuietFunctionWorker] = {}  # started, not yet finished
        self._tasks: dict[int, Callable[[], Any]] = {}  # started, not yet taken by its worker
        self._next_id = 0
        self._closed = False
        self._pool: QThreadPool | None = None
        if serial:
            self._pool = QThreadPool(self)
            self._pool.setObjectName(name)
            self._pool.setMaxThreadCount(1)
            self._pool.setExpiryTimeout(-1)  # one thread for good: torch's settings stay

    @property
    def busy(self) -> bool:
        """Is an answer still awaited on some channel?"""
        return bool(self._latest)

    @property
    def stopped(self) -> bool:
        """Shut down, with no task running on this object's pool (a read may still run)."""
        return self._closed and (self._pool is None or self._pool.activeThreadCount() == 0)

    def submit(self, channel: str, fn: Callable[[], Any]) -> int:
        """Run ``fn`` for ``channel``; older work there is superseded. Returns the task's id."""
        self._next_id += 1
        return self._submit(channel, self._next_id, fn)

    def submit_stoppable(self, channel: str, fn: Callable[[Callable[[], bool]], Any]) -> int:
        """As ``submit``, for a long task that can stop: ``fn(stop)``, where ``stop()`` turns
        True once nobody awaits the answer (a newer request on the channel, ``cancel`` or
        ``shutdown``). The task asks it between its steps and gives up (raising anything)."""
        self._next_id += 1
        task_id = self._next_id

        def stop() -> bool:  # on the worker's thread: one dict read
            return self._closed or self._latest.get(channel) != task_id

        return self._submit(channel, task_id, lambda: fn(stop))

    def _submit(self, channel: str, task_id: int, fn: Callable[[], Any]) -> int:
        if self._closed:
            return task_id
        self._latest[channel] = task_id
        if self.serial:
            self._pending[channel] = (task_id, fn)
            self._pump()
        else:
            self._start(channel, task_id, fn)
        return task_id

    def cancel(self, channel: str) -> None:
        """Forget what ``channel`` waits for: its pending task never starts, its answer is dropped."""
        self._pending.pop(channel, None)
        self._latest.pop(channel, None)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Take no more work, drop every awaited answer; a serial runner waits for its task."""
        self._closed = True
        self._pending.clear()
        self._latest.clear()
        return self._pool.waitForDone(timeout_ms) if self._pool is not None else True

    def _pump(self) -> None:
        if self._workers or not self._pending or self._closed:
            return
        channel = next(iter(self._pending))
        task_id, fn = self._pending.pop(channel)
        self._start(channel, task_id, fn)

    def _start(self, channel: str, task_id: int, fn: Callable[[], Any]) -> None:
        # The task itself waits in ``_tasks``, not in the worker: PySide keeps a pool's
        # runnable alive after it ran, and a closure over a sweep cache or an image kept
        # there would be kept with it (the soak test counted ~5 tensors per action).
        self._tasks[task_id] = fn
        worker = QuietFunctionWorker(self._answer, channel, task_id)
        worker.setAutoDelete(False)  # this object keeps it until ``finished``
        worker.signals.returned.connect(self._on_worker_returned)
        worker.signals.finished.connect(self._on_worker_finished)
        self._workers[task_id] = worker
        if self._pool is not None:
            self._pool.start(worker)
        else:
            threading.Thread(
                target=_run_to_the_end, args=(worker,), name=f"fgsm-read-{channel}", daemon=True
            ).start()

    def _answer(self, channel: str, task_id: int) -> _Answer:
        """On the worker's thread: the task's result, or its failure as words."""
        fn = self._tasks.pop(task_id)
        try:
            return _Answer(channel, task_id, fn())
        except self.expected as exc:
            message = str(exc) or type(exc).__name__
            details = traceback.format_exc()
        except Exception as exc:  # a bug: logged with its traceback, the user gets a sentence
            log.exception("task on channel %s failed", channel)
            message = f"an unexpected {type(exc).__name__} ({exc})"
            details = traceback.format_exc()
        return _Answer(channel, task_id, None, message, details)

    @Slot(object)
    def _on_worker_returned(self, answer: _Answer) -> None:
        if self._latest.get(answer.channel) != answer.task_id:
            return  # superseded or cancelled: dropped
        del self._latest[answer.channel]
        if answer.message:
            log.info("task on channel %s failed: %s", answer.channel, answer.message)
            self.failed.emit(answer.channel, answer.task_id, answer.message, answer.details)
        else:
            self.finished.emit(answer.channel, answer.task_id, answer.result)

    @Slot()
    def _on_worker_finished(self) -> None:
        self._workers = {i: w for i, w in self._workers.items() if w.is_running}
        self._pump()


def _run_to_the_end(worker: QuietFunctionWorker) -> None:
    """A daemon thread's target: the worker, whose answer may find the window gone."""
    try:
        worker.run()
    except RuntimeError:  # the application ended meanwhile: nobody waits for this answer
        log.info("dropped a late answer")


class TaskRunner(Channels):
    """Computation off the GUI thread: one task at a time, the newest per channel first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, serial=True)


class Loader(Channels):
    """Reads on daemon threads the window never waits for; the newest answer per channel."""

    def __init__(self, parent: QObject | None = None) -> None:
        # (imported here: this module is used before torch is loaded, at start-up)
        from fgsm_studio.core.data.images import ImageError
        from fgsm_studio.core.models.card import CheckpointError

        # What a read is expected to fail with; each message is already a sentence for the user.
        expected = (ImageError, CheckpointError, OSError, ValueError)
        super().__init__(parent, serial=False, expected=expected, name="fgsm-read")


def _delegate(generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    return (yield from generator)


class ClosingGeneratorWorker(QuietRun, GeneratorWorker):
    """superqt's GeneratorWorker that closes its generator when it stops, however it stops.

    ``quit()`` makes superqt leave its loop at the next ``yield``; the generator is then
    ``close()``d there, on the worker's thread, so its ``finally`` blocks run at once
    and not whenever it is collected. A ``RuntimeError`` from the generator (a NaN loss,
    CUDA out of memory) reaches ``errored`` like any failure (superqt would take it for
    a deleted worker and emit nothing at all).
    """

    def __init__(self, func: Callable[..., Generator[Any, Any, Any]], *args: Any) -> None:
        if not inspect.isgeneratorfunction(func):
            raise TypeError(f"{func!r} is not a generator function")
        self.generator = func(*args)
        super().__init__(_delegate, self.generator)

    def work(self) -> Any:
        try:
            result = super().work()
        finally:
            self.generator.close()
        if isinstance(result, RuntimeError):
            raise result
        return result


def _connected(worker: Any, slots: dict[str, Callable[..., Any]]) -> None:
    for name, slot in slots.items():
        getattr(worker, name).connect(slot)


def start_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    *args: Any,
    **slots: Callable[..., Any],
) -> ClosingGeneratorWorker:
    """Start ``func(*args)`` on a pool thread with ``slots`` connected by signal name."""
    worker = ClosingGeneratorWorker(func, *args)
    _connected(worker, slots)
    _running.add(worker)  # kept until it ends (the pool does not keep a Python object)
    worker.finished.connect(_on_generator_finished)
    QThreadPool.globalInstance().start(worker)
    return worker


_running: set[ClosingGeneratorWorker] = set()  # started by ``start_generator``, not ended


def _on_generator_finished(*_signal: object) -> None:
    _running.difference_update([w for w in _running if not w.is_running])


def wait_for_workers(timeout_ms: int) -> bool:
    """Wait until every thread of Qt's global pool is idle (after ``quit()``); False on timeout."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
