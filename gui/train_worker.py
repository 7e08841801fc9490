"""The training worker: ``core.experiments.execute`` on a QThread, talking only by signals.

``TrainJob`` is what the Train view asks for; ``TrainWorker.run_job`` loads the
data, trains (the generator's events become ``progress`` / ``epoch`` signals),
evaluates on the held-out part and saves the best checkpoint with its card. A
stop request (``request_stop``) is honoured before the next batch. Every failure
(a missing dataset, a NaN loss, CUDA out of memory, a full disk) becomes
``failed(message)``; the thread survives for the next job.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from fgsm_studio.core.experiments import RunSpec

log = logging.getLogger(__name__)


@dataclass
class TrainJob:
    spec: RunSpec
    root: str | None = None
    device: str = "auto"
    save_to: Path = field(default_factory=Path)
    name: str = ""
    eval_epsilons: tuple[float, ...] = (0.1,)
    eval_limit: int | None = 1000
    sweep: str = ""  # the sweep this run belongs to, if any


def gui_threads() -> int:
    """CPU threads for training in the window (FGSM_STUDIO_TRAIN_THREADS overrides).

    All cores but one, so the window keeps a core.
    """
    override = os.environ.get("FGSM_STUDIO_TRAIN_THREADS", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, (os.cpu_count() or 2) - 1)


class TrainWorker(QObject):
    started = Signal(object)  # TrainJob
    progress = Signal(object)  # BatchProgress
    epoch = Signal(object)  # EpochMetrics
    finished = Signal(object, object)  # TrainJob, record dict
    failed = Signal(object, str, str)  # TrainJob, message, details
    stopped = Signal(object, object)  # TrainJob, record dict (may hold no model)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Thread-safe: checked by the trainer before every batch."""
        self._stop.set()

    @Slot(object)
    def run_job(self, job: TrainJob) -> None:
        from fgsm_studio.core.training import EpochMetrics

        self._stop.clear()
        self.started.emit(job)

        def on_event(event: object) -> None:
            (self.epoch if isinstance(event, EpochMetrics) else self.progress).emit(event)

        try:
            import torch

            from fgsm_studio.core.experiments import execute

            threads = gui_threads() if job.device in ("auto", "cpu") else None
            record = execute(
                job.spec,
                job.save_to.parent / ".runs",
                eval_epsilons=job.eval_epsilons,
                eval_attacks=("fgsm", "pgd"),
                root=job.root,
                device=job.device,
                threads=threads,
                save_model=job.save_to,
                eval_limit=job.eval_limit,
                on_event=on_event,
                stop=self._stop.is_set,
                name=job.name,
            )
        except Exception as exc:  # every failure is a message; the thread lives on
            details = traceback.format_exc()
            log.error("training failed: %s", details)
            self.failed.emit(job, _friendly(exc, torch if "torch" in locals() else None), details)
            return
        if record.get("stopped"):
            self.stopped.emit(job, record)
        else:
            self.finished.emit(job, record)


def _friendly(exc: Exception, torch) -> str:
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return "The GPU ran out of memory. Lower the batch size or choose a smaller model, then start again."
    if isinstance(exc, PermissionError):
        return f"Cannot write the checkpoint: {exc}. Choose a folder you can write to."
    if isinstance(exc, OSError) and exc.errno == 28:
        return (
            "The disk is full: the checkpoint could not be saved. The last good checkpoint is kept."
        )
    return str(exc) or type(exc).__name__
