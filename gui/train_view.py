"""Train a defense from the window: a queue of runs on a worker thread, with live plots.

The form makes ``TrainJob``s; ``Train`` queues one, ``Queue a1 sweep`` queues the
paper's (a1, a2) sweep. One ``TrainWorker`` on one ``QThread`` runs them in
order; its signals drive the progress bar (with ETA and images/s), the loss and
accuracy curves, the Figure 3 plot (accuracy per a1, drawn as sweep runs end)
and the results table (the paper's Table 1 shape). ``Stop`` is honoured before
the next batch; closing the window asks first, then stops the worker and joins
its thread.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.devices import describe, pick_device
from fgsm_studio.core.training import BatchProgress, EpochMetrics
from fgsm_studio.gui.train_form import TrainForm
from fgsm_studio.gui.train_worker import TrainJob, TrainWorker, gui_threads

SWEEP_A1 = (0.0, 0.25, 0.5, 0.75, 1.0)
COLUMNS = [
    "name",
    "dataset",
    "model",
    "defense",
    "a1",
    "a2",
    "penalty",
    "eps",
    "clean %",
    "FGSM %",
    "PGD %",
    "epochs",
    "seconds",
    "checkpoint",
]


def _plot(title: str, ylabel: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    w.setTitle(title, color="#222", size="10pt")
    w.setLabel("left", ylabel)
    w.addLegend(offset=(-5, 5), labelTextColor="#222")
    w.setMenuEnabled(False)
    return w


class TrainView(QWidget):
    open_in_explorer = Signal(str, str)  # checkpoint path, the model it started from
    run_ended = Signal(
        str, object, object
    )  # "finished" | "stopped" | "failed", job, record or message
    progress_shown = Signal(int)  # batches done in the current run (GUI thread)
    _run = Signal(object)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.queue: list[TrainJob] = []
        self.current: TrainJob | None = None
        self.last_saved: str | None = None
        self.records: list[tuple[TrainJob, dict]] = []
        self._history: list[EpochMetrics] = []
        self._t0 = 0.0
        self._build()
        self.thread = QThread()
        self.thread.setObjectName("fgsm-studio-trainer")
        self.worker = TrainWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._run.connect(self.worker.run_job)
        self.worker.started.connect(self._on_worker_started)
        self.worker.progress.connect(self._on_worker_progress)
        self.worker.epoch.connect(self._on_worker_epoch)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.stopped.connect(self._on_worker_stopped)
        self.worker.failed.connect(self._on_worker_failed)
        self.thread.start()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.form = TrainForm()
        self.train_button = QPushButton("Train")
        self.sweep_button = QPushButton("Queue a1 sweep (0, .25, .5, .75, 1)")
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
        self.loss_plot = _plot("Training loss per epoch", "loss")
        self.acc_plot = _plot("Validation accuracy per epoch", "accuracy %")
        self.acc_plot.setYRange(0, 100)
        self.sweep_plot = _plot("Figure 3: accuracy per a1", "held-out accuracy %")
        self.sweep_plot.setYRange(0, 100)
        self.sweep_plot.setLabel("bottom", "a1")
        self.curves = {
            "loss": self.loss_plot.plot(
                [], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", name="total"
            ),
            "loss_ori": self.loss_plot.plot([], [], pen=pg.mkPen("#2ca02c", width=2), name="L_ori"),
            "loss_adv": self.loss_plot.plot(
                [], [], pen=pg.mkPen("#d62728", width=2), name="L_adv (FGSM)"
            ),
            "val_acc": self.acc_plot.plot(
                [], [], pen=pg.mkPen("#2ca02c", width=2), symbol="o", name="clean"
            ),
            "val_fgsm_acc": self.acc_plot.plot(
                [], [], pen=pg.mkPen("#d62728", width=2), symbol="o", name="FGSM"
            ),
            "sweep_clean": self.sweep_plot.plot(
                [], [], pen=pg.mkPen("#2ca02c", width=2), symbol="o", name="clean"
            ),
            "sweep_fgsm": self.sweep_plot.plot(
                [], [], pen=pg.mkPen("#d62728", width=2), symbol="o", name="FGSM"
            ),
            "sweep_pgd": self.sweep_plot.plot(
                [], [], pen=pg.mkPen("#9467bd", width=2), symbol="t", name="PGD"
            ),
        }
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)

        left = QVBoxLayout()
        left.addWidget(self.form)
        for b in (self.train_button, self.sweep_button, self.stop_button):
            left.addWidget(b)
        left.addStretch(1)
        side = QWidget()
        side.setLayout(left)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(side.sizeHint().width() + 24)
        scroll.setMaximumWidth(side.sizeHint().width() + 40)
        right = QVBoxLayout()
        right.addWidget(self.progress)
        right.addWidget(self.status)
        plots = QHBoxLayout()
        for p in (self.loss_plot, self.acc_plot, self.sweep_plot):
            plots.addWidget(p)
        right.addLayout(plots, 2)
        right.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.saved, 1)
        row.addWidget(self.explorer_button)
        row.addWidget(self.export_button)
        right.addLayout(row)
        right.addWidget(self.log, 1)
        root = QHBoxLayout(self)
        root.addWidget(scroll)
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
        if self.current is None and self.queue and self.thread.isRunning():
            self.current = self.queue.pop(0)
            self._run.emit(self.current)

    @property
    def running(self) -> bool:
        return self.current is not None

    def stop(self) -> None:
        """Stop the current run before its next batch and drop the queue."""
        self.queue.clear()
        if self.current is not None:
            self.worker.request_stop()
            self._say("Stopping after the current batch...")

    def confirm_close(self, parent: QWidget) -> bool:
        if not self.running:
            return True
        answer = QMessageBox.question(
            parent,
            "Training is running",
            "A model is training. Stop it and quit? The best checkpoint so far is kept.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        self.stop()
        self.thread.quit()  # runs after the current job returns (within one batch)
        return self.thread.wait(timeout_ms)

    # ------------------------------------------------------------------ worker signals
    def _on_worker_started(self, job: TrainJob) -> None:
        self._history.clear()
        for key in ("loss", "loss_ori", "loss_adv", "val_acc", "val_fgsm_acc"):
            self.curves[key].setData([], [])
        self._t0 = time.perf_counter()
        self.progress.setValue(0)
        self.stop_button.setEnabled(True)
        try:
            device = pick_device(job.device)
            where = (
                f"CPU ({gui_threads()} threads; one core kept for the window)"
                if device.type == "cpu"
                else describe(device)
            )
        except ValueError as exc:
            where = str(exc)
        self._say(f"Training {job.name} on {where}: {job.spec.key()}")

    def _on_worker_progress(self, p: BatchProgress) -> None:
        epochs = self.current.spec.epochs if self.current else 1
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

    def _on_worker_epoch(self, m: EpochMetrics) -> None:
        self._history.append(m)
        xs = [h.epoch for h in self._history]
        for key in ("loss", "loss_ori", "loss_adv"):
            self.curves[key].setData(xs, [getattr(h, key) for h in self._history])
        for key in ("val_acc", "val_fgsm_acc"):
            self.curves[key].setData(xs, [100 * getattr(h, key) for h in self._history])
        best = " (best so far, saved)" if m.is_best else ""
        self._say(
            f"epoch {m.epoch}: loss {m.loss:.3f}, validation clean {100 * m.val_acc:.1f}%, "
            f"FGSM {100 * m.val_fgsm_acc:.1f}%, {m.images_per_s:.0f} images/s{best}"
        )

    def _on_worker_finished(self, job: TrainJob, record: dict) -> None:
        self._end(job, record, "finished")
        self.run_ended.emit("finished", job, record)

    def _on_worker_stopped(self, job: TrainJob, record: dict) -> None:
        if "test" in record:
            self._end(job, record, "stopped early")
        else:
            self._say("Stopped before the first epoch finished: nothing was saved.")
            self._done()
        self.run_ended.emit("stopped", job, record)

    def _on_worker_failed(self, job: TrainJob, message: str, details: str) -> None:
        self._say(f"FAILED: {message}")
        self.status.setText(f"The run failed: {message}")
        saved = Path(job.save_to)
        if saved.is_file():
            self._say(f"The last good checkpoint is kept: {saved}")
            self.last_saved = str(saved)
            self.explorer_button.setEnabled(True)
        self._done()
        self.run_ended.emit("failed", job, message)

    def _end(self, job: TrainJob, record: dict, how: str) -> None:
        self.records.append((job, record))
        self._add_row(job, record)
        self._refresh_sweep()
        self.last_saved = record.get("saved_to")
        self.saved.setText(f"Saved: {self.last_saved}")
        self.explorer_button.setEnabled(bool(self.last_saved))
        t = record["test"]
        self._say(
            f"Run {how}: held-out clean {100 * t['clean']:.1f}% (n={t['n']}), checkpoint {self.last_saved}"
        )
        self.progress.setValue(self.progress.maximum())
        self._done()

    def _done(self) -> None:
        self.current = None
        self.stop_button.setEnabled(bool(self.queue))
        if not self.queue:
            self.status.setText("Idle.")
        self._next()

    # ------------------------------------------------------------------ results
    def _add_row(self, job: TrainJob, record: dict) -> None:
        s, t = job.spec, record["test"]
        e = f"{job.eval_epsilons[0]:g}"
        wr = s.defense == "wr_fgsm"
        values = [
            job.name,
            s.dataset,
            s.arch,
            s.defense,
            f"{s.a1:g}" if wr else "-",
            f"{s.a2:g}" if wr else "-",
            s.reg if wr else "-",
            e,
            f"{100 * t['clean']:.2f}",
            f"{100 * t['attacks']['fgsm'][e]:.2f}",
            f"{100 * t['attacks']['pgd'][e]:.2f}",
            str(record["epochs_run"]),
            f"{record['train_seconds']:.0f}",
            record.get("saved_to", ""),
        ]
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, v in enumerate(values):
            self.table.setItem(r, c, QTableWidgetItem(v))

    def _refresh_sweep(self) -> None:
        runs = sorted(
            (
                (j.spec.a1, r)
                for j, r in self.records
                if j.spec.defense == "wr_fgsm" and "test" in r
            ),
            key=lambda x: x[0],
        )
        xs = [a for a, _ in runs]
        for key, attack in (("sweep_clean", None), ("sweep_fgsm", "fgsm"), ("sweep_pgd", "pgd")):
            ys = [
                100
                * (
                    r["test"]["clean"]
                    if attack is None
                    else next(iter(r["test"]["attacks"][attack].values()))
                )
                for _, r in runs
            ]
            self.curves[key].setData(xs, ys)

    def export(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, png_path = folder / "training_results.csv", folder / "figure3.png"
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for r in range(self.table.rowCount()):
                w.writerow([self.table.item(r, c).text() for c in range(self.table.columnCount())])
        self.sweep_plot.grab().save(str(png_path), "PNG")
        return csv_path, png_path

    # ------------------------------------------------------------------ buttons
    def _on_train_button_clicked(self) -> None:
        self.enqueue(self.form.job())

    def _on_sweep_button_clicked(self) -> None:
        tag = time.strftime("%H%M%S")
        self.form.defense.setCurrentIndex(0)
        for a1 in SWEEP_A1:
            self.enqueue(self.form.job(a1=a1, sweep=tag))

    def _on_explorer_button_clicked(self) -> None:
        if self.last_saved:
            self.open_in_explorer.emit(self.last_saved, "")

    def _on_export_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the results table and Figure 3 to")
        if folder:
            try:
                paths = self.export(Path(folder))
            except OSError as exc:
                self._say(f"Could not export: {exc}")
            else:
                self._say(f"Exported {paths[0]} and {paths[1]}")

    def _say(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")
