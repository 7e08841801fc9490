"""The Train tab's state, in one place: ``TrainState`` (as ``ExplorerState`` is the Explorer's).

What the tab knows lives here: the queue of jobs, the job running now, how its run
ended (its outcome), its epochs so far (the history), the finished and stopped runs
(run records in a ``core.runs.record_store.RecordStore``), the checkpoint saved last and the sweep Figure 3 shows. It changes
only through its methods; each emits the signal of what changed. ``TrainView`` (the
controller) runs jobs and turns the worker's events into these calls, and draws the
tab from the signals; the form is read (``TrainForm.job``), never written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from fgsm_studio.core.runs.spec import RunRecord
from fgsm_studio.core.training.config import BatchProgress, EpochMetrics

from .results import latest_sweep, train_store
from .worker import TrainJob

# How a run ended: "finished" (with its RunRecord), "failed" (with a sentence) or "stopped"
Outcome = tuple[str, object]


class TrainState(QObject):
    queue_changed = Signal(int)  # jobs waiting
    current_changed = Signal(object)  # the TrainJob running now, or None
    history_changed = Signal()  # an epoch was added, or a new run cleared them
    records_changed = Signal(object)  # the RunRecord just added
    saved_changed = Signal(str)  # the checkpoint saved last ("" for none)
    sweep_changed = Signal(str)  # the sweep Figure 3 shows

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue: list[TrainJob] = []
        self._current: TrainJob | None = None
        self.outcome: Outcome = ("stopped", None)
        self.history: list[EpochMetrics] = []
        self.last_batch: BatchProgress | None = None  # the current run's last batch
        self.store = train_store(data_dir)
        self._last_saved: str | None = None
        self._shown_sweep = ""

    # ------------------------------------------------------------------ reading
    @property
    def records(self) -> list[RunRecord]:
        return self.store.records

    @property
    def current(self) -> TrainJob | None:
        return self._current

    @property
    def last_saved(self) -> str | None:
        return self._last_saved

    @property
    def shown_sweep(self) -> str:
        return self._shown_sweep

    # ------------------------------------------------------------------ changing
    def load(self) -> str | None:
        """Read the saved runs; show the latest sweep. Returns the store's problem, if any."""
        self.store.load()
        self.set_shown_sweep(latest_sweep(self.records))
        return self.store.problem

    def enqueue(self, job: TrainJob) -> None:
        self.queue.append(job)
        self.queue_changed.emit(len(self.queue))

    def clear_queue(self) -> None:
        if self.queue:
            self.queue.clear()
            self.queue_changed.emit(0)

    def start_next(self) -> TrainJob | None:
        """Make the first queued job the current one (its outcome "stopped" until told)."""
        if self._current is not None or not self.queue:
            return None
        job = self.queue.pop(0)
        self.queue_changed.emit(len(self.queue))
        self.outcome = ("stopped", None)  # unless the run returns or fails
        self.history.clear()
        self.last_batch = None
        self.set_current(job)
        self.history_changed.emit()
        return job

    def set_current(self, job: TrainJob | None) -> None:
        if job is not self._current:
            self._current = job
            self.current_changed.emit(job)

    def set_outcome(self, how: str, value: object) -> None:
        self.outcome = (how, value)

    def add_epoch(self, m: EpochMetrics) -> None:
        self.history.append(m)
        self.history_changed.emit()

    def add_record(self, record: RunRecord) -> str:
        """Keep a finished or stopped run (saved to the store); a finished run's sweep
        becomes the one shown. Returns a sentence when it could not be saved."""
        problem = self.store.add(record)
        self.records_changed.emit(record)
        if record.sweep and record.test is not None:
            self.set_shown_sweep(record.sweep)
        return problem

    def set_last_saved(self, path: str | None) -> None:
        self._last_saved = path
        self.saved_changed.emit(path or "")

    def set_shown_sweep(self, tag: str) -> None:
        self._shown_sweep = tag
        self.sweep_changed.emit(tag)

    def where_stopped(self, job: TrainJob) -> str:
        """Where ``job``'s worker really was when it stopped (every event it sent has
        arrived by now): the epoch, its batches, and whether its validation was reached."""
        p, epochs = self.last_batch, job.epochs
        if p is None:
            return "Stopped before the first batch"
        done = self.history[-1].epoch if self.history else 0
        if p.epoch == done and done == epochs:  # training done: in the held-out evaluation
            return (
                f"Stopped during the final evaluation on held-out data, after all "
                f"{done} epochs; the run has no held-out figures"
            )
        if p.epoch == done:  # its validation finished: stopped before the next epoch's batches
            return f"Stopped after epoch {done} of {epochs} (all its {p.batches} batches)"
        if p.batch == p.batches:
            return (
                f"Stopped in epoch {p.epoch} of {epochs} after all its {p.batches} "
                "batches, while it was being validated (the hollow marker: its training loss)"
            )
        return (
            f"Stopped in epoch {p.epoch} of {epochs} after {p.batch} of its {p.batches} "
            "batches, before its validation (the hollow marker: its training loss so far)"
        )
