"""Train a defense from the window: a queue of runs on a worker, with live plots.

The form makes ``TrainJob``s; ``Train`` queues one, ``Queue a1 sweep`` queues the
paper's (a1, a2) sweep under one sweep tag; settings that do not go together start
nothing and the status says why in one sentence. Jobs run one at a time, each as the
generator ``train_worker.run_job`` on the generic ``generator_worker``: its
events drive the progress bar (with ETA and images/s) and the loss and accuracy
curves; its ``RunRecord`` goes to the ``ResultStore`` (saved in the user data
folder), from which the results table, the export (to a CSV file the user
names, Figure 3 beside it) and Figure 3 (the runs of one sweep, by a1) are
drawn. After each epoch ``core.robust_monitor`` reads the run's history and a
warning banner says, in plain words, when the defense only looks robust. ``Stop``
ends the run within one batch, in training and in evaluation alike; the progress
bar and the status then both say where it stopped. Closing the window asks
first, then stops and waits.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import replace
from itertools import count
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.evaluation import EvalProgress
from fgsm_studio.core.experiments import RunRecord, best_so_far_path
from fgsm_studio.core.paths import user_data_dir
from fgsm_studio.core.robust_monitor import Finding, findings
from fgsm_studio.core.training import MONITOR, BatchProgress, EpochMetrics
from fgsm_studio.gui.generator_worker import (
    ClosingGeneratorWorker,
    start_generator,
    wait_for_workers,
)
from fgsm_studio.gui.train_form import TrainForm
from fgsm_studio.gui.train_plots import TrainPlots
from fgsm_studio.gui.train_results import ResultStore, export, figure3_points, latest_sweep
from fgsm_studio.gui.train_widgets import ResultsTable, RobustnessBanner, ask_and_export
from fgsm_studio.gui.train_worker import TrainJob, friendly, run_job, where

log = logging.getLogger(__name__)
SWEEP_A1 = (0.0, 0.25, 0.5, 0.75, 1.0)
_SWEEPS = count(1)


class TrainView(QWidget):
    open_in_explorer = Signal(str, str)  # checkpoint path, the model it started from
    run_ended = Signal(
        str, object, object
    )  # "finished" | "stopped" | "failed", job, record or message
    progress_shown = Signal(int)  # batches done in the current run (GUI thread)
    evaluation_shown = Signal(int)  # held-out images evaluated so far in the current run

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.queue: list[TrainJob] = []
        self.current: TrainJob | None = None
        self.worker: ClosingGeneratorWorker | None = None
        self._outcome: tuple[str, object] = ("stopped", None)
        self._closing = False
        self.last_saved: str | None = None
        self.store = ResultStore(user_data_dir() / "train_results.json")
        self.shown_sweep = ""
        self._history: list[EpochMetrics] = []
        self._t0 = 0.0
        self._build()
        self.store.load()
        if self.store.problem:
            self._say(self.store.problem)
        for record in self.records:
            self._add_row(record)
        self.shown_sweep = latest_sweep(self.records)
        self._refresh_sweep()

    @property
    def records(self) -> list[RunRecord]:
        return self.store.records

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.form = TrainForm()
        self.train_button = QPushButton("Train")
        self.sweep_button = QPushButton("Queue a1 sweep for Figure 3 (a1 = 0, .25, .5, .75, 1)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.explorer_button = QPushButton("Open in Explorer")
        self.explorer_button.setEnabled(False)
        self.export_button = QPushButton("Export results...")
        self.progress = QProgressBar()
        self.status = QLabel("Idle. Choose settings and press Train.")
        self.status.setWordWrap(True)
        self.saved = QLabel()
        self.saved.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.saved.setWordWrap(True)
        self.warning = RobustnessBanner()
        self.plots = TrainPlots()
        self.curves = self.plots.curves
        self.table = ResultsTable()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(110)  # the curves and the table matter more at 1280x720

        self.sweep_button.setToolTip(
            "Trains one model per a1 for Figure 3 (right chart): how the weight of the FGSM "
            "loss trades clean accuracy for robust accuracy, as in the paper."
        )
        scroll = QScrollArea()  # the form scrolls; the buttons below it are always in view
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        scroll.setMaximumWidth(self.form.sizeHint().width() + 40)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.stop_button, 1)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(scroll, 1)
        left.addLayout(buttons)
        left.addWidget(self.sweep_button)
        side = QWidget()
        side.setLayout(left)
        side.setMaximumWidth(scroll.maximumWidth())
        right = QVBoxLayout()
        right.addWidget(self.progress)
        right.addWidget(self.status)
        right.addWidget(self.warning)
        right.addWidget(self.plots, 2)
        right.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.saved, 1)
        row.addWidget(self.explorer_button)
        row.addWidget(self.export_button)
        right.addLayout(row)
        right.addWidget(self.log, 1)
        root = QHBoxLayout(self)
        root.addWidget(side)
        root.addLayout(right, 1)
        self.train_button.clicked.connect(self._on_train_button_clicked)
        self.sweep_button.clicked.connect(self._on_sweep_button_clicked)
        self.stop_button.clicked.connect(self.stop)
        self.explorer_button.clicked.connect(self._on_explorer_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)

    # ------------------------------------------------------------------ queue
    def enqueue(self, job: TrainJob) -> None:
        self.queue.append(job)
        self._say(f"Queued: {job.name} ({len(self.queue)} waiting)")
        self._next()

    def _next(self) -> None:
        if self.current is not None or not self.queue or self._closing:
            return
        job = self.current = self.queue.pop(0)
        self._outcome = ("stopped", None)  # unless the run returns or fails
        self._on_run_started(job)
        self.worker = start_generator(
            run_job,
            job,
            yielded=self._on_worker_yielded,
            returned=self._on_worker_returned,
            errored=self._on_worker_errored,
            finished=self._on_worker_finished,
        )

    @property
    def running(self) -> bool:
        return self.current is not None

    def stop(self) -> None:
        """End the current run within one batch (training or evaluation) and drop the queue."""
        self.queue.clear()
        if self.worker is not None and self.current is not None:
            self.worker.quit()
            self._say("Stopping after the current batch...")

    def confirm_close(self, parent: QWidget) -> bool:
        if not self.running:
            return True
        job = self.current
        kept = job is not None and best_so_far_path(job.save_to).is_file()
        answer = QMessageBox.question(
            parent,
            "Training is running",
            "A model is training. Stop it and quit? "
            + (
                "The best checkpoint so far is kept."
                if kept
                else "No epoch has finished yet, so nothing will be saved."
            ),
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Stop the run and wait for its thread (it ends within one batch)."""
        self._closing = True
        self.stop()
        if not wait_for_workers(timeout_ms):
            return False
        self.current = self.worker = None  # its queued ``finished`` finds nothing to do
        return True

    # ------------------------------------------------------------------ the run's signals
    def _on_run_started(self, job: TrainJob) -> None:
        self._history.clear()
        self._last_batch: BatchProgress | None = None
        self._epoch_losses = []
        self.plots.show_epochs(self._history)
        self.plots.show_partial(None)
        self._show_findings([])
        self._t0 = time.perf_counter()
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.stop_button.setEnabled(True)
        self._say(f"Training {job.name} on {where(job)}: {job.spec.key()}")

    def _on_worker_yielded(self, event: object) -> None:
        if isinstance(event, BatchProgress):
            self._on_batch(event)
        elif isinstance(event, EpochMetrics):
            self._on_epoch(event)
        elif isinstance(event, EvalProgress) and event.held_out == MONITOR:
            self.status.setText(
                f"Measuring PGD accuracy on {event.total} validation images: {event.done} done"
            )
        elif isinstance(event, EvalProgress) and not event.held_out.startswith("validation"):
            self.status.setText(
                f"Evaluating on the held-out data ({event.held_out}): "
                f"{event.done}/{event.total} images"
            )
            self.evaluation_shown.emit(event.done)

    def _on_batch(self, p: BatchProgress) -> None:
        if self._last_batch is None or self._last_batch.epoch != p.epoch:
            self._epoch_losses: list[float] = []
        self._epoch_losses.append(p.loss)
        self._last_batch = p
        epochs = self.current.epochs if self.current else 1
        done = (p.epoch - 1) * p.batches + p.batch
        total = epochs * p.batches
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress_shown.emit(done)
        eta = (time.perf_counter() - self._t0) / max(done, 1) * (total - done)
        self.status.setText(
            f"epoch {p.epoch}/{epochs}, batch {p.batch}/{p.batches}, loss {p.loss:.3f}, "
            f"{p.images_per_s:.0f} images/s, about {eta / 60:.1f} min left (at most)"
        )

    def _on_epoch(self, m: EpochMetrics) -> None:
        self._history.append(m)
        self.plots.show_epochs(self._history)
        best = " (best so far, saved)" if m.is_best else ""
        pgd = "-" if m.val_pgd_acc is None else f"{100 * m.val_pgd_acc:.1f}%"
        self._say(
            f"epoch {m.epoch}: loss {m.loss:.3f}, validation clean {100 * m.val_acc:.1f}%, "
            f"FGSM {100 * m.val_fgsm_acc:.1f}%, PGD {pgd}, {m.images_per_s:.0f} images/s{best}"
        )
        defended = self.current is not None and self.current.spec.train.defense != "none"
        self._show_findings(findings(self._history) if defended else [])

    def _show_findings(self, found: list[Finding]) -> None:
        for f in self.warning.show_findings(found):
            self._say(f"WARNING: {f.sentence()}")

    def _on_worker_returned(self, record: RunRecord) -> None:
        self._outcome = ("finished", record)

    def _on_worker_errored(self, exc: BaseException) -> None:
        log.error("training failed: %s", "".join(traceback.format_exception(exc)))
        self._outcome = ("failed", friendly(exc))

    def _on_worker_finished(self) -> None:
        """The run's thread is done, however it ended (always after the other signals)."""
        job, (how, value) = self.current, self._outcome
        self.current = self.worker = None
        if job is None:
            return
        if how == "finished":
            self._end(job, value)
        elif how == "failed":
            self._say(f"FAILED: {value}")
            self.progress.setFormat("failed at %p%")
            self.status.setText(
                f"The run failed at {self.progress.value()} of {self.progress.maximum()} batches: {value}"
            )
            self._keep_partial(job)
        else:
            kept = self._keep_partial(job)
            if not kept:
                self._say("Stopped before the first epoch finished: nothing was saved.")
            where_ = self._where_stopped(job)
            self._say(where_)
            self.progress.setFormat(f"stopped at {self._percent()}%")  # the status's figure
            self.status.setText(
                f"{where_}; {self.progress.value()} of {self.progress.maximum()} batches of "
                f"the run ({self._percent()}%); "
                + ("the best epoch so far is kept." if kept else "nothing was saved.")
            )
            self.table.add_stopped(
                job.name, where_, str(best_so_far_path(job.save_to)) if kept else "", self._history
            )
        self._done()
        self.run_ended.emit(how, job, value)

    def _where_stopped(self, job: TrainJob) -> str:
        """Where the worker really was (every event it sent has arrived by now): the
        epoch, its batches, and whether that epoch's validation was reached."""
        p = self._last_batch
        if p is None:
            return "Stopped before the first batch"
        done = self._history[-1].epoch if self._history else 0
        if p.epoch == done and done == job.epochs:  # training done: in the held-out evaluation
            return (
                f"Stopped during the final evaluation on held-out data, after all "
                f"{done} epochs; the run has no held-out figures"
            )
        if p.epoch == done:  # its validation finished: stopped before the next epoch's batches
            return f"Stopped after epoch {done} of {job.epochs} (all its {p.batches} batches)"
        losses = self._epoch_losses
        if losses:  # the unfinished epoch shows: its mean loss so far, where it stopped
            share = p.batch / p.batches
            words = f"epoch {p.epoch}: {round(100 * share)}%, not validated"
            self.plots.show_partial(p.epoch - 1 + share, sum(losses) / len(losses), words)
        if p.batch == p.batches:
            return (
                f"Stopped in epoch {p.epoch} of {job.epochs} after all its {p.batches} "
                "batches, while it was being validated (the hollow marker: its training loss)"
            )
        return (
            f"Stopped in epoch {p.epoch} of {job.epochs} after {p.batch} of its {p.batches} "
            "batches, before its validation (the hollow marker: its training loss so far)"
        )

    def _keep_partial(self, job: TrainJob) -> bool:
        partial = best_so_far_path(job.save_to)
        if not partial.is_file():
            return False
        self._say(f"The best epoch so far is kept: {partial}")
        self.last_saved = str(partial)
        self.saved.setText(f"Saved: {partial}")
        self.explorer_button.setEnabled(True)
        return True

    def _end(self, job: TrainJob, record: RunRecord) -> None:
        record = replace(record, sweep=job.sweep)
        self.store.add(record)
        if self.store.problem:
            self._say(self.store.problem)
        self._add_row(record)
        if record.sweep:
            self.shown_sweep = record.sweep
        self._refresh_sweep()
        self.last_saved = record.saved_to
        self.saved.setText(f"Saved: {self.last_saved}")
        self.explorer_button.setEnabled(bool(self.last_saved))
        self._say(
            f"Run finished: held-out clean {100 * record.test.clean:.1f}% "
            f"(n={record.test.n}), checkpoint {self.last_saved}"
        )
        self.progress.setFormat("done: %p%")
        self.progress.setValue(self.progress.maximum())
        self.status.setText(
            f"Finished {job.name}: held-out clean {100 * record.test.clean:.1f}%. "
            "Choose settings and press Train for another run."
        )

    def _percent(self) -> int:
        top = self.progress.maximum() - self.progress.minimum()
        return round(100 * (self.progress.value() - self.progress.minimum()) / top) if top else 0

    def _done(self) -> None:
        self.stop_button.setEnabled(bool(self.queue))
        self._next()

    # ------------------------------------------------------------------ results
    def _add_row(self, record: RunRecord) -> None:
        self.table.add_record(record)

    def _refresh_sweep(self) -> None:
        """Figure 3: only the runs of ``shown_sweep``, by a1."""
        self.plots.show_sweep(figure3_points(self.records, self.shown_sweep))

    def export(self, csv_path: Path) -> list[Path]:
        """The results CSV and, beside it, the shown sweep's Figure 3 (PNG and SVG)."""
        return export(self.records, self.shown_sweep, csv_path)

    # ------------------------------------------------------------------ buttons
    def _on_train_button_clicked(self) -> None:
        if not self._refused():
            self.enqueue(self.form.job())

    def _on_sweep_button_clicked(self) -> None:
        self.form.defense.setCurrentIndex(0)  # Figure 3 is WR_FGSM's
        if self._refused():
            return
        tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(_SWEEPS)}"
        self.shown_sweep = tag
        self._refresh_sweep()
        for a1 in SWEEP_A1:
            self.enqueue(self.form.job(a1=a1, sweep=tag))

    def _on_explorer_button_clicked(self) -> None:
        if self.last_saved:
            self.open_in_explorer.emit(self.last_saved, "")

    def _on_export_button_clicked(self) -> None:
        message = ask_and_export(self, self.export)
        if message:
            self.status.setText(message)
            self._say(message)

    def _refused(self) -> bool:
        """Say in one sentence why the form's settings cannot start; nothing is queued then."""
        problem = self.form.problem()
        if problem:
            self.status.setText(f"Not started: {problem[0].lower()}{problem[1:]}")
            self._say(self.status.text())
        return problem is not None

    def _say(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")
