"""Train a defense from the window: a queue of runs on a worker, with live plots.

The form makes ``TrainJob``s; ``Train`` queues one, ``Queue a1 sweep`` queues the
paper's (a1, a2) sweep under one sweep tag; settings that do not go together start
nothing and the status says why in one sentence. Jobs run one at a time, each as the
generator ``train_worker.run_job`` on the generic ``workers.start_generator``: its
events drive the progress bar (with ETA and images/s) and the loss and accuracy
curves; its ``RunRecord`` goes to the run records in the user data folder
(``core.runs.record_store``; a stopped run's too, marked stopped), from which the results table, the export (to a CSV file the user
names, Figure 3 beside it) and Figure 3 (the runs of one sweep, by a1) are
drawn. After each epoch ``core.training.robust_monitor`` reads the run's history and a
warning banner says, in plain words, when the defense only looks robust. ``Stop``
ends the run within one batch, in training and in evaluation alike; the progress
bar and the status then both say where it stopped (how a run's end, finished,
failed or stopped, is told and kept: ``ending``). Closing the window asks
first, then stops and waits. What the tab knows (queue, current job, outcome,
history, results, last saved, shown sweep) is its ``TrainState``; the view reads
the form's job and never writes into the form.
"""

from __future__ import annotations

import logging
import time
import traceback
from itertools import count
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.catalogue import PAPER, defended
from fgsm_studio.core.devices import training_place
from fgsm_studio.core.measure.evaluation import EvalProgress
from fgsm_studio.core.names import strip_bidi
from fgsm_studio.core.paths import user_data_dir
from fgsm_studio.core.runs.experiments import best_so_far_path
from fgsm_studio.core.runs.spec import RunRecord
from fgsm_studio.core.training.config import BatchProgress, EpochMetrics
from fgsm_studio.core.training.robust_monitor import Finding, findings
from fgsm_studio.core.training.selection import MONITOR

from ..safe_text import PlainLabel
from ..workers import (
    ClosingGeneratorWorker,
    start_generator,
    wait_for_workers,
)
from . import ending
from .form import TrainForm
from .plots import TrainPlots
from .results import export, figure3_points
from .state import TrainState
from .widgets import ResultsTable, RobustnessBanner, ask_and_export
from .worker import TrainJob, friendly, run_job

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
        self.state = TrainState(user_data_dir(), self)
        self.worker: ClosingGeneratorWorker | None = None
        self._closing = False
        self._t0 = 0.0
        self.epoch_losses: list[float] = []  # the current epoch's batch losses so far
        self._build()
        self.state.history_changed.connect(self._on_state_history_changed)
        self.state.records_changed.connect(self.table.add_record)
        self.state.saved_changed.connect(self._on_state_saved_changed)
        self.state.sweep_changed.connect(self._on_state_sweep_changed)
        problem = self.state.load()
        if self.state.store.note:  # an old train_results.json was moved in
            self.say(self.state.store.note)
        if problem:
            self.say(problem)
        for record in self.records:
            self.table.add_record(record)
        # the latest runs in view once the table has its size (before that it cannot scroll)
        QTimer.singleShot(0, self.table, self.table.scrollToBottom)

    @property
    def records(self) -> list[RunRecord]:
        return self.state.records

    @property
    def queue(self) -> list[TrainJob]:
        return self.state.queue

    @property
    def current(self) -> TrainJob | None:
        return self.state.current

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
        # Plain text: a run's failure names class folders, and a folder name may hold HTML.
        self.status = PlainLabel("Idle. Choose settings and press Train.")
        self.status.setWordWrap(True)
        self.saved = PlainLabel()
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
        self.state.enqueue(job)
        self.say(f"Queued: {job.name} ({len(self.queue)} waiting)")
        self._next()

    def _next(self) -> None:
        if self._closing:
            return
        job = self.state.start_next()
        if job is None:
            return
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
        self.state.clear_queue()
        if self.worker is not None and self.current is not None:
            self.worker.quit()
            self.say("Stopping after the current batch...")

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
        self.worker = None
        self.state.set_current(None)  # its queued ``finished`` finds nothing to do
        return True

    # ------------------------------------------------------------------ the run's signals
    def _on_run_started(self, job: TrainJob) -> None:
        self.epoch_losses = []
        self.plots.show_partial(None)
        self._t0 = time.perf_counter()
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.stop_button.setEnabled(True)
        self.say(
            f"Training {job.name} on {training_place(job.spec.train.device)}: {job.spec.key()}"
        )

    def _on_worker_yielded(self, event: object) -> None:
        if isinstance(event, BatchProgress):
            self._on_batch(event)
        elif isinstance(event, EpochMetrics):
            self._on_epoch(event)
        elif isinstance(event, EvalProgress) and event.held_out == MONITOR:
            self.status.setText(
                f"Measuring PGD accuracy on {event.total} validation images: {event.done} done"
            )
            self.progress.setFormat("%p%; measuring PGD")
        elif isinstance(event, EvalProgress) and not event.held_out.startswith("validation"):
            self.status.setText(
                f"Evaluating on the held-out data ({event.held_out}): "
                f"{event.done}/{event.total} images"
            )
            # the bar counts training batches: at their end it said 100% while the test ran on
            self.progress.setFormat(f"trained; testing {event.done}/{event.total} images")
            self.evaluation_shown.emit(event.done)

    def _on_batch(self, p: BatchProgress) -> None:
        last = self.state.last_batch
        if last is None or last.epoch != p.epoch:
            self.epoch_losses = []
        self.epoch_losses.append(p.loss)
        self.state.last_batch = p
        epochs = self.current.epochs if self.current else 1
        done = (p.epoch - 1) * p.batches + p.batch
        total = epochs * p.batches
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setFormat("%p%")
        self.progress_shown.emit(done)
        eta = (time.perf_counter() - self._t0) / max(done, 1) * (total - done)
        self.status.setText(
            f"epoch {p.epoch}/{epochs}, batch {p.batch}/{p.batches}, loss {p.loss:.3f}, "
            f"{p.images_per_s:.0f} images/s, about {eta / 60:.1f} min left (at most)"
        )

    def _on_epoch(self, m: EpochMetrics) -> None:
        best = " (best so far, saved)" if m.is_best else ""
        pgd = "-" if m.val_pgd_acc is None else f"{100 * m.val_pgd_acc:.1f}%"
        self.say(
            f"epoch {m.epoch}: loss {m.loss:.3f}, validation clean {100 * m.val_acc:.1f}%, "
            f"FGSM {100 * m.val_fgsm_acc:.1f}%, PGD {pgd}, {m.images_per_s:.0f} images/s{best}"
        )
        self.state.add_epoch(m)  # the curves and the robustness banner follow
        if self.current is not None and m.epoch >= self.current.epochs:
            self.progress.setFormat("trained; testing...")  # (its first count comes later)

    def _on_state_history_changed(self) -> None:
        self.plots.show_epochs(self.state.history)
        job = self.current
        watch = job is not None and defended(job.spec.train.defense)
        self._show_findings(findings(self.state.history) if watch and self.state.history else [])

    def _show_findings(self, found: list[Finding]) -> None:
        for f in self.warning.show_findings(found):
            self.say(f"WARNING: {f.sentence()}")

    def _on_worker_returned(self, record: RunRecord) -> None:
        self.state.set_outcome("finished", record)

    def _on_worker_errored(self, exc: BaseException) -> None:
        log.error("training failed: %s", "".join(traceback.format_exception(exc)))
        self.state.set_outcome("failed", friendly(exc))

    def _on_worker_finished(self) -> None:
        """The run's thread is done, however it ended (always after the other signals)."""
        job, (how, value) = self.current, self.state.outcome
        self.worker = None
        self.state.set_current(None)
        if job is None:
            return
        ending.tell(self, job, how, value)
        self._done()
        self.run_ended.emit(how, job, value)

    def _done(self) -> None:
        self.stop_button.setEnabled(bool(self.queue))
        self._next()

    # ------------------------------------------------------------------ results
    def _on_state_saved_changed(self, path: str) -> None:
        # "last": a later run stopped before its first epoch saves nothing, and this stays
        self.saved.setText(f"Last model saved: {path}" if path else "")
        self.explorer_button.setEnabled(bool(path))

    def _on_state_sweep_changed(self, tag: str) -> None:
        """Figure 3: only the runs of the shown sweep, by a1."""
        self.plots.show_sweep(figure3_points(self.records, tag))

    def export(self, csv_path: Path) -> list[Path]:
        """The results CSV and, beside it, the shown sweep's Figure 3 (PNG and SVG)."""
        return export(self.records, self.state.shown_sweep, csv_path)

    # ------------------------------------------------------------------ buttons
    def _on_train_button_clicked(self) -> None:
        if not self._refused():
            self.enqueue(self.form.job())

    def _on_sweep_button_clicked(self) -> None:
        if self._refused(defense=PAPER):  # Figure 3 is WR_FGSM's, whatever the form shows
            return
        tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(_SWEEPS)}"
        self.state.set_shown_sweep(tag)
        for a1 in SWEEP_A1:
            self.enqueue(self.form.job(a1=a1, sweep=tag, defense=PAPER))

    def _on_explorer_button_clicked(self) -> None:
        if self.state.last_saved:
            self.open_in_explorer.emit(self.state.last_saved, "")

    def _on_export_button_clicked(self) -> None:
        message = ask_and_export(self, self.export)
        if message:
            self.status.setText(message)
            self.say(message)

    def _refused(self, **overrides: str) -> bool:
        """Say in one sentence why the form's settings cannot start; nothing is queued then."""
        problem = self.form.problem(**overrides)
        if problem:
            self.status.setText(f"Not started: {problem[0].lower()}{problem[1:]}")
            self.say(self.status.text())
        return problem is not None

    def say(self, text: str) -> None:
        """A line in the tab's log, with the time."""
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {strip_bidi(text)}")
